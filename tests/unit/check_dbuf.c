/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_dbuf.c - unit tests of core/dbuf: the growable byte buffer. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "tests/unit/testutil.h"

/* The invariant of dbuf.h, checked after every operation. */
static void check_invariant(const struct dbuf *b)
{
	if (!b->buf) {
		ck_assert_uint_eq(b->len, 0);
		ck_assert_uint_eq(b->cap, 0);
	} else {
		ck_assert_uint_lt(b->len, b->cap);
		ck_assert_msg(b->buf[b->len] == '\0', "buf[len] is not NUL (len %zu)", b->len);
	}
}

START_TEST(init_is_empty)
{
	struct dbuf a = DBUF_INIT, b;

	memset(&b, 0x5a, sizeof(b));
	dbuf_init(&b);
	ck_assert_ptr_null(a.buf);
	ck_assert_ptr_null(b.buf);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_str_eq(dbuf_str(&a), "");
	dbuf_release(&a); /* releasing an empty buffer is fine */
	check_invariant(&a);
}
END_TEST

START_TEST(grows_byte_by_byte)
{
	struct dbuf b = DBUF_INIT;
	enum { N = 100000 };

	for (size_t i = 0; i < N; i++) {
		ck_assert_int_eq(dbuf_addc(&b, (char)('a' + i % 26)), 0);
		ck_assert_uint_eq(b.len, i + 1);
		check_invariant(&b);
	}
	for (size_t i = 0; i < N; i++)
		ck_assert_msg(b.buf[i] == (char)('a' + i % 26), "byte %zu", i);
	dbuf_release(&b);
	ck_assert_ptr_null(b.buf);
	check_invariant(&b);
}
END_TEST

START_TEST(binary_bytes_with_nuls)
{
	struct dbuf b = DBUF_INIT;
	unsigned char all[256], expect[3 * 256 + 1];
	uint64_t seed = 42;

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	ck_assert_int_eq(dbuf_add(&b, all, sizeof(all)), 0);
	ck_assert_int_eq(dbuf_addc(&b, '\0'), 0);
	ck_assert_int_eq(dbuf_add(&b, all, 0), 0);
	ck_assert_int_eq(dbuf_add(&b, NULL, 0), 0);
	ck_assert_uint_eq(b.len, 257);
	check_invariant(&b);
	memcpy(expect, all, 256);
	expect[256] = 0;
	ck_assert_mem_eq(b.buf, expect, 257);

	/* random binary blocks of random sizes */
	dbuf_setlen(&b, 0);
	{
		struct dbuf truth = DBUF_INIT;
		unsigned char *blk = malloc(70000);

		ck_assert_ptr_nonnull(blk);
		for (int round = 0; round < 200; round++) {
			size_t n = tu_rand(&seed) % 70000;

			for (size_t i = 0; i < n; i++)
				blk[i] = (unsigned char)tu_rand(&seed);
			ck_assert_int_eq(dbuf_add(&b, blk, n), 0);
			check_invariant(&b);
			/* ground truth, one byte at a time */
			for (size_t i = 0; i < n; i++)
				ck_assert_int_eq(dbuf_addc(&truth, (char)blk[i]), 0);
		}
		ck_assert_uint_eq(b.len, truth.len);
		ck_assert_int_eq(memcmp(b.buf, truth.buf, b.len), 0);
		free(blk);
		dbuf_release(&truth);
	}
	dbuf_release(&b);
}
END_TEST

START_TEST(adds_and_str)
{
	struct dbuf b = DBUF_INIT;

	ck_assert_int_eq(dbuf_adds(&b, ""), 0);
	ck_assert_uint_eq(b.len, 0);
	check_invariant(&b);
	ck_assert_str_eq(dbuf_str(&b), "");
	ck_assert_int_eq(dbuf_adds(&b, "hello"), 0);
	ck_assert_int_eq(dbuf_adds(&b, ", "), 0);
	ck_assert_int_eq(dbuf_adds(&b, "world"), 0);
	ck_assert_str_eq(dbuf_str(&b), "hello, world");
	ck_assert_uint_eq(b.len, 12);
	check_invariant(&b);
	dbuf_release(&b);
}
END_TEST

