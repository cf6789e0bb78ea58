/* Ports (include/fiscalbill/port.h, specs/ports.md) against real SoftHSMv2
 * tokens (tests/p11/fixture.sh) and key files: naming a port by URI, the
 * refusals (ambiguity, not found, slot-id, unknown attributes, PINs), the
 * signatures of every algorithm checked by two independent verifiers
 * (OpenSSL in-process and the openssl command), a cross-check of the token
 * keys with libp11 as a second PKCS#11 implementation sharing the module in
 * the same process, threads, module sharing, PIN callbacks and NULL
 * arguments. No message or description may ever hold the PIN. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libp11.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include "fbt.h"
#include "fbt_tokens.h"

/* libp11 0.4.12 leaks a little (its PIN copy, slot and key objects) even
 * when released as documented; those allocations are hidden from
 * LeakSanitizer so that leaks of fiscalbill itself still fail the tests. */
#if defined(__SANITIZE_ADDRESS__)
#define FBT_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FBT_LSAN 1
#endif
#endif
#ifdef FBT_LSAN
#include <sanitizer/lsan_interface.h>
#define LSAN_OFF() __lsan_disable()
#define LSAN_ON() __lsan_enable()
#else
#define LSAN_OFF() ((void)0)
#define LSAN_ON() ((void)0)
#endif

#define PIN "1234"
#define WRONG_PIN "97531"
#define PINQ "pin-value=" PIN
#define MB (1024 * 1024)

static const fbt_tokens *T;

/* Every token of the fixture, by its tokens.env name. */
static const char *const token_vars[] = { "port_1",  "port_2", "port_rsa", "bureau",  "nocert",
                                          "dup_a",   "dup_b",  "twokeys",  "port_sm2", NULL };

static const char *serial_of(const char *var)
{
    char name[64];
    snprintf(name, sizeof name, "TOKEN_%s_SERIAL", var);
    const char *s = fbt_token_var(name);
    ck_assert_msg(s != NULL && strlen(s) == 16, "tokens.env has no serial for %s", var);
    return s;
}

/* ---- the fixture, built before Check forks ---- */

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot write %s: %s", path, strerror(errno));
    ck_assert(fwrite(data, 1, len, f) == len);
    ck_assert(fclose(f) == 0);
}

static void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

static int run_command(const char *cmd, char *out, size_t out_size);

static void setup_tokens(void)
{
    static bool done;
    T = fbt_tokens_get();
    if (done)
        return;
    done = true;
    write_text(fbt_token_path("pin.txt"), PIN "\n");
    write_text(fbt_token_path("pin-nonl.txt"), PIN);
    write_text(fbt_token_path("pin-twonl.txt"), PIN "\n\n");
    write_text(fbt_token_path("pin-wrong.txt"), WRONG_PIN "\n");
    /* A certificate of the soft-ec key with a Chinese (UTF-8) subject. */
    char cmd[4096], out[4096];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -new -utf8 -key '%s' -sha256 -days 30 -set_serial 77 "
             "-subj '/C=CN/O=昌吉州人民医院/CN=张三' -out '%s'",
             fbt_token_path("keys/soft-ec.pem"), fbt_token_path("certs/soft-ec-utf8.pem"));
    ck_assert_msg(run_command(cmd, out, sizeof out) == 0, "%s failed: %s", cmd, out);
    /* Keys a port does not sign with, each with a self-signed certificate. */
    static const char *const weak[][2] = {
        { "rsa1024", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024" },
        { "p384", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384" },
        { "ed25519", "-algorithm ED25519" },
    };
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++) {
        char key[1100], cert[1100];
        snprintf(key, sizeof key, "%s/keys/%s.pem", T->dir, weak[i][0]);
        snprintf(cert, sizeof cert, "%s/certs/%s.pem", T->dir, weak[i][0]);
        snprintf(cmd, sizeof cmd, "openssl genpkey %s -out '%s' && openssl req -x509 -new "
                 "-key '%s' -days 30 -subj '/CN=Unsupported %s' -out '%s'", weak[i][1], key, key,
                 weak[i][0], cert);
        ck_assert_msg(run_command(cmd, out, sizeof out) == 0, "%s failed: %s", cmd, out);
    }
}

/* ---- helpers ---- */

/* A pkcs11: URI on the fixture's module: "pkcs11:PATH?module-path=M&QUERY".
 * Rotating buffers: the last 8 results stay valid. */
static const char *uri(const char *path, const char *query)
{
    static char bufs[8][2048];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "pkcs11:%s?module-path=%s%s%s", path, T->module,
             query && *query ? "&" : "", query ? query : "");
    return b;
}

static const char *file_uri(const char *rel)
{
    static char bufs[4][1200];
    static unsigned next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "file:%s", fbt_token_path(rel));
    return b;
}

static void blank(char *s, const char *what)
{
    size_t n = strlen(what);
    for (char *p; n && (p = strstr(s, what));)
        memset(p, '#', n);
}

/* No PIN in text. Serials, the fixture directory and the SM2 default ID
 * may hold "1234" by chance or by design, so they are blanked first. */
static void assert_no_pin(const char *text, const char *what)
{
    char buf[16384];
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    blank(buf, T->dir);
    blank(buf, FB_SM2_DEFAULT_ID);
    for (const char *const *v = token_vars; *v; v++)
        blank(buf, serial_of(*v));
    ck_assert_msg(strstr(buf, PIN) == NULL, "%s holds the PIN: %s", what, text);
    ck_assert_msg(strstr(buf, WRONG_PIN) == NULL, "%s holds the wrong PIN: %s", what, text);
}

static void assert_error_clean(void)
{
    assert_no_pin(fb_last_error(), "fb_last_error()");
}

static fb_port *open_ok(const char *u, const fb_port_options *o)
{
    fb_port *p = NULL;
    fb_clear_error();
    int rc = fb_port_open(&p, u, o);
    if (rc)
        assert_error_clean();
    ck_assert_msg(rc == FB_OK && p != NULL, "%s: status %d: %s", u, rc, fb_last_error());
    assert_no_pin(fb_port_describe(p), "fb_port_describe");
    return p;
}

/* Opening fails with want; the message holds every string of the
 * NULL-terminated list and no PIN. */
static void open_fails(const char *u, const fb_port_options *o, int want, ...)
{
    fb_port *p = NULL;
    fb_clear_error();
    int rc = fb_port_open(&p, u, o);
    const char *msg = fb_last_error();
    if (rc == FB_OK)
        fb_port_close(p);
    ck_assert_msg(rc == want, "%s: status %d (%s), expected %d (%s): %s", u, rc,
                  fb_status_str(rc), want, fb_status_str(want), rc ? msg : "(opened)");
    ck_assert_msg(msg[0] != '\0', "%s: no message", u);
    va_list ap;
    va_start(ap, want);
    for (const char *s; (s = va_arg(ap, const char *));)
        ck_assert_msg(strstr(msg, s) != NULL, "%s: message \"%s\" lacks \"%s\"", u, msg, s);
    va_end(ap);
    assert_error_clean();
}

static EVP_PKEY *cert_key(const uint8_t *der, size_t len)
{
    const unsigned char *q = der;
    X509 *x = d2i_X509(NULL, &q, (long)len);
    ck_assert_msg(x != NULL && q == der + len, "the certificate DER does not parse");
    EVP_PKEY *k = X509_get_pubkey(x);
    X509_free(x);
    ck_assert_ptr_nonnull(k);
    return k;
}

/* The public key of the port's certificate (a new reference). */
static EVP_PKEY *port_key(const fb_port *p)
{
    size_t len = 0;
    const uint8_t *der = fb_port_certificate(p, &len);
    ck_assert_msg(der != NULL && len > 0, "the port has no certificate");
    return cert_key(der, len);
}

static size_t sign_ok(fb_port *p, const void *msg, size_t len, uint8_t *sig, size_t room)
{
    size_t sig_len = room;
    fb_clear_error();
    int rc = fb_port_sign(p, msg, len, sig, &sig_len);
    if (rc)
        assert_error_clean();
    ck_assert_msg(rc == FB_OK, "%s: signing %zu bytes: status %d: %s", fb_port_describe(p), len,
                  rc, fb_last_error());
    ck_assert_msg(sig_len > 0 && sig_len <= room, "signature length %zu", sig_len);
    return sig_len;
}

typedef enum verdict { VERIFIED, REJECTED, SETUP_FAILED } verdict;

static const char *verdict_name(verdict v)
{
    return v == VERIFIED ? "verified" : v == REJECTED ? "rejected" : "setup failed";
}

/* Verify with OpenSSL in-process. sm2_id: the distinguishing ID for SM2
 * ("" means OpenSSL's own default, the empty ID). */
static verdict ossl_verify(EVP_PKEY *pub, fb_sig_alg alg, const char *sm2_id, const void *msg,
                           size_t len, const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *own = NULL, *pctx = NULL;
    bool sm2 = alg == FB_SIG_SM2_SM3;
    int ok = md != NULL;
    if (ok && sm2) {
        own = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL);
        ok = own != NULL;
        if (ok && sm2_id && *sm2_id)
            ok = EVP_PKEY_CTX_set1_id(own, sm2_id, strlen(sm2_id)) > 0;
        if (ok)
            EVP_MD_CTX_set_pkey_ctx(md, own);
    }
    ok = ok && EVP_DigestVerifyInit(md, &pctx, sm2 ? EVP_sm3() : EVP_sha256(), NULL, pub) == 1;
    if (ok && alg == FB_SIG_RSA_SHA256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    if (ok && alg == FB_SIG_RSA_PSS_SHA256)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0;
    verdict v = SETUP_FAILED;
    if (ok)
        v = EVP_DigestVerify(md, sig, sig_len, len ? msg : (const void *)"", len) == 1
                ? VERIFIED : REJECTED;
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(own);
    ERR_clear_error();
    return v;
}

static void expect_verdict(verdict want, EVP_PKEY *pub, fb_sig_alg alg, const char *sm2_id,
                           const void *msg, size_t len, const uint8_t *sig, size_t sig_len,
                           const char *what)
{
    verdict v = ossl_verify(pub, alg, sm2_id, msg, len, sig, sig_len);
    ck_assert_msg(v == want, "%s (%s, %zu-byte message, %zu-byte signature): OpenSSL says %s, "
                  "expected %s", what, fb_sig_alg_name(alg), len, sig_len, verdict_name(v),
                  verdict_name(want));
}

/* Run a shell command; its output (stdout and stderr) goes to out. */
static int run_command(const char *cmd, char *out, size_t out_size)
{
    return fbt_run_command(T->dir, cmd, out, out_size);
}

