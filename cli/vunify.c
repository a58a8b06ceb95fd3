/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vunify.c - the vunify command: share the files of a guest with the same
 * files of its reference guests (hard links, protected against changes),
 * or with -R give the guest its private copies back.  Compatible with
 * util-vserver's vunify; every change is journaled for `vaudit --undo`.
 *
 * This file reads the command line and the configuration; the engine is
 * va_vunify() (migrate/unify/unify.h), the shared front end cli/unify-cli.c.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbuf.h"
#include "core/vsconfig.h"
#include "cli/unify-cli.h"
#include "migrate/unify/unify.h"

#define PROG "vunify"

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: %s [-Rnvx] [--host-root PREFIX] [OPTIONS] GUEST\n"
"       %s --manually [-Rnvx] [OPTIONS] [--] TARGET EXCL REF EXCL [REF EXCL]...\n"
"Replace the files of a guest by hard links to the same files of its\n"
"reference guests (same mode, owner, group, size, mtime, content and\n"
"extended attributes), and protect the shared inodes so that no guest can\n"
"change them.  With -R, give the guest private copies of the files it\n"
"shares with them.  Every change is journaled: 'vaudit --undo JOURNAL'\n"
"restores the guest as it was.\n"
"\n"
"GUEST is the name of a guest in the configuration (%s): its vdir is\n"
"the tree, apps/vunify/exclude (else .defaults/apps/vunify/exclude, else the\n"
"shipped list) its exclude list, and apps/vunify/refserver.* name the\n"
"reference guests, tried in that order.  With --manually, TARGET and each\n"
"REF are directories and each EXCL an exclude list file (\"\" for none).\n"
"\n"
"Options:\n"
"  -R                    revert: give the guest private copies of the files\n"
"                        it shares with its references\n"
"  -n, --dry-run         show what would be done ('would link ...'); change\n"
"                        nothing, write no journal\n"
"  -v, --verbose         more output; repeat for more: 1 problems worth seeing\n"
"                        (immutable, changed, errors), 2 also every link,\n"
"                        revert, flag change and skip with its reason, 3 also\n"
"                        files already shared, 4 link lines name their\n"
"                        master, 6 also symlinks and special files\n"
"  -x                    accepted for util-vserver compatibility; no effect\n"
"      --manually        take the trees and exclude lists from the command\n"
"                        line, not from the configuration\n",
		PROG, PROG, VA_CONFIG_DIR);
	ucli_help_common(fp, PROG);
}

/* "CFGDIR/apps/vunify/refserver.N" of guest @gu for messages (malloc'd). */
static char *ref_path(const struct va_guest *gu, const struct va_refserver *ref)
{
	struct dbuf b = DBUF_INIT;

	dbuf_addf(&b, "%s/apps/vunify/%s", gu->cfgdir ? gu->cfgdir : gu->name, ref->entry);
	return b.buf;
}

/* The trees of GUEST from the configuration: the guest, then its references. */
static int trees_from_config(struct ucli *c, const struct va_config *cfg, long g,
			     struct va_utree *trees, size_t *ntrees)
{
	const struct va_guest *gu = &cfg->guests[g];
	int status = 0;

