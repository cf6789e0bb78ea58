/* The reader on hostile input: DTDs and entities, sizes and depths, bad
 * encodings, a bill's shape broken every way (duplicates, order, unknown
 * elements, attributes, namespaces, comments, processing instructions,
 * stray text), signature blocks of the wrong shape, content after the
 * root, truncation, over-long values, and inputs built to be slow. Every
 * failure must have the right status, a message naming the problem, and
 * leave *out NULL. The suite runs under ASan/UBSan too. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fbt.h"

/* ---- helpers ---- */

typedef fbt_bytes bytes;

static bytes bytes_str(const char *s)
{
    return fbt_bytes_of(s, strlen(s));
}

/* Replaces, in place, the first `from` of *b by `to`. */
static void replace(bytes *b, const char *from, const char *to)
{
    size_t at = fbt_find(b, from), fl = strlen(from), tl = strlen(to);
    bytes r = { malloc(b->n - fl + tl + 1), b->n - fl + tl };
    ck_assert_ptr_nonnull(r.p);
    memcpy(r.p, b->p, at);
    memcpy(r.p + at, to, tl);
    memcpy(r.p + at + tl, b->p + at + fl, b->n - at - fl);
    r.p[r.n] = '\0';
    free(b->p);
    *b = r;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* fb_document_parse fails with status; *out stays NULL; the message holds
 * each string of the NULL-terminated list. `what` names the case. */
static void fails_v(const char *what, const void *data, size_t len, const fb_read_limits *limits,
                    int status, va_list ap)
{
    fb_document *doc = (fb_document *)&doc; /* not NULL: the call must clear it */
    int rc = fb_document_parse(&doc, data, len, limits);
    if (rc == FB_OK)
        fb_document_free(doc);
    ck_assert_msg(rc == status, "%s: expected status %d, got %d: %s", what, status, rc,
                  rc ? fb_last_error() : "(accepted)");
    ck_assert_msg(doc == NULL, "%s: *out is not NULL after a failure", what);
    const char *msg = fb_last_error();
    ck_assert_msg(msg[0] != '\0', "%s: no message", what);
    for (const char *s; (s = va_arg(ap, const char *));)
        ck_assert_msg(strstr(msg, s), "%s: message \"%s\" lacks \"%s\"", what, msg, s);
}

static void fails(const char *what, const bytes *b, int status, ...)
{
    va_list ap;
    va_start(ap, status);
    fails_v(what, b->p, b->n, NULL, status, ap);
    va_end(ap);
}

static void fails_lim(const char *what, const bytes *b, const fb_read_limits *lim, int status,
                      ...)
{
    va_list ap;
    va_start(ap, status);
    fails_v(what, b->p, b->n, lim, status, ap);
    va_end(ap);
}

static fb_document *parse_ok(const char *what, const bytes *b)
{
    fb_document *doc = NULL;
    int rc = fb_document_parse(&doc, b->p, b->n, NULL);
    ck_assert_msg(rc == FB_OK, "%s: status %d: %s", what, rc, fb_last_error());
    ck_assert_ptr_nonnull(doc);
    return doc;
}

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define OUT_HEADER                                                                          \
    "<Header><EInvoiceTag>CZ-EI-65</EInvoiceTag><EInvoiceID>1000000000-62106056</EInvoiceID>" \
    "<Version>1.1.0</Version></Header>"
#define SIG_LEAVES                                                                          \
    "<SignatureFormat>DETACH</SignatureFormat><SignatureAlgorithm>SM3withSM2"               \
    "</SignatureAlgorithm><SignatureTime>20261115102400</SignatureTime>"                    \
    "<SerialNumber>1A2B</SerialNumber><SignatureValue>TUlJ</SignatureValue>"
#define SIG_INV "<InvoicingPartySignature>" SIG_LEAVES "</InvoicingPartySignature>"
#define SIG_SUP "<SupervisorPartySignature>" SIG_LEAVES "</SupervisorPartySignature>"
#define SIGNATURE_BLOCK "<EInvoiceSignature>" SIG_INV SIG_SUP "</EInvoiceSignature>"

/* The outpatient golden document, signed by both parties. */
static bytes signed_outpatient(void)
{
    bytes b = fbt_golden("medical-outpatient");
    replace(&b, "</EInvoice>", SIGNATURE_BLOCK "</EInvoice>");
    return b;
}

/* ---- the base documents parse (so every refusal below is the mutation's) ---- */

START_TEST(test_bases_parse)
{
    bytes b = fbt_golden("medical-outpatient");
    fb_document_free(parse_ok("outpatient", &b));
    free(b.p);
    b = signed_outpatient();
    fb_document *doc = parse_ok("signed outpatient", &b);
    ck_assert_uint_eq(fb_document_signature_count(doc), 2);
    fb_document_free(doc);
    free(b.p);
    b = bytes_str(DECL "<EInvoice><Header/><EInvoiceData/></EInvoice>");
    fb_document_free(parse_ok("minimal", &b));
    free(b.p);
}
END_TEST

/* ---- mutations of a golden document ---- */

enum { BASE_PLAIN, BASE_SIGNED, BASE_NONE };

typedef struct mutation {
    const char *name;
    int base;                /* BASE_NONE: to1 is the whole document */
    const char *from1, *to1; /* first replacement */
    const char *from2, *to2; /* optional second one */
    int status;
    const char *want[4]; /* substrings of the message */
} mutation;

#define DTD_XXE "<!DOCTYPE EInvoice [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"

static const mutation mutations[] = {
    /* DTDs and entities */
    { "XXE", BASE_PLAIN, DECL, DECL DTD_XXE, "<Remark/>", "<Remark>&x;</Remark>", FB_EFORMAT,
      { "DOCTYPE", "line 1" } },
    { "XXE without declaration", BASE_PLAIN, DECL, DTD_XXE, "<Remark/>", "<Remark>&x;</Remark>",
      FB_EFORMAT, { "DOCTYPE" } },
    { "internal entity", BASE_PLAIN, DECL, DECL "<!DOCTYPE EInvoice [<!ENTITY x \"y\">]>",
      "<Remark/>", "<Remark>&x;</Remark>", FB_EFORMAT, { "DOCTYPE" } },
    { "parameter entity", BASE_PLAIN, DECL,
      DECL "<!DOCTYPE EInvoice [<!ENTITY % p \"<!ENTITY x 'y'>\"> %p;]>", "<Remark/>",
      "<Remark>&x;</Remark>", FB_EFORMAT, { "DOCTYPE" } },
    { "external parameter entity", BASE_PLAIN, DECL,
      DECL "<!DOCTYPE EInvoice [<!ENTITY % e SYSTEM \"file:///etc/passwd\"> %e;]>", NULL, NULL,
      FB_EFORMAT, { "DOCTYPE" } },
    { "bare DOCTYPE", BASE_PLAIN, DECL, DECL "<!DOCTYPE EInvoice>", NULL, NULL, FB_EFORMAT,
      { "DOCTYPE" } },
    { "public DOCTYPE", BASE_PLAIN, DECL,
      DECL "<!DOCTYPE EInvoice PUBLIC \"-//X//DTD X//EN\" \"file:///etc/passwd\">", NULL, NULL,
      FB_EFORMAT, { "DOCTYPE" } },
    { "DOCTYPE on a later line", BASE_PLAIN, DECL, DECL "\n\n<!DOCTYPE EInvoice>", NULL, NULL,
      FB_EFORMAT, { "DOCTYPE", "line 3" } },
    { "undefined entity in a value", BASE_PLAIN, "<Remark/>", "<Remark>&foo;</Remark>", NULL,
      NULL, FB_EFORMAT, { "foo", "line 1" } },
    { "undefined entity between elements", BASE_PLAIN, "<Main>", "<Main>&foo;", NULL, NULL,
      FB_EFORMAT, { "foo" } },
    { "predefined entity between elements", BASE_PLAIN, "<Main>", "<Main>&amp;", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main", "text" } },

    /* encodings */
    { "GBK declared (golden bytes)", BASE_PLAIN, "encoding=\"UTF-8\"", "encoding=\"GBK\"", NULL,
      NULL, FB_EFORMAT, { "GBK" } },
    { "GBK declared (ASCII bytes)", BASE_NONE, NULL,
      "<?xml version=\"1.0\" encoding=\"GBK\"?><EInvoice><Header/><EInvoiceData/></EInvoice>",
      NULL, NULL, FB_EFORMAT, { "GBK" } },
    { "ISO-8859-1 declared", BASE_PLAIN, "encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", NULL,
      NULL, FB_EFORMAT, { "ISO-8859-1" } },
    { "UTF-16 declared on UTF-8 bytes", BASE_PLAIN, "encoding=\"UTF-8\"", "encoding=\"UTF-16\"",
      NULL, NULL, FB_EFORMAT, { "UTF-16" } },
    { "overlong 2-byte", BASE_PLAIN, "<Remark/>", "<Remark>a\xC0\x80</Remark>", NULL, NULL,
      FB_EFORMAT, { "UTF-8", "line 1" } },
    { "overlong 2-byte C1", BASE_PLAIN, "<Remark/>", "<Remark>\xC1\xBF</Remark>", NULL, NULL,
      FB_EFORMAT, { "UTF-8" } },
    { "overlong 3-byte", BASE_PLAIN, "<Remark/>", "<Remark>\xE0\x80\xAF</Remark>", NULL, NULL,
      FB_EFORMAT, { "UTF-8" } },
    { "overlong 4-byte", BASE_PLAIN, "<Remark/>", "<Remark>\xF0\x80\x80\xAF</Remark>", NULL,
      NULL, FB_EFORMAT, { "UTF-8" } },
    { "lone continuation byte", BASE_PLAIN, "<Remark/>", "<Remark>a\x80</Remark>", NULL, NULL,
      FB_EFORMAT, { "UTF-8" } },
    { "lone continuation bytes", BASE_PLAIN, "<Remark/>", "<Remark>\xBF\xBF</Remark>", NULL,
      NULL, FB_EFORMAT, { "UTF-8" } },
    { "byte 0xFF", BASE_PLAIN, "<Remark/>", "<Remark>\xFF</Remark>", NULL, NULL, FB_EFORMAT,
      { "UTF-8" } },
    { "byte 0xFE", BASE_PLAIN, "<Remark/>", "<Remark>\xFE</Remark>", NULL, NULL, FB_EFORMAT,
      { "UTF-8" } },
    { "byte 0xF8 (5-byte lead)", BASE_PLAIN, "<Remark/>", "<Remark>\xF8\x88\x80\x80\x80</Remark>",
      NULL, NULL, FB_EFORMAT, { "UTF-8" } },
    { "truncated 3-byte sequence", BASE_PLAIN, "<Remark/>", "<Remark>\xE4\xB8</Remark>", NULL,
      NULL, FB_EFORMAT, { "UTF-8" } },
    { "truncated 4-byte sequence", BASE_PLAIN, "<Remark/>", "<Remark>\xF0\x9F\x98</Remark>",
      NULL, NULL, FB_EFORMAT, { "UTF-8" } },
    { "truncated sequence before a multi-byte one", BASE_PLAIN, "<Remark/>",
      "<Remark>\xE4\xE4\xB8\xAD</Remark>", NULL, NULL, FB_EFORMAT, { "UTF-8" } },
    { "high surrogate", BASE_PLAIN, "<Remark/>", "<Remark>\xED\xA0\x80</Remark>", NULL, NULL,
      FB_EFORMAT, { "0xD800" } },
    { "low surrogate", BASE_PLAIN, "<Remark/>", "<Remark>\xED\xBF\xBF</Remark>", NULL, NULL,
      FB_EFORMAT, { "0xDFFF" } },
    { "surrogate pair as CESU-8", BASE_PLAIN, "<Remark/>",
      "<Remark>\xED\xA0\xBD\xED\xB8\x80</Remark>", NULL, NULL, FB_EFORMAT, { "line 1" } },
    { "beyond U+10FFFF", BASE_PLAIN, "<Remark/>", "<Remark>\xF4\x90\x80\x80</Remark>", NULL,
      NULL, FB_EFORMAT, { "line 1" } },
    { "U+FFFE", BASE_PLAIN, "<Remark/>", "<Remark>\xEF\xBF\xBE</Remark>", NULL, NULL,
      FB_EFORMAT, { "0xFFFE" } },
    { "C0 control", BASE_PLAIN, "<Remark/>", "<Remark>a\x1B" "b</Remark>", NULL, NULL,
      FB_EFORMAT, { "line 1" } },
    { "C0 control as a reference", BASE_PLAIN, "<Remark/>", "<Remark>&#1;</Remark>", NULL, NULL,
      FB_EFORMAT, { "line 1" } },
    { "surrogate as a reference", BASE_PLAIN, "<Remark/>", "<Remark>&#xD800;</Remark>", NULL,
      NULL, FB_EFORMAT, { "line 1" } },
    { "invalid UTF-8 in an element name", BASE_PLAIN, "<Remark/>", "<Remark/><R\xFF/>", NULL,
      NULL, FB_EFORMAT, { "UTF-8" } },
    { "invalid UTF-8 in an unknown MainExt value", BASE_PLAIN, "</MainExt>",
      "<Settlement>\xC0\xAF</Settlement></MainExt>", NULL, NULL, FB_EFORMAT, { "UTF-8" } },
    { "invalid UTF-8 in a signature value", BASE_SIGNED, "<SignatureValue>TUlJ",
      "<SignatureValue>TU\x80lJ", NULL, NULL, FB_EFORMAT, { "UTF-8" } },
    { "invalid UTF-8 in a comment before the root", BASE_PLAIN, "<EInvoice>",
      "<!-- \xFF --><EInvoice>", NULL, NULL, FB_EFORMAT, { "line 1" } },
    { "invalid UTF-8 in a CDATA section", BASE_PLAIN, "<Remark/>",
      "<Remark><![CDATA[\xED\xA0\x80]]></Remark>", NULL, NULL, FB_EFORMAT, { "line 1" } },

    /* duplicates */
    { "two EInvoiceCode", BASE_PLAIN, "<EInvoiceCode>65060126</EInvoiceCode>",
      "<EInvoiceCode>65060126</EInvoiceCode><EInvoiceCode>65060127</EInvoiceCode>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/EInvoiceCode", "appears twice", "line 1" } },
    { "two Header", BASE_PLAIN, "</Header>", "</Header>" OUT_HEADER, NULL, NULL, FB_EFORMAT,
      { "EInvoice", "<Header>", "line 1" } },
    { "two Main", BASE_PLAIN, "</Main>", "</Main><Main></Main>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main", "appears twice", "line 1" } },
    { "two EInvoiceData", BASE_PLAIN, "</EInvoiceData>", "</EInvoiceData><EInvoiceData/>", NULL,
      NULL, FB_EFORMAT, { "EInvoice", "<EInvoiceData>", "line 1" } },
    { "two Details", BASE_PLAIN, "</Details>", "</Details><Details/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details", "appears twice" } },
    { "two MainExt", BASE_PLAIN, "</MainExt>", "</MainExt><MainExt/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/MainExt", "appears twice" } },
    { "two Gender", BASE_PLAIN, "<Gender>男</Gender>", "<Gender>男</Gender><Gender>女</Gender>",
      NULL, NULL, FB_EFORMAT, { "EInvoiceData/Main/MainExt/Gender", "appears twice" } },
    { "two ItemCode", BASE_PLAIN, "<ItemCode>02</ItemCode>",
      "<ItemCode>02</ItemCode><ItemCode>02</ItemCode>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details/Item[2]/ItemCode", "appears twice" } },
    { "two ItemExt", BASE_PLAIN, "</ItemExt>", "</ItemExt><ItemExt/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details/Item[1]/ItemExt", "appears twice" } },
    { "two InvoicingPartySeal", BASE_PLAIN, "</InvoicingPartySeal>",
      "</InvoicingPartySeal><InvoicingPartySeal/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/InvoicingPartySeal", "appears twice" } },
    { "two Version", BASE_PLAIN, "<Version>1.1.0</Version>",
      "<Version>1.1.0</Version><Version>1.1.0</Version>", NULL, NULL, FB_EFORMAT,
      { "Header/Version", "appears twice" } },
    { "EInvoiceCode again later", BASE_PLAIN, "<RandomNumber>",
      "<EInvoiceCode>65060126</EInvoiceCode><RandomNumber>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/EInvoiceCode" } },

    /* order */
    { "EInvoiceNumber before EInvoiceCode", BASE_PLAIN,
      "<EInvoiceCode>65060126</EInvoiceCode><EInvoiceNumber>0000000001</EInvoiceNumber>",
      "<EInvoiceNumber>0000000001</EInvoiceNumber><EInvoiceCode>65060126</EInvoiceCode>", NULL,
      NULL, FB_EFORMAT, { "EInvoiceData/Main/EInvoiceCode", "out of order", "line 1" } },
    { "EInvoiceData before Header", BASE_PLAIN, OUT_HEADER, "", "</EInvoiceData>",
      "</EInvoiceData>" OUT_HEADER, FB_EFORMAT, { "EInvoice", "<Header>", "order" } },
    { "Details before Main", BASE_NONE, NULL,
      DECL "<EInvoice><Header/><EInvoiceData><Details/><Main/></EInvoiceData></EInvoice>", NULL,
      NULL, FB_EFORMAT, { "EInvoiceData/Main", "out of order" } },
    { "Age before Gender", BASE_PLAIN, "<Gender>男</Gender><Age>45</Age>",
      "<Age>45</Age><Gender>男</Gender>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/MainExt/Gender", "out of order" } },
    { "Version first in Header", BASE_PLAIN, "<Header>", "<Header><Version>1.1.0</Version>",
      "<Version>1.1.0</Version></Header>", "</Header>", FB_EFORMAT,
      { "Header/EInvoiceTag", "out of order" } },
    { "ItemRemark before ItemAmount", BASE_PLAIN, "<ItemAmount>200.00</ItemAmount><ItemRemark/>",
      "<ItemRemark/><ItemAmount>200.00</ItemAmount>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details/Item[2]/ItemAmount", "out of order" } },
    { "signature block before EInvoiceData", BASE_NONE, NULL,
      DECL "<EInvoice><Header/>" SIGNATURE_BLOCK "<EInvoiceData/></EInvoice>", NULL, NULL, FB_EFORMAT,
      { "<EInvoiceData>", "order" } },
    { "missing Header", BASE_PLAIN, OUT_HEADER, "", NULL, NULL, FB_EFORMAT,
      { "EInvoice", "missing <Header>" } },
    { "missing EInvoiceData", BASE_NONE, NULL, DECL "<EInvoice><Header/></EInvoice>", NULL, NULL,
      FB_EFORMAT, { "missing <EInvoiceData>" } },
    { "empty root", BASE_NONE, NULL, DECL "<EInvoice/>", NULL, NULL, FB_EFORMAT,
      { "missing <Header>" } },
    { "wrong root", BASE_NONE, NULL, DECL "<Invoice><Header/><EInvoiceData/></Invoice>", NULL,
      NULL, FB_EFORMAT, { "<EInvoice>", "Invoice" } },
    { "no root", BASE_NONE, NULL, DECL, NULL, NULL, FB_EFORMAT, { "line 1" } },

    /* unknown elements */
    { "unknown element in Main", BASE_PLAIN, "<Remark/>", "<Remark/><Foo>x</Foo>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/Foo", "unknown element", "line 1" } },
    { "unknown element in Header", BASE_PLAIN, "</Header>", "<Foo/></Header>", NULL, NULL,
      FB_EFORMAT, { "Header/Foo", "unknown element" } },
    { "unknown element in Item", BASE_PLAIN, "<ItemRemark/><ItemExt>",
      "<ItemRemark/><Foo/><ItemExt>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details/Item[1]/Foo", "unknown element" } },
    { "unknown element in ItemExt", BASE_PLAIN, "</ItemExt>", "<Foo/></ItemExt>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Details/Item[1]/ItemExt/Foo", "unknown element" } },
    { "unknown element in AuxItem", BASE_PLAIN, "<AuxItemRemark/></AuxItem></AuxDetails>",
      "<AuxItemRemark/><Foo/></AuxItem></AuxDetails>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/AuxDetails/AuxItem[2]/Foo", "unknown element" } },
    { "unknown element in Details", BASE_PLAIN, "</Details>", "<Foo/></Details>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Details/Foo", "unknown element" } },
    { "unknown element in a seal", BASE_PLAIN, "</SupervisorPartySeal>",
      "<Foo/></SupervisorPartySeal>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/SupervisorPartySeal/Foo", "unknown element" } },
    { "unknown element in the root", BASE_PLAIN, "</EInvoiceData>", "</EInvoiceData><Foo/>", NULL,
      NULL, FB_EFORMAT, { "EInvoice", "<Foo>" } },
    { "Item outside Details", BASE_PLAIN, "<Details>", "<Item/><Details>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Item", "unknown element" } },
    { "case matters", BASE_PLAIN, "<Remark/>", "<remark/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/remark", "unknown element" } },

    /* MainExt */
    { "duplicated unknown MainExt element", BASE_PLAIN, "</MainExt>",
      "<Settlement>1</Settlement><Settlement>2</Settlement></MainExt>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/MainExt/Settlement", "appears twice", "line 1" } },
    { "duplicated empty unknown MainExt element, apart", BASE_PLAIN, "</MainExt>",
      "<Settlement/><Other>x</Other><Settlement/></MainExt>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/MainExt/Settlement", "appears twice" } },
    { "unknown MainExt element with children", BASE_PLAIN, "</MainExt>",
      "<Settlement><No>1</No></Settlement></MainExt>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/MainExt/Settlement", "<No>" } },
    { "unknown MainExt element with a comment", BASE_PLAIN, "</MainExt>",
      "<Settlement>1<!-- c --></Settlement></MainExt>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/MainExt/Settlement", "comment" } },
    { "non-ASCII MainExt name", BASE_PLAIN, "</MainExt>", "<结算号>1</结算号></MainExt>", NULL,
      NULL, FB_EFORMAT, { "EInvoiceData/Main/MainExt/结算号" } },
    { "MainExt name starting with xml", BASE_PLAIN, "</MainExt>", "<xmlThing>1</xmlThing></MainExt>",
      NULL, NULL, FB_EFORMAT, { "EInvoiceData/Main/MainExt/xmlThing" } },
    { "MainExt name of 65 bytes", BASE_PLAIN, "</MainExt>",
      "<A1234567890123456789012345678901234567890123456789012345678901234/></MainExt>", NULL,
      NULL, FB_EFORMAT, { "EInvoiceData/Main/MainExt/A123" } },
    { "text in MainExt", BASE_PLAIN, "<MainExt>", "<MainExt>x", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/MainExt", "text" } },

    /* attributes */
    { "attribute on the root", BASE_PLAIN, "<EInvoice>", "<EInvoice a=\"1\">", NULL, NULL,
      FB_EFORMAT, { "EInvoice", "attribute \"a\"", "line 1" } },
    { "attribute on Header", BASE_PLAIN, "<Header>", "<Header id='h'>", NULL, NULL, FB_EFORMAT,
      { "Header", "attribute \"id\"" } },
    { "attribute on EInvoiceData", BASE_PLAIN, "<EInvoiceData>", "<EInvoiceData Id=\"d\">", NULL,
      NULL, FB_EFORMAT, { "EInvoiceData", "attribute \"Id\"" } },
    { "attribute on Main", BASE_PLAIN, "<Main>", "<Main a=\"\">", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main", "attribute" } },
    { "attribute on a leaf", BASE_PLAIN, "<Remark/>", "<Remark a=\"1\"/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/Remark", "attribute \"a\"" } },
    { "attribute on a valued leaf", BASE_PLAIN, "<ItemCode>02</ItemCode>",
      "<ItemCode type=\"x\">02</ItemCode>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details/Item[2]/ItemCode", "attribute \"type\"" } },
    { "attribute on an Item", BASE_PLAIN, "<Item>", "<Item n=\"1\">", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details/Item", "attribute \"n\"" } },
    { "attribute on a MainExt known element", BASE_PLAIN, "<Gender>", "<Gender a=\"1\">", NULL,
      NULL, FB_EFORMAT, { "EInvoiceData/Main/MainExt/Gender", "attribute" } },
    { "attribute on a MainExt unknown element", BASE_PLAIN, "</MainExt>",
      "<Settlement a=\"1\">x</Settlement></MainExt>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/MainExt/Settlement", "attribute" } },
    { "xml:lang", BASE_PLAIN, "<Remark/>", "<Remark xml:lang=\"zh\">x</Remark>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/Remark", "attribute \"lang\"" } },
    { "attribute on EInvoiceSignature", BASE_SIGNED, "<EInvoiceSignature>",
      "<EInvoiceSignature a=\"1\">", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature", "attribute \"a\"" } },
    { "attribute on a signature node", BASE_SIGNED, "<SupervisorPartySignature>",
      "<SupervisorPartySignature Id=\"s\">", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature/SupervisorPartySignature", "attribute \"Id\"" } },
    { "attribute on a signature leaf", BASE_SIGNED, "<SignatureValue>",
      "<SignatureValue enc=\"b64\">", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature/InvoicingPartySignature/SignatureValue", "attribute \"enc\"" } },

    /* namespaces */
    { "default namespace on the root", BASE_PLAIN, "<EInvoice>", "<EInvoice xmlns=\"urn:x\">",
      NULL, NULL, FB_EFORMAT, { "EInvoice", "namespace" } },
    { "default namespace on Main", BASE_PLAIN, "<Main>", "<Main xmlns=\"urn:x\">", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main", "namespace" } },
    { "empty default namespace", BASE_PLAIN, "<Remark/>", "<Remark xmlns=\"\"/>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/Remark", "namespace" } },
    { "unused prefix declaration", BASE_PLAIN, "<Remark/>", "<Remark xmlns:f=\"urn:f\"/>", NULL,
      NULL, FB_EFORMAT, { "EInvoiceData/Main/Remark", "namespace" } },
    { "prefixed element", BASE_PLAIN, "<Remark/>", "<f:Remark xmlns:f=\"urn:f\"/>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/Remark", "namespace" } },
    { "prefixed element, prefix declared on the root", BASE_PLAIN, "<EInvoice>",
      "<EInvoice xmlns:f=\"urn:f\">", "<Remark/>", "<f:Remark/>", FB_EFORMAT,
      { "EInvoice", "namespace" } },
    { "undeclared prefix", BASE_PLAIN, "<Remark/>", "<f:Remark/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/f:Remark" } },
    { "undeclared prefix in MainExt", BASE_PLAIN, "</MainExt>", "<f:S>1</f:S></MainExt>", NULL,
      NULL, FB_EFORMAT, { "EInvoiceData/Main/MainExt/f:S" } },
    { "prefixed root", BASE_NONE, NULL,
      DECL "<f:EInvoice xmlns:f=\"urn:f\"><Header/><EInvoiceData/></f:EInvoice>", NULL, NULL,
      FB_EFORMAT, { "EInvoice", "namespace" } },
    { "prefixed signature node", BASE_SIGNED, "<SupervisorPartySignature>",
      "<ds:SupervisorPartySignature xmlns:ds=\"urn:ds\">", "</SupervisorPartySignature>",
      "</ds:SupervisorPartySignature>", FB_EFORMAT,
      { "EInvoiceSignature/SupervisorPartySignature", "namespace" } },

    /* comments and processing instructions */
    { "comment in Main", BASE_PLAIN, "<Remark/>", "<!-- c --><Remark/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main", "comment", "line 1" } },
    { "comment in a leaf", BASE_PLAIN, "<Remark/>", "<Remark>a<!-- c -->b</Remark>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/Remark", "comment" } },
    { "empty comment in a leaf", BASE_PLAIN, "<Remark/>", "<Remark><!----></Remark>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/Remark", "comment" } },
    { "comment in an Item", BASE_PLAIN, "<ItemCode>03</ItemCode>",
      "<ItemCode>03</ItemCode><!---->", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details/Item[3]", "comment" } },
    { "comment in MainExt", BASE_PLAIN, "<MainExt>", "<MainExt><!-- c -->", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/MainExt", "comment" } },
    { "comment in Header", BASE_PLAIN, "<Header>", "<Header><!-- c -->", NULL, NULL, FB_EFORMAT,
      { "Header", "comment" } },
    { "comment in the root", BASE_PLAIN, "<EInvoiceData>", "<!-- c --><EInvoiceData>", NULL,
      NULL, FB_EFORMAT, { "EInvoice", "comment" } },
    { "comment in the signature block", BASE_SIGNED, "<SupervisorPartySignature>",
      "<!-- c --><SupervisorPartySignature>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature", "comment" } },
    { "comment in a signature node", BASE_SIGNED, "<SignatureValue>",
      "<!-- c --><SignatureValue>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature/InvoicingPartySignature", "comment" } },
    { "comment in a signature value", BASE_SIGNED, "<SignatureValue>TUlJ",
      "<SignatureValue>TU<!---->lJ", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature/InvoicingPartySignature/SignatureValue", "comment" } },
    { "comment before the root", BASE_PLAIN, "<EInvoice>", "<!-- c --><EInvoice>", NULL, NULL,
      FB_EFORMAT, { "<EInvoice>", "top" } },
    { "comment before the declaration", BASE_PLAIN, DECL, "<!-- c -->" DECL, NULL, NULL,
      FB_EFORMAT, { "line 1" } },
    { "comment after the root", BASE_PLAIN, "</EInvoice>", "</EInvoice><!-- c -->", NULL, NULL,
      FB_EFORMAT, { "<EInvoice>", "top" } },
    { "PI in Main", BASE_PLAIN, "<Remark/>", "<?pi x?><Remark/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main", "processing instruction" } },
    { "PI in a leaf", BASE_PLAIN, "<Remark/>", "<Remark>a<?pi x?></Remark>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/Remark", "processing instruction" } },
    { "PI in the signature block", BASE_SIGNED, "</EInvoiceSignature>",
      "<?pi?></EInvoiceSignature>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature", "processing instruction" } },
    { "stylesheet PI before the root", BASE_PLAIN, "<EInvoice>",
      "<?xml-stylesheet type=\"text/xsl\" href=\"http://127.0.0.1:9/x.xsl\"?><EInvoice>", NULL,
      NULL, FB_EFORMAT, { "<EInvoice>", "top" } },
    { "PI after the root", BASE_PLAIN, "</EInvoice>", "</EInvoice><?pi?>", NULL, NULL,
      FB_EFORMAT, { "<EInvoice>", "top" } },
    { "blank before the declaration", BASE_PLAIN, DECL, "\n" DECL, NULL, NULL, FB_EFORMAT,
      { "line 2" } },
    { "second XML declaration", BASE_PLAIN, "<EInvoice>", DECL "<EInvoice>", NULL, NULL,
      FB_EFORMAT, { "line 1" } },

    /* text where only elements may stand */
    { "text in Main", BASE_PLAIN, "<Remark/>", "x<Remark/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main", "text", "line 1" } },
    { "text in the root", BASE_PLAIN, "<EInvoiceData>", " x <EInvoiceData>", NULL, NULL,
      FB_EFORMAT, { "EInvoice", "text" } },
    { "text in Header", BASE_PLAIN, "</Header>", "x</Header>", NULL, NULL, FB_EFORMAT,
      { "Header", "text" } },
    { "text in Details", BASE_PLAIN, "</Details>", "x</Details>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details", "text" } },
    { "text in an Item", BASE_PLAIN, "<ItemCode>01</ItemCode>", "<ItemCode>01</ItemCode>x",
      NULL, NULL, FB_EFORMAT, { "EInvoiceData/Details/Item[1]", "text" } },
    { "text in InvoicingParty", BASE_PLAIN, "<InvoicingParty>", "<InvoicingParty>x", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/InvoicingParty", "text" } },
    { "CDATA text in Main", BASE_PLAIN, "<Remark/>", "<![CDATA[x]]><Remark/>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main", "text" } },
    { "no-break space in Main", BASE_PLAIN, "<Remark/>", "&#160;<Remark/>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main", "text" } },
    { "ideographic space in Main", BASE_PLAIN, "<Remark/>", "\xE3\x80\x80<Remark/>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main", "text" } },
    { "text in the signature block", BASE_SIGNED, "<SupervisorPartySignature>",
      "x<SupervisorPartySignature>", NULL, NULL, FB_EFORMAT, { "EInvoiceSignature", "text" } },
    { "text in a signature node", BASE_SIGNED, "</SupervisorPartySignature>",
      "x</SupervisorPartySignature>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature/SupervisorPartySignature", "text" } },

    /* elements inside leaves */
    { "element in Remark", BASE_PLAIN, "<Remark/>", "<Remark>a<b>x</b></Remark>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceData/Main/Remark", "<b>", "line 1" } },
    { "empty element in EInvoiceCode", BASE_PLAIN, "<EInvoiceCode>65060126</EInvoiceCode>",
      "<EInvoiceCode>65060126<x/></EInvoiceCode>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/EInvoiceCode", "<x>" } },
    { "element in ItemName", BASE_PLAIN, "<ItemName>挂号费</ItemName>",
      "<ItemName><ItemName>挂号费</ItemName></ItemName>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details/Item[3]/ItemName", "<ItemName>" } },
    { "element in ItemDetailName", BASE_PLAIN, "<ItemDetailName>门诊西药",
      "<ItemDetailName><i/>门诊西药", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Details/Item[1]/ItemExt/ItemDetailName", "<i>" } },
    { "element in a known MainExt field", BASE_PLAIN, "<Gender>男</Gender>",
      "<Gender><v>男</v></Gender>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceData/Main/MainExt/Gender", "<v>" } },
    { "element in Version", BASE_PLAIN, "<Version>1.1.0</Version>",
      "<Version><Major>1</Major></Version>", NULL, NULL, FB_EFORMAT,
      { "Header/Version", "<Major>" } },
    { "element in a signature value", BASE_SIGNED, "<SignatureValue>TUlJ",
      "<SignatureValue><b64>TUlJ</b64>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature/InvoicingPartySignature/SignatureValue", "<b64>" } },

    /* the signature block */
    { "third signature node", BASE_SIGNED, "</EInvoiceSignature>",
      SIG_SUP "</EInvoiceSignature>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature/SupervisorPartySignature", "unexpected element" } },
    { "wrong signature node name", BASE_SIGNED, "<SupervisorPartySignature>",
      "<AuditorSignature>", "</SupervisorPartySignature>", "</AuditorSignature>", FB_EFORMAT,
      { "EInvoiceSignature/AuditorSignature", "unexpected element" } },
    { "supervisor before invoicing", BASE_NONE, NULL,
      DECL "<EInvoice><Header/><EInvoiceData/><EInvoiceSignature>" SIG_SUP SIG_INV
           "</EInvoiceSignature></EInvoice>",
      NULL, NULL, FB_EFORMAT, { "EInvoiceSignature/SupervisorPartySignature", "unexpected" } },
    { "supervisor alone", BASE_NONE, NULL,
      DECL "<EInvoice><Header/><EInvoiceData/><EInvoiceSignature>" SIG_SUP
           "</EInvoiceSignature></EInvoice>",
      NULL, NULL, FB_EFORMAT, { "EInvoiceSignature/SupervisorPartySignature" } },
    { "invoicing twice", BASE_NONE, NULL,
      DECL "<EInvoice><Header/><EInvoiceData/><EInvoiceSignature>" SIG_INV SIG_INV
           "</EInvoiceSignature></EInvoice>",
      NULL, NULL, FB_EFORMAT, { "EInvoiceSignature/InvoicingPartySignature" } },
    { "empty signature block", BASE_PLAIN, "</EInvoiceData>",
      "</EInvoiceData><EInvoiceSignature/>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature", "InvoicingPartySignature" } },
    { "empty signature block, long form", BASE_PLAIN, "</EInvoiceData>",
      "</EInvoiceData><EInvoiceSignature></EInvoiceSignature>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature", "InvoicingPartySignature" } },
    { "blank signature block", BASE_PLAIN, "</EInvoiceData>",
      "</EInvoiceData><EInvoiceSignature>\n</EInvoiceSignature>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature", "InvoicingPartySignature" } },
    { "two signature blocks", BASE_SIGNED, "</EInvoice>", SIGNATURE_BLOCK "</EInvoice>", NULL, NULL,
      FB_EFORMAT, { "EInvoice", "<EInvoiceSignature>", "line 1" } },
    { "duplicated signature leaf", BASE_SIGNED, "<SignatureValue>TUlJ</SignatureValue>",
      "<SignatureValue>TUlJ</SignatureValue><SignatureValue>TUlJ</SignatureValue>", NULL, NULL,
      FB_EFORMAT, { "EInvoiceSignature/InvoicingPartySignature/SignatureValue",
                    "appears twice" } },
    { "17 signature leaves", BASE_SIGNED, "<SignatureValue>",
      "<L1/><L2/><L3/><L4/><L5/><L6/><L7/><L8/><L9/><L10/><L11/><L12/><SignatureValue>", NULL,
      NULL, FB_ELIMIT, { "EInvoiceSignature/InvoicingPartySignature/SignatureValue", "16" } },
    { "signature leaf name not ASCII", BASE_SIGNED, "<SignatureValue>TUlJ</SignatureValue>",
      "<签名值>TUlJ</签名值>", NULL, NULL, FB_EFORMAT,
      { "EInvoiceSignature/InvoicingPartySignature/签名值" } },

    /* after the root */
    { "second root element", BASE_PLAIN, "</EInvoice>", "</EInvoice><EInvoice/>", NULL, NULL,
      FB_EFORMAT, { "line 1" } },
    { "second full root element", BASE_PLAIN, "</EInvoice>",
      "</EInvoice>\n<EInvoice>" OUT_HEADER "<EInvoiceData/></EInvoice>", NULL, NULL, FB_EFORMAT,
      { "line 2" } },
    { "trailing text", BASE_PLAIN, "</EInvoice>", "</EInvoice>x", NULL, NULL, FB_EFORMAT,
      { "line 1" } },
    { "trailing text on a later line", BASE_PLAIN, "</EInvoice>", "</EInvoice>\n\nx", NULL, NULL,
      FB_EFORMAT, { "line 3" } },
    { "trailing CDATA", BASE_PLAIN, "</EInvoice>", "</EInvoice><![CDATA[x]]>", NULL, NULL,
      FB_EFORMAT, { "line 1" } },
    { "trailing reference", BASE_PLAIN, "</EInvoice>", "</EInvoice>&amp;", NULL, NULL,
      FB_EFORMAT, { "line 1" } },
    { "trailing DOCTYPE", BASE_PLAIN, "</EInvoice>", "</EInvoice><!DOCTYPE EInvoice>", NULL,
      NULL, FB_EFORMAT, { "line 1" } },
    { "unclosed root", BASE_PLAIN, "</EInvoice>", "", NULL, NULL, FB_EFORMAT, { "line 1" } },
    { "mismatched end tag", BASE_PLAIN, "</Main>", "</Mian>", NULL, NULL, FB_EFORMAT,
      { "line 1" } },
};

