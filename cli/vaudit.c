/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit.c - the vaudit command: options, messages, progress, exit status.
 *
 * Map of the code base (start here):
 *   core/flags.[ch]     the one flag table (ext2 bits, vserver 2.4/2.6/syscall)
 *   core/walk.[ch]      the one safe walker (openat/getdents64/statx, no symlinks)
 *   core/attr.h         attribute back ends behind an ops table
 *   core/attr-live.c      live: FS_IOC_GETFLAGS on verified fds, vserver syscall probe,
 *                         2.6 bits from the block device
 *   core/attr-image.c     image: raw i_flags through libext2fs
 *   core/image.[ch]     opening ext2/3/4 images and devices (read-only; safe write opens)
 *   core/finding.[ch]   findings model, kinds and severities
 *   core/output.c         text, NUL and JSON Lines writers
 *   core/escape.[ch]    shell/JSON/base64 encodings of hostile names
 *   core/vsconfig.[ch]  /etc/vservers as util-vserver reads it (safe resolver)
 *   core/exclude.[ch]   util-vserver exclude lists, quirks reported
 *   core/inomap.[ch]    (dev, ino) hash map for hard-linked inodes
 *   core/dbuf.[ch]      growable byte buffer
 *   audit/checks.[ch]   the rules, shared by both drivers
 *   audit/audit.[ch]    live driver: one walk callback plus the shared-inode table
 *   audit/audit-image.c offline driver: inode-table scan, directory blocks in block order
 *   audit/config-checks.c configuration checks and hash stores
 *   audit/run.[ch]      the whole audit of a run (va_audit_all) and message texts
 *   migrate/repair.[ch] the repair engine; migrate/repair-io.[ch] plans, journals
 *   cli/vaudit-fix.c  --fix, --plan, --undo, --resume
 *   cli/vaudit-list.c --list
 *   tui/                the console (--interactive, vaudit-tui): see tui/tui.h
 *   cli/vaudit.c      this file
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/run.h"
#include "core/attr.h"
#include "core/dbuf.h"
#include "core/escape.h"
#include "core/finding.h"
#include "core/flags.h"
#include "core/image.h"
#include "core/message.h"
#include "core/vsconfig.h"
#include "cli/vaudit.h"
#include "migrate/jroots.h"
#include "tui/tui.h"

#define DEFAULT_ROOT "/vservers"

/* ------------------------------------------------------------------ messages */

void quote(struct dbuf *b, const char *s, size_t len)
{
	va_quote(b, s, len);
}

void msg_reason(const char *path, size_t len, const char *what, const char *reason)
{
	struct dbuf b = DBUF_INIT;

	va_msg_text(&b, path, len, what, reason);
	fprintf(stderr, "%s: %s\n", PROG, dbuf_str(&b));
	dbuf_release(&b);
}

void msg_error(const struct va_error *e)
{
	struct dbuf b = DBUF_INIT;

	va_error_text(&b, e);
	fprintf(stderr, "%s: %s\n", PROG, dbuf_str(&b));
	dbuf_release(&b);
}


void clear_progress(struct ctx *c)
{
	if (c->progress_shown) {
		fputs("\r\033[K", stderr);
		c->progress_shown = false;
	}
}

static void on_error(const char *path, size_t len, const char *op, int err, void *user)
{
	clear_progress(user);
	/* errno values and libext2fs codes alike */
	msg_reason(path, len, op, err ? va_image_strerror(err) : NULL);
}

static void on_notice(const char *msg, void *user)
{
	struct ctx *c = user;

	if (c->quiet)
		return;
	clear_progress(c);
	fprintf(stderr, "%s: %s\n", PROG, msg);
}

static int on_finding(const struct va_finding *f, void *user)
{
	struct ctx *c = user;
	int r;

	if (c->repair) {
		r = va_repair_add(c->repair, f, &c->ropts);
		if (r < 0)
			c->repair_error = -r;
		return r;
	}
	if (c->quiet)
		return 0;
	clear_progress(c);
	r = va_writer_write(c->writer, f);
	if (r < 0) {
		c->write_error = -r;
		return r;
	}
	return 0;
}

