/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_exclude.c - unit tests of core/exclude: util-vserver's exclude
 * lists (apps/vunify/exclude).
 *
 * The oracles are outside vaudit: the decision table was worked out by
 * hand from util-vserver's sources (lib_internal/matchlist-initmanually.c,
 * matchlist-appendfiles.c, matchlist-compare.c, src/vunify.c: the first
 * fnmatch(pattern, path, 0) match decides, no match includes, a directory
 * that is not included is not entered), and the mutation test compares
 * the parser with a transliteration of readExcludeListFD() itself.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/exclude.h"
#include "tests/unit/testutil.h"

#define L(lit) lit, sizeof(lit) - 1
#define INC VA_EXCL_INCLUDE
#define EXC VA_EXCL_EXCLUDE
#define SKP VA_EXCL_SKIP

static const char *action_name(enum va_excl_action a)
{
	switch (a) {
	case VA_EXCL_INCLUDE: return "include";
	case VA_EXCL_EXCLUDE: return "exclude";
	case VA_EXCL_SKIP: return "skip";
	}
	return "?";
}

static const char *const quirk_names[] = {
#define VA_X_EXCL_QUIRK(id, msg) [VA_EXCL_Q_##id] = #id,
	VA_EXCL_QUIRKS(VA_X_EXCL_QUIRK)
#undef VA_X_EXCL_QUIRK
};

/* ================================================================ decision table */

/*
 * {list, path, effective action, line of the deciding rule or 0}.  A NULL
 * list is util-vserver's shipped one (distrib/misc/vunify-exclude); its
 * rules, one per line from line 1, are listed in default_list_rules below.
 */
