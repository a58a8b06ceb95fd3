/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_escape.c - unit tests of core/escape: UTF-8 validation, shell
 * quoting, JSON strings and base64.
 *
 * The oracles are outside vaudit: bash decodes the shell quoting, python3's
 * json module decodes the JSON strings and its strict UTF-8 codec judges
 * random byte strings, base64(1) encodes random binary.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ext2fs/ext2_err.h>

#include "core/escape.h"
#include "core/message.h"
#include "tests/unit/testutil.h"

#define S(lit) lit, sizeof(lit) - 1

struct bytes {
	const char *p;
	size_t len;
};

/* ================================================================ oracle */

/* Code points that must never reach a terminal raw (the test's own list). */
static bool cp_harmful(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       /* Unicode Bidi_Control (PropList.txt) */
	       cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) ||
	       /* line and paragraph separators */
	       cp == 0x2028 || cp == 0x2029;
}

/*
 * Independent strict UTF-8 scan of @s: NULL when it is valid UTF-8 made of
 * harmless code points, else what is wrong (offset in *at).
 */
static const char *harm(const char *s, size_t len, size_t *at)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		uint32_t cp, min;
		size_t n;

		*at = i;
		if (u[i] < 0x80) {
			cp = u[i], n = 1, min = 0;
		} else if (u[i] >= 0xc2 && u[i] <= 0xdf) {
			cp = u[i] & 0x1f, n = 2, min = 0x80;
		} else if (u[i] >= 0xe0 && u[i] <= 0xef) {
			cp = u[i] & 0x0f, n = 3, min = 0x800;
		} else if (u[i] >= 0xf0 && u[i] <= 0xf4) {
			cp = u[i] & 0x07, n = 4, min = 0x10000;
		} else {
			return "invalid UTF-8 lead byte";
		}
		if (i + n > len)
			return "truncated UTF-8 sequence";
		for (size_t k = 1; k < n; k++) {
			if ((u[i + k] & 0xc0) != 0x80)
				return "bad UTF-8 continuation byte";
			cp = cp << 6 | (u[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return "overlong, surrogate or out-of-range UTF-8";
		if (cp_harmful(cp))
			return "control, bidi or separator character left raw";
		i += n;
	}
	return NULL;
}

static void assert_harmless(const char *what, const char *in, size_t inlen, const struct dbuf *esc)
{
	size_t at = 0;
	const char *why = harm(esc->buf, esc->len, &at);

	if (why) {
		char *a = tu_hexdump(in, inlen), *b = tu_hexdump(esc->buf, esc->len);

		ck_abort_msg("%s(\"%s\") = \"%s\": %s at byte %zu", what, a, b, why, at);
	}
}

/* Run a python3 program on @in; its output in @out. */
static void python(const char *prog, const void *in, size_t inlen, struct dbuf *out)
{
	const char *argv[] = { "python3", "-c", prog, NULL };
	int status = tu_run(argv, in, inlen, out);

	ck_assert_msg(tu_run_ok(status), "python3 failed (status 0x%x)", status);
}

/* ================================================================ utf-8 */

START_TEST(utf8_valid_cases)
{
	static const struct {
		const char *s;
		size_t len;
		bool valid;
	} c[] = {
		{ S(""), true },
		{ S("plain ascii /etc/passwd"), true },
		{ S("a\0b"), true },                         /* NUL is a code point */
		{ S("\x7f"), true },
		{ S("h\xc3\xa9llo"), true },                 /* U+00E9 */
		{ S("\xc2\x80"), true },                     /* U+0080, smallest 2-byte */
		{ S("\xdf\xbf"), true },                     /* U+07FF */
		{ S("\xe0\xa0\x80"), true },                 /* U+0800, smallest 3-byte */
		{ S("\xe2\x82\xac"), true },                 /* U+20AC */
		{ S("\xed\x9f\xbf"), true },                 /* U+D7FF, below surrogates */
		{ S("\xee\x80\x80"), true },                 /* U+E000, above surrogates */
		{ S("\xef\xbf\xbf"), true },                 /* U+FFFF */
		{ S("\xf0\x90\x80\x80"), true },             /* U+10000, smallest 4-byte */
		{ S("\xf0\x9f\x98\x80"), true },             /* U+1F600 */
		{ S("\xf4\x8f\xbf\xbf"), true },             /* U+10FFFF, the last */
		{ S("\xc0\xaf"), false },                    /* overlong '/' */
		{ S("\xc0\x80"), false },                    /* overlong NUL */
		{ S("\xc1\xbf"), false },                    /* overlong */
		{ S("\xe0\x80\xaf"), false },                /* overlong 3-byte '/' */
		{ S("\xe0\x9f\xbf"), false },                /* overlong U+07FF */
		{ S("\xf0\x80\x80\xaf"), false },            /* overlong 4-byte '/' */
		{ S("\xf0\x8f\xbf\xbf"), false },            /* overlong U+FFFF */
		{ S("\xed\xa0\x80"), false },                /* U+D800 surrogate */
		{ S("\xed\xbf\xbf"), false },                /* U+DFFF surrogate */
		{ S("\xed\xa0\xbd\xed\xb8\x80"), false },    /* CESU-8 surrogate pair */
		{ S("\xf4\x90\x80\x80"), false },            /* U+110000 */
		{ S("\xf5\x80\x80\x80"), false },
		{ S("\xf7\xbf\xbf\xbf"), false },
		{ S("\xf8\x88\x80\x80\x80"), false },        /* 5-byte form */
		{ S("\xfc\x84\x80\x80\x80\x80"), false },    /* 6-byte form */
		{ S("\xfe"), false },
		{ S("\xff"), false },
		{ S("\x80"), false },                        /* lone continuation */
		{ S("a\xbf"), false },
		{ S("\xc3"), false },                        /* truncated */
		{ S("\xe2\x82"), false },
		{ S("\xf0\x9f\x98"), false },
		{ S("a\xc3"), false },
		{ S("\xc3\x28"), false },                    /* bad continuation */
		{ S("\xe2\x28\xa1"), false },
		{ S("\xf0\x9f\x28\x80"), false },
		{ S("ok\xff" "ok"), false },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char *h = tu_hexdump(c[i].s, c[i].len);

		ck_assert_msg(va_utf8_valid(c[i].s, c[i].len) == c[i].valid, "va_utf8_valid(\"%s\") != %s",
			      h, c[i].valid ? "true" : "false");
		free(h);
	}
	/* only @len bytes count */
	ck_assert(!va_utf8_valid("\xc3\xa9", 1));
	ck_assert(va_utf8_valid("abc\xff", 3));
	ck_assert(va_utf8_valid("\xff", 0));
}
END_TEST

START_TEST(utf8_decode_cases)
{
	uint32_t cp = 0;

	ck_assert_uint_eq(va_utf8_decode("A", 1, &cp), 1);
	ck_assert_uint_eq(cp, 0x41);
	ck_assert_uint_eq(va_utf8_decode("\xc3\xa9zz", 4, &cp), 2);
	ck_assert_uint_eq(cp, 0xe9);
	ck_assert_uint_eq(va_utf8_decode("\xe2\x82\xac", 3, &cp), 3);
	ck_assert_uint_eq(cp, 0x20ac);
	ck_assert_uint_eq(va_utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
	ck_assert_uint_eq(cp, 0x1f600);
	ck_assert_uint_eq(va_utf8_decode("\xf4\x8f\xbf\xbf", 4, &cp), 4);
	ck_assert_uint_eq(cp, 0x10ffff);
	ck_assert_uint_eq(va_utf8_decode("\xe2\x80\xae", 3, &cp), 3);
	ck_assert_uint_eq(cp, 0x202e);
	ck_assert_uint_eq(va_utf8_decode("", 1, &cp), 1); /* the NUL byte */
	ck_assert_uint_eq(cp, 0);
	ck_assert_uint_eq(va_utf8_decode("A", 0, &cp), 0);
	ck_assert_uint_eq(va_utf8_decode("\xc3\xa9", 1, &cp), 0);
	ck_assert_uint_eq(va_utf8_decode("\xf0\x9f\x98\x80", 3, &cp), 0);
	ck_assert_uint_eq(va_utf8_decode("\xc0\xaf", 2, &cp), 0);
	ck_assert_uint_eq(va_utf8_decode("\xed\xa0\x80", 3, &cp), 0);
	ck_assert_uint_eq(va_utf8_decode("\xf4\x90\x80\x80", 4, &cp), 0);
	ck_assert_uint_eq(va_utf8_decode("\x80", 1, &cp), 0);
}
END_TEST

/* Random byte strings judged by python3's strict UTF-8 decoder. */
START_TEST(utf8_valid_matches_python)
{
	static const unsigned char pool[] = {
		0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
		0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf7, 0xf8, 0xfe, 0xff,
	};
	enum { N = 4000 };
	struct dbuf in = DBUF_INIT, out = DBUF_INIT;
	unsigned char (*s)[8] = calloc(N, sizeof(*s));
	size_t *len = calloc(N, sizeof(*len)), nvalid = 0;
	uint64_t seed = 0x5eed;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(len);
	for (int i = 0; i < N; i++) {
		len[i] = tu_rand(&seed) % 7;
		for (size_t k = 0; k < len[i]; k++) {
			uint64_t r = tu_rand(&seed);

			/* mostly continuation bytes after a lead, to make valid sequences likely */
			s[i][k] = (k > 0 && r % 3) ? (unsigned char)(0x80 | (r >> 8) % 64)
						   : pool[(r >> 16) % sizeof(pool)];
		}
		for (size_t k = 0; k < len[i]; k++)
			dbuf_addf(&in, "%02x", s[i][k]);
		dbuf_addc(&in, '\n');
	}
	python("import sys\n"
	       "for line in sys.stdin:\n"
	       "    try:\n"
	       "        bytes.fromhex(line.strip()).decode('utf-8', 'strict')\n"
	       "        sys.stdout.write('1')\n"
	       "    except UnicodeDecodeError:\n"
	       "        sys.stdout.write('0')\n",
	       in.buf, in.len, &out);
	ck_assert_uint_eq(out.len, N);
	for (int i = 0; i < N; i++) {
		bool want = out.buf[i] == '1';
		char *h = tu_hexdump(s[i], len[i]);

		nvalid += want;
		ck_assert_msg(va_utf8_valid((const char *)s[i], len[i]) == want,
			      "va_utf8_valid(\"%s\") = %d, python says %d", h, !want, want);
		free(h);
	}
	ck_assert_uint_gt(nvalid, N / 10); /* the sample had both kinds */
	ck_assert_uint_lt(nvalid, N - N / 10);
	free(s);
	free(len);
	dbuf_release(&in);
	dbuf_release(&out);
}
END_TEST

/* ================================================================ shell */

/* Names that stay exactly as they are. */
START_TEST(shell_plain_unchanged)
{
	static const char *const plain[] = {
		"foo", "foo.bar", "a/b/c", "/vservers/g1/etc/passwd", "x_y+z,1:2@3%4^5-6",
		"ABC-xyz.0123456789", "/", ".", "..", "a-", "%s%n", "lib/x86_64-linux-gnu/libc.so.6",
	};

	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		struct dbuf b = DBUF_INIT;
		const char *p = plain[i];

		ck_assert_int_eq(va_escape_shell(&b, p, strlen(p)), 0);
		ck_assert_msg(b.len == strlen(p) && memcmp(b.buf, p, b.len) == 0,
			      "va_escape_shell(\"%s\") = \"%s\"", p, dbuf_str(&b));
		dbuf_release(&b);
	}
	/* appends to what is there */
	{
		struct dbuf b = DBUF_INIT;

		dbuf_adds(&b, "ls ");
		ck_assert_int_eq(va_escape_shell(&b, S("foo")), 0);
		ck_assert_str_eq(b.buf, "ls foo");
		dbuf_release(&b);
	}
}
END_TEST

/* Hostile names, each checked alone: harmless output, and bash gives the bytes back. */
static const struct bytes hostile[] = {
	{ S("a\nb") }, { S("tab\there") }, { S("cr\rlf\n") }, { S("it's") }, { S("'") }, { S("''") },
	{ S("\"dq\"") }, { S("back\\slash") }, { S("\\'") }, { S("a\\nb") }, { S("$(reboot)") },
	{ S("${HOME}") }, { S("$'x'") }, { S("`id`") }, { S("-rf") }, { S("--") }, { S("-") },
	{ S("~root") }, { S("~") }, { S("a~b") }, { S("*.c") }, { S("?") }, { S("[ab]") },
	{ S("{a,b}") }, { S("!!") }, { S("a b") }, { S(" lead") }, { S("trail ") }, { S("#hash") },
	{ S("semi;colon") }, { S("amp&") }, { S("pipe|") }, { S("<redir>") }, { S("=eq") },
	{ S("\xff\xfe") }, { S("\x1b[31mred\x1b[0m") }, { S("\x1b]0;title\x07") },
	{ S("h\xc3\xa9llo") }, { S("evil\xe2\x80\xaetxt.exe") }, { S("") }, { S("\x7f") },
	{ S("\xc2\x85nel") }, { S("\xc2\x9b" "31m") }, { S("\xc2\x80\xc2\x9f") }, { S("\x01\x02\x03") },
	{ S("\xe2\x80\xa8ls\xe2\x80\xa9ps") }, { S("\xe2\x81\xa6lri\xe2\x81\xa9") },
	{ S("\xe2\x80\x8elrm\xe2\x80\x8f") }, { S("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad") },
	{ S("\xef\xbb\xbf" "bom") }, { S("\xed\xa0\x80surrogate") }, { S("\xc0\xaf") },
	{ S("\xf4\x90\x80\x80") }, { S("trunc\xe2\x82") }, { S("end\xc3") }, { S("\xf0\x9f\x98\x80") },
	{ S("\x80\x80\x80") }, { S("\xc3\xa9\x1b\xc3\xa9") }, { S("x\x1by") }, { S("\n") },
	{ S("\t\t") }, { S("a'b'c") }, { S("'\n'") }, { S("\\") }, { S("$") }, { S("\x1b") },
	{ S("0\x01" "9") }, { S("\x01" "0a") }, { S("\x1b" "E") }, { S("\xcc\x81") },
};

static void shell_check_one(const char *s, size_t len)
{
	struct dbuf esc = DBUF_INIT, out = DBUF_INIT;
	char *script;
	const char *argv[] = { "bash", "-c", NULL, NULL };
	int status;

	ck_assert_int_eq(va_escape_shell(&esc, s, len), 0);
	assert_harmless("va_escape_shell", s, len, &esc);
	ck_assert_msg(esc.len > 0, "empty name escaped to nothing");

	script = tu_strdupf("printf %%s %s", esc.buf);
	argv[2] = script;
	status = tu_run(argv, NULL, 0, &out);
	{
		char *a = tu_hexdump(s, len), *b = tu_hexdump(esc.buf, esc.len),
		     *c = tu_hexdump(out.buf, out.len);

		ck_assert_msg(tu_run_ok(status) && out.len == len && (len == 0 || memcmp(out.buf, s, len) == 0),
			      "\"%s\" escaped as \"%s\": bash printed \"%s\" (status 0x%x)", a, b, c, status);
		free(a);
		free(b);
		free(c);
	}
	free(script);
	dbuf_release(&esc);
	dbuf_release(&out);
}

START_TEST(shell_hostile_roundtrip)
{
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct dbuf esc = DBUF_INIT;

		shell_check_one(hostile[i].p, hostile[i].len);
		/* none of them is made only of plain bytes: all must be quoted */
		va_escape_shell(&esc, hostile[i].p, hostile[i].len);
		ck_assert_msg(esc.len != hostile[i].len || memcmp(esc.buf, hostile[i].p, esc.len) != 0,
			      "hostile name %zu written unquoted", i);
		dbuf_release(&esc);
	}
}
END_TEST

