/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mountconf.c - the parser and the dependency graph of vmount's
 * configuration (see mountconf.h).
 *
 * Files are parsed whole, in the order they are first named; references
 * are kept as text until every file is in, then resolved; the plan is a
 * depth-first post-order of the main file's entries, which finds cycles
 * on the way (an entry met again while its own dependencies are visited).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/message.h"
#include "core/mountconf.h"
#include "core/safeopen.h"

/* A reference as written, until every file is loaded. */
struct pending {
	size_t entry;
	bool is_dst;
	char *file;             /* NULL: the entry's own file */
	char *name;
};

struct loader {
	struct vm_conf *c;
	vm_conf_read_fn *rd;
	void *user;
	struct va_error *err;
	struct lfile {
		char *name;
		char *from;     /* the file that named it first, or NULL */
		unsigned line;  /* and its line */
	} *files;               /* loaded or queued */
	size_t nfiles;
	bool reading;           /* a read error is being reported */
	struct pending *pend;
	size_t npend, pcap;
};

static const char *const type_names[] = {
	[VM_BIND] = "bind", [VM_TMPFS] = "tmpfs", [VM_SHARE] = "share",
	[VM_AUTO] = "auto", [VM_IMAGE] = "image",
};

static const struct {
	const char *name;
	unsigned attr;
} attr_names[] = {
	{ "ro", VM_ATTR_RDONLY }, { "nosuid", VM_ATTR_NOSUID }, { "nodev", VM_ATTR_NODEV },
	{ "noexec", VM_ATTR_NOEXEC }, { "noatime", VM_ATTR_NOATIME },
};

static const char *const fs_names[] = { "ext2", "ext3", "ext4", "squashfs", "erofs", "xfs", "btrfs" };

const char *vm_type_name(enum vm_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) ? type_names[t] : "?";
}

int vm_attr_text(struct dbuf *b, unsigned attrs)
{
	bool first = true;

	for (size_t i = 0; i < sizeof(attr_names) / sizeof(attr_names[0]); i++) {
		if (!(attrs & attr_names[i].attr))
			continue;
		if ((!first && dbuf_addc(b, ',') < 0) || dbuf_adds(b, attr_names[i].name) < 0)
			return -ENOMEM;
		first = false;
	}
	return 0;
}

/* Record "'PREFIX FILE:LINE': WHAT" (printf) in the loader's error; return @code. */
__attribute__((format(printf, 5, 6)))
static int fail(struct loader *l, int code, const char *file, unsigned line, const char *fmt, ...)
{
	struct dbuf p = DBUF_INIT;
	char what[VA_ERROR_WHAT];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	/* the words quoted from the file: one line of plain text */
	for (char *w = what; *w; w++)
		if ((unsigned char)*w < 0x20 || (unsigned char)*w >= 0x7f)
			*w = '?';
	if (line)
		dbuf_addf(&p, "%s%s:%u", l->c->prefix, file, line);
	else
		dbuf_addf(&p, "%s%s", l->c->prefix, file);
	/* the language's errors say it all; a file that cannot be read has a reason */
	va_error_set(l->err, code == -ENOMEM || code == -EIO || l->reading ? -code : 0,
		     dbuf_str(&p), p.len, what, NULL);
	dbuf_release(&p);
	return code;
}

static bool valid_name(const char *s, size_t len)
{
	static const char more[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-";

	if (len == 0 || len > VM_NAME_MAX || s[0] == '.' || s[0] == '+' || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!memchr(more, s[i], sizeof(more) - 1))
			return false;
	return true;
}

static bool reserved(const char *s, size_t len)
{
	return (len == 4 && memcmp(s, "DEST", 4) == 0) || (len == 4 && memcmp(s, "none", 4) == 0);
}

/*
 * Normalise the relative path @s (@len bytes) into a new string: "." and
 * empty components dropped, ".." refused.  Return: the string, or NULL
 * (*@why set; "" for ENOMEM).
 */
static char *norm_path(const char *s, size_t len, bool absolute, const char **why)
{
	struct dbuf b = DBUF_INIT;
	size_t i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && s[j] != '/')
			j++;
		if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') {
			*why = "'..' is not allowed in a path";
			dbuf_release(&b);
			return NULL;
		}
		if (j > i && !(j - i == 1 && s[i] == '.')) {
			if (((b.len || absolute) && dbuf_addc(&b, '/') < 0) || dbuf_add(&b, s + i, j - i) < 0)
				goto nomem;
		}
		i = j + 1;
	}
	if (absolute && b.len == 0 && dbuf_addc(&b, '/') < 0)
		goto nomem;
	if (!b.buf && dbuf_reserve(&b, 0) < 0)
		goto nomem;
	return b.buf;