/* Verify with the openssl command: 0 when it says the signature verifies. */
static int cli_verify(EVP_PKEY *pub, fb_sig_alg alg, const char *sm2_id, const void *msg,
                      size_t len, const uint8_t *sig, size_t sig_len, char *out, size_t out_size)
{
    static unsigned seq;
    char base[1100], m[1200], s[1200], k[1200], cmd[6000];
    snprintf(base, sizeof base, "%s/cli-%ld-%u", T->dir, (long)getpid(), seq++);
    snprintf(m, sizeof m, "%s.msg", base);
    snprintf(s, sizeof s, "%s.sig", base);
    snprintf(k, sizeof k, "%s.pub.pem", base);
    write_file(m, len ? msg : "", len);
    write_file(s, sig, sig_len);
    FILE *f = fopen(k, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert(PEM_write_PUBKEY(f, pub) == 1);
    fclose(f);
    if (alg == FB_SIG_SM2_SM3)
        snprintf(cmd, sizeof cmd, "openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt "
                 "distid:%s -pubin -inkey '%s' -in '%s' -sigfile '%s'", sm2_id, k, m, s);
    else
        snprintf(cmd, sizeof cmd, "openssl dgst -sha256 -verify '%s' -signature '%s'%s '%s'", k, s,
                 alg == FB_SIG_RSA_PSS_SHA256
                     ? " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32" : "", m);
    int rc = run_command(cmd, out, out_size);
    const char *said = alg == FB_SIG_SM2_SM3 ? "Signature Verified Successfully" : "Verified OK";
    if (rc == 0 && !strstr(out, said))
        rc = 99;
    unlink(m);
    unlink(s);
    unlink(k);
    return rc;
}

static bool is_ec_der(const uint8_t *sig, size_t len)
{
    const unsigned char *q = sig;
    ECDSA_SIG *e = d2i_ECDSA_SIG(NULL, &q, (long)len);
    bool ok = e != NULL && q == sig + len && sig[0] == 0x30;
    if (ok) {
        /* DER is canonical: re-encoding gives the same bytes. */
        unsigned char *again = NULL;
        int n = i2d_ECDSA_SIG(e, &again);
        ok = n == (int)len && memcmp(again, sig, len) == 0;
        OPENSSL_free(again);
    }
    ECDSA_SIG_free(e);
    return ok;
}

static uint8_t *big_message(size_t n)
{
    uint8_t *m = malloc(n);
    ck_assert_ptr_nonnull(m);
    for (size_t i = 0; i < n; i++)
        m[i] = (uint8_t)(i * 131 + (i >> 9));
    return m;
}

/* ---- opening by URI ---- */

START_TEST(open_by_label_and_id)
{
    const char *serial = serial_of("port_1");
    fb_port *p = open_ok(uri("token=port-1;id=%01", PINQ), NULL);
    const char *d = fb_port_describe(p);
    ck_assert_msg(strstr(d, "port-1") && strstr(d, serial), "describe: %s", d);
    ck_assert_msg(strstr(d, "ecdsa") != NULL, "describe names no profile: %s", d);
    ck_assert_str_eq(fb_port_profile(p), "ecdsa");
    ck_assert_int_eq(fb_port_algorithm(p), FB_SIG_ECDSA_SHA256);
    ck_assert_ptr_null(fb_port_sm2_id(p));
    ck_assert_msg(strstr(fb_port_subject(p), "CN=Port 1 Operator") != NULL, "subject: %s",
                  fb_port_subject(p));
    ck_assert_msg(strstr(fb_port_subject(p), "O=Changji People's Hospital") != NULL,
                  "subject: %s", fb_port_subject(p));
    /* The certificate is the token's object, byte for byte. */
    uint8_t *want;
    size_t want_len, len = 0;
    X509 *x = NULL;
    FILE *f = fopen(fbt_token_path("certs/port-1.pem"), "r");
    ck_assert_ptr_nonnull(f);
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    ck_assert_ptr_nonnull(x);
    want = NULL;
    want_len = (size_t)i2d_X509(x, &want);
    const uint8_t *der = fb_port_certificate(p, &len);
    ck_assert_msg(len == want_len && memcmp(der, want, len) == 0,
                  "fb_port_certificate is not certs/port-1.pem");
    OPENSSL_free(want);
    X509_free(x);
    fb_port_close(p);

    /* type=private is the only type accepted; the PIN may be
     * percent-encoded. */
    p = open_ok(uri("token=port-1;id=%01;type=private", "pin-value=%31%32%33%34"), NULL);
    ck_assert_msg(strstr(fb_port_subject(p), "Port 1 Operator"), "%s", fb_port_subject(p));
    fb_port_close(p);
}
END_TEST

START_TEST(open_by_pin_source)
{
    char q[1200];
    snprintf(q, sizeof q, "pin-source=file:%s", fbt_token_path("pin.txt"));
    fb_port *p = open_ok(uri("token=port-2;id=%01", q), NULL);
    ck_assert_msg(strstr(fb_port_subject(p), "Port 2 Operator"), "%s", fb_port_subject(p));
    ck_assert_msg(strstr(fb_port_describe(p), serial_of("port_2")), "%s", fb_port_describe(p));
    uint8_t sig[1024];
    sign_ok(p, "x", 1, sig, sizeof sig);
    fb_port_close(p);

    /* A file without the trailing newline is the same PIN. */
    snprintf(q, sizeof q, "pin-source=file:%s", fbt_token_path("pin-nonl.txt"));
    p = open_ok(uri("token=port-2;id=%01", q), NULL);
    fb_port_close(p);

    /* Only one trailing newline is removed: "1234\n" is not the PIN. */
    snprintf(q, sizeof q, "pin-source=file:%s", fbt_token_path("pin-twonl.txt"));
    open_fails(uri("token=port-2;id=%01", q), NULL, FB_EPIN, "port-2", NULL);

    /* A PIN file that is not there. */
    snprintf(q, sizeof q, "pin-source=file:%s", fbt_token_path("no-such.pin"));
    fb_port *none = NULL;
    int rc = fb_port_open(&none, uri("token=port-2;id=%01", q), NULL);
    ck_assert_msg(rc != FB_OK, "opened with a PIN file that does not exist");
    ck_assert_msg(strstr(fb_last_error(), "no-such.pin"), "%s", fb_last_error());
    assert_error_clean();
}
END_TEST

START_TEST(open_by_serial_only)
{
    const char *serial = serial_of("bureau");
    char path[64];
    snprintf(path, sizeof path, "serial=%s", serial);
    fb_port *p = open_ok(uri(path, PINQ), NULL);
    ck_assert_msg(strstr(fb_port_subject(p), "CN=Finance Bureau Signer"), "%s",
                  fb_port_subject(p));
    ck_assert_msg(strstr(fb_port_describe(p), "bureau") && strstr(fb_port_describe(p), serial),
                  "%s", fb_port_describe(p));
    fb_port_close(p);

    /* The serial tells the two tokens labelled "dup" apart. */
    snprintf(path, sizeof path, "token=dup;serial=%s", serial_of("dup_b"));
    p = open_ok(uri(path, PINQ), NULL);
    ck_assert_msg(strstr(fb_port_subject(p), "Dup B Operator"), "%s", fb_port_subject(p));
    ck_assert_msg(strstr(fb_port_describe(p), serial_of("dup_b")), "%s", fb_port_describe(p));
    fb_port_close(p);

    /* manufacturer, model and the library attributes narrow, never widen. */
    p = open_ok(uri("token=port-1;manufacturer=SoftHSM%20project;model=SoftHSM%20v2;"
                    "library-manufacturer=SoftHSM", PINQ), NULL);
    fb_port_close(p);
    open_fails(uri("token=port-1;library-manufacturer=Nobody", PINQ), NULL, FB_ENOTFOUND, NULL);
    open_fails(uri("token=port-1;model=Other", PINQ), NULL, FB_ENOTFOUND, NULL);
}
END_TEST

START_TEST(open_by_object_label)
{
    fb_port *p = open_ok(uri("token=twokeys;object=key-b", PINQ), NULL);
    ck_assert_msg(strstr(fb_port_subject(p), "CN=TwoKeys B Operator"), "%s", fb_port_subject(p));
    ck_assert_msg(strstr(fb_port_describe(p), "twokeys") && strstr(fb_port_describe(p), "02"),
                  "%s", fb_port_describe(p));
    uint8_t sig[1024];
    size_t n = sign_ok(p, "b", 1, sig, sizeof sig);
    EVP_PKEY *k = port_key(p);
    expect_verdict(VERIFIED, k, FB_SIG_ECDSA_SHA256, NULL, "b", 1, sig, n, "key-b");
    EVP_PKEY_free(k);
    fb_port_close(p);

    p = open_ok(uri("token=twokeys;id=%01", PINQ), NULL);
    ck_assert_msg(strstr(fb_port_subject(p), "CN=TwoKeys A Operator"), "%s", fb_port_subject(p));
    fb_port_close(p);
    p = open_ok(uri("token=twokeys;id=%02;object=key-b", PINQ), NULL);
    ck_assert_msg(strstr(fb_port_subject(p), "CN=TwoKeys B Operator"), "%s", fb_port_subject(p));
    fb_port_close(p);

    /* id and object must both match. */
    open_fails(uri("token=twokeys;id=%01;object=key-b", PINQ), NULL, FB_ENOTFOUND, "twokeys",
               NULL);
    open_fails(uri("token=port-1;object=no-such-key", PINQ), NULL, FB_ENOTFOUND, NULL);
    /* CKA_ID is bytes: "1" is 0x31, not 0x01. */
    open_fails(uri("token=port-1;id=1", PINQ), NULL, FB_ENOTFOUND, NULL);
}
END_TEST

/* ---- refusals ---- */

START_TEST(refuse_ambiguous)
{
    open_fails(uri("token=dup", PINQ), NULL, FB_EAMBIGUOUS, "dup", serial_of("dup_a"),
               serial_of("dup_b"), NULL);
    open_fails(uri("token=twokeys", PINQ), NULL, FB_EAMBIGUOUS, "key-a", "key-b", "01", "02",
               NULL);
    /* object= alone names a key but no token: every token matches. */
    open_fails(uri("object=key-b", PINQ), NULL, FB_EAMBIGUOUS, serial_of("port_1"),
               serial_of("twokeys"), NULL);
}
END_TEST

START_TEST(refuse_not_found)
{
    open_fails(uri("token=none", PINQ), NULL, FB_ENOTFOUND, "none", "port-1", "port-rsa",
               "bureau", "twokeys", serial_of("port_1"), serial_of("dup_b"), NULL);
    open_fails(uri("serial=0000000000000000", PINQ), NULL, FB_ENOTFOUND, "port-2", NULL);
    /* Without a PIN a token hides its private keys, and the message says so. */
    open_fails(uri("token=port-1;id=%01", NULL), NULL, FB_ENOTFOUND, "PIN", "hidden", NULL);
    /* A module that is not there. */
    open_fails("pkcs11:token=port-1?module-path=/nonexistent/libnone.so&" PINQ, NULL, FB_ETOKEN,
               "/nonexistent/libnone.so", NULL);
}
END_TEST

START_TEST(refuse_bad_uris)
{
    open_fails(uri("token=port-1;slot-id=0", PINQ), NULL, FB_EARG, "slot", NULL);
    open_fails(uri("slot-description=SoftHSM", PINQ), NULL, FB_EARG, "slot", NULL);
    open_fails(uri("token=port-1;slot-manufacturer=SoftHSM", PINQ), NULL, FB_EARG, "slot", NULL);
    open_fails(uri("token=port-1;colour=blue", PINQ), NULL, FB_EARG, "colour", NULL);
    open_fails(uri("token=port-1", PINQ "&colour=blue"), NULL, FB_EARG, "colour", NULL);
    open_fails(uri("token=port-1;id=%01;type=cert", PINQ), NULL, FB_EARG, "private", NULL);
    open_fails(uri("token=port-1;type=public", PINQ), NULL, FB_EARG, NULL);
    open_fails(uri("token=port-1;type=secret-key", PINQ), NULL, FB_EARG, NULL);
    open_fails(uri("token=port-1;type=bogus", PINQ), NULL, FB_EARG, NULL);
    open_fails(uri("token=port-1;token=port-2", PINQ), NULL, FB_EARG, "token", NULL);
    char q[1200];
    snprintf(q, sizeof q, PINQ "&pin-source=file:%s", fbt_token_path("pin.txt"));
    open_fails(uri("token=port-1", q), NULL, FB_EARG, "pin-source", "pin-value", NULL);
    open_fails(uri("token=port-1", PINQ "&" PINQ), NULL, FB_EARG, "pin-value", NULL);
    /* Bad percent-encoding, wherever it is. */
    open_fails(uri("token=port%2", PINQ), NULL, FB_EARG, "percent", NULL);
    open_fails(uri("token=port-1;id=%zz", PINQ), NULL, FB_EARG, "id", NULL);
    open_fails(uri("token=port-1;id=%", PINQ), NULL, FB_EARG, "id", NULL);
    open_fails(uri("token=port-1;id=%0", PINQ), NULL, FB_EARG, "id", NULL);
    open_fails(uri("token=port-1", "pin-value=" PIN "%g1"), NULL, FB_EARG, "pin-value", NULL);
    open_fails(uri("token=port-1", "pin-value=%00" PIN), NULL, FB_EARG, "pin-value", NULL);
    /* A PIN in the path (where it does not belong) is refused, not echoed. */
    open_fails(uri("token=port-1;pin-value=" PIN, NULL), NULL, FB_EARG, NULL);
    open_fails(uri("token=port-1;novalue", PINQ), NULL, FB_EARG, NULL);
    /* Not a port URI at all. */
    open_fails("", NULL, FB_EARG, NULL);
    open_fails("https://example.org/key", NULL, FB_EARG, NULL);
    open_fails("/tmp/key.pem", NULL, FB_EARG, NULL);
}
END_TEST

/* Its own test: under ASan a leak here must not hide the other refusals. */
START_TEST(refuse_repeated_id)
{
    open_fails(uri("token=port-1;id=%01;id=%02", PINQ), NULL, FB_EARG, "id", "twice", NULL);
}
END_TEST

START_TEST(nocert_needs_cert_path)
{
    /* No certificate object and no cert_path: refused, and the message
     * says the certificate is what is missing. */
    fb_port *probe = NULL;
    int rc = fb_port_open(&probe, uri("token=nocert;id=%01", PINQ), NULL);
    ck_assert_msg(rc != FB_OK, "nocert opened without a certificate");
    ck_assert_msg(strstr(fb_last_error(), "certificate") && strstr(fb_last_error(), "nocert"),
                  "status %d: %s", rc, fb_last_error());
    assert_error_clean();

    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.cert_path = fbt_token_path("certs/nocert.pem");
    fb_port *p = open_ok(uri("token=nocert;id=%01", PINQ), &o);
    ck_assert_msg(strstr(fb_port_subject(p), "CN=Port NoCert Operator"), "%s",
                  fb_port_subject(p));
    ck_assert_str_eq(fb_port_profile(p), "ecdsa");
    uint8_t sig[1024];
    size_t n = sign_ok(p, "nocert", 6, sig, sizeof sig);
    EVP_PKEY *k = port_key(p);
    expect_verdict(VERIFIED, k, FB_SIG_ECDSA_SHA256, NULL, "nocert", 6, sig, n, "nocert");
    EVP_PKEY_free(k);
    fb_port_close(p);

    /* A certificate of another key: no signature ever leaves the port
     * (refused at open, or by sign-then-verify). */
    o.cert_path = fbt_token_path("certs/port-1.pem");
    p = NULL;
    rc = fb_port_open(&p, uri("token=nocert;id=%01", PINQ), &o);
    if (rc == FB_OK) {
        size_t len = sizeof sig;
        rc = fb_port_sign(p, "nocert", 6, sig, &len);
        ck_assert_msg(rc == FB_ECRYPTO, "a signature by the wrong key: status %d: %s", rc,
                      fb_last_error());
        ck_assert_msg(strstr(fb_last_error(), "verify"), "%s", fb_last_error());
        fb_port_close(p);
    } else {
        ck_assert_msg(rc == FB_ECRYPTO, "status %d: %s", rc, fb_last_error());
    }
    assert_error_clean();

    /* A certificate file that is missing or is not a certificate. */
    o.cert_path = fbt_token_path("certs/none.pem");
    p = NULL;
    rc = fb_port_open(&p, uri("token=nocert;id=%01", PINQ), &o);
    ck_assert_msg(rc != FB_OK && strstr(fb_last_error(), "none.pem"), "status %d: %s", rc,
                  fb_last_error());
    o.cert_path = fbt_token_path("pin.txt");
    rc = fb_port_open(&p, uri("token=nocert;id=%01", PINQ), &o);
    ck_assert_msg(rc == FB_EFORMAT, "status %d: %s", rc, fb_last_error());
    assert_error_clean();
}
END_TEST

/* SoftHSM offers only CKM_ECDSA for the SM2-curve key: that is not SM2. */
START_TEST(sm2_token_without_vendor_mechanism)
{
    open_fails(uri("token=port-sm2;id=%01", PINQ), NULL, FB_EUNSUPPORTED,
               "plain ECDSA on the SM2 curve is not SM2", "port-sm2", NULL);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.profile = "ecdsa";
    open_fails(uri("token=port-sm2;id=%01", PINQ), &o, FB_EUNSUPPORTED, "not SM2", NULL);
    o.profile = "sm2-tass";
    open_fails(uri("token=port-sm2;id=%01", PINQ), &o, FB_EUNSUPPORTED, "sm2-tass", NULL);
    o.profile = "sm2-custom"; /* without its numbers */
    open_fails(uri("token=port-sm2;id=%01", PINQ), &o, FB_EARG, "sm2-custom", NULL);
    o.profile = "no-such-profile";
    open_fails(uri("token=port-1;id=%01", PINQ), &o, FB_EARG, "no-such-profile", NULL);
    o.profile = "ecdsa";
    open_fails(uri("token=port-rsa;id=%01", PINQ), &o, FB_EUNSUPPORTED, NULL);
    /* A message for people: no empty clause (": :"). */
    fb_port *p = NULL;
    int rc = fb_port_open(&p, uri("token=port-sm2;id=%01", PINQ), NULL);
    ck_assert_int_eq(rc, FB_EUNSUPPORTED);
    ck_assert_msg(strstr(fb_last_error(), ": :") == NULL, "empty clause in \"%s\"",
                  fb_last_error());
}
END_TEST

/* ---- signatures of every kind of port ---- */

typedef struct sign_case {
    const char *name;
    const char *token_path; /* pkcs11: path; NULL for a file: port */
    const char *key_file;
    const char *cert_file;
    int pss;
    fb_sig_alg alg;
    const char *profile;
    const char *cn;
} sign_case;

static const sign_case sign_cases[] = {
    { "token EC", "token=port-1;id=%01", NULL, NULL, 0, FB_SIG_ECDSA_SHA256, "ecdsa",
      "CN=Port 1 Operator" },
    { "token RSA", "token=port-rsa;id=%01", NULL, NULL, 0, FB_SIG_RSA_SHA256, "rsa-pkcs",
      "CN=Port RSA Operator" },
    { "token RSA-PSS", "token=port-rsa;id=%01", NULL, NULL, 1, FB_SIG_RSA_PSS_SHA256, "rsa-pss",
      "CN=Port RSA Operator" },
    { "file EC", NULL, "keys/soft-ec.pem", "certs/soft-ec.pem", 0, FB_SIG_ECDSA_SHA256,
      "software", "CN=Soft EC Operator" },
    { "file RSA", NULL, "keys/soft-rsa.pem", "certs/soft-rsa.pem", 0, FB_SIG_RSA_SHA256,
      "software", "CN=Soft RSA Operator" },
    { "file RSA-PSS", NULL, "keys/soft-rsa.pem", "certs/soft-rsa.pem", 1, FB_SIG_RSA_PSS_SHA256,
      "software", "CN=Soft RSA Operator" },
    { "file SM2", NULL, "keys/soft-sm2.pem", "certs/soft-sm2.pem", 0, FB_SIG_SM2_SM3,
      "software", "CN=Soft SM2 Operator" },
};
#define N_SIGN_CASES ((int)(sizeof sign_cases / sizeof sign_cases[0]))

static fb_port *open_case(const sign_case *c, const char *sm2_id)
{
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.rsa_pss = c->pss;
    o.sm2_id = sm2_id;
    if (c->cert_file)
        o.cert_path = fbt_token_path(c->cert_file);
    return open_ok(c->token_path ? uri(c->token_path, PINQ) : file_uri(c->key_file), &o);
}

static bool is_rsa(fb_sig_alg alg)
{
    return alg == FB_SIG_RSA_SHA256 || alg == FB_SIG_RSA_PSS_SHA256;
}

START_TEST(sign_and_verify)
{
    const sign_case *c = &sign_cases[_i];
    fb_port *p = open_case(c, NULL);
    ck_assert_msg(fb_port_algorithm(p) == c->alg, "%s: algorithm %s", c->name,
                  fb_sig_alg_name(fb_port_algorithm(p)));
    ck_assert_str_eq(fb_port_profile(p), c->profile);
    ck_assert_msg(strstr(fb_port_subject(p), c->cn), "%s: subject %s", c->name,
                  fb_port_subject(p));
    if (c->alg == FB_SIG_SM2_SM3)
        ck_assert_msg(fb_port_sm2_id(p) && !strcmp(fb_port_sm2_id(p), FB_SM2_DEFAULT_ID),
                      "%s: SM2 ID %s", c->name, fb_port_sm2_id(p) ? fb_port_sm2_id(p) : "NULL");
    else
        ck_assert_ptr_null(fb_port_sm2_id(p));
    size_t max = fb_port_signature_max(p);
    if (is_rsa(c->alg))
        ck_assert_uint_eq(max, 256);
    else
        ck_assert_msg(max >= 72 && max <= 1024, "%s: signature_max %zu", c->name, max);

    EVP_PKEY *pub = port_key(p);
    uint8_t *big = big_message(MB);
    static const char medium[] = "fiscalbill 财政电子票据 0001";
    const struct { const void *p; size_t n; } msgs[] = {
        { "", 0 }, { "A", 1 }, { medium, sizeof medium - 1 }, { big, MB },
    };
    uint8_t sig[1024], other[1024];
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        size_t n = sign_ok(p, msgs[i].p, msgs[i].n, sig, sizeof sig);
        ck_assert_msg(n <= max, "%s: %zu-byte signature, max %zu", c->name, n, max);
        if (is_rsa(c->alg))
            ck_assert_uint_eq(n, 256);
        else
            ck_assert_msg(is_ec_der(sig, n), "%s: not a DER SEQUENCE { r, s }", c->name);
        expect_verdict(VERIFIED, pub, c->alg, FB_SM2_DEFAULT_ID, msgs[i].p, msgs[i].n, sig, n,
                       c->name);
        /* The verifier is not a rubber stamp. */
        uint8_t *tampered = malloc(msgs[i].n + 1);
        ck_assert_ptr_nonnull(tampered);
        memcpy(tampered, msgs[i].n ? msgs[i].p : "", msgs[i].n);
        size_t tn = msgs[i].n;
        if (tn)
            tampered[tn / 2] ^= 0x01;
        else
            tampered[tn++] = 'A';
        expect_verdict(REJECTED, pub, c->alg, FB_SM2_DEFAULT_ID, tampered, tn, sig, n,
                       "tampered message");
        free(tampered);
        memcpy(other, sig, n);
        other[n - 1] ^= 0x01;
        expect_verdict(REJECTED, pub, c->alg, FB_SM2_DEFAULT_ID, msgs[i].p, msgs[i].n, other, n,
                       "tampered signature");
        /* The padding is the one the port names. */
        if (c->alg == FB_SIG_RSA_SHA256)
            expect_verdict(REJECTED, pub, FB_SIG_RSA_PSS_SHA256, NULL, msgs[i].p, msgs[i].n, sig,
                           n, "PKCS#1 v1.5 signature checked as PSS");
        if (c->alg == FB_SIG_RSA_PSS_SHA256)
            expect_verdict(REJECTED, pub, FB_SIG_RSA_SHA256, NULL, msgs[i].p, msgs[i].n, sig, n,
                           "PSS signature checked as PKCS#1 v1.5");
        /* SM2: the distinguishing ID is part of what is signed. */
        if (c->alg == FB_SIG_SM2_SM3) {
            expect_verdict(REJECTED, pub, c->alg, "", msgs[i].p, msgs[i].n, sig, n,
                           "SM2 signature checked with the empty ID");
            expect_verdict(REJECTED, pub, c->alg, "ALICE123", msgs[i].p, msgs[i].n, sig, n,
                           "SM2 signature checked with ID ALICE123");
        }
    }
    /* PKCS#1 v1.5 is deterministic; ECDSA, SM2 and PSS are not. */
    size_t n1 = sign_ok(p, medium, sizeof medium - 1, sig, sizeof sig);
    size_t n2 = sign_ok(p, medium, sizeof medium - 1, other, sizeof other);
    bool same = n1 == n2 && memcmp(sig, other, n1) == 0;
    ck_assert_msg(same == (c->alg == FB_SIG_RSA_SHA256), "%s: two signatures of one message "
                  "are %s", c->name, same ? "equal" : "different");

    /* The openssl command agrees, and refuses a tampered message. */
    char out[4096];
    static const char cli_msg[] = "fiscalbill: verified by the openssl command";
    size_t n = sign_ok(p, cli_msg, sizeof cli_msg - 1, sig, sizeof sig);
    int rc = cli_verify(pub, c->alg, FB_SM2_DEFAULT_ID, cli_msg, sizeof cli_msg - 1, sig, n, out,
                        sizeof out);
    ck_assert_msg(rc == 0, "%s: openssl does not verify the signature (exit %d): %s", c->name, rc,
                  out);
    rc = cli_verify(pub, c->alg, FB_SM2_DEFAULT_ID, "Fiscalbill", 10, sig, n, out, sizeof out);
    ck_assert_msg(rc != 0, "%s: openssl verified a signature of another message: %s", c->name,
                  out);
    if (c->alg == FB_SIG_SM2_SM3) {
        rc = cli_verify(pub, c->alg, "ALICE123", cli_msg, sizeof cli_msg - 1, sig, n, out,
                        sizeof out);
        ck_assert_msg(rc != 0, "openssl verified an SM2 signature with ID ALICE123: %s", out);
    }
    /* The empty message through the command too. */
    n = sign_ok(p, "", 0, sig, sizeof sig);
    rc = cli_verify(pub, c->alg, FB_SM2_DEFAULT_ID, "", 0, sig, n, out, sizeof out);
    ck_assert_msg(rc == 0, "%s: openssl does not verify the empty message (exit %d): %s",
                  c->name, rc, out);

    /* A buffer too small: FB_EARG and the size needed. */
    size_t small = 8;
    fb_clear_error();
    rc = fb_port_sign(p, "A", 1, sig, &small);
    ck_assert_msg(rc == FB_EARG, "%s: 8-byte buffer: status %d", c->name, rc);
    ck_assert_msg(small > 8 && small <= max, "%s: needed %zu (max %zu)", c->name, small, max);
    if (is_rsa(c->alg))
        ck_assert_uint_eq(small, 256);
    assert_error_clean();
    small = 0;
    rc = fb_port_sign(p, "A", 1, sig, &small);
    ck_assert_msg(rc == FB_EARG && small > 0 && small <= max, "%s: 0-byte buffer: status %d, "
                  "needed %zu", c->name, rc, small);
    /* signature_max bytes are always enough. */
    for (int i = 0; i < 20; i++) {
        size_t len = max;
        rc = fb_port_sign(p, &i, sizeof i, sig, &len);
        ck_assert_msg(rc == FB_OK && len <= max, "%s: signature_max bytes: status %d: %s",
                      c->name, rc, fb_last_error());
    }
    free(big);
    EVP_PKEY_free(pub);
    fb_port_close(p);
}
END_TEST

