/* Amounts: parsing and formatting the two-decimal text, and Chinese capitals. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "fbt.h"

/* Parse must fail with FB_EINVALID and a message that quotes the input and
 * names the problem. quoted is the input as the message shows it. */
static void expect_reject_n(const char *text, size_t len, const char *quoted, const char *why)
{
    int64_t fen = 12345;
    fb_clear_error();
    int rc = fb_amount_parse_n(text, len, &fen);
    ck_assert_msg(rc == FB_EINVALID, "%s: got status %d", quoted, rc);
    ck_assert_msg(fen == 12345, "%s: result was written on failure", quoted);
    const char *msg = fb_last_error();
    ck_assert_msg(strstr(msg, quoted) != NULL, "message \"%s\" does not quote %s", msg, quoted);
    ck_assert_msg(strstr(msg, why) != NULL, "message \"%s\" does not say \"%s\"", msg, why);
}

static void expect_reject(const char *text, const char *why)
{
    char quoted[128];
    snprintf(quoted, sizeof quoted, "\"%s\"", text);
    expect_reject_n(text, strlen(text), quoted, why);
    /* The NUL-terminated entry point must agree. */
    int64_t fen;
    ck_assert_int_eq(fb_amount_parse(text, &fen), FB_EINVALID);
}

static void expect_parse(const char *text, int64_t want)
{
    int64_t fen = -1;
    int rc = fb_amount_parse(text, &fen);
    ck_assert_msg(rc == FB_OK, "\"%s\": status %d: %s", text, rc, fb_last_error());
    ck_assert_msg(fen == want, "\"%s\": got %" PRId64 ", want %" PRId64, text, fen, want);
}

static void expect_format(int64_t fen, const char *want)
{
    char out[FB_AMOUNT_BUFSIZE];
    int rc = fb_amount_format(fen, out);
    ck_assert_msg(rc == FB_OK, "%" PRId64 ": status %d: %s", fen, rc, fb_last_error());
    ck_assert_str_eq(out, want);
}

static void expect_capitals(int64_t fen, const char *want)
{
    char out[FB_CAPITALS_BUFSIZE];
    int rc = fb_amount_capitals(fen, out, sizeof out);
    ck_assert_msg(rc == FB_OK, "%" PRId64 ": status %d: %s", fen, rc, fb_last_error());
    ck_assert_msg(strcmp(out, want) == 0, "%" PRId64 ": got %s, want %s", fen, out, want);
}

/* A fixed-seed xorshift64* so every run sweeps the same values. */
static uint64_t rng_state = UINT64_C(0x9E3779B97F4A7C15);

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

/* A value in range with a random number of digits, so small and large
 * magnitudes are both common. */
static int64_t rng_amount(void)
{
    for (;;) {
        int digits = 1 + (int)(rng_next() % 14);
        uint64_t mod = 1;
        for (int i = 0; i < digits; i++)
            mod *= 10;
        int64_t v = (int64_t)(rng_next() % mod);
        if (rng_next() & 1)
            v = -v;
        if (v >= FB_AMOUNT_MIN && v <= FB_AMOUNT_MAX)
            return v;
    }
}

static void check_round_trip(int64_t fen)
{
    char text[FB_AMOUNT_BUFSIZE];
    int rc = fb_amount_format(fen, text);
    ck_assert_msg(rc == FB_OK, "%" PRId64 ": format status %d", fen, rc);
    ck_assert_msg(strlen(text) <= FB_AMOUNT_TEXT_MAX, "%s is too long", text);
    int64_t back = 0;
    rc = fb_amount_parse(text, &back);
    ck_assert_msg(rc == FB_OK, "\"%s\": parse status %d: %s", text, rc, fb_last_error());
    ck_assert_msg(back == fen, "\"%s\": got %" PRId64 ", want %" PRId64, text, back, fen);
}

static int find_name(const char *s, const char *const *names, int count)
{
    for (int i = 0; i < count; i++)
        if (strncmp(s, names[i], strlen(names[i])) == 0)
            return i;
    return -1;
}

/* Read capitals back into fen, so the sweep can check the rendering without
 * a second copy of the algorithm. INT64_MIN for a character it does not
 * know. */
