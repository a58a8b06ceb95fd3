/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_output.c - unit tests of core/finding and core/output: the kind
 * table and the text, NUL and JSON Lines writers.
 *
 * JSON is parsed by python3's json module; text paths are decoded by bash.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/attr.h"
#include "core/dbuf.h"
#include "core/finding.h"
#include "core/flags.h"
#include "tests/unit/testutil.h"

#define S(lit) lit, sizeof(lit) - 1

static const char *const kind_names[] = {
	"legacy-iunlink", "legacy-notail", "legacy-barrier",
	"missing-barrier", "barrier-unverified", "shared-unprotected",
	"shared-immutable-no-iunlink", "iunlink-not-immutable", "barrier-on-guest", "cow",
	"shared-secret", "unify-leftover", "hash-unprotected", "tag-on-shared",
	"config-invalid", "config-duplicate-context", "config-context-range",
	"config-vdir-missing", "config-refserver-invalid", "config-exclude-quirk",
	"config-nonamespace-no-barrier", "config-vshelper-action", "config-hash-cross-device",
	"config-fstab-invalid", "config-fstab-unsafe", "config-vmount-invalid",
	"guest-running",
};
_Static_assert(sizeof(kind_names) / sizeof(*kind_names) == VA_KIND_COUNT,
	       "kind_names lists every kind of core/finding.h, in order");

/* A finding on one name; strings are literals. */
static struct va_finding finding(enum va_kind kind, const char *path, size_t path_len, uint32_t flags)
{
	struct va_finding f;

	memset(&f, 0, sizeof(f));
	f.kind = kind;
	f.severity = va_kind_severity(kind);
	f.root = "/vservers";
	f.where.guest = (char *)"g1";
	f.where.guest_len = 2;
	f.where.path = (char *)path;
	f.where.path_len = path_len;
	f.dev = makedev(8, 1);
	f.ino = 1234567;
	f.nlink = 1;
	f.mode = S_IFREG | 0644;
	f.flags = flags;
	f.flags_known = VA_KNOWN_EXT2;
	return f;
}

static char *format(enum va_format fmt, unsigned opts, const struct va_finding *f, size_t *ret_len)
{
	struct dbuf b = DBUF_INIT;

	ck_assert_int_eq(va_finding_format(&b, fmt, opts, f), 0);
	*ret_len = b.len;
	return b.buf;
}

/* ================================================================ kinds */

START_TEST(kinds_round_trip)
{
	ck_assert_int_eq(VA_KIND_COUNT, sizeof(kind_names) / sizeof(kind_names[0]));
	for (int k = 0; k < VA_KIND_COUNT; k++) {
		const char *name = va_kind_name((enum va_kind)k);

		ck_assert_ptr_nonnull(name);
		ck_assert_str_eq(name, kind_names[k]);
		ck_assert_int_eq(va_kind_parse(name), k);
		ck_assert_int_eq(va_kind_parse(kind_names[k]), k);
		ck_assert_msg(va_kind_why((enum va_kind)k)[0] != '\0', "kind %s has no why", name);
		ck_assert_int_lt(va_kind_severity((enum va_kind)k), VA_SEV_COUNT);
		for (int j = 0; j < k; j++)
			ck_assert_str_ne(va_kind_name((enum va_kind)j), name);
	}
	ck_assert_int_eq(va_kind_severity(VA_KIND_LEGACY_IUNLINK), VA_SEV_ERROR);
	ck_assert_int_eq(va_kind_severity(VA_KIND_LEGACY_NOTAIL), VA_SEV_WARNING);
	ck_assert_int_eq(va_kind_severity(VA_KIND_LEGACY_BARRIER), VA_SEV_ERROR);
	ck_assert_int_eq(va_kind_severity(VA_KIND_MISSING_BARRIER), VA_SEV_ERROR);
	ck_assert_int_eq(va_kind_severity(VA_KIND_BARRIER_UNVERIFIED), VA_SEV_WARNING);
	ck_assert_int_eq(va_kind_severity(VA_KIND_SHARED_UNPROTECTED), VA_SEV_ERROR);

	ck_assert_int_eq(va_kind_parse("bogus"), -1);
	ck_assert_int_eq(va_kind_parse(""), -1);
	ck_assert_int_eq(va_kind_parse("legacy-iunlink "), -1);
	ck_assert_int_eq(va_kind_parse("legacy"), -1);
	ck_assert_ptr_null(va_kind_name(VA_KIND_COUNT));
	ck_assert_ptr_null(va_kind_name((enum va_kind)-1));

	ck_assert_str_eq(va_severity_name(VA_SEV_ERROR), "error");
	ck_assert_str_eq(va_severity_name(VA_SEV_WARNING), "warning");
	ck_assert_str_eq(va_severity_name(VA_SEV_INFO), "info");
	ck_assert_ptr_nonnull(va_severity_name(VA_SEV_COUNT));
}
END_TEST

