/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit-fix.c - the repair commands of vaudit: --fix, --plan, --undo and
 * --resume.  The engine is migrate/repair/repair.c, plans are read and journals
 * created and opened by migrate/repair/repair-io.c (shared with the console);
 * this file writes plans, prints what happens and decides the exit status.
 *
 * Plans are JSON Lines: a header object, then one object per action
 * (schema in vaudit(8)).  Journals of vunify and vhashify runs (backend
 * "unify") are replayed by va_unify_replay() (migrate/unify/unify.h),
 * vclone's by va_clone_replay() (migrate/clone/clone.h), and vcopy's by
 * both: its entries made removed, then its links undone.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "audit/checks.h"
#include "cli/vaudit.h"
#include "core/escape.h"
#include "core/flags.h"
#include "core/lock.h"
#include "core/message.h"
#include "core/vsconfig.h"
#include "migrate/clone/clone.h"
#include "migrate/convert/convert.h"
#include "migrate/repair/repair-io.h"
#include "migrate/unify/unify.h"

/*
 * "vaudit: 'FILE': cannot write the journal: WHY" when a write to journal
 * @j failed (the run stopped there).  Return: true then.
 */
static bool journal_failed(struct cli *c, const char *file, const struct va_journal *j)
{
	int err = va_journal_error(j);

	if (!err)
		return false;
	cli_msg(c, file, "cannot write the journal", strerror(-err));
	return true;
}

/*
 * A journal or plan that names what it must not: "vaudit: 'FILE': refused,
 * nothing changed: UNIT N names 'PATH': WHY" (one line).
 */
static int refuse(struct cli *c, const char *file, const char *unit, const struct va_jroots_error *e)
{
	struct dbuf b = DBUF_INIT;

	if (e->seq)
		dbuf_addf(&b, "%s %llu ", unit, (unsigned long long)e->seq);
	else if (e->path)
		dbuf_adds(&b, "its header ");
	if (e->path) {
		dbuf_adds(&b, "names ");
		va_quote(&b, e->path, e->path_len);
		dbuf_adds(&b, ": ");
	}
	dbuf_adds(&b, e->why ? e->why : "?");
	if (e->err && e->err != EPERM)
		dbuf_addf(&b, " (%s)", strerror(e->err));
	cli_msg(c, file, "refused, nothing changed", dbuf_str(&b));
	dbuf_release(&b);
	return CLI_EXIT_TROUBLE;
}

/* ------------------------------------------------------------------ events */

static void print_state(struct dbuf *b, uint32_t flags, uint32_t mode)
{
	char vs[5];

	dbuf_addf(b, "0x%08x %s %04o", flags, va_vsattr_letters(flags, true, true, vs), mode & 07777);
}

/* The run context around @c: every struct cli of vaudit's repair commands is a ctx's. */
static struct ctx *ctx_of(struct cli *c)
{
	return (struct ctx *)((char *)c - offsetof(struct ctx, cli));
}

/* ,"kinds":[...] of the kind bits @kinds. */
static void json_kinds(struct dbuf *b, uint64_t kinds)
{
	bool first = true;

	dbuf_adds(b, ",\"kinds\":[");
	for (int k = 0; k < VA_KIND_COUNT; k++)
		if (kinds & VA_KIND_BIT(k)) {
			dbuf_addf(b, "%s\"%s\"", first ? "" : ",", va_kind_name(k));
			first = false;
		}
	dbuf_addc(b, ']');
}

/* One "record":"action" line on stdout: @event ("would", "done", ...) of action @a. */
static void action_record(struct ctx *c, const char *event, const struct va_action *a,
			  const char *why, int err)
{
	struct dbuf b = DBUF_INIT;

	cli_json_head(&b, &c->cli, "action");
	dbuf_addf(&b, ",\"event\":\"%s\"", event);
	va_json_field(&b, "guest", a->guest, a->guest_len);
	va_json_field(&b, "path", a->path, a->path_len);
	dbuf_addf(&b, ",\"dev\":\"%u:%u\",\"ino\":%llu", major(a->dev), minor(a->dev),
		  (unsigned long long)a->ino);
	json_kinds(&b, a->kinds);
	dbuf_addf(&b, ",\"flags\":\"0x%08x\",\"mode\":\"%04o\",\"new_flags\":\"0x%08x\","
		  "\"new_mode\":\"%04o\"", a->old_flags, a->old_mode & 07777, a->new_flags,
		  a->new_mode & 07777);
	va_json_field(&b, "reason", why, why ? strlen(why) : 0);
	va_json_field(&b, "error", err ? va_image_strerror(err) : NULL,
		      err ? strlen(va_image_strerror(err)) : 0);
	dbuf_adds(&b, "}\n");
	cli_write(&c->cli, b.buf, b.len);
	dbuf_release(&b);
}

