/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit.h - what the parts of the vaudit program share: the options as
 * parsed, the modes, the run context, and the entry points of each mode.
 *
 *   vaudit.c        main(): options into struct vaudit_opts, one mode, run_<mode>()
 *   vaudit-audit.c  run_audit(): the audit, --attrs, --fix, --plan, --interactive
 *   vaudit-fix.c    the repair after an audit, plans, run_replay() (--undo, --resume)
 *   vaudit-config.c load_config(), run_list() (--list)
 *   vaudit-convert.c run_convert() (--convert-legacy)
 *   vaudit-usage.c  run_usage() (--usage)
 *   vaudit-monitor.c --prometheus FILE and --nagios (after an audit)
 *   vaudit-journals.c run_journals() (--journals, --prune), run_show() (--show)
 */
#ifndef VAUDIT_VAUDIT_H
#define VAUDIT_VAUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "cli/kit.h"
#include "core/finding.h"
#include "migrate/repair/repair.h"

#define PROG "vaudit"
#define DEFAULT_ROOT_NAME "vservers"
#define DEFAULT_ROOT "/" DEFAULT_ROOT_NAME

/** What a run does; exactly one per run (cli/vaudit.c picks it). */
enum vaudit_mode {
	MODE_AUDIT,             /**< the default: report findings */
	MODE_ATTRS,             /**< --attrs */
	MODE_FIX,               /**< --fix [--plan FILE] */
	MODE_PLAN,              /**< --plan FILE without --fix: write the plan */
	MODE_LIST,              /**< --list */
	MODE_UNDO,              /**< --undo JOURNAL */
	MODE_RESUME,            /**< --resume JOURNAL */
	MODE_INTERACTIVE,       /**< --interactive, vaudit-tui */
	MODE_CONVERT,           /**< --convert-legacy [NAME...] */
	MODE_USAGE,             /**< --usage */
	MODE_JOURNALS,          /**< --journals [DIR], --prune DAYS [DIR] */
	MODE_SHOW,              /**< --show JOURNAL */
	MODE_COUNT
};

/** The options as given (bits of vaudit_opts.given, for the option rules). */
enum vaudit_opt {
	O_JSON, O_NULL, O_VERBOSE, O_QUIET, O_SUMMARY, O_PROGRESS, O_ONLY, O_SKIP,
	O_THOROUGH, O_CROSS, O_IMAGE, O_PREFIX, O_TAG_SCHEME, O_NO_DEVICE, O_CONFIG,
	O_NO_CONFIG, O_HOST_ROOT, O_ATTRS, O_LIST, O_FIX, O_PLAN, O_DRY_RUN, O_JOURNAL,
	O_FORCE, O_BARRIER_MODE, O_UNDO, O_RESUME, O_INTERACTIVE, O_SCRIPT, O_SIZE,
	O_RECURSIVE, O_FAIL_ON, O_USAGE, O_EXACT,
	O_PROMETHEUS, O_NAGIOS, O_JOURNALS, O_PRUNE, O_SHOW,
	O_DIR,                  /**< the operand of --journals and --prune: the journal directory */
	O_PATHS,                /**< the operands of --attrs (files or directories, any path) */
	O_CONVERT,
	O_NAME,                 /**< operands of --convert-legacy: guest names */
	O_ROOT,                 /**< operands (last: "--image does not combine with ROOT") */
	O_COUNT
};

struct va_journal;

/**
 * The rest of a resumed run: run_replay() finished the journal's own
 * changes, then runs the request its header records through run_audit(),
 * which audits (or reads the plan) as the run did, leaves out the inodes
 * the journal names, and appends to the same journal.
 */
struct resume_run {
	struct va_journal *j;           /**< the journal (appended to unless a dry run) */
	const char *file;               /**< its path, for messages */
	unsigned counts[4];             /**< the journal part, by enum va_repair_event */
	const unsigned char *plan_sha256; /**< a plan run: the digest the plan must have */
};

/** --fail-on: the least severity of a finding that makes an audit exit 1. */
enum fail_on {
	FAIL_ON_WARNING,        /**< the default: a finding of severity error or warning */
	FAIL_ON_ERROR,          /**< only a finding of severity error */
	FAIL_ON_NEVER,          /**< findings never change the exit status */
};

