/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clone.h - vclone: a new guest tree made from an existing one.
 *
 * va_clone() walks the source tree with the safe walker (core/walk.h) and
 * makes the same tree at the destination, every entry created relative to
 * a directory fd (mkdirat, symlinkat, mknodat; files as O_TMPFILE copies
 * given their name with linkat, which never replaces a name).
 *
 *  - A unified file (its inode carries the protection flags of the host,
 *    @unified_flags all set, or it is an entry of the hash store) gets a
 *    new name of the same inode: nothing is copied.
 *  - Every other file is copied: content (holes kept), owner, mode, every
 *    extended attribute (ACLs, security.capability, trusted.* as root),
 *    atime and mtime with nanoseconds; names of one inode in the source
 *    (a guest's own hard links) are names of one copy in the destination.
 *  - Directories, symlinks, FIFOs and device nodes are made anew with
 *    owner, mode and times (a symlink's extended attributes and a device
 *    node's are not copied); sockets are left out.  Inode flags are not
 *    copied.  Mount points below the source are made as empty directories.
 *  - With va_clone_opts.tag (clone-tag.c), what is copied or made gets
 *    an xid tag; a unified file linked keeps its inode untagged.
 *  - The exclude list decides (util-vserver's vcopy semantics): a "~"
 *    entry is left out (a directory with all below it); a path an entry
 *    excludes, and everything below an excluded directory, is copied and
 *    never linked.
 *
 * A destination that exists must be an empty directory (it keeps its own
 * owner, mode and times); otherwise it is made.  Journal (backend
 * "clone", migrate/journal.h): every entry's 'C' record is on disk before
 * the entry is made (a batch's records with one journal sync); once the
 * entry and its data are on disk (one syncfs of the destination for
 * many batches, never an fsync per file or directory) an 'M' record
 * gives its inode and status change time.  Where the kernel does not let
 * a protected inode have a new name (immutable without a vserver
 * kernel's iunlink), its flags are lifted for the link and put back (once
 * for the names of one inode in a batch), the change an 'I' record.  va_clone_replay() undoes that: it removes what
 * the clone made, newest first, each entry only while it is what was
 * made (the inode of its 'M' record, files and symlinks with the status
 * change time the clone left them in; an entry whose 'M' record is
 * missing, a crash while it was made, only with the recorded type and a
 * status change time not older than its 'C' record), never a directory
 * that holds anything else, and restores the flags of an 'I' record not
 * marked done.
 *
 * Nothing here prints.
 */
#ifndef VAUDIT_CLONE_H
#define VAUDIT_CLONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/attr.h"
#include "core/dbuf.h"
#include "core/exclude.h"
#include "core/inomap.h"
#include "core/xidtag.h"
#include "migrate/journal.h"
#include "migrate/jroots.h"

/** What happened to one entry: X(ID, JSON name). */
#define VA_CLONE_ACTIONS(X) \
	X(MKDIR,   "mkdir")     /* a directory made */ \
	X(COPY,    "copy")      /* a file copied */ \
	X(LINK,    "link")      /* a unified file: a new name of its inode */ \
	X(HARDLINK,"hardlink")  /* another name of a copy (a hard link of the source) */ \
	X(SYMLINK, "symlink")   /* a symbolic link made */ \
	X(NODE,    "node")      /* a FIFO or device node made */ \
	X(OMIT,    "omit")      /* left out: a "~" entry of the exclude list */ \
	X(SKIP,    "skip")      /* left out: a socket, or a mount point's contents */ \
	X(EXISTS,  "exists")    /* va_clone_opts.fill: the destination has it, left alone */ \
	X(ERROR,   "error")     /* failed (err says why) */

enum va_clone_action {
#define VA_X_CLONE(id, name) VA_CLONE_##id,
	VA_CLONE_ACTIONS(VA_X_CLONE)
#undef VA_X_CLONE
	VA_CLONE_ACTION_COUNT
};

/** va_clone_action_name() - the JSON name of @a. */
const char *va_clone_action_name(enum va_clone_action a);

struct va_clone_event {
	enum va_clone_action action;
	bool dry_run;
	const char *path;       /**< the destination path (bytes, NUL-terminated) */
	size_t path_len;
	const char *src;        /**< the source path */
	size_t src_len;
	uint64_t size;          /**< COPY, LINK, HARDLINK: the file's size */
	int err;                /**< ERROR: positive errno, or 0 */
	const char *what;       /**< ERROR: what failed; SKIP: why; else NULL */
};

/** Counts, by action; bytes of the copies and of the linked files. */
struct va_clone_stats {
	uint64_t n[VA_CLONE_ACTION_COUNT];
	uint64_t copied_bytes;
	uint64_t linked_bytes;
};

struct va_clone_hooks {
	void (*event)(const struct va_clone_event *ev, const struct va_clone_stats *st, void *user);
	void *user;
};

struct va_clone_opts {
	bool dry_run;
	/** the flags that all set make a file unified (0: only the store says) */
	uint32_t unified_flags;
	/** the kernel lets an immutable inode get new names (a vserver kernel's iunlink) */
	bool iunlink;
	struct va_backend *be;  /**< live back end: flags are read and set through it */
	struct va_journal *j;   /**< backend VA_JOURNAL_CLONE; NULL only with dry_run */
	const struct va_excl_list *excl; /**< the source's exclude list, or NULL */
	const char *const *stores; /**< hash stores whose entries are unified files */
	size_t nstores;
	/** more inodes that count as unified (vcopy's dry run: those its
	 *  links would protect first), or NULL */
	const struct va_inomap *unified_inodes;
	const struct va_clone_hooks *h;
	/**
	 * the xid tag of what is copied or made (files copied, directories,
	 * symlinks, FIFOs, device nodes), set after each is made and before
	 * its 'M' record; unified files linked stay as they are; NULL: none.
	 * A dry run says (ERROR events, err ERANGE) which owners do not fit.
	 */
	struct va_tagger *tag;
	/**
	 * vcopy: the destination is an existing directory (not necessarily
	 * empty); an entry of the source it has already is left alone (an
	 * EXISTS event), a directory both have is entered; only what it lacks
	 * is made, as va_clone() makes it.
	 */
	bool fill;
};

/**
 * va_clone_roots() - the journal's roots for a clone of @src (a real path)
 * to @dst (a real path, or the real path of its parent and its name when
 * it does not exist yet): "SRC\nDST" when @dst exists, else "SRC\nPARENT"
 * (the directory the clone makes is below it), appended to @out.
 * Return: 0, -ENOMEM, or -errno of looking at @dst.
 */
int va_clone_roots(const char *src, const char *dst, struct dbuf *out);

/**
 * va_clone_check() - the refusals of va_clone() (with @fill as
 * va_clone_opts.fill), before anything is written (the journal included).
 * Return: 0, or what va_clone() would return for them (-EEXIST, -EINVAL,
 * -EXDEV, -ENOTDIR for a @src that is not a directory, -ENOENT for a
 * missing @dst with @fill, or -errno of looking).
 */
int va_clone_check(const char *src, const char *dst, bool fill);

/**
 * va_clone() - make @dst (a real path, or one whose parent is real) a
 * clone of @src (a real path).
 * Return: 0 when the run completed (per-entry failures are ERROR events
 * and counted), -EEXIST (@dst exists and is not an empty directory),
 * -EINVAL (@dst is @src or lies inside it), -EXDEV (not on the same
 * filesystem as @src: nothing could be linked), or another negative errno
 * that stopped the run (the journal, the destination's directory).
 * Nothing is changed when the refusals are returned.
 */
int va_clone(const char *src, const char *dst, const struct va_clone_opts *o,
	     struct va_clone_stats *st);

/**
 * va_clone_check_journal() - the pre-pass of a replay (after
 * va_jroots_check_journal()): every 'M' record names an earlier 'C'
 * record, no path twice; its 'I' records are the clone's (KIND
 * VA_CLONE_LIFT_KIND), but in a vcopy journal (backend VA_JOURNAL_VCOPY),
 * whose links ('L', other 'I') all come before its first 'C'.  Return: 0, or -EPERM with @e naming the first record
 * that does not fit.
 */
int va_clone_check_journal(const struct va_journal *j, struct va_jroots_error *e);

/** What va_clone_replay() did with one entry (the order of enum va_repair_event). */
enum va_clone_rev {
	VA_CLONE_REV_WOULD,     /**< dry run: would be removed */
	VA_CLONE_REV_DONE,      /**< removed, or gone already, or flags restored */
	VA_CLONE_REV_SKIPPED,   /**< left alone: @why says why */
	VA_CLONE_REV_FAILED,    /**< an error */
};

struct va_clone_rhooks {
	void (*event)(enum va_clone_rev ev, const char *path, size_t len, const char *why, int err,
		      void *user);
	void *user;
};

/**
 * va_clone_replay() - undo what clone journal @j recorded, newest first
 * (of a vcopy journal, only the clone's records: the links are
 * va_unify_replay()'s, after it)
 * (VA_REPLAY_RESUME is refused with -EOPNOTSUPP: a clone cut short is
 * undone, then made again).  @jr are the journal's roots, opened and
 * accepted by the caller; @j passed va_clone_check_journal().  @be sets
 * the flags of 'I' records.  Undone marks are added to @j; the caller
 * ends with va_journal_finish().  @counts (by enum va_clone_rev) are
 * added to.
 * Return: 0, or the -errno that stopped the replay.
 */
int va_clone_replay(struct va_journal *j, enum va_replay mode, const struct va_jroots *jr,
		    struct va_backend *be, bool dry_run, const struct va_clone_rhooks *h,
		    unsigned counts[4]);

#endif