#define N_MUTATIONS (sizeof mutations / sizeof mutations[0])

static bytes mutated(const mutation *m)
{
    bytes b;
    if (m->base == BASE_NONE)
        return bytes_str(m->to1);
    b = m->base == BASE_SIGNED ? signed_outpatient() : fbt_golden("medical-outpatient");
    replace(&b, m->from1, m->to1);
    if (m->from2)
        replace(&b, m->from2, m->to2);
    return b;
}

START_TEST(test_mutation)
{
    const mutation *m = &mutations[_i];
    bytes b = mutated(m);
    fb_document *doc = (fb_document *)&doc;
    int rc = fb_document_parse(&doc, b.p, b.n, NULL);
    if (rc == FB_OK)
        fb_document_free(doc);
    const char *msg = fb_last_error();
    ck_assert_msg(rc == m->status, "%s: expected status %d, got %d: %s", m->name, m->status, rc,
                  rc ? msg : "(accepted)");
    ck_assert_msg(doc == NULL, "%s: *out is not NULL after a failure", m->name);
    ck_assert_msg(msg[0], "%s: no message", m->name);
    for (size_t i = 0; i < 4 && m->want[i]; i++)
        ck_assert_msg(strstr(msg, m->want[i]), "%s: message \"%s\" lacks \"%s\"", m->name, msg,
                      m->want[i]);
    free(b.p);
}
END_TEST

