/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fstab-checks.c - the checks of the guests' fstab files (what they are
 * and what util-vserver does with them: vserver-config(5), FSTAB FILES).
 *
 * A guest's mounts are the well-formed lines of its fstab, fstab.local
 * and fstab.remote, in that order (util-vserver mounts the three files one
 * after the other, each in file order, inside the guest's namespace with
 * the guest root as "/"; a line whose destination is "/" is the guest's
 * root filesystem, mounted before all others, and is left out of the
 * order checks).  .defaults/fstab, the template util-vserver copies into
 * the guests it builds, is checked on its own, for what does not depend
 * on a guest.
 *
 * Paths of the host (bind sources) are resolved by the configuration's
 * resolver, inside the host root; destinations are resolved inside the
 * guest root one component at a time without following a symbolic link
 * (core/safeopen.h).  Nothing is changed and nothing is mounted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/dbuf.h"
#include "core/exclude.h"
#include "core/fstab.h"
#include "core/safeopen.h"
#include "core/vsconfig.h"
#include "core/walk.h"

/* The secret walk below a bind source stops after this many entries. */
#define MAX_SECRET_WALK 100000
/* The walks of bind sources are kept (for the next bind of the same source) up to this size. */
#define MAX_WALK_CACHE (64u << 20)
/* Cycles are looked for among at most this many mounts of one guest. */
#define MAX_CYCLE_ENTRIES 1024

/* One mount of a guest (or of the template). */
struct mnt {
	const struct va_fstab_entry *e;
	const char *file;       /* real path of its file */
	const char *fname;      /* the file's name ("fstab.remote") */
	char *dst;              /* clean destination (va_fstab_norm_dst()) */
	bool climbs;            /* a ".." of the destination climbs above "/" */
	bool skip;              /* secure-mount ignores the line (type swap) */
	bool unmounted;         /* not mounted with the others (noauto, or skipped) */
	bool bind, ro;
	char *src_canon;        /* a bind whose source resolves: canonical path */
	char *src_real;         /* ... and its real path */
	int src_type;           /* S_IFMT bits */
	char *own;              /* a bind of the guest's own tree: the guest path, else NULL */
};

/* A resolved bind of some guest, for the shared read-write check. */
struct bindref {
	long guest;
	const char *file;
	unsigned line;
	const char *real;       /* owned by the guest's struct mnt, live until the end */
	bool ro;
};

struct fc {
	const struct va_audit_args *args;
	struct va_audit_stats *stats;
	const struct va_config *c;
	int err;
	struct bindref *binds;
	size_t nbinds, capbinds;
	struct walked *walks;   /* the bind sources walked for secrets */
	size_t nwalks, capwalks, walk_bytes;
	/* every guest's mounts, kept until the shared check is done */
	struct mnt **lists;
	size_t *nlists;
};

/* What each finding is: its kind and severity. */
enum what {
	W_TYPE,         /* an unknown filesystem type */
	W_SOURCE,       /* a bind source that does not resolve */
	W_DUPLICATE,    /* a destination mounted twice */
	W_ORDER,        /* a mount hidden or made too early, a cycle */
	W_FOREIGN,      /* a bind of another guest's tree */
	W_SECRET,       /* secrets under a bind source */
	W_SHARED_RW,    /* a read-write bind of a tree other guests bind */
	W_DESTINATION,  /* a destination that leaves the guest */
};

static const struct {
	enum va_kind kind;
	enum va_severity sev;
} whats[] = {
	[W_TYPE]        = { VA_KIND_CONFIG_FSTAB_INVALID, VA_SEV_WARNING },
	[W_SOURCE]      = { VA_KIND_CONFIG_FSTAB_INVALID, VA_SEV_ERROR },
	[W_DUPLICATE]   = { VA_KIND_CONFIG_FSTAB_INVALID, VA_SEV_WARNING },
	[W_ORDER]       = { VA_KIND_CONFIG_FSTAB_INVALID, VA_SEV_ERROR },
	[W_FOREIGN]     = { VA_KIND_CONFIG_FSTAB_UNSAFE, VA_SEV_ERROR },
	[W_SECRET]      = { VA_KIND_CONFIG_FSTAB_UNSAFE, VA_SEV_ERROR },
	[W_SHARED_RW]   = { VA_KIND_CONFIG_FSTAB_UNSAFE, VA_SEV_WARNING },
	[W_DESTINATION] = { VA_KIND_CONFIG_FSTAB_UNSAFE, VA_SEV_ERROR },
};

