/* SPDX-License-Identifier: GPL-2.0-or-later */
/* request.c - what a repair run was asked to do (format in request.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/escape.h"
#include "core/finding.h"
#include "core/image.h"
#include "migrate/request.h"

static const char *const tag_names[] = {
#define VA_X_TAG(id, n, desc) n,
	VA_TAG_SCHEMES(VA_X_TAG)
#undef VA_X_TAG
};

static const char *const config_names[] = {
	[VA_REQ_CONFIG_DEFAULT] = "default", [VA_REQ_CONFIG_NONE] = "none",
	[VA_REQ_CONFIG_DIR] = "dir", [VA_REQ_CONFIG_HOST_ROOT] = "host-root",
};

/* "KEY B64\n", or "KEY -\n" for NULL. */
static int put_path(struct dbuf *out, const char *key, const char *s)
{
	int r = dbuf_addf(out, "%s ", key);

	if (!s)
		r |= dbuf_addc(out, '-');
	else
		r |= va_base64(out, s, strlen(s));
	return r | dbuf_addc(out, '\n');
}

int va_request_format(const struct va_request *rq, struct dbuf *out)
{
	bool first = true;
	int r;

	r = dbuf_addf(out, "vaudit-request %d\nmode %s\nkinds ", VA_REQUEST_VERSION,
		      rq->plan ? "plan" : "fix");
	if (rq->plan || !rq->kinds)
		r |= dbuf_addc(out, '-');
	else
		for (int k = 0; k < VA_KIND_COUNT; k++)
			if (rq->kinds & VA_KIND_BIT(k)) {
				r |= dbuf_addf(out, "%s%s", first ? "" : ",", va_kind_name(k));
				first = false;
			}
	r |= dbuf_addc(out, '\n');
	r |= put_path(out, "plan", rq->plan ? rq->plan_file : NULL);
	r |= dbuf_adds(out, "plan-sha256 ");
	if (rq->plan)
		for (int i = 0; i < VA_REQUEST_SHA256_LEN; i++)
			r |= dbuf_addf(out, "%02x", rq->plan_sha256[i]);
	else
		r |= dbuf_addc(out, '-');
	r |= dbuf_addc(out, '\n');
	r |= put_path(out, "prefix", rq->prefix);
	r |= dbuf_addf(out, "force %d\n", rq->force);
	if (rq->barrier_mode < 0)
		r |= dbuf_adds(out, "barrier-mode keep\n");
	else
		r |= dbuf_addf(out, "barrier-mode %04o\n", (unsigned)rq->barrier_mode & 07777);
	r |= dbuf_addf(out, "tag-scheme %s\n",
		       rq->tag_scheme < VA_TAG_COUNT ? tag_names[rq->tag_scheme] : "?");
	r |= dbuf_addf(out, "device-read %d\ncross-mounts %d\nconfig %s\n",
		       rq->device_read, rq->cross_mounts,
		       config_names[rq->config <= VA_REQ_CONFIG_HOST_ROOT ? rq->config : 0]);
	r |= put_path(out, "config-path",
		      rq->config == VA_REQ_CONFIG_DIR || rq->config == VA_REQ_CONFIG_HOST_ROOT ?
		      rq->config_path : NULL);
	return r ? -ENOMEM : 0;
}

/* The next line of @s must start with "KEY "; its value (NUL-terminated, in @buf) to *@val. */
static const char *next_value(const char **s, const char *end, const char *key, struct dbuf *buf,
			      const char **val)
{
	size_t klen = strlen(key);
	const char *nl = memchr(*s, '\n', (size_t)(end - *s));

	if (!nl)
		return "a request line without its newline";
	if ((size_t)(nl - *s) <= klen + 1 || memcmp(*s, key, klen) || (*s)[klen] != ' ')
		return "a request line out of place";
	dbuf_setlen(buf, 0);
	if (dbuf_add(buf, *s + klen + 1, (size_t)(nl - *s) - klen - 1) < 0)
		return "out of memory";
	if (memchr(buf->buf, '\0', buf->len))
		return "a NUL byte in the request";
	*val = buf->buf;
	*s = nl + 1;
	return NULL;
}

/* A path value: "-" (NULL) or the base64 of an absolute path without NUL. */
static const char *path_value(const char *v, bool want, char **ret)
{
	struct dbuf b = DBUF_INIT;

	*ret = NULL;
	if (!strcmp(v, "-"))
		return want ? "a missing path in the request" : NULL;
	if (!want)
		return "a path the request does not take";
	if (va_unbase64(&b, v, strlen(v)) < 0 || !b.len || b.buf[0] != '/' ||
	    memchr(b.buf, '\0', b.len)) {
		dbuf_release(&b);
		return "a bad path in the request";
	}
	*ret = b.buf;
	return NULL;
}

