/* Token calls through a socket (p11-kit remoting, signing servers) raise
 * SIGPIPE when the far end dies, which would kill the application. Around
 * such calls the calling thread blocks SIGPIPE and discards one raised
 * meanwhile: the call then fails with an error instead. Other threads and
 * the process's own handling are untouched. */
#ifndef FB_SIGPIPE_H
#define FB_SIGPIPE_H

#include <signal.h>
#include <stdbool.h>

typedef struct fb_sigpipe_guard {
    sigset_t old;
    bool was_blocked;
} fb_sigpipe_guard;

void fb_sigpipe_block(fb_sigpipe_guard *g);
void fb_sigpipe_restore(fb_sigpipe_guard *g);

/* Take a SIGPIPE pending for this thread (which must have it blocked). */
void fb_sigpipe_discard(void);

#endif
