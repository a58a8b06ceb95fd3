/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit.c - the vaudit command: its options into struct vaudit_opts, the
 * rules saying which go together, one mode, and that mode's run_<mode>()
 * (see vaudit.h for where each one lives).
 *
 * The code base, layer by layer (each includes only the layers above it in
 * this list; tests/layers.sh checks it):
 *   core/      flag table, safe walker, attribute back ends (live, image),
 *              images, findings and writers, configuration, exclude lists,
 *              messages
 *   audit/     the checks: live walk, image scan, configuration, hash stores
 *   migrate/   the journal; migrate/repair/ the repair engine and plans;
 *              migrate/unify/ the unify engine (vunify, vhashify, their undo)
 *   tui/       the console (--interactive, vaudit-tui): see tui/tui.h
 *   cli/       the programs and their command-line kit (cli/kit.h)
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/vaudit.h"
#include "core/attr.h"
#include "core/flags.h"
#include "core/image.h"
#include "core/vsconfig.h"
#include "migrate/journal.h"

#define BIT(o) (UINT64_C(1) << (o))

/* ------------------------------------------------------------------ which options go together */

static const char *const opt_names[O_COUNT] = {
	[O_ROOT] = "ROOT", [O_JSON] = "--json", [O_NULL] = "--null", [O_VERBOSE] = "--verbose",
	[O_QUIET] = "--quiet", [O_SUMMARY] = "--summary", [O_PROGRESS] = "--progress",
	[O_ONLY] = "--only", [O_SKIP] = "--skip", [O_THOROUGH] = "--thorough",
	[O_CROSS] = "--cross-mounts", [O_IMAGE] = "--image", [O_PREFIX] = "--prefix",
	[O_TAG_SCHEME] = "--tag-scheme", [O_NO_DEVICE] = "--no-device-read",
	[O_CONFIG] = "--config", [O_NO_CONFIG] = "--no-config", [O_HOST_ROOT] = "--host-root",
	[O_ATTRS] = "--attrs", [O_LIST] = "--list", [O_FIX] = "--fix", [O_PLAN] = "--plan",
	[O_DRY_RUN] = "--dry-run", [O_JOURNAL] = "--journal", [O_FORCE] = "--force",
	[O_BARRIER_MODE] = "--barrier-mode", [O_UNDO] = "--undo", [O_RESUME] = "--resume",
	[O_INTERACTIVE] = "--interactive", [O_SCRIPT] = "--script", [O_SIZE] = "--size",
	[O_RECURSIVE] = "--recursive", [O_PATHS] = "PATH",
	[O_CONVERT] = "--convert-legacy", [O_NAME] = "NAME", [O_FAIL_ON] = "--fail-on",
	[O_USAGE] = "--usage", [O_EXACT] = "--exact",
	[O_PROMETHEUS] = "--prometheus", [O_NAGIOS] = "--nagios", [O_JOURNALS] = "--journals",
	[O_PRUNE] = "--prune", [O_SHOW] = "--show", [O_DIR] = "DIR",
};

/* what an audit takes: where it looks, what it reports, how */
#define AUDIT_OPTS (BIT(O_ROOT) | BIT(O_JSON) | BIT(O_NULL) | BIT(O_VERBOSE) | BIT(O_QUIET) | \
		    BIT(O_SUMMARY) | BIT(O_PROGRESS) | BIT(O_ONLY) | BIT(O_SKIP) | \
		    BIT(O_THOROUGH) | BIT(O_CROSS) | BIT(O_IMAGE) | BIT(O_PREFIX) | \
		    BIT(O_TAG_SCHEME) | BIT(O_NO_DEVICE) | BIT(O_CONFIG) | BIT(O_NO_CONFIG) | \
		    BIT(O_HOST_ROOT))
/* what a change takes */
#define REPAIR_OPTS (BIT(O_JOURNAL) | BIT(O_FORCE) | BIT(O_BARRIER_MODE))
/* an undo or a resume: the journal says what; the options say where it may act */
#define REPLAY_OPTS (BIT(O_UNDO) | BIT(O_RESUME) | BIT(O_DRY_RUN) | BIT(O_ROOT) | BIT(O_IMAGE) | \
		     BIT(O_PREFIX) | BIT(O_CONFIG) | BIT(O_NO_CONFIG) | BIT(O_HOST_ROOT) | \
		     BIT(O_NO_DEVICE) | BIT(O_QUIET) | BIT(O_PROGRESS) | BIT(O_JSON))

