/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clone-make.c - making a clone's entries, a batch at a time: the 'C'
 * records of the batch on disk (with the record of the directory that
 * ends it, one journal sync), then the entries, copies named at once;
 * the 'M' records that give what was made, and the 'D' marks of flags
 * put back, are held back until one syncfs of the destination has put
 * what they describe on disk (every CLONE_MARKS marks, and at the end).
 * An entry made without its 'M' record on file is undone by its 'C'
 * record alone (see clone.h).
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

/* Hold back mark @m until a syncfs puts what it describes on disk (c_sync_marks()). */
static int hold_mark(struct crun *c, const struct va_journal_rec *m)
{
	if (va_array_grow(&c->marks, &c->capmarks, c->nmarks, sizeof(*c->marks)) < 0)
		return -ENOMEM;
	c->marks[c->nmarks++] = *m;
	return 0;
}

/* The 'M' record: entry @seq was made and is @st (written after the next syncfs). */
static int made(struct crun *c, uint64_t seq, const struct stat *st)
{
	struct va_journal_rec m = {
		.type = 'M', .seq = seq, .dev = st->st_dev, .ino = st->st_ino,
		.ctime_sec = st->st_ctim.tv_sec, .ctime_nsec = (uint32_t)st->st_ctim.tv_nsec,
	};

	return hold_mark(c, &m);
}

