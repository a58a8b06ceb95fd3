/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-ref.c - vunify: each file of the target guest is paired with the
 * file of the same path in the first reference guest that has an equal
 * one (metadata, then content byte for byte; extended attributes when it
 * is linked), and its name is linked to that file's inode.  With revert,
 * the target's names that share a reference's inode get private copies.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "migrate/unify/unify-int.h"

/* The directory of the last lookup in one reference, kept open. */
struct refdir {
	char *dir;              /* relative directory ("" for the root) */
	int fd;                 /* -errno when it does not exist */
};

static int ref_lookup(struct ustate *u, size_t t, struct refdir *rd, const char *rel,
		      struct statx *stx, int *dirfd, const char **base)
{
	const char *slash = strrchr(rel, '/');
	size_t dlen = (size_t)(slash - rel);

	*base = slash + 1;
	if (!rd->dir || strlen(rd->dir) != dlen || memcmp(rd->dir, rel, dlen)) {
		free(rd->dir);
		if (rd->fd >= 0)
			close(rd->fd);
		rd->dir = strndup(rel, dlen);
		if (!rd->dir)
			return -ENOMEM;
		rd->fd = va_safeopen_beneath(u->trees[t].fd, dlen ? rd->dir + 1 : ".", O_RDONLY | O_DIRECTORY, 0);
	}
	if (rd->fd < 0)
		return rd->fd;
	*dirfd = rd->fd;
	if (statx(rd->fd, *base, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS
#ifdef STATX_MNT_ID
		  | STATX_MNT_ID
#endif
		  , stx) < 0)
		return -errno;
	return 0;
}

/* Compare @f (target) with the reference file (@dirfd, @base, @rstx). */
static int same_content(struct ustate *u, const struct ufile *f, int dirfd, const char *base,
			const struct statx *rstx)
{
	struct statx a, b;
	int fa, fb, r;

	fa = u_open_file(u, f, &a);
	if (fa < 0)
		return fa;
	fb = va_open_regular(dirfd, base, makedev(rstx->stx_dev_major, rstx->stx_dev_minor),
			     rstx->stx_ino, &b);
	if (fb < 0) {
		close(fa);
		return fb;
	}
	r = va_same_stx(&b, rstx) ? va_content_equal(fa, fb, f->size) : -ESTALE;
	u->st->read_files += 2;
	u->st->read_bytes += 2 * f->size;
	close(fa);
	close(fb);
	return r;
}

/* The mount id in @stx, 0 when the kernel does not say. */
static uint64_t rs_mnt_id(const struct statx *stx)
{
#ifdef STATX_MNT_ID
	return (stx->stx_mask & STATX_MNT_ID) ? stx->stx_mnt_id : 0;
#else
	(void)stx;
	return 0;
#endif
}

/* Whether the reference file has as many links as its filesystem allows. */
static bool is_full(int dirfd, const struct statx *rs)
{
	long max = fpathconf(dirfd, _PC_LINK_MAX);

	return max > 0 && rs->stx_nlink >= (unsigned long)max;
}

/* The first name (in scan order) of @f's inode, or UINT32_MAX when it has one name. */
static uint32_t first_name(const struct ustate *u, const struct va_inomap *last, const struct ufile *f)
{
	uint32_t v;

	return f->nlink > 1 && va_inomap_find(last, u_dev(u, f), f->ino, &v) ? v : UINT32_MAX;
}

