/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit-convert.c - vaudit --convert-legacy [--dry-run] [NAME...]: each
 * legacy guest (/etc/vservers/NAME.conf) as the equivalent directory
 * /etc/vservers/NAME/ (migrate/convert/ does it; this file says it), and
 * the --undo / --resume of its journal.
 *
 * stdout, per guest:
 *   created 'DIR' from 'NAME.conf'                        (or "would create")
 *     'DIR/FILE' = 'first line'  |  'DIR/LINK' -> 'target'  |  'DIR/SUBDIR/'
 *   not converted: 'NAME.conf':LINE: VAR: why
 * stderr, at the end of a real run: "journal: FILE (undo: vaudit --undo ...)".
 * Exit: 0 every guest asked for converted (or would be), 2 otherwise (a
 * NAME that is no legacy guest, a NAME.conf with lines vaudit cannot
 * read, an existing NAME/, a write error).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/vaudit.h"
#include "core/dbuf.h"
#include "core/escape.h"
#include "core/lock.h"
#include "core/vsconfig.h"
#include "migrate/clone/clone.h"
#include "migrate/convert/convert.h"

static void q(struct dbuf *b, const char *s)
{
	va_escape_shell(b, s, strlen(s));
}

static void say_plan(struct cli *c, const struct va_config *cfg, const struct va_conv *cv, bool dry)
{
	const struct va_guest *g = cv->guest;
	struct dbuf b = DBUF_INIT, dir = DBUF_INIT;

	dbuf_addf(&dir, "%s/%s", cfg->cfgdir, g->name);
	dbuf_adds(&b, dry ? "would create " : "created ");
	q(&b, dbuf_str(&dir));
	dbuf_adds(&b, " from ");
	q(&b, g->cfgdir);
	dbuf_addc(&b, '\n');
	for (size_t i = 0; i < cv->nitems; i++) {
		const struct va_conv_item *it = &cv->items[i];
		struct dbuf p = DBUF_INIT;

		dbuf_addf(&p, "%s/%s%s", dbuf_str(&dir), it->rel, it->type == VA_CONV_DIR ? "/" : "");
		dbuf_adds(&b, "  ");
		q(&b, dbuf_str(&p));
		if (it->type == VA_CONV_LINK) {
			dbuf_adds(&b, " -> ");
			q(&b, it->content);
		} else if (it->type == VA_CONV_FILE) {
			dbuf_adds(&b, " = ");
			va_escape_shell(&b, it->content, strlen(it->content) - 1);   /* its final newline */
		}
		dbuf_addc(&b, '\n');
		dbuf_release(&p);
	}
	for (size_t i = 0; i < cv->nnotes; i++) {
		dbuf_adds(&b, "  not converted: ");
		q(&b, g->cfgdir);
		dbuf_addf(&b, ":%u: %s: %s\n", cv->notes[i].line, cv->notes[i].var, cv->notes[i].why);
	}
	cli_write(c, b.buf ? b.buf : "", b.len);
	dbuf_release(&b);
	dbuf_release(&dir);
}

/* The state of a conversion run. */
struct conv_run {
	struct cli cli;
	const struct vaudit_opts *o;
	const struct va_config *cfg;
	struct va_journal *j;           /* made at the first real conversion */
	struct dbuf jfile;
	struct va_locks locks;
};

/* The journal and the change lock, before the first conversion.  Return: 0 or the exit status. */
static int begin(struct conv_run *run)
{
	const char *dir = run->cfg->cfgdir;
	struct va_error err = VA_ERROR_INIT;
	int r;

	if (run->j)
		return 0;
	if ((r = cli_lock(&run->cli, &run->locks, NULL, &dir, 1)))
		return r;
	if (va_convert_journal_create(&run->j, run->cfg, run->o->journal, &run->jfile, &err) < 0) {
		cli_error(&run->cli, &err);
		va_error_release(&err);
		return CLI_EXIT_TROUBLE;
	}
	return 0;
}

