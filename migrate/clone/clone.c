/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clone.c - the walk of a clone (see clone.h): what each source entry
 * becomes, in batches whose records are on disk before any of their
 * entries is made (clone-make.c makes them); a batch ends where a
 * directory is made, or when it is full.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/fileops.h"
#include "core/safeopen.h"
#include "core/walk.h"
#include "migrate/clone/clone-int.h"

static const char *const action_names[] = {
#define VA_X_CLONE(id, name) name,
	VA_CLONE_ACTIONS(VA_X_CLONE)
#undef VA_X_CLONE
};

const char *va_clone_action_name(enum va_clone_action a)
{
	return (unsigned)a < VA_CLONE_ACTION_COUNT ? action_names[a] : "?";
}

void c_event(struct crun *c, enum va_clone_action a, const char *path, size_t len, const char *src,
	     size_t src_len, uint64_t size, int err, const char *what)
{
	struct va_clone_event ev = {
		.action = a, .dry_run = c->o->dry_run, .path = path, .path_len = len,
		.src = src, .src_len = src_len, .size = size, .err = err, .what = what,
	};

	c->st->n[a]++;
	if (a == VA_CLONE_COPY)
		c->st->copied_bytes += size;
	else if (a == VA_CLONE_LINK)
		c->st->linked_bytes += size;
	if (c->o->h && c->o->h->event)
		c->o->h->event(&ev, c->st, c->o->h->user);
}

/* The destination path of @name in the current directory, in c->scratch. */
const char *c_dst_path(struct crun *c, const char *name)
{
	dbuf_setlen(&c->scratch, 0);
	if (dbuf_add(&c->scratch, c->dpath.buf, c->dpath.len) < 0 || dbuf_addc(&c->scratch, '/') < 0 ||
	    dbuf_adds(&c->scratch, name) < 0)
		return NULL;
	return c->scratch.buf;
}

/* ------------------------------------------------------------------ the hash stores */

static enum va_walk_action store_entry(const struct va_walk_entry *e, void *user)
{
	struct crun *c = user;

	if (e->visit == VA_WALK_PRE && e->stx && S_ISREG(e->stx->stx_mode) &&
	    va_inomap_insert(&c->stores, makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor),
			     e->stx->stx_ino, 1) < 0) {
		c->fatal = -ENOMEM;
		return VA_WALK_STOP;
	}
	return VA_WALK_CONTINUE;
}

static int read_stores(struct crun *c)
{
	struct va_walk_args a = {
		.roots = c->o->stores, .nroots = c->o->nstores, .flags = VA_WALK_XDEV,
		.callback = store_entry, .user = c,
	};
	int r;

	if (!c->o->nstores)
		return 0;
	r = va_walk(&a);
	return r < 0 ? r : c->fatal;
}

/* ------------------------------------------------------------------ the walk */

static bool is_unified(struct crun *c, int fd, const struct statx *stx, uint32_t *flags)
{
	dev_t dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	struct va_attr_target t = { .fd = fd, .dir_fd = -1, .dev = dev, .ino = stx->stx_ino,
				    .mode = stx->stx_mode };
	struct va_attrs at = { 0 };
	uint32_t v;

	*flags = c->o->be && va_backend_read(c->o->be, &t, &at) == 0 ? at.flags : 0;
	if (va_inomap_find(&c->stores, dev, stx->stx_ino, &v) ||
	    (c->o->unified_inodes && va_inomap_find(c->o->unified_inodes, dev, stx->stx_ino, &v)))
		return true;
	return c->o->unified_flags && (*flags & c->o->unified_flags) == c->o->unified_flags;
}

static int push_dir(struct crun *c, int src_fd, int dst_fd, bool copy_only, bool made)
{
	if (va_array_grow(&c->dirs, &c->capdirs, c->ndirs, sizeof(*c->dirs)) < 0)
		return -ENOMEM;
	c->dirs[c->ndirs++] = (struct cdir){ .src_fd = src_fd, .dst_fd = dst_fd, .copy_only = copy_only,
					     .dpath_len = c->dpath.len, .made = made };
	return 0;
}

