/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run.c - the whole audit as vaudit runs it (see run.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "audit/run.h"

int va_audit_all(const struct va_audit_args *args, struct va_image *img,
		 struct va_audit_stats *stats, struct va_error *err)
{
	struct va_audit_stats more = { 0 };
	int r;

	if (img)
		return va_audit_image(args, img, stats, err);
	r = va_audit_run(args, stats);
	/* the configuration checks come after the walk: its counters are zeroed there */
	if (r == 0)
		r = va_audit_config(args, &more);
	if (r == 0)
		r = va_audit_hash_stores(args, &more);
	stats->entries += more.entries;
	stats->flag_reads += more.flag_reads;
	stats->errors += more.errors;
	stats->findings += more.findings;
	stats->problems += more.problems;
	for (int k = 0; k < VA_KIND_COUNT; k++)
		stats->by_kind[k] += more.by_kind[k];
	return r;
}
