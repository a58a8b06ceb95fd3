/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attr-live.c - the live attribute back end: FS_IOC_GETFLAGS on a verified
 * fd, and the Linux-VServer iattr syscall where the kernel has one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/fs.h>

#include "core/attr.h"
#include "core/dbuf.h"
#include "core/flags.h"

/* __NR_vserver: syscall slot reserved for Linux-VServer. */
#if defined(__x86_64__)
#define VA_NR_VSERVER 236
#elif defined(__i386__)
#define VA_NR_VSERVER 273
#endif

/* VC_CMD(INODE=38, 1, 1): get_iattr. */
#define VA_VCMD_GET_IATTR 0x26010001u

/* struct vcmd_ctx_iattr_v1 of the vserver kernel ABI. */
struct va_vcmd_iattr {
	const char *name;
	uint32_t tag;
	uint32_t flags;
	uint32_t mask;
};

#define IATTR_WANTED ((uint32_t)(VA_IATTR_BARRIER | VA_IATTR_IUNLINK | VA_IATTR_IMMUTABLE | VA_IATTR_COW))

static long vserver_get_iattr(const char *name, struct va_vcmd_iattr *data)
{
#ifdef VA_NR_VSERVER
	memset(data, 0, sizeof(*data));
	data->name = name;
	data->mask = IATTR_WANTED;
	return syscall(VA_NR_VSERVER, VA_VCMD_GET_IATTR, 0, data);
#else
	(void)name;
	(void)data;
	errno = ENOSYS;
	return -1;
#endif
}

int va_open_verified(int dir_fd, const char *name, dev_t dev, uint64_t ino, uint32_t mode)
{
	struct stat st;
	int fd;

	if (!S_ISREG(mode) && !S_ISDIR(mode))
		return -EOPNOTSUPP;
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (st.st_dev != dev || (uint64_t)st.st_ino != ino ||
	    (st.st_mode & S_IFMT) != (mode & S_IFMT)) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* Map the syscall's VC_IATTR_* answer onto on-disk 2.6 bits. */
static uint32_t iattr_to_disk(uint32_t iflags)
{
	uint32_t f = 0;

	if (iflags & VA_IATTR_BARRIER)
		f |= VA_VS26_BARRIER;
	if (iflags & VA_IATTR_IUNLINK)
		f |= VA_VS26_IUNLINK;
	if (iflags & VA_IATTR_COW)
		f |= VA_VS26_COW;
	if (iflags & VA_IATTR_IMMUTABLE)
		f |= VA_FL_IMMUTABLE;
	return f;
}

static int live_read(struct va_backend *be, const struct va_attr_target *t, struct va_attrs *ret)
{
	int fd = t->fd, r = 0;
	unsigned int iflags = 0;

	if (fd < 0) {
		fd = va_open_verified(t->dir_fd, t->name, t->dev, t->ino, t->mode);
		if (fd < 0)
			return fd;
	}
	if (ioctl(fd, FS_IOC_GETFLAGS, &iflags) < 0)
		r = (errno == ENOTTY || errno == EINVAL) ? -EOPNOTSUPP : -errno;

	if (r == 0) {
		ret->flags = iflags;
		ret->known = VA_KNOWN_EXT2;
	}
	if (r == 0 && (be->caps & VA_CAP_VS26) && t->name) {
		/* The syscall takes a name and does not follow its last
		 * component; reach it through the parent's fd. */
		struct dbuf name = DBUF_INIT;
		struct va_vcmd_iattr data;

		if (t->dir_fd == AT_FDCWD)
			r = dbuf_adds(&name, t->name);
		else
			r = dbuf_addf(&name, "/proc/self/fd/%d/%s", t->dir_fd, t->name);
		if (r == 0 && vserver_get_iattr(name.buf, &data) == 0) {
			ret->flags &= ~VA_VS26_MASK;
			ret->flags |= iattr_to_disk(data.flags & data.mask) & VA_VS26_MASK;
			if ((data.mask & IATTR_WANTED) == IATTR_WANTED)
				ret->known |= VA_KNOWN_VS26;
		}
		dbuf_release(&name);
	}
	if (fd != t->fd)
		close(fd);
	return r;
}

static void live_destroy(struct va_backend *be)
{
	free(be);
}

static const struct va_backend_ops live_ops = {
	.size = sizeof(struct va_backend_ops),
	.name = "live",
	.read = live_read,
	.destroy = live_destroy,
};

int va_backend_live_new(struct va_backend **ret)
{
	struct va_backend *be = calloc(1, sizeof(*be));
	struct va_vcmd_iattr data;

	if (!be)
		return -ENOMEM;
	be->ops = &live_ops;
	if (vserver_get_iattr("/", &data) == 0) {
		be->caps |= VA_CAP_VS26;
	} else {
		/* ENOSYS: no vserver kernel.  Anything else (EPERM from a
		 * guest, EINVAL from an older ABI) also means we cannot read
		 * the 2.6 attributes; keep the reason. */
		be->vs26_errno = errno;
	}
	*ret = be;
	return 0;
}