static void emit(struct fc *fc, enum what what, long guest, const struct mnt *m,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void emit(struct fc *fc, enum what what, long guest, const struct mnt *m,
		 const char *fmt, ...)
{
	enum va_kind kind = whats[what].kind;
	char *detail = NULL;
	va_list ap;
	int r;

	if (fc->err || !(fc->args->kinds & VA_KIND_BIT(kind)))
		return;
	va_start(ap, fmt);
	r = vasprintf(&detail, fmt, ap);
	va_end(ap);
	if (r < 0) {
		fc->err = -ENOMEM;
		return;
	}
	fc->err = va_audit_config_finding(fc->args, fc->stats, kind, (int)whats[what].sev, guest,
					  m->file, m->e->line, detail);
	free(detail);
}

static void free_mnts(struct mnt *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].dst);
		free(v[i].src_canon);
		free(v[i].src_real);
		free(v[i].own);
	}
	free(v);
}

/* The path @p relative to the real directory @dir ("/" for @dir itself), or NULL if not below it. */
static char *below_real(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (strncmp(p, dir, n) != 0 || (p[n] != '/' && p[n] != '\0'))
		return NULL;
	return strdup(p[n] ? p + n : "/");
}

/* Is guest @k a reference guest (refserver) of guest @g? */
static bool is_refserver(const struct va_config *c, long g, long k)
{
	for (size_t i = 0; g >= 0 && i < c->guests[g].nrefs; i++)
		if (c->guests[g].refs[i].guest == k && !c->guests[g].refs[i].why)
			return true;
	return false;
}

/*
 * Why the bind source @real (a real path) is not guest @g's own tree
 * (@g -1: the template, whose every guest tree is foreign), as a phrase in
 * @why; empty when it is its own or the host's.
 */
static int foreign_why(const struct va_config *c, long g, const char *real, struct dbuf *why)
{
	size_t held = 0;

	for (size_t k = 0; k < c->nguests; k++) {
		const char *v = c->guests[k].vdir;

		if ((long)k == g || !v)
			continue;
		if (va_fstab_path_below(real, v, true))
			return dbuf_addf(why, "it lies in the root of guest %s (%s)%s", c->guests[k].name,
					 v, is_refserver(c, g, (long)k) ?
					 ", a reference guest of this one" : "");
	}
	for (size_t k = 0; k < c->nguests; k++) {
		const char *v = c->guests[k].vdir;

		if ((long)k == g || !v || !va_fstab_path_below(v, real, false))
			continue;
		if (dbuf_adds(why, held++ ? ", " : "it holds the roots of guests ") < 0 ||
		    dbuf_adds(why, c->guests[k].name) < 0)
			return -ENOMEM;
	}
	if (held)
		return 0;
	for (size_t i = 0; i < c->nhashdirs; i++)
		for (size_t k = 0; k < c->hashdirs[i].nentries; k++) {
			const char *h = c->hashdirs[i].entries[k].path;

			if (h && (va_fstab_path_below(real, h, true) || va_fstab_path_below(h, real, false)))
				return dbuf_addf(why, "it is or holds the hash store %s", h);
		}
	/* a directory beside the guest roots that no guest has as its root */
	for (size_t k = 0; k < c->nguests; k++) {
		const char *v = c->guests[k].vdir, *slash;
		size_t plen, n;
		bool configured = false;

		if (!v || !(slash = strrchr(v, '/')) || slash == v)
			continue;
		plen = (size_t)(slash - v);
		if (strncmp(real, v, plen) != 0 || real[plen] != '/')
			continue;
		n = strcspn(real + plen + 1, "/");
		for (size_t j = 0; j < c->nguests && !configured; j++) {
			const char *w = c->guests[j].vdir;

			configured = w && strncmp(w, real, plen + 1 + n) == 0 && w[plen + 1 + n] == '\0';
		}
		if (!configured)
			return dbuf_addf(why, "it lies in %.*s, a directory beside the guest roots that is "
					 "no configured guest's root (a shadow or template guest?)",
					 (int)(plen + 1 + n), real);
		break;
	}
	return 0;
}

