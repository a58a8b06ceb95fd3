/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * message.c - the text of messages (see message.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "core/escape.h"
#include "core/message.h"

int va_quote(struct dbuf *b, const char *s, size_t len)
{
	size_t start = b->len;

	if (va_escape_shell(b, s, len) < 0)
		return -ENOMEM;
	if (b->len - start == len && (len == 0 || memcmp(b->buf + start, s, len) == 0)) {
		dbuf_setlen(b, start);
		return dbuf_addf(b, "'%.*s'", (int)len, s);
	}
	return 0;
}

int va_msg_text(struct dbuf *b, const char *path, size_t len, const char *what,
		const char *reason)
{
	if (va_quote(b, path, len) < 0)
		return -ENOMEM;
	if (reason)
		return dbuf_addf(b, ": %s: %s", what, reason);
	return dbuf_addf(b, ": %s", what);
}
