/* fb_port_inventory: what a module offers, for `fbill token list`. Read
 * only: no login, nothing created. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/x509.h>
#include <p11-kit/p11-kit.h>
#include "common/internal.h"
#include "ports/alg.h"
#include "ports/module.h"
#include "ports/profile.h"
#include "ports/token.h"

#define MAX_OBJECTS 64

static const char *mech_name(CK_MECHANISM_TYPE m)
{
    switch (m) {
    case CKM_ECDSA: return "CKM_ECDSA";
    case CKM_ECDSA_SHA256: return "CKM_ECDSA_SHA256";
    case CKM_RSA_PKCS: return "CKM_RSA_PKCS";
    case CKM_RSA_PKCS_PSS: return "CKM_RSA_PKCS_PSS";
    case CKM_SHA256_RSA_PKCS: return "CKM_SHA256_RSA_PKCS";
    default: break;
    }
    /* Vendor SM2 numbers of the built-in profiles. */
    for (const char *const *n = fb_profile_names; *n; n++) {
        fb_port_options o = FB_PORT_OPTIONS_INIT;
        fb_profile_choice c;
        o.profile = *n;
        CK_MECHANISM_TYPE one[1] = { m };
        if (!strncmp(*n, "sm2-", 4) && strcmp(*n, "sm2-custom") &&
            fb_profile_choose(&o, CKK_EC, FB_SIG_SM2_SM3, one, 1, &c) == FB_OK)
            return c.token_hashes ? "SM2-with-SM3 (vendor)" : "SM2 raw (vendor)";
    }
    fb_clear_error();
    return NULL;
}

static void put_mechanisms(fb_buf *out, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot)
{
    CK_MECHANISM_TYPE *mechs;
    size_t n;
    if (fb_token_mechanisms(f, slot, &mechs, &n)) {
        fb_buf_printf(out, "      mechanisms: cannot be listed (%s)\n", fb_last_error());
        return;
    }
    fb_buf_puts(out, "      signing mechanisms:");
    int shown = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = mech_name(mechs[i]);
        if (name)
            shown += fb_buf_printf(out, " %s(0x%lX)", name, (unsigned long)mechs[i]) == FB_OK;
    }
    fb_buf_puts(out, shown ? "\n" : " none known\n");
    free(mechs);
}

static void put_hex(fb_buf *out, const uint8_t *v, size_t len)
{
    for (size_t i = 0; i < len && i < 32; i++)
        fb_buf_printf(out, "%02X", v[i]);
}

static void put_object(fb_buf *out, CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s,
                       CK_OBJECT_HANDLE o)
{
    uint8_t *cls = NULL, *id = NULL, *label = NULL, *value = NULL;
    size_t cls_len = 0, id_len = 0, label_len = 0, value_len = 0;
    fb_token_attr(f, s, o, CKA_CLASS, &cls, &cls_len);
    fb_token_attr(f, s, o, CKA_ID, &id, &id_len);
    fb_token_attr(f, s, o, CKA_LABEL, &label, &label_len);
    CK_OBJECT_CLASS c = cls_len == sizeof c ? *(CK_OBJECT_CLASS *)(void *)cls : (CK_ULONG)-1;
    const char *kind = c == CKO_CERTIFICATE ? "certificate" : c == CKO_PUBLIC_KEY ? "public key"
                       : c == CKO_PRIVATE_KEY ? "private key" : NULL;
    if (kind) {
        fb_buf_printf(out, "      %s id=", kind);
        put_hex(out, id, id_len);
        fb_buf_printf(out, " label=\"%.*s\"", (int)label_len, label ? (char *)label : "");
        if (c == CKO_CERTIFICATE && !fb_token_attr(f, s, o, CKA_VALUE, &value, &value_len)) {
            const uint8_t *q = value;
            X509 *x = d2i_X509(NULL, &q, (long)value_len);
            char subject[256] = "?";
            if (x)
                fb_alg_name_line(X509_get_subject_name(x), subject, sizeof subject);
            EVP_PKEY *k = x ? X509_get0_pubkey(x) : NULL;
            fb_buf_printf(out, " subject=%s key=%s-%d", subject,
                          k ? EVP_PKEY_get0_type_name(k) : "?", k ? EVP_PKEY_get_bits(k) : 0);
            X509_free(x);
        }
        fb_buf_puts(out, "\n");
    }
    free(cls);
    free(id);
    free(label);
    free(value);
}

