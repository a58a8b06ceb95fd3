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
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/fs.h>

#include "core/attr.h"
#include "core/dbuf.h"
#include "core/flags.h"
#include "core/image.h"
#include "core/safeopen.h"
#include "core/vsyscall.h"

#define IATTR_WANTED ((uint32_t)(VA_IATTR_BARRIER | VA_IATTR_IUNLINK | VA_IATTR_IMMUTABLE | VA_IATTR_COW))

/* get_iattr of @name: the wanted bits.  Return: 0 or -errno. */
static int vserver_get_iattr(const char *name, uint32_t *flags, uint32_t *mask)
{
	*mask = IATTR_WANTED;
	*flags = 0;
	return va_vs_get_iattr(name, NULL, flags, mask);
}

/* The same attribute in the on-disk word and in the syscall's VC_IATTR_* word. */
static const struct {
	uint32_t disk, iattr;
} iattr_map[] = {
	{ VA_VS26_BARRIER, VA_IATTR_BARRIER },
	{ VA_VS26_IUNLINK, VA_IATTR_IUNLINK },
	{ VA_VS26_COW, VA_IATTR_COW },
	{ VA_FL_IMMUTABLE, VA_IATTR_IMMUTABLE },
};

/* Translate @f between the encodings: @to_iattr true for disk -> syscall. */
static uint32_t iattr_translate(uint32_t f, bool to_iattr)
{
	uint32_t out = 0;

	for (size_t i = 0; i < sizeof(iattr_map) / sizeof(iattr_map[0]); i++)
		if (f & (to_iattr ? iattr_map[i].disk : iattr_map[i].iattr))
			out |= to_iattr ? iattr_map[i].iattr : iattr_map[i].disk;
	return out;
}

int va_open_verified(int dir_fd, const char *name, dev_t dev, uint64_t ino, uint32_t mode,
		     uint32_t *ret_mode)
{
	struct statx stx;
	int fd;

	if (!S_ISREG(mode) && !S_ISDIR(mode))
		return -EOPNOTSUPP;
	/* any type: another type than @mode is another inode here (-ESTALE) */
	fd = va_safeopen_verified(dir_fd, name, O_RDONLY | O_NONBLOCK, 0,
				  &(struct va_safeopen_id){ .dev = dev, .ino = ino }, &stx);
	if (fd >= 0 && (stx.stx_mode & S_IFMT) != (mode & S_IFMT)) {
		close(fd);
		return -ESTALE;
	}
	if (fd >= 0 && ret_mode)
		*ret_mode = stx.stx_mode;
	return fd;
}

/* One filesystem whose raw device we read the 2.6 bits from. */
struct raw_dev {
	dev_t dev;
	struct va_image *img;   /* NULL when it could not be opened */
};

struct live {
	unsigned flags;
	bool have_syscall;
	struct raw_dev *devs;
	size_t ndevs, capdevs;
};

static void notice(struct va_backend *be, struct dbuf *msg)
{
	if (be->notice && msg->buf)
		be->notice(msg->buf, be->notice_user);
	dbuf_release(msg);
}

/* The raw device of @dev, opened on first use; NULL if impossible. */
static struct va_image *raw_for(struct va_backend *be, dev_t dev)
{
	struct live *l = be->priv;
	struct dbuf msg = DBUF_INIT;
	struct raw_dev *d;
	errcode_t err;

	for (size_t i = 0; i < l->ndevs; i++)
		if (l->devs[i].dev == dev)
			return l->devs[i].img;
	if (va_array_grow(&l->devs, &l->capdevs, l->ndevs, sizeof(*l->devs)) < 0)
		return NULL;
	d = &l->devs[l->ndevs++];
	d->dev = dev;
	d->img = NULL;
	err = va_image_for_dev(dev, &d->img);
	if (err) {
		dbuf_addf(&msg, "2.6 attributes on device %u:%u cannot be read from its block device (%s)",
			  major(dev), minor(dev), va_image_strerror(err));
	} else {
		dbuf_addf(&msg, "reading 2.6 attributes of device %u:%u from %s, read-only: "
			  "changes not yet written back by the kernel may be missing",
			  major(dev), minor(dev), d->img->path);
	}
	notice(be, &msg);
	return d->img;
}

