/* SPDX-License-Identifier: GPL-2.0-or-later */
/* testutil.c - helpers shared by the Check unit tests. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/testutil.h"

#ifdef __SANITIZE_ADDRESS__
/* The dbuf tests ask for impossible sizes and expect -ENOMEM, not an abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
#endif

char *tu_tmpdir;

char *tu_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		ck_abort_msg("out of memory");
	return s;
}

char *tu_which(const char *prog)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? strdup(prog) : NULL;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	copy = strdup(path);
	if (!copy)
		return NULL;
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		char *full;

		if (asprintf(&full, "%s/%s", *dir ? dir : ".", prog) < 0)
			break;
		if (access(full, X_OK) == 0) {
			free(copy);
			return full;
		}
		free(full);
	}
	free(copy);
	return NULL;
}

bool tu_have(const char *prog)
{
	char *p = tu_which(prog);

	free(p);
	return p != NULL;
}

bool tu_run_ok(int status)
{
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int run(const char *const argv[], const void *in, size_t inlen, struct dbuf *out, bool quiet)
{
	int inp[2], outp[2], status;
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	size_t done = 0;
	pid_t pid;

	if (pipe2(inp, O_CLOEXEC) < 0)
		return -1;
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(inp[0]);
		close(inp[1]);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(inp[0]);
		close(inp[1]);
		close(outp[0]);
		close(outp[1]);
		return -1;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (in) {
			dup2(inp[0], 0);
		} else {
			int fd = open("/dev/null", O_RDONLY);

			dup2(fd, 0);
		}
		dup2(outp[1], 1);
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 2);
		}
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(inp[0]);
	close(outp[1]);
	if (!in || inlen == 0) {
		close(inp[1]);
		inp[1] = -1;
	}
	sigaction(SIGPIPE, &ign, &old);
	fcntl(outp[0], F_SETFL, O_NONBLOCK);
	if (inp[1] >= 0)
		fcntl(inp[1], F_SETFL, O_NONBLOCK);
	while (outp[0] >= 0) {
		struct pollfd pfd[2] = {
			{ .fd = outp[0], .events = POLLIN },
			{ .fd = inp[1], .events = POLLOUT },
		};

		if (poll(pfd, inp[1] >= 0 ? 2 : 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (inp[1] >= 0 && pfd[1].revents) {
			ssize_t n = write(inp[1], (const char *)in + done, inlen - done);

			if (n > 0)
				done += (size_t)n;
			if ((n < 0 && errno != EAGAIN && errno != EINTR) || done == inlen) {
				close(inp[1]);
				inp[1] = -1;
			}
		}
		if (pfd[0].revents) {
			char buf[65536];
			ssize_t n = read(outp[0], buf, sizeof(buf));

			if (n > 0) {
				if (out && dbuf_add(out, buf, (size_t)n) < 0)
					ck_abort_msg("out of memory");
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(outp[0]);
				outp[0] = -1;
			}
		}
	}
	if (inp[1] >= 0)
		close(inp[1]);
	sigaction(SIGPIPE, &old, NULL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -1;
	return status;
}

int tu_run(const char *const argv[], const void *in, size_t inlen, struct dbuf *out)
{
	return run(argv, in, inlen, out, false);
}

int tu_run_quiet(const char *const argv[], struct dbuf *out)
{
	return run(argv, NULL, 0, out, true);
}

size_t tu_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	size_t n = 0;

	ck_assert_msg(d != NULL, "cannot open /proc/self/fd: %s", strerror(errno));
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own fd */
}

void tu_write_file(int dir_fd, const char *name, const void *data, size_t len)
{
	int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

	ck_assert_msg(fd >= 0, "create %s: %s", name, strerror(errno));
	ck_assert_msg(write(fd, data, len) == (ssize_t)len, "write %s: %s", name, strerror(errno));
	close(fd);
}

uint64_t tu_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

char *tu_hexdump(const void *p, size_t len)
{
	const unsigned char *u = p;
	struct dbuf b = DBUF_INIT;

	for (size_t i = 0; i < len; i++) {
		if (u[i] >= 0x20 && u[i] < 0x7f && u[i] != '\\')
			dbuf_addc(&b, (char)u[i]);
		else
			dbuf_addf(&b, "\\x%02x", u[i]);
	}
	return b.buf ? b.buf : strdup("");
}

/* ------------------------------------------------------------ temp dirs */

/* Detach every mount at or below @path (deepest first). */
static void umount_below(const char *path)
{
	size_t plen = strlen(path);

	for (int pass = 0; pass < 16; pass++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		char line[8192], *found = NULL;

		if (!f)
			return;
		while (fgets(line, sizeof(line), f)) {
			char mnt[4096];

			/* id parent maj:min root mountpoint ... (octal escapes ignored:
			 * our directories have plain names) */
			if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
				continue;
			if (strncmp(mnt, path, plen) == 0 && (mnt[plen] == '/' || mnt[plen] == '\0')) {
				free(found);
				found = strdup(mnt);
			}
		}
		fclose(f);
		if (!found)
			return;
		umount2(found, MNT_DETACH);
		free(found);
	}
}

