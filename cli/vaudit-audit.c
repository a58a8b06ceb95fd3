/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit-audit.c - the modes of vaudit that audit first: the audit itself,
 * --attrs, --fix and --plan (the repair part is vaudit-fix.c) and the
 * console.  Sets up the configuration, the ROOTs and the back end, prints
 * findings, progress and the summary, and decides the exit status.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/run.h"
#include "cli/vaudit.h"
#include "core/attr.h"
#include "core/escape.h"
#include "core/flags.h"
#include "core/image.h"
#include "core/lock.h"
#include "core/message.h"
#include "core/vsconfig.h"
#include "tui/tui.h"

/* ------------------------------------------------------------------ hooks */

static void on_error(const char *path, size_t len, const char *op, int err, void *user)
{
	struct ctx *c = user;

	/* errno values and libext2fs codes alike; on stderr always, a record too */
	cli_msgn(&c->cli, path, len, op, err ? va_image_strerror(err) : NULL);
	if (c->json)
		cli_json_error(&c->cli, path, len, op, err ? va_image_strerror(err) : NULL, err);
}

static void on_notice(const char *msg, void *user)
{
	struct ctx *c = user;

	cli_notice(&c->cli, "%s", msg);
}

static int on_finding(const struct va_finding *f, void *user)
{
	struct ctx *c = user;
	int r;

	if (f->severity < VA_SEV_COUNT)
		c->by_sev[f->severity]++;
	if (c->mon && (r = monitor_add(c->mon, f)) < 0)
		return r;
	if (c->no_findings_out)
		return 0;
	if (c->repair) {
		r = va_repair_add(c->repair, f, &c->ropts);
		if (r < 0)
			c->repair_error = -r;
		return r;
	}
	cli_clear_progress(&c->cli);
	r = va_writer_write(c->writer, f);
	if (r < 0) {
		if (!c->cli.write_error)        /* the first one is the cause */
			c->cli.write_error = -r;
		return r;
	}
	return 0;
}

/* --attrs: "BUIc ----i-------t-e------- path", like showattr plus lsattr. */
static void on_root_attrs(const char *path, size_t len, const struct va_attrs *at, uint32_t mode,
			  void *user)
{
	struct ctx *c = user;
	char letters[VA_FLAGS_LETTERS_MAX], vs[5];
	struct dbuf b = DBUF_INIT;

	va_flags_letters_if(at->flags, at->known & VA_KNOWN_EXT2, letters);
	va_vsattr_letters(at->flags, at->known & VA_KNOWN_EXT2, at->known & VA_KNOWN_VS26, vs);
	if (c->json) {
		/* an attrs record: what the text line says, as data */
		cli_json_head(&b, &c->cli, "attrs");
		va_json_field(&b, "path", path, len);
		if (at->known & VA_KNOWN_EXT2)
			dbuf_addf(&b, ",\"flags\":\"0x%08x\"", at->flags);
		else
			dbuf_adds(&b, ",\"flags\":null");
		dbuf_addf(&b, ",\"vs26_known\":%s,\"vsattr\":\"%s\",\"lsattr\":\"%s\",\"mode\":\"%04o\"}\n",
			  (at->known & VA_KNOWN_VS26) ? "true" : "false", vs, letters, mode & 07777);
		cli_write(&c->cli, b.buf, b.len);
		dbuf_release(&b);
		return;
	}
	dbuf_addf(&b, "%s %s ", vs, letters);
	va_escape_shell(&b, path, len);
	dbuf_addc(&b, '\n');
	cli_write(&c->cli, b.buf, b.len);
	dbuf_release(&b);
}

static void on_progress(const struct va_audit_stats *s, void *user)
{
	struct ctx *c = user;
	struct dbuf g = DBUF_INIT;
	char pct[16] = "";
	uint64_t total;
	double t;

	if (!cli_progress_due(&c->cli, 0.2))
		return;
	t = cli_elapsed(&c->cli);
	if (s->guest)
		va_escape_shell(&g, s->guest, s->guest_len);
	/* an image: its inodes in use; live: what the inode tables counted */
	total = c->progress_total ? c->progress_total : s->entries_expected;
	if (total && s->entries <= total)
		snprintf(pct, sizeof(pct), " (%s%.0f%%)", c->progress_total ? "" : "~",
			 100.0 * (double)s->entries / (double)total);
	cli_progress(&c->cli, "%llu entr%s%s, %.0f/s, %llu finding%s, %.1fs%s%.40s",
		     (unsigned long long)s->entries, s->entries == 1 ? "y" : "ies", pct,
		     t > 0 ? (double)s->entries / t : 0.0, (unsigned long long)s->findings,
		     s->findings == 1 ? "" : "s", t, s->guest ? ", guest " : "", dbuf_str(&g));
	dbuf_release(&g);
}

