/* Signature nodes: writing them, and checking one against the bytes it
 * covers. The form is in specs/signature-format.md. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include "common/internal.h"
#include "document/xmlout.h"
#include "ports/alg.h"
#include "sign/node.h"

void fb_node_time(int64_t when, char out[15])
{
    time_t t = (time_t)(when + 8 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 15, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int fb_node_seal_hash(X509 *cert, char out[65])
{
    uint8_t *der = NULL, h[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int len = i2d_X509(cert, &der);
    EVP_PKEY *k = X509_get0_pubkey(cert);
    const EVP_MD *md = k && fb_alg_key_is_sm2(k) ? EVP_sm3() : EVP_sha256();
    int ok = len > 0 && EVP_Digest(der, (size_t)len, h, &n, md, NULL) && n == 32;
    OPENSSL_free(der);
    if (!ok)
        return fb_fail(FB_ECRYPTO, "cannot hash the certificate");
    static const char hex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[h[i] >> 4];
        out[2 * i + 1] = hex[h[i] & 15];
    }
    out[2 * n] = '\0';
    return FB_OK;
}

/* Upper-case hex without leading zeros (BN_bn2hex writes whole bytes). */
static char *serial_hex(X509 *cert)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    BN_free(bn);
    if (hex) {
        char *digits = hex + (hex[0] == '-');
        size_t skip = strspn(digits, "0");
        if (digits[skip] == '\0' && skip)
            skip--;
        memmove(digits, digits + skip, strlen(digits + skip) + 1);
    }
    return hex;
}

void fb_node_serial(X509 *cert, char *out, size_t size)
{
    char *hex = serial_hex(cert);
    snprintf(out, size, "%s", hex ? hex : "");
    OPENSSL_free(hex);
}

static char *base64(const uint8_t *der, size_t len)
{
    char *b64 = malloc(4 * ((len + 2) / 3) + 1);
    if (b64)
        EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
    return b64;
}

int fb_node_write(fb_buf *out, const char *name, fb_sig_alg alg, int64_t when, X509 *cert,
                  const uint8_t *cms, size_t cms_len)
{
    char time_text[15];
    fb_node_time(when, time_text);
    char *serial = serial_hex(cert), *value = base64(cms, cms_len);
    int rc = serial && value ? FB_OK : fb_fail_oom();
    /* A reader takes at most FB_VALUE_MAX bytes a value: a longer
     * signature (a large certificate) would make a bill nobody can read. */
    if (!rc && strlen(value) > FB_VALUE_MAX)
        rc = fb_fail(FB_ELIMIT, "%s/SignatureValue: the signature with its certificate is %zu "
                     "bytes of Base64, more than the %d a value holds", name, strlen(value),
                     FB_VALUE_MAX);
    size_t start = out->size;
    if (!rc) rc = fb_xml_put_open(out, name);
    if (!rc) rc = fb_xml_put_leaf(out, "SignatureFormat", "DETACH");
    if (!rc) rc = fb_xml_put_leaf(out, "SignatureAlgorithm", fb_sig_alg_name(alg));
    if (!rc) rc = fb_xml_put_leaf(out, "SignatureTime", time_text);
    if (!rc) rc = fb_xml_put_leaf(out, "SerialNumber", serial);
    if (!rc) rc = fb_xml_put_leaf(out, "SignatureValue", value);
    if (!rc) rc = fb_xml_put_close(out, name);
    if (rc && out->ptr)
        out->size = start;
    OPENSSL_free(serial);
    free(value);
    return rc;
}

static int node_fail(fb_cms_fault *fault, fb_cms_fault f, const char *node, const char *why)
{
    *fault = f;
    return fb_fail(f == FB_CMS_UNSUPPORTED ? FB_EUNSUPPORTED : FB_EFORMAT, "%s: %s", node, why);
}

