/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * finding.h - the findings model and its writers.
 *
 * A finding is one problem on one inode (or one ROOT): its kind, severity,
 * where it is (guest, display path, every other name of a shared inode),
 * its identity and current state, and the state a repair would give it.
 * The audit produces findings; the writers print them as text, as
 * NUL-separated paths or as JSON Lines; the console and the repair engine
 * (later) consume the same structure.
 */
#ifndef VAUDIT_FINDING_H
#define VAUDIT_FINDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/** Severities, most serious first. */
#define VA_SEVERITIES(X) \
	X(ERROR,   "error")   \
	X(WARNING, "warning") \
	X(INFO,    "info")

enum va_severity {
#define VA_X_SEV(id, name) VA_SEV_##id,
	VA_SEVERITIES(VA_X_SEV)
#undef VA_X_SEV
	VA_SEV_COUNT
};

/** Finding kinds: X(ID, name, default severity, why it matters). */
#define VA_KINDS(X) \
	X(LEGACY_IUNLINK, "legacy-iunlink", ERROR, \
	  "2.4 unified file (immutable 0x10 + 0x8000): a 2.6 kernel sees it as plain immutable, so guests cannot replace it and package upgrades fail") \
	X(LEGACY_NOTAIL, "legacy-notail", WARNING, \
	  "stray 0x8000 (lsattr t) without immutable: a leftover of 2.4 unification, meaningless on 2.6") \
	X(LEGACY_BARRIER, "legacy-barrier", ERROR, \
	  "2.4 chroot barrier (directory mode 0000 + 0x8000): a 2.6 kernel does not honour it") \
	X(MISSING_BARRIER, "missing-barrier", ERROR, \
	  "ROOT carries no chroot barrier in any encoding: a guest that escapes its chroot can reach the host and other guests") \
	X(BARRIER_UNVERIFIED, "barrier-unverified", WARNING, \
	  "ROOT has no 2.4 barrier and this back end cannot read the 2.6 barrier bit: check it with an image audit or a vserver kernel") \
	X(SHARED_UNPROTECTED, "shared-unprotected", ERROR, \
	  "a file shared by several guests is not immutable: any of them can change it for all the others") \
	X(SHARED_IMMUTABLE_NO_IUNLINK, "shared-immutable-no-iunlink", ERROR, \
	  "a file shared by several guests is immutable without iunlink (neither 0x08000000 nor 0x8000): the state of a 2.4 host booted on 2.6 unmigrated; guests cannot replace it and package upgrades fail") \
	X(IUNLINK_NOT_IMMUTABLE, "iunlink-not-immutable", WARNING, \
	  "iunlink 0x08000000 without immutable: the file is not protected, the bit does nothing") \
	X(BARRIER_ON_GUEST, "barrier-on-guest", ERROR, \
	  "a chroot barrier on a guest root itself: it belongs on the directory that holds the guests, and here it locks the guest out of its own root") \
	X(COW, "cow", INFO, \
	  "copy-on-write link breaking (0x20000000, vs2.3): shown for information, not a problem") \
	X(SHARED_SECRET, "shared-secret", ERROR, \
	  "a secret (host keys, shadow, private keys, or a '~' entry of the guest's exclude list) is one inode shared by several guests: each can read the others' secret") \
	X(UNIFY_LEFTOVER, "unify-leftover", WARNING, \
	  "NAME;XXXXXX next to NAME: the backup of an interrupted vunify/vhashify run, left behind") \
	X(HASH_UNPROTECTED, "hash-unprotected", ERROR, \
	  "a hash store entry that is not immutable+iunlink, or a store without a chroot barrier: guests linked to it can change it, or reach it") \
	X(TAG_ON_SHARED, "tag-on-shared", ERROR, \
	  "a file shared by several guests carries a guest's xid tag: it is charged to and writable as that guest only; shared inodes must stay tag 0") \
	X(CONFIG_INVALID, "config-invalid", ERROR, \
	  "a configuration file that cannot be read or does not hold what util-vserver expects: the tools fail or guess") \
	X(CONFIG_DUPLICATE_CONTEXT, "config-duplicate-context", ERROR, \
	  "two guests with the same static context: the second cannot start, or they share one context") \
	X(CONFIG_CONTEXT_RANGE, "config-context-range", ERROR, \
	  "a static context outside 2-49151 (0 is the host, 1 the watch context, 49152 and up are dynamic)") \
	X(CONFIG_VDIR_MISSING, "config-vdir-missing", ERROR, \
	  "the guest's vdir does not resolve to a directory inside the host: the guest cannot start and is not audited") \
	X(CONFIG_REFSERVER_INVALID, "config-refserver-invalid", ERROR, \
	  "an apps/vunify/refserver.N entry that dangles, does not name a guest configuration, or forms a cycle: vunify aborts or unifies guests with each other in a loop") \
	X(CONFIG_EXCLUDE_QUIRK, "config-exclude-quirk", WARNING, \
	  "an exclude-list line that util-vserver reads differently from how it looks (ignored, cut, or never reached)") \
	X(CONFIG_NONAMESPACE_NO_BARRIER, "config-nonamespace-no-barrier", ERROR, \
	  "a guest without its own mount namespace while the directory holding its root has no chroot barrier: it can reach the other guests") \
	X(CONFIG_VSHELPER_ACTION, "config-vshelper-action", WARNING, \
	  "apps/vshelper/action names no built-in method (restart, async, sync) and no installed vshelper method: reboot events of the guest fail") \
	X(CONFIG_HASH_CROSS_DEVICE, "config-hash-cross-device", ERROR, \
	  "the hash store is not on the same filesystem and mount as the guest: hard links into it fail (EXDEV)") \
	X(CONFIG_FSTAB_INVALID, "config-fstab-invalid", ERROR, \
	  "a guest fstab line that cannot work as written: malformed (secure-mount stops at a line of fewer than four fields, so it and every later line are not mounted), an unknown filesystem type, a bind source missing on this host, a destination mounted twice, or an order in which a mount is hidden or made too early") \
	X(CONFIG_FSTAB_UNSAFE, "config-fstab-unsafe", ERROR, \
	  "a guest fstab line that breaks the guest's isolation: a bind of another guest's tree (a reference or shadow guest, a hash store) or of secrets such as host keys, a read-write bind of a tree other guests bind too, or a destination that leaves the guest or passes a symbolic link the guest controls") \
	X(CONFIG_VMOUNT_INVALID, "config-vmount-invalid", ERROR, \
	  "a vmount configuration file (/etc/vmount, vmount(8)) that vmount refuses (a malformed entry, an unknown reference, a cycle) or that names a source this host lacks: the guests it composes get none of its mounts") \
	X(GUEST_RUNNING, "guest-running", INFO, \
	  "the guest is (or may be) running: the repair refuses to change its files without --force")

