/* fbill verify: the whole chain of many bills, over N threads, with a
 * report a clerk can act on or one JSON object per bill. */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

/* Longest file name read from a --files-from list. */
#define LIST_NAME_MAX 4096

typedef struct job {
    char **files;
    int n_files;
    atomic_int next;
    FILE *list;                /* --files-from: names read as workers need them */
    const char *list_path;
    pthread_mutex_t list_lock;
    bool list_failed;
    atomic_int worst; /* 0 passed, 3 indeterminate, 1 failed (ordered below) */
    bool json;
    fb_verify_options options;
    pthread_mutex_t out_lock;
} job;

static void json_string(fb_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    char esc[7] = "\\u00";
    cli_buf_puts(b, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char two[3] = { '\\', (char)c, 0 };
            cli_buf_puts(b, two);
        } else if (c < 0x20) {
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            cli_buf_puts(b, esc);
        } else {
            char one[2] = { (char)c, 0 };
            cli_buf_puts(b, one);
        }
    }
    cli_buf_puts(b, "\"");
}

static void json_field(fb_buf *b, const char *name, const char *value, bool comma)
{
    json_string(b, name);
    cli_buf_puts(b, ":");
    if (value)
        json_string(b, value);
    else
        cli_buf_puts(b, "null");
    if (comma)
        cli_buf_puts(b, ",");
}

static const char *field(const fb_report *r, fb_field f)
{
    const fb_bill *b = fb_report_bill(r);
    return b ? fb_bill_get(b, f) : NULL;
}

static void json_report(fb_buf *b, const char *file, const fb_report *r)
{
    cli_buf_puts(b, "{");
    json_field(b, "file", file, true);
    json_field(b, "state", fb_state_name(fb_report_state(r)), true);
    json_field(b, "subindication", fb_subindication_name(fb_report_subindication(r)), true);
    json_field(b, "sentence", fb_report_sentence(r), true);
    cli_buf_puts(b, "\"checks\":[");
    for (int i = 0; i < FB_CHECK_COUNT; i++) {
        cli_buf_puts(b, i ? ",{" : "{");
        json_field(b, "check", fb_check_name((fb_check)i), true);
        json_field(b, "state", fb_state_name(fb_report_check_state(r, (fb_check)i)), true);
        json_field(b, "subindication",
                   fb_subindication_name(fb_report_check_subindication(r, (fb_check)i)), true);
        json_field(b, "sentence", fb_report_check_sentence(r, (fb_check)i), false);
        cli_buf_puts(b, "}");
    }
    cli_buf_puts(b, "],\"signers\":[");
    for (int w = 0; w < 2; w++) {
        cli_buf_puts(b, w ? ",{" : "{");
        json_field(b, "role", w ? "supervisor" : "unit", true);
        json_field(b, "subject", fb_report_signer_subject(r, w), true);
        json_field(b, "serial", fb_report_signer_serial(r, w), true);
        json_field(b, "signing_time", fb_report_signing_time(r, w), false);
        cli_buf_puts(b, "}");
    }
    cli_buf_puts(b, "],\"bill\":{");
    json_field(b, "code", field(r, FB_EINVOICE_CODE), true);
    json_field(b, "number", field(r, FB_EINVOICE_NUMBER), true);
    json_field(b, "check_code", field(r, FB_RANDOM_NUMBER), true);
    json_field(b, "issue_date", field(r, FB_ISSUE_DATE), true);
    json_field(b, "total", field(r, FB_TOTAL_AMOUNT), false);
    cli_buf_puts(b, "}}\n");
}

/* A file that could not be read has the shape of every report: the
 * structure FAILED, the rest not checked, no signers, no bill fields. */
static void json_unreadable(fb_buf *b, const char *file, const char *why)
{
    cli_buf_puts(b, "{");
    json_field(b, "file", file, true);
    json_field(b, "state", "FAILED", true);
    json_field(b, "subindication", "FORMAT_FAILURE", true);
    json_field(b, "sentence", why, true);
    cli_buf_puts(b, "\"checks\":[");
    for (int i = 0; i < FB_CHECK_COUNT; i++) {
        cli_buf_puts(b, i ? ",{" : "{");
        json_field(b, "check", fb_check_name((fb_check)i), true);
        json_field(b, "state", i ? "INDETERMINATE" : "FAILED", true);
        json_field(b, "subindication", i ? "" : "FORMAT_FAILURE", true);
        json_field(b, "sentence", i ? "not checked: an earlier check did not pass" : why, false);
        cli_buf_puts(b, "}");
    }
    cli_buf_puts(b, "],\"signers\":[");
    for (int w = 0; w < 2; w++) {
        cli_buf_puts(b, w ? ",{" : "{");
        json_field(b, "role", w ? "supervisor" : "unit", true);
        json_field(b, "subject", NULL, true);
        json_field(b, "serial", NULL, true);
        json_field(b, "signing_time", NULL, false);
        cli_buf_puts(b, "}");
    }
    cli_buf_puts(b, "],\"bill\":{\"code\":null,\"number\":null,\"check_code\":null,"
                    "\"issue_date\":null,\"total\":null}}\n");
}

