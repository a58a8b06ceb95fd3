/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmount.c - the vmount command: mount what a configuration says into a
 * guest, in dependency order, entries shared by several guests once for
 * all of them; unmount it again in reverse order; show the plan; list
 * what is mounted for whom.
 *
 * The configuration language and its graph are core/mountconf.h; the
 * mounts themselves vmount-mount.c; the state files and locks
 * vmount-state.c.  This file holds the runs: the order of the work and
 * what is recorded when.
 *
 * A mount is recorded "pending" (with the mount it will cover) before it is
 * made and "done" (with its own mount id) after; a guest's use of a
 * shared entry is recorded before the shared entry counts the guest.
 * `vmount -u` therefore finds every mount a crash left: a pending record
 * whose place is covered by another mount than the one noted is that
 * mount.  Locks: flock(2) on g-HASH.lock, then on the s-HASH.lock of
 * each shared entry, in the order of their names; a run waits for them.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "core/message.h"
#include "core/mountconf.h"
#include "core/safeopen.h"
#include "cli/kit.h"
#include "cli/vmount.h"
#include "cli/vmount-state.h"

#define PROG "vmount"

static struct cli cli;
static bool verbose;

/* ------------------------------------------------------------------ places */

/* One run on one guest: its configuration, its state, what it mounted. */
struct run {
	struct vm_conf *conf;
	char *confdir;          /* the configuration directory's real path */
	char *guest;            /* the guest directory's real path */
	const char *gname;      /* its last component */
	char gstate_name[32];
	struct gstate g;
	char **keys;            /* per entry: the shared key, or NULL */
	char (*snames)[32];     /* per entry: its state file name */
	struct sstate *ss;      /* per entry: its state (shared entries) */
	struct vm_mntid *made;  /* per entry: the mount, once there */
	bool *have;
};

/* "HEAD 'PATH'" on stdout: PATH quoted as in every message. */
static void out_line(const char *head, const char *path)
{
	struct dbuf b = DBUF_INIT;

	dbuf_adds(&b, head);
	va_quote(&b, path, strlen(path));
	dbuf_addc(&b, '\n');
	if (b.buf)
		cli_write(&cli, b.buf, b.len);
	dbuf_release(&b);
}

/* The path of a place for messages: the guest's or the host's. */
static void place_text(struct dbuf *b, const struct run *r, const struct vm_entry *e)
{
	if (e->shared)
		dbuf_adds(b, e->where);
	else
		dbuf_addf(b, "%s%s%s", r->guest, *e->where ? "/" : "", e->where);
}

/* Open the guest directory as it is now (the top mount on it). */
static int open_guest(const char *guest)
{
	return va_safeopen_at(AT_FDCWD, guest, O_PATH | O_DIRECTORY, 0);
}

/*
 * Open @where, a destination: on the host (the administrator's path, the
 * last component not followed) or below the guest (no symlink, no "..",
 * never out of it).  @flags: O_PATH or O_RDONLY, ...
 */
static int open_where(const struct run *r, bool shared, const char *where, int flags)
{
	int g, fd;

	if (shared)
		return va_safeopen_at(AT_FDCWD, where, flags, 0);
	g = open_guest(r->guest);
	if (g < 0)
		return g;
	fd = va_safeopen_beneath(g, where, flags, 0);
	close(g);
	return fd;
}

/* Open the mount of entry @k (it must be the mount vmount made), then @sub inside it. */
static int open_in_entry(struct run *r, size_t k, const char *sub, int flags)
{
	const struct vm_entry *e = &r->conf->entries[k];
	struct vm_mntid now;
	int fd = open_where(r, e->shared, e->where, O_PATH | O_DIRECTORY), in;

	if (fd < 0)
		return fd;
	if (!r->have[k] || vmk_mntid(fd, &now) < 0 || !vmk_same(&now, &r->made[k])) {
		close(fd);
		return -ESTALE;
	}
	if (!*sub && (flags & O_PATH))
		return fd;
	in = va_safeopen_beneath(fd, sub, flags, 0);
	close(fd);
	return in;
}

/* Open the source of entry @k with @flags. */
static int open_source(struct run *r, size_t k, int flags)
{
	const struct vm_entry *e = &r->conf->entries[k];

	if (e->src.kind == VM_REF_HOST)
		return open(e->src.sub, flags | O_CLOEXEC | O_NOCTTY);
	return open_in_entry(r, e->src.entry, e->src.sub, flags);
}

/* ------------------------------------------------------------------ mounting */

static void say_fail(struct run *r, const struct vm_entry *e, const char *what, int err)
{
	struct dbuf p = DBUF_INIT, w = DBUF_INIT;

	place_text(&p, r, e);
	dbuf_addf(&w, "%s %s: %s", vm_type_name(e->type), e->id, what);
	cli_msg(&cli, dbuf_str(&p), dbuf_str(&w), err ? strerror(err) : NULL);
	dbuf_release(&p);
	dbuf_release(&w);
}

