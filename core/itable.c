/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * itable.c - the inodes of a filesystem from its inode tables (itable.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbuf.h"
#include "core/image.h"
#include "core/itable.h"

struct va_itable {
	uint64_t *kept;         /* one bit per inode number, 0 .. ninodes */
	uint64_t ninodes;
	uint32_t *rank;         /* kept inodes below each word of kept: the index
				   in ents of its first kept inode */
	struct va_itable_ent *ents;     /* in inode order */
	size_t nents, capents;
};

static bool bit(const struct va_itable *t, uint64_t ino)
{
	return ino <= t->ninodes && (t->kept[ino / 64] >> (ino % 64) & 1);
}

long va_itable_read(struct va_image *img, va_itable_keep_fn *keep, void *user,
		    const volatile int *cancel, struct va_itable **ret,
		    struct va_itable_counts *ret_counts)
{
	ext2_filsys fs = img->fs;
	struct va_itable *t = calloc(1, sizeof(*t));
	ext2_inode_scan scan = NULL;
	struct ext2_inode inode;
	ext2_ino_t ino;
	struct va_itable_counts counts = { 0 };
	/* a whole group's table (up to 1 MiB) at a time */
	unsigned int bufblocks = (1u << 20) / fs->blocksize;
	errcode_t err;
	long r = 0;

	*ret = NULL;
	if (!t)
		return -ENOMEM;
	t->ninodes = fs->super->s_inodes_count;
	t->kept = calloc(t->ninodes / 64 + 1, sizeof(*t->kept));
	if (!t->kept) {
		va_itable_free(t);
		return -ENOMEM;
	}
	if (fs->inode_blocks_per_group < bufblocks)
		bufblocks = fs->inode_blocks_per_group;
	err = ext2fs_open_inode_scan(fs, (int)bufblocks, &scan);
	if (err) {
		va_itable_free(t);
		return (long)err;
	}
	/* Checksums are not verified (@img is opened lenient): that costs a
	 * tenth of the scan, and buys nothing here: i_flags is one aligned
	 * word the kernel stores whole, and whatever the table says is read
	 * again live before it is reported. */
	for (;;) {
		bool suspect = false;
		struct va_itable_ent e;

		err = ext2fs_get_next_inode(scan, &ino, &inode);
		if (err == EXT2_ET_INODE_CSUM_INVALID || err == EXT2_ET_INODE_IS_GARBAGE) {
			suspect = true;
			err = 0;
		}
		if (err) {
			r = (long)err;
			break;
		}
		if (!ino)
			break;
		if (!inode.i_links_count || inode.i_dtime)
			continue;
		counts.names += LINUX_S_ISDIR(inode.i_mode) ? 1 : inode.i_links_count;
		if ((++counts.inodes & 65535) == 0 && cancel && *cancel) {
			r = -ECANCELED;
			break;
		}
		e = (struct va_itable_ent){ .ino = ino, .flags = inode.i_flags, .gen = inode.i_generation,
					    .mode = inode.i_mode, .links = inode.i_links_count };
		if (!keep(&e, suspect, user))
			continue;
		if (va_array_grow(&t->ents, &t->capents, t->nents, sizeof(*t->ents)) < 0) {
			r = -ENOMEM;
			break;
		}
		if (suspect)
			e.links = 0;
		t->ents[t->nents++] = e;
		t->kept[ino / 64] |= UINT64_C(1) << (ino % 64);
	}
	ext2fs_close_inode_scan(scan);
	if (r == 0 && t->nents > UINT32_MAX)
		r = -ENOMEM;
	if (r == 0 && !(t->rank = calloc(t->ninodes / 64 + 1, sizeof(*t->rank))))
		r = -ENOMEM;
	if (r) {
		va_itable_free(t);
		return r;
	}
	for (uint64_t w = 0, n = 0; w <= t->ninodes / 64; w++) {
		t->rank[w] = (uint32_t)n;
		n += (uint64_t)__builtin_popcountll(t->kept[w]);
	}
	if (ret_counts)
		*ret_counts = counts;
	*ret = t;
	return 0;
}

const struct va_itable_ent *va_itable_get(const struct va_itable *t, uint64_t ino)
{
	uint64_t below;

	if (!bit(t, ino))
		return NULL;
	/* its index: the kept inodes before it, counted in the bitmap */
	below = t->kept[ino / 64] & ((UINT64_C(1) << (ino % 64)) - 1);
	return &t->ents[t->rank[ino / 64] + (uint64_t)__builtin_popcountll(below)];
}

uint64_t va_itable_count(const struct va_itable *t)
{
	return t->nents;
}

void va_itable_free(struct va_itable *t)
{
	if (!t)
		return;
	free(t->kept);
	free(t->rank);
	free(t->ents);
	free(t);
}
