/* Derived Header fields (EInvoiceTag, EInvoiceID, Version) and the bill's
 * identity. */
#include <stdio.h>
#include <string.h>
#include "bill/derive.h"
#include "common/internal.h"

int fb_derive_tag(const fb_bill *bill, char out[9])
{
    const char *area = fb_bill_get(bill, FB_SUPERVISOR_AREA_CODE);
    if (!area || !(area[0] >= '0' && area[0] <= '9') || !(area[1] >= '0' && area[1] <= '9'))
        return -1;
    snprintf(out, 9, "CZ-EI-%c%c", area[0], area[1]);
    return 0;
}

int fb_derive_id(const fb_bill *bill, char out[20])
{
    const char *code = fb_bill_get(bill, FB_EINVOICE_CODE);
    const char *number = fb_bill_get(bill, FB_EINVOICE_NUMBER);
    if (!fb_text_is_digits(code, 8) || !fb_text_is_digits(number, 10))
        return -1;
    char forward[20];
    int n = snprintf(forward, sizeof forward, "%s-%s", code, number);
    for (int i = 0; i < n; i++)
        out[i] = forward[n - 1 - i];
    out[n] = '\0';
    return 0;
}

/* The value a derived field must have, or a reason it has none. */
static const char *expected_value(const fb_bill *bill, fb_field f, char buf[20],
                                  const char **missing)
{
    switch (f) {
    case FB_EINVOICE_TAG:
        *missing = "SupervisorAreaCode must start with two digits";
        return fb_derive_tag(bill, buf) == 0 ? buf : NULL;
    case FB_EINVOICE_ID:
        *missing = "EInvoiceCode must be 8 digits and EInvoiceNumber 10";
        return fb_derive_id(bill, buf) == 0 ? buf : NULL;
    default:
        return FB_FORMAT_VERSION;
    }
}

int fb_bill_fill_derived(fb_bill *bill)
{
    if (!bill)
        return fb_fail(FB_EARG, "NULL bill");
    static const fb_field derived[] = { FB_EINVOICE_TAG, FB_EINVOICE_ID, FB_VERSION };
    char bufs[3][20];
    const char *want[3];
    /* Check all three before changing any, so a failure leaves the bill as
     * it was. */
    for (size_t i = 0; i < 3; i++) {
        const char *missing = NULL;
        want[i] = expected_value(bill, derived[i], bufs[i], &missing);
        const char *have = fb_bill_get(bill, derived[i]);
        if (!want[i])
            return fb_fail(FB_EINVALID, "%s: cannot be derived: %s", fb_field_path(derived[i]),
                           missing);
        if (have && strcmp(have, want[i]) != 0)
            return fb_fail(FB_EINVALID, "%s: is \"%s\" but the bill's fields give \"%s\"",
                           fb_field_path(derived[i]), have, want[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        int rc = fb_bill_set(bill, derived[i], want[i]);
        if (rc)
            return rc;
    }
    return FB_OK;
}

int fb_bill_key(const fb_bill *bill, char out[FB_BILL_KEY_BUFSIZE])
{
    if (!bill || !out)
        return fb_fail(FB_EARG, "fb_bill_key: NULL argument");
    const char *code = fb_bill_get(bill, FB_EINVOICE_CODE);
    const char *number = fb_bill_get(bill, FB_EINVOICE_NUMBER);
    if (!fb_text_is_digits(code, 8))
        return fb_fail(FB_EINVALID, "%s: must be 8 digits", fb_field_path(FB_EINVOICE_CODE));
    if (!fb_text_is_digits(number, 10))
        return fb_fail(FB_EINVALID, "%s: must be 10 digits", fb_field_path(FB_EINVOICE_NUMBER));
    snprintf(out, FB_BILL_KEY_BUFSIZE, "%s%s", code, number);
    return FB_OK;
}
