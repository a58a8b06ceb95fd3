/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_safeopen.c - unit tests of core/safeopen: the one policy for
 * opening names of untrusted trees.
 *
 * Every test runs three times, once per route, in three TCases:
 *  - "openat2": the kernel's openat2() (skipped where the kernel has none);
 *  - "fallback": the component walk, forced by va_safeopen_force_fallback()
 *    (for tests only, not in safeopen.h);
 *  - "enosys": openat2() made to fail with ENOSYS by a seccomp filter, as
 *    on a kernel older than 5.6 (skipped where seccomp is not available).
 * The answers must be the same on every route.  This program defines
 * openat() -- the real system call, counted -- so a test can tell which
 * route was taken and that a refused path made no system call at all.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>

#include "core/safeopen.h"
#include "tests/unit/testutil.h"

/* core/safeopen.c, for tests only. */
void va_safeopen_force_fallback(bool on);

/* ================================================================ openat seam */

static size_t openat_calls;

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	openat_calls++;
	return (int)syscall(SYS_openat, dirfd, path, flags, mode);
}

/* ================================================================ routes */

enum route { ROUTE_OPENAT2, ROUTE_FALLBACK, ROUTE_ENOSYS };

static enum route route;

static void setup_openat2(void)
{
	route = ROUTE_OPENAT2;
}

static void setup_fallback(void)
{
	route = ROUTE_FALLBACK;
	va_safeopen_force_fallback(true);
}

/* A seccomp filter: openat2() fails with ENOSYS, everything else is allowed. */
static int deny_openat2(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0 ? -errno : 0;
}

static bool seccomp_ok;  /* set in main(): else the "enosys" tests are skipped */

static void setup_enosys(void)
{
	route = ROUTE_ENOSYS;
	if (seccomp_ok)
		ck_assert_int_eq(deny_openat2(), 0);
}

/* Whether the route walks components with openat(): check @calls openat()s. */
static void assert_route(size_t calls)
{
	if (route == ROUTE_OPENAT2)
		ck_assert_msg(calls == 0, "openat2 route: %zu openat() calls", calls);
	else
		ck_assert_msg(calls > 0, "fallback route: no openat() call");
}

/* ================================================================ helpers */

static int new_dir(const char *tag)
{
	char *p = tu_subdir(tag);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open %s: %s", p, strerror(errno));
	free(p);
	return fd;
}