/* The same refusals when the document arrives through a file. */
START_TEST(test_mutation_load)
{
    const mutation *m = &mutations[_i];
    bytes b = mutated(m);
    char path[] = "/tmp/fbt_hostile_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, b.p, b.n), (ssize_t)b.n);
    close(fd);
    fb_document *doc = (fb_document *)&doc;
    int rc = fb_document_load(&doc, path, NULL);
    if (rc == FB_OK)
        fb_document_free(doc);
    unlink(path);
    ck_assert_msg(rc == m->status, "%s: expected status %d, got %d", m->name, m->status, rc);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strstr(fb_last_error(), path), "%s: message lacks the path: %s", m->name,
                  fb_last_error());
    free(b.p);
}
END_TEST

/* Accepted variants close to the refused ones: the reader is strict, not
 * blind. */
START_TEST(test_near_misses_accepted)
{
    static const char *const cases[][2] = {
        { "</EInvoice>", "</EInvoice>\n" },                   /* trailing line end */
        { "</EInvoice>", "</EInvoice> \r\n\t" },              /* trailing blanks */
        { "<Remark/>", "&#32;<Remark/>" },                    /* blank reference between */
        { "<Remark/>", "<![CDATA[ \n]]><Remark/>" },          /* blank CDATA between */
        { "<Remark/>", "<Remark >x</Remark >" },              /* blanks inside tags */
        { "<Header>", "<Header\n>" },
        { "</MainExt>", "<Settlement>1</Settlement></MainExt>" }, /* unknown MainExt pair */
        { "<Gender>男</Gender>", "<S/><Gender>男</Gender>" },   /* unknown before known */
        { "<Remark/>", "<Remark>\xEF\xBF\xBD\xF4\x8F\xBF\xBF\xC2\x85\x7F</Remark>" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes b = fbt_golden("medical-outpatient");
        replace(&b, cases[i][0], cases[i][1]);
        fb_document *doc = parse_ok(cases[i][1], &b);
        ck_assert_str_eq(fb_bill_get(fb_document_bill(doc), FB_EINVOICE_CODE), "65060126");
        fb_document_free(doc);
        free(b.p);
    }
}
END_TEST

/* ---- DTD attacks that need more than a table ---- */

START_TEST(test_billion_laughs)
{
    static const char lol[] =
        DECL "<!DOCTYPE EInvoice [<!ENTITY lol \"lol\">"
        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">"
        "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
        "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
        "<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">"
        "<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">"
        "<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">"
        "<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">"
        "<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">"
        "]><EInvoice><Header/><EInvoiceData><Main><Remark>&lol9;</Remark></Main>"
        "</EInvoiceData></EInvoice>";
    bytes b = bytes_str(lol);
    double t0 = now();
    fails("billion laughs", &b, FB_EFORMAT, "DOCTYPE", NULL);
    double took = now() - t0;
    ck_assert_msg(took < 0.5, "billion laughs took %.3f s", took);

    /* Quadratic blowup: one big entity referenced many times. */
    size_t big = 100000, refs = 20000;
    bytes q = { malloc(big + refs * 3 + 512), 0 };
    ck_assert_ptr_nonnull(q.p);
    q.n += (size_t)sprintf((char *)q.p, DECL "<!DOCTYPE EInvoice [<!ENTITY a \"");
    memset(q.p + q.n, 'a', big);
    q.n += big;
    q.n += (size_t)sprintf((char *)q.p + q.n, "\">]><EInvoice><Header/><EInvoiceData><Main><Remark>");
    for (size_t i = 0; i < refs; i++, q.n += 3)
        memcpy(q.p + q.n, "&a;", 3);
    q.n += (size_t)sprintf((char *)q.p + q.n, "</Remark></Main></EInvoiceData></EInvoice>");
    t0 = now();
    fails("quadratic blowup", &q, FB_EFORMAT, "DOCTYPE", NULL);
    took = now() - t0;
    ck_assert_msg(took < 0.5, "quadratic blowup took %.3f s", took);
    free(q.p);
    free(b.p);
}
END_TEST

/* A local listener; the reader must never connect to it. Returns -1 when
 * the sandbox has no loopback networking. */
static int listener(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 8) ||
        getsockname(s, (struct sockaddr *)&a, &al) ||
        fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)) {
        close(s);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return s;
}