/* --attrs: "BUIc ----i-------t-e------- path", like showattr -d plus lsattr -d. */
static void on_root_attrs(const char *path, size_t len, const struct va_attrs *at, uint32_t mode,
			  void *user)
{
	struct ctx *c = user;
	char letters[VA_FLAGS_LETTERS_MAX], vs[5];
	struct dbuf b = DBUF_INIT;

	(void)mode;
	va_flags_letters_if(at->flags, at->known & VA_KNOWN_EXT2, letters);
	dbuf_addf(&b, "%s %s ", va_vsattr_letters(at->flags, at->known & VA_KNOWN_EXT2,
						   at->known & VA_KNOWN_VS26, vs), letters);
	va_escape_shell(&b, path, len);
	dbuf_addc(&b, '\n');
	clear_progress(c);
	if (fwrite(b.buf, 1, b.len, stdout) != b.len)
		c->write_error = errno ? errno : EIO;
	dbuf_release(&b);
}

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void on_progress(const struct va_audit_stats *s, void *user)
{
	struct ctx *c = user;
	struct timespec now;
	struct dbuf g = DBUF_INIT;
	double t;

	if (!c->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed(&c->last, &now) < 0.2)
		return;
	c->last = now;
	t = elapsed(&c->start, &now);
	if (s->guest)
		va_escape_shell(&g, s->guest, s->guest_len);
	fprintf(stderr, "\r\033[K%s: %llu entries, %.0f/s, %llu findings, %.1fs%s%.40s",
		PROG, (unsigned long long)s->entries, t > 0 ? (double)s->entries / t : 0.0,
		(unsigned long long)s->findings, t, s->guest ? ", guest " : "", dbuf_str(&g));
	c->progress_shown = true;
	dbuf_release(&g);
}

/* ------------------------------------------------------------------ options */

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: %s [OPTIONS] [ROOT...]\n"
"       %s [OPTIONS] --image FILE|DEVICE [--prefix PATH]\n"
"       %s --list [--json] [--config DIR] [--host-root PREFIX]\n"
"       %s --interactive [OPTIONS] [ROOT... | --image FILE | --plan FILE]\n"
"       %s --undo|--resume JOURNAL [--dry-run] [ROOT... | --image FILE]\n"
"Audit Linux-VServer guest trees for attribute states that break the move\n"
"from 2.4 to 2.6 kernels, and the host's configuration.  Without ROOT, the\n"
"guests come from the configuration (%s, when it exists): each\n"
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
"                        state, mark, vdir, unify setup); with --json as JSON\n"
"                        Lines\n"
"      --image FILE      audit an unmounted ext2/3/4 image or block device\n"
"                        offline, read-only, with the raw on-disk flags\n"
"      --prefix PATH     with --image: the directory in the image that holds\n"
"                        the guests (default /)\n"
"      --tag-scheme S    with --image: where xid tags are on disk, for\n"
"                        tag-on-shared: auto (default), id24, gid16, uid16,\n"
"                        intern, none\n"
"      --no-device-read  live: do not read the 2.6 bits from the block device\n"
"                        of a mounted ext2/3/4 filesystem\n"
"Repair (journaled; see vaudit(8)):\n"
"      --fix             repair what the audit found (default kinds, or --only)\n"
"      --plan FILE       write the plan (no --fix), or apply it (with --fix)\n"
"      --dry-run         show what --fix/--undo/--resume would do\n"
"      --journal FILE    journal to create (default in /var/lib/vaudit)\n"
"      --force           also inside running guests, and after audit errors\n"
"      --barrier-mode M  mode (octal) for ROOT with its 2.6 barrier\n"
"      --undo JOURNAL    restore what a journal changed\n"
"      --resume JOURNAL  finish an interrupted run\n"
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
"      --attrs           no audit: show the vserver attributes (buic, upper\n"
"                        case = set, - = unknown) and flags of each ROOT and\n"
"                        guest root, like 'showattr -d ROOT ROOT/*'\n"
"Output:\n"
"  -j, --json            JSON Lines, one object per finding (schema in vaudit(8))\n"
"  -0, --null            only the path of each finding, each followed by NUL\n"
"  -v, --verbose         text: also list other names of shared inodes and why\n"
"  -q, --quiet           no findings output; the exit status tells\n"
"      --summary         counts per kind on stderr at the end\n"
"      --progress        progress on stderr (default: when stderr is a terminal)\n"
"      --no-progress     no progress\n"
"Selection:\n"
"      --only KIND[,KIND...]  report only these kinds\n"
"      --skip KIND[,KIND...]  do not report these kinds\n"
"      --thorough        read the flags of every file, not only of immutable and\n"
"                        hard-linked ones (finds legacy-notail on private files)\n"
"      --cross-mounts    also descend into other filesystems and mounts below\n"
"                        ROOT and the guest roots\n"
"Information:\n"
"      --list-kinds      list the finding kinds and exit\n"
"      --list-flags      list the flag table and exit\n"
"  -h, --help            show this help and exit\n"
"  -V, --version         show the version and exit\n"
"\n"
"Exit status: 0 no findings, 1 findings, 2 an error (bad option, missing ROOT,\n"
"unreadable entry; the walk goes on after per-entry errors).  Repairs: 0 all\n"
"done, 1 something skipped, 2 an error stopped the run.\n",
		PROG, PROG, PROG, PROG, PROG, VA_CONFIG_DIR, DEFAULT_ROOT, VA_CONFIG_DIR, DEFAULT_ROOT);
}

