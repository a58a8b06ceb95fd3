/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsconfig.c - reading /etc/vservers (see vsconfig.h for what and why).
 *
 * The resolver at the top is the only place that turns a configured path
 * into an fd: it walks components with O_PATH|O_NOFOLLOW (va_safeopen_at())
 * and follows links itself, inside the host root.  The readers below it
 * only ever ask it.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/vsconfig.h"
#include "core/dbuf.h"
#include "core/safeopen.h"

#define MAX_LINKS 40
#define MAX_SMALL 4096          /* context, name, mark, action, method */
#define MAX_LIST (1 << 20)      /* exclude lists */

/* ------------------------------------------------------------------ resolver */

enum { RES_FOLLOW = 1 << 0, RES_READ = 1 << 1 };

struct resolver {
	const struct va_config *c;
	int *fds;               /* fds[0] is the host root (not ours) */
	size_t depth, cap;
	struct dbuf canon;      /* "/a/b" inside the host root; "" at the root */
	size_t *canon_len;      /* canon length at each depth */
};

static void res_pop(struct resolver *r)
{
	close(r->fds[r->depth]);
	r->depth--;
	dbuf_setlen(&r->canon, r->canon_len[r->depth]);
}

static void res_reset(struct resolver *r)
{
	while (r->depth)
		res_pop(r);
}

static int res_push(struct resolver *r, int fd, const char *name, size_t len)
{
	if (r->depth + 1 >= r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		int *fds = realloc(r->fds, cap * sizeof(*fds));
		size_t *cl;

		if (!fds)
			return -ENOMEM;
		r->fds = fds;
		cl = realloc(r->canon_len, cap * sizeof(*cl));
		if (!cl)
			return -ENOMEM;
		r->canon_len = cl;
		r->cap = cap;
	}
	if (dbuf_addc(&r->canon, '/') < 0 || dbuf_add(&r->canon, name, len) < 0)
		return -ENOMEM;
	r->fds[++r->depth] = fd;
	r->canon_len[r->depth] = r->canon.len;
	return 0;
}

/*
 * resolve() - @path (absolute inside the host root, or relative to the
 * canonical directory @base) to an fd.  RES_FOLLOW follows a final
 * symlink; RES_READ opens a final regular file for reading (else the fd
 * is O_PATH).  @canon (may be NULL) receives the canonical path.
 * Return: the fd, or a negative errno (-EXDEV: ".." above the root of an
 * offline copy; -EINVAL: RES_READ on something that is not a regular
 * file; -ELOOP: more than MAX_LINKS links).
 */
static int resolve(const struct va_config *c, const char *base, const char *path, unsigned flags,
		   struct dbuf *canon)
{
	struct resolver r = { .c = c };
	struct dbuf todo = DBUF_INIT, tmp = DBUF_INIT;
	size_t pos = 0, links = 0;
	bool read_top = false;  /* the top fd was opened for reading (RES_READ) */
	int ret = -ENOMEM;

	r.cap = 16;
	r.fds = malloc(r.cap * sizeof(*r.fds));
	r.canon_len = malloc(r.cap * sizeof(*r.canon_len));
	if (!r.fds || !r.canon_len)
		goto out;
	r.fds[0] = c->root_fd;
	r.canon_len[0] = 0;
	if (path[0] != '/' && (dbuf_adds(&todo, base) < 0 || dbuf_addc(&todo, '/') < 0))
		goto out;
	if (dbuf_adds(&todo, path) < 0)
		goto out;

	for (;;) {
		const char *comp;
		size_t len;
		bool last;
		struct stat st;
		int fd;

		while (pos < todo.len && todo.buf[pos] == '/')
			pos++;
		if (pos >= todo.len)
			break;
		comp = todo.buf + pos;
		len = strcspn(comp, "/");
		pos += len;
		last = true;
		for (size_t k = pos; k < todo.len; k++)
			if (todo.buf[k] != '/') {
				last = false;
				break;
			}
		if (len == 1 && comp[0] == '.') {
			read_top = false;
			continue;
		}
		if (len == 2 && comp[0] == '.' && comp[1] == '.') {
			read_top = false;
			if (r.depth)
				res_pop(&r);
			else if (c->host_root) {
				ret = -EXDEV;
				goto out;
			}
			continue;
		}
		if (len > NAME_MAX) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		{
			char name[NAME_MAX + 1];

			memcpy(name, comp, len);
			name[len] = '\0';
			fd = va_safeopen_at(r.fds[r.depth], name, O_PATH, 0);
			if (fd < 0) {
				ret = fd;
				goto out;
			}
			if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
				ret = -errno;
				close(fd);
				goto out;
			}
			if (S_ISLNK(st.st_mode) && (!last || (flags & RES_FOLLOW))) {
				char target[PATH_MAX];
				ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);

				close(fd);
				if (n < 0) {
					ret = -errno;
					goto out;
				}
				if (++links > MAX_LINKS || n == 0) {
					ret = n == 0 ? -ENOENT : -ELOOP;
					goto out;
				}
				/* the rest of the path goes after the link's target */
				dbuf_setlen(&tmp, 0);
				if (dbuf_add(&tmp, target, (size_t)n) < 0 || dbuf_addc(&tmp, '/') < 0 ||
				    dbuf_add(&tmp, todo.buf + pos, todo.len - pos) < 0)
					goto out;
				dbuf_setlen(&todo, 0);
				if (dbuf_add(&todo, tmp.buf, tmp.len) < 0)
					goto out;
				pos = 0;
				if (target[0] == '/')
					res_reset(&r);
				continue;
			}
			if (!last && !S_ISDIR(st.st_mode)) {
				close(fd);
				ret = -ENOTDIR;
				goto out;
			}
			if (last && (flags & RES_READ)) {
				int rfd;

				if (!S_ISREG(st.st_mode)) {
					close(fd);
					ret = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
					goto out;
				}
				/* any type: the O_PATH fd said regular, another inode is -ESTALE */
				rfd = va_safeopen_verified(r.fds[r.depth], name, O_RDONLY | O_NONBLOCK, 0,
							   &(struct va_safeopen_id){ .dev = st.st_dev,
										     .ino = st.st_ino },
							   NULL);
				close(fd);
				if (rfd < 0) {
					ret = rfd;
					goto out;
				}
				fd = rfd;
			}
			if ((ret = res_push(&r, fd, name, len)) < 0) {
				close(fd);
				goto out;
			}
			read_top = last && (flags & RES_READ);
		}
	}
	if ((flags & RES_READ) && !read_top) {
		/* it ended on "." or "..": a directory */
		ret = -EISDIR;
		goto out;
	}
	if (r.depth == 0) {
		/* the host root itself */
		ret = fcntl(c->root_fd, F_DUPFD_CLOEXEC, 0);
		if (ret < 0)
			ret = -errno;
	} else {
		ret = r.fds[r.depth];
		r.depth--;      /* keep it open */
	}
	if (canon) {
		dbuf_setlen(canon, 0);
		if (dbuf_add(canon, r.canon.buf ? r.canon.buf : "", r.canon.len) < 0 ||
		    (r.canon.len == 0 && dbuf_addc(canon, '/') < 0)) {
			close(ret);
			ret = -ENOMEM;
		}
	}
