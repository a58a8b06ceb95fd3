/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * legacy.c - NAME.conf of the 2.4-era configuration, read without running
 * it (see legacy.h for what is accepted).
 *
 * A lexer turns the text into tokens (words with the quotes removed,
 * separators, operators); commands are the tokens up to a newline, ';' or
 * ';;'; a small interpreter takes assignments, export and the if/case
 * constructs of util-vserver's template, and reports everything else.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/legacy.h"
#include "core/dbuf.h"

enum tok_kind { T_WORD, T_NL, T_SEMI, T_DSEMI, T_OP, T_EOF };

struct tok {
	enum tok_kind kind;
	char *text;             /* T_WORD: the value, quotes removed; T_OP: the operator */
	bool dollar;            /* T_WORD: an unescaped $ outside single quotes */
	bool quoted;            /* T_WORD: some part was quoted or escaped */
	size_t assign;          /* T_WORD: length of a leading unquoted NAME before an unquoted '=', or 0 */
	unsigned line;
};

struct lexer {
	const char *p, *end;
	unsigned line;
	const char *err;        /* a fatal lexer error (the rest cannot be read) */
	unsigned err_line;
};

struct parser {
	struct lexer lx;
	struct va_legacy *out;
	va_legacy_problem_fn fn;
	void *user;
	unsigned nproblems;
	int err;                /* -ENOMEM or fn's stop value */
	const char *profile0;
};

static bool name_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

static bool meta(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '|' || c == '&' || c == '(' ||
	       c == ')' || c == '<' || c == '>';
}

static void problem(struct parser *ps, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct parser *ps, unsigned line, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int n;

	if (ps->err || !ps->fn)
		return;
	if (++ps->nproblems > VA_LEGACY_MAX_PROBLEMS + 1)
		return;
	if (ps->nproblems == VA_LEGACY_MAX_PROBLEMS + 1) {
		ps->err = ps->fn(line, "more problems follow (not reported)", ps->user);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		ps->err = -ENOMEM;
		return;
	}
	ps->err = ps->fn(line, msg, ps->user);
	free(msg);
}

