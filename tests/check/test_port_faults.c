/* Ports under faults: recovery (specs/ports.md §5), PINs (§6), SM2 vendor
 * profiles (§3), sign-then-verify, and parallel ports, all through the
 * test-only fault-injecting module libfbtest-faulty-pkcs11.so
 * (tests/p11/README.md) in front of the SoftHSM fixture (fbt_tokens.h).
 *
 * The shim reads its FBT_* environment at C_Initialize, which fiscalbill
 * calls on the first fb_port_open of the module in a process. Check forks
 * every test (CK_FORK=yes, the default), so each test sets its environment
 * first (shim_env) and only then opens ports; faults injected after a port
 * is open go through the control file (set_faults). Each test closes all of
 * its ports, so the module is finalised even when Check does not fork.
 *
 * Every signature a test accepts is verified here again with OpenSSL (and,
 * for SM2, with the openssl command line), independently of the library's
 * own sign-then-verify. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include "fbt.h"
#include "fbt_tokens.h"
#include "fiscalbill/port.h"

#define PIN "1234"
#define MSG "fiscalbill fault test message"
#define SIG_ROOM 1024

/* ---- environment of the shim ---- */

static const char *const shim_vars[] = {
    "FBT_FAULT",     "FBT_FAULT_FILE",  "FBT_CALL_LOG",    "FBT_SEED",
    "FBT_PIN_TRIES", "FBT_PIN_PAD",     "FBT_PIN",         "FBT_ALWAYS_AUTH",
    "FBT_SM2_PROFILE", "FBT_SM2_MECHS", "FBT_SM2_OUTPUT",  NULL
};

static char call_log[1024];
static char fault_file[1024];

static const char *module(void)
{
    const char *m = getenv("FBT_FAULTY_MODULE");
    ck_assert_msg(m && *m, "FBT_FAULTY_MODULE is not set (the path of "
                  "libfbtest-faulty-pkcs11.so; meson sets it)");
    return m;
}

/* Reset the shim's environment for this test: a fresh call log and an empty
 * fault control file of this process, then NAME, VALUE pairs up to NULL.
 * Must run before the first fb_port_open of the test. */
static void shim_env(const char *name, ...)
{
    const fbt_tokens *t = fbt_tokens_get();
    for (size_t i = 0; shim_vars[i]; i++)
        unsetenv(shim_vars[i]);
    static unsigned seq;
    seq++;
    snprintf(call_log, sizeof call_log, "%s/calls-%ld-%u.log", t->dir, (long)getpid(), seq);
    snprintf(fault_file, sizeof fault_file, "%s/faults-%ld-%u.rules", t->dir, (long)getpid(),
             seq);
    unlink(call_log);
    unlink(fault_file);
    setenv("FBT_CALL_LOG", call_log, 1);
    setenv("FBT_FAULT_FILE", fault_file, 1);
    va_list ap;
    va_start(ap, name);
    for (const char *n = name; n; n = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        setenv(n, v, 1);
    }
    va_end(ap);
}

/* Replace the fault rules (the shim reloads on the new inode and restarts
 * its call counters). "" clears them. */
static void set_faults(const char *rules)
{
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", fault_file);
    FILE *f = fopen(tmp, "w");
    ck_assert_msg(f != NULL, "cannot write %s: %s", tmp, strerror(errno));
    fputs(rules, f);
    ck_assert(fclose(f) == 0);
    ck_assert_msg(rename(tmp, fault_file) == 0, "rename %s: %s", tmp, strerror(errno));
}

/* ---- the call log ---- */

typedef struct calls {
    char **line;
    size_t n;
} calls;

static void calls_free(calls *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->line[i]);
    free(c->line);
    c->line = NULL;
    c->n = 0;
}

static calls calls_read(void)
{
    calls c = { NULL, 0 };
    FILE *f = fopen(call_log, "r");
    if (!f)
        return c; /* no call yet */
    char buf[256];
    size_t cap = 0;
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        if (c.n == cap) {
            cap = cap ? 2 * cap : 64;
            c.line = realloc(c.line, cap * sizeof *c.line);
            ck_assert(c.line != NULL);
        }
        c.line[c.n] = strdup(buf);
        ck_assert(c.line[c.n] != NULL);
        c.n++;
    }
    fclose(f);
    return c;
}

/* The number of lines in the call log so far: a mark to count from. */
static size_t calls_mark(void)
{
    calls c = calls_read();
    size_t n = c.n;
    calls_free(&c);
    return n;
}

#define ANY (-1L)

/* Does a line "NAME rv=0xHEX[ user=N]" match (rv, user ANY for any)? */
static int call_is(const char *line, const char *name, long rv, long user)
{
    char fn[64];
    unsigned long r = 0, u = 0;
    int k = sscanf(line, "%63s rv=0x%lX user=%lu", fn, &r, &u);
    if (k < 2 || strcmp(fn, name) != 0)
        return 0;
    if (rv != ANY && r != (unsigned long)rv)
        return 0;
    if (user != ANY && (k < 3 || u != (unsigned long)user))
        return 0;
    return 1;
}

/* Lines [from, to) of c that match; to = (size_t)-1 for the end. */
static size_t calls_count(const calls *c, size_t from, size_t to, const char *name, long rv,
                          long user)
{
    size_t n = 0;
    for (size_t i = from; i < c->n && i < to; i++)
        n += call_is(c->line[i], name, rv, user);
    return n;
}

/* Index of the first matching line at or after from, or (size_t)-1. */
static size_t calls_find(const calls *c, size_t from, const char *name, long rv, long user)
{
    for (size_t i = from; i < c->n; i++)
        if (call_is(c->line[i], name, rv, user))
            return i;
    return (size_t)-1;
}

static char *calls_text(const calls *c, size_t from)
{
    static char text[4096];
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = from; i < c->n && len + 80 < sizeof text; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "\n    %s", c->line[i]);
    return text;
}

/* ---- URIs and ports ---- */

/* pkcs11:token=LABEL;id=%01?module-path=SHIM[&QUERY] in a rotating buffer. */
static const char *uri(const char *label, const char *query)
{
    static char bufs[4][1024];
    static unsigned next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "pkcs11:token=%s;id=%%01?module-path=%s%s%s", label, module(),
             query && *query ? "&" : "", query ? query : "");
    return b;
}

/* The ports a test opened and has not closed: the teardown closes them
 * after a failed assertion, so that the module is finalised and the next
 * test starts with a fresh shim even without CK_FORK. */
static fb_port *open_ports[8];

static fb_port *open_ok(const char *u, const fb_port_options *o)
{
    fb_port *p = NULL;
    int rc = fb_port_open(&p, u, o);
    ck_assert_msg(rc == FB_OK && p != NULL, "fb_port_open(%s): status %d: %s", u, rc,
                  fb_last_error());
    for (size_t i = 0; i < sizeof open_ports / sizeof *open_ports; i++)
        if (!open_ports[i]) {
            open_ports[i] = p;
            return p;
        }
    ck_abort_msg("too many open ports");
    return NULL;
}

