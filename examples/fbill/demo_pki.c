/* fbill demo and bench: making a throw-away PKI (demo_pki.h). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include "cli.h"
#include "demo_pki.h"

extern char **environ;

#define SM2_ID "1234567812345678"
#define DAY_SECONDS (24L * 3600)

int pki_vfail(const char *prefix, const char *fmt, va_list ap)
{
    char msg[2048], why[256] = "";
    vsnprintf(msg, sizeof msg, fmt, ap);
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, why, sizeof why);
    ERR_clear_error();
    cli_error("%s: %s%s%s", prefix, msg, e ? ": " : "", why);
    return -1;
}

int pki_write_file(const char *path, mode_t mode, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* Write what b holds (when encoded says it was filled) and free b. */
static int save_bio(const char *path, BIO *b, int encoded, mode_t mode, char *why,
                    size_t why_size)
{
    char *data = NULL;
    long len = encoded ? BIO_get_mem_data(b, &data) : 0;
    int rc = encoded ? pki_write_file(path, mode, data, (size_t)len) : -1;
    if (!encoded)
        snprintf(why, why_size, "cannot encode %s", path);
    else if (rc)
        snprintf(why, why_size, "cannot write %s: %s", path, strerror(errno));
    BIO_free(b);
    return rc;
}

int pki_save_cert(const char *path, X509 *cert, bool der, char *why, size_t why_size)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b && (der ? i2d_X509_bio(b, cert) : PEM_write_bio_X509(b, cert));
    return save_bio(path, b, ok, 0644, why, why_size);
}

int pki_save_key(const char *path, EVP_PKEY *key, char *why, size_t why_size)
{
    BIO *b = BIO_new(BIO_s_mem());
    int ok = b && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    return save_bio(path, b, ok, 0600, why, why_size);
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

/* nonRepudiation on a leaf: a bill's signature stands for the unit. */
static int add_exts(X509 *x, X509 *issuer)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    if (!issuer)
        return add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") &&
               add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") &&
               add_ext(x, &ctx, NID_subject_key_identifier, "hash");
    return add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,nonRepudiation") &&
           add_ext(x, &ctx, NID_subject_key_identifier, "hash") &&
           add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
}

/* C, O, OU, CN in that order, so the RFC 2253 line reads CN first. UTF-8
 * in, UTF8String out (OpenSSL 3's default mask) for the Chinese names. */
static X509_NAME *make_name(const pki_name *subject)
{
    const char *field[4] = { "C", "O", "OU", "CN" };
    const char *value[4] = { "CN", subject->o, subject->ou, subject->cn };
    X509_NAME *n = X509_NAME_new();
    for (int i = 0; n && i < 4; i++)
        if (value[i] && !X509_NAME_add_entry_by_txt(n, field[i], MBSTRING_UTF8,
                                                    (const unsigned char *)value[i], -1, -1, 0)) {
            X509_NAME_free(n);
            n = NULL;
        }
    return n;
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

/* Valid from a day ago, so that clocks a little behind accept it. */
X509 *pki_make_cert(EVP_PKEY *pub, const pki_name *subject, int days, X509 *issuer,
                    EVP_PKEY *signer)
{
    X509 *x = X509_new();
    X509_NAME *name = make_name(subject);
    int ok = x && name && X509_set_version(x, X509_VERSION_3) && set_serial(x) &&
             X509_set_subject_name(x, name) &&
             X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name) &&
             X509_gmtime_adj(X509_getm_notBefore(x), -DAY_SECONDS) &&
             X509_time_adj_ex(X509_getm_notAfter(x), days, 0, NULL) && X509_set_pubkey(x, pub) &&
             add_exts(x, issuer) && sign_cert(x, signer);
    X509_NAME_free(name);
    if (!ok)
        X509_free(x);
    return ok ? x : NULL;
}

EVP_PKEY *pki_read_pubkey(const char *path, const char *type, int bits)
{
    BIO *b = BIO_new_file(path, "rb");
    EVP_PKEY *k = b ? d2i_PUBKEY_bio(b, NULL) : NULL;
    BIO_free(b);
    if (k && type && (!EVP_PKEY_is_a(k, type) || EVP_PKEY_get_bits(k) != bits)) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    return k;
}

