/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attr.h - attribute back ends behind one ops table.
 *
 * A back end answers one question: what are the flags of this inode?  The
 * live back end (attr-live.c) asks the running kernel: FS_IOC_GETFLAGS on a
 * verified fd for the ext2-style bits, and the vserver iattr syscall, where
 * the kernel has it, for the 2.6 attributes.  The image back end (a later
 * addition) reads raw i_flags with libext2fs and plugs in beside it.
 *
 * Callers never hand a back end a path: a target is an inode identity plus
 * either an open fd or a (directory fd, name) pair from the walker.
 */
#ifndef VAUDIT_ATTR_H
#define VAUDIT_ATTR_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/** What a back end could answer (bit set in va_attrs.known). */
enum va_attr_known {
	VA_KNOWN_EXT2 = 1 << 0, /**< va_attrs.flags holds the ext2 i_flags bits */
	VA_KNOWN_VS26 = 1 << 1, /**< va_attrs.flags also holds the 2.6 vserver bits */
};

/** The attributes of one inode, in the raw on-disk i_flags encoding. */
struct va_attrs {
	uint32_t flags;
	unsigned known;         /**< enum va_attr_known */
	uint32_t mode;          /**< st_mode as the back end saw it (0 = not read) */
	uint32_t gen;           /**< inode generation (i_generation) */
	bool gen_known;
};

/** The inode to read: identity plus a way to reach it without a path. */
struct va_attr_target {
	int fd;                 /**< an open, verified fd of the inode, or -1 */
	int dir_fd;             /**< its parent directory (AT_FDCWD for a root) ... */
	const char *name;       /**< ... and its name there (never followed); used
				     to open it when fd == -1 */
	dev_t dev;              /**< identity the opened inode must match */
	uint64_t ino;
	uint32_t mode;          /**< st_mode from statx; only files and dirs are opened */
	size_t root_index;      /**< live walks: which ROOT it is under */
	bool vs26_hint;         /**< live, without the vserver syscall: @vs26_flags are
				     this inode's 2.6 bits as just read from its device
				     (an inode table snapshot): used instead of reading
				     the device again */
	uint32_t vs26_flags;
};

struct va_backend;

/** Back end operations.  `size` is sizeof(struct va_backend_ops), for growth. */
struct va_backend_ops {
	size_t size;
	const char *name;       /**< "live", "image" */
	/**
	 * read() - fill @ret with what the back end knows of @t.
	 * Return: 0, or a negative errno: -ELOOP/-ENOTDIR when the name no
	 * longer is what the walker saw (-ESTALE for a dev/ino mismatch),
	 * -EOPNOTSUPP when the filesystem has no flags, -EACCES, ...
	 */
	int (*read)(struct va_backend *be, const struct va_attr_target *t, struct va_attrs *ret);
	/**
	 * write() - set the flags and the permission bits of @t (which must
	 * still be the inode read before), and read them back into @ret
	 * (flags, known, mode; not the generation, which no write changes).
	 * Live: FS_IOC_SETFLAGS and fchmod() on a verified fd, and the
	 * vserver syscall's set_iattr for the 2.6 bits where the kernel has
	 * it (-EOPNOTSUPP where it does not).  Image: the raw inode through
	 * libext2fs.  NULL for a read-only back end.
	 * Return: 0 or a negative errno.
	 */
	int (*write)(struct va_backend *be, const struct va_attr_target *t, uint32_t flags,
		     uint32_t mode, struct va_attrs *ret);
	/**
	 * locate() - the inode an absolute path in the filesystem names,
	 * without following its last component (image back end; NULL live,
	 * where the walker reaches inodes).  Return: 0 or a negative errno.
	 */
	int (*locate)(struct va_backend *be, const char *path, uint64_t *ret_ino);
	/** destroy() - free the back end. */
	void (*destroy)(struct va_backend *be);
};

