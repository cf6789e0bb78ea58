/*
 * TEST-ONLY CODE: SM2 vendor emulation of libfbtest-faulty-pkcs11.so, the
 * forwarding PKCS#11 module of fiscalbill's test suite.  Never ship it.
 *
 * SoftHSM can store a key on the SM2 curve but cannot make SM2 signatures,
 * and real Chinese tokens use vendor constants for the key type and for the
 * "raw SM2" (host passes e = SM3(Z||M)) and "SM2 with SM3" (token hashes,
 * user ID as parameter) mechanisms.  With FBT_SM2_PROFILE set, this file makes
 * SoftHSM look like such a token: it advertises the vendor mechanisms,
 * reports the vendor CKK for SM2-curve EC keys, and signs in software with
 * OpenSSL from the key's CKA_VALUE (the tests create those keys extractable).
 */
#include "faulty_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#define LOG_PREFIX "fbtest-faulty-pkcs11: "
#define RAW_SIG_LEN 64
#define DER_SIG_MAX 72 /* SEQUENCE { INTEGER(<=33), INTEGER(<=33) } */
#define DEFAULT_ID "1234567812345678"

/* DER of OID 1.2.156.10197.1.301, the SM2 curve. */
static const unsigned char sm2_oid_der[] = { 0x06, 0x08, 0x2A, 0x81, 0x1C,
                                             0xCF, 0x55, 0x01, 0x82, 0x2D };

/* Set once at C_Initialize (under the module lock), read-only afterwards. */
static struct {
    int enabled;
    CK_KEY_TYPE ckk;             /* 0: key type not rewritten */
    CK_MECHANISM_TYPE raw_mech;  /* 0: not offered */
    CK_MECHANISM_TYPE sm3_mech;  /* 0: not offered */
    int out_der;
} cfg;

/* ---- configuration ----------------------------------------------------- */

static int parse_hex(const char *s, unsigned long *out)
{
    char *end;

    if (*s == '\0')
        return -1;
    *out = strtoul(s, &end, 16); /* accepts an optional 0x */
    return *end == '\0' ? 0 : -1;
}

static int parse_custom(char *spec)
{
    unsigned long v[3];
    char *save = NULL;
    char *tok = strtok_r(spec, ":", &save);

    for (int i = 0; i < 3; i++, tok = strtok_r(NULL, ":", &save))
        if (tok == NULL || parse_hex(tok, &v[i]) != 0)
            return -1;
    if (tok != NULL)
        return -1;
    cfg.ckk = v[0];
    cfg.raw_mech = v[1];
    cfg.sm3_mech = v[2];
    return 0;
}

static int parse_profile(const char *p)
{
    if (strcmp(p, "tass") == 0) {
        cfg.ckk = 0x80000004UL;
        cfg.raw_mech = 0x80008000UL;
        cfg.sm3_mech = 0x80008100UL;
        return 0;
    }
    if (strcmp(p, "luna") == 0) {
        cfg.ckk = 0x80000016UL;
        cfg.raw_mech = 0x80000B21UL;
        cfg.sm3_mech = 0x80000B22UL;
        return 0;
    }
    if (strncmp(p, "custom:", 7) == 0) {
        char *copy = strdup(p + 7);
        int rc = copy != NULL ? parse_custom(copy) : -1;

        free(copy);
        return rc;
    }
    return -1;
}

static int parse_mechs_and_output(const char *mechs, const char *output)
{
    if (mechs != NULL && *mechs != '\0' && strcmp(mechs, "both") != 0) {
        if (strcmp(mechs, "raw") == 0)
            cfg.sm3_mech = 0;
        else if (strcmp(mechs, "sm3") == 0)
            cfg.raw_mech = 0;
        else
            return -1;
    }
    if (output != NULL && *output != '\0' && strcmp(output, "raw") != 0) {
        if (strcmp(output, "der") != 0)
            return -1;
        cfg.out_der = 1;
    }
    return 0;
}

