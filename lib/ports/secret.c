/* PIN handling. A PIN is copied only into locked memory, wiped from every
 * temporary buffer, and never formatted into a message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "common/internal.h"
#include "ports/secret.h"

#define PIN_MAX 256

static int keep(fb_secret *out, const char *pin, size_t len)
{
    out->text = calloc(1, PIN_MAX + 1);
    if (!out->text)
        return fb_fail_oom();
    /* Best effort: a process without the right to lock memory still works. */
    (void)mlock(out->text, PIN_MAX + 1);
    memcpy(out->text, pin, len);
    out->text[len] = '\0';
    out->len = len;
    return FB_OK;
}

static int from_file(fb_secret *out, const char *source)
{
    if (strncmp(source, "file:", 5))
        return fb_fail(FB_EPIN, "pin-source must be a file: URI");
    const char *path = source + 5;
    FILE *f = fopen(path, "rb");
    if (!f)
        return fb_fail(FB_EPIN, "cannot read the PIN file %s: %s", path, strerror(errno));
    char buf[PIN_MAX + 2];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    int rc;
    if (n > 0 && buf[n - 1] == '\n')
        n--;
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    if (n > PIN_MAX)
        rc = fb_fail(FB_EPIN, "the PIN file %s is longer than %d bytes", path, PIN_MAX);
    else if (memchr(buf, 0, n))
        rc = fb_fail(FB_EPIN, "the PIN file %s holds a NUL byte", path);
    else
        rc = keep(out, buf, n);
    fb_wipe(buf, sizeof buf);
    return rc;
}

static int from_callback(fb_secret *out, fb_pin_callback cb, void *data, const char *name)
{
    char buf[PIN_MAX + 1];
    memset(buf, 0, sizeof buf);
    int rc = cb(name, buf, sizeof buf, data) != 0
                 ? fb_fail(FB_EPIN, "%s: no PIN was given", name)
                 : keep(out, buf, strnlen(buf, PIN_MAX));
    fb_wipe(buf, sizeof buf);
    return rc;
}

int fb_secret_obtain(fb_secret *out, const char *pin_value, const char *pin_source,
                     fb_pin_callback cb, void *cb_data, const char *port_name)
{
    memset(out, 0, sizeof *out);
    if (pin_value) {
        size_t len = strlen(pin_value);
        return len > PIN_MAX ? fb_fail(FB_EPIN, "pin-value is longer than %d bytes", PIN_MAX)
                             : keep(out, pin_value, len);
    }
    if (pin_source)
        return from_file(out, pin_source);
    if (cb)
        return from_callback(out, cb, cb_data, port_name);
    return FB_OK;
}

void fb_secret_free(fb_secret *s)
{
    if (!s || !s->text)
        return;
    fb_wipe(s->text, PIN_MAX + 1);
    munlock(s->text, PIN_MAX + 1);
    free(s->text);
    s->text = NULL;
    s->len = 0;
}
