/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * usage.h - the disk space of the guests below ROOTs, and what hard links
 * between them already save or could still save.  Nothing here prints:
 * per-entry errors go to a hook, the figures come back as data.
 *
 * Guests are named as the audit names them: each direct subdirectory of a
 * ROOT is a guest root (the configured guest's name when it is a
 * configured vdir, else the directory's name), except a hash store (the
 * convention in audit/checks.h).  The stores are walked first: those
 * directly under a ROOT and those the configuration names (wherever they
 * are, once each); then the guests, with the walk rules of the audit (one
 * filesystem below each guest root unless VA_USAGE_CROSS_MOUNTS).
 *
 * Every inode the walks meet (directories, the guest roots and the store
 * directories included) is counted once, with its disk space (st_blocks *
 * 512) and its size, in one of these classes:
 *   store    it has a name in a store (the store directory and everything
 *            below it)
 *   shared   otherwise: it has names in several guests
 *   private  otherwise: all its names the walks met are in one guest
 *   other    none of these (a ROOT itself, a non-directory directly in a
 *            ROOT)
 * A guest's figures count each inode with a name in it once, in the class
 * of that inode: its private, shared and store parts add up to what the
 * guest uses (du -s of the guest root, as one argument).
 *
 * "copies_bytes" is the disk space if every name the walks met had its own
 * copy (sum of names * blocks * 512), so copies_bytes - bytes is what the
 * hard links already save.
 *
 * Reclaimable: regular files of size > 0 with a name in a guest or a
 * store are grouped by size, mode, uid and gid (with VA_USAGE_EXACT also
 * by the SHA-256 of their content, read in a third walk for the inodes
 * that share size and metadata with another, each once; one that cannot
 * be read is left out, its error reported); of each group of N distinct inodes,
 * one is kept (an inode of a store when there is one, else that of the
 * guest first by name, else the first the walk met) and the other N - 1
 * are reclaimable: their files and blocks.  A guest's reclaimable part is
 * that of the reclaimable inodes whose guest first by name it is.  Without VA_USAGE_EXACT no content is read: files of equal size
 * and metadata but different content count too (an upper bound).
 *
 * An image (args->img): the one ROOT is a directory in it, read offline
 * with libext2fs as the image audit reads it (va_image_visit(), audit.h):
 * the same guests, the hash store directly in ROOT, every inode whose
 * name is in ROOT, a store or a guest, its i_blocks as st_blocks, its uid
 * and gid as on disk; VA_USAGE_EXACT reads the content with libext2fs.
 * Nothing is written to the image.  There the inodes also carry an xid
 * tag (args->tag_scheme): the figures per tag, and the names in a guest
 * whose non-zero tag differs from the guest's context, read from
 * /etc/vservers/NAME/context in the image (NAME the guest directory's
 * name; contexts_known says whether the image has /etc/vservers).
 *
 * Memory: one entry per inode (struct in an array, indexed by an inode
 * map), never one per name.
 */
#ifndef VAUDIT_USAGE_H
#define VAUDIT_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct va_config;
struct va_image;
struct va_error;

/** Options (bit set). */
enum va_usage_flags {
	VA_USAGE_EXACT        = 1 << 0, /**< compare content (SHA-256) for reclaimable */
	VA_USAGE_CROSS_MOUNTS = 1 << 1, /**< descend into other filesystems and mounts */
};

/** A count of inodes and their disk space. */
struct va_usage_part {
	uint64_t files;         /**< distinct inodes */
	uint64_t bytes;         /**< their st_blocks * 512 */
};

/** One guest. */
struct va_usage_guest {
	char *name;             /**< its name (bytes, NUL-terminated) */
	size_t name_len;
	char *path;             /**< the display path of its root */
	size_t path_len;
	size_t root_index;      /**< the ROOT it is in */
	struct va_usage_part all;       /**< every inode with a name in it */
	uint64_t apparent;      /**< their sizes (du --apparent-size) */
	struct va_usage_part priv, shared, store, reclaim;
	uint32_t context;       /**< an image's guest: its context, 0 = unknown */
};

/** An image: the inodes of one xid tag (0: untagged). */
struct va_usage_tag {
	uint32_t tag;
	struct va_usage_part part;
};

/** An image: a name in a guest whose tag is not the guest's context. */
struct va_usage_mismatch {
	char *path;             /**< display path (bytes, NUL-terminated) */
	size_t path_len;
	size_t guest;           /**< index into guests */
	uint32_t tag;
	uint32_t ino;
};

/** The host: each inode once. */
struct va_usage_total {
	struct va_usage_part all;
	uint64_t apparent;
	uint64_t names;         /**< names met (entries walked) */
	uint64_t copies_bytes;  /**< sum of names * blocks * 512 */
	struct va_usage_part priv, shared, store, other, reclaim;
	uint64_t errors;        /**< per-entry errors reported */
};

struct va_usage {
	struct va_usage_guest *guests;  /**< in the order the walk met them */
	size_t nguests;
	char **stores;                  /**< the store directories walked (display paths) */
	size_t nstores;
	struct va_usage_total total;
	/* images only */
	struct va_usage_tag *tags;      /**< by tag, ascending; empty when no inode has a tag */
	size_t ntags;
	bool contexts_known;            /**< the image has /etc/vservers */
	struct va_usage_mismatch *mismatches;
	size_t nmismatches;
};

struct va_usage_args {
	const char *const *roots;
	size_t nroots;
	unsigned flags;                 /**< enum va_usage_flags */
	const struct va_config *config; /**< or NULL: guest names and configured stores */
	struct va_image *img;           /**< or NULL: roots[0] (nroots 1) is a directory in it */
	unsigned tag_scheme;            /**< with @img: enum va_tag_scheme (core/image.h) */
	/** With @img (initialised): receives the library error that stopped
	 *  the reading of the image (see va_audit_image()). */
	struct va_error *img_err;
	/** A per-entry error: what failed (@op) on which path; the walk goes on. */
	void (*error)(const char *path, size_t path_len, const char *op, int err, void *user);
	/** Every few thousand entries: @entries met so far (all walks), the
	 *  current guest's name (@guest_len bytes, NULL in a store), @exact
	 *  while the content is read. */
	void (*progress)(uint64_t entries, const char *guest, size_t guest_len, bool exact, void *user);
	void *user;
	/**
	 * When set and *cancel becomes non-zero (another thread), the run
	 * stops at the next entry and returns -ECANCELED.  NULL: never.
	 */
	const volatile int *cancel;
};

/**
 * va_usage_run() - walk the stores and the guests below args->roots and
 * fill *@u (zeroed first; release it with va_usage_release() even after
 * a failure).
 * Return: 0, or a negative errno that stopped it (-ENOMEM, -EINVAL,
 * -ECANCELED, -EIO when args->img_err was set).
 */
int va_usage_run(const struct va_usage_args *args, struct va_usage *u);

/** va_usage_release() - free what va_usage_run() filled in. */
void va_usage_release(struct va_usage *u);

#endif
