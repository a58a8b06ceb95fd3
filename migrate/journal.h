/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * journal.h - the repair journal: written (and fsync'd) before every change,
 * enough to undo or finish a run from the journal alone.
 *
 * Text, one record per line, each ending in "\tcrc=XXXXXXXX", the CRC32C
 * of the bytes before that tab:
 *
 *   vaudit-journal 1 backend=image|live|unify|convert|clone|vcopy uuid=UUID source=BASE64
 *   vaudit-journal 2 backend=image|live uuid=UUID source=BASE64 request=BASE64
 *   I SEQ DEV INO GEN OLDFLAGS OLDMODE NEWFLAGS NEWMODE KIND PATH_B64
 *   L SEQ OP DEV INO GEN OLDINO PATH_B64 TMP_B64 OTHER_B64
 *   C SEQ TYPE DEV INO CTIME PATH_B64 TMP_B64
 *   M SEQ DEV INO CTIME   change SEQ ('C' of a clone) was made: inode INO
 *   D SEQ          change SEQ was made and verified
 *   U SEQ          change SEQ was undone
 *
 * (fields separated by tabs; DEV is "maj:min", flags 0x%08x, modes octal).
 * A version 2 header (repair journals written by vaudit --fix) adds what
 * the run was asked to do: the text of migrate/request.h, which
 * vaudit --resume needs to finish the run (a version 1 journal holds only
 * its changes).  The request is stored as read; its parser is
 * va_request_parse().
 * 'I' is a flag change.  'L' is a change of names (unify journals): OP
 * "link" (PATH, which was inode OLDINO, became a name of inode INO),
 * "revert" (PATH, a name of INO, became a private copy), "store" (PATH, a
 * new hash store entry INO, a copy of OTHER); TMP is the temporary name
 * used in PATH's directory (empty when none), OTHER another name of INO.
 * 'C' is an entry a conversion created (convert journals, and only they
 * hold 'C' records): PATH, of TYPE "d", "f" or "l" (directory, file,
 * symlink), was made as inode INO with status change time CTIME
 * ("SEC.NSEC"); TMP, for the conversion's top directory only, is the
 * name it was built under in PATH's directory before it was renamed to
 * PATH.  A 'D' mark on the top directory's record means the rename was
 * made and is on disk.
 * A clone's journal (backend "clone", source: its roots, one a line)
 * holds 'C' records written before each entry is made, of TYPE "d", "f",
 * "l", "p" (FIFO), "c", "b" (devices) or "h" (a new name of the existing
 * inode INO); for the other types INO is 0 and CTIME a time no later than
 * the entry's making.  Once the entry is made and on disk, an 'M' record
 * (its done mark) gives its inode and status change time.  Its 'I'
 * records (KIND "clone-link") are flags lifted from an inode for a moment
 * (to give it a new name where the kernel would refuse one): 'D' when
 * they are back.
 * A vcopy journal (backend "vcopy", source: DST, SRC and the stores, one
 * a line) is one run of two engines: first the unify engine's 'L' and
 * 'I' records (DST's files linked to SRC's inodes), then the clone
 * engine's 'C', 'M' and "clone-link" 'I' records (what DST lacked, made);
 * no link after the first entry made.  It is undone newest first: the
 * entries made, then the links.
 * An intent without D may or may not have been applied: the inode's state
 * tells (old or new).  A last line without newline or with a bad CRC is
 * the trace of a crash while appending and is dropped with a warning; any
 * other bad line makes the journal unusable.
 *
 * Each byte is written once, in order.  When a write or fsync fails (a
 * short write then an error, a full disk), the file is cut back to the end
 * of its last whole record, so it stays loadable, and the journal is
 * broken: every later add, append, flush or sync returns that error, and
 * callers stop before any change whose record is not on file.
 */
#ifndef VAUDIT_JOURNAL_H
#define VAUDIT_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/dbuf.h"

#define VA_JOURNAL_VERSION 1
/** The version of a header with a request (repair journals only). */
#define VA_JOURNAL_VERSION_REQUEST 2

/** The back ends a journal header names: an image, a live tree, a unify run. */
#define VA_JOURNAL_IMAGE "image"
#define VA_JOURNAL_LIVE "live"
#define VA_JOURNAL_UNIFY "unify"
#define VA_JOURNAL_CONVERT "convert"
#define VA_JOURNAL_CLONE "clone"
/** vcopy: the unify engine's records (its links), then the clone engine's (the entries made). */
#define VA_JOURNAL_VCOPY "vcopy"
/** The TYPEs of a clone's 'C' records. */
#define VA_CLONE_TYPES "dflpcbh"
/** The KIND of a clone's 'I' records (flags lifted for a link, then put back). */
#define VA_CLONE_LIFT_KIND "clone-link"

/** What a replay of a journal does: undo its changes, or finish them. */
enum va_replay { VA_REPLAY_UNDO, VA_REPLAY_RESUME };

struct va_journal_rec {
	char type;              /**< 'I', 'L', 'C', 'M', 'D' or 'U' */
	uint64_t seq;
	dev_t dev;
	uint64_t ino;
	uint32_t gen;
	uint32_t old_flags, old_mode;
	uint32_t new_flags, new_mode;
	char kind[40];          /**< 'I': the finding kind; 'L': the OP; 'C': the TYPE */
	char *path;             /**< bytes (owned by the journal when loaded) */
	size_t path_len;
	uint64_t old_ino;       /**< 'L' */
	char *tmp;              /**< 'L', 'C': temporary name (bytes, owned when loaded) */
	size_t tmp_len;
	char *other;            /**< 'L': another name of the inode (owned when loaded) */
	size_t other_len;
	int64_t ctime_sec;      /**< 'C', 'M' */
	uint32_t ctime_nsec;
};

struct va_journal {
	int fd;
	char *file;
	char backend[16];
	char uuid[40];
	char *source;           /**< image path or ROOT (bytes) */
	size_t source_len;
	int version;            /**< of the header: 1, or 2 with @request */
	char *request;          /**< version 2: the request text (bytes, NUL-terminated), else NULL */
	size_t request_len;
	struct va_journal_rec *recs; /**< loaded records, in file order, then the
					  intents added (without their strings);
					  marks added change only @states, so a
					  replay may walk recs while it marks */
	size_t nrecs, caprecs;
	uint64_t next_seq;
	struct dbuf pending;    /**< lines added but not yet written */
	char *states;           /**< by seq: 0, 'D' or 'U' (the latest) */
	size_t capstates;
	bool created;           /**< made by this process (not loaded) */
	bool dropped_tail;      /**< a torn last line was ignored (and is cut off
				     before the next append) */
	off_t good_len;         /**< end of the last whole record on file */
	int err;                /**< 0, or the -errno of a failed write or
				     fsync: then every later write returns it */
};

/** LOCALSTATEDIR/lib/vaudit, as configure set it (see Makefile.am). */
#ifndef VA_STATE_DIR
#define VA_STATE_DIR "/var/lib/vaudit"
#endif

/** Where journals go unless told otherwise (made 0700 when missing). */
#define VA_JOURNAL_DIR VA_STATE_DIR

/**
 * va_journal_default_name() - a new name in VA_JOURNAL_DIR (made 0700 when
 * missing): "STEM-YYYYmmdd-HHMMSS-PID.journal", appended to @out.  The
 * repair uses the stem "vaudit", vunify and vhashify "unify".
 * Return: 0 or -errno.
 */
int va_journal_default_name(struct dbuf *out, const char *stem);

/**
 * va_journal_create() - create @file (O_EXCL), write and fsync the header,
 * fsync its directory.  Return: 0 or -errno.
 */
int va_journal_create(struct va_journal **ret, const char *file, const char *backend,
		      const char *uuid, const char *source, size_t source_len);

/**
 * va_journal_create_request() - va_journal_create() with a version 2
 * header recording @request (@request_len bytes, the text of
 * migrate/request.h); a NULL @request writes a version 1 header.
 * Return: 0 or -errno.
 */
int va_journal_create_request(struct va_journal **ret, const char *file, const char *backend,
			      const char *uuid, const char *source, size_t source_len,
			      const char *request, size_t request_len);

/**
 * va_journal_load() - read and check @file, and keep it open for appending.
 * @ret_why, @ret_line: what is wrong and where, for a malformed journal.
 * Return: 0, -EINVAL (malformed), or -errno.
 */
int va_journal_load(struct va_journal **ret, const char *file, const char **ret_why,
		    size_t *ret_line);

/**
 * va_journal_load_fd() - va_journal_load() of the journal open as @fd
 * (which it takes over: closed by va_journal_free(), or on failure),
 * named @file in messages.  Opened read-only, the journal can be read
 * and listed, not appended to.  Return: as va_journal_load().
 */
int va_journal_load_fd(struct va_journal **ret, int fd, const char *file, const char **ret_why,
		       size_t *ret_line);

/**
 * va_journal_append() - append @r (seq assigned for 'I', 'L' and 'C'; an
 * 'M' names its intent's), then fsync.  Return: 0 or -errno.
 */
int va_journal_append(struct va_journal *j, struct va_journal_rec *r);

/**
 * va_journal_add() - append @r without fsync (intents kept in memory up
 * to 64 KiB, marks until the next flush or sync): for a batch of intents
 * that va_journal_sync() writes and makes durable before any of them is
 * carried out, and for done/undone marks, which need no fsync (a lost
 * mark only means the state is read again) but must not reach the file
 * before the change they describe is durable: the caller makes it so
 * (syncfs) before it flushes or syncs.
 * Return: 0 or -errno.
 */
int va_journal_add(struct va_journal *j, struct va_journal_rec *r);

/**
 * va_journal_flush() - write what was added, without fsync: the marks
 * then survive the process being killed (not a crash of the machine).
 * Return: 0 or -errno.
 */
int va_journal_flush(struct va_journal *j);

/** va_journal_sync() - write and fsync what was added.  Return: 0 or -errno. */
int va_journal_sync(struct va_journal *j);

/**
 * va_journal_error() - 0, or the -errno of the write or fsync that failed
 * (after which nothing more is written to @j).
 */
int va_journal_error(const struct va_journal *j);

/**
 * va_journal_discard() - forget what was added and not yet written: the
 * done/undone marks of a run that stopped on an error, whose changes may
 * not be on disk (a mark written then would be believed after a crash;
 * without it the state is read again).
 */
void va_journal_discard(struct va_journal *j);

/**
 * va_journal_finish() - the end of a run that returned @r: when it went
 * through (@r >= 0), write and fsync what was added; when it stopped on an
 * error, va_journal_discard().  @j may be NULL (a dry run: nothing to do).
 * Return: @r, or the -errno of the final write.
 */
int va_journal_finish(struct va_journal *j, int r);

/**
 * va_journal_remove_unused() - remove the file of @j, a journal this
 * process created, when it holds nothing but its header: no record was
 * ever added and no write failed.  A run refused before its first change
 * leaves no journal behind.  The name is removed only while it still names
 * @j's own file (device and inode compared), and its directory is fsynced.
 * @j stays usable for va_journal_free().
 * Return: 1 removed, 0 kept (records, loaded, or the name is another
 * file's), or -errno.
 */
int va_journal_remove_unused(struct va_journal *j);

/** va_journal_free() - close and free (NULL is fine). */
void va_journal_free(struct va_journal *j);

/** va_journal_state() - for intent @seq: 'D' done, 'U' undone, 0 neither (O(1)). */
char va_journal_state(const struct va_journal *j, uint64_t seq);

#endif
