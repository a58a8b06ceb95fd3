/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_journal.c - unit tests of migrate/journal: a write that goes short
 * and then fails.  The file size limit (RLIMIT_FSIZE, SIGXFSZ ignored)
 * makes the kernel do it: the write reaching the limit is cut there, the
 * next one fails with EFBIG.  After that the file must end with its last
 * whole record, every later call return the error, and the journal load
 * with exactly the records whose writes succeeded.  And the 'C' records of
 * a conversion's journal: what is appended loads back field for field,
 * and a record of one kind of journal in another makes it unusable.
 * And the request of a version 2 header (migrate/request.h): written,
 * loaded back byte for byte, parsed to the same values; a version 1
 * journal has none; a request in another spelling is refused.  And a
 * journal is created atomically: it never exists without its header.
 * And va_journal_remove_unused() removes only a journal made here that
 * holds its header alone, and only while its name is still its file's.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "core/finding.h"
#include "migrate/journal.h"
#include "migrate/request.h"
#include "tests/unit/testutil.h"

static char path[256];

/* A new journal in the test's directory. */
static struct va_journal *new_journal(const char *name)
{
	struct va_journal *j = NULL;

	snprintf(path, sizeof(path), "%s/%s", tu_tmpdir, name);
	ck_assert_int_eq(va_journal_create(&j, path, "unify", "unknown", "/src", 4), 0);
	return j;
}

static off_t file_size(void)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

/* Writes past @bytes beyond the current size are cut, then fail (EFBIG). */
static void limit_growth(off_t bytes)
{
	struct rlimit rl;

	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = (rlim_t)(file_size() + bytes);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void unlimit(void)
{
	struct rlimit rl;

	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

/* An 'L' intent with a path of about 150 bytes. */
static int intent(struct va_journal *j, uint64_t k, bool sync)
{
	char p[160], other[] = "/vs/store/x";
	struct va_journal_rec r = { .type = 'L', .dev = makedev(7, 1), .ino = 1000 + k, .gen = 1,
				    .old_ino = 2000 + k, .path = p, .other = other,
				    .other_len = sizeof(other) - 1 };

	snprintf(r.kind, sizeof(r.kind), "link");
	r.path_len = (size_t)snprintf(p, sizeof(p), "/vs/g1/%0120llu", (unsigned long long)k);
	return sync ? va_journal_append(j, &r) : va_journal_add(j, &r);
}

static int mark(struct va_journal *j, uint64_t seq)
{
	struct va_journal_rec r = { .type = 'D', .seq = seq };

	return va_journal_add(j, &r);
}

/* The file ends with a newline and its size did not change when freed. */
static void assert_whole(void)
{
	char c;
	int fd = open(path, O_RDONLY);
	off_t size = file_size();

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, &c, 1, size - 1), 1);
	ck_assert_msg(c == '\n', "the journal ends in the middle of a record");
	close(fd);
}

/* Load it again: no torn line, intents 1..@nintents, marks D for 1..@nmarks. */
static void assert_loads(size_t nintents, size_t nmarks)
{
	struct va_journal *j = NULL;
	const char *why = NULL;
	size_t line = 0, ni = 0, nm = 0;

	unlimit();
	ck_assert_msg(va_journal_load(&j, path, &why, &line) == 0, "not loadable: %s (line %zu)",
		      why ? why : "?", line);
	ck_assert(!j->dropped_tail);
	for (size_t i = 0; i < j->nrecs; i++) {
		if (j->recs[i].type == 'D') {
			nm++;
			continue;
		}
		ck_assert_int_eq(j->recs[i].type, 'L');
		ck_assert_uint_eq(j->recs[i].seq, ni + 1);
		ck_assert_uint_eq(j->recs[i].ino, 1000 + ni);
		ni++;
	}
	ck_assert_uint_eq(ni, nintents);
	ck_assert_uint_eq(nm, nmarks);
	for (size_t s = 1; s <= nintents; s++)
		ck_assert_int_eq(va_journal_state(j, s), s <= nmarks ? 'D' : 0);
	va_journal_free(j);
}

