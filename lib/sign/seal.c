/* Sealing: everything the bureau can check is checked before it signs;
 * the sealed document is the input with one node inserted. */
#include <string.h>
#include <time.h>
#include "common/internal.h"
#include "fiscalbill/document.h"
#include "fiscalbill/seal.h"
#include "fiscalbill/validate.h"
#include "ports/portx509.h"
#include "sign/node.h"
#include "verify/chain.h"

static const char *const coverage_names[] = { "fragment+unit-node", "fragment", "unit-node" };

const char *fb_seal_coverage_name(fb_seal_coverage c)
{
    return (unsigned)c < 3 ? coverage_names[c] : "unknown";
}

int fb_seal_coverage_parse(const char *name, fb_seal_coverage *c)
{
    for (unsigned i = 0; name && c && i < 3; i++)
        if (!strcmp(name, coverage_names[i])) {
            *c = (fb_seal_coverage)i;
            return FB_OK;
        }
    return fb_fail(FB_EARG, "unknown seal coverage \"%s\" (fragment+unit-node, fragment, "
                   "unit-node)", name ? name : "");
}

/* The bytes the supervisory signature covers, as they stand in data. */
static int covered_bytes(const fb_document *doc, fb_seal_coverage c, fb_buf *out)
{
    size_t len, frag_off, frag_len, unit_off, unit_len;
    const uint8_t *data = fb_document_data(doc, &len);
    fb_document_fragment(doc, &frag_off, &frag_len);
    int rc = fb_document_signature(doc, 0, NULL, &unit_off, &unit_len);
    if (!rc && c != FB_COVER_UNIT_NODE)
        rc = fb_buf_put(out, data + frag_off, frag_len);
    if (!rc && c != FB_COVER_FRAGMENT)
        rc = fb_buf_put(out, data + unit_off, unit_len);
    return rc;
}

static int refuse(const char *why)
{
    return fb_fail(FB_EINVALID, "not sealed: %s", why);
}

static int check_shape(const fb_document *doc)
{
    const char *name;
    if (fb_document_signature_count(doc) == 0)
        return refuse("the bill has no unit signature");
    if (fb_document_signature_count(doc) > 1)
        return refuse("the bill is already sealed");
    fb_document_signature(doc, 0, &name, NULL, NULL);
    if (strcmp(name, FB_UNIT_NODE))
        return refuse("the signature node is not the unit's");
    fb_problems *p = NULL;
    int rc = fb_bill_validate(fb_document_bill(doc), &p);
    fb_problems_free(p);
    if (rc == FB_EINVALID) {
        char why[1200];
        snprintf(why, sizeof why, "the bill is invalid: %s", fb_last_error());
        return refuse(why);
    }
    return rc;
}

static int check_unit(const fb_document *doc, const fb_seal_options *o, int64_t now)
{
    size_t len, off, frag_len;
    const uint8_t *data = fb_document_data(doc, &len);
    fb_document_fragment(doc, &off, &frag_len);
    fb_cms cms;
    fb_cms_fault fault;
    char why[600], hash[65];
    int rc = fb_node_check(doc, 0, data + off, frag_len, o->sm2_id,
                           fb_trust_certcache(o->trust), &cms, &fault);
    if (rc) {
        snprintf(why, sizeof why, "the unit signature fails: %s", fb_last_error());
        fb_cms_clear(&cms);
        return refuse(why);
    }
    int64_t when = cms.has_signing_time ? cms.signing_time : now;
    if (fb_chain_check(o->trust, cms.cert, cms.certs, when, why, sizeof why) != FB_CHAIN_OK ||
        fb_chain_check(o->trust, cms.cert, cms.certs, now, why, sizeof why) != FB_CHAIN_OK)
        rc = fb_fail(FB_EINVALID, "not sealed: the unit's certificate is not trusted: %s", why);
    else if (!(rc = fb_node_seal_hash(cms.cert, hash)) &&
             strcmp(hash, fb_bill_get(fb_document_bill(doc), FB_INVOICING_SEAL_HASH)))
        rc = refuse("InvoicingPartySeal/SealHash is not the hash of the certificate that signed");
    fb_cms_clear(&cms);
    return rc;
}

