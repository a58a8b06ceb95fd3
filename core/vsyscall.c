/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsyscall.c - the Linux-VServer syscall's iattr commands (vsyscall.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/vsyscall.h"

/* __NR_vserver: syscall slot reserved for Linux-VServer. */
#if defined(__x86_64__)
#define VA_NR_VSERVER 236
#elif defined(__i386__)
#define VA_NR_VSERVER 273
#endif

/* VC_CMD(INODE=38, 1, 1): get_iattr; VC_CMD(INODE=38, 2, 1): set_iattr. */
#define VA_VCMD_GET_IATTR 0x26010001u
#define VA_VCMD_SET_IATTR 0x26020001u

/* struct vcmd_ctx_iattr_v1 of the vserver kernel ABI. */
struct va_vcmd_iattr {
	const char *name;
	uint32_t tag;
	uint32_t flags;
	uint32_t mask;
};

static int vserver(uint32_t cmd, struct va_vcmd_iattr *data)
{
#ifdef VA_NR_VSERVER
	return syscall(VA_NR_VSERVER, cmd, 0, data) < 0 ? -errno : 0;
#else
	(void)cmd;
	(void)data;
	return -ENOSYS;
#endif
}

int va_vs_get_iattr(const char *name, uint32_t *tag, uint32_t *flags, uint32_t *mask)
{
	struct va_vcmd_iattr data = { .name = name, .mask = *mask };
	int r = vserver(VA_VCMD_GET_IATTR, &data);

	if (r == 0) {
		if (tag)
			*tag = data.tag;
		*flags = data.flags;
		*mask = data.mask;
	}
	return r;
}

/* Untested here: no kernel of this machine has the vserver syscall. */
int va_vs_set_iattr(const char *name, uint32_t tag, uint32_t flags, uint32_t mask)
{
	struct va_vcmd_iattr data = { .name = name, .tag = tag, .flags = flags, .mask = mask };

	return vserver(VA_VCMD_SET_IATTR, &data);
}

int va_vs_fd_name(struct dbuf *out, int dir_fd, const char *name)
{
	if (dir_fd == AT_FDCWD)
		return dbuf_adds(out, name);
	return dbuf_addf(out, "/proc/self/fd/%d/%s", dir_fd, name);
}
