/* pkcs11: ports. The session stays open and logged in between signatures;
 * a lost session or a reset token is recovered from once; a refused PIN is
 * never tried again. The caller (port.c) holds the port's lock around every
 * call into this file after open.
 *
 * Every token call runs on the port's worker thread (deadline.c), with a
 * deadline: the functions marked "worker" below run there, inside a job,
 * and only they touch the token state (session, key, PIN, slot). The
 * caller's side fills the job's inputs while the worker is idle and reads
 * its results once it has ended; after a deadline passes it touches
 * nothing the worker may still use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/internal.h"
#include "ports/deadline.h"
#include "ports/module.h"
#include "ports/p11uri.h"
#include "ports/portint.h"
#include "ports/profile.h"
#include "ports/secret.h"
#include "ports/token.h"

/* The inputs and output of one signature. They live in the port, not on
 * the caller's stack, because a job abandoned at its deadline still runs
 * to its end after the caller has left. */
typedef struct sign_job {
    uint8_t *msg; /* a copy, only when the token hashes */
    size_t msg_len, msg_room;
    uint8_t dgst[FB_DIGEST_MAX];
    uint8_t out[FB_RAW_SIG_MAX];
    size_t out_len;
} sign_job;

typedef struct p11 {
    fb_module *mod;
    CK_FUNCTION_LIST_PTR f; /* the worker's timed functions once it runs */
    fb_dl *dl;              /* the worker */
    fb_p11uri uri;
    fb_token_ident token;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE session;
    bool open;
    CK_OBJECT_HANDLE key;
    uint8_t *key_id;
    size_t key_id_len;
    fb_profile_choice choice;
    fb_sig_alg alg;
    bool always_auth;
    fb_secret pin;
    bool pin_refused;
    char refusal[400];
    char *sm2_id;       /* a copy of the port's: the worker may outlive the port */
    char name[160];     /* "token "Window 1" (serial A1B2)" */
    char desc[320];     /* the port for messages (its description once open); caller's */
    sign_job job;
    /* What opening reads from the token, for the caller to judge. */
    bool want_cert;
    uint8_t *cert_der;
    size_t cert_len;
    CK_KEY_TYPE key_type;
    CK_MECHANISM_TYPE *mechs;
    size_t n_mechs;
} p11;

/* ---- session and login (worker) ---- */

static void drop_session(p11 *p)
{
    if (p->open)
        p->f->C_CloseSession(p->session);
    p->open = false;
}

/* A refused PIN is final for this port: a UKey locks after a few wrong
 * tries, so the PIN is wiped and never offered again. */
static int refuse_pin(p11 *p, CK_RV rv)
{
    fb_token_ident now;
    const char *words = fb_token_info(p->f, p->slot, &now, NULL) == FB_OK
                            ? fb_token_pin_words(now.flags) : "";
    fb_secret_free(&p->pin);
    p->pin_refused = true;
    snprintf(p->refusal, sizeof p->refusal, "%s refused the PIN (%s)%s%s; it will not be tried "
             "again", p->name, fb_ckr_name(rv), *words ? "; " : "", words);
    return fb_fail(FB_EPIN, "%s", p->refusal);
}

static bool is_pin_error(CK_RV rv)
{
    return rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_EXPIRED ||
           rv == CKR_PIN_INVALID || rv == CKR_PIN_LEN_RANGE;
}

static int login(p11 *p)
{
    if (p->pin_refused)
        return fb_fail(FB_EPIN, "%s", p->refusal);
    fb_token_ident now;
    CK_RV rv;
    if (fb_token_info(p->f, p->slot, &now, &rv))
        return fb_fail(FB_ETOKEN, "%s: cannot read the token: %s", p->name, fb_ckr_name(rv));
    if (!(now.flags & CKF_LOGIN_REQUIRED))
        return FB_OK;
    if (now.flags & CKF_USER_PIN_LOCKED) {
        p->pin_refused = true;
        snprintf(p->refusal, sizeof p->refusal, "%s: the PIN is locked; unlock it with the "
                 "token's tools", p->name);
        return fb_fail(FB_EPIN, "%s", p->refusal);
    }
    bool pad = now.flags & CKF_PROTECTED_AUTHENTICATION_PATH;
    if (!p->pin.text && !pad)
        return FB_OK; /* no PIN: public objects only; finding the key says so */
    rv = p->f->C_Login(p->session, CKU_USER, p->pin.text ? (CK_UTF8CHAR_PTR)p->pin.text : NULL,
                       p->pin.text ? p->pin.len : 0);
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN)
        return FB_OK;
    if (is_pin_error(rv))
        return refuse_pin(p, rv);
    return fb_fail(FB_ETOKEN, "%s: login failed: %s", p->name, fb_ckr_name(rv));
}

