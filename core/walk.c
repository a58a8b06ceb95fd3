/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * walk.c - the safe, iterative, fd-relative walker.
 *
 * Parts:
 *  - struct frame: one directory on the current path, with its fd (or -1
 *    when evicted), its identity and its entries, read in full with
 *    getdents64 when the directory is entered (so an evicted fd never has
 *    to resume a half-read directory);
 *  - the shared display path buffer: frame k owns path[0..frames[k].path_len);
 *  - the fd budget: frames [evict_lo, top] hold fds, frames [1, evict_lo)
 *    were closed and are reopened from the nearest open ancestor, one
 *    verified component at a time;
 *  - va_walk(): a loop over roots, each a loop over the frame stack.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "core/safeopen.h"
#include "core/walk.h"

#define DIR_OPEN_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

struct frame {
	int fd;                 /* -1 when evicted */
	dev_t dev;              /* identity from statx, checked on every (re)open;
				   also the filesystem the walk stays on below it */
	uint64_t ino;
	size_t path_len;        /* this directory's display path length */
	size_t name_len;        /* its last component ends the path */
	struct dbuf ents;       /* packed entries: d_ino (8 bytes), d_type, name, NUL */
	size_t *order;          /* offsets into ents, sorted by inode number */
	size_t nents;
	size_t next;            /* index into order of the next entry */
	struct statx stx;       /* for the POST visit */
};

struct walk {
	const struct va_walk_args *args;
	unsigned stx_mask;
	size_t budget;
	struct frame *frames;
	size_t nframes, capframes;
	size_t top;             /* index of the current frame (valid when nframes > 0) */
	size_t evict_lo;
	size_t root_index;
	struct dbuf path;
	char *getdents_buf;
};

static dev_t stx_dev(const struct statx *stx)
{
	return makedev(stx->stx_dev_major, stx->stx_dev_minor);
}

/* Report an error for an entry; returns the callback's action. */
static enum va_walk_action report(struct walk *w, const struct va_walk_entry *base,
				  int err, const char *op)
{
	struct va_walk_entry e = *base;

	e.visit = VA_WALK_ERROR;
	e.error = err;
	e.error_op = op;
	e.dir_fd = -1;
	return w->args->callback(&e, w->args->user);
}

/*
 * Open the directory @name in @dirfd.  With @no_xdev, refuse (-EXDEV) to
 * cross into another mount, which also keeps automount points untouched
 * (VA_SAFEOPEN_NO_XDEV: openat2 RESOLVE_NO_XDEV, Linux 5.6+; on older
 * kernels the check after the open of the safeopen fallback).
 */
static int open_dir(int dirfd, const char *name, bool no_xdev)
{
	return va_safeopen_at(dirfd, name, DIR_OPEN_FLAGS, no_xdev ? VA_SAFEOPEN_NO_XDEV : 0);
}

/* va_safeopen_verified() says -ESTALE for another inode */
_Static_assert(VA_WALK_ECHANGED == ESTALE, "VA_WALK_ECHANGED is the errno of safeopen's identity check");

/* Open @name in @dirfd as a directory and check it is dev/ino (-VA_WALK_ECHANGED). */
static int open_verified(int dirfd, const char *name, dev_t dev, uint64_t ino)
{
	return va_safeopen_verified(dirfd, name, DIR_OPEN_FLAGS, 0,
				    &(struct va_safeopen_id){ .dev = dev, .ino = ino, .type = S_IFDIR }, NULL);
}

static int cmp_ino(const void *a, const void *b, void *ents)
{
	uint64_t ia, ib;

	memcpy(&ia, (const char *)ents + *(const size_t *)a, sizeof(ia));
	memcpy(&ib, (const char *)ents + *(const size_t *)b, sizeof(ib));
	return ia < ib ? -1 : ia > ib;
}

/* Is an entry of type @d_type given without statx() (va_walk_args.lazy_types)? */
static bool lazy(const struct walk *w, unsigned char d_type)
{
	return d_type != DT_UNKNOWN && d_type != DT_DIR && d_type < 32 &&
	       (w->args->lazy_types & (1u << d_type));
}

/* Is a directory of type @d_type opened without statx() (VA_WALK_LAZY_DIRS)? */
static bool lazy_dir(const struct walk *w, unsigned char d_type)
{
	return d_type == DT_DIR && (w->args->flags & VA_WALK_LAZY_DIRS) &&
	       w->top + 1 > w->args->mount_depth;
}

