/* fb_buf: the growable output buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/internal.h"

void fb_buf_dispose(fb_buf *buf)
{
    if (!buf)
        return;
    free(buf->ptr);
    buf->ptr = NULL;
    buf->size = buf->asize = 0;
}

void fb_buf_clear(fb_buf *buf)
{
    buf->size = 0;
    if (buf->ptr)
        buf->ptr[0] = '\0';
}

int fb_buf_grow(fb_buf *buf, size_t extra)
{
    /* +1 keeps room for the NUL that always follows the bytes. */
    if (extra > SIZE_MAX / 2 - buf->size - 1)
        return fb_fail_oom();
    size_t need = buf->size + extra + 1;
    if (need <= buf->asize)
        return FB_OK;
    size_t cap = buf->asize ? buf->asize : 256;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(buf->ptr, cap);
    if (!p)
        return fb_fail_oom();
    buf->ptr = p;
    buf->asize = cap;
    return FB_OK;
}

int fb_buf_put(fb_buf *buf, const void *data, size_t len)
{
    int rc = fb_buf_grow(buf, len);
    if (rc)
        return rc;
    if (len)
        memcpy(buf->ptr + buf->size, data, len);
    buf->size += len;
    buf->ptr[buf->size] = '\0';
    return FB_OK;
}

int fb_buf_puts(fb_buf *buf, const char *s)
{
    return fb_buf_put(buf, s, strlen(s));
}

int fb_buf_printf(fb_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return fb_fail(FB_ERROR, "cannot format text");
    int rc = fb_buf_grow(buf, (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf((char *)buf->ptr + buf->size, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->size += (size_t)n;
    return FB_OK;
}

char *fb_strndup(const char *s, size_t len)
{
    char *p = malloc(len + 1);
    if (!p) {
        fb_fail_oom();
        return NULL;
    }
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *fb_strdup(const char *s)
{
    return fb_strndup(s, strlen(s));
}