/* Every later call returns @err and writes nothing. */
static void assert_sticky(struct va_journal *j, int err)
{
	off_t size = file_size();

	ck_assert_int_eq(va_journal_error(j), err);
	ck_assert_int_eq(intent(j, 999, false), err);
	ck_assert_int_eq(intent(j, 999, true), err);
	ck_assert_int_eq(mark(j, 1), err);
	ck_assert_int_eq(va_journal_flush(j), err);
	ck_assert_int_eq(va_journal_sync(j), err);
	unlimit();
	ck_assert_int_eq(va_journal_sync(j), err);
	va_journal_free(j);
	ck_assert_int_eq(file_size(), size);
}

/* va_journal_append() (each fsync'd): exactly the appends that succeeded are on file. */
START_TEST(append_until_full)
{
	struct va_journal *j = new_journal("append.journal");
	uint64_t k;
	int r = 0;

	limit_growth(5000);
	for (k = 0; k < 1000 && (r = intent(j, k, true)) == 0; k++)
		;
	ck_assert_int_eq(r, -EFBIG);
	ck_assert_uint_gt(k, 10);
	assert_whole();
	assert_sticky(j, -EFBIG);
	assert_loads((size_t)k, 0);
}
END_TEST

/* A batch of intents (written at 64 KiB) cut part-way, then its sync fails. */
START_TEST(batch_cut)
{
	struct va_journal *j = new_journal("batch.journal");
	uint64_t k;
	int r = 0;

	limit_growth(100000);
	for (k = 0; k < 2000 && (r = intent(j, k, false)) == 0; k++)
		;
	if (r == 0)
		r = va_journal_sync(j);
	ck_assert_int_eq(r, -EFBIG);
	assert_whole();
	ck_assert_int_le(file_size(), 100000 + 300);
	assert_sticky(j, -EFBIG);
	/* the first 64 KiB went through whole; the records after them up to
	 * the limit too, the one cut there not */
	{
		FILE *f = fopen(path, "r");
		size_t lines = 0;
		int c;

		ck_assert_ptr_nonnull(f);
		while ((c = fgetc(f)) != EOF)
			lines += c == '\n';
		fclose(f);
		ck_assert_uint_gt(lines, 400);
		assert_loads(lines - 1, 0);
	}
}
END_TEST

/* Marks (not fsync'd) that cannot be written: the intents stay, whole. */
START_TEST(marks_cut)
{
	struct va_journal *j = new_journal("marks.journal");
	uint64_t k, n = 50, m;
	int r = 0;

	for (k = 0; k < n; k++)
		ck_assert_int_eq(intent(j, k, false), 0);
	ck_assert_int_eq(va_journal_sync(j), 0);
	limit_growth(200);
	for (m = 1; m <= n && (r = mark(j, m)) == 0; m++)
		;
	ck_assert_int_eq(r, 0);         /* kept back */
	ck_assert_int_eq(va_journal_flush(j), -EFBIG);
	assert_whole();
	assert_sticky(j, -EFBIG);
	/* 200 bytes hold 12 marks of 16 or 17 bytes ("D\t1\tcrc=XXXXXXXX\n") */
	{
		struct va_journal *l = NULL;
		const char *why;
		size_t line, marks = 0;

		unlimit();
		ck_assert_int_eq(va_journal_load(&l, path, &why, &line), 0);
		for (uint64_t s = 1; s <= n; s++)
			marks += va_journal_state(l, s) == 'D';
		va_journal_free(l);
		ck_assert_uint_gt(marks, 5);
		ck_assert_uint_lt(marks, n);
		assert_loads((size_t)n, marks);
	}
}
END_TEST

/* A 'C' record for entry @rel (NULL: the top directory, with a temporary name); its path in @p. */
static struct va_journal_rec create_rec(char p[64], const char *rel, char type, int64_t sec, uint32_t nsec)
{
	struct va_journal_rec r = { .type = 'C', .dev = makedev(254, 3), .ino = 123456789012ULL,
				    .ctime_sec = sec, .ctime_nsec = nsec };

	snprintf(p, 64, "/etc/vservers/web%s%s", rel ? "/" : "", rel ? rel : "");
	r.path = p;
	r.path_len = strlen(p);
	r.tmp = rel ? NULL : (char *)".vaudit-convert.1.2";
	r.tmp_len = rel ? 0 : strlen(r.tmp);
	r.kind[0] = type;
	return r;
}

