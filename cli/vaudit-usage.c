/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit-usage.c - vaudit --usage: the disk space of each guest (private,
 * shared with other guests, shared with the hash store, reclaimable) and
 * the host's totals, as a table or as usage and usage-total records.
 * The figures come from audit/usage.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit/usage.h"
#include "cli/vaudit.h"
#include "core/escape.h"
#include "core/image.h"
#include "core/message.h"
#include "core/vsconfig.h"

#define MIB (1024.0 * 1024.0)

struct usage_ctx {
	struct cli cli;
	bool json;
	const char *image;      /* --image, or NULL */
};

static void on_error(const char *path, size_t len, const char *op, int err, void *user)
{
	struct usage_ctx *c = user;
	/* an image's errors may be libext2fs codes */
	const char *why = !err ? NULL : c->image ? va_image_strerror(err) : strerror(err);

	cli_msgn(&c->cli, path, len, op, why);
	if (c->json)
		cli_json_error(&c->cli, path, len, op, why, err);
}

static void on_progress(uint64_t entries, const char *guest, size_t len, bool exact, void *user)
{
	struct usage_ctx *c = user;
	struct dbuf g = DBUF_INIT;
	double t;

	if (!cli_progress_due(&c->cli, 0.2))
		return;
	t = cli_elapsed(&c->cli);
	if (guest)
		va_escape_shell(&g, guest, len);
	cli_progress(&c->cli, "%llu entr%s%s, %.0f/s, %.1fs%s%.40s", (unsigned long long)entries,
		     entries == 1 ? "y" : "ies", exact ? " (reading content)" : "",
		     t > 0 ? (double)entries / t : 0.0, t, guest ? ", guest " : "", dbuf_str(&g));
	dbuf_release(&g);
}

static void json_part(struct dbuf *b, const char *key, const struct va_usage_part *p)
{
	dbuf_addf(b, ",\"%s_files\":%llu,\"%s_bytes\":%llu", key, (unsigned long long)p->files, key,
		  (unsigned long long)p->bytes);
}

static void usage_record(struct usage_ctx *c, const struct va_usage_guest *g, const char *root)
{
	struct dbuf b = DBUF_INIT;

	cli_json_head(&b, &c->cli, "usage");
	va_json_field(&b, "guest", g->name, g->name_len);
	va_json_field(&b, "path", g->path, g->path_len);
	va_json_field(&b, "root", root, strlen(root));
	dbuf_addf(&b, ",\"files\":%llu,\"bytes\":%llu,\"apparent_bytes\":%llu",
		  (unsigned long long)g->all.files, (unsigned long long)g->all.bytes,
		  (unsigned long long)g->apparent);
	json_part(&b, "private", &g->priv);
	json_part(&b, "shared", &g->shared);
	json_part(&b, "store", &g->store);
	json_part(&b, "reclaimable", &g->reclaim);
	dbuf_adds(&b, "}\n");
	cli_write(&c->cli, b.buf, b.len);
	dbuf_release(&b);
}

static void total_record(struct usage_ctx *c, const struct va_usage *u, const char *const *roots,
			 size_t nroots, bool exact, int status)
{
	const struct va_usage_total *t = &u->total;
	struct dbuf b = DBUF_INIT;

	cli_json_head(&b, &c->cli, "usage-total");
	cli_json_strings(&b, "roots", roots, nroots);
	cli_json_strings(&b, "stores", (const char *const *)u->stores, u->nstores);
	if (c->image) {
		va_json_field(&b, "image", c->image, strlen(c->image));
		dbuf_addf(&b, ",\"tags\":%zu,\"contexts_known\":%s,\"tag_mismatches\":%zu", u->ntags,
			  u->contexts_known ? "true" : "false", u->nmismatches);
	}
	dbuf_addf(&b, ",\"guests\":%zu,\"files\":%llu,\"bytes\":%llu,\"apparent_bytes\":%llu,"
		  "\"names\":%llu,\"copies_bytes\":%llu,\"saving_bytes\":%llu", u->nguests,
		  (unsigned long long)t->all.files, (unsigned long long)t->all.bytes,
		  (unsigned long long)t->apparent, (unsigned long long)t->names,
		  (unsigned long long)t->copies_bytes,
		  (unsigned long long)(t->copies_bytes - t->all.bytes));
	json_part(&b, "private", &t->priv);
	json_part(&b, "shared", &t->shared);
	json_part(&b, "store", &t->store);
	json_part(&b, "other", &t->other);
	json_part(&b, "reclaimable", &t->reclaim);
	dbuf_addf(&b, ",\"exact\":%s,\"errors\":%llu,\"partial\":%s,\"elapsed\":%.3f,\"exit\":%d}\n",
		  exact ? "true" : "false", (unsigned long long)t->errors,
		  t->errors ? "true" : "false", cli_elapsed(&c->cli), status);
	cli_write(&c->cli, b.buf, b.len);
	dbuf_release(&b);
}

