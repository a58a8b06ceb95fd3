/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * output.c - finding writers: text (lsattr-like), NUL-separated paths and
 * JSON Lines.  Each finding is formatted into a buffer first and written
 * with one fwrite, so a failed write is detected per finding.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core/attr.h"
#include "core/dbuf.h"
#include "core/escape.h"
#include "core/finding.h"
#include "core/flags.h"

struct va_writer {
	enum va_format fmt;
	unsigned opts;
	FILE *fp;
	struct dbuf buf;
};

static const char *type_name(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:  return "file";
	case S_IFDIR:  return "dir";
	case S_IFLNK:  return "symlink";
	case S_IFCHR:  return "chardev";
	case S_IFBLK:  return "blockdev";
	case S_IFIFO:  return "fifo";
	case S_IFSOCK: return "socket";
	default:       return "unknown";
	}
}

/* ------------------------------------------------------------------ text */

/* A detail sentence: as is when it is plain ASCII, else shell-escaped whole. */
static int add_detail(struct dbuf *out, const char *d)
{
	for (const char *p = d; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			return va_escape_shell(out, d, strlen(d));
	return dbuf_adds(out, d);
}

/* @s, then blanks up to @width, then one blank (printf's "%-*s "). */
static int add_column(struct dbuf *out, const char *s, size_t width)
{
	size_t len = strlen(s), pad = (len < width ? width - len : 0) + 1;

	if (dbuf_reserve(out, len + pad) < 0)
		return -ENOMEM;
	memcpy(out->buf + out->len, s, len);
	memset(out->buf + out->len + len, ' ', pad);
	out->len += len + pad;
	out->buf[out->len] = '\0';
	return 0;
}

static int format_text(struct dbuf *out, unsigned opts, const struct va_finding *f)
{
	char letters[VA_FLAGS_LETTERS_MAX], vs[5];
	int r;

	/* one finding a line, many thousands a run: no printf here */
	va_flags_letters_if(f->flags, f->flags_known & VA_KNOWN_EXT2, letters);
	r = add_column(out, va_kind_name(f->kind), 29);
	r |= add_column(out, va_severity_name(f->severity), 7);
	r |= add_column(out, letters, 0);
	r |= add_column(out, va_vsattr_letters(f->flags, f->flags_known & VA_KNOWN_EXT2,
					       f->flags_known & VA_KNOWN_VS26, vs), 0);
	r |= va_escape_shell(out, f->where.path, f->where.path_len);
	if (f->line)
		r |= dbuf_addf(out, ":%u", f->line);
	if (f->detail) {
		r |= dbuf_adds(out, ": ");
		r |= add_detail(out, f->detail);
	}
	r |= dbuf_addc(out, '\n');
	if (opts & VA_WRITER_VERBOSE) {
		for (size_t i = 0; i < f->nothers; i++) {
			r |= dbuf_adds(out, "    also: ");
			r |= va_escape_shell(out, f->others[i].path, f->others[i].path_len);
			r |= dbuf_addc(out, '\n');
		}
		if (f->nothers)
			r |= dbuf_addf(out, "    inode %llu, %u links, names in %zu guests\n",
				       (unsigned long long)f->ino, f->nlink, f->nguests);
		r |= dbuf_addf(out, "    why: %s\n", va_kind_why(f->kind));
	}
	return r ? -ENOMEM : 0;
}

/* ------------------------------------------------------------------ JSON */

static int json_name(struct dbuf *out, const struct va_name *n)
{
	struct dbuf tmp = DBUF_INIT;
	int r;

	/* va_json_field() writes a leading comma; build the object without it. */
	r = va_json_field(&tmp, "guest", n->guest, n->guest_len);
	r |= va_json_field(&tmp, "path", n->path, n->path_len);
	if (r == 0)
		r = dbuf_addf(out, "{%s}", tmp.buf + 1);
	dbuf_release(&tmp);
	return r;
}

static int format_json(struct dbuf *out, const struct va_finding *f)
{
	char letters[VA_FLAGS_LETTERS_MAX], vs[5];
	int r;

	r = dbuf_addf(out, "{\"record\":\"finding\",\"version\":%d,\"kind\":\"%s\",\"severity\":\"%s\"",
		      VA_JSON_VERSION, va_kind_name(f->kind), va_severity_name(f->severity));
	r |= va_json_field(out, "root", f->root, f->root ? strlen(f->root) : 0);
	r |= va_json_field(out, "guest", f->where.guest, f->where.guest_len);
	r |= va_json_field(out, "path", f->where.path, f->where.path_len);
	if (!f->ino && !f->mode) /* a configuration finding: no inode */
		r |= dbuf_adds(out, ",\"dev\":null,\"ino\":null,\"nlink\":null,\"type\":null,\"mode\":null");
	else
		r |= dbuf_addf(out, ",\"dev\":\"%u:%u\",\"ino\":%llu,\"nlink\":%u,\"type\":\"%s\",\"mode\":\"%04o\"",
			       major(f->dev), minor(f->dev), (unsigned long long)f->ino, f->nlink,
			       type_name(f->mode), f->mode & 07777);
	if (f->flags_known)
		r |= dbuf_addf(out, ",\"flags\":\"0x%08x\",\"flags_text\":\"%s\"",
			       f->flags, va_flags_letters(f->flags, letters));
	else
		r |= dbuf_adds(out, ",\"flags\":null,\"flags_text\":null");
	r |= dbuf_addf(out, ",\"vs26_known\":%s,\"vsattr\":\"%s\"",
		       (f->flags_known & VA_KNOWN_VS26) ? "true" : "false",
		       va_vsattr_letters(f->flags, f->flags_known & VA_KNOWN_EXT2,
					 f->flags_known & VA_KNOWN_VS26, vs));
	if (f->has_proposal)
		r |= dbuf_addf(out, ",\"proposed_flags\":\"0x%08x\",\"proposed_mode\":\"%04o\"",
			       f->new_flags, f->new_mode & 07777);
	if (f->nothers) {
		r |= dbuf_addf(out, ",\"nguests\":%zu,\"names\":[", f->nguests);
		r |= json_name(out, &f->where);
		for (size_t i = 0; i < f->nothers; i++) {
			r |= dbuf_addc(out, ',');
			r |= json_name(out, &f->others[i]);
		}
		r |= dbuf_addc(out, ']');
	}
	if (f->line)
		r |= dbuf_addf(out, ",\"line\":%u", f->line);
	if (f->detail)
		r |= va_json_field(out, "detail", f->detail, strlen(f->detail));
	r |= dbuf_adds(out, ",\"message\":");
	r |= va_escape_json(out, va_kind_why(f->kind), strlen(va_kind_why(f->kind)));
	r |= dbuf_adds(out, "}\n");
	return r ? -ENOMEM : 0;
}

/* ------------------------------------------------------------------ API */

int va_finding_format(struct dbuf *out, enum va_format fmt, unsigned opts, const struct va_finding *f)
{
	switch (fmt) {
	case VA_FMT_TEXT:
		return format_text(out, opts, f);
	case VA_FMT_NULL:
		return dbuf_add(out, f->where.path, f->where.path_len) | dbuf_addc(out, '\0') ? -ENOMEM : 0;
	case VA_FMT_JSON:
		return format_json(out, f);
	}
	return -EINVAL;
}

int va_writer_new(struct va_writer **ret, enum va_format fmt, FILE *fp, unsigned opts)
{
	struct va_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fmt = fmt;
	w->opts = opts;
	w->fp = fp;
	*ret = w;
	return 0;
}

int va_writer_write(struct va_writer *w, const struct va_finding *f)
{
	int r;

	dbuf_setlen(&w->buf, 0);
	r = va_finding_format(&w->buf, w->fmt, w->opts, f);
	if (r < 0)
		return r;
	errno = 0;
	if (fwrite(w->buf.buf, 1, w->buf.len, w->fp) != w->buf.len || ferror(w->fp))
		return errno ? -errno : -EIO;   /* the real cause: ENOSPC, EPIPE, ... */
	return 0;
}

void va_writer_free(struct va_writer *w)
{
	if (!w)
		return;
	dbuf_release(&w->buf);
	free(w);
}
