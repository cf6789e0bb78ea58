/* Tokens and objects: discovery by label and serial, never by slot number,
 * and lookups that refuse to guess when more than one object matches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/internal.h"
#include "ports/module.h"
#include "ports/token.h"

#define MAX_SLOTS 256
#define MAX_MATCHES 16

/* PKCS#11 pads fixed-width strings with spaces. */
static void unpad(char *dst, const CK_UTF8CHAR *src, size_t n)
{
    while (n && (src[n - 1] == ' ' || src[n - 1] == '\0'))
        n--;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int fb_token_info(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, fb_token_ident *id, CK_RV *rv_out)
{
    CK_TOKEN_INFO ti;
    CK_RV rv = f->C_GetTokenInfo(slot, &ti);
    if (rv_out)
        *rv_out = rv;
    if (rv != CKR_OK)
        return FB_ETOKEN;
    unpad(id->label, ti.label, sizeof ti.label);
    unpad(id->serial, ti.serialNumber, sizeof ti.serialNumber);
    unpad(id->manufacturer, ti.manufacturerID, sizeof ti.manufacturerID);
    unpad(id->model, ti.model, sizeof ti.model);
    id->flags = ti.flags;
    return FB_OK;
}

static bool same(const char *want, const char *have)
{
    return !want || !strcmp(want, have);
}

static bool matches(const fb_p11uri *u, const fb_token_ident *t)
{
    return same(u->token, t->label) && same(u->serial, t->serial) &&
           same(u->manufacturer, t->manufacturer) && same(u->model, t->model);
}

static bool library_matches(CK_FUNCTION_LIST_PTR f, const fb_p11uri *u)
{
    if (!u->library_manufacturer && !u->library_description)
        return true;
    CK_INFO info;
    char man[33], desc[33];
    if (f->C_GetInfo(&info) != CKR_OK)
        return false;
    unpad(man, info.manufacturerID, sizeof info.manufacturerID);
    unpad(desc, info.libraryDescription, sizeof info.libraryDescription);
    return same(u->library_manufacturer, man) && same(u->library_description, desc);
}

static void list_token(char *out, size_t size, const fb_token_ident *t)
{
    size_t len = strlen(out);
    snprintf(out + len, size - len, "%s\"%s\" (serial %s)", len ? ", " : "", t->label, t->serial);
}

static int report(const fb_p11uri *u, size_t n_match, const char *matched, const char *seen,
                  int failed)
{
    char name[256];
    fb_p11uri_describe(u, name, sizeof name);
    if (n_match > 1)
        return fb_fail(FB_EAMBIGUOUS, "%s matches %zu tokens: %s; name one by serial=", name,
                       n_match, matched);
    return fb_fail(FB_ENOTFOUND, "%s: no token matches; present: %s%s", name,
                   *seen ? seen : "none", failed ? " (some slots could not be read)" : "");
}

int fb_token_find(CK_FUNCTION_LIST_PTR f, const fb_p11uri *u, CK_SLOT_ID *slot,
                  fb_token_ident *ident)
{
    CK_SLOT_ID slots[MAX_SLOTS];
    CK_ULONG n = MAX_SLOTS;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED)
        return fb_fail(FB_ENOTFOUND, "no token is present (%s)", fb_ckr_name(rv));
    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
        return fb_fail(FB_ETOKEN, "the module cannot list its slots: %s", fb_ckr_name(rv));
    char matched[1024] = "", seen[1024] = "";
    size_t n_match = 0;
    int failed = 0;
    bool lib_ok = library_matches(f, u);
    for (CK_ULONG i = 0; i < n && i < MAX_SLOTS; i++) {
        fb_token_ident t;
        /* One slot's failure (a key pulled out mid-walk) must not hide the
         * others. */
        if (fb_token_info(f, slots[i], &t, &rv)) {
            failed += rv != CKR_TOKEN_NOT_PRESENT;
            continue;
        }
        if (!(t.flags & CKF_TOKEN_INITIALIZED))
            continue; /* an empty slot of SoftHSM and the like */
        list_token(seen, sizeof seen, &t);
        if (!lib_ok || !matches(u, &t))
            continue;
        if (n_match++ == 0) {
            *slot = slots[i];
            *ident = t;
        }
        list_token(matched, sizeof matched, &t);
    }
    return n_match == 1 ? FB_OK : report(u, n_match, matched, seen, failed);
}

int fb_token_attr(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
                  CK_ATTRIBUTE_TYPE type, uint8_t **value, size_t *len)
{
    CK_ATTRIBUTE a = { type, NULL, 0 };
    CK_RV rv = f->C_GetAttributeValue(s, obj, &a, 1);
    if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > 65536)
        return FB_ENOTFOUND;
    *value = malloc(a.ulValueLen ? a.ulValueLen : 1);
    if (!*value)
        return fb_fail_oom();
    a.pValue = *value;
    if ((rv = f->C_GetAttributeValue(s, obj, &a, 1)) != CKR_OK) {
        free(*value);
        *value = NULL;
        return FB_ENOTFOUND;
    }
    *len = a.ulValueLen;
    return FB_OK;
}

