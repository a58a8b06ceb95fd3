/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prefetch.h - warm the kernel's directory and inode caches for trees a
 * walk will meet next: threads list the directories and stat their
 * entries ahead of it, so that on a cold cache the walk finds them read
 * (and the disk gets several requests at once instead of one).
 *
 * Read only: each thread walks whole trees with the one walker
 * (core/walk.h: directory fds opened beneath their parent, no symbolic
 * link followed, no other filesystem entered) and looks at nothing it
 * finds; the walk reads and checks everything itself.
 */
#ifndef VAUDIT_CORE_PREFETCH_H
#define VAUDIT_CORE_PREFETCH_H

#include <stddef.h>

struct va_prefetch;

/**
 * va_prefetch_start() - prefetch the trees at the paths @roots[0..n) (in
 * that order; copied) with @threads threads, each taking the next tree
 * not taken.  Failures are silent: a prefetch that cannot start or read
 * just warms less.
 * Return: the prefetch to stop, or NULL (none started).
 */
struct va_prefetch *va_prefetch_start(const char *const *roots, size_t n, unsigned threads);

/** va_prefetch_stop() - stop the threads (at their next entry), wait for them and free @p; NULL is fine. */
void va_prefetch_stop(struct va_prefetch *p);

/** va_prefetch_wait() - wait until the threads have gone through every tree, and free @p; NULL is fine. */
void va_prefetch_wait(struct va_prefetch *p);

#endif