static void free_entries(struct frame *f)
{
	dbuf_release(&f->ents);
	free(f->order);
	f->order = NULL;
	f->nents = 0;
}

/*
 * Read every entry of the directory open at @fd into frame @f, in the
 * order they are visited: first those given without statx() (lazy types)
 * as the directory lists them, then the others by inode number, so that
 * their statx() walks the inode table forwards, which is what a cold cache
 * wants (and only they pay for the sort).  With @verify, the directory's
 * own "." entry (or, where the filesystem lists none, a statx() of @fd)
 * must have the inode number f->ino, else -VA_WALK_ECHANGED.
 */
static int read_entries(struct walk *w, int fd, struct frame *f, bool verify)
{
	enum { BUFSZ = 64 * 1024 };
	size_t off, nlazy, nstat;
	bool dot_seen = false;

	if (!w->getdents_buf && !(w->getdents_buf = malloc(BUFSZ)))
		return -ENOMEM;
	for (;;) {
		ssize_t n = getdents64(fd, w->getdents_buf, BUFSZ);

		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (ssize_t o = 0; o < n;) {
			struct dirent64 *d = (struct dirent64 *)(w->getdents_buf + o);
			const char *nm = d->d_name;
			uint64_t ino = d->d_ino;
			char type = (char)d->d_type;

			size_t len;
			char *at;

			o += d->d_reclen;
			if (nm[0] == '.' && nm[1] == '\0') {
				if (verify && ino != f->ino)
					return -VA_WALK_ECHANGED;
				dot_seen = true;
				continue;
			}
			if (nm[0] == '.' && nm[1] == '.' && nm[2] == '\0')
				continue;
			/* inode number, type, name and its NUL, in one piece */
			len = strlen(nm) + 1;
			if (dbuf_reserve(&f->ents, sizeof(ino) + 1 + len) < 0)
				return -ENOMEM;
			at = f->ents.buf + f->ents.len;
			memcpy(at, &ino, sizeof(ino));
			at[sizeof(ino)] = type;
			memcpy(at + sizeof(ino) + 1, nm, len);
			f->ents.len += sizeof(ino) + 1 + len;
			f->ents.buf[f->ents.len] = '\0';
			f->nents++;
		}
	}
	if (verify && !dot_seen) {
		/* a filesystem that lists no "." entry: ask the fd */
		struct statx stx;

		if (statx(fd, "", AT_EMPTY_PATH, STATX_INO, &stx) < 0)
			return -errno;
		if (stx.stx_ino != f->ino)
			return -VA_WALK_ECHANGED;
	}
	if (!f->nents)
		return 0;
	f->order = malloc(size_mul_sat(f->nents, sizeof(*f->order)));
	if (!f->order)
		return -ENOMEM;
	off = 0;
	nlazy = 0;
	nstat = f->nents;
	for (size_t i = 0; i < f->nents; i++) {
		if (lazy(w, (unsigned char)f->ents.buf[off + sizeof(uint64_t)]))
			f->order[nlazy++] = off;
		else
			f->order[--nstat] = off;
		off += sizeof(uint64_t) + 1 + strlen(f->ents.buf + off + sizeof(uint64_t) + 1) + 1;
	}
	qsort_r(f->order + nlazy, f->nents - nlazy, sizeof(*f->order), cmp_ino, f->ents.buf);
	return 0;
}

static size_t default_budget(void)
{
	struct rlimit rl;
	size_t b = 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		b = rl.rlim_cur / 2;
	if (b > 4096)
		b = 4096;
	return b < 8 ? 8 : b;
}

static int push_frame(struct walk *w, int fd, const struct statx *stx, size_t name_len)
{
	struct frame *f;

	if (va_array_grow(&w->frames, &w->capframes, w->nframes, sizeof(*w->frames)) < 0)
		return -ENOMEM;
	f = &w->frames[w->nframes];
	f->fd = fd;
	f->dev = stx_dev(stx);
	f->ino = stx->stx_ino;
	f->path_len = w->path.len;
	f->name_len = name_len;
	dbuf_init(&f->ents);
	f->order = NULL;
	f->nents = f->next = 0;
	f->stx = *stx;
	w->top = w->nframes++;

	/* Keep at most `budget` directory fds: close the shallowest (not the root). */
	if (w->top + 2 > w->budget + w->evict_lo && w->evict_lo < w->top) {
		struct frame *old = &w->frames[w->evict_lo];

		if (old->fd >= 0) {
			close(old->fd);
			old->fd = -1;
		}
		w->evict_lo++;
	}
	return 0;
}