/* dbuf_addu() against snprintf's %llu: edges and a seeded spread */
START_TEST(addu_is_decimal)
{
	static const uint64_t edges[] = { 0, 1, 9, 10, 99, 100, 4294967295u, 4294967296u,
					  9999999999999999999u, 10000000000000000000u, UINT64_MAX };
	struct dbuf b = DBUF_INIT;
	char expect[32];
	uint64_t seed = 7;

	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]) + 2000; i++) {
		uint64_t v = i < sizeof(edges) / sizeof(edges[0]) ? edges[i] :
			     tu_rand(&seed) >> (tu_rand(&seed) % 64);

		dbuf_setlen(&b, 0);
		ck_assert_int_eq(dbuf_adds(&b, "<"), 0);
		ck_assert_int_eq(dbuf_addu(&b, v), 0);
		snprintf(expect, sizeof(expect), "<%llu", (unsigned long long)v);
		ck_assert_str_eq(b.buf, expect);
		check_invariant(&b);
	}
	dbuf_release(&b);
}
END_TEST

START_TEST(addf_formats_and_appends)
{
	struct dbuf b = DBUF_INIT;
	char *big = malloc(10001), expect[64];

	ck_assert_int_eq(dbuf_addf(&b, "%s", ""), 0);
	ck_assert_uint_eq(b.len, 0);
	check_invariant(&b);
	ck_assert_int_eq(dbuf_addf(&b, "x=%d y=%05.1f z=%s", -42, 3.5, "zz"), 0);
	ck_assert_str_eq(b.buf, "x=-42 y=003.5 z=zz");
	ck_assert_uint_eq(b.len, strlen("x=-42 y=003.5 z=zz"));
	ck_assert_int_eq(dbuf_addf(&b, "|%c%c", 'a', 'b'), 0);
	ck_assert_str_eq(b.buf, "x=-42 y=003.5 z=zz|ab");
	check_invariant(&b);

	/* longer than any initial capacity, appended after existing bytes */
	ck_assert_ptr_nonnull(big);
	memset(big, 'q', 10000);
	big[10000] = '\0';
	dbuf_setlen(&b, 3);
	ck_assert_int_eq(dbuf_addf(&b, "<%s>%u", big, 7u), 0);
	ck_assert_uint_eq(b.len, 3 + 1 + 10000 + 1 + 1);
	ck_assert_int_eq(memcmp(b.buf, "x=-<", 4), 0);
	for (size_t i = 4; i < 10004; i++)
		ck_assert_msg(b.buf[i] == 'q', "byte %zu", i);
	ck_assert_str_eq(b.buf + 10004, ">7");
	check_invariant(&b);

	/* a NUL produced by the format is kept as a byte */
	dbuf_setlen(&b, 0);
	ck_assert_int_eq(dbuf_addf(&b, "a%cb", '\0'), 0);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_mem_eq(b.buf, "a\0b", 4);

	/* many small appends: every one lands after the previous */
	dbuf_setlen(&b, 0);
	for (int i = 0; i < 5000; i++)
		ck_assert_int_eq(dbuf_addf(&b, "%d,", i), 0);
	{
		const char *p = b.buf;

		for (int i = 0; i < 5000; i++) {
			int n = snprintf(expect, sizeof(expect), "%d,", i);

			ck_assert_int_eq(strncmp(p, expect, (size_t)n), 0);
			p += n;
		}
		ck_assert_uint_eq((size_t)(p - b.buf), b.len);
	}
	check_invariant(&b);
	free(big);
	dbuf_release(&b);
}
END_TEST

