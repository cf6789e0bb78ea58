/*
 * TEST-ONLY CODE: libfbtest-faulty-pkcs11.so, a forwarding PKCS#11 module for
 * fiscalbill's test suite.  NOT A REAL CRYPTOGRAPHIC MODULE; never ship,
 * install or load it outside tests.
 *
 * It dlopen()s a real module (FBT_P11_MODULE, default SoftHSMv2) and exposes
 * a CK_FUNCTION_LIST (2.40) whose entries forward to it, after applying what
 * SoftHSM cannot do by itself:
 *   - fault injection and delays (faulty_rules.c, FBT_FAULT / FBT_FAULT_FILE);
 *   - a call log (FBT_CALL_LOG);
 *   - PIN lockout counters (FBT_PIN_TRIES), a PIN pad (FBT_PIN_PAD, FBT_PIN);
 *   - CKA_ALWAYS_AUTHENTICATE keys (FBT_ALWAYS_AUTH);
 *   - vendor SM2 key types and mechanisms (faulty_sm2.c, FBT_SM2_*).
 * tests/p11/README.md documents every variable and the rule grammar.
 */
#include "faulty_module.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_PREFIX "fbtest-faulty-pkcs11: "
#define DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

struct fbt_config fbt_cfg;

static struct {
    pthread_mutex_t lock;   /* the module lock: guards everything below */
    int initialized;
    int borrowed;           /* the real module was already initialized */
    void *dl;
    CK_FUNCTION_LIST *real;
    struct fbt_session *sess;
    size_t n_sess;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static CK_FUNCTION_LIST shim_list;

/* ---- small helpers ----------------------------------------------------- */

static void sleep_ms(unsigned long ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void fbt_lock(void)
{
    pthread_mutex_lock(&g.lock);
}

void fbt_unlock(void)
{
    pthread_mutex_unlock(&g.lock);
}

CK_FUNCTION_LIST *fbt_enter(int fn, CK_RV *rv, CK_FUNCTION_LIST **injected)
{
    CK_FUNCTION_LIST *real;
    unsigned long delay = 0;
    int fail;

    if (injected != NULL)
        *injected = NULL;
    pthread_mutex_lock(&g.lock);
    real = g.initialized ? g.real : NULL;
    pthread_mutex_unlock(&g.lock);
    if (real == NULL) {
        *rv = CKR_CRYPTOKI_NOT_INITIALIZED;
        return NULL;
    }
    fail = fbt_rules_check(fn, rv, &delay);
    if (delay > 0)
        sleep_ms(delay);
    if (fail && injected != NULL)
        *injected = real;
    return fail ? NULL : real;
}

static CK_FUNCTION_LIST *enter(int fn, CK_RV *rv)
{
    return fbt_enter(fn, rv, NULL);
}

/* One whole line per write() with O_APPEND, so that processes and threads
 * sharing the log never interleave inside a line.  The path is only freed by
 * C_Finalize, after its own line. */
void fbt_call_log(int fn, CK_RV rv, const char *extra)
{
    char line[160];
    int len, fd;

    if (fbt_cfg.call_log == NULL)
        return;
    len = snprintf(line, sizeof(line), "%s rv=0x%lX%s%s\n", fbt_fn_name(fn), (unsigned long)rv,
                   extra != NULL ? " " : "", extra != NULL ? extra : "");
    fd = open(fbt_cfg.call_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (write(fd, line, (size_t)len) != len)
        fprintf(stderr, LOG_PREFIX "short write to %s\n", fbt_cfg.call_log);
    close(fd);
}

/* ---- session table (caller holds g.lock) ------------------------------- */

struct fbt_session *fbt_sess_find(CK_SESSION_HANDLE h)
{
    for (size_t i = 0; i < g.n_sess; i++)
        if (g.sess[i].h == h)
            return &g.sess[i];
    return NULL;
}

static struct fbt_session *sess_add(CK_SESSION_HANDLE h, CK_SLOT_ID slot)
{
    struct fbt_session *s = fbt_sess_find(h);

    if (s == NULL) {
        s = realloc(g.sess, (g.n_sess + 1) * sizeof(*s));
        if (s == NULL)
            return NULL;
        g.sess = s;
        s = &g.sess[g.n_sess++];
    } else {
        fbt_sm2_op_clear(&s->sm2); /* the real module reused a handle */
    }
    memset(s, 0, sizeof(*s));
    s->h = h;
    s->slot = slot;
    return s;
}

/* The session's state, created on first use if it was not opened through us. */
struct fbt_session *fbt_sess_get(CK_SESSION_HANDLE h)
{
    struct fbt_session *s = fbt_sess_find(h);

    return s != NULL ? s : sess_add(h, FBT_SLOT_UNKNOWN);
}

static void sess_drop_at(size_t i)
{
    fbt_sm2_op_clear(&g.sess[i].sm2);
    g.sess[i] = g.sess[--g.n_sess];
}

static void sess_drop(CK_SESSION_HANDLE h)
{
    for (size_t i = 0; i < g.n_sess; i++)
        if (g.sess[i].h == h) {
            sess_drop_at(i);
            return;
        }
}

static void sess_drop_slot(CK_SLOT_ID slot)
{
    for (size_t i = g.n_sess; i-- > 0;)
        if (g.sess[i].slot == slot || g.sess[i].slot == FBT_SLOT_UNKNOWN)
            sess_drop_at(i);
}

/* ---- configuration, load and unload ------------------------------------ */

static char *env_dup(const char *name)
{
    const char *v = getenv(name);

    return (v != NULL && *v != '\0') ? strdup(v) : NULL;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);

    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* Optional unsigned env number (decimal or 0x hex); -1 if malformed. */
static int env_ulong(const char *name, unsigned long long dflt, unsigned long long *out)
{
    const char *v = getenv(name);
    char *end;

    *out = dflt;
    if (v == NULL || *v == '\0')
        return 0;
    errno = 0;
    *out = strtoull(v, &end, (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? 16 : 10);
    if (errno != 0 || *end != '\0' || *v == '-') {
        fprintf(stderr, LOG_PREFIX "bad %s \"%s\"\n", name, v);
        return -1;
    }
    return 0;
}

static CK_RV read_config(void)
{
    unsigned long long tries;

    fbt_cfg.call_log = env_dup("FBT_CALL_LOG");
    fbt_cfg.pin = env_dup("FBT_PIN");
    fbt_cfg.pin_pad = env_flag("FBT_PIN_PAD");
    fbt_cfg.always_auth = env_flag("FBT_ALWAYS_AUTH");
    if (env_ulong("FBT_PIN_TRIES", 0, &tries) != 0)
        return CKR_GENERAL_ERROR;
    fbt_cfg.pin_tries = (unsigned long)tries;
    return fbt_sm2_configure() == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV load_real_module(void)
{
    const char *path = getenv("FBT_P11_MODULE");
    CK_C_GetFunctionList get_list;

    if (path == NULL || *path == '\0')
        path = DEFAULT_MODULE;
    g.dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (g.dl == NULL) {
        fprintf(stderr, LOG_PREFIX "cannot load %s: %s\n", path, dlerror());
        return CKR_GENERAL_ERROR;
    }
    *(void **)&get_list = dlsym(g.dl, "C_GetFunctionList");
    if (get_list == NULL || get_list(&g.real) != CKR_OK || g.real == NULL) {
        fprintf(stderr, LOG_PREFIX "%s has no usable C_GetFunctionList\n", path);
        return CKR_GENERAL_ERROR;
    }
    if (g.real == &shim_list) { /* FBT_P11_MODULE pointing at us: endless loop */
        fprintf(stderr, LOG_PREFIX "FBT_P11_MODULE must not be the shim itself\n");
        return CKR_GENERAL_ERROR;
    }
    return CKR_OK;
}

static CK_RV setup(void)
{
    unsigned long long seed;
    CK_RV rv = read_config();

    if (rv == CKR_OK && env_ulong("FBT_SEED", 1, &seed) != 0)
        rv = CKR_GENERAL_ERROR;
    if (rv == CKR_OK)
        rv = load_real_module();
    if (rv == CKR_OK)
        fbt_rules_load(getenv("FBT_FAULT"), getenv("FBT_FAULT_FILE"), seed);
    return rv;
}

/* Free everything C_Initialize set up.  Caller holds g.lock. */
static void teardown(void)
{
    while (g.n_sess > 0)
        sess_drop_at(g.n_sess - 1);
    free(g.sess);
    g.sess = NULL;
    fbt_auth_free();
    free(fbt_cfg.call_log);
    if (fbt_cfg.pin != NULL)
        memset(fbt_cfg.pin, 0, strlen(fbt_cfg.pin));
    free(fbt_cfg.pin);
    memset(&fbt_cfg, 0, sizeof(fbt_cfg));
    fbt_rules_free();
    if (g.dl != NULL)
        dlclose(g.dl);
    g.dl = NULL;
    g.real = NULL;
    g.initialized = 0;
    g.borrowed = 0;
}

/* ---- C_Initialize / C_Finalize ----------------------------------------- */

static CK_RV shim_Initialize(void *args)
{
    unsigned long delay = 0;
    int fresh = 0;
    CK_RV rv, fault;

    pthread_mutex_lock(&g.lock);
    if (g.initialized) {
        rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
    } else {
        fresh = 1;
        rv = setup();
        /* Only an explicit C_Initialize rule can fire here; counting starts
         * at this load, so this is always call 1. */
        if (rv == CKR_OK && fbt_rules_check(FN_C_Initialize, &fault, &delay))
            rv = fault;
        if (delay > 0)
            sleep_ms(delay);
        if (rv == CKR_OK)
            rv = g.real->C_Initialize(args);
        /* Someone else in this process (a test's direct SoftHSM handle: the
         * same dlopen()ed copy) initialized it already.  Share it, and leave
         * its C_Finalize to them. */
        if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
            g.borrowed = 1;
            rv = CKR_OK;
        }
        g.initialized = (rv == CKR_OK);
    }
    fbt_call_log(FN_C_Initialize, rv, NULL);
    if (fresh && rv != CKR_OK)
        teardown();
    pthread_mutex_unlock(&g.lock);
    return rv;
}

static CK_RV shim_Finalize(void *reserved)
{
    CK_FUNCTION_LIST *real;
    CK_RV rv;

    real = enter(FN_C_Finalize, &rv);
    if (real != NULL)
        rv = g.borrowed ? (reserved == NULL ? CKR_OK : CKR_ARGUMENTS_BAD)
                        : real->C_Finalize(reserved);
    pthread_mutex_lock(&g.lock);
    fbt_call_log(FN_C_Finalize, rv, NULL);
    /* Unload the real module too: ASan runs want no leaks, and SoftHSM's
     * destructors then run before OpenSSL's atexit clean-up (SoftHSM is
     * known to crash when they run after it). */
    if (real != NULL && rv == CKR_OK)
        teardown();
    pthread_mutex_unlock(&g.lock);
    return rv;
}

/* ---- sessions ---------------------------------------------------------- */

static CK_RV shim_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, void *app, CK_NOTIFY notify,
                              CK_SESSION_HANDLE *ph)
{
    CK_RV rv;
    CK_FUNCTION_LIST *real = enter(FN_C_OpenSession, &rv);

    if (real != NULL)
        rv = real->C_OpenSession(slot, flags, app, notify, ph);
    if (rv == CKR_OK) {
        pthread_mutex_lock(&g.lock);
        sess_add(*ph, slot); /* no memory: the session just has no state */
        pthread_mutex_unlock(&g.lock);
    }
    fbt_call_log(FN_C_OpenSession, rv, NULL);
    return rv;
}

static CK_RV shim_CloseSession(CK_SESSION_HANDLE s)
{
    CK_RV rv;
    CK_FUNCTION_LIST *real = enter(FN_C_CloseSession, &rv);

    if (real != NULL)
        rv = real->C_CloseSession(s);
    if (rv == CKR_OK) {
        pthread_mutex_lock(&g.lock);
        sess_drop(s);
        pthread_mutex_unlock(&g.lock);
    }
    fbt_call_log(FN_C_CloseSession, rv, NULL);
    return rv;
}

static CK_RV shim_CloseAllSessions(CK_SLOT_ID slot)
{
    CK_RV rv;
    CK_FUNCTION_LIST *real = enter(FN_C_CloseAllSessions, &rv);

    if (real == NULL)
        return rv;
    rv = real->C_CloseAllSessions(slot);
    if (rv == CKR_OK) {
        pthread_mutex_lock(&g.lock);
        sess_drop_slot(slot);
        pthread_mutex_unlock(&g.lock);
    }
    return rv;
}

/* ---- mechanisms -------------------------------------------------------- */

static CK_RV shim_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE *list, CK_ULONG *count)
{
    CK_RV rv;
    CK_FUNCTION_LIST *real = enter(FN_C_GetMechanismList, &rv);

    if (real == NULL)
        return rv;
    if (fbt_sm2_enabled())
        return fbt_sm2_mechanism_list(real, slot, list, count);
    return real->C_GetMechanismList(slot, list, count);
}

static CK_RV shim_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE mech,
                                   CK_MECHANISM_INFO *info)
{
    CK_RV rv;
    CK_FUNCTION_LIST *real = enter(FN_C_GetMechanismInfo, &rv);

    if (real == NULL)
        return rv;
    if (fbt_sm2_is_offered_mech(mech))
        return fbt_sm2_mechanism_info(real, slot, mech, info);
    return real->C_GetMechanismInfo(slot, mech, info);
}

/* ---- objects ----------------------------------------------------------- */

static CK_RV shim_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
                                    CK_ATTRIBUTE *templ, CK_ULONG count)
{
    CK_RV rv;
    CK_FUNCTION_LIST *real = enter(FN_C_GetAttributeValue, &rv);

    if (real == NULL)
        return rv;
    rv = real->C_GetAttributeValue(s, obj, templ, count);
    /* These results still fill the attributes that could be read. */
    if (templ != NULL && (rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE ||
                          rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_BUFFER_TOO_SMALL)) {
        if (fbt_cfg.always_auth)
            fbt_auth_patch_attributes(real, s, obj, templ, count);
        fbt_sm2_patch_key_type(real, s, obj, templ, count);
    }
    return rv;
}