/* The usage-tag and usage-tag-mismatch records of an image. */
static void tag_records(struct usage_ctx *c, const struct va_usage *u)
{
	struct dbuf b = DBUF_INIT;

	for (size_t i = 0; i < u->ntags; i++) {
		dbuf_setlen(&b, 0);
		cli_json_head(&b, &c->cli, "usage-tag");
		dbuf_addf(&b, ",\"tag\":%lu,\"files\":%llu,\"bytes\":%llu}\n", (unsigned long)u->tags[i].tag,
			  (unsigned long long)u->tags[i].part.files,
			  (unsigned long long)u->tags[i].part.bytes);
		cli_write(&c->cli, b.buf, b.len);
	}
	for (size_t i = 0; i < u->nmismatches; i++) {
		const struct va_usage_mismatch *m = &u->mismatches[i];
		const struct va_usage_guest *g = &u->guests[m->guest];

		dbuf_setlen(&b, 0);
		cli_json_head(&b, &c->cli, "usage-tag-mismatch");
		va_json_field(&b, "path", m->path, m->path_len);
		va_json_field(&b, "guest", g->name, g->name_len);
		dbuf_addf(&b, ",\"ino\":%lu,\"tag\":%lu,\"context\":%lu}\n", (unsigned long)m->ino,
			  (unsigned long)m->tag, (unsigned long)g->context);
		cli_write(&c->cli, b.buf, b.len);
	}
	dbuf_release(&b);
}

/* An image's tags as text: one line per tag, then the names whose tag is not their guest's. */
static void tag_text(struct usage_ctx *c, const struct va_usage *u)
{
	struct dbuf b = DBUF_INIT, p = DBUF_INIT;

	if (!u->ntags)
		return;
	dbuf_addf(&b, "%-20s %10s %12s\n", "TAG", "FILES", "MiB");
	for (size_t i = 0; i < u->ntags; i++)
		dbuf_addf(&b, "%-20lu %10llu %12.1f\n", (unsigned long)u->tags[i].tag,
			  (unsigned long long)u->tags[i].part.files,
			  (double)u->tags[i].part.bytes / MIB);
	if (!u->contexts_known)
		dbuf_adds(&b, "tags: the guests' contexts are unknown (no /etc/vservers in the image): "
			  "figures per tag only\n");
	else
		dbuf_addf(&b, "tags: %zu name%s in a guest tagged for another context\n", u->nmismatches,
			  u->nmismatches == 1 ? "" : "s");
	for (size_t i = 0; i < u->nmismatches; i++) {
		const struct va_usage_mismatch *m = &u->mismatches[i];
		const struct va_usage_guest *g = &u->guests[m->guest];

		dbuf_setlen(&p, 0);
		va_escape_shell(&p, m->path, m->path_len);
		dbuf_addf(&b, "  %s: tag %lu, its guest's context is %lu\n", dbuf_str(&p),
			  (unsigned long)m->tag, (unsigned long)g->context);
	}
	cli_write(&c->cli, b.buf, b.len);
	dbuf_release(&p);
	dbuf_release(&b);
}

static void text_row(struct usage_ctx *c, const char *name, size_t len, uint64_t files,
		     const struct va_usage_part *priv, const struct va_usage_part *shared,
		     const struct va_usage_part *store, const struct va_usage_part *reclaim)
{
	struct dbuf b = DBUF_INIT, n = DBUF_INIT;

	va_escape_shell(&n, name, len);
	dbuf_addf(&b, "%-20s %10llu %12.1f %12.1f %12.1f %15.1f\n", dbuf_str(&n),
		  (unsigned long long)files, (double)priv->bytes / MIB, (double)shared->bytes / MIB,
		  (double)store->bytes / MIB, (double)reclaim->bytes / MIB);
	cli_write(&c->cli, b.buf, b.len);
	dbuf_release(&n);
	dbuf_release(&b);
}

static void text_report(struct usage_ctx *c, const struct va_usage *u, bool exact)
{
	const struct va_usage_total *t = &u->total;
	struct dbuf b = DBUF_INIT;

	dbuf_addf(&b, "%-20s %10s %12s %12s %12s %15s\n", "GUEST", "FILES", "PRIVATE-MiB",
		  "SHARED-MiB", "STORE-MiB", "RECLAIMABLE-MiB");
	cli_write(&c->cli, b.buf, b.len);
	for (size_t i = 0; i < u->nguests; i++) {
		const struct va_usage_guest *g = &u->guests[i];

		text_row(c, g->name, g->name_len, g->all.files, &g->priv, &g->shared, &g->store,
			 &g->reclaim);
	}
	text_row(c, "total", 5, t->all.files, &t->priv, &t->shared, &t->store, &t->reclaim);
	dbuf_setlen(&b, 0);
	if (c->image) {
		dbuf_adds(&b, "image ");
		va_quote(&b, c->image, strlen(c->image));
		dbuf_adds(&b, ": ");
	} else {
		dbuf_adds(&b, "host: ");
	}
	dbuf_addf(&b, "%llu files, %.1f MiB used (each inode once), %.1f MiB if every name "
		  "had its own copy: unification saves %.1f MiB; reclaimable %.1f MiB in %llu "
		  "files (%s)\n", (unsigned long long)t->all.files, (double)t->all.bytes / MIB,
		  (double)t->copies_bytes / MIB, (double)(t->copies_bytes - t->all.bytes) / MIB,
		  (double)t->reclaim.bytes / MIB, (unsigned long long)t->reclaim.files,
		  exact ? "equal content" : "equal size and metadata, content not compared");
	cli_write(&c->cli, b.buf, b.len);
	dbuf_release(&b);
	tag_text(c, u);
}

