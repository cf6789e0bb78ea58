/* The bill model (bill.h): lifetime, fields, names and paths, amounts, value
 * checks of the setters, items, aux items, MainExt pairs, derived Header
 * fields, the bill's key, NULL arguments and the error messages. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fbt.h"

/* ---- helpers ---- */

/* A call must fail with want and leave a non-empty message. */
#define EXPECT_FAIL(call, want)                                                              \
    do {                                                                                     \
        fb_clear_error();                                                                    \
        int rc_ = (call);                                                                    \
        ck_assert_msg(rc_ == (want), "%s: got status %d (%s), want %d (%s); message: %s",   \
                      #call, rc_, fb_status_str(rc_), (int)(want), fb_status_str(want),      \
                      fb_last_error());                                                      \
        ck_assert_msg(fb_last_error()[0] != '\0', "%s: failed with an empty message", #call); \
    } while (0)

#define EXPECT_OK(call)                                                                      \
    do {                                                                                     \
        int rc_ = (call);                                                                    \
        ck_assert_msg(rc_ == FB_OK, "%s: status %d: %s", #call, rc_, fb_last_error());     \
    } while (0)

static void assert_error_has(const char *needle)
{
    ck_assert_msg(strstr(fb_last_error(), needle) != NULL,
                  "message \"%s\" does not contain \"%s\"", fb_last_error(), needle);
}

/* Asserts the value of a field: want NULL means unset. */
static void assert_field(const fb_bill *b, fb_field f, const char *want)
{
    const char *got = fb_bill_get(b, f);
    if (!want)
        ck_assert_msg(got == NULL, "%s: want unset, got \"%s\"", fb_field_path(f), got);
    else
        ck_assert_msg(got != NULL && strcmp(got, want) == 0, "%s: want \"%s\", got %s%s%s",
                      fb_field_path(f), want, got ? "\"" : "", got ? got : "NULL",
                      got ? "\"" : "");
}

static void assert_item(const fb_bill *b, size_t i, fb_item_field f, const char *want)
{
    const char *got = fb_bill_item_get(b, i, f);
    if (!want)
        ck_assert_msg(got == NULL, "item %zu %s: want unset, got \"%s\"", i,
                      fb_item_field_name(f), got);
    else
        ck_assert_msg(got != NULL && strcmp(got, want) == 0, "item %zu %s: want \"%s\", got %s",
                      i, fb_item_field_name(f), want, got ? got : "NULL");
}

static void assert_aux(const fb_bill *b, size_t i, fb_aux_field f, const char *want)
{
    const char *got = fb_bill_aux_get(b, i, f);
    if (!want)
        ck_assert_msg(got == NULL, "aux %zu %s: want unset, got \"%s\"", i,
                      fb_aux_field_name(f), got);
    else
        ck_assert_msg(got != NULL && strcmp(got, want) == 0, "aux %zu %s: want \"%s\", got %s",
                      i, fb_aux_field_name(f), want, got ? got : "NULL");
}

static void assert_ext_pair(const fb_bill *b, size_t i, const char *name, const char *value)
{
    const char *n = NULL, *v = NULL;
    EXPECT_OK(fb_bill_ext_get(b, i, &n, &v));
    ck_assert_ptr_nonnull(n);
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(n, name);
    ck_assert_str_eq(v, value);
}

static fb_bill *new_bill(void)
{
    fb_bill *b = NULL;
    EXPECT_OK(fb_bill_new(&b));
    ck_assert_ptr_nonnull(b);
    return b;
}

/* The fields a fresh bill holds none of, and counts of zero. */
static void assert_empty(const fb_bill *b)
{
    for (int f = 0; f < FB_FIELD_COUNT; f++)
        assert_field(b, (fb_field)f, NULL);
    ck_assert_uint_eq(fb_bill_item_count(b), 0);
    ck_assert_uint_eq(fb_bill_aux_count(b), 0);
    ck_assert_uint_eq(fb_bill_ext_count(b), 0);
}

/* Every value of a and b is the same text (both unset or both equal). */
static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void assert_bills_equal(const fb_bill *a, const fb_bill *b)
{
    for (int f = 0; f < FB_FIELD_COUNT; f++)
        ck_assert_msg(same_text(fb_bill_get(a, (fb_field)f), fb_bill_get(b, (fb_field)f)),
                      "%s differs", fb_field_path((fb_field)f));
    ck_assert_uint_eq(fb_bill_item_count(a), fb_bill_item_count(b));
    for (size_t i = 0; i < fb_bill_item_count(a); i++)
        for (int f = 0; f < FB_ITEM_FIELD_COUNT; f++)
            ck_assert_msg(same_text(fb_bill_item_get(a, i, (fb_item_field)f),
                                    fb_bill_item_get(b, i, (fb_item_field)f)),
                          "item %zu %s differs", i, fb_item_field_name((fb_item_field)f));
    ck_assert_uint_eq(fb_bill_aux_count(a), fb_bill_aux_count(b));
    for (size_t i = 0; i < fb_bill_aux_count(a); i++)
        for (int f = 0; f < FB_AUX_FIELD_COUNT; f++)
            ck_assert_msg(same_text(fb_bill_aux_get(a, i, (fb_aux_field)f),
                                    fb_bill_aux_get(b, i, (fb_aux_field)f)),
                          "aux %zu %s differs", i, fb_aux_field_name((fb_aux_field)f));
    ck_assert_uint_eq(fb_bill_ext_count(a), fb_bill_ext_count(b));
    for (size_t i = 0; i < fb_bill_ext_count(a); i++) {
        const char *n1, *v1, *n2, *v2;
        EXPECT_OK(fb_bill_ext_get(a, i, &n1, &v1));
        EXPECT_OK(fb_bill_ext_get(b, i, &n2, &v2));
        ck_assert_str_eq(n1, n2);
        ck_assert_str_eq(v1, v2);
    }
}

/* The sample bill with the derived Header fields removed again, so tests
 * of fb_bill_fill_derived start from the Main fields alone. */
static fb_bill *sample_without_header(void)
{
    fb_bill *b = fbt_sample_bill();
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_TAG, NULL));
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_ID, NULL));
    EXPECT_OK(fb_bill_set(b, FB_VERSION, NULL));
    return b;
}

/* ---- new, free, dup ---- */

START_TEST(new_is_empty)
{
    fb_bill *b = new_bill();
    assert_empty(b);
    fb_bill_free(b);
    fb_bill_free(NULL);
}
END_TEST

START_TEST(sample_is_as_documented)
{
    fb_bill *b = fbt_sample_bill();
    int64_t fen = 0;
    EXPECT_OK(fb_bill_get_amount(b, FB_TOTAL_AMOUNT, &fen));
    ck_assert_int_eq(fen, 32850);
    ck_assert_uint_eq(fb_bill_item_count(b), 2);
    assert_item(b, 0, FB_ITEM_AMOUNT, "128.50");
    assert_item(b, 1, FB_ITEM_AMOUNT, "200.00");
    assert_field(b, FB_EINVOICE_TAG, "CZ-EI-65");
    assert_field(b, FB_EINVOICE_ID, "1000000000-62106056");
    assert_field(b, FB_VERSION, "1.1.0");
    fb_bill_free(b);
}
END_TEST

START_TEST(dup_copies_everything)
{
    fb_bill *a = fbt_sample_bill();
    size_t ai;
    EXPECT_OK(fb_bill_aux_add(a, &ai));
    EXPECT_OK(fb_bill_aux_set(a, ai, FB_AUX_NAME, "辅助"));
    EXPECT_OK(fb_bill_aux_set_amount(a, ai, FB_AUX_AMOUNT, 100));
    EXPECT_OK(fb_bill_ext_set(a, "Ward", "3B"));
    EXPECT_OK(fb_bill_ext_set(a, "Bed", ""));
    EXPECT_OK(fb_bill_item_set(a, 1, FB_ITEM_DETAIL_NAME, "CT"));

    fb_bill *c = NULL;
    EXPECT_OK(fb_bill_dup(a, &c));
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_ne(a, c);
    assert_bills_equal(a, c);
    /* Distinct storage, not shared pointers. */
    ck_assert_ptr_ne(fb_bill_get(a, FB_EINVOICE_CODE), fb_bill_get(c, FB_EINVOICE_CODE));
    ck_assert_ptr_ne(fb_bill_item_get(a, 0, FB_ITEM_NAME), fb_bill_item_get(c, 0, FB_ITEM_NAME));
    ck_assert_ptr_ne(fb_bill_aux_get(a, 0, FB_AUX_NAME), fb_bill_aux_get(c, 0, FB_AUX_NAME));
    ck_assert_ptr_ne(fb_bill_ext_find(a, "Ward"), fb_bill_ext_find(c, "Ward"));
    fb_bill_free(c);
    fb_bill_free(a);
}
END_TEST

START_TEST(dup_is_deep)
{
    fb_bill *a = fbt_sample_bill();
    size_t ai;
    EXPECT_OK(fb_bill_aux_add(a, &ai));
    EXPECT_OK(fb_bill_aux_set(a, ai, FB_AUX_NAME, "辅助"));
    EXPECT_OK(fb_bill_ext_set(a, "Ward", "3B"));
    fb_bill *orig = NULL; /* a second copy, as the reference for a */
    EXPECT_OK(fb_bill_dup(a, &orig));
    fb_bill *c = NULL;
    EXPECT_OK(fb_bill_dup(a, &c));

    /* Change every part of the copy. */
    EXPECT_OK(fb_bill_set(c, FB_EINVOICE_CODE, "11111111"));
    EXPECT_OK(fb_bill_set(c, FB_CHECKER, NULL));
    EXPECT_OK(fb_bill_set(c, FB_REMARK, "new"));
    EXPECT_OK(fb_bill_item_set(c, 0, FB_ITEM_NAME, "changed"));
    EXPECT_OK(fb_bill_item_remove(c, 1));
    size_t idx;
    EXPECT_OK(fb_bill_item_add(c, &idx));
    EXPECT_OK(fb_bill_aux_set(c, 0, FB_AUX_NAME, "changed"));
    EXPECT_OK(fb_bill_aux_add(c, &idx));
    EXPECT_OK(fb_bill_ext_set(c, "Ward", "9Z"));
    EXPECT_OK(fb_bill_ext_set(c, "Extra", "x"));
    EXPECT_OK(fb_bill_ext_set(c, "Gender", "女"));

    assert_bills_equal(a, orig);
    assert_field(a, FB_EINVOICE_CODE, "65060126");
    assert_field(a, FB_CHECKER, "李强");
    assert_item(a, 0, FB_ITEM_NAME, "西药费");
    assert_aux(a, 0, FB_AUX_NAME, "辅助");
    ck_assert_str_eq(fb_bill_ext_find(a, "Ward"), "3B");
    ck_assert_uint_eq(fb_bill_ext_count(a), 1);
    assert_field(a, FB_EXT_GENDER, "男");

    /* And the other way round: freeing the original leaves the copy whole. */
    fb_bill_free(a);
    assert_field(c, FB_EINVOICE_CODE, "11111111");
    assert_item(c, 0, FB_ITEM_NAME, "changed");
    ck_assert_str_eq(fb_bill_ext_find(c, "Ward"), "9Z");
    fb_bill_free(c);
    fb_bill_free(orig);
}
END_TEST