START_TEST(test_no_network_no_files)
{
    int port = 9;
    int s = listener(&port);

    /* A file the document points at, with a secret in it. */
    char secret_path[] = "/tmp/fbt_secret_XXXXXX";
    int fd = mkstemp(secret_path);
    ck_assert_int_ge(fd, 0);
    static const char secret[] = "FBT-SECRET-7f3a";
    ck_assert_int_eq(write(fd, secret, strlen(secret)), (ssize_t)strlen(secret));
    close(fd);

    char dtds[6][512];
    snprintf(dtds[0], sizeof dtds[0], "<!DOCTYPE EInvoice SYSTEM \"http://127.0.0.1:%d/x.dtd\">",
             port);
    snprintf(dtds[1], sizeof dtds[1],
             "<!DOCTYPE EInvoice [<!ENTITY x SYSTEM \"http://127.0.0.1:%d/x\">]>", port);
    snprintf(dtds[2], sizeof dtds[2],
             "<!DOCTYPE EInvoice [<!ENTITY %% p SYSTEM \"http://127.0.0.1:%d/p.dtd\"> %%p;]>",
             port);
    snprintf(dtds[3], sizeof dtds[3], "<!DOCTYPE EInvoice [<!ENTITY x SYSTEM \"file://%s\">]>",
             secret_path);
    snprintf(dtds[4], sizeof dtds[4], "<!DOCTYPE EInvoice [<!ENTITY x SYSTEM \"%s\">]>",
             secret_path);
    snprintf(dtds[5], sizeof dtds[5],
             "<!DOCTYPE EInvoice PUBLIC \"-//X//Y//EN\" \"http://127.0.0.1:%d/y.dtd\">", port);
    for (int i = 0; i < 6; i++) {
        bytes b = fbt_golden("medical-outpatient");
        char decl[600];
        snprintf(decl, sizeof decl, DECL "%s", dtds[i]);
        replace(&b, DECL, decl);
        replace(&b, "<Remark/>", "<Remark>&x;</Remark>");
        fails(dtds[i], &b, FB_EFORMAT, "DOCTYPE", "line 1", NULL);
        ck_assert_msg(!strstr(fb_last_error(), secret), "the secret leaked: %s", fb_last_error());
        free(b.p);
    }
    if (s >= 0) {
        int c = accept(s, NULL, NULL);
        int e = errno;
        if (c >= 0)
            close(c);
        ck_assert_msg(c < 0 && (e == EAGAIN || e == EWOULDBLOCK),
                      "the reader connected to 127.0.0.1:%d", port);
        close(s);
    }
    unlink(secret_path);
}
END_TEST