static int connect(p11 *p)
{
    CK_RV rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION, NULL, NULL, &p->session);
    if (rv == CKR_TOKEN_NOT_PRESENT)
        return fb_fail(FB_ETOKEN, "no key in port %s: the token is not present", p->name);
    if (rv != CKR_OK)
        return fb_fail(FB_ETOKEN, "%s: cannot open a session: %s", p->name, fb_ckr_name(rv));
    p->open = true;
    int rc = login(p);
    if (rc)
        drop_session(p);
    return rc;
}

/* After a reset the token may sit in another slot and its handles may have
 * changed: find it again by serial and label, and the key by its CKA_ID. */
static int reconnect(p11 *p)
{
    drop_session(p);
    /* Copies: the search writes the token it finds into p->token. */
    char label[sizeof p->token.label], serial[sizeof p->token.serial];
    memcpy(label, p->token.label, sizeof label);
    memcpy(serial, p->token.serial, sizeof serial);
    fb_p11uri same = { .token = label, .serial = serial };
    int rc = fb_token_find(p->f, &same, &p->slot, &p->token);
    /* A module whose link to its token broke (p11-kit's client after its
     * server process died) reconnects only in C_Initialize: when this port
     * is the module's one user, initialise it again and look once more. */
    if (rc == FB_ETOKEN) {
        fb_dl_enter("C_Finalize/C_Initialize");
        int again = fb_module_reinitialize(p->mod);
        fb_dl_leave();
        if (again == FB_OK)
            rc = fb_token_find(p->f, &same, &p->slot, &p->token);
    }
    if (rc == FB_ENOTFOUND)
        return fb_fail(FB_ETOKEN, "no key in port %s: the token is not present", p->name);
    if (rc)
        return fb_fail(FB_ETOKEN, "%s: the token cannot be reached: %s", p->name,
                       fb_last_error());
    rc = connect(p);
    if (!rc && fb_token_find_key(p->f, p->session, p->key_id, p->key_id_len, NULL, &p->key))
        rc = fb_fail(FB_ETOKEN, "%s: the key is gone after reconnecting: %s", p->name,
                     fb_last_error());
    return rc;
}

/* ---- signing (worker, then the caller's side) ---- */

static CK_RV context_login(p11 *p)
{
    if (!p->pin.text)
        return CKR_USER_NOT_LOGGED_IN;
    return p->f->C_Login(p->session, CKU_CONTEXT_SPECIFIC, (CK_UTF8CHAR_PTR)p->pin.text,
                         p->pin.len);
}

static CK_RV token_sign(p11 *p, const uint8_t *msg, size_t msg_len, const uint8_t *dgst,
                        uint8_t *out, size_t *out_len)
{
    CK_RSA_PKCS_PSS_PARAMS pss = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
    uint8_t info[FB_DIGEST_INFO_LEN];
    CK_MECHANISM mech = { p->choice.profile.digest_mech, NULL, 0 };
    const uint8_t *in = dgst;
    size_t in_len = 32;
    if (p->choice.token_hashes) {
        mech = (CK_MECHANISM){ p->choice.profile.message_mech, (void *)p->sm2_id,
                               strlen(p->sm2_id) };
        in = msg;
        in_len = msg_len;
    } else if (p->alg == FB_SIG_RSA_SHA256) {
        fb_alg_digest_info(dgst, info);
        in = info;
        in_len = sizeof info;
    } else if (p->alg == FB_SIG_RSA_PSS_SHA256) {
        mech.pParameter = &pss;
        mech.ulParameterLen = sizeof pss;
    }
    CK_RV rv = p->f->C_SignInit(p->session, &mech, p->key);
    if (rv == CKR_OK && p->always_auth)
        rv = context_login(p);
    CK_ULONG n = *out_len;
    if (rv == CKR_OK)
        rv = p->f->C_Sign(p->session, (CK_BYTE_PTR)in, in_len, out, &n);
    *out_len = n;
    return rv;
}

