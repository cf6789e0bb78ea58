/* p11_import: import an EC (typically SM2) private key, its public key and its
 * certificate into a PKCS#11 token with C_CreateObject.
 *
 * Usage: p11_import MODULE TOKEN_LABEL PIN KEY.pem CERT.pem ID_HEX LABEL
 *
 * Test-fixture tool (tests/p11/fixture.sh). pkcs11-tool 0.23 cannot create EC
 * keys on the SM2 curve ("Unknown EC key params"), while SoftHSM stores them
 * fine as CKK_EC with CKA_EC_PARAMS = OID 1.2.156.10197.1.301.
 *
 * The private key is created with CKA_SENSITIVE false and CKA_EXTRACTABLE
 * true on purpose: the test module that emulates vendor SM2 mechanisms reads
 * CKA_VALUE back. Never do this with a real key.
 *
 * Exit status: 0 on success, 1 on any error (with a message on stderr). */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <p11-kit/pkcs11.h>

static const char *prog = "p11_import";

#if defined(__GNUC__)
#define P11I_NORETURN __attribute__((noreturn))
#define P11I_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define P11I_NORETURN
#define P11I_PRINTF(f, a)
#endif

static void die(const char *fmt, ...) P11I_NORETURN P11I_PRINTF(1, 2);
static void die_ossl(const char *what) P11I_NORETURN;

static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void die_ossl(const char *what)
{
    unsigned long e;
    fprintf(stderr, "%s: %s\n", prog, what);
    while ((e = ERR_get_error()) != 0) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        fprintf(stderr, "%s:   openssl: %s\n", prog, buf);
    }
    exit(1);
}

static const char *rv_name(CK_RV rv)
{
    switch (rv) {
    case CKR_OK: return "CKR_OK";
    case CKR_GENERAL_ERROR: return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED: return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD: return "CKR_ARGUMENTS_BAD";
    case CKR_ATTRIBUTE_READ_ONLY: return "CKR_ATTRIBUTE_READ_ONLY";
    case CKR_ATTRIBUTE_TYPE_INVALID: return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_ATTRIBUTE_VALUE_INVALID: return "CKR_ATTRIBUTE_VALUE_INVALID";
    case CKR_CURVE_NOT_SUPPORTED: return "CKR_CURVE_NOT_SUPPORTED";
    case CKR_DEVICE_ERROR: return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_MEMORY: return "CKR_DEVICE_MEMORY";
    case CKR_DOMAIN_PARAMS_INVALID: return "CKR_DOMAIN_PARAMS_INVALID";
    case CKR_HOST_MEMORY: return "CKR_HOST_MEMORY";
    case CKR_PIN_INCORRECT: return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED: return "CKR_PIN_LOCKED";
    case CKR_SESSION_READ_ONLY: return "CKR_SESSION_READ_ONLY";
    case CKR_TEMPLATE_INCOMPLETE: return "CKR_TEMPLATE_INCOMPLETE";
    case CKR_TEMPLATE_INCONSISTENT: return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TOKEN_NOT_PRESENT: return "CKR_TOKEN_NOT_PRESENT";
    case CKR_TOKEN_WRITE_PROTECTED: return "CKR_TOKEN_WRITE_PROTECTED";
    case CKR_USER_ALREADY_LOGGED_IN: return "CKR_USER_ALREADY_LOGGED_IN";
    case CKR_USER_NOT_LOGGED_IN: return "CKR_USER_NOT_LOGGED_IN";
    case CKR_USER_PIN_NOT_INITIALIZED: return "CKR_USER_PIN_NOT_INITIALIZED";
    case CKR_CRYPTOKI_NOT_INITIALIZED: return "CKR_CRYPTOKI_NOT_INITIALIZED";
    case CKR_CRYPTOKI_ALREADY_INITIALIZED: return "CKR_CRYPTOKI_ALREADY_INITIALIZED";
    default: return "CKR_?";
    }
}

static void check_rv(CK_RV rv, const char *call)
{
    if (rv != CKR_OK)
        die("%s failed: 0x%08lx (%s)", call, (unsigned long)rv, rv_name(rv));
}

/* ---- inputs ---- */

static size_t parse_hex(const char *hex, unsigned char *out, size_t cap)
{
    size_t n = strlen(hex), i;
    if (n == 0 || n % 2 != 0 || n / 2 > cap)
        die("ID_HEX must be a non-empty even number of hex digits (at most %zu bytes): '%s'",
            cap, hex);
    for (i = 0; i < n / 2; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = hex[2 * i + (size_t)k];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= (unsigned)(c - 'A' + 10);
            else
                die("ID_HEX: not a hex digit '%c' in '%s'", c, hex);
        }
        out[i] = (unsigned char)v;
    }
    return n / 2;
}

