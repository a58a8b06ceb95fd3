/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * inomap.h - a hash map from inode identity (dev, ino) to a small index.
 *
 * Used to recognise the other names of a hard-linked inode during a walk.
 * Open addressing with linear probing; grows at 50% load.  Values are
 * caller-chosen 32-bit indexes (typically into the caller's own array).
 */
#ifndef VAUDIT_INOMAP_H
#define VAUDIT_INOMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct va_inomap {
	struct va_inomap_slot *slots;
	size_t cap;             /* power of two, or 0 */
	size_t count;
};

#define VA_INOMAP_INIT { NULL, 0, 0 }

/**
 * va_inomap_find() - look up (@dev, @ino).
 * Return: 1 with *@ret_val set when present, 0 when absent.
 */
int va_inomap_find(const struct va_inomap *m, dev_t dev, uint64_t ino, uint32_t *ret_val);

/**
 * va_inomap_insert() - map (@dev, @ino) to @val (replacing an old value).
 * Return: 0 or -ENOMEM.
 */
int va_inomap_insert(struct va_inomap *m, dev_t dev, uint64_t ino, uint32_t val);

/** va_inomap_release() - free the map's memory; it is empty afterwards. */
void va_inomap_release(struct va_inomap *m);

#endif