static const struct cli_mode modes[MODE_COUNT] = {
	/* --fail-on: only an audit's exit status depends on its findings */
	[MODE_AUDIT]       = { NULL, AUDIT_OPTS | BIT(O_FAIL_ON) | BIT(O_PROMETHEUS) | BIT(O_NAGIOS) },
	/* its operands are PATHs (O_PATHS), not ROOTs: also inside an image */
	[MODE_ATTRS]       = { "--attrs", AUDIT_OPTS | BIT(O_ATTRS) | BIT(O_RECURSIVE) | BIT(O_PATHS) },
	[MODE_FIX]         = { "--fix", AUDIT_OPTS | REPAIR_OPTS | BIT(O_FIX) | BIT(O_PLAN) |
			       BIT(O_DRY_RUN) },
	[MODE_PLAN]        = { "--plan", AUDIT_OPTS | BIT(O_PLAN) },
	[MODE_LIST]        = { "--list", BIT(O_LIST) | BIT(O_JSON) | BIT(O_CONFIG) |
			       BIT(O_HOST_ROOT) | BIT(O_QUIET) | BIT(O_PROGRESS) },
	[MODE_UNDO]        = { "--undo", REPLAY_OPTS },
	/* --plan FILE: where the plan of the run to finish is now */
	[MODE_RESUME]      = { "--resume", REPLAY_OPTS | BIT(O_PLAN) },
	/* the console reviews first and repairs when told: no batch output, no dry run */
	[MODE_INTERACTIVE] = { "--interactive", (AUDIT_OPTS & ~(BIT(O_JSON) | BIT(O_NULL))) |
			       REPAIR_OPTS | BIT(O_PLAN) | BIT(O_INTERACTIVE) | BIT(O_SCRIPT) |
			       BIT(O_SIZE) },
	/* legacy NAME.conf guests into directories: the operands are guest names */
	[MODE_CONVERT]     = { "--convert-legacy", BIT(O_CONVERT) | BIT(O_NAME) | BIT(O_DRY_RUN) |
			       BIT(O_CONFIG) | BIT(O_HOST_ROOT) | BIT(O_QUIET) | BIT(O_JOURNAL) },
	/* the disk space of the guests: ROOTs and configuration as for an audit */
	[MODE_USAGE]       = { "--usage", BIT(O_USAGE) | BIT(O_EXACT) | BIT(O_ROOT) | BIT(O_JSON) |
			       BIT(O_QUIET) | BIT(O_CONFIG) | BIT(O_NO_CONFIG) | BIT(O_HOST_ROOT) |
			       BIT(O_CROSS) | BIT(O_PROGRESS) | BIT(O_IMAGE) |
			       BIT(O_PREFIX) | BIT(O_TAG_SCHEME) },
	/* the journals in a directory: listed, or pruned (-n: what would go) */
	[MODE_JOURNALS]    = { "--journals", BIT(O_JOURNALS) | BIT(O_PRUNE) | BIT(O_DRY_RUN) |
			       BIT(O_JSON) | BIT(O_QUIET) | BIT(O_DIR) },
	[MODE_SHOW]        = { "--show", BIT(O_SHOW) },
};

static const uint64_t exclusive[] = {
	BIT(O_UNDO) | BIT(O_RESUME),
	BIT(O_JSON) | BIT(O_NULL) | BIT(O_NAGIOS), /* one output format */
	BIT(O_PRUNE) | BIT(O_JSON),             /* --prune says what it removed, as text */
	BIT(O_IMAGE) | BIT(O_ROOT),             /* a directory in the image: --prefix */
	BIT(O_IMAGE) | BIT(O_CONFIG),
	BIT(O_IMAGE) | BIT(O_HOST_ROOT),
	BIT(O_NO_CONFIG) | BIT(O_CONFIG),
	BIT(O_NO_CONFIG) | BIT(O_HOST_ROOT),
	BIT(O_HOST_ROOT) | BIT(O_ROOT),         /* the ROOTs come from its configuration */
	BIT(O_HOST_ROOT) | BIT(O_PATHS),
	BIT(O_PREFIX) | BIT(O_PATHS),           /* --attrs --image: PATHs in the image */
};

static const struct cli_need needs[] = {
	{ BIT(O_PREFIX) | BIT(O_TAG_SCHEME), BIT(O_IMAGE) },
};

static const struct cli_rules rules = {
	.names = opt_names,
	.modes = modes, .nmodes = MODE_COUNT,
	.exclusive = exclusive, .nexclusive = sizeof(exclusive) / sizeof(exclusive[0]),
	.needs = needs, .nneeds = sizeof(needs) / sizeof(needs[0]),
};

