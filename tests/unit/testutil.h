/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * testutil.h - helpers shared by the Check unit tests in tests/unit.
 *
 * Every unit test program prints TAP on stdout (one point per Check test)
 * and exits non-zero when a test failed: build a Suite and return
 * tu_main(suite) from main().  Tests run in CK_FORK mode (the default), so
 * a test may chdir, fork or change signal dispositions freely.
 *
 * Tests that cannot run here (not root, tool missing, filesystem without
 * flags) are decided in main() before the run and added with
 * tu_add_test(..., reason): they appear as "ok N - ... # SKIP reason".
 */
#ifndef VAUDIT_TESTS_UNIT_TESTUTIL_H
#define VAUDIT_TESTS_UNIT_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "core/dbuf.h"

/** Base temporary directory of the running TCase (see tu_tcase_tmpdir()). */
extern char *tu_tmpdir;

/**
 * tu_tcase_tmpdir() - give @tc a fresh temporary directory /tmp/vaudit-unit-XXXXXX
 * in tu_tmpdir, made before its tests and removed after them by the runner
 * process (an unchecked fixture), so a failing test leaves nothing behind.
 * @clear_flags: the tests set immutable/append-only flags; clear them first.
 */
void tu_tcase_tmpdir(TCase *tc, bool clear_flags);

/** tu_subdir() - mkdtemp a new directory "TAG.XXXXXX" in tu_tmpdir (malloc'd). */
char *tu_subdir(const char *tag);

/**
 * tu_rm_rf() - remove @path recursively: detach mounts below it, restore
 * permissions, optionally clear the i/a flags (chattr), then rm -rf.
 */
void tu_rm_rf(const char *path, bool clear_flags);

/** tu_add_test() - add @t to @tc, or a skipped stand-in when @skip_reason is set. */
void tu_add_test(TCase *tc, const TTest *t, const char *skip_reason);

/** tu_main() - run @s with TAP on stdout; EXIT_FAILURE if any test failed. */
int tu_main(Suite *s);

/** tu_strdupf() - printf into a new string (aborts the test on ENOMEM). */
char *tu_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * tu_deep_chain() - a chain of @depth directories "dd" below @dfd with a
 * file "f" ("deep") at the bottom.  Return: the path "dd/dd/.../dd" (malloc'd).
 */
char *tu_deep_chain(int dfd, size_t depth);

/** tu_why_not_mount() - why a test cannot mount a tmpfs here (not root, ...), or NULL. */
const char *tu_why_not_mount(void);

/** tu_which() - full path of @prog found in $PATH (malloc'd), or NULL. */
char *tu_which(const char *prog);

/** tu_have() - true if @prog is found in $PATH. */
bool tu_have(const char *prog);

/**
 * tu_run() - fork and exec @argv (searched in $PATH), feed it @in (NULL:
 * /dev/null), collect its standard output in @out (may be NULL: discarded).
 * Standard error goes to ours (the test log).
 * Return: the wait status, or -1 if the program could not be started.
 */
int tu_run(const char *const argv[], const void *in, size_t inlen, struct dbuf *out);

/** tu_run_quiet() - tu_run() without input, its standard error discarded. */
int tu_run_quiet(const char *const argv[], struct dbuf *out);

/** tu_run_ok() - true if @status is a normal exit with status 0. */
bool tu_run_ok(int status);

/** tu_count_fds() - number of open file descriptors of this process. */
size_t tu_count_fds(void);

/** tu_write_file() - create @name in @dir_fd with @len bytes of @data. */
void tu_write_file(int dir_fd, const char *name, const void *data, size_t len);

/** tu_rand() - xorshift64* step (deterministic pseudo-random numbers). */
uint64_t tu_rand(uint64_t *state);

/** tu_hexdump() - "\xHH" escaped copy of @len bytes for messages (malloc'd). */
char *tu_hexdump(const void *p, size_t len);

#endif