START_TEST(dup_of_empty_bill)
{
    fb_bill *a = new_bill();
    fb_bill *c = NULL;
    EXPECT_OK(fb_bill_dup(a, &c));
    assert_empty(c);
    fb_bill_free(a);
    fb_bill_free(c);
}
END_TEST

/* ---- single fields ---- */

START_TEST(set_get_every_field)
{
    fb_bill *b = new_bill();
    char want[FB_FIELD_COUNT][64];
    for (int f = 0; f < FB_FIELD_COUNT; f++) {
        char buf[64];
        snprintf(buf, sizeof buf, "v%d-%s", f, fb_field_name((fb_field)f));
        memcpy(want[f], buf, sizeof buf);
        EXPECT_OK(fb_bill_set(b, (fb_field)f, buf));
        /* The bill keeps its own copy. */
        ck_assert_ptr_ne(fb_bill_get(b, (fb_field)f), buf);
        memset(buf, 'X', sizeof buf - 1);
        assert_field(b, (fb_field)f, want[f]);
    }
    /* Every field lives on its own: none overwrote another. */
    for (int f = 0; f < FB_FIELD_COUNT; f++)
        assert_field(b, (fb_field)f, want[f]);
    /* Nothing of that went to the other parts of the bill. */
    ck_assert_uint_eq(fb_bill_ext_count(b), 0);
    ck_assert_uint_eq(fb_bill_item_count(b), 0);

    /* NULL and "" both unset, and only the field named. */
    for (int f = 0; f < FB_FIELD_COUNT; f++) {
        EXPECT_OK(fb_bill_set(b, (fb_field)f, (f % 2) ? NULL : ""));
        assert_field(b, (fb_field)f, NULL);
        if (f + 1 < FB_FIELD_COUNT)
            assert_field(b, (fb_field)(f + 1), want[f + 1]);
    }
    assert_empty(b);
    /* Unsetting an unset field is no error. */
    EXPECT_OK(fb_bill_set(b, FB_REMARK, NULL));
    EXPECT_OK(fb_bill_set(b, FB_REMARK, ""));

    /* Replacing a value, and setting a field from its own value. */
    EXPECT_OK(fb_bill_set(b, FB_REMARK, "first"));
    EXPECT_OK(fb_bill_set(b, FB_REMARK, "second"));
    assert_field(b, FB_REMARK, "second");
    EXPECT_OK(fb_bill_set(b, FB_REMARK, fb_bill_get(b, FB_REMARK)));
    assert_field(b, FB_REMARK, "second");
    /* Values are kept byte for byte: no trimming. */
    EXPECT_OK(fb_bill_set(b, FB_REMARK, "  spaced  "));
    assert_field(b, FB_REMARK, "  spaced  ");
    fb_bill_free(b);
}
END_TEST

START_TEST(out_of_range_ids)
{
    fb_bill *b = fbt_sample_bill();
    static const int bad[] = { FB_FIELD_COUNT, FB_FIELD_COUNT + 1, -1, 1000000 };
    int64_t fen;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_field f = (fb_field)bad[i];
        EXPECT_FAIL(fb_bill_set(b, f, "x"), FB_EARG);
        EXPECT_FAIL(fb_bill_set(b, f, NULL), FB_EARG);
        ck_assert_ptr_null(fb_bill_get(b, f));
        EXPECT_FAIL(fb_bill_set_amount(b, f, 100), FB_EARG);
        EXPECT_FAIL(fb_bill_get_amount(b, f, &fen), FB_EARG);
        ck_assert_ptr_null(fb_field_name(f));
        ck_assert_ptr_null(fb_field_path(f));

        fb_item_field itf = (fb_item_field)(bad[i] == FB_FIELD_COUNT ? FB_ITEM_FIELD_COUNT
                                            : bad[i] == FB_FIELD_COUNT + 1
                                                ? FB_ITEM_FIELD_COUNT + 1
                                                : bad[i]);
        EXPECT_FAIL(fb_bill_item_set(b, 0, itf, "x"), FB_EARG);
        ck_assert_ptr_null(fb_bill_item_get(b, 0, itf));
        EXPECT_FAIL(fb_bill_item_set_amount(b, 0, itf, 1), FB_EARG);
        EXPECT_FAIL(fb_bill_item_get_amount(b, 0, itf, &fen), FB_EARG);
        ck_assert_ptr_null(fb_item_field_name(itf));
        ck_assert_ptr_null(fb_item_field_path(itf));

        fb_aux_field af = (fb_aux_field)(bad[i] == FB_FIELD_COUNT ? FB_AUX_FIELD_COUNT
                                         : bad[i] == FB_FIELD_COUNT + 1
                                             ? FB_AUX_FIELD_COUNT + 1
                                             : bad[i]);
        ck_assert_ptr_null(fb_aux_field_name(af));
        ck_assert_ptr_null(fb_aux_field_path(af));
    }
    /* The exact first out-of-range ids of each table. */
    ck_assert_ptr_null(fb_item_field_name(FB_ITEM_FIELD_COUNT));
    ck_assert_ptr_null(fb_aux_field_name(FB_AUX_FIELD_COUNT));
    size_t ai;
    EXPECT_OK(fb_bill_aux_add(b, &ai));
    EXPECT_FAIL(fb_bill_aux_set(b, ai, FB_AUX_FIELD_COUNT, "x"), FB_EARG);
    EXPECT_FAIL(fb_bill_aux_set(b, ai, (fb_aux_field)-1, "x"), FB_EARG);
    ck_assert_ptr_null(fb_bill_aux_get(b, ai, FB_AUX_FIELD_COUNT));
    EXPECT_FAIL(fb_bill_aux_set_amount(b, ai, FB_AUX_FIELD_COUNT, 1), FB_EARG);
    EXPECT_FAIL(fb_bill_aux_get_amount(b, ai, FB_AUX_FIELD_COUNT, &fen), FB_EARG);
    /* Failed calls changed nothing. */
    fb_bill *ref = fbt_sample_bill();
    EXPECT_OK(fb_bill_aux_remove(b, ai));
    assert_bills_equal(b, ref);
    fb_bill_free(ref);
    fb_bill_free(b);
}
END_TEST

/* ---- names, paths, types ---- */

static int ends_with_name(const char *path, const char *name)
{
    size_t pl = strlen(path), nl = strlen(name);
    return pl > nl && path[pl - nl - 1] == '/' && strcmp(path + pl - nl, name) == 0;
}

