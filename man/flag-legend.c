/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flag-legend.c - print roff tables for vaudit.8 from the flag table and
 * the kind table, so the man page cannot drift from the code.
 * Usage: flag-legend flags|kinds
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/finding.h"
#include "core/flags.h"

/* Write @s with roff-special characters escaped. */
static void roff(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "flags") == 0) {
		size_t n;
		const struct va_flag *t = va_flag_table(&n);

		puts(".TS\nl l l l lx.\n\\fBencoding\\fR\t\\fBvalue\\fR\t\\fBletter\\fR\t\\fBname\\fR\t\\fBmeaning\\fR");
		for (size_t i = 0; i < n; i++) {
			printf("%s\t0x%08x\t%c\t", va_flag_enc_name(t[i].enc), t[i].bits, t[i].letter);
			roff(t[i].name);
			fputs("\tT{\n", stdout);
			roff(t[i].desc);
			puts("\nT}");
		}
		puts(".TE");
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "kinds") == 0) {
		for (int k = 0; k < VA_KIND_COUNT; k++) {
			fputs(".TP\n.B ", stdout);
			roff(va_kind_name(k));
			printf("\n(%s) ", va_severity_name(va_kind_severity(k)));
			roff(va_kind_why(k));
			putchar('\n');
		}
		return 0;
	}
	fprintf(stderr, "usage: flag-legend flags|kinds\n");
	return 2;
}
