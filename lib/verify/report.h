/* The verification report, filled check by check. */
#ifndef FB_REPORT_H
#define FB_REPORT_H

#include "fiscalbill/verify.h"

typedef struct fb_check_result {
    fb_state state;
    fb_subindication sub;
    char sentence[700];
} fb_check_result;

struct fb_report {
    fb_check_result checks[FB_CHECK_COUNT];
    fb_document *doc;
    bool has_signer[2];
    char subject[2][256];
    char serial[2][80];
    char time[2][15];
    char summary[700]; /* the sentence of a bill that passed every check */
};

fb_report *fb_report_new(void);

/* Set a check's outcome; the sentence is formatted. */
void fb_report_set(fb_report *r, fb_check check, fb_state state, fb_subindication sub,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
