/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jroots.c - the roots of a journal and the paths beneath them (see
 * jroots.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/safeopen.h"
#include "migrate/jroots.h"

/* Open @path beneath @dir_fd, no symlink on the way, at any length. */
static int open_beneath(int dir_fd, const char *path, int flags)
{
	return va_safeopen_beneath(dir_fd, path, flags, 0);
}

/* Is @s (@len bytes) one plain name? */
static bool plain_name(const char *s, size_t len)
{
	return len > 0 && len <= NAME_MAX && !memchr(s, '/', len) && !memchr(s, '\0', len) &&
	       !(len == 1 && s[0] == '.') && !(len == 2 && s[0] == '.' && s[1] == '.');
}

bool va_path_clean(const char *path, size_t len)
{
	if (len == 0 || path[0] != '/')
		return false;
	if (len == 1)
		return true;
	for (size_t i = 1; i <= len;) {
		const char *end = memchr(path + i, '/', len - i);
		size_t n = end ? (size_t)(end - path) - i : len - i;

		if (!plain_name(path + i, n))
			return false;
		i += n + 1;
	}
	return true;
}

static int fail(struct va_jroots_error *e, int r, const char *why, int err, const char *path,
		size_t len, uint64_t seq)
{
	*e = (struct va_jroots_error){ .why = why, .err = err, .path = path, .path_len = len, .seq = seq };
	return r;
}

int va_jroots_open(struct va_jroots *jr, const char *source, size_t len, struct va_jroots_error *e)
{
	int slash, r = 0;

	memset(jr, 0, sizeof(*jr));
	if (!source || !len)
		return fail(e, -EINVAL, "its header names no root", 0, NULL, 0, 0);
	slash = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (slash < 0)
		return fail(e, -errno, "cannot open /", errno, NULL, 0, 0);
	for (size_t off = 0; off <= len && r == 0;) {
		const char *p = source + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off;
		struct va_jroot *t;
		struct stat st;
		char *rel;

		off += n + 1;
		if (!va_path_clean(p, n)) {
			r = fail(e, -EINVAL, "a root in its header is not a clean absolute path", 0, p, n, 0);
			break;
		}
		t = realloc(jr->r, (jr->n + 1) * sizeof(*jr->r));
		if (!t) {
			r = fail(e, -ENOMEM, "out of memory", ENOMEM, NULL, 0, 0);
			break;
		}
		jr->r = t;
		t = &jr->r[jr->n];
		*t = (struct va_jroot){ .path = p, .len = n, .fd = -1 };
		rel = n > 1 ? strndup(p + 1, n - 1) : strdup(".");
		if (!rel) {
			r = fail(e, -ENOMEM, "out of memory", ENOMEM, NULL, 0, 0);
			break;
		}
		t->fd = open_beneath(slash, rel, O_RDONLY | O_DIRECTORY);
		if ((t->fd == -ENOTDIR || t->fd == -ELOOP) && n > 1) {
			/* a file (or a symlink) named as such: its directory */
			char *last = strrchr(rel, '/');

			if (last)
				*last = '\0';
			t->fd = open_beneath(slash, last ? rel : ".", O_RDONLY | O_DIRECTORY);
			t->file = true;
		}
		free(rel);
		jr->n++;
		if (t->fd < 0) {
			r = fail(e, t->fd, t->fd == -ELOOP ? "a root in its header passes through a symlink" :
				 "a root in its header cannot be opened", -t->fd, p, n, 0);
			break;
		}
		if (fstat(t->fd, &st) < 0) {
			r = fail(e, -errno, "a root in its header cannot be opened", errno, p, n, 0);
			break;
		}
		t->dev = st.st_dev;
		t->ino = st.st_ino;
	}
	close(slash);
	return r;
}

void va_jroots_close(struct va_jroots *jr)
{
	for (size_t i = 0; i < jr->n; i++)
		if (jr->r[i].fd >= 0)
			close(jr->r[i].fd);
	free(jr->r);
	memset(jr, 0, sizeof(*jr));
}

static bool trusted(const struct va_jroot_id *ids, size_t n, dev_t dev, uint64_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i].dev == dev && ids[i].ino == ino)
			return true;
	return false;
}

int va_jroots_accepted(const struct va_jroots *jr, const struct va_jroot_id *ids, size_t n,
		       struct va_jroots_error *e)
{
	for (size_t i = 0; i < jr->n; i++) {
		const struct va_jroot *t = &jr->r[i];
		struct stat st = { .st_dev = t->dev, .st_ino = t->ino };
		int fd = dup(t->fd);
		bool ok = false;

		if (fd < 0)
			return fail(e, -errno, "cannot open a root", errno, t->path, t->len, 0);
		/* the root, then its ancestors up to "/" (its own parent) */
		for (;;) {
			dev_t dev = st.st_dev;
			ino_t ino = st.st_ino;
			int up;

			if (trusted(ids, n, dev, ino)) {
				ok = true;
				break;
			}
			up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			close(fd);
			fd = up;
			if (fd < 0 || fstat(fd, &st) < 0 || (st.st_dev == dev && st.st_ino == ino))
				break;
		}
		if (fd >= 0)
			close(fd);
		if (!ok)
			return fail(e, -EPERM, "a root in its header is neither configured nor given as ROOT",
				    0, t->path, t->len, 0);
	}
	return 0;
}

