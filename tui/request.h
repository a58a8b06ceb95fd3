/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * request.h - what a key asks the console to do (tig style).  Keys map to
 * requests through the one list below, which also produces the bottom
 * bar, the `?` help and the KEYS table of vaudit-tui(8) (man/Makemodule.am
 * reads this list with sed), so the three cannot drift.
 *
 * X(ID, key, alternative key or 0, "keys as shown", "bar label" or NULL,
 *   "help text")
 *
 * Keys are wget_wch() codes: characters, or KEY_* for function keys.  The
 * bar shows the requests with a label, in this order, as many as fit.
 * The strings must not contain a double quote (the man page rule reads
 * them with sed).
 */
#ifndef VAUDIT_TUI_REQUEST_H
#define VAUDIT_TUI_REQUEST_H

#include <curses.h>

#define TUI_REQUESTS(X) \
	X(HELP,        '?',       KEY_F(1), "? F1",       "help",   "show this help (arrows, PgUp/PgDn scroll it; any other key closes it)") \
	X(QUIT,        'q',       0,        "q",          "quit",   "quit; asks first while a scan, an apply or an undo is running") \
	X(TOGGLE,      ' ',       0,        "Space",      "select", "toggle the selection of the current finding (only findings a repair can change) and go to the next") \
	X(SELECT_ALL,  'a',       0,        "a",          "all",    "select every shown finding a repair can change; when all already are, deselect them") \
	X(APPLY,       'x',       0,        "x",          "apply",  "apply the selected changes, after a confirmation that states how many changes and the journal path (y applies)") \
	X(UNDO,        'u',       0,        "u",          "undo",   "undo every change of this session, newest journal first, after a confirmation (y undoes)") \
	X(SEARCH,      '/',       0,        "/",          "search", "search the path text (every name of an inode); Enter jumps to the next match, Esc cancels") \
	X(FILTER,      'f',       0,        "f",          "filter", "filter by kind, guest or severity: Space toggles an entry, Enter applies, c clears, Esc cancels") \
	X(NEXT_PANE,   '\t',      0,        "Tab",        "pane",   "switch pane: list, detail, summary (the arrows scroll the focused pane)") \
	X(MESSAGES,    'e',       0,        "e",          "msgs",   "show the messages (per-entry scan errors, repair messages); any key closes them") \
	X(USAGE,       'U',       0,        "U",          "usage",  "the usage view: one bar per guest of the disk space it uses (private, shared with other guests, in the hash store) and what a vhashify run would reclaim, with the host totals; live ROOTs only.  Computed on the first U (Esc or q stops it), again on r in the view and after an apply or undo that changed something; o sorts by total or name; Esc, q or U closes it") \
	X(RESCAN,      'r',       0,        "r",          NULL,     "scan again: every finding is read anew (selections, results and the filter are cleared; the journals stay)") \
	X(SORT,        'o',       0,        "o",          NULL,     "sort the list: finding order, path, kind, severity, guest (o again for the next)") \
	X(SEARCH_NEXT, 'n',       0,        "n",          NULL,     "repeat the last search forward") \
	X(SEARCH_PREV, 'N',       0,        "N",          NULL,     "repeat the last search backward") \
	X(MOVE_DOWN,   KEY_DOWN,  'j',      "Down j",     NULL,     "next line") \
	X(MOVE_UP,     KEY_UP,    'k',      "Up k",       NULL,     "previous line") \
	X(PAGE_DOWN,   KEY_NPAGE, 0,        "PgDn",       NULL,     "next page") \
	X(PAGE_UP,     KEY_PPAGE, 0,        "PgUp",       NULL,     "previous page") \
	X(MOVE_FIRST,  KEY_HOME,  'g',      "Home g",     NULL,     "first line") \
	X(MOVE_LAST,   KEY_END,   'G',      "End G",      NULL,     "last line") \
	X(REDRAW,      0x0c,      0,        "Ctrl-L",     NULL,     "redraw the screen")

enum tui_request {
	TUI_REQ_NONE,
#define TUI_X_REQ(id, key, alt, shown, bar, help) TUI_REQ_##id,
	TUI_REQUESTS(TUI_X_REQ)
#undef TUI_X_REQ
	TUI_REQ_COUNT
};

/** One row of the request list. */
struct tui_request_info {
	enum tui_request req;
	int key, alt;           /**< wget_wch() codes; alt 0 = none */
	const char *shown;      /**< the keys as the help shows them */
	const char *bar;        /**< bottom bar label, or NULL */
	const char *help;       /**< one sentence */
};

/**
 * tui_request_table() - the list above.
 * @ret_n: receives the number of rows.
 */
const struct tui_request_info *tui_request_table(size_t *ret_n);

/**
 * tui_request_for_key() - the request bound to @key (a wget_wch() code;
 * @is_fkey true when it was a KEY_* code).  Return: TUI_REQ_NONE if none.
 */
enum tui_request tui_request_for_key(int key, bool is_fkey);

/**
 * tui_request_bar_key() - the key of a request as the bottom bar shows it
 * (the first word of the "keys as shown" text, e.g. "Space", "?").
 * @buf: at least 16 bytes.  Return: @buf.
 */
const char *tui_request_bar_key(const struct tui_request_info *r, char *buf);

#endif
