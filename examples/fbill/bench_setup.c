/* fbill bench: the world beyond the demo's. The demo makes P-256 tokens;
 * bench needs every algorithm a port signs with: an RSA-2048 token (its
 * key made on the token, as an administrator would), an SM2 CA with SM2
 * unit and bureau keys, an RSA bureau key and a P-256 key, in files. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "cli.h"
#include "bench.h"

extern char **environ;

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define SM2_ID "1234567812345678"
#define DAY_SECONDS (24L * 3600)

typedef struct maker {
    bench_world *w;
    int logfd;                   /* bench/setup.log: what the tools said */
    X509 *ca, *sm2_ca;           /* the demo's root, and bench's SM2 root */
    EVP_PKEY *ca_key, *sm2_key;
} maker;

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
    cli_error("bench setup: %s%s%s", msg, e ? ": " : "", why);
    return -1;
}

static char *in_bench(const maker *m, char *out, const char *name)
{
    snprintf(out, BENCH_PATH, "%s/%s", m->w->bench_dir, name);
    return out;
}

void bench_pin_path(const bench_world *w, const char *label, char *out, size_t size)
{
    /* The demo keeps its PINs in DIR/pins (demo_setup.h); bench's own
     * token keeps its PIN next to its other files. */
    if (!strcmp(label, "rsa-unit"))
        snprintf(out, size, "%s/rsa-unit.pin", w->bench_dir);
    else
        snprintf(out, size, "%s/pins/%s.pin", w->demo.dir, label);
}

/* A tool (argv, no shell), its output into setup.log. */
static int run_tool(const maker *m, char *const argv[])
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status, err = posix_spawn_file_actions_init(&fa);
    if (!err && !(err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) &&
        !(err = posix_spawn_file_actions_adddup2(&fa, m->logfd, 1)) &&
        !(err = posix_spawn_file_actions_adddup2(&fa, m->logfd, 2)))
        err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err)
        return fail("cannot run %s: %s", argv[0], strerror(err));
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return fail("waiting for %s: %s", argv[0], strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    return fail("%s failed; its messages are in %s/setup.log", argv[0], m->w->bench_dir);
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    return ok ? 0 : fail("cannot write %s: %s", path, strerror(errno));
}

/* A certificate (PEM, or DER for a token) or a private key (PEM). */
static int save(const char *path, X509 *cert, EVP_PKEY *key, int der)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b && (key   ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL)
                   : der ? i2d_X509_bio(b, cert)
                         : PEM_write_bio_X509(b, cert));
    char *data = NULL;
    long len = ok ? BIO_get_mem_data(b, &data) : 0;
    int rc = ok ? write_file(path, data, (size_t)len, key ? 0600 : 0644)
                : fail("cannot encode %s", path);
    BIO_free(b);
    return rc;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
    int ok = e && X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
    return ok;
}

static int add_exts(X509 *x, X509 *issuer, int is_ca)
{
    if (is_ca)
        return add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") &&
               add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") &&
               add_ext(x, x, NID_subject_key_identifier, "hash");
    return add_ext(x, issuer, NID_key_usage, "critical,digitalSignature,nonRepudiation") &&
           add_ext(x, issuer, NID_subject_key_identifier, "hash") &&
           add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
}

/* SM2 certificates are signed with the GM/T 0009 user ID, which is what
 * fiscalbill's trust sets on them to check their signatures. */
static int sign_cert(X509 *x, EVP_PKEY *key)
{
    int sm2 = EVP_PKEY_is_a(key, "SM2");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int ok = md && EVP_DigestSignInit(md, &pctx, sm2 ? EVP_sm3() : EVP_sha256(), NULL, key) &&
             (!sm2 || EVP_PKEY_CTX_set1_id(pctx, SM2_ID, strlen(SM2_ID)) > 0) &&
             X509_sign_ctx(x, md) > 0;
    EVP_MD_CTX_free(md);
    return ok;
}

static int set_serial(X509 *x)
{
    BIGNUM *bn = BN_new();
    ASN1_INTEGER *serial = bn && BN_rand(bn, 127, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY)
                               ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    int ok = serial && X509_set_serialNumber(x, serial);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return ok;
}

