/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_walk.c - unit tests of core/walk: the fd-relative tree walker.
 *
 * Trees are real directories made under /tmp.  What the walker saw is
 * compared with find(1)'s listing of the same tree; every callback checks
 * the contract of struct va_walk_entry (path, name, at_fd/at_name, stx,
 * dir_fd) against fstatat()/fstat() of its own.
 *
 * Races are made deterministic on the real filesystem: entries are visited
 * in inode order, so the callback of a sibling with a smaller inode number
 * runs between reading a directory and looking at a later entry; and this
 * program defines statx() -- the real system call, plus a hook a test may
 * arm to rename things right after the walker's statx() of a given name.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/walk.h"
#include "tests/unit/testutil.h"

/* ================================================================ statx seam */

static void (*statx_hook)(int dirfd, const char *name);
static const char *statx_hook_name;
static struct dbuf *statx_log; /* names statx()ed by name, each followed by NUL */
static size_t statx_calls;     /* every statx(), by name or by fd */

int statx(int dirfd, const char *restrict path, int flags, unsigned int mask, struct statx *restrict buf)
{
	long r = syscall(SYS_statx, dirfd, path, flags, mask, buf);

	statx_calls++;
	if (statx_log && path[0])
		dbuf_add(statx_log, path, strlen(path) + 1);
	if (r == 0 && statx_hook && strcmp(path, statx_hook_name) == 0) {
		void (*hook)(int, const char *) = statx_hook;

		statx_hook = NULL;
		hook(dirfd, path);
	}
	return (int)r;
}

/* ================================================================ recorder */

struct visit {
	enum va_walk_visit visit;
	char *path;
	size_t path_len;
	size_t name_len;
	size_t depth;
	size_t root_index;
	int error;
	char *error_op;
	bool has_stx;
	uint32_t mode;
	uint64_t ino;
	uint32_t stx_mask;
	dev_t dev;
	bool has_dir_fd;
	bool mount_point;
};

struct rec;
typedef enum va_walk_action decide_fn(const struct va_walk_entry *e, struct rec *r);

struct rec {
	const char *const *roots;
	size_t nroots;
	bool store;             /* keep every visit in v[] */
	struct visit *v;
	size_t n, cap;
	size_t nvisits;
	struct dbuf errs;       /* contract violations seen in callbacks */
	size_t nerrs;
	size_t fd_every;        /* count open fds every so many visits (0: never) */
	size_t max_fds;
	size_t max_path_len, max_depth;
	size_t dirs_with_fd;
	decide_fn *decide;
	void *ctx;
	bool names_change;      /* the test renames entries: skip the fstatat check */
	size_t error_without_at_fd; /* ERROR visits below a root with at_fd -1 */
	unsigned lazy_types;    /* va_walk_args.lazy_types */
	bool after_stop;        /* a callback came after VA_WALK_STOP */
	bool stopped;
};

static void violation(struct rec *r, const struct va_walk_entry *e, const char *what)
{
	char *p;

	if (r->nerrs++ >= 10)
		return;
	p = tu_hexdump(e->path, e->path_len);
	dbuf_addf(&r->errs, "  visit %d \"%s\": %s\n", e->visit, p, what);
	free(p);
}

static size_t root_len(const char *root)
{
	size_t len = strlen(root);

	while (len > 1 && root[len - 1] == '/')
		len--;
	return len;
}

static bool same_inode(const struct stat *st, const struct statx *stx)
{
	return st->st_ino == stx->stx_ino &&
	       st->st_dev == makedev(stx->stx_dev_major, stx->stx_dev_minor);
}

static enum va_walk_action record_cb(const struct va_walk_entry *e, void *user)
{
	struct rec *r = user;
	enum va_walk_action act = VA_WALK_CONTINUE;
	const char *root;
	size_t rlen, seps = 0;
	struct stat st;

	r->nvisits++;
	if (r->stopped)
		r->after_stop = true;
	if (e->root_index >= r->nroots) {
		violation(r, e, "root_index out of range");
		return VA_WALK_STOP;
	}
	root = r->roots[e->root_index];
	rlen = root_len(root);

	/* display path: the root, then "/name" per level */
	if (e->path_len < rlen || memcmp(e->path, root, rlen) != 0)
		violation(r, e, "path does not start with the root");
	for (size_t i = rlen; i < e->path_len; i++)
		seps += e->path[i] == '/';
	if (seps != e->depth)
		violation(r, e, "depth is not the number of components below the root");
	if (e->depth == 0) {
		if (e->path_len != rlen || e->name_len != rlen || memcmp(e->name, root, rlen) != 0)
			violation(r, e, "root visit: path/name are not the root");
	} else {
		if (e->name_len == 0 || e->name_len + 1 > e->path_len ||
		    e->path[e->path_len - e->name_len - 1] != '/' ||
		    memcmp(e->path + e->path_len - e->name_len, e->name, e->name_len) != 0 ||
		    memchr(e->name, '/', e->name_len) || memchr(e->name, '\0', e->name_len))
			violation(r, e, "name is not the last component of path");
	}

	/* at_fd/at_name name the entry */
	if (e->visit != VA_WALK_POST) {
		if (e->depth == 0) {
			if (e->at_fd != AT_FDCWD || strcmp(e->at_name, root) != 0)
				violation(r, e, "root visit: at_fd/at_name are not AT_FDCWD/root");
		} else if (strlen(e->at_name) != e->name_len || memcmp(e->at_name, e->name, e->name_len) != 0) {
			violation(r, e, "at_name is not the name of the entry");
		} else if (e->at_fd < 0) {
			/* checked by the tests that provoke it, after their main assertions */
			if (e->visit == VA_WALK_ERROR)
				r->error_without_at_fd++;
			else
				violation(r, e, "at_fd is not a directory fd");
		}
	}

	switch (e->visit) {
	case VA_WALK_PRE:
		if (!e->stx) {
			violation(r, e, "PRE without stx");
			break;
		}
		if (e->depth > 0 && !r->names_change) {
			if (fstatat(e->at_fd, e->at_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !same_inode(&st, e->stx))
				violation(r, e, "fstatat(at_fd, at_name) is not the inode in stx");
		}
		if (S_ISDIR(e->stx->stx_mode)) {
			if (e->dir_fd >= 0) {
				r->dirs_with_fd++;
				if (fstat(e->dir_fd, &st) < 0 || !same_inode(&st, e->stx) || !S_ISDIR(st.st_mode))
					violation(r, e, "dir_fd is not the directory in stx");
			} else if (!e->mount_point) {
				violation(r, e, "directory PRE without dir_fd");
			}
		} else if (e->dir_fd != -1) {
			violation(r, e, "dir_fd set for a non-directory");
		}
		break;
	case VA_WALK_POST:
		if (!e->stx || !S_ISDIR(e->stx->stx_mode) || e->dir_fd != -1)
			violation(r, e, "POST: not a directory, or dir_fd set");
		break;
	case VA_WALK_ERROR:
		if (e->error <= 0 || !e->error_op || !e->error_op[0])
			violation(r, e, "ERROR without error/error_op");
		if (e->dir_fd != -1)
			violation(r, e, "ERROR with dir_fd");
		break;
	default:
		violation(r, e, "unknown visit");
	}

	if (r->fd_every && r->nvisits % r->fd_every == 0) {
		size_t n = tu_count_fds();

		if (n > r->max_fds)
			r->max_fds = n;
	}
	if (e->path_len > r->max_path_len)
		r->max_path_len = e->path_len;
	if (e->depth > r->max_depth)
		r->max_depth = e->depth;

	if (r->store) {
		struct visit *v;

		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 256;
			r->v = realloc(r->v, r->cap * sizeof(*r->v));
			ck_assert_ptr_nonnull(r->v);
		}
		v = &r->v[r->n++];
		memset(v, 0, sizeof(*v));
		v->visit = e->visit;
		v->path = malloc(e->path_len + 1);
		ck_assert_ptr_nonnull(v->path);
		memcpy(v->path, e->path, e->path_len);
		v->path[e->path_len] = '\0';
		v->path_len = e->path_len;
		v->name_len = e->name_len;
		v->depth = e->depth;
		v->root_index = e->root_index;
		v->error = e->error;
		v->error_op = e->error_op ? strdup(e->error_op) : NULL;
		v->has_stx = e->stx != NULL;
		if (e->stx) {
			v->mode = e->stx->stx_mode;
			v->ino = e->stx->stx_ino;
			v->stx_mask = e->stx->stx_mask;
			v->dev = makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor);
		}
		v->has_dir_fd = e->dir_fd >= 0;
		v->mount_point = e->mount_point;
	}
	if (r->decide)
		act = r->decide(e, r);
	if (act == VA_WALK_STOP)
		r->stopped = true;
	return act;
}

static void rec_free(struct rec *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].path);
		free(r->v[i].error_op);
	}
	free(r->v);
	dbuf_release(&r->errs);
	memset(r, 0, sizeof(*r));
}

/* Walk @roots with @r recording; fds before and after must be equal. */
static int walk(struct rec *r, const char *const *roots, size_t nroots, unsigned flags, size_t budget)
{
	struct va_walk_args a = {
		.roots = roots,
		.nroots = nroots,
		.flags = flags,
		.fd_budget = budget,
		.lazy_types = r->lazy_types,
		.callback = record_cb,
		.user = r,
	};
	size_t before = tu_count_fds(), after;
	int ret;

	r->roots = roots;
	r->nroots = nroots;
	ret = va_walk(&a);
	after = tu_count_fds();
	ck_assert_msg(after == before, "va_walk leaked %ld fds (%zu before, %zu after)",
		      (long)after - (long)before, before, after);
	ck_assert_msg(r->errs.len == 0, "callback contract violated (%zu times):\n%s", r->nerrs,
		      dbuf_str(&r->errs));
	ck_assert_msg(!r->after_stop, "callback called after VA_WALK_STOP");
	return ret;
}

