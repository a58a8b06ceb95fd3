/* SPDX-License-Identifier: GPL-2.0-or-later */
/* request.c - the request list as a table, and key lookup (see request.h). */
#include "config.h"

#include <string.h>

#include "tui/request.h"

static const struct tui_request_info table[] = {
#define TUI_X_INFO(id, key, alt, shown, bar, help) { TUI_REQ_##id, key, alt, shown, bar, help },
	TUI_REQUESTS(TUI_X_INFO)
#undef TUI_X_INFO
};

const struct tui_request_info *tui_request_table(size_t *ret_n)
{
	*ret_n = sizeof(table) / sizeof(table[0]);
	return table;
}

/* Does table key @k (a character below KEY_MIN, or a KEY_* code) match? */
static bool key_is(int k, int key, bool is_fkey)
{
	if (!k)
		return false;
	return k == key && (k >= KEY_MIN) == is_fkey;
}

enum tui_request tui_request_for_key(int key, bool is_fkey)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (key_is(table[i].key, key, is_fkey) || key_is(table[i].alt, key, is_fkey))
			return table[i].req;
	return TUI_REQ_NONE;
}

const char *tui_request_bar_key(const struct tui_request_info *r, char *buf)
{
	size_t n = strcspn(r->shown, " ");

	if (n > 15)
		n = 15;
	memcpy(buf, r->shown, n);
	buf[n] = '\0';
	if (strcmp(buf, "Space") == 0)
		strcpy(buf, "Spc");
	return buf;
}
