/* The reader (document.h) on well-formed input: every golden document, the
 * byte ranges of the fragment and of the signature nodes, signed documents,
 * indented documents, declaration and BOM variants, text decoding, empty
 * elements, loading files and the limits. Hostile input is test_hostile.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fbt.h"

/* ---- helpers ---- */

typedef fbt_bytes bytes;

/* A copy of b with the first `from` replaced by `to`. */
static bytes replaced(const bytes *b, const char *from, const char *to)
{
    size_t at = fbt_find(b, from), fl = strlen(from), tl = strlen(to);
    bytes r = { malloc(b->n - fl + tl + 1), b->n - fl + tl };
    ck_assert_ptr_nonnull(r.p);
    memcpy(r.p, b->p, at);
    memcpy(r.p + at, to, tl);
    memcpy(r.p + at + tl, b->p + at + fl, b->n - at - fl);
    r.p[r.n] = '\0';
    return r;
}

/* A copy of b with `text` inserted at byte offset at. */
static bytes inserted(const bytes *b, size_t at, const char *text)
{
    size_t tl = strlen(text);
    bytes r = { malloc(b->n + tl + 1), b->n + tl };
    ck_assert_ptr_nonnull(r.p);
    memcpy(r.p, b->p, at);
    memcpy(r.p + at, text, tl);
    memcpy(r.p + at + tl, b->p + at, b->n - at);
    r.p[r.n] = '\0';
    return r;
}

static fb_document *parse_ok(const bytes *b, const fb_read_limits *limits)
{
    fb_document *doc = NULL;
    int rc = fb_document_parse(&doc, b->p, b->n, limits);
    ck_assert_msg(rc == FB_OK, "fb_document_parse: status %d: %s", rc, fb_last_error());
    ck_assert_ptr_nonnull(doc);
    return doc;
}

/* fb_document_parse fails with status; *out stays NULL; the message holds
 * every string of the NULL-terminated list. */
static void parse_fails(const bytes *b, const fb_read_limits *limits, int status, ...)
{
    fb_document *doc = (fb_document *)&doc; /* not NULL: the call must clear it */
    int rc = fb_document_parse(&doc, b->p, b->n, limits);
    ck_assert_msg(rc == status, "expected status %d, got %d: %s", status, rc, fb_last_error());
    ck_assert_ptr_null(doc);
    const char *msg = fb_last_error();
    va_list ap;
    va_start(ap, status);
    for (const char *s; (s = va_arg(ap, const char *));)
        ck_assert_msg(strstr(msg, s), "message \"%s\" lacks \"%s\"", msg, s);
    va_end(ap);
}

static void assert_buf_eq(const fb_buf *buf, const bytes *want, const char *what)
{
    ck_assert_msg(buf->size == want->n && memcmp(buf->ptr, want->p, want->n) == 0,
                  "%s: %zu bytes differ from the expected %zu bytes:\n%.*s\n---\n%.*s", what,
                  buf->size, want->n, (int)buf->size, (const char *)buf->ptr, (int)want->n,
                  (const char *)want->p);
}

/* The canonical document of the bill a document holds equals want. */
static void assert_bill_document(const fb_document *doc, const bytes *want)
{
    fb_buf out = FB_BUF_INIT;
    ck_assert_int_eq(fb_bill_write_document(fb_document_bill(doc), &out), FB_OK);
    assert_buf_eq(&out, want, "fb_bill_write_document");
    fb_buf_dispose(&out);
}

/* fb_document_write equals want. */
static void assert_document_write(const fb_document *doc, const bytes *want)
{
    fb_buf out = FB_BUF_INIT;
    ck_assert_int_eq(fb_document_write(doc, &out), FB_OK);
    assert_buf_eq(&out, want, "fb_document_write");
    fb_buf_dispose(&out);
}

/* The fragment range of doc: inside the input, from "<Header>" through
 * "</EInvoiceData>". */
static bytes fragment_of(const fb_document *doc)
{
    size_t off = 0, len = 0, n = 0;
    const uint8_t *data = fb_document_data(doc, &n);
    fb_document_fragment(doc, &off, &len);
    ck_assert_msg(off <= n && len <= n - off, "fragment %zu+%zu outside %zu bytes", off, len, n);
    ck_assert_msg(len >= 8 && memcmp(data + off, "<Header>", 8) == 0,
                  "the fragment does not start with <Header>: %.20s", (const char *)data + off);
    ck_assert_msg(len >= 15 && memcmp(data + off + len - 15, "</EInvoiceData>", 15) == 0,
                  "the fragment does not end with </EInvoiceData>: %.*s", 20,
                  (const char *)data + off + len - (len < 20 ? len : 20));
    return (bytes){ (uint8_t *)data + off, len };
}

static const char *bill_get(const fb_document *doc, fb_field f)
{
    return fb_bill_get(fb_document_bill(doc), f);
}

/* ---- the golden documents ---- */

static const struct golden_case {
    const char *name, *code, *number;
    int64_t total_fen;
    size_t items, aux;
    fb_field ext_field;
    const char *ext_value;
    const char *remark;
    const char *item0_name;
} goldens[] = {
    { "medical-outpatient", "65060126", "0000000001", 33850, 3, 2, FB_EXT_MEDICAL_TYPE, "普通门诊",
      NULL, "西药费" },
    { "medical-inpatient", "65060226", "0000000001", 476560, 5, 0, FB_EXT_DEPARTMENT_NAME,
      "心内科", "出院结算", "床位费" },
    { "donation", "65910326", "0000000001", 5000000, 1, 0, FB_EXT_BUSINESS_NUMBER, "JZ2026-0315",
      "用于助学项目", "捐赠款" },
    { "funds-settlement", "65910126", "0000000001", 1234560, 1, 0, FB_EXT_BUSINESS_NUMBER,
      "WL2026-1102", "代收代付往来款", "往来款" },
    { "membership-fee", "65910226", "0000000001", 60000, 1, 0, FB_EXT_BUSINESS_NUMBER,
      "HF2026-0088", "2026年度会费", "会费" },
};

