/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fileops.c - file primitives of the unify tools, all through fds.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <attr/error_context.h>
#include <attr/libattr.h>

#include "core/fileops.h"
#include "core/safeopen.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* Block size of content comparison and of the read/write copy fallback. */
#define VA_FILEOPS_BLOCK (256 * 1024)

static int exchange(int dir_fd, const char *a, const char *b)
{
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 28)
#define VA_HAVE_RENAMEAT2 1
#endif
#endif
#ifdef VA_HAVE_RENAMEAT2
	return renameat2(dir_fd, a, dir_fd, b, RENAME_EXCHANGE);
#else
	return (int)syscall(SYS_renameat2, dir_fd, a, dir_fd, b, RENAME_EXCHANGE);
#endif
}

/* ------------------------------------------------------------ identity */

int va_open_regular(int dir_fd, const char *name, dev_t dev, uint64_t ino, struct statx *ret)
{
	/*
	 * Look before opening (VA_SAFEOPEN_LOOK_FIRST): opening a device node
	 * can have effects of its own (a watchdog, a tape), so a name that is
	 * not the expected regular file is refused unopened.  The check of
	 * the opened fd is the one that counts.
	 */
	return va_safeopen_verified(dir_fd, name, O_RDONLY | O_NONBLOCK,
				    VA_SAFEOPEN_LOOK_FIRST | VA_SAFEOPEN_NOATIME,
				    &(struct va_safeopen_id){ .dev = dev, .ino = ino, .type = S_IFREG }, ret);
}

bool va_same_stx(const struct statx *a, const struct statx *b)
{
	return a->stx_dev_major == b->stx_dev_major && a->stx_dev_minor == b->stx_dev_minor &&
	       a->stx_ino == b->stx_ino && a->stx_size == b->stx_size &&
	       a->stx_mtime.tv_sec == b->stx_mtime.tv_sec && a->stx_mtime.tv_nsec == b->stx_mtime.tv_nsec &&
	       a->stx_ctime.tv_sec == b->stx_ctime.tv_sec && a->stx_ctime.tv_nsec == b->stx_ctime.tv_nsec;
}

/* ------------------------------------------------------------ content */

/* pread @len bytes at @off, short only at end of file.  Return: bytes read or -errno. */
static ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

int va_content_equal(int fd_a, int fd_b, uint64_t size)
{
	char *a, *b;
	uint64_t off = 0;
	int r = 1;

	if (size == 0)
		return 1;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	a = malloc(VA_FILEOPS_BLOCK);
	b = malloc(VA_FILEOPS_BLOCK);
	if (!a || !b) {
		free(a);
		free(b);
		return -ENOMEM;
	}
	while (off < size) {
		size_t want = size - off < VA_FILEOPS_BLOCK ? (size_t)(size - off) : VA_FILEOPS_BLOCK;
		ssize_t na = pread_full(fd_a, a, want, (off_t)off);
		ssize_t nb;

		if (na < 0) {
			r = (int)na;
			break;
		}
		nb = pread_full(fd_b, b, want, (off_t)off);
		if (nb < 0) {
			r = (int)nb;
			break;
		}
		if ((size_t)na != want || (size_t)nb != want || memcmp(a, b, want) != 0) {
			r = 0;
			break;
		}
		off += want;
	}
	free(a);
	free(b);
	return r;
}

/* ------------------------------------------------------------ xattrs */

/* The names of @fd's extended attributes (malloc'd, may be NULL when @len is 0). */
static int list_names(int fd, char **ret, size_t *len)
{
	char *buf = NULL;

	for (;;) {
		ssize_t n = flistxattr(fd, NULL, 0);
		char *nb;

		if (n < 0) {
			if (errno == ENOTSUP || errno == ENOSYS) {
				n = 0;
			} else {
				free(buf);
				return -errno;
			}
		}
		if (n == 0) {
			free(buf);
			*ret = NULL;
			*len = 0;
			return 0;
		}
		nb = realloc(buf, (size_t)n);
		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		n = flistxattr(fd, buf, (size_t)n);
		if (n >= 0) {
			*ret = buf;
			*len = (size_t)n;
			return 0;
		}
		if (errno != ERANGE) { /* ERANGE: it grew meanwhile, again */
			int e = errno;

			free(buf);
			return -e;
		}
	}
}

/*
 * The value of attribute @name of @fd (malloc'd; NULL with length 0 for an
 * empty value).  Return: 1, 0 when there is no such attribute, or -errno.
 */