int fbt_sm2_configure(void)
{
    const char *profile = getenv("FBT_SM2_PROFILE");

    memset(&cfg, 0, sizeof(cfg));
    if (profile == NULL || *profile == '\0')
        return 0;
    if (parse_profile(profile) != 0) {
        fprintf(stderr, LOG_PREFIX "bad FBT_SM2_PROFILE \"%s\"\n", profile);
        return -1;
    }
    if (parse_mechs_and_output(getenv("FBT_SM2_MECHS"), getenv("FBT_SM2_OUTPUT")) != 0) {
        fprintf(stderr, LOG_PREFIX "bad FBT_SM2_MECHS or FBT_SM2_OUTPUT\n");
        return -1;
    }
    cfg.enabled = 1;
    return 0;
}

int fbt_sm2_enabled(void)
{
    return cfg.enabled;
}

int fbt_sm2_is_offered_mech(CK_MECHANISM_TYPE mech)
{
    return cfg.enabled && mech != 0 && (mech == cfg.raw_mech || mech == cfg.sm3_mech);
}

/* ---- mechanisms -------------------------------------------------------- */

CK_RV fbt_sm2_mechanism_list(const CK_FUNCTION_LIST *real, CK_SLOT_ID slot,
                             CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
    CK_ULONG extra = (cfg.raw_mech != 0) + (cfg.sm3_mech != 0);
    CK_ULONG n = 0;
    CK_RV rv;

    if (count == NULL)
        return CKR_ARGUMENTS_BAD;
    rv = real->C_GetMechanismList(slot, NULL, &n);
    if (rv != CKR_OK)
        return rv;
    if (list == NULL || *count < n + extra) {
        CK_RV ret = (list == NULL) ? CKR_OK : CKR_BUFFER_TOO_SMALL;

        *count = n + extra;
        return ret;
    }
    n = *count;
    rv = real->C_GetMechanismList(slot, list, &n);
    if (rv != CKR_OK) {
        if (rv == CKR_BUFFER_TOO_SMALL) /* the real list grew meanwhile */
            *count = n + extra;
        return rv;
    }
    if (cfg.raw_mech != 0)
        list[n++] = cfg.raw_mech;
    if (cfg.sm3_mech != 0)
        list[n++] = cfg.sm3_mech;
    *count = n;
    return CKR_OK;
}

CK_RV fbt_sm2_mechanism_info(const CK_FUNCTION_LIST *real, CK_SLOT_ID slot,
                             CK_MECHANISM_TYPE mech, CK_MECHANISM_INFO *info)
{
    CK_SLOT_INFO si;
    CK_RV rv;

    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    rv = real->C_GetSlotInfo(slot, &si); /* keeps CKR_SLOT_ID_INVALID honest */
    if (rv != CKR_OK)
        return rv;
    (void)mech;
    info->ulMinKeySize = 256;
    info->ulMaxKeySize = 256;
    info->flags = CKF_SIGN | CKF_VERIFY;
    return CKR_OK;
}

/* ---- objects ----------------------------------------------------------- */

struct key_info {
    CK_OBJECT_CLASS klass;
    CK_KEY_TYPE type;
    CK_BBOOL sign;
    int sm2;
};

/* Read what decides "SM2 key" through the real module.  Missing attributes
 * (for example CKA_EC_PARAMS on a certificate) just make the object non-SM2. */