static void pop_frame(struct walk *w)
{
	struct frame *f = &w->frames[w->top];

	if (f->fd >= 0)
		close(f->fd);
	dbuf_release(&f->ents);
	free(f->order);
	w->nframes--;
	if (w->nframes) {
		w->top = w->nframes - 1;
		if (w->evict_lo > w->nframes)
			w->evict_lo = w->nframes;
	}
	dbuf_setlen(&w->path, w->nframes ? w->frames[w->top].path_len : 0);
}

/*
 * Reopen frame @k and the closed frames above its nearest open ancestor.
 * Return: 0, or -errno with *ret_bad the frame that failed to reopen and
 * *ret_parent its parent's fd (to be closed by the caller when it is not
 * that frame's own fd).
 */
static int reopen(struct walk *w, size_t k, size_t *ret_bad, int *ret_parent)
{
	size_t a = k, keep_from;
	int parent;

	while (a > 0 && w->frames[a].fd < 0)
		a--;
	keep_from = k + 1 > w->budget / 2 ? k + 1 - w->budget / 2 : 1;
	if (keep_from <= a)
		keep_from = a + 1;
	parent = w->frames[a].fd;
	for (size_t j = a + 1; j <= k; j++) {
		struct frame *f = &w->frames[j];
		const char *name = w->path.buf + f->path_len - f->name_len;
		char saved = w->path.buf[f->path_len];
		int fd;

		/* The name is NUL-terminated in place for openat(). */
		w->path.buf[f->path_len] = '\0';
		fd = open_verified(parent, name, f->dev, f->ino);
		w->path.buf[f->path_len] = saved;
		if (fd < 0) {
			*ret_bad = j;
			*ret_parent = parent;
			return fd;
		}
		if (j - 1 > a && j - 1 < keep_from)
			close(parent);
		if (j >= keep_from)
			f->fd = fd;
		parent = fd;
	}
	w->evict_lo = keep_from;
	return 0;
}

/* Append "/name" (or "name" after a root of "/") to the path buffer. */
static int path_push(struct walk *w, const char *name, size_t len)
{
	if (w->path.len && w->path.buf[w->path.len - 1] != '/' && dbuf_addc(&w->path, '/') < 0)
		return -ENOMEM;
	return dbuf_add(&w->path, name, len);
}

