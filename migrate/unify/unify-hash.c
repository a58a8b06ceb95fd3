/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-hash.c - vhashify: share files through a content-addressed store.
 *
 * One run scans every tree and the store, then sorts all files by size,
 * mode, owner, group and mtime (whole seconds): only files whose key
 * collides with another inode's are read, each inode once, in inode order.
 * The digest covers that key and the content, as util-vserver's does;
 * files with equal digests form a class (split by the mtime's nanoseconds
 * unless one of them has none or is a store entry: plan_group()) whose
 * master is an existing store entry, or else a new entry copied from the
 * first of them.
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
#include <unistd.h>

#include "core/walk.h"
#include "migrate/unify/unify-int.h"

struct hashrun {
	struct ustate *u;
	unsigned char (*dg)[VA_DIGEST_MAX];   /* by file index */
	unsigned char *dg_ok;                 /* 1: digest valid, 2: read failed */
	uint32_t *order;                      /* candidates sorted by key */
	size_t norder;
	unsigned long link_max;               /* names an inode can have in the store's filesystem */
};

static struct ustate *sort_u;           /* qsort has no user pointer */
static bool sort_ignore_mtime;

#define CMP(a, b) do { if ((a) != (b)) return (a) < (b) ? -1 : 1; } while (0)

static int cmp_key(const struct ufile *a, const struct ufile *b)
{
	CMP(a->size, b->size);
	CMP(a->mode, b->mode);
	CMP(a->uid, b->uid);
	CMP(a->gid, b->gid);
	if (!sort_ignore_mtime)
		CMP(a->mtime.tv_sec, b->mtime.tv_sec);  /* nanoseconds: see plan_group() */
	return 0;
}

static int cmp_order(const void *pa, const void *pb)
{
	const struct ufile *a = &sort_u->files[*(const uint32_t *)pa];
	const struct ufile *b = &sort_u->files[*(const uint32_t *)pb];
	int c = cmp_key(a, b);

	if (c)
		return c;
	CMP(a->dev, b->dev);
	CMP(a->ino, b->ino);
	CMP(*(const uint32_t *)pa, *(const uint32_t *)pb);
	return 0;
}

static int cmp_inode(const void *pa, const void *pb)
{
	const struct ufile *a = &sort_u->files[*(const uint32_t *)pa];
	const struct ufile *b = &sort_u->files[*(const uint32_t *)pb];

	CMP(a->dev, b->dev);
	CMP(a->ino, b->ino);
	return 0;
}

static unsigned char (*sort_dg)[VA_DIGEST_MAX];

/* within a key group: by digest, store entries first, then scan order */
static int cmp_class(const void *pa, const void *pb)
{
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	const struct ufile *a = &sort_u->files[ia], *b = &sort_u->files[ib];
	int c = memcmp(sort_dg[ia], sort_dg[ib], VA_DIGEST_MAX);
	bool sa = (int)a->tree == sort_u->store_tree, sb = (int)b->tree == sort_u->store_tree;

	if (c)
		return c;
	if (sa != sb)
		return sa ? -1 : 1;
	if (sa && a->nlink != b->nlink)
		return a->nlink > b->nlink ? -1 : 1;
	CMP(ia, ib);
	return 0;
}

static bool whole_second(const struct ufile *f)
{
	return f->mtime.tv_nsec == 0;
}

static bool sort_merged;

/*
 * Within a class of one digest (equal metadata with the mtime in whole
 * seconds, equal content): unless it is merged, by the nanoseconds of the
 * mtime; then store entries first (most names first), then, merged, the
 * files whose mtime has no nanoseconds (util-vserver's entries and copies
 * carry none), then scan order.
 */
static int cmp_sub(const void *pa, const void *pb)
{
	uint32_t ia = *(const uint32_t *)pa, ib = *(const uint32_t *)pb;
	const struct ufile *a = &sort_u->files[ia], *b = &sort_u->files[ib];
	bool sa = (int)a->tree == sort_u->store_tree, sb = (int)b->tree == sort_u->store_tree;

	if (!sort_merged)
		CMP(a->mtime.tv_nsec, b->mtime.tv_nsec);
	if (sa != sb)
		return sa ? -1 : 1;
	if (sa && a->nlink != b->nlink)
		return a->nlink > b->nlink ? -1 : 1;
	if (sort_merged && whole_second(a) != whole_second(b))
		return whole_second(a) ? -1 : 1;
	CMP(ia, ib);
	return 0;
}