out:
	if (r.fds)
		while (r.depth)
			res_pop(&r);
	free(r.fds);
	free(r.canon_len);
	dbuf_release(&r.canon);
	dbuf_release(&todo);
	dbuf_release(&tmp);
	return ret;
}

/* The real path of canonical @canon: the host root prefixed. */
static char *real_path(const struct va_config *c, const char *canon)
{
	struct dbuf b = DBUF_INIT;

	if (c->host_root && dbuf_adds(&b, c->host_root) < 0)
		return NULL;
	if (!(c->host_root && strcmp(canon, "/") == 0) && dbuf_adds(&b, canon) < 0) {
		dbuf_release(&b);
		return NULL;
	}
	if (!b.buf && dbuf_adds(&b, "/") < 0)
		return NULL;
	return b.buf;
}

static const char *res_strerror(int err)
{
	switch (err) {
	case -EXDEV:  return "it leads out of the host root";
	case -ELOOP:  return "too many levels of symbolic links (a loop?)";
	case -EINVAL: return "not a regular file";
	case -ESTALE: return "it changed while being opened";
	default:      return strerror(-err);
	}
}

/* ------------------------------------------------------------------ problems */

static int problem(struct va_config *c, enum va_kind kind, long guest, const char *path,
		   unsigned line, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int problem(struct va_config *c, enum va_kind kind, long guest, const char *path,
		   unsigned line, const char *fmt, ...)
{
	struct va_config_problem *p;
	va_list ap;
	char *msg;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	if (va_array_grow(&c->problems, &c->capproblems, c->nproblems, sizeof(*c->problems)) < 0) {
		free(msg);
		return -ENOMEM;
	}
	p = &c->problems[c->nproblems];
	p->kind = kind;
	p->guest = guest;
	p->line = line;
	p->detail = msg;
	p->path = strdup(path ? path : "");
	if (!p->path) {
		free(msg);
		return -ENOMEM;
	}
	c->nproblems++;
	return 0;
}

static bool problem_reported(const struct va_config *c, enum va_kind kind, const char *path)
{
	for (size_t i = 0; i < c->nproblems; i++)
		if (c->problems[i].kind == kind && strcmp(c->problems[i].path, path) == 0)
			return true;
	return false;
}

/* ------------------------------------------------------------------ small readers */

/* Join @dir and @name into a canonical-ish path (for resolve()). */
static char *join(const char *dir, const char *name)
{
	char *s;

	if (asprintf(&s, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name) < 0)
		return NULL;
	return s;
}

/*
 * lookup() - the type (S_IFMT bits) of @rel under canonical @dir, or a
 * negative errno when it does not resolve.  RES_FOLLOW in @flags follows a
 * final link.  @canon and @id (may be NULL) receive its canonical path and
 * identity.
 */
static int lookup(const struct va_config *c, const char *dir, const char *rel, unsigned flags,
		  struct dbuf *canon, struct va_dir_id *id)
{
	int fd = resolve(c, dir, rel, flags, canon), r;
	struct statx stx;

	if (fd < 0)
		return fd;
	r = statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO | STATX_MNT_ID, &stx) < 0 ? -errno :
	    (int)(stx.stx_mode & S_IFMT);
	close(fd);
	if (r > 0 && id) {
		id->dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
		id->ino = stx.stx_ino;
		id->mnt_known = (stx.stx_mask & STATX_MNT_ID) != 0;
		id->mnt_id = id->mnt_known ? stx.stx_mnt_id : 0;
	}
	return r;
}

/* Does @rel under @dir exist (links followed, any type)? */
static bool exists(const struct va_config *c, const char *dir, const char *rel)
{
	return lookup(c, dir, rel, RES_FOLLOW, NULL, NULL) > 0;
}

/* Does the entry @name exist in @dir itself (not followed)? */
static bool present(const struct va_config *c, const char *dir, const char *name)
{
	return lookup(c, dir, name, 0, NULL, NULL) > 0;
}

/* Is @rel under @dir a regular file (links followed)? */
static bool is_file(const struct va_config *c, const char *dir, const char *rel)
{
	return lookup(c, dir, rel, RES_FOLLOW, NULL, NULL) == S_IFREG;
}

/* Is @rel under @dir a directory (links followed)?  Its canonical path and identity. */
static bool is_dir(const struct va_config *c, const char *dir, const char *rel, struct dbuf *canon,
		   struct va_dir_id *id)
{
	return lookup(c, dir, rel, RES_FOLLOW, canon, id) == S_IFDIR;
}

/*
 * Read @rel under @dir (links followed) into a NUL-terminated buffer.
 * Return: 0 (*@buf set), -ENOENT when absent, another negative errno
 * (-EFBIG when larger than @max); *@path gets the real path either way.
 */
static int read_file(const struct va_config *c, const char *dir, const char *rel, size_t max,
		     char **buf, size_t *len, char **path)
{
	struct dbuf canon = DBUF_INIT, data = DBUF_INIT;
	char *joined = join(dir, rel);
	int fd, r = 0;

	*buf = NULL;
	*len = 0;
	*path = NULL;
	if (!joined)
		return -ENOMEM;
	fd = resolve(c, dir, rel, RES_FOLLOW | RES_READ, &canon);
	*path = real_path(c, fd >= 0 ? dbuf_str(&canon) : joined);
	free(joined);
	dbuf_release(&canon);
	if (!*path) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	if (fd < 0)
		return fd;
	for (;;) {
		ssize_t n;

		if (dbuf_reserve(&data, 4096) < 0) {
			r = -ENOMEM;
			break;
		}
		n = read(fd, data.buf + data.len, 4096);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		data.len += (size_t)n;
		data.buf[data.len] = '\0';
		if (data.len > max) {
			r = -EFBIG;
			break;
		}
	}
	close(fd);
	if (r < 0) {
		dbuf_release(&data);
		return r;
	}
	if (!data.buf && dbuf_adds(&data, "") < 0)
		return -ENOMEM;
	*buf = data.buf;
	*len = data.len;
	return 0;
}

