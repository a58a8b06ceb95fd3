/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-config.c - fuzz target for the configuration reader (core/vsconfig)
 * and the configuration checks (audit/config-checks.c).
 *
 * The input is a small script that builds a util-vserver host tree in a
 * fresh directory, which is then read as an offline copy (--host-root):
 *
 *   byte 0     options: bits 0-2 the configuration directory (0-4 the
 *              default, 5 "/etc/vservers/", 6 "etc/./vservers", 7
 *              "/vservers/../etc/vservers"); bit 3 a trailing "//" on the
 *              host root; bit 4 no attribute back end (no nonamespace
 *              barrier check, no hash store walk); bits 5-7 N: the finding
 *              hook stops the checks at the N-th finding (0: never)
 *   records    [op][path][len][len bytes of content], at most MAX_OPS:
 *              op bits 0-2: 0, 6 a regular file holding the content;
 *              1, 7 a directory; 2 a symlink to the content (raw target);
 *              3 a symlink to a path of the vocabulary (content byte 0: the
 *              path, byte 1: bits 0-2 the form -- absolute, correct
 *              relative, one ".." too many, "//" and "/./" noise,
 *              "../../../<g>", itself (a loop), "/../..", relative as
 *              written -- bits 3-5 its guest); 4 a FIFO; 5 a large file
 *              (content byte 0: 65, 4097, 1 MiB + 1, 4096 or 64 bytes,
 *              filled with the rest of the content, or '1');
 *              op bits 3-5: the guest name <g> used by the path;
 *              path: an index into a fixed vocabulary of the names the
 *              reader looks at (etc/vservers/<g>/vdir, .../apps/vunify/
 *              refserver.N, .defaults/..., vservers/.hash, ...).
 *   Parents are created as directories; an op whose parent is not a real
 *   directory (a symlink, a file), or whose name exists, is skipped.
 *   Nothing is ever created through a symlink.
 *
 * Properties checked on every input (abort() on violation):
 *  - every string the reader returns is sane: guests sorted, distinct and
 *    not hidden or backups; indexes in range; a vdir or a reason; a
 *    refserver resolves or says why;
 *  - the resolver never leaves the host root: every real path (config
 *    directory, guest configuration directories, vdirs, refserver targets,
 *    hash directories and entries, exclude files, problem paths) starts
 *    with the host root, and every canonical path is canonical (no ".",
 *    "..", empty component or symlink in it) and names the very inode
 *    (dev/ino) the reader recorded;
 *  - va_config_find_vdir(), va_config_roots() and va_config_open_dir()
 *    agree with the guests' vdirs;
 *  - every finding has a known kind and severity, a path inside the host
 *    root, a detail, a guest that is one of the configuration's; the
 *    statistics add up; a guest without vdir gets exactly one
 *    config-vdir-missing; a hook that returns < 0 stops the checks and its
 *    value is returned;
 *  - where no symlink is involved, the reader agrees with a simple model
 *    (guests, vdir, the default /vservers/NAME, context, apps/vunify);
 *  - reading the same tree twice gives the same configuration;
 *  - no fd is left open (the fstab checks included: their paths come
 *    from fstab, fstab.remote and .defaults/fstab files of the tree).
 *  - a read through "." or ".." never fails with EBADF, and "." and ".."
 *    never pass as installed vshelper methods (two bugs this target found).
 * Seeds: built in (run on the first call); FUZZ_CONFIG_WRITE_SEEDS=DIR
 * writes them to DIR as files and exits (fuzz/fuzz-config.sh uses that).
 * Built for libFuzzer with --enable-fuzzing (clang), and always as a
 * bounded standalone run for make check (fuzz/standalone.c).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/attr.h"
#include "core/finding.h"
#include "core/vsconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS 64

static char *host;              /* the host root: tmpdir/h */

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "fuzz-config: %s:%d: property violated: %s (tree: %s)\n", \
				__FILE__, __LINE__, #cond, host ? host : "-");             \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* ------------------------------------------------------------------ vocabulary */

static const char *const guest_names[8] = {
	"g1", "g2", "g3", "-g", "n\nl", "\xff\x80", "g1.rpmnew", "g.cfsaved2",
};

/* A path: pre, or pre <g> suf when suf is not NULL. */
static const struct {
	const char *pre, *suf;
} vocab[] = {
	{ "etc", NULL },
	{ "etc/vservers", NULL },
	{ "etc/vservers/", "" },
	{ "etc/vservers/", "/vdir" },
	{ "etc/vservers/", "/context" },
	{ "etc/vservers/", "/name" },
	{ "etc/vservers/", "/run" },
	{ "etc/vservers/", "/cache" },
	{ "etc/vservers/", "/disabled" },
	{ "etc/vservers/", "/legacy" },
	{ "etc/vservers/", "/nonamespace" },
	{ "etc/vservers/", "/namespace" },
	{ "etc/vservers/", "/apps" },
	{ "etc/vservers/", "/apps/init/mark" },
	{ "etc/vservers/", "/apps/vshelper" },
	{ "etc/vservers/", "/apps/vshelper/action" },
	{ "etc/vservers/", "/apps/vshelper/disabled" },
	{ "etc/vservers/", "/apps/vunify" },
	{ "etc/vservers/", "/apps/vunify/refserver.1" },
	{ "etc/vservers/", "/apps/vunify/refserver.2" },
	{ "etc/vservers/", "/apps/vunify/refserver.10" },
	{ "etc/vservers/", "/apps/vunify/exclude" },
	{ "etc/vservers/", "/apps/vunify/hash" },
	{ "etc/vservers/", "/apps/vunify/hash/method" },
	{ "etc/vservers/", "/apps/vunify/hash/00" },
	{ "etc/vservers/", "/apps/vunify/hash/01" },
	{ "etc/vservers/", "/apps/vunify/pkgmgmt-ignore" },
	{ "etc/vservers/", "/apps/vunify/pkgmgmt-force" },
	{ "etc/vservers/.defaults", NULL },
	{ "etc/vservers/.defaults/vdirbase", NULL },
	{ "etc/vservers/.defaults/vdirbase/", "" },
	{ "etc/vservers/.defaults/cachebase", NULL },
	{ "etc/vservers/.defaults/nonamespace", NULL },
	{ "etc/vservers/.defaults/apps/vshelper/disabled", NULL },
	{ "etc/vservers/.defaults/apps/vshelper-methods/halt", NULL },
	{ "etc/vservers/.defaults/apps/vunify/exclude", NULL },
	{ "etc/vservers/.defaults/apps/vunify/hash", NULL },
	{ "etc/vservers/.defaults/apps/vunify/hash/method", NULL },
	{ "etc/vservers/.defaults/apps/vunify/hash/00", NULL },
	{ "etc/vservers/.defaults/apps/vunify/pkgmgmt-ignore", NULL },
	{ "vservers", NULL },
	{ "vservers/", "" },
	{ "vservers/", "/etc/shadow" },
	{ "vservers/.hash", NULL },
	{ "vservers/.hash/aa", NULL },
	{ "vservers/.hash/aa/f", NULL },
	{ "srv", NULL },
	{ "srv/", "" },
	{ "usr/lib/util-vserver/vshelper-methods/", "" },
	{ "etc/vservers/", "/apps/vunify/refserver.~1~" },
	{ "etc/vservers/", "/apps/vunify/hash/.x" },
	{ "etc/vservers/", ".~1~" },
	{ "var/run/vservers/", "" },
	{ "d/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/", "" },
	{ "etc/vservers/", ".conf" },
	{ "var/run/vservers/", ".ctx" },
	{ "etc/vservers/", "/fstab" },
	{ "etc/vservers/", "/fstab.remote" },
	{ "etc/vservers/.defaults/fstab", NULL },
};

