/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fileops.h - file primitives of the unify tools, all through fds.
 *
 * Nothing here takes a path: a file is reached as (directory fd, name),
 * opened with O_NOFOLLOW and checked against the identity the caller saw
 * (device and inode number), and changed only through that fd.  No
 * printing; errors are negative errnos.
 */
#ifndef VAUDIT_FILEOPS_H
#define VAUDIT_FILEOPS_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/**
 * va_open_regular() - open regular file @name in @dir_fd for reading
 * (O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC, and O_NOATIME where
 * the kernel allows it) and check that it is a regular file with device
 * @dev and inode @ino.  @ret (may be NULL) receives statx() of the opened
 * fd (STATX_BASIC_STATS).  The name is looked at before it is opened and
 * the fd checked after (va_safeopen_verified(), VA_SAFEOPEN_LOOK_FIRST).
 * Return: the fd, or -ELOOP (a symlink now), -ESTALE (another inode),
 * -EISDIR/-EINVAL (not a regular file), or another -errno.
 */
int va_open_regular(int dir_fd, const char *name, dev_t dev, uint64_t ino, struct statx *ret);

/**
 * va_same_stx() - whether @a and @b describe the same inode in the same
 * state: device, inode, size, mtime and ctime (with nanoseconds).
 */
bool va_same_stx(const struct statx *a, const struct statx *b);

/**
 * va_content_equal() - compare the first @size bytes of two open files,
 * byte for byte (pread, large blocks; stops at the first difference).
 * Return: 1 equal, 0 different (also when one is shorter), or -errno.
 */
int va_content_equal(int fd_a, int fd_b, uint64_t size);

/**
 * va_xattrs_equal() - whether two open files carry the same extended
 * attributes: the same set of names and byte-equal values, in every
 * namespace the caller can list (user., trusted., security. such as file
 * capabilities, system.posix_acl_access/default).
 * Return: 1 equal, 0 different, or -errno (-ENOTSUP counts as "none").
 */
int va_xattrs_equal(int fd_a, int fd_b);

/**
 * va_copy_data() - the data of @src (its first @size bytes) into the empty
 * @dst at the same offsets, holes left as holes (SEEK_DATA/SEEK_HOLE,
 * copy_file_range where it works, else read and write); @dst ends at
 * @size.  @src's file offset is left as it was.  Return: 0 or -errno.
 */
int va_copy_data(int src, int dst, off_t size);

/**
 * va_copy_tmpfile() - an unnamed private copy of @src_fd in directory
 * @dir_fd: open(O_TMPFILE), the content (holes kept, SEEK_DATA/SEEK_HOLE),
 * then owner (fchown), mode (fchmod, after the chown that clears set-id
 * bits), every extended attribute (libattr attr_copy_fd(), nothing
 * filtered: ACLs and security.capability included; set after the chown,
 * which drops capabilities) and last atime/mtime with nanoseconds.  No
 * inode flags are copied (the copy is neither immutable nor append-only).
 * Return: the new fd (O_RDWR, not yet linked anywhere), or -errno
 * (-EOPNOTSUPP where the filesystem has no O_TMPFILE).
 */
int va_copy_tmpfile(int src_fd, int dir_fd);

/**
 * va_fs_failing() - whether error @r (negative) means the filesystem itself
 * is failing (I/O error, full, read-only): a run stops there instead of
 * going on with the next file.
 */
static inline bool va_fs_failing(int r)
{
	return r == -EIO || r == -ENOSPC || r == -EDQUOT || r == -EROFS;
}

/**
 * va_copy_metadata() - give the open file or directory @dst_fd the owner,
 * mode, extended attributes and atime/mtime of @src_fd, as
 * va_copy_tmpfile() does for its copy (attributes @dst_fd has and @src_fd
 * lacks, such as an inherited default ACL, are removed).
 * Return: 0 or -errno.
 */
int va_copy_metadata(int src_fd, int dst_fd);

