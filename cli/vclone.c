/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vclone.c - the vclone command: a new guest tree made from an existing
 * one, its unified files hard-linked, everything else copied (util-
 * vserver's vclone, `vserver NAME build -m clone`).  Every entry made is
 * journaled for `vaudit --undo`.
 *
 * This file reads the command line and says what happens; the engine is
 * va_clone() (migrate/clone/clone.h), the options it shares with vunify
 * and vhashify come from cli/unify-cli.c, and --xid's tagger from
 * core/xidtag.h.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/clone-report.h"
#include "cli/unify-cli.h"
#include "core/dbuf.h"
#include "core/escape.h"
#include "core/vsconfig.h"
#include "core/xidtag.h"
#include "migrate/clone/clone.h"
#include "migrate/unify/unify.h"

#define PROG "vclone"

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: %s [-nv] [OPTIONS] SRC DST\n"
"Make the new guest tree DST from the guest tree SRC: the unified files of\n"
"SRC (immutable + iunlink as --flags says, or entries of a hash store) get\n"
"a new name in DST, everything else is copied with owner, mode, times and\n"
"extended attributes (ACLs, capabilities); SRC's own hard links stay hard\n"
"links.  DST must not exist or be an empty directory, on SRC's filesystem.\n"
"Every entry made is journaled: 'vaudit --undo JOURNAL' removes them again.\n"
"\n"
"SRC is a directory (a path with a '/', such as ./web), or the name of a\n"
"guest in the configuration (%s): then its vdir, its exclude list\n"
"and its hash store are used.  In the exclude list, a '~' entry is left\n"
"out of DST, an excluded path is copied (never linked), and so is\n"
"everything below an excluded directory.\n"
"\n"
"Options:\n"
"  -n, --dry-run         show what would be made; change nothing, write no\n"
"                        journal\n"
"  -v, --verbose         a line per entry made (or that would be made)\n"
"      --flags=MODE      the protection that marks a unified file: auto\n"
"                        (default: v26 where the kernel has the vserver\n"
"                        syscall, else an error), v26, legacy (0x10|0x8000),\n"
"                        immutable (0x10), none (only hash store entries)\n"
"      --exclude=FILE    the exclude list (\"\" for none; default: the guest's,\n"
"                        or none when SRC is a directory)\n"
"      --store=DIR       a hash store: files sharing an inode with one of its\n"
"                        entries are unified (repeatable; default: the\n"
"                        guest's store, or none when SRC is a directory)\n"
"      --xid=N           tag what is copied or made (not the unified files\n"
"                        linked) with context N, 2 to 49151: with the vserver\n"
"                        syscall through the kernel (a filesystem mounted with\n"
"                        tagging), else by writing the owner ids of\n"
"                        --tag-scheme\n"
"      --tag-scheme=S    with --xid on a kernel without the vserver syscall\n"
"                        (required there, refused with it): how a tagging\n"
"                        kernel reads the tag from the raw uid/gid: id24,\n"
"                        gid16 or uid16 (intern cannot be written to a\n"
"                        mounted filesystem)\n"
"      --journal=FILE    the journal to create (default\n"
"                        %s/clone-YYYYmmdd-HHMMSS-PID.journal,\n"
"                        removed at the end when it holds no change)\n"
"      --json            JSON Lines on stdout: one object per entry, then a\n"
"                        summary object (schema in vaudit(8))\n"
"      --config=DIR      the configuration directory (default %s)\n",
		PROG, VA_CONFIG_DIR, VA_JOURNAL_DIR, VA_CONFIG_DIR);
	ucli_help_run(fp);
	fputs(
"\n"
"Exit status: 0 the clone was made, or a dry run (-n) would make nothing;\n"
"1 a dry run would make something; 2 an error (SRC or DST refused, --xid\n"
"refused, an entry that failed, the journal); 64 a usage error.\n", fp);
}

enum { OPT_XID = CLONE_OPT_NEXT, OPT_TAG_SCHEME };

struct run {
	struct ucli c;
	const char *src_arg, *dst_arg;
	const char *exclude;            /* --exclude, or NULL */
	const char **stores;            /* --store, then the guest's */
	size_t nstores;
	char *src, *dst;                /* real paths (DST: its parent's, and its name) */
	struct va_config *cfg;
	struct va_excl_list list;
	const struct va_excl_list *excl;
	struct va_clone_stats st;
	unsigned long xid;              /* --xid, 0 for none */
	int scheme;                     /* --tag-scheme, VA_TAG_AUTO when not given */
	struct va_tagger *tagger;
};

