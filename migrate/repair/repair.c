/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * repair.c - applying, undoing and resuming changes (see repair.h).
 *
 * One step function serves all three: read the inode's current state
 * through the back end, compare it with the expected before and after
 * states, journal the intent (fresh changes only), change, read back,
 * journal the outcome.  Image runs reach inodes by number; live runs walk
 * the trees again and reach them only through the walker's directory fds.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "core/flags.h"
#include "core/inomap.h"
#include "core/target.h"
#include "core/walk.h"
#include "migrate/repair/repair.h"

/* ------------------------------------------------------------------ planning */

static struct va_action *find_action(struct va_repair *rp, dev_t dev, uint64_t ino)
{
	uint32_t idx;

	return va_inomap_find(&rp->byino, dev, ino, &idx) ? &rp->actions[idx] : NULL;
}

static char *dup_bytes(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

int va_repair_add(struct va_repair *rp, const struct va_finding *f, const struct va_repair_opts *o)
{
	uint32_t new_mode = f->new_mode;
	struct va_action *a;

	if (!f->has_proposal || !f->flags_known)
		return 0;
	if (f->kind == VA_KIND_MISSING_BARRIER ||
	    (f->kind == VA_KIND_LEGACY_BARRIER && !f->where.guest)) {
		if (o->barrier_mode >= 0)
			new_mode = (f->mode & ~07777u) | (uint32_t)o->barrier_mode;
	} else if (f->kind == VA_KIND_LEGACY_BARRIER) {
		new_mode = (f->mode & ~07777u) | (uint32_t)o->cleared_mode;
	}
	if (f->new_flags == f->flags && (new_mode & 07777) == (f->mode & 07777))
		return 0;
	a = find_action(rp, f->dev, f->ino);
	if (a) {
		/* a second kind on the same inode: apply both changes */
		uint32_t set = f->new_flags & ~f->flags, clear = f->flags & ~f->new_flags;

		a->new_flags = (a->new_flags | set) & ~clear;
		if ((new_mode & 07777) != (f->mode & 07777))
			a->new_mode = new_mode;
		a->kinds |= VA_KIND_BIT(f->kind);
		return 0;
	}
	if (rp->nactions >= UINT32_MAX ||
	    va_array_grow(&rp->actions, &rp->capactions, rp->nactions, sizeof(*rp->actions)) < 0 ||
	    va_inomap_insert(&rp->byino, f->dev, f->ino, (uint32_t)rp->nactions) < 0)
		return -ENOMEM;
	a = &rp->actions[rp->nactions];
	memset(a, 0, sizeof(*a));
	a->kinds = VA_KIND_BIT(f->kind);
	a->dev = f->dev;
	a->ino = f->ino;
	a->old_flags = f->flags;
	a->old_mode = f->mode;
	a->gen = f->gen;
	a->gen_known = f->gen_known;
	a->new_flags = f->new_flags;
	a->new_mode = new_mode;
	a->path = dup_bytes(f->where.path, f->where.path_len);
	a->path_len = f->where.path_len;
	if (f->where.guest) {
		a->guest = dup_bytes(f->where.guest, f->where.guest_len);
		a->guest_len = f->where.guest_len;
	}
	if (!a->path || (f->where.guest && !a->guest)) {
		free(a->path);
		free(a->guest);
		return -ENOMEM;
	}
	rp->nactions++;
	return 0;
}

int va_repair_drop_journaled(struct va_repair *rp, const struct va_journal *j)
{
	struct va_inomap m = VA_INOMAP_INIT;
	size_t kept = 0, dropped = 0;
	uint32_t idx;

	for (size_t i = 0; i < j->nrecs; i++)
		if (j->recs[i].type == 'I' &&
		    va_inomap_insert(&m, j->recs[i].dev, j->recs[i].ino, 0) < 0) {
			va_inomap_release(&m);
			return -ENOMEM;
		}
	for (size_t i = 0; i < rp->nactions; i++) {
		struct va_action *a = &rp->actions[i];

		if (va_inomap_find(&m, a->dev, a->ino, &idx)) {
			free(a->path);
			free(a->guest);
			dropped++;
			continue;
		}
		rp->actions[kept++] = *a;
	}
	rp->nactions = kept;
	/* the index by inode no longer fits the array: nothing is merged after this */
	va_inomap_release(&rp->byino);
	va_inomap_release(&m);
	return (int)(dropped > INT32_MAX ? INT32_MAX : dropped);
}

void va_repair_release(struct va_repair *rp)
{
	for (size_t i = 0; i < rp->nactions; i++) {
		free(rp->actions[i].path);
		free(rp->actions[i].guest);
	}
	free(rp->actions);
	va_inomap_release(&rp->byino);
	memset(rp, 0, sizeof(*rp));
}

/* ------------------------------------------------------------------ running guests */

/* Add "ROOTINDEX/GUEST" when @path (resolved) is a guest root or below one. */
static void note_running(const char *const *roots, size_t nroots, const char *path, struct dbuf *out)
{
	for (size_t i = 0; i < nroots; i++) {
		char real[PATH_MAX];
		size_t len;

		if (!realpath(roots[i], real))
			continue;
		len = strlen(real);
		if (strncmp(path, real, len) == 0 && path[len] == '/' && path[len + 1]) {
			const char *g = path + len + 1;
			size_t glen = strcspn(g, "/");

			dbuf_addf(out, "%zu/%.*s", i, (int)glen, g);
			dbuf_addc(out, '\0');
		}
	}
}

/*
 * The configured guests whose run link resolves (util-vserver keeps
 * /etc/vservers/NAME/run pointing to a file while NAME runs): their vdir.
 * Used when the caller has no configuration of its own.
 */
static void configured_running(const char *const *roots, size_t nroots, struct dbuf *out)
{
	DIR *cfg = opendir("/etc/vservers");
	struct dirent *d;

	if (!cfg)
		return;
	while ((d = readdir(cfg))) {
		char run[PATH_MAX], vdir[PATH_MAX], real[PATH_MAX];
		struct stat st;

		if (d->d_name[0] == '.')
			continue;
		snprintf(run, sizeof(run), "/etc/vservers/%.200s/run", d->d_name);
		snprintf(vdir, sizeof(vdir), "/etc/vservers/%.200s/vdir", d->d_name);
		if (stat(run, &st) == 0 && realpath(vdir, real))
			note_running(roots, nroots, real, out);
	}
	closedir(cfg);
}

void va_repair_running(const char *const *roots, size_t nroots, const struct va_repair_opts *o,
		       struct dbuf *out)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;

	if (o->running_vdirs) {
		for (size_t i = 0; o->running_vdirs[i]; i++) {
			char real[PATH_MAX];

			if (realpath(o->running_vdirs[i], real))
				note_running(roots, nroots, real, out);
		}
	} else {
		configured_running(roots, nroots, out);
	}
	if (!proc)
		return;
	while ((d = readdir(proc))) {
		char link[300], target[PATH_MAX];
		ssize_t n;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "/proc/%.256s/root", d->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		note_running(roots, nroots, target, out);
	}
	closedir(proc);
}

