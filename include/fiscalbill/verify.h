/* fiscalbill: verification of a bill's whole chain, for reimbursement
 * software that takes bills from everywhere. Each check, and the bill as a
 * whole, ends in one of three states, as in the ETSI validation model (EN
 * 319 102-1): PASSED; FAILED with a sub-indication; INDETERMINATE with a
 * sub-indication. Every state comes with a sentence a clerk can act on,
 * naming the element, certificate or field concerned. specs/verification.md
 * lists every check. */
#ifndef FISCALBILL_VERIFY_H
#define FISCALBILL_VERIFY_H

#include "bill.h"
#include "document.h"
#include "seal.h"
#include "trust.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum fb_state {
    FB_PASSED,
    FB_INDETERMINATE,
    FB_FAILED
} fb_state;

typedef enum fb_subindication {
    FB_SUB_NONE,
    /* FAILED */
    FB_SUB_FORMAT_FAILURE,
    FB_SUB_HASH_FAILURE,
    FB_SUB_SIG_CRYPTO_FAILURE,
    FB_SUB_REVOKED,
    FB_SUB_EXPIRED,
    FB_SUB_NOT_YET_VALID,
    FB_SUB_NOT_AUTHORISED,
    FB_SUB_BILL_INCONSISTENT,
    /* INDETERMINATE */
    FB_SUB_NO_CERTIFICATE_CHAIN_FOUND,
    FB_SUB_NO_REVOCATION_DATA,
    FB_SUB_UNSUPPORTED_ALGORITHM,
    FB_SUB_NO_SUPERVISOR_SEAL
} fb_subindication;

typedef enum fb_check {
    FB_CHECK_STRUCTURE,
    FB_CHECK_UNIT_SIGNATURE,
    FB_CHECK_SUPERVISOR_SEAL,
    FB_CHECK_UNIT_CERTIFICATE,
    FB_CHECK_SUPERVISOR_CERTIFICATE,
    FB_CHECK_BILL,
    FB_CHECK_COUNT
} fb_check;

FB_EXTERN const char *fb_state_name(fb_state state);             /* "PASSED" ... */
FB_EXTERN const char *fb_subindication_name(fb_subindication s); /* "HASH_FAILURE" ... */
FB_EXTERN const char *fb_check_name(fb_check check);             /* "unit-signature" ... */

/* What decides a certificate's validity. */
typedef enum fb_time_policy {
    FB_TIME_SIGNING, /* valid when it signed (the signing time decides) */
    FB_TIME_NOW      /* valid at the time of verification as well */
} fb_time_policy;

typedef struct fb_verify_options {
    const fb_trust *trust;      /* required */
    fb_seal_coverage coverage;  /* what the supervisory seal covers */
    const char *sm2_id;         /* NULL for FB_SM2_DEFAULT_ID */
    fb_time_policy time_policy;
    int missing_seal_fails;     /* a bill without the seal: FAILED, not INDETERMINATE */
    int require_revocation;     /* no CRL covering a certificate: INDETERMINATE */
    int64_t now;                /* 0 for the current time */
    fb_read_limits limits;
} fb_verify_options;

#define FB_VERIFY_OPTIONS_INIT                                                       \
    { NULL, FB_COVER_FRAGMENT_AND_UNIT, NULL, FB_TIME_SIGNING, 0, 0, 0, FB_READ_LIMITS_INIT }

typedef struct fb_report fb_report;

/* Verify a bill document. *out always receives a report when the call
 * returns FB_OK, whatever the verdict; a negative status means the
 * verification itself could not run (bad arguments, out of memory). Safe to
 * call from many threads with the same options and trust. */
FB_EXTERN int fb_verify(const void *doc, size_t len, const fb_verify_options *options,
                        fb_report **out);
FB_EXTERN void fb_report_free(fb_report *report);

/* The overall verdict: the worst of the checks (FAILED over INDETERMINATE
 * over PASSED), with the sub-indication and sentence of the first check
 * that decided it. */
FB_EXTERN fb_state fb_report_state(const fb_report *r);
FB_EXTERN fb_subindication fb_report_subindication(const fb_report *r);
FB_EXTERN const char *fb_report_sentence(const fb_report *r);

FB_EXTERN fb_state fb_report_check_state(const fb_report *r, fb_check check);
FB_EXTERN fb_subindication fb_report_check_subindication(const fb_report *r, fb_check check);
FB_EXTERN const char *fb_report_check_sentence(const fb_report *r, fb_check check);

/* The signers: 0 the unit, 1 the supervisor. NULL when absent. Subject one
 * line, serial upper-case hex, signing time yyyyMMddHHmmss (UTC+8). */
FB_EXTERN const char *fb_report_signer_subject(const fb_report *r, int which);
FB_EXTERN const char *fb_report_signer_serial(const fb_report *r, int which);
FB_EXTERN const char *fb_report_signing_time(const fb_report *r, int which);

/* The bill as read (NULL when the document could not be read). */
FB_EXTERN const fb_bill *fb_report_bill(const fb_report *r);

#ifdef __cplusplus
}
#endif

#endif
