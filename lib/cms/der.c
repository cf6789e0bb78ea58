/* DER framing. Lengths are definite and minimal, as DER requires. */
#include <string.h>
#include <openssl/objects.h>
#include "cms/der.h"

static size_t length_octets(size_t len, uint8_t out[9])
{
    if (len < 0x80) {
        out[0] = (uint8_t)len;
        return 1;
    }
    size_t n = 0;
    for (size_t v = len; v; v >>= 8)
        n++;
    out[0] = (uint8_t)(0x80 | n);
    for (size_t i = 0; i < n; i++)
        out[1 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
    return 1 + n;
}

int der_put(fb_buf *out, uint8_t tag, const void *content, size_t len)
{
    uint8_t head[10];
    head[0] = tag;
    size_t n = 1 + length_octets(len, head + 1);
    int rc = fb_buf_put(out, head, n);
    return rc ? rc : fb_buf_put(out, content, len);
}

int der_wrap(fb_buf *out, size_t mark, uint8_t tag)
{
    size_t len = out->size - mark;
    uint8_t head[10];
    head[0] = tag;
    size_t n = 1 + length_octets(len, head + 1);
    int rc = fb_buf_grow(out, n);
    if (rc)
        return rc;
    memmove(out->ptr + mark + n, out->ptr + mark, len);
    memcpy(out->ptr + mark, head, n);
    out->size += n;
    out->ptr[out->size] = '\0';
    return FB_OK;
}

int der_raw(fb_buf *out, const void *der, size_t len)
{
    return fb_buf_put(out, der, len);
}

int der_oid(fb_buf *out, const char *dotted)
{
    ASN1_OBJECT *obj = OBJ_txt2obj(dotted, 1);
    unsigned char *der = NULL;
    int n = obj ? i2d_ASN1_OBJECT(obj, &der) : -1;
    int rc = n > 0 ? der_raw(out, der, (size_t)n) : fb_fail(FB_ERROR, "bad OID %s", dotted);
    OPENSSL_free(der);
    ASN1_OBJECT_free(obj);
    return rc;
}

bool der_next(der_reader *r, uint8_t *tag, der_reader *content, const uint8_t **whole,
              size_t *whole_len)
{
    const uint8_t *p = r->p;
    if (r->end - p < 2 || (p[0] & 0x1F) == 0x1F)
        return false;
    *tag = p[0];
    size_t len = p[1], head = 2;
    if (len & 0x80) {
        size_t n = len & 0x7F;
        /* No indefinite lengths, no lengths beyond 4 octets, none that
         * could have been shorter. */
        if (n == 0 || n > 4 || (size_t)(r->end - p) < 2 + n || p[2] == 0)
            return false;
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = (len << 8) | p[2 + i];
        if (len < 0x80)
            return false;
        head += n;
    }
    if ((size_t)(r->end - p) - head < len)
        return false;
    *content = (der_reader){ p + head, p + head + len };
    if (whole)
        *whole = p;
    if (whole_len)
        *whole_len = head + len;
    r->p = p + head + len;
    return true;
}
