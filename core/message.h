/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * message.h - the text of messages, one shape for every program and the
 * console: "'PATH': WHAT: REASON".  PATH is quoted so that any name, with
 * newlines or bytes that are not UTF-8, comes out on one line and can be
 * pasted back into a shell.  Nothing here prints: the text is built into
 * a buffer; programs add "PROG: " and write it to stderr.
 *
 * Errors.  A library call reports a failure in one of two shapes:
 *
 *  - a negative errno alone, when the errno says everything and the
 *    caller knows the file it named (most of core/);
 *  - a struct va_error, when the message needs more: which file (a plan
 *    line, the ROOT behind a journal, the configuration directory as
 *    resolved inside a host root), what was being done, the inode, or a
 *    reason of the library's own instead of strerror().  The call still
 *    returns a negative errno (or an errcode_t); the struct only carries
 *    what the message needs.  Every program and the console turn it into
 *    text with va_error_text() and nothing else.
 *
 * The reason for a code (an errno or a libext2fs/com_err errcode_t; both
 * share one number space) comes from va_error_reason() alone.
 *
 * Per-entry errors of the walker and of the audits (the error hooks of
 * core/walk.h and audit/audit.h) arrive unpacked, as (path, what, code),
 * because they are many and copying each path would cost; their hooks
 * format them with va_msg_text() and va_error_reason(), which yields the
 * same text as a struct va_error holding the same fields.
 *
 * Two readers of untrusted files keep a detail of their own beside the
 * errno, because a test or a caller needs it as data: the journal loader
 * (va_journal_load(): the reason and the line number) and the check of a
 * journal's or plan's paths (struct va_jroots_error: the record, the path
 * inside the journal, the reason), which the programs print after the
 * journal's name as "refused, nothing changed: record N names 'PATH': WHY".
 */
#ifndef VAUDIT_MESSAGE_H
#define VAUDIT_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dbuf.h"

/**
 * va_quote() - @s (@len bytes) for a message, appended to @b: 'plain' in
 * single quotes, or the shell-escaped form when it needs escaping.
 * Return: 0 or -ENOMEM.
 */
int va_quote(struct dbuf *b, const char *s, size_t len);

/**
 * va_msg_text() - "'PATH': WHAT: REASON" (without ": REASON" when @reason
 * is NULL), PATH quoted by va_quote(), appended to @b.  Return: 0 or -ENOMEM.
 */
int va_msg_text(struct dbuf *b, const char *path, size_t len, const char *what,
		const char *reason);

/**
 * va_error_reason() - the text of @code: strerror() for an errno, the
 * libext2fs/com_err message for an errcode_t.  Never NULL.
 */
const char *va_error_reason(long code);

/** Size of struct va_error's inline @what (longer text is cut). */
#define VA_ERROR_WHAT 128

/**
 * struct va_error - a failure that needs more than an errno, formatted by
 * va_error_text() as
 *
 *	'PATH': WHAT (inode INO): REASON
 *
 * PATH quoted by va_quote() ('' when @path is empty), " (inode INO)" only
 * when @ino is set, ": REASON" only when there is one: @why, else the text
 * of @code, else nothing.  A message that says it all in WHAT ("the
 * journal belongs to another filesystem") leaves @code 0 and @why NULL;
 * the call's return value still carries the errno.
 *
 * The struct owns @path: do not copy it by assignment.  Initialise with VA_ERROR_INIT, free with va_error_release().
 */
struct va_error {
	long code;              /**< errno (positive) or errcode_t behind the reason; 0: none */
	const char *why;        /**< static reason overriding the text of @code, or NULL */
	struct dbuf path;       /**< the file concerned (bytes, any byte); may be empty */
	uint64_t ino;           /**< the inode concerned, 0 when none */
	char what[VA_ERROR_WHAT]; /**< what was being done or what failed; "" when unset */
};

#define VA_ERROR_INIT { 0, NULL, DBUF_INIT, 0, "" }

/**
 * va_error_set() - record a failure in @e, replacing what it held: @path
 * (@len bytes, may be NULL with @len 0), @what (copied, cut at
 * VA_ERROR_WHAT - 1 bytes), @code and @why as in struct va_error; @ino is
 * reset to 0.
 * Return: 0, or -ENOMEM when the path could not be copied (@e then names
 * no file but keeps the rest).
 */
int va_error_set(struct va_error *e, long code, const char *path, size_t len, const char *what,
		 const char *why);

/** va_error_is_set() - whether @e records a failure (a WHAT, a code or a reason). */
static inline bool va_error_is_set(const struct va_error *e)
{
	return e->what[0] || e->code || e->why;
}

/** va_error_release() - free what @e holds; it is empty (VA_ERROR_INIT) afterwards. */
void va_error_release(struct va_error *e);

/**
 * va_error_text() - @e as "'PATH': WHAT (inode INO): REASON" (see struct
 * va_error), appended to @b: the one formatter of such failures.
 * Return: 0 or -ENOMEM.
 */
int va_error_text(struct dbuf *b, const struct va_error *e);

#endif
