/* The strict tree walk: a parsed document to the bill model, checking every
 * element name, the order and the cardinality against the schema tables.
 * Nothing read is dropped: anything the model cannot hold is an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bill/schema.h"
#include "document/docint.h"

#define PATH_MAX_LEN 256

/* parent + sep + name, cut to PATH_MAX_LEN - 1 bytes. Every element read
 * gets its path, and snprintf was a tenth of reading a bill. */
static void path_join(char out[PATH_MAX_LEN], const char *parent, const char *sep,
                      const char *name)
{
    size_t n = 0;
    for (const char *part[3] = { parent, sep, name }, **p = part; p < part + 3; p++) {
        size_t len = strnlen(*p, PATH_MAX_LEN - 1 - n);
        memcpy(out + n, *p, len);
        n += len;
    }
    out[n] = '\0';
}

long fb_tree_line(xmlNodePtr node)
{
    return node ? (long)xmlGetLineNo(node) : 0;
}

__attribute__((format(printf, 4, 5)))
static int fail_at(int status, xmlNodePtr node, const char *path, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return fb_fail(status, "%s (line %ld): %s", path, fb_tree_line(node), msg);
}

static bool is_blank(const xmlChar *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* Between the elements of a container only whitespace may stand: no text,
 * comments, processing instructions or entity references. */
static int check_between(xmlNodePtr c, const char *path)
{
    switch (c->type) {
    case XML_ELEMENT_NODE:
        return FB_OK;
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
        if (is_blank(c->content))
            return FB_OK;
        return fail_at(FB_EFORMAT, c, path, "text is not allowed here, only elements");
    case XML_COMMENT_NODE:
        return fail_at(FB_EFORMAT, c, path, "comments are not allowed in a bill");
    case XML_PI_NODE:
        return fail_at(FB_EFORMAT, c, path, "processing instructions are not allowed in a bill");
    case XML_ENTITY_REF_NODE:
        return fail_at(FB_EFORMAT, c, path, "entity references are not allowed in a bill");
    default:
        return fail_at(FB_EFORMAT, c, path, "unexpected node of type %d", (int)c->type);
    }
}

/* Elements carry no namespace and no attributes in this format. */
static int check_plain_element(xmlNodePtr el, const char *path)
{
    if (el->ns || el->nsDef)
        return fail_at(FB_EFORMAT, el, path, "namespaces are not allowed in a bill");
    if (el->properties)
        return fail_at(FB_EFORMAT, el, path, "attribute \"%s\" is not allowed",
                       (const char *)el->properties->name);
    return FB_OK;
}

/* The text of a leaf element, NULL for an empty one. Where libxml2 holds
 * it in one text node, the usual case, it is used in place; otherwise the
 * joined text is put in *joined for the caller to xmlFree. Most of a bill
 * is leaves, and copying each twice was a tenth of reading one. */
static int leaf_view(xmlNodePtr el, const char *path, const char **out, xmlChar **joined)
{
    *out = NULL;
    *joined = NULL;
    for (xmlNodePtr c = el->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE)
            return fail_at(FB_EFORMAT, c, path, "must hold text, not element <%s>",
                           (const char *)c->name);
        if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
            return check_between(c, path);
    }
    xmlNodePtr only = el->children;
    if (!only)
        return FB_OK;
    if (!only->next && only->type == XML_TEXT_NODE && only->content) {
        *out = *only->content ? (const char *)only->content : NULL;
        return FB_OK;
    }
    if (!(*joined = xmlNodeGetContent(el)))
        return fb_fail_oom();
    *out = **joined ? (const char *)*joined : NULL;
    return FB_OK;
}

/* The same, as a copy of the caller's own (NULL for an empty leaf). */
static int leaf_text(xmlNodePtr el, const char *path, char **out)
{
    const char *view;
    xmlChar *joined;
    int rc = leaf_view(el, path, &view, &joined);
    *out = NULL;
    if (!rc && view && !(*out = fb_strdup(view)))
        rc = FB_ENOMEM;
    xmlFree(joined);
    return rc;
}

static int set_leaf(fb_bill *bill, const fb_node *leaf, size_t row, const char *value)
{
    switch (leaf->space) {
    case FB_SPACE_ITEM: return fb_bill_item_set(bill, row, (fb_item_field)leaf->field, value);
    case FB_SPACE_AUX: return fb_bill_aux_set(bill, row, (fb_aux_field)leaf->field, value);
    default: return fb_bill_set(bill, (fb_field)leaf->field, value);
    }
}

static int read_leaf(fb_bill *bill, xmlNodePtr el, const fb_node *leaf, size_t row,
                     const char *path)
{
    const char *value;
    xmlChar *joined;
    int rc = leaf_view(el, path, &value, &joined);
    if (rc)
        return rc;
    rc = set_leaf(bill, leaf, row, value);
    xmlFree(joined);
    if (rc)
        return fail_at(rc, el, path, "%s", fb_last_error());
    return FB_OK;
}