static const struct decision {
	const char *list;
	size_t len;
	const char *path;
	enum va_excl_action want;
	unsigned line;
} table[] = {
	/* prefixes */
	{ L("+/a\n"), "/a", INC, 1 },
	{ L("-/a\n"), "/a", EXC, 1 },
	{ L("~/a\n"), "/a", SKP, 1 },
	{ L("/a\n"), "/a", EXC, 1 },
	{ L("--/a\n"), "-/a", EXC, 1 },          /* only one prefix character is taken */
	{ L("--/a\n"), "/a", INC, 0 },
	{ L("++/a\n"), "+/a", INC, 1 },
	{ L("+~/a\n"), "~/a", INC, 1 },
	{ L(" /a\n"), "/a", INC, 0 },             /* a leading blank stays in the pattern */
	/* first match wins */
	{ L("+/a\n/a\n"), "/a", INC, 1 },
	{ L("/a\n+/a\n"), "/a", EXC, 1 },
	{ L("~/a\n-/a\n"), "/a", SKP, 1 },
	{ L("/b\n~/a*\n/a\n"), "/abc", SKP, 2 },
	{ L("/b\n~/a*\n/a\n"), "/a", SKP, 2 },
	/* no match: include */
	{ L("/a\n"), "/b", INC, 0 },
	{ L("/dev\n"), "/devices", INC, 0 },     /* whole-string match, not a prefix */
	{ L(""), "/anything", INC, 0 },
	/* '*' also matches '/' and a leading dot (flags 0) */
	{ L("/etc/*\n"), "/etc/a/b", EXC, 1 },    /* decided at its parent /etc/a */
	{ L("+/etc/a\n/etc/*\n"), "/etc/a/b", EXC, 2 },
	{ L("/a/*/c\n"), "/a/b/x/c", EXC, 1 },
	{ L("/*.conf\n"), "/etc/x.conf", EXC, 1 },
	{ L("/*\n"), "/.hidden", EXC, 1 },
	{ L("/*\n"), "/x/y/z", EXC, 1 },
	{ L("*\n"), "/x", INC, 0 },                /* one character: dropped */
	{ L("**\n"), "/x", EXC, 1 },
	/* '?' matches one byte, '/' too */
	{ L("/a?c\n"), "/abc", EXC, 1 },
	{ L("/a?c\n"), "/ac", INC, 0 },
	{ L("/a?c\n"), "/a/c", EXC, 1 },
	{ L("/a?c\n"), "/abbc", INC, 0 },
	/* bracket expressions, escapes */
	{ L("/[ab]x\n"), "/bx", EXC, 1 },
	{ L("/[ab]x\n"), "/cx", INC, 0 },
	{ L("/[!ab]x\n"), "/cx", EXC, 1 },
	{ L("/[!ab]x\n"), "/ax", INC, 0 },
	{ L("/[a-c]\n"), "/b", EXC, 1 },
	{ L("/[]]\n"), "/]", EXC, 1 },
	{ L("/x[\n"), "/x[", EXC, 1 },            /* unmatched '[' is literal */
	{ L("/a\\*\n"), "/a*", EXC, 1 },
	{ L("/a\\*\n"), "/ab", INC, 0 },
	/* directories that are not included are not entered */
	{ L("/etc\n+/etc/termcap\n"), "/etc/termcap", EXC, 1 },
	{ L("+/etc/termcap\n/etc\n"), "/etc/termcap", EXC, 2 },
	{ L("+/etc/termcap\n/etc/*\n"), "/etc/termcap", INC, 1 },
	{ L("+/etc/termcap\n/etc/*\n"), "/etc/hosts", EXC, 2 },
	{ L("~/a\n+/a/b/c\n"), "/a/b/c", SKP, 1 },
	{ L("+/a/b\n/a/b/*\n/a\n"), "/a/b/c", EXC, 3 },
	{ L("/a/b\n"), "/a/b/c/d", EXC, 1 },
	{ L("/a/b\n"), "/a/bc/d", INC, 0 },
	/* comments */
	{ L("#/a\n/b\n"), "/a", INC, 0 },
	{ L("#/a\n/b\n"), "/b", EXC, 2 },
	{ L("\n\n#\n/a\n"), "/a", EXC, 4 },
	{ L(" #/a\n"), "/a", INC, 0 },
	/* reader quirks */
	{ L("/etc/foo   \n"), "/etc/foo", EXC, 1 },
	{ L("/etc/foo\t\n"), "/etc/foo", INC, 0 },
	{ L("/etc/foo\t\n"), "/etc/foo\t", EXC, 1 },
	{ L("/etc/foo\r\n"), "/etc/foo", INC, 0 },
	{ L("/etc/foo \t\n"), "/etc/foo \t", EXC, 1 },
	{ L("-/a \n"), "/a", EXC, 1 },
	{ L("+/a b \n"), "/a b", INC, 1 },
	{ L("/a\n/b"), "/b", INC, 0 },            /* last line without newline */
	{ L("/a\n/b"), "/a", EXC, 1 },
	{ L("/a\n/b\0x\n/c\n"), "/b", INC, 0 },   /* a NUL byte ends the list */
	{ L("/a\n/b\0x\n/c\n"), "/c", INC, 0 },
	{ L("/a\n/b\0x\n/c\n"), "/a", EXC, 1 },
	{ L("/a\n\0/b\n"), "/b", INC, 0 },
	{ L("#\0\n/a\n"), "/a", INC, 0 },
	{ L("a \n/a\n"), "/a", EXC, 2 },
	/* util-vserver's default list */
	{ NULL, 0, "/.rpmdb", EXC, 1 },
	{ NULL, 0, "/.rpmdb/x", EXC, 1 },
	{ NULL, 0, "/dev/null", EXC, 2 },
	{ NULL, 0, "/etc", INC, 0 },
	{ NULL, 0, "/etc/shadow", SKP, 3 },
	{ NULL, 0, "/etc/passwd", SKP, 4 },
	{ NULL, 0, "/etc/group", SKP, 5 },
	{ NULL, 0, "/etc/termcap", INC, 6 },
	{ NULL, 0, "/etc/gconf", INC, 7 },
	{ NULL, 0, "/etc/gconf/schemas", INC, 8 },
	/* the directory is entered, but line 9 takes what is in it */
	{ NULL, 0, "/etc/gconf/schemas/x", EXC, 9 },
	{ NULL, 0, "/etc/gconf/other", EXC, 9 },
	{ NULL, 0, "/etc/hosts", EXC, 10 },
	{ NULL, 0, "/etc/ls-R", EXC, 10 },
	{ NULL, 0, "/etc/init.d/rc", EXC, 10 },
	{ NULL, 0, "/home/u/.profile", EXC, 11 },
	{ NULL, 0, "/proc/1/maps", EXC, 12 },
	{ NULL, 0, "/mnt", EXC, 13 },
	{ NULL, 0, "/root", INC, 0 },
	{ NULL, 0, "/root/.ssh", INC, 14 },
	{ NULL, 0, "/root/.ssh/id_rsa", SKP, 15 },
	{ NULL, 0, "/root/.ssh/authorized_keys", EXC, 16 },
	{ NULL, 0, "/root/.gnupg/secring.gpg", SKP, 18 },
	{ NULL, 0, "/root/.gnupg/pubring.gpg", EXC, 19 },
	{ NULL, 0, "/root/.bashrc", EXC, 20 },
	{ NULL, 0, "/selinux/enforce", EXC, 21 },
	{ NULL, 0, "/sys/kernel", EXC, 22 },
	{ NULL, 0, "/tmp", EXC, 24 },             /* line 23 needs the slash */
	{ NULL, 0, "/tmp/x", EXC, 24 },           /* decided at /tmp */
	{ NULL, 0, "/var/tmp/x", EXC, 26 },       /* /var is not entered */
	{ NULL, 0, "/var/lib/x", EXC, 26 },
	{ NULL, 0, "/usr/bin/ls", INC, 0 },
	{ NULL, 0, "/usr/share/texmf/ls-R", EXC, 27 },
	{ NULL, 0, "/bin/ls-R", EXC, 27 },
	{ NULL, 0, "/ls-R", INC, 0 },
	{ NULL, 0, "/usr/lib/.rpmdb", INC, 0 },
	{ NULL, 0, "/devices", INC, 0 },
	{ NULL, 0, "/etcetera/x", INC, 0 },
};

