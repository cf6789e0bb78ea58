/* Host-side cryptography of a port: what the host hashes for each
 * algorithm, how it checks a token's signature, and the two encodings of
 * ECDSA/SM2 signatures. The token only ever sees a digest (or, for the
 * vendor SM2-with-SM3 mechanisms, the message). */
#ifndef FB_ALG_H
#define FB_ALG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "fiscalbill/port.h"

#define FB_DIGEST_MAX 32

/* The digest the signature is made over: SHA-256(msg), or for SM2
 * e = SM3(Z || msg) with Z from the public key and the user ID. */
int fb_alg_digest(fb_sig_alg alg, EVP_PKEY *pub, const char *sm2_id, const void *msg,
                  size_t len, uint8_t out[FB_DIGEST_MAX]);

/* Verify sig (DER for EC/SM2) over the digest with the public key. Returns
 * FB_OK or FB_ECRYPTO. */
int fb_alg_verify_digest(fb_sig_alg alg, EVP_PKEY *pub, const uint8_t *dgst,
                         const uint8_t *sig, size_t sig_len);

/* Sign the digest with a private key held in memory (file: ports). out has
 * *out_len bytes of room. */
int fb_alg_sign_digest(fb_sig_alg alg, EVP_PKEY *priv, const uint8_t *dgst, uint8_t *out,
                       size_t *out_len);

/* Normalise an ECDSA or SM2 signature from a token, raw r||s (2 * field
 * bytes) or DER, to DER. out holds FB_EC_DER_MAX bytes. */
#define FB_EC_DER_MAX 72
int fb_alg_ec_to_der(const uint8_t *in, size_t in_len, size_t field_len,
                     uint8_t out[FB_EC_DER_MAX], size_t *out_len);

/* Is this public key SM2 (an EC key on the SM2 curve, whatever its type)? */
bool fb_alg_key_is_sm2(EVP_PKEY *pub);

/* The largest RSA key a port signs with. A bill's SignatureValue holds at
 * most 4096 Base64 characters (specs/bill-format.md); the CMS of a larger
 * key's signature, with its certificate, would not fit. */
#define FB_RSA_BITS_MAX 4096

/* The algorithm a public key can sign with: SM2, ECDSA P-256 or RSA of
 * 2048 to FB_RSA_BITS_MAX bits (PKCS#1 v1.5 unless pss). FB_EUNSUPPORTED
 * for anything else. */
int fb_alg_for_key(EVP_PKEY *pub, bool pss, fb_sig_alg *alg);

/* The most bytes a signature by this key takes, DER. */
size_t fb_alg_signature_max(fb_sig_alg alg, EVP_PKEY *pub);

/* A certificate name on one line for people: "CN=Port 1 Operator, O=...",
 * UTF-8 kept as it is. */
void fb_alg_name_line(X509_NAME *name, char *out, size_t size);

/* PKCS#1 DigestInfo for SHA-256 followed by the digest (51 bytes). */
#define FB_DIGEST_INFO_LEN 51
void fb_alg_digest_info(const uint8_t dgst[32], uint8_t out[FB_DIGEST_INFO_LEN]);

#endif
