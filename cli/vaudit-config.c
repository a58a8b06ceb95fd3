/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit-config.c - the configuration of a run: what load_config() reads
 * for every mode, and vaudit --list (the configured guests, as a table or
 * as JSON Lines, one object per guest).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/vaudit.h"
#include "core/dbuf.h"
#include "core/escape.h"
#include "core/message.h"
#include "core/vsconfig.h"

static const char *run_state(enum va_run_state s)
{
	switch (s) {
	case VA_RUN_RUNNING: return "running";
	case VA_RUN_STOPPED: return "stopped";
	default:             return "unknown";
	}
}

static int fld(struct dbuf *b, const char *key, const char *s)
{
	return va_json_field(b, key, s, s ? strlen(s) : 0);
}

static int json_guest(struct dbuf *b, const struct va_config *c, const struct va_guest *g)
{
	const struct va_hash_dir *h = g->hash >= 0 ? &c->hashdirs[g->hash] : NULL;
	int r;

	r = dbuf_addf(b, "{\"record\":\"guest\",\"version\":%d", VA_JSON_VERSION);
	r |= fld(b, "name", g->name);
	r |= fld(b, "cfgdir", g->cfgdir);
	r |= fld(b, "display_name", g->display);
	if (g->context >= 0)
		r |= dbuf_addf(b, ",\"context\":%ld", g->context);
	else
		r |= dbuf_addf(b, ",\"context\":null");
	r |= dbuf_addf(b, ",\"context_valid\":%s", g->context == -1 ||
		       (g->context >= VA_CONTEXT_MIN && g->context <= VA_CONTEXT_MAX) ? "true" : "false");
	r |= fld(b, "vdir", g->vdir);
	r |= fld(b, "vdir_from", g->vdir_from);
	r |= fld(b, "vdir_error", g->vdir_why);
	r |= dbuf_addf(b, ",\"state\":\"%s\"", run_state(g->running));
	r |= fld(b, "state_why", g->running_why);
	r |= fld(b, "run", g->run);
	r |= fld(b, "cache", g->cache);
	r |= dbuf_addf(b, ",\"disabled\":%s,\"nonamespace\":%s,\"legacy\":%s",
		       g->disabled ? "true" : "false", g->nonamespace ? "true" : "false",
		       g->legacy ? "true" : "false");
	r |= fld(b, "mark", g->mark);
	/* the style: a directory NAME/, or a 2.4-era NAME.conf (cfgdir is then that file) */
	r |= dbuf_addf(b, ",\"style\":\"%s\"", g->conf ? "legacy" : "directory");
	r |= fld(b, "conf_ignored", g->conf_ignored);
	if (g->conf) {
		r |= dbuf_addf(b, ",\"onboot\":%s,\"conf_vars\":{", g->onboot ? "true" : "false");
		for (size_t i = 0; i < g->lconf.nvars; i++) {
			struct dbuf o = DBUF_INIT;

			r |= fld(&o, g->lconf.vars[i].name, g->lconf.vars[i].value);
			r |= dbuf_addf(b, "%s%s", i ? "," : "", o.buf ? o.buf + 1 : "");
			dbuf_release(&o);
		}
		r |= dbuf_adds(b, "}");
	}
	/* the fstab files util-vserver mounts, in its order, with their well-formed lines */
	r |= dbuf_adds(b, ",\"fstab\":[");
	for (size_t i = 0, n = 0; i < VA_FSTAB_COUNT; i++) {
		struct dbuf o = DBUF_INIT;

		if (!g->fstab[i].path)
			continue;
		r |= fld(&o, "file", g->fstab[i].path);
		r |= dbuf_addf(&o, ",\"mounts\":%zu", g->fstab[i].tab.n);
		r |= dbuf_addf(b, "%s{%s}", n++ ? "," : "", o.buf ? o.buf + 1 : "");
		dbuf_release(&o);
	}
	r |= dbuf_adds(b, "]");
	r |= dbuf_addf(b, ",\"vshelper\":{\"disabled\":%s", g->vshelper_disabled ? "true" : "false");
	r |= fld(b, "action", g->vshelper_action ? g->vshelper_action : "restart");
	r |= dbuf_addf(b, ",\"action_known\":%s}", !g->vshelper_action || g->vshelper_action_known ?
		       "true" : "false");
	r |= dbuf_addf(b, ",\"unify\":{\"enabled\":%s,\"pkgmgmt\":%s,\"refservers\":[",
		       g->has_vunify ? "true" : "false", g->pkgmgmt ? "true" : "false");
	for (size_t i = 0; i < g->nrefs; i++) {
		const struct va_refserver *ref = &g->refs[i];
		struct dbuf o = DBUF_INIT;

		r |= fld(&o, "entry", ref->entry);
		r |= fld(&o, "cfgdir", ref->cfgdir);
		r |= fld(&o, "guest", ref->guest >= 0 ? c->guests[ref->guest].name : NULL);
		r |= fld(&o, "error", ref->why);
		r |= dbuf_addf(b, "%s{%s}", i ? "," : "", o.buf ? o.buf + 1 : "");
		dbuf_release(&o);
	}
	r |= dbuf_adds(b, "]");
	r |= fld(b, "exclude", g->exclude_file ? g->exclude_file : "(built-in default)");
	r |= dbuf_addf(b, ",\"exclude_rules\":%zu", g->exclude.nrules);
	if (h) {
		r |= dbuf_adds(b, ",\"hash\":{");
		{
			struct dbuf o = DBUF_INIT;

			r |= fld(&o, "dir", h->path);
			r |= fld(&o, "method", h->method ? h->method : "sha1");
			r |= dbuf_addf(b, "%s", o.buf + 1);
			dbuf_release(&o);
		}
		r |= dbuf_adds(b, ",\"stores\":[");
		for (size_t i = 0; i < h->nentries; i++) {
			struct dbuf o = DBUF_INIT;

			r |= fld(&o, "entry", h->entries[i].name);
			r |= fld(&o, "path", h->entries[i].path);
			r |= dbuf_addf(&o, ",\"duplicate\":%s", h->entries[i].duplicate ? "true" : "false");
			r |= dbuf_addf(b, "%s{%s}", i ? "," : "", o.buf + 1);
			dbuf_release(&o);
		}
		r |= dbuf_adds(b, "]}");
	} else {
		r |= dbuf_adds(b, ",\"hash\":null");
	}
	r |= dbuf_adds(b, "}}\n");
	return r ? -ENOMEM : 0;
}

