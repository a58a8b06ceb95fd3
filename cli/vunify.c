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
"Usage: %s [-Rnvx] [OPTIONS] GUEST\n"
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
		ucli_msg(c, gu->name, "the guest has no usable vdir", gu->vdir_why);
		return UCLI_EXIT_TROUBLE;
	}
	if (gu->nrefs == 0) {
		ucli_msg(c, gu->name, "no reference vserver configured (apps/vunify/refserver.*)", NULL);
		return UCLI_EXIT_TROUBLE;
	}
	trees[0] = (struct va_utree){ gu->vdir, gu->name, &gu->exclude };
	*ntrees = 1;
	status |= ucli_guest_exclude(c, cfg, g);
	for (size_t k = 0; k < gu->nrefs; k++) {
		const struct va_refserver *ref = &gu->refs[k];
		const struct va_guest *rg = ref->guest >= 0 ? &cfg->guests[ref->guest] : NULL;
		char *p = ref_path(gu, ref);

		if (!p) {
			fprintf(stderr, "%s: %s\n", PROG, strerror(ENOMEM));
			return UCLI_EXIT_TROUBLE;
		}
		if (ref->why)
			ucli_msg(c, p, "not a usable reference", ref->why);
		else if (!rg)
			ucli_msg(c, p, "names no guest of the configuration", ref->cfgdir);
		else if (ref->guest == g)
			ucli_msg(c, p, "names the guest itself", NULL);
		else if (!rg->vdir)
			ucli_msg(c, p, "the reference guest has no usable vdir", rg->vdir_why);
		free(p);
		if (ref->why || !rg || ref->guest == g || !rg->vdir) {
			status = UCLI_EXIT_TROUBLE;
			continue;
		}
		status |= ucli_guest_exclude(c, cfg, ref->guest);
		trees[(*ntrees)++] = (struct va_utree){ rg->vdir, rg->name, &rg->exclude };
	}
	return status ? UCLI_EXIT_TROUBLE : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		UCLI_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct ucli c;
	struct va_config *cfg = NULL;
	struct va_utree *trees = NULL;
	struct va_excl_list *lists = NULL;
	char **roots = NULL;
	size_t ntrees = 0, nargs, nlists = 0;
	const char **paths = NULL;
	struct va_uopts o;
	struct va_ustats st;
	bool revert = false;
	int opt, status = 0, r;

	ucli_init(&c, PROG);
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":Rnvxh", longopts, NULL)) != -1) {
		if (opt == 'R') {
			revert = true;
			continue;
		}
		if (opt == 'x')
			continue;       /* util-vserver compatibility */
		if (opt == 'h') {
			usage(stdout);
			return fflush(stdout) == 0 ? UCLI_EXIT_OK : UCLI_EXIT_TROUBLE;
		}
		switch (ucli_option(&c, opt, optarg, argv, &status)) {
		case UCLI_OPT_DONE:
			break;
		case UCLI_OPT_EXIT:
			return status;
		case UCLI_OPT_UNKNOWN:
			return ucli_bad_usage(&c, "unknown option", argv[optind - 1]);
		}
	}
	nargs = (size_t)(argc - optind);
	if (c.manually) {
		if (nargs < 4 || nargs % 2) {
			char n[24];

			snprintf(n, sizeof(n), "%zu", nargs);
			return ucli_bad_usage(&c, "--manually takes TARGET EXCL REF EXCL [REF EXCL]... "
					      "(an even number of at least 4 arguments), not", n);
		}
		if (c.config)
			return ucli_bad_usage(&c, "--manually does not combine with", "--config");
	} else if (nargs != 1) {
		return ucli_bad_usage(&c, nargs ? "one GUEST only; unexpected:" : "no GUEST given",
				      nargs ? argv[optind + 1] : NULL);
	}

	if (c.manually) {
		ntrees = nargs / 2;
		trees = calloc(ntrees, sizeof(*trees));
		lists = calloc(ntrees, sizeof(*lists));
		roots = calloc(ntrees, sizeof(*roots));
		if (!trees || !lists || !roots) {
			fprintf(stderr, "%s: %s\n", PROG, strerror(ENOMEM));
			status = UCLI_EXIT_TROUBLE;
			goto out;
		}
		nlists = ntrees;
		for (size_t i = 0; i < ntrees; i++) {
			const char *dir = argv[optind + 2 * i], *excl = argv[optind + 2 * i + 1];
			bool use;

			if ((status = ucli_realdir(&c, dir, i ? "reference" : "target", &roots[i])) ||
			    (status = ucli_load_excl(&c, excl, &lists[i], &use)))
				goto out;
			trees[i] = (struct va_utree){ roots[i], NULL, use ? &lists[i] : NULL };
		}
	} else {
		long g;

		if ((status = ucli_config_load(&c, &cfg)))
			goto out;
		if ((g = ucli_config_guest(&c, cfg, argv[optind])) < 0) {
			status = UCLI_EXIT_TROUBLE;
			goto out;
		}
		trees = calloc(cfg->guests[g].nrefs + 1, sizeof(*trees));
		if (!trees) {
			fprintf(stderr, "%s: %s\n", PROG, strerror(ENOMEM));
			status = UCLI_EXIT_TROUBLE;
			goto out;
		}
		if ((status = trees_from_config(&c, cfg, g, trees, &ntrees)))
			goto out;
	}
	for (size_t i = 0; i < ntrees; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(trees[i].root, trees[k].root) == 0) {
				ucli_msg(&c, trees[i].root, k ? "named twice as a reference" :
					 "the target is also a reference", NULL);
				status = UCLI_EXIT_TROUBLE;
				goto out;
			}

	c.reverting = revert;
	if ((status = ucli_start(&c)))
		goto out;
	paths = calloc(ntrees, sizeof(*paths));
	if (!paths) {
		fprintf(stderr, "%s: %s\n", PROG, strerror(ENOMEM));
		status = UCLI_EXIT_TROUBLE;
		goto out;
	}
	for (size_t i = 0; i < ntrees; i++)
		paths[i] = trees[i].root;
	if ((status = ucli_journal_open(&c, paths, ntrees)))
		goto out;
	ucli_uopts(&c, &o);
	memset(&st, 0, sizeof(st));
	r = va_vunify(&trees[0], trees + 1, ntrees - 1, revert, &o, &st);
	ucli_ran(&c, &st, r);
	status = ucli_finish(&c, revert, r);
out:
	for (size_t i = 0; i < nlists; i++) {
		va_excl_release(&lists[i]);
		free(roots[i]);
	}
	free(paths);
	free(lists);
	free(roots);
	free(trees);
	va_config_free(cfg);
	ucli_free(&c);
	return status;
}
