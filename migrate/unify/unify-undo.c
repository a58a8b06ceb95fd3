/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-undo.c - replaying a unify journal.
 *
 * Paths in a unify journal are absolute real paths; each one is reached
 * again beneath the root of the journal's header it lies in, with
 * openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), and checked against the
 * recorded device and inode before anything changes.  Undo goes newest
 * first, so a shared inode's protection is lifted before its names are
 * given back their private copies.  Resume decides, for each change that
 * has no done/undone mark, from the files themselves whether it happened,
 * and removes what a crash left of it (a temporary name).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/flags.h"
#include "migrate/unify/unify-int.h"

/* A private copy made ahead of its swap (undo of links, in windows). */
struct prepared {
	int cfd;                /* the shared inode, opened at the record's name */
	struct statx was;       /* ... as it was when copied */
	int copyfd;             /* the copy (owned), or -1 */
	int copy_of;            /* or: the copy of an earlier record of the window (index), or -1 */
	bool ready;
};

/* Names restored to one inode: the first copy of each old inode. */
struct restored {
	uint64_t copy_ino;      /* the copy's inode */
	size_t rec;             /* index in j->recs of the name that got it */
};

/* One replay. */
struct replay_run {
	struct ustate *u;
	struct va_journal *j;
	enum va_replay mode;
	bool dirty;             /* names or flags restored since the last syncfs */
	bool unsynced;          /* anything changed since the last syncfs */
	int syncfd;             /* a directory on the guests' filesystem, or -1 */
	/* undo: names that were one inode (OLDINO) become one inode again */
	struct va_inomap groups;        /* (dev, old_ino) -> index in @restored */
	struct restored *restored;
	size_t nrestored, caprestored;
	struct prepared *window;        /* the copies made ahead */
	size_t nwindow;
};

struct replay {
	struct ustate *u;
	struct va_journal *j;
	enum va_replay mode;
	struct replay_run *run;
	const struct va_journal_rec *rec;
	int dirfd;              /* parent of rec->path */
	char base[NAME_MAX + 1];
	struct prepared *prep;  /* a copy made ahead, or NULL */
};

/*
 * This replay changed the shared inode @dev/@ino (a name less, its flags):
 * the copies made ahead of it expect that state now.
 */
static void window_follow(struct replay_run *run, dev_t dev, uint64_t ino, const struct prepared *except)
{
	for (size_t k = 0; k < run->nwindow; k++) {
		struct prepared *o = &run->window[k];

		if (o->ready && o != except && o->was.stx_ino == ino &&
		    makedev(o->was.stx_dev_major, o->was.stx_dev_minor) == dev)
			(void)statx(o->cfd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &o->was);
	}
}

static void done_event(struct replay *rp, const char *what)
{
	struct va_uevent ev = {
		.type = VA_UEV_UNDO, .path = rp->rec->path, .path_len = rp->rec->path_len,
		.detail = what,
	};

	u_event(rp->u, &ev);
}

static void skip(struct replay *rp, enum va_uskip why, int err, const char *detail)
{
	u_skip_path(rp->u, rp->rec->path, rp->rec->path_len, NULL, why, err, detail);
}

static int mark(struct replay *rp, char type)
{
	struct va_journal_rec rec = { .type = type, .seq = rp->rec->seq };

	if (rp->u->o->dry_run)
		return 0;
	/* after the fact: losing it in a crash only means the state is read again */
	return va_journal_add(rp->j, &rec);
}

/*
 * Open the parent directory of the recorded path: beneath the journal's
 * root it names, without a symlink or "..".
 */
static int open_parent(const struct replay *rp, const char *path, size_t len, int *dirfd, char *base)
{
	return va_jroots_open_parent(rp->u->o->roots, path, len, dirfd, base);
}

static int lstat_at(int dirfd, const char *name, struct statx *stx)
{
	return statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, stx) < 0 ? -errno : 0;
}

static bool is_inode(const struct statx *s, dev_t dev, uint64_t ino)
{
	return makedev(s->stx_dev_major, s->stx_dev_minor) == dev && s->stx_ino == ino;
}

/* ------------------------------------------------------------------ flags */

