/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_confirm.c - unit tests of audit/confirm: live reads on the worker
 * thread come back once each, in the order queued, with what the inode
 * says (ground truth: the test's own open + FS_IOC_GETFLAGS + fstat of
 * each file), more reads than fit in flight at once; a name that is no
 * longer the inode, or a path through a symbolic link, gives an error and
 * no attributes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/confirm.h"
#include "core/attr.h"
#include "tests/unit/testutil.h"

enum { DIRS = 5, FILES = 1500 };        /* 7500 reads: many batches in flight */

struct seen {
	uint32_t next_id;       /* ids come back in order */
	size_t n;
	struct va_confirm_read *got;
};

static void on_done(const struct va_confirm_read *rd, void *user)
{
	struct seen *s = user;

	ck_assert_uint_eq(rd->id, s->next_id);
	s->next_id++;
	s->got[s->n] = *rd;
	s->got[s->n].path = NULL;
	s->n++;
}

/* The test's own reading of @path: the flags word (or -errno) and the mode. */
static int truth(const char *path, unsigned *flags, mode_t *mode)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r = 0;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	*mode = st.st_mode;
	if (ioctl(fd, FS_IOC_GETFLAGS, flags) < 0)
		r = (errno == ENOTTY || errno == EINVAL) ? -EOPNOTSUPP : -errno;
	close(fd);
	return r;
}

/* Queue the first @n reads of @want, the paths below a ROOT of @root_len bytes. */
static void queue(struct va_confirm *q, const struct va_confirm_read *want, char **paths, size_t n,
		  size_t root_len)
{
	for (size_t i = 0; i < n; i++) {
		struct va_confirm_read rd = want[i];

		rd.path = paths[i];
		rd.path_len = strlen(paths[i]);
		rd.rel_off = root_len + 1;
		ck_assert_int_eq(va_confirm_add(q, &rd), 0);
	}
}

START_TEST(reads_in_order)
{
	char *root = tu_subdir("confirm");
	size_t total = DIRS * FILES + 2, k = 0;
	struct va_confirm_read *want = calloc(total, sizeof(*want));
	char **paths = calloc(total, sizeof(*paths));
	struct seen s = { .got = calloc(total, sizeof(*s.got)) };
	struct va_backend *be;
	struct va_confirm *q;
	size_t root_len = strlen(root);
	char *lnk;
	int rfd;

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(s.got);
	for (int d = 0; d < DIRS; d++) {
		char *dir = tu_strdupf("%s/d%d", root, d);

		ck_assert_int_eq(mkdir(dir, 0755), 0);
		for (int f = 0; f < FILES; f++, k++) {
			struct stat st;
			int fd;

			paths[k] = tu_strdupf("%s/f%d", dir, f);
			fd = open(paths[k], O_WRONLY | O_CREAT | O_EXCL, 0644);
			ck_assert_int_ge(fd, 0);
			ck_assert_int_eq(fstat(fd, &st), 0);
			close(fd);
			want[k] = (struct va_confirm_read){ .id = (uint32_t)k, .dev = st.st_dev,
							    .ino = st.st_ino, .mode = st.st_mode };
		}
		free(dir);
	}
	/* an inode number that is not the file's: -ESTALE */
	paths[k] = strdup(paths[0]);
	want[k] = want[0];
	want[k].id = (uint32_t)k;
	want[k].ino = want[0].ino + 1000000;
	k++;
	/* a directory on the way that is a symlink: -ELOOP, not the file it leads to */
	lnk = tu_strdupf("%s/lnk", root);
	ck_assert_int_eq(symlink("d1", lnk), 0);
	free(lnk);
	paths[k] = tu_strdupf("%s/lnk/f0", root);
	want[k] = want[FILES];
	want[k].id = (uint32_t)k;
	k++;
	ck_assert_uint_eq(k, total);

	ck_assert_int_eq(va_backend_live_new(&be, 0), 0);
	ck_assert_int_eq(va_confirm_new(be, on_done, &s, &q), 0);
	rfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(rfd, 0);
	ck_assert_int_eq(va_confirm_root(q, 0, rfd), 0);
	close(rfd);     /* the queue holds its own */
	ck_assert(va_confirm_has_root(q, 0));
	ck_assert(!va_confirm_has_root(q, 1));
	queue(q, want, paths, total, root_len);
	va_confirm_finish(q);
	ck_assert_uint_eq(s.n, total);
	for (size_t i = 0; i < DIRS * FILES; i++) {
		unsigned flags = 0;
		mode_t mode;
		int r = truth(paths[i], &flags, &mode);

		ck_assert_int_eq(s.got[i].r, r);
		if (r == 0) {
			ck_assert_uint_eq(s.got[i].at.flags, flags);
			ck_assert_uint_eq(s.got[i].at.mode, mode);
			ck_assert(s.got[i].at.known & VA_KNOWN_EXT2);
		}
	}
	ck_assert_int_eq(s.got[total - 2].r, -ESTALE);
	ck_assert_int_eq(s.got[total - 1].r, -ELOOP);
	ck_assert_uint_eq(s.got[total - 1].at.known, 0);

	/* used again after finish, then freed with reads still queued */
	s.n = 0;
	s.next_id = 0;
	queue(q, want, paths, 600, root_len);
	va_confirm_free(q);
	be->ops->destroy(be);
	for (size_t i = 0; i < total; i++)
		free(paths[i]);
	free(paths);
	free(want);
	free(s.got);
	free(root);
}
END_TEST

START_TEST(no_concurrent_read)
{
	struct va_backend be = { .caps = 0 };
	struct va_confirm *q = NULL;

	ck_assert_int_eq(va_confirm_new(&be, on_done, NULL, &q), -EOPNOTSUPP);
	ck_assert_ptr_null(q);
}
END_TEST

static Suite *confirm_suite(void)
{
	Suite *s = suite_create("confirm");
	TCase *tc = tcase_create("confirm");

	tu_tcase_tmpdir(tc, false);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reads_in_order);
	tcase_add_test(tc, no_concurrent_read);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_main(confirm_suite());
}
