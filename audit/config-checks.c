/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config-checks.c - the checks of the host configuration (core/vsconfig)
 * and of the hash stores it names.  Findings on configuration files carry
 * the file as their path and a detail sentence; they have no flags.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/checks.h"
#include "core/attr.h"
#include "core/dbuf.h"
#include "core/exclude.h"
#include "core/flags.h"
#include "core/target.h"
#include "core/vsconfig.h"
#include "core/walk.h"

/* ------------------------------------------------------------------ secrets */

/* Secrets no guest may share with another (guest-absolute fnmatch patterns). */
static const char *const builtin_secrets[] = {
	"/etc/shadow",
	"/etc/gshadow",
	"/etc/ssh/ssh_host_*_key",
	"/root/.ssh/id*",
	"/root/.gnupg/secring*",
	"/etc/ssl/private/*",
};

/*
 * fnmatch(@pattern, @path, 0), after a quick look at the literal part of
 * @pattern before its first special character, which @path must start
 * with (most names fail there).
 */
static bool matches(const char *pattern, const char *path)
{
	size_t lit = strcspn(pattern, "*?[\\");

	return strncmp(pattern, path, lit) == 0 && fnmatch(pattern, path, 0) == 0;
}

const char *va_secret_match(const char *path, const struct va_excl_list *excl)
{
	for (size_t i = 0; i < sizeof(builtin_secrets) / sizeof(*builtin_secrets); i++)
		if (matches(builtin_secrets[i], path))
			return builtin_secrets[i];
	for (size_t i = 0; excl && i < excl->nrules; i++)
		if (excl->rules[i].action == VA_EXCL_SKIP && matches(excl->rules[i].pattern, path))
			return excl->rules[i].pattern;
	return NULL;
}

/* ------------------------------------------------------------------ emitting */

struct cc {
	const struct va_audit_args *args;
	struct va_audit_stats *stats;
	const struct va_config *cfg;
	int err;
};

