/* Certificate path checks. A path is built and its signatures checked
 * without regard to time; the signing time is then compared with the
 * path's validity window (notAfter included, as RFC 5280 has it). Without
 * CRLs a built path is cached per leaf and accompanying certificates; with
 * CRLs every check runs in full, and a CRL must speak for the signing time. */
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include "common/asn1time.h"
#include "common/internal.h"
#include "cms/certcache.h"
#include "ports/alg.h"
#include "verify/trustint.h"

static fb_chain_result classify(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_REVOKED:
        return FB_CHAIN_REVOKED;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
        return FB_CHAIN_NO_REVOCATION;
    default:
        return FB_CHAIN_NO_PATH;
    }
}

static void subject_of(X509 *x, char *out, size_t size)
{
    fb_alg_name_line(X509_get_subject_name(x), out, size);
}

/* The validity window of a built path: its certificates are all valid
 * between the latest notBefore and the earliest notAfter. */
static bool window(X509_STORE_CTX *ctx, fb_path_entry *e)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    e->not_before = INT64_MIN;
    e->not_after = INT64_MAX;
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        int64_t nb, na;
        if (!fb_asn1_time_seconds(X509_get0_notBefore(x), &nb) ||
            !fb_asn1_time_seconds(X509_get0_notAfter(x), &na))
            return false;
        if (nb > e->not_before) {
            e->not_before = nb;
            subject_of(x, e->nb_subject, sizeof e->nb_subject);
        }
        if (na < e->not_after) {
            e->not_after = na;
            subject_of(x, e->na_subject, sizeof e->na_subject);
        }
    }
    return chain != NULL;
}

/* A CRL of cert's issuer that still speaks for the signing time: its
 * nextUpdate (when it has one) is not before it. A CRL issued after the
 * signature is fine: it lists every revocation up to its own date. */
static bool crl_covers(const fb_trust *t, X509 *cert, int64_t at)
{
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(t->store);
    for (int i = 0; i < sk_X509_OBJECT_num(objs); i++) {
        X509_CRL *crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
        int64_t next;
        if (!crl || X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)))
            continue;
        const ASN1_TIME *nu = X509_CRL_get0_nextUpdate(crl);
        if (!nu || (fb_asn1_time_seconds(nu, &next) && next >= at))
            return true;
    }
    return false;
}

/* Every certificate below the anchor has current revocation data. */
static fb_chain_result fresh(const fb_trust *t, X509_STORE_CTX *ctx, int64_t at, char *why,
                             size_t why_size)
{
    STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
    for (int i = 0; chain && i + 1 < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        if (!crl_covers(t, x, at)) {
            char who[256];
            subject_of(x, who, sizeof who);
            snprintf(why, why_size, "certificate %s: no CRL of its issuer covers the signing "
                     "time (the CRLs given expired before it)", who);
            return FB_CHAIN_NO_REVOCATION;
        }
    }
    return FB_CHAIN_OK;
}

/* Build the path and check its signatures, never its times: validity is
 * judged against the path's window, the same way with or without CRLs.
 * With CRLs, revocation is checked too, and must be current at `at`. */
static fb_chain_result build(const fb_trust *t, X509 *leaf, STACK_OF(X509) *untrusted,
                             int64_t at, fb_path_entry *e, char *why, size_t why_size)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    fb_chain_result res = FB_CHAIN_NO_PATH;
    if (ctx && X509_STORE_CTX_init(ctx, t->store, leaf, untrusted)) {
        X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_NO_CHECK_TIME);
        if (t->crls)
            X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
        if (X509_verify_cert(ctx) == 1) {
            res = !window(ctx, e) ? FB_CHAIN_NO_PATH
                  : t->crls       ? fresh(t, ctx, at, why, why_size)
                                  : FB_CHAIN_OK;
        } else {
            int err = X509_STORE_CTX_get_error(ctx);
            X509 *bad = X509_STORE_CTX_get_current_cert(ctx);
            char who[256];
            subject_of(bad ? bad : leaf, who, sizeof who);
            res = classify(err);
            snprintf(why, why_size, "certificate %s: %s", who, X509_verify_cert_error_string(err));
        }
    } else {
        snprintf(why, why_size, "cannot check the certificate path");
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return res;
}

static fb_path_entry *slot(const fb_trust *t, const uint8_t key[32])
{
    uint64_t h;
    memcpy(&h, key, sizeof h);
    return &t->paths[h % FB_PATH_CACHE_SIZE];
}