static CK_RV shim_FindObjectsInit(CK_SESSION_HANDLE s, CK_ATTRIBUTE *templ, CK_ULONG count)
{
    enum fbt_find_filter filter;
    CK_ATTRIBUTE *mapped;
    struct fbt_session *st;
    CK_RV rv;
    CK_FUNCTION_LIST *real = enter(FN_C_FindObjectsInit, &rv);

    if (real == NULL)
        return rv;
    rv = fbt_sm2_find_template(templ, count, &mapped, &filter);
    if (rv != CKR_OK)
        return rv;
    rv = real->C_FindObjectsInit(s, mapped != NULL ? mapped : templ, count);
    free(mapped);
    if (rv == CKR_OK) {
        pthread_mutex_lock(&g.lock);
        if ((st = fbt_sess_get(s)) != NULL)
            st->find = filter;
        pthread_mutex_unlock(&g.lock);
    }
    return rv;
}

/* Fetch from the real module until max handles pass the filter or the real
 * search is exhausted, compacting the kept handles in place. */
static CK_RV filtered_find(CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *ph,
                           CK_ULONG max, CK_ULONG *count, enum fbt_find_filter filter)
{
    CK_ULONG out = 0;

    if (ph == NULL || count == NULL)
        return CKR_ARGUMENTS_BAD;
    while (out < max) {
        CK_ULONG got = 0, kept = 0;
        CK_RV rv = real->C_FindObjects(s, ph + out, max - out, &got);

        if (rv != CKR_OK)
            return rv;
        if (got == 0)
            break;
        for (CK_ULONG i = 0; i < got; i++)
            if (fbt_sm2_find_keep(real, s, ph[out + i], filter))
                ph[out + kept++] = ph[out + i];
        out += kept;
    }
    *count = out;
    return CKR_OK;
}

