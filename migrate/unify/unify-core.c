/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-core.c - the run state of the unify engine: trees, the scan of
 * their regular files (one walker, exclude lists applied), paths reached
 * only through verified directory fds, and the events.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/flags.h"
#include "core/walk.h"
#include "migrate/unify/unify-int.h"

/* ------------------------------------------------------------------ tables */

static const char *const protect_names[] = {
#define VA_X_PROTECT(id, name) name,
	VA_PROTECTS(VA_X_PROTECT)
#undef VA_X_PROTECT
};

static const struct {
	const char *name, *text;
} uskips[] = {
#define VA_X_USKIP(id, name, text) { name, text },
	VA_USKIPS(VA_X_USKIP)
#undef VA_X_USKIP
};

int va_protect_parse(const char *s, enum va_protect *ret)
{
	for (size_t i = 0; i < VA_PROTECT_COUNT; i++)
		if (strcmp(s, protect_names[i]) == 0) {
			*ret = (enum va_protect)i;
			return 0;
		}
	return -EINVAL;
}

const char *va_protect_name(enum va_protect p)
{
	return (unsigned)p < VA_PROTECT_COUNT ? protect_names[p] : "?";
}

const char *va_uskip_name(enum va_uskip s)
{
	return (unsigned)s < VA_USKIP_COUNT ? uskips[s].name : "?";
}

const char *va_uskip_text(enum va_uskip s)
{
	return (unsigned)s < VA_USKIP_COUNT ? uskips[s].text : "?";
}

uint32_t u_protected_flags(enum va_protect p, uint32_t flags)
{
	switch (p) {
	case VA_PROTECT_V26:
		return flags | VA_FL_IMMUTABLE | VA_VS26_IUNLINK;
	case VA_PROTECT_LEGACY:
		return flags | VA_FL_IMMUTABLE | VA_FL_NOTAIL;
	case VA_PROTECT_IMMUTABLE:
		return flags | VA_FL_IMMUTABLE;
	default:
		return flags;
	}
}

uint32_t va_protect_flags(enum va_protect p)
{
	return u_protected_flags(p, 0);
}

/* ------------------------------------------------------------------ memory */

uint64_t va_unify_memory_default(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	if (pages <= 0 || size <= 0)
		return (uint64_t)1 << 30;
	return (uint64_t)pages * (uint64_t)size / VA_UNIFY_MEMORY_SHARE;
}

/* The resident set of this process in bytes (0 when /proc does not say). */
static uint64_t resident_bytes(void)
{
	char buf[128];
	unsigned long long total, res;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &total, &res) != 2)
		return 0;
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

size_t u_pass_budget(const struct ustate *u)
{
	uint64_t limit = u->o->memory_limit ? u->o->memory_limit : va_unify_memory_default();
	uint64_t used = resident_bytes();

	if (limit <= used + U_PASS_MIN)
		return U_PASS_MIN;
	return limit - used > SIZE_MAX ? SIZE_MAX : (size_t)(limit - used);
}

/* ------------------------------------------------------------------ state */

int u_init(struct ustate *u, const struct va_uopts *o, struct va_ustats *st)
{
	struct rlimit rl = { 0, 0 };
	size_t worst, avail;

	memset(u, 0, sizeof(*u));
	memset(st, 0, sizeof(*st));
	{
		pthread_rwlockattr_t a;

		/* a table's move is rare and short: it goes before new reads */
		pthread_rwlockattr_init(&a);
		pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&u->table_lock, &a);
		pthread_rwlockattr_destroy(&a);
	}
	u->o = o;
	u->st = st;
	u->store_tree = -1;
	u->method = VA_DIGEST_SHA256;
	u->iunlink = o->protect == VA_PROTECT_V26;
	dbuf_init(&u->namebuf);
	dbuf_init(&u->abs);
	dbuf_init(&u->abs2);
	dbuf_init(&u->dry_entry);
	/*
	 * A batch holds the fds its plan counts (U_FDS_A_*), at worst seven
	 * a name (each name a unit and a directory of its own, a revert's
	 * copy), and the closing thread as many again, beside U_FDS_SPARE for
	 * the rest of the run: the limit is raised towards that, and what it
	 * allows bounds each batch (u_unit_add()).
	 */
	u->batch = UNIFY_BATCH;
	worst = (U_FDS_A_UNIT + U_FDS_A_NAME + U_FDS_A_COPY + U_FDS_A_DIR) * u->batch;
	avail = 2 * worst;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t need = avail + U_FDS_SPARE;

		if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < need) {
			rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
			avail = rl.rlim_cur > U_FDS_SPARE + U_FDS_MIN ? (size_t)rl.rlim_cur - U_FDS_SPARE : U_FDS_MIN;
	}
	if (!o->dry_run && !o->j)
		return -EINVAL;
	/*
	 * Closing a replaced name's old inode frees it (its blocks, a
	 * journal transaction): a thread does that while the next batch is
	 * prepared, holding up to half the fds when that leaves a batch
	 * U_FDS_MIN.  A dry run counts the same: its batches, and the sets
	 * they split, are the real run's.
	 */
	u->fd_budget = avail >= 2 * U_FDS_MIN ? avail - avail / 2 : avail;
	if (!o->dry_run && u->fd_budget < avail)
		(void)va_reaper_start(&u->reaper, avail / 2);
	/* a batch's changes are synced while the next batch is prepared */
	if (!o->dry_run)
		(void)va_syncer_start(&u->syncer);
	return 0;
}