static bool same_inode(const struct ufile *a, const struct ufile *b)
{
	return a->dev == b->dev && a->ino == b->ino;
}

/*
 * Digest of the key of @key and the content read from @fd (from offset 0,
 * @key->size bytes).  Return: 0, -ESTALE (shorter than it was) or -errno.
 */
/* Digest of the key and content of @f.  Return: 0, -ESTALE or -errno. */
static int digest_file(const struct ustate *u, struct va_digest *d, unsigned char *buf,
		       struct udircache *dc, const struct ufile *f, unsigned char *out, uint64_t *bytes)
{
	int fd = u_open_file_cached(u, f, dc, NULL), r;

	if (fd < 0)
		return fd;
	/* a small file is read in one pread(): nothing for readahead to learn */
	if (f->size > U_READ_BUF)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	r = u_digest_fd(u, d, buf, fd, f, out, bytes);
	close(fd);
	return r;
}

/*
 * Reading the candidates: several threads take small runs of the list (in
 * inode order) in turn.  Warm, the digests use every CPU; cold, the disk
 * has more than one request to work on.  Workers only read: events and
 * counters are the caller's, afterwards.
 */
#define READ_CHUNK 8

struct readers {
	const struct ustate *u;
	const uint32_t *reads;
	size_t nreads;
	unsigned char (*dg)[VA_DIGEST_MAX];
	int *err;                       /* by position in @reads */
	atomic_size_t next;
	atomic_uint_fast64_t bytes;
};

static void *read_worker(void *arg)
{
	struct readers *rd = arg;
	struct va_digest *d = NULL;
	struct udircache dc = UDIRCACHE_INIT;
	unsigned char *buf = malloc(U_READ_BUF);
	uint64_t bytes = 0;
	size_t i;

	if (!buf || va_digest_new(&d, rd->u->method) < 0) {
		free(buf);
		return (void *)(intptr_t)-ENOMEM;
	}
	while ((i = atomic_fetch_add(&rd->next, READ_CHUNK)) < rd->nreads) {
		size_t end = i + READ_CHUNK < rd->nreads ? i + READ_CHUNK : rd->nreads;

		for (; i < end; i++)
			rd->err[i] = digest_file(rd->u, d, buf, &dc, &rd->u->files[rd->reads[i]],
						 rd->dg[rd->reads[i]], &bytes);
	}
	u_dircache_release(&dc);
	atomic_fetch_add(&rd->bytes, bytes);
	va_digest_free(d);
	free(buf);
	return NULL;
}

/* Digest every file of @reads (sorted by inode) into h->dg; errors in @err. */
static int read_all(struct hashrun *h, const uint32_t *reads, size_t nreads, int *err)
{
	struct readers rd = { .u = h->u, .reads = reads, .nreads = nreads, .dg = h->dg, .err = err };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nthreads = ncpu > 0 ? (size_t)ncpu * 2 : 2, started = 0;
	pthread_t tid[8];
	void *ret;
	int r = 0;

	if (nthreads > 8)
		nthreads = 8;
	if (nthreads > nreads / READ_CHUNK + 1)
		nthreads = nreads / READ_CHUNK + 1;
	atomic_init(&rd.next, 0);
	atomic_init(&rd.bytes, 0);
	for (; started + 1 < nthreads; started++)
		if (pthread_create(&tid[started], NULL, read_worker, &rd) != 0)
			break;
	ret = read_worker(&rd);                /* this thread reads too */
	if (ret)
		r = (int)(intptr_t)ret;
	for (size_t t = 0; t < started; t++) {
		pthread_join(tid[t], &ret);
		if (ret)
			r = (int)(intptr_t)ret;
	}
	if (r == 0 && atomic_load(&rd.next) < nreads)
		r = -ENOMEM;
	h->u->st->read_bytes += atomic_load(&rd.bytes);
	h->u->st->read_files += nreads;
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
static int fit_links(const struct hashrun *h, const uint32_t *g, size_t n, bool stored,
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
		const struct ufile *f = &u->files[g[k]];
		uint32_t v;

		if (va_inomap_find(&idx, f->dev, f->ino, &v)) {
			c[v].n++;
		} else if (va_array_grow(&c, &cap, nc, sizeof(*c)) < 0 ||
			   va_inomap_insert(&idx, f->dev, f->ino, (uint32_t)nc) < 0) {
			r = -ENOMEM;
		} else {
			c[nc++] = (struct inode_names){ .file = g[k], .n = 1 };
		}
	}
	if (r == 0)
		qsort(c, nc, sizeof(*c), cmp_names_desc);
	for (size_t k = 0; k < nc && r == 0 && total > h->link_max; k++) {
		const struct ufile *f = &u->files[c[k].file];

		if (stored && same_inode(f, &u->files[g[0]]))
			continue;
		r = va_inomap_insert(out, f->dev, f->ino, 1);
		total -= c[k].n;
		++*nout;
	}
	va_inomap_release(&idx);
	free(c);
	return r;
}