/* The first line of @buf without trailing blanks (in place). */
static char *first_line(char *buf)
{
	size_t n = strcspn(buf, "\n");

	while (n && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	return buf;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Entries of directory @dir (canonical) whose names pass @want, sorted by strcmp. */
static int list_dir(const struct va_config *c, const char *dir, bool (*want)(const char *),
		    char ***ret, size_t *count)
{
	int pfd = resolve(c, dir, ".", RES_FOLLOW, NULL), fd;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;

	*ret = NULL;
	*count = 0;
	if (pfd < 0)
		return pfd;
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(pfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		if (!want(e->d_name))
			continue;
		if (va_array_grow(&names, &cap, n, sizeof(*names)) < 0 ||
		    !(names[n] = strdup(e->d_name))) {
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
			closedir(d);
			return -ENOMEM;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*ret = names;
	*count = n;
	return 0;
}

/* ------------------------------------------------------------------ guests */

static bool backup_name(const char *n)
{
	size_t len = strlen(n);
	static const char *const suffixes[] = { ".rpmsave", ".rpmnew", ".rpmorig" };

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len >= sl && strcmp(n + len - sl, suffixes[i]) == 0)
			return true;
	}
	if (strstr(n, ".cfsaved"))
		return true;
	if (len && n[len - 1] == '~')
		return true;    /* also *.~N~ */
	return false;
}

static bool want_guest(const char *n)
{
	return n[0] != '.' && !backup_name(n);
}

static bool want_refserver(const char *n)
{
	return strncmp(n, "refserver.", 10) == 0;
}

static bool want_hash_entry(const char *n)
{
	return n[0] != '.' && strcmp(n, "method") != 0 && strcmp(n, "blocks") != 0 &&
	       strcmp(n, "blocksize") != 0;
}

/* Small per-guest file: NULL when absent; a problem when unreadable. */
static int small_file(struct va_config *c, long g, const char *dir, const char *rel, char **ret)
{
	char *buf, *path;
	size_t len;
	int r = read_file(c, dir, rel, MAX_SMALL, &buf, &len, &path);

	*ret = NULL;
	if (r == -ENOENT || r == -ENOTDIR) {    /* absent, as util-vserver sees it */
		free(path);
		return 0;
	}
	if (r == -ENOMEM) {
		free(path);
		return r;
	}
	if (r < 0) {
		r = problem(c, VA_KIND_CONFIG_INVALID, g, path, 0, "cannot read it: %s",
			    r == -EFBIG ? "larger than 4096 bytes" : res_strerror(r));
		free(path);
		return r;
	}
	if (memchr(buf, '\0', len)) {
		r = problem(c, VA_KIND_CONFIG_INVALID, g, path, 0, "it holds binary data (a NUL byte)");
		free(buf);
		free(path);
		return r;
	}
	free(path);
	*ret = buf;
	return 0;
}

static int read_context(struct va_config *c, long g, struct va_guest *gu)
{
	char *buf, *path;
	size_t len, i = 0;
	int r = read_file(c, gu->cfgdir_canon, "context", 64, &buf, &len, &path);
	unsigned long v = 0;

	gu->context = -1;
	if (r == -ENOENT || r == -ENOMEM) {
		free(path);
		return r == -ENOMEM ? r : 0;
	}
	if (r < 0) {
		gu->context = -2;
		r = problem(c, VA_KIND_CONFIG_INVALID, g, path, 0, "cannot read the context: %s",
			    r == -EFBIG ? "larger than 64 bytes" : res_strerror(r));
		free(path);
		return r;
	}
	/* digits, then at most trailing white space (a newline) */
	while (i < len && isdigit((unsigned char)buf[i]) && v <= 4294967295UL)
		v = v * 10 + (unsigned long)(buf[i++] - '0');
	if (i == 0 || v > 4294967295UL) {
		gu->context = -2;
	} else {
		for (; i < len; i++)
			if (!isspace((unsigned char)buf[i]))
				break;
		gu->context = i == len ? (long)v : -2;
	}
	if (gu->context == -2)
		r = problem(c, VA_KIND_CONFIG_INVALID, g, path, 0,
			    "the context is not a decimal number");
	free(buf);
	free(path);
	return r;
}

static int set_canon_str(char **dst, const struct va_config *c, const struct dbuf *canon)
{
	*dst = real_path(c, dbuf_str(canon));
	return *dst ? 0 : -ENOMEM;
}

static int read_vdir(struct va_config *c, struct va_guest *gu)
{
	struct dbuf canon = DBUF_INIT;
	char *rel = NULL;
	int type, r = 0;

	if (gu->conf) {
		/* the legacy tools know one root: DEFAULT_VSERVERDIR/NAME */
		gu->vdir_from = "legacy";
		rel = join("/vservers", gu->name);
	} else if (present(c, gu->cfgdir_canon, "vdir")) {
		gu->vdir_from = "vdir";
		rel = strdup("vdir");
	} else if (present(c, c->cfgdir_canon, ".defaults/vdirbase")) {
		gu->vdir_from = ".defaults/vdirbase";
		rel = join(".defaults/vdirbase", gu->name);
	} else {
		gu->vdir_from = "default";
		rel = join("/vservers", gu->name);
	}
	if (!rel)
		return -ENOMEM;
	type = lookup(c, strcmp(gu->vdir_from, "vdir") == 0 ? gu->cfgdir_canon : c->cfgdir_canon,
		      rel, RES_FOLLOW, &canon, &gu->vdir_id);
	free(rel);
	if (type == -ENOMEM) {
		r = type;
	} else if (type < 0) {
		r = asprintf(&gu->vdir_why, "%s does not resolve: %s",
			     strcmp(gu->vdir_from, "vdir") == 0 ? "the vdir link" :
			     strcmp(gu->vdir_from, "default") == 0 ? "the default /vservers/NAME" :
			     strcmp(gu->vdir_from, "legacy") == 0 ? "the legacy root /vservers/NAME" :
			     "the .defaults/vdirbase entry", res_strerror(type));
	} else if (type != S_IFDIR) {
		char *real = real_path(c, dbuf_str(&canon));

		r = real ? asprintf(&gu->vdir_why, "%s is not a directory", real) : -1;
		free(real);
	} else if (strcmp(dbuf_str(&canon), "/") == 0) {
		r = asprintf(&gu->vdir_why, "it is the host's root directory");
	} else {
		r = set_canon_str(&gu->vdir, c, &canon);
		if (r == 0 && !(gu->vdir_canon = strdup(dbuf_str(&canon))))
			r = -ENOMEM;
	}
	dbuf_release(&canon);
	return r < 0 ? -ENOMEM : 0;
}

static int read_run(struct va_config *c, struct va_guest *gu)
{
	char target[PATH_MAX];
	int fd = resolve(c, gu->cfgdir_canon, "run", 0, NULL);
	ssize_t n;
	char *buf, *path;
	size_t len;
	int r;

	gu->run_xid = -1;
	gu->running = c->host_root ? VA_RUN_UNKNOWN : VA_RUN_STOPPED;
	if (fd < 0)
		return fd == -ENOMEM ? fd : 0;
	n = readlinkat(fd, "", target, sizeof(target) - 1);
	close(fd);
	if (n < 0)
		return 0;       /* a plain file: util-vserver only makes links */
	target[n] = '\0';
	if (!(gu->run = strdup(target)))
		return -ENOMEM;
	r = read_file(c, gu->cfgdir_canon, "run", 64, &buf, &len, &path);
	if (r == 0) {
		char *end;
		long v = strtol(first_line(buf), &end, 10);

		gu->run_xid = (*buf && !*end && v > 0) ? v : -1;
		if (!c->host_root) {
			gu->running = VA_RUN_RUNNING;
			if (asprintf(&gu->running_why, "its run file %s exists", path) < 0)
				r = -ENOMEM;
		}
		free(buf);
	}
	free(path);
	return r == -ENOMEM ? r : 0;
}

static int read_vshelper(struct va_config *c, long g, struct va_guest *gu)
{
	char *buf;
	int r;

	gu->vshelper_disabled = exists(c, gu->cfgdir_canon, "apps/vshelper/disabled") ||
				exists(c, c->cfgdir_canon, ".defaults/apps/vshelper/disabled");
	if ((r = small_file(c, g, gu->cfgdir_canon, "apps/vshelper/action", &buf)) < 0 || !buf)
		return r;
	{
		char *w = buf + strspn(buf, " \t\n");

		w[strcspn(w, " \t\n")] = '\0';
		if (*w && !(gu->vshelper_action = strdup(w)))
			r = -ENOMEM;
	}
	free(buf);
	if (r < 0 || !gu->vshelper_action)
		return r;
	if (strcmp(gu->vshelper_action, "restart") == 0 || strcmp(gu->vshelper_action, "async") == 0 ||
	    strcmp(gu->vshelper_action, "sync") == 0) {
		gu->vshelper_action_known = true;
	} else if (!strchr(gu->vshelper_action, '/') && strcmp(gu->vshelper_action, ".") != 0 &&
		   strcmp(gu->vshelper_action, "..") != 0) {
		char *m1 = join(".defaults/apps/vshelper-methods", gu->vshelper_action);
		char *m2 = join("/usr/lib/util-vserver/vshelper-methods", gu->vshelper_action);

		if (!m1 || !m2)
			r = -ENOMEM;
		else
			gu->vshelper_action_known = is_file(c, c->cfgdir_canon, m1) ||
						    is_file(c, c->cfgdir_canon, m2);
		free(m1);
		free(m2);
	}
	return r;
}

static int read_refservers(struct va_config *c, struct va_guest *gu)
{
	char *dir = join(gu->cfgdir_canon, "apps/vunify");
	char **names;
	size_t n;
	int r;

	if (!dir)
		return -ENOMEM;
	r = list_dir(c, dir, want_refserver, &names, &n);
	if (r < 0) {
		free(dir);
		return r == -ENOMEM ? r : 0;
	}
	gu->refs = calloc(n ? n : 1, sizeof(*gu->refs));
	if (!gu->refs)
		r = -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct va_refserver *ref = &gu->refs[gu->nrefs];
		struct dbuf canon = DBUF_INIT;
		struct va_dir_id id;
		int type;

		if (r < 0) {
			free(names[i]);
			continue;
		}
		gu->nrefs++;
		ref->entry = names[i];
		ref->guest = -1;
		type = lookup(c, dir, names[i], RES_FOLLOW, &canon, &id);
		if (type == S_IFDIR) {
			ref->cfgdir = real_path(c, dbuf_str(&canon));
			if (!ref->cfgdir)
				r = -ENOMEM;
			else if (!present(c, dbuf_str(&canon), "vdir"))
				r = asprintf(&ref->why, "%s has no vdir: not a guest configuration directory",
					     ref->cfgdir);
			else if (!is_dir(c, dbuf_str(&canon), "apps/vunify", NULL, NULL))
				r = asprintf(&ref->why, "%s has no apps/vunify directory: vunify refuses it",
					     ref->cfgdir);
			for (size_t k = 0; r >= 0 && k < c->nguests; k++)
				if (c->guests[k].cfgdir_dev == id.dev && c->guests[k].cfgdir_ino == id.ino)
					ref->guest = (long)k;
		} else if (type > 0) {
			r = asprintf(&ref->why, "it is not a directory");
		} else if (type != -ENOMEM) {
			r = asprintf(&ref->why, "it does not resolve: %s", res_strerror(type));
		} else {
			r = -ENOMEM;
		}
		dbuf_release(&canon);
		r = r < 0 ? -ENOMEM : 0;
	}
	free(names);
	free(dir);
	return r;
}

struct quirk_ctx {
	struct va_config *c;
	long guest;
	const char *path;
	int err;
};

static void on_quirk(enum va_excl_quirk q, unsigned line, const char *text, size_t len, void *user)
{
	struct quirk_ctx *qc = user;

	(void)text;
	(void)len;
	if (qc->err == 0)
		qc->err = problem(qc->c, VA_KIND_CONFIG_EXCLUDE_QUIRK, qc->guest, qc->path, line, "%s",
				  va_excl_quirk_message(q));
}

static int read_exclude(struct va_config *c, long g, struct va_guest *gu)
{
	static const char *const where[] = { "apps/vunify/exclude", ".defaults/apps/vunify/exclude" };

	for (size_t i = 0; i < 2; i++) {
		char *buf, *path;
		size_t len;
		int r = read_file(c, i == 0 ? gu->cfgdir_canon : c->cfgdir_canon, where[i], MAX_LIST,
				  &buf, &len, &path);
		/* the .defaults list is everyone's: its quirks belong to no guest */
		struct quirk_ctx qc = { c, i == 0 ? g : -1, path, 0 };

		if (r == -ENOENT || r == -ENOTDIR) {
			free(path);
			continue;
		}
		if (r < 0) {
			if (r != -ENOMEM)
				r = problem(c, VA_KIND_CONFIG_INVALID, g, path, 0,
					    "cannot read the exclude list: %s",
					    r == -EFBIG ? "larger than 1 MiB" : res_strerror(r));
			free(path);
			if (r < 0)
				return r;
			continue;       /* util-vserver's access() would pass it over too */
		}
		/* quirks of a shared (.defaults) list are reported once */
		r = va_excl_parse(&gu->exclude, buf, len,
				  problem_reported(c, VA_KIND_CONFIG_EXCLUDE_QUIRK, path) ? NULL : on_quirk,
				  &qc);
		free(buf);
		gu->exclude_file = path;
		return r < 0 ? r : qc.err;
	}
	return va_excl_parse(&gu->exclude, va_excl_default_list, strlen(va_excl_default_list),
			     NULL, NULL);
}

/* Where a line parser's complaints go: problems of one kind about one file of a guest. */
struct line_ctx {
	struct va_config *c;
	long guest;
	const char *path;
	enum va_kind kind;
};

static int on_line_problem(unsigned line, const char *msg, void *user)
{
	struct line_ctx *lc = user;

	return problem(lc->c, lc->kind, lc->guest, lc->path, line, "%s", msg);
}

/* @rel under canonical @dir into @f (left empty when there is no such file). */
static int read_fstab(struct va_config *c, long g, const char *dir, const char *rel,
		      struct va_fstab_file *f)
{
	struct line_ctx fc = { c, g, NULL, VA_KIND_CONFIG_FSTAB_INVALID };
	char *buf, *path;
	size_t len;
	int r = read_file(c, dir, rel, MAX_LIST, &buf, &len, &path);

	if (r == -ENOENT || r == -ENOTDIR) {
		free(path);
		return 0;
	}
	if (r < 0) {
		if (r != -ENOMEM)
			r = problem(c, VA_KIND_CONFIG_INVALID, g, path, 0, "cannot read the fstab: %s",
				    r == -EFBIG ? "larger than 1 MiB" : res_strerror(r));
		free(path);
		return r;
	}
	fc.path = path;
	r = va_fstab_parse(&f->tab, buf, len, on_line_problem, &fc);
	free(buf);
	f->path = path;
	return r;
}

static int read_hash(struct va_config *c, long g, struct va_guest *gu)
{
	struct dbuf canon = DBUF_INIT;
	const char *base = gu->cfgdir_canon, *rel = "apps/vunify/hash";
	struct va_hash_dir *h;
	char **names, *buf, *path, *real;
	size_t n, len;
	int r;

	gu->hash = -1;
	if (!is_dir(c, base, rel, &canon, NULL)) {
		base = c->cfgdir_canon;
		rel = ".defaults/apps/vunify/hash";
		if (!is_dir(c, base, rel, &canon, NULL)) {
			dbuf_release(&canon);
			return 0;
		}
	}
	real = real_path(c, dbuf_str(&canon));
	if (!real) {
		dbuf_release(&canon);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->nhashdirs; i++)
		if (strcmp(c->hashdirs[i].path, real) == 0) {
			gu->hash = (long)i;
			free(real);
			dbuf_release(&canon);
			return 0;
		}
	if (va_array_grow(&c->hashdirs, &c->caphash, c->nhashdirs, sizeof(*c->hashdirs)) < 0) {
		free(real);
		dbuf_release(&canon);
		return -ENOMEM;
	}
	h = &c->hashdirs[c->nhashdirs];
	memset(h, 0, sizeof(*h));
	h->path = real;
	gu->hash = (long)c->nhashdirs++;

	r = read_file(c, dbuf_str(&canon), "method", MAX_SMALL, &buf, &len, &path);
	if (r == 0) {
		char *m = first_line(buf), *o = m;

		for (char *p = m; *p; p++)
			if (*p != '-')
				*o++ = (char)tolower((unsigned char)*p);
		*o = '\0';
		h->method = strdup(m);
		h->method_valid = h->method && (!strcmp(m, "md5") || !strcmp(m, "sha1") ||
						!strcmp(m, "sha256") || !strcmp(m, "md2"));
		if (h->method && !h->method_valid)
			r = problem(c, VA_KIND_CONFIG_INVALID, g, path, 0,
				    "unknown hash method (util-vserver knows md5, sha1, sha256 and md2)");
		else if (!h->method)
			r = -ENOMEM;
		free(buf);
	} else if (r != -ENOENT && r != -ENOMEM) {
		r = problem(c, VA_KIND_CONFIG_INVALID, g, path, 0, "cannot read the hash method: %s",
			    res_strerror(r));
	} else if (r == -ENOENT) {
		r = 0;
	}
	free(path);
	if (r < 0)
		goto out;

	r = list_dir(c, dbuf_str(&canon), want_hash_entry, &names, &n);
	if (r < 0) {
		r = r == -ENOMEM ? r : 0;
		goto out;
	}
	h->entries = calloc(n ? n : 1, sizeof(*h->entries));
	if (!h->entries)
		r = -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct va_hash_entry *e;
		struct dbuf ecanon = DBUF_INIT;

		if (r < 0) {
			free(names[i]);
			continue;
		}
		e = &h->entries[h->nentries++];
		e->name = names[i];
		if (is_dir(c, dbuf_str(&canon), names[i], &ecanon, &e->id)) {
			e->path = real_path(c, dbuf_str(&ecanon));
			if (!e->path)
				r = -ENOMEM;
			for (size_t k = 0; k + 1 < h->nentries; k++)
				if (h->entries[k].path && h->entries[k].id.dev == e->id.dev)
					e->duplicate = true;
		} else {
			char *p = join(h->path, names[i]);

			r = p ? problem(c, VA_KIND_CONFIG_INVALID, g, p, 0,
					"a hash directory entry must resolve to a directory") : -ENOMEM;
			free(p);
		}
		dbuf_release(&ecanon);
	}
	free(names);
out:
	dbuf_release(&canon);
	return r;
}

