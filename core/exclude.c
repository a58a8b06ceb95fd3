/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exclude.c - util-vserver exclude lists: the reader of
 * lib_internal/matchlist-initmanually.c (readExcludeListFD), the prefixes
 * of matchlist-appendfiles.c and the first-match fnmatch() of
 * matchlist-compare.c, with every quirk reported.
 *
 * Parsing takes two passes over the buffer: the first one builds the rules,
 * the second one (only when there is a callback) reports the quirks in line
 * order, so that a shadowed include can be judged against the whole list
 * ("+/etc/termcap" followed by "/etc" is the classic mistake).
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbuf.h"
#include "core/exclude.h"

/* distrib/misc/vunify-exclude, byte for byte. */
const char va_excl_default_list[] =
	"/.rpmdb\n"
	"/dev\n"
	"~/etc/shadow\n"
	"~/etc/passwd\n"
	"~/etc/group\n"
	"+/etc/termcap\n"
	"+/etc/gconf\n"
	"+/etc/gconf/schemas\n"
	"/etc/gconf/*\n"
	"/etc/*\n"
	"/home\n"
	"/proc\n"
	"/mnt\n"
	"+/root/.ssh\n"
	"~/root/.ssh/id*\n"
	"-/root/.ssh/*\n"
	"+/root/.gnupg\n"
	"~/root/.gnupg/secring*\n"
	"-/root/.gnupg/*\n"
	"-/root/*\n"
	"/selinux\n"
	"/sys\n"
	"~/tmp/*\n"
	"/tmp\n"
	"~/var/tmp/*\n"
	"/var\n"
	"/*/ls-R\n";

static const char *const quirk_messages[VA_EXCL_Q_COUNT] = {
#define VA_X_EXCL_QUIRK(id, msg) [VA_EXCL_Q_##id] = msg,
	VA_EXCL_QUIRKS(VA_X_EXCL_QUIRK)
#undef VA_X_EXCL_QUIRK
};

const char *va_excl_quirk_message(enum va_excl_quirk q)
{
	if ((unsigned)q >= VA_EXCL_Q_COUNT)
		return "unknown exclude-list quirk";
	return quirk_messages[q];
}

/* ================================================================ reader */

/* One line of the buffer, raw. */
struct line {
	const char *text;
	size_t len;             /* without the newline */
	bool newline;           /* false: the last fragment of the buffer */
	bool nul;               /* holds a NUL byte: the list ends here */
};

enum line_kind {
	L_BLANK,                /* empty: dropped silently */
	L_COMMENT,              /* '#' in the first column */
	L_SHORT,                /* under two characters after the stripping */
	L_RULE,
};

/*
 * next_line() - the line at *@pos.  Like util-vserver's strchr() loop, a
 * NUL byte ends everything: the scan stops after the line that holds it.
 * Return: false when there is no line left.
 */
static bool next_line(const char *buf, size_t len, size_t *pos, struct line *l)
{
	const char *p, *nl;
	size_t rest;

	if (*pos >= len)
		return false;
	p = buf + *pos;
	rest = len - *pos;
	nl = memchr(p, '\n', rest);
	l->text = p;
	l->len = nl ? (size_t)(nl - p) : rest;
	l->newline = nl != NULL;
	l->nul = memchr(p, '\0', l->len) != NULL;
	*pos = l->nul ? len : *pos + l->len + l->newline;
	return true;
}

/*
 * classify() - what readExcludeListFD() makes of @l: no processing of a
 * comment; else trailing spaces are stripped, but never the first byte
 * (its do-while stops at the line start), and what is left is kept when
 * it has at least two bytes.  @ret_keep: that length.
 */
static enum line_kind classify(const struct line *l, size_t *ret_keep)
{
	size_t k = l->len;

	*ret_keep = 0;
	if (k == 0)
		return L_BLANK;
	if (l->text[0] == '#')
		return L_COMMENT;
	while (k > 1 && l->text[k - 1] == ' ')
		k--;
	*ret_keep = k;
	return k < 2 ? L_SHORT : L_RULE;
}

static unsigned line_inc(unsigned n)
{
	return n < UINT_MAX ? n + 1 : n;
}