/* Is the guest directory that @path lies in (below ROOT @root_index) running? */
static bool guest_running(const struct dbuf *running, const char *const *roots, size_t root_index,
			  const char *path, size_t path_len)
{
	const char *root = roots[root_index], *g;
	size_t rlen = strlen(root), glen;
	char key[32];
	size_t klen;

	if (!running->len || path_len <= rlen + 1 || strncmp(path, root, rlen) != 0 || path[rlen] != '/')
		return false;
	g = path + rlen + 1;
	glen = strcspn(g, "/");
	if (glen == 0)
		return false;   /* ROOT itself */
	klen = (size_t)snprintf(key, sizeof(key), "%zu/", root_index);
	for (size_t off = 0; off < running->len; off += strlen(running->buf + off) + 1) {
		const char *e = running->buf + off;

		if (strncmp(e, key, klen) == 0 && strlen(e + klen) == glen &&
		    memcmp(e + klen, g, glen) == 0)
			return true;
	}
	return false;
}

bool va_repair_in_running(const struct dbuf *running, const char *const *roots, size_t nroots,
			  const char *path, size_t path_len)
{
	for (size_t i = 0; i < nroots; i++)
		if (guest_running(running, roots, i, path, path_len))
			return true;
	return false;
}

/* ------------------------------------------------------------------ the step */

enum step_mode { STEP_APPLY, STEP_RESUME, STEP_UNDO };

