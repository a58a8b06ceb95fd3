/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit-image.c - the offline audit of an unmounted ext2/3/4 image.
 *
 * Three passes, each sequential on disk:
 *  1. the inode tables, with ext2fs_open_inode_scan(): every directory is
 *     recorded (flags, mode) and its blocks go into a directory block list;
 *     regular files that can matter (multiply linked, or carrying one of
 *     the flags the checks look at) are recorded; nothing else is kept;
 *  2. the directory blocks, sorted by block number
 *     (ext2fs_dblist_dir_iterate()): each directory learns its parent and
 *     name, each recorded file collects all of its names (inline-data
 *     directories are read one by one afterwards);
 *  3. in memory: each directory is placed relative to ROOT (outside, ROOT,
 *     or inside guest N) by following parents, then the checks run.
 * Paths are built only for findings.  Corrupt metadata stops the audit with
 * the library's error; loops in the directory graph are cut.
 *
 * va_image_visit() runs passes 1 and 2 and the placing of pass 3 keeping
 * every inode with its attributes, and hands the result to a visitor
 * (the disk usage of an image) instead of running the checks.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ext2fs/ext2_err.h>

#include "audit/audit.h"
#include "audit/checks.h"
#include "core/dbuf.h"
#include "core/escape.h"
#include "core/flags.h"
#include "core/image.h"
#include "core/inomap.h"

#define NONE UINT32_MAX

/* Where a directory is relative to ROOT. */
enum { ST_STORE = -4, ST_UNKNOWN = -3, ST_OUTSIDE = -2, ST_ROOT = -1 /* >= 0: guest index */ };

struct dirrec {
	uint32_t ino;
	uint32_t parent;        /* index into dirs, or NONE */
	uint32_t name_off;      /* into names */
	uint32_t name_len;
	uint32_t flags;
	uint32_t mode;
	uint32_t links;
	struct va_image_node attr;      /* usage scans only */
	int32_t state;
	bool onpath;            /* loop detection while resolving */
	bool inline_data;
};

struct fname {
	uint32_t dir;           /* index into dirs */
	uint32_t name_off;
	uint32_t name_len;
};

/* A directory whose entries (some or all) could not be read. */
struct damage {
	uint32_t ino;
	errcode_t code;
	const char *what;
};

struct filerec {
	uint32_t ino;
	uint32_t tag;           /* xid tag (multiply-linked files), 0 = none */
	const char *tag_how;    /* the encoding it was found in */
	uint32_t flags;
	uint32_t mode;
	uint32_t links;
	struct va_image_node attr;      /* usage scans only */
	struct fname *names;
	size_t nnames, capnames;
};

struct iaudit {
	const struct va_audit_args *args;
	struct va_audit_stats *stats;
	struct va_image *img;
	ext2_filsys fs;
	errcode_t err;          /* first library error */
	const char *err_what;   /* what was being done */
	uint32_t err_ino;
	struct dirrec *dirs;
	size_t ndirs, capdirs;
	struct filerec *files;
	size_t nfiles, capfiles;
	struct va_inomap dirmap, filemap;
	struct dbuf names;
	uint32_t cur_dir;       /* directory whose blocks are being listed */
	bool dot_dot_next;      /* the next entry is the second of a first block */
	ext2_dblist dblist;
	uint64_t dir_blocks;
	uint32_t root_idx;
	uint32_t *guest_dirs;   /* guest index -> dirs index */
	uint32_t *comp;         /* scratch for build_path() */
	size_t capcomp;
	char *blockbuf;         /* one directory block */
	struct dbuf root_path;  /* ROOT's canonical path in the image */
	struct dbuf store_path; /* the hash store's display path (the ROOT of its findings) */
	struct damage *damaged; /* directories whose entries could not be read */
	size_t ndamaged, capdamaged;
	size_t nguests, capguests;
	struct fname *leftovers;        /* NAME;XXXXXX entries (fname.dir, name); */
	uint32_t *leftover_ino;         /* ... and their inodes */
	size_t nleftovers, capleftovers, capleftover_ino;
	bool all;                       /* a usage scan: every inode, with its attributes */
	int fatal;
};

/* What a usage scan keeps of an inode. */
static void node_of(const struct iaudit *a, ext2_ino_t ino, const struct ext2_inode *inode,
		    struct va_image_node *n)
{
	n->ino = ino;
	n->mode = inode->i_mode;
	n->uid = inode_uid(*inode);
	n->gid = inode_gid(*inode);
	n->blocks = ext2fs_get_stat_i_blocks(a->fs, (struct ext2_inode *)inode);
	n->size = EXT2_I_SIZE(inode);
	n->tag = va_image_inode_tag(a->img, inode, (enum va_tag_scheme)a->args->tag_scheme, NULL);
}

/* Flags that make a regular file worth remembering. */
#define FILE_FLAGS ((uint32_t)(VA_FL_IMMUTABLE | VA_FL_NOTAIL | VA_VS26_IUNLINK | VA_VS26_COW))

static int fail(struct iaudit *a, errcode_t err, const char *what, uint32_t ino)
{
	if (!a->err) {
		a->err = err;
		a->err_what = what;
		a->err_ino = ino;
	}
	return -1;
}

/*
 * Remember that directory @ino could not be read (fully): the audit goes on
 * without its entries and reports it at the end, so the exit status says
 * the result is incomplete.
 */