/* The failures after which a fresh session, found anew, may succeed. */
static bool recoverable(CK_RV rv)
{
    return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
           rv == CKR_DEVICE_REMOVED || rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_DEVICE_ERROR ||
           rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID;
}

static int sign_failed(p11 *p, CK_RV rv)
{
    if (is_pin_error(rv))
        return refuse_pin(p, rv);
    if (rv == CKR_TOKEN_NOT_PRESENT) {
        drop_session(p);
        return fb_fail(FB_ETOKEN, "no key in port %s: the token is not present", p->name);
    }
    return fb_fail(FB_ETOKEN, "%s: signing failed: %s", p->name, fb_ckr_name(rv));
}

/* Worker. */
static int sign_now(p11 *p, const uint8_t *msg, size_t msg_len, const uint8_t *dgst,
                    uint8_t *out, size_t *out_len)
{
    size_t room = *out_len;
    /* An earlier recovery that failed left no session: try to connect
     * again, once per signature, so a replugged key works without reopening
     * the port. */
    if (!p->open) {
        int rc = reconnect(p);
        if (rc)
            return rc;
    }
    CK_RV rv = token_sign(p, msg, msg_len, dgst, out, out_len);
    if (rv == CKR_OK)
        return FB_OK;
    if (!recoverable(rv))
        return sign_failed(p, rv);
    CK_RV first = rv;
    int rc = reconnect(p);
    if (rc == FB_EPIN)
        return rc; /* the refusal names the token and says it is final */
    if (rc)
        return fb_fail(rc, "%s: signing failed (%s) and reconnecting failed: %s", p->name,
                       fb_ckr_name(first), fb_last_error());
    *out_len = room;
    rv = token_sign(p, msg, msg_len, dgst, out, out_len);
    if (rv == CKR_OK)
        return FB_OK;
    if (recoverable(rv))
        drop_session(p);
    if (is_pin_error(rv) || rv == CKR_TOKEN_NOT_PRESENT)
        return sign_failed(p, rv);
    return fb_fail(FB_ETOKEN, "%s: signing failed (%s), and again after reconnecting (%s)",
                   p->name, fb_ckr_name(first), fb_ckr_name(rv));
}

/* Worker: one signature, from the job's inputs. */
static int sign_job_run(void *arg)
{
    p11 *p = arg;
    /* An abandoned call left the session in a state nobody knows (an
     * operation half done, a login lost): start from a fresh one, through
     * the same path as after a failed recovery. */
    if (fb_dl_take_suspect(p->dl))
        drop_session(p);
    p->job.out_len = sizeof p->job.out;
    return sign_now(p, p->job.msg, p->job.msg_len, p->job.dgst, p->job.out, &p->job.out_len);
}

/* Caller: copy the inputs into the port (the worker is idle, so nobody
 * reads them meanwhile), run the job, copy the output out. */
static int p11_sign(void *impl, const uint8_t *msg, size_t msg_len, const uint8_t *dgst,
                    uint8_t *out, size_t *out_len)
{
    p11 *p = impl;
    sign_job *j = &p->job;
    int rc = fb_dl_ready(p->dl, p->desc);
    if (rc)
        return rc;
    memcpy(j->dgst, dgst, sizeof j->dgst);
    j->msg_len = 0;
    if (p->choice.token_hashes) {
        if (j->msg_room < msg_len) {
            uint8_t *m = realloc(j->msg, msg_len);
            if (!m)
                return fb_fail_oom();
            j->msg = m;
            j->msg_room = msg_len;
        }
        if (msg_len)
            memcpy(j->msg, msg, msg_len);
        j->msg_len = msg_len;
    }
    rc = fb_dl_run(p->dl, sign_job_run, p, p->desc);
    if (rc)
        return rc; /* after FB_ETIMEOUT the job's output is never read */
    if (j->out_len > *out_len)
        return fb_fail(FB_ECRYPTO, "%s: the token returned %zu bytes, more than any signature",
                       p->desc, j->out_len);
    memcpy(out, j->out, j->out_len);
    *out_len = j->out_len;
    return FB_OK;
}

