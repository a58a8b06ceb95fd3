/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flags.c - the flag table and its printers and parser. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/flags.h"

static const struct va_flag table[] = {
#define VA_X_EXT2(id, bit, letter, name, desc) { #id, VA_ENC_EXT2, bit, letter, name, desc },
	VA_EXT2_FLAGS(VA_X_EXT2)
#undef VA_X_EXT2
#define VA_X_VS(id, enc, bits, letter, name, desc) { #id, enc, bits, letter, name, desc },
	VA_VS_FLAGS(VA_X_VS)
#undef VA_X_VS
};

/* Number of ext2 rows: they come first. */
enum {
#define VA_X_COUNT(id, bit, letter, name, desc) + 1
	N_EXT2 = 0 VA_EXT2_FLAGS(VA_X_COUNT)
#undef VA_X_COUNT
};

_Static_assert(N_EXT2 < VA_FLAGS_LETTERS_MAX, "VA_FLAGS_LETTERS_MAX too small");

const struct va_flag *va_flag_table(size_t *ret_n)
{
	*ret_n = sizeof(table) / sizeof(table[0]);
	return table;
}

const char *va_flag_enc_name(enum va_flag_enc enc)
{
	switch (enc) {
	case VA_ENC_EXT2:  return "ext2";
	case VA_ENC_VS24:  return "2.4";
	case VA_ENC_VS26:  return "2.6";
	case VA_ENC_IATTR: return "syscall";
	}
	return "?";
}

size_t va_flags_width(void)
{
	return N_EXT2;
}

char *va_flags_letters(uint32_t flags, char *buf)
{
	size_t i;

	for (i = 0; i < N_EXT2; i++)
		buf[i] = (flags & table[i].bits) ? table[i].letter : '-';
	buf[i] = '\0';
	return buf;
}

char *va_flags_letters_if(uint32_t flags, bool known, char *buf)
{
	if (known)
		return va_flags_letters(flags, buf);
	memset(buf, '?', N_EXT2);
	buf[N_EXT2] = '\0';
	return buf;
}

size_t va_flags_names(uint32_t flags, char *buf, size_t size)
{
	uint32_t known = 0;
	size_t len = 0;
	int n;

	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < N_EXT2; i++) {
		known |= table[i].bits;
		if (!(flags & table[i].bits))
			continue;
		n = snprintf(buf + (len < size ? len : size), len < size ? size - len : 0,
			     "%s%s", len ? "," : "", table[i].name);
		len += (size_t)n;
	}
	if (flags & ~known) {
		n = snprintf(buf + (len < size ? len : size), len < size ? size - len : 0,
			     "%s0x%x", len ? "," : "", flags & ~known);
		len += (size_t)n;
	}
	return len;
}

const struct va_flag *va_flag_lookup(const char *name, unsigned encs)
{
	size_t n = sizeof(table) / sizeof(table[0]);

	for (size_t i = 0; i < n; i++) {
		if (!(table[i].enc & encs))
			continue;
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
		if (name[0] == table[i].letter && name[1] == '\0')
			return &table[i];
	}
	return NULL;
}

/* Parse "+it", "-t", "=i": letters after one operator. */
static int parse_operator(const char *s, uint32_t *set, uint32_t *clear)
{
	char op = *s++;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		const char name[2] = { *s, '\0' };
		const struct va_flag *f = va_flag_lookup(name, VA_ENC_EXT2);

		if (!f)
			return -EINVAL;
		if (op == '-')
			*clear |= f->bits;
		else
			*set |= f->bits;
	}
	if (op == '=') {
		for (size_t i = 0; i < N_EXT2; i++)
			*clear |= table[i].bits;
		*clear &= ~*set;
	}
	return 0;
}

/* Parse "immutable,-notail,+t". */
static int parse_list(const char *s, uint32_t *set, uint32_t *clear)
{
	char item[64];

	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		const char *p = item;
		bool neg = false;
		const struct va_flag *f;

		if (len == 0 || len >= sizeof(item))
			return -EINVAL;
		memcpy(item, s, len);
		item[len] = '\0';
		if (*p == '+' || *p == '-')
			neg = *p++ == '-';
		f = va_flag_lookup(p, VA_ENC_EXT2);
		if (!f)
			return -EINVAL;
		if (neg)
			*clear |= f->bits;
		else
			*set |= f->bits;
		s += len;
		if (*s == ',' && *++s == '\0')
			return -EINVAL;
	}
	return 0;
}

int va_flags_parse(const char *s, uint32_t *ret_set, uint32_t *ret_clear)
{
	uint32_t set = 0, clear = 0;
	int r;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] >= '0' && s[0] <= '9') {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(s, &end, 0);
		if (errno || *end || v > UINT32_MAX)
			return -EINVAL;
		set = (uint32_t)v;
		r = 0;
	} else if ((s[0] == '+' || s[0] == '-' || s[0] == '=') && !strchr(s, ',') &&
		   strlen(s) > 2 && !va_flag_lookup(s + 1, VA_ENC_EXT2)) {
		r = parse_operator(s, &set, &clear);
	} else if (s[0] == '=') {
		r = parse_operator(s, &set, &clear);
	} else {
		r = parse_list(s, &set, &clear);
	}
	if (r < 0)
		return r;
	if (set & clear)
		return -EINVAL;
	*ret_set = set;
	*ret_clear = clear;
	return 0;
}

char *va_vsattr_letters(uint32_t flags, bool ext2, bool vs26, char *buf)
{
	static const uint32_t order[] = { VA_VS26_BARRIER, VA_VS26_IUNLINK, VA_VS26_IMMUTABLE, VA_VS26_COW };
	size_t n = sizeof(table) / sizeof(table[0]);

	for (size_t i = 0; i < 4; i++) {
		char letter = '?';
		bool known = order[i] == VA_VS26_IMMUTABLE ? ext2 : vs26;

		for (size_t k = 0; k < n; k++)
			if (table[k].enc == VA_ENC_VS26 && table[k].bits == order[i])
				letter = table[k].letter;
		if (!known)
			buf[i] = '-';
		else
			buf[i] = (flags & order[i]) ? (char)(letter - 'a' + 'A') : letter;
	}
	buf[4] = '\0';
	return buf;
}

bool va_is_vs24_barrier(uint32_t flags, uint32_t mode)
{
	return S_ISDIR(mode) && (mode & 0777) == 0 &&
	       (flags & VA_VS24_BARRIER) == VA_VS24_BARRIER;
}

bool va_is_vs24_iunlink(uint32_t flags)
{
	return (flags & VA_VS24_IUNLINK) == VA_VS24_IUNLINK;
}