/* Make the detached mount of entry @k; return its fd or -errno (@what set). */
static int make_tree(struct run *r, size_t k, const char **what)
{
	const struct vm_entry *e = &r->conf->entries[k];
	int src = -1, a = -1, b = -1, t;

	switch (e->type) {
	case VM_BIND:
		src = open_source(r, k, O_PATH);
		if (src < 0) {
			*what = "cannot open the source";
			return src;
		}
		t = vmk_bind(src, e->attrs, what);
		close(src);
		return t;
	case VM_TMPFS:
		a = open_where(r, e->shared, e->where, O_RDONLY | O_DIRECTORY);
		if (a < 0) {
			*what = "cannot open the destination";
			return a;
		}
		t = vmk_tmpfs(e->size, e->attrs, a, e->copy_dest ? a : -1, what);
		close(a);
		return t;
	case VM_SHARE:
		/* the directory is named after the guest: two guests of one name would share it */
		for (size_t i = 0; i < r->ss[e->src.entry].nusers; i++) {
			const char *u = r->ss[e->src.entry].users[i], *base = strrchr(u, '/');

			if (strcmp(u, r->guest) != 0 && strcmp(base ? base + 1 : u, r->gname) == 0) {
				*what = "another guest of the same name uses the shared entry";
				return -EEXIST;
			}
		}
		src = open_source(r, k, O_PATH | O_DIRECTORY);
		if (src < 0) {
			*what = "cannot open the shared directory";
			return src;
		}
		/* SOURCE/GUEST/NAME, made when missing, never through a symlink */
		if (mkdirat(src, r->gname, 0755) < 0 && errno != EEXIST) {
			t = -errno;
			*what = "cannot create the guest's directory in the shared mount";
			goto share_out;
		}
		a = va_safeopen_at(src, r->gname, O_PATH | O_DIRECTORY, 0);
		if (a < 0) {
			t = a;
			*what = "cannot open the guest's directory in the shared mount";
			goto share_out;
		}
		if (mkdirat(a, e->name, 0755) < 0 && errno != EEXIST) {
			t = -errno;
			*what = "cannot create the entry's directory in the shared mount";
			goto share_out;
		}
		b = va_safeopen_at(a, e->name, O_PATH | O_DIRECTORY, 0);
		if (b < 0) {
			t = b;
			*what = "cannot open the entry's directory in the shared mount";
			goto share_out;
		}
		t = vmk_bind(b, e->attrs, what);
share_out:
		if (b >= 0)
			close(b);
		if (a >= 0)
			close(a);
		close(src);
		return t;
	case VM_AUTO:
	case VM_IMAGE:
		src = open_source(r, k, ((e->attrs & VM_ATTR_RDONLY) ? O_RDONLY : O_RDWR) |
				  ((e->src.kind == VM_REF_HOST) ? 0 : O_NOFOLLOW));
		if (src < 0) {
			*what = "cannot open the source";
			return src;
		}
		t = vmk_block(src, e->fstype, e->attrs, e->src_text, what);
		close(src);
		return t;
	}
	*what = "unknown type";
	return -EINVAL;
}

/*
 * Mount entry @k on its place; @rec is its record, written "pending" by
 * @save before the mount and "done" after.
 */
static int mount_entry(struct run *r, size_t k, struct mrec *rec, int (*save)(struct run *, size_t),
		       const char **what)
{
	const struct vm_entry *e = &r->conf->entries[k];
	int dest, tree, ret;

	dest = open_where(r, e->shared, e->where, O_PATH);
	if (dest < 0) {
		*what = "cannot open the destination";
		return dest;
	}
	if ((ret = vmk_mntid(dest, &rec->under)) < 0) {
		*what = "cannot read the destination's mount";
		close(dest);
		return ret;
	}
	rec->done = false;
	if ((ret = save(r, k)) < 0) {
		*what = "cannot write the state";
		close(dest);
		return ret;
	}
	tree = make_tree(r, k, what);
	if (tree < 0) {
		close(dest);
		return tree;
	}
	ret = vmk_attach(tree, dest, what);
	if (ret == 0)
		vms_crash_point();
	if (ret == 0 && (ret = vmk_mntid(tree, &rec->mnt)) < 0)
		*what = "cannot read the new mount's id";
	close(tree);
	close(dest);
	if (ret < 0)
		return ret;
	rec->done = true;
	r->made[k] = rec->mnt;
	r->have[k] = true;
	if ((ret = save(r, k)) < 0)
		*what = "cannot write the state";
	return ret;
}

static int save_guest(struct run *r, size_t k)
{
	(void)k;
	return vms_save_gstate(r->gstate_name, &r->g);
}

static int save_shared(struct run *r, size_t k)
{
	return vms_save_sstate(r->snames[k], &r->ss[k]);
}

static int init_mrec(struct mrec *m, const struct vm_entry *e)
{
	memset(m, 0, sizeof(*m));
	m->id = strdup(e->id);
	m->type = strdup(vm_type_name(e->type));
	m->where = strdup(e->where);
	return m->id && m->type && m->where ? 0 : -ENOMEM;
}