static CK_RV shim_FindObjects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE *ph, CK_ULONG max,
                              CK_ULONG *count)
{
    enum fbt_find_filter filter = FIND_ALL;
    struct fbt_session *st;
    CK_RV rv;
    CK_FUNCTION_LIST *real = enter(FN_C_FindObjects, &rv);

    if (real == NULL)
        return rv;
    pthread_mutex_lock(&g.lock);
    if ((st = fbt_sess_find(s)) != NULL)
        filter = st->find;
    pthread_mutex_unlock(&g.lock);
    if (filter == FIND_ALL)
        return real->C_FindObjects(s, ph, max, count);
    return filtered_find(real, s, ph, max, count, filter);
}

static CK_RV shim_FindObjectsFinal(CK_SESSION_HANDLE s)
{
    struct fbt_session *st;
    CK_RV rv;
    CK_FUNCTION_LIST *real = enter(FN_C_FindObjectsFinal, &rv);

    if (real == NULL)
        return rv;
    rv = real->C_FindObjectsFinal(s);
    pthread_mutex_lock(&g.lock);
    if ((st = fbt_sess_find(s)) != NULL)
        st->find = FIND_ALL;
    pthread_mutex_unlock(&g.lock);
    return rv;
}

/* ---- plain forwarding -------------------------------------------------- */

