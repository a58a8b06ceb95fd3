/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit-journals.c - the journals kept in order: --journals [DIR] lists
 * them, --prune DAYS [DIR] removes the old finished ones, --show JOURNAL
 * prints one as JSON Lines.
 *
 * A journal is a file "*.journal" (not hidden) in DIR, default
 * VA_JOURNAL_DIR.  Its state comes from its records, read by the journal's
 * own loader (migrate/journal.h):
 *   interrupted  a change it records is marked neither done nor undone (a
 *                run killed or failed between intent and mark; --resume or
 *                --undo finishes it), or its last line is torn
 *   undone       every change it records is undone
 *   complete     otherwise (every change done; a journal whose undo skipped
 *                some changes keeps both counts)
 *   unreadable   not a regular file (never followed), or the loader refused
 *                it: the reason is listed
 * A clone's flags lifted for a moment (VA_CLONE_LIFT_KIND) are no change
 * once they are back (D): without the mark they count as unfinished.
 * Everything is reached through the directory's fd: entries are opened
 * O_NOFOLLOW and checked to be regular files, and --prune checks right
 * before unlinkat() that the name is still the inode it read (a rename
 * onto it in that window is not caught: no call unlinks by inode).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cli/vaudit.h"
#include "core/escape.h"
#include "core/message.h"
#include "migrate/journal.h"
#include "migrate/request.h"

#define SUFFIX ".journal"

/* What is known of one journal. */
struct jinfo {
	char *name;                     /* in the directory */
	char *file;                     /* DIR/name, for messages and records */
	struct stat st;                 /* of the file opened (or of the name, when it was not) */
	bool have_st;
	const char *state;              /* "complete", "interrupted", "undone", "unreadable" */
	const char *why;                /* unreadable: the reason (static text, or whybuf) */
	char whybuf[128];
	size_t line;                    /* ... and the line, or 0 */
	struct va_journal *j;           /* loaded, else NULL */
	const char *mode;               /* the run: fix, plan, unify, convert, clone, vcopy, or NULL */
	uint64_t changes, done, undone, pending;
};

static void jinfo_release(struct jinfo *ji)
{
	free(ji->name);
	free(ji->file);
	va_journal_free(ji->j);
}

/* The kind of run a loaded journal records. */
static const char *run_mode(const struct va_journal *j)
{
	struct va_request rq;
	const char *why = NULL, *m = NULL;

	if (strcmp(j->backend, VA_JOURNAL_UNIFY) == 0 || strcmp(j->backend, VA_JOURNAL_CONVERT) == 0 ||
	    strcmp(j->backend, VA_JOURNAL_CLONE) == 0 || strcmp(j->backend, VA_JOURNAL_VCOPY) == 0)
		return j->backend;
	if (!j->request)
		return "fix";           /* a version 1 repair journal: the request is not recorded */
	if (va_request_parse(&rq, j->request, j->request_len, &why) == 0)
		m = rq.plan ? "plan" : "fix";
	va_request_release(&rq);
	return m;
}