static void parse_ok(struct va_excl_list *list, const char *buf, size_t len)
{
	ck_assert_int_eq(va_excl_parse(list, buf, len, NULL, NULL), 0);
}

START_TEST(decision_table)
{
	size_t n = sizeof(table) / sizeof(table[0]);

	ck_assert_uint_ge(n, 40);
	for (size_t i = 0; i < n; i++) {
		const struct decision *d = &table[i];
		struct va_excl_list list = VA_EXCL_LIST_INIT;
		const struct va_excl_rule *r = (const void *)1;
		enum va_excl_action got;
		char *h = d->list ? tu_hexdump(d->list, d->len) : strdup("(default list)");

		if (d->list)
			parse_ok(&list, d->list, d->len);
		else
			parse_ok(&list, va_excl_default_list, strlen(va_excl_default_list));
		got = va_excl_effective(&list, d->path, &r);
		ck_assert_msg(got == d->want && (r ? r->line : 0) == d->line,
			      "row %zu: list \"%s\", path \"%s\": %s by line %u, expected %s by line %u",
			      i, h, d->path, action_name(got), r ? r->line : 0, action_name(d->want),
			      d->line);
		if (r) {
			ck_assert(r >= list.rules && r < list.rules + list.nrules);
			ck_assert_int_eq(r->action, got);
		}
		/* NULL @which is allowed */
		ck_assert_int_eq(va_excl_effective(&list, d->path, NULL), got);
		free(h);
		va_excl_release(&list);
	}
}
END_TEST

/* The default list as util-vserver ships it, rule by rule. */
START_TEST(default_list_rules)
{
	static const struct {
		enum va_excl_action a;
		const char *p;
	} want[] = {
		{ EXC, "/.rpmdb" }, { EXC, "/dev" }, { SKP, "/etc/shadow" }, { SKP, "/etc/passwd" },
		{ SKP, "/etc/group" }, { INC, "/etc/termcap" }, { INC, "/etc/gconf" },
		{ INC, "/etc/gconf/schemas" }, { EXC, "/etc/gconf/*" }, { EXC, "/etc/*" },
		{ EXC, "/home" }, { EXC, "/proc" }, { EXC, "/mnt" }, { INC, "/root/.ssh" },
		{ SKP, "/root/.ssh/id*" }, { EXC, "/root/.ssh/*" }, { INC, "/root/.gnupg" },
		{ SKP, "/root/.gnupg/secring*" }, { EXC, "/root/.gnupg/*" }, { EXC, "/root/*" },
		{ EXC, "/selinux" }, { EXC, "/sys" }, { SKP, "/tmp/*" }, { EXC, "/tmp" },
		{ SKP, "/var/tmp/*" }, { EXC, "/var" }, { EXC, "/*/ls-R" },
	};
	struct va_excl_list list = VA_EXCL_LIST_INIT;
	size_t len = strlen(va_excl_default_list);

	ck_assert_int_eq(va_excl_default_list[len - 1], '\n');
	parse_ok(&list, va_excl_default_list, len);
	ck_assert_uint_eq(list.nrules, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < list.nrules; i++) {
		ck_assert_int_eq(list.rules[i].action, want[i].a);
		ck_assert_str_eq(list.rules[i].pattern, want[i].p);
		ck_assert_uint_eq(list.rules[i].line, i + 1);
	}
	va_excl_release(&list);
}
END_TEST