static int read_unknown_ext(fb_bill *bill, xmlNodePtr el, const char *path)
{
    const char *name = (const char *)el->name;
    if (!fb_text_is_element_name(name))
        return fail_at(FB_EFORMAT, el, path, "element name is outside the ASCII names a bill uses");
    if (fb_bill_ext_find(bill, name))
        return fail_at(FB_EFORMAT, el, path, "appears twice");
    const char *value;
    xmlChar *joined;
    int rc = leaf_view(el, path, &value, &joined);
    if (rc)
        return rc;
    rc = fb_bill_ext_set(bill, name, value ? value : "");
    xmlFree(joined);
    return rc ? fail_at(rc, el, path, "%s", fb_last_error()) : FB_OK;
}

static const char *child_name(const fb_node *n)
{
    return fb_node_is_leaf(n) ? fb_node_def(n)->name : n->name;
}

static int find_child(const fb_node *schema, const char *name, size_t from)
{
    for (size_t j = from; j < schema->n_children; j++)
        if (strcmp(child_name(&schema->children[j]), name) == 0)
            return (int)j;
    return -1;
}

static int walk_container(fb_bill *bill, xmlNodePtr el, const fb_node *schema, size_t row,
                          const char *path);

static int add_row(fb_bill *bill, const fb_node *repeated, size_t *row)
{
    return repeated->space == FB_SPACE_ITEM ? fb_bill_item_add(bill, row)
                                            : fb_bill_aux_add(bill, row);
}

/* A child the schema does not expect at this point: say why. seen has a
 * bit for each schema child already read. */
static int misplaced(fb_bill *bill, xmlNodePtr c, const fb_node *schema, const char *path,
                     const char *prev, uint64_t seen)
{
    const char *name = (const char *)c->name;
    int j = find_child(schema, name, 0);
    if (j >= 0) {
        if (seen & ((uint64_t)1 << j))
            return fail_at(FB_EFORMAT, c, path, "appears twice");
        return fail_at(FB_EFORMAT, c, path, "is out of order: it must come before <%s>",
                       prev ? prev : "?");
    }
    if (schema->flags & FB_NODE_OPEN)
        return read_unknown_ext(bill, c, path);
    return fail_at(FB_EFORMAT, c, path, "unknown element");
}

static int walk_child(fb_bill *bill, xmlNodePtr c, const fb_node *sc, size_t row,
                      const char *path)
{
    if (fb_node_is_leaf(sc))
        return read_leaf(bill, c, sc, row, path);
    if (!(sc->flags & FB_NODE_REPEATED))
        return walk_container(bill, c, sc, row, path);
    size_t r;
    int rc = add_row(bill, sc, &r);
    if (rc)
        return rc;
    char rpath[PATH_MAX_LEN], index[24];
    snprintf(index, sizeof index, "[%zu]", r + 1);
    path_join(rpath, path, index, "");
    return walk_container(bill, c, sc, r, rpath);
}

static int walk_container(fb_bill *bill, xmlNodePtr el, const fb_node *schema, size_t row,
                          const char *path)
{
    size_t pos = 0;
    const char *prev = NULL;
    uint64_t seen = 0; /* schema containers have fewer than 64 children */
    for (xmlNodePtr c = el->children; c; c = c->next) {
        int rc = check_between(c, path);
        if (rc || c->type != XML_ELEMENT_NODE) {
            if (rc)
                return rc;
            continue;
        }
        char cpath[PATH_MAX_LEN];
        path_join(cpath, path, "/", (const char *)c->name);
        if ((rc = check_plain_element(c, cpath)))
            return rc;
        int j = find_child(schema, (const char *)c->name, pos);
        if (j < 0) {
            rc = misplaced(bill, c, schema, cpath, prev, seen);
        } else {
            const fb_node *sc = &schema->children[j];
            rc = walk_child(bill, c, sc, row, cpath);
            /* A repeated element may follow itself; nothing else may. */
            pos = (sc->flags & FB_NODE_REPEATED) ? (size_t)j : (size_t)j + 1;
            prev = (const char *)c->name;
            seen |= (uint64_t)1 << j;
        }
        if (rc)
            return rc;
    }
    return FB_OK;
}

/* ---- signature nodes ---- */

