/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.c - the live attribute checks.
 *
 * One walk callback does everything: it tracks the current guest, learns
 * from the filesystem's inode tables (core/itable.h, read once the walk
 * has met a 64th of the filesystem's inodes in use) which entries need a
 * look, reads their
 * flags through the back end on a verified fd (where there are no tables:
 * every file and directory), and either reports at once (inodes with one
 * link, directories) or files the inode in the shared-inode table, whose
 * findings are reported after the walk.  With tables, regular files come
 * from the walk without a statx() (the directory entry's type and inode
 * number): the table has their mode and link count.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "audit/audit.h"
#include "audit/checks.h"
#include "audit/confirm.h"
#include "core/dbuf.h"
#include "core/flags.h"
#include "core/image.h"
#include "core/inomap.h"
#include "core/itable.h"
#include "core/namelist.h"
#include "core/target.h"
#include "core/vsconfig.h"
#include "core/walk.h"

/* A multiply-linked regular file seen during the walk. */
struct shared {
	dev_t dev;
	uint64_t ino;
	uint32_t flags;
	unsigned flags_known;
	uint32_t mode;
	uint32_t nlink;
	uint32_t gen;
	bool gen_known;
	bool immutable;
	bool keep_names;        /* names are kept only for possible findings */
	bool from_table;        /* flags from the inode table, not read live (no
				   flag finding can come of them) */
	const char *secret;     /* the secret pattern a name matched, or NULL */
	size_t root_index;
	long last_guest;        /* guests are walked one after another */
	size_t nguests;
	struct va_namechain names;      /* in a->names */
};

struct guest {
	char *name;             /* the configured name, else the directory's */
	size_t len;
	size_t prefix_len;      /* length of the guest root's display path */
	long cfg;               /* index into args->config->guests, or -1 */
};

/* The inode tables of one filesystem the walk met. */
struct devtab {
	dev_t dev;
	struct va_itable *t;    /* NULL: its inodes are read through the walk */
	bool decided;           /* t is what it will be */
	uint64_t used;          /* inodes in use on it (statfs) */
	bool whole;             /* the walk entered it at its root */
	uint64_t seen;          /* entries of it the walk has given so far */
	uint32_t *shared_of;    /* beside t's entries: 1 + the index in shared of
				   that inode, 0 while not met (NULL until needed) */
};

/*
 * Reading the tables costs about a tenth of reading one inode through the
 * walk, per inode in use on the whole filesystem: worth it once the walk
 * has given this share of them (a ROOT that is a small part of a large
 * filesystem is read through the walk instead).
 */
#define TABLE_AFTER_SHARE 64

struct audit {
	const struct va_audit_args *args;
	struct devtab *devs;
	size_t ndevs, capdevs;
	const struct va_itable_ent *te; /* the table's copy of the entry being checked, or NULL */
	struct devtab *te_dt;   /* the filesystem te belongs to (valid with te) */
	struct va_audit_stats *stats;
	struct va_inomap map;
	struct va_namelist names;       /* the names kept of shared inodes */
	struct shared *shared;
	size_t nshared, capshared;
	struct guest *guests;
	size_t nguests, capguests;
	long cur_guest;         /* index into guests, or -1 */
	struct va_confirm *confirm;     /* live reads of shared inodes, or NULL */
	bool confirm_off;               /* the back end cannot be read so */
	char **stores;          /* VA_STORE_NAME directories the configuration does not name */
	size_t nstores, capstores;
	int fatal;              /* negative errno that stops the walk */
};

static void report_error(struct audit *a, const char *path, size_t len, const char *op, int err)
{
	a->stats->errors++;
	if (a->args->hooks.error)
		a->args->hooks.error(path, len, op, err, a->args->hooks.user);
}

/* Emit one finding per kind in @kinds, all about the same inode. */
static int emit_kinds(struct audit *a, struct va_finding *f, uint64_t kinds, bool on_root)
{
	return va_emit_kinds(a->args, a->stats, f, kinds, on_root);
}

static void guest_name(const struct audit *a, long g, struct va_name *n)
{
	n->guest = g >= 0 ? a->guests[g].name : NULL;
	n->guest_len = g >= 0 ? a->guests[g].len : 0;
}

