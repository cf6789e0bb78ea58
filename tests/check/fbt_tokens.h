/* SoftHSMv2 token fixture for the PKCS#11 port tests.
 *
 * The fixture (tests/p11/fixture.sh) is built once per process, in a fresh
 * directory under $TMPDIR (or /tmp), and holds:
 *   tokens port-1, port-2, bureau (EC P-256), port-rsa (RSA-2048), nocert (key,
 *   no certificate object), twokeys (ids 01 "key-a" and 02 "key-b"), port-sm2
 *   (SM2 key stored as CKK_EC on the SM2 curve), dup-a and dup-b (both
 *   labelled "dup"); user PIN "1234", SO PIN "5678"; key id 01, key label
 *   "unit-key", certificate label "unit-cert" unless noted;
 *   ca/root-ec.pem, ca/root-sm2.pem (+ .key), certs/<token>.pem,
 *   certs/twokeys-{a,b}.pem, certs/soft-{ec,rsa,sm2}.pem and the software keys
 *   keys/soft-{ec,rsa,sm2}.pem (PEM PKCS#8, unencrypted);
 *   tokens.env with TOKEN_<name>_LABEL / TOKEN_<name>_SERIAL ('-' written as
 *   '_'), SOFTHSM2_CONF, P11_MODULE, PIN, SO_PIN, CA_EC, CA_SM2, ...
 * SM2 certificates are signed with the distinguishing ID "1234567812345678".
 *
 * Call fbt_tokens_get() from an unchecked fixture (before Check forks): the
 * children inherit the fixture, and only the creating process removes the
 * directory at exit. Set FBT_KEEP_TOKENS=1 to keep it for debugging. */
#ifndef FBT_TOKENS_H
#define FBT_TOKENS_H

typedef struct fbt_tokens {
    char dir[512];    /* the fixture directory */
    char conf[600];   /* dir/softhsm2.conf, also exported as SOFTHSM2_CONF */
    char module[256]; /* the SoftHSM module (P11_MODULE in tokens.env) */
    const char *pin;  /* "1234" */
} fbt_tokens;

/* Create the fixture once per process in a fresh temp dir (mkdtemp under
 * $TMPDIR or /tmp) by running FBT_SOURCE_DIR/tests/p11/fixture.sh (or
 * $FBT_P11_FIXTURE), setenv SOFTHSM2_CONF, remove the directory at exit
 * (atexit, only in the process that created it). Aborts the test program
 * loudly (not skip) if the fixture fails. */
const fbt_tokens *fbt_tokens_get(void);

/* Value of a key in tokens.env, e.g. fbt_token_var("TOKEN_port_1_SERIAL"),
 * or NULL when tokens.env has no such key. The string lives until exit.
 * Builds the fixture first if needed. */
const char *fbt_token_var(const char *name);

/* Path of DIR/rel in a thread-local buffer; the last 8 results of a thread
 * stay valid. Builds the fixture first if needed. */
const char *fbt_token_path(const char *rel);

#endif
