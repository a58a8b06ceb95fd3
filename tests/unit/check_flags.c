/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_flags.c - unit tests of core/flags: the flag table, its printers
 * and its parser.
 *
 * The lsattr column order is checked against e2fsprogs itself, never
 * against a copy of the table: real lsattr(1) and chattr(1) on files whose
 * flags were set on this filesystem (and, as root, on an ext4 loop image
 * with inline_data), and libe2p's print_flags() -- lsattr's own formatter --
 * for every bit.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "core/flags.h"
#include "tests/unit/testutil.h"

#define N_EXT2_EXPECTED 22 /* e2fsprogs 1.47 lsattr prints 22 columns */

/* Every ext2 bit, written out from linux/fs.h names (see ext2_bits_match_linux_fs_h). */
static const uint32_t all_ext2_bits =
	0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 |
	0x00000040 | 0x00000080 | 0x00000400 | 0x00000800 | 0x00001000 | 0x00004000 |
	0x00008000 | 0x00010000 | 0x00020000 | 0x00080000 | 0x00100000 | 0x00800000 |
	0x02000000 | 0x10000000 | 0x20000000 | 0x40000000;

static const struct va_flag *ext2_rows(size_t *ret_n)
{
	size_t n;
	const struct va_flag *t = va_flag_table(&n);

	*ret_n = va_flags_width();
	ck_assert_uint_le(*ret_n, n);
	return t;
}

static int popcount32(uint32_t v)
{
	int n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}

/* ================================================================ table */

START_TEST(table_ext2_rows_unique)
{
	size_t n, width = va_flags_width();
	const struct va_flag *t = va_flag_table(&n);
	uint32_t seen = 0;

	ck_assert_uint_eq(width, N_EXT2_EXPECTED);
	ck_assert_uint_lt(width, VA_FLAGS_LETTERS_MAX);
	ck_assert_uint_gt(n, width);
	for (size_t i = 0; i < n; i++) {
		ck_assert_ptr_nonnull(t[i].id);
		ck_assert_ptr_nonnull(t[i].name);
		ck_assert_ptr_nonnull(t[i].desc);
		ck_assert_msg(t[i].name[0] != '\0' && t[i].desc[0] != '\0', "row %zu", i);
		ck_assert_msg(t[i].bits != 0, "row %s has no bits", t[i].id);
		/* ext2 rows first, then only other encodings */
		if (i < width)
			ck_assert_msg(t[i].enc == VA_ENC_EXT2, "row %zu (%s) is not ext2", i, t[i].id);
		else
			ck_assert_msg(t[i].enc != VA_ENC_EXT2 && popcount32(t[i].enc) == 1,
				      "row %zu (%s) enc %d", i, t[i].id, t[i].enc);
	}
	for (size_t i = 0; i < width; i++) {
		ck_assert_msg(popcount32(t[i].bits) == 1, "%s: 0x%x is not one bit", t[i].id, t[i].bits);
		ck_assert_msg(!(seen & t[i].bits), "%s: bit 0x%x used twice", t[i].id, t[i].bits);
		seen |= t[i].bits;
		ck_assert_msg(t[i].letter > ' ' && t[i].letter < 0x7f && t[i].letter != '-',
			      "%s: bad letter 0x%02x", t[i].id, (unsigned char)t[i].letter);
		for (size_t j = 0; j < i; j++) {
			ck_assert_msg(t[j].letter != t[i].letter, "letter %c used by %s and %s",
				      t[i].letter, t[j].id, t[i].id);
			ck_assert_msg(strcmp(t[j].name, t[i].name) != 0, "name %s used twice", t[i].name);
			ck_assert_msg(strcmp(t[j].id, t[i].id) != 0, "id %s used twice", t[i].id);
		}
	}
	ck_assert_uint_eq(seen, all_ext2_bits);
}
END_TEST

