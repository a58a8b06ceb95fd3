/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * itable.c - the inodes of a filesystem from its inode tables (itable.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Little-endian fields of an on-disk inode. */
static uint16_t le16_at(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32_at(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Bytes of an inode table mapped at a time, at most (the resident part). */
#define WINDOW ((uint64_t)1 << 20)

/* Offsets in struct ext2_inode (the first 128 bytes of every inode). */
enum {
	OFF_MODE = 0, OFF_DTIME = 20, OFF_LINKS = 26, OFF_FLAGS = 32, OFF_GENERATION = 100,
	OFF_EXTRA_ISIZE = 128,
};

/*
 * Open @img's device (or file) again for mapping, and make sure it holds
 * the filesystem libext2fs read: the same superblock magic and UUID.
 * Return: the fd and its size in *@size, or -errno / -EXDEV.
 */
static int open_same(const struct va_image *img, uint64_t *size)
{
	unsigned char sb[1024];
	struct stat st;
	int fd = open(img->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)))
		goto bad;
	if (S_ISBLK(st.st_mode) ? ioctl(fd, BLKGETSIZE64, size) < 0 : (*size = (uint64_t)st.st_size, 0))
		goto bad;
	if (pread(fd, sb, sizeof(sb), 1024) != (ssize_t)sizeof(sb) || le16_at(sb + 56) != EXT2_SUPER_MAGIC ||
	    memcmp(sb + 104, img->fs->super->s_uuid, 16) != 0)
		goto bad;
	return fd;
bad:
	close(fd);
	return -EXDEV;
}

/*
 * The in-use inodes of group @g: the group's inode table mapped straight
 * from the page cache (nothing copied), its initialised part only.
 * Return: 0, -ENOMEM, -ECANCELED, or EXT2_ET_GDESC_BAD_INODE_TABLE for a
 * table outside the device.
 */
static long scan_group(ext2_filsys fs, dgrp_t g, int fd, uint64_t dev_size, struct va_itable *t,
		       va_itable_keep_fn *keep, void *user, const volatile int *cancel,
		       struct va_itable_counts *counts)
{
	uint64_t ipg = fs->super->s_inodes_per_group, n = ipg, isz = EXT2_INODE_SIZE(fs->super);
	uint64_t off, len, page = (uint64_t)sysconf(_SC_PAGESIZE), lead, released = 0;
	const unsigned char *map;
	long r = 0;

	if (ext2fs_has_group_desc_csum(fs)) {
		if (ext2fs_bg_flags_test(fs, g, EXT2_BG_INODE_UNINIT))
			return 0;
		if (ext2fs_bg_itable_unused(fs, g) <= ipg)
			n = ipg - ext2fs_bg_itable_unused(fs, g);
	}
	if (!n)
		return 0;
	off = (uint64_t)ext2fs_inode_table_loc(fs, g) * fs->blocksize;
	len = n * isz;
	if (!ext2fs_inode_table_loc(fs, g) || off > dev_size || len > dev_size - off)
		return EXT2_ET_GDESC_BAD_INODE_TABLE;
	lead = off % page;
	map = mmap(NULL, len + lead, PROT_READ, MAP_SHARED, fd, (off_t)(off - lead));
	if (map == MAP_FAILED)
		return -errno;
	(void)madvise((void *)map, len + lead, MADV_SEQUENTIAL | MADV_WILLNEED);
	for (uint64_t i = 0; i < n; i++) {
		const unsigned char *raw = map + lead + i * isz;
		uint16_t links = le16_at(raw + OFF_LINKS), mode = le16_at(raw + OFF_MODE);
		uint64_t ino = (uint64_t)g * ipg + i + 1;
		struct va_itable_ent e;
		bool suspect;

		/* the pages read are let go every WINDOW bytes (they stay in the
		 * page cache): a window, not the whole table, is resident */
		if (lead + i * isz >= released + WINDOW) {
			uint64_t upto = (lead + i * isz) / page * page;

			(void)madvise((void *)(map + released), upto - released, MADV_DONTNEED);
			released = upto;
		}
		if (!links || le32_at(raw + OFF_DTIME) || ino > t->ninodes)
			continue;
		counts->names += LINUX_S_ISDIR(mode) ? 1 : links;
		if ((++counts->inodes & 65535) == 0 && cancel && *cancel) {
			r = -ECANCELED;
			break;
		}
		/* a large inode whose extra part claims an impossible size is torn or garbage */
		suspect = isz > EXT2_GOOD_OLD_INODE_SIZE &&
			  (le16_at(raw + OFF_EXTRA_ISIZE) > isz - EXT2_GOOD_OLD_INODE_SIZE ||
			   le16_at(raw + OFF_EXTRA_ISIZE) % 4);
		e = (struct va_itable_ent){ .ino = (uint32_t)ino, .flags = le32_at(raw + OFF_FLAGS),
					    .mode = mode, .links = links };
		if (!keep(&e, suspect, user))
			continue;
		if (va_array_grow(&t->ents, &t->capents, t->nents, sizeof(*t->ents)) < 0) {
			r = -ENOMEM;
			break;
		}
		e.gen = le32_at(raw + OFF_GENERATION);
		if (suspect)
			e.links = 0;
		t->ents[t->nents++] = e;
		t->kept[ino / 64] |= UINT64_C(1) << (ino % 64);
	}
	munmap((void *)map, len + lead);
	return r;
}

long va_itable_read(struct va_image *img, va_itable_keep_fn *keep, void *user,
		    const volatile int *cancel, struct va_itable **ret,
		    struct va_itable_counts *ret_counts)
{
	ext2_filsys fs = img->fs;
	struct va_itable *t = calloc(1, sizeof(*t));
	struct va_itable_counts counts = { 0 };
	uint64_t dev_size = 0;
	long r = 0;
	int fd;

	*ret = NULL;
	if (!t)
		return -ENOMEM;
	t->ninodes = fs->super->s_inodes_count;
	t->kept = calloc(t->ninodes / 64 + 1, sizeof(*t->kept));
	if (!t->kept) {
		va_itable_free(t);
		return -ENOMEM;
	}
	fd = open_same(img, &dev_size);
	if (fd < 0) {
		va_itable_free(t);
		return fd == -ENOMEM ? -ENOMEM : EXT2_ET_BAD_DEVICE_NAME;
	}
	/* Checksums are not verified: that would cost a tenth of the scan and
	 * buy nothing here: i_flags is one aligned word the kernel stores
	 * whole, and whatever the table says is read again live before it is
	 * reported. */
	for (dgrp_t g = 0; g < fs->group_desc_count && r == 0; g++)
		r = scan_group(fs, g, fd, dev_size, t, keep, user, cancel, &counts);
	close(fd);
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

uint64_t va_itable_index(const struct va_itable *t, const struct va_itable_ent *e)
{
	return (uint64_t)(e - t->ents);
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
