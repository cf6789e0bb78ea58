/* The kind table: built-in kinds, lookups, codes set in code and by
 * configuration text or file, and tables being independent of each other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fbt.h"

static const struct {
    const char *slug, *name, *code;
} expected_kinds[] = {
    { "medical-outpatient", "医疗门诊收费票据（电子）", "0601" },
    { "medical-inpatient", "医疗住院收费票据（电子）", "0602" },
    { "funds-settlement", "行政事业单位资金往来结算票据", NULL },
    { "nontax-general", "非税收入统一票据", NULL },
    { "membership-fee", "社会团体会费统一票据", NULL },
    { "court-fee", "人民法院诉讼费专用票据", NULL },
    { "donation", "公益事业捐赠统一票据", NULL },
    { "social-insurance", "社会保险基金统一收据", NULL },
    { "fine", "罚款统一收据", NULL },
    { "nontax-payment", "非税收入一般缴款书", NULL },
    { "housing-maintenance", "住宅专项维修资金专用票据", NULL },
};

#define EXPECTED_COUNT (sizeof expected_kinds / sizeof expected_kinds[0])

static fb_kinds *new_kinds(void)
{
    fb_kinds *kinds = NULL;
    ck_assert_int_eq(fb_kinds_new(&kinds), FB_OK);
    ck_assert_ptr_nonnull(kinds);
    return kinds;
}

/* The code of a kind, NULL when it has none. */
static const char *code_of(const fb_kinds *kinds, const char *slug)
{
    fb_kind_info info;
    ck_assert_int_eq(fb_kinds_find(kinds, slug, &info), FB_OK);
    return info.code;
}

/* Every code is still the built-in one. */
static void assert_builtin_codes(const fb_kinds *kinds)
{
    for (size_t i = 0; i < EXPECTED_COUNT; i++)
        ck_assert_pstr_eq(code_of(kinds, expected_kinds[i].slug), expected_kinds[i].code);
}

static int load_str(fb_kinds *kinds, const char *text)
{
    return fb_kinds_load_text(kinds, text, strlen(text));
}

/* Writes len bytes to a new temporary file; the caller unlinks and frees the
 * returned path. */
static char *temp_file(const void *data, size_t len)
{
    char *path = strdup("/tmp/fbt_kinds_XXXXXX");
    ck_assert_ptr_nonnull(path);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    ck_assert_int_eq(close(fd), 0);
    return path;
}

