/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xidtag.h - Linux-VServer xid tags: where a vserver kernel keeps a
 * file's tag on disk (the schemes), the raw on-disk uid and gid of the
 * schemes that keep it in the owner (encode, decode), and taggers, the
 * back ends that set the tag of a live file.
 *
 * The schemes (the vserver kernel's CONFIG_TAGGING_* / CONFIG_INOXID_*):
 *
 *   scheme   tag from the raw ids                          real uid / gid
 *   id24     ((uid >> 16) & 0xFF00) | ((gid >> 24) & 0xFF)  raw & 0xFFFFFF each
 *   gid16    (gid >> 16) & 0xFFFF                         uid, gid & 0xFFFF
 *   uid16    (uid >> 16) & 0xFFFF                         uid & 0xFFFF, gid
 *   intern   a 16-bit inode field                         uid, gid
 *   none     no tag on disk                               uid, gid
 *
 * Taggers (va_tagger_new() picks one):
 *
 *   vserver  a kernel with the vserver syscall: its set_iattr call with
 *            VC_IATTR_XID on the entry's name (not followed); the kernel
 *            writes the tag in the scheme it was built with, on a
 *            filesystem mounted with tagging.
 *   raw      a mainline kernel: the filesystem is not tagged, so the
 *            encoded raw uid/gid of an explicit scheme (id24, gid16,
 *            uid16) is written with fchown/fchownat (lchown semantics):
 *            what a tagging kernel then reads as owner and tag.
 *
 * Nothing here prints.
 */
#ifndef VAUDIT_XIDTAG_H
#define VAUDIT_XIDTAG_H

#include <stdbool.h>
#include <stdint.h>

/**
 * Where a vserver kernel keeps a file's xid tag on disk: X(ID, name,
 * description).  AUTO reads the unambiguous ones: ID24 (real uids and
 * gids above 2^24 do not occur on these hosts) and INTERN where the
 * filesystem does not use that slot for itself; it never writes.
 */
#define VA_TAG_SCHEMES(X) \
	X(AUTO,   "auto",   "id24, and intern where the slot is free") \
	X(ID24,   "id24",   "upper 8 bits of uid and gid (UGID24/ID24, the Kconfig default)") \
	X(GID16,  "gid16",  "upper 16 bits of gid") \
	X(UID16,  "uid16",  "upper 16 bits of uid") \
	X(INTERN, "intern", "16-bit inode field (bytes 118-119 on ext2/3, 124-125 on ext4)") \
	X(NONE,   "none",   "no tags on disk")

enum va_tag_scheme {
#define VA_X_TAG(id, name, desc) VA_TAG_##id,
	VA_TAG_SCHEMES(VA_X_TAG)
#undef VA_X_TAG
	VA_TAG_COUNT
};

/** The static contexts a guest may have, and so the tags vclone sets. */
#define VA_XID_STATIC_MIN 2u
#define VA_XID_STATIC_MAX 49151u

/** va_tag_scheme_parse() - scheme by name; -1 if unknown. */
int va_tag_scheme_parse(const char *name);

/** va_tag_scheme_name() - the name of @s ("?" when out of range). */
const char *va_tag_scheme_name(enum va_tag_scheme s);

/** va_tag_in_ids() - whether @s keeps the tag in the raw uid/gid (id24, gid16, uid16). */
bool va_tag_in_ids(enum va_tag_scheme s);

/**
 * va_tag_id_max() - the largest real uid and gid @s can keep beside a tag
 * (UINT32_MAX for an id the scheme leaves alone; both UINT32_MAX for a
 * scheme that does not keep the tag in the ids).
 */
void va_tag_id_max(enum va_tag_scheme s, uint32_t *uid_max, uint32_t *gid_max);

/**
 * va_tag_decode() - the tag the raw on-disk @raw_uid/@raw_gid carry under
 * @s, and (either may be NULL) the real ids.  A scheme that does not keep
 * the tag in the ids (auto, intern, none): tag 0, ids unchanged.
 */
uint32_t va_tag_decode(enum va_tag_scheme s, uint32_t raw_uid, uint32_t raw_gid, uint32_t *uid,
		       uint32_t *gid);

/**
 * va_tag_encode() - the raw on-disk ids of a file owned by @uid/@gid with
 * tag @tag under @s, into *@raw_uid, *@raw_gid.
 * Return: 0; -ERANGE when @tag (more than 16 bits) or an id (more than
 * the scheme's real-id bits, va_tag_id_max()) does not fit; -EINVAL for
 * a scheme that does not keep the tag in the ids.
 */
int va_tag_encode(enum va_tag_scheme s, uint32_t uid, uint32_t gid, uint32_t tag, uint32_t *raw_uid,
		  uint32_t *raw_gid);

/* ------------------------------------------------------------------ taggers */

struct va_tagger;

struct va_tagger_ops {
	const char *name;       /**< "vserver", "raw" */
	/** see va_tagger_apply() */
	int (*apply)(struct va_tagger *t, int dir_fd, const char *name, int fd, uint32_t uid,
		     uint32_t gid);
};

struct va_tagger {
	const struct va_tagger_ops *ops;
	uint32_t tag;
	/** raw: the scheme written; vserver: VA_TAG_AUTO (the kernel's own) */
	enum va_tag_scheme scheme;
};

/**
 * va_tagger_new() - the tagger that sets tag @tag (VA_XID_STATIC_MIN to
 * VA_XID_STATIC_MAX) on entries made below the directory @where:
 *  - a kernel with the vserver syscall: the vserver tagger; @scheme must
 *    be VA_TAG_AUTO (the kernel's build decides), and @where's filesystem
 *    must be mounted with tagging (the kernel reports tags there);
 *  - a kernel without it (the syscall answers ENOSYS): the raw tagger of
 *    @scheme, which must be id24, gid16 or uid16: auto is no scheme to
 *    write, none keeps no tags, and intern would need the inode written
 *    through libext2fs, which is never done to a mounted filesystem.
 * Return: 0 with *@ret (va_tagger_free()), else *@why (a static sentence)
 * and -ERANGE (@tag), -EINVAL (@scheme with this kernel), -EOPNOTSUPP
 * (intern; a filesystem without tagging), -ENOMEM, or the -errno of the
 * vserver syscall that answered neither yes nor ENOSYS.
 */
int va_tagger_new(uint32_t tag, enum va_tag_scheme scheme, const char *where, struct va_tagger **ret,
		  const char **why);

/**
 * va_tagger_fits() - whether a file owned by @uid/@gid can get the tag:
 * the raw tagger: the ids fit the scheme (0, else -ERANGE); the vserver
 * tagger: always 0 (the kernel's scheme is not known here).
 */
int va_tagger_fits(const struct va_tagger *t, uint32_t uid, uint32_t gid);

/**
 * va_tagger_apply() - set the tag on the entry @name of directory @dir_fd
 * (the last component never followed; "." for @dir_fd itself), a file
 * the caller made and owns: @uid/@gid its real owner, @fd an open fd of
 * it or -1 (a symlink, FIFO or device node).  The raw tagger changes the
 * owner through @fd (fchown), else with fchownat(AT_SYMLINK_NOFOLLOW),
 * and puts back what the kernel takes away on a change of owner: the
 * set-uid/set-gid bits and (with @fd) security.capability.  The status
 * change time changes; nothing is synced.
 * Return: 0, -ERANGE (va_tagger_fits()), or -errno.
 */
int va_tagger_apply(struct va_tagger *t, int dir_fd, const char *name, int fd, uint32_t uid,
		    uint32_t gid);

/** va_tagger_free() - free @t (NULL: nothing). */
void va_tagger_free(struct va_tagger *t);

#endif