START_TEST(field_names_and_paths)
{
    static const struct {
        fb_field f;
        const char *name, *path;
        fb_value_type type;
    } spots[] = {
        { FB_EINVOICE_TAG, "EInvoiceTag", "Header/EInvoiceTag", FB_TYPE_TEXT },
        { FB_EINVOICE_ID, "EInvoiceID", "Header/EInvoiceID", FB_TYPE_TEXT },
        { FB_VERSION, "Version", "Header/Version", FB_TYPE_TEXT },
        { FB_EINVOICE_CODE, "EInvoiceCode", "EInvoiceData/Main/EInvoiceCode", FB_TYPE_TEXT },
        { FB_TOTAL_AMOUNT, "TotalAmount", "EInvoiceData/Main/TotalAmount", FB_TYPE_AMOUNT },
        { FB_ISSUE_DATE, "IssueDate", "EInvoiceData/Main/IssueDate", FB_TYPE_DATE },
        { FB_ISSUE_TIME, "IssueTime", "EInvoiceData/Main/IssueTime", FB_TYPE_TIME },
        { FB_INVOICING_PARTY_CODE, "InvoicingPartyCode",
          "EInvoiceData/Main/InvoicingParty/InvoicingPartyCode", FB_TYPE_TEXT },
        { FB_PAYER_PARTY_TYPE, "PayerPartyType", "EInvoiceData/Main/PayerParty/PayerPartyType",
          FB_TYPE_TEXT },
        { FB_SUPERVISOR_REMARK, "SupervisorRemark", "EInvoiceData/Main/SupervisorRemark",
          FB_TYPE_TEXT },
        { FB_EXT_GENDER, "Gender", "EInvoiceData/Main/MainExt/Gender", FB_TYPE_TEXT },
        { FB_EXT_FUND_PAY_AMOUNT, "FundPayAmount", "EInvoiceData/Main/MainExt/FundPayAmount",
          FB_TYPE_AMOUNT },
        { FB_EXT_PAY_CODE, "PayCode", "EInvoiceData/Main/MainExt/PayCode", FB_TYPE_TEXT },
        { FB_INVOICING_SEAL_ID, "SealId", "EInvoiceData/Main/InvoicingPartySeal/SealId",
          FB_TYPE_TEXT },
        { FB_SUPERVISOR_SEAL_ID, "SealId", "EInvoiceData/Main/SupervisorPartySeal/SealId",
          FB_TYPE_TEXT },
        { FB_SUPERVISOR_SEAL_HASH, "SealHash", "EInvoiceData/Main/SupervisorPartySeal/SealHash",
          FB_TYPE_TEXT },
    };
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        ck_assert_str_eq(fb_field_name(spots[i].f), spots[i].name);
        ck_assert_str_eq(fb_field_path(spots[i].f), spots[i].path);
        ck_assert_int_eq(fb_field_type(spots[i].f), spots[i].type);
    }

    ck_assert_str_eq(fb_item_field_name(FB_ITEM_DETAIL_NAME), "ItemDetailName");
    ck_assert_str_eq(fb_item_field_path(FB_ITEM_DETAIL_NAME),
                     "EInvoiceData/Details/Item/ItemExt/ItemDetailName");
    ck_assert_str_eq(fb_item_field_path(FB_ITEM_CODE), "EInvoiceData/Details/Item/ItemCode");
    ck_assert_str_eq(fb_item_field_path(FB_ITEM_AMOUNT), "EInvoiceData/Details/Item/ItemAmount");
    ck_assert_int_eq(fb_item_field_type(FB_ITEM_AMOUNT), FB_TYPE_AMOUNT);
    ck_assert_int_eq(fb_item_field_type(FB_ITEM_STD), FB_TYPE_AMOUNT);
    ck_assert_int_eq(fb_item_field_type(FB_ITEM_QUANTITY), FB_TYPE_QUANTITY);
    ck_assert_int_eq(fb_item_field_type(FB_ITEM_NAME), FB_TYPE_TEXT);
    ck_assert_str_eq(fb_aux_field_name(FB_AUX_AMOUNT), "AuxItemAmount");
    ck_assert_str_eq(fb_aux_field_path(FB_AUX_AMOUNT),
                     "EInvoiceData/AuxDetails/AuxItem/AuxItemAmount");
    ck_assert_str_eq(fb_aux_field_path(FB_AUX_RELATED_CODE),
                     "EInvoiceData/AuxDetails/AuxItem/AuxItemRelatedCode");
    ck_assert_int_eq(fb_aux_field_type(FB_AUX_AMOUNT), FB_TYPE_AMOUNT);
    ck_assert_int_eq(fb_aux_field_type(FB_AUX_STD), FB_TYPE_AMOUNT);
    ck_assert_int_eq(fb_aux_field_type(FB_AUX_QUANTITY), FB_TYPE_QUANTITY);
    ck_assert_int_eq(fb_aux_field_type(FB_AUX_NAME), FB_TYPE_TEXT);

    /* Every id has a name and a path that ends in it; paths are unique and
     * every path sits under Header or EInvoiceData/Main. */
    for (int f = 0; f < FB_FIELD_COUNT; f++) {
        const char *name = fb_field_name((fb_field)f), *path = fb_field_path((fb_field)f);
        ck_assert_ptr_nonnull(name);
        ck_assert_ptr_nonnull(path);
        ck_assert_msg(ends_with_name(path, name), "%s does not end in /%s", path, name);
        ck_assert_msg(strncmp(path, "Header/", 7) == 0 ||
                          strncmp(path, "EInvoiceData/Main/", 18) == 0,
                      "%s: unexpected root", path);
        if (f >= FB_EXT_BUSINESS_NUMBER && f <= FB_EXT_PAY_CODE)
            ck_assert_msg(strncmp(path, "EInvoiceData/Main/MainExt/", 26) == 0,
                          "%s is not under MainExt", path);
        for (int g = 0; g < f; g++)
            ck_assert_msg(strcmp(path, fb_field_path((fb_field)g)) != 0, "path %s twice", path);
    }
    for (int f = 0; f < FB_ITEM_FIELD_COUNT; f++) {
        const char *name = fb_item_field_name((fb_item_field)f);
        const char *path = fb_item_field_path((fb_item_field)f);
        ck_assert_ptr_nonnull(name);
        ck_assert_ptr_nonnull(path);
        ck_assert_msg(ends_with_name(path, name), "%s does not end in /%s", path, name);
        ck_assert_msg(strncmp(path, "EInvoiceData/Details/Item/", 26) == 0, "%s", path);
    }
    for (int f = 0; f < FB_AUX_FIELD_COUNT; f++) {
        const char *name = fb_aux_field_name((fb_aux_field)f);
        const char *path = fb_aux_field_path((fb_aux_field)f);
        ck_assert_ptr_nonnull(name);
        ck_assert_ptr_nonnull(path);
        ck_assert_msg(ends_with_name(path, name), "%s does not end in /%s", path, name);
        ck_assert_msg(strncmp(path, "EInvoiceData/AuxDetails/AuxItem/", 32) == 0, "%s", path);
    }
    /* Amount fields of MainExt are typed as amounts. */
    static const fb_field ext_amounts[] = {
        FB_EXT_FUND_PAY_AMOUNT, FB_EXT_OTHER_PAY_AMOUNT, FB_EXT_ACCOUNT_PAY_AMOUNT,
        FB_EXT_OWN_PAY_AMOUNT, FB_EXT_SELFPAYMENT_AMOUNT, FB_EXT_SELFPAYMENT_COST,
        FB_EXT_PREPAY_AMOUNT, FB_EXT_RECHARGE_AMOUNT, FB_EXT_REFUND_AMOUNT,
    };
    for (size_t i = 0; i < sizeof ext_amounts / sizeof ext_amounts[0]; i++)
        ck_assert_int_eq(fb_field_type(ext_amounts[i]), FB_TYPE_AMOUNT);
}
END_TEST

START_TEST(field_lookup)
{
    fb_field f;
    /* Every field by its path. */
    for (int i = 0; i < FB_FIELD_COUNT; i++) {
        f = (fb_field)-1;
        EXPECT_OK(fb_field_lookup(fb_field_path((fb_field)i), &f));
        ck_assert_int_eq(f, i);
    }
    /* By name: a name that occurs once finds its field; a name of several
     * fields finds none and says to give the path. */
    for (int i = 0; i < FB_FIELD_COUNT; i++) {
        const char *name = fb_field_name((fb_field)i);
        int times = 0;
        for (int j = 0; j < FB_FIELD_COUNT; j++)
            times += strcmp(name, fb_field_name((fb_field)j)) == 0;
        f = (fb_field)-7;
        if (times == 1) {
            EXPECT_OK(fb_field_lookup(name, &f));
            ck_assert_int_eq(f, i);
        } else {
            EXPECT_FAIL(fb_field_lookup(name, &f), FB_ENOTFOUND);
            assert_error_has(name);
            assert_error_has("path");
            ck_assert_int_eq(f, (fb_field)-7);
        }
    }
    EXPECT_OK(fb_field_lookup("EInvoiceCode", &f));
    ck_assert_int_eq(f, FB_EINVOICE_CODE);
    EXPECT_OK(fb_field_lookup("Gender", &f));
    ck_assert_int_eq(f, FB_EXT_GENDER);
    EXPECT_OK(fb_field_lookup("EInvoiceData/Main/InvoicingPartySeal/SealId", &f));
    ck_assert_int_eq(f, FB_INVOICING_SEAL_ID);
    EXPECT_OK(fb_field_lookup("EInvoiceData/Main/SupervisorPartySeal/SealId", &f));
    ck_assert_int_eq(f, FB_SUPERVISOR_SEAL_ID);
    EXPECT_OK(fb_field_lookup("Header/EInvoiceID", &f));
    ck_assert_int_eq(f, FB_EINVOICE_ID);

    f = FB_REMARK;
    EXPECT_FAIL(fb_field_lookup("SealId", &f), FB_ENOTFOUND);
    ck_assert_str_eq(fb_last_error(), "\"SealId\" names more than one field; give its path");
    ck_assert_int_eq(f, FB_REMARK);
    EXPECT_FAIL(fb_field_lookup("SealName", &f), FB_ENOTFOUND);
    EXPECT_FAIL(fb_field_lookup("SealHash", &f), FB_ENOTFOUND);

    /* No match: unknown names, partial paths, wrong case, item fields. */
    static const char *const none[] = {
        "NoSuchField", "", "einvoicecode", "Main/EInvoiceCode", "EInvoiceData/Main/",
        "ItemName", "EInvoiceData/Details/Item/ItemName", "EInvoiceData/Main/EInvoiceCode/",
        " EInvoiceCode", "InvoicingPartySeal/SealId",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        f = FB_REMARK;
        EXPECT_FAIL(fb_field_lookup(none[i], &f), FB_ENOTFOUND);
        ck_assert_int_eq(f, FB_REMARK);
    }
    EXPECT_FAIL(fb_field_lookup("NoSuchField", &f), FB_ENOTFOUND);
    assert_error_has("NoSuchField");

    EXPECT_FAIL(fb_field_lookup(NULL, &f), FB_EARG);
    EXPECT_FAIL(fb_field_lookup("EInvoiceCode", NULL), FB_EARG);
}
END_TEST

/* ---- amounts ---- */

START_TEST(amount_accessors)
{
    fb_bill *b = new_bill();
    int64_t fen = 0;

    EXPECT_FAIL(fb_bill_get_amount(b, FB_TOTAL_AMOUNT, &fen), FB_ENOTFOUND);
    assert_error_has("TotalAmount");

    static const struct {
        int64_t fen;
        const char *text;
    } cases[] = {
        { 32850, "328.50" }, { 0, "0.00" }, { 1, "0.01" }, { 5, "0.05" }, { 100, "1.00" },
        { -5, "-0.05" }, { -32850, "-328.50" }, { -1, "-0.01" },
        { FB_AMOUNT_MAX, "999999999999.99" }, { FB_AMOUNT_MIN, "-99999999999.99" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, cases[i].fen));
        assert_field(b, FB_TOTAL_AMOUNT, cases[i].text);
        fen = 42;
        EXPECT_OK(fb_bill_get_amount(b, FB_TOTAL_AMOUNT, &fen));
        ck_assert_int_eq(fen, cases[i].fen);
        /* Text set directly reads back as the same amount. */
        EXPECT_OK(fb_bill_set(b, FB_EXT_REFUND_AMOUNT, cases[i].text));
        EXPECT_OK(fb_bill_get_amount(b, FB_EXT_REFUND_AMOUNT, &fen));
        ck_assert_int_eq(fen, cases[i].fen);
    }

    /* Out of range: refused, the old value kept. */
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, 12345));
    static const int64_t out[] = { FB_AMOUNT_MAX + 1, FB_AMOUNT_MIN - 1, INT64_MAX, INT64_MIN };
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        EXPECT_FAIL(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, out[i]), FB_ERANGE);
        assert_error_has("TotalAmount");
        assert_field(b, FB_TOTAL_AMOUNT, "123.45");
    }

    /* Amount accessors on a text field: refused, nothing changed. */
    EXPECT_OK(fb_bill_set(b, FB_REMARK, "hello"));
    EXPECT_FAIL(fb_bill_set_amount(b, FB_REMARK, 100), FB_EARG);
    assert_error_has("Remark");
    assert_field(b, FB_REMARK, "hello");
    EXPECT_FAIL(fb_bill_get_amount(b, FB_REMARK, &fen), FB_EARG);
    EXPECT_FAIL(fb_bill_set_amount(b, FB_EINVOICE_CODE, 100), FB_EARG);
    assert_field(b, FB_EINVOICE_CODE, NULL);
    EXPECT_FAIL(fb_bill_set_amount(b, FB_ISSUE_DATE, 100), FB_EARG);
    EXPECT_FAIL(fb_bill_set_amount(b, FB_EXT_GENDER, 100), FB_EARG);

    /* Text that is not an amount: FB_EINVALID. */
    static const char *const bad[] = { "12.3", "012.30", "abc", "1", "12.345", "-0.00",
                                       "1,00", "+1.00", " 1.00", "1234567890123.45" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT_OK(fb_bill_set(b, FB_TOTAL_AMOUNT, bad[i]));
        EXPECT_FAIL(fb_bill_get_amount(b, FB_TOTAL_AMOUNT, &fen), FB_EINVALID);
        assert_error_has("TotalAmount");
    }

    /* Every amount field of MainExt takes amounts. */
    for (int f = FB_EXT_BUSINESS_NUMBER; f <= FB_EXT_PAY_CODE; f++) {
        if (fb_field_type((fb_field)f) != FB_TYPE_AMOUNT) {
            EXPECT_FAIL(fb_bill_set_amount(b, (fb_field)f, 1), FB_EARG);
            continue;
        }
        EXPECT_OK(fb_bill_set_amount(b, (fb_field)f, -250));
        assert_field(b, (fb_field)f, "-2.50");
    }
    /* Unsetting a field makes get_amount report it unset again. */
    EXPECT_OK(fb_bill_set(b, FB_TOTAL_AMOUNT, NULL));
    EXPECT_FAIL(fb_bill_get_amount(b, FB_TOTAL_AMOUNT, &fen), FB_ENOTFOUND);
    fb_bill_free(b);
}
END_TEST