/* The kernel's own names for the bits (linux/fs.h). */
START_TEST(ext2_bits_match_linux_fs_h)
{
	static const struct {
		const char *name;
		unsigned long bit;
	} k[] = {
		{ "secure-deletion", FS_SECRM_FL },
		{ "undelete", FS_UNRM_FL },
		{ "compress", FS_COMPR_FL },
		{ "sync", FS_SYNC_FL },
		{ "immutable", FS_IMMUTABLE_FL },
		{ "append-only", FS_APPEND_FL },
		{ "nodump", FS_NODUMP_FL },
		{ "noatime", FS_NOATIME_FL },
		{ "nocompress", FS_NOCOMP_FL },
#ifdef FS_ENCRYPT_FL
		{ "encrypted", FS_ENCRYPT_FL },
#endif
		{ "indexed", FS_INDEX_FL },
		{ "journal-data", FS_JOURNAL_DATA_FL },
		{ "notail", FS_NOTAIL_FL },
		{ "dirsync", FS_DIRSYNC_FL },
		{ "topdir", FS_TOPDIR_FL },
		{ "extents", FS_EXTENT_FL },
#ifdef FS_VERITY_FL
		{ "verity", FS_VERITY_FL },
#endif
		{ "nocow", FS_NOCOW_FL },
#ifdef FS_DAX_FL
		{ "dax", FS_DAX_FL },
#endif
#ifdef FS_INLINE_DATA_FL
		{ "inline-data", FS_INLINE_DATA_FL },
#endif
		{ "project-inherit", FS_PROJINHERIT_FL },
#ifdef FS_CASEFOLD_FL
		{ "casefold", FS_CASEFOLD_FL },
#endif
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		const struct va_flag *f = va_flag_lookup(k[i].name, VA_ENC_EXT2);

		ck_assert_msg(f != NULL, "no ext2 row named %s", k[i].name);
		ck_assert_msg(f->bits == k[i].bit, "%s: 0x%x, linux/fs.h says 0x%lx",
			      k[i].name, f->bits, k[i].bit);
	}
	ck_assert_uint_eq(VA_FL_IMMUTABLE, FS_IMMUTABLE_FL);
	ck_assert_uint_eq(VA_FL_NOTAIL, FS_NOTAIL_FL);
	ck_assert_uint_eq(VA_FL_PROJINHERIT, FS_PROJINHERIT_FL);
}
END_TEST

START_TEST(letters_one_column_per_row)
{
	size_t width;
	const struct va_flag *t = ext2_rows(&width);
	char buf[VA_FLAGS_LETTERS_MAX], *r;

	memset(buf, 'X', sizeof(buf));
	r = va_flags_letters(0, buf);
	ck_assert_ptr_eq(r, buf);
	ck_assert_str_eq(buf, "----------------------");
	/* bits the table does not know are ignored */
	ck_assert_str_eq(va_flags_letters(0x80000000u | 0x00000100u | 0x00000200u | 0x00040000u, buf),
			 "----------------------");
	for (size_t i = 0; i < width; i++) {
		va_flags_letters(t[i].bits, buf);
		ck_assert_uint_eq(strlen(buf), width);
		for (size_t j = 0; j < width; j++)
			ck_assert_msg(buf[j] == (j == i ? t[i].letter : '-'),
				      "%s: \"%s\" column %zu", t[i].id, buf, j);
	}
	va_flags_letters(0xffffffffu, buf);
	ck_assert_uint_eq(strlen(buf), width);
	ck_assert_ptr_null(strchr(buf, '-'));
	/* the 2.4 unified state as lsattr shows it: i in column 5, t in column 13 */
	ck_assert_str_eq(va_flags_letters(0x8010, buf), "----i-------t---------");
	ck_assert_str_eq(va_flags_letters(0x80000, buf), "--------------e-------");
}
END_TEST

START_TEST(vserver_constants)
{
	const struct va_flag *f;

	/* 2.6 raw on-disk bits */
	ck_assert_uint_eq(VA_VS26_BARRIER, 0x04000000);
	ck_assert_uint_eq(VA_VS26_IUNLINK, 0x08000000);
	ck_assert_uint_eq(VA_VS26_COW, 0x20000000);
	ck_assert_uint_eq(VA_VS26_IMMUTABLE, 0x10);
	ck_assert_uint_eq(VA_VS26_MASK, 0x2c000000);
	/* 2.4: iunlink = immutable + notail; barrier = notail (+ mode 0000) */
	ck_assert_uint_eq(VA_VS24_IUNLINK, 0x8010);
	ck_assert_uint_eq(VA_VS24_BARRIER, 0x8000);
	ck_assert_uint_eq(VA_VS24_IMMUTABLE, 0x10);
	/* the vserver iattr syscall (linux/vserver/inode.h) */
	ck_assert_uint_eq(VA_IATTR_ADMIN, 0x00000001);
	ck_assert_uint_eq(VA_IATTR_WATCH, 0x00000002);
	ck_assert_uint_eq(VA_IATTR_HIDE, 0x00000004);
	ck_assert_uint_eq(VA_IATTR_BARRIER, 0x00010000);
	ck_assert_uint_eq(VA_IATTR_IUNLINK, 0x00020000);
	ck_assert_uint_eq(VA_IATTR_IMMUTABLE, 0x00040000);
	ck_assert_uint_eq(VA_IATTR_COW, 0x00080000);
	ck_assert_uint_eq(VA_IATTR_XID, 0x01000000);

	/* encoding names */
	ck_assert_str_eq(va_flag_enc_name(VA_ENC_EXT2), "ext2");
	ck_assert_str_eq(va_flag_enc_name(VA_ENC_VS24), "2.4");
	ck_assert_str_eq(va_flag_enc_name(VA_ENC_VS26), "2.6");
	ck_assert_str_eq(va_flag_enc_name(VA_ENC_IATTR), "syscall");
	ck_assert_ptr_nonnull(va_flag_enc_name((enum va_flag_enc)0));

	/* the rows carry the same values */
	f = va_flag_lookup("barrier", VA_ENC_VS26);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x04000000);
	ck_assert_int_eq(f->enc, VA_ENC_VS26);
	f = va_flag_lookup("iunlink", VA_ENC_VS26);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x08000000);
	f = va_flag_lookup("cow", VA_ENC_VS26);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x20000000);
	f = va_flag_lookup("iunlink", VA_ENC_VS24);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x8010);
	ck_assert_int_eq(f->enc, VA_ENC_VS24);
	f = va_flag_lookup("barrier", VA_ENC_VS24);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x8000);
	f = va_flag_lookup("barrier", VA_ENC_IATTR);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x00010000);
	/* 0x20000000 is both the vs2.3 cow bit and ext4 PROJINHERIT ('P') */
	f = va_flag_lookup("P", VA_ENC_EXT2);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, VA_VS26_COW);
}
END_TEST

