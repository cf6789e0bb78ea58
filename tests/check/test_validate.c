/* Validation (validate.h): every rule of the national format, each problem
 * reported at its exact path with its exact message, all of them at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fbt.h"

/* ---- helpers ---- */

#define EXPECT_OK(call)                                                                      \
    do {                                                                                     \
        int rc_ = (call);                                                                    \
        ck_assert_msg(rc_ == FB_OK, "%s: status %d: %s", #call, rc_, fb_last_error());     \
    } while (0)

typedef struct want_problem {
    const char *path;
    const char *message;
} want_problem;

/* All problems of p, one a line, for failure messages. */
static const char *dump(const fb_problems *p)
{
    static char text[8192];
    size_t o = 0;
    text[0] = '\0';
    for (size_t i = 0; i < fb_problems_count(p) && o < sizeof text; i++) {
        int n = snprintf(text + o, sizeof text - o, "\n  [%zu] %s: %s", i, fb_problems_path(p, i),
                         fb_problems_message(p, i));
        if (n < 0)
            break;
        o += (size_t)n;
    }
    if (fb_problems_count(p) == 0)
        snprintf(text, sizeof text, " (none)");
    return text;
}

static int has_problem(const fb_problems *p, const char *path, const char *message)
{
    for (size_t i = 0; i < fb_problems_count(p); i++)
        if (strcmp(fb_problems_path(p, i), path) == 0 &&
            strcmp(fb_problems_message(p, i), message) == 0)
            return 1;
    return 0;
}

/* Validate; the status must agree with the count, and the message with the
 * first problem. The caller frees the result. */
static fb_problems *run(const fb_bill *b)
{
    fb_problems *p = NULL;
    fb_clear_error();
    int rc = fb_bill_validate(b, &p);
    ck_assert_msg(p != NULL, "fb_bill_validate: no list (status %d: %s)", rc, fb_last_error());
    size_t n = fb_problems_count(p);
    if (n == 0) {
        ck_assert_msg(rc == FB_OK, "no problems but status %d", rc);
    } else {
        ck_assert_msg(rc == FB_EINVALID, "%zu problems but status %d:%s", n, rc, dump(p));
        /* fb_last_error() names the first problem: its path and message. */
        const char *err = fb_last_error();
        ck_assert_msg(strstr(err, fb_problems_path(p, 0)) != NULL &&
                          strstr(err, fb_problems_message(p, 0)) != NULL,
                      "last error \"%s\" does not name the first problem%s", err, dump(p));
    }
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(fb_problems_path(p, i));
        ck_assert_ptr_nonnull(fb_problems_message(p, i));
        ck_assert(fb_problems_path(p, i)[0] != '\0');
        ck_assert(fb_problems_message(p, i)[0] != '\0');
    }
    return p;
}

static void expect_valid(const fb_bill *b)
{
    fb_problems *p = run(b);
    ck_assert_msg(fb_problems_count(p) == 0, "expected a valid bill, got:%s", dump(p));
    fb_problems_free(p);
}

/* Exactly these problems, in any order. */
static void expect_problems(const fb_bill *b, const want_problem *want, size_t n)
{
    fb_problems *p = run(b);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(has_problem(p, want[i].path, want[i].message),
                      "missing problem %s: %s; got:%s", want[i].path, want[i].message, dump(p));
    ck_assert_msg(fb_problems_count(p) == n, "expected %zu problems, got %zu:%s", n,
                  fb_problems_count(p), dump(p));
    fb_problems_free(p);
}

static void expect_only(const fb_bill *b, const char *path, const char *message)
{
    want_problem w = { path, message };
    expect_problems(b, &w, 1);
}

/* At least this problem. */
static void expect_has(const fb_bill *b, const char *path, const char *message)
{
    fb_problems *p = run(b);
    ck_assert_msg(has_problem(p, path, message), "missing problem %s: %s; got:%s", path,
                  message, dump(p));
    fb_problems_free(p);
}

#define EXPECT_PROBLEMS(b, ...)                                                              \
    do {                                                                                     \
        static const want_problem want_[] = { __VA_ARGS__ };                                 \
        expect_problems((b), want_, sizeof want_ / sizeof want_[0]);                         \
    } while (0)

/* Derive the Header again after changing code, number or area. */
static void rederive(fb_bill *b)
{
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_TAG, NULL));
    EXPECT_OK(fb_bill_set(b, FB_EINVOICE_ID, NULL));
    EXPECT_OK(fb_bill_set(b, FB_VERSION, NULL));
    EXPECT_OK(fb_bill_fill_derived(b));
}

static void set(fb_bill *b, fb_field f, const char *v)
{
    int rc = fb_bill_set(b, f, v);
    ck_assert_msg(rc == FB_OK, "setting %s: status %d: %s", fb_field_path(f), rc,
                  fb_last_error());
}

static void set_item(fb_bill *b, size_t i, fb_item_field f, const char *v)
{
    int rc = fb_bill_item_set(b, i, f, v);
    ck_assert_msg(rc == FB_OK, "setting item %zu %s: status %d: %s", i, fb_item_field_name(f),
                  rc, fb_last_error());
}

/* A message quoting a value: prefix + "\"value\"". */
static const char *msg_got(const char *prefix, const char *value)
{
    static char text[256];
    snprintf(text, sizeof text, "%s\"%s\"", prefix, value);
    return text;
}

#define P_MAIN "EInvoiceData/Main/"
#define AMOUNT_MSG "must be an amount with two decimals such as 12.30, got "
#define QTY_MSG "must be a non-negative decimal number, got "
#define DATE_MSG "must be a date as yyyyMMdd, got "
#define TIME_MSG "must be a time as HH:mm:ss, got "
#define MISSING "is mandatory but missing"