START_TEST(item_and_aux_amounts)
{
    fb_bill *b = new_bill();
    size_t i, a;
    int64_t fen;
    EXPECT_OK(fb_bill_item_add(b, &i));
    ck_assert_uint_eq(i, 0);
    EXPECT_FAIL(fb_bill_item_get_amount(b, i, FB_ITEM_AMOUNT, &fen), FB_ENOTFOUND);
    EXPECT_OK(fb_bill_item_set_amount(b, i, FB_ITEM_AMOUNT, 12850));
    assert_item(b, i, FB_ITEM_AMOUNT, "128.50");
    EXPECT_OK(fb_bill_item_get_amount(b, i, FB_ITEM_AMOUNT, &fen));
    ck_assert_int_eq(fen, 12850);
    EXPECT_OK(fb_bill_item_set_amount(b, i, FB_ITEM_STD, -7));
    assert_item(b, i, FB_ITEM_STD, "-0.07");
    EXPECT_FAIL(fb_bill_item_set_amount(b, i, FB_ITEM_AMOUNT, FB_AMOUNT_MAX + 1), FB_ERANGE);
    assert_item(b, i, FB_ITEM_AMOUNT, "128.50");
    EXPECT_FAIL(fb_bill_item_set_amount(b, i, FB_ITEM_NAME, 1), FB_EARG);
    EXPECT_FAIL(fb_bill_item_set_amount(b, i, FB_ITEM_QUANTITY, 1), FB_EARG);
    assert_item(b, i, FB_ITEM_QUANTITY, NULL);
    EXPECT_FAIL(fb_bill_item_get_amount(b, i, FB_ITEM_NAME, &fen), FB_EARG);
    EXPECT_OK(fb_bill_item_set(b, i, FB_ITEM_AMOUNT, "12.3"));
    EXPECT_FAIL(fb_bill_item_get_amount(b, i, FB_ITEM_AMOUNT, &fen), FB_EINVALID);
    EXPECT_FAIL(fb_bill_item_set_amount(b, 1, FB_ITEM_AMOUNT, 1), FB_ENOTFOUND);
    EXPECT_FAIL(fb_bill_item_get_amount(b, 1, FB_ITEM_AMOUNT, &fen), FB_ENOTFOUND);

    EXPECT_OK(fb_bill_aux_add(b, &a));
    ck_assert_uint_eq(a, 0);
    EXPECT_FAIL(fb_bill_aux_get_amount(b, a, FB_AUX_AMOUNT, &fen), FB_ENOTFOUND);
    EXPECT_OK(fb_bill_aux_set_amount(b, a, FB_AUX_AMOUNT, 99));
    assert_aux(b, a, FB_AUX_AMOUNT, "0.99");
    EXPECT_OK(fb_bill_aux_get_amount(b, a, FB_AUX_AMOUNT, &fen));
    ck_assert_int_eq(fen, 99);
    EXPECT_OK(fb_bill_aux_set_amount(b, a, FB_AUX_STD, 100000));
    assert_aux(b, a, FB_AUX_STD, "1000.00");
    EXPECT_FAIL(fb_bill_aux_set_amount(b, a, FB_AUX_AMOUNT, FB_AMOUNT_MIN - 1), FB_ERANGE);
    assert_aux(b, a, FB_AUX_AMOUNT, "0.99");
    EXPECT_FAIL(fb_bill_aux_set_amount(b, a, FB_AUX_NAME, 1), FB_EARG);
    EXPECT_FAIL(fb_bill_aux_get_amount(b, a, FB_AUX_CODE, &fen), FB_EARG);
    EXPECT_OK(fb_bill_aux_set(b, a, FB_AUX_AMOUNT, "x"));
    EXPECT_FAIL(fb_bill_aux_get_amount(b, a, FB_AUX_AMOUNT, &fen), FB_EINVALID);
    EXPECT_FAIL(fb_bill_aux_set_amount(b, 3, FB_AUX_AMOUNT, 1), FB_ENOTFOUND);
    EXPECT_FAIL(fb_bill_aux_get_amount(b, 3, FB_AUX_AMOUNT, &fen), FB_ENOTFOUND);
    fb_bill_free(b);
}
END_TEST

/* ---- what the setters accept ---- */

static const struct {
    const char *value;
    const char *what;
} bad_values[] = {
    { "\x01", "SOH" },
    { "a\x08z", "backspace" },
    { "\x0B", "vertical tab" },
    { "\x0C", "form feed" },
    { "\x1F", "unit separator" },
    { "ok\x1B[31m", "escape" },
    { "\xC3\x28", "bad continuation" },
    { "\xC3", "truncated 2-byte" },
    { "\xE4\xB8", "truncated 3-byte" },
    { "\x80", "lone continuation" },
    { "\xC0\xAF", "overlong '/'" },
    { "\xC1\xBF", "overlong 2-byte" },
    { "\xE0\x80\xAF", "overlong 3-byte" },
    { "\xF0\x80\x80\xAF", "overlong 4-byte" },
    { "\xED\xA0\x80", "surrogate D800" },
    { "\xED\xBF\xBF", "surrogate DFFF" },
    { "\xEF\xBF\xBE", "U+FFFE" },
    { "\xEF\xBF\xBF", "U+FFFF" },
    { "\xF4\x90\x80\x80", "above U+10FFFF" },
    { "\xF5\x80\x80\x80", "F5 lead" },
    { "\xFE", "FE" },
    { "\xFF", "FF" },
    { "abc\xEF\xBF\xBE" "def", "U+FFFE inside" },
};

static const char *const good_values[] = {
    "tab\there",        "line\nfeed",          "carriage\rreturn", "\r\n",
    "医疗门诊收费票据（电子）", "\xEF\xBF\xBD" /* U+FFFD */, "\xF0\x9F\x98\x80" /* U+1F600 */,
    "\xF4\x8F\xBF\xBF" /* U+10FFFF */, "\xEE\x80\x80" /* U+E000 */, "~ <&> \"'",
    " ",
};

START_TEST(setters_reject_bad_text)
{
    fb_bill *b = new_bill();
    size_t i, a;
    EXPECT_OK(fb_bill_item_add(b, &i));
    EXPECT_OK(fb_bill_aux_add(b, &a));
    EXPECT_OK(fb_bill_set(b, FB_REMARK, "before"));
    EXPECT_OK(fb_bill_item_set(b, i, FB_ITEM_NAME, "before"));
    EXPECT_OK(fb_bill_aux_set(b, a, FB_AUX_NAME, "before"));
    EXPECT_OK(fb_bill_ext_set(b, "Ward", "before"));
    EXPECT_OK(fb_bill_set(b, FB_EXT_GENDER, "before"));
    for (size_t k = 0; k < sizeof bad_values / sizeof bad_values[0]; k++) {
        const char *v = bad_values[k].value;
        EXPECT_FAIL(fb_bill_set(b, FB_REMARK, v), FB_EARG);
        assert_error_has("EInvoiceData/Main/Remark");
        assert_field(b, FB_REMARK, "before");
        EXPECT_FAIL(fb_bill_set(b, FB_CHECKER, v), FB_EARG);
        assert_field(b, FB_CHECKER, NULL);
        EXPECT_FAIL(fb_bill_item_set(b, i, FB_ITEM_NAME, v), FB_EARG);
        assert_error_has("ItemName");
        assert_item(b, i, FB_ITEM_NAME, "before");
        EXPECT_FAIL(fb_bill_aux_set(b, a, FB_AUX_NAME, v), FB_EARG);
        assert_error_has("AuxItemName");
        assert_aux(b, a, FB_AUX_NAME, "before");
        EXPECT_FAIL(fb_bill_ext_set(b, "Ward", v), FB_EARG);
        ck_assert_str_eq(fb_bill_ext_find(b, "Ward"), "before");
        EXPECT_FAIL(fb_bill_ext_set(b, "NewName", v), FB_EARG);
        ck_assert_ptr_null(fb_bill_ext_find(b, "NewName"));
        EXPECT_FAIL(fb_bill_ext_set(b, "Gender", v), FB_EARG);
        assert_field(b, FB_EXT_GENDER, "before");
        ck_assert_uint_eq(fb_bill_ext_count(b), 1);
    }
    fb_bill_free(b);
}
END_TEST