START_TEST(sm2_user_id)
{
    const sign_case *c = &sign_cases[N_SIGN_CASES - 1];
    ck_assert_int_eq(c->alg, FB_SIG_SM2_SM3);
    char id[] = "ALICE123";
    fb_port *p = open_case(c, id);
    id[0] = 'X'; /* the port keeps its own copy */
    ck_assert_msg(fb_port_sm2_id(p) && !strcmp(fb_port_sm2_id(p), "ALICE123"), "SM2 ID %s",
                  fb_port_sm2_id(p) ? fb_port_sm2_id(p) : "NULL");
    EVP_PKEY *pub = port_key(p);
    uint8_t sig[1024];
    static const char msg[] = "bill signed with ID ALICE123";
    size_t n = sign_ok(p, msg, sizeof msg - 1, sig, sizeof sig);
    expect_verdict(VERIFIED, pub, FB_SIG_SM2_SM3, "ALICE123", msg, sizeof msg - 1, sig, n,
                   "ID ALICE123");
    expect_verdict(REJECTED, pub, FB_SIG_SM2_SM3, FB_SM2_DEFAULT_ID, msg, sizeof msg - 1, sig, n,
                   "ID ALICE123 checked with the default ID");
    expect_verdict(REJECTED, pub, FB_SIG_SM2_SM3, "", msg, sizeof msg - 1, sig, n,
                   "ID ALICE123 checked with the empty ID");
    char out[4096];
    int rc = cli_verify(pub, FB_SIG_SM2_SM3, "ALICE123", msg, sizeof msg - 1, sig, n, out,
                        sizeof out);
    ck_assert_msg(rc == 0, "openssl with distid ALICE123 (exit %d): %s", rc, out);
    rc = cli_verify(pub, FB_SIG_SM2_SM3, FB_SM2_DEFAULT_ID, msg, sizeof msg - 1, sig, n, out,
                    sizeof out);
    ck_assert_msg(rc != 0, "openssl verified an ALICE123 signature with the default ID: %s", out);
    EVP_PKEY_free(pub);
    fb_port_close(p);
}
END_TEST

