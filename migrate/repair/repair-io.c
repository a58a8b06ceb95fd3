/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * repair-io.c - plans, new journals and journals to replay (see
 * repair-io.h).  Plans are JSON Lines read with json-c: a header object,
 * then one object per action (schema in vaudit(8)).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <ext2fs/ext2_err.h>

#include "core/digest.h"
#include "core/escape.h"
#include "core/image.h"
#include "core/message.h"
#include "migrate/repair/repair-io.h"

/* ------------------------------------------------------------------ errors */

/*
 * Record a failure naming @path (@len bytes): @what, and the reason @why or
 * else the text of errno @code (none when both are unset).  Returns @r for
 * tail calls.
 */
static int fail(struct va_error *e, int r, const char *path, size_t len, const char *what,
		int code, const char *why)
{
	va_error_set(e, code, path, len, what, why);
	return r;
}

/* ------------------------------------------------------------------ identity */

int va_fix_source(const char *image, const char *const *roots, size_t nroots, struct dbuf *out)
{
	char real[PATH_MAX];

	if (image)
		return dbuf_adds(out, realpath(image, real) ? real : image);
	for (size_t i = 0; i < nroots; i++) {
		if (!realpath(roots[i], real))
			return -errno;
		if ((i && dbuf_addc(out, '\n') < 0) || dbuf_adds(out, real) < 0)
			return -ENOMEM;
	}
	return 0;
}

int va_fix_journal_create(struct va_journal **ret, const char *file, const char *image,
			  struct va_image *img, const char *const *roots, size_t nroots,
			  struct dbuf *path, struct va_error *err)
{
	return va_fix_journal_create_request(ret, file, image, img, roots, nroots, NULL, path, err);
}

int va_fix_journal_create_request(struct va_journal **ret, const char *file, const char *image,
				  struct va_image *img, const char *const *roots, size_t nroots,
				  const struct va_request *rq, struct dbuf *path,
				  struct va_error *err)
{
	struct dbuf src = DBUF_INIT, req = DBUF_INIT;
	char uuid[VA_UUID_TEXT];
	int r;

	*ret = NULL;
	dbuf_setlen(path, 0);
	va_image_uuid(img, nroots ? roots[0] : NULL, uuid);
	r = va_fix_source(image, roots, nroots, &src);
	if (r < 0 && r != -ENOMEM) {
		/* a ROOT that does not resolve: name it, not the journal */
		char real[PATH_MAX];
		size_t i = 0;

		while (i + 1 < nroots && realpath(roots[i], real))
			i++;
		dbuf_release(&src);
		return fail(err, r, nroots ? roots[i] : "", nroots ? strlen(roots[i]) : 0,
			    "cannot resolve the ROOT the journal names", -r, NULL);
	}
	if (r == 0 && rq)
		r = va_request_format(rq, &req);
	if (r == 0)
		r = file ? dbuf_adds(path, file) : va_journal_default_name(path, "vaudit");
	if (r == 0)
		r = va_journal_create_request(ret, path->buf, img ? VA_JOURNAL_IMAGE : VA_JOURNAL_LIVE,
					      uuid, src.buf, src.len, rq ? req.buf : NULL, req.len);
	dbuf_release(&src);
	dbuf_release(&req);
	if (r < 0) {
		/* before a name is known, the directory is what failed */
		if (path->len)
			fail(err, r, path->buf, path->len, "cannot create the journal", -r, NULL);
		else
			fail(err, r, VA_JOURNAL_DIR, strlen(VA_JOURNAL_DIR), "cannot create the journal",
			     -r, NULL);
	}
	return r;
}

/* ------------------------------------------------------------------ plans */

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

