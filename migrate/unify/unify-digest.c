/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-digest.c - the digest of a file's key and content, as vhashify's
 * classes and store entries are identified (see unify-int.h): util-vserver's
 * recipe, so that new entries have the names util-vserver gives them.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate/unify/unify-int.h"

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

/* Feed @left bytes of @fd (from offset 0) to @feed.  Return: 0, -ESTALE (shorter) or -errno. */
static int read_fd(int fd, unsigned char *buf, uint64_t left, void (*feed)(void *, const void *, size_t),
		   void *ctx, uint64_t *bytes)
{
	uint64_t off = 0;

	while (left) {
		ssize_t n = pread(fd, buf, left < U_READ_BUF ? (size_t)left : U_READ_BUF, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ESTALE;       /* shorter than it was */
		feed(ctx, buf, (size_t)n);
		left -= (uint64_t)n;
		off += (uint64_t)n;
		*bytes += (uint64_t)n;
	}
	return 0;
}

static void feed_digest(void *d, const void *p, size_t n)
{
	va_digest_update(d, p, n);
}

static void feed_tag(void *t, const void *p, size_t n)
{
	va_ctag_update(t, p, n);
}

int u_tag_fd(struct va_ctag *t, unsigned char *buf, int fd, uint64_t size, unsigned char *out,
	     uint64_t *bytes)
{
	int r = va_ctag_reset(t);

	if (r == 0)
		r = read_fd(fd, buf, size, feed_tag, t, bytes);
	return r == 0 ? va_ctag_final(t, out) : r;
}

/* Begin in @d the method's digest of @key: its metadata as util-vserver packs it. */
static void digest_key(const struct ustate *u, struct va_digest *d, const struct ufile *key)
{
	/*
	 * util-vserver's key, byte for byte (src/vhashify.c addStatHash(): a
	 * packed struct of the native struct stat fields, x86_64 and the other
	 * LP64 glibc ABIs): mode, uid, gid (32 bits each), rdev (64, 0 for a
	 * regular file), size and mtime in whole seconds (64 each, signed),
	 * little endian on the machines that run it.  A new entry thus gets the
	 * name util-vserver would give it, and util-vserver finds it.
	 */
	unsigned char meta[36];
	int64_t sec = u->o->ignore_mtime ? 0 : key->mtime_sec;

	put_le(meta, key->mode, 4);
	put_le(meta + 4, u_uid(u, key), 4);
	put_le(meta + 8, u_gid(u, key), 4);
	put_le(meta + 12, 0, 8);
	put_le(meta + 20, key->size, 8);
	put_le(meta + 28, (uint64_t)sec, 8);
	va_digest_reset(d);
	va_digest_update(d, meta, sizeof(meta));
}

/* u_tag_digest_fd() feeds both */
struct both {
	struct va_ctag *t;
	struct va_digest *d;
};

static void feed_both(void *ctx, const void *p, size_t n)
{
	struct both *b = ctx;

	va_ctag_update(b->t, p, n);
	va_digest_update(b->d, p, n);
}

int u_tag_digest_fd(const struct ustate *u, struct va_ctag *t, struct va_digest *d, unsigned char *buf,
		    int fd, const struct ufile *key, unsigned char *tag_out, unsigned char *dg_out,
		    uint64_t *bytes)
{
	struct both b = { .t = t, .d = d };
	int r = va_ctag_reset(t);

	digest_key(u, d, key);
	if (r == 0)
		r = read_fd(fd, buf, key->size, feed_both, &b, bytes);
	if (r == 0)
		r = va_ctag_final(t, tag_out);
	if (r == 0)
		va_digest_final(d, dg_out);
	return r;
}

int u_digest_fd(const struct ustate *u, struct va_digest *d, unsigned char *buf, int fd,
		const struct ufile *key, unsigned char *out, uint64_t *bytes)
{
	int r;

	digest_key(u, d, key);
	if ((r = read_fd(fd, buf, key->size, feed_digest, d, bytes)) < 0)
		return r;
	va_digest_final(d, out);
	return 0;
}

int u_digest_check(const struct ustate *u, int fd, const struct ufile *key,
		   const unsigned char *want)
{
	unsigned char *buf = malloc(U_READ_BUF), got[VA_DIGEST_MAX];
	struct va_digest *d = NULL;
	uint64_t bytes = 0;
	int r;

	if (!buf || va_digest_new(&d, u->method) < 0) {
		free(buf);
		return -ENOMEM;
	}
	r = u_digest_fd(u, d, buf, fd, key, got, &bytes);
	if (r == 0) {
		char c;

		/* longer than the key says: bytes were added */
		r = pread(fd, &c, 1, (off_t)key->size) != 0 ? -EUCLEAN : 0;
	}
	if (r == 0 && memcmp(got, want, va_digest_len(u->method)) != 0)
		r = -EUCLEAN;
	va_digest_free(d);
	free(buf);
	return r == -ESTALE ? -EUCLEAN : r;
}
