/* The reader: untrusted bytes to a document. libxml2 parses with no network,
 * no DTD and no entities, under a size and a depth limit; the tree walk
 * (tree.c) checks the bill's shape; the slicer (slice.c) finds the exact
 * byte ranges that signatures cover. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/SAX2.h>
#include <libxml/parserInternals.h>
#include "document/docint.h"
#include "document/prescan.h"
#include "document/slice.h"

/* libxml2 stops at 256 levels on its own; a larger limit could not hold. */
#define DEPTH_CEILING 256u

/* Per-parse state, reached from SAX callbacks through ctxt->_private. */
typedef struct parse_state {
    unsigned depth;
    unsigned max_depth;
    char path[512];             /* element path of the current element */
    unsigned short cut[DEPTH_CEILING + 1]; /* path length before each level */
    int refused;          /* FB_ELIMIT / FB_EFORMAT when a hook stopped the parse */
    char refusal[700];
    char xml_error[300];  /* libxml2's first error, for the message */
} parse_state;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libxml(void)
{
    xmlInitParser();
}

static void refuse(xmlParserCtxtPtr ctxt, int status, const char *why)
{
    parse_state *st = ctxt->_private;
    if (!st->refused) {
        st->refused = status;
        snprintf(st->refusal, sizeof st->refusal, "line %d: %s", xmlSAX2GetLineNumber(ctxt), why);
    }
    xmlStopParser(ctxt);
}

/* A DOCTYPE is refused the moment it starts, before any declaration in it
 * is read: this is what keeps entity expansion and external entities out. */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                               const xmlChar *sys_id)
{
    refuse(ctx, FB_EFORMAT, "a DOCTYPE (DTD) is not allowed in a bill");
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *public_id,
                           const xmlChar *system_id, xmlChar *content)
{
    refuse(ctx, FB_EFORMAT, "entity declarations are not allowed in a bill");
}

/* path[len..] = "/" name (no "/" at the start), cut to fit: memcpy, as
 * snprintf on every element cost more than libxml2's own work on it. */
static void append_name(char *path, size_t size, size_t len, const char *name)
{
    if (len && len + 1 < size)
        path[len++] = '/';
    size_t n = strnlen(name, size - 1 - len);
    memcpy(path + len, name, n);
    path[len + n] = '\0';
}

static void on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                     int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *st = ctxt->_private;
    size_t len = strlen(st->path);
    st->cut[st->depth] = (unsigned short)len;
    append_name(st->path, sizeof st->path, len, (const char *)localname);
    if (++st->depth > st->max_depth) {
        char why[sizeof st->path + 64];
        snprintf(why, sizeof why, "%s: elements nest deeper than the limit of %u", st->path,
                 st->max_depth);
        refuse(ctxt, FB_ELIMIT, why);
        return;
    }
    xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
                          nb_defaulted, attributes);
}

static void on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                   const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *st = ctxt->_private;
    st->depth--;
    st->path[st->cut[st->depth]] = '\0';
    xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/* Keep libxml2's first error for our message instead of printing it. */
static void on_error(void *ctx, xmlErrorPtr err)
{
    xmlParserCtxtPtr ctxt = ctx;
    parse_state *st = ctxt ? ctxt->_private : NULL;
    if (!st || st->xml_error[0] || !err || err->level < XML_ERR_ERROR)
        return;
    const char *msg = err->message ? err->message : "error";
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    snprintf(st->xml_error, sizeof st->xml_error, "line %d: %.*s", err->line, (int)n, msg);
}

static xmlParserCtxtPtr new_parser(const uint8_t *data, size_t len, parse_state *st)
{
    xmlParserCtxtPtr ctxt = xmlCreateMemoryParserCtxt((const char *)data, (int)len);
    if (!ctxt)
        return NULL;
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR |
                                XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES);
    ctxt->_private = st;
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->externalSubset = on_internal_subset;
    ctxt->sax->entityDecl = on_entity_decl;
    ctxt->sax->startElementNs = on_start;
    ctxt->sax->endElementNs = on_end;
    ctxt->sax->serror = on_error;
    ctxt->sax->warning = NULL;
    ctxt->sax->error = NULL;
    ctxt->vctxt.error = NULL;
    ctxt->vctxt.warning = NULL;
    return ctxt;
}

/* Nothing but the root element may stand at the top: comments and
 * processing instructions outside it would be unsigned, unseen content. */
static int check_top_level(xmlDocPtr doc, xmlNodePtr *root)
{
    *root = NULL;
    for (xmlNodePtr n = doc->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE && !*root)
            *root = n;
        else
            return fb_fail(FB_EFORMAT, "line %ld: only the <EInvoice> element may stand at the "
                           "top of a bill, not %s", fb_tree_line(n),
                           n->type == XML_COMMENT_NODE ? "a comment"
                           : n->type == XML_PI_NODE    ? "a processing instruction"
                                                       : "another node");
    }
    if (!*root)
        return fb_fail(FB_EFORMAT, "the document has no root element");
    if (strcmp((const char *)(*root)->name, "EInvoice"))
        return fb_fail(FB_EFORMAT, "line %ld: the root element must be <EInvoice>, not <%s>",
                       fb_tree_line(*root), (const char *)(*root)->name);
    return FB_OK;
}

static bool span_is(const fb_span *sp, const char *name)
{
    return sp->end > sp->begin && sp->name_len == strlen(name) &&
           memcmp(sp->name, name, sp->name_len) == 0;
}

/* Byte ranges from the slicer, checked against what the tree walk saw: the
 * same elements, in the same order. */
