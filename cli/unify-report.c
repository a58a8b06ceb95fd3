/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-report.c - what vunify and vhashify say while and after they run
 * (see unify-cli.h): the engine's events as text per verbosity level or as
 * JSON Lines, errors on stderr, the progress line, the summary and the
 * exit status.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/unify-cli.h"
#include "core/escape.h"
#include "core/message.h"

/* ------------------------------------------------------------------ events */

static void stats_add(struct va_ustats *d, const struct va_ustats *s)
{
	d->examined += s->examined;
	d->candidates += s->candidates;
	d->read_files += s->read_files;
	d->read_bytes += s->read_bytes;
	d->passes += s->passes;
	d->linked += s->linked;
	d->saved_bytes += s->saved_bytes;
	d->already += s->already;
	d->stored += s->stored;
	d->reverted += s->reverted;
	d->protected_ += s->protected_;
	for (int k = 0; k < VA_USKIP_COUNT; k++)
		d->skipped[k] += s->skipped[k];
	d->failed += s->failed;
}

static void show_progress(struct ucli *c)
{
	struct va_ustats s = c->total;
	char rd[32];

	if (!cli_progress_due(&c->cli, 0.1))
		return;
	if (c->cur)
		stats_add(&s, c->cur);
	cli_progress(&c->cli, "%s%s%llu files, %llu %s, %s read, %.0fs", dbuf_str(&c->label),
		     c->label.len ? ": " : "", (unsigned long long)s.examined,
		     (unsigned long long)(s.reverted ? s.reverted : s.linked),
		     s.reverted ? "reverted" : "linked", cli_human(s.read_bytes, rd),
		     cli_elapsed(&c->cli));
}

/* Which skips are worth a line at -v1; -v2 shows the others, -v6 not-regular too. */
static int skip_level(enum va_uskip s)
{
	switch (s) {
	case VA_USKIP_IMMUTABLE:
	case VA_USKIP_CHANGED:
	case VA_USKIP_EMLINK:
	case VA_USKIP_ERROR:
		return 1;
	case VA_USKIP_NOT_REGULAR:
		return 6;
	default:
		return 2;
	}
}

static void text_event(struct ucli *c, const struct va_uevent *ev)
{
	struct dbuf b = DBUF_INIT;
	const char *would = ev->dry_run ? "would " : "";

	switch (ev->type) {
	case VA_UEV_LINK:
		if (!ev->dry_run && c->verbose < 2)
			return;
		dbuf_addf(&b, "%slink ", would);
		va_escape_shell(&b, ev->path, ev->path_len);
		if (c->verbose >= 4 && ev->master) {
			dbuf_adds(&b, " <- ");
			va_escape_shell(&b, ev->master, ev->master_len);
		}
		break;
	case VA_UEV_STORE:
		if (!ev->dry_run && c->verbose < 2)
			return;
		dbuf_addf(&b, "%sstore ", would);
		va_escape_shell(&b, ev->path, ev->path_len);
		if (ev->master) {
			dbuf_adds(&b, " <- ");
			va_escape_shell(&b, ev->master, ev->master_len);
		}
		break;
	case VA_UEV_REVERT:
		if (!ev->dry_run && c->verbose < 2)
			return;
		dbuf_addf(&b, "%srevert ", would);
		va_escape_shell(&b, ev->path, ev->path_len);
		break;
	case VA_UEV_ALREADY:
		if (c->verbose < 3)
			return;
		dbuf_adds(&b, "already ");
		va_escape_shell(&b, ev->path, ev->path_len);
		break;
	case VA_UEV_SKIP:
		if (c->verbose < skip_level(ev->skip))
			return;
		dbuf_adds(&b, "skip ");
		va_escape_shell(&b, ev->path, ev->path_len);
		dbuf_addf(&b, ": %s", va_uskip_text(ev->skip));
		if (ev->detail)
			dbuf_addf(&b, ": %s", ev->detail);
		if (ev->err)
			dbuf_addf(&b, ": %s", strerror(ev->err));
		break;
	case VA_UEV_PROTECT:
		if (c->verbose < 2)
			return;
		dbuf_addf(&b, "%sprotect ", would);
		va_escape_shell(&b, ev->path, ev->path_len);
		dbuf_addf(&b, ": 0x%08x -> 0x%08x", ev->old_flags, ev->new_flags);
		break;
	case VA_UEV_UNDO:
		if (c->verbose < 2)
			return;
		dbuf_addf(&b, "%sundo ", would);
		va_escape_shell(&b, ev->path, ev->path_len);
		if (ev->detail)
			dbuf_addf(&b, ": %s", ev->detail);
		break;
	case VA_UEV_GUEST:
		return;
	}
	dbuf_addc(&b, '\n');
	cli_write(&c->cli, b.buf, b.len);
	dbuf_release(&b);
}