/* ================================================================ match */

START_TEST(match_which)
{
	static const char text[] = "# x\n/a\n+/b*\n\n~/b/c\n-/*\n";
	struct va_excl_list list = VA_EXCL_LIST_INIT;
	const struct va_excl_rule *r = (const void *)1;

	parse_ok(&list, text, sizeof(text) - 1);
	ck_assert_uint_eq(list.nrules, 4);

	ck_assert_int_eq(va_excl_match(&list, "/a", &r), EXC);
	ck_assert_ptr_eq(r, &list.rules[0]);
	ck_assert_uint_eq(r->line, 2);
	ck_assert_str_eq(r->pattern, "/a");

	ck_assert_int_eq(va_excl_match(&list, "/b/c", &r), INC); /* "/b*" first */
	ck_assert_ptr_eq(r, &list.rules[1]);
	ck_assert_uint_eq(r->line, 3);
	ck_assert_str_eq(r->pattern, "/b*");

	ck_assert_int_eq(va_excl_match(&list, "/x", &r), EXC);
	ck_assert_ptr_eq(r, &list.rules[3]);
	ck_assert_uint_eq(r->line, 6);
	ck_assert_str_eq(r->pattern, "/*");

	ck_assert_int_eq(va_excl_match(&list, "x", &r), INC);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(va_excl_match(&list, "", &r), INC);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(va_excl_match(&list, "/a", NULL), EXC);

	/* the match of the path itself ignores the parents, effective does not */
	va_excl_release(&list);
	parse_ok(&list, L("/a\n+/a/b\n"));
	ck_assert_int_eq(va_excl_match(&list, "/a/b", &r), INC);
	ck_assert_ptr_eq(r, &list.rules[1]);
	ck_assert_int_eq(va_excl_effective(&list, "/a/b", &r), EXC);
	ck_assert_ptr_eq(r, &list.rules[0]);
	/* a path longer than the stack copy */
	{
		char *p = malloc(20001);

		ck_assert_ptr_nonnull(p);
		for (size_t i = 0; i < 20000; i += 2)
			p[i] = '/', p[i + 1] = 'd';
		p[20000] = '\0';
		ck_assert_int_eq(va_excl_effective(&list, p, &r), INC);
		ck_assert_ptr_null(r);
		p[1] = 'a';
		ck_assert_int_eq(va_excl_effective(&list, p, &r), EXC);
		ck_assert_ptr_eq(r, &list.rules[0]);
		free(p);
	}

	/* empty list */
	va_excl_release(&list);
	ck_assert_int_eq(va_excl_match(&list, "/a", &r), INC);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(va_excl_effective(&list, "/a/b", &r), INC);
	ck_assert_ptr_null(r);
}
END_TEST