nomem:
	dbuf_release(&b);
	*why = "";
	return NULL;
}

static int add_pending(struct loader *l, size_t entry, bool is_dst, const char *file, size_t flen,
		       const char *name, size_t nlen)
{
	struct pending *p;

	if (va_array_grow(&l->pend, &l->pcap, l->npend, sizeof(*l->pend)) < 0)
		return -ENOMEM;
	p = &l->pend[l->npend];
	p->entry = entry;
	p->is_dst = is_dst;
	p->file = file ? strndup(file, flen) : NULL;
	p->name = strndup(name, nlen);
	if ((file && !p->file) || !p->name) {
		free(p->file);
		free(p->name);
		return -ENOMEM;
	}
	l->npend++;
	return 0;
}

/* Queue file @name (@len bytes) for loading, once. */
static int want_file(struct loader *l, const char *name, size_t len, const char *file, unsigned line)
{
	struct lfile *n;

	for (size_t i = 0; i < l->nfiles; i++)
		if (strlen(l->files[i].name) == len && memcmp(l->files[i].name, name, len) == 0)
			return 0;
	if (l->nfiles >= VM_FILES_MAX)
		return fail(l, -E2BIG, file, line, "more than %d configuration files", VM_FILES_MAX);
	n = realloc(l->files, (l->nfiles + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	l->files = n;
	n[l->nfiles].line = line;
	n[l->nfiles].from = NULL;
	if (!(n[l->nfiles].name = strndup(name, len)) || (line && !(n[l->nfiles].from = strdup(file)))) {
		free(n[l->nfiles].name);
		return -ENOMEM;
	}
	l->nfiles++;
	return 0;
}

/*
 * Parse place @tok (@len bytes) of entry @ei, its SOURCE or DEST, into
 * @r; an entry reference is queued.
 */
static int parse_ref(struct loader *l, size_t ei, bool is_dst, const char *tok, size_t len,
		     struct vm_ref *r)
{
	struct vm_entry *e = &l->c->entries[ei];
	const char *what = is_dst ? "destination" : "source";
	const char *slash = memchr(tok, '/', len), *colon, *why = NULL;
	size_t head = slash ? (size_t)(slash - tok) : len;
	const char *sub = slash ? slash + 1 : tok + len;
	size_t sublen = len - (size_t)(sub - tok);

	if (len == 4 && memcmp(tok, "none", 4) == 0) {
		r->kind = VM_REF_NONE;
		r->sub = strdup("");
		return r->sub ? 0 : -ENOMEM;
	}
	if (tok[0] == '/') {
		r->kind = VM_REF_HOST;
		if (!(r->sub = norm_path(tok, len, true, &why)))
			return *why ? fail(l, -EINVAL, e->file, e->line, "%s '%.*s': %s", what, (int)len,
					   tok, why) : -ENOMEM;
		return 0;
	}
	if (!(r->sub = norm_path(sub, sublen, false, &why)))
		return *why ? fail(l, -EINVAL, e->file, e->line, "%s '%.*s': %s", what, (int)len, tok,
				   why) : -ENOMEM;
	if (head == 4 && memcmp(tok, "DEST", 4) == 0) {
		if (!is_dst)
			return fail(l, -EINVAL, e->file, e->line,
				    "source '%.*s': a source cannot be in the guest", (int)len, tok);
		r->kind = VM_REF_GUEST;
		return 0;
	}
	r->kind = VM_REF_ENTRY;
	colon = memchr(tok, ':', head);
	if (colon) {
		size_t flen = (size_t)(colon - tok), nlen = head - flen - 1;

		if (!valid_name(tok, flen) || !valid_name(colon + 1, nlen) || reserved(colon + 1, nlen))
			return fail(l, -EINVAL, e->file, e->line,
				    "%s '%.*s': not FILE:ENTRY, ENTRY, DEST or an absolute path", what,
				    (int)len, tok);
		int wr = want_file(l, tok, flen, e->file, e->line);

		if (wr < 0)
			return wr;
		return add_pending(l, ei, is_dst, tok, flen, colon + 1, nlen);
	}
	if (!valid_name(tok, head) || reserved(tok, head))
		return fail(l, -EINVAL, e->file, e->line,
			    "%s '%.*s': not FILE:ENTRY, ENTRY, DEST or an absolute path", what, (int)len, tok);
	return add_pending(l, ei, is_dst, NULL, 0, tok, head);
}

static bool tok_is(const char *tok, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(tok, s, len) == 0;
}

static int parse_option(struct loader *l, struct vm_entry *e, const char *tok, size_t len,
			unsigned *seen)
{
	const char *sep = NULL, *v;
	size_t klen, vlen;

	for (size_t i = 0; i + 1 < len; i++)
		if (tok[i] == ':' && tok[i + 1] == ':') {
			sep = tok + i;
			break;
		}
	if (!sep)
		return fail(l, -EINVAL, e->file, e->line, "'%.*s' is not KEY::VALUE", (int)len, tok);
	klen = (size_t)(sep - tok);
	v = sep + 2;
	vlen = len - klen - 2;
	if (vlen == 0)
		return fail(l, -EINVAL, e->file, e->line, "option '%.*s' has no value", (int)klen, tok);
	if (tok_is(tok, klen, "options")) {
		if (*seen & 1)
			goto twice;
		*seen |= 1;
		for (size_t i = 0; i < vlen;) {
			size_t j = i, k;

			while (j < vlen && v[j] != ',')
				j++;
			if (tok_is(v + i, j - i, "rw")) {
				e->attrs &= ~(unsigned)VM_ATTR_RDONLY;
			} else {
				for (k = 0; k < sizeof(attr_names) / sizeof(attr_names[0]); k++)
					if (tok_is(v + i, j - i, attr_names[k].name))
						break;
				if (k == sizeof(attr_names) / sizeof(attr_names[0]))
					return fail(l, -EINVAL, e->file, e->line,
						    "unknown mount option '%.*s' (ro, rw, nosuid, nodev, noexec, noatime)",
						    (int)(j - i > 32 ? 32 : j - i), v + i);
				e->attrs |= attr_names[k].attr;
			}
			i = j + 1;
		}
		if (e->type == VM_IMAGE && !(e->attrs & VM_ATTR_RDONLY))
			return fail(l, -EINVAL, e->file, e->line, "an image is always mounted read-only");
		return 0;
	}
	if (tok_is(tok, klen, "size")) {
		size_t d = strspn(v, "0123456789");

		if (e->type != VM_TMPFS)
			return fail(l, -EINVAL, e->file, e->line, "size:: is for tmpfs only");
		if (e->size)
			goto twice;
		if (d == 0 || d > 18 || !(d == vlen || (d + 1 == vlen && strchr("kKmMgG%", v[d]))))
			return fail(l, -EINVAL, e->file, e->line,
				    "size::%.*s: not a size (N, Nk, Nm, Ng or N%%)", (int)(vlen > 32 ? 32 : vlen), v);
		return (e->size = strndup(v, vlen)) ? 0 : -ENOMEM;
	}
	if (tok_is(tok, klen, "copy")) {
		if (e->type != VM_TMPFS)
			return fail(l, -EINVAL, e->file, e->line, "copy:: is for tmpfs only");
		if (*seen & 2)
			goto twice;
		*seen |= 2;
		if (!tok_is(v, vlen, "dest"))
			return fail(l, -EINVAL, e->file, e->line, "copy:: takes 'dest' only");
		e->copy_dest = true;
		return 0;
	}
	if (tok_is(tok, klen, "fs")) {
		if (e->type != VM_AUTO && e->type != VM_IMAGE)
			return fail(l, -EINVAL, e->file, e->line, "fs:: is for auto and image only");
		if (e->fstype)
			goto twice;
		for (size_t k = 0; k < sizeof(fs_names) / sizeof(fs_names[0]); k++)
			if (tok_is(v, vlen, fs_names[k]))
				return (e->fstype = strdup(fs_names[k])) ? 0 : -ENOMEM;
		return fail(l, -EINVAL, e->file, e->line,
			    "fs::%.*s: unknown filesystem (ext2, ext3, ext4, squashfs, erofs, xfs, btrfs)",
			    (int)(vlen > 32 ? 32 : vlen), v);
	}
	return fail(l, -EINVAL, e->file, e->line, "unknown option '%.*s' (options, size, copy, fs)",
		    (int)(klen > 32 ? 32 : klen), tok);
twice:
	return fail(l, -EINVAL, e->file, e->line, "option '%.*s' given twice", (int)klen, tok);
}

static void entry_release(struct vm_entry *e)
{
	free(e->file);
	free(e->name);
	free(e->id);
	free(e->src.sub);
	free(e->dst.sub);
	free(e->src_text);
	free(e->dst_text);
	free(e->size);
	free(e->fstype);
	free(e->where);
}

/* Parse line @lineno (@s, @len bytes, no newline) of @file. */
static int parse_line(struct loader *l, const char *file, unsigned lineno, const char *s, size_t len)
{
	struct vm_conf *c = l->c;
	const char *tok[4];
	size_t tlen[4], n = 0, i = 0;
	struct vm_entry *e;
	unsigned seen = 0;
	size_t ei;
	int r, t;

	for (size_t k = 0; k < len; k++) {
		unsigned char ch = (unsigned char)s[k];

		if (ch == 0)
			return fail(l, -EINVAL, file, lineno, "a NUL byte");
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return fail(l, -EINVAL, file, lineno, "a control character (0x%02x)", ch);
	}
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == len || s[i] == '#')
		return 0;
	for (; n < 4; n++) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			break;
		tok[n] = s + i;
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		tlen[n] = (size_t)(s + i - tok[n]);
	}
	if (n < 4)
		return fail(l, -EINVAL, file, lineno, "expected NAME TYPE SOURCE DEST [KEY::VALUE]...");
	if (!valid_name(tok[0], tlen[0]) || reserved(tok[0], tlen[0]))
		return fail(l, -EINVAL, file, lineno,
			    "'%.*s' is not an entry name ([A-Za-z0-9_][A-Za-z0-9_.+-]*, at most %d bytes)",
			    (int)(tlen[0] > 32 ? 32 : tlen[0]), tok[0], VM_NAME_MAX);
	for (t = 0; t < (int)(sizeof(type_names) / sizeof(type_names[0])); t++)
		if (tok_is(tok[1], tlen[1], type_names[t]))
			break;
	if (t == (int)(sizeof(type_names) / sizeof(type_names[0])))
		return fail(l, -EINVAL, file, lineno, "unknown type '%.*s' (bind, tmpfs, share, auto, image)",
			    (int)(tlen[1] > 32 ? 32 : tlen[1]), tok[1]);
	for (size_t k = 0; k < c->nentries; k++)
		if (strcmp(c->entries[k].file, file) == 0 && tok_is(tok[0], tlen[0], c->entries[k].name))
			return fail(l, -EINVAL, file, lineno, "entry '%.*s' is already defined at line %u",
				    (int)tlen[0], tok[0], c->entries[k].line);
	if (c->nentries >= VM_ENTRIES_MAX)
		return fail(l, -E2BIG, file, lineno, "more than %d entries", VM_ENTRIES_MAX);
	if (va_array_grow(&c->entries, &c->cap, c->nentries, sizeof(*c->entries)) < 0)
		return -ENOMEM;
	ei = c->nentries++;
	e = &c->entries[ei];
	memset(e, 0, sizeof(*e));
	e->line = lineno;
	e->type = (enum vm_type)t;
	e->file = strdup(file);
	e->name = strndup(tok[0], tlen[0]);
	e->src_text = strndup(tok[2], tlen[2]);
	e->dst_text = strndup(tok[3], tlen[3]);
	if (!e->file || !e->name || !e->src_text || !e->dst_text ||
	    asprintf(&e->id, "%s:%s", file, e->name) < 0) {
		e->id = NULL;
		return -ENOMEM;
	}
	if (e->type == VM_IMAGE)
		e->attrs = VM_ATTR_RDONLY;
	if ((r = parse_ref(l, ei, false, tok[2], tlen[2], &e->src)) < 0 ||
	    (r = parse_ref(l, ei, true, tok[3], tlen[3], &e->dst)) < 0)
		return r;
	e = &c->entries[ei];
	while (i < len) {
		const char *o;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			break;
		o = s + i;
		while (i < len && s[i] != ' ' && s[i] != '\t')
			i++;
		if ((r = parse_option(l, e, o, (size_t)(s + i - o), &seen)) < 0)
			return r;
	}
	if (e->dst.kind == VM_REF_NONE)
		return fail(l, -EINVAL, file, lineno, "the destination cannot be 'none'");
	if (e->type == VM_TMPFS && e->src.kind != VM_REF_NONE)
		return fail(l, -EINVAL, file, lineno, "a tmpfs has no source: write 'none'");
	if (e->type != VM_TMPFS && e->src.kind == VM_REF_NONE)
		return fail(l, -EINVAL, file, lineno, "a %s needs a source", vm_type_name(e->type));
	if (e->type == VM_SHARE && e->src.kind != VM_REF_ENTRY)
		return fail(l, -EINVAL, file, lineno, "the source of a share is a shared entry (FILE:ENTRY)");
	if (e->type == VM_SHARE && e->dst.kind == VM_REF_HOST)
		return fail(l, -EINVAL, file, lineno, "the destination of a share is in the guest");
	return 0;
}

