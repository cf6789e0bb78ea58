/* A direct-mapped cache of decoded certificates, keyed by their exact DER
 * (compared in full, so no hash collision can substitute a certificate). */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "cms/certcache.h"
#include "common/internal.h"
#include "ports/alg.h"

int fb_cert_prepare_sm2(X509 *cert, const char *id)
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

typedef struct entry {
    uint8_t *der;
    size_t len;
    X509 *cert;
} entry;

struct fb_certcache {
    pthread_mutex_t lock;
    char *sm2_id;
    entry slots[FB_CERT_CACHE_SIZE];
};

fb_certcache *fb_certcache_new(const char *sm2_id)
{
    fb_certcache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (sm2_id && !(c->sm2_id = fb_strdup(sm2_id))) {
        free(c);
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void clear(fb_certcache *c)
{
    for (size_t i = 0; i < FB_CERT_CACHE_SIZE; i++) {
        X509_free(c->slots[i].cert);
        free(c->slots[i].der);
    }
    memset(c->slots, 0, sizeof c->slots);
}

void fb_certcache_free(fb_certcache *c)
{
    if (!c)
        return;
    clear(c);
    pthread_mutex_destroy(&c->lock);
    free(c->sm2_id);
    free(c);
}

int fb_certcache_reset(fb_certcache *c, const char *sm2_id)
{
    char *copy = sm2_id ? fb_strdup(sm2_id) : NULL;
    if (sm2_id && !copy)
        return FB_ENOMEM;
    pthread_mutex_lock(&c->lock);
    clear(c);
    free(c->sm2_id);
    c->sm2_id = copy;
    pthread_mutex_unlock(&c->lock);
    return FB_OK;
}

/* FNV-1a: only picks the slot; equality is decided on the whole DER. */
static size_t slot_of(const uint8_t *der, size_t len)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ der[i]) * 0x100000001b3u;
    return (size_t)(h % FB_CERT_CACHE_SIZE);
}

static X509 *decode(const uint8_t *der, size_t len, const char *sm2_id)
{
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x && p != der + len) {
        X509_free(x);
        return NULL;
    }
    if (x && sm2_id && fb_cert_prepare_sm2(x, sm2_id)) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static X509 *lookup(fb_certcache *c, size_t i, const uint8_t *der, size_t len)
{
    X509 *x = NULL;
    pthread_mutex_lock(&c->lock);
    entry *e = &c->slots[i];
    if (e->cert && e->len == len && !memcmp(e->der, der, len) && X509_up_ref(e->cert))
        x = e->cert;
    pthread_mutex_unlock(&c->lock);
    return x;
}

/* Keep x in slot i (replacing what was there); on failure x is simply not
 * cached. */
static void store(fb_certcache *c, size_t i, const uint8_t *der, size_t len, X509 *x)
{
    uint8_t *copy = malloc(len);
    if (!copy || !X509_up_ref(x)) {
        free(copy);
        return;
    }
    memcpy(copy, der, len);
    pthread_mutex_lock(&c->lock);
    entry old = c->slots[i];
    c->slots[i] = (entry){ copy, len, x };
    pthread_mutex_unlock(&c->lock);
    X509_free(old.cert);
    free(old.der);
}

X509 *fb_certcache_get(fb_certcache *c, const uint8_t *der, size_t len)
{
    if (!c || len > FB_CERT_CACHE_DER_MAX)
        return decode(der, len, c ? c->sm2_id : NULL);
    size_t i = slot_of(der, len);
    X509 *x = lookup(c, i, der, len);
    if (x)
        return x;
    /* Decoded outside the lock: two threads may both decode a new
     * certificate; the later one's copy stays. */
    if ((x = decode(der, len, c->sm2_id)))
        store(c, i, der, len, x);
    return x;
}