/* The mode the options ask for (conflicts are the rules' business). */
static enum vaudit_mode pick_mode(uint64_t given)
{
	static const struct { enum vaudit_opt opt; enum vaudit_mode mode; } order[] = {
		{ O_INTERACTIVE, MODE_INTERACTIVE }, { O_UNDO, MODE_UNDO }, { O_RESUME, MODE_RESUME },
		{ O_CONVERT, MODE_CONVERT }, { O_USAGE, MODE_USAGE }, { O_SHOW, MODE_SHOW },
		{ O_JOURNALS, MODE_JOURNALS }, { O_PRUNE, MODE_JOURNALS },
		{ O_LIST, MODE_LIST }, { O_ATTRS, MODE_ATTRS }, { O_FIX, MODE_FIX },
		{ O_PLAN, MODE_PLAN },
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (given & BIT(order[i].opt))
			return order[i].mode;
	return MODE_AUDIT;
}

/* ------------------------------------------------------------------ --help, --list-* */

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: %s [OPTIONS] [ROOT...]\n"
"       %s [OPTIONS] --image FILE|DEVICE [--prefix PATH]\n"
"       %s --attrs [-R] [PATH...] [--image FILE]\n"
"       %s --list [--json] [--config DIR] [--host-root PREFIX]\n"
"       %s --interactive [OPTIONS] [ROOT... | --image FILE | --plan FILE]\n"
"       %s --undo|--resume JOURNAL [--dry-run] [ROOT... | --image FILE]\n"
"       %s --resume JOURNAL --plan FILE [--dry-run] [ROOT... | --image FILE]\n"
"       %s --convert-legacy [--dry-run] [--config DIR] [--host-root PREFIX] [NAME...]\n"
"       %s --usage [--exact] [--json] [ROOT... | --image FILE [--prefix PATH]]\n"
"       %s --prometheus FILE|--nagios [OPTIONS] [ROOT... | --image FILE]\n"
"       %s --journals [--json] [DIR]\n"
"       %s --prune DAYS [-n] [DIR]\n"
"       %s --show JOURNAL\n"
"Audit Linux-VServer guest trees for attribute states that break the move\n"
"from 2.4 to 2.6 kernels, and the host's configuration: each guest's\n"
"settings and its fstab files (NAME/fstab, fstab.remote, .defaults/fstab:\n"
"malformed or unsafe mounts), and vmount's configuration files (/etc/vmount,\n"
"vmount(8)); --list-kinds lists every check.  Without ROOT, the guests\n"
"come from the configuration (%s, when it exists): each\n"
"vdir is a guest root and their parents are the ROOTs; without one, each\n"
"direct subdirectory of ROOT (default %s) is a guest root.  Nothing is\n"
"ever changed unless --fix is given, or a repair is started in the console.\n"
"\n"
"Source:\n"
"      --config DIR      read the util-vserver configuration from DIR (also\n"
"                        with ROOTs: then it names the guests and adds the\n"
"                        configuration checks)\n"
"      --no-config       do not read %s\n"
"      --host-root PREFIX  audit an offline copy of a host (an old root\n"
"                        mounted at PREFIX): the configuration and every vdir\n"
"                        are resolved inside PREFIX, never on this host\n"
"      --list            no audit: list the configured guests (name, context,\n"
"                        state, mark, vdir, unify setup; legacy NAME.conf\n"
"                        guests too); with --json as JSON Lines, which\n"
"                        also name each guest's fstab files\n"
"      --image FILE      audit an unmounted ext2/3/4 image or block device\n"
"                        offline, read-only, with the raw on-disk flags\n"
"      --prefix PATH     with --image: the directory in the image that holds\n"
"                        the guests (default /)\n"
"      --tag-scheme S    with --image: where xid tags are on disk, for\n"
"                        tag-on-shared and the usage per tag: auto (default),\n"
"                        id24, gid16, uid16, intern, none\n"
"      --no-device-read  live: do not read the inode tables and 2.6 bits from\n"
"                        the block device of a mounted ext2/3/4 filesystem (the\n"
"                        flags of every file are then read one by one)\n"
"Repair (journaled; see vaudit(8)):\n"
"      --fix             repair what the audit found (default kinds, or --only)\n"
"      --plan FILE       write the plan (no --fix), or apply it (with --fix)\n"
"  -n, --dry-run         show what --fix/--undo/--resume/--prune would do\n"
"      --journal FILE    journal to create (default in " VA_JOURNAL_DIR ")\n"
"      --force           also inside running guests, and after audit errors\n"
"      --barrier-mode M  mode (octal) for ROOT with its 2.6 barrier\n"
"      --undo JOURNAL    restore what a journal changed\n"
"      --resume JOURNAL  finish an interrupted run: the journal's changes, then\n"
"                        the rest of what the run was asked (--plan FILE: the\n"
"                        plan moved)\n"
"                        (a journal's roots must be ROOTs named after it, or\n"
"                        below them; without ROOT, configured guest roots,\n"
"                        their parents and hash stores, else %s)\n"
"Console (also installed as vaudit-tui):\n"
"      --interactive     review the findings (or, with --plan FILE, that plan's\n"
"                        actions) in a console: select, repair with a journal\n"
"                        (--journal, --force, --barrier-mode apply), undo\n"
"      --script FILE     with --interactive: no terminal, the keys come from\n"
"                        FILE and each screen is printed on stdout (tests)\n"
"      --size COLSxROWS  with --interactive: screen size for --script (default\n"
"                        80x24; 20x10 to 1000x1000)\n"
"Other modes:\n"
"      --convert-legacy [NAME...]  write the /etc/vservers/NAME/ directory\n"
"                        equivalent to each legacy NAME.conf guest (all without\n"
"                        NAME; with --dry-run only show it): NAME.conf is left\n"
"                        alone, an existing NAME/ is never replaced, what does\n"
"                        not map is listed; journaled (--journal), --undo\n"
"                        removes what it made while it is unchanged\n"
"      --usage [ROOT...] no audit: the disk space of each guest (files, MiB\n"
"                        private, shared with other guests, shared with the\n"
"                        hash store, reclaimable by vhashify: files of equal\n"
"                        size, mode, uid and gid in other inodes) and the\n"
"                        host's totals, each inode once, with what hard links\n"
"                        already save; with --json usage and usage-total\n"
"                        records.  With --image, read offline from the image;\n"
"                        where its inodes carry xid tags, the usage per tag\n"
"                        and the names whose tag is not their guest's context\n"
"                        (/etc/vservers/NAME/context in the image)\n"
"      --exact           with --usage: reclaimable only for equal content\n"
"                        (reads the files that could be, SHA-256)\n"
"      --attrs [PATH...] no audit: show the vserver attributes (buic, upper\n"
"                        case = set, - = unknown) and lsattr flags of each\n"
"                        PATH (any file or directory; with --image, absolute\n"
"                        paths in the image; default: the ROOTs) and of the\n"
"                        entries of each directory PATH, like 'showattr -d\n"
"                        DIR DIR/*'\n"
"  -R, --recursive       with --attrs: everything below each directory PATH\n"
"Journals (default DIR %s):\n"
"      --journals [DIR]  no audit: list the journals (*.journal) in DIR: state\n"
"                        (complete, interrupted, undone, unreadable), date of\n"
"                        the last write, size, run (back end, source, mode);\n"
"                        with --json a journal record each\n"
"      --prune DAYS [DIR]  remove the complete and undone journals in DIR last\n"
"                        written more than DAYS days ago (never an interrupted\n"
"                        or unreadable one), naming each; -n: only name them\n"
"      --show JOURNAL    print JOURNAL as JSON Lines: its header, then each\n"
"                        record with its paths decoded\n"
"Monitoring (an audit):\n"
"      --prometheus FILE write node_exporter textfile metrics of the audit to\n"
"                        FILE, atomically (findings by kind, severity and\n"
"                        guest, errors, time and duration of the run)\n"
"      --nagios          print one Nagios/Icinga plugin line instead of the\n"
"                        findings and exit 0 OK, 1 WARNING (a warning\n"
"                        finding), 2 CRITICAL (an error finding), 3 UNKNOWN\n"
"                        (no audit, a partial one, or a usage error)\n"
"Output:\n"
"  -j, --json            JSON Lines on stdout: a record per finding, per entry\n"
"                        that could not be read, per repair action, then a\n"
"                        summary record (schema: vaudit-records.schema.json)\n"
"  -0, --null            only the path of each finding, each followed by NUL\n"
"  -v, --verbose         text: also list other names of shared inodes and why\n"
"  -q, --quiet           no notes and no progress: only findings, errors and\n"
"                        what was changed are written\n"
"      --summary         counts per kind on stderr at the end (as text, also\n"
"                        with --json)\n"
"      --fail-on SEV     error, warning (default) or never: the least severity\n"
"                        of a finding that makes an audit exit 1\n"
"      --progress        progress on stderr, with a percentage where the total\n"
"                        is known (default: when stderr is a terminal, no -q)\n"
"      --no-progress     no progress\n"
"Selection:\n"
"      --only KIND[,KIND...]  report only these kinds\n"
"      --skip KIND[,KIND...]  do not report these kinds\n"
"      --thorough        accepted, no effect: every file is checked by default\n"
"      --cross-mounts    also descend into other filesystems and mounts below\n"
"                        ROOT and the guest roots\n"
"Information:\n"
"      --list-kinds      list the finding kinds and exit\n"
"      --list-flags      list the flag table and exit\n"
"  -h, --help            show this help and exit\n"
"  -V, --version         show the version and exit\n"
"\n"
"Exit status: 0 nothing to report; 1 a finding of --fail-on severity or more\n"
"(audit), something skipped (--fix, --undo, --resume) or something would\n"
"change (--dry-run); 2 a configuration or fatal error, or a repair action\n"
"failed; 3 a partial audit: entries could not be read (the walk goes on\n"
"after per-entry errors; 3 wins over 1); 64 a usage error (nothing read).\n"
"With --nagios: the plugin's 0 to 3 (a usage error too is 3).\n",
		PROG, PROG, PROG, PROG, PROG, PROG, PROG, PROG, PROG, PROG, PROG, PROG, PROG,
		VA_CONFIG_DIR, DEFAULT_ROOT, VA_CONFIG_DIR,
		DEFAULT_ROOT, VA_JOURNAL_DIR);
}

