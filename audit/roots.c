/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * roots.c - the attributes of any file or directory, for vaudit --attrs
 * (what showattr and lsattr showed): each PATH itself, then, for a
 * directory, its entries, or with VA_ATTRS_RECURSIVE everything below it.
 * Only regular files and directories have flags to show; other entries
 * below a PATH are left out.  Live through the one walker and the back
 * end; on an image through libext2fs, in the walker's order (the entries
 * of a directory by inode number), so both outputs can be compared.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <ext2fs/ext2_err.h>

#include "audit/audit.h"
#include "core/dbuf.h"
#include "core/image.h"
#include "core/inomap.h"
#include "core/target.h"
#include "core/walk.h"

struct roots {
	const struct va_audit_args *args;
	unsigned how;
	va_roots_fn *fn;
	int r;
};

static void report(struct roots *ctx, const char *path, size_t len, const char *op, int err)
{
	if (ctx->args->hooks.error)
		ctx->args->hooks.error(path, len, op, err, ctx->args->hooks.user);
	ctx->r = -EIO;
}

/* ------------------------------------------------------------------ live */

static enum va_walk_action on_entry(const struct va_walk_entry *e, void *user)
{
	struct roots *ctx = user;
	struct va_attr_target t;
	struct va_attrs at = { 0 };
	bool dir;
	int r;

	if (e->visit == VA_WALK_ERROR) {
		report(ctx, e->path, e->path_len, e->error_op, e->error);
		return VA_WALK_CONTINUE;
	}
	if (e->visit != VA_WALK_PRE)
		return VA_WALK_CONTINUE;
	dir = S_ISDIR(e->stx->stx_mode);
	if (!dir && !S_ISREG(e->stx->stx_mode)) {
		if (e->depth == 0)
			report(ctx, e->path, e->path_len, "not a regular file or directory: no flags", 0);
		return VA_WALK_CONTINUE;
	}
	t = va_target_of(e);
	r = va_backend_read(ctx->args->backend, &t, &at);
	if (r < 0) {
		report(ctx, e->path, e->path_len, "read flags", -r);
		at.known = 0;
		at.flags = 0;
	}
	ctx->fn(e->path, e->path_len, &at, e->stx->stx_mode, ctx->args->hooks.user);
	if (!dir || e->depth == 0 || (ctx->how & VA_ATTRS_RECURSIVE))
		return VA_WALK_CONTINUE;
	return VA_WALK_PRUNE;
}

static int list_live(struct roots *ctx)
{
	const struct va_audit_args *args = ctx->args;
	struct va_walk_args w = {
		.roots = args->roots,
		.nroots = args->nroots,
		.flags = (args->flags & VA_AUDIT_CROSS_MOUNTS) ? 0 : VA_WALK_XDEV,
		.mount_depth = 1,
		.callback = on_entry,
		.user = ctx,
	};
	int r = va_walk(&w);

	return r < 0 ? r : ctx->r;
}

/* ------------------------------------------------------------------ image */

struct child {
	uint32_t ino;
	uint32_t name_off, name_len;    /* into the frame's names */
};

/* A directory being listed: its entries by inode number, the next one. */
struct frame {
	struct child *kids;
	size_t nkids, capkids, next;
	struct dbuf names;
	size_t path_len;                /* of the directory's path */
	bool nomem;
};