/* Add the raw 2.6 bits of t->ino to @ret (the caller's fresh copy where it has one). */
static void read_raw(struct va_backend *be, const struct va_attr_target *t, struct va_attrs *ret)
{
	struct va_image *img;
	uint32_t flags, mode, links;

	if (t->vs26_hint) {
		ret->flags = (ret->flags & ~VA_VS26_MASK) | (t->vs26_flags & VA_VS26_MASK);
		ret->known |= VA_KNOWN_VS26;
		return;
	}
	img = raw_for(be, t->dev);

	if (!img || va_image_read_inode(img, t->ino, &flags, &mode, &links) != 0)
		return;
	/* a stale or reused inode: the type must match what statx saw */
	if (links == 0 || (mode & S_IFMT) != (t->mode & S_IFMT))
		return;
	ret->flags = (ret->flags & ~VA_VS26_MASK) | (flags & VA_VS26_MASK);
	ret->known |= VA_KNOWN_VS26;
}

/*
 * The flags of @t, open as @fd: the ioctl word, then the 2.6 bits from
 * the raw device or the vserver syscall.  Only ret->flags and ret->known
 * are set.
 */
static int live_flags(struct va_backend *be, const struct va_attr_target *t, int fd, struct va_attrs *ret)
{
	struct live *l = be->priv;
	unsigned int iflags = 0;

	if (ioctl(fd, FS_IOC_GETFLAGS, &iflags) < 0)
		return (errno == ENOTTY || errno == EINVAL) ? -EOPNOTSUPP : -errno;
	ret->flags = iflags;
	ret->known = VA_KNOWN_EXT2;
	if (!l->have_syscall && (l->flags & VA_LIVE_DEVICE_READ))
		read_raw(be, t, ret);
	if (l->have_syscall && t->name) {
		/* The syscall takes a name and does not follow its last
		 * component; reach it through the parent's fd. */
		struct dbuf name = DBUF_INIT;
		uint32_t vflags, vmask;
		int r = va_vs_fd_name(&name, t->dir_fd, t->name);

		if (r == 0 && vserver_get_iattr(name.buf, &vflags, &vmask) == 0) {
			ret->flags &= ~VA_VS26_MASK;
			ret->flags |= iattr_translate(vflags & vmask, false) & VA_VS26_MASK;
			if ((vmask & IATTR_WANTED) == IATTR_WANTED)
				ret->known |= VA_KNOWN_VS26;
		}
		dbuf_release(&name);
		return r;
	}
	return 0;
}

static int live_read(struct va_backend *be, const struct va_attr_target *t, struct va_attrs *ret)
{
	int fd = t->fd, r;
	uint32_t mode = 0;

	if (fd < 0) {
		fd = va_open_verified(t->dir_fd, t->name, t->dev, t->ino, t->mode, &mode);
		if (fd < 0)
			return fd;
	} else {
		struct stat st;

		mode = fstat(fd, &st) == 0 ? st.st_mode : 0;
	}
	r = live_flags(be, t, fd, ret);
	if (r == 0) {
		unsigned int gen;

		ret->mode = mode;
		ret->gen_known = ioctl(fd, FS_IOC_GETVERSION, &gen) == 0;
		ret->gen = ret->gen_known ? gen : 0;
	}
	if (fd != t->fd)
		close(fd);
	return r;
}

/*
 * Before the change, the flags and the mode; after it, the flags read
 * back, and the mode read back where it was changed (the generation,
 * which no write changes, is not read).
 */
