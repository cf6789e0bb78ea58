/*
 * TEST-ONLY CODE: PIN and authentication emulation of
 * libfbtest-faulty-pkcs11.so, the forwarding PKCS#11 module of fiscalbill's
 * test suite.  Never ship it.
 *
 * SoftHSM never locks a PIN, has no PIN pad and no always-authenticate keys,
 * so the library's handling of those cannot be tested on it directly:
 *   FBT_PIN_TRIES=N  counts wrong user PINs per token serial (in memory,
 *                    until C_Finalize), reports the CKF_USER_PIN_* flags and
 *                    refuses C_Login with CKR_PIN_LOCKED after N failures;
 *   FBT_PIN_PAD=1    sets CKF_PROTECTED_AUTHENTICATION_PATH and logs in with
 *                    FBT_PIN when C_Login gets a NULL PIN;
 *   FBT_ALWAYS_AUTH=1 makes private keys CKA_ALWAYS_AUTHENTICATE and checks
 *                    CKU_CONTEXT_SPECIFIC logins against FBT_PIN here (the
 *                    C_Sign side of it is in faulty_sign.c).
 */
#include "faulty_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Consecutive wrong user PINs of one token, by serial number. */
struct pin_count {
    unsigned char serial[16];
    unsigned long failures;
};

static struct pin_count *pins; /* guarded by the module lock */
static size_t n_pins;

void fbt_auth_free(void)
{
    free(pins);
    pins = NULL;
    n_pins = 0;
}

/* ---- PIN counters (FBT_PIN_TRIES) -------------------------------------- */

static CK_RV session_serial(CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s, unsigned char *serial)
{
    CK_SESSION_INFO si;
    CK_TOKEN_INFO ti;
    CK_RV rv = real->C_GetSessionInfo(s, &si);

    if (rv == CKR_OK)
        rv = real->C_GetTokenInfo(si.slotID, &ti);
    if (rv == CKR_OK)
        memcpy(serial, ti.serialNumber, sizeof(ti.serialNumber));
    return rv;
}

/* Failures so far; caller holds the lock. */
static unsigned long pin_failures(const unsigned char *serial)
{
    for (size_t i = 0; i < n_pins; i++)
        if (memcmp(pins[i].serial, serial, sizeof(pins[i].serial)) == 0)
            return pins[i].failures;
    return 0;
}

static int pin_locked(const unsigned char *serial)
{
    int locked;

    fbt_lock();
    locked = fbt_cfg.pin_tries > 0 && pin_failures(serial) >= fbt_cfg.pin_tries;
    fbt_unlock();
    return locked;
}

/* Count a wrong PIN, or reset the count after a good one. */
static void pin_result(const unsigned char *serial, CK_RV rv)
{
    struct pin_count *p = NULL;

    if (rv != CKR_OK && rv != CKR_PIN_INCORRECT)
        return;
    fbt_lock();
    for (size_t i = 0; i < n_pins && p == NULL; i++)
        if (memcmp(pins[i].serial, serial, sizeof(p->serial)) == 0)
            p = &pins[i];
    if (p == NULL && rv == CKR_PIN_INCORRECT &&
        (p = realloc(pins, (n_pins + 1) * sizeof(*p))) != NULL) {
        pins = p;
        p = &pins[n_pins++];
        memcpy(p->serial, serial, sizeof(p->serial));
        p->failures = 0;
    }
    if (p != NULL)
        p->failures = (rv == CKR_OK) ? 0 : p->failures + 1;
    fbt_unlock();
}

/* Token flags as a token with a retry counter would report them. */
static void pin_flags(CK_TOKEN_INFO *ti)
{
    unsigned long failures, left;

    fbt_lock();
    failures = pin_failures(ti->serialNumber);
    fbt_unlock();
    left = failures >= fbt_cfg.pin_tries ? 0 : fbt_cfg.pin_tries - failures;
    ti->flags &= ~(CK_FLAGS)(CKF_USER_PIN_COUNT_LOW | CKF_USER_PIN_FINAL_TRY |
                             CKF_USER_PIN_LOCKED);
    if (left == 0)
        ti->flags |= CKF_USER_PIN_LOCKED;
    else if (left == 1)
        ti->flags |= CKF_USER_PIN_FINAL_TRY;
    else if (left < fbt_cfg.pin_tries)
        ti->flags |= CKF_USER_PIN_COUNT_LOW;
}

CK_RV shim_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
    CK_RV rv;
    CK_FUNCTION_LIST *real = fbt_enter(FN_C_GetTokenInfo, &rv, NULL);

    if (real == NULL)
        return rv;
    rv = real->C_GetTokenInfo(slot, info);
    if (rv != CKR_OK)
        return rv;
    if (fbt_cfg.pin_tries > 0)
        pin_flags(info);
    if (fbt_cfg.pin_pad)
        info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;
    return rv;
}

CK_RV shim_InitPIN(CK_SESSION_HANDLE s, CK_UTF8CHAR *pin, CK_ULONG len)
{
    unsigned char serial[16];
    CK_RV rv;
    CK_FUNCTION_LIST *real = fbt_enter(FN_C_InitPIN, &rv, NULL);

    if (real == NULL)
        return rv;
    rv = real->C_InitPIN(s, pin, len);
    /* The SO setting a new user PIN unblocks it, as on real tokens. */
    if (rv == CKR_OK && fbt_cfg.pin_tries > 0 && session_serial(real, s, serial) == CKR_OK)
        pin_result(serial, CKR_OK);
    return rv;
}

