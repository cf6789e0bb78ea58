/* Tokens and objects: discovery by label and serial, never by slot number,
 * and lookups that refuse to guess when more than one object matches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/internal.h"
#include "ports/module.h"
#include "ports/token.h"

/* Slots searched for a token: a module reporting more is refused rather
 * than searched in part, where a second token with the same label could
 * hide (and the search would no longer refuse to guess). */
#define MAX_SLOTS 4096
#define MAX_MECHANISMS 4096
#define MAX_MATCHES 16
#define MAX_ATTR_BYTES 65536
/* Reads of a list or an attribute that grew between the call that sized it
 * and the call that filled it (CKR_BUFFER_TOO_SMALL): how many times to ask
 * again before giving up. */
#define MAX_TRIES 3

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

/* One of PKCS#11's two-call lists: C_GetSlotList or C_GetMechanismList. */
typedef struct list_call {
    CK_FUNCTION_LIST_PTR f;
    CK_BBOOL present; /* C_GetSlotList's */
    CK_SLOT_ID slot;  /* C_GetMechanismList's */
    CK_RV (*get)(const struct list_call *c, CK_ULONG *items, CK_ULONG *count);
    const char *what; /* "the module's slots": for messages */
    const char *noun; /* "slots" */
    CK_ULONG limit;
} list_call;

static CK_RV get_slots(const list_call *c, CK_ULONG *items, CK_ULONG *count)
{
    return c->f->C_GetSlotList(c->present, items, count);
}

static CK_RV get_mechanisms(const list_call *c, CK_ULONG *items, CK_ULONG *count)
{
    return c->f->C_GetMechanismList(c->slot, items, count);
}

/* Ask the count, allocate, fetch: one round. *rv is the module's last code
 * (CKR_OK when it answered but the answer was refused); CKR_BUFFER_TOO_SMALL
 * means the list grew between the two calls. A count the module returns is
 * never read past the room it was given. */
static int fetch_once(const list_call *c, CK_ULONG **out, CK_ULONG *n, CK_RV *rv)
{
    CK_ULONG count = 0;
    if ((*rv = c->get(c, NULL, &count)) != CKR_OK)
        return fb_fail(FB_ETOKEN, "cannot list %s: %s", c->what, fb_ckr_name(*rv));
    if (count > c->limit)
        return fb_fail(FB_ETOKEN, "cannot list %s: the module reports %lu, more than the limit "
                       "of %lu", c->what, (unsigned long)count, (unsigned long)c->limit);
    if (count == 0)
        return FB_OK;
    /* One spare element: p11-kit 0.24's client reads one past the caller's
     * array (fixed in 0.25). */
    CK_ULONG room = count, *items = calloc(room + 1, sizeof *items);
    if (!items)
        return fb_fail_oom();
    if ((*rv = c->get(c, items, &count)) != CKR_OK || count > room) {
        free(items);
        return *rv != CKR_OK
                   ? fb_fail(FB_ETOKEN, "cannot list %s: %s", c->what, fb_ckr_name(*rv))
                   : fb_fail(FB_ETOKEN, "cannot list %s: the module claims %lu %s in a list of "
                             "%lu; the list was discarded", c->what, (unsigned long)count,
                             c->noun, (unsigned long)room);
    }
    *out = items;
    *n = count;
    return FB_OK;
}

/* A list that grew in between is asked for again, MAX_TRIES times at most. */
static int fetch_list(const list_call *c, CK_ULONG **out, CK_ULONG *n, CK_RV *rv)
{
    *out = NULL;
    *n = 0;
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        int rc = fetch_once(c, out, n, rv);
        if (*rv != CKR_BUFFER_TOO_SMALL)
            return rc;
    }
    return fb_fail(FB_ETOKEN, "cannot list %s: the module answered CKR_BUFFER_TOO_SMALL %d "
                   "times in a row", c->what, MAX_TRIES);
}

int fb_token_slot_list(CK_FUNCTION_LIST_PTR f, bool present, CK_SLOT_ID **slots, size_t *n)
{
    list_call c = { f, present ? CK_TRUE : CK_FALSE, 0, get_slots, "the module's slots", "slots",
                    MAX_SLOTS };
    CK_ULONG count = 0;
    CK_RV rv = CKR_OK;
    int rc = fetch_list(&c, slots, &count, &rv);
    if (rc && (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_REMOVED))
        return fb_fail(FB_ENOTFOUND, "no token is present (%s)", fb_ckr_name(rv));
    *n = rc ? 0 : count;
    return rc;
}

