/* SPDX-License-Identifier: GPL-2.0-or-later */
/* target.h - the back end target of a walked entry (walker meets back end). */
#ifndef VAUDIT_TARGET_H
#define VAUDIT_TARGET_H

#include <sys/sysmacros.h>

#include "core/attr.h"
#include "core/walk.h"

/** va_target_of() - reach entry @e through its parent fd (and its own fd for a directory). */
static inline struct va_attr_target va_target_of(const struct va_walk_entry *e)
{
	struct va_attr_target t = {
		.fd = e->dir_fd,
		.dir_fd = e->at_fd,
		.name = e->at_name,
		.dev = makedev(e->stx->stx_dev_major, e->stx->stx_dev_minor),
		.ino = e->stx->stx_ino,
		.mode = e->stx->stx_mode,
		.root_index = e->root_index,
	};

	return t;
}

#endif
