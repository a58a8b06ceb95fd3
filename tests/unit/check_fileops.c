/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_fileops.c - unit tests of core/fileops: the fd-based file
 * primitives of vunify/vhashify.
 *
 * Everything runs on the real filesystem below /tmp.  What a function did is
 * checked by independent means: stat(1), cmp(1), getfattr(1), getfacl(1)
 * and getcap(8) output, or direct system calls made by the test itself.
 *
 * Failures that cannot be caused from outside are made deterministic by
 * seams: this program defines fchown(), linkat(), unlinkat(), renameat2()
 * and getrandom() -- each the real system call, plus a hook a test may arm
 * (make fchown fail, make AT_EMPTY_PATH fail, freeze the old inode right
 * before its unlink or fail that unlink, pretend the filesystem cannot
 * exchange, fail the Nth renameat2(), have no getrandom).  u_swap_in()
 * (migrate/unify/unify-core.c) is tested here too: it is va_link_fd() and
 * va_replace_name() plus the removal of its temporary name.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/fs.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "core/fileops.h"
#include "migrate/unify/unify-int.h"
#include "tests/unit/testutil.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* ================================================================ seams */

static int fchown_fail;		  /* errno to fail fchown() with, once */
static int linkat_empty_fail;	  /* errno to fail linkat(AT_EMPTY_PATH) with, always */
static int linkat_calls, linkat_proc_calls;
static const char *unlinkat_freeze; /* make this name immutable right before unlinkat() */
static const char *unlinkat_fail_name; /* fail unlinkat() of this name with EIO, once */
static int renameat2_fail;	  /* errno to fail renameat2(RENAME_EXCHANGE) with, always */
static int renameat2_calls;
static int renameat2_fail_call;	  /* fail the renameat2() call of this number with EIO, once */
static bool getrandom_fail;

int fchown(int fd, uid_t owner, gid_t group)
{
	if (fchown_fail) {
		errno = fchown_fail;
		fchown_fail = 0;
		return -1;
	}
	return (int)syscall(SYS_fchown, fd, owner, group);
}

int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)
{
	linkat_calls++;
	if (strncmp(oldpath, "/proc/self/fd/", 14) == 0)
		linkat_proc_calls++;
	if (linkat_empty_fail && (flags & AT_EMPTY_PATH)) {
		errno = linkat_empty_fail;
		return -1;
	}
	return (int)syscall(SYS_linkat, olddirfd, oldpath, newdirfd, newpath, flags);
}

static void set_flags_fd(int fd, int add, int del)
{
	int f = 0;

	ck_assert_msg(ioctl(fd, FS_IOC_GETFLAGS, &f) == 0, "FS_IOC_GETFLAGS: %s", strerror(errno));
	f = (f | add) & ~del;
	ck_assert_msg(ioctl(fd, FS_IOC_SETFLAGS, &f) == 0, "FS_IOC_SETFLAGS: %s", strerror(errno));
}

int unlinkat(int dirfd, const char *pathname, int flags)
{
	if (unlinkat_fail_name && strcmp(pathname, unlinkat_fail_name) == 0) {
		unlinkat_fail_name = NULL;
		errno = EIO;
		return -1;
	}
	if (unlinkat_freeze && strcmp(pathname, unlinkat_freeze) == 0) {
		int fd = openat(dirfd, pathname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

		unlinkat_freeze = NULL;
		if (fd >= 0) {
			set_flags_fd(fd, FS_IMMUTABLE_FL, 0);
			close(fd);
		}
	}
	return (int)syscall(SYS_unlinkat, dirfd, pathname, flags);
}

int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags)
{
	renameat2_calls++;
	if (renameat2_fail_call && renameat2_calls == renameat2_fail_call) {
		renameat2_fail_call = 0;
		errno = EIO;
		return -1;
	}
	if (renameat2_fail && (flags & RENAME_EXCHANGE)) {
		errno = renameat2_fail;
		return -1;
	}
	return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
	if (getrandom_fail) {
		errno = ENOSYS;
		return -1;
	}
	return syscall(SYS_getrandom, buf, len, flags);
}

/* ================================================================ helpers */

/* A fresh directory below the TCase's temporary directory, opened. */
static int new_dir(const char *tag, char **path)
{
	char *p = tu_subdir(tag);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open %s: %s", p, strerror(errno));
	if (path)
		*path = p;
	else
		free(p);
	return fd;
}

static struct stat lstat_at(int dfd, const char *name)
{
	struct stat st;

	ck_assert_msg(fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, "stat %s: %s", name, strerror(errno));
	return st;
}

static bool exists_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int open_at(int dfd, const char *name, int flags)
{
	int fd = openat(dfd, name, flags | O_CLOEXEC | O_NOFOLLOW, 0600);

	ck_assert_msg(fd >= 0, "open %s: %s", name, strerror(errno));
	return fd;
}

static void set_flags_at(int dfd, const char *name, int add, int del)
{
	int fd = open_at(dfd, name, O_RDONLY);

	set_flags_fd(fd, add, del);
	close(fd);
}

static int get_flags_fd(int fd)
{
	int f = 0;

	ck_assert_msg(ioctl(fd, FS_IOC_GETFLAGS, &f) == 0, "FS_IOC_GETFLAGS: %s", strerror(errno));
	return f;
}

static void fill_random(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t s = seed | 1;

	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(tu_rand(&s) >> 56);
}

/* Run @argv, which must succeed; its standard output (malloc'd). */
static char *out_of(const char *const argv[])
{
	struct dbuf b = DBUF_INIT;
	int status = tu_run(argv, NULL, 0, &b);

	ck_assert_msg(tu_run_ok(status), "%s failed (status %d)", argv[0], status);
	return b.buf ? b.buf : strdup("");
}

/* Output of @argv with the first line ("# file: ...") removed. */
static char *out_without_first_line(const char *const argv[])
{
	char *s = out_of(argv), *nl = strchr(s, '\n');
	char *r = strdup(nl ? nl + 1 : "");

	free(s);
	return r;
}

static void sh(const char *cmd)
{
	const char *argv[] = { "sh", "-c", cmd, NULL };

	ck_assert_msg(tu_run_ok(tu_run(argv, NULL, 0, NULL)), "failed: %s", cmd);
}

/* Give the unnamed file @fd the name @name, without the function under test. */
static void name_fd(int fd, int dfd, const char *name)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ck_assert_msg(syscall(SYS_linkat, AT_FDCWD, proc, dfd, name, AT_SYMLINK_FOLLOW) == 0, "link %s: %s",
		      name, strerror(errno));
}

/* The capability cap_net_raw+ep, with setcap(8) or as a raw v2 attribute. */
static void set_cap(int dfd, const char *dir, const char *name)
{
	if (tu_have("setcap")) {
		char *path = tu_strdupf("%s/%s", dir, name);
		const char *argv[] = { "setcap", "cap_net_raw+ep", path, NULL };

		ck_assert(tu_run_ok(tu_run(argv, NULL, 0, NULL)));
		free(path);
	} else {
		struct vfs_cap_data cap = { 0 };
		int fd = open_at(dfd, name, O_RDONLY);

		cap.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
		cap.data[0].permitted = 1u << CAP_NET_RAW;
		ck_assert_msg(fsetxattr(fd, "security.capability", &cap, XATTR_CAPS_SZ_2, 0) == 0,
			      "security.capability: %s", strerror(errno));
		close(fd);
	}
}

static void setx(int dfd, const char *name, const char *attr, const void *value, size_t len)
{
	int fd = open_at(dfd, name, O_RDONLY);

	ck_assert_msg(fsetxattr(fd, attr, value, len, 0) == 0, "setxattr %s %s: %s", name, attr, strerror(errno));
	close(fd);
}

/* ================================================================ va_open_regular */

START_TEST(open_verified_regular)
{
	int dfd = new_dir("ov", NULL), fd, fd2;
	struct statx stx;
	struct stat st;
	char buf[16];

	tu_write_file(dfd, "f", "hello", 5);
	st = lstat_at(dfd, "f");
	memset(&stx, 0x5a, sizeof(stx));
	fd = va_open_regular(dfd, "f", st.st_dev, st.st_ino, &stx);
	ck_assert_msg(fd >= 0, "va_open_regular: %s", strerror(-fd));
	ck_assert_uint_eq(stx.stx_mask & STATX_BASIC_STATS, STATX_BASIC_STATS);
	ck_assert_uint_eq(stx.stx_ino, st.st_ino);
	ck_assert_uint_eq(makedev(stx.stx_dev_major, stx.stx_dev_minor), st.st_dev);
	ck_assert_uint_eq(stx.stx_size, 5);
	ck_assert(S_ISREG(stx.stx_mode));
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	ck_assert(fcntl(fd, F_GETFL) & O_NOATIME); /* we are root: the owner may */
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), 5);
	ck_assert(memcmp(buf, "hello", 5) == 0);
	/* @ret may be NULL */
	fd2 = va_open_regular(dfd, "f", st.st_dev, st.st_ino, NULL);
	ck_assert_int_ge(fd2, 0);
	close(fd2);
	close(fd);
	ck_assert_int_eq(va_open_regular(dfd, "missing", st.st_dev, st.st_ino, NULL), -ENOENT);
	close(dfd);
}
END_TEST

