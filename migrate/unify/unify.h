/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * unify.h - the unify engine: vunify (share files with reference guests),
 * vhashify (share them through a content-addressed hash store) and the
 * reverse of both, every change journaled so that `vaudit --undo` gives
 * each guest its private files back.
 *
 * Rules.  Two files are linked only when they are on the same mount, are
 * different inodes, and have equal mode, owner, group, size and mtime
 * (vhashify: see va_vhashify() for the nanoseconds; --ignore-mtime: mtime
 * not compared), equal content (vunify:
 * byte for byte; vhashify: SHA-256 or the store's method over metadata and
 * content, every byte of a candidate read once) and equal extended
 * attributes (ACLs, security.*).  Files under VA_UNIFY_MINSIZE bytes are
 * left alone by vhashify; symlinks, devices, FIFOs, sockets and
 * directories are never linked.
 *
 * Linking one name: open the target (O_NOFOLLOW, dev/ino checked), skip it
 * when it is immutable or append-only, link the master to "NAME;XXXXXX" in
 * the target's directory, re-check both inodes from their open fds
 * (device, inode, size, mtime, ctime with nanoseconds), then exchange the
 * temporary name with NAME (renameat2 RENAME_EXCHANGE) and unlink the old
 * inode: NAME never disappears, no temporary name survives.  EMLINK makes
 * the next candidate the master.
 *
 * Protection of the shared inode (enum va_protect) is set after its names
 * are linked, and cleared first while names are added to or taken from an
 * inode whose flags would forbid that on this kernel (a kernel without the
 * vserver syscall does not honour iunlink).  Every flag change is an 'I'
 * record of the journal, every link, store entry and private copy an 'L'
 * record (migrate/journal.h); records are fsync'd before the change they
 * describe, in batches.
 *
 * Nothing here prints: what happens goes to the event hook.
 */
#ifndef VAUDIT_UNIFY_H
#define VAUDIT_UNIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/attr.h"
#include "core/digest.h"
#include "core/exclude.h"
#include "migrate/journal.h"
#include "migrate/jroots.h"

/** vhashify leaves files smaller than this alone (util-vserver HASH_MINSIZE). */
#define VA_UNIFY_MINSIZE 16

/** How the shared inode is protected: X(ID, option name). */
#define VA_PROTECTS(X) \
	X(AUTO, "auto")           /* V26 where the kernel has the syscall, else an error */ \
	X(V26, "v26")             /* immutable + iunlink through the vserver syscall */ \
	X(LEGACY, "legacy")       /* 0x10|0x8000, the 2.4 encoding, FS_IOC_SETFLAGS */ \
	X(IMMUTABLE, "immutable") /* 0x10 only */ \
	X(NONE, "none")           /* nothing: guests can change each other's files */

enum va_protect {
#define VA_X_PROTECT(id, name) VA_PROTECT_##id,
	VA_PROTECTS(VA_X_PROTECT)
#undef VA_X_PROTECT
	VA_PROTECT_COUNT
};

/** va_protect_parse() - option name to value.  Return: 0 or -EINVAL. */
int va_protect_parse(const char *s, enum va_protect *ret);
/** va_protect_name() - the option name of @p. */
const char *va_protect_name(enum va_protect p);
/** va_protect_flags() - the inode flags protection @p sets (0 for NONE and AUTO). */
uint32_t va_protect_flags(enum va_protect p);

/**
 * Why a file was not linked (or not reverted): X(ID, name, sentence).
 * The name is the key in --json output and in the summary.
 */