#define NVOCAB (sizeof(vocab) / sizeof(*vocab))

static int vocab_path(unsigned t, unsigned g, char *out, size_t cap)
{
	int n;

	t %= NVOCAB;
	g %= 8;
	if (vocab[t].suf)
		n = snprintf(out, cap, "%s%s%s", vocab[t].pre, guest_names[g], vocab[t].suf);
	else
		n = snprintf(out, cap, "%s", vocab[t].pre);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

/* ------------------------------------------------------------------ the tree */

static char *tmpdir;            /* per input; left behind only when a property fails */

static void rm_at(int dfd, const char *name)
{
	struct stat st;
	int fd;
	DIR *d;
	struct dirent *e;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlinkat(dfd, name, 0);
		return;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0 && (d = fdopendir(fd))) {
		/* again while entries removed during readdir() left some unseen */
		for (int pass = 0; pass < 3; pass++) {
			rewinddir(d);
			while ((e = readdir(d)))
				if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
					rm_at(dirfd(d), e->d_name);
			if (unlinkat(dfd, name, AT_REMOVEDIR) == 0 || errno != ENOTEMPTY)
				break;
		}
		closedir(d);
		return;
	}
	if (fd >= 0)
		close(fd);
	unlinkat(dfd, name, AT_REMOVEDIR);
}

static void cleanup(void)
{
	if (tmpdir) {
		rm_at(AT_FDCWD, tmpdir);
		free(tmpdir);
		free(host);
		tmpdir = host = NULL;
	}
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");

	if (asprintf(&tmpdir, "%s/vaudit-fuzz-config.XXXXXX", t && *t ? t : "/tmp") < 0)
		abort();
	if (!mkdtemp(tmpdir)) {
		perror("fuzz-config: mkdtemp");
		abort();
	}
	if (asprintf(&host, "%s/h", tmpdir) < 0)
		abort();
}

/*
 * Open the parent of @path (relative to @root) creating directories, never
 * through a symlink; the last component in *@last.  -1 when a parent is not
 * a real directory.
 */
