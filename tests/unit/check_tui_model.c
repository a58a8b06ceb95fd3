/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_tui_model.c - unit tests of tui/model: review items, filter,
 * search, selection, results, the guests x kinds summary and the actions
 * handed to the repair engine.  Expectations come from the test's own
 * records of what it appended (brute force), not from the model.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include "audit/usage.h"
#include "core/attr.h"
#include "core/finding.h"
#include "migrate/repair/repair.h"
#include "tests/unit/testutil.h"
#include "tui/model.h"

/* A byte string literal and its length (embedded NULs kept). */
#define S(lit) (lit), (sizeof(lit) - 1)
#define BIT(k) (UINT64_C(1) << (k))

/* The kinds a repair can carry out, written out here (not VA_REPAIR_KINDS). */
static const enum va_kind repair_kinds[] = {
	VA_KIND_LEGACY_IUNLINK, VA_KIND_LEGACY_NOTAIL, VA_KIND_LEGACY_BARRIER,
	VA_KIND_MISSING_BARRIER, VA_KIND_SHARED_IMMUTABLE_NO_IUNLINK,
	VA_KIND_SHARED_UNPROTECTED, VA_KIND_BARRIER_ON_GUEST, VA_KIND_IUNLINK_NOT_IMMUTABLE,
};

static bool is_repair_kind(enum va_kind k)
{
	for (size_t i = 0; i < sizeof(repair_kinds) / sizeof(repair_kinds[0]); i++)
		if (repair_kinds[i] == k)
			return true;
	return false;
}

/* A finding with the given name; a proposal that changes nothing, flags known. */
static struct va_finding mkf(enum va_kind kind, enum va_severity sev, const char *guest,
			     size_t guest_len, const char *path, size_t path_len, dev_t dev, uint64_t ino)
{
	struct va_finding f;

	memset(&f, 0, sizeof(f));
	f.kind = kind;
	f.severity = sev;
	f.where.guest = (char *)guest;
	f.where.guest_len = guest_len;
	f.where.path = (char *)path;
	f.where.path_len = path_len;
	f.dev = dev;
	f.ino = ino;
	f.nlink = 1;
	f.mode = 0100644;
	f.flags = 0x8000;
	f.flags_known = VA_KNOWN_EXT2;
	f.has_proposal = true;
	f.new_flags = f.flags;
	f.new_mode = f.mode;
	return f;
}

static void append_finding(struct tui_model *m, const struct va_finding *f)
{
	struct tui_item it;

	ck_assert_int_eq(tui_item_from_finding(&it, f), 0);
	ck_assert_int_eq(tui_model_append(m, &it), 0);
	/* the model took the strings */
	ck_assert_ptr_null(it.where.path);
	ck_assert_ptr_null(it.others);
}

START_TEST(result_words)
{
	ck_assert_str_eq(tui_result_word(TUI_RES_NONE), "");
	ck_assert_str_eq(tui_result_word(TUI_RES_PLANNED), "would");
	ck_assert_str_eq(tui_result_word(TUI_RES_DONE), "done");
	ck_assert_str_eq(tui_result_word(TUI_RES_SKIPPED), "skipped");
	ck_assert_str_eq(tui_result_word(TUI_RES_FAILED), "failed");
	ck_assert_str_eq(tui_result_word(TUI_RES_UNDONE), "undone");
	ck_assert_str_eq(tui_result_word(TUI_RES_COUNT), "");
}
END_TEST

/* Every string is a deep, NUL-terminated copy of exactly _len bytes. */
START_TEST(item_from_finding_deep_copy)
{
	static const char want_path[] = "/vservers/g\xff\xfe/a\nb\0c";
	static const char want_guest[] = "g\xff\xfe\n";
	static const char want_o0[] = "/vservers/h/x\0y\n";
	char path[sizeof(want_path)], guest[sizeof(want_guest)], o0p[sizeof(want_o0)];
	char o0g[] = "h", o1p[] = "/outside\n\x80", detail[] = "immutable 0x10 with 0x8000";
	struct va_name others[2];
	struct va_finding f;
	struct tui_item it;

	memcpy(path, want_path, sizeof(path));
	memcpy(guest, want_guest, sizeof(guest));
	memcpy(o0p, want_o0, sizeof(o0p));
	others[0] = (struct va_name){ .guest = o0g, .guest_len = 1, .path = o0p, .path_len = sizeof(o0p) - 1 };
	others[1] = (struct va_name){ .guest = NULL, .guest_len = 0, .path = o1p, .path_len = sizeof(o1p) - 1 };
	f = mkf(VA_KIND_LEGACY_IUNLINK, VA_SEV_ERROR, guest, sizeof(guest) - 1, path, sizeof(path) - 1,
		makedev(8, 3), 77);
	f.others = others;
	f.nothers = 2;
	f.nguests = 2;
	f.nlink = 3;
	f.flags = 0x8010;
	f.gen = 9;
	f.gen_known = true;
	f.line = 12;
	f.detail = detail;
	f.new_flags = 0x08000010;

	ck_assert_int_eq(tui_item_from_finding(&it, &f), 0);
	/* scribble over the source: the item must not change */
	memset(path, 'X', sizeof(path));
	memset(guest, 'X', sizeof(guest));
	memset(o0p, 'X', sizeof(o0p));
	memset(o1p, 'X', sizeof(o1p) - 1);
	memset(detail, 'X', sizeof(detail) - 1);

	ck_assert_uint_eq(it.where.path_len, sizeof(want_path) - 1);
	ck_assert_mem_eq(it.where.path, want_path, sizeof(want_path) - 1);
	ck_assert_int_eq(it.where.path[it.where.path_len], '\0');
	ck_assert_uint_eq(it.where.guest_len, sizeof(want_guest) - 1);
	ck_assert_mem_eq(it.where.guest, want_guest, sizeof(want_guest) - 1);
	ck_assert_int_eq(it.where.guest[it.where.guest_len], '\0');
	ck_assert_uint_eq(it.nothers, 2);
	ck_assert_ptr_ne(it.others, others);
	ck_assert_uint_eq(it.others[0].path_len, sizeof(want_o0) - 1);
	ck_assert_mem_eq(it.others[0].path, want_o0, sizeof(want_o0) - 1);
	ck_assert_int_eq(it.others[0].path[sizeof(want_o0) - 1], '\0');
	ck_assert_uint_eq(it.others[0].guest_len, 1);
	ck_assert_str_eq(it.others[0].guest, "h");
	ck_assert_ptr_null(it.others[1].guest);
	ck_assert_uint_eq(it.others[1].path_len, 10);
	ck_assert_mem_eq(it.others[1].path, "/outside\n\x80", 11);
	ck_assert_str_eq(it.detail, "immutable 0x10 with 0x8000");

	ck_assert_int_eq(it.kind, VA_KIND_LEGACY_IUNLINK);
	ck_assert_uint_eq(it.kinds, BIT(VA_KIND_LEGACY_IUNLINK));
	ck_assert_int_eq(it.severity, VA_SEV_ERROR);
	ck_assert(!it.from_plan);
	ck_assert_uint_eq(it.nguests, 2);
	ck_assert_uint_eq(it.dev, makedev(8, 3));
	ck_assert_uint_eq(it.ino, 77);
	ck_assert_uint_eq(it.nlink, 3);
	ck_assert_uint_eq(it.mode, 0100644);
	ck_assert_uint_eq(it.flags, 0x8010);
	ck_assert_uint_eq(it.flags_known, VA_KNOWN_EXT2);
	ck_assert_uint_eq(it.gen, 9);
	ck_assert(it.gen_known);
	ck_assert_uint_eq(it.line, 12);
	ck_assert(it.has_proposal);
	ck_assert_uint_eq(it.new_flags, 0x08000010);
	ck_assert_uint_eq(it.new_mode, 0100644);
	ck_assert(it.selectable);
	ck_assert(!it.selected);
	ck_assert_int_eq(it.result, TUI_RES_NONE);
	ck_assert_ptr_null(it.result_why);

	tui_item_release(&it);
	ck_assert_ptr_null(it.where.path);
	ck_assert_ptr_null(it.others);
	ck_assert_uint_eq(it.nothers, 0);
	ck_assert_ptr_null(it.detail);

	/* no guest, no others, no detail */
	f = mkf(VA_KIND_COW, VA_SEV_INFO, NULL, 0, S("/x"), 1, 2);
	ck_assert_int_eq(tui_item_from_finding(&it, &f), 0);
	ck_assert_ptr_null(it.where.guest);
	ck_assert_str_eq(it.where.path, "/x");
	ck_assert_ptr_null(it.others);
	ck_assert_ptr_null(it.detail);
	tui_item_release(&it);
}
END_TEST