static int get_value(int fd, const char *name, char **ret, size_t *len)
{
	char *buf = NULL;

	*ret = NULL;
	*len = 0;
	for (;;) {
		ssize_t n = fgetxattr(fd, name, NULL, 0);
		char *nb;

		if (n < 0)
			goto fail;
		if (n == 0) {
			free(buf);
			return 1;
		}
		nb = realloc(buf, (size_t)n);
		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		n = fgetxattr(fd, name, buf, (size_t)n);
		if (n >= 0) {
			*ret = buf;
			*len = (size_t)n;
			return 1;
		}
		if (errno != ERANGE)
			goto fail;
	}
fail:
	free(buf);
	return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
}

/* Split a flistxattr() buffer into a sorted array of names. */
static int split_names(char *buf, size_t len, const char ***ret, size_t *count)
{
	const char **v;
	size_t n = 0, i = 0;

	for (size_t p = 0; p < len; p += strlen(buf + p) + 1)
		if (buf[p])
			n++;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t p = 0; p < len && i < n; p += strlen(buf + p) + 1)
		if (buf[p])
			v[i++] = buf + p;
	*ret = v;
	*count = n;
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int va_xattrs_equal(int fd_a, int fd_b)
{
	char *la = NULL, *lb = NULL;
	size_t lena = 0, lenb = 0, na = 0, nb = 0;
	const char **va = NULL, **vb = NULL;
	int r;

	r = list_names(fd_a, &la, &lena);
	if (r < 0)
		return r;
	r = list_names(fd_b, &lb, &lenb);
	if (r < 0)
		goto out;
	/* a NUL at the end of each list, should a buggy kernel omit it */
	if (lena && la[lena - 1]) {
		r = -EINVAL;
		goto out;
	}
	if (lenb && lb[lenb - 1]) {
		r = -EINVAL;
		goto out;
	}
	r = split_names(la, lena, &va, &na);
	if (r < 0)
		goto out;
	r = split_names(lb, lenb, &vb, &nb);
	if (r < 0)
		goto out;
	if (na != nb) {
		r = 0;
		goto out;
	}
	qsort(va, na, sizeof(*va), cmp_name);
	qsort(vb, nb, sizeof(*vb), cmp_name);
	r = 1;
	for (size_t i = 0; i < na && r == 1; i++) {
		char *xa, *xb;
		size_t sa, sb;
		int ha, hb;

		if (strcmp(va[i], vb[i]) != 0) {
			r = 0;
			break;
		}
		ha = get_value(fd_a, va[i], &xa, &sa);
		if (ha < 0) {
			r = ha;
			break;
		}
		hb = get_value(fd_b, vb[i], &xb, &sb);
		if (hb < 0) {
			free(xa);
			r = hb;
			break;
		}
		if (ha != hb || sa != sb || (sa && memcmp(xa, xb, sa) != 0))
			r = 0;
		free(xa);
		free(xb);
	}
out:
	free(va);
	free(vb);
	free(la);
	free(lb);
	return r;
}

/* ------------------------------------------------------------ copy */

/* Copy [@off, @end) of @src to the same offsets of @dst.  Return: 0 or -errno. */
static int copy_range(int src, int dst, off_t off, off_t end, bool *use_cfr)
{
	char *buf = NULL;
	int r = 0;

	while (off < end) {
		size_t want = (uint64_t)(end - off) < VA_FILEOPS_BLOCK ? (size_t)(end - off) : VA_FILEOPS_BLOCK;
		ssize_t n;

		if (*use_cfr) {
			loff_t in = off, out = off;

			n = copy_file_range(src, &in, dst, &out, want, 0);
			if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
				      errno == EOPNOTSUPP || errno == EBADF)) {
				*use_cfr = false;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				break;
			}
			if (n == 0) /* the source shrank: its end is a hole now */
				break;
			off += n;
			continue;
		}
		if (!buf) {
			buf = malloc(VA_FILEOPS_BLOCK);
			if (!buf) {
				r = -ENOMEM;
				break;
			}
		}
		n = pread_full(src, buf, want, off);
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0)
			break;
		for (size_t done = 0; done < (size_t)n;) {
			ssize_t w = pwrite(dst, buf + done, (size_t)n - done, off + (off_t)done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				r = w < 0 ? -errno : -EIO;
				goto out;
			}
			done += (size_t)w;
		}
		off += n;
	}
out:
	free(buf);
	return r;
}

int va_copy_data(int src, int dst, off_t size)
{
	bool use_cfr = true;
	off_t off = 0, saved;
	int r = 0;

	/* SEEK_DATA/SEEK_HOLE move the file offset, which the caller shares */
	saved = lseek(src, 0, SEEK_CUR);
	while (off < size) {
		off_t data = lseek(src, off, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO) /* only a hole up to the end */
				break;
			if (errno != EINVAL && errno != EOPNOTSUPP) {
				r = -errno;
				break;
			}
			/* no SEEK_DATA here: everything is data */
			r = copy_range(src, dst, off, size, &use_cfr);
			break;
		}
		if (data >= size)
			break;
		hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0) {
			r = -errno;
			break;
		}
		if (hole > size)
			hole = size;
		if (hole <= data) { /* cannot happen; never loop */
			r = copy_range(src, dst, data, size, &use_cfr);
			break;
		}
		r = copy_range(src, dst, data, hole, &use_cfr);
		if (r < 0)
			break;
		off = hole;
	}
	if (saved >= 0)
		lseek(src, saved, SEEK_SET);
	if (r == 0 && ftruncate(dst, size) < 0)
		r = -errno;
	return r;
}