/* Worker, or the caller when the worker never started: release everything
 * the port holds on the token and in memory. */
static int release(void *arg)
{
    p11 *p = arg;
    if (p->f)
        drop_session(p);
    fb_secret_free(&p->pin);
    fb_p11uri_free(&p->uri);
    /* The last reference unloads the module: never under a stuck call,
     * since this runs on the worker after the call returned. */
    fb_module_release(p->mod);
    free(p->key_id);
    free(p->sm2_id);
    free(p->job.msg);
    free(p->cert_der);
    free(p->mechs);
    free(p);
    return FB_OK;
}

static void p11_close(void *impl)
{
    p11 *p = impl;
    if (p->dl)
        fb_dl_stop(p->dl, release, p); /* frees the worker too, now or later */
    else
        release(p);
}

static const fb_port_backend p11_backend = { p11_sign, p11_close };

/* ---- opening ---- */

static int load_module(p11 *p)
{
    char *named = NULL;
    const char *path = p->uri.module_path;
    int rc = FB_OK;
    if (!path && p->uri.module_name) {
        rc = fb_module_path_for_name(p->uri.module_name, &named);
        path = named;
    }
    if (!rc)
        rc = fb_module_acquire(path ? path : fb_module_default_path(), &p->mod);
    free(named);
    if (!rc)
        p->f = fb_module_functions(p->mod);
    return rc;
}

static int find_key(p11 *p)
{
    int rc = fb_token_find_key(p->f, p->session, p->uri.id, p->uri.id_len, p->uri.object,
                               &p->key);
    if (rc == FB_ENOTFOUND) {
        char name[256];
        fb_p11uri_describe(&p->uri, name, sizeof name);
        return fb_fail(rc, "%s: %s on %s%s", name, fb_last_error(), p->name,
                       p->pin.text || p->pin_refused ? ""
                       : " (without a PIN private keys are hidden: give pin-value or pin-source)");
    }
    if (rc)
        return fb_fail(rc, "%s: %s", p->name, fb_last_error());
    uint8_t *v = NULL;
    size_t len = 0;
    if (fb_token_attr(p->f, p->session, p->key, CKA_ID, &p->key_id, &p->key_id_len))
        return fb_fail(FB_ETOKEN, "%s: the key has no CKA_ID", p->name);
    if (fb_token_attr(p->f, p->session, p->key, CKA_ALWAYS_AUTHENTICATE, &v, &len) == FB_OK)
        p->always_auth = len == sizeof(CK_BBOOL) && *v == CK_TRUE;
    free(v);
    return FB_OK;
}

/* Worker: the certificate object's DER, unless a file gives it. */
static int read_cert(p11 *p)
{
    if (!p->want_cert)
        return FB_OK;
    int rc = fb_token_find_cert(p->f, p->session, p->key_id, p->key_id_len, &p->cert_der,
                                &p->cert_len);
    return rc ? fb_fail(rc, "%s: %s; give the certificate file", p->name, fb_last_error())
              : FB_OK;
}

/* Worker: what choosing the profile needs from the token. */
static int read_mechanisms(p11 *p)
{
    uint8_t *v = NULL;
    size_t len = 0;
    p->key_type = (CK_KEY_TYPE)-1;
    if (fb_token_attr(p->f, p->session, p->key, CKA_KEY_TYPE, &v, &len) == FB_OK &&
        len == sizeof p->key_type)
        memcpy(&p->key_type, v, sizeof p->key_type);
    free(v);
    int rc = fb_token_mechanisms(p->f, p->slot, &p->mechs, &p->n_mechs);
    return rc ? fb_fail(rc, "%s: %s", p->name, fb_last_error()) : FB_OK;
}

/* Worker: the token the URI names. */
static int find_token_job(void *arg)
{
    p11 *p = arg;
    int rc = fb_token_find(p->f, &p->uri, &p->slot, &p->token);
    if (!rc)
        snprintf(p->name, sizeof p->name, "token \"%s\" (serial %s)", p->token.label,
                 p->token.serial);
    return rc;
}

/* Worker: session, login, key, and what the caller needs to judge them. */
static int open_session_job(void *arg)
{
    p11 *p = arg;
    int rc = connect(p);
    if (!rc)
        rc = find_key(p);
    if (!rc)
        rc = read_cert(p);
    if (!rc)
        rc = read_mechanisms(p);
    return rc;
}

