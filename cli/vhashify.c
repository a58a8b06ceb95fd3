/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vhashify.c - the vhashify command: share the identical files of guests
 * through a content-addressed hash store (hard links, protected against
 * changes), or with --revert give them private copies back.  Compatible
 * with util-vserver's vhashify; every change is journaled for
 * `vaudit --undo`.
 *
 * This file reads the command line and the configuration, and picks the
 * store of each tree: --destination, else the entry of the guest's hash
 * directory (apps/vunify/hash, else .defaults/apps/vunify/hash) on the
 * guest's device.  Trees with the same store are hashified in one engine
 * call (va_vhashify(), migrate/unify/unify.h), so their files share entries.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "core/digest.h"
#include "core/message.h"
#include "core/vsconfig.h"
#include "cli/unify-cli.h"
#include "migrate/unify/unify.h"

#define PROG "vhashify"

static void usage(FILE *fp)
{
	fprintf(fp,
"Usage: %s [-nv] [--refresh] [--ignore-mtime] [--host-root PREFIX] [OPTIONS] GUEST...\n"
"       %s --all [-nv] [--refresh] [--ignore-mtime] [--host-root PREFIX] [OPTIONS]\n"
"       %s --manually --destination HASHDIR [-nv] [--refresh] [--ignore-mtime]\n"
"                [OPTIONS] [--] PATH EXCL [PATH EXCL]...\n"
"       %s --revert [--destination HASHDIR] [-nv] [OPTIONS] PATH...\n"
"Replace the identical files of guests (same mode, owner, group, size,\n"
"mtime, content and extended attributes) by hard links to one entry of a\n"
"hash store, and protect the shared inodes so that no guest can change\n"
"them.  Files smaller than %d bytes are left alone.  With --revert, give\n"
"every name below PATH that is linked to the store a private copy.  Every\n"
"change is journaled: 'vaudit --undo JOURNAL' restores the guests as they\n"
"were.\n"
"\n"
"GUEST is the name of a guest in the configuration (%s): its vdir is\n"
"the tree, apps/vunify/exclude (else .defaults/apps/vunify/exclude, else the\n"
"shipped list) its exclude list, and the entry of its hash directory\n"
"(apps/vunify/hash, else .defaults/apps/vunify/hash) on the filesystem of\n"
"the vdir its store.  With --manually, each PATH is a directory and each\n"
"EXCL an exclude list file (\"\" for none).  --revert without --destination\n"
"takes the store of the guest whose vdir holds PATH.  A run whose every\n"
"file is on another filesystem or mount than the store exits with 2.\n"
"\n"
"Options:\n"
"      --all             every enabled guest of the configuration that has a\n"
"                        vdir and an apps/vunify directory\n"
"      --manually        take the trees and exclude lists from the command\n"
"                        line (needs --destination)\n"
"      --destination=HASHDIR  the hash store to use (an existing directory on\n"
"                        the same mount as the trees), or util-vserver's hash\n"
"                        configuration directory (method, and links such as\n"
"                        00 to the stores: each tree gets the one on its mount)\n"
"      --revert          give private copies instead of linking\n"
"  -n, --dry-run         show what would be done ('would link ...'); change\n"
"                        nothing, write no journal\n"
"  -v, --verbose         more output; repeat for more: 1 problems worth seeing\n"
"                        (immutable, changed, errors) and skipped guests, 2\n"
"                        also every link, store entry, revert, flag change\n"
"                        and skip with its reason, 3 also files already\n"
"                        shared, 4 link lines name their master, 6 also\n"
"                        symlinks and special files\n"
"      --refresh         also re-link files that are already immutable and\n"
"                        shared\n"
"      --ignore-mtime    files with different mtimes may be linked (else a\n"
"                        store entry is linked to files of its second, as by\n"
"                        util-vserver; files of the guests to the nanosecond\n"
"                        unless one of them has none)\n"
"      --sledgehammer    a new store entry is the guest's own inode instead\n"
"                        of a copy\n"
"      --method=NAME     digest of a new store: sha256 (default), sha1, md5;\n"
"                        the method file of an existing store (or of the\n"
"                        configured hash directory) wins\n"
"      --memory-limit=SIZE  the memory the run may use (K, M, G, T: powers of\n"
"                        1024; default a quarter of the RAM): the candidates\n"
"                        are read in passes by size range when their digests\n"
"                        would not fit beside the table of files; never an\n"
"                        error, and the same result in any number of passes\n",
		PROG, PROG, PROG, PROG, VA_UNIFY_MINSIZE, VA_CONFIG_DIR);
	ucli_help_common(fp, PROG);
}

