/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * engine.c - the console's worker (see engine.h).
 *
 * One worker thread per job.  What it reports waits in two queues under
 * one mutex: the items (struct tui_item, compact: a scan of a million
 * findings must not queue a million 5 KiB struct tui_msg) and the other
 * messages (errors, results), each of which remembers how many items were
 * queued before it, so that tui_engine_poll() hands everything out in the
 * order it happened.  Progress is one slot holding the latest counters,
 * written at most every PROGRESS_NS; DONE is one slot too, handed out
 * last.  An eventfd is readable while anything waits.
 *
 * The job stays "busy" until its DONE has been polled: a new job cannot
 * start (-EBUSY) before the UI has seen the end of the previous one.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "audit/run.h"
#include "audit/usage.h"
#include "core/clock.h"
#include "core/escape.h"
#include "core/flags.h"
#include "core/image.h"
#include "core/lock.h"
#include "core/message.h"
#include "migrate/repair/repair-io.h"
#include "tui/engine.h"

/* Progress reaches the UI at most this often. */
#define PROGRESS_NS 50000000L

/* ------------------------------------------------------------------ queues */

/* A FIFO of fixed-size elements in a growable ring. */
struct ring {
	char *buf;
	size_t elsize, cap, head, count;
};

static int ring_push(struct ring *r, const void *el)
{
	if (r->count == r->cap) {
		size_t ncap = r->cap ? r->cap * 2 : 64, first;
		char *nbuf;

		if (ncap > SIZE_MAX / r->elsize)
			return -ENOMEM;
		nbuf = malloc(ncap * r->elsize);
		if (!nbuf)
			return -ENOMEM;
		/* unwrap: head..end, then 0..head */
		first = r->cap - r->head < r->count ? r->cap - r->head : r->count;
		if (r->count) {
			memcpy(nbuf, r->buf + r->head * r->elsize, first * r->elsize);
			memcpy(nbuf + first * r->elsize, r->buf, (r->count - first) * r->elsize);
		}
		free(r->buf);
		r->buf = nbuf;
		r->cap = ncap;
		r->head = 0;
	}
	memcpy(r->buf + ((r->head + r->count) % r->cap) * r->elsize, el, r->elsize);
	r->count++;
	return 0;
}

static void *ring_front(const struct ring *r)
{
	return r->count ? r->buf + r->head * r->elsize : NULL;
}

static void ring_pop(struct ring *r)
{
	r->head = (r->head + 1) % r->cap;
	if (--r->count == 0)
		r->head = 0;
}

/* A message other than ITEM, PROGRESS and DONE. */
struct small_msg {
	enum tui_msg_type type;         /* ERROR or RESULT */
	uint64_t after;                 /* items queued before it */
	dev_t dev;
	uint64_t ino;
	enum tui_result result;
	char *text;                     /* owned, or NULL */
};

/* ------------------------------------------------------------------ the engine */

struct tui_engine {
	const struct tui_session *s;
	int wake_fd;
	pthread_mutex_t lock;
	pthread_cond_t ended;

	/* under lock */
	enum tui_job job;               /* until its DONE is polled */
	bool worker_running;            /* until the worker is finished */
	bool signalled;                 /* wake_fd is readable */
	struct ring items;              /* struct tui_item */
	struct ring msgs;               /* struct small_msg */
	uint64_t items_pushed, items_popped;
	bool progress_pending;
	struct tui_progress progress;
	bool done_pending;
	struct tui_msg done;            /* DONE: progress, status, text, journal, usage */

	/* set before the worker starts, then the worker's */
	volatile int cancel;
	bool thread_live;
	pthread_t thread;
	enum tui_job wjob;
	char *file;                     /* plan or journal of the job */
	struct va_repair rp;            /* apply */
	struct timespec start, last;
	struct tui_progress prog;       /* the worker's counters */
	const struct va_audit_stats *last_stats;
	uint64_t entries_base, last_entries;
	unsigned journal_n;             /* --journal FILE: names used so far */
	bool image_written;             /* an apply or undo wrote the session's image */
	struct dbuf running;            /* live: guests an apply would skip (va_repair_running()) */
};

/* Make wake_fd readable (under lock). */
static void wake(struct tui_engine *e)
{
	uint64_t one = 1;

	if (!e->signalled && write(e->wake_fd, &one, sizeof(one)) == (ssize_t)sizeof(one))
		e->signalled = true;
}