/* ------------------------------------------------------------------ secrets */

/*
 * The regular files below one bind source, walked once however many binds
 * name it: their paths relative to the source ("" for a source that is a
 * file, else "/a/b"), NUL-separated in @names.
 */
struct walked {
	char *root;             /* the source's real path */
	bool rbind;             /* walked across mounts */
	struct dbuf names;
	size_t *offs;
	size_t n, cap;
	size_t entries;
	bool cut;               /* the walk stopped at MAX_SECRET_WALK entries */
	int err;
};

static enum va_walk_action on_walk_entry(const struct va_walk_entry *e, void *user)
{
	struct walked *w = user;
	size_t len = strlen(w->root);

	if (e->visit != VA_WALK_PRE || !e->stx)
		return VA_WALK_CONTINUE;
	if (++w->entries > MAX_SECRET_WALK) {
		w->cut = true;
		return VA_WALK_STOP;
	}
	if (!S_ISREG(e->stx->stx_mode))
		return VA_WALK_CONTINUE;
	if (va_array_grow(&w->offs, &w->cap, w->n, sizeof(*w->offs)) < 0) {
		w->err = -ENOMEM;
		return VA_WALK_STOP;
	}
	w->offs[w->n++] = w->names.len;
	if (dbuf_add(&w->names, e->path + len, e->path_len - len) < 0 ||
	    dbuf_addc(&w->names, '\0') < 0) {
		w->err = -ENOMEM;
		return VA_WALK_STOP;
	}
	return VA_WALK_CONTINUE;
}

/* Forget the walks (the cache holds at most MAX_WALK_CACHE bytes of names). */
static void drop_walks(struct fc *fc)
{
	for (size_t i = 0; i < fc->nwalks; i++) {
		free(fc->walks[i].root);
		dbuf_release(&fc->walks[i].names);
		free(fc->walks[i].offs);
	}
	fc->nwalks = 0;
	fc->walk_bytes = 0;
}

/* The walk of @m's source, from the cache or walked here.  NULL: fc->err is set. */
static const struct walked *walk_source(struct fc *fc, const struct mnt *m)
{
	bool rbind = va_fstab_is_rbind(m->e);
	struct walked *w;
	const char *roots[1] = { m->src_real };
	struct va_walk_args a = {
		.roots = roots,
		.nroots = 1,
		.flags = rbind ? 0 : VA_WALK_XDEV,
		.stx_mask = STATX_TYPE | STATX_MODE | STATX_INO,
		.callback = on_walk_entry,
	};
	int r;

	for (size_t i = 0; i < fc->nwalks; i++)
		if (fc->walks[i].rbind == rbind && strcmp(fc->walks[i].root, m->src_real) == 0)
			return &fc->walks[i];
	if (fc->walk_bytes > MAX_WALK_CACHE)
		drop_walks(fc);
	if (va_array_grow(&fc->walks, &fc->capwalks, fc->nwalks, sizeof(*fc->walks)) < 0) {
		fc->err = -ENOMEM;
		return NULL;
	}
	w = &fc->walks[fc->nwalks];
	memset(w, 0, sizeof(*w));
	w->rbind = rbind;
	if (!(w->root = strdup(m->src_real))) {
		fc->err = -ENOMEM;
		return NULL;
	}
	fc->nwalks++;
	a.user = w;
	r = va_walk(&a);
	if (w->err || r < 0) {
		fc->err = w->err ? w->err : r;
		return NULL;
	}
	fc->walk_bytes += w->names.len + w->n * sizeof(*w->offs);
	return w;
}

/* @prefix followed by @rel ("" or "/x/y"), "/" for both empty. */
static int view(struct dbuf *b, const char *prefix, const char *rel)
{
	dbuf_setlen(b, 0);
	if ((strcmp(prefix, "/") != 0 || !rel[0]) && dbuf_adds(b, prefix) < 0)
		return -ENOMEM;
	return dbuf_adds(b, rel);
}