static int damaged(struct iaudit *a, uint32_t ino, errcode_t code, const char *what)
{
	if (a->ndamaged && a->damaged[a->ndamaged - 1].ino == ino)
		return 0; /* one report per directory */
	if (va_array_grow(&a->damaged, &a->capdamaged, a->ndamaged, sizeof(*a->damaged)) < 0)
		return fail(a, ENOMEM, "reading directories", ino);
	a->damaged[a->ndamaged].ino = ino;
	a->damaged[a->ndamaged].code = code;
	a->damaged[a->ndamaged].what = what;
	a->ndamaged++;
	return 0;
}

static int add_name(struct iaudit *a, const char *name, size_t len, uint32_t *off)
{
	if (a->names.len > UINT32_MAX - len - 1 || dbuf_add(&a->names, name, len) < 0)
		return fail(a, ENOMEM, "reading directories", 0);
	*off = (uint32_t)(a->names.len - len);
	return 0;
}

/* ------------------------------------------------------------------ pass 1 */

static int add_block(ext2_filsys fs, blk64_t *blocknr, e2_blkcnt_t blockcnt,
		     blk64_t ref_blk, int ref_offset, void *priv)
{
	struct iaudit *a = priv;
	errcode_t err;

	(void)ref_blk;
	(void)ref_offset;
	if (blockcnt < 0)
		return 0;
	if (++a->dir_blocks > ext2fs_blocks_count(fs->super)) {
		fail(a, EXT2_ET_BAD_BLOCK_NUM, "listing directory blocks", a->dirs[a->cur_dir].ino);
		return BLOCK_ABORT;
	}
	if (*blocknr < fs->super->s_first_data_block || *blocknr >= ext2fs_blocks_count(fs->super)) {
		damaged(a, a->dirs[a->cur_dir].ino, EXT2_ET_BAD_BLOCK_NUM, "listing its blocks");
		return a->err ? BLOCK_ABORT : 0;
	}
	err = ext2fs_add_dir_block2(a->dblist, a->dirs[a->cur_dir].ino, *blocknr, blockcnt);
	if (err) {
		fail(a, err, "listing directory blocks", a->dirs[a->cur_dir].ino);
		return BLOCK_ABORT;
	}
	return 0;
}

static int scan_dir(struct iaudit *a, ext2_ino_t ino, const struct ext2_inode *inode)
{
	struct dirrec *d;
	uint64_t before;
	errcode_t err;

	if (va_array_grow(&a->dirs, &a->capdirs, a->ndirs, sizeof(*a->dirs)) < 0 ||
	    va_inomap_insert(&a->dirmap, 0, ino, (uint32_t)a->ndirs) < 0)
		return fail(a, ENOMEM, "scanning inodes", ino);
	d = &a->dirs[a->ndirs];
	memset(d, 0, sizeof(*d));
	d->ino = ino;
	d->parent = NONE;
	d->flags = inode->i_flags;
	d->mode = inode->i_mode;
	d->links = inode->i_links_count;
	d->state = ST_UNKNOWN;
	if (a->all)
		node_of(a, ino, inode, &d->attr);
	a->cur_dir = (uint32_t)a->ndirs++;
	if (inode->i_flags & EXT4_INLINE_DATA_FL) {
		d->inline_data = true;
		return 0;
	}
	if (!ext2fs_inode_has_valid_blocks2(a->fs, (struct ext2_inode *)inode))
		return 0;
	if (inode->i_flags & EXT4_EXTENTS_FL) {
		/* ext2fs_block_iterate3() returns 0 when the extent header is
		 * bad (e2fsprogs 1.47): check it ourselves */
		ext2_extent_handle_t h;

		err = ext2fs_extent_open2(a->fs, ino, (struct ext2_inode *)inode, &h);
		if (err)
			return damaged(a, ino, err, "listing its blocks");
		ext2fs_extent_free(h);
	}
	before = a->dir_blocks;
	err = ext2fs_block_iterate3(a->fs, ino, BLOCK_FLAG_READ_ONLY | BLOCK_FLAG_DATA_ONLY,
				    NULL, add_block, a);
	if (err && !a->err)
		damaged(a, ino, err, "listing its blocks");
	else if (!a->err && a->dir_blocks == before)
		damaged(a, ino, EXT2_ET_DIR_CORRUPTED, "it has no blocks");
	return a->err ? -1 : 0;
}

static int scan_file(struct iaudit *a, ext2_ino_t ino, const struct ext2_inode *inode)
{
	struct filerec *f;

	if (inode->i_links_count < 2 && !(inode->i_flags & FILE_FLAGS) && !a->all)
		return 0;
	if (va_array_grow(&a->files, &a->capfiles, a->nfiles, sizeof(*a->files)) < 0 ||
	    va_inomap_insert(&a->filemap, 0, ino, (uint32_t)a->nfiles) < 0)
		return fail(a, ENOMEM, "scanning inodes", ino);
	f = &a->files[a->nfiles++];
	memset(f, 0, sizeof(*f));
	f->ino = ino;
	f->flags = inode->i_flags;
	f->mode = inode->i_mode;
	f->links = inode->i_links_count;
	if (a->all)
		node_of(a, ino, inode, &f->attr);
	if (f->links >= 2)
		f->tag = va_image_inode_tag(a->img, inode, (enum va_tag_scheme)a->args->tag_scheme,
					    &f->tag_how);
	return 0;
}

