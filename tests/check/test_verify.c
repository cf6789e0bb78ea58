/* Verification (include/fiscalbill/verify.h, specs/signature-format.md):
 * bills issued and sealed at SoftHSM tokens and key files of the PKCS#11
 * fixture (tests/p11/fixture.sh), then genuine (EC, RSA, RSA-PSS, SM2, GM/T
 * OIDs, CMS made by the openssl command), tampered field by field, spliced,
 * wrapped, broken, badly certified, revoked and inconsistent, each checked
 * for its overall state, sub-indication, the check that decided it and a
 * sentence that names what is concerned; then one trust object shared by
 * eight threads, and the path cache. Bills the library refuses to issue or
 * seal are built here by hand, node by node, as specs/signature-format.md
 * lays them out.
 *
 * Extra certificates (expired, not yet valid, without the signing key
 * usages, revoked, under an intermediate CA, an SM2 bureau) and CRLs are made
 * at test time with the openssl command, by the fixture's EC and SM2 roots.
 * Everything is built once, before Check forks, in an unchecked fixture. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include "fbt.h"
#include "fbt_tokens.h"

#define PIN "1234"
#define SEAL_ID "652300"
#define SEAL_NAME "昌吉回族自治州财政局票据监制章"
#define AREA "652300"
#define DAY ((int64_t)24 * 3600)
#define YEAR (366 * DAY)
/* Times relative to base, when the fixture was made (certificates can only
 * be valid after their root, made then): the "expired" and "edge"
 * certificates are valid for the first day, "notyet" from day 10 to day 20;
 * root-ec-later.crl is issued on day 3. Signing times in the future are
 * what a test can make. */
static int64_t base;
#define T_EDGE (base + DAY) /* notAfter of the expired and edge certificates */
#define T_LATE (base + 2 * DAY)

/* ---- failing, in setup (before Check forks) and in tests ---- */

static const fbt_tokens *T;
static char PKI[700]; /* DIR/vpki: the certificates made here */
static bool in_setup;

__attribute__((format(printf, 3, 4), noreturn))
static void fail_now(const char *file, int line, const char *fmt, ...)
{
    char msg[12000];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (in_setup) {
        fflush(stdout);
        fprintf(stderr, "test_verify: setup failed at %s:%d: %s\n", file, line, msg);
        /* abort() skips fbt_tokens' clean-up at exit. */
        const char *keep = getenv("FBT_KEEP_TOKENS");
        if (T && T->dir[0] && !(keep && keep[0] && strcmp(keep, "0"))) {
            char cmd[700];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", T->dir);
            if (system(cmd) != 0)
                fprintf(stderr, "test_verify: cannot remove %s\n", T->dir);
        } else if (T) {
            fprintf(stderr, "test_verify: keeping %s\n", T->dir);
        }
        abort();
    }
    ck_abort_msg("%s:%d: %s", file, line, msg);
    abort(); /* not reached */
}

#define NEED(cond, ...)                                                                    \
    do {                                                                                   \
        if (!(cond))                                                                       \
            fail_now(__FILE__, __LINE__, __VA_ARGS__);                                     \
    } while (0)

/* ---- bytes ---- */

static fbt_bytes bytes_of(const void *p, size_t n)
{
    fbt_bytes b = { malloc(n + 1), n };
    NEED(b.p != NULL, "out of memory");
    if (n)
        memcpy(b.p, p, n);
    b.p[n] = '\0';
    return b;
}

static fbt_bytes bytes_buf(fb_buf *buf)
{
    fbt_bytes b = bytes_of(buf->ptr, buf->size);
    fb_buf_dispose(buf);
    return b;
}

static size_t find_from(const fbt_bytes *b, const char *needle, size_t from)
{
    size_t n = strlen(needle);
    for (size_t i = from; i + n <= b->n; i++)
        if (memcmp(b->p + i, needle, n) == 0)
            return i;
    return SIZE_MAX;
}

static size_t must_find(const fbt_bytes *b, const char *needle, size_t from)
{
    size_t at = find_from(b, needle, from);
    NEED(at != SIZE_MAX, "\"%s\" not found in the document", needle);
    return at;
}

/* b with [off, off+len) replaced by with[0..with_len). */
static fbt_bytes splice(const fbt_bytes *b, size_t off, size_t len, const void *with,
                        size_t with_len)
{
    NEED(off + len <= b->n, "splice out of range");
    fbt_bytes r = { malloc(b->n - len + with_len + 1), b->n - len + with_len };
    NEED(r.p != NULL, "out of memory");
    memcpy(r.p, b->p, off);
    memcpy(r.p + off, with, with_len);
    memcpy(r.p + off + with_len, b->p + off + len, b->n - off - len);
    r.p[r.n] = '\0';
    return r;
}

static fbt_bytes insert_at(const fbt_bytes *b, size_t off, const char *text)
{
    return splice(b, off, 0, text, strlen(text));
}

/* Where the whole element <name>...</name> (the first at or after from) is. */
static void element(const fbt_bytes *b, const char *name, size_t from, size_t *off, size_t *len)
{
    char open[100], close[100];
    snprintf(open, sizeof open, "<%s>", name);
    snprintf(close, sizeof close, "</%s>", name);
    *off = must_find(b, open, from);
    size_t end = must_find(b, close, *off) + strlen(close);
    *len = end - *off;
}

/* Where the text of the first <name>text</name> is. */
static void text_of(const fbt_bytes *b, const char *name, size_t *off, size_t *len)
{
    char open[100], close[100];
    snprintf(open, sizeof open, "<%s>", name);
    snprintf(close, sizeof close, "</%s>", name);
    *off = must_find(b, open, 0) + strlen(open);
    *len = must_find(b, close, *off) - *off;
}

static fbt_bytes replace_text(const fbt_bytes *b, const char *name, const char *with)
{
    size_t off, len;
    text_of(b, name, &off, &len);
    return splice(b, off, len, with, strlen(with));
}

static void bytes_free(fbt_bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->n = 0;
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    NEED(f != NULL, "cannot write %s: %s", path, strerror(errno));
    NEED(fwrite(p, 1, n, f) == n, "cannot write %s", path);
    NEED(fclose(f) == 0, "cannot write %s", path);
}

/* ---- certificates, independently of the library ---- */

static X509 *cert_of_der(const uint8_t *der, size_t len)
{
    const uint8_t *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    NEED(x != NULL, "not a DER certificate");
    return x;
}

static bool is_sm2(X509 *x)
{
    char group[64] = "";
    EVP_PKEY *k = X509_get0_pubkey(x);
    return k && (EVP_PKEY_is_a(k, "SM2") ||
                 (EVP_PKEY_get_group_name(k, group, sizeof group, NULL) &&
                  strcmp(group, "SM2") == 0));
}

/* specs/signature-format.md §4: lower-case hex SM3 (SM2 keys) or SHA-256
 * of the certificate's DER. */