static void text_report(fb_buf *b, const char *file, const fb_report *r)
{
    fb_state s = fb_report_state(r);
    char line[2048];
    snprintf(line, sizeof line, "%s: %s%s%s\n  %s\n", file, fb_state_name(s),
             s == FB_PASSED ? "" : " ", fb_subindication_name(fb_report_subindication(r)),
             fb_report_sentence(r));
    cli_buf_puts(b, line);
    const char *code = field(r, FB_EINVOICE_CODE);
    if (code) {
        snprintf(line, sizeof line, "  票据代码 %s 票据号码 %s 校验码 %s 开票日期 %s 金额 %s\n", code,
                 field(r, FB_EINVOICE_NUMBER) ? field(r, FB_EINVOICE_NUMBER) : "-",
                 field(r, FB_RANDOM_NUMBER) ? field(r, FB_RANDOM_NUMBER) : "-",
                 field(r, FB_ISSUE_DATE) ? field(r, FB_ISSUE_DATE) : "-",
                 field(r, FB_TOTAL_AMOUNT) ? field(r, FB_TOTAL_AMOUNT) : "-");
        cli_buf_puts(b, line);
    }
    for (int i = 0; s != FB_PASSED && i < FB_CHECK_COUNT; i++) {
        fb_state cs = fb_report_check_state(r, (fb_check)i);
        snprintf(line, sizeof line, "    %-22s %-13s %s\n", fb_check_name((fb_check)i),
                 fb_state_name(cs), fb_report_check_sentence(r, (fb_check)i));
        cli_buf_puts(b, line);
    }
}

/* Exit status ranks: FAILED (1) over INDETERMINATE (3) over PASSED (0). */
static int rank(int status)
{
    return status == 1 ? 2 : status == 3 ? 1 : 0;
}

static void note_status(job *j, int status)
{
    int cur = atomic_load(&j->worst);
    while (rank(status) > rank(cur) && !atomic_compare_exchange_weak(&j->worst, &cur, status))
        ;
}

static void verify_one(job *j, const char *file)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fb_report *r = NULL;
    fb_buf out = FB_BUF_INIT;
    char why[300] = "";
    int rc = cli_read_file(file, j->options.limits.max_bytes, &data, &len, why, sizeof why);
    if (!rc && fb_verify(data, len, &j->options, &r))
        rc = -1, snprintf(why, sizeof why, "%s", fb_last_error());
    if (rc && j->json) {
        json_unreadable(&out, file, why);
        note_status(j, 1);
    } else if (rc) {
        char line[1200];
        snprintf(line, sizeof line, "%s: FAILED FORMAT_FAILURE\n  %s\n", file, why);
        cli_buf_puts(&out, line);
        note_status(j, 1);
    } else {
        (j->json ? json_report : text_report)(&out, file, r);
        fb_state s = fb_report_state(r);
        note_status(j, s == FB_PASSED ? 0 : s == FB_FAILED ? 1 : 3);
    }
    pthread_mutex_lock(&j->out_lock);
    fwrite(out.ptr, 1, out.size, stdout);
    pthread_mutex_unlock(&j->out_lock);
    fb_buf_dispose(&out);
    fb_report_free(r);
    free(data);
}

/* The next name of a --files-from list, one per line; empty lines are
 * skipped. Read on demand so that a list of millions of bills costs no
 * memory. false at the end of the list. */
static bool next_listed(job *j, char name[LIST_NAME_MAX])
{
    pthread_mutex_lock(&j->list_lock);
    bool got = false;
    while (!got && !j->list_failed && fgets(name, LIST_NAME_MAX, j->list)) {
        size_t n = strlen(name);
        if (n && name[n - 1] == '\n') {
            name[--n] = '\0';
        } else if (!feof(j->list)) {
            cli_error("%s: a line is longer than %d bytes", j->list_path, LIST_NAME_MAX - 1);
            j->list_failed = true;
            note_status(j, 1);
            break;
        }
        got = n > 0;
    }
    if (!got && ferror(j->list) && !j->list_failed) {
        cli_error("%s: read error", j->list_path);
        j->list_failed = true;
        note_status(j, 1);
    }
    pthread_mutex_unlock(&j->list_lock);
    return got;
}