void tu_rm_rf(const char *path, bool clear_flags)
{
	struct stat st;

	if (!path || lstat(path, &st) < 0)
		return;
	umount_below(path);
	if (geteuid() == 0 && S_ISDIR(st.st_mode)) {
		/* loop devices a test attached to images below @path */
		char *cmd = tu_strdupf("for f in '%s'/*/*.img '%s'/*.img; do [ -e \"$f\" ] && "
				       "losetup -j \"$f\" | cut -d: -f1 | xargs -r -n1 losetup -d; done; true",
				       path, path);
		const char *argv[] = { "sh", "-c", cmd, NULL };

		tu_run_quiet(argv, NULL);
		free(cmd);
	}
	if (clear_flags) {
		const char *argv[] = { "chattr", "-R", "-f", "-i", "-a", path, NULL };

		tu_run_quiet(argv, NULL);
	}
	if (S_ISDIR(st.st_mode)) {
		const char *argv[] = { "chmod", "-R", "u+rwx", path, NULL };

		tu_run_quiet(argv, NULL);
	}
	{
		const char *argv[] = { "rm", "-rf", "--", path, NULL };
		int status = tu_run(argv, NULL, 0, NULL);

		if (!tu_run_ok(status))
			fprintf(stderr, "# warning: could not remove %s\n", path);
	}
}

static void tmpdir_setup(void)
{
	char tmpl[] = "/tmp/vaudit-unit-XXXXXX";

	if (!mkdtemp(tmpl)) {
		fprintf(stderr, "mkdtemp %s: %s\n", tmpl, strerror(errno));
		exit(EXIT_FAILURE);
	}
	tu_tmpdir = strdup(tmpl);
}

static void tmpdir_teardown(void)
{
	tu_rm_rf(tu_tmpdir, false);
	free(tu_tmpdir);
	tu_tmpdir = NULL;
}

static void tmpdir_teardown_flags(void)
{
	tu_rm_rf(tu_tmpdir, true);
	free(tu_tmpdir);
	tu_tmpdir = NULL;
}

void tu_tcase_tmpdir(TCase *tc, bool clear_flags)
{
	tcase_add_unchecked_fixture(tc, tmpdir_setup, clear_flags ? tmpdir_teardown_flags : tmpdir_teardown);
}

char *tu_subdir(const char *tag)
{
	char *p;

	ck_assert_msg(tu_tmpdir != NULL, "TCase has no temporary directory");
	p = tu_strdupf("%s/%s.XXXXXX", tu_tmpdir, tag);
	ck_assert_msg(mkdtemp(p) != NULL, "mkdtemp %s: %s", p, strerror(errno));
	return p;
}

/* ------------------------------------------------------------ running */

static void skipped(int i)
{
	(void)i;
}

void tu_add_test(TCase *tc, const TTest *t, const char *skip_reason)
{
	TTest *s;

	if (!skip_reason) {
		tcase_add_test(tc, t);
		return;
	}
	/* TAP: "ok N - file:tcase:name # SKIP reason: Passed" */
	s = calloc(1, sizeof(*s));
	if (!s || asprintf((char **)&s->name, "%s # SKIP %s", t->name, skip_reason) < 0)
		abort();
	s->fn = skipped;
	s->file = t->file;
	s->line = t->line;
	tcase_add_test(tc, s);
}

int tu_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	/* TAP on stdout, nothing else there, whatever the environment says. */
	srunner_set_tap(sr, "-");
	fflush(NULL);
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

const char *tu_why_not_mount(void)
{
	char tmpl[] = "/tmp/vaudit-unit-probe-XXXXXX";
	const char *why = NULL;

	if (geteuid() != 0)
		return "not root";
	if (!mkdtemp(tmpl))
		return "cannot create a directory in /tmp";
	if (mount("tmpfs", tmpl, "tmpfs", 0, "size=1m") < 0)
		why = "cannot mount tmpfs";
	else
		umount2(tmpl, MNT_DETACH);
	rmdir(tmpl);
	return why;
}

char *tu_deep_chain(int dfd, size_t depth)
{
	char *path = malloc(depth * 3 + 1), *p = path;
	int fd = dup(dfd);

	ck_assert_ptr_nonnull(path);
	for (size_t i = 0; i < depth; i++) {
		int next;

		ck_assert(mkdirat(fd, "dd", 0755) == 0);
		next = openat(fd, "dd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(next, 0);
		close(fd);
		fd = next;
		p += sprintf(p, i ? "/dd" : "dd");
	}
	tu_write_file(fd, "f", "deep", 4);
	close(fd);
	return path;
}