static int scan_inodes(struct iaudit *a)
{
	ext2_inode_scan scan;
	struct ext2_inode inode;
	ext2_ino_t ino;
	errcode_t err;
	int r = 0;
	/* read the inode table a whole group (up to 1 MiB) at a time */
	unsigned int bufblocks = (1u << 20) / a->fs->blocksize;

	if (a->fs->inode_blocks_per_group < bufblocks)
		bufblocks = a->fs->inode_blocks_per_group;
	err = ext2fs_open_inode_scan(a->fs, (int)bufblocks, &scan);
	if (err)
		return fail(a, err, "opening the inode scan", 0);
	while (r == 0) {
		err = ext2fs_get_next_inode(scan, &ino, &inode);
		if (err) {
			r = fail(a, err, "reading the inode table", ino);
			break;
		}
		if (!ino)
			break;
		if (!inode.i_links_count || inode.i_dtime)
			continue;
		a->stats->entries++;
		if (a->args->cancel && *a->args->cancel) {
			r = -ECANCELED;
			break;
		}
		if ((a->stats->entries & 16383) == 0 && a->args->hooks.progress)
			a->args->hooks.progress(a->stats, a->args->hooks.user);
		if (LINUX_S_ISDIR(inode.i_mode))
			r = scan_dir(a, ino, &inode);
		else if (LINUX_S_ISREG(inode.i_mode) || a->all)
			r = scan_file(a, ino, &inode);
	}
	ext2fs_close_inode_scan(scan);
	return r;
}

/* ------------------------------------------------------------------ pass 2 */

static int on_dirent(ext2_ino_t dir, int entry, struct ext2_dir_entry *dirent, int offset,
		     int blocksize, char *buf, void *priv)
{
	struct iaudit *a = priv;
	uint32_t child = dirent->inode, didx, idx;
	int len = ext2fs_dirent_name_len(dirent);

	(void)offset;
	(void)blocksize;
	(void)buf;
	if (entry == DIRENT_DOT_FILE || entry == DIRENT_DOT_DOT_FILE || !child || len <= 0)
		return 0;
	if (len == 1 && dirent->name[0] == '.')
		return 0;
	if (len == 2 && dirent->name[0] == '.' && dirent->name[1] == '.')
		return 0;
	if (!va_inomap_find(&a->dirmap, 0, dir, &didx))
		return 0;
	if (va_is_leftover_name(dirent->name, (size_t)len)) {
		struct fname *n;

		if (va_array_grow(&a->leftovers, &a->capleftovers, a->nleftovers, sizeof(*a->leftovers)) < 0 ||
		    va_array_grow(&a->leftover_ino, &a->capleftover_ino, a->nleftovers,
				  sizeof(*a->leftover_ino)) < 0) {
			fail(a, ENOMEM, "reading directories", dir);
			return DIRENT_ABORT;
		}
		n = &a->leftovers[a->nleftovers];
		if (add_name(a, dirent->name, (size_t)len, &n->name_off) < 0)
			return DIRENT_ABORT;
		n->dir = didx;
		n->name_len = (uint32_t)len;
		a->leftover_ino[a->nleftovers++] = child;
	}
	if (va_inomap_find(&a->dirmap, 0, child, &idx)) {
		struct dirrec *d = &a->dirs[idx];

		if (d->parent != NONE || idx == didx)
			return 0; /* a second name of a directory: corrupt, ignore */
		if (add_name(a, dirent->name, (size_t)len, &d->name_off) < 0)
			return DIRENT_ABORT;
		d->parent = didx;
		d->name_len = (uint32_t)len;
	} else if (va_inomap_find(&a->filemap, 0, child, &idx)) {
		struct filerec *f = &a->files[idx];
		struct fname *n;

		if (va_array_grow(&f->names, &f->capnames, f->nnames, sizeof(*f->names)) < 0) {
			fail(a, ENOMEM, "reading directories", dir);
			return DIRENT_ABORT;
		}
		n = &f->names[f->nnames];
		if (add_name(a, dirent->name, (size_t)len, &n->name_off) < 0)
			return DIRENT_ABORT;
		n->dir = didx;
		n->name_len = (uint32_t)len;
		f->nnames++;
	}
	return 0;
}

/*
 * One block of a directory: read (and checksum-verified) by libext2fs, the
 * entries walked here, so that a damaged block is reported for its own
 * directory and the rest of the image is still read.
 */
static int on_dir_block(ext2_filsys fs, struct ext2_db_entry2 *db, void *priv)
{
	struct iaudit *a = priv;
	unsigned int offset = 0;
	errcode_t err;

	err = ext2fs_read_dir_block4(fs, db->blk, a->blockbuf, 0, db->ino);
	if (err) {
		damaged(a, db->ino, err, "reading a directory block");
		return a->err ? DBLIST_ABORT : 0;
	}
	while (offset < fs->blocksize) {
		struct ext2_dir_entry *de = (struct ext2_dir_entry *)(a->blockbuf + offset);
		unsigned int rec_len;
		int entry;

		if (offset + 8 > fs->blocksize || ext2fs_get_rec_len(fs, de, &rec_len) ||
		    rec_len < 8 || rec_len % 4 || offset + rec_len > fs->blocksize ||
		    (unsigned int)ext2fs_dirent_name_len(de) + 8 > rec_len) {
			damaged(a, db->ino, EXT2_ET_DIR_CORRUPTED, "reading a directory block");
			break;
		}
		entry = db->blockcnt == 0 && offset == 0 ? DIRENT_DOT_FILE :
			db->blockcnt == 0 && a->dot_dot_next ? DIRENT_DOT_DOT_FILE : DIRENT_OTHER_FILE;
		a->dot_dot_next = db->blockcnt == 0 && offset == 0;
		if (de->inode && de->inode <= fs->super->s_inodes_count &&
		    on_dirent(db->ino, entry, de, (int)offset, (int)fs->blocksize, a->blockbuf, a) == DIRENT_ABORT)
			return DBLIST_ABORT;
		offset += rec_len;
	}
	return a->err ? DBLIST_ABORT : 0;
}