static const struct visit *find_visit(const struct rec *r, enum va_walk_visit what, const char *path)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].visit == what && r->v[i].path_len == strlen(path) &&
		    memcmp(r->v[i].path, path, r->v[i].path_len) == 0)
			return &r->v[i];
	return NULL;
}

static bool any_visit_contains(const struct rec *r, const char *needle)
{
	for (size_t i = 0; i < r->n; i++)
		if (memmem(r->v[i].path, r->v[i].path_len, needle, strlen(needle)))
			return true;
	return false;
}

/* ================================================================ ground truth */

struct ent {
	char *p;
	size_t len;
	char type; /* find -printf %y letter */
};

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static char type_letter(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:  return 'f';
	case S_IFDIR:  return 'd';
	case S_IFLNK:  return 'l';
	case S_IFIFO:  return 'p';
	case S_IFSOCK: return 's';
	case S_IFCHR:  return 'c';
	case S_IFBLK:  return 'b';
	default:       return '?';
	}
}

/* find ROOT -mindepth 1 -printf '%y %P\0', sorted. */
static size_t find_list(const char *root, struct ent **ret)
{
	const char *argv[] = { "find", root, "-mindepth", "1", "-printf", "%y %P\\0", NULL };
	struct dbuf out = DBUF_INIT;
	struct ent *e = NULL;
	size_t n = 0, cap = 0;

	ck_assert_msg(tu_run_ok(tu_run(argv, NULL, 0, &out)), "find %s failed", root);
	for (size_t off = 0; off < out.len;) {
		size_t len = strlen(out.buf + off);

		ck_assert_uint_ge(len, 3);
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			e = realloc(e, cap * sizeof(*e));
			ck_assert_ptr_nonnull(e);
		}
		e[n].type = out.buf[off];
		e[n].len = len - 2;
		e[n].p = malloc(len - 1);
		memcpy(e[n].p, out.buf + off + 2, len - 1);
		n++;
		off += len + 1;
	}
	dbuf_release(&out);
	qsort(e, n, sizeof(*e), ent_cmp);
	*ret = e;
	return n;
}

/* The entries below root 0 the walker reported (PRE or ERROR), sorted. */
static size_t walk_list(const struct rec *r, struct ent **ret)
{
	size_t rlen = root_len(r->roots[0]), n = 0;
	struct ent *e = calloc(r->n + 1, sizeof(*e));

	ck_assert_ptr_nonnull(e);
	for (size_t i = 0; i < r->n; i++) {
		const struct visit *v = &r->v[i];

		if (v->root_index != 0 || v->depth == 0 || v->visit == VA_WALK_POST)
			continue;
		e[n].p = v->path + rlen + 1;
		e[n].len = v->path_len - rlen - 1;
		e[n].type = v->has_stx ? type_letter(v->mode) : '?';
		n++;
	}
	qsort(e, n, sizeof(*e), ent_cmp);
	*ret = e;
	return n;
}

/* The walker saw exactly what find sees: every entry once, same type. */
static void assert_same_as_find(const struct rec *r, const char *root)
{
	struct ent *want, *got;
	size_t nw = find_list(root, &want), ng = walk_list(r, &got);

	for (size_t i = 0; i < nw || i < ng; i++) {
		char *a = i < nw ? tu_hexdump(want[i].p, want[i].len) : strdup("(end)");
		char *b = i < ng ? tu_hexdump(got[i].p, got[i].len) : strdup("(end)");

		ck_assert_msg(i < nw && i < ng && ent_cmp(&want[i], &got[i]) == 0,
			      "entry %zu: find has \"%s\", the walker \"%s\" (%zu vs %zu entries)",
			      i, a, b, nw, ng);
		ck_assert_msg(want[i].type == got[i].type, "\"%s\": find type %c, walker %c",
			      a, want[i].type, got[i].type);
		free(a);
		free(b);
	}
	for (size_t i = 0; i < nw; i++)
		free(want[i].p);
	free(want);
	free(got);
}

/* Entries of each directory are visited in inode-number order. */
static void assert_inode_order(const struct rec *r)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct visit *a = &r->v[i];
		size_t plen = a->path_len - a->name_len;

		if (a->visit != VA_WALK_PRE || a->depth == 0 || a->mount_point)
			continue;
		for (size_t j = i + 1; j < r->n; j++) {
			const struct visit *b = &r->v[j];

			if (b->visit != VA_WALK_PRE || b->depth != a->depth || b->mount_point ||
			    b->path_len - b->name_len != plen || memcmp(a->path, b->path, plen) != 0)
				continue;
			ck_assert_msg(a->ino <= b->ino, "%s (inode %llu) visited before %s (inode %llu)",
				      a->path, (unsigned long long)a->ino, b->path, (unsigned long long)b->ino);
		}
	}
}

/* ================================================================ tree makers */

static int open_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	return fd;
}

static int mkdir_open(int dfd, const char *name)
{
	int fd;

	ck_assert_msg(mkdirat(dfd, name, 0755) == 0, "mkdir %s: %s", name, strerror(errno));
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "open %s: %s", name, strerror(errno));
	return fd;
}

static void mk_dir(int dfd, const char *name)
{
	close(mkdir_open(dfd, name));
}

static void write_in(const char *dir, const char *name)
{
	int fd = open_dir(dir);

	tu_write_file(fd, name, "", 0);
	close(fd);
}

static void mk_link(const char *target, int dfd, const char *name)
{
	ck_assert_msg(symlinkat(target, dfd, name) == 0, "symlink %s: %s", name, strerror(errno));
}

/* A random name: hostile bytes, unique thanks to the number at the end. */
static void rand_name(uint64_t *seed, unsigned n, char *buf, size_t size)
{
	static const char pool[] = "abcXYZ019 -_.~'\"\\$`*?[]{}\n\t\x1b\x7f\xc3\xa9\xff\xfe\x80";
	size_t len = tu_rand(seed) % 12, i;

	for (i = 0; i < len && i + 12 < size; i++)
		buf[i] = pool[tu_rand(seed) % (sizeof(pool) - 1)];
	snprintf(buf + i, size - i, "%u", n);
}

/* A random tree of files, directories, symlinks, FIFOs and hard links. */
static void rand_tree(int dfd, int depth, uint64_t *seed, unsigned *counter, int hard_dir)
{
	unsigned n = depth == 0 ? 14 : (unsigned)(tu_rand(seed) % 8);

	for (unsigned i = 0; i < n; i++) {
		char name[64];
		unsigned kind = (unsigned)(tu_rand(seed) % 10);

		rand_name(seed, (*counter)++, name, sizeof(name));
		if (kind >= 4 && kind <= 6 && depth < 6) {
			int sub = mkdir_open(dfd, name);

			rand_tree(sub, depth + 1, seed, counter, hard_dir);
			close(sub);
		} else if (kind == 7) {
			static const char *const targets[] = { ".", "..", "/etc", "/", "nonexistent", "../../.." };

			mk_link(targets[tu_rand(seed) % 6], dfd, name);
		} else if (kind == 8) {
			ck_assert_int_eq(mkfifoat(dfd, name, 0644), 0);
		} else if (kind == 9 && hard_dir >= 0) {
			ck_assert_msg(linkat(hard_dir, "hardlink-target", dfd, name, 0) == 0, "link: %s",
				      strerror(errno));
		} else {
			tu_write_file(dfd, name, name, strlen(name));
		}
	}
}

/* ================================================================ tests */

START_TEST(visits_every_entry_once)
{
	char *root = tu_subdir("tree");
	const char *roots[] = { root };
	size_t budgets[] = { 0, 4, 5, 16 };
	uint64_t seed = 20240501;
	unsigned counter = 0;
	int dfd = open_dir(root);

	tu_write_file(dfd, "hardlink-target", "x", 1);
	rand_tree(dfd, 0, &seed, &counter, dfd);
	close(dfd);
	for (size_t k = 0; k < 2 * sizeof(budgets) / sizeof(budgets[0]); k++) {
		size_t b = k / 2;
		unsigned flags = k % 2 ? VA_WALK_LAZY_DIRS : 0;
		struct rec r = { .store = true, .fd_every = 7 };
		const struct visit *v0;

		ck_assert_int_eq(walk(&r, roots, 1, flags, budgets[b]), 0);
		ck_assert_uint_gt(r.n, 100);
		v0 = &r.v[0];
		ck_assert_msg(v0->depth == 0 && v0->visit == VA_WALK_PRE && strcmp(v0->path, root) == 0,
			      "the first visit is not the root");
		for (size_t i = 0; i < r.n; i++) {
			ck_assert_msg(r.v[i].visit == VA_WALK_PRE, "%s: visit %d", r.v[i].path, r.v[i].visit);
			ck_assert(i == 0 || r.v[i].depth > 0);
		}
		assert_same_as_find(&r, root);
		assert_inode_order(&r);
		if (budgets[b])
			ck_assert_msg(r.max_fds <= tu_count_fds() + budgets[b] + 1,
				      "budget %zu: %zu fds open during the walk", budgets[b], r.max_fds);
		rec_free(&r);
	}
	free(root);
}
END_TEST

/*
 * A comb: a chain of directories where every level also holds a file and a
 * side directory, so the walk comes back to evicted levels with entries
 * left and must reopen them.
 */
