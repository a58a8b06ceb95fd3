/* SPDX-License-Identifier: GPL-2.0-or-later */
/* image.c - opening ext2/3/4 images and devices with libext2fs. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/loop.h>
#include <linux/major.h>

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>

#include "core/image.h"
#include "core/message.h"

/* The ext2 error table is registered by the one place that gives reasons. */
static void va_init_error_table(void)
{
	(void)va_error_reason(0);
}

const char *va_image_strerror(errcode_t code)
{
	return va_error_reason(code);
}

/* Undo the octal escapes (\040 ...) of a /proc/self/mountinfo or /proc/swaps field, in place. */
static void unescape_field(char *s)
{
	char *o = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*o++ = *s++;
		}
	}
	*o = '\0';
}

/*
 * Is @src (a mount or swap source, unescaped) the filesystem @want?  A block
 * device is matched by device number; an image file by its inode, directly
 * (a file used as swap) or behind a loop device (LOOP_GET_STATUS64 on a
 * read-only descriptor).
 */
static bool source_is(const char *src, dev_t src_rdev, const struct stat *want)
{
	struct loop_info64 li;
	struct stat st;
	bool same = false;
	int fd;

	if (S_ISBLK(want->st_mode)) {
		if (src_rdev && src_rdev == want->st_rdev)
			return true;
		return src[0] == '/' && stat(src, &st) == 0 && S_ISBLK(st.st_mode) &&
		       st.st_rdev == want->st_rdev;
	}
	if (src[0] != '/' || stat(src, &st) < 0)
		return false;
	if (S_ISREG(st.st_mode))
		return st.st_dev == want->st_dev && st.st_ino == want->st_ino;
	if (!S_ISBLK(st.st_mode) || major(st.st_rdev) != LOOP_MAJOR ||
	    (src_rdev && st.st_rdev != src_rdev))
		return false;
	fd = open(src, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	if (ioctl(fd, LOOP_GET_STATUS64, &li) == 0)
		same = (dev_t)li.lo_device == want->st_dev && (ino_t)li.lo_inode == want->st_ino;
	close(fd);
	return same;
}

errcode_t va_image_mounted(const char *path, bool *ret_mounted)
{
	char *line = NULL, *p, *src;
	unsigned int maj, min;
	size_t cap = 0;
	struct stat want;
	FILE *fp;
	errcode_t err = 0;

	*ret_mounted = false;
	if (stat(path, &want) < 0)
		return errno;
	fp = fopen("/proc/self/mountinfo", "re");
	if (!fp)
		return errno;
	while (!*ret_mounted && getline(&line, &cap, fp) > 0) {
		line[strcspn(line, "\n")] = '\0';
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) != 2)
			continue;
		p = strstr(line, " - ");
		if (!p || !(p = strchr(p + 3, ' ')))
			continue;
		src = p + 1;
		src[strcspn(src, " ")] = '\0';
		unescape_field(src);
		*ret_mounted = source_is(src, makedev(maj, min), &want);
	}
	if (ferror(fp))
		err = EIO;
	fclose(fp);
	/* swap: the first field of every line but the header */
	fp = fopen("/proc/swaps", "re");
	if (fp) {
		bool header = true;

		while (!*ret_mounted && getline(&line, &cap, fp) > 0) {
			if (header) {
				header = false;
				continue;
			}
			line[strcspn(line, " \t\n")] = '\0';
			unescape_field(line);
			*ret_mounted = source_is(line, 0, &want);
		}
		fclose(fp);
	}
	free(line);
	return *ret_mounted ? 0 : err;
}

