/* Document accessors and the canonical re-writing of a read document. */
#include <stdlib.h>
#include <string.h>
#include "document/docint.h"
#include "document/xmlout.h"

void fb_document_free(fb_document *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n_sigs; i++) {
        fb_sig_node *s = &doc->sigs[i];
        for (size_t j = 0; j < s->n_leaves; j++) {
            free(s->leaves[j].name);
            free(s->leaves[j].value);
        }
        free(s->name);
    }
    fb_bill_free(doc->bill);
    free(doc->data);
    free(doc);
}

const fb_bill *fb_document_bill(const fb_document *doc)
{
    return doc ? doc->bill : NULL;
}

const uint8_t *fb_document_data(const fb_document *doc, size_t *len)
{
    if (len)
        *len = doc ? doc->len : 0;
    return doc ? doc->data : NULL;
}

void fb_document_fragment(const fb_document *doc, size_t *offset, size_t *len)
{
    if (offset)
        *offset = doc ? doc->frag_offset : 0;
    if (len)
        *len = doc ? doc->frag_len : 0;
}

size_t fb_document_signature_count(const fb_document *doc)
{
    return doc ? doc->n_sigs : 0;
}

int fb_document_signature(const fb_document *doc, size_t i, const char **name, size_t *offset,
                          size_t *len)
{
    if (!doc)
        return fb_fail(FB_EARG, "NULL document");
    if (i >= doc->n_sigs)
        return fb_fail(FB_ENOTFOUND, "signature node %zu: the document has %zu", i + 1,
                       doc->n_sigs);
    if (name)
        *name = doc->sigs[i].name;
    if (offset)
        *offset = doc->sigs[i].offset;
    if (len)
        *len = doc->sigs[i].len;
    return FB_OK;
}

const char *fb_document_signature_value(const fb_document *doc, size_t i, const char *child)
{
    if (!doc || !child || i >= doc->n_sigs)
        return NULL;
    const fb_sig_node *s = &doc->sigs[i];
    for (size_t j = 0; j < s->n_leaves; j++)
        if (strcmp(s->leaves[j].name, child) == 0)
            return s->leaves[j].value;
    return NULL;
}

static int write_signatures(const fb_document *doc, fb_buf *out)
{
    int rc = fb_xml_put_open(out, "EInvoiceSignature");
    for (size_t i = 0; rc == FB_OK && i < doc->n_sigs; i++) {
        const fb_sig_node *s = &doc->sigs[i];
        size_t mark = out->size;
        rc = fb_xml_put_open(out, s->name);
        for (size_t j = 0; rc == FB_OK && j < s->n_leaves; j++)
            rc = fb_xml_put_leaf(out, s->leaves[j].name, s->leaves[j].value);
        if (rc == FB_OK)
            rc = fb_xml_put_close_at(out, s->name, mark);
    }
    return rc ? rc : fb_xml_put_close(out, "EInvoiceSignature");
}

int fb_document_write(const fb_document *doc, fb_buf *out)
{
    if (!doc || !out)
        return fb_fail(FB_EARG, "fb_document_write: NULL argument");
    size_t start = out->size;
    int rc = fb_buf_puts(out, FB_XML_DECL "<EInvoice>");
    if (!rc)
        rc = fb_bill_write_fragment(doc->bill, out);
    if (!rc && doc->n_sigs)
        rc = write_signatures(doc, out);
    if (!rc)
        rc = fb_buf_puts(out, "</EInvoice>");
    if (rc && out->ptr)
        out->size = start, out->ptr[start] = '\0';
    return rc;
}

int fb_document_is_canonical(const fb_document *doc)
{
    if (!doc)
        return fb_fail(FB_EARG, "NULL document");
    fb_buf canon = FB_BUF_INIT;
    int rc = fb_document_write(doc, &canon);
    if (rc)
        return rc;
    int same = canon.size == doc->len && memcmp(canon.ptr, doc->data, doc->len) == 0;
    fb_buf_dispose(&canon);
    return same;
}
