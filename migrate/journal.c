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
#include <time.h>
#include <unistd.h>

#include <ext2fs/ext2fs.h>

#include "core/dbuf.h"
#include "core/escape.h"
#include "migrate/journal.h"
#include "migrate/request.h"

static uint32_t crc(const char *p, size_t len)
{
	return ext2fs_crc32c_le(~0u, (const unsigned char *)p, len) ^ ~0u;
}

/*
 * A write or fsync of @j failed with @err after @written bytes of the
 * pending lines went to the file: cut the file back to the end of its last
 * whole record (what was written of the next one would sit before whatever
 * came after it), drop the rest, and keep @err for every later call.  A
 * failed cut leaves a torn last line, which loading drops.
 */
static int broken(struct va_journal *j, int err, size_t written)
{
	const char *nl = written ? memrchr(j->pending.buf, '\n', written) : NULL;

	if (nl)
		j->good_len += (off_t)(nl - j->pending.buf + 1);
	if (written && ftruncate(j->fd, j->good_len) < 0) {
		/* the torn line stays: loading drops it, nothing follows it */
	}
	dbuf_setlen(&j->pending, 0);
	j->err = err;
	return err;
}

/* Write what va_journal_add() kept back, each byte once. */
static int flush(struct va_journal *j)
{
	size_t off = 0;

	if (j->err)
		return j->err;
	while (off < j->pending.len) {
		ssize_t n = write(j->fd, j->pending.buf + off, j->pending.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return broken(j, n < 0 ? -errno : -EIO, off);
		off += (size_t)n;
	}
	j->good_len += (off_t)j->pending.len;
	dbuf_setlen(&j->pending, 0);
	return 0;
}

/* Write what was added and fsync; a failed fsync is kept like a failed write. */
static int sync_all(struct va_journal *j)
{
	int r = flush(j);

	if (r < 0)
		return r;
	if (fsync(j->fd) < 0)
		return j->err = -errno;
	return 0;
}

/*
 * Add @line (without crc) plus its crc and a newline; with @sync, write
 * everything kept back and fsync.  Else keep it back: an intent until 64
 * KiB are kept, a done/undone @mark until the next flush or sync whatever
 * the amount (the caller makes its change durable first: a mark written
 * before the filesystem has the change would be believed after a crash).
 */
static int put_line_sync(struct va_journal *j, struct dbuf *line, bool sync, bool mark)
{
	if (j->err)
		return j->err;
	if (dbuf_addf(line, "\tcrc=%08x\n", crc(line->buf, line->len)) < 0 ||
	    dbuf_add(&j->pending, line->buf, line->len) < 0)
		return -ENOMEM;
	if (sync)
		return sync_all(j);
	if (mark || j->pending.len < 65536)
		return 0;
	return flush(j);
}

static int put_line(struct va_journal *j, struct dbuf *line)
{
	return put_line_sync(j, line, true, false);
}

/*
 * Give the finished, durable @tmpname in @dirfd the name @base; fails with
 * -EEXIST if that exists (never replaces).  @tmpname NULL: the open
 * O_TMPFILE file j->fd.
 */
static int link_into_place(struct va_journal *j, int dirfd, const char *tmpname,
			   const char *base)
{
	char proc[64];

	if (tmpname)
		return linkat(dirfd, tmpname, dirfd, base, 0) < 0 ? -errno : 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", j->fd);
	if (linkat(AT_FDCWD, proc, dirfd, base, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != ENOENT)
		return -errno;
	/* no /proc: the same through the fd itself (needs CAP_DAC_READ_SEARCH) */
	return linkat(j->fd, "", dirfd, base, AT_EMPTY_PATH) < 0 ? -errno : 0;
}

/*
 * Create @file holding exactly the header @line, atomically: the header is
 * written and fsynced in a file without a name (O_TMPFILE, or a hidden
 * temporary name where the filesystem lacks it), then linked to @file and
 * the directory fsynced.  So a journal never exists without its header,
 * whatever moment a crash or kill lands on; an existing @file is never
 * touched (-EEXIST).
 */
static int create_with_header(struct va_journal *j, const char *file, struct dbuf *line)
{
	char *dcopy = strdup(file), *bcopy = strdup(file);
	char tmpname[64];
	const char *base;
	bool named = false, linked;
	int dirfd = -1, r;

	if (!dcopy || !bcopy) {
		r = -ENOMEM;
		goto out;
	}
	base = basename(bcopy);
	dirfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		r = -errno;
		goto out;
	}
	j->fd = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		snprintf(tmpname, sizeof(tmpname), ".vaudit-journal.%ld.tmp", (long)getpid());
		named = true;
		j->fd = openat(dirfd, tmpname,
			       O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW,
			       0600);
	}
	if (j->fd < 0) {
		r = -errno;
		goto out;
	}
	r = put_line(j, line);
	if (r == 0)
		r = link_into_place(j, dirfd, named ? tmpname : NULL, base);
	linked = r == 0;
	if (named)
		(void)unlinkat(dirfd, tmpname, 0);
	if (r == 0 && fsync(dirfd) < 0)
		r = -errno;
	if (r < 0 && linked) {
		/* linked but the directory not durable: take the name back */
		struct stat a, b;

		if (fstat(j->fd, &a) == 0 && fstatat(dirfd, base, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			(void)unlinkat(dirfd, base, 0);
	}
out:
	if (r < 0)
		j->err = r;
	if (dirfd >= 0)
		close(dirfd);
	free(dcopy);
	free(bcopy);
	return r;
}

int va_journal_default_name(struct dbuf *out, const char *stem)
{
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];

	if (mkdir(VA_JOURNAL_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	return dbuf_addf(out, "%s/%s-%s-%ld.journal", VA_JOURNAL_DIR, stem, stamp, (long)getpid());
}

int va_journal_create(struct va_journal **ret, const char *file, const char *backend,
		      const char *uuid, const char *source, size_t source_len)
{
	return va_journal_create_request(ret, file, backend, uuid, source, source_len, NULL, 0);
}

int va_journal_create_request(struct va_journal **ret, const char *file, const char *backend,
			      const char *uuid, const char *source, size_t source_len,
			      const char *request, size_t request_len)
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
	j->version = request ? VA_JOURNAL_VERSION_REQUEST : VA_JOURNAL_VERSION;
	if (request) {
		if (!(j->request = malloc(request_len + 1))) {
			va_journal_free(j);
			return -ENOMEM;
		}
		memcpy(j->request, request, request_len);
		j->request[request_len] = '\0';
		j->request_len = request_len;
	}
	snprintf(j->backend, sizeof(j->backend), "%s", backend);
	snprintf(j->uuid, sizeof(j->uuid), "%s", uuid);
	j->next_seq = 1;
	r = dbuf_addf(&line, "vaudit-journal\t%d\tbackend=%s\tuuid=%s\tsource=", j->version,
		      backend, uuid);
	r |= va_base64(&line, source, source_len);
	if (request) {
		r |= dbuf_adds(&line, "\trequest=");
		r |= va_base64(&line, request, request_len);
	}
	if (r == 0)
		r = create_with_header(j, file, &line);
	dbuf_release(&line);
	if (r < 0) {
		va_journal_free(j);
		return r;
	}
	j->created = true;
	*ret = j;
	return 0;
}

/* Remember the state of intent @seq (D/U records) and grow the index. */
static int set_state(struct va_journal *j, uint64_t seq, char st)
{
	if (seq >= j->capstates) {
		size_t cap = j->capstates ? j->capstates : 64;
		char *n;

		while (cap <= seq)
			cap *= 2;
		n = realloc(j->states, cap);
		if (!n)
			return -ENOMEM;
		memset(n + j->capstates, 0, cap - j->capstates);
		j->states = n;
		j->capstates = cap;
	}
	j->states[seq] = st;
	return 0;
}

static int rec_store(struct va_journal *j, const struct va_journal_rec *r)
{
	if (va_array_grow(&j->recs, &j->caprecs, j->nrecs, sizeof(*j->recs)) < 0)
		return -ENOMEM;
	if (set_state(j, r->seq, r->type == 'D' || r->type == 'U' ? r->type : r->type == 'M' ? 'D' : 0) < 0)
		return -ENOMEM;
	j->recs[j->nrecs++] = *r;
	return 0;
}

static int add(struct va_journal *j, struct va_journal_rec *r, bool sync)
{
	struct dbuf line = DBUF_INIT;
	int ret;

	if (j->err)
		return j->err;
	if (j->dropped_tail) {
		if (ftruncate(j->fd, j->good_len) < 0)
			return j->err = -errno;
		j->dropped_tail = false;
	}

	if (r->type == 'I') {
		r->seq = j->next_seq++;
		ret = dbuf_addf(&line, "I\t%llu\t%u:%u\t%llu\t%u\t0x%08x\t%o\t0x%08x\t%o\t%s\t",
				(unsigned long long)r->seq, major(r->dev), minor(r->dev),
				(unsigned long long)r->ino, r->gen, r->old_flags, r->old_mode,
				r->new_flags, r->new_mode, r->kind);
		ret |= va_base64(&line, r->path, r->path_len);
	} else if (r->type == 'L') {
		r->seq = j->next_seq++;
		ret = dbuf_addf(&line, "L\t%llu\t%s\t%u:%u\t%llu\t%u\t%llu\t",
				(unsigned long long)r->seq, r->kind, major(r->dev), minor(r->dev),
				(unsigned long long)r->ino, r->gen, (unsigned long long)r->old_ino);
		ret |= va_base64(&line, r->path, r->path_len);
		ret |= dbuf_addc(&line, '\t');
		ret |= va_base64(&line, r->tmp, r->tmp_len);
		ret |= dbuf_addc(&line, '\t');
		ret |= va_base64(&line, r->other, r->other_len);
	} else if (r->type == 'C') {
		r->seq = j->next_seq++;
		ret = dbuf_addf(&line, "C\t%llu\t%s\t%u:%u\t%llu\t%lld.%09u\t",
				(unsigned long long)r->seq, r->kind, major(r->dev), minor(r->dev),
				(unsigned long long)r->ino, (long long)r->ctime_sec, r->ctime_nsec);
		ret |= va_base64(&line, r->path, r->path_len);
		ret |= dbuf_addc(&line, '\t');
		ret |= va_base64(&line, r->tmp, r->tmp_len);
	} else if (r->type == 'M') {
		ret = dbuf_addf(&line, "M\t%llu\t%u:%u\t%llu\t%lld.%09u", (unsigned long long)r->seq,
				major(r->dev), minor(r->dev), (unsigned long long)r->ino,
				(long long)r->ctime_sec, r->ctime_nsec);
	} else {
		ret = dbuf_addf(&line, "%c\t%llu", r->type, (unsigned long long)r->seq);
	}
	if (ret == 0)
		ret = put_line_sync(j, &line, sync, r->type == 'D' || r->type == 'U' || r->type == 'M');
	dbuf_release(&line);
	if (ret != 0)
		return ret;
	/* a mark only changes a state: replays walk j->recs while they add marks */
	if (r->type == 'D' || r->type == 'U')
		return set_state(j, r->seq, r->type);
	{
		struct va_journal_rec copy = *r;

		copy.path = copy.tmp = copy.other = NULL;
		copy.path_len = copy.tmp_len = copy.other_len = 0;
		return rec_store(j, &copy);
	}
}

int va_journal_append(struct va_journal *j, struct va_journal_rec *r)
{
	return add(j, r, true);
}

int va_journal_add(struct va_journal *j, struct va_journal_rec *r)
{
	return add(j, r, false);
}

int va_journal_flush(struct va_journal *j)
{
	return flush(j);
}

int va_journal_sync(struct va_journal *j)
{
	return sync_all(j);
}

int va_journal_error(const struct va_journal *j)
{
	return j->err;
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
	char *f[7];
	size_t n = split(line, f, 6);
	uint64_t v;

	if (n < 2 || n > 6 || strcmp(f[0], "vaudit-journal") != 0)
		return "not a vaudit journal (bad header)";
	if (!num(f[1], 10, 1000, &v) || (v != VA_JOURNAL_VERSION && v != VA_JOURNAL_VERSION_REQUEST))
		return "unsupported journal version";
	if (n != (v == VA_JOURNAL_VERSION ? 5u : 6u))
		return "not a vaudit journal (bad header)";
	j->version = (int)v;
	if (v == VA_JOURNAL_VERSION_REQUEST) {
		/* a request: only a repair's journal has one, and it is never empty */
		if (strcmp(f[2], "backend=" VA_JOURNAL_IMAGE) && strcmp(f[2], "backend=" VA_JOURNAL_LIVE))
			return "a request in the header of a journal that is not a repair's";
		if (strncmp(f[5], "request=", 8) ||
		    unbase64(f[5] + 8, strlen(f[5] + 8), &j->request, &j->request_len) ||
		    !j->request_len || memchr(j->request, '\0', j->request_len))
			return "bad request in the header";
		{
			struct va_request rq;
			const char *why = NULL;
			int r = va_request_parse(&rq, j->request, j->request_len, &why);

			va_request_release(&rq);
			if (r < 0)
				return why ? why : "bad request in the header";
		}
	}
	if (strncmp(f[2], "backend=", 8) ||
	    (strcmp(f[2] + 8, VA_JOURNAL_IMAGE) && strcmp(f[2] + 8, VA_JOURNAL_LIVE) &&
	     strcmp(f[2] + 8, VA_JOURNAL_UNIFY) && strcmp(f[2] + 8, VA_JOURNAL_CONVERT) &&
	     strcmp(f[2] + 8, VA_JOURNAL_CLONE) && strcmp(f[2] + 8, VA_JOURNAL_VCOPY)))
		return "bad backend in the header";
	if (strncmp(f[3], "uuid=", 5) || strlen(f[3] + 5) >= sizeof(j->uuid))
		return "bad uuid in the header";
	if (strncmp(f[4], "source=", 7) || unbase64(f[4] + 7, strlen(f[4] + 7), &j->source, &j->source_len))
		return "bad source in the header";
	snprintf(j->backend, sizeof(j->backend), "%s", f[2] + 8);
	snprintf(j->uuid, sizeof(j->uuid), "%s", f[3] + 5);
	return NULL;
}

static const char *parse_dev(char *s, dev_t *ret)
{
	char *colon = strchr(s, ':');
	uint64_t ma, mi;

	if (!colon)
		return "bad device";
	*colon = '\0';
	if (!num(s, 10, 0xfffff, &ma) || !num(colon + 1, 10, 0xfffff, &mi))
		return "bad device";
	*ret = makedev((unsigned)ma, (unsigned)mi);
	return NULL;
}

static const char *parse_link(struct va_journal_rec *r, char **f)
{
	uint64_t v[3];
	const char *why;

	if (strcmp(f[2], "link") && strcmp(f[2], "revert") && strcmp(f[2], "store"))
		return "bad operation";
	snprintf(r->kind, sizeof(r->kind), "%s", f[2]);
	if ((why = parse_dev(f[3], &r->dev)))
		return why;
	if (!num(f[4], 10, UINT64_MAX, &v[0]) || !num(f[5], 10, UINT32_MAX, &v[1]) ||
	    !num(f[6], 10, UINT64_MAX, &v[2]))
		return "bad number";
	r->ino = v[0];
	r->gen = (uint32_t)v[1];
	r->old_ino = v[2];
	if (unbase64(f[7], strlen(f[7]), &r->path, &r->path_len) || !r->path_len)
		return "bad path";
	if (unbase64(f[8], strlen(f[8]), &r->tmp, &r->tmp_len) ||
	    (r->tmp_len && memchr(r->tmp, '/', r->tmp_len)))
		return "bad temporary name";
	if (unbase64(f[9], strlen(f[9]), &r->other, &r->other_len))
		return "bad path";
	return NULL;
}

/* Does @j hold a clone engine's records ('C' of VA_CLONE_TYPES, 'M')? */
static bool clone_records(const struct va_journal *j)
{
	return !strcmp(j->backend, VA_JOURNAL_CLONE) || !strcmp(j->backend, VA_JOURNAL_VCOPY);
}

/*
 * Which intents a journal of @j's backend holds: a conversion's only what
 * it created ('C'), a clone's what it created and the flags it lifted for
 * a moment ('C', 'I'), a vcopy's the unify engine's and the clone's ('I',
 * 'L', 'C'), the others flag and name changes ('I', 'L').
 */
static bool record_fits(const struct va_journal *j, char type)
{
	if (!strcmp(j->backend, VA_JOURNAL_CONVERT))
		return type == 'C';
	if (!strcmp(j->backend, VA_JOURNAL_CLONE))
		return type == 'C' || type == 'I';
	if (!strcmp(j->backend, VA_JOURNAL_VCOPY))
		return type == 'C' || type == 'I' || type == 'L';
	return type == 'I' || type == 'L';
}

/* DEV INO CTIME in @f[0..2] (CTIME "SEC.NSEC"). */
static const char *parse_identity(struct va_journal_rec *r, char **f)
{
	uint64_t ino, sec, nsec;
	char *dot;
	const char *why;

	if ((why = parse_dev(f[0], &r->dev)))
		return why;
	dot = strchr(f[2], '.');
	if (!dot || strlen(dot + 1) != 9)
		return "bad time";
	*dot = '\0';
	if (!num(f[1], 10, UINT64_MAX, &ino) || !num(f[2], 10, INT64_MAX, &sec) ||
	    !num(dot + 1, 10, 999999999, &nsec))
		return "bad number";
	r->ino = ino;
	r->ctime_sec = (int64_t)sec;
	r->ctime_nsec = (uint32_t)nsec;
	return NULL;
}

static const char *parse_made(struct va_journal_rec *r, char **f)
{
	const char *why = parse_identity(r, f + 2);

	if (!why && r->ino == 0)
		return "bad number";
	return why;
}

static const char *parse_create(struct va_journal_rec *r, char **f, bool clone)
{
	const char *why;

	if (strlen(f[2]) != 1 || !strchr(clone ? VA_CLONE_TYPES : "dfl", f[2][0]))
		return "bad type";
	snprintf(r->kind, sizeof(r->kind), "%s", f[2]);
	if ((why = parse_identity(r, f + 3)))
		return why;
	if (unbase64(f[6], strlen(f[6]), &r->path, &r->path_len) || !r->path_len)
		return "bad path";
	if (unbase64(f[7], strlen(f[7]), &r->tmp, &r->tmp_len) ||
	    (r->tmp_len && memchr(r->tmp, '/', r->tmp_len)))
		return "bad temporary name";
	return NULL;
}

static const char *parse_record(struct va_journal *j, char *line, struct va_journal_rec *r)
{
	char *f[12];
	size_t n = split(line, f, 11);
	uint64_t v[9];
	const char *why;

	memset(r, 0, sizeof(*r));
	if (n < 2 || strlen(f[0]) != 1 || !num(f[1], 10, UINT64_MAX, &r->seq) || r->seq == 0)
		return "bad record";
	r->type = f[0][0];
	if (r->type == 'D' || r->type == 'U') {
		if (n != 2)
			return "bad record";
		/* intents are numbered 1, 2, ... without gaps */
		return r->seq < j->next_seq ? NULL : "record for an unknown change";
	}
	if (r->type == 'M') {
		if (n != 5 || !clone_records(j))
			return n != 5 ? "bad record" : "a record of another kind of journal";
		if (r->seq >= j->next_seq)
			return "record for an unknown change";
		return parse_made(r, f);
	}
	if (!((r->type == 'I' && n == 11) || (r->type == 'L' && n == 10) || (r->type == 'C' && n == 8)))
		return "bad record";
	if (!record_fits(j, r->type))
		return "a record of another kind of journal";
	if (r->seq != j->next_seq)
		return "changes out of sequence";
	if (r->type == 'C') {
		if ((why = parse_create(r, f, clone_records(j))))
			return why;
		j->next_seq = r->seq + 1;
		return NULL;
	}
	if (r->type == 'L') {
		if ((why = parse_link(r, f)))
			return why;
		j->next_seq = r->seq + 1;
		return NULL;
	}
	if ((why = parse_dev(f[2], &r->dev)))
		return why;
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
	int fd = open(file, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);

	*ret_why = NULL;
	*ret_line = 0;
	if (fd < 0)
		return -errno;
	return va_journal_load_fd(ret, fd, file, ret_why, ret_line);
}

int va_journal_load_fd(struct va_journal **ret, int fd, const char *file, const char **ret_why,
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
		j->fd = fd;
	if (!j || !(j->file = strdup(file))) {
		if (j)
			va_journal_free(j);
		else
			close(fd);
		return -ENOMEM;
	}
	j->next_seq = 1;
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
	if (!j->dropped_tail)
		j->good_len = (off_t)data.len;
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
	return seq < j->capstates ? j->states[seq] : 0;
}

void va_journal_discard(struct va_journal *j)
{
	dbuf_setlen(&j->pending, 0);
}

int va_journal_finish(struct va_journal *j, int r)
{
	if (!j)
		return r;
	if (r >= 0)
		return va_journal_sync(j);
	va_journal_discard(j);  /* marks of changes that may not be on disk */
	return r;
}

int va_journal_remove_unused(struct va_journal *j)
{
	char *dcopy, *bcopy;
	const char *base;
	struct stat mine, named;
	int dirfd = -1, r = 0;

	/* every record added is in recs (marks follow intents); a failed write sets err */
	if (!j || !j->created || j->err || j->nrecs || j->fd < 0)
		return 0;
	dcopy = strdup(j->file);
	bcopy = strdup(j->file);
	if (!dcopy || !bcopy) {
		r = -ENOMEM;
		goto out;
	}
	base = basename(bcopy);
	dirfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || fstat(j->fd, &mine) < 0 ||
	    fstatat(dirfd, base, &named, AT_SYMLINK_NOFOLLOW) < 0) {
		r = -errno;
		goto out;
	}
	if (mine.st_dev != named.st_dev || mine.st_ino != named.st_ino)
		goto out;
	if (unlinkat(dirfd, base, 0) < 0 || fsync(dirfd) < 0)
		r = -errno;
	else
		r = 1;
out:
	if (dirfd >= 0)
		close(dirfd);
	free(dcopy);
	free(bcopy);
	return r;
}

void va_journal_free(struct va_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0) {
		(void)flush(j);         /* marks only: intents were synced (not after a failure) */
		close(j->fd);
	}
	dbuf_release(&j->pending);
	for (size_t i = 0; i < j->nrecs; i++) {
		free(j->recs[i].path);
		free(j->recs[i].tmp);
		free(j->recs[i].other);
	}
	free(j->recs);
	free(j->states);
	free(j->source);
	free(j->request);
	free(j->file);
	free(j);
}
