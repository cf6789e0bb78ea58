/* fbill show: a bill laid out for a person, with the twelve basic elements
 * every fiscal bill shows (票据名称 … 财政部门监制章). */
#include <string.h>
#include "cli.h"

#define WIDTH 72

/* Terminal columns of UTF-8 text: CJK and full-width forms take two. */
static size_t columns(const char *s)
{
    size_t cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        unsigned long cp = *p;
        size_t n = cp < 0x80 ? 1 : cp < 0xE0 ? 2 : cp < 0xF0 ? 3 : 4;
        if (n > 1) {
            cp &= 0xFF >> (n + 1);
            for (size_t i = 1; i < n && p[i]; i++)
                cp = (cp << 6) | (p[i] & 0x3F);
        }
        cols += (cp >= 0x1100 && (cp <= 0x115F || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                                  (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                                  (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                                  (cp >= 0xFFE0 && cp <= 0xFFE6) || cp >= 0x20000)) ? 2 : 1;
        for (size_t i = 0; i < n && *p; i++)
            p++;
    }
    return cols;
}

/* Print s padded with spaces to `width` columns (left-aligned), or right-
 * aligned when right is set. */
static void cell(FILE *out, const char *s, size_t width, bool right)
{
    s = s ? s : "";
    size_t c = columns(s), pad = c < width ? width - c : 0;
    if (right)
        fprintf(out, "%*s%s", (int)pad, "", s);
    else
        fprintf(out, "%s%*s", s, (int)pad, "");
}

static void rule(FILE *out, const char *ch)
{
    for (int i = 0; i < WIDTH; i++)
        fputs(ch, out);
    fputc('\n', out);
}

static const char *or_dash(const char *s)
{
    return s ? s : "—";
}

static void line(FILE *out, const char *label, const char *value)
{
    fprintf(out, "%s：%s\n", label, or_dash(value));
}

static void header(FILE *out, const fb_bill *b)
{
    const char *name = or_dash(fb_bill_get(b, FB_EINVOICE_NAME));
    size_t c = columns(name), pad = c < WIDTH ? (WIDTH - c) / 2 : 0;
    rule(out, "=");
    fprintf(out, "%*s%s\n", (int)pad, "", name);
    rule(out, "=");
    const char *d = fb_bill_get(b, FB_ISSUE_DATE), *t = fb_bill_get(b, FB_ISSUE_TIME);
    char date[40] = "—";
    if (d && strlen(d) == 8)
        snprintf(date, sizeof date, "%.4s-%.2s-%.2s %s", d, d + 4, d + 6, t ? t : "");
    fprintf(out, "票据代码：");
    cell(out, or_dash(fb_bill_get(b, FB_EINVOICE_CODE)), 24, false);
    fprintf(out, "票据号码：%s\n", or_dash(fb_bill_get(b, FB_EINVOICE_NUMBER)));
    fprintf(out, "校 验 码：");
    cell(out, or_dash(fb_bill_get(b, FB_RANDOM_NUMBER)), 24, false);
    fprintf(out, "开票日期：%s\n", date);
    const char *type = fb_bill_get(b, FB_PAYER_PARTY_TYPE);
    fprintf(out, "交 款 人：%s%s\n", or_dash(fb_bill_get(b, FB_PAYER_PARTY_NAME)),
            type && !strcmp(type, "1") ? "（个人）" : type && !strcmp(type, "2") ? "（单位）" : "");
    fprintf(out, "开票单位：%s（%s）\n", or_dash(fb_bill_get(b, FB_INVOICING_PARTY_NAME)),
            or_dash(fb_bill_get(b, FB_INVOICING_PARTY_CODE)));
}

static void items(FILE *out, const fb_bill *b)
{
    rule(out, "-");
    static const char *const head[] = { "收费项目", "数量", "单位", "标准", "金额" };
    static const size_t width[] = { 28, 8, 8, 14, 14 };
    for (int i = 0; i < 5; i++) {
        fputs(i == 2 ? "  " : "", out);
        cell(out, head[i], width[i] - (i == 2 ? 2 : 0), i == 1 || i >= 3);
    }
    fputc('\n', out);
    for (size_t i = 0; i < fb_bill_item_count(b); i++) {
        const char *v[5] = {
            fb_bill_item_get(b, i, FB_ITEM_NAME), fb_bill_item_get(b, i, FB_ITEM_QUANTITY),
            fb_bill_item_get(b, i, FB_ITEM_UNIT), fb_bill_item_get(b, i, FB_ITEM_STD),
            fb_bill_item_get(b, i, FB_ITEM_AMOUNT),
        };
        for (int k = 0; k < 5; k++) {
            fputs(k == 2 ? "  " : "", out);
            cell(out, v[k], width[k] - (k == 2 ? 2 : 0), k == 1 || k >= 3);
        }
        fputc('\n', out);
    }
    rule(out, "-");
}

static void total(FILE *out, const fb_bill *b)
{
    int64_t fen;
    char capitals[FB_CAPITALS_BUFSIZE] = "—";
    if (fb_bill_get_amount(b, FB_TOTAL_AMOUNT, &fen) == FB_OK)
        fb_amount_capitals(fen, capitals, sizeof capitals);
    fprintf(out, "金额合计（大写）：%s\n", capitals);
    fprintf(out, "金额合计（小写）：%s\n", or_dash(fb_bill_get(b, FB_TOTAL_AMOUNT)));
}

static void seals(FILE *out, const fb_bill *b, size_t sig_count, const char *state)
{
    line(out, "备    注", fb_bill_get(b, FB_REMARK));
    fprintf(out, "开 票 人：");
    cell(out, or_dash(fb_bill_get(b, FB_HANDLING_PERSON)), 24, false);
    fprintf(out, "复 核 人：%s\n", or_dash(fb_bill_get(b, FB_CHECKER)));
    fprintf(out, "开票单位签章：%s（%s）\n", or_dash(fb_bill_get(b, FB_INVOICING_SEAL_NAME)),
            or_dash(fb_bill_get(b, FB_INVOICING_SEAL_ID)));
    fprintf(out, "财政部门监制章：%s（%s）\n", or_dash(fb_bill_get(b, FB_SUPERVISOR_SEAL_NAME)),
            or_dash(fb_bill_get(b, FB_SUPERVISOR_SEAL_ID)));
    static const char *const unverified[] = {
        "未签名（unsigned）",
        "已有开票单位签名，尚未核验（signed by the issuing unit, not verified）",
        "已有开票单位签名和财政监制签名，尚未核验（signed and sealed, not verified）",
    };
    fprintf(out, "签名状态：%s\n", state ? state : unverified[sig_count < 3 ? sig_count : 2]);
    rule(out, "=");
}

void show_bill(FILE *out, const fb_bill *b, size_t sig_count, const char *state)
{
    header(out, b);
    items(out, b);
    total(out, b);
    seals(out, b, sig_count, state);
}

/* The verification state line of a signed bill, in words a clerk reads. */
static void verified_state(const char *trust_path, const fb_document *doc, char *line,
                           size_t size)
{
    static const char *const words[] = { "通过核验", "无法确定", "核验失败" };
    fb_trust *trust = NULL;
    fb_report *r = NULL;
    size_t len;
    const uint8_t *data = fb_document_data(doc, &len);
    fb_verify_options o = FB_VERIFY_OPTIONS_INIT;
    if (fb_trust_new(&trust) || fb_trust_add_anchors(trust, trust_path)) {
        snprintf(line, size, "未核验：%s", fb_last_error());
    } else {
        o.trust = trust;
        if (fb_verify(data, len, &o, &r) == FB_OK) {
            fb_state st = fb_report_state(r);
            snprintf(line, size, "%s（%s%s%s）：%s", words[st], fb_state_name(st),
                     st == FB_PASSED ? "" : " ", fb_subindication_name(fb_report_subindication(r)),
                     fb_report_sentence(r));
        }
    }
    fb_report_free(r);
    fb_trust_free(trust);
}

int cmd_show(int argc, char **argv)
{
    const char *trust = NULL, *file = NULL;
    if (argc == 2)
        file = argv[1];
    else if (argc == 4 && !strcmp(argv[1], "--trust"))
        trust = argv[2], file = argv[3];
    if (!file) {
        cli_error("usage: fbill show [--trust ROOTS] FILE");
        return EXIT_USAGE;
    }
    fb_document *doc;
    int rc = fb_document_load(&doc, file, NULL);
    if (rc) {
        cli_error("%s", fb_last_error());
        return cli_load_exit(rc);
    }
    char state[1200] = "";
    if (trust && fb_document_signature_count(doc))
        verified_state(trust, doc, state, sizeof state);
    show_bill(stdout, fb_document_bill(doc), fb_document_signature_count(doc),
              state[0] ? state : NULL);
    fb_document_free(doc);
    return EXIT_OK;
}
