/* The document object shared by the reader, the tree walker and the
 * accessors. */
#ifndef FB_DOCINT_H
#define FB_DOCINT_H

#include <libxml/tree.h>
#include <libxml/parser.h>
#include "common/internal.h"
#include "fiscalbill/document.h"

/* EInvoiceSignature holds the unit's node and at most the supervisor's. */
#define FB_MAX_SIGNATURE_NODES 2
/* Leaf children of one signature node. */
#define FB_MAX_SIGNATURE_LEAVES 16

typedef struct fb_sig_leaf {
    char *name;
    char *value;
} fb_sig_leaf;

typedef struct fb_sig_node {
    char *name;
    size_t offset;
    size_t len;
    fb_sig_leaf leaves[FB_MAX_SIGNATURE_LEAVES];
    size_t n_leaves;
} fb_sig_node;

struct fb_document {
    uint8_t *data;
    size_t len;
    fb_bill *bill;
    size_t frag_offset;
    size_t frag_len;
    fb_sig_node sigs[FB_MAX_SIGNATURE_NODES];
    size_t n_sigs;
};

/* Walk the parsed tree of a document whose root is <EInvoice>: check names,
 * order and cardinality, fill doc->bill and doc->sigs (names and leaves). */
int fb_tree_read(fb_document *doc, xmlNodePtr root);

/* "(line N)" context for messages. */
long fb_tree_line(xmlNodePtr node);

#endif
