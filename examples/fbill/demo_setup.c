/* fbill demo: the setup (demo_setup.h). The PKI is made here with OpenSSL;
 * the tokens with SoftHSMv2's and OpenSC's own tools, as an administrator
 * would prepare real UKeys, so the keys are born on the tokens. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include "demo_pki.h"
#include "demo_setup.h"

#define INSTALL_HINT "the demo needs SoftHSMv2 and OpenSC: apt-get install softhsm2 opensc"
#define HOSPITAL "昌吉回族自治州人民医院"
#define BUREAU "昌吉回族自治州财政局"
#define ROOT_CN "Changji Finance Root CA (demo only)"
#define PATH_SIZE 1400 /* room for DIR (< 1024) and any name below it */

typedef struct token_spec {
    const char *label, *what;
    pki_name name;
} token_spec;

/* Two cashier windows of one hospital, and the bureau that seals. */
enum { BUREAU_TOKEN = 2 };
static const token_spec tokens[3] = {
    { "window-1", "昌吉州人民医院 1号收费窗口", { HOSPITAL, "Window 1", "Window 1 Cashier" } },
    { "window-2", "昌吉州人民医院 2号收费窗口", { HOSPITAL, "Window 2", "Window 2 Cashier" } },
    { "finance-bureau", "昌吉州财政局 票据监制章", { BUREAU, NULL, "Finance Bureau Seal" } },
};

typedef struct setup {
    demo_env *env;
    FILE *log;
    int logfd;        /* DIR/setup.log: what the tools said, for when one fails */
    EVP_PKEY *ca_key; /* the test root, issuer of every leaf */
    X509 *ca;
} setup;

/* Print why a step failed, with OpenSSL's reason when it left one. */
__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = pki_vfail("demo setup", fmt, ap);
    va_end(ap);
    return rc;
}

__attribute__((format(printf, 2, 3))) static void say(const setup *s, const char *fmt, ...)
{
    va_list ap;
    if (!s->log)
        return;
    va_start(ap, fmt);
    vfprintf(s->log, fmt, ap);
    va_end(ap);
    fflush(s->log);
}

/* DIR/rel. DIR is under 1024 bytes and rel short, so it always fits. */
static char *in_dir(const setup *s, char *out, size_t size, const char *rel)
{
    snprintf(out, size, "%s/%s", s->env->dir, rel);
    return out;
}

/* The root's key, and the certificates. */
static int write_obj(const char *path, X509 *cert, EVP_PKEY *key, bool der)
{
    char why[PKI_WHY];
    int rc = key ? pki_save_key(path, key, why, sizeof why)
                 : pki_save_cert(path, cert, der, why, sizeof why);
    return rc ? fail("%s", why) : 0;
}

/* Whether tool is an executable file in one of PATH's folders. */
static int on_path(const char *tool)
{
    char path[PATH_MAX];
    const char *p = getenv("PATH");
    for (p = p ? p : "/bin:/usr/bin"; *p; p += strcspn(p, ":"), p += *p == ':') {
        snprintf(path, sizeof path, "%.*s/%s", (int)strcspn(p, ":"), p, tool);
        if (access(path, X_OK) == 0)
            return 1;
    }
    return 0;
}

/* Run a tool on a token and wait for it; its output, and the command
 * first, go to setup.log so that the demo's own output stays short and a
 * failure can be read there in context. */
static int run(const setup *s, const char *step, const char *label, char *const argv[])
{
    char why[PKI_WHY];
    int status;
    if (!pki_run(s->logfd, true, argv, &status, why, sizeof why))
        return 0;
    if (status < 0)
        return fail("%s%s", why, errno == ENOENT ? "; " INSTALL_HINT : "");
    return fail("%s token %s: %s failed (%s %d); its messages are in %s/setup.log", step, label,
                argv[0], WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), s->env->dir);
}