/* Whether the mount recorded in @m is at its place now (@shared: on the host). */
static bool still_there(struct run *r, bool shared, const struct mrec *m)
{
	struct vm_mntid now;
	int fd = open_where(r, shared, m->where, O_PATH);
	bool same;

	if (fd < 0)
		return false;
	same = vmk_mntid(fd, &now) == 0 && vmk_same(&now, &m->mnt);
	close(fd);
	return m->done && same;
}

static bool has_str(char **arr, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(arr[i], s) == 0)
			return true;
	return false;
}

static int unmount_rec(struct run *r, bool shared, const struct mrec *m);

/*
 * The key of another shared entry (of another configuration) whose mount
 * is recorded at host path @where, or NULL (malloc'd).
 */
static char *other_at(const char *key, const char *where)
{
	int dfd = dup(vms_dir_fd());
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	char *found = NULL;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return NULL;
	}
	while (!found && (de = readdir(d))) {
		struct sstate s = { 0 };

		if (strncmp(de->d_name, "s-", 2) != 0 || strlen(de->d_name) != 18)
			continue;
		if (vms_load_sstate(de->d_name, &s) == 0 && s.key && s.has && s.nusers &&
		    strcmp(s.key, key) != 0 && strcmp(s.m.where, where) == 0)
			found = strdup(s.key);
		vms_sstate_release(&s);
	}
	closedir(d);
	return found;
}

/* Use shared entry @k: count the guest in, mounting it when nobody has. */
static int use_shared(struct run *r, size_t k)
{
	const struct vm_entry *e = &r->conf->entries[k];
	struct sstate *s = &r->ss[k];
	const char *what = NULL;
	int ret;

	if (!has_str(r->g.uses, r->g.nu, r->keys[k])) {
		if ((ret = vms_add_str(&r->g.uses, &r->g.nu, &r->g.ucap, r->keys[k])) < 0 ||
		    (ret = vms_save_gstate(r->gstate_name, &r->g)) < 0) {
			say_fail(r, e, "cannot write the state", -ret);
			return ret;
		}
	}
	if (s->has && s->m.done && still_there(r, true, &s->m)) {
		r->made[k] = s->m.mnt;
		r->have[k] = true;
	} else {
		if (s->has && s->nusers) {
			struct dbuf p = DBUF_INIT;

			place_text(&p, r, e);
			cli_msg(&cli, dbuf_str(&p), "the shared mount of its other guests is not there: "
				"run 'vmount -u' for them", NULL);
			dbuf_release(&p);
			return -ESTALE;
		}
		{
			char *other = other_at(r->keys[k], e->where);

			if (other) {
				struct dbuf w = DBUF_INIT;

				dbuf_adds(&w, "the place of shared entry ");
				va_quote(&w, other, strlen(other));
				dbuf_adds(&w, " (another configuration): not mounted twice");
				cli_msg(&cli, e->where, dbuf_str(&w), NULL);
				dbuf_release(&w);
				free(other);
				return -EEXIST;
			}
		}
		/* a mount a killed run left (recorded pending, or moved): not twice */
		if (s->has && unmount_rec(r, true, &s->m) < 0)
			return -EBUSY;
		vms_mrec_release(&s->m);
		if ((ret = init_mrec(&s->m, e)) < 0)
			return ret;
		s->has = true;
		if (!s->key && !(s->key = strdup(r->keys[k])))
			return -ENOMEM;
		ret = mount_entry(r, k, &s->m, save_shared, &what);
		if (ret < 0) {
			say_fail(r, e, what, -ret);
			if (!s->m.done && s->nusers == 0) {
				s->has = false;
				vms_save_sstate(r->snames[k], s);
			}
			return ret;
		}
		if (verbose) {
			struct dbuf h = DBUF_INIT;

			dbuf_addf(&h, "mounted %s (%s, shared) on ", e->id, vm_type_name(e->type));
			out_line(dbuf_str(&h), e->where);
			dbuf_release(&h);
		}
	}
	if (!has_str(s->users, s->nusers, r->guest)) {
		if ((ret = vms_add_str(&s->users, &s->nusers, &s->ucap, r->guest)) < 0 ||
		    (ret = vms_save_sstate(r->snames[k], s)) < 0) {
			say_fail(r, e, "cannot write the state", -ret);
			return ret;
		}
	}
	return 0;
}

static int mount_guest_entry(struct run *r, size_t k)
{
	const struct vm_entry *e = &r->conf->entries[k];
	const char *what = NULL;
	struct mrec *m;
	int ret;

	if (va_array_grow(&r->g.m, &r->g.mcap, r->g.nm, sizeof(*r->g.m)) < 0)
		return -ENOMEM;
	m = &r->g.m[r->g.nm];
	if ((ret = init_mrec(m, e)) < 0)
		return ret;
	r->g.nm++;
	ret = mount_entry(r, k, m, save_guest, &what);
	if (ret < 0) {
		say_fail(r, e, what, -ret);
		if (!m->done) {
			/* nothing was attached: forget the record */
			vms_mrec_release(m);
			r->g.nm--;
			vms_save_gstate(r->gstate_name, &r->g);
		}
		return ret;
	}
	if (verbose) {
		struct dbuf h = DBUF_INIT, w = DBUF_INIT;

		dbuf_addf(&h, "mounted %s (%s) on ", e->id, vm_type_name(e->type));
		place_text(&w, r, e);
		out_line(dbuf_str(&h), dbuf_str(&w));
		dbuf_release(&h);
		dbuf_release(&w);
	}
	return 0;
}

