/* PIN handling. A PIN is copied only into locked memory, wiped from every
 * temporary buffer, and never formatted into a message. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "common/internal.h"
#include "ports/secret.h"

#define PIN_MAX 256
/* The locked buffer: a PIN and its NUL, and room for what a PIN file may
 * hold around it (CR, LF) plus one byte more, which tells a file that is
 * too long without reading the rest of it. */
#define SECRET_SIZE (PIN_MAX + 3)

static int lock_buffer(fb_secret *out)
{
    out->text = calloc(1, SECRET_SIZE);
    out->len = 0;
    if (!out->text)
        return fb_fail_oom();
    /* Best effort: a process without the right to lock memory still works. */
    (void)mlock(out->text, SECRET_SIZE);
    return FB_OK;
}

static int keep(fb_secret *out, const char *pin, size_t len)
{
    int rc = lock_buffer(out);
    if (rc)
        return rc;
    memcpy(out->text, pin, len);
    out->text[len] = '\0';
    out->len = len;
    return FB_OK;
}

/* Up to size bytes of fd into buf; -1 with errno on a read error. */
static ssize_t read_up_to(int fd, char *buf, size_t size)
{
    size_t n = 0;
    while (n < size) {
        ssize_t r = read(fd, buf + n, size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

/* The PIN file is read with read(2) straight into the locked buffer: stdio
 * would read it through a buffer of its own, freed unwiped by fclose. */
static int from_file(fb_secret *out, const char *source)
{
    if (strncmp(source, "file:", 5))
        return fb_fail(FB_EPIN, "pin-source must be a file: URI");
    const char *path = source + 5;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fb_fail(FB_EPIN, "cannot read the PIN file %s: %s", path, strerror(errno));
    int rc = lock_buffer(out);
    ssize_t got = rc ? 0 : read_up_to(fd, out->text, SECRET_SIZE);
    int err = errno;
    close(fd);
    if (rc)
        return rc;
    size_t n = got > 0 ? (size_t)got : 0;
    if (got < 0)
        rc = fb_fail(FB_EPIN, "cannot read the PIN file %s: %s", path, strerror(err));
    if (!rc && n > 0 && out->text[n - 1] == '\n')
        n--;
    if (!rc && n > 0 && out->text[n - 1] == '\r')
        n--;
    if (!rc && n > PIN_MAX)
        rc = fb_fail(FB_EPIN, "the PIN file %s is longer than %d bytes", path, PIN_MAX);
    else if (!rc && memchr(out->text, 0, n))
        rc = fb_fail(FB_EPIN, "the PIN file %s holds a NUL byte", path);
    if (rc) {
        fb_secret_free(out);
        return rc;
    }
    /* The line ending, if any, goes too: only the PIN and NULs remain. */
    fb_wipe(out->text + n, SECRET_SIZE - n);
    out->len = n;
    return FB_OK;
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
    fb_wipe(s->text, SECRET_SIZE);
    munlock(s->text, SECRET_SIZE);
    free(s->text);
    s->text = NULL;
    s->len = 0;
}