static int find_objects(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
                        CK_ULONG n_tmpl, CK_OBJECT_HANDLE *found, CK_ULONG *n_found)
{
    CK_RV rv = f->C_FindObjectsInit(s, tmpl, n_tmpl);
    if (rv == CKR_OK) {
        rv = f->C_FindObjects(s, found, MAX_MATCHES, n_found);
        f->C_FindObjectsFinal(s);
    }
    return rv == CKR_OK ? FB_OK : fb_fail(FB_ETOKEN, "cannot search the token: %s",
                                          fb_ckr_name(rv));
}

static void describe_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k,
                         char *out, size_t size)
{
    uint8_t *id = NULL, *label = NULL;
    size_t id_len = 0, label_len = 0;
    size_t len = strlen(out);
    fb_token_attr(f, s, k, CKA_ID, &id, &id_len);
    fb_token_attr(f, s, k, CKA_LABEL, &label, &label_len);
    len += (size_t)snprintf(out + len, size - len, "%sid=", len ? ", " : "");
    for (size_t i = 0; i < id_len && len + 4 < size; i++)
        len += (size_t)snprintf(out + len, size - len, "%%%02X", id[i]);
    if (len < size)
        snprintf(out + len, size - len, " object=%.*s", (int)label_len, label ? (char *)label : "");
    free(id);
    free(label);
}

int fb_token_find_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const uint8_t *id,
                      size_t id_len, const char *label, CK_OBJECT_HANDLE *key)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[3] = { { CKA_CLASS, &cls, sizeof cls } };
    CK_ULONG n = 1, n_found = 0;
    if (id)
        tmpl[n++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
    if (label)
        tmpl[n++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
    CK_OBJECT_HANDLE found[MAX_MATCHES];
    int rc = find_objects(f, s, tmpl, n, found, &n_found);
    if (rc)
        return rc;
    if (n_found == 0)
        return fb_fail(FB_ENOTFOUND, "no private key matches");
    if (n_found > 1) {
        char list[512] = "";
        for (CK_ULONG i = 0; i < n_found; i++)
            describe_key(f, s, found[i], list, sizeof list);
        return fb_fail(FB_EAMBIGUOUS, "%lu private keys match: %s; name one by id= or object=",
                       (unsigned long)n_found, list);
    }
    *key = found[0];
    return FB_OK;
}

int fb_token_find_cert(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const uint8_t *id,
                       size_t id_len, uint8_t **der, size_t *len)
{
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE type = CKC_X_509;
    CK_ATTRIBUTE tmpl[3] = { { CKA_CLASS, &cls, sizeof cls },
                             { CKA_CERTIFICATE_TYPE, &type, sizeof type },
                             { CKA_ID, (void *)id, id_len } };
    CK_OBJECT_HANDLE found[MAX_MATCHES];
    CK_ULONG n_found = 0;
    int rc = find_objects(f, s, tmpl, 3, found, &n_found);
    if (rc)
        return rc;
    if (n_found == 0)
        return fb_fail(FB_ENOTFOUND, "the token holds no certificate with the key's CKA_ID");
    if (n_found > 1)
        return fb_fail(FB_EAMBIGUOUS, "the token holds %lu certificates with the key's CKA_ID",
                       (unsigned long)n_found);
    return fb_token_attr(f, s, found[0], CKA_VALUE, der, len) == FB_OK
               ? FB_OK
               : fb_fail(FB_ETOKEN, "cannot read the certificate from the token");
}

int fb_token_mechanisms(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_MECHANISM_TYPE **mechs,
                        size_t *n)
{
    CK_ULONG count = 0;
    CK_RV rv = f->C_GetMechanismList(slot, NULL, &count);
    *mechs = NULL;
    *n = 0;
    if (rv == CKR_OK && count > 4096)
        rv = CKR_GENERAL_ERROR;
    if (rv == CKR_OK && count) {
        /* One spare element: p11-kit 0.24's client reads one past the
         * caller's array (fixed in 0.25). */
        *mechs = calloc(count + 1, sizeof **mechs);
        if (!*mechs)
            return fb_fail_oom();
        rv = f->C_GetMechanismList(slot, *mechs, &count);
    }
    if (rv != CKR_OK) {
        free(*mechs);
        *mechs = NULL;
        return fb_fail(FB_ETOKEN, "cannot list the token's mechanisms: %s", fb_ckr_name(rv));
    }
    *n = count;
    return FB_OK;
}

const char *fb_token_pin_words(CK_FLAGS flags)
{
    if (flags & CKF_USER_PIN_LOCKED)
        return "the PIN is locked";
    if (flags & CKF_USER_PIN_FINAL_TRY)
        return "one more wrong PIN locks the key";
    if (flags & CKF_USER_PIN_COUNT_LOW)
        return "few PIN tries are left";
    return "";
}
