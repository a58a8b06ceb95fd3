/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctag.h - content tags: a keyed 128-bit universal hash of a file's bytes,
 * to find which files of equal size have equal content without a
 * cryptographic digest of every byte.
 *
 * The tag is GMAC (AES-128 GHASH) under a key drawn from the kernel for
 * each run: for two different contents of at most L bytes, chosen without
 * knowledge of the key, the tags are equal with probability at most
 * (L/16 + 2) / 2^128.  The key never leaves the process, so a guest that
 * writes files cannot aim for a collision.  Tags are five to eight times
 * faster than SHA-256 with the SHA instructions (4 KiB to 64 KiB inputs).
 */
#ifndef VAUDIT_CORE_CTAG_H
#define VAUDIT_CORE_CTAG_H

#include <stddef.h>

/** Bytes in a tag. */
#define VA_CTAG_LEN 16
/** Bytes in a key. */
#define VA_CTAG_KEY_LEN 16

struct va_ctag;

/**
 * va_ctag_key() - draw a new key from the kernel (getrandom).
 * Return: 0 or -errno.
 */
int va_ctag_key(unsigned char key[VA_CTAG_KEY_LEN]);

/**
 * va_ctag_new() - a context that tags under @key; contexts of one key give
 * equal tags for equal content (one a thread).  Return: 0 or -ENOMEM.
 */
int va_ctag_new(struct va_ctag **ret, const unsigned char key[VA_CTAG_KEY_LEN]);
/** va_ctag_reset() - start a new tag.  Return: 0 or -EIO (the library failed). */
int va_ctag_reset(struct va_ctag *t);
/** va_ctag_update() - feed @len bytes. */
void va_ctag_update(struct va_ctag *t, const void *p, size_t len);
/** va_ctag_final() - write the tag to @out.  Return: 0 or -EIO. */
int va_ctag_final(struct va_ctag *t, unsigned char out[VA_CTAG_LEN]);
/** va_ctag_free() - free (NULL is fine). */
void va_ctag_free(struct va_ctag *t);

#endif