/* Parse file @name (@buf, @len bytes). */
static int parse_file(struct loader *l, const char *name, const char *buf, size_t len)
{
	unsigned lineno = 0;
	size_t i = 0;
	int r;

	if (len > VM_FILE_MAX)
		return fail(l, -E2BIG, name, 0, "larger than %d bytes", VM_FILE_MAX);
	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - buf) : len;

		lineno++;
		if (end - i > VM_LINE_MAX)
			return fail(l, -E2BIG, name, lineno, "a line longer than %d bytes", VM_LINE_MAX);
		if ((r = parse_line(l, name, lineno, buf + i, end - i)) < 0)
			return r;
		i = end + 1;
	}
	return 0;
}

static ssize_t find_entry(const struct vm_conf *c, const char *file, const char *name)
{
	for (size_t k = 0; k < c->nentries; k++)
		if (strcmp(c->entries[k].file, file) == 0 && strcmp(c->entries[k].name, name) == 0)
			return (ssize_t)k;
	return -1;
}

static int resolve(struct loader *l)
{
	struct vm_conf *c = l->c;

	for (size_t k = 0; k < l->npend; k++) {
		struct pending *p = &l->pend[k];
		struct vm_entry *e = &c->entries[p->entry];
		const char *file = p->file ? p->file : e->file;
		ssize_t t = find_entry(c, file, p->name);

		if (t < 0)
			return fail(l, -ENOENT, e->file, e->line, "unknown entry '%s:%s' in '%s'", file, p->name,
				    p->is_dst ? e->dst_text : e->src_text);
		if ((size_t)t == p->entry)
			return fail(l, -ELOOP, e->file, e->line, "dependency cycle: %s -> %s", e->id, e->id);
		(p->is_dst ? &e->dst : &e->src)->entry = (size_t)t;
	}
	return 0;
}

