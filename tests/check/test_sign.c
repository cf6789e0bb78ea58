/* Signatures on bills (include/fiscalbill/{sign,issue,seal,trust}.h,
 * specs/signature-format.md): the detached CMS SignedData fb_cms_sign makes
 * at SoftHSM tokens, key files and the SM2 token behind the test-only faulty
 * module; issuing the golden bills; sealing by the bureau and every refusal
 * of fb_seal; tampering with every element of a sealed bill; trust anchors,
 * intermediates and CRLs; NULL arguments.
 *
 * Every signature is judged by something other than fiscalbill: the openssl
 * command (`openssl cms -verify` for ECDSA and RSA, `openssl pkeyutl -verify
 * -rawin -digest sm3 -pkeyopt distid:...` for SM2) and, where a loop needs
 * many checks, OpenSSL's CMS_verify in-process. The structure of each
 * SignedData is walked here, byte by byte, against §2 of the spec.
 *
 * The SoftHSM fixture (fbt_tokens.h) and a few more certificates made with
 * the openssl command (expired, no signing key usage, odd-length serial,
 * revoked with a CRL, under an intermediate CA) are built once in an
 * unchecked fixture, before Check forks; each test is then a fresh process,
 * so the faulty module's SM2 profile can be set by the test itself. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include "fbt.h"
#include "fbt_tokens.h"
#include "fiscalbill/issue.h"
#include "fiscalbill/seal.h"
#include "fiscalbill/sign.h"
#include "fiscalbill/trust.h"

#define PIN "1234"
#define AREA "652300"
#define BUREAU_SEAL_ID "652300"
#define BUREAU_SEAL_NAME "昌吉回族自治州财政局票据监制章"
#define DEFAULT_ID "1234567812345678"

/* 2023-11-14 22:13:20 UTC, 2023-11-15 06:13:20 in China: a day apart. */
#define T_FIXED INT64_C(1700000000)
#define T_FIXED_CST "20231115061320"
#define T_FIXED_UTCTIME "231114221320Z"

#define OID_P7_DATA "1.2.840.113549.1.7.1"
#define OID_P7_SIGNED "1.2.840.113549.1.7.2"
#define OID_GM_DATA "1.2.156.10197.6.1.4.2.1"
#define OID_GM_SIGNED "1.2.156.10197.6.1.4.2.2"
#define OID_CONTENT_TYPE "1.2.840.113549.1.9.3"
#define OID_MESSAGE_DIGEST "1.2.840.113549.1.9.4"
#define OID_SIGNING_TIME "1.2.840.113549.1.9.5"
#define OID_SIGNING_CERT_V2 "1.2.840.113549.1.9.16.2.47"
#define OID_SHA256 "2.16.840.1.101.3.4.2.1"
#define OID_SM3 "1.2.156.10197.1.401"
#define OID_ECDSA_SHA256 "1.2.840.10045.4.3.2"
#define OID_RSA "1.2.840.113549.1.1.1"
#define OID_RSA_PSS "1.2.840.113549.1.1.10"
#define OID_MGF1 "1.2.840.113549.1.1.8"
#define OID_SM2_P7 "1.2.156.10197.1.501"
#define OID_SM2_GM "1.2.156.10197.1.301.1"

static const fbt_tokens *T;
static char g_bureau_hash[65]; /* SHA-256 of certs/bureau.pem's DER, lower-case hex */
static char g_port2_hash[65];

/* ======================================================================
 * Files and commands
 * ====================================================================== */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
    ck_assert_msg(len == 0 || fwrite(data, 1, len, f) == len, "cannot write %s", path);
    ck_assert_msg(fclose(f) == 0, "cannot close %s", path);
}

/* A file in this process's own work directory, DIR/w-PID/name. Rotating
 * buffers: the last 8 results stay valid. */
static const char *wpath(const char *name)
{
    static char bufs[8][1200];
    static unsigned next;
    static pid_t made;
    char *b = bufs[next++ % 8];
    if (made != getpid()) {
        snprintf(b, sizeof bufs[0], "%s/w-%ld", T->dir, (long)getpid());
        ck_assert_msg(mkdir(b, 0700) == 0 || errno == EEXIST, "mkdir %s: %s", b, strerror(errno));
        made = getpid();
    }
    snprintf(b, sizeof bufs[0], "%s/w-%ld/%s", T->dir, (long)getpid(), name);
    return b;
}

/* Run a shell command with its output (stdout and stderr) in out; returns
 * its exit status (128 + signal when killed). */