static int open_parent(int root, char *path, const char **last)
{
	int fd = dup(root);
	char *p = path, *slash;

	while (fd >= 0 && (slash = strchr(p, '/'))) {
		int nfd;

		*slash = '\0';
		if (mkdirat(fd, p, 0755) < 0 && errno != EEXIST) {
			close(fd);
			return -1;
		}
		nfd = openat(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		*slash = '/';
		close(fd);
		fd = nfd;
		p = slash + 1;
	}
	*last = p;
	return fd;
}

/* Count the '/'s of @s: the depth of its parent. */
static unsigned depth_of(const char *s)
{
	unsigned n = 0;

	for (; *s; s++)
		n += *s == '/';
	return n;
}

static void make_link_target(const char *link, const uint8_t *c, size_t len, char *out,
			     size_t cap)
{
	char target[512];
	unsigned t = len > 0 ? c[0] : 0, form = len > 1 ? c[1] & 7 : 0;
	unsigned g = len > 1 ? (c[1] >> 3) & 7 : 0, up = depth_of(link);
	size_t o = 0;

	out[0] = '\0';
	if (vocab_path(t, g, target, sizeof(target)) < 0)
		return;
#define ADD(s)                                                                  \
	do {                                                                    \
		int n_ = snprintf(out + o, cap - o, "%s", (s));                 \
		if (n_ < 0 || (size_t)n_ >= cap - o)                           \
			return;                                                 \
		o += (size_t)n_;                                                \
	} while (0)
	switch (form) {
	case 0:
		ADD("/");
		ADD(target);
		break;
	case 1:
	case 2:
		for (unsigned i = 0; i < up + (form == 2 ? 1 + (g & 1) : 0); i++)
			ADD("../");
		ADD(target);
		break;
	case 3:
		ADD("//");
		for (const char *s = target; *s; s++) {
			char ch[2] = { *s, '\0' };

			ADD(*s == '/' ? "/./" : ch);
		}
		ADD("/");
		break;
	case 4:         /* what refserver.N links usually hold */
		ADD("../../../");
		ADD(guest_names[g]);
		break;
	case 5: {
		const char *base = strrchr(link, '/');

		ADD(base ? base + 1 : link);
		break;
	}
	case 6:
		ADD("/../../");
		ADD(target);
		break;
	default:
		ADD(target);
		break;
	}
#undef ADD
}

static void run_op(int root, unsigned op, unsigned sel, const uint8_t *c, size_t len)
{
	char path[512], target[1024];
	const char *last;
	int fd, ffd;

	if (vocab_path(sel, (op >> 3) & 7, path, sizeof(path)) < 0)
		return;
	switch (op & 7) {
	case 2:
		if (len >= sizeof(target))
			len = sizeof(target) - 1;
		memcpy(target, c, len);
		target[len] = '\0';
		break;
	case 3:
		make_link_target(path, c, len, target, sizeof(target));
		break;
	default:
		break;
	}
	fd = open_parent(root, path, &last);
	if (fd < 0)
		return;
	switch (op & 7) {
	case 0:
	case 6:
	case 5:
		ffd = openat(fd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (ffd < 0)
			break;
		if ((op & 7) == 5) {
			static const size_t sizes[] = { 65, 4097, (1u << 20) + 1, 4096, 64 };
			size_t want = sizes[(len ? c[0] : 0) % 5], done = 0;
			char buf[4096];

			for (size_t i = 0; i < sizeof(buf); i++)
				buf[i] = len > 1 ? (char)c[1 + i % (len - 1)] : '1';
			while (done < want) {
				size_t n = want - done < sizeof(buf) ? want - done : sizeof(buf);
				ssize_t w = write(ffd, buf, n);

				if (w <= 0)
					break;
				done += (size_t)w;
			}
		} else if (len && write(ffd, c, len) < 0) {
			/* nothing: the reader sees what is there */
		}
		close(ffd);
		break;
	case 1:
	case 7:
		mkdirat(fd, last, 0755);
		break;
	case 2:
	case 3:
		if (target[0])
			symlinkat(target, fd, last);
		break;
	case 4:
		mkfifoat(fd, last, 0644);
		break;
	}
	close(fd);
}

/* ------------------------------------------------------------------ checks */

static const char *host_root;   /* as the reader has it (no trailing '/') */
static size_t host_len;
static int host_fd = -1;

static bool in_host(const char *p)
{
	return p && strncmp(p, host_root, host_len) == 0 && (p[host_len] == '\0' || p[host_len] == '/');
}

/*
 * Walk canonical @canon from the host root without following any symlink;
 * the final inode in @st.  Also checks that @canon is canonical.
 */
static bool walk_canon(const char *canon, struct stat *st)
{
	int fd = dup(host_fd);
	const char *p = canon;

	CHECK(canon[0] == '/');
	CHECK(strcmp(canon, "/") == 0 || canon[strlen(canon) - 1] != '/');
	if (fd < 0)
		return false;
	if (fstat(fd, st) < 0) {
		close(fd);
		return false;
	}
	while (*p == '/' && p[1]) {
		size_t len = strcspn(p + 1, "/");
		char name[256];
		int nfd;

		CHECK(len > 0 && len < sizeof(name));
		memcpy(name, p + 1, len);
		name[len] = '\0';
		CHECK(strcmp(name, ".") != 0 && strcmp(name, "..") != 0);
		nfd = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		CHECK(nfd >= 0);
		fd = nfd;
		CHECK(fstat(fd, st) == 0);
		p += 1 + len;
		CHECK(!S_ISLNK(st->st_mode) || *p == '\0');
		CHECK(*p == '\0' || S_ISDIR(st->st_mode));
	}
	close(fd);
	return true;
}

/* Real path @real (host root prefixed) to its inode, checking all the above. */
static void walk_real(const char *real, struct stat *st)
{
	CHECK(in_host(real));
	CHECK(walk_canon(real[host_len] ? real + host_len : "/", st));
}

/* @real is the host root followed by canonical @canon ("/" is the host root itself). */
static bool real_matches(const char *real, const char *canon)
{
	return in_host(real) && (strcmp(real + host_len, canon) == 0 ||
				 (strcmp(canon, "/") == 0 && real[host_len] == '\0'));
}

/* Open canonical @canon (O_PATH) without following any symlink, or -1. */
static int open_canon(const char *canon)
{
	int fd = dup(host_fd);
	const char *p = canon;

	while (fd >= 0 && *p == '/' && p[1]) {
		size_t len = strcspn(p + 1, "/");
		char name[256];
		int nfd;

		if (len >= sizeof(name)) {
			close(fd);
			return -1;
		}
		memcpy(name, p + 1, len);
		name[len] = '\0';
		nfd = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = nfd;
		p += 1 + len;
	}
	return fd;
}

/* The type of @name in @dfd, not followed; 0 when absent. */
static mode_t type_at(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (st.st_mode & S_IFMT) : 0;
}

static bool backup_like(const char *n)
{
	size_t len = strlen(n);

	return (len >= 8 && strcmp(n + len - 8, ".rpmsave") == 0) ||
	       (len >= 7 && strcmp(n + len - 7, ".rpmnew") == 0) ||
	       (len >= 8 && strcmp(n + len - 8, ".rpmorig") == 0) || strstr(n, ".cfsaved") ||
	       (len && n[len - 1] == '~');
}


static bool want_guest_name(const char *n)
{
	return n[0] != '.' && !backup_like(n);
}

/*
 * A model of the simple cases, with no symlink involved: every real
 * directory entry of the configuration directory is a guest; a real
 * directory "vdir" is the vdir; without vdir and .defaults, a real
 * /vservers/NAME is; a plain "context" file "N\n" is context N; a real
 * apps/vunify directory is has_vunify.
 */
static void check_model(const struct va_config *c)
{
	int cfd = open_canon(c->cfgdir_canon), dfd;
	DIR *d;
	struct dirent *e;

	CHECK(cfd >= 0);
	dfd = openat(cfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0 && (d = fdopendir(dfd)));
	while ((e = readdir(d))) {
		bool found = false;

		if (!want_guest_name(e->d_name) || type_at(cfd, e->d_name) != S_IFDIR)
			continue;
		for (size_t i = 0; i < c->nguests && !found; i++)
			found = strcmp(c->guests[i].name, e->d_name) == 0;
		CHECK(found);
	}
	closedir(d);
	for (size_t i = 0; i < c->nguests; i++) {
		const struct va_guest *g = &c->guests[i];
		int gfd, vfd;
		char buf[16], canon[4096];
		ssize_t n;

		if (g->conf) {
			/* a legacy guest: NAME.conf, root /vservers/NAME */
			char conf[300];

			snprintf(conf, sizeof(conf), "%s.conf", g->name);
			CHECK(strcmp(g->vdir_from, "legacy") == 0);
			CHECK(!g->has_vunify && g->hash == -1 && g->nrefs == 0 && g->legacy);
			CHECK(type_at(cfd, g->name) != S_IFDIR || type_at(cfd, conf) != 0);
			continue;
		}
		CHECK(type_at(cfd, g->name) != 0);
		gfd = open_canon(g->cfgdir_canon);
		CHECK(gfd >= 0);
		if (type_at(gfd, "vdir") == S_IFDIR) {
			CHECK(strcmp(g->vdir_from, "vdir") == 0 && g->vdir_canon);
			snprintf(canon, sizeof(canon), "%s/vdir", g->cfgdir_canon);
			CHECK(strcmp(g->vdir_canon, canon) == 0);
		} else if (type_at(gfd, "vdir") == 0 && type_at(cfd, ".defaults") == 0) {
			CHECK(strcmp(g->vdir_from, "default") == 0);
			snprintf(canon, sizeof(canon), "/vservers/%s", g->name);
			vfd = open_canon(canon);
			if (vfd >= 0) {
				struct stat st;

				if (fstat(vfd, &st) == 0 && S_ISDIR(st.st_mode))
					CHECK(g->vdir_canon && strcmp(g->vdir_canon, canon) == 0);
				close(vfd);
			}
		}
		if (type_at(gfd, "context") == S_IFREG &&
		    (vfd = openat(gfd, "context", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			n = read(vfd, buf, sizeof(buf) - 1);
			close(vfd);
			if (n > 0 && n <= 10 && buf[n - 1] == '\n' && buf[0] >= '0' && buf[0] <= '9') {
				char *end;
				long v;

				buf[n] = '\0';
				v = strtol(buf, &end, 10);
				if (end == buf + n - 1)   /* "N\n" exactly */
					CHECK(g->context == v);
			}
		}
		vfd = openat(gfd, "apps", O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (vfd >= 0) {
			if (type_at(vfd, "vunify") == S_IFDIR)
				CHECK(g->has_vunify);
			close(vfd);
		}
		close(gfd);
	}
	close(cfd);
}

static void check_config(const struct va_config *c)
{
	struct stat st, st2;

	CHECK(c->host_root && strcmp(c->host_root, host_root) == 0);
	CHECK(c->cfgdir && c->cfgdir_canon);
	CHECK(real_matches(c->cfgdir, c->cfgdir_canon));
	walk_real(c->cfgdir, &st);
	CHECK(S_ISDIR(st.st_mode));
	CHECK(c->nguests == 0 || c->guests);

	for (size_t i = 0; i < c->nguests; i++) {
		const struct va_guest *g = &c->guests[i];

		CHECK(g->name && g->name[0] && g->name[0] != '.' && !strchr(g->name, '/'));
		CHECK(!backup_like(g->name));
		CHECK(i == 0 || strcmp(c->guests[i - 1].name, g->name) < 0);
		CHECK(g->cfgdir && g->cfgdir_canon && in_host(g->cfgdir));
		CHECK(real_matches(g->cfgdir, g->cfgdir_canon));
		walk_real(g->cfgdir, &st);
		CHECK((g->conf ? S_ISREG(st.st_mode) : S_ISDIR(st.st_mode)) &&
		      st.st_dev == g->cfgdir_dev && st.st_ino == g->cfgdir_ino);
		CHECK(g->context >= -2 && g->context <= 4294967295L);
		CHECK(g->vdir_from && (g->conf ? strcmp(g->vdir_from, "legacy") == 0 :
				       (strcmp(g->vdir_from, "vdir") == 0 ||
					strcmp(g->vdir_from, ".defaults/vdirbase") == 0 ||
					strcmp(g->vdir_from, "default") == 0)));
		CHECK(!g->conf || (g->lconf.nvars == 0) == !g->lconf.vars || g->lconf.vars);
		for (size_t k = 0; k < g->lconf.nvars; k++)
			CHECK(g->conf && g->lconf.vars[k].name[0] && g->lconf.vars[k].value &&
			      g->lconf.vars[k].line > 0);
		CHECK(!g->conf_ignored || (!g->conf && in_host(g->conf_ignored)));
		CHECK(!g->conf || g->context_line || g->context < 0);
		CHECK(!g->vdir == !g->vdir_canon);
		if (g->vdir) {
			long j = va_config_find_vdir(c, g->vdir_id.dev, g->vdir_id.ino);
			int fd;

			CHECK(!g->vdir_why);
			CHECK(real_matches(g->vdir, g->vdir_canon));
			CHECK(strcmp(g->vdir_canon, "/") != 0);
			walk_real(g->vdir, &st);
			CHECK(S_ISDIR(st.st_mode) && st.st_dev == g->vdir_id.dev &&
			      st.st_ino == g->vdir_id.ino);
			CHECK(j >= 0 && (size_t)j <= i && c->guests[j].vdir &&
			      c->guests[j].vdir_id.dev == g->vdir_id.dev &&
			      c->guests[j].vdir_id.ino == g->vdir_id.ino);
			fd = va_config_open_dir(c, g->vdir_canon);
			CHECK(fd >= 0);
			CHECK(fstat(fd, &st2) == 0 && st2.st_dev == st.st_dev && st2.st_ino == st.st_ino);
			close(fd);
		} else {
			CHECK(g->vdir_why);
		}
		CHECK(g->running == VA_RUN_UNKNOWN && !g->running_why);
		CHECK(g->cache || g->conf);
		CHECK(g->run_xid == -1 || g->run_xid > 0);
		CHECK(!g->vshelper_action || (g->vshelper_action[0] &&
					      !strpbrk(g->vshelper_action, " \t\n")));
		CHECK(g->nrefs == 0 || g->refs);
		for (size_t k = 0; k < g->nrefs; k++) {
			const struct va_refserver *r = &g->refs[k];

			CHECK(r->entry && strncmp(r->entry, "refserver.", 10) == 0);
			CHECK(k == 0 || strcmp(g->refs[k - 1].entry, r->entry) < 0);
			CHECK(r->cfgdir || r->why);
			CHECK(r->guest >= -1 && r->guest < (long)c->nguests);
			if (r->cfgdir) {
				walk_real(r->cfgdir, &st);
				CHECK(S_ISDIR(st.st_mode));
				for (size_t m = 0; m < c->nguests; m++)
					if (c->guests[m].cfgdir_dev == st.st_dev &&
					    c->guests[m].cfgdir_ino == st.st_ino)
						CHECK(r->guest >= 0);
				if (r->guest >= 0)
					CHECK(c->guests[r->guest].cfgdir_dev == st.st_dev &&
					      c->guests[r->guest].cfgdir_ino == st.st_ino);
			} else {
				CHECK(r->guest == -1);
			}
		}
		if (g->exclude_file) {
			walk_real(g->exclude_file, &st);
			CHECK(S_ISREG(st.st_mode));
		}
		CHECK(g->hash >= -1 && g->hash < (long)c->nhashdirs);
	}

	for (size_t i = 0; i < c->nhashdirs; i++) {
		const struct va_hash_dir *h = &c->hashdirs[i];
		bool used = false;

		CHECK(h->path);
		walk_real(h->path, &st);
		CHECK(S_ISDIR(st.st_mode));
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(c->hashdirs[k].path, h->path) != 0);
		for (size_t k = 0; k < c->nguests; k++)
			used |= c->guests[k].hash == (long)i;
		CHECK(used);
		CHECK(!h->method_valid || h->method);
		CHECK(h->nentries == 0 || h->entries);
		for (size_t k = 0; k < h->nentries; k++) {
			const struct va_hash_entry *e = &h->entries[k];

			CHECK(e->name && e->name[0] != '.' && strcmp(e->name, "method") != 0);
			CHECK(k == 0 || strcmp(h->entries[k - 1].name, e->name) < 0);
			CHECK(!e->duplicate || e->path);
			if (e->path) {
				walk_real(e->path, &st);
				CHECK(S_ISDIR(st.st_mode) && st.st_dev == e->id.dev &&
				      st.st_ino == e->id.ino);
			}
		}
	}

	for (size_t i = 0; i < c->nproblems; i++) {
		const struct va_config_problem *p = &c->problems[i];

		CHECK((unsigned)p->kind < VA_KIND_COUNT);
		CHECK(p->kind == VA_KIND_CONFIG_INVALID || p->kind == VA_KIND_CONFIG_EXCLUDE_QUIRK ||
		      (p->kind == VA_KIND_CONFIG_FSTAB_INVALID && p->line >= 1));
		CHECK(p->guest >= -1 && p->guest < (long)c->nguests);
		CHECK(p->path && in_host(p->path) && p->detail && p->detail[0]);
		/* reading a file never meets a bad fd: "context -> ." must say "Is a directory" */
		CHECK(!strstr(p->detail, strerror(EBADF)));
	}
	/* "." and ".." are not vshelper methods, though they exist */
	for (size_t i = 0; i < c->nguests; i++)
		if (c->guests[i].vshelper_action_known)
			CHECK(strcmp(c->guests[i].vshelper_action, ".") != 0 &&
			      strcmp(c->guests[i].vshelper_action, "..") != 0);
	check_model(c);

	CHECK(va_config_find_vdir(c, 0, 0) == -1);
	{
		char **roots;
		long n = va_config_roots(c, &roots);

		CHECK(n >= 0 && roots && (size_t)n <= c->nguests && !roots[n]);
		for (long k = 0; k < n; k++) {
			bool parent_of_some = false;

			walk_real(roots[k], &st);
			CHECK(S_ISDIR(st.st_mode));
			for (long m = 0; m < k; m++)
				CHECK(strcmp(roots[m], roots[k]) != 0);
			for (size_t m = 0; m < c->nguests; m++) {
				const char *v = c->guests[m].vdir;
				size_t rl = strlen(roots[k]);

				if (v && strncmp(v, roots[k], rl) == 0 && v[rl] == '/' &&
				    !strchr(v + rl + 1, '/'))
					parent_of_some = true;
			}
			CHECK(parent_of_some);
		}
		for (size_t m = 0; m < c->nguests; m++) {
			const char *v = c->guests[m].vdir;
			bool found = false;

			if (!v)
				continue;
			for (long k = 0; k < n && !found; k++) {
				size_t rl = strlen(roots[k]);

				found = strncmp(v, roots[k], rl) == 0 && v[rl] == '/' &&
					!strchr(v + rl + 1, '/');
			}
			CHECK(found);
		}
		for (long k = 0; k < n; k++)
			free(roots[k]);
		free(roots);
	}
}

/* Two reads of the same tree give the same configuration. */
static int strcmp_null(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) : a != b;
}

static void check_same(const struct va_config *a, const struct va_config *b)
{
	CHECK(strcmp(a->cfgdir, b->cfgdir) == 0);
	CHECK(a->nguests == b->nguests && a->nhashdirs == b->nhashdirs &&
	      a->nproblems == b->nproblems);
	for (size_t i = 0; i < a->nguests; i++) {
		const struct va_guest *x = &a->guests[i], *y = &b->guests[i];

		CHECK(strcmp(x->name, y->name) == 0);
		CHECK(strcmp_null(x->vdir, y->vdir) == 0 && strcmp_null(x->vdir_why, y->vdir_why) == 0);
		CHECK(x->context == y->context && x->hash == y->hash && x->nrefs == y->nrefs);
		CHECK(x->disabled == y->disabled && x->nonamespace == y->nonamespace &&
		      x->has_vunify == y->has_vunify && x->pkgmgmt == y->pkgmgmt);
		CHECK(strcmp_null(x->exclude_file, y->exclude_file) == 0);
		CHECK(x->exclude.nrules == y->exclude.nrules);
		for (size_t k = 0; k < x->nrefs; k++)
			CHECK(strcmp_null(x->refs[k].cfgdir, y->refs[k].cfgdir) == 0 &&
			      x->refs[k].guest == y->refs[k].guest);
	}
	for (size_t i = 0; i < a->nproblems; i++)
		CHECK(a->problems[i].kind == b->problems[i].kind &&
		      strcmp(a->problems[i].path, b->problems[i].path) == 0 &&
		      strcmp(a->problems[i].detail, b->problems[i].detail) == 0);
}

struct hook_state {
	const struct va_config *c;
	unsigned long calls, vdir_missing;
	unsigned long stop_at;          /* 0: never */
	bool stopped;
	bool hash_phase;
};

#define STOP_ERR (-4242)

static int on_finding(const struct va_finding *f, void *user)
{
	struct hook_state *hs = user;
	const struct va_config *c = hs->c;

	CHECK(!hs->stopped);
	hs->calls++;
	CHECK((unsigned)f->kind < VA_KIND_COUNT && va_kind_name(f->kind));
	CHECK((unsigned)f->severity < VA_SEV_COUNT);
	CHECK(f->kind != VA_KIND_GUEST_RUNNING);       /* offline copy: never known */
	CHECK(f->where.path && f->where.path_len == strlen(f->where.path));
	CHECK(in_host(f->where.path));
	CHECK(f->detail && f->detail[0]);
	CHECK(f->root && in_host(f->root));
	if (hs->hash_phase) {
		CHECK(f->kind == VA_KIND_HASH_UNPROTECTED);
	} else {
		CHECK(f->kind >= VA_KIND_CONFIG_INVALID);
		CHECK(strcmp(f->root, c->cfgdir) == 0);
		CHECK(f->flags_known == 0);
	}
	if (f->where.guest) {
		bool ok = false;

		for (size_t i = 0; i < c->nguests; i++)
			ok |= f->where.guest == c->guests[i].name;
		CHECK(ok && f->where.guest_len == strlen(f->where.guest));
	}
	if (f->kind == VA_KIND_CONFIG_FSTAB_INVALID || f->kind == VA_KIND_CONFIG_FSTAB_UNSAFE) {
		/* a line of an fstab file (its real path: links followed) */
		CHECK(f->line >= 1);
	}
	if (f->kind == VA_KIND_CONFIG_VDIR_MISSING) {
		hs->vdir_missing++;
		CHECK(f->where.guest);
	}
	if (hs->stop_at && hs->calls == hs->stop_at) {
		hs->stopped = true;
		return STOP_ERR;
	}
	return 0;
}

static void on_error(const char *path, size_t path_len, const char *op, int err, void *user)
{
	(void)user;
	(void)err;
	CHECK(path && op);
	CHECK(path_len == strlen(path) && in_host(path));
}

static struct va_backend *backend(void)
{
	static struct va_backend *be;
	static bool tried;

	if (!tried) {
		tried = true;
		if (va_backend_live_new(&be, 0) < 0)
			be = NULL;
	}
	return be;
}

static void audit(const struct va_config *c, unsigned opts)
{
	struct hook_state hs = { .c = c, .stop_at = (opts >> 5) & 7 };
	struct va_audit_args args = {
		.kinds = VA_AUDIT_ALL_KINDS,
		.backend = (opts & 0x10) ? NULL : backend(),
		.hooks = { .finding = on_finding, .error = on_error, .user = &hs },
		.config = c,
	};
	struct va_audit_stats stats;
	uint64_t sum = 0;
	size_t missing = 0;
	int r;

	memset(&stats, 0, sizeof(stats));
	r = va_audit_config(&args, &stats);
	CHECK(r == 0 || (r == STOP_ERR && hs.stopped));
	CHECK(hs.stopped == (r == STOP_ERR));
	CHECK(stats.findings == hs.calls && stats.problems <= stats.findings);
	for (unsigned k = 0; k < VA_KIND_COUNT; k++)
		sum += stats.by_kind[k];
	CHECK(sum == stats.findings);
	for (size_t i = 0; i < c->nguests; i++)
		missing += !c->guests[i].vdir;
	if (r == 0) {
		CHECK(hs.vdir_missing == missing);
		size_t fstab_problems = 0;

		for (size_t i = 0; i < c->nproblems; i++)
			fstab_problems += c->problems[i].kind == VA_KIND_CONFIG_FSTAB_INVALID;
		CHECK(stats.by_kind[VA_KIND_CONFIG_INVALID] + stats.by_kind[VA_KIND_CONFIG_EXCLUDE_QUIRK] +
		      fstab_problems == c->nproblems);
		CHECK(stats.by_kind[VA_KIND_CONFIG_FSTAB_INVALID] >= fstab_problems);
	}
	if (r == 0 && args.backend) {
		unsigned long before = hs.calls;

		hs.hash_phase = true;
		r = va_audit_hash_stores(&args, &stats);
		CHECK(r == 0 || (r == STOP_ERR && hs.stopped));
		CHECK(stats.by_kind[VA_KIND_HASH_UNPROTECTED] == hs.calls - before);
	}
}

/* ------------------------------------------------------------------ seeds */

struct sb {
	uint8_t buf[1024];
	size_t len;
};

/* Vocabulary index of a path template (by its pre and suf). */
static unsigned V(const char *pre, const char *suf)
{
	for (unsigned i = 0; i < NVOCAB; i++)
		if (strcmp(vocab[i].pre, pre) == 0 &&
		    (suf ? vocab[i].suf && strcmp(vocab[i].suf, suf) == 0 : !vocab[i].suf))
			return i;
	abort();
}

static void rec(struct sb *s, unsigned op, unsigned g, unsigned sel, const void *content,
		size_t len)
{
	if (s->len + 3 + len > sizeof(s->buf))
		abort();
	s->buf[s->len++] = (uint8_t)(op | g << 3);
	s->buf[s->len++] = (uint8_t)sel;
	s->buf[s->len++] = (uint8_t)len;
	if (len)
		memcpy(s->buf + s->len, content, len);
	s->len += len;
}

#define G(suf) V("etc/vservers/", suf)
#define FILE_(s, g, sel, str) rec(s, 0, g, sel, str, strlen(str))
#define DIR_(s, g, sel) rec(s, 1, g, sel, NULL, 0)
#define LINK_(s, g, sel, str) rec(s, 2, g, sel, str, strlen(str))

/* A symlink to vocabulary path @t (guest @tg) in form @form. */
static void vlink(struct sb *s, unsigned g, unsigned sel, unsigned t, unsigned tg, unsigned form)
{
	uint8_t c[2] = { (uint8_t)t, (uint8_t)(form | tg << 3) };

	rec(s, 3, g, sel, c, 2);
}

static size_t make_seed(unsigned i, uint8_t *out, size_t cap)
{
	struct sb s = { .len = 0 };
	static const char excl[] = "/etc/\n~/etc/shadow\n/var/log/ \n#c\n+/usr/\n\n/tmp/*\n/a\\\n";

	switch (i) {
	case 0:         /* two guests, a hash store, refservers both ways */
		s.buf[s.len++] = 0x00;
		for (unsigned g = 0; g < 2; g++) {
			DIR_(&s, g, V("vservers/", ""));
			vlink(&s, g, G("/vdir"), V("vservers/", ""), g, 0);
			FILE_(&s, g, G("/context"), g ? "43\n" : "42\n");
			FILE_(&s, g, G("/name"), "guest\n");
			DIR_(&s, g, G("/apps/vunify"));
			FILE_(&s, g, G("/apps/vshelper/action"), g ? "halt\n" : " sync x\n");
			FILE_(&s, g, G("/apps/vunify/hash/method"), "SHA-1\n");
			vlink(&s, g, G("/apps/vunify/hash/00"), V("vservers/.hash", NULL), 0, 1);
		}
		vlink(&s, 0, G("/apps/vunify/refserver.1"), G(""), 1, 1);
		vlink(&s, 1, G("/apps/vunify/refserver.1"), G(""), 0, 4);
		FILE_(&s, 0, V("vservers/.hash/aa/f", NULL), "x");
		FILE_(&s, 0, V("etc/vservers/.defaults/apps/vshelper-methods/halt", NULL), "");
		break;
	case 1:         /* .defaults everywhere */
		s.buf[s.len++] = 0x00;
		vlink(&s, 0, V("etc/vservers/.defaults/vdirbase", NULL), V("srv", NULL), 0, 1);
		for (unsigned g = 0; g < 3; g++) {
			DIR_(&s, g, G(""));
			DIR_(&s, g, V("srv/", ""));
			FILE_(&s, g, G("/context"), "49152");
		}
		FILE_(&s, 0, V("etc/vservers/.defaults/nonamespace", NULL), "");
		FILE_(&s, 1, G("/namespace"), "");
		FILE_(&s, 0, V("etc/vservers/.defaults/apps/vunify/exclude", NULL), excl);
		FILE_(&s, 0, V("etc/vservers/.defaults/apps/vunify/hash/method", NULL), "md4");
		vlink(&s, 0, V("etc/vservers/.defaults/apps/vunify/hash/00", NULL),
		      V("vservers/.hash", NULL), 0, 0);
		DIR_(&s, 0, V("vservers/.hash/aa", NULL));
		DIR_(&s, 2, G("/apps/vunify"));
		FILE_(&s, 0, V("etc/vservers/.defaults/cachebase", NULL), "");
		FILE_(&s, 0, V("etc/vservers/.defaults/apps/vshelper/disabled", NULL), "");
		break;
	case 2:         /* loops, escapes, cycles, bad files */
		s.buf[s.len++] = 0x08;
		DIR_(&s, 0, G("/apps/vunify"));
		DIR_(&s, 1, G("/apps/vunify"));
		FILE_(&s, 0, G("/vdir"), "");
		vlink(&s, 1, G("/vdir"), 0, 1, 5);                       /* itself */
		vlink(&s, 2, G("/vdir"), V("vservers/", ""), 2, 2);      /* one .. too many */
		LINK_(&s, 3, G("/vdir"), "/../../../../etc");
		DIR_(&s, 3, G("/apps/vunify"));
		vlink(&s, 0, G("/apps/vunify/refserver.1"), G(""), 1, 1);
		vlink(&s, 1, G("/apps/vunify/refserver.2"), G(""), 0, 0);
		vlink(&s, 0, G("/apps/vunify/refserver.10"), G(""), 0, 3);
		LINK_(&s, 1, G("/apps/vunify/refserver.10"), "nowhere");
		FILE_(&s, 0, G("/context"), "1");
		FILE_(&s, 1, G("/context"), "1\n");
		rec(&s, 4, 2, G("/context"), NULL, 0);                    /* FIFO */
		rec(&s, 5, 3, G("/name"), "\1", 1);                       /* 4097 bytes */
		rec(&s, 0, 0, G("/apps/init/mark"), "a\0b", 3);
		vlink(&s, 0, G("/run"), V("var/run/vservers/", ""), 0, 0);
		FILE_(&s, 0, V("var/run/vservers/", ""), "123\n");
		LINK_(&s, 4, G("/vdir"), "/");
		DIR_(&s, 4, G(""));
		LINK_(&s, 1, G("/cache"), "/var/cache/x");
		FILE_(&s, 0, G("/disabled"), "");
		vlink(&s, 0, V("vservers", NULL), V("srv", NULL), 0, 7);
		break;
	case 3:         /* hostile guest names and entries */
		s.buf[s.len++] = 0x20;
		for (unsigned g = 0; g < 8; g++) {
			DIR_(&s, g, G(""));
			DIR_(&s, g, V("vservers/", ""));
		}
		LINK_(&s, 0, G(".~1~"), "g2");
		vlink(&s, 4, G("/apps/vunify/hash"), V("etc/vservers/.defaults/apps/vunify/hash", NULL),
		      0, 0);
		DIR_(&s, 0, V("etc/vservers/.defaults/apps/vunify/hash", NULL));
		FILE_(&s, 4, G("/apps/vunify/hash/01"), "");
		DIR_(&s, 4, G("/apps/vunify/hash/.x"));
		FILE_(&s, 5, G("/apps/vshelper/action"), "..");
		FILE_(&s, 3, G("/context"), "  7");
		FILE_(&s, 3, G("/apps/vunify/exclude"), "\xff\n-/x\n");
		break;
	case 5:         /* legacy NAME.conf guests beside directory guests */
		s.buf[s.len++] = 0x00;
		FILE_(&s, 0, V("etc/vservers/", ".conf"),
		      "if [ \"$PROFILE\" = \"\" ] ; then\n\tPROFILE=prod\nfi\ncase $PROFILE in\n"
		      "prod)\n\tIPROOT=\"1.2.3.4 eth1:5.6.7.8\"\n\tS_HOSTNAME=a\n\t;;\n"
		      "backup)\n\tIPROOT=1.2.3.4\n\t;;\nesac\nONBOOT=yes\nS_FLAGS=\"lock nproc\"\n"
		      "export S_CONTEXT=42 # c\n");
		DIR_(&s, 0, V("vservers/", ""));
		FILE_(&s, 1, V("etc/vservers/", ".conf"),
		      "S_CONTEXT='42'\nS_CAPS=\"CAP_NET_RAW \\\"x\\\"\" ; echo hi\nA=$B\n"
		      "case x in\nesac\nif true; then\nfi\nS_NICE=`id`\n");
		DIR_(&s, 2, G(""));
		FILE_(&s, 2, G("/context"), "42\n");
		DIR_(&s, 2, V("vservers/", ""));
		vlink(&s, 2, G("/vdir"), V("vservers/", ""), 2, 0);
		FILE_(&s, 2, V("etc/vservers/", ".conf"), "S_CONTEXT=7\n");
		DIR_(&s, 3, G(""));
		FILE_(&s, 3, G("/legacy"), "");
		FILE_(&s, 3, V("etc/vservers/", ".conf"), "S_CONTEXT=x\\\n9\nIPROOT='unterminated\n");
		FILE_(&s, 0, V("var/run/vservers/", ".ctx"), "S_CONTEXT=42\nS_PROFILE=backup\n");
		break;
	case 6:         /* fstab files: binds of other guests' trees, secrets, escapes, cycles */
		s.buf[s.len++] = 0x00;
		for (unsigned g = 0; g < 3; g++) {
			DIR_(&s, g, V("vservers/", ""));
			vlink(&s, g, G("/vdir"), V("vservers/", ""), g, 0);
		}
		FILE_(&s, 2, V("vservers/", "/etc/shadow"), "secret\n");
		FILE_(&s, 0, G("/fstab"),
		      "none /proc proc defaults 0 0\n/vservers/g3 /mnt none bind\n"
		      "none /a\\040b tmpfs rw,,x\nnone /x\n/srv /srv none rbind\n"
		      "/vservers/g3/etc /etc none bind\nnone /mnt/x tmpfz defaults\n");
		FILE_(&s, 1, G("/fstab"),
		      "/srv /srv none bind\nnone /../.. tmpfs defaults\n/vservers/g2/x /y none bind\n"
		      "/vservers/g2/y/z /x none bind\nnone /y/q tmpfs defaults\n");
		FILE_(&s, 1, G("/fstab.remote"), "/nowhere /srv none bind,ro\n\\ / none bind");
		FILE_(&s, 0, V("etc/vservers/.defaults/fstab", NULL),
		      "none /tmp tmpfs\n/vservers /v none bind\n");
		break;
	default:        /* /vservers a link, cfgdir through it, links out of the host */
		s.buf[s.len++] = 0xe7;
		for (unsigned g = 0; g < 3; g++)
			DIR_(&s, g, G(""));
		vlink(&s, 0, V("vservers", NULL), V("srv", NULL), 0, 7);
		DIR_(&s, 0, V("srv/", ""));
		vlink(&s, 1, V("srv/", ""), V("vservers/", ""), 1, 6);
		vlink(&s, 2, G("/vdir"), V("vservers/", ""), 2, 3);
		vlink(&s, 0, G("/apps/vunify"), G("/apps/vunify"), 1, 1);
		DIR_(&s, 1, G("/apps/vunify/hash"));
		LINK_(&s, 1, G("/apps/vunify/hash/00"), "/");
		vlink(&s, 1, G("/apps/vunify/hash/01"), V("srv/", ""), 0, 0);
		DIR_(&s, 0, V("d/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/", ""));
		vlink(&s, 0, G("/vdir"), V("d/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17/", ""), 0, 1);
		break;
	}
	if (s.len > cap)
		abort();
	memcpy(out, s.buf, s.len);
	return s.len;
}

#define NSEEDS 7

/* FUZZ_CONFIG_WRITE_SEEDS=DIR: write the seeds there and exit. */
__attribute__((constructor)) static void write_seeds(void)
{
	const char *dir = getenv("FUZZ_CONFIG_WRITE_SEEDS");

	if (!dir || !*dir)
		return;
	for (unsigned i = 0; i < NSEEDS; i++) {
		uint8_t buf[1024];
		size_t len = make_seed(i, buf, sizeof(buf));
		char *path;
		FILE *fp;

		if (asprintf(&path, "%s/seed-%u", dir, i) < 0 || !(fp = fopen(path, "wb")) ||
		    fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
			perror("fuzz-config: writing seeds");
			exit(1);
		}
		free(path);
	}
	exit(0);
}

/* ------------------------------------------------------------------ the target */

struct lp_state {
	unsigned lines, calls, stop_at;
};

static int on_lp(unsigned line, const char *msg, void *user)
{
	struct lp_state *st = user;

	CHECK(line >= 1 && line <= st->lines && msg && msg[0] && !strchr(msg, '\n'));
	CHECK(++st->calls <= VA_LEGACY_MAX_PROBLEMS + 1);
	return st->stop_at && st->calls == st->stop_at ? STOP_ERR : 0;
}

/* The NAME.conf parser on the raw input: sane variables, lines in range, the same twice. */
static void check_legacy_parser(const uint8_t *data, size_t size)
{
	struct va_legacy a = { 0 }, b = { 0 };
	struct lp_state st = { .lines = 1 }, st2;
	int r;

	for (size_t i = 0; i < size; i++)
		st.lines += data[i] == '\n';
	st2 = st;
	r = va_legacy_parse((const char *)data, size, size ? "prod" : NULL, &a, on_lp, &st);
	CHECK(r == 0);
	for (size_t i = 0; i < a.nvars; i++) {
		const char *n = a.vars[i].name;

		CHECK(n && ((n[0] >= 'A' && n[0] <= 'Z') || (n[0] >= 'a' && n[0] <= 'z') || n[0] == '_'));
		CHECK(strspn(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
		      strlen(n));
		CHECK(a.vars[i].value && a.vars[i].line >= 1 && a.vars[i].line <= st.lines);
		CHECK(va_legacy_get(&a, n) == &a.vars[i]);
		for (size_t k = 0; k < i; k++)
			CHECK(strcmp(a.vars[k].name, n) != 0);
	}
	/* a callback that stops: its value comes back, nothing after it */
	st2.stop_at = st.calls ? 1 : 0;
	r = va_legacy_parse((const char *)data, size, size ? "prod" : NULL, &b, on_lp, &st2);
	CHECK(st.calls ? (r == STOP_ERR && st2.calls == 1) : r == 0);
	if (!st.calls) {
		CHECK(a.nvars == b.nvars);
		for (size_t i = 0; i < a.nvars; i++)
			CHECK(strcmp(a.vars[i].name, b.vars[i].name) == 0 &&
			      strcmp(a.vars[i].value, b.vars[i].value) == 0 &&
			      a.vars[i].line == b.vars[i].line);
	}
	va_legacy_release(&a);
	va_legacy_release(&b);
}

static void one(const uint8_t *data, size_t size)
{
	static const char *const cfgdirs[8] = {
		NULL, NULL, NULL, NULL, NULL, "/etc/vservers/", "etc/./vservers",
		"/vservers/../etc/vservers",
	};
	struct va_config *c = NULL, *c2 = NULL;
	struct va_config_opts o = { 0 };
	unsigned opts = size ? data[0] : 0;
	char *hr = NULL;
	struct va_error err = VA_ERROR_INIT;
	int root, r, probe;
	size_t pos = 1, nops = 0;

	check_legacy_parser(data, size);
	setup();
	backend();
	probe = dup(2);         /* the lowest free fd: the same afterwards, or an fd leaked */
	if (probe >= 0)
		close(probe);
	if (mkdir(host, 0755) < 0)
		abort();
	root = open(host, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0)
		abort();
	while (pos + 3 <= size && nops++ < MAX_OPS) {
		unsigned op = data[pos], sel = data[pos + 1];
		size_t len = data[pos + 2];

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		run_op(root, op, sel, data + pos, len);
		pos += len;
	}

	host_root = host;
	host_len = strlen(host);
	host_fd = root;
	if (asprintf(&hr, "%s%s", host, (opts & 8) ? "//" : "") < 0)
		abort();
	o.host_root = hr;
	o.cfgdir = cfgdirs[opts & 7];
	r = va_config_load(&c, &o, &err);
	CHECK(r <= 0 && (r == 0) == (c != NULL));
	CHECK(r != -ENOMEM);
	if (c) {
		check_config(c);
		r = va_config_load(&c2, &o, &err);
		CHECK(r == 0 && c2);
		check_same(c, c2);
		va_config_free(c2);
		audit(c, opts);
		va_config_free(c);
	} else {
		CHECK(r == -ENOENT || r == -ENOTDIR || r == -ELOOP || r == -EXDEV);
		CHECK(va_error_is_set(&err));
	}
	va_error_release(&err);
	free(hr);
	close(root);
	host_fd = -1;
	cleanup();
	r = dup(2);
	if (r >= 0)
		close(r);
	CHECK(r == probe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool seeded;

	if (!seeded) {
		seeded = true;
		for (unsigned i = 0; i < NSEEDS; i++) {
			uint8_t buf[1024];
			size_t len = make_seed(i, buf, sizeof(buf));

			one(buf, len);
		}
	}
	one(data, size);
	return 0;
}
