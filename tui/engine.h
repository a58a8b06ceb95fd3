/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine.h - the console's only way to the filesystem.  One job at a time
 * (scan, load a plan, apply, undo) runs on a worker thread and reports
 * through a message queue that the UI thread drains; the UI thread never
 * calls the audit or the repair engine itself, and the worker never
 * touches ncurses or the model.
 *
 * Jobs:
 *   scan   the audit as vaudit runs it (live: tree walk, configuration
 *          checks and hash stores; image: the inode scan), every kind.
 *   plan   read a plan file (vaudit --plan) into items.
 *   apply  the actions of a struct va_repair: a journal is created first
 *          (--journal, else /var/lib/vaudit/...), each action journaled,
 *          changed and verified (va_repair_apply); an image is reopened
 *          for writing for the job and closed after it.
 *   undo   replay a journal of this session newest first (va_repair_replay).
 *   usage  the disk space of the guests below the session's ROOTs
 *          (audit/usage.h, as vaudit --usage computes it): live only.
 * Cancelling stops a scan or a usage at its next entry (va_audit_args.cancel,
 * va_usage_args.cancel) and an apply or undo before its next action; what was changed stays journaled.
 *
 * Messages come out of tui_engine_poll() in the order they happened; the
 * PROGRESS of a job is coalesced (only the latest counters, at most every
 * 50 ms) and handed out ahead of waiting items; DONE is always the last
 * message of a job.  A job counts as running (tui_engine_busy(), -EBUSY
 * from the start functions) until its DONE has been polled.
 *
 * ERROR texts read like vaudit's messages without the "vaudit: " prefix:
 * "'PATH': what failed: reason", PATH quoted as vaudit quotes it.  The
 * notices vaudit prints before a batch audit come as NOTICE (the vserver
 * syscall is missing, 2.6 bits are read from a block device, an image's
 * journal needs recovery): information, not a scan error.
 *
 * Items whose change this session cannot carry out come not selectable,
 * with item.blocked saying why, before anyone selects them: live without
 * the vserver syscall, a change of a 2.6 bit (tui_blocked_vs26); live
 * without --force, a change inside a guest that may be running
 * (tui_blocked_running: the repair would skip it).
 *
 * Journals: the first apply of a session writes --journal FILE (or a new
 * /var/lib/vaudit/vaudit-DATE-TIME-PID.journal); each later apply writes
 * one of its own, FILE with "-2", "-3", ... before a ".journal" suffix (or
 * ".2", ... appended).  DONE.journal says which.
 */
#ifndef VAUDIT_TUI_ENGINE_H
#define VAUDIT_TUI_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tui/model.h"
#include "tui/tui.h"

enum tui_job { TUI_JOB_NONE, TUI_JOB_SCAN, TUI_JOB_PLAN, TUI_JOB_APPLY, TUI_JOB_UNDO, TUI_JOB_USAGE };

enum tui_msg_type {
	TUI_MSG_ITEM,           /**< scan/plan: a new item (take it: msg.item) */
	TUI_MSG_PROGRESS,       /**< any job: counters moved (only the latest is kept) */
	TUI_MSG_ERROR,          /**< scan: a per-entry error; apply/undo: a message */
	TUI_MSG_NOTICE,         /**< any job: information for the log, not an error */
	TUI_MSG_RESULT,         /**< apply/undo: what happened to one inode's change */
	TUI_MSG_DONE,           /**< the job ended; the engine is idle again */
};

/** Counters of the running job. */
struct tui_progress {
	enum tui_job job;
	uint64_t entries;       /**< scan, usage: entries visited */
	uint64_t findings;      /**< scan/plan: items sent */
	uint64_t done, total;   /**< apply/undo: actions handled / planned; scan:
				     total is the entries expected, 0 unknown (an
				     image: its inodes in use; live: as the inode
				     tables count them, @approx) */
	bool approx;            /**< scan: total is an estimate */
	double elapsed;         /**< seconds since the job started */
	char guest[256];        /**< scan, usage: current guest (escaped for display), "" */
};

struct tui_msg {
	enum tui_msg_type type;
	struct tui_item item;           /**< ITEM */
	struct tui_progress progress;   /**< PROGRESS, and DONE (final counters) */
	/* RESULT */
	dev_t dev;
	uint64_t ino;
	enum tui_result result;
	/* ERROR: the one-line message; RESULT: why skipped/failed; DONE: a summary */
	char text[512];
	/* DONE */
	int status;                     /**< 0, or a negative errno that stopped the job */
	char journal[4096];             /**< apply: the journal's path ("" for other jobs) */
	/** usage: the figures (the receiver's: va_usage_release(), then free()),
	 *  NULL when the job failed or was cancelled, and for other jobs */
	struct va_usage *usage;
};

/** item.blocked: the reasons, one string each (compare the pointers). */
extern const char tui_blocked_vs26[];
extern const char tui_blocked_running[];

struct tui_engine;

/** tui_engine_new() - an idle engine for @s (kept by reference).  Return: 0 or -errno. */
int tui_engine_new(struct tui_engine **ret, const struct tui_session *s);

/** tui_engine_free() - cancel any job, wait for it, free @e (NULL: nothing). */
void tui_engine_free(struct tui_engine *e);

/**
 * tui_engine_wake_fd() - an fd that becomes readable when messages are
 * waiting (poll it together with the terminal).
 */
int tui_engine_wake_fd(const struct tui_engine *e);

/** Start a job.  Return: 0, -EBUSY while another runs, or -errno. */
int tui_engine_scan(struct tui_engine *e);
int tui_engine_load_plan(struct tui_engine *e, const char *file);
/**
 * Apply the actions of @rp: the engine takes what it holds (*@rp is left
 * empty, the struct itself stays the caller's) and releases the actions
 * when the job ends.  On an error *@rp is left as it was.  No actions: a
 * DONE "nothing to repair" at once, no journal.
 */
int tui_engine_apply(struct tui_engine *e, struct va_repair *rp);
/**
 * Undo journal @file (a journal this session's apply wrote; for an image
 * session, a journal of that image): RESULT UNDONE per change taken back.
 */
int tui_engine_undo(struct tui_engine *e, const char *file);
/**
 * Compute the usage of the session's ROOTs (DONE.usage); in an image
 * session, of its prefix in the image, read offline (vaudit --usage
 * --image).
 */
int tui_engine_usage(struct tui_engine *e);

struct dbuf;

/**
 * tui_journal_numbered() - the name of the @n-th journal of a session
 * whose first is @name: @name itself, then NAME-2.journal (or NAME.2 when
 * @name does not end in ".journal"), ...  Appended to @out.
 */
void tui_journal_numbered(struct dbuf *out, const char *name, unsigned n);

/** tui_engine_cancel() - ask the running job to stop (returns at once). */
void tui_engine_cancel(struct tui_engine *e);

/** tui_engine_busy() - the job running, or TUI_JOB_NONE. */
enum tui_job tui_engine_busy(const struct tui_engine *e);

/**
 * tui_engine_poll() - move the next waiting message to @msg (the caller
 * owns msg->item afterwards).  Return: true when there was one.
 */
bool tui_engine_poll(struct tui_engine *e, struct tui_msg *msg);

/** tui_engine_wait() - block until the running job (if any) has ended. */
void tui_engine_wait(struct tui_engine *e);

#endif
