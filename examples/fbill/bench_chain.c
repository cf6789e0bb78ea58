/* fbill bench: the ports, trust anchors and bills the measurements use. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include "cli.h"
#include "bench.h"

#define SEAL_ID "652300"
#define SEAL_NAME "昌吉回族自治州财政局票据监制章"
#define AREA "652300"

static int open_port(fb_port **out, const char *uri, const char *cert)
{
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.cert_path = cert;
    int rc = fb_port_open(out, uri, &o);
    if (rc)
        cli_error("bench: %s: %s", uri, fb_last_error());
    return rc;
}

static int open_file_port(fb_port **out, const bench_world *w, int soft)
{
    char uri[BENCH_PATH + 8];
    snprintf(uri, sizeof uri, "file:%s", w->soft_key[soft]);
    return open_port(out, uri, w->soft_cert[soft]);
}

int bench_seal_hash(fb_port *port, char out[65])
{
    size_t len;
    const uint8_t *der = fb_port_certificate(port, &len);
    uint8_t h[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const EVP_MD *md = fb_port_algorithm(port) == FB_SIG_SM2_SM3 ? EVP_sm3() : EVP_sha256();
    if (!EVP_Digest(der, len, h, &n, md, NULL) || n != 32)
        return FB_ECRYPTO;
    for (unsigned int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
    return FB_OK;
}

int bench_bill(const fb_kinds *kinds, const char *seal_hash, unsigned long number,
               fb_bill **out)
{
    char num[16], code[16], date[16];
    time_t t = time(NULL) + 8 * 3600; /* bills are dated in UTC+8 */
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof date, "%Y%m%d", &tm);
    snprintf(num, sizeof num, "%010lu", number % 10000000000UL);
    bool code_missing;
    fb_bill *b = NULL;
    int rc = sample_bill(kinds, "medical-outpatient", &b, &code_missing);
    /* The code's last two digits are the issue year. */
    if (!rc) snprintf(code, sizeof code, "%.6s%.2s", fb_bill_get(b, FB_EINVOICE_CODE), date + 2);
    if (!rc) rc = fb_bill_set(b, FB_EINVOICE_ID, NULL);
    if (!rc) rc = fb_bill_set(b, FB_EINVOICE_CODE, code);
    if (!rc) rc = fb_bill_set(b, FB_EINVOICE_NUMBER, num);
    if (!rc) rc = fb_bill_set(b, FB_ISSUE_DATE, date);
    if (!rc) rc = fb_bill_set(b, FB_ISSUE_TIME, "00:00:00");
    if (!rc) rc = fb_bill_set(b, FB_SUPERVISOR_SEAL_ID, SEAL_ID);
    if (!rc) rc = fb_bill_set(b, FB_SUPERVISOR_SEAL_NAME, SEAL_NAME);
    if (!rc) rc = fb_bill_set(b, FB_SUPERVISOR_SEAL_HASH, seal_hash);
    if (!rc) rc = fb_bill_fill_derived(b);
    if (rc) {
        cli_error("bench: cannot make a bill: %s", fb_last_error());
        fb_bill_free(b);
        return rc;
    }
    *out = b;
    return FB_OK;
}

int bench_issue_seal(const bench_chain *ch, fb_port *unit, const fb_bill *bill, fb_buf *issued,
                     fb_buf *sealed)
{
    int rc = fb_issue(unit, bill, NULL, issued, NULL);
    if (!rc)
        rc = fb_seal(ch->bureau, issued->ptr, issued->size, &ch->seal, sealed);
    if (rc)
        cli_error("bench: %s bill: %s", ch->name, fb_last_error());
    return rc;
}