/* The mandatory single fields of the format (schema.c). */
static const fb_field mandatory[] = {
    FB_EINVOICE_TAG,         FB_EINVOICE_ID,          FB_VERSION,
    FB_EINVOICE_NAME,        FB_EINVOICE_CODE,        FB_EINVOICE_NUMBER,
    FB_EINVOICE_SPECIMEN_CODE, FB_SUPERVISOR_AREA_CODE, FB_TOTAL_AMOUNT,
    FB_ISSUE_DATE,           FB_ISSUE_TIME,           FB_INVOICING_PARTY_CODE,
    FB_INVOICING_PARTY_NAME, FB_PAYER_PARTY_TYPE,     FB_HANDLING_PERSON,
    FB_CHECKER,              FB_INVOICING_SEAL_ID,    FB_INVOICING_SEAL_NAME,
    FB_INVOICING_SEAL_HASH,
};
#define N_MANDATORY (sizeof mandatory / sizeof mandatory[0])

static int is_mandatory(int f)
{
    for (size_t i = 0; i < N_MANDATORY; i++)
        if ((int)mandatory[i] == f)
            return 1;
    return 0;
}

static const fb_item_field item_mandatory[] = { FB_ITEM_CODE, FB_ITEM_NAME, FB_ITEM_AMOUNT };

/* ---- the valid sample ---- */

START_TEST(sample_is_valid)
{
    fb_bill *b = fbt_sample_bill();
    fb_problems *p = NULL;
    ck_assert_int_eq(fb_bill_validate(b, &p), FB_OK);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(fb_problems_count(p), 0);
    ck_assert_ptr_null(fb_problems_path(p, 0));
    ck_assert_ptr_null(fb_problems_message(p, 0));
    fb_problems_free(p);
    /* Validation reads the bill only: validating twice gives the same. */
    expect_valid(b);
    fb_bill_free(b);
}
END_TEST

START_TEST(empty_bill_reports_everything)
{
    fb_bill *b = NULL;
    EXPECT_OK(fb_bill_new(&b));
    fb_problems *p = run(b);
    for (size_t i = 0; i < N_MANDATORY; i++)
        ck_assert_msg(has_problem(p, fb_field_path(mandatory[i]), MISSING), "%s not reported:%s",
                      fb_field_path(mandatory[i]), dump(p));
    ck_assert_msg(has_problem(p, "EInvoiceData/Details", "must hold at least one Item"),
                  "no Details problem:%s", dump(p));
    ck_assert_msg(fb_problems_count(p) == N_MANDATORY + 1, "want %zu problems:%s",
                  N_MANDATORY + 1, dump(p));
    fb_problems_free(p);
    fb_bill_free(b);
}
END_TEST

START_TEST(every_problem_at_once)
{
    fb_bill *b = fbt_sample_bill();
    set(b, FB_CHECKER, NULL);
    set(b, FB_EINVOICE_CODE, "3206012");
    set(b, FB_RANDOM_NUMBER, "ABCDEF");
    set(b, FB_ISSUE_TIME, "24:00:00");
    set(b, FB_PAYER_PARTY_TYPE, "3");
    set(b, FB_SUPERVISOR_SEAL_ID, "65000001");
    set_item(b, 0, FB_ITEM_NAME, NULL);
    set_item(b, 1, FB_ITEM_AMOUNT, "12.3");
    size_t a;
    EXPECT_OK(fb_bill_aux_add(b, &a));
    EXPECT_OK(fb_bill_aux_set(b, a, FB_AUX_QUANTITY, "-1"));
    EXPECT_PROBLEMS(b,
        { P_MAIN "Checker", MISSING },
        /* No EInvoiceID problem: an ID cannot be derived from a malformed
         * code, so only the code is reported. */
        { P_MAIN "EInvoiceCode", "must be 8 digits, got \"3206012\"" },
        { P_MAIN "RandomNumber", "must be 6 digits or lower-case letters, got \"ABCDEF\"" },
        { P_MAIN "IssueTime", TIME_MSG "\"24:00:00\"" },
        { P_MAIN "PayerParty/PayerPartyType",
          "must be 1 (person) or 2 (organisation), got \"3\"" },
        { P_MAIN "SupervisorPartySeal/SealName",
          "is missing while the rest of SupervisorPartySeal is set" },
        { P_MAIN "SupervisorPartySeal/SealHash",
          "is missing while the rest of SupervisorPartySeal is set" },
        { "EInvoiceData/Details/Item[1]/ItemName", MISSING },
        { "EInvoiceData/Details/Item[2]/ItemAmount", AMOUNT_MSG "\"12.3\"" },
        { "EInvoiceData/AuxDetails/AuxItem[1]/AuxItemQuantity", QTY_MSG "\"-1\"" });
    fb_bill_free(b);
}
END_TEST

/* ---- mandatory fields ---- */

START_TEST(mandatory_fields_missing)
{
    for (size_t i = 0; i < N_MANDATORY; i++) {
        fb_bill *b = fbt_sample_bill();
        ck_assert_ptr_nonnull(fb_bill_get(b, mandatory[i]));
        set(b, mandatory[i], NULL);
        expect_only(b, fb_field_path(mandatory[i]), MISSING);
        fb_bill_free(b);
    }
    /* The exact paths of some, written out. */
    static const char *const paths[] = {
        "Header/EInvoiceTag",
        "EInvoiceData/Main/EInvoiceSpecimenCode",
        "EInvoiceData/Main/InvoicingParty/InvoicingPartyCode",
        "EInvoiceData/Main/PayerParty/PayerPartyType",
        "EInvoiceData/Main/InvoicingPartySeal/SealHash",
    };
    static const fb_field fields[] = { FB_EINVOICE_TAG, FB_EINVOICE_SPECIMEN_CODE,
                                       FB_INVOICING_PARTY_CODE, FB_PAYER_PARTY_TYPE,
                                       FB_INVOICING_SEAL_HASH };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        fb_bill *b = fbt_sample_bill();
        set(b, fields[i], "");
        expect_only(b, paths[i], MISSING);
        fb_bill_free(b);
    }
}
END_TEST

