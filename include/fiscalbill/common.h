/* fiscalbill: status codes, error messages and the output buffer shared by
 * every part of the library. */
#ifndef FISCALBILL_COMMON_H
#define FISCALBILL_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FB_BUILDING_LIBRARY)
#define FB_EXTERN __attribute__((visibility("default")))
#else
#define FB_EXTERN
#endif

/* Every function that can fail returns an fb_status: FB_OK (0) or a negative
 * code. The failing call also leaves a sentence for a person in
 * fb_last_error(), naming the element, field or file concerned. */
typedef enum fb_status {
    FB_OK = 0,
    FB_ERROR = -1,       /* internal failure; the message says what */
    FB_ENOMEM = -2,      /* out of memory */
    FB_EARG = -3,        /* the caller passed a value the function never accepts */
    FB_EINVALID = -4,    /* the bill breaks a rule of the national format */
    FB_EFORMAT = -5,     /* the input document is not a well-formed bill document */
    FB_ELIMIT = -6,      /* the input exceeds a size, depth or count limit */
    FB_EIO = -7,         /* a file could not be read or written */
    FB_ERANGE = -8,      /* a number is outside what the format can carry */
    FB_ENOTFOUND = -9,   /* no such field, item, kind or entry */
    FB_EUNSUPPORTED = -10, /* valid, but not something this version handles */
    FB_EAMBIGUOUS = -11, /* a name matches more than one token or key */
    FB_ETOKEN = -12,     /* a token, module or signing service failed */
    FB_EPIN = -13,       /* a PIN was refused, is locked, or is missing */
    FB_ECRYPTO = -14,    /* a signature or key failed a cryptographic check */
    FB_ETIMEOUT = -15    /* a token call passed its deadline */
} fb_status;

/* A short, constant description of a status code ("bill is invalid"). */
FB_EXTERN const char *fb_status_str(int status);

/* The message of the last failing call on this thread; "" when there is none.
 * The pointer stays valid until the next fiscalbill call on this thread. */
FB_EXTERN const char *fb_last_error(void);

/* Forget the last error of this thread. */
FB_EXTERN void fb_clear_error(void);

/* The library version, "MAJOR.MINOR.PATCH". */
FB_EXTERN const char *fb_version(void);

/* A growable byte buffer that functions fill for the caller. Start it as
 * FB_BUF_INIT; release it with fb_buf_dispose(). The bytes are always
 * followed by a NUL that size does not count, so text can be used as a
 * C string. */
typedef struct fb_buf {
    uint8_t *ptr;
    size_t size;
    size_t asize;
} fb_buf;

#define FB_BUF_INIT { NULL, 0, 0 }

FB_EXTERN void fb_buf_dispose(fb_buf *buf);

#ifdef __cplusplus
}
#endif

#endif
