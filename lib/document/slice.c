/* The slicer: where the fragment and the signature nodes lie in the input.
 *
 * libxml2 2.9's node position records are unreliable (begin positions of
 * elements with content are not kept), so the positions come from a small
 * scan of the bytes. It only has to follow the lexical subset a bill that
 * passed the reader can contain: the XML declaration, start, end and empty
 * tags without attributes, text with references, and CDATA sections. */
#include <string.h>
#include "document/slice.h"

typedef struct scan {
    const uint8_t *d;
    size_t len;
    size_t pos;
} scan;

static int skip_past(scan *s, const char *end)
{
    size_t n = strlen(end);
    for (; s->pos + n <= s->len; s->pos++)
        if (memcmp(s->d + s->pos, end, n) == 0) {
            s->pos += n;
            return 0;
        }
    return -1;
}

static int starts(const scan *s, const char *lit)
{
    size_t n = strlen(lit);
    return s->pos + n <= s->len && memcmp(s->d + s->pos, lit, n) == 0;
}

static size_t name_len_at(const scan *s, size_t at)
{
    size_t i = at;
    while (i < s->len && s->d[i] != '>' && s->d[i] != '/' && s->d[i] != ' ' &&
           s->d[i] != '\t' && s->d[i] != '\n' && s->d[i] != '\r')
        i++;
    return i - at;
}

static int record(fb_span *spans, size_t *n, size_t begin, const scan *s, size_t name_at)
{
    if (*n == FB_SLICE_MAX)
        return -1;
    spans[*n] = (fb_span){ begin, 0, name_len_at(s, name_at), s->d + name_at };
    (*n)++;
    return 0;
}

static int is_signature_block(const fb_slices *o)
{
    const fb_span *t = &o->top[o->n_top - 1];
    return t->name_len == 17 && memcmp(t->name, "EInvoiceSignature", 17) == 0;
}

/* One tag at s->pos ('<'): update depth and the spans it opens or closes. */
static int tag(scan *s, int *depth, fb_slices *o)
{
    size_t begin = s->pos;
    if (starts(s, "<![CDATA["))
        return skip_past(s, "]]>");
    if (starts(s, "<?"))
        return *depth == 0 ? skip_past(s, "?>") : -1;
    if (starts(s, "</")) {
        if (skip_past(s, ">") || *depth == 0)
            return -1;
        (*depth)--;
        if (*depth == 1)
            o->top[o->n_top - 1].end = s->pos;
        else if (*depth == 2 && o->n_top && is_signature_block(o) && o->n_sigs)
            o->sigs[o->n_sigs - 1].end = s->pos;
        return 0;
    }
    int rc = 0;
    if (*depth == 1)
        rc = record(o->top, &o->n_top, begin, s, begin + 1);
    else if (*depth == 2 && o->n_top && is_signature_block(o))
        rc = record(o->sigs, &o->n_sigs, begin, s, begin + 1);
    if (rc || skip_past(s, ">"))
        return -1;
    if (s->d[s->pos - 2] != '/') {
        (*depth)++;
        return 0;
    }
    /* An empty element closes where it opens. */
    if (*depth == 1)
        o->top[o->n_top - 1].end = s->pos;
    else if (*depth == 2 && o->n_top && is_signature_block(o))
        o->sigs[o->n_sigs - 1].end = s->pos;
    return 0;
}

int fb_slice(const uint8_t *d, size_t len, fb_slices *out)
{
    scan s = { d, len, 0 };
    int depth = 0;
    memset(out, 0, sizeof *out);
    while (s.pos < s.len) {
        if (d[s.pos] != '<') {
            s.pos++;
            continue;
        }
        if (tag(&s, &depth, out))
            return -1;
    }
    return depth == 0 ? 0 : -1;
}