START_TEST(open_verified_symlink_eloop)
{
	int dfd = new_dir("ov", NULL);
	struct stat st, lst;
	size_t fds = tu_count_fds();

	tu_write_file(dfd, "f", "x", 1);
	ck_assert(symlinkat("f", dfd, "l") == 0);
	st = lstat_at(dfd, "f");
	lst = lstat_at(dfd, "l");
	/* the identity of the target or of the link itself: never followed */
	ck_assert_int_eq(va_open_regular(dfd, "l", st.st_dev, st.st_ino, NULL), -ELOOP);
	ck_assert_int_eq(va_open_regular(dfd, "l", lst.st_dev, lst.st_ino, NULL), -ELOOP);
	ck_assert_uint_eq(tu_count_fds(), fds);
	close(dfd);
}
END_TEST

START_TEST(open_verified_other_inode_estale)
{
	int dfd = new_dir("ov", NULL);
	struct stat st;
	size_t fds = tu_count_fds();

	tu_write_file(dfd, "f", "x", 1);
	st = lstat_at(dfd, "f");
	ck_assert_int_eq(va_open_regular(dfd, "f", st.st_dev, st.st_ino + 1, NULL), -ESTALE);
	ck_assert_int_eq(va_open_regular(dfd, "f", makedev(major(st.st_dev) + 1, minor(st.st_dev)), st.st_ino,
					  NULL),
			 -ESTALE);
	/* replaced by another file after the caller looked */
	tu_write_file(dfd, "g", "y", 1);
	ck_assert(renameat(dfd, "g", dfd, "f") == 0);
	ck_assert_int_eq(va_open_regular(dfd, "f", st.st_dev, st.st_ino, NULL), -ESTALE);
	ck_assert_uint_eq(tu_count_fds(), fds);
	close(dfd);
}
END_TEST

START_TEST(open_verified_fifo_dir_device_refused)
{
	char *dir;
	int dfd = new_dir("ov", &dir), ino;
	struct stat st;
	size_t fds;
	char ev[4096];
	bool dev;

	ck_assert(mkfifoat(dfd, "fifo", 0644) == 0);
	ck_assert(mkdirat(dfd, "dir", 0755) == 0);
	dev = mknodat(dfd, "null", S_IFCHR | 0666, makedev(1, 3)) == 0;
	/* inotify tells whether anything was opened at all */
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ck_assert_int_ge(ino, 0);
	ck_assert_int_ge(inotify_add_watch(ino, dir, IN_OPEN), 0);
	fds = tu_count_fds();
	alarm(10); /* a blocking open of the fifo would end the test here */
	st = lstat_at(dfd, "fifo");
	ck_assert_int_eq(va_open_regular(dfd, "fifo", st.st_dev, st.st_ino, NULL), -EINVAL);
	st = lstat_at(dfd, "dir");
	ck_assert_int_eq(va_open_regular(dfd, "dir", st.st_dev, st.st_ino, NULL), -EISDIR);
	if (dev) {
		st = lstat_at(dfd, "null");
		ck_assert_int_eq(va_open_regular(dfd, "null", st.st_dev, st.st_ino, NULL), -EINVAL);
	}
	alarm(0);
	ck_assert_uint_eq(tu_count_fds(), fds);
	ck_assert_msg(read(ino, ev, sizeof(ev)) < 0 && errno == EAGAIN, "something was opened");
	/* the watch works: a regular file's open is seen */
	tu_write_file(dfd, "f", "x", 1);
	ck_assert_int_gt(read(ino, ev, sizeof(ev)), 0);
	close(ino);
	close(dfd);
	free(dir);
}
END_TEST

START_TEST(open_verified_non_owner_without_noatime)
{
	char *dir;
	int dfd = new_dir("ov", &dir), status;
	struct stat st;
	pid_t pid;

	ck_assert(chmod(dir, 0755) == 0);
	tu_write_file(dfd, "f", "data", 4);
	ck_assert(fchmodat(dfd, "f", 0644, 0) == 0);
	st = lstat_at(dfd, "f");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		    setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		fd = va_open_regular(dfd, "f", st.st_dev, st.st_ino, NULL);
		if (fd < 0)
			_exit(11);
		if (fcntl(fd, F_GETFL) & O_NOATIME)
			_exit(12);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	close(dfd);
	free(dir);
}
END_TEST

/* ================================================================ va_same_stx */

START_TEST(same_stx_each_field)
{
	int dfd = new_dir("stx", NULL);
	struct statx a, b;

	tu_write_file(dfd, "f", "x", 1);
	ck_assert(statx(dfd, "f", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &a) == 0);
	b = a;
	ck_assert(va_same_stx(&a, &b));
	/* fields outside the contract do not matter */
	b.stx_atime.tv_sec++;
	b.stx_atime.tv_nsec ^= 1;
	b.stx_mode ^= 0111;
	b.stx_nlink++;
	b.stx_uid++;
	b.stx_blocks++;
	ck_assert(va_same_stx(&a, &b));

#define DIFFERS(field, change)                                             \
	do {                                                               \
		b = a;                                                     \
		b.field change;                                            \
		ck_assert_msg(!va_same_stx(&a, &b), #field " ignored");    \
		ck_assert_msg(!va_same_stx(&b, &a), #field " ignored (2)"); \
	} while (0)
	DIFFERS(stx_dev_major, ^= 1);
	DIFFERS(stx_dev_minor, ^= 1);
	DIFFERS(stx_ino, ^= 1);
	DIFFERS(stx_size, += 1);
	DIFFERS(stx_mtime.tv_sec, ^= 1);
	DIFFERS(stx_mtime.tv_nsec, ^= 1);
	DIFFERS(stx_ctime.tv_sec, ^= 1);
	DIFFERS(stx_ctime.tv_nsec, ^= 1);
#undef DIFFERS

	/* a real change: write to the file */
	{
		int fd = open_at(dfd, "f", O_WRONLY);
		struct timespec pause = { 0, 20 * 1000 * 1000 };

		nanosleep(&pause, NULL);
		ck_assert_int_eq(pwrite(fd, "y", 1, 0), 1);
		close(fd);
		ck_assert(statx(dfd, "f", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &b) == 0);
		ck_assert(!va_same_stx(&a, &b));
	}
	close(dfd);
}
END_TEST

/* ================================================================ va_content_equal */

/* Two files with @la and @lb bytes of @a and @b, compared over @size bytes. */
static int content_case(int dfd, const void *a, size_t la, const void *b, size_t lb, uint64_t size)
{
	int fa, fb, r;

	tu_write_file(dfd, "a", a, la);
	tu_write_file(dfd, "b", b, lb);
	fa = open_at(dfd, "a", O_RDONLY);
	fb = open_at(dfd, "b", O_RDONLY);
	r = va_content_equal(fa, fb, size);
	close(fa);
	close(fb);
	return r;
}

START_TEST(content_equal_small)
{
	int dfd = new_dir("ce", NULL);
	char a[1000], b[1000];

	fill_random(a, sizeof(a), 1);
	memcpy(b, a, sizeof(b));
	ck_assert_int_eq(content_case(dfd, a, sizeof(a), b, sizeof(b), sizeof(a)), 1);
	b[999] ^= 1;
	ck_assert_int_eq(content_case(dfd, a, sizeof(a), b, sizeof(b), sizeof(a)), 0);
	/* only the first @size bytes count */
	ck_assert_int_eq(content_case(dfd, a, sizeof(a), b, sizeof(b), 999), 1);
	b[999] ^= 1;
	b[0] ^= 0x80;
	ck_assert_int_eq(content_case(dfd, a, sizeof(a), b, sizeof(b), sizeof(a)), 0);
	b[0] ^= 0x80;
	/* one shorter, either side; both shorter than @size */
	ck_assert_int_eq(content_case(dfd, a, sizeof(a), b, sizeof(b) - 1, sizeof(a)), 0);
	ck_assert_int_eq(content_case(dfd, a, sizeof(a) - 1, b, sizeof(b), sizeof(a)), 0);
	ck_assert_int_eq(content_case(dfd, a, sizeof(a), b, sizeof(b), sizeof(a) + 1), 0);
	/* zero bytes */
	ck_assert_int_eq(content_case(dfd, "", 0, "", 0, 0), 1);
	ck_assert_int_eq(content_case(dfd, a, sizeof(a), b, 0, 0), 1);
	ck_assert_int_eq(content_case(dfd, a, sizeof(a), "", 0, 1), 0);
	close(dfd);
}
END_TEST

START_TEST(content_equal_large)
{
	int dfd = new_dir("ce", NULL);
	const size_t len = (3u << 20) + 17;
	const size_t spots[] = { 0, 262143, 262144, 262145, (2u << 20) + 5, (3u << 20) + 16 };
	char *a = malloc(len), *b = malloc(len);

	ck_assert(a && b);
	fill_random(a, len, 7);
	memcpy(b, a, len);
	ck_assert_int_eq(content_case(dfd, a, len, b, len, len), 1);
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		b[spots[i]] ^= 0x10;
		ck_assert_msg(content_case(dfd, a, len, b, len, len) == 0, "difference at %zu missed", spots[i]);
		b[spots[i]] ^= 0x10;
	}
	/* shorter by one byte, at a block boundary and not */
	ck_assert_int_eq(content_case(dfd, a, len, b, len - 1, len), 0);
	ck_assert_int_eq(content_case(dfd, a, 1u << 20, b, (1u << 20) - 1, 1u << 20), 0);
	ck_assert_int_eq(content_case(dfd, a, 1u << 20, b, 1u << 20, 1u << 20), 1);
	free(a);
	free(b);
	close(dfd);
}
END_TEST

START_TEST(content_equal_errors)
{
	int dfd = new_dir("ce", NULL), fa, fd;

	tu_write_file(dfd, "a", "abc", 3);
	fa = open_at(dfd, "a", O_RDONLY);
	fd = open_at(dfd, ".", O_RDONLY | O_DIRECTORY);
	ck_assert_int_eq(va_content_equal(fa, -1, 3), -EBADF);
	ck_assert_int_eq(va_content_equal(fa, fd, 3), -EISDIR);
	close(fa);
	close(fd);
	close(dfd);
}
END_TEST

/* ================================================================ va_xattrs_equal */

static int xattrs_case(int dfd, const char *a, const char *b)
{
	int fa = open_at(dfd, a, O_RDONLY), fb = open_at(dfd, b, O_RDONLY);
	int r = va_xattrs_equal(fa, fb), r2 = va_xattrs_equal(fb, fa);

	ck_assert_int_eq(r, r2);
	close(fa);
	close(fb);
	return r;
}

START_TEST(xattrs_equal_user)
{
	int dfd = new_dir("xe", NULL);
	char big[3000];

	tu_write_file(dfd, "a", "1", 1);
	tu_write_file(dfd, "b", "2", 1);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 1);
	ck_assert_int_eq(xattrs_case(dfd, "a", "a"), 1);
	setx(dfd, "a", "user.x", "value", 5);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0); /* extra name */
	setx(dfd, "b", "user.x", "valuE", 5);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0); /* same length, other value */
	setx(dfd, "b", "user.x", "value!", 6);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0);
	setx(dfd, "b", "user.x", "value", 5);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 1);
	/* an empty value is not the absence of the name */
	setx(dfd, "a", "user.empty", "", 0);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0);
	setx(dfd, "b", "user.empty", "", 0);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 1);
	/* same number of names, one different */
	setx(dfd, "a", "user.p", "1", 1);
	setx(dfd, "b", "user.q", "1", 1);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0);
	setx(dfd, "a", "user.q", "1", 1);
	setx(dfd, "b", "user.p", "1", 1);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 1);
	/* a large value differing in its last byte */
	fill_random(big, sizeof(big), 3);
	setx(dfd, "a", "user.big", big, sizeof(big));
	big[sizeof(big) - 1] ^= 1;
	setx(dfd, "b", "user.big", big, sizeof(big));
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0);
	big[sizeof(big) - 1] ^= 1;
	setx(dfd, "b", "user.big", big, sizeof(big));
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 1);
	/* trusted.* (we are root) */
	setx(dfd, "a", "trusted.t", "t", 1);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0);
	setx(dfd, "b", "trusted.t", "t", 1);
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 1);
	close(dfd);
}
END_TEST

