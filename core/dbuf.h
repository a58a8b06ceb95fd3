/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dbuf.h - a growable byte buffer.
 *
 * Invariants: after dbuf_init() or DBUF_INIT, `buf` is either NULL with
 * len == cap == 0, or points to cap bytes of which the first len are used
 * and buf[len] == '\0'.  Bytes may be anything, NUL included; the trailing
 * NUL only makes text use convenient.  Functions that grow the buffer
 * return 0 or -ENOMEM; on failure the contents are unchanged.
 */
#ifndef VAUDIT_DBUF_H
#define VAUDIT_DBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct dbuf {
	char *buf;
	size_t len;
	size_t cap;
};

#define DBUF_INIT { NULL, 0, 0 }

/** dbuf_init() - make @b empty without allocating. */
void dbuf_init(struct dbuf *b);

/** dbuf_release() - free the memory of @b and make it empty. */
void dbuf_release(struct dbuf *b);

/** dbuf_reserve() - make room for @extra more bytes (plus the NUL). */
int dbuf_reserve(struct dbuf *b, size_t extra);

/** dbuf_add() - append @len bytes at @p. */
int dbuf_add(struct dbuf *b, const void *p, size_t len);

/** dbuf_addc() - append one byte. */
int dbuf_addc(struct dbuf *b, char c);

/** dbuf_adds() - append a NUL-terminated string. */
int dbuf_adds(struct dbuf *b, const char *s);

/** dbuf_addu() - append @v in decimal (what "%" PRIu64 gives, without printf). */
int dbuf_addu(struct dbuf *b, uint64_t v);

/** dbuf_addf() - append printf-formatted text. */
int dbuf_addf(struct dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * dbuf_read_fd() - append what is left to read from @fd (to its end; EINTR
 * retried) to @b.  Return: 0, -EFBIG once @b holds more than @max bytes
 * (what was read stays), -ENOMEM, or -errno of read(2).
 */
int dbuf_read_fd(struct dbuf *b, int fd, size_t max);

/** dbuf_setlen() - truncate to @len bytes (@len <= b->len). */
void dbuf_setlen(struct dbuf *b, size_t len);

/** dbuf_str() - the contents as a C string ("" for an unallocated buffer). */
static inline const char *dbuf_str(const struct dbuf *b)
{
	return b->buf ? b->buf : "";
}

/**
 * va_array_grow() - make room for one more element in a realloc'd array.
 * @array: address of the array pointer; @cap: its capacity in elements;
 * @used: elements in use; @elsize: size of one element.
 * Doubles the capacity (from 16) when @used == *@cap.
 * Return: 0, or -ENOMEM with the array unchanged.
 */
int va_array_grow(void *array, size_t *cap, size_t used, size_t elsize);

/** size_add_sat(), size_mul_sat() - saturating size arithmetic (SIZE_MAX on overflow). */
size_t size_add_sat(size_t a, size_t b);
size_t size_mul_sat(size_t a, size_t b);

#endif