/* selectable = proposal && flags known && repair kind && the proposal changes flags or permissions. */
START_TEST(selectable_rules)
{
	static const unsigned knowns[] = { 0, VA_KNOWN_EXT2, VA_KNOWN_EXT2 | VA_KNOWN_VS26 };
	size_t nsel = 0;

	for (unsigned k = 0; k < VA_KIND_COUNT; k++) {
		for (int prop = 0; prop < 2; prop++) {
			for (size_t kn = 0; kn < 3; kn++) {
				/* 0 nothing, 1 flags, 2 permission bits, 3 only the file type bits */
				for (int change = 0; change < 4; change++) {
					struct va_finding f = mkf((enum va_kind)k, VA_SEV_ERROR, S("g"),
								  S("/vservers/g/f"), 1, 5);
					struct tui_item it;
					bool want;

					f.has_proposal = prop;
					f.flags_known = knowns[kn];
					if (change == 1)
						f.new_flags = 0x08000010;
					else if (change == 2)
						f.new_mode = 0100600;
					else if (change == 3)
						f.new_mode = 0040644;
					want = prop && knowns[kn] && is_repair_kind((enum va_kind)k) &&
					       (change == 1 || change == 2);
					ck_assert_int_eq(tui_item_from_finding(&it, &f), 0);
					ck_assert_msg(it.selectable == want, "kind %s prop %d known %u change %d: %d",
						      va_kind_name((enum va_kind)k), prop, knowns[kn], change,
						      it.selectable);
					nsel += want;
					tui_item_release(&it);
				}
			}
		}
	}
	/* 8 repair kinds x 2 known masks x 2 changes */
	ck_assert_uint_eq(nsel, 32);
}
END_TEST

START_TEST(item_from_action)
{
	char path[] = "/vservers/g/usr/\xe9t\xe9\n";
	char guest[] = "g";
	struct va_action a;
	struct tui_item it;

	memset(&a, 0, sizeof(a));
	/* notail (1, warning) and shared-unprotected (5, error) */
	a.kinds = BIT(VA_KIND_SHARED_UNPROTECTED) | BIT(VA_KIND_LEGACY_NOTAIL);
	a.dev = makedev(254, 1);
	a.ino = 4242;
	a.gen = 31;
	a.gen_known = true;
	a.old_flags = 0x8000;
	a.old_mode = 0100755;
	a.new_flags = 0x08000010;
	a.new_mode = 0100755;
	a.path = path;
	a.path_len = sizeof(path) - 1;
	a.guest = guest;
	a.guest_len = 1;

	ck_assert_int_eq(tui_item_from_action(&it, &a), 0);
	memset(path, 'Y', sizeof(path) - 1);
	ck_assert_int_eq(it.kind, VA_KIND_LEGACY_NOTAIL);
	ck_assert_uint_eq(it.kinds, BIT(VA_KIND_SHARED_UNPROTECTED) | BIT(VA_KIND_LEGACY_NOTAIL));
	ck_assert_int_eq(it.severity, VA_SEV_ERROR);
	ck_assert(it.from_plan);
	ck_assert(it.has_proposal);
	ck_assert(it.selectable);
	ck_assert(!it.selected);
	ck_assert_uint_ne(it.flags_known, 0);
	ck_assert_uint_eq(it.flags, 0x8000);
	ck_assert_uint_eq(it.mode, 0100755);
	ck_assert_uint_eq(it.new_flags, 0x08000010);
	ck_assert_uint_eq(it.new_mode, 0100755);
	ck_assert_uint_eq(it.gen, 31);
	ck_assert(it.gen_known);
	ck_assert_uint_eq(it.dev, makedev(254, 1));
	ck_assert_uint_eq(it.ino, 4242);
	ck_assert_uint_eq(it.where.path_len, sizeof(path) - 1);
	ck_assert_mem_eq(it.where.path, "/vservers/g/usr/\xe9t\xe9\n", sizeof(path));
	ck_assert_str_eq(it.where.guest, "g");
	ck_assert_uint_eq(it.nothers, 0);
	tui_item_release(&it);

	/* warning and info kinds, outside any guest */
	a.kinds = BIT(VA_KIND_COW) | BIT(VA_KIND_IUNLINK_NOT_IMMUTABLE);
	a.guest = NULL;
	a.guest_len = 0;
	ck_assert_int_eq(tui_item_from_action(&it, &a), 0);
	ck_assert_int_eq(it.kind, VA_KIND_IUNLINK_NOT_IMMUTABLE);
	ck_assert_int_eq(it.severity, VA_SEV_WARNING);
	ck_assert_ptr_null(it.where.guest);
	tui_item_release(&it);
}
END_TEST

/* ------------------------------------------------------------------ random items and their truth */

/* Guest names: prefixes of each other, case, NUL, newline, non-UTF-8, empty. */
static const struct {
	const char *s;
	size_t len;
} gnames[] = {
	{ S("g1") }, { S("g10") }, { S("G1") }, { S("g1\0x") }, { S("") }, { S("\xff\xfe\n") },
	{ S("web") }, { S("web\n") }, { S("db") }, { S("mail") }, { S("\xc3\xa9t\xc3\xa9") },
	{ S("g1\0y") },
};
#define NGNAMES (sizeof(gnames) / sizeof(gnames[0]))

struct truth {
	uint64_t kinds;
	enum va_severity sev;
	int gid;                /* index into gnames, -1: no guest */
	bool selectable;
	dev_t dev;
	uint64_t ino;
};

/* Append @n random items; their truth goes to @t. */
static void append_random(struct tui_model *m, struct truth *t, size_t n, uint64_t *rs, size_t base)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t r = tu_rand(rs);
		enum va_kind kind = (enum va_kind)(r % VA_KIND_COUNT);
		int gid = (int)((r >> 8) % (NGNAMES + 1)) - 1;
		char path[64];
		struct va_finding f;
		int plen = snprintf(path, sizeof(path), "/vservers/x/%zu", base + i);

		f = mkf(kind, (enum va_severity)((r >> 16) % VA_SEV_COUNT), gid < 0 ? NULL : gnames[gid].s,
			gid < 0 ? 0 : gnames[gid].len, path, (size_t)plen, makedev(8, 1), base + i + 1);
		f.has_proposal = (r >> 20) % 4 != 0;
		f.flags_known = (r >> 22) % 8 ? VA_KNOWN_EXT2 : 0;
		if ((r >> 25) % 3)
			f.new_flags = 0x10;
		t[i].kinds = BIT(kind);
		t[i].sev = f.severity;
		t[i].gid = gid;
		t[i].selectable = f.has_proposal && f.flags_known && is_repair_kind(kind) &&
				  f.new_flags != f.flags;
		t[i].dev = f.dev;
		t[i].ino = f.ino;
		append_finding(m, &f);
	}
}

static bool truth_passes(const struct truth *t, uint64_t kinds, unsigned sevs, bool by_guest, int gid,
			 bool selonly)
{
	if (kinds && !(t->kinds & kinds))
		return false;
	if (sevs && !(sevs & (1u << t->sev)))
		return false;
	if (by_guest && t->gid != gid)
		return false;
	if (selonly && !t->selectable)
		return false;
	return true;
}

/* The shown list is exactly the items passing, in order. */
static void check_shown(const struct tui_model *m, const struct truth *t, size_t n, uint64_t kinds,
			unsigned sevs, bool by_guest, int gid, bool selonly)
{
	size_t row = 0;

	ck_assert_uint_eq(m->nitems, n);
	for (size_t i = 0; i < n; i++) {
		if (!truth_passes(&t[i], kinds, sevs, by_guest, gid, selonly))
			continue;
		ck_assert_msg(row < m->nshown, "item %zu should be shown (row %zu of %zu)", i, row, m->nshown);
		ck_assert_uint_eq(m->shown[row], i);
		ck_assert_ptr_eq(tui_model_item(m, row), &m->items[i]);
		row++;
	}
	ck_assert_uint_eq(m->nshown, row);
	ck_assert_ptr_null(tui_model_item(m, row));
}

static void set_filter(struct tui_model *m, uint64_t kinds, unsigned sevs, bool by_guest, int gid,
		       bool selonly)
{
	struct tui_filter f;

	memset(&f, 0, sizeof(f));
	f.kinds = kinds;
	f.severities = sevs;
	f.by_guest = by_guest;
	if (gid >= 0) {
		f.guest = malloc(gnames[gid].len + 1);
		ck_assert_ptr_nonnull(f.guest);
		memcpy(f.guest, gnames[gid].s, gnames[gid].len + 1);
		f.guest_len = gnames[gid].len;
	}
	f.selectable_only = selonly;
	ck_assert_int_eq(tui_model_set_filter(m, &f), 0);
	ck_assert_ptr_null(f.guest);
}