/* PINs masked, so that the log can be read, and shown, safely. */
static void echo_cmd(int logfd, char *const argv[])
{
    dprintf(logfd, "+");
    for (size_t i = 0; argv[i]; i++)
        dprintf(logfd, " %s", i && strstr(argv[i - 1], "-pin") ? "****" : argv[i]);
    dprintf(logfd, "\n");
}

static int spawn(int logfd, char *const argv[], pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int err = posix_spawn_file_actions_init(&fa);
    if (err)
        return err;
    if (!(err = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0)) &&
        !(err = posix_spawn_file_actions_adddup2(&fa, logfd, 1)) &&
        !(err = posix_spawn_file_actions_adddup2(&fa, logfd, 2)))
        err = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

static int not_run(const char *what, const char *tool, int err, char *why, size_t why_size)
{
    snprintf(why, why_size, "%s %s: %s", what, tool, strerror(err));
    errno = err;
    return -1;
}

int pki_run(int logfd, bool echo, char *const argv[], int *status, char *why, size_t why_size)
{
    pid_t pid;
    int st, err;
    *status = -1;
    if (echo)
        echo_cmd(logfd, argv);
    if ((err = spawn(logfd, argv, &pid)))
        return not_run("cannot run", argv[0], err, why, why_size);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return not_run("waiting for", argv[0], errno, why, why_size);
    *status = st;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Bytes of 250 and up are dropped so that every digit is equally likely. */
static int random_digits(char *out, size_t n)
{
    unsigned char b[32];
    size_t i = 0;
    while (i < n) {
        if (RAND_bytes(b, sizeof b) != 1)
            return -1;
        for (size_t j = 0; j < sizeof b && i < n; j++)
            if (b[j] < 250)
                out[i++] = (char)('0' + b[j] % 10);
    }
    out[n] = '\0';
    OPENSSL_cleanse(b, sizeof b);
    return 0;
}

static void token_cmds(pki_token *t)
{
    char *m = PKI_MODULE;
    pki_token_cmds c = {
        .init = { "softhsm2-util", "--init-token", "--free", "--label", t->label, "--pin",
                  t->pin, "--so-pin", t->so_pin, NULL },
        .gen = { "pkcs11-tool", "--module", m, "--token-label", t->label, "--login", "--pin",
                 t->pin, "--keypairgen", "--key-type", t->key_type, "--id", "01", "--label",
                 "key", NULL },
        .readpub = { "pkcs11-tool", "--module", m, "--token-label", t->label, "--read-object",
                     "--type", "pubkey", "--id", "01", "--output-file", t->pub, NULL },
        .put = { "pkcs11-tool", "--module", m, "--token-label", t->label, "--login", "--pin",
                 t->pin, "--write-object", t->der, "--type", "cert", "--id", "01", "--label",
                 "cert", NULL },
    };
    t->cmd = c;
}

int pki_token_begin(pki_token *t, const char *label, const char *key_type, char *why,
                    size_t why_size)
{
    snprintf(t->label, sizeof t->label, "%s", label);
    snprintf(t->key_type, sizeof t->key_type, "%s", key_type);
    token_cmds(t);
    if (random_digits(t->pin, 8) || random_digits(t->so_pin, 16)) {
        snprintf(why, why_size, "no random bytes for a PIN");
        return -1;
    }
    if (pki_write_file(t->pin_path, 0600, t->pin, 8)) {
        snprintf(why, why_size, "cannot write %s: %s", t->pin_path, strerror(errno));
        return -1;
    }
    return 0;
}

void pki_token_end(pki_token *t)
{
    OPENSSL_cleanse(t->pin, sizeof t->pin);
    OPENSSL_cleanse(t->so_pin, sizeof t->so_pin);
}

void pki_token_uri(const pki_token *t, char *out, size_t size)
{
    snprintf(out, size, "pkcs11:token=%s;id=%%01?module-path=%s&pin-source=file:%s", t->label,
             PKI_MODULE, t->pin_path);
}
