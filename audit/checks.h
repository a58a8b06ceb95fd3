/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * checks.h - the rules, apart from how the state was gathered.
 *
 * Both drivers use these: the live walk (audit.c) and the image scan
 * (audit-image.c).  Each takes the raw i_flags, what the back end could
 * see of them (enum va_attr_known) and the facts the rule needs, and
 * returns a bit set of kinds (VA_KIND_BIT(kind)).  A rule that needs the
 * 2.6 bits stays silent when they are unknown.
 */
#ifndef VAUDIT_CHECKS_H
#define VAUDIT_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/finding.h"

/** Kinds of a regular file from its own flags (any link count). */
uint64_t va_check_file(uint32_t flags, unsigned known);

/** Kinds of a regular file whose names lie in @nguests guests. */
uint64_t va_check_shared(uint32_t flags, unsigned known, size_t nguests);

/** Kinds of a directory below ROOT; @guest_root for a direct subdirectory of ROOT. */
uint64_t va_check_dir(uint32_t flags, unsigned known, uint32_t mode, bool guest_root);

/** Kinds of ROOT itself (legacy-barrier, missing-barrier or barrier-unverified). */
uint64_t va_check_root(uint32_t flags, unsigned known, uint32_t mode);

/**
 * va_propose() - fill f->new_flags/new_mode with the state a repair would
 * give the inode for f->kind (f->flags, f->mode and f->flags_known set).
 * @on_root: the finding is on ROOT.
 */
void va_propose(struct va_finding *f, bool on_root);

/** va_is_leftover_name() - "NAME;XXXXXX", the mkstemp() backup name of util-vserver's unify. */
bool va_is_leftover_name(const char *name, size_t len);

/*
 * The hash store convention (one for the live audit, the image audit, the
 * repair and the console): a hash store is not a guest.  A directory is a
 * store when the configuration names it (an entry of an apps/vunify/hash
 * directory), or when it is a direct subdirectory of ROOT named
 * VA_STORE_NAME (util-vserver's /vservers/.hash, the only store an image
 * audit, which reads no configuration, can know).  Its chroot barrier is
 * correct (util-vserver's packages set it: setattr --barrier
 * /vservers/.hash), never barrier-on-guest; its names do not make a file
 * shared between guests; its entries are the regular files below it,
 * except the bookkeeping files vhashify keeps at its top.
 */
#define VA_STORE_NAME ".hash"

/** va_is_store_name() - @name (a direct subdirectory of ROOT) is VA_STORE_NAME. */
bool va_is_store_name(const char *name, size_t len);

/**
 * va_is_store_bookkeeping() - a regular file at @depth (1: directly in the
 * store) named @name is one of vhashify's bookkeeping files ("method",
 * "blocks", "blocksize": util-vserver writes them into the hash
 * directory, our vhashify writes "method" into the store), not an entry.
 */
bool va_is_store_bookkeeping(const char *name, size_t len, size_t depth);

/** True when @sev makes vaudit's exit status 1 (error and warning, not info). */
bool va_severity_counts(enum va_severity sev);

struct va_audit_args;
struct va_audit_stats;

/**
 * va_emit_kinds() - hand @f to the finding hook once per kind in @kinds that
 * @args selects, with its severity and proposal filled in, and count it.
 * Return: 0, or the hook's negative return.
 */
int va_emit_kinds(const struct va_audit_args *args, struct va_audit_stats *stats,
		  struct va_finding *f, uint64_t kinds, bool on_root);

#endif
