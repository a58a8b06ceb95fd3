// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * runsize.c - the sizes of past audits (see runsize.h).
 */
#include "core/runsize.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dbuf.h"

struct line {
	uint64_t entries, key;
};

static const char *cache_dir(void)
{
	const char *d = getenv("VAUDIT_CACHE_DIR");

	return d && *d == '/' ? d : VA_RUNSIZE_DIR;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

uint64_t va_runsize_key(const char *const *roots, size_t nroots)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (size_t i = 0; i < nroots; i++) {
		char *real = realpath(roots[i], NULL);
		const char *p = real ? real : roots[i];

		h = fnv1a(h, p, strlen(p) + 1);
		free(real);
	}
	return h;
}

/* Read the file's valid lines (at most VA_RUNSIZE_KEEP); *n = 0 when it cannot be read. */
static void load(struct line out[VA_RUNSIZE_KEEP], size_t *n)
{
	struct dbuf path = DBUF_INIT;
	char buf[128];
	FILE *fp;

	*n = 0;
	if (dbuf_addf(&path, "%s/audit-sizes", cache_dir()) < 0)
		return;
	fp = fopen(dbuf_str(&path), "re");
	dbuf_release(&path);
	if (!fp)
		return;
	while (*n < VA_RUNSIZE_KEEP && fgets(buf, sizeof(buf), fp)) {
		uint64_t entries, key;
		char tail;

		if (!strchr(buf, '\n'))
			break;          /* a line this long is not ours: stop reading */
		if (sscanf(buf, "%" SCNu64 " %16" SCNx64 "%c", &entries, &key, &tail) == 3 && tail == '\n' &&
		    entries > 0)
			out[(*n)++] = (struct line){ .entries = entries, .key = key };
	}
	fclose(fp);
}

uint64_t va_runsize_get(uint64_t key)
{
	struct line l[VA_RUNSIZE_KEEP];
	size_t n;

	load(l, &n);
	for (size_t i = n; i-- > 0;)
		if (l[i].key == key)
			return l[i].entries;
	return 0;
}

int va_runsize_put(uint64_t key, uint64_t entries)
{
	struct line l[VA_RUNSIZE_KEEP];
	struct dbuf tmp = DBUF_INIT, path = DBUF_INIT, text = DBUF_INIT;
	size_t n, k = 0, first;
	int fd, r = 0;

	load(l, &n);
	if (mkdir(cache_dir(), 0755) < 0 && errno != EEXIST)
		return -errno;
	/* this key once, last; the oldest lines go */
	for (size_t i = 0; i < n; i++)
		if (l[i].key != key)
			l[k++] = l[i];
	first = k == VA_RUNSIZE_KEEP ? 1 : 0;
	for (size_t i = first; i < k && r == 0; i++)
		r = dbuf_addf(&text, "%" PRIu64 " %016" PRIx64 "\n", l[i].entries, l[i].key);
	if (r == 0)
		r = dbuf_addf(&text, "%" PRIu64 " %016" PRIx64 "\n", entries, key);
	if (r == 0)
		r = dbuf_addf(&path, "%s/audit-sizes", cache_dir());
	if (r == 0)
		r = dbuf_addf(&tmp, "%s/.audit-sizes.%ld", cache_dir(), (long)getpid());
	if (r < 0)
		goto out;
	fd = open(dbuf_str(&tmp), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	if (write(fd, text.buf, text.len) != (ssize_t)text.len)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(dbuf_str(&tmp), dbuf_str(&path)) < 0)
		r = -errno;
	if (r < 0)
		unlink(dbuf_str(&tmp));
out:
	dbuf_release(&text);
	dbuf_release(&path);
	dbuf_release(&tmp);
	return r;
}
