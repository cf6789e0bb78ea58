/* Writing canonical XML pieces: the escaping rules of specs/bill-format.md. */
#ifndef FB_XMLOUT_H
#define FB_XMLOUT_H

#include "common/internal.h"

#define FB_XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"

/* <name>escaped value</name>, or <name/> when value is NULL or empty. */
int fb_xml_put_leaf(fb_buf *out, const char *name, const char *value);
int fb_xml_put_open(fb_buf *out, const char *name);
int fb_xml_put_close(fb_buf *out, const char *name);

/* Close the container opened at `mark` (the buffer size before its start
 * tag). A container with no children becomes <name/>. */
int fb_xml_put_close_at(fb_buf *out, const char *name, size_t mark);

#endif