/* Several files append to one list; release empties it for reuse. */
START_TEST(append_and_release)
{
	struct va_excl_list list = VA_EXCL_LIST_INIT;
	const struct va_excl_rule *r;

	parse_ok(&list, L("/a\n/b\n"));
	parse_ok(&list, L("+/a\n/c\n"));
	ck_assert_uint_eq(list.nrules, 4);
	ck_assert_uint_eq(list.rules[2].line, 1); /* lines count per buffer */
	ck_assert_int_eq(va_excl_match(&list, "/a", &r), EXC);
	ck_assert_ptr_eq(r, &list.rules[0]);
	ck_assert_int_eq(va_excl_match(&list, "/c", &r), EXC);
	ck_assert_ptr_eq(r, &list.rules[3]);
	va_excl_release(&list);
	ck_assert_uint_eq(list.nrules, 0);
	ck_assert_ptr_null(list.rules);
	parse_ok(&list, L("~/a\n"));
	ck_assert_int_eq(va_excl_match(&list, "/a", NULL), SKP);
	va_excl_release(&list);
	va_excl_release(&list);
	/* NULL buffer of length 0 */
	parse_ok(&list, NULL, 0);
	ck_assert_uint_eq(list.nrules, 0);
	va_excl_release(&list);
	/* many rules: the array grows */
	{
		struct dbuf b = DBUF_INIT;

		for (int i = 0; i < 1000; i++)
			dbuf_addf(&b, "/r%d\n", i);
		parse_ok(&list, b.buf, b.len);
		ck_assert_uint_eq(list.nrules, 1000);
		ck_assert_int_eq(va_excl_effective(&list, "/r999/x", &r), EXC);
		ck_assert_uint_eq(r->line, 1000);
		dbuf_release(&b);
		va_excl_release(&list);
	}
}
END_TEST

/* ================================================================ quirks */

struct qrec {
	enum va_excl_quirk q;
	unsigned line;
};

struct qlog {
	const char *buf;
	size_t len;
	struct dbuf text;       /* "ID:line " ... */
	size_t n;
};

static void qlog_warn(enum va_excl_quirk q, unsigned line, const char *text, size_t len, void *user)
{
	struct qlog *log = user;
	const char *name = (unsigned)q < VA_EXCL_Q_COUNT ? quirk_names[q] : "BAD";

	/* @text/@len is a whole raw line of the buffer */
	ck_assert(text >= log->buf && len <= log->len && (size_t)(text - log->buf) <= log->len - len);
	ck_assert(text == log->buf || text[-1] == '\n');
	ck_assert(text + len == log->buf + log->len || text[len] == '\n');
	ck_assert(memchr(text, '\n', len) == NULL);
	dbuf_addf(&log->text, "%s%s:%u", log->n++ ? " " : "", name, line);
}

/* The quirks of @buf as "ID:line ID:line". */
static char *quirks_of(const char *buf, size_t len)
{
	struct va_excl_list list = VA_EXCL_LIST_INIT;
	struct qlog log = { buf, len, DBUF_INIT, 0 };
	char *s;

	ck_assert_int_eq(va_excl_parse(&list, buf, len, qlog_warn, &log), 0);
	s = strdup(dbuf_str(&log.text));
	dbuf_release(&log.text);
	va_excl_release(&list);
	return s;
}