/** Everything the command line said. */
struct vaudit_opts {
	enum vaudit_mode mode;
	uint64_t given;                 /**< bit (1 << enum vaudit_opt) per option given */
	enum va_format fmt;
	unsigned writer_flags;          /**< VA_WRITER_* */
	unsigned audit_flags;           /**< VA_AUDIT_* */
	uint64_t only, skip;            /**< kinds (--only: VA_AUDIT_ALL_KINDS when not given) */
	int progress;                   /**< 1, 0, -1: when stderr is a terminal */
	bool quiet, summary;
	enum fail_on fail_on;
	const char *image, *prefix;
	unsigned tag_scheme;
	unsigned live_flags;            /**< VA_LIVE_* */
	const char *config_dir, *host_root;
	bool no_config;
	const char *plan, *journal;
	const char *replay;             /**< --undo or --resume JOURNAL */
	bool dry_run, force;
	bool recursive;                 /**< --attrs -R */
	int barrier_mode;               /**< -1 when not given */
	const char *script;
	int cols, rows;
	const char *const *roots;       /**< the ROOT operands */
	size_t nroots;
	struct resume_run *resume;      /**< set by run_replay() only: the rest of a
					     resumed run (its locks are held) */
	const char *prometheus;         /**< --prometheus FILE, or NULL */
	bool nagios;                    /**< --nagios */
	long prune_days;                /**< --prune DAYS, or -1 */
	const char *show;               /**< --show JOURNAL */
};

/** The state of a run. */
struct ctx {
	struct cli cli;                 /**< messages, progress line, stdout */
	struct va_writer *writer;
	struct va_repair *repair;       /**< --fix/--plan: findings become actions */
	struct va_repair_opts ropts;
	int repair_error;
	unsigned char plan_sha256[32];  /**< --fix --plan: of the bytes the plan was read from */
	uint64_t progress_total;        /**< an image: the inodes in use the audit will
					     visit; else 0 (live, the audit's stats say it) */
	bool json;                      /**< --json: records on stdout (vaudit(8), JSON SCHEMA) */
	bool audited;                   /**< the audit ran: @stats hold its counts */
	struct va_audit_stats stats;
	uint64_t by_sev[VA_SEV_COUNT];  /**< findings by severity */
	bool repaired;                  /**< a repair (or its dry run) ran: ... */
	unsigned rcounts[4];            /**< ... its counts by enum va_repair_event */
	struct monitor *mon;            /**< --prometheus, --nagios: findings counted */
	bool no_findings_out;           /**< --nagios: findings counted, not written */
};

/**
 * summary_record() - the "record":"summary" line ending a --json run of @o
 * with context @c that exits with @status (@image: the attributes came
 * from an image).
 */
void summary_record(struct ctx *c, const struct vaudit_opts *o, const char *const *roots,
		    size_t nroots, bool image, int status);

/** action_event() - the repair hook's event: a text line, or with c->json an action record. */
void action_event(enum va_repair_event ev, const struct va_action *a, const char *why, int err,
		  void *user);

/** Where the repair commands work. */
struct fix_args {
	const char *image;              /**< --image, or NULL for live */
	struct va_image *img;           /**< opened image (write unless dry run) */
	const char *const *roots;
	size_t nroots;
	const char *journal;            /**< --journal, or NULL for the default */
	const char *plan_out;           /**< --plan FILE without --fix: write the plan */
	const char *plan_in;            /**< --fix --plan FILE: apply it */
	const struct vaudit_opts *opts; /**< the command line (the request a journal records) */
	uint64_t kinds;                 /**< the kinds a plain --fix repairs */
};

/** run_audit() - the modes that audit first (all but list, undo and resume).  Return: the exit status. */
int run_audit(const struct vaudit_opts *o);

/** run_list() - --list.  Return: the exit status. */
int run_list(const struct vaudit_opts *o);

/** run_convert() - --convert-legacy [NAME...].  Return: the exit status. */
int run_convert(const struct vaudit_opts *o);

struct va_image;