static X509_NAME *name_of(const char *cn)
{
    const char *field[3] = { "C", "O", "CN" }, *value[3] = { "CN", "fiscalbill bench", cn };
    X509_NAME *n = X509_NAME_new();
    for (int i = 0; n && i < 3; i++)
        if (!X509_NAME_add_entry_by_txt(n, field[i], MBSTRING_UTF8,
                                        (const unsigned char *)value[i], -1, -1, 0)) {
            X509_NAME_free(n);
            n = NULL;
        }
    return n;
}

/* A certificate for pub, by issuer; self-signed (a root) when issuer is
 * NULL, with key then the root's own. Valid from a day ago for a year. */
static X509 *make_cert(EVP_PKEY *pub, const char *cn, X509 *issuer, EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_NAME *name = name_of(cn);
    int ok = x && name && X509_set_version(x, X509_VERSION_3) && set_serial(x) &&
             X509_set_subject_name(x, name) &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -DAY_SECONDS) &&
             X509_time_adj_ex(X509_getm_notAfter(x), 365, 0, NULL) && X509_set_pubkey(x, pub) &&
             add_exts(x, issuer, !issuer) && sign_cert(x, key);
    X509_NAME_free(name);
    if (!ok) {
        X509_free(x);
        fail("cannot make the certificate of %s", cn);
    }
    return ok ? x : NULL;
}

static int load_demo_ca(maker *m)
{
    char path[BENCH_PATH];
    snprintf(path, sizeof path, "%s/pki/finance-root.key", m->w->demo.dir);
    FILE *f = fopen(path, "rb");
    m->ca_key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    f = fopen(m->w->demo.trust_pem, "rb");
    m->ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    return m->ca && m->ca_key ? 0 : fail("cannot read the demo CA in %s/pki", m->w->demo.dir);
}

static int make_sm2_root(maker *m)
{
    char path[BENCH_PATH];
    m->sm2_key = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    m->sm2_ca = m->sm2_key ? make_cert(m->sm2_key, "Bench SM2 Root CA", NULL, m->sm2_key) : NULL;
    in_bench(m, m->w->sm2_root, "sm2-root.pem");
    return !m->sm2_ca || save(m->w->sm2_root, m->sm2_ca, NULL, 0) ||
           save(in_bench(m, path, "sm2-root.key"), NULL, m->sm2_key, 0);
}

/* The key files: which algorithm, and who certifies them. */
static const struct {
    const char *name, *cn;
    int alg;
} softs[SOFT_COUNT] = {
    [SOFT_RSA_BUREAU] = { "rsa-bureau", "Bench RSA Bureau", ALG_RSA },
    [SOFT_SM2_UNIT] = { "sm2-unit", "Bench SM2 Unit", ALG_SM2 },
    [SOFT_SM2_BUREAU] = { "sm2-bureau", "Bench SM2 Bureau", ALG_SM2 },
    [SOFT_P256] = { "p256-file", "Bench P-256 File Port", ALG_P256 },
};

static int make_soft(maker *m, int i)
{
    char name[64];
    int alg = softs[i].alg;
    EVP_PKEY *key = alg == ALG_RSA   ? EVP_RSA_gen(2048)
                    : alg == ALG_SM2 ? EVP_PKEY_Q_keygen(NULL, NULL, "SM2")
                                     : EVP_EC_gen("P-256");
    X509 *x = !key             ? NULL
              : alg == ALG_SM2 ? make_cert(key, softs[i].cn, m->sm2_ca, m->sm2_key)
                               : make_cert(key, softs[i].cn, m->ca, m->ca_key);
    snprintf(name, sizeof name, "%s.key", softs[i].name);
    in_bench(m, m->w->soft_key[i], name);
    snprintf(name, sizeof name, "%s.pem", softs[i].name);
    in_bench(m, m->w->soft_cert[i], name);
    int rc = !x || save(m->w->soft_key[i], NULL, key, 0) || save(m->w->soft_cert[i], x, NULL, 0);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc ? -1 : 0;
}

static int random_digits(char *out, size_t n)
{
    unsigned char b[64];
    size_t i = 0;
    while (i < n) {
        if (RAND_bytes(b, sizeof b) != 1)
            return fail("no random bytes for a PIN");
        for (size_t j = 0; j < sizeof b && i < n; j++)
            if (b[j] < 250) /* so that every digit is equally likely */
                out[i++] = (char)('0' + b[j] % 10);
    }
    out[n] = '\0';
    return 0;
}

