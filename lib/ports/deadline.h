/* Deadlines on token calls. PKCS#11 has no way to cancel a call, so a
 * token that stops answering (a UKey gone silent, a dead signing server)
 * would block its caller for ever. Each pkcs11: port therefore has a worker
 * thread that makes all of the port's token calls; the caller hands it a
 * job and waits on a condition variable, with a deadline for each token
 * call the job makes. When a call passes its deadline the caller gives up
 * (FB_ETIMEOUT) and the worker stays stuck alone; later jobs fail at once
 * until the call returns, and the next job after that finds the session
 * marked suspect. specs/ports.md, "Deadlines". */
#ifndef FB_DEADLINE_H
#define FB_DEADLINE_H

#include <stdbool.h>
#include <p11-kit/pkcs11.h>

/* The default deadline of one token call. */
#define FB_DEADLINE_DEFAULT_MS 30000UL

typedef struct fb_dl fb_dl;

/* Work for the worker thread: an fb_status, with the message in
 * fb_last_error() (of the worker; fb_dl_run carries it to the caller). */
typedef int (*fb_dl_job)(void *arg);

/* Start a port's worker for a module's function list. timeout_ms 0 means
 * FB_DEADLINE_DEFAULT_MS. */
int fb_dl_start(fb_dl **out, CK_FUNCTION_LIST_PTR real, unsigned long timeout_ms);

/* The function list jobs must call the token through: the same functions,
 * each timed against the deadline. Used only on the worker thread. */
CK_FUNCTION_LIST_PTR fb_dl_functions(fb_dl *w);

unsigned long fb_dl_timeout_ms(const fb_dl *w);

/* Run job(arg) on the worker and wait for it. Returns its status (and its
 * message in this thread's fb_last_error()), or FB_ETIMEOUT when one of its
 * token calls passed the deadline or an earlier abandoned call is still
 * stuck. who names the port in messages. job and arg must stay valid
 * until the job ends, which after FB_ETIMEOUT may be much later: pass
 * state the port owns, never the caller's stack. */
int fb_dl_run(fb_dl *w, fb_dl_job job, void *arg, const char *who);

/* FB_OK when the worker is free for a job, else FB_ETIMEOUT with the
 * message saying which earlier call it is still waiting for. Lets a caller
 * check before it fills the buffers a job will read. */
int fb_dl_ready(fb_dl *w, const char *who);

/* On the worker, inside a job: whether a job was abandoned since the last
 * time this was asked (and forget it). Its session is then suspect. */
bool fb_dl_take_suspect(fb_dl *w);

/* On the worker: time work that does not go through fb_dl_functions (the
 * module's own C_Finalize/C_Initialize) as one token call named what.
 * Outside a worker these do nothing. */
void fb_dl_enter(const char *what);
void fb_dl_leave(void);

/* Stop the worker: final(arg) runs on it exactly once, after any job still
 * running, and must release the port's token state. Waits for that up to
 * one more deadline (and each of final's own calls gets one); when the
 * worker is still stuck then, returns anyway and the worker finishes final
 * and frees itself whenever the stuck call returns. */
void fb_dl_stop(fb_dl *w, fb_dl_job final, void *arg);

#endif
