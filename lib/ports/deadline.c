/* A port's worker thread and the deadline of each token call (deadline.h).
 *
 * The worker owns the port's token state while a job runs; the caller only
 * posts the job and waits. Jobs call the token through a copy of the
 * module's function list whose entries note which PKCS#11 function is under
 * way and since when (the "mark"): the caller's deadline is the mark plus
 * the timeout, so each call gets the whole timeout, however many calls a
 * recovery makes. A caller that gives up marks the job abandoned and
 * leaves; the worker stays inside the stuck call, since nothing can take it
 * out, and the job stops at its next token call. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/internal.h"
#include "common/sigpipe.h"
#include "ports/deadline.h"

/* No deadline beyond this: it keeps the arithmetic on struct timespec far
 * from overflow. 30 days. */
#define FB_DEADLINE_MAX_MS (30UL * 24 * 3600 * 1000)

struct fb_dl {
    pthread_t thread;
    pthread_mutex_t lock; /* guards every field below */
    pthread_cond_t wake;  /* the worker waits here for a job or the stop */
    pthread_cond_t done;  /* callers wait here, on CLOCK_MONOTONIC */
    CK_FUNCTION_LIST_PTR real;
    CK_FUNCTION_LIST timed; /* real, with the calls ports make timed */
    unsigned long timeout_ms;

    /* The job: posted by a caller, taken by the worker. */
    fb_dl_job job;
    void *arg;
    _Atomic bool posted; /* atomic: also read while spinning, unlocked */
    bool busy;                      /* the worker runs a job, or final */
    unsigned long started;           /* sequence numbers of jobs */
    _Atomic unsigned long finished;  /* atomic: also read while spinning */
    int rc;
    char msg[1024];
    bool abandoned; /* the running job's caller gave up on it */
    bool suspect;   /* a job was abandoned since fb_dl_take_suspect */

    /* What the worker does now: for the deadline and for messages. */
    const char *call;     /* the token call under way, or NULL */
    const char *last;     /* the call before it, or NULL */
    struct timespec mark; /* when the call, or the work after the last, began */

    /* Stopping. */
    fb_dl_job final;
    void *final_arg;
    _Atomic bool stopping;
    bool final_done;
    bool detached; /* the closer has left: the worker frees itself */
};

/* The worker of the running thread, for the timed functions: the function
 * list is a plain C table, so its entries cannot carry a context. */
static _Thread_local fb_dl *self;

/* ---- time ---- */

