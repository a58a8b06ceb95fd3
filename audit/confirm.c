// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * confirm.c - live reads on a worker thread (see confirm.h).
 *
 * The calling thread fills a batch; a full batch goes to the worker's
 * queue, and finished batches come back on a second list that the calling
 * thread empties whenever it hands over another.  Batches are reused.
 */
#include "audit/confirm.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/dbuf.h"
#include "core/safeopen.h"

enum {
	BATCH_READS = 256,      /* reads per batch */
	MAX_QUEUED = 16,        /* batches handed over and not yet given back */
};

struct batch {
	struct batch *next;
	size_t n;
	struct va_confirm_read reads[BATCH_READS];
	size_t path_off[BATCH_READS];
	struct dbuf paths;      /* the paths, each NUL-terminated */
};

struct va_confirm {
	struct va_backend *be;
	va_confirm_fn *done;
	void *user;
	int *root_fds;          /* by ROOT index; -1: none */
	size_t nroots;
	struct batch *cur;      /* being filled (calling thread only) */
	struct batch *spare;    /* reusable (calling thread only) */
	size_t queued;          /* handed over, not given back (calling thread only) */
	bool started;           /* the worker runs */
	bool no_thread;         /* it could not be started: read here */

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t work;    /* todo or stop changed */
	pthread_cond_t finished;/* out changed */
	/* under lock: */
	struct batch *todo, **todo_tail;
	struct batch *out, **out_tail;
	bool stop;
};

/* The path beneath the ROOT of read @i of @b, its directory part's length. */
static const char *rel_path(const struct batch *b, size_t i, size_t *dir_len)
{
	const struct va_confirm_read *rd = &b->reads[i];
	const char *rel = b->paths.buf + b->path_off[i] + rd->rel_off;
	const char *slash = memrchr(rel, '/', rd->path_len - rd->rel_off);

	*dir_len = slash ? (size_t)(slash - rel) : 0;
	return rel;
}

/* Do the reads of @b; one open of each run of reads in the same directory. */
static void run_batch(struct va_confirm *q, struct batch *b)
{
	struct dbuf dir = DBUF_INIT;
	const char *dir_key = NULL;     /* the directory part dfd was opened for */
	size_t key_len = 0, key_root = SIZE_MAX;
	int dfd = -EBADF;

	for (size_t i = 0; i < b->n; i++) {
		struct va_confirm_read *rd = &b->reads[i];
		size_t dir_len;
		const char *rel = rel_path(b, i, &dir_len);
		int root_fd = rd->root_index < q->nroots ? q->root_fds[rd->root_index] : -1;
		int at_fd = root_fd;

		memset(&rd->at, 0, sizeof(rd->at));
		if (root_fd < 0) {
			rd->r = -EBADF;
			continue;
		}
		if (dir_len) {
			if (!dir_key || key_root != rd->root_index || key_len != dir_len ||
			    memcmp(dir_key, rel, dir_len) != 0) {
				if (dfd >= 0)
					close(dfd);
				dbuf_setlen(&dir, 0);
				dfd = dbuf_add(&dir, rel, dir_len) < 0 || dbuf_addc(&dir, '\0') < 0 ? -ENOMEM :
				      va_safeopen_beneath(root_fd, dir.buf, O_PATH | O_DIRECTORY, 0);
				dir_key = rel;
				key_len = dir_len;
				key_root = rd->root_index;
			}
			if (dfd < 0) {
				rd->r = dfd;
				continue;
			}
			at_fd = dfd;
		}
		rd->r = va_backend_read(q->be, &(struct va_attr_target){
			.fd = -1, .dir_fd = at_fd, .name = dir_len ? rel + dir_len + 1 : rel,
			.dev = rd->dev, .ino = rd->ino, .mode = rd->mode, .root_index = rd->root_index,
			.vs26_hint = true, .vs26_flags = rd->vs26_flags }, &rd->at);
	}
	if (dfd >= 0)
		close(dfd);
	dbuf_release(&dir);
}

static void *worker(void *arg)
{
	struct va_confirm *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct batch *b;

		while (!q->todo && !q->stop)
			pthread_cond_wait(&q->work, &q->lock);
		if (!q->todo)
			break;
		b = q->todo;
		q->todo = b->next;
		if (!q->todo)
			q->todo_tail = &q->todo;
		pthread_mutex_unlock(&q->lock);
		run_batch(q, b);
		pthread_mutex_lock(&q->lock);
		b->next = NULL;
		*q->out_tail = b;
		q->out_tail = &b->next;
		pthread_cond_signal(&q->finished);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Give the results of @b to the caller, and keep @b for reuse. */
static void deliver(struct va_confirm *q, struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		b->reads[i].path = b->paths.buf + b->path_off[i];
		q->done(&b->reads[i], q->user);
	}
	b->n = 0;
	dbuf_setlen(&b->paths, 0);
	b->next = q->spare;
	q->spare = b;
}

