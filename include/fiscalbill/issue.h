/* fiscalbill: issuing. The issuing unit signs a bill at its port
 * (开票单位签章): the bill is validated, its derived fields and seal hash
 * filled, its canonical fragment written and signed, and the document
 * returned with the unit's signature node. Bill codes and numbers are the
 * caller's; the library never invents them. */
#ifndef FISCALBILL_ISSUE_H
#define FISCALBILL_ISSUE_H

#include "bill.h"
#include "port.h"
#include "sign.h"
#include "validate.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Issue a bill: appends the unit-signed document to out. The bill itself is
 * not changed. An invalid bill is refused with FB_EINVALID and, when
 * problems is not NULL, the list of problems (free it with
 * fb_problems_free). InvoicingPartySeal/SealHash is set from the port's
 * certificate (lower-case hex SM3 of its DER for SM2 certificates, SHA-256
 * otherwise), replacing any value the bill had. options may be NULL. A
 * failure's message starts "bill CODE NUMBER: ", naming the bill. */
FB_EXTERN int fb_issue(fb_port *port, const fb_bill *bill, const fb_sign_options *options,
                       fb_buf *out, fb_problems **problems);

/* The same for an unsigned bill document (canonical or not). */
FB_EXTERN int fb_issue_document(fb_port *port, const void *doc, size_t len,
                                const fb_sign_options *options, fb_buf *out,
                                fb_problems **problems);

#ifdef __cplusplus
}
#endif

#endif