static void seal_hash(X509 *x, char out[65])
{
    uint8_t *der = NULL, h[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int len = i2d_X509(x, &der);
    NEED(len > 0 && EVP_Digest(der, (size_t)len, h, &n, is_sm2(x) ? EVP_sm3() : EVP_sha256(),
                               NULL) && n == 32, "cannot hash a certificate");
    OPENSSL_free(der);
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void serial_hex(X509 *x, char *out, size_t size)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    NEED(hex != NULL, "cannot read a serial number");
    /* specs/signature-format.md §1: upper-case hex, no leading zeros. */
    const char *digits = hex + strspn(hex, "0");
    snprintf(out, size, "%s", *digits ? digits : "0");
    OPENSSL_free(hex);
    BN_free(bn);
}

/* yyyyMMddHHmmss in UTC+8. */
static void cst(int64_t when, char out[15])
{
    time_t t = (time_t)(when + 8 * 3600);
    struct tm tm;
    gmtime_r(&t, &tm);
    NEED(strftime(out, 15, "%Y%m%d%H%M%S", &tm) == 14, "cannot format a time");
}

/* ---- ports ---- */

static fb_port *open_token(const char *token)
{
    char uri[1200];
    snprintf(uri, sizeof uri, "pkcs11:token=%s;id=%%01?module-path=%s&pin-value=" PIN, token,
             T->module);
    fb_port *p = NULL;
    int rc = fb_port_open(&p, uri, NULL);
    NEED(rc == FB_OK, "cannot open token %s: %s", token, fb_last_error());
    return p;
}

/* A key file: key and cert are paths, or relative to the fixture dir. */
static fb_port *open_file(const char *key, const char *cert, const char *sm2_id, int pss)
{
    char uri[1200], cert_path[1200];
    snprintf(uri, sizeof uri, "file:%s", key[0] == '/' ? key : fbt_token_path(key));
    snprintf(cert_path, sizeof cert_path, "%s", cert[0] == '/' ? cert : fbt_token_path(cert));
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.cert_path = cert_path;
    o.sm2_id = sm2_id;
    o.rsa_pss = pss;
    fb_port *p = NULL;
    int rc = fb_port_open(&p, uri, &o);
    NEED(rc == FB_OK, "cannot open %s: %s", uri, fb_last_error());
    return p;
}

static const char *pki(const char *name)
{
    static _Thread_local char bufs[8][800];
    static _Thread_local unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", PKI, name);
    return b;
}

static X509 *port_cert(fb_port *p)
{
    size_t len = 0;
    const uint8_t *der = fb_port_certificate(p, &len);
    NEED(der != NULL, "the port has no certificate");
    return cert_of_der(der, len);
}

/* ---- bills ---- */

static const char *const goldens[] = { "medical-outpatient", "medical-inpatient", "donation",
                                       "membership-fee", "funds-settlement" };
#define N_GOLDEN (sizeof goldens / sizeof goldens[0])

/* A golden bill that names bureau's seal (SupervisorPartySeal). */
static fb_bill *golden_bill(const char *name, fb_port *bureau)
{
    fbt_bytes g = fbt_golden(name);
    fb_document *doc = NULL;
    int rc = fb_document_parse(&doc, g.p, g.n, NULL);
    NEED(rc == FB_OK, "%s: %s", name, fb_last_error());
    fb_bill *b = NULL;
    NEED(fb_bill_dup(fb_document_bill(doc), &b) == FB_OK, "fb_bill_dup");
    fb_document_free(doc);
    bytes_free(&g);
    char hash[65];
    X509 *x = port_cert(bureau);
    seal_hash(x, hash);
    X509_free(x);
    NEED(fb_bill_set(b, FB_SUPERVISOR_SEAL_ID, SEAL_ID) == FB_OK &&
             fb_bill_set(b, FB_SUPERVISOR_SEAL_NAME, SEAL_NAME) == FB_OK &&
             fb_bill_set(b, FB_SUPERVISOR_SEAL_HASH, hash) == FB_OK,
         "setting the supervisor seal: %s", fb_last_error());
    return b;
}

static void set_field(fb_bill *b, fb_field f, const char *v)
{
    NEED(fb_bill_set(b, f, v) == FB_OK, "setting %s: %s", fb_field_name(f), fb_last_error());
}

/* Another bill of the same kind: another number (and so another ID). */
static void renumber(fb_bill *b, unsigned number)
{
    char n[11];
    snprintf(n, sizeof n, "%010u", number);
    set_field(b, FB_EINVOICE_NUMBER, n);
    set_field(b, FB_EINVOICE_ID, NULL);
    NEED(fb_bill_fill_derived(b) == FB_OK, "fb_bill_fill_derived: %s", fb_last_error());
}

static fbt_bytes issue(fb_port *unit, const fb_bill *bill, int64_t when, fb_cms_oids oids)
{
    fb_sign_options so = FB_SIGN_OPTIONS_INIT;
    so.signing_time = when;
    so.oids = oids;
    fb_buf out = FB_BUF_INIT;
    fb_problems *p = NULL;
    int rc = fb_issue(unit, bill, &so, &out, &p);
    NEED(rc == FB_OK, "fb_issue: %s (%s: %s)", fb_last_error(),
         fb_problems_count(p) ? fb_problems_path(p, 0) : "-",
         fb_problems_count(p) ? fb_problems_message(p, 0) : "-");
    fb_problems_free(p);
    return bytes_buf(&out);
}

typedef struct seal_how {
    fb_seal_coverage coverage;
    const char *unit_sm2_id;
    int64_t when;
    fb_cms_oids oids;
} seal_how;

static fbt_bytes seal_with(fb_port *bureau, const fbt_bytes *doc, const fb_trust *trust,
                           const seal_how *how)
{
    fb_seal_options o = FB_SEAL_OPTIONS_INIT;
    o.trust = trust;
    o.seal_id = SEAL_ID;
    o.seal_name = SEAL_NAME;
    o.area_code = AREA;
    if (how) {
        o.coverage = how->coverage;
        o.sm2_id = how->unit_sm2_id;
        o.sign.signing_time = how->when;
        o.sign.oids = how->oids;
    }
    fb_buf out = FB_BUF_INIT;
    int rc = fb_seal(bureau, doc->p, doc->n, &o, &out);
    NEED(rc == FB_OK, "fb_seal: %s", fb_last_error());
    return bytes_buf(&out);
}

/* A signature node as specs/signature-format.md §1 lays it out, for a CMS
 * (DER) made by signer x with algorithm alg. */
static char *node_text(const uint8_t *der, size_t der_len, X509 *x, const char *alg,
                       const char *name, int64_t when)
{
    char serial[100], t[15];
    serial_hex(x, serial, sizeof serial);
    cst(when, t);
    size_t b64_len = 4 * ((der_len + 2) / 3);
    char *b64 = malloc(b64_len + 1);
    NEED(b64 != NULL, "out of memory");
    EVP_EncodeBlock((unsigned char *)b64, der, (int)der_len);
    size_t size = b64_len + 600;
    char *out = malloc(size);
    NEED(out != NULL, "out of memory");
    snprintf(out, size,
             "<%s><SignatureFormat>DETACH</SignatureFormat><SignatureAlgorithm>%s"
             "</SignatureAlgorithm><SignatureTime>%s</SignatureTime><SerialNumber>%s"
             "</SerialNumber><SignatureValue>%s</SignatureValue></%s>",
             name, alg, t, serial, b64, name);
    free(b64);
    return out;
}

static char *port_node(fb_buf *cms, fb_port *port, const char *name, int64_t when)
{
    X509 *x = port_cert(port);
    char *node = node_text(cms->ptr, cms->size, x, fb_sig_alg_name(fb_port_algorithm(port)),
                           name, when);
    X509_free(x);
    fb_buf_dispose(cms);
    return node;
}

/* An unsealed document of the fragment and a unit node. */
static fbt_bytes frame(const fb_buf *frag, const char *node)
{
    static const char head[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><EInvoice>";
    size_t n = strlen(head) + frag->size + strlen(node) + 100;
    char *text = malloc(n);
    NEED(text != NULL, "out of memory");
    snprintf(text, n, "%s%s<EInvoiceSignature>%s</EInvoiceSignature></EInvoice>", head,
             (const char *)frag->ptr, node);
    fbt_bytes b = bytes_of(text, strlen(text));
    free(text);
    return b;
}

static void cms_sign(fb_port *port, const void *data, size_t len, int64_t when, fb_buf *out)
{
    fb_sign_options so = FB_SIGN_OPTIONS_INIT;
    so.signing_time = when;
    int rc = fb_cms_sign(port, data, len, &so, out);
    NEED(rc == FB_OK, "fb_cms_sign: %s", fb_last_error());
}

/* Issue by hand: the bill's fragment as it stands (no derived fields, no
 * SealHash, no validation), signed at unit. */
static fbt_bytes hand_issue(fb_port *unit, const fb_bill *bill, int64_t when)
{
    fb_buf frag = FB_BUF_INIT, cms = FB_BUF_INIT;
    NEED(fb_bill_write_fragment(bill, &frag) == FB_OK, "fb_bill_write_fragment: %s",
         fb_last_error());
    cms_sign(unit, frag.ptr, frag.size, when, &cms);
    char *node = port_node(&cms, unit, "InvoicingPartySignature", when);
    fbt_bytes b = frame(&frag, node);
    free(node);
    fb_buf_dispose(&frag);
    return b;
}

/* Seal by hand (fragment ‖ unit node), whatever the bill holds. */
static fbt_bytes hand_seal(fb_port *bureau, const fbt_bytes *doc, int64_t when)
{
    size_t frag_off = must_find(doc, "<Header>", 0);
    size_t frag_end = must_find(doc, "</EInvoiceData>", 0) + strlen("</EInvoiceData>");
    size_t unit_off, unit_len;
    element(doc, "InvoicingPartySignature", 0, &unit_off, &unit_len);
    fb_buf cms = FB_BUF_INIT;
    uint8_t *c = malloc(frag_end - frag_off + unit_len);
    NEED(c != NULL, "out of memory");
    memcpy(c, doc->p + frag_off, frag_end - frag_off);
    memcpy(c + (frag_end - frag_off), doc->p + unit_off, unit_len);
    cms_sign(bureau, c, frag_end - frag_off + unit_len, when, &cms);
    free(c);
    char *node = port_node(&cms, bureau, "SupervisorPartySignature", when);
    fbt_bytes r = insert_at(doc, unit_off + unit_len, node);
    free(node);
    return r;
}

/* Issue with the openssl command as the unit's signer (an independent CMS
 * implementation): the bill's fragment, SealHash set to cert's. */
static fbt_bytes openssl_issue(const fb_bill *bill, const char *key, const char *cert,
                               const char *alg, const char *args)
{
    fb_bill *b = NULL;
    NEED(fb_bill_dup(bill, &b) == FB_OK, "fb_bill_dup");
    FILE *f = fopen(cert, "r");
    NEED(f != NULL, "cannot read %s", cert);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    NEED(x != NULL, "%s holds no certificate", cert);
    char hash[65];
    seal_hash(x, hash);
    set_field(b, FB_INVOICING_SEAL_HASH, hash);
    fb_buf frag = FB_BUF_INIT;
    NEED(fb_bill_write_fragment(b, &frag) == FB_OK, "fb_bill_write_fragment");
    char in[900], out[900], cmd[4000];
    snprintf(in, sizeof in, "%s/cms-in.xml", PKI);
    snprintf(out, sizeof out, "%s/cms-out.der", PKI);
    write_bytes(in, frag.ptr, frag.size);
    snprintf(cmd, sizeof cmd, "openssl cms -sign -binary -md sha256 -in '%s' -signer '%s' "
             "-inkey '%s' -outform DER -out '%s' %s >>'%s/openssl-cms.log' 2>&1", in, cert, key,
             out, args, PKI);
    NEED(system(cmd) == 0, "%s failed", cmd);
    fbt_bytes der;
    fbt_read_file(out, &der.p, &der.n);
    char *node = node_text(der.p, der.n, x, alg, "InvoicingPartySignature", (int64_t)time(NULL));
    bytes_free(&der);
    fbt_bytes doc = frame(&frag, node);
    free(node);
    fb_buf_dispose(&frag);
    X509_free(x);
    fb_bill_free(b);
    return doc;
}

/* ---- the fixture: certificates, trust, bills ---- */

static fb_trust *trust_all;       /* ca/root-ec.pem and ca/root-sm2.pem */
static fb_trust *trust_sm2_only;  /* ca/root-sm2.pem */
static fb_trust *trust_crl;       /* the EC root and its CRL (one certificate revoked) */
static fb_trust *trust_crl_later; /* the same, with a CRL issued on day 3 */
static fb_trust *trust_other_crl; /* the EC root and another CA's CRL */
static int64_t t_unit, t_seal;    /* signing times of the genuine bills */

typedef struct genuine_case {
    const char *what;
    const char *unit_cn, *bureau_cn;
    const char *unit_alg, *bureau_alg;
    fbt_bytes doc;
    char unit_serial[80], bureau_serial[80];
} genuine_case;

static genuine_case genuine[] = {
    { "EC: port-1 and the bureau token", "CN=Port 1 Operator", "CN=Finance Bureau Signer",
      "SHA256withECDSA", "SHA256withECDSA", { NULL, 0 }, "", "" },
    { "RSA: port-rsa and the bureau token", "CN=Port RSA Operator", "CN=Finance Bureau Signer",
      "SHA256withRSA", "SHA256withECDSA", { NULL, 0 }, "", "" },
    { "SM2: soft-sm2 and an SM2 bureau", "CN=Soft SM2 Operator", "CN=SM2 Bureau Signer",
      "SM3withSM2", "SM3withSM2", { NULL, 0 }, "", "" },
    { "SM2 with GM/T 0010 OIDs", "CN=Soft SM2 Operator", "CN=SM2 Bureau Signer", "SM3withSM2",
      "SM3withSM2", { NULL, 0 }, "", "" },
    { "RSA-PSS: soft-rsa and the bureau token", "CN=Soft RSA Operator",
      "CN=Finance Bureau Signer", "SHA256withRSA/PSS", "SHA256withECDSA", { NULL, 0 }, "", "" },
    { "SM2 unit, EC bureau", "CN=Soft SM2 Operator", "CN=Finance Bureau Signer", "SM3withSM2",
      "SHA256withECDSA", { NULL, 0 }, "", "" },
};
#define N_GENUINE (sizeof genuine / sizeof genuine[0])

static fbt_bytes golden_sealed[N_GOLDEN]; /* soft-ec unit, soft bureau */
static fbt_bytes bill_b;          /* number 2, port-2, the bureau token */
static fbt_bytes bill_b_same;     /* number 2, port-1, the bureau token */
static fbt_bytes unsealed;        /* port-1 only */
static fbt_bytes cover_frag;      /* sealed with coverage "fragment" */
static fbt_bytes cover_unit;      /* sealed with coverage "unit-node" */
static fbt_bytes sm2_alice;       /* soft-sm2 signing with user ID ALICE123 */
static fbt_bytes future;          /* issued for 2099-01-01 */
static fbt_bytes hash_other;      /* SealHash of port-1, signed at port-2 */
static fbt_bytes sup_hash_other;  /* supervisor SealHash of the soft bureau, sealed by the token */
static fbt_bytes unsummed;        /* items do not sum to the total */
static fbt_bytes expired_b;       /* unit certificate expired when it signed */
static fbt_bytes notyet_b;        /* unit certificate not yet valid when it signed */
static fbt_bytes noku_b;          /* unit certificate without signing key usages */
static fbt_bytes revoked_b;       /* unit certificate revoked (in trust_crl's CRL) */
static fbt_bytes stale_b;         /* signed on day 40, after the CRL's nextUpdate */
static fbt_bytes edge_in;         /* signed at the unit certificate's notAfter */
static fbt_bytes edge_out;        /* signed one second after it */
static fbt_bytes bureau_expired;  /* the bureau's certificate expired when it sealed */
static fbt_bytes ossl_attr;       /* unit CMS by "openssl cms -sign": soft-ec */
static fbt_bytes ossl_noattr;     /*   without signed attributes */
static fbt_bytes ossl_keyid;      /*   signer by SubjectKeyIdentifier */
static fbt_bytes ossl_rsa;        /*   soft-rsa */
static fbt_bytes inter_lib;       /* a leaf under an intermediate CA, CMS without it */
static fbt_bytes inter_ossl;      /* the same leaf, CMS carrying the intermediate */

/* The certificates the verification cases need, by the fixture's roots. */
static const char pki_script[] =
    "set -eu\n"
    "D=$1\n"
    "BASE=$2\n"
    "P=$D/vpki\n"
    "at() { date -u -d \"@$((BASE + $1))\" +%Y%m%d%H%M%SZ; }\n"
    "DAY=86400\n"
    "mkdir -p \"$P/newcerts\" \"$P/other/newcerts\"\n"
    ": >\"$P/index.txt\"; echo 2001 >\"$P/serial\"; echo 01 >\"$P/crlnumber\"\n"
    ": >\"$P/other/index.txt\"; echo 01 >\"$P/other/serial\"; echo 01 >\"$P/other/crlnumber\"\n"
    "cat >\"$P/ca.cnf\" <<CNF\n"
    "[ ca ]\ndefault_ca = ec\n"
    "[ ec ]\ndatabase = $P/index.txt\nnew_certs_dir = $P/newcerts\nserial = $P/serial\n"
    "crlnumber = $P/crlnumber\ncertificate = $D/ca/root-ec.pem\nprivate_key = $D/ca/root-ec.key\n"
    "default_md = sha256\ndefault_days = 730\ndefault_crl_days = 30\npolicy = any\n"
    "unique_subject = no\n"
    "[ other ]\ndatabase = $P/other/index.txt\nnew_certs_dir = $P/other/newcerts\n"
    "serial = $P/other/serial\ncrlnumber = $P/other/crlnumber\n"
    "certificate = $P/other/ca.pem\nprivate_key = $P/other/ca.key\ndefault_md = sha256\n"
    "default_days = 730\ndefault_crl_days = 30\npolicy = any\nunique_subject = no\n"
    "[ any ]\ncountryName = optional\norganizationName = optional\n"
    "organizationalUnitName = optional\ncommonName = supplied\n"
    "[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\n"
    "[ v3_ca ]\nbasicConstraints = critical,CA:true\nkeyUsage = critical,keyCertSign,cRLSign\n"
    "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n"
    "[ v3_leaf ]\nbasicConstraints = CA:false\n"
    "keyUsage = critical,digitalSignature,nonRepudiation\n"
    "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
    "[ v3_noku ]\nbasicConstraints = CA:false\n"
    "keyUsage = critical,keyEncipherment,dataEncipherment\n"
    "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
    "CNF\n"
    "O=\"/C=CN/O=Changji People's Hospital/OU=Verify Tests\"\n"
    "leaf() {\n"
    "    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$P/$1.key\"\n"
    "    openssl req -new -config \"$P/ca.cnf\" -key \"$P/$1.key\" -subj \"$O/CN=$2\" "
    "-out \"$P/$1.csr\"\n"
    "    local dates=()\n"
    "    [ $# -ge 5 ] && dates=(-startdate \"$4\" -enddate \"$5\")\n"
    "    openssl ca -batch -config \"$P/ca.cnf\" -name ec -preserveDN -notext -extensions \"$3\" "
    "\"${dates[@]}\" -in \"$P/$1.csr\" -out \"$P/$1.pem\"\n"
    "}\n"
    "leaf bureau-soft 'Soft Bureau Signer' v3_leaf\n"
    "leaf expired 'Expired Operator' v3_leaf \"$(at 0)\" \"$(at $DAY)\"\n"
    "leaf edge 'Edge Operator' v3_leaf \"$(at 0)\" \"$(at $DAY)\"\n"
    "leaf notyet 'NotYet Operator' v3_leaf \"$(at $((10 * DAY)))\" \"$(at $((20 * DAY)))\"\n"
    "leaf noku 'NoKeyUsage Operator' v3_noku\n"
    "leaf revoked 'Revoked Operator' v3_leaf\n"
    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$P/inter.key\"\n"
    "openssl req -new -config \"$P/ca.cnf\" -key \"$P/inter.key\" "
    "-subj '/C=CN/O=fiscalbill tests/CN=Test Finance Intermediate CA' -out \"$P/inter.csr\"\n"
    "openssl ca -batch -config \"$P/ca.cnf\" -name ec -preserveDN -notext -extensions v3_ca "
    "-in \"$P/inter.csr\" -out \"$P/inter.pem\"\n"
    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$P/inter-leaf.key\"\n"
    "openssl req -new -config \"$P/ca.cnf\" -key \"$P/inter-leaf.key\" "
    "-subj \"$O/CN=Inter Operator\" -out \"$P/inter-leaf.csr\"\n"
    "openssl x509 -req -in \"$P/inter-leaf.csr\" -CA \"$P/inter.pem\" -CAkey \"$P/inter.key\" "
    "-set_serial 16385 -days 730 -extfile \"$P/ca.cnf\" -extensions v3_leaf "
    "-out \"$P/inter-leaf.pem\"\n"
    "openssl ca -batch -config \"$P/ca.cnf\" -name ec -revoke \"$P/revoked.pem\" "
    "-crl_reason keyCompromise\n"
    "openssl ca -batch -config \"$P/ca.cnf\" -name ec -gencrl -out \"$P/root-ec.crl\"\n"
    "openssl ca -batch -config \"$P/ca.cnf\" -name ec -gencrl -crl_lastupdate \"$(at $((3 * DAY)))\" "
    "-crl_nextupdate \"$(at $((60 * DAY)))\" -out \"$P/root-ec-later.crl\"\n"
    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out \"$P/other/ca.key\"\n"
    "openssl req -new -x509 -config \"$P/ca.cnf\" -extensions v3_ca -key \"$P/other/ca.key\" "
    "-sha256 -days 3650 -set_serial 9 -subj '/C=CN/O=Elsewhere/CN=Other Test Root CA' "
    "-out \"$P/other/ca.pem\"\n"
    "openssl ca -batch -config \"$P/ca.cnf\" -name other -gencrl -out \"$P/other.crl\"\n"
    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 "
    "-pkeyopt ec_param_enc:named_curve -out \"$P/bureau-sm2.key\"\n"
    "openssl pkey -in \"$P/bureau-sm2.key\" -pubout -out \"$P/bureau-sm2.pub\"\n"
    "openssl x509 -new -force_pubkey \"$P/bureau-sm2.pub\" "
    "-subj '/C=CN/O=Changji Prefecture Finance Bureau/OU=Bill Supervision/CN=SM2 Bureau Signer' "
    "-CA \"$D/ca/root-sm2.pem\" -CAkey \"$D/ca/root-sm2.key\" -sm3 "
    "-sigopt distid:1234567812345678 -set_serial 12289 -days 730 -extfile \"$P/ca.cnf\" "
    "-extensions v3_leaf -out \"$P/bureau-sm2.pem\"\n";

static void make_pki(void)
{
    char script[800], cmd[3000];
    snprintf(script, sizeof script, "%s/vpki.sh", T->dir);
    write_bytes(script, pki_script, strlen(pki_script));
    snprintf(cmd, sizeof cmd, "bash '%s' '%s' %lld >'%s/vpki.log' 2>&1", script, T->dir,
             (long long)base, T->dir);
    int rc = system(cmd);
    if (rc != 0) {
        snprintf(cmd, sizeof cmd, "tail -n 30 '%s/vpki.log' >&2", T->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "(no log)\n");
    }
    NEED(rc == 0, "making the test certificates failed (status %d)", rc);
    snprintf(PKI, sizeof PKI, "%s/vpki", T->dir);
}

static fb_trust *new_trust(const char *anchor1, const char *anchor2, const char *crl)
{
    fb_trust *t = NULL;
    NEED(fb_trust_new(&t) == FB_OK, "fb_trust_new");
    NEED(fb_trust_add_anchors(t, anchor1) == FB_OK, "%s: %s", anchor1, fb_last_error());
    if (anchor2)
        NEED(fb_trust_add_anchors(t, anchor2) == FB_OK, "%s: %s", anchor2, fb_last_error());
    if (crl)
        NEED(fb_trust_add_crl(t, crl) == FB_OK, "%s: %s", crl, fb_last_error());
    return t;
}

static void make_trust(void)
{
    char ec[800], sm2[800];
    snprintf(ec, sizeof ec, "%s", fbt_token_path("ca/root-ec.pem"));
    snprintf(sm2, sizeof sm2, "%s", fbt_token_path("ca/root-sm2.pem"));
    trust_all = new_trust(ec, sm2, NULL);
    trust_sm2_only = new_trust(sm2, NULL, NULL);
    trust_crl = new_trust(ec, NULL, pki("root-ec.crl"));
    trust_crl_later = new_trust(ec, NULL, pki("root-ec-later.crl"));
    trust_other_crl = new_trust(ec, NULL, pki("other.crl"));
}

static void serial_of_port(fb_port *p, char *out, size_t size)
{
    X509 *x = port_cert(p);
    serial_hex(x, out, size);
    X509_free(x);
}

static void genuine_bill(size_t i, fb_port *unit, fb_port *bureau, fb_cms_oids oids)
{
    fb_bill *b = golden_bill("medical-outpatient", bureau);
    fbt_bytes issued = issue(unit, b, t_unit, oids);
    seal_how how = { FB_COVER_FRAGMENT_AND_UNIT, NULL, t_seal, oids };
    genuine[i].doc = seal_with(bureau, &issued, trust_all, &how);
    serial_of_port(unit, genuine[i].unit_serial, sizeof genuine[i].unit_serial);
    serial_of_port(bureau, genuine[i].bureau_serial, sizeof genuine[i].bureau_serial);
    bytes_free(&issued);
    fb_bill_free(b);
}

static fbt_bytes issue_and_seal(fb_port *unit, fb_port *bureau, fb_bill *b, int64_t when)
{
    fbt_bytes issued = issue(unit, b, when, FB_CMS_OIDS_PKCS7);
    fbt_bytes sealed = seal_with(bureau, &issued, trust_all, NULL);
    bytes_free(&issued);
    return sealed;
}

static void make_bills(void)
{
    t_unit = (int64_t)time(NULL);
    t_seal = t_unit + 1;
    fb_port *port1 = open_token("port-1"), *port2 = open_token("port-2"),
            *port_rsa = open_token("port-rsa"), *bureau = open_token("bureau");
    fb_port *soft_ec = open_file("keys/soft-ec.pem", "certs/soft-ec.pem", NULL, 0);
    fb_port *soft_sm2 = open_file("keys/soft-sm2.pem", "certs/soft-sm2.pem", NULL, 0);
    fb_port *soft_pss = open_file("keys/soft-rsa.pem", "certs/soft-rsa.pem", NULL, 1);
    fb_port *alice = open_file("keys/soft-sm2.pem", "certs/soft-sm2.pem", "ALICE123", 0);
    fb_port *bureau_sm2 = open_file(pki("bureau-sm2.key"), pki("bureau-sm2.pem"), NULL, 0);
    fb_port *bureau_soft = open_file(pki("bureau-soft.key"), pki("bureau-soft.pem"), NULL, 0);
    fb_port *expired = open_file(pki("expired.key"), pki("expired.pem"), NULL, 0);
    fb_port *notyet = open_file(pki("notyet.key"), pki("notyet.pem"), NULL, 0);
    fb_port *noku = open_file(pki("noku.key"), pki("noku.pem"), NULL, 0);
    fb_port *revoked = open_file(pki("revoked.key"), pki("revoked.pem"), NULL, 0);
    fb_port *edge = open_file(pki("edge.key"), pki("edge.pem"), NULL, 0);
    fb_port *inter = open_file(pki("inter-leaf.key"), pki("inter-leaf.pem"), NULL, 0);

    genuine_bill(0, port1, bureau, FB_CMS_OIDS_PKCS7);
    genuine_bill(1, port_rsa, bureau, FB_CMS_OIDS_PKCS7);
    genuine_bill(2, soft_sm2, bureau_sm2, FB_CMS_OIDS_PKCS7);
    genuine_bill(3, soft_sm2, bureau_sm2, FB_CMS_OIDS_GMT0010);
    genuine_bill(4, soft_pss, bureau, FB_CMS_OIDS_PKCS7);
    genuine_bill(5, soft_sm2, bureau, FB_CMS_OIDS_PKCS7);

    for (size_t i = 0; i < N_GOLDEN; i++) {
        fb_bill *b = golden_bill(goldens[i], bureau_soft);
        golden_sealed[i] = issue_and_seal(soft_ec, bureau_soft, b, 0);
        fb_bill_free(b);
    }

    fb_bill *b = golden_bill("medical-outpatient", bureau);
    unsealed = issue(port1, b, t_unit, FB_CMS_OIDS_PKCS7);
    seal_how frag = { FB_COVER_FRAGMENT, NULL, 0, FB_CMS_OIDS_PKCS7 };
    cover_frag = seal_with(bureau, &unsealed, trust_all, &frag);
    seal_how unit_node = { FB_COVER_UNIT_NODE, NULL, 0, FB_CMS_OIDS_PKCS7 };
    cover_unit = seal_with(bureau, &unsealed, trust_all, &unit_node);

    fbt_bytes issued = issue(alice, b, 0, FB_CMS_OIDS_PKCS7);
    seal_how alice_id = { FB_COVER_FRAGMENT_AND_UNIT, "ALICE123", 0, FB_CMS_OIDS_PKCS7 };
    sm2_alice = seal_with(bureau, &issued, trust_all, &alice_id);
    bytes_free(&issued);

    revoked_b = issue_and_seal(revoked, bureau, b, 0);
    stale_b = issue_and_seal(soft_ec, bureau, b, base + 40 * DAY);

    /* Certificates fb_seal would refuse: sealed by hand. */
    issued = issue(expired, b, T_LATE, FB_CMS_OIDS_PKCS7);
    expired_b = hand_seal(bureau, &issued, 0);
    bytes_free(&issued);
    issued = issue(notyet, b, T_LATE, FB_CMS_OIDS_PKCS7);
    notyet_b = hand_seal(bureau, &issued, 0);
    bytes_free(&issued);
    issued = issue(noku, b, 0, FB_CMS_OIDS_PKCS7);
    noku_b = hand_seal(bureau, &issued, 0);
    bytes_free(&issued);
    issued = issue(edge, b, T_EDGE, FB_CMS_OIDS_PKCS7);
    edge_in = hand_seal(bureau, &issued, 0);
    bytes_free(&issued);
    issued = issue(edge, b, T_EDGE + 1, FB_CMS_OIDS_PKCS7);
    edge_out = hand_seal(bureau, &issued, 0);
    bytes_free(&issued);

    /* Unit signatures by the openssl command, sealed by hand. */
    char ec_key[900], ec_cert[900], rsa_key[900], rsa_cert[900], inter_args[1000];
    snprintf(ec_key, sizeof ec_key, "%s", fbt_token_path("keys/soft-ec.pem"));
    snprintf(ec_cert, sizeof ec_cert, "%s", fbt_token_path("certs/soft-ec.pem"));
    snprintf(rsa_key, sizeof rsa_key, "%s", fbt_token_path("keys/soft-rsa.pem"));
    snprintf(rsa_cert, sizeof rsa_cert, "%s", fbt_token_path("certs/soft-rsa.pem"));
    snprintf(inter_args, sizeof inter_args, "-certfile '%s'", pki("inter.pem"));
    struct {
        fbt_bytes *out;
        const char *key, *cert, *alg, *args;
    } ossl[] = {
        { &ossl_attr, ec_key, ec_cert, "SHA256withECDSA", "" },
        { &ossl_noattr, ec_key, ec_cert, "SHA256withECDSA", "-noattr" },
        { &ossl_keyid, ec_key, ec_cert, "SHA256withECDSA", "-keyid" },
        { &ossl_rsa, rsa_key, rsa_cert, "SHA256withRSA", "" },
        { &inter_ossl, pki("inter-leaf.key"), pki("inter-leaf.pem"), "SHA256withECDSA",
          inter_args },
    };
    for (size_t i = 0; i < sizeof ossl / sizeof ossl[0]; i++) {
        issued = openssl_issue(b, ossl[i].key, ossl[i].cert, ossl[i].alg, ossl[i].args);
        *ossl[i].out = hand_seal(bureau, &issued, 0);
        bytes_free(&issued);
    }
    issued = issue(inter, b, 0, FB_CMS_OIDS_PKCS7);
    inter_lib = hand_seal(bureau, &issued, 0);
    bytes_free(&issued);

    /* SealHash naming port-1, the fragment signed at port-2. */
    fb_bill *h = NULL;
    NEED(fb_bill_dup(b, &h) == FB_OK, "fb_bill_dup");
    X509 *x = port_cert(port1);
    char hash[65];
    seal_hash(x, hash);
    X509_free(x);
    set_field(h, FB_INVOICING_SEAL_HASH, hash);
    issued = hand_issue(port2, h, 0);
    hash_other = hand_seal(bureau, &issued, 0);
    bytes_free(&issued);
    fb_bill_free(h);

    /* Items that do not sum to the total. */
    NEED(fb_bill_dup(b, &h) == FB_OK, "fb_bill_dup");
    x = port_cert(soft_ec);
    seal_hash(x, hash);
    X509_free(x);
    set_field(h, FB_INVOICING_SEAL_HASH, hash);
    set_field(h, FB_TOTAL_AMOUNT, "338.51");
    issued = hand_issue(soft_ec, h, 0);
    unsummed = hand_seal(bureau, &issued, 0);
    bytes_free(&issued);
    fb_bill_free(h);

    /* The supervisor SealHash names the soft bureau; the token seals. */
    h = golden_bill("medical-outpatient", bureau_soft);
    issued = issue(port1, h, 0, FB_CMS_OIDS_PKCS7);
    sup_hash_other = hand_seal(bureau, &issued, 0);
    bytes_free(&issued);
    fb_bill_free(h);

    /* Issued for 2099: signed long before its issue time. */
    h = golden_bill("medical-outpatient", bureau);
    set_field(h, FB_ISSUE_DATE, "20990101");
    set_field(h, FB_EINVOICE_CODE, "65060199");
    set_field(h, FB_EINVOICE_ID, NULL);
    future = issue_and_seal(port1, bureau, h, 0);
    fb_bill_free(h);

    /* A second bill: number 2, at port-2, and at port-1. */
    h = golden_bill("medical-outpatient", bureau);
    renumber(h, 2);
    bill_b = issue_and_seal(port2, bureau, h, 0);
    bill_b_same = issue_and_seal(port1, bureau, h, 0);
    fb_bill_free(h);
    fb_bill_free(b);

    /* The bureau's own certificate expired when it sealed. */
    h = golden_bill("medical-outpatient", expired);
    issued = issue(soft_ec, h, 0, FB_CMS_OIDS_PKCS7);
    seal_how past = { FB_COVER_FRAGMENT_AND_UNIT, NULL, T_LATE, FB_CMS_OIDS_PKCS7 };
    bureau_expired = seal_with(expired, &issued, trust_all, &past);
    bytes_free(&issued);
    fb_bill_free(h);

    fb_port *all[] = { port1, port2, port_rsa, bureau, soft_ec, soft_sm2, soft_pss, alice,
                       bureau_sm2, bureau_soft, expired, notyet, noku, revoked, edge, inter };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        fb_port_close(all[i]);
}

static void setup(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    in_setup = true;
    T = fbt_tokens_get();
    base = (int64_t)time(NULL);
    make_pki();
    make_trust();
    make_bills();
    in_setup = false;
}

/* ---- verifying and judging ---- */

static fb_report *verify_opts(const fbt_bytes *d, const fb_verify_options *o)
{
    fb_report *r = NULL;
    int rc = fb_verify(d->p ? (const void *)d->p : "", d->n, o, &r);
    NEED(rc == FB_OK && r != NULL, "fb_verify: status %d: %s", rc, fb_last_error());
    return r;
}

static fb_report *verify_with(const fbt_bytes *d, const fb_trust *t)
{
    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    o.trust = t;
    return verify_opts(d, &o);
}

static fb_report *verify(const fbt_bytes *d)
{
    return verify_with(d, trust_all);
}

/* Every check and signer, one line each, to compare reports. */
static void render(const fb_report *r, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "%s %s %s\n", fb_state_name(fb_report_state(r)),
                                fb_subindication_name(fb_report_subindication(r)),
                                fb_report_sentence(r));
    for (int c = 0; c < FB_CHECK_COUNT && n < size; c++)
        n += (size_t)snprintf(out + n, size - n, "  %s %s %s %s\n", fb_check_name((fb_check)c),
                              fb_state_name(fb_report_check_state(r, (fb_check)c)),
                              fb_subindication_name(fb_report_check_subindication(r, (fb_check)c)),
                              fb_report_check_sentence(r, (fb_check)c));
    for (int w = 0; w < 2 && n < size; w++) {
        const char *s = fb_report_signer_subject(r, w), *sn = fb_report_signer_serial(r, w),
                   *t = fb_report_signing_time(r, w);
        n += (size_t)snprintf(out + n, size - n, "  signer %d: %s / %s / %s\n", w,
                              s ? s : "-", sn ? sn : "-", t ? t : "-");
    }
}

/* The verdict: state and sub-indication overall and on the deciding check,
 * which is the first check with the worst state; the overall sentence is
 * that check's, and holds every given substring (NULL-terminated). */
static void expect_verdict(const fb_report *r, const char *what, fb_state state,
                           fb_subindication sub, fb_check deciding, ...)
{
    char all[8000];
    render(r, all, sizeof all);
    NEED(fb_report_state(r) == state && fb_report_subindication(r) == sub,
         "%s: expected %s %s decided by %s, got:\n%s", what, fb_state_name(state),
         fb_subindication_name(sub), fb_check_name(deciding), all);
    NEED(fb_report_check_state(r, deciding) == state &&
             fb_report_check_subindication(r, deciding) == sub,
         "%s: expected %s to decide with %s %s, got:\n%s", what, fb_check_name(deciding),
         fb_state_name(state), fb_subindication_name(sub), all);
    for (int c = 0; c < FB_CHECK_COUNT; c++) {
        fb_state s = fb_report_check_state(r, (fb_check)c);
        NEED(s <= state, "%s: check %s is worse than the verdict:\n%s", what,
             fb_check_name((fb_check)c), all);
        NEED(c >= (int)deciding || s < state, "%s: check %s, before %s, has the same state:\n%s",
             what, fb_check_name((fb_check)c), fb_check_name(deciding), all);
        NEED(fb_report_check_sentence(r, (fb_check)c)[0] != '\0', "%s: check %s has no sentence",
             what, fb_check_name((fb_check)c));
    }
    const char *sentence = fb_report_sentence(r);
    NEED(strcmp(sentence, fb_report_check_sentence(r, deciding)) == 0,
         "%s: the overall sentence is not that of %s:\n%s", what, fb_check_name(deciding), all);
    va_list ap;
    va_start(ap, deciding);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        NEED(strstr(sentence, s) != NULL, "%s: the sentence does not name \"%s\":\n%s", what, s,
             all);
    va_end(ap);
}

static void expect_check(const fb_report *r, const char *what, fb_check c, fb_state state,
                         fb_subindication sub, const char *needle)
{
    char all[8000];
    render(r, all, sizeof all);
    NEED(fb_report_check_state(r, c) == state && fb_report_check_subindication(r, c) == sub,
         "%s: expected %s %s %s, got:\n%s", what, fb_check_name(c), fb_state_name(state),
         fb_subindication_name(sub), all);
    NEED(!needle || strstr(fb_report_check_sentence(r, c), needle) != NULL,
         "%s: the sentence of %s does not name \"%s\":\n%s", what, fb_check_name(c), needle, all);
}

static void expect_passed(const fb_report *r, const char *what)
{
    char all[8000];
    render(r, all, sizeof all);
    NEED(fb_report_state(r) == FB_PASSED && fb_report_subindication(r) == FB_SUB_NONE,
         "%s: expected PASSED, got:\n%s", what, all);
    for (int c = 0; c < FB_CHECK_COUNT; c++)
        NEED(fb_report_check_state(r, (fb_check)c) == FB_PASSED &&
                 fb_report_check_subindication(r, (fb_check)c) == FB_SUB_NONE,
             "%s: check %s did not pass:\n%s", what, fb_check_name((fb_check)c), all);
}

#define END_OF_NEEDLES ((const char *)NULL)

/* ---- genuine bills ---- */

START_TEST(genuine_passes)
{
    const genuine_case *g = &genuine[_i];
    fb_report *r = verify(&g->doc);
    expect_passed(r, g->what);
    const char *s = fb_report_sentence(r);
    NEED(strstr(s, g->unit_cn) && strstr(s, g->bureau_cn),
         "%s: the verdict does not name both signers: %s", g->what, s);
    expect_check(r, g->what, FB_CHECK_UNIT_SIGNATURE, FB_PASSED, FB_SUB_NONE, g->unit_alg);
    expect_check(r, g->what, FB_CHECK_SUPERVISOR_SEAL, FB_PASSED, FB_SUB_NONE, g->bureau_alg);
    expect_check(r, g->what, FB_CHECK_UNIT_CERTIFICATE, FB_PASSED, FB_SUB_NONE, g->unit_cn);
    expect_check(r, g->what, FB_CHECK_SUPERVISOR_CERTIFICATE, FB_PASSED, FB_SUB_NONE,
                 g->bureau_cn);
    NEED(strstr(fb_report_check_sentence(r, FB_CHECK_UNIT_CERTIFICATE), "not checked for "
                "revocation") != NULL, "%s: without CRLs the sentence must say revocation "
         "was not checked: %s", g->what, fb_report_check_sentence(r, FB_CHECK_UNIT_CERTIFICATE));

    /* Signers: subject, serial (upper-case hex), signing time (UTC+8). */
    char t_u[15], t_s[15];
    cst(t_unit, t_u);
    cst(t_seal, t_s);
    const char *subject0 = fb_report_signer_subject(r, 0), *subject1 = fb_report_signer_subject(r, 1);
    NEED(subject0 && strstr(subject0, g->unit_cn), "%s: unit subject %s", g->what,
         subject0 ? subject0 : "NULL");
    NEED(subject1 && strstr(subject1, g->bureau_cn), "%s: bureau subject %s", g->what,
         subject1 ? subject1 : "NULL");
    NEED(fb_report_signer_serial(r, 0) && !strcmp(fb_report_signer_serial(r, 0), g->unit_serial),
         "%s: unit serial %s, expected %s", g->what, fb_report_signer_serial(r, 0), g->unit_serial);
    NEED(fb_report_signer_serial(r, 1) &&
             !strcmp(fb_report_signer_serial(r, 1), g->bureau_serial),
         "%s: bureau serial %s, expected %s", g->what, fb_report_signer_serial(r, 1),
         g->bureau_serial);
    NEED(fb_report_signing_time(r, 0) && !strcmp(fb_report_signing_time(r, 0), t_u),
         "%s: unit signing time %s, expected %s", g->what, fb_report_signing_time(r, 0), t_u);
    NEED(fb_report_signing_time(r, 1) && !strcmp(fb_report_signing_time(r, 1), t_s),
         "%s: seal signing time %s, expected %s", g->what, fb_report_signing_time(r, 1), t_s);
    ck_assert_ptr_null(fb_report_signer_subject(r, 2));
    ck_assert_ptr_null(fb_report_signer_serial(r, -1));
    ck_assert_ptr_null(fb_report_signing_time(r, 2));

    /* The five query elements of the bill as read. */
    const fb_bill *b = fb_report_bill(r);
    ck_assert_ptr_nonnull(b);
    ck_assert_str_eq(fb_bill_get(b, FB_EINVOICE_CODE), "65060126");
    ck_assert_str_eq(fb_bill_get(b, FB_EINVOICE_NUMBER), "0000000001");
    ck_assert_str_eq(fb_bill_get(b, FB_RANDOM_NUMBER), "a1b2c3");
    ck_assert_str_eq(fb_bill_get(b, FB_ISSUE_DATE), "20261115");
    ck_assert_str_eq(fb_bill_get(b, FB_TOTAL_AMOUNT), "338.50");
    int64_t fen = 0;
    ck_assert_int_eq(fb_bill_get_amount(b, FB_TOTAL_AMOUNT, &fen), FB_OK);
    ck_assert_int_eq(fen, 33850);
    fb_report_free(r);
}
END_TEST

/* Every golden kind, sealed, passes; the names of the three vocabularies. */
START_TEST(golden_kinds_pass)
{
    for (size_t i = 0; i < N_GOLDEN; i++) {
        fb_report *r = verify(&golden_sealed[i]);
        expect_passed(r, goldens[i]);
        fb_report_free(r);
    }
    ck_assert_str_eq(fb_state_name(FB_PASSED), "PASSED");
    ck_assert_str_eq(fb_state_name(FB_INDETERMINATE), "INDETERMINATE");
    ck_assert_str_eq(fb_state_name(FB_FAILED), "FAILED");
    ck_assert_str_eq(fb_subindication_name(FB_SUB_HASH_FAILURE), "HASH_FAILURE");
    ck_assert_str_eq(fb_subindication_name(FB_SUB_NO_CERTIFICATE_CHAIN_FOUND),
                     "NO_CERTIFICATE_CHAIN_FOUND");
    ck_assert_str_eq(fb_subindication_name(FB_SUB_NO_SUPERVISOR_SEAL), "NO_SUPERVISOR_SEAL");
    ck_assert_str_eq(fb_check_name(FB_CHECK_UNIT_SIGNATURE), "unit-signature");
    ck_assert_str_eq(fb_check_name(FB_CHECK_SUPERVISOR_CERTIFICATE), "supervisor-certificate");
    ck_assert_str_eq(fb_check_name(FB_CHECK_BILL), "bill");
    ck_assert_ptr_nonnull(fb_state_name((fb_state)7));
    ck_assert_ptr_nonnull(fb_subindication_name((fb_subindication)99));
    ck_assert_ptr_nonnull(fb_check_name((fb_check)-1));
}
END_TEST

/* ---- tampering ---- */

typedef struct leaf {
    size_t off, len;
    char name[64];
} leaf;

/* Every leaf element with text in the fragment. */
static size_t leaves_of(const fbt_bytes *d, leaf *out, size_t max)
{
    size_t begin = must_find(d, "<Header>", 0);
    size_t end = must_find(d, "</EInvoiceData>", 0);
    size_t n = 0;
    for (size_t i = begin; i < end; i++) {
        if (d->p[i] != '<' || d->p[i + 1] == '/')
            continue;
        size_t gt = i + 1;
        while (gt < end && d->p[gt] != '>')
            gt++;
        if (d->p[gt - 1] == '/' || d->p[gt + 1] == '<')
            continue; /* empty, or a container */
        size_t text = gt + 1, stop = text;
        while (stop < end && d->p[stop] != '<')
            stop++;
        size_t name_len = gt - i - 1;
        NEED(name_len < sizeof out[0].name && d->p[stop + 1] == '/' &&
                 memcmp(d->p + stop + 2, d->p + i + 1, name_len) == 0,
             "unexpected markup at byte %zu", i);
        NEED(n < max, "too many leaves");
        out[n].off = text;
        out[n].len = stop - text;
        memcpy(out[n].name, d->p + i + 1, name_len);
        out[n].name[name_len] = '\0';
        n++;
    }
    return n;
}

/* One character of the text changed, the length and well-formedness kept. */
static fbt_bytes change_one(const fbt_bytes *d, const leaf *l)
{
    fbt_bytes m = bytes_of(d->p, d->n);
    uint8_t *t = m.p + l->off;
    for (size_t k = 0; k < l->len; k++) {
        uint8_t c = t[k];
        NEED(c != '&', "%s holds a reference", l->name);
        if (c >= '0' && c <= '9') {
            t[k] = c == '9' ? '0' : (uint8_t)(c + 1);
            return m;
        }
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            t[k] = c == 'z' ? 'a' : c == 'Z' ? 'A' : (uint8_t)(c + 1);
            return m;
        }
    }
    /* Only other characters: the last byte of the first multi-byte one. */
    for (size_t k = 0; k < l->len; k++)
        if (t[k] >= 0xE0 && t[k] < 0xF0 && k + 2 < l->len) {
            t[k + 2] ^= 1;
            return m;
        }
    NEED(0, "cannot change the text of %s", l->name);
    return m;
}

