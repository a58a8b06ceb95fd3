/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_checks.c - table-driven unit tests of the audit rules
 * (audit/checks.c): va_check_file, va_check_shared, va_check_dir,
 * va_check_root, va_propose, va_is_leftover_name, va_severity_counts.
 *
 * Each table row is {inputs, expected kinds (or proposal)}.  The expected
 * values are written from the domain facts, never from running the code:
 * the on-disk encodings of both kernel generations (immutable 0x10,
 * 2.4 iunlink = 0x10 + 0x8000, 2.4 barrier = directory mode 0000 (mode &
 * 0777) + 0x8000, 2.6 barrier 0x04000000, 2.6 iunlink 0x08000000, vs2.3
 * cow 0x20000000), the 2.4 to 2.6 migration recipe (a 2.4 unified file
 * becomes immutable + 0x08000000 without the stale 0x8000; ROOT gets the
 * 2.6 barrier), the barrier placement (on the directory holding the
 * guests, not on a guest root), the mkstemp() backup names "NAME;XXXXXX"
 * of util-vserver's unify, and the kind table of README.md.  Flag
 * values are hex literals here on purpose; one test checks that
 * core/flags.h names the same values.  A rule that needs the 2.6 bits
 * must stay silent when the back end could not read them (known without
 * VA_KNOWN_VS26), and every rule is silent when no flags were read.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audit/checks.h"
#include "core/attr.h"
#include "core/finding.h"
#include "core/flags.h"
#include "tests/unit/testutil.h"

/* the on-disk encodings (util-vserver's and the kernel patches' values) */
#define IMM     0x00000010u /* immutable, 2.4 and 2.6 */
#define APP     0x00000020u /* append-only: not a protection of shared files */
#define T24     0x00008000u /* 2.4 iunlink/barrier bit, ext2 NOTAIL, lsattr t */
#define BAR26   0x04000000u /* 2.6 chroot barrier */
#define IUN26   0x08000000u /* 2.6 iunlink */
#define COW26   0x20000000u /* vs2.3 copy-on-write */
#define EXTENTS 0x00080000u /* ext4 extents: unrelated to every rule */

#define NONE 0u
#define E    ((unsigned)VA_KNOWN_EXT2)
#define EV   ((unsigned)(VA_KNOWN_EXT2 | VA_KNOWN_VS26))

#define K(x) VA_KIND_BIT(VA_KIND_##x)
#define LI   K(LEGACY_IUNLINK)
#define LN   K(LEGACY_NOTAIL)
#define LB   K(LEGACY_BARRIER)
#define MB   K(MISSING_BARRIER)
#define BU   K(BARRIER_UNVERIFIED)
#define SU   K(SHARED_UNPROTECTED)
#define SINI K(SHARED_IMMUTABLE_NO_IUNLINK)
#define INI  K(IUNLINK_NOT_IMMUTABLE)
#define BOG  K(BARRIER_ON_GUEST)
#define COW  K(COW)

#define NROWS(t) ((int)(sizeof(t) / sizeof((t)[0])))

/* "legacy-iunlink+cow" for a kind set, for the failure messages */
static const char *kinds_str(uint64_t k, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < VA_KIND_COUNT; i++) {
		if (!(k & VA_KIND_BIT(i)))
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "+" : "",
				      va_kind_name((enum va_kind)i));
	}
	if (!n)
		snprintf(buf, len, "(none)");
	return buf;
}

static void assert_kinds(const char *fn, int row, const char *what, uint64_t got, uint64_t want)
{
	char g[512], w[512];

	ck_assert_msg(got == want, "%s row %d (%s): got %s, want %s", fn, row, what,
		      kinds_str(got, g, sizeof(g)), kinds_str(want, w, sizeof(w)));
}

/* ================================================================ the flag values */

START_TEST(flag_values_are_the_facts)
{
	ck_assert_uint_eq(VA_FL_IMMUTABLE, IMM);
	ck_assert_uint_eq(VA_FL_APPEND, APP);
	ck_assert_uint_eq(VA_FL_NOTAIL, T24);
	ck_assert_uint_eq(VA_VS24_IUNLINK, IMM | T24);
	ck_assert_uint_eq(VA_VS24_BARRIER, T24);
	ck_assert_uint_eq(VA_VS26_BARRIER, BAR26);
	ck_assert_uint_eq(VA_VS26_IUNLINK, IUN26);
	ck_assert_uint_eq(VA_VS26_COW, COW26);
}
END_TEST

/* ================================================================ va_check_file */

