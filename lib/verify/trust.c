/* Trust anchors, intermediates and CRLs, and path checks against them. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include "common/internal.h"
#include "ports/alg.h"
#include "cms/certcache.h"
#include "verify/chain.h"

#include "verify/trustint.h"

/* Trust files are configuration, but not without bounds: an oversized file,
 * archive or directory would slow loading and every path build after it
 * (each certificate checked walks every CRL). */
#define TRUST_FILE_MAX (16 * 1024 * 1024) /* bytes of one file */
#define TRUST_CERTS_MAX 10000             /* anchors, and intermediates, of a trust */
#define TRUST_CRLS_MAX 10000              /* CRLs of a trust */
#define TRUST_DIR_FILES_MAX 10000         /* *.pem and *.crt files of a directory */

int fb_trust_new(fb_trust **out)
{
    if (!out)
        return fb_fail(FB_EARG, "fb_trust_new: NULL output");
    fb_trust *t = calloc(1, sizeof *t);
    if (!t || !(t->store = X509_STORE_new()) || !(t->intermediates = sk_X509_new_null()) ||
        !(t->sm2_id = fb_strdup(FB_SM2_DEFAULT_ID)) ||
        !(t->paths = calloc(FB_PATH_CACHE_SIZE, sizeof *t->paths)) ||
        !(t->certs = fb_certcache_new(t->sm2_id))) {
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
    fb_certcache_free(t->certs);
    X509_STORE_free(t->store);
    sk_X509_pop_free(t->intermediates, X509_free);
    free(t->sm2_id);
    free(t);
}

/* Every certificate already loaded takes the new ID, and what was decided
 * or decoded under the old one is forgotten. */
static int reprepare(fb_trust *t)
{
    int rc = FB_OK;
    for (int i = 0; !rc && i < sk_X509_num(t->intermediates); i++)
        rc = fb_cert_prepare_sm2(sk_X509_value(t->intermediates, i), t->sm2_id);
    STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(t->store);
    for (int i = 0; !rc && i < sk_X509_OBJECT_num(objs); i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        if (x)
            rc = fb_cert_prepare_sm2(x, t->sm2_id);
    }
    if (!rc)
        rc = fb_certcache_reset(t->certs, t->sm2_id);
    fb_chain_forget(t);
    return rc;
}

int fb_trust_set_sm2_id(fb_trust *t, const char *id)
{
    if (!t || !id)
        return fb_fail(FB_EARG, "fb_trust_set_sm2_id: NULL argument");
    if (strlen(id) > FB_SM2_ID_MAX)
        return fb_fail(FB_EARG, "fb_trust_set_sm2_id: the SM2 user ID of %zu bytes is longer "
                       "than %d", strlen(id), FB_SM2_ID_MAX);
    char *copy = fb_strdup(id);
    if (!copy)
        return FB_ENOMEM;
    free(t->sm2_id);
    t->sm2_id = copy;
    return reprepare(t);
}

size_t fb_trust_anchor_count(const fb_trust *t)
{
    return t ? t->anchors : 0;
}

int fb_trust_has_crls(const fb_trust *t)
{
    return t && t->crls > 0;
}

/* Room for more of a trust file: doubled, up to one byte past the limit
 * (which tells a file that is too large). */
static int grow(uint8_t **buf, size_t *cap)
{
    size_t more = *cap ? 2 * *cap : 65536;
    if (more > TRUST_FILE_MAX + 1)
        more = TRUST_FILE_MAX + 1;
    uint8_t *bigger = realloc(*buf, more);
    if (!bigger)
        return fb_fail_oom();
    *buf = bigger;
    *cap = more;
    return FB_OK;
}

/* The whole of a trust file, at most TRUST_FILE_MAX bytes: read here, so
 * that a huge file (or /dev/zero) is refused before any of it is parsed.
 * what: "the CRL " or "", for messages. */
static int read_trust_file(const char *path, const char *what, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fb_fail(FB_EIO, "cannot read %s%s", what, path);
    struct stat st;
    bool too_large = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
                     st.st_size > TRUST_FILE_MAX; /* refused without reading it */
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    int rc = FB_OK;
    while (!too_large && (n < cap || !(rc = grow(&buf, &cap)))) {
        size_t got = fread(buf + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
        too_large = n > TRUST_FILE_MAX;
    }
    if (!rc && ferror(f))
        rc = fb_fail(FB_EIO, "cannot read %s%s", what, path);
    else if (!rc && too_large)
        rc = fb_fail(FB_ELIMIT, "%s%s: larger than the limit of %d bytes", what, path,
                     TRUST_FILE_MAX);
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = n;
    return FB_OK;
}

/* How many certificates a PEM file holds at most, counted before any is
 * decoded, so that an oversized archive costs a scan and no more. Every
 * block PEM_read_bio_X509 reads starts with one of these lines. */
static size_t pem_cert_blocks(const uint8_t *data, size_t len)
{
    static const char *const begins[] = { "-----BEGIN CERTIFICATE-----",
                                          "-----BEGIN X509 CERTIFICATE-----" };
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] != '-')
            continue;
        for (size_t k = 0; k < FB_ARRAY_LEN(begins); k++) {
            size_t b = strlen(begins[k]);
            n += len - i >= b && !memcmp(data + i, begins[k], b);
        }
    }
    return n;
}