START_TEST(xattrs_equal_order_independent)
{
	int dfd = new_dir("xe", NULL), fa, fb;
	char la[4096], lb[4096];
	ssize_t na, nb;

	tu_write_file(dfd, "a", "1", 1);
	tu_write_file(dfd, "b", "1", 1);
	for (int i = 0; i < 24; i++) {
		char name[32], value[32];

		snprintf(name, sizeof(name), "user.n%02d", i);
		snprintf(value, sizeof(value), "v%d", i * 7);
		setx(dfd, "a", name, value, strlen(value));
		snprintf(name, sizeof(name), "user.n%02d", 23 - i);
		snprintf(value, sizeof(value), "v%d", (23 - i) * 7);
		setx(dfd, "b", name, value, strlen(value));
	}
	fa = open_at(dfd, "a", O_RDONLY);
	fb = open_at(dfd, "b", O_RDONLY);
	na = flistxattr(fa, la, sizeof(la));
	nb = flistxattr(fb, lb, sizeof(lb));
	ck_assert_int_eq(na, nb);
	if (memcmp(la, lb, (size_t)na) == 0)
		fprintf(stderr, "# note: both files list their attributes in the same order\n");
	ck_assert_int_eq(va_xattrs_equal(fa, fb), 1);
	ck_assert_int_eq(fsetxattr(fb, "user.n05", "v36", 3, 0), 0);
	ck_assert_int_eq(va_xattrs_equal(fa, fb), 0);
	close(fa);
	close(fb);
	close(dfd);
}
END_TEST

START_TEST(xattrs_equal_acl)
{
	char *dir;
	int dfd = new_dir("xe", &dir);
	char *a = tu_strdupf("%s/a", dir), *b = tu_strdupf("%s/b", dir);
	const char *acl_a[] = { "setfacl", "-m", "u:1234:r-x", a, NULL };
	const char *acl_b[] = { "setfacl", "-m", "u:1234:r-x", b, NULL };
	const char *acl_b2[] = { "setfacl", "-m", "u:1234:rw-", b, NULL };
	const char *def_a[] = { "setfacl", "-d", "-m", "g:5678:rwx", a, NULL };
	const char *def_b[] = { "setfacl", "-d", "-m", "g:5678:rwx", b, NULL };

	tu_write_file(dfd, "a", "1", 1);
	tu_write_file(dfd, "b", "1", 1);
	ck_assert(tu_run_ok(tu_run(acl_a, NULL, 0, NULL)));
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0);
	ck_assert(tu_run_ok(tu_run(acl_b, NULL, 0, NULL)));
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 1);
	ck_assert(tu_run_ok(tu_run(acl_b2, NULL, 0, NULL)));
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0);

	/* default ACLs of directories */
	ck_assert(unlinkat(dfd, "a", 0) == 0 && unlinkat(dfd, "b", 0) == 0);
	ck_assert(mkdirat(dfd, "a", 0755) == 0 && mkdirat(dfd, "b", 0755) == 0);
	ck_assert(tu_run_ok(tu_run(def_a, NULL, 0, NULL)));
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0);
	ck_assert(tu_run_ok(tu_run(def_b, NULL, 0, NULL)));
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 1);
	free(a);
	free(b);
	free(dir);
	close(dfd);
}
END_TEST

START_TEST(xattrs_equal_capability)
{
	char *dir;
	int dfd = new_dir("xe", &dir);

	tu_write_file(dfd, "a", "1", 1);
	tu_write_file(dfd, "b", "1", 1);
	set_cap(dfd, dir, "a");
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 0);
	set_cap(dfd, dir, "b");
	ck_assert_int_eq(xattrs_case(dfd, "a", "b"), 1);
	free(dir);
	close(dfd);
}
END_TEST

START_TEST(xattrs_equal_errors)
{
	int dfd = new_dir("xe", NULL), fa;

	tu_write_file(dfd, "a", "1", 1);
	fa = open_at(dfd, "a", O_RDONLY);
	ck_assert_int_eq(va_xattrs_equal(fa, -1), -EBADF);
	ck_assert_int_eq(va_xattrs_equal(-1, fa), -EBADF);
	close(fa);
	close(dfd);
}
END_TEST

/* ================================================================ va_copy_tmpfile */

/* stat(1) of @path: owner, group, mode (octal, with set-id bits), size, times. */
static char *stat_line(const char *path)
{
	const char *argv[] = { "stat", "-c", "%u:%g %a %F %s %h x=%x y=%y", path, NULL };

	return out_of(argv);
}

/* Copy @dir/@name into @dir with va_copy_tmpfile(), name the copy @copy. */
static void copy_to(int dfd, const char *name, const char *copy)
{
	int src = open_at(dfd, name, O_RDONLY), fd;
	struct stat st;

	fd = va_copy_tmpfile(src, dfd);
	ck_assert_msg(fd >= 0, "va_copy_tmpfile: %s", strerror(-fd));
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ck_assert(fstat(fd, &st) == 0);
	ck_assert_uint_eq(st.st_nlink, 0); /* not linked anywhere */
	name_fd(fd, dfd, copy);
	close(fd);
	close(src);
}

static void assert_same_file(const char *dir, const char *a, const char *b, const char *expect_stat)
{
	char *pa = tu_strdupf("%s/%s", dir, a), *pb = tu_strdupf("%s/%s", dir, b);
	const char *cmp[] = { "cmp", pa, pb, NULL };
	char *sb = stat_line(pb); /* before cmp(1) reads it: relatime */

	ck_assert_msg(tu_run_ok(tu_run(cmp, NULL, 0, NULL)), "cmp %s %s: contents differ", a, b);
	ck_assert_str_eq(sb, expect_stat);
	free(sb);
	free(pa);
	free(pb);
}

