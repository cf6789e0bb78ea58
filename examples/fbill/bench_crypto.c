/* fbill bench: OpenSSL's own speed, the baseline for software keys and for
 * verification. */
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "cli.h"
#include "bench.h"

#define SM2_ID "1234567812345678"

struct bench_evp {
    bench_evp_mode mode;
    int sm2;
    EVP_PKEY *key;
    EVP_PKEY_CTX *sign, *verify; /* EVP_RAW_SIGN_VERIFY: made once */
    uint8_t msg[32];             /* the message, or for raw mode the digest */
    uint8_t sig[1024];           /* EVP_VERIFY: the signature made once */
    size_t sig_len;
};

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "rb");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return k;
}

/* A digest-sign or -verify context. SM2's user ID goes on a key context
 * handed to the digest context before its init, the way OpenSSL 3.0
 * documents it; pctx is then the caller's to free. */
static EVP_MD_CTX *digest_ctx(const bench_evp *e, int sign, EVP_PKEY_CTX **pctx)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    const EVP_MD *h = e->sm2 ? EVP_sm3() : EVP_sha256();
    int ok = md != NULL;
    *pctx = NULL;
    if (ok && e->sm2) {
        *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, e->key, NULL);
        ok = *pctx && EVP_PKEY_CTX_set1_id(*pctx, SM2_ID, strlen(SM2_ID)) > 0;
        if (ok)
            EVP_MD_CTX_set_pkey_ctx(md, *pctx);
    }
    ok = ok && (sign ? EVP_DigestSignInit(md, NULL, h, NULL, e->key)
                     : EVP_DigestVerifyInit(md, NULL, h, NULL, e->key)) == 1;
    if (!ok) {
        EVP_MD_CTX_free(md);
        EVP_PKEY_CTX_free(*pctx);
        *pctx = NULL;
    }
    return ok ? md : NULL;
}

static int digest_sign(bench_evp *e, uint8_t *sig, size_t *len)
{
    EVP_PKEY_CTX *pctx;
    EVP_MD_CTX *md = digest_ctx(e, 1, &pctx);
    int ok = md && EVP_DigestSign(md, sig, len, e->msg, sizeof e->msg) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);
    return ok ? 0 : -1;
}

static int digest_verify(bench_evp *e, const uint8_t *sig, size_t len)
{
    EVP_PKEY_CTX *pctx;
    EVP_MD_CTX *md = digest_ctx(e, 0, &pctx);
    int ok = md && EVP_DigestVerify(md, sig, len, e->msg, sizeof e->msg) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);
    return ok ? 0 : -1;
}

/* Raw mode signs a SHA-256 digest with contexts set up once, as a key
 * file port signs after hashing. */
static int prepare_raw(bench_evp *e)
{
    e->sign = EVP_PKEY_CTX_new_from_pkey(NULL, e->key, NULL);
    e->verify = EVP_PKEY_CTX_new_from_pkey(NULL, e->key, NULL);
    return e->sign && e->verify && EVP_PKEY_sign_init(e->sign) > 0 &&
                   EVP_PKEY_CTX_set_signature_md(e->sign, EVP_sha256()) > 0 &&
                   EVP_PKEY_verify_init(e->verify) > 0 &&
                   EVP_PKEY_CTX_set_signature_md(e->verify, EVP_sha256()) > 0
               ? 0 : -1;
}

int bench_evp_new(bench_evp **out, int alg, const char *key_path, bench_evp_mode mode)
{
    bench_evp *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->mode = mode;
    e->sm2 = alg == ALG_SM2;
    e->key = key_path              ? read_key(key_path)
             : alg == ALG_RSA      ? EVP_RSA_gen(2048)
             : alg == ALG_SM2      ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                                   : EVP_EC_gen("P-256");
    EVP_Digest("fbill bench", 11, e->msg, NULL, EVP_sha256(), NULL);
    e->sig_len = sizeof e->sig;
    int rc = !e->key                  ? -1
             : mode == EVP_VERIFY     ? digest_sign(e, e->sig, &e->sig_len)
             : mode == EVP_RAW_SIGN_VERIFY ? prepare_raw(e)
                                      : 0;
    if (rc) {
        cli_error("bench: cannot prepare the OpenSSL baseline%s%s", key_path ? " for " : "",
                  key_path ? key_path : "");
        bench_evp_free(e);
        return -1;
    }
    *out = e;
    return 0;
}

void bench_evp_free(bench_evp *e)
{
    if (!e)
        return;
    EVP_PKEY_CTX_free(e->sign);
    EVP_PKEY_CTX_free(e->verify);
    EVP_PKEY_free(e->key);
    free(e);
}

int bench_evp_op(void *arg)
{
    bench_evp *e = arg;
    uint8_t sig[1024];
    size_t len = sizeof sig;
    switch (e->mode) {
    case EVP_VERIFY:
        return digest_verify(e, e->sig, e->sig_len);
    case EVP_SIGN_VERIFY:
        return digest_sign(e, sig, &len) || digest_verify(e, sig, len) ? -1 : 0;
    case EVP_RAW_SIGN_VERIFY:
        return EVP_PKEY_sign(e->sign, sig, &len, e->msg, sizeof e->msg) == 1 &&
                       EVP_PKEY_verify(e->verify, sig, len, e->msg, sizeof e->msg) == 1
                   ? 0 : -1;
    }
    return -1;
}