/**
 * va_link_fd() - give the open file @fd the name @name in @dir_fd
 * (linkat with AT_EMPTY_PATH, else through /proc/self/fd).  Works for an
 * O_TMPFILE file and for any other open file.  Never replaces a name.
 * Return: 0, -EEXIST, -EMLINK, -EXDEV, or another -errno.
 */
int va_link_fd(int fd, int dir_fd, const char *name);

/** Size of a buffer for va_tmpname(). */
#define VA_TMPNAME_MAX (NAME_MAX + 1)

/**
 * va_tmpname() - a fresh temporary name next to @name: "NAME;XXXXXX" with
 * six random characters from [A-Za-z0-9] (util-vserver's pattern, which
 * vaudit reports as unify-leftover if one survives a crash); when that
 * does not fit in NAME_MAX, NAME is shortened (at a byte boundary) first.
 * @out must hold VA_TMPNAME_MAX bytes.
 */
void va_tmpname(const char *name, char *out);

/**
 * va_tmpname_keyed() - like va_tmpname(), but the six characters are a
 * function of @key: the same name for the same key in every run, so that
 * a run after an interrupted one knows which temporary name to look for.
 */
void va_tmpname_keyed(const char *name, uint64_t key, char *out);

/**
 * va_replace_name() - atomically put the file linked at @tmp over @name in
 * the same directory @dir_fd, and check that what was replaced is the
 * inode @old_dev/@old_ino: renameat2(RENAME_EXCHANGE) (the old inode then
 * sits at @tmp and is checked and unlinked; on a mismatch the exchange is
 * undone and -ESTALE returned), falling back to a check + renameat() where
 * the filesystem cannot exchange.  @name never disappears.  When the old
 * inode cannot be unlinked from @tmp after the exchange (it became
 * immutable meanwhile), the exchange is undone where the kernel lets it
 * and the unlink's error returned.  The kernel does not move an immutable
 * or append-only inode, so then @name keeps the new file and the old inode
 * stays at @tmp (the caller tells the two cases by the inode at @name).
 * Return: 0, -ESTALE (@name is no longer the expected inode; nothing
 * changed, @tmp is still there for the caller to remove), or -errno.
 * After a failure @tmp may hold another inode than the caller linked there
 * (an exchange back that failed, a racing rename): remove it with
 * va_unlink_inode(), never with a plain unlink.
 */
int va_replace_name(int dir_fd, const char *tmp, const char *name, dev_t old_dev, uint64_t old_ino);

/**
 * va_unlink_inode() - remove the name @name in @dir_fd only if it is the
 * inode @dev/@ino (checked without following a symlink right before the
 * unlink), e.g. a temporary name the caller linked: whatever else is found
 * there (a guest's file renamed onto it) is left alone.
 *
 * Not airtight: no system call removes a name only if it still refers to a
 * given inode, so a rename onto @name between the check and the unlink
 * (a few microseconds, by a process that can write to @dir_fd) still loses
 * the file renamed there.  Unpredictable temporary names (va_tmpname())
 * keep that window hard to hit on purpose.
 * Return: 0, -ESTALE (another inode: nothing removed), -ENOENT, or -errno.
 */
int va_unlink_inode(int dir_fd, const char *name, dev_t dev, uint64_t ino);

/**
 * va_write_replace() - give @name in @dir_fd the content @buf (@len bytes)
 * and mode @mode, atomically: a reader sees the old file or the new one,
 * never a part.  The bytes go to a new hidden file next to it
 * (".NAME.XXXXXX.tmp", O_EXCL|O_NOFOLLOW: never another file), which is
 * fsynced, renamed over @name (a symlink at @name is replaced, not
 * followed) and the directory fsynced.  On failure the temporary file is
 * removed and @name left as it was; *@ret_what says which step failed
 * ("create", "write", "fsync", "rename", "fsync directory": static text).
 * Return: 0 or -errno.
 */
int va_write_replace(int dir_fd, const char *name, const void *buf, size_t len, mode_t mode,
		     const char **ret_what);

#endif