/* One configuration finding; @sev < 0 means the kind's default severity. */
static void emit(struct cc *cc, enum va_kind kind, int sev, long guest, const char *path,
		 unsigned line, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

int va_audit_config_finding(const struct va_audit_args *args, struct va_audit_stats *stats,
			    enum va_kind kind, int sev, long guest, const char *path, unsigned line,
			    const char *detail)
{
	const struct va_config *c = args->config;
	struct va_finding f;

	if (!(args->kinds & VA_KIND_BIT(kind)))
		return 0;
	memset(&f, 0, sizeof(f));
	f.kind = kind;
	f.severity = sev < 0 ? va_kind_severity(kind) : (enum va_severity)sev;
	f.root = c->cfgdir;
	if (guest >= 0) {
		f.where.guest = c->guests[guest].name;
		f.where.guest_len = strlen(f.where.guest);
	}
	f.where.path = (char *)path;
	f.where.path_len = strlen(path);
	f.line = line;
	f.detail = detail;
	stats->findings++;
	stats->by_kind[kind]++;
	if (va_severity_counts(f.severity))
		stats->problems++;
	return args->hooks.finding ? args->hooks.finding(&f, args->hooks.user) : 0;
}

static void emit(struct cc *cc, enum va_kind kind, int sev, long guest, const char *path,
		 unsigned line, const char *fmt, ...)
{
	char *detail = NULL;
	va_list ap;
	int r;

	if (cc->err || !(cc->args->kinds & VA_KIND_BIT(kind)))
		return;
	va_start(ap, fmt);
	r = vasprintf(&detail, fmt, ap);
	va_end(ap);
	if (r < 0) {
		cc->err = -ENOMEM;
		return;
	}
	cc->err = va_audit_config_finding(cc->args, cc->stats, kind, sev, guest, path, line, detail);
	free(detail);
}

/* "<cfgdir of guest g>/<rel>" in a buffer the caller frees. */
static char *gpath(const struct va_config *c, long g, const char *rel)
{
	char *s;

	if (asprintf(&s, "%s/%s", c->guests[g].cfgdir, rel) < 0)
		return NULL;
	return s;
}

/* ------------------------------------------------------------------ checks */

static void check_contexts(struct cc *cc)
{
	const struct va_config *c = cc->cfg;

	for (size_t i = 0; i < c->nguests && !cc->err; i++) {
		const struct va_guest *g = &c->guests[i];
		char *p;

		if (g->context < 0)
			continue;
		/* a legacy guest: S_CONTEXT's line of NAME.conf */
		if (!(p = g->conf ? strdup(g->cfgdir) : gpath(c, (long)i, "context"))) {
			cc->err = -ENOMEM;
			return;
		}
		if (g->context < VA_CONTEXT_MIN || g->context > VA_CONTEXT_MAX)
			emit(cc, VA_KIND_CONFIG_CONTEXT_RANGE, -1, (long)i, p, g->context_line,
			     "context %ld is outside %d-%d%s", g->context, VA_CONTEXT_MIN, VA_CONTEXT_MAX,
			     g->context == 0 ? " (0 is the host)" : g->context == 1 ? " (1 is the watch context)" :
			     g->context <= 65535 ? " (the dynamic range)" : " (more than 16 bits)");
		for (size_t k = 0; k < c->nguests; k++)
			if (k != i && c->guests[k].context == g->context)
				emit(cc, VA_KIND_CONFIG_DUPLICATE_CONTEXT, -1, (long)i, p, g->context_line,
				     "context %ld is also the context of guest %s%s", g->context,
				     c->guests[k].name, c->guests[k].conf ? " (legacy NAME.conf)" : "");
		free(p);
	}
}

static void check_vdirs(struct cc *cc)
{
	const struct va_config *c = cc->cfg;

	for (size_t i = 0; i < c->nguests && !cc->err; i++) {
		const struct va_guest *g = &c->guests[i];
		char *p;

		if (g->vdir)
			continue;
		p = strcmp(g->vdir_from, "vdir") == 0 ? gpath(c, (long)i, "vdir") : strdup(g->cfgdir);
		if (!p) {
			cc->err = -ENOMEM;
			return;
		}
		/* a disabled guest does not start anyway */
		emit(cc, VA_KIND_CONFIG_VDIR_MISSING, g->disabled ? VA_SEV_WARNING : -1, (long)i, p, 0,
		     "%s%s", g->vdir_why ? g->vdir_why : "no vdir", g->disabled ? " (guest disabled)" : "");
		free(p);
	}
}

/* Is guest @to reachable from guest @from through refserver links? */
static bool reaches(const struct va_config *c, long from, long to, unsigned char *seen)
{
	if (from == to)
		return true;
	if (seen[from])
		return false;
	seen[from] = 1;
	for (size_t k = 0; k < c->guests[from].nrefs; k++) {
		long n = c->guests[from].refs[k].guest;

		if (n >= 0 && !c->guests[from].refs[k].why && reaches(c, n, to, seen))
			return true;
	}
	return false;
}

static void check_refservers(struct cc *cc)
{
	const struct va_config *c = cc->cfg;
	unsigned char *seen = calloc(c->nguests ? c->nguests : 1, 1);

	if (!seen) {
		cc->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < c->nguests && !cc->err; i++) {
		const struct va_guest *g = &c->guests[i];

		for (size_t k = 0; k < g->nrefs && !cc->err; k++) {
			const struct va_refserver *ref = &g->refs[k];
			char *rel = NULL, *p;

			if (asprintf(&rel, "apps/vunify/%s", ref->entry) < 0 ||
			    !(p = gpath(c, (long)i, rel))) {
				free(rel);
				cc->err = -ENOMEM;
				break;
			}
			free(rel);
			if (ref->why) {
				emit(cc, VA_KIND_CONFIG_REFSERVER_INVALID, -1, (long)i, p, 0, "%s", ref->why);
			} else if (ref->guest == (long)i) {
				emit(cc, VA_KIND_CONFIG_REFSERVER_INVALID, -1, (long)i, p, 0,
				     "it names the guest itself");
			} else if (ref->guest >= 0) {
				memset(seen, 0, c->nguests);
				if (reaches(c, ref->guest, (long)i, seen))
					emit(cc, VA_KIND_CONFIG_REFSERVER_INVALID, -1, (long)i, p, 0,
					     "cycle: %s refers back to %s through its refservers",
					     c->guests[ref->guest].name, g->name);
			}
			free(p);
		}
	}
	free(seen);
}

static void check_vshelper(struct cc *cc)
{
	const struct va_config *c = cc->cfg;

	for (size_t i = 0; i < c->nguests && !cc->err; i++) {
		const struct va_guest *g = &c->guests[i];
		char *p;

		if (!g->vshelper_action || g->vshelper_action_known)
			continue;
		if (!(p = gpath(c, (long)i, "apps/vshelper/action"))) {
			cc->err = -ENOMEM;
			return;
		}
		emit(cc, VA_KIND_CONFIG_VSHELPER_ACTION, -1, (long)i, p, 0,
		     "unknown vshelper method '%.100s'%s", g->vshelper_action,
		     g->vshelper_disabled ? " (vshelper is disabled for this guest)" : "");
		free(p);
	}
}

/* The flags of directory @canon of the host, through the back end. */
static int read_dir_attrs(struct cc *cc, const char *canon, struct va_attrs *at, uint32_t *mode)
{
	int fd = va_config_open_dir(cc->cfg, canon), r;
	struct stat st;
	struct va_attr_target t = { .dir_fd = -1 };

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	t.fd = fd;
	t.dev = st.st_dev;
	t.ino = st.st_ino;
	t.mode = st.st_mode;
	*mode = st.st_mode;
	r = va_backend_read(cc->args->backend, &t, at);
	close(fd);
	return r;
}

static void check_nonamespace(struct cc *cc)
{
	const struct va_config *c = cc->cfg;
	char *parent = NULL;    /* the last ROOT read: guests mostly share one */
	uint64_t k = 0;

	for (size_t i = 0; i < c->nguests && !cc->err; i++) {
		const struct va_guest *g = &c->guests[i];
		size_t plen;
		char *p;

		if (!g->nonamespace || !g->vdir_canon || !cc->args->backend)
			continue;
		plen = (size_t)(strrchr(g->vdir_canon, '/') - g->vdir_canon);
		if (!parent || strlen(parent) != (plen ? plen : 1) ||
		    strncmp(parent, plen ? g->vdir_canon : "/", plen ? plen : 1) != 0) {
			struct va_attrs at = { 0 };
			uint32_t mode = 0;

			free(parent);
			parent = plen ? strndup(g->vdir_canon, plen) : strdup("/");
			if (!parent) {
				cc->err = -ENOMEM;
				break;
			}
			/* unreadable: the ROOT's own finding or error says more */
			k = read_dir_attrs(cc, parent, &at, &mode) < 0 ? 0 :
			    va_check_root(at.flags, at.known, mode);
		}
		if (!(k & (VA_KIND_BIT(VA_KIND_MISSING_BARRIER) | VA_KIND_BIT(VA_KIND_LEGACY_BARRIER))))
			continue;
		if (g->nonamespace_global ? asprintf(&p, "%s/.defaults/nonamespace", c->cfgdir) < 0 :
		    !(p = gpath(c, (long)i, "nonamespace"))) {
			cc->err = -ENOMEM;
			break;
		}
		emit(cc, VA_KIND_CONFIG_NONAMESPACE_NO_BARRIER, -1, (long)i, p, 0,
		     "the guest shares the host's mount namespace and %.*s has %s",
		     (int)(strrchr(g->vdir, '/') - g->vdir), g->vdir,
		     (k & VA_KIND_BIT(VA_KIND_LEGACY_BARRIER)) ?
		     "only the 2.4 barrier, which 2.6 ignores" : "no chroot barrier");
		free(p);
	}
	free(parent);
}

static void check_hash_devices(struct cc *cc)
{
	const struct va_config *c = cc->cfg;

	for (size_t i = 0; i < c->nguests && !cc->err; i++) {
		const struct va_guest *g = &c->guests[i];
		const struct va_hash_dir *h;
		const struct va_hash_entry *match = NULL;

		if (g->hash < 0 || !g->vdir || !g->has_vunify)
			continue;
		h = &c->hashdirs[g->hash];
		for (size_t k = 0; k < h->nentries && !match; k++)
			if (h->entries[k].path && !h->entries[k].duplicate &&
			    h->entries[k].id.dev == g->vdir_id.dev)
				match = &h->entries[k];
		if (!match) {
			emit(cc, VA_KIND_CONFIG_HASH_CROSS_DEVICE, -1, (long)i, h->path, 0,
			     "no entry of this hash directory is on the filesystem of %s (device %u:%u)",
			     g->vdir, major(g->vdir_id.dev), minor(g->vdir_id.dev));
		} else if (match->id.mnt_known && g->vdir_id.mnt_known &&
			   match->id.mnt_id != g->vdir_id.mnt_id) {
			char *p;

			if (asprintf(&p, "%s/%s", h->path, match->name) < 0) {
				cc->err = -ENOMEM;
				return;
			}
			emit(cc, VA_KIND_CONFIG_HASH_CROSS_DEVICE, -1, (long)i, p, 0,
			     "%s is on the same filesystem as %s but another mount (a bind mount?): "
			     "link() between them fails with EXDEV", match->path, g->vdir);
			free(p);
		}
	}
}

static void check_running(struct cc *cc)
{
	const struct va_config *c = cc->cfg;

	for (size_t i = 0; i < c->nguests && !cc->err; i++)
		if (c->guests[i].running == VA_RUN_RUNNING)
			emit(cc, VA_KIND_GUEST_RUNNING, -1, (long)i, c->guests[i].cfgdir, 0, "%s",
			     c->guests[i].running_why ? c->guests[i].running_why : "running");
}

int va_audit_config(const struct va_audit_args *args, struct va_audit_stats *stats)
{
	struct cc cc = { .args = args, .stats = stats, .cfg = args->config };
	const struct va_config *c = args->config;

	if (!c)
		return 0;
	for (size_t i = 0; i < c->nproblems && !cc.err; i++) {
		const struct va_config_problem *p = &c->problems[i];

		emit(&cc, p->kind, -1, p->guest, p->path, p->line, "%s", p->detail);
	}
	check_contexts(&cc);
	check_vdirs(&cc);
	check_refservers(&cc);
	check_vshelper(&cc);
	check_nonamespace(&cc);
	check_hash_devices(&cc);
	if (!cc.err)
		cc.err = va_audit_fstab(args, stats);
	if (!cc.err)
		cc.err = va_audit_vmount(args, stats);
	check_running(&cc);
	return cc.err;
}

/* ------------------------------------------------------------------ hash stores */

struct hs {
	struct cc *cc;
	const char *root;
};

static enum va_walk_action on_store_entry(const struct va_walk_entry *e, void *user)
{
	struct hs *hs = user;
	struct cc *cc = hs->cc;
	struct va_attr_target t;
	struct va_attrs at = { 0 };
	const char *why = NULL;
	struct va_finding f;

	if (e->visit == VA_WALK_ERROR) {
		cc->stats->errors++;
		if (cc->args->hooks.error)
			cc->args->hooks.error(e->path, e->path_len, e->error_op, e->error,
					      cc->args->hooks.user);
		return VA_WALK_CONTINUE;
	}
	if (e->visit != VA_WALK_PRE || !e->stx)
		return VA_WALK_CONTINUE;
	cc->stats->entries++;
	if (!(e->depth == 0 && S_ISDIR(e->stx->stx_mode)) && !S_ISREG(e->stx->stx_mode))
		return VA_WALK_CONTINUE;
	/* method, blocks, blocksize: vhashify's own files, not entries */
	if (S_ISREG(e->stx->stx_mode) && va_is_store_bookkeeping(e->name, e->name_len, e->depth))
		return VA_WALK_CONTINUE;
	t = va_target_of(e);
	cc->stats->flag_reads++;
	if (va_backend_read(cc->args->backend, &t, &at) < 0 || !(at.known & VA_KNOWN_EXT2))
		return VA_WALK_CONTINUE;
	if (e->depth == 0) {
		uint64_t k = va_check_root(at.flags, at.known, e->stx->stx_mode);

		if (k & VA_KIND_BIT(VA_KIND_MISSING_BARRIER))
			why = "the hash store has no chroot barrier";
		else if (k & VA_KIND_BIT(VA_KIND_LEGACY_BARRIER))
			why = "the hash store has only the 2.4 barrier, which 2.6 ignores";
	} else if (!(at.flags & VA_FL_IMMUTABLE)) {
		why = "the entry is not immutable: any guest linked to it can change it for all";
	} else if (!(at.flags & VA_FL_NOTAIL) && (at.known & VA_KNOWN_VS26) &&
		   !(at.flags & VA_VS26_IUNLINK)) {
		why = "the entry is immutable without iunlink: guests cannot replace their copy";
	}
	if (!why)
		return VA_WALK_CONTINUE;
	memset(&f, 0, sizeof(f));
	f.root = hs->root;
	f.where.path = (char *)e->path;
	f.where.path_len = e->path_len;
	f.dev = makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor);
	f.ino = e->stx->stx_ino;
	f.nlink = e->stx->stx_nlink;
	f.mode = e->stx->stx_mode;
	f.flags = at.flags;
	f.flags_known = at.known;
	f.gen = at.gen;
	f.gen_known = at.gen_known;
	f.detail = why;
	cc->err = va_emit_kinds(cc->args, cc->stats, &f, VA_KIND_BIT(VA_KIND_HASH_UNPROTECTED),
				e->depth == 0);
	return cc->err ? VA_WALK_STOP : VA_WALK_CONTINUE;
}

