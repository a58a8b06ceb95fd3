/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clone-report.c - what vclone and vcopy say about the entries made (see
 * clone-report.h).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/clone-report.h"
#include "core/escape.h"

void clone_report_event(struct ucli *c, const struct va_clone_event *ev, const struct va_clone_stats *st)
{
	struct dbuf b = DBUF_INIT;
	const char *name = va_clone_action_name(ev->action);

	if (ev->action == VA_CLONE_ERROR) {
		const char *reason = ev->err ? strerror(ev->err) : NULL;

		if (c->json)
			cli_json_error(&c->cli, ev->path, ev->path_len, ev->what, reason, ev->err);
		cli_msgn(&c->cli, ev->path, ev->path_len, ev->what, reason);
		return;
	}
	/* vcopy: what the destination has already, the most of a tree: counted, said with -vv */
	if (ev->action == VA_CLONE_EXISTS && (c->json || c->verbose < 2))
		goto progress;
	if (c->json) {
		cli_json_head(&b, &c->cli, "action");
		dbuf_addf(&b, ",\"event\":\"%s\"", name);
		va_json_field(&b, "path", ev->path, ev->path_len);
		if (ev->src)
			va_json_field(&b, "source", ev->src, ev->src_len);
		if (ev->action == VA_CLONE_COPY || ev->action == VA_CLONE_LINK || ev->action == VA_CLONE_HARDLINK)
			dbuf_addf(&b, ",\"size\":%llu", (unsigned long long)ev->size);
		if (ev->what)
			va_json_field(&b, "reason", ev->what, strlen(ev->what));
		dbuf_addf(&b, ",\"dry_run\":%s}\n", ev->dry_run ? "true" : "false");
		cli_write(&c->cli, b.buf, b.len);
	} else if (c->verbose) {
		dbuf_addf(&b, "%s%s ", ev->dry_run ? "would " : "", name);
		va_escape_shell(&b, ev->path, ev->path_len);
		if (ev->what)
			dbuf_addf(&b, ": %s", ev->what);
		dbuf_addc(&b, '\n');
		cli_write(&c->cli, b.buf, b.len);
	}
	dbuf_release(&b);
progress:
	if (cli_progress_due(&c->cli, 0.5))
		cli_progress(&c->cli, "%llu entries, %llu copied, %llu linked",
			     (unsigned long long)(st->n[VA_CLONE_MKDIR] + st->n[VA_CLONE_COPY] +
						  st->n[VA_CLONE_LINK] + st->n[VA_CLONE_HARDLINK] +
						  st->n[VA_CLONE_SYMLINK] + st->n[VA_CLONE_NODE]),
			     (unsigned long long)st->n[VA_CLONE_COPY], (unsigned long long)st->n[VA_CLONE_LINK]);
}

bool clone_made_any(const struct va_clone_stats *s)
{
	for (int a = VA_CLONE_MKDIR; a <= VA_CLONE_NODE; a++)
		if (s->n[a])
			return true;
	return false;
}

void clone_report_counts(struct dbuf *b, const struct va_clone_stats *s, bool json, bool dry_run)
{
	char cb[32], lb[32];

	if (json) {
		for (int a = 0; a < VA_CLONE_ACTION_COUNT; a++)
			dbuf_addf(b, ",\"%s\":%llu", a == VA_CLONE_ERROR ? "failed" : va_clone_action_name(a),
				  (unsigned long long)s->n[a]);
		dbuf_addf(b, ",\"copied_bytes\":%llu,\"linked_bytes\":%llu", (unsigned long long)s->copied_bytes,
			  (unsigned long long)s->linked_bytes);
		return;
	}
	dbuf_addf(b, "%s%llu directories, %llu files copied (%s), %llu linked (%s), "
		  "%llu hard links, %llu symlinks, %llu nodes; %llu left out, %llu skipped",
		  dry_run ? "would make " : "", (unsigned long long)s->n[VA_CLONE_MKDIR],
		  (unsigned long long)s->n[VA_CLONE_COPY], cli_human(s->copied_bytes, cb),
		  (unsigned long long)s->n[VA_CLONE_LINK], cli_human(s->linked_bytes, lb),
		  (unsigned long long)s->n[VA_CLONE_HARDLINK], (unsigned long long)s->n[VA_CLONE_SYMLINK],
		  (unsigned long long)s->n[VA_CLONE_NODE], (unsigned long long)s->n[VA_CLONE_OMIT],
		  (unsigned long long)s->n[VA_CLONE_SKIP]);
	if (s->n[VA_CLONE_EXISTS])
		dbuf_addf(b, ", %llu in DST already", (unsigned long long)s->n[VA_CLONE_EXISTS]);
}

int clone_option(struct ucli *c, int opt, const char *arg, const char **exclude, const char ***stores,
		 size_t *nstores)
{
	const char **ns;

	if (opt == CLONE_OPT_EXCLUDE) {
		*exclude = arg;
		return 1;
	}
	if (opt != CLONE_OPT_STORE)
		return 0;
	if (!(ns = realloc(*stores, (*nstores + 1) * sizeof(*ns)))) {
		cli_say(&c->cli, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*stores = ns;
	ns[(*nstores)++] = arg;
	return 1;
}

int clone_exclude(struct ucli *c, const char *file, struct va_excl_list *list,
		  const struct va_excl_list **excl)
{
	bool use = false;
	int status;

	if (!file)
		return 0;
	if ((status = ucli_load_excl(c, file, list, &use)))
		return status;
	*excl = use ? list : NULL;
	return 0;
}

void clone_opts(struct va_clone_opts *o, const struct ucli *c, struct va_journal *j,
		const struct va_excl_list *excl, const char *const *stores, size_t nstores)
{
	*o = (struct va_clone_opts){
		.dry_run = c->dry_run,
		.unified_flags = va_protect_flags(c->protect),
		.iunlink = c->protect == VA_PROTECT_V26,
		.be = c->be,
		.j = j,
		.excl = excl,
		.stores = stores,
		.nstores = nstores,
	};
}