START_TEST(file_key_with_wrong_cert)
{
    static const char *const pairs[][2] = {
        { "keys/soft-ec.pem", "certs/soft-rsa.pem" },
        { "keys/soft-ec.pem", "certs/port-1.pem" },
        { "keys/soft-rsa.pem", "certs/port-rsa.pem" },
        { "keys/soft-sm2.pem", "certs/soft-ec.pem" },
        { "keys/soft-sm2.pem", "certs/port-sm2.pem" },
        { "keys/soft-ec.pem", "certs/soft-sm2.pem" },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        fb_port_options o = FB_PORT_OPTIONS_INIT;
        o.cert_path = fbt_token_path(pairs[i][1]);
        open_fails(file_uri(pairs[i][0]), &o, FB_ECRYPTO, NULL);
    }
    /* A key file needs its certificate. */
    open_fails(file_uri("keys/soft-ec.pem"), NULL, FB_EARG, "cert", NULL);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    open_fails(file_uri("keys/soft-ec.pem"), &o, FB_EARG, "cert", NULL);
    o.cert_path = fbt_token_path("certs/soft-ec.pem");
    open_fails(file_uri("keys/none.pem"), &o, FB_EIO, "none.pem", NULL);
    open_fails(file_uri("certs/soft-ec.pem"), &o, FB_EFORMAT, NULL);
    open_fails("file:", &o, FB_EIO, NULL);
    /* The root CA's key is EC P-256 too, but not the certified one. */
    open_fails(file_uri("ca/root-ec.key"), &o, FB_ECRYPTO, NULL);
}
END_TEST

/* specs/ports.md §2: SM2, ECDSA P-256 or RSA of 2048 bits or more. */
START_TEST(file_unsupported_keys)
{
    static const char *const names[] = { "rsa1024", "p384", "ed25519" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char key[64], cert[64];
        snprintf(key, sizeof key, "keys/%s.pem", names[i]);
        snprintf(cert, sizeof cert, "certs/%s.pem", names[i]);
        fb_port_options o = FB_PORT_OPTIONS_INIT;
        o.cert_path = fbt_token_path(cert);
        open_fails(file_uri(key), &o, FB_EUNSUPPORTED, NULL);
        /* Nor as the certificate of a token key. */
        open_fails(uri("token=nocert;id=%01", PINQ), &o, FB_EUNSUPPORTED, NULL);
    }
}
END_TEST

/* ---- fb_port_subject for people ---- */

START_TEST(subject_format)
{
    /* port.h: one line, "CN=Port 1 Operator, O=..." */
    fb_port *p = open_ok(uri("token=port-1;id=%01", PINQ), NULL);
    const char *s = fb_port_subject(p);
    ck_assert_msg(!strncmp(s, "CN=Port 1 Operator, ", 20), "subject \"%s\" is not in the form "
                  "\"CN=Port 1 Operator, O=...\" of port.h", s);
    ck_assert_msg(strstr(s, "O=Changji People's Hospital") && strstr(s, "C=CN"), "%s", s);
    ck_assert_msg(!strchr(s, '\n'), "subject on several lines: %s", s);
    fb_port_close(p);
}
END_TEST

START_TEST(subject_utf8)
{
    /* Chinese names must reach people as text, not as \xE5 escapes. */
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.cert_path = fbt_token_path("certs/soft-ec-utf8.pem");
    fb_port *p = open_ok(file_uri("keys/soft-ec.pem"), &o);
    const char *s = fb_port_subject(p);
    ck_assert_msg(strstr(s, "CN=张三") && strstr(s, "O=昌吉州人民医院"), "subject \"%s\" lost the "
                  "UTF-8 names", s);
    fb_port_close(p);
}
END_TEST

/* ---- libp11 as a second, independent PKCS#11 implementation ---- */

typedef struct p11x {
    PKCS11_CTX *ctx;
    PKCS11_SLOT *slots;
    unsigned nslots;
    PKCS11_SLOT *slot;
    EVP_PKEY *priv, *pub;
    uint8_t *cert_der;
    int cert_len;
} p11x;

static bool fork_mode(void)
{
    const char *f = getenv("CK_FORK");
    return !f || strcmp(f, "no") != 0;
}

