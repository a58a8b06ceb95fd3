/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * namelist.c - compact chains of names (namelist.h).
 *
 * The arena holds two kinds of pieces, each at an 8-byte aligned offset:
 *   directory:  uint32 length, then the bytes (no NUL)
 *   name:       uint64 next (offset + 1, 0 = end), uint64 directory
 *               (offset + 1, 0 = none), int32 tag, uint16 length, bytes
 * Fields are read and written with memcpy(): the arena moves as it grows.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "core/namelist.h"

#define NAME_HEAD (8 + 8 + 4 + 2)

static int align8(struct dbuf *b)
{
	static const char zero[8];

	return b->len % 8 ? dbuf_add(b, zero, 8 - b->len % 8) : 0;
}

/* The directory @dir (@len bytes) as an offset + 1, stored unless it is the last one stored. */
static int dir_of(struct va_namelist *nl, const char *dir, size_t len, uint64_t *ret)
{
	uint32_t l32 = (uint32_t)len;
	uint64_t off;

	if (nl->last_dir && nl->last_dir_len == len &&
	    memcmp(nl->arena.buf + nl->last_dir - 1 + 4, dir, len) == 0) {
		*ret = nl->last_dir;
		return 0;
	}
	if ((uint64_t)len > UINT32_MAX || align8(&nl->arena) < 0)
		return -ENOMEM;
	off = nl->arena.len;
	if (dbuf_add(&nl->arena, &l32, 4) < 0 || dbuf_add(&nl->arena, dir, len) < 0)
		return -ENOMEM;
	nl->last_dir = off + 1;
	nl->last_dir_len = len;
	*ret = off + 1;
	return 0;
}

int va_namelist_add(struct va_namelist *nl, struct va_namechain *c, const char *path, size_t len,
		    size_t base_len, int32_t tag)
{
	uint64_t dir = 0, next = 0, off;
	size_t dlen = len - base_len;
	uint16_t b16;

	if (base_len > UINT16_MAX || base_len > len)
		return -EINVAL;
	/* the directory without the '/' before the last component */
	if (dlen && dir_of(nl, path, dlen, &dir) < 0)
		return -ENOMEM;
	if (align8(&nl->arena) < 0)
		return -ENOMEM;
	off = nl->arena.len;
	b16 = (uint16_t)base_len;
	if (dbuf_add(&nl->arena, &next, 8) < 0 || dbuf_add(&nl->arena, &dir, 8) < 0 ||
	    dbuf_add(&nl->arena, &tag, 4) < 0 || dbuf_add(&nl->arena, &b16, 2) < 0 ||
	    dbuf_add(&nl->arena, path + dlen, base_len) < 0)
		return -ENOMEM;
	if (c->last)
		memcpy(nl->arena.buf + c->last - 1, &(uint64_t){ off + 1 }, 8);
	else
		c->first = off + 1;
	c->last = off + 1;
	c->n++;
	return 0;
}

uint64_t va_namelist_get(const struct va_namelist *nl, uint64_t pos, struct dbuf *out, int32_t *tag)
{
	const char *p = nl->arena.buf + pos - 1;
	uint64_t next, dir;
	uint16_t blen;

	memcpy(&next, p, 8);
	memcpy(&dir, p + 8, 8);
	memcpy(tag, p + 16, 4);
	memcpy(&blen, p + 20, 2);
	if (dir) {
		uint32_t dlen;

		memcpy(&dlen, nl->arena.buf + dir - 1, 4);
		if (dbuf_add(out, nl->arena.buf + dir - 1 + 4, dlen) < 0)
			return UINT64_MAX;
	}
	if (dbuf_add(out, p + NAME_HEAD, blen) < 0)
		return UINT64_MAX;
	return next;
}

void va_namelist_release(struct va_namelist *nl)
{
	dbuf_release(&nl->arena);
	nl->last_dir = 0;
	nl->last_dir_len = 0;
}
