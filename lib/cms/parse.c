/* Parsing detached SignedData from any issuer: a strict walk over the DER
 * with bounds on every length, accepting PKCS#7 and GM/T 0010 content
 * types, signer identification by issuer and serial or by key identifier,
 * and signed attributes or none. */
#include <string.h>
#include <time.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include "cms/cms.h"
#include "common/asn1time.h"
#include "cms/der.h"
#include "cms/oids.h"

typedef struct walk {
    fb_cms *out;
    fb_cms_fault *fault;
    fb_certcache *certs;
    const uint8_t *sid;
    size_t sid_len;
    uint8_t sid_tag;
    char digest_oid[80];
    char sig_oid[80];
} walk;

static int bad(walk *w, fb_cms_fault fault, const char *what)
{
    *w->fault = fault;
    return fb_fail(fault == FB_CMS_UNSUPPORTED ? FB_EUNSUPPORTED : FB_EFORMAT,
                   "signature value: %s", what);
}

/* The dotted text of an OID element (tag included). */
static bool oid_text_openssl(const uint8_t *whole, size_t len, char out[80])
{
    const uint8_t *p = whole;
    ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, (long)len);
    bool ok = o && p == whole + len && OBJ_obj2txt(out, 80, o, 1) > 0;
    ASN1_OBJECT_free(o);
    return ok;
}

static size_t put_arc(char *out, size_t at, uint64_t arc)
{
    char digits[20];
    size_t n = 0;
    do
        digits[n++] = (char)('0' + arc % 10);
    while ((arc /= 10) && n < sizeof digits);
    if (at + n + 2 > 80)
        return 0;
    if (at)
        out[at++] = '.';
    while (n)
        out[at++] = digits[--n];
    out[at] = '\0';
    return at;
}

/* Dotted text of a DER OID (whole TLV). Decoded here because OpenSSL's
 * d2i_ASN1_OBJECT + OBJ_obj2txt were a tenth of checking a signature; the
 * rare OID this cannot take (long form, arcs past 64 bits, long text) goes
 * to OpenSSL, which also refuses what DER forbids. */
static bool oid_text(const uint8_t *whole, size_t len, char out[80])
{
    if (len < 3 || len > 2 + 0x7f || whole[1] != len - 2)
        return oid_text_openssl(whole, len, out);
    size_t at = 0;
    uint64_t arc = 0;
    bool first = true;
    for (size_t i = 2; i < len; i++) {
        if ((arc == 0 && whole[i] == 0x80) || arc >> 56)
            return oid_text_openssl(whole, len, out); /* not minimal, or too large */
        arc = arc << 7 | (whole[i] & 0x7f);
        if (whole[i] & 0x80)
            continue;
        if (first) {
            unsigned top = arc < 40 ? 0 : arc < 80 ? 1 : 2;
            at = put_arc(out, 0, top);
            arc -= 40u * top;
            first = false;
        }
        if (!(at = put_arc(out, at, arc)))
            return oid_text_openssl(whole, len, out);
        arc = 0;
    }
    return whole[len - 1] & 0x80 ? oid_text_openssl(whole, len, out) : true;
}

static bool next_oid(der_reader *r, char out[80])
{
    uint8_t tag;
    der_reader c;
    const uint8_t *whole;
    size_t len;
    return der_next(r, &tag, &c, &whole, &len) && tag == DER_OID && oid_text(whole, len, out);
}

/* AlgorithmIdentifier: only the OID matters here (PSS parameters are
 * checked by the verifier of the signature itself). */
static bool next_alg(der_reader *r, char out[80])
{
    uint8_t tag;
    der_reader c;
    return der_next(r, &tag, &c, NULL, NULL) && tag == DER_SEQUENCE && next_oid(&c, out);
}

