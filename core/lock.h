/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lock.h - one run at a time changes a filesystem.
 *
 * Two runs that change the same host must not interleave: two `vaudit
 * --fix`, two vhashify on one store, vhashify during a repair or an undo.
 * Every run that changes anything (not a dry run) first takes the change
 * lock of each filesystem it will change, and holds it until it ends:
 *
 *  - a live filesystem (the one holding a ROOT, a guest tree or a hash
 *    store): flock(LOCK_EX) on VA_LOCK_DIR/fs-MAJOR:MINOR.lock (made 0700
 *    and 0600; $VAUDIT_LOCK_DIR overrides the directory), whose text names
 *    the holder (program and pid) for the message of a run that is refused;
 *  - an image file or block device: flock(LOCK_EX) on the image itself.
 *
 * A run that finds a lock held is refused at once, before it changes
 * anything, with a message naming the holder.  The kernel releases a
 * lock when its holder exits in any way (kill -9 included): there are no
 * stale locks to clean up.  Nothing here prints.
 */
#ifndef VAUDIT_LOCK_H
#define VAUDIT_LOCK_H

#include <stddef.h>
#include <sys/types.h>

struct va_error;

/** The directory of the live filesystems' lock files (see VAUDIT_LOCK_DIR). */
#define VA_LOCK_DIR "/run/vaudit"

/** The locks a run holds. */
struct va_locks {
	struct va_lock_held {
		int fd;
		dev_t dev;              /**< the filesystem (live), or 0 */
		dev_t idev;             /**< an image: the device and inode of the file */
		ino_t iino;
	} *held;
	size_t n;
	const char *holder;     /**< "vhashify", "vaudit --fix", ...: for the others' messages */
};

#define VA_LOCKS_INIT(holder) { NULL, 0, (holder) }

/**
 * va_lock_fs() - take the change lock of the filesystem that holds @path
 * (a directory or file, followed as given), unless @l holds it already.
 * @err: (initialised) receives the refusal: "'PATH': another run is
 * changing this filesystem (HOLDER): try again when it has ended".
 * Return: 0, -EBUSY (held by another run), or another -errno.
 */
int va_lock_fs(struct va_locks *l, const char *path, struct va_error *err);

/**
 * va_lock_image() - take the change lock of the image file or block
 * device @image, unless @l holds it already.  Return: as va_lock_fs().
 */
int va_lock_image(struct va_locks *l, const char *image, struct va_error *err);

/**
 * va_lock_targets() - the change lock of @image (va_lock_image()), or
 * else of the filesystems of the @npaths @paths (va_lock_fs()): what a
 * run that changes them takes first.  Return: as va_lock_fs().
 */
int va_lock_targets(struct va_locks *l, const char *image, const char *const *paths, size_t npaths,
		    struct va_error *err);

/** va_locks_release() - release every lock of @l (also done by the kernel at exit). */
void va_locks_release(struct va_locks *l);

#endif