	if (!gu->vdir) {
		cli_msg(&c->cli, gu->name, "the guest has no usable vdir", gu->vdir_why);
		return CLI_EXIT_TROUBLE;
	}
	if (gu->nrefs == 0) {
		cli_msg(&c->cli, gu->name, "no reference vserver configured (apps/vunify/refserver.*)", NULL);
		return CLI_EXIT_TROUBLE;
	}
	trees[0] = (struct va_utree){ gu->vdir, gu->name, &gu->exclude };
	*ntrees = 1;
	status |= ucli_guest_exclude(c, cfg, g);
	for (size_t k = 0; k < gu->nrefs; k++) {
		const struct va_refserver *ref = &gu->refs[k];
		const struct va_guest *rg = ref->guest >= 0 ? &cfg->guests[ref->guest] : NULL;
		char *p = ref_path(gu, ref);

		if (!p) {
			cli_say(&c->cli, "%s", strerror(ENOMEM));
			return CLI_EXIT_TROUBLE;
		}
		if (ref->why)
			cli_msg(&c->cli, p, "not a usable reference", ref->why);
		else if (!rg)
			cli_msg(&c->cli, p, "names no guest of the configuration", ref->cfgdir);
		else if (ref->guest == g)
			cli_msg(&c->cli, p, "names the guest itself", NULL);
		else if (!rg->vdir)
			cli_msg(&c->cli, p, "the reference guest has no usable vdir", rg->vdir_why);
		free(p);
		if (ref->why || !rg || ref->guest == g || !rg->vdir) {
			status = CLI_EXIT_TROUBLE;
			continue;
		}
		status |= ucli_guest_exclude(c, cfg, ref->guest);
		trees[(*ntrees)++] = (struct va_utree){ rg->vdir, rg->name, &rg->exclude };
	}
	return status ? CLI_EXIT_TROUBLE : 0;
}

/* What vunify is to do: the trees (the target first) and what they own. */
struct run {
	struct ucli c;
	bool revert;                    /* -R */
	char *const *args;              /* GUEST, or --manually's TARGET EXCL REF EXCL... */
	size_t nargs;
	struct va_config *cfg;
	struct va_utree *trees;
	size_t ntrees;
	struct va_excl_list *lists;     /* --manually: by tree */
	char **roots;                   /* --manually: real paths, by tree */
	size_t nlists;
};

static int nomem(struct run *rn)
{
	cli_say(&rn->c.cli, "%s", strerror(ENOMEM));
	return CLI_EXIT_TROUBLE;
}

/* --manually TARGET EXCL REF EXCL [REF EXCL]...  Return: 0 or the exit status. */
static int trees_manually(struct run *rn)
{
	int status;

	rn->ntrees = rn->nargs / 2;
	rn->trees = calloc(rn->ntrees, sizeof(*rn->trees));
	rn->lists = calloc(rn->ntrees, sizeof(*rn->lists));
	rn->roots = calloc(rn->ntrees, sizeof(*rn->roots));
	if (!rn->trees || !rn->lists || !rn->roots)
		return nomem(rn);
	rn->nlists = rn->ntrees;
	for (size_t i = 0; i < rn->ntrees; i++) {
		const char *dir = rn->args[2 * i], *excl = rn->args[2 * i + 1];
		bool use;

		if ((status = ucli_realdir(&rn->c, dir, i ? "reference" : "target", &rn->roots[i])) ||
		    (status = ucli_load_excl(&rn->c, excl, &rn->lists[i], &use)))
			return status;
		rn->trees[i] = (struct va_utree){ rn->roots[i], NULL, use ? &rn->lists[i] : NULL };
	}
	return 0;
}

/* GUEST and its references from the configuration.  Return: 0 or the exit status. */
static int trees_configured(struct run *rn)
{
	long g;
	int status;

	if ((status = ucli_config_load(&rn->c, &rn->cfg)))
		return status;
	if ((g = ucli_config_guest(&rn->c, rn->cfg, rn->args[0])) < 0)
		return CLI_EXIT_TROUBLE;
	rn->trees = calloc(rn->cfg->guests[g].nrefs + 1, sizeof(*rn->trees));
	if (!rn->trees)
		return nomem(rn);
	return trees_from_config(&rn->c, rn->cfg, g, rn->trees, &rn->ntrees);
}

