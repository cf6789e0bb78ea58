/* Mechanism profiles: how a port's key signs on its token. PKCS#11 defines
 * no SM2 constants, so each vendor's numbers are a profile of their own. */
#ifndef FB_PROFILE_H
#define FB_PROFILE_H

#include <stdbool.h>
#include <p11-kit/pkcs11.h>
#include "fiscalbill/port.h"

typedef struct fb_profile {
    const char *name;
    fb_sig_alg alg;
    CK_KEY_TYPE key_type;
    CK_MECHANISM_TYPE digest_mech;  /* the host passes the digest (or SM2's e) */
    CK_MECHANISM_TYPE message_mech; /* the token hashes: SM2-with-SM3, ID as parameter */
} fb_profile;

/* The chosen profile and which of its two mechanisms to use. */
typedef struct fb_profile_choice {
    fb_profile profile;
    bool token_hashes; /* use message_mech */
} fb_profile_choice;

/* Choose by name (options->profile) or by probing: the key's type, its
 * curve (from the certificate) and the slot's mechanism list. Prefers the
 * digest mechanism; falls back to SM2-with-SM3. Errors say what the token
 * offers. */
int fb_profile_choose(const fb_port_options *options, CK_KEY_TYPE key_type, fb_sig_alg cert_alg,
                      const CK_MECHANISM_TYPE *mechs, size_t n_mechs, fb_profile_choice *out);

/* The names of the built-in profiles, NULL-terminated. */
extern const char *const fb_profile_names[];

#endif