static void port_close(fb_port *p)
{
    for (size_t i = 0; i < sizeof open_ports / sizeof *open_ports; i++)
        if (open_ports[i] == p)
            open_ports[i] = NULL;
    fb_port_close(p);
}

static void ports_teardown(void)
{
    alarm(0);
    for (size_t i = 0; i < sizeof open_ports / sizeof *open_ports; i++)
        if (open_ports[i])
            port_close(open_ports[i]);
    if (fault_file[0])
        unlink(fault_file);
    if (call_log[0])
        unlink(call_log);
}

static const char *serial_of(const char *token_var)
{
    const char *s = fbt_token_var(token_var);
    ck_assert_msg(s != NULL, "tokens.env has no %s", token_var);
    return s;
}

/* Does the message name token LABEL with its serial (as the library's
 * "token \"port-1\" (serial ...)")? */
static void assert_names_token(const char *msg, const char *label, const char *serial_var)
{
    char quoted[80];
    snprintf(quoted, sizeof quoted, "\"%s\"", label);
    ck_assert_msg(strstr(msg, quoted) != NULL, "the message does not name token %s: %s",
                  quoted, msg);
    ck_assert_msg(strstr(msg, serial_of(serial_var)) != NULL,
                  "the message does not give the serial of %s: %s", label, msg);
}

static size_t occurrences(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ---- independent verification with OpenSSL ---- */

static X509 *port_cert(const fb_port *p)
{
    size_t len = 0;
    const uint8_t *der = fb_port_certificate(p, &len);
    ck_assert(der != NULL && len > 0);
    X509 *x = d2i_X509(NULL, &der, (long)len);
    ck_assert_msg(x != NULL, "the port's certificate does not parse");
    return x;
}

/* An EVP_PKEY of type SM2 for the certificate's key (OpenSSL 3.0 may
 * decode an SM2-curve key as "EC", and EVP_DigestVerify on an "EC" key
 * would check ECDSA, not SM2). */
static EVP_PKEY *sm2_key_of(X509 *x)
{
    EVP_PKEY *pub = X509_get0_pubkey(x);
    ck_assert(pub != NULL);
    if (EVP_PKEY_is_a(pub, "SM2")) {
        EVP_PKEY_up_ref(pub);
        return pub;
    }
    uint8_t point[133];
    size_t point_len = 0;
    ck_assert(EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, point,
                                              sizeof point, &point_len) == 1);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "SM2", NULL);
    OSSL_PARAM *params = NULL;
    EVP_PKEY *key = NULL;
    int ok = bld && ctx &&
             OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "SM2", 0) &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, point_len) &&
             (params = OSSL_PARAM_BLD_to_param(bld)) != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
             EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    ck_assert_msg(ok && key, "cannot make an SM2 key of the certificate's public key");
    return key;
}

/* 1 when sig verifies over msg with the certificate: SHA-256 for ECDSA and
 * RSA, SM3 with distinguishing ID sm2_id for SM2. */
static int ossl_verify(X509 *x, fb_sig_alg alg, const char *sm2_id, const void *msg,
                       size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *key = NULL;
    int ok = 0;
    ck_assert(md != NULL);
    if (alg == FB_SIG_SM2_SM3) {
        key = sm2_key_of(x);
        ok = EVP_DigestVerifyInit(md, &pctx, EVP_sm3(), NULL, key) == 1 &&
             EVP_PKEY_CTX_set1_id(pctx, sm2_id, (int)strlen(sm2_id)) == 1;
    } else {
        key = X509_get0_pubkey(x);
        EVP_PKEY_up_ref(key);
        ok = EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key) == 1;
        if (ok && alg == FB_SIG_RSA_PSS_SHA256)
            ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
                 EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0;
    }
    ok = ok && EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    return ok;
}

/* Sign MSG, expect FB_OK and a DER signature that OpenSSL verifies with
 * the port's certificate (and its SM2 ID). Returns the signature length. */
static size_t sign_ok(fb_port *p, uint8_t sig[SIG_ROOM])
{
    size_t len = SIG_ROOM;
    int rc = fb_port_sign(p, MSG, strlen(MSG), sig, &len);
    ck_assert_msg(rc == FB_OK, "fb_port_sign on %s: status %d: %s", fb_port_describe(p), rc,
                  fb_last_error());
    ck_assert(len > 0 && len <= fb_port_signature_max(p));
    X509 *x = port_cert(p);
    fb_sig_alg alg = fb_port_algorithm(p);
    const char *id = fb_port_sm2_id(p);
    int ok = ossl_verify(x, alg, id ? id : FB_SM2_DEFAULT_ID, MSG, strlen(MSG), sig, len);
    X509_free(x);
    ck_assert_msg(ok, "the signature of %s does not verify with OpenSSL", fb_port_describe(p));
    if (alg == FB_SIG_SM2_SM3 || alg == FB_SIG_ECDSA_SHA256) {
        const uint8_t *q = sig;
        ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)len);
        ck_assert_msg(s != NULL && q == sig + len, "the signature is not DER SEQUENCE{r,s}");
        ECDSA_SIG_free(s);
    }
    return len;
}

static void sign_ok1(fb_port *p)
{
    uint8_t sig[SIG_ROOM];
    sign_ok(p, sig);
}

/* Sign and expect failure with status want; the signature buffer must stay
 * untouched. Returns a copy of the message (static). */
static const char *sign_fails(fb_port *p, int want)
{
    static char msg[1024];
    uint8_t sig[SIG_ROOM];
    memset(sig, 0xA5, sizeof sig);
    size_t len = SIG_ROOM;
    int rc = fb_port_sign(p, MSG, strlen(MSG), sig, &len);
    snprintf(msg, sizeof msg, "%s", fb_last_error());
    ck_assert_msg(rc == want, "fb_port_sign on %s: status %d (%s), expected %d (%s): %s",
                  fb_port_describe(p), rc, fb_status_str(rc), want, fb_status_str(want), msg);
    ck_assert_msg(len == SIG_ROOM, "a failed signature changed *sig_len to %zu", len);
    for (size_t i = 0; i < sizeof sig; i++)
        ck_assert_msg(sig[i] == 0xA5, "a failed signature wrote into the buffer at %zu", i);
    return msg;
}

/* ---- the fixture ---- */

static void tokens_setup(void)
{
    fbt_tokens_get(); /* before Check forks: the children share it */
}

/* ==== §5 Recovery ==== */

static const struct { unsigned long code; const char *name; } recoverable[] = {
    { 0xB3, "CKR_SESSION_HANDLE_INVALID" }, { 0xB0, "CKR_SESSION_CLOSED" },
    { 0x32, "CKR_DEVICE_REMOVED" },         { 0x101, "CKR_USER_NOT_LOGGED_IN" },
    { 0x30, "CKR_DEVICE_ERROR" },           { 0x60, "CKR_KEY_HANDLE_INVALID" },
    { 0x82, "CKR_OBJECT_HANDLE_INVALID" },
};
#define N_RECOVERABLE ((int)(sizeof recoverable / sizeof recoverable[0]))