START_TEST(create_records_load_back)
{
	struct va_journal *j = NULL;
	char p[3][64];
	struct va_journal_rec in[3] = {
		create_rec(p[0], NULL, 'd', 1796599515, 398402466),
		create_rec(p[1], "name", 'f', 0, 999999999),
		create_rec(p[2], "vdir", 'l', INT64_MAX, 0),
	};
	const char *why;
	size_t line;

	snprintf(path, sizeof(path), "%s/convert.journal", tu_tmpdir);
	ck_assert_int_eq(va_journal_create(&j, path, VA_JOURNAL_CONVERT, "unknown", "/etc/vservers", 13), 0);
	for (size_t i = 0; i < 3; i++)
		ck_assert_int_eq(va_journal_append(j, &in[i]), 0);
	ck_assert_int_eq(mark(j, 1), 0);
	va_journal_free(j);
	ck_assert_int_eq(va_journal_load(&j, path, &why, &line), 0);
	ck_assert_str_eq(j->backend, VA_JOURNAL_CONVERT);
	ck_assert_uint_eq(j->nrecs, 4);
	for (size_t i = 0; i < 3; i++) {
		const struct va_journal_rec *r = &j->recs[i], *w = &in[i];

		ck_assert_int_eq(r->type, 'C');
		ck_assert_uint_eq(r->seq, i + 1);
		ck_assert_str_eq(r->kind, w->kind);
		ck_assert_uint_eq(r->dev, w->dev);
		ck_assert_uint_eq(r->ino, w->ino);
		ck_assert_int_eq(r->ctime_sec, w->ctime_sec);
		ck_assert_uint_eq(r->ctime_nsec, w->ctime_nsec);
		ck_assert_uint_eq(r->path_len, w->path_len);
		ck_assert_mem_eq(r->path, w->path, w->path_len);
		ck_assert_uint_eq(r->tmp_len, w->tmp_len);
		if (w->tmp_len)
			ck_assert_mem_eq(r->tmp, w->tmp, w->tmp_len);
	}
	ck_assert_int_eq(va_journal_state(j, 1), 'D');
	ck_assert_int_eq(va_journal_state(j, 2), 0);
	va_journal_free(j);
}
END_TEST

/* A record of one kind of journal appended to another: the load refuses it, at its line. */
START_TEST(records_of_another_journal)
{
	static const char *const backend[] = { VA_JOURNAL_UNIFY, VA_JOURNAL_CONVERT, VA_JOURNAL_CONVERT };
	struct va_journal *j = NULL;
	const char *why;
	size_t line;

	for (int k = 0; k < 3; k++) {
		snprintf(path, sizeof(path), "%s/mixed%d.journal", tu_tmpdir, k);
		ck_assert_int_eq(va_journal_create(&j, path, backend[k], "unknown", "/etc/vservers", 13), 0);
		if (k == 0) {
			char p[64];
			struct va_journal_rec c = create_rec(p, "name", 'f', 1, 2);

			ck_assert_int_eq(va_journal_append(j, &c), 0);
		} else if (k == 1) {
			ck_assert_int_eq(intent(j, 1, true), 0);
		} else {
			char p[64];
			struct va_journal_rec c = create_rec(p, NULL, 'd', 1, 2);
			struct va_journal_rec m = { .type = 'M', .seq = 1, .ino = 5 };

			ck_assert_int_eq(va_journal_append(j, &c), 0);
			ck_assert_int_eq(va_journal_append(j, &m), 0);  /* a clone's mark */
		}
		va_journal_free(j);
		ck_assert_int_eq(va_journal_load(&j, path, &why, &line), -EINVAL);
		ck_assert_str_eq(why, "a record of another kind of journal");
		ck_assert_uint_eq(line, k == 2 ? 3 : 2);
	}
}
END_TEST

