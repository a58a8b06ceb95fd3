/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-cli.c - the front end vunify and vhashify share (see unify-cli.h).
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
#include "core/vsconfig.h"
#include "cli/unify-cli.h"

/* Exclude lists larger than this are refused (util-vserver's are a few KiB). */
#define MAX_EXCL_FILE (16u << 20)

/* ------------------------------------------------------------------ messages */

void ucli_quote(struct dbuf *b, const char *s, size_t len)
{
	size_t start = b->len;

	va_escape_shell(b, s, len);
	if (b->len - start == len && (len == 0 || memcmp(b->buf + start, s, len) == 0)) {
		dbuf_setlen(b, start);
		dbuf_addf(b, "'%.*s'", (int)len, s);
	}
}

void ucli_clear_progress(struct ucli *c)
{
	if (c->progress_shown) {
		fputs("\r\033[K", stderr);
		c->progress_shown = false;
	}
}

/* Before a line on stderr: no progress line, and stdout's lines come first. */
static void before_stderr(struct ucli *c)
{
	ucli_clear_progress(c);
	fflush(stdout);
}

void ucli_msg(struct ucli *c, const char *path, const char *what, const char *reason)
{
	struct dbuf b = DBUF_INIT;

	before_stderr(c);
	ucli_quote(&b, path, strlen(path));
	if (reason)
		fprintf(stderr, "%s: %s: %s: %s\n", c->prog, dbuf_str(&b), what, reason);
	else
		fprintf(stderr, "%s: %s: %s\n", c->prog, dbuf_str(&b), what);
	dbuf_release(&b);
}

void ucli_note(struct ucli *c, int level, const char *fmt, ...)
{
	va_list ap;

	if (c->verbose < level)
		return;
	before_stderr(c);
	fprintf(stderr, "%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ucli_bad_usage(const struct ucli *c, const char *what, const char *arg)
{
	struct dbuf b = DBUF_INIT;

	if (arg) {
		dbuf_addc(&b, ' ');
		ucli_quote(&b, arg, strlen(arg));
	}
	fprintf(stderr, "%s: %s%s (see '%s --help')\n", c->prog, what, dbuf_str(&b), c->prog);
	dbuf_release(&b);
	return UCLI_EXIT_TROUBLE;
}

const char *ucli_human(uint64_t bytes, char buf[32])
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, 32, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024.0 && u < 5) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(buf, 32, "%.0f KiB", v);
	else
		snprintf(buf, 32, "%.1f %s", v, unit[u]);
	return buf;
}

/* ------------------------------------------------------------------ options */

void ucli_init(struct ucli *c, const char *prog)
{
	memset(c, 0, sizeof(*c));
	c->prog = prog;
	c->protect = VA_PROTECT_AUTO;
	c->progress = -1;
	dbuf_init(&c->jfile);
	dbuf_init(&c->label);
}

void ucli_free(struct ucli *c)
{
	va_journal_free(c->j);
	c->j = NULL;
	va_backend_free(c->be);
	c->be = NULL;
	dbuf_release(&c->jfile);
	dbuf_release(&c->label);
	free(c->quirk_shown);
	c->quirk_shown = NULL;
}