/* Every certificate of a PEM file onto certs, which may hold at most
 * TRUST_CERTS_MAX. dir: the directory the file was found in, or NULL. */
static int read_certs(const char *path, const char *dir, STACK_OF(X509) *certs)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = read_trust_file(path, "", &data, &len);
    if (rc)
        return rc;
    BIO *bio = NULL;
    if ((size_t)sk_X509_num(certs) + pem_cert_blocks(data, len) > TRUST_CERTS_MAX)
        rc = fb_fail(FB_ELIMIT, "%s: more than %d certificates%s%s", path, TRUST_CERTS_MAX,
                     dir ? " in the directory " : "", dir ? dir : "");
    else if (!(bio = BIO_new_mem_buf(data, (int)len)))
        rc = fb_fail_oom();
    X509 *x;
    while (!rc && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
        if (!sk_X509_push(certs, x)) {
            X509_free(x);
            rc = fb_fail_oom();
        }
    ERR_clear_error();
    BIO_free(bio);
    free(data);
    return rc;
}

static int add_anchor(fb_trust *t, X509 *x)
{
    int rc = fb_cert_prepare_sm2(x, t->sm2_id);
    if (!rc && !X509_STORE_add_cert(t->store, x))
        rc = fb_fail(FB_ERROR, "cannot add a trust anchor");
    X509_free(x);
    t->anchors += rc == FB_OK;
    return rc;
}

static int add_intermediate(fb_trust *t, X509 *x)
{
    int rc = fb_cert_prepare_sm2(x, t->sm2_id);
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

static int too_many_files(const char *dir)
{
    return fb_fail(FB_ELIMIT, "%s: more than %d *.pem and *.crt files", dir,
                   TRUST_DIR_FILES_MAX);
}

/* Every *.pem / *.crt file of a directory, at most TRUST_DIR_FILES_MAX:
 * counted first, so that too many are refused before any is read, and
 * again while reading, since files may come in between. */
static int read_dir(DIR *d, const char *path, STACK_OF(X509) *certs)
{
    struct dirent *e;
    char file[4096];
    int rc = FB_OK, files = 0;
    while ((e = readdir(d)))
        files += is_cert_file(e->d_name);
    if (files > TRUST_DIR_FILES_MAX)
        return too_many_files(path);
    rewinddir(d);
    files = 0;
    while (rc == FB_OK && (e = readdir(d)))
        if (is_cert_file(e->d_name)) {
            if (++files > TRUST_DIR_FILES_MAX)
                return too_many_files(path);
            snprintf(file, sizeof file, "%s/%s", path, e->d_name);
            rc = read_certs(file, path, certs);
        }
    return rc;
}

/* A file, or every *.pem / *.crt file of a directory: all of it read
 * first, so that a refusal adds nothing; then each certificate passed to
 * add(), which takes it. held: how many of the kind the trust holds. */
static int add_path(fb_trust *t, const char *path, int (*add)(fb_trust *, X509 *), size_t held,
                    const char *kind)
{
    if (!t || !path)
        return fb_fail(FB_EARG, "NULL argument");
    STACK_OF(X509) *certs = sk_X509_new_null();
    if (!certs)
        return fb_fail_oom();
    int rc;
    DIR *d = opendir(path);
    if (!d) {
        rc = read_certs(path, NULL, certs);
    } else {
        rc = read_dir(d, path, certs);
        closedir(d);
    }
    if (rc == FB_OK && sk_X509_num(certs) == 0)
        rc = fb_fail(FB_EFORMAT, "%s holds no PEM certificate", path);
    if (rc == FB_OK && held + (size_t)sk_X509_num(certs) > TRUST_CERTS_MAX)
        rc = fb_fail(FB_ELIMIT, "%s: with it the trust would hold more than %d %s", path,
                     TRUST_CERTS_MAX, kind);
    X509 *x;
    while (rc == FB_OK && (x = sk_X509_shift(certs)))
        rc = add(t, x);
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

int fb_trust_add_anchors(fb_trust *t, const char *path)
{
    int rc = add_path(t, path, add_anchor, t ? t->anchors : 0, "trust anchors");
    if (t)
        fb_chain_forget(t);
    return rc;
}

int fb_trust_add_intermediates(fb_trust *t, const char *path)
{
    int rc = add_path(t, path, add_intermediate,
                      t ? (size_t)sk_X509_num(t->intermediates) : 0, "intermediate certificates");
    if (t)
        fb_chain_forget(t);
    return rc;
}

int fb_trust_add_crl(fb_trust *t, const char *path)
{
    if (!t || !path)
        return fb_fail(FB_EARG, "fb_trust_add_crl: NULL argument");
    if (t->crls >= TRUST_CRLS_MAX)
        return fb_fail(FB_ELIMIT, "the CRL %s: the trust already holds %d CRLs, the limit",
                       path, TRUST_CRLS_MAX);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = read_trust_file(path, "the CRL ", &data, &len);
    if (rc)
        return rc;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    X509_CRL *crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
    if (!crl) {
        const unsigned char *p = data;
        crl = d2i_X509_CRL(NULL, &p, (long)len);
    }
    BIO_free(bio);
    free(data);
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
