/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clone-undo.c - remove what a clone journal records (see clone.h).  A
 * journal is untrusted input: its paths were checked beneath its roots by
 * the caller; every entry is reached through its directory's fd without
 * following a symlink and removed only while it is what the clone made.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/inomap.h"
#include "core/safeopen.h"
#include "migrate/clone/clone.h"

#define BLOCKING ((uint32_t)(VA_FL_IMMUTABLE | VA_FL_APPEND))

struct urun {
	struct va_journal *j;
	const struct va_jroots *jr;
	struct va_backend *be;
	bool dry_run;
	const struct va_clone_rhooks *h;
	unsigned *counts;
	const struct va_journal_rec **made;     /* by seq: its 'M' record, or NULL */
	struct va_inomap inodes;                /* inodes the clone made -> index in @ctimes */
	struct timespec *ctimes;                /* ... the status change time they should have */
	size_t nctimes;
};

static void event(struct urun *u, enum va_clone_rev ev, const struct va_journal_rec *r, const char *why,
		  int err)
{
	u->counts[ev]++;
	if (u->h && u->h->event)
		u->h->event(ev, r->path, r->path_len, why, err, u->h->user);
}

static void mark_undone(struct urun *u, uint64_t seq)
{
	struct va_journal_rec m = { .type = 'U', .seq = seq };

	if (!u->dry_run)
		(void)va_journal_add(u->j, &m);        /* a failure sticks in j->err */
}

/* ------------------------------------------------------------------ the shape of the journal */

/* An 'I' record of the clone: flags lifted for a link (a vcopy's others are its links'). */
static bool is_lift(const struct va_journal_rec *r)
{
	return r->type == 'I' && !strcmp(r->kind, VA_CLONE_LIFT_KIND);
}

static int cmp_path(const void *a, const void *b)
{
	const struct va_journal_rec *x = *(const struct va_journal_rec *const *)a;
	const struct va_journal_rec *y = *(const struct va_journal_rec *const *)b;
	size_t n = x->path_len < y->path_len ? x->path_len : y->path_len;
	int c = memcmp(x->path, y->path, n);

	return c ? c : (x->path_len > y->path_len) - (x->path_len < y->path_len);
}

int va_clone_check_journal(const struct va_journal *j, struct va_jroots_error *e)
{
	const struct va_journal_rec **c = calloc(j->nrecs + 1, sizeof(*c));
	char *kind = calloc(j->next_seq + 1, 1);
	bool vcopy = !strcmp(j->backend, VA_JOURNAL_VCOPY);
	size_t n = 0;
	int r = 0;

	if (!c || !kind) {
		free(c);
		free(kind);
		return -ENOMEM;
	}
	for (size_t i = 0; i < j->nrecs && r == 0; i++) {
		const struct va_journal_rec *rec = &j->recs[i];

		if (rec->type == 'C' || rec->type == 'I')
			kind[rec->seq] = rec->type;
		if (rec->type == 'C')
			c[n++] = rec;
		/* a vcopy's links (the unify engine's records) all come before its first entry made */
		if (rec->type == 'L' || (rec->type == 'I' && !is_lift(rec))) {
			if (!vcopy || n) {
				*e = (struct va_jroots_error){
					.why = vcopy ? "a link recorded after the entries made" :
						       "a change of another kind of run",
					.path = rec->path, .path_len = rec->path_len, .seq = rec->seq };
				r = -EPERM;
			}
		}
		if (rec->type == 'M' && kind[rec->seq] != 'C') {
			*e = (struct va_jroots_error){ .why = "a made mark for a change that is not an entry",
						       .seq = rec->seq };
			r = -EPERM;
		}
	}
	if (r == 0) {
		qsort(c, n, sizeof(*c), cmp_path);
		for (size_t i = 1; i < n && r == 0; i++)
			if (!cmp_path(&c[i - 1], &c[i])) {
				*e = (struct va_jroots_error){ .why = "an entry recorded twice", .path = c[i]->path,
							       .path_len = c[i]->path_len, .seq = c[i]->seq };
				r = -EPERM;
			}
	}
	free(c);
	free(kind);
	return r;
}

/* ------------------------------------------------------------------ what was made */