START_TEST(vs24_barrier_and_iunlink)
{
	/* barrier: a directory, mode 0000, with 0x8000 */
	ck_assert(va_is_vs24_barrier(0x8000, S_IFDIR | 0000));
	ck_assert(va_is_vs24_barrier(0x8010, S_IFDIR | 0000));
	ck_assert(va_is_vs24_barrier(0x8000 | 0x80000, S_IFDIR | 0000));
	ck_assert(!va_is_vs24_barrier(0x8000, S_IFDIR | 0700));
	ck_assert(!va_is_vs24_barrier(0x8000, S_IFDIR | 0001));
	ck_assert(!va_is_vs24_barrier(0x8000, S_IFDIR | 0400));
	ck_assert(!va_is_vs24_barrier(0x8000, S_IFDIR | 0755));
	ck_assert(!va_is_vs24_barrier(0x8000, S_IFREG | 0000));
	ck_assert(!va_is_vs24_barrier(0x8000, S_IFLNK | 0000));
	ck_assert(!va_is_vs24_barrier(0x8000, 0000));
	ck_assert(!va_is_vs24_barrier(0, S_IFDIR | 0000));
	ck_assert(!va_is_vs24_barrier(0x10, S_IFDIR | 0000));
	ck_assert(!va_is_vs24_barrier(VA_VS26_BARRIER, S_IFDIR | 0000));
	/* iunlink: both 0x10 and 0x8000 */
	ck_assert(va_is_vs24_iunlink(0x8010));
	ck_assert(va_is_vs24_iunlink(0x8010 | 0x80000));
	ck_assert(va_is_vs24_iunlink(0xffffffffu));
	ck_assert(!va_is_vs24_iunlink(0x10));
	ck_assert(!va_is_vs24_iunlink(0x8000));
	ck_assert(!va_is_vs24_iunlink(0));
	ck_assert(!va_is_vs24_iunlink(VA_VS26_IUNLINK));
	ck_assert(!va_is_vs24_iunlink(VA_VS26_IUNLINK | 0x10));
}
END_TEST

/* ================================================================ parse */

static void parse_ok(const char *s, uint32_t want_set, uint32_t want_clear)
{
	uint32_t set = 0xdeadbeef, clear = 0xdeadbeef;
	int r = va_flags_parse(s, &set, &clear);

	ck_assert_msg(r == 0, "parse \"%s\": %d", s, r);
	ck_assert_msg(set == want_set, "parse \"%s\": set 0x%x, want 0x%x", s, set, want_set);
	ck_assert_msg(clear == want_clear, "parse \"%s\": clear 0x%x, want 0x%x", s, clear, want_clear);
}