/* Fill the identity part of a finding from statx. */
static void finding_init(struct va_finding *f, enum va_kind kind, const struct audit *a,
			 const struct va_walk_entry *e, const struct va_attrs *at)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->root = a->args->roots[e->root_index];
	guest_name(a, e->depth >= 1 ? a->cur_guest : -1, &f->where);
	f->where.path = (char *)e->path;
	f->where.path_len = e->path_len;
	f->dev = makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor);
	f->ino = e->stx->stx_ino;
	f->nlink = e->stx->stx_nlink;
	f->mode = e->stx->stx_mode;
	f->flags = at->flags;
	f->flags_known = at->known;
	f->gen = at->gen;
	f->gen_known = at->gen_known;
	f->new_mode = f->mode;
}

static int read_attrs(struct audit *a, const struct va_walk_entry *e, struct va_attrs *at)
{
	struct va_attr_target t = va_target_of(e);
	int r;

	/* the 2.6 bits were just read from the device with the inode table: no second read */
	if (a->te && a->te->ino == e->stx->stx_ino && a->te->links) {
		t.vs26_hint = true;
		t.vs26_flags = a->te->flags;
	}

	a->stats->flag_reads++;
	r = va_backend_read(a->args->backend, &t, at);
	if (r < 0) {
		report_error(a, e->path, e->path_len,
			     r == -ESTALE ? "changed during walk" : "read flags", -r);
		at->known = 0;
		at->flags = 0;
	}
	return r;
}

static dev_t entry_dev(const struct va_walk_entry *e)
{
	return makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor);
}

static bool stx_immutable(const struct statx *stx)
{
	return stx->stx_attributes & STATX_ATTR_IMMUTABLE;
}

/* ------------------------------------------------------------------ inode tables */

/*
 * What the walk must look at: a regular file with several links or a bad
 * flag, a directory with a bad flag or mode 0000 (the checks of
 * audit/checks.h on the table's copy), and an inode whose copy libext2fs
 * found unusable.
 */
static bool keep_inode(const struct va_itable_ent *e, bool suspect, void *user)
{
	const unsigned known = VA_KNOWN_EXT2 | VA_KNOWN_VS26;

	(void)user;
	if (suspect)
		return true;
	if (S_ISREG(e->mode))
		return e->links > 1 || va_check_file(e->flags, known) != 0;
	if (S_ISDIR(e->mode))
		return va_check_dir(e->flags, known, e->mode, false) != 0;
	return false;
}

static void walk_instead(struct audit *a, const char *why, long err)
{
	a->stats->methods |= VA_METHOD_WALK;
	if (!a->stats->walk_why) {
		a->stats->walk_why = why;
		a->stats->walk_err = err;
	}
}

/* Read the inode tables of @d.  Return: the table or NULL (a->fatal set when the audit must stop). */
static struct va_itable *read_table(struct audit *a, struct devtab *d)
{
	struct va_image *img = NULL;
	struct va_itable *t = NULL;
	struct va_itable_counts n = { 0 };
	errcode_t err;
	long r;

	err = va_image_for_dev(d->dev, &img);
	if (err == ENODEV || err == EXT2_ET_BAD_MAGIC) {
		walk_instead(a, "not an ext2/3/4 filesystem on a block device", 0);
		return NULL;
	}
	if (err) {
		walk_instead(a, "its block device cannot be read", (long)err);
		return NULL;
	}
	r = va_itable_read(img, keep_inode, a, a->args->cancel, &t, &n);
	va_image_close(img);
	if (r == -ENOMEM || r == -ECANCELED) {
		a->fatal = (int)r;
		return NULL;
	}
	if (r) {
		walk_instead(a, "its inode tables cannot be read", r);
		return NULL;
	}
	a->stats->methods |= VA_METHOD_TABLES;
	a->stats->tables++;
	a->stats->table_inodes += n.inodes;
	/* a walk of the whole of its only filesystem: its names say how far it is */
	if (a->ndevs == 1 && d->whole)
		a->stats->entries_expected = n.names;
	if (a->args->hooks.tables_read)
		a->args->hooks.tables_read(a->stats, a->args->hooks.user);
	return t;
}

/*
 * The inode table of the filesystem of entry @e (@fd: an open fd on it, or
 * -1), read once the walk has given a share of its inodes in use
 * (TABLE_AFTER_SHARE).  Return: the table, or NULL while (or where) the
 * entries are read through the walk; a->fatal is set when the audit must
 * stop.
 */