static int take_cert(fb_port *port, p11 *p, const fb_port_options *o)
{
    X509 *cert = NULL;
    int rc;
    if (o && o->cert_path) {
        rc = fb_port_read_cert(o->cert_path, &cert);
    } else {
        const uint8_t *q = p->cert_der;
        rc = (cert = d2i_X509(NULL, &q, (long)p->cert_len)) ? FB_OK
             : fb_fail(FB_EFORMAT, "%s: the certificate on the token does not parse", p->name);
    }
    return rc ? rc : fb_port_set_cert(port, cert, o && o->rsa_pss);
}

static int choose_profile(fb_port *port, p11 *p, const fb_port_options *o)
{
    int rc = fb_profile_choose(o, p->key_type, port->alg, p->mechs, p->n_mechs, &p->choice);
    if (rc)
        return fb_fail(rc, "%s: %s", p->name, fb_last_error());
    /* An RSA certificate is the same for PKCS#1 v1.5 and PSS; the profile
     * decides. */
    port->alg = p->alg = p->choice.profile.alg;
    snprintf(port->profile, sizeof port->profile, "%s", p->choice.profile.name);
    return FB_OK;
}

static void describe(fb_port *port, p11 *p)
{
    char id[64] = "";
    for (size_t i = 0; i < p->key_id_len && i < 16; i++)
        snprintf(id + 2 * i, sizeof id - 2 * i, "%02X", p->key_id[i]);
    snprintf(port->description, sizeof port->description, "%s, key %s, profile %s%s", p->name, id,
             port->profile, p->choice.token_hashes ? " (token hashes)" : "");
    snprintf(p->desc, sizeof p->desc, "%s", port->description);
}

/* The module is loaded here, not on the worker: C_Initialize runs under
 * the module registry's lock, which an abandoned call would hold for ever.
 * Everything after it that talks to the token runs on the worker, with the
 * deadline; the PIN callback runs here, on the application's thread. */
static int start(p11 *p, const fb_port_options *o)
{
    int rc = load_module(p);
    if (!rc)
        rc = fb_dl_start(&p->dl, p->f, o ? o->call_timeout_ms : 0);
    if (rc)
        return rc;
    p->f = fb_dl_functions(p->dl);
    fb_p11uri_describe(&p->uri, p->desc, sizeof p->desc);
    rc = fb_dl_run(p->dl, find_token_job, p, p->desc);
    if (!rc)
        snprintf(p->desc, sizeof p->desc, "%s", p->name);
    return rc;
}

int fb_p11_open(fb_port *port, const char *text, const fb_port_options *o)
{
    p11 *p = calloc(1, sizeof *p);
    if (!p)
        return fb_fail_oom();
    port->impl = p;
    port->backend = &p11_backend;
    int rc = (p->sm2_id = fb_strdup(port->sm2_id)) ? FB_OK : FB_ENOMEM;
    if (!rc)
        rc = fb_p11uri_parse(text, &p->uri);
    if (!rc && p->uri.type == FB_URI_TYPE_OTHER)
        rc = fb_fail(FB_EARG, "a port signs with a private key: type must be private");
    p->want_cert = !(o && o->cert_path);
    if (!rc)
        rc = start(p, o);
    if (!rc)
        rc = fb_secret_obtain(&p->pin, p->uri.pin_value, p->uri.pin_source,
                              o ? o->pin_callback : NULL, o ? o->pin_callback_data : NULL,
                              p->name);
    /* The URI's copy of the PIN is not needed past this point. */
    if (p->uri.pin_value) {
        fb_wipe(p->uri.pin_value, strlen(p->uri.pin_value));
        free(p->uri.pin_value);
        p->uri.pin_value = NULL;
    }
    if (!rc)
        rc = fb_dl_run(p->dl, open_session_job, p, p->desc);
    if (!rc)
        rc = take_cert(port, p, o);
    if (!rc)
        rc = choose_profile(port, p, o);
    if (!rc)
        describe(port, p);
    /* Read for opening only (the worker is idle: no job runs now). */
    if (!rc) {
        free(p->cert_der);
        free(p->mechs);
        p->cert_der = NULL;
        p->mechs = NULL;
    }
    return rc;
}
