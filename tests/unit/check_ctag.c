/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_ctag.c - unit tests of core/ctag (content tags, GMAC): the tag of
 * the empty content under the zero key is the GCM specification's test
 * case 1 (McGrew and Viega, "The Galois/Counter Mode of Operation",
 * 58e2fccefa7e3061367f1d57a4e7455a), and the tag of any content under
 * that key is GHASH computed here bit by bit from the specification's
 * algorithm 1 (with its hash subkey H = AES(0, 0) of test case 1), XOR
 * that empty tag: a second implementation, not OpenSSL's.  Also: equal
 * content gives equal tags in every way it is fed, a flipped bit or
 * another key gives another tag, and keys differ from run to run.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctag.h"
#include "tests/unit/testutil.h"

static const unsigned char zero_key[VA_CTAG_KEY_LEN];

static void unhex(const char *s, unsigned char *out)
{
	for (size_t i = 0; s[2 * i]; i++) {
		unsigned v = 0;

		sscanf(s + 2 * i, "%2x", &v);
		out[i] = (unsigned char)v;
	}
}

/* X * Y in GF(2^128), GCM's bit order (the specification's algorithm 1) */
static void gf_mul(unsigned char x[16], const unsigned char y[16])
{
	unsigned char z[16] = { 0 }, v[16];

	memcpy(v, y, 16);
	for (int i = 0; i < 128; i++) {
		int lsb = v[15] & 1;

		if (x[i / 8] & (0x80 >> (i % 8)))
			for (int k = 0; k < 16; k++)
				z[k] ^= v[k];
		for (int k = 15; k > 0; k--)
			v[k] = (unsigned char)((v[k] >> 1) | (v[k - 1] << 7));
		v[0] >>= 1;
		if (lsb)
			v[0] ^= 0xe1;
	}
	memcpy(x, z, 16);
}

/* GMAC under the zero key: GHASH(H, A, {}) XOR E(0, J0) */
static void gmac_zero_key(const unsigned char *a, size_t len, unsigned char out[16])
{
	unsigned char h[16], mask[16], y[16] = { 0 }, blk[16];
	uint64_t bits = (uint64_t)len * 8;

	unhex("66e94bd4ef8a2c3b884cfa59ca342b2e", h);
	unhex("58e2fccefa7e3061367f1d57a4e7455a", mask);
	for (size_t off = 0; off < len; off += 16) {
		size_t n = len - off < 16 ? len - off : 16;

		memset(blk, 0, 16);
		memcpy(blk, a + off, n);
		for (int k = 0; k < 16; k++)
			y[k] ^= blk[k];
		gf_mul(y, h);
	}
	memset(blk, 0, 16);
	for (int k = 0; k < 8; k++)
		blk[7 - k] = (unsigned char)(bits >> (8 * k));   /* len(A) in bits, len(C) = 0 */
	for (int k = 0; k < 16; k++)
		y[k] ^= blk[k];
	gf_mul(y, h);
	for (int k = 0; k < 16; k++)
		out[k] = y[k] ^ mask[k];
}

static void tag_of(struct va_ctag *t, const unsigned char *p, size_t len, size_t step,
		   unsigned char out[VA_CTAG_LEN])
{
	ck_assert_int_eq(va_ctag_reset(t), 0);
	for (size_t off = 0; off < len; off += step)
		va_ctag_update(t, p + off, len - off < step ? len - off : step);
	ck_assert_int_eq(va_ctag_final(t, out), 0);
}

START_TEST(test_spec_empty)
{
	struct va_ctag *t;
	unsigned char got[VA_CTAG_LEN], want[VA_CTAG_LEN];

	ck_assert_int_eq(va_ctag_new(&t, zero_key), 0);
	tag_of(t, NULL, 0, 1, got);
	unhex("58e2fccefa7e3061367f1d57a4e7455a", want);
	ck_assert_mem_eq(got, want, VA_CTAG_LEN);
	va_ctag_free(t);
}
END_TEST