static const struct va_itable *table_for(struct audit *a, const struct va_walk_entry *e, int fd)
{
	dev_t dev = entry_dev(e);
	struct devtab *d = NULL;
	struct statfs sf;

	for (size_t i = 0; i < a->ndevs && !d; i++)
		if (a->devs[i].dev == dev)
			d = &a->devs[i];
	if (!d) {
		if (va_array_grow(&a->devs, &a->capdevs, a->ndevs, sizeof(*a->devs)) < 0) {
			a->fatal = -ENOMEM;
			return NULL;
		}
		d = &a->devs[a->ndevs++];
		*d = (struct devtab){ .dev = dev, .whole = (e->stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
							   (e->stx->stx_attributes & STATX_ATTR_MOUNT_ROOT) };
		if (a->ndevs > 1)
			a->stats->entries_expected = 0;
		if (!(a->args->flags & VA_AUDIT_TABLES)) {
			walk_instead(a, "block devices are not read (--no-device-read)", 0);
			d->decided = true;
		} else if (fd >= 0 && fstatfs(fd, &sf) == 0 && sf.f_files >= sf.f_ffree) {
			d->used = (uint64_t)(sf.f_files - sf.f_ffree);
		}
	}
	a->te_dt = d;
	if (d->decided)
		return d->t;
	if (++d->seen * TABLE_AFTER_SHARE < d->used)
		return NULL;
	d->decided = true;
	d->t = read_table(a, d);
	return d->t;
}

/* ------------------------------------------------------------------ ROOT */

static void check_root(struct audit *a, const struct va_walk_entry *e)
{
	struct va_attrs at = { 0 };
	struct va_finding f;

	read_attrs(a, e, &at);
	finding_init(&f, VA_KIND_COUNT, a, e, &at);
	a->fatal = emit_kinds(a, &f, va_check_root(at.flags, at.known, e->stx->stx_mode), true);
}

/* ------------------------------------------------------------------ guests */

static int guest_add(struct audit *a, const struct va_walk_entry *e)
{
	const char *name = e->name;
	size_t len = e->name_len;
	struct guest *g;
	long cfg = va_config_find_vdir(a->args->config,
				       makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor),
				       e->stx->stx_ino);

	if (va_array_grow(&a->guests, &a->capguests, a->nguests, sizeof(*a->guests)) < 0)
		return -ENOMEM;
	g = &a->guests[a->nguests];
	g->cfg = cfg;
	g->prefix_len = e->path_len;
	if (cfg >= 0) {
		name = a->args->config->guests[cfg].name;
		len = strlen(name);
	}
	g->name = malloc(len + 1);
	if (!g->name)
		return -ENOMEM;
	memcpy(g->name, name, len);
	g->name[len] = '\0';
	g->len = len;
	a->cur_guest = (long)a->nguests++;
	return 0;
}

/* ------------------------------------------------------------------ hash stores */

/* A hash store directly under ROOT (see the convention in checks.h): not a guest. */
static bool is_store(const struct audit *a, const struct va_walk_entry *e)
{
	return va_is_store_name(e->name, e->name_len) ||
	       va_config_is_store(a->args->config, makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor),
				  e->stx->stx_ino);
}

/*
 * Not walked as a guest: a configured store is audited by
 * va_audit_hash_stores(), another one by va_audit_store() after the walk.
 */
static enum va_walk_action store_seen(struct audit *a, const struct va_walk_entry *e)
{
	char *p;

	if (va_config_is_store(a->args->config, makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor),
			       e->stx->stx_ino))
		return VA_WALK_PRUNE;
	if (va_array_grow(&a->stores, &a->capstores, a->nstores, sizeof(*a->stores)) < 0 ||
	    !(p = malloc(e->path_len + 1))) {
		a->fatal = -ENOMEM;
		return VA_WALK_STOP;
	}
	memcpy(p, e->path, e->path_len + 1);
	a->stores[a->nstores++] = p;
	return VA_WALK_PRUNE;
}

/* ------------------------------------------------------------------ shared inodes */

static int name_add(struct audit *a, struct shared *s, const struct va_walk_entry *e)
{
	return va_namelist_add(&a->names, &s->names, e->path, e->path_len, e->name_len,
			       (int32_t)a->cur_guest);
}

/*
 * The names of @s as va_name entries into *@ret (grown as needed), their
 * bytes in @bytes.  Return: the count, or -ENOMEM.
 */