/* The trees (or revert paths) that share one store. */
struct group {
	char *store;                    /* real path (owned) */
	const struct va_hash_dir *hdir; /* configured hash directory, or NULL */
	const char *method_dir;         /* --destination's hash configuration directory, or NULL */
	enum va_digest_method method;
	struct va_utree *trees;
	size_t ntrees;
	const char **paths;             /* --revert */
	size_t npaths;
};

struct run {
	struct ucli c;
	struct va_config *cfg;
	struct group *groups;
	size_t ngroups, capgroups;
	char **owned;                   /* strings to free */
	size_t nowned, capowned;
	struct va_excl_list *lists;     /* --manually */
	size_t nlists;
	enum va_digest_method method;
	bool method_given;
	bool revert;                    /* --revert: the groups hold paths */
	/* --destination: a store, or util-vserver's hash configuration
	 * directory (method, and links such as "00" to the stores) */
	const char *dest;               /* its real path, or NULL */
	bool dest_config;
	struct dest_entry {
		char *name, *path;      /* entry name, real path of its directory */
		dev_t dev;
		uint64_t mnt_id;
		bool mnt_known;
	} *dentries;
	size_t ndentries;
};

static void release_run(struct run *rn)
{
	for (size_t i = 0; i < rn->ngroups; i++) {
		free(rn->groups[i].store);
		free(rn->groups[i].trees);
		free(rn->groups[i].paths);
	}
	free(rn->groups);
	for (size_t i = 0; i < rn->ndentries; i++) {
		free(rn->dentries[i].name);
		free(rn->dentries[i].path);
	}
	free(rn->dentries);
	for (size_t i = 0; i < rn->nowned; i++)
		free(rn->owned[i]);
	free(rn->owned);
	for (size_t i = 0; i < rn->nlists; i++)
		va_excl_release(&rn->lists[i]);
	free(rn->lists);
	va_config_free(rn->cfg);
	ucli_free(&rn->c);
}

static int nomem(struct run *rn)
{
	cli_say(&rn->c.cli, "%s", strerror(ENOMEM));
	return CLI_EXIT_TROUBLE;
}

/* Keep @s (malloc'd) until the end; NULL stays NULL. */
static char *own(struct run *rn, char *s)
{
	if (s && va_array_grow(&rn->owned, &rn->capowned, rn->nowned, sizeof(*rn->owned)) < 0) {
		free(s);
		return NULL;
	}
	if (s)
		rn->owned[rn->nowned++] = s;
	return s;
}

/* The group of store @store (real path, malloc'd: taken). */
static struct group *group_for(struct run *rn, char *store, const struct va_hash_dir *hdir)
{
	struct group *gr;

	for (size_t i = 0; i < rn->ngroups; i++)
		if (strcmp(rn->groups[i].store, store) == 0) {
			free(store);
			return &rn->groups[i];
		}
	if (va_array_grow(&rn->groups, &rn->capgroups, rn->ngroups, sizeof(*rn->groups)) < 0) {
		free(store);
		return NULL;
	}
	gr = &rn->groups[rn->ngroups++];
	memset(gr, 0, sizeof(*gr));
	gr->store = store;
	gr->hdir = hdir;
	gr->method_dir = !hdir && rn->dest_config ? rn->dest : NULL;
	return gr;
}

static int add_tree(struct run *rn, struct group *gr, const struct va_utree *t)
{
	struct va_utree *n;

	for (size_t i = 0; i < rn->ngroups; i++)
		for (size_t k = 0; k < rn->groups[i].ntrees; k++)
			if (strcmp(rn->groups[i].trees[k].root, t->root) == 0) {
				cli_msg(&rn->c.cli, t->root, "named twice", NULL);
				return CLI_EXIT_TROUBLE;
			}
	n = realloc(gr->trees, (gr->ntrees + 1) * sizeof(*n));
	if (!n)
		return nomem(rn);
	gr->trees = n;
	gr->trees[gr->ntrees++] = *t;
	return 0;
}

static int add_path(struct run *rn, struct group *gr, const char *path)
{
	const char **n = realloc(gr->paths, (gr->npaths + 1) * sizeof(*n));

	if (!n)
		return nomem(rn);
	gr->paths = n;
	gr->paths[gr->npaths++] = path;
	return 0;
}

/* ------------------------------------------------------------------ stores */

/*
 * The store of guest @g: the entry of its hash directory on the vdir's
 * device (util-vserver ignores a second entry on the same device).
 */
