/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * clock.h - elapsed time on the monotonic clock, for progress lines,
 * summaries and the console's counters.
 */
#ifndef VAUDIT_CLOCK_H
#define VAUDIT_CLOCK_H

#include <time.h>

/** va_clock_now() - the monotonic clock now. */
static inline struct timespec va_clock_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t;
}

/** va_clock_monotonic() - the monotonic clock now, in seconds. */
static inline double va_clock_monotonic(void)
{
	struct timespec t = va_clock_now();

	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/** va_clock_seconds() - seconds from @a to @b. */
static inline double va_clock_seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

#endif
