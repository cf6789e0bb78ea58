/* The bill model: text values addressed by field ids, items and aux items as
 * rows of a table, unknown MainExt children as ordered pairs. */
#include <stdlib.h>
#include <string.h>
#include "bill/schema.h"
#include "common/internal.h"
#include "fiscalbill/amount.h"

/* Rows of equal width: Details/Item and AuxDetails/AuxItem. */
typedef struct rows {
    size_t width;
    size_t n;
    size_t cap;
    char **cells; /* n * width values, row-major; NULL = unset */
} rows;

typedef struct ext_pair {
    char *name;
    char *value;
} ext_pair;

struct fb_bill {
    char *values[FB_FIELD_COUNT];
    rows items;
    rows aux;
    ext_pair *ext;
    size_t n_ext;
    size_t cap_ext;
};

/* ---- field metadata ---- */

#define DEF_ACCESSORS(prefix, T, table, count)                                        \
    const char *prefix##_name(T f)                                                     \
    {                                                                                      \
        return (unsigned)f < (count) ? table[f].name : NULL;                              \
    }                                                                                      \
    const char *prefix##_path(T f)                                                     \
    {                                                                                      \
        return (unsigned)f < (count) ? table[f].path : NULL;                              \
    }                                                                                      \
    fb_value_type prefix##_type(T f)                                                   \
    {                                                                                      \
        return (unsigned)f < (count) ? table[f].type : FB_TYPE_TEXT;                      \
    }

DEF_ACCESSORS(fb_field, fb_field, fb_field_defs, FB_FIELD_COUNT)
DEF_ACCESSORS(fb_item_field, fb_item_field, fb_item_field_defs, FB_ITEM_FIELD_COUNT)
DEF_ACCESSORS(fb_aux_field, fb_aux_field, fb_aux_field_defs, FB_AUX_FIELD_COUNT)

int fb_field_lookup(const char *path_or_name, fb_field *field)
{
    if (!path_or_name || !field)
        return fb_fail(FB_EARG, "fb_field_lookup: NULL argument");
    int found = -1;
    for (int i = 0; i < FB_FIELD_COUNT; i++) {
        if (strcmp(fb_field_defs[i].path, path_or_name) == 0) {
            *field = (fb_field)i;
            return FB_OK;
        }
        if (strcmp(fb_field_defs[i].name, path_or_name) == 0) {
            /* SealId and friends occur in both seal blocks: a bare name
             * must not pick one of them silently. */
            if (found >= 0)
                return fb_fail(FB_ENOTFOUND, "\"%s\" names more than one field; give its path",
                               path_or_name);
            found = i;
        }
    }
    if (found < 0)
        return fb_fail(FB_ENOTFOUND, "no field named \"%s\"", path_or_name);
    *field = (fb_field)found;
    return FB_OK;
}

/* ---- values ---- */

/* Replace *slot by a copy of value; NULL or "" unsets. */
static int assign(char **slot, const char *what, const char *value)
{
    char *copy = NULL;
    if (value && *value) {
        int rc = fb_text_check_value(what, value);
        if (rc)
            return rc;
        if (!(copy = fb_strdup(value)))
            return FB_ENOMEM;
    }
    free(*slot);
    *slot = copy;
    return FB_OK;
}

static int assign_amount(char **slot, const char *what, int64_t fen)
{
    char text[FB_AMOUNT_BUFSIZE];
    int rc = fb_amount_format(fen, text);
    if (rc)
        return fb_fail(rc, "%s: %s", what, fb_last_error());
    return assign(slot, what, text);
}

static int read_amount(const char *value, const char *what, int64_t *fen)
{
    if (!fen)
        return fb_fail(FB_EARG, "%s: NULL output", what);
    if (!value)
        return fb_fail(FB_ENOTFOUND, "%s: not set", what);
    int rc = fb_amount_parse(value, fen);
    if (rc)
        return fb_fail(rc, "%s: %s", what, fb_last_error());
    return FB_OK;
}

static int check_amount_field(const fb_field_def *def)
{
    if (def->type != FB_TYPE_AMOUNT)
        return fb_fail(FB_EARG, "%s: not an amount field", def->path);
    return FB_OK;
}

/* ---- rows ---- */

