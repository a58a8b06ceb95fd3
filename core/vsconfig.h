/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vsconfig.h - the util-vserver configuration (/etc/vservers), read as
 * util-vserver's tools read it, for the audit and the unify tools.
 *
 * Guests: every entry of the configuration directory that is a directory
 * (symlinks followed), does not start with '.', and is not a package or
 * editor backup (*.rpmsave, *.rpmnew, *.rpmorig, *.cfsaved*, *.~*~, *~),
 * in byte order.  Disabled guests are read too (va_guest.disabled).
 *
 * Per guest, with the fallback each util-vserver tool uses (there is no
 * general .defaults inheritance):
 *   context                 static xid (decimal); none = dynamic
 *   vdir                    guest root; else .defaults/vdirbase/NAME; else /vservers/NAME
 *   run                     link to the file with the running xid
 *   cache                   else .defaults/cachebase/NAME; else /var/cache/vservers/NAME
 *   disabled, legacy        flag files
 *   nonamespace, namespace  own flag files, else .defaults/nonamespace
 *   apps/init/mark          group label
 *   apps/vshelper/disabled  else .defaults/apps/vshelper/disabled
 *   apps/vshelper/action    else "restart"
 *   apps/vunify/            must exist for vunify/vhashify
 *   apps/vunify/refserver.* reference guests' configuration directories, in
 *                           byte (alphasort in the C locale) order
 *   apps/vunify/exclude     else .defaults/apps/vunify/exclude, else the
 *                           shipped default list
 *   apps/vunify/pkgmgmt-ignore, pkgmgmt-force   own, then .defaults
 *   apps/vunify/hash/       else .defaults/apps/vunify/hash/ (method file,
 *                           per-filesystem entries)
 *   fstab, fstab.local, fstab.remote
 *                           the guest's mounts, in that order (core/fstab.h);
 *                           malformed lines are config-fstab-invalid problems
 *
 * And .defaults/fstab, the template util-vserver copies into a guest it
 * builds (no guest mounts it): read and parsed the same way.
 *
 * Safety.  Every path is resolved by this module itself, one component at
 * a time with O_PATH|O_NOFOLLOW fds, following symbolic links by hand
 * (at most 40), inside a host root: with a host root PREFIX (an offline
 * copy of a host), absolute links restart at PREFIX and ".." never leaves
 * it -- a path that tries is refused, as is one that loops.  Files are
 * opened O_NOFOLLOW relative to their verified parent and read up to a
 * size limit.  Nothing is ever written.
 *
 * Legacy guests (the 2.4-era style, core/legacy.h): a regular file
 * NAME.conf of the configuration directory (links followed; NAME not
 * hidden, not a backup) is the guest NAME, with its root in /vservers/NAME
 * and its running context in /var/run/vservers/NAME.ctx.  As util-vserver
 * decides (lib/getvservercfgstyle.c): when a directory NAME/ exists too,
 * NAME.conf is the guest's configuration only if NAME/ holds a "legacy"
 * flag file or NAME/vdir is not a directory; otherwise the directory wins
 * and NAME.conf is ignored (va_guest.conf_ignored says so).  From NAME.conf:
 * S_CONTEXT (the context; empty or absent = dynamic), ONBOOT=yes
 * (va_guest.onboot); the rest is kept in va_guest.lconf.  A legacy guest
 * has no apps/ (no unification, no vshelper, the built-in exclude list).
 *
 * Problems found while reading (an unreadable or malformed file, a vdir
 * that does not resolve, an exclude-list quirk, ...) are recorded as
 * va_config_problem entries with the finding kind they are; nothing is
 * printed.
 */
#ifndef VAUDIT_VSCONFIG_H
#define VAUDIT_VSCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/exclude.h"
#include "core/finding.h"
#include "core/fstab.h"
#include "core/legacy.h"
#include "core/message.h"

/** Static contexts util-vserver accepts. */
#define VA_CONTEXT_MIN 2
#define VA_CONTEXT_MAX 49151

/** The default configuration directory. */
#define VA_CONFIG_DIR "/etc/vservers"

/** A problem met while reading. */
struct va_config_problem {
	enum va_kind kind;      /**< e.g. VA_KIND_CONFIG_INVALID, VA_KIND_CONFIG_EXCLUDE_QUIRK */
	long guest;             /**< index into va_config.guests, or -1 */
	char *path;             /**< the file concerned (real path, host root included) */
	unsigned line;          /**< 1-based line, or 0 */
	char *detail;           /**< what is wrong, one sentence */
};

