/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_xidtag.c - unit tests of core/xidtag: the tag schemes' encoding
 * of the raw uid/gid against a table computed by hand from the schemes
 * (id24: tag bits 15..8 in uid bits 31..24, bits 7..0 in gid bits 31..24;
 * gid16: the tag in gid bits 31..16; uid16: in uid bits 31..16), the
 * refusals, and the raw tagger on real files (root): the owner stat(2)
 * reads afterwards, the set-uid bit and the capability kept.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/vsyscall.h"
#include "core/xidtag.h"
#include "tests/unit/testutil.h"

/* Worked by hand: scheme, real uid, gid, tag -> raw uid, gid. */
static const struct {
	enum va_tag_scheme s;
	uint32_t uid, gid, tag, raw_uid, raw_gid;
} table[] = {
	/* 42 = 0x002A: high byte 0 in uid, 0x2A in gid's top byte */
	{ VA_TAG_ID24, 1000, 100, 42, 1000, 0x2A000064u },
	/* 4660 = 0x1234: 0x12 -> uid, 0x34 -> gid */
	{ VA_TAG_ID24, 1000, 100, 4660, 0x120003E8u, 0x34000064u },
	{ VA_TAG_ID24, 0, 0, 49151, 0xBF000000u, 0xFF000000u },
	{ VA_TAG_ID24, 0x00FFFFFFu, 0x00FFFFFFu, 2, 0x00FFFFFFu, 0x02FFFFFFu },
	{ VA_TAG_ID24, 0, 0, 0, 0, 0 },
	/* gid16: the uid is left as it is, however large */
	{ VA_TAG_GID16, 70000, 100, 42, 70000, 0x002A0064u },
	{ VA_TAG_GID16, 0xFFFFFFFEu, 0xFFFF, 49151, 0xFFFFFFFEu, 0xBFFFFFFFu },
	/* uid16 */
	{ VA_TAG_UID16, 1000, 70000, 42, 0x002A03E8u, 70000 },
	{ VA_TAG_UID16, 0xFFFF, 0, 4660, 0x1234FFFFu, 0 },
};

START_TEST(test_encode_table)
{
	uint32_t ru = 0, rg = 0;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		int r = va_tag_encode(table[i].s, table[i].uid, table[i].gid, table[i].tag, &ru, &rg);

		ck_assert_msg(r == 0, "row %zu: %d", i, r);
		ck_assert_msg(ru == table[i].raw_uid && rg == table[i].raw_gid,
			      "row %zu: %#x:%#x, want %#x:%#x", i, ru, rg, table[i].raw_uid, table[i].raw_gid);
	}
}
END_TEST

START_TEST(test_decode_table)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		uint32_t uid = 1, gid = 1;
		uint32_t tag = va_tag_decode(table[i].s, table[i].raw_uid, table[i].raw_gid, &uid, &gid);

		ck_assert_msg(tag == table[i].tag && uid == table[i].uid && gid == table[i].gid,
			      "row %zu: tag %u %u:%u", i, tag, uid, gid);
	}
	/* the schemes that keep nothing in the ids: tag 0, ids as they are */
	for (int s = 0; s < VA_TAG_COUNT; s++) {
		uint32_t uid, gid;

		if (va_tag_in_ids(s))
			continue;
		ck_assert_uint_eq(va_tag_decode(s, 0xAB0003E8u, 0xCD000064u, &uid, &gid), 0);
		ck_assert_uint_eq(uid, 0xAB0003E8u);
		ck_assert_uint_eq(gid, 0xCD000064u);
	}
	/* the expression of the kernel's tag.h, written out again */
	for (uint32_t k = 0; k < 5000; k++) {
		uint32_t ru = k * 2654435761u, rg = k * 40503u + 0x9E3779B9u;

		ck_assert_uint_eq(va_tag_decode(VA_TAG_ID24, ru, rg, NULL, NULL),
				  ((ru >> 16) & 0xFF00) | ((rg >> 24) & 0xFF));
		ck_assert_uint_eq(va_tag_decode(VA_TAG_GID16, ru, rg, NULL, NULL), (rg >> 16) & 0xFFFF);
		ck_assert_uint_eq(va_tag_decode(VA_TAG_UID16, ru, rg, NULL, NULL), (ru >> 16) & 0xFFFF);
	}
}
END_TEST