static int map_algorithm(walk *w)
{
    const char *d = w->digest_oid, *s = w->sig_oid;
    bool sm3 = !strcmp(d, OID_SM3), sha256 = !strcmp(d, OID_SHA256);
    if (sm3 && (!strcmp(s, OID_SM2_SM3) || !strcmp(s, OID_SM2_SIGN) ||
                !strcmp(s, "1.2.156.10197.1.301")))
        w->out->alg = FB_SIG_SM2_SM3;
    else if (sha256 && (!strcmp(s, OID_ECDSA_SHA256) || !strcmp(s, "1.2.840.10045.2.1")))
        w->out->alg = FB_SIG_ECDSA_SHA256;
    else if (sha256 && (!strcmp(s, OID_RSA) || !strcmp(s, OID_SHA256_RSA)))
        w->out->alg = FB_SIG_RSA_SHA256;
    else if (sha256 && !strcmp(s, OID_RSA_PSS))
        w->out->alg = FB_SIG_RSA_PSS_SHA256;
    else {
        char why[200];
        snprintf(why, sizeof why, "digest %s with signature algorithm %s is not supported", d, s);
        return bad(w, FB_CMS_UNSUPPORTED, why);
    }
    return FB_OK;
}

static bool read_time(const uint8_t *whole, size_t len, int64_t *out)
{
    const uint8_t *p = whole;
    ASN1_TIME *t = d2i_ASN1_TIME(NULL, &p, (long)len);
    bool ok = t && p == whole + len && fb_asn1_time_seconds(t, out);
    ASN1_TIME_free(t);
    return ok;
}

/* signingCertificateV2: the first ESSCertIDv2's hash and its algorithm. */
static bool read_ess(walk *w, der_reader v)
{
    uint8_t tag;
    der_reader sc, certs, id;
    if (!der_next(&v, &tag, &sc, NULL, NULL) || tag != DER_SEQUENCE ||
        !der_next(&sc, &tag, &certs, NULL, NULL) || tag != DER_SEQUENCE ||
        !der_next(&certs, &tag, &id, NULL, NULL) || tag != DER_SEQUENCE)
        return false;
    der_reader peek = id, c;
    char alg[80] = OID_SHA256;
    if (der_next(&peek, &tag, &c, NULL, NULL) && tag == DER_SEQUENCE) {
        if (!next_alg(&id, alg))
            return false;
    }
    if (strcmp(alg, OID_SHA256) && strcmp(alg, OID_SM3))
        return false;
    if (!der_next(&id, &tag, &c, NULL, NULL) || tag != DER_OCTET_STRING)
        return false;
    w->out->ess_hash = c.p;
    w->out->ess_hash_len = (size_t)(c.end - c.p);
    w->out->ess_sm3 = !strcmp(alg, OID_SM3);
    return true;
}

static int read_attr(walk *w, der_reader a, unsigned *seen)
{
    char oid[80];
    uint8_t tag;
    der_reader set, v;
    const uint8_t *whole;
    size_t len;
    if (!next_oid(&a, oid) || !der_next(&a, &tag, &set, NULL, NULL) || tag != DER_SET)
        return bad(w, FB_CMS_FORMAT, "a signed attribute is malformed");
    static const char *const known[] = { OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, OID_SIGNING_TIME,
                                         OID_SIGNING_CERT_V2 };
    for (unsigned i = 0; i < 4; i++) {
        if (strcmp(oid, known[i]))
            continue;
        if (*seen & (1u << i))
            return bad(w, FB_CMS_FORMAT, "a signed attribute appears twice");
        *seen |= 1u << i;
        der_reader one = set;
        if (!der_next(&one, &tag, &v, &whole, &len) || one.p != one.end)
            return bad(w, FB_CMS_FORMAT, "a signed attribute must hold exactly one value");
        char data_oid[80];
        bool ok = true;
        if (i == 0) {
            ok = tag == DER_OID && oid_text(whole, len, data_oid) &&
                 !strcmp(data_oid, w->out->gmt_oids ? OID_GMT_DATA : OID_PKCS7_DATA);
        } else if (i == 1) {
            ok = tag == DER_OCTET_STRING;
            w->out->message_digest = v.p;
            w->out->message_digest_len = (size_t)(v.end - v.p);
        } else if (i == 2) {
            ok = w->out->has_signing_time = read_time(whole, len, &w->out->signing_time);
        } else {
            ok = read_ess(w, set);
        }
        if (!ok)
            return bad(w, FB_CMS_FORMAT, i == 0 ? "contentType is not the data type of this "
                       "SignedData" : "a signed attribute has a malformed value");
    }
    return FB_OK;
}