/* ================================================================ text */

/* Decode a shell-quoted word with bash. */
static char *bash_decode(const char *word, size_t *ret_len)
{
	char *script = tu_strdupf("printf %%s %s", word);
	const char *argv[] = { "bash", "-c", script, NULL };
	struct dbuf out = DBUF_INIT;
	int status = tu_run(argv, NULL, 0, &out);

	ck_assert_msg(tu_run_ok(status), "bash could not decode %s", word);
	free(script);
	*ret_len = out.len;
	return out.buf ? out.buf : strdup("");
}

/*
 * Check one text line: KIND<pad> SEVERITY<pad> FLAGS VSATTR PATH\n with
 * the columns at @kind_col (severity) and @flags_col; VSATTR is 4 letters of
 * "bB-", "uU-", "iI-", "cC-"; returns the path word.
 */
static char *split_text(const char *line, size_t len, const struct va_finding *f,
			size_t *kind_col, size_t *flags_col, const char *want_flags)
{
	const char *kind = va_kind_name(f->kind), *sev = va_severity_name(f->severity);
	size_t i, width = va_flags_width();
	char *h = tu_hexdump(line, len);

	ck_assert_msg(len > 0 && line[len - 1] == '\n' && memchr(line, '\n', len) == line + len - 1,
		      "not exactly one line: \"%s\"", h);
	ck_assert_msg(strncmp(line, kind, strlen(kind)) == 0, "\"%s\" does not start with %s", h, kind);
	for (i = strlen(kind); i < len && line[i] == ' '; i++)
		;
	ck_assert_msg(i > strlen(kind), "no blank after the kind: \"%s\"", h);
	if (*kind_col == 0)
		*kind_col = i;
	ck_assert_msg(i == *kind_col, "severity in column %zu, not %zu: \"%s\"", i, *kind_col, h);
	ck_assert_msg(strncmp(line + i, sev, strlen(sev)) == 0, "no severity %s: \"%s\"", sev, h);
	for (i += strlen(sev); i < len && line[i] == ' '; i++)
		;
	if (*flags_col == 0)
		*flags_col = i;
	ck_assert_msg(i == *flags_col, "flags in column %zu, not %zu: \"%s\"", i, *flags_col, h);
	ck_assert_msg(i + width + 1 < len && line[i + width] == ' ', "flags not %zu wide: \"%s\"", width, h);
	if (want_flags)
		ck_assert_msg(strncmp(line + i, want_flags, width) == 0, "flags \"%.*s\", want \"%s\"",
			      (int)width, line + i, want_flags);
	i += width + 1;
	ck_assert_msg(i + 5 < len && line[i + 4] == ' ' && strchr("bB-", line[i]) &&
		      strchr("uU-", line[i + 1]) && strchr("iI-", line[i + 2]) && strchr("cC-", line[i + 3]),
		      "no vserver column after the flags: \"%s\"", h);
	free(h);
	return strndup(line + i + 5, len - (i + 5) - 1);
}