/*
 * Secrets below the source of bind @m of guest @g (-1: the template):
 * each regular file as the guest sees it (the destination followed by its
 * path below the source, with the guest's exclude list) and as its owner
 * sees it (the path in guest @owner's root with that guest's list, or on
 * the host).
 */
static void check_secrets(struct fc *fc, long g, const struct mnt *m, long owner)
{
	const struct va_config *c = fc->c;
	const struct va_excl_list *gx = g >= 0 ? &c->guests[g].exclude : NULL;
	const struct va_excl_list *ox = owner >= 0 ? &c->guests[owner].exclude : NULL;
	char *oprefix = owner >= 0 ? below_real(m->src_real, c->guests[owner].vdir) : strdup(m->src_canon);
	const struct walked *w;
	struct dbuf b = DBUF_INIT;
	const char *first = NULL, *first_pattern = NULL;
	size_t count = 0;

	if (!oprefix) {
		fc->err = -ENOMEM;
		return;
	}
	if (!(w = walk_source(fc, m))) {
		free(oprefix);
		return;
	}
	for (size_t i = 0; i < w->n; i++) {
		const char *rel = w->names.buf + w->offs[i], *pat;

		if (view(&b, m->dst, rel) < 0)
			goto nomem;
		pat = va_secret_match(dbuf_str(&b), gx);
		if (!pat) {
			if (view(&b, oprefix, rel) < 0)
				goto nomem;
			pat = va_secret_match(dbuf_str(&b), ox);
		}
		if (pat && count++ == 0) {
			first = rel;
			first_pattern = pat;
		}
	}
	if (count)
		emit(fc, W_SECRET, g, m,
		     "the bind of %s brings %zu secret%s into the guest at %s, such as %s%s (pattern %s)%s",
		     m->src_real, count, count == 1 ? "" : "s", m->dst, m->src_real, first, first_pattern,
		     w->cut ? "; the search stopped after 100000 entries" : "");
	dbuf_release(&b);
	free(oprefix);
	return;
nomem:
	dbuf_release(&b);
	free(oprefix);
	fc->err = -ENOMEM;
}

/* ------------------------------------------------------------------ one mount */

/* The file name part of @path. */
static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Fill @m for entry @e of @file; the per-line checks of @g (-1: the template). */
static void check_entry(struct fc *fc, long g, struct mnt *m)
{
	const struct va_config *c = fc->c;
	const struct va_fstab_entry *e = m->e;
	const struct va_guest *gu = g >= 0 ? &c->guests[g] : NULL;
	struct dbuf why = DBUF_INIT;
	long owner = -1;
	int r;

	if (!(m->dst = va_fstab_norm_dst(e->dst, &m->climbs))) {
		fc->err = -ENOMEM;
		return;
	}
	/* secure-mount -a skips swap lines, and noauto ones when it mounts the guest */
	m->skip = strcmp(e->type, "swap") == 0;
	m->unmounted = m->skip || va_fstab_has_option(e->opts, "noauto");
	if (m->skip)
		return;
	m->bind = va_fstab_is_bind(e);
	m->ro = va_fstab_is_ro(e);
	if (!va_fstab_type_known(e->type))
		emit(fc, W_TYPE, g, m, "unknown filesystem type '%s'", e->type);
	if (m->climbs)
		emit(fc, W_DESTINATION, g, m,
		     "the destination %s climbs above the guest root with '..' (secure-mount's chroot "
		     "stops it at the root: the mount lands on %s; another tool would leave the guest)",
		     e->dst, m->dst);
	if (!m->bind || fc->err)
		return;
	if (e->src[0] != '/') {
		emit(fc, W_SOURCE, g, m,
		     "the source '%s' of a bind mount is no absolute host path", e->src);
		return;
	}
	r = va_config_lookup(c, e->src, &m->src_canon, NULL);
	if (r == -ENOMEM) {
		fc->err = r;
		return;
	}
	if (r < 0) {
		emit(fc, W_SOURCE, g, m, "the bind source %s does not resolve on this "
		     "host%s: %s", e->src, c->host_root ? " (inside the host root)" : "",
		     va_config_strerror(r));
		return;
	}
	m->src_type = r;
	/* an offline copy: its guests will run on this host, where the source must be too */
	r = va_config_on_this_host(c, e->src);
	if (r == -ENOMEM) {
		fc->err = r;
		return;
	}
	if (r == -ENOENT || r == -ENOTDIR)
		emit(fc, W_SOURCE, g, m, "the bind source %s is in the host root but not on this "
		     "host: the mount fails when the guest starts here", e->src);
	if (!(m->src_real = va_config_real_path(c, m->src_canon))) {
		fc->err = -ENOMEM;
		return;
	}
	if (foreign_why(c, g, m->src_real, &why) < 0) {
		dbuf_release(&why);
		fc->err = -ENOMEM;
		return;
	}
	if (why.len)
		emit(fc, W_FOREIGN, g, m, "the bind source %s is not the guest's own: %s",
		     e->src, dbuf_str(&why));
	dbuf_release(&why);
	for (size_t k = 0; k < c->nguests; k++)
		if ((long)k != g && c->guests[k].vdir &&
		    va_fstab_path_below(m->src_real, c->guests[k].vdir, true))
			owner = (long)k;
	if (gu && gu->vdir && va_fstab_path_below(m->src_real, gu->vdir, true) &&
	    !(m->own = below_real(m->src_real, gu->vdir))) {
		fc->err = -ENOMEM;
		return;
	}
	if (!fc->err && (S_ISDIR(m->src_type) || S_ISREG(m->src_type)) &&
	    (fc->args->kinds & VA_KIND_BIT(VA_KIND_CONFIG_FSTAB_UNSAFE)))
		check_secrets(fc, g, m, owner);
	if (!fc->err && g >= 0) {
		if (va_array_grow(&fc->binds, &fc->capbinds, fc->nbinds, sizeof(*fc->binds)) < 0) {
			fc->err = -ENOMEM;
			return;
		}
		fc->binds[fc->nbinds++] = (struct bindref){ g, m->file, e->line, m->src_real, m->ro };
	}
}

