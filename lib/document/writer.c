/* The canonical writer: the bill model to the exact bytes of the national
 * format, by walking the schema tables. */
#include <string.h>
#include "bill/schema.h"
#include "document/xmlout.h"
#include "fiscalbill/document.h"

int fb_xml_put_open(fb_buf *out, const char *name)
{
    int rc = fb_buf_put(out, "<", 1);
    if (!rc)
        rc = fb_buf_puts(out, name);
    return rc ? rc : fb_buf_put(out, ">", 1);
}

int fb_xml_put_close(fb_buf *out, const char *name)
{
    int rc = fb_buf_put(out, "</", 2);
    if (!rc)
        rc = fb_buf_puts(out, name);
    return rc ? rc : fb_buf_put(out, ">", 1);
}

int fb_xml_put_close_at(fb_buf *out, const char *name, size_t mark)
{
    size_t open_len = strlen(name) + 2;
    if (out->size != mark + open_len)
        return fb_xml_put_close(out, name);
    out->size = mark;
    int rc = fb_buf_put(out, "<", 1);
    if (!rc)
        rc = fb_buf_puts(out, name);
    return rc ? rc : fb_buf_put(out, "/>", 2);
}

/* Text content escaping, the same as Canonical XML's for text nodes: '&',
 * '<', '>' as entities, CR as a character reference so it survives a
 * parser's line-end normalisation. Everything else as is. */
static int put_escaped(fb_buf *out, const char *s)
{
    const char *run = s;
    for (;; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '\r': rep = "&#13;"; break;
        case '\0': return fb_buf_put(out, run, (size_t)(s - run));
        default: continue;
        }
        int rc = fb_buf_put(out, run, (size_t)(s - run));
        if (!rc)
            rc = fb_buf_puts(out, rep);
        if (rc)
            return rc;
        run = s + 1;
    }
}

int fb_xml_put_leaf(fb_buf *out, const char *name, const char *value)
{
    if (!value || !*value) {
        int rc = fb_buf_put(out, "<", 1);
        if (!rc)
            rc = fb_buf_puts(out, name);
        return rc ? rc : fb_buf_put(out, "/>", 2);
    }
    int rc = fb_xml_put_open(out, name);
    if (!rc)
        rc = put_escaped(out, value);
    return rc ? rc : fb_xml_put_close(out, name);
}

static const char *leaf_value(const fb_bill *bill, const fb_node *leaf, size_t row)
{
    switch (leaf->space) {
    case FB_SPACE_ITEM: return fb_bill_item_get(bill, row, (fb_item_field)leaf->field);
    case FB_SPACE_AUX: return fb_bill_aux_get(bill, row, (fb_aux_field)leaf->field);
    default: return fb_bill_get(bill, (fb_field)leaf->field);
    }
}

static size_t row_count(const fb_bill *bill, const fb_node *repeated)
{
    return repeated->space == FB_SPACE_ITEM ? fb_bill_item_count(bill) : fb_bill_aux_count(bill);
}

static int write_container(fb_buf *out, const fb_bill *bill, const fb_node *node, size_t row);

static int write_unknown_ext(fb_buf *out, const fb_bill *bill)
{
    for (size_t i = 0; i < fb_bill_ext_count(bill); i++) {
        const char *name, *value;
        int rc = fb_bill_ext_get(bill, i, &name, &value);
        if (!rc)
            rc = fb_xml_put_leaf(out, name, value);
        if (rc)
            return rc;
    }
    return FB_OK;
}

static int write_child(fb_buf *out, const fb_bill *bill, const fb_node *parent,
                       const fb_node *child, size_t row)
{
    if (fb_node_is_leaf(child)) {
        const char *v = leaf_value(bill, child, row);
        if ((parent->flags & FB_NODE_SPARSE) && !v)
            return FB_OK;
        return fb_xml_put_leaf(out, fb_node_def(child)->name, v);
    }
    if (!(child->flags & FB_NODE_REPEATED))
        return write_container(out, bill, child, row);
    for (size_t r = 0; r < row_count(bill, child); r++) {
        int rc = write_container(out, bill, child, r);
        if (rc)
            return rc;
    }
    return FB_OK;
}

static int write_container(fb_buf *out, const fb_bill *bill, const fb_node *node, size_t row)
{
    size_t mark = out->size;
    int rc = fb_xml_put_open(out, node->name);
    for (size_t i = 0; rc == FB_OK && i < node->n_children; i++)
        rc = write_child(out, bill, node, &node->children[i], row);
    if (rc == FB_OK && (node->flags & FB_NODE_OPEN))
        rc = write_unknown_ext(out, bill);
    return rc ? rc : fb_xml_put_close_at(out, node->name, mark);
}

int fb_bill_write_fragment(const fb_bill *bill, fb_buf *out)
{
    if (!bill || !out)
        return fb_fail(FB_EARG, "fb_bill_write_fragment: NULL argument");
    size_t start = out->size;
    int rc = write_container(out, bill, &fb_schema_header, 0);
    if (!rc)
        rc = write_container(out, bill, &fb_schema_data, 0);
    if (rc && out->ptr)
        out->size = start, out->ptr[start] = '\0';
    return rc;
}

int fb_bill_write_document(const fb_bill *bill, fb_buf *out)
{
    if (!bill || !out)
        return fb_fail(FB_EARG, "fb_bill_write_document: NULL argument");
    size_t start = out->size;
    int rc = fb_buf_puts(out, FB_XML_DECL "<EInvoice>");
    if (!rc)
        rc = fb_bill_write_fragment(bill, out);
    if (!rc)
        rc = fb_buf_puts(out, "</EInvoice>");
    /* A failure leaves the caller's buffer as it was, never half a bill. */
    if (rc && out->ptr)
        out->size = start, out->ptr[start] = '\0';
    return rc;
}
