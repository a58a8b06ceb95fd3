/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * script.h - headless mode: a script of keys and commands drives the
 * console on a virtual screen (newterm() on /dev/null), and :dump writes
 * the screen as text, for golden tests (tig's TIG_SCRIPT and
 * :save-display).
 *
 * Syntax: one step per line; blank lines and lines starting with '#' are
 * ignored.
 *   :wait           block until the engine is idle, taking in its messages
 *                   (headless, messages are taken in only here)
 *   :dump           write the screen as text to stdout: every row, right
 *                   trimmed, then a line "----"; line drawing as + - |
 *   :attrs          the same for the attributes: per cell '.', a colour
 *                   pair number 1-9, else R (reverse), B (bold), U (underline)
 *   :resize CxR     resize the virtual screen to C columns and R rows
 *   :type TEXT      each character of TEXT (UTF-8) as a key
 *   KEYS            keys separated by blanks: a single printable character,
 *                   or <Down> <Up> <PgDn> <PgUp> <Home> <End> <Tab> <Enter>
 *                   <Space> <Esc> <Backspace> <F1> <C-l>
 * The screen is redrawn after every step.  At the end of the script the
 * console quits (a running job is cancelled).
 */
#ifndef VAUDIT_TUI_SCRIPT_H
#define VAUDIT_TUI_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum tui_step_type { TUI_STEP_KEY, TUI_STEP_WAIT, TUI_STEP_DUMP, TUI_STEP_ATTRS, TUI_STEP_RESIZE };

struct tui_step {
	enum tui_step_type type;
	int key;                /**< KEY: a character or a KEY_* code */
	bool fkey;              /**< KEY: @key is a KEY_* code */
	int cols, rows;         /**< RESIZE */
	unsigned line;          /**< line in the script */
};

struct tui_script {
	struct tui_step *steps;
	size_t n, cap;
};

/**
 * tui_script_load() - read script @path into the empty @sc.
 * @err: receives a message ("script:LINE: what") on failure.
 * Return: 0, -errno for an unreadable file, -EINVAL for a bad line, -ENOMEM.
 */
int tui_script_load(struct tui_script *sc, const char *path, char *err, size_t errsize);

/** tui_script_release() - free the steps. */
void tui_script_release(struct tui_script *sc);

/**
 * tui_screen_dump() - write what the (virtual) screen shows as text
 * (@attrs false) or as attribute codes (@attrs true) to @fp, then "----".
 * Return: 0 or -EIO.
 */
int tui_screen_dump(FILE *fp, bool attrs);

#endif