/*
 * The destination of @m inside the root of guest @g (open at @root_fd):
 * the first component that is a symbolic link is a finding.  A component
 * that does not exist ends the check (the mount itself fails there).
 */
static void check_destination(struct fc *fc, long g, int root_fd, const struct mnt *m)
{
	struct dbuf done = DBUF_INIT;
	const char *p = m->dst;
	int fd = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return;
	while (*p && !fc->err) {
		char name[NAME_MAX + 1];
		size_t len;
		struct stat st;
		int nfd;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		if (len == 0 || len > NAME_MAX)
			break;
		memcpy(name, p, len);
		name[len] = '\0';
		p += len;
		if (dbuf_addc(&done, '/') < 0 || dbuf_adds(&done, name) < 0) {
			fc->err = -ENOMEM;
			break;
		}
		nfd = va_safeopen_at(fd, name, O_PATH, 0);
		if (nfd < 0)
			break;
		close(fd);
		fd = nfd;
		if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
			break;
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);

			target[n > 0 ? n : 0] = '\0';
			emit(fc, W_DESTINATION, g, m,
			     "the destination %s passes %s, a symbolic link in the guest's tree (to %s): "
			     "the guest decides where the mount lands", m->dst, dbuf_str(&done),
			     n > 0 ? target : "?");
			break;
		}
		if (!S_ISDIR(st.st_mode))
			break;
	}
	close(fd);
	dbuf_release(&done);
}

/* ------------------------------------------------------------------ one guest */

/*
 * The destinations of the mounts that count for the order (mounted with
 * the guest, not the root filesystem), each once, sorted, with the first
 * and last position that mounts on it: a destination's ancestors are found
 * by binary search, so a file of many lines costs n log n, not n^2.
 */
struct dsti {
	const char *dst;
	size_t first, last;
};

struct dkey {
	const char *p;
	size_t len;
};

static int cmp_dsti(const void *a, const void *b)
{
	return strcmp(((const struct dsti *)a)->dst, ((const struct dsti *)b)->dst);
}

static int cmp_dkey(const void *key, const void *elem)
{
	const struct dkey *k = key;
	const char *d = ((const struct dsti *)elem)->dst;
	int r = strncmp(k->p, d, k->len);

	return r ? r : d[k->len] ? -1 : 0;
}