static int locate(fb_document *doc)
{
    fb_slices sl;
    bool ok = fb_slice(doc->data, doc->len, &sl) == 0 && sl.n_top >= 2 &&
              sl.n_top == 2 + (doc->n_sigs > 0) && span_is(&sl.top[0], "Header") &&
              span_is(&sl.top[1], "EInvoiceData") && sl.n_sigs == doc->n_sigs;
    for (size_t i = 0; ok && i < doc->n_sigs; i++)
        ok = span_is(&sl.sigs[i], doc->sigs[i].name);
    if (!ok)
        return fb_fail(FB_ERROR, "cannot locate the signed bytes of the document");
    /* Whatever stands between the two (whitespace in an indented document)
     * is part of the fragment: the range is what was received. */
    doc->frag_offset = sl.top[0].begin;
    doc->frag_len = sl.top[1].end - sl.top[0].begin;
    for (size_t i = 0; i < doc->n_sigs; i++) {
        doc->sigs[i].offset = sl.sigs[i].begin;
        doc->sigs[i].len = sl.sigs[i].end - sl.sigs[i].begin;
    }
    return FB_OK;
}

static int parse_failure(const parse_state *st)
{
    if (st->refused)
        return fb_fail(st->refused, "%s", st->refusal);
    return fb_fail(FB_EFORMAT, "not well-formed XML: %s",
                   st->xml_error[0] ? st->xml_error : "the parser stopped");
}

static int parse_into(fb_document *doc, unsigned max_depth)
{
    parse_state st = { .max_depth = max_depth < DEPTH_CEILING ? max_depth : DEPTH_CEILING };
    xmlParserCtxtPtr ctxt = new_parser(doc->data, doc->len, &st);
    if (!ctxt)
        return fb_fail_oom();
    int parsed = xmlParseDocument(ctxt);
    int rc = FB_OK;
    xmlNodePtr root;
    if (parsed != 0 || !ctxt->wellFormed || st.refused || !ctxt->myDoc)
        rc = parse_failure(&st);
    if (!rc)
        rc = check_top_level(ctxt->myDoc, &root);
    if (!rc)
        rc = fb_tree_read(doc, root);
    if (!rc)
        rc = locate(doc);
    xmlFreeDoc(ctxt->myDoc);
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);
    return rc;
}

/* Zero fields mean "the default", so zero-initialised limits are safe. */
static fb_read_limits read_limits(const fb_read_limits *given)
{
    fb_read_limits lim = FB_READ_LIMITS_INIT;
    if (given && given->max_bytes)
        lim.max_bytes = given->max_bytes;
    if (given && given->max_depth)
        lim.max_depth = given->max_depth;
    return lim;
}

int fb_document_parse(fb_document **out, const void *data, size_t len,
                      const fb_read_limits *limits)
{
    if (!out || (!data && len))
        return fb_fail(FB_EARG, "fb_document_parse: NULL argument");
    *out = NULL;
    fb_read_limits lim = read_limits(limits);
    if (len > lim.max_bytes || len > INT_MAX)
        return fb_fail(FB_ELIMIT, "the document is %zu bytes, more than the limit of %zu", len,
                       lim.max_bytes);
    if (len == 0)
        return fb_fail(FB_EFORMAT, "the document is empty");
    int rc = fb_prescan(data, len);
    if (rc)
        return rc;
    pthread_once(&init_once, init_libxml);
    fb_document *doc = calloc(1, sizeof *doc);
    if (!doc || !(doc->data = malloc(len))) {
        free(doc);
        return fb_fail_oom();
    }
    memcpy(doc->data, data, len);
    doc->len = len;
    rc = fb_bill_new(&doc->bill);
    if (!rc)
        rc = parse_into(doc, lim.max_depth);
    if (rc) {
        fb_document_free(doc);
        return rc;
    }
    fb_clear_error();
    *out = doc;
    return FB_OK;
}

int fb_document_load(fb_document **out, const char *path, const fb_read_limits *limits)
{
    if (!out || !path)
        return fb_fail(FB_EARG, "fb_document_load: NULL argument");
    *out = NULL;
    fb_read_limits lim = read_limits(limits);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fb_fail(FB_EIO, "%s: %s", path, strerror(errno));
    /* Read at most one byte past the limit: enough to know it is exceeded,
     * without ever holding a huge file in memory. */
    size_t cap = lim.max_bytes < SIZE_MAX ? lim.max_bytes + 1 : lim.max_bytes;
    size_t chunk = cap < 65536 ? cap : 65536, len = 0;
    uint8_t *buf = NULL;
    int rc = FB_OK;
    while (len < cap) {
        uint8_t *p = realloc(buf, len + chunk);
        if (!p) {
            rc = fb_fail_oom();
            break;
        }
        buf = p;
        size_t want = cap - len < chunk ? cap - len : chunk;
        size_t got = fread(buf + len, 1, want, f);
        len += got;
        if (got < want) {
            if (ferror(f))
                rc = fb_fail(FB_EIO, "%s: read error", path);
            break;
        }
    }
    fclose(f);
    if (!rc && len > lim.max_bytes)
        rc = fb_fail(FB_ELIMIT, "%s: larger than the limit of %zu bytes", path, lim.max_bytes);
    if (!rc) {
        rc = fb_document_parse(out, buf ? buf : (const uint8_t *)"", len, &lim);
        if (rc)
            fb_fail(rc, "%s: %s", path, fb_last_error());
    }
    free(buf);
    return rc;
}
