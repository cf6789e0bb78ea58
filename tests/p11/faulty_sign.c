/*
 * TEST-ONLY CODE: the signing functions of libfbtest-faulty-pkcs11.so, the
 * forwarding PKCS#11 module of fiscalbill's test suite.  Never ship it.
 *
 * C_SignInit/C_Sign/C_SignUpdate/C_SignFinal either forward to the real
 * module or run an emulated vendor SM2 operation (faulty_sm2.c).  On top of
 * both, FBT_ALWAYS_AUTH demands a CKU_CONTEXT_SPECIFIC login after every
 * C_SignInit.  Whenever the shim itself fails a signing call (fault rule or
 * missing context login), it also ends the real module's operation, because
 * PKCS#11 says such an error ends the operation.
 */
#include "faulty_module.h"

#include <stdlib.h>
#include <string.h>

/* The signing operation of h ended (result, error, or abort). */
static void sign_ended(CK_SESSION_HANDLE h)
{
    struct fbt_session *s;

    fbt_lock();
    if ((s = fbt_sess_find(h)) != NULL) {
        fbt_sm2_op_clear(&s->sm2);
        s->sign_active = 0;
        s->multipart = 0;
        s->ctx_auth = 0;
    }
    fbt_unlock();
}

/* What C_Sign* needs to know about a session, copied under the lock. */
struct sign_view {
    int active;        /* a signing operation is pending */
    int multipart;     /* ... and C_SignUpdate was forwarded */
    int sm2;           /* ... and it is an emulated SM2 one */
    int blocked;       /* always-authenticate: no context login yet */
    struct fbt_sm2_op op;
};

static struct sign_view sign_view(CK_SESSION_HANDLE s)
{
    struct sign_view v;
    struct fbt_session *st;

    memset(&v, 0, sizeof(v));
    fbt_lock();
    if ((st = fbt_sess_find(s)) != NULL) {
        v.active = st->sign_active;
        v.multipart = st->multipart;
        v.sm2 = st->sm2.active;
        v.op = st->sm2; /* shallow: the session's owner thread keeps it alive */
        v.blocked = fbt_cfg.always_auth && st->sign_active && !st->ctx_auth;
    }
    fbt_unlock();
    return v;
}

/* End the real module's signing operation when the shim fails a C_Sign*
 * itself (fault rule, always-authenticate).  PKCS#11 says such an error ends
 * the operation, but the real module never saw the call and would keep it
 * active (the next C_SignInit would get CKR_OPERATION_ACTIVE).  So finish it
 * for real and throw the signature away. */
static void abort_real_sign(CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s,
                            const struct sign_view *v, CK_BYTE *data, CK_ULONG len)
{
    static CK_BYTE dummy[32];
    CK_ULONG n = 0;
    CK_BYTE *buf;
    CK_RV rv;

    if (!v->active || v->sm2)
        return; /* nothing pending in the real module */
    if (data == NULL) {
        data = dummy;
        len = sizeof(dummy);
    }
    rv = v->multipart ? real->C_SignFinal(s, NULL, &n) : real->C_Sign(s, data, len, NULL, &n);
    if (rv == CKR_OK && (buf = malloc(n > 0 ? n : 1)) != NULL) {
        if (v->multipart)
            real->C_SignFinal(s, buf, &n);
        else
            real->C_Sign(s, data, len, buf, &n);
        free(buf);
    }
    /* any other result was an error, which ended the operation already */
}

/* A rule failed a C_Sign* call: the operation ends as it would on a token,
 * unless the injected code is CKR_BUFFER_TOO_SMALL. */
static void injected_sign_error(CK_FUNCTION_LIST *real, CK_SESSION_HANDLE s, CK_RV rv,
                                CK_BYTE *data, CK_ULONG len)
{
    struct sign_view v;

    if (real == NULL || rv == CKR_BUFFER_TOO_SMALL)
        return;
    v = sign_view(s);
    abort_real_sign(real, s, &v, data, len);
    sign_ended(s);
}

CK_RV shim_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key)
{
    struct fbt_sm2_op op;
    struct fbt_session *st;
    CK_RV rv;
    CK_FUNCTION_LIST *real = fbt_enter(FN_C_SignInit, &rv, NULL);

    memset(&op, 0, sizeof(op));
    if (real == NULL)
        goto out;
    if (sign_view(s).sm2) {
        rv = CKR_OPERATION_ACTIVE; /* the real module cannot know about it */
    } else if (mech != NULL && fbt_sm2_is_offered_mech(mech->mechanism)) {
        rv = fbt_sm2_sign_init(real, s, mech, key, &op);
    } else {
        rv = real->C_SignInit(s, mech, key);
    }
    if (rv == CKR_OK) {
        fbt_lock();
        if ((st = fbt_sess_get(s)) != NULL) {
            fbt_sm2_op_clear(&st->sm2);
            st->sm2 = op;
            st->sign_active = 1;
            st->multipart = 0;
            st->ctx_auth = 0;
        } else {
            fbt_sm2_op_clear(&op);
            rv = CKR_HOST_MEMORY;
        }
        fbt_unlock();
    }
out:
    fbt_call_log(FN_C_SignInit, rv, NULL);
    return rv;
}