static int run_command(const char *cmd, char *out, size_t out_size)
{
    return fbt_run_command(T->dir, cmd, out, out_size);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void sh(const char *fmt, ...)
{
    char cmd[8192], out[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = run_command(cmd, out, sizeof out);
    ck_assert_msg(st == 0, "command failed (%d): %s\n%s", st, cmd, out);
}

static const char *fx(const char *rel)
{
    return fbt_token_path(rel);
}

/* ======================================================================
 * Hashes, certificates
 * ====================================================================== */

static unsigned digest(const EVP_MD *md, const void *data, size_t len, uint8_t out[EVP_MAX_MD_SIZE])
{
    unsigned n = 0;
    ck_assert(EVP_Digest(data, len, out, &n, md, NULL) == 1);
    return n;
}

static void hex_lower(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static X509 *load_cert(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_msg(x != NULL, "%s holds no PEM certificate", path);
    return x;
}

/* DER of the certificate in a PEM file; the caller frees. */
static uint8_t *cert_der(const char *path, size_t *len)
{
    X509 *x = load_cert(path);
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    X509_free(x);
    ck_assert(n > 0);
    uint8_t *copy = malloc((size_t)n);
    ck_assert(copy != NULL);
    memcpy(copy, der, (size_t)n);
    OPENSSL_free(der);
    *len = (size_t)n;
    return copy;
}

/* The seal hash of a certificate file, computed here (spec §4): lower-case
 * hex of SM3 of the DER for SM2 certificates, SHA-256 otherwise. */
static void seal_hash(const char *path, bool sm2, char out[65])
{
    size_t len;
    uint8_t *der = cert_der(path, &len), h[EVP_MAX_MD_SIZE];
    unsigned n = digest(sm2 ? EVP_sm3() : EVP_sha256(), der, len, h);
    ck_assert_uint_eq(n, 32);
    hex_lower(h, n, out);
    free(der);
}

/* The certificate's serial as the spec writes it: upper-case hexadecimal,
 * no leading zeros, computed from the INTEGER's bytes. */
static void serial_text(const char *path, char *out, size_t size)
{
    X509 *x = load_cert(path);
    const ASN1_INTEGER *s = X509_get0_serialNumber(x);
    const unsigned char *p = ASN1_STRING_get0_data(s);
    int n = ASN1_STRING_length(s);
    char hex[256] = "";
    size_t k = 0;
    for (int i = 0; i < n && k + 3 < sizeof hex; i++)
        k += (size_t)snprintf(hex + k, sizeof hex - k, "%02X", p[i]);
    const char *h = hex;
    while (h[0] == '0' && h[1] != '\0')
        h++;
    snprintf(out, size, "%s", h);
    X509_free(x);
}

/* yyyyMMddHHmmss in China Standard Time. */
static void cst_text(int64_t when, char out[15])
{
    time_t t = (time_t)(when + 8 * 3600);
    struct tm tm;
    ck_assert(gmtime_r(&t, &tm) != NULL);
    char buf[96];
    snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    ck_assert_uint_eq(strlen(buf), 14);
    memcpy(out, buf, 15);
}

/* ======================================================================
 * The extra PKI, made once before Check forks
 * ====================================================================== */

static void setup(void)
{
    static bool done;
    T = fbt_tokens_get();
    if (done)
        return;
    done = true;
    seal_hash(fx("certs/bureau.pem"), false, g_bureau_hash);
    seal_hash(fx("certs/port-2.pem"), false, g_port2_hash);

    const char *x = fx("x");
    ck_assert_msg(mkdir(x, 0700) == 0, "mkdir %s: %s", x, strerror(errno));
    char cnf[1200], dir[1100];
    snprintf(dir, sizeof dir, "%s", x);
    snprintf(cnf, sizeof cnf, "%s/ca.cnf", dir);
    FILE *f = fopen(cnf, "w");
    ck_assert(f != NULL);
    fprintf(f,
            "[ ca ]\ndefault_ca = testca\n"
            "[ testca ]\ndir = %s/db\ndatabase = $dir/index.txt\nnew_certs_dir = $dir/new\n"
            "certificate = %s\nprivate_key = %s\nserial = $dir/serial\n"
            "crlnumber = $dir/crlnumber\ndefault_md = sha256\ndefault_days = 30\n"
            "default_crl_days = 30\npolicy = pol\nunique_subject = no\n"
            "[ pol ]\ncommonName = supplied\n"
            "[ req ]\ndistinguished_name = dn\nprompt = no\n[ dn ]\n"
            "[ v3_leaf ]\nbasicConstraints = CA:false\n"
            "keyUsage = critical,digitalSignature,nonRepudiation\n"
            "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n"
            "[ v3_nosign ]\nbasicConstraints = CA:false\nkeyUsage = critical,keyEncipherment\n"
            "[ v3_ca ]\nbasicConstraints = critical,CA:true\n"
            "keyUsage = critical,keyCertSign,cRLSign\n"
            "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid:always\n",
            dir, fx("ca/root-ec.pem"), fx("ca/root-ec.key"));
    ck_assert(fclose(f) == 0);
    const char *ca = fx("ca/root-ec.pem"), *cakey = fx("ca/root-ec.key");
    char ca_s[1100], cakey_s[1100], key_s[1100];
    snprintf(ca_s, sizeof ca_s, "%s", ca);
    snprintf(cakey_s, sizeof cakey_s, "%s", cakey);
    snprintf(key_s, sizeof key_s, "%s", fx("keys/soft-ec.pem"));
    sh("cd '%s' && mkdir db db/new roots roots-empty && : >db/index.txt && echo 1001 >db/serial "
       "&& echo 01 >db/crlnumber && openssl pkey -in '%s' -pubout -out soft-ec.pub.pem "
       "&& openssl req -new -config ca.cnf -key '%s' -subj '/CN=Soft EC Expired' -out ec.csr",
       dir, key_s, key_s);
    /* Expired: valid in 2020 only. */
    sh("cd '%s' && openssl ca -batch -config ca.cnf -in ec.csr -out expired.pem "
       "-startdate 20200101000000Z -enddate 20210101000000Z -extensions v3_leaf -notext",
       dir);
    /* A serial of an odd number of hex digits, with letters (0xABC). */
    sh("cd '%s' && openssl x509 -new -force_pubkey soft-ec.pub.pem -subj '/CN=Serial ABC' "
       "-CA '%s' -CAkey '%s' -sha256 -set_serial 0xABC -days 30 -extfile ca.cnf "
       "-extensions v3_leaf -out serial-abc.pem",
       dir, ca_s, cakey_s);
    /* A key usage that may not sign documents. */
    sh("cd '%s' && openssl x509 -new -force_pubkey soft-ec.pub.pem -subj '/CN=No Signing' "
       "-CA '%s' -CAkey '%s' -sha256 -set_serial 0x2002 -days 30 -extfile ca.cnf "
       "-extensions v3_nosign -out nosign.pem",
       dir, ca_s, cakey_s);
    /* Revoked, and the root's CRL (PEM and DER). */
    sh("cd '%s' && openssl x509 -new -force_pubkey soft-ec.pub.pem -subj '/CN=Soft EC Revoked' "
       "-CA '%s' -CAkey '%s' -sha256 -set_serial 0x2001 -days 30 -extfile ca.cnf "
       "-extensions v3_leaf -out revoked.pem && openssl ca -config ca.cnf -revoke revoked.pem "
       "&& openssl ca -config ca.cnf -gencrl -out crl.pem "
       "&& openssl crl -in crl.pem -outform DER -out crl.der",
       dir, ca_s, cakey_s);
    /* An intermediate CA and a leaf under it. */
    sh("cd '%s' && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out inter.key "
       "&& openssl req -new -config ca.cnf -key inter.key -subj '/CN=Test Intermediate CA' "
       "-out inter.csr && openssl x509 -req -in inter.csr -CA '%s' -CAkey '%s' -sha256 "
       "-set_serial 0x3001 -days 30 -extfile ca.cnf -extensions v3_ca -out inter.pem "
       "&& openssl x509 -new -force_pubkey soft-ec.pub.pem -subj '/CN=Under Intermediate' "
       "-CA inter.pem -CAkey inter.key -sha256 -set_serial 0x3002 -days 30 -extfile ca.cnf "
       "-extensions v3_leaf -out under-inter.pem",
       dir, ca_s, cakey_s);
    /* Roots in a directory (.crt and .pem read, other files not), and a
     * file with no certificate. */
    sh("cd '%s' && cp '%s' roots/root-ec.crt && cp '%s' roots/root-sm2.pem "
       "&& echo 'not a certificate' >roots/notes.txt && cp '%s' roots/key.txt "
       "&& echo 'no certificate in here' >nocert.pem",
       dir, ca_s, fx("ca/root-sm2.pem"), key_s);
}

/* ======================================================================
 * Ports
 * ====================================================================== */

typedef enum port_id {
    P_PORT1,
    P_PORT2,
    P_BUREAU,
    P_PORT_RSA,
    P_PORT_RSA_PSS,
    P_SOFT_EC,
    P_SOFT_RSA,
    P_SOFT_RSA_PSS,
    P_SOFT_SM2,
    P_TOKEN_SM2, /* port-sm2 through the faulty module, FBT_SM2_PROFILE=tass */
    P_COUNT
} port_id;

typedef struct port_def {
    const char *name;
    const char *token; /* NULL: a key file */
    const char *key;   /* keys/... for key files */
    const char *cert;  /* certs/... */
    int pss;
    fb_sig_alg alg;
    const char *alg_name;
    bool sm2;
} port_def;

static const port_def PORTS[P_COUNT] = {
    [P_PORT1] = { "port-1", "port-1", NULL, "certs/port-1.pem", 0, FB_SIG_ECDSA_SHA256,
                  "SHA256withECDSA", false },
    [P_PORT2] = { "port-2", "port-2", NULL, "certs/port-2.pem", 0, FB_SIG_ECDSA_SHA256,
                  "SHA256withECDSA", false },
    [P_BUREAU] = { "bureau", "bureau", NULL, "certs/bureau.pem", 0, FB_SIG_ECDSA_SHA256,
                   "SHA256withECDSA", false },
    [P_PORT_RSA] = { "port-rsa", "port-rsa", NULL, "certs/port-rsa.pem", 0, FB_SIG_RSA_SHA256,
                     "SHA256withRSA", false },
    [P_PORT_RSA_PSS] = { "port-rsa (PSS)", "port-rsa", NULL, "certs/port-rsa.pem", 1,
                         FB_SIG_RSA_PSS_SHA256, "SHA256withRSA/PSS", false },
    [P_SOFT_EC] = { "file soft-ec", NULL, "keys/soft-ec.pem", "certs/soft-ec.pem", 0,
                    FB_SIG_ECDSA_SHA256, "SHA256withECDSA", false },
    [P_SOFT_RSA] = { "file soft-rsa", NULL, "keys/soft-rsa.pem", "certs/soft-rsa.pem", 0,
                     FB_SIG_RSA_SHA256, "SHA256withRSA", false },
    [P_SOFT_RSA_PSS] = { "file soft-rsa (PSS)", NULL, "keys/soft-rsa.pem", "certs/soft-rsa.pem",
                         1, FB_SIG_RSA_PSS_SHA256, "SHA256withRSA/PSS", false },
    [P_SOFT_SM2] = { "file soft-sm2", NULL, "keys/soft-sm2.pem", "certs/soft-sm2.pem", 0,
                     FB_SIG_SM2_SM3, "SM3withSM2", true },
    [P_TOKEN_SM2] = { "port-sm2 (tass)", "port-sm2", NULL, "certs/port-sm2.pem", 0,
                      FB_SIG_SM2_SM3, "SM3withSM2", true },
};

static fb_port *open_uri(const char *uri, const fb_port_options *o)
{
    fb_port *p = NULL;
    int rc = fb_port_open(&p, uri, o);
    ck_assert_msg(rc == FB_OK && p != NULL, "fb_port_open(%s): status %d: %s", uri, rc,
                  fb_last_error());
    return p;
}

/* A key-file port of keys/KEY with the certificate at cert_path
 * (absolute). */
static fb_port *open_file(const char *key, const char *cert_path, const char *sm2_id)
{
    char uri[1200], cert[1200];
    snprintf(uri, sizeof uri, "file:%s", fx(key));
    snprintf(cert, sizeof cert, "%s", cert_path);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.cert_path = cert;
    o.sm2_id = sm2_id;
    return open_uri(uri, &o);
}

static fb_port *open_port(port_id id)
{
    const port_def *d = &PORTS[id];
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    char uri[2400], cert[1200];
    o.rsa_pss = d->pss;
    if (d->token) {
        const char *module = T->module;
        if (id == P_TOKEN_SM2) {
            module = getenv("FBT_FAULTY_MODULE");
            ck_assert_msg(module && *module, "FBT_FAULTY_MODULE is not set (the path of "
                          "libfbtest-faulty-pkcs11.so; meson sets it)");
            /* Read by the shim at C_Initialize: before the first open. */
            setenv("FBT_SM2_PROFILE", "tass", 1);
            setenv("FBT_P11_MODULE", T->module, 1);
        }
        snprintf(uri, sizeof uri, "pkcs11:token=%s;id=%%01?module-path=%s&pin-value=" PIN,
                 d->token, module);
    } else {
        snprintf(uri, sizeof uri, "file:%s", fx(d->key));
        snprintf(cert, sizeof cert, "%s", fx(d->cert));
        o.cert_path = cert;
    }
    fb_port *p = open_uri(uri, &o);
    ck_assert_msg(fb_port_algorithm(p) == d->alg, "%s: algorithm %s", d->name,
                  fb_sig_alg_name(fb_port_algorithm(p)));
    /* The port signs with the fixture's certificate. */
    size_t len, want_len;
    const uint8_t *der = fb_port_certificate(p, &len);
    uint8_t *want = cert_der(fx(d->cert), &want_len);
    ck_assert_msg(der && len == want_len && !memcmp(der, want, len),
                  "%s: the port's certificate is not %s", d->name, d->cert);
    free(want);
    return p;
}

/* ======================================================================
 * A DER walker, to check the SignedData against the spec
 * ====================================================================== */

typedef struct tlv {
    uint8_t tag;
    const uint8_t *at; /* the whole element */
    size_t size;
    const uint8_t *c;  /* its content */
    size_t len;
} tlv;

typedef struct rd {
    const uint8_t *p, *end;
} rd;

static bool rd_next(rd *r, tlv *t)
{
    if (r->end - r->p < 2)
        return false;
    const uint8_t *p = r->p;
    size_t avail = (size_t)(r->end - p), len = p[1], head = 2;
    if ((p[0] & 0x1F) == 0x1F)
        return false;
    if (len & 0x80) {
        size_t n = len & 0x7F;
        if (n == 0 || n > 4 || avail < 2 + n || p[2] == 0)
            return false;
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = (len << 8) | p[2 + i];
        if (len < 0x80)
            return false; /* not minimal: not DER */
        head += n;
    }
    if (avail - head < len)
        return false;
    *t = (tlv){ p[0], p, head + len, p + head, len };
    r->p = p + head + len;
    return true;
}

static rd rd_in(const tlv *t)
{
    return (rd){ t->c, t->c + t->len };
}

static tlv need(rd *r, uint8_t tag, const char *what)
{
    tlv t;
    ck_assert_msg(rd_next(r, &t), "%s: missing, or not DER", what);
    ck_assert_msg(t.tag == tag, "%s: tag 0x%02x, expected 0x%02x", what, t.tag, tag);
    return t;
}

static void oid_text(const tlv *t, char out[128])
{
    ck_assert_uint_eq(t->tag, 0x06);
    const unsigned char *p = t->at;
    ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, (long)t->size);
    ck_assert_msg(o != NULL, "an OID does not decode");
    ck_assert(OBJ_obj2txt(out, 128, o, 1) > 0);
    ASN1_OBJECT_free(o);
}

static void expect_oid(rd *r, const char *want, const char *what)
{
    tlv t = need(r, 0x06, what);
    char s[128];
    oid_text(&t, s);
    ck_assert_msg(!strcmp(s, want), "%s: OID %s, expected %s", what, s, want);
}

/* AlgorithmIdentifier { oid } with absent parameters. */
static void expect_alg(rd *r, const char *oid, const char *what)
{
    tlv a = need(r, 0x30, what);
    rd in = rd_in(&a);
    expect_oid(&in, oid, what);
    ck_assert_msg(in.p == in.end, "%s: parameters are present; the spec says absent", what);
}

typedef struct cms_parts {
    char type_oid[128];     /* ContentInfo contentType */
    tlv digest_algs;        /* SignedData digestAlgorithms (SET) */
    char econtent_oid[128]; /* encapContentInfo eContentType */
    tlv cert;               /* the first certificate carried */
    size_t n_certs;
    tlv sid, si_digest, attrs, sig_alg, sig;
} cms_parts;

/* Walk a ContentInfo of a detached SignedData with one SignerInfo, in the
 * exact shape of spec §2. */
static void split_cms(const uint8_t *der, size_t len, cms_parts *o)
{
    memset(o, 0, sizeof *o);
    rd top = { der, der + len };
    tlv ci = need(&top, 0x30, "ContentInfo");
    ck_assert_msg(top.p == top.end, "bytes after the ContentInfo");
    rd r = rd_in(&ci);
    tlv t = need(&r, 0x06, "contentType");
    oid_text(&t, o->type_oid);
    tlv ex = need(&r, 0xA0, "content [0] EXPLICIT");
    ck_assert_msg(r.p == r.end, "bytes after the ContentInfo content");
    rd e = rd_in(&ex);
    tlv sd = need(&e, 0x30, "SignedData");
    ck_assert(e.p == e.end);
    rd s = rd_in(&sd);
    tlv v = need(&s, 0x02, "SignedData version");
    ck_assert_msg(v.len == 1 && v.c[0] == 1, "SignedData version is not 1");
    o->digest_algs = need(&s, 0x31, "digestAlgorithms");
    tlv encap = need(&s, 0x30, "encapContentInfo");
    rd en = rd_in(&encap);
    t = need(&en, 0x06, "eContentType");
    oid_text(&t, o->econtent_oid);
    ck_assert_msg(en.p == en.end, "encapContentInfo carries content: not detached");
    tlv certs = need(&s, 0xA0, "certificates [0]");
    rd cr = rd_in(&certs);
    while (cr.p < cr.end) {
        tlv c = need(&cr, 0x30, "certificate");
        if (o->n_certs++ == 0)
            o->cert = c;
    }
    tlv infos = need(&s, 0x31, "signerInfos");
    ck_assert_msg(s.p == s.end, "the SignedData holds more than the spec's fields (CRLs?)");
    rd in = rd_in(&infos);
    tlv si = need(&in, 0x30, "SignerInfo");
    ck_assert_msg(in.p == in.end, "more than one SignerInfo");
    rd sr = rd_in(&si);
    v = need(&sr, 0x02, "SignerInfo version");
    ck_assert_msg(v.len == 1 && v.c[0] == 1, "SignerInfo version is not 1");
    o->sid = need(&sr, 0x30, "sid (IssuerAndSerialNumber)");
    o->si_digest = need(&sr, 0x30, "SignerInfo digestAlgorithm");
    o->attrs = need(&sr, 0xA0, "signedAttrs [0] IMPLICIT");
    o->sig_alg = need(&sr, 0x30, "signatureAlgorithm");
    o->sig = need(&sr, 0x04, "signature");
    ck_assert_msg(sr.p == sr.end, "the SignerInfo has unsigned attributes or more");
}

/* The single value of the signed attribute oid. */
static bool find_attr(const cms_parts *o, const char *oid, tlv *value)
{
    rd r = rd_in(&o->attrs);
    tlv a;
    while (rd_next(&r, &a)) {
        rd ar = rd_in(&a);
        tlv ot;
        char s[128];
        if (!rd_next(&ar, &ot) || ot.tag != 0x06)
            continue;
        oid_text(&ot, s);
        if (strcmp(s, oid))
            continue;
        tlv set = need(&ar, 0x31, oid);
        ck_assert_msg(ar.p == ar.end, "attribute %s: bytes after its values", oid);
        rd sr = rd_in(&set);
        ck_assert_msg(rd_next(&sr, value) && sr.p == sr.end, "attribute %s must hold one value",
                      oid);
        return true;
    }
    return false;
}

static int der_cmp(const tlv *a, const tlv *b)
{
    size_t n = a->size < b->size ? a->size : b->size;
    int c = memcmp(a->at, b->at, n);
    return c ? c : (a->size > b->size) - (a->size < b->size);
}

/* The signed attributes: exactly the four of the spec, DER-sorted. */
static void check_attr_set(const cms_parts *o)
{
    rd r = rd_in(&o->attrs);
    tlv prev = { 0 }, a;
    size_t n = 0;
    while (r.p < r.end) {
        a = need(&r, 0x30, "Attribute");
        if (n++)
            ck_assert_msg(der_cmp(&prev, &a) <= 0, "signed attribute %zu is out of DER order", n);
        prev = a;
    }
    ck_assert_msg(n == 4, "%zu signed attributes, expected 4", n);
}

typedef struct expect_cms {
    const char *signed_oid, *data_oid, *digest_oid, *sig_oid;
    bool sm3;
    int params;                /* signatureAlgorithm parameters: 0 absent, 1 NULL, 2 PSS */
    const char *cert_path;     /* the signer's certificate */
    const void *content;       /* the covered bytes */
    size_t content_len;
    int64_t when;              /* signingTime; 0: between t0 and t1 */
    int64_t t0, t1;
} expect_cms;

static void expect_for(expect_cms *x, const port_def *d, bool gmt)
{
    memset(x, 0, sizeof *x);
    x->signed_oid = gmt && d->sm2 ? OID_GM_SIGNED : OID_P7_SIGNED;
    x->data_oid = gmt && d->sm2 ? OID_GM_DATA : OID_P7_DATA;
    x->digest_oid = d->sm2 ? OID_SM3 : OID_SHA256;
    x->sm3 = d->sm2;
    switch (d->alg) {
    case FB_SIG_SM2_SM3: x->sig_oid = gmt ? OID_SM2_GM : OID_SM2_P7; x->params = 0; break;
    case FB_SIG_ECDSA_SHA256: x->sig_oid = OID_ECDSA_SHA256; x->params = 0; break;
    case FB_SIG_RSA_SHA256: x->sig_oid = OID_RSA; x->params = 1; break;
    case FB_SIG_RSA_PSS_SHA256: x->sig_oid = OID_RSA_PSS; x->params = 2; break;
    }
}

/* Optional AlgorithmIdentifier parameters of a digest: absent or NULL. */
static void expect_digest_alg_lenient(rd *r, const char *oid, const char *what)
{
    tlv a = need(r, 0x30, what);
    rd in = rd_in(&a);
    expect_oid(&in, oid, what);
    if (in.p != in.end) {
        tlv nul = need(&in, 0x05, what);
        ck_assert_msg(nul.len == 0 && in.p == in.end, "%s: parameters are not NULL", what);
    }
}

static void check_pss_params(rd *r)
{
    tlv params = need(r, 0x30, "RSASSA-PSS-params");
    ck_assert_msg(r->p == r->end, "bytes after the PSS parameters");
    rd p = rd_in(&params);
    tlv h = need(&p, 0xA0, "PSS hashAlgorithm [0]");
    rd hr = rd_in(&h);
    expect_digest_alg_lenient(&hr, OID_SHA256, "PSS hashAlgorithm");
    tlv m = need(&p, 0xA1, "PSS maskGenAlgorithm [1]");
    rd mr = rd_in(&m);
    tlv mgf = need(&mr, 0x30, "maskGenAlgorithm");
    rd mg = rd_in(&mgf);
    expect_oid(&mg, OID_MGF1, "maskGenAlgorithm");
    expect_digest_alg_lenient(&mg, OID_SHA256, "MGF1 hash");
    tlv s = need(&p, 0xA2, "PSS saltLength [2]");
    rd sr = rd_in(&s);
    tlv salt = need(&sr, 0x02, "saltLength");
    ck_assert_msg(salt.len == 1 && salt.c[0] == 32, "PSS saltLength is not 32");
    ck_assert_msg(p.p == p.end, "PSS parameters hold a trailerField or more");
}

/* Everything §2 says of a SignedData, for the signer at x->cert_path over
 * x->content. */
static void check_cms(const uint8_t *der, size_t len, const expect_cms *x)
{
    cms_parts o;
    split_cms(der, len, &o);
    ck_assert_str_eq(o.type_oid, x->signed_oid);
    ck_assert_str_eq(o.econtent_oid, x->data_oid);
    const EVP_MD *md = x->sm3 ? EVP_sm3() : EVP_sha256();

    /* digestAlgorithms: exactly the digest, parameters absent (RFC 5754). */
    rd da = rd_in(&o.digest_algs);
    expect_alg(&da, x->digest_oid, "digestAlgorithms");
    ck_assert_msg(da.p == da.end, "digestAlgorithms holds more than one algorithm");
    rd sd = { o.si_digest.at, o.si_digest.at + o.si_digest.size };
    expect_alg(&sd, x->digest_oid, "SignerInfo digestAlgorithm");

    /* The certificate carried is the signer's, alone. */
    size_t cert_len;
    uint8_t *cert = cert_der(x->cert_path, &cert_len);
    ck_assert_msg(o.n_certs == 1, "%zu certificates carried, expected the signer's", o.n_certs);
    ck_assert_msg(o.cert.size == cert_len && !memcmp(o.cert.at, cert, cert_len),
                  "the certificate carried is not %s", x->cert_path);

    /* sid: IssuerAndSerialNumber of that certificate. */
    X509 *xc = load_cert(x->cert_path);
    unsigned char *issuer = NULL, *serial = NULL;
    int issuer_len = i2d_X509_NAME(X509_get_issuer_name(xc), &issuer);
    int serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(xc), &serial);
    ck_assert(issuer_len > 0 && serial_len > 0);
    rd sid = rd_in(&o.sid);
    tlv name = need(&sid, 0x30, "sid issuer");
    tlv sn = need(&sid, 0x02, "sid serialNumber");
    ck_assert_msg(sid.p == sid.end, "bytes after the sid");
    ck_assert_msg(name.size == (size_t)issuer_len && !memcmp(name.at, issuer, name.size),
                  "sid: the issuer is not the certificate's");
    ck_assert_msg(sn.size == (size_t)serial_len && !memcmp(sn.at, serial, sn.size),
                  "sid: the serial is not the certificate's");

    /* Signed attributes. */
    check_attr_set(&o);
    tlv v;
    ck_assert_msg(find_attr(&o, OID_CONTENT_TYPE, &v), "no contentType attribute");
    char s[128];
    oid_text(&v, s);
    ck_assert_msg(!strcmp(s, x->data_oid), "contentType is %s, expected %s", s, x->data_oid);

    ck_assert_msg(find_attr(&o, OID_MESSAGE_DIGEST, &v), "no messageDigest attribute");
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned hn = digest(md, x->content ? x->content : "", x->content_len, h);
    ck_assert_msg(v.tag == 0x04 && v.len == hn && !memcmp(v.c, h, hn),
                  "messageDigest is not the %s of the covered bytes", x->sm3 ? "SM3" : "SHA-256");

    ck_assert_msg(find_attr(&o, OID_SIGNING_TIME, &v), "no signingTime attribute");
    const unsigned char *tp = v.at;
    ASN1_TIME *when = d2i_ASN1_TIME(NULL, &tp, (long)v.size);
    ck_assert_msg(when != NULL && tp == v.at + v.size, "signingTime does not decode");
    if (x->when) {
        /* UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5652). */
        ASN1_TIME *want = ASN1_TIME_set(NULL, (time_t)x->when);
        unsigned char *wder = NULL;
        int wn = i2d_ASN1_TIME(want, &wder);
        ck_assert_msg(wn > 0 && (size_t)wn == v.size && !memcmp(wder, v.at, v.size),
                      "signingTime is \"%.*s\" (tag 0x%02x), expected %lld as %s",
                      (int)v.len, (const char *)v.c, v.tag, (long long)x->when,
                      x->when < INT64_C(2524608000) ? "UTCTime" : "GeneralizedTime");
        OPENSSL_free(wder);
        ASN1_TIME_free(want);
    } else {
        ck_assert_msg(ASN1_TIME_cmp_time_t(when, (time_t)x->t0) >= 0 &&
                          ASN1_TIME_cmp_time_t(when, (time_t)x->t1) <= 0,
                      "signingTime \"%.*s\" is not the time of signing", (int)v.len,
                      (const char *)v.c);
        ck_assert_uint_eq(v.tag, 0x17);
    }
    ASN1_TIME_free(when);

    /* signingCertificateV2 { { ESSCertIDv2 { [hashAlgorithm], certHash,
     * issuerSerial { { [4] issuer }, serial } } } } */
    ck_assert_msg(find_attr(&o, OID_SIGNING_CERT_V2, &v), "no signingCertificateV2 attribute");
    ck_assert_uint_eq(v.tag, 0x30);
    rd scr = rd_in(&v);
    tlv certs = need(&scr, 0x30, "SigningCertificateV2 certs");
    ck_assert_msg(scr.p == scr.end, "SigningCertificateV2 holds policies");
    rd ids = rd_in(&certs);
    tlv id = need(&ids, 0x30, "ESSCertIDv2");
    ck_assert_msg(ids.p == ids.end, "more than one ESSCertIDv2");
    rd ir = rd_in(&id);
    if (x->sm3)
        expect_alg(&ir, OID_SM3, "ESSCertIDv2 hashAlgorithm");
    tlv ch = need(&ir, 0x04, x->sm3 ? "certHash" : "certHash (hashAlgorithm absent for SHA-256)");
    hn = digest(md, cert, cert_len, h);
    ck_assert_msg(ch.len == hn && !memcmp(ch.c, h, hn),
                  "certHash is not the digest of the signer's certificate");
    tlv is = need(&ir, 0x30, "issuerSerial");
    ck_assert_msg(ir.p == ir.end, "bytes after issuerSerial");
    rd isr = rd_in(&is);
    tlv gns = need(&isr, 0x30, "GeneralNames");
    rd gr = rd_in(&gns);
    tlv dn = need(&gr, 0xA4, "GeneralName directoryName [4]");
    ck_assert_msg(gr.p == gr.end, "more than one GeneralName");
    ck_assert_msg(dn.len == (size_t)issuer_len && !memcmp(dn.c, issuer, dn.len),
                  "issuerSerial: the issuer is not the certificate's");
    tlv isn = need(&isr, 0x02, "issuerSerial serial");
    ck_assert_msg(isn.size == (size_t)serial_len && !memcmp(isn.at, serial, isn.size),
                  "issuerSerial: the serial is not the certificate's");

    /* signatureAlgorithm. */
    rd sa = rd_in(&o.sig_alg);
    expect_oid(&sa, x->sig_oid, "signatureAlgorithm");
    if (x->params == 0) {
        ck_assert_msg(sa.p == sa.end, "signatureAlgorithm has parameters; expected none");
    } else if (x->params == 1) {
        tlv nul = need(&sa, 0x05, "rsaEncryption NULL parameters");
        ck_assert(nul.len == 0 && sa.p == sa.end);
    } else {
        check_pss_params(&sa);
    }

    /* ECDSA and SM2 values: DER SEQUENCE { r, s }. */
    if (x->params == 0) {
        rd sg = rd_in(&o.sig);
        tlv seq = need(&sg, 0x30, "signature SEQUENCE { r, s }");
        ck_assert(sg.p == sg.end);
        rd rs = rd_in(&seq);
        need(&rs, 0x02, "r");
        need(&rs, 0x02, "s");
        ck_assert_msg(rs.p == rs.end, "the signature holds more than r and s");
    }
    OPENSSL_free(issuer);
    OPENSSL_free(serial);
    X509_free(xc);
    free(cert);
}

/* ======================================================================
 * Verifiers other than fiscalbill
 * ====================================================================== */

/* `openssl cms -verify` of a detached DER SignedData over content; returns
 * the exit status, with the output in out. */
static int openssl_cms_verify(const uint8_t *cms, size_t len, const void *content, size_t clen,
                              const char *ca, char *out, size_t out_size)
{
    char sig[1200], data[1200], cmd[4096];
    snprintf(sig, sizeof sig, "%s", wpath("verify.cms"));
    snprintf(data, sizeof data, "%s", wpath("verify.data"));
    write_file(sig, cms, len);
    write_file(data, content, clen);
    snprintf(cmd, sizeof cmd,
             "openssl cms -verify -binary -inform DER -in '%s' -content '%s' -CAfile '%s' "
             "-purpose any -out /dev/null",
             sig, data, ca);
    return run_command(cmd, out, out_size);
}

static void openssl_accepts(const uint8_t *cms, size_t len, const void *content, size_t clen,
                            const char *ca, const char *what)
{
    char out[4096];
    int st = openssl_cms_verify(cms, len, content, clen, ca, out, sizeof out);
    ck_assert_msg(st == 0 && strstr(out, "Verification successful"),
                  "%s: openssl cms -verify refuses (%d): %s", what, st, out);
}

static void openssl_refuses(const uint8_t *cms, size_t len, const void *content, size_t clen,
                            const char *ca, const char *what)
{
    char out[4096];
    int st = openssl_cms_verify(cms, len, content, clen, ca, out, sizeof out);
    ck_assert_msg(st != 0 && st < 128, "%s: openssl cms -verify accepts (%d): %s", what, st, out);
}

/* The same in-process: CMS_verify, detached and binary, with the root as the
 * only trusted certificate. 1 verified, 0 not. */
static int cms_verifies(const uint8_t *cms, size_t len, const void *content, size_t clen,
                        const char *ca)
{
    const unsigned char *p = cms;
    CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &p, (long)len);
    if (!ci) {
        ERR_clear_error();
        return 0;
    }
    X509_STORE *store = X509_STORE_new();
    ck_assert(store != NULL && X509_STORE_load_file(store, ca) == 1);
    X509_STORE_set_purpose(store, X509_PURPOSE_ANY);
    BIO *in = BIO_new_mem_buf(clen ? content : "", (int)clen);
    ck_assert(in != NULL);
    int ok = CMS_verify(ci, NULL, store, in, NULL, CMS_DETACHED | CMS_BINARY);
    BIO_free(in);
    X509_STORE_free(store);
    CMS_ContentInfo_free(ci);
    ERR_clear_error();
    return ok == 1;
}

