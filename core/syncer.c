/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * syncer.c - make filesystems durable on a background thread (see syncer.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/syncer.h"
#include "core/thread.h"

/* A job: syncfs() of @fd's filesystem. */
struct job {
	int fd;
};

struct va_syncer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;    /* jobs waiting, or stopping */
	pthread_cond_t done;    /* nothing waiting and nothing being done */
	struct job *jobs;       /* waiting, in order */
	size_t n, cap;
	bool busy;              /* the thread is syncing fds it took */
	bool stop;
	int err;                /* the first failure not yet reported */
};

static void *syncer_main(void *arg)
{
	struct va_syncer *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct job *jobs;
		size_t n;
		int err = 0;

		while (!s->n && !s->stop)
			pthread_cond_wait(&s->work, &s->lock);
		if (!s->n)
			break;
		jobs = s->jobs;
		n = s->n;
		s->jobs = NULL;
		s->n = s->cap = 0;
		s->busy = true;
		pthread_mutex_unlock(&s->lock);
		for (size_t i = 0; i < n; i++) {
			if (syncfs(jobs[i].fd) < 0 && !err)
				err = -errno;
			close(jobs[i].fd);
		}
		free(jobs);
		pthread_mutex_lock(&s->lock);
		if (err && !s->err)
			s->err = err;
		s->busy = false;
		if (!s->n)
			pthread_cond_broadcast(&s->done);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int va_syncer_start(struct va_syncer **ret)
{
	struct va_syncer *s = calloc(1, sizeof(*s));
	int e;

	*ret = NULL;
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->work, NULL);
	pthread_cond_init(&s->done, NULL);
	e = va_thread_start(&s->thread, syncer_main, s);
	if (e) {
		pthread_cond_destroy(&s->done);
		pthread_cond_destroy(&s->work);
		pthread_mutex_destroy(&s->lock);
		free(s);
		return -e;
	}
	*ret = s;
	return 0;
}

/* Queue @n jobs on @fds (duplicated).  Return: 0 or -errno (nothing queued). */
static int queue(struct va_syncer *s, const int *fds, size_t n)
{
	int *dup = malloc((n ? n : 1) * sizeof(*dup));
	size_t got = 0;
	int r = 0;

	if (!dup)
		return -ENOMEM;
	for (; got < n; got++) {
		if ((dup[got] = fcntl(fds[got], F_DUPFD_CLOEXEC, 3)) < 0) {
			r = -errno;
			break;
		}
	}
	pthread_mutex_lock(&s->lock);
	if (r == 0 && s->n + n > s->cap) {
		size_t cap = 2 * (s->n + n) + 8;
		struct job *grown = realloc(s->jobs, cap * sizeof(*grown));

		if (grown) {
			s->jobs = grown;
			s->cap = cap;
		} else {
			r = -ENOMEM;
		}
	}
	if (r == 0) {
		for (size_t i = 0; i < n; i++)
			s->jobs[s->n++] = (struct job){ .fd = dup[i] };
		pthread_cond_signal(&s->work);
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		while (got)
			close(dup[--got]);
	free(dup);
	return r;
}

int va_syncer_submit(struct va_syncer *s, const int *fds, size_t n)
{
	return queue(s, fds, n);
}

int va_syncer_wait(struct va_syncer *s)
{
	int r;

	pthread_mutex_lock(&s->lock);
	while (s->n || s->busy)
		pthread_cond_wait(&s->done, &s->lock);
	r = s->err;
	s->err = 0;
	pthread_mutex_unlock(&s->lock);
	return r;
}

void va_syncer_stop(struct va_syncer *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->done);
	pthread_cond_destroy(&s->work);
	pthread_mutex_destroy(&s->lock);
	free(s->jobs);
	free(s);
}
