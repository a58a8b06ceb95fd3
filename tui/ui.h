/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ui.h - the console's UI state: which state it is in (ncdu style), which
 * dialog is open, the scroll positions of the panes, the progress of the
 * running job, the status line and the message log.  app.c changes it in
 * answer to requests and engine messages; draw.c draws it (with the model)
 * and changes nothing but the scroll positions it must clamp.
 */
#ifndef VAUDIT_TUI_UI_H
#define VAUDIT_TUI_UI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/usage.h"
#include "core/dbuf.h"
#include "migrate/repair/repair.h"
#include "tui/engine.h"
#include "tui/model.h"
#include "tui/tui.h"

/** What the console is doing. */
enum tui_state {
	TUI_ST_SCANNING,        /**< a scan or a plan load runs; the list fills meanwhile */
	TUI_ST_BROWSE,          /**< idle: review and select */
	TUI_ST_APPLYING,        /**< an apply runs: progress bar, per-item results */
	TUI_ST_UNDOING,         /**< an undo runs */
	TUI_ST_USAGE,           /**< the usage is being computed (the usage view is open) */
};

/** The dialog over the browse screen, if any. */
enum tui_dialog {
	TUI_DLG_NONE,
	TUI_DLG_APPLY,          /**< "Apply N changes to M inodes? Journal: PATH [y/N]" */
	TUI_DLG_UNDO,           /**< "Undo the N changes of journal PATH? [y/N]" */
	TUI_DLG_QUIT,           /**< "A job is running: stop it and quit? [y/N]" */
	TUI_DLG_FILTER,         /**< the filter menu */
	TUI_DLG_SEARCH,         /**< the search prompt (status line) */
	TUI_DLG_HELP,           /**< the key table */
	TUI_DLG_MESSAGES,       /**< the message log */
	TUI_DLG_USAGE,          /**< the usage view: one bar per guest */
};

enum tui_pane { TUI_PANE_LIST, TUI_PANE_DETAIL, TUI_PANE_SUMMARY, TUI_PANE_COUNT };

/** One line of the filter menu. */
enum tui_fm_type {
	TUI_FM_SELECTABLE,      /**< "only findings a repair can change" */
	TUI_FM_SEVERITY,        /**< value: enum va_severity */
	TUI_FM_KIND,            /**< value: enum va_kind */
	TUI_FM_ANY_GUEST,
	TUI_FM_GUEST,           /**< value: index into model->guests */
	TUI_FM_CLEAR,           /**< "clear the filter" */
};

struct tui_fm_entry {
	enum tui_fm_type type;
	size_t value;
};

/** Where each part of the screen is (rows; every part spans all columns). */
struct tui_layout {
	int header_y;
	int summary_y, summary_h;       /**< column header + guest rows + total row */
	int list_y, list_h;             /**< title row + finding rows */
	int detail_y, detail_h;         /**< title row + detail lines */
	int status_y, bar_y;
	bool too_small;
};

/** Messages kept for the `e` view (the newest TUI_MSGLOG_MAX). */
#define TUI_MSGLOG_MAX 1000

struct tui_ui {
	const struct tui_session *s;
	struct tui_model *m;
	int rows, cols;
	bool color;                     /**< has_colors(): else A_REVERSE/A_BOLD only */
	bool utf8;                      /**< the locale's codeset is UTF-8 */
	struct tui_layout lay;

	enum tui_state state;
	enum tui_dialog dialog;
	enum tui_pane focus;

	/* list: rows are indexes into m->shown */
	size_t cursor, top;
	size_t detail_top, summary_top, overlay_top;
	size_t detail_lines;            /**< lines of the current detail (set by drawing) */
	size_t overlay_lines;           /**< lines of the help or message view (set by drawing) */

	/* the running (or last) job */
	enum tui_job job;
	struct tui_progress prog;
	bool prog_valid;
	double job_started;             /**< monotonic seconds */

	char status[640];               /**< the status line when nothing runs */

	/* message log: a ring of TUI_MSGLOG_MAX strings */
	char **msgs;
	size_t msg_head, nmsgs;
	uint64_t nerrors;               /**< all messages ever logged */
	uint64_t scan_errors;           /**< per-entry errors of the scan (the apply dialog warns) */

	/* search: the prompt being typed, and the last search */
	struct dbuf prompt;
	struct dbuf needle;

	/* filter menu: the filter being edited, the menu lines */
	struct tui_filter fm;
	struct tui_fm_entry *fm_entries;
	size_t fm_n, fm_cap, fm_cursor, fm_top;

	/* apply: the actions waiting for the confirmation */
	struct va_repair pending;
	bool have_pending;
	size_t pending_items;           /**< selected findings behind them */

	/* the journals this session's applies wrote, oldest first (`u` undoes
	 * them newest first, one job each) */
	struct tui_journal *journals;
	size_t njournals, capjournals;
	size_t undoing;                 /**< the journal the running undo replays */
	bool undo_all;                  /**< go on with the next older journal */
	bool undo_next;                 /**< ... start it when the engine is idle */

	/* the usage view (U): the figures of the last computation, computed
	 * once per session, again on r in the view or, when the view opens,
	 * after an apply or undo that changed something */
	struct va_usage *usage;         /**< NULL until computed */
	size_t *usage_order;            /**< indexes of usage->guests, in the shown order */
	bool usage_by_name;             /**< sorted by name, else by total */
	bool usage_stale;               /**< an apply or undo changed inodes since */
	bool usage_next;                /**< start the computation when the engine is idle */
	size_t usage_top;               /**< first guest row shown */
	size_t usage_rows;              /**< guest rows shown at once (set by drawing) */
	char usage_note[320];           /**< why no figures are shown, or "" */

	bool apply_failed;              /**< a change failed (exit status 2) */
	bool quit;
};

/** A journal of this session. */
struct tui_journal {
	char *path;
	size_t changes;                 /**< changes it holds as done */
	bool undone;
};

/* ------------------------------------------------------------------ draw.c */

/** tui_draw_init() - colour pairs (when has_colors()); call once after newterm(). */
void tui_draw_init(struct tui_ui *u);

/**
 * tui_layout() - compute u->lay for u->rows x u->cols and the model (the
 * summary pane grows with the guests, up to a quarter of the screen).
 */
void tui_layout(struct tui_ui *u);

/**
 * tui_draw() - draw the whole screen from the model and @u onto stdscr
 * and refresh it.  Clamps the scroll positions to what exists.
 */
void tui_draw(struct tui_ui *u);

/** tui_list_rows() - finding rows the list pane shows at once (at least 1). */
size_t tui_list_rows(const struct tui_ui *u);

/** tui_fm_build() - the filter menu lines for the model's kinds and guests. */
void tui_fm_build(struct tui_ui *u);

/** tui_kind_abbrev() - "LI" for legacy-iunlink: the initials of a kind's name. */
const char *tui_kind_abbrev(enum va_kind k);

#endif
