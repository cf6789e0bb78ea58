/* fb_verify: the checks of specs/verification.md, in order, each filling its
 * line of the report. A check that cannot run because an earlier one failed
 * stays INDETERMINATE with "not checked". */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "common/internal.h"
#include "fiscalbill/validate.h"
#include "ports/alg.h"
#include "sign/node.h"
#include "verify/chain.h"
#include "verify/report.h"

typedef struct ctx {
    const fb_verify_options *o;
    fb_report *r;
    const fb_bill *bill;
    fb_cms cms[2];
    bool signed_ok[2]; /* the signer's CMS parsed, so its certificate is known */
    int64_t now;
} ctx;

static const fb_check sig_check[2] = { FB_CHECK_UNIT_SIGNATURE, FB_CHECK_SUPERVISOR_SEAL };
static const fb_check cert_check[2] = { FB_CHECK_UNIT_CERTIFICATE,
                                        FB_CHECK_SUPERVISOR_CERTIFICATE };
static const char *const who[2] = { "the unit's signature", "the finance bureau's seal" };

static bool check_structure(ctx *c, const void *doc, size_t len)
{
    int rc = fb_document_parse(&c->r->doc, doc, len, &c->o->limits);
    if (rc) {
        fb_report_set(c->r, FB_CHECK_STRUCTURE, FB_FAILED, FB_SUB_FORMAT_FAILURE,
                      "the file is not a bill document: %s", fb_last_error());
        return false;
    }
    c->bill = fb_document_bill(c->r->doc);
    if (fb_document_signature_count(c->r->doc) == 0) {
        fb_report_set(c->r, FB_CHECK_STRUCTURE, FB_FAILED, FB_SUB_FORMAT_FAILURE,
                      "the bill carries no signature (EInvoiceSignature is missing)");
        return false;
    }
    fb_report_set(c->r, FB_CHECK_STRUCTURE, FB_PASSED, FB_SUB_NONE,
                  "the document has the national structure: one signed fragment and %zu "
                  "signature node%s", fb_document_signature_count(c->r->doc),
                  fb_document_signature_count(c->r->doc) > 1 ? "s" : "");
    return true;
}

static fb_subindication sub_of_fault(fb_cms_fault f, fb_state *state)
{
    *state = FB_FAILED;
    switch (f) {
    case FB_CMS_HASH: return FB_SUB_HASH_FAILURE;
    case FB_CMS_SIGNATURE: return FB_SUB_SIG_CRYPTO_FAILURE;
    case FB_CMS_UNSUPPORTED: *state = FB_INDETERMINATE; return FB_SUB_UNSUPPORTED_ALGORITHM;
    default: return FB_SUB_FORMAT_FAILURE;
    }
}

/* The bytes signature i covers, as received. */
static int covered(const ctx *c, int i, fb_buf *out)
{
    size_t len, frag_off, frag_len, unit_off, unit_len;
    const uint8_t *data = fb_document_data(c->r->doc, &len);
    fb_document_fragment(c->r->doc, &frag_off, &frag_len);
    if (i == 0)
        return fb_buf_put(out, data + frag_off, frag_len);
    fb_document_signature(c->r->doc, 0, NULL, &unit_off, &unit_len);
    int rc = FB_OK;
    if (c->o->coverage != FB_COVER_UNIT_NODE)
        rc = fb_buf_put(out, data + frag_off, frag_len);
    if (!rc && c->o->coverage != FB_COVER_FRAGMENT)
        rc = fb_buf_put(out, data + unit_off, unit_len);
    return rc;
}

static void record_signer(ctx *c, int i)
{
    fb_report *r = c->r;
    X509 *cert = c->cms[i].cert;
    r->has_signer[i] = true;
    fb_alg_name_line(X509_get_subject_name(cert), r->subject[i], sizeof r->subject[i]);
    fb_node_serial(cert, r->serial[i], sizeof r->serial[i]);
    const char *node_time = fb_document_signature_value(r->doc, (size_t)i, "SignatureTime");
    if (c->cms[i].has_signing_time)
        fb_node_time(c->cms[i].signing_time, r->time[i]);
    else
        snprintf(r->time[i], sizeof r->time[i], "%.14s", node_time ? node_time : "");
}