START_TEST(parse_valid)
{
	/* numbers, strtoul base 0 */
	parse_ok("0x8010", 0x8010, 0);
	parse_ok("0X8010", 0x8010, 0);
	parse_ok("16", 0x10, 0);
	parse_ok("020", 0x10, 0);
	parse_ok("0", 0, 0);
	parse_ok("0xffffffff", 0xffffffffu, 0);
	parse_ok("4294967295", 0xffffffffu, 0);
	/* chattr-like operators */
	parse_ok("+it", 0x8010, 0);
	parse_ok("+ti", 0x8010, 0);
	parse_ok("-it", 0, 0x8010);
	parse_ok("-t", 0, 0x8000);
	parse_ok("+i", 0x10, 0);
	parse_ok("+iaA", 0x10 | 0x20 | 0x80, 0);
	parse_ok("-sS", 0, 0x1 | 0x8);
	parse_ok("=i", 0x10, all_ext2_bits & ~0x10u);
	parse_ok("=it", 0x8010, all_ext2_bits & ~0x8010u);
	/* lists of long names and letters */
	parse_ok("immutable", 0x10, 0);
	parse_ok("immutable,-notail", 0x10, 0x8000);
	parse_ok("immutable,notail", 0x8010, 0);
	parse_ok("+immutable", 0x10, 0);
	parse_ok("-immutable", 0, 0x10);
	parse_ok("i,t", 0x8010, 0);
	parse_ok("i,-t", 0x10, 0x8000);
	parse_ok("+i,-t", 0x10, 0x8000);
	parse_ok("t", 0x8000, 0);
	parse_ok("append-only,nodump,-noatime", 0x20 | 0x40, 0x80);
	parse_ok("extents,project-inherit,casefold", 0x80000 | 0x20000000 | 0x40000000, 0);
	parse_ok("I", 0x1000, 0);
	parse_ok("s,S", 0x1 | 0x8, 0);
}
END_TEST

static void parse_bad(const char *s)
{
	uint32_t set = 0xdeadbeef, clear = 0xcafef00d;
	int r = va_flags_parse(s, &set, &clear);

	ck_assert_msg(r == -EINVAL, "parse \"%s\": %d, want -EINVAL", s, r);
	ck_assert_msg(set == 0xdeadbeef && clear == 0xcafef00d,
		      "parse \"%s\" failed but changed its outputs (0x%x, 0x%x)", s, set, clear);
}

START_TEST(parse_invalid_leaves_outputs)
{
	parse_bad("");
	parse_bad("+");
	parse_bad("-");
	parse_bad("=");
	parse_bad("bogus");
	parse_bad("0xzz");
	parse_bad("0x");
	parse_bad("12abc");
	parse_bad("16 ");
	parse_bad(" 16");
	parse_bad("0x100000000");
	parse_bad("99999999999999999999999");
	parse_bad("i,,t");
	parse_bad("i,");
	parse_bad(",i");
	parse_bad(",");
	parse_bad("+iz");
	parse_bad("+i-t");
	parse_bad("-q");
	parse_bad("immutable,bogus");
	parse_bad("immutable,+");
	parse_bad("barrier");   /* not an ext2 row */
	parse_bad("iunlink");
	parse_bad("Immutable,");
	parse_bad("+-");
	parse_bad("++i");
	parse_bad("i t");
}
END_TEST

/* ================================================================ names */

START_TEST(names_format)
{
	char buf[512];
	size_t width;
	const struct va_flag *t = ext2_rows(&width);

	ck_assert_uint_eq(va_flags_names(0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "");
	ck_assert_uint_eq(va_flags_names(0x10, buf, sizeof(buf)), strlen("immutable"));
	ck_assert_str_eq(buf, "immutable");
	ck_assert_uint_eq(va_flags_names(0x8010, buf, sizeof(buf)), strlen("immutable,notail"));
	ck_assert_str_eq(buf, "immutable,notail");
	ck_assert_uint_eq(va_flags_names(0x80000000u, buf, sizeof(buf)), strlen("0x80000000"));
	ck_assert_str_eq(buf, "0x80000000");
	ck_assert_uint_eq(va_flags_names(0x300, buf, sizeof(buf)), strlen("0x300"));
	ck_assert_str_eq(buf, "0x300");
	ck_assert_uint_eq(va_flags_names(0x80000010u, buf, sizeof(buf)), strlen("immutable,0x80000000"));
	ck_assert_str_eq(buf, "immutable,0x80000000");
	va_flags_names(0x80000 | 0x8000 | 0x10 | 0x20 | 0x100, buf, sizeof(buf));
	ck_assert_str_eq(buf, "immutable,append-only,notail,extents,0x100");

	/* every bit: each long name exactly once, then the unknown bits */
	{
		size_t len = va_flags_names(0xffffffffu, buf, sizeof(buf));
		char *save = NULL, *tok;
		size_t count = 0;
		bool seen[64] = { false };

		ck_assert_uint_eq(len, strlen(buf));
		for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			size_t i;

			if (count == width) {
				ck_assert_msg(strtoul(tok, NULL, 0) == (0xffffffffu & ~all_ext2_bits),
					      "unknown bits printed as %s", tok);
				count++;
				continue;
			}
			for (i = 0; i < width && strcmp(t[i].name, tok) != 0; i++)
				;
			ck_assert_msg(i < width, "unexpected name %s", tok);
			ck_assert_msg(!seen[i], "name %s twice", tok);
			seen[i] = true;
			count++;
		}
		ck_assert_uint_eq(count, width + 1);
	}
}
END_TEST