/* Messages count entries from 1, as paths do; SIZE_MAX must not wrap to 0. */
static size_t ordinal(size_t index)
{
    return index < SIZE_MAX ? index + 1 : index;
}

static void rows_clear(rows *r)
{
    for (size_t i = 0; i < r->n * r->width; i++)
        free(r->cells[i]);
    free(r->cells);
    r->cells = NULL;
    r->n = r->cap = 0;
}

static int rows_add(rows *r, size_t *index)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4;
        char **cells = realloc(r->cells, cap * r->width * sizeof *cells);
        if (!cells)
            return fb_fail_oom();
        r->cells = cells;
        r->cap = cap;
    }
    memset(r->cells + r->n * r->width, 0, r->width * sizeof *r->cells);
    if (index)
        *index = r->n;
    r->n++;
    return FB_OK;
}

static int rows_remove(rows *r, size_t index, const char *what)
{
    if (index >= r->n)
        return fb_fail(FB_ENOTFOUND, "%s %zu: no such entry (there are %zu)", what,
                       ordinal(index), r->n);
    char **row = r->cells + index * r->width;
    for (size_t j = 0; j < r->width; j++)
        free(row[j]);
    memmove(row, row + r->width, (r->n - index - 1) * r->width * sizeof *row);
    r->n--;
    return FB_OK;
}

static char **rows_cell(const rows *r, size_t index, unsigned field)
{
    if (index >= r->n || field >= r->width)
        return NULL;
    return &r->cells[index * r->width + field];
}

static int rows_dup(const rows *src, rows *dst)
{
    *dst = (rows){ .width = src->width };
    for (size_t i = 0; i < src->n; i++) {
        int rc = rows_add(dst, NULL);
        for (size_t j = 0; rc == FB_OK && j < src->width; j++) {
            const char *v = src->cells[i * src->width + j];
            if (v && !(dst->cells[i * dst->width + j] = fb_strdup(v)))
                rc = FB_ENOMEM;
        }
        if (rc)
            return rc;
    }
    return FB_OK;
}

/* ---- the bill ---- */

int fb_bill_new(fb_bill **out)
{
    if (!out)
        return fb_fail(FB_EARG, "fb_bill_new: NULL output");
    fb_bill *b = calloc(1, sizeof *b);
    if (!b)
        return fb_fail_oom();
    b->items.width = FB_ITEM_FIELD_COUNT;
    b->aux.width = FB_AUX_FIELD_COUNT;
    *out = b;
    return FB_OK;
}

static void ext_clear(fb_bill *b)
{
    for (size_t i = 0; i < b->n_ext; i++) {
        free(b->ext[i].name);
        free(b->ext[i].value);
    }
    free(b->ext);
    b->ext = NULL;
    b->n_ext = b->cap_ext = 0;
}

void fb_bill_free(fb_bill *bill)
{
    if (!bill)
        return;
    for (int i = 0; i < FB_FIELD_COUNT; i++)
        free(bill->values[i]);
    rows_clear(&bill->items);
    rows_clear(&bill->aux);
    ext_clear(bill);
    free(bill);
}

int fb_bill_dup(const fb_bill *bill, fb_bill **out)
{
    if (!bill || !out)
        return fb_fail(FB_EARG, "fb_bill_dup: NULL argument");
    fb_bill *copy = NULL;
    int rc = fb_bill_new(&copy);
    for (int i = 0; rc == FB_OK && i < FB_FIELD_COUNT; i++)
        rc = assign(&copy->values[i], fb_field_defs[i].path, bill->values[i]);
    if (rc == FB_OK)
        rc = rows_dup(&bill->items, &copy->items);
    if (rc == FB_OK)
        rc = rows_dup(&bill->aux, &copy->aux);
    for (size_t i = 0; rc == FB_OK && i < bill->n_ext; i++)
        rc = fb_bill_ext_set(copy, bill->ext[i].name, bill->ext[i].value);
    if (rc) {
        fb_bill_free(copy);
        return rc;
    }
    *out = copy;
    return FB_OK;
}

static int check_field(const fb_bill *bill, fb_field field)
{
    if (!bill)
        return fb_fail(FB_EARG, "NULL bill");
    if ((unsigned)field >= FB_FIELD_COUNT)
        return fb_fail(FB_EARG, "field id %d out of range", (int)field);
    return FB_OK;
}