START_TEST(setters_accept_good_text)
{
    fb_bill *b = new_bill();
    size_t i, a;
    EXPECT_OK(fb_bill_item_add(b, &i));
    EXPECT_OK(fb_bill_aux_add(b, &a));
    for (size_t k = 0; k < sizeof good_values / sizeof good_values[0]; k++) {
        const char *v = good_values[k];
        EXPECT_OK(fb_bill_set(b, FB_REMARK, v));
        assert_field(b, FB_REMARK, v);
        EXPECT_OK(fb_bill_item_set(b, i, FB_ITEM_REMARK, v));
        assert_item(b, i, FB_ITEM_REMARK, v);
        EXPECT_OK(fb_bill_aux_set(b, a, FB_AUX_REMARK, v));
        assert_aux(b, a, FB_AUX_REMARK, v);
        EXPECT_OK(fb_bill_ext_set(b, "Note", v));
        ck_assert_str_eq(fb_bill_ext_find(b, "Note"), v);
    }
    fb_bill_free(b);
}
END_TEST

START_TEST(setters_length_limit)
{
    fb_bill *b = new_bill();
    size_t i, a;
    EXPECT_OK(fb_bill_item_add(b, &i));
    EXPECT_OK(fb_bill_aux_add(b, &a));
    char *max = malloc(FB_VALUE_MAX + 1);
    char *over = malloc(FB_VALUE_MAX + 2);
    ck_assert_ptr_nonnull(max);
    ck_assert_ptr_nonnull(over);
    memset(max, 'm', FB_VALUE_MAX);
    max[FB_VALUE_MAX] = '\0';
    memset(over, 'o', FB_VALUE_MAX + 1);
    over[FB_VALUE_MAX + 1] = '\0';

    EXPECT_OK(fb_bill_set(b, FB_REMARK, max));
    ck_assert_uint_eq(strlen(fb_bill_get(b, FB_REMARK)), FB_VALUE_MAX);
    EXPECT_FAIL(fb_bill_set(b, FB_REMARK, over), FB_ELIMIT);
    assert_error_has("Remark");
    assert_field(b, FB_REMARK, max);

    EXPECT_OK(fb_bill_item_set(b, i, FB_ITEM_REMARK, max));
    EXPECT_FAIL(fb_bill_item_set(b, i, FB_ITEM_REMARK, over), FB_ELIMIT);
    assert_item(b, i, FB_ITEM_REMARK, max);

    EXPECT_OK(fb_bill_aux_set(b, a, FB_AUX_REMARK, max));
    EXPECT_FAIL(fb_bill_aux_set(b, a, FB_AUX_REMARK, over), FB_ELIMIT);
    assert_aux(b, a, FB_AUX_REMARK, max);

    EXPECT_OK(fb_bill_ext_set(b, "Long", max));
    EXPECT_FAIL(fb_bill_ext_set(b, "Long", over), FB_ELIMIT);
    ck_assert_str_eq(fb_bill_ext_find(b, "Long"), max);
    EXPECT_FAIL(fb_bill_ext_set(b, "Longer", over), FB_ELIMIT);
    ck_assert_ptr_null(fb_bill_ext_find(b, "Longer"));
    ck_assert_uint_eq(fb_bill_ext_count(b), 1);

    /* A multi-byte value counts bytes, not characters: 1366 x 3 bytes = 4098. */
    char *wide = malloc(1366 * 3 + 1);
    ck_assert_ptr_nonnull(wide);
    for (int k = 0; k < 1366; k++)
        memcpy(wide + 3 * k, "\xE7\xA5\xA8", 3); /* 票 */
    wide[1366 * 3] = '\0';
    EXPECT_FAIL(fb_bill_set(b, FB_REMARK, wide), FB_ELIMIT);
    wide[1365 * 3] = '\0'; /* 4095 bytes */
    EXPECT_OK(fb_bill_set(b, FB_REMARK, wide));
    free(wide);
    free(max);
    free(over);
    fb_bill_free(b);
}
END_TEST

/* ---- items and aux items ---- */

START_TEST(items_add_remove)
{
    fb_bill *b = new_bill();
    static const char *const names[] = { "A", "B", "C", "D" };
    for (size_t k = 0; k < 4; k++) {
        size_t idx = 99;
        EXPECT_OK(fb_bill_item_add(b, &idx));
        ck_assert_uint_eq(idx, k);
        ck_assert_uint_eq(fb_bill_item_count(b), k + 1);
        /* A new row starts empty. */
        for (int f = 0; f < FB_ITEM_FIELD_COUNT; f++)
            assert_item(b, idx, (fb_item_field)f, NULL);
        EXPECT_OK(fb_bill_item_set(b, idx, FB_ITEM_NAME, names[k]));
        EXPECT_OK(fb_bill_item_set_amount(b, idx, FB_ITEM_AMOUNT, (int64_t)(k + 1) * 100));
        EXPECT_OK(fb_bill_item_set(b, idx, FB_ITEM_DETAIL_NAME, names[k]));
    }
    /* Every field of a row is separate. */
    for (int f = 0; f < FB_ITEM_FIELD_COUNT; f++) {
        char v[32];
        snprintf(v, sizeof v, "f%d", f);
        EXPECT_OK(fb_bill_item_set(b, 3, (fb_item_field)f, v));
    }
    for (int f = 0; f < FB_ITEM_FIELD_COUNT; f++) {
        char v[32];
        snprintf(v, sizeof v, "f%d", f);
        assert_item(b, 3, (fb_item_field)f, v);
    }
    assert_item(b, 2, FB_ITEM_NAME, "C");

    /* Remove the middle: the order of the rest is kept. */
    EXPECT_OK(fb_bill_item_remove(b, 1));
    ck_assert_uint_eq(fb_bill_item_count(b), 3);
    assert_item(b, 0, FB_ITEM_NAME, "A");
    assert_item(b, 1, FB_ITEM_NAME, "C");
    assert_item(b, 1, FB_ITEM_AMOUNT, "3.00");
    assert_item(b, 1, FB_ITEM_DETAIL_NAME, "C");
    assert_item(b, 2, FB_ITEM_NAME, "f1");
    ck_assert_ptr_null(fb_bill_item_get(b, 3, FB_ITEM_NAME));

    /* Bad indexes: FB_ENOTFOUND with a message. */
    EXPECT_FAIL(fb_bill_item_remove(b, 3), FB_ENOTFOUND);
    assert_error_has("no such entry");
    EXPECT_FAIL(fb_bill_item_remove(b, (size_t)-1), FB_ENOTFOUND);
    EXPECT_FAIL(fb_bill_item_set(b, 3, FB_ITEM_NAME, "x"), FB_ENOTFOUND);
    assert_error_has("Item");
    assert_error_has("no such entry");
    EXPECT_FAIL(fb_bill_item_set(b, 100, FB_ITEM_NAME, NULL), FB_ENOTFOUND);
    ck_assert_ptr_null(fb_bill_item_get(b, 3, FB_ITEM_NAME));
    ck_assert_ptr_null(fb_bill_item_get(b, (size_t)-1, FB_ITEM_NAME));
    ck_assert_uint_eq(fb_bill_item_count(b), 3);

    /* Remove the first and the last. */
    EXPECT_OK(fb_bill_item_remove(b, 0));
    assert_item(b, 0, FB_ITEM_NAME, "C");
    EXPECT_OK(fb_bill_item_remove(b, 1));
    ck_assert_uint_eq(fb_bill_item_count(b), 1);
    assert_item(b, 0, FB_ITEM_NAME, "C");
    EXPECT_OK(fb_bill_item_remove(b, 0));
    ck_assert_uint_eq(fb_bill_item_count(b), 0);
    EXPECT_FAIL(fb_bill_item_remove(b, 0), FB_ENOTFOUND);
    /* A row added after removals starts empty (nothing left from old rows). */
    size_t idx;
    EXPECT_OK(fb_bill_item_add(b, &idx));
    ck_assert_uint_eq(idx, 0);
    for (int f = 0; f < FB_ITEM_FIELD_COUNT; f++)
        assert_item(b, 0, (fb_item_field)f, NULL);
    /* The index pointer is optional. */
    EXPECT_OK(fb_bill_item_add(b, NULL));
    ck_assert_uint_eq(fb_bill_item_count(b), 2);
    /* Items and aux items are separate tables. */
    ck_assert_uint_eq(fb_bill_aux_count(b), 0);
    fb_bill_free(b);
}
END_TEST

START_TEST(many_items)
{
    fb_bill *b = new_bill();
    for (size_t k = 0; k < 1000; k++) {
        size_t idx;
        EXPECT_OK(fb_bill_item_add(b, &idx));
        ck_assert_uint_eq(idx, k);
        EXPECT_OK(fb_bill_item_set_amount(b, idx, FB_ITEM_AMOUNT, (int64_t)k));
    }
    ck_assert_uint_eq(fb_bill_item_count(b), 1000);
    for (size_t k = 0; k < 1000; k++) {
        int64_t fen;
        EXPECT_OK(fb_bill_item_get_amount(b, k, FB_ITEM_AMOUNT, &fen));
        ck_assert_int_eq(fen, (int64_t)k);
    }
    /* Remove every even one; the odd ones remain in order. */
    for (size_t k = 0; k < 500; k++)
        EXPECT_OK(fb_bill_item_remove(b, k));
    ck_assert_uint_eq(fb_bill_item_count(b), 500);
    for (size_t k = 0; k < 500; k++) {
        int64_t fen;
        EXPECT_OK(fb_bill_item_get_amount(b, k, FB_ITEM_AMOUNT, &fen));
        ck_assert_int_eq(fen, (int64_t)(2 * k + 1));
    }
    fb_bill_free(b);
}
END_TEST