static int read_dirs(struct iaudit *a)
{
	errcode_t err;

	err = ext2fs_get_mem(a->fs->blocksize, &a->blockbuf);
	if (err)
		return fail(a, err, "reading directories", 0);
	ext2fs_dblist_sort2(a->dblist, NULL);
	err = ext2fs_dblist_iterate3(a->dblist, on_dir_block, 0, ext2fs_dblist_count2(a->dblist), a);
	if (err && !a->err)
		return fail(a, err, "reading directories", 0);
	if (a->err)
		return -1;
	for (size_t i = 0; i < a->ndirs; i++) {
		if (!a->dirs[i].inline_data)
			continue;
		err = ext2fs_dir_iterate2(a->fs, a->dirs[i].ino, DIRENT_FLAG_INCLUDE_INLINE_DATA,
					  NULL, on_dirent, a);
		if (a->err)
			return -1;
		if (err)
			damaged(a, a->dirs[i].ino, err, "reading its inline data");
	}
	return a->err ? -1 : 0;
}

/* ------------------------------------------------------------------ pass 3 */

/*
 * ROOT's path as the image names it ("/vservers" for a prefix given as
 * "//vservers/." or "/x/../vservers"), from the parent links; the prefix as
 * given when a directory on the way could not be read.
 */
static int canonical_root(struct iaudit *a)
{
	uint32_t d = a->root_idx;
	size_t n = 0, steps = 0;
	int r = 0;

	for (; d != NONE && a->dirs[d].ino != EXT2_ROOT_INO && steps <= a->ndirs; d = a->dirs[d].parent, steps++) {
		if (va_array_grow(&a->comp, &a->capcomp, n, sizeof(*a->comp)) < 0)
			return fail(a, ENOMEM, "placing directories", 0);
		a->comp[n++] = d;
	}
	dbuf_setlen(&a->root_path, 0);
	if (d == NONE || steps > a->ndirs)
		return dbuf_adds(&a->root_path, a->args->roots[0]) ? fail(a, ENOMEM, "placing directories", 0) : 0;
	while (n--) {
		const struct dirrec *c = &a->dirs[a->comp[n]];

		r |= dbuf_addc(&a->root_path, '/');
		r |= dbuf_add(&a->root_path, a->names.buf + c->name_off, c->name_len);
	}
	if (a->root_path.len == 0)
		r |= dbuf_addc(&a->root_path, '/');
	return r ? fail(a, ENOMEM, "placing directories", 0) : 0;
}

static int new_guest(struct iaudit *a, uint32_t didx)
{
	if (va_array_grow(&a->guest_dirs, &a->capguests, a->nguests, sizeof(*a->guest_dirs)) < 0)
		return fail(a, ENOMEM, "placing directories", 0);
	a->guest_dirs[a->nguests] = didx;
	return (int)a->nguests++;
}

/* Place directory @idx (and the chain above it) relative to ROOT. */
static int resolve(struct iaudit *a, uint32_t idx, uint32_t **stack, size_t *cap)
{
	size_t n = 0;
	uint32_t cur = idx;
	int32_t st;

	while (a->dirs[cur].state == ST_UNKNOWN && cur != a->root_idx &&
	       a->dirs[cur].parent != NONE && !a->dirs[cur].onpath) {
		if (va_array_grow(stack, cap, n, sizeof(**stack)) < 0)
			return fail(a, ENOMEM, "placing directories", 0);
		a->dirs[cur].onpath = true;
		(*stack)[n++] = cur;
		cur = a->dirs[cur].parent;
	}
	if (cur == a->root_idx)
		a->dirs[cur].state = ST_ROOT;
	else if (a->dirs[cur].state == ST_UNKNOWN)
		a->dirs[cur].state = ST_OUTSIDE; /* no parent, or a loop */
	st = a->dirs[cur].state;
	while (n--) {
		uint32_t node = (*stack)[n];

		a->dirs[node].onpath = false;
		if (st == ST_ROOT && va_is_store_name(a->names.buf + a->dirs[node].name_off,
						      a->dirs[node].name_len)) {
			st = ST_STORE; /* the hash store is not a guest (checks.h) */
		} else if (st == ST_ROOT) {
			int g = new_guest(a, node);

			if (g < 0)
				return -1;
			st = g;
		}
		a->dirs[node].state = st;
	}
	return 0;
}

/*
 * Display path of entry @name in directory @didx (the directory itself when
 * @name is NULL): the prefix as given, then the components below ROOT.
 */
