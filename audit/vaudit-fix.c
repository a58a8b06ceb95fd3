/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vaudit-fix.c - the repair commands of vaudit: --fix, --plan, --undo and
 * --resume.  The engine is migrate/repair.c; this file opens journals and
 * plans, prints what happens and decides the exit status.
 *
 * Plans are JSON Lines, read with json-c: a header object, then one object
 * per action (schema in vaudit(8)).  Journals of vunify and vhashify runs
 * (backend "unify") are replayed by va_unify_replay() (migrate/unify.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit/checks.h"
#include "audit/vaudit.h"
#include "core/escape.h"
#include "core/flags.h"
#include "migrate/unify.h"

#define JOURNAL_DIR "/var/lib/vaudit"

/* ------------------------------------------------------------------ identity */

/* Absolute form of the image path or of the ROOTs ('\n'-separated). */
static int source_text(const struct fix_args *fa, struct dbuf *out)
{
	char real[PATH_MAX];

	if (fa->image)
		return dbuf_adds(out, realpath(fa->image, real) ? real : fa->image);
	for (size_t i = 0; i < fa->nroots; i++) {
		if (!realpath(fa->roots[i], real))
			return -errno;
		if ((i && dbuf_addc(out, '\n') < 0) || dbuf_adds(out, real) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------------ events */

static void print_state(struct dbuf *b, uint32_t flags, uint32_t mode)
{
	char vs[5];

	dbuf_addf(b, "0x%08x %s %04o", flags, va_vsattr_letters(flags, true, true, vs), mode & 07777);
}

static void on_event(enum va_repair_event ev, const struct va_action *a, const char *why, int err,
		     void *user)
{
	static const char *const word[] = { "would", "done", "skipped", "FAILED" };
	struct dbuf b = DBUF_INIT;

	(void)user;
	dbuf_addf(&b, "%-8s ", word[ev]);
	print_state(&b, a->old_flags, a->old_mode);
	dbuf_adds(&b, " -> ");
	print_state(&b, a->new_flags, a->new_mode);
	dbuf_addc(&b, ' ');
	va_escape_shell(&b, a->path, a->path_len);
	if (why)
		dbuf_addf(&b, ": %s", why);
	if (err)
		dbuf_addf(&b, ": %s", va_image_strerror(err));
	dbuf_addc(&b, '\n');
	/* what was (or would be) done on stdout; what was not, on stderr */
	if (ev == VA_EV_SKIPPED || ev == VA_EV_FAILED)
		fflush(stdout);
	fwrite(b.buf, 1, b.len, ev == VA_EV_SKIPPED || ev == VA_EV_FAILED ? stderr : stdout);
	dbuf_release(&b);
}

static int exit_for(const unsigned counts[4], int r)
{
	fflush(stdout);
	fprintf(stderr, "%s: %u done, %u skipped, %u failed%s", PROG, counts[VA_EV_DONE],
		counts[VA_EV_SKIPPED], counts[VA_EV_FAILED], counts[VA_EV_PLANNED] ? "" : "\n");
	if (counts[VA_EV_PLANNED])
		fprintf(stderr, ", %u would be changed (dry run)\n", counts[VA_EV_PLANNED]);
	if (r < 0 || counts[VA_EV_FAILED])
		return EXIT_TROUBLE;
	return counts[VA_EV_SKIPPED] ? EXIT_FINDINGS : EXIT_CLEAN;
}

/* ------------------------------------------------------------------ journal file */

static int default_journal(struct dbuf *out)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	if (mkdir(JOURNAL_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	return dbuf_addf(out, "%s/vaudit-%s-%ld.journal", JOURNAL_DIR, stamp, (long)getpid());
}

/* ------------------------------------------------------------------ plans */

static void json_str(struct dbuf *b, const char *key, const char *s, size_t len)
{
	if (va_utf8_valid(s, len)) {
		dbuf_addf(b, ",\"%s\":", key);
		va_escape_json(b, s, len);
	} else {
		dbuf_addf(b, ",\"%s_b64\":\"", key);
		va_base64(b, s, len);
		dbuf_addc(b, '"');
	}
}

static int write_plan(struct ctx *c, struct va_backend *be, const struct fix_args *fa)
{
	struct dbuf b = DBUF_INIT, src = DBUF_INIT;
	char uuid[40];
	FILE *fp;
	int r;

	va_image_uuid(fa->img, fa->roots[0], uuid);
	if ((r = source_text(fa, &src)) < 0) {
		msg_reason(fa->roots[0], strlen(fa->roots[0]), "resolving ROOT", strerror(-r));
		return EXIT_TROUBLE;
	}
	fp = fopen(fa->plan_out, "we");
	if (!fp) {
		msg_reason(fa->plan_out, strlen(fa->plan_out), "cannot write the plan", strerror(errno));
		dbuf_release(&src);
		return EXIT_TROUBLE;
	}
	dbuf_addf(&b, "{\"vaudit_plan\":1,\"backend\":\"%s\",\"uuid\":\"%s\"",
		  fa->img ? "image" : "live", uuid);
	json_str(&b, "source", src.buf, src.len);
	dbuf_adds(&b, "}\n");
	for (size_t i = 0; i < c->repair->nactions; i++) {
		const struct va_action *a = &c->repair->actions[i];
		struct va_attrs at = { 0 };
		struct va_attr_target t = { .fd = -1, .dir_fd = -1, .dev = a->dev, .ino = a->ino };
		bool first = true;

		dbuf_adds(&b, "{\"action\":\"set-flags\",\"kinds\":[");
		for (int k = 0; k < VA_KIND_COUNT; k++)
			if (a->kinds & VA_KIND_BIT(k)) {
				dbuf_addf(&b, "%s\"%s\"", first ? "" : ",", va_kind_name(k));
				first = false;
			}
		dbuf_addc(&b, ']');
		json_str(&b, "path", a->path, a->path_len);
		dbuf_addf(&b, ",\"dev\":\"%u:%u\",\"ino\":%llu", major(a->dev), minor(a->dev),
			  (unsigned long long)a->ino);
		/* live: as the audit read it; image: by inode number, now */
		if (a->gen_known)
			dbuf_addf(&b, ",\"generation\":%u", a->gen);
		else if (fa->img && va_backend_read(be, &t, &at) == 0 && at.gen_known)
			dbuf_addf(&b, ",\"generation\":%u", at.gen);
		else
			dbuf_adds(&b, ",\"generation\":null");
		dbuf_addf(&b, ",\"flags\":\"0x%08x\",\"mode\":\"%04o\",\"new_flags\":\"0x%08x\",\"new_mode\":\"%04o\"}\n",
			  a->old_flags, a->old_mode & 07777, a->new_flags, a->new_mode & 07777);
	}
	r = fwrite(b.buf, 1, b.len, fp) == b.len ? 0 : -EIO;
	if (fclose(fp) != 0)
		r = -errno;
	dbuf_release(&b);
	dbuf_release(&src);
	if (r < 0) {
		msg_reason(fa->plan_out, strlen(fa->plan_out), "cannot write the plan", strerror(-r));
		return EXIT_TROUBLE;
	}
	fprintf(stderr, "%s: plan: %zu actions written to %s\n", PROG, c->repair->nactions, fa->plan_out);
	return EXIT_CLEAN;
}

/* Field accessors for plan objects: false when missing or of the wrong type. */
static bool get_hex(json_object *o, const char *key, int base, uint64_t max, uint64_t *ret)
{
	json_object *v;
	const char *s;
	char *end;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return false;
	s = json_object_get_string(v);
	errno = 0;
	*ret = strtoull(s, &end, base);
	return *s && *s != '-' && !errno && !*end && *ret <= max;
}

static bool get_bytes(json_object *o, const char *key, struct dbuf *out)
{
	json_object *v;
	char k64[64];

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		return dbuf_add(out, json_object_get_string(v), (size_t)json_object_get_string_len(v)) == 0;
	snprintf(k64, sizeof(k64), "%s_b64", key);
	return json_object_object_get_ex(o, k64, &v) && json_object_is_type(v, json_type_string) &&
	       va_unbase64(out, json_object_get_string(v), (size_t)json_object_get_string_len(v)) == 0;
}

static const char *plan_action(json_object *o, struct va_action *a)
{
	json_object *v;
	struct dbuf path = DBUF_INIT;
	uint64_t x;

	memset(a, 0, sizeof(*a));
	if (!json_object_object_get_ex(o, "action", &v) || !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "set-flags") != 0)
		return "unknown or missing \"action\"";
	if (!json_object_object_get_ex(o, "kinds", &v) || !json_object_is_type(v, json_type_array))
		return "missing \"kinds\"";
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *k = json_object_array_get_idx(v, i);
		int kind = json_object_is_type(k, json_type_string) ?
			   va_kind_parse(json_object_get_string(k)) : -1;

		if (kind < 0 || !(VA_KIND_BIT(kind) & VA_REPAIR_KINDS))
			return "a kind vaudit does not repair";
		a->kinds |= VA_KIND_BIT(kind);
	}
	if (!a->kinds)
		return "empty \"kinds\"";
	if (!json_object_object_get_ex(o, "ino", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) <= 0)
		return "missing or bad \"ino\"";
	a->ino = (uint64_t)json_object_get_int64(v);
	{
		uint64_t ma, mi;
		const char *s;
		char *colon, *end;

		if (!json_object_object_get_ex(o, "dev", &v) || !json_object_is_type(v, json_type_string))
			return "missing \"dev\"";
		s = json_object_get_string(v);
		colon = strchr(s, ':');
		if (!colon)
			return "bad \"dev\"";
		ma = strtoull(s, &end, 10);
		if (end != colon || (mi = strtoull(colon + 1, &end, 10), *end) || ma > 0xfffff || mi > 0xfffff)
			return "bad \"dev\"";
		a->dev = makedev((unsigned)ma, (unsigned)mi);
	}
	if (json_object_object_get_ex(o, "generation", &v) && !json_object_is_type(v, json_type_null)) {
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
		    json_object_get_int64(v) > UINT32_MAX)
			return "bad \"generation\"";
		a->gen = (uint32_t)json_object_get_int64(v);
		a->gen_known = true;
	}
	if (!get_hex(o, "flags", 16, UINT32_MAX, &x))
		return "missing or bad \"flags\"";
	a->old_flags = (uint32_t)x;
	if (!get_hex(o, "new_flags", 16, UINT32_MAX, &x))
		return "missing or bad \"new_flags\"";
	a->new_flags = (uint32_t)x;
	if (!get_hex(o, "mode", 8, 07777, &x))
		return "missing or bad \"mode\"";
	a->old_mode = (uint32_t)x;
	if (!get_hex(o, "new_mode", 8, 07777, &x))
		return "missing or bad \"new_mode\"";
	a->new_mode = (uint32_t)x;
	if (!get_bytes(o, "path", &path) || path.len == 0) {
		dbuf_release(&path);
		return "missing \"path\"";
	}
	a->path = path.buf;
	a->path_len = path.len;
	return NULL;
}

int fix_from_plan(struct ctx *c, const struct fix_args *fa)
{
	const char *file = fa->plan_in;
	FILE *fp = fopen(file, "re");
	char uuid[40];
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	const char *why = NULL;

	if (!fp) {
		msg_reason(file, strlen(file), "cannot read the plan", strerror(errno));
		return EXIT_TROUBLE;
	}
	while (!why && (n = getline(&line, &cap, fp)) >= 0) {
		json_object *o;

		lineno++;
		if ((size_t)n != strlen(line)) {
			why = "a NUL byte";
			break;
		}
		o = json_tokener_parse(line);
		if (!o || !json_object_is_type(o, json_type_object)) {
			why = "not a JSON object";
		} else if (lineno == 1) {
			json_object *v, *b, *u;

			va_image_uuid(fa->img, fa->roots[0], uuid);
			if (!json_object_object_get_ex(o, "vaudit_plan", &v) ||
			    !json_object_is_type(v, json_type_int) || json_object_get_int(v) != 1 ||
			    !json_object_object_get_ex(o, "backend", &b) ||
			    !json_object_is_type(b, json_type_string) ||
			    !json_object_object_get_ex(o, "uuid", &u) ||
			    !json_object_is_type(u, json_type_string))
				why = "not a vaudit plan (bad header)";
			else if (strcmp(json_object_get_string(b), fa->img ? "image" : "live"))
				why = fa->img ? "a plan for a live tree, not for an image" :
						"a plan for an image: give it with --image";
			else if (strcmp(json_object_get_string(u), "unknown") && strcmp(uuid, "unknown") &&
				 strcmp(json_object_get_string(u), uuid))
				why = "a plan for another filesystem (UUID differs)";
		} else {
			struct va_action a;

			why = plan_action(o, &a);
			if (!why) {
				if (va_array_grow(&c->repair->actions, &c->repair->capactions,
						  c->repair->nactions, sizeof(a)) < 0) {
					free(a.path);
					why = "out of memory";
				} else {
					c->repair->actions[c->repair->nactions++] = a;
				}
			}
		}
		json_object_put(o);
	}
	free(line);
	fclose(fp);
	if (!why && lineno == 0)
		why = "empty plan", lineno = 1;
	if (why) {
		char what[96];

		snprintf(what, sizeof(what), "not a usable plan (line %zu)", lineno);
		msg_reason(file, strlen(file), what, why);
		return EXIT_TROUBLE;
	}
	return 0;
}

/* ------------------------------------------------------------------ --fix */

int fix_after_audit(struct ctx *c, struct va_backend *be, const struct fix_args *fa,
		    const struct va_audit_stats *stats)
{
	struct va_repair_hooks h = { .event = on_event };
	struct va_journal *j = NULL;
	struct dbuf jfile = DBUF_INIT, src = DBUF_INIT;
	char uuid[40];
	int r;

	if (c->repair_error) {
		fprintf(stderr, "%s: %s\n", PROG, strerror(c->repair_error));
		return EXIT_TROUBLE;
	}
	if (stats->errors && !c->ropts.force) {
		fprintf(stderr, "%s: the audit met errors (above): nothing changed; "
			"--force repairs what it found anyway\n", PROG);
		return EXIT_TROUBLE;
	}
	if (fa->plan_out)
		return write_plan(c, be, fa);
	if (!c->repair->nactions) {
		fprintf(stderr, "%s: nothing to repair\n", PROG);
		return EXIT_CLEAN;
	}
	if (!c->ropts.dry_run) {
		va_image_uuid(fa->img, fa->roots[0], uuid);
		r = source_text(fa, &src);
		if (r == 0)
			r = fa->journal ? dbuf_adds(&jfile, fa->journal) : default_journal(&jfile);
		if (r == 0)
			r = va_journal_create(&j, jfile.buf, fa->img ? "image" : "live", uuid, src.buf, src.len);
		if (r < 0) {
			msg_reason(jfile.len ? jfile.buf : JOURNAL_DIR, jfile.len ? jfile.len : strlen(JOURNAL_DIR),
				   "cannot create the journal", strerror(-r));
			dbuf_release(&jfile);
			dbuf_release(&src);
			return EXIT_TROUBLE;
		}
		fprintf(stderr, "%s: journal: %s\n", PROG, jfile.buf);
	}
	r = va_repair_apply(c->repair, be, fa->img ? NULL : fa->roots, fa->img ? 0 : fa->nroots, j,
			    &c->ropts, &h);
	va_journal_free(j);
	dbuf_release(&jfile);
	dbuf_release(&src);
	return exit_for(c->repair->counts, r);
}

/* ------------------------------------------------------------------ unify journals */

struct unify_replay {
	bool undo;
	unsigned counts[4];     /* by enum va_repair_event, as exit_for() wants them */
};

static void on_unify_event(const struct va_uevent *ev, const struct va_ustats *st, void *user)
{
	struct unify_replay *u = user;
	struct dbuf b = DBUF_INIT;
	const char *what = ev->detail;

	(void)st;
	if (ev->type == VA_UEV_GUEST || !ev->path)
		return;
	if (ev->type == VA_UEV_SKIP) {
		/* what was not undone (or failed), on stderr */
		u->counts[ev->skip == VA_USKIP_ERROR ? VA_EV_FAILED : VA_EV_SKIPPED]++;
		fflush(stdout);
		quote(&b, ev->path, ev->path_len);
		fprintf(stderr, "%s: %s: %s %s: %s%s%s%s%s\n", PROG, dbuf_str(&b),
			ev->dry_run ? "would not be" : "not", u->undo ? "undone" : "finished",
			va_uskip_text(ev->skip), ev->detail ? ": " : "", ev->detail ? ev->detail : "",
			ev->err ? ": " : "", ev->err ? strerror(ev->err) : "");
		dbuf_release(&b);
		return;
	}
	u->counts[ev->dry_run ? VA_EV_PLANNED : VA_EV_DONE]++;
	/* the engine's words say "would" in a dry run; the generic ones do not */
	dbuf_addf(&b, "%s%s ", ev->dry_run && !what ? "would " : "", u->undo ? "undo" : "resume");
	va_escape_shell(&b, ev->path, ev->path_len);
	if (!what) {
		switch (ev->type) {
		case VA_UEV_LINK:    what = "linked"; break;
		case VA_UEV_STORE:   what = "store entry"; break;
		case VA_UEV_REVERT:  what = "private copy"; break;
		case VA_UEV_ALREADY: what = "already done"; break;
		case VA_UEV_PROTECT: what = "flags"; break;
		default:             what = "done"; break;
		}
	}
	dbuf_addf(&b, ": %s", what);
	if (ev->type == VA_UEV_PROTECT)
		dbuf_addf(&b, " 0x%08x -> 0x%08x", ev->old_flags, ev->new_flags);
	dbuf_addc(&b, '\n');
	fwrite(b.buf, 1, b.len, stdout);
	dbuf_release(&b);
}

/* --undo / --resume of a vunify or vhashify journal: live, by the paths it names. */
static int replay_unify(const char *file, struct va_journal *j, bool undo, bool dry_run,
			unsigned live_flags)
{
	struct unify_replay u = { .undo = undo };
	struct va_uhooks h = { .event = on_unify_event, .user = &u };
	struct va_uopts o = { 0 };
	struct va_ustats st = { 0 };
	struct va_backend *be = NULL;
	char uuid[40], *first = NULL;
	int r;

	/* the source is the trees, then the stores: the first tree names the filesystem */
	if (j->source) {
		first = strndup(j->source, strcspn(j->source, "\n"));
		if (!first) {
			fprintf(stderr, "%s: %s\n", PROG, strerror(ENOMEM));
			return EXIT_TROUBLE;
		}
	}
	va_image_uuid(NULL, first, uuid);
	free(first);
	if (strcmp(j->uuid, "unknown") && strcmp(uuid, "unknown") && strcmp(j->uuid, uuid)) {
		msg_reason(file, strlen(file), "the journal belongs to another filesystem (UUID differs)", NULL);
		return EXIT_TROUBLE;
	}
	r = va_backend_live_new(&be, live_flags);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", PROG, strerror(-r));
		return EXIT_TROUBLE;
	}
	o.dry_run = dry_run;
	/* the flags to restore come from the journal's 'I' records */
	o.protect = VA_PROTECT_NONE;
	o.be = be;
	o.j = j;
	o.h = &h;
	r = va_unify_replay(j, undo ? VA_REPLAY_UNDO : VA_REPLAY_RESUME, &o, &st);
	va_backend_free(be);
	if (st.failed > u.counts[VA_EV_FAILED])
		u.counts[VA_EV_FAILED] = (unsigned)st.failed;
	if (r < 0) {
		fflush(stdout);
		msg_reason(file, strlen(file), undo ? "the undo stopped" : "the resume stopped", strerror(-r));
	}
	return exit_for(u.counts, r);
}

/* ------------------------------------------------------------------ --undo, --resume */

int replay_journal(const char *file, bool undo, const char *image, bool dry_run, unsigned live_flags)
{
	struct va_repair_hooks h = { .event = on_event };
	struct va_journal *j = NULL;
	struct va_image *img = NULL;
	struct va_backend *be = NULL;
	const char *why;
	size_t line;
	unsigned counts[4] = { 0 };
	char **roots = NULL;
	size_t nroots = 0;
	char uuid[40];
	int r;

	r = va_journal_load(&j, file, &why, &line);
	if (r < 0) {
		char what[64];

		snprintf(what, sizeof(what), "not a usable journal (line %zu)", line);
		msg_reason(file, strlen(file), r == -EINVAL ? what : "cannot read the journal",
			   r == -EINVAL ? why : strerror(-r));
		return EXIT_TROUBLE;
	}
	if (j->dropped_tail)
		msg_reason(file, strlen(file), "its last line is torn (a crash while writing it): ignored", NULL);
	if (strcmp(j->backend, VA_UNIFY_BACKEND) == 0) {
		if (image)
			msg_reason(file, strlen(file), "the journal is of a unify run, not of an image", NULL);
		r = image ? EXIT_TROUBLE : replay_unify(file, j, undo, dry_run, live_flags);
		va_journal_free(j);
		return r;
	}
	if (strcmp(j->backend, "image") == 0) {
		if (!image) {
			msg_reason(file, strlen(file), "the journal is of an image: name it with --image", NULL);
			va_journal_free(j);
			return EXIT_TROUBLE;
		}
		if (va_image_open(image, dry_run ? 0 : VA_IMAGE_WRITE, &img, &why) != 0 || !img) {
			msg_reason(image, strlen(image), why ? why : "cannot open as ext2/3/4", NULL);
			va_journal_free(j);
			return EXIT_TROUBLE;
		}
		va_image_uuid(img, NULL, uuid);
		r = va_backend_image_new(&be, img);
	} else {
		if (image) {
			msg_reason(file, strlen(file), "the journal is of a live tree, not of an image", NULL);
			va_journal_free(j);
			return EXIT_TROUBLE;
		}
		for (char *p = j->source; p && *p;) {
			char *nl = strchr(p, '\n');
			char **nr = realloc(roots, (nroots + 1) * sizeof(*roots));

			if (!nr)
				break;
			roots = nr;
			roots[nroots++] = p;
			if (!nl)
				break;
			*nl = '\0';
			p = nl + 1;
		}
		va_image_uuid(NULL, nroots ? roots[0] : NULL, uuid);
		r = va_backend_live_new(&be, live_flags);
	}
	if (r == 0 && strcmp(j->uuid, "unknown") && strcmp(uuid, "unknown") && strcmp(j->uuid, uuid)) {
		msg_reason(file, strlen(file), "the journal belongs to another filesystem (UUID differs)", NULL);
		r = -EXDEV;
	} else if (r == 0) {
		r = va_repair_replay(j, undo ? VA_REPLAY_UNDO : VA_REPLAY_RESUME, be,
				     img ? NULL : (const char *const *)roots, img ? 0 : nroots, dry_run, &h, counts);
	}
	va_backend_free(be);
	if (va_image_close(img))
		r = r ? r : -EIO;
	va_journal_free(j);
	free(roots);
	return r == -EXDEV ? EXIT_TROUBLE : exit_for(counts, r);
}