START_TEST(copy_tmpfile_content)
{
	char *dir;
	int dfd = new_dir("cp", &dir);
	const size_t sizes[] = { 0, 1, 262144, (1u << 20) + 3 };
	size_t fds = tu_count_fds();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *data = malloc(sizes[i] + 1), *p = tu_strdupf("%s/src", dir), *want, *copy;

		fill_random(data, sizes[i], i + 11);
		tu_write_file(dfd, "src", data, sizes[i]);
		ck_assert(fchmodat(dfd, "src", 0640, 0) == 0);
		want = stat_line(p);
		copy = tu_strdupf("copy%zu", i);
		copy_to(dfd, "src", copy);
		assert_same_file(dir, "src", copy, want);
		free(copy);
		free(want);
		free(p);
		free(data);
	}
	ck_assert_uint_eq(tu_count_fds(), fds);
	free(dir);
	close(dfd);
}
END_TEST

START_TEST(copy_tmpfile_sparse)
{
	char *dir;
	int dfd = new_dir("cp", &dir), fd;
	char block[4096], *p = tu_strdupf("%s/src", dir), *want;
	struct stat ss, cs;
	off_t data;

	fill_random(block, sizeof(block), 5);
	fd = open_at(dfd, "src", O_WRONLY | O_CREAT | O_EXCL);
	ck_assert(ftruncate(fd, 64 << 20) == 0);
	ck_assert_int_eq(pwrite(fd, block, sizeof(block), 32 << 20), sizeof(block));
	ck_assert_int_eq(pwrite(fd, "tail", 4, (64 << 20) - 4), 4);
	ck_assert(fsync(fd) == 0);
	close(fd);
	/* and one that ends in a hole */
	fd = open_at(dfd, "src2", O_WRONLY | O_CREAT | O_EXCL);
	ck_assert_int_eq(pwrite(fd, block, sizeof(block), 0), sizeof(block));
	ck_assert(ftruncate(fd, 16 << 20) == 0);
	close(fd);

	want = stat_line(p);
	copy_to(dfd, "src", "copy");
	assert_same_file(dir, "src", "copy", want);
	ss = lstat_at(dfd, "src");
	cs = lstat_at(dfd, "copy");
	ck_assert_msg(cs.st_blocks <= ss.st_blocks + 16 && cs.st_blocks < 1024,
		      "copy has %lld blocks, source %lld", (long long)cs.st_blocks, (long long)ss.st_blocks);
	fd = open_at(dfd, "copy", O_RDONLY);
	data = lseek(fd, 0, SEEK_DATA);
	ck_assert_msg(data >= (32 << 20) - 4096, "data at %lld: the leading hole was filled", (long long)data);
	close(fd);
	free(want);
	free(p);

	p = tu_strdupf("%s/src2", dir);
	want = stat_line(p);
	copy_to(dfd, "src2", "copy2");
	assert_same_file(dir, "src2", "copy2", want);
	cs = lstat_at(dfd, "copy2");
	ck_assert_int_eq(cs.st_size, 16 << 20);
	ck_assert_msg(cs.st_blocks < 1024, "copy2 has %lld blocks", (long long)cs.st_blocks);
	free(want);
	free(p);
	free(dir);
	close(dfd);
}
END_TEST

START_TEST(copy_tmpfile_owner_mode_times)
{
	char *dir;
	int dfd = new_dir("cp", &dir);
	const mode_t modes[] = { 04755, 02750, 06711, 01777, 0400, 0 };
	const struct timespec times[2] = { { 1000000000, 123456789 }, { 1200000000, 987654321 } };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char *p = tu_strdupf("%s/src%zu", dir, i), *name = strrchr(p, '/') + 1;
		char *copy = tu_strdupf("copy%zu", i), *want;

		tu_write_file(dfd, name, "#!/bin/sh\n", 10);
		ck_assert(fchownat(dfd, name, 1234, 5678, 0) == 0);
		ck_assert(fchmodat(dfd, name, modes[i], 0) == 0); /* after the chown, which clears set-id */
		ck_assert(utimensat(dfd, name, times, 0) == 0);
		want = stat_line(p);
		ck_assert_msg(strncmp(want, "1234:5678 ", 10) == 0, "source: %s", want);
		copy_to(dfd, name, copy);
		assert_same_file(dir, name, copy, want);
		free(want);
		free(copy);
		free(p);
	}
	free(dir);
	close(dfd);
}
END_TEST

START_TEST(copy_tmpfile_xattrs_acl_caps)
{
	char *dir;
	int dfd = new_dir("cp", &dir);
	char *src = tu_strdupf("%s/src", dir), *copy = tu_strdupf("%s/copy", dir), *cmd, *want;
	const char *fattr_src[] = { "getfattr", "-d", "-m", "-", "-e", "hex", "--absolute-names", src, NULL };
	const char *fattr_copy[] = { "getfattr", "-d", "-m", "-", "-e", "hex", "--absolute-names", copy, NULL };
	const char *facl_src[] = { "getfacl", "-n", "--absolute-names", src, NULL };
	const char *facl_copy[] = { "getfacl", "-n", "--absolute-names", copy, NULL };
	char *a, *b;
	char big[2000];
	const struct timespec times[2] = { { 1100000000, 5 }, { 1100000001, 999999999 } };

	tu_write_file(dfd, "src", "binary", 6);
	ck_assert(fchownat(dfd, "src", 1234, 5678, 0) == 0);
	ck_assert(fchmodat(dfd, "src", 04755, 0) == 0);
	setx(dfd, "src", "user.one", "1", 1);
	setx(dfd, "src", "user.empty", "", 0);
	fill_random(big, sizeof(big), 9);
	setx(dfd, "src", "user.big", big, sizeof(big));
	setx(dfd, "src", "trusted.t", "tt", 2);
	cmd = tu_strdupf("setfacl -m u:4321:r-x,g:8765:--x '%s'", src);
	sh(cmd);
	free(cmd);
	set_cap(dfd, dir, "src");
	ck_assert(utimensat(dfd, "src", times, 0) == 0);
	want = stat_line(src);
	ck_assert_msg(strstr(want, " 4755 ") != NULL, "source: %s", want); /* mask r-x: mode unchanged */

	copy_to(dfd, "src", "copy");
	assert_same_file(dir, "src", "copy", want);
	a = out_without_first_line(fattr_src);
	b = out_without_first_line(fattr_copy);
	ck_assert_msg(strstr(a, "security.capability=") && strstr(a, "system.posix_acl_access=") &&
			      strstr(a, "user.big=") && strstr(a, "trusted.t="),
		      "source attributes: %s", a);
	ck_assert_str_eq(b, a);
	free(a);
	free(b);
	a = out_without_first_line(facl_src);
	b = out_without_first_line(facl_copy);
	ck_assert_str_eq(b, a);
	free(a);
	free(b);
	if (tu_have("getcap")) {
		const char *cap_copy[] = { "getcap", copy, NULL };

		a = out_of(cap_copy);
		ck_assert_msg(strstr(a, "cap_net_raw=ep") != NULL, "getcap: %s", a);
		free(a);
	}
	free(want);

	/* an ACL whose mask widens the group bits */
	cmd = tu_strdupf("setfacl -m u:4321:rwx '%s'", src);
	sh(cmd);
	free(cmd);
	ck_assert(utimensat(dfd, "src", times, 0) == 0);
	want = stat_line(src);
	ck_assert(unlinkat(dfd, "copy", 0) == 0);
	copy_to(dfd, "src", "copy");
	assert_same_file(dir, "src", "copy", want);
	a = out_without_first_line(fattr_src);
	b = out_without_first_line(fattr_copy);
	ck_assert_str_eq(b, a);
	free(a);
	free(b);
	free(want);
	free(src);
	free(copy);
	free(dir);
	close(dfd);
}
END_TEST

START_TEST(copy_tmpfile_no_inherited_acl)
{
	char *dir, *sdir;
	int dfd = new_dir("cp", &dir), sfd = new_dir("cpsrc", &sdir), src, fd;
	char *cmd = tu_strdupf("setfacl -d -m u:4321:rwx,g::rwx,o::rwx '%s'", dir);
	struct stat ss, cs;
	char v[256];

	sh(cmd);
	free(cmd);
	tu_write_file(sfd, "src", "x", 1);
	ck_assert(fchmodat(sfd, "src", 0600, 0) == 0);
	src = open_at(sfd, "src", O_RDONLY);
	fd = va_copy_tmpfile(src, dfd);
	ck_assert_msg(fd >= 0, "va_copy_tmpfile: %s", strerror(-fd));
	ck_assert(fstat(src, &ss) == 0 && fstat(fd, &cs) == 0);
	ck_assert_uint_eq(cs.st_mode, ss.st_mode);
	ck_assert_int_eq(fgetxattr(fd, "system.posix_acl_access", v, sizeof(v)), -1);
	ck_assert_int_eq(errno, ENODATA);
	ck_assert_int_eq(flistxattr(fd, v, sizeof(v)), 0);
	close(fd);
	close(src);
	free(sdir);
	free(dir);
	close(sfd);
	close(dfd);
}
END_TEST