static bool is_other_mount(const struct walk *w, const struct statx *stx)
{
	if (stx_dev(stx) != w->frames[w->top].dev)
		return true;
#ifdef STATX_ATTR_MOUNT_ROOT
	if ((stx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (stx->stx_attributes & STATX_ATTR_MOUNT_ROOT))
		return true;
#endif
	return false;
}

/*
 * Visit one entry of the current frame; may push a new frame.
 * Return: 0, 1 (stop), or -ENOMEM.
 */
static int visit_entry(struct walk *w, const char *name, size_t name_len,
		       uint64_t d_ino, unsigned char d_type)
{
	struct frame *parent = &w->frames[w->top];
	size_t base_len = parent->path_len;
	struct statx stx;
	struct va_walk_entry e = {
		.visit = VA_WALK_PRE,
		.at_fd = parent->fd,
		.at_name = name,
		.depth = w->top + 1,
		.root_index = w->root_index,
		.dir_fd = -1,
	};
	enum va_walk_action act;
	bool xdev = false;      /* openat2 refused to cross a mount */
	struct frame pre = { .ents = DBUF_INIT, .ino = d_ino };
	bool have_pre = false;  /* entries read (and identity checked) before the callback */
	int fd = -1, r, read_err = 0;

	if (path_push(w, name, name_len) < 0)
		return -ENOMEM;
	e.path = w->path.buf;
	e.path_len = w->path.len;
	e.name = w->path.buf + w->path.len - name_len;
	e.name_len = name_len;

	if (lazy(w, d_type) || (lazy_dir(w, d_type) &&
				(fd = open_dir(parent->fd, name, true)) >= 0)) {
		memset(&stx, 0, sizeof(stx));
		stx.stx_mask = STATX_TYPE | STATX_INO;
		stx.stx_mode = (uint16_t)DTTOIF(d_type);
		stx.stx_ino = d_ino;
		stx.stx_dev_major = parent->stx.stx_dev_major;
		stx.stx_dev_minor = parent->stx.stx_dev_minor;
		if (fd >= 0) {
			/* on the parent's mount (RESOLVE_NO_XDEV), so on its
			 * device; its identity is its listing's "." entry */
			have_pre = true;
			read_err = read_entries(w, fd, &pre, true);
			if (read_err == -ENOMEM || read_err == -VA_WALK_ECHANGED) {
				close(fd);
				free_entries(&pre);
				if (read_err == -ENOMEM)
					return read_err;
				act = report(w, &e, VA_WALK_ECHANGED, "changed during walk");
				dbuf_setlen(&w->path, base_len);
				return act == VA_WALK_STOP;
			}
		}
	} else {
		if (fd == -EXDEV)
			xdev = true;    /* a mount point: the lazy open refused it */
		fd = -1;
		/* A directory by d_type: open it first and statx the fd, which
		 * is its identity by construction (one syscall less than
		 * statx + open + fstat).  Anything else, or a failure: statx
		 * by name. */
		if (d_type == DT_DIR) {
			fd = open_dir(parent->fd, name, (w->args->flags & VA_WALK_XDEV) &&
				      w->top + 1 > w->args->mount_depth);
			if (fd == -EXDEV)
				xdev = true;
			if (fd >= 0 && statx(fd, "", AT_EMPTY_PATH, w->stx_mask, &stx) < 0) {
				close(fd);
				fd = -1;
			}
		}
		if (fd < 0 && statx(parent->fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT,
				    w->stx_mask, &stx) < 0) {
			act = report(w, &e, errno, "statx");
			dbuf_setlen(&w->path, base_len);
			return act == VA_WALK_STOP;
		}
	}
	e.stx = &stx;

	if (S_ISDIR(stx.stx_mode)) {
		bool enter;

		e.mount_point = xdev || is_other_mount(w, &stx);
		enter = !e.mount_point || !(w->args->flags & VA_WALK_XDEV) ||
			w->top + 1 <= w->args->mount_depth;
		if (!enter && fd >= 0) {
			close(fd);
			fd = -1;
		}
		if (enter && fd < 0) {
			fd = open_verified(parent->fd, name, stx_dev(&stx), stx.stx_ino);
			if (fd < 0) {
				/* ELOOP/ENOTDIR: it became a symlink or a file since statx */
				bool changed = fd == -VA_WALK_ECHANGED || fd == -ELOOP || fd == -ENOTDIR;

				act = report(w, &e, -fd, changed ? "changed during walk" : "open directory");
				dbuf_setlen(&w->path, base_len);
				return act == VA_WALK_STOP;
			}
		}
		e.dir_fd = fd;
	}

	act = w->args->callback(&e, w->args->user);
	if (act == VA_WALK_CONTINUE && fd >= 0) {
		r = push_frame(w, fd, &stx, name_len);
		if (r < 0) {
			close(fd);
			free_entries(&pre);
			return r;
		}
		if (have_pre) {
			struct frame *f = &w->frames[w->top];

			f->ents = pre.ents;
			f->order = pre.order;
			f->nents = pre.nents;
			r = read_err;
		} else {
			r = read_entries(w, fd, &w->frames[w->top], false);
		}
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			e.dir_fd = -1;
			act = report(w, &e, -r, "read directory");
			if (act == VA_WALK_STOP)
				return 1;
		}
		return 0;
	}
	if (fd >= 0)
		close(fd);
	free_entries(&pre);
	dbuf_setlen(&w->path, base_len);
	return act == VA_WALK_STOP;
}

/* Leave the current frame, with the POST visit when asked for. */
static int leave_frame(struct walk *w)
{
	struct frame *f = &w->frames[w->top];
	enum va_walk_action act = VA_WALK_CONTINUE;

	if (w->args->flags & VA_WALK_POSTORDER) {
		struct va_walk_entry e = {
			.visit = VA_WALK_POST,
			.path = w->path.buf,
			.path_len = f->path_len,
			.name = w->path.buf + f->path_len - f->name_len,
			.name_len = f->name_len,
			.at_fd = -1,
			.depth = w->top,
			.root_index = w->root_index,
			.stx = &f->stx,
			.dir_fd = -1,
		};

		e.at_name = e.name;
		act = w->args->callback(&e, w->args->user);
	}
	pop_frame(w);
	return act == VA_WALK_STOP;
}