static void make_comb(int dfd, size_t depth, uint64_t *seed)
{
	for (size_t i = 0; i < depth; i++) {
		char name[32];
		int side, next;

		snprintf(name, sizeof(name), "side%llu", (unsigned long long)(tu_rand(seed) % 1000));
		side = mkdir_open(dfd, name);
		tu_write_file(side, "s", "", 0);
		close(side);
		snprintf(name, sizeof(name), "f%zu", i);
		tu_write_file(dfd, name, "", 0);
		snprintf(name, sizeof(name), "c%llu", (unsigned long long)(tu_rand(seed) % 1000));
		next = mkdir_open(dfd, name);
		if (i)
			close(dfd);
		dfd = next;
	}
	close(dfd);
}

START_TEST(small_budgets_reopen_correctly)
{
	char *root = tu_subdir("comb");
	const char *roots[] = { root };
	uint64_t seed = 31337;
	int dfd = open_dir(root);

	make_comb(dfd, 40, &seed);
	close(dfd);
	for (size_t budget = 4; budget <= 12; budget++) {
		struct rec r = { .store = true, .fd_every = 1 };
		size_t base = tu_count_fds();

		ck_assert_int_eq(walk(&r, roots, 1, VA_WALK_POSTORDER, budget), 0);
		assert_same_as_find(&r, root);
		ck_assert_msg(r.max_fds <= base + budget + 1, "budget %zu: %zu directory fds held",
			      budget, r.max_fds - base);
		for (size_t i = 0; i < r.n; i++)
			ck_assert_msg(r.v[i].visit != VA_WALK_ERROR, "error %d (%s) at %s", r.v[i].error,
				      r.v[i].error_op, r.v[i].path);
		rec_free(&r);
	}
	free(root);
}
END_TEST

static enum va_walk_action stop_at_symlink_target(const struct va_walk_entry *e, struct rec *r)
{
	(void)r;
	/* a walker that followed a link would get here; stop to keep it short */
	return memmem(e->path, e->path_len, "secret", 6) ? VA_WALK_STOP : VA_WALK_CONTINUE;
}

START_TEST(symlinks_reported_not_followed)
{
	char *root = tu_subdir("links"), *outside = tu_subdir("outside");
	char *rootlink = tu_strdupf("%s-link", root);
	const char *roots[] = { root };
	int dfd = open_dir(root), odf = open_dir(outside), sub;
	struct rec r = { .store = true, .decide = stop_at_symlink_target };

	tu_write_file(odf, "secret1", "s", 1);
	sub = mkdir_open(odf, "secretdir");
	tu_write_file(sub, "secret2", "s", 1);
	close(sub);
	close(odf);

	mk_link(outside, dfd, "to_outside");          /* a directory outside the tree */
	mk_link("../", dfd, "to_parent");
	mk_link(".", dfd, "to_self_dir");
	mk_link("loop", dfd, "loop");                  /* ELOOP if ever followed */
	mk_link("pong", dfd, "ping");
	mk_link("ping", dfd, "pong");
	mk_link("missing", dfd, "dangling");
	sub = mkdir_open(dfd, "real");
	tu_write_file(sub, "file", "f", 1);
	mk_link("..", sub, "up");
	close(sub);
	close(dfd);

	ck_assert_int_eq(walk(&r, roots, 1, 0, 0), 0);
	ck_assert_msg(!any_visit_contains(&r, "secret"), "a symlink was followed out of the tree");
	assert_same_as_find(&r, root);
	{
		static const char *const links[] = { "to_outside", "to_parent", "to_self_dir", "loop",
						      "ping", "pong", "dangling", "real/up" };

		for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
			char *p = tu_strdupf("%s/%s", root, links[i]);
			const struct visit *v = find_visit(&r, VA_WALK_PRE, p);

			ck_assert_msg(v != NULL, "symlink %s not reported", links[i]);
			ck_assert_msg(S_ISLNK(v->mode) && !v->has_dir_fd, "%s: mode 0%o", links[i], v->mode);
			free(p);
		}
	}
	rec_free(&r);

	/* a root that is a symlink is followed (and only the root) */
	ck_assert_int_eq(symlink(root, rootlink), 0);
	{
		const char *lroots[] = { rootlink };
		struct rec r2 = { .store = true, .decide = stop_at_symlink_target };
		char *p = tu_strdupf("%s/real/file", rootlink);

		ck_assert_int_eq(walk(&r2, lroots, 1, 0, 0), 0);
		ck_assert_msg(r2.n > 1 && S_ISDIR(r2.v[0].mode), "symlink root not followed");
		ck_assert_ptr_nonnull(find_visit(&r2, VA_WALK_PRE, p));
		ck_assert_msg(!any_visit_contains(&r2, "secret"), "a symlink below the root was followed");
		free(p);
		rec_free(&r2);
	}
	free(rootlink);
	free(outside);
	free(root);
}
END_TEST

static enum va_walk_action prune_p(const struct va_walk_entry *e, struct rec *r)
{
	(void)r;
	return e->name_len == 1 && e->name[0] == 'p' ? VA_WALK_PRUNE : VA_WALK_CONTINUE;
}

static enum va_walk_action prune_all(const struct va_walk_entry *e, struct rec *r)
{
	(void)e;
	(void)r;
	return VA_WALK_PRUNE;
}

START_TEST(prune_skips_subtree)
{
	char *root = tu_subdir("prune");
	const char *roots[] = { root };
	int dfd = open_dir(root), p, q;
	struct rec r = { .store = true, .decide = prune_p };
	char *path;

	p = mkdir_open(dfd, "p");
	tu_write_file(p, "hidden1", "", 0);
	q = mkdir_open(p, "deeper");
	tu_write_file(q, "hidden2", "", 0);
	close(q);
	close(p);
	q = mkdir_open(dfd, "q");
	tu_write_file(q, "seen", "", 0);
	p = mkdir_open(q, "p"); /* pruned too: same name */
	tu_write_file(p, "hidden3", "", 0);
	close(p);
	close(q);
	tu_write_file(dfd, "file", "", 0);
	close(dfd);

	ck_assert_int_eq(walk(&r, roots, 1, VA_WALK_POSTORDER, 0), 0);
	ck_assert_msg(!any_visit_contains(&r, "hidden"), "a pruned directory was entered");
	path = tu_strdupf("%s/p", root);
	ck_assert_ptr_nonnull(find_visit(&r, VA_WALK_PRE, path));
	free(path);
	path = tu_strdupf("%s/q/p", root);
	ck_assert_ptr_nonnull(find_visit(&r, VA_WALK_PRE, path));
	free(path);
	path = tu_strdupf("%s/q/seen", root);
	ck_assert_ptr_nonnull(find_visit(&r, VA_WALK_PRE, path));
	free(path);
	path = tu_strdupf("%s/file", root);
	ck_assert_ptr_nonnull(find_visit(&r, VA_WALK_PRE, path));
	free(path);
	/* root, p, q, q/seen, q/p, file + POST of root and q */
	ck_assert_uint_eq(r.n, 8);
	rec_free(&r);

	/* pruning the root ends that root */
	r = (struct rec){ .store = true, .decide = prune_all };
	ck_assert_int_eq(walk(&r, roots, 1, VA_WALK_POSTORDER, 0), 0);
	ck_assert_uint_eq(r.n, 1);
	rec_free(&r);
	free(root);
}
END_TEST

static enum va_walk_action stop_after_n(const struct va_walk_entry *e, struct rec *r)
{
	(void)e;
	return r->nvisits == (size_t)(uintptr_t)r->ctx ? VA_WALK_STOP : VA_WALK_CONTINUE;
}

static enum va_walk_action stop_on_error(const struct va_walk_entry *e, struct rec *r)
{
	(void)r;
	return e->visit == VA_WALK_ERROR ? VA_WALK_STOP : VA_WALK_CONTINUE;
}

static void make_chain(const char *root, size_t depth, const char *leaf)
{
	int fd = open_dir(root);

	for (size_t i = 0; i < depth; i++) {
		int nfd;

		ck_assert_msg(mkdirat(fd, "d", 0755) == 0, "mkdir at depth %zu: %s", i, strerror(errno));
		nfd = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_msg(nfd >= 0, "open at depth %zu: %s", i, strerror(errno));
		close(fd);
		fd = nfd;
	}
	if (leaf)
		tu_write_file(fd, leaf, "leaf", 4);
	close(fd);
}

START_TEST(stop_ends_walk)
{
	char *root = tu_subdir("stop"), *chain = tu_subdir("stopchain");
	const char *roots[] = { root, chain };
	uint64_t seed = 5;
	unsigned counter = 0;
	int dfd = open_dir(root);
	size_t total;

	rand_tree(dfd, 0, &seed, &counter, -1);
	close(dfd);
	make_chain(chain, 60, "leaf");
	{
		struct rec r = { 0 };

		ck_assert_int_eq(walk(&r, roots, 2, VA_WALK_POSTORDER, 0), 0);
		total = r.nvisits;
		rec_free(&r);
	}
	/* stop at every k-th visit, with and without a small fd budget */
	for (size_t k = 1; k < total; k += 1 + k / 3) {
		for (size_t budget = 0; budget <= 4; budget += 4) {
			struct rec r = { .decide = stop_after_n, .ctx = (void *)(uintptr_t)k };

			ck_assert_msg(walk(&r, roots, 2, VA_WALK_POSTORDER, budget) == 1,
				      "STOP at visit %zu: va_walk did not return 1", k);
			ck_assert_uint_eq(r.nvisits, k);
			rec_free(&r);
		}
	}
	/* STOP from an ERROR visit; the next root is not walked */
	{
		const char *r2[] = { "/nonexistent/vaudit-unit", root };
		struct rec r = { .store = true, .decide = stop_on_error };

		ck_assert_int_eq(walk(&r, r2, 2, 0, 0), 1);
		ck_assert_uint_eq(r.n, 1);
		ck_assert_int_eq(r.v[0].visit, VA_WALK_ERROR);
		rec_free(&r);
	}
	free(root);
	free(chain);
}
END_TEST

