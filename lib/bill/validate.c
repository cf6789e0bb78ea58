/* Validation: every rule of specs/bill-format.md "Validation", all problems
 * collected in one pass. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bill/derive.h"
#include "bill/schema.h"
#include "common/internal.h"
#include "fiscalbill/amount.h"
#include "fiscalbill/validate.h"

typedef struct problem {
    char *path;
    char *message;
} problem;

struct fb_problems {
    problem *list;
    size_t n;
    size_t cap;
    int oom; /* set once an allocation failed: the list is then incomplete */
};

static void add(fb_problems *p, const char *path, const char *msg)
{
    if (p->oom)
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        problem *l = realloc(p->list, cap * sizeof *l);
        if (!l) {
            p->oom = 1;
            return;
        }
        p->list = l;
        p->cap = cap;
    }
    char *a = fb_strdup(path), *b = fb_strdup(msg);
    if (!a || !b) {
        free(a);
        free(b);
        p->oom = 1;
        return;
    }
    p->list[p->n++] = (problem){ a, b };
}

__attribute__((format(printf, 3, 4)))
static void report(fb_problems *p, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    add(p, path, msg);
}


/* The value quoted for a message: "got \"...\"". */
static const char *quoted(const char *value, char buf[128])
{
    fb_text_quote(buf, 128, value, strlen(value), 40);
    return buf;
}

/* ---- shapes of values ---- */

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool is_date(const char *s)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (!fb_text_is_digits(s, 8))
        return false;
    int y = num(s, 4), m = num(s + 4, 2), d = num(s + 6, 2);
    if (y < 1900 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= days[m - 1] + (m == 2 && is_leap(y));
}

static bool is_time(const char *s)
{
    if (strlen(s) != 8 || s[2] != ':' || s[5] != ':')
        return false;
    for (int i = 0; i < 8; i++)
        if (i != 2 && i != 5 && (s[i] < '0' || s[i] > '9'))
            return false;
    return num(s, 2) < 24 && num(s + 3, 2) < 60 && num(s + 6, 2) < 60;
}

/* A non-negative decimal: digits, optionally '.' and digits; 20 bytes at
 * most. Quantities may carry more than two fraction digits. */
