/* Amounts as text: the national format's decimal with exactly two fraction
 * digits, parsed into and formatted from int64 fen. No floating point. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "common/internal.h"
#include "fiscalbill/amount.h"

/* Enough to quote any input cut at 32 bytes, even when every byte needs a
 * \xNN escape. */
#define QUOTE_MAX 32
#define QUOTE_SIZE (QUOTE_MAX * 4 + 8)

static bool is_digit(char c)
{
    /* Not isdigit(): that depends on the locale and on char's sign. */
    return c >= '0' && c <= '9';
}

static int reject(const char *text, size_t len, const char *why)
{
    char quoted[QUOTE_SIZE];
    fb_text_quote(quoted, sizeof quoted, text, len, QUOTE_MAX);
    return fb_fail(FB_EINVALID, "amount %s, got %s", why, quoted);
}

static int reject_at(const char *text, size_t len, size_t pos)
{
    char quoted[QUOTE_SIZE];
    fb_text_quote(quoted, sizeof quoted, text, len, QUOTE_MAX);
    return fb_fail(FB_EINVALID, "amount has an unexpected character at byte %zu, got %s", pos,
                   quoted);
}

/* Read a run of digits starting at *pos, advancing *pos past it. The caller
 * has capped len at 15, so the value cannot overflow. */
static int64_t take_digits(const char *text, size_t len, size_t *pos)
{
    int64_t v = 0;
    while (*pos < len && is_digit(text[*pos]))
        v = v * 10 + (text[(*pos)++] - '0');
    return v;
}

/* The parts that must come after the integer digits: '.', then exactly two
 * digits and nothing else. */
static int check_fraction(const char *text, size_t len, size_t pos)
{
    if (pos == len)
        return reject(text, len, "must have a decimal point");
    if (text[pos] != '.')
        return reject_at(text, len, pos);
    size_t start = ++pos;
    while (pos < len && is_digit(text[pos]))
        pos++;
    if (pos < len)
        return reject_at(text, len, pos);
    if (pos - start != 2)
        return reject(text, len, "must have exactly two fraction digits");
    return FB_OK;
}

static int check_shape(const char *text, size_t len)
{
    if (len == 0)
        return reject(text, len, "must not be empty");
    if (len > FB_AMOUNT_TEXT_MAX)
        return reject(text, len, "is longer than 15 characters");
    if (memchr(text, '\0', len))
        return reject(text, len, "must not hold a NUL byte");
    size_t pos = text[0] == '-';
    if (pos == len || !is_digit(text[pos]))
        return reject(text, len, pos ? "must have a digit after '-'"
                                     : "must start with a digit or '-'");
    if (text[pos] == '0' && pos + 1 < len && is_digit(text[pos + 1]))
        return reject(text, len, "must not have a leading zero");
    while (pos < len && is_digit(text[pos]))
        pos++;
    return check_fraction(text, len, pos);
}

int fb_amount_parse_n(const char *text, size_t len, int64_t *fen)
{
    if (!text)
        return fb_fail(FB_EARG, "amount: text is NULL");
    if (!fen)
        return fb_fail(FB_EARG, "amount: result pointer is NULL");
    int rc = check_shape(text, len);
    if (rc != FB_OK)
        return rc;
    /* Fifteen characters cannot hold more than FB_AMOUNT_MAX or less than
     * FB_AMOUNT_MIN, so the shape check is also the range check. */
    bool negative = text[0] == '-';
    size_t pos = negative;
    int64_t yuan = take_digits(text, len, &pos);
    pos++;
    int64_t v = yuan * 100 + take_digits(text, len, &pos);
    if (negative && v == 0)
        return reject(text, len, "must not be negative zero");
    *fen = negative ? -v : v;
    return FB_OK;
}

int fb_amount_parse(const char *text, int64_t *fen)
{
    if (!text)
        return fb_fail(FB_EARG, "amount: text is NULL");
    return fb_amount_parse_n(text, strlen(text), fen);
}

int fb_amount_format(int64_t fen, char out[FB_AMOUNT_BUFSIZE])
{
    if (!out)
        return fb_fail(FB_EARG, "amount: output buffer is NULL");
    if (fen < FB_AMOUNT_MIN || fen > FB_AMOUNT_MAX)
        return fb_fail(FB_ERANGE, "amount of %" PRId64 " fen does not fit %d characters",
                       fen, FB_AMOUNT_TEXT_MAX);
    /* In range, so negating cannot overflow. */
    int64_t mag = fen < 0 ? -fen : fen;
    /* The range check above bounds the length; the compiler cannot see it. */
    char tmp[48];
    snprintf(tmp, sizeof tmp, "%s%" PRId64 ".%02d", fen < 0 ? "-" : "", mag / 100,
             (int)(mag % 100));
    memcpy(out, tmp, FB_AMOUNT_BUFSIZE);
    return FB_OK;
}