/* `openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:ID` over the
 * signed attributes re-tagged as a SET, with the signer's public key.
 * Returns the exit status. */
static int openssl_sm2_verify(const uint8_t *cms, size_t len, const char *cert_path,
                              const char *distid, char *out, size_t out_size)
{
    cms_parts o;
    split_cms(cms, len, &o);
    uint8_t *attrs = malloc(o.attrs.size);
    ck_assert(attrs != NULL);
    memcpy(attrs, o.attrs.at, o.attrs.size);
    ck_assert_uint_eq(attrs[0], 0xA0);
    attrs[0] = 0x31; /* RFC 5652 §5.4: the SET tag, not [0] */
    char a[1200], s[1200], pub[1200], cmd[6000];
    snprintf(a, sizeof a, "%s", wpath("sm2.attrs"));
    snprintf(s, sizeof s, "%s", wpath("sm2.sig"));
    snprintf(pub, sizeof pub, "%s", wpath("sm2.pub"));
    write_file(a, attrs, o.attrs.size);
    write_file(s, o.sig.c, o.sig.len);
    free(attrs);
    snprintf(cmd, sizeof cmd,
             "openssl x509 -in '%s' -pubkey -noout >'%s' && openssl pkeyutl -verify -rawin "
             "-digest sm3 -pkeyopt distid:%s -pubin -inkey '%s' -in '%s' -sigfile '%s'",
             cert_path, pub, distid, pub, a, s);
    return run_command(cmd, out, out_size);
}

static void sm2_openssl_accepts(const uint8_t *cms, size_t len, const char *cert_path,
                                const char *distid, const char *what)
{
    char out[4096];
    int st = openssl_sm2_verify(cms, len, cert_path, distid, out, sizeof out);
    ck_assert_msg(st == 0 && strstr(out, "Signature Verified Successfully"),
                  "%s: openssl pkeyutl (distid %s) refuses (%d): %s", what, distid, st, out);
}

static void sm2_openssl_refuses(const uint8_t *cms, size_t len, const char *cert_path,
                                const char *distid, const char *what)
{
    char out[4096];
    int st = openssl_sm2_verify(cms, len, cert_path, distid, out, sizeof out);
    ck_assert_msg(st != 0 && st < 128 && !strstr(out, "Verified Successfully"),
                  "%s: openssl pkeyutl accepts with distid %s (%d): %s", what, distid, st, out);
}

/* ======================================================================
 * Documents
 * ====================================================================== */

static size_t find_from(const uint8_t *d, size_t n, size_t from, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = from; i + k <= n; i++)
        if (!memcmp(d + i, needle, k))
            return i;
    return SIZE_MAX;
}

typedef struct doc_parts {
    size_t frag_off, frag_len, unit_off, unit_len, sup_off, sup_len;
} doc_parts;

/* Where the fragment and the signature nodes are, found by scanning the
 * bytes here (not by the library's reader). */
static doc_parts split_doc(const uint8_t *d, size_t n)
{
    doc_parts p = { 0 };
    size_t a = find_from(d, n, 0, "<Header>");
    size_t b = find_from(d, n, 0, "</EInvoiceData>");
    ck_assert_msg(a != SIZE_MAX && b != SIZE_MAX && a < b, "no fragment in the document");
    p.frag_off = a;
    p.frag_len = b + strlen("</EInvoiceData>") - a;
    static const char *const names[2][2] = {
        { "<InvoicingPartySignature>", "</InvoicingPartySignature>" },
        { "<SupervisorPartySignature>", "</SupervisorPartySignature>" },
    };
    for (int i = 0; i < 2; i++) {
        size_t s = find_from(d, n, 0, names[i][0]);
        size_t e = find_from(d, n, 0, names[i][1]);
        if (s == SIZE_MAX)
            continue;
        ck_assert_msg(e != SIZE_MAX && e > s, "%s is not closed", names[i][0]);
        size_t len = e + strlen(names[i][1]) - s;
        if (i == 0)
            p.unit_off = s, p.unit_len = len;
        else
            p.sup_off = s, p.sup_len = len;
    }
    return p;
}

/* The decoded SignatureValue of the node at [off, off+len); the caller
 * frees. The text must be canonical Base64: alphabet only, padded, no line
 * breaks. */
static uint8_t *node_cms(const uint8_t *d, size_t off, size_t len, size_t *der_len)
{
    size_t s = find_from(d, off + len, off, "<SignatureValue>");
    size_t e = find_from(d, off + len, off, "</SignatureValue>");
    ck_assert_msg(s != SIZE_MAX && e != SIZE_MAX, "no SignatureValue in the node");
    s += strlen("<SignatureValue>");
    size_t n = e - s;
    ck_assert_msg(n > 0 && n % 4 == 0, "SignatureValue is %zu characters, not Base64 groups", n);
    for (size_t i = s; i < e; i++) {
        char c = (char)d[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' || (c == '=' && i + 2 >= e);
        ck_assert_msg(ok, "SignatureValue holds '%c' (0x%02x): not RFC 4648 Base64 without "
                      "line breaks", c, (unsigned char)c);
    }
    uint8_t *der = malloc(n / 4 * 3 + 4);
    ck_assert(der != NULL);
    int got = EVP_DecodeBlock(der, d + s, (int)n);
    ck_assert(got >= 0);
    size_t pad = (d[e - 1] == '=') + (d[e - 2] == '=');
    *der_len = (size_t)got - pad;
    /* Canonical: encoding the bytes again gives the same text. */
    char *again = malloc(n + 1);
    ck_assert(again != NULL);
    EVP_EncodeBlock((unsigned char *)again, der, (int)*der_len);
    ck_assert_msg(!memcmp(again, d + s, n), "SignatureValue is not the canonical Base64");
    free(again);
    return der;
}

/* A bill from the golden examples, naming the bureau's seal (spec §4). */
static fb_bill *golden_bill(const char *name)
{
    fbt_bytes g = fbt_golden(name);
    fb_document *d = NULL;
    int rc = fb_document_parse(&d, g.p, g.n, NULL);
    ck_assert_msg(rc == FB_OK, "%s: %s", name, fb_last_error());
    fb_bill *b = NULL;
    ck_assert(fb_bill_dup(fb_document_bill(d), &b) == FB_OK);
    fb_document_free(d);
    free(g.p);
    ck_assert(fb_bill_set(b, FB_SUPERVISOR_SEAL_ID, BUREAU_SEAL_ID) == FB_OK);
    ck_assert(fb_bill_set(b, FB_SUPERVISOR_SEAL_NAME, BUREAU_SEAL_NAME) == FB_OK);
    ck_assert(fb_bill_set(b, FB_SUPERVISOR_SEAL_HASH, g_bureau_hash) == FB_OK);
    return b;
}

/* Issue bill at port; signing time `when` (0: now). */
static fbt_bytes issue(fb_port *port, const fb_bill *bill, int64_t when)
{
    fb_sign_options so = FB_SIGN_OPTIONS_INIT;
    so.signing_time = when;
    fb_buf out = FB_BUF_INIT;
    fb_problems *pr = NULL;
    int rc = fb_issue(port, bill, &so, &out, &pr);
    if (rc && pr && fb_problems_count(pr))
        ck_abort_msg("fb_issue: %s: %s", fb_problems_path(pr, 0), fb_problems_message(pr, 0));
    ck_assert_msg(rc == FB_OK, "fb_issue: status %d: %s", rc, fb_last_error());
    fb_problems_free(pr);
    fbt_bytes b = fbt_bytes_of(out.ptr, out.size);
    fb_buf_dispose(&out);
    return b;
}

/* Replace the first `old` at or after from with `new`; fails when absent. */
static void replace(fbt_bytes *b, size_t from, const char *old, const char *repl)
{
    size_t at = find_from(b->p, b->n, from, old);
    ck_assert_msg(at != SIZE_MAX, "\"%s\" not found", old);
    size_t ol = strlen(old), nl = strlen(repl), n = b->n - ol + nl;
    uint8_t *p = malloc(n + 1);
    ck_assert(p != NULL);
    memcpy(p, b->p, at);
    memcpy(p + at, repl, nl);
    memcpy(p + at + nl, b->p + at + ol, b->n - at - ol);
    p[n] = '\0';
    free(b->p);
    b->p = p;
    b->n = n;
}

/* Remove the element <name>...</name> that starts at or after from. */
static void remove_element(fbt_bytes *b, size_t from, const char *name)
{
    char open[80], close[80];
    snprintf(open, sizeof open, "<%s>", name);
    snprintf(close, sizeof close, "</%s>", name);
    size_t s = find_from(b->p, b->n, from, open);
    size_t e = find_from(b->p, b->n, from, close);
    ck_assert_msg(s != SIZE_MAX && e != SIZE_MAX && e > s, "no <%s> to remove", name);
    e += strlen(close);
    memmove(b->p + s, b->p + e, b->n - e + 1);
    b->n -= e - s;
}

static void text_of(const uint8_t *d, size_t from, size_t to, const char *name, char *out,
                    size_t size)
{
    char open[80], close[80];
    snprintf(open, sizeof open, "<%s>", name);
    snprintf(close, sizeof close, "</%s>", name);
    size_t s = find_from(d, to, from, open);
    size_t e = find_from(d, to, from, close);
    ck_assert_msg(s != SIZE_MAX && e != SIZE_MAX, "no <%s> element", name);
    s += strlen(open);
    ck_assert(e >= s && e - s < size);
    memcpy(out, d + s, e - s);
    out[e - s] = '\0';
}

/* ======================================================================
 * Trust and sealing
 * ====================================================================== */

static fb_trust *trust_of(const char *anchors)
{
    fb_trust *t = NULL;
    ck_assert(fb_trust_new(&t) == FB_OK && t != NULL);
    int rc = fb_trust_add_anchors(t, anchors);
    ck_assert_msg(rc == FB_OK, "fb_trust_add_anchors(%s): %d: %s", anchors, rc, fb_last_error());
    return t;
}

static fb_seal_options seal_options(const fb_trust *t)
{
    fb_seal_options o = FB_SEAL_OPTIONS_INIT;
    o.trust = t;
    o.seal_id = BUREAU_SEAL_ID;
    o.seal_name = BUREAU_SEAL_NAME;
    o.area_code = AREA;
    return o;
}

static fbt_bytes seal_ok(fb_port *bureau, const fbt_bytes *doc, const fb_seal_options *o)
{
    fb_buf out = FB_BUF_INIT;
    int rc = fb_seal(bureau, doc->p, doc->n, o, &out);
    ck_assert_msg(rc == FB_OK, "fb_seal: status %d: %s", rc, fb_last_error());
    fbt_bytes b = fbt_bytes_of(out.ptr, out.size);
    fb_buf_dispose(&out);
    return b;
}

/* The bytes the supervisor signature covers, cut from the document here. */
static fbt_bytes covered(const fbt_bytes *doc, fb_seal_coverage c)
{
    doc_parts dp = split_doc(doc->p, doc->n);
    size_t n = (c != FB_COVER_UNIT_NODE ? dp.frag_len : 0) +
               (c != FB_COVER_FRAGMENT ? dp.unit_len : 0);
    fbt_bytes b = { malloc(n + 1), n };
    ck_assert(b.p != NULL);
    size_t k = 0;
    if (c != FB_COVER_UNIT_NODE) {
        memcpy(b.p, doc->p + dp.frag_off, dp.frag_len);
        k = dp.frag_len;
    }
    if (c != FB_COVER_FRAGMENT)
        memcpy(b.p + k, doc->p + dp.unit_off, dp.unit_len);
    b.p[n] = '\0';
    return b;
}

/* A buffer that already holds bytes (a fragment the library wrote), and a
 * copy of them: functions append, and a refusal leaves them as they were. */
static fb_buf prefilled(fbt_bytes *copy)
{
    fb_buf b = FB_BUF_INIT;
    fb_bill *bill = fbt_sample_bill();
    ck_assert(fb_bill_write_fragment(bill, &b) == FB_OK);
    fb_bill_free(bill);
    *copy = fbt_bytes_of(b.ptr, b.size);
    return b;
}

static void unchanged(const fb_buf *b, const fbt_bytes *copy, const char *what)
{
    ck_assert_msg(b->size == copy->n && !memcmp(b->ptr, copy->p, copy->n),
                  "%s: the output buffer changed (%zu bytes, was %zu)", what, b->size, copy->n);
    ck_assert_msg(b->ptr[b->size] == '\0', "%s: the bytes are no longer followed by a NUL", what);
}

/* fb_seal refuses with status want and a message holding one of the words
 * (NULL-terminated list); what out held is left as it was. */
static void seal_refused(fb_port *bureau, const fbt_bytes *doc, const fb_seal_options *o,
                         int want, const char *what, const char *const *words)
{
    fbt_bytes copy;
    fb_buf out = prefilled(&copy);
    int rc = fb_seal(bureau, doc->p, doc->n, o, &out);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", fb_last_error());
    ck_assert_msg(rc == want, "%s: fb_seal returned %d (%s), expected %d: %s", what, rc,
                  rc == FB_OK ? "sealed" : fb_status_str(rc), want, msg);
    unchanged(&out, &copy, what);
    ck_assert_msg(msg[0] != '\0', "%s: the refusal has no message", what);
    bool named = false;
    for (size_t i = 0; words[i]; i++)
        named |= strstr(msg, words[i]) != NULL;
    ck_assert_msg(named, "%s: the message does not name the reason (\"%s\"...): %s", what,
                  words[0], msg);
    /* A bureau sealing many bills learns from the message which one (wrong
     * options are refused before any bill is read). */
    fb_document *d = NULL;
    if (want != FB_EARG && fb_document_parse(&d, doc->p, doc->n, NULL) == FB_OK) {
        const char *number = fb_bill_get(fb_document_bill(d), FB_EINVOICE_NUMBER);
        ck_assert_msg(number && strstr(msg, number), "%s: the message does not name bill %s: %s",
                      what, number ? number : "?", msg);
    }
    fb_document_free(d);
    free(copy.p);
    fb_buf_dispose(&out);
}

/* ======================================================================
 * fb_cms_sign: ECDSA and RSA
 * ====================================================================== */

static void sample_data(uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i * 37 + 11);
    /* Line ends and a NUL: -binary must keep them as they are. */
    memcpy(d, "\r\n\0<Header>\r\n", 13);
}

static const port_id cms_ports[] = { P_PORT1,  P_PORT_RSA,  P_PORT_RSA_PSS,
                                     P_SOFT_EC, P_SOFT_RSA, P_SOFT_RSA_PSS };
#define N_CMS_PORTS (sizeof cms_ports / sizeof cms_ports[0])