START_TEST(setlen_truncates)
{
	struct dbuf b = DBUF_INIT;
	size_t cap;

	dbuf_setlen(&b, 0); /* unallocated: nothing happens */
	ck_assert_ptr_null(b.buf);
	check_invariant(&b);

	ck_assert_int_eq(dbuf_adds(&b, "abcdef"), 0);
	cap = b.cap;
	dbuf_setlen(&b, 3);
	ck_assert_uint_eq(b.len, 3);
	ck_assert_str_eq(b.buf, "abc");
	check_invariant(&b);
	ck_assert_uint_eq(b.cap, cap); /* memory kept for reuse */
	dbuf_setlen(&b, 3);
	ck_assert_str_eq(b.buf, "abc");
	dbuf_setlen(&b, 100); /* longer than len: must not grow or expose garbage */
	ck_assert_uint_eq(b.len, 3);
	ck_assert_str_eq(b.buf, "abc");
	ck_assert_int_eq(dbuf_adds(&b, "XY"), 0);
	ck_assert_str_eq(b.buf, "abcXY");
	dbuf_setlen(&b, 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(dbuf_str(&b), "");
	check_invariant(&b);
	dbuf_release(&b);
}
END_TEST

START_TEST(reserve_keeps_contents)
{
	struct dbuf b = DBUF_INIT;
	char *p;

	ck_assert_int_eq(dbuf_reserve(&b, 0), 0);
	check_invariant(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(dbuf_adds(&b, "keep"), 0);
	ck_assert_int_eq(dbuf_reserve(&b, 100000), 0);
	ck_assert_uint_ge(b.cap, 4 + 100000 + 1);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_str_eq(b.buf, "keep");
	check_invariant(&b);
	/* after a reserve, appends within it do not move the buffer */
	p = b.buf;
	for (int i = 0; i < 100000; i++)
		dbuf_addc(&b, 'z');
	ck_assert_ptr_eq(b.buf, p);
	check_invariant(&b);
	dbuf_release(&b);
}
END_TEST

START_TEST(impossible_sizes_fail_cleanly)
{
	struct dbuf b = DBUF_INIT;
	struct dbuf saved;

	ck_assert_int_eq(dbuf_reserve(&b, SIZE_MAX), -ENOMEM);
	ck_assert_int_eq(dbuf_reserve(&b, SIZE_MAX - 1), -ENOMEM);
	check_invariant(&b);
	ck_assert_int_eq(dbuf_adds(&b, "data"), 0);
	saved = b;
	ck_assert_int_eq(dbuf_reserve(&b, SIZE_MAX), -ENOMEM);
	ck_assert_int_eq(dbuf_reserve(&b, SIZE_MAX - 4), -ENOMEM);
	ck_assert_int_eq(dbuf_reserve(&b, SIZE_MAX / 2), -ENOMEM);
	ck_assert_int_eq(dbuf_add(&b, "x", SIZE_MAX - 2), -ENOMEM);
	/* contents unchanged on failure */
	ck_assert_ptr_eq(b.buf, saved.buf);
	ck_assert_uint_eq(b.len, saved.len);
	ck_assert_uint_eq(b.cap, saved.cap);
	ck_assert_str_eq(b.buf, "data");
	check_invariant(&b);
	dbuf_release(&b);
}
END_TEST

START_TEST(saturating_add)
{
	ck_assert_uint_eq(size_add_sat(0, 0), 0);
	ck_assert_uint_eq(size_add_sat(1, 2), 3);
	ck_assert_uint_eq(size_add_sat(SIZE_MAX - 1, 1), SIZE_MAX);
	ck_assert_uint_eq(size_add_sat(SIZE_MAX, 0), SIZE_MAX);
	ck_assert_uint_eq(size_add_sat(0, SIZE_MAX), SIZE_MAX);
	ck_assert_uint_eq(size_add_sat(SIZE_MAX, 1), SIZE_MAX);
	ck_assert_uint_eq(size_add_sat(1, SIZE_MAX), SIZE_MAX);
	ck_assert_uint_eq(size_add_sat(SIZE_MAX, SIZE_MAX), SIZE_MAX);
	ck_assert_uint_eq(size_add_sat(SIZE_MAX / 2, SIZE_MAX / 2), SIZE_MAX - 1);
	ck_assert_uint_eq(size_add_sat(SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 1), SIZE_MAX);
	ck_assert_uint_eq(size_add_sat(12345, 54321), 66666);
}
END_TEST

START_TEST(saturating_mul)
{
	const size_t half = (size_t)1 << (sizeof(size_t) * 4); /* sqrt(SIZE_MAX + 1) */

	ck_assert_uint_eq(size_mul_sat(0, 0), 0);
	ck_assert_uint_eq(size_mul_sat(0, SIZE_MAX), 0);
	ck_assert_uint_eq(size_mul_sat(SIZE_MAX, 0), 0);
	ck_assert_uint_eq(size_mul_sat(1, SIZE_MAX), SIZE_MAX);
	ck_assert_uint_eq(size_mul_sat(SIZE_MAX, 1), SIZE_MAX);
	ck_assert_uint_eq(size_mul_sat(6, 7), 42);
	ck_assert_uint_eq(size_mul_sat(SIZE_MAX / 2, 2), SIZE_MAX - 1);
	ck_assert_uint_eq(size_mul_sat(SIZE_MAX / 2 + 1, 2), SIZE_MAX);
	ck_assert_uint_eq(size_mul_sat(2, SIZE_MAX / 2 + 1), SIZE_MAX);
	ck_assert_uint_eq(size_mul_sat(half, half), SIZE_MAX);
	ck_assert_uint_eq(size_mul_sat(half - 1, half + 1), SIZE_MAX);
	ck_assert_uint_eq(size_mul_sat(half, half - 1), SIZE_MAX - half + 1);
	ck_assert_uint_eq(size_mul_sat(SIZE_MAX, SIZE_MAX), SIZE_MAX);
	ck_assert_uint_eq(size_mul_sat(SIZE_MAX / 3, 3), SIZE_MAX);
	ck_assert_uint_eq(size_mul_sat(SIZE_MAX / 3 + 1, 3), SIZE_MAX);
}
END_TEST

/* dbuf_read_fd(): every byte of a file after what the buffer held, and the limit. */
START_TEST(read_fd_appends_and_limits)
{
	char tmpl[] = "/tmp/vaudit-unit-readfd.XXXXXX";
	int fd = mkstemp(tmpl);
	struct dbuf b = DBUF_INIT;
	size_t n = 300000;
	char *want = malloc(n);

	ck_assert_int_ge(fd, 0);
	ck_assert_ptr_nonnull(want);
	unlink(tmpl);
	for (size_t i = 0; i < n; i++)
		want[i] = (char)(i * 7 + i / 251);
	ck_assert_int_eq(write(fd, want, n), (ssize_t)n);
	ck_assert_int_eq(dbuf_adds(&b, "head"), 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(dbuf_read_fd(&b, fd, n + 4), 0);
	ck_assert_uint_eq(b.len, n + 4);
	ck_assert_mem_eq(b.buf, "head", 4);
	ck_assert_mem_eq(b.buf + 4, want, n);
	ck_assert_int_eq(b.buf[b.len], '\0');
	/* more than the limit: -EFBIG, what was read stays */
	dbuf_setlen(&b, 0);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	ck_assert_int_eq(dbuf_read_fd(&b, fd, 1000), -EFBIG);
	ck_assert_uint_gt(b.len, 1000);
	ck_assert_mem_eq(b.buf, want, b.len);
	/* a bad fd: -EBADF */
	ck_assert_int_eq(dbuf_read_fd(&b, -1, n), -EBADF);
	close(fd);
	free(want);
	dbuf_release(&b);
}
END_TEST

static Suite *dbuf_suite(void)
{
	Suite *s = suite_create("dbuf");
	TCase *tc = tcase_create("buffer");
	TCase *sat = tcase_create("saturating");

	tcase_set_timeout(tc, 60);
	tu_add_test(tc, init_is_empty, NULL);
	tu_add_test(tc, grows_byte_by_byte, NULL);
	tu_add_test(tc, binary_bytes_with_nuls, NULL);
	tu_add_test(tc, adds_and_str, NULL);
	tu_add_test(tc, addf_formats_and_appends, NULL);
	tu_add_test(tc, addu_is_decimal, NULL);
	tu_add_test(tc, setlen_truncates, NULL);
	tu_add_test(tc, reserve_keeps_contents, NULL);
	tu_add_test(tc, impossible_sizes_fail_cleanly, NULL);
	tu_add_test(tc, read_fd_appends_and_limits, NULL);
	suite_add_tcase(s, tc);

	tu_add_test(sat, saturating_add, NULL);
	tu_add_test(sat, saturating_mul, NULL);
	suite_add_tcase(s, sat);
	return s;
}

int main(void)
{
	return tu_main(dbuf_suite());
}
