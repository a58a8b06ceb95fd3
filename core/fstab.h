/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fstab.h - guest fstab files (util-vserver's /etc/vservers/NAME/fstab,
 * fstab.local, fstab.remote and the template .defaults/fstab), parsed as
 * fstab(5) describes them.
 *
 * Syntax: one mount per line, fields separated by blanks (space, tab, and
 * the other isspace() characters util-vserver's secure-mount splits on):
 *   SOURCE DESTINATION TYPE OPTIONS [FREQ [PASSNO]]
 * A line whose first non-blank character is '#' is a comment; a blank
 * line is ignored.  In the four text fields an octal escape "\OOO" (three
 * octal digits, 001-377) stands for that byte: "\040" a space, "\011" a
 * tab, "\134" a backslash.  FREQ and PASSNO, when present, are decimal
 * numbers.  The last line needs no newline.
 *
 * Malformed lines are reported (through the callback, with their 1-based
 * line number) and give no entry:
 *   - fewer than four fields (secure-mount stops at such a line: it and
 *     every later line of the file are not mounted) or more than six;
 *   - a backslash not followed by three octal digits, or one that encodes
 *     NUL or a value above 0377;
 *   - an empty option in OPTIONS (",," or a leading or trailing comma);
 *   - FREQ or PASSNO not a decimal number;
 *   - a NUL byte in the line.
 * Nothing here prints, and no input makes the parser fail: every byte
 * sequence gives a (possibly empty) table and warnings.
 */
#ifndef VAUDIT_FSTAB_H
#define VAUDIT_FSTAB_H

#include <stdbool.h>
#include <stddef.h>

/** One mount line, its text fields decoded (NUL-terminated, never empty). */
struct va_fstab_entry {
	unsigned line;          /**< 1-based line number */
	char *src;
	char *dst;              /**< relative to the guest root */
	char *type;
	char *opts;             /**< comma-separated */
	int nfields;            /**< 4, 5 or 6 */
};

/** A parsed file.  Zero-initialise (or VA_FSTAB_INIT) before parsing. */
struct va_fstab {
	struct va_fstab_entry *entries;
	size_t n, cap;
};

#define VA_FSTAB_INIT { NULL, 0, 0 }

/**
 * va_fstab_warn_fn - line @line is malformed: @msg says how (one sentence
 * without a full stop).  Return 0 to go on, or a negative errno to stop
 * the parse, which then returns it.
 */
typedef int va_fstab_warn_fn(unsigned line, const char *msg, void *user);

/**
 * va_fstab_parse() - parse @len bytes of @buf (any bytes) and append the
 * entries to @t.  @warn may be NULL.
 * Return: 0, -ENOMEM, or what @warn returned.
 */
int va_fstab_parse(struct va_fstab *t, const char *buf, size_t len, va_fstab_warn_fn *warn,
		   void *user);

/** va_fstab_release() - free the entries; @t is empty (reusable) after. */
void va_fstab_release(struct va_fstab *t);

/**
 * va_fstab_type_known() - is @type in the fixed table of filesystem types
 * (plus "none", "bind", "rbind", "auto", "swap" and the "fuse." subtypes)?
 */
bool va_fstab_type_known(const char *type);

/** va_fstab_has_option() - is @opt one of the comma-separated @opts (whole words)? */
bool va_fstab_has_option(const char *opts, const char *opt);

/** va_fstab_is_bind() - a bind mount: "bind" or "rbind" as option or type. */
bool va_fstab_is_bind(const struct va_fstab_entry *e);

/** va_fstab_is_rbind() - a recursive bind mount ("rbind" as option or type). */
bool va_fstab_is_rbind(const struct va_fstab_entry *e);

/** va_fstab_is_ro() - mounted read-only: the last of "ro" and "rw" is "ro". */
bool va_fstab_is_ro(const struct va_fstab_entry *e);

/**
 * va_fstab_norm_dst() - @dst as a clean absolute path inside the guest:
 * "/" first, empty and "." components dropped, ".." removes the previous
 * component, no trailing '/'; "/" for the root.
 * @climbs: set when a ".." would climb above the root (it is dropped, as
 * a chroot does), may be NULL.
 * Return: a string the caller frees, or NULL (out of memory).
 */
char *va_fstab_norm_dst(const char *dst, bool *climbs);

/**
 * va_fstab_path_below() - is the clean path @p equal to (@or_equal) or
 * below the clean path @dir?  Both absolute as va_fstab_norm_dst() gives
 * them ("/" contains everything).
 */
bool va_fstab_path_below(const char *p, const char *dir, bool or_equal);

#endif
