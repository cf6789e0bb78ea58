/* The profile table and the choice of a profile for a key. Vendor numbers
 * come from the public vendor tables gathered in specs/ports.md. */
#include <stdio.h>
#include <string.h>
#include "common/internal.h"
#include "ports/profile.h"

static const fb_profile builtin[] = {
    { "ecdsa", FB_SIG_ECDSA_SHA256, CKK_EC, CKM_ECDSA, 0 },
    { "rsa-pkcs", FB_SIG_RSA_SHA256, CKK_RSA, CKM_RSA_PKCS, 0 },
    { "rsa-pss", FB_SIG_RSA_PSS_SHA256, CKK_RSA, CKM_RSA_PKCS_PSS, 0 },
    { "sm2-tass", FB_SIG_SM2_SM3, 0x80000004UL, 0x80008000UL, 0x80008100UL },
    { "sm2-sansec", FB_SIG_SM2_SM3, 0x80000004UL, 0x80008104UL, 0x80008100UL },
    { "sm2-ibm", FB_SIG_SM2_SM3, 0x80050002UL, 0x8005000BUL, 0x8005000CUL },
    { "sm2-luna", FB_SIG_SM2_SM3, 0x80000016UL, 0x80000B21UL, 0x80000B22UL },
};

const char *const fb_profile_names[] = { "ecdsa",   "rsa-pkcs", "rsa-pss",    "sm2-tass",
                                         "sm2-sansec", "sm2-ibm", "sm2-luna", "sm2-custom",
                                         NULL };

static bool offered(const CK_MECHANISM_TYPE *mechs, size_t n, CK_MECHANISM_TYPE m)
{
    for (size_t i = 0; m && i < n; i++)
        if (mechs[i] == m)
            return true;
    return false;
}

/* Can this profile sign with this key on this token? */
static bool fits(const fb_profile *p, CK_KEY_TYPE key_type, fb_sig_alg cert_alg,
                 const CK_MECHANISM_TYPE *mechs, size_t n, bool allow_message, bool *token_hashes)
{
    bool alg_ok = p->alg == cert_alg ||
                  (p->alg == FB_SIG_RSA_PSS_SHA256 && cert_alg == FB_SIG_RSA_SHA256);
    /* Some tokens type SM2 keys as CKK_EC; the certificate says SM2. */
    bool type_ok = key_type == p->key_type || (p->alg == FB_SIG_SM2_SM3 && key_type == CKK_EC);
    if (!alg_ok || !type_ok)
        return false;
    if (offered(mechs, n, p->digest_mech)) {
        *token_hashes = false;
        return true;
    }
    if (allow_message && offered(mechs, n, p->message_mech)) {
        *token_hashes = true;
        return true;
    }
    return false;
}

static int by_name(const fb_port_options *o, fb_profile *out)
{
    if (!strcmp(o->profile, "sm2-custom")) {
        if (!o->sm2_key_type || (!o->sm2_raw_mech && !o->sm2_sm3_mech))
            return fb_fail(FB_EARG, "profile sm2-custom needs the SM2 key type and at least one "
                           "of the raw and SM2-with-SM3 mechanism numbers");
        *out = (fb_profile){ "sm2-custom", FB_SIG_SM2_SM3, o->sm2_key_type, o->sm2_raw_mech,
                             o->sm2_sm3_mech };
        return FB_OK;
    }
    for (size_t i = 0; i < FB_ARRAY_LEN(builtin); i++)
        if (!strcmp(builtin[i].name, o->profile)) {
            *out = builtin[i];
            return FB_OK;
        }
    return fb_fail(FB_EARG, "unknown profile \"%s\" (ecdsa, rsa-pkcs, rsa-pss, sm2-tass, "
                   "sm2-sansec, sm2-ibm, sm2-luna, sm2-custom)", o->profile);
}

static int no_profile(CK_KEY_TYPE key_type, fb_sig_alg cert_alg, const char *named)
{
    char prefix[64] = "";
    if (named)
        snprintf(prefix, sizeof prefix, "profile %s: ", named);
    if (cert_alg == FB_SIG_SM2_SM3)
        return fb_fail(FB_EUNSUPPORTED, "%sthe key is SM2 (type 0x%lX) but the token offers no "
                       "SM2 mechanism of a known profile; plain ECDSA on the SM2 curve is not "
                       "SM2. Name the vendor's numbers with profile sm2-custom",
                       prefix, (unsigned long)key_type);
    return fb_fail(FB_EUNSUPPORTED, "%sthe token offers no mechanism to sign %s with a key of "
                   "type 0x%lX", prefix, fb_sig_alg_name(cert_alg), (unsigned long)key_type);
}

int fb_profile_choose(const fb_port_options *options, CK_KEY_TYPE key_type, fb_sig_alg cert_alg,
                      const CK_MECHANISM_TYPE *mechs, size_t n_mechs, fb_profile_choice *out)
{
    if (options && options->profile) {
        int rc = by_name(options, &out->profile);
        if (rc)
            return rc;
        if (!fits(&out->profile, key_type, cert_alg, mechs, n_mechs, true, &out->token_hashes))
            return no_profile(key_type, cert_alg, options->profile);
        return FB_OK;
    }
    bool pss = options && options->rsa_pss;
    /* Two passes: any profile whose digest mechanism the token offers wins
     * over one that would make the token hash, since e = SM3(Z||M) computed
     * on the host is the form every vendor agrees on. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < FB_ARRAY_LEN(builtin); i++) {
            const fb_profile *p = &builtin[i];
            if ((p->alg == FB_SIG_RSA_PSS_SHA256) != pss && p->key_type == CKK_RSA)
                continue;
            if (fits(p, key_type, cert_alg, mechs, n_mechs, pass == 1, &out->token_hashes)) {
                out->profile = *p;
                return FB_OK;
            }
        }
    return no_profile(key_type, cert_alg, NULL);
}
