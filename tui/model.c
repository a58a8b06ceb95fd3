/* SPDX-License-Identifier: GPL-2.0-or-later */
/* model.c - placeholder (see model.h). */
#include "config.h"

#include "tui/model.h"

const char *tui_result_word(enum tui_result r)
{
	(void)r;
	return "";
}
