/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * usage.c - the disk space of guests and stores (see usage.h): two walks
 * with core/walk.h (the stores, then the guests), one entry per inode in
 * an array indexed by an inode map, the classes settled once both walks
 * are over, and the reclaimable groups found by sorting the regular files
 * (with VA_USAGE_EXACT, a third walk reads the content of those that
 * share a group with another).  An image is read by va_image_visit()
 * instead of the walks, its content with libext2fs, and its tags counted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/checks.h"
#include "audit/usage.h"
#include "core/dbuf.h"
#include "core/digest.h"
#include "core/image.h"
#include "core/inomap.h"
#include "core/safeopen.h"
#include "core/vsconfig.h"
#include "core/walk.h"

#define DIGEST_LEN 32           /* SHA-256 */

struct sum {
	unsigned char b[DIGEST_LEN];
};

/* One inode. */
struct ino {
	uint64_t blocks;        /* st_blocks */
	uint64_t size;
	uint32_t mode, uid, gid;
	uint32_t names;         /* names met */
	uint32_t ext2_ino;      /* an image's inode number */
	uint32_t tag;           /* an image's xid tag */
	int32_t first_guest;    /* of the guests with a name of it, the first by name, or -1 */
	int32_t last_guest;     /* the guest of its last guest name, or -1 */
	uint32_t nguests;       /* guests with a name of it */
	bool store;             /* a name in a store */
	bool candidate;         /* VA_USAGE_EXACT: others of its size and metadata exist */
	bool digested;          /* VA_USAGE_EXACT: its digest is known */
};

/* An identity of a store walked. */
struct store_id {
	dev_t dev;
	uint64_t ino;
};

struct walker {
	const struct va_usage_args *args;
	struct va_usage *u;
	struct va_inomap map;
	struct ino *inos;
	size_t ninos, capinos;
	struct sum *digests;            /* VA_USAGE_EXACT: one per inode */
	struct va_digest *digest;
	unsigned char *buf;             /* read buffer for the digests */
	struct store_id *ids;
	size_t nids, capids;
	size_t capguests, capstores;
	uint64_t *touched;              /* per guest: bytes of its non-store inodes */
	uint64_t *touched_files;
	long cur_guest;
	bool in_store;                  /* walk 1: below a store */
	bool reading;                   /* walk 3: the content */
	uint64_t entries;               /* met by all walks */
	int fatal;
};

#define BUF_SIZE (1 << 16)

static dev_t entry_dev(const struct va_walk_entry *e)
{
	return makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor);
}

/*
 * One more entry: the progress hook every 4096.  Return: true when the run
 * is cancelled (w->fatal says so; the walk must stop).
 */
static bool tick(struct walker *w)
{
	const struct va_usage_guest *g = w->cur_guest >= 0 ? &w->u->guests[w->cur_guest] : NULL;

	if (w->args->cancel && *w->args->cancel) {
		w->fatal = -ECANCELED;
		return true;
	}
	if ((++w->entries & 4095) == 0 && w->args->progress)
		w->args->progress(w->entries, g ? g->name : NULL, g ? g->name_len : 0, w->reading,
				  w->args->user);
	return false;
}

static void report(struct walker *w, const char *path, size_t len, const char *op, int err)
{
	w->u->total.errors++;
	if (w->args->error)
		w->args->error(path, len, op, err, w->args->user);
}

/* ------------------------------------------------------------------ content */

/* The SHA-256 of the regular file @e into @out.  Return: 0 or -errno (reported). */
static int digest_of(struct walker *w, const struct va_walk_entry *e, unsigned char *out)
{
	struct va_safeopen_id id = { entry_dev(e), e->stx->stx_ino, S_IFREG };
	int fd = va_safeopen_verified(e->at_fd, e->at_name, O_RDONLY | O_NONBLOCK,
				      VA_SAFEOPEN_NOATIME, &id, NULL);
	ssize_t n;

	if (fd < 0) {
		report(w, e->path, e->path_len, "open", -fd);
		return fd;
	}
	va_digest_reset(w->digest);
	while ((n = read(fd, w->buf, BUF_SIZE)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			report(w, e->path, e->path_len, "read", (int)-n);
			return (int)n;
		}
		va_digest_update(w->digest, w->buf, (size_t)n);
	}
	close(fd);
	va_digest_final(w->digest, out);
	return 0;
}

