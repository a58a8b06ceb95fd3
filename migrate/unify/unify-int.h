/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify-int.h - what the parts of the unify engine share (not an API).
 *
 *   unify-core.c   run state, scanning trees, paths, events
 *   unify-apply.c  batches of links and private copies, journaled
 *   unify-hash.c   vhashify: grouping, digests, the store
 *   unify-ref.c    vunify: pairs with the reference guests
 *   unify-undo.c   replaying a unify journal
 */
#ifndef VAUDIT_UNIFY_INT_H
#define VAUDIT_UNIFY_INT_H

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/ctag.h"
#include "core/dbuf.h"
#include "core/fileops.h"
#include "core/inomap.h"
#include "core/reaper.h"
#include "core/syncer.h"
#include "core/safeopen.h"
#include "migrate/unify/unify.h"

/**
 * A regular file found by a scan: 56 bytes, so that a host of millions of
 * files fits in memory.  Its device and mount are its tree's (a scan does
 * not leave the tree's mount; a file added by path on another one gets a
 * tree of its own: u_add_file()), its path is its directory's
 * (ustate.dirs) and its name (in ustate.namebuf, where a name the guests
 * share, such as every "copyright", is kept once): u_rel(); its owner and
 * group are a pair of ustate.owners (a host has few): u_uid(), u_gid().
 */
struct ufile {
	uint64_t ino;
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	/* the change time, to tell whether the file changed since the scan:
	 * any change sets it to the present, so the seconds' low 32 bits
	 * (136 years) and the nanoseconds tell two states of a file apart */
	uint32_t ctime_lo, ctime_nsec;
	uint32_t owner;         /* index in ustate.owners */
	uint32_t nlink;
	uint32_t dir;           /* index in ustate.dirs */
	uint32_t name;          /* offset in ustate.namebuf (NUL-terminated) */
	uint16_t mode;
	uint16_t tree;          /* index in ustate.trees */
};

_Static_assert(sizeof(struct ufile) == 56, "a file record is 56 bytes");

/** An owner and group of files (ustate.owners). */
struct uowner {
	uint32_t uid, gid;
};

/** A directory of a scanned tree: its parent and its name (a path for a tree's root). */
struct udir {
	uint32_t parent;        /* index in ustate.dirs; U_NO_DIR for a tree's root */
	uint32_t name;          /* offset in ustate.namebuf: "" for a root, else one
				   component (or several, "a/b", for a directory
				   of a file added by path) */
};

#define U_NO_DIR UINT32_MAX
#define U_MAX_TREES UINT16_MAX

struct utree {
	char *root;             /* real path, without a trailing '/' (except "/") */
	size_t root_len;
	const char *label;
	const struct va_excl_list *excl;
	int fd;                 /* O_DIRECTORY fd of the root */
	bool store;
	bool alias;             /* root, label and fd are another tree's (see u_add_file()) */
	dev_t dev;              /* of its files */
	uint64_t mnt_id;        /* of its files; 0 when the kernel does not say */
	uint32_t dir;           /* its root in ustate.dirs */
	uint32_t last_dir;      /* the directory the last file added by path went to */
};

/** A planned unit: the names of @n files (members) get the master's inode. */
struct uunit {
	uint32_t master;        /* file index of the master (or of the inode to revert) */
	bool new_store;         /* link: the master is a new store entry, a copy of @master */
	bool dry_entry;         /* a dry run: the master stands for the new store entry
				 * an earlier batch would have made of it (ustate.dry_entry) */
	unsigned char digest[VA_DIGEST_MAX];
	size_t first, n;        /* range in ustate.members */
};