/* ------------------------------------------------------------------ legacy guests */

#define MAX_CONF (256 * 1024)   /* NAME.conf */

/* /var/run/vservers/NAME.ctx: S_CONTEXT and S_PROFILE of a running legacy guest. */
static int read_legacy_ctx(struct va_config *c, struct va_guest *gu, char **profile)
{
	char *rel = NULL, *buf, *path;
	size_t len;
	struct va_legacy l = { 0 };
	const struct va_legacy_var *v;
	int r;

	*profile = NULL;
	gu->run_xid = -1;
	gu->running = c->host_root ? VA_RUN_UNKNOWN : VA_RUN_STOPPED;
	if (asprintf(&rel, "%s.ctx", gu->name) < 0)
		return -ENOMEM;
	r = read_file(c, "/var/run/vservers", rel, MAX_SMALL, &buf, &len, &path);
	free(rel);
	if (r < 0) {
		free(path);
		return r == -ENOMEM ? r : 0;
	}
	/* written by the old tools (save_s_context): its problems are not the admin's */
	r = va_legacy_parse(buf, len, NULL, &l, NULL, NULL);
	free(buf);
	if (r == 0 && (v = va_legacy_get(&l, "S_CONTEXT"))) {
		char *end;
		long x = strtol(v->value, &end, 10);

		gu->run_xid = v->value[0] && !*end && x > 0 ? x : -1;
	}
	if (r == 0 && (v = va_legacy_get(&l, "S_PROFILE")) && v->value[0] &&
	    !(*profile = strdup(v->value)))
		r = -ENOMEM;
	if (r == 0 && !(gu->run = strdup(path)))
		r = -ENOMEM;
	if (r == 0 && !c->host_root) {
		gu->running = VA_RUN_RUNNING;
		if (asprintf(&gu->running_why, "its context file %s exists", path) < 0)
			r = -ENOMEM;
	}
	va_legacy_release(&l);
	free(path);
	return r;
}