/** An identity: where a resolved directory is. */
struct va_dir_id {
	dev_t dev;
	uint64_t ino;
	uint64_t mnt_id;        /**< statx STATX_MNT_ID, when mnt_known */
	bool mnt_known;
};

/** One apps/vunify/refserver.N entry. */
struct va_refserver {
	char *entry;            /**< "refserver.N" */
	char *cfgdir;           /**< what it resolves to (real path), or NULL */
	long guest;             /**< the guest whose configuration directory that is, or -1 */
	char *why;              /**< why it is invalid, or NULL */
};

/** One per-filesystem entry of a hash directory ("00 -> /vservers/.hash"). */
struct va_hash_entry {
	char *name;             /**< entry name in the hash directory */
	char *path;             /**< resolved directory (real path), or NULL */
	struct va_dir_id id;
	bool duplicate;         /**< a second entry on the same device: util-vserver ignores it */
};

/** A hash directory (apps/vunify/hash), shared by the guests that use it. */
struct va_hash_dir {
	char *path;             /**< real path of the directory */
	char *method;           /**< digest name as written (lower case, '-' removed), or NULL */
	bool method_valid;      /**< md5, sha1, sha256 (md2 only with NSS builds) */
	struct va_hash_entry *entries;
	size_t nentries;
};

/** An fstab file that was read (path NULL: there is none). */
struct va_fstab_file {
	char *path;             /**< real path (host root included) */
	struct va_fstab tab;    /**< its well-formed lines */
};

/** The guest fstab files, in the order util-vserver mounts them. */
#define VA_FSTAB_FILES(X) X(FSTAB, "fstab") X(LOCAL, "fstab.local") X(REMOTE, "fstab.remote")

enum va_fstab_which {
#define VA_X_FSTAB(id, name) VA_FSTAB_##id,
	VA_FSTAB_FILES(VA_X_FSTAB)
#undef VA_X_FSTAB
	VA_FSTAB_COUNT
};

/** Where a guest is running. */
enum va_run_state {
	VA_RUN_STOPPED,         /**< no run file, no process rooted in its vdir */
	VA_RUN_RUNNING,         /**< a run file or a process rooted in its vdir */
	VA_RUN_UNKNOWN,         /**< offline copy (host root): cannot tell */
};

/** One guest. */
struct va_guest {
	char *name;             /**< configuration directory entry name (legacy: without .conf) */
	char *cfgdir;           /**< its real path (legacy: the real path of NAME.conf) */
	char *cfgdir_canon;     /**< its path inside the host root */
	dev_t cfgdir_dev;       /**< identity of the configuration directory (legacy: of NAME.conf) */
	uint64_t cfgdir_ino;
	char *display;          /**< contents of "name", or NULL */
	long context;           /**< static xid; -1 none (dynamic); -2 unreadable or not a number */
	char *vdir;             /**< resolved guest root (real path), or NULL */
	char *vdir_canon;       /**< the same inside the host root */
	const char *vdir_from;  /**< "vdir", ".defaults/vdirbase", "default" or "legacy" (/vservers/NAME) */
	char *vdir_why;         /**< why vdir is NULL */
	struct va_dir_id vdir_id;
	char *run;              /**< where the run link points (as written), or NULL; legacy: the NAME.ctx path when it exists */
	long run_xid;           /**< xid read from the run file (legacy: S_CONTEXT of NAME.ctx), or -1 */
	enum va_run_state running;
	char *running_why;      /**< e.g. "run file /var/run/vservers/a", "process 123" */
	char *cache;            /**< cache link (as written) or the default */
	bool disabled;
	bool legacy;
	bool nonamespace;       /**< effective: own flag or .defaults, unless "namespace" */
	bool nonamespace_global;/**< ... and it comes from .defaults/nonamespace */
	char *mark;             /**< apps/init/mark (first line), or NULL */
	bool vshelper_disabled; /**< effective */
	char *vshelper_action;  /**< first word of apps/vshelper/action, or NULL (= restart) */
	bool vshelper_action_known; /**< a built-in method or an installed vshelper method */
	bool has_vunify;        /**< apps/vunify/ exists */
	struct va_refserver *refs;
	size_t nrefs;
	char *exclude_file;     /**< real path of the exclude list used, or NULL = built in */
	struct va_excl_list exclude;
	bool pkgmgmt;           /**< use the package manager's config file list */
	long hash;              /**< index into va_config.hashdirs, or -1 */
	/* the legacy style */
	bool conf;              /**< a legacy guest: cfgdir is NAME.conf */
	struct va_legacy lconf; /**< legacy: the variables NAME.conf sets */
	unsigned context_line;  /**< legacy: the line of S_CONTEXT, or 0 */
	bool onboot;            /**< legacy: ONBOOT=yes (the legacy init script starts it) */
	char *conf_ignored;     /**< a directory guest: the real path of a NAME.conf beside it, ignored */
	struct va_fstab_file fstab[VA_FSTAB_COUNT]; /**< enum va_fstab_which; none for legacy guests */
};