void u_release(struct ustate *u)
{
	va_syncer_stop(u->syncer);
	u->syncer = NULL;
	pthread_rwlock_destroy(&u->table_lock);
	va_reaper_stop(u->reaper);
	u->reaper = NULL;
	for (size_t i = 0; i < u->ntrees; i++) {
		if (u->trees[i].alias)
			continue;
		if (u->trees[i].fd >= 0)
			close(u->trees[i].fd);
		free(u->trees[i].root);
	}
	free(u->trees);
	free(u->store_dirs);
	free(u->files);
	free(u->dirs);
	free(u->nametab);
	free(u->look);
	free(u->owners);
	free(u->ownertab);
	free(u->units);
	free(u->members);
	va_inomap_release(&u->names);
	va_inomap_release(&u->touched);
	va_inomap_release(&u->dryflags);
	va_inomap_release(&u->slots);
	va_inomap_release(&u->batch_masters);
	va_inomap_release(&u->batch_dirs);
	free(u->touched_st);
	dbuf_release(&u->namebuf);
	dbuf_release(&u->abs);
	dbuf_release(&u->abs2);
	dbuf_release(&u->dry_entry);
}

static uint64_t name_hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325u;       /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3u;
	return h;
}

/* The slot of @name in u->nametab: where it is, or the empty one it would go to. */
static size_t name_slot(const struct ustate *u, const char *name, size_t len)
{
	size_t mask = u->nametab_cap - 1, i = (size_t)name_hash(name, len) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t v = u->nametab[i];
		const char *p;

		if (!v)
			return i;
		p = u->namebuf.buf + v - 1;
		if (!memcmp(p, name, len) && p[len] == '\0')
			return i;
	}
}

/* Twice the slots for the names so far (and at least 1024). */
static int grow_nametab(struct ustate *u)
{
	size_t cap = u->nametab_cap ? u->nametab_cap * 2 : 1024;
	uint32_t *old = u->nametab, *t = calloc(cap, sizeof(*t));
	size_t oldcap = u->nametab_cap;

	if (!t)
		return -ENOMEM;
	u->nametab = t;
	u->nametab_cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		const char *p;

		if (!old[i])
			continue;
		p = u->namebuf.buf + old[i] - 1;
		t[name_slot(u, p, strlen(p))] = old[i];
	}
	free(old);
	return 0;
}

/*
 * A name in u->namebuf, each one once (the guests of a host have the same
 * names).  Return: its offset, or -ENOMEM / -EOVERFLOW.
 */
static int64_t add_name(struct ustate *u, const char *name, size_t len)
{
	size_t off = u->namebuf.len, slot;

	if (u->nnames * 2 >= u->nametab_cap && grow_nametab(u) < 0)
		return -ENOMEM;
	slot = name_slot(u, name, len);
	if (u->nametab[slot])
		return (int64_t)u->nametab[slot] - 1;
	if (off + len + 1 >= UINT32_MAX)
		return -EOVERFLOW;
	/* the names are read by the readers too: moved as the tables are */
	if (off + len + 2 > u->namebuf.cap) {
		int r;

		pthread_rwlock_wrlock(&u->table_lock);
		r = dbuf_reserve(&u->namebuf, len + 1);
		pthread_rwlock_unlock(&u->table_lock);
		if (r < 0)
			return -ENOMEM;
	}
	if (dbuf_add(&u->namebuf, name, len) < 0 || dbuf_addc(&u->namebuf, '\0') < 0)
		return -ENOMEM;
	u->nametab[slot] = (uint32_t)off + 1;
	u->nnames++;
	return (int64_t)off;
}

/*
 * Room for one more element of a table that the readers of a pass read
 * ahead look at (files, directories, owners, trees): a move of the table
 * waits until none of them is in a file (ustate.table_lock).
 */
