/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz-image.c - fuzz target for the image reader and the offline audit.
 *
 * The input is a filesystem image: it is put in a memfd and audited as
 * vaudit --image would (prefix "/", every kind).  Any outcome but a crash,
 * a hang or a sanitizer report is fine: corrupt images must end in an
 * error code.  Seeds: small ext2/3/4 images (fuzz/fuzz-image.sh makes
 * them); the standalone driver mutates them (FUZZ_MUTATE=1).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit/audit.h"
#include "core/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(const struct va_finding *f, void *user)
{
	(void)f;
	++*(unsigned long *)user;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const roots[] = { "/" };
	unsigned long findings = 0;
	struct va_audit_args args = {
		.roots = roots,
		.nroots = 1,
		.kinds = VA_AUDIT_ALL_KINDS,
		.hooks = { .finding = count, .user = &findings },
	};
	struct va_audit_stats stats;
	struct va_error ie = VA_ERROR_INIT;
	struct va_image *img;
	char path[64];
	int fd = memfd_create("vaudit-fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	for (size_t off = 0; off < size;) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0) {
			close(fd);
			return 0;
		}
		off += (size_t)n;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (va_image_open(path, 0, &img, NULL) == 0) {
		va_audit_image(&args, img, &stats, &ie);
		va_error_release(&ie);
		va_image_close(img);
	}
	close(fd);
	return 0;
}