/* ---- sizes ---- */

#define HUNDRED_MB ((size_t)100 << 20)

/* 100 MB in memory: a golden document's start, then <Item> after <Item>. */
START_TEST(test_100mb_in_memory)
{
    bytes g = fbt_golden("medical-outpatient");
    size_t head = fbt_find(&g, "<Item>");
    size_t item_len = fbt_find(&g, "</Item>") + 7 - head;
    uint8_t *big = malloc(HUNDRED_MB);
    ck_assert_ptr_nonnull(big);
    memcpy(big, g.p, head);
    size_t n = head;
    while (n + item_len <= HUNDRED_MB) {
        memcpy(big + n, g.p + head, item_len);
        n += item_len;
    }
    memset(big + n, ' ', HUNDRED_MB - n);

    fb_document *doc = (fb_document *)&doc;
    double t0 = now();
    int rc = fb_document_parse(&doc, big, HUNDRED_MB, NULL);
    double took = now() - t0;
    ck_assert_int_eq(rc, FB_ELIMIT);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strstr(fb_last_error(), "104857600") && strstr(fb_last_error(), "1048576"),
                  "message lacks the size or the limit: %s", fb_last_error());
    /* "Immediately": far less than copying or scanning 100 MB would take. */
    ck_assert_msg(took < 0.05, "refusing 100 MB took %.4f s", took);

    /* One byte over a custom limit, and exactly at the default one. */
    fb_read_limits lim = { 1000, FB_READ_MAX_DEPTH_DEFAULT };
    fails_lim("1001 bytes over a limit of 1000", &(bytes){ big, 1001 }, &lim, FB_ELIMIT,
              "1001", "1000", NULL);
    size_t at_limit = FB_READ_MAX_BYTES_DEFAULT;
    memcpy(big + at_limit - 11, "</EInvoice>", 11); /* not a bill, but not too big */
    fails("exactly 1 MiB", &(bytes){ big, at_limit }, FB_EFORMAT, NULL);
    fails("1 MiB + 1", &(bytes){ big, at_limit + 1 }, FB_ELIMIT, "1048577", NULL);
    free(big);
    free(g.p);
}
END_TEST

/* The refusal of a too-big input reads none of it: everything past the
 * first page is unreadable. */
