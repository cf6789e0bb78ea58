/* The shape of a bill document, described once. The writer, the reader and
 * the validator all walk these tables, so element names, order and paths
 * cannot drift apart between them. */
#ifndef FB_SCHEMA_H
#define FB_SCHEMA_H

#include <stdbool.h>
#include <stdint.h>
#include "fiscalbill/bill.h"

enum {
    FB_FLAG_MANDATORY = 1 << 0 /* validation requires a value */
};

typedef struct fb_field_def {
    const char *name;  /* element name */
    const char *path;  /* path from the root, items without an index */
    fb_value_type type;
    unsigned flags;
} fb_field_def;

extern const fb_field_def fb_field_defs[FB_FIELD_COUNT];
extern const fb_field_def fb_item_field_defs[FB_ITEM_FIELD_COUNT];
extern const fb_field_def fb_aux_field_defs[FB_AUX_FIELD_COUNT];

/* Which table a leaf's field id indexes. */
typedef enum fb_space {
    FB_SPACE_BILL, /* fb_field */
    FB_SPACE_ITEM, /* fb_item_field */
    FB_SPACE_AUX   /* fb_aux_field */
} fb_space;

enum {
    FB_NODE_REPEATED = 1 << 0, /* a container that occurs zero or more times */
    FB_NODE_SPARSE = 1 << 1,   /* children are written only when set */
    FB_NODE_OPEN = 1 << 2      /* unknown children are kept as name/value pairs */
};

typedef struct fb_node fb_node;
struct fb_node {
    const char *name;
    int field;                /* a leaf's field id, or -1 for a container */
    fb_space space;           /* for a leaf: which id it is; for a container:
                                 the id space of its leaves */
    const fb_node *children;  /* a container's children, in document order */
    size_t n_children;
    unsigned flags;
};

/* Header and EInvoiceData, the two children of the fragment. */
extern const fb_node fb_schema_header;
extern const fb_node fb_schema_data;

static inline bool fb_node_is_leaf(const fb_node *n)
{
    return n->field >= 0;
}

/* The definition of a leaf. */
const fb_field_def *fb_node_def(const fb_node *leaf);

#endif