static int read_sig_leaf(fb_sig_node *sig, xmlNodePtr c, const char *path)
{
    const char *name = (const char *)c->name;
    if (!fb_text_is_element_name(name))
        return fail_at(FB_EFORMAT, c, path, "element name is outside the ASCII names a bill uses");
    for (size_t i = 0; i < sig->n_leaves; i++)
        if (strcmp(sig->leaves[i].name, name) == 0)
            return fail_at(FB_EFORMAT, c, path, "appears twice");
    if (sig->n_leaves == FB_MAX_SIGNATURE_LEAVES)
        return fail_at(FB_ELIMIT, c, path, "more than %d children in a signature node",
                       FB_MAX_SIGNATURE_LEAVES);
    char *value;
    int rc = leaf_text(c, path, &value);
    if (rc)
        return rc;
    if (value && (rc = fb_text_check_value(path, value))) {
        free(value);
        return fail_at(rc, c, path, "%s", fb_last_error());
    }
    char *n = fb_strdup(name);
    if (!n) {
        free(value);
        return FB_ENOMEM;
    }
    sig->leaves[sig->n_leaves++] = (fb_sig_leaf){ n, value };
    return FB_OK;
}

static int read_sig_node(fb_sig_node *sig, xmlNodePtr el, const char *path)
{
    if (!(sig->name = fb_strdup((const char *)el->name)))
        return FB_ENOMEM;
    for (xmlNodePtr c = el->children; c; c = c->next) {
        int rc = check_between(c, path);
        if (rc)
            return rc;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        char cpath[PATH_MAX_LEN];
        path_join(cpath, path, "/", (const char *)c->name);
        if ((rc = check_plain_element(c, cpath)) || (rc = read_sig_leaf(sig, c, cpath)))
            return rc;
    }
    return FB_OK;
}

static int read_signatures(fb_document *doc, xmlNodePtr el)
{
    static const char *const expected[FB_MAX_SIGNATURE_NODES] = { "InvoicingPartySignature",
                                                                  "SupervisorPartySignature" };
    for (xmlNodePtr c = el->children; c; c = c->next) {
        int rc = check_between(c, "EInvoiceSignature");
        if (rc)
            return rc;
        if (c->type != XML_ELEMENT_NODE)
            continue;
        char path[PATH_MAX_LEN];
        snprintf(path, sizeof path, "EInvoiceSignature/%s", (const char *)c->name);
        if ((rc = check_plain_element(c, path)))
            return rc;
        if (doc->n_sigs == FB_MAX_SIGNATURE_NODES ||
            strcmp((const char *)c->name, expected[doc->n_sigs]))
            return fail_at(FB_EFORMAT, c, path, "unexpected element: EInvoiceSignature holds "
                           "InvoicingPartySignature, then at most SupervisorPartySignature");
        if ((rc = read_sig_node(&doc->sigs[doc->n_sigs++], c, path)))
            return rc;
    }
    if (doc->n_sigs == 0)
        return fail_at(FB_EFORMAT, el, "EInvoiceSignature", "must hold InvoicingPartySignature");
    return FB_OK;
}

/* ---- the root ---- */

int fb_tree_read(fb_document *doc, xmlNodePtr root)
{
    static const char *const order[] = { "Header", "EInvoiceData", "EInvoiceSignature" };
    xmlNodePtr found[3] = { NULL, NULL, NULL };
    size_t pos = 0;
    int rc = check_plain_element(root, "EInvoice");
    for (xmlNodePtr c = root->children; rc == FB_OK && c; c = c->next) {
        if ((rc = check_between(c, "EInvoice")) || c->type != XML_ELEMENT_NODE)
            continue;
        size_t j = 0;
        while (j < 3 && strcmp((const char *)c->name, order[j]))
            j++;
        if (j < 3 && found[j])
            return fail_at(FB_EFORMAT, c, "EInvoice", "<%s> appears twice", order[j]);
        if (j < 3 && j < pos)
            return fail_at(FB_EFORMAT, c, "EInvoice", "<%s> is out of order: a bill holds "
                           "Header, EInvoiceData and EInvoiceSignature in this order", order[j]);
        if (j == 3)
            return fail_at(FB_EFORMAT, c, "EInvoice", "unexpected element <%s>: a bill holds "
                           "Header, EInvoiceData and EInvoiceSignature, once each, in this "
                           "order", (const char *)c->name);
        found[j] = c;
        pos = j + 1;
    }
    if (rc)
        return rc;
    for (int i = 0; i < 2; i++)
        if (!found[i])
            return fail_at(FB_EFORMAT, root, "EInvoice", "missing <%s>", order[i]);
    if ((rc = check_plain_element(found[0], "Header")) ||
        (rc = walk_container(doc->bill, found[0], &fb_schema_header, 0, "Header")) ||
        (rc = check_plain_element(found[1], "EInvoiceData")) ||
        (rc = walk_container(doc->bill, found[1], &fb_schema_data, 0, "EInvoiceData")))
        return rc;
    if (found[2] && ((rc = check_plain_element(found[2], "EInvoiceSignature")) ||
                     (rc = read_signatures(doc, found[2]))))
        return rc;
    return FB_OK;
}