bool vm_entry_depends(const struct vm_conf *c, size_t a, size_t b)
{
	const struct vm_entry *e = &c->entries[a];

	return (e->src.kind == VM_REF_ENTRY && e->src.entry == b) ||
	       (e->dst.kind == VM_REF_ENTRY && e->dst.entry == b);
}

/* Where entry @k's DEST is, once its dependencies have theirs. */
static int place(struct loader *l, size_t k)
{
	struct vm_entry *e = &l->c->entries[k];
	const struct vm_entry *d;

	switch (e->dst.kind) {
	case VM_REF_HOST:
		e->shared = true;
		e->where = strdup(e->dst.sub);
		break;
	case VM_REF_GUEST:
		e->where = strdup(e->dst.sub);
		break;
	case VM_REF_ENTRY:
		d = &l->c->entries[e->dst.entry];
		e->shared = d->shared;
		if (asprintf(&e->where, "%s%s%s", d->where,
			     *e->dst.sub && *d->where && strcmp(d->where, "/") ? "/" : "", e->dst.sub) < 0)
			e->where = NULL;
		break;
	case VM_REF_NONE:
		break;
	}
	if (!e->where)
		return -ENOMEM;
	if (e->shared && e->type == VM_SHARE)
		return fail(l, -EINVAL, e->file, e->line, "the destination of a share is in the guest");
	if (e->type == VM_SHARE && !l->c->entries[e->src.entry].shared)
		return fail(l, -EINVAL, e->file, e->line,
			    "the source of a share is a shared entry ('%s' is mounted per guest)",
			    l->c->entries[e->src.entry].id);
	if (e->shared && e->src.kind == VM_REF_ENTRY && !l->c->entries[e->src.entry].shared)
		return fail(l, -EINVAL, e->file, e->line,
			    "a shared entry cannot depend on '%s', which is mounted per guest",
			    l->c->entries[e->src.entry].id);
	return 0;
}

