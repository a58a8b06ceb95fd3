/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mkdups.c - build a multi-guest tree full of duplicate files for
 * bench-unify.sh.
 *
 * Not part of vaudit: a stand-alone generator, compiled by the benchmark
 * script with the system compiler.  It builds ROOT/g1 ... ROOT/gG, guests
 * that share one "distribution": Debian-like packages (usr/bin,
 * usr/lib/x86_64-linux-gnu, usr/lib/python3/dist-packages, usr/share/doc,
 * man pages, locales, etc, var/lib/dpkg/info, ...), each installed in a
 * subset of the guests, plus files that only one guest has.  Every file has
 * real content, generated from a seed with a fast PRNG, so that duplicates
 * are byte-identical.  What it makes:
 *
 *  - duplicate sets: a package file installed in 2..G guests has the same
 *    path, content, mode, owner and mtime in each (dpkg keeps the mtime of
 *    the .deb, with 0 nanoseconds);
 *  - duplicates at other paths: binary packages of one source share their
 *    copyright and changelog (same mtime: strict duplicates); some guests
 *    have a `cp -a` copy of a package below opt/ (strict duplicates) or a
 *    plain `cp` copy below usr/local/ (same content, new mtime and owner);
 *    some copyright files are a common licence text (same content, other
 *    mtime); var/lib/dpkg/info files have the same content in every guest
 *    but the guest's install time as mtime;
 *  - unique files: packages installed in one guest, logs, mail, home
 *    directories, web data;
 *  - crafted near-duplicates, each applied to one or two guests' copies of
 *    a shared file (two guests get the same change, so they form a set of
 *    their own): same size but other content; a change in the last one or
 *    two bytes only (small, medium and large files); a change of mode only;
 *    of uid only, gid only, or both; of the mtime seconds only; of the mtime
 *    nanoseconds only; plus per-guest files of equal size but different
 *    content (machine-id, a hostname), files of 15, 16 and 17 bytes, and
 *    many files below 16 bytes (empty __init__.py, "3.0 (quilt)\n", ...).
 *
 * Usage: mkdups [-n FILES] [-g GUESTS] [-d DUPSETS] [-c CRAFTED] [-s SEED]
 *               [-b MIB] [-m MANIFEST] [-P] ROOT
 *   -n  regular files in total, at least (default 250000)
 *   -g  number of guests, 2..64 (default 8); they are ROOT/g1 ... ROOT/gG
 *   -d  shared package files (about the number of duplicate sets; default
 *       12% of -n: 30000 at the default size)
 *   -c  crafted near-duplicates of each kind (default: -d / 60, at least 5)
 *   -s  random seed (default 1); the same options always give the same tree
 *   -b  cap on the total data in MiB (default 1536): the part of each file
 *       above 64 KiB is scaled down to fit (as far as that goes: the first
 *       64 KiB of every file stay)
 *   -m  write the ground-truth equivalence classes to MANIFEST: one line per
 *       set of two or more files with the same content, size, mode, uid,
 *       gid and mtime (seconds and nanoseconds), i.e. the files a strict
 *       tool may link; tab-separated paths relative to ROOT ("g1/usr/...")
 *   -P  plan only: print the statistics, create nothing (ROOT may be absent)
 * ROOT must exist and must not contain g1 ... gG.  Prints key=value
 * statistics on stdout.  Run as root (file owners are set with fchown).
 * File names contain no tab, newline or invalid UTF-8; a few have spaces
 * and UTF-8 letters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define MAXG 64

static const char *prog = "mkdups";

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

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
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