static const char *bool_value(const char *v, bool *ret)
{
	if (strcmp(v, "0") && strcmp(v, "1"))
		return "a bad yes/no value in the request";
	*ret = v[0] == '1';
	return NULL;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parse the fields; the caller compares the canonical text. */
static const char *parse(struct va_request *rq, const char *s, const char *end, struct dbuf *buf)
{
	const char *v, *why;
	char *p;

	if ((why = next_value(&s, end, "vaudit-request", buf, &v)))
		return why;
	if (strcmp(v, "1"))
		return "unsupported request version";
	if ((why = next_value(&s, end, "mode", buf, &v)))
		return why;
	if (strcmp(v, "fix") && strcmp(v, "plan"))
		return "a bad mode in the request";
	rq->plan = v[0] == 'p';
	if ((why = next_value(&s, end, "kinds", buf, &v)))
		return why;
	if (strcmp(v, "-") || !rq->plan) {
		char *save = NULL;

		if (rq->plan)
			return "kinds in the request of a plan";
		for (char *t = strtok_r(buf->buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			int k = va_kind_parse(t);

			if (k < 0)
				return "an unknown kind in the request";
			rq->kinds |= VA_KIND_BIT(k);
		}
		if (!rq->kinds)
			return "no kinds in the request";
	}
	if ((why = next_value(&s, end, "plan", buf, &v)) || (why = path_value(v, rq->plan, &rq->plan_file)))
		return why;
	if ((why = next_value(&s, end, "plan-sha256", buf, &v)))
		return why;
	if (rq->plan) {
		if (strlen(v) != 2 * VA_REQUEST_SHA256_LEN)
			return "a bad plan digest in the request";
		for (int i = 0; i < VA_REQUEST_SHA256_LEN; i++) {
			int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return "a bad plan digest in the request";
			rq->plan_sha256[i] = (unsigned char)(hi << 4 | lo);
		}
	} else if (strcmp(v, "-")) {
		return "a plan digest without a plan in the request";
	}
	if ((why = next_value(&s, end, "prefix", buf, &v)))
		return why;
	if (strcmp(v, "-") && (why = path_value(v, true, &rq->prefix)))
		return why;
	if ((why = next_value(&s, end, "force", buf, &v)) || (why = bool_value(v, &rq->force)))
		return why;
	if ((why = next_value(&s, end, "barrier-mode", buf, &v)))
		return why;
	if (!strcmp(v, "keep")) {
		rq->barrier_mode = -1;
	} else {
		long m = strtol(v, &p, 8);

		if (strlen(v) != 4 || *p || m < 0 || m > 07777 || v[0] == '-' || v[0] == '+')
			return "a bad barrier mode in the request";
		rq->barrier_mode = (int)m;
	}
	if ((why = next_value(&s, end, "tag-scheme", buf, &v)))
		return why;
	rq->tag_scheme = VA_TAG_COUNT;
	for (unsigned i = 0; i < VA_TAG_COUNT; i++)
		if (!strcmp(v, tag_names[i]))
			rq->tag_scheme = i;
	if (rq->tag_scheme == VA_TAG_COUNT)
		return "a bad tag scheme in the request";
	if ((why = next_value(&s, end, "device-read", buf, &v)) || (why = bool_value(v, &rq->device_read)) ||
	    (why = next_value(&s, end, "cross-mounts", buf, &v)) ||
	    (why = bool_value(v, &rq->cross_mounts)) ||
	    (why = next_value(&s, end, "config", buf, &v)))
		return why;
	rq->config = (enum va_request_config)-1;
	for (int i = 0; i <= VA_REQ_CONFIG_HOST_ROOT; i++)
		if (!strcmp(v, config_names[i]))
			rq->config = (enum va_request_config)i;
	if ((int)rq->config < 0)
		return "a bad configuration in the request";
	if ((why = next_value(&s, end, "config-path", buf, &v)) ||
	    (why = path_value(v, rq->config == VA_REQ_CONFIG_DIR || rq->config == VA_REQ_CONFIG_HOST_ROOT,
			      &rq->config_path)))
		return why;
	if (s != end)
		return "trailing bytes after the request";
	return NULL;
}

int va_request_parse(struct va_request *rq, const char *s, size_t len, const char **ret_why)
{
	struct dbuf buf = DBUF_INIT, canon = DBUF_INIT;
	const char *why;
	int r = -EINVAL;

	memset(rq, 0, sizeof(*rq));
	why = parse(rq, s, s + len, &buf);
	if (!why) {
		/* one spelling only: the text we write (base64, kinds order, digits) */
		if (va_request_format(rq, &canon) < 0)
			why = "out of memory", r = -ENOMEM;
		else if (canon.len != len || memcmp(canon.buf, s, len))
			why = "a request not in its canonical form";
		else
			r = 0;
	}
	dbuf_release(&buf);
	dbuf_release(&canon);
	*ret_why = why;
	return why ? r : 0;
}

void va_request_release(struct va_request *rq)
{
	free(rq->plan_file);
	free(rq->prefix);
	free(rq->config_path);
	memset(rq, 0, sizeof(*rq));
}
