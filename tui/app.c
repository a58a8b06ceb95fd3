/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * app.c - the console's state machine (ncdu style) and main loop.
 *
 * tui_main() creates the engine, starts the scan (or the plan load) and
 * runs the loop: poll() on the terminal, the engine's wake fd and a
 * signal pipe; keys become requests (request.h) handled here; engine
 * messages go into the model (items, results) and the UI state (progress,
 * message log, status line).  Only this thread touches ncurses and the
 * model.  Headless (s->script), the keys come from the script instead and
 * the engine's messages are taken in at :wait only, so dumps do not
 * depend on timing.
 *
 * The terminal is restored on every way out: endwin() on return, from an
 * atexit() handler, and after SIGINT/SIGTERM/SIGHUP, which only set a flag
 * (and write to the signal pipe) so the loop cancels the job, waits for it
 * and leaves with status 128 + the signal number.
 */
#include "config.h"

#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/image.h"
#include "core/message.h"
#include "tui/engine.h"
#include "tui/request.h"
#include "tui/script.h"
#include "tui/tui.h"
#include "tui/ui.h"

/* Messages taken in per loop turn at most, so keys stay responsive. */
#define DRAIN_BATCH 20000

static volatile sig_atomic_t got_signal;
static int sig_pipe[2] = { -1, -1 };
static bool curses_on;

/* ------------------------------------------------------------------ terminal */

static void on_signal(int sig)
{
	int saved = errno;

	if (!got_signal)
		got_signal = sig;
	if (sig_pipe[1] >= 0)
		(void)!write(sig_pipe[1], "s", 1);
	errno = saved;
}

/* Leave curses mode if we are in it (atexit, and every way out). */
static void restore_terminal(void)
{
	if (curses_on) {
		curses_on = false;
		if (!isendwin())
			endwin();
	}
}

static int install_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	static bool atexit_done;
	struct sigaction sa;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	if (!atexit_done && atexit(restore_terminal) == 0)
		atexit_done = true;
	return 0;
}

static void uninstall_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	for (int i = 0; i < 2; i++) {
		if (sig_pipe[i] >= 0)
			close(sig_pipe[i]);
		sig_pipe[i] = -1;
	}
}

/* ------------------------------------------------------------------ messages */

