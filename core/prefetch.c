/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * prefetch.c - warming the caches ahead of a walk (prefetch.h).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/prefetch.h"

#define PREFETCH_MAX_THREADS 8
#define PREFETCH_DEPTH 64       /* directories open at once on a thread */

struct va_prefetch {
	int *fds;
	size_t n;
	atomic_size_t next;     /* the next tree to take */
	atomic_bool stop;
	pthread_t tid[PREFETCH_MAX_THREADS];
	unsigned started;
};

/* Stat every entry of directory @fd (dev @dev) and go into its subdirectories. */
static void warm_dir(struct va_prefetch *p, int fd, dev_t dev, unsigned depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;

	if (!d) {
		close(fd);
		return;
	}
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed) && (e = readdir(d))) {
		struct stat st;
		int sub;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
		    st.st_dev != dev || depth >= PREFETCH_DEPTH)
			continue;
		sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOATIME);
		if (sub < 0 && errno == EPERM)
			sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0)
			warm_dir(p, sub, dev, depth + 1);
	}
	closedir(d);
}

static void *prefetch_main(void *arg)
{
	struct va_prefetch *p = arg;
	size_t i;

	while (!atomic_load(&p->stop) && (i = atomic_fetch_add(&p->next, 1)) < p->n) {
		struct stat st;
		int own;

		/* its own open file description: a readdir position is the description's */
		if (p->fds[i] < 0 || fstat(p->fds[i], &st) < 0 ||
		    (own = openat(p->fds[i], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			continue;
		warm_dir(p, own, st.st_dev, 0);
	}
	return NULL;
}

struct va_prefetch *va_prefetch_start(const int *fds, size_t n, unsigned threads)
{
	struct va_prefetch *p;

	if (!n || !threads)
		return NULL;
	if (!(p = calloc(1, sizeof(*p))) || !(p->fds = malloc(n * sizeof(*p->fds)))) {
		free(p);
		return NULL;
	}
	/* the prefetch's own fds: the caller may close its own meanwhile */
	for (size_t i = 0; i < n; i++)
		p->fds[i] = fds[i] >= 0 ? fcntl(fds[i], F_DUPFD_CLOEXEC, 0) : -1;
	p->n = n;
	atomic_init(&p->next, 0);
	atomic_init(&p->stop, false);
	if (threads > PREFETCH_MAX_THREADS)
		threads = PREFETCH_MAX_THREADS;
	for (; p->started < threads; p->started++)
		if (pthread_create(&p->tid[p->started], NULL, prefetch_main, p) != 0)
			break;
	if (!p->started) {
		va_prefetch_stop(p);
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
		if (p->fds[i] >= 0)
			close(p->fds[i]);
	free(p->fds);
	free(p);
}