static int guest_store(struct run *rn, long g, char **ret, const struct va_hash_dir **ret_hdir)
{
	const struct va_guest *gu = &rn->cfg->guests[g];
	const struct va_hash_dir *h;
	const struct va_hash_entry *match = NULL, *other = NULL;
	struct dbuf b = DBUF_INIT;

	*ret = NULL;
	*ret_hdir = NULL;
	if (gu->hash < 0) {
		cli_msg(&rn->c.cli, gu->name, "no hash directory configured "
			 "(apps/vunify/hash, .defaults/apps/vunify/hash) and no --destination", NULL);
		return CLI_EXIT_TROUBLE;
	}
	h = &rn->cfg->hashdirs[gu->hash];
	for (size_t k = 0; k < h->nentries && !match; k++) {
		const struct va_hash_entry *e = &h->entries[k];

		if (!e->path || e->duplicate || e->id.dev != gu->vdir_id.dev)
			continue;
		if (e->id.mnt_known && gu->vdir_id.mnt_known && e->id.mnt_id != gu->vdir_id.mnt_id)
			other = other ? other : e;
		else
			match = e;
	}
	if (!match) {
		if (other) {
			dbuf_addf(&b, "%s/%s", h->path, other->name);
			cli_msg(&rn->c.cli, b.buf ? b.buf : h->path, "the store is on another mount than "
				 "the guest's vdir (a bind mount?): link() would fail with EXDEV", gu->vdir);
		} else {
			dbuf_adds(&b, "no entry of this hash directory is on the filesystem of ");
			va_quote(&b, gu->vdir, strlen(gu->vdir));
			cli_msg(&rn->c.cli, h->path, dbuf_str(&b), NULL);
		}
		dbuf_release(&b);
		return CLI_EXIT_TROUBLE;
	}
	*ret = strdup(match->path);
	*ret_hdir = h;
	return *ret ? 0 : nomem(rn);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * --destination @dest (a real path): a store, or a hash configuration
 * directory as util-vserver takes it (va_hash_holds_links()); then its
 * entries (any name but dot names, byte order, that lead to a directory;
 * a second one on the same device is ignored, as by util-vserver).
 * Return: 0 or the exit status.
 */
static int load_destination(struct run *rn, const char *dest)
{
	int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d;
	struct dirent *de;

	rn->dest = dest;
	r = dfd < 0 ? -errno : va_hash_holds_links(dfd);
	if (r <= 0) {
		if (dfd >= 0)
			close(dfd);
		if (r < 0)
			cli_msg(&rn->c.cli, dest, "cannot read the hash directory", strerror(-r));
		return r < 0 ? CLI_EXIT_TROUBLE : 0;
	}
	rn->dest_config = true;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		cli_msg(&rn->c.cli, dest, "cannot read the hash directory", strerror(errno));
		return CLI_EXIT_TROUBLE;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (va_array_grow(&names, &cap, n, sizeof(*names)) < 0 || !(names[n] = strdup(de->d_name))) {
			closedir(d);
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
			return nomem(rn);
		}
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_name);
	rn->dentries = calloc(n ? n : 1, sizeof(*rn->dentries));
	for (size_t i = 0; i < n && rn->dentries; i++) {
		struct statx sx;
		struct dest_entry *e = &rn->dentries[rn->ndentries];
		dev_t dev;
		bool dup = false;

		if (statx(dirfd(d), names[i], 0, STATX_BASIC_STATS
#ifdef STATX_MNT_ID
			  | STATX_MNT_ID
#endif
			  , &sx) < 0 || !S_ISDIR(sx.stx_mode))
			continue;       /* method, blocks, a dangling link: not a store */
		dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
		for (size_t k = 0; k < rn->ndentries; k++)
			dup |= rn->dentries[k].dev == dev;
		if (dup) {
			struct dbuf b = DBUF_INIT;

			dbuf_addf(&b, "%s/%s", dest, names[i]);
			cli_msg(&rn->c.cli, dbuf_str(&b), "a second entry on the same device: ignored", NULL);
			dbuf_release(&b);
			continue;
		}
		e->dev = dev;
#ifdef STATX_MNT_ID
		e->mnt_known = sx.stx_mask & STATX_MNT_ID;
		e->mnt_id = e->mnt_known ? sx.stx_mnt_id : 0;
#endif
		e->name = names[i];
		names[i] = NULL;
		{
			struct dbuf b = DBUF_INIT;

			dbuf_addf(&b, "%s/%s", dest, e->name);
			e->path = realpath(dbuf_str(&b), NULL);
			dbuf_release(&b);
		}
		if (!e->path) {
			free(e->name);
			continue;
		}
		rn->ndentries++;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	if (!rn->dentries)
		return nomem(rn);
	return 0;
}

/*
 * The store of a tree or path @what on device @dev (mount @mnt when
 * @mnt_known) given --destination: the store itself, or the entry of the
 * hash configuration directory on that device and mount.
 * Return: 0 (*@ret malloc'd) or the exit status after a message.
 */
static int dest_store(struct run *rn, const char *what, dev_t dev, uint64_t mnt, bool mnt_known,
		      char **ret)
{
	const struct dest_entry *match = NULL, *other = NULL;

	*ret = NULL;
	if (!rn->dest_config) {
		*ret = strdup(rn->dest);
		return *ret ? 0 : nomem(rn);
	}
	for (size_t k = 0; k < rn->ndentries && !match; k++) {
		const struct dest_entry *e = &rn->dentries[k];

		if (e->dev != dev)
			continue;
		if (e->mnt_known && mnt_known && e->mnt_id != mnt)
			other = other ? other : e;
		else
			match = e;
	}
	if (match) {
		*ret = strdup(match->path);
		return *ret ? 0 : nomem(rn);
	}
	if (other) {
		cli_msg(&rn->c.cli, other->path, "the store is on another mount than", what);
	} else {
		struct dbuf b = DBUF_INIT;

		dbuf_adds(&b, "no entry of this hash configuration directory is on the filesystem of ");
		va_quote(&b, what, strlen(what));
		cli_msg(&rn->c.cli, rn->dest, dbuf_str(&b), NULL);
		dbuf_release(&b);
	}
	return CLI_EXIT_TROUBLE;
}

/* dest_store() for the directory or file @path. */
static int dest_store_of(struct run *rn, const char *path, char **ret)
{
	struct statx sx;

	*ret = NULL;
	if (!rn->dest_config)
		return dest_store(rn, path, 0, 0, false, ret);
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS
#ifdef STATX_MNT_ID
		  | STATX_MNT_ID
#endif
		  , &sx) < 0) {
		cli_msg(&rn->c.cli, path, "cannot stat", strerror(errno));
		return CLI_EXIT_TROUBLE;
	}
	return dest_store(rn, path, makedev(sx.stx_dev_major, sx.stx_dev_minor),
#ifdef STATX_MNT_ID
			  sx.stx_mask & STATX_MNT_ID ? sx.stx_mnt_id : 0, sx.stx_mask & STATX_MNT_ID,
#else
			  0, false,
#endif
			  ret);
}