/* MatchList_appendFiles(): the first byte decides the action. */
static int add_rule(struct va_excl_list *list, const char *s, size_t len, unsigned line)
{
	struct va_excl_rule *r;
	size_t skip = 1;
	char *pat;

	if (va_array_grow(&list->rules, &list->caprules, list->nrules, sizeof(*list->rules)) < 0)
		return -ENOMEM;
	r = &list->rules[list->nrules];
	switch (s[0]) {
	case '+':
		r->action = VA_EXCL_INCLUDE;
		break;
	case '~':
		r->action = VA_EXCL_SKIP;
		break;
	case '-':
		r->action = VA_EXCL_EXCLUDE;
		break;
	default:
		r->action = VA_EXCL_EXCLUDE;
		skip = 0;
		break;
	}
	pat = malloc(len - skip + 1);
	if (!pat)
		return -ENOMEM;
	memcpy(pat, s + skip, len - skip);
	pat[len - skip] = '\0';
	r->pattern = pat;
	r->line = line;
	list->nrules++;
	return 0;
}

/* ================================================================ checks */

/*
 * scan_pattern() - glibc fnmatch()'s view of @p (flags 0), roughly: a '['
 * opens a bracket expression when a ']' closes it (a ']' right after the
 * '[' or "[!" is a member, "[:class:]" is skipped as a whole, a backslash
 * escapes inside and outside); else the '[' is an ordinary character.
 * @ret_bracket: some '[' is unmatched; @ret_trailing_bs: the pattern ends
 * in an escaping backslash, which never matches.
 */
static void scan_pattern(const char *p, bool *ret_bracket, bool *ret_trailing_bs)
{
	*ret_bracket = *ret_trailing_bs = false;
	for (size_t i = 0; p[i]; i++) {
		size_t j;

		if (p[i] == '\\') {
			if (!p[i + 1]) {
				*ret_trailing_bs = true;
				return;
			}
			i++;
			continue;
		}
		if (p[i] != '[')
			continue;
		j = i + 1;
		if (p[j] == '!' || p[j] == '^')
			j++;
		if (p[j] == ']')
			j++;
		while (p[j] && p[j] != ']') {
			if (p[j] == '\\' && p[j + 1]) {
				j += 2;
			} else if (p[j] == '[' && p[j + 1] == ':') {
				const char *end = strstr(p + j + 2, ":]");

				j = end ? (size_t)(end - p) + 2 : j + 1;
			} else {
				j++;
			}
		}
		if (p[j])
			i = j;          /* a bracket expression, skipped */
		else
			*ret_bracket = true;
	}
}

/* A guest path starts with '/' and never ends in one. */
static bool never_matches(const char *p, bool trailing_bs)
{
	size_t n = strlen(p);

	if (n == 0 || trailing_bs || p[n - 1] == '/')
		return true;
	if (p[0] == '/' || p[0] == '*' || p[0] == '?' || p[0] == '[')
		return false;
	return !(p[0] == '\\' && p[1] == '/');
}

/*
 * shadowed() - an include the tools never reach: its pattern is a plain
 * path that an earlier rule already excludes, or one of the plain parent
 * directories it names ("/etc" of "/etc/termcap" or "/etc/x*") is
 * excluded by the list, so the walk never enters it.  @scratch has room
 * for the pattern.
 */
static bool shadowed(const struct va_excl_list *list, const struct va_excl_rule *r, char *scratch)
{
	const char *p = r->pattern;
	size_t n = strlen(p), plain = strcspn(p, "*?[\\");

	if (r->action != VA_EXCL_INCLUDE)
		return false;
	/* r itself matches p: a non-include first match is an earlier rule */
	if (plain == n && va_excl_match(list, p, NULL) != VA_EXCL_INCLUDE)
		return true;
	for (size_t i = 1; i < plain; i++) {
		if (p[i] != '/')
			continue;
		memcpy(scratch, p, i);
		scratch[i] = '\0';
		if (va_excl_match(list, scratch, NULL) != VA_EXCL_INCLUDE)
			return true;
	}
	return false;
}

