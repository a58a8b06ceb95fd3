/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kit.h - what every program of the suite shares: its name in messages,
 * the exit codes, messages on stderr, usage errors, the progress line and
 * the clock, stdout and its write errors, --version, and the rules saying
 * which options go together (data, not a chain of ifs).
 *
 * The library code below (core/, audit/, migrate/, tui/) never prints;
 * programs do, through this kit, in one shape:
 *
 *     PROG: 'PATH': WHAT FAILED: REASON
 *     PROG: WHAT 'ARG' (see 'PROG --help')        usage errors, exit 2
 *
 * PATH and ARG are quoted by va_quote() (core/message.h): any name comes
 * out on one line and can be pasted back into a shell.  A progress line
 * (stderr, a terminal) is erased before any other line.
 */
#ifndef VAUDIT_CLI_KIT_H
#define VAUDIT_CLI_KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "core/dbuf.h"

struct va_error;

/** Exit status of every program. */
enum cli_exit {
	CLI_EXIT_OK = 0,        /**< done; an audit: nothing found */
	CLI_EXIT_FINDINGS = 1,  /**< an audit found problems; a repair skipped some;
				     a dry run would change something */
	CLI_EXIT_TROUBLE = 2,   /**< a configuration, file or write error */
	CLI_EXIT_PARTIAL = 3,   /**< an audit ran, but entries could not be read */
	CLI_EXIT_USAGE = 64,    /**< the command line is wrong (sysexits' EX_USAGE):
				     nothing was read or changed */
};

/** The state every program run shares. */
struct cli {
	const char *prog;       /**< the message prefix ("vaudit", "vunify", ...) */
	bool quiet;             /**< no notices (errors are always shown) */
	bool notices;           /**< show notices: stderr is a terminal, or -v (cron
				     mails only what is wrong) */
	bool progress_on;       /**< draw the progress line */
	bool progress_shown;    /**< a progress line is on the terminal now */
	bool progress_always;   /**< tests only (VAUDIT_TEST_PROGRESS_ALL set): every
				     progress line is due, however soon */
	struct timespec start;  /**< cli_start() */
	struct timespec last;   /**< the last progress line */
	int write_error;        /**< errno of the first failed write to stdout */
	bool write_error_said;  /**< cli_finish_output() has reported it */
};

/** cli_init() - a run of program @prog (a static string); notices shown when stderr is a terminal. */
void cli_init(struct cli *c, const char *prog);

/**
 * cli_start() - start the clock; the progress line is drawn when
 * @progress is 1, or when it is -1 (the default), stderr is a terminal and
 * the run is not quiet.
 */
void cli_start(struct cli *c, int progress);

/** cli_elapsed() - seconds since cli_start(). */
double cli_elapsed(const struct cli *c);

/**
 * cli_progress_due() - true when the progress line is on and was last
 * drawn at least @interval seconds ago (then it counts as drawn now).
 */
bool cli_progress_due(struct cli *c, double interval);