START_TEST(test_100mb_unread)
{
    long page = sysconf(_SC_PAGESIZE);
    uint8_t *map = mmap(NULL, HUNDRED_MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                        -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    bytes g = fbt_golden("medical-outpatient");
    memcpy(map, g.p, (size_t)page < g.n ? (size_t)page : g.n);
    ck_assert_int_eq(mprotect(map + page, HUNDRED_MB - (size_t)page, PROT_NONE), 0);
    fb_document *doc = (fb_document *)&doc;
    ck_assert_int_eq(fb_document_parse(&doc, map, HUNDRED_MB, NULL), FB_ELIMIT);
    ck_assert_ptr_null(doc);
    munmap(map, HUNDRED_MB);
    free(g.p);
}
END_TEST

START_TEST(test_100mb_file)
{
    bytes g = fbt_golden("medical-outpatient");
    char path[] = "/tmp/fbt_hostile_big_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t head = fbt_find(&g, "<Details>") + 9;
    ck_assert_int_eq(write(fd, g.p, head), (ssize_t)head);
    ck_assert_int_eq(ftruncate(fd, (off_t)HUNDRED_MB), 0); /* sparse: cheap to make */
    close(fd);

    fb_document *doc = (fb_document *)&doc;
    double t0 = now();
    int rc = fb_document_load(&doc, path, NULL);
    double took = now() - t0;
    unlink(path);
    ck_assert_int_eq(rc, FB_ELIMIT);
    ck_assert_ptr_null(doc);
    ck_assert_msg(strstr(fb_last_error(), path) && strstr(fb_last_error(), "limit of 1048576"),
                  "message: %s", fb_last_error());
    ck_assert_msg(took < 0.5, "loading took %.3f s", took);

    /* An endless file is refused too: the loader stops past the limit. */
    if (access("/dev/zero", R_OK) == 0) {
        doc = (fb_document *)&doc;
        ck_assert_int_eq(fb_document_load(&doc, "/dev/zero", NULL), FB_ELIMIT);
        ck_assert_ptr_null(doc);
        ck_assert_ptr_nonnull(strstr(fb_last_error(), "/dev/zero"));
        fb_read_limits lim = { 100, FB_READ_MAX_DEPTH_DEFAULT };
        ck_assert_int_eq(fb_document_load(&doc, "/dev/zero", &lim), FB_ELIMIT);
        ck_assert_ptr_nonnull(strstr(fb_last_error(), "limit of 100"));
    }
    free(g.p);
}
END_TEST

/* ---- depth ---- */

/* The golden document with `open` inserted before the first `at` and
 * `count` x "<a>" ... "</a>" inside it. */
static bytes nested(const char *at, const char *open, const char *close_, int count)
{
    bytes g = fbt_golden("medical-outpatient");
    size_t pos = fbt_find(&g, at), ol = strlen(open), cl = strlen(close_);
    bytes b = { malloc(g.n + ol + cl + (size_t)count * 7 + 1), 0 };
    ck_assert_ptr_nonnull(b.p);
    memcpy(b.p, g.p, pos);
    b.n = pos;
    memcpy(b.p + b.n, open, ol);
    b.n += ol;
    for (int i = 0; i < count; i++, b.n += 3)
        memcpy(b.p + b.n, "<a>", 3);
    for (int i = 0; i < count; i++, b.n += 4)
        memcpy(b.p + b.n, "</a>", 4);
    memcpy(b.p + b.n, close_, cl);
    b.n += cl;
    memcpy(b.p + b.n, g.p + pos, g.n - pos);
    b.n += g.n - pos;
    free(g.p);
    return b;
}

START_TEST(test_deep_nesting)
{
    static const struct {
        const char *name, *at, *open, *close_;
    } where[] = {
        { "in Remark", "<Remark/>", "<Remark>", "</Remark><Remark/>" },
        { "in MainExt", "</MainExt>", "", "" },
        { "in an unknown MainExt element", "</MainExt>", "<Deep>", "</Deep>" },
        { "in the root", "<Header>", "", "" },
        { "in ItemDetailName", "门诊西药", "", "" },
        { "in an Item", "<ItemRemark/>", "", "" },
    };
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        bytes b = nested(where[i].at, where[i].open, where[i].close_, 10000);
        double t0 = now();
        fails(where[i].name, &b, FB_ELIMIT, "limit of 16", "line 1", NULL);
        ck_assert_msg(now() - t0 < 0.5, "%s: slow", where[i].name);
        free(b.p);
    }
    /* A custom limit well inside libxml2's own. */
    fb_read_limits lim = { FB_READ_MAX_BYTES_DEFAULT, 8 };
    bytes b = nested("</MainExt>", "", "", 10000);
    fails_lim("limit 8", &b, &lim, FB_ELIMIT, "limit of 8", NULL);
    free(b.p);

    /* Deep nesting on many lines: the line of the element past the limit. */
    bytes g = fbt_golden("medical-outpatient");
    replace(&g, "<Remark/>", "<Remark>\n<a>\n<a>\n<a>\n<a>\n<a>\n<a>\n<a>\n<a>\n<a>\n<a>\n<a>\n<a>"
                             "\n<a>\n<a></a></a></a></a></a></a></a></a></a></a></a></a></a></a>"
                             "</Remark>");
    /* Remark is at depth 4: the 13th <a> is at 17, on line 14. */
    fails("deep on many lines", &g, FB_ELIMIT, "limit of 16", "line 14", NULL);
    free(g.p);
}
END_TEST

/* ---- NUL and UTF-16 ---- */

START_TEST(test_nul_bytes)
{
    bytes g = fbt_golden("medical-outpatient");
    size_t positions[] = { 0, 5, fbt_find(&g, "<Remark/>") + 2, fbt_find(&g, "65060126") + 3, g.n - 1 };
    for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
        bytes b = fbt_bytes_of(g.p, g.n);
        b.p[positions[i]] = '\0';
        char what[64];
        snprintf(what, sizeof what, "NUL at byte %zu", positions[i]);
        fails(what, &b, FB_EFORMAT, "NUL", NULL);
        free(b.p);
    }
    /* A NUL after the document. */
    bytes b = { malloc(g.n + 1), g.n + 1 };
    ck_assert_ptr_nonnull(b.p);
    memcpy(b.p, g.p, g.n);
    b.p[g.n] = '\0';
    fails("NUL after the root", &b, FB_EFORMAT, "NUL", NULL);
    /* As a value: "a\0b" in Remark. */
    bytes v = fbt_golden("medical-outpatient");
    replace(&v, "<Remark/>", "<Remark>a#b</Remark>");
    v.p[fbt_find(&v, "a#b") + 1] = '\0';
    fails("NUL in a value", &v, FB_EFORMAT, "NUL", NULL);
    free(v.p);
    free(b.p);
    free(g.p);
}
END_TEST

/* UTF-8 to UTF-16 (le or be), with an optional BOM. */
static bytes to_utf16(const bytes *in, int big_endian, int bom)
{
    bytes out = { malloc(in->n * 4 + 4), 0 };
    ck_assert_ptr_nonnull(out.p);
    uint16_t units[2];
#define PUT16(u)                                                      \
    do {                                                              \
        out.p[out.n++] = (uint8_t)(big_endian ? (u) >> 8 : (u) & 0xFF); \
        out.p[out.n++] = (uint8_t)(big_endian ? (u) & 0xFF : (u) >> 8); \
    } while (0)
    if (bom)
        PUT16(0xFEFF);
    for (size_t i = 0; i < in->n;) {
        uint8_t c = in->p[i];
        uint32_t cp;
        int len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
        for (int k = 1; k < len; k++)
            cp = (cp << 6) | (in->p[i + (size_t)k] & 0x3F);
        i += (size_t)len;
        int nu = 1;
        if (cp >= 0x10000) {
            units[0] = (uint16_t)(0xD800 + ((cp - 0x10000) >> 10));
            units[1] = (uint16_t)(0xDC00 + ((cp - 0x10000) & 0x3FF));
            nu = 2;
        } else {
            units[0] = (uint16_t)cp;
        }
        for (int k = 0; k < nu; k++)
            PUT16(units[k]);
    }
#undef PUT16
    return out;
}