START_TEST(filters_bruteforce)
{
	const size_t n1 = 3000, n2 = 1000;
	struct truth *t = calloc(n1 + n2, sizeof(*t));
	uint64_t rs = 0x5eed0001;
	struct tui_model m;

	ck_assert_ptr_nonnull(t);
	tui_model_init(&m);
	append_random(&m, t, n1, &rs, 0);
	/* no filter: everything, in order */
	check_shown(&m, t, n1, 0, 0, false, -1, false);

	for (int round = 0; round < 300; round++) {
		uint64_t r = tu_rand(&rs);
		uint64_t kinds = r % 3 == 0 ? 0 : tu_rand(&rs) & (BIT(VA_KIND_COUNT) - 1) & tu_rand(&rs);
		unsigned sevs = (r >> 4) % 3 == 0 ? 0 : (unsigned)(r >> 8) & 7;
		bool by_guest = (r >> 12) % 2;
		int gid = (int)((r >> 16) % (NGNAMES + 1)) - 1;
		bool selonly = (r >> 24) % 3 == 0;

		set_filter(&m, kinds, sevs, by_guest, gid, selonly);
		check_shown(&m, t, n1, kinds, sevs, by_guest, gid, selonly);
	}

	/* single conditions, then appends under a filter */
	set_filter(&m, 0, 0, true, -1, false);         /* outside any guest */
	check_shown(&m, t, n1, 0, 0, true, -1, false);
	ck_assert_uint_gt(m.nshown, 0);
	set_filter(&m, 0, 0, true, 0, false);          /* "g1": not "g10", "G1", "g1\0x" */
	check_shown(&m, t, n1, 0, 0, true, 0, false);
	set_filter(&m, 0, 0, true, 4, false);          /* "" is a guest, not "outside" */
	check_shown(&m, t, n1, 0, 0, true, 4, false);
	set_filter(&m, 0, 0, false, -1, true);
	check_shown(&m, t, n1, 0, 0, false, -1, true);
	set_filter(&m, BIT(VA_KIND_LEGACY_IUNLINK) | BIT(VA_KIND_COW), 1u << VA_SEV_WARNING, true, 3, false);
	check_shown(&m, t, n1, BIT(VA_KIND_LEGACY_IUNLINK) | BIT(VA_KIND_COW), 1u << VA_SEV_WARNING, true, 3,
		    false);
	append_random(&m, t + n1, n2, &rs, n1);
	check_shown(&m, t, n1 + n2, BIT(VA_KIND_LEGACY_IUNLINK) | BIT(VA_KIND_COW), 1u << VA_SEV_WARNING,
		    true, 3, false);
	set_filter(&m, 0, (1u << VA_SEV_ERROR) | (1u << VA_SEV_INFO), false, -1, false);
	check_shown(&m, t, n1 + n2, 0, (1u << VA_SEV_ERROR) | (1u << VA_SEV_INFO), false, -1, false);
	set_filter(&m, 0, 0, false, -1, false);
	ck_assert_uint_eq(m.nshown, n1 + n2);

	tui_model_release(&m);
	ck_assert_uint_eq(m.nitems, 0);
	ck_assert_ptr_null(m.items);
	ck_assert_ptr_null(m.filter.guest);
	free(t);
}
END_TEST

/* A filter built from m->filter shares its guest string: no double free. */
START_TEST(filter_copy_of_current)
{
	struct tui_model m;
	struct tui_filter f;
	struct va_finding fa = mkf(VA_KIND_LEGACY_NOTAIL, VA_SEV_WARNING, S("g1"), S("/vservers/g1/a"), 1, 1);
	struct va_finding fb = mkf(VA_KIND_LEGACY_NOTAIL, VA_SEV_WARNING, S("g2"), S("/vservers/g2/b"), 1, 2);
	struct va_finding fc = mkf(VA_KIND_COW, VA_SEV_INFO, S("g1"), S("/vservers/g1/c"), 1, 3);

	fa.new_flags = 0;
	tui_model_init(&m);
	append_finding(&m, &fa);
	append_finding(&m, &fb);
	append_finding(&m, &fc);

	memset(&f, 0, sizeof(f));
	f.by_guest = true;
	f.guest = strdup("g1");
	f.guest_len = 2;
	ck_assert_int_eq(tui_model_set_filter(&m, &f), 0);
	ck_assert_uint_eq(m.nshown, 2);

	f = m.filter;
	f.selectable_only = true;
	ck_assert_int_eq(tui_model_set_filter(&m, &f), 0);
	ck_assert_uint_eq(m.nshown, 1);
	ck_assert_uint_eq(m.shown[0], 0);
	ck_assert_str_eq(m.filter.guest, "g1");

	/* the model's own filter, changed in place */
	m.filter.selectable_only = false;
	ck_assert_int_eq(tui_model_set_filter(&m, &m.filter), 0);
	ck_assert_uint_eq(m.nshown, 2);
	ck_assert_str_eq(m.filter.guest, "g1");

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(tui_model_set_filter(&m, &f), 0);
	ck_assert_uint_eq(m.nshown, 3);
	ck_assert_ptr_null(m.filter.guest);
	tui_model_release(&m);
}
END_TEST

/* ------------------------------------------------------------------ search */

static void search_model(struct tui_model *m)
{
	static const struct va_name o3 = { .guest = (char *)"e", .guest_len = 1,
					   .path = (char *)"/vservers/e/FOO.conf", .path_len = 20 };
	struct va_finding f;

	tui_model_init(m);
	f = mkf(VA_KIND_COW, VA_SEV_INFO, S("a"), S("/vservers/a/etc/passwd"), 1, 1);
	append_finding(m, &f);
	f = mkf(VA_KIND_COW, VA_SEV_ERROR, S("b"), S("/vservers/b/usr/bin/Foo"), 1, 2);
	append_finding(m, &f);
	f = mkf(VA_KIND_COW, VA_SEV_INFO, S("c"), S("/vservers/c/x\xc3\x84y"), 1, 3);
	append_finding(m, &f);
	f = mkf(VA_KIND_COW, VA_SEV_INFO, S("d"), S("/vservers/d/bar"), 1, 4);
	f.others = &o3;
	f.nothers = 1;
	append_finding(m, &f);
	f = mkf(VA_KIND_COW, VA_SEV_INFO, S("f"), S("/vservers/f/\xff\nfoo\0tail"), 1, 5);
	append_finding(m, &f);
}

START_TEST(search_wrap_case_others)
{
	struct tui_model m;
	struct tui_filter flt;

	search_model(&m);
	/* forward: 1 (path), 3 (other name only), 4 (after bytes), wrap to 1 */
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 0, true), 1);
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 1, true), 3);
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 3, true), 4);
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 4, true), 1);
	/* backward, wrapping the other way */
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 1, false), 4);
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 4, false), 3);
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 3, false), 1);
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 0, false), 4);
	/* case of the needle does not matter */
	ck_assert_int_eq(tui_model_search(&m, S("FOO"), 0, true), 1);
	ck_assert_int_eq(tui_model_search(&m, S("fOo.CONF"), 0, true), 3);
	ck_assert_int_eq(tui_model_search(&m, S("USR/BIN/foo"), 2, false), 1);
	/* the only match is @from itself: found last */
	ck_assert_int_eq(tui_model_search(&m, S("passwd"), 0, true), 0);
	ck_assert_int_eq(tui_model_search(&m, S("passwd"), 0, false), 0);
	ck_assert_int_eq(tui_model_search(&m, S("PASSWD"), 3, true), 0);
	/* only ASCII letters fold: U+00C4 is not U+00E4 */
	ck_assert_int_eq(tui_model_search(&m, S("\xc3\xa4"), 0, true), -1);
	ck_assert_int_eq(tui_model_search(&m, S("\xc3\x84"), 0, true), 2);
	ck_assert_int_eq(tui_model_search(&m, S("X\xc3\x84Y"), 0, true), 2);
	/* bytes: NUL and newline in the needle */
	ck_assert_int_eq(tui_model_search(&m, S("FOO\0tail"), 0, true), 4);
	ck_assert_int_eq(tui_model_search(&m, S("\xff\nF"), 0, false), 4);
	ck_assert_int_eq(tui_model_search(&m, S("foo\0tails"), 0, true), -1);
	/* nothing to find */
	ck_assert_int_eq(tui_model_search(&m, S("zzz"), 0, true), -1);
	ck_assert_int_eq(tui_model_search(&m, "foo", 0, 0, true), -1);
	ck_assert_int_eq(tui_model_search(&m, S("/vservers/a/etc/passwd/and/more"), 0, true), -1);
	/* @from past the end: from the first row (forward) or the last */
	ck_assert_int_eq(tui_model_search(&m, S("foo"), SIZE_MAX, true), 1);
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 99, false), 4);
	ck_assert_int_eq(tui_model_search(&m, S("passwd"), 5, true), 0);
	ck_assert_int_eq(tui_model_search(&m, S("/VSERVERS/"), 5, true), 0);
	ck_assert_int_eq(tui_model_search(&m, S("/VSERVERS/"), 5, false), 4);
	ck_assert_int_eq(tui_model_search(&m, S("/VSERVERS/"), 2, false), 1);

	/* only shown rows count: hide item 1 (the error) */
	memset(&flt, 0, sizeof(flt));
	flt.severities = 1u << VA_SEV_INFO;
	ck_assert_int_eq(tui_model_set_filter(&m, &flt), 0);
	ck_assert_uint_eq(m.nshown, 4);
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 0, true), 2);   /* item 3 */
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 3, true), 2);   /* wraps past row 0 */
	ck_assert_int_eq(tui_model_search(&m, S("usr/bin"), 0, true), -1);
	/* nothing shown */
	flt.severities = 1u << VA_SEV_WARNING;
	ck_assert_int_eq(tui_model_set_filter(&m, &flt), 0);
	ck_assert_uint_eq(m.nshown, 0);
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 0, true), -1);
	ck_assert_int_eq(tui_model_search(&m, S("foo"), 0, false), -1);
	tui_model_release(&m);

	/* empty model */
	tui_model_init(&m);
	ck_assert_int_eq(tui_model_search(&m, S("a"), 0, true), -1);
	tui_model_release(&m);
}
END_TEST

