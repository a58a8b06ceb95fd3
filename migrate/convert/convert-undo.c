/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * convert-undo.c - undo or finish the conversions a journal recorded (see
 * convert.h).  A journal is untrusted input: its paths were checked
 * beneath its root by the caller, its shape by va_convert_check_journal();
 * every entry is reached through directory fds without following a
 * symlink, and nothing is removed that is not, inode for inode, what the
 * conversion made.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "core/escape.h"
#include "core/safeopen.h"
#include "migrate/convert/convert.h"

#define TMP_PREFIX ".vaudit-convert."

/* One conversion: its top directory's record and its entries' records, by index into j->recs. */
struct group {
	size_t *idx;            /* idx[0]: the top directory */
	size_t n, cap;
};

struct run {
	struct va_journal *j;
	const struct va_jroots *jr;
	bool dry_run;
	const struct va_conv_hooks *h;
	unsigned *counts;
};

static const struct va_journal_rec *rec(const struct va_journal *j, const struct group *g, size_t i)
{
	return &j->recs[g->idx[i]];
}

/* Entry @i's path below the top directory ("" for the top itself). */
static const char *rel(const struct va_journal *j, const struct group *g, size_t i)
{
	const struct va_journal_rec *top = rec(j, g, 0), *r = rec(j, g, i);

	return i == 0 ? "" : r->path + top->path_len + 1;
}

/* ------------------------------------------------------------------ the shape of the journal */

static int refuse(struct va_jroots_error *e, const struct va_journal_rec *r, const char *why)
{
	*e = (struct va_jroots_error){ .why = why, .path = r->path, .path_len = r->path_len, .seq = r->seq };
	return -EPERM;
}

/* Does @r lie directly in the directory @dir (@len bytes)? */
static bool directly_in(const struct va_journal_rec *r, const char *dir, size_t len)
{
	return r->path_len > len + 1 && memcmp(r->path, dir, len) == 0 && r->path[len] == '/' &&
	       !memchr(r->path + len + 1, '/', r->path_len - len - 1);
}

int va_convert_check_journal(const struct va_journal *j, struct va_jroots_error *e)
{
	const struct va_journal_rec *top = NULL;
	size_t first = 0;

	for (size_t i = 0; i < j->nrecs; i++) {
		const struct va_journal_rec *r = &j->recs[i];
		bool parent_ok = false;

		if (r->type != 'C')
			continue;
		if (r->tmp_len) {
			if (strcmp(r->kind, "d"))
				return refuse(e, r, "a conversion's top entry that is not a directory");
			if (!directly_in(r, j->source, j->source_len))
				return refuse(e, r, "a conversion outside the journal's configuration directory");
			if (r->tmp_len <= strlen(TMP_PREFIX) || memcmp(r->tmp, TMP_PREFIX, strlen(TMP_PREFIX)))
				return refuse(e, r, "a temporary name vaudit does not make");
			top = r;
			first = i;
			continue;
		}
		if (!top)
			return refuse(e, r, "an entry before its conversion's top directory");
		/* beneath the top, its parent recorded before it, and new */
		if (r->path_len <= top->path_len + 1 || memcmp(r->path, top->path, top->path_len) ||
		    r->path[top->path_len] != '/')
			return refuse(e, r, "an entry outside its conversion's directory");
		for (size_t k = first; k < i; k++) {
			const struct va_journal_rec *p = &j->recs[k];

			if (p->type != 'C')
				continue;
			if (p->path_len == r->path_len && !memcmp(p->path, r->path, r->path_len))
				return refuse(e, r, "an entry recorded twice");
			if (!strcmp(p->kind, "d") && directly_in(r, p->path, p->path_len))
				parent_ok = true;
		}
		if (!parent_ok)
			return refuse(e, r, "an entry whose directory was not recorded before it");
	}
	return 0;
}