static void replay_flags(struct replay *rp)
{
	const struct va_journal_rec *rec = rp->rec;
	struct ustate *u = rp->u;
	bool undo = rp->mode == VA_REPLAY_UNDO;
	uint32_t from = undo ? rec->new_flags : rec->old_flags, to = undo ? rec->old_flags : rec->new_flags;
	struct statx stx;
	struct va_attrs cur = { 0 }, after = { 0 };
	struct va_attr_target t;
	unsigned int gen = 0;
	int fd, r;

	fd = va_open_regular(rp->dirfd, rp->base, rec->dev, rec->ino, &stx);
	if (fd == -ENOENT && va_journal_state(rp->j, rec->seq) == 0) {
		/* not marked done: a store entry the run was killed before making */
		if (mark(rp, 'U') == 0)
			done_event(rp, "flag change not made: the file does not exist");
		return;
	}
	if (fd < 0) {
		skip(rp, VA_USKIP_CHANGED, 0, "its path no longer leads to the recorded inode");
		return;
	}
	if (ioctl(fd, FS_IOC_GETVERSION, &gen) == 0 && rec->gen && gen != rec->gen) {
		skip(rp, VA_USKIP_CHANGED, 0, "its inode generation changed: another file now");
		goto out;
	}
	t = (struct va_attr_target){ .fd = fd, .dir_fd = rp->dirfd, .name = rp->base, .dev = rec->dev,
				     .ino = rec->ino, .mode = stx.stx_mode };
	r = u->o->be ? va_backend_read(u->o->be, &t, &cur) : -EOPNOTSUPP;
	if (r < 0) {
		skip(rp, VA_USKIP_ERROR, -r, "cannot read its flags");
		goto out;
	}
	if (cur.flags == to) {
		if (mark(rp, undo ? 'U' : 'D') == 0)
			done_event(rp, "flags already in that state");
		goto out;
	}
	if (cur.flags != from) {
		if (!undo) {
			mark(rp, 'U');
			done_event(rp, "flag change not made: abandoned");
		} else {
			skip(rp, VA_USKIP_CHANGED, 0, "its flags are not what the journal left");
		}
		goto out;
	}
	if (u->o->dry_run) {
		done_event(rp, undo ? "would restore its flags" : "would set its flags");
		goto out;
	}
	r = va_backend_write(u->o->be, &t, to, stx.stx_mode & 07777, &after);
	if (r < 0) {
		skip(rp, VA_USKIP_ERROR, -r, "cannot change its flags");
		goto out;
	}
	u->st->protected_++;
	rp->run->dirty = true;
	window_follow(rp->run, rec->dev, rec->ino, NULL);
	if (mark(rp, undo ? 'U' : 'D') == 0)
		done_event(rp, undo ? "flags restored" : "flags set");
out:
	close(fd);
}

/* ------------------------------------------------------------------ names */

/* The shared inode is still as it was when the copy was made. */
struct unchanged {
	int fd;
	struct statx was;
};

static int unchanged_check(void *arg)
{
	const struct unchanged *c = arg;
	struct statx now;

	if (statx(c->fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &now) < 0)
		return -errno;
	return va_same_stx(&now, &c->was) ? 0 : -ESTALE;
}

/*
 * The temporary name an undo of @rp->rec uses: the same in every run, so
 * that an undo run after an interrupted one finds what that one left.
 */
static void undo_tmpname(const struct replay *rp, char *tmp)
{
	va_tmpname_keyed(rp->base, rp->rec->seq ^ (rp->rec->ino * 0x100000001b3ull), tmp);
}

/*
 * Put @newfd's inode over @rp->base (which must still be @old_dev/@old_ino)
 * through the record's temporary name, signals blocked; when something
 * else holds that name, through a random one.
 */