/* The same one-line form as fb_port_subject: RFC 2253, UTF-8 readable. */
static void name_line(X509 *x, char *out, size_t size)
{
    unsigned long flags = (XN_FLAG_RFC2253 & ~(ASN1_STRFLGS_ESC_MSB | XN_FLAG_SEP_MASK)) |
                          XN_FLAG_SEP_CPLUS_SPC;
    BIO *b = BIO_new(BIO_s_mem());
    int n = b ? X509_NAME_print_ex(b, X509_get_subject_name(x), 0, flags) : -1;
    if (n < 0 || (n = BIO_read(b, out, (int)size - 1)) < 0)
        n = 0;
    out[n] = '\0';
    BIO_free(b);
}

static int make_root(setup *s)
{
    char path[PATH_SIZE], subject[256];
    pki_name name = { "fiscalbill demo", NULL, ROOT_CN };
    s->ca_key = EVP_EC_gen("P-256");
    s->ca = s->ca_key ? pki_make_cert(s->ca_key, &name, 730, NULL, s->ca_key) : NULL;
    if (!s->ca)
        return fail("cannot make the test CA");
    in_dir(s, s->env->trust_pem, sizeof s->env->trust_pem, "pki/finance-root.pem");
    if (write_obj(s->env->trust_pem, s->ca, NULL, 0) ||
        write_obj(in_dir(s, path, sizeof path, "pki/finance-root.key"), NULL, s->ca_key, 0))
        return -1;
    name_line(s->ca, subject, sizeof subject);
    say(s, "  test CA: %s\n", subject);
    return 0;
}

/* Issue the leaf for a token's key; write DER (for the token) and PEM; note
 * its subject, and for the bureau its seal hash (X509_digest hashes the
 * DER, as the seal hash is defined). */