/* Read journal @name in @dirfd into @ji.  Return: 0 or -ENOMEM (anything else is a state). */
static int examine(int dirfd, const char *dir, const char *name, struct jinfo *ji)
{
	size_t dlen = strlen(dir);
	int fd, r;

	memset(ji, 0, sizeof(*ji));
	ji->name = strdup(name);
	ji->file = malloc(dlen + strlen(name) + 2);
	if (!ji->name || !ji->file)
		return -ENOMEM;
	sprintf(ji->file, "%s%s%s", dir, dlen && dir[dlen - 1] == '/' ? "" : "/", name);
	ji->state = "unreadable";
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r = errno;
		ji->have_st = fstatat(dirfd, name, &ji->st, AT_SYMLINK_NOFOLLOW) == 0;
		if (r == ELOOP || (ji->have_st && S_ISLNK(ji->st.st_mode))) {
			ji->why = "a symbolic link (never followed)";
		} else {
			snprintf(ji->whybuf, sizeof(ji->whybuf), "cannot open it: %s", strerror(r));
			ji->why = ji->whybuf;
		}
		return 0;
	}
	ji->have_st = fstat(fd, &ji->st) == 0;
	if (!ji->have_st || !S_ISREG(ji->st.st_mode)) {
		close(fd);
		ji->why = "not a regular file";
		return 0;
	}
	r = va_journal_load_fd(&ji->j, fd, ji->file, &ji->why, &ji->line);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		ji->j = NULL;
		if (!ji->why) {
			snprintf(ji->whybuf, sizeof(ji->whybuf), "cannot read it: %s", strerror(-r));
			ji->why = ji->whybuf;
		}
		return 0;
	}
	for (size_t i = 0; i < ji->j->nrecs; i++) {
		const struct va_journal_rec *rec = &ji->j->recs[i];
		char st;

		if (rec->type != 'I' && rec->type != 'L' && rec->type != 'C')
			continue;
		st = va_journal_state(ji->j, rec->seq);
		if (rec->type == 'I' && !strcmp(rec->kind, VA_CLONE_LIFT_KIND) && st == 'D')
			continue;
		ji->changes++;
		if (st == 'D')
			ji->done++;
		else if (st == 'U')
			ji->undone++;
		else
			ji->pending++;
	}
	ji->mode = run_mode(ji->j);
	ji->state = ji->pending || ji->j->dropped_tail ? "interrupted" :
		    ji->changes && ji->undone == ji->changes ? "undone" : "complete";
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The journal names in @dirfd, sorted, into *@ret (*@ret_n; each and the
 * array malloc'd).  Return: 0 or -errno.
 */
static int journal_names(int dirfd, char ***ret, size_t *ret_n)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int r = 0;

	if (!d) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return r;
	}
	rewinddir(d);
	while ((errno = 0, e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.' || len <= strlen(SUFFIX) ||
		    strcmp(e->d_name + len - strlen(SUFFIX), SUFFIX) != 0)
			continue;
		if (va_array_grow(&v, &cap, n, sizeof(*v)) < 0 || !(v[n] = strdup(e->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	if (!r && errno)
		r = -errno;
	closedir(d);
	if (r < 0) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return r;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*ret = v;
	*ret_n = n;
	return 0;
}

/* ------------------------------------------------------------------ output */

static void journal_record(struct dbuf *b, const struct cli *c, const struct jinfo *ji)
{
	const struct va_journal *j = ji->j;
	char date[32] = "";
	struct tm tm;

	cli_json_head(b, c, "journal");
	va_json_field(b, "file", ji->file, strlen(ji->file));
	va_json_field(b, "name", ji->name, strlen(ji->name));
	dbuf_addf(b, ",\"state\":\"%s\"", ji->state);
	if (ji->have_st && gmtime_r(&ji->st.st_mtime, &tm))
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (ji->have_st)
		dbuf_addf(b, ",\"mtime\":%lld,\"date\":\"%s\",\"size\":%lld",
			  (long long)ji->st.st_mtime, date, (long long)ji->st.st_size);
	else
		dbuf_adds(b, ",\"mtime\":null,\"date\":null,\"size\":null");
	if (j) {
		dbuf_addf(b, ",\"journal_version\":%d", j->version);
		va_json_field(b, "backend", j->backend, strlen(j->backend));
		va_json_field(b, "uuid", j->uuid, strlen(j->uuid));
		va_json_field(b, "source", j->source, j->source_len);
		va_json_field(b, "mode", ji->mode, ji->mode ? strlen(ji->mode) : 0);
		dbuf_addf(b, ",\"changes\":%llu,\"done\":%llu,\"undone\":%llu,\"pending\":%llu,"
			  "\"torn\":%s,\"error\":null,\"line\":null}\n",
			  (unsigned long long)ji->changes, (unsigned long long)ji->done,
			  (unsigned long long)ji->undone, (unsigned long long)ji->pending,
			  j->dropped_tail ? "true" : "false");
		return;
	}
	dbuf_adds(b, ",\"journal_version\":null,\"backend\":null,\"uuid\":null,\"source\":null,"
		  "\"mode\":null,\"changes\":0,\"done\":0,\"undone\":0,\"pending\":0,\"torn\":false");
	va_json_field(b, "error", ji->why, strlen(ji->why));
	if (ji->line)
		dbuf_addf(b, ",\"line\":%zu}\n", ji->line);
	else
		dbuf_adds(b, ",\"line\":null}\n");
}

/*
 * "STATE  DATE  SIZE  NAME  RUN": the run is the back end, the source
 * (ROOT or image) and the kind of run with its counts, or why the journal
 * is unreadable.
 */
static void journal_line(struct dbuf *b, const struct jinfo *ji)
{
	char date[32] = "-", size[32] = "-";
	struct tm tm;

	if (ji->have_st && localtime_r(&ji->st.st_mtime, &tm))
		strftime(date, sizeof(date), "%Y-%m-%d %H:%M", &tm);
	if (ji->have_st)
		cli_human((uint64_t)ji->st.st_size, size);
	dbuf_addf(b, "%-11s  %-16s  %9s  ", ji->state, date, size);
	va_escape_shell(b, ji->name, strlen(ji->name));
	if (!ji->j) {
		if (ji->line)
			dbuf_addf(b, "  line %zu: %s\n", ji->line, ji->why);
		else
			dbuf_addf(b, "  %s\n", ji->why);
		return;
	}
	/* unify and convert journals: the back end is the kind of run */
	if (ji->mode && strcmp(ji->mode, ji->j->backend) == 0)
		dbuf_addf(b, "  %s ", ji->mode);
	else
		dbuf_addf(b, "  %s %s ", ji->mode ? ji->mode : "?", ji->j->backend);
	va_escape_shell(b, ji->j->source, ji->j->source_len);
	dbuf_addf(b, ": %llu change%s", (unsigned long long)ji->changes, ji->changes == 1 ? "" : "s");
	if (ji->changes)
		dbuf_addf(b, " (%llu done, %llu undone, %llu unfinished)", (unsigned long long)ji->done,
			  (unsigned long long)ji->undone, (unsigned long long)ji->pending);
	if (ji->j->dropped_tail)
		dbuf_adds(b, ", last line torn");
	dbuf_addc(b, '\n');
}

/* ------------------------------------------------------------------ --prune */

/* Remove journal @ji from @dirfd if it is still the file that was read.  Return: 0 or -errno. */
static int remove_journal(int dirfd, const struct jinfo *ji)
{
	struct stat now;

	if (fstatat(dirfd, ji->name, &now, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (now.st_dev != ji->st.st_dev || now.st_ino != ji->st.st_ino || !S_ISREG(now.st_mode))
		return -ESTALE;
	return unlinkat(dirfd, ji->name, 0) < 0 ? -errno : 0;
}

/* Should --prune remove @ji (last written before @cutoff)? */
static bool prunable(const struct jinfo *ji, time_t cutoff)
{
	return ji->j && ji->have_st && ji->st.st_mtime < cutoff &&
	       (strcmp(ji->state, "complete") == 0 || strcmp(ji->state, "undone") == 0);
}

int run_journals(const struct vaudit_opts *o)
{
	const char *dir = o->nroots ? o->roots[0] : VA_JOURNAL_DIR;
	time_t cutoff = time(NULL) - (time_t)(o->prune_days > 0 ? o->prune_days : 0) * 86400;
	struct cli c;
	char **names = NULL;
	size_t n = 0, removed = 0;
	int dirfd, r, status = CLI_EXIT_OK;

	cli_init(&c, PROG);
	c.quiet = o->quiet;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		/* no repair ever ran here: nothing to list or prune */
		if (errno == ENOENT && !o->nroots)
			return CLI_EXIT_OK;
		cli_msg(&c, dir, "open directory", strerror(errno));
		return CLI_EXIT_TROUBLE;
	}
	if ((r = journal_names(dirfd, &names, &n)) < 0) {
		cli_msg(&c, dir, "read directory", strerror(-r));
		close(dirfd);
		return CLI_EXIT_TROUBLE;
	}
	for (size_t i = 0; i < n; i++) {
		struct jinfo ji;
		struct dbuf b = DBUF_INIT;

		if (examine(dirfd, dir, names[i], &ji) < 0) {
			cli_say(&c, "%s", strerror(ENOMEM));
			jinfo_release(&ji);
			status = CLI_EXIT_TROUBLE;
			break;
		}
		if (o->prune_days < 0) {
			if (o->fmt == VA_FMT_JSON)
				journal_record(&b, &c, &ji);
			else
				journal_line(&b, &ji);
		} else if (prunable(&ji, cutoff)) {
			r = o->dry_run ? 0 : remove_journal(dirfd, &ji);
			if (r < 0) {
				cli_msg(&c, ji.file, "remove", r == -ESTALE ?
					"it changed while it was read: left alone" : strerror(-r));
				status = CLI_EXIT_TROUBLE;
			} else {
				dbuf_adds(&b, o->dry_run ? "would remove " : "removed ");
				va_escape_shell(&b, ji.file, strlen(ji.file));
				dbuf_addc(&b, '\n');
				removed++;
			}
		}
		if (b.len)
			cli_write(&c, b.buf, b.len);
		dbuf_release(&b);
		jinfo_release(&ji);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (removed && !o->dry_run && fsync(dirfd) < 0) {
		cli_msg(&c, dir, "fsync directory", strerror(errno));
		status = CLI_EXIT_TROUBLE;
	}
	close(dirfd);
	if (cli_finish_output(&c))
		status = CLI_EXIT_TROUBLE;
	if (status == CLI_EXIT_OK && o->dry_run && removed)
		status = CLI_EXIT_FINDINGS;     /* a dry run that would change something */
	return status;
}

/* ------------------------------------------------------------------ --show */

/* ,"KEY":"TEXT" of a request value; a path (base64 in the request) decoded. */
static void request_value(struct dbuf *b, const char *key, size_t klen, const char *v, size_t vlen)
{
	static const char *const paths[] = { "plan", "prefix", "config-path" };
	struct dbuf k = DBUF_INIT, d = DBUF_INIT;

	dbuf_add(&k, key, klen);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (strcmp(dbuf_str(&k), paths[i]) == 0 && !(vlen == 1 && v[0] == '-') &&
		    va_unbase64(&d, v, vlen) == 0) {
			va_json_field(b, dbuf_str(&k), d.buf ? d.buf : "", d.len);
			dbuf_release(&d);
			dbuf_release(&k);
			return;
		}
	va_json_field(b, dbuf_str(&k), v, vlen);
	dbuf_release(&k);
}

/* The "request" object: each "KEY VALUE" line of the header's request. */
static void request_object(struct dbuf *b, const char *s, size_t len)
{
	const char *end = s + len;
	bool first = true;

	dbuf_adds(b, ",\"request\":{");
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s)), *sp;
		const char *e = nl ? nl : end;

		sp = memchr(s, ' ', (size_t)(e - s));
		if (sp) {
			struct dbuf f = DBUF_INIT;

			request_value(&f, s, (size_t)(sp - s), sp + 1, (size_t)(e - sp - 1));
			/* va_json_field() starts with a comma */
			dbuf_add(b, f.buf + (first ? 1 : 0), f.len - (first ? 1 : 0));
			dbuf_release(&f);
			first = false;
		}
		s = e + 1;
	}
	dbuf_addc(b, '}');
}

static const char *state_word(char st)
{
	return st == 'D' ? "done" : st == 'U' ? "undone" : "unfinished";
}

static void show_record(struct dbuf *b, const struct cli *c, const struct va_journal *j,
			const struct va_journal_rec *r, size_t line)
{
	cli_json_head(b, c, "journal-record");
	dbuf_addf(b, ",\"line\":%zu,\"type\":\"%c\",\"seq\":%llu", line, r->type,
		  (unsigned long long)r->seq);
	if (r->type == 'D' || r->type == 'U') {
		dbuf_addf(b, ",\"event\":\"%s\"}\n", r->type == 'D' ? "done" : "undone");
		return;
	}
	if (r->type == 'M') {
		/* the entry of C record seq was made: its inode and change time */
		dbuf_addf(b, ",\"event\":\"made\",\"dev\":\"%u:%u\",\"ino\":%llu,\"ctime\":\"%lld.%09u\"}\n",
			  major(r->dev), minor(r->dev), (unsigned long long)r->ino,
			  (long long)r->ctime_sec, r->ctime_nsec);
		return;
	}
	dbuf_addf(b, ",\"event\":\"%s\",\"state\":\"%s\",\"dev\":\"%u:%u\",\"ino\":%llu",
		  r->type == 'I' ? "flags" : r->type == 'L' ? "names" : "create",
		  state_word(va_journal_state(j, r->seq)), major(r->dev), minor(r->dev),
		  (unsigned long long)r->ino);
	va_json_field(b, "path", r->path ? r->path : "", r->path_len);
	if (r->type == 'I') {
		dbuf_addf(b, ",\"gen\":%u,\"kind\":", r->gen);
		va_escape_json(b, r->kind, strlen(r->kind));
		dbuf_addf(b, ",\"old_flags\":\"0x%08x\",\"old_mode\":\"%04o\","
			  "\"new_flags\":\"0x%08x\",\"new_mode\":\"%04o\"}\n",
			  r->old_flags, r->old_mode & 07777, r->new_flags, r->new_mode & 07777);
	} else if (r->type == 'L') {
		dbuf_addf(b, ",\"gen\":%u,\"op\":\"%s\",\"old_ino\":%llu", r->gen, r->kind,
			  (unsigned long long)r->old_ino);
		va_json_field(b, "tmp", r->tmp ? r->tmp : "", r->tmp_len);
		va_json_field(b, "other", r->other ? r->other : "", r->other_len);
		dbuf_adds(b, "}\n");
	} else {
		dbuf_addf(b, ",\"file_type\":\"%s\",\"ctime\":\"%lld.%09u\"", r->kind,
			  (long long)r->ctime_sec, r->ctime_nsec);
		va_json_field(b, "tmp", r->tmp ? r->tmp : "", r->tmp_len);
		dbuf_adds(b, "}\n");
	}
}

int run_show(const struct vaudit_opts *o)
{
	const char *file = o->show, *why = NULL;
	struct va_journal *j = NULL;
	struct dbuf b = DBUF_INIT;
	struct stat st;
	struct cli c;
	size_t line = 0;
	int fd, r, status = CLI_EXIT_OK;

	cli_init(&c, PROG);
	fd = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		cli_msg(&c, file, "cannot read the journal",
			errno == ELOOP ? "a symbolic link (never followed)" : strerror(errno));
		return CLI_EXIT_TROUBLE;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		cli_msg(&c, file, "cannot read the journal", "not a regular file");
		return CLI_EXIT_TROUBLE;
	}
	r = va_journal_load_fd(&j, fd, file, &why, &line);
	if (r < 0) {
		char what[64];

		snprintf(what, sizeof(what), "not a usable journal (line %zu)", line);
		if (r == -EINVAL)
			cli_msg(&c, file, what, why);
		else
			cli_msg(&c, file, "cannot read the journal", strerror(-r));
		return CLI_EXIT_TROUBLE;
	}
	cli_json_head(&b, &c, "journal-header");
	va_json_field(&b, "file", file, strlen(file));
	dbuf_addf(&b, ",\"journal_version\":%d", j->version);
	va_json_field(&b, "backend", j->backend, strlen(j->backend));
	va_json_field(&b, "uuid", j->uuid, strlen(j->uuid));
	va_json_field(&b, "source", j->source, j->source_len);
	if (j->request)
		request_object(&b, j->request, j->request_len);
	else
		dbuf_adds(&b, ",\"request\":null");
	dbuf_addf(&b, ",\"records\":%zu,\"torn\":%s}\n", j->nrecs, j->dropped_tail ? "true" : "false");
	cli_write(&c, b.buf, b.len);
	for (size_t i = 0; i < j->nrecs; i++) {
		dbuf_setlen(&b, 0);
		/* the header is line 1, records follow in file order */
		show_record(&b, &c, j, &j->recs[i], i + 2);
		cli_write(&c, b.buf, b.len);
	}
	dbuf_release(&b);
	if (cli_finish_output(&c))
		status = CLI_EXIT_TROUBLE;
	if (j->dropped_tail) {
		/* the records before it are printed; a review must know the rest is missing */
		cli_msg(&c, file, "its last line is torn",
			"a crash while writing it, or the file was cut: not shown");
		status = CLI_EXIT_TROUBLE;
	}
	va_journal_free(j);
	return status;
}