START_TEST(cms_sign_verify)
{
    const port_def *d = &PORTS[cms_ports[_i]];
    fb_port *p = open_port(cms_ports[_i]);
    uint8_t data[333];
    sample_data(data, sizeof data);

    /* fb_cms_sign appends to what out holds. */
    fbt_bytes pre;
    fb_buf out = prefilled(&pre);
    fb_sign_options so = FB_SIGN_OPTIONS_INIT;
    so.signing_time = T_FIXED;
    int rc = fb_cms_sign(p, data, sizeof data, &so, &out);
    ck_assert_msg(rc == FB_OK, "%s: fb_cms_sign: %d: %s", d->name, rc, fb_last_error());
    ck_assert_msg(out.size > pre.n && !memcmp(out.ptr, pre.p, pre.n),
                  "%s: fb_cms_sign did not append to the buffer", d->name);
    const uint8_t *cms = out.ptr + pre.n;
    size_t len = out.size - pre.n;

    /* The openssl command accepts it over the data, and refuses it when one
     * byte of the data changes. */
    const char *ca = fx("ca/root-ec.pem");
    openssl_accepts(cms, len, data, sizeof data, ca, d->name);
    uint8_t bad[sizeof data];
    memcpy(bad, data, sizeof bad);
    bad[sizeof bad / 2] ^= 0x01;
    openssl_refuses(cms, len, bad, sizeof bad, ca, d->name);
    /* So does CMS_verify in-process. */
    ck_assert_msg(cms_verifies(cms, len, data, sizeof data, ca), "%s: CMS_verify refuses",
                  d->name);
    ck_assert_msg(!cms_verifies(cms, len, bad, sizeof bad, ca), "%s: CMS_verify accepts a "
                  "changed byte", d->name);
    ck_assert_msg(!cms_verifies(cms, len, data, sizeof data - 1, ca), "%s: CMS_verify accepts "
                  "a missing byte", d->name);

    /* The structure, through OpenSSL's CMS API. */
    const unsigned char *pp = cms;
    CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &pp, (long)len);
    ck_assert_msg(ci != NULL && pp == cms + len, "%s: d2i_CMS_ContentInfo fails", d->name);
    ck_assert_int_eq(OBJ_obj2nid(CMS_get0_type(ci)), NID_pkcs7_signed);
    ck_assert_int_eq(CMS_is_detached(ci), 1);
    ck_assert_int_eq(OBJ_obj2nid(CMS_get0_eContentType(ci)), NID_pkcs7_data);
    STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(ci);
    ck_assert_int_eq(sk_CMS_SignerInfo_num(sis), 1);
    CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
    STACK_OF(X509) *certs = CMS_get1_certs(ci);
    ck_assert_int_eq(sk_X509_num(certs), 1);
    X509 *want = load_cert(fx(d->cert));
    ck_assert_int_eq(X509_cmp(sk_X509_value(certs, 0), want), 0);
    ck_assert_int_eq(CMS_SignerInfo_cert_cmp(si, want), 0);
    ASN1_OCTET_STRING *keyid = NULL;
    X509_NAME *issuer = NULL;
    ASN1_INTEGER *sno = NULL;
    ck_assert(CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &sno) == 1);
    ck_assert_msg(keyid == NULL && issuer != NULL && sno != NULL,
                  "the signer is not identified by issuer and serial number");
    ck_assert_int_eq(CMS_signed_get_attr_count(si), 4);
    static const int nids[] = { NID_pkcs9_contentType, NID_pkcs9_messageDigest,
                                NID_pkcs9_signingTime, NID_id_smime_aa_signingCertificateV2 };
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(CMS_signed_get_attr_by_NID(si, nids[i], -1) >= 0,
                      "%s: signed attribute %s missing", d->name, OBJ_nid2sn(nids[i]));
    int at = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
    ASN1_TYPE *tt = X509_ATTRIBUTE_get0_type(CMS_signed_get_attr(si, at), 0);
    ck_assert_msg(tt && tt->type == V_ASN1_UTCTIME, "signingTime is not a UTCTime");
    ck_assert_str_eq((const char *)ASN1_STRING_get0_data(tt->value.utctime), T_FIXED_UTCTIME);
    ck_assert_int_eq(ASN1_TIME_cmp_time_t(tt->value.utctime, (time_t)T_FIXED), 0);
    X509_ALGOR *dig = NULL, *sig = NULL;
    CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, &sig);
    const ASN1_OBJECT *obj;
    int ptype;
    const void *pval;
    X509_ALGOR_get0(&obj, &ptype, &pval, dig);
    ck_assert_int_eq(OBJ_obj2nid(obj), NID_sha256);
    ck_assert_msg(ptype == V_ASN1_UNDEF, "the digest algorithm has parameters");
    X509_ALGOR_get0(&obj, &ptype, &pval, sig);
    int want_nid = d->alg == FB_SIG_ECDSA_SHA256 ? NID_ecdsa_with_SHA256
                   : d->alg == FB_SIG_RSA_SHA256 ? NID_rsaEncryption
                                                 : NID_rsassaPss;
    ck_assert_msg(OBJ_obj2nid(obj) == want_nid, "%s: signature algorithm %s", d->name,
                  OBJ_nid2sn(OBJ_obj2nid(obj)));
    sk_X509_pop_free(certs, X509_free);
    X509_free(want);
    CMS_ContentInfo_free(ci);

    /* And byte by byte against spec §2. */
    expect_cms x;
    expect_for(&x, d, false);
    x.cert_path = fx(d->cert);
    x.content = data;
    x.content_len = sizeof data;
    x.when = T_FIXED;
    check_cms(cms, len, &x);

    /* GM/T 0010 OIDs are for SM2 only: ECDSA and RSA keep PKCS#7's. */
    fb_buf gm = FB_BUF_INIT;
    so.oids = FB_CMS_OIDS_GMT0010;
    ck_assert(fb_cms_sign(p, data, sizeof data, &so, &gm) == FB_OK);
    check_cms(gm.ptr, gm.size, &x);
    ck_assert(cms_verifies(gm.ptr, gm.size, data, sizeof data, ca));
    fb_buf_dispose(&gm);
    fb_buf_dispose(&out);
    free(pre.p);
    fb_port_close(p);
}
END_TEST

/* signingTime: UTCTime to 2049, GeneralizedTime from 2050; now when unset;
 * the empty content. */
START_TEST(cms_signing_time)
{
    fb_port *p = open_port(P_SOFT_EC);
    const port_def *d = &PORTS[P_SOFT_EC];
    static const struct {
        int64_t when;
        uint8_t tag;
        const char *text;
    } times[] = {
        { INT64_C(2524607999), 0x17, "491231235959Z" },
        { INT64_C(2524608000), 0x18, "20500101000000Z" },
        { T_FIXED, 0x17, T_FIXED_UTCTIME },
    };
    const char *data = "signed at some time";
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        fb_sign_options so = FB_SIGN_OPTIONS_INIT;
        so.signing_time = times[i].when;
        fb_buf out = FB_BUF_INIT;
        ck_assert(fb_cms_sign(p, data, strlen(data), &so, &out) == FB_OK);
        cms_parts o;
        split_cms(out.ptr, out.size, &o);
        tlv v;
        ck_assert(find_attr(&o, OID_SIGNING_TIME, &v));
        ck_assert_msg(v.tag == times[i].tag && v.len == strlen(times[i].text) &&
                          !memcmp(v.c, times[i].text, v.len),
                      "signingTime of %lld is \"%.*s\" (tag 0x%02x), expected \"%s\" (0x%02x)",
                      (long long)times[i].when, (int)v.len, (const char *)v.c, v.tag,
                      times[i].text, times[i].tag);
        fb_buf_dispose(&out);
    }

    /* Unset: now; NULL options likewise. */
    for (int k = 0; k < 2; k++) {
        fb_sign_options so = FB_SIGN_OPTIONS_INIT;
        fb_buf out = FB_BUF_INIT;
        int64_t t0 = (int64_t)time(NULL);
        ck_assert(fb_cms_sign(p, data, strlen(data), k ? NULL : &so, &out) == FB_OK);
        int64_t t1 = (int64_t)time(NULL);
        expect_cms x;
        expect_for(&x, d, false);
        x.cert_path = fx(d->cert);
        x.content = data;
        x.content_len = strlen(data);
        x.t0 = t0;
        x.t1 = t1;
        check_cms(out.ptr, out.size, &x);
        ck_assert(cms_verifies(out.ptr, out.size, data, strlen(data), fx("ca/root-ec.pem")));
        fb_buf_dispose(&out);
    }

    /* Empty content. */
    fb_buf out = FB_BUF_INIT;
    ck_assert(fb_cms_sign(p, NULL, 0, NULL, &out) == FB_OK);
    ck_assert(cms_verifies(out.ptr, out.size, "", 0, fx("ca/root-ec.pem")));
    ck_assert(!cms_verifies(out.ptr, out.size, "x", 1, fx("ca/root-ec.pem")));
    fb_buf_dispose(&out);
    fb_port_close(p);
}
END_TEST

/* ======================================================================
 * fb_cms_sign: SM2
 * ====================================================================== */

START_TEST(cms_sign_sm2)
{
    port_id id = _i / 2 ? P_TOKEN_SM2 : P_SOFT_SM2;
    bool gmt = _i % 2;
    const port_def *d = &PORTS[id];
    fb_port *p = open_port(id);
    if (id == P_TOKEN_SM2)
        ck_assert_str_eq(fb_port_profile(p), "sm2-tass");
    uint8_t data[200];
    sample_data(data, sizeof data);
    fb_sign_options so = FB_SIGN_OPTIONS_INIT;
    so.oids = gmt ? FB_CMS_OIDS_GMT0010 : FB_CMS_OIDS_PKCS7;
    so.signing_time = T_FIXED;
    fb_buf out = FB_BUF_INIT;
    int rc = fb_cms_sign(p, data, sizeof data, &so, &out);
    ck_assert_msg(rc == FB_OK, "%s: fb_cms_sign: %d: %s", d->name, rc, fb_last_error());

    /* OIDs and the whole structure (SM3 digests, messageDigest = SM3 of the
     * data, ESSCertIDv2 with SM3, signature SEQUENCE { r, s }). */
    expect_cms x;
    expect_for(&x, d, gmt);
    x.cert_path = fx(d->cert);
    x.content = data;
    x.content_len = sizeof data;
    x.when = T_FIXED;
    check_cms(out.ptr, out.size, &x);
    cms_parts o;
    split_cms(out.ptr, out.size, &o);
    ck_assert_str_eq(o.type_oid, gmt ? "1.2.156.10197.6.1.4.2.2" : "1.2.840.113549.1.7.2");
    rd sa = rd_in(&o.sig_alg);
    expect_oid(&sa, gmt ? "1.2.156.10197.1.301.1" : "1.2.156.10197.1.501", "SM2 signature OID");

    /* The signature over the attributes (as a SET) verifies with the
     * openssl command under the default user ID, and not under another. */
    char what[128];
    snprintf(what, sizeof what, "%s, %s OIDs", d->name, gmt ? "GM/T 0010" : "PKCS#7");
    sm2_openssl_accepts(out.ptr, out.size, fx(d->cert), DEFAULT_ID, what);
    sm2_openssl_refuses(out.ptr, out.size, fx(d->cert), "1234567812345677", what);
    fb_buf_dispose(&out);
    fb_port_close(p);
}
END_TEST

/* A configured SM2 user ID goes into Z. */
START_TEST(cms_sign_sm2_user_id)
{
    fb_port *p = open_file("keys/soft-sm2.pem", fx("certs/soft-sm2.pem"), "ALICE123");
    ck_assert_str_eq(fb_port_sm2_id(p), "ALICE123");
    fb_buf out = FB_BUF_INIT;
    ck_assert(fb_cms_sign(p, "abc", 3, NULL, &out) == FB_OK);
    sm2_openssl_accepts(out.ptr, out.size, fx("certs/soft-sm2.pem"), "ALICE123", "ALICE123");
    sm2_openssl_refuses(out.ptr, out.size, fx("certs/soft-sm2.pem"), DEFAULT_ID, "ALICE123");
    fb_buf_dispose(&out);
    fb_port_close(p);
}
END_TEST

/* ======================================================================
 * fb_issue
 * ====================================================================== */

static const char *const goldens[] = { "medical-outpatient", "medical-inpatient", "donation",
                                       "membership-fee", "funds-settlement" };
#define N_GOLDEN (sizeof goldens / sizeof goldens[0])

/* Check an issued document against the bill, byte for byte: the unsigned
 * canonical document of the bill with SealHash filled, the block inserted
 * before </EInvoice>, the node's children in order, the CMS over the
 * fragment. */
static void check_issued(const fbt_bytes *doc, const fb_bill *bill, port_id id,
                         const char *cert_path, int64_t when, const char *sig_time)
{
    const port_def *d = &PORTS[id];
    char what[200];
    snprintf(what, sizeof what, "%s at %s", fb_bill_get(bill, FB_EINVOICE_NAME), d->name);

    /* It reads, holds one signature node, and is canonical. */
    fb_document *pd = NULL;
    int rc = fb_document_parse(&pd, doc->p, doc->n, NULL);
    ck_assert_msg(rc == FB_OK, "%s: the issued document does not read: %s", what,
                  fb_last_error());
    ck_assert_uint_eq(fb_document_signature_count(pd), 1);
    const char *name = NULL;
    size_t off = 0, len = 0;
    ck_assert(fb_document_signature(pd, 0, &name, &off, &len) == FB_OK);
    ck_assert_str_eq(name, "InvoicingPartySignature");
    ck_assert_int_eq(fb_document_is_canonical(pd), 1);
    char why[600];
    ck_assert_msg(fbt_xsd_validate(doc->p, doc->n, why, sizeof why) == 0,
                  "%s: bill.xsd rejects the issued document: %s", what, why);

    /* The bill it holds is the input with the unit's SealHash set. */
    char hash[65], serial[128];
    seal_hash(cert_path, d->sm2, hash);
    serial_text(cert_path, serial, sizeof serial);
    ck_assert_str_eq(fb_bill_get(fb_document_bill(pd), FB_INVOICING_SEAL_HASH), hash);
    fb_bill *filled = NULL;
    ck_assert(fb_bill_dup(bill, &filled) == FB_OK);
    ck_assert(fb_bill_set(filled, FB_INVOICING_SEAL_HASH, hash) == FB_OK);
    ck_assert(fb_bill_fill_derived(filled) == FB_OK);
    fb_buf frag = FB_BUF_INIT, unsigned_doc = FB_BUF_INIT;
    ck_assert(fb_bill_write_fragment(filled, &frag) == FB_OK);
    ck_assert(fb_bill_write_document(filled, &unsigned_doc) == FB_OK);

    /* The fragment, cut from the bytes here and by the reader. */
    doc_parts dp = split_doc(doc->p, doc->n);
    size_t foff, flen;
    fb_document_fragment(pd, &foff, &flen);
    ck_assert_uint_eq(foff, dp.frag_off);
    ck_assert_uint_eq(flen, dp.frag_len);
    ck_assert_uint_eq(off, dp.unit_off);
    ck_assert_uint_eq(len, dp.unit_len);
    ck_assert_msg(flen == frag.size && !memcmp(doc->p + foff, frag.ptr, flen),
                  "%s: the document's fragment is not fb_bill_write_fragment of the bill "
                  "with SealHash filled", what);

    /* The whole document, but for the Base64 value. */
    const char *close = "</EInvoice>";
    ck_assert(unsigned_doc.size > strlen(close));
    size_t body = unsigned_doc.size - strlen(close);
    char head[1024];
    snprintf(head, sizeof head,
             "<EInvoiceSignature><InvoicingPartySignature><SignatureFormat>DETACH"
             "</SignatureFormat><SignatureAlgorithm>%s</SignatureAlgorithm><SignatureTime>%s"
             "</SignatureTime><SerialNumber>%s</SerialNumber><SignatureValue>",
             d->alg_name, sig_time, serial);
    const char *tail = "</SignatureValue></InvoicingPartySignature></EInvoiceSignature>"
                       "</EInvoice>";
    size_t hl = strlen(head), tl = strlen(tail);
    ck_assert_msg(doc->n > body + hl + tl && !memcmp(doc->p, unsigned_doc.ptr, body),
                  "%s: the issued document does not start with the unsigned document", what);
    ck_assert_msg(!memcmp(doc->p + body, head, hl),
                  "%s: the signature block is not\n  %s\nbut\n  %.*s", what, head, (int)hl,
                  (const char *)doc->p + body);
    ck_assert_msg(!memcmp(doc->p + doc->n - tl, tail, tl), "%s: the document does not end with "
                  "%s", what, tail);

    /* The node's values, through the reader too. */
    ck_assert_str_eq(fb_document_signature_value(pd, 0, "SignatureFormat"), "DETACH");
    ck_assert_str_eq(fb_document_signature_value(pd, 0, "SignatureAlgorithm"), d->alg_name);
    const char *st = fb_document_signature_value(pd, 0, "SignatureTime");
    ck_assert_msg(st && strlen(st) == 14 && strspn(st, "0123456789") == 14,
                  "SignatureTime \"%s\" is not 14 digits", st ? st : "(none)");
    ck_assert_str_eq(st, sig_time);
    ck_assert_str_eq(fb_document_signature_value(pd, 0, "SerialNumber"), serial);

    /* The CMS verifies over the fragment bytes cut from the document. */
    size_t cms_len;
    uint8_t *cms = node_cms(doc->p, dp.unit_off, dp.unit_len, &cms_len);
    expect_cms x;
    expect_for(&x, d, false);
    x.cert_path = cert_path;
    x.content = doc->p + dp.frag_off;
    x.content_len = dp.frag_len;
    x.when = when;
    check_cms(cms, cms_len, &x);
    if (d->sm2) {
        sm2_openssl_accepts(cms, cms_len, cert_path, DEFAULT_ID, what);
    } else {
        openssl_accepts(cms, cms_len, doc->p + dp.frag_off, dp.frag_len,
                        fx("ca/root-ec.pem"), what);
        ck_assert(!cms_verifies(cms, cms_len, doc->p + dp.frag_off, dp.frag_len - 1,
                                fx("ca/root-ec.pem")));
    }
    free(cms);
    fb_buf_dispose(&frag);
    fb_buf_dispose(&unsigned_doc);
    fb_bill_free(filled);
    fb_document_free(pd);
}

START_TEST(issue_golden)
{
    const char *name = goldens[_i % N_GOLDEN];
    port_id id = _i < (int)N_GOLDEN ? P_PORT1 : P_SOFT_SM2;
    fb_port *p = open_port(id);
    fb_bill *bill = golden_bill(name);
    fb_buf before = FB_BUF_INIT;
    ck_assert(fb_bill_write_document(bill, &before) == FB_OK);

    /* Appended to what out holds. */
    fb_sign_options so = FB_SIGN_OPTIONS_INIT;
    so.signing_time = T_FIXED;
    fbt_bytes pre;
    fb_buf out = prefilled(&pre);
    fb_problems *pr = NULL;
    int rc = fb_issue(p, bill, &so, &out, &pr);
    ck_assert_msg(rc == FB_OK, "%s at %s: fb_issue: %d: %s", name, PORTS[id].name, rc,
                  fb_last_error());
    ck_assert_uint_eq(fb_problems_count(pr), 0);
    fb_problems_free(pr);
    ck_assert_msg(out.size > pre.n && !memcmp(out.ptr, pre.p, pre.n), "fb_issue did not append");
    fbt_bytes doc = fbt_bytes_of(out.ptr + pre.n, out.size - pre.n);
    check_issued(&doc, bill, id, fx(PORTS[id].cert), T_FIXED, T_FIXED_CST);

    /* The caller's bill is not changed (its SealHash is still the
     * placeholder). */
    fb_buf after = FB_BUF_INIT;
    ck_assert(fb_bill_write_document(bill, &after) == FB_OK);
    ck_assert_msg(after.size == before.size && !memcmp(after.ptr, before.ptr, after.size),
                  "fb_issue changed the caller's bill");
    ck_assert_str_eq(fb_bill_get(bill, FB_INVOICING_SEAL_HASH),
                     "9f2c1e8a7b6d5c4f3e2d1c0b9a8f7e6d5c4b3a291807f6e5d4c3b2a190817263");

    free(doc.p);
    free(pre.p);
    fb_buf_dispose(&before);
    fb_buf_dispose(&after);
    fb_buf_dispose(&out);
    fb_bill_free(bill);
    fb_port_close(p);
}
END_TEST

/* SignatureTime is the signing time in UTC+8, also across a day; now when
 * unset. */
