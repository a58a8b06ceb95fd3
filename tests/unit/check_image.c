/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_image.c - core/image.c and the image back end on real images made
 * with mke2fs -d and edited with debugfs (the ground truth: debugfs's own
 * "stat" output), plus the refusals of a write open: a mounted device, a
 * device held exclusively by someone else, a journal that needs recovery.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ext2fs/ext2_err.h>

#include "core/attr.h"
#include "core/image.h"
#include "core/message.h"
#include "tests/unit/testutil.h"

/* Run a shell command line (our own fixed strings only); true on success. */
static bool sh(const char *cmd)
{
	const char *argv[] = { "sh", "-c", cmd, NULL };

	return tu_run_ok(tu_run_quiet(argv, NULL));
}

/* Make an image of @type in a fresh directory: /a (file), /d/b (file), /d. */
static char *make_image(const char *type)
{
	char *dir = tu_subdir("image");
	char *img = tu_strdupf("%s/fs.img", dir);
	char *cmd = tu_strdupf(
		"set -e; cd '%s'; mkdir -p tree/d; echo a > tree/a; echo b > tree/d/b; "
		"mke2fs -q -F -t %s -d tree fs.img 4M; "
		"debugfs -w -R 'set_inode_field /d/b flags 0x%x' fs.img", dir, type,
		strcmp(type, "ext4") == 0 ? 0x08080010 : 0x08000010);

	ck_assert_msg(sh(cmd), "could not build an %s image", type);
	free(cmd);
	free(dir);
	return img;
}

/* Flags of @path in @img according to debugfs. */
static unsigned long debugfs_flags(const char *img, const char *path)
{
	char *cmd = tu_strdupf("debugfs -R 'stat %s' '%s' 2>/dev/null | sed -n 's/.*Flags: \\(0x[0-9a-f]*\\).*/\\1/p'",
			       path, img);
	const char *argv[] = { "sh", "-c", cmd, NULL };
	struct dbuf out = DBUF_INIT;
	unsigned long v;

	ck_assert(tu_run_ok(tu_run(argv, NULL, 0, &out)));
	v = strtoul(dbuf_str(&out), NULL, 16);
	dbuf_release(&out);
	free(cmd);
	return v;
}

START_TEST(read_flags_like_debugfs)
{
	static const char *const types[] = { "ext2", "ext3", "ext4" };
	const char *type = types[_i];
	char *img = make_image(type);
	struct va_image *im;
	struct va_error why = VA_ERROR_INIT;
	uint64_t dino, bino;
	uint32_t flags, mode, links;
	struct va_backend *be;
	struct va_attr_target t = { .fd = -1, .dir_fd = -1 };
	struct va_attrs at;

	ck_assert_int_eq(va_image_open(img, 0, &im, &why), 0);
	ck_assert(!im->mounted);
	ck_assert_int_eq(va_image_lookup_dir(im, "/d", &dino), 0);
	ck_assert_int_eq(va_image_lookup_dir(im, "/", &bino), 0);
	ck_assert_uint_eq(bino, 2);
	ck_assert_int_eq(va_image_lookup_dir(im, "/a", &bino), ENOTDIR);
	ck_assert_int_ne(va_image_lookup_dir(im, "/nope", &bino), 0);
	ck_assert_int_ne(va_image_lookup_dir(im, "relative", &bino), 0);

	/* /d/b: look up through the directory, compare with debugfs */
	ck_assert_int_eq(ext2fs_lookup(im->fs, (ext2_ino_t)dino, "b", 1, NULL, (ext2_ino_t *)&bino), 0);
	ck_assert_int_eq(va_image_read_inode(im, bino, &flags, &mode, &links), 0);
	ck_assert_uint_eq(flags, debugfs_flags(img, "/d/b"));
	ck_assert(S_ISREG(mode));
	ck_assert_uint_eq(links, 1);
	ck_assert_int_ne(va_image_read_inode(im, 0, &flags, &mode, &links), 0);
	ck_assert_int_ne(va_image_read_inode(im, (uint64_t)im->fs->super->s_inodes_count + 1,
					     &flags, &mode, &links), 0);

	/* the back end says it knows the 2.6 bits and returns the raw word */
	ck_assert_int_eq(va_backend_image_new(&be, im), 0);
	ck_assert(be->caps & VA_CAP_VS26);
	t.ino = bino;
	ck_assert_int_eq(va_backend_read(be, &t, &at), 0);
	ck_assert_uint_eq(at.flags, debugfs_flags(img, "/d/b"));
	ck_assert_uint_eq(at.known, VA_KNOWN_EXT2 | VA_KNOWN_VS26);
	va_backend_free(be);
	ck_assert_int_eq(va_image_close(im), 0);
	free(img);
}
END_TEST