/* Every Unicode Bidi_Control character is escaped, not written raw. */
START_TEST(shell_bidi_controls_escaped)
{
	static const uint32_t bidi[] = {
		0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e,
		0x2066, 0x2067, 0x2068, 0x2069,
	};
	struct dbuf failed = DBUF_INIT;

	for (size_t i = 0; i < sizeof(bidi) / sizeof(bidi[0]); i++) {
		char name[16];
		size_t len = 0, at;
		struct dbuf esc = DBUF_INIT;
		uint32_t cp = bidi[i];

		name[len++] = 'a';
		if (cp < 0x800) {
			name[len++] = (char)(0xc0 | cp >> 6);
		} else {
			name[len++] = (char)(0xe0 | cp >> 12);
			name[len++] = (char)(0x80 | (cp >> 6 & 0x3f));
		}
		name[len++] = (char)(0x80 | (cp & 0x3f));
		name[len++] = 'b';
		ck_assert_int_eq(va_escape_shell(&esc, name, len), 0);
		if (harm(esc.buf, esc.len, &at))
			dbuf_addf(&failed, " U+%04X", cp);
		else
			shell_check_one(name, len);
		dbuf_release(&esc);
	}
	ck_assert_msg(failed.len == 0, "va_escape_shell writes these bidi controls raw:%s",
		      dbuf_str(&failed));
}
END_TEST