#define N_GOLDEN (sizeof goldens / sizeof goldens[0])

START_TEST(test_golden_reads)
{
    const struct golden_case *g = &goldens[_i];
    bytes in = fbt_golden(g->name);
    fb_document *doc = parse_ok(&in, NULL);
    const fb_bill *bill = fb_document_bill(doc);
    ck_assert_ptr_nonnull(bill);

    ck_assert_str_eq(bill_get(doc, FB_EINVOICE_CODE), g->code);
    ck_assert_str_eq(bill_get(doc, FB_EINVOICE_NUMBER), g->number);
    ck_assert_str_eq(bill_get(doc, FB_VERSION), "1.1.0");
    ck_assert_str_eq(bill_get(doc, FB_EINVOICE_TAG), "CZ-EI-65");
    int64_t fen = -1;
    ck_assert_int_eq(fb_bill_get_amount(bill, FB_TOTAL_AMOUNT, &fen), FB_OK);
    ck_assert_int_eq(fen, g->total_fen);
    ck_assert_uint_eq(fb_bill_item_count(bill), g->items);
    ck_assert_uint_eq(fb_bill_aux_count(bill), g->aux);
    ck_assert_str_eq(fb_bill_item_get(bill, 0, FB_ITEM_NAME), g->item0_name);
    ck_assert_str_eq(bill_get(doc, g->ext_field), g->ext_value);
    ck_assert_pstr_eq(bill_get(doc, FB_REMARK), g->remark);
    /* Empty elements (<RecName/>) are unset. */
    ck_assert_ptr_null(bill_get(doc, FB_REC_NAME));
    ck_assert_ptr_null(bill_get(doc, FB_SUPERVISOR_REMARK));
    ck_assert_ptr_null(fb_bill_item_get(bill, 0, FB_ITEM_REMARK));
    ck_assert_str_eq(bill_get(doc, FB_SUPERVISOR_SEAL_ID), "652300");

    /* The input is copied and kept as received; it is canonical. */
    size_t n = 0;
    const uint8_t *data = fb_document_data(doc, &n);
    ck_assert_uint_eq(n, in.n);
    ck_assert_ptr_ne(data, in.p);
    ck_assert_mem_eq(data, in.p, in.n);
    ck_assert_uint_eq(fb_document_signature_count(doc), 0);
    ck_assert_int_eq(fb_document_is_canonical(doc), 1);
    assert_document_write(doc, &in);
    assert_bill_document(doc, &in);

    const char *name = "x";
    size_t off = 7, len = 7;
    ck_assert_int_eq(fb_document_signature(doc, 0, &name, &off, &len), FB_ENOTFOUND);
    ck_assert_ptr_null(fb_document_signature_value(doc, 0, "SignatureValue"));

    /* The input buffer may go away: the document owns its copy. */
    memset(in.p, 'x', in.n);
    free(in.p);
    ck_assert_str_eq(bill_get(doc, FB_EINVOICE_CODE), g->code);
    fb_document_free(doc);
}
END_TEST

START_TEST(test_golden_outpatient_details)
{
    bytes in = fbt_golden("medical-outpatient");
    fb_document *doc = parse_ok(&in, NULL);
    const fb_bill *bill = fb_document_bill(doc);
    /* Aux items. */
    ck_assert_str_eq(fb_bill_aux_get(bill, 1, FB_AUX_NAME), "布洛芬缓释胶囊");
    ck_assert_str_eq(fb_bill_aux_get(bill, 1, FB_AUX_CODE), "A0102");
    int64_t fen = 0;
    ck_assert_int_eq(fb_bill_aux_get_amount(bill, 1, FB_AUX_AMOUNT, &fen), FB_OK);
    ck_assert_int_eq(fen, 7850);
    ck_assert_int_eq(fb_bill_aux_get_amount(bill, 0, FB_AUX_STD, &fen), FB_OK);
    ck_assert_int_eq(fen, 2500);
    ck_assert_ptr_null(fb_bill_aux_get(bill, 0, FB_AUX_REMARK));
    ck_assert_ptr_null(fb_bill_aux_get(bill, 2, FB_AUX_NAME));
    /* Item fields, ItemExt. */
    ck_assert_str_eq(fb_bill_item_get(bill, 0, FB_ITEM_DETAIL_NAME), "门诊西药");
    ck_assert_ptr_null(fb_bill_item_get(bill, 1, FB_ITEM_DETAIL_NAME));
    ck_assert_str_eq(fb_bill_item_get(bill, 2, FB_ITEM_CODE), "03");
    ck_assert_str_eq(fb_bill_item_get(bill, 2, FB_ITEM_UNIT), "次");
    ck_assert_int_eq(fb_bill_item_get_amount(bill, 1, FB_ITEM_AMOUNT, &fen), FB_OK);
    ck_assert_int_eq(fen, 20000);
    /* MainExt known fields; no unknown pairs. */
    ck_assert_str_eq(bill_get(doc, FB_EXT_GENDER), "男");
    ck_assert_str_eq(bill_get(doc, FB_EXT_AGE), "45");
    ck_assert_int_eq(fb_bill_get_amount(bill, FB_EXT_FUND_PAY_AMOUNT, &fen), FB_OK);
    ck_assert_int_eq(fen, 20000);
    ck_assert_ptr_null(bill_get(doc, FB_EXT_BUSINESS_NUMBER));
    ck_assert_uint_eq(fb_bill_ext_count(bill), 0);
    /* Other Main fields. */
    ck_assert_str_eq(bill_get(doc, FB_EINVOICE_NAME), "医疗门诊收费票据（电子）");
    ck_assert_str_eq(bill_get(doc, FB_ISSUE_TIME), "10:23:45");
    ck_assert_str_eq(bill_get(doc, FB_PAYER_PARTY_NAME), "张三");
    ck_assert_str_eq(bill_get(doc, FB_INVOICING_SEAL_HASH),
                     "9f2c1e8a7b6d5c4f3e2d1c0b9a8f7e6d5c4b3a291807f6e5d4c3b2a190817263");
    ck_assert_ptr_null(bill_get(doc, FB_REMARK));
    fb_document_free(doc);
    free(in.p);
}
END_TEST

