/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * standalone.c - run a libFuzzer target without libFuzzer: a bounded,
 * seeded run for make check.  Inputs: random bytes, random picks from a
 * small alphabet of troublesome bytes and tokens, and every file named on
 * the command line (a corpus).  Prints one TAP result.
 *
 * Environment: FUZZ_ITERATIONS (default 100000), FUZZ_SEED (default 1),
 * FUZZ_MUTATE=1: instead of generating inputs, mutate the corpus files
 * (each iteration takes one, overwrites 1 to 64 random bytes, mostly in its
 * first MiB where the metadata lives, and sometimes truncates it).
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

/* Read a whole corpus file; NULL on failure. */
static uint8_t *slurp(const char *path, size_t *ret_len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *p = NULL;
	long len;

	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) > 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)len)) && fread(p, 1, (size_t)len, fp) != (size_t)len) {
		free(p);
		p = NULL;
	}
	fclose(fp);
	*ret_len = p ? (size_t)len : 0;
	return p;
}

static int mutate_corpus(int nfiles, char **files, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		const char *file = files[next() % (unsigned long)nfiles];
		size_t len, hot;
		uint8_t *p = slurp(file, &len);
		unsigned k = 1 + (unsigned)(next() % 64);

		if (!p) {
			printf("not ok 1 - cannot read corpus file %s\n", file);
			return 1;
		}
		hot = len < (1u << 20) ? len : (1u << 20);
		for (unsigned j = 0; j < k; j++) {
			size_t off = (next() % 4) ? next() % hot : next() % len;

			p[off] = (next() % 3) ? (uint8_t)next() : (uint8_t)(p[off] ^ (1u << (next() % 8)));
		}
		if (next() % 16 == 0)
			len = next() % len;
		LLVMFuzzerTestOneInput(p, len);
		free(p);
	}
	printf("ok 1 - %s: %lu mutated images of %d seed files, no crash\n", files[0], n, nfiles);
	return 0;
}

int main(int argc, char **argv)
{
	const char *it = getenv("FUZZ_ITERATIONS"), *seed = getenv("FUZZ_SEED");
	const char *mutate = getenv("FUZZ_MUTATE");
	unsigned long n = it ? strtoul(it, NULL, 10) : 100000;
	uint8_t buf[512];

	state = seed ? strtoull(seed, NULL, 10) : 1;
	printf("1..1\n");
	if (mutate && *mutate == '1') {
		if (argc < 2) {
			printf("not ok 1 - FUZZ_MUTATE needs corpus files\n");
			return 1;
		}
		return mutate_corpus(argc - 1, argv + 1, n);
	}
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