/* One line: "vaudit: WHAT 'ARG' (see 'vaudit --help')"; ARG is escaped. */
static int bad_usage(const char *what, const char *arg)
{
	struct dbuf b = DBUF_INIT;

	quote(&b, arg, strlen(arg));
	fprintf(stderr, "%s: %s %s (see '%s --help')\n", PROG, what, dbuf_str(&b), PROG);
	dbuf_release(&b);
	return EXIT_TROUBLE;
}

/* Parse "a,b,c" into a kinds bit mask. */
static int parse_kinds(const char *s, uint64_t *ret)
{
	char *copy = strdup(s), *save = NULL, *tok;
	uint64_t mask = 0;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int k = va_kind_parse(tok);

		if (k < 0) {
			r = bad_usage("unknown kind", tok);
			break;
		}
		mask |= UINT64_C(1) << k;
	}
	free(copy);
	if (r == 0 && !mask)
		r = bad_usage("empty kind list:", s);
	*ret = mask;
	return r;
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

/* ------------------------------------------------------------------ main */

/* ------------------------------------------------------------------ --undo, --resume */

/* Add the identity of directory @path (followed as given) to @ids. */
static int trust_dir(struct va_jroot_id **ids, size_t *n, const char *path)
{
	struct stat st;
	struct va_jroot_id *nids;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		return -(errno ? errno : ENOTDIR);
	nids = realloc(*ids, (*n + 1) * sizeof(**ids));
	if (!nids)
		return -ENOMEM;
	*ids = nids;
	nids[(*n)++] = (struct va_jroot_id){ .dev = st.st_dev, .ino = st.st_ino };
	return 0;
}

/*
 * --undo/--resume JOURNAL [ROOT...]: the directories a live or unify
 * journal may touch are the ROOTs named, else what an audit without ROOT
 * would walk now: the configuration's guest roots, their parents and hash
 * stores (@co; NULL with --no-config), else DEFAULT_ROOT.
 */