/*
 * The ROOTs: the operands, else the parents of the configured vdirs, else
 * DEFAULT_ROOT.  *@owned (NULL-terminated) is freed by the caller.
 * Return: 0 or the exit status.
 */
static int usage_roots(struct usage_ctx *c, const struct vaudit_opts *o, const struct va_config *cfg,
		       char ***owned, const char *const **roots, size_t *nroots)
{
	static const char *const default_roots[] = { DEFAULT_ROOT };
	struct stat st;
	long n;

	if (o->nroots) {
		*roots = o->roots;
		*nroots = o->nroots;
		return 0;
	}
	if (cfg) {
		if ((n = va_config_roots(cfg, owned)) < 0) {
			cli_say(&c->cli, "%s", strerror((int)-n));
			return CLI_EXIT_TROUBLE;
		}
		*roots = (const char *const *)*owned;
		*nroots = (size_t)n;
		return 0;
	}
	if (!o->no_config && lstat(DEFAULT_ROOT, &st) < 0 && errno == ENOENT) {
		cli_say(&c->cli, "no configuration (%s) and no %s on this host: name the ROOT, or the "
			"host root of another disk with --host-root", VA_CONFIG_DIR, DEFAULT_ROOT);
		return CLI_EXIT_TROUBLE;
	}
	*roots = default_roots;
	*nroots = 1;
	return 0;
}

int run_usage(const struct vaudit_opts *o)
{
	struct usage_ctx c = { .json = o->fmt == VA_FMT_JSON, .image = o->image };
	struct va_image *img = NULL;
	struct va_error ie = VA_ERROR_INIT;
	const char *prefix[1] = { o->prefix ? o->prefix : "/" };
	struct va_config *cfg = NULL;
	struct va_usage u = { 0 };
	char **owned = NULL;
	const char *const *roots = NULL;
	size_t nroots = 0;
	bool exact = o->given & (UINT64_C(1) << O_EXACT);
	int r;

	cli_init(&c.cli, PROG);
	c.cli.quiet = o->quiet;
	if (o->image) {
		if ((r = open_image_prefix(&c.cli, o->image, 0, prefix[0], &img)))
			goto out;
		roots = prefix;
		nroots = 1;
	} else if ((r = load_config(&c.cli, o, &cfg)) ||
		   (r = usage_roots(&c, o, cfg, &owned, &roots, &nroots))) {
		goto out;
	}
	cli_start(&c.cli, o->progress);
	r = va_usage_run(&(struct va_usage_args){
				.roots = roots, .nroots = nroots, .config = cfg,
				.flags = (exact ? VA_USAGE_EXACT : 0) |
					 ((o->audit_flags & VA_AUDIT_CROSS_MOUNTS) ?
					  VA_USAGE_CROSS_MOUNTS : 0),
				.img = img, .tag_scheme = o->tag_scheme, .img_err = &ie,
				.error = on_error, .progress = on_progress, .user = &c }, &u);
	cli_clear_progress(&c.cli);
	if (va_error_is_set(&ie)) {
		const char *why = ie.why ? ie.why : ie.code ? va_image_strerror(ie.code) : NULL;

		cli_error(&c.cli, &ie);
		if (c.json)
			cli_json_error(&c.cli, ie.path.buf, ie.path.len, ie.what[0] ? ie.what : NULL, why,
				       ie.code);
		r = CLI_EXIT_TROUBLE;
		goto out;
	}
	if (r < 0) {
		cli_say(&c.cli, "%s", strerror(-r));
		r = CLI_EXIT_TROUBLE;
		goto out;
	}
	r = u.total.errors ? CLI_EXIT_PARTIAL : CLI_EXIT_OK;
	if (c.json) {
		for (size_t i = 0; i < u.nguests; i++)
			usage_record(&c, &u.guests[i], roots[u.guests[i].root_index]);
		tag_records(&c, &u);
		total_record(&c, &u, roots, nroots, exact, r);
	} else {
		text_report(&c, &u, exact);
	}
	if (cli_finish_output(&c.cli))
		r = CLI_EXIT_TROUBLE;
out:
	va_usage_release(&u);
	va_error_release(&ie);
	va_image_close(img);
	for (size_t i = 0; owned && owned[i]; i++)
		free(owned[i]);
	free(owned);
	va_config_free(cfg);
	return r;
}