/**
 * open_image_prefix() - open @image (va_image_open() @flags) and check that
 * @prefix is a directory in it; a failure is said on stderr in one line.
 * Return: 0 with *@ret set, or the exit status (*@ret NULL or to close).
 */
int open_image_prefix(struct cli *cli, const char *image, unsigned flags, const char *prefix,
		      struct va_image **ret);

/** run_usage() - --usage.  Return: the exit status. */
int run_usage(const struct vaudit_opts *o);

/** run_journals() - --journals [DIR], --prune DAYS [DIR].  Return: the exit status. */
int run_journals(const struct vaudit_opts *o);

/** run_show() - --show JOURNAL.  Return: the exit status. */
int run_show(const struct vaudit_opts *o);

/*
 * --prometheus FILE and --nagios: the findings of an audit counted by
 * kind, severity and guest (monitor_add() from the finding hook), then
 * written as node_exporter textfile metrics and as one Nagios plugin line.
 */
struct monitor;

/** monitor_new() - zeroed counters, the run's clock started.  Return: NULL when out of memory. */
struct monitor *monitor_new(void);

/** monitor_add() - count finding @f.  Return: 0 or -ENOMEM. */
int monitor_add(struct monitor *m, const struct va_finding *f);

/**
 * monitor_finish() - after the run of @o in context @c ended with
 * @status (c->audited: its counts are complete; @image: an image audit):
 * write the --prometheus file and the --nagios line.
 * Return: the exit status (with --nagios, the plugin's: 0 to 3).
 */
int monitor_finish(struct ctx *c, const struct vaudit_opts *o, bool image, int status);

/** monitor_free() - NULL is fine. */
void monitor_free(struct monitor *m);

/**
 * nagios_usage_line() - the --nagios line for a command line that was
 * refused (usage error, said on stderr).  Return: 3 (UNKNOWN).
 */
int nagios_usage_line(void);

struct va_jroots;

/**
 * replay_convert() - the --undo / --resume of a --convert-legacy journal
 * @j (its roots @jr opened, accepted and checked), one line per
 * conversion (with @json, an action record through it instead); @counts
 * by enum va_repair_event.  Return: 0 or -errno.
 */
int replay_convert(struct va_journal *j, const struct va_jroots *jr, bool undo, bool dry_run,
		   unsigned counts[4], struct cli *json);

/**
 * replay_clone() - the --undo of a vclone journal @j (its roots @jr
 * opened, accepted and checked), one line per entry removed or left
 * alone, as replay_convert() says them; @live_flags for the live back end
 * that puts lifted flags back.  Return: 0 or -errno.
 */
int replay_clone(struct va_journal *j, const struct va_jroots *jr, bool dry_run, unsigned live_flags,
		 unsigned counts[4], struct cli *json);

/** run_replay() - --undo / --resume JOURNAL.  Return: the exit status. */
int run_replay(const struct vaudit_opts *o);

/**
 * load_config() - the configuration a run of @o reads, into *@ret (NULL
 * when none is read: an image, --no-config, or the default directory
 * missing while nothing asked for it).  Return: 0, or CLI_EXIT_TROUBLE
 * after a message.
 */
int load_config(struct cli *c, const struct vaudit_opts *o, struct va_config **ret);

/**
 * fix_after_audit() - the --fix and --plan part of a run, once the audit
 * has filled c->repair.  Return: the exit status.
 */
int fix_after_audit(struct ctx *c, struct va_backend *be, const struct fix_args *fa,
		    const struct va_audit_stats *stats);

/**
 * fix_from_plan() - load the plan file fa->plan_in into c->repair; its
 * header must name the same back end and filesystem (UUID) as @fa.
 * Return: 0, or CLI_EXIT_TROUBLE after a message.
 */
int fix_from_plan(struct ctx *c, const struct fix_args *fa);

/**
 * fix_plan_roots() - the ROOTs of --fix --plan FILE without a ROOT: the
 * source its header names, split in @src (kept by the caller) into
 * *@ret_roots (malloc'd array, *@ret_n entries).
 * Return: 0, or CLI_EXIT_TROUBLE after a message.
 */
int fix_plan_roots(struct cli *c, const char *file, struct dbuf *src, const char ***ret_roots,
		   size_t *ret_n);

#endif
