/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * draw.c - the console's screen, drawn from the model and the UI state
 * (ui.h) onto stdscr.  Nothing here changes the model or talks to the
 * engine; only the scroll positions are clamped to what exists.
 *
 * Screen, top to bottom:
 *   header     program, source, counts, filter
 *   summary    guests x kinds: error/warning/info counts, then one column
 *              per kind that has findings (its initials; legend in `?`)
 *   list       one row per shown finding, drawn for the visible rows only
 *              (rows index model->shown): selection, result, severity,
 *              kind, path
 *   detail     the current finding: path, inode, links, other names,
 *              flags current -> proposed, result, why it matters
 *   status     the progress bar of a running job, the search prompt, or
 *              the last event; the message count
 *   bar        the keys (from the request list)
 * Dialogs (confirmations, filter menu) are boxes over it; the help and the
 * message log take the whole screen but the bar; the usage view takes it
 * but the status line and the bar.
 */
#include "config.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/flags.h"
#include "migrate/journal.h"
#include "tui/engine.h"
#include "tui/request.h"
#include "tui/text.h"
#include "tui/ui.h"

enum {
	CP_ERROR = 1,   /* CP_ERROR + enum va_severity */
	CP_WARNING,
	CP_INFO,
	CP_TITLE,
	CP_DONE,
	CP_FAILED,
	CP_SKIPPED,
	CP_KEY,
	CP_USAGE,       /* CP_USAGE + enum tui_usage_seg: the segments of a usage bar */
};

#define LABEL_W 7       /* detail labels: "Flags  " */

/* Scratch runs, reused every frame (the UI thread is the only caller). */
static struct tui_cells scratch;

/* ------------------------------------------------------------------ attributes */

void tui_draw_init(struct tui_ui *u)
{
	u->color = has_colors();
	if (!u->color)
		return;
	start_color();
	use_default_colors();
	init_pair(CP_ERROR, COLOR_RED, -1);
	init_pair(CP_WARNING, COLOR_YELLOW, -1);
	init_pair(CP_INFO, COLOR_CYAN, -1);
	init_pair(CP_TITLE, COLOR_BLACK, COLOR_CYAN);
	init_pair(CP_DONE, COLOR_GREEN, -1);
	init_pair(CP_FAILED, COLOR_RED, -1);
	init_pair(CP_SKIPPED, COLOR_YELLOW, -1);
	init_pair(CP_KEY, COLOR_BLACK, COLOR_CYAN);
	init_pair(CP_USAGE + TUI_SEG_PRIVATE, COLOR_BLUE, -1);
	init_pair(CP_USAGE + TUI_SEG_SHARED, COLOR_GREEN, -1);
	init_pair(CP_USAGE + TUI_SEG_STORE, COLOR_MAGENTA, -1);
	init_pair(CP_USAGE + TUI_SEG_RECLAIM, COLOR_RED, -1);
}

/* Severity: a colour, or bold for errors on a monochrome terminal. */
static attr_t attr_sev(const struct tui_ui *u, enum va_severity sev)
{
	if (sev >= VA_SEV_COUNT)
		return A_NORMAL;
	if (u->color)
		return COLOR_PAIR(CP_ERROR + (int)sev) | (sev == VA_SEV_ERROR ? A_BOLD : A_NORMAL);
	return sev == VA_SEV_ERROR ? A_BOLD : A_NORMAL;
}

static attr_t attr_title(const struct tui_ui *u)
{
	return u->color ? COLOR_PAIR(CP_TITLE) : A_REVERSE;
}

static attr_t attr_result(const struct tui_ui *u, enum tui_result r)
{
	switch (r) {
	case TUI_RES_DONE:    return u->color ? COLOR_PAIR(CP_DONE) | A_BOLD : A_BOLD;
	case TUI_RES_FAILED:  return u->color ? COLOR_PAIR(CP_FAILED) | A_BOLD : A_BOLD;
	case TUI_RES_SKIPPED: return u->color ? COLOR_PAIR(CP_SKIPPED) : A_NORMAL;
	case TUI_RES_UNDONE:  return u->color ? COLOR_PAIR(CP_INFO) : A_NORMAL;
	default:              return A_NORMAL;
	}
}

static char result_letter(enum tui_result r)
{
	switch (r) {
	case TUI_RES_PLANNED: return 'P';
	case TUI_RES_DONE:    return 'D';
	case TUI_RES_SKIPPED: return 'S';
	case TUI_RES_FAILED:  return 'F';
	case TUI_RES_UNDONE:  return 'U';
	default:              return ' ';
	}
}

static const char sev_letter[VA_SEV_COUNT] = { 'E', 'W', 'I' };

/* ------------------------------------------------------------------ primitives */

/* Blank @w columns at (@y, @x) in @attr. */
static void fill(int y, int x, int w, attr_t attr)
{
	if (w <= 0 || y < 0 || y >= LINES)
		return;
	attrset(attr);
	mvhline(y, x, ' ', w);
	attrset(A_NORMAL);
}

/*
 * Draw @c at (@y, @x) in at most @w columns, shortened as @mode says.
 * Return: the columns used.
 */
static int put_cells(int y, int x, int w, const struct tui_cells *c, enum tui_trunc mode, attr_t attr)
{
	size_t from, to;
	bool cut;
	int used = 0;

	if (w <= 0 || y < 0 || y >= LINES || x >= COLS)
		return 0;
	if (x + w > COLS)
		w = COLS - x;
	cut = tui_cells_fit(c, w, mode, &from, &to);
	attrset(attr);
	move(y, x);
	if (cut && mode == TUI_TRUNC_LEFT) {
		int dots = w < 3 ? w : 3;

		addnstr("...", dots);
		used += dots;
	}
	if (to > from) {
		addnwstr(c->wc + from, (int)(to - from));
		used += tui_cells_width(c, from, to);
	}
	if (cut && mode == TUI_TRUNC_END && w > 0) {
		addch('~');
		used++;
	}
	attrset(A_NORMAL);
	return used;
}

/* Draw our own text (ASCII) at (@y, @x) in at most @w columns. */
static int put_text(int y, int x, int w, const char *s, attr_t attr)
{
	tui_cells_reset(&scratch);
	tui_cells_ascii(&scratch, s);
	return put_cells(y, x, w, &scratch, TUI_TRUNC_END, attr);
}

/* Draw bytes (a name) at (@y, @x) in at most @w columns. */
static int put_name(const struct tui_ui *u, int y, int x, int w, const char *s, size_t len,
		    enum tui_trunc mode, attr_t attr)
{
	tui_cells_reset(&scratch);
	tui_cells_bytes(&scratch, s, len, u->utf8);
	return put_cells(y, x, w, &scratch, mode, attr);
}

/* A box with a title on its top border; the inside is cleared. */
static void box_at(int y, int x, int h, int w, const char *title)
{
	if (h < 2 || w < 2)
		return;
	for (int r = y; r < y + h; r++)
		fill(r, x, w, A_NORMAL);
	mvaddch(y, x, ACS_ULCORNER);
	mvhline(y, x + 1, ACS_HLINE, w - 2);
	mvaddch(y, x + w - 1, ACS_URCORNER);
	mvvline(y + 1, x, ACS_VLINE, h - 2);
	mvvline(y + 1, x + w - 1, ACS_VLINE, h - 2);
	mvaddch(y + h - 1, x, ACS_LLCORNER);
	mvhline(y + h - 1, x + 1, ACS_HLINE, w - 2);
	mvaddch(y + h - 1, x + w - 1, ACS_LRCORNER);
	if (title && w > 6) {
		put_text(y, x + 2, 1, " ", A_NORMAL);
		int n = put_text(y, x + 3, w - 6, title, A_BOLD);
		put_text(y, x + 3 + n, 1, " ", A_NORMAL);
	}
}

