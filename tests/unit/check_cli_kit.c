/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_cli_kit.c - the command-line kit every program uses (cli/kit.h):
 * the option rules (modes, exclusive sets, needs), usage errors, messages
 * with hostile names, the progress line, stdout write errors.  Each test
 * captures stderr in a file and compares it with the documented form.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/kit.h"
#include "tests/unit/testutil.h"

/* ------------------------------------------------------------------ stderr capture */

static char *cap_file;
static int saved_stderr = -1;

static void cap_start(void)
{
	int fd;

	free(cap_file);
	cap_file = tu_strdupf("%s/stderr.XXXXXX", tu_tmpdir ? tu_tmpdir : "/tmp");
	fd = mkstemp(cap_file);
	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
}

/* What went to stderr since cap_start() (malloc'd). */
static char *cap_end(void)
{
	FILE *fp;
	char *buf = calloc(1, 4096);
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fp = fopen(cap_file, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(buf);
	n = fread(buf, 1, 4095, fp);
	buf[n] = '\0';
	fclose(fp);
	unlink(cap_file);
	return buf;
}

#define ck_stderr_eq(expr, want)                                             \
	do {                                                                 \
		char *got_;                                                  \
		cap_start();                                                 \
		expr;                                                        \
		got_ = cap_end();                                            \
		ck_assert_str_eq(got_, want);                                \
		free(got_);                                                  \
	} while (0)

/* ------------------------------------------------------------------ a program's rules */

enum { M_DEFAULT, M_FIX, M_LIST, M_COUNT };
enum { O_DRY, O_JSON, O_FIX, O_LIST, O_IMAGE, O_CONFIG, O_PREFIX, O_ROOT, O_COUNT };
#define B(o) (UINT64_C(1) << (o))

static const char *const names[O_COUNT] = {
	[O_DRY] = "--dry-run", [O_JSON] = "--json", [O_FIX] = "--fix", [O_LIST] = "--list",
	[O_IMAGE] = "--image", [O_CONFIG] = "--config", [O_PREFIX] = "--prefix", [O_ROOT] = "ROOT",
};

static const struct cli_mode modes[M_COUNT] = {
	[M_DEFAULT] = { NULL, B(O_JSON) | B(O_IMAGE) | B(O_CONFIG) | B(O_PREFIX) | B(O_ROOT) },
	[M_FIX]     = { "--fix", B(O_FIX) | B(O_DRY) | B(O_IMAGE) | B(O_CONFIG) | B(O_PREFIX) |
			B(O_ROOT) },
	[M_LIST]    = { "--list", B(O_LIST) | B(O_JSON) | B(O_CONFIG) },
};

static const uint64_t exclusive[] = { B(O_IMAGE) | B(O_CONFIG), B(O_IMAGE) | B(O_ROOT) };
static const struct cli_need needs[] = { { B(O_PREFIX), B(O_IMAGE) } };

static const struct cli_rules rules = {
	.names = names, .modes = modes, .nmodes = M_COUNT,
	.exclusive = exclusive, .nexclusive = 2, .needs = needs, .nneeds = 1,
};

static struct cli prog;

static void setup(void)
{
	cli_init(&prog, "prog");
}

START_TEST(rules_accept)
{
	/* what each mode takes passes, and says nothing */
	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &rules, M_DEFAULT,
							B(O_JSON) | B(O_ROOT)), 0), "");
	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &rules, M_FIX,
							B(O_FIX) | B(O_DRY) | B(O_IMAGE) |
							B(O_PREFIX)), 0), "");
	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &rules, M_LIST,
							B(O_LIST) | B(O_CONFIG)), 0), "");
	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &rules, M_DEFAULT, 0), 0), "");
}
END_TEST

START_TEST(rules_mode_refuses)
{
	/* a named mode names itself and the option */
	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &rules, M_LIST,
							B(O_LIST) | B(O_FIX)), CLI_EXIT_USAGE),
		     "prog: --list does not combine with --fix (see 'prog --help')\n");
	/* the default mode says which modes take it: one, or several */
	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &rules, M_DEFAULT, B(O_DRY)),
				      CLI_EXIT_USAGE),
		     "prog: --dry-run needs --fix (see 'prog --help')\n");
}
END_TEST

