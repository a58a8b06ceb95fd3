/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kit.c - what every program shares (see kit.h).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/kit.h"
#include "core/clock.h"
#include "core/escape.h"
#include "core/finding.h"
#include "core/lock.h"
#include "core/message.h"

#define BIT(n) (UINT64_C(1) << (n))

/* cli_keep_first_message(): the first error line of the run, without "PROG: " */
static struct {
	bool on;
	char text[512];
} first_msg;

void cli_keep_first_message(void)
{
	first_msg.on = true;
}

const char *cli_first_message(void)
{
	return first_msg.text[0] ? first_msg.text : NULL;
}

static void keep_first(const char *fmt, va_list ap)
{
	if (first_msg.on && !first_msg.text[0])
		vsnprintf(first_msg.text, sizeof(first_msg.text), fmt, ap);
}

void cli_init(struct cli *c, const char *prog)
{
	memset(c, 0, sizeof(*c));
	c->prog = prog;
	c->notices = isatty(STDERR_FILENO);
}

void cli_start(struct cli *c, int progress)
{
	c->progress_on = progress < 0 ? isatty(STDERR_FILENO) && !c->quiet : progress > 0;
	c->progress_always = getenv("VAUDIT_TEST_PROGRESS_ALL") != NULL;
	c->start = va_clock_now();
	c->last = c->start;
}

double cli_elapsed(const struct cli *c)
{
	struct timespec now = va_clock_now();

	return va_clock_seconds(&c->start, &now);
}

bool cli_progress_due(struct cli *c, double interval)
{
	struct timespec now;

	if (!c->progress_on)
		return false;
	if (c->progress_always)
		return true;
	now = va_clock_now();
	if (va_clock_seconds(&c->last, &now) < interval)
		return false;
	c->last = now;
	return true;
}

void cli_progress(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "\r\033[K%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	c->progress_shown = true;
}

void cli_clear_progress(struct cli *c)
{
	if (c->progress_shown) {
		fputs("\r\033[K", stderr);
		c->progress_shown = false;
	}
}

/* Before a line on stderr: no progress line, and stdout's lines come first. */
static void before_stderr(struct cli *c)
{
	cli_clear_progress(c);
	fflush(stdout);
}

void cli_event_line(struct dbuf *b, const char *why, const char *reason, bool not_done)
{
	if (why)
		dbuf_addf(b, ": %s", why);
	if (reason)
		dbuf_addf(b, ": %s", reason);
	dbuf_addc(b, '\n');
	if (not_done)
		fflush(stdout);
	fwrite(b->buf, 1, b->len, not_done ? stderr : stdout);
	dbuf_setlen(b, 0);
}

void cli_say_line(struct cli *c, const char *line)
{
	before_stderr(c);
	fputs(line, stderr);
	fputc('\n', stderr);
}

