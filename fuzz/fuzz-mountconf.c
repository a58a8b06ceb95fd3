/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-mountconf.c - fuzz target for vmount's configuration parser and
 * dependency graph (core/mountconf.h).
 *
 * The input is a set of files: pieces separated by "\n%%", named main,
 * a, b, run, bundles, then f5, f6, ...  Properties checked on every input
 * (abort() on violation):
 *  - a failure leaves no configuration and one line of text naming
 *    'cfg/FILE' or 'cfg/FILE:LINE' of a file that exists, LINE within it;
 *  - a success has unique ids, a plan where every entry appears once and
 *    after every entry it depends on, and places that hold to the rules:
 *    no ".." component, host places absolute, guest places relative, no
 *    shared entry on a per-guest one, a share's source shared and its
 *    destination in the guest, an image read-only;
 *  - loading the same files again gives the same plan or the same error.
 * Built for libFuzzer with --enable-fuzzing (clang), and always as a
 * bounded standalone run for make check (fuzz/standalone.c), which also
 * tries the worked example of vmount(8) and variations of it first.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/message.h"
#include "core/mountconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 16

struct files {
	char names[MAXF][8];
	const char *text[MAXF];
	size_t len[MAXF];
	unsigned n;
};

static int rd(void *user, const char *name, struct dbuf *out)
{
	const struct files *f = user;

	for (unsigned i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0)
			return dbuf_add(out, f->text[i], f->len[i]);
	return -ENOENT;
}

static unsigned lines_of(const struct files *f, const char *name)
{
	for (unsigned i = 0; i < f->n; i++)
		if (strcmp(f->names[i], name) == 0) {
			unsigned n = 1;

			for (size_t k = 0; k < f->len[i]; k++)
				n += f->text[i][k] == '\n';
			return n;
		}
	return 0;
}

static void check_error(const struct files *f, const struct va_error *err)
{
	struct dbuf b = DBUF_INIT;
	const char *p, *colon;
	char name[16];
	size_t nlen;

	if (!va_error_is_set(err) || va_error_text(&b, err) < 0)
		abort();
	p = dbuf_str(&b);
	if (strchr(p, '\n') || strncmp(p, "'cfg/", 5) != 0)
		abort();
	p += 5;
	nlen = strcspn(p, ":'");
	if (nlen == 0 || nlen >= sizeof(name))
		abort();
	memcpy(name, p, nlen);
	name[nlen] = '\0';
	colon = p + nlen;
	if (*colon == ':') {
		unsigned long line = strtoul(colon + 1, NULL, 10);

		if (line < 1 || line > lines_of(f, name))
			abort();
	} else if (err->code != ENOENT && strcmp(name, "main") != 0) {
		abort();
	}
	dbuf_release(&b);
}

static void check_conf(const struct vm_conf *c)
{
	unsigned char *seen = calloc(c->nentries + 1, 1);

	if (!seen)
		abort();
	for (size_t i = 0; i < c->nentries; i++)
		for (size_t j = i + 1; j < c->nentries; j++)
			if (strcmp(c->entries[i].id, c->entries[j].id) == 0)
				abort();
	for (size_t i = 0; i < c->norder; i++) {
		size_t k = c->order[i];
		const struct vm_entry *e = &c->entries[k];

		if (k >= c->nentries || seen[k])
			abort();
		seen[k] = 1;
		for (size_t j = i + 1; j < c->norder; j++)
			if (vm_entry_depends(c, k, c->order[j]))
				abort();
		if (e->src.kind == VM_REF_ENTRY && !seen[e->src.entry])
			abort();
		if (e->dst.kind == VM_REF_ENTRY && !seen[e->dst.entry])
			abort();
		if (!e->where || strstr(e->where, "/../") || strncmp(e->where, "../", 3) == 0 ||
		    strcmp(e->where, "..") == 0)
			abort();
		if (e->shared != (e->where[0] == '/'))
			abort();
		if (e->shared && e->src.kind == VM_REF_ENTRY && !c->entries[e->src.entry].shared)
			abort();
		if (e->type == VM_SHARE && (e->shared || e->src.kind != VM_REF_ENTRY ||
					    !c->entries[e->src.entry].shared))
			abort();
		if (e->type == VM_IMAGE && !(e->attrs & VM_ATTR_RDONLY))
			abort();
		if ((e->type == VM_TMPFS) != (e->src.kind == VM_REF_NONE))
			abort();
	}
	free(seen);
}

