/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reaper.h - close file descriptors on a background thread.
 *
 * The last close of an inode that lost its last name frees the inode and
 * its blocks (ext4_evict_inode: a truncate and a journal transaction).
 * A run that replaces many names holds the old inodes open until its
 * batch is done; handing those fds to a reaper lets the freeing overlap
 * the next batch's work on another CPU instead of stalling the caller.
 * The thread runs at the lowest priority (nice 19): a CPU the caller
 * wants is the caller's, and the reaper takes what is left.
 *
 * The reaper holds at most the capacity given to va_reaper_start() fds
 * that were handed over and not yet closed: va_reaper_close() waits while
 * it is full, so the caller's fd budget stays bounded.  Errors of close()
 * are ignored (the fds are read-only or already-linked files).
 */
#ifndef VAUDIT_CORE_REAPER_H
#define VAUDIT_CORE_REAPER_H

#include <stddef.h>

struct va_reaper;

/**
 * va_reaper_start() - start a reaper thread holding up to @cap fds.
 * Return: 0 and *@ret, or -errno (the caller then closes fds itself;
 * every function below accepts a NULL reaper and closes at once).
 */
int va_reaper_start(struct va_reaper **ret, size_t cap);

/** va_reaper_close() - close @fd (>= 0) soon; < 0 is ignored. */
void va_reaper_close(struct va_reaper *r, int fd);

/** va_reaper_drain() - return once every fd handed over is closed. */
void va_reaper_drain(struct va_reaper *r);

/** va_reaper_stop() - drain, end the thread and free @r (NULL: nothing). */
void va_reaper_stop(struct va_reaper *r);

#endif