/* The header line: a version 1 plan for this back end and filesystem? */
static const char *plan_header(json_object *o, struct va_image *img, const char *root)
{
	json_object *v, *b, *u;
	char uuid[VA_UUID_TEXT];

	va_image_uuid(img, root, uuid);
	if (!json_object_object_get_ex(o, "vaudit_plan", &v) ||
	    !json_object_is_type(v, json_type_int) || json_object_get_int(v) != 1 ||
	    !json_object_object_get_ex(o, "backend", &b) ||
	    !json_object_is_type(b, json_type_string) ||
	    !json_object_object_get_ex(o, "uuid", &u) ||
	    !json_object_is_type(u, json_type_string))
		return "not a vaudit plan (bad header)";
	if (strcmp(json_object_get_string(b), img ? "image" : "live"))
		return img ? "a plan for a live tree, not for an image" :
			     "a plan for an image: give it with --image";
	if (strcmp(json_object_get_string(u), "unknown") && strcmp(uuid, "unknown") &&
	    strcmp(json_object_get_string(u), uuid))
		return "a plan for another filesystem (UUID differs)";
	return NULL;
}

int va_plan_source(const char *file, struct dbuf *out, struct va_error *err)
{
	FILE *fp = fopen(file, "re");
	json_object *o = NULL, *v;
	char *line = NULL;
	size_t cap = 0;
	const char *why = NULL;
	int r = -EINVAL;

	if (!fp) {
		r = -errno;
		return fail(err, r, file, strlen(file), "cannot read the plan", -r, NULL);
	}
	if (getline(&line, &cap, fp) < 0 || !(o = json_tokener_parse(line)) ||
	    !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "vaudit_plan", &v))
		why = "not a vaudit plan (bad header)";
	else if (!json_object_object_get_ex(o, "source", &v) ||
		 !json_object_is_type(v, json_type_string) || !json_object_get_string_len(v))
		why = "the header names no source: give the ROOTs";
	else if (dbuf_add(out, json_object_get_string(v), (size_t)json_object_get_string_len(v)) < 0)
		why = "out of memory", r = -ENOMEM;
	json_object_put(o);
	free(line);
	fclose(fp);
	if (why)
		return fail(err, r, file, strlen(file), "not a usable plan (line 1)", 0, why);
	return 0;
}

int va_plan_digest(const char *file, unsigned char out[VA_REQUEST_SHA256_LEN], struct va_error *err)
{
	struct va_digest *d = NULL;
	FILE *fp = fopen(file, "re");
	char buf[65536];
	size_t n;
	int r;

	if (!fp) {
		r = -errno;
		return fail(err, r, file, strlen(file), "cannot read the plan", -r, NULL);
	}
	if ((r = va_digest_new(&d, VA_DIGEST_SHA256)) < 0) {
		fclose(fp);
		return fail(err, r, file, strlen(file), "cannot read the plan", -r, NULL);
	}
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		va_digest_update(d, buf, n);
	r = ferror(fp) ? -EIO : 0;
	va_digest_final(d, out);
	va_digest_free(d);
	fclose(fp);
	if (r < 0)
		return fail(err, r, file, strlen(file), "cannot read the plan", -r, NULL);
	return 0;
}

int va_plan_read(struct va_repair *rp, const char *file, struct va_image *img, const char *root,
		 struct va_error *err)
{
	return va_plan_read_digest(rp, file, img, root, NULL, err);
}