static CK_RV read_key_info(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                           CK_OBJECT_HANDLE obj, struct key_info *ki)
{
    unsigned char params[64];
    CK_ATTRIBUTE t[] = {
        { CKA_CLASS, &ki->klass, sizeof(ki->klass) },
        { CKA_KEY_TYPE, &ki->type, sizeof(ki->type) },
        { CKA_EC_PARAMS, params, sizeof(params) },
        { CKA_SIGN, &ki->sign, sizeof(ki->sign) },
    };
    CK_RV rv;

    memset(ki, 0, sizeof(*ki));
    ki->klass = (CK_OBJECT_CLASS)-1;
    ki->type = (CK_KEY_TYPE)-1;
    rv = real->C_GetAttributeValue(s, obj, t, sizeof(t) / sizeof(t[0]));
    if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE &&
        rv != CKR_BUFFER_TOO_SMALL)
        return rv;
    if (t[0].ulValueLen != sizeof(ki->klass))
        ki->klass = (CK_OBJECT_CLASS)-1;
    if (t[1].ulValueLen != sizeof(ki->type))
        ki->type = (CK_KEY_TYPE)-1;
    if (t[3].ulValueLen != sizeof(ki->sign))
        ki->sign = CK_FALSE;
    ki->sm2 = (ki->klass == CKO_PRIVATE_KEY || ki->klass == CKO_PUBLIC_KEY) &&
              ki->type == CKK_EC && t[2].ulValueLen == sizeof(sm2_oid_der) &&
              memcmp(params, sm2_oid_der, sizeof(sm2_oid_der)) == 0;
    return CKR_OK;
}

static int is_sm2_key(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj)
{
    struct key_info ki;

    return read_key_info(real, s, obj, &ki) == CKR_OK && ki.sm2;
}

void fbt_sm2_patch_key_type(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                            CK_OBJECT_HANDLE obj, CK_ATTRIBUTE *templ, CK_ULONG count)
{
    if (!cfg.enabled || cfg.ckk == 0 || templ == NULL)
        return;
    for (CK_ULONG i = 0; i < count; i++) {
        CK_ATTRIBUTE *a = &templ[i];
        CK_KEY_TYPE kt;

        if (a->type != CKA_KEY_TYPE || a->pValue == NULL || a->ulValueLen != sizeof(kt))
            continue;
        memcpy(&kt, a->pValue, sizeof(kt));
        /* Only EC keys can be SM2 keys; skip the look-up for the rest. */
        if (kt == CKK_EC && is_sm2_key(real, s, obj)) {
            kt = cfg.ckk;
            memcpy(a->pValue, &kt, sizeof(kt));
        }
    }
}

CK_RV fbt_sm2_find_template(const CK_ATTRIBUTE *templ, CK_ULONG count, CK_ATTRIBUTE **out,
                            enum fbt_find_filter *filter)
{
    static CK_KEY_TYPE ckk_ec = CKK_EC; /* the real module only reads it */

    *out = NULL;
    *filter = FIND_ALL;
    if (!cfg.enabled || cfg.ckk == 0 || templ == NULL)
        return CKR_OK;
    for (CK_ULONG i = 0; i < count; i++) {
        CK_KEY_TYPE kt;

        if (templ[i].type != CKA_KEY_TYPE || templ[i].pValue == NULL ||
            templ[i].ulValueLen != sizeof(kt))
            continue;
        memcpy(&kt, templ[i].pValue, sizeof(kt));
        if (kt == CKK_EC) {
            /* SM2 keys answer with the vendor CKK, so they are not "EC". */
            *filter = FIND_NO_SM2;
        } else if (kt == cfg.ckk) {
            *out = malloc(count * sizeof(**out));
            if (*out == NULL)
                return CKR_HOST_MEMORY;
            memcpy(*out, templ, count * sizeof(**out));
            (*out)[i].pValue = &ckk_ec;
            *filter = FIND_ONLY_SM2;
        }
    }
    return CKR_OK;
}

int fbt_sm2_find_keep(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
                      enum fbt_find_filter filter)
{
    if (filter == FIND_ALL)
        return 1;
    return is_sm2_key(real, s, obj) == (filter == FIND_ONLY_SM2);
}

/* ---- C_SignInit -------------------------------------------------------- */

static CK_RV copy_bytes(const void *src, size_t len, unsigned char **dst, size_t *dst_len)
{
    *dst = malloc(len > 0 ? len : 1);
    if (*dst == NULL)
        return CKR_HOST_MEMORY;
    if (len > 0)
        memcpy(*dst, src, len);
    *dst_len = len;
    return CKR_OK;
}

