/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_tui_engine.c - the console's engine (tui/engine.c) on real data.
 *
 * Image tests (root: testdata/mkfixture.sh loop-mounts while it builds the
 * fixture, once per run, in the TCase's temporary directory; every test
 * works on its own copy).  What the engine did is checked by independent
 * means: the vaudit binary in batch mode (--json, parsed with json-c) for
 * what a scan must find, debugfs "stat" of every inode of the image for
 * what an apply or undo changed, the journal file itself for what it
 * recorded.
 *
 * Without root: a live scan of a small tree against vaudit's batch run,
 * plan files that are not usable, and the job life cycle (busy, free while
 * running).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit/usage.h"
#include "cli/vaudit.h"
#include "core/image.h"
#include "core/message.h"
#include "migrate/repair/repair-io.h"
#include "tui/engine.h"
#include "tests/unit/testutil.h"

static const char *const image_roots[] = { "/vservers" };

/* The fixture image, built once per run by the unchecked fixture (root only). */
static char *fixture;

static const char *vaudit_bin(void)
{
	const char *v = getenv("VAUDIT");

	return v && *v ? v : "./vaudit";
}

static char *srcfile(const char *rel)
{
	const char *top = getenv("top_srcdir");

	return tu_strdupf("%s/%s", top && *top ? top : ".", rel);
}

static void build_fixture(void)
{
	char *mk = srcfile("testdata/mkfixture.sh");
	char *img = tu_strdupf("%s/fixture.img", tu_tmpdir);
	const char *argv[] = { "bash", mk, img, "ext4", "--v26", "--size", "16", NULL };

	fixture = tu_run_ok(tu_run_quiet(argv, NULL)) ? img : NULL;
	if (!fixture) {
		fprintf(stderr, "# mkfixture.sh failed\n");
		free(img);
	}
	free(mk);
}

static void drop_fixture(void)
{
	free(fixture);
	fixture = NULL;
}

/* A fresh copy of the fixture in a new directory: "DIR/fs.img" (malloc'd). */
static char *fixture_copy(char **ret_dir)
{
	char *dir = tu_subdir("engine");
	char *img = tu_strdupf("%s/fs.img", dir);
	const char *argv[] = { "cp", "--sparse=always", "--", fixture, img, NULL };

	ck_assert_msg(fixture != NULL, "no fixture image (mkfixture.sh failed, see the log)");
	ck_assert(tu_run_ok(tu_run(argv, NULL, 0, NULL)));
	*ret_dir = dir;
	return img;
}

/* ================================================================ sessions */

struct sess {
	struct va_image *img;
	struct va_backend *be;
	struct va_audit_args args;
	struct va_repair_opts ro;
	struct tui_session s;
	struct tui_engine *e;
};

static void sess_image(struct sess *x, const char *image, const char *journal)
{
	struct va_error why = VA_ERROR_INIT;
	errcode_t err;

	memset(x, 0, sizeof(*x));
	err = va_image_open(image, 0, &x->img, &why);
	ck_assert_msg(err == 0, "open %s: %s %s", image, why.what, va_image_strerror(err));
	ck_assert_int_eq(va_backend_image_new(&x->be, x->img), 0);
	x->args = (struct va_audit_args){ .roots = image_roots, .nroots = 1, .backend = x->be };
	x->ro = (struct va_repair_opts){ .barrier_mode = -1, .cleared_mode = 0700 };
	x->s = (struct tui_session){ .prog = "vaudit", .args = &x->args, .img = x->img,
				     .image = image, .roots = image_roots, .nroots = 1,
				     .journal = journal, .ropts = &x->ro, .cols = 80, .rows = 24 };
	ck_assert_int_eq(tui_engine_new(&x->e, &x->s), 0);
}

static void sess_live(struct sess *x, const char *const *roots, size_t nroots)
{
	memset(x, 0, sizeof(*x));
	ck_assert_int_eq(va_backend_live_new(&x->be, 0), 0);
	x->args = (struct va_audit_args){ .roots = roots, .nroots = nroots, .backend = x->be };
	x->ro = (struct va_repair_opts){ .barrier_mode = -1, .cleared_mode = 0700 };
	x->s = (struct tui_session){ .prog = "vaudit", .args = &x->args, .roots = roots,
				     .nroots = nroots, .ropts = &x->ro, .cols = 80, .rows = 24 };
	ck_assert_int_eq(tui_engine_new(&x->e, &x->s), 0);
}

static void sess_close(struct sess *x)
{
	tui_engine_free(x->e);
	va_backend_free(x->be);
	va_image_close(x->img);
}

/* ================================================================ collecting messages */

struct result {
	dev_t dev;
	uint64_t ino;
	enum tui_result res;
	char why[512];
};

struct collected {
	struct tui_item *items;
	size_t nitems, capitems;
	struct dbuf errors;             /* one line per ERROR */
	size_t nerrors, nnotices;
	struct result *results;
	size_t nresults, capresults;
	size_t nprogress;
	struct tui_msg done;
};

static void collected_release(struct collected *c)
{
	for (size_t i = 0; i < c->nitems; i++)
		tui_item_release(&c->items[i]);
	free(c->items);
	free(c->results);
	dbuf_release(&c->errors);
	memset(c, 0, sizeof(*c));
}

/*
 * Drain @e until DONE, waiting on its wake fd (never spinning): the fd must
 * be readable while messages wait and quiet once everything was taken.
 */