START_TEST(test_builtin_table)
{
    fb_kinds *kinds = new_kinds();
    ck_assert_uint_eq(fb_kinds_count(kinds), EXPECTED_COUNT);
    for (size_t i = 0; i < EXPECTED_COUNT; i++) {
        fb_kind_info info;
        ck_assert_int_eq(fb_kinds_get(kinds, i, &info), FB_OK);
        ck_assert_str_eq(info.slug, expected_kinds[i].slug);
        ck_assert_str_eq(info.name, expected_kinds[i].name);
        ck_assert_pstr_eq(info.code, expected_kinds[i].code);
    }
    fb_kind_info info;
    ck_assert_int_eq(fb_kinds_get(kinds, EXPECTED_COUNT, &info), FB_ENOTFOUND);
    ck_assert_str_eq(fb_last_error(), "no kind at index 11: the table has 11 kinds");
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_null_arguments)
{
    fb_kinds *kinds = new_kinds();
    fb_kind_info info;
    ck_assert_int_eq(fb_kinds_new(NULL), FB_EARG);
    ck_assert_uint_eq(fb_kinds_count(NULL), 0);
    ck_assert_int_eq(fb_kinds_get(NULL, 0, &info), FB_EARG);
    ck_assert_int_eq(fb_kinds_get(kinds, 0, NULL), FB_EARG);
    ck_assert_int_eq(fb_kinds_find(NULL, "fine", &info), FB_EARG);
    ck_assert_int_eq(fb_kinds_find(kinds, NULL, &info), FB_EARG);
    ck_assert_int_eq(fb_kinds_find(kinds, "fine", NULL), FB_EARG);
    ck_assert_int_eq(fb_kinds_set_code(NULL, "fine", "1234"), FB_EARG);
    ck_assert_int_eq(fb_kinds_set_code(kinds, NULL, "1234"), FB_EARG);
    ck_assert_int_eq(fb_kinds_set_code(kinds, "fine", NULL), FB_EARG);
    ck_assert_int_eq(fb_kinds_load_text(NULL, "", 0), FB_EARG);
    ck_assert_int_eq(fb_kinds_load_text(kinds, NULL, 0), FB_EARG);
    ck_assert_int_eq(fb_kinds_load_file(NULL, "/tmp/x"), FB_EARG);
    ck_assert_int_eq(fb_kinds_load_file(kinds, NULL), FB_EARG);
    ck_assert_str_eq(fb_last_error(), "fb_kinds_load_file: NULL argument");
    fb_kinds_free(NULL);
    assert_builtin_codes(kinds);
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_find)
{
    fb_kinds *kinds = new_kinds();
    fb_kind_info info;
    ck_assert_int_eq(fb_kinds_find(kinds, "medical-inpatient", &info), FB_OK);
    ck_assert_str_eq(info.slug, "medical-inpatient");
    ck_assert_str_eq(info.name, "医疗住院收费票据（电子）");
    ck_assert_str_eq(info.code, "0602");

    ck_assert_int_eq(fb_kinds_find(kinds, "0601", &info), FB_OK);
    ck_assert_str_eq(info.slug, "medical-outpatient");

    ck_assert_int_eq(fb_kinds_find(kinds, "donation", &info), FB_OK);
    ck_assert_str_eq(info.name, "公益事业捐赠统一票据");
    ck_assert_ptr_null(info.code);

    ck_assert_int_eq(fb_kinds_find(kinds, "donaton", &info), FB_ENOTFOUND);
    ck_assert_str_eq(fb_last_error(), "unknown kind \"donaton\"");
    ck_assert_int_eq(fb_kinds_find(kinds, "0699", &info), FB_ENOTFOUND);
    ck_assert_str_eq(fb_last_error(), "no kind has code 0699");
    /* Slugs match exactly: no case folding, no trimming. */
    ck_assert_int_eq(fb_kinds_find(kinds, "Donation", &info), FB_ENOTFOUND);
    ck_assert_int_eq(fb_kinds_find(kinds, " fine", &info), FB_ENOTFOUND);
    ck_assert_int_eq(fb_kinds_find(kinds, "", &info), FB_ENOTFOUND);
    ck_assert_int_eq(fb_kinds_find(kinds, "601", &info), FB_ENOTFOUND);
    /* Bad input is quoted and cut short in the message. */
    ck_assert_int_eq(fb_kinds_find(kinds, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"
                                          "\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14"
                                          "\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e"
                                          "\x1f\x01\x02\x03\x04\x05\x06\x07\x08\x09"
                                          "abc",
                                     &info),
                     FB_ENOTFOUND);
    ck_assert_str_eq(fb_last_error(),
                     "unknown kind \"\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09\\x0A"
                     "\\x0B\\x0C\\x0D\\x0E\\x0F\\x10\\x11\\x12\\x13\\x14"
                     "\\x15\\x16\\x17\\x18\\x19\\x1A\\x1B\\x1C\\x1D\\x1E"
                     "\\x1F\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09...\"");
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_set_code)
{
    fb_kinds *kinds = new_kinds();
    fb_kind_info info;
    ck_assert_int_eq(fb_kinds_set_code(kinds, "donation", "0701"), FB_OK);
    ck_assert_int_eq(fb_kinds_find(kinds, "0701", &info), FB_OK);
    ck_assert_str_eq(info.slug, "donation");
    ck_assert_str_eq(info.code, "0701");
    /* Setting the code a kind already has is no conflict. */
    ck_assert_int_eq(fb_kinds_set_code(kinds, "donation", "0701"), FB_OK);

    ck_assert_int_eq(fb_kinds_set_code(kinds, "fine", "0601"), FB_EINVALID);
    ck_assert_str_eq(fb_last_error(), "code 0601 already names medical-outpatient");
    ck_assert_int_eq(fb_kinds_set_code(kinds, "fine", "0701"), FB_EINVALID);
    ck_assert_str_eq(fb_last_error(), "code 0701 already names donation");
    ck_assert_ptr_null(code_of(kinds, "fine"));

    ck_assert_int_eq(fb_kinds_set_code(kinds, "fine", "61"), FB_EARG);
    ck_assert_str_eq(fb_last_error(), "fine: code must be 4 digits, got \"61\"");
    ck_assert_int_eq(fb_kinds_set_code(kinds, "fine", "06011"), FB_EARG);
    ck_assert_int_eq(fb_kinds_set_code(kinds, "fine", "06a1"), FB_EARG);
    ck_assert_int_eq(fb_kinds_set_code(kinds, "fine", ""), FB_EARG);
    ck_assert_int_eq(fb_kinds_set_code(kinds, "fines", "0801"), FB_ENOTFOUND);
    ck_assert_str_eq(fb_last_error(), "unknown kind \"fines\"");
    ck_assert_ptr_null(code_of(kinds, "fine"));

    /* Configuration wins over a public code, and frees the old one. */
    ck_assert_int_eq(fb_kinds_set_code(kinds, "medical-outpatient", "0609"), FB_OK);
    ck_assert_int_eq(fb_kinds_find(kinds, "0601", &info), FB_ENOTFOUND);
    ck_assert_int_eq(fb_kinds_set_code(kinds, "fine", "0601"), FB_OK);
    ck_assert_str_eq(code_of(kinds, "fine"), "0601");
    ck_assert_str_eq(code_of(kinds, "medical-outpatient"), "0609");
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_load_text_good)
{
    fb_kinds *kinds = new_kinds();
    static const char text[] =
        "# codes from the provincial finance department\r\n"
        "\r\n"
        "donation = 0701\r\n"
        "   membership-fee=0801   # trailing comment\n"
        "\tfunds-settlement\t=\t0901\t\n"
        "   \n"
        "#fine = 1111\n"
        "court-fee = 1001"; /* no final newline */
    ck_assert_int_eq(load_str(kinds, text), FB_OK);
    ck_assert_str_eq(code_of(kinds, "donation"), "0701");
    ck_assert_str_eq(code_of(kinds, "membership-fee"), "0801");
    ck_assert_str_eq(code_of(kinds, "funds-settlement"), "0901");
    ck_assert_str_eq(code_of(kinds, "court-fee"), "1001");
    ck_assert_ptr_null(code_of(kinds, "fine"));
    ck_assert_str_eq(code_of(kinds, "medical-outpatient"), "0601");

    fb_kind_info info;
    ck_assert_int_eq(fb_kinds_find(kinds, "0801", &info), FB_OK);
    ck_assert_str_eq(info.slug, "membership-fee");

    /* Empty text and comment-only text change nothing. */
    ck_assert_int_eq(fb_kinds_load_text(kinds, "", 0), FB_OK);
    ck_assert_int_eq(load_str(kinds, "# nothing\n\n"), FB_OK);
    ck_assert_str_eq(code_of(kinds, "donation"), "0701");
    fb_kinds_free(kinds);
}
END_TEST

