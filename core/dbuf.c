/* SPDX-License-Identifier: GPL-2.0-or-later */
/* dbuf.c - growable byte buffer. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dbuf.h"

size_t size_add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

size_t size_mul_sat(size_t a, size_t b)
{
	return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

int va_array_grow(void *array, size_t *cap, size_t used, size_t elsize)
{
	void **p = array;
	size_t ncap;
	void *n;

	if (used < *cap)
		return 0;
	ncap = *cap ? size_mul_sat(*cap, 2) : 16;
	if (size_mul_sat(ncap, elsize) == SIZE_MAX)
		return -ENOMEM;
	n = realloc(*p, ncap * elsize);
	if (!n)
		return -ENOMEM;
	*p = n;
	*cap = ncap;
	return 0;
}

void dbuf_init(struct dbuf *b)
{
	b->buf = NULL;
	b->len = b->cap = 0;
}

void dbuf_release(struct dbuf *b)
{
	free(b->buf);
	dbuf_init(b);
}

int dbuf_reserve(struct dbuf *b, size_t extra)
{
	size_t need = size_add_sat(size_add_sat(b->len, extra), 1);
	size_t cap;
	char *p;

	if (need <= b->cap)
		return 0;
	if (need == SIZE_MAX)
		return -ENOMEM;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = size_mul_sat(cap, 2);
	p = realloc(b->buf, cap);
	if (!p)
		return -ENOMEM;
	if (!b->buf)
		p[0] = '\0';
	b->buf = p;
	b->cap = cap;
	return 0;
}

int dbuf_add(struct dbuf *b, const void *p, size_t len)
{
	if (dbuf_reserve(b, len) < 0)
		return -ENOMEM;
	if (len)
		memcpy(b->buf + b->len, p, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return 0;
}

int dbuf_read_fd(struct dbuf *b, int fd, size_t max)
{
	for (;;) {
		ssize_t n;

		if (b->len > max)
			return -EFBIG;
		if (dbuf_reserve(b, 65536) < 0)
			return -ENOMEM;
		n = read(fd, b->buf + b->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
		b->buf[b->len] = '\0';
	}
}

int dbuf_addc(struct dbuf *b, char c)
{
	return dbuf_add(b, &c, 1);
}

int dbuf_adds(struct dbuf *b, const char *s)
{
	return dbuf_add(b, s, strlen(s));
}

int dbuf_addu(struct dbuf *b, uint64_t v)
{
	char d[20];
	size_t n = 0;

	do {
		d[sizeof(d) - ++n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return dbuf_add(b, d + sizeof(d) - n, n);
}

int dbuf_addf(struct dbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if (dbuf_reserve(b, (size_t)n) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void dbuf_setlen(struct dbuf *b, size_t len)
{
	if (!b->buf || len > b->len)
		return;
	b->len = len;
	b->buf[len] = '\0';
}