struct run {
	struct va_repair *rp;
	struct va_backend *be;
	struct va_journal *j;
	const struct va_repair_opts *o;
	const struct va_repair_hooks *h;
	unsigned *counts;
	enum step_mode mode;
	bool live;
	uint64_t *seqs;         /* replay: journal seq of each action */
	struct va_inomap map;   /* live: (dev, ino) -> action */
	struct dbuf running;
	const char *const *roots;
	char **real_roots;      /* live: realpath of each root (NULL when it failed) */
	struct dbuf jpath;      /* live: the journaled path of the entry in hand */
	int fatal;
};

/* Report what happened to @a; returns 0 so that steps can end with it. */
static int event(struct run *r, enum va_repair_event ev, const struct va_action *a,
		 const char *why, int err)
{
	r->counts[ev]++;
	if (r->h && r->h->event)
		r->h->event(ev, a, why, err, r->h->user);
	return 0;
}

static bool same(uint32_t flags, uint32_t mode, const struct va_attrs *at)
{
	return at->flags == flags && (at->mode & 07777) == (mode & 07777);
}

static int journal_rec(struct run *r, char type, uint64_t seq)
{
	struct va_journal_rec rec = { .type = type, .seq = seq };

	return va_journal_append(r->j, &rec);
}

/* Bring @a from old to new through target @t. */
static int step(struct run *r, size_t idx, const struct va_attr_target *t)
{
	struct va_action *a = &r->rp->actions[idx];
	struct va_attrs cur = { 0 }, after = { 0 };
	uint64_t seq = r->seqs ? r->seqs[idx] : 0;
	int err;

	a->done = true;
	err = va_backend_read(r->be, t, &cur);
	if (err < 0)
		return event(r, VA_EV_SKIPPED, a, "cannot read its flags", -err);
	if (a->gen_known && cur.gen_known && cur.gen != a->gen)
		return event(r, VA_EV_SKIPPED, a, "its inode generation changed: another file now", 0);
	if (same(a->new_flags, a->new_mode, &cur)) {
		if (r->mode == STEP_RESUME && !r->o->dry_run && va_journal_state(r->j, seq) != 'D' &&
		    (err = journal_rec(r, 'D', seq)) < 0) {
			r->fatal = err;
			return event(r, VA_EV_FAILED, a, "cannot write the journal", -err);
		}
		if (r->mode == STEP_UNDO && !r->o->dry_run && (err = journal_rec(r, 'U', seq)) < 0) {
			r->fatal = err;
			return event(r, VA_EV_FAILED, a, "cannot write the journal", -err);
		}
		return event(r, VA_EV_DONE, a, "already in that state", 0);
	}
	if (!same(a->old_flags, a->old_mode, &cur))
		return event(r, VA_EV_SKIPPED, a, "not in the expected state any more", 0);
	if (r->live && ((cur.flags ^ a->new_flags) & VA_VS26_MASK) && !(r->be->caps & VA_CAP_VS26_WRITE))
		return event(r, VA_EV_SKIPPED, a,
			     "needs a 2.6 vserver bit, which this kernel cannot set live: "
			     "repair the unmounted filesystem with --image", 0);
	if (r->live && r->roots && !r->o->force &&
	    guest_running(&r->running, r->roots, (size_t)t->root_index, a->path, a->path_len))
		return event(r, VA_EV_SKIPPED, a, "its guest may be running (use --force)", 0);
	if (r->o->dry_run)
		return event(r, VA_EV_PLANNED, a, NULL, 0);
	if (r->mode == STEP_APPLY) {
		struct va_journal_rec rec = {
			.type = 'I', .dev = a->dev, .ino = a->ino, .gen = cur.gen,
			.old_flags = cur.flags, .old_mode = cur.mode & 07777,
			.new_flags = a->new_flags, .new_mode = a->new_mode & 07777,
			.path = a->path, .path_len = a->path_len,
		};

		/* live: the real path below the header's ROOT, which a replay checks */
		if (r->live && r->jpath.len)
			rec.path = r->jpath.buf, rec.path_len = r->jpath.len;

		for (int k = 0; k < VA_KIND_COUNT; k++)
			if (a->kinds & VA_KIND_BIT(k)) {
				snprintf(rec.kind, sizeof(rec.kind), "%s", va_kind_name(k));
				break;
			}
		if ((err = va_journal_append(r->j, &rec)) < 0) {
			r->fatal = err;
			return event(r, VA_EV_FAILED, a, "cannot write the journal", -err);
		}
		seq = rec.seq;
	}
	err = va_backend_write(r->be, t, a->new_flags, a->new_mode, &after);
	if (err == -EOPNOTSUPP)
		return event(r, VA_EV_SKIPPED, a,
			     "needs a 2.6 vserver bit, which this kernel cannot set live: "
			     "repair the unmounted filesystem with --image", 0);
	if (err < 0) {
		r->fatal = err;
		return event(r, VA_EV_FAILED, a, "changing its flags failed", -err);
	}
	if (!same(a->new_flags, a->new_mode, &after)) {
		r->fatal = -EIO;
		return event(r, VA_EV_FAILED, a, "the change did not hold (read back differs)", 0);
	}
	if ((err = journal_rec(r, r->mode == STEP_UNDO ? 'U' : 'D', seq)) < 0) {
		r->fatal = err;
		return event(r, VA_EV_FAILED, a, "cannot write the journal", -err);
	}
	return event(r, VA_EV_DONE, a, NULL, 0);
}

