/* Round trips: write(read(x)) == x for canonical x (the golden files), and
 * read(write(b)) == b field by field, for sample and random bills. */
#include <stdio.h>
#include <string.h>
#include "fbt.h"

static const char *const golden[] = { "medical-outpatient", "medical-inpatient", "donation",
                                      "membership-fee", "funds-settlement" };

static void assert_same_bill(const fb_bill *a, const fb_bill *b)
{
    for (int f = 0; f < FB_FIELD_COUNT; f++) {
        const char *x = fb_bill_get(a, (fb_field)f), *y = fb_bill_get(b, (fb_field)f);
        ck_assert_msg((!x && !y) || (x && y && !strcmp(x, y)), "%s differs: %s / %s",
                      fb_field_path((fb_field)f), x ? x : "(unset)", y ? y : "(unset)");
    }
    ck_assert_uint_eq(fb_bill_item_count(a), fb_bill_item_count(b));
    for (size_t i = 0; i < fb_bill_item_count(a); i++)
        for (int f = 0; f < FB_ITEM_FIELD_COUNT; f++) {
            const char *x = fb_bill_item_get(a, i, (fb_item_field)f);
            const char *y = fb_bill_item_get(b, i, (fb_item_field)f);
            ck_assert_msg((!x && !y) || (x && y && !strcmp(x, y)), "item %zu %s differs", i,
                          fb_item_field_name((fb_item_field)f));
        }
    ck_assert_uint_eq(fb_bill_aux_count(a), fb_bill_aux_count(b));
    for (size_t i = 0; i < fb_bill_aux_count(a); i++)
        for (int f = 0; f < FB_AUX_FIELD_COUNT; f++) {
            const char *x = fb_bill_aux_get(a, i, (fb_aux_field)f);
            const char *y = fb_bill_aux_get(b, i, (fb_aux_field)f);
            ck_assert_msg((!x && !y) || (x && y && !strcmp(x, y)), "aux %zu %s differs", i,
                          fb_aux_field_name((fb_aux_field)f));
        }
    ck_assert_uint_eq(fb_bill_ext_count(a), fb_bill_ext_count(b));
    for (size_t i = 0; i < fb_bill_ext_count(a); i++) {
        const char *n1, *v1, *n2, *v2;
        ck_assert_int_eq(fb_bill_ext_get(a, i, &n1, &v1), FB_OK);
        ck_assert_int_eq(fb_bill_ext_get(b, i, &n2, &v2), FB_OK);
        ck_assert_str_eq(n1, n2);
        ck_assert_str_eq(v1, v2);
    }
}

/* Write b, read it back, and check the bill and the bytes. */
static void round_trip(const fb_bill *b)
{
    fb_buf buf = FB_BUF_INIT, again = FB_BUF_INIT;
    fb_document *doc;
    ck_assert_int_eq(fb_bill_write_document(b, &buf), FB_OK);
    ck_assert_msg(fb_document_parse(&doc, buf.ptr, buf.size, NULL) == FB_OK, "%s",
                  fb_last_error());
    assert_same_bill(b, fb_document_bill(doc));
    ck_assert_int_eq(fb_document_write(doc, &again), FB_OK);
    ck_assert_uint_eq(again.size, buf.size);
    ck_assert_int_eq(memcmp(again.ptr, buf.ptr, buf.size), 0);
    ck_assert_int_eq(fb_document_is_canonical(doc), 1);
    fb_document_free(doc);
    fb_buf_dispose(&buf);
    fb_buf_dispose(&again);
}

START_TEST(golden_files_are_canonical)
{
    char rel[128];
    snprintf(rel, sizeof rel, "specs/examples/%s.xml", golden[_i]);
    uint8_t *data;
    size_t len;
    fbt_read_file(fbt_source_path(rel), &data, &len);
    fb_document *doc;
    ck_assert_msg(fb_document_parse(&doc, data, len, NULL) == FB_OK, "%s: %s", rel,
                  fb_last_error());
    fb_buf out = FB_BUF_INIT;
    ck_assert_int_eq(fb_bill_write_document(fb_document_bill(doc), &out), FB_OK);
    ck_assert_uint_eq(out.size, len);
    ck_assert_msg(memcmp(out.ptr, data, len) == 0, "%s is not written back byte for byte", rel);
    fb_problems *problems;
    ck_assert_msg(fb_bill_validate(fb_document_bill(doc), &problems) == FB_OK, "%s: %s", rel,
                  fb_last_error());
    char why[512] = "";
    ck_assert_msg(fbt_xsd_validate(data, len, why, sizeof why) == 0, "%s: %s", rel, why);
    round_trip(fb_document_bill(doc));
    fb_problems_free(problems);
    fb_buf_dispose(&out);
    fb_document_free(doc);
    free(data);
}
END_TEST

START_TEST(sample_round_trip)
{
    fb_bill *b = fbt_sample_bill();
    round_trip(b);
    fb_bill_free(b);
}
END_TEST

/* A small deterministic generator, so a failure can be replayed. */
static uint32_t next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static const char *const pieces[] = { "a", "Z", "9", " ", "\t", "\n", "\r", "&", "<", ">",
                                      "\"", "'", "]]>", "票", "据", "¥", "😀", "&amp;", "-" };

static void random_value(uint32_t *s, char *out, size_t size)
{
    size_t n = next(s) % 12, len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[next(s) % (sizeof pieces / sizeof pieces[0])];
        if (len + strlen(p) + 1 >= size)
            break;
        strcpy(out + len, p);
        len += strlen(p);
    }
}

static fb_bill *random_bill(uint32_t *s)
{
    fb_bill *b;
    char v[128];
    ck_assert_int_eq(fb_bill_new(&b), FB_OK);
    for (int f = 0; f < FB_FIELD_COUNT; f++) {
        random_value(s, v, sizeof v);
        ck_assert_int_eq(fb_bill_set(b, (fb_field)f, v), FB_OK);
    }
    for (size_t n = next(s) % 5, i = 0; i < n; i++) {
        size_t ix;
        ck_assert_int_eq(fb_bill_item_add(b, &ix), FB_OK);
        for (int f = 0; f < FB_ITEM_FIELD_COUNT; f++) {
            random_value(s, v, sizeof v);
            ck_assert_int_eq(fb_bill_item_set(b, ix, (fb_item_field)f, v), FB_OK);
        }
    }
    for (size_t n = next(s) % 3, i = 0; i < n; i++) {
        size_t ix;
        ck_assert_int_eq(fb_bill_aux_add(b, &ix), FB_OK);
        random_value(s, v, sizeof v);
        ck_assert_int_eq(fb_bill_aux_set(b, ix, FB_AUX_NAME, v), FB_OK);
    }
    for (size_t n = next(s) % 3, i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "Prov%u", (unsigned)(next(s) % 100));
        random_value(s, v, sizeof v);
        ck_assert_int_eq(fb_bill_ext_set(b, name, v), FB_OK);
    }
    return b;
}

START_TEST(random_bills_round_trip)
{
    uint32_t seed = 0x9E3779B9u;
    for (int i = 0; i < 300; i++) {
        fb_bill *b = random_bill(&seed);
        round_trip(b);
        fb_bill_free(b);
    }
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("roundtrip");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_loop_test(tc, golden_files_are_canonical, 0, (int)(sizeof golden / sizeof golden[0]));
    tcase_add_test(tc, sample_round_trip);
    tcase_add_test(tc, random_bills_round_trip);
    suite_add_tcase(s, tc);
    return s;
}
