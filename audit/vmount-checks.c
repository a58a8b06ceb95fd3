// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vmount-checks.c - vmount's configuration files as vaudit audits them
 * (va_audit_vmount(), audit.h).
 *
 * Every regular file of VA_VMOUNT_DIR (inside the host root, resolved like
 * the rest of the configuration) is a configuration vmount may be given.
 * Each is loaded with vmount's own reader (core/mountconf.h), so what is
 * reported is exactly what vmount would refuse, at the FILE:LINE it would
 * name.  A configuration that loads is then held against this host: the
 * host sources of its bind, auto and image entries must exist, the last
 * two as a block device or a regular file.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/dbuf.h"
#include "core/message.h"
#include "core/mountconf.h"
#include "core/vsconfig.h"

struct vc {
	const struct va_audit_args *args;
	struct va_audit_stats *stats;
	struct dbuf seen;       /* "PATH:LINE\0..." already reported */
	int err;
};

/* Report @path:@line once (a file several configurations name is loaded with each). */
static void report(struct vc *vc, const char *path, unsigned line, const char *detail)
{
	struct dbuf key = DBUF_INIT;

	if (vc->err)
		return;
	if (dbuf_addf(&key, "%s:%u", path, line) < 0) {
		vc->err = -ENOMEM;
		return;
	}
	for (size_t off = 0; off < vc->seen.len; off += strlen(vc->seen.buf + off) + 1)
		if (strcmp(vc->seen.buf + off, key.buf) == 0) {
			dbuf_release(&key);
			return;
		}
	if (dbuf_add(&vc->seen, key.buf, key.len + 1) < 0)
		vc->err = -ENOMEM;
	else
		vc->err = va_audit_config_finding(vc->args, vc->stats, VA_KIND_CONFIG_VMOUNT_INVALID, -1, -1,
						  path, line, detail);
	dbuf_release(&key);
}

/* A load error: its path is "PREFIX/FILE:LINE" or "PREFIX/FILE". */
static void load_failed(struct vc *vc, const struct va_error *e)
{
	struct dbuf path = DBUF_INIT, detail = DBUF_INIT;
	const char *p = dbuf_str(&e->path), *colon = strrchr(p, ':');
	unsigned line = 0;

	if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1) &&
	    strlen(colon + 1) < 10) {
		line = (unsigned)strtoul(colon + 1, NULL, 10);
		(void)dbuf_add(&path, p, (size_t)(colon - p));
	} else {
		(void)dbuf_adds(&path, p);
	}
	if (dbuf_addf(&detail, "vmount refuses it: %s%s%s", e->what,
		      e->why || e->code ? ": " : "",
		      e->why ? e->why : e->code ? strerror((int)e->code) : "") < 0 || !path.buf)
		vc->err = -ENOMEM;
	else
		report(vc, path.buf, line, detail.buf);
	dbuf_release(&path);
	dbuf_release(&detail);
}

/* The host sources of a configuration that loads: each must be on this host. */
static void check_sources(struct vc *vc, const struct vm_conf *conf, const char *dir_real)
{
	const struct va_config *c = vc->args->config;

	for (size_t i = 0; i < conf->nentries && !vc->err; i++) {
		const struct vm_entry *e = &conf->entries[i];
		struct dbuf path = DBUF_INIT, detail = DBUF_INIT;
		int type, r = 0;

		if (e->src.kind != VM_REF_HOST ||
		    (e->type != VM_BIND && e->type != VM_AUTO && e->type != VM_IMAGE))
			continue;
		type = va_config_lookup(c, e->src.sub, NULL, NULL);
		if (type == -ENOMEM)
			r = -ENOMEM;
		else if (type < 0)
			r = dbuf_addf(&detail, "%s %s: its source %s is not on this host (%s)",
				      vm_type_name(e->type), e->name, e->src.sub, va_config_strerror(type));
		else if (e->type != VM_BIND && type != S_IFBLK && type != S_IFREG)
			r = dbuf_addf(&detail, "%s %s: its source %s is neither a block device nor a "
				      "filesystem image (a regular file)", vm_type_name(e->type), e->name,
				      e->src.sub);
		else if ((type = va_config_on_this_host(c, e->src.sub)) == -ENOMEM)
			r = -ENOMEM;
		else if (type == -ENOENT || type == -ENOTDIR)
			r = dbuf_addf(&detail, "%s %s: its source %s is in the host root but not on this "
				      "host: vmount fails here", vm_type_name(e->type), e->name, e->src.sub);
		if (r == 0 && detail.len && (r = dbuf_addf(&path, "%s/%s", dir_real, e->file)) == 0)
			report(vc, path.buf, e->line, detail.buf);
		if (r < 0)
			vc->err = -ENOMEM;
		dbuf_release(&path);
		dbuf_release(&detail);
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the regular files of the directory open at @dfd, sorted; *@n of them. */
static char **list_files(int dfd, size_t *n, int *err)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	char **names = NULL;
	size_t cap = 0;
	struct dirent *de;

	*n = 0;
	if (!d) {
		*err = -errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] == '.' || fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (va_array_grow(&names, &cap, *n, sizeof(*names)) < 0 || !(names[*n] = strdup(de->d_name))) {
			*err = -ENOMEM;
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_names);
	return names;
}

int va_audit_vmount(const struct va_audit_args *args, struct va_audit_stats *stats)
{
	const struct va_config *c = args->config;
	struct vc vc = { .args = args, .stats = stats, .seen = DBUF_INIT };
	char **names = NULL, *dir_real = NULL, *prefix = NULL;
	size_t n = 0;
	int dfd;

	if (!c || !(args->kinds & VA_KIND_BIT(VA_KIND_CONFIG_VMOUNT_INVALID)))
		return 0;
	dir_real = va_config_real_path(c, VA_VMOUNT_DIR);
	if (!dir_real || asprintf(&prefix, "%s/", dir_real) < 0) {
		free(dir_real);
		return -ENOMEM;
	}
	dfd = va_config_open_dir(c, VA_VMOUNT_DIR);
	if (dfd == -ENOMEM) {
		vc.err = -ENOMEM;
	} else if (dfd < 0 && dfd != -ENOENT) {
		struct dbuf d = DBUF_INIT;

		if (dbuf_addf(&d, "vmount's configuration directory cannot be read: %s",
			      va_config_strerror(dfd)) < 0)
			vc.err = -ENOMEM;
		else
			report(&vc, dir_real, 0, d.buf);
		dbuf_release(&d);
	} else if (dfd >= 0) {
		names = list_files(dfd, &n, &vc.err);
		for (size_t i = 0; i < n && !vc.err; i++) {
			struct va_error e = VA_ERROR_INIT;
			struct vm_conf *conf = NULL;
			int r = vm_conf_load_at(&conf, dfd, prefix, names[i], &e);

			if (r == -ENOMEM)
				vc.err = -ENOMEM;
			else if (r < 0)
				load_failed(&vc, &e);
			else
				check_sources(&vc, conf, dir_real);
			vm_conf_free(conf);
			va_error_release(&e);
		}
		close(dfd);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(prefix);
	free(dir_real);
	dbuf_release(&vc.seen);
	return vc.err;
}
