/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clone-tag.c - the xid tag of what a clone copies or makes
 * (va_clone_opts.tag, core/xidtag.h): every file copied, directory,
 * symlink, FIFO and device node made gets the tag once it is made and
 * before its 'M' record is written, so that the record holds the status
 * change time the tag left (undo compares it); a unified file linked,
 * and another name of a copy, are left alone (a shared inode stays
 * untagged).  In a dry run only whether the tag fits the owner is said.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileops.h"
#include "core/safeopen.h"
#include "core/xidtag.h"
#include "migrate/clone/clone-int.h"

/*
 * Whether owner @uid/@gid takes the tag; if not, an ERROR event for
 * @path (err ERANGE, @what saying which id and the scheme's limit).
 */
static bool fits(struct crun *c, const char *path, size_t len, const char *src, size_t src_len,
		 uint32_t uid, uint32_t gid)
{
	struct va_tagger *t = c->o->tag;
	uint32_t umax, gmax;
	char what[192];

	if (va_tagger_fits(t, uid, gid) == 0)
		return true;
	va_tag_id_max(t->scheme, &umax, &gmax);
	if (uid > umax)
		snprintf(what, sizeof(what), "its uid %u does not fit the tag scheme %s (uids up to %u)%s",
			 uid, va_tag_scheme_name(t->scheme), umax, c->o->dry_run ? "" : ": not tagged");
	else
		snprintf(what, sizeof(what), "its gid %u does not fit the tag scheme %s (gids up to %u)%s",
			 gid, va_tag_scheme_name(t->scheme), gmax, c->o->dry_run ? "" : ": not tagged");
	c_event(c, VA_CLONE_ERROR, path, len, src, src_len, 0, ERANGE, what);
	return false;
}

/* An entry made but not tagged: an ERROR event (it stays made: its 'M' record follows). */
static int failed(struct crun *c, const char *path, size_t len, const char *src, size_t src_len, int r)
{
	c_event(c, VA_CLONE_ERROR, path, len, src, src_len, 0, -r, "made, but its xid tag cannot be set");
	if (va_fs_failing(r))
		c->fatal = r;
	return r;
}

int c_tag(struct crun *c, int dfd, struct citem *it, const char *path, size_t len)
{
	struct va_tagger *t = c->o->tag;
	struct stat st;
	int fd = -1, r = 0;

	/* a unified file's inode, and a copy's other name, are not ours to tag */
	if (!t || it->kind == 'h' || it->kind == 'H')
		return 0;
	if (!fits(c, path, len, it->src, it->src_len, it->stx.stx_uid, it->stx.stx_gid))
		return -ERANGE;
	if (c->o->dry_run)
		return 0;
	if (it->kind == 'f') {
		/* the copy, by the inode it was made as */
		const struct va_safeopen_id id = { .dev = it->made_st.st_dev, .ino = it->made_st.st_ino,
						   .type = S_IFREG };

		fd = va_safeopen_verified(dfd, it->name, O_RDONLY | O_NONBLOCK, 0, &id, NULL);
		if (fd < 0)
			return failed(c, path, len, it->src, it->src_len, fd);
	}
	/* (on disk with the syncfs that comes before the entry's 'M' record) */
	r = va_tagger_apply(t, dfd, it->name, fd, it->stx.stx_uid, it->stx.stx_gid);
	/* what the 'M' record gives, also after a failure part of the way */
	if ((fd >= 0 ? fstat(fd, &st) : fstatat(dfd, it->name, &st, AT_SYMLINK_NOFOLLOW)) < 0) {
		if (r == 0)
			r = -errno;
	} else if (st.st_ino != it->made_st.st_ino || st.st_dev != it->made_st.st_dev) {
		if (r == 0)
			r = -ESTALE;
	} else {
		it->made_st = st;
	}
	if (fd >= 0)
		close(fd);
	return r < 0 ? failed(c, path, len, it->src, it->src_len, r) : 0;
}

int c_tag_dir(struct crun *c, const struct cdir *d, const char *path, size_t len)
{
	struct va_tagger *t = c->o->tag;
	struct stat src;
	int r;

	if (!t)
		return 0;
	if (fstat(d->src_fd, &src) < 0)
		return failed(c, path, len, NULL, 0, -errno);
	if (!fits(c, path, len, NULL, 0, src.st_uid, src.st_gid))
		return -ERANGE;
	if (c->o->dry_run)
		return 0;
	/* (on disk with the syncfs that comes before the marks) */
	r = va_tagger_apply(t, d->dst_fd, ".", d->dst_fd, src.st_uid, src.st_gid);
	return r < 0 ? failed(c, path, len, NULL, 0, r) : 0;
}
