/* fbill demo: the throw-away world the demo runs in. A test CA, and
 * SoftHSMv2 tokens for two issuing ports (cashier windows) and the finance
 * bureau, each holding an EC P-256 key made on the token and a certificate
 * from the test CA. For demonstration only: the CA key and the PINs lie in
 * plain files. */
#ifndef FBILL_DEMO_SETUP_H
#define FBILL_DEMO_SETUP_H

#include <stdio.h>

typedef struct demo_env {
    char dir[1024];            /* the demo folder (given; made absolute by demo_setup) */
    char softhsm_conf[1200];   /* DIR/softhsm2.conf; SOFTHSM2_CONF is set to it */
    char port_uri[2][1600];    /* pkcs11: URIs of the two issuing ports, with module-path=
                                  and pin-source=file:DIR/pins/<token>.pin */
    char bureau_uri[1600];     /* the bureau's token, same style */
    char trust_pem[1200];      /* DIR/pki/finance-root.pem: the trust anchor */
    char bureau_seal_hash[65]; /* lower-case hex SHA-256 of the bureau certificate's DER */
    char port_subject[2][256], bureau_subject[256]; /* one line, as fb_port_subject */
} demo_env;

/* Make everything under env->dir (which exists and is empty): softhsm2.conf,
 * tokens/, pki/ (root and leaf certificates, the root key), pins/ and
 * setup.log (the output of softhsm2-util and pkcs11-tool, PINs masked).
 * Sets SOFTHSM2_CONF, so call it before any PKCS#11 use in this process.
 * Prints one short line per step to log (NULL: quiet). Returns 0, or -1
 * after printing the reason to stderr; what was made is then left in place
 * for inspection. */
int demo_setup(demo_env *env, FILE *log);

/* The chain on that world: the sample bills issued at the two windows,
 * sealed, verified, and a tampered copy caught; documents under
 * out_dir/issued and out_dir/sealed. 0 when every genuine bill passed and
 * the forgery was caught. */
struct fb_kinds;
int demo_chain(const demo_env *env, const struct fb_kinds *kinds, const char *out_dir);

#endif