/* ------------------------------------------------------------------ drivers */

/* Has the caller asked to stop?  Then the run ends before the next action. */
static bool cancelled(struct run *r)
{
	if (r->o->cancel && __atomic_load_n(r->o->cancel, __ATOMIC_RELAXED)) {
		r->fatal = -ECANCELED;
		return true;
	}
	return false;
}

static void run_image(struct run *r, bool newest_first)
{
	size_t n = r->rp->nactions;

	for (size_t k = 0; k < n && !r->fatal && !cancelled(r); k++) {
		size_t i = newest_first ? n - 1 - k : k;
		struct va_action *a = &r->rp->actions[i];
		struct va_attr_target t = { .fd = -1, .dir_fd = -1, .dev = a->dev, .ino = a->ino,
					    .mode = a->old_mode };
		uint64_t ino = 0;

		/* an inode number alone could name another file by now (a plan
		 * for another copy, a file replaced): its path must lead to it */
		if (r->be->ops->locate &&
		    (r->be->ops->locate(r->be, a->path, &ino) < 0 || ino != a->ino)) {
			a->done = true;
			event(r, VA_EV_SKIPPED, a, "its path no longer leads to the recorded inode", 0);
			continue;
		}
		step(r, i, &t);
	}
}

static enum va_walk_action on_live(const struct va_walk_entry *e, void *user)
{
	struct run *r = user;
	uint32_t idx;
	dev_t dev;

	if (r->fatal || cancelled(r))
		return VA_WALK_STOP;
	if (e->visit != VA_WALK_PRE || !e->stx)
		return VA_WALK_CONTINUE;
	dev = makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor);
	if (va_inomap_find(&r->map, dev, e->stx->stx_ino, &idx) && !r->rp->actions[idx].done) {
		struct va_attr_target t = va_target_of(e);
		const char *root = r->roots[e->root_index], *real = r->real_roots[e->root_index];
		size_t rlen = strlen(root);

		/* the display path is ROOT as given, then the names below it */
		dbuf_setlen(&r->jpath, 0);
		if (real && e->path_len >= rlen && memcmp(e->path, root, rlen) == 0) {
			const char *rest = e->path + rlen;
			size_t n = e->path_len - rlen;

			while (n && *rest == '/')
				rest++, n--;
			dbuf_adds(&r->jpath, real);
			if (n && strcmp(real, "/"))
				dbuf_addc(&r->jpath, '/');
			dbuf_add(&r->jpath, rest, n);
		}

		step(r, idx, &t);
	}
	return r->fatal ? VA_WALK_STOP : VA_WALK_CONTINUE;
}

