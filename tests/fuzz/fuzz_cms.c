/* Fuzz the CMS SignedData reader and checker (lib/cms), which take the
 * base64-decoded SignatureValue of any issuer's bill.
 *
 * The content checked against is fixed. The corpus seeds named
 * fixed-content-* are genuine signatures over exactly these bytes (ECDSA,
 * RSA, RSA-PSS, SM2 with both OID sets, with and without signed
 * attributes), so mutations of them reach every step of the checker; the
 * seeds taken from bills stop at the messageDigest. Changing the content
 * orphans those seeds. */
#include <stdint.h>
#include <string.h>
#include "cms/cms.h"
#include "fiscalbill/common.h"

#define REQUIRE(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* libFuzzer's entry points; declared here as the library's warnings ask. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char content[] =
    "<Header><EInvoiceTag>CZ-EI-65</EInvoiceTag><EInvoiceID>1</EInvoiceID>"
    "<Version>1.1.0</Version></Header><EInvoiceData></EInvoiceData>";

/* What parse promises about the pointers it hands out: into der, in range. */
static void check_parsed(const fb_cms *cms, const uint8_t *der, size_t len)
{
    const uint8_t *end = der + len;
    REQUIRE(cms->cert && cms->certs);
    REQUIRE(cms->sig && cms->sig >= der && cms->sig_len <= (size_t)(end - cms->sig));
    if (cms->attrs)
        REQUIRE(cms->attrs >= der && cms->attrs_len <= (size_t)(end - cms->attrs));
    if (cms->message_digest)
        REQUIRE(cms->message_digest >= der &&
                cms->message_digest_len <= (size_t)(end - cms->message_digest));
    if (cms->ess_hash)
        REQUIRE(cms->ess_hash >= der && cms->ess_hash_len <= (size_t)(end - cms->ess_hash));
}

static void check_against_content(const fb_cms *cms)
{
    /* The default SM2 user ID, and another (which must fail, not crash). */
    static const char *const ids[] = { NULL, "fiscalbill-fuzz" };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        fb_cms_fault fault = FB_CMS_OK;
        int rc = fb_cms_check(cms, content, sizeof content - 1, ids[i], &fault);
        REQUIRE((rc == FB_OK) == (fault == FB_CMS_OK));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* libFuzzer hands over a heap copy of exactly size bytes, so ASan sees
     * any read past the end of the DER. */
    fb_cms cms;
    fb_cms_fault fault = FB_CMS_OK;
    int rc = fb_cms_parse(data, size, &cms, &fault);
    if (rc == FB_OK) {
        REQUIRE(fault == FB_CMS_OK);
        check_parsed(&cms, data, size);
        check_against_content(&cms);
    } else {
        REQUIRE(fault != FB_CMS_OK);
    }
    fb_cms_clear(&cms);
    return 0;
}