/* The index of @v's destinations, or NULL with *@nret 0 (none, or out of memory: fc->err). */
static struct dsti *dst_index(struct fc *fc, const struct mnt *v, size_t n, size_t *nret)
{
	struct dsti *t = calloc(n ? n : 1, sizeof(*t));
	size_t k = 0, u = 0;

	*nret = 0;
	if (!t) {
		fc->err = -ENOMEM;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!v[i].unmounted && strcmp(v[i].dst, "/") != 0)
			t[k++] = (struct dsti){ v[i].dst, i, i };
	/* qsort is not stable: first and last are taken over each group */
	qsort(t, k, sizeof(*t), cmp_dsti);
	for (size_t i = 0; i < k; i++) {
		if (u && strcmp(t[u - 1].dst, t[i].dst) == 0) {
			if (t[i].first < t[u - 1].first)
				t[u - 1].first = t[i].first;
			if (t[i].last > t[u - 1].last)
				t[u - 1].last = t[i].last;
			continue;
		}
		t[u++] = t[i];
	}
	*nret = u;
	return t;
}

/* The entry of @t for the first @len bytes of @p, or NULL. */
static const struct dsti *dst_find(const struct dsti *t, size_t n, const char *p, size_t len)
{
	struct dkey k = { p, len };

	return n ? bsearch(&k, t, n, sizeof(*t), cmp_dkey) : NULL;
}

/*
 * The mount on an ancestor of the clean path @p (@self: @p itself too;
 * never "/") whose first (@first) or last position is below (@first) or
 * above @pos; NULL if none.
 */
static const struct dsti *ancestor(const struct dsti *t, size_t n, const char *p, bool self,
				   bool first, size_t pos)
{
	size_t len = strlen(p);

	for (size_t k = 1; k <= len; k++) {
		const struct dsti *d;

		if (k < len ? p[k] != '/' : !self)
			continue;
		d = dst_find(t, n, p, k);
		if (d && (first ? d->first < pos : d->last > pos))
			return d;
	}
	return NULL;
}

/* Tarjan's strongly connected components over the "needs first" graph. */
struct scc {
	const bool *edge;       /* edge[i * n + j]: i needs j mounted first */
	size_t n, index;
	long *idx, *low, *comp;
	size_t *stack, sp, ncomp;
	bool *on;
};

static void strong(struct scc *s, size_t v)
{
	s->idx[v] = s->low[v] = (long)s->index++;
	s->stack[s->sp++] = v;
	s->on[v] = true;
	for (size_t w = 0; w < s->n; w++) {
		if (!s->edge[v * s->n + w])
			continue;
		if (s->idx[w] < 0) {
			strong(s, w);
			if (s->low[w] < s->low[v])
				s->low[v] = s->low[w];
		} else if (s->on[w] && s->idx[w] < s->low[v]) {
			s->low[v] = s->idx[w];
		}
	}
	if (s->low[v] == s->idx[v]) {
		size_t w;

		do {
			w = s->stack[--s->sp];
			s->on[w] = false;
			s->comp[w] = (long)s->ncomp;
		} while (w != v);
		s->ncomp++;
	}
}

/* The cycle components of @v (comp[i], csize[comp]), or NULLs when there are too many lines. */
static void cycles(struct fc *fc, const struct mnt *v, size_t n, long **ret_comp, size_t **ret_csize)
{
	struct scc s = { .n = n };
	bool *edge = NULL;
	long *comp = NULL;
	size_t *csize = NULL;

	*ret_comp = NULL;
	*ret_csize = NULL;
	if (n > MAX_CYCLE_ENTRIES || n < 2)
		return;
	edge = calloc(n * n, sizeof(*edge));
	comp = malloc(n * sizeof(*comp));
	csize = calloc(n, sizeof(*csize));
	s.idx = malloc(n * sizeof(*s.idx));
	s.low = malloc(n * sizeof(*s.low));
	s.stack = malloc(n * sizeof(*s.stack));
	s.on = calloc(n, sizeof(*s.on));
	if (!edge || !comp || !csize || !s.idx || !s.low || !s.stack || !s.on) {
		fc->err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			if (i == j || strcmp(v[j].dst, "/") == 0 || strcmp(v[i].dst, "/") == 0 ||
			    v[i].unmounted || v[j].unmounted)
				continue;
			edge[i * n + j] = va_fstab_path_below(v[i].dst, v[j].dst, false) ||
					  (v[i].own && va_fstab_path_below(v[i].own, v[j].dst, true));
		}
	s.edge = edge;
	s.comp = comp;
	for (size_t i = 0; i < n; i++)
		s.idx[i] = -1;
	for (size_t i = 0; i < n; i++)
		if (s.idx[i] < 0)
			strong(&s, i);
	for (size_t i = 0; i < n; i++)
		csize[comp[i]]++;
	*ret_comp = comp;
	*ret_csize = csize;
	comp = NULL;
	csize = NULL;
out:
	free(edge);
	free(comp);
	free(csize);
	free(s.idx);
	free(s.low);
	free(s.stack);
	free(s.on);
}

