/* A minimal DER writer and reader for the fixed shapes of CMS that
 * fiscalbill builds and checks. Primitive values (OIDs, names, times,
 * integers) are encoded by OpenSSL; this only frames them. */
#ifndef FB_DER_H
#define FB_DER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/internal.h"

/* Tags used here. */
enum {
    DER_INTEGER = 0x02,
    DER_OCTET_STRING = 0x04,
    DER_NULL = 0x05,
    DER_OID = 0x06,
    DER_SEQUENCE = 0x30,
    DER_SET = 0x31,
    DER_CTX0 = 0xA0, /* [0], constructed */
    DER_CTX1 = 0xA1,
    DER_CTX2 = 0xA2,
    DER_CTX4 = 0xA4
};

/* Append tag, length and content. */
int der_put(fb_buf *out, uint8_t tag, const void *content, size_t len);

/* Wrap out[mark..] in a TLV: the bytes written since mark become the
 * content of tag. */
int der_wrap(fb_buf *out, size_t mark, uint8_t tag);

/* Append raw bytes (an already-encoded element). */
int der_raw(fb_buf *out, const void *der, size_t len);

/* An OID given in dotted form ("1.2.156.10197.1.501"). */
int der_oid(fb_buf *out, const char *dotted);

/* A reader over [p, end). */
typedef struct der_reader {
    const uint8_t *p;
    const uint8_t *end;
} der_reader;

/* Read one element: its tag, content and whole encoding. false when the
 * input is not DER (indefinite lengths, lengths past the end, long tags). */
bool der_next(der_reader *r, uint8_t *tag, der_reader *content, const uint8_t **whole,
              size_t *whole_len);

#endif