static int replay_cmd(const char *file, bool undo, const char *image, const char *prefix, bool dry_run,
		      unsigned live_flags, const char *const *roots, size_t nroots,
		      const struct va_config_opts *co)
{
	struct va_jroot_id *ids = NULL;
	struct va_config *cfg = NULL;
	size_t n = 0;
	bool configured = false;
	int r = 0;

	for (size_t i = 0; i < nroots; i++) {
		r = trust_dir(&ids, &n, roots[i]);
		if (r < 0) {
			msg_reason(roots[i], strlen(roots[i]), "ROOT", strerror(-r));
			free(ids);
			return EXIT_TROUBLE;
		}
	}
	if (!image && co && (co->cfgdir || co->host_root || !nroots)) {
		struct va_error err = VA_ERROR_INIT;
		char **parents = NULL;
		long np;

		r = va_config_load(&cfg, co, &err);
		if (r < 0 && (r != -ENOENT || co->cfgdir || co->host_root)) {
			msg_error(&err);
			va_error_release(&err);
			free(ids);
			return EXIT_TROUBLE;
		}
		va_error_release(&err);
		r = 0;
		configured = cfg != NULL;
		for (size_t g = 0; cfg && g < cfg->nguests; g++)
			if (cfg->guests[g].vdir)
				(void)trust_dir(&ids, &n, cfg->guests[g].vdir);
		for (size_t h = 0; cfg && h < cfg->nhashdirs; h++) {
			(void)trust_dir(&ids, &n, cfg->hashdirs[h].path);
			for (size_t k = 0; k < cfg->hashdirs[h].nentries; k++)
				if (cfg->hashdirs[h].entries[k].path)
					(void)trust_dir(&ids, &n, cfg->hashdirs[h].entries[k].path);
		}
		np = cfg ? va_config_roots(cfg, &parents) : 0;
		for (long i = 0; i < np; i++) {
			(void)trust_dir(&ids, &n, parents[i]);
			free(parents[i]);
		}
		free(parents);
		va_config_free(cfg);
	}
	if (!image && !nroots && !configured)
		(void)trust_dir(&ids, &n, DEFAULT_ROOT);
	r = replay_journal(file, undo, image, prefix, dry_run, live_flags, ids, n);
	free(ids);
	return r;
}