static int check_bureau(const fb_document *doc, const fb_seal_options *o, X509 *bureau_cert)
{
    const fb_bill *b = fb_document_bill(doc);
    const char *area = fb_bill_get(b, FB_SUPERVISOR_AREA_CODE);
    const char *id = fb_bill_get(b, FB_SUPERVISOR_SEAL_ID);
    const char *name = fb_bill_get(b, FB_SUPERVISOR_SEAL_NAME);
    const char *hash = fb_bill_get(b, FB_SUPERVISOR_SEAL_HASH);
    char mine[65];
    int rc = fb_node_seal_hash(bureau_cert, mine);
    if (rc)
        return rc;
    if (o->area_code && (!area || strcmp(area, o->area_code)))
        return refuse("SupervisorAreaCode is not this bureau's area");
    if (!id || strcmp(id, o->seal_id) || !name || strcmp(name, o->seal_name))
        return refuse("Main/SupervisorPartySeal does not name this bureau's seal");
    if (!hash || strcmp(hash, mine))
        return refuse("Main/SupervisorPartySeal/SealHash is not the hash of the bureau's "
                      "certificate");
    return FB_OK;
}

/* The input with the supervisor node inserted right after the unit node. */
static int splice(const fb_document *doc, const fb_buf *node, fb_buf *out)
{
    size_t len, off, unit_len;
    const uint8_t *data = fb_document_data(doc, &len);
    fb_document_signature(doc, 0, NULL, &off, &unit_len);
    size_t at = off + unit_len;
    int rc = fb_buf_put(out, data, at);
    if (!rc) rc = fb_buf_put(out, node->ptr, node->size);
    return rc ? rc : fb_buf_put(out, data + at, len - at);
}

static int check_options(const fb_seal_options *o)
{
    if (!o || !o->trust || !o->seal_id || !o->seal_name)
        return fb_fail(FB_EARG, "fb_seal: the trust anchors, seal id and seal name are needed");
    if (fb_trust_anchor_count(o->trust) == 0)
        return fb_fail(FB_EARG, "fb_seal: no trust anchors");
    if ((unsigned)o->coverage > FB_COVER_UNIT_NODE)
        return fb_fail(FB_EARG, "fb_seal: unknown coverage");
    if (o->sm2_id && strlen(o->sm2_id) > FB_SM2_ID_MAX)
        return fb_fail(FB_EARG, "fb_seal: the SM2 user ID of %zu bytes is longer than %d",
                       strlen(o->sm2_id), FB_SM2_ID_MAX);
    return FB_OK;
}

/* For messages: a bureau sealing many bills learns which one failed. */
static const char *bill_value(const fb_document *doc, fb_field f)
{
    const char *v = fb_bill_get(fb_document_bill(doc), f);
    return v ? v : "(none)";
}

int fb_seal(fb_port *bureau, const void *data, size_t len, const fb_seal_options *o,
            fb_buf *out)
{
    int rc = !bureau || !data || !out ? fb_fail(FB_EARG, "fb_seal: NULL argument")
                                      : check_options(o);
    if (rc)
        return rc;
    fb_sign_options so = o->sign;
    int64_t now = o->now ? o->now : (int64_t)time(NULL);
    if (!so.signing_time)
        so.signing_time = now;
    size_t start = out->size;
    X509 *cert = fb_port_x509(bureau);
    fb_document *doc = NULL;
    fb_buf covered = FB_BUF_INIT, cms = FB_BUF_INIT, node = FB_BUF_INIT;
    rc = cert ? fb_document_parse(&doc, data, len, NULL) : fb_fail(FB_ERROR, "no certificate");
    if (!rc) rc = check_shape(doc);
    if (!rc) rc = check_unit(doc, o, now);
    if (!rc) rc = check_bureau(doc, o, cert);
    if (!rc) rc = covered_bytes(doc, o->coverage, &covered);
    if (!rc) rc = fb_cms_sign(bureau, covered.ptr, covered.size, &so, &cms);
    if (!rc)
        rc = fb_node_write(&node, FB_SUPERVISOR_NODE, fb_port_algorithm(bureau),
                           so.signing_time, cert, cms.ptr, cms.size);
    if (!rc) rc = splice(doc, &node, out);
    if (rc && out->ptr)
        out->size = start, out->ptr[start] = '\0';
    if (rc && doc)
        rc = fb_fail(rc, "bill %s %s: %s", bill_value(doc, FB_EINVOICE_CODE),
                     bill_value(doc, FB_EINVOICE_NUMBER), fb_last_error());
    fb_buf_dispose(&covered);
    fb_buf_dispose(&cms);
    fb_buf_dispose(&node);
    fb_document_free(doc);
    return rc;
}