/*
 * A filesystem's inode tables are read: say so on the progress line.  For
 * tests only, VAUDIT_TEST_AFTER_TABLES is a shell command run then, before
 * the walk reads anything live (it changes an inode under the audit).
 */
static void on_tables_read(const struct va_audit_stats *s, void *user)
{
	struct ctx *c = user;
	const char *cmd = getenv("VAUDIT_TEST_AFTER_TABLES");

	if (cli_progress_due(&c->cli, 0.2))
		cli_progress(&c->cli, "inode tables of %u filesystem%s read: %llu inodes", s->tables,
			     s->tables == 1 ? "" : "s", (unsigned long long)s->table_inodes);
	if (cmd && *cmd && system(cmd) != 0)
		cli_say(&c->cli, "VAUDIT_TEST_AFTER_TABLES failed: %s", cmd);
}

/* ------------------------------------------------------------------ set-up */

/* What a run holds, released by release_run(). */
struct run {
	struct va_config *cfg;
	char **cfg_roots;               /* NULL-terminated */
	const char **plan_roots;
	struct dbuf plan_src;
	const char *image_root[1];
	const char **running_vdirs;
	struct va_repair repair;
	struct va_image *img;
	struct va_backend *be;
	struct va_locks locks;          /* --fix: the filesystems or the image changed */
};

/*
 * The ROOTs of the run into @args: in the image, its prefix; the operands;
 * for --fix --plan FILE alone, the ROOTs the plan was made of; the
 * configuration's (the parents of its guests' vdirs); else DEFAULT_ROOT.
 * Return: 0 or the exit status.
 */
static int pick_roots(struct ctx *c, const struct vaudit_opts *o, struct run *run,
		      struct va_audit_args *args)
{
	static const char *const default_roots[] = { DEFAULT_ROOT };
	long n;

	if (o->image && !(o->mode == MODE_ATTRS && o->nroots)) {
		run->image_root[0] = o->prefix ? o->prefix : "/";
		args->roots = run->image_root;
		args->nroots = 1;
	} else if (o->nroots) {
		args->roots = o->roots;
		args->nroots = o->nroots;
	} else if (o->mode == MODE_FIX && o->plan && !o->config_dir && !o->host_root) {
		int r = fix_plan_roots(&c->cli, o->plan, &run->plan_src, &run->plan_roots,
				       &args->nroots);

		args->roots = run->plan_roots;
		return r;
	} else if (run->cfg) {
		n = va_config_roots(run->cfg, &run->cfg_roots);
		if (n < 0) {
			cli_say(&c->cli, "%s", strerror((int)-n));
			return CLI_EXIT_TROUBLE;
		}
		if (n == 0 && !o->quiet)
			cli_msg(&c->cli, run->cfg->cfgdir,
				"no guest has a vdir that resolves: only the configuration is checked", NULL);
		args->roots = (const char *const *)run->cfg_roots;
		args->nroots = (size_t)n;
	} else {
		struct stat st;

		/* nothing named, nothing configured: say so rather than fail a statx */
		if (!o->no_config && lstat(DEFAULT_ROOT, &st) < 0 && errno == ENOENT) {
			cli_say(&c->cli, "no configuration (%s) and no %s on this host: name the ROOT to "
				"audit, or the host root of another disk with --host-root",
				VA_CONFIG_DIR, DEFAULT_ROOT);
			return CLI_EXIT_TROUBLE;
		}
		args->roots = default_roots;
		args->nroots = 1;
	}
	return 0;
}

int open_image_prefix(struct cli *cli, const char *image, unsigned flags, const char *prefix,
		      struct va_image **ret)
{
	struct va_error e = VA_ERROR_INIT;
	uint64_t ino;
	errcode_t err = va_image_open(image, flags, ret, &e);

	if (err) {
		*ret = NULL;
		cli_error(cli, &e);
		va_error_release(&e);
		return CLI_EXIT_TROUBLE;
	}
	err = va_image_lookup_dir(*ret, prefix, &ino);
	if (err) {
		struct dbuf what = DBUF_INIT;

		dbuf_adds(&what, "prefix ");
		va_quote(&what, prefix, strlen(prefix));
		cli_msg(cli, image, dbuf_str(&what), va_image_strerror(err));
		dbuf_release(&what);
		return CLI_EXIT_TROUBLE;
	}
	return 0;
}