/* ------------------------------------------------------------------ what happens */

static void on_event(const struct va_clone_event *ev, const struct va_clone_stats *st, void *user)
{
	struct run *rn = user;

	clone_report_event(&rn->c, ev, st);
}

static void summary(struct run *rn)
{
	const struct va_clone_stats *s = &rn->st;
	struct ucli *c = &rn->c;
	double t = cli_elapsed(&c->cli);
	struct dbuf b = DBUF_INIT;

	cli_clear_progress(&c->cli);
	if (c->json) {
		cli_json_head(&b, &c->cli, "summary");
		dbuf_addf(&b, ",\"vaudit_version\":\"%s\",\"event\":\"summary\",\"dry_run\":%s",
			  PACKAGE_VERSION, c->dry_run ? "true" : "false");
		clone_report_counts(&b, s, true, c->dry_run);
		ucli_journal_summary(c, &b, true);
		dbuf_addf(&b, ",\"changed\":%s,\"elapsed\":%.3f}\n",
			  !c->dry_run && clone_made_any(s) ? "true" : "false", t);
	} else {
		dbuf_addf(&b, "%s: ", PROG);
		clone_report_counts(&b, s, false, c->dry_run);
		dbuf_addf(&b, ", %.1fs\n", t);
		if (s->n[VA_CLONE_ERROR])
			dbuf_addf(&b, "%s: %llu error%s (reported above)\n", PROG,
				  (unsigned long long)s->n[VA_CLONE_ERROR], s->n[VA_CLONE_ERROR] == 1 ? "" : "s");
		if (rn->tagger && s->n[VA_CLONE_ERROR] == 0)
			dbuf_addf(&b, "%s: %s tagged xid %lu (%s)\n", PROG,
				  c->dry_run ? "what is made would be" : "what was made is", rn->xid,
				  rn->tagger->scheme == VA_TAG_AUTO ? "through the vserver syscall" :
				  va_tag_scheme_name(rn->tagger->scheme));
		ucli_journal_summary(c, &b, false);
	}
	cli_write(&c->cli, b.buf, b.len);
	dbuf_release(&b);
}

/* ------------------------------------------------------------------ set-up */

/* DST: its parent's real path and its name (it need not exist). */
static int resolve_dst(struct run *rn)
{
	struct ucli *c = &rn->c;
	char *copy = strdup(rn->dst_arg), *slash, *parent = NULL;
	const char *name, *dir;
	size_t n;
	int status;

	if (!copy) {
		cli_say(&c->cli, "%s", strerror(ENOMEM));
		return CLI_EXIT_TROUBLE;
	}
	for (n = strlen(copy); n > 1 && copy[n - 1] == '/'; n--)
		copy[n - 1] = '\0';
	slash = strrchr(copy, '/');
	name = slash ? slash + 1 : copy;
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
		cli_msg(&c->cli, rn->dst_arg, "refused, nothing changed", "DST must name a directory entry");
		free(copy);
		return CLI_EXIT_TROUBLE;
	}
	dir = slash ? (slash == copy ? "/" : copy) : ".";
	if (slash && slash != copy)
		*slash = '\0';
	status = ucli_realdir(c, dir, "DST's parent directory", &parent);
	if (status == 0 && asprintf(&rn->dst, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "", name) < 0) {
		rn->dst = NULL;
		status = CLI_EXIT_TROUBLE;
	}
	free(parent);
	free(copy);
	return status;
}

static int setup(struct run *rn)
{
	struct ucli *c = &rn->c;
	int status;

	if ((status = clone_exclude(c, rn->exclude, &rn->list, &rn->excl)))
		return status;
	if (strchr(rn->src_arg, '/'))
		status = ucli_realdir(c, rn->src_arg, "SRC", &rn->src);
	else
		status = ucli_guest_tree(c, &rn->cfg, rn->src_arg, &rn->src, rn->exclude ? NULL : &rn->excl,
					 rn->nstores ? NULL : &rn->stores, &rn->nstores);
	if (status == 0)
		status = resolve_dst(rn);
	return status;
}

/* The pre-pass of --xid: the first owner that does not fit the scheme, and how many. */
struct misfit {
	struct dbuf path, what;
	unsigned long n;
};

