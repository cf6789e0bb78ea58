/* Trust anchors, intermediates and CRLs, and path checks against them. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "common/internal.h"
#include "ports/alg.h"
#include "verify/chain.h"

struct fb_trust {
    X509_STORE *store;
    STACK_OF(X509) *intermediates;
    size_t anchors;
    int crls;
    char *sm2_id;
};

int fb_trust_new(fb_trust **out)
{
    if (!out)
        return fb_fail(FB_EARG, "fb_trust_new: NULL output");
    fb_trust *t = calloc(1, sizeof *t);
    if (!t || !(t->store = X509_STORE_new()) || !(t->intermediates = sk_X509_new_null()) ||
        !(t->sm2_id = fb_strdup(FB_SM2_DEFAULT_ID))) {
        fb_trust_free(t);
        return fb_fail_oom();
    }
    *out = t;
    return FB_OK;
}

void fb_trust_free(fb_trust *t)
{
    if (!t)
        return;
    X509_STORE_free(t->store);
    sk_X509_pop_free(t->intermediates, X509_free);
    free(t->sm2_id);
    free(t);
}

int fb_trust_set_sm2_id(fb_trust *t, const char *id)
{
    if (!t || !id)
        return fb_fail(FB_EARG, "fb_trust_set_sm2_id: NULL argument");
    char *copy = fb_strdup(id);
    if (!copy)
        return FB_ENOMEM;
    free(t->sm2_id);
    t->sm2_id = copy;
    return FB_OK;
}

size_t fb_trust_anchor_count(const fb_trust *t)
{
    return t ? t->anchors : 0;
}

int fb_trust_has_crls(const fb_trust *t)
{
    return t && t->crls > 0;
}

int fb_chain_prepare_sm2(X509 *cert, const char *id)
{
    EVP_PKEY *k = X509_get0_pubkey(cert);
    int nid = X509_get_signature_nid(cert);
    /* The ID matters where an SM2 signature is checked: on certificates
     * signed with SM2 (whatever their own key). */
    if (nid != NID_SM2_with_SM3 && !(k && fb_alg_key_is_sm2(k)))
        return FB_OK;
    ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
    if (!v || !ASN1_OCTET_STRING_set(v, (const unsigned char *)id, (int)strlen(id))) {
        ASN1_OCTET_STRING_free(v);
        return fb_fail_oom();
    }
    X509_set0_distinguishing_id(cert, v);
    return FB_OK;
}

/* Every certificate of a PEM file, passed to add(). */
static int each_cert(fb_trust *t, const char *path, int (*add)(fb_trust *, X509 *), int *count)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fb_fail(FB_EIO, "cannot read %s", path);
    X509 *x;
    int rc = FB_OK;
    while (rc == FB_OK && (x = PEM_read_X509(f, NULL, NULL, NULL))) {
        rc = add(t, x);
        *count += rc == FB_OK;
    }
    ERR_clear_error();
    fclose(f);
    return rc;
}

static int add_anchor(fb_trust *t, X509 *x)
{
    int rc = fb_chain_prepare_sm2(x, t->sm2_id);
    if (!rc && !X509_STORE_add_cert(t->store, x))
        rc = fb_fail(FB_ERROR, "cannot add a trust anchor");
    X509_free(x);
    t->anchors += rc == FB_OK;
    return rc;
}

static int add_intermediate(fb_trust *t, X509 *x)
{
    int rc = fb_chain_prepare_sm2(x, t->sm2_id);
    if (!rc && !sk_X509_push(t->intermediates, x))
        rc = fb_fail_oom();
    if (rc)
        X509_free(x);
    return rc;
}

static bool is_cert_file(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && (!strcmp(name + n - 4, ".pem") || !strcmp(name + n - 4, ".crt"));
}