/* Functions without emulation: rules first, then the real module. */
#define FWD(fn, params, args)                                   \
    static CK_RV shim_##fn params                               \
    {                                                           \
        CK_RV rv_;                                              \
        CK_FUNCTION_LIST *real_ = enter(FN_C_##fn, &rv_);       \
        return real_ != NULL ? real_->C_##fn args : rv_;        \
    }

FWD(GetInfo, (CK_INFO *i), (i))
FWD(GetSlotList, (CK_BBOOL p, CK_SLOT_ID *l, CK_ULONG *n), (p, l, n))
FWD(GetSlotInfo, (CK_SLOT_ID sl, CK_SLOT_INFO *i), (sl, i))
FWD(WaitForSlotEvent, (CK_FLAGS f, CK_SLOT_ID *sl, void *r), (f, sl, r))
FWD(InitToken, (CK_SLOT_ID sl, CK_UTF8CHAR *p, CK_ULONG n, CK_UTF8CHAR *l), (sl, p, n, l))
FWD(SetPIN, (CK_SESSION_HANDLE s, CK_UTF8CHAR *o, CK_ULONG on, CK_UTF8CHAR *p, CK_ULONG n),
    (s, o, on, p, n))
FWD(GetSessionInfo, (CK_SESSION_HANDLE s, CK_SESSION_INFO *i), (s, i))
FWD(GetOperationState, (CK_SESSION_HANDLE s, CK_BYTE *st, CK_ULONG *n), (s, st, n))
FWD(SetOperationState,
    (CK_SESSION_HANDLE s, CK_BYTE *st, CK_ULONG n, CK_OBJECT_HANDLE e, CK_OBJECT_HANDLE a),
    (s, st, n, e, a))
FWD(Logout, (CK_SESSION_HANDLE s), (s))
FWD(CreateObject, (CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *o),
    (s, t, n, o))
FWD(CopyObject,
    (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *no),
    (s, o, t, n, no))
FWD(DestroyObject, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o), (s, o))
FWD(GetObjectSize, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ULONG *n), (s, o, n))
FWD(SetAttributeValue, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, CK_ULONG n),
    (s, o, t, n))
