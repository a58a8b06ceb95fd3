/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * syncer.h - make filesystems durable on a background thread.
 *
 * A syncfs() of a batch's changes mostly waits for the disk (the
 * filesystem's journal commit, the device's cache flush).  A caller that
 * only needs the changes durable before some later step (writing the
 * journal marks that describe them) hands one fd per filesystem to the
 * syncer, goes on with work that depends on nothing of it (preparing its
 * next batch), and waits for the result before that step.
 *
 * Jobs run in the order they were submitted, one at a time.  An error
 * of a syncfs is kept until a wait reports it.
 */
#ifndef VAUDIT_CORE_SYNCER_H
#define VAUDIT_CORE_SYNCER_H

#include <stddef.h>

struct va_syncer;

/** va_syncer_start() - start the thread.  Return: 0 and *@ret, or -errno. */
int va_syncer_start(struct va_syncer **ret);

/**
 * va_syncer_submit() - syncfs() the filesystem of each of @fds[0..@n),
 * after everything submitted before.  The fds are duplicated: the caller
 * may close its own at once.
 * Return: 0, or -errno when nothing was submitted (the caller then syncs
 * itself).
 */
int va_syncer_submit(struct va_syncer *s, const int *fds, size_t n);

/**
 * va_syncer_wait() - return once everything submitted is synced.
 * Return: 0, or the -errno of the first syncfs() that failed since the
 * last wait.
 */
int va_syncer_wait(struct va_syncer *s);

/** va_syncer_stop() - wait, end the thread and free @s (NULL: nothing). */
void va_syncer_stop(struct va_syncer *s);

#endif
