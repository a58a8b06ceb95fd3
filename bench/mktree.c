/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mktree.c - build a synthetic Linux-VServer host tree for bench-audit.sh.
 *
 * Not part of vaudit: a stand-alone generator, compiled by the benchmark
 * script with the system compiler.  It builds ROOT/GUEST/... for several
 * guests that share one "distribution": a deterministic, Debian-like
 * template (merged /usr, usr/bin, usr/lib/x86_64-linux-gnu, usr/share/doc,
 * man pages, locales, python and perl modules, etc, var/lib/dpkg/info, ...)
 * created in every guest, plus a few private files per guest.
 *
 * About 1% of the template's regular files (all under usr/) are put in the
 * Linux-VServer 2.4 "unified" state: one inode hard-linked into every guest
 * and flagged like `chattr +t` then `chattr +i` (ext2 0x8000, then 0x10).
 * A few private files per guest get 0x8000 only (`chattr +t`).
 *
 * Regular files get their size with ftruncate() (no data blocks): the audit
 * only looks at metadata, and this keeps generation fast (300k entries in a
 * few seconds on ext4).
 *
 * Usage: mktree [-n ENTRIES] [-g GUESTS] [-s SEED] [-u PERMILLE] [-t COUNT]
 *               [-m MANIFEST] ROOT
 *   -n  total entries below ROOT to reach at least (default 300000)
 *   -g  number of guests (default 6)
 *   -s  random seed (default 1)
 *   -u  unified files, per mille of the template's regular files (default 10)
 *   -t  private +t-only files per guest (default 3)
 *   -m  write the relative paths of flagged inodes to MANIFEST
 *       ("iunlink PATH" once per unified inode, "notail PATH")
 * ROOT must exist and be empty.  Prints key=value statistics on stdout.
 *
 * Must run as root (CAP_LINUX_IMMUTABLE) on a file system that supports
 * FS_IOC_SETFLAGS (ext2/3/4).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

enum { T_DIR = 'd', T_FILE = 'f', T_LINK = 'l' };
enum { N_UNIFIED = 1, N_NOTAIL = 2 };

struct node {
	char *name;
	char *target;           /* symlink target */
	char *g0path;           /* unified: path of the first name (guest 0) */
	struct node *child, *tail, *next;
	off_t size;
	mode_t mode;
	unsigned char type;
	unsigned char flags;
};

static const char *prog = "mktree";

static void die(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (e)
		fprintf(stderr, ": %s", strerror(e));
	fputc('\n', stderr);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n);

	if (!p) {
		errno = ENOMEM;
		die("out of memory");
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xmalloc(n), s, n);
}

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die("out of memory");
	va_end(ap);
	return s;
}

/* ------------------------------------------------------------ randomness */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	/* xorshift64* */
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void rng_seed(uint64_t seed)
{
	rng_state = (seed + 1) * 0x9e3779b97f4a7c15ULL;
	if (!rng_state)
		rng_state = 1;
	for (int i = 0; i < 8; i++)
		rnd();
}

/* uniform in [0, n) */
static unsigned rn(unsigned n)
{
	return n ? (unsigned)(rnd() % n) : 0;
}

/* true with probability pct/100 */
static bool pct(unsigned p)
{
	return rn(100) < p;
}

/* A file size: mostly small, some large (log-uniform-ish). */
static off_t rsize(void)
{
	unsigned r = rn(100);

	if (r < 10)
		return 0;
	if (r < 70)
		return 16 + rn(4000);
	if (r < 95)
		return 4096 + rn(60000);
	return 65536 + rn(4u << 20);
}

static const char *const syl[] = {
	"ba", "ce", "di", "fo", "gu", "ha", "ke", "li", "mo", "nu", "pa", "re",
	"si", "to", "vu", "xa", "ze", "lo", "ri", "ma", "ne", "ti", "so", "ga",
	"bi", "co", "du", "fe", "go", "hi", "ka", "lu",
};
#define NSYL (sizeof(syl) / sizeof(syl[0]))

/* A pronounceable word unique for @i (the syllables spell @i in base 32). */
static char *word(unsigned i, unsigned min_syl)
{
	char buf[64] = "";
	unsigned n = 0;

	do {
		strcat(buf, syl[i % NSYL]);
		i /= NSYL;
		n++;
	} while (i || n < min_syl);
	return xstrdup(buf);
}

/* ------------------------------------------------------------ the template */