static int build_path(struct iaudit *a, uint32_t didx, const char *name, size_t len,
		      struct dbuf *out)
{
	const char *root = a->root_path.buf;
	size_t rootlen = a->root_path.len, n = 0;
	int r = 0;

	while (rootlen > 1 && root[rootlen - 1] == '/')
		rootlen--;
	for (uint32_t d = didx; d != NONE && d != a->root_idx; d = a->dirs[d].parent) {
		if (va_array_grow(&a->comp, &a->capcomp, n, sizeof(*a->comp)) < 0)
			return -ENOMEM;
		a->comp[n++] = d;
	}
	dbuf_setlen(out, 0);
	if (rootlen > 1)
		r |= dbuf_add(out, root, rootlen);
	while (n--) {
		const struct dirrec *d = &a->dirs[a->comp[n]];

		r |= dbuf_addc(out, '/');
		r |= dbuf_add(out, a->names.buf + d->name_off, d->name_len);
	}
	if (name)
		r |= dbuf_addc(out, '/') | dbuf_add(out, name, len);
	if (out->len == 0)
		r |= dbuf_addc(out, '/');
	return r ? -ENOMEM : 0;
}

static void set_guest(struct iaudit *a, int32_t st, struct va_name *n)
{
	if (st >= 0) {
		const struct dirrec *g = &a->dirs[a->guest_dirs[st]];

		n->guest = a->names.buf + g->name_off;
		n->guest_len = g->name_len;
	} else {
		n->guest = NULL;
		n->guest_len = 0;
	}
}

static int emit(struct iaudit *a, struct va_finding *f, uint64_t kinds, bool on_root)
{
	return va_emit_kinds(a->args, a->stats, f, kinds, on_root);
}

static void finding_base(struct iaudit *a, struct va_finding *f, uint32_t ino, uint32_t flags,
			 uint32_t mode, uint32_t links)
{
	memset(f, 0, sizeof(*f));
	f->root = a->root_path.buf;
	f->ino = ino;
	f->flags = flags;
	f->flags_known = VA_KNOWN_EXT2 | VA_KNOWN_VS26;
	f->mode = mode;
	f->nlink = links;
}

/* hash-unprotected on the store itself: its barrier is right, its absence is not. */
static int check_store_dir(struct iaudit *a, uint32_t idx)
{
	const struct dirrec *d = &a->dirs[idx];
	uint64_t k = va_check_root(d->flags, VA_KNOWN_EXT2 | VA_KNOWN_VS26, d->mode);
	struct va_finding f;

	if (build_path(a, idx, NULL, 0, &a->store_path) < 0)
		return -ENOMEM;
	if (!(k & (VA_KIND_BIT(VA_KIND_MISSING_BARRIER) | VA_KIND_BIT(VA_KIND_LEGACY_BARRIER))))
		return 0;
	finding_base(a, &f, d->ino, d->flags, d->mode, d->links);
	f.root = a->store_path.buf;
	f.where.path = a->store_path.buf;
	f.where.path_len = a->store_path.len;
	f.detail = (k & VA_KIND_BIT(VA_KIND_LEGACY_BARRIER)) ?
		   "the hash store has only the 2.4 barrier, which 2.6 ignores" :
		   "the hash store has no chroot barrier";
	return emit(a, &f, VA_KIND_BIT(VA_KIND_HASH_UNPROTECTED), true);
}

/*
 * hash-unprotected on the store names of a recorded file (multiply linked
 * or flagged: an entry no guest is linked to is not recorded, and no guest
 * can change it).  Bookkeeping files are not entries.
 */
static int check_store_names(struct iaudit *a, const struct filerec *fr)
{
	const char *why = NULL;
	int r = 0;

	if (!(fr->flags & VA_FL_IMMUTABLE))
		why = "the entry is not immutable: any guest linked to it can change it for all";
	else if (!(fr->flags & (VA_FL_NOTAIL | VA_VS26_IUNLINK)))
		why = "the entry is immutable without iunlink: guests cannot replace their copy";
	if (!why || !LINUX_S_ISREG(fr->mode))
		return 0;
	for (size_t k = 0; k < fr->nnames && r == 0; k++) {
		const struct fname *fn = &fr->names[k];
		const struct dirrec *d = &a->dirs[fn->dir];
		struct dbuf p = DBUF_INIT;
		struct va_finding f;

		if (d->state != ST_STORE ||
		    va_is_store_bookkeeping(a->names.buf + fn->name_off, fn->name_len,
					    d->parent == a->root_idx ? 1 : 2))
			continue;
		if (build_path(a, fn->dir, a->names.buf + fn->name_off, fn->name_len, &p) < 0) {
			dbuf_release(&p);
			return -ENOMEM;
		}
		finding_base(a, &f, fr->ino, fr->flags, fr->mode, fr->links);
		if (a->store_path.len)
			f.root = a->store_path.buf;
		f.where.path = p.buf;
		f.where.path_len = p.len;
		f.detail = why;
		r = emit(a, &f, VA_KIND_BIT(VA_KIND_HASH_UNPROTECTED), false);
		dbuf_release(&p);
	}
	return r;
}