START_TEST(names_truncate_like_snprintf)
{
	static const uint32_t cases[] = { 0, 0x10, 0x8010, 0x80000010u, 0xffffffffu, 0x20000300u };

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char full[512], buf[600];
		size_t len = va_flags_names(cases[c], full, sizeof(full));

		ck_assert_uint_eq(len, strlen(full));
		ck_assert_uint_eq(va_flags_names(cases[c], NULL, 0), len);
		for (size_t size = 0; size <= len + 2; size++) {
			size_t r, keep = size ? (size - 1 < len ? size - 1 : len) : 0;

			memset(buf, 0xAA, sizeof(buf));
			r = va_flags_names(cases[c], buf, size);
			ck_assert_msg(r == len, "0x%x size %zu: returned %zu, want %zu", cases[c], size, r, len);
			if (size) {
				ck_assert_msg(memcmp(buf, full, keep) == 0 && buf[keep] == '\0',
					      "0x%x size %zu: \"%.*s\"", cases[c], size, (int)keep, buf);
			}
			for (size_t k = size; k < size + 32; k++)
				ck_assert_msg((unsigned char)buf[k] == 0xAA,
					      "0x%x size %zu: byte %zu written", cases[c], size, k);
		}
	}
}
END_TEST

/* ================================================================ lookup */

START_TEST(lookup_by_name_and_letter)
{
	const unsigned all = VA_ENC_EXT2 | VA_ENC_VS24 | VA_ENC_VS26 | VA_ENC_IATTR;
	size_t width;
	const struct va_flag *t = ext2_rows(&width), *f;

	for (size_t i = 0; i < width; i++) {
		const char letter[2] = { t[i].letter, '\0' };

		ck_assert_ptr_eq(va_flag_lookup(t[i].name, VA_ENC_EXT2), &t[i]);
		ck_assert_ptr_eq(va_flag_lookup(letter, VA_ENC_EXT2), &t[i]);
		ck_assert_ptr_eq(va_flag_lookup(t[i].name, all), &t[i]);
	}
	f = va_flag_lookup("immutable", VA_ENC_EXT2);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x10);
	ck_assert_str_eq(f->id, "IMMUTABLE");
	f = va_flag_lookup("i", VA_ENC_EXT2);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x10);
	f = va_flag_lookup("t", VA_ENC_EXT2);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x8000);
	f = va_flag_lookup("I", VA_ENC_EXT2);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x1000);
	f = va_flag_lookup("s", VA_ENC_EXT2);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x1);
	f = va_flag_lookup("S", VA_ENC_EXT2);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x8);
	f = va_flag_lookup("c", VA_ENC_EXT2);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x4);
	f = va_flag_lookup("c", VA_ENC_VS26);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x20000000);
	ck_assert_int_eq(f->enc, VA_ENC_VS26);
	f = va_flag_lookup("xid", VA_ENC_IATTR);
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(f->bits, 0x01000000);
	/* restricted to the encodings asked for */
	ck_assert_ptr_null(va_flag_lookup("barrier", VA_ENC_EXT2));
	ck_assert_ptr_null(va_flag_lookup("notail", VA_ENC_VS26));
	ck_assert_ptr_null(va_flag_lookup("immutable", 0));
	ck_assert_ptr_null(va_flag_lookup("bogus", all));
	ck_assert_ptr_null(va_flag_lookup("", all));
	ck_assert_ptr_null(va_flag_lookup("q", VA_ENC_EXT2));
	ck_assert_ptr_null(va_flag_lookup("it", VA_ENC_EXT2));
	ck_assert_ptr_null(va_flag_lookup("immutable,", VA_ENC_EXT2));
}
END_TEST

/* ================================================================ e2p */

typedef void print_flags_fn(FILE *f, unsigned long flags, unsigned options);

static print_flags_fn *e2p_print_flags(void)
{
	static const char *const libs[] = { "libe2p.so.2", "libe2p.so" };
	print_flags_fn *fn = NULL;

	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]) && !fn; i++) {
		void *h = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
		void *sym;

		if (!h)
			continue;
		sym = dlsym(h, "print_flags");
		if (sym)
			memcpy(&fn, &sym, sizeof(fn));
	}
	return fn;
}

static void e2p_letters(print_flags_fn *fn, uint32_t flags, char *out, size_t size)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	ck_assert_ptr_nonnull(f);
	fn(f, flags, 0);
	fclose(f);
	snprintf(out, size, "%s", s);
	free(s);
}

