/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * escape.h - make file names safe for terminals, shells and JSON.
 *
 * File names are arbitrary bytes (anything but NUL and '/').  Before a name
 * reaches a terminal it goes through va_escape_shell(); before it reaches a
 * JSON document, va_utf8_valid() decides between va_escape_json() (valid
 * UTF-8) and va_base64() (anything else).  All functions append to a dbuf
 * and return 0 or -ENOMEM.
 */
#ifndef VAUDIT_ESCAPE_H
#define VAUDIT_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dbuf.h"

/**
 * va_utf8_valid() - true if @s[0..@len) is well-formed UTF-8
 * (no overlong forms, surrogates or code points above U+10FFFF).
 */
bool va_utf8_valid(const char *s, size_t len);

/**
 * va_escape_shell() - quote @s for a POSIX shell (bash/ksh/zsh for $'...').
 *
 * Names made only of [A-Za-z0-9/._+,:@%^-] (not starting with '-' or '~')
 * are written as they are.  Others are wrapped in single quotes; a single
 * quote becomes \', and every byte that could act on a terminal (C0 and C1
 * controls, DEL, invalid UTF-8, bidirectional overrides, line separators)
 * is written as $'\n', $'\t' or $'\xHH'.  The result is printable ASCII
 * plus valid, harmless UTF-8, and pasting it into a shell yields @s.
 */
int va_escape_shell(struct dbuf *out, const char *s, size_t len);

/**
 * va_escape_json() - append @s as a JSON string literal, quotes included.
 * @s must be valid UTF-8 (check with va_utf8_valid()); invalid bytes are
 * replaced by U+FFFD.  Control characters (C0 and C1), DEL, bidirectional
 * overrides and line separators are written as \uXXXX (or \n, \t, ...),
 * so the document is safe to show on a terminal.
 */
int va_escape_json(struct dbuf *out, const char *s, size_t len);

/**
 * va_json_field() - append ,"KEY":"string" for @s, or ,"KEY_b64":"..."
 * (base64) when @s is not valid UTF-8, or ,"KEY":null when @s is NULL.
 */
int va_json_field(struct dbuf *out, const char *key, const char *s, size_t len);

/** va_base64() - append @len bytes as standard base64 with padding (RFC 4648). */
int va_base64(struct dbuf *out, const void *p, size_t len);

/**
 * va_unbase64() - append the bytes of standard base64 text @s (@len bytes,
 * padding required, no white space).  The buffer is allocated even for an
 * empty result.  Return: 0, -EINVAL for malformed text (@out unchanged), or
 * -ENOMEM.
 */
int va_unbase64(struct dbuf *out, const char *s, size_t len);

/**
 * va_utf8_decode() - decode one UTF-8 sequence at @s (at most @len bytes).
 * @ret_cp: receives the code point.
 * Return: the sequence length (1..4), or 0 if the bytes are not valid UTF-8.
 */
size_t va_utf8_decode(const char *s, size_t len, uint32_t *ret_cp);

#endif