/* "PROG: TEXT" on stderr; an error (not a notice) may be kept as the first message */
static void vsay(struct cli *c, bool error, const char *fmt, va_list ap)
{
	if (error) {
		va_list copy;

		va_copy(copy, ap);
		keep_first(fmt, copy);
		va_end(copy);
	}
	before_stderr(c);
	fprintf(stderr, "%s: ", c->prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_vsay(struct cli *c, const char *fmt, va_list ap)
{
	vsay(c, true, fmt, ap);
}

void cli_say(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vsay(c, fmt, ap);
	va_end(ap);
}

void cli_notice(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	if (c->quiet || !c->notices)
		return;
	va_start(ap, fmt);
	vsay(c, false, fmt, ap);
	va_end(ap);
}

void cli_msg(struct cli *c, const char *path, const char *what, const char *reason)
{
	cli_msgn(c, path, strlen(path), what, reason);
}

void cli_msgn(struct cli *c, const char *path, size_t len, const char *what, const char *reason)
{
	struct dbuf b = DBUF_INIT;

	va_msg_text(&b, path, len, what, reason);
	cli_say(c, "%s", b.buf ? dbuf_str(&b) : strerror(ENOMEM));
	dbuf_release(&b);
}

void cli_error(struct cli *c, const struct va_error *e)
{
	struct dbuf b = DBUF_INIT;

	va_error_text(&b, e);
	cli_say(c, "%s", b.buf ? dbuf_str(&b) : strerror(ENOMEM));
	dbuf_release(&b);
}

int cli_bad_usage(const struct cli *c, const char *what, const char *arg)
{
	struct dbuf b = DBUF_INIT;

	if (arg) {
		dbuf_addc(&b, ' ');
		va_quote(&b, arg, strlen(arg));
	}
	fprintf(stderr, "%s: %s%s (see '%s --help')\n", c->prog, what, dbuf_str(&b), c->prog);
	if (first_msg.on && !first_msg.text[0])
		snprintf(first_msg.text, sizeof(first_msg.text), "%s%s", what, dbuf_str(&b));
	dbuf_release(&b);
	return CLI_EXIT_USAGE;
}

int cli_getopt_error(const struct cli *c, int opt, char *const *argv)
{
	char optbuf[3] = "-?";

	if (opt == ':')
		return cli_bad_usage(c, "option needs an argument:", argv[optind - 1]);
	/* a long option given an argument it does not take has its val in optopt */
	if (optopt > 0 && optopt < 128 && argv[optind - 1][1] != '-') {
		optbuf[1] = (char)optopt;
		return cli_bad_usage(c, "unknown option", optbuf);
	}
	return cli_bad_usage(c, "unknown option", argv[optind - 1]);
}

int cli_version(const struct cli *c)
{
	printf("%s (%s) %s\n", c->prog, PACKAGE_NAME, PACKAGE_VERSION);
	return fflush(stdout) == 0 && !ferror(stdout) ? CLI_EXIT_OK : CLI_EXIT_TROUBLE;
}

void cli_write(struct cli *c, const void *buf, size_t len)
{
	if (!buf) {             /* out of memory while building it */
		c->write_error = c->write_error ? c->write_error : ENOMEM;
		return;
	}
	cli_clear_progress(c);
	if (fwrite(buf, 1, len, stdout) != len && !c->write_error)
		c->write_error = errno ? errno : EIO;
}

int cli_finish_output(struct cli *c)
{
	cli_clear_progress(c);
	if ((fflush(stdout) != 0 || ferror(stdout)) && !c->write_error)
		c->write_error = errno ? errno : EIO;
	if (c->write_error && !c->write_error_said) {
		fprintf(stderr, "%s: write error: %s\n", c->prog, strerror(c->write_error));
		c->write_error_said = true;
	}
	return c->write_error;
}

void cli_json_head(struct dbuf *b, const struct cli *c, const char *record)
{
	/* (an event each: without printf) */
	dbuf_adds(b, "{\"record\":\"");
	dbuf_adds(b, record);
	dbuf_adds(b, "\",\"version\":");
	dbuf_addu(b, VA_JSON_VERSION);
	dbuf_adds(b, ",\"program\":\"");
	dbuf_adds(b, c->prog);
	dbuf_addc(b, '"');
}

void cli_json_strings(struct dbuf *b, const char *key, const char *const *v, size_t n)
{
	bool utf8 = true;

	for (size_t i = 0; i < n; i++)
		utf8 &= va_utf8_valid(v[i], strlen(v[i]));
	dbuf_addf(b, ",\"%s%s\":[", key, utf8 ? "" : "_b64");
	for (size_t i = 0; i < n; i++) {
		dbuf_adds(b, i ? "," : "");
		if (utf8) {
			va_escape_json(b, v[i], strlen(v[i]));
		} else {
			dbuf_addc(b, '"');
			va_base64(b, v[i], strlen(v[i]));
			dbuf_addc(b, '"');
		}
	}
	dbuf_addc(b, ']');
}

void cli_json_error(struct cli *c, const char *path, size_t len, const char *what,
		    const char *reason, long code)
{
	struct dbuf b = DBUF_INIT;

	cli_json_head(&b, c, "error");
	va_json_field(&b, "path", path, path ? len : 0);
	va_json_field(&b, "what", what, what ? strlen(what) : 0);
	va_json_field(&b, "error", reason, reason ? strlen(reason) : 0);
	dbuf_addf(&b, ",\"code\":%ld}\n", code);
	cli_write(c, b.buf, b.len);
	dbuf_release(&b);
}

const char *cli_human(uint64_t bytes, char buf[32])
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, 32, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, 32, "%.0f KiB", v);
	else
		snprintf(buf, 32, "%.1f %s", v, unit[u]);
	return buf;
}

