/* RFC 7512 PKCS#11 URI parser. Strict: an attribute this library does not
 * understand is an error rather than something silently ignored, because a
 * port that quietly matches more widely than its URI says would sign with
 * the wrong key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/internal.h"
#include "ports/p11uri.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode [s, s+len) into a new buffer (NUL-terminated; *out_len
 * without it). */
static int pct_decode(const char *attr, const char *s, size_t len, char **out, size_t *out_len)
{
    char *d = malloc(len + 1);
    size_t n = 0;
    if (!d)
        return fb_fail_oom();
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            d[n++] = s[i];
            continue;
        }
        int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
        int lo = i + 2 < len ? hexval(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            fb_wipe(d, len + 1);
            free(d);
            return fb_fail(FB_EARG, "PKCS#11 URI: %s: bad percent-encoding", attr);
        }
        d[n++] = (char)(hi << 4 | lo);
        i += 2;
    }
    d[n] = '\0';
    *out = d;
    *out_len = n;
    return FB_OK;
}

typedef struct attr_slot {
    const char *name;
    size_t offset; /* of the char * in fb_p11uri */
    bool query;
} attr_slot;

#define SLOT(n, field, q) { n, offsetof(fb_p11uri, field), q }
static const attr_slot text_attrs[] = {
    SLOT("token", token, false),
    SLOT("manufacturer", manufacturer, false),
    SLOT("serial", serial, false),
    SLOT("model", model, false),
    SLOT("object", object, false),
    SLOT("library-manufacturer", library_manufacturer, false),
    SLOT("library-description", library_description, false),
    SLOT("module-path", module_path, true),
    SLOT("module-name", module_name, true),
    SLOT("pin-source", pin_source, true),
    SLOT("pin-value", pin_value, true),
};

/* A value this parser will not keep: wiped before it is freed, since it
 * may be a PIN (a pin-value in the path part, a misspelt pin-value). */
static void drop(char *value, size_t len)
{
    fb_wipe(value, len);
    free(value);
}

/* Values of attributes that are refused are wiped too: a PIN under a
 * misspelt name is still a PIN. */
static int set_special(fb_p11uri *u, const char *name, char *value, size_t len)
{
    if (!strcmp(name, "id")) {
        if (u->id) {
            drop(value, len);
            return fb_fail(FB_EARG, "PKCS#11 URI: id is given twice");
        }
        u->id = (uint8_t *)value;
        u->id_len = len;
        return FB_OK;
    }
    int rc = FB_OK;
    if (!strcmp(name, "type")) {
        if (u->type != FB_URI_TYPE_ANY)
            rc = fb_fail(FB_EARG, "PKCS#11 URI: type is given twice");
        else if (!strcmp(value, "private"))
            u->type = FB_URI_TYPE_PRIVATE;
        else if (!strcmp(value, "public") || !strcmp(value, "cert") ||
                 !strcmp(value, "secret-key") || !strcmp(value, "data"))
            u->type = FB_URI_TYPE_OTHER;
        else
            rc = fb_fail(FB_EARG, "PKCS#11 URI: type must be private, public, cert, secret-key "
                         "or data");
    } else if (!strcmp(name, "slot-id") || !strcmp(name, "slot-description") ||
               !strcmp(name, "slot-manufacturer")) {
        rc = fb_fail(FB_EARG, "PKCS#11 URI: %s is not accepted: slots are renumbered, so a port "
                     "names its token with token= or serial=", name);
    } else {
        rc = fb_fail(FB_EARG, "PKCS#11 URI: unknown attribute \"%s\"", name);
    }
    drop(value, len);
    return rc;
}