/* Open the image (for writing when it gets repaired) and check the prefix.  Return: 0 or the exit status. */
static int open_image(struct ctx *c, const struct vaudit_opts *o, struct run *run, const char *prefix)
{
	uint64_t ino;
	int r = open_image_prefix(&c->cli, o->image,
				  o->mode == MODE_FIX && !o->dry_run ? VA_IMAGE_WRITE : 0, prefix, &run->img);

	if (r)
		return r;
	/* the whole filesystem as ROOT, while it holds the usual directory of guests */
	if (!o->prefix && o->mode != MODE_ATTRS && !(o->mode == MODE_FIX && o->plan) && !o->quiet &&
	    va_image_lookup_dir(run->img, "/" DEFAULT_ROOT_NAME, &ino) == 0)
		cli_msg(&c->cli, o->image, "audited from its root, whose directories are taken as guests",
			"it holds /" DEFAULT_ROOT_NAME ": --prefix /" DEFAULT_ROOT_NAME " audits the guests in it");
	/* the image audit visits every inode in use: the progress line shows a percentage */
	c->progress_total = va_image_inodes_used(run->img);
	/* the console shows it itself */
	if (run->img->needs_recovery && o->mode != MODE_INTERACTIVE && !o->quiet)
		cli_msg(&c->cli, o->image, "the journal needs recovery: recent changes may be missing", NULL);
	return 0;
}

/* The back end, live or of the image.  Return: 0 or the exit status. */
static int open_backend(struct ctx *c, const struct vaudit_opts *o, struct run *run,
			const char *prefix)
{
	int r;

	if (o->image) {
		if ((r = open_image(c, o, run, prefix)))
			return r;
		r = va_backend_image_new(&run->be, run->img);
	} else {
		r = va_backend_live_new(&run->be, o->live_flags);
	}
	if (r < 0) {
		cli_say(&c->cli, "%s", strerror(-r));
		return CLI_EXIT_TROUBLE;
	}
	if (o->mode == MODE_INTERACTIVE)
		return 0;
	run->be->notice = on_notice;
	run->be->notice_user = c;
	if (!run->img && run->be->vs26_errno)
		cli_notice(&c->cli, "the vserver iattr syscall is not available on this kernel (%s): "
			   "2.6 attributes (barrier, iunlink, cow) cannot be read live%s",
			   strerror(run->be->vs26_errno),
			   (o->live_flags & VA_LIVE_DEVICE_READ) ?
			   "; reading them from block devices instead" : "");
	return 0;
}

/* The repair refuses the guests the configuration says run.  Return: 0 or the exit status. */
static int note_running(struct ctx *c, struct run *run)
{
	const struct va_config *cfg = run->cfg;

	if (!cfg)
		return 0;
	run->running_vdirs = calloc(cfg->nguests + 1, sizeof(*run->running_vdirs));
	if (!run->running_vdirs) {
		cli_say(&c->cli, "%s", strerror(ENOMEM));
		return CLI_EXIT_TROUBLE;
	}
	for (size_t i = 0, n = 0; i < cfg->nguests; i++)
		if (cfg->guests[i].vdir && cfg->guests[i].running == VA_RUN_RUNNING)
			run->running_vdirs[n++] = cfg->guests[i].vdir;
	c->ropts.running_vdirs = run->running_vdirs;
	return 0;
}

/* --fix, --plan: what gets repaired (--only beyond the repairable kinds is said and dropped). */
static uint64_t repair_kinds(struct ctx *c, const struct vaudit_opts *o)
{
	bool only = o->given & (UINT64_C(1) << O_ONLY);
	uint64_t never = only ? o->only & ~(uint64_t)VA_REPAIR_KINDS : 0;

	for (int k = 0; k < VA_KIND_COUNT; k++)
		if (never & VA_KIND_BIT(k))
			cli_say(&c->cli, "kind %s is never repaired: ignored", va_kind_name(k));
	return only ? o->only & VA_REPAIR_KINDS : VA_REPAIR_DEFAULT_KINDS;
}