/* Duplicates and the order of the mounts @v[0..n) of guest @g (-1: the template). */
static void check_order(struct fc *fc, long g, struct mnt *v, size_t n)
{
	size_t nt;
	struct dsti *t = dst_index(fc, v, n, &nt);
	long *comp;
	size_t *csize;

	if (!t)
		return;
	for (size_t i = 0; i < n && !fc->err; i++) {
		const struct dsti *d;

		if (v[i].unmounted || strcmp(v[i].dst, "/") == 0)
			continue;
		d = dst_find(t, nt, v[i].dst, strlen(v[i].dst));
		if (d && d->first < i)
			emit(fc, W_DUPLICATE, g, &v[i],
			     "%s is also the destination of %s:%u: this mount hides that one",
			     v[i].dst, v[d->first].fname, v[d->first].e->line);
	}
	cycles(fc, v, n, &comp, &csize);
	for (size_t i = 0; i < n && !fc->err; i++) {
		const struct dsti *d;

		if (strcmp(v[i].dst, "/") == 0 || v[i].unmounted)
			continue;
		if (comp && csize[comp[i]] > 1) {
			struct dbuf lines = DBUF_INIT;

			for (size_t j = 0; j < n; j++)
				if (j != i && comp[j] == comp[i] &&
				    dbuf_addf(&lines, "%s%s:%u", lines.len ? ", " : "", v[j].fname,
					      v[j].e->line) < 0)
					fc->err = -ENOMEM;
			emit(fc, W_ORDER, g, &v[i],
			     "a cycle: this mount (on %s) and %s need each other made first, whatever "
			     "the order (a bind of a directory another one mounts on, or a destination "
			     "below another one's)", v[i].dst, dbuf_str(&lines));
			dbuf_release(&lines);
			continue;
		}
		if ((d = ancestor(t, nt, v[i].dst, false, false, i))) {
			emit(fc, W_ORDER, g, &v[i],
			     "the destination %s is below %s, which %s:%u mounts later: that mount "
			     "hides this one", v[i].dst, d->dst, v[d->last].fname, v[d->last].e->line);
			continue;
		}
		if (v[i].own && (d = ancestor(t, nt, v[i].own, true, false, i)))
			emit(fc, W_ORDER, g, &v[i],
			     "the bind source is the guest's own %s, in %s, which %s:%u mounts later: "
			     "this binds the directory underneath, not that mount", v[i].own, d->dst,
			     v[d->last].fname, v[d->last].e->line);
	}
	free(comp);
	free(csize);
	free(t);
}

/*
 * The mounts of guest @g (-1: the template @files[0] alone) from @files
 * (@nfiles, absent ones have no path), checked; *@ret and *@nret keep
 * them for the shared check.
 */
static void check_mounts(struct fc *fc, long g, const struct va_fstab_file *files, size_t nfiles,
			 struct mnt **ret, size_t *nret)
{
	const struct va_config *c = fc->c;
	const struct va_guest *gu = g >= 0 ? &c->guests[g] : NULL;
	struct mnt *v;
	size_t n = 0, k = 0;
	int root_fd = -1;