static int read_attrs(walk *w, der_reader attrs)
{
    unsigned seen = 0;
    while (attrs.p < attrs.end) {
        uint8_t tag;
        der_reader a;
        if (!der_next(&attrs, &tag, &a, NULL, NULL) || tag != DER_SEQUENCE)
            return bad(w, FB_CMS_FORMAT, "the signed attributes are malformed");
        int rc = read_attr(w, a, &seen);
        if (rc)
            return rc;
    }
    if ((seen & 3) != 3)
        return bad(w, FB_CMS_FORMAT, "signed attributes without contentType and messageDigest");
    return FB_OK;
}

static int read_signer_info(walk *w, der_reader si)
{
    uint8_t tag;
    der_reader c, attrs;
    const uint8_t *whole;
    size_t len;
    if (!der_next(&si, &tag, &c, NULL, NULL) || tag != DER_INTEGER ||
        !der_next(&si, &w->sid_tag, &c, &whole, &len) ||
        (w->sid_tag != DER_SEQUENCE && w->sid_tag != 0x80) || !next_alg(&si, w->digest_oid))
        return bad(w, FB_CMS_FORMAT, "the SignerInfo is malformed");
    w->sid = w->sid_tag == DER_SEQUENCE ? whole : c.p;
    w->sid_len = w->sid_tag == DER_SEQUENCE ? len : (size_t)(c.end - c.p);
    der_reader peek = si;
    if (der_next(&peek, &tag, &attrs, NULL, NULL) && tag == DER_CTX0) {
        si = peek;
        w->out->attrs = attrs.p;
        w->out->attrs_len = (size_t)(attrs.end - attrs.p);
        int rc = read_attrs(w, attrs);
        if (rc)
            return rc;
    }
    if (!next_alg(&si, w->sig_oid) || !der_next(&si, &tag, &c, NULL, NULL) ||
        tag != DER_OCTET_STRING || c.p == c.end)
        return bad(w, FB_CMS_FORMAT, "the SignerInfo has no signature");
    w->out->sig = c.p;
    w->out->sig_len = (size_t)(c.end - c.p);
    return map_algorithm(w);
}

static int read_certs(walk *w, der_reader certs)
{
    w->out->certs = sk_X509_new_null();
    if (!w->out->certs)
        return fb_fail_oom();
    while (certs.p < certs.end) {
        uint8_t tag;
        der_reader c;
        const uint8_t *whole;
        size_t len;
        if (!der_next(&certs, &tag, &c, &whole, &len) || tag != DER_SEQUENCE)
            return bad(w, FB_CMS_FORMAT, "a carried certificate is malformed");
        X509 *x = fb_certcache_get(w->certs, whole, len);
        if (!x || !sk_X509_push(w->out->certs, x)) {
            X509_free(x);
            return bad(w, FB_CMS_FORMAT, "a carried certificate does not parse");
        }
    }
    return FB_OK;
}

/* A signer normally copies its certificate's issuer name byte for byte;
 * anything else is compared the slow way, as X509_NAME_cmp does. */
static bool name_matches(const uint8_t *der, size_t len, const X509_NAME *issuer)
{
    const unsigned char *have;
    size_t have_len;
    if (X509_NAME_get0_der(issuer, &have, &have_len) && have_len == len &&
        !memcmp(have, der, len))
        return true;
    X509_NAME *n = d2i_X509_NAME(NULL, &der, (long)len);
    bool ok = n && !X509_NAME_cmp(n, issuer);
    X509_NAME_free(n);
    return ok;
}

static bool sid_matches(const walk *w, X509 *x)
{
    if (w->sid_tag == 0x80) {
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
        return ski && (size_t)ASN1_STRING_length(ski) == w->sid_len &&
               !memcmp(ASN1_STRING_get0_data(ski), w->sid, w->sid_len);
    }
    der_reader r = { w->sid, w->sid + w->sid_len }, ias, skip;
    uint8_t tag;
    const uint8_t *name, *serial;
    size_t name_len, serial_len;
    if (!der_next(&r, &tag, &ias, NULL, NULL) ||
        !der_next(&ias, &tag, &skip, &name, &name_len) || tag != DER_SEQUENCE ||
        !der_next(&ias, &tag, &skip, &serial, &serial_len) || tag != DER_INTEGER)
        return false;
    ASN1_INTEGER *i = d2i_ASN1_INTEGER(NULL, &serial, (long)serial_len);
    bool ok = i && !ASN1_INTEGER_cmp(i, X509_get0_serialNumber(x)) &&
              name_matches(name, name_len, X509_get_issuer_name(x));
    ASN1_INTEGER_free(i);
    return ok;
}