static int read_legacy_guest(struct va_config *c, long g)
{
	struct va_guest *gu = &c->guests[g];
	struct line_ctx lc = { c, g, gu->cfgdir, VA_KIND_CONFIG_INVALID };
	const struct va_legacy_var *v;
	char *buf, *path, *profile;
	size_t len;
	int r;

	gu->legacy = true;
	gu->context = -1;
	gu->pkgmgmt = true;
	if ((r = read_legacy_ctx(c, gu, &profile)) < 0)
		return r;
	r = read_file(c, "/", gu->cfgdir_canon, MAX_CONF, &buf, &len, &path);
	free(path);
	if (r == -ENOMEM) {
		free(profile);
		return r;
	}
	if (r < 0) {
		gu->context = -2;
		r = problem(c, VA_KIND_CONFIG_INVALID, g, gu->cfgdir, 0, "cannot read it: %s",
			    r == -EFBIG ? "larger than 256 KiB" : res_strerror(r));
	} else {
		r = va_legacy_parse(buf, len, profile, &gu->lconf, on_line_problem, &lc);
		free(buf);
	}
	free(profile);
	if (r < 0)
		return r;
	if ((v = va_legacy_get(&gu->lconf, "S_CONTEXT")) && v->value[0]) {
		const char *s = v->value;
		unsigned long x = 0;
		size_t i = 0;

		while (s[i] >= '0' && s[i] <= '9' && x <= 4294967295UL)
			x = x * 10 + (unsigned long)(s[i++] - '0');
		gu->context_line = v->line;
		if (i == 0 || s[i] || x > 4294967295UL) {
			gu->context = -2;
			r = problem(c, VA_KIND_CONFIG_INVALID, g, gu->cfgdir, v->line,
				    "S_CONTEXT is not a decimal number");
		} else {
			gu->context = (long)x;
		}
	}
	if (r == 0 && (v = va_legacy_get(&gu->lconf, "ONBOOT")))
		gu->onboot = strcmp(v->value, "yes") == 0;
	if (r == 0)
		r = read_vdir(c, gu);
	if (r == 0)
		r = va_excl_parse(&gu->exclude, va_excl_default_list, strlen(va_excl_default_list),
				  NULL, NULL);
	return r;
}