static void check_rule(const struct va_excl_list *list, const struct va_excl_rule *r,
		       const struct line *l, size_t keep, char *scratch,
		       va_excl_warn_fn *warn, void *user)
{
	bool bracket, trailing_bs;

#define WARN(id) warn(VA_EXCL_Q_##id, r->line, l->text, l->len, user)
	if (keep < l->len)
		WARN(TRAILING_SPACE);
	if (l->text[keep - 1] == '\t' || l->text[keep - 1] == '\r')
		WARN(TRAILING_OTHER);
	scan_pattern(r->pattern, &bracket, &trailing_bs);
	if (never_matches(r->pattern, trailing_bs))
		WARN(NEVER_MATCHES);
	if (bracket)
		WARN(BRACKET);
	if (shadowed(list, r, scratch))
		WARN(SHADOWED);
#undef WARN
}

/* ================================================================ API */

static void truncate_list(struct va_excl_list *list, size_t n)
{
	while (list->nrules > n)
		free(list->rules[--list->nrules].pattern);
}

int va_excl_parse(struct va_excl_list *list, const char *buf, size_t len,
		  va_excl_warn_fn *warn, void *user)
{
	size_t first = list->nrules, next, pos = 0, keep, maxlen = 0;
	unsigned lineno = 0;
	struct line l;
	char *scratch;

	while (next_line(buf, len, &pos, &l)) {
		lineno = line_inc(lineno);
		if (l.nul || !l.newline)
			break;
		if (classify(&l, &keep) != L_RULE)
			continue;
		if (add_rule(list, l.text, keep, lineno) < 0) {
			truncate_list(list, first);
			return -ENOMEM;
		}
		if (keep > maxlen)
			maxlen = keep;
	}
	if (!warn)
		return 0;

	scratch = malloc(maxlen + 1);
	if (!scratch) {
		truncate_list(list, first);
		return -ENOMEM;
	}
	next = first;
	pos = 0;
	lineno = 0;
	while (next_line(buf, len, &pos, &l)) {
		enum line_kind kind;

		lineno = line_inc(lineno);
		if (l.nul) {
			warn(VA_EXCL_Q_NUL_BYTE, lineno, l.text, l.len, user);
			break;
		}
		kind = classify(&l, &keep);
		if (kind == L_SHORT)
			warn(VA_EXCL_Q_ONE_CHAR, lineno, l.text, l.len, user);
		else if (kind == L_RULE && !l.newline)
			warn(VA_EXCL_Q_NO_NEWLINE, lineno, l.text, l.len, user);
		else if (kind == L_RULE)
			check_rule(list, &list->rules[next++], &l, keep, scratch, warn, user);
	}
	free(scratch);
	return 0;
}

enum va_excl_action va_excl_match(const struct va_excl_list *list, const char *path,
				  const struct va_excl_rule **which)
{
	for (size_t i = 0; i < list->nrules; i++) {
		if (fnmatch(list->rules[i].pattern, path, 0) == 0) {
			if (which)
				*which = &list->rules[i];
			return list->rules[i].action;
		}
	}
	if (which)
		*which = NULL;
	return VA_EXCL_INCLUDE;
}

/*
 * The parent directories are matched from a copy of @path, cut at each
 * '/'.  Should a path too long for the stack copy find no memory, the
 * answer is "exclude" with no rule: the cautious one (not unified).
 */
enum va_excl_action va_excl_effective(const struct va_excl_list *list, const char *path,
				      const struct va_excl_rule **which)
{
	char stackbuf[4096], *buf = stackbuf;
	size_t len = strlen(path);
	enum va_excl_action a;

	if (len >= sizeof(stackbuf)) {
		buf = malloc(len + 1);
		if (!buf) {
			if (which)
				*which = NULL;
			return VA_EXCL_EXCLUDE;
		}
	}
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i < len; i++) {
		if (buf[i] != '/')
			continue;
		buf[i] = '\0';
		a = va_excl_match(list, buf, which);
		buf[i] = '/';
		if (a != VA_EXCL_INCLUDE)
			goto out;
	}
	a = va_excl_match(list, path, which);
out:
	if (buf != stackbuf)
		free(buf);
	return a;
}

void va_excl_release(struct va_excl_list *list)
{
	truncate_list(list, 0);
	free(list->rules);
	list->rules = NULL;
	list->caprules = 0;
}