static void list_kinds(void)
{
	for (int k = 0; k < VA_KIND_COUNT; k++)
		printf("%-29s %-8s %s\n", va_kind_name(k), va_severity_name(va_kind_severity(k)),
		       va_kind_why(k));
}

static void list_flags(void)
{
	size_t n;
	const struct va_flag *t = va_flag_table(&n);

	for (size_t i = 0; i < n; i++)
		printf("%-8s 0x%08x %c %-16s %s\n", va_flag_enc_name(t[i].enc), t[i].bits,
		       t[i].letter, t[i].name, t[i].desc);
}

/* ------------------------------------------------------------------ options */

enum {
	OPT_SUMMARY = 256, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_ONLY, OPT_SKIP, OPT_THOROUGH,
	OPT_CROSS, OPT_LIST_KINDS, OPT_LIST_FLAGS, OPT_IMAGE, OPT_PREFIX, OPT_NO_DEVICE,
	OPT_ATTRS, OPT_FIX, OPT_DRY_RUN, OPT_JOURNAL, OPT_FORCE, OPT_BARRIER_MODE, OPT_PLAN,
	OPT_UNDO, OPT_RESUME, OPT_CONFIG, OPT_NO_CONFIG, OPT_HOST_ROOT, OPT_LIST, OPT_TAG_SCHEME,
	OPT_INTERACTIVE, OPT_SCRIPT, OPT_SIZE, OPT_CONVERT, OPT_FAIL_ON, OPT_USAGE, OPT_EXACT,
	OPT_PROMETHEUS, OPT_NAGIOS, OPT_JOURNALS, OPT_PRUNE, OPT_SHOW
};

