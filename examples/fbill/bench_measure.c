/* fbill bench: the measurements made in this process: issuing, sealing,
 * verifying and two ports in parallel against their baselines, and the
 * library's own cost per bill. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"
#include "bench.h"

/* What one loop of a task works on. */
typedef struct job {
    fb_port *port;
    const fb_bill *bill;
    const bench_chain *chain;
    const fb_verify_options *verify;
    const fb_buf *docs; /* BENCH_DOCS documents, taken in turn */
    unsigned next;
    const uint8_t *data; /* what a sign operation signs */
    size_t len;
    fb_buf out;
} job;

static const fb_buf *next_doc(job *j)
{
    return &j->docs[j->next++ % BENCH_DOCS];
}

static void reuse(fb_buf *b)
{
    b->size = 0;
}

static int op_issue(void *arg)
{
    job *j = arg;
    reuse(&j->out);
    return fb_issue(j->port, j->bill, NULL, &j->out, NULL);
}

static int op_seal(void *arg)
{
    job *j = arg;
    const fb_buf *d = next_doc(j);
    reuse(&j->out);
    return fb_seal(j->chain->bureau, d->ptr, d->size, &j->chain->seal, &j->out);
}

static int op_verify(void *arg)
{
    job *j = arg;
    const fb_buf *d = next_doc(j);
    fb_report *r = NULL;
    int rc = fb_verify(d->ptr, d->size, j->verify, &r);
    /* A bill that does not pass would time a shortcut, not the checks. */
    if (!rc && fb_report_state(r) != FB_PASSED) {
        cli_error("bench: a genuine bill did not pass: %s", fb_report_sentence(r));
        rc = -1;
    }
    fb_report_free(r);
    return rc;
}

static int op_port_sign(void *arg)
{
    job *j = arg;
    uint8_t sig[1024];
    size_t len = sizeof sig;
    return fb_port_sign(j->port, j->data, j->len, sig, &len);
}

static int op_cms_sign(void *arg)
{
    job *j = arg;
    reuse(&j->out);
    return fb_cms_sign(j->port, j->data, j->len, NULL, &j->out);
}

static int op_write(void *arg)
{
    job *j = arg;
    reuse(&j->out);
    return fb_bill_write_document(j->bill, &j->out);
}

static int op_parse(void *arg)
{
    job *j = arg;
    const fb_buf *d = next_doc(j);
    fb_document *doc;
    int rc = fb_document_parse(&doc, d->ptr, d->size, NULL);
    if (!rc)
        fb_document_free(doc);
    return rc;
}

static int op_validate(void *arg)
{
    job *j = arg;
    fb_problems *p = NULL;
    int rc = fb_bill_validate(j->bill, &p);
    fb_problems_free(p);
    return rc;
}

/* Plain computation on memory of the thread's own: how far the machine
 * itself lets two threads scale right now. */
static int op_compute(void *arg)
{
    uint64_t block[512], h = 14695981039346656037ULL;
    for (size_t i = 0; i < 512; i++)
        block[i] = i * 0x9e3779b97f4a7c15ULL;
    for (int round = 0; round < 8; round++)
        for (size_t i = 0; i < 512; i++)
            h = (h ^ block[i]) * 1099511628211ULL;
    *(volatile uint64_t *)arg = h;
    return 0;
}

static double us(double rate)
{
    return rate > 0 ? 1e6 / rate : 0;
}

/* A throughput row against its baseline, which runs at base_rate in
 * base_unit. */
static void throughput_row(bench_ctx *c, const char *id, const char *label, double rate,
                           double base_rate, const char *base_unit, const char *base_label,
                           double goal)
{
    bench_row *row = bench_add(c->results, "throughput", id, label, rate, "bills/s");
    bench_set_base(row, base_rate, base_unit, base_label);
    bench_set_goal(row, GOAL_RATIO_MIN, goal);
}

static void cost_row(bench_ctx *c, const char *id, const char *label, double value)
{
    bench_add(c->results, "cost", id, label, value, "us/bill");
}

