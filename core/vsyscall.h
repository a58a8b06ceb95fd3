/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsyscall.h - the Linux-VServer syscall's inode attribute commands
 * (get_iattr, set_iattr: struct vcmd_ctx_iattr_v1 of the kernel ABI),
 * shared by the live attribute back end and the vserver xid tagger.
 * Both take a path and do not follow its last component (lstat
 * semantics); a caller holding a directory fd names an entry as
 * "/proc/self/fd/FD/NAME" (va_vs_fd_name()).  On an architecture without
 * a syscall number for it, and on a mainline kernel, they fail ENOSYS.
 *
 * Nothing here prints.
 */
#ifndef VAUDIT_VSYSCALL_H
#define VAUDIT_VSYSCALL_H

#include <stdint.h>

#include "core/dbuf.h"

/**
 * va_vs_get_iattr() - the tag and VC_IATTR_* flags of @name: *@mask in:
 * the bits wanted; out: the bits the kernel answered (VC_IATTR_XID among
 * them where the filesystem is tagged), *@flags their values, *@tag the
 * tag (may be NULL).  Return: 0 or -errno.
 */
int va_vs_get_iattr(const char *name, uint32_t *tag, uint32_t *flags, uint32_t *mask);

/**
 * va_vs_set_iattr() - set the VC_IATTR_* bits of @name under @mask to
 * @flags, and with VC_IATTR_XID in @mask its tag to @tag.
 * Return: 0 or -errno (-EINVAL for a tag on an untagged filesystem).
 */
int va_vs_set_iattr(const char *name, uint32_t tag, uint32_t flags, uint32_t mask);

/**
 * va_vs_fd_name() - the path these calls take for entry @name of the
 * directory @dir_fd (AT_FDCWD: @name itself), appended to @out.
 * Return: 0 or -ENOMEM.
 */
int va_vs_fd_name(struct dbuf *out, int dir_fd, const char *name);

#endif
