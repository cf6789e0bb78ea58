/* fiscalbill: kinds of fiscal bill (票据种类) and their codes.
 *
 * Digits 3-6 of an EInvoiceCode name the kind (category and kind, "0601" for
 * medical outpatient). Only the medical codes are public; the others are
 * assigned by the finance ministry and are set by configuration, never
 * invented by the library. A kind table is an ordinary object: each caller
 * holds its own, so nothing here is global state. */
#ifndef FISCALBILL_KIND_H
#define FISCALBILL_KIND_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fb_kinds fb_kinds;

typedef struct fb_kind_info {
    const char *slug;  /* stable ASCII name: "medical-outpatient" */
    const char *name;  /* the bill name printed on bills, UTF-8 */
    const char *code;  /* 4 digits, or NULL when not public and not configured */
} fb_kind_info;

/* A table holding the built-in kinds: medical-outpatient (0601),
 * medical-inpatient (0602), funds-settlement, nontax-general, membership-fee,
 * court-fee, donation, social-insurance, fine, nontax-payment,
 * housing-maintenance. */
FB_EXTERN int fb_kinds_new(fb_kinds **out);
FB_EXTERN void fb_kinds_free(fb_kinds *kinds);

FB_EXTERN size_t fb_kinds_count(const fb_kinds *kinds);

/* The i-th kind, in table order. Pointers stay valid until the table is
 * changed or freed. */
FB_EXTERN int fb_kinds_get(const fb_kinds *kinds, size_t i, fb_kind_info *info);

/* Find a kind by slug or by 4-digit code. FB_ENOTFOUND when none. */
FB_EXTERN int fb_kinds_find(const fb_kinds *kinds, const char *slug_or_code,
                            fb_kind_info *info);

/* Set the code of a kind (4 digits). A code may name one kind only:
 * FB_EINVALID when another kind already has it. */
FB_EXTERN int fb_kinds_set_code(fb_kinds *kinds, const char *slug, const char *code);

/* Read codes from a configuration text: one "slug = code" per line, '#'
 * starts a comment, blank lines are ignored. Unknown slugs and malformed
 * lines are errors naming the line; nothing is changed unless every line is
 * good. */
FB_EXTERN int fb_kinds_load_text(fb_kinds *kinds, const char *text, size_t len);
FB_EXTERN int fb_kinds_load_file(fb_kinds *kinds, const char *path);

#ifdef __cplusplus
}
#endif

#endif