static int mkdir_open(int dfd, const char *name)
{
	int fd;

	ck_assert_msg(mkdirat(dfd, name, 0755) == 0, "mkdir %s: %s", name, strerror(errno));
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static struct stat lstat_at(int dfd, const char *name)
{
	struct stat st;

	ck_assert_msg(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, "stat %s: %s", name, strerror(errno));
	return st;
}

/* Is @fd the inode @name in @dfd? */
static void assert_is(int fd, int dfd, const char *name)
{
	struct stat a, b = lstat_at(dfd, name);

	ck_assert_msg(fd >= 0, "%s: %s", name, strerror(-fd));
	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_msg(a.st_dev == b.st_dev && a.st_ino == b.st_ino, "%s: another inode opened", name);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* va_safeopen_beneath() must refuse @path with @err. */
#define REFUSED(dfd, path, flags, how, err)                                                     \
	do {                                                                                    \
		int fd_ = va_safeopen_beneath(dfd, path, flags, how);                           \
		ck_assert_msg(fd_ == -(err), "\"%.200s\": %d (%s), expected -%s", path, fd_,      \
			      fd_ < 0 ? strerror(-fd_) : "opened", #err);                        \
	} while (0)

/*
 * dir/ d/ f ("hello"), d/f, l -> d, lf -> f, abs -> /, up -> ..,
 * d/back -> ../d, fifo.
 */
static int make_tree(void)
{
	int dfd = new_dir("tree"), sub;

	tu_write_file(dfd, "f", "hello", 5);
	sub = mkdir_open(dfd, "d");
	tu_write_file(sub, "f", "in d", 4);
	ck_assert(symlinkat("../d", sub, "back") == 0);
	close(sub);
	ck_assert(symlinkat("d", dfd, "l") == 0);
	ck_assert(symlinkat("f", dfd, "lf") == 0);
	ck_assert(symlinkat("/", dfd, "abs") == 0);
	ck_assert(symlinkat("..", dfd, "up") == 0);
	ck_assert(mkfifoat(dfd, "fifo", 0644) == 0);
	return dfd;
}

/* ================================================================ one name */

START_TEST(one_name_never_follows)
{
	int dfd = make_tree(), fd;
	size_t fds = tu_count_fds();
	struct stat st;

	fd = va_safeopen_at(dfd, "f", O_RDONLY, 0);
	assert_is(fd, dfd, "f");
	close(fd);
	fd = va_safeopen_at(dfd, "d", O_RDONLY | O_DIRECTORY, 0);
	assert_is(fd, dfd, "d");
	close(fd);
	/* a symlink: -ELOOP, or the kernel's -ENOTDIR with O_DIRECTORY */
	ck_assert_int_eq(va_safeopen_at(dfd, "lf", O_RDONLY, 0), -ELOOP);
	ck_assert_int_eq(va_safeopen_at(dfd, "l", O_RDONLY, 0), -ELOOP);
	ck_assert_int_eq(va_safeopen_at(dfd, "l", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	ck_assert_int_eq(va_safeopen_at(dfd, "abs", O_RDONLY | O_DIRECTORY, VA_SAFEOPEN_NO_XDEV), -ENOTDIR);
	ck_assert_int_eq(va_safeopen_at(dfd, "f", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
	ck_assert_int_eq(va_safeopen_at(dfd, "missing", O_RDONLY, 0), -ENOENT);
	/* O_PATH opens the link itself */
	fd = va_safeopen_at(dfd, "abs", O_PATH, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISLNK(st.st_mode));
	close(fd);
	/* the same through openat2 where NO_XDEV asks for it */
	ck_assert_int_eq(va_safeopen_at(dfd, "lf", O_RDONLY, VA_SAFEOPEN_NO_XDEV), -ELOOP);
	fd = va_safeopen_at(dfd, "d", O_RDONLY | O_DIRECTORY, VA_SAFEOPEN_NO_XDEV);
	assert_is(fd, dfd, "d");
	close(fd);
	ck_assert_uint_eq(tu_count_fds(), fds);
	close(dfd);
}
END_TEST

/* ================================================================ beneath */

START_TEST(beneath_refuses_symlinks)
{
	int dfd = make_tree(), fd, proc, self;
	size_t fds = tu_count_fds();
	struct stat st;
	char name[64];

	openat_calls = 0;
	fd = va_safeopen_beneath(dfd, "d/f", O_RDONLY, 0);
	assert_route(openat_calls);
	{
		int sub = openat(dfd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		assert_is(fd, sub, "f");
		close(sub);
	}
	close(fd);
	/* a symlink anywhere is -ELOOP: on the way, last, with O_DIRECTORY, before a '/' */
	REFUSED(dfd, "l/f", O_RDONLY, 0, ELOOP);
	REFUSED(dfd, "lf", O_RDONLY, 0, ELOOP);
	REFUSED(dfd, "lf", O_RDONLY | O_NOFOLLOW, 0, ELOOP);
	REFUSED(dfd, "l", O_RDONLY | O_DIRECTORY, 0, ELOOP);
	REFUSED(dfd, "l", O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, ELOOP);
	REFUSED(dfd, "l/", O_RDONLY, 0, ELOOP);
	REFUSED(dfd, "l/", O_PATH, 0, ELOOP);
	REFUSED(dfd, "l/.", O_RDONLY, 0, ELOOP);
	REFUSED(dfd, "abs/etc", O_RDONLY | O_DIRECTORY, 0, ELOOP);
	REFUSED(dfd, "up/x", O_RDONLY, 0, ELOOP);
	REFUSED(dfd, "d/back/f", O_RDONLY, 0, ELOOP);
	REFUSED(dfd, "d/back", O_PATH, 0, ELOOP);
	/* not a directory on the way, or with a trailing '/' */
	REFUSED(dfd, "f/x", O_RDONLY, 0, ENOTDIR);
	REFUSED(dfd, "f/", O_RDONLY, 0, ENOTDIR);
	REFUSED(dfd, "d/missing/x", O_RDONLY, 0, ENOENT);
	/* O_PATH|O_NOFOLLOW opens a last symlink itself */
	fd = va_safeopen_beneath(dfd, "d/back", O_PATH | O_NOFOLLOW, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISLNK(st.st_mode));
	close(fd);
	/* magic links: /proc/self/fd/N */
	proc = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(proc, 0);
	snprintf(name, sizeof(name), "%d/f", dfd);
	REFUSED(proc, name, O_RDONLY, 0, ELOOP);
	snprintf(name, sizeof(name), "%d", dfd);
	REFUSED(proc, name, O_RDONLY | O_DIRECTORY, 0, ELOOP);
	ck_assert_int_eq(va_safeopen_at(proc, name, O_RDONLY | O_DIRECTORY, VA_SAFEOPEN_NO_XDEV), -ENOTDIR);
	close(proc);
	self = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(self, 0);
	REFUSED(self, "self/fd", O_RDONLY | O_DIRECTORY, 0, ELOOP);
	close(self);
	ck_assert_uint_eq(tu_count_fds(), fds);
	close(dfd);
}
END_TEST

START_TEST(beneath_refuses_dotdot)
{
	int dfd = make_tree(), fd;
	static const char *const bad[] = {
		"..", "../", "../x", "d/..", "d/../f", "d/../../x", "./..", "d//..//d",
		"/", "/etc", "//tmp", "/etc/passwd",
	};
	static const char *const good[] = { "", ".", "./", "d", "d/", "d/.", "./d/./f", "d//f", "d///" };

	openat_calls = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		REFUSED(dfd, bad[i], O_RDONLY, 0, EXDEV);
		REFUSED(dfd, bad[i], O_PATH, VA_SAFEOPEN_NO_XDEV | VA_SAFEOPEN_NOATIME, EXDEV);
	}
	ck_assert_msg(openat_calls == 0, "a refused path made %zu openat() calls", openat_calls);
	/* a ".." inside a name is a name */
	tu_write_file(dfd, "..x", "", 0);
	fd = va_safeopen_beneath(dfd, "..x", O_RDONLY, 0);
	assert_is(fd, dfd, "..x");
	close(fd);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *want = strchr(good[i], 'f') ? "d/f" : strchr(good[i], 'd') ? "d" : ".";

		fd = va_safeopen_beneath(dfd, good[i], O_RDONLY, 0);
		ck_assert_msg(fd >= 0, "\"%s\": %s", good[i], strerror(-fd));
		assert_is(fd, dfd, want);
		close(fd);
	}
	close(dfd);
}
END_TEST

START_TEST(beneath_any_length)
{
	int dfd = new_dir("deep"), fd;
	char *chain = tu_deep_chain(dfd, 3000);    /* 9,000 bytes: more than two PATH_MAX */
	size_t len = strlen(chain), fds = tu_count_fds();
	char *p = malloc(len + 2 * NAME_MAX + 16);
	char buf[8] = "";

	ck_assert_uint_gt(len, 2 * PATH_MAX);
	sprintf(p, "%s/f", chain);
	openat_calls = 0;
	fd = va_safeopen_beneath(dfd, p, O_RDONLY, VA_SAFEOPEN_NOATIME);
	assert_route(openat_calls);
	ck_assert_msg(fd >= 0, "open at depth: %s", strerror(-fd));
	ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), 4);
	ck_assert_str_eq(buf, "deep");
	close(fd);
	/* the directory itself, with and without a trailing '/', runs of '/' */
	fd = va_safeopen_beneath(dfd, chain, O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(faccessat(fd, "f", F_OK, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(symlinkat("/", fd, "up") == 0);
	close(fd);
	sprintf(p, "%s/", chain);
	fd = va_safeopen_beneath(dfd, p, O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	sprintf(p, "dd//%s", chain + 3);
	fd = va_safeopen_beneath(dfd, p, O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* the rules hold in every piece: a symlink deep down is not followed */
	sprintf(p, "%s/up/tmp", chain);
	REFUSED(dfd, p, O_RDONLY | O_DIRECTORY, 0, ELOOP);
	sprintf(p, "%s/up", chain);
	REFUSED(dfd, p, O_RDONLY, 0, ELOOP);
	/* nor ".." deep down */
	sprintf(p, "%s/../f", chain);
	REFUSED(dfd, p, O_RDONLY, 0, EXDEV);
	/* a missing directory deep down */
	sprintf(p, "%s/no/f", chain);
	REFUSED(dfd, p, O_RDONLY, 0, ENOENT);
	/* a name longer than NAME_MAX, at the top and deep down */
	memset(p, 'x', NAME_MAX + 1);
	p[NAME_MAX + 1] = '\0';
	REFUSED(dfd, p, O_RDONLY, 0, ENAMETOOLONG);
	sprintf(p, "%s/", chain);
	memset(p + len + 1, 'x', NAME_MAX + 1);
	p[len + 1 + NAME_MAX + 1] = '\0';
	REFUSED(dfd, p, O_RDONLY, 0, ENAMETOOLONG);
	ck_assert_uint_eq(tu_count_fds(), fds);
	free(p);
	free(chain);
	close(dfd);
}
END_TEST

/*
 * A symlink that ends a piece of a path longer than PATH_MAX (the openat2
 * route opens the path a piece at a time) is refused as anywhere else.
 */
START_TEST(beneath_symlink_at_a_piece_end)
{
	int dfd = new_dir("piece"), fd = dup(dfd);
	struct dbuf path = DBUF_INIT;
	char name[NAME_MAX + 1];

	/* 19 names of 200 bytes and one of 30: "s" is byte 3850, its '/' byte 3851 */
	for (int i = 0; i < 20; i++) {
		int next;

		memset(name, 'c', i < 19 ? 200 : 30);
		name[i < 19 ? 200 : 30] = '\0';
		next = mkdir_open(fd, name);
		close(fd);
		fd = next;
		dbuf_adds(&path, name);
		dbuf_addc(&path, '/');
	}
	ck_assert(symlinkat(".", fd, "s") == 0);
	close(fd);
	dbuf_adds(&path, "s/");
	ck_assert_uint_eq(path.len, 3852);
	/* then a name of NAME_MAX bytes: no '/' in the rest of the first PATH_MAX - 1 bytes */
	memset(name, 'y', NAME_MAX);
	name[NAME_MAX] = '\0';
	dbuf_adds(&path, name);
	dbuf_adds(&path, "/f");
	ck_assert_uint_ge(path.len, PATH_MAX);
	ck_assert_ptr_null(memchr(path.buf + 3852, '/', PATH_MAX - 1 - 3852));
	REFUSED(dfd, path.buf, O_RDONLY, 0, ELOOP);
	dbuf_setlen(&path, 3851);
	REFUSED(dfd, path.buf, O_RDONLY, 0, ELOOP);
	REFUSED(dfd, path.buf, O_RDONLY | O_DIRECTORY, 0, ELOOP);
	dbuf_release(&path);
	close(dfd);
}
END_TEST

/* ================================================================ verified */

START_TEST(verified_checks_type_then_identity)
{
	int dfd = make_tree(), fd;
	struct stat f = lstat_at(dfd, "f"), d = lstat_at(dfd, "d"), fifo = lstat_at(dfd, "fifo");
	struct va_safeopen_id want_f = { .dev = f.st_dev, .ino = f.st_ino, .type = S_IFREG };
	struct va_safeopen_id want_d = { .dev = d.st_dev, .ino = d.st_ino, .type = S_IFDIR };
	struct va_safeopen_id any_f = { .dev = f.st_dev, .ino = f.st_ino };
	struct va_safeopen_id want_fifo = { .dev = fifo.st_dev, .ino = fifo.st_ino, .type = S_IFIFO };
	size_t fds = tu_count_fds();
	struct statx stx;

	memset(&stx, 0x5a, sizeof(stx));
	fd = va_safeopen_verified(dfd, "f", O_RDONLY, VA_SAFEOPEN_NOATIME, &want_f, &stx);
	assert_is(fd, dfd, "f");
	ck_assert_uint_eq(stx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
	ck_assert_uint_eq(stx.stx_ino, f.st_ino);
	ck_assert_uint_eq(makedev(stx.stx_dev_major, stx.stx_dev_minor), f.st_dev);
	ck_assert_uint_eq(stx.stx_size, 5);
	close(fd);
	fd = va_safeopen_verified(dfd, "f", O_RDONLY, VA_SAFEOPEN_LOOK_FIRST, &any_f, NULL);
	assert_is(fd, dfd, "f");
	close(fd);
	fd = va_safeopen_verified(dfd, "d", O_RDONLY | O_DIRECTORY, 0, &want_d, NULL);
	assert_is(fd, dfd, "d");
	close(fd);
	/* another inode: -ESTALE, with or without looking first */
	ck_assert_int_eq(va_safeopen_verified(dfd, "d/f", O_RDONLY, VA_SAFEOPEN_BENEATH, &want_f, NULL),
			 -ESTALE);
	ck_assert_int_eq(va_safeopen_verified(dfd, "d", O_RDONLY, 0, &(struct va_safeopen_id){
				 .dev = d.st_dev, .ino = f.st_ino }, NULL), -ESTALE);
	ck_assert_int_eq(va_safeopen_verified(dfd, "d", O_RDONLY, VA_SAFEOPEN_LOOK_FIRST,
					      &(struct va_safeopen_id){ .dev = d.st_dev, .ino = f.st_ino },
					      NULL), -ESTALE);
	ck_assert_int_eq(va_safeopen_verified(dfd, "f", O_RDONLY, 0, &(struct va_safeopen_id){
				 .dev = f.st_dev + 1, .ino = f.st_ino }, NULL), -ESTALE);
	/* another type, checked first */
	ck_assert_int_eq(va_safeopen_verified(dfd, "lf", O_RDONLY, 0, &want_f, NULL), -ELOOP);
	ck_assert_int_eq(va_safeopen_verified(dfd, "lf", O_RDONLY, VA_SAFEOPEN_LOOK_FIRST, &want_f, NULL),
			 -ELOOP);
	ck_assert_int_eq(va_safeopen_verified(dfd, "d", O_RDONLY, 0, &want_f, NULL), -EISDIR);
	ck_assert_int_eq(va_safeopen_verified(dfd, "d", O_RDONLY, VA_SAFEOPEN_LOOK_FIRST, &want_f, NULL),
			 -EISDIR);
	ck_assert_int_eq(va_safeopen_verified(dfd, "f", O_RDONLY, 0, &want_d, NULL), -ENOTDIR);
	ck_assert_int_eq(va_safeopen_verified(dfd, "fifo", O_RDONLY | O_NONBLOCK, 0, &want_f, NULL), -EINVAL);
	ck_assert_int_eq(va_safeopen_verified(dfd, "fifo", O_RDONLY | O_NONBLOCK, 0, &want_d, NULL), -ENOTDIR);
	fd = va_safeopen_verified(dfd, "fifo", O_RDONLY | O_NONBLOCK, 0, &want_fifo, NULL);
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* looking first: a FIFO is refused unopened (an open without O_NONBLOCK would block) */
	alarm(10);
	openat_calls = 0;
	ck_assert_int_eq(va_safeopen_verified(dfd, "fifo", O_RDONLY, VA_SAFEOPEN_LOOK_FIRST, &want_f, NULL),
			 -EINVAL);
	ck_assert_uint_eq(openat_calls, 0);
	alarm(0);
	ck_assert_int_eq(va_safeopen_verified(dfd, "missing", O_RDONLY, VA_SAFEOPEN_LOOK_FIRST, &want_f, NULL),
			 -ENOENT);
	/* beneath: the path's rules, then the same checks */
	fd = va_safeopen_verified(dfd, "d/f", O_RDONLY, VA_SAFEOPEN_BENEATH, &(struct va_safeopen_id){
					  .dev = f.st_dev, .ino = lstat_at(dfd, "d/f").st_ino, .type = S_IFREG },
				  &stx);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(stx.stx_size, 4);
	close(fd);
	ck_assert_int_eq(va_safeopen_verified(dfd, "l/f", O_RDONLY, VA_SAFEOPEN_BENEATH, &want_f, NULL), -ELOOP);
	ck_assert_int_eq(va_safeopen_verified(dfd, "d/../f", O_RDONLY, VA_SAFEOPEN_BENEATH, &want_f, NULL),
			 -EXDEV);
	ck_assert_int_eq(va_safeopen_verified(dfd, "f", O_RDONLY, VA_SAFEOPEN_BENEATH | VA_SAFEOPEN_LOOK_FIRST,
					      &want_f, NULL), -EINVAL);
	ck_assert_uint_eq(tu_count_fds(), fds);
	close(dfd);
}
END_TEST

/* ================================================================ O_NOATIME */

START_TEST(noatime_where_allowed)
{
	int dfd = make_tree(), fd, etc, root;
	struct stat pw;

	/* the owner (or root) may */
	fd = va_safeopen_at(dfd, "f", O_RDONLY, VA_SAFEOPEN_NOATIME);
	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFL) & O_NOATIME);
	close(fd);
	fd = va_safeopen_beneath(dfd, "d/f", O_RDONLY, VA_SAFEOPEN_NOATIME);
	ck_assert_int_ge(fd, 0);
	ck_assert(fcntl(fd, F_GETFL) & O_NOATIME);
	close(fd);
	fd = va_safeopen_at(dfd, "f", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert(!(fcntl(fd, F_GETFL) & O_NOATIME));
	close(fd);
	close(dfd);

	/* somebody else's file: EPERM for O_NOATIME, so opened without it */
	if (geteuid() == 0) {
		ck_assert_int_eq(setgroups(0, NULL), 0);
		ck_assert_int_eq(setgid(65534), 0);
		ck_assert_int_eq(setuid(65534), 0);
	}
	etc = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(etc, 0);
	ck_assert_int_ge(root, 0);
	pw = lstat_at(etc, "passwd");
	ck_assert_msg(pw.st_uid != geteuid(), "/etc/passwd is ours: cannot test");
	ck_assert_int_eq(openat(etc, "passwd", O_RDONLY | O_NOATIME | O_CLOEXEC), -1);
	ck_assert_int_eq(errno, EPERM);
	fd = va_safeopen_at(etc, "passwd", O_RDONLY, VA_SAFEOPEN_NOATIME);
	ck_assert_msg(fd >= 0, "%s", strerror(-fd));
	ck_assert(!(fcntl(fd, F_GETFL) & O_NOATIME));
	close(fd);
	fd = va_safeopen_at(etc, "passwd", O_RDONLY, VA_SAFEOPEN_NOATIME | VA_SAFEOPEN_NO_XDEV);
	ck_assert_msg(fd >= 0, "%s", strerror(-fd));
	ck_assert(!(fcntl(fd, F_GETFL) & O_NOATIME));
	close(fd);
	fd = va_safeopen_beneath(root, "etc/passwd", O_RDONLY, VA_SAFEOPEN_NOATIME);
	ck_assert_msg(fd >= 0, "%s", strerror(-fd));
	ck_assert(!(fcntl(fd, F_GETFL) & O_NOATIME));
	close(fd);
	fd = va_safeopen_verified(etc, "passwd", O_RDONLY, VA_SAFEOPEN_NOATIME | VA_SAFEOPEN_LOOK_FIRST,
				  &(struct va_safeopen_id){ .dev = pw.st_dev, .ino = pw.st_ino, .type = S_IFREG },
				  NULL);
	ck_assert_msg(fd >= 0, "%s", strerror(-fd));
	close(fd);
	close(root);
	close(etc);
}
END_TEST

/* ================================================================ mounts */

START_TEST(no_xdev_refuses_mounts)
{
	char *top = tu_subdir("mnt"), *m, *b, *src;
	int dfd, fd, sub;
	struct stat mst;

	dfd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	sub = mkdir_open(dfd, "src");
	tu_write_file(sub, "x", "", 0);
	close(sub);
	ck_assert_int_eq(mkdirat(dfd, "m", 0755), 0);
	ck_assert_int_eq(mkdirat(dfd, "b", 0755), 0);
	m = tu_strdupf("%s/m", top);
	b = tu_strdupf("%s/b", top);
	src = tu_strdupf("%s/src", top);
	ck_assert_int_eq(mount("tmpfs", m, "tmpfs", 0, "size=1m"), 0);
	ck_assert_int_eq(mount(src, b, NULL, MS_BIND, NULL), 0); /* the same filesystem */
	sub = open(m, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(sub, 0);
	tu_write_file(sub, "x", "", 0);
	close(sub);
	mst = lstat_at(dfd, "m");

	/* without NO_XDEV mounts are crossed */
	fd = va_safeopen_at(dfd, "m", O_RDONLY | O_DIRECTORY, 0);
	assert_is(fd, dfd, "m");
	close(fd);
	fd = va_safeopen_beneath(dfd, "b/x", O_RDONLY, 0);
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* with it: -EXDEV, for another filesystem and for a bind mount */
	ck_assert_int_eq(va_safeopen_at(dfd, "m", O_RDONLY | O_DIRECTORY, VA_SAFEOPEN_NO_XDEV), -EXDEV);
	ck_assert_int_eq(va_safeopen_at(dfd, "b", O_RDONLY | O_DIRECTORY, VA_SAFEOPEN_NO_XDEV), -EXDEV);
	ck_assert_int_eq(va_safeopen_at(dfd, "m", O_PATH, VA_SAFEOPEN_NO_XDEV), -EXDEV);
	REFUSED(dfd, "m", O_RDONLY | O_DIRECTORY, VA_SAFEOPEN_NO_XDEV, EXDEV);
	REFUSED(dfd, "m/x", O_RDONLY, VA_SAFEOPEN_NO_XDEV, EXDEV);
	REFUSED(dfd, "b/x", O_RDONLY, VA_SAFEOPEN_NO_XDEV, EXDEV);
	REFUSED(dfd, "./b/", O_RDONLY, VA_SAFEOPEN_NO_XDEV, EXDEV);
	ck_assert_int_eq(va_safeopen_verified(dfd, "m", O_RDONLY | O_DIRECTORY, VA_SAFEOPEN_NO_XDEV,
					      &(struct va_safeopen_id){ .dev = mst.st_dev, .ino = mst.st_ino },
					      NULL), -EXDEV);
	/* what stays on the mount is opened */
	fd = va_safeopen_beneath(dfd, "src/x", O_RDONLY, VA_SAFEOPEN_NO_XDEV);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = va_safeopen_at(dfd, "src", O_RDONLY | O_DIRECTORY, VA_SAFEOPEN_NO_XDEV);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = va_safeopen_beneath(dfd, ".", O_RDONLY | O_DIRECTORY, VA_SAFEOPEN_NO_XDEV);
	ck_assert_int_ge(fd, 0);
	close(fd);
	/* from inside the mount, its own names are fine */
	sub = va_safeopen_at(dfd, "m", O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_ge(sub, 0);
	fd = va_safeopen_beneath(sub, "x", O_RDONLY, VA_SAFEOPEN_NO_XDEV);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = va_safeopen_at(sub, ".", O_RDONLY | O_DIRECTORY, VA_SAFEOPEN_NO_XDEV);
	ck_assert_int_ge(fd, 0);
	close(fd);
	close(sub);
	close(dfd);
	ck_assert_int_eq(umount2(b, MNT_DETACH), 0);
	ck_assert_int_eq(umount2(m, MNT_DETACH), 0);
	free(src);
	free(b);
	free(m);
	free(top);
}
END_TEST

/* ================================================================ main */

static bool have_openat2(void)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_BENEATH };
	long fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof(how));

	if (fd < 0)
		return false;
	close((int)fd);
	return true;
}

/* Whether a seccomp filter can be installed (in a child, which then exits). */
static bool have_seccomp(void)
{
	pid_t pid = fork();
	int status;

	if (pid == 0)
		_exit(deny_openat2() == 0 ? 0 : 1);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static Suite *safeopen_suite(void)
{
	Suite *s = suite_create("safeopen");
	static const struct {
		const char *name;
		void (*setup)(void);
	} routes[] = {
		{ "openat2", setup_openat2 },
		{ "fallback", setup_fallback },
		{ "enosys", setup_enosys },
	};
	const char *no_openat2 = have_openat2() ? NULL : "the kernel has no openat2()";
	const char *no_seccomp = (seccomp_ok = have_seccomp()) ? NULL : "no seccomp filter here";
	const char *no_mount = tu_why_not_mount();

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		TCase *tc = tcase_create(routes[i].name);
		const char *skip = i == 0 ? no_openat2 : i == 2 ? no_seccomp : NULL;

		tu_tcase_tmpdir(tc, false);
		tcase_add_checked_fixture(tc, routes[i].setup, NULL);
		tcase_set_timeout(tc, 60);
		tu_add_test(tc, one_name_never_follows, skip);
		tu_add_test(tc, beneath_refuses_symlinks, skip);
		tu_add_test(tc, beneath_refuses_dotdot, skip);
		tu_add_test(tc, beneath_any_length, skip);
		tu_add_test(tc, beneath_symlink_at_a_piece_end, skip);
		tu_add_test(tc, verified_checks_type_then_identity, skip);
		tu_add_test(tc, noatime_where_allowed, skip);
		tu_add_test(tc, no_xdev_refuses_mounts, skip ? skip : no_mount);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return tu_main(safeopen_suite());
}