/* The conversions of @j in file order.  Return: the count, or -ENOMEM. */
static long groups(const struct va_journal *j, struct group **ret)
{
	struct group *g = NULL;
	size_t n = 0, cap = 0;

	for (size_t i = 0; i < j->nrecs; i++) {
		if (j->recs[i].type != 'C')
			continue;
		if (j->recs[i].tmp_len) {
			if (va_array_grow(&g, &cap, n, sizeof(*g)) < 0)
				goto nomem;
			g[n++] = (struct group){ 0 };
		}
		if (!n || va_array_grow(&g[n - 1].idx, &g[n - 1].cap, g[n - 1].n, sizeof(size_t)) < 0)
			goto nomem;
		g[n - 1].idx[g[n - 1].n++] = i;
	}
	*ret = g;
	return (long)n;
nomem:
	for (size_t k = 0; k < n; k++)
		free(g[k].idx);
	free(g);
	return -ENOMEM;
}

/* ------------------------------------------------------------------ the tree as it is */

/* Is @st the entry @r recorded (inode, type, and for files and symlinks the status change time)? */
static bool same(const struct stat *st, const struct va_journal_rec *r)
{
	char type = S_ISDIR(st->st_mode) ? 'd' : S_ISLNK(st->st_mode) ? 'l' : S_ISREG(st->st_mode) ? 'f' : 0;

	if (st->st_dev != r->dev || (uint64_t)st->st_ino != r->ino || type != r->kind[0])
		return false;
	return type == 'd' || (st->st_ctim.tv_sec == r->ctime_sec &&
			       (uint32_t)st->st_ctim.tv_nsec == r->ctime_nsec);
}

/*
 * Open the directory holding @path beneath the tree @tfd, and its last
 * component to @base.  Return: the fd or -errno.
 */
