/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-names.c - fuzz target for the name encoders and the flag parser.
 *
 * Properties checked on every input (abort() on violation):
 *  - va_escape_shell() output holds no C0/C1 control, DEL or invalid UTF-8;
 *  - va_escape_json() output is valid UTF-8 without raw control characters;
 *  - va_base64() output has the length 4*ceil(n/3) and only its alphabet;
 *  - va_flags_parse() either fails leaving its outputs untouched, or returns
 *    disjoint set/clear masks.
 * Built for libFuzzer with --enable-fuzzing (clang), and always as a
 * bounded standalone run for make check (fuzz/standalone.c).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbuf.h"
#include "core/escape.h"
#include "core/flags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_clean(const struct dbuf *b, bool allow_nl)
{
	if (!va_utf8_valid(b->buf ? b->buf : "", b->len))
		abort();
	for (size_t i = 0; i < b->len; i++) {
		unsigned char c = (unsigned char)b->buf[i];

		if ((c < 0x20 && !(allow_nl && c == '\n')) || c == 0x7f)
			abort();
		if (c == 0xc2 && i + 1 < b->len && (unsigned char)b->buf[i + 1] >= 0x80 &&
		    (unsigned char)b->buf[i + 1] <= 0x9f)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct dbuf b = DBUF_INIT;
	uint32_t set = 0xdeadbeef, clear = 0xfeedface;
	char *z;

	if (va_escape_shell(&b, s, size) < 0)
		abort();
	check_clean(&b, false);
	dbuf_setlen(&b, 0);

	if (va_escape_json(&b, s, size) < 0)
		abort();
	check_clean(&b, false);
	dbuf_setlen(&b, 0);

	if (va_base64(&b, s, size) < 0 || b.len != (size + 2) / 3 * 4)
		abort();
	for (size_t i = 0; i < b.len; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", b.buf[i]) ||
		    !b.buf[i])
			abort();
	dbuf_release(&b);

	z = malloc(size + 1);
	if (!z)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	if (va_flags_parse(z, &set, &clear) < 0) {
		if (set != 0xdeadbeef || clear != 0xfeedface)
			abort();
	} else if (set & clear) {
		abort();
	}
	free(z);
	return 0;
}