static struct node *troot;
static size_t t_entries, t_files, t_dirs, t_links;

static struct node *new_node(struct node *parent, char *name, int type, mode_t mode)
{
	struct node *n = xmalloc(sizeof(*n));

	n->name = name;
	n->type = type;
	n->mode = mode;
	if (parent) {
		if (parent->tail)
			parent->tail->next = n;
		else
			parent->child = n;
		parent->tail = n;
	}
	return n;
}

static struct node *find_child(struct node *dir, const char *name)
{
	for (struct node *c = dir->child; c; c = c->next)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

/*
 * Directory index: the template's directories by path, so adding a file to
 * "usr/share/doc/x" does not scan usr/share/doc's children every time.
 */
struct dent {
	char *path;
	struct node *node;
};
static struct dent *dtab;
static size_t dtab_cap, dtab_n;

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static void dtab_put(const char *path, struct node *n);

static void dtab_grow(void)
{
	struct dent *old = dtab;
	size_t oldcap = dtab_cap;

	dtab_cap = dtab_cap ? dtab_cap * 2 : 4096;
	dtab = xmalloc(dtab_cap * sizeof(*dtab));
	dtab_n = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].path)
			dtab_put(old[i].path, old[i].node);
	free(old);
}

static void dtab_put(const char *path, struct node *n)
{
	if ((dtab_n + 1) * 2 > dtab_cap)
		dtab_grow();
	size_t i = hash_str(path) & (dtab_cap - 1);
	while (dtab[i].path)
		i = (i + 1) & (dtab_cap - 1);
	dtab[i].path = (char *)path;
	dtab[i].node = n;
	dtab_n++;
}

static struct node *dtab_get(const char *path)
{
	if (!dtab_cap)
		return NULL;
	size_t i = hash_str(path) & (dtab_cap - 1);
	while (dtab[i].path) {
		if (!strcmp(dtab[i].path, path))
			return dtab[i].node;
		i = (i + 1) & (dtab_cap - 1);
	}
	return NULL;
}

/* mkdir -p in the template; returns the directory node. */
static struct node *tdir(const char *path)
{
	if (!*path)
		return troot;
	struct node *n = dtab_get(path);

	if (n)
		return n;
	const char *slash = strrchr(path, '/');
	struct node *parent;
	const char *base;

	if (slash) {
		char *pp = strndup(path, slash - path);
		parent = tdir(pp);
		free(pp);
		base = slash + 1;
	} else {
		parent = troot;
		base = path;
	}
	n = find_child(parent, base);
	if (n) {
		if (n->type != T_DIR) {
			errno = EEXIST;
			die("template: %s is not a directory", path);
		}
	} else {
		n = new_node(parent, xstrdup(base), T_DIR, 0755);
		t_entries++;
		t_dirs++;
	}
	dtab_put(xstrdup(path), n);
	return n;
}

static struct node *tfile_in(struct node *d, char *name, mode_t mode, off_t size)
{
	struct node *n = new_node(d, name, T_FILE, mode);

	n->size = size;
	t_entries++;
	t_files++;
	return n;
}

static struct node *tfile(const char *dir, char *name, mode_t mode)
{
	return tfile_in(tdir(dir), name, mode, rsize());
}

static struct node *tlink(const char *dir, char *name, char *target)
{
	struct node *n = new_node(tdir(dir), name, T_LINK, 0777);

	n->target = target;
	t_entries++;
	t_links++;
	return n;
}

static struct node *tsubdir(struct node *d, char *name)
{
	t_entries++;
	t_dirs++;
	return new_node(d, name, T_DIR, 0755);
}

/* A random subtree below @d: files with suffix @ext, fan-out like real data dirs. */
static void rtree(struct node *d, int depth, const char *ext, unsigned *budget)
{
	unsigned nf = 1 + rn(4) + (pct(30) ? rn(20) : 0) + (pct(5) ? rn(80) : 0);
	unsigned nd = depth >= 4 ? 0 : (pct(45) ? 1 + rn(depth ? 3 : 6) : 0);

	for (unsigned i = 0; i < nf && *budget; i++, (*budget)--)
		tfile_in(d, xasprintf("%s%u%s", syl[rn(NSYL)], i, ext), 0644, rsize());
	for (unsigned i = 0; i < nd && *budget; i++, (*budget)--)
		rtree(tsubdir(d, xasprintf("%s%s%u", syl[rn(NSYL)], syl[rn(NSYL)], i)),
		      depth + 1, ext, budget);
}

