/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmount-mount.c - the kernel side of vmount (see vmount.h).
 *
 * Every mount is made detached, gets its attributes while still detached
 * (so a read-only bind is never writable, not even for a moment), and is
 * attached through a directory fd that was opened without following a
 * symlink: no name is looked up between the check and the mount.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/fileops.h"
#include "core/mountconf.h"
#include "core/safeopen.h"
#include "cli/vmount.h"

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

/* the deepest directory a copy enters */
#define COPY_DEPTH 128

int vmk_mntid(int fd, struct vm_mntid *ret)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx) < 0)
		return -errno;
	if (!(sx.stx_mask & STATX_MNT_ID))
		return -ENOSYS;
	ret->id = sx.stx_mnt_id;
	ret->uniq = 0;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE, &sx) == 0 &&
	    (sx.stx_mask & STATX_MNT_ID_UNIQUE))
		ret->uniq = sx.stx_mnt_id;
	return 0;
}

bool vmk_same(const struct vm_mntid *a, const struct vm_mntid *b)
{
	if (a->uniq && b->uniq)
		return a->uniq == b->uniq;
	return a->id == b->id;
}

bool vmk_mounted(uint64_t id)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	bool found = false;

	if (!fp)
		return true;    /* cannot tell: assume it is */
	while (!found && fgets(line, sizeof(line), fp)) {
		unsigned long long m;

		if (sscanf(line, "%llu ", &m) == 1 && m == id)
			found = true;
	}
	fclose(fp);
	return found;
}

int vmk_mountpoint(uint64_t id, char **ret)
{
	FILE *fp = fopen("/proc/self/mountinfo", "re");
	char line[8192];
	int r = -ENOENT;

	if (!fp)
		return -errno;
	while (r == -ENOENT && fgets(line, sizeof(line), fp)) {
		unsigned long long m;
		char *p = line, *o;
		int field = 0;

		if (sscanf(line, "%llu ", &m) != 1 || m != id)
			continue;
		while (field < 4 && (p = strchr(p, ' ')))
			p++, field++;
		if (!p) {
			r = -EINVAL;
			break;
		}
		/* the mount point, with ' ', '\t', '\n' and '\\' as octal escapes */
		o = *ret = malloc(strlen(p) + 1);
		if (!o) {
			r = -ENOMEM;
			break;
		}
		for (; *p && *p != ' ' && *p != '\n'; p++) {
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
			    p[3] >= '0' && p[3] <= '7') {
				*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
				p += 3;
			} else {
				*o++ = *p;
			}
		}
		*o = '\0';
		r = 0;
	}
	fclose(fp);
	return r;
}