void action_event(enum va_repair_event ev, const struct va_action *a, const char *why, int err,
		  void *user)
{
	static const char *const word[] = { "would", "done", "skipped", "FAILED" };
	static const char *const event[] = { "would", "done", "skipped", "failed" };
	struct ctx *c = user;
	struct dbuf b = DBUF_INIT;

	if (c && c->json) {
		action_record(c, event[ev], a, why, err);
		/* what was not done is said on stderr too */
		if (ev != VA_EV_SKIPPED && ev != VA_EV_FAILED)
			return;
	}
	dbuf_addf(&b, "%-8s ", word[ev]);
	print_state(&b, a->old_flags, a->old_mode);
	dbuf_adds(&b, " -> ");
	print_state(&b, a->new_flags, a->new_mode);
	dbuf_addc(&b, ' ');
	va_escape_shell(&b, a->path, a->path_len);
	cli_event_line(&b, why, err ? va_image_strerror(err) : NULL,
		       ev == VA_EV_SKIPPED || ev == VA_EV_FAILED);
	dbuf_release(&b);
}

/*
 * The end of a repair, undo or resume: its counts said on stderr and kept
 * for the summary record.  Return: the exit status: 2 when an action
 * failed or the run stopped, 1 when one was skipped or (a dry run) would
 * change something, else 0.
 */
