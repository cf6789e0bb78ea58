/* fiscalbill: signatures. Each signature on a bill is a detached CMS
 * SignedData (RFC 5652) over exact bytes, carrying the signer's certificate
 * and the signed attributes contentType, messageDigest, signingTime and
 * signingCertificateV2 (RFC 5035). fiscalbill assembles it itself, so the
 * key may sit in a token that only signs digests, and SM2 works (stock
 * OpenSSL 3.0 CMS cannot produce SM2 SignedData). specs/signature-format.md
 * has the exact encoding. */
#ifndef FISCALBILL_SIGN_H
#define FISCALBILL_SIGN_H

#include "common.h"
#include "port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which object identifiers an SM2 SignedData uses for its content types and
 * signature algorithm. ECDSA and RSA always use PKCS#7's. */
typedef enum fb_cms_oids {
    FB_CMS_OIDS_PKCS7,  /* 1.2.840.113549.1.7.*; SM2 as 1.2.156.10197.1.501 */
    FB_CMS_OIDS_GMT0010 /* 1.2.156.10197.6.1.4.2.*; SM2 as 1.2.156.10197.1.301.1 */
} fb_cms_oids;

typedef struct fb_sign_options {
    fb_cms_oids oids;
    int64_t signing_time; /* seconds since 1970-01-01 UTC; 0 for now */
} fb_sign_options;

#define FB_SIGN_OPTIONS_INIT { FB_CMS_OIDS_PKCS7, 0 }

/* Sign data at the port: a DER detached SignedData, appended to out. */
FB_EXTERN int fb_cms_sign(fb_port *port, const void *data, size_t len,
                          const fb_sign_options *options, fb_buf *out);

#ifdef __cplusplus
}
#endif

#endif