/* The next token into *t (t->text malloc'd for words and operators). Return: 0 or -ENOMEM. */
static int lex(struct lexer *lx, struct tok *t)
{
	struct dbuf w = DBUF_INIT;
	bool name_ok = true;

	memset(t, 0, sizeof(*t));
	for (;;) {
		/* blanks and comments between words */
		while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t'))
			lx->p++;
		if (lx->p + 1 < lx->end && lx->p[0] == '\\' && lx->p[1] == '\n') {
			lx->p += 2;
			lx->line++;
			continue;
		}
		if (lx->p < lx->end && *lx->p == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		}
		break;
	}
	t->line = lx->line;
	if (lx->err || lx->p >= lx->end) {
		t->kind = T_EOF;
		return 0;
	}
	switch (*lx->p) {
	case '\n':
		lx->p++;
		lx->line++;
		t->kind = T_NL;
		return 0;
	case ';':
		lx->p++;
		if (lx->p < lx->end && *lx->p == ';') {
			lx->p++;
			t->kind = T_DSEMI;
		} else {
			t->kind = T_SEMI;
		}
		return 0;
	case '|': case '&': case '(': case ')': case '<': case '>': {
		char op[3] = { *lx->p, 0, 0 };

		lx->p++;
		if (lx->p < lx->end && (*lx->p == op[0] || (op[0] == '>' && *lx->p == '&')) &&
		    op[0] != '(' && op[0] != ')') {
			op[1] = *lx->p;
			lx->p++;
		}
		t->kind = T_OP;
		t->text = strdup(op);
		return t->text ? 0 : -ENOMEM;
	}
	}
	t->kind = T_WORD;
	while (lx->p < lx->end && !meta(*lx->p)) {
		char c = *lx->p;

		if (c == '\\') {
			if (lx->p + 1 >= lx->end) {
				lx->p++;
				break;  /* a final backslash: nothing to escape */
			}
			if (lx->p[1] == '\n') {
				lx->line++;
			} else if (dbuf_addc(&w, lx->p[1]) < 0) {
				goto nomem;
			}
			t->quoted = true;
			name_ok = false;
			lx->p += 2;
		} else if (c == '\'') {
			const char *q = memchr(lx->p + 1, '\'', (size_t)(lx->end - lx->p - 1));

			if (!q) {
				lx->err = "unterminated single quote";
				lx->err_line = lx->line;
				lx->p = lx->end;
				break;
			}
			for (const char *s = lx->p + 1; s < q; s++)
				lx->line += *s == '\n';
			if (dbuf_add(&w, lx->p + 1, (size_t)(q - lx->p - 1)) < 0)
				goto nomem;
			t->quoted = true;
			name_ok = false;
			lx->p = q + 1;
		} else if (c == '"') {
			unsigned start = lx->line;

			lx->p++;
			t->quoted = true;
			name_ok = false;
			while (lx->p < lx->end && *lx->p != '"') {
				char d = *lx->p;

				if (d == '\\' && lx->p + 1 < lx->end && strchr("$`\"\\\n", lx->p[1])) {
					if (lx->p[1] == '\n')
						lx->line++;
					else if (dbuf_addc(&w, lx->p[1]) < 0)
						goto nomem;
					lx->p += 2;
					continue;
				}
				if (d == '`') {
					lx->err = "command substitution (`...`) is not read";
					lx->err_line = lx->line;
					lx->p = lx->end;
					break;
				}
				if (d == '$')
					t->dollar = true;
				if (d == '\n')
					lx->line++;
				if (dbuf_addc(&w, d) < 0)
					goto nomem;
				lx->p++;
			}
			if (lx->err)
				break;
			if (lx->p >= lx->end) {
				lx->err = "unterminated double quote";
				lx->err_line = start;
				break;
			}
			lx->p++;
		} else if (c == '`') {
			lx->err = "command substitution (`...`) is not read";
			lx->err_line = lx->line;
			lx->p = lx->end;
			break;
		} else {
			if (c == '$')
				t->dollar = true;
			if (c == '=' && name_ok && !t->assign && w.len && name_start(w.buf[0]))
				t->assign = w.len;
			else if (!t->assign && !name_char(c))
				name_ok = false;
			if (dbuf_addc(&w, c) < 0)
				goto nomem;
			lx->p++;
		}
	}
	if (!w.buf && dbuf_adds(&w, "") < 0)
		goto nomem;
	t->text = w.buf;
	return 0;
nomem:
	dbuf_release(&w);
	return -ENOMEM;
}

/* ------------------------------------------------------------------ commands */

struct cmd {
	struct tok *t;
	size_t n, cap;
	enum tok_kind end;      /* T_NL, T_SEMI, T_DSEMI or T_EOF */
	unsigned line;          /* of its first token */
};

static void cmd_clear(struct cmd *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->t[i].text);
	c->n = 0;
}

/* The next command.  Return: 0 or -ENOMEM. */
static int next_cmd(struct lexer *lx, struct cmd *c)
{
	cmd_clear(c);
	c->line = lx->line;
	for (;;) {
		struct tok t;
		int r = lex(lx, &t);

		if (r < 0)
			return r;
		if (t.kind == T_NL || t.kind == T_SEMI || t.kind == T_DSEMI || t.kind == T_EOF) {
			c->end = t.kind;
			if (!c->n)
				c->line = t.line;
			return 0;
		}
		if (va_array_grow(&c->t, &c->cap, c->n, sizeof(*c->t)) < 0) {
			free(t.text);
			return -ENOMEM;
		}
		if (!c->n)
			c->line = t.line;
		c->t[c->n++] = t;
	}
}

static bool is_word(const struct cmd *c, size_t i, const char *s)
{
	return i < c->n && c->t[i].kind == T_WORD && !c->t[i].quoted && !c->t[i].dollar &&
	       strcmp(c->t[i].text, s) == 0;
}