static void json_event(struct ucli *c, const struct va_uevent *ev)
{
	struct dbuf b = c->evbuf;       /* (its buffer kept for the next event) */
	const char *dry = ev->dry_run ? "true" : "false";

	dbuf_setlen(&b, 0);
	/* a failed step is an error record; every other step an action record */
	cli_json_head(&b, &c->cli, ev->type == VA_UEV_SKIP && ev->skip == VA_USKIP_ERROR ? "error" :
				    "action");
	dbuf_addc(&b, ',');
	switch (ev->type) {
	case VA_UEV_LINK:
	case VA_UEV_STORE:
		dbuf_adds(&b, ev->type == VA_UEV_LINK ? "\"event\":\"link\"" : "\"event\":\"store\"");
		va_json_field(&b, "path", ev->path, ev->path_len);
		va_json_field(&b, "master", ev->master, ev->master_len);
		dbuf_adds(&b, ",\"size\":");
		dbuf_addu(&b, ev->size);
		dbuf_adds(&b, ",\"dry_run\":");
		dbuf_adds(&b, dry);
		dbuf_adds(&b, "}\n");
		break;
	case VA_UEV_REVERT:
		dbuf_adds(&b, "\"event\":\"revert\"");
		va_json_field(&b, "path", ev->path, ev->path_len);
		dbuf_addf(&b, ",\"size\":%llu,\"dry_run\":%s}\n", (unsigned long long)ev->size, dry);
		break;
	case VA_UEV_ALREADY:
		dbuf_adds(&b, "\"event\":\"already\"");
		va_json_field(&b, "path", ev->path, ev->path_len);
		dbuf_adds(&b, "}\n");
		break;
	case VA_UEV_SKIP:
		if (ev->skip == VA_USKIP_EXCLUDED || ev->skip == VA_USKIP_SMALL ||
		    ev->skip == VA_USKIP_NOT_REGULAR) {
			c->evbuf = b;
			return;
		}
		dbuf_adds(&b, "\"event\":\"skip\"");
		va_json_field(&b, "path", ev->path, ev->path_len);
		dbuf_addf(&b, ",\"reason\":\"%s\",\"text\":\"%s\"", va_uskip_name(ev->skip),
			  va_uskip_text(ev->skip));
		va_json_field(&b, "detail", ev->detail, ev->detail ? strlen(ev->detail) : 0);
		dbuf_adds(&b, ",\"error\":");
		if (ev->err)
			va_escape_json(&b, strerror(ev->err), strlen(strerror(ev->err)));
		else
			dbuf_adds(&b, "null");
		dbuf_adds(&b, "}\n");
		break;
	case VA_UEV_PROTECT:
		dbuf_adds(&b, "\"event\":\"protect\"");
		va_json_field(&b, "path", ev->path, ev->path_len);
		dbuf_addf(&b, ",\"old_flags\":\"0x%08x\",\"new_flags\":\"0x%08x\"}\n", ev->old_flags,
			  ev->new_flags);
		break;
	case VA_UEV_UNDO:
	case VA_UEV_GUEST:
		c->evbuf = b;
		return;
	}
	cli_write(&c->cli, b.buf, b.len);
	c->evbuf = b;
}