int cli_lock(struct cli *c, struct va_locks *l, const char *image, const char *const *paths,
	     size_t npaths)
{
	struct va_error err = VA_ERROR_INIT;
	int r = va_lock_targets(l, image, paths, npaths, &err);

	if (r < 0) {
		if (va_error_is_set(&err))
			cli_error(c, &err);
		else
			cli_say(c, "%s", strerror(-r));
	}
	va_error_release(&err);
	return r < 0 ? CLI_EXIT_TROUBLE : 0;
}

/* ------------------------------------------------------------------ option rules */

static int lowest(uint64_t set)
{
	return set ? __builtin_ctzll(set) : -1;
}

/* "OPTION needs MODE-A, MODE-B or MODE-C": the named modes that accept @bit. */
static int needs_mode(const struct cli *c, const struct cli_rules *r, int bit)
{
	struct dbuf b = DBUF_INIT;
	size_t n = 0, k = 0;
	int status;

	for (size_t m = 0; m < r->nmodes; m++)
		n += r->modes[m].name && (r->modes[m].accepts & BIT(bit));
	dbuf_addf(&b, "%s needs", r->names[bit]);
	for (size_t m = 0; m < r->nmodes; m++) {
		if (!r->modes[m].name || !(r->modes[m].accepts & BIT(bit)))
			continue;
		k++;
		dbuf_addf(&b, "%s%s", k == 1 ? " " : k == n ? " or " : ", ", r->modes[m].name);
	}
	status = cli_bad_usage(c, b.buf ? dbuf_str(&b) : r->names[bit], NULL);
	dbuf_release(&b);
	return status;
}

static int no_combine(const struct cli *c, const char *a, const char *b)
{
	struct dbuf m = DBUF_INIT;
	int status;

	dbuf_addf(&m, "%s does not combine with %s", a, b);
	status = cli_bad_usage(c, b && m.buf ? dbuf_str(&m) : a, NULL);
	dbuf_release(&m);
	return status;
}

int cli_check_options(const struct cli *c, const struct cli_rules *r, size_t mode, uint64_t given)
{
	const struct cli_mode *md = &r->modes[mode];
	int bit = lowest(given & ~md->accepts);

	if (bit >= 0)
		return md->name ? no_combine(c, md->name, r->names[bit]) : needs_mode(c, r, bit);
	for (size_t i = 0; i < r->nexclusive; i++) {
		uint64_t both = given & r->exclusive[i];
		int first = lowest(both);

		if (both & (both - 1))
			return no_combine(c, r->names[first], r->names[lowest(both & ~BIT(first))]);
	}
	for (size_t i = 0; i < r->nneeds; i++)
		if ((given & r->needs[i].opt) && !(given & r->needs[i].needs)) {
			struct dbuf m = DBUF_INIT;
			uint64_t rest = r->needs[i].needs;
			int status;

			dbuf_addf(&m, "%s needs ", r->names[lowest(given & r->needs[i].opt)]);
			for (int k = 0; rest; k++) {
				int b = lowest(rest);

				rest &= ~BIT(b);
				dbuf_addf(&m, "%s%s", k ? (rest ? ", " : " or ") : "", r->names[b]);
			}
			status = cli_bad_usage(c, m.buf ? dbuf_str(&m) : "an option needs another", NULL);
			dbuf_release(&m);
			return status;
		}
	return 0;
}

int cli_parse_size(const char *s, uint64_t *ret)
{
	static const char units[] = "KMGT";
	uint64_t v = 0;
	const char *p = s, *u;
	unsigned shift = 0;

	if (!(*p >= '0' && *p <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p && (u = strchr(units, *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p)) != NULL) {
		shift = 10 * (unsigned)(u - units + 1);
		p++;
		if (*p == 'i' && p[1] == 'B')
			p += 2;
	}
	if (*p == 'B')
		p++;
	if (*p)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = v << shift;
	return 0;
}
