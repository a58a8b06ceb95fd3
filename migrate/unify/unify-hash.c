/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-hash.c - vhashify: share files through a content-addressed store.
 *
 * One run scans every tree and the store, then sorts all files by size,
 * mode, owner, group and mtime (whole seconds): only files whose key
 * collides with another inode's are read, each inode once, in inode order.
 * Each read gives a content tag (core/ctag.h: a keyed GMAC, several times
 * faster than SHA-256); the files of a key group with equal tags have
 * equal content and share the digest of the store's method (of that key
 * and the content, as util-vserver's), computed for one of them only
 * (digest_classes()).  Files with equal digests form a class (split by
 * the mtime's nanoseconds unless one of them has none or is a store
 * entry: plan_group()) whose master is an existing store entry, or else a
 * new entry copied from the first of them.  A run that links reads in
 * parts, the next one on a thread while this one links (struct ahead).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/prefetch.h"
#include "core/thread.h"
#include "core/walk.h"
#include "migrate/unify/unify-int.h"

struct hashrun {
	struct ustate *u;
	size_t dlen;                    /* digest length of the run's method */
	/* the pass being read: one name of each inode to read, in the
	 * table's order, and the order to read them in (by inode) */
	uint32_t *reads;
	size_t nreads, capreads;
	uint32_t *by_inode;             /* positions in @reads */
	unsigned char *dg;              /* dlen bytes by position in @reads */
	uint8_t *seen;                  /* U_LOOK_* by position in @reads */
	int16_t *err;                   /* 0, or -errno of the read, by position in @reads */
	unsigned char key[VA_CTAG_KEY_LEN];     /* the run's content tags */
	/* the first read of each key group of two reads or more (ascending),
	 * digested with its tag: its @dg is that digest, which the class it
	 * is in takes, and its tag is kept here */
	uint32_t *firsts;
	size_t nfirsts;
	unsigned char *firsttag;        /* VA_CTAG_LEN bytes by first */
	/* the other tag classes of two reads or more: one read of each (in
	 * @reads' order) read again for the digest the class takes */
	uint32_t *reps;                 /* positions in @reads */
	size_t nreps;
	unsigned char *repdg;           /* dlen bytes by rep */
	int *reperr;                    /* 0, or -errno of the rep's second read */
	unsigned long link_max;         /* names an inode can have in the store's filesystem */
	bool method_written;
	/* the reading of the pass's tags (by a thread reading ahead): its
	 * result and the bytes read */
	int read_r;
	uint64_t read_bytes;
};

/* hashrun.seen: the read is a first (hashrun.firsts); never in ustate.look */
#define SEEN_FIRST 0x80

/* a file of a key group with the position of its inode in hashrun.reads */
struct gent {
	uint32_t file, rd;
};

static struct ustate *sort_u;           /* qsort has no user pointer */
static bool sort_ignore_mtime;

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

static int cmp_key(const struct ufile *a, const struct ufile *b)
{
	CMP(a->size, b->size);
	CMP(a->mode, b->mode);
	CMP(a->owner, b->owner);        /* (one index for each pair) */
	if (!sort_ignore_mtime)
		CMP(a->mtime_sec, b->mtime_sec);  /* nanoseconds: see plan_group() */
	return 0;
}

/*
 * The order of places: by directory (their records are made in the order
 * the scans enter them: tree by tree, depth first), then by name.
 */
static int cmp_place(const struct ufile *a, const struct ufile *b)
{
	CMP(a->dir, b->dir);
	return strcmp(u_name(sort_u, a), u_name(sort_u, b));
}

/* by key, then inode, then place */
static int cmp_order(const void *pa, const void *pb)
{
	const struct ufile *a = pa, *b = pb;
	int c = cmp_key(a, b);

	if (c)
		return c;
	CMP(u_dev(sort_u, a), u_dev(sort_u, b));
	CMP(a->ino, b->ino);
	return cmp_place(a, b);
}

static const uint32_t *sort_reads;
static const uint32_t *sort_reps;

/* positions in hashrun.reads, by the inode of the file there */
static int cmp_inode(const void *pa, const void *pb)
{
	const struct ufile *a = &sort_u->files[sort_reads[*(const uint32_t *)pa]];
	const struct ufile *b = &sort_u->files[sort_reads[*(const uint32_t *)pb]];

	CMP(u_dev(sort_u, a), u_dev(sort_u, b));
	CMP(a->ino, b->ino);
	return 0;
}

static const struct hashrun *sort_h;

static const unsigned char *gent_dg(const struct hashrun *h, const struct gent *e)
{
	return h->dg + (size_t)e->rd * h->dlen;
}

/* within a key group: by digest, store entries first, then place */
static int cmp_class(const void *pa, const void *pb)
{
	const struct gent *ea = pa, *eb = pb;
	const struct ufile *a = &sort_u->files[ea->file], *b = &sort_u->files[eb->file];
	int c = memcmp(gent_dg(sort_h, ea), gent_dg(sort_h, eb), sort_h->dlen);
	bool sa = (int)a->tree == sort_u->store_tree, sb = (int)b->tree == sort_u->store_tree;

	if (c)
		return c;
	if (sa != sb)
		return sa ? -1 : 1;
	if (sa && a->nlink != b->nlink)
		return a->nlink > b->nlink ? -1 : 1;
	return cmp_place(a, b);
}

static bool whole_second(const struct ufile *f)
{
	return f->mtime_nsec == 0;
}

static bool sort_merged;

/*
 * Within a class of one digest (equal metadata with the mtime in whole
 * seconds, equal content): unless it is merged, by the nanoseconds of the
 * mtime; then store entries first (most names first), then, merged, the
 * files whose mtime has no nanoseconds (util-vserver's entries and copies
 * carry none), then place.
 */
static int cmp_sub(const void *pa, const void *pb)
{
	const struct gent *ea = pa, *eb = pb;
	const struct ufile *a = &sort_u->files[ea->file], *b = &sort_u->files[eb->file];
	bool sa = (int)a->tree == sort_u->store_tree, sb = (int)b->tree == sort_u->store_tree;

	if (!sort_merged)
		CMP(a->mtime_nsec, b->mtime_nsec);
	if (sa != sb)
		return sa ? -1 : 1;
	if (sa && a->nlink != b->nlink)
		return a->nlink > b->nlink ? -1 : 1;
	if (sort_merged && whole_second(a) != whole_second(b))
		return whole_second(a) ? -1 : 1;
	return cmp_place(a, b);
}