/*
 * One class: the files of one digest (and, unless merged, one mtime to the
 * nanosecond), store entries first.  Its master is the first store entry,
 * else a new entry copied from the first file that is not left out.
 */
static int plan_class(struct hashrun *h, const uint32_t *g, size_t n)
{
	struct ustate *u = h->u;
	size_t ninodes, nstore = 0;
	struct va_inomap seen = VA_INOMAP_INIT, full = VA_INOMAP_INIT;
	size_t nfull = 0;
	uint32_t master, first;
	int r;

	for (size_t k = 0; k < n; k++)
		nstore += (int)u->files[g[k]].tree == u->store_tree;
	/* two distinct inodes at least (O(n): an inode may have 65,000 names) */
	ninodes = 1;
	for (size_t k = 1; k < n && ninodes < 2; k++)
		if (!same_inode(&u->files[g[k]], &u->files[g[0]]))
			ninodes = 2;
	if (!nstore && ninodes < 2) {
		for (size_t k = 0; k < n; k++)
			u_skip(u, &u->files[g[k]], VA_USKIP_CONTENT, 0, NULL);
		return 0;
	}
	if ((r = fit_links(h, g, n, nstore > 0, &full, &nfull)) < 0)
		return r;
	master = g[0];
	for (size_t k = 0; k < n && nfull && !nstore; k++) {
		const struct ufile *f = &u->files[g[k]];

		if (!va_inomap_find(&full, f->dev, f->ino, &first)) {
			master = g[k];  /* the source of the new entry: one that stays */
			break;
		}
	}
	r = u_unit_begin(u, master, !nstore, h->dg[g[0]]);
	/*
	 * One name of each inode first, then the other names: a set
	 * larger than a batch has its twins in the first batch, which
	 * decides whether a store entry is made.
	 */
	for (int pass = 0; pass < 2 && r >= 0; pass++) {
		for (size_t k = 0; k < n && r >= 0; k++) {
			const struct ufile *f = &u->files[g[k]];

			if ((int)f->tree == u->store_tree)
				continue;
			if (nfull && va_inomap_find(&full, f->dev, f->ino, &first)) {
				if (pass == 0)
					u_skip(u, f, VA_USKIP_EMLINK, 0,
					       "its inode keeps its names: with the others they would pass the link limit");
				continue;
			}
			if (!va_inomap_find(&seen, f->dev, f->ino, &first)) {
				if ((r = va_inomap_insert(&seen, f->dev, f->ino, g[k])) < 0)
					break;
				first = g[k];
			}
			if ((first == g[k]) == (pass == 0))
				r = u_unit_add(u, g[k]);
		}
	}
	va_inomap_release(&seen);
	va_inomap_release(&full);
	if (r >= 0)
		r = u_unit_end(u);
	return r;
}

/*
 * The classes of one key group (metadata with the mtime in whole seconds).
 * util-vserver keeps whole seconds only (its entries get their mtime with
 * utime()) and compares seconds: files of one digest whose mtimes differ
 * only in the nanoseconds are one class when one of them has none (an
 * entry or a file util-vserver made, a file unpacked from a tar archive)
 * or when one of them is a store entry (the store never gets a second
 * entry for what it holds), as util-vserver would link them; otherwise
 * only files with the same mtime to the nanosecond are.  With
 * ignore_mtime the mtime does not count at all.
 */