START_TEST(copy_tmpfile_not_immutable)
{
	char *dir;
	int dfd = new_dir("cp", &dir);
	const int flags[] = { FS_IMMUTABLE_FL, FS_APPEND_FL, FS_IMMUTABLE_FL | FS_APPEND_FL };

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		char *copy = tu_strdupf("copy%zu", i);
		int fd;

		tu_write_file(dfd, "src", "protected", 9);
		set_flags_at(dfd, "src", flags[i], 0);
		copy_to(dfd, "src", copy);
		fd = open_at(dfd, copy, O_RDONLY);
		ck_assert_int_eq(get_flags_fd(fd) & (FS_IMMUTABLE_FL | FS_APPEND_FL), 0);
		close(fd);
		/* and it can be changed and removed */
		fd = open_at(dfd, copy, O_WRONLY | O_TRUNC);
		close(fd);
		ck_assert(unlinkat(dfd, copy, 0) == 0);
		set_flags_at(dfd, "src", 0, FS_IMMUTABLE_FL | FS_APPEND_FL);
		ck_assert(unlinkat(dfd, "src", 0) == 0);
		free(copy);
	}
	free(dir);
	close(dfd);
}
END_TEST

START_TEST(copy_tmpfile_errors_close_fd)
{
	int dfd = new_dir("cp", NULL), src, proc;
	size_t fds;

	tu_write_file(dfd, "src", "x", 1);
	src = open_at(dfd, "src", O_RDONLY);
	fds = tu_count_fds();
	fchown_fail = EIO;
	ck_assert_int_eq(va_copy_tmpfile(src, dfd), -EIO);
	ck_assert_int_eq(fchown_fail, 0); /* it got that far */
	ck_assert_uint_eq(tu_count_fds(), fds);
	/* a directory as the source */
	ck_assert_int_eq(va_copy_tmpfile(dfd, dfd), -EISDIR);
	/* a filesystem without O_TMPFILE */
	proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(proc, 0);
	ck_assert_int_eq(va_copy_tmpfile(src, proc), -EOPNOTSUPP);
	close(proc);
	ck_assert_uint_eq(tu_count_fds(), fds);
	close(src);
	close(dfd);
}
END_TEST

/* ================================================================ va_link_fd */

START_TEST(link_fd_tmpfile_and_eexist)
{
	int dfd = new_dir("lk", NULL), fd, fd2;
	struct stat st, ns;

	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "O_TMPFILE: %s", strerror(errno));
	ck_assert_int_eq(write(fd, "tmp", 3), 3);
	ck_assert_int_eq(va_link_fd(fd, dfd, "named"), 0);
	ck_assert(fstat(fd, &st) == 0);
	ns = lstat_at(dfd, "named");
	ck_assert_uint_eq(ns.st_ino, st.st_ino);
	ck_assert_uint_eq(ns.st_nlink, 1);
	ck_assert_int_eq(ns.st_size, 3);

	/* never replaces a name: a file, a dangling symlink */
	tu_write_file(dfd, "taken", "old", 3);
	ns = lstat_at(dfd, "taken");
	ck_assert_int_eq(va_link_fd(fd, dfd, "taken"), -EEXIST);
	ck_assert_uint_eq(lstat_at(dfd, "taken").st_ino, ns.st_ino);
	ck_assert(symlinkat("nowhere", dfd, "dangling") == 0);
	ck_assert_int_eq(va_link_fd(fd, dfd, "dangling"), -EEXIST);
	ck_assert(S_ISLNK(lstat_at(dfd, "dangling").st_mode));
	ck_assert(!exists_at(dfd, "nowhere"));

	/* an ordinary open file gets another name */
	fd2 = open_at(dfd, "taken", O_RDONLY);
	ck_assert_int_eq(va_link_fd(fd2, dfd, "second"), 0);
	ck_assert_uint_eq(lstat_at(dfd, "second").st_ino, ns.st_ino);
	ck_assert_uint_eq(lstat_at(dfd, "taken").st_nlink, 2);
	close(fd2);
	close(fd);
	close(dfd);
}
END_TEST

START_TEST(link_fd_proc_fallback)
{
	int dfd = new_dir("lk", NULL), fd;
	struct stat st;

	fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	for (int e = 0; e < 2; e++) {
		char name[16];

		snprintf(name, sizeof(name), "n%d", e);
		linkat_empty_fail = e ? EPERM : ENOENT;
		linkat_calls = linkat_proc_calls = 0;
		ck_assert_int_eq(va_link_fd(fd, dfd, name), 0);
		ck_assert_int_eq(linkat_calls, 2);
		ck_assert_int_eq(linkat_proc_calls, 1);
		ck_assert(fstat(fd, &st) == 0);
		ck_assert_uint_eq(lstat_at(dfd, name).st_ino, st.st_ino);
	}
	/* the fallback never replaces a name either */
	ck_assert_int_eq(va_link_fd(fd, dfd, "n0"), -EEXIST);
	/* other errors are returned as they are */
	linkat_empty_fail = EXDEV;
	linkat_calls = 0;
	ck_assert_int_eq(va_link_fd(fd, dfd, "n2"), -EXDEV);
	ck_assert_int_eq(linkat_calls, 1);
	linkat_empty_fail = 0;
	close(fd);
	close(dfd);
}
END_TEST

START_TEST(link_fd_without_dac_read_search)
{
	int dfd = new_dir("lk", NULL), status;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct data[2];
		int fd;

		if (syscall(SYS_capget, &hdr, data) < 0)
			_exit(10);
		data[CAP_DAC_READ_SEARCH / 32].effective &= ~(1u << (CAP_DAC_READ_SEARCH % 32));
		data[CAP_DAC_READ_SEARCH / 32].permitted &= ~(1u << (CAP_DAC_READ_SEARCH % 32));
		if (syscall(SYS_capset, &hdr, data) < 0)
			_exit(11);
		fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0)
			_exit(12);
		_exit(va_link_fd(fd, dfd, "linked") == 0 ? 0 : 13);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	ck_assert(S_ISREG(lstat_at(dfd, "linked").st_mode));
	close(dfd);
}
END_TEST

/* ================================================================ va_tmpname */

/* "PREFIX;XXXXXX" with the 6 characters from [A-Za-z0-9] (regex, not our code). */
static void assert_tmpname(const char *name, const char *out, size_t prefix_len)
{
	regex_t re;
	size_t len = strlen(out);

	ck_assert_uint_eq(len, prefix_len + 7);
	ck_assert_uint_le(len, NAME_MAX);
	ck_assert(memcmp(out, name, prefix_len) == 0);
	ck_assert(regcomp(&re, ";[A-Za-z0-9]{6}$", REG_EXTENDED | REG_NOSUB) == 0);
	ck_assert_msg(regexec(&re, out + prefix_len, 0, NULL, 0) == 0, "bad suffix: %s", out + prefix_len);
	regfree(&re);
}

START_TEST(tmpname_pattern)
{
	char out[VA_TMPNAME_MAX];

	memset(out, 'Z', sizeof(out));
	va_tmpname("foo", out);
	assert_tmpname("foo", out, 3);
	va_tmpname("a", out);
	assert_tmpname("a", out, 1);
	va_tmpname("with;semi.colon", out);
	assert_tmpname("with;semi.colon", out, 15);
}
END_TEST