/*
 * The walk of a directory is over: its metadata (when the clone made it)
 * once its entries are made, now, or with the batch that holds them
 * (the directory then waits in c->fin, its fds open).
 */
static int pop_dir(struct crun *c)
{
	struct cdir *d = &c->dirs[--c->ndirs];
	int r = 0;

	if (c->nitems) {
		if (va_array_grow(&c->fin, &c->capfin, c->nfin, sizeof(*c->fin)) < 0 ||
		    !(d->path = strndup(c->dpath.buf, c->dpath.len))) {
			r = -ENOMEM;
			c_finish_dir(c, d, NULL, 0);
		} else {
			c->fin[c->nfin++] = *d;
			/* each holds two fds: not more of them than a batch has entries */
			if (c->nfin >= CLONE_BATCH / 2)
				r = c_flush(c);
		}
	} else {
		c_finish_dir(c, d, c->dpath.buf, c->dpath.len);
	}
	/* back to the parent's path */
	if (c->ndirs)
		dbuf_setlen(&c->dpath, c->dirs[c->ndirs - 1].dpath_len);
	return r;
}

static void entry_error(struct crun *c, const struct va_walk_entry *e, int err, const char *what)
{
	const char *dst = c_dst_path(c, e->name);

	c_event(c, VA_CLONE_ERROR, dst ? dst : "", dst ? c->scratch.len : 0, e->path, e->path_len, 0, err,
		what);
}

/* A directory below the source root. */
static enum va_walk_action enter_dir(struct crun *c, const struct va_walk_entry *e, bool copy_only)
{
	int src_fd, dst_fd = -1, r;
	const char *dst;

	if (e->mount_point) {
		dst = c_dst_path(c, e->name);
		c_event(c, VA_CLONE_SKIP, dst, c->scratch.len, e->path, e->path_len, 0, 0,
			"a mount point: not copied");
		return VA_WALK_PRUNE;
	}
	src_fd = fcntl(e->dir_fd, F_DUPFD_CLOEXEC, 3);
	if (src_fd < 0) {
		entry_error(c, e, errno, "cannot open the directory");
		return VA_WALK_PRUNE;
	}
	/* (the batch so far is recorded and made with it) */
	r = c_mkdir(c, c->dirs[c->ndirs - 1].dst_fd, e->name, e->path, e->path_len, &dst_fd);
	if (r < 0) {
		close(src_fd);
		if (c->fatal)
			return VA_WALK_STOP;
		return VA_WALK_PRUNE;
	}
	if (dbuf_addc(&c->dpath, '/') < 0 || dbuf_adds(&c->dpath, e->name) < 0 ||
	    push_dir(c, src_fd, dst_fd, copy_only, true) < 0) {
		close(src_fd);
		if (dst_fd >= 0)
			close(dst_fd);
		c->fatal = -ENOMEM;
		return VA_WALK_STOP;
	}
	return VA_WALK_CONTINUE;
}

/*
 * va_clone_opts.fill: the entry @e of SRC in a directory DST had already.
 * Return: true when DST has a name @e and it was dealt with (*@ret what
 * the walk does next): a directory in both is entered, anything else is
 * left alone.
 */
static bool fill_existing(struct crun *c, const struct va_walk_entry *e, bool copy_only,
			  enum va_walk_action *ret)
{
	const struct cdir *d = &c->dirs[c->ndirs - 1];
	struct stat st;
	const char *dst;
	int src_fd, fd;