static int find_signer(walk *w)
{
    for (int i = 0; w->out->certs && i < sk_X509_num(w->out->certs); i++) {
        X509 *x = sk_X509_value(w->out->certs, i);
        if (sid_matches(w, x)) {
            X509_up_ref(x);
            w->out->cert = x;
            return FB_OK;
        }
    }
    return bad(w, FB_CMS_FORMAT, "it does not carry the signer's certificate");
}

static int read_signed_data(walk *w, der_reader sd)
{
    uint8_t tag;
    der_reader c, encap, infos, si;
    char oid[80];
    if (!der_next(&sd, &tag, &c, NULL, NULL) || tag != DER_INTEGER ||
        !der_next(&sd, &tag, &c, NULL, NULL) || tag != DER_SET ||
        !der_next(&sd, &tag, &encap, NULL, NULL) || tag != DER_SEQUENCE || !next_oid(&encap, oid))
        return bad(w, FB_CMS_FORMAT, "the SignedData is malformed");
    if (strcmp(oid, w->out->gmt_oids ? OID_GMT_DATA : OID_PKCS7_DATA))
        return bad(w, FB_CMS_FORMAT, "the signed content is not of the data type");
    if (encap.p != encap.end)
        return bad(w, FB_CMS_FORMAT, "the signature carries its content; bills use detached "
                   "signatures");
    int rc = FB_OK;
    der_reader peek = sd;
    if (der_next(&peek, &tag, &c, NULL, NULL) && tag == DER_CTX0) {
        sd = peek;
        if ((rc = read_certs(w, c)))
            return rc;
    }
    peek = sd;
    if (der_next(&peek, &tag, &c, NULL, NULL) && tag == DER_CTX1)
        sd = peek; /* CRLs are taken from the verifier's configuration */
    if (!der_next(&sd, &tag, &infos, NULL, NULL) || tag != DER_SET || sd.p != sd.end ||
        !der_next(&infos, &tag, &si, NULL, NULL) || tag != DER_SEQUENCE)
        return bad(w, FB_CMS_FORMAT, "the SignedData has no SignerInfo");
    if (infos.p != infos.end)
        return bad(w, FB_CMS_FORMAT, "the SignedData has more than one signer");
    rc = read_signer_info(w, si);
    return rc ? rc : find_signer(w);
}

int fb_cms_parse(const uint8_t *der, size_t len, fb_cms *out, fb_cms_fault *fault)
{
    return fb_cms_parse_cached(der, len, NULL, out, fault);
}

int fb_cms_parse_cached(const uint8_t *der, size_t len, fb_certcache *certs, fb_cms *out,
                        fb_cms_fault *fault)
{
    memset(out, 0, sizeof *out);
    *fault = FB_CMS_OK;
    walk w = { .out = out, .fault = fault, .certs = certs };
    der_reader r = { der, der + len }, ci, content, sd;
    uint8_t tag;
    char oid[80];
    int rc;
    if (!der || !der_next(&r, &tag, &ci, NULL, NULL) || tag != DER_SEQUENCE || r.p != r.end ||
        !next_oid(&ci, oid))
        rc = bad(&w, FB_CMS_FORMAT, "not a DER ContentInfo");
    else if (strcmp(oid, OID_PKCS7_SIGNED_DATA) && strcmp(oid, OID_GMT_SIGNED_DATA))
        rc = bad(&w, FB_CMS_FORMAT, "not a SignedData");
    else if (!der_next(&ci, &tag, &content, NULL, NULL) || tag != DER_CTX0 || ci.p != ci.end ||
             !der_next(&content, &tag, &sd, NULL, NULL) || tag != DER_SEQUENCE ||
             content.p != content.end)
        rc = bad(&w, FB_CMS_FORMAT, "the SignedData is malformed");
    else {
        out->gmt_oids = !strcmp(oid, OID_GMT_SIGNED_DATA);
        rc = read_signed_data(&w, sd);
    }
    if (rc)
        fb_cms_clear(out);
    return rc;
}

void fb_cms_clear(fb_cms *cms)
{
    X509_free(cms->cert);
    sk_X509_pop_free(cms->certs, X509_free);
    memset(cms, 0, sizeof *cms);
}
