/* SPDX-License-Identifier: GPL-2.0-or-later */
/* finding.c - the kind and severity tables. */
#include "config.h"

#include <string.h>

#include "core/finding.h"

static const struct {
	const char *name;
	enum va_severity severity;
	const char *why;
} kinds[VA_KIND_COUNT] = {
#define VA_X_KIND(id, name, sev, why) [VA_KIND_##id] = { name, VA_SEV_##sev, why },
	VA_KINDS(VA_X_KIND)
#undef VA_X_KIND
};

static const char *const severities[VA_SEV_COUNT] = {
#define VA_X_SEV(id, name) [VA_SEV_##id] = name,
	VA_SEVERITIES(VA_X_SEV)
#undef VA_X_SEV
};

const char *va_kind_name(enum va_kind kind)
{
	return (unsigned)kind < VA_KIND_COUNT ? kinds[kind].name : NULL;
}

enum va_severity va_kind_severity(enum va_kind kind)
{
	return (unsigned)kind < VA_KIND_COUNT ? kinds[kind].severity : VA_SEV_ERROR;
}

const char *va_kind_why(enum va_kind kind)
{
	return (unsigned)kind < VA_KIND_COUNT ? kinds[kind].why : "";
}

int va_kind_parse(const char *name)
{
	for (int k = 0; k < VA_KIND_COUNT; k++)
		if (strcmp(kinds[k].name, name) == 0)
			return k;
	return -1;
}

const char *va_severity_name(enum va_severity sev)
{
	return (unsigned)sev < VA_SEV_COUNT ? severities[sev] : "?";
}