/* ------------------------------------------------------------------ inodes */

/* The entry of inode @ino of @dev, @tmpl when new (then counted for the host).  NULL: out of memory. */
static struct ino *inode_of(struct walker *w, dev_t dev, uint64_t ino, const struct ino *tmpl)
{
	uint32_t idx;
	struct ino *in;

	if (va_inomap_find(&w->map, dev, ino, &idx))
		return &w->inos[idx];
	if (w->ninos >= UINT32_MAX ||
	    va_array_grow(&w->inos, &w->capinos, w->ninos, sizeof(*w->inos)) < 0 ||
	    va_inomap_insert(&w->map, dev, ino, (uint32_t)w->ninos) < 0)
		return NULL;
	in = &w->inos[w->ninos++];
	*in = *tmpl;
	in->first_guest = -1;
	in->last_guest = -1;
	w->u->total.all.files++;
	w->u->total.all.bytes += in->blocks * 512;
	w->u->total.apparent += in->size;
	return in;
}

/* A name of @in: in a store (w->in_store), or in the guest w->cur_guest, or none. */
static int count_in(struct walker *w, struct ino *in)
{
	struct va_usage_guest *g;
	uint64_t bytes;

	in->names++;
	w->u->total.names++;
	w->u->total.copies_bytes += in->blocks * 512;
	if (w->in_store) {
		in->store = true;
		return 0;
	}
	/* the walk is depth first: a guest's names all come together */
	if (w->cur_guest < 0 || in->last_guest == (int32_t)w->cur_guest)
		return 0;
	/* (by name, not by the walk's order, which follows inode numbers) */
	if (in->first_guest < 0 ||
	    strcmp(w->u->guests[w->cur_guest].name, w->u->guests[in->first_guest].name) < 0)
		in->first_guest = (int32_t)w->cur_guest;
	in->last_guest = (int32_t)w->cur_guest;
	in->nguests++;
	g = &w->u->guests[w->cur_guest];
	bytes = in->blocks * 512;
	g->all.files++;
	g->all.bytes += bytes;
	g->apparent += in->size;
	if (in->store) {
		g->store.files++;
		g->store.bytes += bytes;
	} else {
		w->touched_files[w->cur_guest]++;
		w->touched[w->cur_guest] += bytes;
	}
	return 0;
}

/* A name of an inode: in a store (walk 1), or in the current guest or none (walk 2). */
static int count_name(struct walker *w, const struct va_walk_entry *e)
{
	struct ino tmpl = { .blocks = e->stx->stx_blocks, .size = e->stx->stx_size,
			    .mode = e->stx->stx_mode, .uid = e->stx->stx_uid, .gid = e->stx->stx_gid };
	struct ino *in = inode_of(w, entry_dev(e), e->stx->stx_ino, &tmpl);

	return in ? count_in(w, in) : -ENOMEM;
}

/* ------------------------------------------------------------------ walk 1: the stores */

static bool store_known(struct walker *w, dev_t dev, uint64_t ino)
{
	for (size_t i = 0; i < w->nids; i++)
		if (w->ids[i].dev == dev && w->ids[i].ino == ino)
			return true;
	return false;
}

/* One more store directory in the report.  Return: 0 or -ENOMEM. */
static int store_add(struct walker *w, const char *path, size_t len)
{
	char *p;

	if (va_array_grow(&w->u->stores, &w->capstores, w->u->nstores, sizeof(*w->u->stores)) < 0 ||
	    !(p = malloc(len + 1)))
		return -ENOMEM;
	memcpy(p, path, len);
	p[len] = '\0';
	w->u->stores[w->u->nstores++] = p;
	return 0;
}