static int set_attr(fb_p11uri *u, const char *name, bool query, const char *raw, size_t raw_len)
{
    char *value = NULL;
    size_t len = 0;
    int rc = pct_decode(name, raw, raw_len, &value, &len);
    if (rc)
        return rc;
    for (size_t i = 0; i < FB_ARRAY_LEN(text_attrs); i++) {
        const attr_slot *a = &text_attrs[i];
        if (strcmp(a->name, name) || a->query != query)
            continue;
        char **slot = (char **)((char *)u + a->offset);
        rc = *slot ? fb_fail(FB_EARG, "PKCS#11 URI: %s is given twice", name)
             : strlen(value) != len ? fb_fail(FB_EARG, "PKCS#11 URI: %s holds a NUL byte", name)
                                    : FB_OK;
        if (rc) {
            drop(value, len);
            return rc;
        }
        *slot = value;
        return FB_OK;
    }
    if (query) {
        drop(value, len);
        return fb_fail(FB_EARG, "PKCS#11 URI: unknown query attribute \"%s\"", name);
    }
    return set_special(u, name, value, len);
}

/* One "name=value" of a component; sep is ';' or '&'. */
static int parse_part(fb_p11uri *u, const char *part, size_t len, bool query)
{
    const char *eq = memchr(part, '=', len);
    char name[32];
    if (!eq || eq == part || (size_t)(eq - part) >= sizeof name)
        return fb_fail(FB_EARG, "PKCS#11 URI: expected name=value, got a part of %zu bytes "
                       "without one", len);
    memcpy(name, part, (size_t)(eq - part));
    name[eq - part] = '\0';
    return set_attr(u, name, query, eq + 1, len - (size_t)(eq - part) - 1);
}

static int parse_list(fb_p11uri *u, const char *s, size_t len, char sep, bool query)
{
    while (len) {
        const char *end = memchr(s, sep, len);
        size_t n = end ? (size_t)(end - s) : len;
        int rc = n ? parse_part(u, s, n, query) : FB_OK;
        if (rc)
            return rc;
        s += n + (end ? 1 : 0);
        len -= n + (end ? 1 : 0);
    }
    return FB_OK;
}

int fb_p11uri_parse(const char *text, fb_p11uri *out)
{
    memset(out, 0, sizeof *out);
    if (!text || strncmp(text, "pkcs11:", 7))
        return fb_fail(FB_EARG, "a PKCS#11 URI starts with \"pkcs11:\"");
    const char *path = text + 7, *q = strchr(path, '?');
    size_t path_len = q ? (size_t)(q - path) : strlen(path);
    int rc = parse_list(out, path, path_len, ';', false);
    if (!rc && q)
        rc = parse_list(out, q + 1, strlen(q + 1), '&', true);
    if (!rc && out->pin_source && out->pin_value)
        rc = fb_fail(FB_EARG, "PKCS#11 URI: give pin-source or pin-value, not both");
    if (rc)
        fb_p11uri_free(out);
    return rc;
}

void fb_p11uri_free(fb_p11uri *u)
{
    if (!u)
        return;
    if (u->pin_value)
        fb_wipe(u->pin_value, strlen(u->pin_value));
    for (size_t i = 0; i < FB_ARRAY_LEN(text_attrs); i++)
        free(*(char **)((char *)u + text_attrs[i].offset));
    free(u->id);
    memset(u, 0, sizeof *u);
}

static void append(char *out, size_t size, const char *sep, const char *name, const char *v)
{
    size_t len = strlen(out);
    if (v && len < size)
        snprintf(out + len, size - len, "%s%s=%s", len > 7 ? sep : "", name, v);
}

void fb_p11uri_describe(const fb_p11uri *u, char *out, size_t size)
{
    char id[80] = "";
    for (size_t i = 0; i < u->id_len && i < 24; i++)
        snprintf(id + 3 * i, sizeof id - 3 * i, "%%%02X", u->id[i]);
    snprintf(out, size, "pkcs11:");
    append(out, size, ";", "token", u->token);
    append(out, size, ";", "serial", u->serial);
    append(out, size, ";", "manufacturer", u->manufacturer);
    append(out, size, ";", "model", u->model);
    append(out, size, ";", "object", u->object);
    append(out, size, ";", "id", u->id ? id : NULL);
}
