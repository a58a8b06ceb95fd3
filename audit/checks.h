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