START_TEST(every_field_changed)
{
    const fbt_bytes *d = &golden_sealed[_i];
    leaf leaves[300];
    size_t n = leaves_of(d, leaves, 300);
    NEED(n >= 30, "%s: only %zu leaves found", goldens[_i], n);
    for (size_t i = 0; i < n; i++) {
        fbt_bytes m = change_one(d, &leaves[i]);
        NEED(m.n == d->n && memcmp(m.p, d->p, d->n) != 0, "no change");
        char what[200];
        snprintf(what, sizeof what, "%s with %s changed", goldens[_i], leaves[i].name);
        fb_report *r = verify(&m);
        expect_verdict(r, what, FB_FAILED, FB_SUB_HASH_FAILURE, FB_CHECK_UNIT_SIGNATURE,
                       "InvoicingPartySignature", "unit", END_OF_NEEDLES);
        expect_check(r, what, FB_CHECK_STRUCTURE, FB_PASSED, FB_SUB_NONE, NULL);
        expect_check(r, what, FB_CHECK_SUPERVISOR_SEAL, FB_FAILED, FB_SUB_HASH_FAILURE,
                     "SupervisorPartySignature");
        fb_report_free(r);
        bytes_free(&m);
    }
}
END_TEST

/* Signature nodes changed, dropped, added or moved. */
START_TEST(signature_node_tampering)
{
    const fbt_bytes *a = &genuine[0].doc;
    size_t off, len;

    /* Bill B's supervisor node spliced into bill A. */
    size_t b_off, b_len;
    element(&bill_b, "SupervisorPartySignature", 0, &b_off, &b_len);
    element(a, "SupervisorPartySignature", 0, &off, &len);
    fbt_bytes m = splice(a, off, len, bill_b.p + b_off, b_len);
    fb_report *r = verify(&m);
    expect_verdict(r, "supervisor node of another bill", FB_FAILED, FB_SUB_HASH_FAILURE,
                   FB_CHECK_SUPERVISOR_SEAL, "SupervisorPartySignature", END_OF_NEEDLES);
    expect_check(r, "supervisor node of another bill", FB_CHECK_UNIT_SIGNATURE, FB_PASSED,
                 FB_SUB_NONE, NULL);
    fb_report_free(r);
    bytes_free(&m);

    /* Bill B's unit node (another unit: port-2) in bill A. */
    element(&bill_b, "InvoicingPartySignature", 0, &b_off, &b_len);
    element(a, "InvoicingPartySignature", 0, &off, &len);
    m = splice(a, off, len, bill_b.p + b_off, b_len);
    r = verify(&m);
    expect_verdict(r, "unit node of another unit", FB_FAILED, FB_SUB_HASH_FAILURE,
                   FB_CHECK_UNIT_SIGNATURE, "InvoicingPartySignature", END_OF_NEEDLES);
    expect_check(r, "unit node of another unit", FB_CHECK_SUPERVISOR_SEAL, FB_FAILED,
                 FB_SUB_HASH_FAILURE, NULL);
    fb_report_free(r);
    bytes_free(&m);

    /* Bill B's unit node, same unit, in bill A. */
    element(&bill_b_same, "InvoicingPartySignature", 0, &b_off, &b_len);
    m = splice(a, off, len, bill_b_same.p + b_off, b_len);
    r = verify(&m);
    expect_verdict(r, "unit node of another bill of the same unit", FB_FAILED,
                   FB_SUB_HASH_FAILURE, FB_CHECK_UNIT_SIGNATURE, "InvoicingPartySignature",
                   END_OF_NEEDLES);
    fb_report_free(r);
    bytes_free(&m);

    /* Both nodes of bill B on bill A's fragment. */
    size_t sig_a = must_find(a, "<EInvoiceSignature>", 0);
    size_t sig_b = must_find(&bill_b, "<EInvoiceSignature>", 0);
    m = splice(a, sig_a, a->n - sig_a, bill_b.p + sig_b, bill_b.n - sig_b);
    r = verify(&m);
    expect_verdict(r, "both nodes of another bill", FB_FAILED, FB_SUB_HASH_FAILURE,
                   FB_CHECK_UNIT_SIGNATURE, "InvoicingPartySignature", END_OF_NEEDLES);
    fb_report_free(r);
    bytes_free(&m);

    /* The supervisor node dropped: back to an unsealed bill. */
    element(a, "SupervisorPartySignature", 0, &off, &len);
    m = splice(a, off, len, "", 0);
    r = verify(&m);
    expect_verdict(r, "supervisor node dropped", FB_INDETERMINATE, FB_SUB_NO_SUPERVISOR_SEAL,
                   FB_CHECK_SUPERVISOR_SEAL, "SupervisorPartySignature", END_OF_NEEDLES);
    fb_report_free(r);
    bytes_free(&m);

    /* The nodes' other fields: on the supervisor node (nothing covers it),
     * and on the unit node of an unsealed bill. */
    static const struct {
        const char *element, *value;
        fb_state state;
        fb_subindication sub;
    } fields[] = {
        { "SignatureFormat", "ATTACH", FB_INDETERMINATE, FB_SUB_UNSUPPORTED_ALGORITHM },
        { "SignatureAlgorithm", "SHA256withRSA", FB_FAILED, FB_SUB_FORMAT_FAILURE },
        { "SerialNumber", "ABCDEF", FB_FAILED, FB_SUB_FORMAT_FAILURE },
    };
    for (int w = 0; w < 2; w++) {
        const fbt_bytes *d = w ? a : &unsealed;
        const char *node = w ? "SupervisorPartySignature" : "InvoicingPartySignature";
        size_t node_off = must_find(d, node, 0);
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            char open[64], close[64];
            snprintf(open, sizeof open, "<%s>", fields[i].element);
            snprintf(close, sizeof close, "</%s>", fields[i].element);
            size_t v = must_find(d, open, node_off) + strlen(open);
            size_t v_end = must_find(d, close, v);
            m = splice(d, v, v_end - v, fields[i].value, strlen(fields[i].value));
            r = verify(&m);
            char what[200];
            snprintf(what, sizeof what, "%s with %s %s", node, fields[i].element,
                     fields[i].value);
            expect_verdict(r, what, fields[i].state, fields[i].sub,
                           w ? FB_CHECK_SUPERVISOR_SEAL : FB_CHECK_UNIT_SIGNATURE,
                           fields[i].element, node, END_OF_NEEDLES);
            fb_report_free(r);
            bytes_free(&m);
        }
    }
    /* SignatureTime is informative: the CMS signing time is reported. */
    m = replace_text(&unsealed, "SignatureTime", "20991231235959");
    r = verify(&m);
    char t_u[15];
    cst(t_unit, t_u);
    NEED(fb_report_signing_time(r, 0) && !strcmp(fb_report_signing_time(r, 0), t_u),
         "the unit's signing time is %s, expected the CMS signingTime %s",
         fb_report_signing_time(r, 0), t_u);
    fb_report_free(r);
    bytes_free(&m);
}
END_TEST

