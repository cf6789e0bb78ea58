/* Decoded certificates by their DER bytes. The bills of one issuer carry
 * the same certificates byte for byte, and on OpenSSL 3.0 decoding one
 * (d2i_X509) costs more than checking a P-256 signature; a verifier keeps
 * them decoded here. Shared by threads; bounded, so memory stays flat
 * however many bills pass through. */
#ifndef FB_CERTCACHE_H
#define FB_CERTCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/x509.h>

#define FB_CERT_CACHE_SIZE 512       /* entries */
#define FB_CERT_CACHE_DER_MAX 16384  /* larger certificates are decoded each time */

typedef struct fb_certcache fb_certcache;

/* Give a certificate whose signature is SM2 the distinguishing ID that
 * signature was made with (OpenSSL checks it with the certificate's own). */
int fb_cert_prepare_sm2(X509 *cert, const char *id);

/* sm2_id: the distinguishing ID given to certificates whose own signature
 * is SM2, once, before any thread sees them (NULL: none). */
fb_certcache *fb_certcache_new(const char *sm2_id);
void fb_certcache_free(fb_certcache *cache);

/* Drop every entry and take a new SM2 ID (not while other threads use it). */
int fb_certcache_reset(fb_certcache *cache, const char *sm2_id);

/* The certificate der encodes, with a reference for the caller, or NULL if
 * it does not decode to exactly len bytes. cache may be NULL. A certificate
 * from the cache is shared: the caller must not modify it. */
X509 *fb_certcache_get(fb_certcache *cache, const uint8_t *der, size_t len);

#endif