static long names_of(const struct audit *a, const struct shared *s, struct va_name **ret, size_t *cap,
		     struct dbuf *bytes)
{
	size_t n = 0, *ends;
	uint64_t pos = s->names.first;

	while (*cap < s->names.n)
		if (va_array_grow(ret, cap, *cap, sizeof(**ret)) < 0)
			return -ENOMEM;
	if (!(ends = malloc(s->names.n * sizeof(*ends))))
		return -ENOMEM;
	dbuf_setlen(bytes, 0);
	while (pos && n < s->names.n) {
		int32_t g;

		pos = va_namelist_get(&a->names, pos, bytes, &g);
		if (pos == UINT64_MAX || dbuf_addc(bytes, '\0') < 0) {
			free(ends);
			return -ENOMEM;
		}
		guest_name(a, g, &(*ret)[n]);
		ends[n++] = bytes->len;
	}
	/* the bytes are all there: now they no longer move */
	for (size_t i = 0; i < n; i++) {
		size_t start = i ? ends[i - 1] : 0;

		(*ret)[i].path = bytes->buf + start;
		(*ret)[i].path_len = ends[i] - start - 1;
	}
	free(ends);
	return (long)n;
}

/*
 * Where the index of the shared inode @e is kept beside its filesystem's
 * table (a direct index, no hashing), or NULL when the table does not
 * hold it: then the (dev, ino) map.  -ENOMEM in *err.
 */
static uint32_t *shared_slot(struct audit *a, const struct va_walk_entry *e, dev_t dev, int *err)
{
	struct devtab *d = a->te_dt;

	if (!a->te || a->te->ino != e->stx->stx_ino || !d || !d->t || d->dev != dev)
		return NULL;
	if (!d->shared_of && !(d->shared_of = calloc(va_itable_count(d->t), sizeof(*d->shared_of)))) {
		*err = -ENOMEM;
		return NULL;
	}
	return &d->shared_of[va_itable_index(d->t, a->te)];
}

static int shared_add(struct audit *a, const struct va_walk_entry *e, struct shared **ret)
{
	dev_t dev = makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor);
	int err = 0;
	uint32_t idx, *slot = shared_slot(a, e, dev, &err);
	struct shared *s;

	if (err)
		return err;
	if (slot && *slot) {
		*ret = &a->shared[*slot - 1];
		return 0;
	}
	/* met before its table was read: in the map */
	if ((!slot || a->map.count) && va_inomap_find(&a->map, dev, e->stx->stx_ino, &idx)) {
		if (slot)
			*slot = idx + 1;
		*ret = &a->shared[idx];
		return 0;
	}
	if (a->nshared >= UINT32_MAX - 1 ||
	    va_array_grow(&a->shared, &a->capshared, a->nshared, sizeof(*a->shared)) < 0)
		return -ENOMEM;
	if (slot)
		*slot = (uint32_t)a->nshared + 1;
	else if (va_inomap_insert(&a->map, dev, e->stx->stx_ino, (uint32_t)a->nshared) < 0)
		return -ENOMEM;
	s = &a->shared[a->nshared++];
	memset(s, 0, sizeof(*s));
	s->dev = dev;
	s->ino = e->stx->stx_ino;
	s->mode = e->stx->stx_mode;
	s->nlink = e->stx->stx_nlink;
	s->root_index = e->root_index;
	s->last_guest = -1;
	*ret = s;
	return 1;
}

/*
 * Does the table's copy of the shared inode @e (a->te) show a state that
 * no flag finding can come of (immutable, no bad bit, protected as a shared
 * inode must be)?  Then it need not be read live.
 */
static bool table_clean(const struct audit *a, const struct va_walk_entry *e)
{
	const struct va_itable_ent *te = a->te;
	const unsigned known = VA_KNOWN_EXT2 | VA_KNOWN_VS26;

	return te && te->ino == e->stx->stx_ino && te->links > 1 && (te->flags & VA_FL_IMMUTABLE) &&
	       !va_check_file(te->flags, known) && !va_check_shared(te->flags, known, 2);
}

/*
 * The attributes of shared inode @s, and whether its names must be kept;
 * @stx_immut: what statx said of immutable, for flags that could not be read.
 */