/* ------------------------------------------------------------------ selection */

START_TEST(toggle_select)
{
	struct tui_model m;
	struct tui_filter flt;
	struct tui_item it;

	tui_model_init(&m);
	/* items 0..9: even ones selectable; guests alternate a (i % 4 < 2) and b */
	for (unsigned i = 0; i < 10; i++) {
		struct va_finding f = mkf(VA_KIND_LEGACY_NOTAIL, VA_SEV_WARNING, i % 4 < 2 ? "a" : "b", 1,
					  S("/vservers/x/f"), 1, i + 1);

		if (i % 2 == 0)
			f.new_flags = 0;
		append_finding(&m, &f);
	}
	ck_assert_uint_eq(m.nselected, 0);
	tui_model_toggle(&m, 1);                        /* not selectable */
	ck_assert(!m.items[1].selected);
	ck_assert_uint_eq(m.nselected, 0);
	tui_model_toggle(&m, 2);
	ck_assert(m.items[2].selected);
	ck_assert_uint_eq(m.nselected, 1);
	tui_model_toggle(&m, 2);
	ck_assert(!m.items[2].selected);
	ck_assert_uint_eq(m.nselected, 0);
	tui_model_toggle(&m, 10);                       /* past the end */
	tui_model_toggle(&m, SIZE_MAX);
	ck_assert_uint_eq(m.nselected, 0);

	/* guest a shows items 0, 1, 4, 5, 8, 9; selectable: 0, 4, 8 */
	memset(&flt, 0, sizeof(flt));
	flt.by_guest = true;
	flt.guest = strdup("a");
	flt.guest_len = 1;
	ck_assert_int_eq(tui_model_set_filter(&m, &flt), 0);
	ck_assert_uint_eq(m.nshown, 6);
	tui_model_toggle(&m, 2);                        /* row 2 = item 4 */
	ck_assert(m.items[4].selected);
	ck_assert_uint_eq(m.nselected, 1);
	ck_assert_uint_eq(tui_model_select_shown(&m, true), 2);
	ck_assert_uint_eq(m.nselected, 3);
	ck_assert_uint_eq(tui_model_select_shown(&m, true), 0);
	for (unsigned i = 0; i < 10; i++)
		ck_assert_msg(m.items[i].selected == (i == 0 || i == 4 || i == 8), "item %u", i);

	memset(&flt, 0, sizeof(flt));
	ck_assert_int_eq(tui_model_set_filter(&m, &flt), 0);
	ck_assert_uint_eq(tui_model_select_shown(&m, true), 2);     /* 2 and 6 */
	ck_assert_uint_eq(m.nselected, 5);
	tui_model_toggle(&m, 6);
	ck_assert_uint_eq(m.nselected, 4);

	/* appended items: selected only if selectable, and counted */
	{
		struct va_finding f = mkf(VA_KIND_LEGACY_NOTAIL, VA_SEV_WARNING, S("a"), S("/n"), 1, 50);

		f.new_flags = 0;
		ck_assert_int_eq(tui_item_from_finding(&it, &f), 0);
		it.selected = true;
		ck_assert_int_eq(tui_model_append(&m, &it), 0);
		f = mkf(VA_KIND_COW, VA_SEV_INFO, S("a"), S("/n2"), 1, 51);
		ck_assert_int_eq(tui_item_from_finding(&it, &f), 0);
		it.selected = true;
		ck_assert_int_eq(tui_model_append(&m, &it), 0);
	}
	ck_assert_uint_eq(m.nselected, 5);
	ck_assert(m.items[10].selected);
	ck_assert(!m.items[11].selected);

	ck_assert_uint_eq(tui_model_select_shown(&m, false), 5);
	ck_assert_uint_eq(m.nselected, 0);
	for (size_t i = 0; i < m.nitems; i++)
		ck_assert(!m.items[i].selected);
	tui_model_release(&m);
}
END_TEST

/* ------------------------------------------------------------------ results */

START_TEST(set_result_inode_chain)
{
	/* A = (8:1, 5), B = (8:2, 5): same number, other device; C = (8:1, 6) */
	static const char pattern[] = "ABACABBACAAC";
	struct tui_model m;
	struct tui_filter flt;
	size_t na = 0, nb = 0;

	tui_model_init(&m);
	for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
		dev_t dev = pattern[i] == 'B' ? makedev(8, 2) : makedev(8, 1);
		uint64_t ino = pattern[i] == 'C' ? 6 : 5;
		struct va_finding f = mkf(i % 2 ? VA_KIND_LEGACY_NOTAIL : VA_KIND_SHARED_UNPROTECTED,
					  VA_SEV_ERROR, S("g"), S("/vservers/g/f"), dev, ino);

		append_finding(&m, &f);
		na += pattern[i] == 'A';
		nb += pattern[i] == 'B';
	}
	/* results reach hidden items too */
	memset(&flt, 0, sizeof(flt));
	flt.kinds = BIT(VA_KIND_COW);
	ck_assert_int_eq(tui_model_set_filter(&m, &flt), 0);
	ck_assert_uint_eq(m.nshown, 0);

	ck_assert_uint_eq(tui_model_set_result(&m, makedev(8, 1), 5, TUI_RES_DONE, "changed"), na);
	for (size_t i = 0; i < m.nitems; i++) {
		if (pattern[i] == 'A') {
			ck_assert_int_eq(m.items[i].result, TUI_RES_DONE);
			ck_assert_str_eq(m.items[i].result_why, "changed");
		} else {
			ck_assert_msg(m.items[i].result == TUI_RES_NONE, "item %zu touched", i);
			ck_assert_ptr_null(m.items[i].result_why);
		}
	}
	/* each item has its own copy */
	ck_assert_ptr_ne(m.items[0].result_why, m.items[2].result_why);

	ck_assert_uint_eq(tui_model_set_result(&m, makedev(8, 2), 5, TUI_RES_SKIPPED, NULL), nb);
	ck_assert_uint_eq(tui_model_set_result(&m, makedev(8, 3), 5, TUI_RES_FAILED, "x"), 0);
	ck_assert_uint_eq(tui_model_set_result(&m, makedev(8, 1), 7, TUI_RES_FAILED, "x"), 0);
	/* replacing a result frees the old reason */
	ck_assert_uint_eq(tui_model_set_result(&m, makedev(8, 1), 5, TUI_RES_FAILED, "read-back differs"), na);
	for (size_t i = 0; i < m.nitems; i++) {
		enum tui_result want = pattern[i] == 'A' ? TUI_RES_FAILED :
				       pattern[i] == 'B' ? TUI_RES_SKIPPED : TUI_RES_NONE;

		ck_assert_msg(m.items[i].result == want, "item %zu: %d, want %d", i, m.items[i].result, want);
		if (pattern[i] == 'A')
			ck_assert_str_eq(m.items[i].result_why, "read-back differs");
		else
			ck_assert_ptr_null(m.items[i].result_why);
	}
	/* an item appended later joins its inode's chain */
	{
		struct va_finding f = mkf(VA_KIND_COW, VA_SEV_INFO, S("g"), S("/late"), makedev(8, 1), 6);

		append_finding(&m, &f);
	}
	ck_assert_uint_eq(tui_model_set_result(&m, makedev(8, 1), 6, TUI_RES_UNDONE, NULL), 4);
	ck_assert_int_eq(m.items[m.nitems - 1].result, TUI_RES_UNDONE);

	tui_model_clear_results(&m);
	for (size_t i = 0; i < m.nitems; i++) {
		ck_assert_int_eq(m.items[i].result, TUI_RES_NONE);
		ck_assert_ptr_null(m.items[i].result_why);
	}
	tui_model_release(&m);
}
END_TEST

/* ------------------------------------------------------------------ summary */