START_TEST(test_golden_inpatient_unknown_ext)
{
    bytes in = fbt_golden("medical-inpatient");
    fb_document *doc = parse_ok(&in, NULL);
    const fb_bill *bill = fb_document_bill(doc);
    ck_assert_uint_eq(fb_bill_ext_count(bill), 1);
    const char *name = NULL, *value = NULL;
    ck_assert_int_eq(fb_bill_ext_get(bill, 0, &name, &value), FB_OK);
    ck_assert_str_eq(name, "SettlementNumber");
    ck_assert_str_eq(value, "JS20261110088");
    ck_assert_str_eq(fb_bill_ext_find(bill, "SettlementNumber"), "JS20261110088");
    ck_assert_str_eq(bill_get(doc, FB_EXT_HOSPITALIZATION_NUMBER), "ZY2026001234");
    int64_t fen = 0;
    ck_assert_int_eq(fb_bill_get_amount(bill, FB_EXT_REFUND_AMOUNT, &fen), FB_OK);
    ck_assert_int_eq(fen, 143440);
    ck_assert_uint_eq(fb_bill_aux_count(bill), 0);
    fb_document_free(doc);
    free(in.p);
}
END_TEST

/* ---- the fragment range ---- */

START_TEST(test_fragment_range)
{
    const struct golden_case *g = &goldens[_i];
    bytes in = fbt_golden(g->name);
    fb_document *doc = parse_ok(&in, NULL);
    bytes frag = fragment_of(doc);
    size_t off = 0;
    fb_document_fragment(doc, &off, NULL);
    ck_assert_uint_eq(off, fbt_find(&in, "<Header>"));
    size_t end = fbt_find(&in, "</EInvoiceData>") + 15;
    ck_assert_uint_eq(frag.n, end - off);

    fb_buf out = FB_BUF_INIT;
    ck_assert_int_eq(fb_bill_write_fragment(fb_document_bill(doc), &out), FB_OK);
    assert_buf_eq(&out, &frag, "fb_bill_write_fragment");
    fb_buf_dispose(&out);
    fb_document_free(doc);
    free(in.p);
}
END_TEST

/* ---- signed documents ---- */

#define SIG_INVOICING                                                                     \
    "<InvoicingPartySignature><SignatureFormat>DETACH</SignatureFormat>"                  \
    "<SignatureAlgorithm>SM3withSM2</SignatureAlgorithm>"                                 \
    "<SignatureTime>20261115102400</SignatureTime><SerialNumber>1A2B</SerialNumber>"      \
    "<SignatureValue>TUlJ</SignatureValue></InvoicingPartySignature>"
#define SIG_SUPERVISOR                                                                    \
    "<SupervisorPartySignature><SignatureFormat>DETACH</SignatureFormat>"                 \
    "<SignatureAlgorithm>SM3withSM2</SignatureAlgorithm>"                                 \
    "<SignatureTime>20261116083000</SignatureTime><SerialNumber>3C4D</SerialNumber>"      \
    "<SignatureValue>U1VQRVJWSVNPUg==</SignatureValue></SupervisorPartySignature>"

/* The golden document with a signature block holding `nodes`. */
static bytes signed_doc(const char *name, const char *nodes)
{
    bytes in = fbt_golden(name);
    char block[2048];
    snprintf(block, sizeof block, "<EInvoiceSignature>%s</EInvoiceSignature>", nodes);
    bytes r = inserted(&in, fbt_find(&in, "</EInvoice>"), block);
    free(in.p);
    return r;
}

static void assert_sig(const fb_document *doc, const bytes *in, size_t i, const char *name,
                       const char *text)
{
    const char *got = NULL;
    size_t off = 0, len = 0;
    ck_assert_int_eq(fb_document_signature(doc, i, &got, &off, &len), FB_OK);
    ck_assert_str_eq(got, name);
    ck_assert_uint_eq(off, fbt_find(in, text));
    ck_assert_uint_eq(len, strlen(text));
    size_t n;
    const uint8_t *data = fb_document_data(doc, &n);
    ck_assert_msg(off + len <= n && memcmp(data + off, text, len) == 0,
                  "signature node %zu: bytes %zu+%zu are not the node's text", i, off, len);
    /* NULL outputs are allowed. */
    ck_assert_int_eq(fb_document_signature(doc, i, NULL, NULL, NULL), FB_OK);
}

