/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * convert.c - the plan: a legacy guest's NAME.conf as the entries of an
 * /etc/vservers/NAME/ directory (see convert.h; the mapping is documented
 * in vserver-config(5), section LEGACY CONFIGURATION).  Creating it is
 * convert-apply.c, undoing it convert-undo.c.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/convert/convert.h"
#include "core/dbuf.h"

static int add_item(struct va_conv *cv, enum va_conv_type type, const char *rel, const char *content)
{
	struct va_conv_item *it;

	for (size_t i = 0; i < cv->nitems; i++)
		if (strcmp(cv->items[i].rel, rel) == 0)
			return 0;       /* a directory already made */
	if (va_array_grow(&cv->items, &cv->capitems, cv->nitems, sizeof(*cv->items)) < 0)
		return -ENOMEM;
	it = &cv->items[cv->nitems];
	it->type = type;
	it->rel = strdup(rel);
	it->content = content ? strdup(content) : NULL;
	if (!it->rel || (content && !it->content)) {
		free(it->rel);
		free(it->content);
		return -ENOMEM;
	}
	cv->nitems++;
	return 0;
}

/* A file REL holding @text plus a newline, its directories first. */
static int add_file(struct va_conv *cv, const char *rel, const char *text)
{
	char *val, dir[256];
	int r = 0;

	for (const char *s = strchr(rel, '/'); s && r == 0; s = strchr(s + 1, '/')) {
		if ((size_t)(s - rel) >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, rel, (size_t)(s - rel));
		dir[s - rel] = '\0';
		r = add_item(cv, VA_CONV_DIR, dir, NULL);
	}
	if (r < 0)
		return r;
	if (asprintf(&val, "%s\n", text) < 0)
		return -ENOMEM;
	r = add_item(cv, VA_CONV_FILE, rel, val);
	free(val);
	return r;
}

