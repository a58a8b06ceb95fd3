/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * audit.h - the attribute audit: walks ROOTs, reads the attributes of
 * every file and directory below them, and hands findings to a hook.  No
 * printing here: vaudit (and the console) decide what to do with
 * findings, errors and progress.
 *
 * Names come from the walk, attributes from the inode tables: on an
 * ext2/3/4 filesystem whose block device can be read (VA_AUDIT_TABLES),
 * the inode tables are read once, sequentially, and the walk takes from
 * them which entries need a look (a bad flag, several links, a mode-0000
 * directory); regular files are then not even statx()ed.  What is
 * reported is read again on the live inode (a verified fd) first, so a
 * stale block can hide a finding for the moment of the audit but never
 * make one up.  Elsewhere every file and directory is read through the
 * walk.  Either way the audit is complete; va_audit_stats says which way.
 *
 * Guests: each direct subdirectory of a ROOT is a guest root, except a hash
 * store (the convention is in audit/checks.h).  A guest root
 * may be a mount point of its own; below it the walk stays on one
 * filesystem unless VA_AUDIT_CROSS_MOUNTS.
 *
 * Order of findings: the ROOT's own finding first, then findings on
 * singly-linked inodes as the walk meets them, then findings on
 * multiply-linked inodes (one per inode and kind, with every name) once the
 * walk is over, in the order their first name was met.
 */
#ifndef VAUDIT_AUDIT_H
#define VAUDIT_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/attr.h"
#include "core/finding.h"
#include "core/message.h"

/** Audit options (bit set). */
enum va_audit_flags {
	/** read the attributes of every inode of an ext2/3/4 filesystem from
	 *  its inode tables (core/itable.h) through its block device; without
	 *  it (or where that fails) every file and directory is read through
	 *  the walk, one system call each */
	VA_AUDIT_TABLES       = 1 << 0,
	VA_AUDIT_CROSS_MOUNTS = 1 << 1, /**< descend into other filesystems and mounts */
};

/** How the attributes were read (bit set in va_audit_stats.methods). */
enum va_audit_method {
	VA_METHOD_TABLES = 1 << 0, /**< a filesystem's inode tables, findings read again live */
	VA_METHOD_WALK   = 1 << 1, /**< every file and directory of a filesystem, through the walk */
};

/** Counters, updated during the run. */
struct va_audit_stats {
	uint64_t entries;          /**< entries visited (ROOTs included) */
	uint64_t flag_reads;       /**< flag reads through the back end */
	unsigned methods;          /**< enum va_audit_method */
	unsigned tables;           /**< filesystems whose inode tables were read */
	uint64_t table_inodes;     /**< in-use inodes seen in them */
	uint64_t entries_expected; /**< live: the entries the walk will meet, as the
				        inode tables count them, when ROOT is the root
				        of the one filesystem walked; else 0 */
	const char *walk_why;      /**< VA_METHOD_WALK: why (static text), or NULL */
	long walk_err;             /**< ... and the errno or errcode_t behind it, or 0 */
	uint64_t errors;           /**< per-entry errors reported */
	uint64_t findings;         /**< findings passed to the hook */
	uint64_t problems;         /**< of which error or warning (the exit status) */
	uint64_t by_kind[VA_KIND_COUNT];
	const char *guest;         /**< current guest name (bytes, may be NULL) */
	size_t guest_len;
};

/** Callbacks.  Any may be NULL. */
struct va_audit_hooks {
	/** A finding (only kinds in va_audit_args.kinds).  Return <0 to stop the audit. */
	int (*finding)(const struct va_finding *f, void *user);
	/** A per-entry error: what failed (@op) on which path; the walk goes on.
	 *  @err is an errno value or, for images, a libext2fs errcode_t. */
	void (*error)(const char *path, size_t path_len, const char *op, int err, void *user);
	/** Called every few thousand entries. */
	void (*progress)(const struct va_audit_stats *stats, void *user);
	/** Called when a filesystem's inode tables were read, before the walk
	 *  looks at its entries (stats->tables counts them). */
	void (*tables_read)(const struct va_audit_stats *stats, void *user);
	void *user;
};

struct va_config;