/* Many random names at once: printf '%s\0' NAME1 NAME2 ... */
START_TEST(shell_random_roundtrip)
{
	static const char specials[] = "'\\\"$`\n\t !*?[]{}~-#;&|<>()=%^";
	enum { N = 400 };
	struct dbuf script = DBUF_INIT, out = DBUF_INIT, names = DBUF_INIT;
	size_t lens[N];
	uint64_t seed = 1234567;
	const char *argv[] = { "bash", "-c", NULL, NULL };
	const char *p;
	int status;

	dbuf_adds(&script, "printf '%s\\0'");
	for (int i = 0; i < N; i++) {
		size_t start = names.len;
		struct dbuf esc = DBUF_INIT;

		lens[i] = tu_rand(&seed) % 24;
		for (size_t k = 0; k < lens[i]; k++) {
			uint64_t r = tu_rand(&seed);
			unsigned char c;

			switch (r % 4) {
			case 0: c = (unsigned char)(1 + (r >> 8) % 255); break;   /* any byte */
			case 1: c = (unsigned char)(1 + (r >> 8) % 0x7f); break;  /* ASCII */
			case 2: c = (unsigned char)specials[(r >> 8) % (sizeof(specials) - 1)]; break;
			default: c = (unsigned char)(0x80 + (r >> 8) % 0x80); break;
			}
			dbuf_addc(&names, (char)c);
		}
		ck_assert_int_eq(va_escape_shell(&esc, names.buf ? names.buf + start : "", lens[i]), 0);
		assert_harmless("va_escape_shell", names.buf ? names.buf + start : "", lens[i], &esc);
		dbuf_addc(&script, ' ');
		dbuf_add(&script, esc.buf, esc.len);
		dbuf_release(&esc);
	}
	argv[2] = script.buf;
	status = tu_run(argv, NULL, 0, &out);
	ck_assert_msg(tu_run_ok(status), "bash failed (status 0x%x)", status);
	p = out.buf;
	for (int i = 0, off = 0; i < N; i++) {
		const char *end = memchr(p, '\0', out.len - (size_t)(p - out.buf));
		char *a = tu_hexdump(names.buf + off, lens[i]);

		ck_assert_msg(end != NULL, "output ended before name %d", i);
		ck_assert_msg((size_t)(end - p) == lens[i] && memcmp(p, names.buf + off, lens[i]) == 0,
			      "name %d \"%s\" did not survive the shell", i, a);
		free(a);
		off += (int)lens[i];
		p = end + 1;
	}
	ck_assert_ptr_eq(p, out.buf + out.len);
	dbuf_release(&script);
	dbuf_release(&out);
	dbuf_release(&names);
}
END_TEST