static void release_run(struct run *run)
{
	for (size_t i = 0; run->cfg_roots && run->cfg_roots[i]; i++)
		free(run->cfg_roots[i]);
	free(run->cfg_roots);
	free(run->plan_roots);
	dbuf_release(&run->plan_src);
	free(run->running_vdirs);
	va_config_free(run->cfg);
	va_repair_release(&run->repair);
	va_backend_free(run->be);
}

/* ------------------------------------------------------------------ --summary */

/* How the attributes were read, in words (the method line of the summary). */
static void say_method(struct dbuf *b, const struct va_audit_stats *st, bool image)
{
	if (image) {
		dbuf_adds(b, "the image's inode tables");
		return;
	}
	if (st->methods & VA_METHOD_TABLES)
		dbuf_addf(b, "the inode tables of %u filesystem%s (%llu inodes in use), "
			  "what is reported read again on the live inode", st->tables,
			  st->tables == 1 ? "" : "s", (unsigned long long)st->table_inodes);
	if (st->methods & VA_METHOD_WALK) {
		dbuf_adds(b, st->methods & VA_METHOD_TABLES ? "; elsewhere " : "");
		dbuf_addf(b, "every file and directory read through the walk (%s%s%s)",
			  st->walk_why ? st->walk_why : "?", st->walk_err ? ": " : "",
			  st->walk_err ? va_image_strerror(st->walk_err) : "");
	}
}

/* The back end's way of reading attributes, as one word. */
static const char *method_word(const struct va_audit_stats *st, bool image)
{
	return image || st->methods == VA_METHOD_TABLES ? "inode-tables" :
	       st->methods == VA_METHOD_WALK ? "walk" :
	       st->methods ? "inode-tables+walk" : "none";
}

/* --summary on stderr, as text (with --json too: the summary record is on stdout). */
static void say_summary(struct ctx *c, const struct va_audit_stats *st, bool image)
{
	struct dbuf m = DBUF_INIT;

	say_method(&m, st, image);
	cli_say(&c->cli, "%llu entr%s, %llu flag read%s, %llu finding%s, %llu error%s, %.2fs",
		(unsigned long long)st->entries, st->entries == 1 ? "y" : "ies",
		(unsigned long long)st->flag_reads, st->flag_reads == 1 ? "" : "s",
		(unsigned long long)st->findings, st->findings == 1 ? "" : "s",
		(unsigned long long)st->errors, st->errors == 1 ? "" : "s", cli_elapsed(&c->cli));
	cli_say(&c->cli, "attributes: %s", dbuf_str(&m));
	for (int k = 0; k < VA_KIND_COUNT; k++)
		if (st->by_kind[k])
			cli_say(&c->cli, "  %-29s %llu", va_kind_name(k),
				(unsigned long long)st->by_kind[k]);
	dbuf_release(&m);
}

static const char *mode_word(const struct vaudit_opts *o)
{
	switch (o->mode) {
	case MODE_FIX:    return o->resume ? "resume" : "fix";
	case MODE_PLAN:   return "plan";
	case MODE_UNDO:   return "undo";
	case MODE_RESUME: return "resume";
	default:          return "audit";
	}
}