static int walk_frames(struct walk *w)
{
	int r;

	while (w->nframes) {
		struct frame *f = &w->frames[w->top];
		const char *name;
		size_t len;

		if (f->next >= f->nents) {
			if ((r = leave_frame(w)) != 0)
				return r;
			continue;
		}
		if (f->fd < 0) {
			size_t bad = w->top;
			int parent_fd = -1;

			r = reopen(w, w->top, &bad, &parent_fd);
			if (r == -ENOMEM)
				return r;
			if (r < 0) {
				struct frame *b = &w->frames[bad];
				struct va_walk_entry e = {
					.path = w->path.buf,
					.path_len = b->path_len,
					.name = w->path.buf + b->path_len - b->name_len,
					.name_len = b->name_len,
					.at_fd = parent_fd,
					.depth = bad,
					.root_index = w->root_index,
					.stx = &b->stx,
					.dir_fd = -1,
				};
				char saved = w->path.buf[b->path_len];
				enum va_walk_action act;

				e.at_name = e.name;
				w->path.buf[b->path_len] = '\0';
				act = report(w, &e, -r, r == -VA_WALK_ECHANGED ?
					     "changed during walk" : "reopen directory");
				w->path.buf[b->path_len] = saved;
				if (parent_fd >= 0 && parent_fd != w->frames[bad - 1].fd)
					close(parent_fd);
				while (w->nframes > bad)
					pop_frame(w);
				if (act == VA_WALK_STOP)
					return 1;
				continue;
			}
		}
		{
			uint64_t d_ino;
			unsigned char d_type;

			const char *rec = f->ents.buf + f->order[f->next++];

			memcpy(&d_ino, rec, sizeof(d_ino));
			d_type = (unsigned char)rec[sizeof(d_ino)];
			name = rec + sizeof(d_ino) + 1;
			len = strlen(name);
			if ((r = visit_entry(w, name, len, d_ino, d_type)) != 0)
				return r;
		}
	}
	return 0;
}

static int walk_root(struct walk *w, const char *root)
{
	size_t len = strlen(root);
	struct statx stx;
	struct va_walk_entry e = {
		.visit = VA_WALK_PRE,
		.at_fd = AT_FDCWD,
		.at_name = root,
		.root_index = w->root_index,
		.dir_fd = -1,
	};
	enum va_walk_action act;
	int fd, r;

	while (len > 1 && root[len - 1] == '/')
		len--;
	dbuf_setlen(&w->path, 0);
	if (dbuf_add(&w->path, root, len) < 0)
		return -ENOMEM;
	e.path = e.name = w->path.buf;
	e.path_len = e.name_len = len;

	if (statx(AT_FDCWD, root, AT_NO_AUTOMOUNT, w->stx_mask, &stx) < 0)
		return report(w, &e, errno, "statx") == VA_WALK_STOP;
	e.stx = &stx;
	fd = -1;
	if (S_ISDIR(stx.stx_mode)) {
		fd = openat(AT_FDCWD, root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd >= 0) {
			struct stat st;

			if (fstat(fd, &st) < 0 || st.st_dev != stx_dev(&stx) ||
			    (uint64_t)st.st_ino != stx.stx_ino) {
				close(fd);
				return report(w, &e, VA_WALK_ECHANGED, "changed during walk") == VA_WALK_STOP;
			}
		} else {
			return report(w, &e, errno, "open directory") == VA_WALK_STOP;
		}
		e.dir_fd = fd;
	}
	act = w->args->callback(&e, w->args->user);
	if (act != VA_WALK_CONTINUE || fd < 0) {
		if (fd >= 0)
			close(fd);
		return act == VA_WALK_STOP;
	}
	w->evict_lo = 1;
	if ((r = push_frame(w, fd, &stx, len)) < 0) {
		close(fd);
		return r;
	}
	r = read_entries(w, fd, &w->frames[0], false);
	if (r == -ENOMEM)
		return r;
	if (r < 0 && report(w, &e, -r, "read directory") == VA_WALK_STOP)
		r = 1;
	else
		r = walk_frames(w);
	while (w->nframes)
		pop_frame(w);
	return r;
}

int va_walk(const struct va_walk_args *args)
{
	struct walk w = { .args = args };
	int r = 0;

	if (!args || !args->callback || (args->nroots && !args->roots))
		return -EINVAL;
	w.stx_mask = args->stx_mask ? args->stx_mask : STATX_BASIC_STATS;
	w.budget = args->fd_budget ? args->fd_budget : default_budget();
	if (w.budget < 4)
		w.budget = 4;
	for (size_t i = 0; i < args->nroots && r == 0; i++) {
		w.root_index = i;
		r = walk_root(&w, args->roots[i]);
	}
	while (w.nframes)
		pop_frame(&w);
	free(w.frames);
	free(w.getdents_buf);
	dbuf_release(&w.path);
	return r;
}