/* The bare loop on the token behind a port (bench_p11.c). */
static int token_baseline(const bench_ctx *c, const char *label, fb_port *port, int verifies,
                          bench_p11 **k)
{
    char pin[BENCH_PATH];
    size_t len;
    const uint8_t *der = fb_port_certificate(port, &len);
    bench_pin_path(&c->world, label, pin, sizeof pin);
    return bench_p11_open(k, label, pin, der, len, verifies);
}

static void issue_rows(bench_ctx *c, const bench_chain *ch, const bench_task *t, bool token)
{
    char id[48], label[96];
    snprintf(id, sizeof id, "issue_%s", ch->id);
    snprintf(label, sizeof label, "issue, %s %s", ch->name, token ? "token" : "key file");
    throughput_row(c, id, label, t[0].rate, t[1].rate, "ops/s",
                   token ? "C_Sign + 1 verify" : "EVP_DigestSign + Verify", 0.90);
    snprintf(id, sizeof id, "issue_overhead_%s", ch->id);
    snprintf(label, sizeof label, "fb_issue beyond the signature, %s", ch->name);
    cost_row(c, id, label, us(t[0].rate) - us(t[1].rate));
}

/* fb_issue against the signature alone: the token's C_Sign and one check
 * for tokens, OpenSSL's own SM2 sign and verify for the SM2 key file. */
static int issue_alg(bench_ctx *c, int alg)
{
    const bench_chain *ch = &c->chain[alg];
    bool token = alg != ALG_SM2;
    job j = { .port = ch->unit, .bill = ch->bill };
    bench_p11 *k = NULL;
    bench_evp *e = NULL;
    int rc = token ? token_baseline(c, alg == ALG_P256 ? "window-1" : "rsa-unit", ch->unit, 1, &k)
                   : bench_evp_new(&e, ALG_SM2, c->world.soft_key[SOFT_SM2_UNIT],
                                   EVP_SIGN_VERIFY);
    bench_task t[2] = { { .name = "fb_issue", .op = op_issue, .arg = { &j } },
                        { .name = "baseline", .op = token ? bench_p11_op : bench_evp_op,
                          .arg = { token ? (void *)k : (void *)e } } };
    bench_say("issuing, %s %s", ch->name, ch->unit_kind);
    rc = rc || bench_group(&c->cfg, t, 2);
    if (!rc)
        issue_rows(c, ch, t, token);
    bench_p11_close(k);
    bench_evp_free(e);
    fb_buf_dispose(&j.out);
    return rc;
}

static int seal_p256(bench_ctx *c)
{
    const bench_chain *ch = &c->chain[ALG_P256];
    job j = { .chain = ch, .docs = ch->issued };
    bench_p11 *k = NULL;
    int rc = token_baseline(c, "finance-bureau", ch->bureau, 2, &k);
    bench_task t[2] = { { .name = "fb_seal", .op = op_seal, .arg = { &j } },
                        { .name = "baseline", .op = bench_p11_op, .arg = { k } } };
    bench_say("sealing, P-256 token");
    rc = rc || bench_group(&c->cfg, t, 2);
    if (!rc) {
        throughput_row(c, "seal_p256", "seal, P-256 token", t[0].rate, t[1].rate, "ops/s",
                       "C_Sign + 2 verifies", 0.85);
        cost_row(c, "seal_overhead_p256", "fb_seal beyond signature + 2 checks, P-256",
                 us(t[0].rate) - us(t[1].rate));
    }
    bench_p11_close(k);
    fb_buf_dispose(&j.out);
    return rc;
}

static int open_window_tokens(bench_ctx *c, bench_p11 *k[2])
{
    return token_baseline(c, "window-1", c->chain[ALG_P256].unit, 1, &k[0]) ||
                   token_baseline(c, "window-2", c->window2, 1, &k[1])
               ? -1 : 0;
}

static void scaling_row(bench_ctx *c, const char *id, const char *label, const char *unit,
                        const bench_task *t, double goal)
{
    bench_row *row = bench_add(c->results, "scaling", id, label, t[0].rate, unit);
    bench_set_base(row, t[1].rate, unit, "1 thread");
    bench_set_goal(row, goal > 0 ? GOAL_RATIO_MIN : GOAL_NONE, goal);
}

