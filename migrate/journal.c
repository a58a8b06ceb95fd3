/* SPDX-License-Identifier: GPL-2.0-or-later */
/* journal.c - the repair journal (format in journal.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "core/dbuf.h"
#include "core/escape.h"
#include "migrate/journal.h"

static uint32_t crc(const char *p, size_t len)
{
	return ext2fs_crc32c_le(~0u, (const unsigned char *)p, len) ^ ~0u;
}

/* Write @line (without crc) plus its crc and a newline, then fsync. */
static int put_line(struct va_journal *j, struct dbuf *line)
{
	size_t off = 0;

	if (dbuf_addf(line, "\tcrc=%08x\n", crc(line->buf, line->len)) < 0)
		return -ENOMEM;
	while (off < line->len) {
		ssize_t n = write(j->fd, line->buf + off, line->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return fsync(j->fd) < 0 ? -errno : 0;
}

static int fsync_dir(const char *file)
{
	char *copy = strdup(file);
	int fd, r = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int va_journal_create(struct va_journal **ret, const char *file, const char *backend,
		      const char *uuid, const char *source, size_t source_len)
{
	struct va_journal *j = calloc(1, sizeof(*j));
	struct dbuf line = DBUF_INIT;
	int r;

	if (j)
		j->fd = -1;
	if (!j || !(j->file = strdup(file)) || !(j->source = malloc(source_len + 1))) {
		va_journal_free(j);
		return -ENOMEM;
	}
	memcpy(j->source, source, source_len);
	j->source[source_len] = '\0';
	j->source_len = source_len;
	snprintf(j->backend, sizeof(j->backend), "%s", backend);
	snprintf(j->uuid, sizeof(j->uuid), "%s", uuid);
	j->next_seq = 1;
	j->fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (j->fd < 0) {
		r = -errno;
		j->fd = -1;
		va_journal_free(j);
		return r;
	}
	r = dbuf_addf(&line, "vaudit-journal\t%d\tbackend=%s\tuuid=%s\tsource=", VA_JOURNAL_VERSION,
		      backend, uuid);
	r |= va_base64(&line, source, source_len);
	if (r == 0)
		r = put_line(j, &line);
	if (r == 0)
		r = fsync_dir(file);
	dbuf_release(&line);
	if (r < 0) {
		va_journal_free(j);
		return r;
	}
	*ret = j;
	return 0;
}

static int rec_store(struct va_journal *j, const struct va_journal_rec *r)
{
	if (va_array_grow(&j->recs, &j->caprecs, j->nrecs, sizeof(*j->recs)) < 0)
		return -ENOMEM;
	j->recs[j->nrecs++] = *r;
	return 0;
}

int va_journal_append(struct va_journal *j, struct va_journal_rec *r)
{
	struct dbuf line = DBUF_INIT;
	int ret;

	if (j->dropped_tail) {
		if (ftruncate(j->fd, j->good_len) < 0)
			return -errno;
		j->dropped_tail = false;
	}

	if (r->type == 'I') {
		r->seq = j->next_seq++;
		ret = dbuf_addf(&line, "I\t%llu\t%u:%u\t%llu\t%u\t0x%08x\t%o\t0x%08x\t%o\t%s\t",
				(unsigned long long)r->seq, major(r->dev), minor(r->dev),
				(unsigned long long)r->ino, r->gen, r->old_flags, r->old_mode,
				r->new_flags, r->new_mode, r->kind);
		ret |= va_base64(&line, r->path, r->path_len);
	} else {
		ret = dbuf_addf(&line, "%c\t%llu", r->type, (unsigned long long)r->seq);
	}
	if (ret == 0)
		ret = put_line(j, &line);
	dbuf_release(&line);
	if (ret == 0) {
		struct va_journal_rec copy = *r;

		copy.path = NULL;
		copy.path_len = 0;
		ret = rec_store(j, &copy);
	}
	return ret;
}

/* ------------------------------------------------------------------ reading */

/* Decode base64 text into a new NUL-terminated buffer. */
static int unbase64(const char *s, size_t len, char **ret, size_t *ret_len)
{
	struct dbuf b = DBUF_INIT;
	int r = va_unbase64(&b, s, len);

	if (r < 0) {
		dbuf_release(&b);
		return r;
	}
	*ret = b.buf;
	*ret_len = b.len;
	return 0;
}

/* Split @line at tabs into at most @max fields (in place). */
static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;

	while (n < max) {
		f[n++] = line;
		line = strchr(line, '\t');
		if (!line)
			break;
		*line++ = '\0';
	}
	return line ? max + 1 : n;
}

static bool num(const char *s, int base, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return false;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return false;
	*ret = v;
	return true;
}

static const char *parse_header(struct va_journal *j, char *line)
{
	char *f[6];
	uint64_t v;

	if (split(line, f, 5) != 5 || strcmp(f[0], "vaudit-journal") != 0)
		return "not a vaudit journal (bad header)";
	if (!num(f[1], 10, 1000, &v) || v != VA_JOURNAL_VERSION)
		return "unsupported journal version";
	if (strncmp(f[2], "backend=", 8) || (strcmp(f[2] + 8, "image") && strcmp(f[2] + 8, "live")))
		return "bad backend in the header";
	if (strncmp(f[3], "uuid=", 5) || strlen(f[3] + 5) >= sizeof(j->uuid))
		return "bad uuid in the header";
	if (strncmp(f[4], "source=", 7) || unbase64(f[4] + 7, strlen(f[4] + 7), &j->source, &j->source_len))
		return "bad source in the header";
	snprintf(j->backend, sizeof(j->backend), "%s", f[2] + 8);
	snprintf(j->uuid, sizeof(j->uuid), "%s", f[3] + 5);
	return NULL;
}

static const char *parse_record(struct va_journal *j, char *line, struct va_journal_rec *r)
{
	char *f[12];
	size_t n = split(line, f, 11);
	uint64_t v[9];

	memset(r, 0, sizeof(*r));
	if (n < 2 || strlen(f[0]) != 1 || !num(f[1], 10, UINT64_MAX, &r->seq) || r->seq == 0)
		return "bad record";
	r->type = f[0][0];
	if (r->type == 'D' || r->type == 'U') {
		if (n != 2)
			return "bad record";
		for (size_t i = 0; i < j->nrecs; i++)
			if (j->recs[i].type == 'I' && j->recs[i].seq == r->seq)
				return NULL;
		return "record for an unknown change";
	}
	if (r->type != 'I' || n != 11)
		return "bad record";
	if (r->seq != j->next_seq)
		return "changes out of sequence";
	{
		char *colon = strchr(f[2], ':');
		uint64_t ma, mi;

		if (!colon)
			return "bad device";
		*colon = '\0';
		if (!num(f[2], 10, 0xfffff, &ma) || !num(colon + 1, 10, 0xfffff, &mi))
			return "bad device";
		r->dev = makedev((unsigned)ma, (unsigned)mi);
	}
	if (!num(f[3], 10, UINT64_MAX, &v[0]) || !num(f[4], 10, UINT32_MAX, &v[1]) ||
	    !num(f[5], 16, UINT32_MAX, &v[2]) || !num(f[6], 8, 0177777, &v[3]) ||
	    !num(f[7], 16, UINT32_MAX, &v[4]) || !num(f[8], 8, 0177777, &v[5]))
		return "bad number";
	if (strlen(f[9]) == 0 || strlen(f[9]) >= sizeof(r->kind))
		return "bad kind";
	r->ino = v[0];
	r->gen = (uint32_t)v[1];
	r->old_flags = (uint32_t)v[2];
	r->old_mode = (uint32_t)v[3];
	r->new_flags = (uint32_t)v[4];
	r->new_mode = (uint32_t)v[5];
	snprintf(r->kind, sizeof(r->kind), "%s", f[9]);
	if (unbase64(f[10], strlen(f[10]), &r->path, &r->path_len))
		return "bad path";
	j->next_seq = r->seq + 1;
	return NULL;
}

int va_journal_load(struct va_journal **ret, const char *file, const char **ret_why,
		    size_t *ret_line)
{
	struct va_journal *j = calloc(1, sizeof(*j));
	struct dbuf data = DBUF_INIT;
	char buf[65536];
	size_t lineno = 0, off = 0;
	int r = 0;

	*ret_why = NULL;
	*ret_line = 0;
	if (j)
		j->fd = -1;
	if (!j || !(j->file = strdup(file))) {
		va_journal_free(j);
		return -ENOMEM;
	}
	j->next_seq = 1;
	j->fd = open(file, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	if (j->fd < 0) {
		r = -errno;
		j->fd = -1;
		goto fail;
	}
	for (;;) {
		ssize_t n = read(j->fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		if (dbuf_add(&data, buf, (size_t)n) < 0) {
			r = -ENOMEM;
			goto fail;
		}
	}
	while (off < data.len) {
		char *line = data.buf + off, *nl = memchr(line, '\n', data.len - off), *tab;
		size_t len = nl ? (size_t)(nl - line) : data.len - off;
		bool last = !nl || off + len + 1 >= data.len;
		uint64_t c;
		const char *why = NULL;

		lineno++;
		off += len + (nl ? 1 : 0);
		line[len] = '\0';
		tab = strrchr(line, '\t');
		if (!nl || !tab || strncmp(tab, "\tcrc=", 5) || !num(tab + 5, 16, UINT32_MAX, &c) ||
		    strlen(tab + 5) != 8 || crc(line, (size_t)(tab - line)) != (uint32_t)c ||
		    memchr(line, '\0', len)) {
			if (last && lineno > 1) {
				/* torn by a crash while appending: cut before appending more */
				j->dropped_tail = true;
				j->good_len = (off_t)(line - data.buf);
				break;
			}
			why = "bad checksum or truncated line";
		} else {
			*tab = '\0';
			if (lineno == 1) {
				why = parse_header(j, line);
			} else {
				struct va_journal_rec rec;

				why = parse_record(j, line, &rec);
				if (!why && rec_store(j, &rec) < 0) {
					r = -ENOMEM;
					goto fail;
				}
			}
		}
		if (why) {
			*ret_why = why;
			*ret_line = lineno;
			r = -EINVAL;
			goto fail;
		}
	}
	if (lineno == 0) {
		*ret_why = "empty journal";
		*ret_line = 1;
		r = -EINVAL;
		goto fail;
	}
	dbuf_release(&data);
	*ret = j;
	return 0;
fail:
	dbuf_release(&data);
	va_journal_free(j);
	return r;
}

char va_journal_state(const struct va_journal *j, uint64_t seq)
{
	char st = 0;

	for (size_t i = 0; i < j->nrecs; i++)
		if (j->recs[i].seq == seq && j->recs[i].type != 'I')
			st = j->recs[i].type;
	return st;
}

void va_journal_free(struct va_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	for (size_t i = 0; i < j->nrecs; i++)
		free(j->recs[i].path);
	free(j->recs);
	free(j->source);
	free(j->file);
	free(j);
}