/* ------------------------------------------------------------------ unmounting */

/*
 * The mount of done record @m moved away from its place (a guest renamed
 * the directory it sits on): find it where the mount table says it is,
 * open that place the same safe way (below the guest, no symlink) and
 * keep the fd only if it is that very mount.  Return: the fd, or -errno.
 */
static int find_moved(struct run *r, bool shared, const struct mrec *m)
{
	struct vm_mntid now;
	size_t glen = strlen(r->guest);
	char *at = NULL;
	int fd;

	if ((fd = vmk_mountpoint(m->mnt.id, &at)) < 0)
		return fd;
	if (shared)
		fd = va_safeopen_at(AT_FDCWD, at, O_PATH, 0);
	else if (strncmp(at, r->guest, glen) == 0 && (at[glen] == '/' || !at[glen]))
		fd = open_where(r, false, at + glen + (at[glen] == '/'), O_PATH);
	else
		fd = -EXDEV;
	free(at);
	if (fd >= 0 && (vmk_mntid(fd, &now) < 0 || !vmk_same(&now, &m->mnt))) {
		close(fd);
		fd = -ESTALE;
	}
	return fd;
}

/*
 * Unmount the mount of record @m, if it is still at its place (a pending
 * record: whatever now covers the mount it noted).  Return: 0 (unmounted
 * or already gone), or -errno after a message.
 */