/* Publish the worker's counters: at most every PROGRESS_NS unless @force. */
static void progress(struct tui_engine *e, bool force)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!force && (now.tv_sec - e->last.tv_sec) * 1000000000L + (now.tv_nsec - e->last.tv_nsec) <
		      PROGRESS_NS)
		return;
	e->last = now;
	e->prog.elapsed = va_clock_seconds(&e->start, &now);
	pthread_mutex_lock(&e->lock);
	e->progress = e->prog;
	e->progress_pending = true;
	wake(e);
	pthread_mutex_unlock(&e->lock);
}

static int push_item(struct tui_engine *e, const struct tui_item *it)
{
	int r;

	pthread_mutex_lock(&e->lock);
	r = ring_push(&e->items, it);
	if (r == 0) {
		e->items_pushed++;
		wake(e);
	}
	pthread_mutex_unlock(&e->lock);
	return r;
}

/* Queue an ERROR or RESULT; @text is copied (may be NULL).  Dropped on ENOMEM. */
static void push_msg(struct tui_engine *e, enum tui_msg_type type, dev_t dev, uint64_t ino,
		     enum tui_result result, const char *text)
{
	struct small_msg m = { .type = type, .dev = dev, .ino = ino, .result = result };

	if (text && !(m.text = strdup(text)))
		return;
	pthread_mutex_lock(&e->lock);
	m.after = e->items_pushed;
	if (ring_push(&e->msgs, &m) < 0)
		free(m.text);
	else
		wake(e);
	pthread_mutex_unlock(&e->lock);
}

static void push_error(struct tui_engine *e, const struct dbuf *text)
{
	push_msg(e, TUI_MSG_ERROR, 0, 0, TUI_RES_NONE, dbuf_str(text));
}

/* An ERROR "'PATH': WHAT[: REASON]". */
static void push_error_at(struct tui_engine *e, const char *path, const char *what,
			  const char *reason)
{
	struct dbuf b = DBUF_INIT;

	va_msg_text(&b, path, strlen(path), what, reason);
	push_error(e, &b);
	dbuf_release(&b);
}

/* An ERROR from a struct va_error. */
static void push_va_error(struct tui_engine *e, const struct va_error *err)
{
	struct dbuf b = DBUF_INIT;

	va_error_text(&b, err);
	push_error(e, &b);
	dbuf_release(&b);
}

int tui_engine_new(struct tui_engine **ret, const struct tui_session *s)
{
	struct tui_engine *e = calloc(1, sizeof(*e));
	int r;

	*ret = NULL;
	if (!e)
		return -ENOMEM;
	e->s = s;
	e->items.elsize = sizeof(struct tui_item);
	e->msgs.elsize = sizeof(struct small_msg);
	e->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (e->wake_fd < 0) {
		r = -errno;
		free(e);
		return r;
	}
	if ((r = pthread_mutex_init(&e->lock, NULL)) != 0) {
		close(e->wake_fd);
		free(e);
		return -r;
	}
	if ((r = pthread_cond_init(&e->ended, NULL)) != 0) {
		pthread_mutex_destroy(&e->lock);
		close(e->wake_fd);
		free(e);
		return -r;
	}
	*ret = e;
	return 0;
}

/* Forget every message not polled (no job runs). */
static void drop_messages(struct tui_engine *e)
{
	struct tui_item *it;
	struct small_msg *m;

	while ((it = ring_front(&e->items))) {
		tui_item_release(it);
		ring_pop(&e->items);
	}
	while ((m = ring_front(&e->msgs))) {
		free(m->text);
		ring_pop(&e->msgs);
	}
}

void tui_engine_free(struct tui_engine *e)
{
	if (!e)
		return;
	tui_engine_cancel(e);
	if (e->thread_live)
		pthread_join(e->thread, NULL);
	drop_messages(e);
	if (e->done.usage) {
		va_usage_release(e->done.usage);
		free(e->done.usage);
	}
	free(e->items.buf);
	free(e->msgs.buf);
	free(e->file);
	va_repair_release(&e->rp);
	dbuf_release(&e->running);
	pthread_cond_destroy(&e->ended);
	pthread_mutex_destroy(&e->lock);
	close(e->wake_fd);
	free(e);
}

int tui_engine_wake_fd(const struct tui_engine *e)
{
	return e->wake_fd;
}

