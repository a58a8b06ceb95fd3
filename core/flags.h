/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flags.h - the one table of inode attribute flags known to vaudit.
 *
 * Every flag value vaudit uses lives in the X-macro lists below: the
 * ext2/3/4 i_flags bits as lsattr(1) shows them, and the Linux-VServer
 * attributes in their three encodings:
 *
 *   VS24   2.4 kernels (ctx / vs1.2x): iunlink = immutable 0x10 plus 0x8000
 *          (the ext2 NOTAIL bit, lsattr 't'); barrier = a directory with
 *          mode 0000 plus 0x8000.
 *   VS26   2.6 kernels (vs1.9 .. vs2.3), raw on-disk i_flags: barrier
 *          0x04000000, iunlink 0x08000000, cow 0x20000000 (vs2.3).  These
 *          bits are hidden from FS_IOC_GETFLAGS on 2.6 kernels, and mainline
 *          ext4 reuses them (0x20000000 is PROJINHERIT, lsattr 'P').
 *   IATTR  the vserver iattr syscall's VC_IATTR_* bits.
 *
 * Printing (lsattr-style letters, long names), parsing and the man page
 * legend are all generated from these lists; no other file may spell a
 * flag value.
 */
#ifndef VAUDIT_FLAGS_H
#define VAUDIT_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * ext2/3/4 i_flags in lsattr(1) column order (e2fsprogs 1.47):
 * X(ID, bit, letter, long name, description)
 */
#define VA_EXT2_FLAGS(X) \
	X(SECRM,       0x00000001, 's', "secure-deletion", "secure deletion (not implemented by ext2/3/4)") \
	X(UNRM,        0x00000002, 'u', "undelete",        "undeletable (not implemented by ext2/3/4)") \
	X(SYNC,        0x00000008, 'S', "sync",            "synchronous updates") \
	X(DIRSYNC,     0x00010000, 'D', "dirsync",         "synchronous directory updates") \
	X(IMMUTABLE,   0x00000010, 'i', "immutable",       "immutable: no write, unlink or rename") \
	X(APPEND,      0x00000020, 'a', "append-only",     "append only") \
	X(NODUMP,      0x00000040, 'd', "nodump",          "not backed up by dump(8)") \
	X(NOATIME,     0x00000080, 'A', "noatime",         "access time not updated") \
	X(COMPR,       0x00000004, 'c', "compress",        "compression requested") \
	X(ENCRYPT,     0x00000800, 'E', "encrypted",       "encrypted (fscrypt)") \
	X(JOURNAL,     0x00004000, 'j', "journal-data",    "data journaling") \
	X(INDEX,       0x00001000, 'I', "indexed",         "hashed directory index") \
	X(NOTAIL,      0x00008000, 't', "notail",          "no tail merging; the 2.4 vserver iunlink/barrier bit") \
	X(TOPDIR,      0x00020000, 'T', "topdir",          "top of a directory hierarchy") \
	X(EXTENTS,     0x00080000, 'e', "extents",         "file uses extents") \
	X(NOCOW,       0x00800000, 'C', "nocow",           "no copy on write") \
	X(DAX,         0x02000000, 'x', "dax",             "direct access") \
	X(CASEFOLD,    0x40000000, 'F', "casefold",        "case-insensitive directory") \
	X(INLINE_DATA, 0x10000000, 'N', "inline-data",     "data stored in the inode") \
	X(PROJINHERIT, 0x20000000, 'P', "project-inherit", "project id inherited (same bit as the vs2.3 cow flag)") \
	X(VERITY,      0x00100000, 'V', "verity",          "fs-verity protected") \
	X(NOCOMPR,     0x00000400, 'm', "nocompress",      "do not compress")

/*
 * Linux-VServer attributes: X(ID, encoding, bits, letter, long name, description).
 * The letter is the showattr(8) column letter (upper case = set).
 * For VS24 all `bits` must be set; VS24 barrier also needs directory mode 0000.
 */
#define VA_VS_FLAGS(X) \
	X(VS24_IMMUTABLE, VA_ENC_VS24,  0x00000010, 'i', "immutable", "2.4: immutable (ext2 0x10)") \
	X(VS24_IUNLINK,   VA_ENC_VS24,  0x00008010, 'u', "iunlink",   "2.4: unified file, immutable 0x10 plus 0x8000 (lsattr i and t)") \
	X(VS24_BARRIER,   VA_ENC_VS24,  0x00008000, 'b', "barrier",   "2.4: chroot barrier, directory mode 0000 plus 0x8000") \
	X(VS26_IMMUTABLE, VA_ENC_VS26,  0x00000010, 'i', "immutable", "2.6: immutable (ext2 0x10)") \
	X(VS26_BARRIER,   VA_ENC_VS26,  0x04000000, 'b', "barrier",   "2.6: chroot barrier on the directory holding the guests") \
	X(VS26_IUNLINK,   VA_ENC_VS26,  0x08000000, 'u', "iunlink",   "2.6: immutable-unlink, a guest may unlink or replace its name") \
	X(VS26_COW,       VA_ENC_VS26,  0x20000000, 'c', "cow",       "2.6 (vs2.3): copy-on-write link breaking") \
	X(IATTR_ADMIN,    VA_ENC_IATTR, 0x00000001, 'a', "admin",     "syscall: procfs entry visible to the admin context") \
	X(IATTR_WATCH,    VA_ENC_IATTR, 0x00000002, 'w', "watch",     "syscall: procfs entry visible to the watch context") \
	X(IATTR_HIDE,     VA_ENC_IATTR, 0x00000004, 'h', "hide",      "syscall: procfs entry hidden") \
	X(IATTR_WRITE,    VA_ENC_IATTR, 0x00000008, 'm', "write",     "syscall: procfs write flag") \
	X(IATTR_BARRIER,  VA_ENC_IATTR, 0x00010000, 'b', "barrier",   "syscall: chroot barrier") \
	X(IATTR_IUNLINK,  VA_ENC_IATTR, 0x00020000, 'u', "iunlink",   "syscall: immutable-unlink") \
	X(IATTR_IMMUTABLE,VA_ENC_IATTR, 0x00040000, 'i', "immutable", "syscall: immutable") \
	X(IATTR_COW,      VA_ENC_IATTR, 0x00080000, 'c', "cow",       "syscall: copy-on-write") \
	X(IATTR_XID,      VA_ENC_IATTR, 0x01000000, 'x', "xid",       "syscall: the xid/tag field is valid")