static void check_signature(ctx *c, int i)
{
    if ((size_t)i >= fb_document_signature_count(c->r->doc)) {
        bool fails = c->o->missing_seal_fails;
        fb_report_set(c->r, sig_check[i], fails ? FB_FAILED : FB_INDETERMINATE,
                      FB_SUB_NO_SUPERVISOR_SEAL, "the bill has no supervisory seal from the "
                      "finance bureau (SupervisorPartySignature is missing)");
        return;
    }
    fb_buf bytes = FB_BUF_INIT;
    fb_cms_fault fault;
    int rc = covered(c, i, &bytes);
    if (!rc)
        rc = fb_node_check(c->r->doc, (size_t)i, bytes.ptr, bytes.size, c->o->sm2_id,
                           fb_trust_certcache(c->o->trust), &c->cms[i], &fault);
    fb_buf_dispose(&bytes);
    if (c->cms[i].cert) {
        c->signed_ok[i] = true;
        record_signer(c, i);
    }
    if (rc) {
        fb_state state;
        fb_subindication sub = sub_of_fault(fault, &state);
        fb_report_set(c->r, sig_check[i], state, sub, "%s does not hold: %s", who[i],
                      fb_last_error());
        return;
    }
    fb_report_set(c->r, sig_check[i], FB_PASSED, FB_SUB_NONE, "%s verifies (%s, signed by %s)",
                  who[i], fb_sig_alg_name(c->cms[i].alg), c->r->subject[i]);
}

static void chain_outcome(fb_chain_result res, fb_state *state, fb_subindication *sub)
{
    static const struct { fb_state s; fb_subindication sub; } map[] = {
        [FB_CHAIN_OK] = { FB_PASSED, FB_SUB_NONE },
        [FB_CHAIN_NO_PATH] = { FB_INDETERMINATE, FB_SUB_NO_CERTIFICATE_CHAIN_FOUND },
        [FB_CHAIN_EXPIRED] = { FB_FAILED, FB_SUB_EXPIRED },
        [FB_CHAIN_NOT_YET_VALID] = { FB_FAILED, FB_SUB_NOT_YET_VALID },
        [FB_CHAIN_REVOKED] = { FB_FAILED, FB_SUB_REVOKED },
        [FB_CHAIN_NO_REVOCATION] = { FB_INDETERMINATE, FB_SUB_NO_REVOCATION_DATA },
        [FB_CHAIN_KEY_USAGE] = { FB_FAILED, FB_SUB_NOT_AUTHORISED },
    };
    *state = map[res].s;
    *sub = map[res].sub;
}

static void check_certificate(ctx *c, int i)
{
    if (!c->signed_ok[i]) {
        if (i == 1 && fb_document_signature_count(c->r->doc) < 2)
            fb_report_set(c->r, cert_check[i], c->r->checks[FB_CHECK_SUPERVISOR_SEAL].state,
                          FB_SUB_NO_SUPERVISOR_SEAL, "not checked: the bill has no "
                          "supervisory seal");
        return;
    }
    const fb_cms *cms = &c->cms[i];
    int64_t when = cms->has_signing_time ? cms->signing_time : c->now;
    char why[600];
    fb_chain_result res = fb_chain_check(c->o->trust, cms->cert, cms->certs, when, why,
                                         sizeof why);
    const char *at = "when it signed";
    if (res == FB_CHAIN_OK && c->o->time_policy == FB_TIME_NOW) {
        res = fb_chain_check(c->o->trust, cms->cert, cms->certs, c->now, why, sizeof why);
        at = "when it signed and now";
    }
    fb_state state;
    fb_subindication sub;
    chain_outcome(res, &state, &sub);
    if (state != FB_PASSED) {
        fb_report_set(c->r, cert_check[i], state, sub, "the certificate of %s: %s", who[i], why);
    } else if (!fb_trust_has_crls(c->o->trust)) {
        fb_report_set(c->r, cert_check[i], c->o->require_revocation ? FB_INDETERMINATE : FB_PASSED,
                      c->o->require_revocation ? FB_SUB_NO_REVOCATION_DATA : FB_SUB_NONE,
                      "%s chains to a trust anchor %s; no revocation data was given, so it was "
                      "not checked for revocation", c->r->subject[i], at);
    } else {
        fb_report_set(c->r, cert_check[i], FB_PASSED, FB_SUB_NONE,
                      "%s chains to a trust anchor %s and is not revoked", c->r->subject[i], at);
    }
}