static void collect(struct tui_engine *e, struct collected *c)
{
	static struct tui_msg msg;
	bool done = false;

	memset(c, 0, sizeof(*c));
	while (!done) {
		struct pollfd p = { .fd = tui_engine_wake_fd(e), .events = POLLIN };
		int n = poll(&p, 1, 60000);

		ck_assert_msg(n == 1, "no message within 60 s (poll: %d)", n);
		ck_assert_msg(tui_engine_poll(e, &msg), "wake fd readable, but no message");
		do {
			switch (msg.type) {
			case TUI_MSG_ITEM:
				ck_assert(va_array_grow(&c->items, &c->capitems, c->nitems,
							sizeof(*c->items)) == 0);
				c->items[c->nitems++] = msg.item;
				break;
			case TUI_MSG_PROGRESS:
				c->nprogress++;
				break;
			case TUI_MSG_NOTICE:
				c->nnotices++;
				break;
			case TUI_MSG_ERROR:
				dbuf_adds(&c->errors, msg.text);
				dbuf_addc(&c->errors, '\n');
				c->nerrors++;
				break;
			case TUI_MSG_RESULT: {
				struct result *r;

				ck_assert(va_array_grow(&c->results, &c->capresults, c->nresults,
							sizeof(*c->results)) == 0);
				r = &c->results[c->nresults++];
				r->dev = msg.dev;
				r->ino = msg.ino;
				r->res = msg.result;
				snprintf(r->why, sizeof(r->why), "%s", msg.text);
				break;
			}
			case TUI_MSG_DONE:
				c->done = msg;
				done = true;
				break;
			}
		} while (!done && tui_engine_poll(e, &msg));
	}
	ck_assert_msg(!tui_engine_poll(e, &msg), "a message after DONE");
	ck_assert_int_eq(tui_engine_busy(e), TUI_JOB_NONE);
	{
		struct pollfd p = { .fd = tui_engine_wake_fd(e), .events = POLLIN };

		ck_assert_msg(poll(&p, 1, 0) == 0, "wake fd still readable with nothing waiting");
	}
}

/* ================================================================ (ino, kind) sets */

struct key {
	uint64_t ino;
	int kind;
};

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return (x->kind > y->kind) - (x->kind < y->kind);
}

static struct key *item_keys(const struct collected *c)
{
	struct key *k = calloc(c->nitems + 1, sizeof(*k));

	ck_assert(k != NULL);
	for (size_t i = 0; i < c->nitems; i++)
		k[i] = (struct key){ c->items[i].ino, (int)c->items[i].kind };
	qsort(k, c->nitems, sizeof(*k), key_cmp);
	return k;
}

/* The findings of `vaudit ARGS --json` as sorted keys; *@n their number. */
static struct key *batch_keys(const char *const *args, size_t *n)
{
	const char *argv[16] = { vaudit_bin() };
	struct dbuf out = DBUF_INIT;
	struct key *k = NULL;
	size_t cap = 0, i = 1, off = 0;
	int st;

	for (; *args && i < 14; args++)
		argv[i++] = *args;
	argv[i++] = "--json";
	argv[i] = NULL;
	st = tu_run(argv, NULL, 0, &out);
	ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) <= 1, "vaudit --json failed (%d)", st);
	*n = 0;
	while (off < out.len) {
		char *nl = memchr(out.buf + off, '\n', out.len - off);
		size_t len = nl ? (size_t)(nl - (out.buf + off)) : out.len - off;
		json_object *o, *v;
		char *line = strndup(out.buf + off, len);

		off += len + 1;
		ck_assert(line != NULL);
		o = json_tokener_parse(line);
		free(line);
		ck_assert_msg(o && json_object_is_type(o, json_type_object), "vaudit --json: not JSON");
		/* the findings only: not the error and summary records */
		ck_assert(json_object_object_get_ex(o, "record", &v));
		if (strcmp(json_object_get_string(v), "finding") != 0) {
			json_object_put(o);
			continue;
		}
		ck_assert(va_array_grow(&k, &cap, *n, sizeof(*k)) == 0);
		ck_assert(json_object_object_get_ex(o, "kind", &v));
		k[*n].kind = va_kind_parse(json_object_get_string(v));
		ck_assert_int_ge(k[*n].kind, 0);
		ck_assert(json_object_object_get_ex(o, "ino", &v));
		k[*n].ino = json_object_is_type(v, json_type_null) ? 0 : (uint64_t)json_object_get_int64(v);
		(*n)++;
		json_object_put(o);
	}
	dbuf_release(&out);
	if (!k)
		k = calloc(1, sizeof(*k));
	qsort(k, *n, sizeof(*k), key_cmp);
	return k;
}

