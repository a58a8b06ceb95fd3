/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mountconf.h - vmount's configuration language and its dependency graph.
 *
 * A configuration is a directory of files; each line of a file is an
 * entry, blank lines and lines starting with '#' aside:
 *
 *     NAME TYPE SOURCE DEST [KEY::VALUE]...
 *
 *  - NAME: [A-Za-z0-9_][A-Za-z0-9_.+-]* (at most VM_NAME_MAX bytes), unique
 *    in its file; "DEST" and "none" are reserved.
 *  - TYPE: bind, tmpfs, share, auto, image (enum vm_type).
 *  - SOURCE and DEST are places (struct vm_ref):
 *      /ABS/PATH        a path on the host;
 *      DEST[/SUB]       the guest directory given on the command line
 *                       (DEST only);
 *      ENTRY[/SUB]      the mount of entry ENTRY of the same file, or a
 *                       path inside it;
 *      FILE:ENTRY[/SUB] the same for an entry of file FILE of the same
 *                       directory;
 *      none             no source (tmpfs only).
 *    No "..", no control character, no NUL anywhere.
 *  - KEY::VALUE options: options::LIST (ro, rw, nosuid, nodev, noexec,
 *    noatime, comma-separated), size::N[kmg%] (tmpfs), copy::dest
 *    (tmpfs: start with a copy of what the destination holds), fs::TYPE
 *    (auto, image: ext2, ext3, ext4, squashfs, erofs, xfs, btrfs; probed
 *    from the superblock when not given).
 *
 * An entry whose DEST is on the host (an absolute path, or inside another
 * such entry) is *shared*: mounted once for every guest that needs it.
 * The others are *per-guest*: their DEST is the guest directory or lies
 * inside another per-guest entry.  A shared entry cannot depend on a
 * per-guest one; a share's SOURCE is a shared entry and its DEST is in
 * the guest.
 *
 * An entry depends on the entries its SOURCE and DEST name.  Loading the
 * main file loads every file its entries name (and theirs), resolves the
 * references and orders the entries the main file needs, dependencies
 * first (the file's order otherwise); a cycle is refused, named.
 *
 * Limits: a line of at most VM_LINE_MAX bytes, a file of at most
 * VM_FILE_MAX bytes, VM_FILES_MAX files, VM_ENTRIES_MAX entries.
 *
 * Errors: every function returns 0 or a negative errno; the reason goes
 * to a struct va_error (core/message.h) whose path is "DIR/FILE:LINE"
 * and whose what says what is wrong: -EINVAL for the language, -ELOOP
 * for a cycle, -ENOENT for an unknown entry, -E2BIG for a limit.  A file
 * that cannot be read is named at the line that names it, with the
 * reader's errno (-ENOENT, -ELOOP for a symlink, -EISDIR, ...) as the
 * reason; the main file itself as "DIR/FILE".  Words of the file quoted
 * in a message may be cut short (the text holds VA_ERROR_WHAT bytes at
 * most), their bytes outside printable ASCII shown as '?'.  Nothing
 * prints.
 */
#ifndef VAUDIT_MOUNTCONF_H
#define VAUDIT_MOUNTCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dbuf.h"

struct va_error;

#define VM_NAME_MAX 64
#define VM_LINE_MAX 4096
#define VM_FILE_MAX (1024 * 1024)
#define VM_FILES_MAX 64
#define VM_ENTRIES_MAX 4096

/** What an entry mounts. */
enum vm_type {
	VM_BIND,        /**< SOURCE (a directory or file) bound on DEST */
	VM_TMPFS,       /**< a new tmpfs */
	VM_SHARE,       /**< the directory SOURCE/GUEST/NAME, created on first use, bound on DEST */
	VM_AUTO,        /**< a block device, or a filesystem image through a loop device */
	VM_IMAGE,       /**< a filesystem image through a read-only loop device, read-only */
};

/** Mount attributes of options::LIST (bit set). */
enum vm_attr {
	VM_ATTR_RDONLY  = 1 << 0,
	VM_ATTR_NOSUID  = 1 << 1,
	VM_ATTR_NODEV   = 1 << 2,
	VM_ATTR_NOEXEC  = 1 << 3,
	VM_ATTR_NOATIME = 1 << 4,
};

/** A SOURCE or DEST. */
struct vm_ref {
	enum vm_ref_kind {
		VM_REF_NONE,    /**< "none" */
		VM_REF_HOST,    /**< an absolute path on the host: @sub */
		VM_REF_GUEST,   /**< the guest directory, @sub below it */
		VM_REF_ENTRY,   /**< entry @entry, @sub below its mount */
	} kind;
	size_t entry;           /**< VM_REF_ENTRY: index in vm_conf.entries */
	char *sub;              /**< normalised: no "." or empty component, no
				     leading or trailing '/' (HOST: absolute,
				     "/" for the root); "" when none */
};

/** One line of a file. */
struct vm_entry {
	char *file;             /**< the file's name */
	char *name;
	char *id;               /**< "FILE:NAME" */
	unsigned line;
	enum vm_type type;
	struct vm_ref src, dst;
	char *src_text, *dst_text;      /**< as written */
	unsigned attrs;         /**< enum vm_attr */
	char *size;             /**< size:: (tmpfs) or NULL */
	bool copy_dest;         /**< copy::dest */
	char *fstype;           /**< fs:: or NULL (probe) */
	bool shared;            /**< DEST is on the host */
	/** where DEST is: shared, the absolute host path; per-guest, the path
	 *  below the guest directory ("" for the directory itself) */
	char *where;
	bool loaded;            /**< internal: resolved */
};

/** A loaded configuration. */
struct vm_conf {
	char *prefix;           /**< "DIR/" as given, or "" */
	char *main;             /**< the main file's name */
	struct vm_entry *entries;
	size_t nentries, cap;
	size_t *order;          /**< the plan: indices, dependencies first */
	size_t norder;
};

/**
 * vm_conf_read_fn - read file @name (a checked name: no '/', not "." or
 * "..") of the configuration directory into @out (empty on entry).
 * Return: 0 or -errno.
 */
typedef int vm_conf_read_fn(void *user, const char *name, struct dbuf *out);

/**
 * vm_conf_load() - load main file @main and every file it names through
 * @rd, resolve and order.  @prefix ("DIR/" or "") starts the file names
 * in messages.  Return: 0 with *@ret set (vm_conf_free() it), or -errno
 * with @err set and *@ret untouched.
 */
int vm_conf_load(struct vm_conf **ret, const char *prefix, const char *main, vm_conf_read_fn *rd,
		 void *user, struct va_error *err);

/**
 * vm_conf_load_at() - vm_conf_load() of the files in the directory open
 * at @dfd: each read without following a symlink, regular files of at
 * most VM_FILE_MAX bytes only.
 */
int vm_conf_load_at(struct vm_conf **ret, int dfd, const char *prefix, const char *main,
		    struct va_error *err);

/**
 * vm_conf_load_path() - vm_conf_load_at() of the file @path: its directory
 * is the configuration directory.
 */
int vm_conf_load_path(struct vm_conf **ret, const char *path, struct va_error *err);

/** vm_conf_free() - free @c (NULL allowed). */
void vm_conf_free(struct vm_conf *c);

/** vm_type_name() - "bind", "tmpfs", ... */
const char *vm_type_name(enum vm_type t);

/** vm_attr_text() - "ro,nosuid,..." of @attrs into @b ("" for none).  Return: 0 or -ENOMEM. */
int vm_attr_text(struct dbuf *b, unsigned attrs);

/** vm_entry_depends() - whether entry @a depends on entry @b directly. */
bool vm_entry_depends(const struct vm_conf *c, size_t a, size_t b);

#endif
