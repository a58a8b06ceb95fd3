/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * confirm.h - read inodes live on a second thread while the walk goes on.
 *
 * The live audit with inode tables learns from the table which shared
 * inodes may make a finding; what it reports about one must be read again
 * on the live inode.  Those reads are queued here and done by a worker
 * thread, so the walk does not wait for them: on a host full of 2.4
 * leftovers every shared inode is such a read.
 *
 * A queued read names its inode by its identity (device, inode number,
 * type) and its path beneath one of the walk's ROOTs, whose directory fd
 * the queue holds.  The worker opens the parent directory beneath that fd
 * without following a symbolic link anywhere (va_safeopen_beneath()) and
 * reads the inode through the back end by its name there, as the walk
 * would through the parent it holds: the back end opens the name without
 * following it and checks dev/ino/type on what it opened.  A name that no
 * longer leads to that inode gives an error, never another inode's
 * attributes.  Consecutive reads in one directory share one open of it.
 *
 * Results come back on the calling thread, in queue order, whole batches
 * at a time: from va_confirm_add() (finished batches, and while too many
 * are queued it waits for one) and from va_confirm_finish().  So memory is
 * bounded by the batches in flight, not by the number of reads.  Where a
 * thread cannot be started the reads are done on the calling thread.
 *
 * Only a back end with VA_CAP_CONCURRENT_READ is read this way.  Nothing
 * here prints.
 */
#ifndef VAUDIT_AUDIT_CONFIRM_H
#define VAUDIT_AUDIT_CONFIRM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/attr.h"

/** One read, as queued and as it comes back. */
struct va_confirm_read {
	uint32_t id;            /**< the caller's */
	size_t root_index;      /**< the ROOT the path is beneath (va_confirm_root()) */
	dev_t dev;              /**< identity the inode must have */
	uint64_t ino;
	uint32_t mode;          /**< its type (and mode) as the walk saw it */
	uint32_t vs26_flags;    /**< the table's 2.6 bits (va_attr_target.vs26_hint) */
	const char *path;       /**< display path (for messages) ... */
	size_t path_len;
	size_t rel_off;         /**< ... of which path + rel_off is the path beneath the ROOT */
	/* results */
	struct va_attrs at;     /**< what the back end read, when r == 0 */
	int r;                  /**< 0 or a negative errno of the read */
};

struct va_confirm;

/** va_confirm_fn - one finished read (@rd->path valid during the call). */
typedef void va_confirm_fn(const struct va_confirm_read *rd, void *user);

/**
 * va_confirm_new() - a queue reading through @be (which must outlive it)
 * and giving results to @done.  Return: 0, -ENOMEM, or -EOPNOTSUPP when
 * @be cannot be read from another thread.
 */
int va_confirm_new(struct va_backend *be, va_confirm_fn *done, void *user, struct va_confirm **ret);

/**
 * va_confirm_root() - the queue keeps its own duplicate of @fd, the
 * directory of ROOT @root_index, for the reads beneath it.
 * Return: 0 or a negative errno.
 */
int va_confirm_root(struct va_confirm *q, size_t root_index, int fd);

/** va_confirm_has_root() - does the queue hold the directory of ROOT @root_index? */
bool va_confirm_has_root(const struct va_confirm *q, size_t root_index);

/**
 * va_confirm_add() - queue @rd (its results fields are ignored; the path
 * is copied).  May call @done for reads finished meanwhile.
 * Return: 0 or -ENOMEM.
 */
int va_confirm_add(struct va_confirm *q, const struct va_confirm_read *rd);

/**
 * va_confirm_finish() - wait for every queued read and give each to
 * @done; the queue is then empty and can be freed or used again.
 */
void va_confirm_finish(struct va_confirm *q);

/** va_confirm_free() - stop the worker (results not yet given are dropped) and free @q (NULL is fine). */
void va_confirm_free(struct va_confirm *q);

#endif