/** One run. */
struct ustate {
	const struct va_uopts *o;
	struct va_ustats *st;
	struct utree *trees;
	size_t ntrees, captrees;
	struct dbuf namebuf;    /* names of files and directories, NUL-terminated, each once */
	uint32_t *nametab;      /* open addressing: offset + 1 of each name in namebuf, or 0 */
	size_t nametab_cap, nnames;
	struct uowner *owners;  /* each pair of owner and group once */
	size_t nowners, capowners;
	uint32_t *ownertab;     /* open addressing: index + 1 in owners, or 0 */
	size_t ownertab_cap;
	struct udir *dirs;
	size_t ndirs, capdirs;
	struct ufile *files;
	size_t nfiles, capfiles;
	/*
	 * The readers of a pass read ahead (vhashify) look at files, dirs,
	 * owners, trees and namebuf while this thread links the pass before:
	 * they hold it for reading while they are in a file, and a move of
	 * one of those tables holds it for writing (appending in place and
	 * changing the records of other passes need no lock).
	 */
	pthread_rwlock_t table_lock;
	struct dbuf abs;        /* scratch for absolute paths */
	struct dbuf abs2;
	bool iunlink;           /* the kernel lets flagged inodes be linked and renamed */
	int store_tree;         /* index of the store tree, or -1 */
	uint8_t *store_dirs;    /* bit xxyy: STORE/xx/yy made or found this run; then bit xx: STORE/xx */
	uint8_t store_looked[256 / 8];  /* a dry run: STORE/xx was looked for ... */
	uint8_t store_gone[256 / 8];    /* ... and is missing (nothing below it to probe) */
	/* new store entries this run named, by digest (its first 16 bytes as
	 * the key): how many, so that two classes of one digest get two
	 * slots, in a dry run and within a batch as in the run */
	struct va_inomap slots;
	enum va_digest_method method;
	/* the batch being prepared */
	struct uunit *units;
	size_t nunits, capunits;
	uint32_t *members;
	size_t nmembers, capmembers;
	struct va_inomap batch_masters; /* the master inodes of the batch */
	/* the directories of the batch's names, (tree, dir) -> 0 while
	 * planned, then 1 + the index of its fd in the batch (u_flush()):
	 * a name borrows its directory's fd */
	struct va_inomap batch_dirs;
	size_t batch_fds;       /* fds the batch will hold (U_FDS_A_*) */
	bool reverting;
	size_t batch;           /* names per batch at most: UNIFY_BATCH */
	size_t fd_budget;       /* fds a batch may hold: what the limit leaves */
	struct va_reaper *reaper; /* closes a batch's fds meanwhile (NULL: at once) */
	struct va_syncer *syncer; /* syncs a batch's changes meanwhile (NULL: at once) */
	bool sync_pending;      /* the last batch's changes are being synced */
	uint32_t last_master;   /* master of the last unit flushed (UINT32_MAX: failed) */
	bool last_stored;       /* ... and it is in the store (or was not to be) */
	/* a dry run: the new store entry of the last unit flushed, which
	 * the rest of its split set links to (its path, its flags) */
	struct dbuf dry_entry;
	uint32_t dry_entry_flags;
	int fatal;
	/* names found by the scans, of inodes with more than one link:
	 * the count, U_NAMES_STORE when one of them is in the store */
	struct va_inomap names;
	/* inodes this run took names from: their state after our change */
	struct va_inomap touched;       /* (dev, ino) -> index in @touched_st */
	struct utouched *touched_st;
	size_t ntouched, captouched;
	/* a dry run: the flags its flag changes would have left an inode
	 * with, so that later batches plan (and skip) as the real run does */
	struct va_inomap dryflags;
	/* a dry run of vhashify: per file, what reading its inode saw
	 * (U_LOOK_*), so that the dry run's look needs no second open */
	uint8_t *look;
};

/** The state an inode was left in by the run (u_touched()). */
struct utouched {
	struct statx_timestamp ctime;
	uint32_t nlink;
};

#define U_NAMES_STORE 0x80000000u

/* ustate.look: what the read of a file's inode saw */
#define U_LOOK_DONE      0x01   /* read, digest made */
#define U_LOOK_ATTRS     0x02   /* statx reported the immutable and append bits: */
#define U_LOOK_IMMUTABLE 0x04
#define U_LOOK_APPEND    0x08
#define U_LOOK_XATTRS    0x10   /* its extended attributes were listed: */
#define U_LOOK_NO_XATTRS 0x20   /* it has none */

#define UNIFY_BATCH 16384       /* names per journal fsync (fewer when the fds run short) */
/*
 * The fds a batch holds, counted as it is planned: a unit's master (its
 * file and directory, a new store entry's directory and copy), a name's
 * file (and a revert's private copy), and each directory of the batch's
 * names once.  The closing thread holds as many again: the batch before.
 */
