/* SPDX-License-Identifier: GPL-2.0-or-later */
/* escape.c - shell, JSON and base64 encodings of file names. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "core/escape.h"

size_t va_utf8_decode(const char *s, size_t len, uint32_t *ret_cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp, min;
	size_t n;

	if (len == 0)
		return 0;
	if (u[0] < 0x80) {
		*ret_cp = u[0];
		return 1;
	} else if ((u[0] & 0xe0) == 0xc0) {
		n = 2, cp = u[0] & 0x1f, min = 0x80;
	} else if ((u[0] & 0xf0) == 0xe0) {
		n = 3, cp = u[0] & 0x0f, min = 0x800;
	} else if ((u[0] & 0xf8) == 0xf0) {
		n = 4, cp = u[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (u[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return n;
}

bool va_utf8_valid(const char *s, size_t len)
{
	uint32_t cp;

	while (len) {
		size_t n;

		if ((unsigned char)*s < 0x80) {         /* ASCII: one byte, always valid */
			s++;
			len--;
			continue;
		}
		n = va_utf8_decode(s, len, &cp);

		if (!n)
			return false;
		s += n;
		len -= n;
	}
	return true;
}

/* Code points that must never reach a terminal raw. */
static bool cp_is_dangerous(uint32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

static bool byte_is_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("/._+,:@%^-", c));
}

enum quote_state { Q_NONE, Q_SINGLE, Q_DOLLAR };

static int quote_switch(struct dbuf *out, enum quote_state *st, enum quote_state want)
{
	int r = 0;

	if (*st == want)
		return 0;
	if (*st != Q_NONE)
		r |= dbuf_addc(out, '\'');
	if (want == Q_SINGLE)
		r |= dbuf_addc(out, '\'');
	else if (want == Q_DOLLAR)
		r |= dbuf_adds(out, "$'");
	*st = want;
	return r ? -ENOMEM : 0;
}

int va_escape_shell(struct dbuf *out, const char *s, size_t len)
{
	enum quote_state st = Q_NONE;
	bool plain = len > 0 && s[0] != '-' && s[0] != '~';
	int r = 0;

	for (size_t i = 0; plain && i < len; i++)
		plain = byte_is_plain((unsigned char)s[i]);
	if (plain)
		return dbuf_add(out, s, len);
	if (len == 0)
		return dbuf_adds(out, "''");

	for (size_t i = 0; i < len && r == 0;) {
		uint32_t cp;
		size_t n = va_utf8_decode(s + i, len - i, &cp);

		if (n && !cp_is_dangerous(cp)) {
			if (cp == '\'') {
				r = quote_switch(out, &st, Q_NONE);
				r |= dbuf_adds(out, "\\'");
			} else {
				r = quote_switch(out, &st, Q_SINGLE);
				r |= dbuf_add(out, s + i, n);
			}
			i += n;
			continue;
		}
		if (!n)
			n = 1; /* invalid byte: escape it alone */
		r = quote_switch(out, &st, Q_DOLLAR);
		for (size_t k = 0; k < n && r == 0; k++) {
			unsigned char c = (unsigned char)s[i + k];

			switch (c) {
			case '\n': r = dbuf_adds(out, "\\n"); break;
			case '\t': r = dbuf_adds(out, "\\t"); break;
			case '\r': r = dbuf_adds(out, "\\r"); break;
			case 0x1b: r = dbuf_adds(out, "\\E"); break;
			default:   r = dbuf_addf(out, "\\x%02x", c); break;
			}
		}
		i += n;
	}
	if (r == 0)
		r = quote_switch(out, &st, Q_NONE);
	return r ? -ENOMEM : 0;
}

int va_escape_json(struct dbuf *out, const char *s, size_t len)
{
	int r = dbuf_addc(out, '"');

	for (size_t i = 0; i < len && r == 0;) {
		uint32_t cp;
		size_t n, j = i;

		/* a run of printable ASCII that needs no escape, in one piece */
		while (j < len && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] < 0x7f &&
		       s[j] != '"' && s[j] != '\\')
			j++;
		if (j > i) {
			r = dbuf_add(out, s + i, j - i);
			i = j;
			continue;
		}
		n = va_utf8_decode(s + i, len - i, &cp);
		if (!n) {
			r = dbuf_adds(out, "\\ufffd");
			i++;
			continue;
		}
		switch (cp) {
		case '"':  r = dbuf_adds(out, "\\\""); break;
		case '\\': r = dbuf_adds(out, "\\\\"); break;
		case '\n': r = dbuf_adds(out, "\\n"); break;
		case '\t': r = dbuf_adds(out, "\\t"); break;
		case '\r': r = dbuf_adds(out, "\\r"); break;
		case '\b': r = dbuf_adds(out, "\\b"); break;
		case '\f': r = dbuf_adds(out, "\\f"); break;
		default:
			if (cp_is_dangerous(cp))
				r = dbuf_addf(out, "\\u%04x", cp);
			else
				r = dbuf_add(out, s + i, n);
		}
		i += n;
	}
	if (r == 0)
		r = dbuf_addc(out, '"');
	return r ? -ENOMEM : 0;
}

int va_base64(struct dbuf *out, const void *p, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *u = p;
	char *q;

	if (dbuf_reserve(out, (len + 2) / 3 * 4) < 0)
		return -ENOMEM;
	/* into the room reserved (a journal record has two paths in base64) */
	q = out->buf + out->len;
	for (size_t i = 0; i < len; i += 3, q += 4) {
		uint32_t v = (uint32_t)u[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)u[i + 1] << 8;
		if (i + 2 < len)
			v |= u[i + 2];
		q[0] = alphabet[(v >> 18) & 63];
		q[1] = alphabet[(v >> 12) & 63];
		q[2] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? alphabet[v & 63] : '=';
	}
	*q = '\0';
	out->len = (size_t)(q - out->buf);
	return 0;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int va_unbase64(struct dbuf *out, const char *s, size_t len)
{
	size_t start = out->len;

	if (len % 4)
		return -EINVAL;
	if (dbuf_reserve(out, len / 4 * 3) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		/* "xy==" and "xyz=" only at the very end */
		int pad = last && s[i + 3] == '=' ? (s[i + 2] == '=' ? 2 : 1) : 0;
		int v[4] = { 0, 0, 0, 0 };
		char b[3];

		for (int k = 0; k < 4 - pad; k++)
			if ((v[k] = b64val((unsigned char)s[i + k])) < 0) {
				dbuf_setlen(out, start);
				return -EINVAL;
			}
		b[0] = (char)(v[0] << 2 | v[1] >> 4);
		b[1] = (char)((v[1] & 15) << 4 | v[2] >> 2);
		b[2] = (char)((v[2] & 3) << 6 | v[3]);
		dbuf_add(out, b, (size_t)(3 - pad));
	}
	return 0;
}

int va_json_field(struct dbuf *out, const char *key, const char *s, size_t len)
{
	int r;

	if (!s)
		return dbuf_addf(out, ",\"%s\":null", key);
	if (va_utf8_valid(s, len)) {
		r = dbuf_add(out, ",\"", 2) | dbuf_adds(out, key) | dbuf_add(out, "\":", 2);
		return r | va_escape_json(out, s, len);
	}
	r = dbuf_addf(out, ",\"%s_b64\":\"", key);
	r |= va_base64(out, s, len);
	return r | dbuf_addc(out, '"');
}
