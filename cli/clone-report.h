/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clone-report.h - what vclone and vcopy say about the entries the clone
 * engine (migrate/clone/clone.h) makes: a line per entry with -v, an
 * action record per entry with --json, errors on stderr, the progress
 * line, and the counts of the summary.  Program code: it prints, through
 * the run's struct ucli (cli/unify-cli.h).
 */
#ifndef VAUDIT_CLONE_REPORT_H
#define VAUDIT_CLONE_REPORT_H

#include <stdbool.h>

#include "cli/unify-cli.h"
#include "core/dbuf.h"
#include "migrate/clone/clone.h"

/** clone_report_event() - say @ev (counts so far @st) as run @c says things. */
void clone_report_event(struct ucli *c, const struct va_clone_event *ev, const struct va_clone_stats *st);

/** clone_made_any() - whether @s counts an entry made (or that a dry run would make). */
bool clone_made_any(const struct va_clone_stats *s);

/**
 * clone_report_counts() - the counts of @s appended to @b: with @json as
 * ,"mkdir":N,...,"failed":N,"copied_bytes":N,"linked_bytes":N; else as
 * the words "[would make ]N directories, ... N skipped" (no newline).
 */
void clone_report_counts(struct dbuf *b, const struct va_clone_stats *s, bool json, bool dry_run);

/** getopt_long() values of the options vclone and vcopy share. */
enum { CLONE_OPT_EXCLUDE = UCLI_OPT_NEXT, CLONE_OPT_STORE, CLONE_OPT_NEXT };

/** Their entries of a struct option array. */
#define CLONE_LONGOPTS \
	UCLI_LONGOPTS_RUN, \
	{ "exclude",     required_argument, NULL, CLONE_OPT_EXCLUDE }, \
	{ "store",       required_argument, NULL, CLONE_OPT_STORE }

/**
 * clone_option() - --exclude (to *@exclude) and --store (appended to
 * *@stores, realloc'd; *@nstores counts them) from getopt_long().
 * Return: 1 handled, 0 another option, or -ENOMEM after a message.
 */
int clone_option(struct ucli *c, int opt, const char *arg, const char **exclude, const char ***stores,
		 size_t *nstores);

/**
 * clone_exclude() - the exclude list file @file of --exclude (NULL: not
 * given, nothing done) read into @list, *@excl then @list, or NULL for ""
 * (no list).  Return: 0, or CLI_EXIT_TROUBLE after a message.
 */
int clone_exclude(struct ucli *c, const char *file, struct va_excl_list *list,
		  const struct va_excl_list **excl);

/**
 * clone_opts() - the options of va_clone() as run @c set them (dry run,
 * --flags, back end), with journal @j, exclude list @excl and the @nstores
 * @stores; the caller adds what only it sets (fill, hooks, ...).
 */
void clone_opts(struct va_clone_opts *o, const struct ucli *c, struct va_journal *j,
		const struct va_excl_list *excl, const char *const *stores, size_t nstores);

#endif