START_TEST(letters_match_libe2p_print_flags)
{
	print_flags_fn *fn = e2p_print_flags();
	size_t width;
	const struct va_flag *t = ext2_rows(&width);
	char want[128], got[VA_FLAGS_LETTERS_MAX];
	uint64_t seed = 7;

	ck_assert_ptr_nonnull(fn);
	e2p_letters(fn, 0, want, sizeof(want));
	ck_assert_msg(strlen(want) == width, "lsattr prints %zu columns, table has %zu (\"%s\")",
		      strlen(want), width, want);
	for (size_t i = 0; i < width; i++) {
		e2p_letters(fn, t[i].bits, want, sizeof(want));
		ck_assert_msg(strcmp(want, va_flags_letters(t[i].bits, got)) == 0,
			      "%s (0x%x): lsattr \"%s\", vaudit \"%s\"", t[i].id, t[i].bits, want, got);
	}
	for (int bit = 0; bit < 32; bit++) {
		e2p_letters(fn, 1u << bit, want, sizeof(want));
		ck_assert_msg(strcmp(want, va_flags_letters(1u << bit, got)) == 0,
			      "bit 0x%x: lsattr \"%s\", vaudit \"%s\"", 1u << bit, want, got);
	}
	for (int k = 0; k < 2000; k++) {
		uint32_t flags = (uint32_t)tu_rand(&seed);

		e2p_letters(fn, flags, want, sizeof(want));
		ck_assert_msg(strcmp(want, va_flags_letters(flags, got)) == 0,
			      "0x%08x: lsattr \"%s\", vaudit \"%s\"", flags, want, got);
	}
}
END_TEST

/* ================================================================ kernel */

static bool get_flags(int fd, uint32_t *ret)
{
	int v = 0;

	if (ioctl(fd, FS_IOC_GETFLAGS, &v) < 0)
		return false;
	*ret = (uint32_t)v;
	return true;
}

static bool set_flags(int fd, uint32_t flags)
{
	int v = (int)flags;

	return ioctl(fd, FS_IOC_SETFLAGS, &v) == 0;
}

/* The letters lsattr -d prints for @path, or NULL (message in @errs). */
static char *lsattr_letters(const char *path, struct dbuf *errs)
{
	const char *argv[] = { "lsattr", "-d", "--", path, NULL };
	struct dbuf out = DBUF_INIT;
	int status = tu_run(argv, NULL, 0, &out);
	char *sp;

	if (!tu_run_ok(status) || !out.buf || !(sp = strchr(out.buf, ' '))) {
		dbuf_addf(errs, "lsattr -d %s failed (status 0x%x, output \"%s\")\n", path, status,
			  dbuf_str(&out));
		dbuf_release(&out);
		return NULL;
	}
	*sp = '\0';
	return out.buf;
}

static void compare_lsattr(const char *path, uint32_t flags, struct dbuf *errs)
{
	char mine[VA_FLAGS_LETTERS_MAX];
	char *theirs = lsattr_letters(path, errs);

	if (!theirs)
		return;
	va_flags_letters(flags, mine);
	if (strcmp(theirs, mine) != 0)
		dbuf_addf(errs, "%s flags 0x%08x: lsattr \"%s\", va_flags_letters \"%s\"\n",
			  path, flags, theirs, mine);
	free(theirs);
}

/*
 * In @dir: for every ext2 row, a file and a directory; chattr +LETTER each
 * (chattr's letter must set exactly the row's bit), then compare lsattr -d
 * with va_flags_letters() of FS_IOC_GETFLAGS.  Flags are restored, errors
 * collected in @errs.  Return: the bits that could be exercised.
 */
