/* Issuing: validate, fill, write the canonical fragment, sign it at the
 * unit's port, and frame the document. */
#include <string.h>
#include <time.h>
#include <openssl/x509.h>
#include "common/internal.h"
#include "document/xmlout.h"
#include "fiscalbill/issue.h"
#include "ports/portx509.h"
#include "sign/node.h"

/* SealHash is by definition the hash of the certificate that signs, so it
 * is always set from the port; derived fields are filled where unset (a
 * disagreeing one is reported by validation with every other problem). */
static int prepare(fb_bill *bill, X509 *cert, fb_problems **problems)
{
    char hash[65];
    int rc = fb_node_seal_hash(cert, hash);
    if (!rc)
        rc = fb_bill_set(bill, FB_INVOICING_SEAL_HASH, hash);
    if (rc)
        return rc;
    fb_bill_fill_derived(bill);
    fb_problems *p = NULL;
    rc = fb_bill_validate(bill, &p);
    if (problems)
        *problems = p;
    else
        fb_problems_free(p);
    return rc;
}

static int frame(fb_buf *out, const fb_buf *fragment, const fb_buf *node)
{
    int rc = fb_buf_puts(out, FB_XML_DECL "<EInvoice>");
    if (!rc) rc = fb_buf_put(out, fragment->ptr, fragment->size);
    if (!rc) rc = fb_xml_put_open(out, "EInvoiceSignature");
    if (!rc) rc = fb_buf_put(out, node->ptr, node->size);
    if (!rc) rc = fb_xml_put_close(out, "EInvoiceSignature");
    return rc ? rc : fb_buf_puts(out, "</EInvoice>");
}

/* A caller issuing many bills learns from the message which one failed. */
static int name_bill(const fb_bill *bill, int rc)
{
    const char *code = fb_bill_get(bill, FB_EINVOICE_CODE);
    const char *number = fb_bill_get(bill, FB_EINVOICE_NUMBER);
    return fb_fail(rc, "bill %s %s: %s", code ? code : "(no code)",
                   number ? number : "(no number)", fb_last_error());
}

int fb_issue(fb_port *port, const fb_bill *bill, const fb_sign_options *options, fb_buf *out,
             fb_problems **problems)
{
    if (problems)
        *problems = NULL;
    if (!port || !bill || !out)
        return fb_fail(FB_EARG, "fb_issue: NULL argument");
    fb_sign_options o = FB_SIGN_OPTIONS_INIT;
    if (options)
        o = *options;
    if (!o.signing_time)
        o.signing_time = (int64_t)time(NULL);
    fb_bill *copy = NULL;
    X509 *cert = fb_port_x509(port);
    fb_buf fragment = FB_BUF_INIT, cms = FB_BUF_INIT, node = FB_BUF_INIT;
    size_t start = out->size;
    int rc = cert ? fb_bill_dup(bill, &copy) : fb_fail(FB_ERROR, "the port has no certificate");
    if (!rc) rc = prepare(copy, cert, problems);
    if (!rc) rc = fb_bill_write_fragment(copy, &fragment);
    if (!rc) rc = fb_cms_sign(port, fragment.ptr, fragment.size, &o, &cms);
    if (!rc)
        rc = fb_node_write(&node, FB_UNIT_NODE, fb_port_algorithm(port), o.signing_time, cert,
                           cms.ptr, cms.size);
    if (!rc) rc = frame(out, &fragment, &node);
    if (rc && out->ptr)
        out->size = start, out->ptr[start] = '\0';
    fb_buf_dispose(&fragment);
    fb_buf_dispose(&cms);
    fb_buf_dispose(&node);
    fb_bill_free(copy);
    return rc ? name_bill(bill, rc) : FB_OK;
}

int fb_issue_document(fb_port *port, const void *doc, size_t len, const fb_sign_options *options,
                      fb_buf *out, fb_problems **problems)
{
    if (problems)
        *problems = NULL;
    fb_document *d;
    int rc = fb_document_parse(&d, doc, len, NULL);
    if (rc)
        return rc;
    if (fb_document_signature_count(d))
        rc = fb_fail(FB_EINVALID, "the document is already signed");
    else
        rc = fb_issue(port, fb_document_bill(d), options, out, problems);
    fb_document_free(d);
    return rc;
}