/* One failure of C_Sign: the port reconnects (new session, new login) and
 * the same call succeeds. */
START_TEST(recovers_from_one_failure)
{
    unsigned long code = recoverable[_i].code;
    shim_env(NULL);
    fb_port *p = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    sign_ok1(p);
    char rule[64];
    snprintf(rule, sizeof rule, "C_Sign:1:0x%lX\n", code);
    set_faults(rule);
    size_t mark = calls_mark();
    sign_ok1(p);
    calls c = calls_read();
    size_t failed = calls_find(&c, mark, "C_Sign", (long)code, ANY);
    ck_assert_msg(failed != (size_t)-1, "%s: the injected C_Sign failure is not in the call log:%s",
                  recoverable[_i].name, calls_text(&c, mark));
    size_t opened = calls_find(&c, failed, "C_OpenSession", 0, ANY);
    size_t login = opened == (size_t)-1 ? opened : calls_find(&c, opened, "C_Login", 0, 1);
    size_t again = login == (size_t)-1 ? login : calls_find(&c, login, "C_Sign", 0, ANY);
    ck_assert_msg(opened != (size_t)-1 && login != (size_t)-1 && again != (size_t)-1,
                  "%s: after the failure the port must open a session, log in and sign again:%s",
                  recoverable[_i].name, calls_text(&c, mark));
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Sign", ANY, ANY) == 2,
                  "%s: exactly one retry expected:%s", recoverable[_i].name,
                  calls_text(&c, mark));
    calls_free(&c);
    sign_ok1(p); /* and it stays usable */
    port_close(p);
}
END_TEST

/* Failing twice in a row: the error names both codes; once the token is
 * well again the next signature reconnects and succeeds. */
START_TEST(second_failure_is_returned)
{
    unsigned long code = recoverable[_i].code;
    const char *name = recoverable[_i].name;
    shim_env(NULL);
    fb_port *p = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    sign_ok1(p);
    char rule[64];
    snprintf(rule, sizeof rule, "C_Sign:1+:0x%lX\n", code);
    set_faults(rule);
    size_t mark = calls_mark();
    const char *msg = sign_fails(p, FB_ETOKEN);
    ck_assert_msg(occurrences(msg, name) >= 2, "the error must name both failures (%s twice): %s",
                  name, msg);
    assert_names_token(msg, "port-1", "TOKEN_port_1_SERIAL");
    calls c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Sign", ANY, ANY) == 2,
                  "%s: one attempt and one retry expected:%s", name, calls_text(&c, mark));
    calls_free(&c);
    set_faults("");
    mark = calls_mark();
    sign_ok1(p);
    c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_OpenSession", 0, ANY) >= 1 &&
                      calls_count(&c, mark, (size_t)-1, "C_Login", 0, 1) >= 1,
                  "%s: the next signature must reconnect:%s", name, calls_text(&c, mark));
    calls_free(&c);
    port_close(p);
}
END_TEST

START_TEST(second_failure_names_both_codes)
{
    shim_env(NULL);
    fb_port *p = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    sign_ok1(p);
    set_faults("C_Sign:1:0xB3 C_Sign:2:0x30\n");
    const char *msg = sign_fails(p, FB_ETOKEN);
    ck_assert_msg(strstr(msg, "CKR_SESSION_HANDLE_INVALID") && strstr(msg, "CKR_DEVICE_ERROR"),
                  "the error must name both codes: %s", msg);
    ck_assert_msg(strstr(msg, "CKR_SESSION_HANDLE_INVALID") < strstr(msg, "CKR_DEVICE_ERROR"),
                  "the first failure first: %s", msg);
    sign_ok1(p); /* the rules fired on calls 1 and 2 only */
    port_close(p);
}
END_TEST

/* CKR_TOKEN_NOT_PRESENT: fail at once, no retry. */
START_TEST(token_not_present_fails_at_once)
{
    shim_env(NULL);
    fb_port *p = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    sign_ok1(p);
    set_faults("C_Sign:1:0xE0\n");
    size_t mark = calls_mark();
    const char *msg = sign_fails(p, FB_ETOKEN);
    ck_assert_msg(strstr(msg, "no key in port") && strstr(msg, "not present"),
                  "expected \"no key in port ...: the token is not present\": %s", msg);
    assert_names_token(msg, "port-1", "TOKEN_port_1_SERIAL");
    calls c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Sign", ANY, ANY) == 1,
                  "CKR_TOKEN_NOT_PRESENT must not be retried:%s", calls_text(&c, mark));
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_OpenSession", ANY, ANY) == 0 &&
                      calls_count(&c, mark, (size_t)-1, "C_Login", ANY, ANY) == 0,
                  "no reconnection within the failing call:%s", calls_text(&c, mark));
    calls_free(&c);
    sign_ok1(p); /* the key is back: the next signature works */
    port_close(p);
}
END_TEST

/* The whole token gone: every call fails with CKR_TOKEN_NOT_PRESENT. */
START_TEST(token_gone_then_back)
{
    shim_env(NULL);
    fb_port *p = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    sign_ok1(p);
    set_faults("*:1+:0xE0\n");
    for (int i = 0; i < 3; i++) {
        double t0 = now_ms();
        const char *msg = sign_fails(p, FB_ETOKEN);
        double ms = now_ms() - t0;
        ck_assert_msg(ms < 2000, "signing with the token gone took %.0f ms", ms);
        ck_assert_msg(strstr(msg, "not present") != NULL, "attempt %d: %s", i + 1, msg);
        ck_assert_msg(strstr(msg, "\"port-1\"") != NULL, "attempt %d names no token: %s", i + 1,
                      msg);
    }
    set_faults("");
    sign_ok1(p);
    sign_ok1(p);
    port_close(p);
}
END_TEST

/* C_OpenSession failing during recovery: an error, never a hang. */
START_TEST(open_session_fails_during_recovery)
{
    alarm(10);
    shim_env(NULL);
    fb_port *p = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    sign_ok1(p);
    set_faults("C_Sign:1:0x32\nC_OpenSession:1+:0x32\n");
    double t0 = now_ms();
    const char *msg = sign_fails(p, FB_ETOKEN);
    ck_assert_msg(strstr(msg, "CKR_DEVICE_REMOVED") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, "\"port-1\"") != NULL, "%s", msg);
    msg = sign_fails(p, FB_ETOKEN); /* no session now: connecting fails again */
    ck_assert_msg(strstr(msg, "CKR_DEVICE_REMOVED") != NULL, "%s", msg);
    ck_assert_msg(now_ms() - t0 < 3000, "two failing signatures took %.0f ms", now_ms() - t0);
    set_faults("");
    sign_ok1(p);
    port_close(p);
    alarm(0);
}
END_TEST

/* ==== §3 Sign-then-verify: a signature that does not verify ==== */

static void assert_discarded(fb_port *p)
{
    const char *msg = sign_fails(p, FB_ECRYPTO);
    ck_assert_msg(strstr(msg, "does not verify") != NULL, "%s", msg);
}