START_TEST(aux_add_remove)
{
    fb_bill *b = new_bill();
    static const char *const names[] = { "A", "B", "C" };
    for (size_t k = 0; k < 3; k++) {
        size_t idx = 99;
        EXPECT_OK(fb_bill_aux_add(b, &idx));
        ck_assert_uint_eq(idx, k);
        for (int f = 0; f < FB_AUX_FIELD_COUNT; f++)
            assert_aux(b, idx, (fb_aux_field)f, NULL);
        EXPECT_OK(fb_bill_aux_set(b, idx, FB_AUX_NAME, names[k]));
        EXPECT_OK(fb_bill_aux_set(b, idx, FB_AUX_REMARK, names[k]));
    }
    ck_assert_uint_eq(fb_bill_aux_count(b), 3);
    ck_assert_uint_eq(fb_bill_item_count(b), 0);
    for (int f = 0; f < FB_AUX_FIELD_COUNT; f++) {
        char v[32];
        snprintf(v, sizeof v, "a%d", f);
        EXPECT_OK(fb_bill_aux_set(b, 0, (fb_aux_field)f, v));
    }
    for (int f = 0; f < FB_AUX_FIELD_COUNT; f++) {
        char v[32];
        snprintf(v, sizeof v, "a%d", f);
        assert_aux(b, 0, (fb_aux_field)f, v);
    }
    EXPECT_OK(fb_bill_aux_set(b, 0, FB_AUX_NAME, "A"));
    EXPECT_OK(fb_bill_aux_remove(b, 1));
    ck_assert_uint_eq(fb_bill_aux_count(b), 2);
    assert_aux(b, 0, FB_AUX_NAME, "A");
    assert_aux(b, 1, FB_AUX_NAME, "C");
    assert_aux(b, 1, FB_AUX_REMARK, "C");

    EXPECT_FAIL(fb_bill_aux_remove(b, 2), FB_ENOTFOUND);
    assert_error_has("AuxItem");
    assert_error_has("no such entry");
    EXPECT_FAIL(fb_bill_aux_set(b, 2, FB_AUX_NAME, "x"), FB_ENOTFOUND);
    assert_error_has("no such entry");
    ck_assert_ptr_null(fb_bill_aux_get(b, 2, FB_AUX_NAME));
    EXPECT_OK(fb_bill_aux_set(b, 1, FB_AUX_NAME, ""));
    assert_aux(b, 1, FB_AUX_NAME, NULL);
    EXPECT_OK(fb_bill_aux_remove(b, 0));
    EXPECT_OK(fb_bill_aux_remove(b, 0));
    ck_assert_uint_eq(fb_bill_aux_count(b), 0);
    EXPECT_FAIL(fb_bill_aux_remove(b, 0), FB_ENOTFOUND);
    fb_bill_free(b);
}
END_TEST

/* ---- MainExt ---- */

START_TEST(ext_pairs_order_and_replace)
{
    fb_bill *b = new_bill();
    EXPECT_OK(fb_bill_ext_set(b, "Zeta", "1"));
    EXPECT_OK(fb_bill_ext_set(b, "Alpha", "2"));
    EXPECT_OK(fb_bill_ext_set(b, "Mid_dle-3.x", "3"));
    ck_assert_uint_eq(fb_bill_ext_count(b), 3);
    assert_ext_pair(b, 0, "Zeta", "1");
    assert_ext_pair(b, 1, "Alpha", "2");
    assert_ext_pair(b, 2, "Mid_dle-3.x", "3");

    /* Replacing keeps the position. */
    EXPECT_OK(fb_bill_ext_set(b, "Alpha", "two"));
    ck_assert_uint_eq(fb_bill_ext_count(b), 3);
    assert_ext_pair(b, 0, "Zeta", "1");
    assert_ext_pair(b, 1, "Alpha", "two");
    assert_ext_pair(b, 2, "Mid_dle-3.x", "3");
    ck_assert_str_eq(fb_bill_ext_find(b, "Alpha"), "two");
    /* Names are case-sensitive. */
    ck_assert_ptr_null(fb_bill_ext_find(b, "alpha"));
    ck_assert_ptr_null(fb_bill_ext_find(b, "Nothing"));

    /* Setting from its own value is safe. */
    EXPECT_OK(fb_bill_ext_set(b, "Alpha", fb_bill_ext_find(b, "Alpha")));
    ck_assert_str_eq(fb_bill_ext_find(b, "Alpha"), "two");

    /* An empty value (or NULL) is kept as a pair: the name is information. */
    EXPECT_OK(fb_bill_ext_set(b, "Empty", ""));
    ck_assert_uint_eq(fb_bill_ext_count(b), 4);
    assert_ext_pair(b, 3, "Empty", "");
    ck_assert_str_eq(fb_bill_ext_find(b, "Empty"), "");
    EXPECT_OK(fb_bill_ext_set(b, "Zeta", NULL));
    ck_assert_uint_eq(fb_bill_ext_count(b), 4);
    assert_ext_pair(b, 0, "Zeta", "");

    /* Out-of-range index. */
    const char *n = "keep", *v = "keep";
    EXPECT_FAIL(fb_bill_ext_get(b, 4, &n, &v), FB_ENOTFOUND);
    assert_error_has("no such entry");

    /* Remove the middle: order kept. */
    EXPECT_OK(fb_bill_ext_remove(b, "Alpha"));
    ck_assert_uint_eq(fb_bill_ext_count(b), 3);
    assert_ext_pair(b, 0, "Zeta", "");
    assert_ext_pair(b, 1, "Mid_dle-3.x", "3");
    assert_ext_pair(b, 2, "Empty", "");
    ck_assert_ptr_null(fb_bill_ext_find(b, "Alpha"));
    EXPECT_FAIL(fb_bill_ext_remove(b, "Alpha"), FB_ENOTFOUND);
    assert_error_has("Alpha");
    /* A removed name comes back at the end. */
    EXPECT_OK(fb_bill_ext_set(b, "Alpha", "again"));
    assert_ext_pair(b, 3, "Alpha", "again");
    EXPECT_OK(fb_bill_ext_remove(b, "Zeta"));
    EXPECT_OK(fb_bill_ext_remove(b, "Alpha"));
    EXPECT_OK(fb_bill_ext_remove(b, "Empty"));
    EXPECT_OK(fb_bill_ext_remove(b, "Mid_dle-3.x"));
    ck_assert_uint_eq(fb_bill_ext_count(b), 0);
    /* Many pairs. */
    for (int k = 0; k < 100; k++) {
        char name[16];
        snprintf(name, sizeof name, "P%d", k);
        EXPECT_OK(fb_bill_ext_set(b, name, name));
    }
    ck_assert_uint_eq(fb_bill_ext_count(b), 100);
    assert_ext_pair(b, 57, "P57", "P57");
    fb_bill_free(b);
}
END_TEST

/* FB_EXT_MAX unknown pairs, not one more (specs/security.md §3.1, gap T1);
 * at the limit names already there and known fields can still be set. */
START_TEST(ext_limit_boundary)
{
    ck_assert_int_eq(FB_EXT_MAX, 256);
    fb_bill *b = new_bill();
    char name[16];
    for (int k = 0; k < FB_EXT_MAX; k++) {
        snprintf(name, sizeof name, "E%d", k);
        EXPECT_OK(fb_bill_ext_set(b, name, name));
    }
    ck_assert_uint_eq(fb_bill_ext_count(b), FB_EXT_MAX);
    EXPECT_FAIL(fb_bill_ext_set(b, "E256", "x"), FB_ELIMIT);
    assert_error_has("EInvoiceData/Main/MainExt");
    assert_error_has("more than 256 unknown children");
    ck_assert_uint_eq(fb_bill_ext_count(b), FB_EXT_MAX);
    ck_assert_ptr_null(fb_bill_ext_find(b, "E256"));
    assert_ext_pair(b, FB_EXT_MAX - 1, "E255", "E255");
    /* Not a new pair: replacing a value, setting a known field. */
    EXPECT_OK(fb_bill_ext_set(b, "E7", "seven"));
    assert_ext_pair(b, 7, "E7", "seven");
    EXPECT_OK(fb_bill_ext_set(b, "Gender", "女"));
    assert_field(b, FB_EXT_GENDER, "女");
    ck_assert_uint_eq(fb_bill_ext_count(b), FB_EXT_MAX);
    /* Removing one makes room for exactly one. */
    EXPECT_OK(fb_bill_ext_remove(b, "E0"));
    EXPECT_OK(fb_bill_ext_set(b, "E256", "x"));
    assert_ext_pair(b, FB_EXT_MAX - 1, "E256", "x");
    EXPECT_FAIL(fb_bill_ext_set(b, "E257", "x"), FB_ELIMIT);
    ck_assert_uint_eq(fb_bill_ext_count(b), FB_EXT_MAX);
    fb_bill_free(b);
}
END_TEST

START_TEST(ext_known_names_are_fields)
{
    fb_bill *b = new_bill();
    EXPECT_OK(fb_bill_ext_set(b, "Gender", "男"));
    assert_field(b, FB_EXT_GENDER, "男");
    ck_assert_uint_eq(fb_bill_ext_count(b), 0);
    ck_assert_str_eq(fb_bill_ext_find(b, "Gender"), "男");
    /* The other way: a field set directly is found by name. */
    EXPECT_OK(fb_bill_set(b, FB_EXT_MEDICAL_TYPE, "普通门诊"));
    ck_assert_str_eq(fb_bill_ext_find(b, "MedicalType"), "普通门诊");
    ck_assert_uint_eq(fb_bill_ext_count(b), 0);

    /* Every MainExt field by its name. */
    for (int f = FB_EXT_BUSINESS_NUMBER; f <= FB_EXT_PAY_CODE; f++) {
        const char *name = fb_field_name((fb_field)f);
        const char *value = fb_field_type((fb_field)f) == FB_TYPE_AMOUNT ? "1.00" : name;
        EXPECT_OK(fb_bill_ext_set(b, name, value));
        assert_field(b, (fb_field)f, value);
        ck_assert_str_eq(fb_bill_ext_find(b, name), value);
    }
    ck_assert_uint_eq(fb_bill_ext_count(b), 0);

    /* Empty unsets a known field (no pair appears). */
    EXPECT_OK(fb_bill_ext_set(b, "Gender", ""));
    assert_field(b, FB_EXT_GENDER, NULL);
    ck_assert_ptr_null(fb_bill_ext_find(b, "Gender"));
    ck_assert_uint_eq(fb_bill_ext_count(b), 0);
    EXPECT_OK(fb_bill_ext_set(b, "Age", NULL));
    assert_field(b, FB_EXT_AGE, NULL);
    ck_assert_uint_eq(fb_bill_ext_count(b), 0);

    /* Removing a known name unsets the field. */
    EXPECT_OK(fb_bill_ext_remove(b, "MedicalType"));
    assert_field(b, FB_EXT_MEDICAL_TYPE, NULL);
    ck_assert_uint_eq(fb_bill_ext_count(b), 0);

    /* A name of a Main field that is not a MainExt child is an ordinary pair. */
    EXPECT_OK(fb_bill_ext_set(b, "Remark", "ext remark"));
    ck_assert_uint_eq(fb_bill_ext_count(b), 1);
    assert_field(b, FB_REMARK, NULL);
    assert_ext_pair(b, 0, "Remark", "ext remark");
    fb_bill_free(b);
}
END_TEST