static const struct file_row {
	uint32_t flags;
	unsigned known;
	uint64_t want;
	const char *what;
} file_rows[] = {
	{ 0, EV, 0, "no flags" },
	{ IMM, EV, 0, "plain immutable, private" },
	{ IMM | T24, E, LI, "2.4 unified (lsattr i and t), 2.6 bits unknown" },
	{ IMM | T24, EV, LI, "2.4 unified, 2.6 bits known" },
	{ IMM | T24 | EXTENTS, EV, LI, "2.4 unified on ext4 (extents bit ignored)" },
	{ T24, E, LN, "stray t without immutable" },
	{ T24, EV, LN, "stray t, 2.6 bits known" },
	{ APP | T24, E, LN, "append-only with t" },
	{ IMM | IUN26, EV, 0, "2.6 unified (immutable + iunlink)" },
	{ IMM | IUN26, E, 0, "2.6 unified, 2.6 bits unknown" },
	{ IUN26, EV, INI, "2.6 iunlink without immutable" },
	{ IUN26, E, 0, "2.6 iunlink, 2.6 bits unknown: silent" },
	{ COW26, EV, COW, "vs2.3 cow marker" },
	{ COW26, E, 0, "cow, 2.6 bits unknown: silent" },
	{ IMM | IUN26 | COW26, EV, COW, "cow on a 2.6 unified file" },
	{ IMM | T24 | IUN26, EV, LI, "half migrated: 2.4 and 2.6 iunlink both set" },
	{ T24 | IUN26, EV, LN | INI, "t and 2.6 iunlink, no immutable" },
	{ T24 | IUN26 | COW26, EV, LN | INI | COW, "t, 2.6 iunlink and cow, no immutable" },
	{ T24 | COW26, E, LN, "t and cow, 2.6 bits unknown" },
	{ BAR26, EV, 0, "the barrier bit means nothing on a file" },
	{ IMM | T24, NONE, 0, "2.4 unified, flags not read" },
	{ T24 | IUN26 | COW26, NONE, 0, "every bit, flags not read" },
};

START_TEST(check_file_table)
{
	const struct file_row *r = &file_rows[_i];

	assert_kinds("va_check_file", _i, r->what, va_check_file(r->flags, r->known), r->want);
}
END_TEST

/* ================================================================ va_check_shared */

static const struct shared_row {
	uint32_t flags;
	unsigned known;
	size_t nguests;
	uint64_t want;
	const char *what;
} shared_rows[] = {
	{ 0, EV, 0, 0, "no guest (names outside the guests)" },
	{ 0, EV, 1, 0, "one guest: not shared" },
	{ 0, E, 2, SU, "two guests, not immutable" },
	{ 0, EV, 3, SU, "three guests, not immutable, 2.6 bits known" },
	{ APP, E, 2, SU, "append-only is not immutable" },
	{ T24, E, 2, SU, "t without immutable" },
	{ IUN26, EV, 2, SU, "2.6 iunlink without immutable" },
	{ IMM, EV, 2, SINI, "immutable only: a 2.4 host booted on 2.6 unmigrated" },
	{ IMM, E, 2, 0, "immutable only, 2.6 bits unknown: silent" },
	{ IMM | EXTENTS, EV, 4, SINI, "immutable only on ext4" },
	{ IMM | T24, EV, 2, 0, "2.4 unified: legacy-iunlink covers it" },
	{ IMM | IUN26, EV, 3, 0, "2.6 unified" },
	{ IMM | IUN26 | COW26, EV, 2, 0, "2.6 unified with cow" },
	{ IMM, EV, 1, 0, "immutable only, one guest" },
	{ 0, NONE, 5, 0, "flags not read" },
};

START_TEST(check_shared_table)
{
	const struct shared_row *r = &shared_rows[_i];

	assert_kinds("va_check_shared", _i, r->what, va_check_shared(r->flags, r->known, r->nguests),
		     r->want);
}
END_TEST

/* ================================================================ va_check_dir */