/* Read the first line of DIR/method: 1 found, 0 none, -errno. */
static int read_method(const char *dir, char *buf, size_t size)
{
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd;
	ssize_t n;

	if (dfd < 0)
		return -errno;
	fd = openat(dfd, "method", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	close(dfd);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 1;
}

/*
 * The digest of the group's store: its method file, else the configured
 * hash directory's, else --method.
 */
static int store_method(struct run *rn, struct group *gr)
{
	char text[256];
	struct dbuf file = DBUF_INIT;
	const char *source = NULL;
	int r = read_method(gr->store, text, sizeof(text));

	if (r < 0) {
		dbuf_addf(&file, "%s/method", gr->store);
		cli_msg(&rn->c.cli, dbuf_str(&file), "cannot read the hash method", strerror(-r));
		dbuf_release(&file);
		return CLI_EXIT_TROUBLE;
	}
	if (r > 0) {
		dbuf_addf(&file, "%s/method", gr->store);
		source = text;
	} else if (gr->hdir && gr->hdir->method) {
		dbuf_addf(&file, "%s/method", gr->hdir->path);
		source = gr->hdir->method;
	} else if (gr->method_dir) {
		/* util-vserver keeps it in the hash configuration directory */
		r = read_method(gr->method_dir, text, sizeof(text));
		dbuf_addf(&file, "%s/method", gr->method_dir);
		if (r < 0) {
			cli_msg(&rn->c.cli, dbuf_str(&file), "cannot read the hash method", strerror(-r));
			dbuf_release(&file);
			return CLI_EXIT_TROUBLE;
		}
		source = r > 0 ? text : NULL;
	}
	if (!source) {
		gr->method = rn->method;
		return 0;
	}
	if (va_digest_parse(source, strlen(source), &gr->method) < 0) {
		cli_msg(&rn->c.cli, dbuf_str(&file), "unknown hash method (vhashify knows md5, sha1, sha256)",
			 NULL);
		dbuf_release(&file);
		return CLI_EXIT_TROUBLE;
	}
	if (rn->method_given && gr->method != rn->method) {
		struct dbuf what = DBUF_INIT;

		dbuf_addf(&what, "the store uses %s: --method=%s ignored", va_digest_name(gr->method),
			  va_digest_name(rn->method));
		cli_msg(&rn->c.cli, dbuf_str(&file), dbuf_str(&what), NULL);
		dbuf_release(&what);
	}
	dbuf_release(&file);
	return 0;
}

/* ------------------------------------------------------------------ trees */

static int guest_tree(struct run *rn, long g, const char *dest)
{
	const struct va_guest *gu = &rn->cfg->guests[g];
	const struct va_hash_dir *hdir = NULL;
	struct group *gr;
	char *store = NULL;
	int status;

	if (!gu->vdir) {
		cli_msg(&rn->c.cli, gu->name, "the guest has no usable vdir", gu->vdir_why);
		return CLI_EXIT_TROUBLE;
	}
	if (!gu->has_vunify) {
		cli_msg(&rn->c.cli, gu->name, "the guest has no apps/vunify configuration", NULL);
		return CLI_EXIT_TROUBLE;
	}
	if ((status = ucli_guest_exclude(&rn->c, rn->cfg, g)))
		return status;
	if (dest) {
		if ((status = dest_store(rn, gu->vdir, gu->vdir_id.dev, gu->vdir_id.mnt_id,
					 gu->vdir_id.mnt_known, &store)))
			return status;
	} else if ((status = guest_store(rn, g, &store, &hdir))) {
		return status;
	}
	gr = group_for(rn, store, hdir);
	if (!gr)
		return nomem(rn);
	return add_tree(rn, gr, &(struct va_utree){ gu->vdir, gu->name, &gu->exclude });
}

/* The guest whose vdir is @real or one of its parents, or -1. */
static long guest_of(const struct va_config *cfg, const char *real)
{
	char *p = strdup(real);
	long g = -1;

	while (p) {
		struct stat st;
		char *slash;

		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode) &&
		    (g = va_config_find_vdir(cfg, st.st_dev, st.st_ino)) >= 0)
			break;
		slash = strrchr(p, '/');
		if (!slash || slash[1] == '\0')
			break;
		slash[slash == p] = '\0';
	}
	free(p);
	return g;
}