void tui_engine_cancel(struct tui_engine *e)
{
	__atomic_store_n(&e->cancel, 1, __ATOMIC_RELAXED);
}

enum tui_job tui_engine_busy(const struct tui_engine *e)
{
	struct tui_engine *m = (struct tui_engine *)e;
	enum tui_job job;

	pthread_mutex_lock(&m->lock);
	job = m->job;
	pthread_mutex_unlock(&m->lock);
	return job;
}

void tui_engine_wait(struct tui_engine *e)
{
	pthread_mutex_lock(&e->lock);
	while (e->worker_running)
		pthread_cond_wait(&e->ended, &e->lock);
	pthread_mutex_unlock(&e->lock);
}

bool tui_engine_poll(struct tui_engine *e, struct tui_msg *msg)
{
	struct small_msg *m;
	struct tui_item *it;
	bool got = true;

	pthread_mutex_lock(&e->lock);
	/* only the fields a message type uses are written: a tui_msg is large */
	msg->text[0] = '\0';
	msg->journal[0] = '\0';
	msg->status = 0;
	msg->usage = NULL;
	m = ring_front(&e->msgs);
	if (m && m->after <= e->items_popped) {
		msg->type = m->type;
		msg->dev = m->dev;
		msg->ino = m->ino;
		msg->result = m->result;
		if (m->text)
			snprintf(msg->text, sizeof(msg->text), "%s", m->text);
		free(m->text);
		ring_pop(&e->msgs);
	} else if (e->progress_pending) {
		msg->type = TUI_MSG_PROGRESS;
		msg->progress = e->progress;
		e->progress_pending = false;
	} else if ((it = ring_front(&e->items))) {
		msg->type = TUI_MSG_ITEM;
		msg->item = *it;
		ring_pop(&e->items);
		e->items_popped++;
	} else if (e->done_pending) {
		msg->type = TUI_MSG_DONE;
		msg->progress = e->done.progress;
		msg->status = e->done.status;
		memcpy(msg->text, e->done.text, sizeof(msg->text));
		memcpy(msg->journal, e->done.journal, sizeof(msg->journal));
		msg->usage = e->done.usage;
		e->done.usage = NULL;
		e->done_pending = false;
		e->job = TUI_JOB_NONE;
	} else {
		got = false;
	}
	if (!e->items.count && !e->msgs.count && !e->progress_pending && !e->done_pending &&
	    e->signalled) {
		uint64_t n;

		if (read(e->wake_fd, &n, sizeof(n)) < 0) {
			/* EAGAIN: nothing to clear */
		}
		e->signalled = false;
	}
	pthread_mutex_unlock(&e->lock);
	return got;
}

/* ------------------------------------------------------------------ scan */

/* The UI thread sets the flag; the worker reads it (as the repair engine does). */
static bool cancelled(const struct tui_engine *e)
{
	return __atomic_load_n(&e->cancel, __ATOMIC_RELAXED) != 0;
}

const char tui_blocked_vs26[] =
	"needs a 2.6 vserver bit, which this kernel cannot set live: repair the unmounted "
	"filesystem with vaudit --fix --image";
const char tui_blocked_running[] =
	"its guest may be running, and an apply leaves running guests alone: stop it first "
	"(vserver NAME stop), or repair with vaudit --fix --force";

/*
 * A change this session cannot carry out is said before it is selected:
 * live without the vserver syscall, a 2.6 bit cannot be set; a change
 * inside a guest that may be running would be skipped.
 */
static void mark_blocked(const struct tui_engine *e, struct tui_item *it)
{
	const struct va_backend *be = e->s->img ? NULL : e->s->args->backend;

	if (be && !(be->caps & VA_CAP_VS26_WRITE) && it->has_proposal &&
	    ((it->flags ^ it->new_flags) & VA_VS26_MASK)) {
		it->selectable = false;
		it->blocked = tui_blocked_vs26;
	} else if (it->has_proposal && it->selectable && e->running.len &&
		   va_repair_in_running(&e->running, e->s->roots, e->s->nroots, it->where.path,
					it->where.path_len)) {
		it->selectable = false;
		it->blocked = tui_blocked_running;
	}
}

