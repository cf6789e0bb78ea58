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

#include "verify/trustint.h"

int fb_trust_new(fb_trust **out)
{
    if (!out)
        return fb_fail(FB_EARG, "fb_trust_new: NULL output");
    fb_trust *t = calloc(1, sizeof *t);
    if (!t || !(t->store = X509_STORE_new()) || !(t->intermediates = sk_X509_new_null()) ||
        !(t->sm2_id = fb_strdup(FB_SM2_DEFAULT_ID)) ||
        !(t->paths = calloc(FB_PATH_CACHE_SIZE, sizeof *t->paths))) {
        fb_trust_free(t);
        return fb_fail_oom();
    }
    pthread_mutex_init(&t->paths_lock, NULL);
    *out = t;
    return FB_OK;
}

void fb_trust_free(fb_trust *t)
{
    if (!t)
        return;
    if (t->paths)
        pthread_mutex_destroy(&t->paths_lock);
    free(t->paths);
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
    int rc = add_path(t, path, add_anchor);
    if (t)
        fb_chain_forget(t);
    return rc;
}

int fb_trust_add_intermediates(fb_trust *t, const char *path)
{
    int rc = add_path(t, path, add_intermediate);
    if (t)
        fb_chain_forget(t);
    return rc;
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