struct va_config {
	char *host_root;        /**< PREFIX as given, or NULL for the running host */
	char *cfgdir;           /**< real path of the configuration directory */
	char *cfgdir_canon;     /**< the same inside the host root */
	struct va_guest *guests;
	size_t nguests;
	struct va_hash_dir *hashdirs;
	size_t nhashdirs;
	struct va_config_problem *problems;
	size_t nproblems, capproblems;
	struct va_fstab_file defaults_fstab; /**< .defaults/fstab, the template of the guests util-vserver builds */
	/* private */
	int root_fd;
	size_t capguests, caphash;
};

/** va_config_load() options. */
struct va_config_opts {
	const char *host_root;  /**< NULL: the running host; else an offline copy's root */
	const char *cfgdir;     /**< NULL: VA_CONFIG_DIR (inside the host root) */
};

/**
 * va_config_load() - read the configuration.
 * @err: (initialised) on failure, receives the message: the configuration
 *       directory as named (@o->cfgdir or VA_CONFIG_DIR, after
 *       @o->host_root when given), "configuration directory", and the
 *       reason ("it leads out of the host root", or the errno's text).
 *       Left alone on success.
 * Return: 0; -ENOENT when the configuration directory does not exist;
 * -ENOTDIR, -ELOOP, -EXDEV (it leaves the host root), -EACCES, ... when it
 * cannot be used; -ENOMEM.  Everything inside it that is wrong is a
 * problem entry, not a failure.
 */
int va_config_load(struct va_config **ret, const struct va_config_opts *o, struct va_error *err);

/** va_config_free() - free @c (NULL is fine). */
void va_config_free(struct va_config *c);

/**
 * va_config_find_vdir() - the guest whose vdir is @dev/@ino, or -1.
 */
long va_config_find_vdir(const struct va_config *c, dev_t dev, uint64_t ino);

/**
 * va_config_roots() - the distinct parents of the resolved vdirs (real
 * paths), in guest order: what the audit walks.  *@ret is a NULL-terminated
 * array of strings owned by the caller (free each, then the array).
 * Return: the count, or -ENOMEM.
 */
long va_config_roots(const struct va_config *c, char ***ret);

/**
 * va_config_open_dir() - open the directory @canon (a path inside the host
 * root, such as va_guest.vdir_canon or its parent) for reading, resolved
 * like the configuration (links followed inside the host root).
 * Return: an O_RDONLY|O_DIRECTORY fd, or a negative errno.
 */
int va_config_open_dir(const struct va_config *c, const char *canon);

/**
 * va_config_lookup() - resolve the host path @path (absolute inside the
 * host root; a relative one is taken from it too) like the configuration:
 * links followed inside the host root, never out of it.
 * @canon (may be NULL): receives its canonical path inside the host root
 * (the caller frees it), only on success.
 * @id (may be NULL): receives its identity, only on success.
 * Return: its type (S_IFMT bits), or a negative errno (-ENOENT, -ENOTDIR,
 * -EXDEV: it leads out of the host root, -ELOOP, -ENOMEM, ...).
 */
int va_config_lookup(const struct va_config *c, const char *path, char **canon, struct va_dir_id *id);

/**
 * va_config_real_path() - the real path of the canonical path @canon (the
 * host root prefixed).  Return: a string the caller frees, or NULL.
 */
char *va_config_real_path(const struct va_config *c, const char *canon);

/**
 * va_config_on_this_host() - with a host root (an offline copy), the type
 * of the host path @path on the host that runs the audit, where the
 * copy's guests will run after a migration: fstatat(2) of @path, links
 * followed as mount(8) would follow them, no automount triggered.  Without a host root the
 * audited host is this host: S_IFDIR is returned without a look.  For
 * tests only, VAUDIT_TEST_THIS_HOST (an absolute directory) stands for
 * this host's root.
 * Return: its type (S_IFMT bits), or a negative errno (-ENOENT, ...).
 */
int va_config_on_this_host(const struct va_config *c, const char *path);

/** va_config_strerror() - a resolver error as a phrase ("it leads out of the host root"). */
const char *va_config_strerror(int err);

#endif