static const struct option longopts[] = {
	{ "json",         no_argument,       NULL, 'j' },
	{ "null",         no_argument,       NULL, '0' },
	{ "verbose",      no_argument,       NULL, 'v' },
	{ "quiet",        no_argument,       NULL, 'q' },
	{ "summary",      no_argument,       NULL, OPT_SUMMARY },
	{ "progress",     no_argument,       NULL, OPT_PROGRESS },
	{ "no-progress",  no_argument,       NULL, OPT_NO_PROGRESS },
	{ "only",         required_argument, NULL, OPT_ONLY },
	{ "skip",         required_argument, NULL, OPT_SKIP },
	{ "thorough",     no_argument,       NULL, OPT_THOROUGH },
	{ "cross-mounts", no_argument,       NULL, OPT_CROSS },
	{ "list-kinds",   no_argument,       NULL, OPT_LIST_KINDS },
	{ "list-flags",   no_argument,       NULL, OPT_LIST_FLAGS },
	{ "image",        required_argument, NULL, OPT_IMAGE },
	{ "prefix",       required_argument, NULL, OPT_PREFIX },
	{ "no-device-read", no_argument,     NULL, OPT_NO_DEVICE },
	{ "attrs",        no_argument,       NULL, OPT_ATTRS },
	{ "fix",          no_argument,       NULL, OPT_FIX },
	{ "dry-run",      no_argument,       NULL, 'n' },
	{ "journal",      required_argument, NULL, OPT_JOURNAL },
	{ "force",        no_argument,       NULL, OPT_FORCE },
	{ "barrier-mode", required_argument, NULL, OPT_BARRIER_MODE },
	{ "plan",         required_argument, NULL, OPT_PLAN },
	{ "undo",         required_argument, NULL, OPT_UNDO },
	{ "resume",       required_argument, NULL, OPT_RESUME },
	{ "config",       required_argument, NULL, OPT_CONFIG },
	{ "no-config",    no_argument,       NULL, OPT_NO_CONFIG },
	{ "host-root",    required_argument, NULL, OPT_HOST_ROOT },
	{ "list",         no_argument,       NULL, OPT_LIST },
	{ "tag-scheme",   required_argument, NULL, OPT_TAG_SCHEME },
	{ "interactive",  no_argument,       NULL, OPT_INTERACTIVE },
	{ "script",       required_argument, NULL, OPT_SCRIPT },
	{ "size",         required_argument, NULL, OPT_SIZE },
	{ "recursive",    no_argument,       NULL, 'R' },
	{ "convert-legacy", no_argument,     NULL, OPT_CONVERT },
	{ "fail-on",      required_argument, NULL, OPT_FAIL_ON },
	{ "usage",        no_argument,       NULL, OPT_USAGE },
	{ "exact",        no_argument,       NULL, OPT_EXACT },
	{ "prometheus",   required_argument, NULL, OPT_PROMETHEUS },
	{ "nagios",       no_argument,       NULL, OPT_NAGIOS },
	{ "journals",     no_argument,       NULL, OPT_JOURNALS },
	{ "prune",        required_argument, NULL, OPT_PRUNE },
	{ "show",         required_argument, NULL, OPT_SHOW },
	{ "help",         no_argument,       NULL, 'h' },
	{ "version",      no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* The option of each long-only getopt value, when it simply sets its bit. */
static const struct { int opt; enum vaudit_opt bit; } flag_opts[] = {
	{ 'j', O_JSON }, { '0', O_NULL }, { 'v', O_VERBOSE }, { 'q', O_QUIET },
	{ OPT_SUMMARY, O_SUMMARY }, { OPT_PROGRESS, O_PROGRESS }, { OPT_NO_PROGRESS, O_PROGRESS },
	{ OPT_ONLY, O_ONLY }, { OPT_SKIP, O_SKIP }, { OPT_THOROUGH, O_THOROUGH },
	{ OPT_CROSS, O_CROSS }, { OPT_IMAGE, O_IMAGE }, { OPT_PREFIX, O_PREFIX },
	{ OPT_NO_DEVICE, O_NO_DEVICE }, { OPT_ATTRS, O_ATTRS }, { OPT_FIX, O_FIX },
	{ 'n', O_DRY_RUN }, { OPT_JOURNAL, O_JOURNAL }, { OPT_FORCE, O_FORCE },
	{ OPT_BARRIER_MODE, O_BARRIER_MODE }, { OPT_PLAN, O_PLAN }, { OPT_UNDO, O_UNDO },
	{ OPT_RESUME, O_RESUME }, { OPT_CONFIG, O_CONFIG }, { OPT_NO_CONFIG, O_NO_CONFIG },
	{ OPT_HOST_ROOT, O_HOST_ROOT }, { OPT_LIST, O_LIST }, { OPT_TAG_SCHEME, O_TAG_SCHEME },
	{ OPT_INTERACTIVE, O_INTERACTIVE }, { OPT_SCRIPT, O_SCRIPT }, { OPT_SIZE, O_SIZE },
	{ 'R', O_RECURSIVE },
	{ OPT_CONVERT, O_CONVERT }, { OPT_FAIL_ON, O_FAIL_ON }, { OPT_USAGE, O_USAGE },
	{ OPT_EXACT, O_EXACT }, { OPT_PROMETHEUS, O_PROMETHEUS }, { OPT_NAGIOS, O_NAGIOS },
	{ OPT_JOURNALS, O_JOURNALS }, { OPT_PRUNE, O_PRUNE }, { OPT_SHOW, O_SHOW },
};

/* Parse "a,b,c" into a kinds bit mask.  Return: 0 or the exit status. */
static int parse_kinds(const struct cli *c, const char *s, uint64_t *ret)
{
	char *copy = strdup(s), *save = NULL, *tok;
	uint64_t mask = 0;
	int r = 0;

	if (!copy)
		return CLI_EXIT_TROUBLE;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = va_kind_parse(tok);

		if (k < 0) {
			struct dbuf b = DBUF_INIT;

			va_quote(&b, tok, strlen(tok));
			fprintf(stderr, "%s: unknown kind %s (vaudit --list-kinds lists them)\n", c->prog,
				dbuf_str(&b));
			dbuf_release(&b);
			r = CLI_EXIT_USAGE;
			break;
		}
		mask |= VA_KIND_BIT(k);
	}
	free(copy);
	if (r == 0 && !mask)
		r = cli_bad_usage(c, "empty kind list:", s);
	*ret = mask;
	return r;
}

/* --size COLSxROWS.  Return: 0 or the exit status. */
static int parse_size(const struct cli *c, const char *arg, struct vaudit_opts *o)
{
	char *end;
	long w, h;

	errno = 0;
	w = strtol(arg, &end, 10);
	h = *end == 'x' && end > arg && end[1] >= '0' && end[1] <= '9' ? strtol(end + 1, &end, 10) : -1;
	if (errno || *end || w < 20 || w > 1000 || h < 10 || h > 1000)
		return cli_bad_usage(c, "--size takes COLSxROWS, 20x10 to 1000x1000, not", arg);
	o->cols = (int)w;
	o->rows = (int)h;
	return 0;
}

/* --barrier-mode MODE (octal).  Return: 0 or the exit status. */
static int parse_mode(const struct cli *c, const char *arg, int *ret)
{
	char *end;
	long m = strtol(arg, &end, 8);

	if (*arg == '\0' || *end || m < 0 || m > 07777)
		return cli_bad_usage(c, "--barrier-mode takes an octal mode, not", arg);
	*ret = (int)m;
	return 0;
}

/* --prune DAYS: whole days, 0 to 36500.  Return: 0 or the exit status. */
static int parse_days(const struct cli *c, const char *arg, long *ret)
{
	char *end;
	long d;

	errno = 0;
	d = strtol(arg, &end, 10);
	if (errno || *arg < '0' || *arg > '9' || *end || d > 36500)
		return cli_bad_usage(c, "--prune takes a number of days (0 to 36500), not", arg);
	*ret = d;
	return 0;
}

/* The value of one option.  Return: 0, or the exit status (-1: exit 0 now). */
static int take_option(const struct cli *c, int opt, const char *arg, struct vaudit_opts *o)
{
	int t;

	switch (opt) {
	case 'j': o->fmt = VA_FMT_JSON; return 0;
	case '0': o->fmt = VA_FMT_NULL; return 0;
	case 'v': o->writer_flags |= VA_WRITER_VERBOSE; return 0;
	case 'q': o->quiet = true; return 0;
	case 'R': o->recursive = true; return 0;
	case OPT_SUMMARY: o->summary = true; return 0;
	case OPT_PROGRESS: o->progress = 1; return 0;
	case OPT_NO_PROGRESS: o->progress = 0; return 0;
	case OPT_ONLY: return parse_kinds(c, arg, &o->only);
	case OPT_SKIP: return parse_kinds(c, arg, &o->skip);
	case OPT_THOROUGH: return 0;    /* the audit is complete without it */
	case OPT_CROSS: o->audit_flags |= VA_AUDIT_CROSS_MOUNTS; return 0;
	case OPT_IMAGE: o->image = arg; return 0;
	case OPT_PREFIX:
		o->prefix = arg;
		return arg[0] == '/' ? 0 :
		       cli_bad_usage(c, "--prefix must be an absolute path in the image:", arg);
	case OPT_NO_DEVICE:
		o->live_flags &= ~(unsigned)VA_LIVE_DEVICE_READ;
		o->audit_flags &= ~(unsigned)VA_AUDIT_TABLES;
		return 0;
	case 'n': o->dry_run = true; return 0;
	case OPT_JOURNAL: o->journal = arg; return 0;
	case OPT_FORCE: o->force = true; return 0;
	case OPT_BARRIER_MODE: return parse_mode(c, arg, &o->barrier_mode);
	case OPT_PLAN: o->plan = arg; return 0;
	case OPT_UNDO: case OPT_RESUME: o->replay = arg; return 0;
	case OPT_CONFIG: o->config_dir = arg; return 0;
	case OPT_NO_CONFIG: o->no_config = true; return 0;
	case OPT_HOST_ROOT:
		o->host_root = arg;
		return arg[0] == '/' ? 0 : cli_bad_usage(c, "--host-root must be an absolute path:", arg);
	case OPT_TAG_SCHEME:
		if ((t = va_tag_scheme_parse(arg)) < 0)
			return cli_bad_usage(c, "unknown tag scheme (auto, id24, gid16, uid16, intern, none):",
					     arg);
		o->tag_scheme = (unsigned)t;
		return 0;
	case OPT_FAIL_ON:
		if (strcmp(arg, "error") == 0)
			o->fail_on = FAIL_ON_ERROR;
		else if (strcmp(arg, "warning") == 0)
			o->fail_on = FAIL_ON_WARNING;
		else if (strcmp(arg, "never") == 0)
			o->fail_on = FAIL_ON_NEVER;
		else
			return cli_bad_usage(c, "--fail-on takes error, warning or never, not", arg);
		return 0;
	case OPT_SCRIPT: o->script = arg; return 0;
	case OPT_PROMETHEUS:
		o->prometheus = arg;
		return arg[0] ? 0 : cli_bad_usage(c, "--prometheus needs a file name", NULL);
	case OPT_NAGIOS: o->nagios = true; return 0;
	case OPT_PRUNE: return parse_days(c, arg, &o->prune_days);
	case OPT_SHOW: o->show = arg; return 0;
	case OPT_SIZE: return parse_size(c, arg, o);
	case OPT_ATTRS: case OPT_FIX: case OPT_LIST: case OPT_INTERACTIVE: case OPT_CONVERT:
	case OPT_USAGE: case OPT_EXACT: case OPT_JOURNALS:
		return 0;
	case OPT_LIST_KINDS: list_kinds(); return -1;
	case OPT_LIST_FLAGS: list_flags(); return -1;
	case 'h': usage(stdout); return -1;
	case 'V': return cli_version(c) ? CLI_EXIT_TROUBLE : -1;
	}
	return CLI_EXIT_TROUBLE;
}

/*
 * parse_options() - the command line into @o, its mode picked and checked
 * against the rules.  Return: -1 to run, else the exit status.
 */
static int parse_options(const struct cli *c, int argc, char **argv, struct vaudit_opts *o)
{
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	int opt, r;

	*o = (struct vaudit_opts){
		.fmt = VA_FMT_TEXT, .only = VA_AUDIT_ALL_KINDS, .progress = -1,
		.live_flags = VA_LIVE_DEVICE_READ, .audit_flags = VA_AUDIT_TABLES, .barrier_mode = -1,
		.cols = 80, .rows = 24, .prune_days = -1,
	};
	/* installed as vaudit-tui too: then the console is the default */
	if (argc > 0 && strcmp(base ? base + 1 : argv[0], "vaudit-tui") == 0)
		o->given |= BIT(O_INTERACTIVE);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":j0vqhVRn", longopts, NULL)) != -1) {
		if (opt == ':' || opt == '?')
			return cli_getopt_error(c, opt, argv);
		for (size_t i = 0; i < sizeof(flag_opts) / sizeof(flag_opts[0]); i++)
			if (flag_opts[i].opt == opt)
				o->given |= BIT(flag_opts[i].bit);
		if ((r = take_option(c, opt, optarg, o)) != 0)
			return r < 0 ? CLI_EXIT_OK : r;
	}
	o->roots = (const char *const *)argv + optind;
	o->nroots = (size_t)(argc - optind);
	for (size_t i = 0; i < o->nroots; i++)
		if (!o->roots[i][0])
			return cli_bad_usage(c, "empty ROOT:", "");
	/* the operands: guest names for --convert-legacy, PATHs for --attrs
	 * (any file, also in an image), else ROOTs */
	if (o->nroots)
		o->given |= BIT((o->given & BIT(O_CONVERT)) ? O_NAME :
				(o->given & (BIT(O_JOURNALS) | BIT(O_PRUNE))) ? O_DIR :
				(o->given & BIT(O_ATTRS)) ? O_PATHS : O_ROOT);
	for (size_t i = 0; i < o->nroots && (o->given & BIT(O_PATHS)) && o->image; i++)
		if (o->roots[i][0] != '/')
			return cli_bad_usage(c, "with --image, PATH must be an absolute path in the image:",
					     o->roots[i]);
	o->mode = pick_mode(o->given);
	r = cli_check_options(c, &rules, o->mode, o->given);
	if (r == 0 && (o->given & BIT(O_DIR)) && o->nroots > 1)
		return cli_bad_usage(c, "one DIR of journals at most, not also", o->roots[1]);
	if (r == 0 && o->mode == MODE_JOURNALS && o->dry_run && o->prune_days < 0)
		return cli_bad_usage(c, "--dry-run needs --prune with --journals", NULL);
	return r ? r : -1;
}

int main(int argc, char **argv)
{
	struct vaudit_opts o;
	struct cli c;
	bool nagios = false;
	int r;

	cli_init(&c, PROG);
	/* --nagios: a refused command line is UNKNOWN too, said on stdout */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (strcmp(argv[i], "--nagios") == 0)
			nagios = true;
	if (nagios)
		cli_keep_first_message();
	if ((r = parse_options(&c, argc, argv, &o)) >= 0)
		return r == CLI_EXIT_USAGE && nagios ? nagios_usage_line() : r;
	switch (o.mode) {
	case MODE_LIST:
		return run_list(&o);
	case MODE_CONVERT:
		return run_convert(&o);
	case MODE_USAGE:
		return run_usage(&o);
	case MODE_JOURNALS:
		return run_journals(&o);
	case MODE_SHOW:
		return run_show(&o);
	case MODE_UNDO:
	case MODE_RESUME:
		return run_replay(&o);
	default:
		return run_audit(&o);
	}
}