static int64_t decode_capitals(const char *s)
{
    static const char *const digits[10] = { "零", "壹", "贰", "叁", "肆",
                                            "伍", "陆", "柒", "捌", "玖" };
    static const char *const marks[] = { "拾", "佰", "仟", "万", "亿",
                                         "元", "角", "分", "负", "整" };
    static const int64_t places[3] = { 10, 100, 1000 };
    int64_t total = 0, section = 0, number = 0, yuan = 0, jiao = 0, fen = 0, sign = 1;
    for (; *s; s += 3) {
        int d = find_name(s, digits, 10);
        if (d >= 0) {
            number = d;
            continue;
        }
        int m = find_name(s, marks, 10);
        switch (m) {
        case 0: case 1: case 2:
            section += number * places[m];
            number = 0;
            break;
        case 3:
            total += (section + number) * 10000;
            section = number = 0;
            break;
        case 4:
            total = (total + section + number) * 100000000;
            section = number = 0;
            break;
        case 5:
            yuan = total + section + number;
            total = section = number = 0;
            break;
        case 6: jiao = number; number = 0; break;
        case 7: fen = number; number = 0; break;
        case 8: sign = -1; break;
        case 9: break;
        default: return INT64_MIN;
        }
    }
    return sign * (yuan * 100 + jiao * 10 + fen);
}

static void check_capitals_shape(int64_t fen)
{
    char out[FB_CAPITALS_BUFSIZE];
    ck_assert_int_eq(fb_amount_capitals(fen, out, sizeof out), FB_OK);
    ck_assert_msg(decode_capitals(out) == fen, "%" PRId64 ": %s reads back as %" PRId64, fen,
                  out, decode_capitals(out));
    /* Zero alone is 零元整; everywhere else 零 only ever stands before a
     * non-zero digit. */
    static const char *const never[] = { "零零", "零万", "零亿", "零元", "零角", "亿万",
                                         "零整", "分整" };
    for (size_t i = 0; fen != 0 && i < sizeof never / sizeof never[0]; i++)
        ck_assert_msg(strstr(out, never[i]) == NULL, "%" PRId64 ": %s holds %s", fen, out,
                      never[i]);
    size_t len = strlen(out);
    ck_assert_msg(len >= 3 && (strcmp(out + len - 3, "整") == 0 ||
                               strcmp(out + len - 3, "分") == 0),
                  "%" PRId64 ": %s ends neither in 整 nor 分", fen, out);
}

START_TEST(parse_valid)
{
    expect_parse("0.00", 0);
    expect_parse("0.01", 1);
    expect_parse("-0.01", -1);
    expect_parse("-0.05", -5);
    expect_parse("0.50", 50);
    expect_parse("1.00", 100);
    expect_parse("10.50", 1050);
    expect_parse("12345.60", 1234560);
    expect_parse("-3.00", -300);
    expect_parse("1001.01", 100101);
    expect_parse("999999999999.99", FB_AMOUNT_MAX);
    expect_parse("-99999999999.99", FB_AMOUNT_MIN);
    expect_parse("100000000000.00", INT64_C(10000000000000));
}
END_TEST

START_TEST(parse_n_reads_only_len_bytes)
{
    int64_t fen = 0;
    ck_assert_int_eq(fb_amount_parse_n("12.3456", 5, &fen), FB_OK);
    ck_assert_int_eq(fen, 1234);
    /* No NUL anywhere in the buffer: parse_n must not look past len. */
    const char raw[4] = { '0', '.', '0', '7' };
    ck_assert_int_eq(fb_amount_parse_n(raw, sizeof raw, &fen), FB_OK);
    ck_assert_int_eq(fen, 7);
}
END_TEST