#define VA_USKIPS(X) \
	X(EXCLUDED,    "excluded",    "excluded by the exclude list") \
	X(SMALL,       "small",       "smaller than 16 bytes") \
	X(NOT_REGULAR, "not-regular", "not a regular file") \
	X(NO_REF,      "no-reference","no file of that name in a reference") \
	X(NO_STORE,    "no-store",    "no hash directory entry on its device") \
	X(OTHER_MOUNT, "other-mount", "on another mount than the master (link would fail with EXDEV)") \
	X(IMMUTABLE,   "immutable",   "immutable or append-only") \
	X(FLAGGED,     "flagged",     "already immutable+iunlink and shared (use --refresh)") \
	X(METADATA,    "metadata",    "mode, owner, group, size or mtime differ") \
	X(CONTENT,     "content",     "same metadata, different content") \
	X(XATTRS,      "xattrs",      "extended attributes or ACLs differ") \
	X(UNIQUE,      "unique",      "no other file with that size and metadata") \
	X(CHANGED,     "changed",     "changed during the run") \
	X(EMLINK,      "emlink",      "too many links and no other master") \
	X(NOT_SHARED,  "not-shared",  "not shared: nothing to revert") \
	X(OUTSIDE,     "outside",     "its inode has names outside the trees (the host's, another guest's or an excluded file)") \
	X(ERROR,       "error",       "an error (reported)")

enum va_uskip {
#define VA_X_USKIP(id, name, text) VA_USKIP_##id,
	VA_USKIPS(VA_X_USKIP)
#undef VA_X_USKIP
	VA_USKIP_COUNT
};

/** va_uskip_name() / va_uskip_text() - key and sentence of @s. */
const char *va_uskip_name(enum va_uskip s);
const char *va_uskip_text(enum va_uskip s);

/** What happened (the event hook's first argument). */
enum va_uevent_type {
	VA_UEV_LINK,     /**< path now shares master's inode (dry run: would) */
	VA_UEV_STORE,    /**< a new hash store entry @path, a copy of @master */
	VA_UEV_REVERT,   /**< path got a private copy (dry run: would) */
	VA_UEV_ALREADY,  /**< path already shares the master's inode */
	VA_UEV_SKIP,     /**< not linked / reverted: @skip says why */
	VA_UEV_PROTECT,  /**< protection flags of @path's inode changed */
	VA_UEV_UNDO,     /**< journal replay: a record was undone/finished */
	VA_UEV_GUEST,    /**< progress: a new tree (@path is its root, @label its name) */
};

struct va_uevent {
	enum va_uevent_type type;
	bool dry_run;
	const char *path;       /**< absolute path of the name (bytes, NUL-terminated) */
	size_t path_len;
	const char *master;     /**< LINK/STORE: the inode's other name; else NULL */
	size_t master_len;
	const char *label;      /**< tree label (guest name) of @path, or NULL */
	uint64_t size;
	enum va_uskip skip;     /**< SKIP */
	int err;                /**< SKIP ERROR: positive errno, 0 if none */
	const char *detail;     /**< more words (static or valid during the call), or NULL */
	uint32_t old_flags, new_flags; /**< PROTECT */
};

/** Counters, filled as the run goes (readable from the hook for progress). */
struct va_ustats {
	uint64_t examined;      /**< regular files looked at */
	uint64_t candidates;    /**< files whose size (and metadata) collide */
	uint64_t read_files, read_bytes; /**< content read for digests / comparisons */
	uint64_t linked;        /**< names linked */
	uint64_t saved_bytes;   /**< size of the inodes that lost their last name */
	uint64_t already;       /**< names already sharing the master */
	uint64_t stored;        /**< new hash store entries */
	uint64_t reverted;      /**< names given a private copy */
	uint64_t protected_;    /**< protection flag changes */
	uint64_t skipped[VA_USKIP_COUNT];
	uint64_t failed;        /**< errors (skip ERROR included) */
	uint64_t passes;        /**< vhashify: passes that read candidates (more than one
				     when they did not fit the memory limit) */
};

struct va_uhooks {
	void (*event)(const struct va_uevent *ev, const struct va_ustats *st, void *user);
	void *user;
};

/** One tree to work on: a guest root with its exclude list. */
struct va_utree {
	const char *root;       /**< the guest root (real path, no symlinks) */
	const char *label;      /**< name for messages (guest name), or NULL */
	const struct va_excl_list *excl; /**< exclude list, or NULL for none */
};

/** The memory limit without one given: this share of the physical memory. */
#define VA_UNIFY_MEMORY_SHARE 4         /* a quarter */