START_TEST(test_encode_refusals)
{
	uint32_t ru = 7, rg = 7, um, gm;

	ck_assert_int_eq(va_tag_encode(VA_TAG_ID24, 0x01000000u, 0, 42, &ru, &rg), -ERANGE);
	ck_assert_int_eq(va_tag_encode(VA_TAG_ID24, 0, 0x01000000u, 42, &ru, &rg), -ERANGE);
	ck_assert_int_eq(va_tag_encode(VA_TAG_GID16, 0, 0x10000, 42, &ru, &rg), -ERANGE);
	ck_assert_int_eq(va_tag_encode(VA_TAG_UID16, 0x10000, 0, 42, &ru, &rg), -ERANGE);
	for (int s = VA_TAG_ID24; s <= VA_TAG_UID16; s++)
		ck_assert_int_eq(va_tag_encode(s, 0, 0, 0x10000, &ru, &rg), -ERANGE);
	ck_assert_int_eq(va_tag_encode(VA_TAG_AUTO, 0, 0, 42, &ru, &rg), -EINVAL);
	ck_assert_int_eq(va_tag_encode(VA_TAG_INTERN, 0, 0, 42, &ru, &rg), -EINVAL);
	ck_assert_int_eq(va_tag_encode(VA_TAG_NONE, 0, 0, 42, &ru, &rg), -EINVAL);
	ck_assert_uint_eq(ru, 7);
	ck_assert_uint_eq(rg, 7);
	va_tag_id_max(VA_TAG_ID24, &um, &gm);
	ck_assert_uint_eq(um, 16777215);
	ck_assert_uint_eq(gm, 16777215);
	va_tag_id_max(VA_TAG_GID16, &um, &gm);
	ck_assert_uint_eq(um, 0xFFFFFFFFu);
	ck_assert_uint_eq(gm, 65535);
	va_tag_id_max(VA_TAG_UID16, &um, &gm);
	ck_assert_uint_eq(um, 65535);
	ck_assert_uint_eq(gm, 0xFFFFFFFFu);
}
END_TEST

START_TEST(test_names)
{
	static const char *const names[] = { "auto", "id24", "gid16", "uid16", "intern", "none" };

	for (int i = 0; i < VA_TAG_COUNT; i++) {
		ck_assert_int_eq(va_tag_scheme_parse(names[i]), i);
		ck_assert_str_eq(va_tag_scheme_name(i), names[i]);
	}
	ck_assert_int_eq(va_tag_scheme_parse("ID24"), -1);
	ck_assert_int_eq(va_tag_scheme_parse(""), -1);
	ck_assert_str_eq(va_tag_scheme_name(VA_TAG_COUNT), "?");
}
END_TEST

/* ------------------------------------------------------------------ taggers (no vserver syscall) */

START_TEST(test_tagger_choice)
{
	struct va_tagger *t = (void *)1;
	const char *why = NULL;

	ck_assert_int_eq(va_tagger_new(1, VA_TAG_ID24, "/", &t, &why), -ERANGE);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(why);
	ck_assert_int_eq(va_tagger_new(49152, VA_TAG_ID24, "/", &t, &why), -ERANGE);
	ck_assert_int_eq(va_tagger_new(42, VA_TAG_AUTO, "/", &t, &why), -EINVAL);
	ck_assert_int_eq(va_tagger_new(42, VA_TAG_NONE, "/", &t, &why), -EINVAL);
	ck_assert_int_eq(va_tagger_new(42, VA_TAG_INTERN, "/", &t, &why), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(why, "libext2fs"));
	for (int s = VA_TAG_ID24; s <= VA_TAG_UID16; s++) {
		ck_assert_int_eq(va_tagger_new(s == VA_TAG_ID24 ? 2 : 49151, s, "/", &t, &why), 0);
		ck_assert_str_eq(t->ops->name, "raw");
		ck_assert_int_eq(t->scheme, s);
		va_tagger_free(t);
	}
	ck_assert_int_eq(va_tagger_new(42, VA_TAG_ID24, "/", &t, &why), 0);
	ck_assert_int_eq(va_tagger_fits(t, 16777215, 16777215), 0);
	ck_assert_int_eq(va_tagger_fits(t, 16777216, 0), -ERANGE);
	ck_assert_int_eq(va_tagger_fits(t, 0, 16777216), -ERANGE);
	va_tagger_free(t);
}
END_TEST

