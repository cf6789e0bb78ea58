/* Header fields that follow from Main, computed in one place for the filler
 * and the validator. */
#ifndef FB_DERIVE_H
#define FB_DERIVE_H

#include "fiscalbill/bill.h"

#define FB_FORMAT_VERSION "1.1.0"

/* "CZ-EI-" + two digits. out: at least 9 bytes. Fails (returns -1) when
 * SupervisorAreaCode does not start with two digits. */
int fb_derive_tag(const fb_bill *bill, char out[9]);

/* Reverse of code + "-" + number. out: at least 20 bytes. Fails (returns -1)
 * unless code is 8 digits and number 10. */
int fb_derive_id(const fb_bill *bill, char out[20]);

#endif