START_TEST(optional_fields_may_be_missing)
{
    for (int f = 0; f < FB_FIELD_COUNT; f++) {
        if (is_mandatory(f))
            continue;
        fb_bill *b = fbt_sample_bill();
        set(b, (fb_field)f, NULL);
        expect_valid(b);
        fb_bill_free(b);
    }
}
END_TEST

START_TEST(item_mandatory_fields)
{
    static const char *const paths[] = {
        "EInvoiceData/Details/Item[2]/ItemCode",
        "EInvoiceData/Details/Item[2]/ItemName",
        "EInvoiceData/Details/Item[2]/ItemAmount",
    };
    for (size_t i = 0; i < 3; i++) {
        fb_bill *b = fbt_sample_bill();
        set_item(b, 1, item_mandatory[i], NULL);
        expect_only(b, paths[i], MISSING);
        fb_bill_free(b);
        b = fbt_sample_bill();
        set_item(b, 0, item_mandatory[i], NULL);
        char path[128];
        snprintf(path, sizeof path, "EInvoiceData/Details/Item[1]/%s",
                 fb_item_field_name(item_mandatory[i]));
        expect_only(b, path, MISSING);
        fb_bill_free(b);
    }
    /* The other item fields are optional. */
    for (int f = 0; f < FB_ITEM_FIELD_COUNT; f++) {
        if (f == FB_ITEM_CODE || f == FB_ITEM_NAME || f == FB_ITEM_AMOUNT)
            continue;
        fb_bill *b = fbt_sample_bill();
        set_item(b, 0, (fb_item_field)f, NULL);
        set_item(b, 1, (fb_item_field)f, NULL);
        expect_valid(b);
        fb_bill_free(b);
    }
    /* Indexes past 9 are counted in full. */
    fb_bill *b = fbt_sample_bill();
    for (int k = 0; k < 10; k++) {
        size_t idx;
        EXPECT_OK(fb_bill_item_add(b, &idx));
        set_item(b, idx, FB_ITEM_CODE, "03");
        set_item(b, idx, FB_ITEM_NAME, "空");
        set_item(b, idx, FB_ITEM_AMOUNT, "0.00");
    }
    expect_valid(b);
    set_item(b, 11, FB_ITEM_CODE, NULL);
    expect_only(b, "EInvoiceData/Details/Item[12]/ItemCode", MISSING);
    fb_bill_free(b);
}
END_TEST

START_TEST(no_items)
{
    fb_bill *b = fbt_sample_bill();
    EXPECT_OK(fb_bill_item_remove(b, 1));
    EXPECT_OK(fb_bill_item_remove(b, 0));
    expect_only(b, "EInvoiceData/Details", "must hold at least one Item");
    /* Aux items do not count as items. */
    size_t a;
    EXPECT_OK(fb_bill_aux_add(b, &a));
    EXPECT_OK(fb_bill_aux_set(b, a, FB_AUX_AMOUNT, "328.50"));
    expect_only(b, "EInvoiceData/Details", "must hold at least one Item");
    fb_bill_free(b);
}
END_TEST

/* ---- formats ---- */

START_TEST(einvoice_code_format)
{
    fb_bill *b = fbt_sample_bill();
    set(b, FB_EINVOICE_CODE, "3206012");
    /* The Header cannot be derived from a malformed code. */
    fb_bill *d;
    ck_assert_int_eq(fb_bill_dup(b, &d), FB_OK);
    ck_assert_int_eq(fb_bill_set(d, FB_EINVOICE_ID, NULL), FB_OK);
    ck_assert_int_eq(fb_bill_fill_derived(d), FB_EINVALID);
    ck_assert_ptr_nonnull(strstr(fb_last_error(), "Header/EInvoiceID: cannot be derived"));
    fb_bill_free(d);
    expect_only(b, P_MAIN "EInvoiceCode", "must be 8 digits, got \"3206012\"");
    static const char *const bad[] = { "650601261", "6506012a", "６５０６０１２６", "6506 126" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_bill *c = fbt_sample_bill();
        set(c, FB_EINVOICE_CODE, bad[i]);
        expect_has(c, P_MAIN "EInvoiceCode", msg_got("must be 8 digits, got ", bad[i]));
        fb_bill_free(c);
    }
    fb_bill_free(b);
}
END_TEST

START_TEST(einvoice_number_format)
{
    static const char *const bad[] = { "000000001", "00000000011", "000000000a", "abcdefghij" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_bill *b = fbt_sample_bill();
        set(b, FB_EINVOICE_NUMBER, bad[i]);
        /* The old EInvoiceID stays: nothing can be derived from a bad
         * number, so the number is the one problem. */
        expect_only(b, P_MAIN "EInvoiceNumber", msg_got("must be 10 digits, got ", bad[i]));
        fb_bill_free(b);
    }
    fb_bill *b = fbt_sample_bill();
    set(b, FB_EINVOICE_NUMBER, "9999999999");
    rederive(b);
    expect_valid(b);
    fb_bill_free(b);
}
END_TEST

START_TEST(random_number_format)
{
    static const char *const bad[] = { "A1B2C3", "ABCDEF", "a1b2c", "a1b2c3d", "a1b2c!",
                                       "a1b2C3", "a1 2c3", "ａ1b2c3" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_bill *b = fbt_sample_bill();
        set(b, FB_RANDOM_NUMBER, bad[i]);
        expect_only(b, P_MAIN "RandomNumber",
                    msg_got("must be 6 digits or lower-case letters, got ", bad[i]));
        fb_bill_free(b);
    }
    static const char *const good[] = { "a1b2c3", "abcdef", "123456", "zzzzzz", "000000" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        fb_bill *b = fbt_sample_bill();
        set(b, FB_RANDOM_NUMBER, good[i]);
        expect_valid(b);
        fb_bill_free(b);
    }
}
END_TEST

