/* fbill demo: the setup (demo_setup.h). The PKI is made here with OpenSSL;
 * the tokens with SoftHSMv2's and OpenSC's own tools, as an administrator
 * would prepare real UKeys, so the keys are born on the tokens. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "cli.h"
#include "demo_setup.h"

extern char **environ;

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define INSTALL_HINT "the demo needs SoftHSMv2 and OpenSC: apt-get install softhsm2 opensc"
#define HOSPITAL "昌吉回族自治州人民医院"
#define BUREAU "昌吉回族自治州财政局"
#define ROOT_CN "Changji Finance Root CA (demo only)"
#define DAY_SECONDS (24L * 3600)
#define PATH_SIZE 1400 /* room for DIR (< 1024) and any name below it */

typedef struct token_spec {
    const char *label, *what, *cn, *ou, *o;
} token_spec;

/* Two cashier windows of one hospital, and the bureau that seals. */
enum { BUREAU_TOKEN = 2 };
static const token_spec tokens[3] = {
    { "window-1", "昌吉州人民医院 1号收费窗口", "Window 1 Cashier", "Window 1", HOSPITAL },
    { "window-2", "昌吉州人民医院 2号收费窗口", "Window 2 Cashier", "Window 2", HOSPITAL },
    { "finance-bureau", "昌吉州财政局 票据监制章", "Finance Bureau Seal", NULL, BUREAU },
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
    char msg[2048], why[256] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, why, sizeof why);
    ERR_clear_error();
    cli_error("demo setup: %s%s%s", msg, e ? ": " : "", why);
    return -1;
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

/* The folder is fresh: an existing file means something is wrong, so it is
 * never reused (O_EXCL). Keys and PINs get mode 0600 from the start. */
static int write_file(const char *path, mode_t mode, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    return ok ? 0 : fail("cannot write %s: %s", path, strerror(errno));
}

/* A certificate as PEM or DER, or a private key as PEM (unencrypted). */
static int write_obj(const char *path, X509 *cert, EVP_PKEY *key, int der)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b && (key   ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                   : der ? i2d_X509_bio(b, cert)
                         : PEM_write_bio_X509(b, cert));
    char *data = NULL;
    long len = ok ? BIO_get_mem_data(b, &data) : 0;
    int rc = ok ? write_file(path, key ? 0600 : 0644, data, (size_t)len)
                : fail("cannot encode %s", path);
    BIO_free(b);
    return rc;
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

/* Start a tool (argv, never a shell) with stdin from /dev/null and stdout
 * and stderr into setup.log, so the demo's own output stays short. */
static int spawn(const setup *s, char *const argv[], pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int err = posix_spawn_file_actions_init(&fa);
    if (err)
        return err;
    if (!(err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) &&
        !(err = posix_spawn_file_actions_adddup2(&fa, s->logfd, 1)) &&
        !(err = posix_spawn_file_actions_adddup2(&fa, s->logfd, 2)))
        err = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

/* Run a tool on a token and wait for it. The command goes to setup.log
 * first, PINs masked, so that a failure can be read there in context. */
static int run(const setup *s, const char *step, const char *label, char *const argv[])
{
    pid_t pid;
    int status;
    dprintf(s->logfd, "+");
    for (size_t i = 0; argv[i]; i++)
        dprintf(s->logfd, " %s", i && strstr(argv[i - 1], "-pin") ? "****" : argv[i]);
    dprintf(s->logfd, "\n");
    int err = spawn(s, argv, &pid);
    if (err)
        return fail("cannot run %s: %s%s%s", argv[0], strerror(err), err == ENOENT ? "; " : "",
                    err == ENOENT ? INSTALL_HINT : "");
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return fail("waiting for %s: %s", argv[0], strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    return fail("%s token %s: %s failed (%s %d); its messages are in %s/setup.log", step, label,
                argv[0], WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), s->env->dir);
}

/* 127 random bits, the top one set: a positive serial of exactly 16 bytes
 * in DER (a 128th bit would need a leading zero byte). */
static int set_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    ASN1_INTEGER *serial = bn && BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY)
                               ? BN_to_ASN1_INTEGER(bn, NULL)
                               : NULL;
    int ok = serial && X509_set_serialNumber(x, serial);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return ok;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

/* The root may only certify; a leaf only signs documents (nonRepudiation:
 * a bill's signature stands for the unit). */
static int add_exts(X509 *x, X509 *issuer, int is_ca)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    if (is_ca)
        return add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") &&
               add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") &&
               add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    return add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,nonRepudiation") &&
           add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
           add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
}

/* C, O, OU, CN in that order, so the RFC 2253 line reads CN first. UTF-8
 * in, UTF8String out (OpenSSL 3's default mask) for the Chinese names. */
static X509_NAME *make_name(const char *o, const char *ou, const char *cn)
{
    const char *field[4] = { "C", "O", "OU", "CN" }, *value[4] = { "CN", o, ou, cn };
    X509_NAME *n = X509_NAME_new();
    for (int i = 0; n && i < 4; i++)
        if (value[i] && !X509_NAME_add_entry_by_txt(n, field[i], MBSTRING_UTF8,
                                                    (const unsigned char *)value[i], -1, -1, 0)) {
            X509_NAME_free(n);
            n = NULL;
        }
    return n;
}

/* A certificate for key, signed by the root; the root itself when s->ca is
 * still NULL. Valid from a day ago, so clocks a little behind accept it. */
