/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vcopy.c - the vcopy command: bring an existing guest tree DST to the
 * state of the guest tree SRC (util-vserver's vcopy): the files of DST
 * identical to SRC's become names of SRC's inodes, as vunify links them
 * (the unify engine, DST the target and SRC its one reference), then what
 * SRC has and DST lacks is made as vclone makes it (the clone engine in
 * its fill mode).  One journal (backend "vcopy") holds both engines'
 * records, the links' first; one `vaudit --undo` takes the run back,
 * the entries made first, then the links.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cli/clone-report.h"
#include "cli/unify-cli.h"
#include "core/dbuf.h"
#include "core/escape.h"
#include "core/inomap.h"
#include "core/vsconfig.h"
#include "migrate/clone/clone.h"
#include "migrate/unify/unify.h"

#define PROG "vcopy"

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: %s [-nv] [OPTIONS] DST SRC\n"
"Bring the existing guest tree DST to the state of the guest tree SRC:\n"
"a file of DST identical to the file of the same path in SRC (vunify's\n"
"rules: mode, owner, group, size, mtime, content, extended attributes)\n"
"becomes a name of SRC's inode, protected as --flags says; then what SRC\n"
"has and DST lacks is made as vclone makes it (unified files linked, the\n"
"rest copied with owner, mode, times and extended attributes).  A file of\n"
"DST that differs from SRC's, and what only DST has, are left alone.\n"
"One journal records both; 'vaudit --undo JOURNAL' takes the run back\n"
"(a vcopy cut short is undone, then run again: never resumed).\n"
"\n"
"DST and SRC are directories (paths with a '/', such as ./web), or names\n"
"of guests in the configuration (%s).  The exclude list (--exclude,\n"
"else DST's, else SRC's) applies to both trees: an excluded path is not\n"
"linked (when DST lacks it, it is copied), a '~' entry is neither linked\n"
"nor made.\n"
"\n"
"Options:\n"
"  -n, --dry-run         show what would be linked and made; change nothing,\n"
"                        write no journal\n"
"  -v, --verbose         a line per entry made, and vunify's lines (repeat\n"
"                        for more, as vunify -v; -vv also each entry DST\n"
"                        has already)\n"
"      --flags=MODE      the protection of the shared inodes, which also\n"
"                        marks the unified files of SRC: auto (default: v26\n"
"                        where the kernel has the vserver syscall, else an\n"
"                        error), v26, legacy (0x10|0x8000), immutable (0x10),\n"
"                        none\n"
"      --exclude=FILE    the exclude list (\"\" for none)\n"
"      --store=DIR       a hash store: a file of SRC sharing an inode with one\n"
"                        of its entries is unified (repeatable; default: the\n"
"                        store of SRC when it is a guest)\n"
"      --journal=FILE    the journal of the run, the links and the entries\n"
"                        made (default\n"
"                        %s/vcopy-YYYYmmdd-HHMMSS-PID.journal,\n"
"                        removed at the end when it holds no change)\n"
"      --json            JSON Lines on stdout: one object per link and per\n"
"                        entry made, then a summary object (schema in\n"
"                        vaudit(8))\n"
"      --config=DIR      the configuration directory (default %s)\n",
		PROG, VA_CONFIG_DIR, VA_JOURNAL_DIR, VA_CONFIG_DIR);
	ucli_help_run(fp);
	fputs(
"\n"
"Exit status: 0 done, or a dry run (-n) would change nothing; 1 a dry run\n"
"would link or make something; 2 an error (DST or SRC refused, a file that\n"
"failed, a journal); 64 a usage error.\n", fp);
}

struct run {
	struct ucli c;
	const char *dst_arg, *src_arg;
	const char *exclude;            /* --exclude, or NULL */
	const char **stores;            /* --store, or SRC's */
	size_t nstores;
	char *dst, *src;                /* real paths */
	struct va_config *cfg;
	struct va_excl_list list;
	const struct va_excl_list *excl;
	struct va_clone_stats st;       /* the entries made */
	const struct va_uhooks *uhooks; /* what the links are said with */
	struct va_inomap linked;        /* a dry run: the inodes the links would protect */
	struct stat src_st;
	int fatal;
};

/* ------------------------------------------------------------------ what happens */

static void on_link(const struct va_uevent *ev, const struct va_ustats *st, void *user)
{
	struct run *rn = user;
	struct stat m;

	rn->uhooks->event(ev, st, rn->uhooks->user);
	/* the inode a dry run's link would protect, for the entries made after */
	if (ev->dry_run && ev->type == VA_UEV_LINK && ev->master && rn->c.protect != VA_PROTECT_NONE &&
	    lstat(ev->master, &m) == 0 && va_inomap_insert(&rn->linked, m.st_dev, m.st_ino, 1) < 0)
		rn->fatal = -ENOMEM;
}

static void on_made(const struct va_clone_event *ev, const struct va_clone_stats *st, void *user)
{
	struct run *rn = user;

	clone_report_event(&rn->c, ev, st);
}

