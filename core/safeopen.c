/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * safeopen.c - opening names of untrusted trees (the policy is in
 * safeopen.h).
 *
 * Parts: the openat2() call and whether the kernel has it; the mount
 * check of the fallback; one name (va_safeopen_at()); a path beneath
 * (openat2 a piece at a time, or the component walk of the fallback); the
 * verified open.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "core/safeopen.h"

/* Added to every open. */
#define SO_ALWAYS (O_CLOEXEC | O_NOCTTY)
/* A directory on the way (search permission is enough); openat2()'s
 * RESOLVE_NO_SYMLINKS needs no O_NOFOLLOW and then says -ELOOP, not -ENOTDIR. */
#define SO_WAY (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define SO_PIECE (O_PATH | O_DIRECTORY | O_CLOEXEC)
/* What statx() must say of an fd for the mount check. */
#ifdef STATX_MNT_ID
#define SO_MNT_MASK (STATX_TYPE | STATX_INO | STATX_MNT_ID)
#else
#define SO_MNT_MASK (STATX_TYPE | STATX_INO)
#endif

/* ------------------------------------------------------------ openat2 */

static bool no_openat2;         /* the kernel said ENOSYS once */
static bool force_fallback;     /* va_safeopen_force_fallback() */

/*
 * Tests only (tests/unit/check_safeopen.c), deliberately not in
 * safeopen.h: with @on, every open takes the fallback route as on a kernel
 * without openat2(); with !@on, openat2() is used again where it works.
 */
void va_safeopen_force_fallback(bool on);
void va_safeopen_force_fallback(bool on)
{
	__atomic_store_n(&force_fallback, on, __ATOMIC_RELAXED);
}

/* Whether to try openat2(). */
static bool try_openat2(void)
{
	return !__atomic_load_n(&force_fallback, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&no_openat2, __ATOMIC_RELAXED);
}

/*
 * One openat2() of @path (shorter than PATH_MAX) with RESOLVE_NO_SYMLINKS|
 * RESOLVE_NO_MAGICLINKS and @resolve (@flags: no O_CREAT).  EAGAIN (a rename raced the lookup)
 * is retried.  Return: the fd or -errno; -ENOSYS is remembered.
 */
static int openat2_one(int dir_fd, const char *path, int flags, uint64_t resolve)
{
	struct open_how how = {
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | resolve,
	};
	long fd;

	/* openat2() refuses (EINVAL) what open() ignores with O_PATH */
	flags |= SO_ALWAYS;
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	how.flags = (uint64_t)(unsigned)flags;

	do
		fd = syscall(SYS_openat2, dir_fd, path, &how, sizeof(how));
	while (fd < 0 && errno == EAGAIN);
	if (fd < 0 && errno == ENOSYS)
		__atomic_store_n(&no_openat2, true, __ATOMIC_RELAXED);
	return fd < 0 ? -errno : (int)fd;
}

/* openat() of @name, with O_NOATIME first for @noatime. */
static int openat_noatime(int dir_fd, const char *name, int flags, bool noatime)
{
	int fd = -1;

	if (noatime) {
		fd = openat(dir_fd, name, flags | O_NOATIME);
		if (fd >= 0 || errno != EPERM)
			return fd < 0 ? -errno : fd;
	}
	fd = openat(dir_fd, name, flags);
	return fd < 0 ? -errno : fd;
}

/* ------------------------------------------------------------ fallback */

/* statx() of the open @fd (or of AT_FDCWD) for the mount check. */
static int mount_of(int fd, struct statx *ret)
{
	return statx(fd, "", AT_EMPTY_PATH, SO_MNT_MASK, ret) < 0 ? -errno : 0;
}