static void shared_set_attrs(struct shared *s, const struct va_attrs *at, bool stx_immut)
{
	s->flags = at->flags;
	s->flags_known = at->known;
	s->gen = at->gen;
	s->gen_known = at->gen_known;
	s->immutable = at->known ? (at->flags & VA_FL_IMMUTABLE) != 0 : stx_immut;
	/* Names are kept only where a finding may need them: a bad flag, not
	 * immutable, or a shared-inode kind once a second guest has a name
	 * (the secret check adds its own) */
	s->keep_names = !s->immutable || va_check_file(at->flags, at->known) ||
			va_check_shared(at->flags, at->known, 2);
}

/*
 * Can the live read of shared inode @e (whose table copy, a->te, may make
 * a finding) wait for the confirming thread?  It needs the table's copy
 * (the 2.6 bits come from there), a parent below a ROOT the thread holds.
 */
static bool can_confirm_later(const struct audit *a, const struct va_walk_entry *e)
{
	return a->confirm && a->te && a->te->ino == e->stx->stx_ino && a->te->links && e->depth >= 1 &&
	       e->at_fd >= 0 && va_confirm_has_root(a->confirm, e->root_index);
}

/* Queue the live read of the first name @e of shared inode @s; its names are kept meanwhile. */
static int confirm_later(struct audit *a, const struct va_walk_entry *e, struct shared *s)
{
	const char *root = a->args->roots[e->root_index];
	size_t root_len = strlen(root);

	/* the walk's display path: the ROOT without trailing slashes, '/', the names */
	while (root_len > 1 && root[root_len - 1] == '/')
		root_len--;
	if (e->path_len <= root_len)
		return -EINVAL;
	a->stats->flag_reads++;
	s->keep_names = true;
	s->immutable = stx_immutable(e->stx);
	return va_confirm_add(a->confirm, &(struct va_confirm_read){
		.id = (uint32_t)(s - a->shared), .root_index = e->root_index,
		.dev = s->dev, .ino = s->ino, .mode = e->stx->stx_mode, .vs26_flags = a->te->flags,
		.path = e->path, .path_len = e->path_len,
		.rel_off = root_len + (e->path[root_len] == '/') });
}

/* A live read of the confirming thread is back: the attributes of that shared inode. */
static void confirmed(const struct va_confirm_read *rd, void *user)
{
	struct audit *a = user;
	struct shared *s = &a->shared[rd->id];
	struct va_attrs at = rd->at;

	if (rd->r < 0) {
		report_error(a, rd->path, rd->path_len,
			     rd->r == -ESTALE ? "changed during walk" : "read flags", -rd->r);
		at = (struct va_attrs){ 0 };
	}
	shared_set_attrs(s, &at, s->immutable);
	if (s->secret)
		s->keep_names = true;
}

/* A name of a multiply-linked file: its flags are read at the first name. */
static int shared_seen(struct audit *a, const struct va_walk_entry *e)
{
	struct shared *s;
	int r = shared_add(a, e, &s);

	if (r < 0)
		return r;
	if (r == 1) {
		struct va_attrs at = { 0 };

		if (table_clean(a, e)) {
			/* the table shows a state no flag finding can come of:
			 * nothing to confirm live unless a name matches a secret */
			at.flags = a->te->flags;
			at.known = VA_KNOWN_EXT2 | VA_KNOWN_VS26;
			at.gen = a->te->gen;
			at.gen_known = true;
			s->from_table = true;
			shared_set_attrs(s, &at, false);
		} else if (can_confirm_later(a, e)) {
			if ((r = confirm_later(a, e, s)) < 0)
				return r;
		} else {
			read_attrs(a, e, &at);
			shared_set_attrs(s, &at, stx_immutable(e->stx));
		}
	}
	if (a->cur_guest >= 0 && !s->secret) {
		const struct guest *g = &a->guests[a->cur_guest];

		s->secret = va_secret_match(e->path + g->prefix_len,
					    g->cfg >= 0 ? &a->args->config->guests[g->cfg].exclude : NULL);
		if (s->secret) {
			s->keep_names = true;
			/* a finding will be reported: its flags read live, here */
			if (s->from_table) {
				struct va_attrs at = { 0 };

				read_attrs(a, e, &at);
				shared_set_attrs(s, &at, stx_immutable(e->stx));
				s->keep_names = true;
				s->from_table = false;
			}
		}
	}
	if (a->cur_guest >= 0 && a->cur_guest != s->last_guest) {
		s->last_guest = a->cur_guest;
		s->nguests++;
	}
	if (s->keep_names)
		return name_add(a, s, e);
	return 0;
}