/* ================================================================ json */

static const char json_decode_py[] =
	"import json, sys\n"
	"for line in sys.stdin.buffer.read().split(b'\\n')[:-1]:\n"
	"    try:\n"
	"        v = json.loads(line.decode('utf-8', 'strict'))\n"
	"        assert isinstance(v, str), 'not a string'\n"
	"        sys.stdout.buffer.write(v.encode('utf-8', 'surrogatepass') + b'\\0')\n"
	"    except Exception as e:\n"
	"        sys.stdout.buffer.write(b'!ERROR ' + repr(e).encode() + b'\\0')\n";

static void json_check_raw(const char *in, size_t inlen, const struct dbuf *esc)
{
	char *a = tu_hexdump(in, inlen), *b = tu_hexdump(esc->buf, esc->len);

	ck_assert_msg(esc->len >= 2 && esc->buf[0] == '"' && esc->buf[esc->len - 1] == '"',
		      "\"%s\" -> %s: not a quoted string", a, b);
	assert_harmless("va_escape_json", in, inlen, esc);
	for (size_t i = 0; i < esc->len; i++) {
		unsigned char c = (unsigned char)esc->buf[i];

		ck_assert_msg(c >= 0x20 && c != 0x7f, "\"%s\" -> %s: raw byte 0x%02x", a, b, c);
		ck_assert_msg(!(c == 0xe2 && i + 2 < esc->len && esc->buf[i + 1] == '\x80' &&
				(esc->buf[i + 2] == '\xa8' || esc->buf[i + 2] == '\xa9')),
			      "\"%s\" -> %s: raw U+2028/U+2029", a, b);
	}
	ck_assert_msg(va_utf8_valid(esc->buf, esc->len), "\"%s\" -> %s: invalid UTF-8", a, b);
	free(a);
	free(b);
}