enum va_kind {
#define VA_X_KIND(id, name, sev, why) VA_KIND_##id,
	VA_KINDS(VA_X_KIND)
#undef VA_X_KIND
	VA_KIND_COUNT
};

/** The bit of kind @k in a set of kinds (uint64_t). */
#define VA_KIND_BIT(k) (UINT64_C(1) << (k))

/** va_kind_name() - "legacy-iunlink" etc.; NULL for an invalid kind. */
const char *va_kind_name(enum va_kind kind);
/** va_kind_severity() - the default severity of @kind. */
enum va_severity va_kind_severity(enum va_kind kind);
/** va_kind_why() - one sentence on why @kind matters. */
const char *va_kind_why(enum va_kind kind);
/** va_kind_parse() - kind by name; -1 if unknown. */
int va_kind_parse(const char *name);
/** va_severity_name() - "error", "warning", "info". */
const char *va_severity_name(enum va_severity sev);

/** One name of an inode: the guest it is in and its display path (bytes). */
struct va_name {
	char *guest;            /**< guest directory name; NULL outside any guest */
	size_t guest_len;
	char *path;             /**< display path (ROOT/guest/...); any bytes */
	size_t path_len;
};

/** One finding.  Strings are owned by whoever built it. */
struct va_finding {
	enum va_kind kind;
	enum va_severity severity;
	const char *root;       /**< the ROOT it was found under, as given */
	struct va_name where;   /**< the (first) name */
	const struct va_name *others; /**< further names of a shared inode */
	size_t nothers;
	size_t nguests;         /**< distinct guests among all names (shared inodes) */
	dev_t dev;
	uint64_t ino;
	uint32_t nlink;
	uint32_t mode;          /**< st_mode, type included */
	uint32_t flags;         /**< raw i_flags (see flags_known) */
	unsigned flags_known;   /**< enum va_attr_known bits; 0 = flags unknown */
	uint32_t gen;           /**< inode generation, when gen_known */
	bool gen_known;
	const char *detail;     /**< what exactly is wrong, one sentence, or NULL */
	unsigned line;          /**< line in the file (configuration findings), or 0 */
	bool has_proposal;      /**< new_flags/new_mode are what a repair would set */
	uint32_t new_flags;
	uint32_t new_mode;
};

/** Output formats. */
enum va_format {
	VA_FMT_TEXT, /**< one line per finding: kind severity flags path */
	VA_FMT_NULL, /**< the path of each finding followed by NUL */
	VA_FMT_JSON, /**< JSON Lines, schema version VA_JSON_VERSION */
};

#define VA_JSON_VERSION 1

/** Writer options (bit set). */
enum va_writer_opts {
	VA_WRITER_VERBOSE = 1 << 0, /**< text: add indented lines for other names and why */
};

struct va_writer;

/** va_writer_new() - a writer of @fmt to @fp.  Return: 0 or -ENOMEM. */
int va_writer_new(struct va_writer **ret, enum va_format fmt, FILE *fp, unsigned opts);

/**
 * va_writer_write() - write one finding.
 * Return: 0, -ENOMEM, or the negative errno of a failed write to @fp
 * (-ENOSPC on a full disk, -EPIPE, ...; -EIO when @fp only reports an
 * earlier error).
 */
int va_writer_write(struct va_writer *w, const struct va_finding *f);

/** va_writer_free() - free @w (does not close its FILE). */
void va_writer_free(struct va_writer *w);

/**
 * va_finding_format() - the exact bytes va_writer_write() would write for @f,
 * appended to @out (struct dbuf *).  Used by tests and the console.
 */
struct dbuf;
int va_finding_format(struct dbuf *out, enum va_format fmt, unsigned opts, const struct va_finding *f);

#endif