START_TEST(issue_signature_time)
{
    fb_port *p = open_port(P_SOFT_EC);
    fb_bill *bill = golden_bill("donation");
    static const struct {
        int64_t when;
        const char *cst;
    } cases[] = {
        { INT64_C(1794686400), "20261115040000" }, /* 2026-11-14 20:00:00 UTC */
        { INT64_C(1794657599), "20261114195959" }, /* 2026-11-14 11:59:59 UTC */
        { T_FIXED, T_FIXED_CST },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fbt_bytes doc = issue(p, bill, cases[i].when);
        char st[64];
        doc_parts dp = split_doc(doc.p, doc.n);
        text_of(doc.p, dp.unit_off, dp.unit_off + dp.unit_len, "SignatureTime", st, sizeof st);
        ck_assert_msg(!strcmp(st, cases[i].cst), "signing at %lld: SignatureTime %s, expected %s",
                      (long long)cases[i].when, st, cases[i].cst);
        free(doc.p);
    }
    /* Options NULL: now, and the node agrees with the CMS. */
    int64_t t0 = (int64_t)time(NULL);
    fb_buf out = FB_BUF_INIT;
    ck_assert(fb_issue(p, bill, NULL, &out, NULL) == FB_OK);
    int64_t t1 = (int64_t)time(NULL);
    doc_parts dp = split_doc(out.ptr, out.size);
    char st[64], lo[15], hi[15];
    text_of(out.ptr, dp.unit_off, dp.unit_off + dp.unit_len, "SignatureTime", st, sizeof st);
    cst_text(t0, lo);
    cst_text(t1, hi);
    ck_assert_msg(strcmp(st, lo) >= 0 && strcmp(st, hi) <= 0,
                  "SignatureTime %s is not now (%s..%s)", st, lo, hi);
    size_t cms_len;
    uint8_t *cms = node_cms(out.ptr, dp.unit_off, dp.unit_len, &cms_len);
    cms_parts o;
    split_cms(cms, cms_len, &o);
    tlv v;
    ck_assert(find_attr(&o, OID_SIGNING_TIME, &v));
    const unsigned char *tp = v.at;
    ASN1_TIME *t = d2i_ASN1_TIME(NULL, &tp, (long)v.size);
    ck_assert(t != NULL);
    /* signingTime + 8 h, written as yyyyMMddHHmmss, is the SignatureTime. */
    int days, secs;
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    ck_assert(ASN1_TIME_diff(&days, &secs, epoch, t) == 1);
    char from_cms[15];
    cst_text((int64_t)days * 86400 + secs, from_cms);
    ck_assert_str_eq(st, from_cms);
    ASN1_TIME_free(epoch);
    ASN1_TIME_free(t);
    free(cms);
    fb_buf_dispose(&out);
    fb_bill_free(bill);
    fb_port_close(p);
}
END_TEST

/* SerialNumber: upper-case hex without leading zeros, also for a serial of
 * an odd number of hex digits (0xABC is "ABC", not "0ABC"). */
START_TEST(issue_serial_number)
{
    char want[64];
    fb_port *p = open_port(P_PORT1);
    fb_bill *bill = golden_bill("membership-fee");
    fbt_bytes doc = issue(p, bill, 0);
    doc_parts dp = split_doc(doc.p, doc.n);
    char sn[64];
    text_of(doc.p, dp.unit_off, dp.unit_off + dp.unit_len, "SerialNumber", sn, sizeof sn);
    serial_text(fx("certs/port-1.pem"), want, sizeof want);
    ck_assert_str_eq(sn, want);
    free(doc.p);
    fb_port_close(p);

    char cert[1200];
    snprintf(cert, sizeof cert, "%s", fx("x/serial-abc.pem"));
    serial_text(cert, want, sizeof want);
    ck_assert_str_eq(want, "ABC");
    p = open_file("keys/soft-ec.pem", cert, NULL);
    doc = issue(p, bill, 0);
    dp = split_doc(doc.p, doc.n);
    text_of(doc.p, dp.unit_off, dp.unit_off + dp.unit_len, "SerialNumber", sn, sizeof sn);
    ck_assert_msg(!strcmp(sn, "ABC"), "certificate serial 0xABC: SerialNumber is \"%s\", the "
                  "spec says \"ABC\" (upper-case hex, no leading zeros)", sn);
    free(doc.p);
    fb_bill_free(bill);
    fb_port_close(p);
}
END_TEST

/* A unit node that writes the serial as the spec does ("ABC") is sealed:
 * the bureau must not insist on a leading zero. */
/* A unit node assembled here, from the spec alone, around fb_cms_sign:
 * the bureau seals it. With the same construction but a SealHash of
 * another certificate (the signature itself valid), it refuses (§5 step
 * 5). */
static fbt_bytes hand_issued(fb_port *p, fb_bill *bill, const char *seal_hash_text)
{
    ck_assert(fb_bill_set(bill, FB_INVOICING_SEAL_HASH, seal_hash_text) == FB_OK);
    fb_buf frag = FB_BUF_INIT, doc = FB_BUF_INIT, cms = FB_BUF_INIT;
    ck_assert(fb_bill_write_fragment(bill, &frag) == FB_OK);
    ck_assert(fb_bill_write_document(bill, &doc) == FB_OK);
    int64_t now = (int64_t)time(NULL);
    fb_sign_options so = FB_SIGN_OPTIONS_INIT;
    so.signing_time = now;
    ck_assert(fb_cms_sign(p, frag.ptr, frag.size, &so, &cms) == FB_OK);
    char *b64 = malloc(4 * ((cms.size + 2) / 3) + 1);
    ck_assert(b64 != NULL);
    EVP_EncodeBlock((unsigned char *)b64, cms.ptr, (int)cms.size);
    char serial[128], when[15];
    serial_text(fx("certs/port-1.pem"), serial, sizeof serial);
    cst_text(now, when);
    size_t body = doc.size - strlen("</EInvoice>");
    size_t cap = doc.size + strlen(b64) + 1024;
    fbt_bytes out = { malloc(cap), 0 };
    ck_assert(out.p != NULL);
    memcpy(out.p, doc.ptr, body);
    int n = snprintf((char *)out.p + body, cap - body,
                     "<EInvoiceSignature><InvoicingPartySignature><SignatureFormat>DETACH"
                     "</SignatureFormat><SignatureAlgorithm>SHA256withECDSA</SignatureAlgorithm>"
                     "<SignatureTime>%s</SignatureTime><SerialNumber>%s</SerialNumber>"
                     "<SignatureValue>%s</SignatureValue></InvoicingPartySignature>"
                     "</EInvoiceSignature></EInvoice>",
                     when, serial, b64);
    ck_assert(n > 0 && (size_t)n < cap - body);
    out.n = body + (size_t)n;
    free(b64);
    fb_buf_dispose(&frag);
    fb_buf_dispose(&doc);
    fb_buf_dispose(&cms);
    return out;
}

START_TEST(seal_hand_assembled)
{
    fb_port *p = open_port(P_PORT1);
    fb_port *bureau = open_port(P_BUREAU);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    fb_bill *bill = golden_bill("medical-outpatient");
    char hash[65];
    seal_hash(fx("certs/port-1.pem"), false, hash);
    fbt_bytes doc = hand_issued(p, bill, hash);
    fbt_bytes sealed = seal_ok(bureau, &doc, &o);
    free(sealed.p);
    free(doc.p);
    /* Validly signed, but naming port-2's certificate. */
    doc = hand_issued(p, bill, g_port2_hash);
    static const char *const words[] = { "InvoicingPartySeal", "SealHash", NULL };
    seal_refused(bureau, &doc, &o, FB_EINVALID, "InvoicingPartySeal/SealHash of another "
                 "certificate, signature valid", words);
    free(doc.p);
    fb_trust_free(t);
    fb_bill_free(bill);
    fb_port_close(bureau);
    fb_port_close(p);
}
END_TEST

/* One trust object for many seals (paths are cached per leaf): the
 * certificate's validity is still checked at each signing time and at each
 * `now`. */
START_TEST(seal_trust_reused)
{
    fb_port *p = open_port(P_PORT1);
    fb_port *bureau = open_port(P_BUREAU);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    fb_bill *bill = golden_bill("donation");
    fbt_bytes now_doc = issue(p, bill, 0);
    fbt_bytes early_doc = issue(p, bill, (int64_t)time(NULL) - 30 * 86400);
    static const char *const expired[] = { "expired", NULL };
    static const char *const early[] = { "not yet valid", NULL };
    for (int round = 0; round < 2; round++) {
        fbt_bytes s = seal_ok(bureau, &now_doc, &o);
        free(s.p);
        fb_seal_options later = o;
        later.now = INT64_C(4102444800); /* 2100 */
        seal_refused(bureau, &now_doc, &later, FB_EINVALID, "expired by now, trust reused",
                     expired);
        fb_seal_options before = o;
        before.now = INT64_C(946684800); /* 2000 */
        seal_refused(bureau, &now_doc, &before, FB_EINVALID, "not yet valid now, trust reused",
                     early);
        seal_refused(bureau, &early_doc, &o, FB_EINVALID,
                     "signed before the certificate was valid, trust reused", early);
    }
    free(now_doc.p);
    free(early_doc.p);
    fb_bill_free(bill);
    fb_trust_free(t);
    fb_port_close(bureau);
    fb_port_close(p);
}
END_TEST

/* Units of every algorithm are sealed; the supervisor CMS verifies. */
static const port_id seal_units[] = { P_PORT_RSA, P_PORT_RSA_PSS, P_SOFT_EC, P_PORT2 };

START_TEST(seal_unit_algorithms)
{
    port_id id = seal_units[_i];
    fb_port *unit = open_port(id);
    fb_port *bureau = open_port(P_BUREAU);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    fb_bill *bill = golden_bill("membership-fee");
    fbt_bytes issued = issue(unit, bill, 0);
    fbt_bytes sealed = seal_ok(bureau, &issued, &o);
    doc_parts dp = split_doc(sealed.p, sealed.n);
    size_t ul, sl;
    uint8_t *u = node_cms(sealed.p, dp.unit_off, dp.unit_len, &ul);
    uint8_t *sv = node_cms(sealed.p, dp.sup_off, dp.sup_len, &sl);
    fbt_bytes cov = covered(&sealed, FB_COVER_FRAGMENT_AND_UNIT);
    ck_assert_msg(cms_verifies(u, ul, sealed.p + dp.frag_off, dp.frag_len, fx("ca/root-ec.pem")),
                  "%s: the unit CMS does not verify", PORTS[id].name);
    ck_assert(cms_verifies(sv, sl, cov.p, cov.n, fx("ca/root-ec.pem")));
    char alg[64];
    text_of(sealed.p, dp.unit_off, dp.unit_off + dp.unit_len, "SignatureAlgorithm", alg,
            sizeof alg);
    ck_assert_str_eq(alg, PORTS[id].alg_name);
    free(cov.p);
    free(u);
    free(sv);
    free(sealed.p);
    free(issued.p);
    fb_bill_free(bill);
    fb_trust_free(t);
    fb_port_close(bureau);
    fb_port_close(unit);
}
END_TEST

/* An SM2 bureau (the soft-sm2 key): the bill names it by SM3 of its
 * certificate, and its signature over fragment ‖ unit node verifies with
 * the openssl command. */
START_TEST(seal_sm2_bureau)
{
    fb_port *unit = open_port(P_PORT1);
    fb_port *bureau = open_port(P_SOFT_SM2);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    fb_bill *bill = golden_bill("funds-settlement");
    char sm3[65], sha[65];
    seal_hash(fx("certs/soft-sm2.pem"), true, sm3);
    seal_hash(fx("certs/soft-sm2.pem"), false, sha);
    static const char *const words[] = { "SealHash", NULL };
    /* Named by the SHA-256 of its certificate: not its seal hash. */
    ck_assert(fb_bill_set(bill, FB_SUPERVISOR_SEAL_HASH, sha) == FB_OK);
    fbt_bytes issued = issue(unit, bill, 0);
    seal_refused(bureau, &issued, &o, FB_EINVALID, "SM2 bureau named by SHA-256", words);
    free(issued.p);
    ck_assert(fb_bill_set(bill, FB_SUPERVISOR_SEAL_HASH, sm3) == FB_OK);
    issued = issue(unit, bill, 0);
    fbt_bytes sealed = seal_ok(bureau, &issued, &o);
    doc_parts dp = split_doc(sealed.p, sealed.n);
    size_t sl;
    uint8_t *sv = node_cms(sealed.p, dp.sup_off, dp.sup_len, &sl);
    fbt_bytes cov = covered(&sealed, FB_COVER_FRAGMENT_AND_UNIT);
    expect_cms x;
    expect_for(&x, &PORTS[P_SOFT_SM2], false);
    x.cert_path = fx("certs/soft-sm2.pem");
    x.content = cov.p;
    x.content_len = cov.n;
    x.t0 = (int64_t)time(NULL) - 60;
    x.t1 = (int64_t)time(NULL) + 1;
    check_cms(sv, sl, &x);
    sm2_openssl_accepts(sv, sl, fx("certs/soft-sm2.pem"), DEFAULT_ID, "SM2 bureau");
    char alg[64];
    text_of(sealed.p, dp.sup_off, dp.sup_off + dp.sup_len, "SignatureAlgorithm", alg,
            sizeof alg);
    ck_assert_str_eq(alg, "SM3withSM2");
    free(cov.p);
    free(sv);
    free(sealed.p);
    free(issued.p);
    fb_bill_free(bill);
    fb_trust_free(t);
    fb_port_close(bureau);
    fb_port_close(unit);
}
END_TEST

/* "Every other byte untouched": whitespace around the signature nodes and a
 * byte order mark survive sealing, and the node goes right after
 * </InvoicingPartySignature>. */
START_TEST(seal_keeps_other_bytes)
{
    fb_port *unit = open_port(P_PORT1);
    fb_port *bureau = open_port(P_BUREAU);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    fb_bill *bill = golden_bill("medical-inpatient");
    fbt_bytes doc = issue(unit, bill, 0);
    replace(&doc, 0, "<EInvoiceSignature>", "\n  <EInvoiceSignature>\n    ");
    replace(&doc, 0, "</InvoicingPartySignature>", "</InvoicingPartySignature>\n  ");
    replace(&doc, 0, "</EInvoice>", "\n</EInvoice>\n");
    replace(&doc, 0, "<?xml", "\xEF\xBB\xBF<?xml");
    fbt_bytes sealed = seal_ok(bureau, &doc, &o);
    size_t cut = find_from(doc.p, doc.n, 0, "</InvoicingPartySignature>") +
                 strlen("</InvoicingPartySignature>");
    size_t suffix = doc.n - cut;
    ck_assert(sealed.n > doc.n);
    ck_assert_msg(!memcmp(sealed.p, doc.p, cut), "bytes before the unit node's end changed");
    ck_assert_msg(!memcmp(sealed.p + sealed.n - suffix, doc.p + cut, suffix),
                  "bytes after the unit node changed");
    ck_assert_msg(!memcmp(sealed.p + cut, "<SupervisorPartySignature>", 26),
                  "the supervisor node is not right after </InvoicingPartySignature>");
    ck_assert_msg(!memcmp(sealed.p + sealed.n - suffix - 27, "</SupervisorPartySignature>", 27),
                  "more than the supervisor node was inserted");
    free(sealed.p);
    free(doc.p);
    fb_bill_free(bill);
    fb_trust_free(t);
    fb_port_close(bureau);
    fb_port_close(unit);
}
END_TEST

START_TEST(seal_accepts_spec_serial)
{
    char cert[1200];
    snprintf(cert, sizeof cert, "%s", fx("x/serial-abc.pem"));
    fb_port *p = open_file("keys/soft-ec.pem", cert, NULL);
    fb_port *bureau = open_port(P_BUREAU);
    fb_bill *bill = golden_bill("membership-fee");
    fbt_bytes doc = issue(p, bill, 0);
    doc_parts dp = split_doc(doc.p, doc.n);
    char sn[64];
    text_of(doc.p, dp.unit_off, dp.unit_off + dp.unit_len, "SerialNumber", sn, sizeof sn);
    /* Whatever the library wrote, make it the spec's form (the unit node
     * is not covered by the unit's own signature). */
    char old[200];
    snprintf(old, sizeof old, "<SerialNumber>%s</SerialNumber>", sn);
    replace(&doc, dp.unit_off, old, "<SerialNumber>ABC</SerialNumber>");
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    fb_buf out = FB_BUF_INIT;
    int rc = fb_seal(bureau, doc.p, doc.n, &o, &out);
    ck_assert_msg(rc == FB_OK, "a unit node with SerialNumber \"ABC\" (serial 0xABC, as the spec "
                  "writes it) is refused: %s", fb_last_error());
    fb_buf_dispose(&out);
    fb_trust_free(t);
    free(doc.p);
    fb_bill_free(bill);
    fb_port_close(bureau);
    fb_port_close(p);
}
END_TEST

/* An invalid bill is refused with every problem; out is not touched. */
START_TEST(issue_invalid_bill)
{
    fb_port *p = open_port(P_PORT1);
    fb_bill *bill = golden_bill("medical-outpatient");
    /* The items no longer sum to TotalAmount, and a code of 7 digits. */
    ck_assert(fb_bill_item_set(bill, 0, FB_ITEM_AMOUNT, "128.51") == FB_OK);
    ck_assert(fb_bill_set(bill, FB_EINVOICE_NUMBER, "123") == FB_OK);
    fbt_bytes pre;
    fb_buf out = prefilled(&pre);
    fb_problems *pr = NULL;
    int rc = fb_issue(p, bill, NULL, &out, &pr);
    ck_assert_int_eq(rc, FB_EINVALID);
    ck_assert_msg(pr != NULL && fb_problems_count(pr) >= 2, "problems: %zu, expected both",
                  pr ? fb_problems_count(pr) : 0);
    bool total = false, number = false;
    for (size_t i = 0; i < fb_problems_count(pr); i++) {
        total |= strstr(fb_problems_path(pr, i), "TotalAmount") != NULL;
        number |= strstr(fb_problems_path(pr, i), "EInvoiceNumber") != NULL;
    }
    ck_assert_msg(total && number, "the problems do not name TotalAmount and EInvoiceNumber");
    unchanged(&out, &pre, "fb_issue of an invalid bill");
    fb_problems_free(pr);

    /* Without a problems list: the same refusal. */
    rc = fb_issue(p, bill, NULL, &out, NULL);
    ck_assert_int_eq(rc, FB_EINVALID);
    char named[120];
    snprintf(named, sizeof named, "bill %s 123: ", fb_bill_get(bill, FB_EINVOICE_CODE));
    ck_assert_msg(strstr(fb_last_error(), named), "the message does not name the bill (%s): %s",
                  named, fb_last_error());
    unchanged(&out, &pre, "fb_issue of an invalid bill, no problems list");

    /* fb_issue_document of the same bill, likewise. */
    fb_buf doc = FB_BUF_INIT;
    ck_assert(fb_bill_write_document(bill, &doc) == FB_OK);
    pr = NULL;
    rc = fb_issue_document(p, doc.ptr, doc.size, NULL, &out, &pr);
    ck_assert_int_eq(rc, FB_EINVALID);
    ck_assert(pr != NULL && fb_problems_count(pr) >= 2);
    unchanged(&out, &pre, "fb_issue_document of an invalid bill");
    fb_problems_free(pr);
    free(pre.p);
    fb_buf_dispose(&doc);
    fb_buf_dispose(&out);
    fb_bill_free(bill);
    fb_port_close(p);
}
END_TEST