int va_plan_read_digest(struct va_repair *rp, const char *file, struct va_image *img,
			const char *root, unsigned char *sha256, struct va_error *err)
{
	FILE *fp = fopen(file, "re");
	struct va_digest *d = NULL;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t n;
	const char *why = NULL;
	int r = -EINVAL;

	if (!fp) {
		r = -errno;
		return fail(err, r, file, strlen(file), "cannot read the plan", -r, NULL);
	}
	if (sha256 && (r = va_digest_new(&d, VA_DIGEST_SHA256)) < 0) {
		fclose(fp);
		return fail(err, r, file, strlen(file), "cannot read the plan", -r, NULL);
	}
	r = -EINVAL;
	while (!why && (n = getline(&line, &cap, fp)) >= 0) {
		json_object *o;

		lineno++;
		/* the digest of exactly the bytes the actions come from */
		if (d)
			va_digest_update(d, line, (size_t)n);
		if ((size_t)n != strlen(line)) {
			why = "a NUL byte";
			break;
		}
		o = json_tokener_parse(line);
		if (!o || !json_object_is_type(o, json_type_object)) {
			why = "not a JSON object";
		} else if (lineno == 1) {
			why = plan_header(o, img, root);
		} else {
			struct va_action a;

			why = plan_action(o, &a);
			if (!why) {
				if (va_array_grow(&rp->actions, &rp->capactions, rp->nactions,
						  sizeof(a)) < 0) {
					free(a.path);
					why = "out of memory";
					r = -ENOMEM;
				} else {
					rp->actions[rp->nactions++] = a;
				}
			}
		}
		json_object_put(o);
	}
	free(line);
	if (!why && ferror(fp))
		why = "read error", r = -EIO;
	fclose(fp);
	if (d) {
		va_digest_final(d, sha256);
		va_digest_free(d);
	}
	if (!why && lineno == 0)
		why = "empty plan", lineno = 1;
	if (why) {
		char what[96];

		snprintf(what, sizeof(what), "not a usable plan (line %zu)", lineno);
		return fail(err, r, file, strlen(file), what, 0, why);
	}
	return 0;
}

/* ------------------------------------------------------------------ image paths */

/* One path of an image plan or journal (@seq: where), for inode @ino. */
static int image_path_check(struct va_image *img, const char *prefix, const char *path, size_t len,
			    uint64_t ino, uint64_t seq, struct va_jroots_error *e)
{
	size_t plen = strlen(prefix);
	uint64_t found = 0;
	errcode_t err;

	*e = (struct va_jroots_error){ .path = path, .path_len = len, .seq = seq };
	while (plen > 1 && prefix[plen - 1] == '/')
		plen--;
	if (!va_path_clean(path, len) || len == 1) {
		e->why = "a path with an empty, '.' or '..' component";
		return -EPERM;
	}
	if (plen > 1 && (len <= plen || memcmp(path, prefix, plen) != 0 || path[plen] != '/')) {
		e->why = "a path outside the prefix";
		return -EPERM;
	}
	err = va_image_resolve(img, path, len, &found);
	if (err == EXT2_ET_FILE_NOT_FOUND)
		return 0;       /* gone since: the run skips it */
	if (err == ELOOP) {
		e->why = "a path through a symbolic link";
		return -EPERM;
	}
	if (err) {
		e->why = "a path that does not resolve in the image";
		return -EPERM;
	}
	if (found != ino) {
		e->why = "a record whose inode is not the one its path names";
		return -EPERM;
	}
	return 0;
}

int va_image_check_actions(struct va_image *img, const char *prefix, const struct va_action *a,
			   size_t n, struct va_jroots_error *e)
{
	for (size_t i = 0; i < n; i++) {
		int r = image_path_check(img, prefix, a[i].path, a[i].path_len, a[i].ino, i + 2, e);

		if (r < 0)
			return r;
	}
	return 0;
}