/* Live: which guests an apply would leave alone as running (none with --force). */
static void find_running(struct tui_engine *e)
{
	const struct tui_session *s = e->s;

	dbuf_setlen(&e->running, 0);
	if (!s->img && s->ropts && !s->ropts->force)
		va_repair_running(s->roots, s->nroots, s->ropts, &e->running);
}

static int on_finding(const struct va_finding *f, void *user)
{
	struct tui_engine *e = user;
	struct tui_item it;

	if (cancelled(e))
		return -ECANCELED;
	if (tui_item_from_finding(&it, f) < 0)
		return -ENOMEM;
	mark_blocked(e, &it);
	if (push_item(e, &it) < 0) {
		tui_item_release(&it);
		return -ENOMEM;
	}
	e->prog.findings++;
	progress(e, false);
	return 0;
}

/* The same text as vaudit's per-entry messages, without "vaudit: ". */
static void on_error(const char *path, size_t len, const char *op, int err, void *user)
{
	struct tui_engine *e = user;
	struct dbuf b = DBUF_INIT;

	/* errno values and libext2fs codes alike */
	va_msg_text(&b, path, len, op, err ? va_image_strerror(err) : NULL);
	push_error(e, &b);
	dbuf_release(&b);
}

/* The current guest of the progress, escaped for display ("" for none). */
static void progress_guest(struct tui_engine *e, const char *guest, size_t len)
{
	struct dbuf g = DBUF_INIT;

	e->prog.guest[0] = '\0';
	if (guest && va_escape_shell(&g, guest, len) == 0)
		snprintf(e->prog.guest, sizeof(e->prog.guest), "%s", dbuf_str(&g));
	dbuf_release(&g);
}

static void on_progress(const struct va_audit_stats *st, void *user)
{
	struct tui_engine *e = user;

	/* the configuration checks count on in counters of their own */
	if (st != e->last_stats) {
		e->entries_base += e->last_entries;
		e->last_stats = st;
	}
	e->last_entries = st->entries;
	e->prog.entries = e->entries_base + st->entries;
	if (!e->s->img)
		e->prog.total = st->entries_expected;
	progress_guest(e, st->guest, st->guest_len);
	progress(e, false);
}

static void on_notice(const char *msg, void *user)
{
	struct tui_engine *e = user;

	push_msg(e, TUI_MSG_NOTICE, 0, 0, TUI_RES_NONE, msg);
}

/* After a write through another handle, the read-only one must read the disk. */
static void image_reread(struct tui_engine *e)
{
	struct va_image *img = e->s->img;

	if (!img || !e->image_written)
		return;
	ext2fs_flush_icache(img->fs);
	/* unix_io keeps clean blocks cached: stop using its cache for good */
	io_channel_set_options(img->fs->io, "cache=off");
}

static int job_scan(struct tui_engine *e, struct dbuf *summary)
{
	const struct tui_session *s = e->s;
	struct va_audit_args args = *s->args;
	struct va_backend *be = s->img ? NULL : args.backend;
	struct va_audit_stats stats = { 0 };
	struct va_error ie = VA_ERROR_INIT;
	int r;

	if (!args.kinds)
		args.kinds = VA_AUDIT_ALL_KINDS;
	args.hooks = (struct va_audit_hooks){
		.finding = on_finding, .error = on_error, .progress = on_progress, .user = e,
	};
	args.cancel = &e->cancel;       /* stops at the next entry, findings or not */
	image_reread(e);
	find_running(e);
	/* an image: its inodes in use; live: what the inode tables count (on_progress) */
	e->prog.total = s->img ? va_image_inodes_used(s->img) : 0;
	e->prog.approx = !s->img;
	if (be && be->vs26_errno) {
		struct dbuf b = DBUF_INIT;

		dbuf_addf(&b, "the vserver iattr syscall is not available on this kernel (%s): "
			  "2.6 attributes (barrier, iunlink, cow) cannot be read live%s",
			  strerror(be->vs26_errno), (be->caps & VA_CAP_VS26) ?
			  "; reading them from block devices instead" : "");
		/* information, not a scan error */
		push_msg(e, TUI_MSG_NOTICE, 0, 0, TUI_RES_NONE, dbuf_str(&b));
		dbuf_release(&b);
	}
	if (s->img && s->img->needs_recovery) {
		struct dbuf b = DBUF_INIT;

		va_msg_text(&b, s->img->path, strlen(s->img->path),
			    "the journal needs recovery: recent changes may be missing", NULL);
		push_msg(e, TUI_MSG_NOTICE, 0, 0, TUI_RES_NONE, dbuf_str(&b));
		dbuf_release(&b);
	}
	r = va_audit_all(&args, s->img, &stats, &ie);
	if (va_error_is_set(&ie)) {
		push_va_error(e, &ie);
		va_error_release(&ie);
		stats.errors++;
	}
	e->prog.entries = stats.entries;
	dbuf_addf(summary, "%llu entries, %llu findings, %llu errors",
		  (unsigned long long)stats.entries, (unsigned long long)e->prog.findings,
		  (unsigned long long)stats.errors);
	return r;
}