int fb_bill_set(fb_bill *bill, fb_field field, const char *value)
{
    int rc = check_field(bill, field);
    return rc ? rc : assign(&bill->values[field], fb_field_defs[field].path, value);
}

const char *fb_bill_get(const fb_bill *bill, fb_field field)
{
    if (!bill || (unsigned)field >= FB_FIELD_COUNT)
        return NULL;
    return bill->values[field];
}

int fb_bill_set_amount(fb_bill *bill, fb_field field, int64_t fen)
{
    int rc = check_field(bill, field);
    if (!rc)
        rc = check_amount_field(&fb_field_defs[field]);
    return rc ? rc : assign_amount(&bill->values[field], fb_field_defs[field].path, fen);
}

int fb_bill_get_amount(const fb_bill *bill, fb_field field, int64_t *fen)
{
    int rc = check_field(bill, field);
    if (!rc)
        rc = check_amount_field(&fb_field_defs[field]);
    return rc ? rc : read_amount(bill->values[field], fb_field_defs[field].path, fen);
}

/* ---- items and aux items share the row code ---- */

#define DEF_ROWS(prefix, member, type, defs, count, label)                                  \
    size_t prefix##_count(const fb_bill *bill)                                               \
    {                                                                                          \
        return bill ? bill->member.n : 0;                                                      \
    }                                                                                          \
    int prefix##_add(fb_bill *bill, size_t *index)                                             \
    {                                                                                          \
        return bill ? rows_add(&bill->member, index) : fb_fail(FB_EARG, "NULL bill");         \
    }                                                                                          \
    int prefix##_remove(fb_bill *bill, size_t index)                                           \
    {                                                                                          \
        return bill ? rows_remove(&bill->member, index, label) : fb_fail(FB_EARG, "NULL bill"); \
    }                                                                                          \
    static int prefix##_slot(const fb_bill *bill, size_t index, type f, char ***slot)          \
    {                                                                                          \
        if (!bill)                                                                             \
            return fb_fail(FB_EARG, "NULL bill");                                              \
        if ((unsigned)f >= (count))                                                            \
            return fb_fail(FB_EARG, "%s field id %d out of range", label, (int)f);             \
        if (!(*slot = rows_cell(&bill->member, index, (unsigned)f)))                           \
            return fb_fail(FB_ENOTFOUND, "%s %zu: no such entry (there are %zu)", label,       \
                           ordinal(index), bill->member.n);                                    \
        return FB_OK;                                                                          \
    }                                                                                          \
    int prefix##_set(fb_bill *bill, size_t index, type f, const char *value)                   \
    {                                                                                          \
        char **slot;                                                                           \
        int rc = prefix##_slot(bill, index, f, &slot);                                         \
        return rc ? rc : assign(slot, defs[f].path, value);                                    \
    }                                                                                          \
    const char *prefix##_get(const fb_bill *bill, size_t index, type f)                        \
    {                                                                                          \
        char **slot;                                                                           \
        return prefix##_slot(bill, index, f, &slot) ? NULL : *slot;                            \
    }                                                                                          \
    int prefix##_set_amount(fb_bill *bill, size_t index, type f, int64_t fen)                  \
    {                                                                                          \
        char **slot;                                                                           \
        int rc = prefix##_slot(bill, index, f, &slot);                                         \
        if (!rc)                                                                               \
            rc = check_amount_field(&defs[f]);                                                 \
        return rc ? rc : assign_amount(slot, defs[f].path, fen);                               \
    }                                                                                          \
    int prefix##_get_amount(const fb_bill *bill, size_t index, type f, int64_t *fen)           \
    {                                                                                          \
        char **slot;                                                                           \
        int rc = prefix##_slot(bill, index, f, &slot);                                         \
        if (!rc)                                                                               \
            rc = check_amount_field(&defs[f]);                                                 \
        return rc ? rc : read_amount(*slot, defs[f].path, fen);                                \
    }

DEF_ROWS(fb_bill_item, items, fb_item_field, fb_item_field_defs, FB_ITEM_FIELD_COUNT, "Item")
DEF_ROWS(fb_bill_aux, aux, fb_aux_field, fb_aux_field_defs, FB_AUX_FIELD_COUNT, "AuxItem")