FWD(EncryptInit, (CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k), (s, m, k))
FWD(Encrypt, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *o, CK_ULONG *on),
    (s, d, n, o, on))
FWD(EncryptUpdate, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *o, CK_ULONG *on),
    (s, d, n, o, on))
FWD(EncryptFinal, (CK_SESSION_HANDLE s, CK_BYTE *o, CK_ULONG *on), (s, o, on))
FWD(DecryptInit, (CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k), (s, m, k))
FWD(Decrypt, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *o, CK_ULONG *on),
    (s, d, n, o, on))
FWD(DecryptUpdate, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *o, CK_ULONG *on),
    (s, d, n, o, on))
FWD(DecryptFinal, (CK_SESSION_HANDLE s, CK_BYTE *o, CK_ULONG *on), (s, o, on))
FWD(DigestInit, (CK_SESSION_HANDLE s, CK_MECHANISM *m), (s, m))
FWD(Digest, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *o, CK_ULONG *on),
    (s, d, n, o, on))
FWD(DigestUpdate, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n), (s, d, n))
FWD(DigestKey, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k), (s, k))
FWD(DigestFinal, (CK_SESSION_HANDLE s, CK_BYTE *o, CK_ULONG *on), (s, o, on))
FWD(SignRecoverInit, (CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k), (s, m, k))
FWD(SignRecover, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *o, CK_ULONG *on),
    (s, d, n, o, on))