START_TEST(quirk_reports)
{
	static const struct {
		const char *list;
		size_t len;
		const char *want;
	} c[] = {
		{ L(""), "" },
		{ L("\n\n\n"), "" },
		{ L("#\n#x\n# \n#\t\n"), "" },
		{ L("/etc/foo\n"), "" },
		{ L("/etc/foo   \n"), "TRAILING_SPACE:1" },
		{ L("/etc/foo\t\n"), "TRAILING_OTHER:1" },
		{ L("/etc/foo\r\n"), "TRAILING_OTHER:1" },
		{ L("/etc/foo\t  \n"), "TRAILING_SPACE:1 TRAILING_OTHER:1" },
		{ L("/etc/f oo\n"), "" },
		{ L("*\n/a\n"), "ONE_CHAR:1" },
		{ L("a  \n"), "ONE_CHAR:1" },
		{ L("   \n"), "ONE_CHAR:1" },
		{ L("\r\n"), "ONE_CHAR:1" },
		{ L("+\n-\n~\n"), "ONE_CHAR:1 ONE_CHAR:2 ONE_CHAR:3" },
		{ L("/a\n/b"), "NO_NEWLINE:2" },
		{ L("/a\n#end"), "" },
		{ L("/a\nx"), "ONE_CHAR:2" },
		{ L("/a\n/b\0c\n/d\n"), "NUL_BYTE:2" },
		{ L("\0"), "NUL_BYTE:1" },
		{ L("/a\n/b\0"), "NUL_BYTE:2" },
		{ L("#c\0\n/a\n"), "NUL_BYTE:1" },
		{ L("/a\n\n\0\n"), "NUL_BYTE:3" },
		{ L("etc/foo\n"), "NEVER_MATCHES:1" },
		{ L("  # indented comment\n"), "NEVER_MATCHES:1" },
		{ L("+etc\n"), "NEVER_MATCHES:1" },
		{ L("+ /etc\n"), "NEVER_MATCHES:1" },
		{ L("/etc/\n"), "NEVER_MATCHES:1" },
		{ L("/a\\\n"), "NEVER_MATCHES:1" },      /* a trailing backslash never matches */
		{ L("\\/a\n"), "" },
		{ L("*foo\n?x\n[/]x\n"), "" },
		{ L("/a[b\n"), "BRACKET:1" },
		{ L("/a[]b\n"), "BRACKET:1" },
		{ L("/a[!]b\n"), "BRACKET:1" },
		{ L("/a[]]\n/a[!]]\n/a[^x]\n"), "" },
		{ L("/a[[:alpha:]]\n"), "" },
		{ L("/a\\[b\n"), "" },
		{ L("/a[\\]b]\n"), "" },
		{ L("/a[b\n/c[d\n"), "BRACKET:1 BRACKET:2" },
		{ L("/etc\n+/etc/termcap\n"), "SHADOWED:2" },
		{ L("+/etc/termcap\n/etc/*\n"), "" },
		{ L("+/etc/termcap\n/etc\n"), "SHADOWED:1" },     /* the parent is excluded all the same */
		{ L("/etc/term*\n+/etc/termcap\n"), "SHADOWED:2" },
		{ L("~/etc/termcap\n+/etc/termcap\n"), "SHADOWED:2" },
		{ L("+/etc/termcap\n+/etc/termcap\n"), "" },       /* redundant, but included */
		{ L("/*\n+/usr/bin/x\n"), "SHADOWED:2" },
		{ L("~/var\n+/var/lib/*.so\n"), "SHADOWED:2" },
		{ L("/var/*\n+/var/lib/*.so\n"), "SHADOWED:2" },
		{ L("+/var/lib/*.so\n/var/*\n"), "SHADOWED:1" },
		{ L("/etc/*\n+/etc/x*\n"), "" },                  /* glob against glob: not judged */
		{ L("-/etc\n~/etc/x\n"), "" },                    /* only includes are judged */
		{ L("+/a/b\n+/a\n/a/*\n"), "" },
		{ L("etc\n/a[ \n+/a/b\n/a\n/x\t\n/y"),
		  "NEVER_MATCHES:1 TRAILING_SPACE:2 BRACKET:2 SHADOWED:3 TRAILING_OTHER:5 NO_NEWLINE:6" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *got = quirks_of(c[i].list, c[i].len), *h = tu_hexdump(c[i].list, c[i].len);

		ck_assert_msg(strcmp(got, c[i].want) == 0, "case %zu \"%s\": got \"%s\", expected \"%s\"",
			      i, h, got, c[i].want);
		free(got);
		free(h);
	}
}
END_TEST

START_TEST(quirk_default_list_clean)
{
	char *got = quirks_of(va_excl_default_list, strlen(va_excl_default_list));

	ck_assert_msg(got[0] == '\0', "the shipped list reports \"%s\"", got);
	free(got);
}
END_TEST

/* A list appended to one that excludes the parent: the include is shadowed. */
START_TEST(quirk_shadowed_across_files)
{
	struct va_excl_list list = VA_EXCL_LIST_INIT;
	struct qlog log = { NULL, 0, DBUF_INIT, 0 };

	parse_ok(&list, L("/etc\n"));
	log.buf = "+/etc/termcap\n";
	log.len = strlen(log.buf);
	ck_assert_int_eq(va_excl_parse(&list, log.buf, log.len, qlog_warn, &log), 0);
	ck_assert_str_eq(dbuf_str(&log.text), "SHADOWED:1");
	dbuf_release(&log.text);
	va_excl_release(&list);
}
END_TEST

/* The raw line is passed, without the newline, trailing spaces included. */
static void text_warn(enum va_excl_quirk q, unsigned line, const char *text, size_t len, void *user)
{
	struct dbuf *b = user;

	dbuf_addf(b, "[%u:", line);
	dbuf_add(b, text, len);
	dbuf_adds(b, "]");
}

START_TEST(quirk_text)
{
	static const char in[] = "/ok\n/a  \nx\n/b\0tail\nmore\n";
	struct va_excl_list list = VA_EXCL_LIST_INIT;
	struct dbuf b = DBUF_INIT;

	ck_assert_int_eq(va_excl_parse(&list, in, sizeof(in) - 1, text_warn, &b), 0);
	ck_assert_uint_eq(b.len, strlen("[2:/a  ][3:x][4:/b") + 1 + strlen("tail]"));
	ck_assert_int_eq(memcmp(b.buf, "[2:/a  ][3:x][4:/b\0tail]", b.len), 0);
	ck_assert_uint_eq(list.nrules, 2);
	dbuf_release(&b);
	va_excl_release(&list);
}
END_TEST

START_TEST(quirk_messages)
{
	for (int q = 0; q < VA_EXCL_Q_COUNT; q++) {
		const char *m = va_excl_quirk_message((enum va_excl_quirk)q);

		ck_assert_ptr_nonnull(m);
		ck_assert_uint_gt(strlen(m), 10);
		ck_assert_ptr_nonnull(quirk_names[q]);
	}
	ck_assert_ptr_nonnull(va_excl_quirk_message(VA_EXCL_Q_COUNT));
	ck_assert_ptr_nonnull(va_excl_quirk_message((enum va_excl_quirk)-1));
}
END_TEST

/* ================================================================ robustness */

/*
 * readExcludeListFD() and MatchList_appendFiles() transliterated (pointer
 * loop and all, on a NUL-terminated copy), giving "A:line:pattern\n" per
 * rule with A one of + - ~.
 */
static void uv_reference(const char *in, size_t inlen, struct dbuf *out)
{
	char *buf = malloc(inlen + 1), *ptr;

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, in, inlen);
	buf[inlen] = '\0';
	ptr = buf;
	while (*ptr) {
		char *end_ptr = strchr(ptr, '\n');

		if (end_ptr == 0)
			break;
		if (*ptr != '#') {
			char *tmp = end_ptr;

			/* do { *tmp-- = '\0'; } while (tmp>ptr && *tmp==' '); without stepping before buf */
			for (;;) {
				*tmp = '\0';
				if (tmp == ptr)
					break;
				tmp--;
				if (!(tmp > ptr && *tmp == ' '))
					break;
			}
			if (tmp > ptr) {
				const char *file = ptr;
				char type = '-';
				unsigned line = 1;

				switch (file[0]) {
				case '+': type = '+'; ++file; break;
				case '~': type = '~'; ++file; break;
				case '-': ++file; break;
				default: break;
				}
				for (const char *q = in; q < in + (ptr - buf); q++)
					line += *q == '\n';
				dbuf_addf(out, "%c:%u:%s\n", type, line, file);
			}
		}
		ptr = end_ptr + 1;
	}
	free(buf);
}