START_TEST(parse_rejects_malformed)
{
    expect_reject("1.2", "exactly two fraction digits");
    expect_reject("12.3", "exactly two fraction digits");
    expect_reject("1.234", "exactly two fraction digits");
    expect_reject("1.", "exactly two fraction digits");
    expect_reject("01.00", "leading zero");
    expect_reject("00.00", "leading zero");
    expect_reject("-01.00", "leading zero");
    expect_reject("+1.00", "must start with a digit");
    expect_reject("-0.00", "negative zero");
    expect_reject(".50", "must start with a digit");
    expect_reject("-.50", "digit after '-'");
    expect_reject("-", "digit after '-'");
    expect_reject("--1.00", "digit after '-'");
    expect_reject("1,000.00", "unexpected character at byte 1");
    expect_reject(" 1.00", "must start with a digit");
    expect_reject("1.00 ", "unexpected character at byte 4");
    expect_reject("1.0x", "unexpected character at byte 3");
    expect_reject("1.00.00", "unexpected character at byte 4");
    expect_reject("100", "decimal point");
    expect_reject("", "empty");
    expect_reject("\xEF\xBC\x91.\xEF\xBC\x90\xEF\xBC\x90", "must start with a digit"); /* １.００ */
    expect_reject("1e3.00", "unexpected character");
    expect_reject("0x10.00", "unexpected character");
}
END_TEST

START_TEST(parse_rejects_too_long)
{
    /* Sixteen characters, one past the limit, either sign. */
    expect_reject("1000000000000.00", "longer than 15 characters");
    expect_reject("-100000000000.00", "longer than 15 characters");
    expect_reject("0000000000000000", "longer than 15 characters");
    /* A very long input is cut in the message but still quoted. */
    char longer[200];
    memset(longer, '9', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    int64_t fen;
    ck_assert_int_eq(fb_amount_parse(longer, &fen), FB_EINVALID);
    ck_assert_ptr_nonnull(strstr(fb_last_error(), "\"9999999999999999"));
    ck_assert_ptr_nonnull(strstr(fb_last_error(), "longer than 15 characters"));
}
END_TEST

START_TEST(parse_rejects_nul)
{
    expect_reject_n("1\0.00", 5, "\"1\\x00.00\"", "NUL");
    expect_reject_n("1.00\0", 5, "\"1.00\\x00\"", "NUL");
    expect_reject_n("\0", 1, "\"\\x00\"", "NUL");
}
END_TEST

START_TEST(parse_null_arguments)
{
    int64_t fen;
    ck_assert_int_eq(fb_amount_parse(NULL, &fen), FB_EARG);
    ck_assert_int_eq(fb_amount_parse_n(NULL, 4, &fen), FB_EARG);
    ck_assert_int_eq(fb_amount_parse_n(NULL, 0, &fen), FB_EARG);
    ck_assert_int_eq(fb_amount_parse("1.00", NULL), FB_EARG);
    ck_assert_int_eq(fb_amount_parse_n("1.00", 4, NULL), FB_EARG);
}
END_TEST

START_TEST(format_values)
{
    expect_format(0, "0.00");
    expect_format(1, "0.01");
    expect_format(-1, "-0.01");
    expect_format(-5, "-0.05");
    expect_format(50, "0.50");
    expect_format(100, "1.00");
    expect_format(1050, "10.50");
    expect_format(1234560, "12345.60");
    expect_format(-300, "-3.00");
    expect_format(FB_AMOUNT_MAX, "999999999999.99");
    expect_format(FB_AMOUNT_MIN, "-99999999999.99");
}
END_TEST

START_TEST(format_range)
{
    char out[FB_AMOUNT_BUFSIZE];
    const int64_t outside[] = { FB_AMOUNT_MAX + 1, FB_AMOUNT_MIN - 1, INT64_MAX, INT64_MIN,
                                INT64_C(100000000000000), INT64_C(-10000000000000) };
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
        ck_assert_msg(fb_amount_format(outside[i], out) == FB_ERANGE, "%" PRId64 " formatted",
                      outside[i]);
    ck_assert_int_eq(fb_amount_format(0, NULL), FB_EARG);
}
END_TEST

START_TEST(round_trip_tricky)
{
    const int64_t base[] = { 0, 1, 5, 9, 10, 11, 99, 100, 101, 109, 110, 999, 1000, 1001,
                             10000, 100000, 1000000, 99999999, 100000000, 100000001,
                             INT64_C(9999999999999), INT64_C(10000000000000),
                             FB_AMOUNT_MAX - 1, FB_AMOUNT_MAX };
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) {
        check_round_trip(base[i]);
        if (-base[i] >= FB_AMOUNT_MIN)
            check_round_trip(-base[i]);
    }
    check_round_trip(FB_AMOUNT_MIN);
    check_round_trip(FB_AMOUNT_MIN + 1);
    /* Every power of ten and its neighbours. */
    for (int64_t p = 1; p <= FB_AMOUNT_MAX; p *= 10) {
        check_round_trip(p - 1);
        check_round_trip(p);
        if (p + 1 <= FB_AMOUNT_MAX)
            check_round_trip(p + 1);
        if (-p >= FB_AMOUNT_MIN)
            check_round_trip(-p);
    }
    for (int64_t v = -1000; v <= 1000; v++)
        check_round_trip(v);
}
END_TEST

