/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clone-int.h - what the parts of the clone share (not an API).
 *
 *   clone.c        the walk: what each source entry becomes
 *   clone-make.c   batches: records first, then the entries; marks after a syncfs
 *   clone-undo.c   removing what a clone journal records
 *   clone-tag.c    the xid tag of what is copied or made (va_clone_opts.tag)
 */
#ifndef VAUDIT_CLONE_INT_H
#define VAUDIT_CLONE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/dbuf.h"
#include "core/inomap.h"
#include "migrate/clone/clone.h"

/** Entries per batch (each holds an fd of its source file). */
#define CLONE_BATCH 256

/** Marks ('M', 'D') held back until one syncfs puts what they describe on disk. */
#define CLONE_MARKS 4096

/** A directory being filled. */
struct cdir {
	int src_fd, dst_fd;     /* dst_fd -1 in a dry run */
	bool copy_only;         /* excluded, or below an excluded directory */
	bool made;              /* made by the clone (an existing root is not) */
	size_t dpath_len;       /* c->dpath's length for this directory */
	char *path;             /* a directory whose walk is over, its entries still in
				   the batch (c->fin): its destination path */
};

/** One entry of the batch. */
struct citem {
	char kind;              /* 'f' copy, 'h' unified (link), 'H' another name of a copy,
				   'l' symlink, 'p' FIFO, 'c'/'b' device */
	int src_fd;             /* regular files: the verified source, else -1 */
	struct statx stx;       /* the source */
	uint32_t flags;         /* 'h': its inode flags */
	uint32_t copy;          /* index in c->cp (a hard-linked file), or UINT32_MAX */
	int dfd;                /* its destination directory (c->dirs' or c->fin's fd, not owned) */
	char *name, *src, *target, *path;       /* path: the destination path */
	size_t src_len, path_len;
	uint64_t seq, iseq;     /* its 'C' record; 'h': the 'I' record of lifted flags, or 0 */
	bool shared_lift;       /* 'h': iseq is an earlier entry's of the batch (one inode) */
	bool flags_back;        /* 'h' with iseq: the lifted flags were put back (its 'D' mark) */
	bool made;
	bool early;             /* linked while an earlier entry had its inode's flags lifted */
	int early_r;            /* ... with this result */
	const char *early_what;
	struct stat made_st;    /* what was made */
};

/** A copy whose source has other names: where its first name is. */
struct ccopy {
	char *rel;              /* below the destination root, no leading '/' */
	uint64_t ino;           /* the copy's inode, 0 until made */
};

struct crun {
	const struct va_clone_opts *o;
	struct va_clone_stats *st;
	const char *src;
	size_t src_len;         /* of the walk's root path, for guest-relative paths */
	int dst_fd;             /* the destination root until the walk takes it */
	int parent_fd;          /* the destination's parent directory */
	dev_t dst_dev;
	bool dst_made;
	size_t droot_len;       /* the destination root's path length */
	struct cdir *dirs;
	size_t ndirs, capdirs;
	struct dbuf dpath;      /* the destination path of the current directory */
	struct dbuf rel;        /* guest-relative path of the entry */
	struct dbuf scratch;
	struct citem *items;
	size_t nitems, capitems;
	struct va_inomap stores;/* inodes of the hash stores' entries */
	struct va_inomap copies;/* source (dev, ino) -> index in @cp */
	struct ccopy *cp;
	size_t ncp, capcp;
	struct cdir *fin;       /* directories walked whose entries are in the batch */
	size_t nfin, capfin;
	struct va_journal_rec *marks;   /* 'M' and 'D' marks held back until a syncfs */
	size_t nmarks, capmarks;
	int sync_fd;            /* the destination root (a dup), for syncfs; -1 */
	size_t marks_limit;     /* CLONE_MARKS (VAUDIT_TEST_CLONE_MARKS: fewer, for the tests) */
	int fatal;
};

void c_event(struct crun *c, enum va_clone_action a, const char *path, size_t len, const char *src,
	     size_t src_len, uint64_t size, int err, const char *what);

/** c_dst_path() - the destination path of @name in the current directory (c->scratch). */
const char *c_dst_path(struct crun *c, const char *name);

/**
 * c_mkdir() - make directory @name in @parent_fd (the current directory,
 * path c->dpath): the batch's records and its own on disk at once, the
 * batch's entries made, then it; *@ret_fd its open fd (-1 in a dry run).
 * Return: 0, or -errno after an ERROR event (c->fatal set when the
 * journal failed).
 */
int c_mkdir(struct crun *c, int parent_fd, const char *name, const char *src, size_t src_len,
	    int *ret_fd);

/** c_copy_add() - remember that the source inode @dev/@ino is copied to @name here.  Return: 0 or -ENOMEM. */
int c_copy_add(struct crun *c, dev_t dev, uint64_t ino, const char *name, uint32_t *ret);

/** c_queue() - add @it (its fds and strings now the batch's) to the batch; flushed when full. */
int c_queue(struct crun *c, struct citem *it, const char *name, const char *src, size_t src_len);

/** c_flush() - record and make the batch's entries, then finish the directories in c->fin. */
int c_flush(struct crun *c);

/** c_finish_dir() - set the metadata of directory @d (when made), close its fds. */
void c_finish_dir(struct crun *c, struct cdir *d, const char *path, size_t len);

/**
 * c_sync_marks() - when @all or CLONE_MARKS are held back: one syncfs of
 * the destination, then the held-back marks written to the journal.
 * Return: 0 or -errno.
 */
int c_sync_marks(struct crun *c, bool all);

/**
 * c_tag() - the tag step of entry @it (destination path @path, @len
 * bytes), just made in @dfd as it->made_st: unless va_clone_opts.tag is
 * NULL or @it is a link ('h', 'H'), the tag is set and it->made_st is
 * what the entry is after it (the 'M' record's status change time); in a
 * dry run only whether the tag fits its owner.
 * Return: 0, or -errno after an ERROR event (ERANGE: the owner does not
 * fit the scheme; the entry stays made either way).
 */
int c_tag(struct crun *c, int dfd, struct citem *it, const char *path, size_t len);

/**
 * c_tag_dir() - the tag step of directory @d (path @path, @len bytes) the
 * clone made, after its owner was set (its dst_fd is -1 in a dry run).
 * Return: as c_tag().
 */
int c_tag_dir(struct crun *c, const struct cdir *d, const char *path, size_t len);

/** c_release() - free what the batch and the copy table hold. */
void c_release(struct crun *c);

#endif