static void assert_same_keys(const struct collected *c, const char *const *batch_args)
{
	size_t n;
	struct key *want = batch_keys(batch_args, &n), *got = item_keys(c);

	ck_assert_msg(c->nitems == n, "the engine sent %zu items, vaudit --json has %zu findings",
		      c->nitems, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(got[i].ino == want[i].ino && got[i].kind == want[i].kind,
			      "item %zu: engine (%llu, %s), vaudit (%llu, %s)", i,
			      (unsigned long long)got[i].ino, va_kind_name(got[i].kind),
			      (unsigned long long)want[i].ino, va_kind_name(want[i].kind));
	free(want);
	free(got);
}

/* ================================================================ debugfs ground truth */

struct inode_state {
	uint32_t flags, mode;
	bool seen;
};

/* Flags and permission bits of every inode of @img, from one debugfs run. */
static struct inode_state *debugfs_dump(const char *img, uint32_t ninodes)
{
	struct inode_state *st = calloc(ninodes + 1, sizeof(*st));
	const char *argv[] = { "debugfs", "-f", "-", img, NULL };
	struct dbuf cmds = DBUF_INIT, out = DBUF_INIT;
	char *line, *save = NULL;

	ck_assert(st != NULL);
	setenv("DEBUGFS_PAGER", "__none__", 1);
	for (uint32_t i = 1; i <= ninodes; i++)
		dbuf_addf(&cmds, "stat <%u>\n", i);
	ck_assert(tu_run_ok(tu_run(argv, cmds.buf, cmds.len, &out)));
	dbuf_addc(&out, '\0');
	for (line = strtok_r(out.buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long ino, flags;
		unsigned mode;
		char *m, *f;

		if (strncmp(line, "Inode: ", 7) != 0)
			continue;
		ino = strtoul(line + 7, NULL, 10);
		m = strstr(line, "Mode:");
		f = strstr(line, "Flags:");
		ck_assert_msg(ino >= 1 && ino <= ninodes && m && f, "debugfs: %s", line);
		ck_assert(sscanf(m, "Mode: %o", &mode) == 1);
		ck_assert(sscanf(f, "Flags: %lx", &flags) == 1);
		st[ino] = (struct inode_state){ (uint32_t)flags, mode & 07777, true };
	}
	for (uint32_t i = 1; i <= ninodes; i++)
		ck_assert_msg(st[i].seen, "debugfs did not stat inode %u", i);
	dbuf_release(&cmds);
	dbuf_release(&out);
	return st;
}

/* The finding an item was made from, enough for va_repair_add(). */
static struct va_finding finding_of(const struct tui_item *it)
{
	return (struct va_finding){
		.kind = it->kind, .severity = it->severity, .where = it->where,
		.nguests = it->nguests, .dev = it->dev, .ino = it->ino, .nlink = it->nlink,
		.mode = it->mode, .flags = it->flags, .flags_known = it->flags_known, .gen = it->gen,
		.gen_known = it->gen_known, .detail = it->detail, .has_proposal = it->has_proposal,
		.new_flags = it->new_flags, .new_mode = it->new_mode,
	};
}

/* The new state each action of @rp gives its inode (indexed by inode number). */
static struct inode_state *expected_after(const struct inode_state *before, uint32_t ninodes,
					  const struct va_repair *rp)
{
	struct inode_state *x = malloc((ninodes + 1) * sizeof(*x));

	ck_assert(x != NULL);
	memcpy(x, before, (ninodes + 1) * sizeof(*x));
	for (size_t i = 0; i < rp->nactions; i++) {
		const struct va_action *a = &rp->actions[i];

		ck_assert(a->ino >= 1 && a->ino <= ninodes);
		ck_assert_msg(before[a->ino].flags == a->old_flags &&
			      before[a->ino].mode == (a->old_mode & 07777),
			      "inode %llu: the action expects 0x%x %o, debugfs says 0x%x %o",
			      (unsigned long long)a->ino, a->old_flags, a->old_mode & 07777,
			      before[a->ino].flags, before[a->ino].mode);
		x[a->ino].flags = a->new_flags;
		x[a->ino].mode = a->new_mode & 07777;
	}
	return x;
}

static void assert_inodes(const struct inode_state *got, const struct inode_state *want,
			  uint32_t ninodes, const char *when)
{
	for (uint32_t i = 1; i <= ninodes; i++)
		ck_assert_msg(got[i].flags == want[i].flags && got[i].mode == want[i].mode,
			      "%s: inode %u is 0x%08x %04o, expected 0x%08x %04o", when, i,
			      got[i].flags, got[i].mode, want[i].flags, want[i].mode);
}

/* Every intent ('I') of journal @file has its done mark ('D'); returns their number. */
static size_t journal_intents_done(const char *file)
{
	struct va_journal *j;
	const char *why;
	size_t line, n = 0;

	ck_assert_msg(va_journal_load(&j, file, &why, &line) == 0, "journal %s: %s (line %zu)", file,
		      why ? why : "unreadable", line);
	for (size_t i = 0; i < j->nrecs; i++)
		if (j->recs[i].type == 'I') {
			ck_assert_msg(va_journal_state(j, j->recs[i].seq) == 'D',
				      "journal intent %llu has no done mark",
				      (unsigned long long)j->recs[i].seq);
			n++;
		}
	va_journal_free(j);
	return n;
}

/* ================================================================ image tests */

static void scan(struct sess *x, struct collected *c)
{
	ck_assert_int_eq(tui_engine_scan(x->e), 0);
	collect(x->e, c);
	ck_assert_msg(c->done.status == 0, "scan ended with %d (%s)", c->done.status,
		      strerror(-c->done.status));
}

START_TEST(scan_image_like_batch)
{
	char *dir, *img = fixture_copy(&dir);
	const char *const batch[] = { "--image", img, "--prefix", "/vservers", NULL };
	uint32_t ninodes;
	struct inode_state *st;
	struct collected c;
	struct sess x;

	sess_image(&x, img, NULL);
	scan(&x, &c);
	ck_assert_msg(c.nerrors == 0, "errors: %s", dbuf_str(&c.errors));
	ck_assert_int_ge(c.nitems, 20);
	ck_assert_int_eq(c.done.progress.findings, c.nitems);
	ck_assert_int_eq(c.done.progress.job, TUI_JOB_SCAN);
	/* counters are published at most every 50 ms and a DONE replaces one
	 * not yet polled: a scan that ends sooner may show none */
	ck_assert_msg(c.nprogress >= 1 || c.done.progress.elapsed < 0.25,
		      "no progress message in a scan of %.3f s", c.done.progress.elapsed);
	assert_same_keys(&c, batch);

	/* debugfs: each item carries the inode's true flags and permission bits */
	ninodes = x.img->fs->super->s_inodes_count;
	st = debugfs_dump(img, ninodes);
	for (size_t i = 0; i < c.nitems; i++) {
		const struct tui_item *it = &c.items[i];

		ck_assert(it->ino >= 1 && it->ino <= ninodes);
		ck_assert_msg(!it->flags_known || it->flags == st[it->ino].flags,
			      "inode %llu: item flags 0x%x, debugfs 0x%x", (unsigned long long)it->ino,
			      it->flags, st[it->ino].flags);
		ck_assert_uint_eq(it->mode & 07777, st[it->ino].mode);
		ck_assert(!it->from_plan);
	}
	free(st);
	collected_release(&c);
	sess_close(&x);
	free(img);
	free(dir);
}
END_TEST

START_TEST(apply_and_undo_image)
{
	char *dir, *img = fixture_copy(&dir);
	char *journal = tu_strdupf("%s/j1.journal", dir), *journal2 = tu_strdupf("%s/j1-2.journal", dir);
	const char *const batch[] = { "--image", img, "--prefix", "/vservers", NULL };
	struct inode_state *before, *want, *after;
	struct va_repair rp = { 0 };
	struct collected c, a, u, r;
	size_t nact, ninodes;
	uint64_t last = 0;
	bool take = false;
	struct sess x;

	sess_image(&x, img, journal);
	ninodes = x.img->fs->super->s_inodes_count;
	scan(&x, &c);

	/* every other inode that has something to repair, with all its selectable items */
	for (size_t i = 0; i < c.nitems; i++) {
		struct tui_item *it = &c.items[i];
		struct va_finding f;

		if (!it->selectable)
			continue;
		if (it->ino != last)
			take = !take, last = it->ino;
		if (!take)
			continue;
		it->selected = true;
		f = finding_of(it);
		ck_assert_int_eq(va_repair_add(&rp, &f, &x.ro), 0);
	}
	nact = rp.nactions;
	ck_assert_int_ge(nact, 5);
	/* an action of one kind sets the flags the item proposes */
	for (size_t i = 0; i < nact; i++)
		for (size_t k = 0; k < c.nitems; k++)
			if (c.items[k].selected && c.items[k].ino == rp.actions[i].ino &&
			    rp.actions[i].kinds == VA_KIND_BIT(c.items[k].kind))
				ck_assert_uint_eq(rp.actions[i].new_flags, c.items[k].new_flags);
	before = debugfs_dump(img, (uint32_t)ninodes);
	want = expected_after(before, (uint32_t)ninodes, &rp);

	ck_assert_int_eq(tui_engine_apply(x.e, &rp), 0);
	ck_assert_int_eq(rp.nactions, 0);       /* taken */
	collect(x.e, &a);
	ck_assert_msg(a.done.status == 0, "apply: %d, %s; errors: %s", a.done.status, a.done.text,
		      dbuf_str(&a.errors));
	ck_assert_str_eq(a.done.journal, journal);
	ck_assert_int_eq(a.nresults, nact);
	for (size_t i = 0; i < a.nresults; i++)
		ck_assert_msg(a.results[i].res == TUI_RES_DONE, "inode %llu: %s %s",
			      (unsigned long long)a.results[i].ino, tui_result_word(a.results[i].res),
			      a.results[i].why);
	{
		char want_text[64];

		snprintf(want_text, sizeof(want_text), "%zu done, 0 skipped, 0 failed", nact);
		ck_assert_str_eq(a.done.text, want_text);
	}
	ck_assert_int_eq(a.done.progress.total, nact);
	ck_assert_int_eq(a.done.progress.done, nact);
	ck_assert_int_eq(journal_intents_done(journal), nact);
	after = debugfs_dump(img, (uint32_t)ninodes);
	assert_inodes(after, want, (uint32_t)ninodes, "after apply");
	free(after);

	/* a new scan reads the disk again (not the read-only handle's caches) */
	scan(&x, &r);
	assert_same_keys(&r, batch);
	for (size_t i = 0; i < c.nitems; i++)
		for (size_t k = 0; c.items[i].selected && k < r.nitems; k++)
			ck_assert_msg(r.items[k].ino != c.items[i].ino || r.items[k].kind != c.items[i].kind,
				      "inode %llu: %s still found after its repair",
				      (unsigned long long)c.items[i].ino, va_kind_name(c.items[i].kind));
	collected_release(&r);

	ck_assert_int_eq(tui_engine_undo(x.e, journal), 0);
	collect(x.e, &u);
	ck_assert_msg(u.done.status == 0, "undo: %d, %s; errors: %s", u.done.status, u.done.text,
		      dbuf_str(&u.errors));
	ck_assert_str_eq(u.done.journal, "");
	ck_assert_int_eq(u.nresults, nact);
	for (size_t i = 0; i < u.nresults; i++)
		ck_assert_int_eq(u.results[i].res, TUI_RES_UNDONE);
	after = debugfs_dump(img, (uint32_t)ninodes);
	assert_inodes(after, before, (uint32_t)ninodes, "after undo");
	free(after);
	collected_release(&a);
	collected_release(&u);

	/* a second apply of the session gets a journal of its own */
	for (size_t i = 0; i < c.nitems; i++)
		if (c.items[i].selected) {
			struct va_finding f = finding_of(&c.items[i]);

			ck_assert_int_eq(va_repair_add(&rp, &f, &x.ro), 0);
		}
	ck_assert_int_eq(rp.nactions, nact);
	ck_assert_int_eq(tui_engine_apply(x.e, &rp), 0);
	collect(x.e, &a);
	ck_assert_int_eq(a.done.status, 0);
	ck_assert_str_eq(a.done.journal, journal2);
	after = debugfs_dump(img, (uint32_t)ninodes);
	assert_inodes(after, want, (uint32_t)ninodes, "after the second apply");
	free(after);
	ck_assert_int_eq(tui_engine_undo(x.e, journal2), 0);
	collect(x.e, &u);
	ck_assert_int_eq(u.done.status, 0);
	after = debugfs_dump(img, (uint32_t)ninodes);
	assert_inodes(after, before, (uint32_t)ninodes, "after the second undo");
	free(after);

	collected_release(&a);
	collected_release(&u);
	collected_release(&c);
	free(before);
	free(want);
	sess_close(&x);
	free(journal);
	free(journal2);
	free(img);
	free(dir);
}
END_TEST

START_TEST(cancel_scan_and_apply)
{
	char *dir, *img = fixture_copy(&dir);
	char *journal = tu_strdupf("%s/cancel.journal", dir);
	struct inode_state *before, *want, *after;
	struct va_repair rp = { 0 };
	struct collected c, a, u;
	size_t full, ninodes, ndone = 0;
	struct sess x;

	sess_image(&x, img, journal);
	ninodes = x.img->fs->super->s_inodes_count;
	scan(&x, &c);
	full = c.nitems;
	collected_release(&c);

	ck_assert_int_eq(tui_engine_scan(x.e), 0);
	tui_engine_cancel(x.e);
	ck_assert_int_eq(tui_engine_scan(x.e), -EBUSY);
	collect(x.e, &c);
	ck_assert_int_eq(c.done.status, -ECANCELED);
	ck_assert_msg(c.nitems < full, "cancelled scan sent all %zu items", full);
	collected_release(&c);

	/* an apply cancelled at once: what it did (if anything) is journaled and undoable */
	scan(&x, &c);
	for (size_t i = 0; i < c.nitems; i++)
		if (c.items[i].selectable) {
			struct va_finding f = finding_of(&c.items[i]);

			ck_assert_int_eq(va_repair_add(&rp, &f, &x.ro), 0);
		}
	before = debugfs_dump(img, (uint32_t)ninodes);
	want = malloc((ninodes + 1) * sizeof(*want));
	ck_assert(want != NULL);
	memcpy(want, before, (ninodes + 1) * sizeof(*want));
	{
		/* keep the actions' targets: the engine takes rp */
		struct va_action *acts = calloc(rp.nactions, sizeof(*acts));
		size_t nact = rp.nactions;

		ck_assert(acts != NULL);
		memcpy(acts, rp.actions, nact * sizeof(*acts));
		ck_assert_int_eq(tui_engine_apply(x.e, &rp), 0);
		tui_engine_cancel(x.e);
		collect(x.e, &a);
		ck_assert_int_eq(a.done.status, -ECANCELED);
		ck_assert_msg(a.nresults < nact, "all %zu actions done despite the cancel", nact);
		for (size_t i = 0; i < a.nresults; i++) {
			ck_assert_int_eq(a.results[i].res, TUI_RES_DONE);
			for (size_t k = 0; k < nact; k++)
				if (acts[k].ino == a.results[i].ino) {
					want[acts[k].ino].flags = acts[k].new_flags;
					want[acts[k].ino].mode = acts[k].new_mode & 07777;
				}
			ndone++;
		}
		free(acts);
	}
	ck_assert_str_eq(a.done.journal, journal);
	ck_assert_int_eq(journal_intents_done(journal), ndone);
	after = debugfs_dump(img, (uint32_t)ninodes);
	assert_inodes(after, want, (uint32_t)ninodes, "after a cancelled apply");
	free(after);

	ck_assert_int_eq(tui_engine_undo(x.e, journal), 0);
	collect(x.e, &u);
	ck_assert_int_eq(u.done.status, 0);
	ck_assert_int_eq(u.nresults, ndone);
	after = debugfs_dump(img, (uint32_t)ninodes);
	assert_inodes(after, before, (uint32_t)ninodes, "after undoing a cancelled apply");
	free(after);

	collected_release(&a);
	collected_release(&u);
	collected_release(&c);
	free(before);
	free(want);
	sess_close(&x);
	free(journal);
	free(img);
	free(dir);
}
END_TEST

START_TEST(plan_from_vaudit)
{
	char *dir, *img = fixture_copy(&dir);
	char *plan = tu_strdupf("%s/fix.plan", dir);
	const char *argv[] = { vaudit_bin(), "--image", img, "--prefix", "/vservers", "--plan", plan, NULL };
	struct va_error err = VA_ERROR_INIT;
	struct va_repair rp = { 0 };
	struct collected c, a;
	struct sess x;
	FILE *fp;
	char line[65536];
	size_t lineno = 0;

	ck_assert(tu_run_ok(tu_run_quiet(argv, NULL)));
	sess_image(&x, img, NULL);
	ck_assert_int_eq(tui_engine_load_plan(x.e, plan), 0);
	collect(x.e, &c);
	ck_assert_msg(c.done.status == 0, "plan: %d; errors: %s", c.done.status, dbuf_str(&c.errors));
	ck_assert_int_eq(c.done.progress.job, TUI_JOB_PLAN);

	/* one item per action line, in order, with the plan's values */
	fp = fopen(plan, "re");
	ck_assert(fp != NULL);
	while (fgets(line, sizeof(line), fp)) {
		json_object *o = json_tokener_parse(line), *v;
		const struct tui_item *it;

		ck_assert(o != NULL);
		if (lineno++ == 0) {
			json_object_put(o);
			continue;
		}
		ck_assert_int_le(lineno - 1, c.nitems);
		it = &c.items[lineno - 2];
		ck_assert(it->from_plan && it->selectable && it->has_proposal);
		ck_assert(json_object_object_get_ex(o, "ino", &v));
		ck_assert_uint_eq(it->ino, (uint64_t)json_object_get_int64(v));
		ck_assert(json_object_object_get_ex(o, "flags", &v));
		ck_assert_uint_eq(it->flags, strtoul(json_object_get_string(v), NULL, 16));
		ck_assert(json_object_object_get_ex(o, "new_flags", &v));
		ck_assert_uint_eq(it->new_flags, strtoul(json_object_get_string(v), NULL, 16));
		ck_assert(json_object_object_get_ex(o, "new_mode", &v));
		ck_assert_uint_eq(it->new_mode & 07777, strtoul(json_object_get_string(v), NULL, 8));
		json_object_put(o);
	}
	fclose(fp);
	ck_assert_int_ge(lineno, 6);
	ck_assert_int_eq(c.nitems, lineno - 1);

	/* the plan's actions applied through the engine: all done, once */
	ck_assert_int_eq(va_plan_read(&rp, plan, x.img, "/vservers", &err), 0);
	ck_assert_int_eq(rp.nactions, c.nitems);
	x.s.journal = tu_strdupf("%s/plan.journal", dir);
	ck_assert_int_eq(tui_engine_apply(x.e, &rp), 0);
	collect(x.e, &a);
	ck_assert_msg(a.done.status == 0, "apply: %s", dbuf_str(&a.errors));
	ck_assert_int_eq(a.nresults, c.nitems);
	for (size_t i = 0; i < a.nresults; i++)
		ck_assert_int_eq(a.results[i].res, TUI_RES_DONE);
	free((char *)x.s.journal);

	collected_release(&a);
	collected_release(&c);
	sess_close(&x);
	free(plan);
	free(img);
	free(dir);
}
END_TEST

/* ================================================================ without root */

/* ROOT/g1/shared and ROOT/g2/shared: one inode, not immutable (shared-unprotected). */
static char *make_tree(void)
{
	char *dir = tu_subdir("live");
	char *root = tu_strdupf("%s/vservers", dir);
	char *cmd = tu_strdupf("set -e; cd '%s'; mkdir -p g1/etc g2/etc g3; echo x > g1/etc/shared; "
			       "ln g1/etc/shared g2/etc/shared; echo y > g3/private; "
			       "ln g1/etc/shared g3/also", root);
	const char *argv[] = { "sh", "-c", cmd, NULL };

	ck_assert(mkdir(root, 0755) == 0);
	ck_assert(tu_run_ok(tu_run(argv, NULL, 0, NULL)));
	free(cmd);
	free(dir);
	return root;
}

START_TEST(scan_live_like_batch)
{
	char *root = make_tree();
	const char *roots[] = { root };
	const char *const batch[] = { "--no-device-read", root, NULL };
	struct collected c;
	struct sess x;

	sess_live(&x, roots, 1);
	scan(&x, &c);
	ck_assert_int_ge(c.nitems, 1);
	/* without the vserver syscall (mainline) that is said as a notice, never
	 * as a scan error (the apply confirmation would warn of missed entries) */
	ck_assert_msg(c.nerrors == 0, "errors: %s", dbuf_str(&c.errors));
	if (x.be->vs26_errno)
		ck_assert_uint_ge(c.nnotices, 1);
	assert_same_keys(&c, batch);
	ck_assert_int_ge(c.done.progress.entries, 7);
	/* a directory tree, not the root of a filesystem: no total is known */
	ck_assert_uint_eq(c.done.progress.total, 0);
	collected_release(&c);
	sess_close(&x);
	free(root);
}
END_TEST

/*
 * The usage job: the figures of audit/usage.h for the session's ROOTs (the
 * same as a direct run), cancelled at once on a tree of 3000 more entries,
 * and refused for an image session.
 */
/* The engine's usage @got is, figure for figure, the direct call's @want. */
static void assert_same_usage(const struct va_usage *got, const struct va_usage *want)
{
	ck_assert_uint_eq(got->nguests, want->nguests);
	ck_assert(memcmp(&got->total, &want->total, sizeof(want->total)) == 0);
	for (size_t i = 0; i < want->nguests; i++) {
		const struct va_usage_guest *a = &got->guests[i], *b = &want->guests[i];

		ck_assert_str_eq(a->name, b->name);
		ck_assert(memcmp(&a->all, &b->all, sizeof(a->all)) == 0);
		ck_assert(memcmp(&a->priv, &b->priv, sizeof(a->priv)) == 0);
		ck_assert(memcmp(&a->shared, &b->shared, sizeof(a->shared)) == 0);
		ck_assert(memcmp(&a->reclaim, &b->reclaim, sizeof(a->reclaim)) == 0);
	}
}

START_TEST(usage_live_and_cancel)
{
	char *root = make_tree();
	const char *roots[] = { root };
	struct va_usage want = { 0 };
	struct collected c;
	struct sess x;
	char *cmd = tu_strdupf("cd '%s/g3' && mkdir many && cd many && i=0 && "
			       "while [ $i -lt 3000 ]; do : > f$i; i=$((i + 1)); done", root);
	const char *argv[] = { "sh", "-c", cmd, NULL };

	sess_live(&x, roots, 1);
	ck_assert_int_eq(tui_engine_usage(x.e), 0);
	ck_assert_int_eq(tui_engine_usage(x.e), -EBUSY);
	collect(x.e, &c);
	ck_assert_int_eq(c.done.status, 0);
	ck_assert_ptr_nonnull(c.done.usage);
	ck_assert_int_eq(va_usage_run(&(struct va_usage_args){ .roots = roots, .nroots = 1 }, &want), 0);
	ck_assert_uint_eq(c.done.usage->nguests, 3);
	assert_same_usage(c.done.usage, &want);
	/* g1/etc/shared has names in all three guests */
	ck_assert_uint_eq(want.total.shared.files, 1);
	{
		char *text = tu_strdupf("3 guests, %llu files, 0 errors",
					(unsigned long long)want.total.all.files);

		ck_assert_str_eq(c.done.text, text);
		free(text);
	}
	va_usage_release(c.done.usage);
	free(c.done.usage);
	va_usage_release(&want);
	collected_release(&c);

	ck_assert(tu_run_ok(tu_run(argv, NULL, 0, NULL)));
	ck_assert_int_eq(tui_engine_usage(x.e), 0);
	tui_engine_cancel(x.e);
	collect(x.e, &c);
	ck_assert_int_eq(c.done.status, -ECANCELED);
	ck_assert_ptr_null(c.done.usage);
	ck_assert_str_eq(c.done.text, "cancelled");
	collected_release(&c);
	sess_close(&x);

	free(cmd);
	free(root);
}
END_TEST

/* An image session: the usage of its prefix, read offline, as a direct call computes it. */
START_TEST(usage_image)
{
	char *dir, *image = fixture_copy(&dir);
	struct va_usage want = { 0 };
	struct va_error ie = VA_ERROR_INIT;
	struct collected c;
	struct sess x;

	sess_image(&x, image, NULL);
	ck_assert_int_eq(tui_engine_usage(x.e), 0);
	collect(x.e, &c);
	ck_assert_int_eq(c.done.status, 0);
	ck_assert_ptr_nonnull(c.done.usage);
	ck_assert_int_eq(va_usage_run(&(struct va_usage_args){ .roots = image_roots, .nroots = 1,
							       .img = x.img, .img_err = &ie }, &want), 0);
	ck_assert(!va_error_is_set(&ie));
	ck_assert_uint_gt(want.nguests, 0);
	assert_same_usage(c.done.usage, &want);
	va_usage_release(c.done.usage);
	free(c.done.usage);
	va_usage_release(&want);
	collected_release(&c);
	sess_close(&x);
	free(image);
	free(dir);
}
END_TEST

/* Write @text to DIR/NAME; returns the path. */
static char *write_plan(const char *dir, const char *name, const char *text)
{
	char *p = tu_strdupf("%s/%s", dir, name);
	FILE *fp = fopen(p, "we");

	ck_assert(fp != NULL);
	fputs(text, fp);
	ck_assert(fclose(fp) == 0);
	return p;
}

START_TEST(plan_errors)
{
	char *dir = tu_subdir("plans");
	const char *roots[] = { dir };
	char *missing = tu_strdupf("%s/none.plan", dir), *want;
	char *bad = write_plan(dir, "bad.plan",
			       "{\"vaudit_plan\":1,\"backend\":\"live\",\"uuid\":\"unknown\"}\nnot json\n");
	char *forimg = write_plan(dir, "img.plan",
				  "{\"vaudit_plan\":1,\"backend\":\"image\",\"uuid\":\"unknown\"}\n");
	char *good = write_plan(dir, "good.plan",
				"{\"vaudit_plan\":1,\"backend\":\"live\",\"uuid\":\"unknown\"}\n"
				"{\"action\":\"set-flags\",\"kinds\":[\"legacy-iunlink\"],\"path\":\"/v/g1/x\","
				"\"dev\":\"8:1\",\"ino\":42,\"generation\":null,\"flags\":\"0x00008010\","
				"\"mode\":\"0644\",\"new_flags\":\"0x08000010\",\"new_mode\":\"0644\"}\n");
	struct collected c;
	struct sess x;

	sess_live(&x, roots, 1);

	ck_assert_int_eq(tui_engine_load_plan(x.e, missing), 0);
	collect(x.e, &c);
	ck_assert_int_eq(c.done.status, -ENOENT);
	want = tu_strdupf("'%s': cannot read the plan: %s\n", missing, strerror(ENOENT));
	ck_assert_str_eq(dbuf_str(&c.errors), want);
	ck_assert_int_eq(c.nitems, 0);
	free(want);
	collected_release(&c);

	ck_assert_int_eq(tui_engine_load_plan(x.e, bad), 0);
	collect(x.e, &c);
	ck_assert_int_eq(c.done.status, -EINVAL);
	want = tu_strdupf("'%s': not a usable plan (line 2): not a JSON object\n", bad);
	ck_assert_str_eq(dbuf_str(&c.errors), want);
	free(want);
	collected_release(&c);

	ck_assert_int_eq(tui_engine_load_plan(x.e, forimg), 0);
	collect(x.e, &c);
	ck_assert_int_eq(c.done.status, -EINVAL);
	want = tu_strdupf("'%s': not a usable plan (line 1): a plan for an image: give it with --image\n",
			  forimg);
	ck_assert_str_eq(dbuf_str(&c.errors), want);
	free(want);
	collected_release(&c);

	ck_assert_int_eq(tui_engine_load_plan(x.e, good), 0);
	collect(x.e, &c);
	ck_assert_int_eq(c.done.status, 0);
	ck_assert_int_eq(c.nerrors, 0);
	ck_assert_int_eq(c.nitems, 1);
	/* live without the vserver syscall a 2.6 bit cannot be set: said before selecting */
	ck_assert(c.items[0].from_plan);
	if (x.be->caps & VA_CAP_VS26_WRITE)
		ck_assert(c.items[0].selectable && !c.items[0].blocked);
	else
		ck_assert(!c.items[0].selectable && c.items[0].blocked &&
			  strstr(c.items[0].blocked, "--image"));
	ck_assert_uint_eq(c.items[0].ino, 42);
	ck_assert_uint_eq(c.items[0].dev, makedev(8, 1));
	ck_assert_uint_eq(c.items[0].new_flags, 0x08000010);
	ck_assert_int_eq(c.items[0].where.path_len, 7);
	ck_assert(memcmp(c.items[0].where.path, "/v/g1/x", 7) == 0);
	collected_release(&c);

	sess_close(&x);
	free(missing);
	free(bad);
	free(forimg);
	free(good);
	free(dir);
}
END_TEST

/*
 * A change inside a guest that may be running is marked before it is
 * selected, as the repair would skip it; with --force it is selectable.
 * Ground truth: the guest the session's configuration says runs (g1).
 */
START_TEST(running_guest_blocked)
{
	char *dir = tu_subdir("running");
	char *root = tu_strdupf("%s/v", dir), *g1 = tu_strdupf("%s/g1", root);
	char *plan_text = tu_strdupf(
		"{\"vaudit_plan\":1,\"backend\":\"live\",\"uuid\":\"unknown\"}\n"
		"{\"action\":\"set-flags\",\"kinds\":[\"legacy-notail\"],\"path\":\"%s/g1/x\","
		"\"dev\":\"8:1\",\"ino\":42,\"generation\":null,\"flags\":\"0x00008000\","
		"\"mode\":\"0644\",\"new_flags\":\"0x00000000\",\"new_mode\":\"0644\"}\n"
		"{\"action\":\"set-flags\",\"kinds\":[\"legacy-notail\"],\"path\":\"%s/g2/y\","
		"\"dev\":\"8:1\",\"ino\":43,\"generation\":null,\"flags\":\"0x00008000\","
		"\"mode\":\"0644\",\"new_flags\":\"0x00000000\",\"new_mode\":\"0644\"}\n", root, root);
	char *plan = write_plan(dir, "p.plan", plan_text);
	const char *roots[] = { root };
	const char *running[] = { g1, NULL };
	struct collected c;
	struct sess x;

	ck_assert_int_eq(mkdir(root, 0755), 0);
	ck_assert_int_eq(mkdir(g1, 0755), 0);
	for (int force = 0; force <= 1; force++) {
		sess_live(&x, roots, 1);
		x.ro.running_vdirs = running;
		x.ro.force = force;
		ck_assert_int_eq(tui_engine_load_plan(x.e, plan), 0);
		collect(x.e, &c);
		ck_assert_int_eq(c.done.status, 0);
		ck_assert_int_eq(c.nitems, 2);
		for (size_t i = 0; i < c.nitems; i++) {
			bool in_g1 = c.items[i].ino == 42;

			if (in_g1 && !force) {
				ck_assert(!c.items[i].selectable);
				ck_assert_ptr_eq(c.items[i].blocked, tui_blocked_running);
			} else {
				ck_assert(c.items[i].selectable);
				ck_assert_ptr_null(c.items[i].blocked);
			}
		}
		collected_release(&c);
		sess_close(&x);
	}
	free(plan);
	free(plan_text);
	free(g1);
	free(root);
	free(dir);
}
END_TEST

START_TEST(busy_and_free_while_running)
{
	char *root = make_tree();
	const char *roots[] = { root };
	struct va_repair rp = { 0 };
	struct collected c;
	struct sess x;

	sess_live(&x, roots, 1);
	ck_assert_int_eq(tui_engine_busy(x.e), TUI_JOB_NONE);
	tui_engine_wait(x.e);           /* nothing runs: returns at once */
	ck_assert_int_eq(tui_engine_scan(x.e), 0);
	ck_assert_int_eq(tui_engine_busy(x.e), TUI_JOB_SCAN);
	ck_assert_int_eq(tui_engine_load_plan(x.e, "/nonexistent"), -EBUSY);
	ck_assert_int_eq(tui_engine_undo(x.e, "/nonexistent"), -EBUSY);
	rp.nactions = 0;
	ck_assert_int_eq(tui_engine_apply(x.e, &rp), -EBUSY);
	tui_engine_wait(x.e);
	/* ended, but busy until the UI has seen its DONE */
	ck_assert_int_eq(tui_engine_busy(x.e), TUI_JOB_SCAN);
	ck_assert_int_eq(tui_engine_scan(x.e), -EBUSY);
	collect(x.e, &c);
	ck_assert_int_eq(c.done.status, 0);
	collected_release(&c);

	/* an apply with nothing in it: no journal, nothing to do */
	ck_assert_int_eq(tui_engine_apply(x.e, &rp), 0);
	collect(x.e, &c);
	ck_assert_int_eq(c.done.status, 0);
	ck_assert_str_eq(c.done.journal, "");
	ck_assert_str_eq(c.done.text, "nothing to repair");
	collected_release(&c);

	/* freed while a job runs and its messages wait: cancelled, joined, released */
	ck_assert_int_eq(tui_engine_scan(x.e), 0);
	sess_close(&x);
	free(root);
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("tui_engine");
	TCase *live = tcase_create("live");
	TCase *image = tcase_create("image");
	const char *no_root = geteuid() != 0 ? "needs root (mkfixture.sh loop-mounts)" :
			      !tu_have("debugfs") || !tu_have("mke2fs") || !tu_have("losetup") ?
			      "debugfs, mke2fs or losetup missing" : NULL;

	tcase_set_timeout(live, 60);
	tu_tcase_tmpdir(live, false);
	tu_add_test(live, scan_live_like_batch, NULL);
	tu_add_test(live, plan_errors, NULL);
	tu_add_test(live, running_guest_blocked, NULL);
	tu_add_test(live, busy_and_free_while_running, NULL);
	tu_add_test(live, usage_live_and_cancel, NULL);
	suite_add_tcase(s, live);

	tcase_set_timeout(image, 300);
	tu_tcase_tmpdir(image, true);
	if (!no_root)
		tcase_add_unchecked_fixture(image, build_fixture, drop_fixture);
	tu_add_test(image, scan_image_like_batch, no_root);
	tu_add_test(image, apply_and_undo_image, no_root);
	tu_add_test(image, cancel_scan_and_apply, no_root);
	tu_add_test(image, plan_from_vaudit, no_root);
	tu_add_test(image, usage_image, no_root);
	suite_add_tcase(s, image);
	return s;
}

int main(void)
{
	return tu_main(engine_suite());
}
