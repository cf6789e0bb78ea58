/* Kinds of fiscal bill and the 4-digit codes (category + kind) that name them
 * inside an EInvoiceCode. Only the medical codes are public; every other code
 * is assigned by the finance ministry, so a table starts without it and takes
 * it from configuration. See specs/kinds.md. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/internal.h"
#include "fiscalbill/kind.h"

#define KIND_COUNT 11
#define CODE_LEN 4
#define CONFIG_LINE_MAX 256
#define CONFIG_FILE_MAX (64 * 1024)
/* Quoted input in messages is cut after this many bytes. The buffers hold the
 * worst case, every byte shown as \xNN, so the cut is always at the limit. */
#define QUOTE_MAX 40
#define QUOTE_SIZE (QUOTE_MAX * 4 + 16)
#define PATH_QUOTE_MAX 120
#define PATH_QUOTE_SIZE (PATH_QUOTE_MAX * 4 + 16)

/* Codes live inside the table, not on the heap: a load can then build the
 * whole new table by value and swap it in, and no code change can run out of
 * memory half-way. */
typedef struct kind_entry {
    const char *slug;
    const char *name;
    char code[CODE_LEN + 1]; /* "" while unknown */
} kind_entry;

struct fb_kinds {
    kind_entry kinds[KIND_COUNT];
};

static const kind_entry builtin_kinds[KIND_COUNT] = {
    { "medical-outpatient", "医疗门诊收费票据（电子）", "0601" },
    { "medical-inpatient", "医疗住院收费票据（电子）", "0602" },
    { "funds-settlement", "行政事业单位资金往来结算票据", "" },
    { "nontax-general", "非税收入统一票据", "" },
    { "membership-fee", "社会团体会费统一票据", "" },
    { "court-fee", "人民法院诉讼费专用票据", "" },
    { "donation", "公益事业捐赠统一票据", "" },
    { "social-insurance", "社会保险基金统一收据", "" },
    { "fine", "罚款统一收据", "" },
    { "nontax-payment", "非税收入一般缴款书", "" },
    { "housing-maintenance", "住宅专项维修资金专用票据", "" },
};

/* The lines of one configuration text that set a code. Slugs may not repeat,
 * so there are never more of them than kinds. */
typedef struct config_line {
    size_t line;
    size_t kind;
    char code[CODE_LEN + 1];
} config_line;

typedef struct config {
    const char *origin; /* "kinds file" or `kinds file "PATH"`, for messages */
    config_line set[KIND_COUNT];
    size_t count;
} config;

static int find_slug(const fb_kinds *kinds, const char *slug)
{
    for (int i = 0; i < KIND_COUNT; i++)
        if (strcmp(kinds->kinds[i].slug, slug) == 0)
            return i;
    return -1;
}

static int find_code(const fb_kinds *kinds, const char *code)
{
    for (int i = 0; i < KIND_COUNT; i++)
        if (kinds->kinds[i].code[0] && strcmp(kinds->kinds[i].code, code) == 0)
            return i;
    return -1;
}

static void fill_info(const kind_entry *entry, fb_kind_info *info)
{
    info->slug = entry->slug;
    info->name = entry->name;
    info->code = entry->code[0] ? entry->code : NULL;
}

static void quote(char *out, size_t out_size, const char *s)
{
    fb_text_quote(out, out_size, s, strlen(s), QUOTE_MAX);
}

int fb_kinds_new(fb_kinds **out)
{
    if (!out)
        return fb_fail(FB_EARG, "fb_kinds_new: out is NULL");
    *out = malloc(sizeof **out);
    if (!*out)
        return fb_fail_oom();
    memcpy((*out)->kinds, builtin_kinds, sizeof builtin_kinds);
    return FB_OK;
}

void fb_kinds_free(fb_kinds *kinds)
{
    free(kinds);
}

size_t fb_kinds_count(const fb_kinds *kinds)
{
    return kinds ? KIND_COUNT : 0;
}