static void on_event(const struct va_uevent *ev, const struct va_ustats *st, void *user)
{
	struct ucli *c = user;

	c->cur = st;
	if (ev->type == VA_UEV_GUEST) {
		const char *l = ev->label ? ev->label : ev->path;
		size_t len = ev->label ? strlen(ev->label) : ev->path ? ev->path_len : 0, n = len;

		/* at most 40 bytes of it, cut between characters, escaped */
		if (n > 40)
			for (n = 40; n > 0 && ((unsigned char)l[n] & 0xc0) == 0x80; n--)
				;
		dbuf_setlen(&c->label, 0);
		if (l)
			va_escape_shell(&c->label, l, n);
		c->cli.last.tv_sec = 0; /* show the new tree at once */
	} else if (ev->type == VA_UEV_SKIP && ev->skip == VA_USKIP_ERROR) {
		/* errors are always reported, in both output modes */
		struct dbuf b = DBUF_INIT;

		va_quote(&b, ev->path ? ev->path : "", ev->path ? ev->path_len : 0);
		cli_say(&c->cli, "%s: %s%s%s", dbuf_str(&b), ev->detail ? ev->detail : "failed",
			ev->err ? ": " : "", ev->err ? strerror(ev->err) : "");
		dbuf_release(&b);
	}
	if (ev->type != VA_UEV_GUEST && ev->path) {
		if (c->json)
			json_event(c, ev);
		else
			text_event(c, ev);
	}
	show_progress(c);
}

void ucli_uopts(struct ucli *c, struct va_uopts *o)
{
	memset(o, 0, sizeof(*o));
	c->hooks.event = on_event;
	c->hooks.user = c;
	o->dry_run = c->dry_run;
	o->protect = c->protect;
	o->be = c->be;
	o->j = c->j;
	o->h = &c->hooks;
}

int ucli_ran(struct ucli *c, const struct va_ustats *st, int r)
{
	stats_add(&c->total, st);
	c->cur = NULL;
	if (r < 0 && c->j && va_journal_error(c->j) < 0) {
		/* nothing more could be journaled: no change was made after that */
		cli_msg(&c->cli, c->jfile.buf, "cannot write the journal", strerror(-va_journal_error(c->j)));
	} else if (r < 0) {
		cli_say(&c->cli, "the run stopped: %s", strerror(-r));
	}
	return r;
}

/* ------------------------------------------------------------------ summary */

/* Whether the counts of @s are of a change: a link, a store entry, a revert or a flag change. */
static bool changes(const struct va_ustats *s)
{
	return s->linked || s->stored || s->reverted || s->protected_;
}

static void text_summary(struct ucli *c, bool revert, double t)
{
	const struct va_ustats *s = &c->total;
	struct dbuf sk = DBUF_INIT;
	char rd[32], sv[32];

	printf("%s: %llu files examined, %llu candidates, %s read in %llu files", c->cli.prog,
	       (unsigned long long)s->examined, (unsigned long long)s->candidates,
	       cli_human(s->read_bytes, rd), (unsigned long long)s->read_files);
	if (s->passes > 1)
		printf(" (%llu passes: --memory-limit)", (unsigned long long)s->passes);
	printf(", %.1fs\n", t);
	if (revert) {
		if (c->dry_run)
			printf("%s: would revert %llu names", c->cli.prog, (unsigned long long)s->reverted);
		else
			printf("%s: %llu names reverted", c->cli.prog, (unsigned long long)s->reverted);
	} else {
		if (c->dry_run)
			printf("%s: would link %llu names, would save %s, %llu already shared", c->cli.prog,
			       (unsigned long long)s->linked, cli_human(s->saved_bytes, sv),
			       (unsigned long long)s->already);
		else
			printf("%s: %llu names linked, %s saved, %llu already shared", c->cli.prog,
			       (unsigned long long)s->linked, cli_human(s->saved_bytes, sv),
			       (unsigned long long)s->already);
		if (s->stored || c->store_run)
			printf(", %s%llu new store entries", c->dry_run ? "would add " : "",
			       (unsigned long long)s->stored);
	}
	if (s->protected_)
		printf(", %s%llu flag changes", c->dry_run ? "would make " : "",
		       (unsigned long long)s->protected_);
	putchar('\n');
	for (int k = 0; k < VA_USKIP_COUNT; k++) {
		if (!s->skipped[k])
			continue;
		dbuf_addf(&sk, "%s %llu %s", sk.len ? "," : "", (unsigned long long)s->skipped[k],
			  va_uskip_name((enum va_uskip)k));
	}
	if (sk.len)
		printf("%s: skipped:%s\n", c->cli.prog, sk.buf);
	dbuf_release(&sk);
	if (c->summary_more) {
		c->summary_more(c, &sk, false);
		printf("%s: %s\n", c->cli.prog, dbuf_str(&sk));
		dbuf_release(&sk);
	}
	if (s->failed)
		printf("%s: %llu error%s (reported above)\n", c->cli.prog, (unsigned long long)s->failed,
		       s->failed == 1 ? "" : "s");
	ucli_journal_summary(c, &sk, false);
	fputs(dbuf_str(&sk), stdout);
	dbuf_release(&sk);
}

