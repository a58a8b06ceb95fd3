/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * message.h - the text of messages, one shape for every program and the
 * console: "'PATH': WHAT: REASON".  PATH is quoted so that any name, with
 * newlines or bytes that are not UTF-8, comes out on one line and can be
 * pasted back into a shell.  Nothing here prints: the text is built into
 * a buffer; programs add "PROG: " and write it to stderr.
 */
#ifndef VAUDIT_MESSAGE_H
#define VAUDIT_MESSAGE_H

#include <stddef.h>

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

#endif