/* Decode the Base64 SignatureValue (whitespace allowed between groups). */
static int decode_value(const char *b64, uint8_t **der, size_t *len)
{
    size_t n = strlen(b64), k = 0;
    char *clean = malloc(n + 1);
    if (!clean)
        return fb_fail_oom();
    for (size_t i = 0; i < n; i++)
        if (b64[i] != ' ' && b64[i] != '\n' && b64[i] != '\r' && b64[i] != '\t')
            clean[k++] = b64[i];
    *der = malloc(k / 4 * 3 + 3);
    int out = k % 4 == 0 && *der ? EVP_DecodeBlock(*der, (unsigned char *)clean, (int)k) : -1;
    size_t pad = k >= 2 ? (clean[k - 1] == '=') + (clean[k - 2] == '=') : 0;
    free(clean);
    if (out < 0 || (size_t)out < pad) {
        free(*der);
        *der = NULL;
        return FB_EFORMAT;
    }
    *len = (size_t)out - pad;
    return FB_OK;
}

static int fields_agree(const fb_document *doc, size_t i, const fb_cms *cms, const char *node,
                        fb_cms_fault *fault)
{
    static const char *const children[] = { "SignatureFormat", "SignatureAlgorithm",
                                             "SignatureTime", "SerialNumber" };
    for (size_t k = 0; k < FB_ARRAY_LEN(children); k++)
        if (!fb_document_signature_value(doc, i, children[k])) {
            char why[80];
            snprintf(why, sizeof why, "%s is missing", children[k]);
            return node_fail(fault, FB_CMS_FORMAT, node, why);
        }
    const char *format = fb_document_signature_value(doc, i, "SignatureFormat");
    const char *alg = fb_document_signature_value(doc, i, "SignatureAlgorithm");
    const char *serial = fb_document_signature_value(doc, i, "SerialNumber");
    if (strcmp(format, "DETACH"))
        return node_fail(fault, FB_CMS_UNSUPPORTED, node, "SignatureFormat is not DETACH");
    if (strcmp(alg, fb_sig_alg_name(cms->alg)))
        return node_fail(fault, FB_CMS_FORMAT, node,
                         "SignatureAlgorithm does not match the signature's algorithm");
    char *hex = serial_hex(cms->cert);
    bool same = hex && !strcasecmp(serial, hex);
    OPENSSL_free(hex);
    if (!same)
        return node_fail(fault, FB_CMS_FORMAT, node,
                         "SerialNumber does not match the signer's certificate");
    return FB_OK;
}

int fb_node_check(const fb_document *doc, size_t i, const void *covered, size_t len,
                  const char *sm2_id, fb_certcache *certs, fb_cms *cms, fb_cms_fault *fault)
{
    const char *node;
    memset(cms, 0, sizeof *cms);
    *fault = FB_CMS_OK;
    if (fb_document_signature(doc, i, &node, NULL, NULL))
        return node_fail(fault, FB_CMS_FORMAT, "EInvoiceSignature", "the node is missing");
    const char *value = fb_document_signature_value(doc, i, "SignatureValue");
    uint8_t *der = NULL;
    size_t der_len = 0;
    if (!value || decode_value(value, &der, &der_len))
        return node_fail(fault, FB_CMS_FORMAT, node, "SignatureValue is missing or not Base64");
    int rc = fb_cms_parse_cached(der, der_len, certs, cms, fault);
    if (rc) {
        free(der);
        return fb_fail(rc, "%s: %s", node, fb_last_error());
    }
    rc = fields_agree(doc, i, cms, node, fault);
    if (!rc && (rc = fb_cms_check(cms, covered, len, sm2_id, fault)))
        fb_fail(rc, "%s: %s", node, fb_last_error());
    /* fb_cms points into der; keep the DER alive with the certificate's
     * data copied out: only the parsed fields the caller reads afterwards
     * (cert, certs, alg, signing time) must stay valid. */
    cms->attrs = NULL;
    cms->sig = NULL;
    cms->message_digest = NULL;
    cms->ess_hash = NULL;
    free(der);
    return rc;
}
