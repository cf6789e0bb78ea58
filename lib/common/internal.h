/* Internal helpers shared by every part of the library: error reporting,
 * buffers and text checks. Nothing here is exported. */
#ifndef FB_INTERNAL_H
#define FB_INTERNAL_H

#include <stdbool.h>
#include <stdarg.h>
#include "fiscalbill/common.h"

#define FB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Record the message of a failure on this thread and return status, so a
 * failing path reads `return fb_fail(FB_EARG, "...")`. */
int fb_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fb_fail_oom(void);

/* Buffers: each returns FB_OK or FB_ENOMEM (with the error set). */
int fb_buf_grow(fb_buf *buf, size_t extra);
int fb_buf_put(fb_buf *buf, const void *data, size_t len);
int fb_buf_puts(fb_buf *buf, const char *s);
int fb_buf_printf(fb_buf *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fb_buf_clear(fb_buf *buf);

/* Duplicate a string; NULL (with the error set) when out of memory. */
char *fb_strdup(const char *s);
char *fb_strndup(const char *s, size_t len);

/* Is this text something an XML document can carry as element content?
 * Valid UTF-8, no code points XML 1.0 forbids (C0 controls other than tab,
 * LF and CR, surrogates, U+FFFE, U+FFFF). On failure *why says what and
 * *at the byte offset. */
bool fb_text_is_xml_safe(const char *s, size_t len, const char **why, size_t *at);

/* Check a value for a setter: safe for XML and at most FB_VALUE_MAX bytes.
 * what names the field for the error message. */
int fb_text_check_value(const char *what, const char *value);

/* Is this an XML element name without a prefix (ASCII letters, digits, '_',
 * '-', '.', not starting with a digit, '-' or '.', at most 64 bytes)? */
bool fb_text_is_element_name(const char *s);

/* Append s to out with its bytes shown safely for an error message: quoted,
 * cut after max bytes, control bytes as \xNN. */
void fb_text_quote(char *out, size_t out_size, const char *s, size_t len, size_t max);

/* Only ASCII digits, exactly n of them? */
bool fb_text_is_digits(const char *s, size_t n);

/* Overwrite memory in a way the compiler keeps. */
void fb_wipe(void *p, size_t len);

#endif