/* The token's key is not the certificate's key (port-1's key, port-2's
 * certificate): the token signs happily, the host must refuse. */
START_TEST(wrong_certificate_ecdsa)
{
    shim_env(NULL);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.cert_path = fbt_token_path("certs/port-2.pem");
    fb_port *p = open_ok(uri("port-1", "pin-value=" PIN), &o);
    ck_assert_str_eq(fb_port_profile(p), "ecdsa");
    assert_discarded(p);
    assert_discarded(p);
    port_close(p);
}
END_TEST

START_TEST(wrong_certificate_sm2)
{
    shim_env("FBT_SM2_PROFILE", "tass", NULL);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.cert_path = fbt_token_path("certs/soft-sm2.pem");
    fb_port *p = open_ok(uri("port-sm2", "pin-value=" PIN), &o);
    ck_assert_str_eq(fb_port_profile(p), "sm2-tass");
    assert_discarded(p);
    port_close(p);
}
END_TEST

/* A token hashing SM2-with-SM3 that does not use the user ID it is given:
 * the shim (like some tokens) puts the default ID in Z when the ID
 * parameter is empty, while the host computed e with the empty ID. */
START_TEST(token_hashes_with_another_id)
{
    shim_env("FBT_SM2_PROFILE", "tass", "FBT_SM2_MECHS", "sm3", NULL);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.sm2_id = "";
    fb_port *p = open_ok(uri("port-sm2", "pin-value=" PIN), &o);
    ck_assert_msg(strstr(fb_port_describe(p), "token hashes") != NULL, "%s",
                  fb_port_describe(p));
    assert_discarded(p);
    port_close(p);
}
END_TEST

/* ==== §6 PINs ==== */

static int open_status(const char *u, char *msg, size_t size)
{
    fb_port *p = NULL;
    int rc = fb_port_open(&p, u, NULL);
    snprintf(msg, size, "%s", fb_last_error());
    if (rc == FB_OK)
        fb_port_close(p);
    else
        ck_assert_msg(p == NULL, "a failed fb_port_open left a port");
    return rc;
}

/* Three tries: every wrong PIN is sent once, the flags are put in words,
 * and a locked token is not sent the PIN at all. A port on another token of
 * the same module stays open, so the module (and the emulated counter) is
 * not finalised between the opens. */
START_TEST(wrong_pin_locks_and_is_never_retried)
{
    shim_env("FBT_PIN_TRIES", "3", NULL);
    fb_port *holder = open_ok(uri("port-2", "pin-value=" PIN), NULL);
    static const char *const words[] = { "few PIN tries are left",
                                         "one more wrong PIN locks the key", "locked" };
    char msg[1024];
    for (int i = 0; i < 3; i++) {
        size_t mark = calls_mark();
        int rc = open_status(uri("port-1", "pin-value=9999"), msg, sizeof msg);
        ck_assert_msg(rc == FB_EPIN, "wrong PIN %d: status %d: %s", i + 1, rc, msg);
        assert_names_token(msg, "port-1", "TOKEN_port_1_SERIAL");
        ck_assert_msg(strstr(msg, "will not be tried again") != NULL, "wrong PIN %d: %s", i + 1,
                      msg);
        ck_assert_msg(strstr(msg, words[i]) != NULL, "wrong PIN %d: no \"%s\": %s", i + 1,
                      words[i], msg);
        ck_assert_msg(strstr(msg, "9999") == NULL, "the message shows the PIN: %s", msg);
        calls c = calls_read();
        ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Login", ANY, ANY) == 1,
                      "wrong PIN %d: exactly one C_Login expected:%s", i + 1,
                      calls_text(&c, mark));
        ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Login", 0xA0, 1) == 1,
                      "wrong PIN %d: the login must fail with CKR_PIN_INCORRECT:%s", i + 1,
                      calls_text(&c, mark));
        calls_free(&c);
    }
    /* Locked: even the right PIN is not sent. */
    size_t mark = calls_mark();
    int rc = open_status(uri("port-1", "pin-value=" PIN), msg, sizeof msg);
    ck_assert_msg(rc == FB_EPIN, "locked token, right PIN: status %d: %s", rc, msg);
    ck_assert_msg(strstr(msg, "locked") != NULL, "%s", msg);
    assert_names_token(msg, "port-1", "TOKEN_port_1_SERIAL");
    calls c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Login", ANY, ANY) == 0,
                  "a locked token must not be sent the PIN:%s", calls_text(&c, mark));
    calls_free(&c);
    sign_ok1(holder); /* the other token is not affected */
    port_close(holder);
}
END_TEST

/* The PIN becomes wrong while the port is open (changed on the token):
 * the forced re-login fails, and the port never offers the PIN again. */
static void pin_goes_wrong(fb_port *p, int *first_rc, char *first_msg, size_t size)
{
    sign_ok1(p);
    set_faults("C_Login:1+:0xA0\nC_Sign:1:0x101\n");
    uint8_t sig[SIG_ROOM];
    size_t len = sizeof sig;
    *first_rc = fb_port_sign(p, MSG, strlen(MSG), sig, &len);
    snprintf(first_msg, size, "%s", fb_last_error());
}

START_TEST(pin_wrong_midrun_first_signature_is_epin)
{
    shim_env(NULL);
    fb_port *p = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    int rc;
    char msg[1024];
    pin_goes_wrong(p, &rc, msg, sizeof msg);
    /* specs/ports.md §6: on CKR_PIN_INCORRECT the port refuses every later
     * login and signature with FB_EPIN -- the signature whose re-login got
     * the refusal included. */
    ck_assert_msg(rc == FB_EPIN, "the re-login was refused with CKR_PIN_INCORRECT: status %d "
                  "(%s), expected FB_EPIN: %s", rc, fb_status_str(rc), msg);
    assert_names_token(msg, "port-1", "TOKEN_port_1_SERIAL");
    ck_assert_msg(strstr(msg, "CKR_PIN_INCORRECT") != NULL, "%s", msg);
    port_close(p);
}
END_TEST

START_TEST(pin_wrong_midrun_never_retried)
{
    shim_env(NULL);
    fb_port *p = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    int rc;
    char msg[1024];
    size_t mark = calls_mark();
    pin_goes_wrong(p, &rc, msg, sizeof msg);
    ck_assert_msg(rc != FB_OK, "a refused re-login still signed");
    calls c = calls_read();
    size_t logins = calls_count(&c, mark, (size_t)-1, "C_Login", ANY, ANY);
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Login", 0xA0, 1) == 1,
                  "one refused re-login expected:%s", calls_text(&c, mark));
    calls_free(&c);
    for (int i = 0; i < 3; i++) {
        const char *m = sign_fails(p, FB_EPIN);
        ck_assert_msg(strstr(m, "\"port-1\"") != NULL, "%s", m);
        ck_assert_msg(strstr(m, "will not be tried again") != NULL, "%s", m);
    }
    set_faults(""); /* even with the token accepting logins again */
    const char *m = sign_fails(p, FB_EPIN);
    ck_assert_msg(strstr(m, "\"port-1\"") != NULL, "%s", m);
    c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Login", ANY, ANY) == logins,
                  "the refused PIN was offered again:%s", calls_text(&c, mark));
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Sign", 0, ANY) == 1,
                  "signed after the PIN was refused:%s", calls_text(&c, mark));
    calls_free(&c);
    port_close(p);
}
END_TEST