#define U_FDS_A_UNIT 4
#define U_FDS_A_NAME 1
#define U_FDS_A_COPY 1
#define U_FDS_A_DIR 1
#define U_FDS_MIN 112           /* a batch's fds when the limit is low */
/* fds beside the batch's: the trees, the journal, and the readers
 * (vhashify: a part's tags read ahead while the part before has its
 * classes' digests read, up to 16 threads each, a directory and a file
 * each) */
#define U_FDS_SPARE 192

int u_init(struct ustate *u, const struct va_uopts *o, struct va_ustats *st);
void u_release(struct ustate *u);

/** u_add_tree() - open @root as a tree.  Return: its index, or -errno. */
int u_add_tree(struct ustate *u, const char *root, const char *label,
	       const struct va_excl_list *excl, bool store);

/**
 * u_scan() - walk tree @t and append its regular files to u->files
 * (exclude list applied, directories on other mounts not entered).
 * @minsize: smaller files are counted as skipped (SMALL).
 */
int u_scan(struct ustate *u, size_t t, uint64_t minsize);

/**
 * u_scan_count() - walk tree @t only to count the names of its hard-linked
 * files (a reference guest of vunify, whose files are looked up by path).
 */
int u_scan_count(struct ustate *u, size_t t);

/**
 * u_outside() - whether the inode of @f has names that no scan of the run
 * found: the host's, another guest's or an excluded file's.  Such an
 * inode is never frozen, replaced or moved into a store (skip OUTSIDE).
 * An inode with a name in the store is shared through it: its names in
 * guests outside the run are not counted against it; one the run linked
 * names to (u_touched()) has those names too.
 */
bool u_outside(const struct ustate *u, const struct ufile *f);


/** u_dev() - the device of file @f (its tree's). */
static inline dev_t u_dev(const struct ustate *u, const struct ufile *f)
{
	return u->trees[f->tree].dev;
}

/** u_mnt_id() - the mount id of file @f (its tree's; 0: unknown). */
static inline uint64_t u_mnt_id(const struct ustate *u, const struct ufile *f)
{
	return u->trees[f->tree].mnt_id;
}

/** u_uid() - the owner of file @f. */
static inline uint32_t u_uid(const struct ustate *u, const struct ufile *f)
{
	return u->owners[f->owner].uid;
}

/** u_gid() - the group of file @f. */
static inline uint32_t u_gid(const struct ustate *u, const struct ufile *f)
{
	return u->owners[f->owner].gid;
}

/** u_name() - the name (last component) of file @f. */
static inline const char *u_name(const struct ustate *u, const struct ufile *f)
{
	return u->namebuf.buf + f->name;
}

/**
 * u_rel() - the path of file @f relative to its tree's root ("/etc/x"),
 * built in @b (reset first).  Return: b->buf, or NULL when out of memory.
 */
const char *u_rel(const struct ustate *u, const struct ufile *f, struct dbuf *b);

/** u_abs() - absolute path of @f in @b (reset first); returns b->buf. */
const char *u_abs(const struct ustate *u, const struct ufile *f, struct dbuf *b);

/** u_open_parent() - the verified directory fd holding @f; *@base its name. */
int u_open_parent(const struct ustate *u, const struct ufile *f, const char **base);

/** u_open_file() - open @f for reading and check it is unchanged since the scan. */
int u_open_file(const struct ustate *u, const struct ufile *f, struct statx *ret);

/** A directory fd kept between opens of files in the same directory. */
struct udircache {
	int fd;                 /* -1: none */
	size_t tree;
	uint32_t dir;           /* index in ustate.dirs */
};

#define UDIRCACHE_INIT { .fd = -1 }

/**
 * u_open_file_cached() - u_open_file(), opening the file by its name in the
 * directory of @c when it is the same one as last time (files read in
 * inode order are mostly neighbours): one path walk per directory instead
 * of per file.  The checks on the opened file are the same.
 */
int u_open_file_cached(const struct ustate *u, const struct ufile *f, struct udircache *c,
		       struct statx *ret);

/** u_dircache_release() - close the fd of @c. */
void u_dircache_release(struct udircache *c);

