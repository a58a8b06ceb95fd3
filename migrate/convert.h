/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * convert.h - a legacy guest (/etc/vservers/NAME.conf, core/legacy.h) as
 * the equivalent util-vserver configuration directory /etc/vservers/NAME/.
 *
 * va_convert_plan() says what the directory would hold (the mapping is in
 * vserver-config(5)) and, for each variable that does not map one to one,
 * why: nothing is dropped silently.  va_convert_apply() creates it: the
 * whole directory is built under a temporary hidden name in the
 * configuration directory, written to disk, then renamed to NAME without
 * replacing anything (RENAME_NOREPLACE): an existing NAME/ is refused and
 * a failed run leaves nothing behind.  NAME.conf is never touched.
 * Undo: remove the directory NAME/ (nothing else is created).
 */
#ifndef VAUDIT_CONVERT_H
#define VAUDIT_CONVERT_H

#include <stddef.h>

#include "core/message.h"
#include "core/vsconfig.h"

enum va_conv_type { VA_CONV_DIR, VA_CONV_FILE, VA_CONV_LINK };

/** One entry of the new directory, in creation order (parents first). */
struct va_conv_item {
	enum va_conv_type type;
	char *rel;              /**< path below NAME/ */
	char *content;          /**< file: its text; link: its target; dir: NULL */
};

/** A variable that is not converted, or not as it was. */
struct va_conv_note {
	char *var;
	unsigned line;          /**< its line in NAME.conf, or 0 */
	char *why;
};

struct va_conv {
	const struct va_guest *guest;
	struct va_conv_item *items;
	size_t nitems, capitems;
	struct va_conv_note *notes;
	size_t nnotes, capnotes;
};

/**
 * va_convert_plan() - what the directory of legacy guest @g would hold.
 * Return: 0, -EINVAL when @g is not a legacy guest, -ENOMEM.
 */
int va_convert_plan(const struct va_guest *g, struct va_conv *out);

/**
 * va_convert_apply() - create @cv's directory in @c's configuration
 * directory (resolved inside the host root).
 * Return: 0; -EEXIST when NAME exists; another negative errno, with @err
 * saying what failed where (nothing is left behind then).
 */
int va_convert_apply(const struct va_config *c, const struct va_conv *cv, struct va_error *err);

void va_convert_release(struct va_conv *cv);

#endif