static fb_chain_result in_window(const fb_path_entry *e, int64_t at, char *why, size_t size)
{
    if (at < e->not_before) {
        snprintf(why, size, "certificate %s: certificate is not yet valid", e->nb_subject);
        return FB_CHAIN_NOT_YET_VALID;
    }
    if (at > e->not_after) {
        snprintf(why, size, "certificate %s: certificate has expired", e->na_subject);
        return FB_CHAIN_EXPIRED;
    }
    return FB_CHAIN_OK;
}

/* The cache key: the leaf and the certificates that came with it, since
 * they may supply the intermediate a path needs. */
static bool path_key(X509 *leaf, STACK_OF(X509) *extra, uint8_t key[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    for (int i = -1; ok && i < (extra ? sk_X509_num(extra) : 0); i++) {
        uint8_t h[32];
        unsigned int n;
        ok = X509_digest(i < 0 ? leaf : sk_X509_value(extra, i), EVP_sha256(), h, &n) &&
             EVP_DigestUpdate(md, h, n);
    }
    ok = ok && EVP_DigestFinal_ex(md, key, NULL);
    EVP_MD_CTX_free(md);
    return ok;
}

/* Without CRLs: the cached path, or a new one put in the cache. Only paths
 * that were built are cached; a failure is tried afresh each time. */
static fb_chain_result cached(fb_trust *t, X509 *leaf, STACK_OF(X509) *extra,
                              STACK_OF(X509) *untrusted, int64_t at, char *why, size_t why_size)
{
    uint8_t key[32];
    fb_path_entry e;
    if (!path_key(leaf, extra, key)) {
        fb_chain_result res = build(t, leaf, untrusted, at, &e, why, why_size);
        return res == FB_CHAIN_OK ? in_window(&e, at, why, why_size) : res;
    }
    pthread_mutex_lock(&t->paths_lock);
    fb_path_entry *s = slot(t, key);
    bool hit = s->used && !memcmp(s->leaf, key, sizeof key);
    if (hit)
        e = *s;
    pthread_mutex_unlock(&t->paths_lock);
    if (!hit) {
        fb_chain_result res = build(t, leaf, untrusted, at, &e, why, why_size);
        if (res != FB_CHAIN_OK)
            return res;
        e.used = true;
        memcpy(e.leaf, key, sizeof key);
        pthread_mutex_lock(&t->paths_lock);
        *slot(t, key) = e;
        pthread_mutex_unlock(&t->paths_lock);
    }
    return in_window(&e, at, why, why_size);
}

/* Certificates that came with a signature need the SM2 ID too. Those from
 * the trust's certificate cache have it already and are shared between
 * threads, so a certificate with an ID is never written to. */
static void prepare_sm2(X509 *x, const char *id)
{
    if (!X509_get0_distinguishing_id(x))
        fb_cert_prepare_sm2(x, id);
}

fb_certcache *fb_trust_certcache(const fb_trust *t)
{
    return t ? t->certs : NULL;
}

fb_chain_result fb_chain_check(const fb_trust *ct, X509 *leaf, STACK_OF(X509) *extra, int64_t at,
                               char *why, size_t why_size)
{
    /* The cache is the one part of a trust object that changes after
     * loading; it is behind its own lock. */
    fb_trust *t = (fb_trust *)ct;
    uint32_t ku = X509_get_key_usage(leaf);
    if (ku != UINT32_MAX && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
        char subject[256];
        subject_of(leaf, subject, sizeof subject);
        snprintf(why, why_size, "the certificate %s may not sign documents (key usage)", subject);
        return FB_CHAIN_KEY_USAGE;
    }
    STACK_OF(X509) *untrusted = sk_X509_dup(t->intermediates);
    if (!untrusted) {
        snprintf(why, why_size, "out of memory");
        return FB_CHAIN_NO_PATH;
    }
    prepare_sm2(leaf, t->sm2_id);
    for (int i = 0; extra && i < sk_X509_num(extra); i++) {
        prepare_sm2(sk_X509_value(extra, i), t->sm2_id);
        sk_X509_push(untrusted, sk_X509_value(extra, i));
    }
    fb_chain_result res;
    if (t->crls) {
        fb_path_entry e;
        res = build(t, leaf, untrusted, at, &e, why, why_size);
        if (res == FB_CHAIN_OK)
            res = in_window(&e, at, why, why_size);
    } else {
        res = cached(t, leaf, extra, untrusted, at, why, why_size);
    }
    sk_X509_free(untrusted);
    return res;
}

void fb_chain_forget(fb_trust *t)
{
    pthread_mutex_lock(&t->paths_lock);
    memset(t->paths, 0, FB_PATH_CACHE_SIZE * sizeof *t->paths);
    pthread_mutex_unlock(&t->paths_lock);
}
