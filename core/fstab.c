/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fstab.c - the fstab(5) reader of guest fstab files (see fstab.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dbuf.h"
#include "core/fstab.h"

/*
 * Filesystem types a guest fstab may name.  A fixed table, not the
 * kernel's /proc/filesystems: that lists what the running kernel has
 * built in or loaded, which says nothing about the kernel the guests
 * will run on (an old host's disk read under --host-root, a module not
 * loaded yet, a 2.4 type such as devfs or shm).  "none" (secure-mount's
 * "no type", used for binds), "bind"/"rbind" (mount(8) takes them as a
 * type), "auto" and "swap" (secure-mount skips swap lines) are accepted
 * too.  An unknown type is a warning, not a verdict.
 */
static const char *const known_types[] = {
	/* pseudo and memory filesystems */
	"proc", "sysfs", "tmpfs", "ramfs", "devpts", "devtmpfs", "devfs", "shm", "usbfs",
	"usbdevfs", "mqueue", "securityfs", "cgroup", "cgroup2", "debugfs", "tracefs",
	"hugetlbfs", "pstore", "binfmt_misc", "fusectl", "configfs", "autofs", "autofs4",
	"rpc_pipefs", "nfsd", "efivarfs", "bpf", "overlay", "overlayfs", "aufs", "unionfs",
	"fuse", "fuseblk",
	/* network filesystems (fstab.remote) */
	"nfs", "nfs4", "cifs", "smbfs", "smb3", "ncpfs", "coda", "afs", "9p", "ceph",
	"glusterfs", "sshfs", "davfs",
	/* disk filesystems */
	"ext2", "ext3", "ext4", "ext4dev", "xfs", "jfs", "reiserfs", "reiser4", "btrfs",
	"vfat", "msdos", "umsdos", "fat", "exfat", "ntfs", "ntfs3", "iso9660", "udf",
	"squashfs", "cramfs", "romfs", "hfs", "hfsplus", "minix", "f2fs", "ubifs", "jffs2",
	"zfs", "ocfs2", "gfs2", "nilfs2", "bcachefs", "erofs",
	/* not filesystems, but what secure-mount and mount(8) accept */
	"none", "bind", "rbind", "auto", "swap",
};

bool va_fstab_type_known(const char *type)
{
	for (size_t i = 0; i < sizeof(known_types) / sizeof(*known_types); i++)
		if (strcmp(type, known_types[i]) == 0)
			return true;
	/* FUSE subtypes: "fuse.sshfs" */
	return (strncmp(type, "fuse.", 5) == 0 || strncmp(type, "fuseblk.", 8) == 0) &&
	       strchr(type, '.')[1] != '\0';
}

bool va_fstab_has_option(const char *opts, const char *opt)
{
	size_t n = strlen(opt);

	for (const char *p = opts; p && *p;) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, opt, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

bool va_fstab_is_rbind(const struct va_fstab_entry *e)
{
	return strcmp(e->type, "rbind") == 0 || va_fstab_has_option(e->opts, "rbind");
}

bool va_fstab_is_bind(const struct va_fstab_entry *e)
{
	return strcmp(e->type, "bind") == 0 || va_fstab_has_option(e->opts, "bind") ||
	       va_fstab_is_rbind(e);
}

bool va_fstab_is_ro(const struct va_fstab_entry *e)
{
	bool ro = false;

	for (const char *p = e->opts; *p;) {
		size_t len = strcspn(p, ",");

		if (len == 2 && (strncmp(p, "ro", 2) == 0 || strncmp(p, "rw", 2) == 0))
			ro = p[1] == 'o';
		p += len;
		if (*p == ',')
			p++;
	}
	return ro;
}

/* ------------------------------------------------------------------ paths */

char *va_fstab_norm_dst(const char *dst, bool *climbs)
{
	struct dbuf b = DBUF_INIT;
	const char *p = dst;

	if (climbs)
		*climbs = false;
	while (*p) {
		size_t len;

		p += strspn(p, "/");
		len = strcspn(p, "/");
		if (len == 0)
			break;
		if (len == 1 && p[0] == '.') {
			/* nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = b.len ? memrchr(b.buf, '/', b.len) : NULL;

			if (slash)
				dbuf_setlen(&b, (size_t)(slash - b.buf));
			else if (climbs)
				*climbs = true;
		} else if (dbuf_addc(&b, '/') < 0 || dbuf_add(&b, p, len) < 0) {
			dbuf_release(&b);
			return NULL;
		}
		p += len;
	}
	if (b.len == 0 && dbuf_addc(&b, '/') < 0)
		return NULL;
	return b.buf;
}

bool va_fstab_path_below(const char *p, const char *dir, bool or_equal)
{
	size_t n = strlen(dir);

	if (strcmp(p, dir) == 0)
		return or_equal;
	if (n == 1 && dir[0] == '/')
		return p[0] == '/';
	return strncmp(p, dir, n) == 0 && p[n] == '/';
}

/* ------------------------------------------------------------------ parsing */

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool octal(char c)
{
	return c >= '0' && c <= '7';
}

/*
 * Decode one field (@len bytes at @s) into a string the caller frees.  Return: the
 * string, NULL with *@bad set for a bad escape (its message), or NULL
 * without (out of memory).
 */
static char *decode(const char *s, size_t len, const char **bad)
{
	char *out = malloc(len + 1), *o = out;

	*bad = NULL;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned v;

		if (s[i] != '\\') {
			*o++ = s[i];
			continue;
		}
		if (len - i < 4 || !octal(s[i + 1]) || !octal(s[i + 2]) || !octal(s[i + 3])) {
			*bad = "a backslash not followed by three octal digits (write \\134 for a backslash)";
			break;
		}
		v = (unsigned)(s[i + 1] - '0') * 64 + (unsigned)(s[i + 2] - '0') * 8 +
		    (unsigned)(s[i + 3] - '0');
		if (v == 0 || v > 0377) {
			*bad = v ? "an octal escape above \\377" : "an octal escape of a NUL byte (\\000)";
			break;
		}
		*o++ = (char)v;
		i += 3;
	}
	if (*bad) {
		free(out);
		return NULL;
	}
	*o = '\0';
	return out;
}

static bool decimal(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static void free_entry(struct va_fstab_entry *e)
{
	free(e->src);
	free(e->dst);
	free(e->type);
	free(e->opts);
}

static const char *const field_names[] = { "source", "destination", "type", "options" };

/* One line (@len bytes, no newline).  Return: 0, or the negative errno that stops. */
static int parse_line(struct va_fstab *t, const char *s, size_t len, unsigned line,
		      va_fstab_warn_fn *warn, void *user)
{
	const char *field[7];
	size_t flen[7], n = 0, i = 0;
	struct va_fstab_entry e = { .line = line };
	char msg[160];
	const char *bad = NULL;

	while (i < len && blank(s[i]))
		i++;
	if (i == len || s[i] == '#')
		return 0;
	if (memchr(s, '\0', len)) {
		bad = "a NUL byte in the line";
		goto warn;
	}
	while (i < len) {
		size_t start = i;

		while (i < len && !blank(s[i]))
			i++;
		if (n < 7) {
			field[n] = s + start;
			flen[n] = i - start;
		}
		n++;
		while (i < len && blank(s[i]))
			i++;
	}
	if (n < 4 || n > 6) {
		snprintf(msg, sizeof(msg), "%zu field%s, not 4 to 6 (source, destination, type, options, "
			 "and optionally dump and pass)%s", n, n == 1 ? "" : "s",
			 n < 4 ? ": secure-mount stops here, this line and all later ones are not mounted" :
			 "");
		bad = msg;
		goto warn;
	}
	for (size_t k = 4; k < n; k++)
		if (!decimal(field[k], flen[k])) {
			snprintf(msg, sizeof(msg), "the %s field is not a decimal number",
				 k == 4 ? "fifth (dump)" : "sixth (pass)");
			bad = msg;
			goto warn;
		}
	{
		char **out[4] = { &e.src, &e.dst, &e.type, &e.opts };

		for (size_t k = 0; k < 4; k++) {
			const char *why;

			*out[k] = decode(field[k], flen[k], &why);
			if (!*out[k]) {
				if (!why) {
					free_entry(&e);
					return -ENOMEM;
				}
				snprintf(msg, sizeof(msg), "the %s field has %s", field_names[k], why);
				bad = msg;
				goto warn;
			}
		}
	}
	if (e.opts[0] == ',' || e.opts[strlen(e.opts) - 1] == ',' || strstr(e.opts, ",,")) {
		bad = "an empty option in the options field (\",,\" or a comma at either end)";
		goto warn;
	}
	if (va_array_grow(&t->entries, &t->cap, t->n, sizeof(*t->entries)) < 0) {
		free_entry(&e);
		return -ENOMEM;
	}
	e.nfields = (int)n;
	t->entries[t->n++] = e;
	return 0;
warn:
	free_entry(&e);
	return warn ? warn(line, bad, user) : 0;
}

int va_fstab_parse(struct va_fstab *t, const char *buf, size_t len, va_fstab_warn_fn *warn,
		   void *user)
{
	unsigned line = 0;
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		int r;

		line++;
		if ((r = parse_line(t, buf + pos, n, line, warn, user)) < 0)
			return r;
		pos += n + 1;
	}
	return 0;
}

void va_fstab_release(struct va_fstab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free_entry(&t->entries[i]);
	free(t->entries);
	t->entries = NULL;
	t->n = t->cap = 0;
}