/* SealHash of each seal block names the certificate that signed for it. */
static bool seal_hash_matches(ctx *c, int i)
{
    static const fb_field field[2] = { FB_INVOICING_SEAL_HASH, FB_SUPERVISOR_SEAL_HASH };
    char hash[65];
    if (!c->signed_ok[i] || fb_node_seal_hash(c->cms[i].cert, hash))
        return true;
    const char *have = fb_bill_get(c->bill, field[i]);
    if (have && !strcmp(have, hash))
        return true;
    fb_report_set(c->r, FB_CHECK_BILL, FB_FAILED, FB_SUB_NOT_AUTHORISED,
                  "%s: names another certificate than the one that signed (%s, serial %s)",
                  fb_field_path(field[i]), c->r->subject[i], c->r->serial[i]);
    return false;
}

/* Signing times (UTC+8) are not before the bill's issue date and time. */
static bool times_in_order(ctx *c)
{
    const char *d = fb_bill_get(c->bill, FB_ISSUE_DATE), *t = fb_bill_get(c->bill, FB_ISSUE_TIME);
    char issued[15];
    if (!d || !t || strlen(t) != 8)
        return true;
    snprintf(issued, sizeof issued, "%.8s%.2s%.2s%.2s", d, t, t + 3, t + 6);
    for (int i = 0; i < 2; i++)
        if (c->r->has_signer[i] && strlen(c->r->time[i]) == 14 &&
            strcmp(c->r->time[i], issued) < 0) {
            fb_report_set(c->r, FB_CHECK_BILL, FB_FAILED, FB_SUB_BILL_INCONSISTENT,
                          "%s was made at %s, before the bill's issue time %s", who[i],
                          c->r->time[i], issued);
            return false;
        }
    return true;
}

static void check_bill(ctx *c)
{
    fb_problems *p = NULL;
    int rc = fb_bill_validate(c->bill, &p);
    if (rc == FB_EINVALID) {
        size_t n = fb_problems_count(p);
        fb_report_set(c->r, FB_CHECK_BILL, FB_FAILED, FB_SUB_BILL_INCONSISTENT,
                      "the bill breaks the format's rules: %s: %s%s", fb_problems_path(p, 0),
                      fb_problems_message(p, 0), n > 1 ? " (and more)" : "");
    } else if (rc == FB_OK && seal_hash_matches(c, 0) && seal_hash_matches(c, 1) &&
               times_in_order(c)) {
        fb_report_set(c->r, FB_CHECK_BILL, FB_PASSED, FB_SUB_NONE,
                      "the bill is consistent: items sum to the total, code, area and dates "
                      "agree, and the seals name the certificates that signed");
    }
    fb_problems_free(p);
}

int fb_verify(const void *doc, size_t len, const fb_verify_options *o, fb_report **out)
{
    if (!doc || !o || !o->trust || !out)
        return fb_fail(FB_EARG, "fb_verify: the document, options and trust anchors are needed");
    if ((unsigned)o->coverage > FB_COVER_UNIT_NODE || (unsigned)o->time_policy > FB_TIME_NOW)
        return fb_fail(FB_EARG, "fb_verify: unknown coverage or time policy");
    if (o->sm2_id && strlen(o->sm2_id) > FB_SM2_ID_MAX)
        return fb_fail(FB_EARG, "fb_verify: the SM2 user ID of %zu bytes is longer than %d",
                       strlen(o->sm2_id), FB_SM2_ID_MAX);
    *out = NULL;
    ctx c = { .o = o, .now = o->now ? o->now : (int64_t)time(NULL) };
    if (!(c.r = fb_report_new()))
        return fb_fail_oom();
    if (check_structure(&c, doc, len)) {
        for (int i = 0; i < 2; i++)
            check_signature(&c, i);
        for (int i = 0; i < 2; i++)
            check_certificate(&c, i);
        check_bill(&c);
    }
    if (c.r->has_signer[0] && c.r->has_signer[1])
        snprintf(c.r->summary, sizeof c.r->summary, "genuine: issued by %s at %s, sealed by %s "
                 "at %s; every check passed", c.r->subject[0], c.r->time[0], c.r->subject[1],
                 c.r->time[1]);
    fb_cms_clear(&c.cms[0]);
    fb_cms_clear(&c.cms[1]);
    *out = c.r;
    fb_clear_error();
    return FB_OK;
}