static const struct dir_row {
	uint32_t flags;
	unsigned known;
	uint32_t mode;
	bool guest_root;
	uint64_t want;
	const char *what;
} dir_rows[] = {
	{ 0, EV, S_IFDIR | 0755, false, 0, "plain directory" },
	{ 0, EV, S_IFDIR | 0755, true, 0, "plain guest root" },
	{ T24, E, S_IFDIR | 0000, false, LB, "2.4 barrier inside a guest" },
	{ T24, EV, S_IFDIR | 0000, false, LB, "2.4 barrier, 2.6 bits known" },
	{ T24, E, S_IFDIR | 01000, false, LB, "2.4 barrier with the sticky bit (mode & 0777 is 0)" },
	{ T24, E, S_IFDIR | 0755, false, 0, "t on a directory of mode 0755: no barrier" },
	{ T24, E, S_IFDIR | 0700, false, 0, "t on a directory of mode 0700: no barrier" },
	{ 0, E, S_IFDIR | 0000, false, 0, "mode 0000 without t: no barrier" },
	{ IMM | T24, EV, S_IFDIR | 0755, false, 0, "immutable directory with t, mode 0755" },
	{ T24, E, S_IFDIR | 0000, true, LB | BOG, "2.4 barrier on a guest root" },
	{ T24, EV, S_IFDIR | 0000, true, LB | BOG, "2.4 barrier on a guest root, 2.6 bits known" },
	{ BAR26, EV, S_IFDIR | 0755, true, BOG, "2.6 barrier on a guest root" },
	{ BAR26, E, S_IFDIR | 0755, true, 0, "2.6 barrier on a guest root, 2.6 bits unknown" },
	{ BAR26, EV, S_IFDIR | 0755, false, 0, "2.6 barrier deeper in a guest" },
	{ IUN26, EV, S_IFDIR | 0755, false, 0, "2.6 iunlink on a directory" },
	{ BAR26 | T24, EV, S_IFDIR | 0000, true, LB | BOG, "both barriers on a guest root" },
	{ T24, NONE, S_IFDIR | 0000, true, 0, "flags not read" },
};

START_TEST(check_dir_table)
{
	const struct dir_row *r = &dir_rows[_i];

	assert_kinds("va_check_dir", _i, r->what, va_check_dir(r->flags, r->known, r->mode, r->guest_root),
		     r->want);
}
END_TEST

/* ================================================================ va_check_root */

static const struct root_row {
	uint32_t flags;
	unsigned known;
	uint32_t mode;
	uint64_t want;
	const char *what;
} root_rows[] = {
	{ 0, E, S_IFDIR | 0755, BU, "no 2.4 barrier, 2.6 bits unknown" },
	{ 0, NONE, S_IFDIR | 0000, BU, "nothing known" },
	{ T24, E, S_IFDIR | 0755, BU, "t with mode 0755 is no barrier, 2.6 unknown" },
	{ BAR26, E, S_IFDIR | 0755, BU, "2.6 barrier present but unreadable" },
	{ 0, EV, S_IFDIR | 0755, MB, "no barrier in any encoding" },
	{ T24, EV, S_IFDIR | 0755, MB, "t with mode 0755, no 2.6 barrier" },
	{ 0, EV, S_IFDIR | 0000, MB, "mode 0000 without t, no 2.6 barrier" },
	{ BAR26, EV, S_IFDIR | 0755, 0, "2.6 barrier" },
	{ BAR26 | IMM | IUN26, EV, S_IFDIR | 0000, 0, "2.6 barrier with other bits" },
	{ T24, E, S_IFDIR | 0000, LB, "2.4 barrier" },
	{ T24, EV, S_IFDIR | 0000, LB, "2.4 barrier, no 2.6 barrier: not missing" },
	{ T24 | BAR26, EV, S_IFDIR | 0000, LB, "both encodings: legacy-barrier only" },
};

START_TEST(check_root_table)
{
	const struct root_row *r = &root_rows[_i];

	assert_kinds("va_check_root", _i, r->what, va_check_root(r->flags, r->known, r->mode), r->want);
}
END_TEST

/* ================================================================ va_propose */