START_TEST(rules_needs_lists_modes)
{
	static const struct cli_mode three[] = {
		{ NULL, 0 }, { "--a", B(O_DRY) }, { "--b", B(O_DRY) }, { "--c", B(O_DRY) },
	};
	struct cli_rules r = { .names = names, .modes = three, .nmodes = 4 };

	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &r, 0, B(O_DRY)), CLI_EXIT_USAGE),
		     "prog: --dry-run needs --a, --b or --c (see 'prog --help')\n");
	r.nmodes = 3;
	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &r, 0, B(O_DRY)), CLI_EXIT_USAGE),
		     "prog: --dry-run needs --a or --b (see 'prog --help')\n");
}
END_TEST

START_TEST(rules_exclusive_and_needs)
{
	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &rules, M_DEFAULT,
							B(O_IMAGE) | B(O_CONFIG)), CLI_EXIT_USAGE),
		     "prog: --image does not combine with --config (see 'prog --help')\n");
	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &rules, M_FIX,
							B(O_FIX) | B(O_IMAGE) | B(O_ROOT)),
				      CLI_EXIT_USAGE),
		     "prog: --image does not combine with ROOT (see 'prog --help')\n");
	ck_stderr_eq(ck_assert_int_eq(cli_check_options(&prog, &rules, M_DEFAULT,
							B(O_PREFIX) | B(O_ROOT)), CLI_EXIT_USAGE),
		     "prog: --prefix needs --image (see 'prog --help')\n");
}
END_TEST

START_TEST(usage_and_messages)
{
	ck_stderr_eq(ck_assert_int_eq(cli_bad_usage(&prog, "unknown kind", "x y"), CLI_EXIT_USAGE),
		     "prog: unknown kind 'x y' (see 'prog --help')\n");
	ck_stderr_eq(ck_assert_int_eq(cli_bad_usage(&prog, "no GUEST given", NULL), CLI_EXIT_USAGE),
		     "prog: no GUEST given (see 'prog --help')\n");
	/* a name with a newline and a byte that is not UTF-8 stays on one line */
	ck_stderr_eq(cli_msgn(&prog, "a\nb\xff", 4, "cannot open", "Permission denied"),
		     "prog: 'a'$'\\n''b'$'\\xff': cannot open: Permission denied\n");
	ck_stderr_eq(cli_msg(&prog, "/srv/x", "refused", NULL), "prog: '/srv/x': refused\n");
	ck_stderr_eq(cli_say(&prog, "%u done", 3u), "prog: 3 done\n");
	/* notices: only to a terminal or when asked (-v), never with -q */
	prog.notices = true;
	prog.quiet = true;
	ck_stderr_eq(cli_notice(&prog, "%s", "quiet"), "");
	prog.quiet = false;
	ck_stderr_eq(cli_notice(&prog, "%s", "loud"), "prog: loud\n");
	prog.notices = false;
	ck_stderr_eq(cli_notice(&prog, "%s", "not a terminal"), "");
}
END_TEST

START_TEST(progress_line)
{
	/* off: never due, nothing drawn */
	cli_start(&prog, 0);
	ck_assert(!cli_progress_due(&prog, 0.0));
	/* on: due, drawn with \r and erase-line; erased before the next message */
	cli_start(&prog, 1);
	ck_assert(cli_progress_due(&prog, 0.0));
	ck_assert(!cli_progress_due(&prog, 3600.0));
	ck_stderr_eq((cli_progress(&prog, "%d files", 7), cli_say(&prog, "done")),
		     "\r\033[Kprog: 7 files\r\033[Kprog: done\n");
	ck_assert(!prog.progress_shown);
	ck_assert(cli_elapsed(&prog) >= 0.0);
}
END_TEST

START_TEST(stdout_write_error)
{
	/* stdout on /dev/full: the write error is kept and reported once */
	int fd = open("/dev/full", O_WRONLY);

	ck_assert_int_ge(fd, 0);
	fflush(stdout);
	ck_assert_int_ge(dup2(fd, STDOUT_FILENO), 0);
	close(fd);
	setvbuf(stdout, NULL, _IONBF, 0);
	cli_write(&prog, "x\n", 2);
	ck_assert_int_eq(prog.write_error, ENOSPC);
	ck_stderr_eq(ck_assert_int_eq(cli_finish_output(&prog), ENOSPC),
		     "prog: write error: No space left on device\n");
	/* a record written after it (vaudit's summary) is not a second report */
	cli_write(&prog, "y\n", 2);
	ck_stderr_eq(ck_assert_int_eq(cli_finish_output(&prog), ENOSPC), "");
}
END_TEST