static void p11x_open(p11x *x, const char *label, const char *serial)
{
    memset(x, 0, sizeof *x);
    LSAN_OFF();
    x->ctx = PKCS11_CTX_new();
    ck_assert_ptr_nonnull(x->ctx);
    ck_assert_msg(PKCS11_CTX_load(x->ctx, T->module) == 0, "libp11 cannot load %s", T->module);
    ck_assert_msg(PKCS11_enumerate_slots(x->ctx, &x->slots, &x->nslots) == 0,
                  "libp11 cannot list the slots");
    for (unsigned i = 0; i < x->nslots; i++) {
        PKCS11_SLOT *s = &x->slots[i];
        if (s->token && s->token->initialized && !strcmp(s->token->label, label) &&
            !strcmp(s->token->serialnr, serial))
            x->slot = s;
    }
    ck_assert_msg(x->slot != NULL, "libp11 finds no token %s (serial %s)", label, serial);
    ck_assert_msg(PKCS11_login(x->slot, 0, PIN) == 0, "libp11 cannot log in to %s", label);
    PKCS11_KEY *keys = NULL;
    unsigned nkeys = 0;
    ck_assert(PKCS11_enumerate_keys(x->slot->token, &keys, &nkeys) == 0);
    PKCS11_KEY *key = NULL;
    for (unsigned i = 0; i < nkeys; i++)
        if (keys[i].isPrivate && keys[i].id_len == 1 && keys[i].id[0] == 0x01)
            key = &keys[i];
    ck_assert_msg(key != NULL, "libp11 finds no private key with id 01 on %s", label);
    x->priv = PKCS11_get_private_key(key);
    x->pub = PKCS11_get_public_key(key);
    ck_assert_msg(x->priv && x->pub, "libp11 gives no EVP_PKEY for the key on %s", label);
    PKCS11_CERT *certs = NULL;
    unsigned ncerts = 0;
    ck_assert(PKCS11_enumerate_certs(x->slot->token, &certs, &ncerts) == 0);
    for (unsigned i = 0; i < ncerts; i++)
        if (certs[i].id_len == 1 && certs[i].id[0] == 0x01 && certs[i].x509) {
            unsigned char *der = NULL;
            x->cert_len = i2d_X509(certs[i].x509, &der);
            x->cert_der = der;
        }
    ck_assert_msg(x->cert_der != NULL && x->cert_len > 0, "libp11 finds no certificate 01");
    LSAN_ON();
}

static size_t p11x_sign(p11x *x, const void *msg, size_t len, uint8_t *sig, size_t room)
{
    LSAN_OFF();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = room;
    int ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, x->priv) == 1 &&
             EVP_DigestSign(md, sig, &n, msg, len) == 1;
    EVP_MD_CTX_free(md);
    char err[256] = "";
    ERR_error_string_n(ERR_peek_last_error(), err, sizeof err);
    ERR_clear_error();
    LSAN_ON();
    ck_assert_msg(ok, "libp11 cannot sign: %s", err);
    return n;
}

static void p11x_close(p11x *x)
{
    LSAN_OFF();
    OPENSSL_free(x->cert_der);
    EVP_PKEY_free(x->priv);
    EVP_PKEY_free(x->pub);
    PKCS11_release_all_slots(x->ctx, x->slots, x->nslots);
    PKCS11_CTX_unload(x->ctx);
    PKCS11_CTX_free(x->ctx);
    ERR_clear_error();
    LSAN_ON();
}

static const char *const xcheck_tokens[][2] = { { "port-1", "port_1" },
                                                { "port-rsa", "port_rsa" } };

/* Both implementations see the same key pair and certificate. */
static void cross_check(p11x *x, fb_port *p, int pss)
{
    fb_sig_alg alg = fb_port_algorithm(p);
    EVP_PKEY *cert_pub = port_key(p);
    ck_assert_msg(EVP_PKEY_eq(x->pub, cert_pub) == 1,
                  "libp11's public key is not the key of fb_port_certificate");
    size_t len = 0;
    const uint8_t *der = fb_port_certificate(p, &len);
    ck_assert_msg((size_t)x->cert_len == len && memcmp(x->cert_der, der, len) == 0,
                  "libp11's certificate (%d bytes) differs from fb_port_certificate (%zu bytes)",
                  x->cert_len, len);
    uint8_t sig[1024];
    static const char m1[] = "signed by libp11";
    size_t n = p11x_sign(x, m1, sizeof m1 - 1, sig, sizeof sig);
    if (!pss) /* libp11's default RSA padding is PKCS#1 v1.5 */
        expect_verdict(VERIFIED, cert_pub, alg, NULL, m1, sizeof m1 - 1, sig, n,
                       "libp11's signature with fiscalbill's certificate key");
    static const char m2[] = "signed by fiscalbill";
    n = sign_ok(p, m2, sizeof m2 - 1, sig, sizeof sig);
    expect_verdict(VERIFIED, x->pub, alg, NULL, m2, sizeof m2 - 1, sig, n,
                   "fiscalbill's signature with libp11's public key");
    EVP_PKEY_free(cert_pub);
}

START_TEST(libp11_after_fiscalbill)
{
    if (!fork_mode())
        return; /* both libraries initialise SoftHSM in this process */
    const char *label = xcheck_tokens[_i][0], *serial = serial_of(xcheck_tokens[_i][1]);
    char path[64];
    snprintf(path, sizeof path, "token=%s;id=%%01", label);
    fb_port *p = open_ok(uri(path, PINQ), NULL);
    uint8_t sig[1024];
    sign_ok(p, "before libp11", 13, sig, sizeof sig);
    p11x x;
    p11x_open(&x, label, serial); /* libp11 meets CKR_CRYPTOKI_ALREADY_INITIALIZED */
    cross_check(&x, p, 0);
    if (fb_port_algorithm(p) == FB_SIG_RSA_SHA256) {
        fb_port_options o = FB_PORT_OPTIONS_INIT;
        o.rsa_pss = 1;
        fb_port *pss = open_ok(uri(path, PINQ), &o);
        cross_check(&x, pss, 1);
        fb_port_close(pss);
    }
    /* fiscalbill still signs after libp11 joined (and logged in again). */
    size_t n = sign_ok(p, "after libp11", 12, sig, sizeof sig);
    expect_verdict(VERIFIED, x.pub, fb_port_algorithm(p), NULL, "after libp11", 12, sig, n,
                   "fiscalbill after libp11");
    fb_port_close(p);
    p11x_close(&x);
}
END_TEST

START_TEST(libp11_before_fiscalbill)
{
    if (!fork_mode())
        return;
    const char *label = xcheck_tokens[_i][0], *serial = serial_of(xcheck_tokens[_i][1]);
    char path[64];
    snprintf(path, sizeof path, "token=%s;id=%%01", label);
    p11x x;
    p11x_open(&x, label, serial);
    uint8_t sig[1024];
    p11x_sign(&x, "libp11 first", 12, sig, sizeof sig);
    /* fiscalbill meets CKR_CRYPTOKI_ALREADY_INITIALIZED and a token
     * already logged in. */
    fb_port *p = open_ok(uri(path, PINQ), NULL);
    cross_check(&x, p, 0);
    if (fb_port_algorithm(p) == FB_SIG_RSA_SHA256) {
        fb_port_options o = FB_PORT_OPTIONS_INIT;
        o.rsa_pss = 1;
        fb_port *pss = open_ok(uri(path, PINQ), &o);
        cross_check(&x, pss, 1);
        fb_port_close(pss);
    }
    EVP_PKEY *cert_pub = port_key(p);
    fb_sig_alg alg = fb_port_algorithm(p);
    fb_port_close(p);
    /* fiscalbill did not initialise the module, so closing its last port
     * neither finalised it nor logged libp11 out. */
    size_t n = p11x_sign(&x, "libp11 after the port closed", 28, sig, sizeof sig);
    expect_verdict(VERIFIED, cert_pub, alg, NULL, "libp11 after the port closed", 28, sig, n,
                   "libp11 after fiscalbill closed its port");
    /* And a new port opens on the module libp11 still holds. */
    p = open_ok(uri(path, PINQ), NULL);
    n = sign_ok(p, "again", 5, sig, sizeof sig);
    expect_verdict(VERIFIED, x.pub, alg, NULL, "again", 5, sig, n, "second fiscalbill port");
    fb_port_close(p);
    EVP_PKEY_free(cert_pub);
    p11x_close(&x);
}
END_TEST

/* ---- threads ---- */

typedef struct worker {
    pthread_t thread;
    fb_port *port;
    EVP_PKEY *pub; /* the worker's own */
    const char *name;
    int id, count;
    int sign_errors, verify_failures;
    char first_error[512];
} worker;

static void *sign_worker(void *arg)
{
    worker *w = arg;
    uint8_t sig[1024];
    char msg[128];
    for (int i = 0; i < w->count; i++) {
        int n = snprintf(msg, sizeof msg, "%s thread %d signature %d", w->name, w->id, i);
        size_t len = sizeof sig;
        int rc = fb_port_sign(w->port, msg, (size_t)n, sig, &len);
        if (rc) {
            if (!w->sign_errors++)
                snprintf(w->first_error, sizeof w->first_error, "status %d: %s", rc,
                         fb_last_error());
            continue;
        }
        if (ossl_verify(w->pub, fb_port_algorithm(w->port), FB_SM2_DEFAULT_ID, msg, (size_t)n,
                        sig, len) !=
            VERIFIED && !w->verify_failures++)
            snprintf(w->first_error, sizeof w->first_error, "signature %d does not verify", i);
    }
    return NULL;
}

static void run_workers(worker *w, int n)
{
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&w[i].thread, NULL, sign_worker, &w[i]), 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(pthread_join(w[i].thread, NULL), 0);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(w[i].sign_errors == 0 && w[i].verify_failures == 0,
                      "%s thread %d: %d sign errors, %d bad signatures; first: %s", w[i].name,
                      w[i].id, w[i].sign_errors, w[i].verify_failures, w[i].first_error);
        EVP_PKEY_free(w[i].pub);
    }
}

START_TEST(threads_two_ports)
{
    fb_port *a = open_ok(uri("token=port-1;id=%01", PINQ), NULL);
    fb_port *b = open_ok(uri("token=port-2;id=%01", PINQ), NULL);
    worker w[8];
    memset(w, 0, sizeof w);
    for (int i = 0; i < 8; i++) {
        w[i].port = i < 4 ? a : b;
        w[i].name = i < 4 ? "port-1" : "port-2";
        w[i].pub = port_key(w[i].port);
        w[i].id = i;
        w[i].count = 200;
    }
    run_workers(w, 8);
    fb_port_close(a);
    fb_port_close(b);
}
END_TEST

START_TEST(threads_one_port)
{
    fb_port *p = open_ok(uri("token=port-1;id=%01", PINQ), NULL);
    worker w[8];
    memset(w, 0, sizeof w);
    for (int i = 0; i < 8; i++) {
        w[i].port = p;
        w[i].name = "shared port-1";
        w[i].pub = port_key(p);
        w[i].id = i;
        w[i].count = 100;
    }
    run_workers(w, 8);
    fb_port_close(p);
}
END_TEST