CK_RV fbt_sm2_sign_init(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                        const CK_MECHANISM *mech, CK_OBJECT_HANDLE key, struct fbt_sm2_op *op)
{
    struct key_info ki;
    CK_RV rv;

    if (mech->ulParameterLen > 0 && mech->pParameter == NULL)
        return CKR_MECHANISM_PARAM_INVALID;
    /* Raw SM2 signs a ready e: a parameter means the caller confused the
     * two mechanisms (the ID belongs in Z, computed on the host). */
    if (mech->mechanism == cfg.raw_mech && mech->ulParameterLen > 0)
        return CKR_MECHANISM_PARAM_INVALID;
    rv = read_key_info(real, s, key, &ki);
    if (rv == CKR_OBJECT_HANDLE_INVALID)
        return CKR_KEY_HANDLE_INVALID;
    if (rv != CKR_OK)
        return rv;
    if (!ki.sm2 || ki.klass != CKO_PRIVATE_KEY)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (!ki.sign)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;

    memset(op, 0, sizeof(*op));
    if (mech->mechanism == cfg.sm3_mech) {
        if (mech->ulParameterLen > 0)
            rv = copy_bytes(mech->pParameter, mech->ulParameterLen, &op->param, &op->param_len);
        else
            rv = copy_bytes(DEFAULT_ID, strlen(DEFAULT_ID), &op->param, &op->param_len);
        if (rv != CKR_OK)
            return rv;
    }
    op->active = 1;
    op->key = key;
    op->mech = mech->mechanism;
    return CKR_OK;
}

void fbt_sm2_op_clear(struct fbt_sm2_op *op)
{
    free(op->param);
    free(op->data);
    memset(op, 0, sizeof(*op));
}

/* ---- software SM2 signing ---------------------------------------------- */

/* The private scalar through the real module.  Tokens that keep it
 * sensitive cannot be emulated; the tests create extractable keys. */
static CK_RV read_private(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                          CK_OBJECT_HANDLE key, unsigned char *d, size_t *d_len)
{
    CK_ATTRIBUTE a = { CKA_VALUE, NULL, 0 };

    if (real->C_GetAttributeValue(s, key, &a, 1) != CKR_OK || a.ulValueLen == 0 ||
        a.ulValueLen > *d_len)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    a.pValue = d;
    if (real->C_GetAttributeValue(s, key, &a, 1) != CKR_OK)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    *d_len = a.ulValueLen;
    return CKR_OK;
}

/* Uncompressed public point d*G on the SM2 curve; returns its length or 0. */
static size_t sm2_public_point(const BIGNUM *d, unsigned char *out, size_t cap)
{
    EC_GROUP *grp = EC_GROUP_new_by_curve_name(NID_sm2);
    EC_POINT *pub = grp != NULL ? EC_POINT_new(grp) : NULL;
    size_t len = 0;

    if (pub != NULL && EC_POINT_mul(grp, pub, d, NULL, NULL, NULL) == 1)
        len = EC_POINT_point2oct(grp, pub, POINT_CONVERSION_UNCOMPRESSED, out, cap, NULL);
    EC_POINT_free(pub);
    EC_GROUP_free(grp);
    return len == 65 ? len : 0; /* 1 byte means d*G is infinity: bad key */
}

/* An SM2 EVP_PKEY (key type "SM2", so OpenSSL signs SM2, not ECDSA). */
static EVP_PKEY *sm2_pkey(const unsigned char *d_bytes, size_t d_len)
{
    BIGNUM *d = BN_bin2bn(d_bytes, (int)d_len, NULL);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;
    unsigned char pub[65];
    size_t pub_len = 0;

    int ok;

    if (d != NULL)
        pub_len = sm2_public_point(d, pub, sizeof(pub));
    ok = pub_len != 0 && bld != NULL && ctx != NULL &&
         OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) == 1 &&
         OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) == 1 &&
         OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) == 1 &&
         (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
         EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) == 1;
    if (!ok) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_clear_free(d);
    return pkey;
}

/* Raw SM2: OpenSSL 3.0's EVP_PKEY_sign on an SM2 key takes its input as the
 * already computed e = SM3(Z||M). */
