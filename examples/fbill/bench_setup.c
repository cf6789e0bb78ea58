/* fbill bench: the world beyond the demo's. The demo makes P-256 tokens;
 * bench needs every algorithm a port signs with: an RSA-2048 token (its
 * key made on the token, as an administrator would), an SM2 CA with SM2
 * unit and bureau keys, an RSA bureau key and a P-256 key, in files. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/pem.h>
#include "bench.h"
#include "demo_pki.h"

typedef struct maker {
    bench_world *w;
    int logfd;                   /* bench/setup.log: what the tools said */
    X509 *ca, *sm2_ca;           /* the demo's root, and bench's SM2 root */
    EVP_PKEY *ca_key, *sm2_key;
} maker;

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = pki_vfail("bench setup", fmt, ap);
    va_end(ap);
    return rc;
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

/* A tool, its output into setup.log (the commands are not logged). */
static int run_tool(const maker *m, char *const argv[])
{
    char why[PKI_WHY];
    int status;
    if (!pki_run(m->logfd, false, argv, &status, why, sizeof why))
        return 0;
    if (status < 0)
        return fail("%s", why);
    return fail("%s failed; its messages are in %s/setup.log", argv[0], m->w->bench_dir);
}

static int save(const char *path, X509 *cert, EVP_PKEY *key, bool der)
{
    char why[PKI_WHY];
    int rc = key ? pki_save_key(path, key, why, sizeof why)
                 : pki_save_cert(path, cert, der, why, sizeof why);
    return rc ? fail("%s", why) : 0;
}

/* bench's own names, C=CN, O=fiscalbill bench, valid for a year. */
static X509 *make_cert(EVP_PKEY *pub, const char *cn, X509 *issuer, EVP_PKEY *key)
{
    pki_name name = { "fiscalbill bench", NULL, cn };
    X509 *x = pki_make_cert(pub, &name, 365, issuer, key);
    if (!x)
        fail("cannot make the certificate of %s", cn);
    return x;
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

static int certify_token_key(maker *m, const char *pub, const char *der)
{
    EVP_PKEY *key = pki_read_pubkey(pub, NULL, 0);
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
    char why[PKI_WHY];
    pki_token t;
    bench_pin_path(m->w, "rsa-unit", t.pin_path, sizeof t.pin_path);
    snprintf(t.pub, sizeof t.pub, "%s/rsa-unit.pub.der", m->w->bench_dir);
    snprintf(t.der, sizeof t.der, "%s/rsa-unit.der", m->w->bench_dir);
    int rc = pki_token_begin(&t, "rsa-unit", "rsa:2048", why, sizeof why) ? fail("%s", why) : 0;
    rc = rc || run_tool(m, t.cmd.init) || run_tool(m, t.cmd.gen) || run_tool(m, t.cmd.readpub) ||
         certify_token_key(m, t.pub, t.der) || run_tool(m, t.cmd.put);
    pki_token_end(&t);
    pki_token_uri(&t, m->w->rsa_uri, sizeof m->w->rsa_uri);
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