enum ucli_optres ucli_option(struct ucli *c, int opt, const char *arg, char **argv,
			     int *exit_status)
{
	char optbuf[3] = "-?";

	switch (opt) {
	case 'n': c->dry_run = true; break;
	case 'v': c->verbose++; break;
	case UCLI_OPT_FLAGS:
		if (va_protect_parse(arg, &c->protect) < 0) {
			*exit_status = ucli_bad_usage(c, "unknown --flags value (auto, v26, legacy, immutable, none):", arg);
			return UCLI_OPT_EXIT;
		}
		break;
	case UCLI_OPT_JOURNAL:
		if (!*arg) {
			*exit_status = ucli_bad_usage(c, "empty journal file name:", arg);
			return UCLI_OPT_EXIT;
		}
		c->journal = arg;
		break;
	case UCLI_OPT_JSON: c->json = true; break;
	case UCLI_OPT_CONFIG:
		if (!*arg) {
			*exit_status = ucli_bad_usage(c, "empty configuration directory:", arg);
			return UCLI_OPT_EXIT;
		}
		c->config = arg;
		break;
	case UCLI_OPT_PROGRESS: c->progress = 1; break;
	case UCLI_OPT_NO_PROGRESS: c->progress = 0; break;
	case UCLI_OPT_INSECURE: break;  /* util-vserver compatibility */
	case UCLI_OPT_MANUALLY: c->manually = true; break;
	case UCLI_OPT_VERSION:
		printf("%s (%s) %s\n", c->prog, PACKAGE_NAME, PACKAGE_VERSION);
		*exit_status = fflush(stdout) == 0 && !ferror(stdout) ? UCLI_EXIT_OK : UCLI_EXIT_TROUBLE;
		return UCLI_OPT_EXIT;
	case ':':
		*exit_status = ucli_bad_usage(c, "option needs an argument:", argv[optind - 1]);
		return UCLI_OPT_EXIT;
	case '?':
		/* a long option given an argument it does not take has its val in optopt */
		if (optopt > 0 && optopt < 128 && argv[optind - 1][1] != '-') {
			optbuf[1] = (char)optopt;
			*exit_status = ucli_bad_usage(c, "unknown option", optbuf);
		} else {
			*exit_status = ucli_bad_usage(c, "unknown option", argv[optind - 1]);
		}
		return UCLI_OPT_EXIT;
	default:
		return UCLI_OPT_UNKNOWN;
	}
	return UCLI_OPT_DONE;
}

/* ------------------------------------------------------------------ files */