struct wcheck {
	const char *buf;
	size_t len;
	unsigned lines;         /* '\n' count + 1 */
	unsigned count;
};

static void range_warn(enum va_excl_quirk q, unsigned line, const char *text, size_t len, void *user)
{
	struct wcheck *w = user;

	ck_assert_int_ge(q, 0);
	ck_assert_int_lt(q, VA_EXCL_Q_COUNT);
	ck_assert_uint_ge(line, 1);
	ck_assert_uint_le(line, w->lines);
	ck_assert(text >= w->buf && len <= w->len && (size_t)(text - w->buf) <= w->len - len);
	w->count++;
}

static void check_against_reference(const char *in, size_t len)
{
	struct va_excl_list list = VA_EXCL_LIST_INIT, list2 = VA_EXCL_LIST_INIT;
	struct dbuf mine = DBUF_INIT, theirs = DBUF_INIT;
	struct wcheck w = { in, len, 1, 0 };
	static const char *const paths[] = { "/", "/etc", "/etc/passwd", "/a/b", "/root/.ssh/id_rsa" };

	for (size_t i = 0; i < len; i++)
		w.lines += in[i] == '\n';
	ck_assert_int_eq(va_excl_parse(&list, in, len, range_warn, &w), 0);
	ck_assert_int_eq(va_excl_parse(&list2, in, len, NULL, NULL), 0);
	ck_assert_uint_eq(list.nrules, list2.nrules);
	for (size_t i = 0; i < list.nrules; i++) {
		const struct va_excl_rule *r = &list.rules[i];
		char c = r->action == INC ? '+' : r->action == SKP ? '~' : '-';

		ck_assert(r->action == INC || r->action == EXC || r->action == SKP);
		ck_assert_ptr_nonnull(r->pattern);
		ck_assert_uint_ge(r->line, 1);
		ck_assert_uint_le(r->line, w.lines);
		ck_assert(i == 0 || r->line > list.rules[i - 1].line);
		ck_assert(strchr(r->pattern, '\n') == NULL);
		ck_assert_str_eq(r->pattern, list2.rules[i].pattern);
		dbuf_addf(&mine, "%c:%u:%s\n", c, r->line, r->pattern);
	}
	uv_reference(in, len, &theirs);
	{
		char *h = tu_hexdump(in, len);

		ck_assert_msg(strcmp(dbuf_str(&mine), dbuf_str(&theirs)) == 0,
			      "\"%s\": vaudit reads\n%s, util-vserver reads\n%s", h, dbuf_str(&mine),
			      dbuf_str(&theirs));
		free(h);
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct va_excl_rule *r;
		enum va_excl_action a = va_excl_effective(&list, paths[i], &r);

		ck_assert(r == NULL ? a == INC : r->action == a);
		if (a == INC)
			ck_assert_int_eq(va_excl_match(&list, paths[i], NULL), INC);
	}
	dbuf_release(&mine);
	dbuf_release(&theirs);
	va_excl_release(&list);
	va_excl_release(&list2);
}