START_TEST(area_code_format)
{
    static const char *const bad[] = { "65230", "6523001", "65230a", "65-300" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_bill *b = fbt_sample_bill();
        set(b, FB_SUPERVISOR_AREA_CODE, bad[i]);
        expect_only(b, P_MAIN "SupervisorAreaCode", msg_got("must be 6 digits, got ", bad[i]));
        fb_bill_free(b);
    }
    fb_bill *b = fbt_sample_bill();
    set(b, FB_SUPERVISOR_AREA_CODE, "650000");
    expect_valid(b);
    fb_bill_free(b);
}
END_TEST

/* The sample with IssueDate set, and the code's year digits made to agree. */
static fb_bill *bill_dated(const char *date)
{
    fb_bill *b = fbt_sample_bill();
    set(b, FB_ISSUE_DATE, date);
    if (strlen(date) == 8) {
        char code[9];
        snprintf(code, sizeof code, "650601%.2s", date + 2);
        set(b, FB_EINVOICE_CODE, code);
        rederive(b);
    }
    return b;
}

START_TEST(date_format)
{
    static const char *const bad[] = {
        "20260230", "20250229", "2026-11-15", "21000229", "20261301", "20260001", "20261100",
        "20260431", "20261132", "2026111",  "202611150", "2026111a", "19000229",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_bill *b = bill_dated(bad[i]);
        expect_only(b, P_MAIN "IssueDate", msg_got(DATE_MSG, bad[i]));
        fb_bill_free(b);
    }
    static const char *const good[] = { "20240229", "20000229", "20261231", "20260101",
                                        "20260131", "20260430" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        fb_bill *b = bill_dated(good[i]);
        expect_valid(b);
        fb_bill_free(b);
    }
}
END_TEST

START_TEST(time_format)
{
    static const char *const bad[] = { "24:00:00", "12:60:00", "12:00:60", "1:00:00",
                                       "12:00",    "12-00-00", "120000",   "12:00:00 ",
                                       "ab:cd:ef", "99:99:99", "-1:00:00" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_bill *b = fbt_sample_bill();
        set(b, FB_ISSUE_TIME, bad[i]);
        expect_only(b, P_MAIN "IssueTime", msg_got(TIME_MSG, bad[i]));
        fb_bill_free(b);
    }
    static const char *const good[] = { "23:59:59", "00:00:00", "12:00:00", "09:05:01" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        fb_bill *b = fbt_sample_bill();
        set(b, FB_ISSUE_TIME, good[i]);
        expect_valid(b);
        fb_bill_free(b);
    }
}
END_TEST

START_TEST(amount_format)
{
    static const char *const bad[] = { "12.3", "012.30", "328.5", "328", "328.500", "+328.50",
                                       "-0.00", "328,50", "abc" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* TotalAmount: the sum cannot be compared, so this is the only problem. */
        fb_bill *b = fbt_sample_bill();
        set(b, FB_TOTAL_AMOUNT, bad[i]);
        expect_only(b, P_MAIN "TotalAmount", msg_got(AMOUNT_MSG, bad[i]));
        fb_bill_free(b);
        /* ItemAmount: likewise. */
        b = fbt_sample_bill();
        set_item(b, 1, FB_ITEM_AMOUNT, bad[i]);
        expect_only(b, "EInvoiceData/Details/Item[2]/ItemAmount", msg_got(AMOUNT_MSG, bad[i]));
        fb_bill_free(b);
        /* ItemStd is checked but does not enter the sum. */
        b = fbt_sample_bill();
        set_item(b, 0, FB_ITEM_STD, bad[i]);
        expect_only(b, "EInvoiceData/Details/Item[1]/ItemStd", msg_got(AMOUNT_MSG, bad[i]));
        fb_bill_free(b);
        /* MainExt amounts too. */
        b = fbt_sample_bill();
        set(b, FB_EXT_FUND_PAY_AMOUNT, bad[i]);
        expect_only(b, P_MAIN "MainExt/FundPayAmount", msg_got(AMOUNT_MSG, bad[i]));
        fb_bill_free(b);
    }
    fb_bill *b = fbt_sample_bill();
    set(b, FB_EXT_FUND_PAY_AMOUNT, "100.00");
    set(b, FB_EXT_OWN_PAY_AMOUNT, "0.00");
    set_item(b, 0, FB_ITEM_STD, "-1.00");
    expect_valid(b);
    fb_bill_free(b);
}
END_TEST

START_TEST(quantity_format)
{
    static const char *const good[] = { "1", "2.5", "0.125", "0", "10", "0.0", "1000000" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        fb_bill *b = fbt_sample_bill();
        set_item(b, 0, FB_ITEM_QUANTITY, good[i]);
        expect_valid(b);
        fb_bill_free(b);
    }
    static const char *const bad[] = { "-1", "1.", ".5", "abc", "1.2.3", "1e3", " 1", "+1",
                                       "1,5", "１" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_bill *b = fbt_sample_bill();
        set_item(b, 1, FB_ITEM_QUANTITY, bad[i]);
        expect_only(b, "EInvoiceData/Details/Item[2]/ItemQuantity", msg_got(QTY_MSG, bad[i]));
        fb_bill_free(b);
    }
}
END_TEST