static int swap_in(struct replay *rp, int newfd, dev_t old_dev, uint64_t old_ino,
		   int (*check)(void *arg), void *arg)
{
	char tmp[VA_TMPNAME_MAX];
	sigset_t old;
	int r;

	undo_tmpname(rp, tmp);
	u_block_signals(&old);
	r = u_swap_in(rp->dirfd, tmp, rp->base, newfd, NULL, old_dev, old_ino, check, arg);
	if (r == -EEXIST) {
		va_tmpname(rp->base, tmp);
		r = u_swap_in(rp->dirfd, tmp, rp->base, newfd, NULL, old_dev, old_ino, check, arg);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

/* Where the names of the record's old inode went, when one was restored. */
static struct restored *group_of(struct replay_run *run, const struct va_journal_rec *rec)
{
	uint32_t i;

	if (!rec->old_ino || !va_inomap_find(&run->groups, rec->dev, rec->old_ino, &i))
		return NULL;
	return &run->restored[i];
}

/*
 * Open the copy that an earlier name of the record's old inode got (the
 * names that were one inode before the run become one again).
 * Return: the fd, or -errno (-ENOENT: none, or it is no longer there).
 */
static int open_group_copy(struct replay *rp)
{
	const struct restored *g = group_of(rp->run, rp->rec);
	const struct va_journal_rec *first;
	char base[NAME_MAX + 1];
	int dirfd, fd, r;

	if (!g)
		return -ENOENT;
	first = &rp->j->recs[g->rec];
	r = open_parent(rp, first->path, first->path_len, &dirfd, base);
	if (r < 0)
		return r;
	fd = va_open_regular(dirfd, base, rp->rec->dev, g->copy_ino, NULL);
	close(dirfd);
	return fd;
}

/* Remember that @rp's name got the copy @copyfd (the first of its old inode). */
static int group_add(struct replay *rp, int copyfd)
{
	struct replay_run *run = rp->run;
	struct statx stx;

	if (!rp->rec->old_ino || group_of(run, rp->rec))
		return 0;
	if (statx(copyfd, "", AT_EMPTY_PATH, STATX_INO, &stx) < 0)
		return -errno;
	if (va_array_grow(&run->restored, &run->caprestored, run->nrestored, sizeof(*run->restored)) < 0)
		return -ENOMEM;
	run->restored[run->nrestored] = (struct restored){
		.copy_ino = stx.stx_ino, .rec = (size_t)(rp->rec - rp->j->recs),
	};
	if (va_inomap_insert(&run->groups, rp->rec->dev, rp->rec->old_ino, (uint32_t)run->nrestored) < 0)
		return -ENOMEM;
	run->nrestored++;
	return 0;
}

/*
 * Give @rp->base, a name of the recorded shared inode, a private copy: the
 * one made ahead for it (rp->prep), the copy an earlier name of the same
 * old inode got, or a new one, written to disk before it takes the name.
 */
static int private_copy(struct replay *rp)
{
	const struct va_journal_rec *rec = rp->rec;
	struct prepared *pp = rp->prep && rp->prep->ready ? rp->prep : NULL;
	struct unchanged c;
	int copy = -1, use, r;

	if (pp) {
		c.fd = pp->cfd;
		c.was = pp->was;
		use = pp->copyfd;
	} else {
		c.fd = va_open_regular(rp->dirfd, rp->base, rec->dev, rec->ino, &c.was);
		if (c.fd < 0)
			return c.fd;
		use = -1;
	}
	if (u_get_flags(c.fd) & U_BLOCKING_FLAGS && !rp->u->iunlink) {
		r = -EPERM;
		goto out;
	}
	if (use < 0 && (copy = open_group_copy(rp)) < 0) {
		copy = va_copy_tmpfile(c.fd, rp->dirfd);
		if (copy < 0) {
			r = copy;
			goto out;
		}
		/* on disk before it replaces a name of the shared inode */
		if (fsync(copy) < 0) {
			r = -errno;
			goto out;
		}
	}
	if (use < 0)
		use = copy;
	r = swap_in(rp, use, rec->dev, rec->ino, unchanged_check, &c);
	if (r == 0) {
		struct replay_run *run = rp->run;

		run->dirty = true;
		/* the shared inode lost a name (a new ctime) */
		window_follow(run, rec->dev, rec->ino, pp);
		r = group_add(rp, use);
	}
out:
	if (copy >= 0)
		close(copy);
	if (!pp)
		close(c.fd);
	return r;
}

/* The shared inode (at rec->other) and @rp->base's own inode @cur, open. */
struct twins {
	int odir, ofd, pfd;
	struct statx ps;
};

static void twins_close(struct twins *t)
{
	if (t->pfd >= 0)
		close(t->pfd);
	if (t->ofd >= 0)
		close(t->ofd);
	if (t->odir >= 0)
		close(t->odir);
}

/*
 * Open the recorded shared inode and the private inode @cur at @name in
 * @rp's directory, and compare them: 0 when mode, owner, size, mtime
 * (ns), content and xattrs are equal, -EUCLEAN when they differ, else
 * -errno.  @t is to be closed with twins_close() in every case.
 */
static int twins_open(struct replay *rp, const char *name, const struct statx *cur, struct twins *t)
{
	const struct va_journal_rec *rec = rp->rec;
	char obase[NAME_MAX + 1];
	struct statx os;
	int r;

	*t = (struct twins){ .odir = -1, .ofd = -1, .pfd = -1 };
	r = open_parent(rp, rec->other, rec->other_len, &t->odir, obase);
	if (r < 0)
		return r;
	t->ofd = va_open_regular(t->odir, obase, rec->dev, rec->ino, &os);
	if (t->ofd < 0)
		return t->ofd;
	t->pfd = va_open_regular(rp->dirfd, name, makedev(cur->stx_dev_major, cur->stx_dev_minor),
				 cur->stx_ino, &t->ps);
	if (t->pfd < 0)
		return t->pfd;
	if (os.stx_mode != t->ps.stx_mode || os.stx_uid != t->ps.stx_uid || os.stx_gid != t->ps.stx_gid ||
	    os.stx_size != t->ps.stx_size || os.stx_mtime.tv_sec != t->ps.stx_mtime.tv_sec ||
	    os.stx_mtime.tv_nsec != t->ps.stx_mtime.tv_nsec)
		return -EUCLEAN;
	r = va_content_equal(t->ofd, t->pfd, t->ps.stx_size);
	if (r == 1)
		r = va_xattrs_equal(t->ofd, t->pfd);
	return r == 1 ? 0 : r == 0 ? -EUCLEAN : r;
}

/* Link @base back to the shared inode, found at rec->other. */
static int relink(struct replay *rp, const struct statx *cur)
{
	struct twins t;
	int r;

	r = twins_open(rp, rp->base, cur, &t);
	if (r < 0)
		goto out;
	if ((u_get_flags(t.ofd) & U_BLOCKING_FLAGS) && !rp->u->iunlink) {
		r = -EPERM;
		goto out;
	}
	r = swap_in(rp, t.ofd, makedev(t.ps.stx_dev_major, t.ps.stx_dev_minor), t.ps.stx_ino, NULL, NULL);
out:
	twins_close(&t);
	return r;
}

/*
 * Whether @rp->base, no longer the shared inode, holds the private copy
 * an earlier undo made (and was killed before its mark was written): a
 * file of its own equal to the shared inode in metadata and content.
 */
static bool private_copy_made(struct replay *rp, const struct statx *cur)
{
	struct twins t;
	bool same;

	/* (several names: the names of one old inode share their copy) */
	if (!S_ISREG(cur->stx_mode))
		return false;
	same = twins_open(rp, rp->base, cur, &t) == 0;
	twins_close(&t);
	return same;
}

/* A crash may have left the temporary name: tidy it up.  Return: whether it did. */
static bool tidy_tmp(struct replay *rp, bool name_is_shared)
{
	const struct va_journal_rec *rec = rp->rec;
	char tmp[NAME_MAX + 1];
	struct statx ts;
	dev_t tdev;

	if (!rec->tmp_len || rec->tmp_len > NAME_MAX || rp->u->o->dry_run)
		return false;
	memcpy(tmp, rec->tmp, rec->tmp_len);
	tmp[rec->tmp_len] = '\0';
	if (lstat_at(rp->dirfd, tmp, &ts) < 0 || !S_ISREG(ts.stx_mode))
		return false;
	tdev = makedev(ts.stx_dev_major, ts.stx_dev_minor);
	if (!strcmp(rec->kind, "link")) {
		if (is_inode(&ts, rec->dev, rec->ino))
			/* a link never exchanged */
			return va_unlink_inode(rp->dirfd, tmp, tdev, ts.stx_ino) == 0;
		if (ts.stx_ino == rec->old_ino && name_is_shared) {
			if (rp->mode == VA_REPLAY_UNDO)  /* exchanged, old inode not yet gone: swap back */
				return va_replace_name(rp->dirfd, tmp, rp->base, rec->dev, rec->ino) == 0;
			return va_unlink_inode(rp->dirfd, tmp, tdev, ts.stx_ino) == 0;
		}
	} else if (!strcmp(rec->kind, "revert")) {
		/* the shared inode's old name, or a copy never swapped in: not a stranger */
		struct twins t;
		bool ours = is_inode(&ts, rec->dev, rec->ino);

		if (!ours && ts.stx_nlink == 1) {
			ours = twins_open(rp, tmp, &ts, &t) == 0;
			twins_close(&t);
		}
		if (ours)
			return va_unlink_inode(rp->dirfd, tmp, tdev, ts.stx_ino) == 0;
	}
	return false;
}

/*
 * An undo killed in the middle of giving a name a private copy (or of
 * linking it back) may have left its temporary name: a name of the shared
 * inode, or a copy of it that was never swapped in.  Remove either.
 */
static bool tidy_undo_tmp(struct replay *rp)
{
	const struct va_journal_rec *rec = rp->rec;
	char tmp[VA_TMPNAME_MAX];
	struct statx ts;
	struct twins t;
	bool ours;

	if (rp->u->o->dry_run)
		return false;
	undo_tmpname(rp, tmp);
	if (lstat_at(rp->dirfd, tmp, &ts) < 0 || !S_ISREG(ts.stx_mode))
		return false;
	ours = is_inode(&ts, rec->dev, rec->ino);
	if (!ours) {
		/* a copy (shared with other names of its old inode, maybe) */
		ours = twins_open(rp, tmp, &ts, &t) == 0;
		twins_close(&t);
	}
	return ours && va_unlink_inode(rp->dirfd, tmp, makedev(ts.stx_dev_major, ts.stx_dev_minor),
				       ts.stx_ino) == 0;
}

/*
 * The names changed so far are on disk (syncfs), before a store entry,
 * which may hold the last other copy of their content, goes, and before
 * the marks that say they were restored are written.
 */
static int settle(struct replay_run *run, bool all)
{
	int r;

	if (!(run->dirty || (all && run->unsynced)) || run->syncfd < 0)
		return 0;
	if ((r = u_syncfs(run->syncfd)) < 0)
		return r;
	run->dirty = run->unsynced = false;
	return 0;
}

static void replay_name(struct replay *rp)
{
	const struct va_journal_rec *rec = rp->rec;
	struct ustate *u = rp->u;
	bool undo = rp->mode == VA_REPLAY_UNDO, dry = u->o->dry_run;
	struct statx cur;
	bool shared, tidied = false;
	char why[128];
	int r;

	r = lstat_at(rp->dirfd, rp->base, &cur);
	if (r == 0 && !S_ISREG(cur.stx_mode))
		r = -EINVAL;
	shared = r == 0 && is_inode(&cur, rec->dev, rec->ino);
	if (undo && strcmp(rec->kind, "store"))
		tidied = tidy_undo_tmp(rp);
	if (va_journal_state(rp->j, rec->seq) == 0) {
		tidied |= tidy_tmp(rp, shared);
		r = lstat_at(rp->dirfd, rp->base, &cur);
		shared = r == 0 && is_inode(&cur, rec->dev, rec->ino);
	}
	/* what the tidying did to the shared inode: the copies made ahead expect it */
	if (tidied)
		window_follow(rp->run, rec->dev, rec->ino, NULL);
	if (r < 0 && strcmp(rec->kind, "store")) {
		skip(rp, VA_USKIP_CHANGED, 0, "the name is gone");
		return;
	}
	if (!strcmp(rec->kind, "store")) {
		bool exists = r == 0 && shared;

		if (!undo) {
			mark(rp, exists ? 'D' : 'U');
			done_event(rp, exists ? "store entry made" : "store entry not made: abandoned");
			return;
		}
		if (!exists) {
			mark(rp, 'U');
			done_event(rp, "store entry already gone");
			return;
		}
		if (dry) {
			/* its names are not given back in a dry run: do not judge by them */
			done_event(rp, "would remove the store entry once nothing else names it");
			return;
		}
		if (cur.stx_nlink > (rec->old_ino ? 2u : 1u)) {
			skip(rp, VA_USKIP_CHANGED, 0, "the store entry is still shared");
			return;
		}
		/*
		 * Once the entry is gone, the private copies of its names can no
		 * longer be told from other files: their marks go to the journal
		 * first, so that a killed undo finds them when run again.
		 */
		if ((r = settle(rp->run, false)) < 0) {
			skip(rp, VA_USKIP_ERROR, -r, "cannot write the restored names to disk");
			rp->u->fatal = r;
			return;
		}
		if ((r = va_journal_flush(rp->j)) < 0) {
			skip(rp, VA_USKIP_ERROR, -r, "cannot write the journal");
			return;
		}
		if ((r = va_unlink_inode(rp->dirfd, rp->base, rec->dev, rec->ino)) < 0) {
			skip(rp, r == -ESTALE ? VA_USKIP_CHANGED : VA_USKIP_ERROR, r == -ESTALE ? 0 : -r,
			     "cannot remove the store entry");
			return;
		}
		rp->run->unsynced = true;
		if (mark(rp, 'U') == 0)
			done_event(rp, "store entry removed");
		return;
	}
	if (!strcmp(rec->kind, "link")) {
		if (!undo) {
			mark(rp, shared ? 'D' : 'U');
			done_event(rp, shared ? "link made" : "link not made: abandoned");
			return;
		}
		if (!shared) {
			if (cur.stx_ino == rec->old_ino) {
				mark(rp, 'U');
				done_event(rp, "already private");
			} else if (va_journal_state(rp->j, rec->seq) == 'D' && private_copy_made(rp, &cur)) {
				mark(rp, 'U');
				done_event(rp, "already private (a copy made by an interrupted undo)");
			} else {
				skip(rp, VA_USKIP_CHANGED, 0, "the name is another file now");
			}
			return;
		}
		if (dry) {
			u->st->reverted++;
			done_event(rp, "would give it a private copy");
			return;
		}
		r = private_copy(rp);
		if (r < 0) {
			snprintf(why, sizeof(why), "cannot give it a private copy: %s%s", strerror(-r),
				 r == -EPERM ? " (the shared inode is immutable)" : "");
			skip(rp, r == -ESTALE ? VA_USKIP_CHANGED : VA_USKIP_ERROR, r == -ESTALE ? 0 : -r, why);
			return;
		}
		u->st->reverted++;
		if (mark(rp, 'U') == 0)
			done_event(rp, "private copy restored");
		return;
	}
	/* revert */
	if (!undo) {
		mark(rp, shared ? 'U' : 'D');
		done_event(rp, shared ? "private copy not made: abandoned" : "private copy made");
		return;
	}
	if (shared) {
		mark(rp, 'U');
		done_event(rp, "already shared");
		return;
	}
	if (dry) {
		u->st->linked++;
		done_event(rp, "would link it back");
		return;
	}
	r = relink(rp, &cur);
	if (r == 0)
		rp->run->dirty = true;
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot link it back: %s",
			 r == -EUCLEAN ? "it differs from the shared file now" : strerror(-r));
		skip(rp, r == -EUCLEAN || r == -ESTALE || r == -ENOENT ? VA_USKIP_CHANGED : VA_USKIP_ERROR,
		     r == -EUCLEAN || r == -ESTALE || r == -ENOENT ? 0 : -r, why);
		return;
	}
	u->st->linked++;
	if (mark(rp, 'U') == 0)
		done_event(rp, "linked back");
}