static int shared_report_one(struct audit *a, const struct shared *s, struct va_name **names,
			     size_t *cap, struct dbuf *bytes)
{
	uint64_t kinds = va_check_file(s->flags, s->flags_known);
	struct va_finding f;
	long n;
	int r;

	if (!s->flags_known && s->nguests >= 2 && !s->immutable)
		kinds |= VA_KIND_BIT(VA_KIND_SHARED_UNPROTECTED);
	kinds |= va_check_shared(s->flags, s->flags_known, s->nguests);
	if (s->secret && s->nguests >= 2)
		kinds |= VA_KIND_BIT(VA_KIND_SHARED_SECRET);
	if (!kinds || !s->names.n)
		return 0;
	if ((n = names_of(a, s, names, cap, bytes)) <= 0)
		return n < 0 ? (int)n : 0;
	memset(&f, 0, sizeof(f));
	f.root = a->args->roots[s->root_index];
	f.where = (*names)[0];
	f.others = *names + 1;
	f.nothers = (size_t)n - 1;
	f.nguests = s->nguests;
	f.dev = s->dev;
	f.ino = s->ino;
	f.nlink = s->nlink;
	f.mode = s->mode;
	f.flags = s->flags;
	f.flags_known = s->flags_known;
	f.gen = s->gen;
	f.gen_known = s->gen_known;
	if ((r = emit_kinds(a, &f, kinds & ~VA_KIND_BIT(VA_KIND_SHARED_SECRET), false)) < 0)
		return r;
	if (kinds & VA_KIND_BIT(VA_KIND_SHARED_SECRET)) {
		char detail[300];

		snprintf(detail, sizeof(detail), "a name matches the secret pattern %.250s", s->secret);
		f.detail = detail;
		if ((r = emit_kinds(a, &f, VA_KIND_BIT(VA_KIND_SHARED_SECRET), false)) < 0)
			return r;
	}
	return 0;
}

static int shared_report(struct audit *a)
{
	struct va_name *names = NULL;
	struct dbuf bytes = DBUF_INIT;
	size_t cap = 0;
	int r = 0;

	for (size_t i = 0; i < a->nshared && r == 0; i++)
		r = shared_report_one(a, &a->shared[i], &names, &cap, &bytes);
	free(names);
	dbuf_release(&bytes);
	return r;
}

/* ------------------------------------------------------------------ unify leftovers */

static bool is_leftover(const struct va_walk_entry *e)
{
	return e->at_fd >= 0 && va_is_leftover_name(e->name, e->name_len);
}

