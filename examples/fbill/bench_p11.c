/* fbill bench: the token baseline. The same token's key, reached through
 * PKCS#11 directly: C_SignInit + C_Sign on a fixed 32-byte digest and the
 * OpenSSL verifications a signature must pass, and nothing else. What
 * fb_issue or fb_seal take beyond this is fiscalbill's own cost. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
/* p11-kit's PKCS#11 header, reached through its folder under /usr/include
 * so that the fbill program needs no new build dependency for it. */
#include <p11-kit-1/p11-kit/pkcs11.h>
#include "cli.h"
#include "bench.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"

struct bench_p11 {
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    CK_SESSION_HANDLE session;
    int open;
    CK_OBJECT_HANDLE key;
    CK_MECHANISM_TYPE mech;
    uint8_t dgst[32];
    uint8_t input[64]; /* what the token signs: the digest, or its DigestInfo */
    size_t input_len;
    EVP_PKEY *pub;
    EVP_PKEY_CTX *verify;
    int verifies;
};

static char version[160];

/* PKCS#11 pads its strings with spaces. */
static int unpadded(const CK_UTF8CHAR *s, int n)
{
    while (n > 0 && s[n - 1] == ' ')
        n--;
    return n;
}

static void note_version(CK_FUNCTION_LIST_PTR f)
{
    CK_INFO info;
    if (*version || f->C_GetInfo(&info) != CKR_OK)
        return;
    int m = unpadded(info.manufacturerID, sizeof info.manufacturerID);
    int d = unpadded(info.libraryDescription, sizeof info.libraryDescription);
    snprintf(version, sizeof version, "%.*s %u.%u (%.*s, Cryptoki %u.%u)", m,
             (const char *)info.manufacturerID, info.libraryVersion.major,
             info.libraryVersion.minor, d, (const char *)info.libraryDescription,
             info.cryptokiVersion.major, info.cryptokiVersion.minor);
}

/* Asked after the ports are open, so the module is initialised. */
const char *bench_p11_version(void)
{
    void *dl = *version ? NULL : dlopen(MODULE, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get = dl ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
    CK_FUNCTION_LIST_PTR f;
    if (get && get(&f) == CKR_OK)
        note_version(f);
    if (dl)
        dlclose(dl);
    return version;
}

/* dlopen returns the handle fiscalbill already holds, and C_Initialize
 * answers that the module is initialised: one SoftHSM in the process. */
static int load(bench_p11 *k)
{
    k->dl = dlopen(MODULE, RTLD_NOW | RTLD_LOCAL);
    CK_C_GetFunctionList get = k->dl ? (CK_C_GetFunctionList)dlsym(k->dl, "C_GetFunctionList")
                                     : NULL;
    if (!get || get(&k->f) != CKR_OK)
        return -1;
    CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
    CK_RV rv = k->f->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return -1;
    /* Initialised here: the ports were opened first, so this does not
     * happen; if it did, the module would stay initialised to the end. */
    note_version(k->f);
    return 0;
}

static int find_slot(const bench_p11 *k, const char *label, CK_SLOT_ID *slot)
{
    CK_SLOT_ID slots[64];
    CK_ULONG n = 64;
    if (k->f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
        return -1;
    for (CK_ULONG i = 0; i < n && i < 64; i++) {
        CK_TOKEN_INFO ti;
        size_t len = strlen(label);
        if (k->f->C_GetTokenInfo(slots[i], &ti) == CKR_OK && len <= sizeof ti.label &&
            !memcmp(ti.label, label, len) &&
            (len == sizeof ti.label || ti.label[len] == ' ')) {
            *slot = slots[i];
            return 0;
        }
    }
    return -1;
}

static int login(bench_p11 *k, const char *pin_path)
{
    char pin[64] = "";
    FILE *f = fopen(pin_path, "r");
    size_t n = f ? fread(pin, 1, sizeof pin - 1, f) : 0;
    if (f)
        fclose(f);
    while (n && (pin[n - 1] == '\n' || pin[n - 1] == '\r'))
        n--;
    CK_RV rv = n ? k->f->C_Login(k->session, CKU_USER, (CK_UTF8CHAR_PTR)pin, n) : CKR_PIN_INVALID;
    memset(pin, 0, sizeof pin);
    /* Login is per token and application: the port logged in already. */
    return rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN ? 0 : -1;
}

static int find_key(bench_p11 *k)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_BYTE id = 1;
    CK_KEY_TYPE type;
    CK_ATTRIBUTE want[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_ID, &id, 1 } };
    CK_ATTRIBUTE get = { CKA_KEY_TYPE, &type, sizeof type };
    CK_ULONG found = 0;
    if (k->f->C_FindObjectsInit(k->session, want, 2) != CKR_OK)
        return -1;
    CK_RV rv = k->f->C_FindObjects(k->session, &k->key, 1, &found);
    k->f->C_FindObjectsFinal(k->session);
    if (rv != CKR_OK || found != 1 ||
        k->f->C_GetAttributeValue(k->session, k->key, &get, 1) != CKR_OK)
        return -1;
    k->mech = type == CKK_RSA ? CKM_RSA_PKCS : CKM_ECDSA;
    return 0;
}