static int unmount_rec(struct run *r, bool shared, const struct mrec *m)
{
	struct vm_mntid now;
	const char *what = NULL;
	struct dbuf p = DBUF_INIT;
	bool here;
	int fd, ret = 0;

	if (shared)
		dbuf_adds(&p, m->where);
	else
		dbuf_addf(&p, "%s%s%s", r->guest, *m->where ? "/" : "", m->where);
	fd = open_where(r, shared, m->where, O_PATH);
	here = fd >= 0 && vmk_mntid(fd, &now) == 0;
	if (!m->done) {
		/* pending: whatever covers the mount it noted is the one it made */
		if (!here || vmk_same(&now, &m->under))
			goto out;
	} else if (!here || !vmk_same(&now, &m->mnt)) {
		if (fd >= 0)
			close(fd);
		fd = -1;
		if (!vmk_mounted(m->mnt.id))
			goto out;       /* gone already */
		fd = find_moved(r, shared, m);
		if (fd < 0) {
			cli_msg(&cli, dbuf_str(&p), "cannot reach the mount vmount made there "
				"(covered by another mount, or moved out of reach): left alone", NULL);
			ret = -EBUSY;
			goto out;
		}
	}
	ret = vmk_umount(fd, &what);
	if (ret < 0) {
		struct dbuf w = DBUF_INIT;

		dbuf_addf(&w, "%s %s: %s", m->type, m->id, what);
		cli_msg(&cli, dbuf_str(&p), dbuf_str(&w), strerror(-ret));
		dbuf_release(&w);
	} else if (verbose) {
		struct dbuf h = DBUF_INIT;

		dbuf_addf(&h, "unmounted %s (%s%s) from ", m->id, m->type, shared ? ", shared" : "");
		out_line(dbuf_str(&h), dbuf_str(&p));
		dbuf_release(&h);
	}
out:
	if (fd >= 0)
		close(fd);
	dbuf_release(&p);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Undo what the guest state records: its mounts in reverse order, then
 * its uses of shared entries, last first (each unmounted when it was the
 * last user).  The caller holds the guest lock, and the locks of the
 * shared entries when @locked.  Return: 0 or -1.
 */
static int unmount_guest(struct run *r, bool dry, bool locked)
{
	struct gstate *g = &r->g;
	char **sorted = NULL;
	int *locks = NULL, status = 0;
	size_t nl = 0;

	while (g->nm > 0) {
		struct mrec *m = &g->m[g->nm - 1];

		if (dry) {
			struct dbuf h = DBUF_INIT, w = DBUF_INIT;

			dbuf_addf(&h, "unmount %s %s ", m->id, m->type);
			dbuf_addf(&w, "%s%s%s", r->guest, *m->where ? "/" : "", m->where);
			out_line(dbuf_str(&h), dbuf_str(&w));
			dbuf_release(&h);
			dbuf_release(&w);
		} else if (unmount_rec(r, false, m) < 0) {
			return -1;
		}
		vms_mrec_release(m);
		g->nm--;
		if (!dry && vms_save_gstate(r->gstate_name, g) < 0) {
			cli_msg(&cli, r->gstate_name, "cannot write the state", strerror(errno));
			return -1;
		}
	}
	if (g->nu == 0)
		return dry ? 0 : vms_save_gstate(r->gstate_name, g);
	nl = g->nu;
	sorted = calloc(nl, sizeof(*sorted));
	locks = calloc(nl, sizeof(*locks));
	if (!sorted || !locks) {
		status = -1;
		goto out;
	}
	for (size_t i = 0; i < nl; i++)
		locks[i] = -1;
	for (size_t i = 0; i < nl; i++) {
		sorted[i] = calloc(1, 32);
		if (!sorted[i]) {
			status = -1;
			goto out;
		}
		vms_name(sorted[i], 's', g->uses[i]);
	}
	qsort(sorted, g->nu, sizeof(*sorted), cmp_str);
	for (size_t i = 0; i < nl && !dry && !locked; i++)
		if (i == 0 || strcmp(sorted[i], sorted[i - 1]) != 0)
			if ((locks[i] = vms_lock(&cli, sorted[i])) < 0) {
				status = -1;
				goto out;
			}
	while (g->nu > 0) {
		const char *key = g->uses[g->nu - 1];
		struct sstate s = { 0 };
		char name[32];
		size_t j = 0;

		vms_name(name, 's', key);
		if (vms_load_sstate(name, &s) < 0) {
			cli_msg(&cli, name, "cannot read the state", NULL);
			status = -1;
			break;
		}
		while (j < s.nusers && strcmp(s.users[j], r->guest) != 0)
			j++;
		if (j < s.nusers) {
			free(s.users[j]);
			memmove(&s.users[j], &s.users[j + 1], (s.nusers - j - 1) * sizeof(*s.users));
			s.nusers--;
		}
		if (dry) {
			if (s.has) {
				struct dbuf h = DBUF_INIT;

				dbuf_addf(&h, "%s %s %s ", s.nusers ? "release" : "unmount", s.m.id, s.m.type);
				out_line(dbuf_str(&h), s.m.where);
				dbuf_release(&h);
			}
		} else if (s.nusers == 0 && s.has) {
			if (unmount_rec(r, true, &s.m) < 0) {
				vms_sstate_release(&s);
				status = -1;
				break;
			}
			s.has = false;
		}
		if (!dry && vms_save_sstate(name, &s) < 0) {
			cli_msg(&cli, name, "cannot write the state", strerror(errno));
			vms_sstate_release(&s);
			status = -1;
			break;
		}
		vms_sstate_release(&s);
		free(g->uses[--g->nu]);
		if (!dry && vms_save_gstate(r->gstate_name, g) < 0) {
			status = -1;
			break;
		}
	}
out:
	for (size_t i = 0; sorted && i < nl; i++) {
		if (locks && locks[i] >= 0)
			close(locks[i]);
		free(sorted[i]);
	}
	free(sorted);
	free(locks);
	return status;
}

/* ------------------------------------------------------------------ runs */

static void run_release(struct run *r)
{
	size_t n = r->conf ? r->conf->nentries : 0;

	for (size_t k = 0; k < n; k++) {
		if (r->keys)
			free(r->keys[k]);
		if (r->ss)
			vms_sstate_release(&r->ss[k]);
	}
	free(r->keys);
	free(r->snames);
	free(r->ss);
	free(r->made);
	free(r->have);
	vms_gstate_release(&r->g);
	vm_conf_free(r->conf);
	free(r->confdir);
	free(r->guest);
}

/* The real path of the guest directory GUESTDIR, which must be a directory. */
static int find_guest(struct run *r, const char *arg)
{
	int fd = open_guest(arg);
	const char *slash;

	if (fd < 0) {
		cli_msg(&cli, arg, "cannot open the guest directory", strerror(-fd));
		return -1;
	}
	close(fd);
	r->guest = realpath(arg, NULL);
	if (!r->guest) {
		cli_msg(&cli, arg, "cannot resolve the guest directory", strerror(errno));
		return -1;
	}
	slash = strrchr(r->guest, '/');
	r->gname = slash ? slash + 1 : r->guest;
	if (!*r->gname || strcmp(r->gname, ".") == 0 || strcmp(r->gname, "..") == 0) {
		cli_msg(&cli, r->guest, "cannot be a guest directory", NULL);
		return -1;
	}
	vms_name(r->gstate_name, 'g', r->guest);
	return 0;
}

/* Load the configuration and name the state of its shared entries. */
static int load_config(struct run *r, const char *config)
{
	struct va_error err = VA_ERROR_INIT;
	char *dir, *slash;
	size_t n;
	int ret = vm_conf_load_path(&r->conf, config, &err);

	if (ret < 0) {
		cli_error(&cli, &err);
		va_error_release(&err);
		return -1;
	}
	va_error_release(&err);
	dir = strdup(config);
	if (!dir)
		return -1;
	slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir ? 1 : 0] = '\0';
	r->confdir = realpath(slash ? dir : ".", NULL);
	free(dir);
	if (!r->confdir) {
		cli_msg(&cli, config, "cannot resolve the configuration directory", strerror(errno));
		return -1;
	}
	n = r->conf->nentries;
	r->keys = calloc(n + 1, sizeof(*r->keys));
	r->snames = calloc(n + 1, sizeof(*r->snames));
	r->ss = calloc(n + 1, sizeof(*r->ss));
	r->made = calloc(n + 1, sizeof(*r->made));
	r->have = calloc(n + 1, sizeof(*r->have));
	if (!r->keys || !r->snames || !r->ss || !r->made || !r->have)
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (!r->conf->entries[k].shared)
			continue;
		if (asprintf(&r->keys[k], "%s/%s", r->confdir, r->conf->entries[k].id) < 0) {
			r->keys[k] = NULL;
			return -1;
		}
		vms_name(r->snames[k], 's', r->keys[k]);
	}
	return 0;
}