static struct timespec now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static struct timespec plus_ms(struct timespec t, unsigned long ms)
{
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static bool before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

/* Before either side sleeps, it spins a little. A port that signs bill
 * after bill then hands its worker the next job, and gets the result back,
 * within microseconds, where each sleep and wake-up costs some 45 us on a
 * virtual machine: as much as a software token's whole signature. Spinning
 * yields the core, so a spinner never keeps a thread with work from it;
 * a slow token (a UKey takes 100 ms) costs one spin per bill. */
#define SPIN_NS 200000L

static bool spun_out(struct timespec start)
{
    struct timespec t = now();
    return (t.tv_sec - start.tv_sec) * 1000000000L + (t.tv_nsec - start.tv_nsec) > SPIN_NS;
}

static void spin_for_job(fb_dl *w)
{
    struct timespec start = now();
    while (!atomic_load(&w->posted) && !atomic_load(&w->stopping) && !spun_out(start))
        sched_yield();
}

static void spin_for_result(fb_dl *w, unsigned long seq)
{
    struct timespec start = now();
    while (atomic_load(&w->finished) != seq && !spun_out(start))
        sched_yield();
}

/* ---- the timed function list ---- */

static bool call_begin(fb_dl *w, const char *name)
{
    pthread_mutex_lock(&w->lock);
    /* A job nobody waits for stops at its next call: a login or a signature
     * that no one will use is only more work for a token that is already
     * in trouble. Closing a session stays allowed, to leave the token tidy. */
    bool go = !w->abandoned || !strcmp(name, "C_CloseSession");
    if (go) {
        w->call = name;
        w->mark = now();
    }
    pthread_mutex_unlock(&w->lock);
    return go;
}

static void call_end(fb_dl *w)
{
    pthread_mutex_lock(&w->lock);
    w->last = w->call;
    w->call = NULL;
    w->mark = now();
    pthread_mutex_unlock(&w->lock);
}

/* Only the worker calls through the timed list, so self is always set; a
 * call from elsewhere is a bug and fails rather than running untimed. */
#define TIMED(fn, params, args)                                                                  \
    static CK_RV timed_##fn params                                                               \
    {                                                                                            \
        fb_dl *w = self;                                                                         \
        if (!w)                                                                                  \
            return CKR_GENERAL_ERROR;                                                            \
        if (!call_begin(w, #fn))                                                                 \
            return CKR_FUNCTION_CANCELED;                                                        \
        CK_RV rv = w->real->fn args;                                                             \
        call_end(w);                                                                             \
        return rv;                                                                               \
    }

TIMED(C_GetInfo, (CK_INFO_PTR i), (i))
TIMED(C_GetSlotList, (CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR n), (present, list, n))
TIMED(C_GetSlotInfo, (CK_SLOT_ID slot, CK_SLOT_INFO_PTR i), (slot, i))
TIMED(C_GetTokenInfo, (CK_SLOT_ID slot, CK_TOKEN_INFO_PTR i), (slot, i))
TIMED(C_GetMechanismList, (CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR n),
      (slot, list, n))
TIMED(C_GetMechanismInfo, (CK_SLOT_ID slot, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO_PTR i),
      (slot, m, i))
TIMED(C_OpenSession,
      (CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
       CK_SESSION_HANDLE_PTR s),
      (slot, flags, app, notify, s))
TIMED(C_CloseSession, (CK_SESSION_HANDLE s), (s))
TIMED(C_Login, (CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len),
      (s, user, pin, len))
TIMED(C_GetAttributeValue,
      (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n), (s, o, t, n))
TIMED(C_FindObjectsInit, (CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n), (s, t, n))
TIMED(C_FindObjects, (CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR o, CK_ULONG max, CK_ULONG_PTR n),
      (s, o, max, n))
TIMED(C_FindObjectsFinal, (CK_SESSION_HANDLE s), (s))
TIMED(C_SignInit, (CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (s, m, k))
TIMED(C_Sign,
      (CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR out,
       CK_ULONG_PTR out_len),
      (s, in, in_len, out, out_len))

#undef TIMED

/* Every function a port calls (p11port.c, token.c) is timed; the others
 * keep the module's own entries and are never used by ports. */
static void time_functions(CK_FUNCTION_LIST *t)
{
    t->C_GetInfo = timed_C_GetInfo;
    t->C_GetSlotList = timed_C_GetSlotList;
    t->C_GetSlotInfo = timed_C_GetSlotInfo;
    t->C_GetTokenInfo = timed_C_GetTokenInfo;
    t->C_GetMechanismList = timed_C_GetMechanismList;
    t->C_GetMechanismInfo = timed_C_GetMechanismInfo;
    t->C_OpenSession = timed_C_OpenSession;
    t->C_CloseSession = timed_C_CloseSession;
    t->C_Login = timed_C_Login;
    t->C_GetAttributeValue = timed_C_GetAttributeValue;
    t->C_FindObjectsInit = timed_C_FindObjectsInit;
    t->C_FindObjects = timed_C_FindObjects;
    t->C_FindObjectsFinal = timed_C_FindObjectsFinal;
    t->C_SignInit = timed_C_SignInit;
    t->C_Sign = timed_C_Sign;
}

void fb_dl_enter(const char *what)
{
    fb_dl *w = self;
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->call = what;
    w->mark = now();
    pthread_mutex_unlock(&w->lock);
}

void fb_dl_leave(void)
{
    if (self)
        call_end(self);
}

/* ---- the worker ---- */

/* Run one job; called and returns with the lock held. */
static int run_locked(fb_dl *w, fb_dl_job job, void *arg)
{
    w->busy = true;
    w->abandoned = false;
    w->call = w->last = NULL;
    w->mark = now();
    pthread_mutex_unlock(&w->lock);
    fb_clear_error();
    int rc = job(arg);
    /* A module talking over a socket raises SIGPIPE on this thread when the
     * far end dies; the worker blocks every signal, so one raised here stays
     * pending for the thread's life unless taken. */
    fb_sigpipe_discard();
    pthread_mutex_lock(&w->lock);
    w->busy = false;
    w->call = NULL;
    /* The abandoned call may have left the token mid-operation, or the
     * session in a state no one knows: the next job starts afresh. */
    if (w->abandoned)
        w->suspect = true;
    return rc;
}

static void destroy(fb_dl *w)
{
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    free(w);
}

static void *worker_main(void *arg)
{
    fb_dl *w = arg;
    self = w;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        if (!w->posted && !w->stopping) {
            pthread_mutex_unlock(&w->lock);
            spin_for_job(w);
            pthread_mutex_lock(&w->lock);
        }
        while (!w->posted && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        if (!w->posted)
            break;
        w->posted = false;
        unsigned long seq = w->started;
        int rc = run_locked(w, w->job, w->arg);
        w->rc = rc;
        if (rc)
            snprintf(w->msg, sizeof w->msg, "%s", fb_last_error());
        w->finished = seq;
        pthread_cond_broadcast(&w->done);
    }
    run_locked(w, w->final, w->final_arg);
    w->final_done = true;
    pthread_cond_broadcast(&w->done);
    bool alone = w->detached;
    pthread_mutex_unlock(&w->lock);
    /* The closer gave up waiting and left w to this thread. */
    if (alone)
        destroy(w);
    return NULL;
}

int fb_dl_start(fb_dl **out, CK_FUNCTION_LIST_PTR real, unsigned long timeout_ms)
{
    fb_dl *w = calloc(1, sizeof *w);
    if (!w)
        return fb_fail_oom();
    w->real = real;
    w->timeout_ms = !timeout_ms ? FB_DEADLINE_DEFAULT_MS
                    : timeout_ms > FB_DEADLINE_MAX_MS ? FB_DEADLINE_MAX_MS : timeout_ms;
    w->timed = *real;
    time_functions(&w->timed);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines ignore clock changes */
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->done, &ca);
    pthread_condattr_destroy(&ca);
    /* The worker takes no signals: they stay with the application's own
     * threads, and a stuck module call is never interrupted by one. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        destroy(w);
        return fb_fail(FB_ERROR, "cannot start the port's token thread: %s", strerror(e));
    }
    *out = w;
    return FB_OK;
}

CK_FUNCTION_LIST_PTR fb_dl_functions(fb_dl *w)
{
    return &w->timed;
}

unsigned long fb_dl_timeout_ms(const fb_dl *w)
{
    return w->timeout_ms;
}

bool fb_dl_take_suspect(fb_dl *w)
{
    pthread_mutex_lock(&w->lock);
    bool s = w->suspect;
    w->suspect = false;
    pthread_mutex_unlock(&w->lock);
    return s;
}

/* ---- callers ---- */

/* Is what we wait for over: job seq, or (seq 0) the final job? */
static bool over(const fb_dl *w, unsigned long seq)
{
    return seq ? w->finished == seq : w->final_done;
}

/* Wait, lock held, until over(seq) or the call under way passes its
 * deadline (never before floor, when given). false on the deadline. */
static bool wait_over(fb_dl *w, unsigned long seq, const struct timespec *floor)
{
    for (;;) {
        if (over(w, seq))
            return true;
        /* The mark moves on at each call without a signal: waking at a
         * stale deadline just computes the new one. */
        struct timespec until = plus_ms(w->mark, w->timeout_ms);
        if (floor && before(until, *floor))
            until = *floor;
        if (!before(now(), until))
            return false;
        pthread_cond_timedwait(&w->done, &w->lock, &until);
    }
}

static const char *stuck_call(const fb_dl *w)
{
    return w->call ? w->call : w->last ? w->last : "token call";
}

/* Lock held. */
static int still_waiting(const fb_dl *w, const char *who)
{
    return fb_fail(FB_ETIMEOUT, "port %s: still waiting for an earlier %s that passed its "
                   "deadline of %lu ms; no token call is made until it returns", who,
                   stuck_call(w), w->timeout_ms);
}

/* Lock held: the caller gives up on the running job. */
static int give_up(fb_dl *w, const char *who)
{
    char what[160];
    if (w->posted) { /* never taken: withdraw it, nothing ran */
        w->posted = false;
        snprintf(what, sizeof what, "the port's token thread did not start the work within "
                 "the deadline of %lu ms", w->timeout_ms);
    } else if (w->call) {
        w->abandoned = true;
        snprintf(what, sizeof what, "%s did not return within the deadline of %lu ms",
                 w->call, w->timeout_ms);
    } else {
        w->abandoned = true;
        snprintf(what, sizeof what, "the work after %s did not end within the deadline of "
                 "%lu ms", w->last ? w->last : "the last token call", w->timeout_ms);
    }
    return fb_fail(FB_ETIMEOUT, "%s: %s; the call is abandoned (PKCS#11 cannot cancel it) and "
                   "the port recovers its session once it returns", who, what);
}

int fb_dl_ready(fb_dl *w, const char *who)
{
    pthread_mutex_lock(&w->lock);
    int rc = w->busy || w->posted || w->stopping ? still_waiting(w, who) : FB_OK;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

int fb_dl_run(fb_dl *w, fb_dl_job job, void *arg, const char *who)
{
    pthread_mutex_lock(&w->lock);
    if (w->busy || w->posted || w->stopping) {
        int rc = still_waiting(w, who);
        pthread_mutex_unlock(&w->lock);
        return rc;
    }
    w->job = job;
    w->arg = arg;
    w->posted = true;
    unsigned long seq = ++w->started;
    w->call = w->last = NULL;
    w->mark = now();
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    spin_for_result(w, seq);
    pthread_mutex_lock(&w->lock);
    int rc;
    if (!wait_over(w, seq, NULL))
        rc = give_up(w, who);
    else if ((rc = w->rc) != FB_OK)
        fb_fail(rc, "%s", w->msg);
    pthread_mutex_unlock(&w->lock);
    return rc;
}

void fb_dl_stop(fb_dl *w, fb_dl_job final, void *arg)
{
    pthread_mutex_lock(&w->lock);
    w->final = final;
    w->final_arg = arg;
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    /* A call stuck past its deadline gets one more deadline from now. */
    struct timespec floor = plus_ms(now(), w->timeout_ms);
    if (!wait_over(w, 0, &floor)) {
        /* Leave the worker to finish on its own: final releases the token
         * state (and the module reference that keeps the module loaded
         * under the stuck call) whenever the call returns. */
        w->detached = true;
        pthread_t t = w->thread;
        pthread_mutex_unlock(&w->lock);
        pthread_detach(t);
        return;
    }
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    destroy(w);
}
