/* SPDX-License-Identifier: GPL-2.0-or-later */
/* check_inomap.c - unit tests of core/inomap: the (dev, ino) -> index map. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include "core/inomap.h"
#include "tests/unit/testutil.h"

/* Ground truth: a sorted array of (dev, ino, val), last insert wins. */
struct kv {
	uint64_t dev, ino;
	uint32_t val;
	uint32_t order; /* insertion order, to keep the last value of a key */
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const struct kv *truth_find(const struct kv *t, size_t n, uint64_t dev, uint64_t ino)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t[mid].dev < dev || (t[mid].dev == dev && t[mid].ino < ino))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && t[lo].dev == dev && t[lo].ino == ino ? &t[lo] : NULL;
}

/* Sort, then keep only the last inserted entry of each key. */
static size_t truth_build(struct kv *t, size_t n)
{
	size_t out = 0;

	qsort(t, n, sizeof(*t), kv_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && t[i + 1].dev == t[i].dev && t[i + 1].ino == t[i].ino)
			continue;
		t[out++] = t[i];
	}
	return out;
}

START_TEST(empty_map)
{
	struct va_inomap m = VA_INOMAP_INIT;
	uint32_t v = 0xdeadbeef;

	ck_assert_int_eq(va_inomap_find(&m, 0, 0, &v), 0);
	ck_assert_int_eq(va_inomap_find(&m, makedev(8, 1), 12345, &v), 0);
	ck_assert_uint_eq(v, 0xdeadbeef);
	va_inomap_release(&m);
	ck_assert_uint_eq(m.count, 0);
}
END_TEST

START_TEST(insert_find_replace_small)
{
	struct va_inomap m = VA_INOMAP_INIT;
	uint32_t v = 0;

	ck_assert_int_eq(va_inomap_insert(&m, makedev(8, 1), 2, 10), 0);
	ck_assert_int_eq(va_inomap_insert(&m, makedev(8, 2), 2, 20), 0); /* same ino, other dev */
	ck_assert_int_eq(va_inomap_insert(&m, makedev(8, 1), 3, 30), 0);
	ck_assert_uint_eq(m.count, 3);
	ck_assert_int_eq(va_inomap_find(&m, makedev(8, 1), 2, &v), 1);
	ck_assert_uint_eq(v, 10);
	ck_assert_int_eq(va_inomap_find(&m, makedev(8, 2), 2, &v), 1);
	ck_assert_uint_eq(v, 20);
	ck_assert_int_eq(va_inomap_find(&m, makedev(8, 1), 3, &v), 1);
	ck_assert_uint_eq(v, 30);
	v = 77;
	ck_assert_int_eq(va_inomap_find(&m, makedev(8, 2), 3, &v), 0);
	ck_assert_uint_eq(v, 77);

	/* replacing keeps the count and changes only that key */
	ck_assert_int_eq(va_inomap_insert(&m, makedev(8, 1), 2, 11), 0);
	ck_assert_uint_eq(m.count, 3);
	ck_assert_int_eq(va_inomap_find(&m, makedev(8, 1), 2, &v), 1);
	ck_assert_uint_eq(v, 11);
	ck_assert_int_eq(va_inomap_find(&m, makedev(8, 2), 2, &v), 1);
	ck_assert_uint_eq(v, 20);

	/* extreme key and value bits survive */
	ck_assert_int_eq(va_inomap_insert(&m, makedev(0xfffff000u, 0xffffffffu), UINT64_MAX, UINT32_MAX), 0);
	ck_assert_int_eq(va_inomap_insert(&m, 0, 0, 0), 0);
	ck_assert_int_eq(va_inomap_find(&m, makedev(0xfffff000u, 0xffffffffu), UINT64_MAX, &v), 1);
	ck_assert_uint_eq(v, UINT32_MAX);
	ck_assert_int_eq(va_inomap_find(&m, 0, 0, &v), 1);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(va_inomap_find(&m, makedev(0xfffff000u, 0xffffffffu), UINT64_MAX - 1, &v), 0);
	ck_assert_uint_eq(m.count, 5);

	va_inomap_release(&m);
	ck_assert_ptr_null(m.slots);
	ck_assert_uint_eq(m.count, 0);
	ck_assert_uint_eq(m.cap, 0);
	ck_assert_int_eq(va_inomap_find(&m, makedev(8, 1), 2, &v), 0);
	/* usable again after release */
	ck_assert_int_eq(va_inomap_insert(&m, makedev(8, 1), 2, 5), 0);
	ck_assert_int_eq(va_inomap_find(&m, makedev(8, 1), 2, &v), 1);
	ck_assert_uint_eq(v, 5);
	va_inomap_release(&m);
}
END_TEST

