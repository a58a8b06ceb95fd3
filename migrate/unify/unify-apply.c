/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-apply.c - carrying out planned units: linking names to a master,
 * or giving names private copies, in batches.
 *
 * A batch goes in three phases.  Prepare: every master and every name is
 * opened through verified directory fds and checked (unchanged since the
 * scan, not immutable or append-only, same extended attributes, same
 * mount); private copies and new store entries are made as unnamed
 * O_TMPFILE files (the store entries' copies by a thread a CPU).
 * Journal: the intents of the whole batch are appended and made durable
 * with one fsync.  Change: in journal order, each change is made,
 * checked and marked done.  Nothing changes before its intent is on
 * disk.  The changes are synced (a thread does it while the
 * next batch is prepared) before the journal is written again, so that
 * no done mark reaches it before its change is durable.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/thread.h"
#include "migrate/unify/unify-int.h"



/* A name being linked or reverted. */
struct pname {
	uint32_t file;
	int dirfd, fd, copyfd;
	char base[NAME_MAX + 1];        /* a copy: u->paths moves as files are added */
	struct statx stx;
	char tmp[VA_TMPNAME_MAX];
	uint64_t seq;
	bool ok;
	dev_t dir_dev;          /* revert: its directory (names there share a copy) */
	uint64_t dir_ino;
	/* what exec_unit() did, for account_unit() */
	int r;                  /* 0: linked (or reverted), else why not */
	bool left_known;        /* its old inode keeps other names, in state @left */
	struct utouched left;
};

/* A flag change of a unit's master: made by exec_unit(), said by account_unit(). */
struct fstep {
	uint32_t from, to;
	uint64_t seq;
	int r;                  /* 0, or why the kernel refused it */
};

/* Why exec_unit() tried no more names of a unit. */
enum ustop {
	U_GO_ON,
	U_STOP_EMLINK,          /* the master is full: the rest get another entry */
	U_STOP_CHANGED,         /* the master was written to: the rest stay */
};

/* The inode the names get (link) or leave (revert). */
struct pmaster {
	uint32_t file;          /* the master's file (a new store entry: once named) */
	uint32_t src;           /* the unit's master: a new store entry's source */
	bool is_copy;           /* @fd is a new store entry, a copy of @src */
	int dirfd, fd;
	char base[NAME_MAX + 1];
	struct statx stx;       /* the state we expect it in */
	uint32_t flags, gen;
	bool ok;
	enum va_uskip why;      /* why it could not be used, when !ok ... */
	int err;                /* ... and the error (ERROR) */
	bool stored;            /* its new store entry was made */
	bool changed;           /* written to during the run: nothing more is linked to it */
	bool no_xattrs;         /* it has none: a name equals it when it has none */
	/* a new store entry made as a copy (copy_master()): the copy, or its error */
	bool copy_wanted;
	int copy, copy_err;
	/* a new hash store entry */
	int storedir;
	char storename[NAME_MAX + 1];
	struct dbuf storepath;
	uint64_t seq_store, seq_unprot, seq_prot;
	uint32_t unprot_flags, prot_flags;
	bool unprot, prot, prot_first;
	bool live;              /* it is to be carried out (run_units()) */
	bool fresh;             /* @stx was read after the last change to it (do_link()) */
	/* what exec_unit() did, for account_unit() */
	bool ran;               /* its changes were tried */
	bool any;               /* a name was linked (or reverted) */
	struct fstep step[3];   /* its flag changes in order, ... */
	uint8_t nsteps, nbefore;        /* ... the first @nbefore before the names */
	bool prot_dropped;      /* the protection after the names was not needed */
	enum ustop stop;        /* the names from @stop_at on were not tried */
	size_t stop_at;
};

struct batch {
	struct ustate *u;
	struct pmaster *m;      /* one per unit */
	struct pname *p;        /* one per member */
	int *dirfds;            /* the names' directories (u->batch_dirs) */
	size_t ndirfds, capdirfds;
	/* EMLINK: names to plan again after this batch, in groups that
	 * start with their master (a new store entry's source) */
	uint32_t *retry;
	size_t nretry, capretry;
	struct uunit *rgroups;  /* first/n index b->retry; master, digest */
	size_t nrgroups, caprgroups;
};

/* ------------------------------------------------------------------ planning */

/* The fds a name of a unit may add to the batch, at worst. */
#define U_FDS_NAME_WORST (U_FDS_A_NAME + U_FDS_A_COPY + U_FDS_A_DIR)

/* Is the master of @un a new store entry (a dry run: or does it stand for one)? */
static bool new_entry(const struct uunit *un)
{
	return un->new_store || un->dry_entry;
}

/* Is the batch full: at its names, or without fds for another unit? */
static bool batch_full(const struct ustate *u)
{
	return u->nmembers >= u->batch || u->batch_fds + U_FDS_A_UNIT + U_FDS_NAME_WORST > u->fd_budget;
}

/* The fds name @member adds to the batch: its own, and its directory's if new there. */
static size_t name_fds(const struct ustate *u, uint32_t member)
{
	const struct ufile *f = &u->files[member];
	uint32_t v;

	return U_FDS_A_NAME + (u->reverting ? U_FDS_A_COPY : 0) +
	       (va_inomap_find(&u->batch_dirs, f->tree, f->dir, &v) ? 0 : U_FDS_A_DIR);
}

int u_unit_begin(struct ustate *u, uint32_t master, bool new_store, const unsigned char *digest)
{
	const struct ufile *mf = &u->files[master];
	struct uunit *un;
	uint32_t v;
	int r;

	/*
	 * One master inode per batch (vunify: a reference's own hard links):
	 * a unit's flags are planned from the master as the batch found it,
	 * so a second unit on it waits for the next batch, which sees what
	 * the first one did.
	 */
	if ((va_inomap_find(&u->batch_masters, u_dev(u, mf), mf->ino, &v) || (u->nunits && batch_full(u))) &&
	    (r = u_flush(u)) < 0)
		return r;
	mf = &u->files[master];
	if (va_inomap_insert(&u->batch_masters, u_dev(u, mf), mf->ino, 1) < 0)
		return -ENOMEM;

	if (va_array_grow(&u->units, &u->capunits, u->nunits, sizeof(*u->units)) < 0)
		return -ENOMEM;
	un = &u->units[u->nunits++];
	memset(un, 0, sizeof(*un));
	un->master = master;
	un->new_store = new_store;
	if (digest)
		memcpy(un->digest, digest, VA_DIGEST_MAX);
	un->first = u->nmembers;
	u->batch_fds += U_FDS_A_UNIT;
	return 0;
}

/*
 * The batch is full before the last unit's @member: the unit goes to the
 * next batch whole, after the units before it are flushed.
 */
static int defer_unit(struct ustate *u, uint32_t member)
{
	struct uunit un = u->units[u->nunits - 1];
	uint32_t *names = malloc(un.n * sizeof(*names));
	int r;

	if (!names)
		return -ENOMEM;
	memcpy(names, &u->members[un.first], un.n * sizeof(*names));
	u->nunits--;
	u->nmembers -= un.n;
	r = u_flush(u);
	if (r >= 0 && (r = u_unit_begin(u, un.master, un.new_store, un.digest)) >= 0)
		u->units[u->nunits - 1].dry_entry = un.dry_entry;
	for (size_t i = 0; i < un.n && r >= 0; i++)
		r = u_unit_add(u, names[i]);
	free(names);
	return r < 0 ? r : u_unit_add(u, member);
}

int u_unit_add(struct ustate *u, uint32_t member)
{
	struct uunit *un = &u->units[u->nunits - 1];
	const struct ufile *f;
	size_t fds = name_fds(u, member);
	bool full = un->n && (u->nmembers >= u->batch || u->batch_fds + fds > u->fd_budget);

	/* no room: the set starts the next batch, and is split only when it
	 * does not fit a batch of its own (fds stay bounded) */
	if (full && u->nunits > 1)
		return defer_unit(u, member);
	if (full) {
		/* split: the rest of the set links to the same master, which
		 * exists once this batch is done (a new store entry included) */
		uint32_t master;
		int r = u_flush(u);

		if (r < 0)
			return r;
		master = u->last_master;
		if (master == UINT32_MAX)
			return 0;       /* the master failed: the rest stays as it is */
		if (un->new_store && !u->last_stored) {
			/*
			 * No store entry was made (no twin among the batch's
			 * names): the rest gets one of its own, never the
			 * guest's inode as a master outside the store.
			 */
			unsigned char digest[VA_DIGEST_MAX];

			memcpy(digest, un->digest, sizeof(digest));
			r = u_unit_begin(u, member, true, digest);
		} else {
			bool dry_entry = u->o->dry_run && new_entry(un);

			r = u_unit_begin(u, master, false, NULL);
			if (r >= 0)
				u->units[u->nunits - 1].dry_entry = dry_entry;
		}
		if (r < 0)
			return r;
		un = &u->units[u->nunits - 1];
		fds = name_fds(u, member);
	}
	f = &u->files[member];
	if (va_array_grow(&u->members, &u->capmembers, u->nmembers, sizeof(*u->members)) < 0 ||
	    va_inomap_insert(&u->batch_dirs, f->tree, f->dir, 0) < 0)
		return -ENOMEM;
	u->members[u->nmembers++] = member;
	u->batch_fds += fds;
	un->n++;
	return 0;
}

int u_unit_end(struct ustate *u)
{
	if (u->nunits && u->units[u->nunits - 1].n == 0) {
		u->nunits--;            /* nothing to do */
		u->batch_fds -= U_FDS_A_UNIT;
		return 0;
	}
	return batch_full(u) ? u_flush(u) : 0;
}

/* ------------------------------------------------------------------ helpers */

/*
 * The fd of the directory of @f, a name of the batch: opened once in the
 * batch (u->batch_dirs), closed when the batch is released.
 */
static int batch_dir(struct batch *b, const struct ufile *f, const char **base)
{
	struct ustate *u = b->u;
	uint32_t v = 0;
	int fd;

	if (va_inomap_find(&u->batch_dirs, f->tree, f->dir, &v) && v) {
		*base = u_name(u, f);
		return b->dirfds[v - 1];
	}
	if (va_array_grow(&b->dirfds, &b->capdirfds, b->ndirfds, sizeof(*b->dirfds)) < 0)
		return -ENOMEM;
	fd = u_open_parent(u, f, base);
	if (fd < 0)
		return fd;
	if (va_inomap_insert(&u->batch_dirs, f->tree, f->dir, (uint32_t)b->ndirfds + 1) < 0) {
		close(fd);
		return -ENOMEM;
	}
	b->dirfds[b->ndirfds++] = fd;
	return fd;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int refresh(int fd, struct statx *stx)
{
	return statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, stx) < 0 ? -errno : 0;
}

/* Read the flags (all a back end knows) and generation of @m. */
static int master_attrs(struct ustate *u, struct pmaster *m)
{
	struct va_attr_target t = {
		.fd = m->fd, .dir_fd = m->dirfd, .name = m->base,
		.dev = makedev(m->stx.stx_dev_major, m->stx.stx_dev_minor),
		.ino = m->stx.stx_ino, .mode = m->stx.stx_mode,
	};
	struct va_attrs at = { 0 };
	int r = u->o->be ? va_backend_read(u->o->be, &t, &at) : -EOPNOTSUPP;

	if (r < 0) {
		at.flags = u_get_flags(m->fd);
		at.gen_known = false;
	}
	m->flags = at.flags;
	if (u->o->dry_run) {
		uint32_t v;

		/* what the dry run's own flag changes would have left */
		if (va_inomap_find(&u->dryflags, t.dev, t.ino, &v))
			m->flags = v;
	}
	if (!at.gen_known) {
		unsigned int g = 0;

		at.gen = ioctl(m->fd, FS_IOC_GETVERSION, &g) == 0 ? g : 0;
	}
	m->gen = at.gen;
	m->no_xattrs = flistxattr(m->fd, NULL, 0) == 0;
	return 0;
}

static int set_flags(struct ustate *u, struct pmaster *m, uint32_t flags)
{
	struct va_attr_target t = {
		.fd = m->fd, .dir_fd = m->dirfd, .name = m->base,
		.dev = makedev(m->stx.stx_dev_major, m->stx.stx_dev_minor),
		.ino = m->stx.stx_ino, .mode = m->stx.stx_mode,
	};
	int r;

	if (!u->o->be)
		return -EOPNOTSUPP;
	r = va_backend_set(u->o->be, &t, flags, m->stx.stx_mode & 07777);
	if (r == 0)
		m->flags = flags;
	return r;
}

/* ------------------------------------------------------------------ store entries */

static void hex(const unsigned char *d, size_t len, char *out)
{
	static const char x[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * len] = '\0';
}

/*
 * Open (creating with -c) STORE/xx/yy and pick the first free
 * REST-NNNNNNNN that no earlier unit of the run took (classes of one
 * digest whose mtimes differ in the nanoseconds get an entry each; a dry
 * run and a batch, which make them later, count them too).
 */
static int store_slot(struct ustate *u, const struct uunit *un, struct pmaster *m, bool create)
{
	const struct utree *st = &u->trees[u->store_tree];
	char h[2 * VA_DIGEST_MAX + 1], dir[8];
	size_t dl = va_digest_len(u->method);
	unsigned int bit = (unsigned int)un->digest[0] << 8 | un->digest[1];
	uint64_t k1 = 0, k2 = 0;
	uint32_t taken = 0;
	const size_t xi = un->digest[0] / 8;            /* STORE/xx: its byte and bit in the maps of xx */
	const uint8_t xb = (uint8_t)(1u << (un->digest[0] % 8));
	uint8_t *top;
	bool known;
	int fd;

	for (size_t i = 0; i < 8 && i < dl; i++)
		k1 = k1 << 8 | un->digest[i];
	for (size_t i = 8; i < 16 && i < dl; i++)
		k2 = k2 << 8 | un->digest[i];
	(void)va_inomap_find(&u->slots, (dev_t)k1, k2, &taken);

	/* the xx/yy directories known to exist, then the xx ones */
	if (create && !u->store_dirs && !(u->store_dirs = calloc(65536 / 8 + 256 / 8, 1)))
		return -ENOMEM;
	known = create && (u->store_dirs[bit / 8] & (1u << (bit % 8)));
	top = create ? &u->store_dirs[65536 / 8 + xi] : NULL;
	hex(un->digest, dl, h);
again:
	snprintf(dir, sizeof(dir), "%.2s", h);
	if (create && !known && !(*top & xb) &&
	    mkdirat(st->fd, dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	snprintf(dir, sizeof(dir), "%.2s/%.2s", h, h + 2);
	if (create && !known && mkdirat(st->fd, dir, 0700) < 0 && errno != EEXIST) {
		if (errno != ENOENT || !(*top & xb))
			return -errno;
		*top &= (uint8_t)~xb;   /* xx removed meanwhile */
		goto again;
	}
	if (!create && (u->store_gone[xi] & xb))
		fd = -ENOENT;
	else
		fd = va_safeopen_beneath(st->fd, dir, O_RDONLY | O_DIRECTORY, 0);
	if (fd == -ENOENT && !create && !(u->store_looked[xi] & xb)) {
		const char xx[3] = { h[0], h[1], '\0' };
		struct stat sb;

		/* a store's first run: most xx/yy are missing because xx is */
		u->store_looked[xi] |= xb;
		if (fstatat(st->fd, xx, &sb, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			u->store_gone[xi] |= xb;
	}
	if (fd == -ENOENT && (known || (create && (*top & xb)))) {
		known = false;  /* removed meanwhile: make both again */
		*top &= (uint8_t)~xb;
		goto again;
	}
	if (fd >= 0 && create) {
		u->store_dirs[bit / 8] |= (uint8_t)(1u << (bit % 8));
		*top |= xb;
	}
	if (fd < 0 && !create) {
		fd = -1;
	} else if (fd < 0) {
		return fd;
	}
	for (unsigned i = taken; i < 4096; i++) {
		struct stat sb;

		snprintf(m->storename, sizeof(m->storename), "%s-%08x", h + 4, i);
		if (fd < 0 || fstatat(fd, m->storename, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			if (va_inomap_insert(&u->slots, (dev_t)k1, k2, i + 1) < 0) {
				if (fd >= 0)
					close(fd);
				return -ENOMEM;
			}
			dbuf_setlen(&m->storepath, 0);
			dbuf_addf(&m->storepath, "%s/%s/%s", strcmp(st->root, "/") ? st->root : "",
				  dir, m->storename);
			m->storedir = fd;
			return 0;
		}
	}
	if (fd >= 0)
		close(fd);
	return -ENOSPC;
}

/* ------------------------------------------------------------------ phase 1 */

/* @m cannot be used (@r): said, and the run stopped when the disk or the store fails. */
static void master_failed(struct ustate *u, const struct uunit *un, struct pmaster *m, int r)
{
	const struct ufile *f = &u->files[un->master];

	m->ok = false;
	m->why = r == -ESTALE || r == -ELOOP || r == -ENOENT || r == -EUCLEAN ? VA_USKIP_CHANGED : VA_USKIP_ERROR;
	m->err = r;
	if (m->why == VA_USKIP_CHANGED) {
		u_skip(u, f, VA_USKIP_CHANGED, 0, r == -EUCLEAN ?
		       "its content changed while the hash store entry was copied from it" :
		       "the master changed during the run");
	} else {
		u_skip(u, f, VA_USKIP_ERROR, -r, un->new_store ? "cannot make the hash store entry" : NULL);
		/* the disk or the store is failing: the names after it would too */
		if (u_fatal_errno(r))
			u->fatal = r;
	}
}

/*
 * Open and check the master of @un; a new store entry gets its slot
 * (copy_master() makes the copy, finish_master() takes it).
 */
static void prep_master(struct batch *b, const struct uunit *un, struct pmaster *m)
{
	struct ustate *u = b->u;
	const struct ufile *f = &u->files[un->master];
	const char *base;
	int r;

	m->file = m->src = un->master;
	m->dirfd = m->fd = m->storedir = m->copy = -1;
	dbuf_init(&m->storepath);
	r = u_open_parent(u, f, &base);
	if (r >= 0) {
		snprintf(m->base, sizeof(m->base), "%s", base);
		m->dirfd = r;
		r = va_open_regular(m->dirfd, m->base, u_dev(u, f), f->ino, &m->stx);
	}
	if (r >= 0) {
		m->fd = r;
		if (!u_unchanged(u, f, &m->stx))
			r = -ESTALE;
	}
	if (r < 0) {
		master_failed(u, un, m, r);
		return;
	}
	master_attrs(u, m);
	if (un->dry_entry) {
		/* the entry as the dry run's earlier batches left it */
		if (dbuf_add(&m->storepath, u->dry_entry.buf, u->dry_entry.len) < 0) {
			master_failed(u, un, m, -ENOMEM);
			return;
		}
		m->flags = u->dry_entry_flags;
	}
	/* frozen or moved into the store: not with names of the host's */
	if (!u->reverting && !(new_entry(un) && !u->o->sledgehammer) && u_outside(u, f) &&
	    !(m->flags & VA_FL_IMMUTABLE)) {
		m->why = VA_USKIP_OUTSIDE;
		u_skip(u, f, VA_USKIP_OUTSIDE, 0, NULL);
		return;
	}
	if (un->new_store) {
		r = store_slot(u, un, m, !u->o->dry_run);
		if (r < 0) {
			master_failed(u, un, m, r);
			return;
		}
		/* the master is the copy from then on: unnamed until the change */
		m->copy_wanted = !u->o->dry_run && !u->o->sledgehammer;
	}
	m->ok = true;
}

/*
 * The copy of @m's source for its new store entry, unnamed in the store's
 * directory.  What is linked must be what was compared: the source
 * unchanged by the copy (a write moves its ctime), and the copy's own
 * bytes of the class's digest.  Only @m changes (several threads copy the
 * masters of a batch); the outcome is finish_master()'s.
 */
static void copy_master(const struct ustate *u, const struct uunit *un, struct pmaster *m)
{
	struct statx after;
	int copy = va_copy_tmpfile(m->fd, m->storedir), r = copy < 0 ? copy : 0;

	if (r == 0)
		r = refresh(m->fd, &after);
	if (r == 0 && !va_same_stx(&after, &m->stx))
		r = -ESTALE;
	if (r == 0)
		r = u_digest_check(u, copy, &u->files[un->master], un->digest);
	if (r < 0 && copy >= 0)
		close(copy);
	m->copy = r < 0 ? -1 : copy;
	m->copy_err = r;
}

/* The copies of the batch's new store entries, on a thread a CPU (at most U_COPIERS). */
#define U_COPIERS 4

struct copying {
	struct batch *b;
	atomic_size_t next;
};

static void *copy_worker(void *arg)
{
	struct copying *c = arg;
	const struct ustate *u = c->b->u;
	size_t k;

	while ((k = atomic_fetch_add(&c->next, 1)) < u->nunits) {
		struct pmaster *m = &c->b->m[k];

		if (m->ok && m->copy_wanted)
			copy_master(u, &u->units[k], m);
	}
	return NULL;
}

/* Threads for @want pieces of work: one a CPU, at most @max and @want, at least one. */
static size_t cpu_threads(size_t max, size_t want)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = ncpu > 0 ? (size_t)ncpu : 1;

	if (n > max)
		n = max;
	if (n > want)
		n = want;
	return n ? n : 1;
}

static void copy_masters(struct batch *b)
{
	struct copying c = { .b = b };
	size_t want = 0, nthreads, started = 0;
	pthread_t tid[U_COPIERS];

	for (size_t k = 0; k < b->u->nunits; k++)
		want += b->m[k].ok && b->m[k].copy_wanted;
	nthreads = cpu_threads(U_COPIERS, want);
	atomic_init(&c.next, 0);
	for (; started + 1 < nthreads; started++)
		if (va_thread_start(&tid[started], copy_worker, &c) != 0)
			break;
	copy_worker(&c);
	for (size_t t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
}

/* Take the copy of @m (a new store entry) as its master, or say why not. */
static void finish_master(struct batch *b, const struct uunit *un, struct pmaster *m)
{
	struct ustate *u = b->u;
	int r;

	if (!m->ok || !m->copy_wanted)
		return;
	if (m->copy_err < 0) {
		master_failed(u, un, m, m->copy_err);
		return;
	}
	close_fd(&m->fd);
	close_fd(&m->dirfd);
	m->fd = m->copy;
	m->copy = -1;
	m->is_copy = true;
	snprintf(m->base, sizeof(m->base), "%s", m->storename);
	if ((m->dirfd = dup(m->storedir)) < 0 || (r = refresh(m->fd, &m->stx)) < 0) {
		master_failed(u, un, m, m->dirfd < 0 ? -errno : r);
		return;
	}
	master_attrs(u, m);
}

/*
 * The flags that decide whether @p may be linked (immutable, append):
 * from the statx() of its open fd where the filesystem reports both, else
 * FS_IOC_GETFLAGS.
 */
static uint32_t deciding_flags(const struct pname *p)
{
	const uint64_t both = STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND;
	uint32_t fl = 0;

	if ((p->stx.stx_attributes_mask & both) != both)
		return u_get_flags(p->fd);
	if (p->stx.stx_attributes & STATX_ATTR_IMMUTABLE)
		fl |= VA_FL_IMMUTABLE;
	if (p->stx.stx_attributes & STATX_ATTR_APPEND)
		fl |= VA_FL_APPEND;
	return fl;
}

/*
 * A dry run of vhashify: whether what the read of @f's inode saw decides
 * the look at @p without opening it again (the flags that decide, and the
 * extended attributes as far as the master's need), and then @p's state
 * as the read found it (unchanged since the scan: its record).
 */
static bool look_from_read(const struct ustate *u, const struct pmaster *m, const struct ufile *f,
			   uint32_t file, struct pname *p)
{
	uint8_t l = u->look ? u->look[file] : 0;
	dev_t dev = u_dev(u, f);

	if (!(l & U_LOOK_DONE) || !(l & U_LOOK_ATTRS) || !(l & U_LOOK_XATTRS) ||
	    !(m->no_xattrs || (l & U_LOOK_NO_XATTRS)))
		return false;
	memset(&p->stx, 0, sizeof(p->stx));
	p->stx.stx_mask = STATX_BASIC_STATS;
	p->stx.stx_ino = f->ino;
	p->stx.stx_dev_major = major(dev);
	p->stx.stx_dev_minor = minor(dev);
	p->stx.stx_mode = f->mode;
	p->stx.stx_nlink = f->nlink;
	p->stx.stx_uid = u_uid(u, f);
	p->stx.stx_gid = u_gid(u, f);
	p->stx.stx_size = f->size;
	p->stx.stx_attributes_mask = STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND;
	p->stx.stx_attributes = (l & U_LOOK_IMMUTABLE ? STATX_ATTR_IMMUTABLE : 0) |
				(l & U_LOOK_APPEND ? STATX_ATTR_APPEND : 0);
	return true;
}

static void prep_name(struct batch *b, const struct uunit *un, const struct pmaster *m,
		      struct pname *p, uint32_t file)
{
	struct ustate *u = b->u;
	const struct ufile *f = &u->files[file];
	const struct ufile *mf = &u->files[m->file];
	const char *base;
	uint32_t fl;
	int r;

	p->file = file;
	p->dirfd = p->fd = p->copyfd = -1;
	if (!m->ok) {
		u_skip(u, f, m->why, m->why == VA_USKIP_ERROR ? -m->err : 0,
		       m->why == VA_USKIP_OUTSIDE ? "its master has names outside the trees" :
		       m->why == VA_USKIP_CHANGED ? "its master changed during the run" :
		       "its master could not be used");
		return;
	}
	if (u->o->dry_run && !u->reverting) {
		/* only looked at: as read, else the file alone (no directory to change in) */
		r = 0;
		if (!look_from_read(u, m, f, file, p) && (r = u_open_file(u, f, &p->stx)) >= 0)
			p->fd = r;
	} else {
		r = batch_dir(b, f, &base);
		if (r >= 0) {
			snprintf(p->base, sizeof(p->base), "%s", base);
			p->dirfd = r;
			r = va_open_regular(p->dirfd, p->base, u_dev(u, f), f->ino, &p->stx);
		}
		if (r >= 0) {
			p->fd = r;
			if (!u->reverting && !u_unchanged(u, f, &p->stx))
				r = -ESTALE;
		}
	}
	if (r < 0) {
		if (r == -ESTALE || r == -ELOOP || r == -ENOENT || r == -ENOTDIR || r == -EXDEV)
			u_skip(u, f, VA_USKIP_CHANGED, 0, NULL);
		else
			u_skip(u, f, VA_USKIP_ERROR, -r, "cannot open it");
		return;
	}
	if (u->reverting) {
		if (p->stx.stx_ino != m->stx.stx_ino || p->stx.stx_dev_major != m->stx.stx_dev_major ||
		    p->stx.stx_dev_minor != m->stx.stx_dev_minor) {
			u_skip(u, f, VA_USKIP_CHANGED, 0, "no longer shared");
			return;
		}
		if (!u->o->dry_run) {
			/*
			 * Names of the shared inode in one directory (a guest's
			 * own hard links, perl and perl5.36.0) get one copy:
			 * they stay one inode, as the guest knows them.
			 */
			struct stat ds;
			const struct pname *q = NULL;

			if (fstat(p->dirfd, &ds) == 0) {
				p->dir_dev = ds.st_dev;
				p->dir_ino = ds.st_ino;
				for (const struct pname *o = &b->p[un->first]; o < p && !q; o++)
					if (o->ok && o->copyfd >= 0 && o->dir_ino == p->dir_ino &&
					    o->dir_dev == p->dir_dev)
						q = o;
			}
			r = q ? dup(q->copyfd) : va_copy_tmpfile(p->fd, p->dirfd);
			if (q && r < 0)
				r = -errno;
			if (r < 0) {
				u_skip(u, f, VA_USKIP_ERROR, -r, "cannot make its private copy");
				return;
			}
			p->copyfd = r;
		}
		va_tmpname(p->base, p->tmp);
		p->ok = true;
		return;
	}
	if (p->stx.stx_ino == m->stx.stx_ino && p->stx.stx_dev_major == m->stx.stx_dev_major &&
	    p->stx.stx_dev_minor == m->stx.stx_dev_minor &&
	    !(new_entry(un) && u->o->dry_run && !u->o->sledgehammer)) {
		/* (a dry run has no copy yet: the source's names would be linked too) */
		u->st->already++;
		u_event_file(u, VA_UEV_ALREADY, f, NULL, 0, f->size);
		return;
	}
	if (u_outside(u, f)) {
		u_skip(u, f, VA_USKIP_OUTSIDE, 0, NULL);
		return;
	}
	fl = deciding_flags(p);
	if (u->o->dry_run) {
		uint32_t v;

		if (va_inomap_find(&u->dryflags, u_dev(u, f), f->ino, &v))
			fl = v;
	}
	if ((fl & U_BLOCKING_FLAGS) && !(u->iunlink && (fl & VA_FL_IMMUTABLE) && !(fl & VA_FL_APPEND))) {
		u_skip(u, f, (fl & VA_FL_IMMUTABLE) && p->stx.stx_nlink > 1 && !u->o->refresh ?
		       VA_USKIP_FLAGGED : VA_USKIP_IMMUTABLE, 0, NULL);
		return;
	}
	if ((fl & VA_FL_IMMUTABLE) && p->stx.stx_nlink > 1 && !u->o->refresh) {
		u_skip(u, f, VA_USKIP_FLAGGED, 0, NULL);
		return;
	}
	if (u_mnt_id(u, f) && u_mnt_id(u, mf) && u_mnt_id(u, f) != u_mnt_id(u, mf)) {
		u_skip(u, f, VA_USKIP_OTHER_MOUNT, 0, NULL);
		return;
	}
	if (p->fd < 0) {
		/* as read (look_from_read()): the same when neither has any */
		r = m->no_xattrs && (u->look[file] & U_LOOK_NO_XATTRS);
	} else if (m->no_xattrs) {
		ssize_t n = flistxattr(p->fd, NULL, 0);

		r = n == 0 || (n < 0 && (errno == ENOTSUP || errno == ENOSYS)) ? 1 : n > 0 ? 0 : -errno;
	} else {
		r = va_xattrs_equal(m->fd, p->fd);
	}
	if (r <= 0) {
		if (r == 0)
			u_skip(u, f, VA_USKIP_XATTRS, 0, NULL);
		else
			u_skip(u, f, VA_USKIP_ERROR, -r, "cannot read its extended attributes");
		return;
	}
	va_tmpname(p->base, p->tmp);
	p->ok = true;
}

/*
 * A new store entry is worth making only for names of two inodes at least:
 * when the others were skipped (other xattrs, immutable, ...), the
 * source's names stay as they are.
 */
static bool has_twin(struct batch *b, const struct uunit *un)
{
	const struct ufile *src = &b->u->files[un->master];

	for (size_t i = 0; i < un->n; i++) {
		const struct pname *p = &b->p[un->first + i];
		const struct ufile *f = &b->u->files[p->file];

		if (p->ok && (u_dev(b->u, f) != u_dev(b->u, src) || f->ino != src->ino))
			return true;
	}
	for (size_t i = 0; i < un->n; i++) {
		struct pname *p = &b->p[un->first + i];

		if (p->ok) {
			p->ok = false;
			b->u->st->skipped[VA_USKIP_UNIQUE]++;
		}
	}
	return false;
}

/* (its directory's fd is the batch's: release_dirs()) */
static void release_name(struct ustate *u, struct pname *p)
{
	va_reaper_close(u->reaper, p->fd);
	va_reaper_close(u->reaper, p->copyfd);
	p->fd = p->dirfd = p->copyfd = -1;
}

/* The batch's directories: closed, and forgotten with what the plan counted. */
static void release_dirs(struct ustate *u, struct batch *b)
{
	for (size_t i = 0; i < b->ndirfds; i++)
		va_reaper_close(u->reaper, b->dirfds[i]);
	free(b->dirfds);
	b->dirfds = NULL;
	b->ndirfds = b->capdirfds = 0;
	va_inomap_release(&u->batch_dirs);
	u->batch_fds = 0;
}

static void release_master(struct ustate *u, struct pmaster *m)
{
	va_reaper_close(u->reaper, m->copy);
	va_reaper_close(u->reaper, m->fd);
	va_reaper_close(u->reaper, m->dirfd);
	va_reaper_close(u->reaper, m->storedir);
	m->fd = m->dirfd = m->storedir = m->copy = -1;
	dbuf_release(&m->storepath);
}

/* ------------------------------------------------------------------ phase 2 */

static int intent_flags(struct ustate *u, struct pmaster *m, uint32_t from, uint32_t to,
			const char *kind, uint64_t *seq)
{
	const struct ufile *f = &u->files[m->file];
	const char *path = u_abs(u, f, &u->abs);
	struct va_journal_rec rec = {
		.type = 'I', .dev = makedev(m->stx.stx_dev_major, m->stx.stx_dev_minor),
		.ino = m->stx.stx_ino, .gen = m->gen, .old_flags = from,
		.old_mode = m->stx.stx_mode & 07777, .new_flags = to,
		.new_mode = m->stx.stx_mode & 07777, .path = (char *)path, .path_len = u->abs.len,
	};
	int r;

	if (m->is_copy) {
		/* the new store entry */
		rec.path = m->storepath.buf;
		rec.path_len = m->storepath.len;
	}
	snprintf(rec.kind, sizeof(rec.kind), "%s", kind);
	r = va_journal_add(u->o->j, &rec);
	*seq = rec.seq;
	return r;
}

static int intent_name(struct ustate *u, struct pmaster *m, struct pname *p, const char *op)
{
	const struct ufile *f = &u->files[p->file];
	const char *path = u_abs(u, f, &u->abs);
	size_t path_len = u->abs.len;
	const char *other;
	size_t other_len;
	struct va_journal_rec rec = {
		.type = 'L', .dev = makedev(m->stx.stx_dev_major, m->stx.stx_dev_minor),
		.ino = m->stx.stx_ino, .gen = m->gen, .old_ino = p->stx.stx_ino,
		.path = (char *)path, .path_len = path_len, .tmp = p->tmp, .tmp_len = strlen(p->tmp),
	};
	int r;

	if (m->storepath.len) {
		other = m->storepath.buf;
		other_len = m->storepath.len;
	} else {
		other = u_abs(u, &u->files[m->file], &u->abs2);
		other_len = u->abs2.len;
	}
	rec.other = (char *)other;
	rec.other_len = other_len;
	snprintf(rec.kind, sizeof(rec.kind), "%s", op);
	r = va_journal_add(u->o->j, &rec);
	p->seq = rec.seq;
	return r;
}

static int intent_store(struct ustate *u, struct pmaster *m)
{
	const struct ufile *src = &u->files[m->src];
	struct va_journal_rec rec = {
		.type = 'L', .dev = makedev(m->stx.stx_dev_major, m->stx.stx_dev_minor),
		.path = m->storepath.buf, .path_len = m->storepath.len,
	};
	int r;

	if (m->is_copy) {
		rec.ino = m->stx.stx_ino;
		rec.gen = m->gen;
	} else {
		rec.ino = m->stx.stx_ino;       /* --sledgehammer: the guest's inode */
		rec.gen = m->gen;
		rec.old_ino = m->stx.stx_ino;
	}
	rec.other = (char *)u_abs(u, src, &u->abs2);
	rec.other_len = u->abs2.len;
	snprintf(rec.kind, sizeof(rec.kind), "store");
	r = va_journal_add(u->o->j, &rec);
	m->seq_store = rec.seq;
	return r;
}

static int mark(struct ustate *u, char type, uint64_t seq)
{
	struct va_journal_rec rec = { .type = type, .seq = seq };
	int r = va_journal_add(u->o->j, &rec);

	if (r < 0)
		u->fatal = r;
	return r;
}

/* ------------------------------------------------------------------ phase 3 */

/* Make the new store entry the master: name the copy (or the guest's inode). */
static int do_store(struct ustate *u, struct pmaster *m)
{
	const struct ufile *src;        /* taken after u_add_file(), which moves u->files */
	struct statx stx;
	int r;

	r = va_link_fd(m->fd, m->storedir, m->storename);
	if (r < 0)
		return r;
	if ((r = refresh(m->fd, &stx)) < 0)
		return r;
	m->stx = stx;
	/* the store entry is a file of the run from now on */
	if (m->is_copy) {
		const struct utree *st = &u->trees[u->store_tree];
		const char *rel = m->storepath.buf + (strcmp(st->root, "/") ? st->root_len : 0);

		r = u_add_file(u, (size_t)u->store_tree, rel, m->storepath.len - (size_t)(rel - m->storepath.buf), &stx);
		if (r < 0)
			return r;
		m->file = (uint32_t)(u->nfiles - 1);
	}
	u->st->stored++;
	if (m->is_copy)
		u->st->saved_bytes -= stx.stx_size;     /* the copy takes that room */
	src = &u->files[m->src];
	{
		const char *sp = u_abs(u, src, &u->abs2);
		struct va_uevent ev = {
			.type = VA_UEV_STORE, .path = m->storepath.buf, .path_len = m->storepath.len,
			.master = sp, .master_len = u->abs2.len, .size = stx.stx_size,
			.label = u->trees[src->tree].label,
		};

		u_event(u, &ev);
	}
	return 0;
}

/* What do_link() and do_revert() check between the link and the exchange. */
struct recheck {
	struct pmaster *m;
	struct pname *p;
	struct statx ms;        /* link_check(): the master with its new name */
};

/*
 * Is @now master @m with the content that was compared: the same inode,
 * size and modification time?  (A link to it moves only its change time
 * and its count of links.)
 */
static bool master_same(const struct pmaster *m, const struct statx *now)
{
	return now->stx_ino == m->stx.stx_ino && now->stx_size == m->stx.stx_size &&
	       now->stx_mtime.tv_sec == m->stx.stx_mtime.tv_sec &&
	       now->stx_mtime.tv_nsec == m->stx.stx_mtime.tv_nsec;
}

/*
 * Link: the temporary name is the master; both inodes as we left them.
 * A master written to meanwhile gets no more names (m->changed).
 */
static int link_check(void *arg)
{
	struct recheck *c = arg;
	const struct statx *want = &c->m->stx;
	struct statx ps, ts, *ms = &c->ms;

	if (refresh(c->m->fd, ms) < 0 || refresh(c->p->fd, &ps) < 0 ||
	    statx(c->p->dirfd, c->p->tmp, AT_SYMLINK_NOFOLLOW, STATX_INO, &ts) < 0)
		return -errno;
	if (!master_same(c->m, ms)) {
		c->m->changed = true;
		return -ESTALE;
	}
	if (ts.stx_ino != want->stx_ino || !va_same_stx(&ps, &c->p->stx) || ms->stx_nlink != want->stx_nlink + 1)
		return -ESTALE;
	return 0;
}

/* Revert: the name is still the shared inode, as we left it. */
static int revert_check(void *arg)
{
	const struct recheck *c = arg;
	struct statx ps;

	if (refresh(c->p->fd, &ps) < 0)
		return -errno;
	return va_same_stx(&ps, &c->m->stx) ? 0 : -ESTALE;
}

/* Link name @p to master @m.  Return: 0, -EMLINK, -ESTALE (changed) or -errno. */
static int do_link(struct pmaster *m, struct pname *p)
{
	struct recheck c = { .m = m, .p = p };
	struct statx now;
	int r;

	/*
	 * The master as the batch left it, to the change time: a write
	 * since (its mtime put back or not) and nothing more is linked to
	 * it (link_check() cannot tell a write by the ctime, which the link
	 * to the temporary name moves).  Read again unless the name before
	 * it just did (m->fresh: nothing happened to it since).
	 */
	if (m->fresh)
		now = m->stx;
	else if (refresh(m->fd, &now) < 0 || !va_same_stx(&now, &m->stx)) {
		m->changed = true;
		return -ESTALE;
	}
	r = u_swap_in(p->dirfd, p->tmp, p->base, m->fd, &now,
		      makedev(p->stx.stx_dev_major, p->stx.stx_dev_minor), p->stx.stx_ino,
		      link_check, &c);
	/* the state our link (or its undoing) left, for the next name */
	m->fresh = refresh(m->fd, &now) == 0;
	if (m->fresh) {
		if (!master_same(m, &now))
			m->changed = true;
		m->stx = now;
	}
	return r;
}

/* Give name @p its private copy instead of the shared inode @m. */
static int do_revert(struct pmaster *m, struct pname *p)
{
	struct recheck c = { .m = m, .p = p };
	struct statx ms;
	int r = u_swap_in(p->dirfd, p->tmp, p->base, p->copyfd, NULL,
			  makedev(m->stx.stx_dev_major, m->stx.stx_dev_minor), m->stx.stx_ino,
			  revert_check, &c);

	if (refresh(m->fd, &ms) == 0)
		m->stx = ms;
	return r;
}

static void name_failed(struct ustate *u, struct pname *p, int r)
{
	const struct ufile *f = &u->files[p->file];

	if (r == -ESTALE || r == -ENOENT)
		u_skip(u, f, VA_USKIP_CHANGED, 0, NULL);
	else if (r == -EXDEV)
		u_skip(u, f, VA_USKIP_OTHER_MOUNT, 0, NULL);
	else if (r == -EPERM && !u->reverting)
		u_skip(u, f, VA_USKIP_IMMUTABLE, 0, "the kernel refused: immutable or append-only");
	else
		u_skip(u, f, VA_USKIP_ERROR, -r, u->reverting ? "cannot give it its private copy" : "cannot link it");
}

/*
 * Change the flags of @m to @to (a dry run: only remember them), the step
 * recorded for flag_said().  Return: 0 or the kernel's error.
 */
static int flag_try(struct ustate *u, struct pmaster *m, uint32_t to, uint64_t seq)
{
	struct fstep *s = &m->step[m->nsteps++];
	struct statx stx;

	*s = (struct fstep){ .from = m->flags, .to = to, .seq = seq };
	if (u->o->dry_run)
		m->flags = to;
	else if ((s->r = set_flags(u, m, to)) == 0 && refresh(m->fd, &stx) == 0)
		m->stx = stx;
	return s->r;
}

/*
 * Say and count flag change @s of @m, and mark it in the journal; a
 * failed one stops the run when the disk is failing.  A dry run
 * remembers the flags for the batches after this one.
 */
static void flag_said(struct ustate *u, struct pmaster *m, const struct fstep *s)
{
	bool dry = u->o->dry_run;
	const char *path;
	size_t len;

	if (s->r < 0) {
		u_skip(u, &u->files[m->file], VA_USKIP_ERROR, -s->r, "cannot change its flags");
		if (u_fatal_errno(s->r))
			u->fatal = s->r;
		mark(u, 'U', s->seq);
		return;
	}
	/* (a dry run's new store entry is only a path) */
	if (dry && m->storepath.len) {
		path = m->storepath.buf;
		len = m->storepath.len;
	} else {
		path = u_abs(u, &u->files[m->file], &u->abs);
		len = u->abs.len;
	}
	u->st->protected_++;
	/* a new store entry is a copy the dry run does not make: no later
	 * batch finds it under the source's inode */
	if (dry && !m->storepath.len &&
	    va_inomap_insert(&u->dryflags, makedev(m->stx.stx_dev_major, m->stx.stx_dev_minor),
			     m->stx.stx_ino, s->to) < 0)
		u->fatal = -ENOMEM;
	u_event(u, &(struct va_uevent){ .type = VA_UEV_PROTECT, .path = path, .path_len = len,
					.old_flags = s->from, .new_flags = s->to });
	if (!dry)
		mark(u, 'D', s->seq);
}

/* ------------------------------------------------------------------ one batch */

/*
 * Count name @p linked (or reverted) and say so.  @freed: its old inode
 * lost its last name (its blocks are saved).
 */
static void name_done(struct ustate *u, const struct pmaster *m, const struct pname *p, bool freed)
{
	const struct ufile *f = &u->files[p->file];
	const char *mp = m->storepath.len ? m->storepath.buf : u_abs(u, &u->files[m->file], &u->abs2);
	size_t ml = m->storepath.len ? m->storepath.len : u->abs2.len;

	if (u->reverting) {
		u->st->reverted++;
		u_event_file(u, VA_UEV_REVERT, f, mp, ml, f->size);
		return;
	}
	u->st->linked++;
	if (freed)
		u->st->saved_bytes += f->size;
	u_event_file(u, VA_UEV_LINK, f, mp, ml, f->size);
}

static void plan_flags(struct ustate *u, struct pmaster *m, bool any)
{
	/* what makes the kernel refuse the master a new name: append-only,
	 * and immutable unless the kernel honours iunlink */
	uint32_t lift = (uint32_t)VA_FL_APPEND | (u->iunlink ? 0 : (uint32_t)VA_FL_IMMUTABLE);
	uint32_t base = m->flags;

	m->unprot = m->prot = m->prot_first = false;
	if (!any)
		return;
	if (m->flags & lift) {
		m->unprot = true;
		m->unprot_flags = m->flags & ~lift;
		base = m->unprot_flags;
	}
	if (u->reverting) {
		/* the names that stay keep the protection they had */
		m->prot = m->unprot;
		m->prot_flags = m->flags;
		return;
	}
	/* protected as asked, append-only again where it was */
	m->prot_flags = u_protected_flags(u->o->protect, base) | (m->flags & VA_FL_APPEND);
	if (m->unprot && u->o->protect == VA_PROTECT_NONE)
		m->prot_flags = m->flags;       /* put back what it had */
	m->prot = m->prot_flags != base;
	/* the util-vserver order, unless that would put append-only back before the links */
	m->prot_first = u->iunlink && !(m->prot_flags & VA_FL_APPEND);
}

/*
 * The master is full (EMLINK).  With a hash store the names from @from on
 * get a new store entry (the next collision index), a copy of the first of
 * them; without one (vunify) each is reported.
 */
static void emlink_retry(struct batch *b, const struct uunit *un, size_t from)
{
	struct ustate *u = b->u;
	struct uunit *g;

	if (u->store_tree < 0 || u->reverting) {
		for (size_t k = from; k < un->n; k++)
			if (b->p[un->first + k].ok)
				u_skip(u, &u->files[b->p[un->first + k].file], VA_USKIP_EMLINK, 0, NULL);
		return;
	}
	if (va_array_grow(&b->rgroups, &b->caprgroups, b->nrgroups, sizeof(*b->rgroups)) < 0)
		return;
	g = &b->rgroups[b->nrgroups];
	memset(g, 0, sizeof(*g));
	g->first = b->nretry;
	g->new_store = true;
	memcpy(g->digest, un->digest, sizeof(g->digest));
	for (size_t k = from; k < un->n; k++) {
		if (!b->p[un->first + k].ok)
			continue;
		if (va_array_grow(&b->retry, &b->capretry, b->nretry, sizeof(*b->retry)) < 0)
			return;
		b->retry[b->nretry++] = b->p[un->first + k].file;
		g->n++;
	}
	if (g->n) {
		g->master = b->retry[g->first];
		b->nrgroups++;
	}
}

/* How many names of @un are still to be linked (or reverted). */
static size_t names_ok(const struct batch *b, const struct uunit *un)
{
	size_t n = 0;

	for (size_t i = 0; i < un->n; i++)
		n += b->p[un->first + i].ok;
	return n;
}

/*
 * Name the new store entry of unit @k (a real run).  Return: true when
 * it is there; false when it could not be made: its intents are marked
 * undone and the unit is left out.
 */
static bool store_unit(struct batch *b, size_t k)
{
	struct ustate *u = b->u;
	const struct uunit *un = &u->units[k];
	struct pmaster *m = &b->m[k];
	int r;

	if (!un->new_store || !m->ok || !names_ok(b, un))
		return false;
	if ((r = do_store(u, m)) == 0) {
		mark(u, 'D', m->seq_store);
		m->stored = true;
		return true;
	}
	u_skip(u, &u->files[m->file], r == -EEXIST ? VA_USKIP_CHANGED : VA_USKIP_ERROR,
	       r == -EEXIST ? 0 : -r, "cannot create the hash store entry");
	if (u_fatal_errno(r))
		u->fatal = r;
	mark(u, 'U', m->seq_store);
	for (size_t i = 0; i < un->n; i++)
		if (b->p[un->first + i].ok)
			mark(u, 'U', b->p[un->first + i].seq);
	if (m->unprot)
		mark(u, 'U', m->seq_unprot);
	if (m->prot)
		mark(u, 'U', m->seq_prot);
	m->ok = false;
	return false;
}

/* A file of the batch to make durable: fd, device; a copy: the file it is named after, what it is. */
struct bcopy {
	int fd;
	dev_t dev;
	uint32_t file;
	const char *what;
};

/* Is @c[i] the first of @c[0..i] on its filesystem? */
static bool first_on_fs(const struct bcopy *c, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (c[k].dev == c[i].dev)
			return false;
	return true;
}

/* syncfs once for each filesystem of @c[0..n). */
static int sync_filesystems(const struct bcopy *c, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++)
		if (first_on_fs(c, i) && (r = u_syncfs(c[i].fd)) < 0)
			return r;
	return 0;
}

/*
 * The batch's new store entries, all copied (in the store, one
 * filesystem): their syncfs handed to the syncer, after the batch
 * before's, so that the disk writes them while the names are opened.
 * Return: whether it was (durable_copies() then waits for it).
 */
static bool submit_copies(struct batch *b)
{
	const struct ustate *u = b->u;

	if (!u->syncer)
		return false;
	/* (copy_master() made it: a usable master that wanted one) */
	for (size_t k = 0; k < u->nunits; k++)
		if (b->m[k].copy >= 0)
			return va_syncer_submit(u->syncer, &b->m[k].copy, 1) == 0;
	return false;
}

/*
 * Before anything of the batch changes: every copy it made (new store
 * entries, private copies of a revert) is on disk, data and inode.  One
 * syncfs per filesystem writes them all and reports a write error of any
 * of them (Linux 5.8: the fd it is called on was opened before the copies
 * were written); only then the fsync of each finds the copy that failed.
 * With @submitted, the syncer has that syncfs (submit_copies()), after
 * the batch before's, and both are waited for here.  On an error the run
 * stops, naming the file: a copy that did not reach the disk is never
 * linked.
 */
static int durable_copies(struct batch *b, bool submitted)
{
	struct ustate *u = b->u;
	struct bcopy *c = NULL;
	size_t n = 0, cap = 0;
	int r = 0, sr = 0;

	for (size_t k = 0; k < u->nunits && r == 0; k++) {
		const struct uunit *un = &u->units[k];
		const struct pmaster *m = &b->m[k];

		if (!m->ok || !names_ok(b, un))
			continue;
		for (size_t i = 0; i <= un->n && r == 0; i++) {
			/* i == un->n: the master, a new store entry */
			const struct pname *p = i < un->n ? &b->p[un->first + i] : NULL;
			int fd = p ? (p->ok ? p->copyfd : -1) : (m->is_copy ? m->fd : -1);
			const struct statx *sx = p ? &p->stx : &m->stx;

			if (fd < 0)
				continue;
			if (va_array_grow(&c, &cap, n, sizeof(*c)) < 0) {
				r = -ENOMEM;
				break;
			}
			c[n++] = (struct bcopy){
				.fd = fd, .dev = makedev(sx->stx_dev_major, sx->stx_dev_minor),
				.file = p ? p->file : m->src,
				.what = p ? "its private copy" : "the hash store entry copied from it",
			};
		}
	}
	if (submitted) {
		sr = va_syncer_wait(u->syncer);
		u->sync_pending = false;
	} else if (r == 0) {
		sr = sync_filesystems(c, n);
	}
	if (r == 0 && sr < 0) {
		bool named = false;

		r = sr;
		for (size_t i = 0; i < n && !named; i++) {
			if (fsync(c[i].fd) < 0) {
				char buf[96];

				r = -errno;
				snprintf(buf, sizeof(buf), "cannot write %s to disk", c[i].what);
				u_skip(u, &u->files[c[i].file], VA_USKIP_ERROR, -r, buf);
				named = true;
			}
		}
		if (!named) {
			const struct utree *t = &u->trees[u->store_tree >= 0 ? (size_t)u->store_tree : 0];

			u_skip_path(u, t->root, t->root_len, NULL, VA_USKIP_ERROR, -r,
				    submitted ? "cannot write the copies or the changes before them to disk" :
				    "cannot write the copies to disk");
		}
	}
	free(c);
	if (r < 0 && !u->fatal)
		u->fatal = r;
	return r;
}

static void changes_failed(struct ustate *u, int r)
{
	u_skip_path(u, u->trees[0].root, u->trees[0].root_len, NULL, VA_USKIP_ERROR, -r,
		    "cannot write the changes to disk");
	if (!u->fatal)
		u->fatal = r;
}

/*
 * After the changes of a batch: they are on disk before their done
 * marks can be (the marks wait in the journal's buffer until its next
 * sync), so that a mark is never believed for a change a crash lost.
 * With a syncer, the syncfs runs while the next batch is prepared, and
 * u_changes_durable() waits for it before the journal is written again.
 */
static int durable_changes(struct batch *b)
{
	struct ustate *u = b->u;
	struct bcopy *c = calloc(u->nunits, sizeof(*c));
	int *fds = c && u->syncer ? malloc(u->nunits * sizeof(*fds)) : NULL;
	size_t n = 0;
	int r = c ? 0 : -ENOMEM;

	/* one fd for each filesystem */
	for (size_t k = 0; k < u->nunits && c; k++) {
		if (b->m[k].fd < 0)
			continue;
		c[n] = (struct bcopy){
			.fd = b->m[k].fd,
			.dev = makedev(b->m[k].stx.stx_dev_major, b->m[k].stx.stx_dev_minor),
		};
		if (first_on_fs(c, n))
			n++;
	}
	if (r == 0 && n && fds) {
		for (size_t i = 0; i < n; i++)
			fds[i] = c[i].fd;
		if (va_syncer_submit(u->syncer, fds, n) == 0) {
			u->sync_pending = true;
			n = 0;
		}
	}
	if (r == 0 && n)
		r = sync_filesystems(c, n);
	free(fds);
	free(c);
	if (r < 0)
		changes_failed(u, r);
	return r;
}

int u_changes_durable(struct ustate *u)
{
	int r;

	if (!u->sync_pending)
		return 0;
	u->sync_pending = false;
	if ((r = va_syncer_wait(u->syncer)) < 0)
		changes_failed(u, r);
	return r;
}

int u_finish(struct ustate *u, int r)
{
	int w = u_changes_durable(u);

	return va_journal_finish(u->o->j, r < 0 ? r : w < 0 ? w : r);
}

/* Is unit @k to be carried out: its master usable, a name left to link? */
static bool unit_live(const struct batch *b, size_t k)
{
	return b->m[k].ok && names_ok(b, &b->u->units[k]);
}

/*
 * An earlier unit may have taken a name from the master's or a name's
 * inode (vunify: a guest's own hard links): the state it left is
 * expected now, nothing else.
 */
static void adopt_unit(struct batch *b, size_t k)
{
	struct ustate *u = b->u;
	const struct uunit *un = &u->units[k];
	struct pmaster *m = &b->m[k];
	bool dry = u->o->dry_run;

	for (size_t i = 0; i < un->n; i++) {
		struct pname *p = &b->p[un->first + i];
		struct utouched t;

		if (!p->ok)
			continue;
		if (!dry)
			u_adopt(u, p->fd, &p->stx);
		else if (!u->reverting &&
			 u_touched_get(u, makedev(p->stx.stx_dev_major, p->stx.stx_dev_minor), p->stx.stx_ino, &t))
			p->stx.stx_nlink = t.nlink;     /* the links the dry run took already */
	}
	if (!dry)
		u_adopt(u, m->fd, &m->stx);
}

/*
 * The changes of live unit @k: its master's flags lifted (or protected
 * first), its names linked (or reverted) in turn, its master protected.
 * Only the unit's own records change (units of a batch that share no
 * inode run on several threads at once): what is to be said, counted
 * and marked is left for account_unit().  A dry run changes nothing and
 * takes every step as done.
 */
static void exec_unit(struct batch *b, size_t k)
{
	struct ustate *u = b->u;
	const struct uunit *un = &u->units[k];
	struct pmaster *m = &b->m[k];
	bool dry = u->o->dry_run;

	m->ran = true;
	m->fresh = false;
	if (m->unprot && flag_try(u, m, m->unprot_flags, m->seq_unprot) < 0) {
		m->nbefore = m->nsteps;
		return;
	}
	if (m->prot && m->prot_first && flag_try(u, m, m->prot_flags, m->seq_prot) < 0)
		m->prot = false;
	m->nbefore = m->nsteps;
	for (size_t i = 0; i < un->n; i++) {
		struct pname *p = &b->p[un->first + i];

		if (!p->ok)
			continue;
		if (!dry) {
			/* (written to while the name before was linked) */
			p->r = m->changed ? -ESTALE : u->reverting ? do_revert(m, p) : do_link(m, p);
			if ((p->r == -EMLINK && !u->reverting) || (p->r < 0 && m->changed)) {
				/* full, or written to: the rest of the unit is not tried */
				m->stop = p->r == -EMLINK && !u->reverting ? U_STOP_EMLINK : U_STOP_CHANGED;
				m->stop_at = i;
				break;
			}
			if (p->r < 0)
				continue;
			/* its old inode keeps other names: later batches expect it so */
			if (!u->reverting && p->stx.stx_nlink > 1) {
				struct statx os;

				if (refresh(p->fd, &os) == 0) {
					p->left = (struct utouched){ .ctime = os.stx_ctime, .nlink = os.stx_nlink };
					p->left_known = true;
				}
			}
		}
		m->any = true;
		if (u->reverting)
			continue;
		/*
		 * Other names of the same old inode in this unit: our own change
		 * (one link fewer, and a new ctime, which the re-check before the
		 * rename compares); a dry run only counts the link.
		 */
		for (size_t j = i + 1; j < un->n; j++) {
			struct pname *q = &b->p[un->first + j];

			if (!q->ok || q->stx.stx_ino != p->stx.stx_ino)
				continue;
			if (dry)
				q->stx.stx_nlink--;
			else
				refresh(q->fd, &q->stx);
		}
	}
	/* protect what got names (or put back what was lifted) */
	if (m->prot && !m->prot_first) {
		if (m->any || m->unprot || un->new_store)
			flag_try(u, m, m->prot_flags, m->seq_prot);
		else
			m->prot_dropped = true;
	}
	/* the master as we left it: the rest of a split set expects that */
	if (!dry) {
		struct statx stx;

		if (refresh(m->fd, &stx) == 0)
			m->stx = stx;
	}
}

/*
 * What exec_unit() did to unit @k, said, counted and marked in the
 * journal in the order it was done; names it did not try because the
 * master is full get another store entry (emlink_retry()).
 */
static void account_unit(struct batch *b, size_t k)
{
	struct ustate *u = b->u;
	const struct uunit *un = &u->units[k];
	struct pmaster *m = &b->m[k];
	bool dry = u->o->dry_run;

	if (!m->ran)
		return;
	if (un->new_store && dry) {
		const char *sp = u_abs(u, &u->files[m->src], &u->abs2);
		struct va_uevent ev = {
			.type = VA_UEV_STORE, .path = m->storepath.buf,
			.path_len = m->storepath.len, .master = sp, .master_len = u->abs2.len,
			.size = m->stx.stx_size,
		};

		u->st->stored++;
		u->st->saved_bytes -= m->stx.stx_size;
		u_event(u, &ev);
		m->stored = true;
	}
	for (size_t s = 0; s < m->nbefore; s++)
		flag_said(u, m, &m->step[s]);
	if (m->unprot && m->step[0].r < 0) {
		/* nothing of the unit was changed */
		for (size_t i = 0; i < un->n; i++)
			if (b->p[un->first + i].ok)
				mark(u, 'U', b->p[un->first + i].seq);
		if (m->prot)
			mark(u, 'U', m->seq_prot);
		return;
	}
	for (size_t i = 0; i < un->n; i++) {
		struct pname *p = &b->p[un->first + i];

		if (!p->ok)
			continue;
		if (m->stop != U_GO_ON && i >= m->stop_at) {
			for (size_t j = i; j < un->n; j++) {
				const struct pname *q = &b->p[un->first + j];

				if (!q->ok)
					continue;
				mark(u, 'U', q->seq);
				if (m->stop == U_STOP_CHANGED)
					u_skip(u, &u->files[q->file], VA_USKIP_CHANGED, 0,
					       "its master changed during the run");
			}
			if (m->stop == U_STOP_EMLINK)
				emlink_retry(b, un, i);
			break;
		}
		if (!dry) {
			if (p->r < 0) {
				mark(u, 'U', p->seq);
				name_failed(u, p, p->r);
				continue;
			}
			mark(u, 'D', p->seq);
			if (p->left_known) {
				struct statx t = { .stx_dev_major = p->stx.stx_dev_major,
						   .stx_dev_minor = p->stx.stx_dev_minor, .stx_ino = p->stx.stx_ino,
						   .stx_ctime = p->left.ctime, .stx_nlink = p->left.nlink };

				if (u_touched(u, &t) < 0)
					u->fatal = -ENOMEM;
			}
		}
		/* its old inode is freed when this was its last name */
		name_done(u, m, p, p->stx.stx_nlink == 1);
		if (dry && !u->reverting && p->stx.stx_nlink > 1) {
			struct statx t = p->stx;

			t.stx_nlink--;
			if (u_touched(u, &t) < 0)
				u->fatal = -ENOMEM;
		}
	}
	for (size_t s = m->nbefore; s < m->nsteps; s++)
		flag_said(u, m, &m->step[s]);
	if (m->prot_dropped && !dry)
		mark(u, 'U', m->seq_prot);
	if (!dry) {
		if (m->any && u_touched(u, &m->stx) < 0)
			u->fatal = -ENOMEM;
		if (u_file_of_stx(u, &u->files[m->file], &m->stx) < 0)
			u->fatal = -ENOMEM;
	}
}

/*
 * A real run's units on several threads: exec_unit() of each unit on
 * whichever thread takes it next, account_unit() of each in turn on the
 * thread that flushes, which takes units too while the next one to
 * account is not done.  A failing disk stops the taking of units.
 */
#define U_LINKERS 4             /* threads that link, at most */
#define U_LINK_SHARED 64        /* live units a batch needs to share them out */

struct linking {
	struct batch *b;
	atomic_size_t next;     /* the next unit to take */
	atomic_bool stop;       /* the disk is failing: units are taken, not run */
	atomic_uchar *done;     /* per unit: its exec_unit() is over */
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* a unit is done */
};

/* Take the next unit and carry it out.  Return: false when none is left. */
static bool link_next(struct linking *l)
{
	struct batch *b = l->b;
	size_t k = atomic_fetch_add(&l->next, 1);

	if (k >= b->u->nunits)
		return false;
	if (!atomic_load(&l->stop) && b->m[k].live) {
		const struct pmaster *m = &b->m[k];

		exec_unit(b, k);
		for (size_t s = 0; s < m->nsteps; s++)
			if (m->step[s].r < 0 && u_fatal_errno(m->step[s].r))
				atomic_store(&l->stop, true);
	}
	pthread_mutex_lock(&l->lock);
	atomic_store(&l->done[k], 1);
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return true;
}

static void *link_worker(void *arg)
{
	while (link_next(arg))
		;
	return NULL;
}

/*
 * May the units of @b run on several threads: enough of them, and no
 * inode (master or name) in two units, so that no unit depends on what
 * another did in this batch (adopt_unit())?
 */
static bool units_apart(struct batch *b)
{
	struct ustate *u = b->u;
	struct va_inomap seen = VA_INOMAP_INIT;
	size_t live = 0;
	bool apart = true;

	for (size_t k = 0; k < u->nunits; k++)
		live += b->m[k].live;
	if (live < U_LINK_SHARED)
		return false;
	for (size_t k = 0; k < u->nunits && apart; k++) {
		const struct uunit *un = &u->units[k];

		if (!b->m[k].live)
			continue;
		for (size_t i = 0; i <= un->n && apart; i++) {
			/* i == un->n: the master */
			const struct pname *p = i < un->n ? &b->p[un->first + i] : NULL;
			const struct statx *sx = p ? &p->stx : &b->m[k].stx;
			dev_t dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
			uint32_t v;

			if (p && !p->ok)
				continue;
			if (va_inomap_find(&seen, dev, sx->stx_ino, &v))
				apart = v == k;
			else if (va_inomap_insert(&seen, dev, sx->stx_ino, (uint32_t)k) < 0)
				apart = false;
		}
	}
	va_inomap_release(&seen);
	return apart;
}

/* Carry out the units of batch @b, said in their order; stop when the run must. */
static void run_units(struct batch *b)
{
	struct ustate *u = b->u;
	size_t nthreads = cpu_threads(U_LINKERS, u->nunits), started = 0;
	pthread_t tid[U_LINKERS - 1];
	struct linking l = { .b = b };

	/* (no unit changes whether another is live) */
	for (size_t k = 0; k < u->nunits; k++)
		b->m[k].live = unit_live(b, k);
	if (u->o->dry_run || nthreads < 2 || !units_apart(b) ||
	    !(l.done = calloc(u->nunits, sizeof(*l.done)))) {
		for (size_t k = 0; k < u->nunits && !u->fatal; k++) {
			if (!b->m[k].live)
				continue;
			adopt_unit(b, k);
			exec_unit(b, k);
			account_unit(b, k);
		}
		return;
	}
	/* (no unit shares an inode with another: each expects only earlier batches) */
	for (size_t k = 0; k < u->nunits; k++)
		if (b->m[k].live)
			adopt_unit(b, k);
	atomic_init(&l.next, 0);
	atomic_init(&l.stop, false);
	pthread_mutex_init(&l.lock, NULL);
	pthread_cond_init(&l.cond, NULL);
	for (; started + 1 < nthreads; started++)
		if (va_thread_start(&tid[started], link_worker, &l) != 0)
			break;
	for (size_t k = 0; k < u->nunits; k++) {
		while (!atomic_load(&l.done[k])) {
			if (link_next(&l))
				continue;
			pthread_mutex_lock(&l.lock);
			while (!atomic_load(&l.done[k]))
				pthread_cond_wait(&l.cond, &l.lock);
			pthread_mutex_unlock(&l.lock);
		}
		account_unit(b, k);
	}
	for (size_t t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	pthread_cond_destroy(&l.cond);
	pthread_mutex_destroy(&l.lock);
	free(l.done);
}

int u_flush(struct ustate *u)
{
	struct batch b = { .u = u };
	const struct pmaster *last;
	bool dry = u->o->dry_run, submitted;
	sigset_t oldmask;
	int r = 0;

	if (!u->nunits) {
		va_inomap_release(&u->batch_masters);
		release_dirs(u, &b);
		return u->fatal;
	}
	b.m = calloc(u->nunits, sizeof(*b.m));
	b.p = calloc(u->nmembers ? u->nmembers : 1, sizeof(*b.p));
	if (!b.m || !b.p) {
		free(b.m);
		free(b.p);
		return -ENOMEM;
	}
	/* 1: prepare: the masters, their copies, then each unit's names */
	for (size_t k = 0; k < u->nunits; k++)
		prep_master(&b, &u->units[k], &b.m[k]);
	copy_masters(&b);
	submitted = !dry && submit_copies(&b);
	for (size_t k = 0; k < u->nunits; k++) {
		const struct uunit *un = &u->units[k];
		size_t ok = 0;

		finish_master(&b, un, &b.m[k]);
		for (size_t i = 0; i < un->n; i++) {
			struct pname *p = &b.p[un->first + i];

			prep_name(&b, un, &b.m[k], p, u->members[un->first + i]);
			ok += p->ok;
		}
		if (un->new_store && ok && !has_twin(&b, un))
			ok = 0;
		plan_flags(u, &b.m[k], ok > 0);
	}
	if (!dry && (!u->fatal || submitted))
		durable_copies(&b, submitted);
	/* the batch before is on disk: its marks may go with these intents */
	if (!dry)
		u_changes_durable(u);
	if (u->fatal)
		r = u->fatal;
	/* 2: journal, one fsync */
	for (size_t k = 0; k < u->nunits && !dry && r >= 0; k++) {
		const struct uunit *un = &u->units[k];
		struct pmaster *m = &b.m[k];
		size_t ok = 0;

		for (size_t i = 0; i < un->n; i++)
			ok += b.p[un->first + i].ok;
		if (!m->ok || !ok)
			continue;
		if (un->new_store && (r = intent_store(u, m)) < 0)
			break;
		if (m->unprot && (r = intent_flags(u, m, m->flags, m->unprot_flags, "unify-unprotect",
						   &m->seq_unprot)) < 0)
			break;
		if (m->prot && m->prot_first &&
		    (r = intent_flags(u, m, m->unprot ? m->unprot_flags : m->flags, m->prot_flags,
				      "unify-protect", &m->seq_prot)) < 0)
			break;
		for (size_t i = 0; i < un->n && r >= 0; i++)
			if (b.p[un->first + i].ok)
				r = intent_name(u, m, &b.p[un->first + i],
						u->reverting ? "revert" : "link");
		if (r >= 0 && m->prot && !m->prot_first)
			r = intent_flags(u, m, m->unprot ? m->unprot_flags : m->flags, m->prot_flags,
					 u->reverting ? "unify-reprotect" : "unify-protect", &m->seq_prot);
	}
	if (r >= 0 && !dry)
		r = va_journal_sync(u->o->j);
	/* 3: change, no signal ending it between a link and its exchange */
	if (!dry)
		u_block_signals(&oldmask);
	if (!dry && r >= 0 && !u->fatal) {
		/* the new store entries, named and on disk before any name
		 * that holds their only other copy goes */
		bool stored = false;
		int rs;

		for (size_t k = 0; k < u->nunits && !u->fatal; k++)
			stored |= store_unit(&b, k);
		if (stored && !u->fatal && (rs = u_syncfs(u->trees[u->store_tree].fd)) < 0) {
			u_skip_path(u, u->trees[u->store_tree].root, u->trees[u->store_tree].root_len,
				    NULL, VA_USKIP_ERROR, -rs, "cannot write the new entries to disk");
			u->fatal = rs;
		}
	}
	if (r >= 0 && !u->fatal)
		run_units(&b);
	if (!dry && r >= 0)
		durable_changes(&b);
	if (!dry)
		sigprocmask(SIG_SETMASK, &oldmask, NULL);
	last = &b.m[u->nunits - 1];
	u->last_master = last->ok ? last->file : UINT32_MAX;
	u->last_stored = !u->units[u->nunits - 1].new_store || last->stored;
	if (dry && last->storepath.len) {
		dbuf_setlen(&u->dry_entry, 0);
		if (dbuf_add(&u->dry_entry, last->storepath.buf, last->storepath.len) < 0)
			r = -ENOMEM;
		u->dry_entry_flags = last->flags;
	}
	for (size_t i = 0; i < u->nmembers; i++)
		release_name(u, &b.p[i]);
	release_dirs(u, &b);
	for (size_t k = 0; k < u->nunits; k++)
		release_master(u, &b.m[k]);
	free(b.m);
	free(b.p);
	u->nunits = 0;
	u->nmembers = 0;
	va_inomap_release(&u->batch_masters);
	if (r < 0) {
		free(b.retry);
		free(b.rgroups);
		return u->fatal = r;
	}
	/* names that met EMLINK: a new store entry for each group */
	for (size_t g = 0; g < b.nrgroups && !u->fatal && r >= 0; g++) {
		const struct uunit *rg = &b.rgroups[g];

		r = u_unit_begin(u, rg->master, true, rg->digest);
		for (size_t k = 0; k < rg->n && r >= 0; k++)
			r = u_unit_add(u, b.retry[rg->first + k]);
		if (r >= 0)
			r = u_unit_end(u);
	}
	free(b.rgroups);
	free(b.retry);
	if (r >= 0 && u->nunits)
		r = u_flush(u);
	return r < 0 ? r : u->fatal;
}
