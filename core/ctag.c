/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ctag.c - content tags (ctag.h) through OpenSSL's GMAC: its GHASH uses
 * the CPU's carry-less multiply, 6-12 GB/s a core.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "core/ctag.h"

struct va_ctag {
	EVP_MAC_CTX *ctx;
};

/*
 * Every tag of a run uses one nonce: the tags are compared with each
 * other and never shown, so GMAC's mask E(K, nonce) is a constant and
 * equal tags mean equal GHASH of the contents.
 */
static unsigned char nonce[12];

int va_ctag_key(unsigned char key[VA_CTAG_KEY_LEN])
{
	size_t got = 0;

	while (got < VA_CTAG_KEY_LEN) {
		ssize_t n = getrandom(key + got, VA_CTAG_KEY_LEN - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	return 0;
}

int va_ctag_new(struct va_ctag **ret, const unsigned char key[VA_CTAG_KEY_LEN])
{
	struct va_ctag *t = calloc(1, sizeof(*t));
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "GMAC", NULL);
	OSSL_PARAM p[3];

	*ret = NULL;
	if (t && mac)
		t->ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);      /* the context holds its own reference */
	if (!t || !t->ctx) {
		va_ctag_free(t);
		return -ENOMEM;
	}
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)"AES-128-GCM", 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, nonce, sizeof(nonce));
	p[2] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(t->ctx, key, VA_CTAG_KEY_LEN, p)) {
		va_ctag_free(t);
		return -ENOMEM;
	}
	*ret = t;
	return 0;
}

int va_ctag_reset(struct va_ctag *t)
{
	OSSL_PARAM p[2];

	p[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, nonce, sizeof(nonce));
	p[1] = OSSL_PARAM_construct_end();
	return EVP_MAC_init(t->ctx, NULL, 0, p) ? 0 : -EIO;
}

void va_ctag_update(struct va_ctag *t, const void *p, size_t len)
{
	EVP_MAC_update(t->ctx, p, len);
}

int va_ctag_final(struct va_ctag *t, unsigned char out[VA_CTAG_LEN])
{
	size_t n = 0;

	return EVP_MAC_final(t->ctx, out, &n, VA_CTAG_LEN) && n == VA_CTAG_LEN ? 0 : -EIO;
}

void va_ctag_free(struct va_ctag *t)
{
	if (!t)
		return;
	EVP_MAC_CTX_free(t->ctx);
	free(t);
}