static int plan_group(struct hashrun *h, uint32_t *g, size_t n)
{
	struct ustate *u = h->u;
	size_t i = 0;
	int r;

	sort_u = u;
	sort_dg = h->dg;
	qsort(g, n, sizeof(*g), cmp_class);
	while (i < n) {
		size_t j = i + 1;
		bool bad = h->dg_ok[g[i]] != 1, merged = u->o->ignore_mtime;

		while (j < n && h->dg_ok[g[j]] == 1 && !bad && !memcmp(h->dg[g[i]], h->dg[g[j]], VA_DIGEST_MAX))
			j++;
		if (bad) {
			i = j;
			continue;
		}
		for (size_t k = i; k < j && !merged; k++)
			merged = whole_second(&u->files[g[k]]) || (int)u->files[g[k]].tree == u->store_tree;
		sort_merged = merged;
		qsort(g + i, j - i, sizeof(*g), cmp_sub);
		for (size_t a = i; a < j;) {
			size_t b = a + 1;

			while (b < j && (merged || u->files[g[b]].mtime.tv_nsec == u->files[g[a]].mtime.tv_nsec))
				b++;
			if ((r = plan_class(h, g + a, b - a)) < 0)
				return r;
			a = b;
		}
		i = j;
	}
	return 0;
}

