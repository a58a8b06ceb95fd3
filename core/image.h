/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * image.h - ext2/3/4 filesystems opened with libext2fs, outside the kernel.
 *
 * An image is a filesystem image file or a block device.  Read-only opens
 * never write anything.  A write open (for the repair engine) refuses a
 * mounted device (va_image_mounted), opens the device exclusively
 * (O_EXCL) and refuses a filesystem whose journal needs recovery.  Nothing
 * is ever written to a mounted filesystem through libext2fs.
 *
 * Errors are libext2fs/com_err codes or errno values (both are errcode_t);
 * va_image_strerror() turns either into text.  va_image_open() says why it
 * failed in a struct va_error (core/message.h).
 */
#ifndef VAUDIT_IMAGE_H
#define VAUDIT_IMAGE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ext2fs/ext2fs.h>

#include "core/xidtag.h"

/** Open flags (bit set). */
enum va_image_flags {
	VA_IMAGE_WRITE        = 1 << 0, /**< read-write, exclusive, unmounted, journal clean */
	VA_IMAGE_LENIENT      = 1 << 1, /**< read-only: ignore checksum errors (a mounted,
					     live device whose metadata may be in flight) */
	VA_IMAGE_ALLOW_MOUNTED = 1 << 2,/**< read-only: do not refuse a mounted device */
};

struct va_image {
	ext2_filsys fs;
	char *path;
	bool mounted;               /**< the device is mounted (read-only opens only) */
	bool needs_recovery;        /**< the journal has not been replayed */
};

/** va_image_inodes_used() - the inodes in use, as the superblock counts them (what an image audit visits). */
static inline uint64_t va_image_inodes_used(const struct va_image *img)
{
	return (uint64_t)img->fs->super->s_inodes_count - img->fs->super->s_free_inodes_count;
}

/**
 * va_image_open() - open the ext2/3/4 filesystem in @path.
 * @err: NULL, or (initialised) receives the failure: "'PATH': WHY" when
 *       the refusal is ours (not an image file or a block device, mounted,
 *       the journal needs recovery), else "'PATH': cannot open as
 *       ext2/3/4: REASON".
 * Return: 0 with *@ret set, or an errcode_t.
 */
struct va_error;
errcode_t va_image_open(const char *path, unsigned flags, struct va_image **ret,
			struct va_error *err);

/**
 * va_image_mounted() - whether the filesystem in @path (a block device or an
 * image file) is mounted or used as swap: a mount or swap source that is the
 * same device (by number, also through the source's name), or a loop device
 * backed by the same image file (by inode).  Reads /proc/self/mountinfo and
 * /proc/swaps and opens matching loop devices read-only; writes nothing.
 * libext2fs' ext2fs_check_if_mounted() is not used anywhere: on the device
 * mounted at / it creates and removes /.ismount-test-file to see whether
 * the root is read-only, so even a read-only audit would write to the host.
 * Return: 0 with *@ret_mounted set, or an errno value (the mount table
 * cannot be read).
 */
errcode_t va_image_mounted(const char *path, bool *ret_mounted);

/** va_image_close() - close (flushing a write open); NULL is fine.  Return: errcode. */
errcode_t va_image_close(struct va_image *img);

/** va_image_strerror() - text for an errcode_t or errno: va_error_reason() (core/message.h). */
const char *va_image_strerror(errcode_t code);

/**
 * va_image_read_inode() - the raw i_flags, mode and link count of inode @ino.
 * Return: 0, or an errcode_t (EXT2_ET_BAD_INODE_NUM, ...).
 */
errcode_t va_image_read_inode(struct va_image *img, uint64_t ino, uint32_t *ret_flags,
			      uint32_t *ret_mode, uint32_t *ret_links);

/**
 * va_image_lookup() - the inode of the directory @path inside the image
 * (absolute, "/" for the filesystem root).  Symbolic links inside the image
 * are followed only as ext2fs_namei() does, never on the host.
 * Return: 0, or an errcode_t (ENOTDIR when it is not a directory).
 */
errcode_t va_image_lookup_dir(struct va_image *img, const char *path, uint64_t *ret_ino);

/**
 * va_image_resolve() - the inode @path (@len bytes, absolute) names inside
 * the image, strictly: every component a plain name (an empty, "." or ".."
 * component is refused), every directory on the way a real directory (a
 * symbolic link there is refused), the last component not followed.
 * Return: 0, or an errcode_t: EINVAL (a bad component), ELOOP (a symlink
 * on the way), ENOTDIR, EXT2_ET_FILE_NOT_FOUND, ...
 */
errcode_t va_image_resolve(struct va_image *img, const char *path, size_t len, uint64_t *ret_ino);

/**
 * va_image_inode_tag() - the xid tag of @inode under @scheme (the schemes
 * of core/xidtag.h; those in the ids decoded by va_tag_decode()), 0 for none.
 * @how: receives the scheme that found a non-zero tag (a name), may be NULL.
 */
uint32_t va_image_inode_tag(const struct va_image *img, const struct ext2_inode *inode,
			    enum va_tag_scheme scheme, const char **how);

/**
 * va_image_for_dev() - find the block device of a mounted filesystem by its
 * st_dev (through /sys/dev/block) and open it read-only and lenient.
 * Return: 0 with *@ret set, or an errcode_t (ENODEV when there is no such
 * block device, EXT2_ET_BAD_MAGIC when it is not ext2/3/4).
 */
errcode_t va_image_for_dev(dev_t dev, struct va_image **ret);

/** Size of the text va_image_uuid() writes (36 characters and a NUL). */
#define VA_UUID_TEXT 37

/**
 * va_image_uuid() - the UUID of @img's filesystem as text, or when @img is
 * NULL of the (ext2/3/4) filesystem holding @path; "unknown" when there is
 * none.  The UUID ties a journal to its filesystem.
 */
void va_image_uuid(struct va_image *img, const char *path, char out[VA_UUID_TEXT]);

#endif
