/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit-convert.c - vaudit --convert-legacy [--dry-run] [NAME...]: each
 * legacy guest (/etc/vservers/NAME.conf) as the equivalent directory
 * /etc/vservers/NAME/ (migrate/convert.h does it; this file says it).
 *
 * stdout, per guest:
 *   created 'DIR' from 'NAME.conf' (undo: rm -r -- 'DIR')     (or "would create")
 *     'DIR/FILE' = 'first line'  |  'DIR/LINK' -> 'target'  |  'DIR/SUBDIR/'
 *   not converted: 'NAME.conf':LINE: VAR: why
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
#include "core/vsconfig.h"
#include "migrate/convert.h"

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
	dbuf_adds(&b, " (undo: rm -r -- ");
	q(&b, dbuf_str(&dir));
	dbuf_adds(&b, ")\n");
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

static int convert_one(struct cli *c, const struct va_config *cfg, const struct va_guest *g, bool dry,
		       bool quiet)
{
	struct va_conv cv;
	struct va_error err = VA_ERROR_INIT;
	int r;

	for (size_t i = 0; i < cfg->nproblems; i++)
		if (cfg->problems[i].guest >= 0 && &cfg->guests[cfg->problems[i].guest] == g) {
			cli_msg(c, g->cfgdir, "not converted",
				"it has lines vaudit cannot read (vaudit --only config-invalid shows "
				"them): correct them first");
			return CLI_EXIT_TROUBLE;
		}
	r = va_convert_plan(g, &cv);
	if (r < 0) {
		cli_msg(c, g->cfgdir, "cannot plan the conversion", strerror(-r));
		va_convert_release(&cv);
		return CLI_EXIT_TROUBLE;
	}
	if (!dry) {
		r = va_convert_apply(cfg, &cv, &err);
		if (r < 0) {
			cli_error(c, &err);
			va_error_release(&err);
			va_convert_release(&cv);
			return CLI_EXIT_TROUBLE;
		}
	}
	if (!quiet || dry)
		say_plan(c, cfg, &cv, dry);
	va_convert_release(&cv);
	return CLI_EXIT_OK;
}

int run_convert(const struct vaudit_opts *o)
{
	struct va_config *cfg;
	struct cli c;
	int r, status = CLI_EXIT_OK;
	size_t n = 0;

	cli_init(&c, PROG);
	if ((r = load_config(&c, o, &cfg)))
		return r;
	if (o->nroots) {
		for (size_t k = 0; k < o->nroots; k++) {
			const struct va_guest *g = NULL;

			for (size_t i = 0; i < cfg->nguests && !g; i++)
				if (strcmp(cfg->guests[i].name, o->roots[k]) == 0)
					g = &cfg->guests[i];
			if (!g) {
				cli_msg(&c, o->roots[k], "no such guest in the configuration", cfg->cfgdir);
				status = CLI_EXIT_TROUBLE;
			} else if (!g->conf) {
				cli_msg(&c, o->roots[k], "not a legacy guest (it has a configuration directory)",
					g->cfgdir);
				status = CLI_EXIT_TROUBLE;
			} else if ((r = convert_one(&c, cfg, g, o->dry_run, o->quiet)) != CLI_EXIT_OK) {
				status = r;
			}
		}
	} else {
		for (size_t i = 0; i < cfg->nguests; i++) {
			if (!cfg->guests[i].conf)
				continue;
			n++;
			if ((r = convert_one(&c, cfg, &cfg->guests[i], o->dry_run, o->quiet)) != CLI_EXIT_OK)
				status = r;
		}
		if (n == 0)
			cli_notice(&c, "no legacy NAME.conf guest in %s", cfg->cfgdir);
	}
	va_config_free(cfg);
	if (cli_finish_output(&c))
		status = CLI_EXIT_TROUBLE;
	return status;
}