static int exit_for(struct cli *c, const unsigned counts[4], int r)
{
	struct ctx *x = ctx_of(c);

	x->repaired = true;
	memcpy(x->rcounts, counts, sizeof(x->rcounts));
	if (counts[VA_EV_PLANNED])
		cli_say(c, "%u done, %u skipped, %u failed, %u would be changed (dry run)",
			counts[VA_EV_DONE], counts[VA_EV_SKIPPED], counts[VA_EV_FAILED],
			counts[VA_EV_PLANNED]);
	else
		cli_say(c, "%u done, %u skipped, %u failed", counts[VA_EV_DONE],
			counts[VA_EV_SKIPPED], counts[VA_EV_FAILED]);
	if (r < 0 || counts[VA_EV_FAILED])
		return CLI_EXIT_TROUBLE;
	return counts[VA_EV_SKIPPED] || counts[VA_EV_PLANNED] ? CLI_EXIT_FINDINGS : CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ plans */

static void json_str(struct dbuf *b, const char *key, const char *s, size_t len)
{
	if (va_utf8_valid(s, len)) {
		dbuf_addf(b, ",\"%s\":", key);
		va_escape_json(b, s, len);
	} else {
		dbuf_addf(b, ",\"%s_b64\":\"", key);
		va_base64(b, s, len);
		dbuf_addc(b, '"');
	}
}

static int write_plan(struct ctx *c, struct va_backend *be, const struct fix_args *fa)
{
	struct dbuf b = DBUF_INIT, src = DBUF_INIT;
	char uuid[40];
	FILE *fp;
	int r;

	va_image_uuid(fa->img, fa->roots[0], uuid);
	if ((r = va_fix_source(fa->image, fa->roots, fa->nroots, &src)) < 0) {
		cli_msg(&c->cli, fa->roots[0], "resolving ROOT", strerror(-r));
		return CLI_EXIT_TROUBLE;
	}
	fp = fopen(fa->plan_out, "we");
	if (!fp) {
		cli_msg(&c->cli, fa->plan_out, "cannot write the plan", strerror(errno));
		dbuf_release(&src);
		return CLI_EXIT_TROUBLE;
	}
	dbuf_addf(&b, "{\"vaudit_plan\":1,\"backend\":\"%s\",\"uuid\":\"%s\"",
		  fa->img ? VA_JOURNAL_IMAGE : VA_JOURNAL_LIVE, uuid);
	json_str(&b, "source", src.buf, src.len);
	dbuf_adds(&b, "}\n");
	for (size_t i = 0; i < c->repair->nactions; i++) {
		const struct va_action *a = &c->repair->actions[i];
		struct va_attrs at = { 0 };
		struct va_attr_target t = { .fd = -1, .dir_fd = -1, .dev = a->dev, .ino = a->ino };

		if (c->json)
			action_record(c, "planned", a, NULL, 0);
		dbuf_adds(&b, "{\"action\":\"set-flags\"");
		json_kinds(&b, a->kinds);
		json_str(&b, "path", a->path, a->path_len);
		dbuf_addf(&b, ",\"dev\":\"%u:%u\",\"ino\":%llu", major(a->dev), minor(a->dev),
			  (unsigned long long)a->ino);
		/* live: as the audit read it; image: by inode number, now */
		if (a->gen_known)
			dbuf_addf(&b, ",\"generation\":%u", a->gen);
		else if (fa->img && va_backend_read(be, &t, &at) == 0 && at.gen_known)
			dbuf_addf(&b, ",\"generation\":%u", at.gen);
		else
			dbuf_adds(&b, ",\"generation\":null");
		dbuf_addf(&b, ",\"flags\":\"0x%08x\",\"mode\":\"%04o\",\"new_flags\":\"0x%08x\",\"new_mode\":\"%04o\"}\n",
			  a->old_flags, a->old_mode & 07777, a->new_flags, a->new_mode & 07777);
	}
	r = fwrite(b.buf, 1, b.len, fp) == b.len ? 0 : -EIO;
	if (fclose(fp) != 0)
		r = -errno;
	dbuf_release(&b);
	dbuf_release(&src);
	if (r < 0) {
		cli_msg(&c->cli, fa->plan_out, "cannot write the plan", strerror(-r));
		return CLI_EXIT_TROUBLE;
	}
	cli_say(&c->cli, "plan: %zu actions written to %s", c->repair->nactions, fa->plan_out);
	return CLI_EXIT_OK;
}

int fix_from_plan(struct ctx *c, const struct fix_args *fa)
{
	struct va_error err = VA_ERROR_INIT;
	struct va_jroots_error e;

	const struct resume_run *rr = fa->opts ? fa->opts->resume : NULL;

	if (va_plan_read_digest(c->repair, fa->plan_in, fa->img, fa->roots[0], c->plan_sha256,
				&err) < 0) {
		cli_error(&c->cli, &err);
		va_error_release(&err);
		return CLI_EXIT_TROUBLE;
	}
	/* the rest of a resumed run: the plan the run applied, byte for byte */
	if (rr && rr->plan_sha256 && memcmp(rr->plan_sha256, c->plan_sha256, sizeof(c->plan_sha256))) {
		cli_msg(&c->cli, fa->plan_in, "refused, the rest of the run not done",
			"the plan changed since the journal's run began (its SHA-256 differs)");
		return CLI_EXIT_TROUBLE;
	}
	/* untrusted input: an image plan's paths lead, below the prefix, to its
	 * inodes (a live one changes only what the walk of ROOT meets) */
	if (fa->img && va_image_check_actions(fa->img, fa->roots[0], c->repair->actions,
					      c->repair->nactions, &e) < 0)
		return refuse(&c->cli, fa->plan_in, "line", &e);
	return 0;
}

int fix_plan_roots(struct cli *c, const char *file, struct dbuf *src, const char ***ret_roots,
		   size_t *ret_n)
{
	struct va_error err = VA_ERROR_INIT;
	const char **roots = NULL;
	size_t n = 0;

	if (va_plan_source(file, src, &err) < 0) {
		cli_error(c, &err);
		va_error_release(&err);
		return CLI_EXIT_TROUBLE;
	}
	for (char *p = src->buf; p && *p;) {
		char *nl = strchr(p, '\n');
		const char **nr = realloc(roots, (n + 1) * sizeof(*roots));

		if (!nr) {
			free(roots);
			cli_say(c, "%s", strerror(ENOMEM));
			return CLI_EXIT_TROUBLE;
		}
		roots = nr;
		roots[n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	*ret_roots = roots;
	*ret_n = n;
	return 0;
}

/* ------------------------------------------------------------------ --fix */

/*
 * What the run of @fa was asked to do, for its journal's header (the
 * strings point into @o, @fa and @plan_real).  Return: 0 or the exit status.
 */
static int make_request(struct ctx *c, const struct fix_args *fa, struct va_request *rq,
			char **plan_real, char **config_real)
{
	const struct vaudit_opts *o = fa->opts;

	*rq = (struct va_request){ .barrier_mode = c->ropts.barrier_mode, .force = c->ropts.force };
	if (fa->plan_in) {
		if (!(*plan_real = realpath(fa->plan_in, NULL))) {
			cli_msg(&c->cli, fa->plan_in, "cannot resolve the plan", strerror(errno));
			return CLI_EXIT_TROUBLE;
		}
		rq->plan = true;
		rq->plan_file = *plan_real;
		memcpy(rq->plan_sha256, c->plan_sha256, sizeof(rq->plan_sha256));
	} else {
		rq->kinds = fa->kinds;
	}
	if (fa->img)
		rq->prefix = (char *)fa->roots[0];
	rq->tag_scheme = o->tag_scheme;
	rq->device_read = o->live_flags & VA_LIVE_DEVICE_READ;
	rq->cross_mounts = o->audit_flags & VA_AUDIT_CROSS_MOUNTS;
	if (o->image || o->no_config) {
		rq->config = VA_REQ_CONFIG_NONE;
	} else if (o->host_root) {
		rq->config = VA_REQ_CONFIG_HOST_ROOT;
		rq->config_path = (char *)o->host_root;
	} else if (o->config_dir) {
		if (!(*config_real = realpath(o->config_dir, NULL))) {
			cli_msg(&c->cli, o->config_dir, "cannot resolve the configuration directory",
				strerror(errno));
			return CLI_EXIT_TROUBLE;
		}
		rq->config = VA_REQ_CONFIG_DIR;
		rq->config_path = *config_real;
	}
	return 0;
}

/*
 * The end of a resumed run @rr: "N completed from the journal, M more
 * tried (the rest of the run)", then the totals of both parts (the rest's
 * counts are @counts).  Return: the exit status.
 */
static int resume_summary(struct cli *c, const struct resume_run *rr, const unsigned counts[4],
			  size_t nrest, bool dry_run, int r)
{
	unsigned total[4];
	const unsigned *jc = rr->counts;

	for (int i = 0; i < 4; i++)
		total[i] = jc[i] + counts[i];
	cli_say(c, "%u %s from the journal, %zu more %s (the rest of the run)",
		jc[VA_EV_DONE] + jc[VA_EV_PLANNED], dry_run ? "would be completed" : "completed",
		nrest, dry_run ? "would be tried" : "tried");
	return exit_for(c, total, r);
}

int fix_after_audit(struct ctx *c, struct va_backend *be, const struct fix_args *fa,
		    const struct va_audit_stats *stats)
{
	struct va_repair_hooks h = { .event = action_event, .user = c };
	struct resume_run *rr = fa->opts ? fa->opts->resume : NULL;
	struct va_journal *j = NULL;
	struct dbuf jfile = DBUF_INIT;
	int r;

	if (c->repair_error) {
		cli_say(&c->cli, "%s", strerror(c->repair_error));
		return CLI_EXIT_TROUBLE;
	}
	if (stats->errors && !c->ropts.force) {
		if (rr) {
			/* the journal's own changes were finished: say so */
			cli_say(&c->cli, "the audit met errors (above): the rest of the run was not done");
			return resume_summary(&c->cli, rr, c->repair->counts, 0, c->ropts.dry_run, -EIO);
		}
		cli_say(&c->cli, "the audit met errors (above): nothing changed; "
			"--force repairs what it found anyway");
		return CLI_EXIT_TROUBLE;
	}
	if (fa->plan_out)
		return write_plan(c, be, fa);
	if (rr) {
		/* what the journal holds was finished (or, in a dry run, shown) first */
		if (va_repair_drop_journaled(c->repair, rr->j) < 0) {
			cli_say(&c->cli, "%s", strerror(ENOMEM));
			return CLI_EXIT_TROUBLE;
		}
		j = c->ropts.dry_run ? NULL : rr->j;
		r = 0;
		if (c->repair->nactions)
			r = va_repair_apply(c->repair, be, fa->img ? NULL : fa->roots,
					    fa->img ? 0 : fa->nroots, j, &c->ropts, &h);
		if (j)
			journal_failed(&c->cli, rr->file, j);
		return resume_summary(&c->cli, rr, c->repair->counts, c->repair->nactions,
				      c->ropts.dry_run, r);
	}
	if (!c->repair->nactions) {
		c->repaired = true;
		cli_say(&c->cli, "nothing to repair");
		return CLI_EXIT_OK;
	}
	if (!c->ropts.dry_run) {
		struct va_error err = VA_ERROR_INIT;
		struct va_request rq;
		char *plan_real = NULL, *config_real = NULL;

		r = make_request(c, fa, &rq, &plan_real, &config_real);
		if (r == 0)
			r = va_fix_journal_create_request(&j, fa->journal, fa->image, fa->img, fa->roots,
							  fa->nroots, &rq, &jfile, &err);
		free(plan_real);
		free(config_real);
		if (r > 0) {
			dbuf_release(&jfile);
			return r;
		}
		if (r < 0) {
			cli_error(&c->cli, &err);
			va_error_release(&err);
			dbuf_release(&jfile);
			return CLI_EXIT_TROUBLE;
		}
		cli_say(&c->cli, "journal: %s", jfile.buf);
	}
	r = va_repair_apply(c->repair, be, fa->img ? NULL : fa->roots, fa->img ? 0 : fa->nroots, j,
			    &c->ropts, &h);
	if (j)
		journal_failed(&c->cli, jfile.buf, j);
	va_journal_free(j);
	dbuf_release(&jfile);
	return exit_for(&c->cli, c->repair->counts, r);
}

/* ------------------------------------------------------------------ unify journals */

struct unify_replay {
	struct cli *cli;
	bool json;
	bool undo;
	unsigned counts[4];     /* by enum va_repair_event, as exit_for() wants them */
};

/* A vunify or vhashify journal's step as a "record":"action" line. */
static void unify_record(struct unify_replay *u, const struct va_uevent *ev)
{
	struct dbuf b = DBUF_INIT;
	const char *event = ev->type != VA_UEV_SKIP ? (ev->dry_run ? "would" : "done") :
			    ev->skip == VA_USKIP_ERROR ? "failed" : "skipped";

	cli_json_head(&b, u->cli, "action");
	dbuf_addf(&b, ",\"event\":\"%s\",\"step\":\"%s\"", event, u->undo ? "undo" : "resume");
	va_json_field(&b, "path", ev->path, ev->path_len);
	va_json_field(&b, "detail", ev->detail, ev->detail ? strlen(ev->detail) : 0);
	if (ev->type == VA_UEV_PROTECT)
		dbuf_addf(&b, ",\"flags\":\"0x%08x\",\"new_flags\":\"0x%08x\"", ev->old_flags,
			  ev->new_flags);
	if (ev->type == VA_UEV_SKIP) {
		const char *t = va_uskip_text(ev->skip);

		va_json_field(&b, "reason", t, strlen(t));
	}
	va_json_field(&b, "error", ev->err ? strerror(ev->err) : NULL,
		      ev->err ? strlen(strerror(ev->err)) : 0);
	dbuf_adds(&b, "}\n");
	cli_write(u->cli, b.buf, b.len);
	dbuf_release(&b);
}

static void on_unify_event(const struct va_uevent *ev, const struct va_ustats *st, void *user)
{
	struct unify_replay *u = user;
	struct dbuf b = DBUF_INIT;
	const char *what = ev->detail;

	(void)st;
	if (ev->type == VA_UEV_GUEST || !ev->path)
		return;
	if (u->json)
		unify_record(u, ev);
	if (ev->type == VA_UEV_SKIP) {
		/* what was not undone (or failed), on stderr */
		u->counts[ev->skip == VA_USKIP_ERROR ? VA_EV_FAILED : VA_EV_SKIPPED]++;
		va_quote(&b, ev->path, ev->path_len);
		cli_say(u->cli, "%s: %s %s: %s%s%s%s%s", dbuf_str(&b),
			ev->dry_run ? "would not be" : "not", u->undo ? "undone" : "finished",
			va_uskip_text(ev->skip), ev->detail ? ": " : "", ev->detail ? ev->detail : "",
			ev->err ? ": " : "", ev->err ? strerror(ev->err) : "");
		dbuf_release(&b);
		return;
	}
	u->counts[ev->dry_run ? VA_EV_PLANNED : VA_EV_DONE]++;
	if (u->json)
		return;
	/* the engine's words say "would" in a dry run; the generic ones do not */
	dbuf_addf(&b, "%s%s ", ev->dry_run && !what ? "would " : "", u->undo ? "undo" : "resume");
	va_escape_shell(&b, ev->path, ev->path_len);
	if (!what) {
		switch (ev->type) {
		case VA_UEV_LINK:    what = "linked"; break;
		case VA_UEV_STORE:   what = "store entry"; break;
		case VA_UEV_REVERT:  what = "private copy"; break;
		case VA_UEV_ALREADY: what = "already done"; break;
		case VA_UEV_PROTECT: what = "flags"; break;
		default:             what = "done"; break;
		}
	}
	dbuf_addf(&b, ": %s", what);
	if (ev->type == VA_UEV_PROTECT)
		dbuf_addf(&b, " 0x%08x -> 0x%08x", ev->old_flags, ev->new_flags);
	dbuf_addc(&b, '\n');
	fwrite(b.buf, 1, b.len, stdout);
	dbuf_release(&b);
}

/*
 * Is the filesystem of the first root journal @j names (a unify run's
 * trees come before its stores) the one it was written for, where both
 * UUIDs are known?  Return: 0 or the exit status.
 */
static int same_filesystem(struct cli *c, const char *file, const struct va_journal *j)
{
	char uuid[VA_UUID_TEXT], *first = NULL;

	if (j->source) {
		first = strndup(j->source, strcspn(j->source, "\n"));
		if (!first) {
			cli_say(c, "%s", strerror(ENOMEM));
			return CLI_EXIT_TROUBLE;
		}
	}
	va_image_uuid(NULL, first, uuid);
	free(first);
	if (strcmp(j->uuid, "unknown") && strcmp(uuid, "unknown") && strcmp(j->uuid, uuid)) {
		cli_msg(c, file, "the journal belongs to another filesystem (UUID differs)", NULL);
		return CLI_EXIT_TROUBLE;
	}
	return 0;
}

/*
 * --undo / --resume of a vunify or vhashify journal: live, by the paths it
 * names.  @prior: the counts of what was replayed before (a vcopy
 * journal's entries made), or NULL.
 */
static int replay_unify(struct cli *c, const char *file, struct va_journal *j,
			const struct va_jroots *jr, bool undo, bool dry_run, unsigned live_flags,
			const unsigned prior[4])
{
	struct unify_replay u = { .cli = c, .undo = undo, .json = ctx_of(c)->json };
	struct va_uhooks h = { .event = on_unify_event, .user = &u };
	struct va_uopts o = { 0 };
	struct va_ustats st = { 0 };
	struct va_backend *be = NULL;
	int r;

	if (prior)
		memcpy(u.counts, prior, sizeof(u.counts));
	if ((r = same_filesystem(c, file, j)))
		return r;
	r = va_backend_live_new(&be, live_flags);
	if (r < 0) {
		cli_say(c, "%s", strerror(-r));
		return CLI_EXIT_TROUBLE;
	}
	o.dry_run = dry_run;
	/* the flags to restore come from the journal's 'I' records */
	o.protect = VA_PROTECT_NONE;
	o.be = be;
	o.j = j;
	o.h = &h;
	o.roots = jr;
	r = va_unify_replay(j, undo ? VA_REPLAY_UNDO : VA_REPLAY_RESUME, &o, &st);
	va_backend_free(be);
	if (st.failed > u.counts[VA_EV_FAILED])
		u.counts[VA_EV_FAILED] = (unsigned)st.failed;
	if (r < 0 && !journal_failed(c, file, j))
		cli_msg(c, file, undo ? "the undo stopped" : "the resume stopped", strerror(-r));
	return exit_for(c, u.counts, r);
}

/* ------------------------------------------------------------------ --undo, --resume */

/*
 * A live or unify journal is untrusted input: the roots of its header must
 * be directories the user trusts now (@trusted), and every path of its
 * records must lie beneath them.  Opens @jr.  Return: 0 or the exit status.
 */
static int check_live_journal(struct cli *c, const char *file, const struct va_journal *j,
			      struct va_jroots *jr, const struct va_jroot_id *trusted, size_t ntrusted)
{
	struct va_jroots_error e;
	int r;

	r = va_jroots_open(jr, j->source, j->source_len, &e);
	if (r == 0)
		r = va_jroots_accepted(jr, trusted, ntrusted, &e);
	if (r == 0)
		r = va_jroots_check_journal(j, jr, &e);
	if (r == -ENOMEM) {
		cli_say(c, "%s", strerror(ENOMEM));
		return CLI_EXIT_TROUBLE;
	}
	return r < 0 ? refuse(c, file, "record", &e) : 0;
}

/* Add the identity of directory @path (followed as given) to @ids. */
static int trust_dir(struct va_jroot_id **ids, size_t *n, const char *path)
{
	struct stat st;
	struct va_jroot_id *nids;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return -(errno ? errno : ENOTDIR);
	nids = realloc(*ids, (*n + 1) * sizeof(**ids));
	if (!nids)
		return -ENOMEM;
	*ids = nids;
	nids[(*n)++] = (struct va_jroot_id){ .dev = st.st_dev, .ino = st.st_ino };
	return 0;
}

/* The configuration's guest roots, hash stores and the guests' parents, to @ids. */
static void trust_config(const struct va_config *cfg, struct va_jroot_id **ids, size_t *n)
{
	char **parents = NULL;
	long np;

	for (size_t g = 0; g < cfg->nguests; g++)
		if (cfg->guests[g].vdir)
			(void)trust_dir(ids, n, cfg->guests[g].vdir);
	for (size_t h = 0; h < cfg->nhashdirs; h++) {
		(void)trust_dir(ids, n, cfg->hashdirs[h].path);
		for (size_t k = 0; k < cfg->hashdirs[h].nentries; k++)
			if (cfg->hashdirs[h].entries[k].path)
				(void)trust_dir(ids, n, cfg->hashdirs[h].entries[k].path);
	}
	np = va_config_roots(cfg, &parents);
	for (long i = 0; i < np; i++) {
		(void)trust_dir(ids, n, parents[i]);
		free(parents[i]);
	}
	free(parents);
}

/*
 * The directories a live or unify journal may touch: the ROOTs named,
 * else what an audit without ROOT would walk now: the configuration's
 * guest roots, their parents and hash stores, else DEFAULT_ROOT.  A
 * legacy conversion's journal (@convert) may touch only the configuration
 * directory.  Return: 0 or the exit status.
 */
static int trusted_dirs(struct cli *c, const struct vaudit_opts *o, bool convert,
			struct va_jroot_id **ids, size_t *n)
{
	struct va_config *cfg = NULL;
	int r;

	if (convert) {
		if (o->nroots) {
			cli_msg(c, o->replay, "the journal is of a legacy conversion",
				"it names a configuration directory, not ROOTs (--host-root or "
				"--config say which)");
			return CLI_EXIT_TROUBLE;
		}
		if ((r = load_config(c, o, &cfg)))
			return r;
		if (!cfg) {
			cli_msg(c, o->replay, "the journal is of a legacy conversion",
				"it needs the configuration directory it changed");
			return CLI_EXIT_TROUBLE;
		}
		r = trust_dir(ids, n, cfg->cfgdir);
		va_config_free(cfg);
		if (r < 0) {
			cli_say(c, "%s", strerror(-r));
			return CLI_EXIT_TROUBLE;
		}
		return 0;
	}
	for (size_t i = 0; i < o->nroots; i++)
		if ((r = trust_dir(ids, n, o->roots[i])) < 0) {
			cli_msg(c, o->roots[i], "ROOT", strerror(-r));
			return CLI_EXIT_TROUBLE;
		}
	if ((r = load_config(c, o, &cfg)))
		return r;
	if (cfg)
		trust_config(cfg, ids, n);
	else if (!o->image && !o->nroots)
		(void)trust_dir(ids, n, DEFAULT_ROOT);
	va_config_free(cfg);
	return 0;
}

/*
 * The rest of the run of resumed journal s->j, after its own changes
 * (@counts): the request its header records, through run_audit() (an
 * audit with the same options, or the same plan), leaving out the inodes
 * the journal names and appending to the journal.  Closes @s.
 * Return: the exit status.
 */
static int resume_rest(struct cli *c, const struct vaudit_opts *o, struct va_replay_setup *s,
		       const unsigned counts[4])
{
	const struct va_request *rq = &s->request;
	struct resume_run rr = { .file = o->replay };
	struct vaudit_opts ro = {
		.mode = MODE_FIX, .fmt = o->fmt, .progress = o->progress, .quiet = o->quiet,
		.given = UINT64_C(1) << O_FIX, .only = VA_AUDIT_ALL_KINDS,
		.image = o->image, .prefix = rq->prefix, .tag_scheme = rq->tag_scheme,
		.live_flags = (o->live_flags & ~(unsigned)VA_LIVE_DEVICE_READ) |
			      (rq->device_read ? VA_LIVE_DEVICE_READ : 0),
		.audit_flags = (rq->cross_mounts ? VA_AUDIT_CROSS_MOUNTS : 0) |
			       (rq->device_read ? VA_AUDIT_TABLES : 0),
		.no_config = rq->config == VA_REQ_CONFIG_NONE,
		.config_dir = rq->config == VA_REQ_CONFIG_DIR ? rq->config_path : NULL,
		.host_root = rq->config == VA_REQ_CONFIG_HOST_ROOT ? rq->config_path : NULL,
		.dry_run = o->dry_run, .force = rq->force, .barrier_mode = rq->barrier_mode,
		.resume = &rr,
	};
	char **roots = s->roots;
	struct va_request keep = *rq;
	int r;

	memcpy(rr.counts, counts, sizeof(rr.counts));
	if (rq->plan) {
		ro.given |= UINT64_C(1) << O_PLAN;
		ro.plan = o->plan ? o->plan : rq->plan_file;
		rr.plan_sha256 = keep.plan_sha256;
	} else {
		ro.given |= UINT64_C(1) << O_ONLY;
		ro.only = rq->kinds;
	}
	if (!s->img) {
		ro.roots = (const char *const *)roots;
		ro.nroots = s->nroots;
	}
	/* the journal, its ROOTs (in j->source) and the request outlive @s;
	 * the image is closed, for run_audit() to open it again */
	rr.j = s->j;
	s->j = NULL;
	s->roots = NULL;
	memset(&s->request, 0, sizeof(s->request));
	ro.prefix = keep.prefix;
	ro.config_dir = keep.config == VA_REQ_CONFIG_DIR ? keep.config_path : NULL;
	ro.host_root = keep.config == VA_REQ_CONFIG_HOST_ROOT ? keep.config_path : NULL;
	if (va_replay_close(s)) {
		cli_msg(c, o->image, "closing the image failed", NULL);
		r = CLI_EXIT_TROUBLE;
	} else {
		r = run_audit(&ro);
	}
	va_journal_free(rr.j);
	free(roots);
	va_request_release(&keep);
	return r;
}

/*
 * A clone's or vcopy's journal @s: only undone (a run of @what cut short
 * is undone, then run again), its records checked, and on the filesystem
 * it was made on.  Return: 0, or the exit status.
 */
static int clone_journal_ok(struct cli *c, const struct vaudit_opts *o, struct va_replay_setup *s,
			    const char *what, const char *hint)
{
	struct va_jroots_error e;

	if (o->mode != MODE_UNDO) {
		cli_msg(c, o->replay, what, hint);
		return CLI_EXIT_TROUBLE;
	}
	if (va_clone_check_journal(s->j, &e) < 0)
		return refuse(c, o->replay, "record", &e);
	return same_filesystem(c, o->replay, s->j);
}

/* Replay the opened journal @s (its roots checked) through the engine it belongs to. */
static int replay(struct cli *c, const struct vaudit_opts *o, struct va_replay_setup *s,
		  struct va_jroots *jr)
{
	bool undo = o->mode == MODE_UNDO;
	struct va_repair_hooks h = { .event = action_event, .user = ctx_of(c) };
	struct va_repair_opts ro = { .dry_run = o->dry_run };
	unsigned counts[4] = { 0 };
	int r;

	if (s->unify)
		return replay_unify(c, o->replay, s->j, jr, undo, o->dry_run, o->live_flags, NULL);
	if (s->vcopy) {
		if ((r = clone_journal_ok(c, o, s, "the journal is of a vcopy run",
					  "a vcopy cut short is not resumed: undo it (--undo), then run vcopy again")))
			return r;
		/* newest first: the entries made, then the links */
		r = replay_clone(s->j, jr, o->dry_run, o->live_flags, counts, ctx_of(c)->json ? c : NULL);
		if (r < 0) {
			if (!journal_failed(c, o->replay, s->j))
				cli_msg(c, o->replay, "the undo stopped", strerror(-r));
			return exit_for(c, counts, r);
		}
		return replay_unify(c, o->replay, s->j, jr, true, o->dry_run, o->live_flags, counts);
	}
	if (s->clone) {
		if ((r = clone_journal_ok(c, o, s, "the journal is of a clone",
					  "a clone cut short is not resumed: undo it (--undo), then clone again")))
			return r;
		r = replay_clone(s->j, jr, o->dry_run, o->live_flags, counts, ctx_of(c)->json ? c : NULL);
		journal_failed(c, o->replay, s->j);
		return exit_for(c, counts, r);
	}
	if (s->convert) {
		struct va_jroots_error e;

		if (va_convert_check_journal(s->j, &e) < 0)
			return refuse(c, o->replay, "record", &e);
		if ((r = same_filesystem(c, o->replay, s->j)))
			return r;
		r = replay_convert(s->j, jr, undo, o->dry_run, counts, ctx_of(c)->json ? c : NULL);
		journal_failed(c, o->replay, s->j);
		return exit_for(c, counts, r);
	}
	r = va_repair_replay(s->j, undo ? VA_REPLAY_UNDO : VA_REPLAY_RESUME, s->be,
			     s->img ? NULL : (const char *const *)s->roots, s->img ? 0 : s->nroots, &ro,
			     &h, counts);
	if (journal_failed(c, o->replay, s->j))
		r = r ? r : -EIO;
	if (!undo && s->has_request && r == 0)
		return resume_rest(c, o, s, counts);
	if (va_replay_close(s))
		r = r ? r : -EIO;
	if (!undo && r == 0)
		cli_msg(c, o->replay, "the journal does not record what its run was asked to do "
			"(a version 1 journal, or the console's)",
			"only its own changes were finished; the rest of that run is unknown");
	return exit_for(c, counts, r);
}

/* The change locks of the filesystems of the roots journal @j names.  Return: 0 or the exit status. */
static int lock_roots(struct cli *c, struct va_locks *l, const struct va_journal *j)
{
	char *src = j->source ? strndup(j->source, j->source_len) : NULL, *save = NULL;
	const char **paths = calloc(j->source_len + 1, sizeof(*paths));
	size_t n = 0;
	int r;

	if ((j->source && !src) || !paths) {
		free(src);
		free(paths);
		cli_say(c, "%s", strerror(ENOMEM));
		return CLI_EXIT_TROUBLE;
	}
	for (char *p = src ? strtok_r(src, "\n", &save) : NULL; p; p = strtok_r(NULL, "\n", &save))
		paths[n++] = p;
	r = cli_lock(c, l, NULL, paths, n);
	free(paths);
	free(src);
	return r;
}

/*
 * Before anything changes: may the rest of the run that journal @s
 * records be done?  An image's request must audit below --prefix (default
 * "/"), a live one names no prefix; a plan must still have the digest the
 * journal records (--plan FILE names it when it moved).  Return: 0 or the
 * exit status.
 */
static int check_request(struct cli *c, const struct vaudit_opts *o, const struct va_replay_setup *s)
{
	const struct va_request *rq = &s->request;
	unsigned char sha[VA_REQUEST_SHA256_LEN];
	struct va_error err = VA_ERROR_INIT;
	const char *plan;

	if (!s->has_request) {
		if (o->plan) {
			cli_msg(c, o->replay, "--plan: the journal does not record that its run applied a plan", NULL);
			return CLI_EXIT_TROUBLE;
		}
		return 0;
	}
	if (s->img) {
		const char *top = o->prefix ? o->prefix : "/";
		size_t n = strlen(top);

		while (n > 1 && top[n - 1] == '/')
			n--;
		if (!rq->prefix ||
		    (n > 1 && (strncmp(rq->prefix, top, n) || (rq->prefix[n] && rq->prefix[n] != '/')))) {
			cli_msg(c, o->replay, "refused, nothing changed",
				"its header's request audits outside --prefix");
			return CLI_EXIT_TROUBLE;
		}
	} else if (rq->prefix) {
		cli_msg(c, o->replay, "refused, nothing changed",
			"its header's request names a prefix for a live tree");
		return CLI_EXIT_TROUBLE;
	}
	if (!rq->plan) {
		if (o->plan) {
			cli_msg(c, o->replay, "--plan: the journal's run applied no plan (a plain --fix)", NULL);
			return CLI_EXIT_TROUBLE;
		}
		return 0;
	}
	plan = o->plan ? o->plan : rq->plan_file;
	if (va_plan_digest(plan, sha, &err) < 0) {
		cli_error(c, &err);
		va_error_release(&err);
		return CLI_EXIT_TROUBLE;
	}
	if (memcmp(sha, rq->plan_sha256, sizeof(sha))) {
		cli_msg(c, plan, "refused, nothing changed",
			"not the plan the journal's run applied (its SHA-256 differs)");
		return CLI_EXIT_TROUBLE;
	}
	return 0;
}

int run_replay(const struct vaudit_opts *o)
{
	const char *file = o->replay;
	struct va_error err = VA_ERROR_INIT;
	struct va_replay_setup s;
	struct va_jroots jr = { 0 };
	struct va_jroots_error e;
	struct va_jroot_id *ids = NULL;
	struct va_locks locks = VA_LOCKS_INIT(o->mode == MODE_UNDO ? "vaudit --undo" : "vaudit --resume");
	size_t nids = 0;
	struct ctx x = { .json = o->fmt == VA_FMT_JSON };
	struct cli *c = &x.cli;
	int r;

	cli_init(c, PROG);
	c->quiet = o->quiet;
	if (o->image && !o->dry_run && (r = cli_lock(c, &locks, o->image, NULL, 0)))
		return r;
	r = va_replay_open(&s, file, o->image, o->dry_run, o->live_flags, NULL, &err);
	if (s.j && s.j->dropped_tail)
		cli_msg(c, file, "its last line is torn (a crash while writing it): ignored",
			NULL);
	if (r < 0) {
		cli_error(c, &err);
		va_error_release(&err);
		r = CLI_EXIT_TROUBLE;
	} else if (s.img) {
		/* the whole journal is checked before anything changes */
		r = va_image_check_journal(s.img, o->prefix ? o->prefix : "/", s.j, &e) < 0 ?
		    refuse(c, file, "record", &e) : 0;
	} else if (!(r = trusted_dirs(c, o, s.convert, &ids, &nids))) {
		r = check_live_journal(c, file, s.j, &jr, ids, nids);
		if (r == 0 && !o->dry_run)
			r = lock_roots(c, &locks, s.j);
	}
	free(ids);
	if (r == 0 && o->mode == MODE_RESUME && !s.unify && !s.convert && !s.clone && !s.vcopy)
		r = check_request(c, o, &s);
	else if (r == 0 && o->plan) {
		cli_msg(c, file, "--plan goes only with the --resume of a repair's journal", NULL);
		r = CLI_EXIT_TROUBLE;
	}
	if (r == 0)
		r = replay(c, o, &s, &jr);
	/* the rest of a resumed run wrote its own (run_audit()) */
	if (x.json && x.repaired)
		summary_record(&x, o, o->roots, o->nroots, o->image != NULL, r);
	va_jroots_close(&jr);
	va_replay_close(&s);
	va_locks_release(&locks);       /* after the image's last write */
	return r;
}