/* The model: xorshift64*, one sequential stream. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* uniform in [0, n) */
static uint64_t rn(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static bool pct(unsigned p)
{
	return rn(100) < p;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A seed derived from @a and @b (per-guest content, per-guest mtimes). */
static uint64_t mix(uint64_t a, uint64_t b)
{
	uint64_t x = a ^ (b * 0xd6e8feb86659fd93ULL);

	return splitmix(&x);
}

static uint64_t next_seed = 1;

/* A fresh content seed: unique, so different seeds mean different content. */
static uint64_t new_seed(void)
{
	return mix(next_seed++, 0x5eed);
}

/* Log-uniform-ish integer in [lo, hi): a random octave, uniform inside it. */
static uint64_t logu(uint64_t lo, uint64_t hi)
{
	unsigned a = (unsigned)(63 - __builtin_clzll(lo)), b = (unsigned)(63 - __builtin_clzll(hi - 1));

	for (;;) {
		unsigned e = a + (unsigned)rn(b - a + 1);
		uint64_t v = (1ULL << e) + rn(1ULL << e);
		if (v >= lo && v < hi)
			return v;
	}
}

/* ------------------------------------------------------------ content */

/*
 * The content of a file of @size >= 16 bytes is the xoshiro256+ stream of
 * @seed, with @tweak XORed into the last two bytes (low byte into the last).
 * Files below 16 bytes carry their bytes literally.
 */
struct cgen {
	uint64_t s[4];
};

static void cgen_init(struct cgen *g, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		g->s[i] = splitmix(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Fills @n bytes (a multiple of 8). */
static void cgen_fill(struct cgen *g, unsigned char *buf, size_t n)
{
	uint64_t *s = g->s;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = s[0] + s[3], t = s[1] << 17;
		s[2] ^= s[0];
		s[3] ^= s[1];
		s[1] ^= s[2];
		s[0] ^= s[3];
		s[2] ^= t;
		s[3] = rotl(s[3], 45);
		memcpy(buf + i, &r, 8);
	}
}

/* Distinct short contents (pool of files below 16 bytes). */
static const char *const tiny_pool[] = {
	"", "", "", "", "", "", "",     /* empty files are the most common */
	"\n", "0\n", "1\n", "2\n", "yes\n", "no\n", "ok\n", "[]\n", "{}\n",
	"UTC\n", "auto\n", "true\n", "none\n", "2.0\n", "1.0.0\n", "enabled\n",
	"#!/bin/sh\n", "3.0 (quilt)\n", "en_US.UTF-8\n", "# empty\n", "10\n",
};
#define NTINY (sizeof(tiny_pool) / sizeof(tiny_pool[0]))

/* ------------------------------------------------------------ names */

static const char *const syl[] = {
	"ba", "ce", "di", "fo", "gu", "ha", "ke", "li", "mo", "nu", "pa", "re",
	"si", "to", "vu", "xa", "ze", "lo", "ri", "ma", "ne", "ti", "so", "ga",
	"bi", "co", "du", "fe", "go", "hi", "ka", "lu",
};
#define NSYL (sizeof(syl) / sizeof(syl[0]))

/* A pronounceable word unique for @i. */
static char *word(uint64_t i, unsigned min_syl)
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

/* Names with spaces and UTF-8 letters (valid UTF-8, no tab or newline). */
static const char *const odd_names[] = {
	"Read Me.txt", "\xc3\x9c" "bersicht.html", "caf\xc3\xa9.png", "notes (old).txt",
	"\xe6\x96\x87\xe6\xa1\xa3.md", "Se\xc3\xb1or Data.csv", "a b c.dat", "r\xc3\xa9sum\xc3\xa9.pdf",
};
#define NODD (sizeof(odd_names) / sizeof(odd_names[0]))

static const char *const langs[] = {
	"af", "ar", "ast", "be", "bg", "bn", "bs", "ca", "cs", "cy", "da", "de",
	"el", "en_GB", "eo", "es", "et", "eu", "fa", "fi", "fr", "ga", "gl", "he",
	"hi", "hr", "hu", "id", "is", "it", "ja", "ka", "kk", "km", "ko", "lt",
	"lv", "mk", "ml", "nb", "ne", "nl", "nn", "pa", "pl", "pt", "pt_BR", "ro",
	"ru", "sk", "sl", "sq", "sr", "sv", "ta", "th", "tr", "uk", "vi", "zh_CN",
	"zh_TW",
};
#define NLANGS (sizeof(langs) / sizeof(langs[0]))

/* ------------------------------------------------------------ string sets */

struct sset {
	char **k;
	unsigned char *v;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static void sset_clear(struct sset *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->k[i]);
	free(t->k);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static int sset_get(const struct sset *t, const char *s)
{
	if (!t->cap)
		return 0;
	size_t i = hash_str(s) & (t->cap - 1);
	while (t->k[i]) {
		if (!strcmp(t->k[i], s))
			return t->v[i];
		i = (i + 1) & (t->cap - 1);
	}
	return 0;
}

static void sset_put(struct sset *t, const char *s, int v);

static void sset_grow(struct sset *t)
{
	struct sset o = *t;

	t->cap = o.cap ? o.cap * 2 : 1024;
	t->k = xmalloc(t->cap * sizeof(*t->k));
	t->v = xmalloc(t->cap);
	t->n = 0;
	for (size_t i = 0; i < o.cap; i++)
		if (o.k[i]) {
			sset_put(t, o.k[i], o.v[i]);
			free(o.k[i]);
		}
	free(o.k);
	free(o.v);
}

/* Adds or updates @s (copied). */
static void sset_put(struct sset *t, const char *s, int v)
{
	if ((t->n + 1) * 2 > t->cap)
		sset_grow(t);
	size_t i = hash_str(s) & (t->cap - 1);
	while (t->k[i]) {
		if (!strcmp(t->k[i], s)) {
			t->v[i] = (unsigned char)v;
			return;
		}
		i = (i + 1) & (t->cap - 1);
	}
	t->k[i] = xstrdup(s);
	t->v[i] = (unsigned char)v;
	t->n++;
}

/* ------------------------------------------------------------ the catalog */

enum { PT_FILE = 1, PT_DIR = 2 };

/* All file paths, in all guests: one namespace, so no file is ever a directory. */
static struct sset paths;

/* Registers @want as a file path (its parents as directories).  On a clash
 * with a file or directory the file name gets a ".N" suffix; a directory
 * component that is already a file gets a ".d" suffix.  Returns the path
 * (malloc'd). */
static char *claim(const char *want)
{
	char *base = xstrdup(want);

	for (unsigned n = 0;; n++) {
		char *p = n ? xasprintf("%s.%u", base, n) : xstrdup(base);
		bool ok = !sset_get(&paths, p), dirclash = false;
		for (char *s = strchr(p, '/'); ok && s; s = strchr(s + 1, '/')) {
			*s = '\0';
			if (sset_get(&paths, p) == PT_FILE) {
				/* rename that directory component and start over */
				char *nb = xasprintf("%s.d/%s", p, s + 1);
				free(p);
				p = NULL;
				free(base);
				base = nb;
				dirclash = true;
				break;
			}
			*s = '/';
		}
		if (dirclash) {
			n = (unsigned)-1;       /* the loop's n++ makes it 0 */
			continue;
		}
		if (ok) {
			for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
				*s = '\0';
				sset_put(&paths, p, PT_DIR);
				*s = '/';
			}
			sset_put(&paths, p, PT_FILE);
			free(base);
			return p;
		}
		free(p);
	}
}

enum { SZ_TEXT, SZ_DOC, SZ_MO, SZ_BIN, SZ_DATA, SZ_MAIL, SZ_LOG, SZ_TINY };

static uint64_t draw_size(int prof)
{
	unsigned r = (unsigned)rn(1000);

	switch (prof) {
	case SZ_TEXT:           /* sources, headers, configuration, man pages */
		if (r < 930)
			return logu(100, 8192);
		if (r < 995)
			return logu(8192, 65536);
		return logu(65536, 262144);
	case SZ_DOC:            /* copyright, changelogs, READMEs */
		if (r < 920)
			return logu(400, 8192);
		return logu(8192, 65536);
	case SZ_MO:
		return logu(512, 16384);
	case SZ_BIN:            /* executables, libraries, plugins */
		if (r < 900)
			return logu(2048, 65536);
		if (r < 997)
			return logu(65536, 524288);
		return logu(524288, 2097153);
	case SZ_DATA:           /* data files of packages, web data */
		if (r < 900)
			return logu(100, 8192);
		if (r < 995)
			return logu(8192, 65536);
		return logu(65536, 1048576);
	case SZ_MAIL:
		if (r < 980)
			return logu(600, 12288);
		return logu(12288, 262144);
	case SZ_LOG:
		if (r < 600)
			return logu(200, 65536);
		return logu(65536, 1048576);
	}
	return 0;
}

enum { PG_SHARED, PG_CONTENT, PG_SAMESIZE };

struct item {
	char *path;
	uint64_t mask;          /* guests that have it */
	uint64_t size;
	uint64_t seed;          /* content; below 16 bytes: index into tiny_pool */
	int64_t mt_s;
	uint32_t mt_ns;
	uint32_t mode, uid, gid;
	uint8_t perguest;       /* PG_*: content (and size) per guest */
	bool mt_perguest;       /* mtime per guest (the guest's install time) */
	bool tiny_literal;      /* below 16 bytes, literal per-guest content */
	bool strict_shared;     /* counts as a duplicate set (-d) */
	size_t first;           /* its first instance */
};

static struct item *items;
static size_t nitems, items_cap;

/* What the package being built shares: guests, mtime, owner. */
static struct {
	uint64_t mask;
	int64_t mt_s;
	uint32_t mt_ns;
	uint32_t uid, gid;
	bool mt_perguest;
	uint8_t perguest;
} cur;

static unsigned nguests;
static uint64_t all_mask;

static struct item *add_raw(const char *path, uint64_t size, uint64_t seed, uint32_t mode)
{
	if (nitems == items_cap) {
		items_cap = items_cap ? items_cap * 2 : 65536;
		items = xrealloc(items, items_cap * sizeof(*items));
	}
	struct item *it = &items[nitems++];
	memset(it, 0, sizeof(*it));
	it->path = claim(path);
	it->mask = cur.mask;
	it->size = size;
	it->seed = seed;
	it->mt_s = cur.mt_s;
	it->mt_ns = cur.mt_ns;
	it->mode = mode;
	it->uid = cur.uid;
	it->gid = cur.gid;
	it->perguest = cur.perguest;
	it->mt_perguest = cur.mt_perguest;
	it->strict_shared = __builtin_popcountll(cur.mask) >= 2 && cur.perguest == PG_SHARED &&
			    !cur.mt_perguest;
	return it;
}

/* A file of profile @prof in @dir; 2% of text/data files are tiny. */
static struct item *add(const char *dir, const char *name, int prof, uint32_t mode)
{
	char *p = *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
	struct item *it;

	if (prof == SZ_TINY || ((prof == SZ_TEXT || prof == SZ_DATA) && pct(2))) {
		unsigned t = (unsigned)rn(NTINY);
		it = add_raw(p, strlen(tiny_pool[t]), t, mode);
	} else {
		it = add_raw(p, draw_size(prof), new_seed(), mode);
	}
	free(p);
	return it;
}

/* A random subtree: files with suffix @ext, fan-out like real data directories. */
static void rtree(const char *dir, int depth, const char *ext, int prof, unsigned *budget,
		  bool pyinit)
{
	unsigned nf = 1 + (unsigned)rn(4) + (pct(30) ? (unsigned)rn(20) : 0) +
		      (pct(5) ? (unsigned)rn(60) : 0);
	unsigned nd = depth >= 4 ? 0 : (pct(45) ? 1 + (unsigned)rn(depth ? 3 : 5) : 0);

	if (pyinit && *budget) {
		add(dir, "__init__.py", pct(60) ? SZ_TINY : SZ_TEXT, 0644);
		(*budget)--;
	}
	for (unsigned i = 0; i < nf && *budget; i++, (*budget)--) {
		char *n;
		if (pct(1))
			n = xstrdup(odd_names[rn(NODD)]);
		else
			n = xasprintf("%s%s%u%s", syl[rn(NSYL)], syl[rn(NSYL)], i, ext);
		add(dir, n, prof, 0644);
		free(n);
	}
	for (unsigned i = 0; i < nd && *budget; i++) {
		char *d = xasprintf("%s/%s%s%u", dir, syl[rn(NSYL)], syl[rn(NSYL)], i);
		rtree(d, depth + 1, ext, prof, budget, pyinit);
		free(d);
	}
}

struct pkg {
	char *name;
	size_t first, n;        /* its items */
	uint64_t mask;
};
static struct pkg *pkgs;
static size_t npkgs, pkgs_cap;

/* The source package: binaries built from it share mtime, copyright and changelog. */
struct src {
	uint64_t copyright_seed, copyright_size;
	uint64_t changelog_seed, changelog_size;
};

/* Common licence texts: the same copyright file in unrelated sources. */
static uint64_t lic_seed[24], lic_size[24];

static void package(uint64_t idx, const struct src *s)
{
	char *name = word(idx, 2);
	char dir[512];
	unsigned kind = (unsigned)rn(100);

	if (npkgs == pkgs_cap) {
		pkgs_cap = pkgs_cap ? pkgs_cap * 2 : 4096;
		pkgs = xrealloc(pkgs, pkgs_cap * sizeof(*pkgs));
	}
	struct pkg *pk = &pkgs[npkgs++];
	pk->name = name;
	pk->first = nitems;
	pk->mask = cur.mask;

	snprintf(dir, sizeof(dir), "usr/share/doc/%s", name);
	add_raw(xasprintf("%s/copyright", dir), s->copyright_size, s->copyright_seed, 0644);
	add_raw(xasprintf("%s/changelog.Debian.gz", dir), s->changelog_size, s->changelog_seed, 0644);
	if (pct(30))
		add(dir, "README.Debian", SZ_DOC, 0644);
	if (pct(20))
		add(dir, "NEWS.Debian.gz", SZ_DOC, 0644);
	if (pct(6)) {
		unsigned budget = 25;
		snprintf(dir, sizeof(dir), "usr/share/doc/%s/examples", name);
		rtree(dir, 2, "", SZ_TEXT, &budget, false);
	}

	/* The dpkg database: same content everywhere, mtime = the guest's install time. */
	bool save = cur.mt_perguest;
	cur.mt_perguest = true;
	add("var/lib/dpkg/info", xasprintf("%s.list", name), SZ_TEXT, 0644);
	add("var/lib/dpkg/info", xasprintf("%s.md5sums", name), SZ_TEXT, 0644);
	if (pct(25)) {
		add("var/lib/dpkg/info", xasprintf("%s.postinst", name), SZ_TEXT, 0755);
		add("var/lib/dpkg/info", xasprintf("%s.prerm", name), SZ_TEXT, 0755);
	}
	cur.mt_perguest = save;

	if (pct(15)) {                          /* translations */
		unsigned n = 5 + (unsigned)rn(30), start = (unsigned)rn(NLANGS);
		for (unsigned i = 0; i < n && i < NLANGS; i++) {
			snprintf(dir, sizeof(dir), "usr/share/locale/%s/LC_MESSAGES",
				 langs[(start + i) % NLANGS]);
			char *f = xasprintf("%s.mo", name);
			add(dir, f, SZ_MO, 0644);
			free(f);
		}
	}

	if (kind < 30) {                        /* a tool */
		unsigned nb = 1 + (pct(30) ? (unsigned)rn(5) : 0);
		for (unsigned i = 0; i < nb; i++) {
			char *bin = i ? xasprintf("%s-%s", name, syl[i]) : xstrdup(name);
			bool sbin = pct(12);
			add(sbin ? "usr/sbin" : "usr/bin", bin, SZ_BIN, pct(2) ? 04755 : 0755);
			char *man = xasprintf("%s.%c.gz", bin, sbin ? '8' : '1');
			add(sbin ? "usr/share/man/man8" : "usr/share/man/man1", man, SZ_TEXT, 0644);
			free(man);
			free(bin);
		}
		if (pct(40)) {
			snprintf(dir, sizeof(dir), "etc/%s", name);
			unsigned n = 1 + (unsigned)rn(4);
			for (unsigned i = 0; i < n; i++) {
				char *f = xasprintf("%s%u.conf", name, i);
				add(dir, f, SZ_TEXT, 0644);
				free(f);
			}
			if (pct(10))
				add(dir, "enabled", SZ_TINY, 0644);
		}
		if (pct(10)) {
			unsigned budget = 50;
			snprintf(dir, sizeof(dir), "usr/lib/%s", name);
			rtree(dir, 1, "", SZ_DATA, &budget, false);
		}
	} else if (kind < 60) {                 /* a shared library */
		const char *ld = "usr/lib/x86_64-linux-gnu";
		char *f = xasprintf("lib%s.so.%u.%u.%u", name, (unsigned)rn(8), (unsigned)rn(20),
				    (unsigned)rn(10));
		add(ld, f, SZ_BIN, 0644);
		free(f);
		if (pct(40)) {                  /* its -dev package */
			f = xasprintf("lib%s.a", name);
			add(ld, f, SZ_BIN, 0644);
			free(f);
			f = xasprintf("%s.pc", name);
			add("usr/lib/x86_64-linux-gnu/pkgconfig", f, SZ_TEXT, 0644);
			free(f);
			unsigned budget = 5 + (unsigned)rn(40);
			snprintf(dir, sizeof(dir), "usr/include/%s", name);
			rtree(dir, 2, ".h", SZ_TEXT, &budget, false);
		}
		if (pct(12)) {                  /* plugins */
			unsigned budget = 5 + (unsigned)rn(40);
			snprintf(dir, sizeof(dir), "%s/%s", ld, name);
			rtree(dir, 2, ".so", SZ_BIN, &budget, false);
		}
	} else if (kind < 75) {                 /* architecture-independent data */
		unsigned budget = 20 + (unsigned)rn(250);
		snprintf(dir, sizeof(dir), "usr/share/%s", name);
		rtree(dir, 0, pct(50) ? "" : ".xml", SZ_DATA, &budget, false);
	} else if (kind < 92) {                 /* a python module */
		unsigned budget = 10 + (unsigned)rn(120);
		snprintf(dir, sizeof(dir), "usr/lib/python3/dist-packages/%s", name);
		rtree(dir, 1, ".py", SZ_TEXT, &budget, true);
		add(dir, "py.typed", SZ_TINY, 0644);
		snprintf(dir, sizeof(dir), "usr/lib/python3/dist-packages/%s-%u.%u.dist-info",
			 name, 1 + (unsigned)rn(5), (unsigned)rn(30));
		static const char *const di[] = { "METADATA", "RECORD", "WHEEL", "top_level.txt" };
		for (size_t i = 0; i < 4; i++)
			add(dir, di[i], SZ_TEXT, 0644);
		add(dir, "INSTALLER", SZ_TINY, 0644);
	} else {                                /* a perl module */
		char *cap = xstrdup(name);
		cap[0] -= 'a' - 'A';
		unsigned budget = 3 + (unsigned)rn(40);
		snprintf(dir, sizeof(dir), "usr/share/perl5/%s", cap);
		rtree(dir, 2, ".pm", SZ_TEXT, &budget, false);
		char *f = xasprintf("%s.3pm.gz", cap);
		add("usr/share/man/man3", f, SZ_TEXT, 0644);
		free(f);
		free(cap);
	}
	pk->n = nitems - pk->first;
}

/* A random set of @k of the guests. */
static uint64_t pick_guests(unsigned k)
{
	uint64_t m = 0;

	while ((unsigned)__builtin_popcountll(m) < k)
		m |= 1ULL << rn(nguests);
	return m;
}

static uint64_t guests_subset(uint64_t of)
{
	uint64_t m = 0;

	for (unsigned g = 0; g < nguests; g++)
		if ((of >> g & 1) && pct(70))
			m |= 1ULL << g;
	return m ? m : of;
}

/* Build time of a Debian package: 2019..2025, whole seconds (tar mtimes). */
static void pkg_time(void)
{
	cur.mt_s = 1546300800 + (int64_t)rn(6 * 365 * 86400ULL);
	cur.mt_ns = 0;
}

static uint64_t src_idx;

/* One source package with 1..5 binary packages, installed in the guests of @mask. */
static void source(uint64_t mask)
{
	struct src s;

	if (pct(15)) {
		unsigned l = (unsigned)rn(24);
		s.copyright_seed = lic_seed[l];
		s.copyright_size = lic_size[l];
	} else {
		s.copyright_seed = new_seed();
		s.copyright_size = draw_size(SZ_DOC);
	}
	s.changelog_seed = new_seed();
	s.changelog_size = draw_size(SZ_DOC);
	pkg_time();
	cur.uid = cur.gid = 0;
	cur.perguest = PG_SHARED;
	cur.mt_perguest = false;
	unsigned nb = 1 + (pct(35) ? (unsigned)rn(4) : 0);
	for (unsigned b = 0; b < nb; b++) {
		cur.mask = b ? guests_subset(mask) : mask;
		package(src_idx * 8 + b, &s);
	}
	src_idx++;
}

/* ------------------------------------------------------------ guest-private data */

static uint64_t priv_idx;

static void private_base(void)
{
	/* Same path in every guest, different content. */
	cur.mask = all_mask;
	cur.uid = cur.gid = 0;
	cur.mt_perguest = false;        /* same size and metadata, other content */
	cur.perguest = PG_SAMESIZE;
	cur.mt_s = 1700000000;
	cur.mt_ns = 0;
	add_raw("etc/machine-id", 33, new_seed(), 0444);
	add_raw("var/lib/dbus/machine-id", 33, new_seed(), 0444);
	add_raw("etc/ssh/ssh_host_ed25519_key", 411, new_seed(), 0600);
	add_raw("etc/ssh/ssh_host_ed25519_key.pub", 97, new_seed(), 0644);
	add_raw("etc/ssh/ssh_host_rsa_key", 2602, new_seed(), 0600);
	add_raw("etc/ssh/ssh_host_rsa_key.pub", 569, new_seed(), 0644);
	struct item *it = add_raw("etc/hostname", 3, 0, 0644);      /* "gN\n" */
	it->tiny_literal = true;
	it = add_raw("etc/mailname", 12, 0, 0644);
	it->tiny_literal = true;
	cur.perguest = PG_CONTENT;
	cur.mt_perguest = true;
	add_raw("etc/hosts", 150 + rn(200), new_seed(), 0644);
	add_raw("etc/passwd", 1200 + rn(800), new_seed(), 0644);
	add_raw("etc/group", 700 + rn(300), new_seed(), 0644);
	add_raw("etc/shadow", 900 + rn(500), new_seed(), 0640)->gid = 42;
	add_raw("var/lib/dpkg/status", 400000 + rn(200000), new_seed(), 0644);
	add_raw("var/cache/debconf/config.dat", 30000 + rn(30000), new_seed(), 0644);
	add_raw("var/cache/ldconfig/aux-cache", 8000 + rn(8000), new_seed(), 0600);
	add_raw("etc/ld.so.cache", 40000 + rn(20000), new_seed(), 0644);
	static const char *const logs[] = { "syslog", "auth.log", "daemon.log", "kern.log",
					    "messages", "dpkg.log", "apt/history.log" };
	for (size_t i = 0; i < sizeof(logs) / sizeof(logs[0]); i++) {
		char *p = xasprintf("var/log/%s", logs[i]);
		add_raw(p, draw_size(SZ_LOG), new_seed(), 0640)->gid = 4;
		for (unsigned r = 1; r <= 4; r++) {
			char *q = xasprintf("%s.%u%s", p, r, r > 1 ? ".gz" : "");
			add_raw(q, draw_size(SZ_LOG), new_seed(), 0640)->gid = 4;
			free(q);
		}
		free(p);
	}
}

/* A chunk of data only guest @g has: mail, a web site, an application's state. */
static void private_chunk(unsigned g)
{
	char dir[512];
	uint64_t k = priv_idx++;

	cur.mask = 1ULL << g;
	cur.perguest = PG_SHARED;
	cur.mt_perguest = false;
	/* Created locally: recent, with nanoseconds. */
	cur.mt_s = 1730000000 + (int64_t)rn(30000000);
	cur.mt_ns = (uint32_t)rn(1000000000);
	switch (rn(4)) {
	case 0: {                               /* a Maildir folder */
		cur.uid = cur.gid = 1000 + (uint32_t)rn(20);
		snprintf(dir, sizeof(dir), "home/%s/Maildir/.%s/cur", word(cur.uid, 2), word(k, 2));
		unsigned n = 10 + (unsigned)rn(150);
		for (unsigned i = 0; i < n; i++) {
			char *f = xasprintf("17%08u.M%uP%u.g%u:2,S", (unsigned)rn(100000000),
					    (unsigned)rn(999999), (unsigned)rn(32768), g + 1);
			cur.mt_s = 1730000000 + (int64_t)rn(30000000);
			cur.mt_ns = (uint32_t)rn(1000000000);
			add(dir, f, SZ_MAIL, 0600);
			free(f);
		}
		break;
	}
	case 1: {                               /* a web site */
		cur.uid = cur.gid = 33;
		unsigned budget = 20 + (unsigned)rn(200);
		snprintf(dir, sizeof(dir), "srv/www/%s", word(k, 3));
		rtree(dir, 0, pct(50) ? ".html" : "", SZ_DATA, &budget, false);
		break;
	}
	case 2: {                               /* application state */
		cur.uid = cur.gid = 100 + (uint32_t)rn(50);
		unsigned budget = 10 + (unsigned)rn(120);
		snprintf(dir, sizeof(dir), "var/lib/%s", word(k, 3));
		rtree(dir, 1, ".db", SZ_DATA, &budget, false);
		break;
	}
	default:                                /* a package only this guest has */
		cur.uid = cur.gid = 0;
		{
			struct src s = { new_seed(), draw_size(SZ_DOC), new_seed(), draw_size(SZ_DOC) };
			pkg_time();
			package(1000000000ULL + k, &s);
		}
		break;
	}
}

/* Copies of packages a guest has: cp -a below opt/ (strict duplicates), cp below
 * usr/local/ (same content, new mtime with nanoseconds, the admin's owner). */
static size_t n_optcopy, n_localcopy;

static void copies(void)
{
	if (!npkgs)
		return;
	for (unsigned g = 0; g < nguests; g++) {
		for (unsigned kind = 0; kind < 2; kind++) {
			if (!pct(kind ? 30 : 50))
				continue;
			unsigned ncp = 1 + (unsigned)rn(2);
			for (unsigned c = 0; c < ncp; c++) {
				struct pkg *pk = NULL;
				for (int tries = 0; tries < 100 && !pk; tries++) {
					struct pkg *p = &pkgs[rn(npkgs)];
					if ((p->mask >> g & 1) && p->n >= 3 && p->n <= 400)
						pk = p;
				}
				if (!pk)
					continue;
				cur.mask = 1ULL << g;
				cur.perguest = PG_SHARED;
				cur.mt_perguest = false;
				cur.mt_s = 1735000000 + (int64_t)rn(10000000);
				cur.mt_ns = (uint32_t)rn(1000000000);
				cur.uid = cur.gid = kind ? 1000 : 0;
				for (size_t i = pk->first; i < pk->first + pk->n; i++) {
					struct item *src = &items[i];
					if (src->perguest != PG_SHARED || src->mt_perguest ||
					    !strncmp(src->path, "var/", 4))
						continue;
					char *p = kind
						? xasprintf("usr/local/%s-g%u/%s", pk->name, g + 1, src->path)
						: xasprintf("opt/%s-g%u/%s", pk->name, g + 1, src->path);
					struct item *it = add_raw(p, src->size, src->seed, src->mode);
					src = &items[i];        /* add_raw may move items */
					if (!kind) {
						it->mt_s = src->mt_s;
						it->mt_ns = src->mt_ns;
						it->uid = src->uid;
						it->gid = src->gid;
						n_optcopy++;
					} else {
						n_localcopy++;
					}
					free(p);
				}
			}
		}
	}
}

/* ------------------------------------------------------------ instances */

struct inst {
	const char *path;
	uint64_t size;
	uint64_t c0, c1;        /* content: seed and tweak, or (below 16 bytes) the bytes */
	int64_t mt_s;
	uint32_t mt_ns;
	uint32_t mode, uid, gid;
	uint8_t guest;
	uint8_t crafted;        /* CR_* + 1, or 0 */
};

static struct inst *insts;
static size_t ninsts;

static uint64_t total_bytes(bool alloc)
{
	uint64_t t = 0;

	for (size_t i = 0; i < nitems; i++) {
		uint64_t s = items[i].size;
		if (alloc)
			s = (s + 4095) & ~4095ULL;
		t += s * (uint64_t)__builtin_popcountll(items[i].mask);
	}
	return t;
}

static void tiny_bytes(struct inst *in, const char *s, size_t n)
{
	unsigned char b[16] = { 0 };

	memcpy(b, s, n);
	memcpy(&in->c0, b, 8);
	memcpy(&in->c1, b + 8, 8);
}

static void expand(void)
{
	size_t n = 0;

	for (size_t i = 0; i < nitems; i++)
		n += (size_t)__builtin_popcountll(items[i].mask);
	insts = xmalloc(n * sizeof(*insts));
	for (size_t i = 0; i < nitems; i++) {
		struct item *it = &items[i];
		it->first = ninsts;
		for (unsigned g = 0; g < nguests; g++) {
			if (!(it->mask >> g & 1))
				continue;
			struct inst *in = &insts[ninsts++];
			in->path = it->path;
			in->guest = (uint8_t)g;
			in->size = it->size;
			in->mode = it->mode;
			in->uid = it->uid;
			in->gid = it->gid;
			in->mt_s = it->mt_s;
			in->mt_ns = it->mt_ns;
			if (it->mt_perguest) {
				/* installed at the guest's own time: seconds and nanoseconds */
				uint64_t h = mix(i, g + 1);
				in->mt_s = 1700000000 + (int64_t)(h % 40000000);
				in->mt_ns = (uint32_t)((h >> 32) % 1000000000);
			}
			uint64_t seed = it->seed;
			if (it->perguest != PG_SHARED)
				seed = mix(it->seed, g + 1);
			if (it->perguest == PG_CONTENT)
				in->size = it->size / 2 + mix(seed, 7) % (it->size + 1);
			if (it->tiny_literal) {
				char b[16];
				if (it->size == 3)
					snprintf(b, sizeof(b), "g%u\n", g + 1);
				else
					snprintf(b, sizeof(b), "mail%06u\n", g + 1);
				in->size = strlen(b);
				tiny_bytes(in, b, in->size);
			} else if (in->size < 16 && in->size == it->size && it->perguest == PG_SHARED &&
				   it->seed < NTINY && strlen(tiny_pool[it->seed]) == in->size) {
				tiny_bytes(in, tiny_pool[it->seed], in->size);
			} else if (in->size < 16) {
				/* random short bytes, fixed by the seed */
				unsigned char b[16];
				struct cgen cg;
				cgen_init(&cg, seed);
				cgen_fill(&cg, b, 16);
				tiny_bytes(in, (const char *)b, in->size);
			} else {
				in->c0 = seed;
				in->c1 = 0;
			}
		}
	}
}

/* ------------------------------------------------------------ crafted near-duplicates */

enum {
	CR_SAMESIZE, CR_LASTBYTE, CR_MODE, CR_UID, CR_GID, CR_OWNER, CR_MTIME, CR_MTIME_NS,
	CR_COUNT
};
static const char *const cr_name[CR_COUNT] = {
	"same_size", "last_bytes", "mode_only", "uid_only", "gid_only", "owner_only",
	"mtime_only", "mtime_ns_only",
};
static size_t cr_count[CR_COUNT], cr_two;
static size_t n_samesize_pg, n_boundary;

static void craft_one(struct inst *in, int kind, uint64_t r)
{
	switch (kind) {
	case CR_SAMESIZE:
		in->c0 = mix(in->c0, r | 1);
		break;
	case CR_LASTBYTE:
		/* the last byte, or the last two */
		in->c1 = r & 1 ? 1 + (r >> 8) % 255 : (1 + (r >> 8) % 255) | (1 + (r >> 16) % 255) << 8;
		break;
	case CR_MODE: {
		static const uint32_t alt[] = { 0600, 0640, 0664, 0755, 0444, 0700 };
		uint32_t m = alt[r % 6];
		if (m == in->mode)
			m = alt[(r + 1) % 6];
		in->mode = m;
		break;
	}
	case CR_UID:
		in->uid = 1000 + (uint32_t)(r % 7) + (in->uid == 1000 + (uint32_t)(r % 7));
		break;
	case CR_GID:
		in->gid = 1000 + (uint32_t)(r % 7) + (in->gid == 1000 + (uint32_t)(r % 7));
		break;
	case CR_OWNER:
		in->uid = in->gid = 2000 + (uint32_t)(r % 5);
		break;
	case CR_MTIME:
		in->mt_s += 1 + (int64_t)(r % (30 * 86400));
		break;
	case CR_MTIME_NS:
		in->mt_ns = (uint32_t)((in->mt_ns + 1 + r % 999999999) % 1000000000);
		break;
	}
}

/* Candidates: strictly shared package items of 16 bytes or more, by size tier. */
static size_t *cand[3], ncand[3];

static void craft(unsigned per_kind)
{
	for (int t = 0; t < 3; t++)
		cand[t] = xmalloc(nitems * sizeof(**cand));
	for (size_t i = 0; i < nitems; i++) {
		const struct item *it = &items[i];
		if (!it->strict_shared || it->size < 16 || !strncmp(it->path, "opt/", 4))
			continue;
		int t = it->size < 8192 ? 0 : it->size < 65536 ? 1 : 2;
		cand[t][ncand[t]++] = i;
	}
	for (int kind = 0; kind < CR_COUNT; kind++) {
		for (unsigned k = 0; k < per_kind; k++) {
			/* spread over the size tiers: 1/2 small, 1/3 medium, 1/6 large */
			unsigned r3 = (unsigned)rn(6);
			int t = r3 < 3 ? 0 : r3 < 5 ? 1 : 2;
			if (!ncand[t])
				t = ncand[0] ? 0 : ncand[1] ? 1 : 2;
			if (!ncand[t])
				return;
			size_t pick = rn(ncand[t]);
			struct item *it = &items[cand[t][pick]];
			cand[t][pick] = cand[t][--ncand[t]];   /* each item at most once */
			unsigned ng = (unsigned)__builtin_popcountll(it->mask);
			unsigned two = ng >= 3 && pct(30) ? 2 : 1;
			uint64_t r = rnd(), b = rn(ng);
			for (unsigned j = 0; j < two; j++) {
				struct inst *in = &insts[it->first + (b + j) % ng];
				if (in->crafted)
					continue;
				craft_one(in, kind, r);
				in->crafted = (uint8_t)(kind + 1);
				cr_count[kind]++;
			}
			if (two == 2)
				cr_two++;
		}
	}
}

/* ------------------------------------------------------------ the manifest */

static int key_cmp(const struct inst *a, const struct inst *b)
{
#define CMP(f) do { if (a->f != b->f) return a->f < b->f ? -1 : 1; } while (0)
	CMP(size);
	CMP(c0);
	CMP(c1);
	CMP(mode);
	CMP(uid);
	CMP(gid);
	CMP(mt_s);
	CMP(mt_ns);
#undef CMP
	return 0;
}

static int by_key(const void *x, const void *y)
{
	const struct inst *a = &insts[*(const size_t *)x], *b = &insts[*(const size_t *)y];
	int c = key_cmp(a, b);

	if (c)
		return c;
	if (a->guest != b->guest)
		return a->guest < b->guest ? -1 : 1;
	return strcmp(a->path, b->path);
}

static int by_place(const void *x, const void *y)
{
	const struct inst *a = &insts[*(const size_t *)x], *b = &insts[*(const size_t *)y];

	if (a->guest != b->guest)
		return a->guest < b->guest ? -1 : 1;
	return strcmp(a->path, b->path);
}

/* Same content, other metadata: pairs a content-only tool may link but a strict one must not. */
static int content_cmp(const struct inst *a, const struct inst *b)
{
	if (a->size != b->size)
		return a->size < b->size ? -1 : 1;
	if (a->c0 != b->c0)
		return a->c0 < b->c0 ? -1 : 1;
	if (a->c1 != b->c1)
		return a->c1 < b->c1 ? -1 : 1;
	return 0;
}

struct mstats {
	size_t classes, class_names, classes16, names16, small_classes, small_names;
	uint64_t saveable16;
	size_t content_sets, content_names;     /* by content only (16 bytes or more) */
	uint64_t content_saveable;
};

static void manifest(const char *file, struct mstats *ms)
{
	size_t *ord = xmalloc(ninsts * sizeof(*ord));
	FILE *mf = NULL;

	for (size_t i = 0; i < ninsts; i++)
		ord[i] = i;
	qsort(ord, ninsts, sizeof(*ord), by_key);
	if (file && !(mf = fopen(file, "w")))
		die("%s", file);
	for (size_t i = 0; i < ninsts;) {
		size_t j = i + 1;
		while (j < ninsts && !key_cmp(&insts[ord[i]], &insts[ord[j]]))
			j++;
		if (j - i >= 2) {
			const struct inst *a = &insts[ord[i]];
			ms->classes++;
			ms->class_names += j - i;
			if (a->size >= 16) {
				ms->classes16++;
				ms->names16 += j - i;
				ms->saveable16 += a->size * (j - i - 1);
			} else {
				ms->small_classes++;
				ms->small_names += j - i;
			}
			if (mf) {
				for (size_t k = i; k < j; k++)
					fprintf(mf, "%sg%u/%s", k > i ? "\t" : "",
						insts[ord[k]].guest + 1, insts[ord[k]].path);
				fputc('\n', mf);
			}
		}
		i = j;
	}
	if (mf && fclose(mf) != 0)
		die("%s", file);
	/* content only (ord is sorted by content first) */
	for (size_t i = 0; i < ninsts;) {
		size_t j = i + 1;
		while (j < ninsts && !content_cmp(&insts[ord[i]], &insts[ord[j]]))
			j++;
		if (j - i >= 2 && insts[ord[i]].size >= 16) {
			ms->content_sets++;
			ms->content_names += j - i;
			ms->content_saveable += insts[ord[i]].size * (j - i - 1);
		}
		i = j;
	}
	free(ord);
}

/* ------------------------------------------------------------ writing */

static unsigned char *wbuf;
#define WBUF (1u << 20)

static void write_file(int gfd, const struct inst *in, const char *shown)
{
	int fd = openat(gfd, in->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		die("create %s", shown);
	if (in->size < 16) {
		unsigned char b[16];
		memcpy(b, &in->c0, 8);
		memcpy(b + 8, &in->c1, 8);
		if (in->size && write(fd, b, in->size) != (ssize_t)in->size)
			die("write %s", shown);
	} else {
		struct cgen cg;
		uint64_t left = in->size;
		cgen_init(&cg, in->c0);
		while (left) {
			size_t n = left < WBUF ? (size_t)left : WBUF;
			cgen_fill(&cg, wbuf, (n + 7) & ~(size_t)7);
			if (n == left && in->c1) {
				wbuf[n - 1] ^= (unsigned char)(in->c1 & 0xff);
				wbuf[n - 2] ^= (unsigned char)(in->c1 >> 8);
			}
			for (size_t off = 0; off < n;) {
				ssize_t w = write(fd, wbuf + off, n - off);
				if (w < 0)
					die("write %s", shown);
				off += (size_t)w;
			}
			left -= n;
		}
	}
	/* chown clears set-id bits: owner first, then the mode, the mtime last */
	if (fchown(fd, in->uid, in->gid) < 0)
		die("chown %s", shown);
	if (fchmod(fd, in->mode) < 0)
		die("chmod %s", shown);
	struct timespec ts[2] = {
		{ .tv_sec = in->mt_s, .tv_nsec = in->mt_ns },
		{ .tv_sec = in->mt_s, .tv_nsec = in->mt_ns },
	};
	if (futimens(fd, ts) < 0)
		die("utimens %s", shown);
	if (close(fd) < 0)
		die("close %s", shown);
}

/* Creates the directories of every guest and writes the files; returns the
 * number of directories (in plan mode: counts them). */
static size_t create_all(const char *root, bool plan)
{
	size_t *ord = xmalloc(ninsts * sizeof(*ord));
	struct sset dirs = { 0 };
	size_t ndirs = 0;
	int rfd = -1, gfd = -1;
	unsigned g = ~0u;
	char shown[4200];

	for (size_t i = 0; i < ninsts; i++)
		ord[i] = i;
	qsort(ord, ninsts, sizeof(*ord), by_place);
	if (!plan) {
		rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rfd < 0)
			die("open %s", root);
		wbuf = xmalloc(WBUF + 8);
	}
	for (size_t i = 0; i < ninsts; i++) {
		const struct inst *in = &insts[ord[i]];
		if (in->guest != g) {
			g = in->guest;
			sset_clear(&dirs);
			ndirs++;
			if (!plan) {
				char gn[16];
				snprintf(gn, sizeof(gn), "g%u", g + 1);
				if (gfd >= 0)
					close(gfd);
				if (mkdirat(rfd, gn, 0755) < 0)
					die("mkdir %s/%s", root, gn);
				gfd = openat(rfd, gn, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (gfd < 0)
					die("open %s/%s", root, gn);
			}
		}
		if (!plan)
			snprintf(shown, sizeof(shown), "%s/g%u/%s", root, g + 1, in->path);
		char *p = xstrdup(in->path);
		for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
			*s = '\0';
			if (!sset_get(&dirs, p)) {
				sset_put(&dirs, p, 1);
				ndirs++;
				if (!plan && mkdirat(gfd, p, 0755) < 0)
					die("mkdir %s/g%u/%s", root, g + 1, p);
			}
			*s = '/';
		}
		free(p);
		if (!plan)
			write_file(gfd, in, shown);
	}
	if (gfd >= 0)
		close(gfd);
	if (rfd >= 0)
		close(rfd);
	sset_clear(&dirs);
	free(ord);
	return ndirs;
}

/* ------------------------------------------------------------ main */

static void usage(int st)
{
	fprintf(st ? stderr : stdout,
		"Usage: %s [-n FILES] [-g GUESTS] [-d DUPSETS] [-c CRAFTED] [-s SEED] [-b MIB]\n"
		"              [-m MANIFEST] [-P] ROOT\n", prog);
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
	unsigned long nfiles = 250000, seed = 1, budget_mib = 1536;
	long dupsets = -1, crafted = -1;
	const char *mfile = NULL;
	bool plan = false;
	int opt;

	while ((opt = getopt(argc, argv, "n:g:d:c:s:b:m:Ph")) != -1) {
		switch (opt) {
		case 'n': nfiles = num(optarg, 100, 50000000); break;
		case 'g': nguests = (unsigned)num(optarg, 2, MAXG); break;
		case 'd': dupsets = (long)num(optarg, 0, 50000000); break;
		case 'c': crafted = (long)num(optarg, 0, 1000000); break;
		case 's': seed = num(optarg, 0, ~0UL); break;
		case 'b': budget_mib = num(optarg, 1, 1UL << 30); break;
		case 'm': mfile = optarg; break;
		case 'P': plan = true; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (!nguests)
		nguests = 8;
	if (plan ? argc - optind > 1 : argc - optind != 1)
		usage(2);
	const char *root = optind < argc ? argv[optind] : NULL;
	if (dupsets < 0)
		dupsets = (long)(nfiles * 3 / 25);
	if (crafted < 0)
		crafted = dupsets / 60 < 5 ? 5 : dupsets / 60;
	all_mask = nguests == 64 ? ~0ULL : (1ULL << nguests) - 1;
	umask(0);
	rng_state = (seed + 1) * 0x9e3779b97f4a7c15ULL;
	if (!rng_state)
		rng_state = 1;
	for (int i = 0; i < 8; i++)
		rnd();
	next_seed = mix(seed, 0xc0ffee);

	for (int l = 0; l < 24; l++) {
		lic_seed[l] = new_seed();
		lic_size[l] = logu(1000, 20000);
	}

	/* 1. The shared distribution, until it has about -d strictly shared files. */
	size_t shared = 0;
	while (shared < (size_t)dupsets) {
		uint64_t mask;
		unsigned r = (unsigned)rn(100);
		if (r < 45)
			mask = all_mask;                       /* the base system */
		else if (r < 92)
			mask = pick_guests(2 + (unsigned)rn(nguests - 1 > 2 ? nguests - 2 : 1));
		else
			mask = pick_guests(1);                 /* only one guest has it */
		size_t before = nitems;
		source(mask);
		for (size_t i = before; i < nitems; i++)
			shared += items[i].strict_shared;
	}
	/* 2. Boundary sizes, shared by every guest: 15 bytes (too small for
	 *    vhashify), 16 and 17 (linked). */
	cur.mask = all_mask;
	cur.perguest = PG_SHARED;
	cur.mt_perguest = false;
	cur.uid = cur.gid = 0;
	pkg_time();
	for (unsigned i = 0; i < 20; i++) {
		for (unsigned sz = 15; sz <= 17; sz++) {
			char *p = xasprintf("usr/share/vaudit-bench/boundary/b%02u-%u", i, sz);
			add_raw(p, sz, new_seed(), 0644);
			n_boundary += nguests;
			free(p);
		}
	}
	/* 3. Per-guest files, copies of packages. */
	private_base();
	copies();
	/* 4. Unique data until there are enough files. */
	for (;;) {
		size_t n = 0;
		for (size_t i = 0; i < nitems; i++)
			n += (size_t)__builtin_popcountll(items[i].mask);
		if (n >= nfiles)
			break;
		for (unsigned g = 0; g < nguests; g++)
			private_chunk(g);
	}

	/* 5. The data cap: scale the part of each file above 64 KiB. */
	uint64_t budget = (uint64_t)budget_mib << 20, total = total_bytes(false), over = 0;
	if (total > budget) {
		for (size_t i = 0; i < nitems; i++)
			if (items[i].size > 65536)
				over += (items[i].size - 65536) *
					(uint64_t)__builtin_popcountll(items[i].mask);
		uint64_t base = total - over;
		long double f = base < budget ? (long double)(budget - base) / over : 0;
		for (size_t i = 0; i < nitems; i++)
			if (items[i].size > 65536)
				items[i].size = 65536 + (uint64_t)((items[i].size - 65536) * f);
	}

	expand();
	for (size_t i = 0; i < nitems; i++)
		if (items[i].perguest == PG_SAMESIZE)
			n_samesize_pg += (size_t)__builtin_popcountll(items[i].mask);
	craft((unsigned)crafted);

	struct mstats ms = { 0 };
	manifest(plan ? NULL : mfile, &ms);

	uint64_t bytes = 0, alloc = 0, largest = 0;
	size_t small = 0, empty = 0, big = 0;
	for (size_t i = 0; i < ninsts; i++) {
		bytes += insts[i].size;
		alloc += (insts[i].size + 4095) & ~4095ULL;
		if (insts[i].size > largest)
			largest = insts[i].size;
		small += insts[i].size < 16;
		empty += !insts[i].size;
		big += insts[i].size >= 65536;
	}
	size_t ndirs = create_all(root, plan);

	printf("guests=%u\n", nguests);
	printf("seed=%lu\n", seed);
	printf("files=%zu\n", ninsts);
	printf("dirs=%zu\n", ndirs);
	printf("bytes=%llu\n", (unsigned long long)bytes);
	printf("alloc_bytes=%llu\n", (unsigned long long)alloc);
	printf("largest=%llu\n", (unsigned long long)largest);
	printf("files_64k_or_more=%zu\n", big);
	printf("packages=%zu\n", npkgs);
	printf("shared_package_files=%zu\n", shared);
	printf("dup_sets=%zu\n", ms.classes);
	printf("dup_names=%zu\n", ms.class_names);
	printf("dup_sets_16=%zu\n", ms.classes16);
	printf("dup_names_16=%zu\n", ms.names16);
	printf("dup_saveable_bytes_16=%llu\n", (unsigned long long)ms.saveable16);
	printf("dup_sets_small=%zu\n", ms.small_classes);
	printf("dup_names_small=%zu\n", ms.small_names);
	printf("content_sets_16=%zu\n", ms.content_sets);
	printf("content_names_16=%zu\n", ms.content_names);
	printf("content_saveable_bytes_16=%llu\n", (unsigned long long)ms.content_saveable);
	printf("small_files=%zu\n", small);
	printf("empty_files=%zu\n", empty);
	printf("boundary_files=%zu\n", n_boundary);
	printf("opt_copies=%zu\n", n_optcopy);
	printf("local_copies=%zu\n", n_localcopy);
	printf("samesize_perguest=%zu\n", n_samesize_pg);
	for (int k = 0; k < CR_COUNT; k++)
		printf("crafted_%s=%zu\n", cr_name[k], cr_count[k]);
	printf("crafted_in_two_guests=%zu\n", cr_two);
	return 0;
}
