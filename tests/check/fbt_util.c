/* Shared helpers of the Check suites (fbt.h): the sample bill, reading files
 * of the source tree, and validation against specs/bill.xsd. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include "fbt.h"

#ifndef FBT_SOURCE_DIR
#error "FBT_SOURCE_DIR must be defined to the source tree's root"
#endif

/* ---- the sample bill ---- */

static void sample_set(fb_bill *bill, fb_field field, const char *value)
{
    int rc = fb_bill_set(bill, field, value);
    ck_assert_msg(rc == FB_OK, "fbt_sample_bill: setting %s: status %d: %s",
                  fb_field_name(field), rc, fb_last_error());
}

static void sample_item(fb_bill *bill, const char *code, const char *name, const char *quantity,
                        const char *unit, int64_t std_fen, int64_t amount_fen)
{
    static const fb_item_field text_fields[] = { FB_ITEM_CODE, FB_ITEM_NAME, FB_ITEM_QUANTITY,
                                                 FB_ITEM_UNIT };
    const char *text_values[] = { code, name, quantity, unit };
    size_t index;
    int rc = fb_bill_item_add(bill, &index);
    ck_assert_msg(rc == FB_OK, "fbt_sample_bill: adding item %s: status %d: %s", code, rc,
                  fb_last_error());
    for (size_t i = 0; i < sizeof text_fields / sizeof text_fields[0]; i++) {
        rc = fb_bill_item_set(bill, index, text_fields[i], text_values[i]);
        ck_assert_msg(rc == FB_OK, "fbt_sample_bill: item %s: setting %s: status %d: %s", code,
                      fb_item_field_name(text_fields[i]), rc, fb_last_error());
    }
    rc = fb_bill_item_set_amount(bill, index, FB_ITEM_STD, std_fen);
    ck_assert_msg(rc == FB_OK, "fbt_sample_bill: item %s: setting ItemStd: status %d: %s", code,
                  rc, fb_last_error());
    rc = fb_bill_item_set_amount(bill, index, FB_ITEM_AMOUNT, amount_fen);
    ck_assert_msg(rc == FB_OK, "fbt_sample_bill: item %s: setting ItemAmount: status %d: %s",
                  code, rc, fb_last_error());
}

fb_bill *fbt_sample_bill(void)
{
    fb_bill *bill = NULL;
    int rc = fb_bill_new(&bill);
    ck_assert_msg(rc == FB_OK && bill != NULL, "fb_bill_new: status %d: %s", rc, fb_last_error());

    sample_set(bill, FB_SUPERVISOR_AREA_CODE, "652300");
    sample_set(bill, FB_EINVOICE_CODE, "65060126");
    sample_set(bill, FB_EINVOICE_NUMBER, "0000000001");
    sample_set(bill, FB_RANDOM_NUMBER, "a1b2c3");
    sample_set(bill, FB_EINVOICE_NAME, "医疗门诊收费票据（电子）");
    sample_set(bill, FB_EINVOICE_SPECIMEN_CODE, "65001");
    sample_set(bill, FB_ISSUE_DATE, "20261115");
    sample_set(bill, FB_ISSUE_TIME, "10:23:45");
    sample_set(bill, FB_INVOICING_PARTY_CODE, "12652300458800000X");
    sample_set(bill, FB_INVOICING_PARTY_NAME, "昌吉回族自治州人民医院");
    sample_set(bill, FB_PAYER_PARTY_TYPE, "1");
    sample_set(bill, FB_PAYER_PARTY_NAME, "张三");
    sample_set(bill, FB_HANDLING_PERSON, "王芳");
    sample_set(bill, FB_CHECKER, "李强");
    sample_set(bill, FB_INVOICING_SEAL_ID, "65230001");
    sample_set(bill, FB_INVOICING_SEAL_NAME, "昌吉回族自治州人民医院财务专用章");
    /* Any fixed 64 hex digits: this is SM3("abc"). */
    sample_set(bill, FB_INVOICING_SEAL_HASH,
               "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");

    sample_item(bill, "01", "西药费", "1", "项", 12850, 12850);
    sample_item(bill, "02", "检查费", "1", "项", 20000, 20000);

    rc = fb_bill_set_amount(bill, FB_TOTAL_AMOUNT, 32850);
    ck_assert_msg(rc == FB_OK, "fbt_sample_bill: setting TotalAmount: status %d: %s", rc,
                  fb_last_error());

    sample_set(bill, FB_EXT_GENDER, "男");
    sample_set(bill, FB_EXT_MEDICAL_TYPE, "普通门诊");

    rc = fb_bill_fill_derived(bill);
    ck_assert_msg(rc == FB_OK, "fb_bill_fill_derived: status %d: %s", rc, fb_last_error());
    return bill;
}