static void *worker(void *arg)
{
    job *j = arg;
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->n_files;)
        verify_one(j, j->files[i]);
    char name[LIST_NAME_MAX];
    while (j->list && next_listed(j, name))
        verify_one(j, name);
    return NULL;
}

static int run_workers(job *j, int threads)
{
    pthread_t t[64];
    int started = 0;
    for (; started < threads && started < 64; started++)
        if (pthread_create(&t[started], NULL, worker, j))
            break;
    if (started == 0)
        worker(j);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    return atomic_load(&j->worst);
}

static int load_trust(fb_trust *trust, int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i++) {
        int rc = !strcmp(argv[i], "--trust")           ? fb_trust_add_anchors(trust, argv[i + 1])
                 : !strcmp(argv[i], "--intermediates") ? fb_trust_add_intermediates(trust, argv[i + 1])
                 : !strcmp(argv[i], "--crl")           ? fb_trust_add_crl(trust, argv[i + 1])
                                                       : FB_OK;
        if (rc) {
            cli_error("%s", fb_last_error());
            return -1;
        }
    }
    return 0;
}

static int parse(job *j, int *threads, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json"))
            j->json = true;
        else if (!strcmp(a, "--require-seal"))
            j->options.missing_seal_fails = 1;
        else if (!strcmp(a, "--require-revocation"))
            j->options.require_revocation = 1;
        else if (v && (!strcmp(a, "--trust") || !strcmp(a, "--intermediates") ||
                       !strcmp(a, "--crl")))
            i++;
        else if (v && !strcmp(a, "-j") && (*threads = atoi(v)) >= 1 && *threads <= 64)
            i++;
        else if (v && !strcmp(a, "--time") && (!strcmp(v, "signing") || !strcmp(v, "now")))
            j->options.time_policy = !strcmp(argv[++i], "now") ? FB_TIME_NOW : FB_TIME_SIGNING;
        else if (v && !strcmp(a, "--coverage") &&
                 fb_seal_coverage_parse(v, &j->options.coverage) == FB_OK)
            i++;
        else if (v && !strcmp(a, "--sm2-id"))
            j->options.sm2_id = argv[++i];
        else if (v && !strcmp(a, "--files-from") && !j->list_path)
            j->list_path = argv[++i];
        else if (a[0] == '-')
            return -1;
        else
            j->files[j->n_files++] = argv[i];
    }
    return j->n_files || j->list_path ? 0 : -1;
}

static int open_list(job *j)
{
    if (!j->list_path)
        return 0;
    j->list = strcmp(j->list_path, "-") ? fopen(j->list_path, "r") : stdin;
    if (!j->list)
        cli_error("cannot read the list of files %s", j->list_path);
    return j->list ? 0 : -1;
}

int cmd_verify(int argc, char **argv)
{
    job j = { .options = FB_VERIFY_OPTIONS_INIT };
    int threads = 1, status = EXIT_USAGE;
    fb_trust *trust = NULL;
    j.files = calloc((size_t)argc, sizeof *j.files);
    pthread_mutex_init(&j.out_lock, NULL);
    pthread_mutex_init(&j.list_lock, NULL);
    if (!j.files || parse(&j, &threads, argc, argv)) {
        cli_error("usage: fbill verify [--trust PEM|DIR]... [--intermediates PEM|DIR] "
                  "[--crl FILE]... [--coverage fragment+unit-node|fragment|unit-node] "
                  "[--time signing|now] [--require-seal] [--require-revocation] [--sm2-id ID] "
                  "[--json] [-j N] [--files-from LIST|-] FILE...");
    } else if (open_list(&j)) {
        /* EXIT_USAGE: the input could not be read */
    } else if (fb_trust_new(&trust) || load_trust(trust, argc, argv)) {
        cli_error("%s", fb_last_error());
    } else {
        j.options.trust = trust;
        status = run_workers(&j, threads);
    }
    fb_trust_free(trust);
    free(j.files);
    if (j.list && j.list != stdin)
        fclose(j.list);
    pthread_mutex_destroy(&j.list_lock);
    pthread_mutex_destroy(&j.out_lock);
    return status;
}