/** va_unify_memory_default() - the default memory limit in bytes (a quarter of the RAM). */
uint64_t va_unify_memory_default(void);

/** Options common to all runs. */
struct va_uopts {
	bool dry_run;
	bool refresh;           /**< vhashify: also re-link already flagged files */
	bool ignore_mtime;      /**< vhashify: mtime is not part of the key */
	bool sledgehammer;      /**< vhashify: new entries are the guest's own inode */
	enum va_protect protect;/**< never AUTO here: resolved by the caller */
	/** vhashify: the memory (bytes of resident set) the run may use; the
	 *  candidates are read in passes by size range so that their digests
	 *  fit in what the table of files leaves (0: VA_UNIFY_MEMORY_DEFAULT) */
	uint64_t memory_limit;
	struct va_backend *be;  /**< live back end, for reading and setting flags */
	struct va_journal *j;   /**< NULL only with dry_run */
	const struct va_uhooks *h;
	/** va_unify_replay(): the journal's roots, opened and its records
	 *  checked against them by the caller (migrate/jroots.h); NULL: the
	 *  replay does both itself. */
	const struct va_jroots *roots;
};

/**
 * va_vunify() - link files of @target to the same files of @refs (tried in
 * order; first match wins), or with @revert give @target private copies
 * of the files it shares with them.
 * Return: 0 when the run completed (skips are not errors), or a negative
 * errno for an error that stopped it (journal, memory, a missing root).
 */
int va_vunify(const struct va_utree *target, const struct va_utree *refs, size_t nrefs,
	      bool revert, const struct va_uopts *o, struct va_ustats *st);

/**
 * va_hash_holds_links() - whether directory @dirfd holds a symbolic link
 * (a name not starting with '.'): util-vserver's hash configuration
 * directory (apps/vunify/hash: "method" and links such as "00" to the
 * stores) does, a store never does.
 * Return: 1 it does, 0 it does not, or a negative errno.
 */
int va_hash_holds_links(int dirfd);

/**
 * va_vhashify() - link the files of @trees that have a twin (in another or
 * the same tree, or in the store) through the hash store @store (a
 * directory on the same mount; its "method" file names the digest, and is
 * created with @method when missing).  A file and a store entry of the same
 * content are linked when their mtimes are in the same second (as
 * util-vserver compares them); two files of the trees when their mtimes
 * are equal to the nanosecond, or one of them has no nanoseconds.
 * Return: as va_vunify(); -EINVAL when @store holds symbolic links (a hash
 * configuration directory, va_hash_holds_links()): nothing was changed.
 */
int va_vhashify(const struct va_utree *trees, size_t ntrees, const char *store,
		enum va_digest_method method, const struct va_uopts *o, struct va_ustats *st);

/**
 * va_vhashify_revert() - give every name below @paths (files or trees)
 * whose inode is also an entry of the hash store @store a private copy.
 * Return: as va_vunify().
 */
int va_vhashify_revert(const char *const *paths, size_t npaths, const char *store,
		       const struct va_uopts *o, struct va_ustats *st);

/**
 * va_unify_replay() - undo (newest first) or finish (oldest first) the
 * changes of unify journal @j: a link undone gives the name a private
 * copy again, a private copy undone links the name back, a store entry
 * undone is removed when nothing else names it, a flag change undone
 * restores the old flags.  Temporary names left by a crash are removed.
 * Of a vcopy journal (migrate/journal.h) only the links' records are
 * replayed: the entries made and their lifted flags ('C', 'M', 'I' of
 * KIND VA_CLONE_LIFT_KIND) are the clone engine's.
 * Every path of @j must lie beneath the roots of its header
 * (va_jroots_check_journal(), before anything changes).
 * Return: 0, -EPERM (a path of the journal is not beneath its roots:
 * nothing changed), or a negative errno that stopped it.
 */
int va_unify_replay(struct va_journal *j, enum va_replay mode, const struct va_uopts *o,
		    struct va_ustats *st);

#endif
