/* fiscalbill: issuing ports. A port is the key that signs at one issuing
 * point (开票端口: a cashier window, a fee counter, the finance bureau's
 * signing server): a key in a PKCS#11 token (a UKey, an HSM) or, for servers,
 * tests and the demo, a key file.
 *
 * A port is named by a URI:
 *   pkcs11:token=Window%201;serial=A1B2;id=%01;type=private?module-path=/usr/lib/x.so&pin-source=file:/etc/pin
 *   file:/path/to/key.pem
 * (RFC 7512 for pkcs11:, see specs/ports.md for every attribute). A URI that
 * matches more than one token or key is refused with the matches listed.
 *
 * A port keeps its token session open and logged in between signatures and
 * serialises its own token calls; different ports sign in parallel from
 * different threads. A port recovers once from a lost session or a reset
 * token, and never retries a wrong PIN. Every signature is verified on the
 * host with the certificate's public key before it is returned. Every token
 * call has a deadline (fb_port_options.call_timeout_ms): a token that stops
 * answering makes the call fail with FB_ETIMEOUT instead of hanging. */
#ifndef FISCALBILL_PORT_H
#define FISCALBILL_PORT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fb_port fb_port;

/* Signature algorithms. */
typedef enum fb_sig_alg {
    FB_SIG_SM2_SM3,       /* SM2 with SM3 (GB/T 32918), the national algorithm */
    FB_SIG_ECDSA_SHA256,  /* ECDSA P-256 with SHA-256 */
    FB_SIG_RSA_SHA256,    /* RSA PKCS#1 v1.5 with SHA-256 */
    FB_SIG_RSA_PSS_SHA256 /* RSA-PSS with SHA-256, MGF1-SHA-256, salt 32 */
} fb_sig_alg;

/* "SM3withSM2", "SHA256withECDSA", "SHA256withRSA", "SHA256withRSA/PSS". */
FB_EXTERN const char *fb_sig_alg_name(fb_sig_alg alg);

/* The default SM2 user ID of GM/T 0009. */
#define FB_SM2_DEFAULT_ID "1234567812345678"

/* The longest SM2 user ID, in bytes: its length in bits must fit 16 bits,
 * and OpenSSL 3.0 takes at most 8190 bytes. */
#define FB_SM2_ID_MAX 8190

/* Asked for a PIN when the URI gives none. Write at most size-1 bytes and a
 * NUL into pin; return 0, or non-zero to refuse. */
typedef int (*fb_pin_callback)(const char *port_name, char *pin, size_t size, void *data);

typedef struct fb_port_options {
    /* The certificate (PEM or DER) when the token holds none, or for file:
     * keys. NULL: the token's certificate object with the key's CKA_ID. */
    const char *cert_path;
    /* SM2 user ID; NULL for FB_SM2_DEFAULT_ID. */
    const char *sm2_id;
    /* The mechanism profile, or NULL to choose by probing the token:
     * "ecdsa", "rsa-pkcs", "rsa-pss", "sm2-tass", "sm2-sansec", "sm2-ibm",
     * "sm2-luna", "sm2-custom" (specs/ports.md). */
    const char *profile;
    /* For "sm2-custom": the vendor numbers. 0 means "not offered". */
    unsigned long sm2_key_type;   /* CKK_ of SM2 keys */
    unsigned long sm2_raw_mech;   /* signs e = SM3(Z||M) given by the host */
    unsigned long sm2_sm3_mech;   /* hashes on the token, user ID as parameter */
    /* Use RSA-PSS rather than PKCS#1 v1.5 for RSA keys when probing. */
    int rsa_pss;
    /* Asked when the URI has no pin-value or pin-source and the token has no
     * PIN pad. NULL: such a port opens without logging in. */
    fb_pin_callback pin_callback;
    void *pin_callback_data;
    /* The deadline of each token call of a pkcs11: port, in milliseconds;
     * 0 for the default of 30000. A call that passes it makes fb_port_sign
     * (or fb_port_open) return FB_ETIMEOUT (specs/ports.md, "Deadlines").
     * file: ports ignore it. */
    unsigned long call_timeout_ms;
} fb_port_options;

#define FB_PORT_OPTIONS_INIT { NULL, NULL, NULL, 0, 0, 0, 0, NULL, NULL, 0 }

/* Open the port a URI names: load its module (shared with other ports on
 * the same module), find exactly one token and one key, take the
 * certificate, choose the mechanism profile and log in. options may be NULL.
 * The PIN is wiped from every buffer fiscalbill used for it, and never
 * logged; the port keeps it in locked memory until closed only to log in
 * again after a token reset. */
FB_EXTERN int fb_port_open(fb_port **out, const char *uri, const fb_port_options *options);
/* Close the port. With a token call still stuck past its deadline, waits
 * one more deadline at most, then returns and leaves the port's token state
 * (session, PIN, module reference) to be released when the call returns. */
FB_EXTERN void fb_port_close(fb_port *port);

/* Sign a message: the host hashes it (SHA-256, or SM3 over Z||M for SM2),
 * the token signs, the host verifies. The signature is DER: ECDSA and SM2
 * as SEQUENCE { r, s }, RSA as the signature block. sig has *sig_len bytes
 * of room on entry and holds *sig_len on return. FB_EARG when it is too
 * small (*sig_len then says how much is needed). Safe to call from several
 * threads; calls on one port are serialised. FB_ETIMEOUT when a token call
 * passed its deadline, and at once while that call is still stuck; the
 * port recovers its session once the call returns. */
FB_EXTERN int fb_port_sign(fb_port *port, const void *msg, size_t msg_len, uint8_t *sig,
                           size_t *sig_len);

/* The most bytes fb_port_sign may write for this port. */
FB_EXTERN size_t fb_port_signature_max(const fb_port *port);

FB_EXTERN fb_sig_alg fb_port_algorithm(const fb_port *port);

/* The signer's certificate, DER; owned by the port. */
FB_EXTERN const uint8_t *fb_port_certificate(const fb_port *port, size_t *len);

/* The SM2 user ID the port signs with (SM2 ports only; else NULL). */
FB_EXTERN const char *fb_port_sm2_id(const fb_port *port);

/* A short description for people and logs, never holding the PIN:
 * "token \"Window 1\" (serial A1B2), key 01, profile ecdsa". */
FB_EXTERN const char *fb_port_describe(const fb_port *port);

/* The profile in use: "ecdsa", "rsa-pkcs", "sm2-tass", "software", ... */
FB_EXTERN const char *fb_port_profile(const fb_port *port);

/* The certificate's subject, one line ("CN=Port 1 Operator, O=..."). */
FB_EXTERN const char *fb_port_subject(const fb_port *port);

/* A report for people of what a PKCS#11 module offers: its slots, tokens
 * (label, serial, PIN state), public objects (keys and certificates with
 * CKA_ID, label, subject, algorithm) and the signing mechanisms found,
 * SM2 vendor ones included. module_path NULL: every module registered with
 * p11-kit. No login is made, so private keys a token hides are not listed.
 * Appended to out. */
FB_EXTERN int fb_port_inventory(const char *module_path, fb_buf *out);

#ifdef __cplusplus
}
#endif

#endif