START_TEST(threads_mixed_algorithms)
{
    /* RSA token, EC token and an SM2 key file side by side. */
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.cert_path = fbt_token_path("certs/soft-sm2.pem");
    fb_port *ports[3] = { open_ok(uri("token=port-rsa;id=%01", PINQ), NULL),
                          open_ok(uri("token=bureau;id=%01", PINQ), NULL),
                          open_ok(file_uri("keys/soft-sm2.pem"), &o) };
    worker w[6];
    memset(w, 0, sizeof w);
    for (int i = 0; i < 6; i++) {
        w[i].port = ports[i % 3];
        w[i].name = fb_port_profile(ports[i % 3]);
        w[i].pub = port_key(w[i].port);
        w[i].id = i;
        w[i].count = 50;
    }
    run_workers(w, 6);
    for (int i = 0; i < 3; i++)
        fb_port_close(ports[i]);
}
END_TEST

/* Ports opened and closed from several threads at once: the module
 * registry loads, shares, finalises and reloads the module under contention
 * (every port may be the last one on it). */
typedef struct cycler {
    pthread_t thread;
    char uri[1024];
    int cycles, errors;
    char first_error[512];
} cycler;

static void *cycle_worker(void *arg)
{
    cycler *c = arg;
    for (int i = 0; i < c->cycles; i++) {
        fb_port *p = NULL;
        uint8_t sig[1024];
        size_t len = sizeof sig;
        int rc = fb_port_open(&p, c->uri, NULL);
        if (!rc)
            rc = fb_port_sign(p, &i, sizeof i, sig, &len);
        if (!rc) {
            EVP_PKEY *pub = NULL;
            size_t clen = 0;
            const uint8_t *der = fb_port_certificate(p, &clen);
            const unsigned char *q = der;
            X509 *x = d2i_X509(NULL, &q, (long)clen);
            pub = x ? X509_get_pubkey(x) : NULL;
            if (!pub || ossl_verify(pub, fb_port_algorithm(p), NULL, &i, sizeof i, sig, len) !=
                            VERIFIED)
                rc = FB_ECRYPTO;
            EVP_PKEY_free(pub);
            X509_free(x);
        }
        if (rc && !c->errors++)
            snprintf(c->first_error, sizeof c->first_error, "cycle %d: status %d: %s", i, rc,
                     rc == FB_ECRYPTO ? "signature does not verify" : fb_last_error());
        fb_port_close(p);
    }
    return NULL;
}

START_TEST(threads_open_close)
{
    static const char *const paths[] = { "token=port-1;id=%01", "token=port-2;id=%01",
                                         "token=bureau;id=%01", "token=port-rsa;id=%01",
                                         "token=port-1;id=%01", "token=twokeys;id=%02" };
    enum { N = sizeof paths / sizeof paths[0] };
    cycler c[N];
    memset(c, 0, sizeof c);
    for (int i = 0; i < N; i++) {
        snprintf(c[i].uri, sizeof c[i].uri, "%s", uri(paths[i], PINQ));
        c[i].cycles = 25;
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pthread_create(&c[i].thread, NULL, cycle_worker, &c[i]), 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pthread_join(c[i].thread, NULL), 0);
    for (int i = 0; i < N; i++)
        ck_assert_msg(c[i].errors == 0, "%s: %d failed cycles; first: %s", paths[i], c[i].errors,
                      c[i].first_error);
}
END_TEST

START_TEST(same_token_twice)
{
    fb_port *a = open_ok(uri("token=port-1;id=%01", PINQ), NULL);
    fb_port *b = open_ok(uri("token=port-1;id=%01", PINQ), NULL);
    EVP_PKEY *pub = port_key(a);
    uint8_t sig[1024];
    size_t n = sign_ok(a, "a", 1, sig, sizeof sig);
    n = sign_ok(b, "b", 1, sig, sizeof sig);
    fb_port_close(a); /* must not log b out */
    for (int i = 0; i < 5; i++) {
        n = sign_ok(b, &i, sizeof i, sig, sizeof sig);
        expect_verdict(VERIFIED, pub, FB_SIG_ECDSA_SHA256, NULL, &i, sizeof i, sig, n,
                       "the remaining port");
    }
    char path[64];
    snprintf(path, sizeof path, "serial=%s", serial_of("port_1"));
    fb_port *c = open_ok(uri(path, PINQ), NULL);
    fb_port_close(b);
    n = sign_ok(c, "c", 1, sig, sizeof sig);
    expect_verdict(VERIFIED, pub, FB_SIG_ECDSA_SHA256, NULL, "c", 1, sig, n, "third port");
    fb_port_close(c);
    EVP_PKEY_free(pub);
}
END_TEST

START_TEST(module_shared)
{
    fb_port *keep = open_ok(uri("token=port-1;id=%01", PINQ), NULL);
    EVP_PKEY *pub = port_key(keep);
    uint8_t sig[1024];
    for (int i = 0; i < 50; i++) {
        const char *path = i % 3 == 0 ? "token=port-2;id=%01"
                           : i % 3 == 1 ? "token=port-rsa;id=%01" : "token=port-1;id=%01";
        fb_port *other = open_ok(uri(path, PINQ), NULL);
        sign_ok(other, "other", 5, sig, sizeof sig);
        fb_port_close(other);
        size_t n = sign_ok(keep, &i, sizeof i, sig, sizeof sig);
        expect_verdict(VERIFIED, pub, FB_SIG_ECDSA_SHA256, NULL, &i, sizeof i, sig, n,
                       "the long-lived port");
    }
    /* Failed opens release the module too. */
    for (int i = 0; i < 10; i++) {
        fb_port *none = NULL;
        ck_assert(fb_port_open(&none, uri("token=none", PINQ), NULL) == FB_ENOTFOUND);
        ck_assert(fb_port_open(&none, uri("token=port-2;id=%01", "pin-value=" WRONG_PIN),
                               NULL) == FB_EPIN);
        assert_error_clean();
    }
    /* The inventory shares the module as well. */
    fb_buf inv = FB_BUF_INIT;
    ck_assert_int_eq(fb_port_inventory(T->module, &inv), FB_OK);
    fb_buf_dispose(&inv);
    size_t n = sign_ok(keep, "still", 5, sig, sizeof sig);
    expect_verdict(VERIFIED, pub, FB_SIG_ECDSA_SHA256, NULL, "still", 5, sig, n,
                   "after the inventory");
    fb_port_close(keep);
    /* The last port closed, the module was finalised: it loads again. */
    for (int i = 0; i < 3; i++) {
        keep = open_ok(uri("token=port-1;id=%01", PINQ), NULL);
        n = sign_ok(keep, "again", 5, sig, sizeof sig);
        expect_verdict(VERIFIED, pub, FB_SIG_ECDSA_SHA256, NULL, "again", 5, sig, n,
                       "after reloading the module");
        fb_port_close(keep);
    }
    EVP_PKEY_free(pub);
}
END_TEST

/* A module named by two paths (a symlink and its target, or a p11-kit
 * name) is one module: closing the port that loaded it first must not
 * finalise it under the other. */
static void two_names_one_module(const char *first, const char *second)
{
    fb_port *a = open_ok(first, NULL);
    fb_port *b = open_ok(second, NULL);
    EVP_PKEY *pub = port_key(b);
    uint8_t sig[1024];
    sign_ok(a, "a", 1, sig, sizeof sig);
    fb_port_close(a);
    for (int i = 0; i < 3; i++) {
        size_t n = sign_ok(b, &i, sizeof i, sig, sizeof sig);
        expect_verdict(VERIFIED, pub, FB_SIG_ECDSA_SHA256, NULL, &i, sizeof i, sig, n,
                       "the port on the module's other name");
    }
    fb_port_close(b);
    EVP_PKEY_free(pub);
}

START_TEST(module_by_real_path)
{
    char real[4096];
    ck_assert_ptr_nonnull(realpath(T->module, real));
    char q[4200];
    snprintf(q, sizeof q, "pkcs11:token=port-2;id=%%01?module-path=%s&" PINQ, real);
    two_names_one_module(uri("token=port-1;id=%01", PINQ), q);
    two_names_one_module(q, uri("token=port-1;id=%01", PINQ));
}
END_TEST

START_TEST(module_by_name)
{
    static const char by_name[] = "pkcs11:token=port-2;id=%01?module-name=softhsm2&" PINQ;
    fb_port *probe = NULL;
    int rc = fb_port_open(&probe, by_name, NULL);
    if (rc == FB_ENOTFOUND && strstr(fb_last_error(), "p11-kit")) {
        fprintf(stderr, "module_by_name: softhsm2 is not registered with p11-kit; skipped\n");
        return;
    }
    ck_assert_msg(rc == FB_OK, "module-name=softhsm2: status %d: %s", rc, fb_last_error());
    ck_assert_msg(strstr(fb_port_subject(probe), "Port 2 Operator"), "%s",
                  fb_port_subject(probe));
    fb_port_close(probe);
    two_names_one_module(uri("token=port-1;id=%01", PINQ), by_name);
    two_names_one_module(by_name, uri("token=port-1;id=%01", PINQ));
    open_fails("pkcs11:token=port-2?module-name=no-such-module&" PINQ, NULL, FB_ENOTFOUND,
               "no-such-module", NULL);
}
END_TEST

/* ---- PINs ---- */

START_TEST(wrong_pin)
{
    const char *u = uri("token=port-1;id=%01", "pin-value=" WRONG_PIN);
    open_fails(u, NULL, FB_EPIN, "port-1", serial_of("port_1"), "will not be tried again", NULL);
    char q[1200];
    snprintf(q, sizeof q, "pin-source=file:%s", fbt_token_path("pin-wrong.txt"));
    open_fails(uri("token=port-1;id=%01", q), NULL, FB_EPIN, "port-1", "will not be tried again",
               NULL);
    /* A new port with the right PIN opens and signs. */
    fb_port *p = open_ok(uri("token=port-1;id=%01", PINQ), NULL);
    uint8_t sig[1024];
    sign_ok(p, "right PIN", 9, sig, sizeof sig);
    fb_port_close(p);
    /* (While a port is logged in, PKCS#11 answers any C_Login on that
     * token with CKR_USER_ALREADY_LOGGED_IN without checking the PIN, so a
     * wrong PIN is only refused on a token nobody in the process is logged
     * in to. That case is not asserted here.) */
}
END_TEST

typedef struct pin_cb_state {
    int calls;
    int refuse;
    const char *pin;
    char port_name[256];
    size_t size;
} pin_cb_state;

static int pin_cb(const char *port_name, char *pin, size_t size, void *data)
{
    pin_cb_state *s = data;
    s->calls++;
    snprintf(s->port_name, sizeof s->port_name, "%s", port_name ? port_name : "(null)");
    s->size = size;
    if (s->refuse)
        return -1;
    snprintf(pin, size, "%s", s->pin);
    return 0;
}

