/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_fstab.c - unit tests of core/fstab: the reader of guest fstab
 * files.
 *
 * The oracle is fstab(5) (blank-separated fields, '#' comments, blank
 * lines, octal escapes, optional fifth and sixth fields) and util-vserver's
 * secure-mount (a line of fewer than four fields stops it); the expected
 * entries and warnings below were written by hand from them.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fstab.h"
#include "tests/unit/testutil.h"

#define L(lit) lit, sizeof(lit) - 1

struct warns {
	unsigned line[16];
	char msg[16][200];
	size_t n;
	int stop_at;            /* return -EPERM at this warning (1-based), 0: never */
};

static int on_warn(unsigned line, const char *msg, void *user)
{
	struct warns *w = user;

	ck_assert_ptr_nonnull(msg);
	ck_assert_uint_gt(strlen(msg), 0);
	if (w->n < 16) {
		w->line[w->n] = line;
		snprintf(w->msg[w->n], sizeof(w->msg[0]), "%s", msg);
	}
	w->n++;
	return w->stop_at && (int)w->n == w->stop_at ? -EPERM : 0;
}

/* ================================================================ well-formed */

START_TEST(fields_and_comments)
{
	static const char text[] =
		"# comment\n"
		"\n"
		"   \t  \n"
		"  # indented comment\n"
		"none\t/proc\tproc\tdefaults\t0\t0\n"
		"none /tmp tmpfs size=16m,mode=1777\n"
		"/srv/pub /srv/data none bind,ro 0\n"
		"none\t\t/dev/pts  devpts gid=5,mode=620 0 2\r\n"
		"none /last tmpfs defaults";    /* no final newline */
	struct va_fstab t = VA_FSTAB_INIT;
	struct warns w = { 0 };

	ck_assert_int_eq(va_fstab_parse(&t, text, sizeof(text) - 1, on_warn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_uint_eq(t.n, 5);
	ck_assert_uint_eq(t.entries[0].line, 5);
	ck_assert_str_eq(t.entries[0].src, "none");
	ck_assert_str_eq(t.entries[0].dst, "/proc");
	ck_assert_str_eq(t.entries[0].type, "proc");
	ck_assert_str_eq(t.entries[0].opts, "defaults");
	ck_assert_int_eq(t.entries[0].nfields, 6);
	ck_assert_uint_eq(t.entries[1].line, 6);
	ck_assert_int_eq(t.entries[1].nfields, 4);
	ck_assert_str_eq(t.entries[1].opts, "size=16m,mode=1777");
	ck_assert_uint_eq(t.entries[2].line, 7);
	ck_assert_int_eq(t.entries[2].nfields, 5);
	ck_assert_str_eq(t.entries[3].dst, "/dev/pts");
	ck_assert_int_eq(t.entries[3].nfields, 6);
	ck_assert_uint_eq(t.entries[4].line, 9);
	ck_assert_str_eq(t.entries[4].dst, "/last");
	va_fstab_release(&t);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_ptr_null(t.entries);
}
END_TEST

START_TEST(escapes)
{
	static const char text[] =
		"/srv/my\\040data /mnt/a\\011b none bind\n"
		"/x\\134y /z\\043 none rbind,ro\n"
		"/\\377 /\\001 none bind\n";
	struct va_fstab t = VA_FSTAB_INIT;
	struct warns w = { 0 };

	ck_assert_int_eq(va_fstab_parse(&t, text, sizeof(text) - 1, on_warn, &w), 0);
	ck_assert_uint_eq(w.n, 0);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_str_eq(t.entries[0].src, "/srv/my data");
	ck_assert_str_eq(t.entries[0].dst, "/mnt/a\tb");
	ck_assert_str_eq(t.entries[1].src, "/x\\y");
	ck_assert_str_eq(t.entries[1].dst, "/z#");
	ck_assert_str_eq(t.entries[2].src, "/\377");
	ck_assert_str_eq(t.entries[2].dst, "/\001");
	va_fstab_release(&t);
}
END_TEST

/* ================================================================ malformed */

static const struct bad {
	const char *text;
	size_t len;
	const char *says;       /* a part of the message */
} bad_lines[] = {
	{ L("none\n"), "1 field," },
	{ L("none /sys\n"), "2 fields" },
	{ L("none /sys sysfs\n"), "secure-mount stops here" },
	{ L("none /tmp tmpfs defaults 0 0 extra\n"), "7 fields" },
	{ L("none /a\\08 tmpfs defaults\n"), "three octal digits" },
	{ L("none /a\\0 tmpfs defaults\n"), "three octal digits" },
	{ L("none /a\\ tmpfs defaults\n"), "three octal digits" },
	{ L("none /a\\x41 tmpfs defaults\n"), "three octal digits" },
	{ L("none /a\\000 tmpfs defaults\n"), "NUL byte (\\000)" },
	{ L("none /a\\400 tmpfs defaults\n"), "above \\377" },
	{ L("n\\9ne /a tmpfs defaults\n"), "the source field" },
	{ L("none /a tmp\\fs defaults\n"), "the type field" },
	{ L("none /a tmpfs de\\faults\n"), "the options field" },
	{ L("none /b tmpfs rw,,noexec\n"), "empty option" },
	{ L("none /b tmpfs ,rw\n"), "empty option" },
	{ L("none /b tmpfs rw,\n"), "empty option" },
	{ L("none /c tmpfs defaults x\n"), "fifth (dump)" },
	{ L("none /c tmpfs defaults 0 -1\n"), "sixth (pass)" },
	{ L("none /c tmpfs defaults 0 #\n"), "sixth (pass)" },
	{ L("none /x\0y tmpfs defaults\n"), "NUL byte in the line" },
};

START_TEST(malformed_lines)
{
	const struct bad *b = &bad_lines[_i];
	struct va_fstab t = VA_FSTAB_INIT;
	struct warns w = { 0 };
	/* the bad line between two good ones: it alone is dropped */
	size_t len = 0;
	char buf[256];

	memcpy(buf, "none /p proc defaults\n", 22);
	len = 22;
	memcpy(buf + len, b->text, b->len);
	len += b->len;
	memcpy(buf + len, "none /q proc defaults\n", 22);
	len += 22;
	ck_assert_int_eq(va_fstab_parse(&t, buf, len, on_warn, &w), 0);
	ck_assert_msg(w.n == 1, "%zu warnings for %s", w.n, b->text);
	ck_assert_uint_eq(w.line[0], 2);
	ck_assert_msg(strstr(w.msg[0], b->says), "'%s' does not say '%s'", w.msg[0], b->says);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(t.entries[0].line, 1);
	ck_assert_uint_eq(t.entries[1].line, 3);
	va_fstab_release(&t);
	/* without a callback: the same entries */
	ck_assert_int_eq(va_fstab_parse(&t, buf, len, NULL, NULL), 0);
	ck_assert_uint_eq(t.n, 2);
	va_fstab_release(&t);
}
END_TEST

START_TEST(callback_stops)
{
	static const char text[] = "a\nb\nc\nnone /x tmpfs defaults\n";
	struct va_fstab t = VA_FSTAB_INIT;
	struct warns w = { .stop_at = 2 };

	ck_assert_int_eq(va_fstab_parse(&t, text, sizeof(text) - 1, on_warn, &w), -EPERM);
	ck_assert_uint_eq(w.n, 2);
	ck_assert_uint_eq(t.n, 0);
	va_fstab_release(&t);
}
END_TEST

START_TEST(empty_and_odd_input)
{
	struct va_fstab t = VA_FSTAB_INIT;
	struct warns w = { 0 };

	ck_assert_int_eq(va_fstab_parse(&t, "", 0, on_warn, &w), 0);
	ck_assert_int_eq(va_fstab_parse(&t, L("\n\n\n"), on_warn, &w), 0);
	ck_assert_int_eq(va_fstab_parse(&t, L("#\n#no newline"), on_warn, &w), 0);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_uint_eq(w.n, 0);
	/* a line of 100000 bytes in one field */
	{
		size_t n = 100000;
		char *big = malloc(n + 40);

		ck_assert_ptr_nonnull(big);
		memset(big, 'a', n);
		memcpy(big + n, " /x tmpfs defaults\n", 19);
		ck_assert_int_eq(va_fstab_parse(&t, big, n + 19, on_warn, &w), 0);
		ck_assert_uint_eq(t.n, 1);
		ck_assert_uint_eq(strlen(t.entries[0].src), n);
		free(big);
	}
	/* the entries of a second parse are appended */
	ck_assert_int_eq(va_fstab_parse(&t, L("none /y tmpfs defaults\n"), on_warn, &w), 0);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_str_eq(t.entries[1].dst, "/y");
	va_fstab_release(&t);
}
END_TEST

/* ================================================================ helpers */

START_TEST(options_and_types)
{
	struct va_fstab_entry e = { .src = (char *)"/a", .dst = (char *)"/b", .type = (char *)"none",
				    .opts = (char *)"rw,bind,ro", .nfields = 4 };

	ck_assert(va_fstab_has_option("rw,bind,ro", "bind"));
	ck_assert(!va_fstab_has_option("rw,binder", "bind"));
	ck_assert(!va_fstab_has_option("rbind", "bind"));
	ck_assert(va_fstab_is_bind(&e));
	ck_assert(!va_fstab_is_rbind(&e));
	ck_assert(va_fstab_is_ro(&e));
	e.opts = (char *)"ro,rw,rbind";
	ck_assert(va_fstab_is_bind(&e));
	ck_assert(va_fstab_is_rbind(&e));
	ck_assert(!va_fstab_is_ro(&e));
	e.opts = (char *)"defaults";
	ck_assert(!va_fstab_is_bind(&e));
	e.type = (char *)"bind";
	ck_assert(va_fstab_is_bind(&e));
	e.type = (char *)"rbind";
	ck_assert(va_fstab_is_rbind(&e));

	ck_assert(va_fstab_type_known("proc"));
	ck_assert(va_fstab_type_known("tmpfs"));
	ck_assert(va_fstab_type_known("none"));
	ck_assert(va_fstab_type_known("nfs"));
	ck_assert(va_fstab_type_known("devfs"));
	ck_assert(va_fstab_type_known("fuse.sshfs"));
	ck_assert(!va_fstab_type_known("fuse."));
	ck_assert(!va_fstab_type_known("tmpfz"));
	ck_assert(!va_fstab_type_known(""));
	ck_assert(!va_fstab_type_known("PROC"));
}
END_TEST

START_TEST(destinations)
{
	static const struct {
		const char *in, *out;
		bool climbs;
	} cases[] = {
		{ "/proc", "/proc", false },
		{ "proc", "/proc", false },
		{ "/", "/", false },
		{ "", "/", false },
		{ "//a///b/./c/", "/a/b/c", false },
		{ "/a/../b", "/b", false },
		{ "/../../etc", "/etc", true },
		{ "/a/../../b", "/b", true },
		{ "..", "/", true },
		{ "/a/b/..", "/a", false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool climbs = !cases[i].climbs;
		char *s = va_fstab_norm_dst(cases[i].in, &climbs);

		ck_assert_ptr_nonnull(s);
		ck_assert_msg(strcmp(s, cases[i].out) == 0, "%s -> %s, not %s", cases[i].in, s,
			      cases[i].out);
		ck_assert_msg(climbs == cases[i].climbs, "%s: climbs %d", cases[i].in, climbs);
		free(s);
	}
	ck_assert(va_fstab_path_below("/a/b", "/a", false));
	ck_assert(va_fstab_path_below("/a", "/a", true));
	ck_assert(!va_fstab_path_below("/a", "/a", false));
	ck_assert(!va_fstab_path_below("/ab", "/a", true));
	ck_assert(va_fstab_path_below("/a", "/", false));
	ck_assert(!va_fstab_path_below("/", "/", false));
	ck_assert(!va_fstab_path_below("/a", "/a/b", true));
}
END_TEST

/* ================================================================ main */

static Suite *fstab_suite(void)
{
	Suite *s = suite_create("fstab");
	TCase *parse = tcase_create("parse");
	TCase *helpers = tcase_create("helpers");

	tu_add_test(parse, fields_and_comments, NULL);
	tu_add_test(parse, escapes, NULL);
	tcase_add_loop_test(parse, malformed_lines, 0, (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
	tu_add_test(parse, callback_stops, NULL);
	tu_add_test(parse, empty_and_odd_input, NULL);
	suite_add_tcase(s, parse);

	tu_add_test(helpers, options_and_types, NULL);
	tu_add_test(helpers, destinations, NULL);
	suite_add_tcase(s, helpers);
	return s;
}

int main(void)
{
	return tu_main(fstab_suite());
}
