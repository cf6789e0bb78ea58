/*
 * TEST-ONLY CODE.  Internal header of libfbtest-faulty-pkcs11.so, a forwarding
 * PKCS#11 module used by fiscalbill's test suite to inject faults and emulate
 * token features that SoftHSM lacks.  Never ship or install it.
 * See tests/p11/README.md for the environment variables and rule grammar.
 */
#ifndef FBTEST_FAULTY_MODULE_H
#define FBTEST_FAULTY_MODULE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

/* Every function that is not the module's entry point stays inside the .so. */
#define FBT_HIDDEN __attribute__((visibility("hidden")))

/* The 2.40 function list in table order; the position is the function index
 * used for rules and call counters. */
#define FBT_FUNCS(X)                                                               \
    X(C_Initialize) X(C_Finalize) X(C_GetInfo) X(C_GetFunctionList)                \
    X(C_GetSlotList) X(C_GetSlotInfo) X(C_GetTokenInfo) X(C_GetMechanismList)      \
    X(C_GetMechanismInfo) X(C_InitToken) X(C_InitPIN) X(C_SetPIN)                  \
    X(C_OpenSession) X(C_CloseSession) X(C_CloseAllSessions) X(C_GetSessionInfo)   \
    X(C_GetOperationState) X(C_SetOperationState) X(C_Login) X(C_Logout)           \
    X(C_CreateObject) X(C_CopyObject) X(C_DestroyObject) X(C_GetObjectSize)        \
    X(C_GetAttributeValue) X(C_SetAttributeValue) X(C_FindObjectsInit)             \
    X(C_FindObjects) X(C_FindObjectsFinal) X(C_EncryptInit) X(C_Encrypt)           \
    X(C_EncryptUpdate) X(C_EncryptFinal) X(C_DecryptInit) X(C_Decrypt)             \
    X(C_DecryptUpdate) X(C_DecryptFinal) X(C_DigestInit) X(C_Digest)               \
    X(C_DigestUpdate) X(C_DigestKey) X(C_DigestFinal) X(C_SignInit) X(C_Sign)      \
    X(C_SignUpdate) X(C_SignFinal) X(C_SignRecoverInit) X(C_SignRecover)           \
    X(C_VerifyInit) X(C_Verify) X(C_VerifyUpdate) X(C_VerifyFinal)                 \
    X(C_VerifyRecoverInit) X(C_VerifyRecover) X(C_DigestEncryptUpdate)             \
    X(C_DecryptDigestUpdate) X(C_SignEncryptUpdate) X(C_DecryptVerifyUpdate)       \
    X(C_GenerateKey) X(C_GenerateKeyPair) X(C_WrapKey) X(C_UnwrapKey)              \
    X(C_DeriveKey) X(C_SeedRandom) X(C_GenerateRandom) X(C_GetFunctionStatus)      \
    X(C_CancelFunction) X(C_WaitForSlotEvent)

#define FBT_ENUM_ENTRY(name) FN_##name,
enum fbt_fn { FBT_FUNCS(FBT_ENUM_ENTRY) FN_COUNT };
#undef FBT_ENUM_ENTRY

/* ---- faulty_module.c: state shared with faulty_auth.c, faulty_sign.c -- */

/* Configuration from the environment, read at C_Initialize and constant
 * until C_Finalize. */
struct fbt_config {
    char *call_log;          /* FBT_CALL_LOG */
    char *pin;               /* FBT_PIN: PIN pad and context-specific PIN */
    unsigned long pin_tries; /* FBT_PIN_TRIES; 0: no lockout emulation */
    int pin_pad;             /* FBT_PIN_PAD */
    int always_auth;         /* FBT_ALWAYS_AUTH */
};
FBT_HIDDEN extern struct fbt_config fbt_cfg;

/* Entry of every shim function except C_Initialize: refuses calls before
 * C_Initialize, then lets the rules decide.  Returns the real function list
 * to forward to, or NULL with *rv holding the result to return.  When a rule
 * made the call fail and injected is not NULL, *injected gets the real list
 * so that the caller can clean up. */
FBT_HIDDEN CK_FUNCTION_LIST *fbt_enter(int fn, CK_RV *rv, CK_FUNCTION_LIST **injected);
/* Append "NAME rv=0xHEX[ extra]" to FBT_CALL_LOG. */
FBT_HIDDEN void fbt_call_log(int fn, CK_RV rv, const char *extra);

/* The module lock guards the session table and the PIN counters.  It is
 * never held across a forwarded call, except in C_Initialize/C_Finalize. */
FBT_HIDDEN void fbt_lock(void);
FBT_HIDDEN void fbt_unlock(void);

/* ---- faulty_rules.c: fault rules, counters, PRNG ----------------------- */

/* Name of function index fn ("C_Sign"), or NULL. */
FBT_HIDDEN const char *fbt_fn_name(int fn);

/* (Re)load rules: env text (may be NULL) plus the control file (may be NULL),
 * reset call counters and reseed the PRNG.  Called at C_Initialize. */
FBT_HIDDEN void fbt_rules_load(const char *env_rules, const char *file, uint64_t seed);
/* Drop all rules and free their memory.  Called at C_Finalize. */
FBT_HIDDEN void fbt_rules_free(void);
/* Count one call of fn and decide its fate: returns nonzero and sets *rv when
 * the call must fail without forwarding; *delay_ms gets the delay to apply.
 * Re-reads the control file first when it changed.  Thread-safe. */
FBT_HIDDEN int fbt_rules_check(int fn, CK_RV *rv, unsigned long *delay_ms);

/* ---- faulty_sm2.c: SM2 vendor emulation -------------------------------- */

