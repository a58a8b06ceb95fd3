/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-journal.c - fuzz target for the journal reader (repair, unify,
 * convert and clone journals).
 *
 * Each input is tried twice: as it is, and with every line given a valid
 * checksum (and a valid header when it has none), so that the field
 * parsers are reached and not only the checksum test.  Properties checked
 * (abort() on violation):
 *  - va_journal_load() succeeds, or fails with -EINVAL, a reason and a
 *    line number that exists in the input;
 *  - a loaded journal has intents ('I', 'L', 'C') numbered 1, 2, ... in
 *    file order, done/undone marks only for earlier intents,
 *    va_journal_state() equal to the last mark of each intent, 'L'
 *    operations and 'C' types from the known sets, 'C' records in convert
 *    and clone journals and only there ('M' marks in clone journals only,
 *    counted as 'D'), and temporary names without '/';
 *  - appending a mark and loading again gives the same records plus one;
 *  - a header's request (version 2) parses, and is written back byte for
 *    byte (va_request_format()): only its canonical text is accepted.
 * Each input is also tried as the request text of a version 2 header
 * (base64, valid checksum), so that the request parser sees raw bytes.
 * Built for libFuzzer with --enable-fuzzing (clang), and always as a
 * bounded standalone run for make check (fuzz/standalone.c).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "core/dbuf.h"
#include "core/escape.h"
#include "migrate/journal.h"
#include "migrate/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[4096];

static void remove_file(void)
{
	unlink(path);
}

static void put(const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (len && write(fd, p, len) != (ssize_t)len))
		abort();
	close(fd);
}

static size_t count_lines(const struct dbuf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->buf[i] == '\n';
	return n + 1;
}

static void check(const struct dbuf *input)
{
	struct va_journal *j = NULL, *j2 = NULL;
	const char *why = NULL;
	size_t line = 0, n;
	uint64_t seq = 0;
	struct va_journal_rec mark = { .type = 'D' };
	bool clone;
	int r;

	put(input->buf, input->len);
	r = va_journal_load(&j, path, &why, &line);
	if (r < 0) {
		if (r != -EINVAL || !why || line < 1 || line > count_lines(input))
			abort();
		return;
	}
	clone = !strcmp(j->backend, VA_JOURNAL_CLONE);
	for (size_t i = 0; i < j->nrecs; i++) {
		const struct va_journal_rec *rec = &j->recs[i];

		if (rec->type == 'I' || rec->type == 'L' || rec->type == 'C') {
			if (rec->seq != ++seq)
				abort();
			if (rec->type == 'L' && strcmp(rec->kind, "link") && strcmp(rec->kind, "revert") &&
			    strcmp(rec->kind, "store"))
				abort();
			if (rec->type != 'I' && rec->tmp_len && memchr(rec->tmp, '/', rec->tmp_len))
				abort();
			if (rec->type == 'C' && !clone && (strcmp(j->backend, VA_JOURNAL_CONVERT) ||
							   !strchr("dfl", rec->kind[0])))
				abort();
			if (rec->type == 'C' && (!rec->kind[0] || !strchr(VA_CLONE_TYPES, rec->kind[0]) ||
						 rec->kind[1] || rec->ctime_nsec > 999999999))
				abort();
			if (rec->type != 'C' && !strcmp(j->backend, VA_JOURNAL_CONVERT))
				abort();
			if (rec->type == 'L' && clone)
				abort();
		} else if (rec->type == 'D' || rec->type == 'U') {
			if (rec->seq == 0 || rec->seq > seq)
				abort();
		} else if (rec->type == 'M') {
			if (!clone || rec->seq == 0 || rec->seq > seq || rec->ino == 0)
				abort();
			if (rec->seq == 0 || rec->seq > seq)
				abort();
		} else {
			abort();
		}
	}
	for (uint64_t s = 1; s <= seq; s++) {
		char last = 0;

		for (size_t i = 0; i < j->nrecs; i++)
			if ((j->recs[i].type == 'D' || j->recs[i].type == 'U' || j->recs[i].type == 'M') &&
			    j->recs[i].seq == s)
				last = j->recs[i].type == 'M' ? 'D' : j->recs[i].type;
		if (va_journal_state(j, s) != last)
			abort();
	}
	if ((j->request != NULL) != (j->version == 2) ||
	    (j->request && strcmp(j->backend, VA_JOURNAL_IMAGE) && strcmp(j->backend, VA_JOURNAL_LIVE)))
		abort();
	if (j->request) {
		struct va_request rq;
		struct dbuf back = DBUF_INIT;

		if (va_request_parse(&rq, j->request, j->request_len, &why) < 0 ||
		    va_request_format(&rq, &back) < 0 || back.len != j->request_len ||
		    memcmp(back.buf, j->request, back.len))
			abort();
		if (rq.plan ? !rq.plan_file || rq.plan_file[0] != '/' : !rq.kinds)
			abort();
		dbuf_release(&back);
		va_request_release(&rq);
	}
	n = j->nrecs;
	if (seq) {
		mark.seq = seq;
		if (va_journal_append(j, &mark) < 0 || va_journal_state(j, seq) != 'D' || j->nrecs != n)
			abort();
		if (va_journal_load(&j2, path, &why, &line) < 0 || j2->nrecs != n + 1 ||
		    va_journal_state(j2, seq) != 'D')
			abort();
		va_journal_free(j2);
	}
	va_journal_free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char header[] = "vaudit-journal\t1\tbackend=unify\tuuid=x\tsource=L3Q=";
	struct dbuf raw = DBUF_INIT, fixed = DBUF_INIT;
	size_t off = 0;

	if (!path[0]) {
		int fd;

		const char *tmp = getenv("TMPDIR");

		snprintf(path, sizeof(path), "%s/fuzz-journal.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		fd = mkstemp(path);
		if (fd < 0)
			abort();
		close(fd);
		atexit(remove_file);
	}
	if (dbuf_add(&raw, data, size) < 0)
		abort();
	check(&raw);

	/* the same lines with valid checksums (and a header) */
	if (size < 14 || memcmp(data, "vaudit-journal", 14)) {
		dbuf_adds(&fixed, header);
		dbuf_addf(&fixed, "\tcrc=%08x\n",
			  ext2fs_crc32c_le(~0u, (const unsigned char *)header, strlen(header)) ^ ~0u);
	}
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - data - off) : size - off;

		dbuf_add(&fixed, data + off, len);
		dbuf_addf(&fixed, "\tcrc=%08x\n",
			  ext2fs_crc32c_le(~0u, data + off, len) ^ ~0u);
		off += len + 1;
	}
	check(&fixed);

	/* the input as the request of a version 2 header */
	dbuf_setlen(&fixed, 0);
	dbuf_adds(&fixed, "vaudit-journal\t2\tbackend=image\tuuid=x\tsource=L3Q=\trequest=");
	va_base64(&fixed, data, size);
	dbuf_addf(&fixed, "\tcrc=%08x\n",
		  ext2fs_crc32c_le(~0u, (const unsigned char *)fixed.buf, fixed.len) ^ ~0u);
	check(&fixed);
	dbuf_release(&raw);
	dbuf_release(&fixed);
	return 0;
}