static int live_write(struct va_backend *be, const struct va_attr_target *t, uint32_t flags,
		      uint32_t mode, struct va_attrs *ret)
{
	struct va_attrs cur = { 0 };
	unsigned int iflags;
	struct stat st;
	bool chmodded = false;
	int fd = t->fd, r;

	if (fd < 0) {
		fd = va_open_verified(t->dir_fd, t->name, t->dev, t->ino, t->mode, NULL);
		if (fd < 0)
			return fd;
	}
	r = fstat(fd, &st) < 0 ? -errno : live_flags(be, t, fd, &cur);
	cur.mode = r == 0 ? st.st_mode : 0;
	/* changing a 2.6 bit needs the vserver syscall's set_iattr */
	if (r == 0 && ((cur.flags ^ flags) & VA_VS26_MASK)) {
		struct live *l = be->priv;
		struct dbuf name = DBUF_INIT;
		uint32_t mask = iattr_translate((cur.flags ^ flags) & (VA_VS26_MASK | VA_FL_IMMUTABLE), true);

		if (!l->have_syscall || !t->name) {
			r = -EOPNOTSUPP;
		} else {
			/* lstat semantics on the last component, through the parent's fd */
			r = va_vs_fd_name(&name, t->dir_fd, t->name);
			if (r == 0)
				r = va_vs_set_iattr(name.buf, 0, iattr_translate(flags, true), mask);
			dbuf_release(&name);
			/* the syscall set immutable as needed; the ioctl below does the rest */
			if (r == 0)
				cur.flags = (cur.flags & ~(VA_VS26_MASK | (uint32_t)VA_FL_IMMUTABLE)) |
					    (flags & (VA_VS26_MASK | (uint32_t)VA_FL_IMMUTABLE));
		}
	}
	if (r == 0 && (cur.flags & ~VA_VS26_MASK) != (flags & ~VA_VS26_MASK)) {
		uint32_t want = flags & ~VA_VS26_MASK;

		/* While a file is immutable the kernel lets only that bit change:
		 * drop it first, then set the whole new word (a window of two
		 * syscalls in which the file is not immutable). */
		if ((cur.flags & VA_FL_IMMUTABLE) &&
		    (cur.flags & ~(uint32_t)VA_FL_IMMUTABLE & ~VA_VS26_MASK) !=
		    (want & ~(uint32_t)VA_FL_IMMUTABLE)) {
			iflags = cur.flags & ~VA_VS26_MASK & ~(uint32_t)VA_FL_IMMUTABLE;
			if (ioctl(fd, FS_IOC_SETFLAGS, &iflags) < 0)
				r = -errno;
		}
		iflags = want;
		if (r == 0 && ioctl(fd, FS_IOC_SETFLAGS, &iflags) < 0) {
			r = -errno;
			/* put the old word back rather than leave it half done */
			iflags = cur.flags & ~VA_VS26_MASK;
			(void)ioctl(fd, FS_IOC_SETFLAGS, &iflags);
		}
	}
	if (r == 0 && (cur.mode & 07777) != (mode & 07777)) {
		if (fchmod(fd, mode & 07777) < 0)
			r = -errno;
		chmodded = true;
	}
	if (r == 0 && chmodded && fstat(fd, &st) < 0)
		r = -errno;
	if (r == 0) {
		r = live_flags(be, t, fd, ret);
		ret->mode = st.st_mode;
		ret->gen_known = false;
	}
	if (fd != t->fd)
		close(fd);
	return r;
}

static void live_destroy(struct va_backend *be)
{
	struct live *l = be->priv;

	for (size_t i = 0; i < l->ndevs; i++)
		va_image_close(l->devs[i].img);
	free(l->devs);
	free(l);
	free(be);
}

static const struct va_backend_ops live_ops = {
	.size = sizeof(struct va_backend_ops),
	.name = "live",
	.read = live_read,
	.write = live_write,
	.destroy = live_destroy,
};

int va_backend_live_new(struct va_backend **ret, unsigned flags)
{
	struct va_backend *be = calloc(1, sizeof(*be));
	struct live *l = calloc(1, sizeof(*l));
	uint32_t vflags, vmask;
	int r;

	if (!be || !l) {
		free(be);
		free(l);
		return -ENOMEM;
	}
	be->ops = &live_ops;
	be->priv = l;
	/* with vs26_hint, live_read() uses no state but the flags set here */
	be->caps = VA_CAP_CONCURRENT_READ;
	l->flags = flags;
	r = vserver_get_iattr("/", &vflags, &vmask);
	if (r == 0) {
		l->have_syscall = true;
		be->caps |= VA_CAP_VS26 | VA_CAP_VS26_WRITE;
	} else {
		/* ENOSYS: no vserver kernel.  Anything else (EPERM from a
		 * guest, EINVAL from an older ABI) also means we cannot read
		 * the 2.6 attributes; keep the reason. */
		be->vs26_errno = -r;
		if (flags & VA_LIVE_DEVICE_READ)
			be->caps |= VA_CAP_VS26;
	}
	*ret = be;
	return 0;
}