START_TEST(test_utf16)
{
    bytes g = fbt_golden("medical-outpatient");
    bytes decl16 = fbt_bytes_of(g.p, g.n);
    replace(&decl16, "encoding=\"UTF-8\"", "encoding=\"UTF-16\"");
    static const struct {
        const char *name;
        int be, bom, decl16;
    } cases[] = {
        { "UTF-16LE with BOM", 0, 1, 0 },
        { "UTF-16BE with BOM", 1, 1, 0 },
        { "UTF-16LE with BOM, declared UTF-16", 0, 1, 1 },
        { "UTF-16BE with BOM, declared UTF-16", 1, 1, 1 },
        { "UTF-16LE without BOM", 0, 0, 1 },
        { "UTF-16BE without BOM", 1, 0, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes b = to_utf16(cases[i].decl16 ? &decl16 : &g, cases[i].be, cases[i].bom);
        if (cases[i].bom)
            fails(cases[i].name, &b, FB_EFORMAT, "UTF-16", NULL);
        else
            fails(cases[i].name, &b, FB_EFORMAT, NULL);
        free(b.p);
    }
    /* UTF-32LE with BOM. */
    bytes b = { malloc(g.n * 4 + 4), 0 };
    ck_assert_ptr_nonnull(b.p);
    memcpy(b.p, "\xFF\xFE\0\0", 4);
    b.n = 4;
    for (size_t i = 0; i < 40; i++, b.n += 4) /* the ASCII declaration is enough */
        memcpy(b.p + b.n, (uint8_t[4]){ g.p[i], 0, 0, 0 }, 4);
    fails("UTF-32LE with BOM", &b, FB_EFORMAT, NULL);
    free(b.p);
    free(decl16.p);
    free(g.p);
}
END_TEST

/* ---- truncation ---- */

static void check_truncations(const char *what, const bytes *full)
{
    for (size_t i = 0; i <= 50; i++) {
        size_t cut = i < 50 ? i * full->n / 50 + (i * 7) % 13 : full->n - 1;
        if (cut >= full->n)
            cut = full->n - 1;
        fb_document *doc = (fb_document *)&doc;
        int rc = fb_document_parse(&doc, full->p, cut, NULL);
        if (rc == FB_OK)
            fb_document_free(doc);
        ck_assert_msg(rc == FB_EFORMAT, "%s cut at %zu of %zu: status %d: %s", what, cut, full->n,
                      rc, rc ? fb_last_error() : "(accepted)");
        ck_assert_msg(doc == NULL, "%s cut at %zu: *out not NULL", what, cut);
        ck_assert_msg(fb_last_error()[0], "%s cut at %zu: no message", what, cut);
        if (cut > 0)
            ck_assert_msg(strstr(fb_last_error(), "line"), "%s cut at %zu: %s", what, cut,
                          fb_last_error());
    }
    fb_document *doc = NULL;
    int rc = fb_document_parse(&doc, full->p, full->n, NULL);
    ck_assert_msg(rc == FB_OK, "%s in full: %d: %s", what, rc, fb_last_error());
    fb_document_free(doc);
}

START_TEST(test_truncated)
{
    bytes g = fbt_golden("medical-outpatient");
    check_truncations("outpatient", &g);
    free(g.p);
    g = signed_outpatient();
    check_truncations("signed outpatient", &g);
    free(g.p);
    g = fbt_golden("medical-inpatient");
    check_truncations("inpatient", &g);
    /* Every cut within the last 40 bytes. */
    for (size_t cut = g.n - 40; cut < g.n; cut++) {
        fb_document *doc = (fb_document *)&doc;
        ck_assert_int_eq(fb_document_parse(&doc, g.p, cut, NULL), FB_EFORMAT);
        ck_assert_ptr_null(doc);
    }
    free(g.p);
}
END_TEST

/* ---- values past FB_VALUE_MAX ---- */

/* n copies of unit. */
static char *repeat(const char *unit, size_t n)
{
    size_t ul = strlen(unit);
    char *s = malloc(ul * n + 1);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    s[ul * n] = '\0';
    return s;
}

/* base with `from` replaced by pre + n x unit + post. */
static bytes with_value(int base, const char *from, const char *pre, const char *unit, size_t n,
                        const char *post)
{
    bytes b = base == BASE_SIGNED ? signed_outpatient() : fbt_golden("medical-outpatient");
    char *v = repeat(unit, n);
    size_t len = strlen(pre) + strlen(v) + strlen(post) + 1;
    char *to = malloc(len);
    ck_assert_ptr_nonnull(to);
    snprintf(to, len, "%s%s%s", pre, v, post);
    replace(&b, from, to);
    free(to);
    free(v);
    return b;
}

START_TEST(test_value_too_long)
{
    static const struct {
        int base;
        const char *from, *pre, *post, *path;
    } where[] = {
        { BASE_PLAIN, "<Remark/>", "<Remark>", "</Remark>", "EInvoiceData/Main/Remark" },
        { BASE_PLAIN, "<Version>1.1.0</Version>", "<Version>", "</Version>", "Header/Version" },
        { BASE_PLAIN, "<ItemName>检查费</ItemName>", "<ItemName>", "</ItemName>",
          "EInvoiceData/Details/Item[2]/ItemName" },
        { BASE_PLAIN, "<ItemDetailName>门诊西药</ItemDetailName>", "<ItemDetailName>",
          "</ItemDetailName>", "EInvoiceData/Details/Item[1]/ItemExt/ItemDetailName" },
        { BASE_PLAIN, "<AuxItemRemark/>", "<AuxItemRemark>", "</AuxItemRemark>",
          "EInvoiceData/AuxDetails/AuxItem[1]/AuxItemRemark" },
        { BASE_PLAIN, "<Gender>男</Gender>", "<Gender>", "</Gender>",
          "EInvoiceData/Main/MainExt/Gender" },
        { BASE_PLAIN, "</MainExt>", "<Settlement>", "</Settlement></MainExt>",
          "EInvoiceData/Main/MainExt/Settlement" },
        { BASE_SIGNED, "<SignatureValue>TUlJ</SignatureValue>", "<SignatureValue>",
          "</SignatureValue>", "EInvoiceSignature/InvoicingPartySignature/SignatureValue" },
    };
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        bytes ok = with_value(where[i].base, where[i].from, where[i].pre, "a", FB_VALUE_MAX,
                              where[i].post);
        fb_document *doc = parse_ok(where[i].path, &ok);
        fb_document_free(doc);
        bytes b = with_value(where[i].base, where[i].from, where[i].pre, "a", FB_VALUE_MAX + 1,
                             where[i].post);
        fails(where[i].path, &b, FB_ELIMIT, where[i].path, "4097", "line 1", NULL);
        free(b.p);
        free(ok.p);
    }
    /* The limit is on the decoded value. */
    bytes b = with_value(BASE_PLAIN, "<Remark/>", "<Remark>", "&amp;", FB_VALUE_MAX, "</Remark>");
    fb_document *doc = parse_ok("4096 decoded bytes", &b);
    ck_assert_uint_eq(strlen(fb_bill_get(fb_document_bill(doc), FB_REMARK)), FB_VALUE_MAX);
    fb_document_free(doc);
    free(b.p);
    b = with_value(BASE_PLAIN, "<Remark/>", "<Remark>", "&amp;", FB_VALUE_MAX + 1, "</Remark>");
    fails("4097 decoded bytes", &b, FB_ELIMIT, "EInvoiceData/Main/Remark", NULL);
    free(b.p);
    b = with_value(BASE_PLAIN, "<Remark/>", "<Remark>", "中", 1366, "</Remark>");
    fails("1366 CJK characters", &b, FB_ELIMIT, "EInvoiceData/Main/Remark", "4098", NULL);
    free(b.p);
    b = with_value(BASE_PLAIN, "<Remark/>", "<Remark>x<![CDATA[", "b", FB_VALUE_MAX, "]]></Remark>");
    fails("CDATA and text", &b, FB_ELIMIT, "EInvoiceData/Main/Remark", NULL);
    free(b.p);
    /* A huge value, as large as the input limit allows. */
    b = with_value(BASE_PLAIN, "<Remark/>", "<Remark>", "z", FB_READ_MAX_BYTES_DEFAULT - 4096,
                   "</Remark>");
    fails("a value of nearly 1 MiB", &b, FB_ELIMIT, "EInvoiceData/Main/Remark", NULL);
    free(b.p);
}
END_TEST

/* ---- many items ---- */

START_TEST(test_many_items)
{
    bytes g = fbt_golden("medical-inpatient");
    size_t start = fbt_find(&g, "<Details>") + 9, end = fbt_find(&g, "</Details>");
    size_t per = 0;
    enum { N = 5000 };
    bytes b = { malloc(g.n + (size_t)N * 256), 0 };
    ck_assert_ptr_nonnull(b.p);
    memcpy(b.p, g.p, start);
    b.n = start;
    for (int i = 0; i < N; i++) {
        size_t before = b.n;
        b.n += (size_t)sprintf((char *)b.p + b.n,
                               "<Item><ItemCode>%04d</ItemCode><ItemName>项目%d</ItemName>"
                               "<ItemQuantity>1</ItemQuantity><ItemUnit>次</ItemUnit>"
                               "<ItemStd>1.00</ItemStd><ItemAmount>1.00</ItemAmount><ItemRemark/>"
                               "<ItemExt/></Item>",
                               i + 1, i + 1);
        per = b.n - before;
    }
    memcpy(b.p + b.n, g.p + end, g.n - end);
    b.n += g.n - end;
    ck_assert_uint_le(b.n, FB_READ_MAX_BYTES_DEFAULT);
    ck_assert_uint_gt(per, 100);

    double t0 = now();
    fb_document *doc = parse_ok("5000 items", &b);
    double took = now() - t0;
    const fb_bill *bill = fb_document_bill(doc);
    ck_assert_uint_eq(fb_bill_item_count(bill), N);
    ck_assert_str_eq(fb_bill_item_get(bill, 0, FB_ITEM_CODE), "0001");
    ck_assert_str_eq(fb_bill_item_get(bill, N - 1, FB_ITEM_CODE), "5000");
    ck_assert_str_eq(fb_bill_item_get(bill, N - 1, FB_ITEM_NAME), "项目5000");
    ck_assert_int_eq(fb_document_is_canonical(doc), 1);
    fb_buf out = FB_BUF_INIT;
    ck_assert_int_eq(fb_document_write(doc, &out), FB_OK);
    ck_assert_uint_eq(out.size, b.n);
    ck_assert_mem_eq(out.ptr, b.p, b.n);
    fb_buf_dispose(&out);
    ck_assert_msg(took < 1.0, "5000 items took %.3f s", took);
    fb_document_free(doc);
    free(b.p);
    free(g.p);
}
END_TEST

/* ---- inputs built to be slow ---- */

/* Runs fb_document_parse on b in a child process and waits at most
 * `seconds`. Returns the status, or 1 when the child ran out of time (it is
 * killed), or 2 when it died. */
static int parse_with_deadline(const bytes *b, double seconds, double *took)
{
    fflush(NULL);
    double t0 = now();
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        fb_document *doc = NULL;
        int rc = fb_document_parse(&doc, b->p, b->n, NULL);
        _exit(rc <= 0 && rc >= -100 ? -rc : 101);
    }
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (now() - t0 > seconds) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            *took = now() - t0;
            return 1;
        }
        nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
    }
    *took = now() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) > 100)
        return 2;
    return -WEXITSTATUS(st);
}

/* Unknown MainExt pairs are cheap to write (<X1/>): ~100,000 of them fit in
 * the default 1 MiB. Reading them must stay roughly linear. */
START_TEST(test_many_unknown_ext_pairs)
{
    bytes g = fbt_golden("medical-outpatient");
    size_t at = fbt_find(&g, "</MainExt>");
    size_t room = FB_READ_MAX_BYTES_DEFAULT - g.n - 16;
    bytes b = { malloc(FB_READ_MAX_BYTES_DEFAULT + 64), 0 };
    ck_assert_ptr_nonnull(b.p);
    memcpy(b.p, g.p, at);
    b.n = at;
    size_t pairs = 0;
    for (; b.n - at + 12 < room; pairs++)
        b.n += (size_t)sprintf((char *)b.p + b.n, "<X%zu/>", pairs);
    memcpy(b.p + b.n, g.p + at, g.n - at);
    b.n += g.n - at;
    ck_assert_uint_le(b.n, FB_READ_MAX_BYTES_DEFAULT);

    double took = 0;
    int rc = parse_with_deadline(&b, 2.0, &took);
    ck_assert_msg(rc != 1, "reading %zu unknown MainExt pairs (%zu bytes) did not finish in "
                  "%.1f s: the pair lookup is quadratic", pairs, b.n, took);
    ck_assert_msg(rc == FB_OK || rc == FB_ELIMIT, "%zu unknown MainExt pairs: status %d", pairs,
                  rc);
    free(b.p);
    free(g.p);
}
END_TEST

/* Attributes are refused; 1 MiB of them must be refused quickly too. */
START_TEST(test_many_attributes)
{
    bytes g = fbt_golden("medical-outpatient");
    size_t at = fbt_find(&g, "<EInvoice>") + 9;
    size_t room = FB_READ_MAX_BYTES_DEFAULT - g.n - 16;
    bytes b = { malloc(FB_READ_MAX_BYTES_DEFAULT + 64), 0 };
    ck_assert_ptr_nonnull(b.p);
    memcpy(b.p, g.p, at);
    b.n = at;
    size_t count = 0;
    for (; b.n - at + 12 < room; count++)
        b.n += (size_t)sprintf((char *)b.p + b.n, " a%zu=''", count);
    memcpy(b.p + b.n, g.p + at, g.n - at);
    b.n += g.n - at;

    double took = 0;
    int rc = parse_with_deadline(&b, 2.0, &took);
    ck_assert_msg(rc != 1, "refusing %zu attributes on <EInvoice> (%zu bytes) did not finish in "
                  "%.1f s", count, b.n, took);
    ck_assert_int_eq(rc, FB_EFORMAT);
    free(b.p);
    free(g.p);
}
END_TEST

/* unit with its "%zu", if any, replaced by n; the length. */
static size_t expand(char *out, size_t size, const char *unit, size_t n)
{
    const char *mark = strstr(unit, "%zu");
    if (!mark)
        return (size_t)snprintf(out, size, "%s", unit);
    return (size_t)snprintf(out, size, "%.*s%zu%s", (int)(mark - unit), unit, n, mark + 3);
}