/*
 * Whether the change of @rec, marked undone, is still in effect: its name
 * is still the recorded inode (same generation).  A mark is believed only
 * when the filesystem agrees: a crash of the guests' filesystem can lose
 * a change whose mark, in a journal elsewhere, survived.
 */
static bool still_applied(const struct replay *rp, const struct va_journal_rec *rec)
{
	char base[NAME_MAX + 1];
	unsigned int gen = 0;
	int dirfd, fd;
	bool yes;

	if (rec->type != 'L' || !strcmp(rec->kind, "revert"))
		return false;
	if (open_parent(rp, rec->path, rec->path_len, &dirfd, base) < 0)
		return false;
	fd = va_open_regular(dirfd, base, rec->dev, rec->ino, NULL);
	close(dirfd);
	if (fd < 0)
		return false;
	yes = !rec->gen || (ioctl(fd, FS_IOC_GETVERSION, &gen) == 0 && gen == rec->gen);
	close(fd);
	return yes;
}

/* Whether record @rec is still to be replayed. */
static bool to_replay(struct replay_run *run, const struct va_journal_rec *rec)
{
	struct replay rp = { .u = run->u, .j = run->j, .mode = run->mode, .run = run, .rec = rec };
	char state;

	/* (a vcopy journal's 'C', 'M' and lifted flags are the clone's, undone before) */
	if ((rec->type != 'I' && rec->type != 'L') || (rec->type == 'I' && !strcmp(rec->kind, VA_CLONE_LIFT_KIND)))
		return false;
	state = va_journal_state(run->j, rec->seq);
	if (run->mode == VA_REPLAY_RESUME)
		return !state;
	return state != 'U' || still_applied(&rp, rec);
}