START_TEST(pin_callback)
{
    pin_cb_state st = { 0, 0, PIN, "", 0 };
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.pin_callback = pin_cb;
    o.pin_callback_data = &st;
    fb_port *p = open_ok(uri("token=port-1;id=%01", NULL), &o);
    ck_assert_int_eq(st.calls, 1);
    ck_assert_msg(strstr(st.port_name, "port-1") && strstr(st.port_name, serial_of("port_1")),
                  "the callback was given the port name \"%s\"", st.port_name);
    ck_assert_msg(st.size >= 9, "the callback has %zu bytes of room", st.size);
    uint8_t sig[1024];
    sign_ok(p, "callback", 8, sig, sizeof sig);
    ck_assert_int_eq(st.calls, 1); /* kept, not asked for each signature */
    fb_port_close(p);

    /* A PIN in the URI wins; the callback is not asked. */
    st.calls = 0;
    p = open_ok(uri("token=port-1;id=%01", PINQ), &o);
    ck_assert_int_eq(st.calls, 0);
    fb_port_close(p);

    /* A callback that refuses. */
    st.calls = 0;
    st.refuse = 1;
    open_fails(uri("token=port-2;id=%01", NULL), &o, FB_EPIN, NULL);
    ck_assert_int_eq(st.calls, 1);

    /* A callback with the wrong PIN: refused once, never asked again. */
    st.calls = 0;
    st.refuse = 0;
    st.pin = WRONG_PIN;
    open_fails(uri("token=port-2;id=%01", NULL), &o, FB_EPIN, "port-2",
               "will not be tried again", NULL);
    ck_assert_int_eq(st.calls, 1);
}
END_TEST

/* ---- PIN limits (specs/security.md §3.6; gaps T2, G5, G7) ---- */

/* A PIN of n bytes that no path, serial or message holds by chance. */
static void odd_pin(char *pin, size_t n)
{
    static const char alphabet[] = "Zx9Qv";
    for (size_t i = 0; i < n; i++)
        pin[i] = alphabet[i % 5];
    pin[n] = '\0';
}

/* No 10-byte piece of the odd PIN in text. */
static void assert_no_odd_pin(const char *text, const char *what)
{
    char piece[11];
    odd_pin(piece, 10);
    ck_assert_msg(strstr(text, piece) == NULL, "%s holds the PIN: %s", what, text);
}

/* Open port-1 with the PIN file holding len bytes of content: the status,
 * and the message checked to hold no PIN. */
static int open_with_pin_file(const char *name, const void *content, size_t len)
{
    const char *path = fbt_token_path(name);
    write_file(path, content, len);
    char q[1200];
    snprintf(q, sizeof q, "pin-source=file:%s", path);
    fb_port *p = NULL;
    fb_clear_error();
    int rc = fb_port_open(&p, uri("token=port-1;id=%01", q), NULL);
    if (rc == FB_OK) {
        assert_no_pin(fb_port_describe(p), "fb_port_describe");
        fb_port_close(p);
    } else {
        assert_error_clean();
        assert_no_odd_pin(fb_last_error(), "fb_last_error()");
    }
    return rc;
}

/* A PIN the secret layer took and gave to the token, which refused it. */
static void expect_token_refusal(int rc, const char *what)
{
    ck_assert_msg(rc == FB_EPIN, "%s: status %d: %s", what, rc, fb_last_error());
    ck_assert_msg(strstr(fb_last_error(), "port-1") && !strstr(fb_last_error(), "longer than"),
                  "%s: not refused by the token: %s", what, fb_last_error());
}

/* A PIN file refused before the token: the message names the file. */
static void expect_file_refusal(int rc, const char *name, const char *why, const char *what)
{
    ck_assert_msg(rc == FB_EPIN, "%s: status %d: %s", what, rc, fb_last_error());
    ck_assert_msg(strstr(fb_last_error(), fbt_token_path(name)) && strstr(fb_last_error(), why),
                  "%s: message \"%s\" lacks the file or \"%s\"", what, fb_last_error(), why);
}

START_TEST(pin_file_limits)
{
    char pin[300];
    /* 256 bytes, with or without a line ending: taken, and sent to the
     * token (which knows another PIN). */
    odd_pin(pin, 256);
    expect_token_refusal(open_with_pin_file("pin-256.txt", pin, 256), "256 bytes");
    memcpy(pin + 256, "\n", 1);
    expect_token_refusal(open_with_pin_file("pin-256.txt", pin, 257), "256 bytes and LF");
    memcpy(pin + 256, "\r\n", 2);
    expect_token_refusal(open_with_pin_file("pin-256.txt", pin, 258), "256 bytes and CRLF");
    /* 257 bytes: refused, naming the file, never the PIN. */
    odd_pin(pin, 257);
    expect_file_refusal(open_with_pin_file("pin-257.txt", pin, 257), "pin-257.txt",
                        "longer than 256 bytes", "257 bytes");
    memcpy(pin + 257, "\r\n", 2);
    expect_file_refusal(open_with_pin_file("pin-257.txt", pin, 259), "pin-257.txt",
                        "longer than 256 bytes", "257 bytes and CRLF");
    /* The file is read whole: 256 bytes, CRLF and more is not a PIN of
     * 256 bytes. */
    odd_pin(pin, 256);
    memcpy(pin + 256, "\r\nmore", 6);
    expect_file_refusal(open_with_pin_file("pin-more.txt", pin, 262), "pin-more.txt",
                        "longer than 256 bytes", "256 bytes, CRLF and more");
    /* A NUL byte anywhere, even right before the newline. */
    expect_file_refusal(open_with_pin_file("pin-nul.txt", "12\0" "34\n", 6), "pin-nul.txt",
                        "NUL", "a NUL byte");
    expect_file_refusal(open_with_pin_file("pin-nul.txt", PIN "\0\n", 6), "pin-nul.txt", "NUL",
                        "a NUL byte before the LF");
    /* Only one line ending goes: "1234\r\n\r\n" is not the PIN. */
    expect_token_refusal(open_with_pin_file("pin-2crlf.txt", PIN "\r\n\r\n", 8), "two CRLF");
    /* An empty file is an empty PIN. */
    expect_token_refusal(open_with_pin_file("pin-empty.txt", "", 0), "an empty file");
    /* CRLF, or a lone CR, ends the right PIN: the port opens (last, so that
     * the token's count of wrong PINs is reset for the tests after). */
    ck_assert_msg(open_with_pin_file("pin-crlf.txt", PIN "\r\n", 6) == FB_OK, "CRLF: %s",
                  fb_last_error());
    ck_assert_msg(open_with_pin_file("pin-cr.txt", PIN "\r", 5) == FB_OK, "CR: %s",
                  fb_last_error());
    /* A directory is not a PIN file. */
    char q[1200];
    snprintf(q, sizeof q, "pin-source=file:%s", fbt_token_path("keys"));
    open_fails(uri("token=port-1;id=%01", q), NULL, FB_EPIN, "cannot read the PIN file",
               fbt_token_path("keys"), NULL);
}
END_TEST

START_TEST(pin_value_limit)
{
    char pin[300], q[400];
    odd_pin(pin, 256);
    snprintf(q, sizeof q, "pin-value=%s", pin);
    fb_port *p = NULL;
    int rc = fb_port_open(&p, uri("token=port-1;id=%01", q), NULL);
    expect_token_refusal(rc, "pin-value of 256 bytes");
    assert_no_odd_pin(fb_last_error(), "fb_last_error()");
    odd_pin(pin, 257);
    snprintf(q, sizeof q, "pin-value=%s", pin);
    open_fails(uri("token=port-1;id=%01", q), NULL, FB_EPIN, "pin-value is longer than 256 bytes",
               NULL);
    assert_no_odd_pin(fb_last_error(), "fb_last_error()");
    /* The right PIN resets the token's count of wrong ones. */
    fb_port_close(open_ok(uri("token=port-1;id=%01", PINQ), NULL));
}
END_TEST

static bool holds(const unsigned char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(hay + i, needle, k))
            return true;
    return false;
}

/* A PIN where a URI may not carry one is refused without being quoted, and
 * its decoded copy is wiped before it is freed (gap G7). Seen through the
 * allocator: glibc hands the block just freed back to the next malloc of
 * its size, with what free() left in it past its first 16 bytes (the
 * allocator's own links). Under ASan, which quarantines freed blocks and
 * fills new ones, the look finds nothing either way. */
START_TEST(refused_pin_is_wiped)
{
    char pin[201], path[400], tail[33];
    odd_pin(pin, 200);
    snprintf(tail, sizeof tail, "%s", pin + 40);
    /* In the path part, under a misspelt name, as a second id: each decoded
     * into a block of 201 bytes, then refused. */
    static const char *const forms[] = { "token=port-1;pin-value=", "token=port-1;pin=",
                                         "token=port-1;id=%01;id=" };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        snprintf(path, sizeof path, "%s%s", forms[i], pin);
        fb_port *p = NULL;
        int rc = fb_port_open(&p, uri(path, NULL), NULL);
        ck_assert_msg(rc == FB_EARG, "%s: status %d: %s", forms[i], rc, fb_last_error());
        assert_no_odd_pin(fb_last_error(), "fb_last_error()");
        unsigned char *again = malloc(sizeof pin);
        ck_assert_ptr_nonnull(again);
        ck_assert_msg(!holds(again + 16, sizeof pin - 16, tail),
                      "%s: the refused value was freed without being wiped", forms[i]);
        free(again);
    }
}
END_TEST

/* ---- lists a module fills in two calls (gap G8) ---- */

/* The rules of the fault-injecting module (tests/p11/README.md), each run
 * in a process of its own (Check forks), and what fb_port_open must do. */
static const struct {
    const char *rules;
    int want;          /* FB_OK: opens and signs */
    const char *words; /* in the message of a refusal */
} list_faults[] = {
    /* The slot list grew between the count and the fill: asked again. */
    { "C_GetSlotList:1:0x150", FB_OK, NULL },
    { "C_GetSlotList:2:0x150", FB_OK, NULL },
    { "C_GetSlotList:2:0x150,C_GetSlotList:4:0x150", FB_OK, NULL },
    /* ... but not for ever. */
    { "C_GetSlotList:1+:0x150", FB_ETOKEN, "slots" },
    { "C_GetSlotList:2+:0x150", FB_ETOKEN, "slots" },
    /* The same for the mechanism list. */
    { "C_GetMechanismList:2:0x150", FB_OK, NULL },
    { "C_GetMechanismList:1+:0x150", FB_ETOKEN, "mechanisms" },
    /* An attribute that grew between its two calls (the first read is the
     * key's CKA_ID). */
    { "C_GetAttributeValue:2:0x150", FB_OK, NULL },
};

START_TEST(lists_that_grow)
{
    const char *shim = getenv("FBT_FAULTY_MODULE");
    ck_assert_msg(shim && *shim, "FBT_FAULTY_MODULE is not set (meson sets it)");
    setenv("FBT_P11_MODULE", T->module, 1);
    setenv("FBT_FAULT", list_faults[_i].rules, 1);
    char u[2048];
    snprintf(u, sizeof u, "pkcs11:token=port-1;id=%%01?module-path=%s&" PINQ, shim);
    fb_port *p = NULL;
    fb_clear_error();
    int rc = fb_port_open(&p, u, NULL);
    const char *rules = list_faults[_i].rules;
    if (list_faults[_i].want == FB_OK) {
        ck_assert_msg(rc == FB_OK, "%s: status %d: %s", rules, rc, fb_last_error());
        uint8_t sig[1024];
        size_t n = sign_ok(p, "grown", 5, sig, sizeof sig);
        EVP_PKEY *k = port_key(p);
        expect_verdict(VERIFIED, k, FB_SIG_ECDSA_SHA256, NULL, "grown", 5, sig, n, rules);
        EVP_PKEY_free(k);
        fb_port_close(p);
    } else {
        if (rc == FB_OK)
            fb_port_close(p);
        ck_assert_msg(rc == list_faults[_i].want, "%s: status %d, expected %d: %s", rules, rc,
                      list_faults[_i].want, rc ? fb_last_error() : "(opened)");
        ck_assert_msg(strstr(fb_last_error(), list_faults[_i].words) &&
                          strstr(fb_last_error(), "CKR_BUFFER_TOO_SMALL"),
                      "%s: message \"%s\" lacks \"%s\" or the code", rules, fb_last_error(),
                      list_faults[_i].words);
        assert_error_clean();
    }
    unsetenv("FBT_FAULT");
}
END_TEST
#define N_LIST_FAULTS ((int)(sizeof list_faults / sizeof list_faults[0]))