START_TEST(payer_party_type)
{
    static const char *const bad[] = { "3", "0", "12", "person", " 1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_bill *b = fbt_sample_bill();
        set(b, FB_PAYER_PARTY_TYPE, bad[i]);
        expect_only(b, P_MAIN "PayerParty/PayerPartyType",
                    msg_got("must be 1 (person) or 2 (organisation), got ", bad[i]));
        fb_bill_free(b);
    }
    fb_bill *b = fbt_sample_bill();
    set(b, FB_PAYER_PARTY_TYPE, "2");
    expect_valid(b);
    fb_bill_free(b);
}
END_TEST

/* ---- the sum ---- */

START_TEST(items_must_sum_to_total)
{
    fb_bill *b = fbt_sample_bill();
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, 33850));
    EXPECT_OK(fb_bill_item_set_amount(b, 1, FB_ITEM_AMOUNT, 3000));
    expect_only(b, P_MAIN "TotalAmount", "is 338.50 but the items sum to 158.50");
    fb_bill_free(b);

    b = fbt_sample_bill();
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, 32849));
    expect_only(b, P_MAIN "TotalAmount", "is 328.49 but the items sum to 328.50");
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, 0));
    expect_only(b, P_MAIN "TotalAmount", "is 0.00 but the items sum to 328.50");
    /* The sum follows removals. */
    EXPECT_OK(fb_bill_item_remove(b, 0));
    expect_only(b, P_MAIN "TotalAmount", "is 0.00 but the items sum to 200.00");
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, 20000));
    expect_valid(b);
    fb_bill_free(b);

    /* Large amounts are summed exactly. */
    b = fbt_sample_bill();
    EXPECT_OK(fb_bill_item_set_amount(b, 0, FB_ITEM_AMOUNT, INT64_C(99999999999899)));
    EXPECT_OK(fb_bill_item_set_amount(b, 1, FB_ITEM_AMOUNT, 100));
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, FB_AMOUNT_MAX));
    expect_valid(b);
    /* A sum past what the format can write is still a disagreement. */
    EXPECT_OK(fb_bill_item_set_amount(b, 1, FB_ITEM_AMOUNT, 101));
    fb_problems *p = run(b);
    ck_assert_msg(fb_problems_count(p) == 1, "want one problem:%s", dump(p));
    ck_assert_str_eq(fb_problems_path(p, 0), P_MAIN "TotalAmount");
    ck_assert_msg(strncmp(fb_problems_message(p, 0), "is 999999999999.99 but the items sum to ",
                          40) == 0,
                  "%s", fb_problems_message(p, 0));
    fb_problems_free(p);
    fb_bill_free(b);
}
END_TEST

/* The sample with its items replaced by n items of fen each. */
static fb_bill *bill_of_items(size_t n, int64_t fen, int64_t total)
{
    fb_bill *b = fbt_sample_bill();
    EXPECT_OK(fb_bill_item_remove(b, 1));
    EXPECT_OK(fb_bill_item_remove(b, 0));
    for (size_t k = 0; k < n; k++) {
        size_t idx;
        EXPECT_OK(fb_bill_item_add(b, &idx));
        set_item(b, idx, FB_ITEM_CODE, "01");
        set_item(b, idx, FB_ITEM_NAME, "挂号费");
        EXPECT_OK(fb_bill_item_set_amount(b, idx, FB_ITEM_AMOUNT, fen));
    }
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, total));
    return b;
}

START_TEST(exact_sum_of_many_items)
{
    fb_bill *b = bill_of_items(1000, 1, 1000);
    expect_valid(b);
    /* One fen off either way fails, with the exact figures. */
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, 1001));
    expect_only(b, P_MAIN "TotalAmount", "is 10.01 but the items sum to 10.00");
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, 999));
    expect_only(b, P_MAIN "TotalAmount", "is 9.99 but the items sum to 10.00");
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, 1000));
    EXPECT_OK(fb_bill_item_set_amount(b, 637, FB_ITEM_AMOUNT, 2));
    expect_only(b, P_MAIN "TotalAmount", "is 10.00 but the items sum to 10.01");
    /* A problem deep in the list names its index. */
    set_item(b, 999, FB_ITEM_NAME, NULL);
    EXPECT_PROBLEMS(b, { P_MAIN "TotalAmount", "is 10.00 but the items sum to 10.01" },
                    { "EInvoiceData/Details/Item[1000]/ItemName", MISSING });
    fb_bill_free(b);

    /* 0.1 + 0.2 is 0.3 here. */
    b = bill_of_items(0, 0, 30);
    static const int64_t parts[] = { 10, 20 };
    for (size_t k = 0; k < 2; k++) {
        size_t idx;
        EXPECT_OK(fb_bill_item_add(b, &idx));
        set_item(b, idx, FB_ITEM_CODE, "01");
        set_item(b, idx, FB_ITEM_NAME, "费");
        EXPECT_OK(fb_bill_item_set_amount(b, idx, FB_ITEM_AMOUNT, parts[k]));
    }
    expect_valid(b);
    fb_bill_free(b);

    /* Items mixing signs sum algebraically. */
    b = bill_of_items(3, 500, 1000);
    EXPECT_OK(fb_bill_item_set_amount(b, 2, FB_ITEM_AMOUNT, -0));
    expect_valid(b);
    EXPECT_OK(fb_bill_item_set_amount(b, 2, FB_ITEM_AMOUNT, -1));
    expect_only(b, P_MAIN "TotalAmount", "is 10.00 but the items sum to 9.99");
    fb_bill_free(b);
}
END_TEST

/* A sum past what an int64_t holds is reported, never skipped: 92,234
 * items of the largest amount add up to more than 2^63 - 1 fen, and without
 * the check any TotalAmount passed (specs/security.md, gap G1). */