START_TEST(json_roundtrip_python)
{
	static const struct bytes names[] = {
		{ S("plain") }, { S("") }, { S("a\"b") }, { S("back\\slash") }, { S("nl\nx") },
		{ S("\t\r\b\f") }, { S("\x01\x1f") }, { S("\x7f") }, { S("h\xc3\xa9llo") },
		{ S("\xe2\x80\xa8\xe2\x80\xa9") }, { S("\xf0\x9f\x98\x80") }, { S("/") },
		{ S("</script>") }, { S("\xc2\x85\xc2\x9b") }, { S("\x1b[31m") }, { S("'") },
		{ S("\\u0041") }, { S("\xe2\x80\xae") }, { S("\xef\xbf\xbf\xf4\x8f\xbf\xbf") },
		{ S("a\0b") }, { S("\\\"\\") },
	};
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct dbuf in = DBUF_INIT, out = DBUF_INIT;
	const char *p;

	for (size_t i = 0; i < N; i++) {
		struct dbuf esc = DBUF_INIT;

		ck_assert(va_utf8_valid(names[i].p, names[i].len));
		ck_assert_int_eq(va_escape_json(&esc, names[i].p, names[i].len), 0);
		json_check_raw(names[i].p, names[i].len, &esc);
		dbuf_add(&in, esc.buf, esc.len);
		dbuf_addc(&in, '\n');
		dbuf_release(&esc);
	}
	python(json_decode_py, in.buf, in.len, &out);
	p = out.buf;
	for (size_t i = 0; i < N; i++) {
		/* "a\0b" decodes with a NUL inside: compare by length */
		size_t want = names[i].len;
		char *a = tu_hexdump(names[i].p, names[i].len);

		ck_assert_msg(p && (size_t)(out.buf + out.len - p) > want && p[want] == '\0' &&
			      memcmp(p, names[i].p, want) == 0,
			      "\"%s\" did not survive JSON: python gave \"%s\"", a, p ? p : "(nothing)");
		free(a);
		p += want + 1;
	}
	ck_assert_ptr_eq(p, out.buf + out.len);
	dbuf_release(&in);
	dbuf_release(&out);
}
END_TEST

