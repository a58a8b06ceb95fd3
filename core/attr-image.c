/* SPDX-License-Identifier: GPL-2.0-or-later */
/* attr-image.c - the image back end: raw i_flags through libext2fs. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "core/attr.h"
#include "core/image.h"

static int image_read(struct va_backend *be, const struct va_attr_target *t, struct va_attrs *ret)
{
	uint32_t flags, mode, links;
	errcode_t err = va_image_read_inode(be->priv, t->ino, &flags, &mode, &links);

	if (err)
		return err > 0 && err < 4096 ? -(int)err : -EIO;
	if (links == 0)
		return -ENOENT;
	ret->flags = flags;
	ret->known = VA_KNOWN_EXT2 | VA_KNOWN_VS26;
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
	.destroy = image_destroy,
};

int va_backend_image_new(struct va_backend **ret, struct va_image *img)
{
	struct va_backend *be = calloc(1, sizeof(*be));

	if (!be)
		return -ENOMEM;
	be->ops = &image_ops;
	be->caps = VA_CAP_VS26;
	be->priv = img;
	*ret = be;
	return 0;
}