START_TEST(test_signed_one)
{
    bytes in = signed_doc("medical-outpatient", SIG_INVOICING);
    fb_document *doc = parse_ok(&in, NULL);
    ck_assert_uint_eq(fb_document_signature_count(doc), 1);
    assert_sig(doc, &in, 0, "InvoicingPartySignature", SIG_INVOICING);
    ck_assert_str_eq(fb_document_signature_value(doc, 0, "SignatureFormat"), "DETACH");
    ck_assert_str_eq(fb_document_signature_value(doc, 0, "SignatureAlgorithm"), "SM3withSM2");
    ck_assert_str_eq(fb_document_signature_value(doc, 0, "SignatureTime"), "20261115102400");
    ck_assert_str_eq(fb_document_signature_value(doc, 0, "SerialNumber"), "1A2B");
    ck_assert_str_eq(fb_document_signature_value(doc, 0, "SignatureValue"), "TUlJ");
    ck_assert_ptr_null(fb_document_signature_value(doc, 0, "NoSuchChild"));
    ck_assert_ptr_null(fb_document_signature_value(doc, 0, NULL));
    ck_assert_ptr_null(fb_document_signature_value(doc, 1, "SignatureValue"));

    const char *name = "untouched";
    size_t off = 11, len = 12;
    ck_assert_int_eq(fb_document_signature(doc, 1, &name, &off, &len), FB_ENOTFOUND);
    ck_assert_str_eq(name, "untouched");
    ck_assert_int_eq(fb_document_signature(doc, (size_t)-1, NULL, NULL, NULL), FB_ENOTFOUND);
    ck_assert_int_eq(fb_document_signature(NULL, 0, NULL, NULL, NULL), FB_EARG);

    /* The fragment is the unsigned document's. */
    bytes plain = fbt_golden("medical-outpatient");
    bytes frag = fragment_of(doc);
    size_t at = fbt_find(&plain, "<Header>");
    ck_assert_uint_eq(frag.n, fbt_find(&plain, "</EInvoiceData>") + 15 - at);
    ck_assert_mem_eq(frag.p, plain.p + at, frag.n);
    assert_bill_document(doc, &plain);

    ck_assert_int_eq(fb_document_is_canonical(doc), 1);
    assert_document_write(doc, &in);
    fb_document_free(doc);
    free(plain.p);
    free(in.p);
}
END_TEST

START_TEST(test_signed_two)
{
    const struct golden_case *g = &goldens[_i];
    bytes in = signed_doc(g->name, SIG_INVOICING SIG_SUPERVISOR);
    fb_document *doc = parse_ok(&in, NULL);
    ck_assert_uint_eq(fb_document_signature_count(doc), 2);
    assert_sig(doc, &in, 0, "InvoicingPartySignature", SIG_INVOICING);
    assert_sig(doc, &in, 1, "SupervisorPartySignature", SIG_SUPERVISOR);
    ck_assert_str_eq(fb_document_signature_value(doc, 0, "SignatureValue"), "TUlJ");
    ck_assert_str_eq(fb_document_signature_value(doc, 0, "SerialNumber"), "1A2B");
    ck_assert_str_eq(fb_document_signature_value(doc, 1, "SignatureFormat"), "DETACH");
    ck_assert_str_eq(fb_document_signature_value(doc, 1, "SignatureAlgorithm"), "SM3withSM2");
    ck_assert_str_eq(fb_document_signature_value(doc, 1, "SignatureTime"), "20261116083000");
    ck_assert_str_eq(fb_document_signature_value(doc, 1, "SerialNumber"), "3C4D");
    ck_assert_str_eq(fb_document_signature_value(doc, 1, "SignatureValue"), "U1VQRVJWSVNPUg==");
    ck_assert_ptr_null(fb_document_signature_value(doc, 2, "SignatureValue"));
    ck_assert_int_eq(fb_document_signature(doc, 2, NULL, NULL, NULL), FB_ENOTFOUND);

    ck_assert_str_eq(bill_get(doc, FB_EINVOICE_CODE), g->code);
    fragment_of(doc);
    ck_assert_int_eq(fb_document_is_canonical(doc), 1);
    assert_document_write(doc, &in);
    fb_document_free(doc);
    free(in.p);
}
END_TEST

/* Signature leaves that are empty, hold escaped text or a CDATA section
 * with markup in it: values decoded, ranges still exact. */
START_TEST(test_signed_odd_values)
{
    static const char node[] =
        "<InvoicingPartySignature><SignatureFormat/><SerialNumber></SerialNumber>"
        "<SignatureValue><![CDATA[</InvoicingPartySignature></EInvoiceSignature>]]>"
        "</SignatureValue><SignatureTime>a&amp;b&lt;c</SignatureTime>"
        "</InvoicingPartySignature>";
    bytes in = signed_doc("donation", node);
    fb_document *doc = parse_ok(&in, NULL);
    ck_assert_uint_eq(fb_document_signature_count(doc), 1);
    assert_sig(doc, &in, 0, "InvoicingPartySignature", node);
    ck_assert_ptr_null(fb_document_signature_value(doc, 0, "SignatureFormat"));
    ck_assert_ptr_null(fb_document_signature_value(doc, 0, "SerialNumber"));
    ck_assert_str_eq(fb_document_signature_value(doc, 0, "SignatureValue"),
                     "</InvoicingPartySignature></EInvoiceSignature>");
    ck_assert_str_eq(fb_document_signature_value(doc, 0, "SignatureTime"), "a&b<c");
    ck_assert_int_eq(fb_document_is_canonical(doc), 0);

    /* The canonical form writes the values escaped, and reads back the same. */
    fb_buf out = FB_BUF_INIT;
    ck_assert_int_eq(fb_document_write(doc, &out), FB_OK);
    bytes canon = fbt_bytes_of(out.ptr, out.size);
    fb_buf_dispose(&out);
    fb_document *again = parse_ok(&canon, NULL);
    ck_assert_int_eq(fb_document_is_canonical(again), 1);
    ck_assert_str_eq(fb_document_signature_value(again, 0, "SignatureValue"),
                     "</InvoicingPartySignature></EInvoiceSignature>");
    ck_assert_str_eq(fb_document_signature_value(again, 0, "SignatureTime"), "a&b<c");
    fb_document_free(again);
    fb_document_free(doc);
    free(canon.p);
    free(in.p);
}
END_TEST

/* ---- indented documents ---- */

