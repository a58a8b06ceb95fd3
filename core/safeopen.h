/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * safeopen.h - the one way vaudit opens a name it does not trust.
 *
 * Guest trees are hostile: any name may become a symbolic link, a device
 * node or another inode between two system calls.  Every open of a name
 * below a directory fd goes through this module, under one policy:
 *
 *  - No symbolic link is ever followed where this module resolves a name,
 *    magic links (/proc/PID/fd/N) included.  One name (va_safeopen_at())
 *    is opened with O_NOFOLLOW added: a symlink fails with -ELOOP, or
 *    -ENOTDIR with O_DIRECTORY (the kernel's answers), and O_PATH opens
 *    the link itself.  A path beneath (va_safeopen_beneath()) fails with
 *    -ELOOP for a symlink anywhere, the last component included, except
 *    that O_PATH|O_NOFOLLOW opens a last symlink itself (-ENOTDIR if
 *    O_DIRECTORY is added), as open(2) does.
 *
 *  - A path beneath a directory stays beneath it: a ".." component or an
 *    absolute path is refused with -EXDEV before any system call, whether
 *    or not ".." would climb out.  Empty and "." components are allowed;
 *    "" is the directory itself.  Paths have no length limit (longer than
 *    PATH_MAX is fine); one component longer than NAME_MAX (PATH_MAX on
 *    the openat2 route) fails with -ENAMETOOLONG.
 *
 *  - VA_SAFEOPEN_NO_XDEV: crossing into another mount (a mount point, a
 *    bind mount, an automount point, which is then not triggered) fails
 *    with -EXDEV.
 *
 *  - Verified opens (va_safeopen_verified()) check the opened fd, never
 *    the name: its type first (when one is expected: -ELOOP for a
 *    symlink, -EISDIR for a directory, -ENOTDIR for a non-directory where
 *    a directory is expected, -EINVAL for any other type), then its
 *    identity (another device or inode number: -ESTALE).
 *
 *  - VA_SAFEOPEN_NOATIME: O_NOATIME is tried and dropped when the kernel
 *    refuses it (-EPERM: neither the owner nor CAP_FOWNER).
 *
 *  - @flags are open(2)'s, without O_CREAT or O_TMPFILE: nothing is
 *    created here.  O_CLOEXEC and O_NOCTTY are always added.  Nothing
 *    prints; every function returns an fd or a negative errno.
 *
 * How: openat2() with RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS, plus
 * RESOLVE_BENEATH for a path beneath and RESOLVE_NO_XDEV when asked, where
 * the kernel has it (Linux 5.6).  The kernel takes no path of PATH_MAX
 * bytes or more: a longer one is opened a piece (whole components) at a
 * time, each piece from the last with the same rules.  A single name
 * without VA_SAFEOPEN_NO_XDEV needs no openat2: openat() with O_NOFOLLOW
 * already refuses a final symlink.
 *
 * The fallback, once openat2() said ENOSYS (remembered for the process):
 * a path is opened one component at a time with openat(O_NOFOLLOW), each
 * directory as O_PATH|O_DIRECTORY (search permission is enough, as for the
 * kernel's own walk); a component that is a symlink is told from one that
 * is not a directory with fstatat(AT_SYMLINK_NOFOLLOW), so the errors are
 * the same as openat2's.  A trailing '/' opens the last component as a
 * directory and then "." in it (a plain open of "name/" would follow a
 * symlink "name" despite O_NOFOLLOW).  With VA_SAFEOPEN_NO_XDEV each
 * component opened is compared with its parent by statx(): another mount
 * id (Linux 5.8), else another device or STATX_ATTR_MOUNT_ROOT, is -EXDEV
 * -- after the open, so an automount point may be triggered there, and a
 * bind mount of the same filesystem is not seen on kernels without mount
 * ids.  Otherwise the fallback guarantees the same as the openat2 route.
 */
#ifndef VAUDIT_SAFEOPEN_H
#define VAUDIT_SAFEOPEN_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/** Options of the va_safeopen_*() functions (bit set). */
enum va_safeopen_flags {
	/** add O_NOATIME; open again without it on EPERM */
	VA_SAFEOPEN_NOATIME    = 1 << 0,
	/** refuse to cross into another mount (-EXDEV) */
	VA_SAFEOPEN_NO_XDEV    = 1 << 1,
	/** va_safeopen_verified(): @name is a path beneath @dir_fd
	 *  (va_safeopen_beneath()), not one name */
	VA_SAFEOPEN_BENEATH    = 1 << 2,
	/** va_safeopen_verified() of one name: statx() the name first and
	 *  refuse, unopened, what is not the expected inode (opening a device
	 *  node can have effects of its own); the check of the fd still counts */
	VA_SAFEOPEN_LOOK_FIRST = 1 << 3,
};

/** The inode a verified open must find. */
struct va_safeopen_id {
	dev_t dev;
	uint64_t ino;
	mode_t type;            /**< S_IFREG, S_IFDIR, ... or 0 for any type */
};

/**
 * va_safeopen_at() - open the name @name in @dir_fd (AT_FDCWD allowed)
 * without following it if it is a symlink: openat(@flags|O_NOFOLLOW|
 * O_CLOEXEC|O_NOCTTY), or openat2() with RESOLVE_NO_SYMLINKS|
 * RESOLVE_NO_MAGICLINKS|RESOLVE_NO_XDEV for VA_SAFEOPEN_NO_XDEV.
 * @name is meant to be one component (a directory entry).  A path the
 * caller chose (a root given on the command line, with AT_FDCWD) is
 * resolved by the kernel as usual up to its last component, which alone
 * is never followed; with VA_SAFEOPEN_NO_XDEV no symlink is followed in it
 * on the openat2 route.  @how: VA_SAFEOPEN_NOATIME, VA_SAFEOPEN_NO_XDEV.
 * Return: the fd, or -errno (-ELOOP: a symlink; -ENOTDIR: a symlink or a
 * non-directory with O_DIRECTORY; -EXDEV: another mount).
 */
int va_safeopen_at(int dir_fd, const char *name, int flags, unsigned how);

/**
 * va_safeopen_beneath() - open @path, relative to @dir_fd and of any
 * length, without leaving @dir_fd and without following a symlink
 * anywhere (the policy above).  @how: VA_SAFEOPEN_NOATIME,
 * VA_SAFEOPEN_NO_XDEV.
 * Return: the fd, or -errno (-EXDEV: ".." or an absolute path, or another
 * mount with VA_SAFEOPEN_NO_XDEV; -ELOOP: a symlink on the way;
 * -ENOTDIR, -ENOENT, -ENAMETOOLONG, ...).
 */
int va_safeopen_beneath(int dir_fd, const char *path, int flags, unsigned how);

/**
 * va_safeopen_verified() - va_safeopen_at() (or va_safeopen_beneath()
 * with VA_SAFEOPEN_BENEATH), then check that the fd is the inode @id:
 * its type when @id->type is set, then its device and inode number.
 * @ret (may be NULL) receives statx() of the fd (STATX_BASIC_STATS, and
 * STATX_MNT_ID where the kernel has it), only on success.
 * Return: the fd, or -errno: -ESTALE (another inode), -ELOOP/-EISDIR/
 * -ENOTDIR/-EINVAL (another type, see the policy), -EINVAL also for
 * VA_SAFEOPEN_LOOK_FIRST with VA_SAFEOPEN_BENEATH, or the open's error.
 */
int va_safeopen_verified(int dir_fd, const char *name, int flags, unsigned how,
			 const struct va_safeopen_id *id, struct statx *ret);

#endif