START_TEST(refuse_non_images)
{
	char *dir = tu_subdir("bad");
	char *zero = tu_strdupf("%s/zero.img", dir);
	char *cmd = tu_strdupf("head -c 1048576 /dev/zero > '%s'", zero);
	struct va_image *im;
	struct va_error why = VA_ERROR_INIT;

	ck_assert(sh(cmd));
	free(cmd);
	ck_assert_int_ne(va_image_open(zero, 0, &im, &why), 0);
	ck_assert_int_eq(va_image_open(dir, 0, &im, &why), EINVAL);
	ck_assert(va_error_is_set(&why));
	ck_assert_int_eq(va_image_open("/nonexistent/vaudit/x.img", 0, &im, &why), ENOENT);
	ck_assert_str_ne(va_image_strerror(EXT2_ET_BAD_MAGIC), "");
	ck_assert_ptr_null(strstr(va_image_strerror(EXT2_ET_BAD_MAGIC), "Unknown code"));
	va_error_release(&why);
	free(zero);
	free(dir);
}
END_TEST

START_TEST(write_refuses_journal_needing_recovery)
{
	char *img = make_image("ext4");
	char *cmd = tu_strdupf("debugfs -w -R 'feature needs_recovery' '%s'", img);
	struct va_image *im;
	struct va_error why = VA_ERROR_INIT;

	ck_assert(sh(cmd));
	ck_assert_int_eq(va_image_open(img, VA_IMAGE_WRITE, &im, &why), EBUSY);
	ck_assert(va_error_is_set(&why));
	ck_assert_ptr_nonnull(strstr(why.what, "journal"));
	/* read-only still works, and says so */
	ck_assert_int_eq(va_image_open(img, 0, &im, &why), 0);
	ck_assert(im->needs_recovery);
	va_image_close(im);
	va_error_release(&why);
	free(cmd);
	free(img);
}
END_TEST

START_TEST(write_refuses_mounted_and_busy_devices)
{
	char *img = make_image("ext4");
	char *dir = tu_strdupf("%s.mnt", img);
	char *cmd;
	struct dbuf dev = DBUF_INIT;
	const char *argv[] = { "losetup", "--find", "--show", img, NULL };
	struct va_image *im;
	struct va_error why = VA_ERROR_INIT;
	bool mounted;
	int fd;

	/* a loop device held open exclusively by someone else */
	ck_assert(tu_run_ok(tu_run(argv, NULL, 0, &dev)));
	dev.buf[strcspn(dev.buf, "\n")] = '\0';
	fd = open(dev.buf, O_RDONLY | O_EXCL);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ne(va_image_open(dev.buf, VA_IMAGE_WRITE, &im, &why), 0);
	close(fd);
	/* free again: a write open works and nothing is changed by closing it */
	ck_assert_int_eq(va_image_open(dev.buf, VA_IMAGE_WRITE, &im, &why), 0);
	ck_assert_int_eq(va_image_close(im), 0);

	/* mounted: refused for writing (device and image file), and read-only
	 * unless explicitly allowed */
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mount(dev.buf, dir, "ext4", MS_RDONLY, NULL), 0);
	ck_assert_int_eq(va_image_open(dev.buf, VA_IMAGE_WRITE, &im, &why), EBUSY);
	ck_assert_ptr_nonnull(strstr(why.what, "mounted"));
	ck_assert_int_eq(va_image_open(dev.buf, 0, &im, &why), EBUSY);
	ck_assert_int_eq(va_image_open(dev.buf, VA_IMAGE_ALLOW_MOUNTED | VA_IMAGE_LENIENT, &im, &why), 0);
	ck_assert(im->mounted);
	va_image_close(im);
	/* the image file behind the mounted loop device */
	ck_assert_int_eq(va_image_open(img, VA_IMAGE_WRITE, &im, &why), EBUSY);
	ck_assert_int_eq(va_image_open(img, 0, &im, &why), EBUSY);
	ck_assert_int_eq(va_image_mounted(img, &mounted), 0);
	ck_assert(mounted);
	ck_assert_int_eq(va_image_mounted(dev.buf, &mounted), 0);
	ck_assert(mounted);
	ck_assert_int_eq(umount(dir), 0);
	ck_assert_int_eq(va_image_mounted(img, &mounted), 0);
	ck_assert(!mounted);
	ck_assert_int_eq(va_image_mounted(dev.buf, &mounted), 0);
	ck_assert(!mounted);
	cmd = tu_strdupf("losetup -d '%s'", dev.buf);
	ck_assert(sh(cmd));
	free(cmd);
	dbuf_release(&dev);
	free(dir);
	free(img);
}
END_TEST

static Suite *image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("image");
	const char *no_tools = tu_have("mke2fs") && tu_have("debugfs") ? NULL : "mke2fs/debugfs missing";
	const char *no_root = no_tools ? no_tools : geteuid() != 0 ? "needs root (loop devices)" :
			      tu_have("losetup") ? NULL : "losetup missing";

	tcase_set_timeout(tc, 120);
	tu_tcase_tmpdir(tc, false);
	if (no_tools) {
		tu_add_test(tc, read_flags_like_debugfs, no_tools);
	} else {
		tcase_add_loop_test(tc, read_flags_like_debugfs, 0, 3);
	}
	tu_add_test(tc, refuse_non_images, no_tools);
	tu_add_test(tc, write_refuses_journal_needing_recovery, no_tools);
	tu_add_test(tc, write_refuses_mounted_and_busy_devices, no_root);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_main(image_suite());
}