START_TEST(hostile_names_exact_bytes)
{
	static const char *const names[] = {
		"new\nline", "\xff\xfe", "-rf", "--", "-", " space", "tab\t", "\x1b[31mred",
		"a\\b", "'q'", "\"dq\"", "$(x)", "*", "?", ".hidden", "...", "\xc3\xa9", "\xe2\x80\xae",
		"\x01\x02", "\x7f", "~",
	};
	char *root = tu_subdir("names");
	const char *roots[] = { root };
	int dfd = open_dir(root);
	char longname[256];
	struct rec r = { .store = true };

	memset(longname, 'L', 255);
	longname[255] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int sub = mkdir_open(dfd, names[i]);

		tu_write_file(sub, names[i], "x", 1);
		close(sub);
	}
	tu_write_file(dfd, longname, "", 0);
	close(dfd);

	ck_assert_int_eq(walk(&r, roots, 1, 0, 0), 0);
	assert_same_as_find(&r, root);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *d = tu_strdupf("%s/%s", root, names[i]), *f = tu_strdupf("%s/%s/%s", root, names[i], names[i]);
		const struct visit *vd = find_visit(&r, VA_WALK_PRE, d), *vf = find_visit(&r, VA_WALK_PRE, f);
		char *h = tu_hexdump(names[i], strlen(names[i]));

		ck_assert_msg(vd && S_ISDIR(vd->mode) && vd->name_len == strlen(names[i]), "dir \"%s\"", h);
		ck_assert_msg(vf && S_ISREG(vf->mode) && vf->depth == 2, "file \"%s\"", h);
		free(h);
		free(d);
		free(f);
	}
	{
		char *p = tu_strdupf("%s/%s", root, longname);

		ck_assert_ptr_nonnull(find_visit(&r, VA_WALK_PRE, p));
		free(p);
	}
	rec_free(&r);

	/* a root given with trailing slashes: no "//" in paths */
	{
		char *slashed = tu_strdupf("%s//", root);
		const char *sroots[] = { slashed };
		struct rec r2 = { .store = true };

		ck_assert_int_eq(walk(&r2, sroots, 1, 0, 0), 0);
		for (size_t i = 0; i < r2.n; i++)
			ck_assert_msg(!memmem(r2.v[i].path, r2.v[i].path_len, "//", 2), "path with //");
		ck_assert_uint_eq(r2.n, sizeof(names) / sizeof(names[0]) * 2 + 2);
		rec_free(&r2);
		free(slashed);
	}
	free(root);
}
END_TEST

/* lazy_types: no statx() for those types; type, inode and device from the directory. */
START_TEST(lazy_types_skip_statx)
{
	char *root = tu_subdir("lazy");
	const char *roots[] = { root };
	int dfd = open_dir(root), sub, sock, cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct rec r = { .store = true };
	struct dbuf log = DBUF_INIT;
	static const char *const lazy_names[] = { "file", "link", "fifo", "sock", "null" };
	bool have_dev;

	tu_write_file(dfd, "file", "data", 4);
	sub = mkdir_open(dfd, "dir");
	tu_write_file(sub, "inner", "", 0);
	mk_link("file", sub, "innerlink");
	close(sub);
	mk_link("/etc", dfd, "link");
	ck_assert_int_eq(mkfifoat(dfd, "fifo", 0644), 0);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(fchdir(dfd), 0);
	strcpy(sa.sun_path, "sock");
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(fchdir(cwd), 0);
	close(cwd);
	have_dev = mknodat(dfd, "null", S_IFCHR | 0666, makedev(1, 3)) == 0;

	/* DT_DIR in the set must be ignored; DT_REG is honoured */
	r.lazy_types = 1u << DT_LNK | 1u << DT_FIFO | 1u << DT_SOCK | 1u << DT_CHR | 1u << DT_BLK |
		       1u << DT_DIR | 1u << DT_REG;
	statx_log = &log;
	ck_assert_int_eq(walk(&r, roots, 1, 0, 0), 0);
	statx_log = NULL;
	assert_same_as_find(&r, root);

	for (size_t i = 0; i < sizeof(lazy_names) / sizeof(lazy_names[0]); i++) {
		char *p = tu_strdupf("%s/%s", root, lazy_names[i]);
		const struct visit *v = find_visit(&r, VA_WALK_PRE, p);
		struct stat st;

		if (i == 4 && !have_dev) {
			free(p);
			continue;
		}
		ck_assert_msg(v != NULL, "%s not visited", lazy_names[i]);
		ck_assert_int_eq(fstatat(dfd, lazy_names[i], &st, AT_SYMLINK_NOFOLLOW), 0);
		ck_assert_msg((v->mode & S_IFMT) == (st.st_mode & S_IFMT), "%s: type 0%o, lstat 0%o",
			      lazy_names[i], v->mode & S_IFMT, st.st_mode & S_IFMT);
		ck_assert_msg(v->ino == st.st_ino, "%s: inode %llu, lstat %llu", lazy_names[i],
			      (unsigned long long)v->ino, (unsigned long long)st.st_ino);
		ck_assert_msg(v->dev == st.st_dev, "%s: device differs", lazy_names[i]);
		ck_assert_msg(v->stx_mask == (STATX_TYPE | STATX_INO), "%s: stx_mask 0x%x", lazy_names[i],
			      v->stx_mask);
		for (size_t off = 0; off < log.len; off += strlen(log.buf + off) + 1)
			ck_assert_msg(strcmp(log.buf + off, lazy_names[i]) != 0, "%s was statx()ed",
				      lazy_names[i]);
		free(p);
	}
	/* directories are examined as usual, and what is below them visited */
	{
		char *p = tu_strdupf("%s/dir", root), *q = tu_strdupf("%s/dir/inner", root);
		const struct visit *v = find_visit(&r, VA_WALK_PRE, p);

		ck_assert_msg(v && S_ISDIR(v->mode) && (v->stx_mask & STATX_SIZE), "dir not statx()ed");
		ck_assert_ptr_nonnull(find_visit(&r, VA_WALK_PRE, q));
		free(p);
		free(q);
	}
	close(dfd);
	close(sock);
	dbuf_release(&log);
	rec_free(&r);
	free(root);
}
END_TEST

/*
 * VA_WALK_LAZY_DIRS: no directory below the root is statx()ed, by name or
 * by fd; each is reported with its type, inode number and device only
 * (checked against lstat), and what is below it is visited as find sees it.
 */
START_TEST(lazy_dirs_skip_statx)
{
	char *root = tu_subdir("lazyd");
	const char *roots[] = { root };
	int dfd = open_dir(root), sub;
	struct rec r = { .store = true };
	struct dbuf log = DBUF_INIT;
	size_t ndirs = 0, before;

	sub = mkdir_open(dfd, "a");
	tu_write_file(sub, "f", "x", 1);
	close(sub);
	sub = mkdir_open(dfd, "b");
	close(mkdir_open(sub, "c"));
	close(sub);
	/* the same walk without the flag: statx() of the three directories more */
	r.lazy_types = 1u << DT_REG;
	statx_calls = 0;
	ck_assert_int_eq(walk(&r, roots, 1, 0, 0), 0);
	rec_free(&r);
	ck_assert_uint_ge(statx_calls, 3);
	before = statx_calls;
	r = (struct rec){ .store = true, .lazy_types = 1u << DT_REG };
	statx_log = &log;
	statx_calls = 0;
	ck_assert_int_eq(walk(&r, roots, 1, VA_WALK_LAZY_DIRS, 0), 0);
	statx_log = NULL;
	assert_same_as_find(&r, root);
	ck_assert_uint_eq(statx_calls, before - 3);
	/* by name: the root only */
	ck_assert_str_eq(log.buf, root);
	ck_assert_uint_eq(log.len, strlen(root) + 1);
	for (size_t i = 0; i < r.n; i++) {
		const struct visit *v = &r.v[i];
		struct stat st;

		if (v->depth == 0 || !S_ISDIR(v->mode))
			continue;
		ndirs++;
		ck_assert_int_eq(lstat(v->path, &st), 0);
		ck_assert_msg(v->ino == st.st_ino && v->dev == st.st_dev, "%s: identity", v->path);
		ck_assert_msg(v->stx_mask == (STATX_TYPE | STATX_INO), "%s: stx_mask 0x%x", v->path,
			      v->stx_mask);
		ck_assert_msg(v->has_dir_fd, "%s: no dir_fd", v->path);
	}
	ck_assert_uint_eq(ndirs, 3);
	close(dfd);
	dbuf_release(&log);
	rec_free(&r);
	free(root);
}
END_TEST

enum { CHAIN_DEPTH = 10000 };

static void deep_chain(size_t budget, rlim_t nofile)
{
	char *root = tu_subdir("deep");
	const char *roots[] = { root };
	struct rec r = { .fd_every = budget ? 1 : 97 };
	struct rlimit saved, rl;
	size_t base;

	make_chain(root, CHAIN_DEPTH, "leaf");
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	if (nofile) {
		rl = saved;
		if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > nofile)
			rl.rlim_cur = nofile;
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	base = tu_count_fds();
	ck_assert_int_eq(walk(&r, roots, 1, VA_WALK_POSTORDER, budget), 0);
	/* root + 10,000 directories + leaf, and a POST for each directory */
	ck_assert_uint_eq(r.nvisits, 1 + CHAIN_DEPTH + 1 + 1 + CHAIN_DEPTH);
	ck_assert_uint_eq(r.max_depth, CHAIN_DEPTH + 1);
	ck_assert_uint_eq(r.max_path_len, strlen(root) + 2 * CHAIN_DEPTH + strlen("/leaf"));
	ck_assert_uint_gt(r.max_path_len, 2 * CHAIN_DEPTH);
	ck_assert_uint_eq(r.dirs_with_fd, 1 + CHAIN_DEPTH);
	if (budget)
		ck_assert_msg(r.max_fds <= base + budget + 1, "budget %zu: up to %zu fds held",
			      budget, r.max_fds - base);
	fprintf(stderr, "# deep chain, budget %zu: at most %zu fds open beyond the %zu before\n",
		budget, r.max_fds - base, base);
	rec_free(&r);
	setrlimit(RLIMIT_NOFILE, &saved);
	free(root);
}

