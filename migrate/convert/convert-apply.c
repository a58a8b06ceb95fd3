/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * convert-apply.c - create a conversion's directory: built hidden, on
 * disk, journaled, then renamed into place without replacing anything
 * (see convert.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "core/image.h"
#include "migrate/convert/convert.h"

int va_convert_journal_create(struct va_journal **ret, const struct va_config *c, const char *file,
			      struct dbuf *path, struct va_error *err)
{
	char uuid[VA_UUID_TEXT];
	int r;

	*ret = NULL;
	dbuf_setlen(path, 0);
	va_image_uuid(NULL, c->cfgdir, uuid);
	r = file ? dbuf_adds(path, file) : va_journal_default_name(path, "convert");
	if (r == 0)
		r = va_journal_create(ret, path->buf, VA_JOURNAL_CONVERT, uuid, c->cfgdir, strlen(c->cfgdir));
	if (r < 0) {
		/* before a name is known, the directory is what failed */
		const char *f = path->len ? path->buf : VA_JOURNAL_DIR;

		va_error_set(err, -r, f, strlen(f), "cannot create the journal", NULL);
	}
	return r;
}

/* Remove the first @n items of @cv below @dfd, last first. */
static void take_back(int dfd, const struct va_conv *cv, size_t n)
{
	while (n--)
		unlinkat(dfd, cv->items[n].rel, cv->items[n].type == VA_CONV_DIR ? AT_REMOVEDIR : 0);
}

static int write_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = write(fd, s, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Make item @it below @tfd, its data on disk.  Return: 0 or -errno. */
static int make_item(int tfd, const struct va_conv_item *it)
{
	int fd, r;

	switch (it->type) {
	case VA_CONV_DIR:
		return mkdirat(tfd, it->rel, 0755) < 0 ? -errno : 0;
	case VA_CONV_LINK:
		return symlinkat(it->content, tfd, it->rel) < 0 ? -errno : 0;
	case VA_CONV_FILE:
		break;
	}
	fd = openat(tfd, it->rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	r = write_all(fd, it->content);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/*
 * Record entry @rel (NULL: the top directory, built as @tmp) of the tree
 * @tfd as it is now, under the path @top[/rel].  Return: 0 or -errno.
 */
static int record(struct va_journal *j, int tfd, const char *top, const char *rel, const char *tmp)
{
	struct va_journal_rec rec = { .type = 'C' };
	struct dbuf path = DBUF_INIT;
	struct stat st;
	int r;

	if (fstatat(tfd, rel ? rel : "", &st, AT_SYMLINK_NOFOLLOW | (rel ? 0 : AT_EMPTY_PATH)) < 0)
		return -errno;
	rec.dev = st.st_dev;
	rec.ino = st.st_ino;
	rec.ctime_sec = st.st_ctim.tv_sec;
	rec.ctime_nsec = (uint32_t)st.st_ctim.tv_nsec;
	snprintf(rec.kind, sizeof(rec.kind), "%s", S_ISDIR(st.st_mode) ? "d" : S_ISLNK(st.st_mode) ? "l" : "f");
	if (dbuf_adds(&path, top) < 0 || (rel && dbuf_addf(&path, "/%s", rel) < 0)) {
		dbuf_release(&path);
		return -ENOMEM;
	}
	rec.path = path.buf;
	rec.path_len = path.len;
	rec.tmp = (char *)tmp;
	rec.tmp_len = tmp ? strlen(tmp) : 0;
	r = va_journal_add(j, &rec);
	dbuf_release(&path);
	return r;
}

/* Add a @type mark for the @n records from @first on. */
static void mark(struct va_journal *j, uint64_t first, size_t n, char type)
{
	for (size_t i = 0; i < n; i++) {
		struct va_journal_rec m = { .type = type, .seq = first + i };

		(void)va_journal_add(j, &m);   /* a failure sticks in j->err: the caller sees it */
	}
}

int va_convert_apply(const struct va_config *c, const struct va_conv *cv, struct va_journal *j,
		     struct va_error *err)
{
	const char *name = cv->guest->name;
	char tmp[64], *target = NULL;
	int cfd, tfd = -1, r = 0;
	size_t done = 0;
	uint64_t first = j->next_seq;
	bool journaled = false;
	struct stat st;
	const char *what = "cannot create it";

	if (asprintf(&target, "%s/%s", c->cfgdir, name) < 0)
		return -ENOMEM;
	cfd = va_config_open_dir(c, c->cfgdir_canon);
	if (cfd < 0) {
		va_error_set(err, -cfd, c->cfgdir, strlen(c->cfgdir), "cannot open the configuration directory",
			     NULL);
		free(target);
		return cfd;
	}
	if (fstatat(cfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		r = -EEXIST;
		what = "it exists already: not converted (nothing is replaced)";
		goto out;
	}
	snprintf(tmp, sizeof(tmp), ".vaudit-convert.%ld.%lx", (long)getpid(), (unsigned long)time(NULL));
	if (mkdirat(cfd, tmp, 0755) < 0) {
		r = -errno;
		goto out;
	}
	tfd = openat(cfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0) {
		r = -errno;
		goto fail;
	}
	for (; done < cv->nitems && r == 0; done++)
		if ((r = make_item(tfd, &cv->items[done])) < 0)
			break;
	if (r == 0 && syncfs(tfd) < 0)
		r = -errno;
	if (r < 0)
		goto fail;
	/* what is about to appear, on file before it does */
	r = record(j, tfd, target, NULL, tmp);
	for (size_t i = 0; i < cv->nitems && r == 0; i++)
		r = record(j, tfd, target, cv->items[i].rel, NULL);
	if (r == 0)
		r = va_journal_sync(j);
	if (r < 0) {
		what = "cannot write the journal: not converted";
		goto fail;
	}
	journaled = true;
	if (renameat2(cfd, tmp, cfd, name, RENAME_NOREPLACE) < 0) {
		r = -errno;
		if (r == -EEXIST)
			what = "it exists already: not converted (nothing is replaced)";
		goto fail;
	}
	if (fsync(cfd) < 0) {
		r = -errno;     /* it is there; say that it may not be on disk */
		what = "created, but the configuration directory cannot be written to disk";
		goto out;
	}
	mark(j, first, cv->nitems + 1, 'D');
	goto out;
fail:
	if (tfd >= 0)
		take_back(tfd, cv, done);
	/* the undone marks only once the removal is on disk (else the next
	 * undo reads the state again and removes what is left) */
	if (unlinkat(cfd, tmp, AT_REMOVEDIR) == 0 && journaled && fsync(cfd) == 0)
		mark(j, first, cv->nitems + 1, 'U');
out:
	if (r < 0)
		va_error_set(err, r == -EEXIST ? 0 : -r, target, strlen(target), what, NULL);
	if (tfd >= 0)
		close(tfd);
	close(cfd);
	free(target);
	return r;
}