static EVP_PKEY *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die("cannot open key file %s", path);
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (pkey == NULL)
        die_ossl("cannot read a PEM private key from the key file");
    return pkey;
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die("cannot open certificate file %s", path);
    X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (cert == NULL)
        die_ossl("cannot read a PEM certificate from the certificate file");
    return cert;
}

/* Length of a DER encoding that an i2d function returned; dies on failure. */
static size_t der_len(int n, const char *what)
{
    if (n <= 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "DER encoding of the %s failed", what);
        die_ossl(msg);
    }
    return (size_t)n;
}

/* DER OCTET STRING around data (the PKCS#11 CKA_EC_POINT encoding). */
static unsigned char *der_octet_string(const unsigned char *data, size_t len, size_t *out_len)
{
    unsigned char hdr[6];
    size_t h = 0;
    hdr[h++] = 0x04;
    if (len < 0x80) {
        hdr[h++] = (unsigned char)len;
    } else if (len <= 0xff) {
        hdr[h++] = 0x81;
        hdr[h++] = (unsigned char)len;
    } else if (len <= 0xffff) {
        hdr[h++] = 0x82;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        die("EC point too long (%zu bytes)", len);
    }
    unsigned char *out = malloc(h + len);
    if (out == NULL)
        die("out of memory");
    memcpy(out, hdr, h);
    memcpy(out + h, data, len);
    *out_len = h + len;
    return out;
}

/* ---- PKCS#11 ---- */

static CK_FUNCTION_LIST_PTR load_module(const char *path)
{
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        die("dlopen(%s): %s", path, dlerror());
    CK_C_GetFunctionList get_list;
    void *sym = dlsym(lib, "C_GetFunctionList");
    if (sym == NULL)
        die("%s has no C_GetFunctionList: %s", path, dlerror());
    /* POSIX guarantees that a data pointer from dlsym converts to a function
     * pointer; copy the bytes to avoid the ISO C warning. */
    memcpy(&get_list, &sym, sizeof get_list);
    CK_FUNCTION_LIST_PTR p11 = NULL;
    check_rv(get_list(&p11), "C_GetFunctionList");
    if (p11 == NULL)
        die("C_GetFunctionList returned no function list");
    /* The module is deliberately never dlclose()d: SoftHSM with OpenSSL 3
     * misbehaves when unloaded. */
    return p11;
}

static void trim_label(const unsigned char in[32], char out[33])
{
    size_t n = 32;
    memcpy(out, in, 32);
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
        n--;
    out[n] = '\0';
}

static CK_SLOT_ID find_token(CK_FUNCTION_LIST_PTR p11, const char *label)
{
    CK_ULONG count = 0;
    check_rv(p11->C_GetSlotList(CK_TRUE, NULL, &count), "C_GetSlotList (count)");
    if (count == 0)
        die("the module has no slot with a token");
    CK_SLOT_ID *slots = calloc(count, sizeof *slots);
    if (slots == NULL)
        die("out of memory");
    check_rv(p11->C_GetSlotList(CK_TRUE, slots, &count), "C_GetSlotList");

    CK_SLOT_ID found = 0;
    int matches = 0;
    for (CK_ULONG i = 0; i < count; i++) {
        CK_TOKEN_INFO info;
        CK_RV rv = p11->C_GetTokenInfo(slots[i], &info);
        if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED)
            continue;
        check_rv(rv, "C_GetTokenInfo");
        if (!(info.flags & CKF_TOKEN_INITIALIZED))
            continue;
        char have[33];
        trim_label(info.label, have);
        if (strcmp(have, label) == 0) {
            found = slots[i];
            matches++;
        }
    }
    free(slots);
    if (matches == 0)
        die("no initialised token with label '%s'", label);
    if (matches > 1)
        die("%d tokens have the label '%s'; refusing to guess", matches, label);
    return found;
}

static CK_OBJECT_HANDLE create(CK_FUNCTION_LIST_PTR p11, CK_SESSION_HANDLE s,
                               CK_ATTRIBUTE *tmpl, CK_ULONG n, const char *what)
{
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_RV rv = p11->C_CreateObject(s, tmpl, n, &h);
    if (rv != CKR_OK)
        die("C_CreateObject (%s) failed: 0x%08lx (%s)", what, (unsigned long)rv, rv_name(rv));
    return h;
}