static uint32_t compare_in_dir(const char *dir, struct dbuf *errs)
{
	size_t width;
	const struct va_flag *t = ext2_rows(&width);
	uint32_t exercised = 0, orig, now, all_file = 0;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *path;

	ck_assert_msg(dfd >= 0, "open %s: %s", dir, strerror(errno));
	for (size_t i = 0; i < width; i++) {
		for (int isdir = 0; isdir <= 1; isdir++) {
			char name[64], letter[3] = { '+', t[i].letter, '\0' };
			const char *argv[] = { "chattr", letter, "--", NULL, NULL };
			int fd;

			snprintf(name, sizeof(name), "%s_%s", isdir ? "d" : "f", t[i].id);
			if (isdir)
				ck_assert_int_eq(mkdirat(dfd, name, 0755), 0);
			else
				tu_write_file(dfd, name, "some data\n", 10);
			fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			ck_assert_msg(fd >= 0, "open %s: %s", name, strerror(errno));
			path = tu_strdupf("%s/%s", dir, name);
			if (!get_flags(fd, &orig)) {
				dbuf_addf(errs, "FS_IOC_GETFLAGS %s: %s\n", path, strerror(errno));
				close(fd);
				free(path);
				continue;
			}
			exercised |= orig;
			compare_lsattr(path, orig, errs);

			argv[3] = path;
			tu_run_quiet(argv, NULL); /* may fail: not every flag can be set here */
			if (get_flags(fd, &now) && now != orig) {
				if ((now ^ orig) != t[i].bits)
					dbuf_addf(errs, "chattr +%c %s changed 0x%x, the table says %s is 0x%x\n",
						  t[i].letter, path, now ^ orig, t[i].id, t[i].bits);
				exercised |= now ^ orig;
				if (!isdir)
					all_file |= now ^ orig;
				compare_lsattr(path, now, errs);
				if (!set_flags(fd, orig))
					dbuf_addf(errs, "cannot restore flags of %s: %s\n", path, strerror(errno));
			}
			close(fd);
			free(path);
		}
	}

	/* everything that could be set on a file at once */
	{
		int fd;

		tu_write_file(dfd, "all", "x", 1);
		fd = openat(dfd, "all", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		path = tu_strdupf("%s/all", dir);
		if (get_flags(fd, &orig) && set_flags(fd, orig | all_file) && get_flags(fd, &now)) {
			compare_lsattr(path, now, errs);
			if (!set_flags(fd, orig))
				dbuf_addf(errs, "cannot restore flags of %s: %s\n", path, strerror(errno));
		}
		close(fd);
		free(path);
	}

	/* a large directory gets a hashed index ('I') on ext4 */
	{
		int big;

		ck_assert_int_eq(mkdirat(dfd, "bigdir", 0755), 0);
		big = openat(dfd, "bigdir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(big, 0);
		for (int k = 0; k < 400; k++) {
			char name[128];

			snprintf(name, sizeof(name), "entry-%04d-with-a-rather-long-name-to-fill-blocks-quickly", k);
			tu_write_file(big, name, "", 0);
		}
		path = tu_strdupf("%s/bigdir", dir);
		if (get_flags(big, &now)) {
			exercised |= now;
			compare_lsattr(path, now, errs);
		}
		close(big);
		free(path);
	}
	close(dfd);
	return exercised;
}

START_TEST(letters_match_lsattr_here)
{
	char *dir = tu_subdir("lsattr");
	struct dbuf errs = DBUF_INIT;
	uint32_t exercised = compare_in_dir(dir, &errs);
	char names[512];

	va_flags_names(exercised, names, sizeof(names));
	fprintf(stderr, "# lsattr compared on %s for: %s\n", dir, names);
	ck_assert_msg(errs.len == 0, "%s", dbuf_str(&errs));
	ck_assert_msg(exercised != 0, "no flag could be set or read in %s", dir);
	dbuf_release(&errs);
	free(dir);
}
END_TEST

/* An ext4 image with inline_data, loop-mounted: 'N' and 'I' appear. */
START_TEST(letters_match_lsattr_ext4_image)
{
	char *dir = tu_subdir("image");
	char *img = tu_strdupf("%s/ext4.img", dir), *mnt = tu_strdupf("%s/mnt", dir);
	const char *mkfs[] = { "mkfs.ext4", "-q", "-F", "-O", "inline_data", img, NULL };
	const char *mkfs_plain[] = { "mkfs.ext4", "-q", "-F", img, NULL };
	const char *mount_argv[] = { "mount", "-o", "loop", img, mnt, NULL };
	struct dbuf errs = DBUF_INIT;
	uint32_t exercised = 0, flags;
	bool mounted;
	char names[512];
	int fd;

	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 64 << 20), 0);
	close(fd);
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	if (!tu_run_ok(tu_run(mkfs, NULL, 0, NULL)))
		ck_assert_msg(tu_run_ok(tu_run(mkfs_plain, NULL, 0, NULL)), "mkfs.ext4 failed");
	mounted = tu_run_ok(tu_run(mount_argv, NULL, 0, NULL));
	ck_assert_msg(mounted, "mount -o loop %s failed", img);

	/* collect everything first: the image must be unmounted before asserting */
	exercised = compare_in_dir(mnt, &errs);
	{
		int dfd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		tu_write_file(dfd, "tiny", "tiny\n", 5);
		fd = openat(dfd, "tiny", O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && get_flags(fd, &flags)) {
			char *p = tu_strdupf("%s/tiny", mnt);

			exercised |= flags;
			compare_lsattr(p, flags, &errs);
			free(p);
		}
		if (fd >= 0)
			close(fd);
		close(dfd);
	}
	if (umount2(mnt, 0) < 0)
		umount2(mnt, MNT_DETACH);

	va_flags_names(exercised, names, sizeof(names));
	fprintf(stderr, "# lsattr compared on an ext4 image for: %s\n", names);
	ck_assert_msg(errs.len == 0, "%s", dbuf_str(&errs));
	ck_assert_msg(exercised & VA_FL_IMMUTABLE, "immutable could not be set on the image");
	dbuf_release(&errs);
	free(img);
	free(mnt);
	free(dir);
}
END_TEST