START_TEST(mutations_match_util_vserver)
{
	static const char sample[] =
		"# sample\n/.rpmdb\n~/etc/shadow\n+/etc/termcap\n/etc/*  \n\n-/root/*\n"
		"/x[ab]\n /y\n+/a\t\n";
	static const char bytes[] = { '\0', '\n', ' ', '#', '+', '-', '~', '[', ']', '\\', '*', '\t',
				      '\r', '/', 'a', (char)0xff };
	size_t n = sizeof(sample) - 1;
	char *buf = malloc(n);

	ck_assert_ptr_nonnull(buf);
	for (size_t len = 0; len <= n; len++)
		check_against_reference(sample, len);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sizeof(bytes); k++) {
			memcpy(buf, sample, n);
			buf[i] = bytes[k];
			check_against_reference(buf, n);
		}
		/* delete byte i */
		memcpy(buf, sample, i);
		memcpy(buf + i, sample + i + 1, n - i - 1);
		check_against_reference(buf, n - 1);
	}
	free(buf);
}
END_TEST

/* Random byte soup from a hostile alphabet, also against the transliteration. */
START_TEST(random_lists_match_util_vserver)
{
	static const char alpha[] = "\n\n\n  #+-~/*?[]!^\\\t\rab\0";
	uint64_t seed = 4242;
	char buf[96];

	for (int round = 0; round < 20000; round++) {
		size_t len = tu_rand(&seed) % sizeof(buf);

		for (size_t i = 0; i < len; i++)
			buf[i] = alpha[tu_rand(&seed) % (sizeof(alpha) - 1)];
		check_against_reference(buf, len);
	}
}
END_TEST

/* ================================================================ main */

static Suite *exclude_suite(void)
{
	Suite *s = suite_create("exclude");
	TCase *eval = tcase_create("evaluate");
	TCase *quirks = tcase_create("quirks");
	TCase *robust = tcase_create("robustness");

	tu_add_test(eval, decision_table, NULL);
	tu_add_test(eval, default_list_rules, NULL);
	tu_add_test(eval, match_which, NULL);
	tu_add_test(eval, append_and_release, NULL);
	suite_add_tcase(s, eval);

	tu_add_test(quirks, quirk_reports, NULL);
	tu_add_test(quirks, quirk_default_list_clean, NULL);
	tu_add_test(quirks, quirk_shadowed_across_files, NULL);
	tu_add_test(quirks, quirk_text, NULL);
	tu_add_test(quirks, quirk_messages, NULL);
	suite_add_tcase(s, quirks);

	tcase_set_timeout(robust, 120);
	tu_add_test(robust, mutations_match_util_vserver, NULL);
	tu_add_test(robust, random_lists_match_util_vserver, NULL);
	suite_add_tcase(s, robust);
	return s;
}

int main(void)
{
	return tu_main(exclude_suite());
}
