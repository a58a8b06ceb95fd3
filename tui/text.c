/* SPDX-License-Identifier: GPL-2.0-or-later */
/* text.c - file names and messages as terminal cells (see text.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "core/escape.h"
#include "tui/text.h"

void tui_cells_reset(struct tui_cells *c)
{
	c->n = 0;
	c->width = 0;
	c->oom = false;
	c->raw_tail = false;
}

void tui_cells_release(struct tui_cells *c)
{
	free(c->wc);
	free(c->w);
	memset(c, 0, sizeof(*c));
}

/* Append one character of width @w (0..2). */
static void add(struct tui_cells *c, wchar_t wc, int w)
{
	if (c->oom)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		wchar_t *nwc = realloc(c->wc, cap * sizeof(*nwc));
		unsigned char *nw;

		if (!nwc) {
			c->oom = true;
			return;
		}
		c->wc = nwc;
		nw = realloc(c->w, cap);
		if (!nw) {
			c->oom = true;
			return;
		}
		c->w = nw;
		c->cap = cap;
	}
	c->wc[c->n] = wc;
	c->w[c->n] = (unsigned char)w;
	c->n++;
	c->width += w;
	c->raw_tail = true;
}

/* Append escape text (ASCII). */
static void add_esc(struct tui_cells *c, const char *s)
{
	for (; *s; s++)
		add(c, (wchar_t)(unsigned char)*s, 1);
	c->raw_tail = false;
}

/* Escape one byte. */
static void esc_byte(struct tui_cells *c, unsigned char b)
{
	char buf[8];

	switch (b) {
	case '\n': add_esc(c, "\\n"); break;
	case '\t': add_esc(c, "\\t"); break;
	case '\r': add_esc(c, "\\r"); break;
	case 0x1b: add_esc(c, "\\e"); break;
	case '\\': add_esc(c, "\\\\"); break;
	default:
		snprintf(buf, sizeof(buf), "\\x%02x", b);
		add_esc(c, buf);
		break;
	}
}

/*
 * Code points never drawn raw: C0 and C1 controls, DEL, bidirectional
 * marks and overrides, line and paragraph separators, the BOM (the same
 * list as va_escape_shell()).
 */
static bool cp_is_dangerous(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

void tui_cells_bytes(struct tui_cells *c, const char *s, size_t len, bool utf8)
{
	for (size_t i = 0; i < len;) {
		unsigned char b = (unsigned char)s[i];
		uint32_t cp;
		size_t n;

		if (b == '\\') {
			esc_byte(c, b);
			i++;
			continue;
		}
		if (b >= 0x20 && b < 0x7f) {
			add(c, (wchar_t)b, 1);
			i++;
			continue;
		}
		n = utf8 ? va_utf8_decode(s + i, len - i, &cp) : 0;
		if (n > 1 && !cp_is_dangerous(cp) && iswprint((wint_t)cp)) {
			int w = wcwidth((wchar_t)cp);

			/* a combining mark needs a character drawn as it is before it */
			if (w > 0 || (w == 0 && c->n > 0 && c->raw_tail)) {
				add(c, (wchar_t)cp, w);
				i += n;
				continue;
			}
		}
		if (!n)
			n = 1;
		for (size_t k = 0; k < n; k++)
			esc_byte(c, (unsigned char)s[i + k]);
		i += n;
	}
}

void tui_cells_ascii(struct tui_cells *c, const char *s)
{
	/* our own text: a backslash in it is meant (the help's legend shows \xNN) */
	for (; *s; s++) {
		unsigned char b = (unsigned char)*s;

		if (b >= 0x20 && b < 0x7f)
			add(c, (wchar_t)b, 1);
		else
			esc_byte(c, b);
	}
}

void tui_cells_printf(struct tui_cells *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	tui_cells_ascii(c, buf);
}

int tui_cells_width(const struct tui_cells *c, size_t from, size_t to)
{
	int w = 0;

	for (size_t i = from; i < to && i < c->n; i++)
		w += c->w[i];
	return w;
}

bool tui_cells_fit(const struct tui_cells *c, int width, enum tui_trunc mode, size_t *from,
		   size_t *to)
{
	int room, w = 0;
	size_t i;

	if (width < 0)
		width = 0;
	if (c->width <= width) {
		*from = 0;
		*to = c->n;
		return false;
	}
	if (mode == TUI_TRUNC_END) {
		room = width - 1;
		for (i = 0; i < c->n; i++) {
			if (w + c->w[i] > room)
				break;
			w += c->w[i];
		}
		/* keep the combining marks of the last character */
		while (i < c->n && c->w[i] == 0)
			i++;
		*from = 0;
		*to = i;
		return true;
	}
	room = width - 3;
	i = c->n;
	while (i > 0 && w + c->w[i - 1] <= room) {
		w += c->w[i - 1];
		i--;
	}
	/* do not start with a combining mark */
	while (i < c->n && c->w[i] == 0)
		i++;
	*from = i;
	*to = c->n;
	return true;
}

size_t tui_cells_skip_spaces(const struct tui_cells *c, size_t i)
{
	while (i < c->n && c->wc[i] == L' ')
		i++;
	return i;
}

size_t tui_cells_wrap(const struct tui_cells *c, size_t from, int width)
{
	size_t i, last_space = 0;
	int w = 0;

	for (i = from; i < c->n; i++) {
		if (w + c->w[i] > width)
			break;
		w += c->w[i];
		if (c->wc[i] == L' ')
			last_space = i;
	}
	if (i >= c->n)
		return c->n;
	if (last_space > from)
		return last_space;
	while (i < c->n && c->w[i] == 0)
		i++;
	return i > from ? i : from + 1;
}