START_TEST(text_columns_all_kinds)
{
	size_t kind_col = 0, flags_col = 0, longest = 0;

	for (int k = 0; k < VA_KIND_COUNT; k++)
		if (strlen(kind_names[k]) > longest)
			longest = strlen(kind_names[k]);
	for (int k = 0; k < VA_KIND_COUNT; k++) {
		for (int sev = 0; sev < VA_SEV_COUNT; sev++) {
			struct va_finding f = finding((enum va_kind)k, S("/vservers/g1/bin/ls"), 0x8010);
			size_t len;
			char *line, *path;

			f.severity = (enum va_severity)sev;
			line = format(VA_FMT_TEXT, 0, &f, &len);
			/* lsattr shows 0x8010 as i in column 5 and t in column 13 */
			path = split_text(line, len, &f, &kind_col, &flags_col, "----i-------t---------");
			ck_assert_str_eq(path, "/vservers/g1/bin/ls");
			free(path);
			free(line);
		}
	}
	ck_assert_uint_gt(kind_col, longest);
}
END_TEST

START_TEST(text_flags_from_table)
{
	static const struct {
		uint32_t flags;
		const char *letters;
	} c[] = {
		{ 0, "----------------------" },
		{ 0x10, "----i-----------------" },
		{ 0x8000, "------------t---------" },
		{ 0x80000, "--------------e-------" },
		{ 0x8010 | 0x80000, "----i-------t-e-------" },
		{ 0x04000000 | 0x08000000, "----------------------" }, /* 2.6 bits have no letter */
		{ 0x20000000, "-------------------P--" },
	};
	size_t kind_col = 0, flags_col = 0;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct va_finding f = finding(VA_KIND_LEGACY_NOTAIL, S("/x"), c[i].flags);
		size_t len;
		char *line = format(VA_FMT_TEXT, 0, &f, &len);

		free(split_text(line, len, &f, &kind_col, &flags_col, c[i].letters));
		free(line);
	}
	/* unknown flags are not shown as "no flags" */
	{
		struct va_finding f = finding(VA_KIND_BARRIER_UNVERIFIED, S("/x"), 0);
		size_t len, width = va_flags_width();
		char *line;

		f.flags_known = 0;
		line = format(VA_FMT_TEXT, 0, &f, &len);
		free(split_text(line, len, &f, &kind_col, &flags_col, NULL));
		ck_assert_msg(strspn(line + flags_col, "-") < width, "unknown flags printed as none: %s", line);
		free(line);
	}
}
END_TEST

/* The vserver column: b u i c, upper = set, lower = clear, - = unknown. */
START_TEST(text_vserver_column)
{
	static const struct {
		uint32_t flags;
		unsigned known;
		const char *col;
	} c[] = {
		{ 0x8010, VA_KNOWN_EXT2, "--I-" },
		{ 0x0, VA_KNOWN_EXT2, "--i-" },
		{ 0x0, 0, "----" },
		{ 0x04000000, VA_KNOWN_EXT2 | VA_KNOWN_VS26, "Buic" },
		{ 0x08000010, VA_KNOWN_EXT2 | VA_KNOWN_VS26, "bUIc" },
		{ 0x20000000, VA_KNOWN_EXT2 | VA_KNOWN_VS26, "buiC" },
		{ 0x2c000010, VA_KNOWN_EXT2 | VA_KNOWN_VS26, "BUIC" },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct va_finding f = finding(VA_KIND_COW, S("/x"), c[i].flags);
		size_t len;
		char *line, want[64];

		f.flags_known = c[i].known;
		line = format(VA_FMT_TEXT, 0, &f, &len);
		snprintf(want, sizeof(want), " %s /x\n", c[i].col);
		ck_assert_msg(len > strlen(want) && strcmp(line + len - strlen(want), want) == 0,
			      "flags 0x%x known %u: \"%s\", want column %s", c[i].flags, c[i].known, line,
			      c[i].col);
		free(line);
		line = format(VA_FMT_JSON, 0, &f, &len);
		snprintf(want, sizeof(want), "\"vsattr\":\"%s\"", c[i].col);
		ck_assert_msg(strstr(line, want), "JSON lacks %s: %s", want, line);
		free(line);
	}
}
END_TEST