/* fb_issue_document: unsigned documents (canonical or indented) are issued
 * canonically; signed ones are refused. */
START_TEST(issue_document)
{
    fb_port *p = open_port(P_PORT1);
    fb_port *bureau = open_port(P_BUREAU);
    fb_bill *bill = golden_bill("medical-inpatient");
    fb_buf unsigned_doc = FB_BUF_INIT;
    ck_assert(fb_bill_write_document(bill, &unsigned_doc) == FB_OK);

    /* Indented: whitespace between the elements of the fragment. */
    fbt_bytes ind = fbt_bytes_of(unsigned_doc.ptr, unsigned_doc.size);
    replace(&ind, 0, "<Header>", "\n  <Header>");
    replace(&ind, 0, "<EInvoiceData>", "\n  <EInvoiceData>\n    ");
    replace(&ind, 0, "<Details>", "\n    <Details>\n      ");
    for (int k = 0; k < 2; k++) {
        const uint8_t *in = k ? ind.p : unsigned_doc.ptr;
        size_t in_len = k ? ind.n : unsigned_doc.size;
        fb_sign_options so = FB_SIGN_OPTIONS_INIT;
        so.signing_time = T_FIXED;
        fb_buf out = FB_BUF_INIT;
        fb_problems *pr = NULL;
        int rc = fb_issue_document(p, in, in_len, &so, &out, &pr);
        ck_assert_msg(rc == FB_OK, "fb_issue_document (%s): %d: %s", k ? "indented" : "canonical",
                      rc, fb_last_error());
        fb_problems_free(pr);
        fbt_bytes doc = fbt_bytes_of(out.ptr, out.size);
        check_issued(&doc, bill, P_PORT1, fx("certs/port-1.pem"), T_FIXED, T_FIXED_CST);
        free(doc.p);
        fb_buf_dispose(&out);
    }

    /* Signed, and signed and sealed: refused, out untouched. */
    fbt_bytes issued = issue(p, bill, 0);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    fbt_bytes sealed = seal_ok(bureau, &issued, &o);
    const fbt_bytes *docs[] = { &issued, &sealed };
    for (int k = 0; k < 2; k++) {
        fbt_bytes pre;
        fb_buf out = prefilled(&pre);
        fb_problems *pr = NULL;
        int rc = fb_issue_document(p, docs[k]->p, docs[k]->n, NULL, &out, &pr);
        ck_assert_msg(rc != FB_OK, "fb_issue_document signed an already %s document",
                      k ? "sealed" : "signed");
        ck_assert_int_eq(rc, FB_EINVALID);
        ck_assert_msg(strstr(fb_last_error(), "signed") != NULL,
                      "the refusal does not say the document is signed: %s", fb_last_error());
        unchanged(&out, &pre, "fb_issue_document of a signed document");
        free(pre.p);
        fb_problems_free(pr);
        fb_buf_dispose(&out);
    }
    fb_trust_free(t);
    free(issued.p);
    free(sealed.p);
    free(ind.p);
    fb_buf_dispose(&unsigned_doc);
    fb_bill_free(bill);
    fb_port_close(bureau);
    fb_port_close(p);
}
END_TEST

/* ======================================================================
 * fb_seal
 * ====================================================================== */

START_TEST(seal_coverage)
{
    fb_seal_coverage cov = (fb_seal_coverage)_i;
    fb_port *unit = open_port(P_PORT1);
    fb_port *bureau = open_port(P_BUREAU);
    fb_bill *bill = golden_bill("medical-outpatient");
    fbt_bytes issued = issue(unit, bill, 0);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    o.coverage = cov;
    int64_t fixed = (int64_t)time(NULL) - 60;
    if (cov == FB_COVER_FRAGMENT)
        o.sign.signing_time = fixed;

    fbt_bytes pre;
    fb_buf out = prefilled(&pre);
    int64_t t0 = (int64_t)time(NULL);
    int rc = fb_seal(bureau, issued.p, issued.n, &o, &out);
    int64_t t1 = (int64_t)time(NULL);
    ck_assert_msg(rc == FB_OK, "fb_seal (%s): %d: %s", fb_seal_coverage_name(cov), rc,
                  fb_last_error());
    ck_assert_msg(out.size > pre.n && !memcmp(out.ptr, pre.p, pre.n), "fb_seal did not append");
    fbt_bytes sealed = fbt_bytes_of(out.ptr + pre.n, out.size - pre.n);
    fb_buf_dispose(&out);
    free(pre.p);

    /* The input with exactly one node inserted right after
     * </InvoicingPartySignature>: same prefix, same suffix. */
    doc_parts ip = split_doc(issued.p, issued.n);
    size_t cut = ip.unit_off + ip.unit_len, suffix = issued.n - cut;
    ck_assert(sealed.n > issued.n);
    ck_assert_msg(!memcmp(sealed.p, issued.p, cut), "fb_seal changed bytes before the "
                  "insertion point");
    ck_assert_msg(!memcmp(sealed.p + sealed.n - suffix, issued.p + cut, suffix),
                  "fb_seal changed bytes after the insertion point");
    size_t node_len = sealed.n - issued.n;
    const uint8_t *node = sealed.p + cut;
    char serial[64], head[600], sig_time[15];
    serial_text(fx("certs/bureau.pem"), serial, sizeof serial);
    snprintf(head, sizeof head,
             "<SupervisorPartySignature><SignatureFormat>DETACH</SignatureFormat>"
             "<SignatureAlgorithm>SHA256withECDSA</SignatureAlgorithm><SignatureTime>");
    const char *mid = "</SignatureTime><SerialNumber>";
    ck_assert_msg(node_len > strlen(head) && !memcmp(node, head, strlen(head)),
                  "the inserted bytes do not start the supervisor node: %.*s", (int)node_len,
                  (const char *)node);
    memcpy(sig_time, node + strlen(head), 14);
    sig_time[14] = '\0';
    ck_assert_msg(strspn(sig_time, "0123456789") == 14, "SignatureTime %s", sig_time);
    ck_assert(!memcmp(node + strlen(head) + 14, mid, strlen(mid)));
    char sn_close[200];
    snprintf(sn_close, sizeof sn_close, "%s</SerialNumber><SignatureValue>", serial);
    ck_assert_msg(!memcmp(node + strlen(head) + 14 + strlen(mid), sn_close, strlen(sn_close)),
                  "the supervisor node's SerialNumber is not %s", serial);
    const char *end = "</SignatureValue></SupervisorPartySignature>";
    ck_assert(!memcmp(node + node_len - strlen(end), end, strlen(end)));

    /* It reads as a document with both nodes, canonical and schema-valid. */
    fb_document *d = NULL;
    ck_assert_msg(fb_document_parse(&d, sealed.p, sealed.n, NULL) == FB_OK, "%s",
                  fb_last_error());
    ck_assert_uint_eq(fb_document_signature_count(d), 2);
    const char *name;
    size_t off, len;
    ck_assert(fb_document_signature(d, 1, &name, &off, &len) == FB_OK);
    ck_assert_str_eq(name, "SupervisorPartySignature");
    ck_assert_uint_eq(off, cut);
    ck_assert_uint_eq(len, node_len);
    ck_assert_int_eq(fb_document_is_canonical(d), 1);
    ck_assert_str_eq(fb_document_signature_value(d, 1, "SerialNumber"), serial);
    fb_document_free(d);
    char why[600];
    ck_assert_msg(fbt_xsd_validate(sealed.p, sealed.n, why, sizeof why) == 0, "%s", why);

    /* The supervisor CMS: verified by the openssl command over the
     * coverage's bytes, refused over the other coverages' bytes. */
    size_t cms_len;
    uint8_t *cms = node_cms(sealed.p, cut, node_len, &cms_len);
    fbt_bytes cov_bytes = covered(&sealed, cov);
    const char *ca = fx("ca/root-ec.pem");
    openssl_accepts(cms, cms_len, cov_bytes.p, cov_bytes.n, ca, fb_seal_coverage_name(cov));
    for (int c = 0; c < 3; c++) {
        if (c == (int)cov)
            continue;
        fbt_bytes other = covered(&sealed, (fb_seal_coverage)c);
        if (c == (int)((cov + 1) % 3))
            openssl_refuses(cms, cms_len, other.p, other.n, ca, fb_seal_coverage_name(cov));
        ck_assert_msg(!cms_verifies(cms, cms_len, other.p, other.n, ca),
                      "the %s signature also verifies over the %s bytes",
                      fb_seal_coverage_name(cov), fb_seal_coverage_name((fb_seal_coverage)c));
        free(other.p);
    }
    expect_cms x;
    expect_for(&x, &PORTS[P_BUREAU], false);
    x.cert_path = fx("certs/bureau.pem");
    x.content = cov_bytes.p;
    x.content_len = cov_bytes.n;
    if (cov == FB_COVER_FRAGMENT) {
        x.when = fixed;
    } else {
        x.t0 = t0;
        x.t1 = t1;
    }
    check_cms(cms, cms_len, &x);
    /* SignatureTime is the supervisor CMS's signingTime in UTC+8. */
    if (cov == FB_COVER_FRAGMENT) {
        char want[15];
        cst_text(fixed, want);
        ck_assert_str_eq(sig_time, want);
    } else {
        char lo[15], hi[15];
        cst_text(t0, lo);
        cst_text(t1, hi);
        ck_assert(strcmp(sig_time, lo) >= 0 && strcmp(sig_time, hi) <= 0);
    }

    /* The unit's signature still verifies over the fragment. */
    size_t ucms_len;
    uint8_t *ucms = node_cms(sealed.p, ip.unit_off, ip.unit_len, &ucms_len);
    ck_assert(cms_verifies(ucms, ucms_len, sealed.p + ip.frag_off, ip.frag_len, ca));
    free(ucms);
    free(cms);
    free(cov_bytes.p);
    free(sealed.p);
    free(issued.p);
    fb_trust_free(t);
    fb_bill_free(bill);
    fb_port_close(bureau);
    fb_port_close(unit);
}
END_TEST

/* With no area given, any area is sealed. */
START_TEST(seal_any_area)
{
    fb_port *unit = open_port(P_PORT2);
    fb_port *bureau = open_port(P_BUREAU);
    fb_bill *bill = golden_bill("funds-settlement");
    fbt_bytes issued = issue(unit, bill, 0);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    o.area_code = NULL;
    fbt_bytes sealed = seal_ok(bureau, &issued, &o);
    free(sealed.p);
    free(issued.p);
    fb_trust_free(t);
    fb_bill_free(bill);
    fb_port_close(bureau);
    fb_port_close(unit);
}
END_TEST

/* An SM2 unit (key file, and token through the faulty module) sealed by
 * the EC bureau, the unit's chain on the SM2 root. */
START_TEST(seal_sm2_unit)
{
    port_id id = _i ? P_TOKEN_SM2 : P_SOFT_SM2;
    fb_port *unit = open_port(id);
    fb_port *bureau = open_port(P_BUREAU);
    fb_bill *bill = golden_bill("donation");
    /* The token's unit signature with GM/T 0010 OIDs: the bureau reads both
     * families (spec §2, Reading). */
    fb_sign_options so = FB_SIGN_OPTIONS_INIT;
    so.oids = _i ? FB_CMS_OIDS_GMT0010 : FB_CMS_OIDS_PKCS7;
    fb_buf ib = FB_BUF_INIT;
    int rc = fb_issue(unit, bill, &so, &ib, NULL);
    ck_assert_msg(rc == FB_OK, "fb_issue: %s", fb_last_error());
    fbt_bytes issued = fbt_bytes_of(ib.ptr, ib.size);
    fb_buf_dispose(&ib);
    {
        doc_parts ip = split_doc(issued.p, issued.n);
        size_t ul;
        uint8_t *u = node_cms(issued.p, ip.unit_off, ip.unit_len, &ul);
        cms_parts cp;
        split_cms(u, ul, &cp);
        ck_assert_str_eq(cp.type_oid, _i ? OID_GM_SIGNED : OID_P7_SIGNED);
        sm2_openssl_accepts(u, ul, fx(PORTS[id].cert), DEFAULT_ID, "SM2 unit signature");
        free(u);
    }
    fb_trust *sm2 = trust_of(fx("ca/root-sm2.pem"));
    fb_seal_options o = seal_options(sm2);
    fbt_bytes sealed = seal_ok(bureau, &issued, &o);
    doc_parts dp = split_doc(sealed.p, sealed.n);
    size_t cms_len;
    uint8_t *cms = node_cms(sealed.p, dp.sup_off, dp.sup_len, &cms_len);
    fbt_bytes cov = covered(&sealed, FB_COVER_FRAGMENT_AND_UNIT);
    ck_assert(cms_verifies(cms, cms_len, cov.p, cov.n, fx("ca/root-ec.pem")));
    free(cov.p);
    free(cms);
    free(sealed.p);

    /* The unit's certificate does not chain to the EC root. */
    fb_trust *ec = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options oe = seal_options(ec);
    static const char *const trust_words[] = { "trust", NULL };
    seal_refused(bureau, &issued, &oe, FB_EINVALID, "SM2 unit, EC anchors", trust_words);
    /* Another user ID for the unit: its signature does not verify. */
    o.sm2_id = "1234567812345677";
    static const char *const sig_words[] = { "signature", NULL };
    seal_refused(bureau, &issued, &o, FB_EINVALID, "SM2 unit, wrong user ID", sig_words);

    fb_trust_free(ec);
    fb_trust_free(sm2);
    free(issued.p);
    fb_bill_free(bill);
    fb_port_close(bureau);
    fb_port_close(unit);
}
END_TEST

typedef enum refusal_id {
    R_ALREADY_SEALED,
    R_UNSIGNED,
    R_AREA,
    R_SEAL_ID,
    R_SEAL_NAME,
    R_SUPERVISOR_HASH,
    R_NO_SUPERVISOR_SEAL,
    R_UNTRUSTED,
    R_EXPIRED_CERT,
    R_EXPIRED_NOW,
    R_NOT_YET_VALID_AT_SIGNING,
    R_UNIT_HASH_ALTERED,
    R_SERIAL_ALTERED,
    R_SERIAL_MISSING,
    R_FORMAT_ATTACH,
    R_FORMAT_MISSING,
    R_ALGORITHM_ALTERED,
    R_ALGORITHM_MISSING,
    R_KEY_USAGE,
    R_VALUE_NOT_BASE64,
    R_NO_ANCHORS,
    R_BAD_COVERAGE,
    R_COUNT
} refusal_id;

static const struct refusal {
    const char *what;
    int status;
    const char *words[4];
} refusals[R_COUNT] = {
    [R_ALREADY_SEALED] = { "already sealed", FB_EINVALID, { "already sealed", NULL } },
    [R_UNSIGNED] = { "unsigned bill", FB_EINVALID, { "unit signature", "unsigned", "not signed" } },
    [R_AREA] = { "wrong area", FB_EINVALID, { "SupervisorAreaCode", NULL } },
    [R_SEAL_ID] = { "wrong seal id", FB_EINVALID, { "SupervisorPartySeal", NULL } },
    [R_SEAL_NAME] = { "wrong seal name", FB_EINVALID, { "SupervisorPartySeal", NULL } },
    [R_SUPERVISOR_HASH] = { "SupervisorPartySeal/SealHash of another certificate", FB_EINVALID,
                            { "SealHash", NULL } },
    [R_NO_SUPERVISOR_SEAL] = { "no SupervisorPartySeal", FB_EINVALID,
                               { "SupervisorPartySeal", NULL } },
    [R_UNTRUSTED] = { "unit certificate not chaining to the anchors", FB_EINVALID,
                      { "trust", NULL } },
    [R_EXPIRED_CERT] = { "expired unit certificate", FB_EINVALID, { "expired", NULL } },
    [R_EXPIRED_NOW] = { "unit certificate expired by now (2100)", FB_EINVALID,
                        { "expired", NULL } },
    [R_NOT_YET_VALID_AT_SIGNING] = { "unit certificate not yet valid at the signing time",
                                     FB_EINVALID, { "not yet valid", NULL } },
    [R_UNIT_HASH_ALTERED] = { "InvoicingPartySeal/SealHash altered after issuing", FB_EINVALID,
                              { "signature", "digest", "hash" } },
    [R_SERIAL_ALTERED] = { "unit SerialNumber altered", FB_EINVALID, { "SerialNumber", NULL } },
    [R_SERIAL_MISSING] = { "unit SerialNumber missing", FB_EINVALID, { "SerialNumber", NULL } },
    [R_FORMAT_ATTACH] = { "unit SignatureFormat ATTACH", FB_EINVALID,
                          { "SignatureFormat", NULL } },
    [R_FORMAT_MISSING] = { "unit SignatureFormat missing", FB_EINVALID,
                           { "SignatureFormat", NULL } },
    [R_ALGORITHM_ALTERED] = { "unit SignatureAlgorithm altered", FB_EINVALID,
                              { "SignatureAlgorithm", NULL } },
    [R_ALGORITHM_MISSING] = { "unit SignatureAlgorithm missing", FB_EINVALID,
                              { "SignatureAlgorithm", NULL } },
    [R_KEY_USAGE] = { "unit certificate that may not sign", FB_EINVALID,
                      { "key usage", NULL } },
    [R_VALUE_NOT_BASE64] = { "unit SignatureValue not Base64", FB_EINVALID,
                             { "SignatureValue", NULL } },
    [R_NO_ANCHORS] = { "a trust with no anchors", FB_EARG, { "anchor", NULL } },
    [R_BAD_COVERAGE] = { "an unknown coverage", FB_EARG, { "coverage", NULL } },
};

