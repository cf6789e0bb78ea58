/* Assembling a detached SignedData: the signed attributes are encoded, the
 * port signs their DER (it hashes on the host, so a token only ever sees a
 * digest), and the structure is framed around the signature. */
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "cms/der.h"
#include "cms/oids.h"
#include "fiscalbill/sign.h"
#include "ports/portx509.h"

typedef struct signer {
    fb_port *port;
    fb_sig_alg alg;
    X509 *cert;
    const uint8_t *cert_der;
    size_t cert_len;
    bool gmt;
} signer;

static bool is_sm2(const signer *s)
{
    return s->alg == FB_SIG_SM2_SM3;
}

static const EVP_MD *digest_md(const signer *s)
{
    return is_sm2(s) ? EVP_sm3() : EVP_sha256();
}

/* AlgorithmIdentifier { algorithm } with absent parameters (RFC 5754). */
static int put_alg(fb_buf *out, const char *oid)
{
    size_t mark = out->size;
    int rc = der_oid(out, oid);
    return rc ? rc : der_wrap(out, mark, DER_SEQUENCE);
}

static int put_digest_alg(fb_buf *out, const signer *s)
{
    return put_alg(out, is_sm2(s) ? OID_SM3 : OID_SHA256);
}

/* RSASSA-PSS-params { sha256, mgf1(sha256), salt 32 }. */
static int put_pss_alg(fb_buf *out)
{
    static const uint8_t salt[] = { DER_INTEGER, 0x01, 0x20 };
    size_t mark = out->size;
    int rc = der_oid(out, OID_RSA_PSS);
    size_t params = out->size, h = out->size;
    if (!rc) rc = put_alg(out, OID_SHA256);
    if (!rc) rc = der_wrap(out, h, DER_CTX0);
    size_t m = out->size;
    if (!rc) rc = der_oid(out, OID_MGF1);
    if (!rc) rc = put_alg(out, OID_SHA256);
    if (!rc) rc = der_wrap(out, m, DER_SEQUENCE);
    if (!rc) rc = der_wrap(out, m, DER_CTX1);
    size_t sl = out->size;
    if (!rc) rc = der_raw(out, salt, sizeof salt);
    if (!rc) rc = der_wrap(out, sl, DER_CTX2);
    if (!rc) rc = der_wrap(out, params, DER_SEQUENCE);
    return rc ? rc : der_wrap(out, mark, DER_SEQUENCE);
}

static int put_signature_alg(fb_buf *out, const signer *s)
{
    static const uint8_t null[] = { DER_NULL, 0 };
    size_t mark = out->size;
    int rc;
    switch (s->alg) {
    case FB_SIG_SM2_SM3:
        return put_alg(out, s->gmt ? OID_SM2_SIGN : OID_SM2_SM3);
    case FB_SIG_ECDSA_SHA256:
        return put_alg(out, OID_ECDSA_SHA256);
    case FB_SIG_RSA_SHA256:
        /* rsaEncryption with NULL parameters, as RFC 3370 and OpenSSL do. */
        rc = der_oid(out, OID_RSA);
        if (!rc) rc = der_raw(out, null, sizeof null);
        return rc ? rc : der_wrap(out, mark, DER_SEQUENCE);
    case FB_SIG_RSA_PSS_SHA256:
        return put_pss_alg(out);
    }
    return fb_fail(FB_EUNSUPPORTED, "unknown signature algorithm");
}

static int put_i2d(fb_buf *out, int n, unsigned char *der)
{
    int rc = n > 0 ? der_raw(out, der, (size_t)n) : fb_fail(FB_ERROR, "cannot encode a value");
    OPENSSL_free(der);
    return rc;
}

/* Each encodes first, then appends: the i2d call must run before its
 * output pointer is read. */
static int put_name(fb_buf *out, const X509_NAME *name)
{
    unsigned char *der = NULL;
    int n = i2d_X509_NAME(name, &der);
    return put_i2d(out, n, der);
}

static int put_integer(fb_buf *out, const ASN1_INTEGER *v)
{
    unsigned char *der = NULL;
    int n = i2d_ASN1_INTEGER(v, &der);
    return put_i2d(out, n, der);
}

static int put_time(fb_buf *out, const ASN1_TIME *t)
{
    unsigned char *der = NULL;
    int n = i2d_ASN1_TIME(t, &der);
    return put_i2d(out, n, der);
}

/* IssuerAndSerialNumber of the signer's certificate. */
static int put_issuer_serial(fb_buf *out, const signer *s)
{
    size_t mark = out->size;
    int rc = put_name(out, X509_get_issuer_name(s->cert));
    if (!rc)
        rc = put_integer(out, X509_get0_serialNumber(s->cert));
    return rc ? rc : der_wrap(out, mark, DER_SEQUENCE);
}

