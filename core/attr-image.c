/* SPDX-License-Identifier: GPL-2.0-or-later */
/* attr-image.c - the image back end: raw i_flags through libext2fs. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/attr.h"
#include "core/image.h"

#include <ext2fs/ext2_err.h>

static int to_errno(errcode_t err)
{
	return err > 0 && err < 4096 ? -(int)err : -EIO;
}

static int image_read(struct va_backend *be, const struct va_attr_target *t, struct va_attrs *ret)
{
	struct va_image *img = be->priv;
	struct ext2_inode inode;
	errcode_t err;

	if (t->ino < 1 || t->ino > img->fs->super->s_inodes_count)
		return -ENOENT;
	err = ext2fs_read_inode(img->fs, (ext2_ino_t)t->ino, &inode);
	if (err)
		return to_errno(err);
	if (inode.i_links_count == 0)
		return -ENOENT;
	ret->flags = inode.i_flags;
	ret->known = VA_KNOWN_EXT2 | VA_KNOWN_VS26;
	ret->mode = inode.i_mode;
	ret->gen = inode.i_generation;
	ret->gen_known = true;
	return 0;
}

static int image_write(struct va_backend *be, const struct va_attr_target *t, uint32_t flags,
		       uint32_t mode, struct va_attrs *ret)
{
	struct va_image *img = be->priv;
	struct ext2_inode inode;
	errcode_t err;

	if (!(img->fs->flags & EXT2_FLAG_RW))
		return -EROFS;
	if (t->ino < 1 || t->ino > img->fs->super->s_inodes_count)
		return -ENOENT;
	err = ext2fs_read_inode(img->fs, (ext2_ino_t)t->ino, &inode);
	if (!err) {
		inode.i_flags = flags;
		inode.i_mode = (uint16_t)((inode.i_mode & ~07777u) | (mode & 07777u));
		err = ext2fs_write_inode(img->fs, (ext2_ino_t)t->ino, &inode);
	}
	/* on the image file before the journal says done */
	if (!err)
		err = io_channel_flush(img->fs->io);
	if (err)
		return to_errno(err);
	return image_read(be, t, ret);
}

static int image_locate(struct va_backend *be, const char *path, uint64_t *ret_ino)
{
	struct va_image *img = be->priv;
	uint64_t ino;
	errcode_t err;

	/* strictly: no symlink on the way, no "..", so never outside where it says */
	err = va_image_resolve(img, path, strlen(path), &ino);
	if (err)
		return err == EXT2_ET_FILE_NOT_FOUND ? -ENOENT : to_errno(err);
	*ret_ino = ino;
	return 0;
}

static void image_destroy(struct va_backend *be)
{
	free(be);
}

static const struct va_backend_ops image_ops = {
	.size = sizeof(struct va_backend_ops),
	.name = "image",
	.read = image_read,
	.write = image_write,
	.locate = image_locate,
	.destroy = image_destroy,
};

int va_backend_image_new(struct va_backend **ret, struct va_image *img)
{
	struct va_backend *be = calloc(1, sizeof(*be));

	if (!be)
		return -ENOMEM;
	be->ops = &image_ops;
	be->caps = VA_CAP_VS26 | VA_CAP_VS26_WRITE;
	be->priv = img;
	*ret = be;
	return 0;
}