START_TEST(tmpname_long_names)
{
	int dfd = new_dir("tn", NULL);
	char name[NAME_MAX + 1], out[VA_TMPNAME_MAX];
	const size_t lens[] = { 1, 200, 247, 248, 249, 254, 255 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t want = lens[i] > NAME_MAX - 7 ? NAME_MAX - 7 : lens[i];
		int fd;

		memset(name, 'n', lens[i]);
		name[lens[i]] = '\0';
		memset(out, 'Z', sizeof(out));
		va_tmpname(name, out);
		assert_tmpname(name, out, want);
		/* the kernel takes it */
		fd = openat(dfd, out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ck_assert_msg(fd >= 0, "create a %zu-byte name: %s", strlen(out), strerror(errno));
		close(fd);
	}
	/* multibyte characters: cut at a byte, still a valid name */
	for (size_t i = 0; i + 2 <= NAME_MAX; i += 2)
		memcpy(name + i, "\xc3\xa4", 2);
	name[NAME_MAX - 1] = 'x';
	name[NAME_MAX] = '\0';
	va_tmpname(name, out);
	assert_tmpname(name, out, NAME_MAX - 7);
	close(dfd);
}
END_TEST

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void tmpname_unique(void)
{
	enum { N = 1000 };
	char(*names)[VA_TMPNAME_MAX] = calloc(N, sizeof(*names));
	bool seen[256] = { false };
	size_t kinds = 0;

	ck_assert_ptr_nonnull(names);
	for (int i = 0; i < N; i++) {
		va_tmpname("file", names[i]);
		assert_tmpname("file", names[i], 4);
		for (int k = 5; k < 11; k++)
			seen[(unsigned char)names[i][k]] = true;
	}
	qsort(names, N, sizeof(*names), cmp_str);
	for (int i = 1; i < N; i++)
		ck_assert_msg(strcmp(names[i - 1], names[i]) != 0, "%s twice", names[i]);
	/* 6000 characters: each of the 62 is there */
	for (int c = 0; c < 256; c++)
		kinds += seen[c];
	ck_assert_uint_eq(kinds, 62);
	free(names);
}

START_TEST(tmpname_unique_getrandom)
{
	tmpname_unique();
}
END_TEST

START_TEST(tmpname_unique_without_getrandom)
{
	getrandom_fail = true;
	tmpname_unique();
	getrandom_fail = false;
}
END_TEST

/* ================================================================ va_replace_name */

struct pair {
	struct stat old, new;
};

/* "f" holds "old", "f;tmp001" holds "new". */
static struct pair make_pair(int dfd)
{
	struct pair p;

	tu_write_file(dfd, "f", "old", 3);
	tu_write_file(dfd, "f;tmp001", "new", 3);
	p.old = lstat_at(dfd, "f");
	p.new = lstat_at(dfd, "f;tmp001");
	return p;
}

static void assert_content(int dfd, const char *name, const char *want)
{
	int fd = open_at(dfd, name, O_RDONLY);
	char buf[16] = "";

	ck_assert_int_ge(read(fd, buf, sizeof(buf) - 1), 0);
	ck_assert_str_eq(buf, want);
	close(fd);
}

/* Both names as make_pair() left them. */
static void assert_unchanged(int dfd, const struct pair *p)
{
	ck_assert_uint_eq(lstat_at(dfd, "f").st_ino, p->old.st_ino);
	ck_assert_uint_eq(lstat_at(dfd, "f;tmp001").st_ino, p->new.st_ino);
	assert_content(dfd, "f", "old");
	assert_content(dfd, "f;tmp001", "new");
}

static void replace_basic(void)
{
	int dfd = new_dir("rp", NULL), old_fd;
	struct pair p = make_pair(dfd);
	struct stat st;

	old_fd = open_at(dfd, "f", O_RDONLY);
	ck_assert_int_eq(va_replace_name(dfd, "f;tmp001", "f", p.old.st_dev, p.old.st_ino), 0);
	ck_assert_uint_eq(lstat_at(dfd, "f").st_ino, p.new.st_ino);
	assert_content(dfd, "f", "new");
	ck_assert(!exists_at(dfd, "f;tmp001"));
	ck_assert(fstat(old_fd, &st) == 0);
	ck_assert_uint_eq(st.st_nlink, 0); /* the old inode is gone */
	close(old_fd);
	close(dfd);
}

/* Only the names in @dfd, "." and ".." aside, as "a b c". */
static char *dir_names(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fdopendir(fd);
	char *v[16], *out;
	size_t n = 0, len = 1;
	struct dirent *e;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) && n < 16)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			v[n++] = strdup(e->d_name);
	closedir(d);
	for (size_t i = 0; i < n; i++)
		for (size_t k = i + 1; k < n; k++)
			if (strcmp(v[k], v[i]) < 0) {
				char *t = v[i];

				v[i] = v[k];
				v[k] = t;
			}
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	out = calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		strcat(out, i ? " " : "");
		strcat(out, v[i]);
		free(v[i]);
	}
	return out;
}

/*
 * va_write_replace(): the new content and mode under the name, a symlink
 * there replaced (its target untouched), nothing else left in the
 * directory; a directory in the way refused with the old state kept.
 */
START_TEST(write_replace_atomic)
{
	int dfd = new_dir("wr", NULL);
	const char *what = "unset";
	struct stat st;
	char buf[64] = "", *names;
	int fd;
	ssize_t n;

	ck_assert_int_eq(va_write_replace(dfd, "m.prom", "one\n", 4, 0644, &what), 0);
	ck_assert_ptr_null(what);
	tu_write_file(dfd, "target", "keep", 4);
	ck_assert_int_eq(unlinkat(dfd, "m.prom", 0), 0);
	ck_assert_int_eq(symlinkat("target", dfd, "m.prom"), 0);
	ck_assert_int_eq(va_write_replace(dfd, "m.prom", "two\n", 4, 0640, &what), 0);
	ck_assert_int_eq(fstatat(dfd, "m.prom", &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0640);
	fd = openat(dfd, "m.prom", O_RDONLY | O_CLOEXEC);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(buf, "two\n");
	fd = openat(dfd, "target", O_RDONLY | O_CLOEXEC);
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), 4);
	close(fd);
	ck_assert_str_eq(buf, "keep");
	ck_assert_int_eq(mkdirat(dfd, "d.prom", 0755), 0);
	ck_assert_int_lt(va_write_replace(dfd, "d.prom", "x", 1, 0644, &what), 0);
	ck_assert_str_eq(what, "rename");
	names = dir_names(dfd);
	ck_assert_str_eq(names, "d.prom m.prom target");
	free(names);
	close(dfd);
}
END_TEST

START_TEST(replace_name_exchange)
{
	renameat2_calls = 0;
	replace_basic();
	ck_assert_int_eq(renameat2_calls, 1);
}
END_TEST

START_TEST(replace_name_rename_fallback)
{
	const int errs[] = { EINVAL, ENOSYS, EOPNOTSUPP };

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		renameat2_fail = errs[i];
		replace_basic();
	}
	renameat2_fail = 0;
}
END_TEST

static void replace_estale(bool fallback)
{
	int dfd = new_dir("rp", NULL);
	struct pair p = make_pair(dfd);

	renameat2_fail = fallback ? EINVAL : 0;
	renameat2_calls = 0;
	ck_assert_int_eq(va_replace_name(dfd, "f;tmp001", "f", p.old.st_dev, p.old.st_ino + 1000), -ESTALE);
	if (!fallback)
		ck_assert_int_eq(renameat2_calls, 2); /* exchanged and exchanged back */
	assert_unchanged(dfd, &p);
	ck_assert_int_eq(va_replace_name(dfd, "f;tmp001", "f", makedev(major(p.old.st_dev) ^ 1, 0), p.old.st_ino),
			 -ESTALE);
	assert_unchanged(dfd, &p);
	/* @name gone: -ESTALE, and it does not appear */
	ck_assert(unlinkat(dfd, "f", 0) == 0);
	ck_assert_int_eq(va_replace_name(dfd, "f;tmp001", "f", p.old.st_dev, p.old.st_ino), -ESTALE);
	ck_assert(!exists_at(dfd, "f"));
	ck_assert_uint_eq(lstat_at(dfd, "f;tmp001").st_ino, p.new.st_ino);
	renameat2_fail = 0;
	close(dfd);
}

START_TEST(replace_name_estale_exchanged_back)
{
	replace_estale(false);
}
END_TEST

START_TEST(replace_name_estale_fallback)
{
	replace_estale(true);
}
END_TEST

START_TEST(replace_name_immutable_old)
{
	int dfd = new_dir("rp", NULL);
	struct pair p = make_pair(dfd);
	int r;

	for (int fallback = 0; fallback < 2; fallback++) {
		renameat2_fail = fallback ? EINVAL : 0;
		set_flags_at(dfd, "f", FS_IMMUTABLE_FL, 0);
		r = va_replace_name(dfd, "f;tmp001", "f", p.old.st_dev, p.old.st_ino);
		set_flags_at(dfd, "f", 0, FS_IMMUTABLE_FL);
		ck_assert_msg(r == -EPERM, "fallback %d: %s", fallback, strerror(-r));
		assert_unchanged(dfd, &p);
		/* append-only likewise */
		set_flags_at(dfd, "f", FS_APPEND_FL, 0);
		r = va_replace_name(dfd, "f;tmp001", "f", p.old.st_dev, p.old.st_ino);
		set_flags_at(dfd, "f", 0, FS_APPEND_FL);
		ck_assert_msg(r == -EPERM, "fallback %d: %s", fallback, strerror(-r));
		assert_unchanged(dfd, &p);
	}
	renameat2_fail = 0;
	close(dfd);
}
END_TEST

START_TEST(replace_name_unlink_fails_exchanged_back)
{
	int dfd = new_dir("rp", NULL);
	struct pair p = make_pair(dfd);
	int r;

	/* the unlink of the old inode fails: the exchange is undone */
	unlinkat_fail_name = "f;tmp001";
	renameat2_calls = 0;
	r = va_replace_name(dfd, "f;tmp001", "f", p.old.st_dev, p.old.st_ino);
	ck_assert_ptr_null(unlinkat_fail_name); /* the hook ran */
	ck_assert_msg(r == -EIO, "got %s", strerror(-r));
	ck_assert_int_eq(renameat2_calls, 2);
	assert_unchanged(dfd, &p);
	close(dfd);
}
END_TEST

