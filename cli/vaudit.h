/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit.h - what the parts of the vaudit program share: its name, exit
 * codes, the run context and the message helpers (the library code in
 * core/, audit/ and migrate/ never prints; these do).
 */
#ifndef VAUDIT_VAUDIT_H
#define VAUDIT_VAUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "audit/audit.h"
#include "core/dbuf.h"
#include "core/image.h"
#include "migrate/repair/repair.h"

#define PROG "vaudit"

enum exit_code { EXIT_CLEAN = 0, EXIT_FINDINGS = 1, EXIT_TROUBLE = 2 };

struct ctx {
	struct va_writer *writer;
	bool quiet;
	bool progress;
	bool progress_shown;
	struct timespec start, last;
	int write_error;
	struct va_repair *repair;       /**< --fix/--plan: findings become actions */
	struct va_repair_opts ropts;
	int repair_error;
};

/** quote() - @s for a message: 'plain' or the shell-escaped form, appended to @b. */
void quote(struct dbuf *b, const char *s, size_t len);

/** msg_reason() - "vaudit: 'path': what: reason" on stderr (no reason when NULL). */
void msg_reason(const char *path, size_t len, const char *what, const char *reason);

/** msg_error() - "vaudit: " and the text of @e (va_error_text()) on stderr. */
void msg_error(const struct va_error *e);

/** clear_progress() - erase the progress line before other output. */
void clear_progress(struct ctx *c);

/** Options of the repair commands. */
struct fix_args {
	const char *image;              /**< --image, or NULL for live */
	struct va_image *img;           /**< opened image (write unless dry run) */
	const char *const *roots;
	size_t nroots;
	const char *journal;            /**< --journal, or NULL for the default */
	const char *plan_out;           /**< --plan FILE without --fix: write the plan */
	const char *plan_in;            /**< --fix --plan FILE: apply it */
};

/**
 * fix_after_audit() - the --fix and --plan part of a run, once the audit
 * has filled c->repair.  Return: the exit status.
 */
int fix_after_audit(struct ctx *c, struct va_backend *be, const struct fix_args *fa,
		    const struct va_audit_stats *stats);

/**
 * fix_from_plan() - load the plan file fa->plan_in into c->repair; its
 * header must name the same back end and filesystem (UUID) as @fa.
 * Return: 0, or EXIT_TROUBLE after a message.
 */
int fix_from_plan(struct ctx *c, const struct fix_args *fa);

/**
 * fix_plan_roots() - the ROOTs of --fix --plan FILE without a ROOT: the
 * source its header names, split in @src (kept by the caller) into
 * *@ret_roots (malloc'd array, *@ret_n entries).
 * Return: 0, or EXIT_TROUBLE after a message.
 */
int fix_plan_roots(const char *file, struct dbuf *src, const char ***ret_roots, size_t *ret_n);

struct va_config;

/** list_guests() - vaudit --list: the guests of @c on stdout.  Return: 0 or -EIO/-ENOMEM. */
int list_guests(const struct va_config *c, bool json);

struct va_jroot_id;

/**
 * replay_journal() - --undo / --resume JOURNAL (of @image, below @prefix,
 * when given).  A live or unify journal's roots must be, or lie below, one
 * of the @ntrusted directories @trusted (ROOT operands, the configuration).
 * Return: the exit status.
 */
int replay_journal(const char *file, bool undo, const char *image, const char *prefix, bool dry_run,
		   unsigned live_flags, const struct va_jroot_id *trusted, size_t ntrusted);

#endif