/* ---- C_Login ----------------------------------------------------------- */

/* CKU_CONTEXT_SPECIFIC with FBT_ALWAYS_AUTH: checked here against FBT_PIN,
 * because SoftHSM has no always-authenticate keys. */
static CK_RV context_login(CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s, const CK_UTF8CHAR *pin,
                           CK_ULONG len)
{
    unsigned char serial[16];
    int counting = fbt_cfg.pin_tries > 0, pending, ok;
    struct fbt_session *st;
    CK_RV rv = session_serial(real, s, serial);

    if (rv != CKR_OK)
        return rv;
    fbt_lock();
    st = fbt_sess_find(s);
    pending = st != NULL && st->sign_active;
    fbt_unlock();
    if (!pending)
        return CKR_OPERATION_NOT_INITIALIZED; /* it must follow C_SignInit */
    if (counting && pin_locked(serial))
        return CKR_PIN_LOCKED;
    ok = pin != NULL && fbt_cfg.pin != NULL && len == strlen(fbt_cfg.pin) &&
         memcmp(pin, fbt_cfg.pin, len) == 0;
    rv = ok ? CKR_OK : CKR_PIN_INCORRECT;
    if (counting)
        pin_result(serial, rv); /* the same user PIN, so the same counter */
    if (ok) {
        fbt_lock();
        if ((st = fbt_sess_find(s)) != NULL && st->sign_active)
            st->ctx_auth = 1;
        fbt_unlock();
    }
    return rv;
}

/* CKU_USER with FBT_PIN_TRIES: refuse once locked, else forward and count. */
static CK_RV counted_login(CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s, CK_USER_TYPE user,
                           CK_UTF8CHAR *pin, CK_ULONG len)
{
    unsigned char serial[16];
    int have_serial = session_serial(real, s, serial) == CKR_OK;
    CK_RV rv;

    if (have_serial && pin_locked(serial))
        return CKR_PIN_LOCKED;
    rv = real->C_Login(s, user, pin, len);
    if (have_serial)
        pin_result(serial, rv);
    return rv;
}

static CK_RV do_login(CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s, CK_USER_TYPE user,
                      CK_UTF8CHAR *pin, CK_ULONG len)
{
    /* PIN pad: a NULL PIN means "the user types it on the pad". */
    if (fbt_cfg.pin_pad && pin == NULL) {
        if (fbt_cfg.pin == NULL)
            return CKR_FUNCTION_CANCELED; /* nobody typed anything */
        pin = (CK_UTF8CHAR *)fbt_cfg.pin;
        len = strlen(fbt_cfg.pin);
    }
    if (user == CKU_CONTEXT_SPECIFIC && fbt_cfg.always_auth)
        return context_login(real, s, pin, len);
    if (user == CKU_USER && fbt_cfg.pin_tries > 0)
        return counted_login(real, s, user, pin, len);
    return real->C_Login(s, user, pin, len);
}

/* " serial=S" of the session's token for the call log (trailing blanks
 * dropped), or "" when the session does not say. */
static void serial_words(CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s, char *out, size_t size)
{
    unsigned char serial[16];
    size_t n = sizeof(serial);

    out[0] = '\0';
    if (real == NULL || session_serial(real, s, serial) != CKR_OK)
        return;
    while (n > 0 && (serial[n - 1] == ' ' || serial[n - 1] == '\0'))
        n--;
    snprintf(out, size, " serial=%.*s", (int)n, (const char *)serial);
}

CK_RV shim_Login(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR *pin, CK_ULONG len)
{
    char extra[64], serial[32];
    CK_RV rv;
    CK_FUNCTION_LIST *injected;
    CK_FUNCTION_LIST *real = fbt_enter(FN_C_Login, &rv, &injected);

    /* Which token: asked before the login, while the session surely works. */
    serial_words(real != NULL ? real : injected, s, serial, sizeof(serial));
    if (real != NULL)
        rv = do_login(real, s, user, pin, len);
    /* never the PIN */
    snprintf(extra, sizeof(extra), "user=%lu%s", (unsigned long)user, serial);
    fbt_call_log(FN_C_Login, rv, extra);
    return rv;
}

/* ---- always-authenticate keys ------------------------------------------ */

/* FBT_ALWAYS_AUTH: every private key claims CKA_ALWAYS_AUTHENTICATE. */
void fbt_auth_patch_attributes(CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
                               CK_ATTRIBUTE *templ, CK_ULONG count)
{
    CK_OBJECT_CLASS klass = (CK_OBJECT_CLASS)-1;
    CK_ATTRIBUTE ca = { CKA_CLASS, &klass, sizeof(klass) };
    int looked = 0;

    for (CK_ULONG i = 0; i < count; i++) {
        CK_ATTRIBUTE *a = &templ[i];

        if (a->type != CKA_ALWAYS_AUTHENTICATE)
            continue;
        if (!looked++ && real->C_GetAttributeValue(s, obj, &ca, 1) != CKR_OK)
            klass = (CK_OBJECT_CLASS)-1;
        if (klass != CKO_PRIVATE_KEY)
            continue;
        if (a->pValue == NULL)
            a->ulValueLen = sizeof(CK_BBOOL);
        else if (a->ulValueLen == sizeof(CK_BBOOL)) /* the real module wrote one */
            *(CK_BBOOL *)a->pValue = CK_TRUE;
    }
}
