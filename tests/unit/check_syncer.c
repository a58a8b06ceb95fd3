/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_syncer.c - unit tests of core/syncer: what was submitted is
 * written back once a wait returns (the caller's own fd closed at once),
 * several submissions are one wait, a started writeback leaves nothing
 * dirty, a bad fd is refused with nothing submitted, and no fd is left
 * behind.  Ground truth: the kernel's page
 * cache account of each file (cachestat(2): dirty and under writeback).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/syncer.h"
#include "tests/unit/testutil.h"

#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

/* cachestat(2)'s structures (linux/mman.h from 6.5 on) */
struct t_range {
	uint64_t off, len;
};

struct t_cstat {
	uint64_t cache, dirty, writeback, evicted, recently_evicted;
};

/* Pages of @path not yet on disk (dirty or being written), or -errno. */
static long long unwritten(const char *path)
{
	struct t_range range = { 0, 0 };
	struct t_cstat cs;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long r;

	if (fd < 0)
		return -errno;
	r = syscall(SYS_cachestat, fd, &range, &cs, 0);
	close(fd);
	return r < 0 ? -errno : (long long)(cs.dirty + cs.writeback);
}

/* Write @kib KiB to a new file @path (not synced).  Return: whether it went. */
static bool write_kib(const char *path, size_t kib)
{
	char buf[1024];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok = fd >= 0;

	memset(buf, 'x', sizeof(buf));
	for (size_t i = 0; ok && i < kib; i++)
		ok = write(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* A new file @name in @dir with @kib KiB written (not synced); its path. */
static char *dirty_file(const char *dir, const char *name, size_t kib)
{
	char *path = tu_strdupf("%s/%s", dir, name);

	ck_assert_msg(write_kib(path, kib), "cannot write %s", path);
	return path;
}

/*
 * Hand @s an fd of @path (opened with @flags) @times, close ours at once,
 * and wait: the wait's result.
 */
static int submit_and_wait(struct va_syncer *s, const char *path, int flags, int times)
{
	int fd = open(path, flags | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < times; i++)
		ck_assert_int_eq(va_syncer_submit(s, &fd, 1), 0);
	close(fd);
	return va_syncer_wait(s);
}

START_TEST(written_after_wait)
{
	char *dir = tu_subdir("sync");
	size_t fds_before = tu_count_fds();
	struct va_syncer *s;
	char *a = dirty_file(dir, "a", 512), *b = dirty_file(dir, "b", 512);

	ck_assert_int_eq(va_syncer_start(&s), 0);
	ck_assert_int_gt(unwritten(a), 0);
	ck_assert_int_gt(unwritten(b), 0);

	/* the caller's fd goes at once: the syncer holds its own */
	ck_assert_int_eq(submit_and_wait(s, dir, O_RDONLY | O_DIRECTORY, 1), 0);
	ck_assert_int_eq(unwritten(a), 0);
	ck_assert_int_eq(unwritten(b), 0);

	/* two submissions, one wait */
	free(a);
	free(b);
	a = dirty_file(dir, "c", 256);
	b = dirty_file(dir, "d", 256);
	ck_assert_int_gt(unwritten(a), 0);
	ck_assert_int_eq(submit_and_wait(s, a, O_RDONLY, 2), 0);
	ck_assert_int_eq(unwritten(a), 0);
	ck_assert_int_eq(unwritten(b), 0);

	/* a wait with nothing submitted returns at once */
	ck_assert_int_eq(va_syncer_wait(s), 0);
	va_syncer_stop(s);
	ck_assert_uint_eq(tu_count_fds(), fds_before);
	free(a);
	free(b);
	free(dir);
}
END_TEST

START_TEST(bad_fd_refused)
{
	char *dir = tu_subdir("bad");
	size_t fds_before = tu_count_fds();
	struct va_syncer *s;
	int fds[2];

	ck_assert_int_eq(va_syncer_start(&s), 0);
	fds[0] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fds[0], 0);
	fds[1] = -1;
	/* refused whole: the good fd's duplicate is not kept either */
	ck_assert_int_eq(va_syncer_submit(s, fds, 2), -EBADF);
	ck_assert_uint_eq(tu_count_fds(), fds_before + 1);
	ck_assert_int_eq(va_syncer_wait(s), 0);
	close(fds[0]);
	/* stopped with work submitted: it is done first, nothing left open */
	fds[0] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_eq(va_syncer_submit(s, fds, 1), 0);
	close(fds[0]);
	va_syncer_stop(s);
	va_syncer_stop(NULL);
	ck_assert_uint_eq(tu_count_fds(), fds_before);
	free(dir);
}
END_TEST

/* Why the page cache cannot be watched here (no cachestat, no writeback), or NULL. */
static const char *why_not_watched(void)
{
	char dir[] = "/tmp/vaudit-unit-XXXXXX", *f;
	long long n;

	if (!mkdtemp(dir))
		return "cannot make a temporary directory";
	if (asprintf(&f, "%s/p", dir) < 0) {
		rmdir(dir);
		return "out of memory";
	}
	n = write_kib(f, 64) ? unwritten(f) : -EIO;
	unlink(f);
	rmdir(dir);
	free(f);
	if (n == -ENOSYS)
		return "no cachestat(2) on this kernel";
	if (n <= 0)
		return "the temporary directory's filesystem keeps no dirty pages";
	return NULL;
}

int main(void)
{
	Suite *s = suite_create("syncer");
	TCase *tc = tcase_create("syncer");
	const char *why;

	tu_tcase_tmpdir(tc, false);
	why = why_not_watched();
	tu_add_test(tc, written_after_wait, why);
	tcase_add_test(tc, bad_fd_refused);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