/*
 * The absolute path of @path without following its last component (a
 * symlink there is the name to revert, not what it points to).
 */
static char *abs_name(const char *path)
{
	char *copy1 = strdup(path), *copy2 = strdup(path), *dir, *base, *rdir, *out = NULL;

	if (!copy1 || !copy2)
		goto out;
	dir = dirname(copy1);
	base = basename(copy2);
	if (!strcmp(base, "/") || !strcmp(base, ".") || !strcmp(base, "..")) {
		out = realpath(path, NULL);
		goto out;
	}
	rdir = realpath(dir, NULL);
	if (rdir) {
		struct dbuf b = DBUF_INIT;

		if (dbuf_addf(&b, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", base) == 0)
			out = b.buf;
		free(rdir);
	}
out:
	free(copy1);
	free(copy2);
	return out;
}

static int revert_path(struct run *rn, const char *arg, const char *dest)
{
	struct stat st;
	char *p, *store = NULL;
	const struct va_hash_dir *hdir = NULL;
	struct group *gr;
	int status;

	errno = 0;
	p = own(rn, abs_name(arg));
	if (!p || lstat(p, &st) < 0) {
		cli_msg(&rn->c.cli, arg, "cannot revert", strerror(errno ? errno : ENOMEM));
		return CLI_EXIT_TROUBLE;
	}
	if (dest) {
		if ((status = dest_store_of(rn, p, &store)))
			return status;
	} else {
		long g = guest_of(rn->cfg, p);

		if (g < 0) {
			cli_msg(&rn->c.cli, arg, "not inside the vdir of a configured guest: "
				 "name the hash directory with --destination", NULL);
			return CLI_EXIT_TROUBLE;
		}
		if ((status = guest_store(rn, g, &store, &hdir)))
			return status;
	}
	gr = group_for(rn, store, hdir);
	if (!gr)
		return nomem(rn);
	return add_path(rn, gr, p);
}

/* ------------------------------------------------------------------ modes */

/* --manually --destination DIR PATH EXCL [PATH EXCL]...  Return: 0 or the exit status. */
static int groups_manually(struct run *rn, char *const *args, size_t nargs)
{
	int status = 0;

	rn->lists = calloc(nargs / 2, sizeof(*rn->lists));
	if (!rn->lists)
		return nomem(rn);
	rn->nlists = nargs / 2;
	for (size_t i = 0; i < nargs / 2 && !status; i++) {
		char *root = NULL, *store = NULL;
		struct group *gr = NULL;
		bool use = false;

		status = ucli_realdir(&rn->c, args[2 * i], "tree", &root);
		if (!status && !own(rn, root))
			status = nomem(rn);
		if (!status)
			status = dest_store_of(rn, root, &store);
		if (!status && !(gr = group_for(rn, store, NULL)))
			status = nomem(rn);
		if (!status)
			status = ucli_load_excl(&rn->c, args[2 * i + 1], &rn->lists[i], &use);
		if (!status)
			status = add_tree(rn, gr, &(struct va_utree){ root, NULL, use ? &rn->lists[i] : NULL });
	}
	return status;
}

/* --all: every enabled guest with a vdir and apps/vunify.  Return: 0 or the exit status. */
static int groups_all(struct run *rn, const char *dest)
{
	int status = 0;

	for (size_t i = 0; i < rn->cfg->nguests && !status; i++) {
		const struct va_guest *gu = &rn->cfg->guests[i];
		const char *why = gu->disabled ? "disabled: skipped" :
				  !gu->vdir ? "no usable vdir: skipped" :
				  !gu->has_vunify ? "no apps/vunify configuration: skipped" : NULL;

		if (!why) {
			status = guest_tree(rn, (long)i, dest);
		} else if (rn->c.verbose >= 1) {
			struct dbuf q = DBUF_INIT;

			va_quote(&q, gu->name, strlen(gu->name));
			ucli_note(&rn->c, 1, "%s: %s", dbuf_str(&q), why);
			dbuf_release(&q);
		}
	}
	if (!status && !rn->ngroups) {
		cli_msg(&rn->c.cli, rn->cfg->cfgdir, "no enabled guest with a vdir and apps/vunify", NULL);
		status = CLI_EXIT_TROUBLE;
	}
	return status;
}

/* The journal's source: the trees (or paths), then the stores (malloc'd into *@ret). */
static size_t journal_paths(const struct run *rn, const char ***ret)
{
	size_t n = 0;

	for (size_t i = 0; i < rn->ngroups; i++)
		n += rn->groups[i].ntrees + rn->groups[i].npaths + 1;
	*ret = calloc(n ? n : 1, sizeof(**ret));
	if (!*ret)
		return 0;
	n = 0;
	for (size_t i = 0; i < rn->ngroups; i++) {
		for (size_t k = 0; k < rn->groups[i].ntrees; k++)
			(*ret)[n++] = rn->groups[i].trees[k].root;
		for (size_t k = 0; k < rn->groups[i].npaths; k++)
			(*ret)[n++] = rn->groups[i].paths[k];
	}
	for (size_t i = 0; i < rn->ngroups; i++)
		(*ret)[n++] = rn->groups[i].store;
	return n;
}

/*
 * Every file that reached the store's test was on another filesystem or
 * mount than the store: the store named is the wrong place.
 */
static bool wrong_place(const struct va_ustats *st)
{
	uint64_t wrong = st->skipped[VA_USKIP_NO_STORE] + st->skipped[VA_USKIP_OTHER_MOUNT];

	return wrong && !st->candidates && !st->already && !st->skipped[VA_USKIP_UNIQUE];
}

/*
 * A store is never a hash configuration directory (the engine refuses one
 * too): a configured entry that leads back to one is said here, before
 * anything changes.  Return: 0 or the exit status.
 */
static int not_config(struct run *rn, const char *store)
{
	int fd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	r = fd < 0 ? -errno : va_hash_holds_links(fd);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		cli_msg(&rn->c.cli, store, "cannot read the hash store", strerror(-r));
	else if (r > 0)
		cli_msg(&rn->c.cli, store, "holds symbolic links: a hash configuration directory "
			 "(util-vserver's apps/vunify/hash), not a store: no entry is made there", NULL);
	return r ? CLI_EXIT_TROUBLE : 0;
}

/* The engine over every group, journaled.  Return: the exit status. */
static int run_groups(struct run *rn, const struct va_uopts *flags)
{
	struct ucli *c = &rn->c;
	const char **paths = NULL;
	struct va_uopts o;
	size_t npaths;
	bool wrong = false;
	int status, r = 0;

	for (size_t i = 0; i < rn->ngroups; i++)
		if (!rn->revert && ((status = not_config(rn, rn->groups[i].store)) ||
				    (status = store_method(rn, &rn->groups[i]))))
			return status;
	c->reverting = rn->revert;
	if ((status = ucli_start(c)))
		return status;
	npaths = journal_paths(rn, &paths);
	if (!paths)
		return nomem(rn);
	status = ucli_journal_open(c, paths, npaths);
	free(paths);
	if (status)
		return status;
	ucli_uopts(c, &o);
	o.refresh = flags->refresh;
	o.ignore_mtime = flags->ignore_mtime;
	o.sledgehammer = flags->sledgehammer;
	o.memory_limit = flags->memory_limit;
	for (size_t i = 0; i < rn->ngroups && r >= 0; i++) {
		const struct group *gr = &rn->groups[i];
		struct va_ustats st = { 0 };

		if (rn->revert)
			r = va_vhashify_revert(gr->paths, gr->npaths, gr->store, &o, &st);
		else
			r = va_vhashify(gr->trees, gr->ntrees, gr->store, gr->method, &o, &st);
		ucli_ran(c, &st, r);
		if (!rn->revert && r >= 0 && wrong_place(&st)) {
			cli_msg(&c->cli, gr->store, "every file was skipped as no-store or other-mount: "
				 "the store is not on the trees' mount (--destination names a store there, "
				 "or a hash configuration directory with a link to one)", NULL);
			wrong = true;
		}
	}
	status = ucli_finish(c, rn->revert, r);
	return wrong ? CLI_EXIT_TROUBLE : status;
}

/* ------------------------------------------------------------------ options */

enum { MODE_GUESTS, MODE_ALL, MODE_MANUALLY, MODE_REVERT, MODE_COUNT };
enum { O_ALL, O_MANUALLY, O_REVERT, O_REFRESH, O_IGNORE_MTIME, O_SLEDGEHAMMER, O_METHOD,
       O_CONFIG, O_DESTINATION, O_ARGS, O_HOST_ROOT, O_MEMORY_LIMIT, O_COUNT };
#define BIT(o) (UINT64_C(1) << (o))
#define STORE_OPTS (BIT(O_REFRESH) | BIT(O_IGNORE_MTIME) | BIT(O_SLEDGEHAMMER) | BIT(O_METHOD) | \
		    BIT(O_DESTINATION) | BIT(O_MEMORY_LIMIT))

static const char *const opt_names[O_COUNT] = {
	[O_ALL] = "--all", [O_MANUALLY] = "--manually", [O_REVERT] = "--revert",
	[O_REFRESH] = "--refresh", [O_IGNORE_MTIME] = "--ignore-mtime",
	[O_SLEDGEHAMMER] = "--sledgehammer", [O_METHOD] = "--method", [O_CONFIG] = "--config",
	[O_DESTINATION] = "--destination", [O_ARGS] = "GUEST", [O_HOST_ROOT] = "--host-root",
	[O_MEMORY_LIMIT] = "--memory-limit",
};

static const struct cli_mode modes[MODE_COUNT] = {
	[MODE_GUESTS]   = { NULL, STORE_OPTS | BIT(O_CONFIG) | BIT(O_HOST_ROOT) | BIT(O_ARGS) },
	[MODE_ALL]      = { "--all", STORE_OPTS | BIT(O_CONFIG) | BIT(O_HOST_ROOT) | BIT(O_ALL) },
	[MODE_MANUALLY] = { "--manually", STORE_OPTS | BIT(O_MANUALLY) | BIT(O_ARGS) },
	/* the store of each path is its guest's, or --destination */
	[MODE_REVERT]   = { "--revert", BIT(O_REVERT) | BIT(O_DESTINATION) | BIT(O_CONFIG) |
			    BIT(O_HOST_ROOT) | BIT(O_ARGS) },
};

static const struct cli_need needs[] = {
	{ BIT(O_MANUALLY), BIT(O_DESTINATION) },
};

static const struct cli_rules rules = {
	.names = opt_names, .modes = modes, .nmodes = MODE_COUNT,
	.needs = needs, .nneeds = sizeof(needs) / sizeof(needs[0]),
};

struct opts {
	int mode;
	uint64_t given;
	const char *destination;
	struct va_uopts flags;          /* --refresh, --ignore-mtime, --sledgehammer, --memory-limit */
	char *const *args;
	size_t nargs;
};

/* The command line into @o.  Return: -1 to run, else the exit status. */
static int parse_options(struct run *rn, int argc, char **argv, struct opts *o)
{
	enum { OPT_ALL = UCLI_OPT_NEXT, OPT_DESTINATION, OPT_REVERT, OPT_REFRESH, OPT_IGNORE_MTIME,
	       OPT_SLEDGEHAMMER, OPT_METHOD, OPT_MEMORY_LIMIT };
	static const struct option longopts[] = {
		UCLI_LONGOPTS,
		{ "all",          no_argument,       NULL, OPT_ALL },
		{ "destination",  required_argument, NULL, OPT_DESTINATION },
		{ "revert",       no_argument,       NULL, OPT_REVERT },
		{ "refresh",      no_argument,       NULL, OPT_REFRESH },
		{ "ignore-mtime", no_argument,       NULL, OPT_IGNORE_MTIME },
		{ "sledgehammer", no_argument,       NULL, OPT_SLEDGEHAMMER },
		{ "method",       required_argument, NULL, OPT_METHOD },
		{ "memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT },
		{ NULL, 0, NULL, 0 },
	};
	struct ucli *c = &rn->c;
	int opt, status = 0, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":nvh", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_ALL: o->given |= BIT(O_ALL); continue;
		case OPT_DESTINATION:
			if (!*optarg)
				return cli_bad_usage(&c->cli, "empty --destination:", optarg);
			o->destination = optarg;
			o->given |= BIT(O_DESTINATION);
			continue;
		case OPT_REVERT: o->given |= BIT(O_REVERT); continue;
		case OPT_REFRESH: o->flags.refresh = true; o->given |= BIT(O_REFRESH); continue;
		case OPT_IGNORE_MTIME: o->flags.ignore_mtime = true; o->given |= BIT(O_IGNORE_MTIME); continue;
		case OPT_SLEDGEHAMMER: o->flags.sledgehammer = true; o->given |= BIT(O_SLEDGEHAMMER); continue;
		case OPT_METHOD:
			if (va_digest_parse(optarg, strlen(optarg), &rn->method) < 0)
				return cli_bad_usage(&c->cli, "unknown --method (sha256, sha1, md5):", optarg);
			rn->method_given = true;
			o->given |= BIT(O_METHOD);
			continue;
		case OPT_MEMORY_LIMIT:
			if (cli_parse_size(optarg, &o->flags.memory_limit) < 0 || !o->flags.memory_limit)
				return cli_bad_usage(&c->cli, "--memory-limit takes a size such as 512M or 2G, not",
						     optarg);
			o->given |= BIT(O_MEMORY_LIMIT);
			continue;
		}
		if ((status = ucli_option(c, opt, optarg, argv)) >= 0)
			return status;
	}
	o->args = argv + optind;
	o->nargs = (size_t)(argc - optind);
	o->given |= (c->manually ? BIT(O_MANUALLY) : 0) | (c->config ? BIT(O_CONFIG) : 0) |
		    (c->host_root ? BIT(O_HOST_ROOT) : 0) | (o->nargs ? BIT(O_ARGS) : 0);
	o->mode = o->given & BIT(O_REVERT) ? MODE_REVERT : c->manually ? MODE_MANUALLY :
		  o->given & BIT(O_ALL) ? MODE_ALL : MODE_GUESTS;
	if ((r = cli_check_options(&c->cli, &rules, (size_t)o->mode, o->given)))
		return r;
	if (o->mode == MODE_MANUALLY && (o->nargs < 2 || o->nargs % 2)) {
		char n[24];

		snprintf(n, sizeof(n), "%zu", o->nargs);
		return cli_bad_usage(&c->cli, "--manually takes PATH EXCL [PATH EXCL]... "
				     "(an even number of arguments), not", n);
	}
	if (o->mode == MODE_REVERT && !o->nargs)
		return cli_bad_usage(&c->cli, "--revert needs a PATH", NULL);
	if (o->mode == MODE_GUESTS && !o->nargs)
		return cli_bad_usage(&c->cli, "no GUEST given (or --all)", NULL);
	rn->revert = o->mode == MODE_REVERT;
	return -1;
}