START_TEST(sum_overflowing_int64)
{
    static const char more[] = "is 0.01 but the items sum to more than an amount can hold";
    fb_bill *b = bill_of_items(92234, FB_AMOUNT_MAX, 1);
    expect_only(b, P_MAIN "TotalAmount", more);
    /* No TotalAmount can equal such a sum, the largest included. */
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, FB_AMOUNT_MAX));
    expect_only(b, P_MAIN "TotalAmount",
                "is 999999999999.99 but the items sum to more than an amount can hold");
    /* Nor a negative one (which also makes it a reversal bill). */
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, FB_AMOUNT_MIN));
    expect_has(b, P_MAIN "TotalAmount",
               "is -99999999999.99 but the items sum to more than an amount can hold");
    /* Refunds after the overflow count: the sum is exact, not that of a
     * running int64_t. Three of the lowest amount bring it back under
     * 2^63 - 1, still more than an amount can hold. */
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, 1));
    for (int k = 0; k < 3; k++) {
        size_t idx;
        EXPECT_OK(fb_bill_item_add(b, &idx));
        set_item(b, idx, FB_ITEM_CODE, "01");
        set_item(b, idx, FB_ITEM_NAME, "退费");
        EXPECT_OK(fb_bill_item_set_amount(b, idx, FB_ITEM_AMOUNT, FB_AMOUNT_MIN));
    }
    expect_only(b, P_MAIN "TotalAmount", more);
    fb_bill_free(b);

    /* 92,233 of them fit an int64_t, but no amount: the same words. */
    b = bill_of_items(92233, FB_AMOUNT_MAX, 1);
    expect_only(b, P_MAIN "TotalAmount", more);
    fb_bill_free(b);
}
END_TEST

/* ---- agreement between fields ---- */

START_TEST(region_digits_disagree)
{
    fb_bill *b = fbt_sample_bill();
    set(b, FB_SUPERVISOR_AREA_CODE, "320600");
    rederive(b); /* EInvoiceTag follows the area: CZ-EI-32 */
    expect_only(b, P_MAIN "EInvoiceCode",
                "region digits \"65\" disagree with SupervisorAreaCode \"320600\"");
    /* Only the province digits count. */
    set(b, FB_SUPERVISOR_AREA_CODE, "659999");
    rederive(b);
    expect_valid(b);
    fb_bill_free(b);
}
END_TEST

START_TEST(year_digits_disagree)
{
    fb_bill *b = fbt_sample_bill();
    set(b, FB_ISSUE_DATE, "20251115");
    expect_only(b, P_MAIN "EInvoiceCode",
                "year digits \"26\" disagree with IssueDate \"20251115\"");
    set(b, FB_ISSUE_DATE, "19261115"); /* the two digits after the century */
    expect_valid(b);
    fb_bill_free(b);
}
END_TEST

START_TEST(header_fields_disagree)
{
    fb_bill *b = fbt_sample_bill();
    set(b, FB_EINVOICE_TAG, "CZ-EI-32");
    expect_only(b, "Header/EInvoiceTag",
                "must be CZ-EI-65 (from SupervisorAreaCode), got \"CZ-EI-32\"");
    fb_bill_free(b);

    b = fbt_sample_bill();
    set(b, FB_EINVOICE_ID, "1000000000-62106057");
    expect_only(b, "Header/EInvoiceID",
                "must be 1000000000-62106056 (EInvoiceCode-EInvoiceNumber reversed), "
                "got \"1000000000-62106057\"");
    fb_bill_free(b);

    b = fbt_sample_bill();
    set(b, FB_EINVOICE_ID, "65060126-0000000001");
    expect_only(b, "Header/EInvoiceID",
                "must be 1000000000-62106056 (EInvoiceCode-EInvoiceNumber reversed), "
                "got \"65060126-0000000001\"");
    fb_bill_free(b);

    b = fbt_sample_bill();
    set(b, FB_VERSION, "1.0.0");
    expect_only(b, "Header/Version", "must be 1.1.0, got \"1.0.0\"");
    set(b, FB_VERSION, "1.1");
    expect_only(b, "Header/Version", "must be 1.1.0, got \"1.1\"");
    fb_bill_free(b);

    /* All three at once. */
    b = fbt_sample_bill();
    set(b, FB_EINVOICE_TAG, "CZ-EI-11");
    set(b, FB_EINVOICE_ID, "x");
    set(b, FB_VERSION, "2");
    EXPECT_PROBLEMS(b,
        { "Header/EInvoiceTag", "must be CZ-EI-65 (from SupervisorAreaCode), got \"CZ-EI-11\"" },
        { "Header/EInvoiceID",
          "must be 1000000000-62106056 (EInvoiceCode-EInvoiceNumber reversed), got \"x\"" },
        { "Header/Version", "must be 1.1.0, got \"2\"" });
    fb_bill_free(b);
}
END_TEST

/* ---- reversal bills ---- */

static fb_bill *reversal_bill(void)
{
    fb_bill *b = fbt_sample_bill();
    EXPECT_OK(fb_bill_set_amount(b, FB_TOTAL_AMOUNT, -32850));
    EXPECT_OK(fb_bill_item_set_amount(b, 0, FB_ITEM_AMOUNT, -12850));
    EXPECT_OK(fb_bill_item_set_amount(b, 1, FB_ITEM_AMOUNT, -20000));
    return b;
}

