/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * legacy.h - the 2.4-era guest configuration /etc/vservers/NAME.conf (the
 * util-vserver "legacy" style, written by the old vserver script), read
 * without running it.
 *
 * NAME.conf is a shell script that the old tools sourced.  What is read:
 *   - assignments NAME=VALUE (several on one line too), with the shell's
 *     quoting: 'single quotes', "double quotes" with the backslash escapes
 *     \$ \` \" \\ and \<newline>, unquoted words with backslash escapes,
 *     and a backslash-newline continuation;
 *   - "export NAME[=VALUE]...";
 *   - comments (# at the start of a word) and empty commands (";");
 *   - the two constructs util-vserver's own template writes around them:
 *       if [ "$PROFILE" = "" ] ; then ... [else ...] fi
 *         (also [ -z "$PROFILE" ] and [ "" = "$PROFILE" ])
 *       case $PROFILE in PATTERN[|PATTERN]) ... ;; ... esac
 *     evaluated against PROFILE (the value given by the caller -- the
 *     S_PROFILE of the running context's NAME.ctx -- or assigned above).
 * Anything else (a command, a variable expansion in a value, command
 * substitution, redirections, pipes, other control structures, an
 * unterminated quote) is a problem reported with its line; the command is
 * skipped and reading goes on (an unterminated quote ends the file).
 * Nothing is executed or expanded.  Assignments in branches that are not
 * taken are checked but not kept.  The last assignment of a name wins.
 */
#ifndef VAUDIT_LEGACY_H
#define VAUDIT_LEGACY_H

#include <stddef.h>

/** One variable as the file leaves it. */
struct va_legacy_var {
	char *name;
	char *value;            /**< quotes removed; NUL-free */
	unsigned line;          /**< 1-based line of the assignment that set it */
};

struct va_legacy {
	struct va_legacy_var *vars;     /**< in order of first assignment */
	size_t nvars, cap;
};

/** A problem: line (1-based) and one sentence. */
typedef int (*va_legacy_problem_fn)(unsigned line, const char *msg, void *user);

/* At most this many problems are reported per file (then one saying so). */
#define VA_LEGACY_MAX_PROBLEMS 20

/**
 * va_legacy_parse() - read the NAME.conf text @buf (@len bytes) into @out
 * (zero-initialised by the caller; released with va_legacy_release()).
 * @profile: the initial PROFILE (NULL or "" when unknown).
 * @fn: called for each problem (may be NULL); a negative return stops.
 * Return: 0, -ENOMEM, or @fn's negative value.
 */
int va_legacy_parse(const char *buf, size_t len, const char *profile, struct va_legacy *out,
		    va_legacy_problem_fn fn, void *user);

/** va_legacy_get() - the variable @name, or NULL. */
const struct va_legacy_var *va_legacy_get(const struct va_legacy *l, const char *name);

/** va_legacy_release() - free what @l holds (it may be reused after). */
void va_legacy_release(struct va_legacy *l);

#endif
