/* fiscalbill: validation of a bill against the rules of the national format.
 *
 * Validation finds every problem at once. Each problem names the element by
 * its path ("EInvoiceData/Details/Item[2]/ItemAmount", items counted from 1)
 * and says what is wrong in plain words
 * ("must be 8 digits, got \"3206012\""). The rules are listed in
 * specs/bill-format.md. */
#ifndef FISCALBILL_VALIDATE_H
#define FISCALBILL_VALIDATE_H

#include "bill.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fb_problems fb_problems;

/* Validate the bill. *out receives the list of problems (possibly empty) and
 * must be freed with fb_problems_free(). Returns FB_OK when there are none,
 * FB_EINVALID when there is at least one (fb_last_error() then holds the
 * first), or another negative code when validation itself could not run. */
FB_EXTERN int fb_bill_validate(const fb_bill *bill, fb_problems **out);

FB_EXTERN size_t fb_problems_count(const fb_problems *problems);
/* The path of the i-th problem's element, or NULL when i is out of range. */
FB_EXTERN const char *fb_problems_path(const fb_problems *problems, size_t i);
/* What is wrong there. */
FB_EXTERN const char *fb_problems_message(const fb_problems *problems, size_t i);
FB_EXTERN void fb_problems_free(fb_problems *problems);

#ifdef __cplusplus
}
#endif

#endif