START_TEST(test_against_ghash)
{
	static const size_t lens[] = { 1, 15, 16, 17, 31, 32, 33, 255, 4096, 4097, 70001 };
	static const size_t steps[] = { 1, 7, 16, 4096, 1 << 20 };
	unsigned char *p = malloc(70001), got[VA_CTAG_LEN], want[VA_CTAG_LEN];
	uint64_t seed = 0x5eed;
	struct va_ctag *t;

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < 70001; i++)
		p[i] = (unsigned char)tu_rand(&seed);
	ck_assert_int_eq(va_ctag_new(&t, zero_key), 0);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		gmac_zero_key(p, lens[i], want);
		for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			if (lens[i] > 5000 && steps[s] == 1)
				continue;
			tag_of(t, p, lens[i], steps[s], got);
			ck_assert_msg(!memcmp(got, want, VA_CTAG_LEN), "length %zu fed %zu at a time",
				      lens[i], steps[s]);
		}
	}
	va_ctag_free(t);
	free(p);
}
END_TEST

START_TEST(test_equal_and_different)
{
	unsigned char key[VA_CTAG_KEY_LEN], key2[VA_CTAG_KEY_LEN], buf[8192];
	unsigned char a[VA_CTAG_LEN], b[VA_CTAG_LEN], c[VA_CTAG_LEN];
	struct va_ctag *t, *u, *w;
	uint64_t seed = 42;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)tu_rand(&seed);
	ck_assert_int_eq(va_ctag_key(key), 0);
	ck_assert_int_eq(va_ctag_key(key2), 0);
	ck_assert_msg(memcmp(key, key2, sizeof(key)), "two keys drawn alike");
	ck_assert_int_eq(va_ctag_new(&t, key), 0);
	ck_assert_int_eq(va_ctag_new(&u, key), 0);
	ck_assert_int_eq(va_ctag_new(&w, key2), 0);
	/* one key: equal tags from two contexts, and again after a reset */
	tag_of(t, buf, sizeof(buf), 100, a);
	tag_of(u, buf, sizeof(buf), sizeof(buf), b);
	ck_assert_mem_eq(a, b, VA_CTAG_LEN);
	tag_of(t, buf, sizeof(buf), 4096, b);
	ck_assert_mem_eq(a, b, VA_CTAG_LEN);
	/* a bit flipped, the first or the last */
	buf[0] ^= 1;
	tag_of(t, buf, sizeof(buf), 4096, c);
	ck_assert_msg(memcmp(a, c, VA_CTAG_LEN), "first bit flipped, same tag");
	buf[0] ^= 1;
	buf[sizeof(buf) - 1] ^= 0x80;
	tag_of(t, buf, sizeof(buf), 4096, c);
	ck_assert_msg(memcmp(a, c, VA_CTAG_LEN), "last bit flipped, same tag");
	buf[sizeof(buf) - 1] ^= 0x80;
	/* a trailing zero byte more (GHASH pads; the length block tells) */
	memset(buf + 4000, 0, 16);
	tag_of(t, buf, 4000, 4000, a);
	tag_of(t, buf, 4001, 4001, c);
	ck_assert_msg(memcmp(a, c, VA_CTAG_LEN), "a zero byte more, same tag");
	/* another key */
	tag_of(w, buf, sizeof(buf), 4096, c);
	tag_of(t, buf, sizeof(buf), 4096, a);
	ck_assert_msg(memcmp(a, c, VA_CTAG_LEN), "two keys, same tag");
	va_ctag_free(t);
	va_ctag_free(u);
	va_ctag_free(w);
	va_ctag_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctag");
	TCase *tc = tcase_create("gmac");

	tcase_add_test(tc, test_spec_empty);
	tcase_add_test(tc, test_against_ghash);
	tcase_add_test(tc, test_equal_and_different);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