/* Attribute ::= SEQUENCE { type, SET { value } }; value already in out. */
static int wrap_attr(fb_buf *out, size_t mark, size_t value_mark)
{
    int rc = der_wrap(out, value_mark, DER_SET);
    return rc ? rc : der_wrap(out, mark, DER_SEQUENCE);
}

static int attr_content_type(fb_buf *out, const signer *s)
{
    size_t mark = out->size;
    int rc = der_oid(out, OID_CONTENT_TYPE);
    size_t v = out->size;
    if (!rc) rc = der_oid(out, s->gmt ? OID_GMT_DATA : OID_PKCS7_DATA);
    return rc ? rc : wrap_attr(out, mark, v);
}

static int attr_signing_time(fb_buf *out, int64_t when)
{
    size_t mark = out->size;
    int rc = der_oid(out, OID_SIGNING_TIME);
    size_t v = out->size;
    /* UTCTime for 1950-2049 and GeneralizedTime after, as RFC 5652 says;
     * ASN1_TIME_set picks the same way. */
    ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)when);
    if (!rc) rc = t ? put_time(out, t) : fb_fail_oom();
    ASN1_TIME_free(t);
    return rc ? rc : wrap_attr(out, mark, v);
}

static int attr_message_digest(fb_buf *out, const signer *s, const void *data, size_t len)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(data, len, md, &md_len, digest_md(s), NULL))
        return fb_fail(FB_ECRYPTO, "cannot hash the content");
    size_t mark = out->size;
    int rc = der_oid(out, OID_MESSAGE_DIGEST);
    size_t v = out->size;
    if (!rc) rc = der_put(out, DER_OCTET_STRING, md, md_len);
    return rc ? rc : wrap_attr(out, mark, v);
}

/* signingCertificateV2 { certs SEQUENCE OF ESSCertIDv2 { hashAlgorithm
 * (omitted for SHA-256, its default), certHash, issuerSerial } }. */
static int attr_signing_cert(fb_buf *out, const signer *s)
{
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(s->cert_der, s->cert_len, md, &md_len, digest_md(s), NULL))
        return fb_fail(FB_ECRYPTO, "cannot hash the certificate");
    size_t mark = out->size;
    int rc = der_oid(out, OID_SIGNING_CERT_V2);
    size_t certs = out->size, id = out->size;
    if (!rc && is_sm2(s)) rc = put_digest_alg(out, s);
    if (!rc) rc = der_put(out, DER_OCTET_STRING, md, md_len);
    size_t is = out->size;
    if (!rc) rc = put_name(out, X509_get_issuer_name(s->cert));
    if (!rc) rc = der_wrap(out, is, DER_CTX4);      /* GeneralName directoryName */
    if (!rc) rc = der_wrap(out, is, DER_SEQUENCE);  /* GeneralNames */
    if (!rc) rc = put_integer(out, X509_get0_serialNumber(s->cert));
    if (!rc) rc = der_wrap(out, is, DER_SEQUENCE);  /* IssuerSerial */
    if (!rc) rc = der_wrap(out, id, DER_SEQUENCE);  /* ESSCertIDv2 */
    if (!rc) rc = der_wrap(out, certs, DER_SEQUENCE);
    if (!rc) rc = der_wrap(out, certs, DER_SEQUENCE); /* SigningCertificateV2 */
    return rc ? rc : wrap_attr(out, mark, certs);
}

typedef struct span {
    size_t at, len;
} span;