int vmk_have_api(void)
{
	int fd = fsopen("tmpfs", FSOPEN_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static unsigned mount_attrs(unsigned attrs)
{
	return ((attrs & VM_ATTR_RDONLY) ? MOUNT_ATTR_RDONLY : 0) |
	       ((attrs & VM_ATTR_NOSUID) ? MOUNT_ATTR_NOSUID : 0) |
	       ((attrs & VM_ATTR_NODEV) ? MOUNT_ATTR_NODEV : 0) |
	       ((attrs & VM_ATTR_NOEXEC) ? MOUNT_ATTR_NOEXEC : 0) |
	       ((attrs & VM_ATTR_NOATIME) ? MOUNT_ATTR_NOATIME : 0);
}

int vmk_bind(int src_fd, unsigned attrs, const char **what)
{
	struct mount_attr a = { .attr_set = mount_attrs(attrs) };
	int tree = open_tree(src_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);

	if (tree < 0) {
		*what = "cannot copy the mount (open_tree)";
		return -errno;
	}
	if (a.attr_set & MOUNT_ATTR_NOATIME)
		a.attr_clr = MOUNT_ATTR__ATIME;
	if (a.attr_set && mount_setattr(tree, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
		int e = errno;

		*what = "cannot set the mount's attributes (mount_setattr)";
		close(tree);
		return -e;
	}
	return tree;
}

/* Copy the owner, mode and times of @st to @fd (a real fd, not O_PATH). */
static int copy_meta(int fd, const struct stat *st)
{
	struct timespec ts[2] = { st->st_atim, st->st_mtim };

	if (fchown(fd, st->st_uid, st->st_gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0 ||
	    futimens(fd, ts) < 0)
		return -errno;
	return 0;
}

/* Copy the content of directory @from (O_RDONLY) into directory @to, @dev its filesystem. */
static int copy_tree(int from, int to, dev_t dev, unsigned depth)
{
	int dfd = dup(from), r = 0;
	struct dirent *de;
	DIR *d;

	if (depth > COPY_DEPTH)
		return -ELOOP;
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		const char *n = de->d_name;
		struct stat st;
		int sfd, tfd;

		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		if (fstatat(from, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			r = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(to, n, 0700) < 0) {
				r = -errno;
				break;
			}
			tfd = openat(to, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (tfd < 0) {
				r = -errno;
				break;
			}
			sfd = va_safeopen_at(from, n, O_RDONLY | O_DIRECTORY, 0);
			if (sfd >= 0 && fstat(sfd, &st) == 0) {
				if (st.st_dev == dev)
					r = copy_tree(sfd, tfd, dev, depth + 1);
				if (r == 0)
					r = copy_meta(tfd, &st);
			} else if (sfd != -ENOENT) {
				r = sfd < 0 ? sfd : -errno;
			}
			if (sfd >= 0)
				close(sfd);
			close(tfd);
		} else if (S_ISREG(st.st_mode)) {
			sfd = va_safeopen_at(from, n, O_RDONLY | O_NONBLOCK, 0);
			if (sfd == -ENOENT)
				continue;
			if (sfd < 0) {
				r = sfd;
				break;
			}
			if (fstat(sfd, &st) < 0 || !S_ISREG(st.st_mode)) {
				close(sfd);
				continue;
			}
			tfd = openat(to, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (tfd < 0) {
				r = -errno;
				close(sfd);
				break;
			}
			r = va_copy_data(sfd, tfd, st.st_size);
			if (r == 0)
				r = copy_meta(tfd, &st);
			close(sfd);
			close(tfd);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlinkat(from, n, target, sizeof(target) - 1);
			struct timespec ts[2] = { st.st_atim, st.st_mtim };

			if (len < 0) {
				if (errno == ENOENT || errno == EINVAL)
					continue;
				r = -errno;
				break;
			}
			target[len] = '\0';
			if (symlinkat(target, to, n) < 0 ||
			    fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
			    utimensat(to, n, ts, AT_SYMLINK_NOFOLLOW) < 0)
				r = -errno;
		} else {
			struct timespec ts[2] = { st.st_atim, st.st_mtim };

			if (mknodat(to, n, st.st_mode, st.st_rdev) < 0 ||
			    fchownat(to, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
			    fchmodat(to, n, st.st_mode & 07777, 0) < 0 ||
			    utimensat(to, n, ts, AT_SYMLINK_NOFOLLOW) < 0)
				r = -errno;
		}
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	return r;
}

int vmk_tmpfs(const char *size, unsigned attrs, int like_fd, int copy_fd, const char **what)
{
	int fs = fsopen("tmpfs", FSOPEN_CLOEXEC), mnt = -1, root = -1, r;
	struct stat st;

	if (fs < 0) {
		*what = "cannot create a tmpfs (fsopen)";
		return -errno;
	}
	if (size && fsconfig(fs, FSCONFIG_SET_STRING, "size", size, 0) < 0) {
		*what = "the tmpfs refuses this size";
		goto fail;
	}
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		*what = "cannot create a tmpfs (fsconfig)";
		goto fail;
	}
	/* read-only only once filled */
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, mount_attrs(attrs & ~(unsigned)VM_ATTR_RDONLY));
	if (mnt < 0) {
		*what = "cannot create a tmpfs (fsmount)";
		goto fail;
	}
	root = openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		*what = "cannot open the new tmpfs";
		goto fail;
	}
	if (like_fd >= 0 && fstat(like_fd, &st) == 0) {
		if (fchown(root, st.st_uid, st.st_gid) < 0 || fchmod(root, st.st_mode & 07777) < 0) {
			*what = "cannot give the tmpfs the destination's owner and mode";
			goto fail;
		}
	}
	if (copy_fd >= 0) {
		if (fstat(copy_fd, &st) < 0) {
			*what = "cannot read the destination";
			goto fail;
		}
		r = copy_tree(copy_fd, root, st.st_dev, 0);
		if (r < 0) {
			errno = -r;
			*what = "cannot copy the destination into the tmpfs";
			goto fail;
		}
	}
	if (attrs & VM_ATTR_RDONLY) {
		struct mount_attr a = { .attr_set = MOUNT_ATTR_RDONLY };

		if (mount_setattr(mnt, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0) {
			*what = "cannot make the tmpfs read-only (mount_setattr)";
			goto fail;
		}
	}
	close(root);
	close(fs);
	return mnt;
fail:
	r = -errno;
	if (root >= 0)
		close(root);
	if (mnt >= 0)
		close(mnt);
	close(fs);
	return r;
}

/* The filesystem type in the superblock read from @fd, or NULL. */
static const char *probe(int fd)
{
	unsigned char b[0x10048];
	ssize_t n = pread(fd, b, sizeof(b), 0);

	if (n >= 4 && memcmp(b, "hsqs", 4) == 0)
		return "squashfs";
	if (n >= 4 && memcmp(b, "XFSB", 4) == 0)
		return "xfs";
	if (n >= 1028 && b[1024] == 0xe2 && b[1025] == 0xe1 && b[1026] == 0xf5 && b[1027] == 0xe0)
		return "erofs";
	if (n >= 1082 && b[1080] == 0x53 && b[1081] == 0xef)
		return "ext4";
	if (n >= 0x10048 && memcmp(b + 0x10040, "_BHRfS_M", 8) == 0)
		return "btrfs";
	return NULL;
}

/* Attach @img_fd to a free loop device; return its fd. */
static int loop_attach(int img_fd, bool ro, const char *label, const char **what)
{
	int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC), e = 0;

	if (ctl < 0) {
		*what = "cannot open '/dev/loop-control'";
		return -errno;
	}
	for (int tries = 0; tries < 32; tries++) {
		struct loop_config cfg;
		char dev[64];
		int n = ioctl(ctl, LOOP_CTL_GET_FREE), lfd;

		if (n < 0) {
			e = errno;
			*what = "no free loop device";
			break;
		}
		snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		lfd = open(dev, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
		if (lfd < 0) {
			e = errno;
			*what = "cannot open the loop device";
			break;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (unsigned)img_fd;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR | (ro ? LO_FLAGS_READ_ONLY : 0);
		snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name), "%s", label);
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
			close(ctl);
			return lfd;
		}
		e = errno;
		close(lfd);
		if (e != EBUSY) {
			*what = "cannot set up the loop device (LOOP_CONFIGURE)";
			break;
		}
		*what = "no free loop device";
	}
	close(ctl);
	return -(e ? e : EBUSY);
}

int vmk_block(int img_fd, const char *fstype, unsigned attrs, const char *label, const char **what)
{
	bool ro = attrs & VM_ATTR_RDONLY;
	int dev = -1, fs = -1, mnt, e;
	char src[64];
	struct stat st;

	if (fstat(img_fd, &st) < 0) {
		*what = "cannot read the source";
		return -errno;
	}
	if (S_ISREG(st.st_mode)) {
		dev = loop_attach(img_fd, ro, label, what);
		if (dev < 0)
			return dev;
	} else if (!S_ISBLK(st.st_mode)) {
		*what = "the source is neither a block device nor a filesystem image";
		return -EINVAL;
	}
	if (!fstype)
		fstype = probe(dev >= 0 ? dev : img_fd);
	if (!fstype) {
		*what = "no filesystem found on the source (give fs::TYPE)";
		e = EINVAL;
		goto fail;
	}
	fs = fsopen(fstype, FSOPEN_CLOEXEC);
	if (fs < 0) {
		e = errno;
		*what = "the kernel does not mount this filesystem type (fsopen)";
		goto fail;
	}
	/* the device by its fd: no name is looked up again */
	snprintf(src, sizeof(src), "/proc/self/fd/%d", dev >= 0 ? dev : img_fd);
	if (fsconfig(fs, FSCONFIG_SET_STRING, "source", src, 0) < 0 ||
	    (ro && fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0) ||
	    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		e = errno;
		*what = "cannot mount the filesystem (fsconfig)";
		goto fail;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, mount_attrs(attrs));
	if (mnt < 0) {
		e = errno;
		*what = "cannot mount the filesystem (fsmount)";
		goto fail;
	}
	close(fs);
	if (dev >= 0)
		close(dev);     /* the mount holds it; the last unmount frees it */
	return mnt;
fail:
	if (fs >= 0)
		close(fs);
	if (dev >= 0)
		close(dev);
	return -e;
}

int vmk_attach(int tree, int dest_fd, const char **what)
{
	if (move_mount(tree, "", dest_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		*what = "cannot attach the mount (move_mount)";
		return -errno;
	}
	return 0;
}

int vmk_umount(int fd, const char **what)
{
	char p[64];

	/*
	 * The magic link leads to the very mount @fd is on, not to a name.
	 * @fd itself holds the mount, so only a detach can take it: the
	 * mount leaves the tree at once, and is freed when its last user
	 * (here @fd, closed by the caller) lets go.
	 */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if (umount2(p, MNT_DETACH) < 0) {
		*what = "cannot unmount";
		return -errno;
	}
	return 0;
}