START_TEST(null_row_last)
{
	struct tui_model m;
	struct va_finding f;

	tui_model_init(&m);
	f = mkf(VA_KIND_COW, VA_SEV_INFO, NULL, 0, S("/vservers"), 1, 1);
	append_finding(&m, &f);
	ck_assert_uint_eq(m.nguests, 1);
	ck_assert_ptr_null(m.guests[0].name);
	f = mkf(VA_KIND_LEGACY_IUNLINK, VA_SEV_ERROR, S("a"), S("/vservers/a/x"), 1, 2);
	append_finding(&m, &f);
	f = mkf(VA_KIND_MISSING_BARRIER, VA_SEV_ERROR, NULL, 0, S("/vservers"), 1, 1);
	append_finding(&m, &f);
	f = mkf(VA_KIND_LEGACY_IUNLINK, VA_SEV_WARNING, S("b"), S("/vservers/b/x"), 1, 3);
	append_finding(&m, &f);
	f = mkf(VA_KIND_COW, VA_SEV_INFO, S("a"), S("/vservers/a/y"), 1, 4);
	append_finding(&m, &f);

	ck_assert_uint_eq(m.nguests, 3);
	ck_assert_uint_eq(m.guests[0].len, 1);
	ck_assert_str_eq(m.guests[0].name, "a");
	ck_assert_str_eq(m.guests[1].name, "b");
	ck_assert_ptr_null(m.guests[2].name);
	ck_assert_uint_eq(m.guests[0].count[VA_KIND_LEGACY_IUNLINK], 1);
	ck_assert_uint_eq(m.guests[0].count[VA_KIND_COW], 1);
	ck_assert_uint_eq(m.guests[0].by_sev[VA_SEV_ERROR], 1);
	ck_assert_uint_eq(m.guests[0].by_sev[VA_SEV_INFO], 1);
	ck_assert_uint_eq(m.guests[1].count[VA_KIND_LEGACY_IUNLINK], 1);
	ck_assert_uint_eq(m.guests[1].by_sev[VA_SEV_WARNING], 1);
	ck_assert_uint_eq(m.guests[2].count[VA_KIND_COW], 1);
	ck_assert_uint_eq(m.guests[2].count[VA_KIND_MISSING_BARRIER], 1);
	ck_assert_uint_eq(m.guests[2].count[VA_KIND_LEGACY_IUNLINK], 0);
	ck_assert_uint_eq(m.guests[2].by_sev[VA_SEV_ERROR], 1);
	ck_assert_uint_eq(m.guests[2].by_sev[VA_SEV_INFO], 1);
	ck_assert_uint_eq(m.total[VA_KIND_LEGACY_IUNLINK], 2);
	ck_assert_uint_eq(m.total[VA_KIND_COW], 2);
	ck_assert_uint_eq(m.total[VA_KIND_MISSING_BARRIER], 1);
	tui_model_release(&m);
	ck_assert_uint_eq(m.nguests, 0);

	/* only guests: no NULL row */
	tui_model_init(&m);
	f = mkf(VA_KIND_COW, VA_SEV_INFO, S("a"), S("/vservers/a"), 1, 1);
	append_finding(&m, &f);
	ck_assert_uint_eq(m.nguests, 1);
	ck_assert_ptr_nonnull(m.guests[0].name);
	tui_model_release(&m);
}
END_TEST

/*
 * Guest names that are prefixes of each other ("x", "xx", ... and the same
 * with a NUL after them), many of them so that lookups probe past other
 * names: each must keep its own row.
 */
START_TEST(guest_prefixes)
{
	enum { NP = 250 };
	char name[NP + 2];
	struct tui_model m;

	memset(name, 'x', sizeof(name));
	tui_model_init(&m);
	/* longest first, then every name again, shortest first */
	for (int pass = 0; pass < 2; pass++) {
		for (int j = 0; j < 2 * NP; j++) {
			int k = pass ? j : 2 * NP - 1 - j;
			size_t len = (size_t)(k / 2) + 1;
			struct va_finding f;

			name[len] = k % 2 ? '\0' : 'x';  /* odd k: the name plus a NUL byte */
			f = mkf(VA_KIND_COW, VA_SEV_INFO, name, len + (size_t)(k % 2), S("/p"), 1, (uint64_t)k);
			append_finding(&m, &f);
			name[len] = 'x';
		}
	}
	ck_assert_uint_eq(m.nguests, 2 * NP);
	for (size_t row = 0; row < m.nguests; row++) {
		int k = 2 * NP - 1 - (int)row;
		size_t len = (size_t)(k / 2) + 1 + (size_t)(k % 2);

		ck_assert_uint_eq(m.guests[row].len, len);
		ck_assert_uint_eq(m.guests[row].count[VA_KIND_COW], 2);
		ck_assert_int_eq(m.guests[row].name[len - 1], k % 2 ? '\0' : 'x');
	}
	tui_model_release(&m);
}
END_TEST

/* Random findings and multi-kind plan actions against a tally kept here. */
START_TEST(summary_tally)
{
	enum { N = 6000 };
	uint32_t cnt[NGNAMES + 1][VA_KIND_COUNT], sev[NGNAMES + 1][VA_SEV_COUNT], total[VA_KIND_COUNT];
	int order[NGNAMES + 1];         /* gid + 1 in order of first appearance */
	size_t norder = 0;
	bool seen[NGNAMES + 1] = { false };
	uint64_t rs = 0xabcdef12345ull;
	struct tui_model m;

	memset(cnt, 0, sizeof(cnt));
	memset(sev, 0, sizeof(sev));
	memset(total, 0, sizeof(total));
	tui_model_init(&m);
	for (size_t i = 0; i < N; i++) {
		uint64_t r = tu_rand(&rs);
		/* the first half sees only some guests (and no NULL), so new ones come after NULL */
		size_t ng = i < N / 3 ? NGNAMES / 2 : NGNAMES + 1;
		int gid = i < N / 3 ? (int)(r % ng) : (int)(r % ng) - 1;
		const char *g = gid < 0 ? NULL : gnames[gid].s;
		size_t glen = gid < 0 ? 0 : gnames[gid].len;
		struct tui_item it;
		uint64_t kinds;
		enum va_severity s;

		if (i == N / 3) {
			gid = -1;       /* NULL appears before the rest of the guests */
			g = NULL;
			glen = 0;
		}
		if ((r >> 32) % 5 == 0) {
			struct va_action a;

			memset(&a, 0, sizeof(a));
			a.kinds = BIT((r >> 8) % VA_KIND_COUNT) | BIT((r >> 16) % VA_KIND_COUNT);
			a.path = (char *)"/p";
			a.path_len = 2;
			a.guest = (char *)g;
			a.guest_len = glen;
			a.ino = i + 1;
			ck_assert_int_eq(tui_item_from_action(&it, &a), 0);
			kinds = a.kinds;
			/* the most serious default severity of its kinds */
			s = VA_SEV_INFO;
			for (unsigned k = 0; k < VA_KIND_COUNT; k++)
				if ((kinds & BIT(k)) && va_kind_severity((enum va_kind)k) < s)
					s = va_kind_severity((enum va_kind)k);
		} else {
			struct va_finding f = mkf((enum va_kind)((r >> 8) % VA_KIND_COUNT),
						  (enum va_severity)((r >> 40) % VA_SEV_COUNT), g, glen, S("/f"),
						  1, i + 1);

			ck_assert_int_eq(tui_item_from_finding(&it, &f), 0);
			kinds = BIT(f.kind);
			s = f.severity;
		}
		ck_assert_int_eq(tui_model_append(&m, &it), 0);
		for (unsigned k = 0; k < VA_KIND_COUNT; k++) {
			if (kinds & BIT(k)) {
				cnt[gid + 1][k]++;
				total[k]++;
			}
		}
		sev[gid + 1][s]++;
		if (!seen[gid + 1]) {
			seen[gid + 1] = true;
			order[norder++] = gid + 1;
		}
	}
	ck_assert(seen[0]);
	ck_assert_uint_eq(norder, NGNAMES + 1);
	ck_assert_uint_eq(m.nguests, norder);
	/* named guests in order of appearance, the NULL row last */
	{
		size_t row = 0;

		for (size_t o = 0; o < norder; o++) {
			int gid = order[o] - 1;

			if (gid < 0)
				continue;
			ck_assert_ptr_nonnull(m.guests[row].name);
			ck_assert_uint_eq(m.guests[row].len, gnames[gid].len);
			ck_assert_mem_eq(m.guests[row].name, gnames[gid].s, gnames[gid].len);
			ck_assert_int_eq(m.guests[row].name[gnames[gid].len], '\0');
			for (unsigned k = 0; k < VA_KIND_COUNT; k++)
				ck_assert_uint_eq(m.guests[row].count[k], cnt[gid + 1][k]);
			for (unsigned s = 0; s < VA_SEV_COUNT; s++)
				ck_assert_uint_eq(m.guests[row].by_sev[s], sev[gid + 1][s]);
			row++;
		}
		ck_assert_uint_eq(row, m.nguests - 1);
		ck_assert_ptr_null(m.guests[row].name);
		for (unsigned k = 0; k < VA_KIND_COUNT; k++)
			ck_assert_uint_eq(m.guests[row].count[k], cnt[0][k]);
		for (unsigned s = 0; s < VA_SEV_COUNT; s++)
			ck_assert_uint_eq(m.guests[row].by_sev[s], sev[0][s]);
	}
	for (unsigned k = 0; k < VA_KIND_COUNT; k++)
		ck_assert_uint_eq(m.total[k], total[k]);
	tui_model_release(&m);
}
END_TEST

/* ------------------------------------------------------------------ repair */