/* Give back the finished batches; with @wait, at least one (one must be queued). */
static void collect(struct va_confirm *q, bool wait)
{
	struct batch *list;

	pthread_mutex_lock(&q->lock);
	while (wait && !q->out)
		pthread_cond_wait(&q->finished, &q->lock);
	list = q->out;
	q->out = NULL;
	q->out_tail = &q->out;
	pthread_mutex_unlock(&q->lock);
	while (list) {
		struct batch *next = list->next;

		deliver(q, list);
		q->queued--;
		list = next;
	}
}

/* Hand the batch being filled to the worker (or read it here). */
static void hand_over(struct va_confirm *q)
{
	struct batch *b = q->cur;

	q->cur = NULL;
	if (!q->started && !q->no_thread)
		q->started = pthread_create(&q->thread, NULL, worker, q) == 0;
	if (!q->started) {
		q->no_thread = true;
		run_batch(q, b);
		deliver(q, b);
		return;
	}
	b->next = NULL;
	pthread_mutex_lock(&q->lock);
	*q->todo_tail = b;
	q->todo_tail = &b->next;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->lock);
	q->queued++;
	collect(q, false);
	while (q->queued >= MAX_QUEUED)
		collect(q, true);
}

int va_confirm_new(struct va_backend *be, va_confirm_fn *done, void *user, struct va_confirm **ret)
{
	struct va_confirm *q;

	if (!(be->caps & VA_CAP_CONCURRENT_READ))
		return -EOPNOTSUPP;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->be = be;
	q->done = done;
	q->user = user;
	q->todo_tail = &q->todo;
	q->out_tail = &q->out;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->finished, NULL);
	*ret = q;
	return 0;
}

int va_confirm_root(struct va_confirm *q, size_t root_index, int fd)
{
	int dup_fd;

	if (va_confirm_has_root(q, root_index))
		return 0;
	/* the worker reads root_fds: change them only while it has nothing to do */
	va_confirm_finish(q);
	if (root_index >= q->nroots) {
		int *fds = realloc(q->root_fds, (root_index + 1) * sizeof(*fds));

		if (!fds)
			return -ENOMEM;
		for (size_t i = q->nroots; i <= root_index; i++)
			fds[i] = -1;
		q->root_fds = fds;
		q->nroots = root_index + 1;
	}
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (dup_fd < 0)
		return -errno;
	q->root_fds[root_index] = dup_fd;
	return 0;
}

bool va_confirm_has_root(const struct va_confirm *q, size_t root_index)
{
	return root_index < q->nroots && q->root_fds[root_index] >= 0;
}

int va_confirm_add(struct va_confirm *q, const struct va_confirm_read *rd)
{
	struct batch *b = q->cur;

	if (!b) {
		if (q->spare) {
			b = q->spare;
			q->spare = b->next;
		} else if (!(b = calloc(1, sizeof(*b)))) {
			return -ENOMEM;
		}
		b->n = 0;
		b->next = NULL;
		q->cur = b;
	}
	b->path_off[b->n] = b->paths.len;
	if (dbuf_add(&b->paths, rd->path, rd->path_len) < 0 || dbuf_addc(&b->paths, '\0') < 0) {
		dbuf_setlen(&b->paths, b->path_off[b->n]);
		return -ENOMEM;
	}
	b->reads[b->n] = *rd;
	b->reads[b->n].path = NULL;
	if (++b->n == BATCH_READS)
		hand_over(q);
	return 0;
}

void va_confirm_finish(struct va_confirm *q)
{
	if (q->cur && q->cur->n)
		hand_over(q);
	while (q->queued)
		collect(q, true);
}

static void free_list(struct batch *b)
{
	while (b) {
		struct batch *next = b->next;

		dbuf_release(&b->paths);
		free(b);
		b = next;
	}
}

void va_confirm_free(struct va_confirm *q)
{
	if (!q)
		return;
	if (q->started) {
		pthread_mutex_lock(&q->lock);
		q->stop = true;
		free_list(q->todo);
		q->todo = NULL;
		q->todo_tail = &q->todo;
		pthread_cond_signal(&q->work);
		pthread_mutex_unlock(&q->lock);
		pthread_join(q->thread, NULL);
	}
	free_list(q->out);
	free_list(q->spare);
	free_list(q->cur);
	for (size_t i = 0; i < q->nroots; i++)
		if (q->root_fds[i] >= 0)
			close(q->root_fds[i]);
	free(q->root_fds);
	pthread_cond_destroy(&q->finished);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->lock);
	free(q);
}