START_TEST(ext_invalid_names)
{
    fb_bill *b = new_bill();
    char n64[65], n65[66];
    memset(n64, 'n', 64);
    n64[64] = '\0';
    memset(n65, 'n', 65);
    n65[65] = '\0';
    static const char *const bad[] = {
        "1abc", "a:b", "xmlFoo", "", "XMLfoo", "xml", "-abc", ".abc", "a b", "a/b", "a<b",
        "名字", "a\xC3\xA9", "ns:Gender", "a\tb",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        EXPECT_FAIL(fb_bill_ext_set(b, bad[k], "v"), FB_EARG);
        ck_assert_uint_eq(fb_bill_ext_count(b), 0);
    }
    EXPECT_FAIL(fb_bill_ext_set(b, n65, "v"), FB_EARG);
    ck_assert_uint_eq(fb_bill_ext_count(b), 0);
    EXPECT_FAIL(fb_bill_ext_set(b, "1abc", "v"), FB_EARG);
    assert_error_has("1abc");

    /* The limits themselves are fine. */
    EXPECT_OK(fb_bill_ext_set(b, n64, "v"));
    EXPECT_OK(fb_bill_ext_set(b, "_a", "v"));
    EXPECT_OK(fb_bill_ext_set(b, "a1", "v"));
    EXPECT_OK(fb_bill_ext_set(b, "xm", "v"));
    EXPECT_OK(fb_bill_ext_set(b, "Xm_l", "v"));
    EXPECT_OK(fb_bill_ext_set(b, "aXML", "v"));
    ck_assert_uint_eq(fb_bill_ext_count(b), 6);
    assert_ext_pair(b, 0, n64, "v");
    fb_bill_free(b);
}
END_TEST

/* ---- derived Header fields ---- */

START_TEST(fill_derived_fills)
{
    fb_bill *b = sample_without_header();
    EXPECT_OK(fb_bill_fill_derived(b));
    assert_field(b, FB_EINVOICE_TAG, "CZ-EI-65");
    assert_field(b, FB_EINVOICE_ID, "1000000000-62106056");
    assert_field(b, FB_VERSION, "1.1.0");
    /* Again: the values agree, so nothing changes. */
    EXPECT_OK(fb_bill_fill_derived(b));
    assert_field(b, FB_EINVOICE_ID, "1000000000-62106056");

    /* Only the two region digits count for the tag. */
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_TAG, NULL));
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_ID, NULL));
    EXPECT_OK(fb_bill_set(b, FB_SUPERVISOR_AREA_CODE, "320600"));
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_CODE, "32060126"));
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_NUMBER, "1234567890"));
    EXPECT_OK(fb_bill_fill_derived(b));
    assert_field(b, FB_EINVOICE_TAG, "CZ-EI-32");
    assert_field(b, FB_EINVOICE_ID, "0987654321-62106023");
    fb_bill_free(b);
}
END_TEST

START_TEST(fill_derived_keeps_agreeing_values)
{
    fb_bill *b = sample_without_header();
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_ID, "1000000000-62106056"));
    EXPECT_OK(fb_bill_fill_derived(b));
    assert_field(b, FB_EINVOICE_TAG, "CZ-EI-65");
    assert_field(b, FB_VERSION, "1.1.0");
    fb_bill_free(b);
}
END_TEST

/* A derived field preset to disagree: FB_EINVALID naming it, bill unchanged. */
static void expect_disagree(fb_field f, const char *value)
{
    fb_bill *b = sample_without_header();
    EXPECT_OK(fb_bill_set(b, f, value));
    fb_bill *before = NULL;
    EXPECT_OK(fb_bill_dup(b, &before));
    EXPECT_FAIL(fb_bill_fill_derived(b), FB_EINVALID);
    assert_error_has(fb_field_path(f));
    assert_error_has(value);
    assert_bills_equal(b, before);
    for (int k = FB_EINVOICE_TAG; k <= FB_VERSION; k++)
        if (k != (int)f)
            assert_field(b, (fb_field)k, NULL);
    assert_field(b, f, value);
    fb_bill_free(before);
    fb_bill_free(b);
}

START_TEST(fill_derived_disagreeing)
{
    expect_disagree(FB_EINVOICE_TAG, "CZ-EI-32");
    expect_disagree(FB_EINVOICE_ID, "1000000000-62106057");
    expect_disagree(FB_EINVOICE_ID, "65060126-0000000001"); /* not reversed */
    expect_disagree(FB_VERSION, "1.0.0");
    expect_disagree(FB_VERSION, "1.1.0 ");
}
END_TEST

START_TEST(fill_derived_missing)
{
    /* No area code: the tag cannot be derived. */
    fb_bill *b = sample_without_header();
    EXPECT_OK(fb_bill_set(b, FB_SUPERVISOR_AREA_CODE, NULL));
    EXPECT_FAIL(fb_bill_fill_derived(b), FB_EINVALID);
    assert_error_has("Header/EInvoiceTag");
    assert_error_has("SupervisorAreaCode");
    for (int k = FB_EINVOICE_TAG; k <= FB_VERSION; k++)
        assert_field(b, (fb_field)k, NULL);
    /* An area code not starting with two digits is no better. */
    EXPECT_OK(fb_bill_set(b, FB_SUPERVISOR_AREA_CODE, "6"));
    EXPECT_FAIL(fb_bill_fill_derived(b), FB_EINVALID);
    EXPECT_OK(fb_bill_set(b, FB_SUPERVISOR_AREA_CODE, "x52300"));
    EXPECT_FAIL(fb_bill_fill_derived(b), FB_EINVALID);
    for (int k = FB_EINVOICE_TAG; k <= FB_VERSION; k++)
        assert_field(b, (fb_field)k, NULL);
    fb_bill_free(b);

    /* No code or no number: the ID cannot be derived, and the tag, which
     * could, is not filled either. */
    static const fb_field gone[] = { FB_EINVOICE_CODE, FB_EINVOICE_NUMBER };
    for (size_t i = 0; i < 2; i++) {
        b = sample_without_header();
        EXPECT_OK(fb_bill_set(b, gone[i], NULL));
        EXPECT_FAIL(fb_bill_fill_derived(b), FB_EINVALID);
        assert_error_has("Header/EInvoiceID");
        for (int k = FB_EINVOICE_TAG; k <= FB_VERSION; k++)
            assert_field(b, (fb_field)k, NULL);
        fb_bill_free(b);
    }
    /* A fresh bill. */
    b = new_bill();
    EXPECT_FAIL(fb_bill_fill_derived(b), FB_EINVALID);
    assert_empty(b);
    fb_bill_free(b);
}
END_TEST

/* The Header is derived from the code's text byte by byte; whatever the
 * outcome for a code that is not digits, a failing call must leave the bill
 * as it was (bill.h: "the bill is left unchanged"). */
START_TEST(fill_derived_failure_leaves_bill_unchanged)
{
    fb_bill *b = sample_without_header();
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_CODE, "测试")); /* 6 bytes of UTF-8 */
    fb_bill *before = NULL;
    EXPECT_OK(fb_bill_dup(b, &before));
    fb_clear_error();
    int rc = fb_bill_fill_derived(b);
    if (rc == FB_OK) {
        /* Whatever was filled must be text the bill can carry. */
        const char *id = fb_bill_get(b, FB_EINVOICE_ID);
        ck_assert_ptr_nonnull(id);
    } else {
        ck_assert_msg(fb_last_error()[0] != '\0', "failure without a message");
        ck_assert_msg(fb_bill_get(b, FB_EINVOICE_TAG) == NULL,
                      "fb_bill_fill_derived failed (status %d: %s) but set EInvoiceTag to "
                      "\"%s\" first", rc, fb_last_error(), fb_bill_get(b, FB_EINVOICE_TAG));
        assert_bills_equal(b, before);
    }
    fb_bill_free(before);
    fb_bill_free(b);
}
END_TEST

START_TEST(bill_key)
{
    fb_bill *b = fbt_sample_bill();
    char key[FB_BILL_KEY_BUFSIZE];
    memset(key, 'Z', sizeof key);
    EXPECT_OK(fb_bill_key(b, key));
    ck_assert_str_eq(key, "650601260000000001");
    ck_assert_uint_eq(strlen(key), 18);

    static const char *const bad_codes[] = { "6506012", "650601260", "6506012a", "" };
    for (size_t i = 0; i < sizeof bad_codes / sizeof bad_codes[0]; i++) {
        EXPECT_OK(fb_bill_set(b, FB_EINVOICE_CODE, bad_codes[i]));
        EXPECT_FAIL(fb_bill_key(b, key), FB_EINVALID);
        assert_error_has("EInvoiceCode");
    }
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_CODE, "65060126"));
    static const char *const bad_numbers[] = { "000000001", "00000000011", "000000000x", "" };
    for (size_t i = 0; i < sizeof bad_numbers / sizeof bad_numbers[0]; i++) {
        EXPECT_OK(fb_bill_set(b, FB_EINVOICE_NUMBER, bad_numbers[i]));
        EXPECT_FAIL(fb_bill_key(b, key), FB_EINVALID);
        assert_error_has("EInvoiceNumber");
    }
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_NUMBER, "9876543210"));
    EXPECT_OK(fb_bill_key(b, key));
    ck_assert_str_eq(key, "650601269876543210");
    EXPECT_FAIL(fb_bill_key(NULL, key), FB_EARG);
    EXPECT_FAIL(fb_bill_key(b, NULL), FB_EARG);
    fb_bill_free(b);
}
END_TEST

/* ---- NULL arguments, errors ---- */

