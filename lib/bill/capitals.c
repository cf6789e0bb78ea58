/* Amounts in Chinese capitals (中文大写金额) as printed on bills, following
 * bank and fiscal practice for where 零 and 整 go. */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include "common/internal.h"
#include "fiscalbill/amount.h"

static const char *const digit_names[10] = {
    "零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖",
};

/* Units of the positions inside a four-digit group, highest first. */
static const char *const place_names[4] = { "仟", "佰", "拾", "" };

/* Every capital character is three bytes of UTF-8 and the longest amount
 * needs well under 50 of them, so this never fills; put() still guards. */
typedef struct {
    char text[FB_CAPITALS_BUFSIZE];
    size_t len;
    bool overflow;
} builder;

/* Integer-part state carried across groups. */
typedef struct {
    bool started;      /* a non-zero digit has been written */
    bool zero_pending; /* zeros were skipped since the last digit or group unit */
} zeros;

static void put(builder *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n >= sizeof b->text) {
        b->overflow = true;
        return;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

static void put_digit(builder *b, zeros *z, int d, const char *unit)
{
    if (d == 0) {
        /* Leading zeros are not written at all; inner ones become one 零
         * before the next non-zero digit; trailing ones never get it. */
        z->zero_pending = z->started;
        return;
    }
    if (z->zero_pending)
        put(b, digit_names[0]);
    put(b, digit_names[d]);
    put(b, unit);
    z->started = true;
    z->zero_pending = false;
}

/* One group of four digits (0..9999) followed by its unit 亿, 万 or none.
 * An all-zero group writes nothing, not even its unit, but it still counts
 * as a gap that the next digit marks with 零. */
static void put_group(builder *b, zeros *z, int group, const char *unit)
{
    if (group == 0) {
        z->zero_pending = z->started;
        return;
    }
    static const int scale[4] = { 1000, 100, 10, 1 };
    for (int i = 0; i < 4; i++)
        put_digit(b, z, group / scale[i] % 10, place_names[i]);
    put(b, unit);
    /* The group unit closes the gap: 10,1000 is 壹拾万壹仟, not 壹拾万零壹仟. */
    z->zero_pending = false;
}

static void put_yuan(builder *b, int64_t yuan)
{
    zeros z = { false, false };
    put_group(b, &z, (int)(yuan / 100000000), "亿");
    put_group(b, &z, (int)(yuan / 10000 % 10000), "万");
    put_group(b, &z, (int)(yuan % 10000), "");
    put(b, "元");
}

/* 角 and 分, with 整 closing an amount that stops before 分. The 零 before
 * 分 bridges a missing 角 only when yuan was written before it. */
static void put_fraction(builder *b, bool has_yuan, int jiao, int fen)
{
    if (jiao != 0) {
        put(b, digit_names[jiao]);
        put(b, "角");
    } else if (fen != 0 && has_yuan) {
        put(b, digit_names[0]);
    }
    if (fen != 0) {
        put(b, digit_names[fen]);
        put(b, "分");
    } else {
        put(b, "整");
    }
}

static void put_amount(builder *b, int64_t fen)
{
    if (fen < 0)
        put(b, "负");
    /* In range, so negating cannot overflow. */
    int64_t mag = fen < 0 ? -fen : fen;
    int64_t yuan = mag / 100;
    int cents = (int)(mag % 100);
    if (mag == 0) {
        put(b, "零元整");
        return;
    }
    if (yuan != 0)
        put_yuan(b, yuan);
    put_fraction(b, yuan != 0, cents / 10, cents % 10);
}

int fb_amount_capitals(int64_t fen, char *out, size_t out_size)
{
    if (!out || out_size == 0)
        return fb_fail(FB_EARG, "amount capitals: no output buffer");
    out[0] = '\0';
    if (fen < FB_AMOUNT_MIN || fen > FB_AMOUNT_MAX)
        return fb_fail(FB_ERANGE, "amount of %" PRId64 " fen is outside %" PRId64
                                  "..%" PRId64 " fen",
                       fen, FB_AMOUNT_MIN, FB_AMOUNT_MAX);
    builder b = { .len = 0, .overflow = false };
    b.text[0] = '\0';
    put_amount(&b, fen);
    if (b.overflow)
        return fb_fail(FB_ERROR, "amount capitals: internal buffer too small");
    if (b.len >= out_size)
        return fb_fail(FB_EARG, "amount capitals: output needs %zu bytes, got %zu",
                       b.len + 1, out_size);
    memcpy(out, b.text, b.len + 1);
    return FB_OK;
}
