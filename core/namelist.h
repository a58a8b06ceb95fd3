/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * namelist.h - the names of many inodes, kept compactly while a walk goes
 * on: each name is its directory (stored once for a run of names in the
 * same directory, as a depth-first walk gives them) and its last
 * component, in one growing arena, and the names of one inode form a
 * chain.  About 30 bytes a name plus its last component, where a path of
 * its own costs its whole length and an allocation.
 */
#ifndef VAUDIT_NAMELIST_H
#define VAUDIT_NAMELIST_H

#include <stddef.h>
#include <stdint.h>

#include "core/dbuf.h"

struct va_namelist {
	struct dbuf arena;      /* directory paths and name records */
	uint64_t last_dir;      /* offset + 1 of the last directory stored, 0 none */
	size_t last_dir_len;
};

#define VA_NAMELIST_INIT { .arena = DBUF_INIT }

/** One inode's chain of names: offsets + 1 into the arena, 0 = none. */
struct va_namechain {
	uint64_t first, last;
	uint32_t n;
};

/**
 * va_namelist_add() - add the path @path (@len bytes) whose last component
 * is its last @base_len bytes (after a '/', or the whole path) to @c,
 * with @tag (the caller's, e.g. a guest index).
 * Return: 0 or -ENOMEM.
 */
int va_namelist_add(struct va_namelist *nl, struct va_namechain *c, const char *path, size_t len,
		    size_t base_len, int32_t tag);

/**
 * va_namelist_get() - the name at @pos (c->first, then what the previous
 * call returned), its path appended to @out and its tag in *@tag.
 * Return: the position of the next name of the chain (0 after the last),
 * or UINT64_MAX when @out cannot grow (-ENOMEM).
 */
uint64_t va_namelist_get(const struct va_namelist *nl, uint64_t pos, struct dbuf *out, int32_t *tag);

/** va_namelist_release() - free the arena. */
void va_namelist_release(struct va_namelist *nl);

#endif
