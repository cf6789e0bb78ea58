/* Host-side cryptography for ports: digests (with SM2's Z), verification of
 * every signature before it leaves the port, and signature encodings. */
#include <pthread.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <openssl/bio.h>
#include "common/internal.h"
#include "ports/alg.h"

const char *fb_sig_alg_name(fb_sig_alg alg)
{
    switch (alg) {
    case FB_SIG_SM2_SM3: return "SM3withSM2";
    case FB_SIG_ECDSA_SHA256: return "SHA256withECDSA";
    case FB_SIG_RSA_SHA256: return "SHA256withRSA";
    case FB_SIG_RSA_PSS_SHA256: return "SHA256withRSA/PSS";
    }
    return "unknown";
}

static int ec_curve_nid(EVP_PKEY *pub)
{
    char name[64];
    if (!EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                        NULL))
        return NID_undef;
    return OBJ_sn2nid(name) != NID_undef ? OBJ_sn2nid(name) : OBJ_txt2nid(name);
}

bool fb_alg_key_is_sm2(EVP_PKEY *pub)
{
    return EVP_PKEY_is_a(pub, "SM2") ||
           (EVP_PKEY_is_a(pub, "EC") && ec_curve_nid(pub) == NID_sm2);
}

int fb_alg_for_key(EVP_PKEY *pub, bool pss, fb_sig_alg *alg)
{
    if (fb_alg_key_is_sm2(pub))
        *alg = FB_SIG_SM2_SM3;
    else if (EVP_PKEY_is_a(pub, "EC") && ec_curve_nid(pub) == NID_X9_62_prime256v1)
        *alg = FB_SIG_ECDSA_SHA256;
    else if (EVP_PKEY_is_a(pub, "RSA") && EVP_PKEY_get_bits(pub) >= 2048 &&
             EVP_PKEY_get_bits(pub) <= FB_RSA_BITS_MAX)
        *alg = pss ? FB_SIG_RSA_PSS_SHA256 : FB_SIG_RSA_SHA256;
    else
        return fb_fail(FB_EUNSUPPORTED, "the key is %s of %d bits; ports sign with SM2, "
                       "ECDSA P-256 or RSA of 2048 to 4096 bits",
                       EVP_PKEY_get0_type_name(pub), EVP_PKEY_get_bits(pub));
    return FB_OK;
}

size_t fb_alg_signature_max(fb_sig_alg alg, EVP_PKEY *pub)
{
    if (alg == FB_SIG_RSA_SHA256 || alg == FB_SIG_RSA_PSS_SHA256)
        return (size_t)EVP_PKEY_get_size(pub);
    return FB_EC_DER_MAX;
}

/* a || b || xG || yG of the SM2 curve, the constant middle of every Z.
 * Built once: making an EC_GROUP costs more than the rest of Z. */
static uint8_t sm2_curve[128];
static bool sm2_curve_ok;
static pthread_once_t sm2_curve_once = PTHREAD_ONCE_INIT;

static void sm2_curve_init(void)
{
    EC_GROUP *group = EC_GROUP_new_by_curve_name(NID_sm2);
    BIGNUM *v[4] = { BN_new(), BN_new(), BN_new(), BN_new() };
    bool ok = group && v[0] && v[1] && v[2] && v[3] &&
              EC_GROUP_get_curve(group, NULL, v[0], v[1], NULL) &&
              EC_POINT_get_affine_coordinates(group, EC_GROUP_get0_generator(group), v[2], v[3],
                                              NULL);
    for (int i = 0; i < 4; i++) {
        ok = ok && BN_bn2binpad(v[i], sm2_curve + 32 * i, 32) == 32;
        BN_free(v[i]);
    }
    EC_GROUP_free(group);
    sm2_curve_ok = ok;
}

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), GM/T 0003. */
static int sm2_z(EVP_PKEY *pub, const char *id, uint8_t z[32])
{
    size_t id_len = strlen(id);
    uint8_t entl[2] = { (uint8_t)(id_len * 8 >> 8), (uint8_t)(id_len * 8) };
    uint8_t point[65];
    size_t point_len = 0;
    pthread_once(&sm2_curve_once, sm2_curve_init);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = sm2_curve_ok && md && id_len <= FB_SM2_ID_MAX &&
             EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                             &point_len) &&
             point_len == 65 && point[0] == 0x04 &&
             EVP_DigestInit_ex(md, EVP_sm3(), NULL) && EVP_DigestUpdate(md, entl, 2) &&
             EVP_DigestUpdate(md, id, id_len) &&
             EVP_DigestUpdate(md, sm2_curve, sizeof sm2_curve) &&
             EVP_DigestUpdate(md, point + 1, 64) && EVP_DigestFinal_ex(md, z, NULL);
    EVP_MD_CTX_free(md);
    return ok ? FB_OK : fb_fail(FB_ECRYPTO, "cannot compute the SM2 Z value of the public key");
}

