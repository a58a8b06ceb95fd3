/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * roots.c - the attributes of each ROOT and of its guest roots, for
 * vaudit --attrs (what "showattr -d /vservers /vservers/ *" showed).
 * Live through the walker (pruned below the guest roots) and the back end;
 * on an image through libext2fs.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "audit/audit.h"
#include "core/dbuf.h"
#include "core/image.h"
#include "core/target.h"
#include "core/walk.h"

struct roots {
	const struct va_audit_args *args;
	va_roots_fn *fn;
	int r;
};

static enum va_walk_action on_entry(const struct va_walk_entry *e, void *user)
{
	struct roots *ctx = user;
	struct va_attr_target t;
	struct va_attrs at = { 0 };
	int r;

	if (e->visit == VA_WALK_ERROR) {
		if (ctx->args->hooks.error)
			ctx->args->hooks.error(e->path, e->path_len, e->error_op, e->error,
					       ctx->args->hooks.user);
		ctx->r = -EIO;
		return VA_WALK_CONTINUE;
	}
	if (e->visit != VA_WALK_PRE || !S_ISDIR(e->stx->stx_mode))
		return e->depth == 0 ? VA_WALK_CONTINUE : VA_WALK_PRUNE;
	t = va_target_of(e);
	r = va_backend_read(ctx->args->backend, &t, &at);
	if (r < 0 && ctx->args->hooks.error) {
		ctx->args->hooks.error(e->path, e->path_len, "read flags", -r, ctx->args->hooks.user);
		ctx->r = -EIO;
	}
	ctx->fn(e->path, e->path_len, &at, e->stx->stx_mode, ctx->args->hooks.user);
	return e->depth == 0 ? VA_WALK_CONTINUE : VA_WALK_PRUNE;
}

struct image_roots {
	struct roots *ctx;
	struct va_image *img;
	const char *root;
	struct dbuf path;
};

static int on_image_entry(struct ext2_dir_entry *de, int offset, int blocksize, char *buf, void *priv)
{
	struct image_roots *ir = priv;
	int len = ext2fs_dirent_name_len(de);
	struct va_attrs at = { 0 };
	uint32_t mode, links;
	size_t rootlen = strlen(ir->root);

	(void)offset;
	(void)blocksize;
	(void)buf;
	if (!de->inode || (len == 1 && de->name[0] == '.') ||
	    (len == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	if (va_image_read_inode(ir->img, de->inode, &at.flags, &mode, &links) != 0 || !S_ISDIR(mode))
		return 0;
	at.known = VA_KNOWN_EXT2 | VA_KNOWN_VS26;
	dbuf_setlen(&ir->path, 0);
	while (rootlen > 1 && ir->root[rootlen - 1] == '/')
		rootlen--;
	if (rootlen > 1)
		dbuf_add(&ir->path, ir->root, rootlen);
	dbuf_addc(&ir->path, '/');
	dbuf_add(&ir->path, de->name, (size_t)len);
	ir->ctx->fn(ir->path.buf, ir->path.len, &at, mode, ir->ctx->args->hooks.user);
	return 0;
}

int va_list_roots(const struct va_audit_args *args, struct va_image *img, va_roots_fn *fn)
{
	struct roots ctx = { .args = args, .fn = fn };

	if (!img) {
		struct va_walk_args w = {
			.roots = args->roots,
			.nroots = args->nroots,
			.flags = VA_WALK_XDEV,
			.mount_depth = 1,
			.callback = on_entry,
			.user = &ctx,
		};
		int r = va_walk(&w);

		return r < 0 ? r : ctx.r;
	} else {
		struct image_roots ir = { .ctx = &ctx, .img = img, .root = args->roots[0],
					  .path = DBUF_INIT };
		struct va_attrs at = { 0 };
		uint32_t mode, links;
		uint64_t ino;
		errcode_t err = va_image_lookup_dir(img, args->roots[0], &ino);

		if (!err)
			err = va_image_read_inode(img, ino, &at.flags, &mode, &links);
		if (!err) {
			at.known = VA_KNOWN_EXT2 | VA_KNOWN_VS26;
			fn(args->roots[0], strlen(args->roots[0]), &at, mode, args->hooks.user);
			err = ext2fs_dir_iterate(img->fs, (ext2_ino_t)ino, 0, NULL, on_image_entry, &ir);
		}
		dbuf_release(&ir.path);
		if (err && args->hooks.error)
			args->hooks.error(img->path, strlen(img->path), "reading the prefix directory",
					  (int)err, args->hooks.user);
		return err ? -EIO : 0;
	}
}
