/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-cli.c - the front end vunify and vhashify share (see unify-cli.h):
 * options, exclude list files, the configuration, the back end and the
 * journal.  What a run says is unify-report.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/attr.h"
#include "core/escape.h"
#include "core/finding.h"
#include "core/image.h"
#include "core/lock.h"
#include "core/message.h"
#include "core/vsconfig.h"
#include "cli/unify-cli.h"

/* Exclude lists larger than this are refused (util-vserver's are a few KiB). */
#define MAX_EXCL_FILE (16u << 20)

/* ------------------------------------------------------------------ messages */

void ucli_note(struct ucli *c, int level, const char *fmt, ...)
{
	va_list ap;

	if (c->verbose < level)
		return;
	va_start(ap, fmt);
	cli_vsay(&c->cli, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------ options */

void ucli_init(struct ucli *c, const char *prog, void (*usage)(FILE *fp))
{
	memset(c, 0, sizeof(*c));
	cli_init(&c->cli, prog);
	c->usage = usage;
	c->protect = VA_PROTECT_AUTO;
	c->jbackend = VA_JOURNAL_UNIFY;
	c->jstem = "unify";
	c->progress = -1;
	dbuf_init(&c->jfile);
	dbuf_init(&c->label);
	dbuf_init(&c->evbuf);
}

void ucli_free(struct ucli *c)
{
	va_journal_free(c->j);
	c->j = NULL;
	va_backend_free(c->be);
	c->be = NULL;
	va_locks_release(&c->locks);
	dbuf_release(&c->jfile);
	dbuf_release(&c->label);
	dbuf_release(&c->evbuf);
	free(c->quirk_shown);
	c->quirk_shown = NULL;
}

int ucli_option(struct ucli *c, int opt, const char *arg, char **argv)
{
	switch (opt) {
	case 'n': c->dry_run = true; break;
	case 'v': c->verbose++; break;
	case UCLI_OPT_FLAGS:
		if (va_protect_parse(arg, &c->protect) < 0)
			return cli_bad_usage(&c->cli, "unknown --flags value (auto, v26, legacy, immutable, "
					     "none):", arg);
		break;
	case UCLI_OPT_JOURNAL:
		if (!*arg)
			return cli_bad_usage(&c->cli, "empty journal file name:", arg);
		c->journal = arg;
		break;
	case UCLI_OPT_JSON: c->json = true; break;
	case UCLI_OPT_CONFIG:
		if (!*arg)
			return cli_bad_usage(&c->cli, "empty configuration directory:", arg);
		c->config = arg;
		break;
	case UCLI_OPT_PROGRESS: c->progress = 1; break;
	case UCLI_OPT_NO_PROGRESS: c->progress = 0; break;
	case UCLI_OPT_INSECURE: break;  /* util-vserver compatibility */
	case UCLI_OPT_MANUALLY: c->manually = true; break;
	case UCLI_OPT_HOST_ROOT:
		if (arg[0] != '/')
			return cli_bad_usage(&c->cli, "--host-root must be an absolute path:", arg);
		c->host_root = arg;
		break;
	case UCLI_OPT_VERSION:
		return cli_version(&c->cli);
	case ':':
	case '?':
		return cli_getopt_error(&c->cli, opt, argv);
	case 'h':
		c->usage(stdout);
		return fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_TROUBLE;
	default:
		return cli_bad_usage(&c->cli, "unknown option", argv[optind - 1]);
	}
	return -1;
}

/* ------------------------------------------------------------------ files */

int ucli_realdir(struct ucli *c, const char *path, const char *what, char **ret)
{
	struct stat st;
	char *real;

	*ret = NULL;
	if (!*path) {
		cli_msg(&c->cli, path, what, "empty path");
		return CLI_EXIT_TROUBLE;
	}
	real = realpath(path, NULL);
	if (!real || stat(real, &st) < 0) {
		cli_msg(&c->cli, path, what, strerror(errno));
		free(real);
		return CLI_EXIT_TROUBLE;
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_msg(&c->cli, path, what, strerror(ENOTDIR));
		free(real);
		return CLI_EXIT_TROUBLE;
	}
	*ret = real;
	return 0;
}

struct excl_warn {
	struct ucli *c;
	const char *file;
};

static void on_excl_quirk(enum va_excl_quirk q, unsigned line, const char *text, size_t len,
			  void *user)
{
	struct excl_warn *w = user;
	struct dbuf b = DBUF_INIT;

	(void)text;
	(void)len;
	va_quote(&b, w->file, strlen(w->file));
	cli_say(&w->c->cli, "%s:%u: %s", dbuf_str(&b), line, va_excl_quirk_message(q));
	dbuf_release(&b);
}

static int read_all(const char *file, struct dbuf *out)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	r = dbuf_read_fd(out, fd, MAX_EXCL_FILE);
out:
	close(fd);
	return r;
}

int ucli_load_excl(struct ucli *c, const char *file, struct va_excl_list *list, bool *use)
{
	struct dbuf buf = DBUF_INIT;
	struct excl_warn w = { c, file };
	int r;

	va_excl_release(list);
	*use = false;
	if (!*file)
		return 0;
	r = read_all(file, &buf);
	if (r == 0)
		r = va_excl_parse(list, dbuf_str(&buf), buf.len, on_excl_quirk, &w);
	dbuf_release(&buf);
	if (r < 0) {
		cli_msg(&c->cli, file, "cannot read the exclude list",
			 r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
		va_excl_release(list);
		return CLI_EXIT_TROUBLE;
	}
	*use = true;
	return 0;
}

/* ------------------------------------------------------------------ configuration */

int ucli_config_load(struct ucli *c, struct va_config **ret)
{
	struct va_config_opts co = { .host_root = c->host_root, .cfgdir = c->config };
	struct va_error err = VA_ERROR_INIT;
	int r = va_config_load(ret, &co, &err);

	if (r < 0) {
		cli_error(&c->cli, &err);
		va_error_release(&err);
		*ret = NULL;
		return CLI_EXIT_TROUBLE;
	}
	return 0;
}

long ucli_config_guest(struct ucli *c, const struct va_config *cfg, const char *name)
{
	char *real = NULL;

	for (size_t i = 0; i < cfg->nguests; i++)
		if (strcmp(cfg->guests[i].name, name) == 0)
			return (long)i;
	/* util-vserver also takes the path of a configuration directory
	 * (with --host-root: as the running host sees it, or inside the host root) */
	if (strchr(name, '/') && (real = realpath(name, NULL)))
		for (size_t i = 0; i < cfg->nguests; i++)
			if (cfg->guests[i].cfgdir && strcmp(cfg->guests[i].cfgdir, real) == 0) {
				free(real);
				return (long)i;
			}
	if (cfg->host_root && name[0] == '/')
		for (size_t i = 0; i < cfg->nguests; i++)
			if (cfg->guests[i].cfgdir_canon && strcmp(cfg->guests[i].cfgdir_canon, name) == 0) {
				free(real);
				return (long)i;
			}
	free(real);
	cli_msg(&c->cli, name, "no such guest in the configuration", cfg->cfgdir);
	return -1;
}

int ucli_guest_exclude(struct ucli *c, const struct va_config *cfg, long g)
{
	const struct va_guest *gu = &cfg->guests[g];
	int status = 0;

	if (c->nquirk_shown < cfg->nproblems) {
		unsigned char *n = realloc(c->quirk_shown, cfg->nproblems);

		if (!n) {
			cli_say(&c->cli, "%s", strerror(ENOMEM));
			return CLI_EXIT_TROUBLE;
		}
		memset(n + c->nquirk_shown, 0, cfg->nproblems - c->nquirk_shown);
		c->quirk_shown = n;
		c->nquirk_shown = cfg->nproblems;
	}
	for (size_t i = 0; i < cfg->nproblems; i++) {
		const struct va_config_problem *p = &cfg->problems[i];
		struct dbuf b = DBUF_INIT;

		if (p->kind == VA_KIND_CONFIG_INVALID && p->guest == g && p->detail &&
		    strncmp(p->detail, "cannot read the exclude list", 28) == 0) {
			/* the fallback list would unify what the unreadable one excludes */
			const char *name = p->path ? p->path : gu->name;

			cli_msg(&c->cli, name, p->detail, NULL);
			status = CLI_EXIT_TROUBLE;
			continue;
		}
		if (p->kind != VA_KIND_CONFIG_EXCLUDE_QUIRK || c->quirk_shown[i] || !p->path)
			continue;
		if (p->guest != g && !(p->guest < 0 && gu->exclude_file &&
				       strcmp(p->path, gu->exclude_file) == 0))
			continue;
		c->quirk_shown[i] = 1;
		va_quote(&b, p->path, strlen(p->path));
		cli_say(&c->cli, "%s:%u: %s", dbuf_str(&b), p->line,
			p->detail ? p->detail : "exclude list quirk");
		dbuf_release(&b);
	}
	return status;
}

int ucli_guest_tree(struct ucli *c, struct va_config **cfg, const char *name, char **vdir,
		    const struct va_excl_list **excl, const char ***stores, size_t *nstores)
{
	const struct va_guest *gu;
	long g;
	int status;

	if (!*cfg && (status = ucli_config_load(c, cfg)))
		return status;
	if ((g = ucli_config_guest(c, *cfg, name)) < 0)
		return CLI_EXIT_TROUBLE;
	gu = &(*cfg)->guests[g];
	if (!gu->vdir) {
		cli_msg(&c->cli, gu->name, "the guest has no usable vdir", gu->vdir_why);
		return CLI_EXIT_TROUBLE;
	}
	if (excl) {
		if ((status = ucli_guest_exclude(c, *cfg, g)))
			return status;
		*excl = &gu->exclude;
	}
	if (stores && gu->hash >= 0) {
		const struct va_hash_dir *h = &(*cfg)->hashdirs[gu->hash];
		const char **ns = realloc(*stores, (*nstores + h->nentries + 1) * sizeof(*ns));

		if (!ns) {
			cli_say(&c->cli, "%s", strerror(ENOMEM));
			return CLI_EXIT_TROUBLE;
		}
		*stores = ns;
		for (size_t k = 0; k < h->nentries; k++)
			if (h->entries[k].path && !h->entries[k].duplicate)
				ns[(*nstores)++] = h->entries[k].path;
	}
	return ucli_realdir(c, gu->vdir, "the guest's vdir", vdir);
}

/* ------------------------------------------------------------------ back end, journal */

void ucli_help_common(FILE *fp, const char *prog)
{
	fprintf(fp,
"      --flags=MODE      protection of the shared inodes: auto (default: v26\n"
"                        where the kernel has the vserver syscall, else an\n"
"                        error), v26 (immutable + iunlink through the\n"
"                        syscall), legacy (0x10|0x8000, the 2.4 encoding),\n"
"                        immutable (0x10 only), none (unprotected: a guest\n"
"                        can change the files of other guests)\n"
"      --journal=FILE    the journal to create (default\n"
"                        %s/unify-YYYYmmdd-HHMMSS-PID.journal,\n"
"                        removed at the end when it holds no change)\n"
"      --json            JSON Lines on stdout: one object per event, then a\n"
"                        summary object (schema in %s(8))\n"
"      --config=DIR      the configuration directory (default %s)\n"
"      --host-root=PREFIX  the host is the one whose root is PREFIX (an old\n"
"                        host's disk): the configuration (--config included)\n"
"                        and every path it names are resolved inside PREFIX\n"
"      --insecure        accepted for util-vserver compatibility; no effect\n",
		VA_JOURNAL_DIR, prog, VA_CONFIG_DIR);
	ucli_help_run(fp);
	fprintf(fp,
"\n"
"Exit status: 0 the run completed (skipped files are normal and counted),\n"
"or a dry run (-n) would change nothing; 1 a dry run would link, store,\n"
"revert or protect at least one file; 2 a configuration or journal error,\n"
"or a file failed (reported on stderr; the run goes on with the other\n"
"files); 64 a usage error.\n");
}

void ucli_help_run(FILE *fp)
{
	fputs(
"      --progress        a progress line on stderr (default: when stderr is a\n"
"                        terminal)\n"
"      --no-progress     no progress line\n"
"  -h, --help            show this help and exit\n"
"      --version         show the version and exit\n", fp);
}

int ucli_start(struct ucli *c)
{
	int r = va_backend_live_new(&c->be, 0);
	bool syscall;

	if (r < 0) {
		cli_say(&c->cli, "cannot open the live back end: %s", strerror(-r));
		return CLI_EXIT_TROUBLE;
	}
	syscall = c->be->caps & VA_CAP_VS26_WRITE;
	if (c->protect == VA_PROTECT_AUTO && syscall)
		c->protect = VA_PROTECT_V26;
	if (c->protect == VA_PROTECT_AUTO && c->reverting)
		c->protect = VA_PROTECT_NONE;   /* nothing gets protected */
	if ((c->protect == VA_PROTECT_AUTO || c->protect == VA_PROTECT_V26) && !syscall) {
		cli_say(&c->cli, "this kernel has no vserver syscall: choose --flags=legacy, "
			"--flags=immutable or --flags=none");
		return CLI_EXIT_TROUBLE;
	}
	if (c->protect == VA_PROTECT_NONE && !c->reverting && !c->flags_recognise)
		cli_say(&c->cli, "warning: --flags=none: the shared files are not protected; "
			"a guest can change the files of other guests");
	/* a reader that goes away (| head) must not kill the run between two
	 * changes: the writes fail instead, and the exit status says so */
	signal(SIGPIPE, SIG_IGN);
	cli_start(&c->cli, c->progress);
	return 0;
}

int ucli_journal_open(struct ucli *c, const char *const *paths, size_t npaths)
{
	struct dbuf src = DBUF_INIT;
	char uuid[40];
	int r = 0;

	if (c->dry_run)
		return 0;
	/* the trees and stores are this run's until it ends */
	c->locks.holder = c->cli.prog;
	if (cli_lock(&c->cli, &c->locks, NULL, paths, npaths))
		return CLI_EXIT_TROUBLE;
	for (size_t i = 0; i < npaths && r == 0; i++)
		if ((i && dbuf_addc(&src, '\n') < 0) || dbuf_adds(&src, paths[i]) < 0)
			r = -ENOMEM;
	va_image_uuid(NULL, npaths ? paths[0] : "/", uuid);
	dbuf_setlen(&c->jfile, 0);
	if (r == 0)
		r = c->journal ? dbuf_adds(&c->jfile, c->journal) : va_journal_default_name(&c->jfile, c->jstem);
	if (r == 0)
		r = va_journal_create(&c->j, c->jfile.buf, c->jbackend, uuid, dbuf_str(&src), src.len);
	dbuf_release(&src);
	if (r < 0) {
		const char *file = c->jfile.len ? c->jfile.buf : VA_JOURNAL_DIR;

		cli_msg(&c->cli, file, "cannot create the journal",
			 strerror(-r));
		c->j = NULL;
		dbuf_setlen(&c->jfile, 0);
		return CLI_EXIT_TROUBLE;
	}
	cli_say(&c->cli, "journal: %s", c->jfile.buf);
	return 0;
}

bool ucli_journal_drop(struct ucli *c)
{
	int r;

	if (!c->j || c->journal || c->jremoved)
		return c->jremoved;
	r = va_journal_remove_unused(c->j);
	if (r < 0)
		cli_msg(&c->cli, c->jfile.buf, "cannot remove the journal, which holds no change",
			strerror(-r));
	else if (r > 0)
		c->jremoved = true;
	return c->jremoved;
}