/* b with `sep` between every pair of adjacent tags ("><"), the way a
 * pretty-printer lays out a document without mixed content. */
static bytes indented(const bytes *b, const char *sep)
{
    size_t sl = strlen(sep), count = 0;
    for (size_t i = 0; i + 1 < b->n; i++)
        count += b->p[i] == '>' && b->p[i + 1] == '<';
    bytes r = { malloc(b->n + count * sl + 1), 0 };
    ck_assert_ptr_nonnull(r.p);
    for (size_t i = 0; i < b->n; i++) {
        r.p[r.n++] = b->p[i];
        if (b->p[i] == '>' && i + 1 < b->n && b->p[i + 1] == '<') {
            memcpy(r.p + r.n, sep, sl);
            r.n += sl;
        }
    }
    r.p[r.n] = '\0';
    return r;
}

START_TEST(test_indented)
{
    static const char *const seps[] = { "\n  ", "\r\n\t", " ", "\n\n    \t \r\n" };
    const struct golden_case *g = &goldens[_i];
    for (size_t s = 0; s < sizeof seps / sizeof seps[0]; s++) {
        bytes in = fbt_golden(g->name);
        bytes pretty = indented(&in, seps[s]);
        ck_assert_uint_gt(pretty.n, in.n);
        fb_document *doc = parse_ok(&pretty, NULL);
        ck_assert_str_eq(bill_get(doc, FB_EINVOICE_CODE), g->code);
        ck_assert_uint_eq(fb_bill_item_count(fb_document_bill(doc)), g->items);
        assert_bill_document(doc, &in);
        assert_document_write(doc, &in);
        ck_assert_int_eq(fb_document_is_canonical(doc), 0);
        /* The fragment is the received bytes, indentation included. */
        bytes frag = fragment_of(doc);
        size_t off;
        fb_document_fragment(doc, &off, NULL);
        ck_assert_uint_eq(off, fbt_find(&pretty, "<Header>"));
        ck_assert_uint_eq(frag.n, fbt_find(&pretty, "</EInvoiceData>") + 15 - off);
        fb_document_free(doc);
        free(pretty.p);
        free(in.p);
    }
}
END_TEST

START_TEST(test_indented_signed)
{
    bytes canon = signed_doc("medical-outpatient", SIG_INVOICING SIG_SUPERVISOR);
    bytes pretty = indented(&canon, "\n    ");
    fb_document *doc = parse_ok(&pretty, NULL);
    ck_assert_uint_eq(fb_document_signature_count(doc), 2);
    /* Each node's range is its bytes as received, indentation inside. */
    bytes inv = fbt_bytes_of(SIG_INVOICING, strlen(SIG_INVOICING));
    bytes inv_pretty = indented(&inv, "\n    ");
    bytes sup = fbt_bytes_of(SIG_SUPERVISOR, strlen(SIG_SUPERVISOR));
    bytes sup_pretty = indented(&sup, "\n    ");
    assert_sig(doc, &pretty, 0, "InvoicingPartySignature", (const char *)inv_pretty.p);
    assert_sig(doc, &pretty, 1, "SupervisorPartySignature", (const char *)sup_pretty.p);
    ck_assert_str_eq(fb_document_signature_value(doc, 1, "SerialNumber"), "3C4D");
    ck_assert_int_eq(fb_document_is_canonical(doc), 0);
    assert_document_write(doc, &canon);
    fragment_of(doc);
    fb_document_free(doc);
    free(inv.p);
    free(inv_pretty.p);
    free(sup.p);
    free(sup_pretty.p);
    free(pretty.p);
    free(canon.p);
}
END_TEST

/* ---- the XML declaration and the BOM ---- */

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

/* The golden outpatient bill with its declaration replaced by decl reads
 * to the same bill; the fragment moves with it. */
static void check_prolog(const char *decl)
{
    bytes in = fbt_golden("medical-outpatient");
    bytes var = replaced(&in, DECL, decl);
    fb_document *doc = parse_ok(&var, NULL);
    assert_bill_document(doc, &in);
    assert_document_write(doc, &in);
    ck_assert_int_eq(fb_document_is_canonical(doc), 0);
    bytes frag = fragment_of(doc);
    size_t off;
    fb_document_fragment(doc, &off, NULL);
    ck_assert_uint_eq(off, fbt_find(&in, "<Header>") - strlen(DECL) + strlen(decl));
    ck_assert_mem_eq(frag.p, in.p + fbt_find(&in, "<Header>"), frag.n);
    fb_document_free(doc);
    free(var.p);
    free(in.p);
}

START_TEST(test_declaration_absent)
{
    check_prolog("");
}
END_TEST