/* A version 2 file capability: cap_net_bind_service, effective. */
static const unsigned char cap_blob[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00 };

START_TEST(test_tagger_raw_files)
{
	struct va_tagger *t = NULL;
	const char *why;
	char *dir = tu_subdir("tag"), got[64];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY), fd;
	struct stat st;
	ssize_t n;

	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(va_tagger_new(4660, VA_TAG_ID24, dir, &t, &why), 0);
	/* a set-uid file with a capability, owned 5:7 */
	fd = openat(dfd, "f", O_RDWR | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchown(fd, 5, 7), 0);
	ck_assert_int_eq(fchmod(fd, 04755), 0);
	ck_assert_int_eq(fsetxattr(fd, "security.capability", cap_blob, sizeof(cap_blob), 0), 0);
	ck_assert_int_eq(va_tagger_apply(t, dfd, "f", fd, 5, 7), 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq(st.st_uid, 0x12000005u);
	ck_assert_uint_eq(st.st_gid, 0x34000007u);
	ck_assert_uint_eq(st.st_mode & 07777, 04755);
	n = fgetxattr(fd, "security.capability", got, sizeof(got));
	ck_assert_int_eq(n, sizeof(cap_blob));
	ck_assert_int_eq(memcmp(got, cap_blob, sizeof(cap_blob)), 0);
	close(fd);
	/* a symlink: itself changed (lchown), not its target */
	ck_assert_int_eq(symlinkat("f", dfd, "l"), 0);
	ck_assert_int_eq(fchownat(dfd, "l", 8, 9, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_int_eq(va_tagger_apply(t, dfd, "l", -1, 8, 9), 0);
	ck_assert_int_eq(fstatat(dfd, "l", &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_uint_eq(st.st_uid, 0x12000008u);
	ck_assert_uint_eq(st.st_gid, 0x34000009u);
	ck_assert_int_eq(fstatat(dfd, "f", &st, 0), 0);
	ck_assert_uint_eq(st.st_uid, 0x12000005u);
	/* a FIFO with the set-gid bit, by name */
	ck_assert_int_eq(mkfifoat(dfd, "p", 0600), 0);
	ck_assert_int_eq(fchmodat(dfd, "p", 02640, 0), 0);
	ck_assert_int_eq(va_tagger_apply(t, dfd, "p", -1, 0, 0), 0);
	ck_assert_int_eq(fstatat(dfd, "p", &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_uint_eq(st.st_uid, 0x12000000u);
	ck_assert_uint_eq(st.st_gid, 0x34000000u);
	ck_assert_uint_eq(st.st_mode & 07777, 02640);
	/* a directory by its own fd */
	ck_assert_int_eq(va_tagger_apply(t, dfd, ".", dfd, 0, 0), 0);
	ck_assert_int_eq(fstat(dfd, &st), 0);
	ck_assert_uint_eq(st.st_gid, 0x34000000u);
	/* an owner that does not fit: nothing changed */
	ck_assert_int_eq(va_tagger_apply(t, dfd, "l", -1, 16777216, 9), -ERANGE);
	ck_assert_int_eq(fstatat(dfd, "l", &st, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert_uint_eq(st.st_uid, 0x12000008u);
	va_tagger_free(t);
	close(dfd);
	free(dir);
}
END_TEST

static Suite *xidtag_suite(bool vserver, bool root)
{
	Suite *s = suite_create("xidtag");
	TCase *codec = tcase_create("codec"), *tagger = tcase_create("tagger");

	tcase_add_test(codec, test_encode_table);
	tcase_add_test(codec, test_decode_table);
	tcase_add_test(codec, test_encode_refusals);
	tcase_add_test(codec, test_names);
	suite_add_tcase(s, codec);
	tu_tcase_tmpdir(tagger, false);
	tu_add_test(tagger, test_tagger_choice, vserver ? "this kernel has the vserver syscall" : NULL);
	tu_add_test(tagger, test_tagger_raw_files,
		    vserver ? "this kernel has the vserver syscall" : !root ? "needs root (chown)" : NULL);
	suite_add_tcase(s, tagger);
	return s;
}

int main(void)
{
	uint32_t flags = 0, mask = 0;
	bool vserver = va_vs_get_iattr("/", NULL, &flags, &mask) != -ENOSYS;

	return tu_main(xidtag_suite(vserver, geteuid() == 0));
}
