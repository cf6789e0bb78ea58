/* Certificate paths: from a signer's certificate to a trust anchor. */
#ifndef FB_CHAIN_H
#define FB_CHAIN_H

#include <stdint.h>
#include <openssl/x509.h>
#include "cms/certcache.h"
#include "fiscalbill/trust.h"

typedef enum fb_chain_result {
    FB_CHAIN_OK,
    FB_CHAIN_NO_PATH,        /* no path to a trust anchor (or a bad signature on one) */
    FB_CHAIN_EXPIRED,
    FB_CHAIN_NOT_YET_VALID,
    FB_CHAIN_REVOKED,
    FB_CHAIN_NO_REVOCATION,  /* CRLs were given, but none covers a certificate */
    FB_CHAIN_KEY_USAGE       /* the key may not sign documents */
} fb_chain_result;

/* Check leaf's path at time `at` (seconds since 1970 UTC). extra holds
 * certificates that came with the signature (may be NULL). why receives a
 * sentence naming the certificate concerned. */
fb_chain_result fb_chain_check(const fb_trust *trust, X509 *leaf, STACK_OF(X509) *extra,
                               int64_t at, char *why, size_t why_size);

/* The trust's cache of decoded certificates carried by signatures. */
fb_certcache *fb_trust_certcache(const fb_trust *trust);

/* Drop cached paths (the trust anchors or intermediates changed). */
void fb_chain_forget(fb_trust *trust);

/* Whether revocation lists were configured. */
int fb_trust_has_crls(const fb_trust *trust);

#endif