/* Depth-first from @k: post-order into c->order; @state 0 new, 1 on the path, 2 done. */
static int visit(struct loader *l, size_t k, unsigned char *state, size_t *path, size_t depth)
{
	struct vm_conf *c = l->c;
	size_t deps[2];
	size_t nd = 0;
	int r;

	if (state[k] == 2)
		return 0;
	path[depth] = k;
	if (state[k] == 1) {
		struct dbuf b = DBUF_INIT;
		size_t from = depth;
		const struct vm_entry *e;

		while (from > 0 && path[from - 1] != k)
			from--;
		from = from > 0 ? from - 1 : 0;
		for (size_t i = from; i <= depth; i++)
			dbuf_addf(&b, "%s%s", i > from ? " -> " : "", c->entries[path[i]].id);
		e = &c->entries[k];
		r = fail(l, -ELOOP, e->file, e->line, "dependency cycle: %s", dbuf_str(&b));
		dbuf_release(&b);
		return r;
	}
	state[k] = 1;
	if (c->entries[k].src.kind == VM_REF_ENTRY)
		deps[nd++] = c->entries[k].src.entry;
	if (c->entries[k].dst.kind == VM_REF_ENTRY)
		deps[nd++] = c->entries[k].dst.entry;
	for (size_t i = 0; i < nd; i++)
		if ((r = visit(l, deps[i], state, path, depth + 1)) < 0)
			return r;
	if ((r = place(l, k)) < 0)
		return r;
	state[k] = 2;
	c->order[c->norder++] = k;
	return 0;
}

