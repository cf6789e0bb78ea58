/* The demo's signing chain: bills issued at two cashier windows, sealed by
 * the finance bureau, verified as reimbursement software would, and one
 * tampered bill caught. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "demo_setup.h"

#define SEAL_ID "652300"
#define SEAL_NAME "昌吉回族自治州财政局票据监制章"

typedef struct chain {
    const demo_env *env;
    const char *out_dir;
    fb_port *window[2];
    fb_port *bureau;
    fb_trust *trust;
    fb_verify_options verify;
    fb_seal_options seal;
    int passed, failed;
} chain;

static int open_all(chain *c)
{
    const demo_env *e = c->env;
    if (fb_port_open(&c->window[0], e->port_uri[0], NULL) ||
        fb_port_open(&c->window[1], e->port_uri[1], NULL) ||
        fb_port_open(&c->bureau, e->bureau_uri, NULL) || fb_trust_new(&c->trust) ||
        fb_trust_add_anchors(c->trust, e->trust_pem)) {
        cli_error("%s", fb_last_error());
        return -1;
    }
    c->seal = (fb_seal_options)FB_SEAL_OPTIONS_INIT;
    c->seal.trust = c->trust;
    c->seal.seal_id = SEAL_ID;
    c->seal.seal_name = SEAL_NAME;
    c->seal.area_code = "652300";
    c->verify = (fb_verify_options)FB_VERIFY_OPTIONS_INIT;
    c->verify.trust = c->trust;
    return 0;
}

static void close_all(chain *c)
{
    fb_port_close(c->window[0]);
    fb_port_close(c->window[1]);
    fb_port_close(c->bureau);
    fb_trust_free(c->trust);
}

static int save(const chain *c, const char *sub, const char *slug, const fb_buf *doc)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", c->out_dir, sub);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/%s/%s.xml", c->out_dir, sub, slug);
    return cli_write_atomic(path, doc->ptr, doc->size);
}

static void report_line(chain *c, const char *label, const fb_buf *doc)
{
    fb_report *r = NULL;
    if (fb_verify(doc->ptr, doc->size, &c->verify, &r)) {
        cli_error("%s", fb_last_error());
        c->failed++;
        return;
    }
    fb_state s = fb_report_state(r);
    printf("  %s %-22s %s%s%s\n      %s\n", s == FB_PASSED ? "✓" : "✗", label, fb_state_name(s),
           s == FB_PASSED ? "" : " ", fb_subindication_name(fb_report_subindication(r)),
           fb_report_sentence(r));
    s == FB_PASSED ? c->passed++ : c->failed++;
    fb_report_free(r);
}

/* The bill names the bureau's seal before the unit signs it: the unit's
 * signature covers that, and the bureau checks it. */
static int issue_and_seal(chain *c, const fb_kinds *kinds, size_t i, fb_buf *sealed)
{
    const char *slug = sample_slugs[i];
    fb_bill *bill = NULL;
    fb_buf issued = FB_BUF_INIT;
    bool code_missing;
    int rc = sample_bill(kinds, slug, &bill, &code_missing);
    if (!rc) rc = fb_bill_set(bill, FB_SUPERVISOR_SEAL_ID, SEAL_ID);
    if (!rc) rc = fb_bill_set(bill, FB_SUPERVISOR_SEAL_NAME, SEAL_NAME);
    if (!rc) rc = fb_bill_set(bill, FB_SUPERVISOR_SEAL_HASH, c->env->bureau_seal_hash);
    if (!rc) rc = fb_issue(c->window[i % 2], bill, NULL, &issued, NULL);
    if (!rc) rc = save(c, "issued", slug, &issued) ? FB_EIO : FB_OK;
    if (!rc) rc = fb_seal(c->bureau, issued.ptr, issued.size, &c->seal, sealed);
    if (!rc) rc = save(c, "sealed", slug, sealed) ? FB_EIO : FB_OK;
    if (rc)
        cli_error("%s: %s", slug, fb_last_error());
    else
        printf("  • %-18s issued at window-%zu, sealed by the finance bureau\n", slug, i % 2 + 1);
    fb_buf_dispose(&issued);
    fb_bill_free(bill);
    return rc;
}

/* A payer's name changed after sealing, same length, still well-formed. */
static void tamper(chain *c, const fb_buf *sealed)
{
    fb_buf t = { malloc(sealed->size + 1), sealed->size, sealed->size + 1 };
    if (!t.ptr)
        return;
    memcpy(t.ptr, sealed->ptr, sealed->size + 1);
    char *at = strstr((char *)t.ptr, "<PayerPartyName>张三");
    if (at) {
        memcpy(at + strlen("<PayerPartyName>"), "李四", strlen("李四"));
        save(c, "sealed", "tampered-medical-outpatient", &t);
        printf("\n  A copy of the outpatient bill with the payer's name changed after sealing\n"
               "  (张三 → 李四), as a forger would:\n");
        report_line(c, "tampered copy", &t);
    }
    fb_buf_dispose(&t);
}

/* What a clerk sees: fbill show, verifying with the demo's root. */
static void show_one(const chain *c)
{
    char path[1400], trust[1400];
    snprintf(path, sizeof path, "%s/sealed/medical-outpatient.xml", c->out_dir);
    snprintf(trust, sizeof trust, "%s", c->env->trust_pem);
    printf("\n6. A sealed bill as a clerk sees it (fbill show --trust ROOT FILE):\n\n");
    fflush(stdout);
    char *argv[] = { "show", "--trust", trust, path, NULL };
    cmd_show(4, argv);
}

int demo_chain(const demo_env *env, const fb_kinds *kinds, const char *out_dir)
{
    chain c = { .env = env, .out_dir = out_dir };
    fb_buf sealed[8];
    size_t n = 0;
    int rc = open_all(&c);
    for (size_t i = 0; !rc && i < sample_slug_count && i < 8; i++, n++) {
        sealed[i] = (fb_buf)FB_BUF_INIT;
        rc = issue_and_seal(&c, kinds, i, &sealed[i]);
    }
    if (!rc) {
        show_one(&c);
        printf("\n7. Verification, as reimbursement software does it (signatures, certificate "
               "paths\n   to the finance root, the bill's own consistency):\n");
        for (size_t i = 0; i < n; i++)
            report_line(&c, sample_slugs[i], &sealed[i]);
        tamper(&c, &sealed[0]);
        printf("\n  %d bill%s passed, %d caught.\n", c.passed, c.passed == 1 ? "" : "s", c.failed);
    }
    for (size_t i = 0; i < n; i++)
        fb_buf_dispose(&sealed[i]);
    close_all(&c);
    /* Every genuine bill must pass and the forgery must be caught. */
    return rc || c.passed != (int)n || c.failed != 1 ? -1 : 0;
}