static int check_dirs(struct iaudit *a, struct dbuf *path)
{
	struct va_finding f;
	const struct dirrec *root = &a->dirs[a->root_idx];
	int r;

	if (build_path(a, NONE, NULL, 0, path) < 0)
		return -ENOMEM;
	finding_base(a, &f, root->ino, root->flags, root->mode, root->links);
	f.where.path = path->buf;
	f.where.path_len = path->len;
	r = emit(a, &f, va_check_root(root->flags, f.flags_known, root->mode), true);
	for (size_t i = 0; i < a->ndirs && r == 0; i++) {
		const struct dirrec *d = &a->dirs[i];
		bool guest_root = d->state >= 0 && d->parent == a->root_idx;
		uint64_t kinds;

		if (d->state == ST_STORE && d->parent == a->root_idx) {
			r = check_store_dir(a, (uint32_t)i);
			continue;
		}
		if (d->state < 0)
			continue;
		kinds = va_check_dir(d->flags, VA_KNOWN_EXT2 | VA_KNOWN_VS26, d->mode, guest_root);
		if (!kinds)
			continue;
		if (build_path(a, (uint32_t)i, NULL, 0, path) < 0)
			return -ENOMEM;
		finding_base(a, &f, d->ino, d->flags, d->mode, d->links);
		f.where.path = path->buf;
		f.where.path_len = path->len;
		set_guest(a, d->state, &f.where);
		r = emit(a, &f, kinds, false);
	}
	return r;
}

/* The guest-absolute part of a name's display path ("/etc/shadow"). */
static const char *guest_relative(const struct iaudit *a, const struct va_name *n)
{
	size_t rootlen = a->root_path.len;

	while (rootlen > 1 && a->root_path.buf[rootlen - 1] == '/')
		rootlen--;
	if (rootlen == 1)
		rootlen = 0;
	return n->path + rootlen + 1 + n->guest_len;
}

static int check_files(struct iaudit *a)
{
	struct va_name *names = NULL;
	size_t capnames = 0;
	int r = 0;

	for (size_t i = 0; i < a->nfiles && r == 0; i++) {
		const struct filerec *fr = &a->files[i];
		size_t n = 0, nguests = 0;
		int32_t last = ST_UNKNOWN;
		uint64_t kinds;
		struct va_finding f;

		/* the names under ROOT, in the order they were read */
		for (size_t k = 0; k < fr->nnames; k++) {
			int32_t st = a->dirs[fr->names[k].dir].state;

			if (st == ST_OUTSIDE || st == ST_UNKNOWN || st == ST_STORE)
				continue;
			if (st >= 0 && st != last) {
				bool seen = false;

				for (size_t j = 0; j < k && !seen; j++)
					seen = a->dirs[fr->names[j].dir].state == st;
				nguests += !seen;
				last = st;
			}
			n++;
		}
		if ((a->args->kinds & VA_KIND_BIT(VA_KIND_HASH_UNPROTECTED)) &&
		    (r = check_store_names(a, fr)) < 0)
			break;
		if (!n)
			continue;
		kinds = va_check_file(fr->flags, VA_KNOWN_EXT2 | VA_KNOWN_VS26) |
			va_check_shared(fr->flags, VA_KNOWN_EXT2 | VA_KNOWN_VS26, nguests);
		if (fr->tag && nguests >= 2)
			kinds |= VA_KIND_BIT(VA_KIND_TAG_ON_SHARED);
		if (nguests >= 2)
			kinds |= VA_KIND_BIT(VA_KIND_SHARED_SECRET); /* if a name matches, below */
		if (!kinds)
			continue;
		if (va_array_grow(&names, &capnames, n, sizeof(*names)) < 0 ||
		    (capnames < n && (r = -ENOMEM)))
			break;
		n = 0;
		for (size_t k = 0; k < fr->nnames && r == 0; k++) {
			const struct fname *fn = &fr->names[k];
			int32_t st = a->dirs[fn->dir].state;
			struct dbuf p = DBUF_INIT;

			if (st == ST_OUTSIDE || st == ST_UNKNOWN || st == ST_STORE)
				continue;
			if (va_array_grow(&names, &capnames, n, sizeof(*names)) < 0 ||
			    build_path(a, fn->dir, a->names.buf + fn->name_off, fn->name_len, &p) < 0) {
				dbuf_release(&p);
				r = -ENOMEM;
				break;
			}
			names[n].path = p.buf;
			names[n].path_len = p.len;
			set_guest(a, st, &names[n]);
			n++;
		}
		if (r == 0) {
			const char *secret = NULL;
			char detail[320];

			for (size_t k = 0; k < n && !secret && (kinds & VA_KIND_BIT(VA_KIND_SHARED_SECRET)); k++)
				if (names[k].guest)
					secret = va_secret_match(guest_relative(a, &names[k]), NULL);
			if (!secret)
				kinds &= ~VA_KIND_BIT(VA_KIND_SHARED_SECRET);
			finding_base(a, &f, fr->ino, fr->flags, fr->mode, fr->links);
			f.where = names[0];
			f.others = names + 1;
			f.nothers = n - 1;
			f.nguests = nguests;
			r = emit(a, &f, kinds & ~(VA_KIND_BIT(VA_KIND_TAG_ON_SHARED) |
						  VA_KIND_BIT(VA_KIND_SHARED_SECRET)), false);
			if (r == 0 && (kinds & VA_KIND_BIT(VA_KIND_TAG_ON_SHARED))) {
				snprintf(detail, sizeof(detail), "tag %u (%s encoding)", fr->tag, fr->tag_how);
				f.detail = detail;
				r = emit(a, &f, VA_KIND_BIT(VA_KIND_TAG_ON_SHARED), false);
			}
			if (r == 0 && secret) {
				snprintf(detail, sizeof(detail), "a name matches the secret pattern %.250s", secret);
				f.detail = detail;
				r = emit(a, &f, VA_KIND_BIT(VA_KIND_SHARED_SECRET), false);
			}
		}
		for (size_t k = 0; k < n; k++)
			free(names[k].path);
	}
	free(names);
	return r;
}

