/* Reports: names of states and sub-indications, and the verdict as the
 * worst of the checks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "common/internal.h"
#include "verify/report.h"

const char *fb_state_name(fb_state s)
{
    static const char *const names[] = { "PASSED", "INDETERMINATE", "FAILED" };
    return (unsigned)s < 3 ? names[s] : "UNKNOWN";
}

const char *fb_subindication_name(fb_subindication s)
{
    static const char *const names[] = {
        "", "FORMAT_FAILURE", "HASH_FAILURE", "SIG_CRYPTO_FAILURE", "REVOKED", "EXPIRED",
        "NOT_YET_VALID", "NOT_AUTHORISED", "BILL_INCONSISTENT", "NO_CERTIFICATE_CHAIN_FOUND",
        "NO_REVOCATION_DATA", "UNSUPPORTED_ALGORITHM", "NO_SUPERVISOR_SEAL",
    };
    return (unsigned)s < FB_ARRAY_LEN(names) ? names[s] : "UNKNOWN";
}

const char *fb_check_name(fb_check c)
{
    static const char *const names[] = { "structure",          "unit-signature",
                                         "supervisor-seal",    "unit-certificate",
                                         "supervisor-certificate", "bill" };
    return (unsigned)c < FB_CHECK_COUNT ? names[c] : "unknown";
}

fb_report *fb_report_new(void)
{
    fb_report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    for (int i = 0; i < FB_CHECK_COUNT; i++)
        fb_report_set(r, (fb_check)i, FB_INDETERMINATE, FB_SUB_NONE,
                      "not checked: an earlier check did not pass");
    return r;
}

void fb_report_set(fb_report *r, fb_check check, fb_state state, fb_subindication sub,
                   const char *fmt, ...)
{
    fb_check_result *c = &r->checks[check];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->sentence, sizeof c->sentence, fmt, ap);
    va_end(ap);
    c->state = state;
    c->sub = sub;
}

void fb_report_free(fb_report *r)
{
    if (!r)
        return;
    fb_document_free(r->doc);
    free(r);
}

/* The first check in order with the worst state decides. */
static const fb_check_result *deciding(const fb_report *r)
{
    const fb_check_result *worst = &r->checks[0];
    for (int i = 1; i < FB_CHECK_COUNT; i++)
        if (r->checks[i].state > worst->state)
            worst = &r->checks[i];
    return worst;
}

fb_state fb_report_state(const fb_report *r)
{
    return r ? deciding(r)->state : FB_FAILED;
}

fb_subindication fb_report_subindication(const fb_report *r)
{
    return r ? deciding(r)->sub : FB_SUB_NONE;
}

const char *fb_report_sentence(const fb_report *r)
{
    if (r && deciding(r)->state == FB_PASSED && r->summary[0])
        return r->summary;
    return r ? deciding(r)->sentence : "";
}

fb_state fb_report_check_state(const fb_report *r, fb_check c)
{
    return r && (unsigned)c < FB_CHECK_COUNT ? r->checks[c].state : FB_FAILED;
}

fb_subindication fb_report_check_subindication(const fb_report *r, fb_check c)
{
    return r && (unsigned)c < FB_CHECK_COUNT ? r->checks[c].sub : FB_SUB_NONE;
}

const char *fb_report_check_sentence(const fb_report *r, fb_check c)
{
    return r && (unsigned)c < FB_CHECK_COUNT ? r->checks[c].sentence : "";
}

const char *fb_report_signer_subject(const fb_report *r, int which)
{
    return r && (which == 0 || which == 1) && r->has_signer[which] ? r->subject[which] : NULL;
}

const char *fb_report_signer_serial(const fb_report *r, int which)
{
    return r && (which == 0 || which == 1) && r->has_signer[which] ? r->serial[which] : NULL;
}

const char *fb_report_signing_time(const fb_report *r, int which)
{
    return r && (which == 0 || which == 1) && r->has_signer[which] ? r->time[which] : NULL;
}

const fb_bill *fb_report_bill(const fb_report *r)
{
    return r && r->doc ? fb_document_bill(r->doc) : NULL;
}
