/* SPDX-License-Identifier: GPL-2.0-or-later */
/* app.c - placeholder until the console lands (see tui.h). */
#include "config.h"

#include <stdio.h>

#include "tui/tui.h"

int tui_main(const struct tui_session *s)
{
	(void)s;
	fprintf(stderr, "vaudit: the console is not built yet\n");
	return 2;
}