static int grow_shared(struct ustate *u, void *array, size_t *cap, size_t used, size_t elsize)
{
	int r;

	if (used < *cap)
		return 0;
	pthread_rwlock_wrlock(&u->table_lock);
	r = va_array_grow(array, cap, used, elsize);
	pthread_rwlock_unlock(&u->table_lock);
	return r;
}

/* A directory record.  Return: its index, or -ENOMEM / -EOVERFLOW. */
static int64_t add_dir(struct ustate *u, uint32_t parent, const char *name, size_t len)
{
	int64_t off;

	if (u->ndirs >= U_NO_DIR)
		return -EOVERFLOW;
	if (grow_shared(u, &u->dirs, &u->capdirs, u->ndirs, sizeof(*u->dirs)) < 0)
		return -ENOMEM;
	if ((off = add_name(u, name, len)) < 0)
		return off;
	u->dirs[u->ndirs] = (struct udir){ .parent = parent, .name = (uint32_t)off };
	return (int64_t)u->ndirs++;
}

/* Room for one more tree.  Return: 0 or -ENOMEM / -EOVERFLOW. */
static int tree_room(struct ustate *u)
{
	if (u->ntrees >= U_MAX_TREES)
		return -EOVERFLOW;
	return grow_shared(u, &u->trees, &u->captrees, u->ntrees, sizeof(*u->trees)) < 0 ? -ENOMEM : 0;
}

int u_add_tree(struct ustate *u, const char *root, const char *label,
	       const struct va_excl_list *excl, bool store)
{
	struct utree *t;
	struct statx sx;
	size_t len = strlen(root);
	int64_t dir;
	int fd, r;

	while (len > 1 && root[len - 1] == '/')
		len--;
	if ((r = tree_room(u)) < 0)
		return r;
	if ((dir = add_dir(u, U_NO_DIR, "", 0)) < 0)
		return (int)dir;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS
#ifdef STATX_MNT_ID
		  | STATX_MNT_ID
#endif
		  , &sx) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	t = &u->trees[u->ntrees];
	memset(t, 0, sizeof(*t));
	t->root = strndup(root, len);
	if (!t->root) {
		close(fd);
		return -ENOMEM;
	}
	t->root_len = len;
	t->label = label;
	t->excl = excl;
	t->fd = fd;
	t->store = store;
	t->dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
#ifdef STATX_MNT_ID
	t->mnt_id = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id : 0;
#endif
	t->dir = (uint32_t)dir;
	t->last_dir = U_NO_DIR;
	if (store)
		u->store_tree = (int)u->ntrees;
	return (int)u->ntrees++;
}

/* ------------------------------------------------------------------ paths */

/*
 * Append "/NAME" for each directory from the tree's root down to @dir, then
 * "/" and @name when @name is not NULL.  Return: 0 or -ENOMEM.
 */
static int add_dir_path(const struct ustate *u, uint32_t dir, const char *name, struct dbuf *b)
{
	size_t start = b->len, len = 0;
	char *p;

	for (uint32_t d = dir; d != U_NO_DIR; d = u->dirs[d].parent) {
		size_t n = strlen(u->namebuf.buf + u->dirs[d].name);

		len += n ? n + 1 : 0;
	}
	if (name)
		len += strlen(name) + 1;
	if (dbuf_reserve(b, len + 1) < 0)
		return -ENOMEM;
	p = b->buf + start + len;
	*p = '\0';
	if (name) {
		size_t n = strlen(name);

		p -= n;
		memcpy(p, name, n);
		*--p = '/';
	}
	for (uint32_t d = dir; d != U_NO_DIR; d = u->dirs[d].parent) {
		const char *dn = u->namebuf.buf + u->dirs[d].name;
		size_t n = strlen(dn);

		if (!n)
			continue;
		p -= n;
		memcpy(p, dn, n);
		*--p = '/';
	}
	b->len = start + len;   /* (dbuf_setlen() only shortens) */
	return 0;
}

const char *u_rel(const struct ustate *u, const struct ufile *f, struct dbuf *b)
{
	dbuf_setlen(b, 0);
	return add_dir_path(u, f->dir, u_name(u, f), b) < 0 ? NULL : b->buf;
}

const char *u_abs(const struct ustate *u, const struct ufile *f, struct dbuf *b)
{
	const struct utree *t = &u->trees[f->tree];

	dbuf_setlen(b, 0);
	if (!(t->root_len == 1 && t->root[0] == '/'))
		dbuf_add(b, t->root, t->root_len);
	if (add_dir_path(u, f->dir, u_name(u, f), b) < 0)
		dbuf_setlen(b, 0);
	return b->buf ? b->buf : "";
}

