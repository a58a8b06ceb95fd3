/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * faildir.c - an LD_PRELOAD shim for the exit status tests: reading the
 * entries of one directory (getdents64(2)) fails.  Built by the test
 * script itself:
 *
 *   cc -shared -fPIC -o faildir.so faildir.c -ldl
 *
 * Environment (nothing happens without FAILDIR_PATH):
 *   FAILDIR_PATH   the directory (as /proc/self/fd/N reads: an absolute path)
 *   FAILDIR_ERRNO  the error number to fail with (default EIO)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Is @fd the directory FAILDIR_PATH names? */
static int matches(int fd)
{
	const char *want = getenv("FAILDIR_PATH");
	char link[64], got[4096];
	ssize_t n;

	if (!want || !*want)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, got, sizeof(got) - 1);
	if (n < 0)
		return 0;
	got[n] = '\0';
	return strcmp(got, want) == 0;
}

ssize_t getdents64(int fd, void *buf, size_t count)
{
	static ssize_t (*real)(int, void *, size_t);
	const char *e = getenv("FAILDIR_ERRNO");

	if (matches(fd)) {
		errno = e && *e ? atoi(e) : EIO;
		return -1;
	}
	if (!real)
		real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "getdents64");
	if (!real) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd, buf, count);
}