static int cmp_span(const void *a, const void *b, const uint8_t *base)
{
    const span *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(base + x->at, base + y->at, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* DER orders a SET OF by the encodings of its elements. */
static int sort_set(fb_buf *attrs, const span *in, size_t n)
{
    span s[4];
    memcpy(s, in, n * sizeof *s);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && cmp_span(&s[j - 1], &s[j], attrs->ptr) > 0; j--) {
            span t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    fb_buf sorted = FB_BUF_INIT;
    int rc = FB_OK;
    for (size_t i = 0; rc == FB_OK && i < n; i++)
        rc = fb_buf_put(&sorted, attrs->ptr + s[i].at, s[i].len);
    if (rc == FB_OK) {
        fb_buf_dispose(attrs);
        *attrs = sorted;
    } else {
        fb_buf_dispose(&sorted);
    }
    return rc;
}

/* The content of the signed attributes SET, DER-ordered. */
static int signed_attrs(fb_buf *attrs, const signer *s, const void *data, size_t len,
                        int64_t when)
{
    span sp[4];
    size_t n = 0, at = 0;
    int rc = attr_content_type(attrs, s);
    sp[n++] = (span){ at, attrs->size - at };
    at = attrs->size;
    if (!rc) rc = attr_signing_time(attrs, when);
    sp[n++] = (span){ at, attrs->size - at };
    at = attrs->size;
    if (!rc) rc = attr_message_digest(attrs, s, data, len);
    sp[n++] = (span){ at, attrs->size - at };
    at = attrs->size;
    if (!rc) rc = attr_signing_cert(attrs, s);
    sp[n++] = (span){ at, attrs->size - at };
    return rc ? rc : sort_set(attrs, sp, n);
}

static int signer_info(fb_buf *out, const signer *s, const fb_buf *attrs, const uint8_t *sig,
                       size_t sig_len)
{
    static const uint8_t version1[] = { DER_INTEGER, 1, 1 };
    size_t mark = out->size;
    int rc = der_raw(out, version1, sizeof version1);
    if (!rc) rc = put_issuer_serial(out, s);
    if (!rc) rc = put_digest_alg(out, s);
    if (!rc) rc = der_put(out, DER_CTX0, attrs->ptr, attrs->size); /* [0] IMPLICIT */
    if (!rc) rc = put_signature_alg(out, s);
    if (!rc) rc = der_put(out, DER_OCTET_STRING, sig, sig_len);
    return rc ? rc : der_wrap(out, mark, DER_SEQUENCE);
}

static int signed_data(fb_buf *out, const signer *s, const fb_buf *attrs, const uint8_t *sig,
                       size_t sig_len)
{
    static const uint8_t version1[] = { DER_INTEGER, 1, 1 };
    size_t mark = out->size;
    int rc = der_oid(out, s->gmt ? OID_GMT_SIGNED_DATA : OID_PKCS7_SIGNED_DATA);
    size_t sd = out->size;
    if (!rc) rc = der_raw(out, version1, sizeof version1);
    size_t algs = out->size;
    if (!rc) rc = put_digest_alg(out, s);
    if (!rc) rc = der_wrap(out, algs, DER_SET);
    size_t encap = out->size;
    if (!rc) rc = der_oid(out, s->gmt ? OID_GMT_DATA : OID_PKCS7_DATA); /* detached */
    if (!rc) rc = der_wrap(out, encap, DER_SEQUENCE);
    if (!rc) rc = der_put(out, DER_CTX0, s->cert_der, s->cert_len); /* certificates */
    size_t infos = out->size;
    if (!rc) rc = signer_info(out, s, attrs, sig, sig_len);
    if (!rc) rc = der_wrap(out, infos, DER_SET);
    if (!rc) rc = der_wrap(out, sd, DER_SEQUENCE);
    if (!rc) rc = der_wrap(out, sd, DER_CTX0); /* [0] EXPLICIT content */
    return rc ? rc : der_wrap(out, mark, DER_SEQUENCE);
}

int fb_cms_sign(fb_port *port, const void *data, size_t len, const fb_sign_options *options,
                fb_buf *out)
{
    if (!port || (!data && len) || !out)
        return fb_fail(FB_EARG, "fb_cms_sign: NULL argument");
    signer s = { .port = port, .alg = fb_port_algorithm(port) };
    s.cert_der = fb_port_certificate(port, &s.cert_len);
    s.cert = fb_port_x509(port);
    s.gmt = options && options->oids == FB_CMS_OIDS_GMT0010 && is_sm2(&s);
    int64_t when = options && options->signing_time ? options->signing_time : (int64_t)time(NULL);
    fb_buf attrs = FB_BUF_INIT, set = FB_BUF_INIT;
    uint8_t sig[1024];
    size_t sig_len = sizeof sig, start = out->size;
    int rc = s.cert ? signed_attrs(&attrs, &s, data, len, when) : fb_fail(FB_ERROR, "bad cert");
    /* The signature covers the attributes as a SET (tag 0x31), not as the
     * [0] IMPLICIT field that carries them (RFC 5652 §5.4). */
    if (!rc) rc = der_put(&set, DER_SET, attrs.ptr, attrs.size);
    if (!rc) rc = fb_port_sign(port, set.ptr, set.size, sig, &sig_len);
    if (!rc) rc = signed_data(out, &s, &attrs, sig, sig_len);
    if (rc && out->ptr)
        out->size = start, out->ptr[start] = '\0';
    fb_buf_dispose(&attrs);
    fb_buf_dispose(&set);
    return rc;
}