START_TEST(test_declaration_variants)
{
    check_prolog("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
    check_prolog("<?xml version=\"1.0\" encoding=\"Utf-8\"?>");
    check_prolog("<?xml version='1.0' encoding='UTF-8'?>");
    check_prolog("<?xml version=\"1.0\"?>");
    check_prolog("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>");
    check_prolog("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    check_prolog("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\r\n");
}
END_TEST

START_TEST(test_bom)
{
    check_prolog("\xEF\xBB\xBF" DECL);
    check_prolog("\xEF\xBB\xBF");
    check_prolog("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
}
END_TEST

/* ---- values ---- */

/* The outpatient bill with <Remark/> replaced by `element`: the Remark
 * read. */
static void check_remark(const char *element, const char *want)
{
    bytes in = fbt_golden("medical-outpatient");
    bytes var = replaced(&in, "<Remark/>", element);
    fb_document *doc = parse_ok(&var, NULL);
    ck_assert_pstr_eq(bill_get(doc, FB_REMARK), want);
    fragment_of(doc);
    fb_document_free(doc);
    free(var.p);
    free(in.p);
}

START_TEST(test_cdata)
{
    check_remark("<Remark><![CDATA[a<b & c]]></Remark>", "a<b & c");
    check_remark("<Remark>x<![CDATA[]]>y<![CDATA[&amp;]]>z</Remark>", "xy&amp;z");
    check_remark("<Remark><![CDATA[ ]]></Remark>", " ");
    /* Markup-like text inside CDATA does not move the fragment's end. */
    check_remark("<Remark><![CDATA[</Remark></Main></EInvoiceData></EInvoice>]]></Remark>",
                 "</Remark></Main></EInvoiceData></EInvoice>");
}
END_TEST

START_TEST(test_references_decoded)
{
    check_remark("<Remark>&amp;</Remark>", "&");
    check_remark("<Remark>a&lt;b&gt;c</Remark>", "a<b>c");
    check_remark("<Remark>line1&#13;\nline2</Remark>", "line1\r\nline2");
    check_remark("<Remark>&quot;&apos;</Remark>", "\"'");
    check_remark("<Remark>&#x4E2D;&#25991;</Remark>", "中文");
    check_remark("<Remark>&#x1F600;</Remark>", "\xF0\x9F\x98\x80");
    check_remark("<Remark>a&#9;b&#10;c</Remark>", "a\tb\nc");
    /* A raw CR LF is a line end: the parser hands over LF. */
    check_remark("<Remark>a\r\nb</Remark>", "a\nb");

    /* Written back escaped, canonical, and read back the same. */
    bytes in = fbt_golden("medical-outpatient");
    bytes var = replaced(&in, "<Remark/>", "<Remark>&amp;&lt;&#13;&gt;\"'</Remark>");
    fb_document *doc = parse_ok(&var, NULL);
    ck_assert_str_eq(bill_get(doc, FB_REMARK), "&<\r>\"'");
    ck_assert_int_eq(fb_document_is_canonical(doc), 1);
    assert_document_write(doc, &var);
    fb_document_free(doc);
    free(var.p);
    free(in.p);
}
END_TEST

START_TEST(test_empty_elements)
{
    check_remark("<Remark/>", NULL);
    check_remark("<Remark></Remark>", NULL);
    check_remark("<Remark><![CDATA[]]></Remark>", NULL);

    bytes in = fbt_golden("medical-outpatient");
    bytes var = replaced(&in, "<Age>45</Age>", "<Age></Age>");
    bytes var2 = replaced(&var, "<ItemQuantity>1</ItemQuantity>", "<ItemQuantity/>");
    fb_document *doc = parse_ok(&var2, NULL);
    ck_assert_ptr_null(bill_get(doc, FB_EXT_AGE));
    ck_assert_ptr_null(fb_bill_item_get(fb_document_bill(doc), 0, FB_ITEM_QUANTITY));
    ck_assert_str_eq(fb_bill_item_get(fb_document_bill(doc), 1, FB_ITEM_QUANTITY), "1");
    fb_document_free(doc);
    free(var2.p);
    free(var.p);
    free(in.p);
}
END_TEST

/* A MainExt element the library does not know, even empty, is kept as a
 * pair, in document order. */
START_TEST(test_unknown_ext_pairs)
{
    bytes in = fbt_golden("medical-outpatient");
    bytes var = replaced(&in, "</MainExt>",
                         "<SettlementNumber>JS1</SettlementNumber><Empty/><Other.Name-2>x&amp;y"
                         "</Other.Name-2></MainExt>");
    fb_document *doc = parse_ok(&var, NULL);
    const fb_bill *bill = fb_document_bill(doc);
    ck_assert_uint_eq(fb_bill_ext_count(bill), 3);
    const char *name, *value;
    ck_assert_int_eq(fb_bill_ext_get(bill, 0, &name, &value), FB_OK);
    ck_assert_str_eq(name, "SettlementNumber");
    ck_assert_str_eq(value, "JS1");
    ck_assert_int_eq(fb_bill_ext_get(bill, 1, &name, &value), FB_OK);
    ck_assert_str_eq(name, "Empty");
    ck_assert_str_eq(value, "");
    ck_assert_int_eq(fb_bill_ext_get(bill, 2, &name, &value), FB_OK);
    ck_assert_str_eq(name, "Other.Name-2");
    ck_assert_str_eq(value, "x&y");
    ck_assert_int_eq(fb_document_is_canonical(doc), 1);
    assert_document_write(doc, &var);
    fb_document_free(doc);
    free(var.p);
    free(in.p);
}
END_TEST

/* n empty unknown MainExt children <X0/>...<Xn-1/> added to the outpatient
 * bill, which has none of its own. */
static bytes with_unknown_ext(size_t n)
{
    bytes in = fbt_golden("medical-outpatient");
    size_t size = n * 10 + 16, len = 0;
    char *extra = malloc(size);
    ck_assert_ptr_nonnull(extra);
    for (size_t k = 0; k < n; k++)
        len += (size_t)snprintf(extra + len, size - len, "<X%zu/>", k);
    snprintf(extra + len, size - len, "</MainExt>");
    bytes out = replaced(&in, "</MainExt>", extra);
    free(extra);
    free(in.p);
    return out;
}

/* The reader keeps FB_EXT_MAX unknown children and refuses one more, with
 * the element's path and line (gap T1). */
START_TEST(test_unknown_ext_limit)
{
    bytes in = with_unknown_ext(FB_EXT_MAX);
    fb_document *doc = parse_ok(&in, NULL);
    const fb_bill *bill = fb_document_bill(doc);
    ck_assert_uint_eq(fb_bill_ext_count(bill), FB_EXT_MAX);
    const char *name, *value;
    ck_assert_int_eq(fb_bill_ext_get(bill, FB_EXT_MAX - 1, &name, &value), FB_OK);
    ck_assert_str_eq(name, "X255");
    assert_document_write(doc, &in);
    fb_document_free(doc);
    free(in.p);

    in = with_unknown_ext(FB_EXT_MAX + 1);
    parse_fails(&in, NULL, FB_ELIMIT, "EInvoiceData/Main/MainExt", "more than 256", "line ",
                NULL);
    free(in.p);
}
END_TEST

/* ---- files ---- */

START_TEST(test_load_golden)
{
    const struct golden_case *g = &goldens[_i];
    char rel[256];
    snprintf(rel, sizeof rel, "specs/examples/%s.xml", g->name);
    fb_document *doc = NULL;
    int rc = fb_document_load(&doc, fbt_source_path(rel), NULL);
    ck_assert_msg(rc == FB_OK, "fb_document_load: %d: %s", rc, fb_last_error());
    bytes in = fbt_golden(g->name);
    size_t n;
    const uint8_t *data = fb_document_data(doc, &n);
    ck_assert_uint_eq(n, in.n);
    ck_assert_mem_eq(data, in.p, n);
    ck_assert_str_eq(bill_get(doc, FB_EINVOICE_CODE), g->code);
    ck_assert_int_eq(fb_document_is_canonical(doc), 1);
    fb_document_free(doc);
    free(in.p);
}
END_TEST

START_TEST(test_load_missing)
{
    const char *path = "/nonexistent-fbt-dir/no-such-bill.xml";
    fb_document *doc = (fb_document *)&doc;
    ck_assert_int_eq(fb_document_load(&doc, path, NULL), FB_EIO);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strstr(fb_last_error(), path), "message lacks the path: %s", fb_last_error());

    doc = (fb_document *)&doc;
    ck_assert_int_eq(fb_document_load(&doc, "/", NULL), FB_EIO);
    ck_assert_ptr_null(doc);
    ck_assert_ptr_nonnull(strstr(fb_last_error(), "/"));

    ck_assert_int_eq(fb_document_load(NULL, path, NULL), FB_EARG);
    ck_assert_int_eq(fb_document_load(&doc, NULL, NULL), FB_EARG);
}
END_TEST

/* A temporary copy of b; the caller unlinks and frees the path. */
static char *temp_file(const bytes *b)
{
    char *path = strdup("/tmp/fbt_reader_XXXXXX");
    ck_assert_ptr_nonnull(path);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b->p, b->n), (ssize_t)b->n);
    ck_assert_int_eq(close(fd), 0);
    return path;
}