static int index_made(struct urun *u)
{
	const struct va_journal *j = u->j;
	uint32_t v;

	u->made = calloc(j->next_seq + 1, sizeof(*u->made));
	u->ctimes = calloc(j->nrecs + 1, sizeof(*u->ctimes));
	if (!u->made || !u->ctimes)
		return -ENOMEM;
	for (size_t i = 0; i < j->nrecs; i++)
		if (j->recs[i].type == 'M')
			u->made[j->recs[i].seq] = &j->recs[i];
	/* the inodes the clone made, and the state its last change of their names left */
	for (size_t i = 0; i < j->nrecs; i++) {
		const struct va_journal_rec *r = &j->recs[i], *m;

		if (r->type != 'C' || !(m = u->made[r->seq]))
			continue;
		if (r->kind[0] != 'h' && r->kind[0] != 'd' &&
		    va_inomap_insert(&u->inodes, m->dev, m->ino, (uint32_t)u->nctimes++) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < j->nrecs; i++) {
		const struct va_journal_rec *m = &j->recs[i];

		if (m->type == 'M' && va_inomap_find(&u->inodes, m->dev, m->ino, &v))
			u->ctimes[v] = (struct timespec){ m->ctime_sec, m->ctime_nsec };
	}
	return 0;
}

static char type_of(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR:
		return 'd';
	case S_IFREG:
		return 'f';
	case S_IFLNK:
		return 'l';
	case S_IFIFO:
		return 'p';
	case S_IFCHR:
		return 'c';
	case S_IFBLK:
		return 'b';
	default:
		return 0;
	}
}

/* Is @st (the entry at the path of @r now) what the clone made?  @why when not. */
static bool is_made(const struct urun *u, const struct va_journal_rec *r, const struct stat *st,
		    const char **why)
{
	const struct va_journal_rec *m = u->made[r->seq];
	char t = type_of(st->st_mode);
	uint32_t v;

	*why = "it is another entry now: left alone";
	if (r->kind[0] == 'h' ? t != 'f' : t != r->kind[0])
		return false;
	if (m) {
		if (st->st_dev != m->dev || (uint64_t)st->st_ino != m->ino)
			return false;
		*why = "it changed since the clone: left alone";
		if (t != 'd' && va_inomap_find(&u->inodes, m->dev, m->ino, &v) &&
		    (st->st_ctim.tv_sec != u->ctimes[v].tv_sec || st->st_ctim.tv_nsec != u->ctimes[v].tv_nsec))
			return false;
		return true;
	}
	/* made or not when the clone stopped: only what was made then */
	if (r->kind[0] == 'h')
		return st->st_dev == r->dev && (uint64_t)st->st_ino == r->ino;
	return st->st_dev == r->dev && (st->st_ctim.tv_sec > r->ctime_sec ||
					(st->st_ctim.tv_sec == r->ctime_sec &&
					 (uint32_t)st->st_ctim.tv_nsec >= r->ctime_nsec));
}

static int set_flags(struct urun *u, int fd, const struct stat *st, uint32_t flags)
{
	struct va_attr_target t = { .fd = fd, .dir_fd = -1, .dev = st->st_dev, .ino = st->st_ino,
				    .mode = st->st_mode };

	return va_backend_set(u->be, &t, flags, st->st_mode & 07777);
}

static int get_flags(struct urun *u, int fd, const struct stat *st, uint32_t *flags)
{
	struct va_attr_target t = { .fd = fd, .dir_fd = -1, .dev = st->st_dev, .ino = st->st_ino,
				    .mode = st->st_mode };
	struct va_attrs at = { 0 };
	int r = va_backend_read(u->be, &t, &at);

	*flags = at.flags;
	return r;
}

/*
 * Unlink the file @base of @dirfd, inode @st: a unified inode whose flags
 * forbid it on this kernel has them lifted for the unlink and put back.
 */
static int unlink_file(struct urun *u, int dirfd, const char *base, const struct stat *st)
{
	const struct va_safeopen_id id = { .dev = st->st_dev, .ino = st->st_ino, .type = S_IFREG };
	uint32_t flags;
	int fd, r, q;

	if (unlinkat(dirfd, base, 0) == 0)
		return 0;
	if (errno != EPERM || !S_ISREG(st->st_mode))
		return -errno;
	fd = va_safeopen_verified(dirfd, base, O_RDONLY | O_NONBLOCK, VA_SAFEOPEN_LOOK_FIRST, &id, NULL);
	if (fd < 0)
		return fd;
	r = get_flags(u, fd, st, &flags);
	if (r == 0 && !(flags & BLOCKING))
		r = -EPERM;
	if (r == 0)
		r = set_flags(u, fd, st, flags & ~BLOCKING);
	if (r == 0) {
		r = unlinkat(dirfd, base, 0) < 0 ? -errno : 0;
		q = set_flags(u, fd, st, flags);
		if (r == 0)
			r = q;
	}
	close(fd);
	return r;
}