/* The run over the trees, journaled.  Return: the exit status. */
static int run_vunify(struct run *rn)
{
	struct ucli *c = &rn->c;
	const char **paths;
	struct va_uopts o;
	struct va_ustats st = { 0 };
	int status, r;

	for (size_t i = 0; i < rn->ntrees; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(rn->trees[i].root, rn->trees[k].root) == 0) {
				cli_msg(&c->cli, rn->trees[i].root, k ? "named twice as a reference" :
					"the target is also a reference", NULL);
				return CLI_EXIT_TROUBLE;
			}
	c->reverting = rn->revert;
	if ((status = ucli_start(c)))
		return status;
	paths = calloc(rn->ntrees, sizeof(*paths));
	if (!paths)
		return nomem(rn);
	for (size_t i = 0; i < rn->ntrees; i++)
		paths[i] = rn->trees[i].root;
	status = ucli_journal_open(c, paths, rn->ntrees);
	free(paths);
	if (status)
		return status;
	ucli_uopts(c, &o);
	r = va_vunify(&rn->trees[0], rn->trees + 1, rn->ntrees - 1, rn->revert, &o, &st);
	ucli_ran(c, &st, r);
	return ucli_finish(c, rn->revert, r);
}

/* Which options go together (cli/kit.h): --manually reads no configuration. */
enum { MODE_CONFIGURED, MODE_MANUALLY, MODE_COUNT };
enum { O_MANUALLY, O_CONFIG, O_HOST_ROOT, O_COUNT };
#define BIT(o) (UINT64_C(1) << (o))

static const char *const opt_names[O_COUNT] = {
	[O_MANUALLY] = "--manually", [O_CONFIG] = "--config", [O_HOST_ROOT] = "--host-root",
};

static const struct cli_mode modes[MODE_COUNT] = {
	[MODE_CONFIGURED] = { NULL, BIT(O_CONFIG) | BIT(O_HOST_ROOT) },
	[MODE_MANUALLY]   = { "--manually", BIT(O_MANUALLY) },
};

static const struct cli_rules rules = {
	.names = opt_names, .modes = modes, .nmodes = MODE_COUNT,
};

/* The command line into @rn.  Return: -1 to run, else the exit status. */
static int parse_options(struct run *rn, int argc, char **argv)
{
	static const struct option longopts[] = {
		UCLI_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct ucli *c = &rn->c;
	int opt, status = 0;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":Rnvxh", longopts, NULL)) != -1) {
		if (opt == 'R' || opt == 'x') {
			rn->revert |= opt == 'R';       /* -x: util-vserver compatibility */
			continue;
		}
		if ((status = ucli_option(c, opt, optarg, argv)) >= 0)
			return status;
	}
	rn->args = argv + optind;
	rn->nargs = (size_t)(argc - optind);
	if ((status = cli_check_options(&c->cli, &rules, c->manually ? MODE_MANUALLY : MODE_CONFIGURED,
					(c->manually ? BIT(O_MANUALLY) : 0) | (c->config ? BIT(O_CONFIG) : 0) |
					(c->host_root ? BIT(O_HOST_ROOT) : 0))))
		return status;
	if (c->manually && (rn->nargs < 4 || rn->nargs % 2)) {
		char n[24];

		snprintf(n, sizeof(n), "%zu", rn->nargs);
		return cli_bad_usage(&c->cli, "--manually takes TARGET EXCL REF EXCL [REF EXCL]... "
				     "(an even number of at least 4 arguments), not", n);
	}
	if (!c->manually && rn->nargs != 1)
		return cli_bad_usage(&c->cli, rn->nargs ? "one GUEST only; unexpected:" : "no GUEST given",
				     rn->nargs ? rn->args[1] : NULL);
	return -1;
}

int main(int argc, char **argv)
{
	struct run rn = { 0 };
	bool run;
	int status;

	ucli_init(&rn.c, PROG, usage);
	status = parse_options(&rn, argc, argv);
	run = status < 0;       /* else --help, --version or a usage error: done */
	if (run)
		status = rn.c.manually ? trees_manually(&rn) : trees_configured(&rn);
	if (run && status == 0)
		status = run_vunify(&rn);
	for (size_t i = 0; i < rn.nlists; i++) {
		va_excl_release(&rn.lists[i]);
		free(rn.roots[i]);
	}
	free(rn.lists);
	free(rn.roots);
	free(rn.trees);
	va_config_free(rn.cfg);
	ucli_free(&rn.c);
	return status;
}