static int sign_e(EVP_PKEY *pkey, const unsigned char *e, unsigned char *der, size_t *der_len)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
    int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) == 1 &&
             EVP_PKEY_sign(ctx, der, der_len, e, 32) == 1;

    EVP_PKEY_CTX_free(ctx);
    return ok;
}

/* SM2 with SM3: OpenSSL computes Z from the ID and hashes Z||M itself.  The
 * ID must be set explicitly: OpenSSL 3.0's default ID is empty. */
static int sign_message(EVP_PKEY *pkey, const struct fbt_sm2_op *op, const unsigned char *msg,
                        size_t msg_len, unsigned char *der, size_t *der_len)
{
    static const unsigned char empty[1];
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok;

    if (msg == NULL)
        msg = empty;
    ok = mctx != NULL && EVP_DigestSignInit(mctx, &pctx, EVP_sm3(), NULL, pkey) == 1 &&
             EVP_PKEY_CTX_set1_id(pctx, op->param, (int)op->param_len) == 1 &&
             EVP_DigestSign(mctx, der, der_len, msg, msg_len) == 1;

    EVP_MD_CTX_free(mctx); /* also frees pctx */
    return ok;
}

/* DER SEQUENCE{r,s} to 32-byte big-endian r || s. */
static int der_to_raw(const unsigned char *der, size_t der_len, unsigned char *raw)
{
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    const BIGNUM *r, *s;
    int ok;

    if (sig == NULL)
        return 0;
    ECDSA_SIG_get0(sig, &r, &s);
    ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    return ok;
}

static CK_RV sign_with_key(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                           const struct fbt_sm2_op *op, const unsigned char *data,
                           size_t data_len, unsigned char *der, size_t *der_len)
{
    unsigned char d[66];
    size_t d_len = sizeof(d);
    EVP_PKEY *pkey;
    CK_RV rv = read_private(real, s, op->key, d, &d_len);
    int ok;

    if (rv != CKR_OK)
        return rv;
    pkey = sm2_pkey(d, d_len);
    OPENSSL_cleanse(d, sizeof(d));
    if (pkey == NULL)
        return CKR_FUNCTION_FAILED;
    if (op->mech == cfg.raw_mech)
        ok = sign_e(pkey, data, der, der_len);
    else
        ok = sign_message(pkey, op, data, data_len, der, der_len);
    EVP_PKEY_free(pkey);
    return ok ? CKR_OK : CKR_FUNCTION_FAILED;
}

CK_RV fbt_sm2_sign(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                   const struct fbt_sm2_op *op, const unsigned char *data, size_t data_len,
                   unsigned char *sig, CK_ULONG *sig_len, int *done)
{
    /* DER length varies with the values, so ask for the maximum up front. */
    CK_ULONG need = cfg.out_der ? DER_SIG_MAX : RAW_SIG_LEN;
    unsigned char der[DER_SIG_MAX + 8];
    size_t der_len = sizeof(der);
    CK_RV rv;

    *done = 0;
    if (sig_len == NULL)
        return CKR_ARGUMENTS_BAD;
    if (sig == NULL || *sig_len < need) {
        rv = sig == NULL ? CKR_OK : CKR_BUFFER_TOO_SMALL;
        *sig_len = need;
        return rv;
    }
    *done = 1;
    if (op->mech == cfg.raw_mech && data_len != 32)
        return CKR_DATA_LEN_RANGE;
    if (data == NULL && data_len > 0)
        return CKR_ARGUMENTS_BAD;
    rv = sign_with_key(real, s, op, data, data_len, der, &der_len);
    if (rv != CKR_OK)
        return rv;
    if (cfg.out_der) {
        memcpy(sig, der, der_len);
        *sig_len = der_len;
    } else {
        if (!der_to_raw(der, der_len, sig))
            return CKR_FUNCTION_FAILED;
        *sig_len = RAW_SIG_LEN;
    }
    return CKR_OK;
}
