/* Fuzz whole-bill verification, the entry point reimbursement software
 * feeds with bills from everywhere.
 *
 * The trust store is built once: a root generated here with OpenSSL, so the
 * store is never empty and chain building has an anchor to try, plus the
 * PEM file named by FB_FUZZ_ANCHORS when set (run.sh passes the root of the
 * demo that signed the seed corpus, so seeds reach the PASSED paths). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <fiscalbill/fiscalbill.h>

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* libFuzzer's entry points; declared here as the library's warnings ask. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2027-01-01T00:00:00Z: a fixed "now", so a run does not depend on the
 * day it runs (the demo's certificates are valid for a year). */
#define FIXED_NOW INT64_C(1798761600)

static fb_trust *trust;

static int add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    int ok = ext && X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A self-signed P-256 CA certificate, valid from a year ago for ten years. */
static X509 *make_root(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    int ok = key && cert && name &&
             X509_set_version(cert, 2) &&
             ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) &&
             X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                        (const unsigned char *)"fuzz root", -1, -1, 0) &&
             X509_set_subject_name(cert, name) && X509_set_issuer_name(cert, name) &&
             X509_gmtime_adj(X509_getm_notBefore(cert), -365L * 86400) &&
             X509_gmtime_adj(X509_getm_notAfter(cert), 10 * 365L * 86400) &&
             X509_set_pubkey(cert, key) &&
             add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") &&
             add_ext(cert, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             X509_sign(cert, key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    EVP_PKEY_free(key);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

/* fb_trust reads anchors from files, so the root goes through a temp file. */
static int add_generated_root(fb_trust *t)
{
    char path[] = "/tmp/fb-fuzz-root-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    X509 *root = make_root();
    int ok = f && root && PEM_write_X509(f, root);
    if (f)
        ok = fclose(f) == 0 && ok;
    else if (fd >= 0)
        close(fd);
    X509_free(root);
    ok = ok && fb_trust_add_anchors(t, path) == FB_OK;
    if (fd >= 0)
        unlink(path);
    return ok;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *extra = getenv("FB_FUZZ_ANCHORS");
    if (fb_trust_new(&trust) != FB_OK || !add_generated_root(trust) ||
        (extra && *extra && fb_trust_add_anchors(trust, extra) != FB_OK)) {
        fprintf(stderr, "fuzz_verify: cannot build the trust store: %s\n", fb_last_error());
        abort();
    }
    return 0;
}

static void check_report(const fb_report *r)
{
    fb_state s = fb_report_state(r);
    REQUIRE(s == FB_PASSED || s == FB_INDETERMINATE || s == FB_FAILED);
    REQUIRE(fb_report_sentence(r) && fb_subindication_name(fb_report_subindication(r)));
    for (int c = 0; c < FB_CHECK_COUNT; c++) {
        fb_state cs = fb_report_check_state(r, (fb_check)c);
        REQUIRE(cs == FB_PASSED || cs == FB_INDETERMINATE || cs == FB_FAILED);
        /* The overall verdict is the worst of the checks. */
        REQUIRE(cs <= s);
        REQUIRE(fb_report_check_sentence(r, (fb_check)c));
    }
    /* Touch the signer strings so ASan sees any dangling or unterminated one. */
    for (int who = 0; who < 2; who++) {
        const char *v[3] = { fb_report_signer_subject(r, who), fb_report_signer_serial(r, who),
                             fb_report_signing_time(r, who) };
        for (int i = 0; i < 3; i++)
            if (v[i])
                (void)strlen(v[i]);
    }
}

static void verify_with(const uint8_t *data, size_t size, const fb_verify_options *o)
{
    fb_report *r = NULL;
    REQUIRE(fb_verify(data, size, o, &r) == FB_OK && r);
    check_report(r);
    fb_report_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t empty[1];
    if (!data)
        data = empty; /* fb_verify takes no NULL document, even an empty one */
    /* Two option sets per input: the lenient defaults, and the strictest
     * settings, which reach the "now" and revocation branches. */
    fb_verify_options lenient = FB_VERIFY_OPTIONS_INIT;
    lenient.trust = trust;
    lenient.now = FIXED_NOW;
    verify_with(data, size, &lenient);

    fb_verify_options strict = lenient;
    strict.coverage = FB_COVER_UNIT_NODE;
    strict.time_policy = FB_TIME_NOW;
    strict.missing_seal_fails = 1;
    strict.require_revocation = 1;
    verify_with(data, size, &strict);
    return 0;
}
