/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * reaper.c - close file descriptors on a background thread (see reaper.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/reaper.h"
#include "core/thread.h"

struct va_reaper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;    /* fds waiting, or stopping */
	pthread_cond_t room;    /* the ring has room, or is empty and idle */
	int *ring;
	size_t cap, head, len;  /* fds waiting: ring[head], ... (len of them) */
	size_t busy;            /* fds taken by the thread, not yet closed */
	bool stop;
};

static void *reaper_main(void *arg)
{
	struct va_reaper *r = arg;
	int chunk[64];

	/* (Linux: a thread's own nice value) the caller's work comes first */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
	pthread_mutex_lock(&r->lock);
	for (;;) {
		size_t n = 0;

		while (!r->len && !r->stop)
			pthread_cond_wait(&r->work, &r->lock);
		if (!r->len)
			break;
		while (r->len && n < sizeof(chunk) / sizeof(chunk[0])) {
			chunk[n++] = r->ring[r->head];
			r->head = (r->head + 1) % r->cap;
			r->len--;
		}
		r->busy = n;
		pthread_mutex_unlock(&r->lock);
		for (size_t i = 0; i < n; i++)
			close(chunk[i]);
		pthread_mutex_lock(&r->lock);
		r->busy = 0;
		pthread_cond_broadcast(&r->room);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int va_reaper_start(struct va_reaper **ret, size_t cap)
{
	struct va_reaper *r = calloc(1, sizeof(*r));
	int e;

	*ret = NULL;
	if (!r || !cap || !(r->ring = calloc(cap, sizeof(*r->ring)))) {
		free(r);
		return -ENOMEM;
	}
	r->cap = cap;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->work, NULL);
	pthread_cond_init(&r->room, NULL);
	e = va_thread_start(&r->thread, reaper_main, r);
	if (e) {
		pthread_cond_destroy(&r->room);
		pthread_cond_destroy(&r->work);
		pthread_mutex_destroy(&r->lock);
		free(r->ring);
		free(r);
		return -e;
	}
	*ret = r;
	return 0;
}

void va_reaper_close(struct va_reaper *r, int fd)
{
	if (fd < 0)
		return;
	if (!r) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&r->lock);
	while (r->len == r->cap)
		pthread_cond_wait(&r->room, &r->lock);
	r->ring[(r->head + r->len) % r->cap] = fd;
	r->len++;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->lock);
}

void va_reaper_drain(struct va_reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	while (r->len || r->busy)
		pthread_cond_wait(&r->room, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

void va_reaper_stop(struct va_reaper *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->work);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->room);
	pthread_cond_destroy(&r->work);
	pthread_mutex_destroy(&r->lock);
	free(r->ring);
	free(r);
}