/* A clone's records: 'C' of every type, 'I', and 'M' marks that come back as done with their inode. */
START_TEST(clone_records_load_back)
{
	struct va_journal *j = NULL;
	char p[3][64];
	struct va_journal_rec in[3] = {
		create_rec(p[0], "dev", 'd', 1796599515, 398402466),
		create_rec(p[1], "bin", 'h', 0, 0),
		create_rec(p[2], "fifo", 'p', 1796599516, 1),
	};
	struct va_journal_rec m = { .type = 'M', .dev = makedev(254, 3), .ino = 77, .ctime_sec = 1796599517,
				    .ctime_nsec = 5 };
	const char *why;
	size_t line;

	for (int k = 0; k < 2; k++) {
		snprintf(path, sizeof(path), "%s/clone%d.journal", tu_tmpdir, k);
		ck_assert_int_eq(va_journal_create(&j, path, VA_JOURNAL_CLONE, "unknown", "/vs/a\n/vs", 10), 0);
		for (size_t i = 0; i < 3; i++)
			ck_assert_int_eq(va_journal_append(j, &in[i]), 0);
		m.seq = 3;
		ck_assert_int_eq(va_journal_append(j, &m), 0);
		/* an 'L' record has no place in a clone's journal */
		if (k == 0)
			ck_assert_int_eq(intent(j, 9, true), 0);
		va_journal_free(j);
		if (k == 0) {
			ck_assert_int_eq(va_journal_load(&j, path, &why, &line), -EINVAL);
			ck_assert_str_eq(why, "a record of another kind of journal");
			ck_assert_uint_eq(line, 6);
		}
	}
	ck_assert_int_eq(va_journal_load(&j, path, &why, &line), 0);
	ck_assert_uint_eq(j->nrecs, 4);
	ck_assert_str_eq(j->recs[1].kind, "h");
	ck_assert_str_eq(j->recs[2].kind, "p");
	ck_assert_int_eq(j->recs[3].type, 'M');
	ck_assert_uint_eq(j->recs[3].seq, 3);
	ck_assert_uint_eq(j->recs[3].ino, 77);
	ck_assert_int_eq(j->recs[3].ctime_sec, 1796599517);
	ck_assert_uint_eq(j->recs[3].ctime_nsec, 5);
	ck_assert_int_eq(va_journal_state(j, 3), 'D');
	ck_assert_int_eq(va_journal_state(j, 2), 0);
	va_journal_free(j);
}
END_TEST