START_TEST(seal_refusals)
{
    const struct refusal *r = &refusals[_i];
    fb_port *bureau = open_port(P_BUREAU);
    fb_port *unit;
    char cert[1200];
    if (_i == R_EXPIRED_CERT || _i == R_KEY_USAGE) {
        snprintf(cert, sizeof cert, "%s", fx(_i == R_EXPIRED_CERT ? "x/expired.pem"
                                                                   : "x/nosign.pem"));
        unit = open_file("keys/soft-ec.pem", cert, NULL);
    } else {
        unit = open_port(P_PORT1);
    }
    fb_trust *t = trust_of(fx("ca/root-ec.pem")), *other = NULL;
    fb_seal_options o = seal_options(t);
    fb_bill *bill = golden_bill("medical-outpatient");
    if (_i == R_SUPERVISOR_HASH)
        ck_assert(fb_bill_set(bill, FB_SUPERVISOR_SEAL_HASH, g_port2_hash) == FB_OK);
    if (_i == R_NO_SUPERVISOR_SEAL) {
        ck_assert(fb_bill_set(bill, FB_SUPERVISOR_SEAL_ID, NULL) == FB_OK);
        ck_assert(fb_bill_set(bill, FB_SUPERVISOR_SEAL_NAME, NULL) == FB_OK);
        ck_assert(fb_bill_set(bill, FB_SUPERVISOR_SEAL_HASH, NULL) == FB_OK);
    }
    int64_t when = 0;
    if (_i == R_NOT_YET_VALID_AT_SIGNING)
        when = (int64_t)time(NULL) - 30 * 86400; /* the fixture's certificates are new */

    fbt_bytes doc;
    if (_i == R_UNSIGNED) {
        fb_buf b = FB_BUF_INIT;
        char hash[65];
        seal_hash(fx("certs/port-1.pem"), false, hash);
        ck_assert(fb_bill_set(bill, FB_INVOICING_SEAL_HASH, hash) == FB_OK);
        ck_assert(fb_bill_write_document(bill, &b) == FB_OK);
        doc = fbt_bytes_of(b.ptr, b.size);
        fb_buf_dispose(&b);
    } else {
        doc = issue(unit, bill, when);
    }
    doc_parts dp = split_doc(doc.p, doc.n);
    char text[128], repl[200], old[200];
    switch ((refusal_id)_i) {
    case R_ALREADY_SEALED: {
        fbt_bytes sealed = seal_ok(bureau, &doc, &o);
        free(doc.p);
        doc = sealed;
        break;
    }
    case R_AREA: o.area_code = "652301"; break;
    case R_SEAL_ID: o.seal_id = "652301"; break;
    case R_SEAL_NAME: o.seal_name = "乌鲁木齐市财政局票据监制章"; break;
    case R_UNTRUSTED:
        other = trust_of(fx("ca/root-sm2.pem"));
        o.trust = other;
        break;
    case R_EXPIRED_NOW: o.now = INT64_C(4102444800); break; /* 2100-01-01 */
    case R_UNIT_HASH_ALTERED: {
        size_t seal = find_from(doc.p, doc.n, 0, "<InvoicingPartySeal>");
        ck_assert(seal != SIZE_MAX);
        text_of(doc.p, seal, doc.n, "SealHash", text, sizeof text);
        ck_assert_uint_eq(strlen(text), 64);
        snprintf(old, sizeof old, "<SealHash>%s</SealHash>", text);
        snprintf(repl, sizeof repl, "<SealHash>%s</SealHash>", g_port2_hash);
        replace(&doc, seal, old, repl);
        break;
    }
    case R_SERIAL_ALTERED: {
        text_of(doc.p, dp.unit_off, doc.n, "SerialNumber", text, sizeof text);
        snprintf(old, sizeof old, "<SerialNumber>%s</SerialNumber>", text);
        size_t n = strlen(text);
        text[n - 1] = text[n - 1] == '1' ? '2' : '1';
        snprintf(repl, sizeof repl, "<SerialNumber>%s</SerialNumber>", text);
        replace(&doc, dp.unit_off, old, repl);
        break;
    }
    case R_SERIAL_MISSING: remove_element(&doc, dp.unit_off, "SerialNumber"); break;
    case R_FORMAT_ATTACH:
        replace(&doc, dp.unit_off, "<SignatureFormat>DETACH<", "<SignatureFormat>ATTACH<");
        break;
    case R_FORMAT_MISSING: remove_element(&doc, dp.unit_off, "SignatureFormat"); break;
    case R_ALGORITHM_ALTERED:
        replace(&doc, dp.unit_off, ">SHA256withECDSA<", ">SHA256withRSA<");
        break;
    case R_ALGORITHM_MISSING: remove_element(&doc, dp.unit_off, "SignatureAlgorithm"); break;
    case R_VALUE_NOT_BASE64:
        replace(&doc, dp.unit_off, "<SignatureValue>", "<SignatureValue>*not Base64*");
        break;
    case R_NO_ANCHORS:
        fb_trust_free(t);
        ck_assert(fb_trust_new(&t) == FB_OK);
        o.trust = t;
        break;
    case R_BAD_COVERAGE: o.coverage = (fb_seal_coverage)7; break;
    default: break;
    }
    seal_refused(bureau, &doc, &o, r->status, r->what, r->words);
    free(doc.p);
    fb_trust_free(other);
    fb_trust_free(t);
    fb_bill_free(bill);
    fb_port_close(unit);
    fb_port_close(bureau);
}
END_TEST

/* ======================================================================
 * Tampering with every element
 * ====================================================================== */

typedef struct mutation {
    size_t at, old_len;
    uint8_t repl[128];
    size_t repl_len;
    char what[96];
    bool in_fragment;
    char child[40]; /* for the unit node: which child */
} mutation;

/* One mutation per leaf element of [from, to): a character of its text
 * changed (a digit to the next digit, a letter to the next letter, a
 * multi-byte character to its neighbour), or an empty <X/> given text. The
 * XML stays well-formed. */
static size_t leaf_mutations(const uint8_t *d, size_t from, size_t to, bool fragment,
                             mutation *m, size_t n, size_t max)
{
    for (size_t i = from; i < to && n < max; i++) {
        if (d[i] != '<' || d[i + 1] == '/')
            continue;
        size_t j = i + 1;
        while (j < to && d[j] != '>' && d[j] != '/')
            j++;
        size_t name_len = j - i - 1;
        if (name_len == 0 || name_len >= 40)
            continue;
        char name[40];
        memcpy(name, d + i + 1, name_len);
        name[name_len] = '\0';
        mutation *x = &m[n];
        memset(x, 0, sizeof *x);
        x->in_fragment = fragment;
        if (!fragment)
            snprintf(x->child, sizeof x->child, "%s", name);
        if (d[j] == '/') { /* <Name/>: a leaf gets text, a container a child */
            static const char *const containers[][2] = {
                { "ItemExt", "<ItemDetailName>0</ItemDetailName>" },
                { "MainExt", "<Extra0>0</Extra0>" },
                { "Details", "<Item/>" },
                { "AuxDetails", "<AuxItem/>" },
            };
            const char *inner = "0";
            for (size_t k = 0; k < sizeof containers / sizeof containers[0]; k++)
                if (!strcmp(name, containers[k][0]))
                    inner = containers[k][1];
            x->at = i;
            x->old_len = name_len + 3;
            x->repl_len = (size_t)snprintf((char *)x->repl, sizeof x->repl, "<%s>%s</%s>", name,
                                           inner, name);
            ck_assert(x->repl_len < sizeof x->repl);
            snprintf(x->what, sizeof x->what, "empty <%s/> given a value", name);
            n++;
            continue;
        }
        size_t s = j + 1, e = s;
        while (e < to && d[e] != '<')
            e++;
        if (e == s || d[e + 1] != '/')
            continue; /* a container */
        bool entity = false;
        for (size_t k = s; k < e; k++)
            entity |= d[k] == '&';
        if (entity)
            continue;
        size_t mid = s + (e - s) / 2;
        while (mid > s && (d[mid] & 0xC0) == 0x80)
            mid--;
        uint8_t c = d[mid];
        x->at = mid;
        if (c < 0x80) {
            uint8_t r = c >= '0' && c <= '9'   ? (uint8_t)('0' + (c - '0' + 1) % 10)
                        : c >= 'a' && c <= 'z' ? (uint8_t)('a' + (c - 'a' + 1) % 26)
                        : c >= 'A' && c <= 'Z' ? (uint8_t)('A' + (c - 'A' + 1) % 26)
                                               : (uint8_t)'Q';
            x->old_len = x->repl_len = 1;
            x->repl[0] = r;
        } else {
            size_t l = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            x->old_len = x->repl_len = l;
            memcpy(x->repl, d + mid, l);
            x->repl[l - 1] ^= 0x01; /* a neighbouring character, still valid UTF-8 */
        }
        snprintf(x->what, sizeof x->what, "<%s> text changed at byte %zu", name, mid);
        n++;
    }
    return n;
}

static fbt_bytes apply(const fbt_bytes *doc, const mutation *m)
{
    size_t n = doc->n - m->old_len + m->repl_len;
    fbt_bytes b = { malloc(n + 1), n };
    ck_assert(b.p != NULL);
    memcpy(b.p, doc->p, m->at);
    memcpy(b.p + m->at, m->repl, m->repl_len);
    memcpy(b.p + m->at + m->repl_len, doc->p + m->at + m->old_len, doc->n - m->at - m->old_len);
    b.p[n] = '\0';
    return b;
}

START_TEST(tamper_everywhere)
{
    fb_port *unit = open_port(P_PORT1);
    fb_port *bureau = open_port(P_BUREAU);
    fb_bill *bill = golden_bill("medical-outpatient");
    fbt_bytes issued = issue(unit, bill, 0);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    fbt_bytes sealed = seal_ok(bureau, &issued, &o);
    const char *ca = fx("ca/root-ec.pem");
    doc_parts dp = split_doc(sealed.p, sealed.n);
    size_t unit_len, sup_len;
    uint8_t *unit_cms = node_cms(sealed.p, dp.unit_off, dp.unit_len, &unit_len);
    uint8_t *sup_cms = node_cms(sealed.p, dp.sup_off, dp.sup_len, &sup_len);

    /* The untouched document verifies: the failures below mean something. */
    fbt_bytes cov = covered(&sealed, FB_COVER_FRAGMENT_AND_UNIT);
    ck_assert(cms_verifies(unit_cms, unit_len, sealed.p + dp.frag_off, dp.frag_len, ca));
    ck_assert(cms_verifies(sup_cms, sup_len, cov.p, cov.n, ca));
    openssl_accepts(sup_cms, sup_len, cov.p, cov.n, ca, "untouched sealed document");
    free(cov.p);

    enum { MAX = 400 };
    mutation *m = calloc(MAX, sizeof *m);
    ck_assert(m != NULL);
    size_t n = leaf_mutations(sealed.p, dp.frag_off, dp.frag_off + dp.frag_len, true, m, 0, MAX);
    size_t n_frag = n;
    n = leaf_mutations(sealed.p, dp.unit_off + 1, dp.unit_off + dp.unit_len, false, m, n, MAX);
    ck_assert_msg(n_frag >= 40, "only %zu fragment elements to tamper with", n_frag);
    ck_assert_msg(n - n_frag == 5, "%zu unit node children, expected 5", n - n_frag);

    size_t by_command = 0;
    for (size_t i = 0; i < n; i++) {
        const mutation *x = &m[i];
        fbt_bytes bad = apply(&sealed, x);
        ptrdiff_t delta = (ptrdiff_t)x->repl_len - (ptrdiff_t)x->old_len;
        size_t frag_len = dp.frag_len + (x->in_fragment ? (size_t)delta : 0);
        size_t u_off = dp.unit_off + (x->in_fragment ? (size_t)delta : 0);
        size_t u_len = dp.unit_len + (x->in_fragment ? 0 : (size_t)delta);
        /* Still a well-formed document (the reader, not the bill rules). */
        fb_document *d = NULL;
        int rc = fb_document_parse(&d, bad.p, bad.n, NULL);
        ck_assert_msg(rc == FB_OK, "%s: the tampered document does not read: %s", x->what,
                      fb_last_error());
        fb_document_free(d);

        /* (b) The supervisor's signature breaks over fragment ‖ unit node. */
        size_t cn = frag_len + u_len;
        uint8_t *c = malloc(cn);
        ck_assert(c != NULL);
        memcpy(c, bad.p + dp.frag_off, frag_len);
        memcpy(c + frag_len, bad.p + u_off, u_len);
        ck_assert_msg(!cms_verifies(sup_cms, sup_len, c, cn, ca),
                      "%s: the supervisor signature still verifies", x->what);
        bool command = i == 0 || i == n_frag / 2 || i == n - 1;
        if (command) {
            openssl_refuses(sup_cms, sup_len, c, cn, ca, x->what);
            by_command++;
        }
        free(c);

        /* (a) A change in the fragment breaks the unit's signature, and the
         * bureau refuses the un-sealed document. */
        fbt_bytes bad_issued = apply(&issued, x);
        fb_buf out = FB_BUF_INIT;
        if (x->in_fragment) {
            ck_assert_msg(!cms_verifies(unit_cms, unit_len, bad.p + dp.frag_off, frag_len, ca),
                          "%s: the unit signature still verifies", x->what);
            if (command)
                openssl_refuses(unit_cms, unit_len, bad.p + dp.frag_off, frag_len, ca, x->what);
            rc = fb_seal(bureau, bad_issued.p, bad_issued.n, &o, &out);
            ck_assert_msg(rc != FB_OK, "%s: fb_seal sealed a tampered bill", x->what);
        } else if (strcmp(x->child, "SignatureTime")) {
            /* The unit node's SignatureFormat, SignatureAlgorithm,
             * SerialNumber and SignatureValue are checked (§5 step 3). */
            rc = fb_seal(bureau, bad_issued.p, bad_issued.n, &o, &out);
            ck_assert_msg(rc != FB_OK, "%s: fb_seal accepts the changed unit node", x->what);
        }
        ck_assert_uint_eq(out.size, 0);
        fb_buf_dispose(&out);
        free(bad_issued.p);
        free(bad.p);
    }
    ck_assert_uint_eq(by_command, 3);
    free(m);
    free(unit_cms);
    free(sup_cms);
    free(sealed.p);
    free(issued.p);
    fb_trust_free(t);
    fb_bill_free(bill);
    fb_port_close(bureau);
    fb_port_close(unit);
}
END_TEST

/* ======================================================================
 * Trust
 * ====================================================================== */

START_TEST(trust_anchors)
{
    fb_trust *t = NULL;
    ck_assert(fb_trust_new(&t) == FB_OK);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 0);
    ck_assert_int_eq(fb_trust_add_anchors(t, fx("ca/root-ec.pem")), FB_OK);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 1);
    /* A directory: root-ec.crt and root-sm2.pem; notes.txt and key.txt not
     * read. */
    ck_assert_int_eq(fb_trust_add_anchors(t, fx("x/roots")), FB_OK);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 3);
    fb_trust_free(t);

    ck_assert(fb_trust_new(&t) == FB_OK);
    ck_assert_int_eq(fb_trust_add_anchors(t, fx("x/roots")), FB_OK);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 2);
    /* No certificate in the file: FB_EFORMAT, naming the file. */
    int rc = fb_trust_add_anchors(t, fx("x/nocert.pem"));
    ck_assert_int_eq(rc, FB_EFORMAT);
    ck_assert_msg(strstr(fb_last_error(), "nocert.pem") != NULL, "%s", fb_last_error());
    rc = fb_trust_add_anchors(t, fx("keys/soft-ec.pem"));
    ck_assert_int_eq(rc, FB_EFORMAT);
    /* Missing: FB_EIO, naming the path. */
    rc = fb_trust_add_anchors(t, fx("x/no-such-file.pem"));
    ck_assert_int_eq(rc, FB_EIO);
    ck_assert_msg(strstr(fb_last_error(), "no-such-file.pem") != NULL, "%s", fb_last_error());
    /* A directory with no certificate. */
    rc = fb_trust_add_anchors(t, fx("x/roots-empty"));
    ck_assert_msg(rc != FB_OK, "an empty directory added anchors");
    ck_assert_uint_eq(fb_trust_anchor_count(t), 2);
    /* Intermediates are not anchors. */
    ck_assert_int_eq(fb_trust_add_intermediates(t, fx("x/inter.pem")), FB_OK);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 2);
    ck_assert_int_eq(fb_trust_add_intermediates(t, fx("x/nocert.pem")), FB_EFORMAT);
    ck_assert_int_eq(fb_trust_add_intermediates(t, fx("x/no-such-file.pem")), FB_EIO);
    ck_assert_int_eq(fb_trust_set_sm2_id(t, "ALICE123"), FB_OK);
    fb_trust_free(t);

    /* Anchors from the directory seal both an EC and an SM2 unit. */
    fb_port *bureau = open_port(P_BUREAU);
    fb_trust *dir = trust_of(fx("x/roots"));
    fb_seal_options o = seal_options(dir);
    fb_bill *bill = golden_bill("membership-fee");
    static const port_id units[] = { P_PORT1, P_SOFT_SM2 };
    for (size_t i = 0; i < 2; i++) {
        fb_port *u = open_port(units[i]);
        fbt_bytes issued = issue(u, bill, 0);
        fbt_bytes sealed = seal_ok(bureau, &issued, &o);
        free(sealed.p);
        free(issued.p);
        fb_port_close(u);
    }
    fb_bill_free(bill);
    fb_trust_free(dir);
    fb_port_close(bureau);
}
END_TEST

/* A path through an intermediate: refused without it, sealed with it. */
START_TEST(trust_intermediates)
{
    char cert[1200];
    snprintf(cert, sizeof cert, "%s", fx("x/under-inter.pem"));
    fb_port *unit = open_file("keys/soft-ec.pem", cert, NULL);
    fb_port *bureau = open_port(P_BUREAU);
    fb_bill *bill = golden_bill("donation");
    fbt_bytes issued = issue(unit, bill, 0);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    fb_seal_options o = seal_options(t);
    static const char *const words[] = { "trust", NULL };
    seal_refused(bureau, &issued, &o, FB_EINVALID, "no intermediate", words);
    ck_assert_int_eq(fb_trust_add_intermediates(t, fx("x/inter.pem")), FB_OK);
    fbt_bytes sealed = seal_ok(bureau, &issued, &o);
    free(sealed.p);
    /* The intermediate alone is no anchor. */
    fb_trust *only = NULL;
    ck_assert(fb_trust_new(&only) == FB_OK);
    ck_assert_int_eq(fb_trust_add_intermediates(only, fx("x/inter.pem")), FB_OK);
    ck_assert_int_eq(fb_trust_add_intermediates(only, fx("ca/root-ec.pem")), FB_OK);
    fb_seal_options oo = seal_options(only);
    static const char *const any[] = { "anchor", NULL };
    seal_refused(bureau, &issued, &oo, FB_EARG, "intermediates only", any);
    fb_trust_free(only);
    fb_trust_free(t);
    free(issued.p);
    fb_bill_free(bill);
    fb_port_close(bureau);
    fb_port_close(unit);
}
END_TEST