START_TEST(test_load_limit)
{
    bytes in = fbt_golden("medical-inpatient");
    char *path = temp_file(&in);
    fb_read_limits lim = FB_READ_LIMITS_INIT;
    fb_document *doc = (fb_document *)&doc;

    /* One byte over the limit. */
    lim.max_bytes = in.n - 1;
    ck_assert_int_eq(fb_document_load(&doc, path, &lim), FB_ELIMIT);
    ck_assert_ptr_null(doc);
    char num[32];
    snprintf(num, sizeof num, "%zu", in.n - 1);
    ck_assert_msg(strstr(fb_last_error(), path) && strstr(fb_last_error(), num),
                  "message lacks the path or the limit: %s", fb_last_error());
    parse_fails(&in, &lim, FB_ELIMIT, num, "limit", NULL);

    /* Exactly at the limit. */
    lim.max_bytes = in.n;
    int rc = fb_document_load(&doc, path, &lim);
    ck_assert_msg(rc == FB_OK, "load at the limit: %d: %s", rc, fb_last_error());
    ck_assert_str_eq(bill_get(doc, FB_EINVOICE_CODE), "65060226");
    fb_document_free(doc);
    doc = parse_ok(&in, &lim);
    fb_document_free(doc);

    /* A tiny limit. */
    lim.max_bytes = 10;
    doc = (fb_document *)&doc;
    ck_assert_int_eq(fb_document_load(&doc, path, &lim), FB_ELIMIT);
    ck_assert_ptr_null(doc);

    /* A parse failure through load names the file. */
    bytes bad = replaced(&in, "<Header>", "<Header><Foo/>");
    char *bad_path = temp_file(&bad);
    doc = (fb_document *)&doc;
    ck_assert_int_eq(fb_document_load(&doc, bad_path, NULL), FB_EFORMAT);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strstr(fb_last_error(), bad_path) && strstr(fb_last_error(), "Header/Foo"),
                  "message: %s", fb_last_error());

    unlink(bad_path);
    unlink(path);
    free(bad_path);
    free(path);
    free(bad.p);
    free(in.p);
}
END_TEST

/* An empty file is an empty document. */
START_TEST(test_load_empty_file)
{
    bytes empty = { (uint8_t *)"", 0 };
    char *path = temp_file(&empty);
    fb_document *doc = (fb_document *)&doc;
    ck_assert_int_eq(fb_document_load(&doc, path, NULL), FB_EFORMAT);
    ck_assert_ptr_null(doc);
    ck_assert_ptr_nonnull(strstr(fb_last_error(), path));
    unlink(path);
    free(path);
}
END_TEST

/* ---- depth limits ---- */

/* Element nesting of the golden bills, the root counting 1:
 * EInvoice/EInvoiceData/Details/Item/ItemExt/ItemDetailName is 6 in the
 * outpatient bill; the others have <ItemExt/> at 5 and nothing deeper. */
