/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit-monitor.c - an audit for the monitoring people already run:
 * --prometheus FILE writes node_exporter textfile-collector metrics
 * (the text exposition format, version 0.0.4), replaced atomically;
 * --nagios prints one line by the Nagios plugin guidelines and exits with
 * the plugin's status.
 *
 * The plugin's status, with --fail-on (default warning):
 *   2 CRITICAL  a finding of severity error (unless --fail-on never)
 *   3 UNKNOWN   no audit (configuration, image, write error, usage
 *               error), or a partial one (entries could not be read)
 *               without an error finding
 *   1 WARNING   a finding of severity warning (--fail-on warning)
 *   0 OK        otherwise (info findings never count)
 *
 * Disk usage (bytes shared, reclaimable) is not among the metrics: an
 * audit does not compute it, and vaudit --usage is a walk of its own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/vaudit.h"
#include "core/clock.h"
#include "core/escape.h"
#include "core/fileops.h"

/* The findings of one guest (a name in a guest directory) by severity. */
struct guest_count {
	char *name;
	size_t len;
	uint64_t by_sev[VA_SEV_COUNT];
};

struct monitor {
	struct timespec start;          /* monotonic, at monitor_new() */
	uint64_t by_kind_sev[VA_KIND_COUNT][VA_SEV_COUNT];
	struct guest_count *guests;
	size_t nguests, capguests;
	size_t last;                    /* the guest found last (findings come guest by guest) */
};

struct monitor *monitor_new(void)
{
	struct monitor *m = calloc(1, sizeof(*m));

	if (m)
		m->start = va_clock_now();
	return m;
}

void monitor_free(struct monitor *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nguests; i++)
		free(m->guests[i].name);
	free(m->guests);
	free(m);
}

/* The counters of guest @name (@len bytes), made when new.  Return: NULL when out of memory. */
static struct guest_count *guest(struct monitor *m, const char *name, size_t len)
{
	struct guest_count *g;

	if (m->last < m->nguests && m->guests[m->last].len == len &&
	    memcmp(m->guests[m->last].name, name, len) == 0)
		return &m->guests[m->last];
	for (size_t i = 0; i < m->nguests; i++)
		if (m->guests[i].len == len && memcmp(m->guests[i].name, name, len) == 0)
			return &m->guests[m->last = i];
	if (va_array_grow(&m->guests, &m->capguests, m->nguests, sizeof(*m->guests)) < 0)
		return NULL;
	g = &m->guests[m->nguests];
	memset(g, 0, sizeof(*g));
	if (!(g->name = malloc(len ? len : 1)))
		return NULL;
	memcpy(g->name, name, len);
	g->len = len;
	m->last = m->nguests++;
	return g;
}

/* Is guest @n already among the first @i names of @f? */
static bool seen_before(const struct va_finding *f, size_t i, const struct va_name *n)
{
	for (size_t k = 0; k <= i; k++) {
		const struct va_name *p = k == 0 ? &f->where : &f->others[k - 1];

		if (k == i)
			return false;
		if (p->guest && p->guest_len == n->guest_len && memcmp(p->guest, n->guest, n->guest_len) == 0)
			return true;
	}
	return false;
}

int monitor_add(struct monitor *m, const struct va_finding *f)
{
	if ((unsigned)f->kind >= VA_KIND_COUNT || (unsigned)f->severity >= VA_SEV_COUNT)
		return 0;
	m->by_kind_sev[f->kind][f->severity]++;
	/* an inode shared by several guests counts once for each of them */
	for (size_t i = 0; i <= f->nothers; i++) {
		const struct va_name *n = i == 0 ? &f->where : &f->others[i - 1];
		struct guest_count *g;

		if (!n->guest || seen_before(f, i, n))
			continue;
		if (!(g = guest(m, n->guest, n->guest_len)))
			return -ENOMEM;
		g->by_sev[f->severity]++;
	}
	return 0;
}