/* unify-leftover: a regular file NAME;XXXXXX whose NAME exists beside it. */
static int check_leftovers(struct iaudit *a, struct dbuf *path)
{
	int r = 0;

	if (!(a->args->kinds & VA_KIND_BIT(VA_KIND_UNIFY_LEFTOVER)))
		return 0;
	for (size_t i = 0; i < a->nleftovers && r == 0; i++) {
		const struct fname *n = &a->leftovers[i];
		const struct dirrec *d = &a->dirs[n->dir];
		const char *name = a->names.buf + n->name_off;
		struct ext2_inode inode;
		struct va_finding f;
		ext2_ino_t sibling;

		if (d->state == ST_OUTSIDE || d->state == ST_UNKNOWN || d->state == ST_STORE)
			continue;
		if (ext2fs_read_inode(a->fs, a->leftover_ino[i], &inode) || !LINUX_S_ISREG(inode.i_mode))
			continue;
		if (ext2fs_lookup(a->fs, d->ino, name, (int)n->name_len - 7, NULL, &sibling))
			continue;
		if (build_path(a, n->dir, name, n->name_len, path) < 0)
			return -ENOMEM;
		finding_base(a, &f, a->leftover_ino[i], inode.i_flags, inode.i_mode, inode.i_links_count);
		f.where.path = path->buf;
		f.where.path_len = path->len;
		set_guest(a, d->state, &f.where);
		f.detail = sibling == a->leftover_ino[i] ?
			   "a second name of the same inode, left by an interrupted unification" :
			   "the backup of an interrupted unification, left beside the name it replaced";
		r = emit(a, &f, VA_KIND_BIT(VA_KIND_UNIFY_LEFTOVER), false);
	}
	return r;
}

/*
 * Report the damaged directories that matter: ROOT, those below it, and
 * those whose place is unknown (their parent could not be read either, so
 * one of them is below ROOT at most: report them, better twice than never).
 */
static void report_damage(struct iaudit *a, struct dbuf *path)
{
	for (size_t i = 0; i < a->ndamaged; i++) {
		const struct damage *dm = &a->damaged[i];
		uint32_t idx;
		struct dbuf op = DBUF_INIT;

		if (va_inomap_find(&a->dirmap, 0, dm->ino, &idx) && a->dirs[idx].state == ST_OUTSIDE &&
		    a->dirs[idx].parent != NONE)
			continue;
		a->stats->errors++;
		if (!a->args->hooks.error)
			continue;
		dbuf_adds(&op, "directory ");
		if (va_inomap_find(&a->dirmap, 0, dm->ino, &idx) && a->dirs[idx].state != ST_OUTSIDE &&
		    build_path(a, idx, NULL, 0, path) == 0) {
			va_escape_shell(&op, path->buf, path->len);
			dbuf_addc(&op, ' ');
		}
		dbuf_addf(&op, "(inode %u) is damaged, its entries are not audited: %s", dm->ino, dm->what);
		a->args->hooks.error(a->img->path, strlen(a->img->path), dbuf_str(&op), (int)dm->code,
				     a->args->hooks.user);
		dbuf_release(&op);
	}
}

static void release(struct iaudit *a)
{
	for (size_t i = 0; i < a->nfiles; i++)
		free(a->files[i].names);
	free(a->files);
	free(a->dirs);
	free(a->guest_dirs);
	free(a->comp);
	free(a->damaged);
	free(a->leftovers);
	free(a->leftover_ino);
	dbuf_release(&a->root_path);
	dbuf_release(&a->store_path);
	if (a->blockbuf)
		ext2fs_free_mem(&a->blockbuf);
	va_inomap_release(&a->dirmap);
	va_inomap_release(&a->filemap);
	dbuf_release(&a->names);
	if (a->dblist)
		ext2fs_free_dblist(a->dblist);
}

/*
 * Passes 1 and 2, and the placing of every directory relative to ROOT.
 * Return: 0, -1 (a->err says why) or -ECANCELED.
 */
static int scan_tree(struct iaudit *a, uint32_t **stack, size_t *capstack)
{
	uint64_t root_ino;
	errcode_t err;
	int r;

	err = va_image_lookup_dir(a->img, a->args->roots[0], &root_ino);
	if (err)
		return fail(a, err, "looking up the prefix", 0);
	err = ext2fs_init_dblist(a->fs, &a->dblist);
	if (err)
		return fail(a, err, "allocating the directory list", 0);
	r = scan_inodes(a);
	if (r == -ECANCELED)
		return r;
	if (r < 0 || read_dirs(a) < 0)
		return -1;
	if (!va_inomap_find(&a->dirmap, 0, root_ino, &a->root_idx))
		return fail(a, EXT2_ET_NO_DIRECTORY, "looking up the prefix", (uint32_t)root_ino);
	for (size_t i = 0; i < a->ndirs; i++)
		if (resolve(a, (uint32_t)i, stack, capstack) < 0)
			return -1;
	return canonical_root(a) < 0 ? -1 : 0;
}

