/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * request.h - what a repair run was asked to do, as the header of its
 * journal records it (journal version 2, field "request=BASE64"), so that
 * vaudit --resume can finish the whole run and not only the changes the
 * journal holds.
 *
 * The request is text, exactly these lines in this order, each
 * "KEY VALUE\n" (one space), every path base64 (RFC 4648, padded), "-"
 * where a value does not apply:
 *
 *   vaudit-request 1
 *   mode fix|plan              a plain --fix (audit, then repair), or --fix --plan
 *   kinds K1,K2,...|-          fix: the kinds repaired (after --only/--skip),
 *                              in the order of vaudit --list-kinds
 *   plan B64|-                 plan: the plan file's absolute path
 *   plan-sha256 HEX|-          plan: SHA-256 of the plan file's bytes (64 hex digits)
 *   prefix B64|-               image: the --prefix audited; live: -
 *   force 0|1
 *   barrier-mode keep|OCTAL    --barrier-mode (4 octal digits)
 *   tag-scheme NAME            --tag-scheme (auto, id24, ...)
 *   device-read 0|1            0: --no-device-read
 *   cross-mounts 0|1
 *   config default|none|dir|host-root   the configuration read: the
 *                              default one, none (--no-config or an image),
 *                              --config DIR, --host-root DIR
 *   config-path B64|-          dir, host-root: that directory
 *
 * The back end and the ROOTs (or the image) are the journal header's own
 * fields.  Journals are untrusted input: va_request_parse() accepts only
 * the text va_request_format() writes for the values it decodes (anything
 * else, a different order, a missing or extra line or byte, is refused).
 * Nothing here prints.
 */
#ifndef VAUDIT_REQUEST_H
#define VAUDIT_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dbuf.h"

#define VA_REQUEST_VERSION 1
#define VA_REQUEST_SHA256_LEN 32

/** Which configuration the run read. */
enum va_request_config {
	VA_REQ_CONFIG_DEFAULT,          /**< /etc/vservers (when it exists) */
	VA_REQ_CONFIG_NONE,             /**< --no-config, or an image */
	VA_REQ_CONFIG_DIR,              /**< --config DIR */
	VA_REQ_CONFIG_HOST_ROOT,        /**< --host-root DIR */
};

struct va_request {
	bool plan;                      /**< --fix --plan (else a plain --fix) */
	uint64_t kinds;                 /**< plain --fix: VA_KIND_BIT()s repaired */
	char *plan_file;                /**< plan: absolute path (owned), else NULL */
	unsigned char plan_sha256[VA_REQUEST_SHA256_LEN];
	char *prefix;                   /**< image: --prefix (owned), live: NULL */
	bool force;
	int barrier_mode;               /**< -1: keep */
	unsigned tag_scheme;            /**< enum va_tag_scheme */
	bool device_read, cross_mounts;
	enum va_request_config config;
	char *config_path;              /**< DIR and HOST_ROOT (owned), else NULL */
};

/** va_request_format() - append the text of @rq to @out.  Return: 0 or -ENOMEM. */
int va_request_format(const struct va_request *rq, struct dbuf *out);

/**
 * va_request_parse() - the request text @s (@len bytes) into @rq (zeroed
 * first; release it in every case).
 * Return: 0; -EINVAL with *@ret_why set (what is wrong, static text) for
 * anything but the exact text va_request_format() writes; -ENOMEM.
 */
int va_request_parse(struct va_request *rq, const char *s, size_t len, const char **ret_why);

/** va_request_release() - free the strings of @rq (zeroed after). */
void va_request_release(struct va_request *rq);

#endif