/* JSON output is safe on a terminal: every control, bidi control and separator escaped. */
START_TEST(json_terminal_safe)
{
	static const uint32_t cps[] = {
		0x01, 0x08, 0x0a, 0x1b, 0x1f, 0x7f, 0x80, 0x85, 0x9b, 0x9f,
		0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e,
		0x2066, 0x2067, 0x2068, 0x2069, 0x2028, 0x2029,
	};
	enum { N = sizeof(cps) / sizeof(cps[0]) };
	struct dbuf in = DBUF_INIT, out = DBUF_INIT, failed = DBUF_INIT;
	char names[N][8];
	size_t lens[N];
	const char *p;

	for (size_t i = 0; i < N; i++) {
		struct dbuf esc = DBUF_INIT;
		uint32_t cp = cps[i];
		size_t len = 0, at;

		names[i][len++] = 'a';
		if (cp < 0x80) {
			names[i][len++] = (char)cp;
		} else if (cp < 0x800) {
			names[i][len++] = (char)(0xc0 | cp >> 6);
			names[i][len++] = (char)(0x80 | (cp & 0x3f));
		} else {
			names[i][len++] = (char)(0xe0 | cp >> 12);
			names[i][len++] = (char)(0x80 | (cp >> 6 & 0x3f));
			names[i][len++] = (char)(0x80 | (cp & 0x3f));
		}
		names[i][len++] = 'b';
		lens[i] = len;
		ck_assert_int_eq(va_escape_json(&esc, names[i], len), 0);
		if (harm(esc.buf, esc.len, &at))
			dbuf_addf(&failed, " U+%04X", cp);
		dbuf_add(&in, esc.buf, esc.len);
		dbuf_addc(&in, '\n');
		dbuf_release(&esc);
	}
	/* and it still decodes to the name */
	python(json_decode_py, in.buf, in.len, &out);
	p = out.buf;
	for (size_t i = 0; i < N; i++) {
		ck_assert_msg(p && strlen(p) == lens[i] && memcmp(p, names[i], lens[i]) == 0,
			      "U+%04X did not survive JSON", cps[i]);
		p += lens[i] + 1;
	}
	ck_assert_msg(failed.len == 0, "va_escape_json writes these raw:%s", dbuf_str(&failed));
	dbuf_release(&in);
	dbuf_release(&out);
	dbuf_release(&failed);
}
END_TEST

START_TEST(json_escapes_controls)
{
	struct dbuf b = DBUF_INIT;

	ck_assert_int_eq(va_escape_json(&b, S("a\nb")), 0);
	ck_assert_str_eq(b.buf, "\"a\\nb\"");
	dbuf_setlen(&b, 0);
	ck_assert_int_eq(va_escape_json(&b, S("\"\\")), 0);
	ck_assert_str_eq(b.buf, "\"\\\"\\\\\"");
	dbuf_setlen(&b, 0);
	ck_assert_int_eq(va_escape_json(&b, S("")), 0);
	ck_assert_str_eq(b.buf, "\"\"");
	dbuf_setlen(&b, 0);
	/* other controls as \uXXXX (hex case free) */
	ck_assert_int_eq(va_escape_json(&b, S("\x01")), 0);
	ck_assert_int_eq(strcasecmp(b.buf, "\"\\u0001\""), 0);
	dbuf_setlen(&b, 0);
	ck_assert_int_eq(va_escape_json(&b, S("\x1b")), 0);
	ck_assert_int_eq(strcasecmp(b.buf, "\"\\u001b\""), 0);
	dbuf_setlen(&b, 0);
	ck_assert_int_eq(va_escape_json(&b, S("\x7f")), 0);
	ck_assert_int_eq(strcasecmp(b.buf, "\"\\u007f\""), 0);
	dbuf_setlen(&b, 0);
	ck_assert_int_eq(va_escape_json(&b, S("\xe2\x80\xa8")), 0);
	ck_assert_int_eq(strcasecmp(b.buf, "\"\\u2028\""), 0);
	dbuf_setlen(&b, 0);
	ck_assert_int_eq(va_escape_json(&b, S("\xe2\x80\xa9")), 0);
	ck_assert_int_eq(strcasecmp(b.buf, "\"\\u2029\""), 0);
	dbuf_setlen(&b, 0);
	ck_assert_int_eq(va_escape_json(&b, S("\t")), 0);
	ck_assert_msg(strcmp(b.buf, "\"\\t\"") == 0 || strcasecmp(b.buf, "\"\\u0009\"") == 0, "%s", b.buf);
	dbuf_setlen(&b, 0);
	/* appends */
	dbuf_adds(&b, "{\"k\":");
	ck_assert_int_eq(va_escape_json(&b, S("v")), 0);
	ck_assert_str_eq(b.buf, "{\"k\":\"v\"");
	dbuf_release(&b);
}
END_TEST

