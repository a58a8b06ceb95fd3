/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clone-make.c - making a clone's entries, a batch at a time: the 'C'
 * records of the batch on disk, then the entries (file data on disk
 * before a copy gets its name), the directory on disk, then the 'M'
 * records that give what was made (see clone.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "core/fileops.h"
#include "core/flags.h"
#include "core/safeopen.h"
#include "migrate/clone/clone-int.h"

/** Flags under which a kernel without iunlink refuses a new name. */
#define C_BLOCKING ((uint32_t)(VA_FL_IMMUTABLE | VA_FL_APPEND))

static struct timespec now_coarse(void)
{
	struct timespec ts = { 0, 0 };

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ts;
}

/* The 'C' record of an entry about to be made at @path. */
static int intent(struct crun *c, char kind, uint64_t ino, const char *path, size_t len, uint64_t *seq)
{
	struct timespec ts = ino ? (struct timespec){ 0, 0 } : now_coarse();
	struct va_journal_rec rec = {
		.type = 'C', .dev = c->dst_dev, .ino = ino, .ctime_sec = ts.tv_sec,
		.ctime_nsec = (uint32_t)ts.tv_nsec, .path = (char *)path, .path_len = len,
	};
	int r;

	rec.kind[0] = kind;
	r = va_journal_add(c->o->j, &rec);
	*seq = rec.seq;
	return r;
}

/* The 'M' record: entry @seq was made and is @st. */
static int made(struct crun *c, uint64_t seq, const struct stat *st)
{
	struct va_journal_rec m = {
		.type = 'M', .seq = seq, .dev = st->st_dev, .ino = st->st_ino,
		.ctime_sec = st->st_ctim.tv_sec, .ctime_nsec = (uint32_t)st->st_ctim.tv_nsec,
	};

	return va_journal_add(c->o->j, &m);
}

/*
 * Entry @seq was not made because its name was taken (@r -EEXIST): its
 * record is marked undone, so that no undo takes what is there for it.
 */
static void not_made(struct crun *c, uint64_t seq, int r)
{
	struct va_journal_rec u = { .type = 'U', .seq = seq };

	if (r == -EEXIST)
		(void)va_journal_add(c->o->j, &u);     /* a failure sticks in j->err */
}

int c_mkdir(struct crun *c, int parent_fd, const char *name, const char *src, size_t src_len,
	    int *ret_fd)
{
	const char *path = c_dst_path(c, name);
	uint64_t seq = 0;
	struct stat st;
	int fd, r;

	*ret_fd = -1;
	if (!path)
		return c->fatal = -ENOMEM;
	if (c->o->dry_run) {
		c_event(c, VA_CLONE_MKDIR, path, c->scratch.len, src, src_len, 0, 0, NULL);
		return 0;
	}
	r = intent(c, 'd', 0, path, c->scratch.len, &seq);
	if (r == 0)
		r = va_journal_sync(c->o->j);
	if (r < 0) {
		c_event(c, VA_CLONE_ERROR, path, c->scratch.len, src, src_len, 0, -r, "cannot write the journal");
		return c->fatal = r;
	}
	/* only the clone enters it until its own mode is set, after its contents */
	if (mkdirat(parent_fd, name, 0700) < 0) {
		r = -errno;
		c_event(c, VA_CLONE_ERROR, path, c->scratch.len, src, src_len, 0, -r, "cannot make the directory");
		not_made(c, seq, r);
		return r;
	}
	fd = va_safeopen_at(parent_fd, name, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || fstat(fd, &st) < 0 || fsync(parent_fd) < 0) {
		r = fd < 0 ? fd : -errno;
		if (fd >= 0)
			close(fd);
		c_event(c, VA_CLONE_ERROR, path, c->scratch.len, src, src_len, 0, -r, "cannot open the directory made");
		return r;
	}
	if ((r = made(c, seq, &st)) < 0) {
		close(fd);
		return c->fatal = r;
	}
	c_event(c, VA_CLONE_MKDIR, path, c->scratch.len, src, src_len, 0, 0, NULL);
	*ret_fd = fd;
	return 0;
}

int c_copy_add(struct crun *c, dev_t dev, uint64_t ino, const char *name, uint32_t *ret)
{
	const char *below = c->dpath.len > c->droot_len ? c->dpath.buf + c->droot_len + 1 : "";
	struct ccopy *cp;

	if (c->ncp >= UINT32_MAX || va_array_grow(&c->cp, &c->capcp, c->ncp, sizeof(*c->cp)) < 0)
		return -ENOMEM;
	cp = &c->cp[c->ncp];
	cp->ino = 0;
	if (asprintf(&cp->rel, "%s%s%s", below, *below ? "/" : "", name) < 0)
		return -ENOMEM;
	if (va_inomap_insert(&c->copies, dev, ino, (uint32_t)c->ncp) < 0) {
		free(cp->rel);
		return -ENOMEM;
	}
	*ret = (uint32_t)c->ncp++;
	return 0;
}

static void item_release(struct citem *it)
{
	if (it->src_fd >= 0)
		close(it->src_fd);
	free(it->name);
	free(it->src);
	free(it->target);
}

int c_queue(struct crun *c, struct citem *it, const char *name, const char *src, size_t src_len)
{
	/* another name of a copy still to be made: its record names the copy's inode */
	if (it->kind == 'H' && !c->o->dry_run && !c->cp[it->copy].ino && c_flush(c) < 0) {
		item_release(it);
		return c->fatal;
	}
	if (va_array_grow(&c->items, &c->capitems, c->nitems, sizeof(*c->items)) < 0 ||
	    !(it->name = strdup(name)) || !(it->src = strndup(src, src_len))) {
		item_release(it);
		return -ENOMEM;
	}
	it->src_len = src_len;
	c->items[c->nitems++] = *it;
	return c->nitems >= CLONE_BATCH ? c_flush(c) : 0;
}

/* ------------------------------------------------------------------ making one entry */

static int set_flags(struct crun *c, const struct citem *it, uint32_t flags)
{
	struct va_attr_target t = {
		.fd = it->src_fd, .dir_fd = -1,
		.dev = makedev(it->stx.stx_dev_major, it->stx.stx_dev_minor),
		.ino = it->stx.stx_ino, .mode = it->stx.stx_mode,
	};

	return c->o->be ? va_backend_set(c->o->be, &t, flags, it->stx.stx_mode & 07777) : -EOPNOTSUPP;
}

/* Does the kernel refuse @it's inode a new name unless its flags are lifted? */
static bool must_lift(const struct crun *c, uint32_t flags)
{
	if (!(flags & C_BLOCKING))
		return false;
	return !(c->o->iunlink && (flags & VA_FL_IMMUTABLE) && !(flags & VA_FL_APPEND));
}

static int make_link(struct crun *c, int dfd, struct citem *it, const char **what)
{
	int r, q = 0;

	if (it->iseq && (r = set_flags(c, it, it->flags & ~C_BLOCKING)) < 0) {
		*what = "cannot lift the flags of the unified file for the link";
		return r;
	}
	r = va_link_fd(it->src_fd, dfd, it->name);
	if (it->iseq)
		q = set_flags(c, it, it->flags);
	if (r < 0) {
		*what = "cannot link the unified file";
		return r;
	}
	if (q < 0) {
		*what = "linked, but its flags cannot be put back";
		return q;
	}
	return 0;
}

static int make_copy(struct crun *c, int dfd, struct citem *it, const char **what)
{
	struct statx after;
	int fd = va_copy_tmpfile(it->src_fd, dfd), r = 0;

	if (fd < 0) {
		*what = "cannot copy the file";
		return fd;
	}
	if (fsync(fd) < 0) {
		r = -errno;
		*what = "cannot write the copy to disk";
	} else if (statx(it->src_fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &after) < 0) {
		r = -errno;
		*what = "cannot look at the source again";
	} else if (!va_same_stx(&it->stx, &after)) {
		r = -ESTALE;
		*what = "the source changed while it was copied: not copied";
	} else if ((r = va_link_fd(fd, dfd, it->name)) < 0) {
		*what = "cannot name the copy";
	} else if (fstat(fd, &it->made_st) < 0) {
		r = -errno;
	}
	close(fd);
	if (r == 0 && it->copy != UINT32_MAX)
		c->cp[it->copy].ino = it->made_st.st_ino;
	return r;
}

/* Another name of the copy of the same source inode. */
static int make_hardlink(struct crun *c, int dfd, struct citem *it, const char **what)
{
	const struct ccopy *cp = &c->cp[it->copy];
	const struct va_safeopen_id id = { .dev = c->dst_dev, .ino = cp->ino, .type = S_IFREG };
	int fd, r;

	*what = "cannot link to the copy of its other name";
	if (!cp->ino)
		return -ENOENT;
	fd = va_safeopen_verified(c->dirs[0].dst_fd, cp->rel, O_PATH, VA_SAFEOPEN_BENEATH, &id, NULL);
	if (fd < 0)
		return fd;
	r = va_link_fd(fd, dfd, it->name);
	close(fd);
	return r;
}

/* A symlink, FIFO or device node, with owner, mode and times (names in our own 0700 directory). */
static int make_other(int dfd, const struct citem *it, const char **what)
{
	const struct timespec times[2] = {
		{ it->stx.stx_atime.tv_sec, it->stx.stx_atime.tv_nsec },
		{ it->stx.stx_mtime.tv_sec, it->stx.stx_mtime.tv_nsec },
	};
	mode_t type = it->stx.stx_mode & S_IFMT;

	*what = "cannot make it";
	if (it->kind == 'l' ? symlinkat(it->target, dfd, it->name) < 0 :
	    mknodat(dfd, it->name, type | 0600, makedev(it->stx.stx_rdev_major, it->stx.stx_rdev_minor)) < 0)
		return -errno;
	*what = "cannot set its owner, mode or times";
	if (fchownat(dfd, it->name, it->stx.stx_uid, it->stx.stx_gid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (it->kind != 'l' && fchmodat(dfd, it->name, it->stx.stx_mode & 07777, 0) < 0)
		return -errno;
	if (utimensat(dfd, it->name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static enum va_clone_action action_of(char kind)
{
	switch (kind) {
	case 'f':
		return VA_CLONE_COPY;
	case 'h':
		return VA_CLONE_LINK;
	case 'H':
		return VA_CLONE_HARDLINK;
	case 'l':
		return VA_CLONE_SYMLINK;
	default:
		return VA_CLONE_NODE;
	}
}

static void make_one(struct crun *c, int dfd, struct citem *it)
{
	const char *path = c_dst_path(c, it->name), *what = NULL;
	int r;

	if (!path) {
		c->fatal = -ENOMEM;
		return;
	}
	if (!c->o->dry_run) {
		switch (it->kind) {
		case 'h':
			r = make_link(c, dfd, it, &what);
			break;
		case 'f':
			r = make_copy(c, dfd, it, &what);
			break;
		case 'H':
			r = make_hardlink(c, dfd, it, &what);
			break;
		default:
			r = make_other(dfd, it, &what);
			break;
		}
		if (r == 0 && it->kind != 'f' && fstatat(dfd, it->name, &it->made_st, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		if (r < 0) {
			c_event(c, VA_CLONE_ERROR, path, c->scratch.len, it->src, it->src_len, 0, -r, what);
			not_made(c, it->seq, r);
			if (va_fs_failing(r))
				c->fatal = r;
			return;
		}
		it->made = true;
	}
	c_event(c, action_of(it->kind), path, c->scratch.len, it->src, it->src_len,
		it->kind == 'f' || it->kind == 'h' || it->kind == 'H' ? it->stx.stx_size : 0, 0, NULL);
}

/* ------------------------------------------------------------------ a batch */

/* The records of the batch, on disk.  Return: 0 or -errno. */
static int record_batch(struct crun *c)
{
	int r = 0;

	for (size_t i = 0; i < c->nitems && r == 0; i++) {
		struct citem *it = &c->items[i];
		const char *path = c_dst_path(c, it->name);
		uint64_t ino = 0;

		if (!path)
			return -ENOMEM;
		if (it->kind == 'h' && must_lift(c, it->flags)) {
			struct va_journal_rec rec = {
				.type = 'I', .dev = makedev(it->stx.stx_dev_major, it->stx.stx_dev_minor),
				.ino = it->stx.stx_ino, .old_flags = it->flags,
				.old_mode = it->stx.stx_mode & 07777,
				.new_flags = it->flags & ~C_BLOCKING, .new_mode = it->stx.stx_mode & 07777,
				.path = it->src, .path_len = it->src_len,
			};

			snprintf(rec.kind, sizeof(rec.kind), "%s", VA_CLONE_LIFT_KIND);
			if ((r = va_journal_add(c->o->j, &rec)) < 0)
				break;
			it->iseq = rec.seq;
		}
		if (it->kind == 'h')
			ino = it->stx.stx_ino;
		else if (it->kind == 'H')
			ino = c->cp[it->copy].ino;
		r = intent(c, it->kind == 'H' ? 'h' : it->kind, ino, path, c->scratch.len, &it->seq);
	}
	return r ? r : va_journal_sync(c->o->j);
}

/* The batch's marks, once what it made is on disk. */
static int mark_batch(struct crun *c, int dfd)
{
	int r = 0;

	if (fsync(dfd) < 0)
		return -errno;
	for (size_t i = 0; i < c->nitems && r == 0; i++) {
		struct citem *it = &c->items[i];

		if (it->iseq) {
			struct va_journal_rec d = { .type = 'D', .seq = it->iseq };

			r = va_journal_add(c->o->j, &d);
		}
		if (r == 0 && it->made)
			r = made(c, it->seq, &it->made_st);
	}
	return r ? r : va_journal_flush(c->o->j);
}

int c_flush(struct crun *c)
{
	int dfd = c->ndirs ? c->dirs[c->ndirs - 1].dst_fd : -1, r = 0;

	if (c->nitems && !c->fatal) {
		if (!c->o->dry_run && (r = record_batch(c)) < 0) {
			c->fatal = r;
			c_event(c, VA_CLONE_ERROR, c->dpath.buf, c->dpath.len, NULL, 0, 0, -r,
				"cannot write the journal");
		}
		for (size_t i = 0; i < c->nitems && !c->fatal; i++)
			make_one(c, dfd, &c->items[i]);
		if (!c->o->dry_run && !c->fatal && (r = mark_batch(c, dfd)) < 0)
			c->fatal = r;
	}
	for (size_t i = 0; i < c->nitems; i++)
		item_release(&c->items[i]);
	c->nitems = 0;
	return c->fatal;
}

void c_release(struct crun *c)
{
	for (size_t i = 0; i < c->nitems; i++)
		item_release(&c->items[i]);
	free(c->items);
	for (size_t i = 0; i < c->ncp; i++)
		free(c->cp[i].rel);
	free(c->cp);
	free(c->dirs);
	va_inomap_release(&c->copies);
}