/** u_same_meta() - @f and @stx have the same mode, owner, group, size (and mtime unless @ignore_mtime). */
bool u_same_meta(const struct ustate *u, const struct ufile *f, const struct statx *stx,
		 bool ignore_mtime);

/**
 * u_pass_budget() - the bytes a pass of reads may take: the run's memory
 * limit less the resident set so far, and at least U_PASS_MIN, so that a
 * run goes on (in smaller passes) whatever the limit.
 */
size_t u_pass_budget(const struct ustate *u);

#define U_PASS_MIN (64u << 10)

/** u_file_of_stx() - fill @f's identity and metadata from @stx.  Return: 0 or -ENOMEM. */
int u_file_of_stx(struct ustate *u, struct ufile *f, const struct statx *stx);

/**
 * u_add_file() - append a file record for the path @rel ("/a/b/name",
 * relative to tree @t) with the identity and metadata of @stx: a file
 * found by a lookup, not by a scan.  Its directory is one record holding
 * the whole directory path (reused by the next file of the same directory).
 * A file on another device or mount than tree @t's gets an alias of @t
 * with that device and mount.  Return: 0, -ENOMEM, -ENAMETOOLONG or
 * -EOVERFLOW (more files, directories or trees than the records address).
 */
int u_add_file(struct ustate *u, size_t t, const char *rel, size_t rel_len,
	       const struct statx *stx);

/* events */
void u_event(struct ustate *u, struct va_uevent *ev);
/** u_event_file() - event @type for file @f (its absolute path, tree label). */
void u_event_file(struct ustate *u, enum va_uevent_type type, const struct ufile *f,
		  const char *master, size_t master_len, uint64_t size);
void u_skip(struct ustate *u, const struct ufile *f, enum va_uskip why, int err,
	    const char *detail);
void u_skip_path(struct ustate *u, const char *path, size_t len, const char *label,
		 enum va_uskip why, int err, const char *detail);

/** Read size for digests (unify-digest.c). */
#define U_READ_BUF (256 * 1024)

/**
 * u_digest_fd() - the digest of the key (util-vserver's: mode, owner,
 * group, rdev 0, size, mtime in whole seconds or 0 with ignore_mtime,
 * packed as on x86_64) of @key and of
 * @key->size bytes of @fd (pread from offset 0, through @buf of
 * U_READ_BUF bytes) into @out, with @d (reset first); the bytes read are
 * added to *@bytes.  Return: 0, -ESTALE (shorter than @key says) or -errno.
 */
int u_digest_fd(const struct ustate *u, struct va_digest *d, unsigned char *buf, int fd,
		const struct ufile *key, unsigned char *out, uint64_t *bytes);

/**
 * u_tag_fd() - the content tag (core/ctag.h) of @size bytes of @fd (pread
 * from offset 0, through @buf of U_READ_BUF bytes) into @out, with @t;
 * the bytes read are added to *@bytes.  Files of one key group have equal
 * tags when their content is equal, and different ones otherwise (but with
 * the probability ctag.h gives).  Return: 0, -ESTALE (shorter than @size)
 * or -errno.
 */
int u_tag_fd(struct va_ctag *t, unsigned char *buf, int fd, uint64_t size, unsigned char *out,
	     uint64_t *bytes);

/**
 * u_tag_digest_fd() - u_tag_fd() and u_digest_fd() of @key in one read:
 * the tag into @tag_out, the digest into @dg_out.
 */
int u_tag_digest_fd(const struct ustate *u, struct va_ctag *t, struct va_digest *d, unsigned char *buf,
		    int fd, const struct ufile *key, unsigned char *tag_out, unsigned char *dg_out,
		    uint64_t *bytes);

/**
 * u_digest_check() - whether the content of @fd (read from offset 0, with
 * pread) with the key (mode, owner, group, size, mtime) of @key has the
 * digest @want of the run's method: what a new store entry is checked
 * with after it was copied, so that nothing is linked to bytes that were
 * not the ones compared.  Return: 0 equal, -EUCLEAN different (or
 * another length), or -errno.
 */
int u_digest_check(const struct ustate *u, int fd, const struct ufile *key,
		   const unsigned char *want);

