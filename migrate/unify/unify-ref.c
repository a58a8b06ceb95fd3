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

/* Whether the reference file has as many links as its filesystem allows. */
static bool is_full(int dirfd, const struct statx *rs)
{
	long max = fpathconf(dirfd, _PC_LINK_MAX);

	return max > 0 && rs->stx_nlink >= (unsigned long)max;
}

int va_vunify(const struct va_utree *target, const struct va_utree *refs, size_t nrefs,
	      bool revert, const struct va_uopts *o, struct va_ustats *st)
{
	struct ustate u;
	struct refdir *rd = NULL;
	struct dbuf relb = DBUF_INIT;
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
	for (size_t i = 0; i < ntarget && r >= 0; i++) {
		const struct ufile *f = &u.files[i];
		const char *rel;
		enum va_uskip why = VA_USKIP_NO_REF;
		bool done = false;

		/* a copy: adding files moves u.paths */
		dbuf_setlen(&relb, 0);
		if (dbuf_add(&relb, u_rel(&u, f), f->path_len) < 0 || dbuf_addc(&relb, '\0') < 0) {
			r = -ENOMEM;
			break;
		}
		rel = relb.buf;
		for (size_t k = 0; k < nrefs && !done && r >= 0; k++) {
			size_t t = k + 1;
			struct statx rs;
			const char *base;
			int dirfd, c;
			struct ufile rf;

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
			u_file_of_stx(&rf, &rs);
			if (rf.dev != f->dev) {
				why = why == VA_USKIP_NO_REF || why == VA_USKIP_EXCLUDED ? VA_USKIP_OTHER_MOUNT : why;
				continue;
			}
			if (rf.ino == f->ino) {
				done = true;
				if (!revert) {
					u.st->already++;
					u_event_file(&u, VA_UEV_ALREADY, f, NULL, 0, f->size);
					break;
				}
			} else if (revert) {
				continue;
			} else if (!u_same_meta(f, &rf, false)) {
				if (why == VA_USKIP_NO_REF || why == VA_USKIP_EXCLUDED || why == VA_USKIP_OTHER_MOUNT)
					why = VA_USKIP_METADATA;
				continue;
			} else if (f->mnt_id && rf.mnt_id && f->mnt_id != rf.mnt_id) {
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
			if ((c = u_add_file(&u, t, rel, f->path_len, &rs)) < 0) {
				r = c;
				break;
			}
			f = &u.files[i];        /* u.files may have moved */
			if (revert)
				u.st->candidates++;
			r = u_unit_begin(&u, (uint32_t)(u.nfiles - 1), false, NULL);
			if (r >= 0)
				r = u_unit_add(&u, (uint32_t)i);
			if (r >= 0)
				r = u_unit_end(&u);
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
	r = va_journal_finish(o->j, r);
	for (size_t i = 0; rd && i < nrefs; i++) {
		free(rd[i].dir);
		if (rd[i].fd >= 0)
			close(rd[i].fd);
	}
	free(rd);
	dbuf_release(&relb);
	u_release(&u);
	return r;
}