static const struct bad_text {
    const char *text;
    size_t len; /* 0: strlen(text) */
    int status;
    const char *message;
} bad_texts[] = {
/* Text holding a NUL byte, so strlen cannot give its length. */
#define WITH_NUL(s) s, sizeof(s) - 1
    { "donation = 0701\n\n# spelled wrong\ndonaton = 0702\n", 0, FB_EINVALID,
      "kinds file line 4: unknown kind \"donaton\"" },
    { "donation = 0701\r\nfine = 0702\r\n\r\n\r\nfine2 = 0703\r\n", 0, FB_EINVALID,
      "kinds file line 5: unknown kind \"fine2\"" },
    { "\x01" "fine = 0701\n", 0, FB_EINVALID, "kinds file line 1: unknown kind \"\\x01fine\"" },
    { "Donation = 0701\n", 0, FB_EINVALID, "kinds file line 1: unknown kind \"Donation\"" },
    { "# header\n\n\n\nfine = 61\n", 0, FB_EINVALID,
      "kinds file line 5: code must be 4 digits, got \"61\"" },
    { "fine = 06011\n", 0, FB_EINVALID, "kinds file line 1: code must be 4 digits, got \"06011\"" },
    { "fine = 06a1\n", 0, FB_EINVALID, "kinds file line 1: code must be 4 digits, got \"06a1\"" },
    { "fine =\n", 0, FB_EINVALID, "kinds file line 1: code must be 4 digits, got \"\"" },
    { "fine = 0701 = 0702\n", 0, FB_EINVALID,
      "kinds file line 1: code must be 4 digits, got \"0701 = 0702\"" },
    { "= 0701\n", 0, FB_EINVALID, "kinds file line 1: unknown kind \"\"" },
    { "\n\nfine 0701\n", 0, FB_EINVALID,
      "kinds file line 3: expected \"slug = code\", got \"fine 0701\"" },
    { "donation = 0701\nfine = 0601\n", 0, FB_EINVALID,
      "kinds file line 2: code 0601 already names medical-outpatient" },
    { "fine = 0701\n# again\ndonation = 0701\n", 0, FB_EINVALID,
      "kinds file line 3: code 0701 already names fine" },
    { "fine = 0701\nfine = 0702\n", 0, FB_EINVALID,
      "kinds file line 2: fine is already set on line 1" },
    { "fine = 0701\nfine = 0701\n", 0, FB_EINVALID,
      "kinds file line 2: fine is already set on line 1" },
    { WITH_NUL("fine = 0701\ndonation\0 = 0702\n"), FB_EINVALID, "kinds file line 2: NUL byte" },
    { WITH_NUL("fine = 0701\n# \0 in a comment\n"), FB_EINVALID, "kinds file line 2: NUL byte" },
    { "fine = 0701\rdonation = 0702\n", 0, FB_EINVALID,
      "kinds file line 1: code must be 4 digits, got \"0701\\x0Ddonation = 0702\"" },
#undef WITH_NUL
};

