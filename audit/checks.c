/* SPDX-License-Identifier: GPL-2.0-or-later */
/* checks.c - the audit rules. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "audit/audit.h"
#include "audit/checks.h"
#include "core/attr.h"
#include "core/flags.h"

uint64_t va_check_file(uint32_t flags, unsigned known)
{
	uint64_t k = 0;

	if (!(known & VA_KNOWN_EXT2))
		return 0;
	if (va_is_vs24_iunlink(flags))
		k |= VA_KIND_BIT(VA_KIND_LEGACY_IUNLINK);
	else if (flags & VA_FL_NOTAIL)
		k |= VA_KIND_BIT(VA_KIND_LEGACY_NOTAIL);
	if (known & VA_KNOWN_VS26) {
		if ((flags & VA_VS26_IUNLINK) && !(flags & VA_FL_IMMUTABLE))
			k |= VA_KIND_BIT(VA_KIND_IUNLINK_NOT_IMMUTABLE);
		if (flags & VA_VS26_COW)
			k |= VA_KIND_BIT(VA_KIND_COW);
	}
	return k;
}

uint64_t va_check_shared(uint32_t flags, unsigned known, size_t nguests)
{
	if (nguests < 2 || !(known & VA_KNOWN_EXT2))
		return 0;
	if (!(flags & VA_FL_IMMUTABLE))
		return VA_KIND_BIT(VA_KIND_SHARED_UNPROTECTED);
	if ((known & VA_KNOWN_VS26) && !(flags & (VA_VS26_IUNLINK | VA_FL_NOTAIL)))
		return VA_KIND_BIT(VA_KIND_SHARED_IMMUTABLE_NO_IUNLINK);
	return 0;
}

uint64_t va_check_dir(uint32_t flags, unsigned known, uint32_t mode, bool guest_root)
{
	uint64_t k = 0;
	bool vs24 = (known & VA_KNOWN_EXT2) && va_is_vs24_barrier(flags, mode);

	if (vs24)
		k |= VA_KIND_BIT(VA_KIND_LEGACY_BARRIER);
	if (guest_root && (vs24 || ((known & VA_KNOWN_VS26) && (flags & VA_VS26_BARRIER))))
		k |= VA_KIND_BIT(VA_KIND_BARRIER_ON_GUEST);
	return k;
}

uint64_t va_check_root(uint32_t flags, unsigned known, uint32_t mode)
{
	if ((known & VA_KNOWN_EXT2) && va_is_vs24_barrier(flags, mode))
		return VA_KIND_BIT(VA_KIND_LEGACY_BARRIER);
	if (known & VA_KNOWN_VS26)
		return (flags & VA_VS26_BARRIER) ? 0 : VA_KIND_BIT(VA_KIND_MISSING_BARRIER);
	return VA_KIND_BIT(VA_KIND_BARRIER_UNVERIFIED);
}

void va_propose(struct va_finding *f, bool on_root)
{
	uint32_t fl = f->flags;
	const uint32_t notail = VA_FL_NOTAIL;

	f->has_proposal = f->flags_known != 0;
	f->new_flags = fl;
	f->new_mode = f->mode;
	switch (f->kind) {
	case VA_KIND_LEGACY_IUNLINK:
	case VA_KIND_SHARED_UNPROTECTED:
	case VA_KIND_SHARED_IMMUTABLE_NO_IUNLINK:
	case VA_KIND_IUNLINK_NOT_IMMUTABLE:
		/* the 2.6 unified state; a stray 2.4 bit goes with it */
		f->new_flags = (fl & ~notail) | VA_FL_IMMUTABLE | VA_VS26_IUNLINK;
		break;
	case VA_KIND_LEGACY_NOTAIL:
		f->new_flags = fl & ~notail;
		break;
	case VA_KIND_LEGACY_BARRIER:
		f->new_flags = fl & ~notail;
		if (on_root)
			f->new_flags |= VA_VS26_BARRIER;
		else
			f->new_mode = (f->mode & ~07777u) | 0700;
		break;
	case VA_KIND_MISSING_BARRIER:
	case VA_KIND_BARRIER_UNVERIFIED:
		f->new_flags = fl | VA_VS26_BARRIER;
		break;
	case VA_KIND_BARRIER_ON_GUEST:
		f->new_flags = fl & ~(uint32_t)VA_VS26_BARRIER;
		if (va_is_vs24_barrier(fl, f->mode)) {
			f->new_flags &= ~notail;
			f->new_mode = (f->mode & ~07777u) | 0755;
		}
		break;
	default:
		f->has_proposal = false;
	}
}

bool va_is_leftover_name(const char *n, size_t len)
{
	if (len < 8 || n[len - 7] != ';')
		return false;
	for (size_t i = len - 6; i < len; i++)
		if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= 'A' && n[i] <= 'Z') ||
		      (n[i] >= '0' && n[i] <= '9')))
			return false;
	return true;
}

bool va_is_store_name(const char *name, size_t len)
{
	return len == sizeof(VA_STORE_NAME) - 1 && memcmp(name, VA_STORE_NAME, len) == 0;
}

bool va_is_store_bookkeeping(const char *name, size_t len, size_t depth)
{
	static const char *const files[] = { "method", "blocks", "blocksize" };

	if (depth != 1)
		return false;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (len == strlen(files[i]) && memcmp(name, files[i], len) == 0)
			return true;
	return false;
}

bool va_severity_counts(enum va_severity sev)
{
	return sev == VA_SEV_ERROR || sev == VA_SEV_WARNING;
}

int va_emit_kinds(const struct va_audit_args *args, struct va_audit_stats *stats,
		  struct va_finding *f, uint64_t kinds, bool on_root)
{
	for (int k = 0; k < VA_KIND_COUNT; k++) {
		int r = 0;

		if (!(kinds & VA_KIND_BIT(k)) || !(args->kinds & VA_KIND_BIT(k)))
			continue;
		f->kind = (enum va_kind)k;
		f->severity = va_kind_severity(f->kind);
		va_propose(f, on_root);
		stats->findings++;
		stats->by_kind[k]++;
		if (va_severity_counts(f->severity))
			stats->problems++;
		if (args->hooks.finding)
			r = args->hooks.finding(f, args->hooks.user);
		if (r < 0)
			return r;
	}
	return 0;
}
