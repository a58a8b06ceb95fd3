/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exclude.h - util-vserver exclude lists (apps/vunify/exclude), parsed and
 * evaluated exactly as vunify and vhashify do, with every quirk reported.
 *
 * Syntax, one rule per line: "+PATTERN" include (unify), "-PATTERN" or a
 * bare "PATTERN" exclude, "~PATTERN" skip (for the unify tools the same as
 * exclude; vcopy/vclone do not copy it at all).  Lines that start with '#'
 * (in the first column) are comments.
 *
 * Evaluation: a guest-absolute path ("/etc/passwd") is compared with each
 * rule in file order with fnmatch(pattern, path, 0) -- no FNM_PATHNAME, so
 * '*' also matches '/' -- and the first match decides; no match means
 * include.  The tools do not enter an excluded (or skipped) directory, so
 * the decision for a path in a walk is the first exclude or skip among
 * its ancestor directories and itself (va_excl_effective()).
 *
 * Quirks of util-vserver's reader, reproduced and reported (a warning
 * with the line number through the callback; each one is a
 * config-exclude-quirk finding in vaudit):
 *   - only trailing spaces are stripped (a trailing tab or carriage return
 *     stays part of the pattern);
 *   - a line of one character (after that stripping) is dropped, so is an
 *     empty one (silently: that is not a quirk);
 *   - a last line without a newline is ignored;
 *   - a NUL byte ends the list: its line and every later line are ignored.
 * And patterns that cannot do what they seem to say:
 *   - a pattern that can never match a guest path (it does not start with
 *     '/', '*', '?' or '[', or it ends in '/', or a comment indented by a
 *     blank);
 *   - an unmatched '[' (fnmatch takes it literally);
 *   - an include that is shadowed: a rule of the list excludes one of its
 *     parent directories (the tools never get there), or an earlier rule
 *     already excludes or skips the path itself.
 */
#ifndef VAUDIT_EXCLUDE_H
#define VAUDIT_EXCLUDE_H

#include <stdbool.h>
#include <stddef.h>

/** What a rule says about a path. */
enum va_excl_action {
	VA_EXCL_INCLUDE, /**< "+": unify it (also: no rule matched) */
	VA_EXCL_EXCLUDE, /**< "-" or no prefix: leave it alone */
	VA_EXCL_SKIP,    /**< "~": leave it alone (vcopy: do not even copy it) */
};

/** Reader quirks and suspicious patterns: X(ID, message). */
#define VA_EXCL_QUIRKS(X) \
	X(TRAILING_SPACE, "trailing spaces are stripped from the pattern") \
	X(TRAILING_OTHER, "the pattern ends in a tab or carriage return, which util-vserver keeps (only spaces are stripped): it will not match") \
	X(ONE_CHAR,       "a line of one character is ignored") \
	X(NO_NEWLINE,     "the last line has no newline and is ignored") \
	X(NUL_BYTE,       "a NUL byte ends the list: this line and all later ones are ignored") \
	X(NEVER_MATCHES,  "the pattern can never match a guest path (guest paths start with '/' and do not end in '/')") \
	X(BRACKET,        "unmatched '[' is taken literally") \
	X(SHADOWED,       "this include is never reached: a rule excludes one of its parent directories (not entered then), or an earlier rule already excludes it")

enum va_excl_quirk {
#define VA_X_EXCL_QUIRK(id, msg) VA_EXCL_Q_##id,
	VA_EXCL_QUIRKS(VA_X_EXCL_QUIRK)
#undef VA_X_EXCL_QUIRK
	VA_EXCL_Q_COUNT
};

/** va_excl_quirk_message() - the sentence for @q. */
const char *va_excl_quirk_message(enum va_excl_quirk q);

/** One rule. */
struct va_excl_rule {
	enum va_excl_action action;
	char *pattern;          /**< NUL-terminated, without the prefix character */
	unsigned line;          /**< 1-based line number in the file */
};

/** A parsed list.  Zero-initialise (or VA_EXCL_LIST_INIT) before parsing. */
struct va_excl_list {
	struct va_excl_rule *rules;
	size_t nrules, caprules;
};

#define VA_EXCL_LIST_INIT { NULL, 0, 0 }

/**
 * va_excl_warn_fn - a quirk at @line (1-based) of the buffer; @text/@len
 * is that line's raw bytes (without its newline).
 */
typedef void va_excl_warn_fn(enum va_excl_quirk q, unsigned line, const char *text, size_t len,
			     void *user);

/**
 * va_excl_parse() - parse the contents of an exclude file and append its
 * rules to @list.  Never fails on content: every byte sequence gives a
 * list (quirks go to @warn, which may be NULL).
 * Return: 0 or -ENOMEM.
 */
int va_excl_parse(struct va_excl_list *list, const char *buf, size_t len,
		  va_excl_warn_fn *warn, void *user);

/**
 * va_excl_match() - the first rule matching the guest-absolute @path.
 * @which: receives that rule, or NULL when none matched (may be NULL).
 * Return: its action, VA_EXCL_INCLUDE when none matched.
 */
enum va_excl_action va_excl_match(const struct va_excl_list *list, const char *path,
				  const struct va_excl_rule **which);

/**
 * va_excl_effective() - what a vunify walk does with @path: the first of
 * its ancestor directories ("/a", "/a/b", ...) and then @path itself that
 * is not included decides (those directories are never entered).
 * @which: receives the deciding rule, or NULL (may be NULL).
 */
enum va_excl_action va_excl_effective(const struct va_excl_list *list, const char *path,
				      const struct va_excl_rule **which);

/** va_excl_release() - free the rules; @list is empty (reusable) after. */
void va_excl_release(struct va_excl_list *list);

/**
 * va_excl_default_list - util-vserver's shipped default list
 * (defaults/vunify-exclude), used when neither the guest nor .defaults has
 * one; a complete file, newline-terminated.
 */
extern const char va_excl_default_list[];

#endif