/* 100k random pairs with duplicates, checked against the sorted truth. */
static void random_round(uint64_t seed, size_t n, bool clustered)
{
	struct va_inomap m = VA_INOMAP_INIT;
	struct kv *ins = calloc(n, sizeof(*ins));
	uint64_t rs = seed;
	size_t nuniq;

	ck_assert_ptr_nonnull(ins);
	for (size_t i = 0; i < n; i++) {
		uint64_t r = tu_rand(&rs);

		if (i > 0 && r % 8 == 0) {
			/* re-insert an earlier key with a new value */
			ins[i] = ins[tu_rand(&rs) % i];
		} else if (clustered) {
			/* what a walk produces: few devices, dense inode numbers */
			ins[i].dev = makedev(8, (unsigned)(r % 3));
			ins[i].ino = (tu_rand(&rs) % (n * 2)) + 1;
		} else {
			ins[i].dev = makedev((unsigned)(r >> 40) & 0xfff, (unsigned)(r >> 8) & 0xfffff);
			ins[i].ino = tu_rand(&rs);
		}
		ins[i].val = (uint32_t)tu_rand(&rs);
		ins[i].order = (uint32_t)i;
		ck_assert_int_eq(va_inomap_insert(&m, ins[i].dev, ins[i].ino, ins[i].val), 0);
	}
	nuniq = truth_build(ins, n);
	ck_assert_uint_eq(m.count, nuniq);

	for (size_t i = 0; i < nuniq; i++) {
		uint32_t v = 0;

		ck_assert_msg(va_inomap_find(&m, ins[i].dev, ins[i].ino, &v) == 1,
			      "(%llu, %llu) missing", (unsigned long long)ins[i].dev,
			      (unsigned long long)ins[i].ino);
		ck_assert_msg(v == ins[i].val, "(%llu, %llu): %u, want %u",
			      (unsigned long long)ins[i].dev, (unsigned long long)ins[i].ino, v, ins[i].val);
	}
	/* keys never inserted are absent and leave *ret_val alone */
	for (size_t i = 0; i < n; i++) {
		uint64_t dev, ino;
		uint32_t v = 0x5a5a5a5a;

		if (clustered) {
			dev = makedev(8, (unsigned)(tu_rand(&rs) % 5));
			ino = tu_rand(&rs) % (n * 3);
		} else {
			dev = makedev((unsigned)tu_rand(&rs) & 0xfff, (unsigned)tu_rand(&rs) & 0xfffff);
			ino = tu_rand(&rs);
		}
		if (truth_find(ins, nuniq, dev, ino))
			continue;
		ck_assert_int_eq(va_inomap_find(&m, dev, ino, &v), 0);
		ck_assert_uint_eq(v, 0x5a5a5a5a);
	}
	/* replace every value; count stays */
	for (size_t i = 0; i < nuniq; i++)
		ck_assert_int_eq(va_inomap_insert(&m, ins[i].dev, ins[i].ino, (uint32_t)i), 0);
	ck_assert_uint_eq(m.count, nuniq);
	for (size_t i = 0; i < nuniq; i++) {
		uint32_t v = UINT32_MAX;

		ck_assert_int_eq(va_inomap_find(&m, ins[i].dev, ins[i].ino, &v), 1);
		ck_assert_uint_eq(v, (uint32_t)i);
	}
	/* load stays at or below one half */
	ck_assert_uint_ge(m.cap, 2 * m.count);
	ck_assert_uint_eq(m.cap & (m.cap - 1), 0);
	va_inomap_release(&m);
	free(ins);
}

START_TEST(random_100k_spread)
{
	random_round(0x0123456789abcdefull, 100000, false);
}
END_TEST

START_TEST(random_100k_clustered)
{
	random_round(0xfedcba9876543210ull, 100000, true);
}
END_TEST

/* Sequential inode numbers on one device: the common case of a real walk. */
START_TEST(sequential_inodes)
{
	struct va_inomap m = VA_INOMAP_INIT;
	const dev_t dev = makedev(254, 3);
	uint32_t v;

	for (uint64_t ino = 1; ino <= 200000; ino++)
		ck_assert_int_eq(va_inomap_insert(&m, dev, ino, (uint32_t)(ino * 3)), 0);
	ck_assert_uint_eq(m.count, 200000);
	for (uint64_t ino = 1; ino <= 200000; ino++) {
		ck_assert_int_eq(va_inomap_find(&m, dev, ino, &v), 1);
		ck_assert_uint_eq(v, (uint32_t)(ino * 3));
	}
	ck_assert_int_eq(va_inomap_find(&m, dev, 0, &v), 0);
	ck_assert_int_eq(va_inomap_find(&m, dev, 200001, &v), 0);
	ck_assert_int_eq(va_inomap_find(&m, makedev(254, 4), 1, &v), 0);
	va_inomap_release(&m);
}
END_TEST

static Suite *inomap_suite(void)
{
	Suite *s = suite_create("inomap");
	TCase *tc = tcase_create("inomap");

	tcase_set_timeout(tc, 60);
	tu_add_test(tc, empty_map, NULL);
	tu_add_test(tc, insert_find_replace_small, NULL);
	tu_add_test(tc, random_100k_spread, NULL);
	tu_add_test(tc, random_100k_clustered, NULL);
	tu_add_test(tc, sequential_inodes, NULL);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_main(inomap_suite());
}
