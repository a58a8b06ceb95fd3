/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-cli.h - what the vunify and vhashify programs share: the common
 * options, --flags resolution, exclude list files, the journal, the event
 * printer (text per verbosity level, or JSON Lines), the progress line, the
 * summary and the exit status (the set-up in unify-cli.c, what a run says
 * in unify-report.c).
 *
 * This is program code: it prints (the engine in migrate/unify/ never
 * does), through the command-line kit every program uses (cli/kit.h:
 * messages, usage errors, the progress line, stdout, exit codes), whose
 * state is c->cli.
 *
 * A run: ucli_init(); getopt_long() with UCLI_LONGOPTS and ucli_option()
 * for every option the program does not handle itself; the program checks
 * its arguments (ucli_load_excl(), ucli_config_load(), ...); ucli_start()
 * (back end, --flags); ucli_journal_open(); one or more engine calls with
 * ucli_uopts() and ucli_ran(); ucli_finish() gives the exit status.
 */
#ifndef VAUDIT_UNIFY_CLI_H
#define VAUDIT_UNIFY_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cli/kit.h"
#include "core/dbuf.h"
#include "core/exclude.h"
#include "core/lock.h"
#include "migrate/unify/unify.h"

struct va_config;

/** getopt_long() values of the common long options; programs number theirs from UCLI_OPT_NEXT. */
enum ucli_opt {
	UCLI_OPT_FLAGS = 256,
	UCLI_OPT_JOURNAL,
	UCLI_OPT_JSON,
	UCLI_OPT_CONFIG,
	UCLI_OPT_PROGRESS,
	UCLI_OPT_NO_PROGRESS,
	UCLI_OPT_VERSION,
	UCLI_OPT_INSECURE,
	UCLI_OPT_MANUALLY,
	UCLI_OPT_HOST_ROOT,
	UCLI_OPT_NEXT
};

/** The entries of a struct option array every run has (-n, -v, -h included). */
#define UCLI_LONGOPTS_RUN \
	{ "flags",       required_argument, NULL, UCLI_OPT_FLAGS }, \
	{ "journal",     required_argument, NULL, UCLI_OPT_JOURNAL }, \
	{ "json",        no_argument,       NULL, UCLI_OPT_JSON }, \
	{ "config",      required_argument, NULL, UCLI_OPT_CONFIG }, \
	{ "progress",    no_argument,       NULL, UCLI_OPT_PROGRESS }, \
	{ "no-progress", no_argument,       NULL, UCLI_OPT_NO_PROGRESS }, \
	{ "version",     no_argument,       NULL, UCLI_OPT_VERSION }, \
	{ "dry-run",     no_argument,       NULL, 'n' }, \
	{ "verbose",     no_argument,       NULL, 'v' }, \
	{ "help",        no_argument,       NULL, 'h' }

/** The common entries of vunify and vhashify: UCLI_LONGOPTS_RUN and util-vserver's. */
#define UCLI_LONGOPTS \
	UCLI_LONGOPTS_RUN, \
	{ "insecure",    no_argument,       NULL, UCLI_OPT_INSECURE }, \
	{ "manually",    no_argument,       NULL, UCLI_OPT_MANUALLY }, \
	{ "host-root",   required_argument, NULL, UCLI_OPT_HOST_ROOT }

/** State of one program run. */
struct ucli {
	struct cli cli;         /**< "vunify", "vhashify": messages, progress, stdout */
	void (*usage)(FILE *fp);/**< the program's --help text */
	/* options */
	enum va_protect protect;/**< --flags (AUTO until ucli_start()) */
	const char *journal;    /**< --journal, or NULL for the default */
	const char *jbackend;   /**< the journal's backend: VA_JOURNAL_UNIFY unless the program says */
	const char *jstem;      /**< the default journal name's stem: "unify" unless the program says */
	const char *config;     /**< --config, or NULL for VA_CONFIG_DIR */
	const char *host_root;  /**< --host-root: the configuration and every vdir
				     are read inside this prefix (an old host's disk) */
	bool json;
	bool dry_run;
	bool manually;
	bool store_run;         /**< vhashify: the summary counts new store entries */
	bool flags_recognise;   /**< vclone: --flags only recognises unified files (none: no
				     warning, nothing is left unprotected) */
	bool reverting;         /**< -R / --revert: no protection is set, so --flags=auto
				     needs no syscall (without it, names are unprotected
				     around each change: the kernel ignores iunlink) */
	int verbose;            /**< -v count */
	int progress;           /**< --progress 1, --no-progress 0, default -1 (a terminal) */
	/* run */
	struct va_backend *be;
	struct va_journal *j;
	struct dbuf jfile;      /**< the journal's path, once created */
	bool jremoved;          /**< ucli_journal_drop() removed it */
	struct va_locks locks;  /**< the change locks of the trees' and stores' filesystems */
	struct va_uhooks hooks;
	struct va_ustats total; /**< the engine calls that ended */
	const struct va_ustats *cur; /**< the call under way (progress), or NULL */
	struct dbuf label;      /**< tree being worked on (progress) */
	struct dbuf evbuf;      /**< a JSON event record being written (kept between events) */
	unsigned char *quirk_shown; /**< configuration problems already printed */
	/** vcopy: appends to the summary what its second engine did (text: a
	 *  line without the program's name, JSON: more fields), or NULL */
	void (*summary_more)(struct ucli *c, struct dbuf *b, bool json);
	bool more_changes;      /**< ... and that changed (a dry run: would change) something */
	size_t nquirk_shown;
};