static int certify_token_key(maker *m, const char *pub, const char *der)
{
    BIO *b = BIO_new_file(pub, "rb");
    EVP_PKEY *key = b ? d2i_PUBKEY_bio(b, NULL) : NULL;
    BIO_free(b);
    X509 *x = key ? make_cert(key, "Bench RSA Unit (token)", m->ca, m->ca_key) : NULL;
    int rc = !key ? fail("%s: not a public key", pub) : !x || save(der, x, NULL, 1);
    X509_free(x);
    EVP_PKEY_free(key);
    return rc ? -1 : 0;
}

/* The RSA token, made as demo_setup makes its tokens: the key pair is
 * generated on the token, its public key certified, the certificate stored
 * beside the key with the same CKA_ID. */
static int make_rsa_token(maker *m)
{
    char pin[9], so_pin[17], pin_path[BENCH_PATH], pub[BENCH_PATH], der[BENCH_PATH];
    char label[] = "rsa-unit";
    bench_pin_path(m->w, label, pin_path, sizeof pin_path);
    in_bench(m, pub, "rsa-unit.pub.der");
    in_bench(m, der, "rsa-unit.der");
    char *init[] = { "softhsm2-util", "--init-token", "--free", "--label", label,
                     "--pin", pin, "--so-pin", so_pin, NULL };
    char *gen[] = { "pkcs11-tool", "--module", MODULE, "--token-label", label, "--login",
                    "--pin", pin, "--keypairgen", "--key-type", "rsa:2048", "--id", "01",
                    "--label", "key", NULL };
    char *readpub[] = { "pkcs11-tool", "--module", MODULE, "--token-label", label,
                        "--read-object", "--type", "pubkey", "--id", "01", "--output-file",
                        pub, NULL };
    char *put[] = { "pkcs11-tool", "--module", MODULE, "--token-label", label, "--login",
                    "--pin", pin, "--write-object", der, "--type", "cert", "--id", "01",
                    "--label", "cert", NULL };
    int rc = random_digits(pin, 8) || random_digits(so_pin, 16) ||
             write_file(pin_path, pin, 8, 0600) || run_tool(m, init) || run_tool(m, gen) ||
             run_tool(m, readpub) || certify_token_key(m, pub, der) || run_tool(m, put);
    OPENSSL_cleanse(pin, sizeof pin);
    OPENSSL_cleanse(so_pin, sizeof so_pin);
    snprintf(m->w->rsa_uri, sizeof m->w->rsa_uri,
             "pkcs11:token=%s;id=%%01?module-path=%s&pin-source=file:%s", label, MODULE,
             pin_path);
    return rc ? -1 : 0;
}

int bench_world_setup(bench_world *w, const char *dir)
{
    maker m = { w, -1, NULL, NULL, NULL, NULL };
    char path[BENCH_PATH];
    snprintf(w->demo.dir, sizeof w->demo.dir, "%s/world", dir);
    if (mkdir(w->demo.dir, 0700) != 0)
        return fail("cannot create %s: %s", w->demo.dir, strerror(errno));
    /* Tokens must all exist before the first C_Initialize in this process:
     * SoftHSM reads its token folder then. demo_setup initialises none. */
    if (demo_setup(&w->demo, NULL))
        return -1;
    snprintf(w->bench_dir, sizeof w->bench_dir, "%s/bench", w->demo.dir);
    if (mkdir(w->bench_dir, 0700) != 0)
        return fail("cannot create %s: %s", w->bench_dir, strerror(errno));
    m.logfd = open(in_bench(&m, path, "setup.log"), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                   0600);
    int rc = m.logfd < 0 ? fail("cannot create %s: %s", path, strerror(errno)) : 0;
    rc = rc || load_demo_ca(&m) || make_sm2_root(&m) || make_rsa_token(&m);
    for (int i = 0; !rc && i < SOFT_COUNT; i++)
        rc = make_soft(&m, i);
    if (m.logfd >= 0)
        close(m.logfd);
    X509_free(m.ca);
    X509_free(m.sm2_ca);
    EVP_PKEY_free(m.ca_key);
    EVP_PKEY_free(m.sm2_key);
    return rc ? -1 : 0;
}