struct copy_errors {
	struct error_context ctx; /* first: libattr hands us this pointer */
	int error;
};

static void copy_error(struct error_context *ctx, const char *fmt, ...)
{
	struct copy_errors *e = (struct copy_errors *)ctx;

	(void)fmt;
	if (!e->error)
		e->error = errno ? errno : EIO;
}

/* Every attribute is copied: ACLs and capabilities too. */
static int copy_all(const char *name, struct error_context *ctx)
{
	(void)name;
	(void)ctx;
	return 1;
}

/*
 * Remove from @dst what @src does not have (an access ACL inherited from the
 * directory's default ACL, a label given on creation).
 */
static int strip_extra(int src, int dst)
{
	char *names;
	size_t len;
	int r = list_names(dst, &names, &len);

	if (r < 0)
		return r;
	for (size_t p = 0; p < len; p += strlen(names + p) + 1) {
		const char *name = names + p;

		if (!*name)
			continue;
		if (fgetxattr(src, name, NULL, 0) >= 0)
			continue;
		if (errno != ENODATA) {
			r = -errno;
			break;
		}
		if (fremovexattr(dst, name) < 0 && errno != ENODATA) {
			r = -errno;
			break;
		}
	}
	free(names);
	return r;
}

static int copy_metadata_st(int src, int dst, const struct stat *st)
{
	struct copy_errors ce = { .ctx = { .error = copy_error } };
	const struct timespec times[2] = { st->st_atim, st->st_mtim };
	struct stat now;
	int r;

	/* chown first: it clears set-id bits and drops security.capability */
	if (fchown(dst, st->st_uid, st->st_gid) < 0)
		return -errno;
	if (fchmod(dst, st->st_mode & 07777) < 0)
		return -errno;
	r = strip_extra(src, dst);
	if (r < 0)
		return r;
	errno = 0;
	if (attr_copy_fd(NULL, src, NULL, dst, copy_all, &ce.ctx) != 0)
		return -(ce.error ? ce.error : errno ? errno : EIO);
	/* an access ACL sets the group bits from its mask: the mode must stay the source's */
	if (fstat(dst, &now) < 0)
		return -errno;
	if ((now.st_mode & 07777) != (st->st_mode & 07777) && fchmod(dst, st->st_mode & 07777) < 0)
		return -errno;
	if (futimens(dst, times) < 0)
		return -errno;
	return 0;
}

int va_copy_metadata(int src_fd, int dst_fd)
{
	struct stat st;

	if (fstat(src_fd, &st) < 0)
		return -errno;
	return copy_metadata_st(src_fd, dst_fd, &st);
}

