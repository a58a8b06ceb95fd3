/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-fstab.c - fuzz target for the guest fstab reader (core/fstab).
 *
 * The input is an fstab file.  Properties checked on every input
 * (abort() on violation):
 *  - every warning has a message and a line between 1 and the number of
 *    lines; at most one warning per line, and lines increase;
 *  - every entry has a line between 1 and the number of lines, lines
 *    increase and no line is both an entry and a warning; its four text
 *    fields are non-empty; its options have no empty item; nfields is
 *    4 to 6;
 *  - an entry's raw line (the input's line) has no NUL byte and does not
 *    start (after blanks) with '#';
 *  - parsing without a callback gives the same entries;
 *  - va_fstab_norm_dst() of every destination is clean: absolute, no
 *    empty, "." or ".." component, no trailing '/' (but "/"), and
 *    normalising it again changes nothing nor climbs;
 *  - the option helpers agree: an rbind is a bind.
 * Built for libFuzzer with --enable-fuzzing (clang), and always as a
 * bounded standalone run for make check (fuzz/standalone.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fstab.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	unsigned lines;
	unsigned last;
	unsigned char *warned;  /* per line (1-based) */
};

static int warn_cb(unsigned line, const char *msg, void *user)
{
	struct ctx *c = user;

	if (!msg || !msg[0] || line < 1 || line > c->lines || line <= c->last)
		abort();
	c->last = line;
	c->warned[line] = 1;
	return 0;
}

static void check_clean(const char *p)
{
	size_t n = strlen(p);
	bool climbs = true;
	char *again;

	if (p[0] != '/' || (n > 1 && p[n - 1] == '/') || strstr(p, "//") || strstr(p, "/./") ||
	    strstr(p, "/../") || (n >= 2 && strcmp(p + n - 2, "/.") == 0) ||
	    (n >= 3 && strcmp(p + n - 3, "/..") == 0))
		abort();
	again = va_fstab_norm_dst(p, &climbs);
	if (!again)
		return;
	if (climbs || strcmp(again, p) != 0)
		abort();
	free(again);
}

/* The start of line @line (1-based) of @s, and its length. */
static const char *line_at(const char *s, size_t size, unsigned line, size_t *len)
{
	size_t pos = 0;

	for (unsigned l = 1; l < line; l++) {
		const char *nl = memchr(s + pos, '\n', size - pos);

		if (!nl)
			abort();
		pos = (size_t)(nl - s) + 1;
	}
	{
		const char *nl = memchr(s + pos, '\n', size - pos);

		*len = nl ? (size_t)(nl - (s + pos)) : size - pos;
	}
	return s + pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct va_fstab t = VA_FSTAB_INIT, t2 = VA_FSTAB_INIT;
	struct ctx c = { 1, 0, NULL };

	for (size_t i = 0; i < size; i++)
		c.lines += s[i] == '\n';
	if (size && s[size - 1] == '\n')
		c.lines--;
	if (!(c.warned = calloc(c.lines + 2, 1)))
		return 0;
	if (va_fstab_parse(&t, s, size, warn_cb, &c) < 0 || va_fstab_parse(&t2, s, size, NULL, NULL) < 0)
		goto out;
	if (t.n != t2.n)
		abort();
	for (size_t i = 0; i < t.n; i++) {
		const struct va_fstab_entry *e = &t.entries[i], *e2 = &t2.entries[i];
		const char *raw;
		size_t len, k = 0;
		bool climbs;
		char *d;

		if (e->line < 1 || e->line > c.lines || c.warned[e->line] ||
		    (i && e->line <= t.entries[i - 1].line))
			abort();
		if (!e->src[0] || !e->dst[0] || !e->type[0] || !e->opts[0] || e->nfields < 4 ||
		    e->nfields > 6)
			abort();
		if (e->opts[0] == ',' || e->opts[strlen(e->opts) - 1] == ',' || strstr(e->opts, ",,"))
			abort();
		if (strcmp(e->src, e2->src) || strcmp(e->dst, e2->dst) || strcmp(e->type, e2->type) ||
		    strcmp(e->opts, e2->opts) || e->line != e2->line || e->nfields != e2->nfields)
			abort();
		raw = line_at(s, size, e->line, &len);
		if (memchr(raw, '\0', len))
			abort();
		while (k < len && (raw[k] == ' ' || raw[k] == '\t' || raw[k] == '\r' || raw[k] == '\v' ||
				   raw[k] == '\f'))
			k++;
		if (k == len || raw[k] == '#')
			abort();
		if (va_fstab_is_rbind(e) && !va_fstab_is_bind(e))
			abort();
		d = va_fstab_norm_dst(e->dst, &climbs);
		if (d) {
			check_clean(d);
			if (!va_fstab_path_below(d, "/", true))
				abort();
			free(d);
		}
	}
out:
	va_fstab_release(&t);
	va_fstab_release(&t2);
	free(c.warned);
	return 0;
}