static void one(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "main", "a", "b", "run", "bundles" };
	struct files f = { .n = 0 };
	struct va_error e1 = VA_ERROR_INIT, e2 = VA_ERROR_INIT;
	struct vm_conf *c1 = NULL, *c2 = NULL;
	const char *p = (const char *)data, *end = p + size;
	int r1, r2;

	while (f.n < MAXF) {
		const char *sep = NULL;

		for (const char *q = p; q + 3 <= end; q++)
			if (q[0] == '\n' && q[1] == '%' && q[2] == '%') {
				sep = q;
				break;
			}
		if (f.n < 5)
			snprintf(f.names[f.n], sizeof(f.names[f.n]), "%s", names[f.n]);
		else
			snprintf(f.names[f.n], sizeof(f.names[f.n]), "f%u", f.n);
		f.text[f.n] = p;
		f.len[f.n] = (size_t)((sep ? sep + 1 : end) - p);
		f.n++;
		if (!sep)
			break;
		p = sep + 3;
	}
	r1 = vm_conf_load(&c1, "cfg/", "main", rd, &f, &e1);
	r2 = vm_conf_load(&c2, "cfg/", "main", rd, &f, &e2);
	if (r1 != r2 || (r1 == 0) != (c1 != NULL) || (r2 == 0) != (c2 != NULL))
		abort();
	if (r1 == 0) {
		check_conf(c1);
		if (c1->norder != c2->norder || c1->nentries != c2->nentries)
			abort();
		for (size_t i = 0; i < c1->norder; i++)
			if (c1->order[i] != c2->order[i] ||
			    strcmp(c1->entries[c1->order[i]].where, c2->entries[c2->order[i]].where) != 0)
				abort();
	} else {
		struct dbuf a = DBUF_INIT, b = DBUF_INIT;

		if (r1 == -ENOMEM)
			abort();
		check_error(&f, &e1);
		va_error_text(&a, &e1);
		va_error_text(&b, &e2);
		if (strcmp(dbuf_str(&a), dbuf_str(&b)) != 0)
			abort();
		dbuf_release(&a);
		dbuf_release(&b);
	}
	vm_conf_free(c1);
	vm_conf_free(c2);
	va_error_release(&e1);
	va_error_release(&e2);
}

static const char *const seeds[] = {
	"main bind bundles:webapp DEST options::ro\n"
	"config1 tmpfs none main/etc copy::dest size::10M\n"
	"log share run:logshare main/var/log\n"
	"\n%%\n%%\n%%logshare auto /dev/data/logs /data/logshare\n"
	"\n%%cloops auto /dev/data/cloops /cloops options::ro\n"
	"webapp image cloops/webapp.sqfs /bundles/webapp\n",
	"x bind a:y DEST\n%%y bind b:z /y\n%%z bind a:y/q /z\n",
	"a tmpfs none DEST\nb bind a/x DEST/b options::ro,nosuid\nc share run:s b/c\n%%\n%%\n%%s auto /d /s fs::ext4\n",
	"a bind //./x/../y DEST\n",
	"a image /i /i options::rw\n",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int seeded;

	if (!seeded) {
		seeded = 1;
		for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
			size_t len = strlen(seeds[i]);
			uint8_t *m = malloc(len + 1);

			if (!m)
				abort();
			one((const uint8_t *)seeds[i], len);
			/* each seed with every byte changed in turn to a few troublesome ones */
			for (size_t k = 0; k < len; k++) {
				static const char swap[] = " \n:/#.%\0\x7f";

				for (size_t s = 0; s < sizeof(swap) - 1; s++) {
					memcpy(m, seeds[i], len);
					m[k] = (uint8_t)swap[s];
					one(m, len);
					one(m, k);      /* and cut there */
				}
			}
			free(m);
		}
	}
	one(data, size);
	return 0;
}
