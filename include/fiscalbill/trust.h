/* fiscalbill: trust anchors, intermediates and revocation lists against
 * which signers' certificates are checked. A trust object is filled once and
 * then used read-only, from any number of threads at once. */
#ifndef FISCALBILL_TRUST_H
#define FISCALBILL_TRUST_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fb_trust fb_trust;

FB_EXTERN int fb_trust_new(fb_trust **out);
FB_EXTERN void fb_trust_free(fb_trust *trust);

/* Trust anchors (the finance CA roots): a PEM file holding one or more
 * certificates, or a directory whose *.pem and *.crt files are read. */
FB_EXTERN int fb_trust_add_anchors(fb_trust *trust, const char *path);

/* Intermediate CA certificates (PEM file or directory), used to build
 * paths but never trusted by themselves. */
FB_EXTERN int fb_trust_add_intermediates(fb_trust *trust, const char *path);

/* A certificate revocation list (PEM or DER). With at least one CRL, every
 * certificate in a path must be covered by a CRL of its issuer. */
FB_EXTERN int fb_trust_add_crl(fb_trust *trust, const char *path);

/* The SM2 user ID used to check SM2 certificate signatures (the default
 * FB_SM2_DEFAULT_ID; OpenSSL 3.0's own default is empty). It applies to the
 * certificates loaded before and after; paths and certificates remembered
 * under the old ID are forgotten. Not while other threads verify. */
FB_EXTERN int fb_trust_set_sm2_id(fb_trust *trust, const char *id);

FB_EXTERN size_t fb_trust_anchor_count(const fb_trust *trust);

#ifdef __cplusplus
}
#endif

#endif