START_TEST(replace_name_old_frozen_after_exchange)
{
	int dfd = new_dir("rp", NULL);
	struct pair p = make_pair(dfd);
	int r;

	/*
	 * The old inode becomes immutable between the exchange and the
	 * unlink: the kernel refuses to move it again, so @name is the new
	 * file and the old inode stays at @tmp; never is @name missing.
	 */
	unlinkat_freeze = "f;tmp001";
	renameat2_calls = 0;
	r = va_replace_name(dfd, "f;tmp001", "f", p.old.st_dev, p.old.st_ino);
	ck_assert_ptr_null(unlinkat_freeze); /* the hook ran */
	ck_assert_msg(r == -EPERM, "got %s", strerror(-r));
	ck_assert_int_eq(renameat2_calls, 2); /* the exchange back was tried */
	ck_assert_uint_eq(lstat_at(dfd, "f").st_ino, p.new.st_ino);
	ck_assert_uint_eq(lstat_at(dfd, "f;tmp001").st_ino, p.old.st_ino);
	set_flags_at(dfd, "f;tmp001", 0, FS_IMMUTABLE_FL);
	assert_content(dfd, "f", "new");
	assert_content(dfd, "f;tmp001", "old");
	close(dfd);
}
END_TEST

START_TEST(replace_name_missing_tmp)
{
	int dfd = new_dir("rp", NULL);
	struct pair p = make_pair(dfd);

	ck_assert(unlinkat(dfd, "f;tmp001", 0) == 0);
	for (int fallback = 0; fallback < 2; fallback++) {
		renameat2_fail = fallback ? EINVAL : 0;
		ck_assert_int_eq(va_replace_name(dfd, "f;tmp001", "f", p.old.st_dev, p.old.st_ino), -ENOENT);
		ck_assert_uint_eq(lstat_at(dfd, "f").st_ino, p.old.st_ino);
		assert_content(dfd, "f", "old");
	}
	renameat2_fail = 0;
	close(dfd);
}
END_TEST

/* A watcher process stats @name without pause; it must never be missing. */
static void replace_never_missing(bool fallback)
{
	int dfd = new_dir("rp", NULL);
	volatile unsigned long *shared;
	pid_t pid;
	int status;

	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(shared != MAP_FAILED);
	shared[0] = shared[1] = shared[2] = 0; /* stop, looks, misses */
	tu_write_file(dfd, "f", "0", 1);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct stat st;

		while (!shared[0]) {
			if (fstatat(dfd, "f", &st, AT_SYMLINK_NOFOLLOW) < 0)
				shared[2]++;
			shared[1]++;
		}
		_exit(0);
	}
	renameat2_fail = fallback ? EINVAL : 0;
	for (int i = 0; i < 500; i++) {
		char tmp[VA_TMPNAME_MAX];
		struct stat old = lstat_at(dfd, "f");
		int r;

		va_tmpname("f", tmp);
		tu_write_file(dfd, tmp, "1", 1);
		r = va_replace_name(dfd, tmp, "f", old.st_dev, old.st_ino);
		ck_assert_msg(r == 0, "round %d: %s", i, strerror(-r));
	}
	renameat2_fail = 0;
	shared[0] = 1;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(shared[1] > 0, "the watcher never looked");
	ck_assert_msg(shared[2] == 0, "name missing %lu times in %lu looks", shared[2], shared[1]);
	munmap((void *)shared, 4096);
	close(dfd);
}

START_TEST(replace_name_never_missing)
{
	replace_never_missing(false);
}
END_TEST

START_TEST(replace_name_never_missing_fallback)
{
	replace_never_missing(true);
}
END_TEST

/* ================================================================ va_unlink_inode, u_swap_in */

START_TEST(unlink_inode_only_that_inode)
{
	int dfd = new_dir("ul", NULL);
	struct stat a, b;

	tu_write_file(dfd, "a", "a", 1);
	tu_write_file(dfd, "b", "b", 1);
	a = lstat_at(dfd, "a");
	b = lstat_at(dfd, "b");
	ck_assert_int_eq(va_unlink_inode(dfd, "a", b.st_dev, b.st_ino), -ESTALE);
	ck_assert_uint_eq(lstat_at(dfd, "a").st_ino, a.st_ino);
	ck_assert(symlinkat("b", dfd, "s") == 0);   /* a symlink to the inode is not the inode */
	ck_assert_int_eq(va_unlink_inode(dfd, "s", b.st_dev, b.st_ino), -ESTALE);
	ck_assert(exists_at(dfd, "s") && exists_at(dfd, "b"));
	ck_assert_int_eq(va_unlink_inode(dfd, "a", a.st_dev, a.st_ino), 0);
	ck_assert(!exists_at(dfd, "a"));
	ck_assert_int_eq(va_unlink_inode(dfd, "a", a.st_dev, a.st_ino), -ENOENT);
	close(dfd);
}
END_TEST

struct plant {
	int dfd;
	const char *tmp;
};

/* The check of u_swap_in(): a guest renames its own file onto the temporary name. */
static int plant_on_tmp(void *arg)
{
	struct plant *p = arg;

	tu_write_file(p->dfd, "guest", "guest", 5);
	ck_assert(renameat(p->dfd, "guest", p->dfd, p->tmp) == 0);
	return -ESTALE;
}

START_TEST(swap_in_leaves_foreign_tmp_after_check)
{
	int dfd = new_dir("sw", NULL), newfd, gfd;
	struct plant pl = { .dfd = dfd, .tmp = "f;tmp001" };
	struct stat old, g;

	tu_write_file(dfd, "f", "old", 3);
	old = lstat_at(dfd, "f");
	tu_write_file(dfd, "n", "new", 3);
	newfd = open_at(dfd, "n", O_RDONLY);
	ck_assert_int_eq(u_swap_in(dfd, "f;tmp001", "f", newfd, NULL, old.st_dev, old.st_ino, plant_on_tmp, &pl),
			 -ESTALE);
	/* the guest's file is still there, under the name it was renamed to */
	ck_assert(exists_at(dfd, "f;tmp001"));
	assert_content(dfd, "f;tmp001", "guest");
	gfd = open_at(dfd, "f;tmp001", O_RDONLY);
	ck_assert(fstat(gfd, &g) == 0 && g.st_nlink == 1);
	close(gfd);
	ck_assert_uint_eq(lstat_at(dfd, "f").st_ino, old.st_ino);
	assert_content(dfd, "f", "old");
	close(newfd);
	close(dfd);
}
END_TEST

START_TEST(swap_in_removes_own_tmp)
{
	int dfd = new_dir("sw", NULL), newfd;
	struct stat old;
	struct statx nst;

	tu_write_file(dfd, "f", "old", 3);
	old = lstat_at(dfd, "f");
	tu_write_file(dfd, "n", "new", 3);
	newfd = open_at(dfd, "n", O_RDONLY);
	ck_assert_int_eq(statx(newfd, "", AT_EMPTY_PATH, STATX_INO, &nst), 0);
	/* "f" is not the expected inode: -ESTALE, exchanged back, our link
	 * (told by the statx given) removed */
	ck_assert_int_eq(u_swap_in(dfd, "f;tmp001", "f", newfd, &nst, old.st_dev, old.st_ino + 1000, NULL, NULL),
			 -ESTALE);
	ck_assert(!exists_at(dfd, "f;tmp001"));
	ck_assert_uint_eq(lstat_at(dfd, "f").st_ino, old.st_ino);
	ck_assert_uint_eq(lstat_at(dfd, "n").st_nlink, 1);
	/* and the expected inode: swapped in */
	ck_assert_int_eq(u_swap_in(dfd, "f;tmp001", "f", newfd, NULL, old.st_dev, old.st_ino, NULL, NULL), 0);
	assert_content(dfd, "f", "new");
	ck_assert(!exists_at(dfd, "f;tmp001"));
	close(newfd);
	close(dfd);
}
END_TEST

START_TEST(swap_in_leaves_foreign_tmp_after_failed_exchange_back)
{
	int dfd = new_dir("sw", NULL), newfd, gfd;
	struct stat guest, g;

	/* "f" is a guest's file, not the inode expected: the exchange puts it
	 * at the temporary name and the exchange back fails */
	tu_write_file(dfd, "f", "guest", 5);
	guest = lstat_at(dfd, "f");
	gfd = open_at(dfd, "f", O_RDONLY);
	tu_write_file(dfd, "n", "new", 3);
	newfd = open_at(dfd, "n", O_RDONLY);
	renameat2_calls = 0;
	renameat2_fail_call = 2;
	ck_assert_int_eq(u_swap_in(dfd, "f;tmp001", "f", newfd, NULL, guest.st_dev, guest.st_ino + 1000, NULL, NULL),
			 -EIO);
	ck_assert_int_eq(renameat2_fail_call, 0); /* the hook ran */
	ck_assert(fstat(gfd, &g) == 0);
	ck_assert_msg(g.st_nlink == 1, "the guest's file lost its last name");
	ck_assert_uint_eq(lstat_at(dfd, "f;tmp001").st_ino, guest.st_ino);
	assert_content(dfd, "f;tmp001", "guest");
	close(gfd);
	close(newfd);
	close(dfd);
}
END_TEST

/* ================================================================ va_safeopen_beneath */

