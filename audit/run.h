/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run.h - the whole audit as vaudit runs it, and the text of its
 * messages, for vaudit's batch mode and the console's engine alike.
 * Nothing here prints: failures come back as a struct va_error
 * (core/message.h), the callers decide where their text goes (vaudit:
 * "vaudit: " and the text on stderr).
 */
#ifndef VAUDIT_RUN_H
#define VAUDIT_RUN_H

#include <stddef.h>

#include "audit/audit.h"
#include "core/dbuf.h"

struct va_image;

/**
 * va_audit_all() - the audit of one run: with @img the inode scan of the
 * image (va_audit_image(), args->roots[0] is the prefix); else the tree
 * walk (va_audit_run()), then the configuration checks (va_audit_config())
 * and the hash stores (va_audit_hash_stores()), their counters added to
 * @stats.  Progress hooks see the counters of the part that runs.
 * @err: (initialised) receives the library error that stopped an image
 *       audit (see va_audit_image()); never set by a live audit, whose
 *       errors go to args->hooks.error.  Print it with va_error_text().
 * Return: 0, or a negative errno that stopped it (-EIO when @err was
 * set, -ENOMEM, or what the finding hook returned).
 */
int va_audit_all(const struct va_audit_args *args, struct va_image *img,
		 struct va_audit_stats *stats, struct va_error *err);

#endif