/* Signature wrapping: a second signed fragment or a signature node where a
 * naive reader would take it. */
START_TEST(signature_wrapping)
{
    const fbt_bytes *a = &genuine[0].doc;
    size_t data_off, data_len, unit_off, unit_len, sig_off, sig_len, sup_off, sup_len;
    element(a, "EInvoiceData", 0, &data_off, &data_len);
    element(a, "InvoicingPartySignature", 0, &unit_off, &unit_len);
    element(a, "EInvoiceSignature", 0, &sig_off, &sig_len);
    element(a, "SupervisorPartySignature", 0, &sup_off, &sup_len);
    char *data = strndup((const char *)a->p + data_off, data_len);
    char *unit = strndup((const char *)a->p + unit_off, unit_len);
    char *sig = strndup((const char *)a->p + sig_off, sig_len);
    char *sup = strndup((const char *)a->p + sup_off, sup_len);
    size_t main_ext_end = must_find(a, "</MainExt>", 0);
    size_t main_end = must_find(a, "</Main>", 0);
    size_t header_end = must_find(a, "</Header>", 0) + strlen("</Header>");
    struct {
        const char *what;
        fbt_bytes doc;
        const char *needle;
    } cases[] = {
        { "a unit node inside MainExt", insert_at(a, main_ext_end, unit), "MainExt" },
        { "a signature block inside MainExt", insert_at(a, main_ext_end, sig), "MainExt" },
        { "a second EInvoiceData inside MainExt", insert_at(a, main_ext_end, data), "MainExt" },
        { "a second EInvoiceSignature after the first", insert_at(a, sig_off + sig_len, sig),
          "EInvoiceSignature" },
        { "a SupervisorPartySignature inside Main", insert_at(a, main_end, sup),
          "SupervisorPartySignature" },
        { "a second EInvoiceData after the first", insert_at(a, data_off + data_len, data),
          "EInvoiceData" },
        { "a second EInvoiceData before the first", insert_at(a, header_end, data),
          "EInvoiceData" },
        { "a third signature node", insert_at(a, sup_off + sup_len, sup),
          "SupervisorPartySignature" },
        { "the supervisor node before the unit node",
          insert_at(a, unit_off, sup), "SupervisorPartySignature" },
        { "a signature node outside EInvoiceSignature", insert_at(a, sig_off, sup),
          "SupervisorPartySignature" },
        { "a signature node inside Header", insert_at(a, header_end - strlen("</Header>"), unit),
          "Header" },
        { "only the supervisor node", splice(a, unit_off, unit_len, "", 0),
          "SupervisorPartySignature" },
        { "an empty EInvoiceSignature", splice(a, sig_off, sig_len, "<EInvoiceSignature/>", 20),
          "EInvoiceSignature" },
        { "a unit node with a child element",
          insert_at(a, unit_off + strlen("<InvoicingPartySignature>"), sup),
          "InvoicingPartySignature" },
        { "a comment in the unit node",
          insert_at(a, unit_off + strlen("<InvoicingPartySignature>"), "<!-- x -->"),
          "comment" },
        { "an attribute on the fragment",
          splice(a, data_off, strlen("<EInvoiceData>"), "<EInvoiceData Id=\"x\">", 20),
          "attribute" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fb_report *r = verify(&cases[i].doc);
        expect_verdict(r, cases[i].what, FB_FAILED, FB_SUB_FORMAT_FAILURE, FB_CHECK_STRUCTURE,
                       cases[i].needle, END_OF_NEEDLES);
        NEED(fb_report_signer_subject(r, 0) == NULL, "%s: a signer is reported",
             cases[i].what);
        fb_report_free(r);
        bytes_free(&cases[i].doc);
    }
    /* An unknown text child of MainExt is structure, and signed: */
    fbt_bytes m = insert_at(a, main_ext_end, "<SignatureValue>AAAA</SignatureValue>");
    fb_report *r = verify(&m);
    expect_verdict(r, "an unknown MainExt child added", FB_FAILED, FB_SUB_HASH_FAILURE,
                   FB_CHECK_UNIT_SIGNATURE, "InvoicingPartySignature", END_OF_NEEDLES);
    fb_report_free(r);
    bytes_free(&m);
    free(data);
    free(unit);
    free(sig);
    free(sup);
}
END_TEST

/* SignatureValue cut, replaced by random Base64, or not Base64 at all. */
START_TEST(broken_cms)
{
    const fbt_bytes *a = &genuine[0].doc;
    static const char *const nodes[] = { "InvoicingPartySignature", "SupervisorPartySignature" };
    static const fb_check checks[] = { FB_CHECK_UNIT_SIGNATURE, FB_CHECK_SUPERVISOR_SEAL };
    srand(7);
    char garbage[800];
    uint8_t raw[540];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)rand();
    EVP_EncodeBlock((unsigned char *)garbage, raw, (int)sizeof raw);
    /* Random DER-looking bytes: a SEQUENCE header in front. */
    uint8_t seq[300];
    seq[0] = 0x30;
    seq[1] = 0x82;
    seq[2] = 0x01;
    seq[3] = 0x28;
    for (size_t i = 4; i < sizeof seq; i++)
        seq[i] = (uint8_t)rand();
    char seq64[500];
    EVP_EncodeBlock((unsigned char *)seq64, seq, (int)sizeof seq);
    for (int w = 0; w < 2; w++) {
        size_t node_off, node_len;
        element(a, nodes[w], 0, &node_off, &node_len);
        size_t v = must_find(a, "<SignatureValue>", node_off) + strlen("<SignatureValue>");
        size_t v_end = must_find(a, "</SignatureValue>", v);
        size_t v_len = v_end - v;
        struct {
            const char *what;
            fbt_bytes doc;
        } cases[] = {
            { "half of the SignatureValue", splice(a, v + (v_len / 8) * 4, v_len - (v_len / 8) * 4,
                                                   "", 0) },
            { "the SignatureValue cut by 4", splice(a, v_end - 4, 4, "", 0) },
            { "the SignatureValue cut by 3", splice(a, v_end - 3, 3, "", 0) },
            { "the SignatureValue cut to 4 characters", splice(a, v + 4, v_len - 4, "", 0) },
            { "an empty SignatureValue", splice(a, v, v_len, "", 0) },
            { "random Base64", splice(a, v, v_len, garbage, strlen(garbage)) },
            { "a random SEQUENCE", splice(a, v, v_len, seq64, strlen(seq64)) },
            { "not Base64", splice(a, v, v_len, "@@@@####$$$$", 12) },
            { "Base64 with a stray character", splice(a, v + 8, 1, "*", 1) },
            { "the SignatureValue element dropped",
              splice(a, v - strlen("<SignatureValue>"),
                     v_len + strlen("<SignatureValue></SignatureValue>"), "", 0) },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char what[200];
            snprintf(what, sizeof what, "%s: %s", nodes[w], cases[i].what);
            fb_report *r = verify(&cases[i].doc);
            expect_verdict(r, what, FB_FAILED, FB_SUB_FORMAT_FAILURE, checks[w], nodes[w],
                           END_OF_NEEDLES);
            if (w == 0)
                expect_check(r, what, FB_CHECK_SUPERVISOR_SEAL, FB_FAILED, FB_SUB_HASH_FAILURE,
                             NULL);
            fb_report_free(r);
            bytes_free(&cases[i].doc);
        }
    }
}
END_TEST

