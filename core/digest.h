/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * digest.h - the digests of a hash store (util-vserver's "method" file),
 * computed with OpenSSL's libcrypto (hardware SHA where the CPU has it).
 */
#ifndef VAUDIT_DIGEST_H
#define VAUDIT_DIGEST_H

#include <stddef.h>
#include <stdint.h>

/** Store methods: X(ID, name in the method file, digest bytes). */
#define VA_DIGEST_METHODS(X) \
	X(MD5, "md5", 16) \
	X(SHA1, "sha1", 20) \
	X(SHA256, "sha256", 32)

enum va_digest_method {
#define VA_X_DIGEST(id, name, len) VA_DIGEST_##id,
	VA_DIGEST_METHODS(VA_X_DIGEST)
#undef VA_X_DIGEST
	VA_DIGEST_COUNT
};

/** Longest digest, in bytes. */
#define VA_DIGEST_MAX 32

/**
 * va_digest_parse() - a method name as util-vserver reads it: case does
 * not matter, '-' is ignored ("SHA-256"), trailing blanks and newline are
 * ignored.  md2, sha384 and sha512 are not supported.
 * Return: 0 or -EINVAL.
 */
int va_digest_parse(const char *s, size_t len, enum va_digest_method *ret);

/** va_digest_name() - the canonical name ("sha256"). */
const char *va_digest_name(enum va_digest_method m);

/** va_digest_len() - digest size in bytes. */
size_t va_digest_len(enum va_digest_method m);

struct va_digest;

/** va_digest_new() - a context for @m.  Return: 0 or -ENOMEM. */
int va_digest_new(struct va_digest **ret, enum va_digest_method m);
/** va_digest_reset() - start a new digest with the same method. */
void va_digest_reset(struct va_digest *d);
/** va_digest_update() - feed @len bytes. */
void va_digest_update(struct va_digest *d, const void *p, size_t len);
/** va_digest_copy() - @dst continues from @src's state (same method).  Return: 0 or -ENOMEM. */
int va_digest_copy(struct va_digest *dst, const struct va_digest *src);
/** va_digest_final() - write the digest (va_digest_len() bytes) to @out; then reset. */
void va_digest_final(struct va_digest *d, unsigned char *out);
/** va_digest_free() - free (NULL is fine). */
void va_digest_free(struct va_digest *d);

#endif