static int run_live(struct run *r, const char *const *roots, size_t nroots)
{
	struct va_walk_args w = {
		.roots = roots,
		.nroots = nroots,
		.flags = VA_WALK_XDEV,
		.mount_depth = 1,
		.lazy_types = 1u << DT_LNK | 1u << DT_FIFO | 1u << DT_SOCK | 1u << DT_CHR | 1u << DT_BLK,
		.callback = on_live,
		.user = r,
	};
	int ret;

	for (size_t i = 0; i < r->rp->nactions; i++)
		if (va_inomap_insert(&r->map, r->rp->actions[i].dev, r->rp->actions[i].ino,
				     (uint32_t)i) < 0)
			return -ENOMEM;
	va_repair_running(roots, nroots, r->o, &r->running);
	r->real_roots = calloc(nroots ? nroots : 1, sizeof(*r->real_roots));
	if (!r->real_roots)
		return -ENOMEM;
	for (size_t i = 0; i < nroots; i++)
		r->real_roots[i] = realpath(roots[i], NULL);
	ret = va_walk(&w);
	for (size_t i = 0; i < nroots; i++)
		free(r->real_roots[i]);
	free(r->real_roots);
	r->real_roots = NULL;
	for (size_t i = 0; i < r->rp->nactions && ret >= 0 && !r->fatal; i++)
		if (!r->rp->actions[i].done)
			event(r, VA_EV_SKIPPED, &r->rp->actions[i], "not found again below ROOT", 0);
	return ret < 0 ? ret : 0;
}

static int run(struct run *r, const char *const *roots, size_t nroots, bool newest_first)
{
	int ret = 0;

	r->live = roots != NULL;
	r->roots = roots;
	r->map = (struct va_inomap)VA_INOMAP_INIT;
	dbuf_init(&r->running);
	dbuf_init(&r->jpath);
	if (r->h && r->h->begin)
		r->h->begin(r->rp->nactions, r->h->user);
	if (r->live)
		ret = run_live(r, roots, nroots);
	else
		run_image(r, newest_first);
	va_inomap_release(&r->map);
	dbuf_release(&r->running);
	dbuf_release(&r->jpath);
	return ret < 0 ? ret : r->fatal;
}

int va_repair_apply(struct va_repair *rp, struct va_backend *be, const char *const *roots,
		    size_t nroots, struct va_journal *j, const struct va_repair_opts *o,
		    const struct va_repair_hooks *h)
{
	struct run r = { .rp = rp, .be = be, .j = j, .o = o, .h = h, .counts = rp->counts,
			 .mode = STEP_APPLY };

	return run(&r, roots, nroots, false);
}

int va_repair_replay(struct va_journal *j, enum va_replay mode, struct va_backend *be,
		     const char *const *roots, size_t nroots, const struct va_repair_opts *opts,
		     const struct va_repair_hooks *h, unsigned counts[4])
{
	struct va_repair rp = { 0 };
	struct va_repair_opts o = { .dry_run = opts && opts->dry_run, .force = true, .barrier_mode = -1,
				    .cancel = opts ? opts->cancel : NULL };
	struct run r = { .rp = &rp, .be = be, .j = j, .o = &o, .h = h, .counts = counts,
			 .mode = mode == VA_REPLAY_UNDO ? STEP_UNDO : STEP_RESUME };
	size_t n = 0;
	int ret;

	r.seqs = calloc(j->nrecs ? j->nrecs : 1, sizeof(*r.seqs));
	if (!r.seqs)
		return -ENOMEM;
	for (size_t i = 0; i < j->nrecs; i++) {
		const struct va_journal_rec *rec = &j->recs[i];
		char st = rec->type == 'I' ? va_journal_state(j, rec->seq) : 0;
		struct va_action *a;

		if (rec->type != 'I' || (mode == VA_REPLAY_UNDO && st == 'U') ||
		    (mode == VA_REPLAY_RESUME && st == 'U'))
			continue;
		if (va_array_grow(&rp.actions, &rp.capactions, rp.nactions, sizeof(*rp.actions)) < 0) {
			free(r.seqs);
			va_repair_release(&rp);
			return -ENOMEM;
		}
		a = &rp.actions[rp.nactions++];
		memset(a, 0, sizeof(*a));
		a->dev = rec->dev;
		a->ino = rec->ino;
		a->gen = rec->gen;
		a->gen_known = true;
		a->path = dup_bytes(rec->path, rec->path_len);
		a->path_len = rec->path_len;
		if (mode == VA_REPLAY_UNDO) {
			a->old_flags = rec->new_flags, a->old_mode = rec->new_mode;
			a->new_flags = rec->old_flags, a->new_mode = rec->old_mode;
		} else {
			a->old_flags = rec->old_flags, a->old_mode = rec->old_mode;
			a->new_flags = rec->new_flags, a->new_mode = rec->new_mode;
		}
		r.seqs[n++] = rec->seq;
	}
	ret = run(&r, roots, nroots, mode == VA_REPLAY_UNDO);
	free(r.seqs);
	va_repair_release(&rp);
	return ret;
}