static bool same_inode(const struct ustate *u, const struct ufile *a, const struct ufile *b)
{
	return a->ino == b->ino && u_dev(u, a) == u_dev(u, b);
}

static int cmp_u32(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return a < b ? -1 : a > b;
}

/* The tag of read @at. */
static const unsigned char *tag_of(const struct hashrun *h, size_t at)
{
	uint32_t key = (uint32_t)at;
	const uint32_t *p;

	if (!(h->seen[at] & SEEN_FIRST))
		return h->dg + at * h->dlen;
	p = bsearch(&key, h->firsts, h->nfirsts, sizeof(*p), cmp_u32);
	return h->firsttag + (size_t)(p - h->firsts) * VA_CTAG_LEN;
}

/*
 * Whether a read of the same key group as the read at @at already has the
 * tag @tag: this one is then a twin, likely to be linked.  Reads of a
 * group are neighbours in h->reads; a few of them are looked at.
 */
#define TWIN_LOOK 64

static bool has_twin_read(const struct hashrun *h, size_t at, const unsigned char *tag)
{
	const struct ufile *f = &h->u->files[h->reads[at]];

	for (int dir = -1; dir <= 1; dir += 2) {
		for (size_t k = 1; k <= TWIN_LOOK; k++) {
			size_t q = dir < 0 ? at - k : at + k;

			if ((dir < 0 && k > at) || q >= h->nreads ||
			    cmp_key(&h->u->files[h->reads[q]], f))
				break;
			if ((__atomic_load_n(&h->seen[q], __ATOMIC_ACQUIRE) & U_LOOK_DONE) &&
			    !memcmp(tag_of(h, q), tag, VA_CTAG_LEN))
				return true;
		}
	}
	return false;
}

/*
 * The content tag of the file of read @at into h->dg (the rest of its
 * dlen bytes zero, until its class gets its digest), or, for a first, its
 * digest into h->dg and the tag into h->firsttag; and note in h->seen
 * what its open saw: the flags that decide a link, and, when a twin was
 * read already (dry runs), whether it has extended attributes.
 * Return: 0, -ESTALE or -errno.
 */
static int tag_read(const struct hashrun *h, size_t at, struct va_ctag *t, struct va_digest *d,
		    unsigned char *buf, struct udircache *dc, uint64_t *bytes)
{
	const struct ustate *u = h->u;
	const struct ufile *f = &u->files[h->reads[at]];
	unsigned char *out = h->dg + at * h->dlen;
	const uint64_t both = STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND;
	struct statx stx;
	uint8_t seen = U_LOOK_DONE | (h->seen[at] & SEEN_FIRST);
	int fd = u_open_file_cached(u, f, dc, &stx), r;

	if (fd < 0)
		return fd;
	/* a small file is read in one pread(): nothing for readahead to learn */
	if (f->size > U_READ_BUF)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (h->seen[at] & SEEN_FIRST) {
		r = u_tag_digest_fd(u, t, d, buf, fd, f, (unsigned char *)tag_of(h, at), out, bytes);
	} else {
		r = u_tag_fd(t, buf, fd, f->size, out, bytes);
		memset(out + VA_CTAG_LEN, 0, h->dlen - VA_CTAG_LEN);
	}
	if (r == 0 && u->look) {
		if ((stx.stx_attributes_mask & both) == both)
			seen |= U_LOOK_ATTRS | (stx.stx_attributes & STATX_ATTR_IMMUTABLE ? U_LOOK_IMMUTABLE : 0) |
				(stx.stx_attributes & STATX_ATTR_APPEND ? U_LOOK_APPEND : 0);
		if (has_twin_read(h, at, tag_of(h, at))) {
			ssize_t n = flistxattr(fd, NULL, 0);

			if (n == 0 || (n < 0 && (errno == ENOTSUP || errno == ENOSYS)))
				seen |= U_LOOK_XATTRS | U_LOOK_NO_XATTRS;
			else if (n > 0)
				seen |= U_LOOK_XATTRS;
		}
	}
	close(fd);
	if (r == 0)
		__atomic_store_n(&h->seen[at], seen, __ATOMIC_RELEASE);
	return r;
}

/*
 * The digest of the store's method of the file of read @at into @out,
 * read a second time: the file must still be as scanned, before and after
 * the read, so that the digest is of the content its tag was.
 * Return: 0, -ESTALE or -errno.
 */
static int digest_read(const struct hashrun *h, size_t at, unsigned char *out, struct va_digest *d,
		       unsigned char *buf, struct udircache *dc, uint64_t *bytes)
{
	const struct ustate *u = h->u;
	const struct ufile *f = &u->files[h->reads[at]];
	struct statx stx, after;
	int fd = u_open_file_cached(u, f, dc, &stx), r;

	if (fd < 0)
		return fd;
	r = u_unchanged(u, f, &stx) ? u_digest_fd(u, d, buf, fd, f, out, bytes) : -ESTALE;
	if (r == 0 && statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &after) < 0)
		r = -errno;
	else if (r == 0 && !va_same_stx(&after, &stx))
		r = -ESTALE;
	close(fd);
	return r;
}

/*
 * Reading the candidates (their tags), then the classes' reps (their
 * digests): several threads take small runs of a list in inode order in
 * turn.  Warm, the tags and digests use every CPU; cold, the disk has
 * more than one request to work on.  Workers only read: events and
 * counters are the caller's, afterwards.
 */
#define READ_CHUNK 8

struct readers {
	const struct hashrun *h;
	const uint32_t *order;  /* positions in h->reads (tags) or indices of h->reps (digests) */
	size_t n;
	bool digests;
	atomic_size_t next;
	atomic_uint_fast64_t bytes;
};