/* Invalid UTF-8 given anyway: still valid JSON, bad bytes become U+FFFD. */
START_TEST(json_invalid_utf8_replaced)
{
	static const struct bytes bad[] = {
		{ S("a\xff" "b") }, { S("\xfe") }, { S("x\xc0\xafy") }, { S("\x80\x80") },
		{ S("ok\xed\xa0\x80") }, { S("\xf4\x90\x80\x80") }, { S("trunc\xe2\x82") },
	};
	/* unambiguous expectations: one U+FFFD for each byte that starts no valid sequence */
	static const struct bytes want[] = {
		{ S("a\xef\xbf\xbd" "b") }, { S("\xef\xbf\xbd") }, { S("x\xef\xbf\xbd\xef\xbf\xbdy") },
		{ S("\xef\xbf\xbd\xef\xbf\xbd") }, { NULL, 0 }, { NULL, 0 }, { NULL, 0 },
	};
	enum { N = sizeof(bad) / sizeof(bad[0]) };
	struct dbuf in = DBUF_INIT, out = DBUF_INIT;
	const char *p;

	for (size_t i = 0; i < N; i++) {
		struct dbuf esc = DBUF_INIT;

		ck_assert_int_eq(va_escape_json(&esc, bad[i].p, bad[i].len), 0);
		json_check_raw(bad[i].p, bad[i].len, &esc);
		dbuf_add(&in, esc.buf, esc.len);
		dbuf_addc(&in, '\n');
		dbuf_release(&esc);
	}
	python(json_decode_py, in.buf, in.len, &out);
	p = out.buf;
	for (size_t i = 0; i < N; i++) {
		size_t n = strlen(p);
		char *a = tu_hexdump(bad[i].p, bad[i].len), *g = tu_hexdump(p, n);

		ck_assert_msg(strncmp(p, "!ERROR", 6) != 0, "\"%s\": %s", a, p);
		ck_assert_msg(va_utf8_valid(p, n), "\"%s\" decoded to invalid UTF-8", a);
		ck_assert_msg(strstr(p, "\xef\xbf\xbd") != NULL, "\"%s\" -> \"%s\": no U+FFFD", a, g);
		if (want[i].p)
			ck_assert_msg(n == want[i].len && memcmp(p, want[i].p, n) == 0,
				      "\"%s\" -> \"%s\"", a, g);
		free(a);
		free(g);
		p += n + 1;
	}
	dbuf_release(&in);
	dbuf_release(&out);
}
END_TEST

/* ================================================================ base64 */

START_TEST(base64_rfc4648_vectors)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dbuf b = DBUF_INIT;

		ck_assert_int_eq(va_base64(&b, v[i][0], strlen(v[i][0])), 0);
		ck_assert_str_eq(dbuf_str(&b), v[i][1]);
		ck_assert_uint_eq(b.len, strlen(v[i][1]));
		dbuf_release(&b);
	}
	{
		struct dbuf b = DBUF_INIT;
		const unsigned char hi[] = { 0xff, 0xfe, 0xfd, 0x00, 0x3e, 0x3f };

		dbuf_adds(&b, "x:");
		ck_assert_int_eq(va_base64(&b, hi, sizeof(hi)), 0);
		ck_assert_str_eq(b.buf, "x://79AD4/");
		dbuf_release(&b);
	}
}
END_TEST

/* Decoding: the RFC 4648 vectors back, bytes with NULs, and malformed text refused. */
START_TEST(unbase64_vectors_and_errors)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = {
		"Zg", "Zg=", "Z===", "Zm9=Ymfy", "ab=c", "Zm9v\n", "Zm 9", "Zm9*", "====",
	};
	const unsigned char hi[] = { 0xff, 0xfe, 0xfd, 0x00, 0x3e, 0x3f };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct dbuf b = DBUF_INIT;

		ck_assert_int_eq(va_unbase64(&b, v[i][1], strlen(v[i][1])), 0);
		ck_assert_ptr_nonnull(b.buf);
		ck_assert_uint_eq(b.len, strlen(v[i][0]));
		ck_assert_str_eq(b.buf, v[i][0]);
		dbuf_release(&b);
	}
	{
		struct dbuf b = DBUF_INIT;

		ck_assert_int_eq(va_unbase64(&b, "//79AD4/", 8), 0);
		ck_assert_uint_eq(b.len, sizeof(hi));
		ck_assert_int_eq(memcmp(b.buf, hi, sizeof(hi)), 0);
		dbuf_release(&b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dbuf b = DBUF_INIT;

		dbuf_adds(&b, "keep");
		ck_assert_msg(va_unbase64(&b, bad[i], strlen(bad[i])) == -EINVAL, "accepted \"%s\"", bad[i]);
		ck_assert_str_eq(b.buf, "keep");
		dbuf_release(&b);
	}
}
END_TEST

START_TEST(base64_matches_coreutils)
{
	uint64_t seed = 99;

	for (int round = 0; round < 40; round++) {
		size_t len = round < 4 ? (size_t)round : tu_rand(&seed) % 2000;
		unsigned char *data = malloc(len + 1);
		struct dbuf mine = DBUF_INIT, theirs = DBUF_INIT;
		const char *argv[] = { "base64", "-w", "0", NULL };

		ck_assert_ptr_nonnull(data);
		for (size_t i = 0; i < len; i++)
			data[i] = (unsigned char)tu_rand(&seed);
		ck_assert_int_eq(va_base64(&mine, data, len), 0);
		ck_assert_msg(tu_run_ok(tu_run(argv, data, len, &theirs)), "base64 failed");
		while (theirs.len && theirs.buf[theirs.len - 1] == '\n')
			dbuf_setlen(&theirs, theirs.len - 1);
		ck_assert_msg(mine.len == theirs.len && (mine.len == 0 || memcmp(mine.buf, theirs.buf, mine.len) == 0),
			      "%zu bytes: vaudit \"%s\", base64 \"%s\"", len, dbuf_str(&mine),
			      dbuf_str(&theirs));
		ck_assert_uint_eq(mine.len, (len + 2) / 3 * 4);
		free(data);
		dbuf_release(&mine);
		dbuf_release(&theirs);
	}
}
END_TEST

