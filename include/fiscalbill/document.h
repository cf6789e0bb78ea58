/* fiscalbill: bill documents, the exact bytes of the national format.
 *
 * A document is
 *   <?xml version="1.0" encoding="UTF-8"?><EInvoice>FRAGMENT[SIGNATURES]</EInvoice>
 * where FRAGMENT, the bytes a signature covers, is
 *   <Header>...</Header><EInvoiceData>...</EInvoiceData>
 * and SIGNATURES, when signed, is <EInvoiceSignature>...</EInvoiceSignature>.
 * The writer produces canonical bytes (specs/bill-format.md); the reader
 * takes untrusted bytes from any issuer and reports, besides the bill, where
 * the fragment and each signature node lie in the input, because signatures
 * are checked over the bytes as received, never over a re-serialised tree. */
#ifndef FISCALBILL_DOCUMENT_H
#define FISCALBILL_DOCUMENT_H

#include "bill.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Canonical fragment bytes of the bill, appended to out. */
FB_EXTERN int fb_bill_write_fragment(const fb_bill *bill, fb_buf *out);

/* A canonical unsigned document of the bill, appended to out. */
FB_EXTERN int fb_bill_write_document(const fb_bill *bill, fb_buf *out);

/* Limits for reading untrusted input. A zero field takes its default. */
typedef struct fb_read_limits {
    size_t max_bytes;   /* input larger than this is refused unread */
    unsigned max_depth; /* element nesting deeper than this is refused; at most 256 */
} fb_read_limits;

#define FB_READ_MAX_BYTES_DEFAULT ((size_t)1 << 20)
#define FB_READ_MAX_DEPTH_DEFAULT 16u
#define FB_READ_LIMITS_INIT { FB_READ_MAX_BYTES_DEFAULT, FB_READ_MAX_DEPTH_DEFAULT }

typedef struct fb_document fb_document;

/* Read a document from untrusted bytes. The bytes are copied. limits may be
 * NULL for the defaults. No network, no DTD, no entities: a document that
 * has a DOCTYPE is refused before anything in it is processed. Element names,
 * order and cardinality are checked strictly; errors (FB_EFORMAT, FB_ELIMIT)
 * name the path of the offending element and its line. */
FB_EXTERN int fb_document_parse(fb_document **out, const void *data, size_t len,
                                const fb_read_limits *limits);

/* The same from a file; reads no more than limits->max_bytes + 1 bytes. */
FB_EXTERN int fb_document_load(fb_document **out, const char *path,
                               const fb_read_limits *limits);

FB_EXTERN void fb_document_free(fb_document *doc);

/* The bill the document holds; owned by the document. */
FB_EXTERN const fb_bill *fb_document_bill(const fb_document *doc);

/* The input bytes as received. */
FB_EXTERN const uint8_t *fb_document_data(const fb_document *doc, size_t *len);

/* Where the fragment (<Header> up to and including </EInvoiceData>) lies in
 * the input. */
FB_EXTERN void fb_document_fragment(const fb_document *doc, size_t *offset,
                                    size_t *len);

/* Signature nodes: the element children of EInvoiceSignature, in order
 * (InvoicingPartySignature, then SupervisorPartySignature when present). */
FB_EXTERN size_t fb_document_signature_count(const fb_document *doc);

/* The i-th signature node: its element name and where its bytes, from '<'
 * of the start tag to '>' of the end tag, lie in the input. */
FB_EXTERN int fb_document_signature(const fb_document *doc, size_t i, const char **name,
                                    size_t *offset, size_t *len);

/* The text of child element `child` of the i-th signature node, or NULL. */
FB_EXTERN const char *fb_document_signature_value(const fb_document *doc, size_t i,
                                                  const char *child);

/* Is the input exactly the canonical form of what it holds? */
FB_EXTERN int fb_document_is_canonical(const fb_document *doc);

/* The canonical bytes of the document: the bill's canonical fragment and its
 * signature nodes with whitespace between elements removed, appended to out.
 * A signature over an indented fragment does not survive this, as it must
 * not. */
FB_EXTERN int fb_document_write(const fb_document *doc, fb_buf *out);

#ifdef __cplusplus
}
#endif

#endif