START_TEST(test_depth_limit_boundary)
{
    fb_read_limits lim = FB_READ_LIMITS_INIT;
    bytes out = fbt_golden("medical-outpatient");
    lim.max_depth = 6;
    fb_document_free(parse_ok(&out, &lim));
    lim.max_depth = 5;
    parse_fails(&out, &lim, FB_ELIMIT, "limit of 5", "line", NULL);

    bytes inp = fbt_golden("medical-inpatient");
    lim.max_depth = 5;
    fb_document_free(parse_ok(&inp, &lim));
    lim.max_depth = 4;
    parse_fails(&inp, &lim, FB_ELIMIT, "limit of 4", NULL);
    lim.max_depth = 1;
    parse_fails(&inp, &lim, FB_ELIMIT, "limit of 1", NULL);

    /* A signed document needs 4 for its signature leaves. */
    bytes sig = signed_doc("medical-inpatient", SIG_INVOICING);
    lim.max_depth = 5;
    fb_document_free(parse_ok(&sig, &lim));

    /* The max_bytes of the same struct is respected too. */
    lim.max_depth = 6;
    lim.max_bytes = out.n - 1;
    parse_fails(&out, &lim, FB_ELIMIT, NULL);
    lim.max_bytes = out.n;
    fb_document_free(parse_ok(&out, &lim));

    free(sig.p);
    free(inp.p);
    free(out.p);
}
END_TEST

/* With the default limit of 16, an element nested inside Remark (at 4) is
 * refused as content up to 16 and as too deep from 17. */
START_TEST(test_default_depth_boundary)
{
    bytes in = fbt_golden("medical-outpatient");
    for (int extra = 11; extra <= 13; extra++) {
        char nest[512] = "<Remark>";
        for (int i = 0; i < extra; i++)
            strcat(nest, "<a>");
        for (int i = 0; i < extra; i++)
            strcat(nest, "</a>");
        strcat(nest, "</Remark>");
        bytes var = replaced(&in, "<Remark/>", nest);
        /* Remark is at 4: 4 + extra. */
        if (4 + extra <= (int)FB_READ_MAX_DEPTH_DEFAULT)
            parse_fails(&var, NULL, FB_EFORMAT, "EInvoiceData/Main/Remark", "element", NULL);
        else
            parse_fails(&var, NULL, FB_ELIMIT, "limit of 16", NULL);
        free(var.p);
    }
    free(in.p);
}
END_TEST

/* ---- arguments and NULL documents ---- */

START_TEST(test_arguments)
{
    fb_document *doc = (fb_document *)&doc;
    ck_assert_int_eq(fb_document_parse(NULL, "x", 1, NULL), FB_EARG);
    ck_assert_int_eq(fb_document_parse(&doc, NULL, 5, NULL), FB_EARG);
    doc = (fb_document *)&doc;
    ck_assert_int_eq(fb_document_parse(&doc, "", 0, NULL), FB_EFORMAT);
    ck_assert_ptr_null(doc);
    doc = (fb_document *)&doc;
    ck_assert_int_eq(fb_document_parse(&doc, NULL, 0, NULL), FB_EFORMAT);
    ck_assert_ptr_null(doc);

    fb_document_free(NULL);
    ck_assert_ptr_null(fb_document_bill(NULL));
    size_t n = 5, off = 5, len = 5;
    ck_assert_ptr_null(fb_document_data(NULL, &n));
    ck_assert_uint_eq(n, 0);
    fb_document_fragment(NULL, &off, &len);
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_uint_eq(fb_document_signature_count(NULL), 0);
    ck_assert_ptr_null(fb_document_signature_value(NULL, 0, "SignatureValue"));
    ck_assert_int_eq(fb_document_is_canonical(NULL), FB_EARG);
    fb_buf out = FB_BUF_INIT;
    ck_assert_int_eq(fb_document_write(NULL, &out), FB_EARG);

    bytes in = fbt_golden("donation");
    doc = parse_ok(&in, NULL);
    ck_assert_int_eq(fb_document_write(doc, NULL), FB_EARG);
    /* fb_document_write appends to what the buffer holds. */
    ck_assert_int_eq(fb_document_write(doc, &out), FB_OK);
    ck_assert_uint_eq(out.size, in.n);
    ck_assert_int_eq(fb_document_write(doc, &out), FB_OK);
    ck_assert_uint_eq(out.size, 2 * in.n);
    ck_assert_mem_eq(out.ptr + in.n, in.p, in.n);
    fb_buf_dispose(&out);
    fb_document_free(doc);
    free(in.p);
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("reader");
    TCase *tc = tcase_create("golden");
    tcase_add_loop_test(tc, test_golden_reads, 0, N_GOLDEN);
    tcase_add_test(tc, test_golden_outpatient_details);
    tcase_add_test(tc, test_golden_inpatient_unknown_ext);
    tcase_add_loop_test(tc, test_fragment_range, 0, N_GOLDEN);
    tcase_add_loop_test(tc, test_load_golden, 0, N_GOLDEN);
    suite_add_tcase(s, tc);

    tc = tcase_create("signed");
    tcase_add_test(tc, test_signed_one);
    tcase_add_loop_test(tc, test_signed_two, 0, N_GOLDEN);
    tcase_add_test(tc, test_signed_odd_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("layout");
    tcase_add_loop_test(tc, test_indented, 0, N_GOLDEN);
    tcase_add_test(tc, test_indented_signed);
    tcase_add_test(tc, test_declaration_absent);
    tcase_add_test(tc, test_declaration_variants);
    tcase_add_test(tc, test_bom);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_test(tc, test_cdata);
    tcase_add_test(tc, test_references_decoded);
    tcase_add_test(tc, test_empty_elements);
    tcase_add_test(tc, test_unknown_ext_pairs);
    tcase_add_test(tc, test_unknown_ext_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("files-and-limits");
    tcase_add_test(tc, test_load_missing);
    tcase_add_test(tc, test_load_limit);
    tcase_add_test(tc, test_load_empty_file);
    tcase_add_test(tc, test_depth_limit_boundary);
    tcase_add_test(tc, test_default_depth_boundary);
    tcase_add_test(tc, test_arguments);
    suite_add_tcase(s, tc);
    return s;
}