START_TEST(text_hostile_path_one_line)
{
	static const char path[] = "/vservers/g1/a\nb\x1b[31m\xe2\x80\xae'q\"\xff\t";
	struct va_finding f = finding(VA_KIND_LEGACY_IUNLINK, S(path), 0x8010);
	size_t kind_col = 0, flags_col = 0, len, dlen;
	char *line = format(VA_FMT_TEXT, 0, &f, &len), *word, *decoded;

	word = split_text(line, len, &f, &kind_col, &flags_col, "----i-------t---------");
	ck_assert_ptr_null(memchr(line, 0x1b, len));
	ck_assert_ptr_null(strstr(line, "\xe2\x80\xae"));
	for (size_t i = 0; i < len - 1; i++)
		ck_assert_msg((unsigned char)line[i] >= 0x20 && line[i] != 0x7f, "raw byte 0x%02x", line[i]);
	decoded = bash_decode(word, &dlen);
	ck_assert_msg(dlen == sizeof(path) - 1 && memcmp(decoded, path, dlen) == 0,
		      "path word %s does not decode to the path", word);
	free(decoded);
	free(word);
	free(line);
}
END_TEST

START_TEST(text_verbose_names_and_why)
{
	struct va_name others[2] = {
		{ (char *)"g2", 2, (char *)"/vservers/g2/bin/ls", 19 },
		{ (char *)"g3", 2, (char *)"/vservers/g3/bin/l\ns", 20 },
	};
	struct va_finding f = finding(VA_KIND_SHARED_UNPROTECTED, S("/vservers/g1/bin/ls"), 0x80000);
	size_t len, nlines = 0, kind_col = 0, flags_col = 0;
	char *text, *save = NULL, *line;

	f.others = others;
	f.nothers = 2;
	f.nguests = 3;
	f.nlink = 3;
	text = format(VA_FMT_TEXT, VA_WRITER_VERBOSE, &f, &len);
	ck_assert_uint_eq(strlen(text), len);
	ck_assert_msg(text[len - 1] == '\n', "%s", text);
	/* first line as without VERBOSE */
	{
		size_t l1;
		char *plain = format(VA_FMT_TEXT, 0, &f, &l1);

		ck_assert_msg(strncmp(text, plain, l1) == 0, "verbose first line differs: %s", text);
		free(split_text(plain, l1, &f, &kind_col, &flags_col, "--------------e-------"));
		free(plain);
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		nlines++;
		if (nlines == 1)
			continue;
		ck_assert_msg(strncmp(line, "    ", 4) == 0, "continuation not indented: %s", line);
		if (nlines == 2) {
			ck_assert_ptr_nonnull(strstr(line, "/vservers/g2/bin/ls"));
		} else if (nlines == 3) {
			size_t dlen;
			const char *w = strchr(line + 4, ' ');
			char *d;

			ck_assert_ptr_nonnull(w);
			d = bash_decode(w + 1, &dlen);
			ck_assert_msg(dlen == 20 && memcmp(d, "/vservers/g3/bin/l\ns", 20) == 0,
				      "other name %s", line);
			free(d);
		}
	}
	/* the name, the 2 other names, why (and maybe more) */
	ck_assert_uint_ge(nlines, 4);
	free(text);

	text = format(VA_FMT_TEXT, VA_WRITER_VERBOSE, &f, &len);
	ck_assert_ptr_nonnull(strstr(text, va_kind_why(VA_KIND_SHARED_UNPROTECTED)));
	free(text);
}
END_TEST

/* ================================================================ null */