static int add_note(struct va_conv *cv, const struct va_legacy_var *v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int add_note(struct va_conv *cv, const struct va_legacy_var *v, const char *fmt, ...)
{
	struct va_conv_note *n;
	va_list ap;
	int r;

	if (va_array_grow(&cv->notes, &cv->capnotes, cv->nnotes, sizeof(*cv->notes)) < 0)
		return -ENOMEM;
	n = &cv->notes[cv->nnotes];
	va_start(ap, fmt);
	r = vasprintf(&n->why, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	n->var = strdup(v->name);
	if (!n->var) {
		free(n->why);
		return -ENOMEM;
	}
	n->line = v->line;
	cv->nnotes++;
	return 0;
}

/* The words of @s (blank-separated), at most @max, into @w (copies in @buf). */
static size_t words(const char *s, char *buf, size_t bufsize, char **w, size_t max)
{
	size_t n = 0;

	snprintf(buf, bufsize, "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, " \t\n", &save); t && n < max;
	     t = strtok_r(NULL, " \t\n", &save))
		w[n++] = t;
	return n;
}

static bool is_int(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	return *s && strspn(s, "0123456789") == strlen(s);
}

/* ULIMIT "-HS -u 1000 -n 1024" as rlimits/ files.  Return: 0, 1 (not converted), -ENOMEM. */
static int conv_ulimit(struct va_conv *cv, const char *s)
{
	static const struct { char opt; const char *res; } res[] = {
		{ 'c', "core" }, { 'd', "data" }, { 'f', "fsize" }, { 'l', "memlock" },
		{ 'm', "rss" }, { 'n', "nofile" }, { 's', "stack" }, { 't', "cpu" },
		{ 'u', "nproc" }, { 'v', "as" }, { 'x', "locks" },
	};
	char buf[1024], *w[64], rel[64];
	size_t n = words(s, buf, sizeof(buf), w, 64);
	bool hard = false, soft = false;
	struct va_conv tmp = { 0 };
	int r = 0;

	if (strlen(s) >= sizeof(buf) || n == 64)
		return 1;
	for (size_t i = 0; i < n && r == 0; i++) {
		const char *o = w[i], *name = NULL;

		if (o[0] != '-' || !o[1])
			r = 1;
		for (const char *p = o + 1; r == 0 && *p; p++) {
			if (*p == 'H') {
				hard = true;
			} else if (*p == 'S') {
				soft = true;
			} else {
				for (size_t k = 0; k < sizeof(res) / sizeof(*res) && !name; k++)
					if (res[k].opt == *p)
						name = res[k].res;
				if (!name || p[1] || i + 1 >= n ||
				    (!is_int(w[i + 1]) && strcmp(w[i + 1], "unlimited") != 0)) {
					r = 1;
					break;
				}
				snprintf(rel, sizeof(rel), "rlimits/%s%s", name,
					 hard == soft ? "" : hard ? ".hard" : ".soft");
				r = add_file(&tmp, rel, strcmp(w[i + 1], "unlimited") == 0 ? "inf" : w[i + 1]);
				i++;
			}
		}
	}
	if (r == 0 && tmp.nitems == 0)
		r = 1;
	for (size_t i = 0; r == 0 && i < tmp.nitems; i++)
		r = tmp.items[i].type == VA_CONV_DIR ? add_item(cv, VA_CONV_DIR, tmp.items[i].rel, NULL) :
		    add_item(cv, VA_CONV_FILE, tmp.items[i].rel, tmp.items[i].content);
	va_convert_release(&tmp);
	return r;
}

int va_convert_plan(const struct va_guest *g, struct va_conv *cv)
{
	static const char *const cflags[] = { "lock", "sched", "nproc", "private", "fakeinit",
					      "hideinfo", "ulimit" };
	const struct va_legacy *l = &g->lconf;
	char buf[4096], *w[256], rel[64];
	int r;

	memset(cv, 0, sizeof(*cv));
	cv->guest = g;
	if (!g->conf)
		return -EINVAL;
	if ((r = add_file(cv, "name", g->name)) < 0)
		return r;
	/* the legacy tools' one root */
	{
		char *t;

		if (asprintf(&t, "/vservers/%s", g->name) < 0)
			return -ENOMEM;
		r = add_item(cv, VA_CONV_LINK, "vdir", t);
		free(t);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < l->nvars && r == 0; i++) {
		const struct va_legacy_var *v = &l->vars[i];
		const char *s = v->value, *k = v->name;
		size_t n;

		if (strcmp(k, "S_CONTEXT") == 0) {
			if (!*s)
				continue;       /* dynamic: no context file either */
			r = g->context >= VA_CONTEXT_MIN && g->context <= VA_CONTEXT_MAX ?
			    add_file(cv, "context", s) :
			    add_note(cv, v, "'%s' is not a static context (%d-%d): no context file",
				     s, VA_CONTEXT_MIN, VA_CONTEXT_MAX);
		} else if (strcmp(k, "ONBOOT") == 0) {
			if (strcmp(s, "yes") == 0)
				r = add_file(cv, "apps/init/mark", "default");
			else if (*s && strcmp(s, "no") != 0)
				r = add_note(cv, v, "only 'yes' starts the guest at boot: no mark written");
		} else if (strcmp(k, "IPROOT") == 0) {
			n = words(s, buf, sizeof(buf), w, 256);
			if (strlen(s) >= sizeof(buf) || n == 256) {
				r = add_note(cv, v, "too long: not converted");
				continue;
			}
			if (n == 1 && (strcmp(w[0], "0.0.0.0") == 0 || strcmp(w[0], "ALL") == 0)) {
				r = add_note(cv, v, "'%s' (every address of the host) has no interfaces/ "
					     "equivalent: not converted", w[0]);
				continue;
			}
			for (size_t j = 0; j < n && r == 0; j++) {
				char *ip = strchr(w[j], ':');

				if (ip)
					*ip++ = '\0';
				else
					ip = w[j];
				snprintf(rel, sizeof(rel), "interfaces/%zu/ip", j);
				r = add_file(cv, rel, ip);
				if (r == 0 && ip != w[j]) {
					snprintf(rel, sizeof(rel), "interfaces/%zu/dev", j);
					r = add_file(cv, rel, w[j]);
				}
			}
		} else if (strcmp(k, "IPROOTDEV") == 0 || strcmp(k, "IPROOTMASK") == 0 ||
			   strcmp(k, "IPROOTBCAST") == 0) {
			if (*s)
				r = add_file(cv, strcmp(k, "IPROOTDEV") == 0 ? "interfaces/dev" :
					     strcmp(k, "IPROOTMASK") == 0 ? "interfaces/mask" :
					     "interfaces/bcast", s);
		} else if (strcmp(k, "S_HOSTNAME") == 0) {
			if (*s)
				r = add_file(cv, "uts/nodename", s);
		} else if (strcmp(k, "S_DOMAINNAME") == 0) {
			if (strcmp(s, "none") == 0)
				r = add_note(cv, v, "'none' (no NIS domain) has no uts/ equivalent: "
					     "not converted");
			else if (*s)
				r = add_file(cv, "uts/domainname", s);
		} else if (strcmp(k, "S_FLAGS") == 0) {
			struct dbuf f = DBUF_INIT;

			n = words(s, buf, sizeof(buf), w, 256);
			for (size_t j = 0; j < n && r == 0; j++) {
				bool known = false;

				for (size_t m = 0; m < sizeof(cflags) / sizeof(*cflags); m++)
					known |= strcmp(w[j], cflags[m]) == 0;
				if (known)
					r = dbuf_addf(&f, "%s%s", f.len ? "\n" : "", w[j]) < 0 ? -ENOMEM : 0;
				else
					r = add_note(cv, v, "flag '%s' has no cflags equivalent: not converted",
						     w[j]);
			}
			if (r == 0 && f.len)
				r = add_file(cv, "cflags", dbuf_str(&f));
			dbuf_release(&f);
		} else if (strcmp(k, "S_CAPS") == 0) {
			struct dbuf f = DBUF_INIT;

			n = words(s, buf, sizeof(buf), w, 256);
			for (size_t j = 0; j < n && r == 0; j++)
				r = dbuf_addf(&f, "%s%s", f.len ? "\n" : "", w[j]) < 0 ? -ENOMEM : 0;
			if (r == 0 && f.len)
				r = add_file(cv, "bcapabilities", dbuf_str(&f));
			dbuf_release(&f);
		} else if (strcmp(k, "S_NICE") == 0) {
			if (*s)
				r = is_int(s) ? add_file(cv, "nice", s) :
				    add_note(cv, v, "'%s' is not a number: not converted", s);
		} else if (strcmp(k, "ULIMIT") == 0) {
			if (*s && (r = conv_ulimit(cv, s)) == 1)
				r = add_note(cv, v, "'%s' is not a list of ulimit options -H/-S -c/-d/-f/"
					     "-l/-m/-n/-s/-t/-u/-v/-x N: not converted", s);
		} else if (strcmp(k, "PROFILE") == 0) {
			r = add_note(cv, v, "profile '%s' was converted; other profiles of the file "
				     "are not", s);
		} else if (strcmp(k, "PRIORITY") == 0) {
			r = add_note(cv, v, "the legacy init script's start order has no equivalent "
				     "(apps/init/depends orders guests): not converted");
		} else {
			r = add_note(cv, v, "no file of the configuration directory holds it: not "
				     "converted");
		}
	}
	return r < 0 ? r : 0;
}

void va_convert_release(struct va_conv *cv)
{
	for (size_t i = 0; i < cv->nitems; i++) {
		free(cv->items[i].rel);
		free(cv->items[i].content);
	}
	free(cv->items);
	for (size_t i = 0; i < cv->nnotes; i++) {
		free(cv->notes[i].var);
		free(cv->notes[i].why);
	}
	free(cv->notes);
	memset(cv, 0, sizeof(*cv));
}