/* -EXDEV when @child, opened from the directory @parent, lies on another mount. */
static int same_mount(const struct statx *parent, const struct statx *child)
{
#ifdef STATX_MNT_ID
	if (parent->stx_mask & child->stx_mask & STATX_MNT_ID)
		return parent->stx_mnt_id == child->stx_mnt_id ? 0 : -EXDEV;
#endif
	if (parent->stx_dev_major != child->stx_dev_major || parent->stx_dev_minor != child->stx_dev_minor)
		return -EXDEV;
#ifdef STATX_ATTR_MOUNT_ROOT
	if ((child->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (child->stx_attributes & STATX_ATTR_MOUNT_ROOT) && child->stx_ino != parent->stx_ino)
		return -EXDEV;
#endif
	return 0;
}

/*
 * The mount check of the fallback: close @fd and return -EXDEV when it is
 * on another mount than @parent (statx()ed, updated to @fd's for the next
 * step); else @fd.
 */
static int keep_on_mount(int fd, struct statx *parent)
{
	struct statx child;
	int r;

	if (fd < 0)
		return fd;
	r = mount_of(fd, &child);
	if (r == 0)
		r = same_mount(parent, &child);
	if (r < 0) {
		close(fd);
		return r;
	}
	*parent = child;
	return fd;
}

/*
 * @r (-ENOTDIR from opening @name in @dir_fd as a directory without
 * following it), or -ELOOP when @name is a symlink: the error openat2()
 * gives for a symlink on the way.
 */
static int symlink_is_eloop(int dir_fd, const char *name, int r)
{
	struct stat st;

	if (r == -ENOTDIR && fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return -ELOOP;
	return r;
}

/* @fd, or -ELOOP (@fd closed) when it is an O_PATH fd of a symlink. */
static int not_a_link(int fd)
{
	struct stat st;

	if (fd >= 0 && fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
		close(fd);
		return -ELOOP;
	}
	return fd;
}

/* ------------------------------------------------------------ one name */

int va_safeopen_at(int dir_fd, const char *name, int flags, unsigned how)
{
	struct statx parent;
	int fd;

	flags |= O_NOFOLLOW | SO_ALWAYS;
	if ((how & VA_SAFEOPEN_NO_XDEV) && try_openat2()) {
		fd = openat2_one(dir_fd, name, (how & VA_SAFEOPEN_NOATIME) ? flags | O_NOATIME : flags,
				 RESOLVE_NO_XDEV);
		if (fd == -EPERM && (how & VA_SAFEOPEN_NOATIME))
			fd = openat2_one(dir_fd, name, flags, RESOLVE_NO_XDEV);
		if (fd != -ENOSYS)
			return fd;
	}
	if (!(how & VA_SAFEOPEN_NO_XDEV))
		return openat_noatime(dir_fd, name, flags, how & VA_SAFEOPEN_NOATIME);
	fd = mount_of(dir_fd, &parent);
	if (fd < 0)
		return fd;
	return keep_on_mount(openat_noatime(dir_fd, name, flags, how & VA_SAFEOPEN_NOATIME), &parent);
}

/* ------------------------------------------------------------ beneath */

/* -EXDEV for an absolute @path or one with a ".." component. */
static int check_beneath(const char *path)
{
	if (path[0] == '/')
		return -EXDEV;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.')
			return -EXDEV;
		p += n;
		while (*p == '/')
			p++;
	}
	return 0;
}

/*
 * The openat2() route.  The kernel takes no path of PATH_MAX bytes or
 * more: a longer one is walked a piece at a time, each piece the longest
 * run of whole components shorter than PATH_MAX, opened as a directory
 * from the last with the same resolve rules (the pieces of a path without
 * ".." resolve as the whole path would).  O_NOFOLLOW is dropped but for
 * O_PATH: RESOLVE_NO_SYMLINKS refuses a final symlink with -ELOOP, where
 * O_NOFOLLOW|O_DIRECTORY would say -ENOTDIR.
 */
static int beneath_openat2(int dir_fd, const char *path, int flags, uint64_t resolve, bool noatime)
{
	size_t len = strlen(path);
	char piece[PATH_MAX];
	int fd = dir_fd, r;

	if (!(flags & O_PATH))
		flags &= ~O_NOFOLLOW;
	resolve |= RESOLVE_BENEATH;
	while (len >= PATH_MAX) {
		const char *cut = memrchr(path, '/', PATH_MAX - 1);
		size_t n = cut ? (size_t)(cut - path) : 0;
		int next;

		if (n == 0) {
			r = -ENAMETOOLONG;      /* a component of PATH_MAX bytes or more */
			goto out;
		}
		memcpy(piece, path, n);
		piece[n] = '\0';
		next = openat2_one(fd, piece, SO_PIECE, resolve);
		if (fd != dir_fd)
			close(fd);
		if (next < 0)
			return next;
		fd = next;
		while (n < len && path[n] == '/')
			n++;
		path += n;
		len -= n;
	}
	if (!*path)
		path = ".";
	r = openat2_one(fd, path, noatime ? flags | O_NOATIME : flags, resolve);
	if (r == -EPERM && noatime)
		r = openat2_one(fd, path, flags, resolve);
out:
	if (fd != dir_fd)
		close(fd);
	return r;
}

/*
 * The fallback: one component at a time, each directory on the way opened
 * O_PATH|O_DIRECTORY|O_NOFOLLOW, the last with @flags|O_NOFOLLOW; a
 * trailing '/' opens the last component as a directory on the way and
 * then "." in it.  With @xdev, every step is checked to stay on the mount
 * of @dir_fd.  The errors are openat2()'s: a symlink is -ELOOP where
 * O_NOFOLLOW alone says -ENOTDIR (O_DIRECTORY) or opens it (O_PATH).
 */
static int beneath_fallback(int dir_fd, const char *path, int flags, bool xdev, bool noatime)
{
	bool link_ok = (flags & (O_PATH | O_NOFOLLOW)) == (O_PATH | O_NOFOLLOW);
	char name[NAME_MAX + 1];
	struct statx mnt;
	const char *p = path;
	int fd = dir_fd, r;

	if (xdev && (r = mount_of(dir_fd, &mnt)) < 0)
		return r;
	flags |= O_NOFOLLOW;
	for (;;) {
		size_t n = strcspn(p, "/");
		const char *q = p + n;
		bool last;
		int next;

		while (*q == '/')
			q++;
		last = !*q;
		if (n == 0) {
			/* "" (the directory itself), or after a trailing '/' */
			memcpy(name, ".", 2);
		} else if (n > NAME_MAX) {
			r = -ENAMETOOLONG;
			break;
		} else {
			memcpy(name, p, n);
			name[n] = '\0';
		}
		if (last && !p[n]) {
			r = openat_noatime(fd, name, flags, noatime);
			/* O_PATH|O_NOFOLLOW: the kernel's answer, as openat2()'s */
			if (!link_ok && (flags & O_DIRECTORY))
				r = symlink_is_eloop(fd, name, r);
			else if (!link_ok && (flags & O_PATH))
				r = not_a_link(r);
			if (xdev)
				r = keep_on_mount(r, &mnt);
			break;
		}
		next = openat(fd, name, SO_WAY);
		next = symlink_is_eloop(fd, name, next < 0 ? -errno : next);
		if (xdev)
			next = keep_on_mount(next, &mnt);
		if (next < 0) {
			r = next;
			break;
		}
		if (fd != dir_fd)
			close(fd);
		fd = next;
		p = last ? "" : q;      /* a trailing '/': "." in the directory */
	}
	if (fd != dir_fd)
		close(fd);
	return r;
}

int va_safeopen_beneath(int dir_fd, const char *path, int flags, unsigned how)
{
	bool noatime = how & VA_SAFEOPEN_NOATIME, xdev = how & VA_SAFEOPEN_NO_XDEV;
	int r = check_beneath(path);

	if (r < 0)
		return r;
	flags |= SO_ALWAYS;
	if (try_openat2()) {
		r = beneath_openat2(dir_fd, path, flags, xdev ? RESOLVE_NO_XDEV : 0, noatime);
		if (r != -ENOSYS)
			return r;
	}
	return beneath_fallback(dir_fd, path, flags, xdev, noatime);
}

/* ------------------------------------------------------------ verified */

/* The policy's answer for @mode, found where @id was expected. */
static int check_id(mode_t mode, dev_t dev, uint64_t ino, const struct va_safeopen_id *id)
{
	if (id->type && (mode & S_IFMT) != (id->type & S_IFMT)) {
		if (S_ISLNK(mode))
			return -ELOOP;
		if (S_ISDIR(mode))
			return -EISDIR;
		if ((id->type & S_IFMT) == S_IFDIR)
			return -ENOTDIR;
		return -EINVAL;
	}
	if (dev != id->dev || ino != id->ino)
		return -ESTALE;
	return 0;
}

int va_safeopen_verified(int dir_fd, const char *name, int flags, unsigned how,
			 const struct va_safeopen_id *id, struct statx *ret)
{
	unsigned mask = STATX_BASIC_STATS;
	struct statx stx;
	int fd, r;

	if (how & VA_SAFEOPEN_LOOK_FIRST) {
		if (how & VA_SAFEOPEN_BENEATH)
			return -EINVAL;
		if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE | STATX_INO, &stx) < 0)
			return -errno;
		r = check_id(stx.stx_mode, makedev(stx.stx_dev_major, stx.stx_dev_minor), stx.stx_ino, id);
		if (r < 0)
			return r;
	}
	how &= VA_SAFEOPEN_NOATIME | VA_SAFEOPEN_NO_XDEV | VA_SAFEOPEN_BENEATH;
	if (how & VA_SAFEOPEN_BENEATH)
		fd = va_safeopen_beneath(dir_fd, name, flags, how & ~VA_SAFEOPEN_BENEATH);
	else
		fd = va_safeopen_at(dir_fd, name, flags, how);
	if (fd < 0)
		return fd;
#ifdef STATX_MNT_ID
	mask |= STATX_MNT_ID;
#endif
	if (statx(fd, "", AT_EMPTY_PATH, mask, &stx) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = check_id(stx.stx_mode, makedev(stx.stx_dev_major, stx.stx_dev_minor), stx.stx_ino, id);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (ret)
		*ret = stx;
	return fd;
}