/* ---- the bill against its signatures ---- */

START_TEST(seal_hash_names_another_certificate)
{
    fb_report *r = verify(&hash_other);
    expect_verdict(r, "unit SealHash of port-1, signed at port-2", FB_FAILED,
                   FB_SUB_NOT_AUTHORISED, FB_CHECK_BILL, "InvoicingPartySeal/SealHash",
                   "CN=Port 2 Operator", END_OF_NEEDLES);
    for (int c = FB_CHECK_STRUCTURE; c < FB_CHECK_BILL; c++)
        expect_check(r, "unit SealHash of port-1", (fb_check)c, FB_PASSED, FB_SUB_NONE, NULL);
    fb_report_free(r);

    r = verify(&sup_hash_other);
    expect_verdict(r, "supervisor SealHash of another bureau", FB_FAILED, FB_SUB_NOT_AUTHORISED,
                   FB_CHECK_BILL, "SupervisorPartySeal/SealHash", "CN=Finance Bureau Signer",
                   END_OF_NEEDLES);
    fb_report_free(r);
}
END_TEST

START_TEST(bill_inconsistent)
{
    fb_report *r = verify(&future);
    expect_verdict(r, "signed before its issue time", FB_FAILED, FB_SUB_BILL_INCONSISTENT,
                   FB_CHECK_BILL, "issue time", "20990101", END_OF_NEEDLES);
    ck_assert_str_eq(fb_bill_get(fb_report_bill(r), FB_ISSUE_DATE), "20990101");
    fb_report_free(r);

    r = verify(&unsummed);
    expect_verdict(r, "items that do not sum", FB_FAILED, FB_SUB_BILL_INCONSISTENT,
                   FB_CHECK_BILL, "TotalAmount", END_OF_NEEDLES);
    for (int c = FB_CHECK_STRUCTURE; c < FB_CHECK_BILL; c++)
        expect_check(r, "items that do not sum", (fb_check)c, FB_PASSED, FB_SUB_NONE, NULL);
    fb_report_free(r);
}
END_TEST

/* ---- certificates ---- */