/* ---- files ---- */

void fbt_read_file(const char *path, uint8_t **data, size_t *len)
{
    ck_assert_msg(path != NULL && data != NULL && len != NULL, "fbt_read_file: NULL argument");
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap + 1);
    ck_assert_msg(buf != NULL, "fbt_read_file: out of memory");
    for (;;) {
        if (n == cap) {
            uint8_t *bigger = cap <= SIZE_MAX / 2 - 1 ? realloc(buf, cap * 2 + 1) : NULL;
            if (!bigger) {
                free(buf);
                fclose(f);
                ck_abort_msg("fbt_read_file: %s: out of memory", path);
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int failed = ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        free(buf);
        ck_abort_msg("cannot read %s: %s", path, strerror(saved));
    }
    buf[n] = '\0'; /* a NUL past the end, so text files can be used as strings */
    *data = buf;
    *len = n;
}

const char *fbt_source_path(const char *rel)
{
    static _Thread_local char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s", FBT_SOURCE_DIR, rel ? rel : "");
    ck_assert_msg(n >= 0 && (size_t)n < sizeof path, "fbt_source_path: path too long: %s", rel);
    return path;
}

/* ---- XML Schema validation ---- */

/* Keeps the first message libxml2 reports, as "line N: message". */
typedef struct first_error {
    char text[512];
    int set;
} first_error;

static void keep_error(first_error *fe, const xmlError *err)
{
    if (fe->set || !err)
        return;
    const char *msg = err->message ? err->message : "unknown error";
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        len--;
    if (err->line > 0)
        snprintf(fe->text, sizeof fe->text, "line %d: %.*s", err->line, (int)len, msg);
    else
        snprintf(fe->text, sizeof fe->text, "%.*s", (int)len, msg);
    fe->set = 1;
}

#if LIBXML_VERSION >= 21200
static void on_structured_error(void *ctx, const xmlError *err)
#else
static void on_structured_error(void *ctx, xmlErrorPtr err)
#endif
{
    keep_error(ctx, err);
}

__attribute__((format(printf, 3, 4)))
static void set_why(char *why, size_t why_size, const char *fmt, ...)
{
    if (!why || why_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
}

/* Parse a document without network, DTD loading or entity substitution,
 * and without printing anything: a failure's message goes to fe. */
static xmlDocPtr parse_quietly(const char *data, int len, const char *url, const char *path,
                               first_error *fe)
{
    xmlParserCtxtPtr pctxt = xmlNewParserCtxt();
    if (!pctxt) {
        snprintf(fe->text, sizeof fe->text, "out of memory");
        fe->set = 1;
        return NULL;
    }
    const int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xmlDocPtr doc = path ? xmlCtxtReadFile(pctxt, path, NULL, opts)
                         : xmlCtxtReadMemory(pctxt, data, len, url, NULL, opts);
    if (!doc || !pctxt->wellFormed) {
        keep_error(fe, xmlCtxtGetLastError(pctxt));
        if (!fe->set) {
            snprintf(fe->text, sizeof fe->text, "not well-formed");
            fe->set = 1;
        }
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(pctxt);
    return doc;
}

/* The compiled schema, parsed once per process and kept, with the document
 * it was compiled from, until exit. */
static xmlDocPtr schema_doc;
static xmlSchemaPtr schema;
static char schema_error[600];

static void free_schema(void)
{
    xmlSchemaFree(schema);
    xmlFreeDoc(schema_doc);
    schema = NULL;
    schema_doc = NULL;
}

static xmlSchemaPtr load_schema(void)
{
    if (schema || schema_error[0])
        return schema;
    const char *path = fbt_source_path("specs/bill.xsd");
    first_error fe = { "", 0 };
    xmlDocPtr doc = parse_quietly(NULL, 0, NULL, path, &fe);
    if (!doc) {
        snprintf(schema_error, sizeof schema_error, "%s: %s", path, fe.text);
        return NULL;
    }
    xmlSchemaParserCtxtPtr sp = xmlSchemaNewDocParserCtxt(doc);
    if (!sp) {
        xmlFreeDoc(doc);
        snprintf(schema_error, sizeof schema_error, "%s: out of memory", path);
        return NULL;
    }
    xmlSchemaSetParserStructuredErrors(sp, on_structured_error, &fe);
    xmlSchemaPtr s = xmlSchemaParse(sp);
    xmlSchemaFreeParserCtxt(sp);
    if (!s) {
        xmlFreeDoc(doc);
        snprintf(schema_error, sizeof schema_error, "%s: %s", path,
                 fe.set ? fe.text : "cannot compile the schema");
        return NULL;
    }
    schema = s;
    schema_doc = doc;
    atexit(free_schema);
    return schema;
}

int fbt_xsd_validate(const uint8_t *doc, size_t len, char *why, size_t why_size)
{
    if (why && why_size > 0)
        why[0] = '\0';
    if (!doc || len > (size_t)INT32_MAX) {
        set_why(why, why_size, "fbt_xsd_validate: no document, or too large");
        return -1;
    }
    xmlInitParser();
    xmlSchemaPtr s = load_schema();
    if (!s) {
        set_why(why, why_size, "cannot load the schema: %s", schema_error);
        return -1;
    }

    first_error fe = { "", 0 };
    xmlDocPtr xml = parse_quietly((const char *)doc, (int)len, "document.xml", NULL, &fe);
    if (!xml) {
        set_why(why, why_size, "not well-formed: %s", fe.text);
        return 1;
    }

    /* Global declarations (the known MainExt children) would otherwise let
     * a lone <Gender> pass as a document. */
    xmlNodePtr root = xmlDocGetRootElement(xml);
    if (!root || root->ns || !xmlStrEqual(root->name, BAD_CAST "EInvoice")) {
        set_why(why, why_size, "the root element is <%s>, not <EInvoice>",
                root ? (const char *)root->name : "");
        xmlFreeDoc(xml);
        return 1;
    }

    xmlSchemaValidCtxtPtr vctxt = xmlSchemaNewValidCtxt(s);
    if (!vctxt) {
        xmlFreeDoc(xml);
        set_why(why, why_size, "fbt_xsd_validate: out of memory");
        return -1;
    }
    xmlSchemaSetValidStructuredErrors(vctxt, on_structured_error, &fe);
    int rc = xmlSchemaValidateDoc(vctxt, xml);
    xmlSchemaFreeValidCtxt(vctxt);
    xmlFreeDoc(xml);
    if (rc == 0)
        return 0;
    if (rc < 0)
        set_why(why, why_size, "internal error of the schema validator%s%s",
                fe.set ? ": " : "", fe.text);
    else
        set_why(why, why_size, "%s", fe.set ? fe.text : "invalid");
    return rc < 0 ? -1 : 1;
}

fbt_bytes fbt_golden(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "specs/examples/%s.xml", name);
    fbt_bytes b;
    fbt_read_file(fbt_source_path(rel), &b.p, &b.n);
    return b;
}

fbt_bytes fbt_bytes_of(const void *p, size_t n)
{
    fbt_bytes b = { malloc(n + 1), n };
    ck_assert_ptr_nonnull(b.p);
    memcpy(b.p, p, n);
    b.p[n] = '\0';
    return b;
}

size_t fbt_find(const fbt_bytes *b, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= b->n; i++)
        if (memcmp(b->p + i, needle, n) == 0)
            return i;
    ck_abort_msg("\"%s\" not found in the document", needle);
    return 0;
}

int fbt_run_command(const char *dir, const char *cmd, char *out, size_t out_size)
{
    static unsigned seq;
    char path[1200], full[16384];
    snprintf(path, sizeof path, "%s/cmd-%ld-%u.out", dir, (long)getpid(), seq++);
    int n = snprintf(full, sizeof full, "( %s ) >'%s' 2>&1", cmd, path);
    ck_assert_msg(n > 0 && (size_t)n < sizeof full, "command too long");
    fflush(NULL);
    int st = system(full);
    out[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (f) {
        size_t got = fread(out, 1, out_size - 1, f);
        out[got] = '\0';
        fclose(f);
        unlink(path);
    }
    return st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