START_TEST(to_repair_merges_kinds)
{
	static const char pa[] = "/vservers/g\xff/bin/ls\n";
	struct va_repair_opts o = { .barrier_mode = -1, .cleared_mode = 0700 };
	struct va_repair rp;
	struct tui_model m;
	struct va_finding f;
	uint32_t idx;

	tui_model_init(&m);
	/* item 0, inode A: notail clears 0x8000 */
	f = mkf(VA_KIND_LEGACY_NOTAIL, VA_SEV_WARNING, S("g\xff"), S(pa), makedev(8, 1), 100);
	f.gen = 77;
	f.gen_known = true;
	f.new_flags = 0;
	append_finding(&m, &f);
	/* item 1, inode C: selectable, but deselected again below */
	f = mkf(VA_KIND_LEGACY_IUNLINK, VA_SEV_ERROR, S("g"), S("/vservers/g/c"), makedev(8, 1), 300);
	f.flags = 0x8010;
	f.new_flags = 0x08000010;
	append_finding(&m, &f);
	/* item 2, inode B: a 2.4 barrier inside a guest; the mode comes from cleared_mode */
	f = mkf(VA_KIND_LEGACY_BARRIER, VA_SEV_ERROR, S("h"), S("/vservers/h/d"), makedev(8, 1), 200);
	f.mode = 040000;
	f.new_flags = 0;
	f.new_mode = 040000;
	append_finding(&m, &f);
	/* item 3: COW, not selectable */
	f = mkf(VA_KIND_COW, VA_SEV_INFO, S("g"), S("/vservers/g/e"), makedev(8, 1), 400);
	f.flags = 0x20000000;
	f.new_flags = 0;
	append_finding(&m, &f);
	/* item 4, inode A again: shared-unprotected sets immutable + iunlink */
	f = mkf(VA_KIND_SHARED_UNPROTECTED, VA_SEV_ERROR, S("other"), S("/vservers/other/bin/ls"),
		makedev(8, 1), 100);
	f.gen = 77;
	f.gen_known = true;
	f.new_flags = 0x08008010;
	append_finding(&m, &f);

	ck_assert_uint_eq(tui_model_select_shown(&m, true), 4);
	tui_model_toggle(&m, 1);
	ck_assert_uint_eq(m.nselected, 3);

	memset(&rp, 0, sizeof(rp));
	ck_assert_int_eq(tui_model_to_repair(&m, &rp, &o), 2);
	ck_assert_uint_eq(rp.nactions, 2);
	/* A: both kinds, 0x8000 cleared and 0x08000010 set */
	ck_assert_uint_eq(rp.actions[0].kinds, BIT(VA_KIND_LEGACY_NOTAIL) | BIT(VA_KIND_SHARED_UNPROTECTED));
	ck_assert_uint_eq(rp.actions[0].dev, makedev(8, 1));
	ck_assert_uint_eq(rp.actions[0].ino, 100);
	ck_assert_uint_eq(rp.actions[0].old_flags, 0x8000);
	ck_assert_uint_eq(rp.actions[0].new_flags, 0x08000010);
	ck_assert_uint_eq(rp.actions[0].old_mode, 0100644);
	ck_assert_uint_eq(rp.actions[0].new_mode, 0100644);
	ck_assert_uint_eq(rp.actions[0].gen, 77);
	ck_assert(rp.actions[0].gen_known);
	ck_assert_uint_eq(rp.actions[0].path_len, sizeof(pa) - 1);
	ck_assert_mem_eq(rp.actions[0].path, pa, sizeof(pa));
	ck_assert_ptr_ne(rp.actions[0].path, m.items[0].where.path);
	ck_assert_uint_eq(rp.actions[0].guest_len, 2);
	ck_assert_mem_eq(rp.actions[0].guest, "g\xff", 3);
	/* B: flags cleared, mode from the options */
	ck_assert_uint_eq(rp.actions[1].kinds, BIT(VA_KIND_LEGACY_BARRIER));
	ck_assert_uint_eq(rp.actions[1].ino, 200);
	ck_assert_uint_eq(rp.actions[1].new_flags, 0);
	ck_assert_uint_eq(rp.actions[1].old_mode, 040000);
	ck_assert_uint_eq(rp.actions[1].new_mode, 040700);
	ck_assert_int_eq(va_inomap_find(&rp.byino, makedev(8, 1), 100, &idx), 1);
	ck_assert_uint_eq(idx, 0);
	ck_assert_int_eq(va_inomap_find(&rp.byino, makedev(8, 1), 200, &idx), 1);
	ck_assert_uint_eq(idx, 1);
	ck_assert_int_eq(va_inomap_find(&rp.byino, makedev(8, 1), 300, &idx), 0);
	va_repair_release(&rp);

	/* nothing selected: nothing to do */
	tui_model_select_shown(&m, false);
	memset(&rp, 0, sizeof(rp));
	ck_assert_int_eq(tui_model_to_repair(&m, &rp, &o), 0);
	va_repair_release(&rp);
	tui_model_release(&m);
}
END_TEST

START_TEST(to_repair_plan_items)
{
	char p1[] = "/vservers/g/\xfe\n1", p2[] = "/vservers";
	struct va_action in[4];
	/* barrier_mode must not touch plan items: they are taken as they are */
	struct va_repair_opts o = { .barrier_mode = 0, .cleared_mode = 0700 };
	struct va_repair rp;
	struct tui_model m;

	memset(in, 0, sizeof(in));
	in[0] = (struct va_action){ .kinds = BIT(VA_KIND_LEGACY_NOTAIL) | BIT(VA_KIND_IUNLINK_NOT_IMMUTABLE),
				    .dev = makedev(9, 1), .ino = 10, .gen = 5, .gen_known = true,
				    .old_flags = 0x08008000, .old_mode = 0100644, .new_flags = 0x08000000,
				    .new_mode = 0100644, .path = p1, .path_len = sizeof(p1) - 1,
				    .guest = (char *)"g", .guest_len = 1 };
	in[1] = (struct va_action){ .kinds = BIT(VA_KIND_MISSING_BARRIER), .dev = makedev(9, 1), .ino = 2,
				    .old_flags = 0, .old_mode = 040755, .new_flags = 0x04000000,
				    .new_mode = 040755, .path = p2, .path_len = sizeof(p2) - 1 };
	/* a second action for inode 10: sets 0x10, clears 0x08000000 */
	in[2] = (struct va_action){ .kinds = BIT(VA_KIND_SHARED_UNPROTECTED), .dev = makedev(9, 1), .ino = 10,
				    .gen = 5, .gen_known = true, .old_flags = 0x08008000, .old_mode = 0100644,
				    .new_flags = 0x00008010, .new_mode = 0100640, .path = (char *)"/vservers/h/x",
				    .path_len = 13, .guest = (char *)"h", .guest_len = 1 };
	/* not selected */
	in[3] = (struct va_action){ .kinds = BIT(VA_KIND_LEGACY_IUNLINK), .dev = makedev(9, 1), .ino = 11,
				    .old_flags = 0x8010, .new_flags = 0x08000010, .path = (char *)"/z",
				    .path_len = 2 };

	tui_model_init(&m);
	for (size_t i = 0; i < 4; i++) {
		struct tui_item it;

		ck_assert_int_eq(tui_item_from_action(&it, &in[i]), 0);
		ck_assert_int_eq(tui_model_append(&m, &it), 0);
	}
	ck_assert_int_eq(m.items[0].kind, VA_KIND_LEGACY_NOTAIL);
	ck_assert_int_eq(m.items[0].severity, VA_SEV_WARNING);
	ck_assert_int_eq(m.items[1].kind, VA_KIND_MISSING_BARRIER);
	ck_assert_int_eq(m.items[1].severity, VA_SEV_ERROR);
	ck_assert_ptr_null(m.items[1].where.guest);
	ck_assert_uint_eq(tui_model_select_shown(&m, true), 4);
	tui_model_toggle(&m, 3);
	ck_assert_uint_eq(m.nselected, 3);

	memset(&rp, 0, sizeof(rp));
	ck_assert_int_eq(tui_model_to_repair(&m, &rp, &o), 2);
	ck_assert_uint_eq(rp.actions[0].kinds, BIT(VA_KIND_LEGACY_NOTAIL) | BIT(VA_KIND_IUNLINK_NOT_IMMUTABLE) |
						    BIT(VA_KIND_SHARED_UNPROTECTED));
	ck_assert_uint_eq(rp.actions[0].dev, makedev(9, 1));
	ck_assert_uint_eq(rp.actions[0].ino, 10);
	ck_assert_uint_eq(rp.actions[0].gen, 5);
	ck_assert(rp.actions[0].gen_known);
	ck_assert_uint_eq(rp.actions[0].old_flags, 0x08008000);
	/* 0x8000 cleared by the first, 0x10 set and 0x08000000 cleared by the second */
	ck_assert_uint_eq(rp.actions[0].new_flags, 0x00000010);
	ck_assert_uint_eq(rp.actions[0].old_mode, 0100644);
	ck_assert_uint_eq(rp.actions[0].new_mode, 0100640);
	ck_assert_uint_eq(rp.actions[0].path_len, sizeof(p1) - 1);
	ck_assert_mem_eq(rp.actions[0].path, "/vservers/g/\xfe\n1", sizeof(p1));
	ck_assert_str_eq(rp.actions[0].guest, "g");
	ck_assert(!rp.actions[0].done);

	ck_assert_uint_eq(rp.actions[1].kinds, BIT(VA_KIND_MISSING_BARRIER));
	ck_assert_uint_eq(rp.actions[1].ino, 2);
	ck_assert_uint_eq(rp.actions[1].gen, 0);
	ck_assert(!rp.actions[1].gen_known);
	ck_assert_uint_eq(rp.actions[1].old_flags, 0);
	ck_assert_uint_eq(rp.actions[1].new_flags, 0x04000000);
	ck_assert_uint_eq(rp.actions[1].new_mode, 040755);
	ck_assert_str_eq(rp.actions[1].path, "/vservers");
	ck_assert_ptr_null(rp.actions[1].guest);
	{
		uint32_t idx = 99;

		ck_assert_int_eq(va_inomap_find(&rp.byino, makedev(9, 1), 10, &idx), 1);
		ck_assert_uint_eq(idx, 0);
		ck_assert_int_eq(va_inomap_find(&rp.byino, makedev(9, 1), 2, &idx), 1);
		ck_assert_uint_eq(idx, 1);
		ck_assert_int_eq(va_inomap_find(&rp.byino, makedev(9, 1), 11, &idx), 0);
	}
	va_repair_release(&rp);
	tui_model_release(&m);
}
END_TEST