static int read_guest(struct va_config *c, long g)
{
	struct va_guest *gu = &c->guests[g];
	char *buf;
	int r;

	gu->hash = -1;
	if (gu->conf)
		return read_legacy_guest(c, g);
	if ((r = small_file(c, g, gu->cfgdir_canon, "name", &buf)) < 0)
		return r;
	if (buf) {
		gu->display = strdup(first_line(buf));
		free(buf);
		if (!gu->display)
			return -ENOMEM;
	}
	if ((r = read_context(c, g, gu)) < 0 || (r = read_vdir(c, gu)) < 0 ||
	    (r = read_run(c, gu)) < 0)
		return r;
	{
		char target[PATH_MAX];
		int fd = resolve(c, gu->cfgdir_canon, "cache", 0, NULL);
		ssize_t n = fd >= 0 ? readlinkat(fd, "", target, sizeof(target) - 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n > 0) {
			target[n] = '\0';
			gu->cache = strdup(target);
		} else {
			gu->cache = join(present(c, c->cfgdir_canon, ".defaults/cachebase") ?
					 ".defaults/cachebase" : "/var/cache/vservers", gu->name);
		}
		if (!gu->cache)
			return -ENOMEM;
	}
	gu->disabled = exists(c, gu->cfgdir_canon, "disabled");
	gu->legacy = exists(c, gu->cfgdir_canon, "legacy");
	gu->nonamespace = exists(c, gu->cfgdir_canon, "nonamespace");
	if (!gu->nonamespace && exists(c, c->cfgdir_canon, ".defaults/nonamespace") &&
	    !exists(c, gu->cfgdir_canon, "namespace"))
		gu->nonamespace = gu->nonamespace_global = true;
	if ((r = small_file(c, g, gu->cfgdir_canon, "apps/init/mark", &buf)) < 0)
		return r;
	if (buf) {
		gu->mark = strdup(first_line(buf));
		free(buf);
		if (!gu->mark)
			return -ENOMEM;
	}
	if ((r = read_vshelper(c, g, gu)) < 0)
		return r;
	gu->has_vunify = is_dir(c, gu->cfgdir_canon, "apps/vunify", NULL, NULL);
	gu->pkgmgmt = true;
	if (exists(c, gu->cfgdir_canon, "apps/vunify/pkgmgmt-ignore"))
		gu->pkgmgmt = false;
	else if (!exists(c, gu->cfgdir_canon, "apps/vunify/pkgmgmt-force") &&
		 exists(c, c->cfgdir_canon, ".defaults/apps/vunify/pkgmgmt-ignore"))
		gu->pkgmgmt = false;
	if ((r = read_exclude(c, g, gu)) < 0 || (r = read_hash(c, g, gu)) < 0)
		return r;
	{
		static const char *const names[] = {
#define VA_X_FSTAB(id, name) name,
			VA_FSTAB_FILES(VA_X_FSTAB)
#undef VA_X_FSTAB
		};

		for (size_t k = 0; k < VA_FSTAB_COUNT; k++)
			if ((r = read_fstab(c, g, gu->cfgdir_canon, names[k], &gu->fstab[k])) < 0)
				return r;
	}
	return 0;
}

/* Processes whose root directory is a guest's vdir: that guest runs. */
static int scan_processes(struct va_config *c)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	int r = 0;

	if (!proc)
		return 0;
	while (r == 0 && (d = readdir(proc))) {
		char link[300];
		struct stat st;

		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "/proc/%.256s/root", d->d_name);
		if (stat(link, &st) < 0)
			continue;
		for (size_t i = 0; i < c->nguests; i++) {
			struct va_guest *gu = &c->guests[i];

			if (!gu->vdir || gu->vdir_id.dev != st.st_dev || gu->vdir_id.ino != st.st_ino ||
			    gu->running == VA_RUN_RUNNING)
				continue;
			gu->running = VA_RUN_RUNNING;
			if (asprintf(&gu->running_why, "process %s has its root there", d->d_name) < 0)
				r = -ENOMEM;
		}
	}
	closedir(proc);
	return r;
}