/* An undo of a link: its name gets a private copy. */
static bool is_link_undo(const struct va_journal_rec *rec, enum va_replay mode)
{
	return mode == VA_REPLAY_UNDO && rec->type == 'L' && !strcmp(rec->kind, "link");
}

/* A record of a new store entry. */
static bool is_store(const struct va_journal_rec *rec)
{
	return rec->type == 'L' && !strcmp(rec->kind, "store");
}

#define UNDO_WINDOW 256         /* records replayed together (their copies made and synced ahead) */

static void prep_release(struct prepared *pp)
{
	if (pp->cfd >= 0)
		close(pp->cfd);
	if (pp->copyfd >= 0)
		close(pp->copyfd);
	pp->cfd = pp->copyfd = -1;
	pp->ready = false;
}

/*
 * Make the private copies of the links among @idx[0..n) at once, and
 * write them to disk with one syncfs (which reports a write error of any
 * of them; then an fsync of each finds which): none takes a name before
 * it is on disk.  Names of one old inode share one copy.  A record without a
 * ready copy gets one when it is replayed.
 * Return: 0, or -errno when a copy cannot be written (the undo stops).
 */
static int prepare_window(struct replay_run *run, const size_t *idx, size_t n, struct prepared *pp)
{
	struct va_journal *j = run->j;
	int syncfd = -1, rs = 0, r = 0;

	for (size_t k = 0; k < n; k++) {
		const struct va_journal_rec *rec = &j->recs[idx[k]];
		struct replay rp = { .u = run->u, .j = j, .mode = run->mode, .run = run, .rec = rec };
		struct prepared *p = &pp[k];
		int dirfd;

		*p = (struct prepared){ .cfd = -1, .copyfd = -1, .copy_of = -1 };
		if (!is_link_undo(rec, run->mode) ||
		    open_parent(&rp, rec->path, rec->path_len, &dirfd, rp.base) < 0)
			continue;
		rp.dirfd = dirfd;
		/* (the name is no longer the shared inode: nothing to copy) */
		if ((p->cfd = va_open_regular(dirfd, rp.base, rec->dev, rec->ino, &p->was)) < 0) {
			p->cfd = -1;
			close(dirfd);
			continue;
		}
		/* an earlier name of the same old inode, in this window or before */
		for (size_t e = 0; e < k && p->copy_of < 0; e++)
			if (pp[e].ready && j->recs[idx[e]].old_ino == rec->old_ino && rec->old_ino &&
			    j->recs[idx[e]].dev == rec->dev)
				p->copy_of = (int)e;
		if (p->copy_of >= 0) {
			p->copyfd = dup(pp[p->copy_of].copyfd);
		} else if ((p->copyfd = open_group_copy(&rp)) < 0) {
			p->copyfd = va_copy_tmpfile(p->cfd, dirfd);
			if (p->copyfd >= 0 && syncfd < 0)
				syncfd = dup(dirfd);
		}
		close(dirfd);
		if (p->copyfd < 0) {
			prep_release(p);
			continue;
		}
		p->ready = true;
	}
	if (syncfd >= 0) {
		rs = u_syncfs(syncfd);
		close(syncfd);
	}
	/* a write error (syncfs reports it since Linux 5.8): which copy */
	for (size_t k = 0; k < n && rs < 0 && r == 0; k++) {
		if (pp[k].ready && pp[k].copy_of < 0 && fsync(pp[k].copyfd) < 0) {
			const struct va_journal_rec *rec = &j->recs[idx[k]];

			r = -errno;
			u_skip_path(run->u, rec->path, rec->path_len, NULL, VA_USKIP_ERROR, -r,
				    "cannot write its private copy to disk");
		}
	}
	if (rs < 0 && r == 0) {
		u_skip_path(run->u, j->recs[idx[0]].path, j->recs[idx[0]].path_len, NULL, VA_USKIP_ERROR,
			    -rs, "cannot write the private copies to disk");
		r = rs;
	}
	if (r < 0)
		for (size_t k = 0; k < n; k++)
			prep_release(&pp[k]);
	return r;
}