START_TEST(null_format_path_and_nul)
{
	static const char path[] = "/vservers/g1/new\nline \xff";
	struct va_finding f = finding(VA_KIND_LEGACY_IUNLINK, S(path), 0x8010);
	struct va_finding g = finding(VA_KIND_LEGACY_NOTAIL, S("/b"), 0x8000);
	struct dbuf b = DBUF_INIT;

	ck_assert_int_eq(va_finding_format(&b, VA_FMT_NULL, 0, &f), 0);
	ck_assert_uint_eq(b.len, sizeof(path));
	ck_assert_mem_eq(b.buf, path, sizeof(path)); /* path bytes and one NUL */
	ck_assert_int_eq(va_finding_format(&b, VA_FMT_NULL, VA_WRITER_VERBOSE, &g), 0);
	ck_assert_uint_eq(b.len, sizeof(path) + 3);
	ck_assert_mem_eq(b.buf + sizeof(path), "/b", 3);
	dbuf_release(&b);
}
END_TEST

/* ================================================================ json */

/*
 * Checks one JSON line: argv pairs KEY SPEC, KEY a dotted path ("names.1.path"),
 * SPEC "s:text" string, "i:123" integer, "b:bytes" base64 of bytes,
 * "a:" absent, "N:" null or absent, "T:"/"F:" boolean, "L:n" list of n.
 */
static const char json_check_py[] =
	"import base64, json, os, sys\n"
	"raw = sys.stdin.buffer.read()\n"
	"errs = []\n"
	"if not raw.endswith(b'\\n') or raw.count(b'\\n') != 1:\n"
	"    errs.append('not exactly one line')\n"
	"try:\n"
	"    d = json.loads(raw.decode('utf-8', 'strict'))\n"
	"except Exception as e:\n"
	"    print('invalid JSON: %r in %r' % (e, raw)); sys.exit(0)\n"
	"if not isinstance(d, dict):\n"
	"    print('not an object'); sys.exit(0)\n"
	"def get(path):\n"
	"    v = d\n"
	"    for part in path.split('.'):\n"
	"        if isinstance(v, list):\n"
	"            v = v[int(part)]\n"
	"        elif isinstance(v, dict):\n"
	"            v = v[part]\n"
	"        else:\n"
	"            raise KeyError(path)\n"
	"    return v\n"
	"a = sys.argv[1:]\n"
	"for i in range(0, len(a), 2):\n"
	"    key, spec = a[i], os.fsencode(a[i + 1])\n"
	"    t, want = spec[:2], spec[2:]\n"
	"    try:\n"
	"        v = get(key)\n"
	"    except (KeyError, IndexError):\n"
	"        if t not in (b'a:', b'N:'):\n"
	"            errs.append('%s missing' % key)\n"
	"        continue\n"
	"    ok = {\n"
	"        b's:': lambda: isinstance(v, str) and v.encode('utf-8', 'surrogatepass') == want,\n"
	"        b'i:': lambda: type(v) is int and v == int(want),\n"
	"        b'b:': lambda: isinstance(v, str) and base64.b64decode(v, validate=True) == want,\n"
	"        b'a:': lambda: False,\n"
	"        b'N:': lambda: v is None,\n"
	"        b'T:': lambda: v is True,\n"
	"        b'F:': lambda: v is False,\n"
	"        b'L:': lambda: isinstance(v, list) and len(v) == int(want),\n"
	"    }[t]()\n"
	"    if not ok:\n"
	"        errs.append('%s = %r, want %s' % (key, v, spec))\n"
	"print('OK' if not errs else '; '.join(errs) + ' in ' + repr(raw))\n";