START_TEST(null_arguments)
{
    fb_bill *b = fbt_sample_bill();
    fb_bill *ref = fbt_sample_bill();
    int64_t fen = 0;
    size_t idx = 0;
    const char *n = NULL, *v = NULL;
    fb_field f = FB_REMARK;

    EXPECT_FAIL(fb_bill_new(NULL), FB_EARG);
    fb_bill_free(NULL);
    fb_bill *copy = (fb_bill *)&fen; /* must stay untouched */
    EXPECT_FAIL(fb_bill_dup(NULL, &copy), FB_EARG);
    ck_assert_ptr_eq(copy, (fb_bill *)&fen);
    EXPECT_FAIL(fb_bill_dup(b, NULL), FB_EARG);

    EXPECT_FAIL(fb_field_lookup(NULL, &f), FB_EARG);
    EXPECT_FAIL(fb_field_lookup("Remark", NULL), FB_EARG);

    EXPECT_FAIL(fb_bill_set(NULL, FB_REMARK, "x"), FB_EARG);
    EXPECT_FAIL(fb_bill_set(NULL, FB_REMARK, NULL), FB_EARG);
    ck_assert_ptr_null(fb_bill_get(NULL, FB_REMARK));
    EXPECT_FAIL(fb_bill_set_amount(NULL, FB_TOTAL_AMOUNT, 1), FB_EARG);
    EXPECT_FAIL(fb_bill_get_amount(NULL, FB_TOTAL_AMOUNT, &fen), FB_EARG);
    EXPECT_FAIL(fb_bill_get_amount(b, FB_TOTAL_AMOUNT, NULL), FB_EARG);

    ck_assert_uint_eq(fb_bill_item_count(NULL), 0);
    EXPECT_FAIL(fb_bill_item_add(NULL, &idx), FB_EARG);
    EXPECT_FAIL(fb_bill_item_remove(NULL, 0), FB_EARG);
    EXPECT_FAIL(fb_bill_item_set(NULL, 0, FB_ITEM_NAME, "x"), FB_EARG);
    ck_assert_ptr_null(fb_bill_item_get(NULL, 0, FB_ITEM_NAME));
    EXPECT_FAIL(fb_bill_item_set_amount(NULL, 0, FB_ITEM_AMOUNT, 1), FB_EARG);
    EXPECT_FAIL(fb_bill_item_get_amount(NULL, 0, FB_ITEM_AMOUNT, &fen), FB_EARG);
    EXPECT_FAIL(fb_bill_item_get_amount(b, 0, FB_ITEM_AMOUNT, NULL), FB_EARG);

    ck_assert_uint_eq(fb_bill_aux_count(NULL), 0);
    EXPECT_FAIL(fb_bill_aux_add(NULL, &idx), FB_EARG);
    EXPECT_FAIL(fb_bill_aux_remove(NULL, 0), FB_EARG);
    EXPECT_FAIL(fb_bill_aux_set(NULL, 0, FB_AUX_NAME, "x"), FB_EARG);
    ck_assert_ptr_null(fb_bill_aux_get(NULL, 0, FB_AUX_NAME));
    EXPECT_FAIL(fb_bill_aux_set_amount(NULL, 0, FB_AUX_AMOUNT, 1), FB_EARG);
    EXPECT_FAIL(fb_bill_aux_get_amount(NULL, 0, FB_AUX_AMOUNT, &fen), FB_EARG);
    EXPECT_OK(fb_bill_aux_add(b, &idx));
    EXPECT_OK(fb_bill_aux_set_amount(b, idx, FB_AUX_AMOUNT, 1));
    EXPECT_FAIL(fb_bill_aux_get_amount(b, idx, FB_AUX_AMOUNT, NULL), FB_EARG);
    EXPECT_OK(fb_bill_aux_remove(b, idx));

    ck_assert_uint_eq(fb_bill_ext_count(NULL), 0);
    EXPECT_FAIL(fb_bill_ext_get(NULL, 0, &n, &v), FB_EARG);
    EXPECT_OK(fb_bill_ext_set(b, "Ward", "3B"));
    EXPECT_FAIL(fb_bill_ext_get(b, 0, NULL, &v), FB_EARG);
    EXPECT_FAIL(fb_bill_ext_get(b, 0, &n, NULL), FB_EARG);
    ck_assert_ptr_null(fb_bill_ext_find(NULL, "Ward"));
    ck_assert_ptr_null(fb_bill_ext_find(b, NULL));
    EXPECT_FAIL(fb_bill_ext_set(NULL, "Ward", "x"), FB_EARG);
    EXPECT_FAIL(fb_bill_ext_set(b, NULL, "x"), FB_EARG);
    EXPECT_FAIL(fb_bill_ext_remove(NULL, "Ward"), FB_EARG);
    EXPECT_FAIL(fb_bill_ext_remove(b, NULL), FB_EARG);
    EXPECT_OK(fb_bill_ext_remove(b, "Ward"));

    EXPECT_FAIL(fb_bill_fill_derived(NULL), FB_EARG);
    char key[FB_BILL_KEY_BUFSIZE];
    EXPECT_FAIL(fb_bill_key(NULL, key), FB_EARG);
    EXPECT_FAIL(fb_bill_key(b, NULL), FB_EARG);

    ck_assert_ptr_null(fb_field_name((fb_field)-1));

    /* None of that touched the bill. */
    assert_bills_equal(b, ref);
    fb_bill_free(ref);
    fb_bill_free(b);
}
END_TEST

START_TEST(last_error_messages)
{
    fb_clear_error();
    ck_assert_str_eq(fb_last_error(), "");
    fb_bill *b = new_bill();
    EXPECT_FAIL(fb_bill_set(b, FB_FIELD_COUNT, "x"), FB_EARG);
    assert_error_has("out of range");
    EXPECT_FAIL(fb_bill_set(b, FB_REMARK, "\x01"), FB_EARG);
    assert_error_has("EInvoiceData/Main/Remark");
    fb_clear_error();
    ck_assert_str_eq(fb_last_error(), "");
    /* Item indexes are counted from 1 in messages, as in paths. */
    EXPECT_FAIL(fb_bill_item_remove(b, 0), FB_ENOTFOUND);
    assert_error_has("Item 1");
    fb_bill_free(b);
}
END_TEST

START_TEST(status_strings)
{
    static const int codes[] = { FB_OK,    FB_ERROR,  FB_ENOMEM, FB_EARG,      FB_EINVALID,
                                 FB_EFORMAT, FB_ELIMIT, FB_EIO,  FB_ERANGE,    FB_ENOTFOUND,
                                 FB_EUNSUPPORTED };
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = fb_status_str(codes[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_msg(s[0] != '\0', "status %d: empty string", codes[i]);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(s, fb_status_str(codes[j])) != 0,
                          "statuses %d and %d share \"%s\"", codes[i], codes[j], s);
    }
    /* Unknown codes get a string too, distinct from every real one. */
    static const int unknown[] = { 1, -11, -100, 12345 };
    for (size_t k = 0; k < sizeof unknown / sizeof unknown[0]; k++) {
        const char *s = fb_status_str(unknown[k]);
        ck_assert_ptr_nonnull(s);
        ck_assert(s[0] != '\0');
        for (size_t i = 0; i < n; i++)
            ck_assert_str_ne(s, fb_status_str(codes[i]));
    }
    ck_assert_str_eq(fb_status_str(FB_EINVALID), "bill is invalid");
}
END_TEST

static char thread_message[1024];
static int thread_status;

static void *fail_in_thread(void *arg)
{
    (void)arg;
    fb_field f;
    thread_status = fb_field_lookup("NoSuchFieldInThread", &f);
    snprintf(thread_message, sizeof thread_message, "%s", fb_last_error());
    return NULL;
}

static void *clear_in_thread(void *arg)
{
    (void)arg;
    fb_clear_error();
    snprintf(thread_message, sizeof thread_message, "%s", fb_last_error());
    return NULL;
}

START_TEST(last_error_is_thread_local)
{
    fb_field f;
    EXPECT_FAIL(fb_field_lookup("MainThreadName", &f), FB_ENOTFOUND);
    char mine[1024];
    snprintf(mine, sizeof mine, "%s", fb_last_error());
    assert_error_has("MainThreadName");

    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fail_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_int_eq(thread_status, FB_ENOTFOUND);
    ck_assert_msg(strstr(thread_message, "NoSuchFieldInThread") != NULL,
                  "thread's message: %s", thread_message);
    ck_assert_msg(strstr(thread_message, "MainThreadName") == NULL,
                  "thread saw the main thread's message: %s", thread_message);
    ck_assert_str_eq(fb_last_error(), mine);

    /* Clearing on another thread does not clear this one. */
    ck_assert_int_eq(pthread_create(&t, NULL, clear_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_str_eq(thread_message, "");
    ck_assert_str_eq(fb_last_error(), mine);
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("bill");

    TCase *tc = tcase_create("lifetime");
    tcase_add_test(tc, new_is_empty);
    tcase_add_test(tc, sample_is_as_documented);
    tcase_add_test(tc, dup_copies_everything);
    tcase_add_test(tc, dup_is_deep);
    tcase_add_test(tc, dup_of_empty_bill);
    suite_add_tcase(s, tc);

    tc = tcase_create("fields");
    tcase_add_test(tc, set_get_every_field);
    tcase_add_test(tc, out_of_range_ids);
    tcase_add_test(tc, field_names_and_paths);
    tcase_add_test(tc, field_lookup);
    suite_add_tcase(s, tc);

    tc = tcase_create("amounts");
    tcase_add_test(tc, amount_accessors);
    tcase_add_test(tc, item_and_aux_amounts);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, setters_reject_bad_text);
    tcase_add_test(tc, setters_accept_good_text);
    tcase_add_test(tc, setters_length_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("rows");
    tcase_add_test(tc, items_add_remove);
    tcase_add_test(tc, many_items);
    tcase_add_test(tc, aux_add_remove);
    suite_add_tcase(s, tc);

    tc = tcase_create("mainext");
    tcase_add_test(tc, ext_pairs_order_and_replace);
    tcase_add_test(tc, ext_known_names_are_fields);
    tcase_add_test(tc, ext_invalid_names);
    tcase_add_test(tc, ext_limit_boundary);
    suite_add_tcase(s, tc);

    tc = tcase_create("derived");
    tcase_add_test(tc, fill_derived_fills);
    tcase_add_test(tc, fill_derived_keeps_agreeing_values);
    tcase_add_test(tc, fill_derived_disagreeing);
    tcase_add_test(tc, fill_derived_missing);
    tcase_add_test(tc, fill_derived_failure_leaves_bill_unchanged);
    tcase_add_test(tc, bill_key);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, null_arguments);
    tcase_add_test(tc, last_error_messages);
    tcase_add_test(tc, status_strings);
    tcase_add_test(tc, last_error_is_thread_local);
    suite_add_tcase(s, tc);
    return s;
}