/* The digest the token signs, and the verification context, made once:
 * the baseline is the least work a signature needs. */
static int prepare(bench_p11 *k, const uint8_t *cert_der, size_t cert_len)
{
    static const uint8_t sha256_info[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                             0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                             0x01, 0x05, 0x00, 0x04, 0x20 };
    X509 *x = d2i_X509(NULL, &cert_der, (long)cert_len);
    k->pub = x ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    EVP_Digest("fbill bench", 11, k->dgst, NULL, EVP_sha256(), NULL);
    k->input_len = 0;
    if (k->mech == CKM_RSA_PKCS) {
        memcpy(k->input, sha256_info, sizeof sha256_info);
        k->input_len = sizeof sha256_info;
    }
    memcpy(k->input + k->input_len, k->dgst, 32);
    k->input_len += 32;
    k->verify = k->pub ? EVP_PKEY_CTX_new_from_pkey(NULL, k->pub, NULL) : NULL;
    return k->verify && EVP_PKEY_verify_init(k->verify) > 0 &&
                   (k->mech != CKM_RSA_PKCS ||
                    EVP_PKEY_CTX_set_rsa_padding(k->verify, RSA_PKCS1_PADDING) > 0) &&
                   EVP_PKEY_CTX_set_signature_md(k->verify, EVP_sha256()) > 0
               ? 0 : -1;
}

/* The steps of opening; the one that failed, or NULL. */
static const char *open_steps(bench_p11 *k, const char *label, const char *pin_path,
                              const uint8_t *cert_der, size_t cert_len)
{
    CK_SLOT_ID slot = 0;
    if (load(k))
        return "loading " MODULE;
    if (find_slot(k, label, &slot))
        return "finding the token";
    if (k->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &k->session) != CKR_OK)
        return "opening a session";
    k->open = 1;
    if (login(k, pin_path))
        return "logging in";
    if (find_key(k))
        return "finding the key with CKA_ID 01";
    if (prepare(k, cert_der, cert_len))
        return "preparing the verification";
    return NULL;
}

int bench_p11_open(bench_p11 **out, const char *label, const char *pin_path,
                   const uint8_t *cert_der, size_t cert_len, int verifies)
{
    bench_p11 *k = calloc(1, sizeof *k);
    const char *failed = k ? open_steps(k, label, pin_path, cert_der, cert_len) : "memory";
    if (failed) {
        cli_error("bench: token %s: %s failed", label, failed);
        bench_p11_close(k);
        return -1;
    }
    k->verifies = verifies;
    *out = k;
    return 0;
}

void bench_p11_close(bench_p11 *k)
{
    if (!k)
        return;
    if (k->open)
        k->f->C_CloseSession(k->session);
    EVP_PKEY_CTX_free(k->verify);
    EVP_PKEY_free(k->pub);
    /* Drops only this reference: fiscalbill's keeps the module loaded. */
    if (k->dl)
        dlclose(k->dl);
    free(k);
}

/* DER INTEGER of a 32-byte big-endian value: leading zeros dropped, a zero
 * byte added when the top bit is set. */
static size_t der_int(uint8_t *out, const uint8_t *v)
{
    size_t skip = 0;
    while (skip < 31 && v[skip] == 0)
        skip++;
    size_t n = 32 - skip, pad = v[skip] >> 7;
    out[0] = 0x02;
    out[1] = (uint8_t)(n + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, v + skip, n);
    return 2 + pad + n;
}

/* r||s from the token to the DER OpenSSL verifies. */
static size_t ec_der(uint8_t *out, const uint8_t *rs)
{
    size_t n = der_int(out + 2, rs);
    n += der_int(out + 2 + n, rs + 32);
    out[0] = 0x30;
    out[1] = (uint8_t)n;
    return n + 2;
}

int bench_p11_op(void *arg)
{
    bench_p11 *k = arg;
    CK_MECHANISM mech = { k->mech, NULL, 0 };
    uint8_t sig[512], der[80];
    CK_ULONG n = sizeof sig;
    if (k->f->C_SignInit(k->session, &mech, k->key) != CKR_OK ||
        k->f->C_Sign(k->session, k->input, k->input_len, sig, &n) != CKR_OK)
        return -1;
    const uint8_t *s = sig;
    size_t len = n;
    if (k->mech == CKM_ECDSA) {
        if (n != 64)
            return -1;
        len = ec_der(der, sig);
        s = der;
    }
    for (int i = 0; i < k->verifies; i++)
        if (EVP_PKEY_verify(k->verify, s, len, k->dgst, 32) != 1)
            return -1;
    return 0;
}