static void print_plan_line(const struct run *r, const char *action, const struct vm_entry *e)
{
	struct dbuf b = DBUF_INIT, w = DBUF_INIT;

	place_text(&w, r, e);
	dbuf_addf(&b, "%s %s %s ", action, e->id, vm_type_name(e->type));
	va_quote(&b, e->src_text, strlen(e->src_text));
	dbuf_adds(&b, " on ");
	va_quote(&b, w.buf ? w.buf : "", w.len);
	if (e->attrs) {
		dbuf_adds(&b, " options ");
		vm_attr_text(&b, e->attrs);
	}
	if (e->size)
		dbuf_addf(&b, " size %s", e->size);
	if (e->copy_dest)
		dbuf_adds(&b, " copy");
	if (e->shared)
		dbuf_adds(&b, " shared");
	dbuf_addc(&b, '\n');
	cli_write(&cli, b.buf, b.len);
	dbuf_release(&b);
	dbuf_release(&w);
}

/* Before anything is mounted: the sources and places that must exist now do. */
static int precheck(struct run *r)
{
	for (size_t i = 0; i < r->conf->norder; i++) {
		size_t k = r->conf->order[i];
		const struct vm_entry *e = &r->conf->entries[k];
		struct stat st;

		if (e->src.kind == VM_REF_HOST && stat(e->src.sub, &st) < 0) {
			struct dbuf w = DBUF_INIT;

			dbuf_addf(&w, "the source of %s", e->id);
			cli_msg(&cli, e->src.sub, dbuf_str(&w), strerror(errno));
			dbuf_release(&w);
			return -1;
		}
		if ((e->type == VM_AUTO || e->type == VM_IMAGE) && e->src.kind == VM_REF_HOST &&
		    !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
			struct dbuf w = DBUF_INIT;

			dbuf_addf(&w, "the source of %s is neither a block device nor an image file", e->id);
			cli_msg(&cli, e->src.sub, dbuf_str(&w), NULL);
			dbuf_release(&w);
			return -1;
		}
		if (e->dst.kind == VM_REF_HOST || e->dst.kind == VM_REF_GUEST) {
			bool mounted = e->shared && r->ss[k].has && r->ss[k].nusers;
			int fd = mounted ? 0 : open_where(r, e->shared, e->where, O_PATH);

			if (fd < 0) {
				struct dbuf p = DBUF_INIT, w = DBUF_INIT;

				place_text(&p, r, e);
				dbuf_addf(&w, "the destination of %s", e->id);
				cli_msg(&cli, dbuf_str(&p), dbuf_str(&w), strerror(-fd));
				dbuf_release(&p);
				dbuf_release(&w);
				return -1;
			}
			if (!mounted)
				close(fd);
		}
	}
	return 0;
}