/* The end of a run: the library error into @ret_err, everything freed.  Return: 0 or -errno. */
static int finish(struct iaudit *a, int r, struct va_error *ret_err, uint32_t *stack, struct dbuf *path)
{
	if (a->err) {
		va_error_set(ret_err, a->err, a->img->path, strlen(a->img->path),
			     a->err_what ? a->err_what : "auditing the image", NULL);
		ret_err->ino = a->err_ino;
		r = r < 0 && r != -1 ? r : -EIO;
	}
	free(stack);
	dbuf_release(path);
	release(a);
	return r < 0 ? r : 0;
}

int va_audit_image(const struct va_audit_args *args, struct va_image *img,
		   struct va_audit_stats *stats, struct va_error *ret_err)
{
	struct iaudit a = { .args = args, .stats = stats, .img = img, .fs = img->fs,
			    .dirmap = VA_INOMAP_INIT, .filemap = VA_INOMAP_INIT, .root_idx = NONE };
	uint32_t *stack = NULL;
	size_t capstack = 0;
	struct dbuf path = DBUF_INIT;
	int r;

	memset(stats, 0, sizeof(*stats));
	if (args->nroots != 1)
		return -EINVAL;
	r = scan_tree(&a, &stack, &capstack);
	if (r < 0)
		return finish(&a, r, ret_err, stack, &path);
	r = check_dirs(&a, &path);
	if (r == 0)
		r = check_files(&a);
	if (r == 0)
		r = check_leftovers(&a, &path);
	report_damage(&a, &path);
	return finish(&a, r, ret_err, stack, &path);
}

/* ------------------------------------------------------------------ the visitor */

struct va_image_scan {
	struct iaudit *a;
};

int va_image_scan_path(struct va_image_scan *s, uint32_t dir, const char *name, size_t len,
		       struct dbuf *out)
{
	return build_path(s->a, dir, name, len, out);
}

/* A state that counts for a visitor: ROOT, the stores, the guests. */
static bool visited(int32_t st)
{
	return st >= 0 || st == ST_ROOT || st == ST_STORE;
}

static int32_t place_of(int32_t st)
{
	return st == ST_STORE ? VA_PLACE_STORE : st == ST_ROOT ? VA_PLACE_ROOT : st;
}

/* The names of @f, the stores' first, then ROOT's, then by guest (insertion sort: few names). */
static void sort_names(const struct iaudit *a, struct filerec *f)
{
	for (size_t i = 1; i < f->nnames; i++) {
		struct fname n = f->names[i];
		int32_t st = place_of(a->dirs[n.dir].state);
		size_t j = i;

		for (; j > 0 && place_of(a->dirs[f->names[j - 1].dir].state) > st; j--)
			f->names[j] = f->names[j - 1];
		f->names[j] = n;
	}
}

static int visit(struct iaudit *a, const struct va_image_visitor *v, struct dbuf *path)
{
	struct va_image_scan s = { a };
	int r = 0;

	for (size_t g = 0; g < a->nguests && r == 0; g++) {
		const struct dirrec *d = &a->dirs[a->guest_dirs[g]];

		if (build_path(a, a->guest_dirs[g], NULL, 0, path) < 0)
			return -ENOMEM;
		r = v->guest(g, a->names.buf + d->name_off, d->name_len, path->buf, path->len, v->user);
	}
	for (size_t i = 0; i < a->ndirs && r == 0; i++) {
		if (a->dirs[i].state != ST_STORE || a->dirs[i].parent != a->root_idx)
			continue;
		if (build_path(a, (uint32_t)i, NULL, 0, path) < 0)
			return -ENOMEM;
		r = v->store(path->buf, path->len, v->user);
	}
	for (size_t i = 0; i < a->ndirs && r == 0; i++)
		if (visited(a->dirs[i].state))
			r = v->name(&s, &a->dirs[i].attr, place_of(a->dirs[i].state), (uint32_t)i,
				    NULL, 0, v->user);
	for (size_t i = 0; i < a->nfiles && r == 0; i++) {
		struct filerec *f = &a->files[i];

		sort_names(a, f);
		for (size_t k = 0; k < f->nnames && r == 0; k++) {
			const struct fname *fn = &f->names[k];
			int32_t st = a->dirs[fn->dir].state;

			if (visited(st))
				r = v->name(&s, &f->attr, place_of(st), fn->dir,
					    a->names.buf + fn->name_off, fn->name_len, v->user);
		}
	}
	return r;
}

int va_image_visit(const struct va_audit_args *args, struct va_image *img,
		   const struct va_image_visitor *v, struct va_error *ret_err)
{
	struct va_audit_stats stats = { 0 };
	struct iaudit a = { .args = args, .stats = &stats, .img = img, .fs = img->fs,
			    .dirmap = VA_INOMAP_INIT, .filemap = VA_INOMAP_INIT, .root_idx = NONE,
			    .all = true };
	uint32_t *stack = NULL;
	size_t capstack = 0;
	struct dbuf path = DBUF_INIT;
	int r;

	if (args->nroots != 1)
		return -EINVAL;
	r = scan_tree(&a, &stack, &capstack);
	if (r < 0)
		return finish(&a, r, ret_err, stack, &path);
	r = visit(&a, v, &path);
	report_damage(&a, &path);
	return finish(&a, r, ret_err, stack, &path);
}
