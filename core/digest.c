/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * digest.c - hash store digests through OpenSSL's EVP interface.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/digest.h"

static const struct {
	const char *name;
	size_t len;
} methods[] = {
#define VA_X_DIGEST(id, name, len) { name, len },
	VA_DIGEST_METHODS(VA_X_DIGEST)
#undef VA_X_DIGEST
};

struct va_digest {
	EVP_MD_CTX *ctx;
	const EVP_MD *md;
	enum va_digest_method m;
};

int va_digest_parse(const char *s, size_t len, enum va_digest_method *ret)
{
	char norm[16];
	size_t n = 0;

	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\n' ||
		       s[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-')
			continue;
		if (n + 1 >= sizeof(norm) || !s[i])
			return -EINVAL;
		norm[n++] = (char)tolower((unsigned char)s[i]);
	}
	norm[n] = '\0';
	for (size_t i = 0; i < VA_DIGEST_COUNT; i++)
		if (strcmp(norm, methods[i].name) == 0) {
			*ret = (enum va_digest_method)i;
			return 0;
		}
	return -EINVAL;
}

const char *va_digest_name(enum va_digest_method m)
{
	return (unsigned)m < VA_DIGEST_COUNT ? methods[m].name : "?";
}

size_t va_digest_len(enum va_digest_method m)
{
	return (unsigned)m < VA_DIGEST_COUNT ? methods[m].len : 0;
}

static const EVP_MD *md_of(enum va_digest_method m)
{
	switch (m) {
	case VA_DIGEST_MD5:
		return EVP_md5();
	case VA_DIGEST_SHA1:
		return EVP_sha1();
	default:
		return EVP_sha256();
	}
}

int va_digest_new(struct va_digest **ret, enum va_digest_method m)
{
	struct va_digest *d = calloc(1, sizeof(*d));

	if (!d || !(d->ctx = EVP_MD_CTX_new())) {
		free(d);
		return -ENOMEM;
	}
	d->m = m;
	d->md = md_of(m);
	if (!EVP_DigestInit_ex(d->ctx, d->md, NULL)) {
		va_digest_free(d);
		return -ENOMEM;
	}
	*ret = d;
	return 0;
}

void va_digest_reset(struct va_digest *d)
{
	EVP_DigestInit_ex(d->ctx, d->md, NULL);
}

void va_digest_update(struct va_digest *d, const void *p, size_t len)
{
	EVP_DigestUpdate(d->ctx, p, len);
}

int va_digest_copy(struct va_digest *dst, const struct va_digest *src)
{
	return EVP_MD_CTX_copy_ex(dst->ctx, src->ctx) ? 0 : -ENOMEM;
}

void va_digest_final(struct va_digest *d, unsigned char *out)
{
	unsigned int n = 0;

	EVP_DigestFinal_ex(d->ctx, out, &n);
	va_digest_reset(d);
}

void va_digest_free(struct va_digest *d)
{
	if (!d)
		return;
	EVP_MD_CTX_free(d->ctx);
	free(d);
}
