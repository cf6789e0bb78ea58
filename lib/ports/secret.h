/* PINs: where they come from, where they are kept, how they are wiped. */
#ifndef FB_SECRET_H
#define FB_SECRET_H

#include <stddef.h>
#include "fiscalbill/port.h"

/* A PIN in memory locked against swapping, wiped when freed. */
typedef struct fb_secret {
    char *text;
    size_t len;
} fb_secret;

/* Take a PIN from pin-value (copied; the source is the caller's to wipe),
 * from pin-source (file:PATH, read whole with read(2) into the locked
 * buffer; a final LF, then a final CR, dropped; at most 256 bytes, no NUL),
 * or from the callback. *out stays empty when none of them gives one. */
int fb_secret_obtain(fb_secret *out, const char *pin_value, const char *pin_source,
                     fb_pin_callback cb, void *cb_data, const char *port_name);

void fb_secret_free(fb_secret *s);

#endif