static bool is_op(const struct cmd *c, size_t i, const char *s)
{
	return i < c->n && c->t[i].kind == T_OP && strcmp(c->t[i].text, s) == 0;
}

/* "$PROFILE" or "${PROFILE}" (quoted or not) */
static bool is_profile(const struct cmd *c, size_t i)
{
	return i < c->n && c->t[i].kind == T_WORD && c->t[i].dollar &&
	       (strcmp(c->t[i].text, "$PROFILE") == 0 || strcmp(c->t[i].text, "${PROFILE}") == 0);
}

static bool is_empty_word(const struct cmd *c, size_t i)
{
	return i < c->n && c->t[i].kind == T_WORD && c->t[i].quoted && !c->t[i].dollar &&
	       !c->t[i].text[0];
}

static const char *profile(const struct parser *ps)
{
	const struct va_legacy_var *v = va_legacy_get(ps->out, "PROFILE");

	return v ? v->value : ps->profile0 ? ps->profile0 : "";
}

static int set_var(struct va_legacy *l, const char *name, size_t nlen, const char *value,
		   unsigned line)
{
	struct va_legacy_var *v = NULL;
	char *val = strdup(value);

	if (!val)
		return -ENOMEM;
	for (size_t i = 0; i < l->nvars && !v; i++)
		if (strlen(l->vars[i].name) == nlen && memcmp(l->vars[i].name, name, nlen) == 0)
			v = &l->vars[i];
	if (!v) {
		if (va_array_grow(&l->vars, &l->cap, l->nvars, sizeof(*l->vars)) < 0) {
			free(val);
			return -ENOMEM;
		}
		v = &l->vars[l->nvars];
		v->name = strndup(name, nlen);
		if (!v->name) {
			free(val);
			return -ENOMEM;
		}
		l->nvars++;
	} else {
		free(v->value);
	}
	v->value = val;
	v->line = line;
	return 0;
}

/* @s for a message: at most 40 bytes, control characters as '?' (in @buf). */
static const char *shown(const char *s, char buf[48])
{
	size_t i = 0;

	for (; s[i] && i < 40; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i])
		buf[i++] = '.', buf[i++] = '.', buf[i++] = '.';
	buf[i] = '\0';
	return buf;
}

/*
 * A simple command from token @from on: assignments, or export.
 * @active: keep the values.
 */
static void simple(struct parser *ps, const struct cmd *c, size_t from, bool active)
{
	size_t i = from;
	bool export = false;
	char sb[48];

	if (i >= c->n)
		return;
	for (size_t k = i; k < c->n; k++)
		if (c->t[k].kind == T_OP) {
			problem(ps, c->line, "'%s': pipes, redirections, subshells and background "
				"commands are not read (only assignments)", c->t[k].text);
			return;
		}
	if (is_word(c, i, "export")) {
		export = true;
		i++;
	}
	/* check everything first: a command is skipped whole */
	for (size_t k = i; k < c->n; k++) {
		const struct tok *t = &c->t[k];

		if (!t->assign) {
			if (export && !t->quoted && !t->dollar && name_start(t->text[0]) &&
			    t->text[strspn(t->text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					    "0123456789_")] == '\0')
				continue;       /* export NAME */
			problem(ps, c->t[from].line, "'%s' is not an assignment: NAME.conf would run it "
				"as a command, which vaudit does not do", shown(c->t[from].text, sb));
			return;
		}
		if (t->dollar) {
			problem(ps, t->line, "the value of %.*s uses '$': variables and expansions are "
				"not evaluated", (int)t->assign, t->text);
			return;
		}
		if (t->text[t->assign + 1] == '~' && !t->quoted) {
			problem(ps, t->line, "the value of %.*s starts with '~': tilde expansion is "
				"not evaluated", (int)t->assign, t->text);
			return;
		}
	}
	if (!active)
		return;
	for (size_t k = i; k < c->n && !ps->err; k++)
		if (c->t[k].assign)
			ps->err = set_var(ps->out, c->t[k].text, c->t[k].assign,
					  c->t[k].text + c->t[k].assign + 1, c->t[k].line);
}