static const struct propose_row {
	enum va_kind kind;
	uint32_t flags;
	uint32_t mode;
	unsigned known;
	bool on_root;
	bool want_proposal;
	uint32_t want_flags;
	uint32_t want_mode;
	const char *what;
} propose_rows[] = {
	/* the recipe: setattr --iunlink (0x10 + 0x08000000), then chattr -t */
	{ VA_KIND_LEGACY_IUNLINK, IMM | T24, S_IFREG | 0644, EV, false, true,
	  IMM | IUN26, S_IFREG | 0644, "2.4 unified file becomes 2.6 unified" },
	{ VA_KIND_LEGACY_IUNLINK, IMM | T24 | EXTENTS, S_IFREG | 0755, E, false, true,
	  IMM | IUN26 | EXTENTS, S_IFREG | 0755, "... other bits kept" },
	{ VA_KIND_LEGACY_IUNLINK, IMM | T24, S_IFREG | 0644, NONE, false, false,
	  0, 0, "flags not read: no proposal" },
	{ VA_KIND_LEGACY_NOTAIL, T24, S_IFREG | 0644, E, false, true,
	  0, S_IFREG | 0644, "stray t cleared" },
	{ VA_KIND_LEGACY_NOTAIL, T24 | IUN26 | COW26, S_IFREG | 0600, EV, false, true,
	  IUN26 | COW26, S_IFREG | 0600, "stray t cleared, 2.6 bits kept" },
	/* shared: the 2.6 unified state; a stray 2.4 bit goes */
	{ VA_KIND_SHARED_UNPROTECTED, 0, S_IFREG | 0644, E, false, true,
	  IMM | IUN26, S_IFREG | 0644, "shared file gets unified" },
	{ VA_KIND_SHARED_UNPROTECTED, APP | T24, S_IFREG | 0644, E, false, true,
	  APP | IMM | IUN26, S_IFREG | 0644, "shared append-only file with t" },
	{ VA_KIND_SHARED_IMMUTABLE_NO_IUNLINK, IMM, S_IFREG | 0644, EV, false, true,
	  IMM | IUN26, S_IFREG | 0644, "immutable shared file gets 2.6 iunlink" },
	{ VA_KIND_IUNLINK_NOT_IMMUTABLE, IUN26, S_IFREG | 0644, EV, false, true,
	  IMM | IUN26, S_IFREG | 0644, "iunlink without immutable gets immutable" },
	{ VA_KIND_IUNLINK_NOT_IMMUTABLE, IUN26 | COW26, S_IFREG | 0644, EV, false, true,
	  IMM | IUN26 | COW26, S_IFREG | 0644, "... cow kept" },
	/* barriers: ROOT gets the 2.6 barrier (mode kept); a 2.4 barrier
	 * elsewhere is taken down to a private directory (0700) */
	{ VA_KIND_LEGACY_BARRIER, T24, S_IFDIR | 0000, E, true, true,
	  BAR26, S_IFDIR | 0000, "2.4 barrier on ROOT becomes the 2.6 barrier" },
	{ VA_KIND_LEGACY_BARRIER, T24 | BAR26, S_IFDIR | 0000, EV, true, true,
	  BAR26, S_IFDIR | 0000, "ROOT with both barriers keeps the 2.6 one" },
	{ VA_KIND_LEGACY_BARRIER, T24, S_IFDIR | 0000, E, false, true,
	  0, S_IFDIR | 0700, "2.4 barrier inside a guest: t cleared, mode 0700" },
	{ VA_KIND_LEGACY_BARRIER, T24, S_IFDIR | 01000, E, false, true,
	  0, S_IFDIR | 0700, "... the sticky bit goes with the mode" },
	{ VA_KIND_MISSING_BARRIER, 0, S_IFDIR | 0755, EV, true, true,
	  BAR26, S_IFDIR | 0755, "missing barrier: the 2.6 barrier, mode kept" },
	{ VA_KIND_MISSING_BARRIER, EXTENTS, S_IFDIR | 0711, EV, true, true,
	  BAR26 | EXTENTS, S_IFDIR | 0711, "... other bits kept" },
	{ VA_KIND_BARRIER_UNVERIFIED, 0, S_IFDIR | 0755, E, true, true,
	  BAR26, S_IFDIR | 0755, "unverified: the 2.6 barrier (setattr --barrier)" },
	/* the barrier belongs on the parent, not on the guest root */
	{ VA_KIND_BARRIER_ON_GUEST, BAR26, S_IFDIR | 0755, EV, false, true,
	  0, S_IFDIR | 0755, "2.6 barrier taken off a guest root" },
	{ VA_KIND_BARRIER_ON_GUEST, BAR26 | EXTENTS, S_IFDIR | 0750, EV, false, true,
	  EXTENTS, S_IFDIR | 0750, "... mode and other bits kept" },
	{ VA_KIND_BARRIER_ON_GUEST, T24, S_IFDIR | 0000, E, false, true,
	  0, S_IFDIR | 0755, "2.4 barrier taken off a guest root: t cleared, mode 0755" },
	{ VA_KIND_BARRIER_ON_GUEST, T24 | BAR26, S_IFDIR | 0000, EV, false, true,
	  0, S_IFDIR | 0755, "both barriers taken off a guest root" },
	/* information and checks of other kinds: nothing to propose */
	{ VA_KIND_COW, IMM | IUN26 | COW26, S_IFREG | 0644, EV, false, false,
	  0, 0, "cow is information only" },
	{ VA_KIND_UNIFY_LEFTOVER, 0, S_IFREG | 0644, E, false, false,
	  0, 0, "a leftover is not a flag problem" },
	{ VA_KIND_GUEST_RUNNING, 0, S_IFDIR | 0755, E, false, false,
	  0, 0, "a running guest is not a flag problem" },
};