/* Report @e when its NAME exists beside it. */
static int leftover(struct audit *a, const struct va_walk_entry *e)
{
	size_t base = e->name_len - 7;
	char name[NAME_MAX + 1];
	struct stat st;
	struct va_attrs at = { 0 };
	struct va_finding f;

	if (!(a->args->kinds & VA_KIND_BIT(VA_KIND_UNIFY_LEFTOVER)) || base > NAME_MAX)
		return 0;
	memcpy(name, e->at_name, base);
	name[base] = '\0';
	if (fstatat(e->at_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	finding_init(&f, VA_KIND_COUNT, a, e, &at);
	f.detail = S_ISREG(st.st_mode) && st.st_ino == e->stx->stx_ino ?
		   "a second name of the same inode, left by an interrupted unification" :
		   "the backup of an interrupted unification, left beside the name it replaced";
	return emit_kinds(a, &f, VA_KIND_BIT(VA_KIND_UNIFY_LEFTOVER), false);
}

/* ------------------------------------------------------------------ walk */

/*
 * A regular file the walk gave without statx() (@e has its type and inode
 * number): nothing to do when the table does not keep it; for a shared
 * inode the table's mode and link count, else a statx() by name, into
 * @full and @copy.  Return: the entry to check, or NULL.
 */
static const struct va_walk_entry *lazy_file(struct audit *a, const struct va_walk_entry *e,
					     struct statx *full, struct va_walk_entry *copy)
{
	const struct va_itable *t = table_for(a, e, -1);
	const struct va_itable_ent *te = t ? va_itable_get(t, e->stx->stx_ino) : NULL;

	if (a->fatal || (t && !te))
		return NULL;
	a->te = te;
	if (te && te->links > 1 && S_ISREG(te->mode)) {
		*full = *e->stx;
		full->stx_mask |= STATX_MODE | STATX_NLINK;
		full->stx_mode = te->mode;
		full->stx_nlink = te->links;
	} else if (statx(e->at_fd, e->at_name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
			 STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO, full) < 0) {
		report_error(a, e->path, e->path_len, "statx", errno);
		return NULL;
	} else if (!S_ISREG(full->stx_mode) || full->stx_ino != e->stx->stx_ino) {
		return NULL;    /* not the file the directory listed any more */
	}
	*copy = *e;
	copy->stx = full;
	return copy;
}

static enum va_walk_action on_file(struct audit *a, const struct va_walk_entry *e)
{
	const struct statx *stx;
	struct va_attrs at = { 0 };
	struct va_finding f;
	struct va_walk_entry copy;
	struct statx full;

	if (!(e->stx->stx_mask & STATX_NLINK) && !(e = lazy_file(a, e, &full, &copy)))
		return a->fatal ? VA_WALK_STOP : VA_WALK_CONTINUE;
	stx = e->stx;
	if (stx->stx_nlink > 1) {
		/* flags of every multiply-linked file: a stray bit on a
		 * shared inode matters to every guest */
		a->fatal = shared_seen(a, e);
		return a->fatal ? VA_WALK_STOP : VA_WALK_CONTINUE;
	}
	if (read_attrs(a, e, &at) < 0)
		return VA_WALK_CONTINUE;
	finding_init(&f, VA_KIND_COUNT, a, e, &at);
	a->fatal = emit_kinds(a, &f, va_check_file(at.flags, at.known), false);
	return a->fatal ? VA_WALK_STOP : VA_WALK_CONTINUE;
}

static enum va_walk_action on_dir(struct audit *a, const struct va_walk_entry *e)
{
	struct va_attrs at = { 0 };
	struct va_finding f;
	bool guest_root = e->depth == 1;
	/* a mount point the walk does not enter is read on its own */
	const struct va_itable *t = e->mount_point && !guest_root ? NULL : table_for(a, e, e->dir_fd);
	struct va_walk_entry copy;
	struct statx full;

	if (a->fatal)
		return VA_WALK_STOP;
	a->te = t ? va_itable_get(t, e->stx->stx_ino) : NULL;
	if (!guest_root && t && !a->te)
		return VA_WALK_CONTINUE;
	if (!(e->stx->stx_mask & STATX_MODE)) {
		/* given without statx(): mode and links from the table's
		 * copy, else from the verified fd */
		full = *e->stx;
		if (a->te) {
			full.stx_mode = a->te->mode;
			full.stx_nlink = a->te->links;
		} else if (statx(e->dir_fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO,
				 &full) < 0) {
			report_error(a, e->path, e->path_len, "statx", errno);
			return VA_WALK_CONTINUE;
		}
		full.stx_mask |= STATX_MODE | STATX_NLINK;
		copy = *e;
		copy.stx = &full;
		e = &copy;
	}
	if (read_attrs(a, e, &at) < 0)
		return VA_WALK_CONTINUE;
	finding_init(&f, VA_KIND_COUNT, a, e, &at);
	a->fatal = emit_kinds(a, &f, va_check_dir(at.flags, at.known, e->stx->stx_mode, guest_root),
			      false);
	return a->fatal ? VA_WALK_STOP : VA_WALK_CONTINUE;
}

/* ROOT @e: the confirming thread reads shared inodes beneath it (where the tables are read). */
static void confirm_beneath(struct audit *a, const struct va_walk_entry *e)
{
	int r = 0;

	if (!(a->args->flags & VA_AUDIT_TABLES) || e->dir_fd < 0 || a->confirm_off)
		return;
	if (!a->confirm && (r = va_confirm_new(a->args->backend, confirmed, a, &a->confirm)) < 0) {
		a->confirm_off = true;  /* -EOPNOTSUPP: read on the walk's thread */
		if (r == -ENOMEM)
			a->fatal = r;
		return;
	}
	if ((r = va_confirm_root(a->confirm, e->root_index, e->dir_fd)) == -ENOMEM)
		a->fatal = r;
}

static enum va_walk_action on_entry(const struct va_walk_entry *e, void *user)
{
	struct audit *a = user;

	if (e->visit == VA_WALK_ERROR) {
		report_error(a, e->path, e->path_len, e->error_op, e->error);
		return VA_WALK_CONTINUE;
	}
	if (e->visit != VA_WALK_PRE)
		return VA_WALK_CONTINUE;

	a->stats->entries++;
	a->te = NULL;
	if (a->args->cancel && *a->args->cancel) {
		a->fatal = -ECANCELED;
		return VA_WALK_STOP;
	}
	if ((a->stats->entries & 4095) == 0 && a->args->hooks.progress) {
		a->stats->guest = a->cur_guest >= 0 ? a->guests[a->cur_guest].name : NULL;
		a->stats->guest_len = a->cur_guest >= 0 ? a->guests[a->cur_guest].len : 0;
		a->args->hooks.progress(a->stats, a->args->hooks.user);
	}

	if (e->depth == 0) {
		a->cur_guest = -1;
		if (!S_ISDIR(e->stx->stx_mode)) {
			report_error(a, e->path, e->path_len, "not a directory", 0);
			return VA_WALK_PRUNE;
		}
		(void)table_for(a, e, e->dir_fd);
		if (a->fatal == 0)
			confirm_beneath(a, e);
		if (a->fatal == 0)
			check_root(a, e);
		return a->fatal ? VA_WALK_STOP : VA_WALK_CONTINUE;
	}
	if (e->depth == 1) {
		a->cur_guest = -1;
		if (S_ISDIR(e->stx->stx_mode) && is_store(a, e))
			return store_seen(a, e);
		if (S_ISDIR(e->stx->stx_mode) && (a->fatal = guest_add(a, e)) < 0)
			return VA_WALK_STOP;
	}
	if (S_ISREG(e->stx->stx_mode)) {
		if (is_leftover(e) && (a->fatal = leftover(a, e)) < 0)
			return VA_WALK_STOP;
		return on_file(a, e);
	}
	if (S_ISDIR(e->stx->stx_mode))
		return on_dir(a, e);
	return VA_WALK_CONTINUE;
}

static void audit_release(struct audit *a)
{
	va_confirm_free(a->confirm);
	va_namelist_release(&a->names);
	free(a->shared);
	for (size_t i = 0; i < a->nguests; i++)
		free(a->guests[i].name);
	free(a->guests);
	for (size_t i = 0; i < a->nstores; i++)
		free(a->stores[i]);
	free(a->stores);
	va_inomap_release(&a->map);
	for (size_t i = 0; i < a->ndevs; i++) {
		va_itable_free(a->devs[i].t);
		free(a->devs[i].shared_of);
	}
	free(a->devs);
}

int va_audit_run(const struct va_audit_args *args, struct va_audit_stats *stats)
{
	struct audit a = { .args = args, .stats = stats, .map = VA_INOMAP_INIT, .names = VA_NAMELIST_INIT,
			   .cur_guest = -1 };
	struct va_walk_args w = {
		.roots = args->roots,
		.nroots = args->nroots,
		.flags = ((args->flags & VA_AUDIT_CROSS_MOUNTS) ? 0 : VA_WALK_XDEV) |
			 ((args->flags & VA_AUDIT_TABLES) ? VA_WALK_LAZY_DIRS : 0),
		.stx_mask = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO,
		.mount_depth = 1,
		/* no check looks at these: spare them the statx(); regular
		 * files too where the inode tables say which need a look */
		.lazy_types = 1u << DT_LNK | 1u << DT_FIFO | 1u << DT_SOCK | 1u << DT_CHR | 1u << DT_BLK |
			      ((args->flags & VA_AUDIT_TABLES) ? 1u << DT_REG : 0),
		.callback = on_entry,
		.user = &a,
	};
	int r;

	memset(stats, 0, sizeof(*stats));
	r = va_walk(&w);
	if (a.confirm && r >= 0 && a.fatal == 0)
		va_confirm_finish(a.confirm);
	/* a filesystem of which the walk met too little for its tables was read through the walk */
	for (size_t i = 0; i < a.ndevs; i++)
		if (!a.devs[i].decided)
			walk_instead(&a, "ROOT is a small part of its filesystem", 0);
	if (r >= 0 && a.fatal == 0)
		r = shared_report(&a);
	for (size_t i = 0; i < a.nstores && r >= 0 && a.fatal == 0; i++)
		r = va_audit_store(args, stats, a.stores[i]);
	if (a.fatal < 0)
		r = a.fatal;
	stats->guest = NULL;
	stats->guest_len = 0;
	audit_release(&a);
	return r < 0 ? r : 0;
}
