/* The pre-scan of untrusted input: see prescan.h for why each check happens
 * before parsing rather than after. */
#include <string.h>
#include <strings.h>
#include "common/internal.h"
#include "document/prescan.h"

typedef struct cursor {
    const uint8_t *d;
    size_t len;
    size_t pos;
} cursor;

static long line_at(const cursor *c, size_t pos)
{
    long line = 1;
    for (size_t i = 0; i < pos && i < c->len; i++)
        line += c->d[i] == '\n';
    return line;
}

static bool at(const cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    return c->pos + n <= c->len && memcmp(c->d + c->pos, lit, n) == 0;
}

/* Move past the next occurrence of end; false when there is none. */
static bool skip_past(cursor *c, const char *end)
{
    size_t n = strlen(end);
    for (; c->pos + n <= c->len; c->pos++)
        if (memcmp(c->d + c->pos, end, n) == 0) {
            c->pos += n;
            return true;
        }
    return false;
}

static bool is_space(uint8_t b)
{
    return b == ' ' || b == '\t' || b == '\n' || b == '\r';
}

static size_t token_len(const cursor *c, size_t from)
{
    size_t i = from;
    while (i < c->len && !is_space(c->d[i]) && c->d[i] != '>' && c->d[i] != '/' &&
           c->d[i] != '=' && c->d[i] != '<')
        i++;
    return i - from;
}

/* <?xml version="1.0" encoding="..."?>: only UTF-8 may be declared. */
static int check_declaration(const cursor *c)
{
    size_t end = c->pos;
    while (end + 1 < c->len && !(c->d[end] == '?' && c->d[end + 1] == '>'))
        end++;
    const char *decl = (const char *)c->d + c->pos;
    size_t n = end - c->pos;
    for (size_t i = 0; i + 8 <= n; i++) {
        if (memcmp(decl + i, "encoding", 8))
            continue;
        size_t j = i + 8;
        while (j < n && (is_space((uint8_t)decl[j]) || decl[j] == '='))
            j++;
        if (j >= n || (decl[j] != '"' && decl[j] != '\''))
            return FB_OK; /* malformed: the parser says so */
        char quote = decl[j++];
        size_t k = j;
        while (k < n && decl[k] != quote)
            k++;
        if (k - j == 5 && strncasecmp(decl + j, "UTF-8", 5) == 0)
            return FB_OK;
        char q[64];
        fb_text_quote(q, sizeof q, decl + j, k - j, 32);
        return fb_fail(FB_EFORMAT, "line 1: the document declares encoding %s; bills are UTF-8",
                       q);
    }
    return FB_OK;
}

/* Attributes one tag may carry before the pre-scan refuses it. Fewer are
 * left to the tree walk, which refuses any attribute with the element's
 * full path; this bound only keeps libxml2's duplicate check cheap. */
#define ATTRIBUTES_PASSED_ON 8

/* Past one attribute (name = "value") at c->pos; false if malformed. */
static bool skip_attribute(cursor *c)
{
    c->pos += token_len(c, c->pos);
    while (c->pos < c->len && is_space(c->d[c->pos]))
        c->pos++;
    if (c->pos >= c->len || c->d[c->pos] != '=')
        return false;
    c->pos++;
    while (c->pos < c->len && is_space(c->d[c->pos]))
        c->pos++;
    if (c->pos >= c->len || (c->d[c->pos] != '"' && c->d[c->pos] != '\''))
        return false;
    const uint8_t *close = memchr(c->d + c->pos + 1, c->d[c->pos], c->len - c->pos - 1);
    if (!close)
        return false;
    c->pos = (size_t)(close - c->d) + 1;
    return true;
}

/* At '<' of a start tag: refuse a tag with too many attributes. */
static int check_start_tag(cursor *c)
{
    size_t start = c->pos, name = c->pos + 1, nlen = token_len(c, name);
    unsigned count = 0;
    if (nlen == 0)
        return FB_OK; /* not a tag: the parser reports it */
    c->pos = name + nlen;
    for (;;) {
        while (c->pos < c->len && is_space(c->d[c->pos]))
            c->pos++;
        if (c->pos >= c->len || c->d[c->pos] == '>' || c->d[c->pos] == '/')
            return FB_OK;
        if (!skip_attribute(c))
            return FB_OK; /* malformed: the parser reports it */
        if (++count > ATTRIBUTES_PASSED_ON) {
            char el[80];
            fb_text_quote(el, sizeof el, (const char *)c->d + name, nlen, 40);
            return fb_fail(FB_EFORMAT, "line %ld: element %s: attributes are not allowed in a "
                           "bill (this one has more than %d)", line_at(c, start), el,
                           ATTRIBUTES_PASSED_ON);
        }
    }
}

static int check_encoding_marks(const uint8_t *d, size_t len)
{
    if (len >= 2 && ((d[0] == 0xFE && d[1] == 0xFF) || (d[0] == 0xFF && d[1] == 0xFE)))
        return fb_fail(FB_EFORMAT, "the document is UTF-16; bills are UTF-8");
    const uint8_t *nul = memchr(d, 0, len);
    if (nul) {
        cursor c = { d, len, 0 };
        return fb_fail(FB_EFORMAT, "line %ld: the document holds a NUL byte; bills are UTF-8 text",
                       line_at(&c, (size_t)(nul - d)));
    }
    return FB_OK;
}

int fb_prescan(const uint8_t *d, size_t len)
{
    int rc = check_encoding_marks(d, len);
    cursor c = { d, len, 0 };
    if (!rc && at(&c, "\xEF\xBB\xBF"))
        c.pos = 3;
    if (!rc && at(&c, "<?xml") && c.pos + 5 < len && is_space(d[c.pos + 5]))
        rc = check_declaration(&c);
    while (!rc && c.pos < c.len) {
        const uint8_t *lt = memchr(d + c.pos, '<', c.len - c.pos);
        if (!lt)
            break;
        c.pos = (size_t)(lt - d);
        if (at(&c, "<!--")) {
            if (!skip_past(&c, "-->"))
                break;
        } else if (at(&c, "<![CDATA[")) {
            if (!skip_past(&c, "]]>"))
                break;
        } else if (at(&c, "<?")) {
            if (!skip_past(&c, "?>"))
                break;
        } else if (at(&c, "<!")) {
            break; /* a DOCTYPE: the parser refuses it on sight */
        } else if (at(&c, "</")) {
            c.pos += 2;
        } else {
            size_t before = c.pos;
            rc = check_start_tag(&c);
            c.pos = c.pos > before ? c.pos : before + 1;
        }
    }
    return rc;
}