/* A cell of the table: shell-escaped when needed, "-" when absent. */
static void cell(struct dbuf *b, const char *s, int width)
{
	size_t start = b->len;

	if (!s || !*s)
		dbuf_addc(b, '-');
	else
		va_escape_shell(b, s, strlen(s));
	while ((int)(b->len - start) < width)
		dbuf_addc(b, ' ');
	dbuf_addc(b, ' ');
}

static int text_guest(struct dbuf *b, const struct va_config *c, const struct va_guest *g)
{
	char ctx[32];
	struct dbuf unify = DBUF_INIT;

	if (g->context >= 0)
		snprintf(ctx, sizeof(ctx), "%ld", g->context);
	else
		snprintf(ctx, sizeof(ctx), "%s", g->context == -1 ? "dynamic" : "invalid");
	if (g->conf) {
		dbuf_adds(&unify, "off (legacy NAME.conf)");
	} else if (!g->has_vunify) {
		dbuf_adds(&unify, "off");
	} else {
		dbuf_adds(&unify, "refs=");
		for (size_t i = 0; i < g->nrefs; i++) {
			const struct va_refserver *ref = &g->refs[i];

			if (i)
				dbuf_addc(&unify, ',');
			va_escape_shell(&unify, ref->guest >= 0 ? c->guests[ref->guest].name : ref->entry,
					strlen(ref->guest >= 0 ? c->guests[ref->guest].name : ref->entry));
			if (ref->why)
				dbuf_adds(&unify, "(invalid)");
		}
		if (!g->nrefs)
			dbuf_addc(&unify, '-');
		if (g->hash >= 0) {
			const struct va_hash_dir *h = &c->hashdirs[g->hash];

			dbuf_addf(&unify, " hash=%s:", h->method ? h->method : "sha1");
			va_escape_shell(&unify, h->path, strlen(h->path));
		}
	}
	cell(b, g->name, 16);
	cell(b, ctx, 7);
	cell(b, g->disabled ? "disabled" : run_state(g->running), 8);
	cell(b, g->conf && g->onboot ? "onboot" : g->mark, 10);
	cell(b, g->vdir, 24);   /* "-": it does not resolve */
	dbuf_add(b, unify.buf ? unify.buf : "", unify.len);
	dbuf_addc(b, '\n');
	dbuf_release(&unify);
	return 0;
}

static int list_guests(const struct va_config *c, bool json)
{
	struct dbuf b = DBUF_INIT;
	int r = 0;

	if (!json)
		dbuf_addf(&b, "%-16s %-7s %-8s %-10s %-24s %s\n", "NAME", "CONTEXT", "STATE", "MARK",
			  "VDIR", "UNIFY");
	for (size_t i = 0; i < c->nguests && r == 0; i++)
		r = json ? json_guest(&b, c, &c->guests[i]) : text_guest(&b, c, &c->guests[i]);
	if (r == 0 && b.len && fwrite(b.buf, 1, b.len, stdout) != b.len)
		r = -EIO;
	if (r == 0 && fflush(stdout) != 0)
		r = -EIO;
	dbuf_release(&b);
	return r;
}

int load_config(struct cli *c, const struct vaudit_opts *o, struct va_config **ret)
{
	struct va_config_opts co = { .host_root = o->host_root, .cfgdir = o->config_dir };
	/* asked for: a missing directory is an error, not "no configuration" */
	bool explicit = o->config_dir || o->host_root || o->mode == MODE_LIST ||
			o->mode == MODE_CONVERT;
	struct va_error err = VA_ERROR_INIT;
	int r;

	*ret = NULL;
	/* the default configuration only when no ROOT was named: tests and
	 * scripts that name their ROOTs never pick up the host's */
	if (o->image || o->no_config || (!explicit && o->nroots))
		return 0;
	r = va_config_load(ret, &co, &err);
	if (r < 0 && (r != -ENOENT || explicit))
		cli_error(c, &err);
	va_error_release(&err);
	return r < 0 && (r != -ENOENT || explicit) ? CLI_EXIT_TROUBLE : 0;
}

int run_list(const struct vaudit_opts *o)
{
	struct va_config *cfg;
	struct cli c;
	int r;

	cli_init(&c, PROG);
	if ((r = load_config(&c, o, &cfg)))
		return r;
	r = list_guests(cfg, o->fmt == VA_FMT_JSON);
	va_config_free(cfg);
	if (r < 0) {
		cli_say(&c, "write error: %s", strerror(-r));
		return CLI_EXIT_TROUBLE;
	}
	return CLI_EXIT_OK;
}