int fb_kinds_get(const fb_kinds *kinds, size_t i, fb_kind_info *info)
{
    if (!kinds || !info)
        return fb_fail(FB_EARG, "fb_kinds_get: NULL argument");
    if (i >= KIND_COUNT)
        return fb_fail(FB_ENOTFOUND, "no kind at index %zu: the table has %d kinds", i,
                       KIND_COUNT);
    fill_info(&kinds->kinds[i], info);
    return FB_OK;
}

int fb_kinds_find(const fb_kinds *kinds, const char *slug_or_code, fb_kind_info *info)
{
    if (!kinds || !slug_or_code || !info)
        return fb_fail(FB_EARG, "fb_kinds_find: NULL argument");
    /* Slugs always hold a letter, so four digits can only be a code. */
    bool by_code = fb_text_is_digits(slug_or_code, CODE_LEN);
    int i = by_code ? find_code(kinds, slug_or_code) : find_slug(kinds, slug_or_code);
    if (i >= 0) {
        fill_info(&kinds->kinds[i], info);
        return FB_OK;
    }
    if (by_code)
        return fb_fail(FB_ENOTFOUND, "no kind has code %s", slug_or_code);
    char q[QUOTE_SIZE];
    quote(q, sizeof q, slug_or_code);
    return fb_fail(FB_ENOTFOUND, "unknown kind %s", q);
}

int fb_kinds_set_code(fb_kinds *kinds, const char *slug, const char *code)
{
    if (!kinds || !slug || !code)
        return fb_fail(FB_EARG, "fb_kinds_set_code: NULL argument");
    char q[QUOTE_SIZE];
    int i = find_slug(kinds, slug);
    if (i < 0) {
        quote(q, sizeof q, slug);
        return fb_fail(FB_ENOTFOUND, "unknown kind %s", q);
    }
    if (!fb_text_is_digits(code, CODE_LEN)) {
        quote(q, sizeof q, code);
        return fb_fail(FB_EARG, "%s: code must be 4 digits, got %s", slug, q);
    }
    int owner = find_code(kinds, code);
    if (owner >= 0 && owner != i)
        return fb_fail(FB_EINVALID, "code %s already names %s", code,
                       kinds->kinds[owner].slug);
    memcpy(kinds->kinds[i].code, code, CODE_LEN + 1);
    return FB_OK;
}