START_TEST(round_trip_sweep)
{
    rng_state = UINT64_C(0x9E3779B97F4A7C15);
    for (int i = 0; i < 200000; i++)
        check_round_trip(rng_amount());
}
END_TEST

/* Whatever bytes come in, parse either refuses them or they were exactly the
 * canonical text of the value it returns. */
START_TEST(parse_fuzz)
{
    static const char alphabet[] = "0123456789-.+ ,e\0\xEF";
    rng_state = UINT64_C(0x243F6A8885A308D3);
    int accepted = 0;
    for (int i = 0; i < 200000; i++) {
        char text[18];
        size_t len = rng_next() % sizeof text;
        for (size_t j = 0; j < len; j++) {
            /* Mostly digits and '.', so some inputs are valid. */
            uint64_t r = rng_next();
            text[j] = (r & 3) ? "0123456789."[(r >> 2) % 11] : alphabet[(r >> 2) % 18];
        }
        int64_t fen = 0;
        int rc = fb_amount_parse_n(text, len, &fen);
        if (rc == FB_EINVALID) {
            ck_assert(fb_last_error()[0] != '\0');
            continue;
        }
        ck_assert_int_eq(rc, FB_OK);
        char back[FB_AMOUNT_BUFSIZE];
        ck_assert_int_eq(fb_amount_format(fen, back), FB_OK);
        ck_assert_msg(strlen(back) == len && memcmp(back, text, len) == 0,
                      "accepted \"%.*s\" as %s", (int)len, text, back);
        accepted++;
    }
    ck_assert_int_gt(accepted, 100);
}
END_TEST

START_TEST(capitals_examples)
{
    expect_capitals(INT64_C(100100), "壹仟零壹元整");
    expect_capitals(INT64_C(101000), "壹仟零壹拾元整");
    expect_capitals(INT64_C(10000100), "壹拾万零壹元整");
    expect_capitals(INT64_C(10000000100), "壹亿零壹元整");
    expect_capitals(INT64_C(10001000000), "壹亿零壹万元整");
    expect_capitals(INT64_C(11000000000), "壹亿壹仟万元整");
    expect_capitals(INT64_C(101000000), "壹佰零壹万元整");
    expect_capitals(INT64_C(10100000), "壹拾万壹仟元整");
    expect_capitals(1000, "壹拾元整");
    expect_capitals(100101, "壹仟零壹元零壹分");
    expect_capitals(105, "壹元零伍分");
    expect_capitals(5, "伍分");
    expect_capitals(50, "伍角整");
    expect_capitals(55, "伍角伍分");
    expect_capitals(0, "零元整");
    expect_capitals(1234560, "壹万贰仟叁佰肆拾伍元陆角整");
    expect_capitals(10000, "壹佰元整");
    expect_capitals(1050, "壹拾元伍角整");
    expect_capitals(10000000, "壹拾万元整");
    expect_capitals(-300, "负叁元整");
    expect_capitals(-5, "负伍分");
}
END_TEST

START_TEST(capitals_more)
{
    expect_capitals(1, "壹分");
    expect_capitals(10, "壹角整");
    expect_capitals(11, "壹角壹分");
    expect_capitals(100, "壹元整");
    expect_capitals(110, "壹元壹角整");
    expect_capitals(2007, "贰拾元零柒分");
    expect_capitals(1000000, "壹万元整");
    expect_capitals(INT64_C(10000000000), "壹亿元整");
    expect_capitals(INT64_C(10000000001), "壹亿元零壹分");
    expect_capitals(INT64_C(10000100000), "壹亿零壹仟元整");
    expect_capitals(INT64_C(12000340000), "壹亿贰仟万叁仟肆佰元整");
    expect_capitals(INT64_C(10000000000000), "壹仟亿元整");
    expect_capitals(INT64_C(10000000000100), "壹仟亿零壹元整");
    expect_capitals(INT64_C(10010010010000), "壹仟零壹亿零壹拾万零壹佰元整");
    expect_capitals(INT64_C(2030405060708), "贰佰零叁亿零肆佰零伍万零陆佰零柒元零捌分");
    expect_capitals(-1234560, "负壹万贰仟叁佰肆拾伍元陆角整");
}
END_TEST

