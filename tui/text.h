/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * text.h - file names and messages as terminal cells.
 *
 * A name is any bytes.  In a UTF-8 locale, each valid UTF-8 sequence that
 * is a printable character (iswprint, a known wcwidth, and none of the
 * controls, bidirectional overrides and line separators that
 * va_escape_shell() also escapes) is drawn as it is; every other byte is
 * escaped: \n \t \r \e, \xNN, and a backslash as \\.  In any other locale
 * only printable ASCII is drawn as it is.  Widths come from wcwidth(), so
 * truncation never splits a double-width character.
 */
#ifndef VAUDIT_TUI_TEXT_H
#define VAUDIT_TUI_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <wchar.h>

/** A run of cells: characters and their widths (0 for combining marks). */
struct tui_cells {
	wchar_t *wc;
	unsigned char *w;
	size_t n, cap;
	int width;              /**< sum of w[] */
	bool oom;               /**< an allocation failed: the run is cut short */
	bool raw_tail;          /**< the last cell is a character drawn as it is */
};

#define TUI_CELLS_INIT { NULL, NULL, 0, 0, 0, false, false }

/** tui_cells_reset() - make @c empty, keeping its memory. */
void tui_cells_reset(struct tui_cells *c);

/** tui_cells_release() - free @c. */
void tui_cells_release(struct tui_cells *c);

/** tui_cells_ascii() - append our own text @s as it is (printable ASCII, a backslash
 *  included; any other byte is escaped).  Never for names from the disk: tui_cells_bytes(). */
void tui_cells_ascii(struct tui_cells *c, const char *s);

/** tui_cells_printf() - tui_cells_ascii() of printf-formatted text. */
void tui_cells_printf(struct tui_cells *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * tui_cells_bytes() - append the name @s[0..@len) as described above.
 * @utf8: the locale's codeset is UTF-8.
 */
void tui_cells_bytes(struct tui_cells *c, const char *s, size_t len, bool utf8);

/** How tui_cells_fit() shortens a run that is too wide. */
enum tui_trunc {
	TUI_TRUNC_END,          /**< keep the start, end with '~' */
	TUI_TRUNC_LEFT,         /**< keep the end, start with "..." (paths) */
};

/**
 * tui_cells_fit() - the range [*@from, *@to) of @c to draw in @width
 * columns, and whether the marker of @mode is needed (then it is drawn in
 * the columns the range leaves: 1 for '~', 3 for "...").
 * Return: true when @c had to be shortened.
 */
bool tui_cells_fit(const struct tui_cells *c, int width, enum tui_trunc mode, size_t *from,
		   size_t *to);

/**
 * tui_cells_wrap() - where the line starting at cell @from ends when
 * wrapped at @width columns: after the last space that fits, else as many
 * cells as fit (at least one).  Return: the end (exclusive); the next line
 * starts there, after any spaces (see tui_cells_skip_spaces()).
 */
size_t tui_cells_wrap(const struct tui_cells *c, size_t from, int width);

/** tui_cells_skip_spaces() - the first cell at or after @i that is not a space. */
size_t tui_cells_skip_spaces(const struct tui_cells *c, size_t i);

/** tui_cells_width() - the columns of cells [@from, @to). */
int tui_cells_width(const struct tui_cells *c, size_t from, size_t to);

#endif
