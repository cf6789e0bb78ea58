/* Checks on text values: what an XML document can carry, element names,
 * digit strings, and quoting bad input safely into error messages. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "common/internal.h"
#include "fiscalbill/bill.h"

/* Decode one UTF-8 sequence at s (len bytes left). Returns its length, or 0
 * for an invalid, overlong or truncated sequence. */
static size_t utf8_decode(const unsigned char *s, size_t len, unsigned long *cp)
{
    unsigned char c = s[0];
    size_t n;
    unsigned long v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2; v = c & 0x1F; min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3; v = c & 0x0F; min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4; v = c & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF)
        return 0;
    *cp = v;
    return n;
}

bool fb_text_is_xml_safe(const char *s, size_t len, const char **why, size_t *at)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned long cp;
        size_t n = utf8_decode(p + i, len - i, &cp);
        if (n == 0) {
            *why = "is not valid UTF-8";
            *at = i;
            return false;
        }
        bool ok = cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp < 0xD800) ||
                  (cp >= 0xE000 && cp <= 0xFFFD) || cp >= 0x10000;
        if (!ok) {
            *why = "holds a character XML cannot carry";
            *at = i;
            return false;
        }
        i += n;
    }
    return true;
}

int fb_text_check_value(const char *what, const char *value)
{
    size_t len = strlen(value);
    if (len > FB_VALUE_MAX)
        return fb_fail(FB_ELIMIT, "%s: value of %zu bytes is longer than %d", what, len,
                       FB_VALUE_MAX);
    const char *why;
    size_t at;
    if (!fb_text_is_xml_safe(value, len, &why, &at))
        return fb_fail(FB_EARG, "%s: value %s at byte %zu", what, why, at);
    return FB_OK;
}

bool fb_text_is_element_name(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        bool other = (c >= '0' && c <= '9') || c == '-' || c == '.';
        if (!(letter || (i > 0 && other)))
            return false;
    }
    /* Names starting with "xml" are reserved by the XML specification. */
    return strncasecmp(s, "xml", 3) != 0;
}

void fb_text_quote(char *out, size_t out_size, const char *s, size_t len, size_t max)
{
    size_t o = 0;
    if (out_size < 8) {
        if (out_size)
            out[0] = '\0';
        return;
    }
    out[o++] = '"';
    /* Past max, finish the UTF-8 sequence under way so the message stays valid
     * text. */
    size_t i = 0;
    for (; i < len && (i < max || ((unsigned char)s[i] & 0xC0) == 0x80) && o + 6 < out_size;
         i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F || c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02X", c);
        else
            out[o++] = (char)c;
    }
    if (i < len && o + 4 < out_size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}

bool fb_text_is_digits(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}