/* The root @path lies beneath (the longest that matches), and where the rest starts. */
static const struct va_jroot *root_of(const struct va_jroots *jr, const char *path, size_t len,
				      size_t *rest)
{
	const struct va_jroot *best = NULL;

	for (size_t i = 0; i < jr->n; i++) {
		const struct va_jroot *t = &jr->r[i];
		size_t skip = t->len == 1 ? 0 : t->len;  /* "/" */

		if (t->file) {
			if (len == t->len && memcmp(path, t->path, len) == 0 && (!best || t->len > best->len)) {
				best = t;
				*rest = (size_t)((const char *)memrchr(path, '/', len) - path) + 1;
			}
			continue;
		}
		if (len > skip + 1 && memcmp(path, t->path, skip) == 0 && path[skip] == '/' &&
		    (!best || t->len > best->len)) {
			best = t;
			*rest = skip + 1;
		}
	}
	return best;
}

int va_jroots_open_parent(const struct va_jroots *jr, const char *path, size_t len, int *dirfd,
			  char base[NAME_MAX + 1])
{
	const struct va_jroot *t;
	const char *slash;
	size_t rest = 0, blen;
	char *dir;
	int fd;

	if (!va_path_clean(path, len) || len == 1)
		return -EINVAL;
	t = root_of(jr, path, len, &rest);
	if (!t)
		return -EXDEV;
	slash = memrchr(path, '/', len);
	blen = (size_t)(path + len - slash - 1);
	memcpy(base, slash + 1, blen);
	base[blen] = '\0';
	if ((size_t)(slash - path) < rest)
		dir = strdup(".");
	else
		dir = strndup(path + rest, (size_t)(slash - path) - rest);
	if (!dir)
		return -ENOMEM;
	fd = open_beneath(t->fd, dir, O_RDONLY | O_DIRECTORY);
	free(dir);
	if (fd < 0)
		return fd;
	*dirfd = fd;
	return 0;
}

/* One path of record @seq: beneath the roots, reached without a symlink. */
static int check_path(const struct va_jroots *jr, const char *path, size_t len, uint64_t seq,
		      struct va_jroots_error *e)
{
	char base[NAME_MAX + 1];
	int fd, r;

	for (size_t i = 0; i < jr->n; i++)
		if (!jr->r[i].file && jr->r[i].len == len && memcmp(jr->r[i].path, path, len) == 0)
			return 0;       /* a root itself (live: a barrier on ROOT) */
	r = va_jroots_open_parent(jr, path, len, &fd, base);
	if (r == 0) {
		close(fd);
		return 0;
	}
	switch (r) {
	case -ENOENT:
	case -ENOTDIR:
		return 0;       /* gone since: the replay skips it */
	case -ENOMEM:
		return fail(e, r, "out of memory", ENOMEM, NULL, 0, seq);
	case -EINVAL:
		return fail(e, -EPERM, "a path with an empty, '.' or '..' component", 0, path, len, seq);
	case -EXDEV:
		return fail(e, -EPERM, "a path outside the roots of its header", 0, path, len, seq);
	case -ELOOP:
		return fail(e, -EPERM, "a path through a symbolic link", 0, path, len, seq);
	default:
		return fail(e, -EPERM, "a path that cannot be reached beneath its root", -r, path, len, seq);
	}
}

int va_jroots_check_journal(const struct va_journal *j, const struct va_jroots *jr,
			    struct va_jroots_error *e)
{
	int r;

	for (size_t i = 0; i < j->nrecs; i++) {
		const struct va_journal_rec *rec = &j->recs[i];

		if (rec->type != 'I' && rec->type != 'L' && rec->type != 'C')
			continue;
		if ((r = check_path(jr, rec->path, rec->path_len, rec->seq, e)) < 0)
			return r;
		if (rec->type == 'I')
			continue;
		if (rec->other_len && (r = check_path(jr, rec->other, rec->other_len, rec->seq, e)) < 0)
			return r;
		if (rec->tmp_len && !plain_name(rec->tmp, rec->tmp_len))
			return fail(e, -EPERM, "a temporary name that is not a plain name", 0, rec->tmp,
				    rec->tmp_len, rec->seq);
	}
	return 0;
}