/** Capabilities of an opened back end. */
enum va_backend_caps {
	VA_CAP_VS26 = 1 << 0,       /**< can read the 2.6 vserver attributes */
	VA_CAP_VS26_WRITE = 1 << 1, /**< can change them (image; live with the syscall) */
	/**
	 * read() of a target with fd == -1 and vs26_hint set may run on
	 * several threads at once, beside calls of read() on the back end's
	 * own thread (live: it then touches no state of the back end).
	 */
	VA_CAP_CONCURRENT_READ = 1 << 2,
};

struct va_backend {
	const struct va_backend_ops *ops;
	unsigned caps;          /**< enum va_backend_caps */
	int vs26_errno;         /**< why the syscall is missing (e.g. ENOSYS), else 0 */
	/** Optional: called with a one-line notice for the user (the back end
	 *  never prints), e.g. which device 2.6 bits are read from. */
	void (*notice)(const char *msg, void *user);
	void *notice_user;
	void *priv;             /**< back end's own state */
};

/** Live back end options. */
enum va_live_flags {
	/**
	 * Where the vserver syscall is missing, read the 2.6 bits of each
	 * inode from the raw block device of its (ext2/3/4) filesystem with
	 * libext2fs, read-only.  Data the kernel has not written back yet may
	 * be stale; a notice says so once per device.
	 */
	VA_LIVE_DEVICE_READ = 1 << 0,
};

/**
 * va_backend_live_new() - the live back end.  Probes the vserver iattr
 * syscall once; when the kernel lacks it, VA_CAP_VS26 is set only with
 * VA_LIVE_DEVICE_READ (the answer is then per inode: va_attrs.known), and
 * vs26_errno says why the syscall is missing (ENOSYS).
 * Return: 0 with *@ret set, or -ENOMEM.
 */
int va_backend_live_new(struct va_backend **ret, unsigned flags);

struct va_image;

/**
 * va_backend_image_new() - the image back end: raw i_flags of t->ino in
 * @img (t->fd, t->dir_fd and t->name are ignored).  @img stays the
 * caller's.  Return: 0 or -ENOMEM.
 */
int va_backend_image_new(struct va_backend **ret, struct va_image *img);

/** va_backend_read() - call be->ops->read. */
static inline int va_backend_read(struct va_backend *be, const struct va_attr_target *t,
				  struct va_attrs *ret)
{
	return be->ops->read(be, t, ret);
}

/** va_backend_write() - call be->ops->write (-EROFS when there is none). */
static inline int va_backend_write(struct va_backend *be, const struct va_attr_target *t,
				   uint32_t flags, uint32_t mode, struct va_attrs *ret)
{
	return be->ops->write ? be->ops->write(be, t, flags, mode, ret) : -EROFS;
}

/**
 * va_backend_set() - va_backend_write() of @flags and @mode, then the
 * flags read back must be @flags.  Return: 0, -EIO (they are not), or
 * the write's error.
 */
static inline int va_backend_set(struct va_backend *be, const struct va_attr_target *t, uint32_t flags,
				 uint32_t mode)
{
	struct va_attrs after = { 0 };
	int r = va_backend_write(be, t, flags, mode, &after);

	return r == 0 && after.flags != flags ? -EIO : r;
}

/** va_backend_free() - destroy @be (NULL is fine). */
static inline void va_backend_free(struct va_backend *be)
{
	if (be)
		be->ops->destroy(be);
}

/**
 * va_open_verified() - open @name in @dir_fd without following symlinks and
 * check that it is the inode @dev/@ino, a regular file or a directory.
 * O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC; devices, FIFOs and
 * sockets are refused before any open (-EOPNOTSUPP, from @mode).
 * @ret_mode (may be NULL): the opened inode's st_mode (from the statx that
 * verified it: no second stat needed).
 * Return: the fd, or -errno (-ESTALE when the identity does not match).
 */
int va_open_verified(int dir_fd, const char *name, dev_t dev, uint64_t ino, uint32_t mode,
		     uint32_t *ret_mode);

#endif
