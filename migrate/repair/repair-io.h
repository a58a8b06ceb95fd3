/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * repair-io.h - the files around a repair, for vaudit's --fix, --plan,
 * --undo and --resume and for the console's engine alike: plans read into
 * actions, new journals with their identity header, journals opened for a
 * replay with the back end and ROOTs they name.
 *
 * Nothing here prints.  A failure comes back as a struct va_error
 * (core/message.h) that names a file, what failed and why; vaudit prints
 * its va_error_text() as "vaudit: 'FILE': WHAT: WHY", the console shows it.
 */
#ifndef VAUDIT_REPAIR_IO_H
#define VAUDIT_REPAIR_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/dbuf.h"
#include "core/image.h"
#include "core/message.h"
#include "migrate/journal.h"
#include "migrate/jroots.h"
#include "migrate/request.h"
#include "migrate/repair/repair.h"


/**
 * va_fix_source() - the source named in plan and journal headers: the
 * absolute path of @image, else the real paths of the @nroots @roots,
 * '\n'-separated, appended to @out.
 * Return: 0, or -errno (a ROOT that does not resolve, -ENOMEM).
 */
int va_fix_source(const char *image, const char *const *roots, size_t nroots, struct dbuf *out);

/**
 * va_fix_journal_create() - create the journal of a repair of @image
 * (opened as @img; NULL for a live repair of the @nroots @roots): @file,
 * or a default name when NULL; its header names the back end, the
 * filesystem's UUID and the source.
 * @path: receives the journal's path.
 * Return: 0 with *@ret set, or -errno with @err set.
 */
int va_fix_journal_create(struct va_journal **ret, const char *file, const char *image,
			  struct va_image *img, const char *const *roots, size_t nroots,
			  struct dbuf *path, struct va_error *err);

/**
 * va_fix_journal_create_request() - va_fix_journal_create() whose header
 * also records @rq, what the run was asked to do (journal version 2), so
 * that vaudit --resume can finish the whole run; NULL: a version 1 header.
 */
int va_fix_journal_create_request(struct va_journal **ret, const char *file, const char *image,
				  struct va_image *img, const char *const *roots, size_t nroots,
				  const struct va_request *rq, struct dbuf *path,
				  struct va_error *err);

/**
 * va_plan_digest() - the SHA-256 of the bytes of plan @file, to @out.
 * Return: 0, or -errno with @err set.
 */
int va_plan_digest(const char *file, unsigned char out[VA_REQUEST_SHA256_LEN], struct va_error *err);

/**
 * va_plan_source() - the source a plan's header names (the real paths of its
 * ROOTs, '\n'-separated, or the image), appended to @out: the ROOTs of
 * vaudit --fix --plan FILE when no ROOT is given.
 * Return: 0; -EINVAL (not a plan, no source), -ENOMEM or -errno (cannot be
 * read), with @err set.
 */
int va_plan_source(const char *file, struct dbuf *out, struct va_error *err);

/**
 * va_plan_read() - append the actions of plan @file (vaudit --plan) to
 * @rp.  Its header must name the back end of this run (an image when @img
 * is given, else live) and, where both are known, the UUID of @img or of
 * the filesystem holding @root.  Actions are taken as they are (not merged
 * by inode; rp->byino is not filled).
 * Return: 0; -EINVAL for a file that is not a usable plan, -ENOMEM, or
 * -errno when it cannot be read; @err says what and where (line).  On
 * failure @rp may hold the actions read before the bad line.
 */
int va_plan_read(struct va_repair *rp, const char *file, struct va_image *img, const char *root,
		 struct va_error *err);

/**
 * va_plan_read_digest() - va_plan_read(), and the SHA-256 of the bytes it
 * read to @sha256 (when not NULL; valid when it returns 0).
 */
int va_plan_read_digest(struct va_repair *rp, const char *file, struct va_image *img,
			const char *root, unsigned char *sha256, struct va_error *err);

/**
 * va_image_check_actions() - the pre-pass for a plan of an image (plans are
 * untrusted input): the path of each of the @n actions @a must lie below
 * @prefix (an absolute path in the image, "/" for all of it) and resolve
 * strictly (va_image_resolve(): no symlink, no "..") to the action's inode;
 * a path that no longer exists is left to the run (which skips it).
 * Return: 0, or -EPERM with @e set (e->seq: the action's line in the plan).
 */
int va_image_check_actions(struct va_image *img, const char *prefix, const struct va_action *a,
			   size_t n, struct va_jroots_error *e);

/** va_image_check_journal() - the same for the 'I' records of image journal @j. */
int va_image_check_journal(struct va_image *img, const char *prefix, const struct va_journal *j,
			   struct va_jroots_error *e);

/** A journal opened for --undo / --resume, with what it names. */
struct va_replay_setup {
	struct va_journal *j;
	bool unify;             /**< a vunify/vhashify journal: no back end made
				     (see va_unify_replay(), migrate/unify/unify.h) */
	bool convert;           /**< a --convert-legacy journal: no back end made
				     (see va_convert_replay(), migrate/convert/convert.h) */
	bool clone;             /**< a vclone journal: no back end made
				     (see va_clone_replay(), migrate/clone/clone.h) */
	bool vcopy;             /**< a vcopy journal: the clone's records undone
				     (va_clone_replay()), then the links
				     (va_unify_replay()); no back end made */
	struct va_image *img;   /**< image journals: the image (write unless dry run) */
	struct va_backend *be;  /**< the back end to replay through */
	bool own_be;            /**< @be was made here (freed by va_replay_close()) */
	char **roots;           /**< live journals: the ROOTs of its source (into j->source) */
	size_t nroots;
	bool has_request;       /**< a version 2 repair journal: @request holds what its run was asked */
	struct va_request request;
};

/**
 * va_replay_open() - load journal @file and prepare its replay: an image
 * journal needs @image (reopened for writing unless @dry_run), a live one
 * must not have it and gets the ROOTs from its source and @live_be (NULL:
 * a new live back end with @live_flags); the UUID of the filesystem must
 * match the journal's where both are known.
 * The request of a version 2 journal is parsed into s->request.
 * Return: 0, or a negative errno with @err set (-EXDEV: another
 * filesystem).  s->j stays loaded after a later failure (for its
 * dropped_tail warning); call va_replay_close() in every case.
 */
int va_replay_open(struct va_replay_setup *s, const char *file, const char *image, bool dry_run,
		   unsigned live_flags, struct va_backend *live_be, struct va_error *err);

/**
 * va_replay_close() - free what va_replay_open() set up (the image is
 * closed, flushing what was written).  Return: 0, or -EIO when closing the
 * image failed.
 */
int va_replay_close(struct va_replay_setup *s);

#endif
