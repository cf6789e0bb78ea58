/* A linear pass over untrusted bytes before libxml2 sees them. */
#ifndef FB_PRESCAN_H
#define FB_PRESCAN_H

#include <stddef.h>
#include <stdint.h>

/* Refuse what must never reach the parser: UTF-16/32, NUL bytes, an
 * encoding declaration other than UTF-8 (libxml2 would transcode, and byte
 * offsets would no longer be those of the signed bytes), and attributes
 * (libxml2 2.9 checks duplicate attributes in quadratic time, so a tag with
 * 100,000 of them costs seconds before the tree walk could refuse it).
 * Returns FB_OK or FB_EFORMAT with the reason and line in fb_last_error().
 * Anything it cannot make sense of is left to the parser. */
int fb_prescan(const uint8_t *d, size_t len);

#endif
