/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * shortwrite.c - an LD_PRELOAD shim for the journal tests: write(2) to one
 * file goes short once, then fails.  Built by the test script itself:
 *
 *   cc -shared -fPIC -o shortwrite.so shortwrite.c -ldl
 *
 * Environment (nothing happens without SHORTWRITE_PATH):
 *   SHORTWRITE_PATH   the file (as /proc/self/fd/N reads: an absolute path)
 *   SHORTWRITE_AT     the Nth write to it (1 = the first) writes only half
 *                     of its buffer (at least 1 byte, fewer than asked);
 *                     0 or unset: none (only counted)
 *   SHORTWRITE_FAIL   how many writes to it after that one fail (default 1);
 *                     the later ones go through again
 *   SHORTWRITE_ERRNO  EIO (default) or ENOSPC, for those failures
 *   SHORTWRITE_LOG    a file that gets one line per write to the path:
 *                     "N COUNT RESULT" (its number, bytes asked, returned)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static unsigned long nwrites, failed;

/*
 * Is @fd the file SHORTWRITE_PATH names?  By its path, or by its inode
 * once the name exists (a file made with O_TMPFILE and then linked keeps
 * its nameless path in /proc; the writes before it has its name are not
 * counted).
 */
static int matches(int fd)
{
	const char *want = getenv("SHORTWRITE_PATH");
	char link[64], got[4096];
	struct stat a, b;
	ssize_t n;

	if (!want || !*want)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, got, sizeof(got) - 1);
	if (n < 0)
		return 0;
	got[n] = '\0';
	if (strcmp(got, want) == 0)
		return 1;
	return fstat(fd, &a) == 0 && S_ISREG(a.st_mode) && stat(want, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static unsigned long env_num(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);

	return s && *s ? strtoul(s, NULL, 10) : dflt;
}

static void log_write(unsigned long k, size_t count, ssize_t r)
{
	const char *file = getenv("SHORTWRITE_LOG");
	char line[96];
	int fd, len, saved = errno;

	if (!file || !*file)
		return;
	fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		len = snprintf(line, sizeof(line), "%lu %zu %zd\n", k, count, r);
		if (real_write(fd, line, (size_t)len) < 0) {
			/* only a log */
		}
		close(fd);
	}
	errno = saved;
}

ssize_t write(int fd, const void *buf, size_t count)
{
	unsigned long at, k;
	ssize_t r;

	if (!real_write)
		real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	if (!matches(fd))
		return real_write(fd, buf, count);
	k = ++nwrites;
	at = env_num("SHORTWRITE_AT", 0);
	if (at && k == at && count > 1) {
		r = real_write(fd, buf, count / 2);
	} else if (at && k > at && failed < env_num("SHORTWRITE_FAIL", 1)) {
		const char *e = getenv("SHORTWRITE_ERRNO");

		failed++;
		errno = e && strcmp(e, "ENOSPC") == 0 ? ENOSPC : EIO;
		r = -1;
	} else {
		r = real_write(fd, buf, count);
	}
	log_write(k, count, r);
	return r;
}
