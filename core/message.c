/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * message.c - the text of messages (see message.h).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <et/com_err.h>
#include <ext2fs/ext2_err.h>

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

/* ------------------------------------------------------------------ errors */

const char *va_error_reason(long code)
{
	static bool done;

	/* com_err: errno values through strerror(), ext2 codes from its table */
	if (!done) {
		initialize_ext2_error_table();
		done = true;
	}
	return error_message((errcode_t)code);
}

int va_error_set(struct va_error *e, long code, const char *path, size_t len, const char *what,
		 const char *why)
{
	e->code = code;
	e->why = why;
	e->ino = 0;
	snprintf(e->what, sizeof(e->what), "%s", what ? what : "");
	dbuf_setlen(&e->path, 0);
	return len ? dbuf_add(&e->path, path, len) : 0;
}

void va_error_release(struct va_error *e)
{
	dbuf_release(&e->path);
	*e = (struct va_error)VA_ERROR_INIT;
}

int va_error_text(struct dbuf *b, const struct va_error *e)
{
	const char *reason = e->why ? e->why : e->code ? va_error_reason(e->code) : NULL;

	if (va_quote(b, dbuf_str(&e->path), e->path.len) < 0 || dbuf_addf(b, ": %s", e->what) < 0 ||
	    (e->ino && dbuf_addf(b, " (inode %llu)", (unsigned long long)e->ino) < 0) ||
	    (reason && dbuf_addf(b, ": %s", reason) < 0))
		return -ENOMEM;
	return 0;
}
