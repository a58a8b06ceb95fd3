/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_namelist.c - unit tests of core/namelist: chains of names given
 * back byte for byte, with their tags, in the order added, whatever the
 * interleaving of chains and directories.  Ground truth: the same names
 * kept as plain strings.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/namelist.h"
#include "tests/unit/testutil.h"

enum { CHAINS = 500, NAMES = 40000 };

struct truth {
	const char *path;
	int32_t tag;
	size_t chain;
};

/* Every chain gives back exactly its names, in order. */
static void check_chains(const struct va_namelist *nl, const struct va_namechain *c, size_t nchains,
			 const struct truth *t, size_t nt)
{
	struct dbuf b = DBUF_INIT;

	for (size_t k = 0; k < nchains; k++) {
		uint64_t pos = c[k].first;
		uint32_t seen = 0;

		for (size_t i = 0; i < nt; i++) {
			int32_t tag;

			if (t[i].chain != k)
				continue;
			ck_assert_msg(pos != 0, "chain %zu ends early", k);
			dbuf_setlen(&b, 0);
			pos = va_namelist_get(nl, pos, &b, &tag);
			ck_assert_uint_ne(pos, UINT64_MAX);
			ck_assert_uint_eq(b.len, strlen(t[i].path));
			ck_assert_mem_eq(b.buf, t[i].path, b.len);
			ck_assert_int_eq(tag, t[i].tag);
			seen++;
		}
		ck_assert_msg(pos == 0, "chain %zu is longer", k);
		ck_assert_uint_eq(seen, c[k].n);
	}
	dbuf_release(&b);
}

START_TEST(random_walk_order)
{
	struct va_namelist nl = VA_NAMELIST_INIT;
	struct va_namechain *c = calloc(CHAINS, sizeof(*c));
	struct truth *t = calloc(NAMES, sizeof(*t));
	char **paths = calloc(NAMES, sizeof(*paths));
	char dir[200] = "ROOT/g0";
	unsigned seed = 7;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(paths);
	for (size_t i = 0; i < NAMES; i++) {
		char base[64];
		size_t blen;

		/* a depth-first walk: runs of names in one directory, then another */
		if (rand_r(&seed) % 8 == 0)
			snprintf(dir, sizeof(dir), "ROOT/g%u/usr/%s/d%u", rand_r(&seed) % 6,
				 rand_r(&seed) % 2 ? "bin" : "lib\n\x01odd", rand_r(&seed) % 50);
		blen = (size_t)snprintf(base, sizeof(base), "f%u%s", rand_r(&seed),
					i % 97 == 0 ? " with space\xff" : "");
		t[i].chain = rand_r(&seed) % CHAINS;
		t[i].tag = (int32_t)(rand_r(&seed) % 7) - 1;
		ck_assert_int_ge(asprintf(&paths[i], "%s/%s", dir, base), 0);
		t[i].path = paths[i];
		ck_assert_int_eq(va_namelist_add(&nl, &c[t[i].chain], t[i].path, strlen(t[i].path), blen,
						 t[i].tag), 0);
	}
	check_chains(&nl, c, CHAINS, t, NAMES);
	/* much smaller than the paths themselves with an allocation each */
	ck_assert_msg(nl.arena.len < (size_t)NAMES * 48, "%zu bytes for %d names", nl.arena.len, NAMES);
	for (size_t i = 0; i < NAMES; i++)
		free(paths[i]);
	free(paths);
	free(t);
	free(c);
	va_namelist_release(&nl);
}
END_TEST

/* A name without a directory (a root as given), and one of length 0 after a '/'. */
START_TEST(edges)
{
	struct va_namelist nl = VA_NAMELIST_INIT;
	struct va_namechain c = { 0 };
	struct truth t[] = { { "plainroot", 3, 0 }, { "/", -1, 0 }, { "a/b", 0, 0 }, { "a/c", 1, 0 } };
	size_t base[] = { 9, 0, 1, 1 };

	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(va_namelist_add(&nl, &c, t[i].path, strlen(t[i].path), base[i], t[i].tag), 0);
	ck_assert_int_eq(va_namelist_add(&nl, &c, "ab", 2, 3, 0), -EINVAL);
	check_chains(&nl, &c, 1, t, 4);
	va_namelist_release(&nl);
}
END_TEST

static Suite *namelist_suite(void)
{
	Suite *s = suite_create("namelist");
	TCase *tc = tcase_create("namelist");

	tcase_set_timeout(tc, 60);
	tu_add_test(tc, random_walk_order, NULL);
	tu_add_test(tc, edges, NULL);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_main(namelist_suite());
}