/* "1,234,567" */
static const char *group(uint64_t v, char *buf, size_t size)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), o = 0;

	for (int i = 0; i < n && (size_t)o + 2 < size; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

/* "1:05" or "1:02:03" */
static const char *clock_text(double secs, char *buf, size_t size)
{
	unsigned long s = secs > 0 ? (unsigned long)secs : 0;

	if (s >= 3600)
		snprintf(buf, size, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, size, "%lu:%02lu", s / 60, s % 60);
	return buf;
}

/* ------------------------------------------------------------------ kinds */

const char *tui_kind_abbrev(enum va_kind k)
{
	static char abbr[VA_KIND_COUNT][12];
	const char *name;
	size_t n = 0;

	if ((unsigned)k >= VA_KIND_COUNT)
		return "?";
	if (abbr[k][0])
		return abbr[k];
	name = va_kind_name(k);
	for (const char *p = name; *p && n + 1 < sizeof(abbr[k]); p++) {
		if (p == name || p[-1] == '-')
			abbr[k][n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	}
	abbr[k][n] = '\0';
	return abbr[k];
}

/* The kind names of @it ("a,b" for a plan action with several). */
static void kinds_text(const struct tui_item *it, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	if (!it->from_plan || !it->kinds) {
		snprintf(buf, size, "%s", va_kind_name(it->kind) ? va_kind_name(it->kind) : "?");
		return;
	}
	for (int k = 0; k < VA_KIND_COUNT && len + 1 < size; k++) {
		if (!(it->kinds & VA_KIND_BIT(k)))
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "", va_kind_name(k));
	}
}

/* ------------------------------------------------------------------ layout */

void tui_layout(struct tui_ui *u)
{
	struct tui_layout *L = &u->lay;
	int rows = u->rows, avail, want, cap, list_min = 4;

	memset(L, 0, sizeof(*L));
	L->too_small = rows < 12 || u->cols < 40;
	L->header_y = 0;
	L->bar_y = rows - 1;
	L->status_y = rows - 2;
	avail = rows - 3;
	want = (int)(u->m->nguests < 1000 ? u->m->nguests : 1000) + 2;
	cap = rows / 4 > 3 ? rows / 4 : 3;
	L->summary_h = want < cap ? want : cap;
	L->detail_h = rows * 3 / 10;
	if (L->detail_h < 4)
		L->detail_h = 4;
	if (L->detail_h > 14)
		L->detail_h = 14;
	while (avail - L->summary_h - L->detail_h < list_min && L->detail_h > 3)
		L->detail_h--;
	while (avail - L->summary_h - L->detail_h < list_min && L->summary_h > 2)
		L->summary_h--;
	L->summary_y = 1;
	L->list_y = L->summary_y + L->summary_h;
	L->list_h = avail - L->summary_h - L->detail_h;
	if (L->list_h < 2)
		L->list_h = 2;
	L->detail_y = L->list_y + L->list_h;
}

size_t tui_list_rows(const struct tui_ui *u)
{
	return u->lay.list_h > 1 ? (size_t)u->lay.list_h - 1 : 1;
}

/* ------------------------------------------------------------------ header */

static void filter_text(const struct tui_ui *u, const struct tui_filter *f, struct dbuf *b)
{
	size_t start = b->len;

	if (f->selectable_only)
		dbuf_adds(b, " changeable");
	if (f->severities) {
		dbuf_adds(b, " sev=");
		for (int s = 0, n = 0; s < VA_SEV_COUNT; s++)
			if (f->severities & (1u << s))
				dbuf_addf(b, "%s%s", n++ ? "," : "", va_severity_name(s));
	}
	if (f->kinds) {
		dbuf_adds(b, " kind=");
		for (int k = 0, n = 0; k < VA_KIND_COUNT; k++)
			if (f->kinds & VA_KIND_BIT(k))
				dbuf_addf(b, "%s%s", n++ ? "," : "", tui_kind_abbrev(k));
	}
	if (f->by_guest) {
		struct tui_cells c = TUI_CELLS_INIT;

		dbuf_adds(b, " guest=");
		if (!f->guest) {
			dbuf_adds(b, "(none)");
		} else {
			/* the guest name, escaped as the screen shows it, in ASCII */
			tui_cells_bytes(&c, f->guest, f->guest_len, false);
			for (size_t i = 0; i < c.n; i++)
				dbuf_addc(b, (char)c.wc[i]);
			tui_cells_release(&c);
		}
	}
	(void)u;
	if (b->len == start)
		dbuf_adds(b, " none");
}

static void draw_header(struct tui_ui *u)
{
	const struct tui_session *s = u->s;
	struct dbuf b = DBUF_INIT;
	char n1[32], n2[32];
	int x;

	fill(0, 0, u->cols, attr_title(u) | A_BOLD);
	dbuf_adds(&b, " vaudit console  ");
	if (s->plan)
		dbuf_adds(&b, "plan ");
	else if (s->image)
		dbuf_adds(&b, "image ");
	x = put_text(0, 0, u->cols, dbuf_str(&b), attr_title(u) | A_BOLD);
	if (s->plan) {
		x += put_name(u, 0, x, u->cols / 2 - x, s->plan, strlen(s->plan), TUI_TRUNC_LEFT, attr_title(u) | A_BOLD);
	} else if (s->image) {
		x += put_name(u, 0, x, u->cols / 2 - x, s->image, strlen(s->image), TUI_TRUNC_LEFT,
			      attr_title(u) | A_BOLD);
	} else {
		for (size_t i = 0; i < s->nroots && x < u->cols / 2; i++) {
			x += put_name(u, 0, x, u->cols / 2 - x, s->roots[i], strlen(s->roots[i]),
				      TUI_TRUNC_LEFT, attr_title(u) | A_BOLD);
			x += put_text(0, x, 1, " ", attr_title(u));
		}
	}
	dbuf_setlen(&b, 0);
	dbuf_addf(&b, "  %s findings  %s selected", group(u->m->nitems, n1, sizeof(n1)),
		  group(u->m->nselected, n2, sizeof(n2)));
	if (u->nerrors)
		dbuf_addf(&b, "  %s msgs", group(u->nerrors, n1, sizeof(n1)));
	dbuf_addc(&b, ' ');
	put_text(0, x, u->cols - x, dbuf_str(&b), attr_title(u));
	dbuf_release(&b);
}

/* ------------------------------------------------------------------ summary */

static int digits(uint64_t v)
{
	int n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static void put_count(const struct tui_ui *u, int y, int x, int w, uint64_t v, attr_t attr)
{
	char buf[32];

	if (v)
		snprintf(buf, sizeof(buf), "%*llu", w, (unsigned long long)v);
	else
		snprintf(buf, sizeof(buf), "%*s", w, ".");
	put_text(y, x, w, buf, v ? attr : A_NORMAL);
	(void)u;
}

static void draw_summary(struct tui_ui *u)
{
	const struct tui_model *m = u->m;
	const struct tui_layout *L = &u->lay;
	int y = L->summary_y, gw = 12, sevw[VA_SEV_COUNT], x, kx;
	int kcol[VA_KIND_COUNT], kw[VA_KIND_COUNT], nk = 0, hidden = 0;
	uint32_t sev_total[VA_SEV_COUNT] = { 0 };
	size_t vis, ng = m->nguests;
	char buf[320];
	attr_t head = u->focus == TUI_PANE_SUMMARY ? A_BOLD | A_REVERSE : A_BOLD | A_UNDERLINE;

	if (L->summary_h < 2)
		return;
	for (size_t g = 0; g < ng; g++) {
		int w;

		tui_cells_reset(&scratch);
		if (m->guests[g].name)
			tui_cells_bytes(&scratch, m->guests[g].name, m->guests[g].len, u->utf8);
		else
			tui_cells_ascii(&scratch, "(no guest)");
		w = scratch.width + 1;
		if (w > gw)
			gw = w;
	}
	/* a shared file counts in each of its guests, and once in all */
	for (int s = 0; s < VA_SEV_COUNT; s++)
		sev_total[s] = m->total_sev[s];
	if (gw > 20)
		gw = 20;
	if (gw > u->cols / 4)
		gw = u->cols / 4;
	for (int s = 0; s < VA_SEV_COUNT; s++) {
		static const char *const head_txt[VA_SEV_COUNT] = { "err", "warn", "info" };
		int d = digits(sev_total[s]), h = (int)strlen(head_txt[s]);

		sevw[s] = (d > h ? d : h) + 1;
	}

	/* column header */
	fill(y, 0, u->cols, head);
	vis = (size_t)L->summary_h - 2;
	if (ng > vis && vis > 0) {
		if (u->summary_top > ng - vis)
			u->summary_top = ng - vis;
		snprintf(buf, sizeof(buf), "guests %zu-%zu/%zu", u->summary_top + 1, u->summary_top + vis, ng);
	} else {
		u->summary_top = 0;
		snprintf(buf, sizeof(buf), "guests");
	}
	put_text(y, 0, gw + 3, buf, head);
	x = gw;
	if ((int)strlen(buf) >= gw)
		x = (int)strlen(buf) + 1;
	{
		static const char *const head_txt[VA_SEV_COUNT] = { "err", "warn", "info" };

		for (int s = 0; s < VA_SEV_COUNT; s++) {
			snprintf(buf, sizeof(buf), "%*s", sevw[s], head_txt[s]);
			put_text(y, x, sevw[s], buf, head);
			x += sevw[s];
		}
	}
	x += 2;
	kx = x;
	for (int k = 0; k < VA_KIND_COUNT; k++) {
		int w;

		if (!m->total[k])
			continue;
		w = (int)strlen(tui_kind_abbrev(k));
		if (digits(m->total[k]) > w)
			w = digits(m->total[k]);
		w = w > 30 ? 31 : w + 1;
		if (x + w > u->cols - 2) {
			hidden++;
			continue;
		}
		kcol[nk] = k;
		kw[nk++] = w;
		snprintf(buf, sizeof(buf), "%*.11s", w, tui_kind_abbrev(k));      /* abbreviations are short */
		put_text(y, x, w, buf, head);
		x += w;
	}
	if (hidden) {
		snprintf(buf, sizeof(buf), " +%d", hidden);
		put_text(y, u->cols - (int)strlen(buf), (int)strlen(buf), buf, head);
	}

	/* guest rows */
	for (size_t r = 0; r < vis; r++) {
		size_t g = u->summary_top + r;
		const struct tui_guest *gu;
		int yy = y + 1 + (int)r;

		if (g >= ng) {
			if (r == 0 && ng == 0)
				put_text(yy, 1, u->cols - 1, u->state == TUI_ST_SCANNING ? "(scanning)" : "(no findings)",
					 A_NORMAL);
			continue;
		}
		gu = &m->guests[g];
		if (gu->name)
			put_name(u, yy, 0, gw - 1, gu->name, gu->len, TUI_TRUNC_END, A_NORMAL);
		else
			put_text(yy, 0, gw - 1, "(no guest)", A_NORMAL);
		x = gw;
		if (x < kx - 2 - sevw[0] - sevw[1] - sevw[2])
			x = kx - 2 - sevw[0] - sevw[1] - sevw[2];
		for (int s = 0; s < VA_SEV_COUNT; s++) {
			put_count(u, yy, x, sevw[s], gu->by_sev[s], attr_sev(u, s));
			x += sevw[s];
		}
		put_text(yy, x + 1, 1, "|", A_NORMAL);
		x = kx;
		for (int i = 0; i < nk; i++) {
			put_count(u, yy, x, kw[i], gu->count[kcol[i]], attr_sev(u, va_kind_severity(kcol[i])));
			x += kw[i];
		}
	}

	/* total row */
	{
		int yy = y + L->summary_h - 1;

		put_text(yy, 0, gw - 1, "all", A_BOLD);
		x = kx - 2 - sevw[0] - sevw[1] - sevw[2];
		for (int s = 0; s < VA_SEV_COUNT; s++) {
			put_count(u, yy, x, sevw[s], sev_total[s], attr_sev(u, s) | A_BOLD);
			x += sevw[s];
		}
		put_text(yy, x + 1, 1, "|", A_NORMAL);
		x = kx;
		for (int i = 0; i < nk; i++) {
			put_count(u, yy, x, kw[i], m->total[kcol[i]], attr_sev(u, va_kind_severity(kcol[i])) | A_BOLD);
			x += kw[i];
		}
	}
}

/* ------------------------------------------------------------------ list */

static int kind_width(const struct tui_ui *u)
{
	int w = (u->cols - 8) / 4;

	return w < 12 ? 12 : w > 29 ? 29 : w;
}

static void draw_list(struct tui_ui *u)
{
	const struct tui_model *m = u->m;
	const struct tui_layout *L = &u->lay;
	size_t rows = tui_list_rows(u);
	int kw = kind_width(u), px = 4 + 1 + 1 + 1 + kw + 1;
	bool focus = u->focus == TUI_PANE_LIST;
	attr_t head = focus ? A_BOLD | A_REVERSE : A_BOLD | A_UNDERLINE;
	struct dbuf b = DBUF_INIT;
	char n1[32], n2[32], n3[32];
	char kinds[256];

	/* clamp the cursor and the first row */
	if (m->nshown == 0)
		u->cursor = 0;
	else if (u->cursor >= m->nshown)
		u->cursor = m->nshown - 1;
	if (u->top > u->cursor)
		u->top = u->cursor;
	if (u->cursor >= u->top + rows)
		u->top = u->cursor - rows + 1;
	if (m->nshown > rows && u->top > m->nshown - rows)
		u->top = m->nshown - rows;
	if (m->nshown <= rows)
		u->top = 0;

	/* title */
	fill(L->list_y, 0, u->cols, head);
	dbuf_addf(&b, "Findings %s/%s", m->nshown ? group(u->cursor + 1, n1, sizeof(n1)) : "0",
		  group(m->nshown, n2, sizeof(n2)));
	if (m->nshown != m->nitems)
		dbuf_addf(&b, " (of %s)", group(m->nitems, n3, sizeof(n3)));
	dbuf_adds(&b, "  filter:");
	filter_text(u, &m->filter, &b);
	put_text(L->list_y, 0, u->cols, dbuf_str(&b), head);
	dbuf_release(&b);

	for (size_t r = 0; r < rows; r++) {
		size_t row = u->top + r;
		int y = L->list_y + 1 + (int)r;
		const struct tui_item *it;
		attr_t base = A_NORMAL;
		char mark[8];

		if (row >= m->nshown) {
			if (r == 0) {
				const char *what = u->state == TUI_ST_SCANNING ? "(scanning...)" :
						   m->nitems ? "(no finding matches the filter: f changes it)" :
						   "(no findings)";
				put_text(y, 2, u->cols - 2, what, A_NORMAL);
			}
			continue;
		}
		it = tui_model_item(m, row);
		if (!it)
			continue;
		if (row == u->cursor)
			base = focus ? A_REVERSE : A_UNDERLINE;
		fill(y, 0, u->cols, base);
		put_text(y, 0, 3, it->blocked ? " ! " : !it->selectable ? " - " : it->selected ? "[x]" : "[ ]",
			 base | (it->selected ? A_BOLD : A_NORMAL));
		mark[0] = result_letter(it->result);
		mark[1] = '\0';
		put_text(y, 3, 1, mark, base | attr_result(u, it->result));
		if (it->severity < VA_SEV_COUNT) {
			char sl[2] = { sev_letter[it->severity], '\0' };

			put_text(y, 5, 1, sl, base | attr_sev(u, it->severity));
		}
		kinds_text(it, kinds, sizeof(kinds));
		put_text(y, 7, kw, kinds, base | attr_sev(u, it->severity));
		if (it->line) {
			/* a configuration finding: FILE:LINE */
			struct dbuf pl = DBUF_INIT;

			if (dbuf_add(&pl, it->where.path, it->where.path_len) == 0 &&
			    dbuf_addf(&pl, ":%u", it->line) == 0)
				put_name(u, y, px, u->cols - px, pl.buf, pl.len, TUI_TRUNC_LEFT, base);
			dbuf_release(&pl);
		} else {
			put_name(u, y, px, u->cols - px, it->where.path, it->where.path_len, TUI_TRUNC_LEFT,
				 base);
		}
	}
}

/* ------------------------------------------------------------------ detail */

/* One detail line: a label and a range of a run. */
struct dline {
	const char *label;
	const struct tui_cells *c;
	size_t from, to;
	attr_t attr;
	enum tui_trunc mode;        /* when the whole run is drawn and too wide */
};

/* Lines of the detail pane, the help or the message log, rebuilt every frame. */
struct dlines {
	struct dline *v;
	size_t n, cap;
	struct tui_cells **runs;    /* a pool of runs that never move, reused */
	size_t nruns, capruns;
};

static struct dlines dl;

static struct tui_cells *new_run(void)
{
	if (dl.nruns == dl.capruns) {
		size_t cap = dl.capruns ? 2 * dl.capruns : 32;
		struct tui_cells **r = realloc(dl.runs, cap * sizeof(*r));

		if (!r)
			return NULL;
		dl.runs = r;
		for (size_t i = dl.capruns; i < cap; i++) {
			if (!(r[i] = calloc(1, sizeof(*r[i])))) {
				cap = i;
				break;
			}
		}
		if (cap == dl.capruns)
			return NULL;
		dl.capruns = cap;
	}
	tui_cells_reset(dl.runs[dl.nruns]);
	return dl.runs[dl.nruns++];
}

static void add_line_mode(const char *label, const struct tui_cells *c, size_t from, size_t to, attr_t attr,
			  enum tui_trunc mode)
{
	if (dl.n == dl.cap) {
		size_t cap = dl.cap ? 2 * dl.cap : 64;
		struct dline *v = realloc(dl.v, cap * sizeof(*v));

		if (!v)
			return;
		dl.v = v;
		dl.cap = cap;
	}
	dl.v[dl.n++] = (struct dline){ label, c, from, to, attr, mode };
}

static void add_line(const char *label, const struct tui_cells *c, size_t from, size_t to, attr_t attr)
{
	add_line_mode(label, c, from, to, attr, TUI_TRUNC_END);
}

/* Add run @c under @label, wrapped at @width (or cut as @mode says, when !@wrap). */
static void add_wrapped(const char *label, const struct tui_cells *c, int width, bool wrap,
			enum tui_trunc mode, attr_t attr)
{
	size_t i = 0;

	if (!wrap || c->width <= width) {
		add_line_mode(label, c, 0, c->n, attr, mode);
		return;
	}
	while (i < c->n) {
		size_t end = tui_cells_wrap(c, i, width);

		add_line(label, c, i, end, attr);
		label = "";
		i = tui_cells_skip_spaces(c, end);
	}
}

/* ext2 names, then the 2.6 vserver bits by their vserver names. */
static void flag_names(uint32_t flags, unsigned known, char *buf, size_t size)
{
	uint32_t ext2 = known & VA_KNOWN_VS26 ? flags & ~VA_VS26_MASK : flags;
	size_t n, len;
	const struct va_flag *t = va_flag_table(&n);

	len = va_flags_names(ext2, buf, size);
	if (len >= size)
		return;
	if (known & VA_KNOWN_VS26) {
		for (size_t i = 0; i < n && len < size; i++) {
			if (t[i].enc != VA_ENC_VS26 || !(t[i].bits & VA_VS26_MASK) || (flags & t[i].bits) != t[i].bits)
				continue;
			len += (size_t)snprintf(buf + len, size - len, "%s%s(2.6)", len ? "," : "", t[i].name);
		}
	}
	if (len == 0)
		snprintf(buf, size, "none");
}

static void state_text(struct tui_cells *c, uint32_t flags, unsigned known, uint32_t mode, bool show_mode)
{
	char letters[VA_FLAGS_LETTERS_MAX], vs[8], names[512];

	if (!known) {
		tui_cells_ascii(c, "flags not known");
	} else {
		flag_names(flags, known, names, sizeof(names));
		tui_cells_printf(c, "0x%08x %s %s %s", flags, va_flags_letters_if(flags, true, letters),
				 va_vsattr_letters(flags, known & VA_KNOWN_EXT2, known & VA_KNOWN_VS26, vs), names);
	}
	if (show_mode)
		tui_cells_printf(c, "  mode %04o", mode & 07777);
}

static const char *type_name(uint32_t mode)
{
	if (S_ISDIR(mode))
		return "directory";
	if (S_ISREG(mode))
		return "file";
	if (S_ISLNK(mode))
		return "symlink";
	return "special";
}

/* The manual fix of a kind no repair carries out, or NULL. */
static const char *manual_fix(enum va_kind k)
{
	switch (k) {
	case VA_KIND_SHARED_SECRET:
		return "give each guest a private copy (journaled; vaudit --undo takes it back): where "
		       "vunify linked it, vunify --manually -R DIR '' OTHERDIR '' with the directory of "
		       "this name and of another (vunify -R GUEST reverts all GUEST shares); where it is "
		       "linked to a hash store, vhashify --revert PATH; then add ~PATH to the guests' "
		       "exclude lists so that vunify and vhashify leave it alone";
	case VA_KIND_UNIFY_LEFTOVER:
		return "compare it with NAME beside it; when NAME is right, remove the backup by hand "
		       "(vaudit never removes a file)";
	case VA_KIND_TAG_ON_SHARED:
		return "set the xid tag of the shared inode to 0 (chxid 0 PATH on a vserver kernel, or "
		       "debugfs on the unmounted image)";
	case VA_KIND_HASH_UNPROTECTED:
		return "vhashify sets immutable+iunlink on the store's entries and gives the store its "
		       "barrier: run it again on the store";
	case VA_KIND_BARRIER_UNVERIFIED:
		return "read the 2.6 barrier bit: vaudit --image on the unmounted filesystem, or run on a "
		       "vserver kernel";
	case VA_KIND_GUEST_RUNNING:
		return "stop the guest (vserver NAME stop) before repairing its files, or repair with --force";
	case VA_KIND_CONFIG_INVALID:
	case VA_KIND_CONFIG_DUPLICATE_CONTEXT:
	case VA_KIND_CONFIG_CONTEXT_RANGE:
	case VA_KIND_CONFIG_VDIR_MISSING:
	case VA_KIND_CONFIG_REFSERVER_INVALID:
	case VA_KIND_CONFIG_EXCLUDE_QUIRK:
	case VA_KIND_CONFIG_NONAMESPACE_NO_BARRIER:
	case VA_KIND_CONFIG_VSHELPER_ACTION:
	case VA_KIND_CONFIG_HASH_CROSS_DEVICE:
	case VA_KIND_CONFIG_FSTAB_INVALID:
	case VA_KIND_CONFIG_VMOUNT_INVALID:
		return "edit the file at the line shown (see vserver-config(5)); vaudit --list shows how "
		       "the configuration is read";
	case VA_KIND_CONFIG_FSTAB_UNSAFE:
		return "edit the fstab line shown: bind a tree no guest owns, read-only (ro), with no "
		       "secrets below it, to a destination without symlinks (vserver-config(5), FSTAB FILES)";
	default:
		return NULL;
	}
}

static void build_detail(const struct tui_ui *u, const struct tui_item *it, int width)
{
	struct tui_cells *c;
	bool path_cut;
	size_t from, to;

	dl.n = 0;
	dl.nruns = 0;
	if (!it) {
		if ((c = new_run())) {
			tui_cells_ascii(c, u->m->nitems ? "no finding is shown" : "no finding yet");
			add_line("", c, 0, c->n, A_NORMAL);
		}
		return;
	}

	/* Path: one line (its end); the whole path at the bottom if cut */
	if (!(c = new_run()))
		return;
	tui_cells_bytes(c, it->where.path, it->where.path_len, u->utf8);
	if (it->line)
		tui_cells_printf(c, ":%u", it->line);
	path_cut = tui_cells_fit(c, width, TUI_TRUNC_LEFT, &from, &to);
	add_wrapped("Path", c, width, false, TUI_TRUNC_LEFT, A_BOLD);

	/* a finding about the configuration names a file and a line, no inode */
	if (!it->ino && !it->from_plan) {
		if ((c = new_run())) {
			tui_cells_ascii(c, "the configuration");
			if (it->line)
				tui_cells_printf(c, ", line %u", it->line);
			if (it->where.guest) {
				tui_cells_ascii(c, "  guest ");
				tui_cells_bytes(c, it->where.guest, it->where.guest_len, u->utf8);
			}
			add_wrapped("Where", c, width, true, TUI_TRUNC_END, A_NORMAL);
		}
	} else if ((c = new_run())) {
		/* identity */
		tui_cells_printf(c, "%llu", (unsigned long long)it->ino);
		/* a plan records neither the link count nor the file type */
		if (!it->from_plan)
			tui_cells_printf(c, "  links %u", it->nlink);
		if (it->mode & S_IFMT)
			tui_cells_printf(c, "  %s %04o", type_name(it->mode), it->mode & 07777);
		else
			tui_cells_printf(c, "  mode %04o", it->mode & 07777);
		if (it->gen_known)
			tui_cells_printf(c, "  gen %u", it->gen);
		if (it->where.guest) {
			tui_cells_ascii(c, "  guest ");
			tui_cells_bytes(c, it->where.guest, it->where.guest_len, u->utf8);
		} else if (!it->from_plan) {
			tui_cells_ascii(c, "  no guest");
		}
		if (it->nguests > 1)
			tui_cells_printf(c, " (%zu guests)", it->nguests);
		if (it->line)
			tui_cells_printf(c, "  line %u", it->line);
		add_wrapped("Inode", c, width, true, TUI_TRUNC_END, A_NORMAL);
	}

	/* current -> proposed (not for the configuration) */
	if ((it->ino || it->from_plan) && (c = new_run())) {
		bool mode_changes = it->has_proposal && it->new_mode != it->mode;

		state_text(c, it->flags, it->flags_known, it->mode, mode_changes);
		add_wrapped("Flags", c, width, true, TUI_TRUNC_END, A_NORMAL);
		if ((c = new_run())) {
			if (it->has_proposal)
				state_text(c, it->new_flags, it->flags_known ? it->flags_known : VA_KNOWN_EXT2 | VA_KNOWN_VS26,
					   it->new_mode, mode_changes);
			else
				tui_cells_ascii(c, "no change proposed");
			if (it->blocked) {
				tui_cells_ascii(c, "  (cannot be selected: ");
				tui_cells_ascii(c, it->blocked);
				tui_cells_ascii(c, ")");
			} else if (it->changed) {
				tui_cells_ascii(c, "  (applied)");
			} else if (it->has_proposal && !it->selectable) {
				tui_cells_ascii(c, "  (not selectable: no repair carries it out)");
			}
			add_wrapped("  ->", c, width, true, TUI_TRUNC_END, it->has_proposal ? A_BOLD : A_NORMAL);
		}
	}

	/* the result of the last apply or undo */
	if (it->result != TUI_RES_NONE && (c = new_run())) {
		tui_cells_ascii(c, tui_result_word(it->result));
		if (it->result_why) {
			tui_cells_ascii(c, ": ");
			tui_cells_bytes(c, it->result_why, strlen(it->result_why), u->utf8);
		} else if (it->result == TUI_RES_DONE) {
			tui_cells_ascii(c, ": the inode has the proposed state now");
		} else if (it->result == TUI_RES_UNDONE) {
			tui_cells_ascii(c, ": the inode is back in the state above");
		}
		add_wrapped("Result", c, width, true, TUI_TRUNC_END, attr_result(u, it->result) | A_BOLD);
	}

	/* why it matters, with the kind and its severity */
	if (it->from_plan && it->kinds) {
		for (int k = 0; k < VA_KIND_COUNT; k++) {
			if (!(it->kinds & VA_KIND_BIT(k)) || !(c = new_run()))
				continue;
			tui_cells_printf(c, "%s (%s): %s", va_kind_name(k), va_severity_name(va_kind_severity(k)),
					 va_kind_why(k));
			add_wrapped(k == (int)it->kind ? "Why" : "", c, width, true, TUI_TRUNC_END, A_NORMAL);
		}
		if ((c = new_run())) {
			tui_cells_ascii(c, "from the plan");
			add_line("", c, 0, c->n, A_NORMAL);
		}
	} else if ((c = new_run())) {
		tui_cells_printf(c, "%s (%s): %s", va_kind_name(it->kind) ? va_kind_name(it->kind) : "?",
				 va_severity_name(it->severity), va_kind_why(it->kind) ? va_kind_why(it->kind) : "");
		add_wrapped("Why", c, width, true, TUI_TRUNC_END, A_NORMAL);
	}
	if (it->detail && (c = new_run())) {
		tui_cells_bytes(c, it->detail, strlen(it->detail), u->utf8);
		add_wrapped("Detail", c, width, true, TUI_TRUNC_END, A_NORMAL);
	}
	/* what to do by hand where no repair does it */
	if (!it->has_proposal && manual_fix(it->kind) && (c = new_run())) {
		tui_cells_ascii(c, manual_fix(it->kind));
		add_wrapped("Fix", c, width, true, TUI_TRUNC_END, A_NORMAL);
	}

	/* every other name (a file of the configuration has none) */
	if ((it->ino || it->from_plan) && (c = new_run())) {
		if (it->nothers)
			tui_cells_printf(c, "%zu other name%s:", it->nothers, it->nothers == 1 ? "" : "s");
		else if (it->nlink > 1)
			tui_cells_printf(c, "no other name found in the audited tree (%u links)", it->nlink);
		else
			tui_cells_ascii(c, "no other name");
		add_wrapped("Names", c, width, true, TUI_TRUNC_END, A_NORMAL);
	}
	for (size_t i = 0; i < it->nothers && i < 10000; i++) {
		if (!(c = new_run()))
			break;
		tui_cells_bytes(c, it->others[i].path, it->others[i].path_len, u->utf8);
		add_wrapped("", c, width, false, TUI_TRUNC_LEFT, A_NORMAL);
	}
	if (it->nothers > 10000 && (c = new_run())) {
		tui_cells_printf(c, "... and %zu more", it->nothers - 10000);
		add_line("", c, 0, c->n, A_NORMAL);
	}
	if (path_cut && (c = new_run())) {
		tui_cells_bytes(c, it->where.path, it->where.path_len, u->utf8);
		add_wrapped("Full", c, width, true, TUI_TRUNC_END, A_NORMAL);
	}
}

static void draw_detail(struct tui_ui *u)
{
	const struct tui_layout *L = &u->lay;
	const struct tui_item *it = tui_model_item(u->m, u->cursor);
	int width = u->cols - LABEL_W, y;
	bool focus = u->focus == TUI_PANE_DETAIL;
	attr_t head = focus ? A_BOLD | A_REVERSE : A_BOLD | A_UNDERLINE;
	size_t vis = L->detail_h > 1 ? (size_t)L->detail_h - 1 : 0;
	char buf[96];

	if (u->m->nshown == 0)
		it = NULL;
	build_detail(u, it, width);
	u->detail_lines = dl.n;
	if (dl.n <= vis)
		u->detail_top = 0;
	else if (u->detail_top > dl.n - vis)
		u->detail_top = dl.n - vis;

	fill(L->detail_y, 0, u->cols, head);
	if (dl.n > vis)
		snprintf(buf, sizeof(buf), "Detail  lines %zu-%zu/%zu%s", u->detail_top + 1, u->detail_top + vis, dl.n,
			 focus ? "" : " (Tab: scroll)");
	else
		snprintf(buf, sizeof(buf), "Detail");
	put_text(L->detail_y, 0, u->cols, buf, head);

	y = L->detail_y + 1;
	for (size_t i = 0; i < vis && u->detail_top + i < dl.n; i++, y++) {
		const struct dline *d = &dl.v[u->detail_top + i];

		put_text(y, 0, LABEL_W, d->label, A_BOLD);
		if (d->from == 0 && d->to == d->c->n) {
			put_cells(y, LABEL_W, width, d->c, d->mode, d->attr);
		} else {
			attrset(d->attr);
			move(y, LABEL_W);
			if (d->to > d->from)
				addnwstr(d->c->wc + d->from, (int)(d->to - d->from));
			attrset(A_NORMAL);
		}
	}
}

/* ------------------------------------------------------------------ status and bar */

/* " (42%)", " (~42%)" for an estimate, or "" while the total is unknown or passed. */
static const char *share_text(const struct tui_progress *p, char *buf, size_t size)
{
	buf[0] = '\0';
	if (p->total && p->entries <= p->total)
		snprintf(buf, size, " (%s%.0f%%)", p->approx ? "~" : "",
			 100.0 * (double)p->entries / (double)p->total);
	return buf;
}

static void draw_progress(struct tui_ui *u, int y)
{
	const struct tui_progress *p = &u->prog;
	double el = u->prog_valid && p->elapsed > 0 ? p->elapsed : va_clock_monotonic() - u->job_started;
	struct dbuf b = DBUF_INIT;
	char n1[32], n2[32], n3[32], t[32], pct[16];
	int x = 0;

	fill(y, 0, u->cols, A_REVERSE);
	if (u->job == TUI_JOB_SCAN || u->job == TUI_JOB_PLAN || u->job == TUI_JOB_USAGE) {
		uint64_t rate = el > 0.05 ? (uint64_t)((double)p->entries / el) : 0;

		if (u->job == TUI_JOB_PLAN)
			dbuf_addf(&b, " Loading the plan: %s items  %s", group(p->findings, n1, sizeof(n1)),
				  clock_text(el, t, sizeof(t)));
		else if (u->job == TUI_JOB_USAGE)
			dbuf_addf(&b, " Usage: %s entries  %s/s  %s  (Esc stops)  guest ",
				  group(p->entries, n1, sizeof(n1)), group(rate, n2, sizeof(n2)),
				  clock_text(el, t, sizeof(t)));
		else
			dbuf_addf(&b, " Scanning: %s entries%s  %s/s  %s  %s findings  guest ",
				  group(p->entries, n1, sizeof(n1)), share_text(p, pct, sizeof(pct)),
				  group(rate, n2, sizeof(n2)), clock_text(el, t, sizeof(t)),
				  group(p->findings, n3, sizeof(n3)));
		x = put_text(y, 0, u->cols, dbuf_str(&b), A_REVERSE);
		if (u->job == TUI_JOB_SCAN || u->job == TUI_JOB_USAGE)
			put_text(y, x, u->cols - x, p->guest[0] ? p->guest : "-", A_REVERSE | A_BOLD);
	} else {
		/* apply or undo: a bar of done/total */
		int bw = u->cols / 3, fillw;
		uint64_t total = p->total, done = p->done > p->total ? p->total : p->done;

		dbuf_addf(&b, " %s ", u->job == TUI_JOB_UNDO ? "Undoing" : "Applying");
		x = put_text(y, 0, u->cols, dbuf_str(&b), A_REVERSE | A_BOLD);
		fillw = total ? (int)((double)bw * (double)done / (double)total) : 0;
		put_text(y, x, 1, "[", A_REVERSE);
		for (int i = 0; i < bw; i++)
			put_text(y, x + 1 + i, 1, i < fillw ? "#" : ".", A_REVERSE);
		put_text(y, x + 1 + bw, 1, "]", A_REVERSE);
		x += bw + 2;
		dbuf_setlen(&b, 0);
		dbuf_addf(&b, " %s/%s  %s", group(done, n1, sizeof(n1)), group(total, n2, sizeof(n2)),
			  clock_text(el, t, sizeof(t)));
		put_text(y, x, u->cols - x, dbuf_str(&b), A_REVERSE);
	}
	dbuf_release(&b);
}

static void draw_status(struct tui_ui *u)
{
	int y = u->lay.status_y, w = u->cols;

	fill(y, 0, u->cols, A_NORMAL);
	if (u->dialog == TUI_DLG_SEARCH) {
		int x = put_text(y, 0, u->cols, "/", A_BOLD);

		tui_cells_reset(&scratch);
		tui_cells_bytes(&scratch, dbuf_str(&u->prompt), u->prompt.len, u->utf8);
		x += put_cells(y, x, u->cols - x - 1, &scratch, TUI_TRUNC_LEFT, A_NORMAL);
		put_text(y, x, 1, "_", A_BLINK);
		return;
	}
	if (u->state != TUI_ST_BROWSE) {
		draw_progress(u, y);
		return;
	}
	/* the message count, right-aligned: the scan's errors are easy to miss */
	if (u->nerrors) {
		char buf[48], n1[32];

		snprintf(buf, sizeof(buf), " %s msgs (e) ", group(u->nerrors, n1, sizeof(n1)));
		w -= (int)strlen(buf);
		put_text(y, w, (int)strlen(buf), buf, attr_sev(u, VA_SEV_WARNING) | A_REVERSE);
	}
	tui_cells_reset(&scratch);
	tui_cells_bytes(&scratch, u->status, strlen(u->status), u->utf8);
	put_cells(y, 0, w - 1, &scratch, TUI_TRUNC_END, A_NORMAL);
}

static void draw_bar(struct tui_ui *u)
{
	size_t n;
	const struct tui_request_info *t = tui_request_table(&n);
	int y = u->lay.bar_y, x = 0;
	attr_t key = u->color ? COLOR_PAIR(CP_KEY) | A_BOLD : A_REVERSE;
	char kb[16];

	fill(y, 0, u->cols, A_NORMAL);
	for (size_t i = 0; i < n; i++) {
		int need;

		if (!t[i].bar)
			continue;
		tui_request_bar_key(&t[i], kb);
		need = (int)strlen(kb) + 1 + (int)strlen(t[i].bar) + 1;
		if (x + need > u->cols)
			break;
		x += put_text(y, x, u->cols - x, kb, key);
		x += put_text(y, x, u->cols - x, " ", A_NORMAL);
		x += put_text(y, x, u->cols - x, t[i].bar, A_NORMAL);
		x += put_text(y, x, u->cols - x, " ", A_NORMAL);
	}
}

/* ------------------------------------------------------------------ dialogs */

/*
 * The journal the next apply writes, named as the engine names it: the
 * --journal FILE for the first apply of the session, FILE-2.journal (or
 * FILE.2) for the second, ...; without --journal a new file in
 * /var/lib/vaudit.
 */
static void journal_text(const struct tui_ui *u, struct tui_cells *c)
{
	const char *j = u->s->journal;
	struct dbuf b = DBUF_INIT;

	if (!j) {
		tui_cells_ascii(c, "a new journal in " VA_JOURNAL_DIR);
		return;
	}
	tui_journal_numbered(&b, j, u->njournals + 1);
	tui_cells_bytes(c, dbuf_str(&b), b.len, u->utf8);
	dbuf_release(&b);
}

/* "Kinds: legacy-notail 3, legacy-barrier 1": the selected items by kind. */
static void kinds_line(const struct tui_ui *u, struct tui_cells *c)
{
	size_t count[VA_KIND_COUNT] = { 0 };
	bool first = true;

	for (size_t i = 0; i < u->m->nitems; i++) {
		const struct tui_item *it = &u->m->items[i];

		if (!it->selected)
			continue;
		for (int k = 0; k < VA_KIND_COUNT; k++)
			if (it->kinds & VA_KIND_BIT(k))
				count[k]++;
	}
	tui_cells_ascii(c, "Kinds: ");
	for (int k = 0; k < VA_KIND_COUNT; k++) {
		if (!count[k])
			continue;
		tui_cells_printf(c, "%s%s %zu", first ? "" : ", ", va_kind_name(k), count[k]);
		first = false;
	}
}

/*
 * "Left out (! rows): 2 in running guests, 5 need a 2.6 bit": the changes
 * the session cannot carry out, which no selection includes.
 * Return: false (nothing written) when there are none.
 */
static bool left_out_line(const struct tui_ui *u, struct tui_cells *c)
{
	size_t running = 0, vs26 = 0;

	for (size_t i = 0; i < u->m->nitems; i++) {
		const char *b = u->m->items[i].blocked;

		running += b == tui_blocked_running;
		vs26 += b == tui_blocked_vs26;
	}
	if (!running && !vs26)
		return false;
	tui_cells_ascii(c, "Left out (! rows):");
	if (running)
		tui_cells_printf(c, " %zu in running guests%s", running, vs26 ? "," : "");
	if (vs26)
		tui_cells_printf(c, " %zu need a 2.6 bit (--image)", vs26);
	return true;
}

static void draw_confirm(struct tui_ui *u)
{
	struct tui_cells *lines[7];
	int n = 0, w, h, y, x, path_line = -1;   /* a path keeps its end when cut */
	const char *title = "";
	char n1[32], n2[32];

	dl.nruns = 0;
	for (int i = 0; i < 7; i++)
		if (!(lines[i] = new_run()))
			return;
	switch (u->dialog) {
	case TUI_DLG_APPLY:
		title = "Apply";
		tui_cells_printf(lines[n++], "Apply %s change%s to %s inode%s?",
				 group(u->pending_items, n1, sizeof(n1)), u->pending_items == 1 ? "" : "s",
				 group(u->pending.nactions, n2, sizeof(n2)), u->pending.nactions == 1 ? "" : "s");
		kinds_line(u, lines[n++]);
		if (left_out_line(u, lines[n]))
			n++;
		tui_cells_ascii(lines[n], "Journal: ");
		journal_text(u, lines[n]);
		path_line = n++;
		if (u->scan_errors)
			tui_cells_printf(lines[n++], "Warning: %s scan error%s: entries were missed (e lists them)",
					 group(u->scan_errors, n1, sizeof(n1)), u->scan_errors == 1 ? "" : "s");
		tui_cells_ascii(lines[n++], "");
		tui_cells_ascii(lines[n++], "y applies, any other key cancels  [y/N]");
		break;
	case TUI_DLG_UNDO: {
		size_t nj = 0, changes = 0, newest = u->njournals;

		for (size_t i = 0; i < u->njournals; i++)
			if (!u->journals[i].undone) {
				nj++;
				changes += u->journals[i].changes;
				newest = i;
			}
		title = "Undo";
		tui_cells_printf(lines[n++], "Undo this session: %s change%s in %zu journal%s, newest first?",
				 group(changes, n1, sizeof(n1)), changes == 1 ? "" : "s", nj, nj == 1 ? "" : "s");
		if (newest < u->njournals) {
			tui_cells_ascii(lines[n], nj > 1 ? "Newest journal: " : "Journal: ");
			tui_cells_bytes(lines[n], u->journals[newest].path, strlen(u->journals[newest].path),
					u->utf8);
			path_line = n++;
		}
		tui_cells_ascii(lines[n++], "");
		tui_cells_ascii(lines[n++], "y undoes, any other key cancels  [y/N]");
		break;
	}
	case TUI_DLG_QUIT:
		title = "Quit";
		tui_cells_ascii(lines[n++], "A job is running: stop it and quit? [y/N]");
		tui_cells_ascii(lines[n++], "(what was changed stays journaled)");
		break;
	default:
		return;
	}
	w = 0;
	for (int i = 0; i < n; i++)
		if (lines[i]->width > w)
			w = lines[i]->width;
	w += 4;
	if (w < 30)
		w = 30;
	if (w > u->cols - 2)
		w = u->cols - 2;
	h = n + 2;
	y = (u->rows - h) / 2;
	x = (u->cols - w) / 2;
	box_at(y, x, h, w, title);
	for (int i = 0; i < n; i++)
		put_cells(y + 1 + i, x + 2, w - 4, lines[i], i == path_line ? TUI_TRUNC_LEFT : TUI_TRUNC_END,
			  i == 0 ? A_BOLD : A_NORMAL);
}

static void fm_add(struct tui_ui *u, enum tui_fm_type type, size_t value)
{
	if (u->fm_n == u->fm_cap) {
		size_t cap = u->fm_cap ? 2 * u->fm_cap : 64;
		struct tui_fm_entry *e = realloc(u->fm_entries, cap * sizeof(*e));

		if (!e)
			return;
		u->fm_entries = e;
		u->fm_cap = cap;
	}
	u->fm_entries[u->fm_n++] = (struct tui_fm_entry){ type, value };
}

void tui_fm_build(struct tui_ui *u)
{
	const struct tui_model *m = u->m;

	u->fm_n = 0;
	fm_add(u, TUI_FM_CLEAR, 0);
	fm_add(u, TUI_FM_SELECTABLE, 0);
	for (int s = 0; s < VA_SEV_COUNT; s++)
		fm_add(u, TUI_FM_SEVERITY, (size_t)s);
	for (int k = 0; k < VA_KIND_COUNT; k++)
		if (m->total[k] || (u->fm.kinds & VA_KIND_BIT(k)))
			fm_add(u, TUI_FM_KIND, (size_t)k);
	fm_add(u, TUI_FM_ANY_GUEST, 0);
	for (size_t g = 0; g < m->nguests; g++)
		fm_add(u, TUI_FM_GUEST, g);
	if (u->fm_cursor >= u->fm_n)
		u->fm_cursor = u->fm_n ? u->fm_n - 1 : 0;
}

static bool fm_guest_is(const struct tui_filter *f, const struct tui_guest *g)
{
	if (!f->by_guest)
		return false;
	if (!f->guest || !g->name)
		return !f->guest && !g->name;
	return f->guest_len == g->len && memcmp(f->guest, g->name, g->len) == 0;
}

static void draw_filter(struct tui_ui *u)
{
	const struct tui_model *m = u->m;
	int w = u->cols - 8 > 64 ? 64 : u->cols - 8, h = u->rows - 6, y = 3, x = (u->cols - w) / 2;
	size_t vis;
	char buf[160];

	tui_fm_build(u);
	if (h > (int)u->fm_n + 9)
		h = (int)u->fm_n + 9;
	box_at(y, x, h, w, "Filter");
	put_text(y + 1, x + 2, w - 4, "Space toggles, Enter applies, c clears, Esc cancels", A_NORMAL);
	vis = h > 4 ? (size_t)h - 4 : 1;
	if (u->fm_cursor < u->fm_top)
		u->fm_top = u->fm_cursor;
	if (u->fm_cursor >= u->fm_top + vis)
		u->fm_top = u->fm_cursor - vis + 1;
	for (size_t i = 0; i < vis && u->fm_top + i < u->fm_n; i++) {
		const struct tui_fm_entry *e = &u->fm_entries[u->fm_top + i];
		int yy = y + 3 + (int)i, xx = x + 2, cw = w - 4;
		attr_t a = u->fm_top + i == u->fm_cursor ? A_REVERSE : A_NORMAL;
		bool on = false;
		const char *section = "";

		switch (e->type) {
		case TUI_FM_CLEAR:
			snprintf(buf, sizeof(buf), "    clear the filter (show everything)");
			break;
		case TUI_FM_SELECTABLE:
			on = u->fm.selectable_only;
			section = "show";
			snprintf(buf, sizeof(buf), "[%c] only findings a repair can change", on ? 'x' : ' ');
			break;
		case TUI_FM_SEVERITY:
			on = u->fm.severities & (1u << e->value);
			section = "severity";
			snprintf(buf, sizeof(buf), "[%c] %s", on ? 'x' : ' ', va_severity_name(e->value));
			break;
		case TUI_FM_KIND:
			on = u->fm.kinds & VA_KIND_BIT(e->value);
			section = "kind";
			snprintf(buf, sizeof(buf), "[%c] %-4s %s (%u)", on ? 'x' : ' ', tui_kind_abbrev(e->value),
				 va_kind_name(e->value), m->total[e->value]);
			break;
		case TUI_FM_ANY_GUEST:
			on = !u->fm.by_guest;
			section = "guest";
			snprintf(buf, sizeof(buf), "(%c) any guest", on ? '*' : ' ');
			break;
		case TUI_FM_GUEST:
			on = e->value < m->nguests && fm_guest_is(&u->fm, &m->guests[e->value]);
			snprintf(buf, sizeof(buf), "(%c) ", on ? '*' : ' ');
			break;
		}
		if (i == 0 || u->fm_entries[u->fm_top + i - 1].type != e->type)
			put_text(yy, xx, 9, section, A_BOLD);
		xx += 9;
		cw -= 9;
		fill(yy, xx, cw, a);
		xx += put_text(yy, xx, cw, buf, a);
		if (e->type == TUI_FM_GUEST && e->value < m->nguests) {
			const struct tui_guest *g = &m->guests[e->value];
			uint32_t total = 0;

			if (g->name)
				xx += put_name(u, yy, xx, x + w - 2 - xx - 8, g->name, g->len, TUI_TRUNC_END, a);
			else
				xx += put_text(yy, xx, x + w - 2 - xx - 8, "(no guest)", a);
			for (int s = 0; s < VA_SEV_COUNT; s++)
				total += g->by_sev[s];
			snprintf(buf, sizeof(buf), " (%u)", total);
			put_text(yy, xx, x + w - 2 - xx, buf, a);
		}
	}
	if (u->fm_n > vis) {
		snprintf(buf, sizeof(buf), " %zu-%zu/%zu ", u->fm_top + 1,
			 u->fm_top + vis < u->fm_n ? u->fm_top + vis : u->fm_n, u->fm_n);
		put_text(y + h - 1, x + w - 2 - (int)strlen(buf), (int)strlen(buf), buf, A_NORMAL);
	}
}

/* The help: the request list, then legends.  Lines go to the dline pool. */
static void build_help(const struct tui_ui *u, int width)
{
	size_t n;
	const struct tui_request_info *t = tui_request_table(&n);
	struct tui_cells *c;
	static const char *const legend[] = {
		"",
		"List columns",
		"  [x] selected  [ ] can be selected  -  no repair proposed for it (or applied)  !  a repair this session cannot carry out (the detail says why)",
		"  result of the last apply or undo: D done  S skipped  F failed  U undone",
		"  severity: E error  W warning  I info; then the kind and the path",
		"Paths: UTF-8 names are drawn as they are; other bytes as \\xNN, \\n, \\t, \\r, \\e, and a backslash as \\\\; a path too long for the row starts with ...",
		"Flags: 0xRAW, lsattr letters, the vserver column buic (barrier, iunlink, immutable, cow; upper case = set), then names; (2.6) marks the 2.6 vserver bits",
		"Panes: Tab moves the focus: list, detail, summary; the arrows and PgUp/PgDn scroll the focused pane",
		"",
		"Summary columns: err warn info, then one column per kind found:",
	};

	dl.n = 0;
	dl.nruns = 0;
	if ((c = new_run())) {
		tui_cells_ascii(c, "Keys");
		add_line("", c, 0, c->n, A_BOLD);
	}
	for (size_t i = 0; i < n; i++) {
		if (!(c = new_run()))
			return;
		tui_cells_printf(c, "  %-10s %s", t[i].shown, t[i].help);
		/* wrap with the help text's indent */
		for (size_t j = 0; j < c->n;) {
			size_t end = tui_cells_wrap(c, j, j ? width - 13 : width);

			add_line(j ? "             " : "", c, j, end, A_NORMAL);
			j = tui_cells_skip_spaces(c, end);
		}
	}
	for (size_t i = 0; i < sizeof(legend) / sizeof(legend[0]); i++) {
		if (!(c = new_run()))
			return;
		tui_cells_ascii(c, legend[i]);
		for (size_t j = 0; j < c->n || j == 0;) {
			size_t end = c->n ? tui_cells_wrap(c, j, j ? width - 4 : width) : 0;

			add_line(j ? "    " : "", c, j, end, legend[i][0] && legend[i][0] != ' ' ? A_BOLD : A_NORMAL);
			if (!c->n)
				break;
			j = tui_cells_skip_spaces(c, end);
		}
	}
	for (int k = 0; k < VA_KIND_COUNT; k++) {
		if (!(c = new_run()))
			return;
		tui_cells_printf(c, "  %-5s %s (%s)", tui_kind_abbrev(k), va_kind_name(k),
				 va_severity_name(va_kind_severity(k)));
		add_line("", c, 0, c->n, A_NORMAL);
	}
	(void)u;
}

static void build_messages(const struct tui_ui *u, int width)
{
	struct tui_cells *c;

	dl.n = 0;
	dl.nruns = 0;
	if (u->nmsgs == 0 && (c = new_run())) {
		tui_cells_ascii(c, "no messages");
		add_line("", c, 0, c->n, A_NORMAL);
	}
	for (size_t i = 0; i < u->nmsgs; i++) {
		const char *msg = u->msgs[(u->msg_head + TUI_MSGLOG_MAX - u->nmsgs + i) % TUI_MSGLOG_MAX];

		if (!(c = new_run()))
			return;
		tui_cells_bytes(c, msg, strlen(msg), u->utf8);
		for (size_t j = 0; j < c->n;) {
			size_t end = tui_cells_wrap(c, j, j ? width - 2 : width);

			add_line(j ? "  " : "", c, j, end, A_NORMAL);
			j = tui_cells_skip_spaces(c, end);
		}
	}
}

static void draw_overlay(struct tui_ui *u)
{
	int h = u->rows - 1, vis = h - 2;
	char buf[96];

	if (u->dialog == TUI_DLG_HELP)
		build_help(u, u->cols - 4);
	else
		build_messages(u, u->cols - 4);
	u->overlay_lines = dl.n;
	if (vis < 1)
		vis = 1;
	if (dl.n <= (size_t)vis)
		u->overlay_top = 0;
	else if (u->overlay_top > dl.n - (size_t)vis)
		u->overlay_top = dl.n - (size_t)vis;
	if (u->dialog == TUI_DLG_HELP)
		snprintf(buf, sizeof(buf), "Help");
	else
		snprintf(buf, sizeof(buf), "Messages (%llu, the last %zu kept)", (unsigned long long)u->nerrors,
			 u->nmsgs);
	box_at(0, 0, h, u->cols, buf);
	for (int i = 0; i < vis && u->overlay_top + (size_t)i < dl.n; i++) {
		const struct dline *d = &dl.v[u->overlay_top + (size_t)i];
		int x = 2 + put_text(1 + i, 2, u->cols - 4, d->label, A_NORMAL);

		attrset(d->attr);
		move(1 + i, x);
		if (d->to > d->from)
			addnwstr(d->c->wc + d->from, (int)(d->to - d->from));
		attrset(A_NORMAL);
	}
	if (dl.n > (size_t)vis) {
		snprintf(buf, sizeof(buf), " %zu-%zu/%zu ", u->overlay_top + 1, u->overlay_top + (size_t)vis, dl.n);
		put_text(h - 1, u->cols - 2 - (int)strlen(buf), (int)strlen(buf), buf, A_NORMAL);
	}
}

/* ------------------------------------------------------------------ usage view */

/* The characters of the segments: they tell them apart without colours. */
static const char seg_char[TUI_SEG_COUNT] = { '#', '=', '-', '~' };

#define SIZE_W 8        /* "1023 KiB" */

static attr_t attr_seg(const struct tui_ui *u, enum tui_usage_seg seg)
{
	return u->color ? COLOR_PAIR(CP_USAGE + (int)seg) | A_REVERSE : A_NORMAL;
}

/* @n cells of segment @seg at (@y, @x).  Return: @n. */
static int put_seg(const struct tui_ui *u, int y, int x, int n, enum tui_usage_seg seg)
{
	if (n <= 0)
		return 0;
	attrset(attr_seg(u, seg));
	mvhline(y, x, (chtype)(unsigned char)seg_char[seg], n);
	attrset(A_NORMAL);
	return n;
}

/* A size right-aligned in SIZE_W columns at (@y, @x). */
static void put_size(int y, int x, uint64_t bytes, attr_t attr)
{
	char h[16], buf[24];

	snprintf(buf, sizeof(buf), "%*s", SIZE_W, tui_human_size(bytes, h));
	put_text(y, x, SIZE_W, buf, attr);
}

/* Our own text, wrapped into @w columns from row @y to row @last.  Return: the next row. */
static int put_wrapped(const struct tui_ui *u, int y, int last, int w, const char *text)
{
	tui_cells_reset(&scratch);
	tui_cells_bytes(&scratch, text, strlen(text), u->utf8);
	for (size_t j = 0; j < scratch.n && y <= last; y++) {
		size_t end = tui_cells_wrap(&scratch, j, w);

		move(y, 1);
		if (end > j)
			addnwstr(scratch.wc + j, (int)(end - j));
		j = tui_cells_skip_spaces(&scratch, end);
	}
	return y;
}

/* The columns of the view: name, total, bar, and the four parts when there is room. */
struct usage_cols {
	int name_w, bar_x, bar_w, parts_x;      /* parts_x 0: not shown */
};

static void usage_cols(const struct tui_ui *u, struct usage_cols *c)
{
	const struct va_usage *us = u->usage;
	int longest = 6;

	for (size_t i = 0; us && i < us->nguests; i++) {
		tui_cells_reset(&scratch);
		tui_cells_bytes(&scratch, us->guests[i].name, us->guests[i].name_len, u->utf8);
		if (scratch.width > longest)
			longest = scratch.width;
	}
	c->name_w = longest < 20 ? longest : 20;
	if (c->name_w > u->cols / 4)
		c->name_w = u->cols / 4;
	c->bar_x = 1 + c->name_w + 1 + SIZE_W + 1;
	c->bar_w = u->cols - c->bar_x - 1 - 4 * (SIZE_W + 1);
	c->parts_x = c->bar_x + c->bar_w + 1;
	if (c->bar_w < 10) {
		c->bar_w = u->cols - c->bar_x - 1;
		c->parts_x = 0;
	}
}

/* One row: name (or @label), total, the bar, the parts. */
static void usage_row(const struct tui_ui *u, const struct usage_cols *c, int y,
		      const struct va_usage_guest *g, const char *label, uint64_t max)
{
	int cells[TUI_SEG_COUNT], x = c->bar_x;
	const struct va_usage_part *parts[TUI_SEG_COUNT] = { &g->priv, &g->shared, &g->store, &g->reclaim };

	if (label)
		put_text(y, 1, c->name_w, label, A_BOLD);
	else
		put_name(u, y, 1, c->name_w, g->name, g->name_len, TUI_TRUNC_END, A_NORMAL);
	put_size(y, 1 + c->name_w + 1, g->all.bytes, label ? A_BOLD : A_NORMAL);
	if (!label) {
		tui_usage_bar(g, max, c->bar_w, cells);
		for (int s = TUI_SEG_PRIVATE; s <= TUI_SEG_STORE; s++)
			x += put_seg(u, y, x, cells[s], (enum tui_usage_seg)s);
		put_seg(u, y, x - cells[TUI_SEG_RECLAIM], cells[TUI_SEG_RECLAIM], TUI_SEG_RECLAIM);
	}
	for (int s = 0; c->parts_x && s < TUI_SEG_COUNT; s++)
		put_size(y, c->parts_x + s * (SIZE_W + 1), parts[s]->bytes, label ? A_BOLD : A_NORMAL);
}

static void draw_usage(struct tui_ui *u)
{
	const struct va_usage *us = u->usage;
	const struct va_usage_total *t = us ? &us->total : NULL;
	struct va_usage_guest host;
	struct usage_cols c;
	struct dbuf b = DBUF_INIT;
	int last = u->lay.status_y - 1, host_y = last - 3, vis;
	uint64_t max = 0;
	char n1[32], n2[32], h1[16], h2[16];

	/* the title: what, whose, the order, and what is going on */
	fill(0, 0, u->cols, attr_title(u));
	dbuf_adds(&b, " Usage");
	if (us)
		dbuf_addf(&b, ": %zu guest%s, by %s", us->nguests, us->nguests == 1 ? "" : "s",
			  u->usage_by_name ? "name" : "total");
	if (u->job == TUI_JOB_USAGE)
		dbuf_adds(&b, us ? " (computing again)" : " (computing)");
	else if (us && u->usage_stale)
		dbuf_adds(&b, " (an apply or undo ran since: r computes again)");
	dbuf_adds(&b, "  o sort  r again  Esc close");
	put_text(0, 0, u->cols, dbuf_str(&b), attr_title(u));
	dbuf_setlen(&b, 0);
	if (!us) {
		if (u->usage_note[0])
			put_wrapped(u, 2, last, u->cols - 2, u->usage_note);
		else if (u->job == TUI_JOB_USAGE)
			put_wrapped(u, 2, last, u->cols - 2, "Computing the usage of the guests below the ROOTs "
				    "(the status line shows the progress; Esc or q stops it).");
		else if (u->usage_next)
			put_wrapped(u, 2, last, u->cols - 2, "The usage is computed when the running job "
				    "ends (Esc or q: not at all).");
		else
			put_wrapped(u, 2, last, u->cols - 2, "No figures: r computes them.");
		dbuf_release(&b);
		return;
	}
	usage_cols(u, &c);
	/* the legend and the column heads */
	for (int s = 0, x = 1; s < TUI_SEG_COUNT; s++) {
		static const char *const name[TUI_SEG_COUNT] = {
			" private  ", " shared by guests  ", " in a store  ",
			" reclaimable (of the total)",
		};

		x += put_seg(u, 1, x, 1, (enum tui_usage_seg)s);
		x += put_text(1, x, u->cols - x, name[s], A_NORMAL);
	}
	put_text(2, 1, c.name_w, "GUEST", A_BOLD);
	put_text(2, 1 + c.name_w + 1, SIZE_W, "   TOTAL", A_BOLD);
	put_text(2, c.bar_x, c.bar_w, "scaled to the largest", A_NORMAL);
	if (c.parts_x)
		put_text(2, c.parts_x, u->cols - c.parts_x, " PRIVATE   SHARED    STORE  RECLAIM", A_BOLD);

	/* the guests: rows 3 to host_y - 2 */
	vis = host_y - 1 - 3;
	if (vis < 1)
		vis = 1;
	u->usage_rows = (size_t)vis;
	if (us->nguests <= (size_t)vis)
		u->usage_top = 0;
	else if (u->usage_top > us->nguests - (size_t)vis)
		u->usage_top = us->nguests - (size_t)vis;
	for (size_t i = 0; i < us->nguests; i++)
		if (us->guests[i].all.bytes > max)
			max = us->guests[i].all.bytes;
	for (int i = 0; i < vis && u->usage_top + (size_t)i < us->nguests; i++)
		usage_row(u, &c, 3 + i, &us->guests[u->usage_order[u->usage_top + (size_t)i]], NULL, max);
	if (!us->nguests)
		put_text(3, 1, u->cols - 2, "no guests below the ROOTs", A_NORMAL);

	/* the host: a rule ending in the rows shown, the totals, what links save, what can be
	 * reclaimed (rows host_y - 1 to host_y + 3) */
	snprintf(n1, sizeof(n1), " guests %zu-%zu/%zu", us->nguests ? u->usage_top + 1 : 0,
		 u->usage_top + (size_t)vis < us->nguests ? u->usage_top + (size_t)vis : us->nguests,
		 us->nguests);
	mvhline(host_y - 1, 0, ACS_HLINE, u->cols - (int)strlen(n1));
	put_text(host_y - 1, u->cols - (int)strlen(n1), (int)strlen(n1), n1, A_NORMAL);
	host = (struct va_usage_guest){ .all = t->all, .priv = t->priv, .shared = t->shared,
					.store = t->store, .reclaim = t->reclaim };
	usage_row(u, &c, host_y, &host, "host", 0);
	dbuf_addf(&b, "Host: each inode once, %s file%s; %s outside guests and stores",
		  group(t->all.files, n1, sizeof(n1)), t->all.files == 1 ? "" : "s",
		  tui_human_size(t->other.bytes, h1));
	if (t->errors)
		dbuf_addf(&b, "; %s entries unread: the figures are short (e lists them once the view is closed)",
			  group(t->errors, n2, sizeof(n2)));
	put_text(host_y + 1, 1, u->cols - 2, dbuf_str(&b), A_NORMAL);
	dbuf_setlen(&b, 0);
	dbuf_addf(&b, "Hard links already save %s", tui_human_size(t->copies_bytes - t->all.bytes, h1));
	put_text(host_y + 2, 1, u->cols - 2, dbuf_str(&b), A_NORMAL);
	dbuf_setlen(&b, 0);
	dbuf_addf(&b, "Reclaimable %s in %s file%s (same size, mode and owner; content not read)",
		  tui_human_size(t->reclaim.bytes, h2), group(t->reclaim.files, n2, sizeof(n2)),
		  t->reclaim.files == 1 ? "" : "s");
	put_text(host_y + 3, 1, u->cols - 2, dbuf_str(&b), A_NORMAL);
	dbuf_release(&b);
}

/* ------------------------------------------------------------------ the screen */

void tui_draw(struct tui_ui *u)
{
	erase();
	tui_layout(u);
	if (u->lay.too_small) {
		put_text(0, 0, COLS, "vaudit: the terminal is too small (40x12 at least)", A_BOLD);
		refresh();
		return;
	}
	if (u->dialog == TUI_DLG_HELP || u->dialog == TUI_DLG_MESSAGES) {
		draw_overlay(u);
		draw_bar(u);
		refresh();
		return;
	}
	if (u->dialog == TUI_DLG_USAGE) {
		draw_usage(u);
		draw_status(u);
		draw_bar(u);
		refresh();
		return;
	}
	draw_header(u);
	draw_summary(u);
	draw_list(u);
	draw_detail(u);
	draw_status(u);
	draw_bar(u);
	if (u->dialog == TUI_DLG_FILTER)
		draw_filter(u);
	else if (u->dialog == TUI_DLG_APPLY || u->dialog == TUI_DLG_UNDO || u->dialog == TUI_DLG_QUIT)
		draw_confirm(u);
	refresh();
}
