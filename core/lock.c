/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lock.c - one run at a time changes a filesystem (see lock.h).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "core/lock.h"
#include "core/message.h"

static const char *lock_dir(void)
{
	const char *d = getenv("VAUDIT_LOCK_DIR");

	return d && *d == '/' ? d : VA_LOCK_DIR;
}

static int add_held(struct va_locks *l, int fd, dev_t dev, dev_t idev, ino_t iino)
{
	struct va_lock_held *n = realloc(l->held, (l->n + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	l->held = n;
	n[l->n++] = (struct va_lock_held){ .fd = fd, .dev = dev, .idev = idev, .iino = iino };
	return 0;
}

/* What the holder of @fd's lock wrote: "PROGRAM (pid N)", or "" (into @buf). */
static const char *holder_of(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* flock @fd, or say who holds it.  Return: 0, -EBUSY or -errno. */
static int take(int fd, const char *path, const char *what, bool say_holder, struct va_error *err)
{
	char holder[128] = "", msg[256];

	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno != EWOULDBLOCK) {
		int e = errno;

		va_error_set(err, e, path, strlen(path), "cannot take the change lock", NULL);
		return -e;
	}
	if (say_holder)
		holder_of(fd, holder, sizeof(holder));
	snprintf(msg, sizeof(msg), "another run is changing this %s%s%s%s: try again when it has ended",
		 what, *holder ? " (" : "", holder, *holder ? ")" : "");
	va_error_set(err, 0, path, strlen(path), msg, NULL);
	return -EBUSY;
}

int va_lock_fs(struct va_locks *l, const char *path, struct va_error *err)
{
	struct stat st, fst;
	struct dbuf file = DBUF_INIT;
	const char *dir = lock_dir();
	char text[160];
	bool written;
	int fd, r;

	if (stat(path, &st) < 0) {
		r = -errno;
		va_error_set(err, -r, path, strlen(path), "cannot take the change lock", NULL);
		return r;
	}
	for (size_t i = 0; i < l->n; i++)
		if (l->held[i].dev == st.st_dev && !l->held[i].iino)
			return 0;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		va_error_set(err, -r, dir, strlen(dir), "cannot make the lock directory", NULL);
		return r;
	}
	if (dbuf_addf(&file, "%s/fs-%u:%u.lock", dir, major(st.st_dev), minor(st.st_dev)) < 0)
		return -ENOMEM;
	fd = open(file.buf, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	r = fd < 0 || fstat(fd, &fst) < 0 ? -errno : !S_ISREG(fst.st_mode) ? -EINVAL : 0;
	if (r == 0)
		r = take(fd, path, "filesystem", true, err);
	else
		va_error_set(err, -r, file.buf, file.len, "cannot open the lock file", NULL);
	dbuf_release(&file);
	if (r < 0) {
		if (fd >= 0)
			close(fd);
		return r;
	}
	/* the holder's name, for the message of a run refused while we hold
	 * it (the lock holds without it, should the write fail) */
	snprintf(text, sizeof(text), "%s, pid %ld\n", l->holder ? l->holder : "vaudit", (long)getpid());
	written = ftruncate(fd, 0) == 0 && pwrite(fd, text, strlen(text), 0) == (ssize_t)strlen(text);
	(void)written;
	if ((r = add_held(l, fd, st.st_dev, 0, 0)) < 0)
		close(fd);
	return r;
}

int va_lock_image(struct va_locks *l, const char *image, struct va_error *err)
{
	struct stat st;
	int fd, r;

	fd = open(image, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		va_error_set(err, -r, image, strlen(image), "cannot take the change lock", NULL);
		if (fd >= 0)
			close(fd);
		return r;
	}
	for (size_t i = 0; i < l->n; i++)
		if (l->held[i].iino == st.st_ino && l->held[i].idev == st.st_dev) {
			close(fd);
			return 0;
		}
	r = take(fd, image, S_ISBLK(st.st_mode) ? "device" : "image", false, err);
	if (r == 0 && (r = add_held(l, fd, 0, st.st_dev, st.st_ino)) == 0)
		return 0;
	close(fd);
	return r;
}

int va_lock_targets(struct va_locks *l, const char *image, const char *const *paths, size_t npaths,
		    struct va_error *err)
{
	int r = 0;

	if (image)
		return va_lock_image(l, image, err);
	for (size_t i = 0; i < npaths && r == 0; i++)
		r = va_lock_fs(l, paths[i], err);
	return r;
}

void va_locks_release(struct va_locks *l)
{
	for (size_t i = 0; i < l->n; i++)
		close(l->held[i].fd);   /* closing the only fd releases the flock */
	free(l->held);
	l->held = NULL;
	l->n = 0;
}