FWD(VerifyInit, (CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k), (s, m, k))
FWD(Verify, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *sg, CK_ULONG sn),
    (s, d, n, sg, sn))
FWD(VerifyUpdate, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n), (s, d, n))
FWD(VerifyFinal, (CK_SESSION_HANDLE s, CK_BYTE *sg, CK_ULONG sn), (s, sg, sn))
FWD(VerifyRecoverInit, (CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE k), (s, m, k))
FWD(VerifyRecover, (CK_SESSION_HANDLE s, CK_BYTE *sg, CK_ULONG sn, CK_BYTE *o, CK_ULONG *on),
    (s, sg, sn, o, on))
FWD(DigestEncryptUpdate,
    (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *o, CK_ULONG *on), (s, d, n, o, on))
FWD(DecryptDigestUpdate,
    (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *o, CK_ULONG *on), (s, d, n, o, on))
FWD(SignEncryptUpdate,
    (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *o, CK_ULONG *on), (s, d, n, o, on))
FWD(DecryptVerifyUpdate,
    (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n, CK_BYTE *o, CK_ULONG *on), (s, d, n, o, on))
FWD(GenerateKey,
    (CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *k),
    (s, m, t, n, k))
FWD(GenerateKeyPair,
    (CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_ATTRIBUTE *pt, CK_ULONG pn, CK_ATTRIBUTE *kt,
     CK_ULONG kn, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv),
    (s, m, pt, pn, kt, kn, pub, priv))
FWD(WrapKey,
    (CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE w, CK_OBJECT_HANDLE k, CK_BYTE *o,
     CK_ULONG *on),
    (s, m, w, k, o, on))
FWD(UnwrapKey,
    (CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE u, CK_BYTE *w, CK_ULONG wn,
     CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *k),
    (s, m, u, w, wn, t, n, k))
FWD(DeriveKey,
    (CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE b, CK_ATTRIBUTE *t, CK_ULONG n,
     CK_OBJECT_HANDLE *k),
    (s, m, b, t, n, k))
FWD(SeedRandom, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n), (s, d, n))
FWD(GenerateRandom, (CK_SESSION_HANDLE s, CK_BYTE *d, CK_ULONG n), (s, d, n))
FWD(GetFunctionStatus, (CK_SESSION_HANDLE s), (s))
FWD(CancelFunction, (CK_SESSION_HANDLE s), (s))

#undef FWD

/* ---- the function list ------------------------------------------------- */

