/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * runsize.h - the size of the last complete live audit of a set of ROOTs,
 * kept so that the next run's progress line can show a percentage.
 *
 * The file is VA_RUNSIZE_DIR/audit-sizes (or $VAUDIT_CACHE_DIR/audit-sizes
 * where that is an absolute path): a cache, safe to delete, one line per
 * set of ROOTs, "ENTRIES KEY", KEY a 64-bit FNV-1a digest (16 hex digits)
 * of the ROOTs' real paths, at most VA_RUNSIZE_KEEP lines (the oldest
 * go).  It is untrusted input: a line that does not parse is ignored.  A
 * new version replaces the file by rename(), so a reader sees the old one
 * or the new one.  Nothing here prints.
 */
#ifndef VAUDIT_RUNSIZE_H
#define VAUDIT_RUNSIZE_H

#include <stddef.h>
#include <stdint.h>

#define VA_RUNSIZE_DIR "/var/cache/vaudit"
#define VA_RUNSIZE_KEEP 64

/**
 * va_runsize_key() - the key of @roots (their real paths; a ROOT that
 * does not resolve counts by the name given).
 */
uint64_t va_runsize_key(const char *const *roots, size_t nroots);

/** va_runsize_get() - the entries recorded for @key, or 0 when none (or unreadable). */
uint64_t va_runsize_get(uint64_t key);

/**
 * va_runsize_put() - record @entries for @key (the directory is made,
 * 0755, when missing).  Return: 0 or a negative errno.
 */
int va_runsize_put(uint64_t key, uint64_t entries);

#endif