/* hash-unprotected below the store at @path.  Return: 0 or a negative errno. */
static int walk_store(struct cc *cc, const char *path)
{
	const char *roots[1] = { path };
	struct hs hs = { cc, path };
	struct va_walk_args w = {
		.roots = roots,
		.nroots = 1,
		.flags = VA_WALK_XDEV,
		.stx_mask = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO,
		.callback = on_store_entry,
		.user = &hs,
	};
	int r = va_walk(&w);

	return r < 0 && !cc->err ? r : cc->err;
}

int va_audit_store(const struct va_audit_args *args, struct va_audit_stats *stats, const char *path)
{
	struct cc cc = { .args = args, .stats = stats, .cfg = args->config };

	if (!args->backend || !(args->kinds & VA_KIND_BIT(VA_KIND_HASH_UNPROTECTED)))
		return 0;
	return walk_store(&cc, path);
}

bool va_config_is_store(const struct va_config *c, dev_t dev, uint64_t ino)
{
	for (size_t i = 0; c && i < c->nhashdirs; i++)
		for (size_t k = 0; k < c->hashdirs[i].nentries; k++)
			if (c->hashdirs[i].entries[k].path && c->hashdirs[i].entries[k].id.dev == dev &&
			    c->hashdirs[i].entries[k].id.ino == ino)
				return true;
	return false;
}

int va_audit_hash_stores(const struct va_audit_args *args, struct va_audit_stats *stats)
{
	struct cc cc = { .args = args, .stats = stats, .cfg = args->config };
	const struct va_config *c = args->config;

	if (!c || !args->backend || !(args->kinds & VA_KIND_BIT(VA_KIND_HASH_UNPROTECTED)))
		return 0;
	for (size_t i = 0; i < c->nhashdirs && !cc.err; i++) {
		const struct va_hash_dir *h = &c->hashdirs[i];

		for (size_t k = 0; k < h->nentries && !cc.err; k++) {
			const struct va_hash_entry *e = &h->entries[k];
			bool seen = false;

			if (!e->path || e->duplicate)
				continue;
			/* another hash directory (or a bind mount) may name the same store */
			for (size_t j = 0; j <= i && !seen; j++)
				for (size_t m = 0; m < (j == i ? k : c->hashdirs[j].nentries); m++)
					seen |= c->hashdirs[j].entries[m].path &&
						c->hashdirs[j].entries[m].id.dev == e->id.dev &&
						c->hashdirs[j].entries[m].id.ino == e->id.ino;
			if (seen)
				continue;
			cc.err = walk_store(&cc, e->path);
		}
	}
	return cc.err;
}