/* Replay record @i with the copy made ahead @pp (or NULL). */
static int replay_one(struct replay_run *run, size_t i, struct prepared *pp)
{
	const struct va_journal_rec *rec = &run->j->recs[i];
	struct replay rp = { .u = run->u, .j = run->j, .mode = run->mode, .run = run, .rec = rec,
			     .dirfd = -1, .prep = pp };
	int r;

	run->u->st->examined++;
	r = open_parent(&rp, rec->path, rec->path_len, &rp.dirfd, rp.base);
	if (r == -ENOENT && va_journal_state(run->j, rec->seq) == 0 && (rec->type == 'I' || is_store(rec))) {
		/* a new store entry (or its flags) a crash took with its directory */
		if (mark(&rp, 'U') == 0)
			done_event(&rp, "not made: its directory does not exist");
		return run->u->o->dry_run ? 0 : va_journal_error(run->j);
	}
	if (r < 0) {
		skip(&rp, r == -ENOMEM ? VA_USKIP_ERROR : VA_USKIP_CHANGED, 0,
		     r == -ENOENT ? "its directory does not exist" :
		     "its directory cannot be reached without following a symlink");
		return r == -ENOMEM ? r : 0;
	}
	if (run->syncfd < 0)
		run->syncfd = dup(rp.dirfd);
	if (rec->type == 'I')
		replay_flags(&rp);
	else
		replay_name(&rp);
	close(rp.dirfd);
	if (run->u->fatal)
		return run->u->fatal;
	/* a mark that cannot be written stops the run (the file is cut back
	 * to its last whole record, still loadable) */
	return run->u->o->dry_run ? 0 : va_journal_error(run->j);
}