START_TEST(pin_pad_login)
{
    shim_env("FBT_PIN_PAD", "1", "FBT_PIN", PIN, NULL);
    fb_port *p = open_ok(uri("port-1", NULL), NULL);
    calls c = calls_read();
    ck_assert_msg(calls_count(&c, 0, (size_t)-1, "C_Login", 0, 1) == 1,
                  "the port must log in through the pad:%s", calls_text(&c, 0));
    calls_free(&c);
    sign_ok1(p);
    sign_ok1(p);
    port_close(p);
}
END_TEST

START_TEST(pin_pad_cancelled)
{
    shim_env("FBT_PIN_PAD", "1", NULL); /* nobody types: the pad cancels */
    char msg[1024];
    int rc = open_status(uri("port-1", NULL), msg, sizeof msg);
    ck_assert_msg(rc != FB_OK, "a cancelled PIN pad login opened the port");
    ck_assert_msg(strstr(msg, "\"port-1\"") != NULL, "%s", msg);
}
END_TEST

START_TEST(always_authenticate)
{
    shim_env("FBT_ALWAYS_AUTH", "1", "FBT_PIN", PIN, NULL);
    fb_port *p = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    size_t mark = calls_mark();
    for (int i = 0; i < 3; i++)
        sign_ok1(p);
    calls c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Login", 0, 2) == 3,
                  "one context-specific login per signature expected:%s", calls_text(&c, mark));
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Sign", 0, ANY) == 3 &&
                      calls_count(&c, mark, (size_t)-1, "C_Sign", ANY, ANY) == 3,
                  "each signature must succeed first time:%s", calls_text(&c, mark));
    /* In order: C_SignInit, C_Login user=2, C_Sign. */
    size_t at = mark;
    for (int i = 0; i < 3; i++) {
        size_t init = calls_find(&c, at, "C_SignInit", 0, ANY);
        ck_assert(init != (size_t)-1 && init + 2 < c.n);
        ck_assert_msg(call_is(c.line[init + 1], "C_Login", 0, 2) &&
                          call_is(c.line[init + 2], "C_Sign", 0, ANY),
                      "C_SignInit, C_Login(CKU_CONTEXT_SPECIFIC), C_Sign expected:%s",
                      calls_text(&c, mark));
        at = init + 3;
    }
    calls_free(&c);
    port_close(p);
}
END_TEST

/* ==== §3 SM2 through PKCS#11 ==== */

/* Verify with the openssl command line too: pkeyutl -rawin -digest sm3. */
static void cli_verify_sm2(const uint8_t *sig, size_t len, const char *id, int expect_ok)
{
    const fbt_tokens *t = fbt_tokens_get();
    char msgf[700], sigf[700], cmd[3000];
    snprintf(msgf, sizeof msgf, "%s/msg-%ld.bin", t->dir, (long)getpid());
    snprintf(sigf, sizeof sigf, "%s/sig-%ld.bin", t->dir, (long)getpid());
    FILE *f = fopen(msgf, "wb");
    ck_assert(f && fwrite(MSG, 1, strlen(MSG), f) == strlen(MSG) && fclose(f) == 0);
    f = fopen(sigf, "wb");
    ck_assert(f && fwrite(sig, 1, len, f) == len && fclose(f) == 0);
    snprintf(cmd, sizeof cmd,
             "openssl pkeyutl -verify -rawin -digest sm3 -pkeyopt distid:%s -certin "
             "-inkey '%s' -in '%s' -sigfile '%s' >/dev/null 2>&1",
             id, fbt_token_path("certs/port-sm2.pem"), msgf, sigf);
    int st = system(cmd);
    unlink(msgf);
    unlink(sigf);
    ck_assert_msg(st != -1 && WIFEXITED(st), "cannot run: %s", cmd);
    if (expect_ok)
        ck_assert_msg(WEXITSTATUS(st) == 0, "openssl pkeyutl does not verify the SM2 "
                      "signature with distid %s", id);
    else
        ck_assert_msg(WEXITSTATUS(st) != 0, "openssl pkeyutl verifies the SM2 signature with "
                      "the wrong distid %s", id);
}

/* Open port-sm2 and check the profile, the ID and a verified signature. */
static void sm2_port_signs(const fb_port_options *o, const char *profile, int token_hashes,
                           const char *id)
{
    fb_port *p = open_ok(uri("port-sm2", "pin-value=" PIN), o);
    ck_assert_str_eq(fb_port_profile(p), profile);
    ck_assert_int_eq(fb_port_algorithm(p), FB_SIG_SM2_SM3);
    ck_assert_str_eq(fb_port_sm2_id(p), id);
    const char *d = fb_port_describe(p);
    ck_assert_msg(strstr(d, profile) != NULL, "%s", d);
    if (token_hashes)
        ck_assert_msg(strstr(d, "token hashes") != NULL, "the token hashes: %s", d);
    else
        ck_assert_msg(strstr(d, "token hashes") == NULL, "the host hashes: %s", d);
    /* The certificate is the token's. */
    uint8_t *der = NULL;
    size_t der_len = 0;
    fbt_read_file(fbt_token_path("certs/port-sm2.pem"), &der, &der_len);
    BIO *bio = BIO_new_mem_buf(der, (int)der_len);
    X509 *file_cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    free(der);
    ck_assert(file_cert != NULL);
    X509 *cert = port_cert(p);
    ck_assert_msg(X509_cmp(cert, file_cert) == 0, "the port's certificate is not port-sm2's");
    X509_free(file_cert);

    uint8_t sig[SIG_ROOM];
    size_t len = sign_ok(p, sig); /* DER, verified with EVP and the port's ID */
    ck_assert_msg(ossl_verify(cert, FB_SIG_SM2_SM3, id, MSG, strlen(MSG), sig, len),
                  "no SM2 verification with ID %s", id);
    const char *other = strcmp(id, FB_SM2_DEFAULT_ID) ? FB_SM2_DEFAULT_ID : "ALICE123";
    ck_assert_msg(!ossl_verify(cert, FB_SIG_SM2_SM3, other, MSG, strlen(MSG), sig, len),
                  "the SM2 signature also verifies with ID %s: the ID is not in Z", other);
    X509_free(cert);
    cli_verify_sm2(sig, len, id, 1);
    cli_verify_sm2(sig, len, other, 0);
    sign_ok1(p);
    port_close(p);
}

START_TEST(sm2_tass_raw)
{
    shim_env("FBT_SM2_PROFILE", "tass", "FBT_SM2_MECHS", "both", NULL);
    sm2_port_signs(NULL, "sm2-tass", 0, FB_SM2_DEFAULT_ID);
    /* The host passed e: 32 bytes to the raw mechanism. */
}
END_TEST

