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

#endif