static errcode_t image_open(const char *path, unsigned flags, struct va_image **ret,
			    const char **ret_why)
{
	struct va_image *img;
	int oflags = EXT2_FLAG_64BITS | EXT2_FLAG_SKIP_MMP;
	bool mounted;
	struct stat st;
	errcode_t err;

	*ret_why = NULL;
	va_init_error_table();
	if (stat(path, &st) < 0)
		return errno;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		*ret_why = "not an image file or a block device";
		return EINVAL;
	}
	/* not ext2fs_check_if_mounted(): it creates /.ismount-test-file when
	 * the device is mounted at / (see va_image_mounted()) */
	err = va_image_mounted(path, &mounted);
	if (err)
		return err;
	if (mounted && (flags & VA_IMAGE_WRITE)) {
		*ret_why = "mounted: refusing to write a mounted filesystem";
		return EBUSY;
	}
	if (mounted && !(flags & VA_IMAGE_ALLOW_MOUNTED)) {
		*ret_why = "mounted: audit the mount point instead, or unmount it";
		return EBUSY;
	}
	if (flags & VA_IMAGE_WRITE)
		oflags |= EXT2_FLAG_RW | EXT2_FLAG_EXCLUSIVE;
	if (flags & VA_IMAGE_LENIENT)
		oflags |= EXT2_FLAG_IGNORE_CSUM_ERRORS;

	img = calloc(1, sizeof(*img));
	if (!img || !(img->path = strdup(path))) {
		free(img);
		return ENOMEM;
	}
	err = ext2fs_open2(path, NULL, oflags, 0, 0, unix_io_manager, &img->fs);
	if (err) {
		free(img->path);
		free(img);
		return err;
	}
	img->mounted = mounted;
	img->needs_recovery = ext2fs_has_feature_journal_needs_recovery(img->fs->super);
	if (img->needs_recovery && (flags & VA_IMAGE_WRITE)) {
		*ret_why = "the journal needs recovery: run e2fsck first";
		va_image_close(img);
		return EBUSY;
	}
	*ret = img;
	return 0;
}

errcode_t va_image_open(const char *path, unsigned flags, struct va_image **ret,
			struct va_error *err)
{
	const char *why;
	errcode_t code = image_open(path, flags, ret, &why);

	if (code && err)
		va_error_set(err, why ? 0 : code, path, strlen(path),
			     why ? why : "cannot open as ext2/3/4", NULL);
	return code;
}

errcode_t va_image_close(struct va_image *img)
{
	errcode_t err = 0;

	if (!img)
		return 0;
	if (img->fs)
		err = ext2fs_close_free(&img->fs);
	free(img->path);
	free(img);
	return err;
}

errcode_t va_image_read_inode(struct va_image *img, uint64_t ino, uint32_t *ret_flags,
			      uint32_t *ret_mode, uint32_t *ret_links)
{
	struct ext2_inode inode;
	errcode_t err;

	if (ino < 1 || ino > img->fs->super->s_inodes_count)
		return EXT2_ET_BAD_INODE_NUM;
	err = ext2fs_read_inode(img->fs, (ext2_ino_t)ino, &inode);
	if (err)
		return err;
	*ret_flags = inode.i_flags;
	*ret_mode = inode.i_mode;
	*ret_links = inode.i_links_count;
	return 0;
}

errcode_t va_image_lookup_dir(struct va_image *img, const char *path, uint64_t *ret_ino)
{
	ext2_ino_t ino = EXT2_ROOT_INO;
	struct ext2_inode inode;
	errcode_t err;

	if (path[0] != '/')
		return EINVAL;
	while (*path == '/')
		path++;
	if (*path) {
		err = ext2fs_namei(img->fs, EXT2_ROOT_INO, EXT2_ROOT_INO, path, &ino);
		if (err)
			return err;
	}
	err = ext2fs_read_inode(img->fs, ino, &inode);
	if (err)
		return err;
	if (!LINUX_S_ISDIR(inode.i_mode))
		return ENOTDIR;
	*ret_ino = ino;
	return 0;
}