START_TEST(test_load_text_bad)
{
    const struct bad_text *bad = &bad_texts[_i];
    fb_kinds *kinds = new_kinds();
    size_t len = bad->len ? bad->len : strlen(bad->text);
    ck_assert_int_eq(fb_kinds_load_text(kinds, bad->text, len), bad->status);
    ck_assert_str_eq(fb_last_error(), bad->message);
    assert_builtin_codes(kinds);
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_load_text_long_line)
{
    fb_kinds *kinds = new_kinds();
    char text[600];
    /* A 256-byte comment line is the longest allowed, with LF or CRLF. */
    memset(text, '#', 256);
    strcpy(text + 256, "\r\nfine = 0701\n");
    ck_assert_int_eq(load_str(kinds, text), FB_OK);
    ck_assert_str_eq(code_of(kinds, "fine"), "0701");

    strcpy(text, "donation = 0702\n");
    memset(text + 16, '#', 257);
    strcpy(text + 16 + 257, "\n");
    ck_assert_int_eq(load_str(kinds, text), FB_ELIMIT);
    ck_assert_str_eq(fb_last_error(), "kinds file line 2: line of 257 bytes is longer than 256");
    ck_assert_ptr_null(code_of(kinds, "donation"));
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_load_text_all_or_nothing)
{
    fb_kinds *kinds = new_kinds();
    ck_assert_int_eq(load_str(kinds, "donation = 0701\n"
                                     "membership-fee = 0801\n"
                                     "medical-outpatient = 0609\n"
                                     "fine = 99\n"),
                     FB_EINVALID);
    ck_assert_str_eq(fb_last_error(), "kinds file line 4: code must be 4 digits, got \"99\"");
    assert_builtin_codes(kinds);

    /* A conflict found only when codes are assigned also leaves all alone. */
    ck_assert_int_eq(load_str(kinds, "donation = 0701\n"
                                     "membership-fee = 0801\n"
                                     "fine = 0602\n"),
                     FB_EINVALID);
    ck_assert_str_eq(fb_last_error(), "kinds file line 3: code 0602 already names medical-inpatient");
    assert_builtin_codes(kinds);
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_load_text_moves_codes)
{
    fb_kinds *kinds = new_kinds();
    ck_assert_int_eq(fb_kinds_set_code(kinds, "donation", "0701"), FB_OK);
    /* donation still holds 0701 and the text does not change it. */
    ck_assert_int_eq(load_str(kinds, "fine = 0701\n"), FB_EINVALID);
    ck_assert_str_eq(fb_last_error(), "kinds file line 1: code 0701 already names donation");
    /* Here the text gives donation another code, so 0701 is free for fine. */
    ck_assert_int_eq(load_str(kinds, "fine = 0701\ndonation = 0702\n"), FB_OK);
    ck_assert_str_eq(code_of(kinds, "fine"), "0701");
    ck_assert_str_eq(code_of(kinds, "donation"), "0702");
    /* Two kinds may swap codes in one text, whatever the line order. */
    ck_assert_int_eq(load_str(kinds, "medical-outpatient = 0602\nmedical-inpatient = 0601\n"),
                     FB_OK);
    ck_assert_str_eq(code_of(kinds, "medical-outpatient"), "0602");
    ck_assert_str_eq(code_of(kinds, "medical-inpatient"), "0601");
    /* Loading the same settings again is no conflict. */
    ck_assert_int_eq(load_str(kinds, "fine = 0701\ndonation = 0702\n"), FB_OK);
    ck_assert_str_eq(code_of(kinds, "fine"), "0701");
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_load_file)
{
    static const char text[] = "# kinds\r\ndonation = 0701\r\nfine=0702\r\n";
    char *path = temp_file(text, sizeof text - 1);
    fb_kinds *kinds = new_kinds();
    ck_assert_int_eq(fb_kinds_load_file(kinds, path), FB_OK);
    ck_assert_str_eq(code_of(kinds, "donation"), "0701");
    ck_assert_str_eq(code_of(kinds, "fine"), "0702");
    ck_assert_str_eq(code_of(kinds, "medical-inpatient"), "0602");
    unlink(path);
    free(path);
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_load_file_bad_line)
{
    static const char text[] = "donation = 0701\n\ndonaton = 0702\n";
    char *path = temp_file(text, sizeof text - 1);
    fb_kinds *kinds = new_kinds();
    char expected[256];
    snprintf(expected, sizeof expected, "kinds file \"%s\" line 3: unknown kind \"donaton\"", path);
    ck_assert_int_eq(fb_kinds_load_file(kinds, path), FB_EINVALID);
    ck_assert_str_eq(fb_last_error(), expected);
    assert_builtin_codes(kinds);
    unlink(path);
    free(path);
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_load_file_missing)
{
    fb_kinds *kinds = new_kinds();
    const char *path = "/tmp/fbt_kinds_does_not_exist/kinds.conf";
    ck_assert_int_eq(fb_kinds_load_file(kinds, path), FB_EIO);
    ck_assert_str_eq(fb_last_error(), "cannot read kinds file "
                                      "\"/tmp/fbt_kinds_does_not_exist/kinds.conf\": "
                                      "No such file or directory");
    /* A directory opens but cannot be read. */
    ck_assert_int_eq(fb_kinds_load_file(kinds, "/tmp"), FB_EIO);
    ck_assert_str_eq(fb_last_error(), "cannot read kinds file \"/tmp\": Is a directory");
    assert_builtin_codes(kinds);
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_load_file_size_limit)
{
    size_t limit = 64 * 1024;
    char *data = malloc(limit + 1);
    ck_assert_ptr_nonnull(data);
    /* 1024 comment lines of 64 bytes each, the last one setting a code. */
    for (size_t i = 0; i < limit; i += 64) {
        memset(data + i, '#', 63);
        data[i + 63] = '\n';
    }
    memcpy(data + limit - 64, "fine = 0701", 11);
    char *path = temp_file(data, limit);
    fb_kinds *kinds = new_kinds();
    ck_assert_int_eq(fb_kinds_load_file(kinds, path), FB_OK);
    ck_assert_str_eq(code_of(kinds, "fine"), "0701");
    unlink(path);
    free(path);

    data[limit] = '\n';
    path = temp_file(data, limit + 1);
    char expected[256];
    snprintf(expected, sizeof expected, "kinds file \"%s\" is larger than 65536 bytes", path);
    ck_assert_int_eq(fb_kinds_set_code(kinds, "fine", "0702"), FB_OK);
    ck_assert_int_eq(fb_kinds_load_file(kinds, path), FB_ELIMIT);
    ck_assert_str_eq(fb_last_error(), expected);
    ck_assert_str_eq(code_of(kinds, "fine"), "0702");
    unlink(path);
    free(path);
    free(data);
    fb_kinds_free(kinds);
}
END_TEST