void summary_record(struct ctx *c, const struct vaudit_opts *o, const char *const *roots,
		    size_t nroots, bool image, int status)
{
	static const char *const fail_on[] = { "warning", "error", "never" };
	const struct va_audit_stats *st = &c->stats;
	struct dbuf b = DBUF_INIT, m = DBUF_INIT;
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	cli_json_head(&b, &c->cli, "summary");
	dbuf_addf(&b, ",\"vaudit_version\":\"%s\",\"mode\":\"%s\"", PACKAGE_VERSION, mode_word(o));
	va_json_field(&b, "host", host, strlen(host));
	dbuf_addf(&b, ",\"backend\":\"%s\"", o->image ? "image" : "live");
	va_json_field(&b, "image", o->image, o->image ? strlen(o->image) : 0);
	cli_json_strings(&b, "roots", roots, roots ? nroots : 0);
	dbuf_addf(&b, ",\"dry_run\":%s,\"elapsed\":%.3f,\"audit\":", o->dry_run ? "true" : "false",
		  cli_elapsed(&c->cli));
	if (c->audited) {
		say_method(&m, st, image);
		dbuf_addf(&b, "{\"entries\":%llu,\"flag_reads\":%llu,\"findings\":%llu,"
			  "\"errors\":%llu,\"method\":\"%s\",\"tables\":%u,\"table_inodes\":%llu",
			  (unsigned long long)st->entries, (unsigned long long)st->flag_reads,
			  (unsigned long long)st->findings, (unsigned long long)st->errors,
			  method_word(st, image), image ? 1 : st->tables,
			  (unsigned long long)(image ? st->entries : st->table_inodes));
		va_json_field(&b, "walk_why", st->walk_why, st->walk_why ? strlen(st->walk_why) : 0);
		va_json_field(&b, "method_text", m.buf ? m.buf : "", m.len);
		dbuf_adds(&b, ",\"by_kind\":{");
		for (int k = 0, n = 0; k < VA_KIND_COUNT; k++)
			if (st->by_kind[k])
				dbuf_addf(&b, "%s\"%s\":%llu", n++ ? "," : "", va_kind_name(k),
					  (unsigned long long)st->by_kind[k]);
		dbuf_adds(&b, "},\"by_severity\":{");
		for (int v = 0; v < VA_SEV_COUNT; v++)
			dbuf_addf(&b, "%s\"%s\":%llu", v ? "," : "", va_severity_name(v),
				  (unsigned long long)c->by_sev[v]);
		dbuf_adds(&b, "}}");
	} else {
		dbuf_adds(&b, "null");
	}
	dbuf_adds(&b, ",\"repair\":");
	if (c->repaired)
		dbuf_addf(&b, "{\"done\":%u,\"skipped\":%u,\"failed\":%u,\"would_change\":%u,"
			  "\"changed\":%s}", c->rcounts[VA_EV_DONE], c->rcounts[VA_EV_SKIPPED],
			  c->rcounts[VA_EV_FAILED], c->rcounts[VA_EV_PLANNED],
			  c->rcounts[VA_EV_DONE] ? "true" : "false");
	else
		dbuf_adds(&b, "null");
	dbuf_addf(&b, ",\"partial\":%s,\"fail_on\":\"%s\",\"exit\":%d}\n",
		  c->audited && st->errors ? "true" : "false", fail_on[o->fail_on], status);
	cli_write(&c->cli, b.buf, b.len);
	cli_finish_output(&c->cli);
	dbuf_release(&m);
	dbuf_release(&b);
}

/* The exit status of an audit whose findings are counted in @c (--fail-on). */
static int audit_status(const struct ctx *c, const struct vaudit_opts *o)
{
	uint64_t failing = o->fail_on == FAIL_ON_NEVER ? 0 :
			   c->by_sev[VA_SEV_ERROR] +
			   (o->fail_on == FAIL_ON_WARNING ? c->by_sev[VA_SEV_WARNING] : 0);

	if (c->stats.errors)
		return CLI_EXIT_PARTIAL;
	return failing ? CLI_EXIT_FINDINGS : CLI_EXIT_OK;
}

/* ------------------------------------------------------------------ the modes */

/* The audit (or --attrs), its output and summary; the repair after it.  Return: the exit status. */
static int audit_and_report(struct ctx *c, const struct vaudit_opts *o, struct run *run,
			    struct va_audit_args *args, const struct fix_args *fa)
{
	struct va_audit_stats *stats = &c->stats;
	int r;

	args->hooks = (struct va_audit_hooks){ .finding = on_finding, .error = on_error,
					       .progress = on_progress, .tables_read = on_tables_read,
					       .user = c };
	if (fa->plan_in) {
		if ((r = fix_from_plan(c, fa)))
			return r;
	} else if (o->mode == MODE_ATTRS) {
		r = va_list_attrs(args, run->img, o->recursive ? VA_ATTRS_RECURSIVE : 0, on_root_attrs);
		if (r == -EIO)
			stats->errors++, r = 0;
	} else {
		struct va_error ie = VA_ERROR_INIT;

		r = va_audit_all(args, run->img, stats, &ie);
		c->audited = true;
		if (va_error_is_set(&ie)) {
			cli_error(&c->cli, &ie);
			if (c->json) {
				const char *why = ie.why ? ie.why : ie.code ? va_image_strerror(ie.code) : NULL;

				cli_json_error(&c->cli, ie.path.buf, ie.path.len, ie.what[0] ? ie.what : NULL,
					       why, ie.code);
			}
			va_error_release(&ie);
			stats->errors++;
			r = 0;
		}
	}
	if (cli_finish_output(&c->cli) == 0 && r < 0)
		cli_say(&c->cli, "%s", strerror(-r));
	if (o->summary && o->mode != MODE_ATTRS)
		say_summary(c, stats, run->img != NULL);
	if (c->repair && r == 0 && !c->cli.write_error)
		return fix_after_audit(c, run->be, fa, stats);
	if (r < 0 || c->cli.write_error)
		return CLI_EXIT_TROUBLE;
	/* --attrs: an unreadable PATH is an error, as it always was */
	if (o->mode == MODE_ATTRS)
		return stats->errors ? CLI_EXIT_TROUBLE : CLI_EXIT_OK;
	return audit_status(c, o);
}