CK_RV shim_Sign(CK_SESSION_HANDLE s, CK_BYTE *data, CK_ULONG len, CK_BYTE *sig,
                CK_ULONG *sig_len)
{
    struct sign_view v;
    int done = 1;
    CK_RV rv;
    CK_FUNCTION_LIST *injected;
    CK_FUNCTION_LIST *real = fbt_enter(FN_C_Sign, &rv, &injected);

    if (real == NULL) {
        injected_sign_error(injected, s, rv, data, len);
        goto out;
    }
    v = sign_view(s);
    if (v.blocked && sig != NULL) { /* length queries need no PIN */
        abort_real_sign(real, s, &v, data, len);
        rv = CKR_USER_NOT_LOGGED_IN;
    } else if (v.sm2) {
        rv = fbt_sm2_sign(real, s, &v.op, data, len, sig, sig_len, &done);
    } else {
        rv = real->C_Sign(s, data, len, sig, sig_len);
        done = !(rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && sig == NULL));
    }
    if (done)
        sign_ended(s);
out:
    fbt_call_log(FN_C_Sign, rv, NULL);
    return rv;
}

/* A forwarded C_SignUpdate: aborting now needs C_SignFinal, not C_Sign. */
static void set_multipart(CK_SESSION_HANDLE s)
{
    struct fbt_session *st;

    fbt_lock();
    if ((st = fbt_sess_find(s)) != NULL)
        st->multipart = 1;
    fbt_unlock();
}

/* Multi-part emulated SM2: collect the parts for C_SignFinal. */
static CK_RV sm2_append(CK_SESSION_HANDLE s, const CK_BYTE *part, CK_ULONG len)
{
    struct fbt_session *st;
    unsigned char *p;
    CK_RV rv = CKR_OK;

    if (part == NULL && len > 0)
        return CKR_ARGUMENTS_BAD;
    fbt_lock();
    st = fbt_sess_find(s);
    if (st == NULL || !st->sm2.active) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else if (len > 0) {
        p = realloc(st->sm2.data, st->sm2.data_len + len);
        if (p == NULL) {
            rv = CKR_HOST_MEMORY;
        } else {
            memcpy(p + st->sm2.data_len, part, len);
            st->sm2.data = p;
            st->sm2.data_len += len;
        }
    }
    fbt_unlock();
    return rv;
}

CK_RV shim_SignUpdate(CK_SESSION_HANDLE s, CK_BYTE *part, CK_ULONG len)
{
    struct sign_view v;
    CK_RV rv;
    CK_FUNCTION_LIST *injected;
    CK_FUNCTION_LIST *real = fbt_enter(FN_C_SignUpdate, &rv, &injected);

    if (real == NULL) {
        injected_sign_error(injected, s, rv, part, len);
        return rv;
    }
    v = sign_view(s);
    if (v.blocked) {
        abort_real_sign(real, s, &v, part, len);
        rv = CKR_USER_NOT_LOGGED_IN;
    } else if (v.sm2) {
        rv = sm2_append(s, part, len);
    } else {
        rv = real->C_SignUpdate(s, part, len);
        if (rv == CKR_OK)
            set_multipart(s);
    }
    if (rv != CKR_OK)
        sign_ended(s);
    return rv;
}

CK_RV shim_SignFinal(CK_SESSION_HANDLE s, CK_BYTE *sig, CK_ULONG *sig_len)
{
    struct sign_view v;
    int done = 1;
    CK_RV rv;
    CK_FUNCTION_LIST *injected;
    CK_FUNCTION_LIST *real = fbt_enter(FN_C_SignFinal, &rv, &injected);

    if (real == NULL) {
        injected_sign_error(injected, s, rv, NULL, 0);
        return rv;
    }
    v = sign_view(s);
    if (v.blocked && sig != NULL) {
        abort_real_sign(real, s, &v, NULL, 0);
        rv = CKR_USER_NOT_LOGGED_IN;
    } else if (v.sm2) {
        rv = fbt_sm2_sign(real, s, &v.op, v.op.data, v.op.data_len, sig, sig_len, &done);
    } else {
        rv = real->C_SignFinal(s, sig, sig_len);
        done = !(rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && sig == NULL));
    }
    if (done)
        sign_ended(s);
    return rv;
}