/* A request goes into a version 2 header and comes back the same; other spellings are refused. */
START_TEST(request_round_trip)
{
	char plan[] = "/root/p l\nan", prefix[] = "/vservers", cfg[] = "/etc/vs";
	struct va_request rq = {
		.plan = true, .plan_file = plan, .prefix = prefix, .force = true,
		.barrier_mode = 0755, .tag_scheme = 2, .device_read = true,
		.config = VA_REQ_CONFIG_NONE,
	}, back;
	struct dbuf text = DBUF_INIT, bad = DBUF_INIT;
	struct va_journal *j = NULL;
	const char *why;
	size_t line;

	for (int i = 0; i < VA_REQUEST_SHA256_LEN; i++)
		rq.plan_sha256[i] = (unsigned char)(i * 7);
	ck_assert_int_eq(va_request_format(&rq, &text), 0);
	snprintf(path, sizeof(path), "%s/request.journal", tu_tmpdir);
	ck_assert_int_eq(va_journal_create_request(&j, path, VA_JOURNAL_IMAGE, "unknown", "/i.img", 6,
						   text.buf, text.len), 0);
	va_journal_free(j);
	ck_assert_int_eq(va_journal_load(&j, path, &why, &line), 0);
	ck_assert_int_eq(j->version, 2);
	ck_assert_uint_eq(j->request_len, text.len);
	ck_assert_mem_eq(j->request, text.buf, text.len);
	ck_assert_int_eq(va_request_parse(&back, j->request, j->request_len, &why), 0);
	ck_assert(back.plan && back.force && back.device_read && !back.cross_mounts);
	ck_assert_str_eq(back.plan_file, rq.plan_file);
	ck_assert_str_eq(back.prefix, "/vservers");
	ck_assert_int_eq(back.barrier_mode, 0755);
	ck_assert_uint_eq(back.tag_scheme, 2);
	ck_assert_mem_eq(back.plan_sha256, rq.plan_sha256, VA_REQUEST_SHA256_LEN);
	va_request_release(&back);
	va_journal_free(j);

	/* a version 1 journal: no request */
	snprintf(path, sizeof(path), "%s/v1.journal", tu_tmpdir);
	ck_assert_int_eq(va_journal_create(&j, path, VA_JOURNAL_LIVE, "unknown", "/v", 2), 0);
	va_journal_free(j);
	ck_assert_int_eq(va_journal_load(&j, path, &why, &line), 0);
	ck_assert_int_eq(j->version, 1);
	ck_assert_ptr_null(j->request);
	va_journal_free(j);

	/* a plain --fix: kinds; other spellings of the same values are refused */
	rq = (struct va_request){ .kinds = VA_KIND_BIT(VA_KIND_LEGACY_NOTAIL) | VA_KIND_BIT(VA_KIND_LEGACY_IUNLINK),
				  .barrier_mode = -1, .config = VA_REQ_CONFIG_DIR, .config_path = cfg };
	dbuf_setlen(&text, 0);
	ck_assert_int_eq(va_request_format(&rq, &text), 0);
	ck_assert_int_eq(va_request_parse(&back, text.buf, text.len, &why), 0);
	ck_assert(!back.plan && back.kinds == rq.kinds && back.barrier_mode == -1);
	ck_assert_str_eq(back.config_path, "/etc/vs");
	va_request_release(&back);
	{
		static const char *const from[] = { "kinds legacy-iunlink,legacy-notail", "force 0",
						    "barrier-mode keep", "config dir", "\n" };
		static const char *const to[] = { "kinds legacy-notail,legacy-iunlink", "force  0",
						  "barrier-mode 755", "config Dir", "\n\n" };

		for (size_t k = 0; k < sizeof(from) / sizeof(from[0]); k++) {
			const char *at = strstr(text.buf, from[k]);

			ck_assert_ptr_nonnull(at);
			dbuf_setlen(&bad, 0);
			dbuf_add(&bad, text.buf, (size_t)(at - text.buf));
			dbuf_adds(&bad, to[k]);
			dbuf_adds(&bad, at + strlen(from[k]));
			ck_assert_int_eq(va_request_parse(&back, bad.buf, bad.len, &why), -EINVAL);
			ck_assert_ptr_nonnull(why);
			va_request_release(&back);
		}
	}
	dbuf_release(&text);
	dbuf_release(&bad);
}
END_TEST

/* The names in directory @dir (not . and ..), at most 4, as "a,b"; -1 if more. */
static int dir_names(const char *dir, char *out, size_t outsz)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	out[0] = '\0';
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n++)
			strncat(out, ",", outsz - strlen(out) - 1);
		strncat(out, e->d_name, outsz - strlen(out) - 1);
	}
	closedir(d);
	return n;
}

/*
 * A journal exists only with its header: creating over an existing file
 * fails with EEXIST and leaves it as it was; a header the kernel refuses to
 * write (RLIMIT_FSIZE of 16 bytes) leaves no file at all, of that name or
 * any other; a good one leaves the journal alone in its directory, its
 * first line the header.
 */
START_TEST(create_is_atomic)
{
	char *dir = tu_subdir("atomic"), names[256], buf[64];
	struct va_journal *j = NULL;
	struct rlimit rl;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/old.journal", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x\n", 2), 2);
	close(fd);
	ck_assert_int_eq(va_journal_create(&j, path, "unify", "unknown", "/src", 4), -EEXIST);
	ck_assert_ptr_null(j);
	ck_assert_int_eq(file_size(), 2);
	ck_assert_int_eq(dir_names(dir, names, sizeof(names)), 1);
	ck_assert_str_eq(names, "old.journal");
	ck_assert_int_eq(unlink(path), 0);

	snprintf(path, sizeof(path), "%s/short.journal", dir);
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = 16;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	ck_assert_int_lt(va_journal_create(&j, path, "unify", "unknown", "/src", 4), 0);
	unlimit();
	ck_assert_ptr_null(j);
	ck_assert_int_eq(dir_names(dir, names, sizeof(names)), 0);

	snprintf(path, sizeof(path), "%s/good.journal", dir);
	ck_assert_int_eq(va_journal_create(&j, path, "unify", "unknown", "/src", 4), 0);
	ck_assert_int_eq(dir_names(dir, names, sizeof(names)), 1);
	ck_assert_str_eq(names, "good.journal");
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_int_eq(strncmp(buf, "vaudit-journal\t", 15), 0);
	ck_assert_int_eq(intent(j, 1, true), 0);
	va_journal_free(j);
	free(dir);
}
END_TEST