static int hashify(struct hashrun *h)
{
	struct ustate *u = h->u;
	const struct utree *st = &u->trees[u->store_tree];
	struct statx sx;
	uint32_t *reads = NULL, *grp = NULL;
	size_t nreads = 0, capreads = 0, capgrp = 0;
	int *err = NULL;
	dev_t sdev;
	uint64_t smnt = 0;
	long lmax = fpathconf(st->fd, _PC_LINK_MAX);
	int r;

	h->link_max = lmax > 0 ? (unsigned long)lmax : 0;

	if (statx(st->fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS
#ifdef STATX_MNT_ID
		  | STATX_MNT_ID
#endif
		  , &sx) < 0)
		return -errno;
	sdev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
#ifdef STATX_MNT_ID
	smnt = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
#endif
	h->order = malloc((u->nfiles ? u->nfiles : 1) * sizeof(*h->order));
	if (!h->order)
		return -ENOMEM;
	for (size_t i = 0; i < u->nfiles; i++) {
		const struct ufile *f = &u->files[i];

		if ((int)f->tree != u->store_tree) {
			if (f->dev != sdev) {
				u_skip(u, f, VA_USKIP_NO_STORE, 0, NULL);
				continue;
			}
			if (f->mnt_id && smnt && f->mnt_id != smnt) {
				u_skip(u, f, VA_USKIP_OTHER_MOUNT, 0, NULL);
				continue;
			}
		}
		h->order[h->norder++] = (uint32_t)i;
	}
	sort_u = u;
	sort_ignore_mtime = u->o->ignore_mtime;
	qsort(h->order, h->norder, sizeof(*h->order), cmp_order);

	/* which inodes must be read: those whose key collides with another inode's */
	for (size_t i = 0; i < h->norder;) {
		size_t j = i + 1, inodes = 1, guests = 0;

		while (j < h->norder && !cmp_key(&u->files[h->order[i]], &u->files[h->order[j]]))
			j++;
		for (size_t k = i; k < j; k++) {
			guests += (int)u->files[h->order[k]].tree != u->store_tree;
			if (k > i && !same_inode(&u->files[h->order[k]], &u->files[h->order[k - 1]]))
				inodes++;
		}
		if (guests && inodes == 1) {
			bool stored = false;

			for (size_t k = i; k < j; k++)
				stored |= (int)u->files[h->order[k]].tree == u->store_tree;
			for (size_t k = i; k < j; k++) {
				const struct ufile *f = &u->files[h->order[k]];

				if ((int)f->tree == u->store_tree)
					continue;
				if (stored) {
					u->st->already++;
					u_event_file(u, VA_UEV_ALREADY, f, NULL, 0, f->size);
				} else {
					u->st->skipped[VA_USKIP_UNIQUE]++;
				}
			}
		} else if (guests) {
			u->st->candidates += guests;
			for (size_t k = i; k < j; k++) {
				if (k > i && same_inode(&u->files[h->order[k]], &u->files[h->order[k - 1]]))
					continue;
				if (va_array_grow(&reads, &capreads, nreads, sizeof(*reads)) < 0) {
					r = -ENOMEM;
					goto out;
				}
				reads[nreads++] = h->order[k];
			}
		}
		i = j;
	}

	/* read them in inode order (the disk's order, roughly) */
	h->dg = calloc(u->nfiles ? u->nfiles : 1, sizeof(*h->dg));
	h->dg_ok = calloc(u->nfiles ? u->nfiles : 1, 1);
	err = calloc(nreads ? nreads : 1, sizeof(*err));
	if (!h->dg || !h->dg_ok || !err) {
		r = -ENOMEM;
		goto out;
	}
	qsort(reads, nreads, sizeof(*reads), cmp_inode);
	if ((r = read_all(h, reads, nreads, err)) < 0)
		goto out;
	for (size_t i = 0; i < nreads; i++) {
		const struct ufile *f = &u->files[reads[i]];

		r = err[i];
		if (r < 0) {
			char msg[96];

			h->dg_ok[reads[i]] = 2;
			if (r == -ESTALE || r == -ENOENT || r == -ELOOP || r == -ENOTDIR || r == -EXDEV)
				u_skip(u, f, VA_USKIP_CHANGED, 0, NULL);
			else
				u_skip(u, f, VA_USKIP_ERROR, -r, strerror_r(-r, msg, sizeof(msg)) ? msg : msg);
			continue;
		}
		h->dg_ok[reads[i]] = 1;
	}
	/* the other names of each inode share its digest */
	for (size_t i = 0; i < h->norder; i++) {
		uint32_t a = h->order[i];

		if (i && same_inode(&u->files[a], &u->files[h->order[i - 1]]) &&
		    !cmp_key(&u->files[a], &u->files[h->order[i - 1]])) {
			memcpy(h->dg[a], h->dg[h->order[i - 1]], VA_DIGEST_MAX);
			h->dg_ok[a] = h->dg_ok[h->order[i - 1]];
		}
	}

	/* a store that may get entries gets its method file first (a run that
	 * has nothing to compare, such as one on another mount, writes nothing) */
	if (nreads && !u->o->dry_run && (r = write_method(u)) < 0)
		goto out;
	/* classes of equal digests, group by group */
	for (size_t i = 0; i < h->norder;) {
		size_t j = i + 1, n = 0;
		bool any = false;

		while (j < h->norder && !cmp_key(&u->files[h->order[i]], &u->files[h->order[j]]))
			j++;
		for (size_t k = i; k < j; k++)
			any |= h->dg_ok[h->order[k]] != 0;
		if (any) {
			for (size_t k = i; k < j; k++) {
				if (!h->dg_ok[h->order[k]])
					continue;
				if (u_outside(u, &u->files[h->order[k]])) {
					u_skip(u, &u->files[h->order[k]], VA_USKIP_OUTSIDE, 0, NULL);
					continue;
				}
				if (va_array_grow(&grp, &capgrp, n, sizeof(*grp)) < 0) {
					r = -ENOMEM;
					goto out;
				}
				grp[n++] = h->order[k];
			}
			if ((r = plan_group(h, grp, n)) < 0)
				goto out;
		}
		i = j;
	}
	r = u_flush(u);
out:
	free(err);
	free(reads);
	free(grp);
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

int va_vhashify(const struct va_utree *trees, size_t ntrees, const char *store,
		enum va_digest_method method, const struct va_uopts *o, struct va_ustats *st)
{
	struct ustate u;
	struct hashrun h = { .u = &u };
	int r = u_init(&u, o, st);

	u.method = method;
	for (size_t i = 0; i < ntrees && r >= 0; i++)
		r = u_add_tree(&u, trees[i].root, trees[i].label, trees[i].excl, false);
	if (r >= 0)
		r = u_add_tree(&u, store, "hash store", NULL, true);
	/* a hash configuration directory ("00 -> /vservers/.hash") is never a store */
	if (r >= 0 && (r = va_hash_holds_links(u.trees[u.store_tree].fd)) > 0)
		r = -EINVAL;
	for (size_t i = 0; i < u.ntrees && r >= 0; i++)
		r = u_scan(&u, i, u.trees[i].store ? 0 : VA_UNIFY_MINSIZE);
	if (r >= 0)
		r = hashify(&h);
	r = va_journal_finish(o->j, r);
	free(h.dg);
	free(h.dg_ok);
	free(h.order);
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
		r = va_inomap_insert(&map, u.files[i].dev, u.files[i].ino, (uint32_t)i);
	for (size_t i = 0; i < npaths && r >= 0; i++)
		r = add_revert_path(&u, paths[i]);
	if (r >= 0 && !(pairs = calloc(u.nfiles + 1, sizeof(*pairs))))
		r = -ENOMEM;
	for (size_t i = nstore; i < u.nfiles && r >= 0; i++) {
		uint32_t s;

		if (va_inomap_find(&map, u.files[i].dev, u.files[i].ino, &s)) {
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
	r = va_journal_finish(o->j, r);
	free(pairs);
	va_inomap_release(&map);
	u_release(&u);
	return r;
}