/* ---- MainExt ---- */

/* A known MainExt child by element name, or -1. */
static int known_ext_field(const char *name)
{
    for (int f = FB_EXT_BUSINESS_NUMBER; f <= FB_EXT_PAY_CODE; f++)
        if (strcmp(fb_field_defs[f].name, name) == 0)
            return f;
    return -1;
}

static ext_pair *ext_lookup(const fb_bill *bill, const char *name)
{
    for (size_t i = 0; i < bill->n_ext; i++)
        if (strcmp(bill->ext[i].name, name) == 0)
            return &bill->ext[i];
    return NULL;
}

size_t fb_bill_ext_count(const fb_bill *bill)
{
    return bill ? bill->n_ext : 0;
}

int fb_bill_ext_get(const fb_bill *bill, size_t index, const char **name, const char **value)
{
    if (!bill || !name || !value)
        return fb_fail(FB_EARG, "fb_bill_ext_get: NULL argument");
    if (index >= bill->n_ext)
        return fb_fail(FB_ENOTFOUND, "MainExt pair %zu: no such entry (there are %zu)",
                       ordinal(index), bill->n_ext);
    *name = bill->ext[index].name;
    *value = bill->ext[index].value;
    return FB_OK;
}

const char *fb_bill_ext_find(const fb_bill *bill, const char *name)
{
    if (!bill || !name)
        return NULL;
    int known = known_ext_field(name);
    if (known >= 0)
        return bill->values[known];
    ext_pair *p = ext_lookup(bill, name);
    return p ? p->value : NULL;
}

static int ext_append(fb_bill *bill, const char *name, const char *value)
{
    /* A bound keeps lookups by name cheap on hostile input. */
    if (bill->n_ext == FB_EXT_MAX)
        return fb_fail(FB_ELIMIT, "EInvoiceData/Main/MainExt: more than %d unknown children",
                       FB_EXT_MAX);
    if (bill->n_ext == bill->cap_ext) {
        size_t cap = bill->cap_ext ? bill->cap_ext * 2 : 4;
        ext_pair *p = realloc(bill->ext, cap * sizeof *p);
        if (!p)
            return fb_fail_oom();
        bill->ext = p;
        bill->cap_ext = cap;
    }
    char *n = fb_strdup(name), *v = fb_strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return FB_ENOMEM;
    }
    bill->ext[bill->n_ext++] = (ext_pair){ n, v };
    return FB_OK;
}

int fb_bill_ext_set(fb_bill *bill, const char *name, const char *value)
{
    if (!bill || !name)
        return fb_fail(FB_EARG, "fb_bill_ext_set: NULL argument");
    int known = known_ext_field(name);
    if (known >= 0)
        return fb_bill_set(bill, (fb_field)known, value);
    if (!fb_text_is_element_name(name)) {
        char q[96];
        fb_text_quote(q, sizeof q, name, strlen(name), 64);
        return fb_fail(FB_EARG, "EInvoiceData/Main/MainExt: %s is not an element name", q);
    }
    if (!value)
        value = "";
    int rc = fb_text_check_value("EInvoiceData/Main/MainExt", value);
    if (rc)
        return rc;
    ext_pair *p = ext_lookup(bill, name);
    if (!p)
        return ext_append(bill, name, value);
    char *v = fb_strdup(value);
    if (!v)
        return FB_ENOMEM;
    free(p->value);
    p->value = v;
    return FB_OK;
}

int fb_bill_ext_remove(fb_bill *bill, const char *name)
{
    if (!bill || !name)
        return fb_fail(FB_EARG, "fb_bill_ext_remove: NULL argument");
    int known = known_ext_field(name);
    if (known >= 0)
        return fb_bill_set(bill, (fb_field)known, NULL);
    ext_pair *p = ext_lookup(bill, name);
    if (!p)
        return fb_fail(FB_ENOTFOUND, "EInvoiceData/Main/MainExt/%s: not set", name);
    free(p->name);
    free(p->value);
    size_t i = (size_t)(p - bill->ext);
    memmove(p, p + 1, (bill->n_ext - i - 1) * sizeof *p);
    bill->n_ext--;
    return FB_OK;
}