/* Store @e (a directory) is walked now, unless it was already.  Return: the action. */
static enum va_walk_action store_enter(struct walker *w, const struct va_walk_entry *e)
{
	if (store_known(w, entry_dev(e), e->stx->stx_ino))
		return VA_WALK_PRUNE;
	if (va_array_grow(&w->ids, &w->capids, w->nids, sizeof(*w->ids)) < 0 ||
	    store_add(w, e->path, e->path_len) < 0) {
		w->fatal = -ENOMEM;
		return VA_WALK_STOP;
	}
	w->ids[w->nids++] = (struct store_id){ entry_dev(e), e->stx->stx_ino };
	if ((w->fatal = count_name(w, e)) < 0)
		return VA_WALK_STOP;
	return VA_WALK_CONTINUE;
}

static bool is_store(const struct walker *w, const struct va_walk_entry *e)
{
	return S_ISDIR(e->stx->stx_mode) &&
	       (va_is_store_name(e->name, e->name_len) ||
		va_config_is_store(w->args->config, entry_dev(e), e->stx->stx_ino));
}

static enum va_walk_action on_store_entry(const struct va_walk_entry *e, void *user)
{
	struct walker *w = user;
	/* the configured stores come after the ROOTs: they are roots themselves */
	bool configured = e->root_index >= w->args->nroots;

	if (e->visit == VA_WALK_ERROR) {
		/* a ROOT and its entries are met again by the guest walk, which says it */
		if (e->depth > 1 || configured)
			report(w, e->path, e->path_len, e->error_op, e->error);
		return VA_WALK_CONTINUE;
	}
	if (e->visit != VA_WALK_PRE || !e->stx)
		return VA_WALK_CONTINUE;
	if (tick(w))
		return VA_WALK_STOP;
	if (e->depth == 0) {
		if (!configured)
			return VA_WALK_CONTINUE;
		if (!S_ISDIR(e->stx->stx_mode))
			return VA_WALK_PRUNE;
		return store_enter(w, e);
	}
	if (e->depth == 1 && !configured)
		return is_store(w, e) ? store_enter(w, e) : VA_WALK_PRUNE;
	if ((w->fatal = count_name(w, e)) < 0)
		return VA_WALK_STOP;
	return VA_WALK_CONTINUE;
}

/* ------------------------------------------------------------------ walk 2: the guests */

/* One more guest, the current one from now on.  Return: 0 or -ENOMEM. */
static int guest_new(struct walker *w, const char *name, size_t len, const char *path,
		     size_t path_len, size_t root_index)
{
	struct va_usage_guest *g;
	size_t cap = w->capguests;

	if (w->u->nguests >= INT32_MAX ||
	    va_array_grow(&w->u->guests, &w->capguests, w->u->nguests, sizeof(*w->u->guests)) < 0)
		return -ENOMEM;
	if (w->capguests != cap) {
		uint64_t *t = realloc(w->touched, w->capguests * sizeof(*t));

		if (!t)
			return -ENOMEM;
		w->touched = t;
		if (!(t = realloc(w->touched_files, w->capguests * sizeof(*t))))
			return -ENOMEM;
		w->touched_files = t;
	}
	g = &w->u->guests[w->u->nguests];
	*g = (struct va_usage_guest){ .name_len = len, .path_len = path_len,
				      .root_index = root_index };
	if (!(g->name = malloc(len + 1)) || !(g->path = malloc(path_len + 1))) {
		free(g->name);
		return -ENOMEM;
	}
	memcpy(g->name, name, len);
	g->name[len] = '\0';
	memcpy(g->path, path, path_len);
	g->path[path_len] = '\0';
	w->touched[w->u->nguests] = 0;
	w->touched_files[w->u->nguests] = 0;
	w->cur_guest = (long)w->u->nguests++;
	return 0;
}