START_TEST(capitals_limits)
{
    expect_capitals(FB_AMOUNT_MAX,
                    "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分");
    expect_capitals(FB_AMOUNT_MIN, "负玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分");
    char out[FB_CAPITALS_BUFSIZE];
    ck_assert_int_eq(fb_amount_capitals(FB_AMOUNT_MAX + 1, out, sizeof out), FB_ERANGE);
    ck_assert_int_eq(fb_amount_capitals(FB_AMOUNT_MIN - 1, out, sizeof out), FB_ERANGE);
    ck_assert_int_eq(fb_amount_capitals(INT64_MAX, out, sizeof out), FB_ERANGE);
    ck_assert_int_eq(fb_amount_capitals(INT64_MIN, out, sizeof out), FB_ERANGE);
}
END_TEST

START_TEST(capitals_small_buffer)
{
    const char *want = "壹万贰仟叁佰肆拾伍元陆角整";
    size_t need = strlen(want) + 1;
    char out[FB_CAPITALS_BUFSIZE];
    /* Every size short of the need fails and leaves the bytes past it alone. */
    for (size_t size = 1; size < need; size++) {
        memset(out, 'Z', sizeof out);
        ck_assert_int_eq(fb_amount_capitals(1234560, out, size), FB_EARG);
        ck_assert_msg(fb_last_error()[0] != '\0', "no message for size %zu", size);
        for (size_t i = size; i < sizeof out; i++)
            ck_assert_msg(out[i] == 'Z', "size %zu: byte %zu written", size, i);
    }
    memset(out, 'Z', sizeof out);
    ck_assert_int_eq(fb_amount_capitals(1234560, out, need), FB_OK);
    ck_assert_str_eq(out, want);
    ck_assert_int_eq(fb_amount_capitals(1234560, out, 0), FB_EARG);
    ck_assert_int_eq(fb_amount_capitals(1234560, NULL, 64), FB_EARG);
}
END_TEST

START_TEST(capitals_sweep)
{
    rng_state = UINT64_C(0xB7E151628AED2A6B);
    for (int i = 0; i < 100000; i++)
        check_capitals_shape(rng_amount());
    for (int64_t v = -20000; v <= 20000; v++)
        check_capitals_shape(v);
    /* Sparse values, where the zero rules matter most. */
    for (int64_t p = 1; p <= FB_AMOUNT_MAX; p *= 10)
        for (int64_t q = 1; q < p && p + q <= FB_AMOUNT_MAX; q *= 10)
            check_capitals_shape(p + q);
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("amount");
    TCase *parse = tcase_create("parse");
    tcase_add_test(parse, parse_valid);
    tcase_add_test(parse, parse_n_reads_only_len_bytes);
    tcase_add_test(parse, parse_rejects_malformed);
    tcase_add_test(parse, parse_rejects_too_long);
    tcase_add_test(parse, parse_rejects_nul);
    tcase_add_test(parse, parse_null_arguments);
    tcase_add_test(parse, parse_fuzz);
    suite_add_tcase(s, parse);

    TCase *format = tcase_create("format");
    tcase_add_test(format, format_values);
    tcase_add_test(format, format_range);
    tcase_add_test(format, round_trip_tricky);
    tcase_add_test(format, round_trip_sweep);
    suite_add_tcase(s, format);

    TCase *capitals = tcase_create("capitals");
    tcase_add_test(capitals, capitals_examples);
    tcase_add_test(capitals, capitals_more);
    tcase_add_test(capitals, capitals_limits);
    tcase_add_test(capitals, capitals_small_buffer);
    tcase_add_test(capitals, capitals_sweep);
    suite_add_tcase(s, capitals);
    return s;
}
