/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_prefetch.c - unit tests of core/prefetch: it lists the trees'
 * directories, never one outside them reached through a symbolic link,
 * goes on past a root that is missing, and leaves no fd behind.  Ground truth: inotify's open events on the
 * directories (the kernel's own account, whatever the open flags) and the
 * fd table.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/prefetch.h"
#include "tests/unit/testutil.h"

/* Count the open events @in holds (read without blocking) by watch: @n[wd]. */
static void count_opens(int in, int *n, int nwd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t len;

	while ((len = read(in, buf, sizeof(buf))) > 0)
		for (char *q = buf; q < buf + len;) {
			const struct inotify_event *ev = (const void *)q;

			if (ev->wd >= 0 && ev->wd < nwd && (ev->mask & IN_OPEN))
				n[ev->wd]++;
			q += sizeof(*ev) + ev->len;
		}
}

START_TEST(lists_inside_only)
{
	char *base = tu_subdir("pf"), *t1, *t2, *deep, *outside, *outside_missing, *probe;
	const char *roots[3];
	size_t fds_before;
	int in, w_out, w_probe, w_deep, opens[16] = { 0 };
	struct va_prefetch *p;

	t1 = tu_strdupf("%s/t1", base);
	t2 = tu_strdupf("%s/t2", base);
	deep = tu_strdupf("%s/t2/a/b/c", base);
	outside = tu_strdupf("%s/outside", base);
	outside_missing = tu_strdupf("%s/missing", base);
	probe = tu_strdupf("%s/outside/probe", base);
	ck_assert_int_eq(mkdir(t1, 0755), 0);
	ck_assert_int_eq(mkdir(t2, 0755), 0);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	ck_assert_int_eq(mkdir(probe, 0755), 0);
	ck_assert_int_eq(system(tu_strdupf("mkdir -p '%s' && touch '%s/x' '%s/y'", deep, deep, t1)), 0);
	/* a symbolic link to a directory outside the trees, in each tree */
	ck_assert_int_eq(symlink(outside, tu_strdupf("%s/out", t1)), 0);
	ck_assert_int_eq(symlink(outside, tu_strdupf("%s/a/out", t2)), 0);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ck_assert_int_ge(in, 0);
	w_out = inotify_add_watch(in, outside, IN_OPEN);
	w_probe = inotify_add_watch(in, probe, IN_OPEN);
	w_deep = inotify_add_watch(in, deep, IN_OPEN);
	ck_assert(w_out >= 0 && w_probe >= 0 && w_deep >= 0);
	fds_before = tu_count_fds();

	roots[0] = t1;
	roots[1] = outside_missing;
	roots[2] = t2;
	p = va_prefetch_start(roots, 3, 2);
	ck_assert_ptr_nonnull(p);
	va_prefetch_wait(p);
	ck_assert_uint_eq(tu_count_fds(), fds_before);
	/* listed inside, never outside */
	ck_assert(w_out < 16 && w_probe < 16 && w_deep < 16);
	count_opens(in, opens, 16);
	ck_assert_int_ge(opens[w_deep], 1);
	ck_assert_int_eq(opens[w_out], 0);
	ck_assert_int_eq(opens[w_probe], 0);

	/* stopped at once: it ends, and nothing is left open */
	va_prefetch_stop(va_prefetch_start(roots, 3, 3));
	ck_assert_uint_eq(tu_count_fds(), fds_before);
	close(in);

	ck_assert_ptr_null(va_prefetch_start(roots, 0, 2));
	ck_assert_ptr_null(va_prefetch_start(roots, 3, 0));
	va_prefetch_stop(NULL);
	free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("prefetch");
	TCase *tc = tcase_create("prefetch");

	tu_tcase_tmpdir(tc, false);
	tcase_add_test(tc, lists_inside_only);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