int main(int argc, char **argv)
{
	enum { OPT_SUMMARY = 256, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_ONLY, OPT_SKIP,
	       OPT_THOROUGH, OPT_CROSS, OPT_LIST_KINDS, OPT_LIST_FLAGS, OPT_IMAGE, OPT_PREFIX,
	       OPT_NO_DEVICE, OPT_ATTRS, OPT_FIX, OPT_DRY_RUN, OPT_JOURNAL, OPT_FORCE,
	       OPT_BARRIER_MODE, OPT_PLAN, OPT_UNDO, OPT_RESUME, OPT_CONFIG, OPT_NO_CONFIG,
	       OPT_HOST_ROOT, OPT_LIST, OPT_TAG_SCHEME, OPT_INTERACTIVE, OPT_SCRIPT, OPT_SIZE };
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
		{ "dry-run",      no_argument,       NULL, OPT_DRY_RUN },
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
		{ "help",         no_argument,       NULL, 'h' },
		{ "version",      no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const default_roots[] = { DEFAULT_ROOT };
	enum va_format fmt = VA_FMT_TEXT;
	unsigned wopts = 0, aflags = 0;
	uint64_t only = VA_AUDIT_ALL_KINDS, skip = 0;
	int progress = -1, summary = 0, opt, r;
	struct ctx c = { 0 };
	struct va_backend *be = NULL;
	struct va_audit_stats stats = { 0 };
	struct va_audit_args args = { 0 };
	char optbuf[3] = "-?";

	c.ropts.barrier_mode = -1;
	c.ropts.cleared_mode = 0700;
	const char *image = NULL, *prefix = NULL;
	unsigned live_flags = VA_LIVE_DEVICE_READ;
	struct va_image *img = NULL;
	bool attrs = false, fix = false, only_given = false;
	const char *undo = NULL, *resume = NULL, *plan = NULL;
	struct va_repair repair = { 0 };
	struct fix_args fa = { 0 };
	const char *config_dir = NULL, *host_root = NULL;
	bool no_config = false, list = false, tag_given = false;
	struct va_config *cfg = NULL;
	char **cfg_roots = NULL;
	const char **plan_roots = NULL;
	struct dbuf plan_src = DBUF_INIT;
	const char **running_vdirs = NULL;
	const char *base = argc > 0 ? strrchr(argv[0], '/') : NULL;
	/* installed as vaudit-tui too: then the console is the default */
	bool interactive = argc > 0 && strcmp(base ? base + 1 : argv[0], "vaudit-tui") == 0;
	bool size_given = false;
	const char *script = NULL;
	int cols = 80, rows = 24;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":j0vqhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'j': fmt = VA_FMT_JSON; break;
		case '0': fmt = VA_FMT_NULL; break;
		case 'v': wopts |= VA_WRITER_VERBOSE; break;
		case 'q': c.quiet = true; break;
		case OPT_SUMMARY: summary = 1; break;
		case OPT_PROGRESS: progress = 1; break;
		case OPT_NO_PROGRESS: progress = 0; break;
		case OPT_ONLY:
			if ((r = parse_kinds(optarg, &only)) != 0)
				return r < 0 ? EXIT_TROUBLE : r;
			only_given = true;
			break;
		case OPT_SKIP:
			if ((r = parse_kinds(optarg, &skip)) != 0)
				return r < 0 ? EXIT_TROUBLE : r;
			break;
		case OPT_THOROUGH: aflags |= VA_AUDIT_THOROUGH; break;
		case OPT_CROSS: aflags |= VA_AUDIT_CROSS_MOUNTS; break;
		case OPT_IMAGE: image = optarg; break;
		case OPT_PREFIX: prefix = optarg; break;
		case OPT_NO_DEVICE: live_flags &= ~(unsigned)VA_LIVE_DEVICE_READ; break;
		case OPT_ATTRS: attrs = true; break;
		case OPT_FIX: fix = true; break;
		case OPT_DRY_RUN: c.ropts.dry_run = true; break;
		case OPT_JOURNAL: fa.journal = optarg; break;
		case OPT_FORCE: c.ropts.force = true; break;
		case OPT_BARRIER_MODE: {
			char *end;
			long m = strtol(optarg, &end, 8);

			if (*optarg == '\0' || *end || m < 0 || m > 07777)
				return bad_usage("--barrier-mode takes an octal mode, not", optarg);
			c.ropts.barrier_mode = (int)m;
			break;
		}
		case OPT_PLAN: plan = optarg; break;
		case OPT_UNDO: undo = optarg; break;
		case OPT_RESUME: resume = optarg; break;
		case OPT_CONFIG: config_dir = optarg; break;
		case OPT_NO_CONFIG: no_config = true; break;
		case OPT_HOST_ROOT: host_root = optarg; break;
		case OPT_LIST: list = true; break;
		case OPT_TAG_SCHEME: {
			int t = va_tag_scheme_parse(optarg);

			if (t < 0)
				return bad_usage("unknown tag scheme (auto, id24, gid16, uid16, intern, none):", optarg);
			args.tag_scheme = (unsigned)t;
			tag_given = true;
			break;
		}
		case OPT_INTERACTIVE: interactive = true; break;
		case OPT_SCRIPT: script = optarg; break;
		case OPT_SIZE: {
			char *end;
			long w, h;

			errno = 0;
			w = strtol(optarg, &end, 10);
			h = *end == 'x' && end > optarg && end[1] >= '0' && end[1] <= '9' ?
			    strtol(end + 1, &end, 10) : -1;
			if (errno || *end || w < 20 || w > 1000 || h < 10 || h > 1000)
				return bad_usage("--size takes COLSxROWS, 20x10 to 1000x1000, not", optarg);
			cols = (int)w;
			rows = (int)h;
			size_given = true;
			break;
		}
		case OPT_LIST_KINDS: list_kinds(); return EXIT_CLEAN;
		case OPT_LIST_FLAGS: list_flags(); return EXIT_CLEAN;
		case 'h': usage(stdout); return EXIT_CLEAN;
		case 'V': printf("%s %s\n", PROG, PACKAGE_VERSION); return EXIT_CLEAN;
		case ':':
			return bad_usage("option needs an argument:", argv[optind - 1]);
		default:
			if (optopt) {
				optbuf[1] = (char)optopt;
				return bad_usage("unknown option", optbuf);
			}
			return bad_usage("unknown option", argv[optind - 1]);
		}
	}

	if (interactive) {
		/* the console reviews first and repairs when told: the batch
		 * repair commands and output formats have no place in it */
		const char *bad = fix ? "--fix" : fmt == VA_FMT_JSON ? "--json" :
				  fmt == VA_FMT_NULL ? "-0" : attrs ? "--attrs" :
				  list ? "--list" : undo ? "--undo" : resume ? "--resume" :
				  c.ropts.dry_run ? "--dry-run" : NULL;

		if (bad)
			return bad_usage("--interactive does not combine with", bad);
	} else if (script || size_given) {
		return bad_usage("this option needs --interactive:", script ? "--script" : "--size");
	}
	if (undo || resume) {
		if (undo && resume)
			return bad_usage("choose one of --undo and", "--resume");
		if (fix || plan || attrs)
			return bad_usage("--undo/--resume do not combine with", fix ? "--fix" : plan ? "--plan" : "--attrs");
		if (image && optind < argc)
			return bad_usage("--image takes no ROOT; use --prefix for:", argv[optind]);
		if (prefix && (!image || prefix[0] != '/'))
			return bad_usage(image ? "--prefix must be an absolute path in the image:" :
					 "--prefix needs --image:", prefix);
		if (image && (config_dir || host_root))
			return bad_usage("--image does not combine with", config_dir ? "--config" : "--host-root");
		if (no_config && (config_dir || host_root))
			return bad_usage("--no-config does not combine with", config_dir ? "--config" : "--host-root");
		if (host_root && host_root[0] != '/')
			return bad_usage("--host-root must be an absolute path:", host_root);
		return replay_cmd(undo ? undo : resume, undo != NULL, image, prefix, c.ropts.dry_run,
				  live_flags, (const char *const *)argv + optind, (size_t)(argc - optind),
				  no_config ? NULL : &(struct va_config_opts){ .host_root = host_root,
									      .cfgdir = config_dir });
	}
	if (no_config && (config_dir || host_root || list))
		return bad_usage("--no-config does not combine with",
				 config_dir ? "--config" : host_root ? "--host-root" : "--list");
	if (host_root && host_root[0] != '/')
		return bad_usage("--host-root must be an absolute path:", host_root);
	if (image && (config_dir || host_root || list))
		return bad_usage("--image does not combine with",
				 config_dir ? "--config" : host_root ? "--host-root" : "--list");
	if (host_root && optind < argc)
		return bad_usage("--host-root takes the ROOTs from the configuration; unexpected:",
				 argv[optind]);
	if (list && (fix || plan || attrs || optind < argc))
		return bad_usage("--list does not combine with",
				 optind < argc ? argv[optind] : fix ? "--fix" : plan ? "--plan" : "--attrs");
	if ((c.ropts.dry_run || fa.journal || c.ropts.force || c.ropts.barrier_mode >= 0) && !fix &&
	    !interactive)
		return bad_usage("this option needs --fix:",
				 c.ropts.dry_run ? "--dry-run" : fa.journal ? "--journal" :
				 c.ropts.force ? "--force" : "--barrier-mode");
	if (interactive) {
		/* --plan FILE: reviewed in the console, applied only when told */
	} else if (fix || plan) {
		uint64_t bad = only_given ? only & ~(uint64_t)VA_REPAIR_KINDS : 0;

		if (attrs)
			return bad_usage("--attrs does not combine with", fix ? "--fix" : "--plan");
		for (int k = 0; k < VA_KIND_COUNT; k++)
			if (bad & VA_KIND_BIT(k))
				fprintf(stderr, "%s: kind %s is never repaired: ignored\n", PROG,
					va_kind_name(k));
		only = only_given ? only & VA_REPAIR_KINDS : VA_REPAIR_DEFAULT_KINDS;
		c.repair = &repair;
		fa.plan_in = fix ? plan : NULL;
		fa.plan_out = fix ? NULL : plan;
	}
	if (image && optind < argc)
		return bad_usage("--image takes no ROOT; use --prefix for:", argv[optind]);
	if (prefix && !image)
		return bad_usage("--prefix needs --image:", prefix);
	if (tag_given && !image)
		return bad_usage("--tag-scheme needs", "--image");
	if (prefix && prefix[0] != '/')
		return bad_usage("--prefix must be an absolute path in the image:", prefix);
	/* the default configuration only when no ROOT was named: tests and
	 * scripts that name their ROOTs never pick up the host's */
	if (!image && !no_config && (config_dir || host_root || list || optind == argc)) {
		struct va_config_opts co = { .host_root = host_root, .cfgdir = config_dir };
		struct va_error err = VA_ERROR_INIT;
		bool explicit = config_dir || host_root || list;

		r = va_config_load(&cfg, &co, &err);
		if (r < 0 && (r != -ENOENT || explicit)) {
			msg_error(&err);
			va_error_release(&err);
			return EXIT_TROUBLE;
		}
		va_error_release(&err);
	}
	if (list) {
		r = list_guests(cfg, fmt == VA_FMT_JSON);
		va_config_free(cfg);
		if (r < 0) {
			fprintf(stderr, "%s: write error: %s\n", PROG, strerror(-r));
			return EXIT_TROUBLE;
		}
		return EXIT_CLEAN;
	}
	if (image) {
		static const char *image_root[1];

		image_root[0] = prefix ? prefix : "/";
		args.roots = image_root;
		args.nroots = 1;
	} else if (optind < argc) {
		args.roots = (const char *const *)argv + optind;
		args.nroots = (size_t)(argc - optind);
	} else if (fa.plan_in && !config_dir && !host_root) {
		/* --fix --plan FILE alone: the ROOTs the plan was made of */
		r = fix_plan_roots(fa.plan_in, &plan_src, &plan_roots, &args.nroots);
		if (r) {
			va_config_free(cfg);
			dbuf_release(&plan_src);
			return r;
		}
		args.roots = plan_roots;
	} else if (cfg) {
		long n = va_config_roots(cfg, &cfg_roots);

		if (n < 0) {
			fprintf(stderr, "%s: %s\n", PROG, strerror(-n));
			va_config_free(cfg);
			return EXIT_TROUBLE;
		}
		if (n == 0 && !c.quiet)
			msg_reason(cfg->cfgdir, strlen(cfg->cfgdir),
				   "no guest has a vdir that resolves: only the configuration is checked", NULL);
		args.roots = (const char *const *)cfg_roots;
		args.nroots = (size_t)n;
	} else {
		args.roots = default_roots;
		args.nroots = 1;
	}
	for (size_t i = 0; i < args.nroots; i++)
		if (!args.roots[i][0])
			return bad_usage("empty ROOT:", "");

	c.progress = progress < 0 ? isatty(STDERR_FILENO) : progress;
	clock_gettime(CLOCK_MONOTONIC, &c.start);
	c.last = c.start;

	if (image) {
		const char *why;
		errcode_t err = va_image_open(image, fix && !c.ropts.dry_run ? VA_IMAGE_WRITE : 0,
					      &img, &why);

		if (err) {
			if (why)
				msg_reason(image, strlen(image), why, NULL);
			else
				msg_reason(image, strlen(image), "cannot open as ext2/3/4",
					   va_image_strerror(err));
			return EXIT_TROUBLE;
		}
		{
			uint64_t ino;

			err = va_image_lookup_dir(img, args.roots[0], &ino);
			if (err) {
				struct dbuf what = DBUF_INIT;

				dbuf_adds(&what, "prefix ");
				quote(&what, args.roots[0], strlen(args.roots[0]));
				msg_reason(image, strlen(image), dbuf_str(&what), va_image_strerror(err));
				dbuf_release(&what);
				va_image_close(img);
				return EXIT_TROUBLE;
			}
		}
		/* the console shows it itself */
		if (img->needs_recovery && !c.quiet && !interactive)
			msg_reason(image, strlen(image),
				   "the journal needs recovery: recent changes may be missing", NULL);
		r = va_backend_image_new(&be, img);
	} else {
		r = va_backend_live_new(&be, live_flags);
	}
	if (r < 0 || (r = va_writer_new(&c.writer, fmt, stdout, wopts)) < 0) {
		fprintf(stderr, "%s: %s\n", PROG, strerror(-r));
		va_backend_free(be);
		va_image_close(img);
		r = EXIT_TROUBLE;
		goto out;
	}
	if (!interactive) {
		be->notice = on_notice;
		be->notice_user = &c;
	}
	if (!img && be->vs26_errno && !c.quiet && !interactive)
		fprintf(stderr, "%s: the vserver iattr syscall is not available on this kernel (%s): "
			"2.6 attributes (barrier, iunlink, cow) cannot be read live%s\n",
			PROG, strerror(be->vs26_errno),
			(live_flags & VA_LIVE_DEVICE_READ) ? "; reading them from block devices instead" : "");

	args.flags = aflags;
	args.kinds = only & ~skip;
	args.backend = be;
	args.config = cfg;
	if (cfg) {
		/* the repair refuses the guests the configuration says run */
		running_vdirs = calloc(cfg->nguests + 1, sizeof(*running_vdirs));
		if (!running_vdirs) {
			r = EXIT_TROUBLE;
			goto out;
		}
		for (size_t i = 0, n = 0; i < cfg->nguests; i++)
			if (cfg->guests[i].vdir && cfg->guests[i].running == VA_RUN_RUNNING)
				running_vdirs[n++] = cfg->guests[i].vdir;
		c.ropts.running_vdirs = running_vdirs;
	}

	fa.image = image;
	fa.img = img;
	fa.roots = args.roots;
	fa.nroots = args.nroots;
	if (interactive) {
		struct tui_session s = {
			.prog = PROG, .args = &args, .img = img, .image = image,
			.roots = args.roots, .nroots = args.nroots, .journal = fa.journal,
			.ropts = &c.ropts, .plan = plan, .script = script, .cols = cols, .rows = rows,
		};

		r = tui_main(&s);
		goto out;
	}
	args.hooks.finding = on_finding;
	args.hooks.error = on_error;
	args.hooks.progress = on_progress;
	args.hooks.user = &c;
	if (fa.plan_in) {
		r = fix_from_plan(&c, &fa);
		if (r)
			goto out;
	} else if (attrs) {
		r = va_list_roots(&args, img, on_root_attrs);
		if (r == -EIO)
			stats.errors++, r = 0;
	} else {
		struct va_error ie = VA_ERROR_INIT;

		r = va_audit_all(&args, img, &stats, &ie);
		if (va_error_is_set(&ie)) {
			clear_progress(&c);
			msg_error(&ie);
			va_error_release(&ie);
			stats.errors++;
			r = 0;
		}
	}
	clear_progress(&c);
	if (fflush(stdout) != 0 || ferror(stdout))
		c.write_error = c.write_error ? c.write_error : errno ? errno : EIO;
	if (c.write_error)
		fprintf(stderr, "%s: write error: %s\n", PROG, strerror(c.write_error));
	else if (r < 0)
		fprintf(stderr, "%s: %s\n", PROG, strerror(-r));

	if (summary) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		fprintf(stderr, "%s: %llu entries, %llu flag reads, %llu findings, %llu errors, %.2fs\n",
			PROG, (unsigned long long)stats.entries, (unsigned long long)stats.flag_reads,
			(unsigned long long)stats.findings, (unsigned long long)stats.errors,
			elapsed(&c.start, &now));
		for (int k = 0; k < VA_KIND_COUNT; k++)
			if (stats.by_kind[k])
				fprintf(stderr, "%s:   %-29s %llu\n", PROG, va_kind_name(k),
					(unsigned long long)stats.by_kind[k]);
	}

	if (c.repair && r == 0 && !c.write_error) {
		r = fix_after_audit(&c, be, &fa, &stats);
		goto out;
	}
	r = (r < 0 || c.write_error || stats.errors) ? EXIT_TROUBLE :
	    stats.problems ? EXIT_FINDINGS : EXIT_CLEAN;
out:
	for (size_t i = 0; cfg_roots && cfg_roots[i]; i++)
		free(cfg_roots[i]);
	free(cfg_roots);
	free(plan_roots);
	dbuf_release(&plan_src);
	free(running_vdirs);
	va_config_free(cfg);
	va_repair_release(&repair);
	va_writer_free(c.writer);
	va_backend_free(be);
	if (va_image_close(img) && img) {
		msg_reason(image, strlen(image), "closing the image failed", NULL);
		r = EXIT_TROUBLE;
	}
	return r;
}