/* ------------------------------------------------------------------ --prometheus */

/*
 * A label value: UTF-8 with \\, \" and \n escaped (the exposition
 * format); a byte that is not UTF-8 is written as the text \xNN.
 */
static void label_value(struct dbuf *b, const char *s, size_t len)
{
	size_t i = 0;

	dbuf_addc(b, '"');
	while (i < len) {
		uint32_t cp;
		size_t n = va_utf8_decode(s + i, len - i, &cp);

		if (n == 0) {
			dbuf_addf(b, "\\\\x%02x", (unsigned char)s[i]);
			i++;
			continue;
		}
		if (s[i] == '\\')
			dbuf_adds(b, "\\\\");
		else if (s[i] == '"')
			dbuf_adds(b, "\\\"");
		else if (s[i] == '\n')
			dbuf_adds(b, "\\n");
		else
			dbuf_add(b, s + i, n);
		i += n;
	}
	dbuf_addc(b, '"');
}

static void help_type(struct dbuf *b, const char *name, const char *help)
{
	dbuf_addf(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* How the attributes were read, as one word (the summary record's "method"). */
static const char *method_word(const struct va_audit_stats *st, bool image)
{
	return image || st->methods == VA_METHOD_TABLES ? "inode-tables" :
	       st->methods == VA_METHOD_WALK ? "walk" :
	       st->methods ? "inode-tables+walk" : "none";
}

/* The metrics of the run into @b. */
static void metrics(struct dbuf *b, const struct ctx *c, const struct vaudit_opts *o,
		    bool image, int status, double now, double took)
{
	const struct monitor *m = c->mon;
	uint64_t kinds = o->only & ~o->skip;
	bool success = c->audited && (status == CLI_EXIT_OK || status == CLI_EXIT_FINDINGS);

	help_type(b, "vaudit_last_run_timestamp_seconds",
		  "When the last vaudit run ended, in seconds since the epoch.");
	dbuf_addf(b, "vaudit_last_run_timestamp_seconds %.3f\n", now);
	help_type(b, "vaudit_run_duration_seconds", "How long the last vaudit run took, in seconds.");
	dbuf_addf(b, "vaudit_run_duration_seconds %.3f\n", took);
	help_type(b, "vaudit_last_run_success",
		  "1 when the last run audited all it was asked to (exit status 0 or 1), else 0.");
	dbuf_addf(b, "vaudit_last_run_success %d\n", success ? 1 : 0);
	help_type(b, "vaudit_exit_status", "The exit status of the last run (vaudit(8), EXIT STATUS).");
	dbuf_addf(b, "vaudit_exit_status %d\n", status);
	help_type(b, "vaudit_run_info", "The last run: its back end, how it read the attributes, "
		  "and the vaudit version; always 1.");
	dbuf_addf(b, "vaudit_run_info{backend=\"%s\",method=\"%s\",version=",
		  image ? "image" : "live", c->audited ? method_word(&c->stats, image) : "none");
	label_value(b, PACKAGE_VERSION, strlen(PACKAGE_VERSION));
	dbuf_adds(b, "} 1\n");
	if (!c->audited)
		return;
	help_type(b, "vaudit_entries", "Entries (files, directories, ...) the last audit visited.");
	dbuf_addf(b, "vaudit_entries %llu\n", (unsigned long long)c->stats.entries);
	help_type(b, "vaudit_errors",
		  "Entries the last audit could not read (not 0: the audit is partial).");
	dbuf_addf(b, "vaudit_errors %llu\n", (unsigned long long)c->stats.errors);
	help_type(b, "vaudit_findings", "Findings of the last audit by kind and severity "
		  "(every kind audited, 0 included).");
	for (int k = 0; k < VA_KIND_COUNT; k++)
		for (int v = 0; v < VA_SEV_COUNT; v++)
			if (m->by_kind_sev[k][v] ||
			    ((kinds & VA_KIND_BIT(k)) && va_kind_severity(k) == (enum va_severity)v))
				dbuf_addf(b, "vaudit_findings{kind=\"%s\",severity=\"%s\"} %llu\n",
					  va_kind_name(k), va_severity_name(v),
					  (unsigned long long)m->by_kind_sev[k][v]);
	help_type(b, "vaudit_guest_findings", "Findings of the last audit by guest and severity "
		  "(a file shared by several guests counts for each; findings outside any guest "
		  "are not here).");
	for (size_t i = 0; i < m->nguests; i++)
		for (int v = 0; v < VA_SEV_COUNT; v++) {
			dbuf_adds(b, "vaudit_guest_findings{guest=");
			label_value(b, m->guests[i].name, m->guests[i].len);
			dbuf_addf(b, ",severity=\"%s\"} %llu\n", va_severity_name(v),
				  (unsigned long long)m->guests[i].by_sev[v]);
		}
}

/* Write @b to the --prometheus file.  Return: 0, or CLI_EXIT_TROUBLE after a message. */
static int write_prometheus(struct cli *cli, const char *file, const struct dbuf *b)
{
	char *dcopy = strdup(file), *bcopy = strdup(file);
	const char *what = "open directory";
	int dirfd = -1, r = -ENOMEM;

	if (dcopy && bcopy) {
		dirfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		r = dirfd < 0 ? -errno : va_write_replace(dirfd, basename(bcopy), b->buf, b->len, 0644,
							  &what);
	}
	if (r < 0)
		cli_msg(cli, file, what, strerror(-r));
	if (dirfd >= 0)
		close(dirfd);
	free(dcopy);
	free(bcopy);
	return r < 0 ? CLI_EXIT_TROUBLE : 0;
}

/* ------------------------------------------------------------------ --nagios */

enum { NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN };

static const char *const nagios_word[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };

/* @s on the plugin line: one line, no '|' (it starts the performance data). */
static void plugin_text(struct dbuf *b, const char *s)
{
	for (; *s; s++)
		dbuf_addc(b, *s == '|' ? '/' : *s == '\n' || *s == '\r' ? ' ' : *s);
}

/* Print the plugin line of state @st, text @text and perfdata @perf (may be empty). */
static int nagios_print(int st, const char *text, const char *perf)
{
	struct dbuf b = DBUF_INIT;

	dbuf_addf(&b, "VAUDIT %s - ", nagios_word[st]);
	plugin_text(&b, text);
	if (perf && *perf)
		dbuf_addf(&b, " | %s", perf);
	dbuf_addc(&b, '\n');
	if (!b.buf)
		st = NAGIOS_UNKNOWN;
	fwrite(b.buf ? b.buf : "VAUDIT UNKNOWN - out of memory\n", 1, b.buf ? b.len : 31, stdout);
	dbuf_release(&b);
	if (fflush(stdout) != 0)
		return NAGIOS_UNKNOWN;
	return st;
}

int nagios_usage_line(void)
{
	const char *m = cli_first_message();
	struct dbuf t = DBUF_INIT;

	dbuf_addf(&t, "bad command line: %s (see '%s --help')", m ? m : "see stderr", PROG);
	nagios_print(NAGIOS_UNKNOWN, dbuf_str(&t), NULL);
	dbuf_release(&t);
	return NAGIOS_UNKNOWN;
}

/* The kinds found, most first, at most five: "legacy-iunlink 3, cow 1". */
static void top_kinds(struct dbuf *b, const struct monitor *m)
{
	uint64_t n[VA_KIND_COUNT];
	bool used[VA_KIND_COUNT] = { false };

	for (int k = 0; k < VA_KIND_COUNT; k++) {
		n[k] = 0;
		for (int v = 0; v < VA_SEV_COUNT; v++)
			n[k] += m->by_kind_sev[k][v];
	}
	for (int shown = 0; shown < 5; shown++) {
		int best = -1;

		for (int k = 0; k < VA_KIND_COUNT; k++)
			if (!used[k] && n[k] && (best < 0 || n[k] > n[best]))
				best = k;
		if (best < 0)
			break;
		used[best] = true;
		dbuf_addf(b, "%s%s %llu", shown ? ", " : " (", va_kind_name(best), (unsigned long long)n[best]);
	}
	if (b->len && b->buf[0] == ' ')
		dbuf_addc(b, ')');
}

static int nagios(const struct ctx *c, const struct vaudit_opts *o, int status, double took,
		  const char *trouble)
{
	uint64_t err = c->by_sev[VA_SEV_ERROR], warn = c->by_sev[VA_SEV_WARNING];
	uint64_t info = c->by_sev[VA_SEV_INFO], unread = c->stats.errors;
	struct dbuf t = DBUF_INIT, p = DBUF_INIT, k = DBUF_INIT;
	int st;

	if (!c->audited || !c->mon || status == CLI_EXIT_TROUBLE) {
		const char *m = trouble ? trouble : cli_first_message();

		dbuf_addf(&t, "%s%s", c->audited ? "" : "no audit: ", m ? m : "see stderr");
		st = nagios_print(NAGIOS_UNKNOWN, dbuf_str(&t), NULL);
		dbuf_release(&t);
		return st;
	}
	if (err && o->fail_on != FAIL_ON_NEVER)
		st = NAGIOS_CRITICAL;
	else if (unread)
		st = NAGIOS_UNKNOWN;
	else if (warn && o->fail_on == FAIL_ON_WARNING)
		st = NAGIOS_WARNING;
	else
		st = NAGIOS_OK;
	top_kinds(&k, c->mon);
	dbuf_addf(&t, "%llu error, %llu warning, %llu info finding%s%s in %llu entries",
		  (unsigned long long)err, (unsigned long long)warn, (unsigned long long)info,
		  err + warn + info == 1 ? "" : "s", dbuf_str(&k), (unsigned long long)c->stats.entries);
	if (unread)
		dbuf_addf(&t, "; %llu entr%s could not be read: the audit is partial",
			  (unsigned long long)unread, unread == 1 ? "y" : "ies");
	/* 'label'=value[UOM];[warn];[crit];[min];[max]: a threshold "0" alerts above 0 */
	dbuf_addf(&p, "'error'=%llu;;%s;0 'warning'=%llu;%s;;0 'info'=%llu;;;0 'entries'=%llu;;;0 "
		  "'unreadable'=%llu;;;0 'duration'=%.3fs;;;0",
		  (unsigned long long)err, o->fail_on != FAIL_ON_NEVER ? "0" : "",
		  (unsigned long long)warn, o->fail_on == FAIL_ON_WARNING ? "0" : "",
		  (unsigned long long)info, (unsigned long long)c->stats.entries,
		  (unsigned long long)unread, took);
	st = nagios_print(st, dbuf_str(&t), dbuf_str(&p));
	dbuf_release(&t);
	dbuf_release(&p);
	dbuf_release(&k);
	return st;
}

int monitor_finish(struct ctx *c, const struct vaudit_opts *o, bool image, int status)
{
	struct timespec end = va_clock_now(), wall;
	double took = c->mon ? va_clock_seconds(&c->mon->start, &end) : 0.0;
	const char *trouble = NULL;

	clock_gettime(CLOCK_REALTIME, &wall);
	if (o->prometheus && c->mon) {
		struct dbuf b = DBUF_INIT;
		int r;

		metrics(&b, c, o, image, status, (double)wall.tv_sec + wall.tv_nsec / 1e9, took);
		r = b.buf ? write_prometheus(&c->cli, o->prometheus, &b) : CLI_EXIT_TROUBLE;
		dbuf_release(&b);
		if (r) {
			status = r;
			trouble = cli_first_message();
		}
	}
	if (o->nagios)
		return nagios(c, o, status, took, trouble);
	return status;
}