START_TEST(sm2_tass_token_hashes)
{
    shim_env("FBT_SM2_PROFILE", "tass", "FBT_SM2_MECHS", "sm3", NULL);
    sm2_port_signs(NULL, "sm2-tass", 1, FB_SM2_DEFAULT_ID);
}
END_TEST

START_TEST(sm2_luna)
{
    shim_env("FBT_SM2_PROFILE", "luna", NULL);
    sm2_port_signs(NULL, "sm2-luna", 0, FB_SM2_DEFAULT_ID);
}
END_TEST

START_TEST(sm2_luna_token_hashes)
{
    shim_env("FBT_SM2_PROFILE", "luna", "FBT_SM2_MECHS", "sm3", NULL);
    sm2_port_signs(NULL, "sm2-luna", 1, FB_SM2_DEFAULT_ID);
}
END_TEST

/* Raw r||s and DER from the token, for both mechanisms: always DER out. */
static const char *const outputs[][2] = {
    { "raw", "both" }, { "der", "both" }, { "raw", "sm3" }, { "der", "sm3" },
};

START_TEST(sm2_output_forms)
{
    shim_env("FBT_SM2_PROFILE", "tass", "FBT_SM2_OUTPUT", outputs[_i][0], "FBT_SM2_MECHS",
             outputs[_i][1], NULL);
    sm2_port_signs(NULL, "sm2-tass", !strcmp(outputs[_i][1], "sm3"), FB_SM2_DEFAULT_ID);
}
END_TEST

START_TEST(sm2_custom_profile)
{
    shim_env("FBT_SM2_PROFILE", "custom:0x80001234:0x80005678:0", NULL);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.profile = "sm2-custom";
    o.sm2_key_type = 0x80001234UL;
    o.sm2_raw_mech = 0x80005678UL;
    sm2_port_signs(&o, "sm2-custom", 0, FB_SM2_DEFAULT_ID);
}
END_TEST

START_TEST(sm2_custom_profile_token_hashes)
{
    shim_env("FBT_SM2_PROFILE", "custom:0x80001234:0:0x80005679", NULL);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.profile = "sm2-custom";
    o.sm2_key_type = 0x80001234UL;
    o.sm2_sm3_mech = 0x80005679UL;
    sm2_port_signs(&o, "sm2-custom", 1, FB_SM2_DEFAULT_ID);
}
END_TEST

START_TEST(sm2_custom_not_probed)
{
    shim_env("FBT_SM2_PROFILE", "custom:0x80001234:0x80005678:0", NULL);
    fb_port *p = NULL;
    int rc = fb_port_open(&p, uri("port-sm2", "pin-value=" PIN), NULL);
    ck_assert_msg(rc == FB_EUNSUPPORTED && p == NULL,
                  "unknown vendor numbers without profile sm2-custom: status %d: %s", rc,
                  fb_last_error());
    ck_assert_msg(strstr(fb_last_error(), "sm2-custom") != NULL,
                  "the error should point to sm2-custom: %s", fb_last_error());
}
END_TEST

/* SoftHSM alone offers CKM_ECDSA, which on the SM2 curve is not SM2. */
START_TEST(sm2_key_without_vendor_mechanism)
{
    shim_env(NULL);
    fb_port *p = NULL;
    int rc = fb_port_open(&p, uri("port-sm2", "pin-value=" PIN), NULL);
    ck_assert_msg(rc == FB_EUNSUPPORTED && p == NULL,
                  "an SM2 key on an ECDSA-only token: status %d: %s", rc, fb_last_error());
}
END_TEST

static const char *const sm2_id_mechs[] = { "both", "sm3" };

START_TEST(sm2_user_id)
{
    shim_env("FBT_SM2_PROFILE", "tass", "FBT_SM2_MECHS", sm2_id_mechs[_i], NULL);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.sm2_id = "ALICE123";
    sm2_port_signs(&o, "sm2-tass", _i == 1, "ALICE123");
}
END_TEST

/* ==== Deadlines ==== */

/* A short deadline, and delays far beyond it: the bounds below are
 * generous, yet each one shows the caller did not wait for the stuck
 * call. All stretch with Check's CK_TIMEOUT_MULTIPLIER, which CI sets for
 * its slow sanitizer runs, so the same outcomes hold there. */
static long slow(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    long k = m ? atol(m) : 1;
    return k >= 1 ? k : 1;
}

#define DEADLINE_MS (300 * slow())
#define STUCK_MS (4000 * slow())
#define FAST_MS (1000 * slow())  /* failing at once, with room */
#define RETURN_MS (15000 * slow()) /* for a stuck call to come back */

static fb_port *open_with_deadline(const char *label, long ms)
{
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.call_timeout_ms = (unsigned long)ms;
    return open_ok(uri(label, "pin-value=" PIN), &o);
}

/* Sign and expect FB_ETIMEOUT (nothing written) within bound_ms. */
static const char *sign_times_out(fb_port *p, double bound_ms)
{
    double t0 = now_ms();
    const char *msg = sign_fails(p, FB_ETIMEOUT);
    double ms = now_ms() - t0;
    ck_assert_msg(ms < bound_ms, "FB_ETIMEOUT came after %.0f ms, bound %.0f ms: %s", ms,
                  bound_ms, msg);
    return msg;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Wait (at most bound_ms) until the call log holds n calls of name after
 * mark: the shim logs a call when it returns, so this waits for a stuck
 * call to come back. */
static void wait_calls(size_t mark, const char *name, size_t n, double bound_ms)
{
    double t0 = now_ms();
    for (;;) {
        calls c = calls_read();
        size_t k = calls_count(&c, mark, (size_t)-1, name, ANY, ANY);
        calls_free(&c);
        if (k >= n)
            return;
        ck_assert_msg(now_ms() - t0 < bound_ms, "%zu of %zu %s calls in the log after %.0f ms",
                      k, n, name, bound_ms);
        sleep_ms(50);
    }
}

/* The message names the port (its description), the call and the deadline. */
static void assert_names_deadline(const char *msg, fb_port *p, const char *call)
{
    char ms[32];
    snprintf(ms, sizeof ms, "%ld ms", DEADLINE_MS);
    ck_assert_msg(strstr(msg, fb_port_describe(p)) != NULL, "the port is not named: %s", msg);
    ck_assert_msg(strstr(msg, call) != NULL, "%s is not named: %s", call, msg);
    ck_assert_msg(strstr(msg, ms) != NULL, "the deadline (%s) is not named: %s", ms, msg);
}

/* After a stuck call has returned, the next signature starts on a fresh
 * session: close the old one (closes: 1, or 0 when the abandoned job had
 * none left), open, log in (once), sign. */
static void assert_recovered(fb_port *p, size_t mark, size_t closes)
{
    sign_ok1(p); /* verified with OpenSSL */
    calls c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_CloseSession", ANY, ANY) == closes &&
                      calls_count(&c, mark, (size_t)-1, "C_OpenSession", 0, ANY) == 1 &&
                      calls_count(&c, mark, (size_t)-1, "C_Login", 0, 1) == 1 &&
                      calls_count(&c, mark, (size_t)-1, "C_Sign", 0, ANY) == 1,
                  "the suspect session must be replaced once before signing:%s",
                  calls_text(&c, mark));
    calls_free(&c);
}

