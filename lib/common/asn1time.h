/* Times from X.509 and CMS as seconds since 1970 UTC. */
#ifndef FB_ASN1TIME_H
#define FB_ASN1TIME_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/asn1.h>

bool fb_asn1_time_seconds(const ASN1_TIME *t, int64_t *out);

#endif