static void on_misfit(const struct va_clone_event *ev, const struct va_clone_stats *st, void *user)
{
	struct misfit *m = user;

	(void)st;
	if (ev->action != VA_CLONE_ERROR || ev->err != ERANGE)
		return;
	if (m->n++ == 0) {
		if (ev->src)
			dbuf_add(&m->path, ev->src, ev->src_len);
		else
			dbuf_add(&m->path, ev->path, ev->path_len);
		dbuf_adds(&m->what, ev->what ? ev->what : "");
	}
}

/*
 * --xid: the tagger (refused before anything is written when this kernel
 * or --tag-scheme cannot tag), and with the raw tagger a dry run of the
 * clone first: an owner the scheme cannot keep refuses the whole clone.
 * Return: 0 or the exit status after a message.
 */
static int tag_setup(struct run *rn)
{
	struct ucli *c = &rn->c;
	struct misfit m = { DBUF_INIT, DBUF_INIT, 0 };
	struct va_clone_hooks h = { .event = on_misfit, .user = &m };
	struct va_clone_stats st = { 0 };
	struct va_clone_opts o;
	struct dbuf where = DBUF_INIT, what = DBUF_INIT;
	const char *why = NULL;
	struct stat sb;
	int r, status = 0;

	/* DST, or where it is made */
	if (stat(rn->dst, &sb) == 0)
		r = dbuf_adds(&where, rn->dst);
	else
		r = dbuf_add(&where, rn->dst, (size_t)(strrchr(rn->dst, '/') - rn->dst));
	if (r == 0 && where.len == 0)
		r = dbuf_adds(&where, "/");
	if (r == 0)
		r = dbuf_addf(&what, "--xid %lu: refused, nothing changed", rn->xid);
	if (r < 0) {
		cli_say(&c->cli, "%s", strerror(-r));
		status = CLI_EXIT_TROUBLE;
		goto out;
	}
	r = va_tagger_new((uint32_t)rn->xid, (enum va_tag_scheme)rn->scheme, where.buf, &rn->tagger, &why);
	if (r < 0) {
		cli_msg(&c->cli, rn->dst, what.buf, why ? why : strerror(-r));
		status = CLI_EXIT_TROUBLE;
		goto out;
	}
	if (rn->tagger->scheme == VA_TAG_AUTO || c->dry_run)
		goto out;       /* the kernel's own scheme; a dry run says each misfit itself */
	clone_opts(&o, c, NULL, rn->excl, rn->stores, rn->nstores);
	o.dry_run = true;
	o.h = &h;
	o.tag = rn->tagger;
	r = va_clone(rn->src, rn->dst, &o, &st);
	if (r < 0) {
		cli_msg(&c->cli, rn->src, "cannot look through it for --xid", strerror(-r));
		status = CLI_EXIT_TROUBLE;
	} else if (m.n) {
		if (m.n > 1)
			dbuf_addf(&m.what, " (and %lu more)", m.n - 1);
		cli_msgn(&c->cli, dbuf_str(&m.path), m.path.len, what.buf, dbuf_str(&m.what));
		status = CLI_EXIT_TROUBLE;
	}
out:
	dbuf_release(&m.path);
	dbuf_release(&m.what);
	dbuf_release(&where);
	dbuf_release(&what);
	return status;
}

/* A refusal of va_clone_check() said.  Return: the exit status. */
static int refused(struct ucli *c, const char *dst, int r)
{
	const char *why = r == -EEXIST ? "it exists and is not an empty directory" :
			  r == -EINVAL ? "it is SRC or lies inside it" :
			  r == -EXDEV ? "it is not on SRC's filesystem" :
			  r == -ENOTDIR ? "SRC is not a directory" : strerror(-r);

	cli_msg(&c->cli, dst, "refused, nothing changed", why);
	return CLI_EXIT_TROUBLE;
}