/*
 * The verified fd of directory @dir of tree @t: its path relative to the
 * root, opened beneath it (any length: va_safeopen_beneath() walks long
 * ones).
 */
static int open_dir_of(const struct ustate *u, size_t t, uint32_t dir)
{
	struct dbuf p = DBUF_INIT;
	int fd;

	if (dir == u->trees[t].dir)
		return va_safeopen_beneath(u->trees[t].fd, ".", O_RDONLY | O_DIRECTORY, 0);
	if (add_dir_path(u, dir, NULL, &p) < 0) {
		dbuf_release(&p);
		return -ENOMEM;
	}
	fd = va_safeopen_beneath(u->trees[t].fd, p.buf + 1, O_RDONLY | O_DIRECTORY, 0);
	dbuf_release(&p);
	return fd;
}

int u_open_parent(const struct ustate *u, const struct ufile *f, const char **base)
{
	*base = u_name(u, f);
	return open_dir_of(u, f->tree, f->dir);
}

/* The slot of owner @uid:@gid in u->ownertab: where it is, or the empty one it would go to. */
static size_t owner_slot(const struct ustate *u, uint32_t uid, uint32_t gid)
{
	size_t mask = u->ownertab_cap - 1;
	size_t i = (size_t)((((uint64_t)uid << 32 | gid) * 0x9e3779b97f4a7c15u) >> 20) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t v = u->ownertab[i];

		if (!v || (u->owners[v - 1].uid == uid && u->owners[v - 1].gid == gid))
			return i;
	}
}

/* The index of owner @uid:@gid in u->owners, added when new.  Return: it or -ENOMEM. */
static int64_t add_owner(struct ustate *u, uint32_t uid, uint32_t gid)
{
	size_t slot;

	if (u->nowners * 2 >= u->ownertab_cap) {
		size_t cap = u->ownertab_cap ? u->ownertab_cap * 2 : 64;
		uint32_t *t = calloc(cap, sizeof(*t));

		if (!t)
			return -ENOMEM;
		free(u->ownertab);
		u->ownertab = t;
		u->ownertab_cap = cap;
		for (size_t i = 0; i < u->nowners; i++)
			t[owner_slot(u, u->owners[i].uid, u->owners[i].gid)] = (uint32_t)i + 1;
	}
	slot = owner_slot(u, uid, gid);
	if (u->ownertab[slot])
		return (int64_t)u->ownertab[slot] - 1;
	if (u->nowners >= UINT32_MAX - 1)
		return -EOVERFLOW;
	if (grow_shared(u, &u->owners, &u->capowners, u->nowners, sizeof(*u->owners)) < 0)
		return -ENOMEM;
	u->owners[u->nowners] = (struct uowner){ .uid = uid, .gid = gid };
	u->ownertab[slot] = (uint32_t)u->nowners + 1;
	return (int64_t)u->nowners++;
}

int u_file_of_stx(struct ustate *u, struct ufile *f, const struct statx *stx)
{
	int64_t owner = add_owner(u, stx->stx_uid, stx->stx_gid);

	if (owner < 0)
		return (int)owner;
	f->ino = stx->stx_ino;
	f->size = stx->stx_size;
	f->mode = stx->stx_mode;
	f->owner = (uint32_t)owner;
	f->nlink = stx->stx_nlink;
	f->mtime_sec = stx->stx_mtime.tv_sec;
	f->mtime_nsec = stx->stx_mtime.tv_nsec;
	f->ctime_lo = (uint32_t)stx->stx_ctime.tv_sec;
	f->ctime_nsec = stx->stx_ctime.tv_nsec;
	return 0;
}