int ucli_realdir(struct ucli *c, const char *path, const char *what, char **ret)
{
	struct stat st;
	char *real;

	*ret = NULL;
	if (!*path) {
		ucli_msg(c, path, what, "empty path");
		return UCLI_EXIT_TROUBLE;
	}
	real = realpath(path, NULL);
	if (!real || stat(real, &st) < 0) {
		ucli_msg(c, path, what, strerror(errno));
		free(real);
		return UCLI_EXIT_TROUBLE;
	}
	if (!S_ISDIR(st.st_mode)) {
		ucli_msg(c, path, what, strerror(ENOTDIR));
		free(real);
		return UCLI_EXIT_TROUBLE;
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
	before_stderr(w->c);
	ucli_quote(&b, w->file, strlen(w->file));
	fprintf(stderr, "%s: %s:%u: %s\n", w->c->prog, dbuf_str(&b), line, va_excl_quirk_message(q));
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
	for (;;) {
		ssize_t n;

		if (out->len > MAX_EXCL_FILE) {
			r = -EFBIG;
			break;
		}
		if (dbuf_reserve(out, 65536) < 0) {
			r = -ENOMEM;
			break;
		}
		n = read(fd, out->buf + out->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->buf[out->len] = '\0';
	}
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
		ucli_msg(c, file, "cannot read the exclude list",
			 r == -EFBIG ? "larger than 16 MiB" : strerror(-r));
		va_excl_release(list);
		return UCLI_EXIT_TROUBLE;
	}
	*use = true;
	return 0;
}

/* ------------------------------------------------------------------ configuration */

int ucli_config_load(struct ucli *c, struct va_config **ret)
{
	struct va_config_opts co = { .host_root = NULL, .cfgdir = c->config };
	struct va_error err = VA_ERROR_INIT;
	struct dbuf b = DBUF_INIT;
	int r = va_config_load(ret, &co, &err);

	if (r < 0) {
		before_stderr(c);
		va_error_text(&b, &err);
		fprintf(stderr, "%s: %s\n", c->prog, dbuf_str(&b));
		dbuf_release(&b);
		va_error_release(&err);
		*ret = NULL;
		return UCLI_EXIT_TROUBLE;
	}
	return 0;
}

long ucli_config_guest(struct ucli *c, const struct va_config *cfg, const char *name)
{
	char *real = NULL;

	for (size_t i = 0; i < cfg->nguests; i++)
		if (strcmp(cfg->guests[i].name, name) == 0)
			return (long)i;
	/* util-vserver also takes the path of a configuration directory */
	if (strchr(name, '/') && (real = realpath(name, NULL)))
		for (size_t i = 0; i < cfg->nguests; i++)
			if (cfg->guests[i].cfgdir && strcmp(cfg->guests[i].cfgdir, real) == 0) {
				free(real);
				return (long)i;
			}
	free(real);
	ucli_msg(c, name, "no such guest in the configuration", cfg->cfgdir);
	return -1;
}

int ucli_guest_exclude(struct ucli *c, const struct va_config *cfg, long g)
{
	const struct va_guest *gu = &cfg->guests[g];
	int status = 0;

	if (c->nquirk_shown < cfg->nproblems) {
		unsigned char *n = realloc(c->quirk_shown, cfg->nproblems);

		if (!n) {
			fprintf(stderr, "%s: %s\n", c->prog, strerror(ENOMEM));
			return UCLI_EXIT_TROUBLE;
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
			ucli_msg(c, p->path ? p->path : gu->name, p->detail, NULL);
			status = UCLI_EXIT_TROUBLE;
			continue;
		}
		if (p->kind != VA_KIND_CONFIG_EXCLUDE_QUIRK || c->quirk_shown[i] || !p->path)
			continue;
		if (p->guest != g && !(p->guest < 0 && gu->exclude_file &&
				       strcmp(p->path, gu->exclude_file) == 0))
			continue;
		c->quirk_shown[i] = 1;
		before_stderr(c);
		ucli_quote(&b, p->path, strlen(p->path));
		fprintf(stderr, "%s: %s:%u: %s\n", c->prog, dbuf_str(&b), p->line,
			p->detail ? p->detail : "exclude list quirk");
		dbuf_release(&b);
	}
	return status;
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
"                        %s/unify-YYYYmmdd-HHMMSS-PID.journal)\n"
"      --json            JSON Lines on stdout: one object per event, then a\n"
"                        summary object (schema in %s(8))\n"
"      --config=DIR      the configuration directory (default %s)\n"
"      --insecure        accepted for util-vserver compatibility; no effect\n"
"      --progress        a progress line on stderr (default: when stderr is a\n"
"                        terminal)\n"
"      --no-progress     no progress line\n"
"  -h, --help            show this help and exit\n"
"      --version         show the version and exit\n"
"\n"
"Exit status: 0 the run completed (skipped files are normal and counted);\n"
"2 a usage, configuration or journal error, or a file failed (reported on\n"
"stderr; the run goes on with the other files).\n",
		UCLI_JOURNAL_DIR, prog, VA_CONFIG_DIR);
}

int ucli_start(struct ucli *c)
{
	int r = va_backend_live_new(&c->be, 0);
	bool syscall;

	if (r < 0) {
		fprintf(stderr, "%s: cannot open the live back end: %s\n", c->prog, strerror(-r));
		return UCLI_EXIT_TROUBLE;
	}
	syscall = c->be->caps & VA_CAP_VS26_WRITE;
	if (c->protect == VA_PROTECT_AUTO && syscall)
		c->protect = VA_PROTECT_V26;
	if (c->protect == VA_PROTECT_AUTO && c->reverting)
		c->protect = VA_PROTECT_NONE;   /* nothing gets protected */
	if ((c->protect == VA_PROTECT_AUTO || c->protect == VA_PROTECT_V26) && !syscall) {
		fprintf(stderr, "%s: this kernel has no vserver syscall: choose --flags=legacy, "
			"--flags=immutable or --flags=none\n", c->prog);
		return UCLI_EXIT_TROUBLE;
	}
	if (c->protect == VA_PROTECT_NONE && !c->reverting)
		fprintf(stderr, "%s: warning: --flags=none: the shared files are not protected; "
			"a guest can change the files of other guests\n", c->prog);
	/* a reader that goes away (| head) must not kill the run between two
	 * changes: the writes fail instead, and the exit status says so */
	signal(SIGPIPE, SIG_IGN);
	c->progress_on = c->progress < 0 ? isatty(STDERR_FILENO) : c->progress;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	c->last = c->start;
	return 0;
}