START_TEST(test_tables_independent)
{
    fb_kinds *a = new_kinds(), *b = new_kinds();
    ck_assert_ptr_ne(a, b);
    ck_assert_int_eq(fb_kinds_set_code(a, "donation", "0701"), FB_OK);
    ck_assert_ptr_null(code_of(b, "donation"));
    ck_assert_int_eq(load_str(b, "donation = 0702\nmedical-outpatient = 0609\n"), FB_OK);
    ck_assert_str_eq(code_of(a, "donation"), "0701");
    ck_assert_str_eq(code_of(a, "medical-outpatient"), "0601");
    /* The same code may name different kinds in different tables. */
    ck_assert_int_eq(fb_kinds_set_code(b, "fine", "0701"), FB_OK);

    fb_kind_info info;
    ck_assert_int_eq(fb_kinds_find(a, "donation", &info), FB_OK);
    fb_kinds_free(b);
    /* a's strings do not depend on b. */
    ck_assert_str_eq(info.slug, "donation");
    ck_assert_str_eq(info.name, "公益事业捐赠统一票据");
    ck_assert_str_eq(info.code, "0701");

    /* A new table starts from the built-in codes, not from a's. */
    fb_kinds *c = new_kinds();
    assert_builtin_codes(c);
    fb_kinds_free(c);
    fb_kinds_free(a);
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("kinds");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, test_builtin_table);
    tcase_add_test(tc, test_null_arguments);
    tcase_add_test(tc, test_find);
    tcase_add_test(tc, test_set_code);
    tcase_add_test(tc, test_tables_independent);
    suite_add_tcase(s, tc);

    tc = tcase_create("config");
    tcase_add_test(tc, test_load_text_good);
    tcase_add_loop_test(tc, test_load_text_bad, 0,
                        (int)(sizeof bad_texts / sizeof bad_texts[0]));
    tcase_add_test(tc, test_load_text_long_line);
    tcase_add_test(tc, test_load_text_all_or_nothing);
    tcase_add_test(tc, test_load_text_moves_codes);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_load_file_bad_line);
    tcase_add_test(tc, test_load_file_missing);
    tcase_add_test(tc, test_load_file_size_limit);
    suite_add_tcase(s, tc);
    return s;
}