int fb_token_find(CK_FUNCTION_LIST_PTR f, const fb_p11uri *u, CK_SLOT_ID *slot,
                  fb_token_ident *ident)
{
    CK_SLOT_ID *slots;
    size_t n;
    CK_RV rv;
    int rc = fb_token_slot_list(f, true, &slots, &n);
    if (rc)
        return rc;
    char matched[1024] = "", seen[1024] = "";
    size_t n_match = 0;
    int failed = 0;
    bool lib_ok = library_matches(f, u);
    for (size_t i = 0; i < n; i++) {
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
    free(slots);
    return n_match == 1 ? FB_OK : report(u, n_match, matched, seen, failed);
}

static const char *attr_name(CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
    case CKA_CLASS: return "CKA_CLASS";
    case CKA_ID: return "CKA_ID";
    case CKA_LABEL: return "CKA_LABEL";
    case CKA_VALUE: return "CKA_VALUE";
    case CKA_KEY_TYPE: return "CKA_KEY_TYPE";
    default: return "an attribute";
    }
}

/* Sized by a first call, read by a second; a value that grew in between is
 * sized again. A length the second call returns past the buffer given is a
 * broken module, never a reason to read further. */
int fb_token_attr(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
                  CK_ATTRIBUTE_TYPE type, uint8_t **value, size_t *len)
{
    *value = NULL;
    for (int tries = 0; tries < MAX_TRIES; tries++) {
        CK_ATTRIBUTE a = { type, NULL, 0 };
        CK_RV rv = f->C_GetAttributeValue(s, obj, &a, 1);
        if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
            a.ulValueLen > MAX_ATTR_BYTES)
            return FB_ENOTFOUND;
        CK_ULONG room = a.ulValueLen;
        uint8_t *v = malloc(room ? room : 1);
        if (!v)
            return fb_fail_oom();
        a.pValue = v;
        rv = f->C_GetAttributeValue(s, obj, &a, 1);
        if (rv == CKR_OK && a.ulValueLen <= room) {
            *value = v;
            *len = a.ulValueLen;
            return FB_OK;
        }
        free(v);
        if (rv == CKR_OK)
            return fb_fail(FB_ETOKEN, "the module claims %lu bytes of %s in a buffer of %lu; "
                           "the value was discarded", (unsigned long)a.ulValueLen,
                           attr_name(type), (unsigned long)room);
        if (rv != CKR_BUFFER_TOO_SMALL)
            return FB_ENOTFOUND;
    }
    return fb_fail(FB_ETOKEN, "cannot read %s: the module answered CKR_BUFFER_TOO_SMALL %d "
                   "times in a row", attr_name(type), MAX_TRIES);
}

static int find_objects(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl,
                        CK_ULONG n_tmpl, CK_OBJECT_HANDLE *found, CK_ULONG *n_found)
{
    CK_RV rv = f->C_FindObjectsInit(s, tmpl, n_tmpl);
    if (rv == CKR_OK) {
        rv = f->C_FindObjects(s, found, MAX_MATCHES, n_found);
        f->C_FindObjectsFinal(s);
    }
    if (rv != CKR_OK)
        return fb_fail(FB_ETOKEN, "cannot search the token: %s", fb_ckr_name(rv));
    /* found has room for MAX_MATCHES handles, and no more are read. */
    if (*n_found > MAX_MATCHES)
        return fb_fail(FB_ETOKEN, "the module claims %lu objects found in a list of %d",
                       (unsigned long)*n_found, MAX_MATCHES);
    return FB_OK;
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
    rc = fb_token_attr(f, s, found[0], CKA_VALUE, der, len);
    if (rc == FB_ETOKEN)
        return fb_fail(FB_ETOKEN, "cannot read the certificate from the token: %s",
                       fb_last_error());
    return rc ? fb_fail(FB_ETOKEN, "cannot read the certificate from the token") : FB_OK;
}

int fb_token_mechanisms(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_MECHANISM_TYPE **mechs,
                        size_t *n)
{
    list_call c = { f, CK_FALSE, slot, get_mechanisms, "the token's mechanisms", "mechanisms",
                    MAX_MECHANISMS };
    CK_ULONG count = 0;
    CK_RV rv;
    int rc = fetch_list(&c, mechs, &count, &rv);
    *n = rc ? 0 : count;
    return rc;
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
