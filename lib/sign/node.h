/* Signature nodes of a bill document and the seal hash of a certificate. */
#ifndef FB_NODE_H
#define FB_NODE_H

#include <stdint.h>
#include <openssl/x509.h>
#include "fiscalbill/document.h"
#include "fiscalbill/port.h"
#include "cms/cms.h"

#define FB_UNIT_NODE "InvoicingPartySignature"
#define FB_SUPERVISOR_NODE "SupervisorPartySignature"

/* <NAME><SignatureFormat>DETACH</SignatureFormat><SignatureAlgorithm>…
 * </SignatureAlgorithm><SignatureTime>yyyyMMddHHmmss</SignatureTime>
 * <SerialNumber>HEX</SerialNumber><SignatureValue>Base64</SignatureValue>
 * </NAME>, appended to out. */
int fb_node_write(fb_buf *out, const char *name, fb_sig_alg alg, int64_t when, X509 *cert,
                  const uint8_t *cms, size_t cms_len);

/* The seal hash of a certificate: lower-case hex SM3 of its DER for SM2
 * keys, SHA-256 otherwise. out: 65 bytes. */
int fb_node_seal_hash(X509 *cert, char out[65]);

/* The certificate's serial as SerialNumber writes it (upper-case hex). */
void fb_node_serial(X509 *cert, char *out, size_t size);

/* "yyyyMMddHHmmss" in China Standard Time (UTC+8, no daylight saving). */
void fb_node_time(int64_t when, char out[15]);

/* Check signature node i of doc over `covered`: its fields, its CMS (into
 * *cms, which the caller clears), and that they agree. *fault says what
 * failed. certs (may be NULL) holds certificates decoded before. */
int fb_node_check(const fb_document *doc, size_t i, const void *covered, size_t len,
                  const char *sm2_id, fb_certcache *certs, fb_cms *cms, fb_cms_fault *fault);

#endif
