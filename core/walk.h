/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * walk.h - the one safe tree walker.
 *
 * va_walk() visits every entry below one or more roots, depth first, using
 * only directory file descriptors: each directory is opened with openat()
 * relative to its parent (O_NOFOLLOW|O_DIRECTORY) and checked against the
 * dev/ino that statx() reported for it, entries are read with getdents64()
 * and examined with statx(AT_SYMLINK_NOFOLLOW).  It never follows a
 * symbolic link below a root, never chdir()s, never builds a path for a
 * system call (so paths far beyond PATH_MAX work), and is iterative (depth
 * is limited only by memory).  Open directory fds are bounded: the
 * shallowest ones are closed when the budget is exceeded and reopened
 * (component by component, each checked by dev/ino) when the walk returns.
 *
 * Names may contain any byte but NUL and '/'.  Errors are reported per
 * entry through the callback (VA_WALK_ERROR) and the walk goes on.
 * Only directories are ever opened; devices, FIFOs and sockets are never
 * touched beyond statx().  A directory entry whose d_type says directory is
 * opened first and examined with statx() on the fd (its identity by
 * construction); other entries get statx() by name first.  Entries of a
 * directory are visited in inode-number order, which keeps a cold-cache
 * walk moving forwards through the inode table.
 */
#ifndef VAUDIT_WALK_H
#define VAUDIT_WALK_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/** What the callback wants next. */
enum va_walk_action {
	VA_WALK_CONTINUE, /**< go on; descend into this directory */
	VA_WALK_PRUNE,    /**< do not descend into this directory */
	VA_WALK_STOP,     /**< end the whole walk */
};

/** Why the callback is called. */
enum va_walk_visit {
	VA_WALK_PRE,   /**< an entry (directories: before their contents) */
	VA_WALK_POST,  /**< a directory after its contents (VA_WALK_POSTORDER) */
	VA_WALK_ERROR, /**< something failed for this entry; see error/error_op */
};

/** Walk options (bit set). */
enum va_walk_flags {
	VA_WALK_XDEV      = 1 << 0, /**< do not enter other filesystems or mounts */
	VA_WALK_POSTORDER = 1 << 1, /**< also call back after a directory's contents */
	VA_WALK_LAZY_DIRS = 1 << 2, /**< below mount_depth, a directory (by its entry's
					 d_type) is opened without statx(): only on its
					 parent's mount (a mount point is refused by the
					 open, then looked at with statx() as usual), its
					 entries read and its identity checked (its "."
					 entry's inode number, or statx() of its fd where
					 the filesystem lists no ".") before the callback;
					 its stx holds only the type, the inode number
					 (STATX_TYPE|STATX_INO) and the parent's device.
					 A directory that is not the one listed any more is
					 an error "changed during walk", not visited */
};

/** One visited entry.  Valid only during the callback. */
struct va_walk_entry {
	enum va_walk_visit visit;
	const char *path;       /**< display path: the root as given, then "/name"... */
	size_t path_len;
	const char *name;       /**< last component (the whole root for depth 0) */
	size_t name_len;
	int at_fd;              /**< parent directory fd (AT_FDCWD for a root; -1 in POST) */
	const char *at_name;    /**< name relative to at_fd (NUL-terminated) */
	size_t depth;           /**< 0 for a root */
	size_t root_index;      /**< index into va_walk_args.roots */
	const struct statx *stx;/**< statx result, or NULL when statx failed */
	int dir_fd;             /**< PRE of a directory about to be entered: its open,
				     verified fd (valid until the callback returns); else -1 */
	bool mount_point;       /**< a directory on another filesystem/mount (not entered
				     with VA_WALK_XDEV) */
	int error;              /**< VA_WALK_ERROR: positive errno */
	const char *error_op;   /**< VA_WALK_ERROR: what failed, e.g. "open directory" */
};

typedef enum va_walk_action va_walk_fn(const struct va_walk_entry *entry, void *user);

/** Arguments of va_walk(). */
struct va_walk_args {
	const char *const *roots; /**< root paths; a root that is a symlink is followed */
	size_t nroots;
	unsigned flags;           /**< enum va_walk_flags */
	unsigned stx_mask;        /**< statx mask; 0 means STATX_BASIC_STATS */
	size_t fd_budget;         /**< max directory fds held; 0 = from RLIMIT_NOFILE */
	unsigned lazy_types;      /**< bit set of (1 << DT_xxx): entries of these types (by
				       their directory entry's d_type) are reported without a
				       statx() call; their stx then holds only the type, the
				       inode number (STATX_TYPE|STATX_INO in stx_mask) and
				       the parent's device.  Never DT_DIR.  A regular file
				       given so may be a mount point of a file (a bind
				       mount): reach it with a verified open. */
	size_t mount_depth;       /**< with VA_WALK_XDEV: a directory at depth 1..mount_depth
				       that is a mount point is still entered, and the walk
				       below it stays on its filesystem (guest roots on their
				       own filesystems); 0 = stay on the root's filesystem */
	va_walk_fn *callback;
	void *user;
};

/**
 * va_walk() - walk the trees.
 * Return: 0 when every root was walked, 1 when the callback said
 * VA_WALK_STOP, or a negative errno for a failure that stops the walk
 * (-ENOMEM, -EINVAL for bad arguments).  Per-entry failures, a missing
 * root included, go to the callback and are not part of the return value.
 */
int va_walk(const struct va_walk_args *args);

/** ESTALE is reported (error_op "changed during walk") when a directory's
 *  dev/ino no longer matches what statx saw: someone swapped it. */
#define VA_WALK_ECHANGED ESTALE

#endif