#define ATTR(type, ptr, len) { (type), (void *)(ptr), (CK_ULONG)(len) }

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s MODULE TOKEN_LABEL PIN KEY.pem CERT.pem ID_HEX LABEL\n", prog);
        return 2;
    }
    const char *module = argv[1], *token_label = argv[2], *pin = argv[3];
    const char *key_path = argv[4], *cert_path = argv[5], *id_hex = argv[6];
    const char *obj_label = argv[7];

    if (strlen(token_label) > 32)
        die("token label longer than 32 bytes: '%s'", token_label);

    /* Keep OpenSSL's atexit cleanup away from SoftHSM, which uses OpenSSL
     * from its own destructors (openssl/openssl#22508). */
    if (!OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL))
        die_ossl("OPENSSL_init_crypto failed");

    unsigned char id[64];
    size_t id_len = parse_hex(id_hex, id, sizeof id);

    /* ---- the key ---- */
    EVP_PKEY *pkey = read_key(key_path);
    if (!EVP_PKEY_is_a(pkey, "EC") && !EVP_PKEY_is_a(pkey, "SM2"))
        die("%s: not an EC or SM2 private key (type %s)", key_path,
            EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "?");

    char group[80];
    size_t group_len = 0;
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                        &group_len))
        die_ossl("the key has no named curve (explicit parameters are not supported)");
    int nid = OBJ_txt2nid(group);
    if (nid == NID_undef)
        nid = OBJ_sn2nid(group);
    if (nid == NID_undef)
        die("unknown curve name '%s'", group);
    ASN1_OBJECT *curve = OBJ_nid2obj(nid);
    if (curve == NULL)
        die_ossl("OBJ_nid2obj failed");
    unsigned char *params = NULL;
    size_t params_len = der_len(i2d_ASN1_OBJECT(curve, &params), "curve OID");

    int bits = EVP_PKEY_get_bits(pkey);
    if (bits <= 0)
        die_ossl("EVP_PKEY_get_bits failed");
    size_t field_len = ((size_t)bits + 7) / 8;

    BIGNUM *priv = NULL;
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &priv))
        die_ossl("cannot read the private scalar");
    unsigned char *scalar = malloc(field_len);
    if (scalar == NULL)
        die("out of memory");
    if (BN_bn2binpad(priv, scalar, (int)field_len) != (int)field_len)
        die("private scalar does not fit in %zu bytes", field_len);
    BN_clear_free(priv);

    /* Uncompressed point: ask for that form explicitly, then check it. */
    if (!EVP_PKEY_set_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                        OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED))
        die_ossl("cannot select the uncompressed point format");
    unsigned char point[1 + 2 * 66];
    size_t point_len = 0;
    if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point,
                                         sizeof point, &point_len))
        die_ossl("cannot read the public point");
    if (point_len != 1 + 2 * field_len || point[0] != 0x04)
        die("public point is not uncompressed (%zu bytes, first byte 0x%02x)", point_len,
            point[0]);
    size_t ec_point_len;
    unsigned char *ec_point = der_octet_string(point, point_len, &ec_point_len);

    /* ---- the certificate ---- */
    X509 *cert = read_cert(cert_path);
    {
        /* The certificate must certify this key: compare the SubjectPublicKeyInfo. */
        unsigned char *a = NULL, *b = NULL;
        size_t a_len = der_len(i2d_PUBKEY(pkey, &a), "key's public key");
        EVP_PKEY *cert_key = X509_get0_pubkey(cert);
        if (cert_key == NULL)
            die_ossl("cannot decode the certificate's public key");
        size_t b_len = der_len(i2d_PUBKEY(cert_key, &b), "certificate's public key");
        if (a_len != b_len || memcmp(a, b, a_len) != 0)
            die("%s does not certify the public key of %s", cert_path, key_path);
        OPENSSL_free(a);
        OPENSSL_free(b);
    }
    unsigned char *cert_der = NULL, *subject = NULL, *issuer = NULL, *serial = NULL;
    size_t cert_der_len = der_len(i2d_X509(cert, &cert_der), "certificate");
    size_t subject_len =
        der_len(i2d_X509_NAME(X509_get_subject_name(cert), &subject), "certificate subject");
    size_t issuer_len =
        der_len(i2d_X509_NAME(X509_get_issuer_name(cert), &issuer), "certificate issuer");
    size_t serial_len =
        der_len(i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial), "serial number");

    /* ---- the token ---- */
    CK_FUNCTION_LIST_PTR p11 = load_module(module);
    CK_C_INITIALIZE_ARGS init_args;
    memset(&init_args, 0, sizeof init_args);
    init_args.flags = CKF_OS_LOCKING_OK;
    check_rv(p11->C_Initialize(&init_args), "C_Initialize");

    CK_SLOT_ID slot = find_token(p11, token_label);
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    check_rv(p11->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &session),
             "C_OpenSession");
    CK_RV rv = p11->C_Login(session, CKU_USER, (CK_UTF8CHAR_PTR)pin, (CK_ULONG)strlen(pin));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
        check_rv(rv, "C_Login");

    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_OBJECT_CLASS priv_class = CKO_PRIVATE_KEY, pub_class = CKO_PUBLIC_KEY;
    CK_OBJECT_CLASS cert_class = CKO_CERTIFICATE;
    CK_KEY_TYPE key_type = CKK_EC;
    CK_CERTIFICATE_TYPE cert_type = CKC_X_509;
    size_t label_len = strlen(obj_label);

    CK_ATTRIBUTE priv_tmpl[] = {
        ATTR(CKA_CLASS, &priv_class, sizeof priv_class),
        ATTR(CKA_KEY_TYPE, &key_type, sizeof key_type),
        ATTR(CKA_TOKEN, &yes, sizeof yes),
        ATTR(CKA_PRIVATE, &yes, sizeof yes),
        ATTR(CKA_SENSITIVE, &no, sizeof no),
        ATTR(CKA_EXTRACTABLE, &yes, sizeof yes),
        ATTR(CKA_SIGN, &yes, sizeof yes),
        ATTR(CKA_ID, id, id_len),
        ATTR(CKA_LABEL, obj_label, label_len),
        ATTR(CKA_SUBJECT, subject, subject_len),
        ATTR(CKA_EC_PARAMS, params, params_len),
        ATTR(CKA_VALUE, scalar, field_len),
    };
    CK_ATTRIBUTE pub_tmpl[] = {
        ATTR(CKA_CLASS, &pub_class, sizeof pub_class),
        ATTR(CKA_KEY_TYPE, &key_type, sizeof key_type),
        ATTR(CKA_TOKEN, &yes, sizeof yes),
        ATTR(CKA_PRIVATE, &no, sizeof no),
        ATTR(CKA_VERIFY, &yes, sizeof yes),
        ATTR(CKA_ID, id, id_len),
        ATTR(CKA_LABEL, obj_label, label_len),
        ATTR(CKA_SUBJECT, subject, subject_len),
        ATTR(CKA_EC_PARAMS, params, params_len),
        ATTR(CKA_EC_POINT, ec_point, ec_point_len),
    };
    CK_ATTRIBUTE cert_tmpl[] = {
        ATTR(CKA_CLASS, &cert_class, sizeof cert_class),
        ATTR(CKA_CERTIFICATE_TYPE, &cert_type, sizeof cert_type),
        ATTR(CKA_TOKEN, &yes, sizeof yes),
        ATTR(CKA_PRIVATE, &no, sizeof no),
        ATTR(CKA_ID, id, id_len),
        ATTR(CKA_LABEL, obj_label, label_len),
        ATTR(CKA_SUBJECT, subject, subject_len),
        ATTR(CKA_ISSUER, issuer, issuer_len),
        ATTR(CKA_SERIAL_NUMBER, serial, serial_len),
        ATTR(CKA_VALUE, cert_der, cert_der_len),
    };
    create(p11, session, priv_tmpl, sizeof priv_tmpl / sizeof priv_tmpl[0], "private key");
    create(p11, session, pub_tmpl, sizeof pub_tmpl / sizeof pub_tmpl[0], "public key");
    create(p11, session, cert_tmpl, sizeof cert_tmpl / sizeof cert_tmpl[0], "certificate");

    check_rv(p11->C_Logout(session), "C_Logout");
    check_rv(p11->C_CloseSession(session), "C_CloseSession");
    check_rv(p11->C_Finalize(NULL), "C_Finalize");

    OPENSSL_cleanse(scalar, field_len);
    free(scalar);
    free(ec_point);
    OPENSSL_free(params);
    OPENSSL_free(cert_der);
    OPENSSL_free(subject);
    OPENSSL_free(issuer);
    OPENSSL_free(serial);
    X509_free(cert);
    EVP_PKEY_free(pkey);
    return 0;
}