static void json_expect(const struct va_finding *f, const char *const *pairs)
{
	const char *argv[64] = { "python3", "-c", json_check_py };
	size_t n = 3, len;
	char *line = format(VA_FMT_JSON, 0, f, &len);
	struct dbuf out = DBUF_INIT;
	int status;

	for (; *pairs; pairs++)
		argv[n++] = *pairs;
	argv[n] = NULL;
	ck_assert_uint_lt(n, 64);
	ck_assert_uint_eq(strlen(line), len);
	status = tu_run(argv, line, len, &out);
	ck_assert_msg(tu_run_ok(status), "python3 failed");
	while (out.len && out.buf[out.len - 1] == '\n')
		dbuf_setlen(&out, out.len - 1);
	ck_assert_msg(strcmp(dbuf_str(&out), "OK") == 0, "%s", dbuf_str(&out));
	dbuf_release(&out);
	free(line);
}

START_TEST(json_fields)
{
	struct va_finding f = finding(VA_KIND_LEGACY_IUNLINK, S("/vservers/g1/bin/ls"), 0x8010);
	const char *const want[] = {
		"record", "s:finding",
		"version", "i:1",
		"kind", "s:legacy-iunlink",
		"severity", "s:error",
		"guest", "s:g1",
		"path", "s:/vservers/g1/bin/ls",
		"path_b64", "a:",
		"ino", "i:1234567",
		"nlink", "i:1",
		"flags", "s:0x00008010",
		"mode", "s:0644",
		"names", "a:",
		NULL,
	};

	json_expect(&f, want);
}
END_TEST

START_TEST(json_mode_and_flags_formats)
{
	struct va_finding f = finding(VA_KIND_LEGACY_BARRIER, S("/vservers/g1"), 0x8000 | 0x80000);
	const char *const want[] = {
		"kind", "s:legacy-barrier",
		"mode", "s:0000",
		"flags", "s:0x00088000",
		"ino", "i:18446744073709551615",
		"nlink", "i:4294967295",
		NULL,
	};
	const char *const want2[] = {
		"kind", "s:legacy-notail",
		"severity", "s:warning",
		"mode", "s:4755",
		"flags", "s:0xffffffff",
		"ino", "i:0",
		NULL,
	};
	const char *const want3[] = {
		"kind", "s:barrier-unverified",
		"flags", "N:",
		"guest", "N:",
		"path", "s:/vservers",
		NULL,
	};

	f.mode = S_IFDIR | 0000;
	f.ino = UINT64_MAX;
	f.nlink = UINT32_MAX;
	json_expect(&f, want);

	f = finding(VA_KIND_LEGACY_NOTAIL, S("/x"), 0xffffffffu);
	f.mode = S_IFREG | 04755;
	f.ino = 0;
	json_expect(&f, want2);

	/* ROOT findings: no guest; flags unknown */
	f = finding(VA_KIND_BARRIER_UNVERIFIED, S("/vservers"), 0);
	f.where.guest = NULL;
	f.where.guest_len = 0;
	f.flags_known = 0;
	f.mode = S_IFDIR | 0755;
	json_expect(&f, want3);
}
END_TEST

START_TEST(json_strings_escaped)
{
	static const char path[] = "/vservers/g1/\"q\"\\\n\t\x01\x7f\xe2\x80\xa8h\xc3\xa9\xf0\x9f\x98\x80";
	struct va_finding f = finding(VA_KIND_LEGACY_IUNLINK, S(path), 0x8010);
	char *want_path = tu_strdupf("s:%s", path);
	const char *const want[] = {
		"path", want_path,
		"path_b64", "a:",
		"guest", "s:g\xc3\xa9 1",
		NULL,
	};

	f.where.guest = (char *)"g\xc3\xa9 1";
	f.where.guest_len = 5;
	json_expect(&f, want);
	free(want_path);
}
END_TEST