static int run_clone(struct run *rn)
{
	struct ucli *c = &rn->c;
	struct va_clone_hooks h = { .event = on_event, .user = rn };
	struct va_clone_opts o;
	struct dbuf roots = DBUF_INIT;
	const char *paths[2];
	int status, r;

	if ((status = ucli_start(c)))
		return status;
	if ((r = va_clone_check(rn->src, rn->dst, false)) < 0)
		return refused(c, rn->dst, r);
	if (rn->xid && (status = tag_setup(rn)))
		return status;
	if (!c->dry_run) {
		r = va_clone_roots(rn->src, rn->dst, &roots);
		if (r < 0) {
			cli_msg(&c->cli, rn->dst, "cannot look at it", strerror(-r));
			dbuf_release(&roots);
			return CLI_EXIT_TROUBLE;
		}
		paths[0] = rn->src;
		paths[1] = roots.buf + strlen(rn->src) + 1;
		roots.buf[strlen(rn->src)] = '\0';
		status = ucli_journal_open(c, paths, 2);
		dbuf_release(&roots);
		if (status)
			return status;
	}
	clone_opts(&o, c, c->j, rn->excl, rn->stores, rn->nstores);
	o.h = &h;
	o.tag = rn->tagger;
	r = va_clone(rn->src, rn->dst, &o, &rn->st);
	if (c->j)
		r = va_journal_finish(c->j, r);
	ucli_journal_drop(c);
	if (r == -EEXIST || r == -EINVAL || r == -EXDEV || r == -ENOTDIR)
		refused(c, rn->dst, r);
	else if (r < 0)
		cli_msg(&c->cli, rn->dst, "the clone stopped", strerror(-r));
	if (r == 0 || clone_made_any(&rn->st)) {
		summary(rn);
	} else if (c->jremoved && !c->json) {
		struct dbuf b = DBUF_INIT;

		ucli_journal_summary(c, &b, false);
		cli_write(&c->cli, b.buf, b.len);
		dbuf_release(&b);
	}
	if (cli_finish_output(&c->cli) || r < 0 || rn->st.n[VA_CLONE_ERROR])
		return CLI_EXIT_TROUBLE;
	return c->dry_run && clone_made_any(&rn->st) ? CLI_EXIT_FINDINGS : CLI_EXIT_OK;
}

/* The command line into @rn.  Return: -1 to run, else the exit status. */
static int parse_options(struct run *rn, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLONE_LONGOPTS,
		{ "xid",         required_argument, NULL, OPT_XID },
		{ "tag-scheme",  required_argument, NULL, OPT_TAG_SCHEME },
		{ NULL, 0, NULL, 0 },
	};
	struct ucli *c = &rn->c;
	int opt, status;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":nvh", longopts, NULL)) != -1) {
		if ((status = clone_option(c, opt, optarg, &rn->exclude, &rn->stores, &rn->nstores)) < 0)
			return CLI_EXIT_TROUBLE;
		if (status)
			continue;
		if (opt == OPT_XID) {
			char *end;

			errno = 0;
			rn->xid = strtoul(optarg, &end, 10);
			if (errno || *optarg < '0' || *optarg > '9' || *end ||
			    rn->xid < VA_XID_STATIC_MIN || rn->xid > VA_XID_STATIC_MAX)
				return cli_bad_usage(&c->cli, "--xid takes a guest's static context, 2 to 49151, not",
						     optarg);
			continue;
		}
		if (opt == OPT_TAG_SCHEME) {
			if ((rn->scheme = va_tag_scheme_parse(optarg)) < 0)
				return cli_bad_usage(&c->cli, "unknown --tag-scheme (id24, gid16, uid16, intern, none):",
						     optarg);
			continue;
		}
		if ((status = ucli_option(c, opt, optarg, argv)) >= 0)
			return status;
	}
	if (argc - optind != 2)
		return cli_bad_usage(&c->cli, argc - optind < 2 ? "SRC and DST are needed" :
				     "only SRC and DST; unexpected:", argc - optind < 2 ? NULL : argv[optind + 2]);
	if (rn->scheme != VA_TAG_AUTO && !rn->xid)
		return cli_bad_usage(&c->cli, "--tag-scheme is only for --xid", NULL);
	rn->src_arg = argv[optind];
	rn->dst_arg = argv[optind + 1];
	return -1;
}

int main(int argc, char **argv)
{
	struct run rn = { 0 };
	bool run;
	int status;

	ucli_init(&rn.c, PROG, usage);
	rn.c.jbackend = VA_JOURNAL_CLONE;
	rn.c.jstem = "clone";
	rn.c.flags_recognise = true;
	rn.scheme = VA_TAG_AUTO;
	status = parse_options(&rn, argc, argv);
	run = status < 0;       /* else --help, --version or a usage error: done */
	if (run)
		status = setup(&rn);
	if (run && status == 0)
		status = run_clone(&rn);
	va_tagger_free(rn.tagger);
	free(rn.stores);
	free(rn.src);
	free(rn.dst);
	va_excl_release(&rn.list);
	va_config_free(rn.cfg);
	ucli_free(&rn.c);
	return status;
}