	if (!c->o->fill || d->made || d->dst_fd < 0 ||
	    fstatat(d->dst_fd, e->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	*ret = VA_WALK_PRUNE;
	dst = c_dst_path(c, e->name);
	if (!S_ISDIR(st.st_mode) || !S_ISDIR(e->stx->stx_mode) || e->mount_point) {
		c_event(c, VA_CLONE_EXISTS, dst, c->scratch.len, e->path, e->path_len, 0, 0, NULL);
		return true;
	}
	src_fd = fcntl(e->dir_fd, F_DUPFD_CLOEXEC, 3);
	fd = va_safeopen_at(d->dst_fd, e->name, O_RDONLY | O_DIRECTORY, 0);
	if (src_fd < 0 || fd < 0) {
		entry_error(c, e, fd < 0 ? -fd : errno, "cannot open the directory");
		if (src_fd >= 0)
			close(src_fd);
		if (fd >= 0)
			close(fd);
		return true;
	}
	if (dbuf_addc(&c->dpath, '/') < 0 || dbuf_adds(&c->dpath, e->name) < 0 ||
	    push_dir(c, src_fd, fd, copy_only, false) < 0) {
		close(src_fd);
		close(fd);
		c->fatal = -ENOMEM;
		*ret = VA_WALK_STOP;
		return true;
	}
	*ret = VA_WALK_CONTINUE;
	return true;
}

/* A file, symlink or node below the source root: queued for the batch. */
static enum va_walk_action queue_entry(struct crun *c, const struct va_walk_entry *e, bool copy_only)
{
	const struct statx *stx = e->stx;
	dev_t dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	struct citem it = { .src_fd = -1, .stx = *stx, .copy = UINT32_MAX };
	uint32_t v;
	int r;

	switch (stx->stx_mode & S_IFMT) {
	case S_IFREG:
		r = va_open_regular(e->at_fd, e->at_name, dev, stx->stx_ino, &it.stx);
		if (r < 0) {
			entry_error(c, e, -r, "cannot open the file");
			return VA_WALK_CONTINUE;
		}
		it.src_fd = r;
		if (!copy_only && is_unified(c, r, &it.stx, &it.flags)) {
			it.kind = 'h';
		} else if (it.stx.stx_nlink > 1 && va_inomap_find(&c->copies, dev, stx->stx_ino, &v)) {
			it.kind = 'H';
			it.copy = v;
		} else {
			it.kind = 'f';
			if (it.stx.stx_nlink > 1 && (r = c_copy_add(c, dev, stx->stx_ino, e->name, &it.copy)) < 0) {
				close(it.src_fd);
				c->fatal = r;
				return VA_WALK_STOP;
			}
		}
		break;
	case S_IFLNK: {
		char buf[PATH_MAX + 1];
		ssize_t n = readlinkat(e->at_fd, e->at_name, buf, sizeof(buf));

		if (n < 0 || n > PATH_MAX) {
			entry_error(c, e, n < 0 ? errno : ENAMETOOLONG, "cannot read the symbolic link");
			return VA_WALK_CONTINUE;
		}
		if (!(it.target = strndup(buf, (size_t)n))) {
			c->fatal = -ENOMEM;
			return VA_WALK_STOP;
		}
		it.kind = 'l';
		break;
	}
	case S_IFIFO:
		it.kind = 'p';
		break;
	case S_IFCHR:
		it.kind = 'c';
		break;
	case S_IFBLK:
		it.kind = 'b';
		break;
	default: {
		const char *dst = c_dst_path(c, e->name);

		c_event(c, VA_CLONE_SKIP, dst, c->scratch.len, e->path, e->path_len, 0, 0,
			"a socket: not copied");
		return VA_WALK_CONTINUE;
	}
	}
	r = c_queue(c, &it, e->name, e->path, e->path_len);
	if (r < 0) {
		c->fatal = r;
		return VA_WALK_STOP;
	}
	return VA_WALK_CONTINUE;
}

static enum va_walk_action visit(const struct va_walk_entry *e, void *user)
{
	struct crun *c = user;
	enum va_excl_action a = VA_EXCL_INCLUDE;
	enum va_walk_action next;
	bool copy_only;

	if (e->visit == VA_WALK_ERROR) {
		if (e->depth == 0) {
			c->fatal = -e->error;
			return VA_WALK_STOP;
		}
		entry_error(c, e, e->error, e->error_op);
		return VA_WALK_CONTINUE;
	}
	if (e->visit == VA_WALK_POST) {
		int r = pop_dir(c);

		if (r < 0) {
			c->fatal = r;
			return VA_WALK_STOP;
		}
		return VA_WALK_CONTINUE;
	}
	if (e->depth == 0) {
		int fd = fcntl(e->dir_fd, F_DUPFD_CLOEXEC, 3);

		if (fd < 0 || push_dir(c, fd, c->dst_fd, false, c->dst_made) < 0) {
			c->fatal = fd < 0 ? -errno : -ENOMEM;
			if (fd >= 0)
				close(fd);
			return VA_WALK_STOP;
		}
		/* the root's fd for syncfs and for the copies' other names */
		if (c->dst_fd >= 0 && (c->sync_fd = fcntl(c->dst_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
			c->fatal = -errno;
			return VA_WALK_STOP;
		}
		c->dst_fd = -1;         /* the stack owns it now */
		return VA_WALK_CONTINUE;
	}
	/* the path inside the guest, as exclude lists name it */
	dbuf_setlen(&c->rel, 0);
	if (dbuf_add(&c->rel, e->path + c->src_len, e->path_len - c->src_len) < 0) {
		c->fatal = -ENOMEM;
		return VA_WALK_STOP;
	}
	if (c->o->excl)
		a = va_excl_match(c->o->excl, c->rel.buf, NULL);
	if (a == VA_EXCL_SKIP) {
		const char *dst = c_dst_path(c, e->name);

		c_event(c, VA_CLONE_OMIT, dst, c->scratch.len, e->path, e->path_len, 0, 0, NULL);
		return VA_WALK_PRUNE;
	}
	copy_only = c->dirs[c->ndirs - 1].copy_only || a == VA_EXCL_EXCLUDE;
	if (!e->stx) {
		entry_error(c, e, EIO, "cannot look at it");
		return VA_WALK_PRUNE;
	}
	if (fill_existing(c, e, copy_only, &next))
		return next;
	if (S_ISDIR(e->stx->stx_mode))
		return enter_dir(c, e, copy_only);
	return queue_entry(c, e, copy_only);
}

/* ------------------------------------------------------------------ the run */

/* Is directory @fd empty?  Return: 1, 0, or -errno.  Closes @fd. */
static int empty_dir(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int r = 1;

	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			r = 0;
			break;
		}
	closedir(d);
	return r;
}

int va_clone_roots(const char *src, const char *dst, struct dbuf *out)
{
	struct stat st;
	const char *slash = strrchr(dst, '/');

	if (dbuf_adds(out, src) < 0 || dbuf_addc(out, '\n') < 0)
		return -ENOMEM;
	if (lstat(dst, &st) == 0)
		return dbuf_adds(out, dst) < 0 ? -ENOMEM : 0;
	if (errno != ENOENT)
		return -errno;
	if (!slash)
		return -EINVAL;
	return dbuf_add(out, dst, slash == dst ? 1 : (size_t)(slash - dst)) < 0 ? -ENOMEM : 0;
}

/*
 * Open (or, unless a dry run, make) the destination root @dst: c->dst_fd,
 * c->dst_made.  Return: 0, -EEXIST, -EXDEV, or -errno.
 */
static int open_dst(struct crun *c, const char *dst, const struct stat *src_st)
{
	const char *slash = strrchr(dst, '/');
	char *parent = NULL;
	struct stat st;
	int pfd, fd, r;

	if (!slash || !slash[1])
		return -EINVAL;
	if (!(parent = strndup(dst, slash == dst ? 1 : (size_t)(slash - dst))))
		return -ENOMEM;
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(parent);
	if (pfd < 0)
		return -errno;
	c->parent_fd = pfd;
	if (fstatat(pfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISDIR(st.st_mode))
			return -EEXIST;
		if (st.st_dev != src_st->st_dev)
			return -EXDEV;
		fd = va_safeopen_at(pfd, slash + 1, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0)
			return fd;
		r = c->o->fill ? 1 : empty_dir(fcntl(fd, F_DUPFD_CLOEXEC, 3));
		if (r <= 0) {
			close(fd);
			return r == 0 ? -EEXIST : r;
		}
		c->dst_fd = fd;
		c->dst_dev = st.st_dev;
		return 0;
	}
	if (errno != ENOENT || c->o->fill)
		return -errno;
	if (fstat(pfd, &st) < 0)
		return -errno;
	if (st.st_dev != src_st->st_dev)
		return -EXDEV;
	c->dst_dev = st.st_dev;
	c->dst_made = true;
	/* the root is made as every directory below it is */
	if (dbuf_add(&c->dpath, dst, (size_t)(slash - dst)) < 0)
		return -ENOMEM;
	r = c_mkdir(c, pfd, slash + 1, c->src, c->src_len, &c->dst_fd);
	dbuf_setlen(&c->dpath, 0);
	if (r == 0 && dbuf_adds(&c->dpath, dst) < 0)
		r = -ENOMEM;
	return r;
}

static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 4096) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int va_clone_check(const char *src, const char *dst, bool fill)
{
	size_t slen = strlen(src), dlen = strlen(dst);
	const char *slash = strrchr(dst, '/');
	struct stat sst, st;
	char *parent;
	int fd, r;

	while (slen > 1 && src[slen - 1] == '/')
		slen--;
	if (dlen >= slen && !strncmp(dst, src, slen) && (dst[slen] == '/' || !dst[slen] || slen == 1))
		return -EINVAL;
	if (stat(src, &sst) < 0)
		return -errno;
	if (!S_ISDIR(sst.st_mode))
		return -ENOTDIR;
	if (!slash || !slash[1])
		return -EINVAL;
	if (lstat(dst, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return -EEXIST;
		if (st.st_dev != sst.st_dev)
			return -EXDEV;
		if (fill)
			return 0;
		fd = open(dst, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		r = empty_dir(fd);
		return r == 1 ? 0 : r == 0 ? -EEXIST : r;
	}
	if (errno != ENOENT || fill)
		return -errno;
	if (!(parent = strndup(dst, slash == dst ? 1 : (size_t)(slash - dst))))
		return -ENOMEM;
	r = stat(parent, &st) < 0 ? -errno : st.st_dev != sst.st_dev ? -EXDEV : 0;
	free(parent);
	return r;
}

int va_clone(const char *src, const char *dst, const struct va_clone_opts *o,
	     struct va_clone_stats *st)
{
	struct crun c = { .o = o, .st = st, .src = src, .dst_fd = -1, .parent_fd = -1, .sync_fd = -1 };
	const char *roots[1] = { src };
	struct va_walk_args a = {
		.roots = roots, .nroots = 1, .flags = VA_WALK_XDEV | VA_WALK_POSTORDER,
		.stx_mask = STATX_BASIC_STATS, .fd_budget = 256, .callback = visit, .user = &c,
	};
	struct stat sst;
	const char *v;
	int r, q;

	memset(st, 0, sizeof(*st));
	if (!o->dry_run && !o->j)
		return -EINVAL;
	if ((r = va_clone_check(src, dst, o->fill)) < 0)
		return r;
	if (stat(src, &sst) < 0)
		return -errno;
	raise_fd_limit();
	c.marks_limit = CLONE_MARKS;
	if ((v = getenv("VAUDIT_TEST_CLONE_MARKS")) && atoi(v) > 0)
		c.marks_limit = (size_t)atoi(v);        /* the tests: a syncfs every few marks */
	dbuf_init(&c.dpath);
	dbuf_init(&c.rel);
	dbuf_init(&c.scratch);
	c.src_len = strlen(src);
	r = open_dst(&c, dst, &sst);
	if (r == 0 && !c.dst_made)
		r = dbuf_adds(&c.dpath, dst) < 0 ? -ENOMEM : 0;
	c.droot_len = strlen(dst);
	if (r == 0)
		r = read_stores(&c);
	if (r == 0) {
		r = va_walk(&a);
		if (r == 1)
			r = 0;
		while (c.ndirs) {
			q = pop_dir(&c);
			if (r == 0)
				r = q;
		}
		/* the last batch, and the directories that wait for it */
		q = c_flush(&c);
		if (r == 0)
			r = q ? q : c.fatal;
	}
	/* everything made on disk (one syncfs), then the marks that say so */
	if (r == 0 && !o->dry_run)
		r = c_sync_marks(&c, true);
	c_release(&c);
	if (c.sync_fd >= 0)
		close(c.sync_fd);
	if (c.dst_fd >= 0)
		close(c.dst_fd);
	if (c.parent_fd >= 0)
		close(c.parent_fd);
	dbuf_release(&c.dpath);
	dbuf_release(&c.rel);
	dbuf_release(&c.scratch);
	va_inomap_release(&c.stores);
	return r;
}
