// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vmount-state.c - vmount's state files and locks (vmount-state.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/kit.h"
#include "cli/vmount-state.h"
#include "core/dbuf.h"
#include "core/safeopen.h"

#define STATE_MAX (1024 * 1024)

static int state_fd = -1;

int vms_dir_fd(void)
{
	return state_fd;
}

/*
 * Tests only: VMOUNT_TEST_DIE_AT=N kills the run (SIGKILL) at its Nth
 * crash point: a state file written but not yet renamed, a mount
 * attached but not yet recorded.  Every crash a run can meet, one by one.
 */
void vms_crash_point(void)
{
	static long n = -1, at;

	if (n < 0) {
		const char *e = getenv("VMOUNT_TEST_DIE_AT");

		n = 0;
		at = e ? strtol(e, NULL, 10) : 0;
	}
	if (at > 0 && ++n == at)
		raise(SIGKILL);
}

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

void vms_name(char out[32], char kind, const char *key)
{
	snprintf(out, 32, "%c-%016" PRIx64, kind, fnv(key));
}

/* Append @s escaped: bytes <= ' ', 0x7f and '%' as %XX.  Return: 0 or -ENOMEM. */
static int esc(struct dbuf *b, const char *s)
{
	int r = 0;

	if (!*s)
		r |= dbuf_adds(b, "%");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == 0x7f || c == '%')
			r |= dbuf_addf(b, "%%%02X", c);
		else
			r |= dbuf_addc(b, (char)c);
	}
	return r ? -ENOMEM : 0;
}

static char *unesc(const char *s)
{
	char *o = malloc(strlen(s) + 1), *p = o;

	if (!o)
		return NULL;
	if (strcmp(s, "%") == 0) {
		*o = '\0';
		return o;
	}
	for (; *s; s++) {
		unsigned v;

		if (*s == '%' && sscanf(s + 1, "%2x", &v) == 1 && v > 0) {
			*p++ = (char)v;
			s += 2;
		} else {
			*p++ = *s;
		}
	}
	*p = '\0';
	return o;
}

void vms_mrec_release(struct mrec *m)
{
	free(m->id);
	free(m->type);
	free(m->where);
	memset(m, 0, sizeof(*m));
}

void vms_gstate_release(struct gstate *g)
{
	free(g->guest);
	free(g->config);
	for (size_t i = 0; i < g->nm; i++)
		vms_mrec_release(&g->m[i]);
	free(g->m);
	for (size_t i = 0; i < g->nu; i++)
		free(g->uses[i]);
	free(g->uses);
	memset(g, 0, sizeof(*g));
}

void vms_sstate_release(struct sstate *s)
{
	free(s->key);
	vms_mrec_release(&s->m);
	for (size_t i = 0; i < s->nusers; i++)
		free(s->users[i]);
	free(s->users);
	memset(s, 0, sizeof(*s));
}

static int put_mrec(struct dbuf *b, const char *tag, const struct mrec *m)
{
	int r = dbuf_addf(b, "%s ", tag);

	r |= esc(b, m->id);
	r |= dbuf_addc(b, ' ');
	r |= esc(b, m->type);
	r |= dbuf_addf(b, " %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " ", m->done ? "done" : "pending",
		       m->under.id, m->under.uniq, m->mnt.id, m->mnt.uniq);
	r |= esc(b, m->where);
	r |= dbuf_addc(b, '\n');
	return r ? -ENOMEM : 0;
}

/* Parse "ID TYPE STATE UNDER UUNDER MNT UMNT WHERE" (after the tag). */
static int get_mrec(char *rest, struct mrec *m)
{
	char id[4096], type[64], st[16], where[8192];
	uint64_t a, b, c, d;

	if (sscanf(rest, "%4095s %63s %15s %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %8191s", id, type, st,
		   &a, &b, &c, &d, where) != 8)
		return -EINVAL;
	m->id = unesc(id);
	m->type = unesc(type);
	m->where = unesc(where);
	m->done = strcmp(st, "done") == 0;
	m->under = (struct vm_mntid){ a, b };
	m->mnt = (struct vm_mntid){ c, d };
	return m->id && m->type && m->where ? 0 : -ENOMEM;
}

static int write_state(const char *name, const struct dbuf *b)
{
	char tmp[64];
	int fd, r = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, b->buf, b->len) != (ssize_t)b->len || fsync(fd) < 0)
		r = errno ? -errno : -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	vms_crash_point();
	if (r == 0 && renameat(state_fd, tmp, state_fd, name) < 0)
		r = -errno;
	if (r == 0 && fsync(state_fd) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(state_fd, tmp, 0);
	return r;
}

int vms_remove(const char *name)
{
	char tmp[64];

	/* and a copy a killed run left half written */
	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	unlinkat(state_fd, tmp, 0);
	if (unlinkat(state_fd, name, 0) < 0 && errno != ENOENT)
		return -errno;
	fsync(state_fd);
	return 0;
}

