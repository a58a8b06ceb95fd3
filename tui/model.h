/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * model.h - what the console shows, and nothing else: the review items
 * (one per finding, or one per action of a loaded plan), their selection
 * and result, the filter and the list of shown items it produces, path
 * search, the guests x kinds summary, and the figures of the usage view
 * (sizes as text, guest order, bar segments).  No ncurses, no I/O, no
 * threads: the console's UI thread owns the model; the engine builds
 * items on its worker thread with tui_item_from_*() and hands them over.
 *
 * Sizes: a million items must stay responsive.  Adding is amortised O(1)
 * (guests are found through a hash table); tui_model_set_filter() is one
 * O(n) pass; results are found by (dev, ino) through core/inomap in O(1)
 * and reach the items of that inode through a chain, in O(their number).
 */
#ifndef VAUDIT_TUI_MODEL_H
#define VAUDIT_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/finding.h"
#include "core/inomap.h"
#include "migrate/repair/repair.h"

/** What happened to an item's change (shown in its first column and detail). */
#define TUI_RESULTS(X) \
	X(NONE,    "")        \
	X(PLANNED, "would")   \
	X(DONE,    "done")    \
	X(SKIPPED, "skipped") \
	X(FAILED,  "failed")  \
	X(UNDONE,  "undone")

enum tui_result {
#define TUI_X_RES(id, word) TUI_RES_##id,
	TUI_RESULTS(TUI_X_RES)
#undef TUI_X_RES
	TUI_RES_COUNT
};

/** tui_result_word() - "done", "skipped", ...; "" for NONE. */
const char *tui_result_word(enum tui_result r);

/** One row of the console.  Strings are owned by the item (any bytes). */
struct tui_item {
	enum va_kind kind;              /**< the finding's kind (plan: its first kind) */
	uint64_t kinds;                 /**< VA_KIND_BIT()s: plan actions may have several */
	enum va_severity severity;
	bool from_plan;                 /**< built from a plan action, not a finding */
	struct va_name where;           /**< guest (may be NULL) and display path */
	struct va_name *others;         /**< every other name of a shared inode */
	size_t nothers;
	size_t nguests;
	dev_t dev;
	uint64_t ino;
	uint32_t nlink, mode, flags;
	unsigned flags_known;           /**< enum va_attr_known bits; 0 = unknown */
	uint32_t gen;
	bool gen_known;
	char *detail;                   /**< what exactly is wrong, or NULL */
	unsigned line;                  /**< configuration findings: line, or 0 */
	bool has_proposal;              /**< new_flags/new_mode are what a repair sets */
	uint32_t new_flags, new_mode;
	bool selectable;                /**< has a proposal a repair would carry out */
	const char *blocked;            /**< static: why this session cannot carry out the
					     proposal (then not selectable), or NULL */
	bool selected;
	enum tui_result result;
	char *result_why;               /**< why skipped/failed, or NULL */
	bool changed;                   /**< an apply set the proposal (flags/mode hold it now) */
	uint32_t was_flags, was_mode;   /**< changed: the state before, for an undo */
};

/**
 * tui_item_from_finding() - fill @it with deep copies of @f's fields;
 * selectable when @f has a proposal with known flags, its kind is in
 * VA_REPAIR_KINDS and the proposal changes something.
 * Return: 0 or -ENOMEM (then @it holds nothing to free).
 */
int tui_item_from_finding(struct tui_item *it, const struct va_finding *f);

/**
 * tui_item_from_action() - the same for a plan action (always selectable,
 * from_plan): kind is its lowest kind, severity the most serious default
 * severity of its kinds, flags/mode the state it expects, flags_known
 * VA_KNOWN_EXT2 | VA_KNOWN_VS26 (a plan holds the raw i_flags).
 * Return: 0 or -ENOMEM (then @it holds nothing to free).
 */
int tui_item_from_action(struct tui_item *it, const struct va_action *a);

/** tui_item_release() - free what @it owns. */
void tui_item_release(struct tui_item *it);