/* The frames of if and case. */
enum frame_kind { F_IF, F_CASE };
enum case_state { C_PATTERN, C_BODY };

struct frame {
	enum frame_kind kind;
	bool parent_active;
	bool taken;             /* if: the condition; case: a branch matched already */
	bool active;            /* the current branch runs */
	bool in_else;
	enum case_state cs;
	unsigned line;
};

/* if [ "$PROFILE" = "" ] / [ -z "$PROFILE" ] / [ "" = "$PROFILE" ]: the index after "]", or 0 */
static size_t if_cond(const struct cmd *c)
{
	if (!is_word(c, 1, "[") && !is_word(c, 1, "test"))
		return 0;
	{
		bool br = is_word(c, 1, "[");
		size_t after;

		if (is_word(c, 2, "-z") && is_profile(c, 3))
			after = 4;
		else if (is_profile(c, 2) && (is_word(c, 3, "=") || is_word(c, 3, "==")) &&
			 is_empty_word(c, 4))
			after = 5;
		else if (is_empty_word(c, 2) && (is_word(c, 3, "=") || is_word(c, 3, "==")) &&
			 is_profile(c, 4))
			after = 5;
		else
			return 0;
		if (br)
			return is_word(c, after, "]") ? after + 1 : 0;
		return after;
	}
}