/* unify-apply.c: batches */
int u_unit_begin(struct ustate *u, uint32_t master, bool new_store, const unsigned char *digest);
int u_unit_add(struct ustate *u, uint32_t member);
/** u_unit_end() - close the current unit; flush the batch when it is full. */
int u_unit_end(struct ustate *u);
/** u_flush() - carry out every planned unit. */
int u_flush(struct ustate *u);
/**
 * u_changes_durable() - wait until the changes of the batches carried out
 * are on disk (their syncfs may run meanwhile); a failure is said and
 * makes the run fatal.  Return: 0 or -errno.
 */
int u_changes_durable(struct ustate *u);
/**
 * u_finish() - the end of a run that returned @r: its changes on disk,
 * then va_journal_finish().  Return: @r, or the -errno of the sync or of
 * the journal's last write.
 */
int u_finish(struct ustate *u, int r);

/** Flags that forbid linking and renaming on a kernel without iunlink. */
#define U_BLOCKING_FLAGS ((uint32_t)(VA_FL_IMMUTABLE | VA_FL_APPEND))

/** u_protected_flags() - @flags with the protection of @p added. */
uint32_t u_protected_flags(enum va_protect p, uint32_t flags);

/**
 * u_swap_in() - make the open file @newfd (@newst: its statx, or NULL to
 * look) the one named @base in @dirfd, atomically: link it to the
 * temporary name @tmp, let @check (may be NULL) look at the inodes once
 * more, then exchange @tmp with @base, which must still be inode
 * @old_dev/@old_ino (va_replace_name()).  Our link at @tmp never survives
 * a failure; another file found at @tmp then (a failed exchange back, a
 * racing rename) is left alone.  The caller blocks signals
 * (u_block_signals()) around the call, so that no signal ends the process
 * between link and exchange.
 * Return: 0, what @check or the exchange returned (-ESTALE: something
 * changed), or -errno (-EMLINK when @newfd has no room for another name).
 */
int u_swap_in(int dirfd, const char *tmp, const char *base, int newfd, const struct statx *newst,
	      dev_t old_dev, uint64_t old_ino, int (*check)(void *arg), void *arg);

/**
 * u_block_signals() - block every signal, the old mask in *@old (restore it
 * with sigprocmask(SIG_SETMASK, @old, NULL)).
 */
void u_block_signals(sigset_t *old);

/** u_stx_matches() - @stx is @f as scanned: identity, regular, size, mtime and ctime. */
bool u_stx_matches(const struct ustate *u, const struct ufile *f, const struct statx *stx);

/**
 * u_fatal_errno() - whether error @r (negative) means the filesystem itself
 * is failing (I/O error, full, read-only): the run stops there instead of
 * trying the next file.
 */
static inline bool u_fatal_errno(int r)
{
	return va_fs_failing(r);
}

/**
 * u_syncfs() - make everything written to the filesystem of @fd durable
 * (syncfs(2), which reports write-back errors since Linux 5.8).
 * Return: 0 or -errno.
 */
int u_syncfs(int fd);

/**
 * u_touched() - the run changed the names of inode @stx (a name of it was
 * linked elsewhere), which is now in state @stx: a later batch takes its
 * other names as unchanged when their inode is still in that state.
 * Return: 0 or -ENOMEM.
 */
int u_touched(struct ustate *u, const struct statx *stx);

/**
 * u_unchanged() - @stx is @f as scanned (u_stx_matches()), or as this run
 * left it (u_touched(): same size and mtime, the ctime and link count our
 * own change gave it).
 */
bool u_unchanged(const struct ustate *u, const struct ufile *f, const struct statx *stx);

/** u_touched_get() - the state the run left inode @dev/@ino in, if it changed it. */
bool u_touched_get(const struct ustate *u, dev_t dev, uint64_t ino, struct utouched *ret);

/**
 * u_adopt() - when the run changed the inode of *@expect (u_touched()) and
 * the open file @fd is in the state that change left, *@expect becomes that
 * state.  An inode the run did not change is not looked at (the checks
 * before its change do).  Return: false when @fd is in neither state.
 */
bool u_adopt(const struct ustate *u, int fd, struct statx *expect);

/** u_get_flags() - FS_IOC_GETFLAGS of @fd (0 when the filesystem has none). */
uint32_t u_get_flags(int fd);

#endif