/* ------------------------------------------------------------------ usage */

static void on_usage_progress(uint64_t entries, const char *guest, size_t len, bool exact, void *user)
{
	struct tui_engine *e = user;

	(void)exact;
	e->prog.entries = entries;
	progress_guest(e, guest, len);
	progress(e, false);
}

/*
 * The usage of the session's ROOTs (with an image: of its prefix, read
 * offline as vaudit --usage --image does) into a new *@ret (NULL on a
 * failure).
 */
static int job_usage(struct tui_engine *e, struct dbuf *summary, struct va_usage **ret)
{
	const struct tui_session *s = e->s;
	struct va_usage *u = calloc(1, sizeof(*u));
	struct va_error ie = VA_ERROR_INIT;
	int r;

	if (!u)
		return -ENOMEM;
	r = va_usage_run(&(struct va_usage_args){
				.roots = s->roots, .nroots = s->nroots, .config = s->args->config,
				.flags = (s->args->flags & VA_AUDIT_CROSS_MOUNTS) ? VA_USAGE_CROSS_MOUNTS : 0,
				.img = s->img, .tag_scheme = s->args->tag_scheme, .img_err = &ie,
				.error = on_error, .progress = on_usage_progress, .user = e,
				.cancel = &e->cancel }, u);
	if (va_error_is_set(&ie)) {
		/* the image could not be read: no figures */
		push_va_error(e, &ie);
		va_error_release(&ie);
		if (r >= 0)
			r = -EIO;
	}
	if (r < 0) {
		va_usage_release(u);
		free(u);
		return r;
	}
	e->prog.entries = u->total.names;
	dbuf_addf(summary, "%zu guest%s, %llu files, %llu errors", u->nguests, u->nguests == 1 ? "" : "s",
		  (unsigned long long)u->total.all.files, (unsigned long long)u->total.errors);
	*ret = u;
	return 0;
}

/* ------------------------------------------------------------------ plan */

