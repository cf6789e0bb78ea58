/* Checking a parsed SignedData against the bytes it claims to sign. */
#include <string.h>
#include <openssl/evp.h>
#include "cms/cms.h"
#include "cms/der.h"
#include "ports/alg.h"

static int fault(fb_cms_fault *out, fb_cms_fault f, int status, const char *why)
{
    *out = f;
    return fb_fail(status, "%s", why);
}

static bool key_fits(fb_sig_alg alg, EVP_PKEY *pub)
{
    fb_sig_alg key_alg;
    if (fb_alg_for_key(pub, alg == FB_SIG_RSA_PSS_SHA256, &key_alg)) {
        fb_clear_error();
        return false;
    }
    return key_alg == alg;
}

/* ECDSA and SM2 values may come as DER or as raw r||s. */
static int signature_der(const fb_cms *cms, uint8_t *out, size_t *out_len)
{
    if (cms->alg == FB_SIG_RSA_SHA256 || cms->alg == FB_SIG_RSA_PSS_SHA256) {
        if (cms->sig_len > FB_EC_DER_MAX * 16)
            return FB_ECRYPTO;
        memcpy(out, cms->sig, cms->sig_len);
        *out_len = cms->sig_len;
        return FB_OK;
    }
    return fb_alg_ec_to_der(cms->sig, cms->sig_len, 32, out, out_len);
}

static bool hash_equals(const EVP_MD *md, const void *data, size_t len, const uint8_t *want,
                        size_t want_len)
{
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    return EVP_Digest(data, len, h, &n, md, NULL) && n == want_len && !memcmp(h, want, n);
}

int fb_cms_check(const fb_cms *cms, const void *content, size_t len, const char *sm2_id,
                 fb_cms_fault *f)
{
    *f = FB_CMS_OK;
    EVP_PKEY *pub = X509_get0_pubkey(cms->cert);
    const EVP_MD *md = cms->alg == FB_SIG_SM2_SM3 ? EVP_sm3() : EVP_sha256();
    if (!pub || !key_fits(cms->alg, pub))
        return fault(f, FB_CMS_FORMAT, FB_EFORMAT, "the signature algorithm does not fit the "
                     "signer certificate's key");
    fb_buf set = FB_BUF_INIT;
    const void *signed_bytes = content;
    size_t signed_len = len;
    if (cms->attrs) {
        if (!hash_equals(md, content, len, cms->message_digest, cms->message_digest_len))
            return fault(f, FB_CMS_HASH, FB_ECRYPTO, "the signed bytes have changed: their "
                         "digest differs from the signature's messageDigest");
        /* The signature covers the attributes re-tagged as a SET. */
        if (der_put(&set, DER_SET, cms->attrs, cms->attrs_len))
            return FB_ENOMEM;
        signed_bytes = set.ptr;
        signed_len = set.size;
    }
    uint8_t dgst[FB_DIGEST_MAX], sig[FB_EC_DER_MAX * 16];
    size_t sig_len = 0;
    int rc = fb_alg_digest(cms->alg, pub, sm2_id, signed_bytes, signed_len, dgst);
    fb_buf_dispose(&set);
    if (rc || signature_der(cms, sig, &sig_len) ||
        fb_alg_verify_digest(cms->alg, pub, dgst, sig, sig_len))
        return fault(f, FB_CMS_SIGNATURE, FB_ECRYPTO, "the signature does not verify with the "
                     "signer certificate's key");
    if (cms->ess_hash) {
        uint8_t *der = NULL;
        int n = i2d_X509(cms->cert, &der);
        bool same = n > 0 && hash_equals(cms->ess_sm3 ? EVP_sm3() : EVP_sha256(), der,
                                         (size_t)n, cms->ess_hash, cms->ess_hash_len);
        OPENSSL_free(der);
        if (!same)
            return fault(f, FB_CMS_CERT_BINDING, FB_ECRYPTO, "signingCertificateV2 names a "
                         "different certificate than the one that signed");
    }
    fb_clear_error();
    return FB_OK;
}