static int plan(struct loader *l)
{
	struct vm_conf *c = l->c;
	unsigned char *state = calloc(c->nentries + 1, 1);
	size_t *path = calloc(c->nentries + 1, sizeof(*path));
	int r = 0;

	c->order = calloc(c->nentries + 1, sizeof(*c->order));
	if (!state || !path || !c->order) {
		r = -ENOMEM;
		goto out;
	}
	/* every entry is checked (cycles anywhere are refused); only those
	 * the main file needs make the plan */
	for (size_t k = 0; k < c->nentries && r == 0; k++)
		if (strcmp(c->entries[k].file, c->main) == 0)
			r = visit(l, k, state, path, 0);
	if (r == 0) {
		size_t keep = c->norder;

		for (size_t k = 0; k < c->nentries && r == 0; k++)
			r = visit(l, k, state, path, 0);
		c->norder = keep;
	}
out:
	free(state);
	free(path);
	return r;
}

void vm_conf_free(struct vm_conf *c)
{
	if (!c)
		return;
	for (size_t k = 0; k < c->nentries; k++)
		entry_release(&c->entries[k]);
	free(c->entries);
	free(c->order);
	free(c->prefix);
	free(c->main);
	free(c);
}

int vm_conf_load(struct vm_conf **ret, const char *prefix, const char *main, vm_conf_read_fn *rd,
		 void *user, struct va_error *err)
{
	struct loader l = { .rd = rd, .user = user, .err = err };
	struct dbuf buf = DBUF_INIT;
	int r = 0;

	l.c = calloc(1, sizeof(*l.c));
	if (!l.c)
		return -ENOMEM;
	l.c->prefix = strdup(prefix);
	l.c->main = strdup(main);
	if (!l.c->prefix || !l.c->main) {
		r = -ENOMEM;
		goto out;
	}
	if (!valid_name(main, strlen(main))) {
		r = fail(&l, -EINVAL, main, 0, "not a configuration file name ([A-Za-z0-9_][A-Za-z0-9_.+-]*)");
		goto out;
	}
	if ((r = want_file(&l, main, strlen(main), main, 0)) < 0)
		goto out;
	for (size_t f = 0; f < l.nfiles && r == 0; f++) {
		dbuf_setlen(&buf, 0);
		r = rd(user, l.files[f].name, &buf);
		if (r < 0) {
			l.reading = true;
			if (l.files[f].from)
				r = fail(&l, r, l.files[f].from, l.files[f].line,
					 "cannot read configuration file '%s'", l.files[f].name);
			else
				r = fail(&l, r, l.files[f].name, 0, "cannot read the configuration file");
			break;
		}
		r = parse_file(&l, l.files[f].name, dbuf_str(&buf), buf.len);
	}
	if (r == 0)
		r = resolve(&l);
	if (r == 0)
		r = plan(&l);
out:
	if (r == -ENOMEM && !va_error_is_set(err))
		va_error_set(err, ENOMEM, NULL, 0, "loading the configuration", NULL);
	dbuf_release(&buf);
	for (size_t f = 0; f < l.nfiles; f++) {
		free(l.files[f].name);
		free(l.files[f].from);
	}
	free(l.files);
	for (size_t k = 0; k < l.npend; k++) {
		free(l.pend[k].file);
		free(l.pend[k].name);
	}
	free(l.pend);
	if (r < 0) {
		vm_conf_free(l.c);
		return r;
	}
	*ret = l.c;
	return 0;
}

