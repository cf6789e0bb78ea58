/* PKCS#11 URIs (RFC 7512) naming a port. */
#ifndef FB_P11URI_H
#define FB_P11URI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum fb_p11uri_type {
    FB_URI_TYPE_ANY,
    FB_URI_TYPE_PRIVATE,
    FB_URI_TYPE_OTHER /* public, cert, secret-key, data: not something a port signs with */
} fb_p11uri_type;

typedef struct fb_p11uri {
    /* Path attributes; NULL when absent. */
    char *token;
    char *manufacturer;
    char *serial;
    char *model;
    char *object;
    char *library_manufacturer;
    char *library_description;
    uint8_t *id;
    size_t id_len;
    fb_p11uri_type type;
    /* Query attributes. */
    char *module_path;
    char *module_name;
    char *pin_source;
    char *pin_value; /* wiped by fb_p11uri_free */
} fb_p11uri;

/* Parse a "pkcs11:" URI. Unknown, repeated or malformed attributes are
 * errors naming the attribute; slot-id is refused (slots are renumbered, so
 * a port is named by its token). The error never quotes a PIN. */
int fb_p11uri_parse(const char *text, fb_p11uri *out);
void fb_p11uri_free(fb_p11uri *uri);

/* The URI without its PIN, for messages. */
void fb_p11uri_describe(const fb_p11uri *uri, char *out, size_t size);

#endif