static int convert_one(struct conv_run *run, const struct va_guest *g)
{
	const struct va_config *cfg = run->cfg;
	bool dry = run->o->dry_run;
	struct va_conv cv;
	struct va_error err = VA_ERROR_INIT;
	int r;

	for (size_t i = 0; i < cfg->nproblems; i++)
		if (cfg->problems[i].guest >= 0 && &cfg->guests[cfg->problems[i].guest] == g) {
			cli_msg(&run->cli, g->cfgdir, "not converted",
				"it has lines vaudit cannot read (vaudit --only config-invalid shows "
				"them): correct them first");
			return CLI_EXIT_TROUBLE;
		}
	r = va_convert_plan(g, &cv);
	if (r < 0) {
		cli_msg(&run->cli, g->cfgdir, "cannot plan the conversion", strerror(-r));
		va_convert_release(&cv);
		return CLI_EXIT_TROUBLE;
	}
	if (!dry) {
		if ((r = begin(run))) {
			va_convert_release(&cv);
			return r;
		}
		r = va_convert_apply(cfg, &cv, run->j, &err);
		if (r < 0) {
			cli_error(&run->cli, &err);
			va_error_release(&err);
			va_convert_release(&cv);
			return CLI_EXIT_TROUBLE;
		}
	}
	if (!run->o->quiet || dry)
		say_plan(&run->cli, cfg, &cv, dry);
	va_convert_release(&cv);
	return CLI_EXIT_OK;
}

/* "journal: FILE (undo: vaudit --undo FILE [--host-root P | --config D])" */
static void say_journal(struct conv_run *run)
{
	const struct vaudit_opts *o = run->o;
	struct dbuf b = DBUF_INIT;

	dbuf_adds(&b, "journal: ");
	dbuf_adds(&b, dbuf_str(&run->jfile));
	dbuf_adds(&b, " (undo: vaudit --undo ");
	q(&b, dbuf_str(&run->jfile));
	if (o->host_root) {
		dbuf_adds(&b, " --host-root ");
		q(&b, o->host_root);
	}
	if (o->config_dir) {
		dbuf_adds(&b, " --config ");
		q(&b, o->config_dir);
	}
	dbuf_addc(&b, ')');
	cli_say(&run->cli, "%s", dbuf_str(&b));
	dbuf_release(&b);
}

int run_convert(const struct vaudit_opts *o)
{
	struct va_config *cfg;
	struct conv_run run = { .o = o, .jfile = DBUF_INIT, .locks = VA_LOCKS_INIT("vaudit --convert-legacy") };
	struct cli *c = &run.cli;
	int r, status = CLI_EXIT_OK;
	size_t n = 0;

	cli_init(c, PROG);
	if ((r = load_config(c, o, &cfg)))
		return r;
	run.cfg = cfg;
	if (o->nroots) {
		for (size_t k = 0; k < o->nroots; k++) {
			const struct va_guest *g = NULL;

			for (size_t i = 0; i < cfg->nguests && !g; i++)
				if (strcmp(cfg->guests[i].name, o->roots[k]) == 0)
					g = &cfg->guests[i];
			if (!g) {
				cli_msg(c, o->roots[k], "no such guest in the configuration", cfg->cfgdir);
				status = CLI_EXIT_TROUBLE;
			} else if (!g->conf) {
				cli_msg(c, o->roots[k], "not a legacy guest (it has a configuration directory)",
					g->cfgdir);
				status = CLI_EXIT_TROUBLE;
			} else if ((r = convert_one(&run, g)) != CLI_EXIT_OK) {
				status = r;
			}
		}
	} else {
		for (size_t i = 0; i < cfg->nguests; i++) {
			if (!cfg->guests[i].conf)
				continue;
			n++;
			if ((r = convert_one(&run, &cfg->guests[i])) != CLI_EXIT_OK)
				status = r;
		}
		if (n == 0)
			cli_say(c, "no legacy NAME.conf guest in %s: nothing to convert", cfg->cfgdir);
	}
	if (run.j) {
		if (va_journal_finish(run.j, 0) < 0) {
			cli_msg(c, dbuf_str(&run.jfile), "cannot write the journal",
				strerror(-va_journal_error(run.j)));
			status = CLI_EXIT_TROUBLE;
		}
		/* a journal of the default name that holds no change: nothing was converted */
		r = o->journal ? 0 : va_journal_remove_unused(run.j);
		if (r < 0) {
			cli_msg(c, dbuf_str(&run.jfile), "cannot remove the journal, which holds no change",
				strerror(-r));
		}
		if (r > 0)
			cli_say(c, "journal: %s removed: it holds no change", dbuf_str(&run.jfile));
		else
			say_journal(&run);
		va_journal_free(run.j);
	}
	va_locks_release(&run.locks);
	dbuf_release(&run.jfile);
	va_config_free(cfg);
	if (cli_finish_output(c))
		status = CLI_EXIT_TROUBLE;
	return status;
}