static int open_chain(bench_ctx *c, int alg)
{
    const bench_world *w = &c->world;
    bench_chain *ch = &c->chain[alg];
    int rc;
    switch (alg) {
    case ALG_P256:
        *ch = (bench_chain){ .id = "p256", .name = "P-256", .unit_kind = "token" };
        rc = open_port(&ch->unit, w->demo.port_uri[0], NULL) ||
             open_port(&ch->bureau, w->demo.bureau_uri, NULL);
        break;
    case ALG_RSA:
        *ch = (bench_chain){ .id = "rsa2048", .name = "RSA-2048", .unit_kind = "token" };
        rc = open_port(&ch->unit, w->rsa_uri, NULL) ||
             open_file_port(&ch->bureau, w, SOFT_RSA_BUREAU);
        break;
    default:
        *ch = (bench_chain){ .id = "sm2", .name = "SM2", .unit_kind = "key file" };
        rc = open_file_port(&ch->unit, w, SOFT_SM2_UNIT) ||
             open_file_port(&ch->bureau, w, SOFT_SM2_BUREAU);
        break;
    }
    ch->seal = (fb_seal_options)FB_SEAL_OPTIONS_INIT;
    ch->seal.trust = c->trust;
    ch->seal.seal_id = SEAL_ID;
    ch->seal.seal_name = SEAL_NAME;
    ch->seal.area_code = AREA;
    rc = rc || bench_seal_hash(ch->bureau, ch->seal_hash);
    return rc ? -1 : bench_bill(c->kinds, ch->seal_hash, 1, &ch->bill);
}

/* Documents for the loops that take documents: distinct bills, so that
 * nothing is measured on one lucky input. */
static int prepare_docs(const bench_ctx *c, bench_chain *ch)
{
    int rc = 0;
    for (int i = 0; i < BENCH_DOCS; i++)
        ch->issued[i] = ch->sealed[i] = (fb_buf)FB_BUF_INIT;
    for (int i = 0; !rc && i < BENCH_DOCS; i++) {
        fb_bill *b = NULL;
        rc = bench_bill(c->kinds, ch->seal_hash, 100 + (unsigned long)i, &b) ||
             bench_issue_seal(ch, ch->unit, b, &ch->issued[i], &ch->sealed[i]);
        fb_bill_free(b);
    }
    return rc;
}

static int open_trust(bench_ctx *c)
{
    int rc = fb_trust_new(&c->trust);
    if (!rc) rc = fb_trust_add_anchors(c->trust, c->world.demo.trust_pem);
    if (!rc) rc = fb_trust_add_anchors(c->trust, c->world.sm2_root);
    if (rc)
        cli_error("bench: trust anchors: %s", fb_last_error());
    c->verify = (fb_verify_options)FB_VERIFY_OPTIONS_INIT;
    c->verify.trust = c->trust;
    return rc;
}

/* For the reader of the results: what a bill here is. */
static void describe_bills(bench_ctx *c)
{
    fb_buf doc = FB_BUF_INIT;
    fb_bill_write_document(c->chain[ALG_P256].bill, &doc);
    snprintf(c->results->bills, sizeof c->results->bills,
             "medical-outpatient sample (3 items, 2 drug lines), %zu bytes unsigned; sealed: "
             "P-256 %zu, RSA-2048 %zu, SM2 %zu bytes", doc.size, c->chain[ALG_P256].sealed[0].size,
             c->chain[ALG_RSA].sealed[0].size, c->chain[ALG_SM2].sealed[0].size);
    fb_buf_dispose(&doc);
}

int bench_open(bench_ctx *c)
{
    int rc = fb_kinds_new(&c->kinds) ||
             fb_kinds_load_text(c->kinds, sample_kinds_conf, strlen(sample_kinds_conf));
    rc = rc || open_trust(c);
    for (int a = 0; !rc && a < ALG_COUNT; a++)
        rc = open_chain(c, a) || prepare_docs(c, &c->chain[a]);
    rc = rc || open_port(&c->window2, c->world.demo.port_uri[1], NULL) ||
         open_file_port(&c->soft_p256, &c->world, SOFT_P256);
    if (!rc)
        describe_bills(c);
    return rc ? -1 : 0;
}

void bench_close(bench_ctx *c)
{
    for (int a = 0; a < ALG_COUNT; a++) {
        bench_chain *ch = &c->chain[a];
        for (int i = 0; ch->id && i < BENCH_DOCS; i++) {
            fb_buf_dispose(&ch->issued[i]);
            fb_buf_dispose(&ch->sealed[i]);
        }
        fb_bill_free(ch->bill);
        fb_port_close(ch->unit);
        fb_port_close(ch->bureau);
    }
    fb_port_close(c->window2);
    fb_port_close(c->soft_p256);
    fb_trust_free(c->trust);
    fb_kinds_free(c->kinds);
}