/* Read state file @name into @b (empty when there is none). */
static int read_state(const char *name, struct dbuf *b)
{
	int fd = openat(state_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = dbuf_read_fd(b, fd, STATE_MAX);
	close(fd);
	return r;
}

/* Split @b into lines, calling @fn on each (tag, rest). */
static int each_line(struct dbuf *b, int (*fn)(void *, const char *, char *), void *user)
{
	char *p = b->buf, *end = b->buf + b->len;

	while (p && p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *sp;
		int r;

		if (!nl)
			return -EINVAL;
		*nl = '\0';
		sp = strchr(p, ' ');
		if (sp)
			*sp++ = '\0';
		if ((r = fn(user, p, sp ? sp : nl)) < 0)
			return r;
		p = nl + 1;
	}
	return 0;
}

int vms_add_str(char ***arr, size_t *n, size_t *cap, const char *s)
{
	char *d = strdup(s);

	if (!d || va_array_grow(arr, cap, *n, sizeof(**arr)) < 0) {
		free(d);
		return -ENOMEM;
	}
	(*arr)[(*n)++] = d;
	return 0;
}

static int g_line(void *user, const char *tag, char *rest)
{
	struct gstate *g = user;

	if (strcmp(tag, "vmount-guest") == 0)
		return strcmp(rest, "1") == 0 ? 0 : -EINVAL;
	if (strcmp(tag, "guest") == 0)
		return (g->guest = unesc(rest)) ? 0 : -ENOMEM;
	if (strcmp(tag, "config") == 0)
		return (g->config = unesc(rest)) ? 0 : -ENOMEM;
	if (strcmp(tag, "mount") == 0) {
		if (va_array_grow(&g->m, &g->mcap, g->nm, sizeof(*g->m)) < 0)
			return -ENOMEM;
		memset(&g->m[g->nm], 0, sizeof(*g->m));
		g->nm++;
		return get_mrec(rest, &g->m[g->nm - 1]);
	}
	if (strcmp(tag, "use") == 0) {
		char *k = unesc(rest);
		int r = k ? vms_add_str(&g->uses, &g->nu, &g->ucap, k) : -ENOMEM;

		free(k);
		return r;
	}
	return -EINVAL;
}

static int s_line(void *user, const char *tag, char *rest)
{
	struct sstate *s = user;

	if (strcmp(tag, "vmount-shared") == 0)
		return strcmp(rest, "1") == 0 ? 0 : -EINVAL;
	if (strcmp(tag, "key") == 0)
		return (s->key = unesc(rest)) ? 0 : -ENOMEM;
	if (strcmp(tag, "mount") == 0) {
		vms_mrec_release(&s->m);
		s->has = true;
		return get_mrec(rest, &s->m);
	}
	if (strcmp(tag, "user") == 0) {
		char *k = unesc(rest);
		int r = k ? vms_add_str(&s->users, &s->nusers, &s->ucap, k) : -ENOMEM;

		free(k);
		return r;
	}
	return -EINVAL;
}

int vms_load_gstate(const char *name, struct gstate *g)
{
	struct dbuf b = DBUF_INIT;
	int r = read_state(name, &b);

	if (r == 0)
		r = each_line(&b, g_line, g);
	dbuf_release(&b);
	return r;
}

int vms_load_sstate(const char *name, struct sstate *s)
{
	struct dbuf b = DBUF_INIT;
	int r = read_state(name, &b);

	if (r == 0)
		r = each_line(&b, s_line, s);
	dbuf_release(&b);
	return r;
}

int vms_save_gstate(const char *name, const struct gstate *g)
{
	struct dbuf b = DBUF_INIT;
	int r;

	if (g->nm == 0 && g->nu == 0)
		return vms_remove(name);
	/* a state written whole or not at all: never a part of it */
	r = dbuf_adds(&b, "vmount-guest 1\nguest ");
	r |= esc(&b, g->guest);
	r |= dbuf_adds(&b, "\nconfig ");
	r |= esc(&b, g->config ? g->config : "");
	r |= dbuf_addc(&b, '\n');
	for (size_t i = 0; i < g->nu; i++) {
		r |= dbuf_adds(&b, "use ");
		r |= esc(&b, g->uses[i]);
		r |= dbuf_addc(&b, '\n');
	}
	for (size_t i = 0; i < g->nm; i++)
		r |= put_mrec(&b, "mount", &g->m[i]);
	r = r ? -ENOMEM : write_state(name, &b);
	dbuf_release(&b);
	return r;
}

int vms_save_sstate(const char *name, const struct sstate *s)
{
	struct dbuf b = DBUF_INIT;
	int r;

	if (!s->has && s->nusers == 0)
		return vms_remove(name);
	r = dbuf_adds(&b, "vmount-shared 1\nkey ");
	r |= esc(&b, s->key);
	r |= dbuf_addc(&b, '\n');
	if (s->has)
		r |= put_mrec(&b, "mount", &s->m);
	for (size_t i = 0; i < s->nusers; i++) {
		r |= dbuf_adds(&b, "user ");
		r |= esc(&b, s->users[i]);
		r |= dbuf_addc(&b, '\n');
	}
	r = r ? -ENOMEM : write_state(name, &b);
	dbuf_release(&b);
	return r;
}

/* Open the state directory; made when missing unless @dry (then there is no state). */
int vms_open_dir(struct cli *cli, bool dry)
{
	const char *d = getenv("VMOUNT_STATE_DIR");

	if (!d || !*d)
		d = VMS_DEFAULT_DIR;
	if (dry) {
		state_fd = va_safeopen_at(AT_FDCWD, d, O_RDONLY | O_DIRECTORY, 0);
		return state_fd < 0 ? -1 : 0;
	}
	if (mkdir(d, 0700) < 0 && errno != EEXIST) {
		cli_msg(cli, d, "cannot create the state directory", strerror(errno));
		return -1;
	}
	state_fd = va_safeopen_at(AT_FDCWD, d, O_RDONLY | O_DIRECTORY, 0);
	if (state_fd < 0) {
		cli_msg(cli, d, "cannot open the state directory", strerror(-state_fd));
		return -1;
	}
	return 0;
}

/* Take the lock of state @name (waits for the run holding it).  Return: the fd, or -1. */
int vms_lock(struct cli *cli, const char *name)
{
	char lk[64];
	int fd;

	snprintf(lk, sizeof(lk), "%s.lock", name);
	fd = openat(state_fd, lk, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		cli_msg(cli, lk, "cannot take the lock", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

