/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * convert.h - a legacy guest (/etc/vservers/NAME.conf, core/legacy.h) as
 * the equivalent util-vserver configuration directory /etc/vservers/NAME/.
 *
 * va_convert_plan() says what the directory would hold (the mapping is in
 * vserver-config(5)) and, for each variable that does not map one to one,
 * why: nothing is dropped silently.  va_convert_apply() creates it: the
 * whole directory is built under a temporary hidden name in the
 * configuration directory and written to disk, every entry is recorded in
 * the journal (a 'C' record: inode and status change time, journal.h),
 * then it is renamed to NAME without replacing anything
 * (RENAME_NOREPLACE): an existing NAME/ is refused and a failed run leaves
 * nothing behind.  NAME.conf is never touched.
 *
 * va_convert_replay() undoes (or finishes) the conversions of a journal:
 * a directory is removed only when it is still exactly what the
 * conversion made (every entry the same inode, files and symlinks with
 * the status change time recorded, no entry added); otherwise it is left
 * alone and the first difference is named.  The undo first renames NAME
 * back to its temporary hidden name, so the guest's configuration
 * disappears at once; an undo cut short leaves only that hidden
 * directory, which the next undo finishes.
 */
#ifndef VAUDIT_CONVERT_H
#define VAUDIT_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dbuf.h"
#include "core/message.h"
#include "core/vsconfig.h"
#include "migrate/journal.h"
#include "migrate/jroots.h"

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
 * va_convert_journal_create() - create the journal of a conversion run in
 * @c's configuration directory: @file, or a new name in VA_JOURNAL_DIR
 * (stem "convert"); its name is put in @path.
 * Return: 0, or a negative errno with @err naming the file.
 */
int va_convert_journal_create(struct va_journal **ret, const struct va_config *c, const char *file,
			      struct dbuf *path, struct va_error *err);

/**
 * va_convert_apply() - create @cv's directory in @c's configuration
 * directory (resolved inside the host root), its entries recorded in @j
 * (a journal with backend VA_JOURNAL_CONVERT whose source is c->cfgdir)
 * before it appears.  The records' done marks are added, not written:
 * va_journal_finish() at the end of the run writes them.
 * Return: 0; -EEXIST when NAME exists; another negative errno, with @err
 * saying what failed where (nothing is left behind then).
 */
int va_convert_apply(const struct va_config *c, const struct va_conv *cv, struct va_journal *j,
		     struct va_error *err);

/** What va_convert_replay() did with one conversion (the order of enum va_repair_event). */
enum va_conv_event {
	VA_CONV_WOULD,          /**< dry run: would be removed (created) */
	VA_CONV_DONE,           /**< removed (created), on disk */
	VA_CONV_SKIPPED,        /**< left alone: @why says why */
	VA_CONV_FAILED,         /**< an error that stops the replay */
};

struct va_conv_hooks {
	/** Once per conversion: @path (@len bytes) is its directory
	 *  (CFGDIR/NAME), @why a phrase or NULL, @err an errno or 0. */
	void (*event)(enum va_conv_event ev, const char *path, size_t len, const char *why, int err,
		      void *user);
	void *user;
};

/**
 * va_convert_check_journal() - the pre-pass of a replay (after
 * va_jroots_check_journal()): the records of @j form conversions, each a
 * top directory with its temporary name (one plain name in the same
 * directory) followed by the entries beneath it, none twice.
 * Return: 0, or -EPERM with @e naming the first record that does not fit.
 */
int va_convert_check_journal(const struct va_journal *j, struct va_jroots_error *e);

/**
 * va_convert_replay() - undo (@mode VA_REPLAY_UNDO) or finish
 * (VA_REPLAY_RESUME) the conversions journal @j recorded, newest first
 * for an undo; @jr are the journal's roots, opened and accepted by the
 * caller, and @j passed va_convert_check_journal().  @dry_run: only
 * report.  Marks are added to @j as each conversion is done; the caller
 * ends with va_journal_finish().  @counts (4, by enum va_conv_event) are
 * added to.
 * Return: 0, or the -errno that stopped the replay (a FAILED event names it).
 */
int va_convert_replay(struct va_journal *j, enum va_replay mode, const struct va_jroots *jr,
		      bool dry_run, const struct va_conv_hooks *h, unsigned counts[4]);

void va_convert_release(struct va_conv *cv);

#endif
