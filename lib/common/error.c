/* Status strings and the per-thread last-error message. */
#include <stdio.h>
#include <string.h>
#include "common/internal.h"

#ifndef FB_VERSION_STRING
#define FB_VERSION_STRING "0.0.0"
#endif

/* One message per thread, as libgit2 does: callers on different threads
 * never see each other's failures. */
static _Thread_local char last_error[1024];

const char *fb_status_str(int status)
{
    switch (status) {
    case FB_OK: return "success";
    case FB_ERROR: return "internal error";
    case FB_ENOMEM: return "out of memory";
    case FB_EARG: return "invalid argument";
    case FB_EINVALID: return "bill is invalid";
    case FB_EFORMAT: return "malformed bill document";
    case FB_ELIMIT: return "input exceeds a limit";
    case FB_EIO: return "input/output error";
    case FB_ERANGE: return "number out of range";
    case FB_ENOTFOUND: return "not found";
    case FB_EUNSUPPORTED: return "not supported";
    case FB_EAMBIGUOUS: return "ambiguous name";
    case FB_ETOKEN: return "token failure";
    case FB_EPIN: return "PIN refused or locked";
    case FB_ECRYPTO: return "cryptographic check failed";
    case FB_ETIMEOUT: return "a token call passed its deadline";
    default: return "unknown status";
    }
}

const char *fb_last_error(void)
{
    return last_error;
}

void fb_clear_error(void)
{
    last_error[0] = '\0';
}

const char *fb_version(void)
{
    return FB_VERSION_STRING;
}

int fb_fail(int status, const char *fmt, ...)
{
    /* Format into a copy first: callers often pass fb_last_error() itself
     * as an argument, to prefix it with context. */
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return status;
}

int fb_fail_oom(void)
{
    return fb_fail(FB_ENOMEM, "out of memory");
}

void fb_wipe(void *p, size_t len)
{
    /* A volatile pointer keeps the stores from being optimised away. */
    volatile unsigned char *v = p;
    while (len--)
        *v++ = 0;
}