struct va_audit_args {
	const char *const *roots;
	size_t nroots;
	unsigned flags;            /**< enum va_audit_flags */
	uint64_t kinds;            /**< bit (1 << kind) for each kind to report */
	struct va_backend *backend;
	struct va_audit_hooks hooks;
	/**
	 * The host's configuration, or NULL.  With it, a guest root that is
	 * a configured vdir carries that guest's name, and shared-secret also
	 * uses the '~' entries of the guest's exclude list.
	 */
	const struct va_config *config;
	/** Image audits: enum va_tag_scheme (core/image.h) for tag-on-shared; 0 = auto. */
	unsigned tag_scheme;
	/**
	 * When set and *cancel becomes non-zero (another thread), the audit
	 * stops at the next entry and returns -ECANCELED.  NULL: never.
	 */
	const volatile int *cancel;
};

/** All kinds. */
#define VA_AUDIT_ALL_KINDS ((UINT64_C(1) << VA_KIND_COUNT) - 1)

/**
 * va_audit_run() - run the audit.
 * @stats: receives the counters (zeroed first).
 * Return: 0, or a negative errno that stopped it (-ENOMEM, or what the
 * finding hook returned).
 */
int va_audit_run(const struct va_audit_args *args, struct va_audit_stats *stats);

/**
 * va_audit_config() - the configuration checks on args->config: what the
 * reader found wrong, duplicate and out-of-range contexts, missing vdirs,
 * invalid and cyclic refservers, vshelper actions, guests without a mount
 * namespace under a ROOT without a barrier (read through args->backend),
 * hash stores on another filesystem or mount than their guests, the
 * guests' fstab files (va_audit_fstab()), vmount's configuration files
 * (va_audit_vmount()), and running guests.  Findings
 * name the configuration file concerned.
 * Return: 0, or the finding hook's negative return / -ENOMEM.
 */
int va_audit_config(const struct va_audit_args *args, struct va_audit_stats *stats);

/**
 * va_audit_fstab() - the checks of the guests' fstab files and of
 * .defaults/fstab (the config-fstab-* kinds; malformed lines are the
 * reader's own findings): unknown types, duplicate destinations, bind sources
 * that do not exist, belong to another guest or hold secrets, read-write
 * binds of trees other guests bind, destinations that leave the guest,
 * and orders that cannot work (see vserver-config(5), FSTAB FILES).
 * Part of va_audit_config().  Counters are added to @stats.
 * Return: 0, or the finding hook's negative return / -ENOMEM.
 */
int va_audit_fstab(const struct va_audit_args *args, struct va_audit_stats *stats);

/**
 * va_audit_vmount() - the checks of vmount's configuration files, every
 * regular file of VA_VMOUNT_DIR inside the host root (config-vmount-invalid):
 * each is loaded as vmount would load it (vmount(8): the entries, the
 * references across files, cycles, limits), and every source on the host
 * (a bind's, an auto or image entry's) must exist there, an auto or image
 * source being a block device or a regular file.  A fault in a file that
 * several others name is reported once.  Part of va_audit_config().
 * Return: 0, or the finding hook's negative return / -ENOMEM.
 */
#define VA_VMOUNT_DIR "/etc/vmount"
int va_audit_vmount(const struct va_audit_args *args, struct va_audit_stats *stats);

/**
 * va_audit_config_finding() - report one finding on a configuration file:
 * @path (a real path) and @line (0: none), guest index @guest (-1: none),
 * severity @sev (< 0: the kind's default), @detail (one sentence).
 * Nothing is reported for a kind args->kinds leaves out.  Counters are
 * added to @stats.
 * Return: 0, or the finding hook's negative return.
 */
int va_audit_config_finding(const struct va_audit_args *args, struct va_audit_stats *stats,
			    enum va_kind kind, int sev, long guest, const char *path, unsigned line,
			    const char *detail);

/**
 * va_audit_hash_stores() - hash-unprotected: walk every hash store of
 * args->config (each per-filesystem entry once) and report entries that
 * are not immutable+iunlink, and stores without a chroot barrier.
 * Counters are added to @stats (not zeroed).
 * Return: 0, or a negative errno that stopped it.
 */
int va_audit_hash_stores(const struct va_audit_args *args, struct va_audit_stats *stats);

/**
 * va_audit_store() - hash-unprotected for the one store at @path (a
 * VA_STORE_NAME directory under a ROOT that the configuration does not
 * name; see the convention in audit/checks.h).  Counters are added to
 * @stats.  Return: 0, or a negative errno that stopped it.
 */
int va_audit_store(const struct va_audit_args *args, struct va_audit_stats *stats, const char *path);

/** va_config_is_store() - @dev/@ino is an entry of a hash directory of @c (may be NULL). */
bool va_config_is_store(const struct va_config *c, dev_t dev, uint64_t ino);

