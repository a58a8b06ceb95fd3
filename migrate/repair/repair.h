/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * repair.h - the repair engine: findings become actions, every action is
 * journaled (fsync) before the change, verified after it, and can be
 * undone or finished from the journal alone.
 *
 * An action is (inode, expected current flags/mode/generation, new
 * flags/mode).  It is applied only when the inode is still in the expected
 * state; else it is skipped.  Image repairs go through libext2fs by inode
 * number; live repairs walk the tree again with the safe walker and change
 * an inode only through an fd verified against its dev/ino/generation.
 * No printing here: events go to a hook.
 */
#ifndef VAUDIT_REPAIR_H
#define VAUDIT_REPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "core/attr.h"
#include "core/dbuf.h"
#include "core/finding.h"
#include "core/inomap.h"
#include "migrate/journal.h"

/** Kinds repaired unless --only says otherwise. */
#define VA_REPAIR_DEFAULT_KINDS \
	(VA_KIND_BIT(VA_KIND_LEGACY_IUNLINK) | VA_KIND_BIT(VA_KIND_LEGACY_NOTAIL) | \
	 VA_KIND_BIT(VA_KIND_LEGACY_BARRIER) | VA_KIND_BIT(VA_KIND_MISSING_BARRIER) | \
	 VA_KIND_BIT(VA_KIND_SHARED_IMMUTABLE_NO_IUNLINK))

/** Kinds that can be asked for with --only. */
#define VA_REPAIR_KINDS \
	(VA_REPAIR_DEFAULT_KINDS | VA_KIND_BIT(VA_KIND_SHARED_UNPROTECTED) | \
	 VA_KIND_BIT(VA_KIND_BARRIER_ON_GUEST) | VA_KIND_BIT(VA_KIND_IUNLINK_NOT_IMMUTABLE))

/** One planned change. */
struct va_action {
	uint64_t kinds;         /**< VA_KIND_BIT()s it repairs */
	dev_t dev;
	uint64_t ino;
	uint32_t gen;
	bool gen_known;
	uint32_t old_flags, old_mode;
	uint32_t new_flags, new_mode;
	char *path;             /**< display path (owned) */
	size_t path_len;
	char *guest;            /**< guest name (owned), NULL outside guests */
	size_t guest_len;
	bool done;
};

/** What happened to an action (for the event hook). */
enum va_repair_event {
	VA_EV_PLANNED,   /**< dry run: would change */
	VA_EV_DONE,      /**< changed and verified */
	VA_EV_SKIPPED,   /**< not changed; @err/@why say why */
	VA_EV_FAILED,    /**< an error that stops the run */
};

struct va_repair_hooks {
	void (*event)(enum va_repair_event ev, const struct va_action *a, const char *why, int err,
		      void *user);
	/** Optional: called once before the first action with the number of
	 *  actions the run goes through (replay: the journal's changes still
	 *  to undo or finish), for progress. */
	void (*begin)(size_t nactions, void *user);
	void *user;
};

struct va_repair {
	struct va_action *actions;
	size_t nactions, capactions;
	struct va_inomap byino; /**< (dev, ino) -> action, for merging kinds */
	unsigned counts[4];     /**< by enum va_repair_event */
};

/** Options of va_repair_apply(). */
struct va_repair_opts {
	bool dry_run;
	bool force;             /**< also act inside guests that may be running */
	int barrier_mode;       /**< mode for ROOT barrier actions, or -1 to keep */
	int cleared_mode;       /**< mode for a cleared 2.4 barrier below ROOT (0700) */
	/** The vdirs (real paths, NULL-terminated) of the guests the host's
	 *  configuration says are running; NULL: look at /etc/vservers. */
	const char *const *running_vdirs;
	/** Optional: checked before each action (and, live, at each entry of
	 *  the walk); once *cancel is non-zero the run stops with -ECANCELED.
	 *  Every change made before stays journaled (done marks written). */
	const volatile int *cancel;
};

/**
 * va_repair_add() - turn finding @f into an action (or merge it into the
 * action already planned for the same inode).  Findings without a proposal
 * are ignored.  Return: 0 or -ENOMEM.
 */
int va_repair_add(struct va_repair *rp, const struct va_finding *f, const struct va_repair_opts *o);

/**
 * va_repair_apply() - apply the actions: on an image through @be (opened
 * for writing) when @roots is NULL, else live by walking @roots.
 * Each change: intent appended to @j (fsync), change, read back, 'D'.
 * Return: 0, -ECANCELED when @o->cancel stopped it, or a negative errno
 * for an error that stopped the run.
 */
int va_repair_apply(struct va_repair *rp, struct va_backend *be, const char *const *roots,
		    size_t nroots, struct va_journal *j, const struct va_repair_opts *o,
		    const struct va_repair_hooks *h);

/**
 * va_repair_running() - the guests below @roots that may be running, where
 * a live repair skips its actions unless @o->force: those the caller's
 * configuration says run (@o->running_vdirs), else those whose run link in
 * /etc/vservers resolves; and any with a process whose root directory lies
 * inside it.  Appends a '\0'-separated list of "ROOTINDEX/GUESTDIR" to
 * @out (for va_repair_in_running()).
 */
void va_repair_running(const char *const *roots, size_t nroots, const struct va_repair_opts *o,
		       struct dbuf *out);

/**
 * va_repair_in_running() - does @path (a display path below one of
 * @roots) lie in a guest of @running (va_repair_running())?  A live
 * repair skips such an action.
 */
bool va_repair_in_running(const struct dbuf *running, const char *const *roots, size_t nroots,
			  const char *path, size_t path_len);

/**
 * va_repair_replay() - undo (newest first) or resume (oldest first) the
 * changes of journal @j through @be; live when @roots is given.  Of @o
 * only dry_run and cancel count (a replay also acts inside running
 * guests: the journal says what was changed there); @o may be NULL.
 * Return: 0, -ECANCELED when cancelled, or a negative errno that stopped it.
 */
int va_repair_replay(struct va_journal *j, enum va_replay mode, struct va_backend *be,
		     const char *const *roots, size_t nroots, const struct va_repair_opts *o,
		     const struct va_repair_hooks *h, unsigned counts[4]);

/**
 * va_repair_drop_journaled() - remove from @rp the actions for an inode
 * (device and number) that an 'I' record of journal @j names: the rest of
 * a resumed run leaves them to the journal's own replay.  No action may be
 * added (merged) after this.
 * Return: the number removed, or -ENOMEM.
 */
int va_repair_drop_journaled(struct va_repair *rp, const struct va_journal *j);

/** va_repair_release() - free the actions. */
void va_repair_release(struct va_repair *rp);

#endif