/** Which items are shown: every condition set must hold (zero = all). */
struct tui_filter {
	uint64_t kinds;                 /**< VA_KIND_BIT()s, 0 = any kind */
	unsigned severities;            /**< 1 << enum va_severity, 0 = any */
	bool by_guest;                  /**< only items whose guest is guest[] */
	char *guest;                    /**< owned; NULL with by_guest: outside any guest */
	size_t guest_len;
	bool selectable_only;           /**< only items a repair can change */
};

/**
 * A guest seen among the items, in order of first appearance.  An item
 * counts in every guest one of its names is in (a shared file in each of
 * its guests), there under every kind of its kinds bit set (a plan action
 * repairing two kinds counts under both), and once under its severity.
 */
struct tui_guest {
	char *name;                     /**< owned; NULL: outside any guest (always last) */
	size_t len;
	uint32_t count[VA_KIND_COUNT];  /**< items of each kind */
	uint32_t by_sev[VA_SEV_COUNT];
};

/** The order of the shown list. */
#define TUI_SORTS(X) \
	X(FOUND,    "finding order") \
	X(PATH,     "path") \
	X(KIND,     "kind, then path") \
	X(SEVERITY, "severity, then kind and path") \
	X(GUEST,    "guest, then path")

enum tui_sort {
#define TUI_X_SORT(id, text) TUI_SORT_##id,
	TUI_SORTS(TUI_X_SORT)
#undef TUI_X_SORT
	TUI_SORT_COUNT
};

/** tui_sort_text() - "path", "kind, then path", ... */
const char *tui_sort_text(enum tui_sort s);

struct tui_model {
	struct tui_item *items;
	size_t nitems, capitems;
	size_t *shown;                  /**< indexes into items[] passing the filter, in order */
	size_t nshown, capshown;
	struct tui_filter filter;
	enum tui_sort sort;             /**< the order of shown[]; items added while a
					     scan runs go to its end until the next sort */
	struct tui_guest *guests;       /**< summary rows: one per guest, in order of first
					     appearance, then the NULL row (items outside
					     any guest) if there are such items */
	size_t nguests, capguests;
	uint32_t total[VA_KIND_COUNT];  /**< items of each kind, all guests (each item once) */
	uint32_t total_sev[VA_SEV_COUNT]; /**< items of each severity, each once */
	size_t nselected;               /**< selected items (shown or not) */
	struct va_inomap byino;         /**< (dev, ino) -> first item of that inode */
	/* private: */
	void *guest_index;              /* guest name -> summary row (hash table) */
	uint32_t *next_same;            /* per item: next item of the same inode, or UINT32_MAX */
	size_t capnext;
};

/** tui_model_init() - an empty model, no filter. */
void tui_model_init(struct tui_model *m);

/**
 * tui_model_append() - take @it (its strings become the model's; @it is
 * zeroed) and show it if it passes the filter.  kinds 0 is taken as the
 * bit of kind; an item that is not selectable is not selected.
 * Return: 0, or -ENOMEM or -EOVERFLOW (UINT32_MAX items); then @it is
 * released and the model is unchanged.
 */
int tui_model_append(struct tui_model *m, struct tui_item *it);

/** tui_model_release() - free everything; @m is empty afterwards. */
void tui_model_release(struct tui_model *m);

/**
 * tui_model_set_filter() - take @f (its guest string becomes the model's;
 * f->guest is set to NULL) and rebuild the shown list.  @f may be a copy
 * of m->filter sharing its guest string.
 * Return: 0, or -ENOMEM (then nothing changed and @f is still the caller's).
 */
int tui_model_set_filter(struct tui_model *m, struct tui_filter *f);

/**
 * tui_model_sort() - order the shown list by @s (stable: equal items keep
 * the finding order); tui_model_set_filter() keeps the order.
 */
void tui_model_sort(struct tui_model *m, enum tui_sort s);