static bool same_ts(struct statx_timestamp a, struct statx_timestamp b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

bool u_stx_matches(const struct ustate *u, const struct ufile *f, const struct statx *stx)
{
	return makedev(stx->stx_dev_major, stx->stx_dev_minor) == u_dev(u, f) && stx->stx_ino == f->ino &&
	       S_ISREG(stx->stx_mode) && stx->stx_size == f->size &&
	       stx->stx_mtime.tv_sec == f->mtime_sec && stx->stx_mtime.tv_nsec == f->mtime_nsec &&
	       (uint32_t)stx->stx_ctime.tv_sec == f->ctime_lo && stx->stx_ctime.tv_nsec == f->ctime_nsec;
}

/* Open @path beneath @dir_fd for reading, then check it is @f as scanned. */
int u_touched(struct ustate *u, const struct statx *stx)
{
	dev_t dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	uint32_t i;

	if (!va_inomap_find(&u->touched, dev, stx->stx_ino, &i)) {
		if (va_array_grow(&u->touched_st, &u->captouched, u->ntouched, sizeof(*u->touched_st)) < 0 ||
		    va_inomap_insert(&u->touched, dev, stx->stx_ino, (uint32_t)u->ntouched) < 0)
			return -ENOMEM;
		i = (uint32_t)u->ntouched++;
	}
	u->touched_st[i] = (struct utouched){ .ctime = stx->stx_ctime, .nlink = stx->stx_nlink };
	return 0;
}

/*
 * @now is inode @dev/@ino with size @size and mtime @mtime, in the state
 * the run's own change left it (u_touched()).
 */
static bool as_touched(const struct ustate *u, const struct statx *now, dev_t dev, uint64_t ino,
		       uint64_t size, int64_t mtime_sec, uint32_t mtime_nsec)
{
	uint32_t i;

	return va_inomap_find(&u->touched, dev, ino, &i) &&
	       makedev(now->stx_dev_major, now->stx_dev_minor) == dev && now->stx_ino == ino &&
	       S_ISREG(now->stx_mode) && now->stx_size == size && now->stx_mtime.tv_sec == mtime_sec &&
	       now->stx_mtime.tv_nsec == mtime_nsec &&
	       same_ts(now->stx_ctime, u->touched_st[i].ctime) && now->stx_nlink == u->touched_st[i].nlink;
}

bool u_unchanged(const struct ustate *u, const struct ufile *f, const struct statx *stx)
{
	return u_stx_matches(u, f, stx) ||
	       as_touched(u, stx, u_dev(u, f), f->ino, f->size, f->mtime_sec, f->mtime_nsec);
}

bool u_touched_get(const struct ustate *u, dev_t dev, uint64_t ino, struct utouched *ret)
{
	uint32_t i;

	if (!va_inomap_find(&u->touched, dev, ino, &i))
		return false;
	*ret = u->touched_st[i];
	return true;
}

bool u_adopt(const struct ustate *u, int fd, struct statx *expect)
{
	dev_t dev = makedev(expect->stx_dev_major, expect->stx_dev_minor);
	struct statx now;
	uint32_t i;

	/* an inode the run did not change: the checks before the change look */
	if (!va_inomap_find(&u->touched, dev, expect->stx_ino, &i))
		return true;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &now) < 0)
		return false;
	if (va_same_stx(&now, expect))
		return true;
	if (!as_touched(u, &now, dev, expect->stx_ino, expect->stx_size, expect->stx_mtime.tv_sec,
			expect->stx_mtime.tv_nsec))
		return false;
	*expect = now;
	return true;
}

static int open_checked(const struct ustate *u, int dir_fd, const char *path, const struct ufile *f,
			struct statx *ret)
{
	struct statx stx;
	int fd = va_safeopen_verified(dir_fd, path, O_RDONLY | O_NONBLOCK,
				      VA_SAFEOPEN_BENEATH | VA_SAFEOPEN_NOATIME,
				      &(struct va_safeopen_id){ .dev = u_dev(u, f), .ino = f->ino }, &stx);

	if (fd < 0)
		return fd;
	/* the same inode, and still as scanned: a regular file, size, times */
	if (!u_stx_matches(u, f, &stx)) {
		close(fd);
		return -ESTALE;
	}
	if (ret)
		*ret = stx;
	return fd;
}

int u_open_file(const struct ustate *u, const struct ufile *f, struct statx *ret)
{
	struct dbuf p = DBUF_INIT;
	int fd;

	if (!u_rel(u, f, &p)) {
		dbuf_release(&p);
		return -ENOMEM;
	}
	fd = open_checked(u, u->trees[f->tree].fd, p.buf + 1, f, ret);
	dbuf_release(&p);
	return fd;
}

int u_open_file_cached(const struct ustate *u, const struct ufile *f, struct udircache *c,
		       struct statx *ret)
{
	if (c->fd < 0 || c->tree != f->tree || c->dir != f->dir) {
		int fd = open_dir_of(u, f->tree, f->dir);

		u_dircache_release(c);
		if (fd < 0)
			return fd;
		c->fd = fd;
		c->tree = f->tree;
		c->dir = f->dir;
	}
	return open_checked(u, c->fd, u_name(u, f), f, ret);
}