/*
 * va_journal_load_fd() on a read-only fd reads what va_journal_load()
 * reads, and freeing it writes nothing; a bad fd is an error, not a crash.
 */
START_TEST(load_fd_read_only)
{
	struct va_journal *j = new_journal("ro.journal"), *k = NULL;
	char src[] = "/src/a";
	struct va_journal_rec r = { .type = 'L', .dev = makedev(8, 1), .ino = 12, .old_ino = 11,
				    .kind = "link", .path = src, .path_len = 6 };
	struct stat before, after;
	const char *why;
	size_t line;
	int fd;

	ck_assert_int_eq(va_journal_append(j, &r), 0);
	ck_assert_int_eq(mark(j, 1), 0);
	va_journal_free(j);
	ck_assert_int_eq(stat(path, &before), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(va_journal_load_fd(&k, fd, path, &why, &line), 0);
	ck_assert_str_eq(k->backend, VA_JOURNAL_UNIFY);
	ck_assert_uint_eq(k->nrecs, 2);
	ck_assert_int_eq(k->recs[0].type, 'L');
	ck_assert_int_eq(va_journal_state(k, 1), 'D');
	va_journal_free(k);
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_int_eq(after.st_size, before.st_size);
	ck_assert_int_eq(va_journal_load_fd(&k, -1, path, &why, &line), -EBADF);
}
END_TEST

/*
 * A journal with nothing but its header is removed (its name is gone);
 * one with an intent, a loaded one, and a name that now names another
 * file are kept, and that other file is left as it was.
 */
START_TEST(remove_unused)
{
	struct va_journal *j = new_journal("empty.journal"), *k = NULL;
	char other[256], buf[16];
	struct stat st;
	const char *why;
	size_t line;
	int fd;

	ck_assert_int_eq(va_journal_remove_unused(j), 1);
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(va_journal_remove_unused(NULL), 0);
	va_journal_free(j);

	j = new_journal("used.journal");
	ck_assert_int_eq(intent(j, 1, true), 0);
	ck_assert_int_eq(va_journal_remove_unused(j), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	va_journal_free(j);

	j = new_journal("header.journal");
	va_journal_free(j);
	ck_assert_int_eq(va_journal_load(&k, path, &why, &line), 0);
	ck_assert_int_eq(va_journal_remove_unused(k), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	va_journal_free(k);

	/* the name now names another file: that file stays */
	j = new_journal("moved.journal");
	snprintf(other, sizeof(other), "%s/moved.other", tu_tmpdir);
	fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "someone's\n", 10), 10);
	close(fd);
	ck_assert_int_eq(rename(other, path), 0);
	ck_assert_int_eq(va_journal_remove_unused(j), 0);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 10);
	ck_assert_int_eq(memcmp(buf, "someone's\n", 10), 0);
	close(fd);
	va_journal_free(j);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("short-write");
	TCase *tr = tcase_create("records");

	tcase_set_timeout(tc, 60);
	tu_tcase_tmpdir(tc, false);
	tu_add_test(tc, append_until_full, NULL);
	tu_add_test(tc, batch_cut, NULL);
	tu_add_test(tc, marks_cut, NULL);
	suite_add_tcase(s, tc);
	tu_tcase_tmpdir(tr, false);
	tu_add_test(tr, create_is_atomic, NULL);
	tu_add_test(tr, create_records_load_back, NULL);
	tu_add_test(tr, records_of_another_journal, NULL);
	tu_add_test(tr, clone_records_load_back, NULL);
	tu_add_test(tr, request_round_trip, NULL);
	tu_add_test(tr, load_fd_read_only, NULL);
	tu_add_test(tr, remove_unused, NULL);
	suite_add_tcase(s, tr);
	return s;
}

int main(void)
{
	return tu_main(journal_suite());
}