int va_unify_replay(struct va_journal *j, enum va_replay mode, const struct va_uopts *o,
		    struct va_ustats *st)
{
	struct replay_run run = { .j = j, .mode = mode, .syncfd = -1 };
	struct ustate u;
	struct va_uopts oo = *o;
	size_t n = j->nrecs, idx[UNDO_WINDOW];
	struct prepared pp[UNDO_WINDOW];
	struct va_jroots own = { 0 };
	struct va_jroots_error jerr;
	int r;

	oo.j = j;
	if (!oo.roots) {
		/* untrusted input: every path beneath the header's roots, all checked first */
		r = va_jroots_open(&own, j->source, j->source_len, &jerr);
		if (r == 0)
			r = va_jroots_check_journal(j, &own, &jerr);
		if (r < 0) {
			va_jroots_close(&own);
			return r == -ENOMEM ? r : -EPERM;
		}
		oo.roots = &own;
	}
	r = u_init(&u, &oo, st);
	run.u = &u;
	for (size_t k = 0; k < n && r >= 0;) {
		size_t i, w = 0;

		if (o->dry_run || mode != VA_REPLAY_UNDO) {
			i = mode == VA_REPLAY_UNDO ? n - 1 - k : k;
			k++;
			if (to_replay(&run, &j->recs[i]))
				r = replay_one(&run, i, NULL);
			continue;
		}
		/*
		 * A window of records: the private copies of its links made
		 * first and put on disk at once; its store entries removed at
		 * its end, after one syncfs of what the rest restored (a store
		 * entry may hold the last other copy of their content).
		 */
		while (k < n && w < UNDO_WINDOW && w < u.fd_budget / 2) {
			i = n - 1 - k;
			if (to_replay(&run, &j->recs[i]))
				idx[w++] = i;
			k++;
		}
		r = prepare_window(&run, idx, w, pp);
		run.window = pp;
		run.nwindow = w;
		for (size_t e = 0; e < w && r >= 0; e++)
			if (!is_store(&j->recs[idx[e]]))
				r = replay_one(&run, idx[e], &pp[e]);
		run.nwindow = 0;
		for (size_t e = 0; e < w; e++)
			prep_release(&pp[e]);
		for (size_t e = 0; e < w && r >= 0; e++)
			if (is_store(&j->recs[idx[e]]))
				r = replay_one(&run, idx[e], NULL);
	}
	/* the changes on disk before the marks that say they were made */
	if (r >= 0 && !o->dry_run)
		r = settle(&run, true);
	if (!o->dry_run)
		r = va_journal_finish(j, r);
	if (run.syncfd >= 0)
		close(run.syncfd);
	va_inomap_release(&run.groups);
	free(run.restored);
	u_release(&u);
	va_jroots_close(&own);
	return r < 0 ? r : 0;
}
