/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * standalone.c - run a libFuzzer target without libFuzzer: a bounded,
 * seeded run for make check.  Inputs: random bytes, random picks from a
 * small alphabet of troublesome bytes and tokens, and every file named on
 * the command line (a corpus).  Prints one TAP result.
 *
 * Environment: FUZZ_ITERATIONS (default 100000), FUZZ_SEED (default 1).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t state;

static uint64_t next(void)
{
	/* splitmix64 */
	uint64_t z = (state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t make_input(uint8_t *buf, size_t cap)
{
	static const char *const tokens[] = {
		"\n", "\t", "'", "\"", "\\", "$(", "`", "-", "~", "*", "?", "[", "\xff", "\xfe",
		"\x1b[31m", "\xc2\x85", "\xe2\x80\xae", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf",
		"h\xc3\xa9llo", "+", "=", ",", "0x", "immutable", "notail", "i", "t", "/", " ",
	};
	size_t len = next() % cap, i = 0;

	if (next() % 2) {
		for (; i < len; i++)
			buf[i] = (uint8_t)next();
		return len;
	}
	while (i < len) {
		const char *t = tokens[next() % (sizeof(tokens) / sizeof(tokens[0]))];
		size_t n = strlen(t);

		if (i + n > len)
			break;
		memcpy(buf + i, t, n);
		i += n;
	}
	return i;
}

int main(int argc, char **argv)
{
	const char *it = getenv("FUZZ_ITERATIONS"), *seed = getenv("FUZZ_SEED");
	unsigned long n = it ? strtoul(it, NULL, 10) : 100000;
	uint8_t buf[512];

	state = seed ? strtoull(seed, NULL, 10) : 1;
	printf("1..1\n");
	for (int i = 1; i < argc; i++) {
		FILE *fp = fopen(argv[i], "rb");
		size_t len;

		if (!fp) {
			printf("not ok 1 - cannot read corpus file %s\n", argv[i]);
			return 1;
		}
		len = fread(buf, 1, sizeof(buf), fp);
		fclose(fp);
		LLVMFuzzerTestOneInput(buf, len);
	}
	for (unsigned long i = 0; i < n; i++) {
		size_t len = make_input(buf, sizeof(buf));

		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("ok 1 - %s: %lu generated inputs and %d corpus files, no property violated\n",
	       argv[0], n, argc - 1);
	return 0;
}
