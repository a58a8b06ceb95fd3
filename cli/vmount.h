/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmount.h - the kernel side of vmount: detached mounts made with the
 * mount API (fsopen/fsconfig/fsmount, open_tree), attributes set on the
 * detached tree (mount_setattr), attached through a directory fd
 * (move_mount with MOVE_MOUNT_T_EMPTY_PATH), loop devices through
 * /dev/loop-control and LOOP_CONFIGURE, and unmounts of exactly the mount
 * an fd names.  Each function returns 0 (or an fd) or a negative errno
 * and says what failed in @what (a static string); nothing prints.
 */
#ifndef VAUDIT_CLI_VMOUNT_H
#define VAUDIT_CLI_VMOUNT_H

#include <stdbool.h>
#include <stdint.h>

/** The identity of a mount: the mount id, and the unique one (Linux 6.8) or 0. */
struct vm_mntid {
	uint64_t id;
	uint64_t uniq;
};

/** vmk_mntid() - the mount @fd is on.  Return: 0 or -errno. */
int vmk_mntid(int fd, struct vm_mntid *ret);

/** vmk_same() - whether @a and @b name the same mount. */
bool vmk_same(const struct vm_mntid *a, const struct vm_mntid *b);

/** vmk_mounted() - whether mount id @id is in this process's mount table. */
bool vmk_mounted(uint64_t id);

/**
 * vmk_mountpoint() - where mount @id is now, as this process's mount
 * table says (a malloc'd path in *@ret).  Return: 0, -ENOENT (no such
 * mount), or -errno.
 */
int vmk_mountpoint(uint64_t id, char **ret);

/** vmk_have_api() - 0 when the mount API is there, else -errno (ENOSYS). */
int vmk_have_api(void);

/**
 * vmk_bind() - a detached copy of the mount tree at @src_fd (an O_PATH
 * fd of a directory or file), its attributes (enum vm_attr) set.
 * Return: the tree fd, or -errno.
 */
int vmk_bind(int src_fd, unsigned attrs, const char **what);

/**
 * vmk_tmpfs() - a new detached tmpfs of size @size (NULL: the default),
 * attributes @attrs; its root gets the mode and owner of @like_fd
 * (any fd, -1: 0755 root), and with @copy_fd (an O_RDONLY directory fd,
 * or -1) a copy of that directory's content, owners, modes and times
 * (symlinks never followed; other mounts below it are not entered).
 * Return: the mount fd, or -errno.
 */
int vmk_tmpfs(const char *size, unsigned attrs, int like_fd, int copy_fd, const char **what);

/**
 * vmk_block() - a detached mount of the filesystem on @img_fd (a block
 * device or a regular file opened O_RDONLY; a file is attached to a new
 * loop device, read-only when @attrs has VM_ATTR_RDONLY, which goes away
 * with the last unmount), of type @fstype or, when NULL, the one found in
 * its superblock.  @label names the loop device's backing file.
 * Return: the mount fd, or -errno.
 */
int vmk_block(int img_fd, const char *fstype, unsigned attrs, const char *label, const char **what);

/**
 * vmk_attach() - move the detached tree @tree onto @dest_fd (an O_PATH
 * fd: the mount goes exactly there, whatever its name now leads to).
 * Return: 0 or -errno.
 */
int vmk_attach(int tree, int dest_fd, const char **what);

/**
 * vmk_umount() - detach the mount whose root @fd is (an fd opened on
 * it) from the tree; it is freed once nothing uses it any more.
 * Return: 0 or -errno.
 */
int vmk_umount(int fd, const char **what);

#endif