static void set_status(struct tui_ui *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_status(struct tui_ui *u, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(u->status, sizeof(u->status), fmt, ap);
	va_end(ap);
}

/* Keep @text in the message log (the newest TUI_MSGLOG_MAX). */
static void log_msg(struct tui_ui *u, const char *text)
{
	char *dup;

	u->nerrors++;
	if (!u->msgs || !(dup = strdup(text)))
		return;
	free(u->msgs[u->msg_head]);
	u->msgs[u->msg_head] = dup;
	u->msg_head = (u->msg_head + 1) % TUI_MSGLOG_MAX;
	if (u->nmsgs < TUI_MSGLOG_MAX)
		u->nmsgs++;
}

static const char *job_word(enum tui_job j)
{
	switch (j) {
	case TUI_JOB_SCAN:  return "scan";
	case TUI_JOB_PLAN:  return "plan";
	case TUI_JOB_APPLY: return "apply";
	case TUI_JOB_UNDO:  return "undo";
	case TUI_JOB_USAGE: return "usage computation";
	default:            return "job";
	}
}

/* Result counts of the running apply or undo. */
static unsigned res_count[TUI_RES_COUNT];

/* The newest journal of this session not yet undone, or u->njournals. */
static size_t newest_to_undo(const struct tui_ui *u)
{
	for (size_t i = u->njournals; i-- > 0;)
		if (!u->journals[i].undone)
			return i;
	return u->njournals;
}

static void release_usage(struct tui_ui *u)
{
	if (u->usage)
		va_usage_release(u->usage);
	free(u->usage);
	free(u->usage_order);
	u->usage = NULL;
	u->usage_order = NULL;
}

/* The end of a usage computation: its figures (msg->usage, taken) replace the last ones. */
static void usage_done(struct tui_ui *u, struct tui_msg *msg, const char *why)
{
	struct va_usage *nu = msg->usage;
	size_t *order;

	msg->usage = NULL;
	if (!nu) {
		set_status(u, "usage: %s%s", msg->text[0] ? msg->text : "ended", why);
		return;
	}
	order = malloc((nu->nguests ? nu->nguests : 1) * sizeof(*order));
	if (!order) {
		va_usage_release(nu);
		free(nu);
		set_status(u, "usage: out of memory");
		return;
	}
	tui_usage_order(nu, order, u->usage_by_name);
	release_usage(u);
	u->usage = nu;
	u->usage_order = order;
	u->usage_stale = false;
	u->usage_note[0] = '\0';
	set_status(u, "usage: %s", msg->text);
}

static void job_done(struct tui_ui *u, struct tui_msg *msg)
{
	enum tui_job j = msg->progress.job != TUI_JOB_NONE ? msg->progress.job : u->job;
	char why[160] = "";

	u->prog = msg->progress;
	/* the engine's summary says "cancelled" itself */
	if (msg->status < 0 && msg->status != -ECANCELED)
		snprintf(why, sizeof(why), " (stopped: %s)", strerror(-msg->status));
	/* the figures of the usage view may no longer hold (modes decide what is reclaimable) */
	if ((j == TUI_JOB_APPLY || j == TUI_JOB_UNDO) &&
	    (res_count[TUI_RES_DONE] || res_count[TUI_RES_UNDONE]))
		u->usage_stale = true;
	if (j == TUI_JOB_USAGE) {
		usage_done(u, msg, why);
	} else if (j == TUI_JOB_APPLY) {
		if (msg->journal[0]) {
			char *p = strdup(msg->journal);

			if (p && va_array_grow(&u->journals, &u->capjournals, u->njournals,
					       sizeof(*u->journals)) == 0)
				u->journals[u->njournals++] = (struct tui_journal){
					.path = p, .changes = res_count[TUI_RES_DONE] };
			else
				free(p), log_msg(u, "out of memory: the journal of this apply is not listed");
		}
		if (msg->status < 0 && msg->status != -ECANCELED)
			u->apply_failed = true;
		set_status(u, "apply: %s%s%s%s", msg->text[0] ? msg->text : "ended", why,
			   msg->journal[0] ? "; journal " : "", msg->journal);
	} else if (j == TUI_JOB_UNDO) {
		if (msg->status == 0 && u->undoing < u->njournals)
			u->journals[u->undoing].undone = true;
		else if (msg->status != -ECANCELED)
			u->apply_failed = true;
		/* the whole session: on with the next older journal, unless this one stopped */
		u->undo_next = u->undo_all && msg->status == 0 && newest_to_undo(u) < u->njournals;
		if (!u->undo_next)
			u->undo_all = false;
		set_status(u, "undo of %s: %s%s", u->undoing < u->njournals ? u->journals[u->undoing].path : "?",
			   msg->text[0] ? msg->text : "ended", why);
	} else {
		set_status(u, "%s: %s%s", j == TUI_JOB_PLAN ? "plan loaded" : "scan done",
			   msg->text[0] ? msg->text : "ended", why);
	}
	if (msg->status < 0 && msg->status != -ECANCELED) {
		char line[700];

		snprintf(line, sizeof(line), "%s stopped: %s", job_word(j), strerror(-msg->status));
		log_msg(u, line);
	}
	u->state = TUI_ST_BROWSE;
	u->job = TUI_JOB_NONE;
}

static void handle_msg(struct tui_ui *u, struct tui_msg *msg)
{
	switch (msg->type) {
	case TUI_MSG_ITEM:
		if (tui_model_append(u->m, &msg->item) < 0)
			log_msg(u, "out of memory: a finding is not shown");
		break;
	case TUI_MSG_PROGRESS:
		u->prog = msg->progress;
		u->prog_valid = true;
		break;
	case TUI_MSG_ERROR:
		if (u->job == TUI_JOB_SCAN)
			u->scan_errors++;
		log_msg(u, msg->text);
		break;
	case TUI_MSG_NOTICE:
		log_msg(u, msg->text);
		break;
	case TUI_MSG_RESULT:
		if ((unsigned)msg->result < TUI_RES_COUNT)
			res_count[msg->result]++;
		if (msg->result == TUI_RES_FAILED)
			u->apply_failed = true;
		tui_model_set_result(u->m, msg->dev, msg->ino, msg->result, msg->text[0] ? msg->text : NULL);
		if (msg->result == TUI_RES_FAILED || msg->result == TUI_RES_SKIPPED) {
			struct dbuf line = DBUF_INIT;
			size_t len;
			const char *p = tui_model_path_of(u->m, msg->dev, msg->ino, &len);

			dbuf_addf(&line, "%s ", tui_result_word(msg->result));
			if (p)
				va_quote(&line, p, len);
			else
				dbuf_addf(&line, "inode %llu", (unsigned long long)msg->ino);
			dbuf_addf(&line, ": %s", msg->text[0] ? msg->text : "no reason given");
			log_msg(u, dbuf_str(&line));
			dbuf_release(&line);
		}
		break;
	case TUI_MSG_DONE:
		job_done(u, msg);
		break;
	}
}

/* Take in at most @max messages.  Return: true when more may be waiting. */
static bool drain(struct tui_ui *u, struct tui_engine *e, size_t max)
{
	static struct tui_msg msg;

	/* not cleared per message: a message is large, and poll() writes what its type uses */
	for (size_t n = 0; n < max; n++) {
		if (!tui_engine_poll(e, &msg))
			return false;
		handle_msg(u, &msg);
	}
	return true;
}

static bool continue_jobs(struct tui_ui *u, struct tui_engine *e);

/* Wait for the running job (and the rest of a whole-session undo), taking in its messages; false on a signal. */
static bool wait_idle(struct tui_ui *u, struct tui_engine *e)
{
again:
	while (tui_engine_busy(e) != TUI_JOB_NONE && !got_signal) {
		struct pollfd p[2] = {
			{ .fd = tui_engine_wake_fd(e), .events = POLLIN },
			{ .fd = sig_pipe[0], .events = POLLIN },
		};

		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		drain(u, e, SIZE_MAX);
	}
	if (got_signal)
		return false;
	tui_engine_wait(e);
	drain(u, e, SIZE_MAX);
	if (continue_jobs(u, e))
		goto again;
	return true;
}

/* ------------------------------------------------------------------ jobs */

static void job_started(struct tui_ui *u, enum tui_job j)
{
	u->job = j;
	u->prog_valid = false;
	memset(&u->prog, 0, sizeof(u->prog));
	u->prog.job = j;
	u->job_started = va_clock_monotonic();
	memset(res_count, 0, sizeof(res_count));
	switch (j) {
	case TUI_JOB_APPLY: u->state = TUI_ST_APPLYING; break;
	case TUI_JOB_UNDO:  u->state = TUI_ST_UNDOING; break;
	case TUI_JOB_USAGE: u->state = TUI_ST_USAGE; break;
	default:            u->state = TUI_ST_SCANNING; break;
	}
}

static void release_pending(struct tui_ui *u)
{
	if (u->have_pending)
		va_repair_release(&u->pending);
	memset(&u->pending, 0, sizeof(u->pending));
	u->have_pending = false;
}

static void start_apply(struct tui_ui *u, struct tui_engine *e)
{
	int r;

	tui_model_clear_results(u->m);
	/* the engine takes the actions and leaves u->pending empty */
	r = tui_engine_apply(e, &u->pending);
	release_pending(u);
	if (r < 0) {
		set_status(u, "apply: cannot start: %s", strerror(-r));
		return;
	}
	job_started(u, TUI_JOB_APPLY);
}

static void start_undo(struct tui_ui *u, struct tui_engine *e)
{
	size_t k = newest_to_undo(u);
	int r;

	u->undo_next = false;
	if (k >= u->njournals) {
		u->undo_all = false;
		return;
	}
	r = tui_engine_undo(e, u->journals[k].path);
	if (r < 0) {
		u->undo_all = false;
		set_status(u, "undo: cannot start: %s", strerror(-r));
		return;
	}
	u->undoing = k;
	job_started(u, TUI_JOB_UNDO);
}

/* The next older journal of a whole-session undo, once the engine is idle.  Return: started one. */
static bool continue_undo(struct tui_ui *u, struct tui_engine *e)
{
	if (!u->undo_next || tui_engine_busy(e) != TUI_JOB_NONE)
		return false;
	start_undo(u, e);
	return u->job == TUI_JOB_UNDO;
}

/* The usage computation: now, or once the engine is idle (the view says which). */
static void start_usage(struct tui_ui *u, struct tui_engine *e)
{
	int r;

	if (u->job == TUI_JOB_USAGE)
		return;
	if (tui_engine_busy(e) != TUI_JOB_NONE) {
		u->usage_next = true;
		return;
	}
	u->usage_next = false;
	r = tui_engine_usage(e);
	if (r < 0) {
		snprintf(u->usage_note, sizeof(u->usage_note), "The usage cannot be computed: %s.",
			 strerror(-r));
		return;
	}
	u->usage_note[0] = '\0';
	job_started(u, TUI_JOB_USAGE);
}

/* What waits for an idle engine: the rest of a whole-session undo, then a usage computation. */
static bool continue_jobs(struct tui_ui *u, struct tui_engine *e)
{
	if (continue_undo(u, e))
		return true;
	if (!u->usage_next || tui_engine_busy(e) != TUI_JOB_NONE)
		return false;
	start_usage(u, e);
	return u->job == TUI_JOB_USAGE;
}

/* U: the usage view; the figures are computed when there are none or they may be out of date. */
static void open_usage(struct tui_ui *u, struct tui_engine *e)
{
	u->dialog = TUI_DLG_USAGE;
	u->usage_top = 0;
	if (!u->usage || u->usage_stale)
		start_usage(u, e);
}

/* Closing the view stops a computation that has not ended. */
static void close_usage(struct tui_ui *u, struct tui_engine *e)
{
	u->dialog = TUI_DLG_NONE;
	u->usage_next = false;
	if (u->job == TUI_JOB_USAGE) {
		tui_engine_cancel(e);
		set_status(u, "usage: stopping the computation");
	}
}

/* ------------------------------------------------------------------ requests */

static void move_cursor(struct tui_ui *u, size_t to)
{
	if (u->m->nshown == 0)
		to = 0;
	else if (to >= u->m->nshown)
		to = u->m->nshown - 1;
	if (to != u->cursor)
		u->detail_top = 0;
	u->cursor = to;
}

/* Scroll position @pos by @delta (SIZE_MAX-safe); the drawing clamps it. */
static size_t scroll_by(size_t pos, long delta)
{
	if (delta < 0)
		return (size_t)-delta > pos ? 0 : pos - (size_t)-delta;
	return pos + (size_t)delta > pos ? pos + (size_t)delta : SIZE_MAX / 2;
}

/* A movement request on scroll position *@pos (@page rows a page).  Return: it was one. */
static bool scroll_request(size_t *pos, enum tui_request req, long page)
{
	switch (req) {
	case TUI_REQ_MOVE_DOWN:  *pos = scroll_by(*pos, 1); return true;
	case TUI_REQ_MOVE_UP:    *pos = scroll_by(*pos, -1); return true;
	case TUI_REQ_PAGE_DOWN:  *pos = scroll_by(*pos, page); return true;
	case TUI_REQ_PAGE_UP:    *pos = scroll_by(*pos, -page); return true;
	case TUI_REQ_MOVE_FIRST: *pos = 0; return true;
	case TUI_REQ_MOVE_LAST:  *pos = SIZE_MAX / 2; return true;
	default:                 return false;
	}
}

static void move_request(struct tui_ui *u, enum tui_request req)
{
	long page;
	size_t *pos;

	switch (u->focus) {
	case TUI_PANE_DETAIL:
		pos = &u->detail_top;
		page = u->lay.detail_h > 2 ? u->lay.detail_h - 2 : 1;
		break;
	case TUI_PANE_SUMMARY:
		pos = &u->summary_top;
		page = u->lay.summary_h > 3 ? u->lay.summary_h - 3 : 1;
		break;
	default:
		page = (long)tui_list_rows(u);
		switch (req) {
		case TUI_REQ_MOVE_DOWN:  move_cursor(u, u->cursor + 1); break;
		case TUI_REQ_MOVE_UP:    move_cursor(u, u->cursor ? u->cursor - 1 : 0); break;
		case TUI_REQ_PAGE_DOWN:  move_cursor(u, u->cursor + (size_t)page); u->top = scroll_by(u->top, page); break;
		case TUI_REQ_PAGE_UP:    move_cursor(u, scroll_by(u->cursor, -page)); u->top = scroll_by(u->top, -page); break;
		case TUI_REQ_MOVE_FIRST: move_cursor(u, 0); break;
		case TUI_REQ_MOVE_LAST:  move_cursor(u, SIZE_MAX); break;
		default: break;
		}
		return;
	}
	scroll_request(pos, req, page);
}

static void do_search(struct tui_ui *u, bool forward)
{
	ssize_t row;

	if (!u->needle.len) {
		set_status(u, "no search yet: / searches the path text");
		return;
	}
	if (!u->m->nshown) {
		set_status(u, "nothing is shown to search");
		return;
	}
	row = tui_model_search(u->m, u->needle.buf, u->needle.len, u->cursor, forward);
	if (row < 0) {
		snprintf(u->status, sizeof(u->status), "not found: %s", u->needle.buf);
		return;
	}
	move_cursor(u, (size_t)row);
	snprintf(u->status, sizeof(u->status), "found: %s (row %zu of %zu; n: next, N: previous)", u->needle.buf,
		 (size_t)row + 1, u->m->nshown);
}

static void open_filter(struct tui_ui *u)
{
	const struct tui_filter *f = &u->m->filter;

	free(u->fm.guest);
	u->fm = *f;
	u->fm.guest = NULL;
	if (f->guest) {
		u->fm.guest = malloc(f->guest_len + 1);
		if (!u->fm.guest) {
			memset(&u->fm, 0, sizeof(u->fm));
			set_status(u, "filter: out of memory");
			return;
		}
		memcpy(u->fm.guest, f->guest, f->guest_len);
		u->fm.guest[f->guest_len] = '\0';
	}
	u->fm_cursor = 0;
	u->fm_top = 0;
	u->dialog = TUI_DLG_FILTER;
}

/* Apply the edited filter, keeping the cursor on the same finding if shown. */
static void apply_filter(struct tui_ui *u)
{
	size_t idx = u->m->nshown ? u->m->shown[u->cursor < u->m->nshown ? u->cursor : 0] : 0;
	int r = tui_model_set_filter(u->m, &u->fm);

	memset(&u->fm, 0, sizeof(u->fm));
	u->dialog = TUI_DLG_NONE;
	if (r < 0) {
		set_status(u, "filter: %s", strerror(-r));
		return;
	}
	u->cursor = tui_model_row_of(u->m, idx);
	u->top = u->cursor;
	u->detail_top = 0;
	set_status(u, "%zu of %zu findings shown", u->m->nshown, u->m->nitems);
}

static void filter_key(struct tui_ui *u, int key, bool fkey)
{
	enum tui_request req;
	struct tui_fm_entry *e;

	if (fkey && key == KEY_ENTER) {
		key = '\n';
		fkey = false;
	}
	req = tui_request_for_key(key, fkey);
	tui_fm_build(u);
	e = u->fm_cursor < u->fm_n ? &u->fm_entries[u->fm_cursor] : NULL;
	if (key == 27 || (!fkey && (key == 'f' || key == 'q'))) {
		free(u->fm.guest);
		memset(&u->fm, 0, sizeof(u->fm));
		u->dialog = TUI_DLG_NONE;
		return;
	}
	if (!fkey && key == 'c') {
		free(u->fm.guest);
		memset(&u->fm, 0, sizeof(u->fm));
		apply_filter(u);
		return;
	}
	switch (req) {
	case TUI_REQ_MOVE_DOWN:  if (u->fm_cursor + 1 < u->fm_n) u->fm_cursor++; return;
	case TUI_REQ_MOVE_UP:    if (u->fm_cursor) u->fm_cursor--; return;
	case TUI_REQ_PAGE_DOWN:  u->fm_cursor = u->fm_cursor + 10 < u->fm_n ? u->fm_cursor + 10 : u->fm_n - 1; return;
	case TUI_REQ_PAGE_UP:    u->fm_cursor = u->fm_cursor > 10 ? u->fm_cursor - 10 : 0; return;
	case TUI_REQ_MOVE_FIRST: u->fm_cursor = 0; return;
	case TUI_REQ_MOVE_LAST:  u->fm_cursor = u->fm_n ? u->fm_n - 1 : 0; return;
	default: break;
	}
	if (!fkey && (key == '\n' || key == '\r') && (!e || e->type != TUI_FM_CLEAR)) {
		apply_filter(u);
		return;
	}
	if (!fkey && (key == ' ' || key == '\n' || key == '\r')) {
		if (!e)
			return;
		switch (e->type) {
		case TUI_FM_CLEAR:
			free(u->fm.guest);
			memset(&u->fm, 0, sizeof(u->fm));
			apply_filter(u);
			return;
		case TUI_FM_SELECTABLE:
			u->fm.selectable_only = !u->fm.selectable_only;
			break;
		case TUI_FM_SEVERITY:
			u->fm.severities ^= 1u << e->value;
			break;
		case TUI_FM_KIND:
			u->fm.kinds ^= VA_KIND_BIT(e->value);
			break;
		case TUI_FM_ANY_GUEST:
			free(u->fm.guest);
			u->fm.guest = NULL;
			u->fm.guest_len = 0;
			u->fm.by_guest = false;
			break;
		case TUI_FM_GUEST: {
			const struct tui_guest *g = &u->m->guests[e->value];
			char *dup = NULL;

			if (g->name) {
				if (!(dup = malloc(g->len + 1)))
					return;
				memcpy(dup, g->name, g->len);
				dup[g->len] = '\0';
			}
			free(u->fm.guest);
			u->fm.guest = dup;
			u->fm.guest_len = g->name ? g->len : 0;
			u->fm.by_guest = true;
			break;
		}
		}
	}
}

static void search_key(struct tui_ui *u, int key, bool fkey)
{
	if (key == 27 && !fkey) {
		u->dialog = TUI_DLG_NONE;
		dbuf_setlen(&u->prompt, 0);
		return;
	}
	if ((!fkey && (key == '\n' || key == '\r')) || (fkey && key == KEY_ENTER)) {
		u->dialog = TUI_DLG_NONE;
		if (u->prompt.len) {
			dbuf_setlen(&u->needle, 0);
			dbuf_add(&u->needle, u->prompt.buf, u->prompt.len);
		}
		dbuf_setlen(&u->prompt, 0);
		do_search(u, true);
		return;
	}
	if ((fkey && key == KEY_BACKSPACE) || (!fkey && (key == 127 || key == 8))) {
		size_t len = u->prompt.len;

		/* drop the last UTF-8 character */
		while (len && ((unsigned char)u->prompt.buf[len - 1] & 0xc0) == 0x80)
			len--;
		if (len)
			len--;
		dbuf_setlen(&u->prompt, len);
		return;
	}
	if (!fkey && key >= 0x20 && key != 0x7f) {
		char mb[8];
		mbstate_t ps;
		size_t n;

		memset(&ps, 0, sizeof(ps));
		n = wcrtomb(mb, (wchar_t)key, &ps);
		if (n != (size_t)-1)
			dbuf_add(&u->prompt, mb, n);
	}
}

/* Help and message views: scroll, or close on any other key. */
static void overlay_key(struct tui_ui *u, int key, bool fkey)
{
	long page = u->rows > 4 ? u->rows - 4 : 1;

	if (!scroll_request(&u->overlay_top, tui_request_for_key(key, fkey), page))
		u->dialog = TUI_DLG_NONE;
}

static void usage_key(struct tui_ui *u, struct tui_engine *e, int key, bool fkey)
{
	enum tui_request req = tui_request_for_key(key, fkey);
	long page = u->usage_rows ? (long)u->usage_rows : 1;

	if ((key == 27 && !fkey) || req == TUI_REQ_QUIT || req == TUI_REQ_USAGE) {
		close_usage(u, e);
		return;
	}
	switch (req) {
	case TUI_REQ_RESCAN:
		if (u->s->img)
			break;
		if (u->job == TUI_JOB_USAGE)
			set_status(u, "the usage is being computed");
		else
			start_usage(u, e);
		break;
	case TUI_REQ_SORT:
		u->usage_by_name = !u->usage_by_name;
		if (u->usage)
			tui_usage_order(u->usage, u->usage_order, u->usage_by_name);
		set_status(u, "usage sorted by %s", u->usage_by_name ? "name" : "total");
		break;
	case TUI_REQ_REDRAW:
		clearok(curscr, TRUE);
		break;
	default:
		scroll_request(&u->usage_top, req, page);
		break;
	}
}

static bool is_yes(int key, bool fkey)
{
	return !fkey && (key == 'y' || key == 'Y');
}

static void quit_now(struct tui_ui *u, struct tui_engine *e)
{
	if (tui_engine_busy(e) != TUI_JOB_NONE) {
		tui_engine_cancel(e);
		wait_idle(u, e);
	}
	u->quit = true;
}

static void dialog_key(struct tui_ui *u, struct tui_engine *e, int key, bool fkey)
{
	switch (u->dialog) {
	case TUI_DLG_APPLY:
		u->dialog = TUI_DLG_NONE;
		if (is_yes(key, fkey)) {
			start_apply(u, e);
		} else {
			release_pending(u);
			set_status(u, "apply cancelled: nothing changed");
		}
		return;
	case TUI_DLG_UNDO:
		u->dialog = TUI_DLG_NONE;
		if (is_yes(key, fkey)) {
			u->undo_all = true;
			start_undo(u, e);
		} else
			set_status(u, "undo cancelled: nothing changed");
		return;
	case TUI_DLG_QUIT:
		u->dialog = TUI_DLG_NONE;
		if (is_yes(key, fkey))
			quit_now(u, e);
		return;
	case TUI_DLG_FILTER:
		filter_key(u, key, fkey);
		return;
	case TUI_DLG_SEARCH:
		search_key(u, key, fkey);
		return;
	case TUI_DLG_HELP:
	case TUI_DLG_MESSAGES:
		overlay_key(u, key, fkey);
		return;
	case TUI_DLG_USAGE:
		usage_key(u, e, key, fkey);
		return;
	default:
		u->dialog = TUI_DLG_NONE;
		return;
	}
}

/* o: the next order of the list, the cursor staying on its finding. */
static void next_sort(struct tui_ui *u)
{
	struct tui_model *m = u->m;
	size_t idx = m->nshown ? m->shown[u->cursor < m->nshown ? u->cursor : 0] : 0;

	tui_model_sort(m, (enum tui_sort)((m->sort + 1) % TUI_SORT_COUNT));
	u->cursor = tui_model_row_of(m, idx);
	u->top = u->cursor;
	set_status(u, "sorted by %s", tui_sort_text(m->sort));
}

/* r: the findings read anew (the model starts empty; journals are the session's and stay). */
static void rescan(struct tui_ui *u, struct tui_engine *e)
{
	int r;

	if (tui_engine_busy(e) != TUI_JOB_NONE) {
		set_status(u, "a %s is running: wait for it before scanning again", job_word(tui_engine_busy(e)));
		return;
	}
	if (u->s->plan) {
		set_status(u, "this session reviews a plan: there is nothing to scan");
		return;
	}
	tui_model_release(u->m);        /* empty again, as at the start */
	u->cursor = u->top = u->detail_top = u->summary_top = 0;
	u->scan_errors = 0;
	r = tui_engine_scan(e);
	if (r < 0) {
		set_status(u, "scan: cannot start: %s", strerror(-r));
		return;
	}
	job_started(u, TUI_JOB_SCAN);
}

static void ask_apply(struct tui_ui *u, struct tui_engine *e)
{
	long n;

	if (tui_engine_busy(e) != TUI_JOB_NONE) {
		set_status(u, "a %s is running: wait for it before applying", job_word(tui_engine_busy(e)));
		return;
	}
	if (!u->m->nselected) {
		set_status(u, "nothing selected: Space selects the current finding, a every shown one");
		return;
	}
	release_pending(u);
	n = tui_model_to_repair(u->m, &u->pending, u->s->ropts);
	if (n < 0) {
		set_status(u, "apply: %s", strerror((int)-n));
		release_pending(u);
		return;
	}
	u->have_pending = true;
	if (n == 0) {
		release_pending(u);
		set_status(u, "the selected findings need no change");
		return;
	}
	u->pending_items = u->m->nselected;
	u->dialog = TUI_DLG_APPLY;
}

static void handle_key(struct tui_ui *u, struct tui_engine *e, int key, bool fkey)
{
	enum tui_request req;
	struct tui_item *it;
	size_t n;

	if (u->dialog != TUI_DLG_NONE) {
		dialog_key(u, e, key, fkey);
		return;
	}
	req = tui_request_for_key(key, fkey);
	switch (req) {
	case TUI_REQ_MOVE_DOWN:
	case TUI_REQ_MOVE_UP:
	case TUI_REQ_PAGE_DOWN:
	case TUI_REQ_PAGE_UP:
	case TUI_REQ_MOVE_FIRST:
	case TUI_REQ_MOVE_LAST:
		move_request(u, req);
		break;
	case TUI_REQ_NEXT_PANE:
		u->focus = (enum tui_pane)((u->focus + 1) % TUI_PANE_COUNT);
		break;
	case TUI_REQ_SEARCH:
		dbuf_setlen(&u->prompt, 0);
		u->dialog = TUI_DLG_SEARCH;
		break;
	case TUI_REQ_SEARCH_NEXT:
	case TUI_REQ_SEARCH_PREV:
		do_search(u, req == TUI_REQ_SEARCH_NEXT);
		break;
	case TUI_REQ_FILTER:
		open_filter(u);
		break;
	case TUI_REQ_TOGGLE:
		it = u->m->nshown ? tui_model_item(u->m, u->cursor) : NULL;
		if (!it)
			break;
		if (!it->selectable) {
			if (it->blocked)
				set_status(u, "cannot be selected: %s", it->blocked);
			else if (it->changed)
				set_status(u, "applied already (u undoes it)");
			else
				set_status(u, "%s", it->has_proposal ?
					   "no repair carries out this change; it cannot be selected" :
					   "no change is proposed for this finding; it cannot be selected");
			break;
		}
		tui_model_toggle(u->m, u->cursor);
		set_status(u, "%zu selected", u->m->nselected);
		/* on to the next row, as in mc and htop */
		move_request(u, TUI_REQ_MOVE_DOWN);
		break;
	case TUI_REQ_SELECT_ALL:
		n = tui_model_select_shown(u->m, true);
		if (n) {
			set_status(u, "selected %zu more; %zu selected", n, u->m->nselected);
		} else {
			n = tui_model_select_shown(u->m, false);
			set_status(u, "deselected %zu; %zu selected", n, u->m->nselected);
		}
		break;
	case TUI_REQ_APPLY:
		ask_apply(u, e);
		break;
	case TUI_REQ_UNDO:
		if (tui_engine_busy(e) != TUI_JOB_NONE)
			set_status(u, "a %s is running: wait for it before undoing", job_word(tui_engine_busy(e)));
		else if (!u->njournals)
			set_status(u, "nothing to undo: this session has not applied anything");
		else if (newest_to_undo(u) >= u->njournals)
			set_status(u, "every journal of this session is undone already");
		else
			u->dialog = TUI_DLG_UNDO;
		break;
	case TUI_REQ_RESCAN:
		rescan(u, e);
		break;
	case TUI_REQ_SORT:
		next_sort(u);
		break;
	case TUI_REQ_MESSAGES:
		u->dialog = TUI_DLG_MESSAGES;
		u->overlay_top = SIZE_MAX / 2;
		break;
	case TUI_REQ_HELP:
		u->dialog = TUI_DLG_HELP;
		u->overlay_top = 0;
		break;
	case TUI_REQ_USAGE:
		open_usage(u, e);
		break;
	case TUI_REQ_QUIT:
		if (tui_engine_busy(e) != TUI_JOB_NONE)
			u->dialog = TUI_DLG_QUIT;
		else
			u->quit = true;
		break;
	case TUI_REQ_REDRAW:
		clearok(curscr, TRUE);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------------ loops */

static void resize(struct tui_ui *u, int cols, int rows)
{
	if (cols > 0 && rows > 0)
		resizeterm(rows, cols);
	u->rows = LINES;
	u->cols = COLS;
}

/* The interactive loop: keys from the terminal. */
static void run_terminal(struct tui_ui *u, struct tui_engine *e)
{
	bool more = false, dirty = true;
	double last_draw = 0;

	while (!u->quit && !got_signal) {
		struct pollfd p[3] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = tui_engine_wake_fd(e), .events = POLLIN },
			{ .fd = sig_pipe[0], .events = POLLIN },
		};
		bool running = u->job != TUI_JOB_NONE;
		int timeout = more ? 0 : running ? 100 : -1;
		wint_t wch;
		int r;

		if (dirty || (running && va_clock_monotonic() - last_draw >= 0.1)) {
			tui_draw(u);
			last_draw = va_clock_monotonic();
			dirty = false;
		}
		if (poll(p, 3, timeout) < 0 && errno != EINTR)
			break;
		if (p[2].revents & POLLIN) {
			char buf[16];

			while (read(sig_pipe[0], buf, sizeof(buf)) > 0)
				;
		}
		while ((r = wget_wch(stdscr, &wch)) != ERR) {
			if (r == KEY_CODE_YES && wch == KEY_RESIZE)
				resize(u, 0, 0);
			else
				handle_key(u, e, (int)wch, r == KEY_CODE_YES);
			dirty = true;
			if (u->quit)
				break;
		}
		more = drain(u, e, DRAIN_BATCH);
		if (!more)
			continue_jobs(u, e);
		dirty = true;
	}
}

/* The headless loop: keys and commands from the script. */
static int run_script(struct tui_ui *u, struct tui_engine *e, const struct tui_script *sc)
{
	int r = 0;

	tui_draw(u);
	for (size_t i = 0; i < sc->n && !u->quit && !got_signal; i++) {
		const struct tui_step *st = &sc->steps[i];

		switch (st->type) {
		case TUI_STEP_KEY:
			handle_key(u, e, st->key, st->fkey);
			break;
		case TUI_STEP_WAIT:
			wait_idle(u, e);
			break;
		case TUI_STEP_DUMP:
		case TUI_STEP_ATTRS:
			if (tui_screen_dump(stdout, st->type == TUI_STEP_ATTRS) < 0)
				r = -EIO;
			break;
		case TUI_STEP_RESIZE:
			resize(u, st->cols, st->rows);
			break;
		}
		tui_draw(u);
	}
	return r;
}

/* ------------------------------------------------------------------ main */

static SCREEN *start_curses(const struct tui_session *s, FILE **ret_out, FILE **ret_in)
{
	SCREEN *scr;

	*ret_out = *ret_in = NULL;
	if (!s->script)
		return newterm(NULL, stdout, stdin);

	/* headless: a virtual screen written to /dev/null */
	*ret_out = fopen("/dev/null", "we");
	*ret_in = fopen("/dev/null", "re");
	if (!*ret_out || !*ret_in)
		return NULL;
	use_env(FALSE);
	scr = newterm(getenv("TERM") && *getenv("TERM") ? getenv("TERM") : "xterm", *ret_out, *ret_in);
	if (!scr)
		scr = newterm("xterm", *ret_out, *ret_in);
	return scr;
}

int tui_main(const struct tui_session *s)
{
	struct tui_model model;
	struct tui_ui ui;
	struct tui_engine *e = NULL;
	struct tui_script sc = { 0 };
	FILE *hout = NULL, *hin = NULL;
	SCREEN *scr = NULL;
	int r, status = 0;
	char err[256];

	setlocale(LC_ALL, "");
	memset(&ui, 0, sizeof(ui));
	tui_model_init(&model);
	ui.s = s;
	ui.m = &model;
	ui.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	ui.msgs = calloc(TUI_MSGLOG_MAX, sizeof(*ui.msgs));
	got_signal = 0;

	if (s->script) {
		r = tui_script_load(&sc, s->script, err, sizeof(err));
		if (r < 0) {
			struct dbuf m = DBUF_INIT;

			va_msg_text(&m, s->script, strlen(s->script), "not a usable key script", err);
			fprintf(stderr, "%s: %s\n", s->prog, dbuf_str(&m));
			dbuf_release(&m);
			status = 2;
			goto out;
		}
	} else if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "%s: --interactive needs a terminal (or --script FILE)\n", s->prog);
		status = 2;
		goto out;
	}
	if ((r = install_signals()) < 0) {
		fprintf(stderr, "%s: cannot start the console: %s\n", s->prog, strerror(-r));
		status = 2;
		goto out;
	}
	if ((r = tui_engine_new(&e, s)) < 0) {
		fprintf(stderr, "%s: cannot start the console: %s\n", s->prog, strerror(-r));
		status = 2;
		goto out;
	}
	r = s->plan ? tui_engine_load_plan(e, s->plan) : tui_engine_scan(e);
	if (r < 0) {
		fprintf(stderr, "%s: cannot start the %s: %s\n", s->prog, s->plan ? "plan load" : "scan", strerror(-r));
		status = 2;
		goto out;
	}
	job_started(&ui, s->plan ? TUI_JOB_PLAN : TUI_JOB_SCAN);

	scr = start_curses(s, &hout, &hin);
	if (!scr) {
		fprintf(stderr, "%s: cannot start the console: no usable terminal (TERM=%s)\n", s->prog,
			getenv("TERM") ? getenv("TERM") : "");
		status = 2;
		goto out;
	}
	curses_on = true;
	set_escdelay(25);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	tui_draw_init(&ui);
	if (s->script)
		resize(&ui, s->cols > 0 ? s->cols : 80, s->rows > 0 ? s->rows : 24);
	else
		resize(&ui, 0, 0);

	if (s->script) {
		if (run_script(&ui, e, &sc) < 0)
			status = 2;
	} else {
		run_terminal(&ui, e);
	}

	/* quit: stop what runs (journaled changes stay journaled) */
	if (tui_engine_busy(e) != TUI_JOB_NONE || ui.job != TUI_JOB_NONE) {
		tui_engine_cancel(e);
		tui_engine_wait(e);
		drain(&ui, e, SIZE_MAX);
	}
	restore_terminal();
	for (size_t i = 0; i < ui.njournals; i++)
		fprintf(stderr, "%s: journal: %s%s\n", s->prog, ui.journals[i].path,
			ui.journals[i].undone ? " (undone)" : "");
	if (ui.apply_failed && status == 0)
		status = 2;
	if (got_signal)
		status = 128 + got_signal;

out:
	restore_terminal();
	if (scr)
		delscreen(scr);
	if (hout)
		fclose(hout);
	if (hin)
		fclose(hin);
	tui_engine_free(e);
	release_pending(&ui);
	release_usage(&ui);
	for (size_t i = 0; i < ui.njournals; i++)
		free(ui.journals[i].path);
	free(ui.journals);
	free(ui.fm.guest);
	free(ui.fm_entries);
	dbuf_release(&ui.prompt);
	dbuf_release(&ui.needle);
	if (ui.msgs) {
		for (size_t i = 0; i < TUI_MSGLOG_MAX; i++)
			free(ui.msgs[i]);
		free(ui.msgs);
	}
	tui_model_release(&model);
	tui_script_release(&sc);
	uninstall_signals();
	return status;
}