int va_image_check_journal(struct va_image *img, const char *prefix, const struct va_journal *j,
			   struct va_jroots_error *e)
{
	for (size_t i = 0; i < j->nrecs; i++) {
		const struct va_journal_rec *rec = &j->recs[i];
		int r;

		if (rec->type != 'I')
			continue;
		r = image_path_check(img, prefix, rec->path, rec->path_len, rec->ino, rec->seq, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------ replay */

/* Split the journal's source (ROOTs, '\n'-separated) in place. */
static void source_roots(struct va_replay_setup *s)
{
	for (char *p = s->j->source; p && *p;) {
		char *nl = strchr(p, '\n');
		char **nr = realloc(s->roots, (s->nroots + 1) * sizeof(*s->roots));

		if (!nr)
			break;
		s->roots = nr;
		s->roots[s->nroots++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
}

int va_replay_open(struct va_replay_setup *s, const char *file, const char *image, bool dry_run,
		   unsigned live_flags, struct va_backend *live_be, struct va_error *err)
{
	const char *why;
	size_t line;
	char uuid[VA_UUID_TEXT];
	errcode_t e;
	int r;

	memset(s, 0, sizeof(*s));
	r = va_journal_load(&s->j, file, &why, &line);
	if (r < 0) {
		char what[64];

		s->j = NULL;
		snprintf(what, sizeof(what), "not a usable journal (line %zu)", line);
		if (r == -EINVAL)
			return fail(err, r, file, strlen(file), what, 0, why);
		return fail(err, r, file, strlen(file), "cannot read the journal", -r, NULL);
	}
	if (s->j->request) {
		const char *rwhy = NULL;

		/* checked when loaded: this cannot fail but for memory */
		r = va_request_parse(&s->request, s->j->request, s->j->request_len, &rwhy);
		if (r < 0)
			return fail(err, r, file, strlen(file), "not a usable journal (line 1)", 0,
				    rwhy ? rwhy : "bad request");
		s->has_request = true;
	}
	if (strcmp(s->j->backend, VA_JOURNAL_UNIFY) == 0) {
		if (image)
			return fail(err, -EINVAL, file, strlen(file),
				    "the journal is of a unify run, not of an image", 0, NULL);
		s->unify = true;
		return 0;
	}
	if (strcmp(s->j->backend, VA_JOURNAL_CONVERT) == 0) {
		if (image)
			return fail(err, -EINVAL, file, strlen(file),
				    "the journal is of a legacy conversion, not of an image", 0, NULL);
		s->convert = true;
		return 0;
	}
	if (strcmp(s->j->backend, VA_JOURNAL_CLONE) == 0) {
		if (image)
			return fail(err, -EINVAL, file, strlen(file),
				    "the journal is of a clone, not of an image", 0, NULL);
		s->clone = true;
		return 0;
	}
	if (strcmp(s->j->backend, VA_JOURNAL_VCOPY) == 0) {
		if (image)
			return fail(err, -EINVAL, file, strlen(file),
				    "the journal is of a vcopy run, not of an image", 0, NULL);
		s->vcopy = true;
		return 0;
	}
	if (strcmp(s->j->backend, VA_JOURNAL_IMAGE) == 0) {
		if (!image)
			return fail(err, -EINVAL, file, strlen(file),
				    "the journal is of an image: name it with --image", 0, NULL);
		e = va_image_open(image, dry_run ? 0 : VA_IMAGE_WRITE, &s->img, err);
		if (e != 0 || !s->img) {
			s->img = NULL;
			return e > 0 && e < 4096 ? -(int)e : -EIO;
		}
		va_image_uuid(s->img, NULL, uuid);
		r = va_backend_image_new(&s->be, s->img);
		s->own_be = true;
	} else {
		if (image)
			return fail(err, -EINVAL, file, strlen(file),
				    "the journal is of a live tree, not of an image", 0, NULL);
		source_roots(s);
		va_image_uuid(NULL, s->nroots ? s->roots[0] : NULL, uuid);
		if (live_be) {
			s->be = live_be;
			r = 0;
		} else {
			r = va_backend_live_new(&s->be, live_flags);
			s->own_be = true;
		}
	}
	if (r < 0) {
		s->be = NULL;
		return fail(err, r, file, strlen(file), "cannot replay the journal", -r, NULL);
	}
	if (strcmp(s->j->uuid, "unknown") && strcmp(uuid, "unknown") && strcmp(s->j->uuid, uuid))
		return fail(err, -EXDEV, file, strlen(file),
			    "the journal belongs to another filesystem (UUID differs)", 0, NULL);
	return 0;
}

int va_replay_close(struct va_replay_setup *s)
{
	int r = 0;

	if (s->own_be)
		va_backend_free(s->be);
	if (va_image_close(s->img))
		r = -EIO;
	va_journal_free(s->j);
	free(s->roots);
	va_request_release(&s->request);
	memset(s, 0, sizeof(*s));
	return r;
}