START_TEST(certificate_validity)
{
    fb_report *r = verify(&expired_b);
    expect_verdict(r, "expired when it signed", FB_FAILED, FB_SUB_EXPIRED,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=Expired Operator", "expired", END_OF_NEEDLES);
    fb_report_free(r);

    r = verify(&notyet_b);
    expect_verdict(r, "not yet valid when it signed", FB_FAILED, FB_SUB_NOT_YET_VALID,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=NotYet Operator", "not yet valid",
                   END_OF_NEEDLES);
    fb_report_free(r);

    r = verify(&bureau_expired);
    expect_verdict(r, "the bureau's certificate expired when it sealed", FB_FAILED,
                   FB_SUB_EXPIRED, FB_CHECK_SUPERVISOR_CERTIFICATE, "CN=Expired Operator",
                   END_OF_NEEDLES);
    expect_check(r, "bureau expired", FB_CHECK_UNIT_CERTIFICATE, FB_PASSED, FB_SUB_NONE, NULL);
    fb_report_free(r);

    /* The validity period includes notAfter (RFC 5280 §4.1.2.5). */
    r = verify_with(&expired_b, trust_crl);
    expect_verdict(r, "expired when it signed, with a CRL", FB_FAILED, FB_SUB_EXPIRED,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=Expired Operator", END_OF_NEEDLES);
    fb_report_free(r);

    r = verify(&edge_in);
    expect_passed(r, "signed at notAfter");
    fb_report_free(r);
    r = verify(&edge_out);
    expect_verdict(r, "signed a second after notAfter", FB_FAILED, FB_SUB_EXPIRED,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=Edge Operator", END_OF_NEEDLES);
    fb_report_free(r);

    r = verify(&noku_b);
    expect_verdict(r, "no signing key usage", FB_FAILED, FB_SUB_NOT_AUTHORISED,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=NoKeyUsage Operator", "key usage",
                   END_OF_NEEDLES);
    fb_report_free(r);
}
END_TEST

START_TEST(time_policy)
{
    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    o.trust = trust_all;
    fb_report *r = verify_opts(&genuine[0].doc, &o);
    expect_passed(r, "default policy");
    fb_report_free(r);

    o.time_policy = FB_TIME_NOW;
    o.now = t_unit + 3 * YEAR; /* the fixture's leaves are valid two years */
    r = verify_opts(&genuine[0].doc, &o);
    expect_verdict(r, "time policy now, three years on", FB_FAILED, FB_SUB_EXPIRED,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=Port 1 Operator", "expired", END_OF_NEEDLES);
    expect_check(r, "time policy now", FB_CHECK_SUPERVISOR_CERTIFICATE, FB_FAILED,
                 FB_SUB_EXPIRED, "CN=Finance Bureau Signer");
    fb_report_free(r);

    o.now = t_unit + 3600;
    r = verify_opts(&genuine[0].doc, &o);
    expect_passed(r, "time policy now, an hour on");
    expect_check(r, "time policy now", FB_CHECK_UNIT_CERTIFICATE, FB_PASSED, FB_SUB_NONE, "now");
    fb_report_free(r);

    /* Signing time decides by default, whatever "now" is. */
    o.time_policy = FB_TIME_SIGNING;
    o.now = t_unit + 3 * YEAR;
    r = verify_opts(&genuine[0].doc, &o);
    expect_passed(r, "signing-time policy, three years on");
    fb_report_free(r);

    /* A bill signed while its certificate was valid, which has expired
     * since. */
    o.now = T_EDGE + 3600;
    r = verify_opts(&edge_in, &o);
    expect_passed(r, "the edge bill under the signing-time policy");
    fb_report_free(r);
    o.time_policy = FB_TIME_NOW;
    r = verify_opts(&edge_in, &o);
    expect_verdict(r, "the edge bill under the now policy", FB_FAILED, FB_SUB_EXPIRED,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=Edge Operator", END_OF_NEEDLES);
    fb_report_free(r);
}
END_TEST

START_TEST(untrusted)
{
    fb_report *r = verify_with(&genuine[0].doc, trust_sm2_only);
    expect_verdict(r, "EC bill against the SM2 root only", FB_INDETERMINATE,
                   FB_SUB_NO_CERTIFICATE_CHAIN_FOUND, FB_CHECK_UNIT_CERTIFICATE,
                   "CN=Port 1 Operator", END_OF_NEEDLES);
    expect_check(r, "EC bill against the SM2 root", FB_CHECK_SUPERVISOR_CERTIFICATE,
                 FB_INDETERMINATE, FB_SUB_NO_CERTIFICATE_CHAIN_FOUND, "CN=Finance Bureau Signer");
    expect_check(r, "EC bill against the SM2 root", FB_CHECK_UNIT_SIGNATURE, FB_PASSED,
                 FB_SUB_NONE, NULL);
    fb_report_free(r);

    /* The SM2 bill against the EC root with a CRL: the SM2 signers have no path. */
    r = verify_with(&genuine[2].doc, trust_crl);
    expect_verdict(r, "SM2 bill against the EC root", FB_INDETERMINATE,
                   FB_SUB_NO_CERTIFICATE_CHAIN_FOUND, FB_CHECK_UNIT_CERTIFICATE,
                   "CN=Soft SM2 Operator", END_OF_NEEDLES);
    fb_report_free(r);
}
END_TEST

START_TEST(revocation)
{
    fb_report *r = verify_with(&revoked_b, trust_crl);
    expect_verdict(r, "revoked", FB_FAILED, FB_SUB_REVOKED, FB_CHECK_UNIT_CERTIFICATE,
                   "CN=Revoked Operator", "revoked", END_OF_NEEDLES);
    fb_report_free(r);

    /* Without CRLs revocation is not checked (and the sentence says so). */
    r = verify(&revoked_b);
    expect_passed(r, "revoked, without CRLs");
    expect_check(r, "revoked, without CRLs", FB_CHECK_UNIT_CERTIFICATE, FB_PASSED, FB_SUB_NONE,
                 "not checked for revocation");
    fb_report_free(r);

    r = verify_with(&genuine[0].doc, trust_crl);
    expect_passed(r, "not revoked");
    expect_check(r, "not revoked", FB_CHECK_UNIT_CERTIFICATE, FB_PASSED, FB_SUB_NONE,
                 "not revoked");
    fb_report_free(r);

    /* A CRL of another CA only: nothing covers the fixture's certificates. */
    r = verify_with(&genuine[0].doc, trust_other_crl);
    expect_verdict(r, "CRLs that do not cover the issuer", FB_INDETERMINATE,
                   FB_SUB_NO_REVOCATION_DATA, FB_CHECK_UNIT_CERTIFICATE, "CN=Port 1 Operator",
                   END_OF_NEEDLES);
    expect_check(r, "CRLs that do not cover the issuer", FB_CHECK_SUPERVISOR_CERTIFICATE,
                 FB_INDETERMINATE, FB_SUB_NO_REVOCATION_DATA, "CN=Finance Bureau Signer");
    fb_report_free(r);

    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    o.trust = trust_all;
    o.require_revocation = 1;
    r = verify_opts(&genuine[0].doc, &o);
    expect_verdict(r, "require_revocation without CRLs", FB_INDETERMINATE,
                   FB_SUB_NO_REVOCATION_DATA, FB_CHECK_UNIT_CERTIFICATE, "CN=Port 1 Operator",
                   "revocation", END_OF_NEEDLES);
    expect_check(r, "require_revocation without CRLs", FB_CHECK_SUPERVISOR_CERTIFICATE,
                 FB_INDETERMINATE, FB_SUB_NO_REVOCATION_DATA, "CN=Finance Bureau Signer");
    fb_report_free(r);

    o.trust = trust_crl;
    r = verify_opts(&genuine[0].doc, &o);
    expect_passed(r, "require_revocation with a covering CRL");
    fb_report_free(r);
}
END_TEST

/* Bills signed before the CRL was issued: a CRL issued after the signing
 * time is the evidence that the certificate was not revoked then (EN 319
 * 102-1 asks for revocation data issued after the signing time). */
START_TEST(crl_issued_after_signing_good)
{
    fb_report *r = verify_with(&genuine[0].doc, trust_crl_later);
    expect_passed(r, "signed before the CRL was issued");
    expect_check(r, "signed before the CRL was issued", FB_CHECK_UNIT_CERTIFICATE, FB_PASSED,
                 FB_SUB_NONE, "not revoked");
    fb_report_free(r);
}
END_TEST

START_TEST(crl_issued_after_signing_revoked)
{
    fb_report *r = verify_with(&revoked_b, trust_crl_later);
    expect_verdict(r, "revoked, signed before the CRL was issued", FB_FAILED, FB_SUB_REVOKED,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=Revoked Operator", END_OF_NEEDLES);
    fb_report_free(r);
}
END_TEST

START_TEST(crl_issued_after_signing_expired)
{
    fb_report *r = verify_with(&expired_b, trust_crl_later);
    expect_verdict(r, "expired when it signed, CRL issued later", FB_FAILED, FB_SUB_EXPIRED,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=Expired Operator", END_OF_NEEDLES);
    fb_report_free(r);
}
END_TEST

/* notAfter is part of the validity period (RFC 5280 §4.1.2.5), with CRLs
 * as without: the same bill gets the same verdict either way. */
START_TEST(not_after_inclusive_with_crl)
{
    fb_report *r = verify(&edge_in);
    expect_passed(r, "signed at notAfter, no CRLs");
    fb_report_free(r);
    r = verify_with(&edge_in, trust_crl);
    expect_passed(r, "signed at notAfter, with a CRL");
    fb_report_free(r);
    r = verify_with(&edge_out, trust_crl);
    expect_verdict(r, "signed a second after notAfter, with a CRL", FB_FAILED, FB_SUB_EXPIRED,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=Edge Operator", END_OF_NEEDLES);
    fb_report_free(r);
}
END_TEST

/* A CRL whose nextUpdate is before the signing time says nothing about the
 * certificate then: revocation data is missing, the path is not. */
START_TEST(crl_out_of_date)
{
    fb_report *r = verify(&stale_b);
    expect_passed(r, "signed on day 40, no CRLs");
    fb_report_free(r);
    r = verify_with(&stale_b, trust_crl);
    expect_verdict(r, "signed on day 40, the CRL runs to day 30", FB_INDETERMINATE,
                   FB_SUB_NO_REVOCATION_DATA, FB_CHECK_UNIT_CERTIFICATE, "CN=Soft EC Operator",
                   END_OF_NEEDLES);
    fb_report_free(r);
}
END_TEST

/* ---- missing seal, SM2 user ID, coverage ---- */

START_TEST(missing_seal)
{
    fb_report *r = verify(&unsealed);
    expect_verdict(r, "unsealed", FB_INDETERMINATE, FB_SUB_NO_SUPERVISOR_SEAL,
                   FB_CHECK_SUPERVISOR_SEAL, "SupervisorPartySignature", END_OF_NEEDLES);
    expect_check(r, "unsealed", FB_CHECK_UNIT_SIGNATURE, FB_PASSED, FB_SUB_NONE, NULL);
    expect_check(r, "unsealed", FB_CHECK_UNIT_CERTIFICATE, FB_PASSED, FB_SUB_NONE, NULL);
    expect_check(r, "unsealed", FB_CHECK_SUPERVISOR_CERTIFICATE, FB_INDETERMINATE,
                 FB_SUB_NO_SUPERVISOR_SEAL, NULL);
    expect_check(r, "unsealed", FB_CHECK_BILL, FB_PASSED, FB_SUB_NONE, NULL);
    ck_assert_ptr_nonnull(fb_report_signer_subject(r, 0));
    ck_assert_ptr_null(fb_report_signer_subject(r, 1));
    ck_assert_ptr_null(fb_report_signing_time(r, 1));
    fb_report_free(r);

    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    o.trust = trust_all;
    o.missing_seal_fails = 1;
    r = verify_opts(&unsealed, &o);
    expect_verdict(r, "unsealed, missing_seal_fails", FB_FAILED, FB_SUB_NO_SUPERVISOR_SEAL,
                   FB_CHECK_SUPERVISOR_SEAL, "SupervisorPartySignature", END_OF_NEEDLES);
    fb_report_free(r);
    r = verify_opts(&genuine[0].doc, &o);
    expect_passed(r, "sealed, missing_seal_fails");
    fb_report_free(r);
}
END_TEST

START_TEST(sm2_user_id)
{
    fb_report *r = verify(&sm2_alice);
    expect_verdict(r, "SM2 ID ALICE123, verified with the default", FB_FAILED,
                   FB_SUB_SIG_CRYPTO_FAILURE, FB_CHECK_UNIT_SIGNATURE, "InvoicingPartySignature",
                   END_OF_NEEDLES);
    expect_check(r, "SM2 ID ALICE123", FB_CHECK_SUPERVISOR_SEAL, FB_PASSED, FB_SUB_NONE, NULL);
    fb_report_free(r);

    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    o.trust = trust_all;
    o.sm2_id = "ALICE123";
    r = verify_opts(&sm2_alice, &o);
    expect_passed(r, "SM2 ID ALICE123, verified with ALICE123");
    fb_report_free(r);

    o.sm2_id = FB_SM2_DEFAULT_ID;
    r = verify_opts(&genuine[2].doc, &o);
    expect_passed(r, "SM2 bill with the default ID named");
    fb_report_free(r);
    o.sm2_id = "ALICE123";
    r = verify_opts(&genuine[2].doc, &o);
    expect_verdict(r, "SM2 bill verified with another ID", FB_FAILED, FB_SUB_SIG_CRYPTO_FAILURE,
                   FB_CHECK_UNIT_SIGNATURE, "InvoicingPartySignature", END_OF_NEEDLES);
    fb_report_free(r);
}
END_TEST

START_TEST(coverage)
{
    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    o.trust = trust_all;
    fb_report *r = verify_opts(&cover_frag, &o);
    expect_verdict(r, "sealed over the fragment, verified by default", FB_FAILED,
                   FB_SUB_HASH_FAILURE, FB_CHECK_SUPERVISOR_SEAL, "SupervisorPartySignature",
                   END_OF_NEEDLES);
    fb_report_free(r);
    o.coverage = FB_COVER_FRAGMENT;
    r = verify_opts(&cover_frag, &o);
    expect_passed(r, "sealed over the fragment, verified so");
    fb_report_free(r);
    r = verify_opts(&genuine[0].doc, &o);
    expect_verdict(r, "sealed by default, verified over the fragment", FB_FAILED,
                   FB_SUB_HASH_FAILURE, FB_CHECK_SUPERVISOR_SEAL, "SupervisorPartySignature",
                   END_OF_NEEDLES);
    fb_report_free(r);
    o.coverage = FB_COVER_UNIT_NODE;
    r = verify_opts(&cover_unit, &o);
    expect_passed(r, "sealed over the unit node, verified so");
    fb_report_free(r);
    o.coverage = FB_COVER_FRAGMENT_AND_UNIT;
    r = verify_opts(&cover_unit, &o);
    expect_verdict(r, "sealed over the unit node, verified by default", FB_FAILED,
                   FB_SUB_HASH_FAILURE, FB_CHECK_SUPERVISOR_SEAL, "SupervisorPartySignature",
                   END_OF_NEEDLES);
    fb_report_free(r);

    /* Under "fragment" a changed unit node leaves the seal intact... */
    o.coverage = FB_COVER_FRAGMENT;
    fbt_bytes m = replace_text(&cover_frag, "SignatureTime", "20261116000000");
    r = verify_opts(&m, &o);
    expect_check(r, "fragment coverage, unit SignatureTime changed", FB_CHECK_SUPERVISOR_SEAL,
                 FB_PASSED, FB_SUB_NONE, NULL);
    fb_report_free(r);
    bytes_free(&m);
}
END_TEST

/* ---- not a bill ---- */

#define S(text) text, sizeof text - 1

START_TEST(not_a_bill)
{
    uint8_t *big = malloc(2 * 1024 * 1024);
    ck_assert_ptr_nonnull(big);
    srand(11);
    for (size_t i = 0; i < 2 * 1024 * 1024; i++)
        big[i] = (uint8_t)rand();
    fbt_bytes golden = fbt_golden("medical-outpatient");
    /* A good bill padded past the 1 MB limit. */
    size_t padded_len = 2 * 1024 * 1024;
    uint8_t *padded = malloc(padded_len);
    ck_assert_ptr_nonnull(padded);
    memset(padded, ' ', padded_len);
    memcpy(padded, genuine[0].doc.p, genuine[0].doc.n);
    static const char xxe[] =
        "<?xml version=\"1.0\"?><!DOCTYPE EInvoice [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<EInvoice>&x;</EInvoice>";
    static const char laughs[] =
        "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;"
        "&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\">]><EInvoice>&c;</EInvoice>";
    struct {
        const char *what;
        const void *p;
        size_t n;
        const char *needle;
    } cases[] = {
        { "empty", "", 0, "empty" },
        { "random bytes", big, 4096, NULL },
        { "random text", S("this is not a bill"), NULL },
        { "2 MB of random bytes", big, 2 * 1024 * 1024, "limit" },
        { "a bill padded to 2 MB", padded, padded_len, "limit" },
        { "XXE", S(xxe), "DOCTYPE" },
        { "billion laughs", S(laughs), "DOCTYPE" },
        { "another root", S("<?xml version=\"1.0\"?><Invoice/>"), "EInvoice" },
        { "an unsigned bill", golden.p, golden.n, "EInvoiceSignature" },
        { "half a bill", genuine[0].doc.p, genuine[0].doc.n / 2, NULL },
        { "UTF-16", S("\xFF\xFE<\0E\0"), "UTF-16" },
        { "a bill in ISO-8859-1",
          S("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><EInvoice/>"), "ISO-8859-1" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fbt_bytes d = { (uint8_t *)cases[i].p, cases[i].n };
        fb_report *r = verify(&d);
        expect_verdict(r, cases[i].what, FB_FAILED, FB_SUB_FORMAT_FAILURE, FB_CHECK_STRUCTURE,
                       cases[i].needle, END_OF_NEEDLES);
        for (int c = 1; c < FB_CHECK_COUNT; c++)
            expect_check(r, cases[i].what, (fb_check)c, FB_INDETERMINATE, FB_SUB_NONE,
                         "not checked");
        ck_assert_ptr_null(fb_report_signer_subject(r, 0));
        ck_assert_ptr_null(fb_report_signer_subject(r, 1));
        if (i != 8) /* the unsigned bill is read */
            NEED(fb_report_bill(r) == NULL, "%s: a bill is reported", cases[i].what);
        fb_report_free(r);
    }
    /* A smaller read limit is the caller's. */
    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    o.trust = trust_all;
    o.limits.max_bytes = 1000;
    fb_report *r = verify_opts(&genuine[0].doc, &o);
    expect_verdict(r, "a bill over the caller's limit", FB_FAILED, FB_SUB_FORMAT_FAILURE,
                   FB_CHECK_STRUCTURE, "limit", END_OF_NEEDLES);
    fb_report_free(r);
    o.limits.max_bytes = FB_READ_MAX_BYTES_DEFAULT;
    o.limits.max_depth = 3;
    r = verify_opts(&genuine[0].doc, &o);
    expect_verdict(r, "a bill deeper than the caller's limit", FB_FAILED,
                   FB_SUB_FORMAT_FAILURE, FB_CHECK_STRUCTURE, "limit", END_OF_NEEDLES);
    fb_report_free(r);
    free(big);
    free(padded);
    bytes_free(&golden);
}
END_TEST

START_TEST(null_arguments)
{
    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    o.trust = trust_all;
    fb_report *r = NULL;
    const fbt_bytes *d = &genuine[0].doc;
    ck_assert_int_lt(fb_verify(NULL, d->n, &o, &r), 0);
    ck_assert_int_lt(fb_verify(d->p, d->n, NULL, &r), 0);
    ck_assert_int_lt(fb_verify(d->p, d->n, &o, NULL), 0);
    fb_verify_options no_trust = FB_VERIFY_OPTIONS_INIT;
    ck_assert_int_lt(fb_verify(d->p, d->n, &no_trust, &r), 0);
    ck_assert(fb_last_error()[0] != '\0');
    /* Accessors take NULL. */
    ck_assert_int_eq(fb_report_state(NULL), FB_FAILED);
    ck_assert_ptr_nonnull(fb_report_sentence(NULL));
    ck_assert_ptr_null(fb_report_bill(NULL));
    ck_assert_ptr_null(fb_report_signer_subject(NULL, 0));
    ck_assert_ptr_nonnull(fb_report_check_sentence(NULL, FB_CHECK_BILL));
    fb_report_free(NULL);
    /* A report comes back, and the error is clear after it. */
    r = NULL;
    ck_assert_int_eq(fb_verify(d->p, d->n, &o, &r), FB_OK);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_nonnull(fb_report_check_sentence(r, (fb_check)FB_CHECK_COUNT));
    ck_assert_int_eq(fb_report_check_state(r, (fb_check)-1), FB_FAILED);
    fb_report_free(r);
}
END_TEST

/* Options out of their range are bad arguments, as fb_seal takes them. */
START_TEST(bad_options)
{
    const fbt_bytes *d = &genuine[0].doc;
    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    o.trust = trust_all;
    o.coverage = (fb_seal_coverage)7;
    fb_report *r = NULL;
    int rc_coverage = fb_verify(d->p, d->n, &o, &r);
    char got_coverage[100];
    snprintf(got_coverage, sizeof got_coverage, "status %d%s%s", rc_coverage, r ? ", report " : "",
             r ? fb_state_name(fb_report_state(r)) : "");
    fb_report_free(r);
    o.coverage = FB_COVER_FRAGMENT_AND_UNIT;
    o.time_policy = (fb_time_policy)9;
    r = NULL;
    int rc_time = fb_verify(d->p, d->n, &o, &r);
    char got_time[100];
    snprintf(got_time, sizeof got_time, "status %d%s%s", rc_time, r ? ", report " : "",
             r ? fb_state_name(fb_report_state(r)) : "");
    fb_report_free(r);
    NEED(rc_coverage == FB_EARG && rc_time == FB_EARG,
         "expected FB_EARG (%d) for coverage 7 and for time policy 9; got %s and %s", FB_EARG,
         got_coverage, got_time);

    /* An SM2 user ID no signer can have used (FB_SM2_ID_MAX) is a mistake
     * of the caller, not a failed signature. */
    char *id = malloc(FB_SM2_ID_MAX + 2);
    ck_assert_ptr_nonnull(id);
    memset(id, 'I', FB_SM2_ID_MAX + 1);
    id[FB_SM2_ID_MAX + 1] = '\0';
    o.time_policy = FB_TIME_SIGNING;
    o.sm2_id = id;
    r = NULL;
    ck_assert_int_eq(fb_verify(d->p, d->n, &o, &r), FB_EARG);
    ck_assert_ptr_null(r);
    NEED(strstr(fb_last_error(), "SM2 user ID"), "message: %s", fb_last_error());
    fb_trust *t = NULL;
    ck_assert_int_eq(fb_trust_new(&t), FB_OK);
    ck_assert_int_eq(fb_trust_set_sm2_id(t, id), FB_EARG);
    id[FB_SM2_ID_MAX] = '\0';
    ck_assert_int_eq(fb_trust_set_sm2_id(t, id), FB_OK);
    fb_trust_free(t);
    free(id);
}
END_TEST

/* ---- threads and the path cache ---- */

static const fbt_bytes *thread_set[24];
static size_t n_thread_set;
static char *baseline[24];

typedef struct thread_arg {
    const fb_verify_options *o;
    int rounds;
    char *mismatch; /* first difference, malloc'd */
} thread_arg;

static void *verify_many(void *p)
{
    thread_arg *a = p;
    char *text = malloc(16000);
    for (int k = 0; text && k < a->rounds && !a->mismatch; k++)
        for (size_t i = 0; i < n_thread_set && !a->mismatch; i++) {
            size_t j = (i + (size_t)k) % n_thread_set;
            fb_report *r = NULL;
            if (fb_verify(thread_set[j]->p, thread_set[j]->n, a->o, &r) != FB_OK) {
                a->mismatch = strdup("fb_verify failed");
                break;
            }
            render(r, text, 16000);
            fb_report_free(r);
            if (strcmp(text, baseline[j])) {
                size_t n = 2 * 16000 + 100;
                if ((a->mismatch = malloc(n)) != NULL)
                    snprintf(a->mismatch, n, "bill %zu:\n%s\nexpected:\n%s", j, text,
                             baseline[j]);
            }
        }
    free(text);
    return NULL;
}

/* Results of one thread with one trust object, then of eight sharing
 * another. */
static void threads_agree(const fb_trust *single, fb_trust *shared, int rounds)
{
    fb_verify_options one = FB_VERIFY_OPTIONS_INIT, o = FB_VERIFY_OPTIONS_INIT;
    one.trust = single;
    o.trust = shared;
    n_thread_set = 0;
    const fbt_bytes *set[] = { &genuine[0].doc, &genuine[1].doc, &genuine[2].doc,
                               &genuine[4].doc, &unsealed, &expired_b, &noku_b, &revoked_b,
                               &hash_other, &future, &sm2_alice, &cover_frag, &bill_b,
                               &edge_in, &edge_out, &golden_sealed[2] };
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        thread_set[n_thread_set] = set[i];
        baseline[n_thread_set] = malloc(16000);
        ck_assert_ptr_nonnull(baseline[n_thread_set]);
        fb_report *r = verify_opts(set[i], &one);
        render(r, baseline[n_thread_set], 16000);
        fb_report_free(r);
        n_thread_set++;
    }
    pthread_t t[8];
    thread_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (thread_arg){ &o, rounds, NULL };
        ck_assert_int_eq(pthread_create(&t[i], NULL, verify_many, &args[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 8; i++)
        NEED(args[i].mismatch == NULL, "thread %d disagrees with one thread: %s", i,
             args[i].mismatch);
    for (size_t i = 0; i < n_thread_set; i++)
        free(baseline[i]);
}

START_TEST(threads_share_trust)
{
    /* A fresh trust: the threads race to fill its path cache. */
    fb_trust *t = new_trust(fbt_token_path("ca/root-ec.pem"), fbt_token_path("ca/root-sm2.pem"),
                            NULL);
    threads_agree(trust_all, t, 6);
    fb_trust_free(t);
    threads_agree(trust_all, trust_all, 3);
}
END_TEST

START_TEST(threads_share_trust_with_crl)
{
    fb_trust *t = new_trust(fbt_token_path("ca/root-ec.pem"), NULL, pki("root-ec.crl"));
    threads_agree(trust_crl, t, 3);
    fb_trust_free(t);
}
END_TEST

START_TEST(path_cache)
{
    fb_trust *t = new_trust(fbt_token_path("ca/root-ec.pem"), NULL, NULL);
    fb_port *unit = open_file("keys/soft-ec.pem", "certs/soft-ec.pem", NULL, 0);
    fb_port *bureau = open_file(pki("bureau-soft.key"), pki("bureau-soft.pem"), NULL, 0);
    fb_bill *b = golden_bill("medical-outpatient", bureau);
    fb_verify_options now = FB_VERIFY_OPTIONS_INIT;
    now.trust = t;
    now.time_policy = FB_TIME_NOW;
    now.now = t_unit + 3 * YEAR;
    char first[16000] = "", text[16000];
    for (unsigned i = 1; i <= 200; i++) {
        renumber(b, 100 + i);
        fbt_bytes d = issue_and_seal(unit, bureau, b, t_unit);
        fb_report *r = verify_with(&d, t);
        expect_passed(r, "one of 200 bills of one signer");
        /* Identical apart from the bill itself. */
        snprintf(text, sizeof text, "%s %s %s %s %s", fb_report_signer_subject(r, 0),
                 fb_report_signer_serial(r, 0), fb_report_signing_time(r, 0),
                 fb_report_signer_subject(r, 1), fb_report_signer_serial(r, 1));
        if (!first[0])
            memcpy(first, text, sizeof text);
        NEED(!strcmp(first, text), "bill %u: %s, the first: %s", i, text, first);
        fb_report_free(r);
        if (i % 20 == 0) {
            /* The cached path with another time: expired now. */
            r = verify_opts(&d, &now);
            expect_verdict(r, "cached path, time policy now", FB_FAILED, FB_SUB_EXPIRED,
                           FB_CHECK_UNIT_CERTIFICATE, "CN=Soft EC Operator", END_OF_NEEDLES);
            fb_report_free(r);
            r = verify_with(&expired_b, t);
            expect_verdict(r, "another signer between", FB_FAILED, FB_SUB_EXPIRED,
                           FB_CHECK_UNIT_CERTIFICATE, "CN=Expired Operator", END_OF_NEEDLES);
            fb_report_free(r);
        }
        bytes_free(&d);
    }
    fb_bill_free(b);
    fb_port_close(unit);
    fb_port_close(bureau);

    /* Anchors added after use. */
    fb_report *r = verify_with(&genuine[2].doc, t);
    expect_verdict(r, "SM2 bill before its root is added", FB_INDETERMINATE,
                   FB_SUB_NO_CERTIFICATE_CHAIN_FOUND, FB_CHECK_UNIT_CERTIFICATE,
                   "CN=Soft SM2 Operator", END_OF_NEEDLES);
    fb_report_free(r);
    ck_assert_int_eq(fb_trust_add_anchors(t, fbt_token_path("ca/root-sm2.pem")), FB_OK);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 2);
    r = verify_with(&genuine[2].doc, t);
    expect_passed(r, "SM2 bill after its root is added");
    fb_report_free(r);
    r = verify_with(&genuine[0].doc, t);
    expect_passed(r, "EC bill after another root is added");
    fb_report_free(r);
    ck_assert_int_eq(fb_trust_add_anchors(t, pki("other/ca.pem")), FB_OK);
    r = verify_with(&genuine[0].doc, t);
    expect_passed(r, "EC bill after a third root is added");
    fb_report_free(r);
    fb_trust_free(t);

    /* The other way round: a path that was not found is not remembered. */
    t = new_trust(fbt_token_path("ca/root-sm2.pem"), NULL, NULL);
    r = verify_with(&genuine[0].doc, t);
    expect_verdict(r, "EC bill before its root is added", FB_INDETERMINATE,
                   FB_SUB_NO_CERTIFICATE_CHAIN_FOUND, FB_CHECK_UNIT_CERTIFICATE,
                   "CN=Port 1 Operator", END_OF_NEEDLES);
    fb_report_free(r);
    ck_assert_int_eq(fb_trust_add_anchors(t, fbt_token_path("ca/root-ec.pem")), FB_OK);
    r = verify_with(&genuine[0].doc, t);
    expect_passed(r, "EC bill after its root is added");
    fb_report_free(r);
    /* A CRL added after use: the revoked certificate is now found out. */
    r = verify_with(&revoked_b, t);
    expect_passed(r, "revoked, before the CRL is added");
    fb_report_free(r);
    ck_assert_int_eq(fb_trust_add_crl(t, pki("root-ec.crl")), FB_OK);
    r = verify_with(&revoked_b, t);
    expect_verdict(r, "revoked, after the CRL is added", FB_FAILED, FB_SUB_REVOKED,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=Revoked Operator", END_OF_NEEDLES);
    fb_report_free(r);
    fb_trust_free(t);
}
END_TEST

/* The carried certificate of the unit signature with one byte of its own
 * signature changed: the same length, the same slot in a cache keyed
 * loosely, but not the certificate that was verified before. */
static fbt_bytes with_cert_byte_flipped(const fbt_bytes *d)
{
    size_t off, len;
    text_of(d, "SignatureValue", &off, &len);
    unsigned char *der = malloc(len), *b64 = malloc(len + 4);
    int n = EVP_DecodeBlock(der, d->p + off, (int)len);
    NEED(n > 0, "SignatureValue is Base64");
    for (size_t pad = 0; pad < 2 && pad < len && d->p[off + len - 1 - pad] == '='; pad++)
        n--; /* EVP_DecodeBlock counts the padding as bytes */
    const unsigned char *q = der;
    CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &q, n);
    STACK_OF(X509) *certs = ci ? CMS_get1_certs(ci) : NULL;
    NEED(certs && sk_X509_num(certs) == 1, "the unit CMS carries one certificate");
    unsigned char *cert = NULL;
    int cert_len = i2d_X509(sk_X509_value(certs, 0), &cert);
    unsigned char *at = NULL;
    for (int i = 0; !at && cert_len > 0 && i + cert_len <= n; i++)
        if (!memcmp(der + i, cert, (size_t)cert_len))
            at = der + i;
    NEED(at, "the certificate's DER is in the CMS");
    at[cert_len - 3] ^= 0x01; /* inside the certificate's signature */
    EVP_EncodeBlock(b64, der, n);
    fbt_bytes out = splice(d, off, len, b64, strlen((char *)b64));
    OPENSSL_free(cert);
    sk_X509_pop_free(certs, X509_free);
    CMS_ContentInfo_free(ci);
    free(der);
    free(b64);
    return out;
}

/* Decoded certificates are kept per trust store and compared byte for
 * byte: a look-alike is decoded and judged afresh, and changing the SM2
 * user ID drops them. */
START_TEST(certificate_cache)
{
    fb_trust *t = new_trust(fbt_token_path("ca/root-ec.pem"), fbt_token_path("ca/root-sm2.pem"),
                            NULL);
    fbt_bytes flipped = with_cert_byte_flipped(&genuine[0].doc);
    for (int round = 0; round < 3; round++) {
        fb_report *r = verify_with(&genuine[0].doc, t);
        expect_passed(r, "EC bill, its certificate decoded before");
        fb_report_free(r);
        /* Had the cached certificate stood in, its hash would match
         * signingCertificateV2 and the bill would pass. */
        r = verify_with(&flipped, t);
        expect_verdict(r, "the same certificate with one byte changed", FB_FAILED,
                       FB_SUB_FORMAT_FAILURE, FB_CHECK_UNIT_SIGNATURE, "signingCertificateV2",
                       END_OF_NEEDLES);
        fb_report_free(r);
    }
    fb_report *r = verify_with(&genuine[2].doc, t);
    expect_passed(r, "SM2 bill, default ID");
    fb_report_free(r);
    /* The SM2 certificates were signed with the default ID: with another
     * one, their own signatures no longer verify, cached or not. */
    ck_assert_int_eq(fb_trust_set_sm2_id(t, "ALICE123"), FB_OK);
    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    o.trust = t;
    r = verify_opts(&genuine[2].doc, &o);
    expect_check(r, "SM2 certificates under another trust ID", FB_CHECK_UNIT_CERTIFICATE,
                 FB_INDETERMINATE, FB_SUB_NO_CERTIFICATE_CHAIN_FOUND, NULL);
    fb_report_free(r);
    ck_assert_int_eq(fb_trust_set_sm2_id(t, FB_SM2_DEFAULT_ID), FB_OK);
    r = verify_with(&genuine[2].doc, t);
    expect_passed(r, "SM2 bill, the default ID again");
    fb_report_free(r);
    bytes_free(&flipped);
    fb_trust_free(t);
}
END_TEST

/* ---- other signers' CMS, intermediates ---- */

/* Unit signatures made by the openssl command: signed attributes of its
 * own choice, none at all, the signer named by key identifier, RSA. */
/* ---- limits of trust files (gap G10) ---- */

#define TRUST_FILE_MAX (16 * 1024 * 1024)
#define TRUST_COUNT_MAX 10000

/* A copy of src, repeated `copies` times, then grown with zero bytes (a
 * sparse tail) to `size` bytes when size is not 0. */
static void trust_file(const char *path, const char *src, int copies, off_t size)
{
    uint8_t *one = NULL;
    size_t len = 0;
    fbt_read_file(src, &one, &len);
    FILE *f = fopen(path, "wb");
    NEED(f != NULL, "cannot write %s: %s", path, strerror(errno));
    for (int i = 0; i < copies; i++)
        NEED(fwrite(one, 1, len, f) == len, "cannot write %s", path);
    NEED(fclose(f) == 0, "cannot write %s", path);
    free(one);
    if (size)
        NEED(truncate(path, size) == 0, "truncate %s: %s", path, strerror(errno));
}

/* The call fails with FB_ELIMIT, and its message holds every needle. */
static void expect_limit(int rc, const char *what, ...)
{
    NEED(rc == FB_ELIMIT, "%s: status %d, expected FB_ELIMIT: %s", what, rc,
         rc ? fb_last_error() : "(accepted)");
    va_list ap;
    va_start(ap, what);
    for (const char *n; (n = va_arg(ap, const char *));)
        NEED(strstr(fb_last_error(), n), "%s: message \"%s\" lacks \"%s\"", what, fb_last_error(),
             n);
    va_end(ap);
}

/* Anchor, intermediate and CRL files of at most 16 MiB; at most 10,000
 * certificates of each kind in a trust, 10,000 CRLs, and 10,000 certificate
 * files in a directory. A refusal adds nothing. */
START_TEST(trust_file_limits)
{
    char dir[800], big[900], edge[900], many[900], crl[900];
    snprintf(dir, sizeof dir, "%s/limits-%ld", T->dir, (long)getpid());
    NEED(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));
    const char *root = fbt_token_path("ca/root-ec.pem");
    fb_trust *t = NULL;
    NEED(fb_trust_new(&t) == FB_OK, "fb_trust_new");

    /* Size: a root followed by zero bytes, exactly 16 MiB, then one more. */
    snprintf(edge, sizeof edge, "%s/edge.pem", dir);
    trust_file(edge, root, 1, TRUST_FILE_MAX);
    NEED(fb_trust_add_anchors(t, edge) == FB_OK, "16 MiB: %s", fb_last_error());
    ck_assert_uint_eq(fb_trust_anchor_count(t), 1);
    snprintf(big, sizeof big, "%s/big.pem", dir);
    trust_file(big, root, 1, TRUST_FILE_MAX + 1);
    expect_limit(fb_trust_add_anchors(t, big), "anchors of 16 MiB + 1", big, "16777216", NULL);
    expect_limit(fb_trust_add_intermediates(t, big), "intermediates of 16 MiB + 1", big,
                 "16777216", NULL);
    snprintf(crl, sizeof crl, "%s/big.crl", dir);
    trust_file(crl, pki("root-ec.crl"), 1, TRUST_FILE_MAX + 1);
    expect_limit(fb_trust_add_crl(t, crl), "a CRL of 16 MiB + 1", crl, "16777216", NULL);
    expect_limit(fb_trust_add_anchors(t, "/dev/zero"), "/dev/zero", "/dev/zero", NULL);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 1);
    /* The refused CRL was not added: it would revoke this signer. */
    fb_report *r = verify_with(&revoked_b, t);
    expect_passed(r, "revoked, its CRL refused as too large");
    fb_report_free(r);
    fb_trust_free(t);

    /* Count: 10,001 certificates in a file are refused (before any is
     * decoded), 10,000 taken; then a trust with 10,000 takes no more. */
    NEED(fb_trust_new(&t) == FB_OK, "fb_trust_new");
    snprintf(many, sizeof many, "%s/many.pem", dir);
    trust_file(many, root, TRUST_COUNT_MAX + 1, 0);
    expect_limit(fb_trust_add_anchors(t, many), "10,001 anchors", many, "10000", NULL);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 0);
    expect_limit(fb_trust_add_intermediates(t, many), "10,001 intermediates", many, "10000",
                 NULL);
    trust_file(many, root, TRUST_COUNT_MAX, 0);
    NEED(fb_trust_add_intermediates(t, many) == FB_OK, "10,000: %s", fb_last_error());
    expect_limit(fb_trust_add_intermediates(t, root), "the 10,001st intermediate", root,
                 "10000 intermediate certificates", NULL);
    /* CRLs: 10,000 of them, then one more. */
    for (int i = 0; i < TRUST_COUNT_MAX; i++)
        NEED(fb_trust_add_crl(t, pki("root-ec.crl")) == FB_OK, "CRL %d: %s", i + 1,
             fb_last_error());
    expect_limit(fb_trust_add_crl(t, pki("root-ec.crl")), "the 10,001st CRL", "root-ec.crl",
                 "10000", NULL);
    fb_trust_free(t);

    /* A directory of 10,000 certificate files is read; of 10,001 refused,
     * before any is read. Made in memory where there is a tmpfs: making
     * 10,000 files on a slow disk takes seconds. */
    char sub[900], file[1000];
    snprintf(sub, sizeof sub, "/dev/shm/fbt-trust-%ld", (long)getpid());
    if (mkdir(sub, 0700) != 0) {
        snprintf(sub, sizeof sub, "%s/files", dir);
        NEED(mkdir(sub, 0700) == 0, "mkdir %s: %s", sub, strerror(errno));
    }
    for (int i = 0; i < TRUST_COUNT_MAX; i++) {
        snprintf(file, sizeof file, "%s/%05d.pem", sub, i);
        FILE *f = fopen(file, "w");
        NEED(f != NULL && fclose(f) == 0, "cannot write %s", file);
    }
    NEED(fb_trust_new(&t) == FB_OK, "fb_trust_new");
    int rc = fb_trust_add_anchors(t, sub);
    NEED(rc == FB_EFORMAT && strstr(fb_last_error(), "no PEM certificate"),
         "10,000 empty files: status %d: %s", rc, fb_last_error());
    snprintf(file, sizeof file, "%s/last.crt", sub);
    trust_file(file, root, 1, 0);
    expect_limit(fb_trust_add_anchors(t, sub), "10,001 files", sub, "10000", NULL);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 0);
    fb_trust_free(t);
    char cmd[2000], out[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, sub);
    fbt_run_command(T->dir, cmd, out, sizeof out);
}
END_TEST

START_TEST(third_party_cms)
{
    struct {
        const char *what;
        const fbt_bytes *doc;
    } cases[] = {
        { "openssl cms -sign", &ossl_attr },
        { "openssl cms -sign -noattr", &ossl_noattr },
        { "openssl cms -sign -keyid", &ossl_keyid },
        { "openssl cms -sign, RSA", &ossl_rsa },
        { "openssl cms -sign -certfile intermediate", &inter_ossl },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fb_trust *t = new_trust(fbt_token_path("ca/root-ec.pem"), NULL, NULL);
        fb_report *r = verify_with(cases[i].doc, t);
        expect_passed(r, cases[i].what);
        const char *when = fb_report_signing_time(r, 0);
        NEED(when && strlen(when) == 14, "%s: signing time %s", cases[i].what,
             when ? when : "NULL");
        fb_report_free(r);
        fb_trust_free(t);
    }
}
END_TEST

START_TEST(intermediates)
{
    fb_trust *t = new_trust(fbt_token_path("ca/root-ec.pem"), NULL, NULL);
    fb_report *r = verify_with(&inter_lib, t);
    expect_verdict(r, "a leaf whose intermediate is nowhere", FB_INDETERMINATE,
                   FB_SUB_NO_CERTIFICATE_CHAIN_FOUND, FB_CHECK_UNIT_CERTIFICATE,
                   "CN=Inter Operator", END_OF_NEEDLES);
    fb_report_free(r);
    fb_trust_free(t);

    t = new_trust(fbt_token_path("ca/root-ec.pem"), NULL, NULL);
    ck_assert_int_eq(fb_trust_add_intermediates(t, pki("inter.pem")), FB_OK);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 1);
    r = verify_with(&inter_lib, t);
    expect_passed(r, "a leaf whose intermediate is configured");
    fb_report_free(r);
    r = verify_with(&inter_ossl, t);
    expect_passed(r, "a leaf whose intermediate comes with it and is configured");
    fb_report_free(r);
    fb_trust_free(t);

    /* An intermediate is not an anchor. */
    t = new_trust(pki("inter.pem"), NULL, NULL);
    r = verify_with(&genuine[0].doc, t);
    expect_verdict(r, "an EC bill against the intermediate alone", FB_INDETERMINATE,
                   FB_SUB_NO_CERTIFICATE_CHAIN_FOUND, FB_CHECK_UNIT_CERTIFICATE,
                   "CN=Port 1 Operator", END_OF_NEEDLES);
    fb_report_free(r);
    fb_trust_free(t);
}
END_TEST

/* A bill's verdict is its own: an intermediate another bill carried does
 * not make a later bill's path, or the same bill would get two verdicts
 * (and, from several threads, whichever the race gives). */
START_TEST(verdict_does_not_depend_on_history)
{
    fb_trust *t = new_trust(fbt_token_path("ca/root-ec.pem"), NULL, NULL);
    fb_report *r = verify_with(&inter_lib, t);
    expect_verdict(r, "the leaf without its intermediate, first", FB_INDETERMINATE,
                   FB_SUB_NO_CERTIFICATE_CHAIN_FOUND, FB_CHECK_UNIT_CERTIFICATE,
                   "CN=Inter Operator", END_OF_NEEDLES);
    fb_report_free(r);
    r = verify_with(&inter_ossl, t);
    expect_passed(r, "the leaf with its intermediate");
    fb_report_free(r);
    r = verify_with(&inter_lib, t);
    expect_verdict(r, "the leaf without its intermediate, after a bill that carried it",
                   FB_INDETERMINATE, FB_SUB_NO_CERTIFICATE_CHAIN_FOUND,
                   FB_CHECK_UNIT_CERTIFICATE, "CN=Inter Operator", END_OF_NEEDLES);
    fb_report_free(r);
    fb_trust_free(t);
}
END_TEST

/* Bytes outside the signed ranges that a reader may meet: a BOM, line
 * breaks between the signature nodes, Base64 in lines. */
START_TEST(layout_outside_signed_bytes)
{
    const fbt_bytes *a = &genuine[0].doc;
    fbt_bytes bom = splice(a, 0, 0, "\xEF\xBB\xBF", 3);
    fb_report *r = verify(&bom);
    expect_passed(r, "a BOM");
    fb_report_free(r);
    bytes_free(&bom);

    fbt_bytes m = insert_at(a, must_find(a, "<EInvoiceSignature>", 0), "\n");
    fbt_bytes m2 = insert_at(&m, must_find(&m, "<InvoicingPartySignature>", 0), "\n  ");
    fbt_bytes m3 = insert_at(&m2, must_find(&m2, "<SupervisorPartySignature>", 0), "\r\n  ");
    fbt_bytes m4 = insert_at(&m3, must_find(&m3, "</EInvoiceSignature>", 0), "\n");
    fbt_bytes m5 = insert_at(&m4, must_find(&m4, "</EInvoice>", 0), "\n");
    r = verify(&m5);
    expect_passed(r, "line breaks around the signature nodes");
    fb_report_free(r);
    bytes_free(&m);
    bytes_free(&m2);
    bytes_free(&m3);
    bytes_free(&m4);
    bytes_free(&m5);

    /* The supervisor's SignatureValue in lines of 64. */
    size_t node = must_find(a, "<SupervisorPartySignature>", 0);
    size_t v = must_find(a, "<SignatureValue>", node) + strlen("<SignatureValue>");
    size_t v_end = must_find(a, "</SignatureValue>", v);
    char *lines = malloc(2 * (v_end - v) + 10);
    ck_assert_ptr_nonnull(lines);
    size_t k = 0;
    for (size_t i = v; i < v_end; i++) {
        if (i > v && (i - v) % 64 == 0)
            lines[k++] = '\n';
        lines[k++] = (char)a->p[i];
    }
    m = splice(a, v, v_end - v, lines, k);
    r = verify(&m);
    expect_passed(r, "Base64 in lines of 64");
    fb_report_free(r);
    bytes_free(&m);
    free(lines);
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("verify");
    struct {
        const char *name;
        TCase *tc;
    } cases[] = {
        { "genuine", tcase_create("genuine") },   { "tamper", tcase_create("tamper") },
        { "bill", tcase_create("bill") },         { "certificates", tcase_create("certificates") },
        { "options", tcase_create("options") },   { "input", tcase_create("input") },
        { "threads", tcase_create("threads") },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tcase_add_unchecked_fixture(cases[i].tc, setup, NULL);
        tcase_set_timeout(cases[i].tc, 30);
        suite_add_tcase(s, cases[i].tc);
    }
    TCase *genuine_tc = cases[0].tc, *tamper = cases[1].tc, *bill = cases[2].tc,
          *certs = cases[3].tc, *options = cases[4].tc, *input = cases[5].tc,
          *threads = cases[6].tc;
    tcase_add_loop_test(genuine_tc, genuine_passes, 0, (int)N_GENUINE);
    tcase_add_test(genuine_tc, golden_kinds_pass);
    tcase_add_test(genuine_tc, third_party_cms);
    tcase_add_test(genuine_tc, layout_outside_signed_bytes);
    tcase_add_loop_test(tamper, every_field_changed, 0, (int)N_GOLDEN);
    tcase_add_test(tamper, signature_node_tampering);
    tcase_add_test(tamper, signature_wrapping);
    tcase_add_test(tamper, broken_cms);
    tcase_add_test(bill, seal_hash_names_another_certificate);
    tcase_add_test(bill, bill_inconsistent);
    tcase_add_test(certs, certificate_validity);
    tcase_add_test(certs, time_policy);
    tcase_add_test(certs, untrusted);
    tcase_add_test(certs, intermediates);
    tcase_add_test(certs, verdict_does_not_depend_on_history);
    tcase_add_test(certs, revocation);
    tcase_add_test(certs, crl_issued_after_signing_good);
    tcase_add_test(certs, crl_issued_after_signing_revoked);
    tcase_add_test(certs, crl_issued_after_signing_expired);
    tcase_add_test(certs, crl_out_of_date);
    tcase_add_test(certs, not_after_inclusive_with_crl);
    tcase_add_test(certs, trust_file_limits);
    tcase_add_test(options, missing_seal);
    tcase_add_test(options, sm2_user_id);
    tcase_add_test(options, coverage);
    tcase_add_test(input, not_a_bill);
    tcase_add_test(input, null_arguments);
    tcase_add_test(input, bad_options);
    tcase_add_test(threads, threads_share_trust);
    tcase_add_test(threads, threads_share_trust_with_crl);
    tcase_add_test(threads, path_cache);
    tcase_add_test(threads, certificate_cache);
    return s;
}