/** ucli_init() - defaults for program @prog (a static string) whose --help is @usage. */
void ucli_init(struct ucli *c, const char *prog, void (*usage)(FILE *fp));

/** ucli_free() - close the journal and the back end, free everything. */
void ucli_free(struct ucli *c);

/**
 * ucli_option() - handle @opt from getopt_long() (with UCLI_LONGOPTS, the
 * short options n, v and h in its optstring, ':' first and opterr 0) that
 * the program did not handle itself: a common option is recorded; --help,
 * --version, a getopt error and an option unknown to the program end the
 * run.  @argv: for error messages (argv[optind - 1]).
 * Return: -1 to go on, else the exit status.
 */
int ucli_option(struct ucli *c, int opt, const char *arg, char **argv);

/** ucli_note() - "PROG: text" on stderr when -v was given at least @level times. */
void ucli_note(struct ucli *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/**
 * ucli_realdir() - the real path of directory @path (malloc'd) into *@ret.
 * Return: 0, or CLI_EXIT_TROUBLE after a message naming @what.
 */
int ucli_realdir(struct ucli *c, const char *path, const char *what, char **ret);

/**
 * ucli_load_excl() - read the exclude list file @file into @list (which is
 * released first); quirks are warned on stderr.  "" means no list: @list
 * stays empty and *@use is false (pass NULL to the engine), else true.
 * Return: 0, or CLI_EXIT_TROUBLE after a message (unreadable file).
 */
int ucli_load_excl(struct ucli *c, const char *file, struct va_excl_list *list, bool *use);

/**
 * ucli_config_load() - read the configuration (--config or the default).
 * Return: 0, or CLI_EXIT_TROUBLE after a message.
 */
int ucli_config_load(struct ucli *c, struct va_config **ret);

/** ucli_config_guest() - the guest named @name, or -1 after a message. */
long ucli_config_guest(struct ucli *c, const struct va_config *cfg, const char *name);

/**
 * ucli_guest_exclude() - check the exclude list guest @g of @cfg uses:
 * its quirks are warned on stderr (each file once); an exclude list that
 * could not be read is an error (the built-in fallback would unify what it
 * excludes).  Return: 0, or CLI_EXIT_TROUBLE after a message.
 */
int ucli_guest_exclude(struct ucli *c, const struct va_config *cfg, long g);

/**
 * ucli_guest_tree() - the tree of guest @name (the configuration is loaded
 * into *@cfg first when it is NULL): the real path of its vdir to *@vdir
 * (malloc'd); unless @excl is NULL, its exclude list to *@excl (quirks
 * warned, ucli_guest_exclude()); unless @stores is NULL, the stores of its
 * hash directory appended to *@stores (realloc'd, *@nstores counts them).
 * Return: 0, or CLI_EXIT_TROUBLE after a message.
 */
int ucli_guest_tree(struct ucli *c, struct va_config **cfg, const char *name, char **vdir,
		    const struct va_excl_list **excl, const char ***stores, size_t *nstores);

/** ucli_help_common() - the --help text of the options both programs share, and the exit status. */
void ucli_help_common(FILE *fp, const char *prog);

/** ucli_help_run() - the --help lines of --progress, --no-progress, --help and --version. */
void ucli_help_run(FILE *fp);

/**
 * ucli_start() - open the live back end, resolve --flags=auto (an error
 * without the vserver syscall, as is v26), warn about --flags=none, start
 * the clock and the progress line.  Return: 0 or CLI_EXIT_TROUBLE.
 */
int ucli_start(struct ucli *c);

/**
 * ucli_journal_open() - unless a dry run, take the change locks of the
 * filesystems of @paths (core/lock.h: refused when another run holds one)
 * and create the journal (--journal or
 * the default name) for the run over @paths (trees first, then stores;
 * real paths), UUID of the first one's filesystem, and say where it is.
 * Return: 0 or CLI_EXIT_TROUBLE after a message.
 */
int ucli_journal_open(struct ucli *c, const char *const *paths, size_t npaths);

/**
 * ucli_journal_drop() - at the end of a run, remove its journal when it
 * was given the default name and holds no change (nothing was changed:
 * a run with nothing to do, or refused before its first change); a
 * journal named with --journal is always kept.  Says why when the
 * removal fails (the summary says that it was removed:
 * ucli_journal_summary()).  Return: true when removed.
 */
bool ucli_journal_drop(struct ucli *c);

/**
 * ucli_journal_summary() - the summary's word on the journal: with @json
 * its "journal" field (null when none or removed), else its line ("PROG:
 * journal FILE", or that it was removed; nothing in a dry run).
 */
void ucli_journal_summary(const struct ucli *c, struct dbuf *b, bool json);

/** ucli_uopts() - engine options from the run's state (dry run, protection, back end, journal, hook). */
void ucli_uopts(struct ucli *c, struct va_uopts *o);

/**
 * ucli_ran() - after an engine call that filled @st (zeroed before it) and
 * returned @r: add @st to the totals; a negative @r is reported.
 * Return: @r.
 */
int ucli_ran(struct ucli *c, const struct va_ustats *st, int r);

/**
 * ucli_finish() - erase the progress line, ucli_journal_drop(), print the
 * summary (text or JSON), check stdout.  @revert: the run gave private copies.
 * @r: 0, a negative errno that stopped the run, or an exit status > 0.
 * Return: the exit status: 2 when the run stopped or a file failed; else
 * 1 for a dry run that would change something (a link, a store entry, a
 * revert or a flag change), 0 otherwise.
 */
int ucli_finish(struct ucli *c, bool revert, int r);

#endif
