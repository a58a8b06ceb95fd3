/* SPDX-License-Identifier: GPL-2.0-or-later */
/* script.c - the headless key script and the screen dump (see script.h). */
#include "config.h"

#include <curses.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "core/dbuf.h"
#include "core/escape.h"
#include "tui/script.h"

static const struct {
	const char *name;
	int key;
	bool fkey;
} key_names[] = {
	{ "<Down>", KEY_DOWN, true },
	{ "<Up>", KEY_UP, true },
	{ "<PgDn>", KEY_NPAGE, true },
	{ "<PgUp>", KEY_PPAGE, true },
	{ "<Home>", KEY_HOME, true },
	{ "<End>", KEY_END, true },
	{ "<Backspace>", KEY_BACKSPACE, true },
	{ "<F1>", KEY_F(1), true },
	{ "<Tab>", '\t', false },
	{ "<Enter>", '\n', false },
	{ "<Space>", ' ', false },
	{ "<Esc>", 27, false },
	{ "<C-l>", 0x0c, false },
};

static int add_step(struct tui_script *sc, struct tui_step st)
{
	if (va_array_grow(&sc->steps, &sc->cap, sc->n, sizeof(*sc->steps)) < 0)
		return -ENOMEM;
	sc->steps[sc->n++] = st;
	return 0;
}

/* One key token: a name in <>, or one character (UTF-8). */
static int parse_key(const char *tok, size_t len, struct tui_step *st)
{
	uint32_t cp;

	if (tok[0] == '<' && len > 2) {
		for (size_t i = 0; i < sizeof(key_names) / sizeof(key_names[0]); i++) {
			if (strlen(key_names[i].name) == len && memcmp(key_names[i].name, tok, len) == 0) {
				st->key = key_names[i].key;
				st->fkey = key_names[i].fkey;
				return 0;
			}
		}
		return -EINVAL;
	}
	if (va_utf8_decode(tok, len, &cp) != len || cp < 0x20 || cp == 0x7f)
		return -EINVAL;
	st->key = (int)cp;
	st->fkey = false;
	return 0;
}

static int parse_line(struct tui_script *sc, char *line, unsigned lineno, char *err, size_t errsize)
{
	struct tui_step st = { .line = lineno };
	size_t len = strlen(line);
	int r;

	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	if (line[0] == ':') {
		if (strncmp(line, ":type ", 6) == 0) {
			const char *s = line + 6;
			size_t n = strlen(s);

			for (size_t i = 0; i < n;) {
				uint32_t cp;
				size_t k = va_utf8_decode(s + i, n - i, &cp);

				if (!k || cp < 0x20 || cp == 0x7f) {
					snprintf(err, errsize, "line %u: :type takes printable UTF-8 text", lineno);
					return -EINVAL;
				}
				st.type = TUI_STEP_KEY;
				st.key = (int)cp;
				st.fkey = false;
				if ((r = add_step(sc, st)) < 0)
					return r;
				i += k;
			}
			return 0;
		}
		if (strcmp(line, ":wait") == 0) {
			st.type = TUI_STEP_WAIT;
		} else if (strcmp(line, ":dump") == 0) {
			st.type = TUI_STEP_DUMP;
		} else if (strcmp(line, ":attrs") == 0) {
			st.type = TUI_STEP_ATTRS;
		} else if (strncmp(line, ":resize ", 8) == 0) {
			char *end;
			long c = strtol(line + 8, &end, 10), rr = 0;

			if (*end == 'x')
				rr = strtol(end + 1, &end, 10);
			if (*end || c < 1 || rr < 1 || c > 1000 || rr > 1000) {
				snprintf(err, errsize, "line %u: :resize takes COLSxROWS", lineno);
				return -EINVAL;
			}
			st.type = TUI_STEP_RESIZE;
			st.cols = (int)c;
			st.rows = (int)rr;
		} else {
			snprintf(err, errsize, "line %u: unknown command (:wait :dump :attrs :resize :type)", lineno);
			return -EINVAL;
		}
		return add_step(sc, st);
	}
	for (char *p = line; *p;) {
		size_t n;

		p += strspn(p, " \t");
		if (!*p)
			break;
		n = strcspn(p, " \t");
		st.type = TUI_STEP_KEY;
		if (parse_key(p, n, &st) < 0) {
			snprintf(err, errsize, "line %u: unknown key '%.*s' (a character, or <Down> <Up> <PgDn> <PgUp> "
				 "<Home> <End> <Tab> <Enter> <Space> <Esc> <Backspace> <F1> <C-l>)",
				 lineno, (int)(n > 40 ? 40 : n), p);
			return -EINVAL;
		}
		if ((r = add_step(sc, st)) < 0)
			return r;
		p += n;
	}
	return 0;
}