int fb_alg_digest(fb_sig_alg alg, EVP_PKEY *pub, const char *sm2_id, const void *msg,
                  size_t len, uint8_t out[FB_DIGEST_MAX])
{
    uint8_t z[32];
    bool sm2 = alg == FB_SIG_SM2_SM3;
    if (sm2 && sm2_z(pub, sm2_id ? sm2_id : FB_SM2_DEFAULT_ID, z))
        return FB_ECRYPTO;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, sm2 ? EVP_sm3() : EVP_sha256(), NULL) &&
             (!sm2 || EVP_DigestUpdate(md, z, sizeof z)) && EVP_DigestUpdate(md, msg, len) &&
             EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
    return ok ? FB_OK : fb_fail(FB_ECRYPTO, "cannot hash the message");
}

/* Padding and digest settings of a sign or verify context for alg. */
static int setup_ctx(EVP_PKEY_CTX *ctx, fb_sig_alg alg)
{
    switch (alg) {
    case FB_SIG_SM2_SM3:
        return 1; /* EVP_PKEY_sign/verify on an SM2 key take e as the input */
    case FB_SIG_ECDSA_SHA256:
        return EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0;
    case FB_SIG_RSA_SHA256:
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
               EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0;
    case FB_SIG_RSA_PSS_SHA256:
        return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
               EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
               EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0 &&
               EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32) > 0;
    }
    return 0;
}

int fb_alg_verify_digest(fb_sig_alg alg, EVP_PKEY *pub, const uint8_t *dgst,
                         const uint8_t *sig, size_t sig_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
    int ok = ctx && EVP_PKEY_verify_init(ctx) > 0 && setup_ctx(ctx, alg) &&
             EVP_PKEY_verify(ctx, sig, sig_len, dgst, 32) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? FB_OK : FB_ECRYPTO;
}

int fb_alg_sign_digest(fb_sig_alg alg, EVP_PKEY *priv, const uint8_t *dgst, uint8_t *out,
                       size_t *out_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv, NULL);
    int ok = ctx && EVP_PKEY_sign_init(ctx) > 0 && setup_ctx(ctx, alg) &&
             EVP_PKEY_sign(ctx, out, out_len, dgst, 32) == 1;
    EVP_PKEY_CTX_free(ctx);
    return ok ? FB_OK : fb_fail(FB_ECRYPTO, "the key could not sign");
}

int fb_alg_ec_to_der(const uint8_t *in, size_t in_len, size_t field_len,
                     uint8_t out[FB_EC_DER_MAX], size_t *out_len)
{
    ECDSA_SIG *sig = NULL;
    if (in_len == 2 * field_len) {
        BIGNUM *r = BN_bin2bn(in, (int)field_len, NULL);
        BIGNUM *s = BN_bin2bn(in + field_len, (int)field_len, NULL);
        sig = ECDSA_SIG_new();
        if (!sig || !r || !s || !ECDSA_SIG_set0(sig, r, s)) {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(sig);
            return fb_fail(FB_ECRYPTO, "cannot encode the token's signature");
        }
    } else {
        const uint8_t *p = in;
        sig = d2i_ECDSA_SIG(NULL, &p, (long)in_len);
        if (!sig || p != in + in_len) {
            ECDSA_SIG_free(sig);
            return fb_fail(FB_ECRYPTO, "the token returned a signature of %zu bytes that is "
                           "neither r||s nor DER", in_len);
        }
    }
    int n = i2d_ECDSA_SIG(sig, NULL);
    uint8_t *p = out;
    if (n <= 0 || n > FB_EC_DER_MAX || i2d_ECDSA_SIG(sig, &p) != n) {
        ECDSA_SIG_free(sig);
        return fb_fail(FB_ECRYPTO, "the token's signature does not fit %d bytes", FB_EC_DER_MAX);
    }
    ECDSA_SIG_free(sig);
    *out_len = (size_t)n;
    return FB_OK;
}

void fb_alg_digest_info(const uint8_t dgst[32], uint8_t out[FB_DIGEST_INFO_LEN])
{
    static const uint8_t prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                        0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                        0x01, 0x05, 0x00, 0x04, 0x20 };
    memcpy(out, prefix, sizeof prefix);
    memcpy(out + sizeof prefix, dgst, 32);
}

void fb_alg_name_line(X509_NAME *name, char *out, size_t size)
{
    /* RFC 2253 order and separators, but UTF-8 left readable: Chinese
     * names are the norm on these certificates. */
    unsigned long flags = (XN_FLAG_RFC2253 & ~(ASN1_STRFLGS_ESC_MSB | XN_FLAG_SEP_MASK)) |
                          XN_FLAG_SEP_CPLUS_SPC;
    BIO *b = BIO_new(BIO_s_mem());
    int n = b ? X509_NAME_print_ex(b, name, 0, flags) : -1;
    if (n < 0 || (n = BIO_read(b, out, (int)size - 1)) < 0)
        n = 0;
    out[n] = '\0';
    BIO_free(b);
}