static void undo_entry(struct urun *u, const struct va_journal_rec *r)
{
	char base[NAME_MAX + 1];
	const char *why = NULL;
	struct stat st, after;
	int dirfd = -1, fd = -1, e;
	uint32_t v;

	e = va_jroots_open_parent(u->jr, r->path, r->path_len, &dirfd, base);
	if (e == -ENOENT) {
		event(u, VA_CLONE_REV_DONE, r, "it was already gone", 0);
		mark_undone(u, r->seq);
		return;
	}
	if (e < 0) {
		event(u, VA_CLONE_REV_SKIPPED, r, "its directory cannot be opened", -e);
		return;
	}
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		e = errno;
		if (e == ENOENT) {
			event(u, VA_CLONE_REV_DONE, r, "it was already gone", 0);
			mark_undone(u, r->seq);
		} else {
			event(u, VA_CLONE_REV_SKIPPED, r, "it cannot be looked at", e);
		}
		goto out;
	}
	if (!is_made(u, r, &st, &why)) {
		event(u, VA_CLONE_REV_SKIPPED, r, why, 0);
		goto out;
	}
	if (u->dry_run) {
		event(u, VA_CLONE_REV_WOULD, r, NULL, 0);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		e = unlinkat(dirfd, base, AT_REMOVEDIR) < 0 ? errno : 0;
		if (e == ENOTEMPTY || e == EEXIST) {
			event(u, VA_CLONE_REV_SKIPPED, r, "it holds entries the clone did not make: left alone", 0);
			goto out;
		}
	} else {
		/* the inode's state after the unlink is what its other names must have */
		fd = openat(dirfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &after) < 0 || after.st_ino != st.st_ino || after.st_dev != st.st_dev) {
			e = fd < 0 ? errno : ESTALE;
		} else {
			e = -unlink_file(u, dirfd, base, &st);
			if (e == 0 && fstat(fd, &after) == 0 && after.st_nlink > 0 &&
			    va_inomap_find(&u->inodes, after.st_dev, after.st_ino, &v))
				u->ctimes[v] = after.st_ctim;
		}
	}
	if (e == 0 && fsync(dirfd) < 0)
		e = errno;
	if (e) {
		event(u, VA_CLONE_REV_FAILED, r, NULL, e);
		goto out;
	}
	event(u, VA_CLONE_REV_DONE, r, NULL, 0);
	mark_undone(u, r->seq);
out:
	if (fd >= 0)
		close(fd);
	close(dirfd);
}

/* An 'I' record not marked done: the flags lifted for a link are put back. */
static void undo_flags(struct urun *u, const struct va_journal_rec *r)
{
	const struct va_safeopen_id id = { .dev = r->dev, .ino = r->ino, .type = S_IFREG };
	char base[NAME_MAX + 1];
	struct stat st;
	uint32_t flags;
	int dirfd, fd, e;

	e = va_jroots_open_parent(u->jr, r->path, r->path_len, &dirfd, base);
	if (e < 0) {
		event(u, VA_CLONE_REV_SKIPPED, r, "its directory cannot be opened", -e);
		return;
	}
	fd = va_safeopen_verified(dirfd, base, O_RDONLY | O_NONBLOCK, VA_SAFEOPEN_LOOK_FIRST, &id, NULL);
	close(dirfd);
	if (fd < 0) {
		event(u, VA_CLONE_REV_SKIPPED, r, "it is not the file whose flags were lifted", -fd);
		return;
	}
	e = fstat(fd, &st) < 0 ? -errno : get_flags(u, fd, &st, &flags);
	if (e == 0 && flags != r->new_flags) {
		/* put back already, or changed since: nothing to do */
		close(fd);
		mark_undone(u, r->seq);
		return;
	}
	if (e == 0 && u->dry_run) {
		event(u, VA_CLONE_REV_WOULD, r, "its flags put back", 0);
		close(fd);
		return;
	}
	if (e == 0)
		e = set_flags(u, fd, &st, r->old_flags);
	if (e == 0 && fsync(fd) < 0)
		e = -errno;
	close(fd);
	if (e < 0) {
		event(u, VA_CLONE_REV_FAILED, r, "its flags cannot be put back", -e);
		return;
	}
	event(u, VA_CLONE_REV_DONE, r, "its flags put back", 0);
	mark_undone(u, r->seq);
}

int va_clone_replay(struct va_journal *j, enum va_replay mode, const struct va_jroots *jr,
		    struct va_backend *be, bool dry_run, const struct va_clone_rhooks *h,
		    unsigned counts[4])
{
	struct urun u = { .j = j, .jr = jr, .be = be, .dry_run = dry_run, .h = h, .counts = counts };
	int r;

	if (mode != VA_REPLAY_UNDO)
		return -EOPNOTSUPP;
	r = index_made(&u);
	for (size_t i = j->nrecs; r == 0 && i-- > 0;) {
		const struct va_journal_rec *rec = &j->recs[i];
		char state;

		if (rec->type != 'C' && !is_lift(rec))
			continue;
		state = va_journal_state(j, rec->seq);
		if (state == 'U')
			continue;
		if (rec->type == 'I') {
			if (state != 'D')
				undo_flags(&u, rec);
			continue;
		}
		undo_entry(&u, rec);
		r = va_journal_error(j);
	}
	free(u.made);
	free(u.ctimes);
	va_inomap_release(&u.inodes);
	return r;
}
