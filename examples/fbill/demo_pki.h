/* fbill demo and bench: making a throw-away PKI. The demo's world
 * (demo_setup.c) and bench's additions to it (bench_setup.c) make
 * certificates and SoftHSM tokens the same way, but each reports failures
 * in its own words: so nothing here prints, except pki_vfail. A function
 * returns 0, or -1 with the reason in errno or in a `why` buffer, for the
 * caller to print after its own prefix. */
#ifndef FBILL_DEMO_PKI_H
#define FBILL_DEMO_PKI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <openssl/x509.h>

#define PKI_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define PKI_PATH 1400 /* room for a folder (< 1024) and a name below it */
#define PKI_WHY 1600  /* room for a reason naming a path */

/* Print "fbill: PREFIX: message" to stderr, with OpenSSL's reason when it
 * left one, and clear OpenSSL's error queue. Returns -1. */
int pki_vfail(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Create path, which must not exist yet (O_EXCL: the world's folders are
 * fresh, so an existing file means something is wrong), with mode from the
 * start. -1 with errno. */
int pki_write_file(const char *path, mode_t mode, const void *data, size_t len);

/* A certificate as PEM, or as DER when der (for a token), mode 0644; a
 * private key as unencrypted PEM, mode 0600. -1 with why. */
int pki_save_cert(const char *path, X509 *cert, bool der, char *why, size_t why_size);
int pki_save_key(const char *path, EVP_PKEY *key, char *why, size_t why_size);

/* C=CN, then these; a NULL one is left out. */
typedef struct pki_name {
    const char *o, *ou, *cn;
} pki_name;

/* A certificate for pub, signed with signer as issuer; a self-signed root
 * (signer then pub's own key) when issuer is NULL. A root may only certify,
 * a leaf only sign documents. Valid from a day ago for days. Signed with
 * SHA-256, or for an SM2 signer with SM3 and the GM/T 0009 user ID (what
 * fiscalbill's trust checks with). NULL on failure, the reason in
 * OpenSSL's error queue. */
X509 *pki_make_cert(EVP_PKEY *pub, const pki_name *subject, int days, X509 *issuer,
                    EVP_PKEY *signer);

/* A DER SubjectPublicKeyInfo, as pkcs11-tool writes it; when type is not
 * NULL, only a key of that type (EVP_PKEY_is_a) and size is taken. */
EVP_PKEY *pki_read_pubkey(const char *path, const char *type, int bits);

/* Run argv (no shell) with stdin from /dev/null, stdout and stderr into
 * logfd, and wait for it; echo writes the command to logfd first ("+ ...",
 * the value after any -pin option masked). 0 when it exited with 0. Else
 * -1 with *status its wait status, or *status -1 when it could not be
 * started or waited for, errno and why then set. */
int pki_run(int logfd, bool echo, char *const argv[], int *status, char *why, size_t why_size);

/* A SoftHSM token made as an administrator would prepare a real UKey, so
 * that its key is born on it. The caller runs the command lines in turn,
 * each with its own words for a failure, and certifies pub into der
 * between readpub and put. */
typedef struct pki_token_cmds {
    char *init[10];    /* softhsm2-util --init-token */
    char *gen[16];     /* a key pair made on the token, CKA_ID 01 */
    char *readpub[13]; /* its public key into pub (DER) */
    char *put[17];     /* der stored beside the key, same CKA_ID */
} pki_token_cmds;

typedef struct pki_token {
    char pin_path[PKI_PATH], pub[PKI_PATH], der[PKI_PATH]; /* set by the caller */
    char label[64], key_type[32], pin[9], so_pin[17];
    pki_token_cmds cmd; /* points into this struct: it must not move */
} pki_token;

/* Fresh random PINs, the user PIN saved in t->pin_path (0600), and the
 * command lines for label; key_type is pkcs11-tool's --key-type
 * ("EC:prime256v1", "rsa:2048"). The PINs go on the command lines:
 * acceptable for a throw-away world. Call pki_token_end after, even on
 * failure. */
int pki_token_begin(pki_token *t, const char *label, const char *key_type, char *why,
                    size_t why_size);
void pki_token_end(pki_token *t); /* wipes the PINs */

/* The token's pkcs11: URI, with module-path= and pin-source=file:. */
void pki_token_uri(const pki_token *t, char *out, size_t size);

#endif