/* Two ports on two threads against one port on one: the ports share
 * nothing but the module, so the rate should double. The bare token loop
 * shows what SoftHSM allows, plain computation what the machine does. */
static int parallel_ports(bench_ctx *c)
{
    const bench_chain *ch = &c->chain[ALG_P256];
    job j[3] = { { .port = ch->unit, .bill = ch->bill }, { .port = c->window2, .bill = ch->bill },
                 { .port = ch->unit, .bill = ch->bill } };
    bench_p11 *k[2] = { NULL, NULL };
    uint64_t sink[3];
    int rc = open_window_tokens(c, k);
    bench_task t[6] = {
        { .name = "two ports", .op = op_issue, .arg = { &j[0], &j[1] }, .threads = 2 },
        { .name = "one port", .op = op_issue, .arg = { &j[2] } },
        { .name = "two tokens", .op = bench_p11_op, .arg = { k[0], k[1] }, .threads = 2 },
        { .name = "one token", .op = bench_p11_op, .arg = { k[0] } },
        { .name = "computing on two", .op = op_compute, .arg = { &sink[0], &sink[1] },
          .threads = 2 },
        { .name = "computing on one", .op = op_compute, .arg = { &sink[2] } },
    };
    bench_say("two ports in parallel");
    rc = rc || bench_group(&c->cfg, t, 6);
    if (!rc) {
        scaling_row(c, "parallel_ports", "2 P-256 ports, 2 threads (fb_issue)", "bills/s", t,
                    1.8);
        scaling_row(c, "parallel_tokens", "2 P-256 tokens, 2 threads (bare C_Sign)", "ops/s",
                    t + 2, 0);
        scaling_row(c, "parallel_machine", "plain computation, 2 threads", "ops/s", t + 4, 0);
    }
    for (int i = 0; i < 3; i++)
        fb_buf_dispose(&j[i].out);
    bench_p11_close(k[0]);
    bench_p11_close(k[1]);
    return rc;
}

static bool wanted_alg(const bench_ctx *c, const char *what, int alg)
{
    char id[48];
    snprintf(id, sizeof id, "%s_%s", what, c->chain[alg].id);
    return bench_wanted(c, id);
}

int bench_signing(bench_ctx *c)
{
    for (int a = 0; a < ALG_COUNT; a++)
        if (wanted_alg(c, "issue", a) && issue_alg(c, a))
            return -1;
    return (bench_wanted(c, "seal_p256") && seal_p256(c)) ||
                   (bench_wanted(c, "parallel_ports") && parallel_ports(c))
               ? -1 : 0;
}

static int verify_alg(bench_ctx *c, int alg)
{
    static const int key_of[ALG_COUNT] = { SOFT_P256, SOFT_RSA_BUREAU, SOFT_SM2_UNIT };
    const bench_chain *ch = &c->chain[alg];
    job j = { .verify = &c->verify, .docs = ch->sealed };
    bench_evp *e = NULL;
    char id[48], label[96];
    int rc = bench_evp_new(&e, alg, c->world.soft_key[key_of[alg]], EVP_VERIFY);
    bench_task t[2] = { { .name = "fb_verify", .op = op_verify, .arg = { &j } },
                        { .name = "EVP_DigestVerify", .op = bench_evp_op, .arg = { e } } };
    bench_say("verifying, %s", ch->name);
    rc = rc || bench_group(&c->cfg, t, 2);
    if (!rc) {
        snprintf(id, sizeof id, "verify_%s", ch->id);
        snprintf(label, sizeof label, "verify sealed bills, %s, 1 thread", ch->name);
        throughput_row(c, id, label, t[0].rate, t[1].rate / 2, "bills/s",
                       "EVP_DigestVerify rate / 2", 0.85);
        snprintf(id, sizeof id, "verify_checking_%s", ch->id);
        snprintf(label, sizeof label, "fb_verify beyond 2 signature checks, %s", ch->name);
        cost_row(c, id, label, us(t[0].rate) - 2 * us(t[1].rate));
    }
    bench_evp_free(e);
    return rc;
}