START_TEST(propose_table)
{
	const struct propose_row *r = &propose_rows[_i];
	struct va_finding f;

	memset(&f, 0, sizeof(f));
	f.kind = r->kind;
	f.flags = r->flags;
	f.mode = r->mode;
	f.flags_known = r->known;
	va_propose(&f, r->on_root);
	ck_assert_msg(f.has_proposal == r->want_proposal, "va_propose row %d (%s, %s): has_proposal %d, want %d",
		      _i, va_kind_name(r->kind), r->what, f.has_proposal, r->want_proposal);
	if (!r->want_proposal)
		return;
	ck_assert_msg(f.new_flags == r->want_flags && f.new_mode == r->want_mode,
		      "va_propose row %d (%s, %s): 0x%08x/%06o -> 0x%08x/%06o, want 0x%08x/%06o", _i,
		      va_kind_name(r->kind), r->what, r->flags, r->mode, f.new_flags, f.new_mode,
		      r->want_flags, r->want_mode);
	/* the proposal never touches what it is computed from */
	ck_assert_uint_eq(f.flags, r->flags);
	ck_assert_uint_eq(f.mode, r->mode);
}
END_TEST

/* ================================================================ va_is_leftover_name */

static const struct leftover_row {
	const char *name;
	size_t len; /* 0: strlen(name) */
	bool want;
	const char *what;
} leftover_rows[] = {
	{ "libc.so.6;a1B2c3", 0, true, "mkstemp backup of libc.so.6" },
	{ "x;AbCdEf", 0, true, "one-byte NAME" },
	{ "passwd;000000", 0, true, "digits only" },
	{ "a;b;cdefgh", 0, true, "a ';' in NAME too" },
	{ "with space;Zz09Aa", 0, true, "NAME with a space" },
	{ ";AbCdEf", 0, false, "no NAME" },
	{ "libc.so.6;a1B2c", 0, false, "5 characters after ';'" },
	{ "libc.so.6;a1B2c3d", 0, false, "7 characters after ';'" },
	{ "libc.so.6;a1B2-3", 0, false, "'-' is not in mkstemp's alphabet" },
	{ "libc.so.6;a1B 23", 0, false, "a space is not either" },
	{ "libc.so.6.a1B2c3", 0, false, "'.' instead of ';'" },
	{ "libc.so.6", 0, false, "a plain name" },
	{ "name;\xff" "abcde", 0, false, "a non-ASCII byte" },
	{ "", 0, false, "empty" },
	{ "libc.so.6;a1B2c3", 15, false, "length cuts the name short" },
	{ "x;AbCdEf\xff", 8, true, "length given: the byte after it does not count" },
};

START_TEST(leftover_table)
{
	const struct leftover_row *r = &leftover_rows[_i];
	size_t len = r->len ? r->len : strlen(r->name);

	ck_assert_msg(va_is_leftover_name(r->name, len) == r->want, "va_is_leftover_name row %d (%s): want %s",
		      _i, r->what, r->want ? "true" : "false");
}
END_TEST

/* ================================================================ va_severity_counts */

/* exit status 1 for findings, but cow (information) alone leaves it 0 */
static const struct sev_row {
	enum va_severity sev;
	bool want;
} sev_rows[] = {
	{ VA_SEV_ERROR, true },
	{ VA_SEV_WARNING, true },
	{ VA_SEV_INFO, false },
};

START_TEST(severity_counts_table)
{
	const struct sev_row *r = &sev_rows[_i];

	ck_assert_msg(va_severity_counts(r->sev) == r->want, "va_severity_counts(%s): want %s",
		      va_severity_name(r->sev), r->want ? "true" : "false");
}
END_TEST

/* every severity is in the table */
START_TEST(severity_table_complete)
{
	ck_assert_int_eq(NROWS(sev_rows), VA_SEV_COUNT);
}
END_TEST

static Suite *checks_suite(void)
{
	Suite *s = suite_create("checks");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, flag_values_are_the_facts);
	tcase_add_loop_test(tc, check_file_table, 0, NROWS(file_rows));
	tcase_add_loop_test(tc, check_shared_table, 0, NROWS(shared_rows));
	tcase_add_loop_test(tc, check_dir_table, 0, NROWS(dir_rows));
	tcase_add_loop_test(tc, check_root_table, 0, NROWS(root_rows));
	tcase_add_loop_test(tc, propose_table, 0, NROWS(propose_rows));
	tcase_add_loop_test(tc, leftover_table, 0, NROWS(leftover_rows));
	tcase_add_loop_test(tc, severity_counts_table, 0, NROWS(sev_rows));
	tcase_add_test(tc, severity_table_complete);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_main(checks_suite());
}