int tui_script_load(struct tui_script *sc, const char *path, char *err, size_t errsize)
{
	FILE *fp = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int r = 0;

	err[0] = '\0';
	if (!fp) {
		r = -errno;
		snprintf(err, errsize, "%s", strerror(-r));
		return r;
	}
	while (getline(&line, &cap, fp) >= 0) {
		lineno++;
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if ((r = parse_line(sc, line, lineno, err, errsize)) < 0)
			break;
	}
	if (r == 0 && ferror(fp)) {
		r = -EIO;
		snprintf(err, errsize, "read error");
	}
	free(line);
	fclose(fp);
	if (r < 0)
		tui_script_release(sc);
	return r;
}

void tui_script_release(struct tui_script *sc)
{
	free(sc->steps);
	memset(sc, 0, sizeof(*sc));
}

/* Line drawing as ASCII: the alternate character set and U+2500..U+257F. */
static wchar_t plain_line_char(wchar_t wc, attr_t attrs)
{
	if (attrs & A_ALTCHARSET) {
		switch (wc) {
		case L'q': return L'-';
		case L'x': return L'|';
		case L'l': case L'k': case L'm': case L'j':
		case L't': case L'u': case L'v': case L'w': case L'n':
			return L'+';
		default:
			return wc;
		}
	}
	if (wc >= 0x2500 && wc <= 0x257f) {
		if (wc == 0x2500 || wc == 0x2501 || wc == 0x2550)
			return L'-';
		if (wc == 0x2502 || wc == 0x2503 || wc == 0x2551)
			return L'|';
		return L'+';
	}
	return wc;
}

static char attr_code(attr_t attrs, short pair)
{
	if (pair > 0)
		return pair < 10 ? (char)('0' + pair) : '+';
	if (attrs & A_REVERSE)
		return 'R';
	if (attrs & A_BOLD)
		return 'B';
	if (attrs & A_UNDERLINE)
		return 'U';
	return '.';
}

int tui_screen_dump(FILE *fp, bool attrs)
{
	int rows = LINES, cols = COLS;
	cchar_t *cells = calloc((size_t)cols + 1, sizeof(*cells));
	struct dbuf b = DBUF_INIT;
	int r = 0;

	if (!cells)
		return -ENOMEM;
	for (int y = 0; y < rows; y++) {
		size_t keep;

		dbuf_setlen(&b, 0);
		memset(cells, 0, ((size_t)cols + 1) * sizeof(*cells));
		/* on error the row stays empty */
		(void)mvwin_wchnstr(curscr, y, 0, cells, cols);
		for (int x = 0; x < cols; x++) {
			wchar_t wch[CCHARW_MAX + 1] = { 0 };
			attr_t a = 0;
			short pair = 0;

			/* the cells end with a zeroed one (wide characters take one) */
			if (getcchar(&cells[x], wch, &a, &pair, NULL) == ERR || wch[0] == 0)
				break;
			if (attrs) {
				dbuf_addc(&b, attr_code(a, pair));
				continue;
			}
			for (int k = 0; k < CCHARW_MAX && wch[k]; k++) {
				char mb[MB_LEN_MAX];
				mbstate_t ps;
				size_t m;

				memset(&ps, 0, sizeof(ps));
				m = wcrtomb(mb, plain_line_char(wch[k], a), &ps);
				if (m == (size_t)-1)
					dbuf_addc(&b, '?');
				else
					dbuf_add(&b, mb, m);
			}
		}
		keep = b.len;
		while (keep && b.buf[keep - 1] == (attrs ? '.' : ' '))
			keep--;
		dbuf_setlen(&b, keep);
		dbuf_addc(&b, '\n');
		if (fwrite(dbuf_str(&b), 1, b.len, fp) != b.len)
			r = -EIO;
	}
	if (fputs("----\n", fp) == EOF || fflush(fp) == EOF)
		r = -EIO;
	dbuf_release(&b);
	free(cells);
	return r;
}