static int default_journal(struct dbuf *out)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	if (mkdir(UCLI_JOURNAL_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	return dbuf_addf(out, "%s/unify-%s-%ld.journal", UCLI_JOURNAL_DIR, stamp, (long)getpid());
}

int ucli_journal_open(struct ucli *c, const char *const *paths, size_t npaths)
{
	struct dbuf src = DBUF_INIT;
	char uuid[40];
	int r = 0;

	if (c->dry_run)
		return 0;
	for (size_t i = 0; i < npaths && r == 0; i++)
		if ((i && dbuf_addc(&src, '\n') < 0) || dbuf_adds(&src, paths[i]) < 0)
			r = -ENOMEM;
	va_image_uuid(NULL, npaths ? paths[0] : "/", uuid);
	dbuf_setlen(&c->jfile, 0);
	if (r == 0)
		r = c->journal ? dbuf_adds(&c->jfile, c->journal) : default_journal(&c->jfile);
	if (r == 0)
		r = va_journal_create(&c->j, c->jfile.buf, VA_JOURNAL_UNIFY, uuid, dbuf_str(&src), src.len);
	dbuf_release(&src);
	if (r < 0) {
		ucli_msg(c, c->jfile.len ? c->jfile.buf : UCLI_JOURNAL_DIR, "cannot create the journal",
			 strerror(-r));
		c->j = NULL;
		dbuf_setlen(&c->jfile, 0);
		return UCLI_EXIT_TROUBLE;
	}
	before_stderr(c);
	fprintf(stderr, "%s: journal: %s\n", c->prog, c->jfile.buf);
	return 0;
}

/* ------------------------------------------------------------------ events */

static double elapsed(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void stats_add(struct va_ustats *d, const struct va_ustats *s)
{
	d->examined += s->examined;
	d->candidates += s->candidates;
	d->read_files += s->read_files;
	d->read_bytes += s->read_bytes;
	d->linked += s->linked;
	d->saved_bytes += s->saved_bytes;
	d->already += s->already;
	d->stored += s->stored;
	d->reverted += s->reverted;
	d->protected_ += s->protected_;
	for (int k = 0; k < VA_USKIP_COUNT; k++)
		d->skipped[k] += s->skipped[k];
	d->failed += s->failed;
}

static void show_progress(struct ucli *c)
{
	struct va_ustats s = c->total;
	struct timespec now;
	char rd[32];
	double t;

	if (!c->progress_on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed(&c->last, &now) < 0.1)
		return;
	c->last = now;
	t = elapsed(&c->start, &now);
	if (c->cur)
		stats_add(&s, c->cur);
	fflush(stdout);
	fprintf(stderr, "\r\033[K%s: %s%s%llu files, %llu %s, %s read, %.0fs", c->prog,
		dbuf_str(&c->label), c->label.len ? ": " : "",
		(unsigned long long)s.examined,
		(unsigned long long)(s.reverted ? s.reverted : s.linked),
		s.reverted ? "reverted" : "linked", ucli_human(s.read_bytes, rd), t);
	c->progress_shown = true;
}

static void out_line(struct ucli *c, struct dbuf *b)
{
	if (!b->buf) {          /* out of memory while building it */
		c->write_error = c->write_error ? c->write_error : ENOMEM;
		return;
	}
	ucli_clear_progress(c);
	if (fwrite(b->buf, 1, b->len, stdout) != b->len && !c->write_error)
		c->write_error = errno ? errno : EIO;
}

/* Which skips are worth a line at -v1; -v2 shows the others, -v6 not-regular too. */
static int skip_level(enum va_uskip s)
{
	switch (s) {
	case VA_USKIP_IMMUTABLE:
	case VA_USKIP_CHANGED:
	case VA_USKIP_EMLINK:
	case VA_USKIP_ERROR:
		return 1;
	case VA_USKIP_NOT_REGULAR:
		return 6;
	default:
		return 2;
	}
}

static void text_event(struct ucli *c, const struct va_uevent *ev)
{
	struct dbuf b = DBUF_INIT;
	const char *would = ev->dry_run ? "would " : "";

	switch (ev->type) {
	case VA_UEV_LINK:
		if (!ev->dry_run && c->verbose < 2)
			return;
		dbuf_addf(&b, "%slink ", would);
		va_escape_shell(&b, ev->path, ev->path_len);
		if (c->verbose >= 4 && ev->master) {
			dbuf_adds(&b, " <- ");
			va_escape_shell(&b, ev->master, ev->master_len);
		}
		break;
	case VA_UEV_STORE:
		if (!ev->dry_run && c->verbose < 2)
			return;
		dbuf_addf(&b, "%sstore ", would);
		va_escape_shell(&b, ev->path, ev->path_len);
		if (ev->master) {
			dbuf_adds(&b, " <- ");
			va_escape_shell(&b, ev->master, ev->master_len);
		}
		break;
	case VA_UEV_REVERT:
		if (!ev->dry_run && c->verbose < 2)
			return;
		dbuf_addf(&b, "%srevert ", would);
		va_escape_shell(&b, ev->path, ev->path_len);
		break;
	case VA_UEV_ALREADY:
		if (c->verbose < 3)
			return;
		dbuf_adds(&b, "already ");
		va_escape_shell(&b, ev->path, ev->path_len);
		break;
	case VA_UEV_SKIP:
		if (c->verbose < skip_level(ev->skip))
			return;
		dbuf_adds(&b, "skip ");
		va_escape_shell(&b, ev->path, ev->path_len);
		dbuf_addf(&b, ": %s", va_uskip_text(ev->skip));
		if (ev->detail)
			dbuf_addf(&b, ": %s", ev->detail);
		if (ev->err)
			dbuf_addf(&b, ": %s", strerror(ev->err));
		break;
	case VA_UEV_PROTECT:
		if (c->verbose < 2)
			return;
		dbuf_addf(&b, "%sprotect ", would);
		va_escape_shell(&b, ev->path, ev->path_len);
		dbuf_addf(&b, ": 0x%08x -> 0x%08x", ev->old_flags, ev->new_flags);
		break;
	case VA_UEV_UNDO:
		if (c->verbose < 2)
			return;
		dbuf_addf(&b, "%sundo ", would);
		va_escape_shell(&b, ev->path, ev->path_len);
		if (ev->detail)
			dbuf_addf(&b, ": %s", ev->detail);
		break;
	case VA_UEV_GUEST:
		return;
	}
	dbuf_addc(&b, '\n');
	out_line(c, &b);
	dbuf_release(&b);
}

static void json_event(struct ucli *c, const struct va_uevent *ev)
{
	struct dbuf b = DBUF_INIT;
	const char *dry = ev->dry_run ? "true" : "false";

	switch (ev->type) {
	case VA_UEV_LINK:
	case VA_UEV_STORE:
		dbuf_addf(&b, "{\"event\":\"%s\"", ev->type == VA_UEV_LINK ? "link" : "store");
		va_json_field(&b, "path", ev->path, ev->path_len);
		va_json_field(&b, "master", ev->master, ev->master_len);
		dbuf_addf(&b, ",\"size\":%llu,\"dry_run\":%s}\n", (unsigned long long)ev->size, dry);
		break;
	case VA_UEV_REVERT:
		dbuf_adds(&b, "{\"event\":\"revert\"");
		va_json_field(&b, "path", ev->path, ev->path_len);
		dbuf_addf(&b, ",\"size\":%llu,\"dry_run\":%s}\n", (unsigned long long)ev->size, dry);
		break;
	case VA_UEV_ALREADY:
		dbuf_adds(&b, "{\"event\":\"already\"");
		va_json_field(&b, "path", ev->path, ev->path_len);
		dbuf_adds(&b, "}\n");
		break;
	case VA_UEV_SKIP:
		if (ev->skip == VA_USKIP_EXCLUDED || ev->skip == VA_USKIP_SMALL ||
		    ev->skip == VA_USKIP_NOT_REGULAR)
			return;
		dbuf_adds(&b, "{\"event\":\"skip\"");
		va_json_field(&b, "path", ev->path, ev->path_len);
		dbuf_addf(&b, ",\"reason\":\"%s\",\"text\":\"%s\",\"error\":", va_uskip_name(ev->skip),
			  va_uskip_text(ev->skip));
		if (ev->err)
			va_escape_json(&b, strerror(ev->err), strlen(strerror(ev->err)));
		else
			dbuf_adds(&b, "null");
		dbuf_adds(&b, "}\n");
		break;
	case VA_UEV_PROTECT:
		dbuf_adds(&b, "{\"event\":\"protect\"");
		va_json_field(&b, "path", ev->path, ev->path_len);
		dbuf_addf(&b, ",\"old_flags\":\"0x%08x\",\"new_flags\":\"0x%08x\"}\n", ev->old_flags,
			  ev->new_flags);
		break;
	case VA_UEV_UNDO:
	case VA_UEV_GUEST:
		return;
	}
	out_line(c, &b);
	dbuf_release(&b);
}

static void on_event(const struct va_uevent *ev, const struct va_ustats *st, void *user)
{
	struct ucli *c = user;

	c->cur = st;
	if (ev->type == VA_UEV_GUEST) {
		const char *l = ev->label ? ev->label : ev->path;
		size_t len = ev->label ? strlen(ev->label) : ev->path ? ev->path_len : 0, n = len;

		/* at most 40 bytes of it, cut between characters, escaped */
		if (n > 40)
			for (n = 40; n > 0 && ((unsigned char)l[n] & 0xc0) == 0x80; n--)
				;
		dbuf_setlen(&c->label, 0);
		if (l)
			va_escape_shell(&c->label, l, n);
		c->last.tv_sec = 0;     /* show the new tree at once */
	} else if (ev->type == VA_UEV_SKIP && ev->skip == VA_USKIP_ERROR) {
		/* errors are always reported, in both output modes */
		struct dbuf b = DBUF_INIT;

		before_stderr(c);
		ucli_quote(&b, ev->path ? ev->path : "", ev->path ? ev->path_len : 0);
		fprintf(stderr, "%s: %s: %s%s%s\n", c->prog, dbuf_str(&b),
			ev->detail ? ev->detail : "failed", ev->err ? ": " : "",
			ev->err ? strerror(ev->err) : "");
		dbuf_release(&b);
	}
	if (ev->type != VA_UEV_GUEST && ev->path) {
		if (c->json)
			json_event(c, ev);
		else
			text_event(c, ev);
	}
	show_progress(c);
}

void ucli_uopts(struct ucli *c, struct va_uopts *o)
{
	memset(o, 0, sizeof(*o));
	c->hooks.event = on_event;
	c->hooks.user = c;
	o->dry_run = c->dry_run;
	o->protect = c->protect;
	o->be = c->be;
	o->j = c->j;
	o->h = &c->hooks;
}

int ucli_ran(struct ucli *c, const struct va_ustats *st, int r)
{
	stats_add(&c->total, st);
	c->cur = NULL;
	if (r < 0 && c->j && va_journal_error(c->j) < 0) {
		/* nothing more could be journaled: no change was made after that */
		ucli_msg(c, c->jfile.buf, "cannot write the journal", strerror(-va_journal_error(c->j)));
	} else if (r < 0) {
		before_stderr(c);
		fprintf(stderr, "%s: the run stopped: %s\n", c->prog, strerror(-r));
	}
	return r;
}

/* ------------------------------------------------------------------ summary */

static void text_summary(struct ucli *c, bool revert, double t)
{
	const struct va_ustats *s = &c->total;
	struct dbuf sk = DBUF_INIT;
	char rd[32], sv[32];

	printf("%s: %llu files examined, %llu candidates, %s read in %llu files, %.1fs\n", c->prog,
	       (unsigned long long)s->examined, (unsigned long long)s->candidates,
	       ucli_human(s->read_bytes, rd), (unsigned long long)s->read_files, t);
	if (revert) {
		if (c->dry_run)
			printf("%s: would revert %llu names", c->prog, (unsigned long long)s->reverted);
		else
			printf("%s: %llu names reverted", c->prog, (unsigned long long)s->reverted);
	} else {
		if (c->dry_run)
			printf("%s: would link %llu names, would save %s, %llu already shared", c->prog,
			       (unsigned long long)s->linked, ucli_human(s->saved_bytes, sv),
			       (unsigned long long)s->already);
		else
			printf("%s: %llu names linked, %s saved, %llu already shared", c->prog,
			       (unsigned long long)s->linked, ucli_human(s->saved_bytes, sv),
			       (unsigned long long)s->already);
		if (s->stored || c->store_run)
			printf(", %s%llu new store entries", c->dry_run ? "would add " : "",
			       (unsigned long long)s->stored);
	}
	if (s->protected_)
		printf(", %s%llu flag changes", c->dry_run ? "would make " : "",
		       (unsigned long long)s->protected_);
	putchar('\n');
	for (int k = 0; k < VA_USKIP_COUNT; k++) {
		if (!s->skipped[k])
			continue;
		dbuf_addf(&sk, "%s %llu %s", sk.len ? "," : "", (unsigned long long)s->skipped[k],
			  va_uskip_name((enum va_uskip)k));
	}
	if (sk.len)
		printf("%s: skipped:%s\n", c->prog, sk.buf);
	dbuf_release(&sk);
	if (s->failed)
		printf("%s: %llu error%s (reported above)\n", c->prog, (unsigned long long)s->failed,
		       s->failed == 1 ? "" : "s");
	if (c->j)
		printf("%s: journal %s\n", c->prog, c->jfile.buf);
}

static void json_summary(struct ucli *c, bool revert, double t)
{
	const struct va_ustats *s = &c->total;
	struct dbuf b = DBUF_INIT;

	(void)revert;
	dbuf_addf(&b, "{\"event\":\"summary\",\"program\":\"%s\",\"dry_run\":%s,\"examined\":%llu,"
		  "\"candidates\":%llu,\"read_files\":%llu,\"read_bytes\":%llu,\"linked\":%llu,"
		  "\"saved_bytes\":%llu,\"already\":%llu,\"stored\":%llu,\"reverted\":%llu,"
		  "\"protected\":%llu,\"skipped\":{",
		  c->prog, c->dry_run ? "true" : "false", (unsigned long long)s->examined,
		  (unsigned long long)s->candidates, (unsigned long long)s->read_files,
		  (unsigned long long)s->read_bytes, (unsigned long long)s->linked,
		  (unsigned long long)s->saved_bytes, (unsigned long long)s->already,
		  (unsigned long long)s->stored, (unsigned long long)s->reverted,
		  (unsigned long long)s->protected_);
	for (int k = 0; k < VA_USKIP_COUNT; k++)
		dbuf_addf(&b, "%s\"%s\":%llu", k ? "," : "", va_uskip_name((enum va_uskip)k),
			  (unsigned long long)s->skipped[k]);
	dbuf_addf(&b, "},\"failed\":%llu", (unsigned long long)s->failed);
	va_json_field(&b, "journal", c->j ? c->jfile.buf : NULL, c->j ? c->jfile.len : 0);
	dbuf_addf(&b, ",\"elapsed\":%.3f}\n", t);
	out_line(c, &b);
	dbuf_release(&b);
}

int ucli_finish(struct ucli *c, bool revert, int r)
{
	struct timespec now;
	double t;

	ucli_clear_progress(c);
	clock_gettime(CLOCK_MONOTONIC, &now);
	t = elapsed(&c->start, &now);
	if (c->json) {
		json_summary(c, revert, t);
	} else {
		text_summary(c, revert, t);
	}
	if ((fflush(stdout) != 0 || ferror(stdout)) && !c->write_error)
		c->write_error = errno ? errno : EIO;
	if (c->write_error)
		fprintf(stderr, "%s: write error: %s\n", c->prog, strerror(c->write_error));
	return r || c->total.failed || c->write_error ? UCLI_EXIT_TROUBLE : UCLI_EXIT_OK;
}
