/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * jroots.h - journals and plans are untrusted input: the roots their
 * header names, and every path of their records reached only beneath one
 * of those roots.
 *
 * A live or unify journal names its roots in its header (source, '\n'-
 * separated real paths; a root may be a file, as vhashify --revert FILE
 * names it).  Each root is opened from "/" component by
 * component without following a symlink; a record's path must begin with
 * one of them (the longest that matches), the rest made of plain names
 * (no empty, "." or ".." component) and reached with openat2
 * RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS from the root's fd.  Whether the
 * roots themselves may be touched is the caller's to say: va_jroots_accepted()
 * compares them, by device and inode, with the directories the caller
 * trusts (a root equal to one of them or below one).
 *
 * Nothing here prints.
 */
#ifndef VAUDIT_JROOTS_H
#define VAUDIT_JROOTS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "migrate/journal.h"

struct va_jroot {
	const char *path;       /**< into the journal's source (not NUL-terminated) */
	size_t len;
	int fd;                 /**< O_DIRECTORY fd (of its parent when @file) */
	bool file;              /**< not a directory (vhashify --revert FILE): only
				     the path itself lies "beneath" it */
	dev_t dev;
	uint64_t ino;
};

struct va_jroots {
	struct va_jroot *r;
	size_t n;
};

/** A directory the caller trusts (a configured root, a ROOT operand). */
struct va_jroot_id {
	dev_t dev;
	uint64_t ino;
};

/** What va_jroots_open() or a check found wrong: static text, and where. */
struct va_jroots_error {
	const char *why;        /**< what is wrong, one phrase */
	int err;                /**< the errno behind it, or 0 */
	const char *path;       /**< the path concerned (into the journal), or NULL */
	size_t path_len;
	uint64_t seq;           /**< the record's sequence number, 0 for the header */
};

/**
 * va_jroots_open() - open the roots of @source (@len bytes, '\n'-separated
 * absolute real paths).  Return: 0; -EINVAL (a root that is not a clean
 * absolute path, or none), -ELOOP (a symlink on the way), -ENOMEM or
 * another -errno; @e says which root.  Call va_jroots_close() in every case.
 */
int va_jroots_open(struct va_jroots *jr, const char *source, size_t len, struct va_jroots_error *e);

/** va_jroots_close() - close and free (a zeroed @jr is fine). */
void va_jroots_close(struct va_jroots *jr);

/**
 * va_jroots_accepted() - is every root one of the @n directories @ids, or
 * below one (its ancestors reached through ".." from its fd)?
 * Return: 0, -EPERM with @e naming the first root that is not, or -errno.
 */
int va_jroots_accepted(const struct va_jroots *jr, const struct va_jroot_id *ids, size_t n,
		       struct va_jroots_error *e);

/**
 * va_jroots_open_parent() - open the directory holding @path (@len bytes)
 * beneath its root, and copy its last component to @base.
 * Return: 0 with *@dirfd set; -EXDEV (below none of the roots), -EINVAL
 * (an empty, "." or ".." component, a NUL byte, a name too long), or the
 * openat2 error (-ELOOP for a symlink, -ENOENT, ...).
 */
int va_jroots_open_parent(const struct va_jroots *jr, const char *path, size_t len, int *dirfd,
			  char base[NAME_MAX + 1]);

/**
 * va_jroots_check_journal() - the pre-pass: every 'I', 'L' and 'C' record of
 * @j (its path, and its other name and temporary name) is a root or
 * lies beneath the roots and its directory is reached without a symlink or ".." (a
 * directory that no longer exists is fine: the replay skips the record).
 * Return: 0, -EPERM with @e set, or -ENOMEM.
 */
int va_jroots_check_journal(const struct va_journal *j, const struct va_jroots *jr,
			    struct va_jroots_error *e);

/**
 * va_path_clean() - is @path (@len bytes) "/" followed by plain names (no
 * empty, "." or ".." component, no NUL, none longer than NAME_MAX)?
 * A trailing '/' is not allowed either; "/" alone is clean.
 */
bool va_path_clean(const char *path, size_t len);

#endif