static int line_fail(const config *cfg, size_t line, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int line_fail(const config *cfg, size_t line, int status, const char *fmt, ...)
{
    char why[QUOTE_SIZE + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return fb_fail(status, "%s line %zu: %s", cfg->origin, line, why);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static int add_setting(const fb_kinds *kinds, config *cfg, size_t line, const char *slug,
                       const char *code)
{
    char q[QUOTE_SIZE];
    int kind = find_slug(kinds, slug);
    if (kind < 0) {
        quote(q, sizeof q, slug);
        return line_fail(cfg, line, FB_EINVALID, "unknown kind %s", q);
    }
    if (!fb_text_is_digits(code, CODE_LEN)) {
        quote(q, sizeof q, code);
        return line_fail(cfg, line, FB_EINVALID, "code must be 4 digits, got %s", q);
    }
    for (size_t j = 0; j < cfg->count; j++)
        if (cfg->set[j].kind == (size_t)kind)
            return line_fail(cfg, line, FB_EINVALID, "%s is already set on line %zu", slug,
                             cfg->set[j].line);
    config_line *entry = &cfg->set[cfg->count++];
    entry->line = line;
    entry->kind = (size_t)kind;
    memcpy(entry->code, code, CODE_LEN + 1);
    return FB_OK;
}

/* One line without its LF; len bytes at p. */
static int parse_line(const fb_kinds *kinds, config *cfg, size_t line, const char *p,
                      size_t len)
{
    if (len > 0 && p[len - 1] == '\r')
        len--;
    if (len > CONFIG_LINE_MAX)
        return line_fail(cfg, line, FB_ELIMIT, "line of %zu bytes is longer than %d", len,
                         CONFIG_LINE_MAX);
    if (memchr(p, '\0', len))
        return line_fail(cfg, line, FB_EINVALID, "NUL byte");
    char buf[CONFIG_LINE_MAX + 1];
    memcpy(buf, p, len);
    buf[len] = '\0';
    char *hash = strchr(buf, '#');
    if (hash)
        *hash = '\0';
    char *s = trim(buf);
    if (*s == '\0')
        return FB_OK;
    char *eq = strchr(s, '=');
    if (!eq) {
        char q[QUOTE_SIZE];
        quote(q, sizeof q, s);
        return line_fail(cfg, line, FB_EINVALID, "expected \"slug = code\", got %s", q);
    }
    *eq = '\0';
    return add_setting(kinds, cfg, line, trim(s), trim(eq + 1));
}

static int parse_text(const fb_kinds *kinds, config *cfg, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    for (size_t line = 1; p < end; line++) {
        const char *lf = memchr(p, '\n', (size_t)(end - p));
        size_t n = lf ? (size_t)(lf - p) : (size_t)(end - p);
        int status = parse_line(kinds, cfg, line, p, n);
        if (status != FB_OK)
            return status;
        p += n + (lf != NULL);
    }
    return FB_OK;
}

static int apply_config(fb_kinds *kinds, const config *cfg)
{
    fb_kinds work = *kinds;
    /* Every kind the text sets gives up its old code first, so a text may move
     * codes between kinds (even swap two) whatever the order of its lines;
     * only the codes the table will hold afterwards can conflict. */
    for (size_t j = 0; j < cfg->count; j++)
        work.kinds[cfg->set[j].kind].code[0] = '\0';
    for (size_t j = 0; j < cfg->count; j++) {
        const config_line *entry = &cfg->set[j];
        int owner = find_code(&work, entry->code);
        if (owner >= 0)
            return line_fail(cfg, entry->line, FB_EINVALID, "code %s already names %s",
                             entry->code, work.kinds[owner].slug);
        memcpy(work.kinds[entry->kind].code, entry->code, CODE_LEN + 1);
    }
    *kinds = work;
    return FB_OK;
}

static int load(fb_kinds *kinds, const char *origin, const char *text, size_t len)
{
    config cfg = { .origin = origin, .count = 0 };
    int status = parse_text(kinds, &cfg, text, len);
    return status != FB_OK ? status : apply_config(kinds, &cfg);
}

int fb_kinds_load_text(fb_kinds *kinds, const char *text, size_t len)
{
    if (!kinds || !text)
        return fb_fail(FB_EARG, "fb_kinds_load_text: NULL argument");
    return load(kinds, "kinds file", text, len);
}

/* Reads the whole file into *data (the caller frees it). */
static int read_config_file(const char *path, const char *origin, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fb_fail(FB_EIO, "cannot read %s: %s", origin, strerror(errno));
    /* One byte past the limit tells a file at the limit from a larger one. */
    char *buf = malloc(CONFIG_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return fb_fail_oom();
    }
    size_t n = fread(buf, 1, CONFIG_FILE_MAX + 1, f);
    int err = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (err || n > CONFIG_FILE_MAX) {
        free(buf);
        if (err)
            return fb_fail(FB_EIO, "cannot read %s: %s", origin, strerror(err));
        return fb_fail(FB_ELIMIT, "%s is larger than %d bytes", origin, CONFIG_FILE_MAX);
    }
    *data = buf;
    *len = n;
    return FB_OK;
}

int fb_kinds_load_file(fb_kinds *kinds, const char *path)
{
    if (!kinds || !path)
        return fb_fail(FB_EARG, "fb_kinds_load_file: NULL argument");
    char q[PATH_QUOTE_SIZE], origin[PATH_QUOTE_SIZE + 16];
    fb_text_quote(q, sizeof q, path, strlen(path), PATH_QUOTE_MAX);
    snprintf(origin, sizeof origin, "kinds file %s", q);
    char *data = NULL;
    size_t len = 0;
    int status = read_config_file(path, origin, &data, &len);
    if (status != FB_OK)
        return status;
    status = load(kinds, origin, data, len);
    free(data);
    return status;
}