/* ---- SM2 user IDs (gap T5) ---- */

/* ENTL, the ID's length in bits, is 16 bits, and OpenSSL 3.0 refuses IDs
 * of 8191 bytes already: a port takes at most 8190, so that every
 * signature it makes can be checked by OpenSSL-based verifiers. A longer
 * ID is refused when the port opens, naming the limit. */
START_TEST(sm2_user_id_limit)
{
    const sign_case *c = &sign_cases[N_SIGN_CASES - 1];
    ck_assert_int_eq(c->alg, FB_SIG_SM2_SM3);
    static const size_t refused[] = { 8191, 8192, 8193, 100000 };
    char *id = malloc(100001);
    ck_assert_ptr_nonnull(id);
    /* 8190 bytes: signed, and OpenSSL agrees with that ID. */
    memset(id, 'I', 8190);
    id[8190] = '\0';
    fb_port *p = open_case(c, id);
    uint8_t sig[1024];
    size_t n = sign_ok(p, "long ID", 7, sig, sizeof sig);
    EVP_PKEY *pub = port_key(p);
    expect_verdict(VERIFIED, pub, FB_SIG_SM2_SM3, id, "long ID", 7, sig, n, "ID of 8190 bytes");
    EVP_PKEY_free(pub);
    fb_port_close(p);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        memset(id, 'I', refused[i]);
        id[refused[i]] = '\0';
        fb_port_options o = FB_PORT_OPTIONS_INIT;
        o.sm2_id = id;
        o.cert_path = c->cert_file ? fbt_token_path(c->cert_file) : NULL;
        p = NULL;
        int rc = fb_port_open(&p, c->token_path ? uri(c->token_path, PINQ)
                                                : file_uri(c->key_file), &o);
        ck_assert_msg(rc == FB_EARG && !p, "ID of %zu bytes: status %d: %s", refused[i], rc,
                      fb_last_error());
        ck_assert_msg(strstr(fb_last_error(), "SM2 user ID") && strstr(fb_last_error(), "8190"),
                      "ID of %zu bytes: message \"%s\"", refused[i], fb_last_error());
    }
    free(id);
}
END_TEST

/* ---- the inventory ---- */

START_TEST(inventory)
{
    fb_buf out = FB_BUF_INIT;
    ck_assert_int_eq(fb_port_inventory(T->module, &out), FB_OK);
    ck_assert_ptr_nonnull(out.ptr);
    const char *s = (const char *)out.ptr;
    for (const char *const *v = token_vars; *v; v++)
        ck_assert_msg(strstr(s, serial_of(*v)), "inventory lacks the serial of %s:\n%s", *v, s);
    static const char *const want[] = { "port-1", "port-2", "port-rsa", "bureau", "nocert",
                                        "twokeys", "port-sm2", "\"dup\"", "CKM_ECDSA",
                                        "CN=Port 1 Operator", "CN=Port RSA Operator",
                                        "CN=TwoKeys B Operator", "CN=Port SM2 Operator",
                                        "key-a", "key-b" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(s, want[i]), "inventory lacks \"%s\":\n%s", want[i], s);
    /* No login: the private keys stay hidden. */
    ck_assert_msg(!strstr(s, "private key"), "the inventory lists private keys:\n%s", s);
    assert_no_pin(s, "the inventory");
    /* Appended, not replaced. */
    size_t first = out.size;
    ck_assert_int_eq(fb_port_inventory(T->module, &out), FB_OK);
    ck_assert_uint_eq(out.size, 2 * first);
    fb_buf_dispose(&out);

    /* A module that is not there: no crash, and the path is named. */
    fb_buf bad = FB_BUF_INIT;
    int rc = fb_port_inventory("/nonexistent/libnone.so", &bad);
    ck_assert_msg((bad.ptr && strstr((char *)bad.ptr, "/nonexistent/libnone.so")) ||
                  (rc != FB_OK && strstr(fb_last_error(), "/nonexistent/libnone.so")),
                  "status %d, nothing names the missing module", rc);
    fb_buf_dispose(&bad);
    ck_assert_int_eq(fb_port_inventory(T->module, NULL), FB_EARG);
    ck_assert_int_eq(fb_port_inventory(NULL, NULL), FB_EARG);
}
END_TEST

/* ---- NULL and bad arguments ---- */

START_TEST(null_arguments)
{
    ck_assert_str_eq(fb_sig_alg_name(FB_SIG_SM2_SM3), "SM3withSM2");
    ck_assert_str_eq(fb_sig_alg_name(FB_SIG_ECDSA_SHA256), "SHA256withECDSA");
    ck_assert_str_eq(fb_sig_alg_name(FB_SIG_RSA_SHA256), "SHA256withRSA");
    ck_assert_str_eq(fb_sig_alg_name(FB_SIG_RSA_PSS_SHA256), "SHA256withRSA/PSS");
    ck_assert_ptr_nonnull(fb_sig_alg_name((fb_sig_alg)99));
    ck_assert_ptr_nonnull(fb_sig_alg_name((fb_sig_alg)-1));

    fb_port *p = NULL;
    ck_assert_int_eq(fb_port_open(NULL, uri("token=port-1;id=%01", PINQ), NULL), FB_EARG);
    ck_assert_int_eq(fb_port_open(&p, NULL, NULL), FB_EARG);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(fb_port_open(NULL, NULL, NULL), FB_EARG);
    assert_error_clean();
    fb_port_close(NULL);

    ck_assert_uint_eq(fb_port_signature_max(NULL), 0);
    (void)fb_port_algorithm(NULL);
    size_t len = 99;
    ck_assert_ptr_null(fb_port_certificate(NULL, &len));
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_null(fb_port_certificate(NULL, NULL));
    ck_assert_ptr_null(fb_port_sm2_id(NULL));
    const char *s = fb_port_describe(NULL);
    ck_assert_msg(!s || !*s, "describe(NULL) = %s", s);
    s = fb_port_subject(NULL);
    ck_assert_msg(!s || !*s, "subject(NULL) = %s", s);
    s = fb_port_profile(NULL);
    ck_assert_msg(!s || !*s, "profile(NULL) = %s", s);

    uint8_t sig[1024];
    len = sizeof sig;
    ck_assert_int_eq(fb_port_sign(NULL, "m", 1, sig, &len), FB_EARG);

    p = open_ok(uri("token=port-1;id=%01", PINQ), NULL);
    ck_assert_ptr_nonnull(fb_port_certificate(p, NULL));
    len = sizeof sig;
    ck_assert_int_eq(fb_port_sign(p, NULL, 5, sig, &len), FB_EARG);
    ck_assert_int_eq(fb_port_sign(p, "m", 1, NULL, &len), FB_EARG);
    ck_assert_int_eq(fb_port_sign(p, "m", 1, sig, NULL), FB_EARG);
    ck_assert_int_eq(fb_port_sign(p, NULL, 0, NULL, NULL), FB_EARG);
    /* NULL with length 0 is the empty message, if accepted at all. */
    len = sizeof sig;
    int rc = fb_port_sign(p, NULL, 0, sig, &len);
    ck_assert_msg(rc == FB_OK || rc == FB_EARG, "status %d", rc);
    if (rc == FB_OK) {
        EVP_PKEY *pub = port_key(p);
        expect_verdict(VERIFIED, pub, FB_SIG_ECDSA_SHA256, NULL, "", 0, sig, len,
                       "NULL empty message");
        EVP_PKEY_free(pub);
    }
    assert_error_clean();
    /* The port still works after all that. */
    sign_ok(p, "ok", 2, sig, sizeof sig);
    fb_port_close(p);
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("port");
    struct {
        const char *name;
        TCase *tc;
    } cases[] = {
        { "open", tcase_create("open") },       { "refuse", tcase_create("refuse") },
        { "sign", tcase_create("sign") },       { "libp11", tcase_create("libp11") },
        { "threads", tcase_create("threads") }, { "pin", tcase_create("pin") },
        { "misc", tcase_create("misc") },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tcase_add_unchecked_fixture(cases[i].tc, setup_tokens, NULL);
        tcase_set_timeout(cases[i].tc, 60);
        suite_add_tcase(s, cases[i].tc);
    }
    TCase *open = cases[0].tc, *refuse = cases[1].tc, *sign = cases[2].tc, *p11 = cases[3].tc,
          *threads = cases[4].tc, *pin = cases[5].tc, *misc = cases[6].tc;
    tcase_add_test(open, open_by_label_and_id);
    tcase_add_test(open, open_by_pin_source);
    tcase_add_test(open, open_by_serial_only);
    tcase_add_test(open, open_by_object_label);
    tcase_add_test(refuse, refuse_ambiguous);
    tcase_add_test(refuse, refuse_not_found);
    tcase_add_test(refuse, refuse_bad_uris);
    tcase_add_test(refuse, refuse_repeated_id);
    tcase_add_test(refuse, refused_pin_is_wiped);
    tcase_add_loop_test(refuse, lists_that_grow, 0, N_LIST_FAULTS);
    tcase_add_test(refuse, nocert_needs_cert_path);
    tcase_add_test(refuse, sm2_token_without_vendor_mechanism);
    tcase_add_test(refuse, file_key_with_wrong_cert);
    tcase_add_test(refuse, file_unsupported_keys);
    tcase_add_loop_test(sign, sign_and_verify, 0, N_SIGN_CASES);
    tcase_add_test(sign, sm2_user_id);
    tcase_add_test(sign, sm2_user_id_limit);
    tcase_add_loop_test(p11, libp11_after_fiscalbill, 0, 2);
    tcase_add_loop_test(p11, libp11_before_fiscalbill, 0, 2);
    tcase_add_test(threads, threads_two_ports);
    tcase_add_test(threads, threads_one_port);
    tcase_add_test(threads, threads_mixed_algorithms);
    tcase_add_test(threads, threads_open_close);
    tcase_add_test(threads, same_token_twice);
    tcase_add_test(threads, module_shared);
    tcase_add_test(threads, module_by_real_path);
    tcase_add_test(threads, module_by_name);
    tcase_add_test(pin, wrong_pin);
    tcase_add_test(pin, pin_callback);
    tcase_add_test(pin, pin_file_limits);
    tcase_add_test(pin, pin_value_limit);
    tcase_add_test(misc, inventory);
    tcase_add_test(misc, null_arguments);
    tcase_add_test(misc, subject_format);
    tcase_add_test(misc, subject_utf8);
    return s;
}
