/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prefetch.c - warming the caches ahead of a walk (prefetch.h): each thread
 * walks whole trees with the one walker (core/walk.h) and looks at nothing.
 */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/prefetch.h"
#include "core/thread.h"
#include "core/walk.h"

#define PREFETCH_MAX_THREADS 8
#define PREFETCH_FD_BUDGET 16   /* directory fds a thread's walk may hold */

struct va_prefetch {
	char **roots;
	size_t n;
	atomic_size_t next;     /* the next tree to take */
	atomic_bool stop;
	pthread_t tid[PREFETCH_MAX_THREADS];
	unsigned started;
};

static enum va_walk_action on_entry(const struct va_walk_entry *e, void *user)
{
	const struct va_prefetch *p = user;

	(void)e;
	return atomic_load_explicit(&p->stop, memory_order_relaxed) ? VA_WALK_STOP : VA_WALK_CONTINUE;
}

static void *prefetch_main(void *arg)
{
	struct va_prefetch *p = arg;
	size_t i;

	while (!atomic_load(&p->stop) && (i = atomic_fetch_add(&p->next, 1)) < p->n) {
		const char *roots[1] = { p->roots[i] };
		struct va_walk_args w = {
			.roots = roots,
			.nroots = 1,
			.flags = VA_WALK_XDEV,
			.stx_mask = STATX_BASIC_STATS,
			.fd_budget = PREFETCH_FD_BUDGET,
			/* what the scan would statx, no more */
			.lazy_types = 1u << DT_LNK | 1u << DT_FIFO | 1u << DT_SOCK | 1u << DT_CHR | 1u << DT_BLK,
			.callback = on_entry,
			.user = p,
		};

		(void)va_walk(&w);
	}
	return NULL;
}

struct va_prefetch *va_prefetch_start(const char *const *roots, size_t n, unsigned threads)
{
	struct va_prefetch *p;

	if (!n || !threads)
		return NULL;
	if (!(p = calloc(1, sizeof(*p))) || !(p->roots = calloc(n, sizeof(*p->roots)))) {
		free(p);
		return NULL;
	}
	p->n = n;
	for (size_t i = 0; i < n; i++)
		if (!(p->roots[i] = strdup(roots[i]))) {
			va_prefetch_wait(p);
			return NULL;
		}
	atomic_init(&p->next, 0);
	atomic_init(&p->stop, false);
	if (threads > PREFETCH_MAX_THREADS)
		threads = PREFETCH_MAX_THREADS;
	for (; p->started < threads; p->started++)
		if (va_thread_start(&p->tid[p->started], prefetch_main, p) != 0)
			break;
	if (!p->started) {
		va_prefetch_wait(p);
		return NULL;
	}
	return p;
}

void va_prefetch_stop(struct va_prefetch *p)
{
	if (p)
		atomic_store(&p->stop, true);
	va_prefetch_wait(p);
}

void va_prefetch_wait(struct va_prefetch *p)
{
	if (!p)
		return;
	for (unsigned t = 0; t < p->started; t++)
		pthread_join(p->tid[t], NULL);
	for (size_t i = 0; i < p->n; i++)
		free(p->roots[i]);
	free(p->roots);
	free(p);
}
