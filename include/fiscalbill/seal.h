/* fiscalbill: sealing. The finance bureau adds its supervisory seal
 * (财政部门监制章) to a unit-signed bill, after checking everything it can:
 * the bureau never seals a bill it could not itself verify. */
#ifndef FISCALBILL_SEAL_H
#define FISCALBILL_SEAL_H

#include "port.h"
#include "sign.h"
#include "trust.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which bytes the supervisory signature covers (specs/signature-format.md). */
typedef enum fb_seal_coverage {
    FB_COVER_FRAGMENT_AND_UNIT, /* fragment ‖ unit node: binds bill, unit and bureau */
    FB_COVER_FRAGMENT,          /* the fragment only */
    FB_COVER_UNIT_NODE          /* the unit node only */
} fb_seal_coverage;

/* "fragment+unit-node", "fragment", "unit-node"; and back. */
FB_EXTERN const char *fb_seal_coverage_name(fb_seal_coverage coverage);
FB_EXTERN int fb_seal_coverage_parse(const char *name, fb_seal_coverage *coverage);

typedef struct fb_seal_options {
    const fb_trust *trust;   /* the anchors the unit's certificate must chain to */
    const char *seal_id;     /* the bureau's seal, as bills name it in */
    const char *seal_name;   /*   Main/SupervisorPartySeal */
    const char *area_code;   /* the bureau's SupervisorAreaCode; NULL: any area */
    fb_seal_coverage coverage;
    fb_sign_options sign;
    const char *sm2_id;      /* the unit's SM2 user ID; NULL for the default */
    int64_t now;             /* when to check certificates; 0 for now */
} fb_seal_options;

#define FB_SEAL_OPTIONS_INIT                                                            \
    { NULL, NULL, NULL, NULL, FB_COVER_FRAGMENT_AND_UNIT, FB_SIGN_OPTIONS_INIT, NULL, 0 }

/* Seal a unit-signed document (bytes from anyone). Before signing: the
 * document reads strictly, the bill is valid, it has exactly the unit's
 * signature, which verifies over the fragment as received, with a
 * certificate that chains to the trust anchors at its signing time and now
 * and whose hash is the bill's InvoicingPartySeal/SealHash;
 * SupervisorAreaCode is the bureau's area; Main/SupervisorPartySeal names
 * this seal and this port's certificate. Any failure refuses with the
 * reason, in a message that starts "bill CODE NUMBER: " once the bill has
 * been read. The sealed document, appended to out, is the input with the
 * supervisor node inserted after the unit node, all other bytes untouched. */
FB_EXTERN int fb_seal(fb_port *bureau, const void *doc, size_t len,
                      const fb_seal_options *options, fb_buf *out);

#ifdef __cplusplus
}
#endif

#endif
