/* SPDX-License-Identifier: GPL-2.0-or-later */
/* engine.c - placeholder (see engine.h). */
#include "config.h"

#include "tui/engine.h"

void tui_engine_cancel(struct tui_engine *e)
{
	(void)e;
}
