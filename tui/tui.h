/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tui.h - the console: `vaudit --interactive` (also installed as
 * vaudit-tui).  An operator reviews every finding (or the actions of a
 * saved plan), selects some, applies them through the repair engine with
 * a journal, and can undo that journal.
 *
 * Layers (tig/ncdu style):
 *   model.h   what is shown: review items, selection, filter, search,
 *             summary counts.  No ncurses, no I/O.
 *   engine.h  the only way to the filesystem: audit, apply and undo run
 *             on a worker thread and report through a message queue.
 *   app, draw the state machine, key -> request mapping, and drawing
 *             (ncurses only there).
 * Headless mode (a script of keys, screens dumped as text) drives the same
 * code through newterm() on /dev/null, for golden tests.
 */
#ifndef VAUDIT_TUI_H
#define VAUDIT_TUI_H

#include <stdbool.h>

#include <stddef.h>

#include "audit/audit.h"
#include "migrate/repair/repair.h"

/** What the console works on, set up by the program that starts it. */
struct tui_session {
	const char *prog;               /**< the program's name, for messages on stderr */
	struct va_audit_args *args;     /**< roots, kinds, backend, config, hooks unset */
	struct va_image *img;           /**< --image opened read-only, or NULL (live) */
	const char *image;              /**< the image's path (with @img), else NULL */
	const char *const *roots;       /**< the ROOTs (with an image: the prefix in it) */
	size_t nroots;
	const char *journal;            /**< --journal: the journals' name, or NULL for
					     the default (a new name in the journal directory) */
	struct va_repair_opts *ropts;   /**< --force, --barrier-mode, running guests */
	const char *plan;               /**< --plan FILE: review it instead of scanning */
	const char *script;             /**< headless: keys from this file, screens to stdout */
	int cols, rows;                 /**< headless screen size (default 80x24) */
};

/**
 * tui_main() - run the console until the operator quits (or the script
 * ends).  The terminal is restored on every way out, signals included.
 * Return: the exit status (0; 2 when the console could not start or an
 * applied change failed).
 */
int tui_main(const struct tui_session *s);

#endif