/** Encodings a table row belongs to. */
enum va_flag_enc {
	VA_ENC_EXT2  = 1 << 0, /**< ext2 i_flags bit, as FS_IOC_GETFLAGS / lsattr */
	VA_ENC_VS24  = 1 << 1, /**< 2.4 vserver attribute (combination of ext2 bits) */
	VA_ENC_VS26  = 1 << 2, /**< 2.6 vserver attribute, raw on-disk i_flags */
	VA_ENC_IATTR = 1 << 3, /**< vserver iattr syscall VC_IATTR_* bit */
};

/* Named constants, generated from the lists: VA_FL_IMMUTABLE, VA_VS26_BARRIER, ... */
enum {
#define VA_X_EXT2(id, bit, letter, name, desc) VA_FL_##id = bit,
	VA_EXT2_FLAGS(VA_X_EXT2)
#undef VA_X_EXT2
};
enum {
#define VA_X_VS(id, enc, bits, letter, name, desc) VA_##id = bits,
	VA_VS_FLAGS(VA_X_VS)
#undef VA_X_VS
};

/** Bits of the 2.6 on-disk attributes together. */
#define VA_VS26_MASK ((uint32_t)(VA_VS26_BARRIER | VA_VS26_IUNLINK | VA_VS26_COW))

/** One row of the flag table. */
struct va_flag {
	const char *id;        /**< constant name without prefix, e.g. "IMMUTABLE" */
	enum va_flag_enc enc;  /**< which encoding the row describes */
	uint32_t bits;         /**< bit(s); all must be set for the row to apply */
	char letter;           /**< lsattr letter (EXT2) or showattr letter */
	const char *name;      /**< long name, e.g. "immutable" */
	const char *desc;      /**< one-line description */
};

/**
 * va_flag_table() - the whole table, ext2 rows first in lsattr order.
 * @ret_n: receives the number of rows.
 */
const struct va_flag *va_flag_table(size_t *ret_n);

/** va_flag_enc_name() - "ext2", "2.4", "2.6" or "syscall". */
const char *va_flag_enc_name(enum va_flag_enc enc);

/** Number of ext2 rows = width of a va_flags_letters() string. */
size_t va_flags_width(void);

/** Buffer size for va_flags_letters(): every ext2 letter plus NUL. */
#define VA_FLAGS_LETTERS_MAX 40

/**
 * va_flags_letters() - format ext2 flags as lsattr(1) does ("----i-------t---------").
 * @flags: i_flags word; bits without a letter are ignored.
 * @buf:   at least VA_FLAGS_LETTERS_MAX bytes; NUL-terminated on return.
 * Return: @buf.
 */
char *va_flags_letters(uint32_t flags, char *buf);

/**
 * va_flags_letters_if() - va_flags_letters(), or '?' in every column when
 * the flags are not @known.  Return: @buf.
 */
char *va_flags_letters_if(uint32_t flags, bool known, char *buf);

/**
 * va_flags_names() - comma-separated long names of the ext2 bits set in @flags,
 * then "0x%x" for any bit the table does not know.
 * @buf, @size: output; truncated (always NUL-terminated) when too small.
 * Return: the length the full string needs, excluding the NUL (as snprintf).
 */
size_t va_flags_names(uint32_t flags, char *buf, size_t size);

/**
 * va_flags_parse() - parse a flag specification.
 * Accepted forms: a number ("0x8010", strtoul base 0); a chattr-like
 * operator string ("+it", "-t", "=i"); a comma-separated list of long names
 * or lsattr letters, each optionally prefixed by '+' or '-'
 * ("immutable,-notail").  Only ext2 rows are used.
 * @s:         the text.
 * @ret_set:   bits to set.
 * @ret_clear: bits to clear ("=" clears every ext2 bit not set).
 * Return: 0, or -EINVAL (outputs untouched).
 */
int va_flags_parse(const char *s, uint32_t *ret_set, uint32_t *ret_clear);

/**
 * va_flag_lookup() - find a row by long name (or a one-letter lsattr letter)
 * among the encodings in @encs (a bit set of enum va_flag_enc).
 * Return: the row, or NULL.
 */
const struct va_flag *va_flag_lookup(const char *name, unsigned encs);

/**
 * va_vsattr_letters() - the showattr-style vserver column "buic": barrier,
 * iunlink, immutable, cow; upper case = set, lower case = clear, '-' = not
 * known (@vs26 false: the 2.6 bits could not be read; @ext2 false: nothing
 * could).  Letters come from the VS26 rows of the table.
 * @buf: at least 5 bytes.  Return: @buf.
 */
char *va_vsattr_letters(uint32_t flags, bool ext2, bool vs26, char *buf);

/** True if @flags with directory @mode is a 2.4 barrier (mode 0000 + 0x8000). */
bool va_is_vs24_barrier(uint32_t flags, uint32_t mode);

/** True if @flags is the 2.4 unified state (0x10 + 0x8000). */
bool va_is_vs24_iunlink(uint32_t flags);

#endif