static void put_objects(fb_buf *out, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot)
{
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE objs[MAX_OBJECTS];
    CK_ULONG n = 0;
    if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return;
    if (f->C_FindObjectsInit(s, NULL, 0) == CKR_OK) {
        if (f->C_FindObjects(s, objs, MAX_OBJECTS, &n) != CKR_OK || n > MAX_OBJECTS)
            n = 0; /* a broken module: nothing it returned is read */
        f->C_FindObjectsFinal(s);
    }
    for (CK_ULONG i = 0; i < n; i++)
        put_object(out, f, s, objs[i]);
    f->C_CloseSession(s);
}

static void put_token(fb_buf *out, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot)
{
    fb_token_ident t;
    CK_RV rv;
    if (fb_token_info(f, slot, &t, &rv)) {
        fb_buf_printf(out, "    slot: %s\n", rv == CKR_TOKEN_NOT_PRESENT ? "no token"
                                                                        : fb_ckr_name(rv));
        return;
    }
    if (!(t.flags & CKF_TOKEN_INITIALIZED)) {
        fb_buf_puts(out, "    slot: token not initialised\n");
        return;
    }
    const char *words = fb_token_pin_words(t.flags);
    fb_buf_printf(out, "    token \"%s\" serial %s (%s %s)%s%s\n", t.label, t.serial,
                  t.manufacturer, t.model,
                  t.flags & CKF_PROTECTED_AUTHENTICATION_PATH ? ", PIN pad" : "",
                  t.flags & CKF_LOGIN_REQUIRED ? ", login required" : "");
    if (*words)
        fb_buf_printf(out, "      PIN: %s\n", words);
    put_objects(out, f, slot);
    put_mechanisms(out, f, slot);
}

static void put_module(fb_buf *out, const char *path)
{
    fb_module *m;
    if (fb_module_acquire(path, &m)) {
        fb_buf_printf(out, "module %s: %s\n", path, fb_last_error());
        return;
    }
    CK_FUNCTION_LIST_PTR f = fb_module_functions(m);
    CK_INFO info;
    CK_SLOT_ID *slots = NULL;
    size_t n = 0;
    if (f->C_GetInfo(&info) == CKR_OK)
        fb_buf_printf(out, "module %s: %.32s %.32s\n", path, info.manufacturerID,
                      info.libraryDescription);
    int rc = fb_token_slot_list(f, false, &slots, &n);
    for (size_t i = 0; !rc && i < n; i++)
        put_token(out, f, slots[i]);
    if (rc && rc != FB_ENOTFOUND)
        fb_buf_printf(out, "    %s\n", fb_last_error());
    else if (n == 0)
        fb_buf_puts(out, "    no slots\n");
    free(slots);
    fb_module_release(m);
}

int fb_port_inventory(const char *module_path, fb_buf *out)
{
    if (!out)
        return fb_fail(FB_EARG, "fb_port_inventory: NULL output");
    if (module_path) {
        put_module(out, module_path);
        return FB_OK;
    }
    CK_FUNCTION_LIST **mods = p11_kit_modules_load(NULL, 0);
    for (size_t i = 0; mods && mods[i]; i++) {
        char *file = p11_kit_module_get_filename(mods[i]);
        if (file)
            put_module(out, file);
        free(file);
    }
    if (!mods || !mods[0])
        fb_buf_puts(out, "no PKCS#11 modules are registered with p11-kit\n");
    if (mods)
        p11_kit_modules_release(mods);
    return FB_OK;
}