/* ------------------------------------------------------------------ --undo, --resume */

struct conv_replay {
	bool undo;
	struct cli *json;       /* --json: action records through it */
};

static void on_event(enum va_conv_event ev, const char *path, size_t len, const char *why, int err,
		     void *user)
{
	static const char *const word[] = { "would", "done", "skipped", "FAILED" };
	const struct conv_replay *cr = user;
	static const char *const event[] = { "would", "done", "skipped", "failed" };
	struct dbuf b = DBUF_INIT;

	if (cr->json) {
		cli_json_head(&b, cr->json, "action");
		dbuf_addf(&b, ",\"event\":\"%s\",\"step\":\"%s\"", event[ev],
			  cr->undo ? "remove" : "create");
		va_json_field(&b, "path", path, len);
		va_json_field(&b, "reason", why, why ? strlen(why) : 0);
		va_json_field(&b, "error", err ? strerror(err) : NULL, err ? strlen(strerror(err)) : 0);
		dbuf_adds(&b, "}\n");
		cli_write(cr->json, b.buf, b.len);
		dbuf_setlen(&b, 0);
		if (ev != VA_CONV_SKIPPED && ev != VA_CONV_FAILED) {
			dbuf_release(&b);
			return;
		}
	}
	dbuf_addf(&b, "%-8s %s ", word[ev], cr->undo ? "remove" : "create");
	va_escape_shell(&b, path, len);
	cli_event_line(&b, why, err ? strerror(err) : NULL, ev == VA_CONV_SKIPPED || ev == VA_CONV_FAILED);
	dbuf_release(&b);
}

int replay_convert(struct va_journal *j, const struct va_jroots *jr, bool undo, bool dry_run,
		   unsigned counts[4], struct cli *json)
{
	struct conv_replay cr = { .undo = undo, .json = json };
	struct va_conv_hooks h = { .event = on_event, .user = &cr };
	int r;

	r = va_convert_replay(j, undo ? VA_REPLAY_UNDO : VA_REPLAY_RESUME, jr, dry_run, &h, counts);
	return va_journal_finish(dry_run ? NULL : j, r);
}

/* The events of a clone's undo are said as a conversion's removals (the same order of events). */
static void on_clone_event(enum va_clone_rev ev, const char *path, size_t len, const char *why, int err,
			   void *user)
{
	on_event((enum va_conv_event)ev, path, len, why, err, user);
}

int replay_clone(struct va_journal *j, const struct va_jroots *jr, bool dry_run, unsigned live_flags,
		 unsigned counts[4], struct cli *json)
{
	struct conv_replay cr = { .undo = true, .json = json };
	struct va_clone_rhooks h = { .event = on_clone_event, .user = &cr };
	struct va_backend *be = NULL;
	int r = va_backend_live_new(&be, live_flags);

	if (r == 0)
		r = va_clone_replay(j, VA_REPLAY_UNDO, jr, be, dry_run, &h, counts);
	va_backend_free(be);
	return va_journal_finish(dry_run ? NULL : j, r);
}