START_TEST(json_non_utf8_path_base64)
{
	static const char path[] = "/vservers/g1/lat1-\xe9t\xe9\xff\xfe";
	struct va_finding f = finding(VA_KIND_LEGACY_IUNLINK, S(path), 0x8010);
	char *want_b64 = tu_strdupf("b:%s", path);
	const char *const want[] = {
		"path_b64", want_b64,
		"path", "a:",
		"guest", "s:g1",
		NULL,
	};
	const char *const want_guest[] = {
		"path_b64", want_b64,
		"guest_b64", "b:g\xff",
		"guest", "a:",
		NULL,
	};

	json_expect(&f, want);
	f.where.guest = (char *)"g\xff";
	f.where.guest_len = 2;
	json_expect(&f, want_guest);
	free(want_b64);

	/* lengths 1, 2, 3 mod 3 of invalid bytes */
	for (size_t n = 1; n <= 4; n++) {
		char p[8] = "\xff\xfe\xfd\xfc";
		char *spec;
		const char *w[] = { "path_b64", NULL, "path", "a:", NULL };

		p[n] = '\0';
		spec = tu_strdupf("b:%s", p);
		w[1] = spec;
		f = finding(VA_KIND_LEGACY_NOTAIL, p, n, 0x8000);
		json_expect(&f, w);
		free(spec);
	}
}
END_TEST

START_TEST(json_shared_names)
{
	struct va_name others[2] = {
		{ (char *)"g2", 2, (char *)"/vservers/g2/usr/bin/x", 22 },
		{ (char *)"g\xff", 2, (char *)"/vservers/g\xff/usr/bin/x\xfe", 0 },
	};
	struct va_finding f = finding(VA_KIND_SHARED_UNPROTECTED, S("/vservers/g1/usr/bin/x"), 0x80000);
	const char *const want[] = {
		"kind", "s:shared-unprotected",
		"path", "s:/vservers/g1/usr/bin/x",
		"nlink", "i:3",
		"nguests", "i:3",
		"names", "L:3",
		"names.0.guest", "s:g1",
		"names.0.path", "s:/vservers/g1/usr/bin/x",
		"names.1.guest", "s:g2",
		"names.1.path", "s:/vservers/g2/usr/bin/x",
		"names.2.guest_b64", "b:g\xff",
		"names.2.path_b64", "b:/vservers/g\xff/usr/bin/x\xfe",
		"names.2.path", "a:",
		NULL,
	};

	others[1].path_len = strlen(others[1].path);
	f.others = others;
	f.nothers = 2;
	f.nguests = 3;
	f.nlink = 3;
	json_expect(&f, want);
}
END_TEST

/* ================================================================ writer */

START_TEST(writer_writes_formatted_bytes)
{
	struct va_finding f[3] = {
		finding(VA_KIND_LEGACY_IUNLINK, S("/v/g1/a"), 0x8010),
		finding(VA_KIND_LEGACY_NOTAIL, S("/v/g1/b\nc"), 0x8000),
		finding(VA_KIND_MISSING_BARRIER, S("/v"), 0),
	};
	static const enum va_format fmts[] = { VA_FMT_TEXT, VA_FMT_NULL, VA_FMT_JSON };

	for (size_t k = 0; k < 3; k++) {
		FILE *fp = tmpfile();
		struct va_writer *w = NULL;
		struct dbuf want = DBUF_INIT;
		char got[8192];
		size_t n;

		ck_assert_ptr_nonnull(fp);
		ck_assert_int_eq(va_writer_new(&w, fmts[k], fp, VA_WRITER_VERBOSE), 0);
		ck_assert_ptr_nonnull(w);
		for (int i = 0; i < 3; i++) {
			ck_assert_int_eq(va_writer_write(w, &f[i]), 0);
			ck_assert_int_eq(va_finding_format(&want, fmts[k], VA_WRITER_VERBOSE, &f[i]), 0);
		}
		va_writer_free(w);
		rewind(fp);
		n = fread(got, 1, sizeof(got), fp);
		ck_assert_uint_eq(n, want.len);
		ck_assert_int_eq(memcmp(got, want.buf, n), 0);
		fclose(fp);
		dbuf_release(&want);
	}
	va_writer_free(NULL);
}
END_TEST

