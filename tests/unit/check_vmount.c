/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * check_vmount.c - unit tests of core/mountconf: vmount's configuration
 * language and its dependency graph, on files held in memory (and a few
 * on a real directory: symlinks and other non-files are refused).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/message.h"
#include "core/mountconf.h"
#include "tests/unit/testutil.h"

/* Files in memory: {name, content, length (0: strlen)}, NULL-terminated. */
struct mfile {
	const char *name;
	const char *text;
	size_t len;
};

static int read_mem(void *user, const char *name, struct dbuf *out)
{
	for (const struct mfile *f = user; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return dbuf_add(out, f->text, f->len ? f->len : strlen(f->text));
	return -ENOENT;
}

/* Load main file "main" of @files; the error text into @msg (may be NULL). */
static int load(const struct mfile *files, struct vm_conf **c, struct dbuf *msg)
{
	struct va_error err = VA_ERROR_INIT;
	int r = vm_conf_load(c, "cfg/", "main", read_mem, (void *)files, &err);

	if (r < 0) {
		ck_assert_msg(va_error_is_set(&err), "a failure without a message (%d)", r);
		if (msg)
			va_error_text(msg, &err);
	} else {
		ck_assert(!va_error_is_set(&err));
	}
	va_error_release(&err);
	return r;
}

/* Loading @files fails with @ret, no configuration, and the message @msg (NULL: any). */
static void load_refused(const struct mfile *files, int ret, const char *msg)
{
	struct vm_conf *c = NULL;
	struct dbuf b = DBUF_INIT;

	ck_assert_int_eq(load(files, &c, &b), ret);
	ck_assert_ptr_null(c);
	if (msg)
		ck_assert_str_eq(dbuf_str(&b), msg);
	dbuf_release(&b);
}

/* Loading @files works; the configuration is freed. */
static void load_ok(const struct mfile *files)
{
	struct vm_conf *c = NULL;

	ck_assert_int_eq(load(files, &c, NULL), 0);
	vm_conf_free(c);
}

static const char *order_ids(const struct vm_conf *c, struct dbuf *b)
{
	dbuf_setlen(b, 0);
	for (size_t i = 0; i < c->norder; i++)
		dbuf_addf(b, "%s%s", i ? " " : "", c->entries[c->order[i]].id);
	return dbuf_str(b);
}

static const struct vm_entry *entry(const struct vm_conf *c, const char *id)
{
	for (size_t i = 0; i < c->nentries; i++)
		if (strcmp(c->entries[i].id, id) == 0)
			return &c->entries[i];
	ck_abort_msg("no entry %s", id);
	return NULL;
}

/* The worked example of vmount(8). */
static const struct mfile example[] = {
	{ "main",
	  "main bind bundles:webapp DEST options::ro\n"
	  "config1 tmpfs none main/etc copy::dest size::10M\n"
	  "log share run:logshare main/var/log\n", 0 },
	{ "run", "logshare auto /dev/data/logs /data/logshare\n", 0 },
	{ "bundles",
	  "# read-only images\n"
	  "cloops auto /dev/data/cloops /cloops options::ro\n"
	  "\n"
	  "webapp image cloops/webapp.sqfs /bundles/webapp\n"
	  "unused tmpfs none /unused\n", 0 },
	{ NULL, NULL, 0 },
};

START_TEST(worked_example)
{
	struct vm_conf *c = NULL;
	struct dbuf b = DBUF_INIT;
	const struct vm_entry *e;

	ck_assert_int_eq(load(example, &c, NULL), 0);
	ck_assert_uint_eq(c->nentries, 7);
	ck_assert_str_eq(order_ids(c, &b),
			 "bundles:cloops bundles:webapp main:main main:config1 run:logshare main:log");
	e = entry(c, "main:main");
	ck_assert_int_eq(e->type, VM_BIND);
	ck_assert(!e->shared);
	ck_assert_str_eq(e->where, "");
	ck_assert_uint_eq(e->attrs, VM_ATTR_RDONLY);
	ck_assert_int_eq(e->src.kind, VM_REF_ENTRY);
	ck_assert_str_eq(c->entries[e->src.entry].id, "bundles:webapp");
	e = entry(c, "main:config1");
	ck_assert_int_eq(e->type, VM_TMPFS);
	ck_assert_str_eq(e->where, "etc");
	ck_assert(e->copy_dest);
	ck_assert_str_eq(e->size, "10M");
	ck_assert_int_eq(e->src.kind, VM_REF_NONE);
	e = entry(c, "main:log");
	ck_assert_int_eq(e->type, VM_SHARE);
	ck_assert_str_eq(e->where, "var/log");
	ck_assert(!e->shared);
	e = entry(c, "run:logshare");
	ck_assert(e->shared);
	ck_assert_str_eq(e->where, "/data/logshare");
	ck_assert_int_eq(e->src.kind, VM_REF_HOST);
	ck_assert_str_eq(e->src.sub, "/dev/data/logs");
	e = entry(c, "bundles:webapp");
	ck_assert_int_eq(e->type, VM_IMAGE);
	ck_assert(e->shared);
	ck_assert_uint_eq(e->attrs, VM_ATTR_RDONLY);   /* an image is read-only */
	ck_assert_str_eq(e->src.sub, "webapp.sqfs");
	ck_assert_str_eq(c->entries[e->src.entry].id, "bundles:cloops");
	ck_assert(vm_entry_depends(c, (size_t)(e - c->entries), e->src.entry));
	ck_assert_uint_eq(entry(c, "bundles:cloops")->line, 2);
	ck_assert_uint_eq(entry(c, "bundles:webapp")->line, 4);
	vm_conf_free(c);
	dbuf_release(&b);
}
END_TEST

START_TEST(paths_and_options)
{
	static const struct mfile f[] = {
		{ "main",
		  "a bind //srv/./x// DEST/./var//lib/ options::nosuid,nodev,noexec,noatime,ro\n"
		  "b tmpfs none a/sub/dir size::50% options::ro,rw\n"
		  "c auto /img /mnt fs::erofs\n"
		  "d bind c/x/y /mnt/c/z\n"
		  "e bind / DEST/e\n"
		  "\t f.g+h-i\ttmpfs\tnone\tDEST\t# not a comment: an option? no\n", 0 },
		{ NULL, NULL, 0 },
	};
	struct vm_conf *c = NULL;
	struct dbuf b = DBUF_INIT;
	const struct vm_entry *e;
	int r = load(f, &c, &b);

	/* "#" after the fields is not KEY::VALUE */
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_str_eq(dbuf_str(&b), "'cfg/main:6': '#' is not KEY::VALUE");
	dbuf_release(&b);

	static const struct mfile g[] = {
		{ "main",
		  "a bind //srv/./x// DEST/./var//lib/ options::nosuid,nodev,noexec,noatime,ro\n"
		  "b tmpfs none a/sub/dir size::50% options::ro,rw\n"
		  "c auto /img /mnt fs::erofs\n"
		  "d bind c/x/y /mnt/c/z\n"
		  "e bind / DEST/e\n"
		  "\t f.g+h-i\ttmpfs\tnone\tDEST\t  \n", 0 },
		{ NULL, NULL, 0 },
	};
	ck_assert_int_eq(load(g, &c, NULL), 0);
	e = entry(c, "main:a");
	ck_assert_str_eq(e->src.sub, "/srv/x");
	ck_assert_str_eq(e->where, "var/lib");
	ck_assert_uint_eq(e->attrs, VM_ATTR_RDONLY | VM_ATTR_NOSUID | VM_ATTR_NODEV | VM_ATTR_NOEXEC |
			  VM_ATTR_NOATIME);
	dbuf_init(&b);
	vm_attr_text(&b, e->attrs);
	ck_assert_str_eq(dbuf_str(&b), "ro,nosuid,nodev,noexec,noatime");
	e = entry(c, "main:b");
	ck_assert_str_eq(e->where, "var/lib/sub/dir");
	ck_assert_uint_eq(e->attrs, 0);                 /* rw after ro */
	ck_assert_str_eq(e->size, "50%");
	e = entry(c, "main:c");
	ck_assert_str_eq(e->fstype, "erofs");
	ck_assert(e->shared);
	e = entry(c, "main:d");
	ck_assert(e->shared);
	ck_assert_str_eq(e->src.sub, "x/y");
	ck_assert_str_eq(e->where, "/mnt/c/z");
	ck_assert_str_eq(entry(c, "main:e")->src.sub, "/");
	ck_assert_str_eq(entry(c, "main:f.g+h-i")->where, "");
	ck_assert_uint_eq(entry(c, "main:f.g+h-i")->line, 6);
	vm_conf_free(c);
	dbuf_release(&b);
}
END_TEST

/* {file content, error text, return value} */
static const struct bad {
	const char *text;
	size_t len;
	const char *msg;
	int ret;
} bad[] = {
	{ "a bind /x\n", 0, "'cfg/main:1': expected NAME TYPE SOURCE DEST [KEY::VALUE]...", -EINVAL },
	{ "\n# c\nw cloop /x DEST\n", 0,
	  "'cfg/main:3': unknown type 'cloop' (bind, tmpfs, share, auto, image)", -EINVAL },
	{ "a bind nosuch DEST\n", 0, "'cfg/main:1': unknown entry 'main:nosuch' in 'nosuch'", -ENOENT },
	{ "a bind other:x DEST\n", 0,
	  "'cfg/main:1': cannot read configuration file 'other': No such file or directory", -ENOENT },
	{ "a bind b DEST\nb bind c DEST\nc bind a/x DEST\n", 0,
	  "'cfg/main:1': dependency cycle: main:a -> main:b -> main:c -> main:a", -ELOOP },
	{ "x tmpfs none DEST\na bind b DEST\nb tmpfs none a\n", 0,
	  "'cfg/main:2': dependency cycle: main:a -> main:b -> main:a", -ELOOP },
	{ "a tmpfs none a/x\n", 0, "'cfg/main:1': dependency cycle: main:a -> main:a", -ELOOP },
	{ "a bind /srv DEST/../etc\n", 0,
	  "'cfg/main:1': destination 'DEST/../etc': '..' is not allowed in a path", -EINVAL },
	{ "a bind /srv/.. DEST\n", 0, "'cfg/main:1': source '/srv/..': '..' is not allowed in a path", -EINVAL },
	{ "a bind ..:x DEST\n", 0,
	  "'cfg/main:1': source '..:x': not FILE:ENTRY, ENTRY, DEST or an absolute path", -EINVAL },
	{ "a bind .hidden:x DEST\n", 0,
	  "'cfg/main:1': source '.hidden:x': not FILE:ENTRY, ENTRY, DEST or an absolute path", -EINVAL },
	{ "a bind DEST/x DEST\n", 0, "'cfg/main:1': source 'DEST/x': a source cannot be in the guest", -EINVAL },
	{ "a\xff bind /srv DEST\n", 0,
	  "'cfg/main:1': 'a?' is not an entry name ([A-Za-z0-9_][A-Za-z0-9_.+-]*, at most 64 bytes)", -EINVAL },
	{ "DEST bind /srv DEST\n", 0,
	  "'cfg/main:1': 'DEST' is not an entry name ([A-Za-z0-9_][A-Za-z0-9_.+-]*, at most 64 bytes)", -EINVAL },
	{ "a bind /srv DEST\x1b[2J\n", 0, "'cfg/main:1': a control character (0x1b)", -EINVAL },
	{ "a bind /srv\0 DEST\n", 18, "'cfg/main:1': a NUL byte", -EINVAL },
	{ "a bind /srv DEST\r\n", 0, "'cfg/main:1': a control character (0x0d)", -EINVAL },
	{ "a bind /srv DEST\na bind /srv DEST\n", 0, "'cfg/main:2': entry 'a' is already defined at line 1",
	  -EINVAL },
	{ "a bind /srv DEST frob::1\n", 0, "'cfg/main:1': unknown option 'frob' (options, size, copy, fs)",
	  -EINVAL },
	{ "a bind /srv DEST ro\n", 0, "'cfg/main:1': 'ro' is not KEY::VALUE", -EINVAL },
	{ "a bind /srv DEST options::\n", 0, "'cfg/main:1': option 'options' has no value", -EINVAL },
	{ "a bind /srv DEST options::ro,bogus\n", 0,
	  "'cfg/main:1': unknown mount option 'bogus' (ro, rw, nosuid, nodev, noexec, noatime)", -EINVAL },
	{ "a bind /srv DEST options::ro options::ro\n", 0, "'cfg/main:1': option 'options' given twice",
	  -EINVAL },
	{ "a image /i DEST options::rw\n", 0, "'cfg/main:1': an image is always mounted read-only", -EINVAL },
	{ "a bind /srv DEST size::1M\n", 0, "'cfg/main:1': size:: is for tmpfs only", -EINVAL },
	{ "a tmpfs none DEST size::lots\n", 0,
	  "'cfg/main:1': size::lots: not a size (N, Nk, Nm, Ng or N%)", -EINVAL },
	{ "a tmpfs none DEST copy::src\n", 0, "'cfg/main:1': copy:: takes 'dest' only", -EINVAL },
	{ "a auto /d DEST fs::ntfs\n", 0,
	  "'cfg/main:1': fs::ntfs: unknown filesystem (ext2, ext3, ext4, squashfs, erofs, xfs, btrfs)", -EINVAL },
	{ "a tmpfs /srv DEST\n", 0, "'cfg/main:1': a tmpfs has no source: write 'none'", -EINVAL },
	{ "a bind none DEST\n", 0, "'cfg/main:1': a bind needs a source", -EINVAL },
	{ "a bind /srv none\n", 0, "'cfg/main:1': the destination cannot be 'none'", -EINVAL },
	{ "a share /srv DEST/x\n", 0, "'cfg/main:1': the source of a share is a shared entry (FILE:ENTRY)",
	  -EINVAL },
	{ "s tmpfs none /s\na share s /x\n", 0, "'cfg/main:2': the destination of a share is in the guest",
	  -EINVAL },
	{ "a tmpfs none DEST\nb share a DEST/x\n", 0,
	  "'cfg/main:2': the source of a share is a shared entry ('main:a' is mounted per guest)", -EINVAL },
	{ "a tmpfs none DEST\nb bind a /srv\n", 0,
	  "'cfg/main:2': a shared entry cannot depend on 'main:a', which is mounted per guest", -EINVAL },
};

START_TEST(bad_input)
{
	const struct bad *t = &bad[_i];
	struct mfile f[] = { { "main", t->text, t->len }, { NULL, NULL, 0 } };

	load_refused(f, t->ret, t->msg);
}
END_TEST

START_TEST(cycle_across_files)
{
	static const struct mfile f[] = {
		{ "main", "a bind o:b DEST\n", 0 },
		{ "o", "b bind p:c DEST\n", 0 },
		{ "p", "# c\nc tmpfs none main:a/x\n", 0 },
		{ NULL, NULL, 0 },
	};
	load_refused(f, -ELOOP, "'cfg/main:1': dependency cycle: main:a -> o:b -> p:c -> main:a");
}
END_TEST

/* A cycle among entries the main file does not need is refused too. */
START_TEST(cycle_elsewhere)
{
	static const struct mfile f[] = {
		{ "main", "a bind o:x DEST\n", 0 },
		{ "o", "x tmpfs none /x\ny bind z /y\nz bind y /z\n", 0 },
		{ NULL, NULL, 0 },
	};
	load_refused(f, -ELOOP, "'cfg/o:2': dependency cycle: o:y -> o:z -> o:y");
}
END_TEST

/* Dependencies first, the file's order otherwise, each entry once. */
START_TEST(order)
{
	static const struct mfile f[] = {
		{ "main",
		  "d bind c DEST/d\n"
		  "a tmpfs none DEST\n"
		  "c bind b/x a/c\n"
		  "b tmpfs none /b\n"
		  "e bind o:q DEST/e\n", 0 },
		{ "o", "p tmpfs none /p\nq bind p/y /q\nr tmpfs none /r\n", 0 },
		{ NULL, NULL, 0 },
	};
	struct vm_conf *c = NULL;
	struct dbuf b = DBUF_INIT;

	ck_assert_int_eq(load(f, &c, NULL), 0);
	ck_assert_str_eq(order_ids(c, &b), "main:b main:a main:c main:d o:p o:q main:e");
	/* every dependency comes before its dependent */
	for (size_t i = 0; i < c->norder; i++)
		for (size_t j = i + 1; j < c->norder; j++)
			ck_assert(!vm_entry_depends(c, c->order[i], c->order[j]));
	ck_assert_str_eq(entry(c, "main:d")->where, "d");
	ck_assert_str_eq(entry(c, "main:c")->where, "c");
	vm_conf_free(c);
	dbuf_release(&b);
}
END_TEST

START_TEST(limits)
{
	struct mfile f[] = { { "main", NULL, 0 }, { NULL, NULL, 0 } };
	struct dbuf text = DBUF_INIT;

	/* a line of VM_LINE_MAX bytes is fine, one more is not */
	dbuf_adds(&text, "a bind /");
	while (text.len < VM_LINE_MAX - 5)
		dbuf_addc(&text, 'x');
	dbuf_adds(&text, " DEST\n");
	ck_assert_uint_eq(text.len, VM_LINE_MAX + 1);
	f[0].text = text.buf;
	f[0].len = text.len;
	load_ok(f);
	dbuf_setlen(&text, 0);
	dbuf_adds(&text, "# x\na bind /");
	while (text.len < 4 + VM_LINE_MAX - 4)
		dbuf_addc(&text, 'x');
	dbuf_adds(&text, " DEST\n");
	f[0].text = text.buf;
	f[0].len = text.len;
	load_refused(f, -E2BIG, "'cfg/main:2': a line longer than 4096 bytes");
	/* too many entries */
	dbuf_setlen(&text, 0);
	for (unsigned i = 0; i <= VM_ENTRIES_MAX; i++)
		dbuf_addf(&text, "e%u tmpfs none DEST\n", i);
	f[0].text = text.buf;
	f[0].len = text.len;
	load_refused(f, -E2BIG, "'cfg/main:4097': more than 4096 entries");
	/* a name of 64 bytes is fine, 65 are not */
	dbuf_setlen(&text, 0);
	dbuf_addf(&text, "%s tmpfs none DEST\n", "0123456789012345678901234567890123456789012345678901234567890123");
	f[0].text = text.buf;
	f[0].len = text.len;
	load_ok(f);
	dbuf_setlen(&text, 0);
	dbuf_addf(&text, "%s tmpfs none DEST\n", "01234567890123456789012345678901234567890123456789012345678901234");
	f[0].text = text.buf;
	f[0].len = text.len;
	load_refused(f, -EINVAL, NULL);
	dbuf_release(&text);
}
END_TEST

/* Random bytes and mutated good files: never a crash, a plan or one error. */
START_TEST(random_input)
{
	static const char alphabet[] = "ab:/. \t\n#DESTnone::bindtmpfsshareautoimageoptions::ro,size::1Mx";
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	char text[512], other[256];
	unsigned ok = 0, bad_n = 0;

	for (unsigned n = 0; n < 20000; n++) {
		size_t len = tu_rand(&seed) % sizeof(text), olen = tu_rand(&seed) % sizeof(other);
		struct mfile f[] = { { "main", text, len }, { "a", other, olen }, { "b", "x tmpfs none /x\n", 0 },
				     { NULL, NULL, 0 } };
		struct vm_conf *c = NULL;
		struct dbuf b = DBUF_INIT;

		for (size_t i = 0; i < len; i++)
			text[i] = (n % 4 == 0) ? (char)tu_rand(&seed) : alphabet[tu_rand(&seed) % (sizeof(alphabet) - 1)];
		for (size_t i = 0; i < olen; i++)
			other[i] = alphabet[tu_rand(&seed) % (sizeof(alphabet) - 1)];
		if (len == 0)
			f[0].len = 1, text[0] = '\n';
		if (olen == 0)
			f[1].len = 1, other[0] = '\n';
		if (load(f, &c, &b) == 0) {
			ok++;
			for (size_t i = 0; i < c->norder; i++) {
				const struct vm_entry *e = &c->entries[c->order[i]];

				ck_assert_ptr_nonnull(e->where);
				ck_assert(!strstr(e->where, ".."));
				for (size_t j = i + 1; j < c->norder; j++)
					ck_assert(!vm_entry_depends(c, c->order[i], c->order[j]));
			}
			vm_conf_free(c);
		} else {
			bad_n++;
			ck_assert_ptr_null(c);
			ck_assert(strncmp(dbuf_str(&b), "'cfg/", 5) == 0);
			ck_assert(!strchr(dbuf_str(&b), '\n'));
		}
		dbuf_release(&b);
	}
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_gt(bad_n, 0);
}
END_TEST

/* On disk: a referenced file that is a symlink or a directory is refused. */
START_TEST(files_on_disk)
{
	char *d = tu_subdir("vmount"), *p;
	int dfd = open(d, O_PATH | O_DIRECTORY);
	struct va_error err = VA_ERROR_INIT;
	struct dbuf b = DBUF_INIT;
	struct vm_conf *c = NULL;

	ck_assert_int_ge(dfd, 0);
	tu_write_file(dfd, "web", "a bind lnk:x DEST\n", 18);
	tu_write_file(dfd, "real", "x tmpfs none /x\n", 16);
	ck_assert_int_eq(symlinkat("real", dfd, "lnk"), 0);
	p = tu_strdupf("%s/web", d);
	ck_assert_int_eq(vm_conf_load_path(&c, p, &err), -ELOOP);
	va_error_text(&b, &err);
	ck_assert_msg(strstr(dbuf_str(&b), "/web:1': cannot read configuration file 'lnk': "), "%s", dbuf_str(&b));
	va_error_release(&err);
	ck_assert_int_eq(unlinkat(dfd, "lnk", 0), 0);
	ck_assert_int_eq(mkdirat(dfd, "lnk", 0755), 0);
	ck_assert_int_eq(vm_conf_load_path(&c, p, &err), -EISDIR);
	va_error_release(&err);
	ck_assert_int_eq(unlinkat(dfd, "lnk", AT_REMOVEDIR), 0);
	ck_assert_int_eq(renameat(dfd, "real", dfd, "lnk"), 0);
	ck_assert_int_eq(vm_conf_load_path(&c, p, &err), 0);
	ck_assert_uint_eq(c->nentries, 2);
	vm_conf_free(c);
	close(dfd);
	dbuf_release(&b);
	free(p);
	free(d);
}
END_TEST

static Suite *vmount_suite(void)
{
	Suite *s = suite_create("mountconf");
	TCase *tc = tcase_create("mountconf");

	tu_tcase_tmpdir(tc, false);
	tu_add_test(tc, worked_example, NULL);
	tu_add_test(tc, paths_and_options, NULL);
	tcase_add_loop_test(tc, bad_input, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tu_add_test(tc, cycle_across_files, NULL);
	tu_add_test(tc, cycle_elsewhere, NULL);
	tu_add_test(tc, order, NULL);
	tu_add_test(tc, limits, NULL);
	tu_add_test(tc, random_input, NULL);
	tu_add_test(tc, files_on_disk, NULL);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return tu_main(vmount_suite());
}