START_TEST(reversal_needs_related_bill)
{
    fb_bill *b = reversal_bill();
    EXPECT_PROBLEMS(b,
        { P_MAIN "MainExt/RelatedInvoiceCode",
          "is mandatory on a reversal bill (negative TotalAmount)" },
        { P_MAIN "MainExt/RelatedInvoiceNumber",
          "is mandatory on a reversal bill (negative TotalAmount)" });

    set(b, FB_EXT_RELATED_INVOICE_CODE, "65060126");
    expect_only(b, P_MAIN "MainExt/RelatedInvoiceNumber",
                "is mandatory on a reversal bill (negative TotalAmount)");
    set(b, FB_EXT_RELATED_INVOICE_NUMBER, "0000000001");
    expect_valid(b);

    /* The related bill's code and number have the shapes of a bill's. */
    set(b, FB_EXT_RELATED_INVOICE_CODE, "6506012");
    expect_only(b, P_MAIN "MainExt/RelatedInvoiceCode", "must be 8 digits, got \"6506012\"");
    set(b, FB_EXT_RELATED_INVOICE_CODE, "65060126");
    set(b, FB_EXT_RELATED_INVOICE_NUMBER, "00000000012");
    expect_only(b, P_MAIN "MainExt/RelatedInvoiceNumber",
                "must be 10 digits, got \"00000000012\"");
    fb_bill_free(b);

    /* Set through MainExt by name, as a reader would. */
    b = reversal_bill();
    EXPECT_OK(fb_bill_ext_set(b, "RelatedInvoiceCode", "65060126"));
    EXPECT_OK(fb_bill_ext_set(b, "RelatedInvoiceNumber", "0000000001"));
    expect_valid(b);
    fb_bill_free(b);

    /* A reversal with items that do not sum is reported too. */
    b = reversal_bill();
    set(b, FB_EXT_RELATED_INVOICE_CODE, "65060126");
    set(b, FB_EXT_RELATED_INVOICE_NUMBER, "0000000001");
    EXPECT_OK(fb_bill_item_set_amount(b, 1, FB_ITEM_AMOUNT, 20000));
    expect_only(b, P_MAIN "TotalAmount", "is -328.50 but the items sum to 71.50");
    fb_bill_free(b);

    /* An ordinary bill may name a related bill, and a zero total is no
     * reversal. */
    b = fbt_sample_bill();
    set(b, FB_EXT_RELATED_INVOICE_CODE, "65060126");
    set(b, FB_EXT_RELATED_INVOICE_NUMBER, "0000000002");
    expect_valid(b);
    fb_bill_free(b);
    b = bill_of_items(1, 0, 0);
    expect_valid(b);
    fb_bill_free(b);
}
END_TEST

/* ---- seals ---- */