static void *read_worker(void *arg)
{
	struct readers *rd = arg;
	const struct hashrun *h = rd->h;
	struct va_digest *d = NULL;
	struct va_ctag *t = NULL;
	struct udircache dc = UDIRCACHE_INIT;
	unsigned char *buf = malloc(U_READ_BUF);
	uint64_t bytes = 0;
	size_t i;

	if (!buf || va_digest_new(&d, h->u->method) < 0 || (!rd->digests && va_ctag_new(&t, h->key) < 0)) {
		va_digest_free(d);
		free(buf);
		return (void *)(intptr_t)-ENOMEM;
	}
	while ((i = atomic_fetch_add(&rd->next, READ_CHUNK)) < rd->n) {
		size_t end = i + READ_CHUNK < rd->n ? i + READ_CHUNK : rd->n;

		for (; i < end; i++) {
			uint32_t at = rd->order[i];

			/* (the tables do not move while this file is read) */
			pthread_rwlock_rdlock(&h->u->table_lock);
			if (rd->digests)
				h->reperr[at] = digest_read(h, h->reps[at], h->repdg + (size_t)at * h->dlen,
							    d, buf, &dc, &bytes);
			else
				h->err[at] = (int16_t)tag_read(h, at, t, d, buf, &dc, &bytes);
			pthread_rwlock_unlock(&h->u->table_lock);
		}
	}
	u_dircache_release(&dc);
	atomic_fetch_add(&rd->bytes, bytes);
	va_digest_free(d);
	va_ctag_free(t);
	free(buf);
	return NULL;
}

/*
 * Readers: two a CPU, and at least READERS_MIN, so that a cold disk (or a
 * loop device on one) has requests enough in flight (8 readers against
 * 4 on 2 CPUs: a cold dry run 15-25% faster, a warm one the same);
 * at most READERS_MAX.
 */
#define READERS_MIN 8
/* threads that warm the caches ahead of the scan (core/prefetch.h) */
#define U_PREFETCH_THREADS 3
#define READERS_MAX 16

/*
 * Tags of every file of h->reads (in the order of h->by_inode) into h->dg,
 * errors in h->err; or, @digests, the digests of h->reps (in the order
 * @order) into h->repdg, errors in h->reperr.  The bytes read into
 * *@bytes.
 */
static int read_all(const struct hashrun *h, const uint32_t *order, size_t n, bool digests,
		    uint64_t *bytes)
{
	struct readers rd = { .h = h, .order = order, .n = n, .digests = digests };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = ncpu > 0 ? (size_t)ncpu * 2 : 2, started = 0;
	pthread_t tid[READERS_MAX];
	void *ret;
	int r = 0;

	if (nthreads < READERS_MIN)
		nthreads = READERS_MIN;
	if (nthreads > READERS_MAX)
		nthreads = READERS_MAX;
	if (nthreads > n / READ_CHUNK + 1)
		nthreads = n / READ_CHUNK + 1;
	atomic_init(&rd.next, 0);
	atomic_init(&rd.bytes, 0);
	for (; started + 1 < nthreads; started++)
		if (va_thread_start(&tid[started], read_worker, &rd) != 0)
			break;
	ret = read_worker(&rd);                /* this thread reads too */
	if (ret)
		r = (int)(intptr_t)ret;
	for (size_t t = 0; t < started; t++) {
		pthread_join(tid[t], &ret);
		if (ret)
			r = (int)(intptr_t)ret;
	}
	if (r == 0 && atomic_load(&rd.next) < n)
		r = -ENOMEM;
	*bytes = atomic_load(&rd.bytes);
	return r;
}