int va_legacy_parse(const char *buf, size_t len, const char *prof, struct va_legacy *out,
		    va_legacy_problem_fn fn, void *user)
{
	struct parser ps = { .lx = { buf, buf + len, 1, NULL, 0 }, .out = out, .fn = fn,
			     .user = user, .profile0 = prof };
	struct frame st[16];
	size_t depth = 0;
	struct cmd c = { 0 };
	bool want_then = false;
	const char *nul = memchr(buf, '\0', len);

	if (nul) {
		unsigned line = 1;

		for (const char *s = buf; s < nul; s++)
			line += *s == '\n';
		problem(&ps, line, "a NUL byte: not a shell script; read up to it");
		ps.lx.end = nul;
	}
	while (!ps.err) {
		bool active = depth ? st[depth - 1].active : true;
		size_t i = 0;
		int r = next_cmd(&ps.lx, &c);

		if (r < 0) {
			ps.err = r;
			break;
		}
		if (want_then) {
			if (!c.n && c.end != T_EOF)
				continue;
			want_then = false;
			if (!is_word(&c, 0, "then")) {
				problem(&ps, c.line, "'then' expected after the if condition");
				depth--;        /* forget the if */
				continue;
			}
			i = 1;
		}
		if (depth && st[depth - 1].kind == F_CASE && st[depth - 1].cs == C_PATTERN && c.n) {
			struct frame *f = &st[depth - 1];
			bool match = false;

			if (is_word(&c, 0, "esac")) {
				depth--;
				if (c.n > 1)
					problem(&ps, c.line, "'esac' followed by more on its line is not read");
				goto end;
			}
			i = is_op(&c, 0, "(") ? 1 : 0;
			for (;;) {
				if (i >= c.n || c.t[i].kind != T_WORD || c.t[i].dollar) {
					problem(&ps, c.line, "a case pattern (WORD) expected");
					i = c.n;
					break;
				}
				match |= fnmatch(c.t[i].text, profile(&ps), 0) == 0;
				i++;
				if (is_op(&c, i, ")")) {
					i++;
					break;
				}
				if (!is_op(&c, i, "|")) {
					problem(&ps, c.line, "')' expected after a case pattern");
					i = c.n;
					break;
				}
				i++;
			}
			f->active = f->parent_active && match && !f->taken;
			f->taken |= match;
			f->cs = C_BODY;
			active = f->active;
		}
		if (i < c.n && is_word(&c, i, "if")) {
			size_t after = if_cond(&c);
			bool cond = !profile(&ps)[0];

			if (!after) {
				problem(&ps, c.line, "an if other than util-vserver's [ \"$PROFILE\" = \"\" ] "
					"is not read");
			} else if (depth == sizeof(st) / sizeof(*st)) {
				problem(&ps, c.line, "if nested too deep");
			} else {
				st[depth++] = (struct frame){ F_IF, active, cond, active && cond, false,
							      C_PATTERN, c.line };
				if (after < c.n) {
					if (!is_word(&c, after, "then"))
						problem(&ps, c.line, "'then' expected after the if condition");
					else
						simple(&ps, &c, after + 1, st[depth - 1].active);
				} else {
					want_then = true;
				}
			}
		} else if (i < c.n && (is_word(&c, i, "else") || is_word(&c, i, "fi"))) {
			if (!depth || st[depth - 1].kind != F_IF) {
				problem(&ps, c.line, "'%s' without if", c.t[i].text);
			} else if (is_word(&c, i, "else")) {
				struct frame *f = &st[depth - 1];

				if (f->in_else)
					problem(&ps, c.line, "a second 'else'");
				f->in_else = true;
				f->active = f->parent_active && !f->taken;
				simple(&ps, &c, i + 1, f->active);
			} else {
				depth--;
				if (i + 1 < c.n)
					problem(&ps, c.line, "'fi' followed by more on its line is not read");
			}
		} else if (i < c.n && is_word(&c, i, "case")) {
			if (c.n != i + 3 || !is_profile(&c, i + 1) || !is_word(&c, i + 2, "in")) {
				problem(&ps, c.line, "a case other than util-vserver's case $PROFILE in is not read");
			} else if (depth == sizeof(st) / sizeof(*st)) {
				problem(&ps, c.line, "case nested too deep");
			} else {
				st[depth++] = (struct frame){ F_CASE, active, false, false, false,
							      C_PATTERN, c.line };
			}
		} else if (i < c.n && is_word(&c, i, "esac") && depth && st[depth - 1].kind == F_CASE) {
			depth--;
		} else if (i < c.n && (is_word(&c, i, "elif") || is_word(&c, i, "then") ||
				       is_word(&c, i, "esac") || is_word(&c, i, "while") ||
				       is_word(&c, i, "for") || is_word(&c, i, "until") ||
				       is_word(&c, i, "do") || is_word(&c, i, "done"))) {
			problem(&ps, c.line, "'%s': only util-vserver's if [ \"$PROFILE\" = \"\" ] and "
				"case $PROFILE in are read", c.t[i].text);
		} else {
			simple(&ps, &c, i, active);
		}
end:
		if (c.end == T_DSEMI) {
			if (depth && st[depth - 1].kind == F_CASE && st[depth - 1].cs == C_BODY)
				st[depth - 1].cs = C_PATTERN;
			else
				problem(&ps, c.line, "';;' outside a case branch");
		}
		if (c.end == T_EOF)
			break;
	}
	if (!ps.err && ps.lx.err)
		problem(&ps, ps.lx.err_line, "%s: the rest of the file is not read", ps.lx.err);
	for (; !ps.err && depth; depth--)
		problem(&ps, st[depth - 1].line, "'%s' is never closed (no '%s')",
			st[depth - 1].kind == F_IF ? "if" : "case",
			st[depth - 1].kind == F_IF ? "fi" : "esac");
	if (!ps.err && want_then)
		problem(&ps, ps.lx.line, "'then' expected after the if condition");
	cmd_clear(&c);
	free(c.t);
	return ps.err;
}

const struct va_legacy_var *va_legacy_get(const struct va_legacy *l, const char *name)
{
	for (size_t i = 0; l && i < l->nvars; i++)
		if (strcmp(l->vars[i].name, name) == 0)
			return &l->vars[i];
	return NULL;
}

void va_legacy_release(struct va_legacy *l)
{
	for (size_t i = 0; i < l->nvars; i++) {
		free(l->vars[i].name);
		free(l->vars[i].value);
	}
	free(l->vars);
	memset(l, 0, sizeof(*l));
}