/* C_Sign stuck past the deadline: FB_ETIMEOUT naming the port, C_Sign and
 * the deadline; while it stays stuck, the next call fails at once; once
 * it returns (the delay rule gone), the port recovers and signs. */
START_TEST(deadline_sign_times_out)
{
    ck_assert_msg(strstr(fb_status_str(FB_ETIMEOUT), "deadline") != NULL, "%s",
                  fb_status_str(FB_ETIMEOUT));
    shim_env(NULL);
    fb_port *p = open_with_deadline("port-1", DEADLINE_MS);
    sign_ok1(p);
    char rule[64];
    snprintf(rule, sizeof rule, "delay:C_Sign:%ld\n", STUCK_MS);
    set_faults(rule);
    size_t mark = calls_mark();
    const char *msg = sign_times_out(p, STUCK_MS - FAST_MS);
    assert_names_deadline(msg, p, "C_Sign");
    assert_names_token(msg, "port-1", "TOKEN_port_1_SERIAL");

    msg = sign_times_out(p, FAST_MS);
    ck_assert_msg(strstr(msg, "still waiting for an earlier C_Sign") != NULL, "%s", msg);
    assert_names_deadline(msg, p, "C_Sign");
    set_faults("");
    wait_calls(mark, "C_Sign", 1, RETURN_MS);
    calls c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Sign", ANY, ANY) == 1 &&
                      calls_count(&c, mark, (size_t)-1, "C_SignInit", ANY, ANY) == 1,
                  "the call that failed fast must not reach the token:%s", calls_text(&c, mark));
    calls_free(&c);
    assert_recovered(p, calls_mark(), 1);
    sign_ok1(p);
    port_close(p);
}
END_TEST

/* The recovery's calls have the deadline too: C_Sign fails, and the
 * C_OpenSession of the reconnection hangs. */
START_TEST(deadline_during_recovery)
{
    shim_env(NULL);
    fb_port *p = open_with_deadline("port-1", DEADLINE_MS);
    sign_ok1(p);
    char rule[96];
    snprintf(rule, sizeof rule, "C_Sign:1:0x32\ndelay:C_OpenSession:1:%ld\n", STUCK_MS);
    set_faults(rule);
    size_t mark = calls_mark();
    const char *msg = sign_times_out(p, STUCK_MS - FAST_MS);
    assert_names_deadline(msg, p, "C_OpenSession");
    wait_calls(mark, "C_OpenSession", 1, RETURN_MS);
    /* The abandoned recovery stopped there: no login, no signature. */
    calls c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Login", ANY, ANY) == 0 &&
                      calls_count(&c, mark, (size_t)-1, "C_Sign", ANY, ANY) == 1,
                  "an abandoned job must stop at its next token call:%s", calls_text(&c, mark));
    calls_free(&c);
    assert_recovered(p, calls_mark(), 0);
    port_close(p);
}
END_TEST

/* One port stuck; another on the same module keeps signing meanwhile. */
START_TEST(deadline_other_port_signs)
{
    shim_env(NULL);
    fb_port *a = open_with_deadline("port-1", DEADLINE_MS);
    fb_port *b = open_with_deadline("port-2", DEADLINE_MS);
    sign_ok1(a);
    sign_ok1(b);
    char rule[64];
    snprintf(rule, sizeof rule, "delay:C_Sign:1:%ld\n", STUCK_MS); /* the next C_Sign only */
    set_faults(rule);
    size_t mark = calls_mark();
    const char *msg = sign_times_out(a, STUCK_MS - FAST_MS);
    assert_names_deadline(msg, a, "C_Sign");
    double t0 = now_ms();
    for (int i = 0; i < 5; i++)
        sign_ok1(b);
    msg = sign_times_out(a, FAST_MS);
    ck_assert_msg(strstr(msg, "still waiting") != NULL, "port-1 is no longer stuck after "
                  "%.0f ms of port-2 signing: %s", now_ms() - t0, msg);
    calls c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Sign", 0, ANY) == 5,
                  "port-2 must sign while port-1 is stuck:%s", calls_text(&c, mark));
    calls_free(&c);
    wait_calls(mark, "C_Sign", 6, RETURN_MS);
    assert_recovered(a, calls_mark(), 1);
    sign_ok1(b);
    port_close(a);
    port_close(b);
}
END_TEST

/* Closing a port whose call is stuck returns after about one more
 * deadline; the port's session is closed, and the module (whose last port
 * it was) finalised, only once the call has returned. */
START_TEST(deadline_close_stuck_port)
{
    shim_env(NULL);
    fb_port *p = open_with_deadline("port-1", DEADLINE_MS);
    sign_ok1(p);
    char rule[64];
    snprintf(rule, sizeof rule, "delay:C_Sign:%ld\n", STUCK_MS);
    set_faults(rule);
    size_t mark = calls_mark();
    sign_times_out(p, STUCK_MS - FAST_MS);
    double t0 = now_ms();
    port_close(p);
    double ms = now_ms() - t0;
    ck_assert_msg(ms < STUCK_MS - FAST_MS, "closing a stuck port took %.0f ms", ms);
    calls c = calls_read();
    ck_assert_msg(calls_count(&c, mark, (size_t)-1, "C_Finalize", ANY, ANY) == 0,
                  "the module was finalised under a stuck call:%s", calls_text(&c, mark));
    calls_free(&c);
    wait_calls(mark, "C_Finalize", 1, RETURN_MS);
    c = calls_read();
    size_t sign = calls_find(&c, mark, "C_Sign", 0, ANY);
    size_t close = sign == (size_t)-1 ? sign : calls_find(&c, sign, "C_CloseSession", 0, ANY);
    size_t fin = close == (size_t)-1 ? close : calls_find(&c, close, "C_Finalize", 0, ANY);
    ck_assert_msg(fin != (size_t)-1, "after the stuck C_Sign returned: close the session, then "
                  "finalise the module:%s", calls_text(&c, mark));
    calls_free(&c);
}
END_TEST

/* Opening has the deadline too: a login that hangs. */
START_TEST(deadline_at_open)
{
    char rule[64];
    snprintf(rule, sizeof rule, "delay:C_Login:1:%ld", STUCK_MS);
    shim_env("FBT_FAULT", rule, NULL);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.call_timeout_ms = (unsigned long)DEADLINE_MS;
    fb_port *p = NULL;
    double t0 = now_ms();
    int rc = fb_port_open(&p, uri("port-1", "pin-value=" PIN), &o);
    double ms = now_ms() - t0;
    ck_assert_msg(rc == FB_ETIMEOUT && p == NULL, "status %d: %s", rc, fb_last_error());
    ck_assert_msg(ms < STUCK_MS - FAST_MS, "opening took %.0f ms", ms);
    ck_assert_msg(strstr(fb_last_error(), "C_Login") && strstr(fb_last_error(), "\"port-1\""),
                  "%s", fb_last_error());
    wait_calls(0, "C_Finalize", 1, RETURN_MS); /* released once the login returned */
    /* With the default deadline the same port opens. */
    shim_env(NULL);
    p = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    sign_ok1(p);
    port_close(p);
}
END_TEST