void u_dircache_release(struct udircache *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

int u_swap_in(int dirfd, const char *tmp, const char *base, int newfd, const struct statx *newst,
	      dev_t old_dev, uint64_t old_ino, int (*check)(void *arg), void *arg)
{
	struct stat nst;
	int r;

	if (newst) {
		nst.st_dev = makedev(newst->stx_dev_major, newst->stx_dev_minor);
		nst.st_ino = newst->stx_ino;
	} else if (fstat(newfd, &nst) < 0) {
		return -errno;
	}
	r = va_link_fd(newfd, dirfd, tmp);
	if (r == 0) {
		r = check ? check(arg) : 0;
		if (r == 0)
			r = va_replace_name(dirfd, tmp, base, old_dev, old_ino);
		/*
		 * Remove @tmp only if it is still our link: after a failed
		 * exchange back or a racing rename another file (a guest's
		 * own) may sit there (va_unlink_inode() names the window left).
		 */
		if (r < 0)
			(void)va_unlink_inode(dirfd, tmp, nst.st_dev, nst.st_ino);
	}
	return r;
}

int u_syncfs(int fd)
{
	return syncfs(fd) < 0 ? -errno : 0;
}

void u_block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, old);
}

bool u_same_meta(const struct ustate *u, const struct ufile *f, const struct statx *stx,
		 bool ignore_mtime)
{
	return f->mode == stx->stx_mode && u_uid(u, f) == stx->stx_uid && u_gid(u, f) == stx->stx_gid &&
	       f->size == stx->stx_size &&
	       (ignore_mtime || (f->mtime_sec == stx->stx_mtime.tv_sec && f->mtime_nsec == stx->stx_mtime.tv_nsec));
}

uint32_t u_get_flags(int fd)
{
	unsigned int fl = 0;

	return ioctl(fd, FS_IOC_GETFLAGS, &fl) < 0 ? 0 : fl;
}

/* Append a file of directory @dir of tree @t, named @name. */
static int add_file_in(struct ustate *u, size_t t, uint32_t dir, const char *name, size_t len,
		       const struct statx *stx)
{
	struct ufile *f;
	int64_t off;
	int r;

	if (u->nfiles >= UINT32_MAX)
		return -EOVERFLOW;
	if (grow_shared(u, &u->files, &u->capfiles, u->nfiles, sizeof(*u->files)) < 0)
		return -ENOMEM;
	if ((off = add_name(u, name, len)) < 0)
		return (int)off;
	f = &u->files[u->nfiles];
	memset(f, 0, sizeof(*f));
	if ((r = u_file_of_stx(u, f, stx)) < 0)
		return r;
	f->tree = (uint16_t)t;
	f->dir = dir;
	f->name = (uint32_t)off;
	u->nfiles++;
	return 0;
}

/* Tree @t, or an alias of it on the device and mount of @stx.  Return: its index or -errno. */
static int tree_of(struct ustate *u, size_t t, const struct statx *stx)
{
	dev_t dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	uint64_t mnt = 0;
	struct utree *a;
	int r;

#ifdef STATX_MNT_ID
	mnt = (stx->stx_mask & STATX_MNT_ID) ? stx->stx_mnt_id : 0;
#endif
	if (u->trees[t].dev == dev && (u->trees[t].mnt_id == mnt || !u->trees[t].mnt_id || !mnt))
		return (int)t;
	for (size_t i = 0; i < u->ntrees; i++) {
		const struct utree *o = &u->trees[i];

		if ((i == t || (o->alias && o->fd == u->trees[t].fd)) && o->dev == dev &&
		    (o->mnt_id == mnt || !o->mnt_id || !mnt))
			return (int)i;
	}
	if ((r = tree_room(u)) < 0)
		return r;
	a = &u->trees[u->ntrees];
	*a = u->trees[t];
	a->alias = true;
	a->store = false;
	a->dev = dev;
	a->mnt_id = mnt;
	a->last_dir = U_NO_DIR;
	return (int)u->ntrees++;
}

int u_add_file(struct ustate *u, size_t t, const char *rel, size_t rel_len, const struct statx *stx)
{
	const char *slash;
	struct utree *tr;
	size_t dlen;
	int64_t dir;
	int at;

	if (rel_len == 0 || rel[0] != '/' || memchr(rel, '\0', rel_len))
		return -ENAMETOOLONG;
	slash = memrchr(rel, '/', rel_len);
	if (slash == rel + rel_len - 1)
		return -ENAMETOOLONG;
	if ((at = tree_of(u, t, stx)) < 0)
		return at;
	tr = &u->trees[at];
	dlen = (size_t)(slash - rel);
	/* the directory: the root, the last one (files come in scan order), or a new record */
	if (dlen == 0) {
		dir = tr->dir;
	} else if (tr->last_dir != U_NO_DIR &&
		   strlen(u->namebuf.buf + u->dirs[tr->last_dir].name) == dlen - 1 &&
		   !memcmp(u->namebuf.buf + u->dirs[tr->last_dir].name, rel + 1, dlen - 1)) {
		dir = tr->last_dir;
	} else {
		if ((dir = add_dir(u, tr->dir, rel + 1, dlen - 1)) < 0)
			return (int)dir;
		u->trees[at].last_dir = (uint32_t)dir;
	}
	return add_file_in(u, (size_t)at, (uint32_t)dir, slash + 1, rel_len - dlen - 1, stx);
}