/** cli_progress() - draw "PROG: TEXT" as the progress line (after cli_progress_due()). */
void cli_progress(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** cli_clear_progress() - erase the progress line, if one is shown. */
void cli_clear_progress(struct cli *c);

/** cli_say() - "PROG: TEXT" on stderr (stdout's lines first, the progress line erased). */
void cli_say(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * cli_event_line() - end the event line in @b with ": WHY" and ": REASON"
 * (each when not NULL) and a newline, and write it: on stdout what was, or
 * would be, done; on stderr what was not (@not_done), stdout flushed first
 * so that the two keep their order.  @b is emptied.
 */
void cli_event_line(struct dbuf *b, const char *why, const char *reason, bool not_done);

/** cli_say_line() - @line on stderr as it is (no "PROG: "), e.g. a JSON object. */
void cli_say_line(struct cli *c, const char *line);

/** cli_vsay() - cli_say() with a va_list. */
void cli_vsay(struct cli *c, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/**
 * cli_keep_first_message() - from now on, keep the text of the first
 * error said on stderr (cli_say(), cli_msg(), cli_error(), usage errors;
 * not notices), for a one-line report such as vaudit --nagios.
 */
void cli_keep_first_message(void);

/** cli_first_message() - that text (without "PROG: "), or NULL when none was said. */
const char *cli_first_message(void);

/** cli_notice() - cli_say() unless the run is quiet. */
void cli_notice(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * cli_msg() - "PROG: 'PATH': WHAT: REASON" on stderr (without ": REASON"
 * when @reason is NULL).
 */
void cli_msg(struct cli *c, const char *path, const char *what, const char *reason);

/** cli_msgn() - cli_msg() for a @path of @len bytes (any bytes, NUL too). */
void cli_msgn(struct cli *c, const char *path, size_t len, const char *what, const char *reason);

/** cli_error() - @e as "PROG: 'PATH': WHAT: REASON" on stderr (va_error_text()). */
void cli_error(struct cli *c, const struct va_error *e);

/**
 * cli_bad_usage() - "PROG: WHAT 'ARG' (see 'PROG --help')" on stderr;
 * without ARG when @arg is NULL.  Return: CLI_EXIT_USAGE.
 */
int cli_bad_usage(const struct cli *c, const char *what, const char *arg);

/**
 * cli_getopt_error() - the usage error for what getopt_long() returned as
 * @opt, ':' (a missing argument) or '?' (an unknown option; optstring
 * starts with ':' and opterr is 0).  Return: CLI_EXIT_USAGE.
 */
int cli_getopt_error(const struct cli *c, int opt, char *const *argv);

/** cli_version() - "PROG (vaudit) VERSION" on stdout.  Return: the exit status. */
int cli_version(const struct cli *c);

/**
 * cli_write() - @len bytes to stdout, the progress line erased first; a
 * failed write is kept in c->write_error (the run goes on, the exit status
 * says so).
 */
void cli_write(struct cli *c, const void *buf, size_t len);

/**
 * cli_finish_output() - flush stdout; a write error (kept or new) is
 * reported once.  Return: 0, or the errno of the write error.
 */
int cli_finish_output(struct cli *c);

/**
 * cli_json_head() - start JSON record @record of the output contract in
 * @b: {"record":"RECORD","version":1,"program":"PROG" (no closing brace;
 * the schema is vaudit-records.schema.json).
 */
void cli_json_head(struct dbuf *b, const struct cli *c, const char *record);

/**
 * cli_json_strings() - append ,"KEY":[...] of the @n strings @v, or
 * ,"KEY_b64":[...] (each base64) when one of them is not UTF-8.
 */
void cli_json_strings(struct dbuf *b, const char *key, const char *const *v, size_t n);

/**
 * cli_json_error() - @path (@len bytes), @what, @reason (may be NULL) and
 * @code (errno or errcode_t, 0 when none) as a "record":"error" line on
 * stdout (cli_write()).
 */
void cli_json_error(struct cli *c, const char *path, size_t len, const char *what,
		    const char *reason, long code);

/** cli_human() - "1.9 GiB", "350.2 MiB", "12 KiB", "512 B" into @buf. */
const char *cli_human(uint64_t bytes, char buf[32]);

/**
 * cli_lock() - take the change locks (core/lock.h) of @image, or else of
 * the filesystems of the @npaths @paths, into @l, before a run changes
 * anything.  Return: 0, or CLI_EXIT_TROUBLE after a message (another run
 * holds one: nothing was changed).
 */
struct va_locks;
int cli_lock(struct cli *c, struct va_locks *l, const char *image, const char *const *paths,
	     size_t npaths);

/* ------------------------------------------------------------------ option rules */

/**
 * Which options go together, as data (util-linux's ul_excl_t, grown by
 * modes).  A program numbers the options that matter to the rules (bit
 * N = option N, names[N] its spelling), picks one mode from what was
 * given, and hands the set of given options to cli_check_options():
 *
 *   - every option given must be one the mode accepts: else
 *     "MODE does not combine with OPTION", or for the default mode (no
 *     name) "OPTION needs MODE-A or MODE-B" (the modes that accept it);
 *   - of each exclusive set, at most one option: "A does not combine with B";
 *   - an option of a cli_need needs one of its options: "A needs B".
 */
struct cli_mode {
	const char *name;       /**< the option that selects it, NULL for the default */
	uint64_t accepts;       /**< the options it takes (its own included) */
};

struct cli_need {
	uint64_t opt;           /**< this option ... */
	uint64_t needs;         /**< ... needs one of these */
};

struct cli_rules {
	const char *const *names;       /**< by option bit */
	const struct cli_mode *modes;   /**< by mode */
	size_t nmodes;
	const uint64_t *exclusive;      /**< sets of options, at most one of each */
	size_t nexclusive;
	const struct cli_need *needs;
	size_t nneeds;
};

/**
 * cli_check_options() - check @given (bits of the options given) against
 * @r for @mode.  Return: 0, or CLI_EXIT_USAGE after a usage error.
 */
int cli_check_options(const struct cli *c, const struct cli_rules *r, size_t mode, uint64_t given);

/**
 * cli_parse_size() - a size in bytes: digits with an optional suffix K, M,
 * G or T (powers of 1024; lower case too, a trailing "B" or "iB" allowed).
 * Return: 0, or -EINVAL (not a size) / -ERANGE (over 2^64 - 1).
 */
int cli_parse_size(const char *s, uint64_t *ret);

#endif