struct dir_reader {
	int dfd;
};

static int read_in_dir(void *user, const char *name, struct dbuf *out)
{
	struct dir_reader *d = user;
	struct stat st;
	int fd = va_safeopen_at(d->dfd, name, O_RDONLY | O_NONBLOCK, 0);
	int r = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	r = dbuf_read_fd(out, fd, VM_FILE_MAX);
out:
	close(fd);
	return r;
}

int vm_conf_load_at(struct vm_conf **ret, int dfd, const char *prefix, const char *main,
		    struct va_error *err)
{
	struct dir_reader d = { .dfd = dfd };

	return vm_conf_load(ret, prefix, main, read_in_dir, &d, err);
}

int vm_conf_load_path(struct vm_conf **ret, const char *path, struct va_error *err)
{
	const char *slash = strrchr(path, '/');
	struct dir_reader d;
	char *dir = NULL, *prefix = NULL;
	int r;

	if (slash) {
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
		prefix = strndup(path, (size_t)(slash - path) + 1);
	} else {
		dir = strdup(".");
		prefix = strdup("");
	}
	if (!dir || !prefix) {
		r = -ENOMEM;
		va_error_set(err, ENOMEM, path, strlen(path), "loading the configuration", NULL);
		goto out;
	}
	d.dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d.dfd < 0) {
		r = -errno;
		va_error_set(err, errno, dir, strlen(dir), "cannot open the configuration directory", NULL);
		goto out;
	}
	r = vm_conf_load_at(ret, d.dfd, prefix, slash ? slash + 1 : path, err);
	close(d.dfd);
out:
	free(dir);
	free(prefix);
	return r;
}