START_TEST(openat2_any_length)
{
	int dfd = new_dir("deep", NULL), fd;
	char *chain = tu_deep_chain(dfd, 3000);           /* 9,000 bytes: more than two PATH_MAX */
	size_t len = strlen(chain);
	char *file = malloc(len + 3), *evil = malloc(len + 8);
	struct stat st;

	ck_assert_uint_gt(len, 2 * PATH_MAX);
	sprintf(file, "%s/f", chain);
	fd = va_safeopen_beneath(dfd, file, O_RDONLY, 0);
	ck_assert_msg(fd >= 0, "open at depth: %s", strerror(-fd));
	{
		char buf[8] = "";

		ck_assert_int_eq(read(fd, buf, sizeof(buf) - 1), 4);
		ck_assert_str_eq(buf, "deep");
	}
	close(fd);
	fd = va_safeopen_beneath(dfd, chain, O_RDONLY | O_DIRECTORY, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert(fstatat(fd, "f", &st, AT_SYMLINK_NOFOLLOW) == 0);
	close(fd);
	/* the rules hold in every piece: a symlink deep down is not followed */
	fd = va_safeopen_beneath(dfd, chain, O_RDONLY | O_DIRECTORY, 0);
	ck_assert(symlinkat("/", fd, "up") == 0);
	close(fd);
	sprintf(evil, "%s/up/tmp", chain);
	ck_assert_int_eq(va_safeopen_beneath(dfd, evil, O_RDONLY | O_DIRECTORY, 0), -ELOOP);
	/* a missing directory deep down */
	sprintf(evil, "%s/no/f", chain);
	ck_assert_int_eq(va_safeopen_beneath(dfd, evil, O_RDONLY, 0), -ENOENT);
	free(evil);
	free(file);
	free(chain);
	close(dfd);
}
END_TEST

/* ================================================================ main */

static const char *why_not_root(void)
{
	return geteuid() == 0 ? NULL : "not root";
}

/* Probe the filesystem of /tmp for @what: "xattr", "flags", "tmpfile". */
static const char *why_not_fs(const char *what)
{
	char tmpl[] = "/tmp/vaudit-unit-probe-XXXXXX";
	const char *why = NULL;
	int dfd, fd;

	if (geteuid() != 0)
		return "not root";
	if (!mkdtemp(tmpl))
		return "cannot create a directory in /tmp";
	dfd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = dfd < 0 ? -1 : openat(dfd, "p", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		why = "cannot create a file in /tmp";
	} else if (strcmp(what, "xattr") == 0) {
		if (fsetxattr(fd, "user.probe", "1", 1, 0) < 0 || fsetxattr(fd, "trusted.probe", "1", 1, 0) < 0)
			why = "no user./trusted. extended attributes in /tmp";
	} else if (strcmp(what, "flags") == 0) {
		int f = 0;

		if (ioctl(fd, FS_IOC_GETFLAGS, &f) < 0)
			why = "no inode flags in /tmp";
		else if ((f |= FS_IMMUTABLE_FL), ioctl(fd, FS_IOC_SETFLAGS, &f) < 0)
			why = "cannot set the immutable flag in /tmp";
		else {
			f &= ~FS_IMMUTABLE_FL;
			ioctl(fd, FS_IOC_SETFLAGS, &f);
		}
	} else if (strcmp(what, "tmpfile") == 0) {
		int t = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

		if (t < 0)
			why = "no O_TMPFILE in /tmp";
		else
			close(t);
	} else if (strcmp(what, "acl") == 0) {
		char *cmd = tu_strdupf("setfacl -m u:1234:r '%s/p'", tmpl);
		const char *argv[] = { "sh", "-c", cmd, NULL };

		if (!tu_have("setfacl") || !tu_have("getfacl"))
			why = "setfacl/getfacl not installed";
		else if (!tu_run_ok(tu_run_quiet(argv, NULL)))
			why = "no POSIX ACLs in /tmp";
		free(cmd);
	}
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	tu_rm_rf(tmpl, true);
	return why;
}

static const char *first(const char *a, const char *b)
{
	return a ? a : b;
}

static Suite *fileops_suite(void)
{
	Suite *s = suite_create("fileops");
	TCase *open_tc = tcase_create("open_verified");
	TCase *content = tcase_create("content");
	TCase *xattrs = tcase_create("xattrs");
	TCase *copy = tcase_create("copy_tmpfile");
	TCase *link = tcase_create("link_fd");
	TCase *names = tcase_create("tmpname");
	TCase *replace = tcase_create("replace_name");
	const char *root = why_not_root(), *xattr = why_not_fs("xattr"), *flags = why_not_fs("flags");
	const char *tmpfile = why_not_fs("tmpfile"), *acl = why_not_fs("acl");
	const char *tools = tu_have("stat") && tu_have("cmp") && tu_have("getfattr") ? NULL
										     : "stat, cmp or getfattr missing";

	tu_tcase_tmpdir(open_tc, false);
	tcase_set_timeout(open_tc, 30);
	tu_add_test(open_tc, open_verified_regular, root);
	tu_add_test(open_tc, open_verified_symlink_eloop, NULL);
	tu_add_test(open_tc, open_verified_other_inode_estale, NULL);
	tu_add_test(open_tc, open_verified_fifo_dir_device_refused, NULL);
	tu_add_test(open_tc, open_verified_non_owner_without_noatime, root);
	tu_add_test(open_tc, same_stx_each_field, NULL);
	suite_add_tcase(s, open_tc);

	tu_tcase_tmpdir(content, false);
	tcase_set_timeout(content, 60);
	tu_add_test(content, content_equal_small, NULL);
	tu_add_test(content, content_equal_large, NULL);
	tu_add_test(content, content_equal_errors, NULL);
	suite_add_tcase(s, content);

	tu_tcase_tmpdir(xattrs, false);
	tcase_set_timeout(xattrs, 60);
	tu_add_test(xattrs, xattrs_equal_user, xattr);
	tu_add_test(xattrs, xattrs_equal_order_independent, xattr);
	tu_add_test(xattrs, xattrs_equal_acl, acl);
	tu_add_test(xattrs, xattrs_equal_capability, first(root, xattr));
	tu_add_test(xattrs, xattrs_equal_errors, NULL);
	suite_add_tcase(s, xattrs);

	tu_tcase_tmpdir(copy, true);
	tcase_set_timeout(copy, 120);
	tu_add_test(copy, copy_tmpfile_content, first(first(root, tmpfile), tools));
	tu_add_test(copy, copy_tmpfile_sparse, first(first(root, tmpfile), tools));
	tu_add_test(copy, copy_tmpfile_owner_mode_times, first(first(root, tmpfile), tools));
	tu_add_test(copy, copy_tmpfile_xattrs_acl_caps, first(first(first(root, tmpfile), tools), first(xattr, acl)));
	tu_add_test(copy, copy_tmpfile_no_inherited_acl, first(first(root, tmpfile), acl));
	tu_add_test(copy, copy_tmpfile_not_immutable, first(first(root, tmpfile), first(flags, tools)));
	tu_add_test(copy, copy_tmpfile_errors_close_fd, first(root, tmpfile));
	suite_add_tcase(s, copy);

	tu_tcase_tmpdir(link, false);
	tcase_set_timeout(link, 30);
	tu_add_test(link, link_fd_tmpfile_and_eexist, tmpfile);
	tu_add_test(link, link_fd_proc_fallback, tmpfile);
	tu_add_test(link, link_fd_without_dac_read_search, first(root, tmpfile));
	suite_add_tcase(s, link);

	tu_tcase_tmpdir(names, false);
	tcase_set_timeout(names, 30);
	tu_add_test(names, tmpname_pattern, NULL);
	tu_add_test(names, tmpname_long_names, NULL);
	tu_add_test(names, tmpname_unique_getrandom, NULL);
	tu_add_test(names, tmpname_unique_without_getrandom, NULL);
	suite_add_tcase(s, names);

	tu_tcase_tmpdir(replace, true);
	tcase_set_timeout(replace, 120);
	tu_add_test(replace, replace_name_exchange, NULL);
	tu_add_test(replace, replace_name_rename_fallback, NULL);
	tu_add_test(replace, replace_name_estale_exchanged_back, NULL);
	tu_add_test(replace, replace_name_estale_fallback, NULL);
	tu_add_test(replace, replace_name_immutable_old, flags);
	tu_add_test(replace, replace_name_unlink_fails_exchanged_back, NULL);
	tu_add_test(replace, replace_name_old_frozen_after_exchange, flags);
	tu_add_test(replace, replace_name_missing_tmp, NULL);
	tu_add_test(replace, replace_name_never_missing, NULL);
	tu_add_test(replace, replace_name_never_missing_fallback, NULL);
	tu_add_test(replace, unlink_inode_only_that_inode, NULL);
	tu_add_test(replace, swap_in_leaves_foreign_tmp_after_check, NULL);
	tu_add_test(replace, swap_in_removes_own_tmp, NULL);
	tu_add_test(replace, swap_in_leaves_foreign_tmp_after_failed_exchange_back, NULL);
	tu_add_test(replace, openat2_any_length, NULL);
	tu_add_test(replace, write_replace_atomic, NULL);
	suite_add_tcase(s, replace);
	return s;
}

int main(void)
{
	return tu_main(fileops_suite());
}
