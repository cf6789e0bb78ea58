/* Byte ranges of the signed parts of a document, taken from the input
 * bytes themselves. */
#ifndef FB_SLICE_H
#define FB_SLICE_H

#include <stddef.h>
#include <stdint.h>

#define FB_SLICE_MAX 4

typedef struct fb_span {
    size_t begin; /* '<' of the start tag */
    size_t end;   /* one past '>' of the end tag (or of "/>") */
    size_t name_len;
    const uint8_t *name; /* points into the input */
} fb_span;

typedef struct fb_slices {
    fb_span top[FB_SLICE_MAX]; /* children of the root, in order */
    size_t n_top;
    fb_span sigs[FB_SLICE_MAX]; /* children of <EInvoiceSignature> */
    size_t n_sigs;
} fb_slices;

/* Scan a document that libxml2 has accepted as well-formed and the tree
 * walk has accepted as a bill (so it holds no DTD, comment, processing
 * instruction or attribute). Returns 0, or -1 when the bytes do not have
 * that shape, which a caller treats as an internal error. */
int fb_slice(const uint8_t *d, size_t len, fb_slices *out);

#endif