/* "NAME.conf" with a NAME a guest could have */
static bool is_conf_name(const char *n)
{
	size_t len = strlen(n);
	char base[NAME_MAX + 1];

	if (len <= 5 || len > NAME_MAX || strcmp(n + len - 5, ".conf") != 0)
		return false;
	memcpy(base, n, len - 5);
	base[len - 5] = '\0';
	return want_guest(base);
}

static int cmp_guests(const void *a, const void *b)
{
	return strcmp(((const struct va_guest *)a)->name, ((const struct va_guest *)b)->name);
}

static void drop_guest_fields(struct va_guest *gu);

/* A legacy guest for the file @entry ("NAME.conf") of the configuration directory. */
static int add_legacy(struct va_config *c, const char *entry)
{
	struct dbuf canon = DBUF_INIT;
	struct va_dir_id id;
	struct va_guest *gu;
	int r = 0;

	if (va_array_grow(&c->guests, &c->capguests, c->nguests, sizeof(*c->guests)) < 0)
		return -ENOMEM;
	if (lookup(c, c->cfgdir_canon, entry, RES_FOLLOW, &canon, &id) != S_IFREG) {
		dbuf_release(&canon);
		return 0;       /* it changed meanwhile */
	}
	gu = &c->guests[c->nguests++];
	memset(gu, 0, sizeof(*gu));
	gu->conf = true;
	gu->hash = -1;
	gu->name = strndup(entry, strlen(entry) - 5);
	gu->cfgdir_dev = id.dev;
	gu->cfgdir_ino = id.ino;
	gu->cfgdir_canon = strdup(dbuf_str(&canon));
	gu->cfgdir = real_path(c, dbuf_str(&canon));
	if (!gu->name || !gu->cfgdir_canon || !gu->cfgdir)
		r = -ENOMEM;
	dbuf_release(&canon);
	return r;
}

/*
 * Legacy guest @i and a directory guest of the same name: the one
 * util-vserver uses stays (lib/getvservercfgstyle.c: NAME/ unless it has a
 * "legacy" file or its vdir is not a directory), the other goes (its name
 * set to NULL).
 */
static int settle_legacy(struct va_config *c, size_t i)
{
	struct va_guest *lg = &c->guests[i], *dg = NULL;

	if (!lg->conf || !lg->name)
		return 0;
	for (size_t k = 0; k < c->nguests && !dg; k++)
		if (!c->guests[k].conf && c->guests[k].name && strcmp(c->guests[k].name, lg->name) == 0)
			dg = &c->guests[k];
	if (!dg)
		return 0;
	if (exists(c, dg->cfgdir_canon, "legacy") || !is_dir(c, dg->cfgdir_canon, "vdir", NULL, NULL)) {
		drop_guest_fields(dg);
		return 0;
	}
	free(dg->conf_ignored);
	dg->conf_ignored = lg->cfgdir;
	lg->cfgdir = NULL;
	drop_guest_fields(lg);
	return 0;
}

static int load_guests(struct va_config *c)
{
	char **names;
	size_t n;
	int r = list_dir(c, c->cfgdir_canon, want_guest, &names, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		struct dbuf canon = DBUF_INIT;
		struct va_dir_id id;
		struct va_guest *gu;

		if (r == 0 && is_conf_name(names[i]) &&
		    lookup(c, c->cfgdir_canon, names[i], RES_FOLLOW, NULL, NULL) == S_IFREG) {
			r = add_legacy(c, names[i]);
			free(names[i]);
			continue;
		}
		if (r < 0 || !is_dir(c, c->cfgdir_canon, names[i], &canon, &id)) {
			free(names[i]);
			dbuf_release(&canon);
			continue;
		}
		if (va_array_grow(&c->guests, &c->capguests, c->nguests, sizeof(*c->guests)) < 0) {
			free(names[i]);
			dbuf_release(&canon);
			r = -ENOMEM;
			continue;
		}
		gu = &c->guests[c->nguests++];
		memset(gu, 0, sizeof(*gu));
		gu->name = names[i];
		gu->cfgdir_dev = id.dev;
		gu->cfgdir_ino = id.ino;
		gu->cfgdir_canon = strdup(dbuf_str(&canon));
		gu->cfgdir = real_path(c, dbuf_str(&canon));
		gu->hash = -1;
		if (!gu->cfgdir_canon || !gu->cfgdir)
			r = -ENOMEM;
		dbuf_release(&canon);
	}
	free(names);
	/* util-vserver's choice between NAME/ and NAME.conf, then byte order */
	for (size_t i = 0; r == 0 && i < c->nguests; i++)
		r = settle_legacy(c, i);
	for (size_t i = 0; i < c->nguests; i++)
		if (c->guests[i].name == NULL) {
			memmove(&c->guests[i], &c->guests[i + 1], (c->nguests - i - 1) * sizeof(*c->guests));
			c->nguests--;
			i--;
		}
	if (c->nguests > 1)
		qsort(c->guests, c->nguests, sizeof(*c->guests), cmp_guests);
	/* second pass: a refserver may name a guest read later */
	for (size_t i = 0; r == 0 && i < c->nguests; i++)
		r = read_guest(c, (long)i);
	for (size_t i = 0; r == 0 && i < c->nguests; i++)
		r = read_refservers(c, &c->guests[i]);
	if (r == 0)
		r = read_fstab(c, -1, c->cfgdir_canon, ".defaults/fstab", &c->defaults_fstab);
	if (r == 0 && !c->host_root)
		r = scan_processes(c);
	return r;
}

/* ------------------------------------------------------------------ public */

/*
 * The failure of va_config_load(): the directory as the options name it
 * (the host root as given, then the directory), the errno's text unless
 * @why says more.  Returns @r.
 */
static int load_failed(struct va_error *err, const struct va_config_opts *o, int r, const char *why)
{
	const char *dir = o->cfgdir ? o->cfgdir : VA_CONFIG_DIR;
	struct dbuf p = DBUF_INIT;

	if (o->host_root)
		dbuf_addf(&p, "%s%s%s", o->host_root, dir[0] != '/' ? "/" : "", dir);
	else
		dbuf_adds(&p, dir);
	va_error_set(err, why ? 0 : -r, dbuf_str(&p), p.len, "configuration directory", why);
	dbuf_release(&p);
	return r;
}