	*ret = NULL;
	*nret = 0;
	for (size_t f = 0; f < nfiles; f++)
		n += files[f].path ? files[f].tab.n : 0;
	if (n == 0)
		return;
	if (!(v = calloc(n, sizeof(*v)))) {
		fc->err = -ENOMEM;
		return;
	}
	for (size_t f = 0; f < nfiles; f++)
		for (size_t i = 0; files[f].path && i < files[f].tab.n; i++) {
			v[k].e = &files[f].tab.entries[i];
			v[k].file = files[f].path;
			v[k].fname = base_name(files[f].path);
			k++;
		}
	for (size_t i = 0; i < n && !fc->err; i++)
		check_entry(fc, g, &v[i]);
	if (gu && gu->vdir_canon && !fc->err) {
		size_t nt;
		struct dsti *t = dst_index(fc, v, n, &nt);

		root_fd = t ? va_config_open_dir(c, gu->vdir_canon) : -1;
		for (size_t i = 0; root_fd >= 0 && i < n && !fc->err; i++)
			/* below an earlier mount: what is there then is that mount's */
			if (!v[i].skip && strcmp(v[i].dst, "/") != 0 &&
			    !ancestor(t, nt, v[i].dst, false, true, i))
				check_destination(fc, g, root_fd, &v[i]);
		if (root_fd >= 0)
			close(root_fd);
		free(t);
	}
	if (!fc->err)
		check_order(fc, g, v, n);
	*ret = v;
	*nret = n;
}

/* Read-write binds of trees that another guest binds too. */
static void check_shared(struct fc *fc)
{
	unsigned char *seen = calloc(fc->c->nguests ? fc->c->nguests : 1, 1);

	if (!seen) {
		fc->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < fc->nbinds && !fc->err; i++) {
		const struct bindref *b = &fc->binds[i];
		struct dbuf others = DBUF_INIT;
		size_t nothers = 0;
		char *d = NULL;

		if (b->ro)
			continue;
		memset(seen, 0, fc->c->nguests);
		for (size_t k = 0; k < fc->nbinds && !fc->err; k++) {
			const struct bindref *o = &fc->binds[k];

			if (o->guest == b->guest || seen[o->guest] ||
			    !(va_fstab_path_below(o->real, b->real, true) ||
			      va_fstab_path_below(b->real, o->real, false)))
				continue;
			seen[o->guest] = 1;
			if (dbuf_addf(&others, "%s%s", nothers++ ? ", " : "", fc->c->guests[o->guest].name) < 0)
				fc->err = -ENOMEM;
		}
		if (nothers && !fc->err) {
			if (asprintf(&d, "a read-write bind of %s, which guest%s %s bind%s too: each can "
				     "change it for the others (add 'ro')", b->real, nothers == 1 ? "" : "s",
				     dbuf_str(&others), nothers == 1 ? "s" : "") < 0)
				fc->err = -ENOMEM;
			else
				fc->err = va_audit_config_finding(fc->args, fc->stats,
								  whats[W_SHARED_RW].kind,
								  (int)whats[W_SHARED_RW].sev,
								  b->guest, b->file, b->line, d);
			free(d);
		}
		dbuf_release(&others);
	}
	free(seen);
}

int va_audit_fstab(const struct va_audit_args *args, struct va_audit_stats *stats)
{
	const struct va_config *c = args->config;
	struct fc fc = { .args = args, .stats = stats, .c = c };
	struct mnt *tv = NULL;
	size_t tn = 0;

	if (!c)
		return 0;
	fc.lists = calloc(c->nguests + 1, sizeof(*fc.lists));
	fc.nlists = calloc(c->nguests + 1, sizeof(*fc.nlists));
	if (!fc.lists || !fc.nlists) {
		free(fc.lists);
		free(fc.nlists);
		return -ENOMEM;
	}
	for (size_t g = 0; g < c->nguests && !fc.err; g++)
		check_mounts(&fc, (long)g, c->guests[g].fstab, VA_FSTAB_COUNT, &fc.lists[g], &fc.nlists[g]);
	if (!fc.err)
		check_shared(&fc);
	if (!fc.err)
		check_mounts(&fc, -1, &c->defaults_fstab, 1, &tv, &tn);
	free_mnts(tv, tn);
	for (size_t g = 0; g < c->nguests; g++)
		free_mnts(fc.lists[g], fc.nlists[g]);
	free(fc.lists);
	free(fc.nlists);
	free(fc.binds);
	drop_walks(&fc);
	free(fc.walks);
	return fc.err;
}