/* A CRL of the EC root, made by `openssl ca -gencrl`, revokes 0x2001. */
START_TEST(trust_crl)
{
    fb_port *bureau = open_port(P_BUREAU);
    fb_port *good = open_port(P_PORT1);
    char cert[1200];
    snprintf(cert, sizeof cert, "%s", fx("x/revoked.pem"));
    fb_port *revoked = open_file("keys/soft-ec.pem", cert, NULL);
    fb_bill *bill = golden_bill("medical-outpatient");
    fbt_bytes ok_doc = issue(good, bill, 0);
    fbt_bytes bad_doc = issue(revoked, bill, 0);
    static const char *const revoked_words[] = { "revoked", NULL };

    for (int k = 0; k < 2; k++) {
        fb_trust *t = trust_of(fx("ca/root-ec.pem"));
        fb_seal_options o = seal_options(t);
        /* Before the CRL, the revoked certificate is sealed. */
        if (k == 0) {
            fbt_bytes s = seal_ok(bureau, &bad_doc, &o);
            free(s.p);
        }
        int rc = fb_trust_add_crl(t, fx(k ? "x/crl.der" : "x/crl.pem"));
        ck_assert_msg(rc == FB_OK, "fb_trust_add_crl (%s): %s", k ? "DER" : "PEM",
                      fb_last_error());
        seal_refused(bureau, &bad_doc, &o, FB_EINVALID, "revoked unit certificate",
                     revoked_words);
        fbt_bytes s = seal_ok(bureau, &ok_doc, &o);
        free(s.p);
        fb_trust_free(t);
    }

    /* With a CRL, every certificate needs its issuer's: the SM2 root has
     * none. */
    fb_port *sm2 = open_port(P_SOFT_SM2);
    fbt_bytes sm2_doc = issue(sm2, bill, 0);
    fb_trust *t = trust_of(fx("ca/root-ec.pem"));
    ck_assert_int_eq(fb_trust_add_anchors(t, fx("ca/root-sm2.pem")), FB_OK);
    fb_seal_options o = seal_options(t);
    fbt_bytes s = seal_ok(bureau, &sm2_doc, &o);
    free(s.p);
    ck_assert_int_eq(fb_trust_add_crl(t, fx("x/crl.pem")), FB_OK);
    static const char *const crl_words[] = { "CRL", "revocation", NULL };
    seal_refused(bureau, &sm2_doc, &o, FB_EINVALID, "no CRL for the SM2 root", crl_words);
    fb_trust_free(t);

    /* Not CRLs. */
    ck_assert(fb_trust_new(&t) == FB_OK);
    ck_assert_int_eq(fb_trust_add_crl(t, fx("ca/root-ec.pem")), FB_EFORMAT);
    ck_assert_int_eq(fb_trust_add_crl(t, fx("x/nocert.pem")), FB_EFORMAT);
    ck_assert_int_eq(fb_trust_add_crl(t, fx("x/no-such.crl")), FB_EIO);
    ck_assert_msg(strstr(fb_last_error(), "no-such.crl") != NULL, "%s", fb_last_error());
    fb_trust_free(t);

    free(sm2_doc.p);
    free(ok_doc.p);
    free(bad_doc.p);
    fb_bill_free(bill);
    fb_port_close(sm2);
    fb_port_close(revoked);
    fb_port_close(good);
    fb_port_close(bureau);
}
END_TEST

/* The SM2 ID used for SM2 certificate signatures: the root signed the
 * leaves with the default one. */
START_TEST(trust_sm2_id)
{
    fb_port *bureau = open_port(P_BUREAU);
    fb_port *sm2 = open_port(P_SOFT_SM2);
    fb_bill *bill = golden_bill("membership-fee");
    fbt_bytes doc = issue(sm2, bill, 0);
    fb_trust *t = NULL;
    ck_assert(fb_trust_new(&t) == FB_OK);
    ck_assert_int_eq(fb_trust_set_sm2_id(t, "1234567812345677"), FB_OK);
    ck_assert_int_eq(fb_trust_add_anchors(t, fx("ca/root-sm2.pem")), FB_OK);
    fb_seal_options o = seal_options(t);
    static const char *const words[] = { "trust", NULL };
    seal_refused(bureau, &doc, &o, FB_EINVALID, "SM2 chain checked with another ID", words);
    fb_trust_free(t);
    ck_assert(fb_trust_new(&t) == FB_OK);
    ck_assert_int_eq(fb_trust_set_sm2_id(t, DEFAULT_ID), FB_OK);
    ck_assert_int_eq(fb_trust_add_anchors(t, fx("ca/root-sm2.pem")), FB_OK);
    o = seal_options(t);
    fbt_bytes s = seal_ok(bureau, &doc, &o);
    free(s.p);
    fb_trust_free(t);
    free(doc.p);
    fb_bill_free(bill);
    fb_port_close(sm2);
    fb_port_close(bureau);
}
END_TEST

/* ======================================================================
 * NULL arguments, coverage names
 * ====================================================================== */

static void earg(int rc, const char *call)
{
    ck_assert_msg(rc == FB_EARG, "%s returned %d, expected FB_EARG", call, rc);
    ck_assert_msg(strlen(fb_last_error()) > 0, "%s left no message", call);
}

/* Open a file: port on a key and self-signed certificate made by the
 * openssl command (-newkey NEWKEY, then EXTRA options) under the name
 * NAME. Returns fb_port_open's status. */
static int open_self_signed(const char *name, const char *newkey, const char *extra,
                            fb_port **p)
{
    char out[4096], cmd[6000], key[1200], cert[1200], uri[1300];
    snprintf(key, sizeof key, "%s", wpath(name));
    snprintf(cert, sizeof cert, "%s.crt", key);
    snprintf(cmd, sizeof cmd, "openssl req -x509 -newkey %s -nodes -keyout %s -out %s -days 30 "
             "-subj /CN=%s %s", newkey, key, cert, name, extra);
    ck_assert_msg(run_command(cmd, out, sizeof out) == 0, "%s", out);
    snprintf(uri, sizeof uri, "file:%s", key);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.cert_path = cert;
    *p = NULL;
    return fb_port_open(p, uri, &o);
}

/* RSA keys above 4096 bits are refused when the port opens: the CMS of
 * their signature, with the certificate, would not fit a SignatureValue,
 * and a bill signed with one could not be read back. */
START_TEST(rsa_key_too_large)
{
    fb_port *p;
    ck_assert_int_eq(open_self_signed("Too-Large-RSA", "rsa:4160", "", &p), FB_EUNSUPPORTED);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(fb_last_error(), "4160 bits") && strstr(fb_last_error(), "4096"), "%s",
                  fb_last_error());
}
END_TEST

/* A certificate so large that the CMS carrying it would not fit a
 * SignatureValue (4096 bytes): refused when issuing, not written as a bill
 * no reader would take. */
START_TEST(signature_value_too_long)
{
    char extra[4000], alt[3600] = "subjectAltName=";
    for (int i = 0; strlen(alt) + 40 < sizeof alt; i++)
        snprintf(alt + strlen(alt), sizeof alt - strlen(alt), "%sDNS:window-%03d.hospital.example",
                 i ? "," : "", i);
    snprintf(extra, sizeof extra, "-addext '%s' -addext "
             "'keyUsage=critical,digitalSignature,nonRepudiation'", alt);
    fb_port *p;
    ck_assert_int_eq(open_self_signed("Big-Certificate", "ec -pkeyopt ec_paramgen_curve:P-256",
                                      extra, &p), FB_OK);
    fb_bill *bill = golden_bill("donation");
    fbt_bytes pre;
    fb_buf doc = prefilled(&pre);
    int rc = fb_issue(p, bill, NULL, &doc, NULL);
    ck_assert_msg(rc == FB_ELIMIT, "status %d: %s", rc, fb_last_error());
    ck_assert_msg(strstr(fb_last_error(), "SignatureValue") && strstr(fb_last_error(), "4096"),
                  "%s", fb_last_error());
    unchanged(&doc, &pre, "fb_issue with a certificate too large");
    free(pre.p);
    fb_buf_dispose(&doc);
    fb_bill_free(bill);
    fb_port_close(p);
}
END_TEST

START_TEST(null_arguments)
{
    fb_port *p = open_port(P_PORT1);
    fb_port *bureau = open_port(P_BUREAU);
    fb_bill *bill = golden_bill("donation");
    fb_buf out = FB_BUF_INIT;
    fb_sign_options so = FB_SIGN_OPTIONS_INIT;
    fb_problems *pr = (fb_problems *)&so; /* must be reset to NULL */

    /* sign.h */
    earg(fb_cms_sign(NULL, "abc", 3, &so, &out), "fb_cms_sign(NULL port)");
    earg(fb_cms_sign(p, NULL, 3, &so, &out), "fb_cms_sign(NULL data, 3)");
    earg(fb_cms_sign(p, "abc", 3, &so, NULL), "fb_cms_sign(NULL out)");
    ck_assert_uint_eq(out.size, 0);
    ck_assert_int_eq(fb_cms_sign(p, "abc", 3, NULL, &out), FB_OK);
    ck_assert(cms_verifies(out.ptr, out.size, "abc", 3, fx("ca/root-ec.pem")));
    fb_buf_dispose(&out);

    /* issue.h */
    earg(fb_issue(NULL, bill, &so, &out, &pr), "fb_issue(NULL port)");
    ck_assert_ptr_null(pr);
    pr = (fb_problems *)&so;
    earg(fb_issue(p, NULL, &so, &out, &pr), "fb_issue(NULL bill)");
    ck_assert_ptr_null(pr);
    earg(fb_issue(p, bill, &so, NULL, &pr), "fb_issue(NULL out)");
    fb_problems_free(pr);
    pr = NULL;
    ck_assert_uint_eq(out.size, 0);
    ck_assert_int_eq(fb_issue(p, bill, NULL, &out, NULL), FB_OK);
    fbt_bytes issued = fbt_bytes_of(out.ptr, out.size);
    fb_buf_dispose(&out);
    fb_buf unsigned_doc = FB_BUF_INIT;
    ck_assert(fb_bill_write_document(bill, &unsigned_doc) == FB_OK);
    int rc = fb_issue_document(NULL, unsigned_doc.ptr, unsigned_doc.size, NULL, &out, &pr);
    ck_assert_msg(rc == FB_EARG, "fb_issue_document(NULL port): %d", rc);
    fb_problems_free(pr);
    pr = NULL;
    rc = fb_issue_document(p, NULL, 10, NULL, &out, &pr);
    ck_assert_msg(rc == FB_EARG, "fb_issue_document(NULL doc, 10): %d", rc);
    fb_problems_free(pr);
    pr = NULL;
    rc = fb_issue_document(p, NULL, 0, NULL, &out, &pr);
    ck_assert_msg(rc != FB_OK, "fb_issue_document(NULL doc, 0) succeeded");
    fb_problems_free(pr);
    pr = NULL;
    rc = fb_issue_document(p, unsigned_doc.ptr, unsigned_doc.size, NULL, NULL, &pr);
    ck_assert_msg(rc == FB_EARG, "fb_issue_document(NULL out): %d", rc);
    fb_problems_free(pr);
    pr = NULL;
    ck_assert_uint_eq(out.size, 0);
    ck_assert_int_eq(fb_issue_document(p, unsigned_doc.ptr, unsigned_doc.size, NULL, &out, NULL),
                     FB_OK);
    fb_buf_dispose(&out);

    /* trust.h */
    earg(fb_trust_new(NULL), "fb_trust_new(NULL)");
    fb_trust_free(NULL);
    fb_trust *t = NULL;
    ck_assert(fb_trust_new(&t) == FB_OK);
    earg(fb_trust_add_anchors(NULL, fx("ca/root-ec.pem")), "fb_trust_add_anchors(NULL)");
    earg(fb_trust_add_anchors(t, NULL), "fb_trust_add_anchors(t, NULL)");
    earg(fb_trust_add_intermediates(NULL, fx("ca/root-ec.pem")), "fb_trust_add_intermediates");
    earg(fb_trust_add_intermediates(t, NULL), "fb_trust_add_intermediates(t, NULL)");
    earg(fb_trust_add_crl(NULL, fx("x/crl.pem")), "fb_trust_add_crl(NULL)");
    earg(fb_trust_add_crl(t, NULL), "fb_trust_add_crl(t, NULL)");
    earg(fb_trust_set_sm2_id(NULL, DEFAULT_ID), "fb_trust_set_sm2_id(NULL)");
    earg(fb_trust_set_sm2_id(t, NULL), "fb_trust_set_sm2_id(t, NULL)");
    ck_assert_uint_eq(fb_trust_anchor_count(NULL), 0);
    ck_assert_uint_eq(fb_trust_anchor_count(t), 0);

    /* seal.h */
    fb_seal_options o = seal_options(t);
    earg(fb_seal(bureau, issued.p, issued.n, &o, &out), "fb_seal with no anchors");
    ck_assert(fb_trust_add_anchors(t, fx("ca/root-ec.pem")) == FB_OK);
    earg(fb_seal(NULL, issued.p, issued.n, &o, &out), "fb_seal(NULL port)");
    earg(fb_seal(bureau, NULL, issued.n, &o, &out), "fb_seal(NULL doc)");
    earg(fb_seal(bureau, NULL, 0, &o, &out), "fb_seal(NULL doc, 0)");
    earg(fb_seal(bureau, issued.p, issued.n, NULL, &out), "fb_seal(NULL options)");
    earg(fb_seal(bureau, issued.p, issued.n, &o, NULL), "fb_seal(NULL out)");
    fb_seal_options bad = o;
    bad.trust = NULL;
    earg(fb_seal(bureau, issued.p, issued.n, &bad, &out), "fb_seal(trust NULL)");
    bad = o;
    bad.seal_id = NULL;
    earg(fb_seal(bureau, issued.p, issued.n, &bad, &out), "fb_seal(seal_id NULL)");
    bad = o;
    bad.seal_name = NULL;
    earg(fb_seal(bureau, issued.p, issued.n, &bad, &out), "fb_seal(seal_name NULL)");
    ck_assert_uint_eq(out.size, 0);
    fbt_bytes sealed = seal_ok(bureau, &issued, &o);
    free(sealed.p);
    fb_seal_coverage c = FB_COVER_UNIT_NODE;
    earg(fb_seal_coverage_parse(NULL, &c), "fb_seal_coverage_parse(NULL)");
    earg(fb_seal_coverage_parse("fragment", NULL), "fb_seal_coverage_parse(name, NULL)");
    ck_assert_int_eq(c, FB_COVER_UNIT_NODE);
    ck_assert_ptr_nonnull(fb_seal_coverage_name((fb_seal_coverage)-1));
    ck_assert_ptr_nonnull(fb_seal_coverage_name((fb_seal_coverage)3));

    fb_trust_free(t);
    fb_buf_dispose(&unsigned_doc);
    free(issued.p);
    fb_bill_free(bill);
    fb_port_close(bureau);
    fb_port_close(p);
}
END_TEST

START_TEST(coverage_names)
{
    static const struct {
        fb_seal_coverage c;
        const char *name;
    } names[] = {
        { FB_COVER_FRAGMENT_AND_UNIT, "fragment+unit-node" },
        { FB_COVER_FRAGMENT, "fragment" },
        { FB_COVER_UNIT_NODE, "unit-node" },
    };
    for (size_t i = 0; i < 3; i++) {
        ck_assert_str_eq(fb_seal_coverage_name(names[i].c), names[i].name);
        fb_seal_coverage c = (fb_seal_coverage)99;
        ck_assert_int_eq(fb_seal_coverage_parse(names[i].name, &c), FB_OK);
        ck_assert_int_eq(c, names[i].c);
        ck_assert_int_eq(fb_seal_coverage_parse(fb_seal_coverage_name(names[i].c), &c), FB_OK);
        ck_assert_int_eq(c, names[i].c);
    }
    static const char *const bad[] = { "", "fragment+unit", "Fragment", "unit-node ",
                                       "fragment,unit-node", "all" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fb_seal_coverage c = FB_COVER_UNIT_NODE;
        ck_assert_msg(fb_seal_coverage_parse(bad[i], &c) == FB_EARG, "\"%s\" parsed", bad[i]);
        ck_assert_int_eq(c, FB_COVER_UNIT_NODE);
        ck_assert_msg(strstr(fb_last_error(), "fragment") != NULL,
                      "the refusal does not list the names: %s", fb_last_error());
    }
    /* The default of the options is the binding coverage. */
    fb_seal_options o = FB_SEAL_OPTIONS_INIT;
    ck_assert_int_eq(o.coverage, FB_COVER_FRAGMENT_AND_UNIT);
}
END_TEST

/* ====================================================================== */

Suite *fbt_suite(void)
{
    Suite *s = suite_create("sign");
    const char *names[] = { "cms", "issue", "seal", "tamper", "trust", "misc" };
    TCase *tc[6];
    for (size_t i = 0; i < 6; i++) {
        tc[i] = tcase_create(names[i]);
        tcase_add_unchecked_fixture(tc[i], setup, NULL);
        tcase_set_timeout(tc[i], 30);
        suite_add_tcase(s, tc[i]);
    }
    tcase_add_loop_test(tc[0], cms_sign_verify, 0, (int)N_CMS_PORTS);
    tcase_add_test(tc[0], cms_signing_time);
    tcase_add_loop_test(tc[0], cms_sign_sm2, 0, 4);
    tcase_add_test(tc[0], cms_sign_sm2_user_id);

    tcase_add_loop_test(tc[1], issue_golden, 0, (int)(2 * N_GOLDEN));
    tcase_add_test(tc[1], issue_signature_time);
    tcase_add_test(tc[1], issue_serial_number);
    tcase_add_test(tc[1], issue_invalid_bill);
    tcase_add_test(tc[1], issue_document);

    tcase_add_loop_test(tc[2], seal_coverage, 0, 3);
    tcase_add_test(tc[2], seal_any_area);
    tcase_add_loop_test(tc[2], seal_sm2_unit, 0, 2);
    tcase_add_loop_test(tc[2], seal_refusals, 0, R_COUNT);
    tcase_add_test(tc[2], seal_accepts_spec_serial);
    tcase_add_test(tc[2], seal_hand_assembled);
    tcase_add_test(tc[2], seal_trust_reused);
    tcase_add_loop_test(tc[2], seal_unit_algorithms, 0,
                        (int)(sizeof seal_units / sizeof seal_units[0]));
    tcase_add_test(tc[2], seal_sm2_bureau);
    tcase_add_test(tc[2], seal_keeps_other_bytes);

    tcase_add_test(tc[3], tamper_everywhere);

    tcase_add_test(tc[4], trust_anchors);
    tcase_add_test(tc[4], trust_intermediates);
    tcase_add_test(tc[4], trust_crl);
    tcase_add_test(tc[4], trust_sm2_id);

    tcase_add_test(tc[5], null_arguments);
    tcase_add_test(tc[5], rsa_key_too_large);
    tcase_add_test(tc[5], signature_value_too_long);
    tcase_add_test(tc[5], coverage_names);
    return s;
}