int va_config_load(struct va_config **ret, const struct va_config_opts *o, struct va_error *err)
{
	struct va_config *c = calloc(1, sizeof(*c));
	const char *host = o->host_root;
	const char *why = NULL;
	struct dbuf canon = DBUF_INIT;
	int fd, r;

	*ret = NULL;
	if (!c)
		return load_failed(err, o, -ENOMEM, NULL);
	c->root_fd = -1;
	if (host && host[strspn(host, "/")] == '\0')
		host = NULL;    /* "/" is the running host */
	if (host) {
		size_t len = strlen(host);

		while (len > 1 && host[len - 1] == '/')
			len--;
		c->host_root = strndup(host, len);
		if (!c->host_root) {
			r = -ENOMEM;
			goto fail;
		}
	}
	c->root_fd = open(host ? c->host_root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->root_fd < 0) {
		r = -errno;
		why = "cannot open the host root";
		goto fail;
	}
	{
		/* a relative DIR: from the current directory on the running
		 * host, from the host root of an offline copy */
		char cwd[PATH_MAX];
		const char *base = "/";

		if (!host && o->cfgdir && o->cfgdir[0] != '/') {
			if (!getcwd(cwd, sizeof(cwd))) {
				r = -errno;
				why = "cannot find the current directory";
				goto fail;
			}
			base = cwd;
		}
		fd = resolve(c, base, o->cfgdir ? o->cfgdir : VA_CONFIG_DIR, RES_FOLLOW, &canon);
	}
	if (fd < 0) {
		r = fd;
		why = r == -EXDEV ? "it leads out of the host root" :
		      r == -ELOOP ? "too many levels of symbolic links" : NULL;
		goto fail;
	}
	{
		struct stat st;

		r = fstat(fd, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
		close(fd);
		if (r < 0)
			goto fail;
	}
	c->cfgdir_canon = strdup(dbuf_str(&canon));
	c->cfgdir = real_path(c, dbuf_str(&canon));
	dbuf_release(&canon);
	if (!c->cfgdir_canon || !c->cfgdir) {
		r = -ENOMEM;
		goto fail;
	}
	r = load_guests(c);
	if (r < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	dbuf_release(&canon);
	va_config_free(c);
	return load_failed(err, o, r, why);
}

static void drop_guest_fields(struct va_guest *gu)
{
	free(gu->name);
	free(gu->cfgdir);
	free(gu->cfgdir_canon);
	free(gu->display);
	free(gu->vdir);
	free(gu->vdir_canon);
	free(gu->vdir_why);
	free(gu->run);
	free(gu->running_why);
	free(gu->cache);
	free(gu->mark);
	free(gu->vshelper_action);
	for (size_t k = 0; k < gu->nrefs; k++) {
		free(gu->refs[k].entry);
		free(gu->refs[k].cfgdir);
		free(gu->refs[k].why);
	}
	free(gu->refs);
	free(gu->exclude_file);
	va_excl_release(&gu->exclude);
	va_legacy_release(&gu->lconf);
	free(gu->conf_ignored);
	for (size_t k = 0; k < VA_FSTAB_COUNT; k++) {
		free(gu->fstab[k].path);
		va_fstab_release(&gu->fstab[k].tab);
	}
	memset(gu, 0, sizeof(*gu));
	gu->hash = -1;
}

void va_config_free(struct va_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nguests; i++)
		drop_guest_fields(&c->guests[i]);
	free(c->guests);
	for (size_t i = 0; i < c->nhashdirs; i++) {
		for (size_t k = 0; k < c->hashdirs[i].nentries; k++) {
			free(c->hashdirs[i].entries[k].name);
			free(c->hashdirs[i].entries[k].path);
		}
		free(c->hashdirs[i].entries);
		free(c->hashdirs[i].path);
		free(c->hashdirs[i].method);
	}
	free(c->hashdirs);
	for (size_t i = 0; i < c->nproblems; i++) {
		free(c->problems[i].path);
		free(c->problems[i].detail);
	}
	free(c->problems);
	free(c->defaults_fstab.path);
	va_fstab_release(&c->defaults_fstab.tab);
	free(c->host_root);
	free(c->cfgdir);
	free(c->cfgdir_canon);
	if (c->root_fd >= 0)
		close(c->root_fd);
	free(c);
}

long va_config_find_vdir(const struct va_config *c, dev_t dev, uint64_t ino)
{
	for (size_t i = 0; c && i < c->nguests; i++)
		if (c->guests[i].vdir && c->guests[i].vdir_id.dev == dev &&
		    c->guests[i].vdir_id.ino == ino)
			return (long)i;
	return -1;
}

long va_config_roots(const struct va_config *c, char ***ret)
{
	char **roots = calloc(c->nguests + 1, sizeof(*roots));
	size_t n = 0;

	*ret = NULL;
	if (!roots)
		return -ENOMEM;
	for (size_t i = 0; i < c->nguests; i++) {
		const char *v = c->guests[i].vdir_canon;
		const char *slash;
		char *parent, *real;
		bool dup = false;

		if (!v)
			continue;
		slash = strrchr(v, '/');
		parent = slash == v ? strdup("/") : strndup(v, (size_t)(slash - v));
		real = parent ? real_path(c, parent) : NULL;
		free(parent);
		if (!real)
			goto nomem;
		for (size_t k = 0; k < n; k++)
			dup |= strcmp(roots[k], real) == 0;
		if (dup)
			free(real);
		else
			roots[n++] = real;
	}
	*ret = roots;
	return (long)n;
nomem:
	for (size_t k = 0; k < n; k++)
		free(roots[k]);
	free(roots);
	return -ENOMEM;
}

int va_config_open_dir(const struct va_config *c, const char *canon)
{
	int pfd = resolve(c, "/", canon, RES_FOLLOW, NULL), fd;

	if (pfd < 0)
		return pfd;
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(pfd);
	return fd;
}

int va_config_lookup(const struct va_config *c, const char *path, char **canon, struct va_dir_id *id)
{
	struct dbuf b = DBUF_INIT;
	int r = lookup(c, "/", path, RES_FOLLOW, canon ? &b : NULL, id);

	if (r > 0 && canon && !(*canon = strdup(dbuf_str(&b))))
		r = -ENOMEM;
	dbuf_release(&b);
	return r;
}

char *va_config_real_path(const struct va_config *c, const char *canon)
{
	return real_path(c, canon);
}

int va_config_on_this_host(const struct va_config *c, const char *path)
{
	const char *root = getenv("VAUDIT_TEST_THIS_HOST");
	struct dbuf p = DBUF_INIT;
	struct stat st;
	int r;

	if (!c->host_root)
		return S_IFDIR;
	if (root && root[0] == '/' && dbuf_adds(&p, root) < 0)
		return -ENOMEM;
	if (dbuf_adds(&p, path) < 0) {
		dbuf_release(&p);
		return -ENOMEM;
	}
	/* a path from the copy: looked at, never an automount triggered */
	r = fstatat(AT_FDCWD, dbuf_str(&p), &st, AT_NO_AUTOMOUNT) == 0 ? (int)(st.st_mode & S_IFMT) : -errno;
	dbuf_release(&p);
	return r;
}

const char *va_config_strerror(int err)
{
	return res_strerror(err);
}
