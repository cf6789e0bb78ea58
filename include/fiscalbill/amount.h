/* fiscalbill: money. Every amount is an int64_t count of fen (分, 0.01 yuan);
 * the library never uses floating point for money. */
#ifndef FISCALBILL_AMOUNT_H
#define FISCALBILL_AMOUNT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The national format writes amounts as decimals with exactly two fraction
 * digits in at most 15 characters, sign included. These are the largest
 * magnitudes that fit: 999999999999.99 and -99999999999.99. */
#define FB_AMOUNT_TEXT_MAX 15
#define FB_AMOUNT_MAX INT64_C(99999999999999)
#define FB_AMOUNT_MIN INT64_C(-9999999999999)

/* Room for any formatted amount, its NUL included. */
#define FB_AMOUNT_BUFSIZE (FB_AMOUNT_TEXT_MAX + 1)

/* Parse "12345.60" or "-0.05" into fen. Accepted exactly: an optional '-',
 * one or more digits with no leading zero (except a lone "0"), '.', two
 * digits; at most 15 characters; "-0.00" is refused. Anything else returns
 * FB_EINVALID with the reason in fb_last_error(). */
FB_EXTERN int fb_amount_parse(const char *text, int64_t *fen);

/* The same for text of a known length that need not be NUL-terminated. */
FB_EXTERN int fb_amount_parse_n(const char *text, size_t len, int64_t *fen);

/* Format fen as the canonical decimal ("12345.60", "-0.05"). out must hold
 * FB_AMOUNT_BUFSIZE bytes. FB_ERANGE when the amount does not fit 15
 * characters. */
FB_EXTERN int fb_amount_format(int64_t fen, char out[FB_AMOUNT_BUFSIZE]);

/* Room for any amount in Chinese capitals, its NUL included. */
#define FB_CAPITALS_BUFSIZE 256

/* Render fen in Chinese capitals as printed on bills:
 * 12345.60 -> 壹万贰仟叁佰肆拾伍元陆角整, 0.05 -> 伍分, 100.00 -> 壹佰元整,
 * 1001.01 -> 壹仟零壹元零壹分, -3.00 -> 负叁元整, 0.00 -> 零元整.
 * The output is UTF-8 in out (out_size bytes, NUL included). FB_ERANGE for
 * amounts the format cannot carry, FB_EARG when out is too small. */
FB_EXTERN int fb_amount_capitals(int64_t fen, char *out, size_t out_size);

#ifdef __cplusplus
}
#endif

#endif