/* ================================================================ main */

/* ------------------------------------------------------------------ messages */

/* The text of @e, compared with @want. */
static void error_is(const struct va_error *e, const char *want)
{
	struct dbuf b = DBUF_INIT;

	ck_assert_int_eq(va_error_text(&b, e), 0);
	ck_assert_str_eq(dbuf_str(&b), want);
	dbuf_release(&b);
}

START_TEST(error_text_shapes)
{
	struct va_error e = VA_ERROR_INIT;
	struct dbuf b = DBUF_INIT;

	ck_assert(!va_error_is_set(&e));
	/* an errno's text */
	ck_assert_int_eq(va_error_set(&e, ENOENT, "/x/p", 4, "cannot read the plan", NULL), 0);
	ck_assert(va_error_is_set(&e));
	va_msg_text(&b, "/x/p", 4, "cannot read the plan", strerror(ENOENT));
	error_is(&e, dbuf_str(&b));
	/* a reason of the library's own wins over the code */
	va_error_set(&e, EINVAL, "/x/p", 4, "not a usable plan (line 2)", "not a JSON object");
	error_is(&e, "'/x/p': not a usable plan (line 2): not a JSON object");
	/* no reason at all */
	va_error_set(&e, 0, "/x/j", 4, "the journal belongs to another filesystem (UUID differs)", NULL);
	error_is(&e, "'/x/j': the journal belongs to another filesystem (UUID differs)");
	/* an image error with its inode and a libext2fs code */
	va_error_set(&e, EXT2_ET_BAD_MAGIC, "h.img", 5, "reading the inode table", NULL);
	e.ino = 4294967296ULL;
	dbuf_setlen(&b, 0);
	dbuf_addf(&b, "'h.img': reading the inode table (inode 4294967296): %s",
		  va_error_reason(EXT2_ET_BAD_MAGIC));
	error_is(&e, dbuf_str(&b));
	ck_assert_ptr_null(strstr(dbuf_str(&b), "Unknown code"));
	/* a path that needs escaping, and an empty one */
	va_error_set(&e, 0, "a\nb", 3, "cannot create the journal", NULL);
	error_is(&e, "'a'$'\\n''b': cannot create the journal");
	va_error_set(&e, 0, NULL, 0, "x", NULL);
	error_is(&e, "'': x");
	va_error_release(&e);
	ck_assert(!va_error_is_set(&e) && e.path.len == 0);
	dbuf_release(&b);
}
END_TEST

static bool python_works(void)
{
	const char *argv[] = { "python3", "-c", "import json, sys", NULL };

	return tu_have("python3") && tu_run_ok(tu_run_quiet(argv, NULL));
}

static Suite *escape_suite(void)
{
	Suite *s = suite_create("escape");
	TCase *utf8 = tcase_create("utf8");
	TCase *shell = tcase_create("shell");
	TCase *json = tcase_create("json");
	TCase *b64 = tcase_create("base64");
	TCase *msg = tcase_create("message");
	const char *no_python, *no_bash;

	no_python = python_works() ? NULL : "python3 not available";
	no_bash = tu_have("bash") ? NULL : "bash not installed";

	tcase_set_timeout(utf8, 60);
	tu_add_test(utf8, utf8_valid_cases, NULL);
	tu_add_test(utf8, utf8_decode_cases, NULL);
	tu_add_test(utf8, utf8_valid_matches_python, no_python);
	suite_add_tcase(s, utf8);

	tcase_set_timeout(shell, 120);
	tu_add_test(shell, shell_plain_unchanged, NULL);
	tu_add_test(shell, shell_hostile_roundtrip, no_bash);
	tu_add_test(shell, shell_bidi_controls_escaped, no_bash);
	tu_add_test(shell, shell_random_roundtrip, no_bash);
	suite_add_tcase(s, shell);

	tcase_set_timeout(json, 60);
	tu_add_test(json, json_escapes_controls, NULL);
	tu_add_test(json, json_roundtrip_python, no_python);
	tu_add_test(json, json_terminal_safe, no_python);
	tu_add_test(json, json_invalid_utf8_replaced, no_python);
	suite_add_tcase(s, json);

	tcase_set_timeout(b64, 60);
	tu_add_test(b64, base64_rfc4648_vectors, NULL);
	tu_add_test(b64, unbase64_vectors_and_errors, NULL);
	tu_add_test(b64, base64_matches_coreutils, tu_have("base64") ? NULL : "base64 not installed");
	suite_add_tcase(s, b64);

	tu_add_test(msg, error_text_shapes, NULL);
	suite_add_tcase(s, msg);
	return s;
}

int main(void)
{
	return tu_main(escape_suite());
}