int bench_verification(bench_ctx *c)
{
    for (int a = 0; a < ALG_COUNT; a++)
        if (wanted_alg(c, "verify", a) && verify_alg(c, a))
            return -1;
    return 0;
}

/* The document and bill steps, each alone. */
static int document_costs(bench_ctx *c)
{
    const bench_chain *ch = &c->chain[ALG_P256];
    job j[3] = { { .bill = ch->bill }, { .docs = ch->sealed }, { .bill = ch->bill } };
    bench_task t[3] = { { .name = "fb_bill_write_document", .op = op_write, .arg = { &j[0] } },
                        { .name = "fb_document_parse", .op = op_parse, .arg = { &j[1] } },
                        { .name = "fb_bill_validate", .op = op_validate, .arg = { &j[2] } } };
    bench_say("writing, reading and validating");
    int rc = bench_group(&c->cfg, t, 3);
    if (!rc) {
        cost_row(c, "write_document", "write a document (fb_bill_write_document)",
                 us(t[0].rate));
        cost_row(c, "document_parse", "read + slice a sealed bill (fb_document_parse)",
                 us(t[1].rate));
        cost_row(c, "bill_validate", "validate a bill (fb_bill_validate)", us(t[2].rate));
    }
    fb_buf_dispose(&j[0].out);
    return rc;
}

/* A P-256 key file, so that no token time hides anything: the raw
 * signature and its check, the port around them, the CMS around the port,
 * and fb_issue around the CMS. */
static int signing_split(bench_ctx *c)
{
    static const uint8_t attrs[256] = { 0x31 };
    fb_buf fragment = FB_BUF_INIT;
    bench_evp *e = NULL;
    job j[3] = { { .port = c->soft_p256, .data = attrs, .len = sizeof attrs },
                 { .port = c->soft_p256 },
                 { .port = c->soft_p256, .bill = c->chain[ALG_P256].bill } };
    int rc = fb_bill_write_fragment(c->chain[ALG_P256].bill, &fragment) ||
             bench_evp_new(&e, ALG_P256, c->world.soft_key[SOFT_P256], EVP_RAW_SIGN_VERIFY);
    j[1].data = fragment.ptr;
    j[1].len = fragment.size;
    bench_task t[4] = { { .name = "EVP_PKEY_sign+verify", .op = bench_evp_op, .arg = { e } },
                        { .name = "fb_port_sign", .op = op_port_sign, .arg = { &j[0] } },
                        { .name = "fb_cms_sign", .op = op_cms_sign, .arg = { &j[1] } },
                        { .name = "fb_issue", .op = op_issue, .arg = { &j[2] } } };
    bench_say("the cost of signing, P-256 key file");
    rc = rc || bench_group(&c->cfg, t, 4);
    if (!rc) {
        cost_row(c, "raw_sign_verify_p256", "P-256 sign + verify (EVP_PKEY_sign/verify)",
                 us(t[0].rate));
        cost_row(c, "port_overhead", "fb_port_sign beyond EVP sign + verify",
                 us(t[1].rate) - us(t[0].rate));
        cost_row(c, "cms_assembly", "CMS assembly (fb_cms_sign beyond fb_port_sign)",
                 us(t[2].rate) - us(t[1].rate));
        cost_row(c, "issue_own", "fb_issue beyond fb_cms_sign (validate, XML)",
                 us(t[3].rate) - us(t[2].rate));
    }
    bench_evp_free(e);
    fb_buf_dispose(&fragment);
    for (int i = 0; i < 3; i++)
        fb_buf_dispose(&j[i].out);
    return rc;
}

int bench_costs(bench_ctx *c)
{
    return (bench_wanted(c, "cost_document") && document_costs(c)) ||
                   (bench_wanted(c, "cost_signing") && signing_split(c))
               ? -1 : 0;
}
