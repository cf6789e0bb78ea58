/* Reading and checking detached SignedData from any issuer. */
#ifndef FB_CMS_H
#define FB_CMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>
#include "cms/certcache.h"
#include "fiscalbill/port.h"

/* Why a check failed, for verification reports. */
typedef enum fb_cms_fault {
    FB_CMS_OK,
    FB_CMS_FORMAT,      /* not a SignedData of the accepted shape */
    FB_CMS_UNSUPPORTED, /* an algorithm fiscalbill does not verify */
    FB_CMS_HASH,        /* messageDigest does not match the content */
    FB_CMS_SIGNATURE,   /* the signature does not verify */
    FB_CMS_CERT_BINDING /* signingCertificateV2 names another certificate */
} fb_cms_fault;

typedef struct fb_cms {
    bool gmt_oids;            /* GM/T 0010 content types */
    fb_sig_alg alg;
    const uint8_t *attrs;     /* content of the signed attributes, or NULL */
    size_t attrs_len;
    const uint8_t *sig;
    size_t sig_len;
    const uint8_t *message_digest;
    size_t message_digest_len;
    const uint8_t *ess_hash;  /* signingCertificateV2's first certHash, or NULL */
    size_t ess_hash_len;
    bool ess_sm3;             /* its hash is SM3 (else SHA-256) */
    bool has_signing_time;
    int64_t signing_time;     /* seconds since 1970 UTC */
    X509 *cert;               /* the signer's certificate (owned) */
    STACK_OF(X509) *certs;    /* every certificate carried (owned) */
} fb_cms;

/* Parse DER. Pointers point into der, which must outlive the result.
 * FB_EFORMAT or FB_EUNSUPPORTED with the reason; *fault says which. */
int fb_cms_parse(const uint8_t *der, size_t len, fb_cms *out, fb_cms_fault *fault);

/* The same, taking the carried certificates from a cache of decoded ones
 * (may be NULL). Certificates from the cache are shared: read only. */
int fb_cms_parse_cached(const uint8_t *der, size_t len, fb_certcache *certs, fb_cms *out,
                        fb_cms_fault *fault);
void fb_cms_clear(fb_cms *cms);

/* Check the signature over content with the certificate's key: the content
 * type, messageDigest, the signature (SM2 with sm2_id), and
 * signingCertificateV2 when present. */
int fb_cms_check(const fb_cms *cms, const void *content, size_t len, const char *sm2_id,
                 fb_cms_fault *fault);

#endif