/** tui_model_row_of() - the row showing item @idx, or the nearest row (0 when nothing is shown). */
size_t tui_model_row_of(const struct tui_model *m, size_t idx);

/** tui_model_item() - the item shown at row @row (NULL past the end). */
struct tui_item *tui_model_item(const struct tui_model *m, size_t row);

/** tui_model_toggle() - flip the selection of the item at @row (no-op when not selectable). */
void tui_model_toggle(struct tui_model *m, size_t row);

/**
 * tui_model_select_shown() - select (@on) or deselect every selectable
 * shown item.  Return: how many changed.
 */
size_t tui_model_select_shown(struct tui_model *m, bool on);

/**
 * tui_model_search() - the next shown row after @from (before it when
 * !@forward), wrapping around once, whose path or any other name contains
 * the bytes @needle (ASCII case-insensitive).  @from itself is looked at
 * last; @from past the last row: every row from the first (from the last
 * when !@forward).  Return: the row, or -1 (none, nothing shown, @len 0).
 */
ssize_t tui_model_search(const struct tui_model *m, const char *needle, size_t len, size_t from,
			 bool forward);

/**
 * tui_model_to_repair() - the actions for the selected items, in item
 * order, into the empty @rp (findings through va_repair_add() with @o, so
 * several kinds on one inode become one action; plan items as they are,
 * merged the same way when two are for one inode).  @o is required.
 * Return: the number of actions, or -ENOMEM (release @rp then).
 */
long tui_model_to_repair(const struct tui_model *m, struct va_repair *rp, const struct va_repair_opts *o);

/**
 * tui_model_set_result() - record @res (and @why, copied; may be NULL; left
 * out when there is no memory for it) on every item of inode @dev/@ino.
 * DONE: the inode has the proposed state now (verified by the repair):
 * the item shows it, leaves the selection and is no longer selectable;
 * UNDONE: it shows the state before again and can be selected again.
 * Return: how many items it touched.
 */
size_t tui_model_set_result(struct tui_model *m, dev_t dev, uint64_t ino, enum tui_result res,
			    const char *why);

/**
 * tui_model_path_of() - the first name of an item of inode @dev/@ino, or
 * NULL (@len receives its length).
 */
const char *tui_model_path_of(const struct tui_model *m, dev_t dev, uint64_t ino, size_t *len);

/** tui_model_clear_results() - every result back to NONE. */
void tui_model_clear_results(struct tui_model *m);

/* ------------------------------------------------------------------ usage view */

struct va_usage;
struct va_usage_guest;

/**
 * tui_human_size() - @bytes as du -h writes them, with binary units:
 * "512 B", "4.0 KiB", "12 KiB", "1.3 MiB", rounded up, one decimal below
 * 10.  @buf: at least 16 bytes.  Return: @buf.
 */
const char *tui_human_size(uint64_t bytes, char *buf);

/**
 * tui_usage_order() - the indexes of u->guests into @order (u->nguests of
 * them): by name (bytewise), or by total, largest first (equal totals by
 * name).
 */
void tui_usage_order(const struct va_usage *u, size_t *order, bool by_name);

/** The segments of a guest's bar. */
enum tui_usage_seg {
	TUI_SEG_PRIVATE,
	TUI_SEG_SHARED,         /**< with other guests */
	TUI_SEG_STORE,          /**< in a hash store */
	TUI_SEG_RECLAIM,        /**< reclaimable: a part of the three above */
	TUI_SEG_COUNT
};

/**
 * tui_usage_bar() - the cells of each segment of @g's bar when @width
 * cells stand for @max bytes (the largest guest): private, shared and
 * store one after the other, their ends rounded to the nearest cell, so
 * that together they are the guest's total; the reclaimable bytes are a
 * part of that total, drawn over its last cells (never more cells than
 * the three).  @max 0: no cells.
 */
void tui_usage_bar(const struct va_usage_guest *g, uint64_t max, int width, int cells[TUI_SEG_COUNT]);

#endif
