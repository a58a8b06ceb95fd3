/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * thread.h - helper threads that leave signals to the thread that
 * started them.
 *
 * A run's signal handling (a stop asked with SIGINT or SIGTERM, signals
 * held while a name is between its link and its exchange) is the main
 * thread's: a thread that closes fds, syncs, reads or copies beside it is
 * started with every signal blocked, so that none is delivered to it.
 */
#ifndef VAUDIT_CORE_THREAD_H
#define VAUDIT_CORE_THREAD_H

#include <pthread.h>
#include <signal.h>

/**
 * va_thread_start() - pthread_create(@t, @fn, @arg) with every signal
 * blocked in the new thread.  Return: 0 or an errno value (as
 * pthread_create()).
 */
static inline int va_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}

#endif