static int guest_add(struct walker *w, const struct va_walk_entry *e)
{
	const char *name = e->name;
	size_t len = e->name_len;
	long cfg = va_config_find_vdir(w->args->config, entry_dev(e), e->stx->stx_ino);

	if (cfg >= 0) {
		name = w->args->config->guests[cfg].name;
		len = strlen(name);
	}
	return guest_new(w, name, len, e->path, e->path_len, e->root_index);
}

static enum va_walk_action on_guest_entry(const struct va_walk_entry *e, void *user)
{
	struct walker *w = user;

	if (e->visit == VA_WALK_ERROR) {
		report(w, e->path, e->path_len, e->error_op, e->error);
		return VA_WALK_CONTINUE;
	}
	if (e->visit != VA_WALK_PRE || !e->stx)
		return VA_WALK_CONTINUE;
	if (e->depth <= 1)
		w->cur_guest = -1;
	if (tick(w))
		return VA_WALK_STOP;
	if (e->depth == 0) {
		if (!S_ISDIR(e->stx->stx_mode)) {
			report(w, e->path, e->path_len, "not a directory", 0);
			return VA_WALK_PRUNE;
		}
	} else if (e->depth == 1) {
		if (is_store(w, e))
			return VA_WALK_PRUNE;   /* walked first */
		if (S_ISDIR(e->stx->stx_mode) && (w->fatal = guest_add(w, e)) < 0)
			return VA_WALK_STOP;
	}
	if ((w->fatal = count_name(w, e)) < 0)
		return VA_WALK_STOP;
	return VA_WALK_CONTINUE;
}

/* ------------------------------------------------------------------ the classes */

static void part_add(struct va_usage_part *p, const struct ino *in)
{
	p->files++;
	p->bytes += in->blocks * 512;
}

static void classify(struct walker *w)
{
	struct va_usage *u = w->u;

	for (size_t i = 0; i < w->ninos; i++) {
		const struct ino *in = &w->inos[i];

		if (in->store) {
			part_add(&u->total.store, in);
		} else if (in->nguests > 1) {
			part_add(&u->total.shared, in);
		} else if (in->nguests == 1) {
			part_add(&u->total.priv, in);
			part_add(&u->guests[in->first_guest].priv, in);
		} else {
			part_add(&u->total.other, in);
		}
	}
	for (size_t g = 0; g < u->nguests; g++) {
		u->guests[g].shared.files = w->touched_files[g] - u->guests[g].priv.files;
		u->guests[g].shared.bytes = w->touched[g] - u->guests[g].priv.bytes;
	}
}

/* ------------------------------------------------------------------ reclaimable */

/* A regular file vhashify could link: not empty, a name in a guest or a store. */
static bool linkable(const struct ino *in)
{
	return S_ISREG(in->mode) && in->size > 0 && (in->store || in->nguests);
}

static int cmp_candidates(const void *pa, const void *pb, void *arg)
{
	const struct walker *w = arg;
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	const struct ino *a = &w->inos[ia], *b = &w->inos[ib];

	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	if (a->mode != b->mode)
		return a->mode < b->mode ? -1 : 1;
	if (a->uid != b->uid)
		return a->uid < b->uid ? -1 : 1;
	if (a->gid != b->gid)
		return a->gid < b->gid ? -1 : 1;
	if (w->digests && a->digested && b->digested) {
		int c = memcmp(w->digests[ia].b, w->digests[ib].b, DIGEST_LEN);

		if (c)
			return c;
	}
	/*
	 * The one kept comes first: a store's, else that of the guest first
	 * by name, else the first met.  (The walk meets the guests in the
	 * order of their directories' inode numbers, which a host does not
	 * choose: the figures per guest must not depend on them.)
	 */
	if (a->store != b->store)
		return a->store ? -1 : 1;
	if (a->first_guest != b->first_guest && a->first_guest >= 0 && b->first_guest >= 0) {
		int c = strcmp(w->u->guests[a->first_guest].name, w->u->guests[b->first_guest].name);

		if (c)
			return c;
	}
	return ia < ib ? -1 : ia > ib ? 1 : 0;
}