START_TEST(json_records)
{
	/* stdout into a file: an error record, its path not UTF-8 (base64) */
	char file[] = "/tmp/check_cli_kit.XXXXXX", got[512] = "";
	struct dbuf b = DBUF_INIT;
	int fd = mkstemp(file);
	FILE *fp;
	size_t n;

	ck_assert_int_ge(fd, 0);
	fflush(stdout);
	ck_assert_int_ge(dup2(fd, STDOUT_FILENO), 0);
	close(fd);
	cli_json_error(&prog, "/g\xff", 3, "statx", "Permission denied", 13);
	cli_json_error(&prog, "/g/x", 4, "read", NULL, 0);
	ck_assert_int_eq(cli_finish_output(&prog), 0);
	fp = fopen(file, "r");
	ck_assert_ptr_nonnull(fp);
	n = fread(got, 1, sizeof(got) - 1, fp);
	got[n] = '\0';
	fclose(fp);
	unlink(file);
	ck_assert_str_eq(got,
		"{\"record\":\"error\",\"version\":1,\"program\":\"prog\",\"path_b64\":\"L2f/\","
		"\"what\":\"statx\",\"error\":\"Permission denied\",\"code\":13}\n"
		"{\"record\":\"error\",\"version\":1,\"program\":\"prog\",\"path\":\"/g/x\","
		"\"what\":\"read\",\"error\":null,\"code\":0}\n");
	cli_json_head(&b, &prog, "summary");
	ck_assert_str_eq(dbuf_str(&b), "{\"record\":\"summary\",\"version\":1,\"program\":\"prog\"");
	dbuf_release(&b);
}
END_TEST

/* sizes as --memory-limit takes them: the values worked out by hand */
START_TEST(parse_sizes)
{
	static const struct {
		const char *in;
		int r;
		uint64_t want;
	} cases[] = {
		{ "0", 0, 0 }, { "1", 0, 1 }, { "512", 0, 512 }, { "4K", 0, 4096 },
		{ "4k", 0, 4096 }, { "512M", 0, 536870912 }, { "2G", 0, 2147483648u },
		{ "2GiB", 0, 2147483648u }, { "2GB", 0, 2147483648u }, { "3T", 0, 3298534883328u },
		{ "100B", 0, 100 }, { "18446744073709551615", 0, UINT64_MAX },
		{ "18446744073709551616", -ERANGE, 0 }, { "16777216T", -ERANGE, 0 },
		{ "", -EINVAL, 0 }, { "M", -EINVAL, 0 }, { "-1", -EINVAL, 0 }, { "1.5G", -EINVAL, 0 },
		{ "1GG", -EINVAL, 0 }, { "1 G", -EINVAL, 0 }, { "1P", -EINVAL, 0 }, { "1b", -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 12345;
		int r = cli_parse_size(cases[i].in, &v);

		ck_assert_msg(r == cases[i].r, "'%s': %d, want %d", cases[i].in, r, cases[i].r);
		if (r == 0)
			ck_assert_msg(v == cases[i].want, "'%s': %llu", cases[i].in, (unsigned long long)v);
		else
			ck_assert_msg(v == 12345, "'%s': the value was changed on an error", cases[i].in);
	}
}
END_TEST

START_TEST(human_sizes)
{
	char b[32];

	ck_assert_str_eq(cli_human(0, b), "0 B");
	ck_assert_str_eq(cli_human(1023, b), "1023 B");
	ck_assert_str_eq(cli_human(12 * 1024, b), "12 KiB");
	ck_assert_str_eq(cli_human(UINT64_C(350) * 1024 * 1024 + 200 * 1024, b), "350.2 MiB");
	ck_assert_str_eq(cli_human(UINT64_C(2040109465), b), "1.9 GiB");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli_kit");
	TCase *tc = tcase_create("kit");

	tcase_add_checked_fixture(tc, setup, NULL);
	tu_tcase_tmpdir(tc, false);
	tcase_add_test(tc, rules_accept);
	tcase_add_test(tc, rules_mode_refuses);
	tcase_add_test(tc, rules_needs_lists_modes);
	tcase_add_test(tc, rules_exclusive_and_needs);
	tcase_add_test(tc, usage_and_messages);
	tcase_add_test(tc, progress_line);
	tcase_add_test(tc, stdout_write_error);
	tcase_add_test(tc, human_sizes);
	tcase_add_test(tc, parse_sizes);
	tcase_add_test(tc, json_records);
	suite_add_tcase(s, tc);
	return tu_main(s);
}