static void json_summary(struct ucli *c, bool revert, double t)
{
	const struct va_ustats *s = &c->total;
	struct dbuf b = DBUF_INIT;

	(void)revert;
	cli_json_head(&b, &c->cli, "summary");
	dbuf_addf(&b, ",\"vaudit_version\":\"%s\",\"event\":\"summary\",\"dry_run\":%s,\"examined\":%llu,"
		  "\"candidates\":%llu,\"read_files\":%llu,\"read_bytes\":%llu,\"passes\":%llu,\"linked\":%llu,"
		  "\"saved_bytes\":%llu,\"already\":%llu,\"stored\":%llu,\"reverted\":%llu,"
		  "\"protected\":%llu,\"skipped\":{",
		  PACKAGE_VERSION, c->dry_run ? "true" : "false", (unsigned long long)s->examined,
		  (unsigned long long)s->candidates, (unsigned long long)s->read_files,
		  (unsigned long long)s->read_bytes, (unsigned long long)s->passes,
		  (unsigned long long)s->linked,
		  (unsigned long long)s->saved_bytes, (unsigned long long)s->already,
		  (unsigned long long)s->stored, (unsigned long long)s->reverted,
		  (unsigned long long)s->protected_);
	for (int k = 0; k < VA_USKIP_COUNT; k++)
		dbuf_addf(&b, "%s\"%s\":%llu", k ? "," : "", va_uskip_name((enum va_uskip)k),
			  (unsigned long long)s->skipped[k]);
	dbuf_addf(&b, "},\"failed\":%llu", (unsigned long long)s->failed);
	ucli_journal_summary(c, &b, true);
	if (c->summary_more)
		c->summary_more(c, &b, true);
	dbuf_addf(&b, ",\"changed\":%s,\"elapsed\":%.3f}\n",
		  !c->dry_run && (changes(s) || c->more_changes) ? "true" : "false",
		  t);
	cli_write(&c->cli, b.buf, b.len);
	dbuf_release(&b);
}

void ucli_journal_summary(const struct ucli *c, struct dbuf *b, bool json)
{
	bool kept = c->j && !c->jremoved;

	if (json)
		va_json_field(b, "journal", kept ? c->jfile.buf : NULL, kept ? c->jfile.len : 0);
	else if (c->jremoved)
		dbuf_addf(b, "%s: journal %s removed: it holds no change\n", c->cli.prog, c->jfile.buf);
	else if (c->j)
		dbuf_addf(b, "%s: journal %s\n", c->cli.prog, c->jfile.buf);
}

int ucli_finish(struct ucli *c, bool revert, int r)
{
	double t = cli_elapsed(&c->cli);

	cli_clear_progress(&c->cli);
	ucli_journal_drop(c);
	if (c->json)
		json_summary(c, revert, t);
	else
		text_summary(c, revert, t);
	if (cli_finish_output(&c->cli) || r || c->total.failed)
		return CLI_EXIT_TROUBLE;
	/* a dry run says whether the real run would change anything */
	return c->dry_run && (changes(&c->total) || c->more_changes) ? CLI_EXIT_FINDINGS : CLI_EXIT_OK;
}
