/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * itable.h - a snapshot of the inodes of an ext2/3/4 filesystem, read from
 * its inode tables in one sequential pass: each group's table (where the
 * group descriptors libext2fs read put it, its unused tail skipped where
 * the filesystem records it) mapped from the device's page cache and read
 * in place, nothing copied.
 *
 * The live audit uses it to learn the flags, mode, link count and
 * generation of every inode of a mounted filesystem without a system call
 * per file: the block device is read through the page cache, read-only
 * (va_image_for_dev()), and what the kernel has not yet written back may
 * be missing or half written.  So the snapshot only says which inodes are
 * worth a look; whatever is reported about one is read again on the live
 * inode first.
 *
 * Only the inodes a caller's predicate keeps are stored (16 bytes each),
 * plus one bit and half a byte per inode of the filesystem (a bitmap and
 * the count of kept inodes before each 64 of it): every lookup is O(1).
 */
#ifndef VAUDIT_ITABLE_H
#define VAUDIT_ITABLE_H

#include <stdbool.h>
#include <stdint.h>

struct va_image;

/** One inode as the table holds it. */
struct va_itable_ent {
	uint32_t ino;
	uint32_t flags;         /**< raw i_flags (ext2 and 2.6 vserver bits) */
	uint32_t gen;           /**< i_generation */
	uint16_t mode;          /**< i_mode */
	uint16_t links;         /**< i_links_count; 0 in a kept entry: its copy was
				     unusable (suspect), nothing in it is known */
};

/**
 * va_itable_keep_fn - should the inode @e be kept?  @suspect: its copy
 * looks torn or garbage (a large inode whose extra part claims an
 * impossible size; checksums are not verified): keeping it means reading
 * it live.
 */
typedef bool va_itable_keep_fn(const struct va_itable_ent *e, bool suspect, void *user);

struct va_itable;

/** What a scan counted of the whole filesystem. */
struct va_itable_counts {
	uint64_t inodes;        /**< in-use inodes seen */
	uint64_t names;         /**< the entries a walk of the whole filesystem from
				     its root meets: each directory once (the root
				     included), every other inode once per link */
};

/**
 * va_itable_read() - scan the inode tables of @img, keeping the in-use
 * inodes (links > 0, no deletion time) @keep accepts.  @cancel (may be
 * NULL): stop with -ECANCELED when it becomes non-zero.  @ret_counts
 * (may be NULL): what was counted.
 * Return: 0, -ENOMEM, -ECANCELED, or a positive errcode_t of libext2fs
 * (EXT2_ET_BAD_DEVICE_NAME: @img's path no longer holds that filesystem;
 * EXT2_ET_GDESC_BAD_INODE_TABLE: a table outside the device); the table is
 * then not usable.
 */
long va_itable_read(struct va_image *img, va_itable_keep_fn *keep, void *user,
		    const volatile int *cancel, struct va_itable **ret,
		    struct va_itable_counts *ret_counts);

/** va_itable_get() - the kept entry of inode @ino, or NULL. */
const struct va_itable_ent *va_itable_get(const struct va_itable *t, uint64_t ino);

/**
 * va_itable_index() - the position of the kept entry @e (from
 * va_itable_get() of @t) among the kept entries: 0 .. va_itable_count() - 1,
 * for arrays kept beside the table.
 */
uint64_t va_itable_index(const struct va_itable *t, const struct va_itable_ent *e);

/** va_itable_count() - the number of kept entries. */
uint64_t va_itable_count(const struct va_itable *t);

/** va_itable_free() - free @t (NULL is fine). */
void va_itable_free(struct va_itable *t);

#endif
