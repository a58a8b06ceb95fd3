/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-exclude.c - fuzz target for the exclude-list reader and matcher.
 *
 * The input is an exclude file.  Properties checked on every input
 * (abort() on violation):
 *  - every warning names a known quirk, a line between 1 and the number of
 *    lines, and text that is a whole line of the input;
 *  - every rule has a known action and a non-empty pattern without a
 *    newline, lines increase, and parsing without a callback gives the
 *    same rules;
 *  - for a few fixed paths, for paths taken from the input's own lines and
 *    for the glob-free patterns: the reported rule is NULL (and the action
 *    include) or a rule of the list with the action returned; a glob-free
 *    pattern is matched by its own rule or an earlier one; an effective
 *    include means the path itself is included; the effective decision is
 *    the first non-include among the parent directories and the path,
 *    each matched on its own.
 * Built for libFuzzer with --enable-fuzzing (clang), and always as a
 * bounded standalone run for make check (fuzz/standalone.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/exclude.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct ctx {
	const char *buf;
	size_t len;
	unsigned lines;
};

static void warn_cb(enum va_excl_quirk q, unsigned line, const char *text, size_t len, void *user)
{
	const struct ctx *c = user;

	if ((unsigned)q >= VA_EXCL_Q_COUNT || !va_excl_quirk_message(q))
		abort();
	if (line < 1 || line > c->lines)
		abort();
	if (text < c->buf || len > c->len || (size_t)(text - c->buf) > c->len - len)
		abort();
	if ((text != c->buf && text[-1] != '\n') || (text + len != c->buf + c->len && text[len] != '\n'))
		abort();
	if (memchr(text, '\n', len))
		abort();
}

static void check_rule_ptr(const struct va_excl_list *l, const struct va_excl_rule *r,
			   enum va_excl_action a)
{
	if (!r) {
		if (a != VA_EXCL_INCLUDE)
			abort();
		return;
	}
	if (r < l->rules || r >= l->rules + l->nrules || r->action != a)
		abort();
}

/* The effective decision again, from independent cuts of @path. */
static void check_path(const struct va_excl_list *l, const char *path)
{
	const struct va_excl_rule *r, *r2, *want_r = NULL;
	enum va_excl_action a = va_excl_effective(l, path, &r), m, want = VA_EXCL_INCLUDE;
	size_t n = strlen(path);
	char *cut = malloc(n + 1);

	if (!cut)
		return;
	check_rule_ptr(l, r, a);
	m = va_excl_match(l, path, &r2);
	check_rule_ptr(l, r2, m);
	if (a == VA_EXCL_INCLUDE && m != VA_EXCL_INCLUDE)
		abort();
	for (size_t i = 1; i <= n; i++) {
		if (i < n && path[i] != '/')
			continue;
		memcpy(cut, path, i);
		cut[i] = '\0';
		want = va_excl_match(l, i < n ? cut : path, &want_r);
		if (want != VA_EXCL_INCLUDE)
			break;
	}
	if (n == 0)
		want = va_excl_match(l, path, &want_r);
	if (want != a || want_r != r)
		abort();
	free(cut);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = {
		"/", "/etc", "/etc/passwd", "/etc/gconf/schemas/x", "/root/.ssh/id_rsa", "/tmp/x",
		"/usr/share/texmf/ls-R", "/a/b/c", "/[", "/*", "/\\",
	};
	const char *s = (const char *)data;
	struct ctx c = { s, size, 1 };
	struct va_excl_list list = VA_EXCL_LIST_INIT, list2 = VA_EXCL_LIST_INIT;
	size_t stars = 0, npaths = 0;
	char path[130];

	for (size_t i = 0; i < size; i++) {
		c.lines += s[i] == '\n';
		stars += s[i] == '*';
	}
	if (va_excl_parse(&list, s, size, warn_cb, &c) < 0 ||
	    va_excl_parse(&list2, s, size, NULL, NULL) < 0)
		goto out;
	if (list.nrules != list2.nrules)
		abort();
	for (size_t i = 0; i < list.nrules; i++) {
		const struct va_excl_rule *r = &list.rules[i];

		if (r->action != VA_EXCL_INCLUDE && r->action != VA_EXCL_EXCLUDE &&
		    r->action != VA_EXCL_SKIP)
			abort();
		if (!r->pattern || !r->pattern[0] || strchr(r->pattern, '\n') ||
		    strcmp(r->pattern, list2.rules[i].pattern) || r->action != list2.rules[i].action ||
		    r->line != list2.rules[i].line)
			abort();
		if (r->line < 1 || r->line > c.lines || (i && r->line <= list.rules[i - 1].line))
			abort();
	}

	/* Backtracking fnmatch() is exponential in the stars: keep runs short. */
	if (stars > 12)
		goto out;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_path(&list, fixed[i]);
	for (size_t i = 0; i < list.nrules && i < 16; i++) {
		const struct va_excl_rule *r = &list.rules[i], *w;

		if (strpbrk(r->pattern, "*?[\\"))
			continue;
		va_excl_match(&list, r->pattern, &w);
		if (!w || w > r)
			abort();
		check_path(&list, r->pattern);
	}
	for (size_t pos = 0; pos < size && npaths < 8; npaths++) {
		const char *nl = memchr(s + pos, '\n', size - pos);
		size_t n = nl ? (size_t)(nl - (s + pos)) : size - pos;
		size_t k = n < sizeof(path) - 2 ? n : sizeof(path) - 2;

		path[0] = '/';
		memcpy(path + 1, s + pos, k);
		path[k + 1] = '\0';     /* a NUL in the line cuts it shorter */
		check_path(&list, path);
		check_path(&list, path + 1);
		pos += n + 1;
	}
out:
	va_excl_release(&list);
	va_excl_release(&list2);
	return 0;
}