START_TEST(deep_chain_budget_16)
{
	deep_chain(16, 0);
}
END_TEST

START_TEST(deep_chain_default_budget)
{
	/* the default budget comes from RLIMIT_NOFILE: make that small */
	deep_chain(0, 200);
}
END_TEST

/* Whatever happens, the walker closes what it opened. */
START_TEST(no_fd_leaks)
{
	char *root = tu_subdir("leaks");
	const char *roots[] = { root, "/nonexistent/vaudit-unit", root };
	uint64_t seed = 77;
	unsigned counter = 0;
	int dfd = open_dir(root);
	size_t before;

	rand_tree(dfd, 0, &seed, &counter, -1);
	close(dfd);
	make_chain(root, 50, NULL);
	before = tu_count_fds();
	for (int round = 0; round < 30; round++) {
		struct rec r = { .decide = round % 3 == 0 ? stop_after_n : round % 3 == 1 ? prune_p : NULL,
				 .ctx = (void *)(uintptr_t)(10 + round * 7) };

		walk(&r, roots, 3, round % 2 ? VA_WALK_POSTORDER : 0, (size_t)(round % 5) * 2);
		rec_free(&r);
	}
	ck_assert_uint_eq(tu_count_fds(), before);
	free(root);
}
END_TEST

START_TEST(missing_root_is_an_error_visit)
{
	char *root = tu_subdir("exists");
	const char *roots[] = { "/nonexistent/vaudit-unit/root", root };
	struct rec r = { .store = true };
	const struct visit *v;

	write_in(root, "f");
	ck_assert_int_eq(walk(&r, roots, 2, 0, 0), 0);
	v = &r.v[0];
	ck_assert_int_eq(v->visit, VA_WALK_ERROR);
	ck_assert_int_eq(v->error, ENOENT);
	ck_assert(!v->has_stx);
	ck_assert_str_eq(v->path, roots[0]);
	ck_assert_uint_eq(v->depth, 0);
	ck_assert_uint_eq(v->root_index, 0);
	/* the next root is still walked */
	ck_assert_uint_eq(r.n, 3);
	ck_assert_uint_eq(r.v[1].root_index, 1);
	ck_assert_str_eq(r.v[1].path, root);
	rec_free(&r);

	/* bad arguments */
	{
		struct va_walk_args a = { .roots = roots, .nroots = 1 };

		ck_assert_int_eq(va_walk(NULL), -EINVAL);
		ck_assert_int_eq(va_walk(&a), -EINVAL); /* no callback */
		a.callback = record_cb;
		a.roots = NULL;
		ck_assert_int_eq(va_walk(&a), -EINVAL);
		a.nroots = 0;
		r = (struct rec){ 0 };
		a.user = &r;
		ck_assert_int_eq(va_walk(&a), 0);
		ck_assert_uint_eq(r.nvisits, 0);
	}
	free(root);
}
END_TEST

/* ---------------------------------------------------------------- EACCES */

/* The walk as uid/gid 65534, when root; lines "visit error path" on @fd. */
static void walk_and_report(const char *root, int fd)
{
	const char *roots[] = { root };
	struct rec r = { .store = true };
	struct va_walk_args a = { .roots = roots, .nroots = 1, .callback = record_cb, .user = &r };
	FILE *out = fdopen(fd, "w");
	int ret;

	r.roots = roots;
	r.nroots = 1;
	ret = va_walk(&a);
	fprintf(out, "ret %d %zu\n", ret, r.nerrs);
	for (size_t i = 0; i < r.n; i++)
		fprintf(out, "%d %d %d %s\n", r.v[i].visit, r.v[i].error, r.v[i].has_stx, r.v[i].path);
	fclose(out);
}

START_TEST(permission_errors_reported_walk_goes_on)
{
	char *root = tu_subdir("perm");
	int dfd = open_dir(root), sub, p[2];
	struct dbuf out = DBUF_INIT;
	char buf[4096];
	ssize_t n;
	pid_t pid;
	int status;

	sub = mkdir_open(dfd, "locked");
	tu_write_file(sub, "inside", "", 0);
	close(sub);
	sub = mkdir_open(dfd, "noexec");
	tu_write_file(sub, "unstatable", "", 0);
	close(sub);
	sub = mkdir_open(dfd, "open");
	tu_write_file(sub, "visible", "", 0);
	close(sub);
	tu_write_file(dfd, "zfile", "", 0);
	ck_assert_int_eq(fchmodat(dfd, "locked", 0000, 0), 0);
	ck_assert_int_eq(fchmodat(dfd, "noexec", 0444, 0), 0);
	close(dfd);
	/* the uid we become must reach the tree */
	ck_assert_int_eq(chmod(tu_tmpdir, 0755), 0);
	ck_assert_int_eq(chmod(root, 0755), 0);

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		     setresuid(65534, 65534, 65534) < 0))
			_exit(3);
		walk_and_report(root, p[1]);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		dbuf_add(&out, buf, (size_t)n);
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	chmod(tu_tmpdir, 0700);
	{
		char *path = tu_strdupf("%s/noexec", root);

		chmod(path, 0755);
		free(path);
		path = tu_strdupf("%s/locked", root);
		chmod(path, 0755);
		free(path);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "walker child failed (status 0x%x)", status);
	{
		const char *s = dbuf_str(&out);
		char *want;

		ck_assert_msg(strncmp(s, "ret 0 0\n", 8) == 0, "va_walk or the callback contract: %s", s);
		/* mode 000 directory: an ERROR with EACCES instead of PRE, nothing inside */
		want = tu_strdupf("\n%d %d 1 %s/locked\n", VA_WALK_ERROR, EACCES, root);
		ck_assert_msg(strstr(s, want) != NULL, "no EACCES visit for locked in:\n%s", s);
		free(want);
		ck_assert_msg(strstr(s, "/locked/") == NULL, "entered the locked directory:\n%s", s);
		/* readable but not searchable: entries listed, statx fails for each */
		want = tu_strdupf("\n%d 0 1 %s/noexec\n", VA_WALK_PRE, root);
		ck_assert_msg(strstr(s, want) != NULL, "noexec not visited:\n%s", s);
		free(want);
		want = tu_strdupf("\n%d %d 0 %s/noexec/unstatable\n", VA_WALK_ERROR, EACCES, root);
		ck_assert_msg(strstr(s, want) != NULL, "no EACCES statx visit in noexec:\n%s", s);
		free(want);
		/* and the siblings are walked */
		want = tu_strdupf("\n%d 0 1 %s/open/visible\n", VA_WALK_PRE, root);
		ck_assert_msg(strstr(s, want) != NULL, "siblings not walked:\n%s", s);
		free(want);
		want = tu_strdupf("\n%d 0 1 %s/zfile\n", VA_WALK_PRE, root);
		ck_assert_msg(strstr(s, want) != NULL, "siblings not walked:\n%s", s);
		free(want);
	}
	dbuf_release(&out);
	free(root);
}
END_TEST

/* ---------------------------------------------------------------- FIFOs */

static enum va_walk_action not_opened(const struct va_walk_entry *e, struct rec *r)
{
	struct stat st;
	char link[64];
	DIR *d;
	struct dirent *de;

	if (e->visit != VA_WALK_PRE || !e->stx || S_ISDIR(e->stx->stx_mode))
		return VA_WALK_CONTINUE;
	/* no fd of ours refers to this inode */
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd == dirfd(d))
			continue;
		if (fstat(fd, &st) == 0 && same_inode(&st, e->stx)) {
			snprintf(link, sizeof(link), "fd %d refers to the entry", fd);
			violation(r, e, link);
		}
	}
	if (d)
		closedir(d);
	/* a FIFO with a reader would accept a non-blocking writer */
	if (S_ISFIFO(e->stx->stx_mode)) {
		int fd = openat(e->at_fd, e->at_name, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

		if (fd >= 0) {
			violation(r, e, "somebody has the FIFO open for reading");
			close(fd);
		} else if (errno != ENXIO) {
			violation(r, e, "unexpected error opening the FIFO for writing");
		}
	}
	return VA_WALK_CONTINUE;
}