/* ==== §4 Ports sign in parallel ==== */

typedef struct signer {
    fb_port *port;
    int n;
    int failures;
    char error[512];
} signer;

static void *sign_many(void *arg)
{
    signer *s = arg;
    for (int i = 0; i < s->n; i++) {
        uint8_t sig[SIG_ROOM];
        size_t len = sizeof sig;
        int rc = fb_port_sign(s->port, MSG, strlen(MSG), sig, &len);
        if (rc != FB_OK) {
            s->failures++;
            snprintf(s->error, sizeof s->error, "%s", fb_last_error());
            continue;
        }
        X509 *x = port_cert(s->port);
        if (!ossl_verify(x, fb_port_algorithm(s->port), FB_SM2_DEFAULT_ID, MSG, strlen(MSG), sig,
                         len)) {
            s->failures++;
            snprintf(s->error, sizeof s->error, "signature %d does not verify", i);
        }
        X509_free(x);
    }
    return NULL;
}

#define N_SIGS 20
#define DELAY_MS 20

START_TEST(ports_sign_in_parallel)
{
    shim_env("FBT_FAULT", "delay:C_Sign:20", NULL);
    fb_port *a = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    fb_port *b = open_ok(uri("port-2", "pin-value=" PIN), NULL);
    sign_ok1(a);
    sign_ok1(b);

    signer one = { a, N_SIGS, 0, "" };
    double t0 = now_ms();
    sign_many(&one);
    double serial = now_ms() - t0;
    ck_assert_msg(one.failures == 0, "%s", one.error);
    ck_assert_msg(serial >= N_SIGS * DELAY_MS, "the delay rule did not apply (%.0f ms)", serial);

    signer s[2] = { { a, N_SIGS, 0, "" }, { b, N_SIGS, 0, "" } };
    pthread_t th[2];
    t0 = now_ms();
    for (int i = 0; i < 2; i++)
        ck_assert(pthread_create(&th[i], NULL, sign_many, &s[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    double parallel = now_ms() - t0;
    for (int i = 0; i < 2; i++)
        ck_assert_msg(s[i].failures == 0, "port %d: %d failures: %s", i + 1, s[i].failures,
                      s[i].error);
    ck_assert_msg(parallel < 1.6 * serial,
                  "2 ports x %d signatures took %.0f ms in parallel, one port alone %.0f ms: "
                  "the ports' token calls are serialised by a shared lock",
                  N_SIGS, parallel, serial);
    port_close(a);
    port_close(b);
}
END_TEST

/* One port shared by threads: its calls are serialised, none fails. */
START_TEST(one_port_many_threads)
{
    shim_env("FBT_FAULT", "delay:C_Sign:5", NULL);
    fb_port *a = open_ok(uri("port-1", "pin-value=" PIN), NULL);
    signer s[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        s[i] = (signer){ a, 10, 0, "" };
        ck_assert(pthread_create(&th[i], NULL, sign_many, &s[i]) == 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(s[i].failures == 0, "thread %d: %s", i, s[i].error);
    calls c = calls_read();
    size_t n = calls_count(&c, 0, (size_t)-1, "C_Sign", 0, ANY);
    ck_assert_msg(calls_count(&c, 0, (size_t)-1, "C_Sign", ANY, ANY) == n && n == 40,
                  "40 clean C_Sign calls expected, got %zu of %zu", n, c.n);
    calls_free(&c);
    port_close(a);
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("port_faults");

    TCase *tc = tcase_create("recovery");
    tcase_add_unchecked_fixture(tc, tokens_setup, NULL);
    tcase_add_checked_fixture(tc, NULL, ports_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, recovers_from_one_failure, 0, N_RECOVERABLE);
    tcase_add_loop_test(tc, second_failure_is_returned, 0, N_RECOVERABLE);
    tcase_add_test(tc, second_failure_names_both_codes);
    tcase_add_test(tc, token_not_present_fails_at_once);
    tcase_add_test(tc, token_gone_then_back);
    tcase_add_test(tc, open_session_fails_during_recovery);
    suite_add_tcase(s, tc);

    tc = tcase_create("verify");
    tcase_add_unchecked_fixture(tc, tokens_setup, NULL);
    tcase_add_checked_fixture(tc, NULL, ports_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, wrong_certificate_ecdsa);
    tcase_add_test(tc, wrong_certificate_sm2);
    tcase_add_test(tc, token_hashes_with_another_id);
    suite_add_tcase(s, tc);

    tc = tcase_create("pin");
    tcase_add_unchecked_fixture(tc, tokens_setup, NULL);
    tcase_add_checked_fixture(tc, NULL, ports_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, wrong_pin_locks_and_is_never_retried);
    tcase_add_test(tc, pin_wrong_midrun_first_signature_is_epin);
    tcase_add_test(tc, pin_wrong_midrun_never_retried);
    tcase_add_test(tc, pin_pad_login);
    tcase_add_test(tc, pin_pad_cancelled);
    tcase_add_test(tc, always_authenticate);
    suite_add_tcase(s, tc);

    tc = tcase_create("sm2");
    tcase_add_unchecked_fixture(tc, tokens_setup, NULL);
    tcase_add_checked_fixture(tc, NULL, ports_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, sm2_tass_raw);
    tcase_add_test(tc, sm2_tass_token_hashes);
    tcase_add_test(tc, sm2_luna);
    tcase_add_test(tc, sm2_luna_token_hashes);
    tcase_add_loop_test(tc, sm2_output_forms, 0, 4);
    tcase_add_test(tc, sm2_custom_profile);
    tcase_add_test(tc, sm2_custom_profile_token_hashes);
    tcase_add_test(tc, sm2_custom_not_probed);
    tcase_add_test(tc, sm2_key_without_vendor_mechanism);
    tcase_add_loop_test(tc, sm2_user_id, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("parallel");
    tcase_add_unchecked_fixture(tc, tokens_setup, NULL);
    tcase_add_checked_fixture(tc, NULL, ports_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, ports_sign_in_parallel);
    tcase_add_test(tc, one_port_many_threads);
    suite_add_tcase(s, tc);

    tc = tcase_create("deadline");
    tcase_add_unchecked_fixture(tc, tokens_setup, NULL);
    tcase_add_checked_fixture(tc, NULL, ports_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, deadline_sign_times_out);
    tcase_add_test(tc, deadline_during_recovery);
    tcase_add_test(tc, deadline_other_port_signs);
    tcase_add_test(tc, deadline_close_stuck_port);
    tcase_add_test(tc, deadline_at_open);
    suite_add_tcase(s, tc);
    return s;
}