static int on_dirent(ext2_ino_t dir, int entry, struct ext2_dir_entry *de, int offset,
		     int blocksize, char *buf, void *priv)
{
	struct frame *f = priv;
	int len = ext2fs_dirent_name_len(de);
	struct child *c;

	(void)dir;
	(void)entry;
	(void)offset;
	(void)blocksize;
	(void)buf;
	if (!de->inode || len <= 0 || (len == 1 && de->name[0] == '.') ||
	    (len == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	if (va_array_grow(&f->kids, &f->capkids, f->nkids, sizeof(*f->kids)) < 0 ||
	    dbuf_add(&f->names, de->name, (size_t)len) < 0) {
		f->nomem = true;
		return DIRENT_ABORT;
	}
	c = &f->kids[f->nkids++];
	c->ino = de->inode;
	c->name_off = (uint32_t)(f->names.len - (size_t)len);
	c->name_len = (uint32_t)len;
	return 0;
}

static int by_ino(const void *pa, const void *pb)
{
	const struct child *a = pa, *b = pb;

	return (a->ino > b->ino) - (a->ino < b->ino);
}

/* Read the entries of directory @ino into @f.  Return: 0 or an errcode_t. */
static errcode_t read_frame(struct va_image *img, uint64_t ino, struct frame *f)
{
	errcode_t err = ext2fs_dir_iterate2(img->fs, (ext2_ino_t)ino, 0, NULL, on_dirent, f);

	/* inline-data directories only with the flag (which makes libext2fs
	 * 1.47 report other ext4 directories as corrupted) */
	if (err == EXT2_ET_INLINE_DATA_CANT_ITERATE && !f->nkids)
		err = ext2fs_dir_iterate2(img->fs, (ext2_ino_t)ino, DIRENT_FLAG_INCLUDE_INLINE_DATA,
					  NULL, on_dirent, f);

	if (f->nomem)
		err = EXT2_ET_NO_MEMORY;
	qsort(f->kids, f->nkids, sizeof(*f->kids), by_ino);
	return err;
}

static void frame_release(struct frame *f)
{
	free(f->kids);
	dbuf_release(&f->names);
}

static void show_inode(struct roots *ctx, struct va_image *img, struct dbuf *path, uint64_t ino,
		       uint32_t *mode)
{
	struct va_attrs at = { 0 };
	uint32_t links;
	errcode_t err = va_image_read_inode(img, ino, &at.flags, mode, &links);

	if (err) {
		*mode = 0;
		report(ctx, path->buf, path->len, "reading the inode", (int)err);
		return;
	}
	if (!LINUX_S_ISDIR(*mode) && !LINUX_S_ISREG(*mode))
		return;
	at.known = VA_KNOWN_EXT2 | VA_KNOWN_VS26;
	ctx->fn(path->buf, path->len, &at, *mode, ctx->args->hooks.user);
}

/* One PATH of the image: itself, then its entries (all below it when recursive). */
static int list_image_path(struct roots *ctx, struct va_image *img, const char *root)
{
	struct frame *stack = NULL;
	size_t depth = 0, cap = 0;
	struct va_inomap seen = VA_INOMAP_INIT;
	struct dbuf path = DBUF_INIT;
	uint64_t ino;
	uint32_t mode = 0;
	size_t len = strlen(root);
	errcode_t err;
	int r = 0;

	while (len > 1 && root[len - 1] == '/')
		len--;
	if (dbuf_add(&path, root, len) < 0)
		return -ENOMEM;
	err = va_image_resolve(img, path.buf, path.len, &ino);
	if (err) {
		report(ctx, path.buf, path.len, "looking it up in the image", (int)err);
		dbuf_release(&path);
		return 0;
	}
	show_inode(ctx, img, &path, ino, &mode);
	if (mode && !LINUX_S_ISDIR(mode) && !LINUX_S_ISREG(mode))
		report(ctx, path.buf, path.len, "not a regular file or directory: no flags", 0);
	if (!LINUX_S_ISDIR(mode))
		goto out;
	if (len == 1)
		dbuf_setlen(&path, 0); /* "/" + "/name" */
	for (;;) {
		struct frame *f;

		if (ino) {
			/* enter directory @ino (path holds its path) */
			if (va_inomap_insert(&seen, 0, ino, 0) < 0 ||
			    va_array_grow(&stack, &cap, depth, sizeof(*stack)) < 0) {
				r = -ENOMEM;
				break;
			}
			f = &stack[depth++];
			memset(f, 0, sizeof(*f));
			f->names = (struct dbuf)DBUF_INIT;
			f->path_len = path.len;
			err = read_frame(img, ino, f);
			if (err == EXT2_ET_NO_MEMORY) {
				r = -ENOMEM;
				break;
			}
			if (err)
				report(ctx, path.len ? path.buf : "/", path.len ? path.len : 1,
				       "reading the directory", (int)err);
			ino = 0;
		}
		if (!depth)
			break;
		f = &stack[depth - 1];
		if (f->next == f->nkids) {
			frame_release(f);
			depth--;
			continue;
		}
		{
			const struct child *c = &f->kids[f->next++];
			uint32_t idx;

			dbuf_setlen(&path, f->path_len);
			if (dbuf_addc(&path, '/') < 0 ||
			    dbuf_add(&path, f->names.buf + c->name_off, c->name_len) < 0) {
				r = -ENOMEM;
				break;
			}
			show_inode(ctx, img, &path, c->ino, &mode);
			if ((ctx->how & VA_ATTRS_RECURSIVE) && LINUX_S_ISDIR(mode) &&
			    !va_inomap_find(&seen, 0, c->ino, &idx))
				ino = c->ino;
		}
	}
	while (depth)
		frame_release(&stack[--depth]);
	free(stack);
out:
	va_inomap_release(&seen);
	dbuf_release(&path);
	return r;
}

int va_list_attrs(const struct va_audit_args *args, struct va_image *img, unsigned how,
		  va_roots_fn *fn)
{
	struct roots ctx = { .args = args, .how = how, .fn = fn };
	int r = 0;

	if (!img)
		return list_live(&ctx);
	for (size_t i = 0; i < args->nroots && r == 0; i++)
		r = list_image_path(&ctx, img, args->roots[i]);
	return r < 0 ? r : ctx.r;
}