static int do_mount(const char *config, const char *guestdir, bool dry)
{
	struct run r = { 0 };
	char **names = NULL;
	int *locks = NULL, glock = -1, status = CLI_EXIT_TROUBLE;
	size_t nnames = 0, ncap = 0;

	if (load_config(&r, config) < 0 || find_guest(&r, guestdir) < 0)
		goto out;
	if (dry) {
		bool any = false;

		for (size_t i = 0; i < r.conf->norder; i++) {
			size_t k = r.conf->order[i];
			const struct vm_entry *e = &r.conf->entries[k];
			struct sstate s = { 0 };

			if (e->shared && vms_dir_fd() >= 0)
				vms_load_sstate(r.snames[k], &s);
			print_plan_line(&r, e->shared && s.has && s.nusers ? "use" : "mount", e);
			any = true;
			vms_sstate_release(&s);
		}
		status = any ? CLI_EXIT_FINDINGS : CLI_EXIT_OK;
		goto out;
	}
	if ((glock = vms_lock(&cli, r.gstate_name)) < 0)
		goto out;
	if (vms_load_gstate(r.gstate_name, &r.g) < 0) {
		cli_msg(&cli, r.gstate_name, "cannot read the state", NULL);
		goto out;
	}
	if (r.g.nm || r.g.nu) {
		cli_msg(&cli, r.guest, "vmount has mounted things here already: run 'vmount -u' first", NULL);
		goto out;
	}
	free(r.g.guest);
	free(r.g.config);
	r.g.guest = strdup(r.guest);
	r.g.config = realpath(config, NULL);
	if (!r.g.guest || !r.g.config)
		goto out;
	for (size_t k = 0; k < r.conf->nentries; k++)
		if (r.keys[k] && vms_add_str(&names, &nnames, &ncap, r.snames[k]) < 0)
			goto out;
	if (nnames)
		qsort(names, nnames, sizeof(*names), cmp_str);
	locks = calloc(nnames + 1, sizeof(*locks));
	if (!locks)
		goto out;
	for (size_t i = 0; i < nnames; i++) {
		locks[i] = -1;
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		if ((locks[i] = vms_lock(&cli, names[i])) < 0)
			goto out;
	}
	for (size_t k = 0; k < r.conf->nentries; k++)
		if (r.keys[k] && vms_load_sstate(r.snames[k], &r.ss[k]) < 0) {
			cli_msg(&cli, r.snames[k], "cannot read the state", NULL);
			goto out;
		}
	if (precheck(&r) < 0)
		goto out;
	for (size_t i = 0; i < r.conf->norder; i++) {
		size_t k = r.conf->order[i];
		int ret = r.conf->entries[k].shared ? use_shared(&r, k) : mount_guest_entry(&r, k);

		if (ret < 0) {
			/* give back what this run did: nothing stays mounted */
			unmount_guest(&r, false, true);
			goto out;
		}
	}
	status = CLI_EXIT_OK;
out:
	for (size_t i = 0; i < nnames; i++) {
		if (locks && locks[i] >= 0)
			close(locks[i]);
		free(names[i]);
	}
	free(names);
	free(locks);
	if (glock >= 0)
		close(glock);
	run_release(&r);
	return status;
}

static int do_unmount(const char *config, const char *guestdir, bool dry)
{
	struct run r = { 0 };
	int glock = -1, status = CLI_EXIT_TROUBLE;
	char *conf = NULL;

	if (find_guest(&r, guestdir) < 0)
		goto out;
	if (!dry && (glock = vms_lock(&cli, r.gstate_name)) < 0)
		goto out;
	if (vms_dir_fd() >= 0 && vms_load_gstate(r.gstate_name, &r.g) < 0) {
		cli_msg(&cli, r.gstate_name, "cannot read the state", NULL);
		goto out;
	}
	if (r.g.nm == 0 && r.g.nu == 0) {
		if (!dry)
			vms_remove(r.gstate_name);
		cli_notice(&cli, "'%s': nothing is mounted here by vmount", r.guest);
		status = CLI_EXIT_OK;
		goto out;
	}
	conf = realpath(config, NULL);
	/* a configuration that is gone since does not stop the unmount */
	if (r.g.config && *r.g.config && conf && strcmp(conf, r.g.config) != 0) {
		struct dbuf w = DBUF_INIT;

		dbuf_adds(&w, "mounted with another configuration, ");
		va_quote(&w, r.g.config, strlen(r.g.config));
		cli_msg(&cli, r.guest, dbuf_str(&w), NULL);
		dbuf_release(&w);
		goto out;
	}
	status = unmount_guest(&r, dry, false) < 0 ? CLI_EXIT_TROUBLE : dry ? CLI_EXIT_FINDINGS : CLI_EXIT_OK;
out:
	free(conf);
	if (glock >= 0)
		close(glock);
	run_release(&r);
	return status;
}

