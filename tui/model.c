/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * model.c - the console's review items, selection, filter, search and
 * summary (see model.h).
 *
 * Indexes kept beside the items:
 *   byino      (dev, ino) -> the first item of that inode, and next_same[]
 *              chains the further items of the inode (first, then newest
 *              to oldest), so a result reaches them all in O(their count);
 *   guests     the summary rows, found by name through a small open
 *              addressing table (guest_index) over a hash of the bytes;
 *              the row of the items outside any guest stays last;
 *   shown      the items passing the filter, in item order.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "audit/checks.h"
#include "audit/usage.h"
#include "core/attr.h"
#include "core/dbuf.h"
#include "core/inomap.h"
#include "migrate/repair/repair.h"
#include "tui/model.h"

#define CHAIN_END UINT32_MAX

static const char *const result_words[TUI_RES_COUNT] = {
#define TUI_X_WORD(id, word) [TUI_RES_##id] = word,
	TUI_RESULTS(TUI_X_WORD)
#undef TUI_X_WORD
};

const char *tui_result_word(enum tui_result r)
{
	return (unsigned)r < TUI_RES_COUNT ? result_words[r] : "";
}

/* ------------------------------------------------------------------ items */

/* A NUL-terminated copy of @len bytes at @s (@s may be NULL when @len is 0). */
static char *dup_bytes(const char *s, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		return NULL;
	p = malloc(len + 1);
	if (p) {
		if (len)
			memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static void name_release(struct va_name *n)
{
	free(n->guest);
	free(n->path);
	memset(n, 0, sizeof(*n));
}

/* Deep copy of @src; a missing path becomes "", a missing guest stays NULL. */
static int name_copy(struct va_name *dst, const struct va_name *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->path_len = src->path ? src->path_len : 0;
	dst->path = dup_bytes(src->path, dst->path_len);
	if (!dst->path)
		return -ENOMEM;
	if (src->guest) {
		dst->guest = dup_bytes(src->guest, src->guest_len);
		if (!dst->guest) {
			name_release(dst);
			return -ENOMEM;
		}
		dst->guest_len = src->guest_len;
	}
	return 0;
}

void tui_item_release(struct tui_item *it)
{
	name_release(&it->where);
	for (size_t i = 0; i < it->nothers; i++)
		name_release(&it->others[i]);
	free(it->others);
	free(it->detail);
	free(it->result_why);
	memset(it, 0, sizeof(*it));
}

int tui_item_from_finding(struct tui_item *it, const struct va_finding *f)
{
	memset(it, 0, sizeof(*it));
	it->kind = f->kind;
	it->kinds = (unsigned)f->kind < VA_KIND_COUNT ? VA_KIND_BIT(f->kind) : 0;
	it->severity = f->severity;
	it->nguests = f->nguests;
	it->dev = f->dev;
	it->ino = f->ino;
	it->nlink = f->nlink;
	it->mode = f->mode;
	it->flags = f->flags;
	it->flags_known = f->flags_known;
	it->gen = f->gen;
	it->gen_known = f->gen_known;
	it->line = f->line;
	it->has_proposal = f->has_proposal;
	it->new_flags = f->new_flags;
	it->new_mode = f->new_mode;
	it->selectable = f->has_proposal && f->flags_known && (it->kinds & VA_REPAIR_KINDS) &&
			 (f->new_flags != f->flags || (f->new_mode & 07777) != (f->mode & 07777));
	it->result = TUI_RES_NONE;

	if (name_copy(&it->where, &f->where) < 0)
		goto nomem;
	if (f->others && f->nothers) {
		it->others = calloc(f->nothers, sizeof(*it->others));
		if (!it->others)
			goto nomem;
		for (size_t i = 0; i < f->nothers; i++) {
			if (name_copy(&it->others[i], &f->others[i]) < 0)
				goto nomem;
			it->nothers = i + 1;
		}
	}
	if (f->detail && !(it->detail = strdup(f->detail)))
		goto nomem;
	return 0;
nomem:
	tui_item_release(it);
	return -ENOMEM;
}

int tui_item_from_action(struct tui_item *it, const struct va_action *a)
{
	const struct va_name where = {
		.guest = a->guest, .guest_len = a->guest_len, .path = a->path, .path_len = a->path_len,
	};
	bool any = false;

	memset(it, 0, sizeof(*it));
	it->kinds = a->kinds;
	it->kind = (enum va_kind)0;
	it->severity = VA_SEV_INFO;
	for (unsigned k = 0; k < VA_KIND_COUNT; k++) {
		enum va_severity sev;

		if (!(a->kinds & VA_KIND_BIT(k)))
			continue;
		if (!any)
			it->kind = (enum va_kind)k;
		any = true;
		sev = va_kind_severity((enum va_kind)k);
		if (sev < it->severity)
			it->severity = sev;
	}
	it->from_plan = true;
	it->nguests = a->guest ? 1 : 0;
	it->dev = a->dev;
	it->ino = a->ino;
	it->mode = a->old_mode;
	it->flags = a->old_flags;
	/* a plan records the raw i_flags the repair compares and writes */
	it->flags_known = VA_KNOWN_EXT2 | VA_KNOWN_VS26;
	it->gen = a->gen;
	it->gen_known = a->gen_known;
	it->has_proposal = true;
	it->new_flags = a->new_flags;
	it->new_mode = a->new_mode;
	it->selectable = true;
	it->result = TUI_RES_NONE;
	if (name_copy(&it->where, &where) < 0) {
		tui_item_release(it);
		return -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------------ guest index */

struct guest_slot {
	uint32_t row1;          /* summary row + 1; 0 = empty */
	uint32_t hash;          /* low bits of the name's hash, to skip compares */
};

struct guest_index {
	struct guest_slot *slots;
	size_t cap;             /* power of two, or 0 */
	size_t count;
};

/* FNV-1a over the bytes, with a final mix so the low bits spread. */
static uint64_t hash_bytes(const char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static bool guest_is_null_row(const struct tui_model *m, size_t row)
{
	return row < m->nguests && !m->guests[row].name;
}

/* The summary row of guest @name (NULL: outside any guest), or -1. */
static ssize_t guest_find(const struct tui_model *m, const char *name, size_t len, uint64_t h)
{
	const struct guest_index *gi = m->guest_index;
	size_t i;

	if (!name)
		return m->nguests && guest_is_null_row(m, m->nguests - 1) ? (ssize_t)m->nguests - 1 : -1;
	if (!gi || !gi->cap)
		return -1;
	for (i = h & (gi->cap - 1); gi->slots[i].row1; i = (i + 1) & (gi->cap - 1)) {
		const struct tui_guest *g = &m->guests[gi->slots[i].row1 - 1];

		if (gi->slots[i].hash == (uint32_t)h && g->len == len && memcmp(g->name, name, len) == 0)
			return (ssize_t)gi->slots[i].row1 - 1;
	}
	return -1;
}

static void guest_slot_put(struct guest_index *gi, uint32_t row1, uint32_t hash)
{
	size_t i = hash & (gi->cap - 1);

	while (gi->slots[i].row1)
		i = (i + 1) & (gi->cap - 1);
	gi->slots[i].row1 = row1;
	gi->slots[i].hash = hash;
}

/*
 * Room for @n more summary rows and table entries (load at most one
 * half), so that @n guest_commit() calls cannot fail.  The hash kept in a slot
 * is 32 bits: the table is rebuilt from them, capacity stays below 2^32.
 */
static int guest_reserve(struct tui_model *m, size_t n)
{
	struct guest_index *gi = m->guest_index;

	while (m->capguests < m->nguests + n)
		if (va_array_grow(&m->guests, &m->capguests, m->capguests, sizeof(*m->guests)) < 0)
			return -ENOMEM;
	if (!gi) {
		gi = calloc(1, sizeof(*gi));
		if (!gi)
			return -ENOMEM;
		m->guest_index = gi;
	}
	while ((gi->count + n) * 2 > gi->cap) {
		size_t cap = gi->cap ? gi->cap * 2 : 64;
		struct guest_slot *old = gi->slots;
		size_t oldcap = gi->cap;

		if (cap > UINT32_MAX)
			return -ENOMEM;
		gi->slots = calloc(cap, sizeof(*gi->slots));
		if (!gi->slots) {
			gi->slots = old;
			return -ENOMEM;
		}
		gi->cap = cap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].row1)
				guest_slot_put(gi, old[i].row1, old[i].hash);
		free(old);
	}
	return 0;
}

/* Add the row of @name (owned now; NULL: outside any guest) after guest_reserve(). */
static size_t guest_commit(struct tui_model *m, char *name, size_t len, uint64_t h)
{
	struct guest_index *gi = m->guest_index;
	size_t row = m->nguests;

	if (name && m->nguests && guest_is_null_row(m, m->nguests - 1)) {
		/* the row of items outside any guest stays last */
		m->guests[m->nguests] = m->guests[m->nguests - 1];
		row = m->nguests - 1;
	}
	memset(&m->guests[row], 0, sizeof(m->guests[row]));
	m->guests[row].name = name;
	m->guests[row].len = name ? len : 0;
	m->nguests++;
	if (name) {
		guest_slot_put(gi, (uint32_t)(row + 1), (uint32_t)h);
		gi->count++;
	}
	return row;
}

static void guest_index_free(struct tui_model *m)
{
	struct guest_index *gi = m->guest_index;

	if (gi)
		free(gi->slots);
	free(gi);
	m->guest_index = NULL;
}

/* ------------------------------------------------------------------ the model */

void tui_model_init(struct tui_model *m)
{
	memset(m, 0, sizeof(*m));
	m->byino = (struct va_inomap)VA_INOMAP_INIT;
}

void tui_model_release(struct tui_model *m)
{
	for (size_t i = 0; i < m->nitems; i++)
		tui_item_release(&m->items[i]);
	free(m->items);
	free(m->next_same);
	free(m->shown);
	free(m->filter.guest);
	for (size_t i = 0; i < m->nguests; i++)
		free(m->guests[i].name);
	free(m->guests);
	guest_index_free(m);
	va_inomap_release(&m->byino);
	tui_model_init(m);
}

static bool same_guest(const char *a, size_t alen, const char *b, size_t blen)
{
	return !a == !b && (!a || (alen == blen && memcmp(a, b, alen) == 0));
}

/* Is one of @it's names in guest @g (NULL: outside any guest)? */
static bool lives_in(const struct tui_item *it, const char *g, size_t len)
{
	if (same_guest(it->where.guest, it->where.guest_len, g, len))
		return true;
	for (size_t i = 0; i < it->nothers; i++)
		if (same_guest(it->others[i].guest, it->others[i].guest_len, g, len))
			return true;
	return false;
}

static bool item_passes(const struct tui_filter *f, const struct tui_item *it)
{
	if (f->kinds && !(it->kinds & f->kinds))
		return false;
	if (f->severities &&
	    ((unsigned)it->severity >= 32 || !(f->severities & (1u << it->severity))))
		return false;
	/* a shared file is in every guest one of its names is in */
	if (f->by_guest && !lives_in(it, f->guest, f->guest_len))
		return false;
	if (f->selectable_only && !it->selectable)
		return false;
	return true;
}

static void count_in(struct tui_guest *g, const struct tui_item *it)
{
	for (unsigned k = 0; k < VA_KIND_COUNT; k++)
		if (it->kinds & VA_KIND_BIT(k))
			g->count[k]++;
	if ((unsigned)it->severity < VA_SEV_COUNT)
		g->by_sev[it->severity]++;
}

/* One guest an item lives in, found or to be added. */
struct gref {
	const char *name;       /* NULL: outside any guest */
	size_t len;
	uint64_t h;
	char *dup;              /* a new row's name (owned until committed) */
	bool missing;
};

/* The distinct guests of @it's names, where's first, into @g (room for 1 + nothers). */
static size_t guests_of(const struct tui_item *it, struct gref *g)
{
	size_t n = 0;

	for (size_t i = 0; i <= it->nothers; i++) {
		const struct va_name *nm = i ? &it->others[i - 1] : &it->where;
		bool seen = false;

		for (size_t k = 0; k < n && !seen; k++)
			seen = same_guest(g[k].name, g[k].len, nm->guest, nm->guest_len);
		if (!seen)
			g[n++] = (struct gref){ .name = nm->guest, .len = nm->guest_len };
	}
	return n;
}

int tui_model_append(struct tui_model *m, struct tui_item *it)
{
	size_t idx = m->nitems, ng = 0, nmiss = 0;
	struct gref small[8], *g = small;
	uint32_t first = CHAIN_END;
	bool pass, same;
	int r = -ENOMEM;

	/* CHAIN_END (UINT32_MAX) is not an index */
	if (idx >= UINT32_MAX) {
		r = -EOVERFLOW;
		goto fail;
	}
	if (!it->kinds && (unsigned)it->kind < VA_KIND_COUNT)
		it->kinds = VA_KIND_BIT(it->kind);
	if (!it->selectable)
		it->selected = false;

	/* everything that can fail first, so that a failure changes nothing */
	if (va_array_grow(&m->items, &m->capitems, idx, sizeof(*m->items)) < 0)
		goto fail;
	if (m->capnext < m->capitems) {
		uint32_t *n = realloc(m->next_same, m->capitems * sizeof(*n));

		if (!n)
			goto fail;
		m->next_same = n;
		m->capnext = m->capitems;
	}
	pass = item_passes(&m->filter, it);
	if (pass && va_array_grow(&m->shown, &m->capshown, m->nshown, sizeof(*m->shown)) < 0)
		goto fail;
	/* the guests it lives in: a shared file counts in each of them */
	if (it->nothers + 1 > sizeof(small) / sizeof(small[0]) &&
	    !(g = calloc(it->nothers + 1, sizeof(*g))))
		goto fail;
	ng = guests_of(it, g);
	for (size_t k = 0; k < ng; k++) {
		g[k].h = g[k].name ? hash_bytes(g[k].name, g[k].len) : 0;
		g[k].missing = guest_find(m, g[k].name, g[k].len, g[k].h) < 0;
		nmiss += g[k].missing;
		if (g[k].missing && g[k].name && !(g[k].dup = dup_bytes(g[k].name, g[k].len)))
			goto fail_guests;
	}
	if (nmiss && guest_reserve(m, nmiss) < 0)
		goto fail_guests;
	same = va_inomap_find(&m->byino, it->dev, it->ino, &first);
	if (!same && va_inomap_insert(&m->byino, it->dev, it->ino, (uint32_t)idx) < 0)
		goto fail_guests;

	/* nothing fails from here on */
	for (size_t k = 0; k < ng; k++)
		if (g[k].missing)
			guest_commit(m, g[k].dup, g[k].len, g[k].h);
	/* rows found again: adding a guest moves the row outside any guest */
	for (size_t k = 0; k < ng; k++)
		count_in(&m->guests[guest_find(m, g[k].name, g[k].len, g[k].h)], it);
	for (unsigned k = 0; k < VA_KIND_COUNT; k++)
		if (it->kinds & VA_KIND_BIT(k))
			m->total[k]++;
	if ((unsigned)it->severity < VA_SEV_COUNT)
		m->total_sev[it->severity]++;
	if (g != small)
		free(g);
	if (same) {
		m->next_same[idx] = m->next_same[first];
		m->next_same[first] = (uint32_t)idx;
	} else {
		m->next_same[idx] = CHAIN_END;
	}
	m->items[idx] = *it;
	memset(it, 0, sizeof(*it));
	if (m->items[idx].selected)
		m->nselected++;
	m->nitems++;
	if (pass)
		m->shown[m->nshown++] = idx;
	return 0;
fail_guests:
	for (size_t k = 0; k < ng; k++)
		free(g[k].dup);
	if (g != small)
		free(g);
fail:
	tui_item_release(it);
	return r;
}

int tui_model_set_filter(struct tui_model *m, struct tui_filter *f)
{
	size_t n = 0;

	if (m->capshown < m->nitems) {
		size_t *s = realloc(m->shown, m->nitems * sizeof(*s));

		if (!s)
			return -ENOMEM;
		m->shown = s;
		m->capshown = m->nitems;
	}
	if (f != &m->filter) {
		if (m->filter.guest != f->guest)
			free(m->filter.guest);
		m->filter = *f;
		f->guest = NULL;
	}
	for (size_t i = 0; i < m->nitems; i++)
		if (item_passes(&m->filter, &m->items[i]))
			m->shown[n++] = i;
	m->nshown = n;
	if (m->sort != TUI_SORT_FOUND)
		tui_model_sort(m, m->sort);
	return 0;
}

const char *tui_sort_text(enum tui_sort s)
{
	static const char *const text[] = {
#define TUI_X_SORT(id, t) [TUI_SORT_##id] = t,
		TUI_SORTS(TUI_X_SORT)
#undef TUI_X_SORT
	};

	return (unsigned)s < TUI_SORT_COUNT ? text[s] : "?";
}

static int cmp_bytes(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	return c ? c : (alen > blen) - (alen < blen);
}

static int cmp_items(const void *pa, const void *pb, void *arg)
{
	const struct tui_model *m = arg;
	size_t ia = *(const size_t *)pa, ib = *(const size_t *)pb;
	const struct tui_item *a = &m->items[ia], *b = &m->items[ib];
	int c = 0;

	switch (m->sort) {
	case TUI_SORT_SEVERITY:
		c = (a->severity > b->severity) - (a->severity < b->severity);
		if (!c)
			c = (a->kind > b->kind) - (a->kind < b->kind);
		break;
	case TUI_SORT_KIND:
		c = (a->kind > b->kind) - (a->kind < b->kind);
		break;
	case TUI_SORT_GUEST:
		/* the items outside any guest last, as in the summary */
		if (!a->where.guest != !b->where.guest)
			c = a->where.guest ? -1 : 1;
		else if (a->where.guest)
			c = cmp_bytes(a->where.guest, a->where.guest_len, b->where.guest, b->where.guest_len);
		break;
	default:
		break;
	}
	if (!c && m->sort != TUI_SORT_FOUND)
		c = cmp_bytes(a->where.path, a->where.path_len, b->where.path, b->where.path_len);
	return c ? c : (ia > ib) - (ia < ib);
}

void tui_model_sort(struct tui_model *m, enum tui_sort s)
{
	m->sort = (unsigned)s < TUI_SORT_COUNT ? s : TUI_SORT_FOUND;
	if (m->nshown > 1)
		qsort_r(m->shown, m->nshown, sizeof(*m->shown), cmp_items, m);
}

size_t tui_model_row_of(const struct tui_model *m, size_t idx)
{
	size_t best = 0;

	if (m->sort == TUI_SORT_FOUND) {
		size_t lo = 0, hi = m->nshown;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (m->shown[mid] < idx)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo < m->nshown ? lo : m->nshown ? m->nshown - 1 : 0;
	}
	/* another order: the row of @idx, else of the closest item after it */
	for (size_t r = 0; r < m->nshown; r++) {
		if (m->shown[r] == idx)
			return r;
		if (m->shown[r] > idx && (m->shown[best] < idx || m->shown[r] < m->shown[best]))
			best = r;
	}
	return best;
}

struct tui_item *tui_model_item(const struct tui_model *m, size_t row)
{
	return row < m->nshown ? &m->items[m->shown[row]] : NULL;
}

void tui_model_toggle(struct tui_model *m, size_t row)
{
	struct tui_item *it = tui_model_item(m, row);

	if (!it || !it->selectable)
		return;
	it->selected = !it->selected;
	if (it->selected)
		m->nselected++;
	else
		m->nselected--;
}

size_t tui_model_select_shown(struct tui_model *m, bool on)
{
	size_t changed = 0;

	for (size_t r = 0; r < m->nshown; r++) {
		struct tui_item *it = &m->items[m->shown[r]];

		if (!it->selectable || it->selected == on)
			continue;
		it->selected = on;
		changed++;
	}
	if (on)
		m->nselected += changed;
	else
		m->nselected -= changed;
	return changed;
}

/* ------------------------------------------------------------------ search */

static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* True if @hay holds @needle, ASCII letters compared without case. */
static bool icase_contains(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	const unsigned char *h = (const unsigned char *)hay, *n = (const unsigned char *)needle;
	unsigned char c0 = ascii_lower(n[0]);

	if (!hay || hlen < nlen)
		return false;
	for (size_t i = 0; i + nlen <= hlen; i++) {
		size_t j;

		if (ascii_lower(h[i]) != c0)
			continue;
		for (j = 1; j < nlen && ascii_lower(h[i + j]) == ascii_lower(n[j]); j++)
			;
		if (j == nlen)
			return true;
	}
	return false;
}

static bool item_matches(const struct tui_item *it, const char *needle, size_t len)
{
	if (icase_contains(it->where.path, it->where.path_len, needle, len))
		return true;
	for (size_t i = 0; i < it->nothers; i++)
		if (icase_contains(it->others[i].path, it->others[i].path_len, needle, len))
			return true;
	return false;
}

ssize_t tui_model_search(const struct tui_model *m, const char *needle, size_t len, size_t from,
			 bool forward)
{
	size_t n = m->nshown, row;

	if (!n || !len || !needle || n > SSIZE_MAX)
		return -1;
	/* the first row looked at: after @from (before it), or an end */
	if (from >= n)
		row = forward ? 0 : n - 1;
	else if (forward)
		row = from + 1 < n ? from + 1 : 0;
	else
		row = from ? from - 1 : n - 1;
	for (size_t k = 0; k < n; k++) {
		if (item_matches(&m->items[m->shown[row]], needle, len))
			return (ssize_t)row;
		if (forward)
			row = row + 1 < n ? row + 1 : 0;
		else
			row = row ? row - 1 : n - 1;
	}
	return -1;
}

/* ------------------------------------------------------------------ repair and results */

/* A plan item as its action, merged into one already planned for its inode. */
static int add_plan_action(struct va_repair *rp, const struct tui_item *it)
{
	struct va_action *a;
	uint32_t idx;

	if (va_inomap_find(&rp->byino, it->dev, it->ino, &idx)) {
		uint32_t set = it->new_flags & ~it->flags, clear = it->flags & ~it->new_flags;

		a = &rp->actions[idx];
		a->new_flags = (a->new_flags | set) & ~clear;
		if ((it->new_mode & 07777) != (it->mode & 07777))
			a->new_mode = it->new_mode;
		a->kinds |= it->kinds;
		return 0;
	}
	if (rp->nactions >= UINT32_MAX ||
	    va_array_grow(&rp->actions, &rp->capactions, rp->nactions, sizeof(*rp->actions)) < 0)
		return -ENOMEM;
	a = &rp->actions[rp->nactions];
	memset(a, 0, sizeof(*a));
	a->path = dup_bytes(it->where.path, it->where.path_len);
	a->path_len = it->where.path_len;
	if (it->where.guest) {
		a->guest = dup_bytes(it->where.guest, it->where.guest_len);
		a->guest_len = it->where.guest_len;
	}
	if (!a->path || (it->where.guest && !a->guest) ||
	    va_inomap_insert(&rp->byino, it->dev, it->ino, (uint32_t)rp->nactions) < 0) {
		free(a->path);
		free(a->guest);
		memset(a, 0, sizeof(*a));
		return -ENOMEM;
	}
	a->kinds = it->kinds;
	a->dev = it->dev;
	a->ino = it->ino;
	a->gen = it->gen;
	a->gen_known = it->gen_known;
	a->old_flags = it->flags;
	a->old_mode = it->mode;
	a->new_flags = it->new_flags;
	a->new_mode = it->new_mode;
	rp->nactions++;
	return 0;
}

long tui_model_to_repair(const struct tui_model *m, struct va_repair *rp, const struct va_repair_opts *o)
{
	for (size_t i = 0; i < m->nitems; i++) {
		const struct tui_item *it = &m->items[i];
		struct va_finding f;
		int r;

		if (!it->selected)
			continue;
		if (it->from_plan) {
			r = add_plan_action(rp, it);
		} else {
			memset(&f, 0, sizeof(f));
			f.kind = it->kind;
			f.severity = it->severity;
			f.where = it->where;
			f.others = it->others;
			f.nothers = it->nothers;
			f.nguests = it->nguests;
			f.dev = it->dev;
			f.ino = it->ino;
			f.nlink = it->nlink;
			f.mode = it->mode;
			f.flags = it->flags;
			f.flags_known = it->flags_known;
			f.gen = it->gen;
			f.gen_known = it->gen_known;
			f.detail = it->detail;
			f.line = it->line;
			f.has_proposal = it->has_proposal;
			f.new_flags = it->new_flags;
			f.new_mode = it->new_mode;
			r = va_repair_add(rp, &f, o);
		}
		if (r < 0)
			return r;
	}
	return rp->nactions > LONG_MAX ? -EOVERFLOW : (long)rp->nactions;
}

size_t tui_model_set_result(struct tui_model *m, dev_t dev, uint64_t ino, enum tui_result res,
			    const char *why)
{
	uint32_t i;
	size_t n = 0;

	if (!va_inomap_find(&m->byino, dev, ino, &i))
		return 0;
	for (; i != CHAIN_END; i = m->next_same[i]) {
		struct tui_item *it = &m->items[i];

		it->result = res;
		free(it->result_why);
		/* out of memory: the result without its reason */
		it->result_why = why ? strdup(why) : NULL;
		if (res == TUI_RES_DONE && it->has_proposal && !it->changed) {
			it->was_flags = it->flags;
			it->was_mode = it->mode;
			it->flags = it->new_flags;
			it->mode = (it->mode & S_IFMT) | (it->new_mode & 07777);
			it->changed = true;
			if (it->selected) {
				it->selected = false;
				m->nselected--;
			}
			it->selectable = false;
		} else if (res == TUI_RES_UNDONE && it->changed) {
			it->flags = it->was_flags;
			it->mode = it->was_mode;
			it->changed = false;
			it->selectable = !it->blocked;
		}
		n++;
	}
	return n;
}

const char *tui_model_path_of(const struct tui_model *m, dev_t dev, uint64_t ino, size_t *len)
{
	uint32_t i;

	if (!va_inomap_find(&m->byino, dev, ino, &i))
		return NULL;
	*len = m->items[i].where.path_len;
	return m->items[i].where.path;
}

void tui_model_clear_results(struct tui_model *m)
{
	for (size_t i = 0; i < m->nitems; i++) {
		m->items[i].result = TUI_RES_NONE;
		free(m->items[i].result_why);
		m->items[i].result_why = NULL;
	}
}

/* ------------------------------------------------------------------ usage view */

const char *tui_human_size(uint64_t bytes, char *buf)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	uint64_t d = 1024, q, r, tenths;
	size_t k = 1;

	if (bytes < 1024) {
		snprintf(buf, 16, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	/* the first unit in which the value, rounded up, stays below 1024 */
	while (k + 1 < sizeof(unit) / sizeof(unit[0]) && bytes > 1023 * d) {
		d <<= 10;
		k++;
	}
	q = bytes / d;
	r = bytes % d;
	/* r * 10 + d - 1 < 11 * 2^60: no overflow */
	tenths = q * 10 + (r * 10 + d - 1) / d;
	if (tenths < 100)
		snprintf(buf, 16, "%llu.%llu %s", (unsigned long long)(tenths / 10),
			 (unsigned long long)(tenths % 10), unit[k]);
	else
		snprintf(buf, 16, "%llu %s", (unsigned long long)(q + (r != 0)), unit[k]);
	return buf;
}

static int cmp_guest_name(const struct va_usage_guest *a, const struct va_usage_guest *b)
{
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);

	if (c)
		return c;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static int cmp_by_name(const void *pa, const void *pb, void *arg)
{
	const struct va_usage *u = arg;

	return cmp_guest_name(&u->guests[*(const size_t *)pa], &u->guests[*(const size_t *)pb]);
}

static int cmp_by_total(const void *pa, const void *pb, void *arg)
{
	const struct va_usage *u = arg;
	const struct va_usage_guest *a = &u->guests[*(const size_t *)pa], *b = &u->guests[*(const size_t *)pb];

	if (a->all.bytes != b->all.bytes)
		return a->all.bytes > b->all.bytes ? -1 : 1;
	return cmp_guest_name(a, b);
}

void tui_usage_order(const struct va_usage *u, size_t *order, bool by_name)
{
	for (size_t i = 0; i < u->nguests; i++)
		order[i] = i;
	qsort_r(order, u->nguests, sizeof(*order), by_name ? cmp_by_name : cmp_by_total, (void *)u);
}

/* The cell where @bytes end on a bar of @width cells for @max bytes (rounded). */
static int cell_of(uint64_t bytes, uint64_t max, int width)
{
	long double c = (long double)bytes * width / (long double)max + 0.5L;

	return c >= width ? width : (int)c;
}

void tui_usage_bar(const struct va_usage_guest *g, uint64_t max, int width, int cells[TUI_SEG_COUNT])
{
	uint64_t end = 0;
	int from = 0, to;
	const struct va_usage_part *parts[] = { &g->priv, &g->shared, &g->store };

	memset(cells, 0, TUI_SEG_COUNT * sizeof(*cells));
	if (!max || width <= 0)
		return;
	for (int i = TUI_SEG_PRIVATE; i <= TUI_SEG_STORE; i++) {
		end += parts[i]->bytes;
		to = cell_of(end, max, width);
		cells[i] = to - from;
		from = to;
	}
	to = cell_of(g->reclaim.bytes, max, width);
	cells[TUI_SEG_RECLAIM] = to < from ? to : from;
}