static int open_parent(int tfd, const char *path, char base[NAME_MAX + 1])
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	snprintf(base, NAME_MAX + 1, "%s", slash ? slash + 1 : path);
	if (!slash) {
		fd = fcntl(tfd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	if (!(dir = strndup(path, (size_t)(slash - path))))
		return -ENOMEM;
	fd = va_safeopen_beneath(tfd, dir, O_RDONLY | O_DIRECTORY, 0);
	free(dir);
	return fd;
}

static void say_path(struct dbuf *why, const char *lead, const struct va_journal_rec *top, const char *r,
		     const char *name)
{
	struct dbuf p = DBUF_INIT;

	dbuf_add(&p, top->path, top->path_len);
	if (*r)
		dbuf_addf(&p, "/%s", r);
	if (name)
		dbuf_addf(&p, "/%s", name);
	dbuf_adds(why, lead);
	va_escape_shell(why, p.buf, p.len);
	dbuf_release(&p);
}

/* Is @name an entry recorded directly in directory entry @d of @g? */
static bool recorded_in(const struct va_journal *j, const struct group *g, size_t d, const char *name)
{
	const char *dr = rel(j, g, d);
	size_t dlen = strlen(dr);

	for (size_t i = 1; i < g->n; i++) {
		const char *r = rel(j, g, i);
		const char *base = dlen ? r + dlen + 1 : r;

		if (dlen && (strncmp(r, dr, dlen) || r[dlen] != '/'))
			continue;
		if (!strchr(base, '/') && !strcmp(base, name))
			return true;
	}
	return false;
}

/* Has directory @fd (entry @d of @g) only entries the conversion made?  Closes @fd. */
static int only_recorded(const struct va_journal *j, const struct group *g, size_t d, int fd,
			 struct dbuf *why)
{
	DIR *dir = fdopendir(fd);
	struct dirent *de;
	int r = 0;

	if (!dir) {
		r = -errno;
		close(fd);
		return r;
	}
	errno = 0;
	while (r == 0 && (de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!recorded_in(j, g, d, de->d_name)) {
			say_path(why, "it holds an entry the conversion did not make: ", rec(j, g, 0),
				 rel(j, g, d), de->d_name);
			r = -ESTALE;
		}
	}
	if (r == 0 && errno)
		r = -errno;
	closedir(dir);
	return r;
}

/*
 * Is the tree @tfd still what conversion @g made, entry for entry?  An
 * entry that is gone is fine when @allow_missing (what an undo cut short
 * leaves).  Return: 0, -ESTALE with @why saying what differs, or -errno.
 */
static int verify(const struct va_journal *j, const struct group *g, int tfd, bool allow_missing,
		  struct dbuf *why)
{
	const struct va_journal_rec *top = rec(j, g, 0);
	char base[NAME_MAX + 1];
	struct stat st;
	int r = 0;

	for (size_t i = 0; i < g->n && r == 0; i++) {
		const struct va_journal_rec *e = rec(j, g, i);
		int pfd, fd;

		pfd = i == 0 ? -1 : open_parent(tfd, rel(j, g, i), base);
		if (i && pfd < 0) {
			if (pfd == -ENOENT && allow_missing)
				continue;
			if (pfd == -ENOENT || pfd == -ELOOP || pfd == -ENOTDIR) {
				say_path(why, "it changed since the conversion: ", top, rel(j, g, i), NULL);
				return -ESTALE;
			}
			return pfd;
		}
		if (i == 0 ? fstat(tfd, &st) < 0 : fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			if (pfd >= 0)
				close(pfd);
			if (r == -ENOENT && allow_missing) {
				r = 0;
				continue;
			}
			if (r == -ENOENT) {
				say_path(why, "an entry the conversion made is gone: ", top, rel(j, g, i), NULL);
				r = -ESTALE;
			}
			break;
		}
		if (!same(&st, e)) {
			if (pfd >= 0)
				close(pfd);
			say_path(why, "it changed since the conversion: ", top, rel(j, g, i), NULL);
			return -ESTALE;
		}
		if (e->kind[0] != 'd') {
			close(pfd);
			continue;
		}
		if (i == 0) {
			fd = fcntl(tfd, F_DUPFD_CLOEXEC, 0);
			if (fd < 0)
				return -errno;
		} else {
			fd = va_safeopen_at(pfd, base, O_RDONLY | O_DIRECTORY, 0);
			close(pfd);
			if (fd < 0)
				return fd;
		}
		r = only_recorded(j, g, i, fd, why);
	}
	return r;
}

/* Remove the entries of @g beneath @tfd, last made first (those already gone are fine). */
static int remove_entries(const struct va_journal *j, const struct group *g, int tfd)
{
	char base[NAME_MAX + 1];
	struct stat st;

	for (size_t i = g->n; i-- > 1;) {
		const struct va_journal_rec *e = rec(j, g, i);
		int pfd = open_parent(tfd, rel(j, g, i), base), r = 0;

		if (pfd == -ENOENT)
			continue;
		if (pfd < 0)
			return pfd;
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = errno == ENOENT ? 0 : -errno;
		else if (!same(&st, e))
			r = -ESTALE;    /* changed since it was verified */
		else if (unlinkat(pfd, base, e->kind[0] == 'd' ? AT_REMOVEDIR : 0) < 0)
			r = -errno;
		close(pfd);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ replay */

static void event(struct run *run, enum va_conv_event ev, const struct va_journal_rec *top, const char *why,
		  int err)
{
	run->counts[ev]++;
	if (run->h && run->h->event)
		run->h->event(ev, top->path, top->path_len, why, err, run->h->user);
}

static void mark_all(struct va_journal *j, const struct group *g, char type)
{
	for (size_t i = 0; i < g->n; i++) {
		struct va_journal_rec m = { .type = type, .seq = rec(j, g, i)->seq };

		(void)va_journal_add(j, &m);    /* a failure sticks in j->err */
	}
}

/* Where conversion @g's tree is: 1 under its name, 2 under its temporary name, 0 neither. */
static int locate(int dirfd, const char *name, const struct va_journal_rec *top, bool *name_taken)
{
	struct stat st;

	*name_taken = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (*name_taken && same(&st, top))
		return 1;
	if (fstatat(dirfd, top->tmp, &st, AT_SYMLINK_NOFOLLOW) == 0 && same(&st, top))
		return 2;
	return 0;
}

static int replay_one(struct run *run, const struct group *g, enum va_replay mode)
{
	struct va_journal *j = run->j;
	const struct va_journal_rec *top = rec(j, g, 0);
	const struct va_safeopen_id id = { .dev = top->dev, .ino = top->ino, .type = S_IFDIR };
	char name[NAME_MAX + 1], state = va_journal_state(j, top->seq);
	bool undo = mode == VA_REPLAY_UNDO, taken;
	struct dbuf why = DBUF_INIT;
	int dirfd, tfd = -1, where, r;

	if (state == 'U' || (!undo && state == 'D'))
		return 0;       /* done before, or undone: a resume does not bring it back */
	r = va_jroots_open_parent(run->jr, top->path, top->path_len, &dirfd, name);
	if (r < 0) {
		event(run, VA_CONV_SKIPPED, top, "its configuration directory cannot be opened", -r);
		return 0;
	}
	where = locate(dirfd, name, top, &taken);
	if (where == 0) {
		if (undo && !taken)
			event(run, VA_CONV_DONE, top, "it was already gone", 0);
		else if (undo)
			event(run, VA_CONV_SKIPPED, top, "it is another directory now: left alone", 0);
		else
			event(run, VA_CONV_SKIPPED, top, "the directory the conversion built is gone", 0);
		if (undo && !taken && !run->dry_run)
			mark_all(j, g, 'U');
		goto out;
	}
	if (!undo && where == 1) {
		event(run, VA_CONV_DONE, top, "it was already in place", 0);
		if (!run->dry_run)
			mark_all(j, g, 'D');
		goto out;
	}
	if (!undo && taken) {
		event(run, VA_CONV_SKIPPED, top, "the name exists: nothing is replaced", 0);
		goto out;
	}
	tfd = va_safeopen_verified(dirfd, where == 1 ? name : top->tmp, O_RDONLY | O_DIRECTORY, 0, &id,
				   NULL);
	if (tfd < 0) {
		event(run, VA_CONV_SKIPPED, top, "it cannot be opened", -tfd);
		goto out;
	}
	/* an undo cut short may have removed some entries of the hidden tree */
	r = verify(j, g, tfd, undo && where == 2, &why);
	if (r == -ESTALE) {
		dbuf_adds(&why, undo ? ": left alone" : ": not put in place");
		event(run, VA_CONV_SKIPPED, top, dbuf_str(&why), 0);
		r = 0;
		goto out;
	}
	if (r < 0) {
		event(run, VA_CONV_SKIPPED, top, "it cannot be read", -r);
		r = 0;
		goto out;
	}
	if (run->dry_run) {
		event(run, VA_CONV_WOULD, top, NULL, 0);
		goto out;
	}
	if (!undo) {
		/* finish: the complete tree into place, never over anything */
		if (renameat2(dirfd, top->tmp, dirfd, name, RENAME_NOREPLACE) < 0 || fsync(dirfd) < 0)
			r = -errno;
		if (r == 0)
			mark_all(j, g, 'D');
	} else {
		/* the name goes first, at once; then what is behind it */
		if (where == 1 && (renameat2(dirfd, name, dirfd, top->tmp, RENAME_NOREPLACE) < 0 ||
				   fsync(dirfd) < 0))
			r = -errno;
		if (r == 0)
			r = remove_entries(j, g, tfd);
		if (r == 0) {
			struct stat st;

			if (fstatat(dirfd, top->tmp, &st, AT_SYMLINK_NOFOLLOW) < 0 || !same(&st, top))
				r = -ESTALE;
			else if (unlinkat(dirfd, top->tmp, AT_REMOVEDIR) < 0 || fsync(dirfd) < 0)
				r = -errno;
		}
		if (r == 0)
			mark_all(j, g, 'U');
	}
	if (r < 0)
		event(run, VA_CONV_FAILED, top,
		      undo && where == 1 ? "not fully removed (the rest is under its temporary name)" : NULL,
		      -r);
	else
		event(run, VA_CONV_DONE, top, NULL, 0);
out:
	dbuf_release(&why);
	if (tfd >= 0)
		close(tfd);
	close(dirfd);
	return r;
}

int va_convert_replay(struct va_journal *j, enum va_replay mode, const struct va_jroots *jr,
		      bool dry_run, const struct va_conv_hooks *h, unsigned counts[4])
{
	struct run run = { .j = j, .jr = jr, .dry_run = dry_run, .h = h, .counts = counts };
	struct group *g;
	long n = groups(j, &g);
	int r = 0;

	if (n < 0)
		return (int)n;
	for (long k = 0; k < n && r == 0; k++)
		r = replay_one(&run, &g[mode == VA_REPLAY_UNDO ? n - 1 - k : k], mode);
	for (long k = 0; k < n; k++)
		free(g[k].idx);
	free(g);
	return r;
}
