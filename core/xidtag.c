/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xidtag.c - xid tag schemes, the encoding of the tag in the raw uid and
 * gid, and the taggers of live files (see xidtag.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "core/flags.h"
#include "core/vsyscall.h"
#include "core/xidtag.h"

/*
 * Where the tag sits in one raw id: its bits (tag >> tag_shift) & mask go
 * to raw bits id_shift and up.  A mask of 0: the id keeps no tag bits.
 */
struct part {
	uint32_t mask;
	unsigned tag_shift, id_shift;
};

/*
 * The layout of each scheme, by enum va_tag_scheme (VA_TAG_SCHEMES):
 * the real-id bits of uid and gid, and where the tag's bits go.
 */
static const struct layout {
	bool in_ids;
	uint32_t uid_real, gid_real;
	struct part uid, gid;
} layouts[VA_TAG_COUNT] = {
	[VA_TAG_ID24] = { true, 0x00FFFFFFu, 0x00FFFFFFu, { 0xFF, 8, 24 }, { 0xFF, 0, 24 } },
	[VA_TAG_GID16] = { true, 0xFFFFFFFFu, 0x0000FFFFu, { 0, 0, 0 }, { 0xFFFF, 0, 16 } },
	[VA_TAG_UID16] = { true, 0x0000FFFFu, 0xFFFFFFFFu, { 0xFFFF, 0, 16 }, { 0, 0, 0 } },
	[VA_TAG_AUTO] = { false, 0xFFFFFFFFu, 0xFFFFFFFFu, { 0, 0, 0 }, { 0, 0, 0 } },
	[VA_TAG_INTERN] = { false, 0xFFFFFFFFu, 0xFFFFFFFFu, { 0, 0, 0 }, { 0, 0, 0 } },
	[VA_TAG_NONE] = { false, 0xFFFFFFFFu, 0xFFFFFFFFu, { 0, 0, 0 }, { 0, 0, 0 } },
};

static const char *const scheme_names[] = {
#define VA_X_TAG(id, n, desc) n,
	VA_TAG_SCHEMES(VA_X_TAG)
#undef VA_X_TAG
};

int va_tag_scheme_parse(const char *name)
{
	for (int i = 0; i < VA_TAG_COUNT; i++)
		if (strcmp(name, scheme_names[i]) == 0)
			return i;
	return -1;
}

const char *va_tag_scheme_name(enum va_tag_scheme s)
{
	return (unsigned)s < VA_TAG_COUNT ? scheme_names[s] : "?";
}

bool va_tag_in_ids(enum va_tag_scheme s)
{
	return (unsigned)s < VA_TAG_COUNT && layouts[s].in_ids;
}

void va_tag_id_max(enum va_tag_scheme s, uint32_t *uid_max, uint32_t *gid_max)
{
	const struct layout *l = &layouts[(unsigned)s < VA_TAG_COUNT ? s : VA_TAG_NONE];

	/* the real bits are the low ones */
	*uid_max = l->uid_real;
	*gid_max = l->gid_real;
}

static uint32_t part_decode(const struct part *p, uint32_t raw)
{
	return p->mask ? ((raw >> p->id_shift) & p->mask) << p->tag_shift : 0;
}

static uint32_t part_encode(const struct part *p, uint32_t tag)
{
	return p->mask ? ((tag >> p->tag_shift) & p->mask) << p->id_shift : 0;
}

uint32_t va_tag_decode(enum va_tag_scheme s, uint32_t raw_uid, uint32_t raw_gid, uint32_t *uid,
		       uint32_t *gid)
{
	const struct layout *l = &layouts[(unsigned)s < VA_TAG_COUNT ? s : VA_TAG_NONE];

	if (uid)
		*uid = raw_uid & l->uid_real;
	if (gid)
		*gid = raw_gid & l->gid_real;
	return part_decode(&l->uid, raw_uid) | part_decode(&l->gid, raw_gid);
}

int va_tag_encode(enum va_tag_scheme s, uint32_t uid, uint32_t gid, uint32_t tag, uint32_t *raw_uid,
		  uint32_t *raw_gid)
{
	const struct layout *l;
	uint32_t room;

	if (!va_tag_in_ids(s))
		return -EINVAL;
	l = &layouts[s];
	room = ((uint32_t)l->uid.mask << l->uid.tag_shift) | ((uint32_t)l->gid.mask << l->gid.tag_shift);
	if ((tag & ~room) || (uid & ~l->uid_real) || (gid & ~l->gid_real))
		return -ERANGE;
	*raw_uid = uid | part_encode(&l->uid, tag);
	*raw_gid = gid | part_encode(&l->gid, tag);
	return 0;
}

/* ------------------------------------------------------------------ the vserver tagger */

/* The kernel's set_iattr with VC_IATTR_XID on the name (untested here: no vserver kernel). */
static int vserver_apply(struct va_tagger *t, int dir_fd, const char *name, int fd, uint32_t uid,
			 uint32_t gid)
{
	struct dbuf path = DBUF_INIT;
	int r;

	(void)fd;
	(void)uid;
	(void)gid;
	r = va_vs_fd_name(&path, dir_fd, name);
	if (r == 0)
		r = va_vs_set_iattr(path.buf, t->tag, VA_IATTR_XID, VA_IATTR_XID);
	dbuf_release(&path);
	return r;
}

static const struct va_tagger_ops vserver_ops = { .name = "vserver", .apply = vserver_apply };

/* ------------------------------------------------------------------ the raw tagger */

/* security.capability of @fd into @buf (*@len bytes; 0: none).  Return: 0 or -errno. */
static int get_caps(int fd, char *buf, size_t size, size_t *len)
{
	ssize_t n = fgetxattr(fd, "security.capability", buf, size);

	*len = 0;
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP ? 0 : errno == ERANGE ? -E2BIG : -errno;
	*len = (size_t)n;
	return 0;
}

static int raw_apply(struct va_tagger *t, int dir_fd, const char *name, int fd, uint32_t uid,
		     uint32_t gid)
{
	uint32_t ruid, rgid;
	char caps[1024];
	size_t ncaps = 0;
	struct stat st;
	int r = va_tag_encode(t->scheme, uid, gid, t->tag, &ruid, &rgid);

	if (r < 0)
		return r;
	if (fd >= 0) {
		if (fstat(fd, &st) < 0)
			return -errno;
		if ((r = get_caps(fd, caps, sizeof(caps), &ncaps)) < 0)
			return r;
		if (fchown(fd, ruid, rgid) < 0)
			return -errno;
		/* a change of owner drops file capabilities: put them back */
		if (ncaps && fsetxattr(fd, "security.capability", caps, ncaps, 0) < 0)
			return -errno;
		/* ... and set-uid/set-gid bits (set after the capabilities) */
		if (!S_ISLNK(st.st_mode) && fchmod(fd, st.st_mode & 07777) < 0)
			return -errno;
		return 0;
	}
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (fchownat(dir_fd, name, ruid, rgid, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	/* a symlink has no mode to put back; the others lose set-id bits */
	if (!S_ISLNK(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)) &&
	    fchmodat(dir_fd, name, st.st_mode & 07777, 0) < 0)
		return -errno;
	return 0;
}

static const struct va_tagger_ops raw_ops = { .name = "raw", .apply = raw_apply };

/* ------------------------------------------------------------------ choosing one */

int va_tagger_new(uint32_t tag, enum va_tag_scheme scheme, const char *where, struct va_tagger **ret,
		  const char **why)
{
	uint32_t flags = 0, mask = VA_IATTR_XID;
	const struct va_tagger_ops *ops;
	struct va_tagger *t;
	int r;

	*ret = NULL;
	*why = NULL;
	if (tag < VA_XID_STATIC_MIN || tag > VA_XID_STATIC_MAX) {
		*why = "a guest's static context is 2 to 49151";
		return -ERANGE;
	}
	if ((unsigned)scheme >= VA_TAG_COUNT) {
		*why = "no such tag scheme";
		return -EINVAL;
	}
	r = va_vs_get_iattr(where, NULL, &flags, &mask);
	if (r == 0) {
		if (scheme != VA_TAG_AUTO) {
			*why = "this kernel has the vserver syscall: it writes tags in the scheme it was "
			       "built with, none can be chosen";
			return -EINVAL;
		}
		if (!(mask & VA_IATTR_XID)) {
			*why = "this kernel has the vserver syscall, but the filesystem is not mounted "
			       "with tagging (tag, tagxid)";
			return -EOPNOTSUPP;
		}
		ops = &vserver_ops;
	} else if (r == -ENOSYS) {
		switch (scheme) {
		case VA_TAG_ID24:
		case VA_TAG_GID16:
		case VA_TAG_UID16:
			break;
		case VA_TAG_AUTO:
			*why = "this kernel has no vserver syscall: the scheme that writes the tag into "
			       "the raw uid/gid must be named (id24, gid16 or uid16)";
			return -EINVAL;
		case VA_TAG_INTERN:
			*why = "intern keeps the tag in an inode field only libext2fs could write, and "
			       "that is never done to a mounted filesystem";
			return -EOPNOTSUPP;
		default:
			*why = "none keeps no tags on disk";
			return -EINVAL;
		}
		ops = &raw_ops;
	} else {
		*why = "the vserver syscall refused to say whether the filesystem is tagged";
		return r;
	}
	if (!(t = calloc(1, sizeof(*t))))
		return -ENOMEM;
	t->ops = ops;
	t->tag = tag;
	t->scheme = ops == &raw_ops ? scheme : VA_TAG_AUTO;
	*ret = t;
	return 0;
}

int va_tagger_fits(const struct va_tagger *t, uint32_t uid, uint32_t gid)
{
	uint32_t ru, rg;

	return t->ops == &raw_ops ? va_tag_encode(t->scheme, uid, gid, t->tag, &ru, &rg) : 0;
}

int va_tagger_apply(struct va_tagger *t, int dir_fd, const char *name, int fd, uint32_t uid,
		    uint32_t gid)
{
	return t->ops->apply(t, dir_fd, name, fd, uid, gid);
}

void va_tagger_free(struct va_tagger *t)
{
	free(t);
}