errcode_t va_image_resolve(struct va_image *img, const char *path, size_t len, uint64_t *ret_ino)
{
	ext2_ino_t ino = EXT2_ROOT_INO;
	size_t i = 1;

	if (len == 0 || path[0] != '/' || memchr(path, '\0', len))
		return EINVAL;
	while (i < len) {
		const char *end = memchr(path + i, '/', len - i);
		size_t n = end ? (size_t)(end - path) - i : len - i;
		struct ext2_inode inode;
		ext2_ino_t next;
		errcode_t err;

		if (n == 0 || n > 255 || (n == 1 && path[i] == '.') ||
		    (n == 2 && path[i] == '.' && path[i + 1] == '.'))
			return EINVAL;
		/* the directory to look in: a real one, not a link */
		err = ext2fs_read_inode(img->fs, ino, &inode);
		if (err)
			return err;
		if (LINUX_S_ISLNK(inode.i_mode))
			return ELOOP;
		if (!LINUX_S_ISDIR(inode.i_mode))
			return ENOTDIR;
		err = ext2fs_lookup(img->fs, ino, path + i, (int)n, NULL, &next);
		if (err)
			return err;
		ino = next;
		i += n + 1;
		if (end && i == len)
			return EINVAL;  /* a trailing '/' */
	}
	*ret_ino = ino;
	return 0;
}

errcode_t va_image_for_dev(dev_t dev, struct va_image **ret)
{
	char sys[64], line[256], devpath[PATH_MAX];
	struct stat st;
	FILE *fp;

	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/uevent", major(dev), minor(dev));
	fp = fopen(sys, "re");
	if (!fp)
		return ENODEV;
	devpath[0] = '\0';
	while (fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "DEVNAME=", 8) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(devpath, sizeof(devpath), "/dev/%s", line + 8);
			break;
		}
	}
	fclose(fp);
	if (!devpath[0] || stat(devpath, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != dev)
		return ENODEV;
	return va_image_open(devpath, VA_IMAGE_LENIENT | VA_IMAGE_ALLOW_MOUNTED, ret, NULL);
}

uint32_t va_image_inode_tag(const struct va_image *img, const struct ext2_inode *inode,
			    enum va_tag_scheme scheme, const char **how)
{
	struct ext2_super_block *sb = img->fs->super;
	uint32_t uid = inode->i_uid | (uint32_t)inode->osd2.linux2.l_i_uid_high << 16;
	uint32_t gid = inode->i_gid | (uint32_t)inode->osd2.linux2.l_i_gid_high << 16;
	uint32_t tag = 0;
	bool ext4 = ext2fs_has_feature_extents(sb) || ext2fs_has_feature_huge_file(sb) ||
		    ext2fs_has_feature_64bit(sb) || ext2fs_has_feature_metadata_csum(sb);

	switch (scheme) {
	case VA_TAG_AUTO:
	case VA_TAG_ID24:
		tag = va_tag_decode(VA_TAG_ID24, uid, gid, NULL, NULL);
		if (tag || scheme == VA_TAG_ID24) {
			if (how)
				*how = "id24";
			return tag;
		}
		/* fall through */
	case VA_TAG_INTERN:
		/* the slot is the kernel's own field when the feature uses it */
		if (ext4 ? !ext2fs_has_feature_metadata_csum(sb) : !ext2fs_has_feature_64bit(sb))
			tag = ext4 ? inode->osd2.linux2.l_i_checksum_lo : inode->osd2.linux2.l_i_file_acl_high;
		if (how)
			*how = "intern";
		return tag;
	case VA_TAG_GID16:
	case VA_TAG_UID16:
		if (how)
			*how = va_tag_scheme_name(scheme);
		return va_tag_decode(scheme, uid, gid, NULL, NULL);
	default:
		return 0;
	}
}

void va_image_uuid(struct va_image *img, const char *path, char out[VA_UUID_TEXT])
{
	struct va_image *dev = NULL;
	const unsigned char *u;
	struct stat st;

	snprintf(out, VA_UUID_TEXT, "unknown");
	if (!img && path && stat(path, &st) == 0 && va_image_for_dev(st.st_dev, &dev) == 0)
		img = dev;
	if (!img)
		return;
	u = img->fs->super->s_uuid;
	snprintf(out, VA_UUID_TEXT,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
	va_image_close(dev);
}