/* The groups of the run, by mode.  Return: 0 or the exit status. */
static int collect(struct run *rn, const struct opts *o, const char *dest)
{
	int status = 0;

	switch (o->mode) {
	case MODE_MANUALLY:
		return groups_manually(rn, o->args, o->nargs);
	case MODE_ALL:
		return groups_all(rn, dest);
	case MODE_REVERT:
		for (size_t i = 0; i < o->nargs && !status; i++)
			status = revert_path(rn, o->args[i], dest);
		return status;
	default:
		for (size_t i = 0; i < o->nargs && !status; i++) {
			long g = ucli_config_guest(&rn->c, rn->cfg, o->args[i]);

			status = g < 0 ? CLI_EXIT_TROUBLE : guest_tree(rn, g, dest);
		}
		return status;
	}
}

int main(int argc, char **argv)
{
	struct run rn = { .method = VA_DIGEST_SHA256 };
	struct opts o = { 0 };
	char *dest = NULL;
	bool run;
	int status;

	ucli_init(&rn.c, PROG, usage);
	rn.c.store_run = true;
	status = parse_options(&rn, argc, argv, &o);
	run = status < 0;       /* else --help, --version or a usage error: done */
	if (status < 0 && o.destination)
		status = ucli_realdir(&rn.c, o.destination, "hash directory", &dest) ? CLI_EXIT_TROUBLE : -1;
	if (status < 0 && dest && (status = load_destination(&rn, dest)) == 0)
		status = -1;
	/* the configuration, unless --manually, or reverting into a named store */
	if (status < 0 && o.mode != MODE_MANUALLY && !(o.mode == MODE_REVERT && dest))
		status = ucli_config_load(&rn.c, &rn.cfg) ? CLI_EXIT_TROUBLE : -1;
	if (status < 0)
		status = collect(&rn, &o, dest);
	if (run && status == 0)
		status = run_groups(&rn, &o.flags);
	release_run(&rn);
	free(dest);
	return status;
}