/* ================================================================ main */

/* Why the lsattr comparison on /tmp cannot run, or NULL. */
static const char *why_not_lsattr_here(void)
{
	char tmpl[] = "/tmp/vaudit-unit-probe-XXXXXX";
	const char *why = NULL;
	uint32_t flags;
	int fd;

	if (!tu_have("lsattr") || !tu_have("chattr"))
		return "lsattr/chattr not installed";
	fd = mkstemp(tmpl);
	if (fd < 0)
		return "cannot create a file in /tmp";
	if (!get_flags(fd, &flags))
		why = "the filesystem of /tmp has no inode flags (FS_IOC_GETFLAGS)";
	else if (!set_flags(fd, flags | FS_NODUMP_FL) || !get_flags(fd, &flags) || !(flags & FS_NODUMP_FL))
		why = "the filesystem of /tmp cannot set inode flags (FS_IOC_SETFLAGS)";
	close(fd);
	unlink(tmpl);
	return why;
}

/* Why no ext4 image can be loop-mounted here, or NULL (tries it once). */
static const char *why_not_image(void)
{
	char tmpl[] = "/tmp/vaudit-unit-probe-XXXXXX";
	const char *why = NULL;
	char *img, *mnt;
	int fd;

	if (geteuid() != 0)
		return "not root";
	if (!tu_have("mkfs.ext4") || !tu_have("mount") || !tu_have("lsattr") || !tu_have("chattr"))
		return "mkfs.ext4, mount, lsattr or chattr not installed";
	if (access("/dev/loop-control", F_OK) != 0)
		return "no loop devices";
	if (!mkdtemp(tmpl))
		return "cannot create a directory in /tmp";
	if (asprintf(&img, "%s/img", tmpl) < 0 || asprintf(&mnt, "%s/mnt", tmpl) < 0)
		abort();
	fd = open(img, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, 8 << 20) < 0 || mkdir(mnt, 0700) < 0) {
		why = "cannot create the probe image";
	} else {
		const char *mkfs[] = { "mkfs.ext4", "-q", "-F", img, NULL };
		const char *mnt_argv[] = { "mount", "-o", "loop", img, mnt, NULL };

		if (!tu_run_ok(tu_run(mkfs, NULL, 0, NULL)))
			why = "mkfs.ext4 failed";
		else if (!tu_run_ok(tu_run(mnt_argv, NULL, 0, NULL)))
			why = "mount -o loop failed";
		else if (umount2(mnt, 0) < 0)
			umount2(mnt, MNT_DETACH);
	}
	if (fd >= 0)
		close(fd);
	tu_rm_rf(tmpl, false);
	free(img);
	free(mnt);
	return why;
}

static Suite *flags_suite(void)
{
	Suite *s = suite_create("flags");
	TCase *table = tcase_create("table");
	TCase *parse = tcase_create("parse");
	TCase *e2p = tcase_create("e2p");
	TCase *kernel = tcase_create("lsattr");

	tu_add_test(table, table_ext2_rows_unique, NULL);
	tu_add_test(table, ext2_bits_match_linux_fs_h, NULL);
	tu_add_test(table, letters_one_column_per_row, NULL);
	tu_add_test(table, vserver_constants, NULL);
	tu_add_test(table, vs24_barrier_and_iunlink, NULL);
	tu_add_test(table, names_format, NULL);
	tu_add_test(table, names_truncate_like_snprintf, NULL);
	tu_add_test(table, lookup_by_name_and_letter, NULL);
	suite_add_tcase(s, table);

	tu_add_test(parse, parse_valid, NULL);
	tu_add_test(parse, parse_invalid_leaves_outputs, NULL);
	suite_add_tcase(s, parse);

	tcase_set_timeout(e2p, 30);
	tu_add_test(e2p, letters_match_libe2p_print_flags,
		    e2p_print_flags() ? NULL : "libe2p (print_flags) not available");
	suite_add_tcase(s, e2p);

	tu_tcase_tmpdir(kernel, true);
	tcase_set_timeout(kernel, 120);
	tu_add_test(kernel, letters_match_lsattr_here, why_not_lsattr_here());
	tu_add_test(kernel, letters_match_lsattr_ext4_image, why_not_image());
	suite_add_tcase(s, kernel);
	return s;
}

int main(void)
{
	return tu_main(flags_suite());
}