int va_copy_tmpfile(int src_fd, int dir_fd)
{
	struct stat st;
	int fd, r;

	if (fstat(src_fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	fd = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* kernels before O_TMPFILE open the directory itself */
		return errno == EISDIR ? -EOPNOTSUPP : -errno;
	}
	r = va_copy_data(src_fd, fd, st.st_size);
	if (r == 0)
		r = copy_metadata_st(src_fd, fd, &st);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

/* ------------------------------------------------------------ names */

int va_link_fd(int fd, int dir_fd, const char *name)
{
	char proc[64];

	if (linkat(fd, "", dir_fd, name, AT_EMPTY_PATH) == 0)
		return 0;
	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH (ENOENT or EPERM without it) */
	if (errno != ENOENT && errno != EPERM)
		return -errno;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	return -errno;
}

static const char tmp_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* Six characters from tmp_chars into @out. */
static void random_suffix(char *out)
{
	/* kernel randomness, fetched 256 bytes at a time (a run makes many names) */
	static _Thread_local unsigned char pool[256];
	static _Thread_local size_t pool_pos, pool_len;
	static _Thread_local uint64_t state;
	size_t k = 0;

	while (k < 6) {
		if (pool_pos == pool_len) {
			ssize_t n;

			do
				n = getrandom(pool, sizeof(pool), GRND_NONBLOCK);
			while (n < 0 && errno == EINTR);
			pool_pos = 0;
			pool_len = n > 0 ? (size_t)n : 0;
			if (!pool_len)
				break;
		}
		/* unbiased: bytes >= 4 * 62 are dropped */
		if (pool[pool_pos] < 4 * 62)
			out[k++] = tmp_chars[pool[pool_pos] % 62];
		pool_pos++;
	}
	if (k == 6)
		return;
	/* no getrandom(): a xorshift seeded from the time and the pid */
	if (!state) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		state = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^
			((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	}
	while (k < 6) {
		state ^= state >> 12;
		state ^= state << 25;
		state ^= state >> 27;
		out[k++] = tmp_chars[((state * 0x2545f4914f6cdd1dull) >> 32) % 62];
	}
}

/* Copy @name to @out, shortened to leave room for ";XXXXXX"; its length. */
static size_t tmp_prefix(const char *name, char *out)
{
	size_t len = strlen(name);

	if (len > NAME_MAX - 7)
		len = NAME_MAX - 7;
	memcpy(out, name, len);
	out[len] = ';';
	out[len + 7] = '\0';
	return len;
}

void va_tmpname(const char *name, char *out)
{
	random_suffix(out + tmp_prefix(name, out) + 1);
}

void va_tmpname_keyed(const char *name, uint64_t key, char *out)
{
	char *suffix = out + tmp_prefix(name, out) + 1;
	uint64_t x = key + 0x9e3779b97f4a7c15ull;       /* splitmix64 */

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	for (int k = 0; k < 6; k++, x /= 62)
		suffix[k] = tmp_chars[x % 62];
}

static bool same_ino(const struct stat *st, dev_t dev, uint64_t ino)
{
	return st->st_dev == dev && (uint64_t)st->st_ino == ino;
}

int va_unlink_inode(int dir_fd, const char *name, dev_t dev, uint64_t ino)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!same_ino(&st, dev, ino))
		return -ESTALE;
	/* the window the header describes: no system call unlinks by inode */
	if (unlinkat(dir_fd, name, 0) < 0)
		return -errno;
	return 0;
}

/* Without RENAME_EXCHANGE: check @name, then rename over it (a small window). */
static int replace_by_rename(int dir_fd, const char *tmp, const char *name, dev_t old_dev, uint64_t old_ino)
{
	struct stat st;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	if (!same_ino(&st, old_dev, old_ino))
		return -ESTALE;
	if (renameat(dir_fd, tmp, dir_fd, name) < 0)
		return -errno;
	return 0;
}

int va_replace_name(int dir_fd, const char *tmp, const char *name, dev_t old_dev, uint64_t old_ino)
{
	struct stat st;
	int r;

	if (exchange(dir_fd, tmp, name) < 0) {
		int e = errno;

		if (e == EINVAL || e == ENOSYS || e == EOPNOTSUPP)
			return replace_by_rename(dir_fd, tmp, name, old_dev, old_ino);
		/* @name is gone (@tmp is there): not the expected inode */
		if (e == ENOENT && faccessat(dir_fd, tmp, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return -ESTALE;
		return -e;
	}
	/* what was at @name is at @tmp now */
	if (fstatat(dir_fd, tmp, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
	} else if (!same_ino(&st, old_dev, old_ino)) {
		r = -ESTALE;
	} else if (unlinkat(dir_fd, tmp, 0) < 0) {
		/*
		 * Undo.  The kernel refuses to move an immutable or
		 * append-only inode, so for the usual cause of this failure
		 * the undo fails as well: @name then keeps the new file and
		 * the old inode stays at @tmp (the caller tells by the inode
		 * at @name); the unlink's error is returned either way.
		 */
		r = -errno;
		exchange(dir_fd, tmp, name);
		return r;
	} else {
		return 0;
	}
	/* undo: both names back as they were (else not -ESTALE: something changed) */
	if (exchange(dir_fd, tmp, name) < 0)
		return -errno;
	return r;
}

int va_write_replace(int dir_fd, const char *name, const void *buf, size_t len, mode_t mode,
		     const char **ret_what)
{
	char tmp[NAME_MAX + 1];
	const char *p = buf;
	int fd = -1, r = 0;

	*ret_what = "create";
	/* a hidden name that no *.prom-style glob of the directory matches */
	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		char suffix[8] = { 0 };

		random_suffix(suffix);
		if (snprintf(tmp, sizeof(tmp), ".%.200s.%.6s.tmp", name, suffix) >= (int)sizeof(tmp))
			return -ENAMETOOLONG;
		fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			return -errno;
	}
	if (fd < 0)
		return -EEXIST;
	*ret_what = "write";
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0) {
		*ret_what = "chmod";
		r = -errno;
		goto fail;
	}
	*ret_what = "fsync";
	if (fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	*ret_what = "rename";
	if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
		r = -errno;
		goto fail;
	}
	close(fd);
	*ret_what = "fsync directory";
	if (fsync(dir_fd) < 0)
		return -errno;
	*ret_what = NULL;
	return 0;
fail:
	close(fd);
	(void)unlinkat(dir_fd, tmp, 0);
	return r;
}
