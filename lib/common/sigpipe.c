/* See sigpipe.h. */
#include <pthread.h>
#include <time.h>
#include "common/sigpipe.h"

void fb_sigpipe_block(fb_sigpipe_guard *g)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
    g->was_blocked = sigismember(&g->old, SIGPIPE);
}

void fb_sigpipe_discard(void)
{
    sigset_t pending, set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
        struct timespec zero = { 0, 0 };
        sigtimedwait(&set, NULL, &zero);
    }
}

void fb_sigpipe_restore(fb_sigpipe_guard *g)
{
    if (g->was_blocked)
        return;
    fb_sigpipe_discard();
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}