static int cmp_dirent(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --status: every guest's mounts and uses, every shared entry and its users. */
static int do_status(void)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dbuf b = DBUF_INIT;
	struct dirent *de;
	int dfd = dup(vms_dir_fd());
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;

	if (vms_dir_fd() < 0)
		return CLI_EXIT_OK;     /* no state: nothing mounted */
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		cli_msg(&cli, "state", "cannot list the state directory", strerror(errno));
		return CLI_EXIT_TROUBLE;
	}
	while ((de = readdir(d)))
		if ((de->d_name[0] == 'g' || de->d_name[0] == 's') && de->d_name[1] == '-' &&
		    strlen(de->d_name) == 18 && vms_add_str(&names, &n, &cap, de->d_name) < 0)
			break;
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_dirent);
	for (size_t i = 0; i < n; i++) {
		if (names[i][0] == 'g') {
			struct gstate g = { 0 };

			if (vms_load_gstate(names[i], &g) < 0 || !g.guest)
				goto next;
			dbuf_adds(&b, "guest ");
			va_quote(&b, g.guest, strlen(g.guest));
			dbuf_addc(&b, '\n');
			for (size_t j = 0; j < g.nm; j++) {
				struct dbuf w = DBUF_INIT;

				dbuf_addf(&b, "  mount %s %s ", g.m[j].id, g.m[j].type);
				dbuf_addf(&w, "%s%s%s", g.guest, *g.m[j].where ? "/" : "", g.m[j].where);
				va_quote(&b, dbuf_str(&w), w.len);
				dbuf_release(&w);
				dbuf_adds(&b, g.m[j].done ? "\n" : " pending\n");
			}
			for (size_t j = 0; j < g.nu; j++) {
				dbuf_adds(&b, "  use ");
				va_quote(&b, g.uses[j], strlen(g.uses[j]));
				dbuf_addc(&b, '\n');
			}
			vms_gstate_release(&g);
		} else {
			struct sstate s = { 0 };

			if (vms_load_sstate(names[i], &s) < 0 || !s.key)
				goto next;
			dbuf_adds(&b, "shared ");
			va_quote(&b, s.key, strlen(s.key));
			if (s.has) {
				dbuf_addf(&b, " %s ", s.m.type);
				va_quote(&b, s.m.where, strlen(s.m.where));
				dbuf_adds(&b, s.m.done ? "" : " pending");
			}
			dbuf_addf(&b, " users %zu\n", s.nusers);
			for (size_t j = 0; j < s.nusers; j++) {
				dbuf_adds(&b, "  user ");
				va_quote(&b, s.users[j], strlen(s.users[j]));
				dbuf_addc(&b, '\n');
			}
			vms_sstate_release(&s);
		}
next:
		free(names[i]);
	}
	free(names);
	if (b.len)
		cli_write(&cli, b.buf, b.len);
	dbuf_release(&b);
	return CLI_EXIT_OK;
}

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: %s [-nv] CONFIG GUESTDIR\n"
"       %s -u [-nv] CONFIG GUESTDIR\n"
"       %s --status\n"
"Mount what the configuration file CONFIG describes into the guest\n"
"directory GUESTDIR, dependencies first; entries whose destination is on\n"
"the host are mounted once and shared by every guest that needs them.\n"
"Each line of CONFIG is an entry:\n"
"\n"
"    NAME TYPE SOURCE DEST [KEY::VALUE]...\n"
"\n"
"TYPE: bind, tmpfs, share (the directory SOURCE/GUEST/NAME, created when\n"
"missing), auto (a block device or filesystem image), image (a read-only\n"
"squashfs, erofs or ext2/3/4 image through a loop device).  SOURCE and DEST:\n"
"an absolute host path, DEST[/PATH] (the guest directory), ENTRY[/PATH] or\n"
"FILE:ENTRY[/PATH] (another entry's mount; FILE is a file next to CONFIG),\n"
"none.  Options: options::ro,nosuid,nodev,noexec,noatime  size::N (tmpfs)\n"
"copy::dest (tmpfs: start with the destination's content)  fs::TYPE.\n"
"\n"
"  -u, --unmount     unmount what vmount mounted for GUESTDIR, last first;\n"
"                    a shared entry stays while another guest uses it\n"
"  -n, --dry-run     print the plan (mount, use, unmount, release lines),\n"
"                    change nothing; exit 1 when it would change something\n"
"  -v, --verbose     say what is mounted and unmounted\n"
"      --status      list what vmount has mounted, for which guests\n"
"  -h, --help        this help\n"
"      --version     the version\n"
"\n"
"State and locks: $VMOUNT_STATE_DIR (default %s).  Exit status: 0 done,\n"
"1 a dry run would change something, 2 an error (a configuration error:\n"
"one line 'FILE:LINE': what is wrong, nothing mounted), 64 a usage error.\n"
"See vmount(8).\n",
		PROG, PROG, PROG, VMS_DEFAULT_DIR);
}

int main(int argc, char **argv)
{
	enum { OPT_STATUS = 256, OPT_VERSION };
	static const struct option longopts[] = {
		{ "unmount", no_argument, NULL, 'u' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "status", no_argument, NULL, OPT_STATUS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	bool unmount = false, dry = false, status = false;
	int opt, ret;

	cli_init(&cli, PROG);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":unvh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'u':
			unmount = true;
			break;
		case 'n':
			dry = true;
			break;
		case 'v':
			verbose = true;
			break;
		case OPT_STATUS:
			status = true;
			break;
		case 'h':
			usage(stdout);
			return cli_finish_output(&cli) ? CLI_EXIT_TROUBLE : CLI_EXIT_OK;
		case OPT_VERSION:
			return cli_version(&cli);
		default:
			return cli_getopt_error(&cli, opt, argv);
		}
	}
	if (status) {
		if (unmount || dry)
			return cli_bad_usage(&cli, "--status does not combine with", unmount ? "-u" : "-n");
		if (optind < argc)
			return cli_bad_usage(&cli, "--status takes no argument, not", argv[optind]);
	} else if (argc - optind != 2) {
		return cli_bad_usage(&cli, argc - optind < 2 ? "needs CONFIG and GUESTDIR" :
				     "one argument too many:", argc - optind < 2 ? NULL : argv[optind + 2]);
	}
	if (vms_open_dir(&cli, dry || status) < 0 && !dry && !status)
		return CLI_EXIT_TROUBLE;
	if (status)
		ret = do_status();
	else if (unmount)
		ret = do_unmount(argv[optind], argv[optind + 1], dry);
	else
		ret = do_mount(argv[optind], argv[optind + 1], dry);
	if (cli_finish_output(&cli) && ret == CLI_EXIT_OK)
		ret = CLI_EXIT_TROUBLE;
	return ret;
}