/* ------------------------------------------------------------------ events */

void u_event(struct ustate *u, struct va_uevent *ev)
{
	ev->dry_run = u->o->dry_run;
	if (u->o->h && u->o->h->event)
		u->o->h->event(ev, u->st, u->o->h->user);
}

void u_event_file(struct ustate *u, enum va_uevent_type type, const struct ufile *f,
		  const char *master, size_t master_len, uint64_t size)
{
	const char *p = u_abs(u, f, &u->abs);
	struct va_uevent ev = {
		.type = type, .path = p, .path_len = u->abs.len, .master = master,
		.master_len = master_len, .label = u->trees[f->tree].label, .size = size,
	};

	u_event(u, &ev);
}

void u_skip_path(struct ustate *u, const char *path, size_t len, const char *label,
		 enum va_uskip why, int err, const char *detail)
{
	struct va_uevent ev = {
		.type = VA_UEV_SKIP, .path = path, .path_len = len, .label = label,
		.skip = why, .err = err, .detail = detail,
	};

	u->st->skipped[why]++;
	if (why == VA_USKIP_ERROR)
		u->st->failed++;
	u_event(u, &ev);
}

void u_skip(struct ustate *u, const struct ufile *f, enum va_uskip why, int err, const char *detail)
{
	const char *p = u_abs(u, f, &u->abs2);
	struct va_uevent ev = {
		.type = VA_UEV_SKIP, .path = p, .path_len = u->abs2.len,
		.label = u->trees[f->tree].label, .size = f->size,
		.skip = why, .err = err, .detail = detail,
	};

	u->st->skipped[why]++;
	if (why == VA_USKIP_ERROR)
		u->st->failed++;
	u_event(u, &ev);
}

/* ------------------------------------------------------------------ scan */

struct scan {
	struct ustate *u;
	size_t t;
	uint64_t minsize;
	bool count_only;        /* only count names (u_scan_count()) */
	int err;
	uint32_t *stack;        /* the directory record at each depth (depth first) */
	size_t capstack;
};

/* Directory @e is entered: its record, at its depth on the stack. */
static int enter_dir(struct scan *s, const struct va_walk_entry *e)
{
	int64_t d;

	if (va_array_grow(&s->stack, &s->capstack, e->depth, sizeof(*s->stack)) < 0)
		return -ENOMEM;
	d = add_dir(s->u, s->stack[e->depth - 1], e->name, e->name_len);
	if (d < 0)
		return (int)d;
	s->stack[e->depth] = (uint32_t)d;
	return 0;
}

/* One more name of inode @dev/@ino found by a scan (@store: in the store). */
static int names_add(struct ustate *u, dev_t dev, uint64_t ino, bool store)
{
	uint32_t v = 0;

	(void)va_inomap_find(&u->names, dev, ino, &v);
	if ((v & ~U_NAMES_STORE) < ~U_NAMES_STORE)
		v++;
	if (store)
		v |= U_NAMES_STORE;
	return va_inomap_insert(&u->names, dev, ino, v);
}

/* One more name of the hard-linked inode @stx found in tree @t. */
static int count_name(struct ustate *u, size_t t, const struct statx *stx)
{
	if (stx->stx_nlink < 2)
		return 0;
	return names_add(u, makedev(stx->stx_dev_major, stx->stx_dev_minor), stx->stx_ino,
			 u->trees[t].store);
}

bool u_outside(const struct ustate *u, const struct ufile *f)
{
	uint32_t v = 0;

	/* (an inode the run linked names to has those names too) */
	if (f->nlink < 2 || va_inomap_find(&u->touched, u_dev(u, f), f->ino, &v))
		return false;
	(void)va_inomap_find(&u->names, u_dev(u, f), f->ino, &v);
	return !(v & U_NAMES_STORE) && (v & ~U_NAMES_STORE) < f->nlink;
}

static enum va_walk_action on_scan(const struct va_walk_entry *e, void *user)
{
	struct scan *s = user;
	struct ustate *u = s->u;
	const struct utree *t = &u->trees[s->t];
	const char *rel = t->root_len == 1 && t->root[0] == '/' ? e->path : e->path + t->root_len;
	char msg[128];
	int at;