/* Store a 'method' file in a new store. */
static int write_method(struct ustate *u)
{
	const struct utree *t = &u->trees[u->store_tree];
	const char *name = va_digest_name(u->method);
	char line[32];
	int fd, n, r = 0;

	fd = openat(t->fd, "method", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno == EEXIST ? 0 : -errno;
	n = snprintf(line, sizeof(line), "%s\n", name);
	if (write(fd, line, (size_t)n) != n || fsync(fd) < 0)
		r = -errno ? -errno : -EIO;
	close(fd);
	return r;
}

struct inode_names {
	uint32_t file;          /* one of its names */
	size_t n;               /* its names in the class */
};

static int cmp_names_desc(const void *pa, const void *pb)
{
	const struct inode_names *a = pa, *b = pb;

	return a->n != b->n ? (a->n > b->n ? -1 : 1) : (a->file > b->file) - (a->file < b->file);
}

/*
 * The inodes to leave out of class @g[0..n) so that its names fit one
 * inode (the filesystem's link limit, a new store entry's own name
 * included): the largest first, each one whole, never the existing store
 * entry (@stored: g[0] is one).  An inode's names are never split over two
 * inodes.  They go to @out (value 1); *@nout counts them.
 * Return: 0 or -ENOMEM.
 */
static int fit_links(const struct hashrun *h, const struct gent *g, size_t n, bool stored,
		     struct va_inomap *out, size_t *nout)
{
	const struct ustate *u = h->u;
	struct va_inomap idx = VA_INOMAP_INIT;
	struct inode_names *c = NULL;
	size_t nc = 0, cap = 0, total = n + !stored;
	int r = 0;

	*nout = 0;
	if (!h->link_max || total <= h->link_max)
		return 0;
	for (size_t k = 0; k < n && r == 0; k++) {
		const struct ufile *f = &u->files[g[k].file];
		uint32_t v;

		if (va_inomap_find(&idx, u_dev(u, f), f->ino, &v)) {
			c[v].n++;
		} else if (va_array_grow(&c, &cap, nc, sizeof(*c)) < 0 ||
			   va_inomap_insert(&idx, u_dev(u, f), f->ino, (uint32_t)nc) < 0) {
			r = -ENOMEM;
		} else {
			c[nc++] = (struct inode_names){ .file = g[k].file, .n = 1 };
		}
	}
	if (r == 0)
		qsort(c, nc, sizeof(*c), cmp_names_desc);
	for (size_t k = 0; k < nc && r == 0 && total > h->link_max; k++) {
		const struct ufile *f = &u->files[c[k].file];

		if (stored && same_inode(u, f, &u->files[g[0].file]))
			continue;
		r = va_inomap_insert(out, u_dev(u, f), f->ino, 1);
		total -= c[k].n;
		++*nout;
	}
	va_inomap_release(&idx);
	free(c);
	return r;
}

/*
 * Whether @f is a name of one of the class's store entries g[0..nstore)
 * other than its master g[0]: an entry of the same digest made for other
 * nanoseconds (store_slot()), whose names stay on it.
 */
static bool on_other_entry(const struct ustate *u, const struct gent *g, size_t nstore,
			   const struct ufile *f)
{
	for (size_t k = 1; k < nstore; k++)
		if (same_inode(u, f, &u->files[g[k].file]) && !same_inode(u, f, &u->files[g[0].file]))
			return true;
	return false;
}

/*
 * One class: the files of one digest (and, unless merged, one mtime to the
 * nanosecond), store entries first.  Its master is the first store entry,
 * else a new entry copied from the first file that is not left out.
 */
static int plan_class(struct hashrun *h, const struct gent *g, size_t n)
{
	struct ustate *u = h->u;
	size_t ninodes, nstore = 0;
	struct va_inomap seen = VA_INOMAP_INIT, full = VA_INOMAP_INIT;
	size_t nfull = 0;
	uint32_t master, first;
	int r;

	for (size_t k = 0; k < n; k++)
		nstore += (int)u->files[g[k].file].tree == u->store_tree;
	/* two distinct inodes at least (O(n): an inode may have 65,000 names) */
	ninodes = 1;
	for (size_t k = 1; k < n && ninodes < 2; k++)
		if (!same_inode(u, &u->files[g[k].file], &u->files[g[0].file]))
			ninodes = 2;
	if (!nstore && ninodes < 2) {
		for (size_t k = 0; k < n; k++)
			u_skip(u, &u->files[g[k].file], VA_USKIP_CONTENT, 0, NULL);
		return 0;
	}
	if ((r = fit_links(h, g, n, nstore > 0, &full, &nfull)) < 0)
		return r;
	master = g[0].file;
	for (size_t k = 0; k < n && nfull && !nstore; k++) {
		const struct ufile *f = &u->files[g[k].file];

		if (!va_inomap_find(&full, u_dev(u, f), f->ino, &first)) {
			master = g[k].file;     /* the source of the new entry: one that stays */
			break;
		}
	}
	r = u_unit_begin(u, master, !nstore, gent_dg(h, &g[0]));
	/*
	 * One name of each inode first, then the other names: a set
	 * larger than a batch has its twins in the first batch, which
	 * decides whether a store entry is made.
	 */
	for (int pass = 0; pass < 2 && r >= 0; pass++) {
		for (size_t k = 0; k < n && r >= 0; k++) {
			const struct ufile *f = &u->files[g[k].file];

			if ((int)f->tree == u->store_tree)
				continue;
			if (nstore > 1 && on_other_entry(u, g, nstore, f)) {
				if (pass == 0) {
					u->st->already++;
					u_event_file(u, VA_UEV_ALREADY, f, NULL, 0, f->size);
				}
				continue;
			}
			if (nfull && va_inomap_find(&full, u_dev(u, f), f->ino, &first)) {
				if (pass == 0)
					u_skip(u, f, VA_USKIP_EMLINK, 0,
					       "its inode keeps its names: with the others they would pass the link limit");
				continue;
			}
			if (!va_inomap_find(&seen, u_dev(u, f), f->ino, &first)) {
				if ((r = va_inomap_insert(&seen, u_dev(u, f), f->ino, g[k].file)) < 0)
					break;
				first = g[k].file;
			}
			if ((first == g[k].file) == (pass == 0))
				r = u_unit_add(u, g[k].file);
		}
	}
	va_inomap_release(&seen);
	va_inomap_release(&full);
	if (r >= 0)
		r = u_unit_end(u);
	return r;
}

/*
 * The classes of one key group (metadata with the mtime in whole seconds),
 * every file of it read (h->err 0).
 * util-vserver keeps whole seconds only (its entries get their mtime with
 * utime()) and compares seconds: files of one digest whose mtimes differ
 * only in the nanoseconds are one class when one of them has none (an
 * entry or a file util-vserver made, a file unpacked from a tar archive)
 * or when one of them is a store entry (the store never gets a second
 * entry for what it holds), as util-vserver would link them; otherwise
 * only files with the same mtime to the nanosecond are (classes of one
 * digest then get an entry each: store_slot() numbers them).  With
 * ignore_mtime the mtime does not count at all.
 */
static int plan_group(struct hashrun *h, struct gent *g, size_t n)
{
	struct ustate *u = h->u;
	size_t i = 0;
	int r;

	sort_u = u;
	sort_h = h;
	qsort(g, n, sizeof(*g), cmp_class);
	while (i < n) {
		size_t j = i + 1;
		bool merged = u->o->ignore_mtime;

		while (j < n && !memcmp(gent_dg(h, &g[i]), gent_dg(h, &g[j]), h->dlen))
			j++;
		for (size_t k = i; k < j && !merged; k++)
			merged = whole_second(&u->files[g[k].file]) || (int)u->files[g[k].file].tree == u->store_tree;
		sort_merged = merged;
		qsort(g + i, j - i, sizeof(*g), cmp_sub);
		for (size_t a = i; a < j;) {
			size_t b = a + 1;

			while (b < j && (merged || u->files[g[b].file].mtime_nsec == u->files[g[a].file].mtime_nsec))
				b++;
			if ((r = plan_class(h, g + a, b - a)) < 0)
				return r;
			a = b;
		}
		i = j;
	}
	return 0;
}

/* The end of the key group that starts at @i. */
static size_t group_end(const struct ustate *u, size_t i)
{
	size_t j = i + 1;

	while (j < u->nfiles && !cmp_key(&u->files[i], &u->files[j]))
		j++;
	return j;
}

/*
 * Key group [i, j) (sorted by inode): nothing to read when it has one
 * inode (already shared through the store, or unique).  Return: the
 * guests' names in it when its inodes must be read, else 0.
 */
static size_t group_candidates(struct ustate *u, size_t i, size_t j)
{
	size_t inodes = 1, guests = 0;
	bool stored = false;

	for (size_t k = i; k < j; k++) {
		guests += (int)u->files[k].tree != u->store_tree;
		stored |= (int)u->files[k].tree == u->store_tree;
		if (k > i && !same_inode(u, &u->files[k], &u->files[k - 1]))
			inodes++;
	}
	if (!guests || inodes > 1)
		return guests;
	for (size_t k = i; k < j; k++) {
		const struct ufile *f = &u->files[k];

		if ((int)f->tree == u->store_tree)
			continue;
		if (stored) {
			u->st->already++;
			u_event_file(u, VA_UEV_ALREADY, f, NULL, 0, f->size);
		} else {
			u->st->skipped[VA_USKIP_UNIQUE]++;
		}
	}
	return 0;
}

/* Say why a read (or a rep's second read) failed. */
static void read_failed(struct ustate *u, const struct ufile *f, int r)
{
	char msg[96];

	if (r == -ESTALE || r == -ENOENT || r == -ELOOP || r == -ENOTDIR || r == -EXDEV)
		u_skip(u, f, VA_USKIP_CHANGED, 0, NULL);
	else
		u_skip(u, f, VA_USKIP_ERROR, -r, strerror_r(-r, msg, sizeof(msg)) ? msg : msg);
}

/* positions in hashrun.reads: by tag, then position */
static int cmp_tag(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	int c = memcmp(tag_of(sort_h, a), tag_of(sort_h, b), VA_CTAG_LEN);

	if (c)
		return c;
	return a < b ? -1 : a > b;
}

/* indices of hashrun.reps, by the inode of the rep's file */
static int cmp_rep_inode(const void *pa, const void *pb)
{
	uint32_t a = sort_reps[*(const uint32_t *)pa], b = sort_reps[*(const uint32_t *)pb];

	return cmp_inode(&a, &b);
}

/*
 * Call @fn for each tag class of two reads or more (the reads read without
 * error of one key group with one tag), in the table's order, with its
 * reads by position.
 */
static int for_each_tag_class(struct hashrun *h, size_t from, size_t to,
			      int (*fn)(struct hashrun *h, const uint32_t *pos, size_t n, void *arg),
			      void *arg)
{
	const struct ustate *u = h->u;
	uint32_t *pos = NULL;
	size_t cap = 0, rd = 0;
	int r = 0;

	for (size_t i = from; i < to && r >= 0;) {
		size_t j = group_end(u, i), n = 0;

		for (; rd < h->nreads && h->reads[rd] < j; rd++) {
			if (h->err[rd] < 0)
				continue;
			if (va_array_grow(&pos, &cap, n, sizeof(*pos)) < 0) {
				r = -ENOMEM;
				break;
			}
			pos[n++] = (uint32_t)rd;
		}
		if (n > 1 && r >= 0) {
			sort_h = h;
			qsort(pos, n, sizeof(*pos), cmp_tag);
			for (size_t a = 0; a < n && r >= 0;) {
				size_t b = a + 1;

				while (b < n && !memcmp(tag_of(h, pos[a]), tag_of(h, pos[b]), VA_CTAG_LEN))
					b++;
				if (b - a > 1)
					r = fn(h, pos + a, b - a, arg);
				a = b;
			}
		}
		i = j;
	}
	free(pos);
	return r;
}

/* a class of a key group's first read takes its digest from there */
static bool has_first(const struct hashrun *h, const uint32_t *pos)
{
	return h->seen[pos[0]] & SEEN_FIRST;
}

static int add_rep(struct hashrun *h, const uint32_t *pos, size_t n, void *arg)
{
	size_t *cap = arg;

	(void)n;
	if (has_first(h, pos))
		return 0;
	if (va_array_grow(&h->reps, cap, h->nreps, sizeof(*h->reps)) < 0)
		return -ENOMEM;
	h->reps[h->nreps++] = pos[0];
	return 0;
}

/* What give_digest() needs beside the class. */
struct giving {
	size_t next;            /* the class's index in h->reps */
	struct va_digest *d;    /* for a second try, made when needed */
	unsigned char *buf;
	struct udircache dc;
	unsigned char dg[VA_DIGEST_MAX];
};

/*
 * The class's digest to each of its reads.  When its rep changed since
 * the scan (or failed), the rep is left out and the next read of the
 * class read for it, while two are left.
 */
static int give_digest(struct hashrun *h, const uint32_t *pos, size_t n, void *arg)
{
	struct giving *gv = arg;
	bool first = has_first(h, pos);
	size_t k = first ? 0 : gv->next++, at = 0;
	const unsigned char *dg = first ? h->dg + (size_t)pos[0] * h->dlen : h->repdg + k * h->dlen;
	uint64_t bytes = 0;
	int r = first ? 0 : h->reperr[k];

	while (r < 0) {
		read_failed(h->u, &h->u->files[h->reads[pos[at]]], r);
		h->err[pos[at++]] = (int16_t)r;
		if (n - at < 2)
			return 0;       /* alone now: nothing to link it with */
		if (!gv->buf && (!(gv->buf = malloc(U_READ_BUF)) || va_digest_new(&gv->d, h->u->method) < 0))
			return -ENOMEM;
		r = digest_read(h, pos[at], gv->dg, gv->d, gv->buf, &gv->dc, &bytes);
		dg = gv->dg;
	}
	for (size_t i = at; i < n; i++)
		if (h->dg + (size_t)pos[i] * h->dlen != dg)
			memcpy(h->dg + (size_t)pos[i] * h->dlen, dg, h->dlen);
	return 0;
}

/*
 * After the tags: each tag class of two reads or more gets the digest of
 * the store's method: the one its key group's first read got with its tag
 * (most groups are one class), else one read of the class again (its
 * rep), by the readers, in inode order.  A read alone with its tag keeps
 * it (it is linked with nothing, and the zeros after it match no digest
 * of a class).
 */
static int digest_classes(struct hashrun *h, size_t from, size_t to)
{
	struct giving gv = { .dc = UDIRCACHE_INIT };
	uint32_t *order = NULL;
	uint64_t bytes;
	size_t cap = 0;
	int r;

	h->nreps = 0;
	r = for_each_tag_class(h, from, to, add_rep, &cap);
	if (r >= 0 && h->nreps) {
		h->repdg = malloc(h->nreps * h->dlen);
		h->reperr = calloc(h->nreps, sizeof(*h->reperr));
		order = malloc(h->nreps * sizeof(*order));
		if (!h->repdg || !h->reperr || !order)
			r = -ENOMEM;
	}
	if (r >= 0 && h->nreps) {
		for (size_t k = 0; k < h->nreps; k++)
			order[k] = (uint32_t)k;
		sort_u = h->u;
		sort_reads = h->reads;
		sort_reps = h->reps;
		qsort(order, h->nreps, sizeof(*order), cmp_rep_inode);
		/* (a rep's second read is not counted) */
		r = read_all(h, order, h->nreps, true, &bytes);
	}
	free(order);
	if (r >= 0)
		r = for_each_tag_class(h, from, to, give_digest, &gv);
	u_dircache_release(&gv.dc);
	va_digest_free(gv.d);
	free(gv.buf);
	free(h->reps);
	free(h->repdg);
	free(h->reperr);
	h->reps = NULL;
	h->repdg = NULL;
	h->reperr = NULL;
	return r;
}

/* The first read of each key group of two reads or more: h->firsts, SEEN_FIRST. */
static int find_firsts(struct hashrun *h, size_t from, size_t to)
{
	size_t cap = 0, rd = 0;

	h->nfirsts = 0;
	for (size_t i = from; i < to;) {
		size_t j = group_end(h->u, i), rd0 = rd;

		while (rd < h->nreads && h->reads[rd] < j)
			rd++;
		if (rd - rd0 > 1) {
			if (va_array_grow(&h->firsts, &cap, h->nfirsts, sizeof(*h->firsts)) < 0)
				return -ENOMEM;
			h->firsts[h->nfirsts++] = (uint32_t)rd0;
			h->seen[rd0] |= SEEN_FIRST;
		}
		i = j;
	}
	h->firsttag = malloc((h->nfirsts ? h->nfirsts : 1) * VA_CTAG_LEN);
	return h->firsttag ? 0 : -ENOMEM;
}

/*
 * A pass reads the inodes of the key groups [from, to) (h->reads), in
 * inode order, then plans their classes group by group.  Its tables, its
 * first reads and its order of reading first.
 */
static int pass_start(struct hashrun *h, size_t from, size_t to)
{
	struct ustate *u = h->u;
	int r = -ENOMEM;

	h->dg = malloc((h->nreads ? h->nreads : 1) * h->dlen);
	h->err = calloc(h->nreads ? h->nreads : 1, sizeof(*h->err));
	h->by_inode = malloc((h->nreads ? h->nreads : 1) * sizeof(*h->by_inode));
	h->seen = calloc(h->nreads ? h->nreads : 1, 1);
	if (!h->dg || !h->err || !h->by_inode || !h->seen || (r = find_firsts(h, from, to)) < 0)
		return r;
	for (size_t i = 0; i < h->nreads; i++)
		h->by_inode[i] = (uint32_t)i;
	sort_u = u;
	sort_reads = h->reads;
	qsort(h->by_inode, h->nreads, sizeof(*h->by_inode), cmp_inode);
	return 0;
}

/* The pass's tags (on a thread reading ahead: nothing here is said). */
static int pass_read(struct hashrun *h)
{
	h->read_bytes = 0;
	h->read_r = read_all(h, h->by_inode, h->nreads, false, &h->read_bytes);
	return h->read_r;
}

/* After its reads: what failed said, the classes' digests, the groups planned. */
static int pass_finish(struct hashrun *h, size_t from, size_t to)
{
	struct ustate *u = h->u;
	struct gent *grp = NULL;
	size_t capgrp = 0, rd = 0;
	int r;

	if (h->read_r < 0)
		return h->read_r;
	u->st->read_bytes += h->read_bytes;
	u->st->read_files += h->nreads;
	/* (said in the order they were read) */
	for (size_t i = 0; i < h->nreads; i++)
		if (h->err[h->by_inode[i]] < 0)
			read_failed(u, &u->files[h->reads[h->by_inode[i]]], h->err[h->by_inode[i]]);
	free(h->by_inode);
	h->by_inode = NULL;
	if ((r = digest_classes(h, from, to)) < 0)
		return r;
	/* (the firsts' tags are not needed any more) */
	free(h->firsts);
	free(h->firsttag);
	h->firsts = NULL;
	h->firsttag = NULL;
	h->nfirsts = 0;
	/* a store that may get entries gets its method file first (a run that
	 * has nothing to compare, such as one on another mount, writes nothing) */
	if (h->nreads && !u->o->dry_run && !h->method_written) {
		if ((r = write_method(u)) < 0)
			return r;
		h->method_written = true;
	}
	/*
	 * Classes of equal digests, group by group.  h->reads holds the
	 * first name of each inode of the groups that were read, in the
	 * table's order: the reads of a group are its inodes in turn.
	 */
	for (size_t i = from; i < to;) {
		size_t j = group_end(u, i), n = 0;

		if (rd >= h->nreads || h->reads[rd] != i) {
			i = j;          /* a group with nothing to read */
			continue;
		}
		for (size_t k = i; k < j; k++) {
			const struct ufile *f = &u->files[k];

			if (k > i && !same_inode(u, f, &u->files[k - 1]))
				rd++;
			if (h->err[rd] < 0)
				continue;
			if (u->look)
				u->look[k] = h->seen[rd] & ~SEEN_FIRST;
			if (u_outside(u, f)) {
				u_skip(u, f, VA_USKIP_OUTSIDE, 0, NULL);
				continue;
			}
			if (va_array_grow(&grp, &capgrp, n, sizeof(*grp)) < 0) {
				free(grp);
				return -ENOMEM;
			}
			grp[n++] = (struct gent){ .file = (uint32_t)k, .rd = (uint32_t)rd };
		}
		rd++;
		if ((r = plan_group(h, grp, n)) < 0) {
			free(grp);
			return r;
		}
		i = j;
	}
	free(grp);
	return 0;
}

static int run_pass(struct hashrun *h, size_t from, size_t to)
{
	int r = pass_start(h, from, to);

	if (r >= 0)
		r = pass_read(h);
	return r < 0 ? r : pass_finish(h, from, to);
}

/* The end of a pass: its reads and digests go. */
static void end_pass(struct hashrun *h)
{
	free(h->dg);
	free(h->err);
	free(h->by_inode);
	free(h->seen);
	free(h->firsts);
	free(h->firsttag);
	h->firsts = NULL;
	h->firsttag = NULL;
	h->nfirsts = 0;
	h->dg = NULL;
	h->err = NULL;
	h->by_inode = NULL;
	h->seen = NULL;
	h->nreads = 0;
}

/*
 * Bytes a read takes while its pass lasts: its index, order, tag or
 * digest, error and look; half of a first's (position and tag: a key
 * group of two reads or more has one) and a quarter of a rep's (position,
 * order, digest and error: the other tag classes have two reads that are
 * not firsts).
 */
static size_t read_cost(const struct hashrun *h)
{
	return 2 * sizeof(uint32_t) + h->dlen + sizeof(int16_t) + 1 + (sizeof(uint32_t) + VA_CTAG_LEN) / 2 +
	       (2 * sizeof(uint32_t) + h->dlen + sizeof(int) + 3) / 4;
}

/*
 * Reading ahead (real runs): the candidates are read in parts of about an
 * eighth (U_AHEAD_PARTS), at least U_AHEAD_MIN reads, and a thread reads
 * the tags of a part while the part before it is planned and linked here:
 * the disk (cold) or the other CPU (warm) is busy while this thread
 * links.  A dry run plans its groups in little time: it reads in one go.
 */
#define U_AHEAD_PARTS 8
#define U_AHEAD_MIN 1024

struct ahead {
	struct hashrun h;       /* the part being read (or read), its tables */
	size_t from, to;        /* its key groups */
	pthread_t tid;
	bool running;           /* @tid reads it */
	bool pending;           /* it waits to be planned */
};

static void *ahead_main(void *arg)
{
	pass_read(arg);
	return NULL;
}

/* Wait for the part being read. */
static void ahead_join(struct ahead *a)
{
	if (a->running)
		pthread_join(a->tid, NULL);
	a->running = false;
}

/* Exchange the pass tables of @h and @a's part (the run's state stays with @h). */
static void swap_pass(struct hashrun *h, struct ahead *a)
{
	struct hashrun t = *h;
	bool written = h->method_written;

	*h = a->h;
	a->h = t;
	h->method_written = written;
}

/*
 * The part gathered in h->reads, key groups [from, to): its reading
 * started, then the part read before it planned and linked.
 */
static int ahead_next(struct hashrun *h, struct ahead *a, size_t from, size_t to)
{
	size_t pfrom = a->from, pto = a->to;
	bool pending = a->pending;
	int r = pass_start(h, from, to);

	if (r < 0)
		return r;
	ahead_join(a);
	swap_pass(h, a);
	a->from = from;
	a->to = to;
	a->pending = true;
	a->running = va_thread_start(&a->tid, ahead_main, &a->h) == 0;
	if (!a->running)
		pass_read(&a->h);
	if (pending)
		r = pass_finish(h, pfrom, pto);
	end_pass(h);
	return r;
}

/* The last part: planned and linked (@r < 0: only waited for). */
static int ahead_drain(struct hashrun *h, struct ahead *a, int r)
{
	ahead_join(a);
	if (a->pending && r >= 0) {
		swap_pass(h, a);
		r = pass_finish(h, a->from, a->to);
		end_pass(h);
	}
	a->pending = false;
	end_pass(&a->h);
	free(a->h.reads);
	a->h.reads = NULL;
	return r;
}

static int hashify(struct hashrun *h)
{
	struct ustate *u = h->u;
	const struct utree *st = &u->trees[u->store_tree];
	long lmax = fpathconf(st->fd, _PC_LINK_MAX);
	size_t kept = 0, from = 0, budget, part = SIZE_MAX, inpass = 0;
	struct ahead a = { 0 };
	int r = 0;

	h->link_max = lmax > 0 ? (unsigned long)lmax : 0;
	h->dlen = va_digest_len(u->method);
	if ((r = va_ctag_key(h->key)) < 0)
		return r;

	/* files on another device or mount than the store are skipped and dropped */
	for (size_t i = 0; i < u->nfiles; i++) {
		const struct ufile *f = &u->files[i];

		if ((int)f->tree != u->store_tree) {
			if (u_dev(u, f) != st->dev) {
				u_skip(u, f, VA_USKIP_NO_STORE, 0, NULL);
				continue;
			}
			if (u_mnt_id(u, f) && st->mnt_id && u_mnt_id(u, f) != st->mnt_id) {
				u_skip(u, f, VA_USKIP_OTHER_MOUNT, 0, NULL);
				continue;
			}
		}
		u->files[kept++] = *f;
	}
	u->nfiles = kept;
	sort_u = u;
	sort_ignore_mtime = u->o->ignore_mtime;
	qsort(u->files, u->nfiles, sizeof(*u->files), cmp_order);
	/* a dry run's look takes what the reads saw (one byte a file) */
	if (u->o->dry_run && !(u->look = calloc(u->nfiles ? u->nfiles : 1, 1)))
		return -ENOMEM;

	/*
	 * Passes over ranges of key groups (by size), each reading what fits
	 * the memory the run may use beyond its table of files: one pass
	 * unless the candidates are many and memory is short.
	 */
	budget = u_pass_budget(u) / read_cost(h);
	/* reading ahead: two parts in memory, each within half the budget */
	a.h = (struct hashrun){ .u = u, .dlen = h->dlen, .link_max = h->link_max };
	memcpy(a.h.key, h->key, sizeof(a.h.key));
	if (!u->o->dry_run) {
		part = u->nfiles / U_AHEAD_PARTS > U_AHEAD_MIN ? u->nfiles / U_AHEAD_PARTS : U_AHEAD_MIN;
		if (part > budget / 2)
			part = budget / 2 ? budget / 2 : 1;
	}
	for (size_t i = 0; i < u->nfiles && r >= 0;) {
		size_t j = group_end(u, i), guests = group_candidates(u, i, j);

		if (guests) {
			size_t need = 0;

			for (size_t k = i; k < j; k++)
				need += k == i || !same_inode(u, &u->files[k], &u->files[k - 1]);
			/*
			 * A new pass when this group does not fit the budget
			 * with the pass so far (counted: a dry run has the
			 * same), a new part when it does not fit the part.
			 */
			if (inpass && inpass + need > budget) {
				u->st->passes++;
				inpass = 0;
			}
			if (h->nreads && (h->nreads + need > budget || h->nreads + need > part)) {
				if (part == SIZE_MAX) {
					r = run_pass(h, from, i);
					end_pass(h);
				} else {
					r = ahead_next(h, &a, from, i);
				}
				from = i;
				if (r < 0)
					break;
			}
			inpass += need;
			u->st->candidates += guests;
			for (size_t k = i; k < j; k++) {
				if (k > i && same_inode(u, &u->files[k], &u->files[k - 1]))
					continue;
				if (va_array_grow(&h->reads, &h->capreads, h->nreads, sizeof(*h->reads)) < 0) {
					r = -ENOMEM;
					break;
				}
				h->reads[h->nreads++] = (uint32_t)k;
			}
		} else if (!h->nreads) {
			from = j;
		}
		i = j;
	}
	if (inpass)
		u->st->passes++;
	if (r >= 0 && h->nreads)
		r = part == SIZE_MAX ? run_pass(h, from, u->nfiles) : ahead_next(h, &a, from, u->nfiles);
	end_pass(h);
	r = ahead_drain(h, &a, r);
	if (r >= 0)
		r = u_flush(u);
	return r;
}

int va_hash_holds_links(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	errno = 0;
	while (r == 0 && (de = readdir(d))) {
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;       /* dot names: util-vserver skips them too */
		if (de->d_type == DT_LNK ||
		    (de->d_type == DT_UNKNOWN && fstatat(dirfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		     S_ISLNK(sb.st_mode)))
			r = 1;
		errno = 0;
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(d);
	return r;
}

/*
 * After the first tree's scan: when it went at a cold cache's pace, threads
 * warm the caches for the trees after the next one (which the scan takes
 * now) while they are scanned.  On a warm cache they would only compete
 * with the scan (on the Debian bench host 4% slower warm, 10% faster cold).
 */
#define U_PREFETCH_COLD_RATE 250000     /* files a second: slower is cold */

static struct va_prefetch *prefetch_if_cold(const struct ustate *u, uint64_t files, double secs)
{
	const char *roots[64];
	size_t n = 0;

	if (secs < 0.02 || (double)files / secs >= U_PREFETCH_COLD_RATE)
		return NULL;
	for (size_t i = 2; i < u->ntrees && n < 64; i++)
		roots[n++] = u->trees[i].root;
	return va_prefetch_start(roots, n, U_PREFETCH_THREADS);
}

int va_vhashify(const struct va_utree *trees, size_t ntrees, const char *store,
		enum va_digest_method method, const struct va_uopts *o, struct va_ustats *st)
{
	struct ustate u;
	struct hashrun h = { .u = &u };
	struct va_prefetch *pf = NULL;
	int r = u_init(&u, o, st);

	u.method = method;
	for (size_t i = 0; i < ntrees && r >= 0; i++)
		r = u_add_tree(&u, trees[i].root, trees[i].label, trees[i].excl, false);
	if (r >= 0)
		r = u_add_tree(&u, store, "hash store", NULL, true);
	/* a hash configuration directory ("00 -> /vservers/.hash") is never a store */
	if (r >= 0 && (r = va_hash_holds_links(u.trees[u.store_tree].fd)) > 0)
		r = -EINVAL;
	/* (a scan may add alias trees: u_add_file()) */
	for (size_t i = 0, n = r >= 0 ? u.ntrees : 0; i < n && r >= 0; i++) {
		double t0 = va_clock_monotonic();
		uint64_t seen = st->examined;

		r = u_scan(&u, i, u.trees[i].store ? 0 : VA_UNIFY_MINSIZE);
		if (r >= 0 && i == 0)
			pf = prefetch_if_cold(&u, st->examined - seen, va_clock_monotonic() - t0);
	}
	va_prefetch_stop(pf);
	if (r >= 0)
		r = hashify(&h);
	r = u_finish(&u, r);
	end_pass(&h);
	free(h.reads);
	u_release(&u);
	return r;
}

/* ------------------------------------------------------------------ revert */

static int cmp_by_master(const void *pa, const void *pb)
{
	const uint32_t *a = pa, *b = pb;

	CMP(a[0], b[0]);
	CMP(a[1], b[1]);
	return 0;
}

/* Add @path as a tree: a directory is scanned, a file is taken alone. */
static int add_revert_path(struct ustate *u, const char *path)
{
	struct statx stx;
	char *copy, *slash;
	int t, r;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0)
		return -errno;
	if (S_ISDIR(stx.stx_mode)) {
		t = u_add_tree(u, path, NULL, NULL, false);
		return t < 0 ? t : u_scan(u, (size_t)t, 0);
	}
	if (!S_ISREG(stx.stx_mode))
		return -EINVAL;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	slash = strrchr(copy, '/');
	if (slash) {
		char *rel = strdup(slash);

		if (slash == copy)
			slash[1] = '\0';
		else
			*slash = '\0';
		t = rel ? u_add_tree(u, copy, NULL, NULL, false) : -ENOMEM;
		r = t < 0 ? t : u_add_file(u, (size_t)t, rel, strlen(rel), &stx);
		free(rel);
	} else {
		char rel[NAME_MAX + 2];

		snprintf(rel, sizeof(rel), "/%s", copy);
		t = u_add_tree(u, ".", NULL, NULL, false);
		r = t < 0 ? t : u_add_file(u, (size_t)t, rel, strlen(rel), &stx);
	}
	free(copy);
	u->st->examined++;
	return r;
}

int va_vhashify_revert(const char *const *paths, size_t npaths, const char *store,
		       const struct va_uopts *o, struct va_ustats *st)
{
	struct ustate u;
	struct va_inomap map = VA_INOMAP_INIT;
	uint32_t (*pairs)[2] = NULL;
	size_t npairs = 0, nstore;
	int r = u_init(&u, o, st);

	u.reverting = true;
	if (r >= 0)
		r = u_add_tree(&u, store, "hash store", NULL, true);
	if (r >= 0)
		r = u_scan(&u, 0, 0);
	nstore = u.nfiles;
	for (size_t i = 0; i < nstore && r >= 0; i++)
		r = va_inomap_insert(&map, u_dev(&u, &u.files[i]), u.files[i].ino, (uint32_t)i);
	for (size_t i = 0; i < npaths && r >= 0; i++)
		r = add_revert_path(&u, paths[i]);
	if (r >= 0 && !(pairs = calloc(u.nfiles + 1, sizeof(*pairs))))
		r = -ENOMEM;
	for (size_t i = nstore; i < u.nfiles && r >= 0; i++) {
		uint32_t s;

		if (va_inomap_find(&map, u_dev(&u, &u.files[i]), u.files[i].ino, &s)) {
			pairs[npairs][0] = s;
			pairs[npairs++][1] = (uint32_t)i;
			u.st->candidates++;
		} else {
			u.st->skipped[VA_USKIP_NOT_SHARED]++;
		}
	}
	if (r >= 0)
		qsort(pairs, npairs, sizeof(*pairs), cmp_by_master);
	for (size_t i = 0; i < npairs && r >= 0;) {
		size_t j = i;

		r = u_unit_begin(&u, pairs[i][0], false, NULL);
		for (; j < npairs && pairs[j][0] == pairs[i][0] && r >= 0; j++)
			r = u_unit_add(&u, pairs[j][1]);
		if (r >= 0)
			r = u_unit_end(&u);
		i = j;
	}
	if (r >= 0)
		r = u_flush(&u);
	r = u_finish(&u, r);
	free(pairs);
	va_inomap_release(&map);
	u_release(&u);
	return r;
}