static CK_FUNCTION_LIST shim_list = {
    .version = { 2, 40 },
    .C_Initialize = shim_Initialize,
    .C_Finalize = shim_Finalize,
    .C_GetFunctionList = C_GetFunctionList,
    .C_GetInfo = shim_GetInfo,
    .C_GetSlotList = shim_GetSlotList,
    .C_GetSlotInfo = shim_GetSlotInfo,
    .C_GetTokenInfo = shim_GetTokenInfo,
    .C_GetMechanismList = shim_GetMechanismList,
    .C_GetMechanismInfo = shim_GetMechanismInfo,
    .C_InitToken = shim_InitToken,
    .C_InitPIN = shim_InitPIN,
    .C_SetPIN = shim_SetPIN,
    .C_OpenSession = shim_OpenSession,
    .C_CloseSession = shim_CloseSession,
    .C_CloseAllSessions = shim_CloseAllSessions,
    .C_GetSessionInfo = shim_GetSessionInfo,
    .C_GetOperationState = shim_GetOperationState,
    .C_SetOperationState = shim_SetOperationState,
    .C_Login = shim_Login,
    .C_Logout = shim_Logout,
    .C_CreateObject = shim_CreateObject,
    .C_CopyObject = shim_CopyObject,
    .C_DestroyObject = shim_DestroyObject,
    .C_GetObjectSize = shim_GetObjectSize,
    .C_GetAttributeValue = shim_GetAttributeValue,
    .C_SetAttributeValue = shim_SetAttributeValue,
    .C_FindObjectsInit = shim_FindObjectsInit,
    .C_FindObjects = shim_FindObjects,
    .C_FindObjectsFinal = shim_FindObjectsFinal,
    .C_EncryptInit = shim_EncryptInit,
    .C_Encrypt = shim_Encrypt,
    .C_EncryptUpdate = shim_EncryptUpdate,
    .C_EncryptFinal = shim_EncryptFinal,
    .C_DecryptInit = shim_DecryptInit,
    .C_Decrypt = shim_Decrypt,
    .C_DecryptUpdate = shim_DecryptUpdate,
    .C_DecryptFinal = shim_DecryptFinal,
    .C_DigestInit = shim_DigestInit,
    .C_Digest = shim_Digest,
    .C_DigestUpdate = shim_DigestUpdate,
    .C_DigestKey = shim_DigestKey,
    .C_DigestFinal = shim_DigestFinal,
    .C_SignInit = shim_SignInit,
    .C_Sign = shim_Sign,
    .C_SignUpdate = shim_SignUpdate,
    .C_SignFinal = shim_SignFinal,
    .C_SignRecoverInit = shim_SignRecoverInit,
    .C_SignRecover = shim_SignRecover,
    .C_VerifyInit = shim_VerifyInit,
    .C_Verify = shim_Verify,
    .C_VerifyUpdate = shim_VerifyUpdate,
    .C_VerifyFinal = shim_VerifyFinal,
    .C_VerifyRecoverInit = shim_VerifyRecoverInit,
    .C_VerifyRecover = shim_VerifyRecover,
    .C_DigestEncryptUpdate = shim_DigestEncryptUpdate,
    .C_DecryptDigestUpdate = shim_DecryptDigestUpdate,
    .C_SignEncryptUpdate = shim_SignEncryptUpdate,
    .C_DecryptVerifyUpdate = shim_DecryptVerifyUpdate,
    .C_GenerateKey = shim_GenerateKey,
    .C_GenerateKeyPair = shim_GenerateKeyPair,
    .C_WrapKey = shim_WrapKey,
    .C_UnwrapKey = shim_UnwrapKey,
    .C_DeriveKey = shim_DeriveKey,
    .C_SeedRandom = shim_SeedRandom,
    .C_GenerateRandom = shim_GenerateRandom,
    .C_GetFunctionStatus = shim_GetFunctionStatus,
    .C_CancelFunction = shim_CancelFunction,
    .C_WaitForSlotEvent = shim_WaitForSlotEvent,
};

/* The module's only exported symbol. */
__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST **list)
{
    if (list == NULL)
        return CKR_ARGUMENTS_BAD;
    *list = &shim_list;
    return CKR_OK;
}