static bool is_quantity(const char *s)
{
    size_t len = strlen(s), i = 0, digits = 0;
    if (len == 0 || len > 20)
        return false;
    for (; s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (digits == 0)
        return false;
    if (s[i] == '\0')
        return true;
    if (s[i++] != '.' || s[i] == '\0')
        return false;
    for (; s[i]; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static bool is_random_number(const char *s)
{
    if (strlen(s) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
            return false;
    return true;
}

/* ---- per-field checks ---- */

static void check_type(fb_problems *p, const char *path, fb_value_type type, const char *v)
{
    char q[128];
    int64_t fen;
    switch (type) {
    case FB_TYPE_AMOUNT:
        if (fb_amount_parse(v, &fen) != FB_OK)
            report(p, path, "must be an amount with two decimals such as 12.30, got %s",
                   quoted(v, q));
        break;
    case FB_TYPE_QUANTITY:
        if (!is_quantity(v))
            report(p, path, "must be a non-negative decimal number, got %s", quoted(v, q));
        break;
    case FB_TYPE_DATE:
        if (!is_date(v))
            report(p, path, "must be a date as yyyyMMdd, got %s", quoted(v, q));
        break;
    case FB_TYPE_TIME:
        if (!is_time(v))
            report(p, path, "must be a time as HH:mm:ss, got %s", quoted(v, q));
        break;
    case FB_TYPE_TEXT:
        break;
    }
}

static void check_value(fb_problems *p, const char *path, const fb_field_def *def,
                        const char *v)
{
    if (!v) {
        if (def->flags & FB_FLAG_MANDATORY)
            report(p, path, "is mandatory but missing");
        return;
    }
    check_type(p, path, def->type, v);
}

static void check_digits(fb_problems *p, fb_field f, const char *v, size_t n)
{
    char q[128];
    if (v && !fb_text_is_digits(v, n))
        report(p, fb_field_path(f), "must be %zu digits, got %s", n, quoted(v, q));
}

static void check_formats(const fb_bill *b, fb_problems *p)
{
    char q[128];
    const char *v;
    check_digits(p, FB_EINVOICE_CODE, fb_bill_get(b, FB_EINVOICE_CODE), 8);
    check_digits(p, FB_EINVOICE_NUMBER, fb_bill_get(b, FB_EINVOICE_NUMBER), 10);
    check_digits(p, FB_SUPERVISOR_AREA_CODE, fb_bill_get(b, FB_SUPERVISOR_AREA_CODE), 6);
    check_digits(p, FB_EXT_RELATED_INVOICE_CODE, fb_bill_get(b, FB_EXT_RELATED_INVOICE_CODE), 8);
    check_digits(p, FB_EXT_RELATED_INVOICE_NUMBER,
                 fb_bill_get(b, FB_EXT_RELATED_INVOICE_NUMBER), 10);
    if ((v = fb_bill_get(b, FB_RANDOM_NUMBER)) && !is_random_number(v))
        report(p, fb_field_path(FB_RANDOM_NUMBER),
               "must be 6 digits or lower-case letters, got %s", quoted(v, q));
    if ((v = fb_bill_get(b, FB_PAYER_PARTY_TYPE)) && strcmp(v, "1") && strcmp(v, "2"))
        report(p, fb_field_path(FB_PAYER_PARTY_TYPE),
               "must be 1 (person) or 2 (organisation), got %s", quoted(v, q));
    if ((v = fb_bill_get(b, FB_VERSION)) && strcmp(v, FB_FORMAT_VERSION))
        report(p, fb_field_path(FB_VERSION), "must be %s, got %s", FB_FORMAT_VERSION,
               quoted(v, q));
}

static void check_derived(const fb_bill *b, fb_problems *p)
{
    char want[20], q[128];
    const char *tag = fb_bill_get(b, FB_EINVOICE_TAG);
    if (tag && fb_derive_tag(b, want) == 0 && strcmp(tag, want))
        report(p, fb_field_path(FB_EINVOICE_TAG),
               "must be %s (from SupervisorAreaCode), got %s", want, quoted(tag, q));
    const char *id = fb_bill_get(b, FB_EINVOICE_ID);
    if (id && fb_derive_id(b, want) == 0 && strcmp(id, want))
        report(p, fb_field_path(FB_EINVOICE_ID),
               "must be %s (EInvoiceCode-EInvoiceNumber reversed), got %s", want, quoted(id, q));
}

/* The code's region and year digits must agree with the area and the date. */
static void check_code_agrees(const fb_bill *b, fb_problems *p)
{
    const char *code = fb_bill_get(b, FB_EINVOICE_CODE);
    const char *area = fb_bill_get(b, FB_SUPERVISOR_AREA_CODE);
    const char *date = fb_bill_get(b, FB_ISSUE_DATE);
    if (!fb_text_is_digits(code, 8))
        return;
    if (fb_text_is_digits(area, 6) && strncmp(code, area, 2))
        report(p, fb_field_path(FB_EINVOICE_CODE),
               "region digits \"%.2s\" disagree with SupervisorAreaCode \"%s\"", code, area);
    if (date && is_date(date) && strncmp(code + 6, date + 2, 2))
        report(p, fb_field_path(FB_EINVOICE_CODE),
               "year digits \"%.2s\" disagree with IssueDate \"%s\"", code + 6, date);
}

/* A reversal (冲红) bill has a negative total and must name the bill it
 * reverses. */
static void check_reversal(const fb_bill *b, fb_problems *p)
{
    int64_t total;
    if (fb_bill_get_amount(b, FB_TOTAL_AMOUNT, &total) || total >= 0)
        return;
    if (!fb_bill_get(b, FB_EXT_RELATED_INVOICE_CODE))
        report(p, fb_field_path(FB_EXT_RELATED_INVOICE_CODE),
               "is mandatory on a reversal bill (negative TotalAmount)");
    if (!fb_bill_get(b, FB_EXT_RELATED_INVOICE_NUMBER))
        report(p, fb_field_path(FB_EXT_RELATED_INVOICE_NUMBER),
               "is mandatory on a reversal bill (negative TotalAmount)");
}

/* The supervisor seal block is either empty (before the bureau names its
 * seal) or complete. */
static void check_supervisor_seal(const fb_bill *b, fb_problems *p)
{
    static const fb_field seal[] = { FB_SUPERVISOR_SEAL_ID, FB_SUPERVISOR_SEAL_NAME,
                                     FB_SUPERVISOR_SEAL_HASH };
    int set = 0;
    for (int i = 0; i < 3; i++)
        set += fb_bill_get(b, seal[i]) != NULL;
    for (int i = 0; set && set < 3 && i < 3; i++)
        if (!fb_bill_get(b, seal[i]))
            report(p, fb_field_path(seal[i]),
                   "is missing while the rest of SupervisorPartySeal is set");
}

static void check_fields(const fb_bill *b, fb_problems *p)
{
    for (int f = 0; f < FB_FIELD_COUNT; f++)
        check_value(p, fb_field_defs[f].path, &fb_field_defs[f], fb_bill_get(b, (fb_field)f));
}

/* "EInvoiceData/Details/Item/ItemName" -> "EInvoiceData/Details/Item[2]/ItemName" */
static void row_path(char *out, size_t size, const char *path, const char *row, size_t i)
{
    const char *at = strstr(path, row);
    size_t head = (size_t)(at - path) + strlen(row);
    snprintf(out, size, "%.*s[%zu]%s", (int)head, path, i + 1, path + head);
}

/* A field of row i: checked under its plain path, which the problems found
 * then get with the row's index. Formatting the indexed path for every
 * field of every row, most of them fine, cost more than checking them. */
static void check_row_value(fb_problems *p, const fb_field_def *def, const char *row, size_t i,
                            const char *v)
{
    size_t before = p->n;
    check_value(p, def->path, def, v);
    for (size_t k = before; k < p->n; k++) {
        char path[160], *copy;
        row_path(path, sizeof path, def->path, row, i);
        if (!(copy = fb_strdup(path))) {
            p->oom = 1;
            continue;
        }
        free(p->list[k].path);
        p->list[k].path = copy;
    }
}

/* The exact sum of the items' amounts, whatever their order and number:
 * high * SUM_UNIT + low. A plain int64 running sum could overflow on the way
 * to a total that fits (many large amounts, then refunds), and one that
 * overflows must still be reported, never skipped. Every amount is at most
 * 15 characters, so |amount| < 2^47 and low stays below 2^49. */
#define SUM_UNIT (INT64_C(1) << 48)

typedef struct item_sum {
    int64_t high;
    int64_t low;
    bool known; /* false when an amount could not be read: its problem is reported */
} item_sum;

static void sum_add(item_sum *s, int64_t amount)
{
    s->low += amount;
    s->high += s->low / SUM_UNIT;
    s->low %= SUM_UNIT;
}

/* The sum as an int64_t; false when it does not fit one. */
static bool sum_value(const item_sum *s, int64_t *out)
{
    int64_t high = s->high, low = s->low, v;
    /* Same signs for both parts, so that high * SUM_UNIT overflows only
     * when the sum itself does. */
    if (high > 0 && low < 0) {
        high--;
        low += SUM_UNIT;
    } else if (high < 0 && low > 0) {
        high++;
        low -= SUM_UNIT;
    }
    return !__builtin_mul_overflow(high, SUM_UNIT, &v) && !__builtin_add_overflow(v, low, out);
}

static void check_items(const fb_bill *b, fb_problems *p, item_sum *sum)
{
    size_t n = fb_bill_item_count(b);
    *sum = (item_sum){ 0, 0, true };
    if (n == 0)
        report(p, "EInvoiceData/Details", "must hold at least one Item");
    for (size_t i = 0; i < n; i++) {
        for (int f = 0; f < FB_ITEM_FIELD_COUNT; f++)
            check_row_value(p, &fb_item_field_defs[f], "/Item", i,
                            fb_bill_item_get(b, i, (fb_item_field)f));
        int64_t amount;
        if (fb_bill_item_get_amount(b, i, FB_ITEM_AMOUNT, &amount))
            sum->known = false;
        else
            sum_add(sum, amount);
    }
    fb_clear_error();
}

static void check_aux_items(const fb_bill *b, fb_problems *p)
{
    for (size_t i = 0; i < fb_bill_aux_count(b); i++)
        for (int f = 0; f < FB_AUX_FIELD_COUNT; f++)
            check_row_value(p, &fb_aux_field_defs[f], "/AuxItem", i,
                            fb_bill_aux_get(b, i, (fb_aux_field)f));
}

/* A sum the format cannot write (past FB_AMOUNT_MAX or FB_AMOUNT_MIN, or
 * past int64_t) can equal no TotalAmount: said in words, since it has no
 * amount text to quote. */
static void check_sum(const fb_bill *b, fb_problems *p, const item_sum *sum)
{
    int64_t total, exact;
    char t[FB_AMOUNT_BUFSIZE], s[FB_AMOUNT_BUFSIZE];
    if (fb_bill_get_amount(b, FB_TOTAL_AMOUNT, &total)) {
        fb_clear_error();
        return; /* TotalAmount's own problem is reported with the fields */
    }
    bool fits = sum_value(sum, &exact) && fb_amount_format(exact, s) == FB_OK;
    if (fits && total == exact)
        return;
    fb_amount_format(total, t);
    if (fits)
        report(p, fb_field_path(FB_TOTAL_AMOUNT), "is %s but the items sum to %s", t, s);
    else
        report(p, fb_field_path(FB_TOTAL_AMOUNT),
               "is %s but the items sum to %s than an amount can hold", t,
               sum->high < 0 || (sum->high == 0 && sum->low < 0) ? "less" : "more");
}

int fb_bill_validate(const fb_bill *bill, fb_problems **out)
{
    if (!bill || !out)
        return fb_fail(FB_EARG, "fb_bill_validate: NULL argument");
    fb_problems *p = calloc(1, sizeof *p);
    if (!p)
        return fb_fail_oom();
    item_sum sum;
    check_fields(bill, p);
    check_formats(bill, p);
    check_derived(bill, p);
    check_code_agrees(bill, p);
    check_reversal(bill, p);
    check_supervisor_seal(bill, p);
    check_items(bill, p, &sum);
    check_aux_items(bill, p);
    if (sum.known && fb_bill_item_count(bill) > 0)
        check_sum(bill, p, &sum);
    if (p->oom) {
        fb_problems_free(p);
        return fb_fail_oom();
    }
    *out = p;
    if (p->n == 0) {
        fb_clear_error();
        return FB_OK;
    }
    return fb_fail(FB_EINVALID, "%s: %s%s", p->list[0].path, p->list[0].message,
                   p->n > 1 ? " (and more problems)" : "");
}

size_t fb_problems_count(const fb_problems *problems)
{
    return problems ? problems->n : 0;
}

const char *fb_problems_path(const fb_problems *problems, size_t i)
{
    return problems && i < problems->n ? problems->list[i].path : NULL;
}

const char *fb_problems_message(const fb_problems *problems, size_t i)
{
    return problems && i < problems->n ? problems->list[i].message : NULL;
}

void fb_problems_free(fb_problems *problems)
{
    if (!problems)
        return;
    for (size_t i = 0; i < problems->n; i++) {
        free(problems->list[i].path);
        free(problems->list[i].message);
    }
    free(problems->list);
    free(problems);
}