/* ------------------------------------------------------------------ scale */

/*
 * A million items over 300 guests (and some outside any guest).  Inode of
 * item i: i % 400000 + 1, so inodes below 200001 hold three items, the rest
 * two.  Checks counts, not time; loops count mismatches instead of
 * asserting per item (Check's asserts are slow in bulk).
 */
START_TEST(scale_million)
{
	enum { N = 1000000, NG = 300, NINO = 400000 };
	static uint32_t per_guest[NG + 1], first_row[NG + 1];
	uint16_t *gof = malloc(N * sizeof(*gof));         /* guest + 1 of item i; 0: none */
	uint64_t rs = 0x1234567;
	size_t nnull = 0, nsel = 0, nsel_done = 0, nrows = 0, bad = 0, want;
	struct tui_model m;
	struct tui_filter flt;
	char gname[32], path[96];

	ck_assert_ptr_nonnull(gof);
	memset(per_guest, 0, sizeof(per_guest));
	memset(first_row, 0xff, sizeof(first_row));
	tui_model_init(&m);
	for (size_t i = 0; i < N; i++) {
		uint64_t r = tu_rand(&rs);
		int g = i % 1000 == 7 ? -1 : (int)(r % NG);
		int glen = g < 0 ? 0 : snprintf(gname, sizeof(gname), "guest-%03d", g);
		int plen = snprintf(path, sizeof(path), "/vservers/%s/usr/lib/file-%07zu", g < 0 ? "" : gname, i);
		struct va_finding f = mkf(i % 2 ? VA_KIND_LEGACY_NOTAIL : VA_KIND_SHARED_UNPROTECTED,
					  VA_SEV_ERROR, g < 0 ? NULL : gname, (size_t)glen, path, (size_t)plen,
					  makedev(8, 1), i % NINO + 1);
		struct tui_item it;

		if (i % 3 == 0)
			f.new_flags = 0x08008010;       /* selectable */
		if (tui_item_from_finding(&it, &f) < 0 || tui_model_append(&m, &it) < 0)
			ck_abort_msg("append %zu failed", i);
		gof[i] = (uint16_t)(g + 1);
		per_guest[g + 1]++;
		nnull += g < 0;
		if (first_row[g + 1] == UINT32_MAX)
			first_row[g + 1] = (uint32_t)nrows++;
	}
	ck_assert_uint_eq(m.nitems, N);
	ck_assert_uint_eq(m.nshown, N);
	ck_assert_uint_eq(m.nguests, NG + 1);
	ck_assert_ptr_null(m.guests[NG].name);
	ck_assert_uint_eq(m.guests[NG].count[VA_KIND_LEGACY_NOTAIL] + m.guests[NG].count[VA_KIND_SHARED_UNPROTECTED],
			  nnull);
	/* rows in order of first appearance (the NULL row moved last) */
	for (int g = 0; g < NG; g++) {
		uint32_t row = first_row[g + 1] - (first_row[0] < first_row[g + 1]);
		int glen = snprintf(gname, sizeof(gname), "guest-%03d", g);

		if (m.guests[row].len != (size_t)glen || memcmp(m.guests[row].name, gname, (size_t)glen) ||
		    m.guests[row].by_sev[VA_SEV_ERROR] != per_guest[g + 1])
			bad++;
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(m.total[VA_KIND_SHARED_UNPROTECTED], N / 2);
	ck_assert_uint_eq(m.total[VA_KIND_LEGACY_NOTAIL], N / 2);

	/* filter: one guest, outside any guest, selectable only */
	memset(&flt, 0, sizeof(flt));
	flt.by_guest = true;
	flt.guest = strdup("guest-123");
	flt.guest_len = 9;
	ck_assert_int_eq(tui_model_set_filter(&m, &flt), 0);
	ck_assert_uint_eq(m.nshown, per_guest[124]);
	for (size_t r = 0; r < m.nshown; r++)
		bad += gof[m.shown[r]] != 124 || (r && m.shown[r] <= m.shown[r - 1]);
	ck_assert_uint_eq(bad, 0);
	memset(&flt, 0, sizeof(flt));
	flt.by_guest = true;
	ck_assert_int_eq(tui_model_set_filter(&m, &flt), 0);
	ck_assert_uint_eq(m.nshown, nnull);
	memset(&flt, 0, sizeof(flt));
	flt.selectable_only = true;
	ck_assert_int_eq(tui_model_set_filter(&m, &flt), 0);
	ck_assert_uint_eq(m.nshown, (N + 2) / 3);
	ck_assert_uint_eq(tui_model_select_shown(&m, true), (N + 2) / 3);
	ck_assert_uint_eq(m.nselected, (N + 2) / 3);

	/* search over everything: a late path, case-insensitively, both ways */
	memset(&flt, 0, sizeof(flt));
	ck_assert_int_eq(tui_model_set_filter(&m, &flt), 0);
	ck_assert_uint_eq(m.nshown, N);
	ck_assert_int_eq(tui_model_search(&m, S("FILE-0999998"), 0, true), 999998);
	ck_assert_int_eq(tui_model_search(&m, S("file-0000003"), 10, true), 3);
	ck_assert_int_eq(tui_model_search(&m, S("file-0999998"), 0, false), 999998);
	ck_assert_int_eq(tui_model_search(&m, S("no-such-file"), 500000, true), -1);
	ck_assert_int_eq(tui_model_search(&m, S("/USR/LIB/"), N - 1, true), 0);

	/* results: every item of the inode, none else */
	want = 0;
	for (uint64_t ino = 1; ino <= NINO; ino += 99991) {
		size_t got = tui_model_set_result(&m, makedev(8, 1), ino, TUI_RES_DONE, NULL);

		if (got != (ino <= N - 2 * NINO ? 3u : 2u))
			bad++;
		want += got;
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(tui_model_set_result(&m, makedev(8, 2), 1, TUI_RES_DONE, NULL), 0);
	for (size_t i = 0; i < N; i++) {
		bool hit = (i % NINO) % 99991 == 0;

		if ((m.items[i].result == TUI_RES_DONE) != hit)
			bad++;
		/* done: out of the selection, the proposed state shown, not selectable */
		if (hit && i % 3 == 0 && (m.items[i].selected || m.items[i].selectable ||
					  m.items[i].flags != 0x08008010 || !m.items[i].changed))
			bad++;
		nsel += m.items[i].selected;
		nsel_done += hit && i % 3 == 0;
	}
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(want, 3 + 3 + 3 + 2 + 2);    /* inodes 1, 99992, 199983; 299974, 399965 */
	ck_assert_uint_gt(nsel_done, 0);
	ck_assert_uint_eq(nsel, (N + 2) / 3 - nsel_done);
	ck_assert_uint_eq(m.nselected, nsel);
	tui_model_release(&m);
	free(gof);
}
END_TEST

/* A shared file counts in every guest one of its names is in (once in the totals), and the guest filter finds it there. */
START_TEST(shared_counts_in_each_guest)
{
	struct tui_model m;
	struct tui_filter f;
	struct va_name others[3] = {
		{ .guest = (char *)"b", .guest_len = 1, .path = (char *)"/v/b/x", .path_len = 6 },
		{ .guest = (char *)"a", .guest_len = 1, .path = (char *)"/v/a/y", .path_len = 6 },
		{ .guest = NULL, .path = (char *)"/v/x", .path_len = 4 },
	};
	struct va_finding sh = mkf(VA_KIND_SHARED_UNPROTECTED, VA_SEV_ERROR, "a", 1, "/v/a/x", 6, makedev(8, 1), 7);
	struct va_finding pr = mkf(VA_KIND_LEGACY_NOTAIL, VA_SEV_WARNING, "c", 1, "/v/c/z", 6, makedev(8, 1), 8);

	sh.others = others;
	sh.nothers = 3;
	sh.nguests = 2;
	tui_model_init(&m);
	append_finding(&m, &pr);
	append_finding(&m, &sh);
	/* rows: c (first), a, b, then the row outside any guest last */
	ck_assert_uint_eq(m.nguests, 4);
	ck_assert_mem_eq(m.guests[0].name, "c", 1);
	ck_assert_mem_eq(m.guests[1].name, "a", 1);
	ck_assert_mem_eq(m.guests[2].name, "b", 1);
	ck_assert_ptr_null(m.guests[3].name);
	for (size_t g = 1; g < 4; g++) {
		ck_assert_uint_eq(m.guests[g].count[VA_KIND_SHARED_UNPROTECTED], 1);
		ck_assert_uint_eq(m.guests[g].by_sev[VA_SEV_ERROR], 1);
	}
	ck_assert_uint_eq(m.guests[0].count[VA_KIND_SHARED_UNPROTECTED], 0);
	ck_assert_uint_eq(m.total[VA_KIND_SHARED_UNPROTECTED], 1);
	ck_assert_uint_eq(m.total_sev[VA_SEV_ERROR], 1);
	ck_assert_uint_eq(m.total_sev[VA_SEV_WARNING], 1);
	/* the filter on guest b, and on no guest, shows the shared file */
	memset(&f, 0, sizeof(f));
	f.by_guest = true;
	f.guest = strdup("b");
	f.guest_len = 1;
	ck_assert_int_eq(tui_model_set_filter(&m, &f), 0);
	ck_assert_uint_eq(m.nshown, 1);
	ck_assert_uint_eq(tui_model_item(&m, 0)->ino, 7);
	memset(&f, 0, sizeof(f));
	f.by_guest = true;
	ck_assert_int_eq(tui_model_set_filter(&m, &f), 0);
	ck_assert_uint_eq(m.nshown, 1);
	tui_model_release(&m);
}
END_TEST

/* o: the shown list in each order, stable, kept by a filter; the row of an item found in any order. */
START_TEST(sort_orders)
{
	struct tui_model m;
	struct tui_filter f;
	static const struct { enum va_kind k; enum va_severity s; const char *g, *p; } in[] = {
		{ VA_KIND_LEGACY_NOTAIL, VA_SEV_WARNING, "b", "/v/b/z" },
		{ VA_KIND_LEGACY_IUNLINK, VA_SEV_ERROR, "a", "/v/a/y" },
		{ VA_KIND_COW, VA_SEV_INFO, NULL, "/v/x" },
		{ VA_KIND_LEGACY_IUNLINK, VA_SEV_ERROR, "b", "/v/b/a" },
		{ VA_KIND_LEGACY_NOTAIL, VA_SEV_WARNING, "a", "/v/a/y" },     /* same path as item 1 */
	};
	/* expected rows (item indexes) for each order, worked out by hand */
	static const size_t want[TUI_SORT_COUNT][5] = {
		[TUI_SORT_FOUND] =    { 0, 1, 2, 3, 4 },
		[TUI_SORT_PATH] =     { 1, 4, 3, 0, 2 },
		[TUI_SORT_KIND] =     { 1, 3, 4, 0, 2 },
		[TUI_SORT_SEVERITY] = { 1, 3, 4, 0, 2 },
		[TUI_SORT_GUEST] =    { 1, 4, 3, 0, 2 },
	};

	tui_model_init(&m);
	for (size_t i = 0; i < 5; i++) {
		struct va_finding fi = mkf(in[i].k, in[i].s, in[i].g, in[i].g ? 1 : 0, in[i].p, strlen(in[i].p),
					   makedev(8, 1), 100 + i);

		append_finding(&m, &fi);
	}
	for (int s = 0; s < TUI_SORT_COUNT; s++) {
		tui_model_sort(&m, (enum tui_sort)s);
		for (size_t r = 0; r < 5; r++) {
			ck_assert_msg(m.shown[r] == want[s][r], "order %s, row %zu: item %zu, expected %zu",
				      tui_sort_text((enum tui_sort)s), r, m.shown[r], want[s][r]);
			ck_assert_uint_eq(tui_model_row_of(&m, want[s][r]), r);
		}
	}
	/* a filter keeps the order: warnings only, by path */
	tui_model_sort(&m, TUI_SORT_PATH);
	memset(&f, 0, sizeof(f));
	f.severities = 1u << VA_SEV_WARNING;
	ck_assert_int_eq(tui_model_set_filter(&m, &f), 0);
	ck_assert_uint_eq(m.nshown, 2);
	ck_assert_uint_eq(m.shown[0], 4);
	ck_assert_uint_eq(m.shown[1], 0);
	/* an item not shown (1): the row of the closest item after it (4, row 0) */
	ck_assert_uint_eq(tui_model_row_of(&m, 1), 0);
	tui_model_release(&m);
}
END_TEST

/* Sizes as du -h writes them: rounded up, one decimal below 10, binary units. */
START_TEST(usage_human_sizes)
{
	static const struct { uint64_t b; const char *want; } t[] = {
		{ 0, "0 B" }, { 1023, "1023 B" }, { 1024, "1.0 KiB" }, { 1025, "1.1 KiB" },
		{ 1536, "1.5 KiB" }, { 4096, "4.0 KiB" }, { 10 * 1024 - 1, "10 KiB" },
		{ 10 * 1024, "10 KiB" }, { 10 * 1024 + 1, "11 KiB" }, { 1023 * 1024, "1023 KiB" },
		{ 1023 * 1024 + 1, "1.0 MiB" }, { 1048576 + 1, "1.1 MiB" },
		{ UINT64_C(5) << 30, "5.0 GiB" }, { UINT64_C(1) << 60, "1.0 EiB" },
		{ UINT64_MAX, "16 EiB" },
	};
	char buf[16];

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(strcmp(tui_human_size(t[i].b, buf), t[i].want) == 0, "%llu bytes: \"%s\", expected \"%s\"",
			      (unsigned long long)t[i].b, buf, t[i].want);
}
END_TEST

/* The guests in order of total (largest first, equal ones by name) or of name (bytes). */
START_TEST(usage_order)
{
	char n0[] = "b", n1[] = "a\xff", n2[] = "c", n3[] = "a";
	struct va_usage_guest g[] = {
		{ .name = n0, .name_len = 1, .all = { 1, 300 } },
		{ .name = n1, .name_len = 2, .all = { 1, 300 } },
		{ .name = n2, .name_len = 1, .all = { 1, 900 } },
		{ .name = n3, .name_len = 1, .all = { 1, 10 } },
	};
	struct va_usage u = { .guests = g, .nguests = 4 };
	size_t order[4];
	static const size_t by_total[] = { 2, 1, 0, 3 }, by_name[] = { 3, 1, 0, 2 };

	tui_usage_order(&u, order, false);
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(order[i], by_total[i]);
	tui_usage_order(&u, order, true);
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(order[i], by_name[i]);
}
END_TEST

/* Bar cells: the ends of private, shared, store rounded; reclaimable over their end, never more. */
START_TEST(usage_bar_cells)
{
	static const struct {
		uint64_t priv, shared, store, reclaim, max;
		int width, want[TUI_SEG_COUNT];
	} t[] = {
		{ 50, 30, 20, 10, 100, 10, { 5, 3, 2, 1 } },
		{ 1, 1, 0, 0, 3, 10, { 3, 4, 0, 0 } },          /* ends 3.3 and 6.7 */
		{ 10, 0, 0, 50, 100, 20, { 2, 0, 0, 2 } },      /* reclaimable capped */
		{ 0, 0, 0, 0, 0, 20, { 0, 0, 0, 0 } },          /* nothing to scale to */
		{ 100, 0, 0, 0, 100, 0, { 0, 0, 0, 0 } },
		{ UINT64_MAX / 2, UINT64_MAX / 2, 0, 1, UINT64_MAX - 1, 7, { 4, 3, 0, 0 } },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct va_usage_guest g = { .priv = { 1, t[i].priv }, .shared = { 1, t[i].shared },
					    .store = { 1, t[i].store }, .reclaim = { 1, t[i].reclaim } };
		int cells[TUI_SEG_COUNT];

		tui_usage_bar(&g, t[i].max, t[i].width, cells);
		for (int s = 0; s < TUI_SEG_COUNT; s++)
			ck_assert_msg(cells[s] == t[i].want[s], "case %zu, segment %d: %d cells, expected %d", i,
				      s, cells[s], t[i].want[s]);
	}
}
END_TEST

static Suite *tui_model_suite(void)
{
	Suite *s = suite_create("tui_model");
	TCase *tc = tcase_create("model");
	TCase *big = tcase_create("scale");

	tcase_set_timeout(tc, 60);
	tu_add_test(tc, result_words, NULL);
	tu_add_test(tc, item_from_finding_deep_copy, NULL);
	tu_add_test(tc, selectable_rules, NULL);
	tu_add_test(tc, item_from_action, NULL);
	tu_add_test(tc, filters_bruteforce, NULL);
	tu_add_test(tc, filter_copy_of_current, NULL);
	tu_add_test(tc, search_wrap_case_others, NULL);
	tu_add_test(tc, toggle_select, NULL);
	tu_add_test(tc, set_result_inode_chain, NULL);
	tu_add_test(tc, shared_counts_in_each_guest, NULL);
	tu_add_test(tc, sort_orders, NULL);
	tu_add_test(tc, usage_human_sizes, NULL);
	tu_add_test(tc, usage_order, NULL);
	tu_add_test(tc, usage_bar_cells, NULL);
	tu_add_test(tc, null_row_last, NULL);
	tu_add_test(tc, guest_prefixes, NULL);
	tu_add_test(tc, summary_tally, NULL);
	tu_add_test(tc, to_repair_merges_kinds, NULL);
	tu_add_test(tc, to_repair_plan_items, NULL);
	suite_add_tcase(s, tc);
	/* seconds normally; generous for sanitizer and valgrind runs */
	tcase_set_timeout(big, 600);
	tu_add_test(big, scale_million, NULL);
	suite_add_tcase(s, big);
	return s;
}

int main(void)
{
	return tu_main(tui_model_suite());
}