	if (s->count_only) {
		/* a reference: names only, no events (what is not seen counts as outside) */
		if (e->visit != VA_WALK_PRE || !e->stx || e->depth == 0)
			return VA_WALK_CONTINUE;
		if (t->excl && va_excl_match(t->excl, rel, NULL) != VA_EXCL_INCLUDE)
			return S_ISDIR(e->stx->stx_mode) ? VA_WALK_PRUNE : VA_WALK_CONTINUE;
		if (S_ISDIR(e->stx->stx_mode))
			return e->mount_point ? VA_WALK_PRUNE : VA_WALK_CONTINUE;
		if (S_ISREG(e->stx->stx_mode) && (s->err = count_name(u, s->t, e->stx)) < 0)
			return VA_WALK_STOP;
		return VA_WALK_CONTINUE;
	}
	if (e->visit == VA_WALK_ERROR) {
		snprintf(msg, sizeof(msg), "%s failed", e->error_op ? e->error_op : "walk");
		if (e->error == VA_WALK_ECHANGED)
			u_skip_path(u, e->path, e->path_len, t->label, VA_USKIP_CHANGED, 0, msg);
		else
			u_skip_path(u, e->path, e->path_len, t->label, VA_USKIP_ERROR, e->error, msg);
		return VA_WALK_CONTINUE;
	}
	if (e->visit != VA_WALK_PRE || !e->stx)
		return VA_WALK_CONTINUE;
	if (e->depth == 0) {
		struct va_uevent ev = { .type = VA_UEV_GUEST, .path = e->path, .path_len = e->path_len,
					.label = t->label };

		u_event(u, &ev);
		return VA_WALK_CONTINUE;
	}
	if (t->store && e->depth == 1 && !S_ISDIR(e->stx->stx_mode))
		return VA_WALK_CONTINUE;        /* method, blocks, blocksize */
	if (t->excl && va_excl_match(t->excl, rel, NULL) != VA_EXCL_INCLUDE) {
		u->st->skipped[VA_USKIP_EXCLUDED]++;
		return S_ISDIR(e->stx->stx_mode) ? VA_WALK_PRUNE : VA_WALK_CONTINUE;
	}
	if (S_ISDIR(e->stx->stx_mode)) {
		if (e->mount_point)
			return VA_WALK_PRUNE;
		return (s->err = enter_dir(s, e)) < 0 ? VA_WALK_STOP : VA_WALK_CONTINUE;
	}
	if (!S_ISREG(e->stx->stx_mode)) {
		if (!t->store)
			u_skip_path(u, e->path, e->path_len, t->label, VA_USKIP_NOT_REGULAR, 0,
				    S_ISLNK(e->stx->stx_mode) ? "symlink" : NULL);
		return VA_WALK_CONTINUE;
	}
	if ((s->err = count_name(u, s->t, e->stx)) < 0)
		return VA_WALK_STOP;
	if (!t->store) {
		u->st->examined++;
		if (e->stx->stx_size < s->minsize) {
			u->st->skipped[VA_USKIP_SMALL]++;
			return VA_WALK_CONTINUE;
		}
	}
	/* (a file bind-mounted over a name is on a mount of its own) */
	if ((at = tree_of(u, s->t, e->stx)) < 0 ||
	    (at = add_file_in(u, (size_t)at, s->stack[e->depth - 1], e->name, e->name_len, e->stx)) < 0) {
		s->err = at;
		return VA_WALK_STOP;
	}
	return VA_WALK_CONTINUE;
}

static int scan(struct ustate *u, size_t t, uint64_t minsize, bool count_only)
{
	const char *roots[1] = { u->trees[t].root };
	struct scan s = { .u = u, .t = t, .minsize = minsize, .count_only = count_only };
	struct va_walk_args w = {
		.roots = roots,
		.nroots = 1,
		.flags = VA_WALK_XDEV,
		.stx_mask = STATX_BASIC_STATS
#ifdef STATX_MNT_ID
			    | STATX_MNT_ID
#endif
			    ,
		.lazy_types = 1u << DT_LNK | 1u << DT_FIFO | 1u << DT_SOCK | 1u << DT_CHR | 1u << DT_BLK,
		.callback = on_scan,
		.user = &s,
	};
	int r;

	if (va_array_grow(&s.stack, &s.capstack, 0, sizeof(*s.stack)) < 0)
		return -ENOMEM;
	s.stack[0] = u->trees[t].dir;
	r = va_walk(&w);
	free(s.stack);
	if (s.err < 0)
		return s.err;
	return r < 0 ? r : 0;
}

int u_scan(struct ustate *u, size_t t, uint64_t minsize)
{
	return scan(u, t, minsize, false);
}

int u_scan_count(struct ustate *u, size_t t)
{
	return scan(u, t, 0, true);
}