int c_sync_marks(struct crun *c, bool all)
{
	int fd = c->sync_fd >= 0 ? c->sync_fd : c->parent_fd, r = 0;

	if (!c->nmarks || (!all && c->nmarks < c->marks_limit))
		return 0;
	/* what the marks describe (file data, names, flags put back) on disk first */
	if (syncfs(fd) < 0)
		return -errno;
	for (size_t i = 0; i < c->nmarks && r == 0; i++)
		r = va_journal_add(c->o->j, &c->marks[i]);
	c->nmarks = 0;
	return r ? r : va_journal_flush(c->o->j);
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

static int record_batch(struct crun *c);
static void make_batch(struct crun *c);

int c_mkdir(struct crun *c, int parent_fd, const char *name, const char *src, size_t src_len,
	    int *ret_fd)
{
	const char *path;
	uint64_t seq = 0;
	struct stat st;
	int fd, r;

	*ret_fd = -1;
	if (c->o->dry_run) {
		if ((r = c_flush(c)) < 0)
			return r;
		if (!(path = c_dst_path(c, name)))
			return c->fatal = -ENOMEM;
		c_event(c, VA_CLONE_MKDIR, path, c->scratch.len, src, src_len, 0, 0, NULL);
		return 0;
	}
	if (c->fatal)
		return c->fatal;
	/* the batch's records and the directory's on disk with one sync, then the batch made */
	r = record_batch(c);
	path = c_dst_path(c, name);
	if (!path)
		r = -ENOMEM;
	if (r == 0)
		r = intent(c, 'd', 0, path, c->scratch.len, &seq);
	if (r == 0)
		r = va_journal_sync(c->o->j);
	if (r < 0) {
		c_event(c, VA_CLONE_ERROR, path ? path : c->dpath.buf, path ? c->scratch.len : c->dpath.len,
			src, src_len, 0, -r, "cannot write the journal");
		c->fatal = r;
		make_batch(c);          /* nothing made: the batch released */
		return r;
	}
	make_batch(c);
	if (c->fatal)
		return c->fatal;
	if (!(path = c_dst_path(c, name)))
		return c->fatal = -ENOMEM;
	/* only the clone enters it until its own mode is set, after its contents */
	if (mkdirat(parent_fd, name, 0700) < 0) {
		r = -errno;
		c_event(c, VA_CLONE_ERROR, path, c->scratch.len, src, src_len, 0, -r, "cannot make the directory");
		not_made(c, seq, r);
		return r;
	}
	fd = va_safeopen_at(parent_fd, name, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0 || fstat(fd, &st) < 0) {
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
	free(it->path);
}

int c_queue(struct crun *c, struct citem *it, const char *name, const char *src, size_t src_len)
{
	const char *path;

	/* another name of a copy still to be made: its record names the copy's inode */
	if (it->kind == 'H' && !c->o->dry_run && !c->cp[it->copy].ino && c_flush(c) < 0) {
		item_release(it);
		return c->fatal;
	}
	path = c_dst_path(c, name);
	it->dfd = c->dirs[c->ndirs - 1].dst_fd;
	if (!path || va_array_grow(&c->items, &c->capitems, c->nitems, sizeof(*c->items)) < 0 ||
	    !(it->name = strdup(name)) || !(it->src = strndup(src, src_len)) ||
	    !(it->path = strndup(path, c->scratch.len))) {
		item_release(it);
		return -ENOMEM;
	}
	it->src_len = src_len;
	it->path_len = c->scratch.len;
	c->items[c->nitems++] = *it;
	return c->nitems >= CLONE_BATCH ? c_flush(c) : 0;
}

/* ------------------------------------------------------------------ making one entry */

/*
 * Lift (@lift) the blocking flags of @it's inode for a new name, or put
 * them back, through the back end (which drops immutable first where the
 * kernel lets only that bit change, and reads the word back).  The 2.6
 * bits and the permission bits are asked as they were read, so they stay.
 */
static int lift_flags(struct crun *c, const struct citem *it, bool lift)
{
	const struct va_attr_target t = {
		.fd = it->src_fd, .dir_fd = -1,
		.dev = makedev(it->stx.stx_dev_major, it->stx.stx_dev_minor),
		.ino = it->stx.stx_ino, .mode = it->stx.stx_mode,
	};

	if (!c->o->be)
		return -EOPNOTSUPP;
	return va_backend_set(c->o->be, &t, it->flags & ~(lift ? C_BLOCKING : 0), it->stx.stx_mode & 07777);
}

/* Does the kernel refuse @it's inode a new name unless its flags are lifted? */
static bool must_lift(const struct crun *c, uint32_t flags)
{
	if (!(flags & C_BLOCKING))
		return false;
	return !(c->o->iunlink && (flags & VA_FL_IMMUTABLE) && !(flags & VA_FL_APPEND));
}

/*
 * A new name of a unified inode.  With its flags lifted, the batch's
 * later names of the same inode (the same 'I' record) are linked in the
 * same window: one lift and one restore per inode and batch.
 */
static int make_link(struct crun *c, size_t i, const char **what)
{
	struct citem *it = &c->items[i];
	int r, q = 0;

	if (it->early) {
		*what = it->early_what;
		return it->early_r;
	}
	if (it->iseq && (r = lift_flags(c, it, true)) < 0) {
		*what = "cannot lift the flags of the unified file for the link";
		it->flags_back = lift_flags(c, it, false) == 0;
		return r;
	}
	r = va_link_fd(it->src_fd, it->dfd, it->name);
	for (size_t k = i + 1; it->iseq && k < c->nitems; k++) {
		struct citem *o = &c->items[k];

		if (o->kind == 'h' && o->shared_lift && o->iseq == it->iseq) {
			o->early = true;
			o->early_r = va_link_fd(o->src_fd, o->dfd, o->name);
			o->early_what = "cannot link the unified file";
		}
	}
	if (it->iseq) {
		q = lift_flags(c, it, false);
		it->flags_back = q == 0;
	}
	for (size_t k = i + 1; q < 0 && k < c->nitems; k++) {
		struct citem *o = &c->items[k];

		if (o->early && o->iseq == it->iseq && o->early_r == 0) {
			o->early_r = q;
			o->early_what = "linked, but its flags cannot be put back";
		}
	}
	if (r < 0) {
		*what = q < 0 ? "cannot link the unified file, and its flags cannot be put back (vaudit --undo puts them back)" :
				"cannot link the unified file";
		return r;
	}
	if (q < 0) {
		*what = "linked, but its flags cannot be put back";
		return q;
	}
	return 0;
}

/* A copy, named at once: its data goes to disk with the batch's syncfs, before its 'M' record. */
static int make_copy(struct crun *c, int dfd, struct citem *it, const char **what)
{
	struct statx after;
	int fd = va_copy_tmpfile(it->src_fd, dfd), r = 0;

	if (fd < 0) {
		*what = "cannot copy the file";
		return fd;
	}
	if (statx(it->src_fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &after) < 0) {
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
	fd = va_safeopen_verified(c->sync_fd, cp->rel, O_PATH, VA_SAFEOPEN_BENEATH, &id, NULL);
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

static void make_one(struct crun *c, size_t i)
{
	struct citem *it = &c->items[i];
	const char *path = it->path, *what = NULL;
	int dfd = it->dfd, r;

	if (!c->o->dry_run) {
		switch (it->kind) {
		case 'h':
			r = make_link(c, i, &what);
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
			c_event(c, VA_CLONE_ERROR, path, it->path_len, it->src, it->src_len, 0, -r, what);
			not_made(c, it->seq, r);
			if (va_fs_failing(r))
				c->fatal = r;
			return;
		}
		it->made = true;
	}
	if (c_tag(c, dfd, it, path, it->path_len) < 0)
		return;
	c_event(c, action_of(it->kind), path, it->path_len, it->src, it->src_len,
		it->kind == 'f' || it->kind == 'h' || it->kind == 'H' ? it->stx.stx_size : 0, 0, NULL);
}

/* ------------------------------------------------------------------ a batch */

/* The records of the batch, added (the caller syncs them before anything is made).  Return: 0 or -errno. */
static int record_batch(struct crun *c)
{
	int r = 0;

	for (size_t i = 0; i < c->nitems && r == 0; i++) {
		struct citem *it = &c->items[i];
		uint64_t ino = 0;

		if (it->kind == 'h' && must_lift(c, it->flags)) {
			struct va_journal_rec rec = {
				.type = 'I', .dev = makedev(it->stx.stx_dev_major, it->stx.stx_dev_minor),
				.ino = it->stx.stx_ino, .old_flags = it->flags,
				.old_mode = it->stx.stx_mode & 07777,
				.new_flags = it->flags & ~C_BLOCKING, .new_mode = it->stx.stx_mode & 07777,
				.path = it->src, .path_len = it->src_len,
			};

			/* an earlier name of the batch with the same inode: its lift */
			for (size_t k = 0; k < i && !it->iseq; k++) {
				const struct citem *o = &c->items[k];

				if (o->kind == 'h' && o->iseq && !o->shared_lift && o->stx.stx_ino == it->stx.stx_ino &&
				    o->stx.stx_dev_major == it->stx.stx_dev_major &&
				    o->stx.stx_dev_minor == it->stx.stx_dev_minor && o->flags == it->flags) {
					it->iseq = o->iseq;
					it->shared_lift = true;
				}
			}
			if (!it->iseq) {
				snprintf(rec.kind, sizeof(rec.kind), "%s", VA_CLONE_LIFT_KIND);
				if ((r = va_journal_add(c->o->j, &rec)) < 0)
					break;
				it->iseq = rec.seq;
			}
		}
		if (it->kind == 'h')
			ino = it->stx.stx_ino;
		else if (it->kind == 'H')
			ino = c->cp[it->copy].ino;
		r = intent(c, it->kind == 'H' ? 'h' : it->kind, ino, it->path, it->path_len, &it->seq);
	}
	return r;
}

/* The marks of the batch, held back for the next syncfs. */
static int mark_batch(struct crun *c)
{
	int r = 0;

	for (size_t i = 0; i < c->nitems && r == 0; i++) {
		struct citem *it = &c->items[i];

		/* (flags not put back keep their 'I' record open: the undo puts them back) */
		if (it->iseq && !it->shared_lift && it->flags_back) {
			struct va_journal_rec d = { .type = 'D', .seq = it->iseq };

			r = hold_mark(c, &d);
		}
		if (r == 0 && it->made)
			r = made(c, it->seq, &it->made_st);
	}
	return r;
}

/*
 * Make the batch's entries (their records on disk), then finish the
 * directories whose walk ended meanwhile, release the batch; the marks
 * wait for a syncfs.
 */
static void make_batch(struct crun *c)
{
	int r;

	for (size_t i = 0; i < c->nitems && !c->fatal; i++)
		make_one(c, i);
	if (!c->o->dry_run && !c->fatal && (r = mark_batch(c)) < 0)
		c->fatal = r;
	for (size_t i = 0; i < c->nitems; i++)
		item_release(&c->items[i]);
	c->nitems = 0;
	for (size_t k = 0; k < c->nfin; k++)
		c_finish_dir(c, &c->fin[k], c->fin[k].path, c->fin[k].path ? strlen(c->fin[k].path) : 0);
	c->nfin = 0;
	if (!c->o->dry_run && !c->fatal && (r = c_sync_marks(c, false)) < 0) {
		c->fatal = r;
		c_event(c, VA_CLONE_ERROR, c->dpath.buf, c->dpath.len, NULL, 0, 0, -r,
			"cannot write what was made to disk, or the journal");
	}
}

int c_flush(struct crun *c)
{
	int r;

	if (!c->nitems && !c->nfin)
		return c->fatal;
	if (c->nitems && !c->o->dry_run && !c->fatal) {
		r = record_batch(c);
		if (r == 0)
			r = va_journal_sync(c->o->j);
		if (r < 0) {
			c->fatal = r;
			c_event(c, VA_CLONE_ERROR, c->dpath.buf, c->dpath.len, NULL, 0, 0, -r,
				"cannot write the journal");
		}
	}
	make_batch(c);
	return c->fatal;
}

void c_finish_dir(struct crun *c, struct cdir *d, const char *path, size_t len)
{
	int r;

	if (!c->o->dry_run && d->made && !c->fatal && (r = va_copy_metadata(d->src_fd, d->dst_fd)) < 0)
		c_event(c, VA_CLONE_ERROR, path ? path : "", path ? len : 0, NULL, 0, 0, -r,
			"cannot set the directory's owner, mode, attributes or times");
	else if (d->made && !c->fatal)
		(void)c_tag_dir(c, d, path ? path : "", path ? len : 0);
	close(d->src_fd);
	if (d->dst_fd >= 0)
		close(d->dst_fd);
	free(d->path);
	d->path = NULL;
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
	for (size_t k = 0; k < c->nfin; k++) {
		close(c->fin[k].src_fd);
		if (c->fin[k].dst_fd >= 0)
			close(c->fin[k].dst_fd);
		free(c->fin[k].path);
	}
	free(c->fin);
	free(c->marks);
	va_inomap_release(&c->copies);
}