static int job_plan(struct tui_engine *e, struct dbuf *summary)
{
	const struct tui_session *s = e->s;
	struct va_error err = VA_ERROR_INIT;
	struct va_repair rp = { 0 };
	int r;

	find_running(e);
	r = va_plan_read(&rp, e->file, s->img, s->nroots ? s->roots[0] : NULL, &err);
	if (r < 0) {
		push_va_error(e, &err);
		va_error_release(&err);
		va_repair_release(&rp);
		return r;
	}
	for (size_t i = 0; i < rp.nactions; i++) {
		struct tui_item it;

		if (cancelled(e)) {
			r = -ECANCELED;
			break;
		}
		if (tui_item_from_action(&it, &rp.actions[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		mark_blocked(e, &it);
		if (push_item(e, &it) < 0) {
			tui_item_release(&it);
			r = -ENOMEM;
			break;
		}
		e->prog.findings++;
		progress(e, false);
	}
	if (e->prog.findings == rp.nactions)
		dbuf_addf(summary, "%zu actions", rp.nactions);
	else
		dbuf_addf(summary, "%llu of %zu actions", (unsigned long long)e->prog.findings,
			  rp.nactions);
	va_repair_release(&rp);
	return r;
}

/* ------------------------------------------------------------------ apply, undo */

static void on_begin(size_t nactions, void *user)
{
	struct tui_engine *e = user;

	e->prog.total = nactions;
	progress(e, true);
}

static void on_event(enum va_repair_event ev, const struct va_action *a, const char *why, int err,
		     void *user)
{
	static const enum tui_result res[] = {
		[VA_EV_PLANNED] = TUI_RES_PLANNED, [VA_EV_DONE] = TUI_RES_DONE,
		[VA_EV_SKIPPED] = TUI_RES_SKIPPED, [VA_EV_FAILED] = TUI_RES_FAILED,
	};
	struct tui_engine *e = user;
	enum tui_result r = res[ev];
	struct dbuf b = DBUF_INIT;

	if (r == TUI_RES_DONE && e->wjob == TUI_JOB_UNDO)
		r = TUI_RES_UNDONE;
	if (why)
		dbuf_adds(&b, why);
	if (err)
		dbuf_addf(&b, "%s%s", why ? ": " : "", va_image_strerror(err));
	push_msg(e, TUI_MSG_RESULT, a->dev, a->ino, r, b.len ? b.buf : NULL);
	dbuf_release(&b);
	e->prog.done++;
	progress(e, false);
}

static void summarize(struct dbuf *b, const unsigned counts[4], bool undo)
{
	dbuf_addf(b, "%u %s, %u skipped, %u failed", counts[VA_EV_DONE], undo ? "undone" : "done",
		  counts[VA_EV_SKIPPED], counts[VA_EV_FAILED]);
	if (counts[VA_EV_PLANNED])
		dbuf_addf(b, ", %u would be changed (dry run)", counts[VA_EV_PLANNED]);
}

void tui_journal_numbered(struct dbuf *out, const char *name, unsigned n)
{
	size_t len = strlen(name);

	if (n <= 1)
		dbuf_adds(out, name);
	else if (len > 8 && strcmp(name + len - 8, ".journal") == 0)
		dbuf_addf(out, "%.*s-%u.journal", (int)(len - 8), name, n);
	else
		dbuf_addf(out, "%s.%u", name, n);
}

/*
 * The journal of this apply: --journal FILE for the first, FILE-2.journal
 * (or FILE.2) and so on for later ones; else the default name, numbered
 * the same way when an apply of the same second took it.
 */
static int new_journal(struct tui_engine *e, struct va_journal **j, struct dbuf *path,
		       struct va_error *err)
{
	const struct tui_session *s = e->s;
	struct dbuf base = DBUF_INIT, name = DBUF_INIT;
	unsigned n = s->journal ? e->journal_n : 0;
	int r;

	if (s->journal)
		dbuf_adds(&base, s->journal);
	for (;;) {
		n++;
		dbuf_setlen(&name, 0);
		if (base.len)
			tui_journal_numbered(&name, base.buf, n);
		r = va_fix_journal_create(j, base.len ? dbuf_str(&name) : NULL, s->image, e->s->img,
					  s->roots, s->nroots, path, err);
		if (!base.len && path->len)
			dbuf_add(&base, path->buf, path->len);
		/* the operator's own name is never replaced by another */
		if (r != -EEXIST || (s->journal && n == 1) || !base.len || n >= 1000)
			break;
		va_error_release(err);
	}
	if (s->journal)
		e->journal_n = n;
	dbuf_release(&base);
	dbuf_release(&name);
	return r;
}

/*
 * The change locks (core/lock.h) of the session's image or of the
 * filesystems of its ROOTs, before an apply or an undo changes anything.
 * Return: 0, or -EBUSY (or -errno) after an error message.
 */
static int lock_for_change(struct tui_engine *e, struct va_locks *l)
{
	const struct tui_session *s = e->s;
	struct va_error err = VA_ERROR_INIT;
	int r = va_lock_targets(l, s->img ? s->image : NULL, s->roots, s->nroots, &err);

	if (r < 0)
		push_va_error(e, &err);
	va_error_release(&err);
	return r;
}

static int job_apply(struct tui_engine *e, struct dbuf *summary, char journal[4096])
{
	const struct tui_session *s = e->s;
	struct va_repair_opts o = *s->ropts;
	struct va_repair_hooks h = { .event = on_event, .begin = on_begin, .user = e };
	struct va_error err = VA_ERROR_INIT;
	struct va_journal *j = NULL;
	struct va_image *wimg = NULL;
	struct va_backend *be = NULL;
	struct dbuf jpath = DBUF_INIT;
	struct va_locks locks = VA_LOCKS_INIT("the vaudit console");
	int r = 0;

	o.cancel = &e->cancel;
	if (!e->rp.nactions) {
		dbuf_adds(summary, "nothing to repair");
		return 0;
	}
	if (!o.dry_run && (r = lock_for_change(e, &locks)) < 0)
		goto out;
	if (s->img) {
		/* the session's image stays open read-only for scans */
		errcode_t ec = va_image_open(s->image, o.dry_run ? 0 : VA_IMAGE_WRITE, &wimg, &err);

		if (ec || !wimg) {
			push_va_error(e, &err);
			r = ec > 0 && ec < 4096 ? -(int)ec : -EIO;
			goto out;
		}
		if ((r = va_backend_image_new(&be, wimg)) < 0)
			goto out;
	}
	if (!o.dry_run) {
		r = new_journal(e, &j, &jpath, &err);
		if (r < 0) {
			push_va_error(e, &err);
			goto out;
		}
		snprintf(journal, 4096, "%s", jpath.buf);
	}
	if (wimg) {
		e->image_written = !o.dry_run;
		r = va_repair_apply(&e->rp, be, NULL, 0, j, &o, &h);
	} else {
		r = va_repair_apply(&e->rp, s->args->backend, s->roots, s->nroots, j, &o, &h);
	}
	summarize(summary, e->rp.counts, false);
	if (j && va_journal_error(j))
		push_error_at(e, jpath.buf, "cannot write the journal", strerror(-va_journal_error(j)));
out:
	va_journal_free(j);
	va_backend_free(be);
	if (va_image_close(wimg)) {
		push_error_at(e, s->image, "closing the image failed", NULL);
		r = r ? r : -EIO;
	}
	va_locks_release(&locks);       /* after the image's last write */
	va_error_release(&err);
	dbuf_release(&jpath);
	return r;
}

static int job_undo(struct tui_engine *e, struct dbuf *summary)
{
	const struct tui_session *s = e->s;
	struct va_repair_opts o = { .dry_run = s->ropts->dry_run, .cancel = &e->cancel };
	struct va_repair_hooks h = { .event = on_event, .begin = on_begin, .user = e };
	struct va_error err = VA_ERROR_INIT;
	struct va_replay_setup rs;
	struct va_locks locks = VA_LOCKS_INIT("the vaudit console");
	unsigned counts[4] = { 0 };
	int r;

	if (!o.dry_run && (r = lock_for_change(e, &locks)) < 0)
		return r;
	r = va_replay_open(&rs, e->file, s->img ? s->image : NULL, o.dry_run, 0,
			   s->img ? NULL : s->args->backend, &err);
	if (rs.j && rs.j->dropped_tail)
		push_error_at(e, e->file, "its last line is torn (a crash while writing it): ignored",
			      NULL);
	if (r < 0) {
		push_va_error(e, &err);
	} else if (rs.unify) {
		push_error_at(e, e->file, "the journal is of a vunify or vhashify run: undo it with vaudit --undo",
			      NULL);
		r = -EINVAL;
	} else if (rs.vcopy) {
		push_error_at(e, e->file, "the journal is of a vcopy run: undo it with vaudit --undo", NULL);
		r = -EINVAL;
	} else {
		if (rs.img && !o.dry_run)
			e->image_written = true;
		r = va_repair_replay(rs.j, VA_REPLAY_UNDO, rs.be,
				     rs.img ? NULL : (const char *const *)rs.roots, rs.img ? 0 : rs.nroots,
				     &o, &h, counts);
		summarize(summary, counts, true);
		if (va_journal_error(rs.j))
			push_error_at(e, e->file, "cannot write the journal",
				      strerror(-va_journal_error(rs.j)));
	}
	if (va_replay_close(&rs) < 0) {
		push_error_at(e, s->image, "closing the image failed", NULL);
		r = r ? r : -EIO;
	}
	va_locks_release(&locks);
	va_error_release(&err);
	return r;
}

/* ------------------------------------------------------------------ jobs */

static void *worker(void *arg)
{
	struct tui_engine *e = arg;
	struct va_backend *live = e->s->img ? NULL : e->s->args->backend;
	void (*notice)(const char *, void *) = NULL;
	void *notice_user = NULL;
	struct dbuf summary = DBUF_INIT;
	struct va_usage *usage = NULL;
	char journal[4096] = "";
	int r = -EINVAL;

	/* the live back end's notices (2.6 bits read from a device) become messages */
	if (live) {
		notice = live->notice;
		notice_user = live->notice_user;
		live->notice = on_notice;
		live->notice_user = e;
	}
	switch (e->wjob) {
	case TUI_JOB_SCAN:  r = job_scan(e, &summary); break;
	case TUI_JOB_PLAN:  r = job_plan(e, &summary); break;
	case TUI_JOB_APPLY: r = job_apply(e, &summary, journal); break;
	case TUI_JOB_UNDO:  r = job_undo(e, &summary); break;
	case TUI_JOB_USAGE: r = job_usage(e, &summary, &usage); break;
	case TUI_JOB_NONE:  break;
	}
	if (live) {
		live->notice = notice;
		live->notice_user = notice_user;
	}
	if (r == -ECANCELED && summary.len)
		dbuf_adds(&summary, " (cancelled)");
	else if (r == -ECANCELED)
		dbuf_adds(&summary, "cancelled");
	va_repair_release(&e->rp);
	free(e->file);
	e->file = NULL;

	clock_gettime(CLOCK_MONOTONIC, &e->last);
	e->prog.elapsed = va_clock_seconds(&e->start, &e->last);
	pthread_mutex_lock(&e->lock);
	e->done.type = TUI_MSG_DONE;
	e->done.progress = e->prog;
	e->done.status = r;
	snprintf(e->done.text, sizeof(e->done.text), "%s", dbuf_str(&summary));
	snprintf(e->done.journal, sizeof(e->done.journal), "%s", journal);
	e->done.usage = usage;
	e->done_pending = true;
	/* DONE carries the final counters */
	e->progress_pending = false;
	e->worker_running = false;
	wake(e);
	pthread_cond_broadcast(&e->ended);
	pthread_mutex_unlock(&e->lock);
	dbuf_release(&summary);
	return NULL;
}

/* Start @job; @file (copied) is its plan or journal.  -EBUSY until the last DONE was polled. */
static int start(struct tui_engine *e, enum tui_job job, const char *file, struct va_repair *rp)
{
	sigset_t all, old;
	int r;

	pthread_mutex_lock(&e->lock);
	if (e->job != TUI_JOB_NONE) {
		pthread_mutex_unlock(&e->lock);
		return -EBUSY;
	}
	pthread_mutex_unlock(&e->lock);
	/* the previous worker has queued its DONE, which was polled: it ends now */
	if (e->thread_live) {
		pthread_join(e->thread, NULL);
		e->thread_live = false;
	}
	if (file && !(e->file = strdup(file)))
		return -ENOMEM;
	e->wjob = job;
	e->cancel = 0;
	memset(&e->prog, 0, sizeof(e->prog));
	e->prog.job = job;
	e->last_stats = NULL;
	e->entries_base = e->last_entries = 0;
	clock_gettime(CLOCK_MONOTONIC, &e->start);
	e->last = e->start;
	if (rp) {
		/* take the actions; the struct stays the caller's, empty */
		e->rp = *rp;
		memset(rp, 0, sizeof(*rp));
		memset(e->rp.counts, 0, sizeof(e->rp.counts));
	}
	pthread_mutex_lock(&e->lock);
	e->job = job;
	e->worker_running = true;
	e->progress = e->prog;
	e->progress_pending = true;
	wake(e);
	pthread_mutex_unlock(&e->lock);

	/* signals are the UI thread's (SIGWINCH, SIGINT, ...) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&e->thread, NULL, worker, e);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		if (rp) {
			*rp = e->rp;
			memset(&e->rp, 0, sizeof(e->rp));
		}
		free(e->file);
		e->file = NULL;
		pthread_mutex_lock(&e->lock);
		e->job = TUI_JOB_NONE;
		e->worker_running = false;
		e->progress_pending = false;
		pthread_mutex_unlock(&e->lock);
		return -r;
	}
	e->thread_live = true;
	return 0;
}

int tui_engine_scan(struct tui_engine *e)
{
	return start(e, TUI_JOB_SCAN, NULL, NULL);
}

int tui_engine_load_plan(struct tui_engine *e, const char *file)
{
	return start(e, TUI_JOB_PLAN, file, NULL);
}

int tui_engine_apply(struct tui_engine *e, struct va_repair *rp)
{
	return start(e, TUI_JOB_APPLY, NULL, rp);
}

int tui_engine_undo(struct tui_engine *e, const char *file)
{
	return start(e, TUI_JOB_UNDO, file, NULL);
}

int tui_engine_usage(struct tui_engine *e)
{
	return start(e, TUI_JOB_USAGE, NULL, NULL);
}