/**
 * va_secret_match() - does guest-absolute @path (a name of a shared inode)
 * match a built-in secret pattern or a '~' entry of @excl (may be NULL)?
 * Return: the pattern that matched, or NULL.
 */
struct va_excl_list;
const char *va_secret_match(const char *path, const struct va_excl_list *excl);

struct va_image;

/**
 * va_audit_image() - audit an opened image.  args->roots holds exactly one
 * path: the directory inside the image that holds the guests (ROOT);
 * args->backend is not used (the raw inodes are read directly).  Findings
 * carry image-absolute paths.
 * @err: (initialised) receives the library error that stopped the audit,
 *       if any: the image's path, what was being done ("reading the inode
 *       table"), the inode concerned and the errcode_t; left alone
 *       otherwise.  Its text is "'IMAGE': WHAT (inode N): REASON".
 * Return: 0, -EIO when @err was set, or another negative errno.
 */
int va_audit_image(const struct va_audit_args *args, struct va_image *img,
		   struct va_audit_stats *stats, struct va_error *err);

/** Where a name is, for va_image_visit(): >= 0 is a guest's index. */
enum { VA_PLACE_STORE = -2, VA_PLACE_ROOT = -1 };

/** An inode as va_image_visit() hands it over. */
struct va_image_node {
	uint32_t ino;
	uint32_t mode, uid, gid;   /**< uid and gid as on disk (32 bits, tag bits included) */
	uint32_t tag;              /**< xid tag under args->tag_scheme, 0 = none */
	uint64_t blocks;           /**< 512-byte units, as st_blocks */
	uint64_t size;
};

struct va_image_scan;

/** What va_image_visit() calls; a non-zero return stops it and is returned. */
struct va_image_visitor {
	/** Each guest (a directory directly in ROOT, not the store), in index order. */
	int (*guest)(size_t index, const char *name, size_t name_len, const char *path,
		     size_t path_len, void *user);
	/** Each hash store directly in ROOT (display path). */
	int (*store)(const char *path, size_t len, void *user);
	/**
	 * Each name of an inode in ROOT (ROOT itself included), in a store or
	 * in a guest (@place): the names of one inode one after the other, a
	 * store's first, then ROOT's, then by guest.  The name is entry @name
	 * (@len bytes) of directory @dir, or directory @dir itself when @name
	 * is NULL; va_image_scan_path() makes its display path.
	 */
	int (*name)(struct va_image_scan *s, const struct va_image_node *n, int32_t place,
		    uint32_t dir, const char *name, size_t len, void *user);
	void *user;
};

/**
 * va_image_visit() - read the tree below args->roots[0] (the only ROOT) as
 * va_audit_image() reads it, keeping every inode this time, and hand the
 * guests, the stores and the names to @v.  Damaged directories go to
 * args->hooks.error; args->tag_scheme says where the tags are.
 * @err: as for va_audit_image().
 * Return: 0, what a visitor callback returned, -EIO when @err was set, or
 * another negative errno.
 */
int va_image_visit(const struct va_audit_args *args, struct va_image *img,
		   const struct va_image_visitor *v, struct va_error *err);

struct dbuf;

/** va_image_scan_path() - the display path of a name given to the visitor.  Return: 0 or -ENOMEM. */
int va_image_scan_path(struct va_image_scan *s, uint32_t dir, const char *name, size_t len,
		       struct dbuf *out);

/** Called by va_list_attrs() for each entry shown, in walk order. */
typedef void va_roots_fn(const char *path, size_t path_len, const struct va_attrs *attrs,
			 uint32_t mode, void *user);

/** va_list_attrs() options (bit set). */
enum va_attrs_how {
	VA_ATTRS_RECURSIVE = 1 << 0, /**< everything below each directory, not only its entries */
};

/**
 * va_list_attrs() - the attributes of each path of args->roots (any file
 * or directory) and, for a directory, of its entries (with
 * VA_ATTRS_RECURSIVE: of everything below it), in walk order (the
 * entries of a directory by inode number); only regular files and
 * directories have flags: other entries below a path are left out, a
 * path that is neither is an error.  Live through the walker and
 * args->backend (VA_AUDIT_CROSS_MOUNTS in args->flags: also below other
 * mounts); with @img each path is an absolute path in the image.  Errors
 * go to args->hooks.error.
 * Return: 0, -EIO when something could not be read, or another negative errno.
 */
int va_list_attrs(const struct va_audit_args *args, struct va_image *img, unsigned how,
		  va_roots_fn *fn);

#endif