int run_audit(const struct vaudit_opts *o)
{
	struct ctx c = { .ropts = { .barrier_mode = o->barrier_mode, .cleared_mode = 0700,
				    .dry_run = o->dry_run, .force = o->force } };
	struct va_audit_args args = { .flags = o->audit_flags, .kinds = o->only & ~o->skip,
				      .tag_scheme = o->tag_scheme };
	struct run run = { .plan_src = DBUF_INIT, .locks = VA_LOCKS_INIT("vaudit --fix") };
	struct fix_args fa = { .image = o->image, .journal = o->journal, .opts = o };
	int r;

	cli_init(&c.cli, PROG);
	c.cli.quiet = o->quiet;
	c.json = o->fmt == VA_FMT_JSON;
	if (o->prometheus || o->nagios) {
		/* a monitor that cannot count reports UNKNOWN (monitor_finish()) */
		c.mon = monitor_new();
		if (!c.mon) {
			cli_say(&c.cli, "%s", strerror(ENOMEM));
			return monitor_finish(&c, o, false, CLI_EXIT_TROUBLE);
		}
		c.no_findings_out = o->nagios;
		if (o->nagios)
			cli_keep_first_message();
	}
	c.cli.notices |= (o->writer_flags & VA_WRITER_VERBOSE) != 0;
	if (o->mode == MODE_FIX || o->mode == MODE_PLAN) {
		args.kinds = repair_kinds(&c, o) & ~o->skip;
		fa.kinds = args.kinds;
		c.repair = &run.repair;
		fa.plan_in = o->mode == MODE_FIX ? o->plan : NULL;
		fa.plan_out = o->mode == MODE_PLAN ? o->plan : NULL;
	}
	if ((r = load_config(&c.cli, o, &run.cfg)) || (r = pick_roots(&c, o, &run, &args)))
		goto out;
	/* a repair holds its filesystems from the audit it acts on to its end
	 * (the rest of a resumed run: run_replay() holds them) */
	if (o->mode == MODE_FIX && !o->dry_run && !o->resume &&
	    (r = cli_lock(&c.cli, &run.locks, o->image, args.roots, args.nroots)))
		goto out;
	cli_start(&c.cli, o->progress);
	/* --attrs PATH... in an image: the paths are looked up one by one */
	if ((r = open_backend(&c, o, &run, o->image && o->mode == MODE_ATTRS && o->nroots ? "/" :
						args.roots[0])) ||
	    (r = note_running(&c, &run)))
		goto out;
	if ((r = va_writer_new(&c.writer, o->fmt, stdout, o->writer_flags)) < 0) {
		cli_say(&c.cli, "%s", strerror(-r));
		r = CLI_EXIT_TROUBLE;
		goto out;
	}
	args.backend = run.be;
	args.config = run.cfg;
	fa.img = run.img;
	fa.roots = args.roots;
	fa.nroots = args.nroots;
	if (o->mode == MODE_INTERACTIVE)
		r = tui_main(&(struct tui_session){
			.prog = PROG, .args = &args, .img = run.img, .image = o->image,
			.roots = args.roots, .nroots = args.nroots, .journal = o->journal,
			.ropts = &c.ropts, .plan = o->plan, .script = o->script,
			.cols = o->cols, .rows = o->rows });
	else
		r = audit_and_report(&c, o, &run, &args, &fa);
	/* a run that stops before its audit (usage, configuration) writes none */
	if (c.json && (c.audited || c.repaired) && o->mode != MODE_ATTRS)
		summary_record(&c, o, args.roots, args.nroots, run.img != NULL, r);
out:
	va_writer_free(c.writer);
	release_run(&run);
	if (va_image_close(run.img) && run.img) {
		cli_msg(&c.cli, o->image, "closing the image failed", NULL);
		r = CLI_EXIT_TROUBLE;
	}
	va_locks_release(&run.locks);   /* after the image's last write */
	if (c.mon) {
		r = monitor_finish(&c, o, o->image != NULL, r);
		monitor_free(c.mon);
	}
	return r;
}