static bool same_group(const struct walker *w, uint32_t ia, uint32_t ib)
{
	const struct ino *a = &w->inos[ia], *b = &w->inos[ib];

	return a->size == b->size && a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
	       (!w->digests || !a->digested || !b->digested ||
		memcmp(w->digests[ia].b, w->digests[ib].b, DIGEST_LEN) == 0);
}

/*
 * The linkable inodes, sorted into their groups, into *@ret (*@ret_n);
 * with VA_USAGE_EXACT and the digests read, a candidate whose content
 * could not be read is left out.  Return: 0 or -ENOMEM.
 */
static int groups(struct walker *w, uint32_t **ret, size_t *ret_n)
{
	uint32_t *v = malloc((w->ninos ? w->ninos : 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < w->ninos; i++) {
		const struct ino *in = &w->inos[i];

		if (linkable(in) && !(w->digests && in->candidate && !in->digested))
			v[n++] = (uint32_t)i;
	}
	qsort_r(v, n, sizeof(*v), cmp_candidates, w);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* VA_USAGE_EXACT: mark the inodes that share size and metadata with another.  Return: their count or -ENOMEM. */
static long mark_candidates(struct walker *w)
{
	uint32_t *v;
	size_t n;
	long count = 0;
	int r = groups(w, &v, &n);

	if (r < 0)
		return r;
	for (size_t i = 1; i < n; i++) {
		if (!same_group(w, v[i - 1], v[i]))
			continue;
		count += !w->inos[v[i - 1]].candidate + 1;
		w->inos[v[i - 1]].candidate = true;
		w->inos[v[i]].candidate = true;
	}
	free(v);
	return count;
}

/* The walk that reads the candidates' content, each inode once; the other walks said its errors. */
static enum va_walk_action on_digest_entry(const struct va_walk_entry *e, void *user)
{
	struct walker *w = user;
	struct ino *in;
	uint32_t idx;

	if (e->visit == VA_WALK_PRE && tick(w))
		return VA_WALK_STOP;
	if (e->visit != VA_WALK_PRE || !e->stx || !S_ISREG(e->stx->stx_mode) ||
	    !va_inomap_find(&w->map, entry_dev(e), e->stx->stx_ino, &idx))
		return VA_WALK_CONTINUE;
	in = &w->inos[idx];
	if (in->candidate && !in->digested && digest_of(w, e, w->digests[idx].b) == 0)
		in->digested = true;
	return VA_WALK_CONTINUE;
}

static int reclaimable(struct walker *w)
{
	uint32_t *v;
	size_t n;
	int r = groups(w, &v, &n);

	if (r < 0)
		return r;
	for (size_t i = 1; i < n; i++) {
		const struct ino *in = &w->inos[v[i]];

		if (!same_group(w, v[i - 1], v[i]))
			continue;
		part_add(&w->u->total.reclaim, in);
		if (in->first_guest >= 0)
			part_add(&w->u->guests[in->first_guest].reclaim, in);
	}
	free(v);
	return 0;
}

/* ------------------------------------------------------------------ the run */

/* With VA_USAGE_EXACT: the digest and its buffer.  Return: 0 or -ENOMEM. */
static int exact_init(struct walker *w)
{
	int r;

	if (!(w->args->flags & VA_USAGE_EXACT))
		return 0;
	if ((r = va_digest_new(&w->digest, VA_DIGEST_SHA256)) < 0)
		return r;
	return (w->buf = malloc(BUF_SIZE)) ? 0 : -ENOMEM;
}

/*
 * Once every name is counted: the classes, then (VA_USAGE_EXACT) the
 * content of the candidates through @read (with @ctx), then the
 * reclaimable groups.  Return: 0 or -errno.
 */
static int settle(struct walker *w, int (*read)(struct walker *w, void *ctx), void *ctx)
{
	long c;
	int r;

	classify(w);
	if (w->args->flags & VA_USAGE_EXACT) {
		if ((c = mark_candidates(w)) < 0)
			return (int)c;
		if (c > 0) {
			if (!(w->digests = calloc(w->ninos, sizeof(*w->digests))))
				return -ENOMEM;
			w->reading = true;
			w->cur_guest = -1;
			if ((r = read(w, ctx)) < 0)
				return r;
		}
	}
	return reclaimable(w);
}

/* The candidates' content by a third walk with @ctx (struct va_walk_args). */
static int read_walked(struct walker *w, void *ctx)
{
	int r = va_walk(ctx);

	return w->fatal < 0 ? w->fatal : r;
}

static void walker_release(struct walker *w);

/* ------------------------------------------------------------------ an image */

struct image_run {
	struct walker *w;
	struct va_image *img;
	size_t capmismatches;
	struct dbuf path;
};

/* Inode @ino's failure @err while doing @op, reported on the image. */
static void report_inode(struct walker *w, const char *op, uint32_t ino, errcode_t err)
{
	char what[96];

	snprintf(what, sizeof(what), "%s (inode %" PRIu32 ")", op, ino);
	report(w, w->args->img->path, strlen(w->args->img->path), what, (int)err);
}

/*
 * The content of inode @ino, up to @max bytes (all when 0) into the digest
 * (@out non-NULL) or into @text (@max - 1 bytes at most, NUL-terminated).
 * Return: 0 or an errcode_t.
 */
static errcode_t read_inode(struct walker *w, struct va_image *img, uint32_t ino,
			    unsigned char *out, char *text, unsigned max)
{
	ext2_file_t f;
	unsigned int got, have = 0;
	errcode_t err = ext2fs_file_open(img->fs, ino, 0, &f);

	if (err)
		return err;
	if (out)
		va_digest_reset(w->digest);
	for (;;) {
		err = ext2fs_file_read(f, out ? (void *)w->buf : text + have, out ? BUF_SIZE : max - 1 - have, &got);
		if (err || !got)
			break;
		if (out)
			va_digest_update(w->digest, w->buf, got);
		else if ((have += got) >= max - 1)
			break;
	}
	ext2fs_file_close(f);
	if (!err && out)
		va_digest_final(w->digest, out);
	if (!err && text)
		text[have] = '\0';
	return err;
}

/* The candidates' content, each inode once, read from the image (@ctx). */
static int read_image(struct walker *w, void *ctx)
{
	struct va_image *img = ctx;

	for (size_t i = 0; i < w->ninos; i++) {
		struct ino *in = &w->inos[i];
		errcode_t err;

		if (!in->candidate || in->digested)
			continue;
		if (tick(w))
			return w->fatal;
		err = read_inode(w, img, in->ext2_ino, w->digests[i].b, NULL, 0);
		if (err)
			report_inode(w, "reading the content", in->ext2_ino, err);
		else
			in->digested = true;
	}
	return 0;
}

/* The context in /etc/vservers/NAME/context of the image, or 0. */
static uint32_t image_context(struct walker *w, struct va_image *img, const char *name, size_t len)
{
	struct dbuf p = DBUF_INIT;
	uint64_t ino;
	char text[24], *end;
	unsigned long v = 0;

	if (memchr(name, '/', len) || dbuf_adds(&p, "/etc/vservers/") || dbuf_add(&p, name, len) ||
	    dbuf_adds(&p, "/context") ||
	    va_image_resolve(img, p.buf, p.len, &ino) || ino > UINT32_MAX ||
	    read_inode(w, img, (uint32_t)ino, NULL, text, sizeof(text))) {
		dbuf_release(&p);
		return 0;
	}
	dbuf_release(&p);
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || (*end && *end != '\n') || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

static int on_image_guest(size_t index, const char *name, size_t len, const char *path,
			  size_t path_len, void *user)
{
	struct image_run *ir = user;
	struct walker *w = ir->w;
	int r = guest_new(w, name, len, path, path_len, 0);

	(void)index;
	if (r == 0 && w->u->contexts_known)
		w->u->guests[w->cur_guest].context = image_context(w, ir->img, name, len);
	return r;
}

static int on_image_store(const char *path, size_t len, void *user)
{
	struct image_run *ir = user;

	return store_add(ir->w, path, len);
}

/* A name in a guest whose tag is not the guest's context. */
static int mismatch(struct image_run *ir, struct va_image_scan *s, const struct va_image_node *n,
		    int32_t guest, uint32_t dir, const char *name, size_t len)
{
	struct va_usage *u = ir->w->u;
	struct va_usage_mismatch *m;

	if (va_image_scan_path(s, dir, name, len, &ir->path) < 0 ||
	    va_array_grow(&u->mismatches, &ir->capmismatches, u->nmismatches, sizeof(*m)) < 0)
		return -ENOMEM;
	m = &u->mismatches[u->nmismatches];
	*m = (struct va_usage_mismatch){ .path_len = ir->path.len, .guest = (size_t)guest,
					 .tag = n->tag, .ino = n->ino };
	if (!(m->path = malloc(ir->path.len + 1)))
		return -ENOMEM;
	memcpy(m->path, ir->path.buf, ir->path.len + 1);
	u->nmismatches++;
	return 0;
}

static int on_image_name(struct va_image_scan *s, const struct va_image_node *n, int32_t place,
			 uint32_t dir, const char *name, size_t len, void *user)
{
	struct image_run *ir = user;
	struct walker *w = ir->w;
	struct ino tmpl = { .blocks = n->blocks, .size = n->size, .mode = n->mode, .uid = n->uid,
			    .gid = n->gid, .ext2_ino = n->ino, .tag = n->tag };
	struct ino *in;
	uint32_t ctx;

	if (tick(w))
		return w->fatal;
	if (!(in = inode_of(w, 0, n->ino, &tmpl)))
		return -ENOMEM;
	w->in_store = place == VA_PLACE_STORE;
	w->cur_guest = place >= 0 ? place : -1;
	if (place >= 0 && n->tag && (ctx = w->u->guests[place].context) && ctx != n->tag &&
	    mismatch(ir, s, n, place, dir, name, len) < 0)
		return -ENOMEM;
	return count_in(w, in);
}

static int cmp_tag(const void *pa, const void *pb)
{
	const struct va_usage_tag *a = pa, *b = pb;

	return a->tag < b->tag ? -1 : a->tag > b->tag;
}

/* The figures per tag, when some inode has one.  Return: 0 or -ENOMEM. */
static int tags(struct walker *w)
{
	struct va_usage *u = w->u;
	struct va_usage_tag *v;
	size_t n = 0;
	bool any = false;

	for (size_t i = 0; i < w->ninos && !any; i++)
		any = w->inos[i].tag != 0;
	if (!any)
		return 0;
	if (!(v = calloc(w->ninos, sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < w->ninos; i++)
		v[i] = (struct va_usage_tag){ w->inos[i].tag, { 1, w->inos[i].blocks * 512 } };
	qsort(v, w->ninos, sizeof(*v), cmp_tag);
	for (size_t i = 0; i < w->ninos; i++) {
		if (n && v[n - 1].tag == v[i].tag) {
			v[n - 1].part.files++;
			v[n - 1].part.bytes += v[i].part.bytes;
		} else {
			v[n++] = v[i];
		}
	}
	u->tags = v;
	u->ntags = n;
	return 0;
}

static void on_image_error(const char *path, size_t len, const char *op, int err, void *user)
{
	report(user, path, len, op, err);
}

static int usage_image(struct walker *w)
{
	const struct va_usage_args *args = w->args;
	struct image_run ir = { .w = w, .img = args->img, .path = DBUF_INIT };
	struct va_image_visitor v = { on_image_guest, on_image_store, on_image_name, &ir };
	struct va_audit_args aa = { .roots = args->roots, .nroots = args->nroots,
				    .tag_scheme = args->tag_scheme, .cancel = args->cancel,
				    .hooks = { .error = on_image_error, .user = w } };
	uint64_t etc;
	int r;

	if (args->nroots != 1 || !args->img_err) {
		r = -EINVAL;
		goto out;
	}
	w->u->contexts_known = va_image_lookup_dir(args->img, "/etc/vservers", &etc) == 0;
	if ((r = exact_init(w)) < 0)
		goto out;
	r = va_image_visit(&aa, args->img, &v, args->img_err);
	if (r >= 0)
		r = settle(w, read_image, args->img);
	if (r >= 0)
		r = tags(w);
out:
	dbuf_release(&ir.path);
	walker_release(w);
	return r < 0 ? r : 0;
}

/* The configured stores' paths after the ROOTs into *@ret (a malloc'd array). */
static int store_roots(const struct va_usage_args *args, const char ***ret, size_t *ret_n)
{
	const struct va_config *c = args->config;
	size_t n = args->nroots, cap = n;
	const char **v;

	for (size_t i = 0; c && i < c->nhashdirs; i++)
		cap += c->hashdirs[i].nentries;
	if (!(v = calloc(cap ? cap : 1, sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i < args->nroots; i++)
		v[i] = args->roots[i];
	for (size_t i = 0; c && i < c->nhashdirs; i++)
		for (size_t j = 0; j < c->hashdirs[i].nentries; j++)
			if (c->hashdirs[i].entries[j].path && !c->hashdirs[i].entries[j].duplicate)
				v[n++] = c->hashdirs[i].entries[j].path;
	*ret = v;
	*ret_n = n;
	return 0;
}

int va_usage_run(const struct va_usage_args *args, struct va_usage *u)
{
	struct walker w = { .args = args, .u = u, .map = VA_INOMAP_INIT, .cur_guest = -1 };
	struct va_walk_args wa = {
		.flags = (args->flags & VA_USAGE_CROSS_MOUNTS) ? 0 : VA_WALK_XDEV,
		.stx_mask = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_INO | STATX_UID |
			    STATX_GID | STATX_SIZE | STATX_BLOCKS,
		.mount_depth = 1,
		.user = &w,
	};
	const char **sroots = NULL;
	size_t nsroots = 0;
	int r;

	memset(u, 0, sizeof(*u));
	if (!args->roots && args->nroots)
		return -EINVAL;
	if (args->img)
		return usage_image(&w);
	if ((r = exact_init(&w)) < 0)
		goto out;
	if ((r = store_roots(args, &sroots, &nsroots)) < 0)
		goto out;
	w.in_store = true;
	wa.roots = sroots;
	wa.nroots = nsroots;
	wa.callback = on_store_entry;
	r = nsroots ? va_walk(&wa) : 0;
	if (r >= 0 && w.fatal == 0) {
		w.in_store = false;
		wa.roots = args->roots;
		wa.nroots = args->nroots;
		wa.callback = on_guest_entry;
		r = args->nroots ? va_walk(&wa) : 0;
	}
	if (w.fatal < 0)
		r = w.fatal;
	if (r >= 0) {
		wa.roots = sroots;
		wa.nroots = nsroots;
		wa.callback = on_digest_entry;
		r = settle(&w, read_walked, &wa);
	}
out:
	free(sroots);
	walker_release(&w);
	return r < 0 ? r : 0;
}

static void walker_release(struct walker *w)
{
	free(w->inos);
	free(w->digests);
	free(w->buf);
	free(w->ids);
	free(w->touched);
	free(w->touched_files);
	va_digest_free(w->digest);
	va_inomap_release(&w->map);
}

void va_usage_release(struct va_usage *u)
{
	for (size_t i = 0; i < u->nguests; i++) {
		free(u->guests[i].name);
		free(u->guests[i].path);
	}
	free(u->guests);
	for (size_t i = 0; i < u->nstores; i++)
		free(u->stores[i]);
	free(u->stores);
	free(u->tags);
	for (size_t i = 0; i < u->nmismatches; i++)
		free(u->mismatches[i].path);
	free(u->mismatches);
	memset(u, 0, sizeof(*u));
}