static const char *const langs[] = {
	"af", "am", "ar", "ast", "be", "bg", "bn", "bs", "ca", "cs", "cy", "da",
	"de", "el", "en_GB", "eo", "es", "et", "eu", "fa", "fi", "fr", "ga", "gl",
	"gu", "he", "hi", "hr", "hu", "id", "is", "it", "ja", "ka", "kk", "km",
	"kn", "ko", "ku", "lt", "lv", "mk", "ml", "mr", "ms", "nb", "ne", "nl",
	"nn", "oc", "pa", "pl", "pt", "pt_BR", "ro", "ru", "si", "sk", "sl", "sq",
	"sr", "sv", "ta", "te", "th", "tr", "ug", "uk", "vi", "zh_CN", "zh_TW",
};
#define NLANGS (sizeof(langs) / sizeof(langs[0]))

static void base_system(void)
{
	static const char *const dirs[] = {
		"boot", "dev", "etc", "home", "media", "mnt", "opt", "proc", "root",
		"run", "srv", "sys", "tmp", "usr/bin", "usr/sbin", "usr/games",
		"usr/include", "usr/lib/x86_64-linux-gnu", "usr/lib64", "usr/libexec",
		"usr/local/bin", "usr/local/lib", "usr/local/share", "usr/src",
		"usr/share/doc", "usr/share/man/man1", "usr/share/man/man5",
		"usr/share/man/man8", "var/backups", "var/cache/apt/archives/partial",
		"var/cache/debconf", "var/lib/apt/lists/partial", "var/lib/dpkg/info",
		"var/lib/dpkg/updates", "var/lib/misc", "var/local", "var/lock",
		"var/log/apt", "var/mail", "var/opt", "var/spool/cron", "var/tmp",
		"etc/alternatives", "etc/default", "etc/init.d", "etc/ssl/certs",
		"etc/skel", "etc/cron.d", "etc/cron.daily", "etc/systemd/system",
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		tdir(dirs[i]);
	tdir("tmp")->mode = 01777;
	tdir("var/tmp")->mode = 01777;
	tdir("root")->mode = 0700;
	tlink("", xstrdup("bin"), xstrdup("usr/bin"));
	tlink("", xstrdup("sbin"), xstrdup("usr/sbin"));
	tlink("", xstrdup("lib"), xstrdup("usr/lib"));
	tlink("", xstrdup("lib64"), xstrdup("usr/lib64"));
	tlink("usr/lib64", xstrdup("ld-linux-x86-64.so.2"),
	      xstrdup("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
	tfile("usr/lib/x86_64-linux-gnu", xstrdup("ld-linux-x86-64.so.2"), 0755);
	static const char *const etcf[] = {
		"passwd", "group", "shadow", "gshadow", "fstab", "hosts.allow",
		"hosts.deny", "nsswitch.conf", "resolv.conf", "issue", "issue.net",
		"motd", "profile", "bash.bashrc", "environment", "ld.so.conf",
		"ld.so.cache", "locale.gen", "timezone", "debian_version", "shells",
		"login.defs", "securetty", "services", "protocols", "inputrc",
		"adduser.conf", "deluser.conf", "crontab", "sysctl.conf",
	};
	for (size_t i = 0; i < sizeof(etcf) / sizeof(etcf[0]); i++)
		tfile("etc", xstrdup(etcf[i]), 0644);
	tlink("etc", xstrdup("localtime"), xstrdup("/usr/share/zoneinfo/Etc/UTC"));
	tlink("etc", xstrdup("mtab"), xstrdup("../proc/self/mounts"));
	tlink("etc", xstrdup("os-release"), xstrdup("../usr/lib/os-release"));
	tfile("usr/lib", xstrdup("os-release"), 0644);
	tfile("etc/skel", xstrdup(".bashrc"), 0644);
	tfile("etc/skel", xstrdup(".profile"), 0644);
	tfile("etc/skel", xstrdup(".bash_logout"), 0644);
	tfile("root", xstrdup(".bashrc"), 0644);
	tfile("root", xstrdup(".profile"), 0644);
	/* zoneinfo: ~ 600 files in region directories, plus posix/ and right/ links */
	static const char *const regions[] = {
		"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia",
		"Europe", "Indian", "Pacific", "Etc",
	};
	for (size_t r = 0; r < sizeof(regions) / sizeof(regions[0]); r++) {
		char *dir = xasprintf("usr/share/zoneinfo/%s", regions[r]);
		unsigned n = 10 + rn(110);
		for (unsigned i = 0; i < n; i++) {
			char *city = xasprintf("%s_%u", word(i + 40, 2), i);
			city[0] -= 'a' - 'A';
			tfile(dir, city, 0644);
		}
		if (!strcmp(regions[r], "Etc"))
			tfile(dir, xstrdup("UTC"), 0644);
		tlink("usr/share/zoneinfo/posix", xstrdup(regions[r]),
		      xasprintf("../%s", regions[r]));
	}
	/* charmaps */
	for (unsigned i = 0; i < 230; i++)
		tfile("usr/share/i18n/charmaps", xasprintf("%s-%u.gz", word(i, 2), i), 0644);
	for (unsigned i = 0; i < 480; i++)
		tfile("usr/share/i18n/locales", xasprintf("%s_%u", word(i, 1), i), 0644);
	/* CA certificates: files plus hash symlinks in etc/ssl/certs */
	for (unsigned i = 0; i < 140; i++) {
		char *w = word(i + 7, 3);
		char *crt = xasprintf("%s_Root_CA_%u.crt", w, i);
		char *pem = xasprintf("%s_Root_CA_%u.pem", w, i);
		tfile("usr/share/ca-certificates/mozilla", crt, 0644);
		tlink("etc/ssl/certs", pem,
		      xasprintf("/usr/share/ca-certificates/mozilla/%s", crt));
		/* subject-hash style name; i * odd constant is unique mod 2^32 */
		tlink("etc/ssl/certs", xasprintf("%08x.0", (uint32_t)(i * 2654435761u)),
		      xstrdup(pem));
	}
	tfile("etc/ssl/certs", xstrdup("ca-certificates.crt"), 0644);
}

/* Add one package's worth of files. */
static void package(unsigned idx)
{
	char *name = word(idx, 2);
	unsigned kind = rn(100);
	char *doc = xasprintf("usr/share/doc/%s", name);
	char path[512];

	/* documentation: own directory, or a symlink to a related package's */
	if (idx > 10 && pct(12)) {
		tlink("usr/share/doc", xstrdup(name), word(rn(idx), 2));
	} else {
		tfile(doc, xstrdup("copyright"), 0644);
		tfile(doc, xstrdup("changelog.Debian.gz"), 0644);
		if (pct(40))
			tfile(doc, xstrdup("changelog.gz"), 0644);
		if (pct(25))
			tfile(doc, xstrdup("README.Debian"), 0644);
		if (pct(15))
			tfile(doc, xstrdup("NEWS.Debian.gz"), 0644);
		if (pct(8)) {
			snprintf(path, sizeof(path), "%s/examples", doc);
			unsigned budget = 30;
			rtree(tdir(path), 2, "", &budget);
		}
	}
	/* dpkg database */
	tfile("var/lib/dpkg/info", xasprintf("%s.list", name), 0644);
	tfile("var/lib/dpkg/info", xasprintf("%s.md5sums", name), 0644);
	if (pct(30)) {
		tfile("var/lib/dpkg/info", xasprintf("%s.postinst", name), 0755);
		tfile("var/lib/dpkg/info", xasprintf("%s.prerm", name), 0755);
		tfile("var/lib/dpkg/info", xasprintf("%s.postrm", name), 0755);
	}
	/* translations */
	if (pct(25)) {
		unsigned n = 5 + rn(NLANGS - 5), start = rn(NLANGS);
		for (unsigned i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "usr/share/locale/%s/LC_MESSAGES",
				 langs[(start + i) % NLANGS]);
			tfile(path, xasprintf("%s.mo", name), 0644);
		}
	}

	if (kind < 35) {                        /* a tool */
		unsigned nb = 1 + (pct(30) ? rn(6) : 0);
		for (unsigned i = 0; i < nb; i++) {
			char *bin = i ? xasprintf("%s-%s", name, word(i, 1)) : xstrdup(name);
			bool sbin = pct(12);
			tfile(sbin ? "usr/sbin" : "usr/bin", bin, pct(2) ? 04755 : 0755);
			snprintf(path, sizeof(path), "usr/share/man/man%c", sbin ? '8' : '1');
			tfile(path, xasprintf("%s.%c.gz", bin, sbin ? '8' : '1'), 0644);
			if (pct(15))
				for (unsigned l = 0; l < 3; l++) {
					snprintf(path, sizeof(path), "usr/share/man/%s/man1",
						 langs[rn(NLANGS)]);
					struct node *d = tdir(path);
					char *mn = xasprintf("%s.1.gz", bin);
					if (!find_child(d, mn))
						tfile_in(d, mn, 0644, rsize());
					else
						free(mn);
				}
		}
		if (pct(40)) {
			snprintf(path, sizeof(path), "etc/%s", name);
			unsigned n = 1 + rn(4);
			for (unsigned i = 0; i < n; i++)
				tfile(path, xasprintf("%s%u.conf", name, i), 0644);
			if (pct(30)) {
				snprintf(path, sizeof(path), "etc/%s/conf.d", name);
				tfile(path, xstrdup("00default.conf"), 0644);
			}
			tfile("var/lib/dpkg/info", xasprintf("%s.conffiles", name), 0644);
		}
		if (pct(10))
			tfile("etc/default", xstrdup(name), 0644);
		if (pct(10)) {
			tfile("etc/init.d", xstrdup(name), 0755);
			tfile("usr/lib/systemd/system", xasprintf("%s.service", name), 0644);
		}
		if (pct(8)) {
			char *alt = xasprintf("%sx", name);
			tlink("usr/bin", alt, xasprintf("/etc/alternatives/%s", alt));
			tlink("etc/alternatives", xstrdup(alt), xasprintf("/usr/bin/%s", name));
		}
		if (pct(10)) {
			snprintf(path, sizeof(path), "usr/lib/%s", name);
			unsigned budget = 60;
			rtree(tdir(path), 1, "", &budget);
		}
	} else if (kind < 70) {                 /* a shared library */
		const char *ld = "usr/lib/x86_64-linux-gnu";
		unsigned major = rn(8);
		char *real = xasprintf("lib%s.so.%u.%u.%u", name, major, rn(20), rn(10));
		tfile(ld, real, 0644);
		tlink(ld, xasprintf("lib%s.so.%u", name, major), xstrdup(real));
		if (pct(45)) {                  /* and its -dev package */
			tlink(ld, xasprintf("lib%s.so", name), xstrdup(real));
			tfile(ld, xasprintf("lib%s.a", name), 0644);
			tfile("usr/lib/x86_64-linux-gnu/pkgconfig", xasprintf("%s.pc", name), 0644);
			snprintf(path, sizeof(path), "usr/include/%s", name);
			unsigned budget = 5 + rn(40);
			rtree(tdir(path), 2, ".h", &budget);
		}
		if (pct(15)) {                  /* plugins */
			snprintf(path, sizeof(path), "%s/%s", ld, name);
			unsigned budget = 10 + rn(80);
			rtree(tdir(path), 2, ".so", &budget);
		}
	} else if (kind < 83) {                 /* architecture-independent data */
		snprintf(path, sizeof(path), "usr/share/%s", name);
		unsigned budget = 20 + rn(300);
		rtree(tdir(path), 0, pct(50) ? "" : ".xml", &budget);
	} else if (kind < 95) {                 /* a python module */
		snprintf(path, sizeof(path), "usr/lib/python3/dist-packages/%s", name);
		struct node *d = tdir(path);
		tfile_in(d, xstrdup("__init__.py"), 0644, rsize());
		unsigned budget = 10 + rn(150);
		rtree(d, 1, ".py", &budget);
		snprintf(path, sizeof(path), "usr/lib/python3/dist-packages/%s-%u.%u.dist-info",
			 name, 1 + rn(5), rn(30));
		static const char *const di[] = { "METADATA", "RECORD", "WHEEL",
						  "top_level.txt", "INSTALLER" };
		for (size_t i = 0; i < 5; i++)
			tfile(path, xstrdup(di[i]), 0644);
	} else {                                /* a perl module */
		char *cap = xstrdup(name);
		cap[0] -= 'a' - 'A';
		snprintf(path, sizeof(path), "usr/share/perl5/%s", cap);
		unsigned budget = 3 + rn(40);
		rtree(tdir(path), 2, ".pm", &budget);
		tfile("usr/share/perl5", xasprintf("%s.pm", cap), 0644);
		tfile("usr/share/man/man3", xasprintf("%s.3pm.gz", cap), 0644);
	}
	free(doc);
}

/* ------------------------------------------------------------ selection */

static struct node **ufiles;    /* regular files under usr/ */
static size_t nufiles, ufiles_cap;
static struct node **pfiles;    /* other regular files (candidates for +t only) */
static size_t npfiles, pfiles_cap;

static void collect(struct node *d, bool under_usr)
{
	for (struct node *c = d->child; c; c = c->next) {
		if (c->type == T_DIR) {
			collect(c, under_usr || (d == troot && !strcmp(c->name, "usr")));
		} else if (c->type == T_FILE) {
			if (under_usr) {
				if (nufiles == ufiles_cap) {
					ufiles_cap = ufiles_cap ? 2 * ufiles_cap : 4096;
					ufiles = realloc(ufiles, ufiles_cap * sizeof(*ufiles));
					if (!ufiles)
						die("out of memory");
				}
				ufiles[nufiles++] = c;
			} else {
				if (npfiles == pfiles_cap) {
					pfiles_cap = pfiles_cap ? 2 * pfiles_cap : 4096;
					pfiles = realloc(pfiles, pfiles_cap * sizeof(*pfiles));
					if (!pfiles)
						die("out of memory");
				}
				pfiles[npfiles++] = c;
			}
		}
	}
}

/* ------------------------------------------------------------ creation */

static size_t c_entries, c_files, c_dirs, c_links, c_hardlinks, c_inodes;

struct notail {
	char *path;
	struct notail *next;
};
static struct notail *notails;

static void create(struct node *d, int dfd, char *path, size_t plen, unsigned g,
		   struct node **ptsel, size_t nptsel)
{
	for (struct node *c = d->child; c; c = c->next) {
		size_t nlen = strlen(c->name);
		if (plen + 1 + nlen + 1 > 4096) {
			errno = ENAMETOOLONG;
			die("%s/%s", path, c->name);
		}
		path[plen] = '/';
		memcpy(path + plen + 1, c->name, nlen + 1);
		c_entries++;
		switch (c->type) {
		case T_DIR: {
			if (mkdirat(dfd, c->name, c->mode) < 0)
				die("mkdir %s", path);
			int fd = openat(dfd, c->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				die("open %s", path);
			create(c, fd, path, plen + 1 + nlen, g, ptsel, nptsel);
			close(fd);
			c_dirs++;
			c_inodes++;
			break;
		}
		case T_FILE:
			c_files++;
			if ((c->flags & N_UNIFIED) && g > 0) {
				if (linkat(AT_FDCWD, c->g0path, dfd, c->name, 0) < 0)
					die("link %s -> %s", c->g0path, path);
				c_hardlinks++;
			} else {
				int fd = openat(dfd, c->name,
						O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
						c->mode);
				if (fd < 0)
					die("create %s", path);
				if (c->size && ftruncate(fd, c->size) < 0)
					die("truncate %s", path);
				close(fd);
				c_inodes++;
				if (c->flags & N_UNIFIED)
					c->g0path = xstrdup(path);
				for (size_t i = 0; i < nptsel; i++)
					if (ptsel[i] == c) {
						struct notail *nt = xmalloc(sizeof(*nt));
						nt->path = xstrdup(path);
						nt->next = notails;
						notails = nt;
					}
			}
			break;
		case T_LINK:
			if (symlinkat(c->target, dfd, c->name) < 0)
				die("symlink %s", path);
			c_links++;
			c_inodes++;
			break;
		}
		path[plen] = '\0';
	}
}

/* Private files of guest @g (differ between guests). */
static struct node *private_tree(unsigned g, const char *gname)
{
	struct node *p = new_node(NULL, xstrdup(""), T_DIR, 0755);
	struct node *etc = new_node(p, xstrdup("etc"), T_DIR, 0755);
	new_node(etc, xstrdup("hostname"), T_FILE, 0644)->size = strlen(gname) + 1;
	new_node(etc, xstrdup("hosts"), T_FILE, 0644)->size = 200;
	new_node(etc, xstrdup("mailname"), T_FILE, 0644)->size = 30;
	new_node(etc, xstrdup("machine-id"), T_FILE, 0444)->size = 33;
	struct node *var = new_node(p, xstrdup("var"), T_DIR, 0755);
	struct node *log = new_node(var, xstrdup("log"), T_DIR, 0755);
	static const char *const logs[] = { "syslog", "auth.log", "daemon.log",
					    "kern.log", "messages", "dpkg.log" };
	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		unsigned rot = 1 + rn(6);
		for (unsigned r = 0; r <= rot; r++)
			new_node(log, r ? xasprintf("%s.%u%s", logs[i], r, r > 1 ? ".gz" : "")
				      : xstrdup(logs[i]), T_FILE, 0640)->size = rsize();
	}
	struct node *home = new_node(p, xstrdup("home"), T_DIR, 0755);
	struct node *user = new_node(home, xasprintf("admin%u", g), T_DIR, 0750);
	new_node(user, xstrdup(".bashrc"), T_FILE, 0644)->size = 3500;
	new_node(user, xstrdup(".bash_history"), T_FILE, 0600)->size = rsize();
	struct node *md = new_node(user, xstrdup("Maildir"), T_DIR, 0700);
	static const char *const sub[] = { "cur", "new", "tmp" };
	for (int i = 0; i < 3; i++) {
		struct node *s = new_node(md, xstrdup(sub[i]), T_DIR, 0700);
		unsigned n = i == 2 ? 0 : rn(60);
		for (unsigned k = 0; k < n; k++)
			new_node(s, xasprintf("17%08u.M%uP%u_%u.%s:2,S", rn(100000000), rn(999999),
					      rn(32768), k, gname), T_FILE, 0600)->size = rsize();
	}
	return p;
}

/* Merge-create @p (private tree) into guest dir @dfd: existing dirs are entered. */
static void create_private(struct node *d, int dfd, char *path, size_t plen)
{
	for (struct node *c = d->child; c; c = c->next) {
		size_t nlen = strlen(c->name);
		path[plen] = '/';
		memcpy(path + plen + 1, c->name, nlen + 1);
		if (c->type == T_DIR) {
			bool made = mkdirat(dfd, c->name, c->mode) == 0;
			if (!made && errno != EEXIST)
				die("mkdir %s", path);
			if (made) {
				c_entries++;
				c_dirs++;
				c_inodes++;
			}
			int fd = openat(dfd, c->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				die("open %s", path);
			create_private(c, fd, path, plen + 1 + nlen);
			close(fd);
		} else {
			int fd = openat(dfd, c->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
					c->mode);
			if (fd < 0)
				die("create %s", path);
			if (c->size && ftruncate(fd, c->size) < 0)
				die("truncate %s", path);
			close(fd);
			c_entries++;
			c_files++;
			c_inodes++;
		}
		path[plen] = '\0';
	}
}

static size_t count_tree(const struct node *d)
{
	size_t n = 0;

	for (const struct node *c = d->child; c; c = c->next)
		n += 1 + (c->type == T_DIR ? count_tree(c) : 0);
	return n;
}

static void add_flags(const char *path, int add)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	int fl;

	if (fd < 0)
		die("open %s", path);
	if (ioctl(fd, FS_IOC_GETFLAGS, &fl) < 0)
		die("FS_IOC_GETFLAGS %s", path);
	fl |= add;
	if (ioctl(fd, FS_IOC_SETFLAGS, &fl) < 0)
		die("FS_IOC_SETFLAGS %s", path);
	close(fd);
}

static const char *const gnames[] = {
	"web01", "mail01", "db01", "dns01", "build01", "proxy01", "shell01", "ftp01",
};

static void usage(int st)
{
	fprintf(st ? stderr : stdout,
		"Usage: %s [-n ENTRIES] [-g GUESTS] [-s SEED] [-u PERMILLE] [-t COUNT] [-m MANIFEST] ROOT\n",
		prog);
	exit(st);
}

static unsigned long num(const char *s, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		errno = 0;
		die("bad number: %s", s);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long entries = 300000, guests = 6, seed = 1, permille = 10, ntail = 3;
	const char *manifest = NULL;
	int opt;

	while ((opt = getopt(argc, argv, "n:g:s:u:t:m:h")) != -1) {
		switch (opt) {
		case 'n': entries = num(optarg, 100, 100000000); break;
		case 'g': guests = num(optarg, 2, 1000); break;
		case 's': seed = num(optarg, 0, ~0UL); break;
		case 'u': permille = num(optarg, 0, 1000); break;
		case 't': ntail = num(optarg, 0, 1000); break;
		case 'm': manifest = optarg; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (optind != argc - 1)
		usage(2);
	const char *root = argv[optind];
	umask(0);
	rng_seed(seed);

	/* Private trees first (their size is subtracted from the template's). */
	struct node **priv = xmalloc(guests * sizeof(*priv));
	char **gname = xmalloc(guests * sizeof(*gname));
	size_t priv_entries = 0;
	for (unsigned g = 0; g < guests; g++) {
		gname[g] = g < sizeof(gnames) / sizeof(gnames[0])
			? xstrdup(gnames[g]) : xasprintf("vs%03u", g + 1);
		priv[g] = private_tree(g, gname[g]);
		/* etc, var, var/log and home exist in the template too */
		priv_entries += count_tree(priv[g]) - 4;
	}

	/* The template: grow by packages until every guest reaches its share. */
	troot = new_node(NULL, xstrdup(""), T_DIR, 0755);
	base_system();
	size_t want = entries > guests + priv_entries
		? (entries - guests - priv_entries + guests - 1) / guests : 0;
	unsigned npkg = 0;
	while (t_entries < want)
		package(npkg++);

	/* Choose the unified files (under usr/) and the +t-only files. */
	collect(troot, false);
	size_t nunified = (t_files * permille + 500) / 1000;
	if (nunified > nufiles)
		nunified = nufiles;
	for (size_t i = 0; i < nunified; i++) {           /* partial Fisher-Yates */
		size_t j = i + rn(nufiles - i);
		struct node *t = ufiles[i];
		ufiles[i] = ufiles[j];
		ufiles[j] = t;
		ufiles[i]->flags |= N_UNIFIED;
	}
	/* +t-only: per guest, distinct private copies of non-usr template files */
	if (ntail * guests > npfiles)
		ntail = npfiles / guests;
	for (size_t i = 0; i < ntail * guests; i++) {
		size_t j = i + rn(npfiles - i);
		struct node *t = pfiles[i];
		pfiles[i] = pfiles[j];
		pfiles[j] = t;
	}

	/* Create every guest. */
	char *path = xmalloc(4096);
	int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		die("open %s", root);
	for (unsigned g = 0; g < guests; g++) {
		if (mkdirat(rfd, gname[g], 0755) < 0)
			die("mkdir %s/%s", root, gname[g]);
		c_entries++;
		c_dirs++;
		c_inodes++;
		int gfd = openat(rfd, gname[g], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (gfd < 0)
			die("open %s/%s", root, gname[g]);
		size_t plen = (size_t)snprintf(path, 4096, "%s/%s", root, gname[g]);
		create(troot, gfd, path, plen, g, pfiles + g * ntail, ntail);
		path[plen] = '\0';
		create_private(priv[g], gfd, path, plen);
		close(gfd);
	}
	close(rfd);

	/* Flags last: a link() to an immutable inode fails. */
	FILE *mf = NULL;
	if (manifest && !(mf = fopen(manifest, "w")))
		die("%s", manifest);
	size_t rl = strlen(root);
	for (size_t i = 0; i < nunified; i++) {
		add_flags(ufiles[i]->g0path, FS_NOTAIL_FL);    /* chattr +t */
		add_flags(ufiles[i]->g0path, FS_IMMUTABLE_FL); /* chattr +i */
		if (mf)
			fprintf(mf, "iunlink %s\n", ufiles[i]->g0path + rl + 1);
	}
	size_t nnotail = 0;
	for (struct notail *nt = notails; nt; nt = nt->next, nnotail++) {
		add_flags(nt->path, FS_NOTAIL_FL);
		if (mf)
			fprintf(mf, "notail %s\n", nt->path + rl + 1);
	}
	if (mf && fclose(mf) != 0)
		die("%s", manifest);

	printf("guests=%lu\n", guests);
	printf("packages=%u\n", npkg);
	printf("template_entries=%zu\n", t_entries);
	printf("template_files=%zu\n", t_files);
	printf("template_dirs=%zu\n", t_dirs);
	printf("template_symlinks=%zu\n", t_links);
	printf("entries=%zu\n", c_entries);
	printf("files=%zu\n", c_files);
	printf("dirs=%zu\n", c_dirs);
	printf("symlinks=%zu\n", c_links);
	printf("inodes=%zu\n", c_inodes);
	printf("unified_inodes=%zu\n", nunified);
	printf("unified_names=%zu\n", nunified * guests);
	printf("notail_only=%zu\n", nnotail);
	return 0;
}