static X509 *make_cert(const setup *s, EVP_PKEY *key, X509_NAME *name, int days)
{
    X509 *x = X509_new();
    int is_ca = !s->ca;
    int ok = x && name && X509_set_version(x, X509_VERSION_3) && set_serial(x) &&
             X509_set_subject_name(x, name) &&
             X509_set_issuer_name(x, is_ca ? name : X509_get_subject_name(s->ca)) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -DAY_SECONDS) &&
             X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) && X509_set_pubkey(x, key) &&
             add_exts(x, is_ca ? x : s->ca, is_ca) && X509_sign(x, s->ca_key, EVP_sha256()) > 0;
    X509_NAME_free(name);
    if (!ok)
        X509_free(x);
    return ok ? x : NULL;
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
    s->ca_key = EVP_EC_gen("P-256");
    s->ca = s->ca_key ? make_cert(s, s->ca_key, make_name("fiscalbill demo", NULL, ROOT_CN), 730)
                      : NULL;
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

/* n random decimal digits; bytes of 250 and up are dropped so that every
 * digit is equally likely. */
static int random_digits(char *out, size_t n)
{
    unsigned char b[32];
    size_t i = 0;
    while (i < n) {
        if (RAND_bytes(b, sizeof b) != 1)
            return fail("no random bytes for a PIN");
        for (size_t j = 0; j < sizeof b && i < n; j++)
            if (b[j] < 250)
                out[i++] = (char)('0' + b[j] % 10);
    }
    out[n] = '\0';
    OPENSSL_cleanse(b, sizeof b);
    return 0;
}

/* The token's public key (DER SubjectPublicKeyInfo, as pkcs11-tool writes
 * it). Only EC P-256 is expected: the seal hash is SHA-256 for it. */
static EVP_PKEY *read_pubkey(const char *path)
{
    BIO *b = BIO_new_file(path, "rb");
    EVP_PKEY *k = b ? d2i_PUBKEY_bio(b, NULL) : NULL;
    BIO_free(b);
    if (k && (!EVP_PKEY_is_a(k, "EC") || EVP_PKEY_get_bits(k) != 256)) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    if (!k)
        fail("%s: not an EC P-256 public key", path);
    return k;
}

/* Issue the leaf for a token's key; write DER (for the token) and PEM; note
 * its subject, and for the bureau its seal hash (X509_digest hashes the
 * DER, as the seal hash is defined). */
static int certify(setup *s, int t, const char *pub, const char *der, char *subject)
{
    char pem[PATH_SIZE];
    unsigned char md[32];
    unsigned int n = 0;
    EVP_PKEY *key = read_pubkey(pub);
    X509 *x = key ? make_cert(s, key, make_name(tokens[t].o, tokens[t].ou, tokens[t].cn), 365)
                  : NULL;
    int rc = x ? 0 : key ? fail("cannot certify the key of %s", tokens[t].label) : -1;
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

/* One token: initialised, a key pair generated on it, the public key read
 * back and certified, the certificate stored next to the key (same CKA_ID).
 * PINs go on the tools' command lines: acceptable for a throw-away demo. */
static int make_token(setup *s, int t, char *uri, char *subject)
{
    char *label = (char *)tokens[t].label, pin[9], so_pin[17];
    char pin_path[PATH_SIZE], pub[PATH_SIZE], der[PATH_SIZE];
    snprintf(pin_path, sizeof pin_path, "%s/pins/%s.pin", s->env->dir, label);
    snprintf(pub, sizeof pub, "%s/pki/%s.pub.der", s->env->dir, label);
    snprintf(der, sizeof der, "%s/pki/%s.der", s->env->dir, label);
    char *init[] = { "softhsm2-util", "--init-token", "--free", "--label", label,
                     "--pin", pin, "--so-pin", so_pin, NULL };
    char *gen[] = { "pkcs11-tool", "--module", MODULE, "--token-label", label, "--login",
                    "--pin", pin, "--keypairgen", "--key-type", "EC:prime256v1",
                    "--id", "01", "--label", "key", NULL };
    char *readpub[] = { "pkcs11-tool", "--module", MODULE, "--token-label", label,
                        "--read-object", "--type", "pubkey", "--id", "01",
                        "--output-file", pub, NULL };
    char *put[] = { "pkcs11-tool", "--module", MODULE, "--token-label", label, "--login",
                    "--pin", pin, "--write-object", der, "--type", "cert",
                    "--id", "01", "--label", "cert", NULL };
    int rc = random_digits(pin, 8) || random_digits(so_pin, 16) ||
             write_file(pin_path, 0600, pin, 8) || run(s, "initialising", label, init) ||
             run(s, "making the key on", label, gen) ||
             run(s, "reading the public key of", label, readpub) ||
             certify(s, t, pub, der, subject) || run(s, "storing the certificate on", label, put);
    OPENSSL_cleanse(pin, sizeof pin);
    OPENSSL_cleanse(so_pin, sizeof so_pin);
    if (rc)
        return -1;
    snprintf(uri, 1600, "pkcs11:token=%s;id=%%01?module-path=%s&pin-source=file:%s", label,
             MODULE, pin_path);
    say(s, "  token %s (%s): P-256 key made on the token, CN=%s\n", label, tokens[t].what,
        tokens[t].cn);
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
                          : access(MODULE, R_OK) != 0 ? MODULE
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
    if (write_file(s->env->softhsm_conf, 0644, conf, (size_t)n))
        return -1;
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