/* The summary's part for the entries made. */
static void summary_made(struct ucli *c, struct dbuf *b, bool json)
{
	struct run *rn = (struct run *)c;       /* c is the first member */

	if (json) {
		dbuf_adds(b, ",\"made\":{\"dry_run\":");
		dbuf_adds(b, c->dry_run ? "true" : "false");
		clone_report_counts(b, &rn->st, true, c->dry_run);
		/* the run's one journal (the summary's "journal" too) */
		va_json_field(b, "journal", c->j ? c->jfile.buf : NULL, c->j ? c->jfile.len : 0);
		dbuf_addc(b, '}');
		return;
	}
	clone_report_counts(b, &rn->st, false, c->dry_run);
	if (rn->st.n[VA_CLONE_ERROR])
		dbuf_addf(b, ", %llu failed", (unsigned long long)rn->st.n[VA_CLONE_ERROR]);
}

/* ------------------------------------------------------------------ set-up */

/* DST or SRC (@arg): a directory, or a guest of the configuration. */
static int tree(struct run *rn, const char *arg, const char *what, char **ret, bool is_src)
{
	struct ucli *c = &rn->c;

	if (strchr(arg, '/'))
		return ucli_realdir(c, arg, what, ret);
	return ucli_guest_tree(c, &rn->cfg, arg, ret, rn->exclude || rn->excl ? NULL : &rn->excl,
			       is_src && !rn->nstores ? &rn->stores : NULL, &rn->nstores);
}

static int setup(struct run *rn)
{
	struct ucli *c = &rn->c;
	int status;

	if ((status = clone_exclude(c, rn->exclude, &rn->list, &rn->excl)))
		return status;
	if ((status = tree(rn, rn->dst_arg, "DST", &rn->dst, false)))
		return status;
	return tree(rn, rn->src_arg, "SRC", &rn->src, true);
}

/* A refusal: one line, exit 2. */
static int refused(struct ucli *c, const char *path, int r)
{
	const char *why = r == -EINVAL ? "DST and SRC are one tree, or one lies inside the other" :
			  r == -EXDEV ? "DST is not on SRC's filesystem" : strerror(-r);

	cli_msg(&c->cli, path, "refused, nothing changed", why);
	return CLI_EXIT_TROUBLE;
}

static int run_vcopy(struct run *rn)
{
	struct ucli *c = &rn->c;
	struct va_utree target = { rn->dst, rn->dst_arg, rn->excl }, ref = { rn->src, rn->src_arg, rn->excl };
	const char *paths[2] = { rn->dst, rn->src };
	struct va_uhooks lh = { .event = on_link, .user = rn };
	struct va_clone_hooks mh = { .event = on_made, .user = rn };
	struct va_clone_opts co;
	struct va_uopts uo;
	struct va_ustats ust;
	int status, r;

	if ((status = ucli_start(c)))
		return status;
	/* neither tree inside the other, one filesystem */
	if ((r = va_clone_check(rn->src, rn->dst, true)) < 0)
		return refused(c, rn->dst, r);
	if ((r = va_clone_check(rn->dst, rn->src, true)) < 0)
		return refused(c, rn->src, r);
	/* one journal: the links' records, then the entries made */
	if ((status = ucli_journal_open(c, paths, 2)))
		return status;
	/* the links: vunify with SRC as the reference */
	ucli_uopts(c, &uo);
	rn->uhooks = uo.h;
	uo.h = &lh;
	r = va_vunify(&target, &ref, 1, false, &uo, &ust);
	if (r == 0)
		r = rn->fatal;
	ucli_ran(c, &ust, r);
	/* then what DST lacks */
	if (r == 0) {
		clone_opts(&co, c, c->j, rn->excl, rn->stores, rn->nstores);
		co.fill = true;
		co.unified_inodes = c->dry_run ? &rn->linked : NULL;
		co.h = &mh;
		r = va_clone(rn->src, rn->dst, &co, &rn->st);
		if (c->j)
			r = va_journal_finish(c->j, r);
		if (r < 0)
			cli_msg(&c->cli, rn->dst, "making what it lacks stopped", strerror(-r));
	}
	c->summary_more = summary_made;
	c->more_changes = clone_made_any(&rn->st);
	return ucli_finish(c, false, r < 0 || rn->st.n[VA_CLONE_ERROR] ? CLI_EXIT_TROUBLE : 0);
}

/* The command line into @rn.  Return: -1 to run, else the exit status. */
static int parse_options(struct run *rn, int argc, char **argv)
{
	static const struct option longopts[] = {
		CLONE_LONGOPTS,
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
		if ((status = ucli_option(c, opt, optarg, argv)) >= 0)
			return status;
	}
	if (argc - optind != 2)
		return cli_bad_usage(&c->cli, argc - optind < 2 ? "DST and SRC are needed" :
				     "only DST and SRC; unexpected:", argc - optind < 2 ? NULL : argv[optind + 2]);
	rn->dst_arg = argv[optind];
	rn->src_arg = argv[optind + 1];
	return -1;
}

int main(int argc, char **argv)
{
	struct run rn = { 0 };
	bool run;
	int status;

	ucli_init(&rn.c, PROG, usage);
	rn.c.jstem = "vcopy";
	rn.c.jbackend = VA_JOURNAL_VCOPY;
	status = parse_options(&rn, argc, argv);
	run = status < 0;       /* else --help, --version or a usage error: done */
	if (run)
		status = setup(&rn);
	if (run && status == 0)
		status = run_vcopy(&rn);
	va_inomap_release(&rn.linked);
	free(rn.stores);
	free(rn.src);
	free(rn.dst);
	va_excl_release(&rn.list);
	va_config_free(rn.cfg);
	ucli_free(&rn.c);
	return status;
}