static int certify(setup *s, int t, const char *pub, const char *der, char *subject)
{
    char pem[PATH_SIZE];
    unsigned char md[32];
    unsigned int n = 0;
    /* Only EC P-256 is expected: the seal hash is SHA-256 for it. */
    EVP_PKEY *key = pki_read_pubkey(pub, "EC", 256);
    X509 *x = key ? pki_make_cert(key, &tokens[t].name, 365, s->ca, s->ca_key) : NULL;
    int rc = x     ? 0
             : key ? fail("cannot certify the key of %s", tokens[t].label)
                   : fail("%s: not an EC P-256 public key", pub);
    snprintf(pem, sizeof pem, "%s/pki/%s.pem", s->env->dir, tokens[t].label);
    rc = rc || write_obj(der, x, NULL, 1) || write_obj(pem, x, NULL, 0);
    if (!rc)
        name_line(x, subject, 256);
    if (!rc && t == BUREAU_TOKEN && !X509_digest(x, EVP_sha256(), md, &n))
        rc = fail("cannot hash the bureau's certificate");
    for (unsigned int i = 0; !rc && t == BUREAU_TOKEN && i < n; i++)
        snprintf(s->env->bureau_seal_hash + 2 * i, 3, "%02x", md[i]);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

/* One token, its certificate stored next to the key (same CKA_ID). */
static int make_token(setup *s, int i, char *uri, char *subject)
{
    const char *label = tokens[i].label;
    char why[PKI_WHY];
    pki_token t;
    snprintf(t.pin_path, sizeof t.pin_path, "%s/pins/%s.pin", s->env->dir, label);
    snprintf(t.pub, sizeof t.pub, "%s/pki/%s.pub.der", s->env->dir, label);
    snprintf(t.der, sizeof t.der, "%s/pki/%s.der", s->env->dir, label);
    int rc = pki_token_begin(&t, label, "EC:prime256v1", why, sizeof why) ? fail("%s", why) : 0;
    rc = rc || run(s, "initialising", label, t.cmd.init) ||
         run(s, "making the key on", label, t.cmd.gen) ||
         run(s, "reading the public key of", label, t.cmd.readpub) ||
         certify(s, i, t.pub, t.der, subject) ||
         run(s, "storing the certificate on", label, t.cmd.put);
    pki_token_end(&t);
    if (rc)
        return -1;
    pki_token_uri(&t, uri, 1600);
    say(s, "  token %s (%s): P-256 key made on the token, CN=%s\n", label, tokens[i].what,
        tokens[i].name.cn);
    return 0;
}

/* The folder goes into pkcs11: URIs unescaped, so it may only hold
 * characters that need no escaping there (mkdtemp's names do). */
static int check_dir(demo_env *env)
{
    char *abs = realpath(env->dir, NULL);
    size_t n = abs ? strlen(abs) : 0;
    int rc = !abs ? fail("%s: %s", env->dir, strerror(errno))
             : n >= sizeof env->dir ? fail("%s: path too long for the demo", abs)
             : strspn(abs, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                           "0123456789-._~/+,@") != n
                 ? fail("%s: use a folder whose path has only letters, digits and - . _ ~ / + , @"
                        " (it goes into pkcs11: URIs)", abs)
                 : 0;
    if (!rc)
        memcpy(env->dir, abs, n + 1);
    free(abs);
    return rc;
}

/* Fail before making anything when the tools are missing. */
static int check_tools(void)
{
    const char *missing = !on_path("softhsm2-util") ? "softhsm2-util"
                          : !on_path("pkcs11-tool") ? "pkcs11-tool"
                          : access(PKI_MODULE, R_OK) != 0 ? PKI_MODULE
                                                      : NULL;
    return missing ? fail("%s not found; %s", missing, INSTALL_HINT) : 0;
}

/* SoftHSM reads SOFTHSM2_CONF at C_Initialize, in the tools and later in
 * this process, so the tokens live only in this folder. */
static int make_softhsm_conf(setup *s)
{
    char conf[PATH_SIZE * 2], path[PATH_SIZE];
    int n = snprintf(conf, sizeof conf,
                     "# SoftHSMv2 for the fbill demo only\n"
                     "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n",
                     in_dir(s, path, sizeof path, "tokens"));
    in_dir(s, s->env->softhsm_conf, sizeof s->env->softhsm_conf, "softhsm2.conf");
    if (pki_write_file(s->env->softhsm_conf, 0644, conf, (size_t)n))
        return fail("cannot write %s: %s", s->env->softhsm_conf, strerror(errno));
    if (setenv("SOFTHSM2_CONF", s->env->softhsm_conf, 1) != 0)
        return fail("setenv SOFTHSM2_CONF: %s", strerror(errno));
    say(s, "  SoftHSM: %s\n", s->env->softhsm_conf);
    return 0;
}

int demo_setup(demo_env *env, FILE *log)
{
    setup s = { env, log, -1, NULL, NULL };
    char path[PATH_SIZE];
    ERR_clear_error();
    if (check_dir(env) || check_tools())
        return -1;
    static const char *const sub[] = { "tokens", "pki", "pins" };
    int rc = 0;
    for (int i = 0; !rc && i < 3; i++)
        if (mkdir(in_dir(&s, path, sizeof path, sub[i]), 0700) != 0)
            rc = fail("cannot create %s: %s%s", path, strerror(errno),
                      errno == EEXIST ? " (the demo folder must be empty)" : "");
    if (!rc && (s.logfd = open(in_dir(&s, path, sizeof path, "setup.log"),
                               O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
        rc = fail("cannot create %s: %s", path, strerror(errno));
    rc = rc || make_softhsm_conf(&s) || make_root(&s) ||
         make_token(&s, 0, env->port_uri[0], env->port_subject[0]) ||
         make_token(&s, 1, env->port_uri[1], env->port_subject[1]) ||
         make_token(&s, BUREAU_TOKEN, env->bureau_uri, env->bureau_subject);
    if (s.logfd >= 0)
        close(s.logfd);
    X509_free(s.ca);
    EVP_PKEY_free(s.ca_key);
    return rc ? -1 : 0;
}
