/* Output files for fbill: written whole or not at all. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cli_write_atomic(const char *path, const void *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".tmp.XXXXXX");
    if (!tmp) {
        cli_error("%s: out of memory", path);
        return -1;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        cli_error("%s: cannot create a temporary file: %s", path, strerror(errno));
        free(tmp);
        return -1;
    }
    /* The rename is the commit point: a reader sees the old file or the
     * whole new one, never a part. */
    int bad = write_all(fd, data, len) || fsync(fd);
    int saved = errno;
    bad |= close(fd) != 0;
    if (!bad && rename(tmp, path) != 0) {
        saved = errno;
        bad = 1;
    }
    if (bad) {
        cli_error("%s: cannot write: %s", path, strerror(saved));
        unlink(tmp);
    }
    free(tmp);
    return bad ? -1 : 0;
}

int cli_load_exit(int status)
{
    return status == FB_EIO || status == FB_EARG || status == FB_ENOMEM ? EXIT_USAGE
                                                                         : EXIT_BAD_BILL;
}

void cli_buf_puts(fb_buf *buf, const char *s)
{
    size_t n = strlen(s);
    if (buf->size + n + 1 > buf->asize) {
        size_t cap = buf->asize ? buf->asize : 512;
        while (cap < buf->size + n + 1)
            cap *= 2;
        uint8_t *p = realloc(buf->ptr, cap);
        if (!p)
            return;
        buf->ptr = p;
        buf->asize = cap;
    }
    memcpy(buf->ptr + buf->size, s, n + 1);
    buf->size += n;
}

int cli_read_file(const char *path, size_t max, uint8_t **data, size_t *len, char *why,
                  size_t why_size)
{
    /* Read here, bounded, and let fb_verify parse once. */
    FILE *f = fopen(path, "rb");
    *data = NULL;
    *len = 0;
    if (!f) {
        snprintf(why, why_size, "cannot read the file: %s", strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int err = ferror(f);
    fclose(f);
    if (!buf || err || n > max) {
        snprintf(why, why_size, !buf ? "out of memory" : err ? "cannot read the file"
                 : "the file is larger than the limit of %zu bytes", max);
        free(buf);
        return -1;
    }
    *data = buf;
    *len = n;
    return 0;
}