/* A file, or every *.pem / *.crt file of a directory. */
static int add_path(fb_trust *t, const char *path, int (*add)(fb_trust *, X509 *))
{
    if (!t || !path)
        return fb_fail(FB_EARG, "NULL argument");
    int count = 0, rc = FB_OK;
    DIR *d = opendir(path);
    if (!d) {
        rc = each_cert(t, path, add, &count);
    } else {
        struct dirent *e;
        char file[4096];
        while (rc == FB_OK && (e = readdir(d)))
            if (is_cert_file(e->d_name)) {
                snprintf(file, sizeof file, "%s/%s", path, e->d_name);
                rc = each_cert(t, file, add, &count);
            }
        closedir(d);
    }
    if (rc == FB_OK && count == 0)
        rc = fb_fail(FB_EFORMAT, "%s holds no PEM certificate", path);
    return rc;
}

int fb_trust_add_anchors(fb_trust *t, const char *path)
{
    return add_path(t, path, add_anchor);
}

int fb_trust_add_intermediates(fb_trust *t, const char *path)
{
    return add_path(t, path, add_intermediate);
}

int fb_trust_add_crl(fb_trust *t, const char *path)
{
    if (!t || !path)
        return fb_fail(FB_EARG, "fb_trust_add_crl: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f)
        return fb_fail(FB_EIO, "cannot read the CRL %s", path);
    X509_CRL *crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
    if (!crl) {
        rewind(f);
        crl = d2i_X509_CRL_fp(f, NULL);
    }
    fclose(f);
    ERR_clear_error();
    if (!crl)
        return fb_fail(FB_EFORMAT, "%s is not a CRL (PEM or DER)", path);
    int ok = X509_STORE_add_crl(t->store, crl);
    X509_CRL_free(crl);
    if (!ok)
        return fb_fail(FB_ERROR, "cannot add the CRL %s", path);
    t->crls++;
    return FB_OK;
}

static fb_chain_result classify(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return FB_CHAIN_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID: return FB_CHAIN_NOT_YET_VALID;
    case X509_V_ERR_CERT_REVOKED: return FB_CHAIN_REVOKED;
    case X509_V_ERR_UNABLE_TO_GET_CRL: return FB_CHAIN_NO_REVOCATION;
    default: return FB_CHAIN_NO_PATH;
    }
}

fb_chain_result fb_chain_check(const fb_trust *t, X509 *leaf, STACK_OF(X509) *extra,
                               int64_t at, char *why, size_t why_size)
{
    char subject[256];
    fb_alg_name_line(X509_get_subject_name(leaf), subject, sizeof subject);
    uint32_t ku = X509_get_key_usage(leaf);
    if (ku != UINT32_MAX && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
        snprintf(why, why_size, "the certificate %s may not sign documents (key usage)", subject);
        return FB_CHAIN_KEY_USAGE;
    }
    STACK_OF(X509) *untrusted = sk_X509_dup(t->intermediates);
    /* Certificates that came with a signature need the SM2 ID too. */
    fb_chain_prepare_sm2(leaf, t->sm2_id);
    for (int i = 0; untrusted && extra && i < sk_X509_num(extra); i++) {
        fb_chain_prepare_sm2(sk_X509_value(extra, i), t->sm2_id);
        sk_X509_push(untrusted, sk_X509_value(extra, i));
    }
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    fb_chain_result res = FB_CHAIN_NO_PATH;
    if (ctx && untrusted && X509_STORE_CTX_init(ctx, t->store, leaf, untrusted)) {
        X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_time(p, (time_t)at);
        if (t->crls)
            X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
        if (X509_verify_cert(ctx) == 1) {
            res = FB_CHAIN_OK;
        } else {
            int err = X509_STORE_CTX_get_error(ctx);
            X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
            char who[256] = "";
            fb_alg_name_line(X509_get_subject_name(bad ? bad : leaf), who, sizeof who);
            res = classify(err);
            snprintf(why, why_size, "certificate %s: %s", who, X509_verify_cert_error_string(err));
        }
    } else {
        snprintf(why, why_size, "cannot check the certificate path of %s", subject);
    }
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
    ERR_clear_error();
    return res;
}