START_TEST(fifos_and_sockets_never_opened)
{
	char *root = tu_subdir("fifo");
	const char *roots[] = { root };
	int dfd = open_dir(root), cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), sock;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct rec r = { .store = true, .decide = not_opened };
	bool have_dev;
	char *p;

	alarm(30); /* an open() of a FIFO would block: fail rather than hang */
	ck_assert_int_eq(mkfifoat(dfd, "fifo", 0644), 0);
	ck_assert_int_eq(mkfifoat(dfd, "fifo-rw", 0666), 0);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(sock, 0);
	ck_assert_int_eq(fchdir(dfd), 0);
	strcpy(sa.sun_path, "socket");
	ck_assert_int_eq(bind(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(fchdir(cwd), 0);
	close(cwd);
	have_dev = mknodat(dfd, "null", S_IFCHR | 0666, makedev(1, 3)) == 0;
	close(dfd);

	ck_assert_int_eq(walk(&r, roots, 1, 0, 0), 0);
	assert_same_as_find(&r, root);
	p = tu_strdupf("%s/fifo", root);
	ck_assert_msg(find_visit(&r, VA_WALK_PRE, p) && S_ISFIFO(find_visit(&r, VA_WALK_PRE, p)->mode),
		      "FIFO not visited as a FIFO");
	free(p);
	p = tu_strdupf("%s/socket", root);
	ck_assert_msg(find_visit(&r, VA_WALK_PRE, p) && S_ISSOCK(find_visit(&r, VA_WALK_PRE, p)->mode),
		      "socket not visited as a socket");
	free(p);
	if (have_dev) {
		p = tu_strdupf("%s/null", root);
		ck_assert_msg(find_visit(&r, VA_WALK_PRE, p) && S_ISCHR(find_visit(&r, VA_WALK_PRE, p)->mode),
			      "device not visited as a device");
		free(p);
	}
	rec_free(&r);

	/* a FIFO as the root: visited, not opened */
	{
		char *fifo = tu_strdupf("%s/fifo", root);
		const char *froots[] = { fifo };

		r = (struct rec){ .store = true };
		ck_assert_int_eq(walk(&r, froots, 1, 0, 0), 0);
		ck_assert_uint_eq(r.n, 1);
		ck_assert_int_eq(r.v[0].visit, VA_WALK_PRE);
		ck_assert(S_ISFIFO(r.v[0].mode));
		ck_assert(!r.v[0].has_dir_fd);
		rec_free(&r);
		free(fifo);
	}
	close(sock);
	alarm(0);
	free(root);
}
END_TEST

/* ---------------------------------------------------------------- POST */

START_TEST(postorder_after_contents)
{
	char *root = tu_subdir("post");
	const char *roots[] = { root };
	uint64_t seed = 4242;
	unsigned counter = 0;
	int dfd = open_dir(root);
	size_t ndirs = 0, nposts = 0;

	rand_tree(dfd, 0, &seed, &counter, -1);
	close(dfd);
	for (size_t budget = 0; budget <= 4; budget += 4) {
		struct rec r = { .store = true };

		ck_assert_int_eq(walk(&r, roots, 1, VA_WALK_POSTORDER, budget), 0);
		ndirs = nposts = 0;
		for (size_t i = 0; i < r.n; i++) {
			const struct visit *v = &r.v[i];
			size_t pre = SIZE_MAX, post = SIZE_MAX;

			if (v->visit == VA_WALK_POST) {
				nposts++;
				continue;
			}
			if (!S_ISDIR(v->mode))
				continue;
			ndirs++;
			pre = i;
			for (size_t j = i + 1; j < r.n; j++) {
				const struct visit *w = &r.v[j];

				if (w->path_len == v->path_len && memcmp(w->path, v->path, v->path_len) == 0) {
					ck_assert_msg(w->visit == VA_WALK_POST, "%s visited twice", v->path);
					ck_assert_uint_eq(w->depth, v->depth);
					ck_assert_msg(post == SIZE_MAX, "two POSTs for %s", v->path);
					post = j;
					continue;
				}
				/* everything below v comes between its PRE and its POST */
				if (w->path_len > v->path_len && w->path[v->path_len] == '/' &&
				    memcmp(w->path, v->path, v->path_len) == 0)
					ck_assert_msg(post == SIZE_MAX, "%s visited after the POST of %s",
						      w->path, v->path);
			}
			ck_assert_msg(post != SIZE_MAX && post > pre, "no POST for %s", v->path);
		}
		ck_assert_uint_eq(nposts, ndirs);
		ck_assert_int_eq(r.v[r.n - 1].visit, VA_WALK_POST);
		ck_assert_str_eq(r.v[r.n - 1].path, root);
		rec_free(&r);
	}
	ck_assert_uint_gt(ndirs, 5);
	free(root);
}
END_TEST

/* ---------------------------------------------------------------- swaps */

static char *swap_outside; /* where a swapped-in symlink points */

static void swap_to_symlink(int dirfd, const char *name)
{
	char old[256];

	snprintf(old, sizeof(old), "%s.old", name);
	ck_assert_int_eq(renameat(dirfd, name, dirfd, old), 0);
	ck_assert_int_eq(symlinkat(swap_outside, dirfd, name), 0);
}

static void swap_to_other_dir(int dirfd, const char *name)
{
	char old[256];
	int fd;

	snprintf(old, sizeof(old), "%s.old", name);
	ck_assert_int_eq(renameat(dirfd, name, dirfd, old), 0);
	fd = mkdir_open(dirfd, name);
	tu_write_file(fd, "trap", "", 0);
	close(fd);
}

static void swap_to_fifo(int dirfd, const char *name)
{
	char old[256];

	snprintf(old, sizeof(old), "%s.old", name);
	ck_assert_int_eq(renameat(dirfd, name, dirfd, old), 0);
	ck_assert_int_eq(mkfifoat(dirfd, name, 0644), 0);
}

/*
 * The walker visits a directory's entries in inode order, so a sibling
 * with a smaller inode number than "victim" is visited after the
 * directory was read and before "victim" is looked at: its callback
 * changes "victim" on the real filesystem at exactly that moment.
 *
 * Tree: trigger files t00..t19, then victim (a directory with "inside",
 * or a regular file), then "sibling"; victim is re-made until some t has
 * a smaller inode number.
 */
struct swap_ctx {
	void (*before_visit)(int dirfd, const char *name); /* from the trigger's callback */
	bool done;
};

static enum va_walk_action trigger_cb(const struct va_walk_entry *e, struct rec *r)
{
	struct swap_ctx *c = r->ctx;

	if (!c->done && e->visit == VA_WALK_PRE && e->depth == 1 && e->name_len == 3 && e->name[0] == 't') {
		c->before_visit(e->at_fd, "victim");
		c->done = true;
	}
	return VA_WALK_CONTINUE;
}

static char *make_swap_tree(bool victim_is_dir)
{
	char *root = tu_subdir("swap");
	int dfd, odf;
	uint64_t min_t = UINT64_MAX;
	struct stat st;

	/*
	 * "victim" must get a larger inode number than some t file.  On ext4
	 * that depends on the allocator and on the state of the filesystem (a
	 * new directory can land in a lower group, again and again); a tmpfs
	 * numbers inodes in creation order.  As root, the tree is on a tmpfs
	 * of its own (tu_rm_rf() unmounts it); otherwise on the host's.
	 */
	if (geteuid() == 0)
		(void)mount("vaudit-unit", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0700");
	dfd = open_dir(root);

	swap_outside = tu_subdir("outside");
	odf = open_dir(swap_outside);
	tu_write_file(odf, "secret", "", 0);
	close(odf);
	for (int i = 0; i < 20; i++) {
		char name[8];

		snprintf(name, sizeof(name), "t%02d", i);
		tu_write_file(dfd, name, "", 0);
		ck_assert_int_eq(fstatat(dfd, name, &st, 0), 0);
		if (st.st_ino < min_t)
			min_t = st.st_ino;
	}
	for (int attempt = 0;; attempt++) {
		char junk[16];

		if (victim_is_dir) {
			int sub = mkdir_open(dfd, "victim");

			tu_write_file(sub, "inside", "", 0);
			close(sub);
		} else {
			tu_write_file(dfd, "victim", "", 0);
		}
		ck_assert_int_eq(fstatat(dfd, "victim", &st, AT_SYMLINK_NOFOLLOW), 0);
		if (st.st_ino > min_t)
			break;
		ck_assert_msg(attempt < 100, "cannot get an inode number above %llu", (unsigned long long)min_t);
		snprintf(junk, sizeof(junk), "junk%d", attempt);
		ck_assert_int_eq(renameat(dfd, "victim", dfd, junk), 0);
	}
	tu_write_file(dfd, "sibling", "", 0);
	close(dfd);
	return root;
}

static const struct visit *victim_visit(const struct rec *r, const char *root, enum va_walk_visit what)
{
	char *p = tu_strdupf("%s/victim", root);
	const struct visit *v = find_visit(r, what, p);

	free(p);
	return v;
}

static void assert_nothing_swapped_in_entered(const struct rec *r, const char *root)
{
	char *p = tu_strdupf("%s/sibling", root);

	ck_assert_msg(!any_visit_contains(r, "secret"), "followed a symlink swapped in");
	ck_assert_ptr_nonnull(find_visit(r, VA_WALK_PRE, p));
	free(p);
}

/* Between reading the directory (d_type DT_DIR) and opening it: now a symlink. */
START_TEST(dir_replaced_by_symlink_before_open)
{
	char *root = make_swap_tree(true);
	const char *roots[] = { root };
	struct swap_ctx c = { .before_visit = swap_to_symlink };
	struct rec r = { .store = true, .names_change = true, .decide = trigger_cb, .ctx = &c };
	const struct visit *v;

	ck_assert_int_eq(walk(&r, roots, 1, 0, 0), 0);
	ck_assert(c.done);
	assert_nothing_swapped_in_entered(&r, root);
	ck_assert_msg(!any_visit_contains(&r, "inside"), "entered the directory that was moved away");
	/* reported as what it is now, or as an error; never entered */
	v = victim_visit(&r, root, VA_WALK_PRE);
	if (v)
		ck_assert_msg(S_ISLNK(v->mode) && !v->has_dir_fd, "victim reported with mode 0%o", v->mode);
	else
		ck_assert_ptr_nonnull(victim_visit(&r, root, VA_WALK_ERROR));
	rec_free(&r);
	free(swap_outside);
	free(root);
}
END_TEST

/* ... now a FIFO: must not block, must not be opened. */
START_TEST(dir_replaced_by_fifo_before_open)
{
	char *root = make_swap_tree(true);
	const char *roots[] = { root };
	struct swap_ctx c = { .before_visit = swap_to_fifo };
	struct rec r = { .store = true, .names_change = true, .decide = trigger_cb, .ctx = &c };
	const struct visit *v;

	alarm(30);
	ck_assert_int_eq(walk(&r, roots, 1, 0, 0), 0);
	alarm(0);
	ck_assert(c.done);
	assert_nothing_swapped_in_entered(&r, root);
	v = victim_visit(&r, root, VA_WALK_PRE);
	if (v)
		ck_assert_msg(S_ISFIFO(v->mode) && !v->has_dir_fd, "victim reported with mode 0%o", v->mode);
	else
		ck_assert_ptr_nonnull(victim_visit(&r, root, VA_WALK_ERROR));
	rec_free(&r);
	free(swap_outside);
	free(root);
}
END_TEST

/* ... now another directory: what is reported is what is entered. */
START_TEST(dir_replaced_by_dir_before_open)
{
	char *root = make_swap_tree(true);
	const char *roots[] = { root };
	struct swap_ctx c = { .before_visit = swap_to_other_dir };
	struct rec r = { .store = true, .names_change = true, .decide = trigger_cb, .ctx = &c };
	const struct visit *v;
	struct stat now, old;
	char *p;

	ck_assert_int_eq(walk(&r, roots, 1, 0, 0), 0);
	ck_assert(c.done);
	assert_nothing_swapped_in_entered(&r, root);
	p = tu_strdupf("%s/victim", root);
	ck_assert_int_eq(lstat(p, &now), 0);
	free(p);
	p = tu_strdupf("%s/victim.old", root);
	ck_assert_int_eq(lstat(p, &old), 0);
	free(p);
	v = victim_visit(&r, root, VA_WALK_PRE);
	if (v) {
		/* the recorder checked that dir_fd is the inode in stx; its contents follow */
		ck_assert_msg(v->ino == now.st_ino || v->ino == old.st_ino, "victim: unknown inode");
		ck_assert_msg(any_visit_contains(&r, "trap") == (v->ino == now.st_ino) &&
			      any_visit_contains(&r, "inside") == (v->ino == old.st_ino),
			      "the contents walked are not those of the directory reported");
	} else {
		ck_assert_ptr_nonnull(victim_visit(&r, root, VA_WALK_ERROR));
		ck_assert_msg(!any_visit_contains(&r, "trap") && !any_visit_contains(&r, "inside"),
			      "entered a directory reported as an error");
	}
	rec_free(&r);
	free(swap_outside);
	free(root);
}
END_TEST

/*
 * VA_WALK_LAZY_DIRS, the directory replaced by another one between reading
 * its parent and opening it: the open is not statx()ed, so the "." entry
 * must tell -- an ERROR visit "changed during walk", no PRE visit, neither
 * directory entered.  Replaced by a symlink or a FIFO: never opened as a
 * directory, reported as what it is now or as an error.
 */
static void lazy_dir_replaced(void (*swap)(int, const char *), bool by_dir)
{
	char *root = make_swap_tree(true);
	const char *roots[] = { root };
	struct swap_ctx c = { .before_visit = swap };
	struct rec r = { .store = true, .names_change = true, .decide = trigger_cb, .ctx = &c };
	const struct visit *v;

	alarm(30);
	ck_assert_int_eq(walk(&r, roots, 1, VA_WALK_LAZY_DIRS, 0), 0);
	alarm(0);
	ck_assert(c.done);
	assert_nothing_swapped_in_entered(&r, root);
	ck_assert_msg(!any_visit_contains(&r, "inside"), "entered the directory that was moved away");
	v = victim_visit(&r, root, VA_WALK_PRE);
	if (by_dir) {
		ck_assert_msg(!any_visit_contains(&r, "trap"), "entered the directory swapped in");
		ck_assert_ptr_null(v);
		v = victim_visit(&r, root, VA_WALK_ERROR);
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(v->error, VA_WALK_ECHANGED);
		ck_assert_str_eq(v->error_op, "changed during walk");
	} else if (v) {
		ck_assert_msg(!S_ISDIR(v->mode) && !v->has_dir_fd, "victim reported with mode 0%o", v->mode);
	} else {
		ck_assert_ptr_nonnull(victim_visit(&r, root, VA_WALK_ERROR));
	}
	rec_free(&r);
	free(swap_outside);
	free(root);
}

START_TEST(lazy_dir_replaced_by_dir)
{
	lazy_dir_replaced(swap_to_other_dir, true);
}
END_TEST

START_TEST(lazy_dir_replaced_by_symlink)
{
	lazy_dir_replaced(swap_to_symlink, false);
}
END_TEST

START_TEST(lazy_dir_replaced_by_fifo)
{
	lazy_dir_replaced(swap_to_fifo, false);
}
END_TEST

/*
 * A name that was a regular file when the directory was read and is a
 * directory now is statx()ed by name, then opened.  Changed again in
 * between (the statx seam), the open must notice and report an error.
 */
static void file_to_dir(int dirfd, const char *name)
{
	int sub;

	ck_assert_int_eq(unlinkat(dirfd, name, 0), 0);
	sub = mkdir_open(dirfd, name);
	tu_write_file(sub, "inside", "", 0);
	close(sub);
}

static void changed_between_statx_and_open(void (*swap)(int, const char *), int err1, int err2)
{
	char *root = make_swap_tree(false);
	const char *roots[] = { root };
	struct swap_ctx c = { .before_visit = file_to_dir };
	struct rec r = { .store = true, .names_change = true, .decide = trigger_cb, .ctx = &c };
	const struct visit *v;

	alarm(30);
	statx_hook_name = "victim";
	statx_hook = swap;
	ck_assert_int_eq(walk(&r, roots, 1, 0, 0), 0);
	alarm(0);
	ck_assert(c.done);
	ck_assert_msg(statx_hook == NULL, "the walker never statx()ed \"victim\" by name");
	assert_nothing_swapped_in_entered(&r, root);
	ck_assert_msg(!any_visit_contains(&r, "trap") && !any_visit_contains(&r, "inside"),
		      "entered a directory that changed between statx and open");
	v = victim_visit(&r, root, VA_WALK_ERROR);
	ck_assert_msg(v != NULL, "no ERROR visit for a directory that changed between statx and open");
	ck_assert_msg(v->error == err1 || v->error == err2, "error %d (%s)", v->error, strerror(v->error));
	ck_assert_str_eq(v->error_op, "changed during walk");
	ck_assert_ptr_null(victim_visit(&r, root, VA_WALK_PRE));
	rec_free(&r);
	free(swap_outside);
	free(root);
}

START_TEST(dir_swapped_for_symlink_after_statx)
{
	changed_between_statx_and_open(swap_to_symlink, ELOOP, ENOTDIR);
}
END_TEST

START_TEST(dir_swapped_for_other_dir_after_statx)
{
	changed_between_statx_and_open(swap_to_other_dir, VA_WALK_ECHANGED, VA_WALK_ECHANGED);
}
END_TEST

START_TEST(dir_swapped_for_fifo_after_statx)
{
	changed_between_statx_and_open(swap_to_fifo, ENOTDIR, ENOTDIR);
}
END_TEST

/* The root itself replaced between its statx and its open. */
START_TEST(root_swapped)
{
	char *base = tu_subdir("rootswap"), *root = tu_strdupf("%s/victim", base);
	const char *roots[] = { root };
	struct rec r = { .store = true, .names_change = true };
	int dfd = open_dir(base), sub;

	sub = mkdir_open(dfd, "victim");
	tu_write_file(sub, "inside", "", 0);
	close(sub);
	close(dfd);
	statx_hook_name = root;
	statx_hook = swap_to_other_dir; /* dirfd is AT_FDCWD, name absolute */
	ck_assert_int_eq(walk(&r, roots, 1, 0, 0), 0);
	ck_assert_ptr_null(statx_hook);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(r.v[0].visit, VA_WALK_ERROR);
	ck_assert_int_eq(r.v[0].error, VA_WALK_ECHANGED);
	rec_free(&r);
	free(root);
	free(base);
}
END_TEST

/*
 * Evicted fds are reopened by name: a directory replaced while the walk is
 * deep below it is noticed (dev/ino) and not entered, a symlink put in its
 * place is not followed.
 */
struct reopen_ctx {
	const char *root;
	bool to_symlink;
	bool done;
};

static enum va_walk_action swap_when_deep(const struct va_walk_entry *e, struct rec *r)
{
	struct reopen_ctx *c = r->ctx;

	if (!c->done && e->depth >= 9) {
		int dfd = open_dir(c->root);

		if (c->to_symlink)
			swap_to_symlink(dfd, "a");
		else
			swap_to_other_dir(dfd, "a");
		close(dfd);
		c->done = true;
	}
	return VA_WALK_CONTINUE;
}

static void swap_during_reopen(bool to_symlink, bool check_at_fd)
{
	char *root = tu_subdir("reopen");
	const char *roots[] = { root };
	struct reopen_ctx ctx = { .root = root, .to_symlink = to_symlink };
	struct rec r = { .store = true, .decide = swap_when_deep, .names_change = true, .ctx = &ctx };
	int dfd = open_dir(root), a, odf;
	char *p;
	const struct visit *v;
	size_t b_visits = 0;

	swap_outside = tu_subdir("outside");
	odf = open_dir(swap_outside);
	tu_write_file(odf, "secret", "", 0);
	mk_dir(odf, "b1");
	mk_dir(odf, "b2");
	close(odf);
	/* root/a/{b1,b2}/d/d/.../d: whichever b comes first, the other is left
	 * in a's frame, whose fd the budget of 4 has evicted by then */
	a = mkdir_open(dfd, "a");
	for (int i = 1; i <= 2; i++) {
		char name[8], *sub;

		snprintf(name, sizeof(name), "b%d", i);
		mk_dir(a, name);
		sub = tu_strdupf("%s/a/%s", root, name);
		make_chain(sub, 10, "leaf");
		free(sub);
	}
	close(a);
	tu_write_file(dfd, "z", "", 0);
	close(dfd);

	ck_assert_int_eq(walk(&r, roots, 1, VA_WALK_POSTORDER, 4), 0);
	ck_assert(ctx.done);
	p = tu_strdupf("%s/a", root);
	v = find_visit(&r, VA_WALK_ERROR, p);
	ck_assert_msg(v != NULL, "replacing %s during the walk went unnoticed", p);
	if (to_symlink)
		ck_assert_msg(v->error == ELOOP || v->error == ENOTDIR || v->error == VA_WALK_ECHANGED,
			      "error %d", v->error);
	else
		ck_assert_int_eq(v->error, VA_WALK_ECHANGED);
	ck_assert_msg(!any_visit_contains(&r, "secret") && !any_visit_contains(&r, "trap"),
		      "the walker went into what was swapped in");
	/* exactly one of b1/b2 was walked */
	for (size_t i = 0; i < r.n; i++)
		b_visits += r.v[i].visit == VA_WALK_PRE && r.v[i].depth == 2;
	ck_assert_uint_eq(b_visits, 1);
	/* walk.h: at_fd is the parent directory fd, -1 only in POST */
	ck_assert_msg(!check_at_fd || r.error_without_at_fd == 0,
		      "the ERROR visit for %s has at_fd -1: walk.h says at_fd is the parent "
		      "directory's fd (AT_FDCWD for a root, -1 only in POST)", p);
	free(p);
	rec_free(&r);
	free(swap_outside);
	free(root);
}

START_TEST(evicted_dir_replaced_by_dir)
{
	swap_during_reopen(false, false);
}
END_TEST

START_TEST(evicted_dir_replaced_by_symlink)
{
	swap_during_reopen(true, false);
}
END_TEST

/* The ERROR visit for a directory that failed to reopen names it by at_fd/at_name too. */
START_TEST(reopen_error_visit_has_parent_fd)
{
	swap_during_reopen(false, true);
}
END_TEST

/* ---------------------------------------------------------------- mounts */

START_TEST(xdev_and_mount_depth)
{
	char *root = tu_subdir("xdev");
	const char *roots[] = { root };
	int dfd = open_dir(root), fd;
	char *m1 = tu_strdupf("%s/m1", root), *m2 = tu_strdupf("%s/m1/m2", root);
	char *m3 = tu_strdupf("%s/d/m3", root), *src = tu_strdupf("%s/src", root), *b = tu_strdupf("%s/b", root);

	mk_dir(dfd, "m1");
	fd = mkdir_open(dfd, "d");
	mk_dir(fd, "m3");
	close(fd);
	fd = mkdir_open(dfd, "src");
	tu_write_file(fd, "in_src", "", 0);
	close(fd);
	mk_dir(dfd, "b");
	close(dfd);
	ck_assert_int_eq(mount("tmpfs", m1, "tmpfs", 0, "size=1m"), 0);
	fd = open_dir(m1);
	tu_write_file(fd, "in_m1", "", 0);
	mk_dir(fd, "m2");
	close(fd);
	ck_assert_int_eq(mount("tmpfs", m2, "tmpfs", 0, "size=1m"), 0);
	write_in(m2, "in_m2");
	ck_assert_int_eq(mount("tmpfs", m3, "tmpfs", 0, "size=1m"), 0);
	write_in(m3, "in_m3");
	ck_assert_int_eq(mount(src, b, NULL, MS_BIND, NULL), 0); /* same filesystem */

	/* each mode also with VA_WALK_LAZY_DIRS: the same mounts found, the same entered */
	for (int run = 0; run < 6; run++) {
		int mode = run % 3;
		struct rec r = { .store = true };
		struct va_walk_args a = {
			.roots = roots, .nroots = 1, .callback = record_cb, .user = &r,
			.flags = (mode ? VA_WALK_XDEV : 0) | (run >= 3 ? VA_WALK_LAZY_DIRS : 0),
			.mount_depth = mode == 2 ? 1 : 0,
		};
		static const char *const mps[] = { "m1", "m1/m2", "d/m3", "b" };
		/* entered?  [mode][mount] */
		static const bool entered[3][4] = {
			{ true, true, true, true },
			{ false, false, false, false },
			{ true, false, false, true },
		};
		static const char *const inside[] = { "m1/in_m1", "m2/in_m2", "m3/in_m3", "b/in_src" };

		r.roots = roots;
		r.nroots = 1;
		ck_assert_int_eq(va_walk(&a), 0);
		ck_assert_msg(r.errs.len == 0, "%s", dbuf_str(&r.errs));
		for (int k = 0; k < 4; k++) {
			char *p = tu_strdupf("%s/%s", root, mps[k]);
			const struct visit *v = find_visit(&r, VA_WALK_PRE, p);
			bool in = any_visit_contains(&r, inside[k]);

			if (k == 1 && !entered[mode][0]) {
				ck_assert_ptr_null(v); /* below a mount that was not entered */
				free(p);
				continue;
			}
			ck_assert_msg(v != NULL, "mode %d: %s not visited", mode, mps[k]);
			ck_assert_msg(v->mount_point, "mode %d: %s not flagged as a mount point", mode, mps[k]);
			ck_assert_msg(in == entered[mode][k], "mode %d: %s %s", mode, mps[k],
				      in ? "entered" : "not entered");
			ck_assert_msg(v->has_dir_fd == entered[mode][k], "mode %d: %s dir_fd", mode, mps[k]);
			free(p);
		}
		{
			char *p = tu_strdupf("%s/d", root);
			const struct visit *v = find_visit(&r, VA_WALK_PRE, p);

			ck_assert_msg(v && !v->mount_point, "d flagged as a mount point");
			free(p);
		}
		rec_free(&r);
	}
	umount2(b, MNT_DETACH);
	umount2(m3, MNT_DETACH);
	umount2(m2, MNT_DETACH);
	umount2(m1, MNT_DETACH);
	free(m1);
	free(m2);
	free(m3);
	free(src);
	free(b);
	free(root);
}
END_TEST

/* ================================================================ main */

/* Can a child become uid 65534 (when we are root)? */
static const char *why_not_nobody(void)
{
	pid_t pid;
	int status;

	if (geteuid() != 0)
		return NULL; /* we are unprivileged already */
	pid = fork();
	if (pid < 0)
		return "fork failed";
	if (pid == 0)
		_exit(setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		      setresuid(65534, 65534, 65534) < 0 || access("/tmp", X_OK) < 0);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return "cannot switch to uid 65534";
	return NULL;
}

static Suite *walk_suite(void)
{
	Suite *s = suite_create("walk");
	TCase *tree = tcase_create("tree");
	TCase *deep = tcase_create("deep");
	TCase *errors = tcase_create("errors");
	TCase *races = tcase_create("races");
	const char *no_find = tu_have("find") ? NULL : "find not installed";

	tu_tcase_tmpdir(tree, false);
	tcase_set_timeout(tree, 120);
	tu_add_test(tree, visits_every_entry_once, no_find);
	tu_add_test(tree, small_budgets_reopen_correctly, no_find);
	tu_add_test(tree, symlinks_reported_not_followed, no_find);
	tu_add_test(tree, prune_skips_subtree, NULL);
	tu_add_test(tree, stop_ends_walk, NULL);
	tu_add_test(tree, hostile_names_exact_bytes, no_find);
	tu_add_test(tree, postorder_after_contents, NULL);
	tu_add_test(tree, fifos_and_sockets_never_opened, no_find);
	tu_add_test(tree, lazy_types_skip_statx, no_find);
	tu_add_test(tree, lazy_dirs_skip_statx, no_find);
	tu_add_test(tree, xdev_and_mount_depth, tu_why_not_mount());
	suite_add_tcase(s, tree);

	tu_tcase_tmpdir(deep, false);
	tcase_set_timeout(deep, 600);
	tu_add_test(deep, deep_chain_budget_16, NULL);
	tu_add_test(deep, deep_chain_default_budget, NULL);
	suite_add_tcase(s, deep);

	tu_tcase_tmpdir(errors, false);
	tcase_set_timeout(errors, 120);
	tu_add_test(errors, no_fd_leaks, NULL);
	tu_add_test(errors, missing_root_is_an_error_visit, NULL);
	tu_add_test(errors, permission_errors_reported_walk_goes_on, why_not_nobody());
	suite_add_tcase(s, errors);

	tu_tcase_tmpdir(races, false);
	tcase_set_timeout(races, 60);
	tu_add_test(races, dir_replaced_by_symlink_before_open, NULL);
	tu_add_test(races, dir_replaced_by_fifo_before_open, NULL);
	tu_add_test(races, dir_replaced_by_dir_before_open, NULL);
	tu_add_test(races, lazy_dir_replaced_by_dir, NULL);
	tu_add_test(races, lazy_dir_replaced_by_symlink, NULL);
	tu_add_test(races, lazy_dir_replaced_by_fifo, NULL);
	tu_add_test(races, dir_swapped_for_symlink_after_statx, NULL);
	tu_add_test(races, dir_swapped_for_other_dir_after_statx, NULL);
	tu_add_test(races, dir_swapped_for_fifo_after_statx, NULL);
	tu_add_test(races, root_swapped, NULL);
	tu_add_test(races, evicted_dir_replaced_by_dir, NULL);
	tu_add_test(races, evicted_dir_replaced_by_symlink, NULL);
	tu_add_test(races, reopen_error_visit_has_parent_fd, NULL);
	suite_add_tcase(s, races);
	return s;
}

int main(void)
{
	return tu_main(walk_suite());
}