/* every format: a failed write returns the errno of the write (@err) */
static void expect_errno(FILE *fp, const char *what, int err)
{
	struct va_finding f = finding(VA_KIND_LEGACY_IUNLINK, S("/vservers/g1/bin/ls"), 0x8010);
	static const enum va_format fmts[] = { VA_FMT_TEXT, VA_FMT_NULL, VA_FMT_JSON };

	for (size_t k = 0; k < 3; k++) {
		struct va_writer *w = NULL;

		clearerr(fp);
		ck_assert_int_eq(va_writer_new(&w, fmts[k], fp, 0), 0);
		ck_assert_msg(va_writer_write(w, &f) == -err, "%s, format %zu: not -%s", what, k,
			      strerror(err));
		/* and it stays an error */
		ck_assert_msg(va_writer_write(w, &f) < 0, "%s, format %zu: second write", what, k);
		va_writer_free(w);
	}
}

START_TEST(writer_errno_on_closed_pipe)
{
	int p[2];
	FILE *fp;

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe(p), 0);
	close(p[0]);
	fp = fdopen(p[1], "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(setvbuf(fp, NULL, _IONBF, 0), 0);
	expect_errno(fp, "pipe without reader", EPIPE);
	fclose(fp);
}
END_TEST

START_TEST(writer_errno_on_dev_full)
{
	FILE *fp = fopen("/dev/full", "w");

	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(setvbuf(fp, NULL, _IONBF, 0), 0);
	expect_errno(fp, "/dev/full unbuffered", ENOSPC);
	fclose(fp);

	/* line buffered: every finding ends a line, so the error shows at once */
	fp = fopen("/dev/full", "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_int_eq(setvbuf(fp, NULL, _IOLBF, 0), 0);
	{
		struct va_finding f = finding(VA_KIND_LEGACY_IUNLINK, S("/a"), 0x8010);
		struct va_writer *w = NULL;

		ck_assert_int_eq(va_writer_new(&w, VA_FMT_JSON, fp, 0), 0);
		ck_assert_int_eq(va_writer_write(w, &f), -ENOSPC);
		va_writer_free(w);
	}
	fclose(fp);
}
END_TEST

/* ================================================================ main */

static Suite *output_suite(void)
{
	Suite *s = suite_create("output");
	TCase *kinds = tcase_create("kinds");
	TCase *text = tcase_create("text");
	TCase *json = tcase_create("json");
	TCase *writer = tcase_create("writer");
	const char *argv[] = { "python3", "-c", "import json, base64", NULL };
	const char *no_python = tu_have("python3") && tu_run_ok(tu_run_quiet(argv, NULL))
				? NULL : "python3 not available";
	const char *no_bash = tu_have("bash") ? NULL : "bash not installed";

	tu_add_test(kinds, kinds_round_trip, NULL);
	suite_add_tcase(s, kinds);

	tcase_set_timeout(text, 30);
	tu_add_test(text, text_columns_all_kinds, NULL);
	tu_add_test(text, text_flags_from_table, NULL);
	tu_add_test(text, text_vserver_column, NULL);
	tu_add_test(text, text_hostile_path_one_line, no_bash);
	tu_add_test(text, text_verbose_names_and_why, no_bash);
	tu_add_test(text, null_format_path_and_nul, NULL);
	suite_add_tcase(s, text);

	tcase_set_timeout(json, 60);
	tu_add_test(json, json_fields, no_python);
	tu_add_test(json, json_mode_and_flags_formats, no_python);
	tu_add_test(json, json_strings_escaped, no_python);
	tu_add_test(json, json_non_utf8_path_base64, no_python);
	tu_add_test(json, json_shared_names, no_python);
	suite_add_tcase(s, json);

	tu_add_test(writer, writer_writes_formatted_bytes, NULL);
	tu_add_test(writer, writer_errno_on_closed_pipe, NULL);
	tu_add_test(writer, writer_errno_on_dev_full, NULL);
	suite_add_tcase(s, writer);
	return s;
}

int main(void)
{
	return tu_main(output_suite());
}