START_TEST(supervisor_seal_all_or_nothing)
{
    static const char *const msg = "is missing while the rest of SupervisorPartySeal is set";
    fb_bill *b = fbt_sample_bill();
    set(b, FB_SUPERVISOR_SEAL_ID, "65000001");
    EXPECT_PROBLEMS(b, { P_MAIN "SupervisorPartySeal/SealName",
                         "is missing while the rest of SupervisorPartySeal is set" },
                    { P_MAIN "SupervisorPartySeal/SealHash",
                      "is missing while the rest of SupervisorPartySeal is set" });
    set(b, FB_SUPERVISOR_SEAL_HASH,
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
    expect_only(b, P_MAIN "SupervisorPartySeal/SealName", msg);
    set(b, FB_SUPERVISOR_SEAL_NAME, "新疆维吾尔自治区财政厅票据监制章");
    expect_valid(b);
    set(b, FB_SUPERVISOR_SEAL_ID, NULL);
    expect_only(b, P_MAIN "SupervisorPartySeal/SealId", msg);
    fb_bill_free(b);
}
END_TEST

/* ---- aux items ---- */

START_TEST(aux_item_types)
{
    fb_bill *b = fbt_sample_bill();
    size_t a;
    /* An empty aux item is fine: none of its fields is mandatory. */
    EXPECT_OK(fb_bill_aux_add(b, &a));
    expect_valid(b);
    EXPECT_OK(fb_bill_aux_set(b, 0, FB_AUX_AMOUNT, "12.3"));
    expect_only(b, "EInvoiceData/AuxDetails/AuxItem[1]/AuxItemAmount", AMOUNT_MSG "\"12.3\"");
    EXPECT_OK(fb_bill_aux_add(b, &a));
    EXPECT_OK(fb_bill_aux_set(b, a, FB_AUX_QUANTITY, "1."));
    EXPECT_OK(fb_bill_aux_set(b, a, FB_AUX_STD, "012.30"));
    EXPECT_OK(fb_bill_aux_set(b, a, FB_AUX_NAME, "any text"));
    EXPECT_PROBLEMS(b,
        { "EInvoiceData/AuxDetails/AuxItem[1]/AuxItemAmount", AMOUNT_MSG "\"12.3\"" },
        { "EInvoiceData/AuxDetails/AuxItem[2]/AuxItemQuantity", QTY_MSG "\"1.\"" },
        { "EInvoiceData/AuxDetails/AuxItem[2]/AuxItemStd", AMOUNT_MSG "\"012.30\"" });

    /* Valid aux amounts do not enter the items' sum. */
    EXPECT_OK(fb_bill_aux_set(b, 0, FB_AUX_AMOUNT, "1000.00"));
    EXPECT_OK(fb_bill_aux_set(b, 1, FB_AUX_QUANTITY, "0.125"));
    EXPECT_OK(fb_bill_aux_set(b, 1, FB_AUX_STD, "12.30"));
    expect_valid(b);
    fb_bill_free(b);
}
END_TEST

/* ---- the problem list ---- */

START_TEST(problems_accessors)
{
    fb_bill *b = fbt_sample_bill();
    set(b, FB_CHECKER, NULL);
    set(b, FB_HANDLING_PERSON, NULL);
    fb_problems *p = run(b);
    size_t n = fb_problems_count(p);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_null(fb_problems_path(p, n));
    ck_assert_ptr_null(fb_problems_message(p, n));
    ck_assert_ptr_null(fb_problems_path(p, n + 1));
    ck_assert_ptr_null(fb_problems_message(p, 1000));
    ck_assert_ptr_null(fb_problems_path(p, (size_t)-1));
    ck_assert_ptr_null(fb_problems_message(p, (size_t)-1));
    fb_problems_free(p);

    ck_assert_uint_eq(fb_problems_count(NULL), 0);
    ck_assert_ptr_null(fb_problems_path(NULL, 0));
    ck_assert_ptr_null(fb_problems_message(NULL, 0));
    fb_problems_free(NULL);

    /* NULL arguments. */
    p = (fb_problems *)b; /* must stay untouched */
    fb_clear_error();
    ck_assert_int_eq(fb_bill_validate(NULL, &p), FB_EARG);
    ck_assert_ptr_eq(p, (fb_problems *)b);
    ck_assert(fb_last_error()[0] != '\0');
    fb_clear_error();
    ck_assert_int_eq(fb_bill_validate(b, NULL), FB_EARG);
    ck_assert(fb_last_error()[0] != '\0');
    fb_bill_free(b);
}
END_TEST

START_TEST(last_error_names_first_problem)
{
    fb_bill *b = fbt_sample_bill();
    set(b, FB_ISSUE_TIME, "12:60:00");
    fb_problems *p = NULL;
    fb_clear_error();
    ck_assert_int_eq(fb_bill_validate(b, &p), FB_EINVALID);
    ck_assert_uint_eq(fb_problems_count(p), 1);
    const char *err = fb_last_error();
    ck_assert_msg(strstr(err, "EInvoiceData/Main/IssueTime") != NULL, "%s", err);
    ck_assert_msg(strstr(err, TIME_MSG "\"12:60:00\"") != NULL, "%s", err);
    fb_problems_free(p);

    /* With several, the first listed is the one named. */
    set(b, FB_PAYER_PARTY_TYPE, "9");
    set(b, FB_CHECKER, NULL);
    p = NULL;
    ck_assert_int_eq(fb_bill_validate(b, &p), FB_EINVALID);
    ck_assert_uint_eq(fb_problems_count(p), 3);
    err = fb_last_error();
    ck_assert_msg(strstr(err, fb_problems_path(p, 0)) != NULL, "%s", err);
    ck_assert_msg(strstr(err, fb_problems_message(p, 0)) != NULL, "%s", err);
    fb_problems_free(p);

    /* The problems outlive the bill. */
    p = NULL;
    ck_assert_int_eq(fb_bill_validate(b, &p), FB_EINVALID);
    fb_bill_free(b);
    ck_assert_uint_eq(fb_problems_count(p), 3);
    ck_assert(has_problem(p, P_MAIN "Checker", MISSING));
    fb_problems_free(p);
}
END_TEST

START_TEST(hostile_values_are_quoted)
{
    /* Values are quoted cut short and with control bytes escaped, so a
     * message is always one line of text. */
    fb_bill *b = fbt_sample_bill();
    set(b, FB_ISSUE_TIME, "12:00:00\n<evil>\"quoted\"");
    fb_problems *p = run(b);
    ck_assert_uint_eq(fb_problems_count(p), 1);
    const char *m = fb_problems_message(p, 0);
    ck_assert_msg(strchr(m, '\n') == NULL, "raw newline in \"%s\"", m);
    ck_assert_msg(strncmp(m, TIME_MSG "\"12:00:00", strlen(TIME_MSG) + 9) == 0, "%s", m);
    fb_problems_free(p);

    char big[FB_VALUE_MAX + 1];
    memset(big, '9', FB_VALUE_MAX);
    big[FB_VALUE_MAX] = '\0';
    set(b, FB_ISSUE_TIME, "12:00:00");
    set(b, FB_RANDOM_NUMBER, big);
    p = run(b);
    ck_assert_uint_eq(fb_problems_count(p), 1);
    ck_assert_msg(strlen(fb_problems_message(p, 0)) < 200, "message of %zu bytes",
                  strlen(fb_problems_message(p, 0)));
    fb_problems_free(p);
    fb_bill_free(b);
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("validate");

    TCase *tc = tcase_create("whole");
    tcase_add_test(tc, sample_is_valid);
    tcase_add_test(tc, empty_bill_reports_everything);
    tcase_add_test(tc, every_problem_at_once);
    suite_add_tcase(s, tc);

    tc = tcase_create("mandatory");
    tcase_add_test(tc, mandatory_fields_missing);
    tcase_add_test(tc, optional_fields_may_be_missing);
    tcase_add_test(tc, item_mandatory_fields);
    tcase_add_test(tc, no_items);
    suite_add_tcase(s, tc);

    tc = tcase_create("formats");
    tcase_add_test(tc, einvoice_code_format);
    tcase_add_test(tc, einvoice_number_format);
    tcase_add_test(tc, random_number_format);
    tcase_add_test(tc, area_code_format);
    tcase_add_test(tc, date_format);
    tcase_add_test(tc, time_format);
    tcase_add_test(tc, amount_format);
    tcase_add_test(tc, quantity_format);
    tcase_add_test(tc, payer_party_type);
    suite_add_tcase(s, tc);

    tc = tcase_create("sums");
    tcase_add_test(tc, items_must_sum_to_total);
    tcase_add_test(tc, exact_sum_of_many_items);
    tcase_add_test(tc, sum_overflowing_int64);
    suite_add_tcase(s, tc);

    tc = tcase_create("agreement");
    tcase_add_test(tc, region_digits_disagree);
    tcase_add_test(tc, year_digits_disagree);
    tcase_add_test(tc, header_fields_disagree);
    tcase_add_test(tc, reversal_needs_related_bill);
    tcase_add_test(tc, supervisor_seal_all_or_nothing);
    tcase_add_test(tc, aux_item_types);
    suite_add_tcase(s, tc);

    tc = tcase_create("problems");
    tcase_add_test(tc, problems_accessors);
    tcase_add_test(tc, last_error_names_first_problem);
    tcase_add_test(tc, hostile_values_are_quoted);
    suite_add_tcase(s, tc);
    return s;
}