/* Other floods within 1 MiB are refused, or read, quickly. unit is a
 * printf format of at most one %zu, the repetition's number. */
START_TEST(test_floods)
{
    static const struct {
        const char *name, *at, *unit;
        int in_remark; /* inside a <Remark> put in place of <Remark/> */
        int status;
    } floods[] = {
        { "comments in Main", "<Remark/>", "<!---->", 0, FB_EFORMAT },
        { "PIs in Main", "<Remark/>", "<?p?>", 0, FB_EFORMAT },
        { "unknown elements in Main", "<Remark/>", "<F%zu/>", 0, FB_EFORMAT },
        { "blank lines between elements", "<Remark/>", "\n", 0, FB_OK },
        { "duplicate MainExt pairs", "</MainExt>", "<D/>", 0, FB_EFORMAT },
        { "references in a value", "<Remark/>", "&amp;", 1, FB_ELIMIT },
        { "character references in a value", "<Remark/>", "&#x4E2D;", 1, FB_ELIMIT },
        { "empty CDATA sections in a value", "<Remark/>", "<![CDATA[]]>", 1, FB_OK },
        { "CDATA sections in a value", "<Remark/>", "<![CDATA[a]]>", 1, FB_ELIMIT },
        { "namespace declarations", "<Header>", " xmlns:p%zu='urn:p'", 0, FB_EFORMAT },
        { "default namespace declarations", "<Header>", "<a xmlns='urn:%zu'>", 0, FB_ELIMIT },
    };
    for (size_t i = 0; i < sizeof floods / sizeof floods[0]; i++) {
        bytes g = fbt_golden("medical-outpatient");
        size_t at = fbt_find(&g, floods[i].at), rest = at;
        if (strcmp(floods[i].at, "<Header>") == 0 && floods[i].unit[0] == ' ')
            at = rest = fbt_find(&g, "<EInvoice>") + 9; /* inside the root's start tag */
        if (floods[i].in_remark)
            rest = at + strlen("<Remark/>");
        size_t cap = FB_READ_MAX_BYTES_DEFAULT;
        bytes b = { malloc(cap + 64), 0 };
        ck_assert_ptr_nonnull(b.p);
        memcpy(b.p, g.p, at);
        b.n = at;
        if (floods[i].in_remark)
            b.n += (size_t)sprintf((char *)b.p + b.n, "<Remark>");
        size_t count = 0, tail = g.n - rest + 16;
        for (;; count++) {
            char unit[64];
            size_t ul = expand(unit, sizeof unit, floods[i].unit, count);
            if (b.n + ul + tail > cap)
                break;
            memcpy(b.p + b.n, unit, ul);
            b.n += ul;
        }
        if (floods[i].in_remark)
            b.n += (size_t)sprintf((char *)b.p + b.n, "</Remark>");
        memcpy(b.p + b.n, g.p + rest, g.n - rest);
        b.n += g.n - rest;
        ck_assert_uint_le(b.n, FB_READ_MAX_BYTES_DEFAULT);
        double took = 0;
        int rc = parse_with_deadline(&b, 2.0, &took);
        ck_assert_msg(rc != 1, "%s (%zu of them): did not finish in %.1f s", floods[i].name,
                      count, took);
        ck_assert_msg(rc == floods[i].status, "%s: status %d, expected %d", floods[i].name, rc,
                      floods[i].status);
        free(b.p);
        free(g.p);
    }
}
END_TEST

/* ---- line numbers in messages ---- */

/* `lines` line ends, then an unknown element: the message names its line,
 * however far down it is. */
static void check_line(size_t lines)
{
    bytes g = fbt_golden("medical-outpatient");
    size_t at = fbt_find(&g, "<Remark/>");
    bytes b = { malloc(g.n + lines + 16), 0 };
    ck_assert_ptr_nonnull(b.p);
    memcpy(b.p, g.p, at);
    b.n = at;
    memset(b.p + b.n, '\n', lines);
    b.n += lines;
    memcpy(b.p + b.n, "<Foo/>", 6);
    b.n += 6;
    memcpy(b.p + b.n, g.p + at, g.n - at);
    b.n += g.n - at;
    char want[64];
    snprintf(want, sizeof want, "(line %zu)", lines + 1);
    fails("unknown element far down", &b, FB_EFORMAT, "EInvoiceData/Main/Foo", want, NULL);
    free(b.p);
    free(g.p);
}

START_TEST(test_line_numbers)
{
    check_line(0);
    check_line(1000);
    check_line(65533);
}
END_TEST

START_TEST(test_line_numbers_past_65535)
{
    check_line(70000);
    check_line(500000);
}
END_TEST

/* ---- mutation fuzzing ---- */

static uint32_t rng_state;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* After any accepted input, the document's ranges and canonical form hold
 * together. */
static void check_accepted(const fb_document *doc)
{
    size_t n, off, len;
    const uint8_t *data = fb_document_data(doc, &n);
    fb_document_fragment(doc, &off, &len);
    ck_assert(off <= n && len <= n - off && len >= 8);
    ck_assert(memcmp(data + off, "<Header", 7) == 0);
    ck_assert(data[off + len - 1] == '>');
    for (size_t i = 0; i < fb_document_signature_count(doc); i++) {
        const char *name;
        ck_assert_int_eq(fb_document_signature(doc, i, &name, &off, &len), FB_OK);
        ck_assert(off <= n && len <= n - off && len > strlen(name) + 1);
        ck_assert(data[off] == '<' && memcmp(data + off + 1, name, strlen(name)) == 0);
        ck_assert(data[off + len - 1] == '>');
    }
    /* The canonical form reads back to itself. */
    fb_buf out = FB_BUF_INIT;
    ck_assert_int_eq(fb_document_write(doc, &out), FB_OK);
    fb_document *again = NULL;
    int rc = fb_document_parse(&again, out.ptr, out.size, NULL);
    ck_assert_msg(rc == FB_OK, "the canonical form of an accepted document is refused: %s\n%s",
                  fb_last_error(), (const char *)out.ptr);
    ck_assert_int_eq(fb_document_is_canonical(again), 1);
    ck_assert_uint_eq(fb_document_signature_count(again), fb_document_signature_count(doc));
    fb_document_free(again);
    fb_buf_dispose(&out);
}

START_TEST(test_fuzz_mutations)
{
    static const char pieces[][12] = { "<", ">", "/", "&", ";", " ", "\n", "\x80", "\xE4\xB8",
                                       "<!--", "-->", "<![CDATA[", "]]>", "<?", "?>", "=\"\"",
                                       "&#13;", "&amp;", "<a>", "</a>", "<Item>", "</Item>",
                                       "xmlns", "<!DOCTYPE", "\"", "'", "\r" };
    bytes base = signed_outpatient();
    rng_state = 0x9E3779B9u;
    size_t accepted = 0;
    for (int iter = 0; iter < 3000; iter++) {
        bytes b = { malloc(base.n + 64), base.n };
        ck_assert_ptr_nonnull(b.p);
        memcpy(b.p, base.p, base.n);
        int edits = 1 + (int)(rng() % 3);
        for (int e = 0; e < edits && b.n > 0; e++) {
            size_t pos = rng() % b.n;
            switch (rng() % 3) {
            case 0: /* delete a run */ {
                size_t len = 1 + rng() % 8;
                if (pos + len > b.n)
                    len = b.n - pos;
                memmove(b.p + pos, b.p + pos + len, b.n - pos - len);
                b.n -= len;
                break;
            }
            case 1: /* overwrite a byte */
                b.p[pos] = (uint8_t)pieces[rng() % (sizeof pieces / sizeof pieces[0])][0];
                break;
            default: /* insert a piece */ {
                const char *p = pieces[rng() % (sizeof pieces / sizeof pieces[0])];
                size_t pl = strlen(p);
                if (b.n + pl > base.n + 64)
                    break;
                memmove(b.p + pos + pl, b.p + pos, b.n - pos);
                memcpy(b.p + pos, p, pl);
                b.n += pl;
            }
            }
        }
        fb_document *doc = (fb_document *)&doc;
        int rc = fb_document_parse(&doc, b.p, b.n, NULL);
        if (rc == FB_OK) {
            accepted++;
            check_accepted(doc);
            fb_document_free(doc);
        } else {
            ck_assert_msg(rc == FB_EFORMAT || rc == FB_ELIMIT,
                          "iteration %d: status %d (%s) on:\n%.*s", iter, rc, fb_last_error(),
                          (int)b.n, (const char *)b.p);
            ck_assert_ptr_null(doc);
            ck_assert(fb_last_error()[0] != '\0');
        }
        free(b.p);
    }
    /* Some edits land in values and keep the document a bill. */
    ck_assert_uint_gt(accepted, 0);
    free(base.p);
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("mutations");
    tcase_add_test(tc, test_bases_parse);
    tcase_add_loop_test(tc, test_mutation, 0, N_MUTATIONS);
    tcase_add_loop_test(tc, test_mutation_load, 0, N_MUTATIONS);
    tcase_add_test(tc, test_near_misses_accepted);
    suite_add_tcase(s, tc);

    tc = tcase_create("dtd");
    tcase_add_test(tc, test_billion_laughs);
    tcase_add_test(tc, test_no_network_no_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("sizes");
    tcase_add_test(tc, test_100mb_in_memory);
    tcase_add_test(tc, test_100mb_unread);
    tcase_add_test(tc, test_100mb_file);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_value_too_long);
    tcase_add_test(tc, test_many_items);
    suite_add_tcase(s, tc);

    tc = tcase_create("encodings");
    tcase_add_test(tc, test_nul_bytes);
    tcase_add_test(tc, test_utf16);
    suite_add_tcase(s, tc);

    tc = tcase_create("truncation-and-fuzz");
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_fuzz_mutations);
    suite_add_tcase(s, tc);

    tc = tcase_create("slow-inputs");
    tcase_add_test(tc, test_many_unknown_ext_pairs);
    tcase_add_test(tc, test_many_attributes);
    tcase_add_test(tc, test_floods);
    suite_add_tcase(s, tc);

    tc = tcase_create("lines");
    tcase_add_test(tc, test_line_numbers);
    tcase_add_test(tc, test_line_numbers_past_65535);
    suite_add_tcase(s, tc);
    return s;
}