struct fbt_sm2_op {            /* a pending emulated C_SignInit */
    int active;
    CK_OBJECT_HANDLE key;
    CK_MECHANISM_TYPE mech;
    unsigned char *param;      /* mechanism parameter (SM2 user ID), malloc'd */
    size_t param_len;
    unsigned char *data;       /* C_SignUpdate accumulation, malloc'd */
    size_t data_len;
};

enum fbt_find_filter { FIND_ALL = 0, FIND_ONLY_SM2, FIND_NO_SM2 };

/* What the shim remembers about one session (faulty_module.c's table). */
struct fbt_session {
    CK_SESSION_HANDLE h;
    CK_SLOT_ID slot;           /* FBT_SLOT_UNKNOWN if not opened through us */
    int sign_active;           /* a C_SignInit that no C_Sign* ended yet */
    int multipart;             /* a C_SignUpdate was forwarded since */
    int ctx_auth;              /* CKU_CONTEXT_SPECIFIC login since then */
    struct fbt_sm2_op sm2;     /* emulated vendor SM2 operation */
    enum fbt_find_filter find; /* filter of the active C_FindObjects */
};
#define FBT_SLOT_UNKNOWN ((CK_SLOT_ID)-1)

/* Look up (or also create) a session's state; caller holds the lock. */
FBT_HIDDEN struct fbt_session *fbt_sess_find(CK_SESSION_HANDLE h);
FBT_HIDDEN struct fbt_session *fbt_sess_get(CK_SESSION_HANDLE h);

/* Parse FBT_SM2_PROFILE / FBT_SM2_MECHS / FBT_SM2_OUTPUT.  Returns 0 on
 * success (also when no profile is set), -1 after printing an error. */
FBT_HIDDEN int fbt_sm2_configure(void);
FBT_HIDDEN int fbt_sm2_enabled(void);
/* Nonzero when mech is a vendor SM2 mechanism that the profile offers. */
FBT_HIDDEN int fbt_sm2_is_offered_mech(CK_MECHANISM_TYPE mech);
FBT_HIDDEN CK_RV fbt_sm2_mechanism_list(const CK_FUNCTION_LIST *real, CK_SLOT_ID slot,
                                        CK_MECHANISM_TYPE *list, CK_ULONG *count);
FBT_HIDDEN CK_RV fbt_sm2_mechanism_info(const CK_FUNCTION_LIST *real, CK_SLOT_ID slot,
                                        CK_MECHANISM_TYPE mech, CK_MECHANISM_INFO *info);
/* Rewrite CKA_KEY_TYPE in a template that C_GetAttributeValue answered. */
FBT_HIDDEN void fbt_sm2_patch_key_type(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                                       CK_OBJECT_HANDLE obj, CK_ATTRIBUTE *templ,
                                       CK_ULONG count);
/* Copy a C_FindObjectsInit template, mapping the vendor CKK to CKK_EC.
 * *out is a malloc'd copy (or NULL when no change is needed); *filter says
 * what C_FindObjects must keep. */
FBT_HIDDEN CK_RV fbt_sm2_find_template(const CK_ATTRIBUTE *templ, CK_ULONG count,
                                       CK_ATTRIBUTE **out, enum fbt_find_filter *filter);
/* Whether obj passes the find filter. */
FBT_HIDDEN int fbt_sm2_find_keep(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                                 CK_OBJECT_HANDLE obj, enum fbt_find_filter filter);
/* Validate a vendor C_SignInit and fill *op. */
FBT_HIDDEN CK_RV fbt_sm2_sign_init(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                                   const CK_MECHANISM *mech, CK_OBJECT_HANDLE key,
                                   struct fbt_sm2_op *op);
/* Sign data for op (C_SignFinal passes the parts collected in op->data).
 * Length queries and CKR_BUFFER_TOO_SMALL leave the operation running;
 * *done tells the caller whether it ended. */
FBT_HIDDEN CK_RV fbt_sm2_sign(const CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                              const struct fbt_sm2_op *op, const unsigned char *data,
                              size_t data_len, unsigned char *sig, CK_ULONG *sig_len,
                              int *done);
FBT_HIDDEN void fbt_sm2_op_clear(struct fbt_sm2_op *op);

/* ---- faulty_auth.c: PIN lockout, PIN pad, always-authenticate ---------- */

FBT_HIDDEN CK_RV shim_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info);
FBT_HIDDEN CK_RV shim_InitPIN(CK_SESSION_HANDLE s, CK_UTF8CHAR *pin, CK_ULONG len);
FBT_HIDDEN CK_RV shim_Login(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR *pin,
                            CK_ULONG len);
/* FBT_ALWAYS_AUTH: make private keys answer CKA_ALWAYS_AUTHENTICATE = true
 * in a template that C_GetAttributeValue filled. */
FBT_HIDDEN void fbt_auth_patch_attributes(CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                                          CK_OBJECT_HANDLE obj, CK_ATTRIBUTE *templ,
                                          CK_ULONG count);
/* Forget the PIN counters (C_Finalize); caller holds the lock. */
FBT_HIDDEN void fbt_auth_free(void);

/* ---- faulty_sign.c: C_Sign* with always-auth and SM2 dispatch ---------- */

FBT_HIDDEN CK_RV shim_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key);
FBT_HIDDEN CK_RV shim_Sign(CK_SESSION_HANDLE s, CK_BYTE *data, CK_ULONG len, CK_BYTE *sig,
                           CK_ULONG *sig_len);
FBT_HIDDEN CK_RV shim_SignUpdate(CK_SESSION_HANDLE s, CK_BYTE *part, CK_ULONG len);
FBT_HIDDEN CK_RV shim_SignFinal(CK_SESSION_HANDLE s, CK_BYTE *sig, CK_ULONG *sig_len);

#endif