int va_vunify(const struct va_utree *target, const struct va_utree *refs, size_t nrefs,
	      bool revert, const struct va_uopts *o, struct va_ustats *st)
{
	struct ustate u;
	struct refdir *rd = NULL;
	struct dbuf relb = DBUF_INIT;
	struct va_inomap last = VA_INOMAP_INIT;
	uint32_t *next = NULL;          /* the next name of the same inode in the target */
	uint8_t *pend = NULL;           /* per name: 0 open, 1 handled, else its skip + 2 */
	size_t ntarget;
	int r = u_init(&u, o, st);

	u.reverting = revert;
	if (r >= 0)
		r = u_add_tree(&u, target->root, target->label, target->excl, false);
	for (size_t i = 0; i < nrefs && r >= 0; i++)
		r = u_add_tree(&u, refs[i].root, refs[i].label, refs[i].excl, false);
	if (r >= 0 && !(rd = calloc(nrefs + 1, sizeof(*rd))))
		r = -ENOMEM;
	for (size_t i = 0; i < nrefs + 1 && rd; i++)
		rd[i].fd = -1;
	if (r >= 0)
		r = u_scan(&u, 0, 0);
	/* the names of the references' hard-linked files, for u_outside() */
	for (size_t i = 0; i < nrefs && r >= 0 && !revert; i++)
		r = u_scan_count(&u, i + 1);
	ntarget = u.nfiles;
	/*
	 * The names of one inode of the target (a guest's own hard links,
	 * Debian's perl and perl5.36.0) all go to the master the first of
	 * them that has a reference file is linked to: the guest's inode is
	 * freed, its names stay one inode.  @next chains them in scan order.
	 */
	if (r >= 0 && !revert && (!(next = malloc((ntarget + 1) * sizeof(*next))) ||
				  !(pend = calloc(ntarget + 1, 1))))
		r = -ENOMEM;
	for (size_t i = ntarget; i-- > 0 && r >= 0 && next;) {
		const struct ufile *f = &u.files[i];
		uint32_t v;

		next[i] = UINT32_MAX;
		if (f->nlink < 2)
			continue;
		if (va_inomap_find(&last, u_dev(&u, f), f->ino, &v))
			next[i] = v;
		if (va_inomap_insert(&last, u_dev(&u, f), f->ino, (uint32_t)i) < 0)
			r = -ENOMEM;
	}
	for (size_t i = 0; i < ntarget && r >= 0; i++) {
		const struct ufile *f = &u.files[i];
		const char *rel;
		enum va_uskip why = VA_USKIP_NO_REF;
		bool done = false, linked = false, later;

		if (pend && pend[i])
			continue;       /* linked with another name of its inode */

		/* (its own buffer: adding files moves the names) */
		if (!(rel = u_rel(&u, f, &relb))) {
			r = -ENOMEM;
			break;
		}
		for (size_t k = 0; k < nrefs && !done && r >= 0; k++) {
			size_t t = k + 1;
			struct statx rs;
			const char *base;
			int dirfd, c;

			if (refs[k].excl && va_excl_effective(refs[k].excl, rel, NULL) != VA_EXCL_INCLUDE) {
				if (why == VA_USKIP_NO_REF)
					why = VA_USKIP_EXCLUDED;
				continue;
			}
			c = ref_lookup(&u, t, &rd[k], rel, &rs, &dirfd, &base);
			if (c == -ENOMEM)
				r = c;
			if (c < 0 || !S_ISREG(rs.stx_mode))
				continue;
			if (makedev(rs.stx_dev_major, rs.stx_dev_minor) != u_dev(&u, f)) {
				why = why == VA_USKIP_NO_REF || why == VA_USKIP_EXCLUDED ? VA_USKIP_OTHER_MOUNT : why;
				continue;
			}
			if (rs.stx_ino == f->ino) {
				done = true;
				if (!revert) {
					u.st->already++;
					u_event_file(&u, VA_UEV_ALREADY, f, NULL, 0, f->size);
					break;
				}
			} else if (revert) {
				continue;
			} else if (!u_same_meta(&u, f, &rs, false)) {
				if (why == VA_USKIP_NO_REF || why == VA_USKIP_EXCLUDED || why == VA_USKIP_OTHER_MOUNT)
					why = VA_USKIP_METADATA;
				continue;
			} else if (u_mnt_id(&u, f) && rs_mnt_id(&rs) && u_mnt_id(&u, f) != rs_mnt_id(&rs)) {
				why = VA_USKIP_OTHER_MOUNT;
				continue;
			} else if (is_full(dirfd, &rs)) {
				why = VA_USKIP_EMLINK;  /* the next reference may do */
				continue;
			} else {
				u.st->candidates++;
				c = same_content(&u, f, dirfd, base, &rs);
				if (c == 0) {
					why = VA_USKIP_CONTENT;
					continue;
				}
				if (c < 0) {
					why = c == -ENOMEM ? VA_USKIP_ERROR : VA_USKIP_CHANGED;
					continue;
				}
				done = true;
			}
			/* link (or revert) the target's name against this reference file */
			if ((c = u_add_file(&u, t, rel, relb.len, &rs)) < 0) {
				r = c;
				break;
			}
			f = &u.files[i];        /* u.files may have moved */
			if (revert)
				u.st->candidates++;
			r = u_unit_begin(&u, (uint32_t)(u.nfiles - 1), false, NULL);
			if (r >= 0)
				r = u_unit_add(&u, (uint32_t)i);
			/* the other names of its inode, before and after it */
			linked = true;
			for (uint32_t j = next ? (uint32_t)first_name(&u, &last, &u.files[i]) : UINT32_MAX;
			     j != UINT32_MAX && r >= 0; j = next[j]) {
				if (j == i || pend[j] == 1)
					continue;
				pend[j] = 1;
				r = u_unit_add(&u, j);
			}
			if (r >= 0)
				r = u_unit_end(&u);
		}
		if (pend)
			pend[i] = 1;
		later = next && next[i] != UINT32_MAX && !pend[next[i]];
		if (!done && r >= 0 && later) {
			/* a later name of its inode may still find a master */
			pend[i] = (uint8_t)(why + 2);
			continue;
		}
		if (r >= 0 && next && !linked && !later) {
			/* the last name: the earlier ones waiting are skipped now */
			for (uint32_t j = (uint32_t)first_name(&u, &last, f); j != UINT32_MAX; j = next[j]) {
				if (j != i && pend[j] >= 2) {
					enum va_uskip w = (enum va_uskip)(pend[j] - 2);

					pend[j] = 1;
					if (w == VA_USKIP_NO_REF || w == VA_USKIP_EXCLUDED)
						u.st->skipped[w]++;
					else
						u_skip(&u, &u.files[j], w, 0, NULL);
				}
			}
		}
		if (!done && r >= 0) {
			if (revert || why == VA_USKIP_NO_REF || why == VA_USKIP_EXCLUDED)
				u.st->skipped[revert ? VA_USKIP_NOT_SHARED : why]++;
			else
				u_skip(&u, f, why, 0, NULL);
		}
	}
	if (r >= 0)
		r = u_flush(&u);
	r = u_finish(&u, r);
	for (size_t i = 0; rd && i < nrefs; i++) {
		free(rd[i].dir);
		if (rd[i].fd >= 0)
			close(rd[i].fd);
	}
	free(rd);
	free(next);
	free(pend);
	va_inomap_release(&last);
	dbuf_release(&relb);
	u_release(&u);
	return r;
}
