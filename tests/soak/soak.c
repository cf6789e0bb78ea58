/* The fault soak (issue 7).
 *
 * Four unit ports on SoftHSM tokens (port-1, port-2, port-rsa, and nocert
 * with a wrong PIN), all reached through libfbtest-faulty-pkcs11 with a
 * short call deadline, issue bills numbered 1..N from eight threads (bill n
 * at port n % 4), while two bureau threads seal, at the bureau's port and
 * also behind the faults, each written bill of the half that names the
 * bureau's seal; the other half is final once issued. The module fails C_Sign at random with
 * CKR_DEVICE_REMOVED, CKR_SESSION_HANDLE_INVALID and CKR_DEVICE_ERROR, and
 * delays C_Sign and C_OpenSession at random, some delays past the deadline.
 * Each bill is written atomically (temporary file, fsync, link) or its
 * error recorded with its number. soak_check.c then holds the run to the
 * issue's rules: every number exactly one outcome, `fbill verify --json`
 * passes every written file, no stray or truncated file, the wrong-PIN
 * port logged in once, memory flat, no call longer than its deadlines.
 *
 *   soak FBILL     (meson passes the built fbill)
 *
 * Environment (all optional):
 *   FBT_SOAK_BILLS       bills to issue (20000; 8000 in sanitizer builds)
 *   FBT_SOAK_THREADS     issuing threads (8); FBT_SOAK_SEALERS bureau threads (2)
 *   FBT_SOAK_TIMEOUT_MS  the ports' call deadline (250 times CK_TIMEOUT_MULTIPLIER,
 *                        which CI sets for its slow sanitizer runs)
 *   FBT_SOAK_FAULT_PCT   chance in percent of each injected C_Sign error (0.3)
 *   FBT_SOAK_STALL_PCT   chance of a C_Sign delayed past the deadline (0.1)
 *   FBT_SOAK_RSS_KB      allowed resident growth after the first quarter, kB (8192;
 *                        32768 in sanitizer builds)
 *   FBT_SEED             the module's PRNG seed (7)
 *   FBT_KEEP_TOKENS=1    keep the fixture directory, with the bills, for a look */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../check/fbt_tokens.h"
#include "soak.h"

#define WATCHDOG_S 120 /* no progress for this long: a hang */
#ifndef SOAK_DEFAULT_BILLS
#define SOAK_DEFAULT_BILLS 20000
#endif

static unsigned long env_num(const char *name, unsigned long dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (*end || n == 0) {
        fprintf(stderr, "soak: bad %s=%s\n", name, v);
        exit(2);
    }
    return n;
}

/* CI stretches timeouts for its slow runs (ThreadSanitizer) with Check's
 * variable; the deadline and the watchdog stretch the same way. */
static unsigned long slow(void)
{
    const char *m = getenv("CK_TIMEOUT_MULTIPLIER");
    long k = m ? atol(m) : 1;
    return k >= 1 ? (unsigned long)k : 1;
}

static const char *env_text(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "soak: FATAL: %s %s\n", what, detail);
    exit(1);
}

/* ---- outcomes ---- */

static atomic_int twice; /* outcomes recorded twice for one number */

static void outcome(atomic_int *field, int value, unsigned n, const char *what)
{
    if (atomic_exchange(field, value) != OUT_NONE) {
        fprintf(stderr, "soak: bill %u: a second %s outcome\n", n, what);
        atomic_fetch_add(&twice, 1);
    }
}

static void note_max(atomic_long *max, double ms)
{
    long v = (long)ms, cur = atomic_load(max);
    while (v > cur && !atomic_compare_exchange_weak(max, &cur, v))
        ;
}

/* The message names the bill first, so that truncation keeps it. */
static void fail_issue(soak *s, unsigned n, int status, const char *where, const char *why)
{
    record *r = &s->rec[n];
    char num[11];
    soak_number(n, num);
    r->issue_status = status;
    snprintf(r->issue_msg, sizeof r->issue_msg, "bill %s/%s at %s: %s: %s", SOAK_CODE, num, where,
             fb_status_str(status), why);
    outcome(&r->issued, OUT_FAILED, n, "issuing");
}

static void fail_seal(soak *s, unsigned n, int status, const char *why)
{
    record *r = &s->rec[n];
    char num[11];
    soak_number(n, num);
    r->seal_status = status;
    snprintf(r->seal_msg, sizeof r->seal_msg, "bill %s/%s at the bureau: %s: %s", SOAK_CODE, num,
             fb_status_str(status), why);
    outcome(&r->sealed, OUT_FAILED, n, "sealing");
}

/* ---- the sealing queue ---- */

static void enqueue(soak *s, unsigned n)
{
    pthread_mutex_lock(&s->q_lock);
    s->queue[s->q_tail++] = n;
    pthread_cond_signal(&s->q_cond);
    pthread_mutex_unlock(&s->q_lock);
}

static bool dequeue(soak *s, unsigned *n)
{
    pthread_mutex_lock(&s->q_lock);
    while (s->q_head == s->q_tail && !s->issuing_over)
        pthread_cond_wait(&s->q_cond, &s->q_lock);
    bool got = s->q_head < s->q_tail;
    if (got)
        *n = s->queue[s->q_head++];
    pthread_mutex_unlock(&s->q_lock);
    return got;
}

/* ---- issuing ---- */

static void issued(soak *s, unsigned n, const fb_buf *doc)
{
    char why[300];
    record *r = &s->rec[n];
    if (soak_write(s->issued_dir, n, doc->ptr, doc->size, why, sizeof why)) {
        fail_issue(s, n, FB_EIO, s->unit[r->port].token, why);
        return;
    }
    r->size = doc->size;
    soak_sha256(doc->ptr, doc->size, r->sha);
    outcome(&r->issued, OUT_WRITTEN, n, "issuing");
    if (soak_sealable(n))
        enqueue(s, n);
}

static void issue_one(soak *s, unsigned n)
{
    int k = (int)(n % SOAK_UNIT_PORTS);
    soak_port *sp = &s->unit[k];
    s->rec[n].port = k;
    if (!sp->port) {
        fail_issue(s, n, sp->open_status, sp->token, sp->open_msg);
        return;
    }
    char why[300];
    fb_bill *bill = soak_bill(s, n, why, sizeof why);
    if (!bill) {
        fail_issue(s, n, FB_ERROR, sp->token, why);
        return;
    }
    fb_buf doc = FB_BUF_INIT;
    fb_problems *problems = NULL;
    double t0 = soak_now_ms();
    int rc = fb_issue(sp->port, bill, NULL, &doc, &problems);
    note_max(&s->max_issue_ms, soak_now_ms() - t0);
    if (rc) {
        fail_issue(s, n, rc, sp->token, fb_problems_count(problems)
                                            ? fb_problems_message(problems, 0) : fb_last_error());
        /* The port is stuck: wait a little rather than spend bill numbers
         * on it while its call is still out. */
        if (rc == FB_ETIMEOUT)
            soak_sleep_ms(100);
    } else {
        issued(s, n, &doc);
    }
    fb_problems_free(problems);
    fb_buf_dispose(&doc);
    fb_bill_free(bill);
}

static void *issuer(void *arg)
{
    soak *s = arg;
    for (;;) {
        unsigned n = atomic_fetch_add(&s->next, 1) + 1;
        if (n > s->bills)
            return NULL;
        issue_one(s, n);
        /* Memory is measured from the end of a warm-up quarter. */
        if (atomic_fetch_add(&s->done, 1) + 1 == s->bills / 4 &&
            !atomic_exchange(&s->warm_taken, 1))
            s->rss_warm_kb = soak_rss_kb();
    }
}

/* ---- sealing ---- */

static void seal_one(soak *s, unsigned n)
{
    char path[800], why[300];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%010u.xml", s->issued_dir, n);
    if (soak_read(path, &data, &len)) {
        snprintf(why, sizeof why, "cannot read %s: %s", path, strerror(errno));
        fail_seal(s, n, FB_EIO, why);
        return;
    }
    fb_seal_options o = FB_SEAL_OPTIONS_INIT;
    o.trust = s->trust;
    o.seal_id = SOAK_SEAL_ID;
    o.seal_name = SOAK_SEAL_NAME;
    o.area_code = SOAK_AREA;
    fb_buf out = FB_BUF_INIT;
    double t0 = soak_now_ms();
    int rc = fb_seal(s->bureau.port, data, len, &o, &out);
    note_max(&s->max_seal_ms, soak_now_ms() - t0);
    record *r = &s->rec[n];
    if (rc) {
        fail_seal(s, n, rc, fb_last_error());
        if (rc == FB_ETIMEOUT)
            soak_sleep_ms(100);
    } else if (soak_write(s->sealed_dir, n, out.ptr, out.size, why, sizeof why)) {
        fail_seal(s, n, FB_EIO, why);
    } else {
        r->sealed_size = out.size;
        soak_sha256(out.ptr, out.size, r->sealed_sha);
        outcome(&r->sealed, OUT_WRITTEN, n, "sealing");
    }
    atomic_fetch_add(&s->sealed_done, 1);
    fb_buf_dispose(&out);
    free(data);
}

static void *sealer(void *arg)
{
    soak *s = arg;
    unsigned n;
    while (dequeue(s, &n))
        seal_one(s, n);
    return NULL;
}

/* ---- the watchdog: a hang fails loudly instead of at meson's timeout ---- */

static atomic_int finished;

static void *watchdog(void *arg)
{
    soak *s = arg;
    unsigned last = 0;
    int still = 0;
    while (!atomic_load(&finished)) {
        soak_sleep_ms(1000);
        unsigned now = atomic_load(&s->done) + atomic_load(&s->sealed_done);
        still = now == last ? still + 1 : 0;
        last = now;
        if (still >= WATCHDOG_S * (long)slow()) {
            fprintf(stderr, "soak: FATAL: no bill issued or sealed for %ld s (%u issued, %u "
                    "sealed): a token call without a deadline?\n", WATCHDOG_S * (long)slow(),
                    atomic_load(&s->done), atomic_load(&s->sealed_done));
            abort();
        }
    }
    return NULL;
}

/* ---- set-up ---- */

static void open_port(soak *s, soak_port *sp, const char *cert)
{
    char uri[1400];
    snprintf(uri, sizeof uri, "pkcs11:token=%s;id=%%01?module-path=%s&pin-value=%s", sp->token,
             getenv("FBT_FAULTY_MODULE"), sp->pin);
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    o.call_timeout_ms = s->timeout_ms;
    o.cert_path = cert ? fbt_token_path(cert) : NULL;
    sp->open_status = fb_port_open(&sp->port, uri, &o);
    snprintf(sp->open_msg, sizeof sp->open_msg, "%s",
             sp->open_status ? fb_last_error() : fb_port_describe(sp->port));
    printf("soak: port %-9s %s: %s\n", sp->token, sp->open_status ? "NOT OPEN" : "open",
           sp->open_msg);
}

static void bureau_hash(soak *s)
{
    size_t len = 0;
    const uint8_t *der = fb_port_certificate(s->bureau.port, &len);
    uint8_t h[32];
    soak_sha256(der, len, h);
    for (int i = 0; i < 32; i++)
        snprintf(s->bureau_hash + 2 * i, 3, "%02x", h[i]);
}

/* The module reads its environment at C_Initialize, the first open. The
 * faults come later, through the control file, once every port is open:
 * a port that failed to open would only fail all of its bills. */
static void shim_environment(soak *s, const fbt_tokens *t)
{
    static const char *const clear[] = { "FBT_FAULT", "FBT_PIN_TRIES", "FBT_PIN_PAD", "FBT_PIN",
                                         "FBT_ALWAYS_AUTH", "FBT_SM2_PROFILE", NULL };
    for (size_t i = 0; clear[i]; i++)
        unsetenv(clear[i]);
    char rules[800];
    snprintf(s->call_log, sizeof s->call_log, "%s/calls.log", s->dir);
    snprintf(rules, sizeof rules, "%s/faults.rules", s->dir);
    setenv("FBT_P11_MODULE", t->module, 1);
    setenv("FBT_CALL_LOG", s->call_log, 1);
    setenv("FBT_FAULT_FILE", rules, 1);
    setenv("FBT_SEED", env_text("FBT_SEED", "7"), 1);
    if (!getenv("FBT_FAULTY_MODULE"))
        die("FBT_FAULTY_MODULE is not set", "(meson sets it)");
}

static void inject_faults(soak *s)
{
    char rules[800], tmp[800], text[1024];
    snprintf(rules, sizeof rules, "%s", getenv("FBT_FAULT_FILE"));
    snprintf(tmp, sizeof tmp, "%s.tmp", rules);
    const char *p = env_text("FBT_SOAK_FAULT_PCT", "0.3");
    const char *stall = env_text("FBT_SOAK_STALL_PCT", "0.1");
    unsigned long late = 3 * s->timeout_ms; /* past the deadline */
    snprintf(text, sizeof text,
             "C_Sign:rand:%s:0x32\nC_Sign:rand:%s:0xB3\nC_Sign:rand:%s:0x30\n"
             "delay:C_Sign:rand:%s:%lu\ndelay:C_Sign:rand:5:2\n"
             "delay:C_OpenSession:rand:3:%lu\n",
             p, p, p, stall, late, late);
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) || rename(tmp, rules))
        die("cannot write the fault rules", rules);
    printf("soak: faults:\n%s", text);
}

/* Make every page of fresh zeroed memory resident now, so that recording
 * outcomes in it later does not read as memory growth. (A plain memset
 * after calloc may be optimised away.) */
static void touch(void *p, size_t len)
{
    volatile unsigned char *v = p;
    for (size_t i = 0; i < len; i += 1024)
        v[i] = 0;
}

static void configure(soak *s, const char *fbill)
{
    const fbt_tokens *t = fbt_tokens_get();
    s->fbill = fbill;
    s->bills = (unsigned)env_num("FBT_SOAK_BILLS", SOAK_DEFAULT_BILLS);
    s->threads = (unsigned)env_num("FBT_SOAK_THREADS", 8);
    s->sealers = (unsigned)env_num("FBT_SOAK_SEALERS", 2);
    s->timeout_ms = env_num("FBT_SOAK_TIMEOUT_MS", 250 * slow());
    snprintf(s->dir, sizeof s->dir, "%s/soak", t->dir);
    snprintf(s->issued_dir, sizeof s->issued_dir, "%s/issued", s->dir);
    snprintf(s->sealed_dir, sizeof s->sealed_dir, "%s/sealed", s->dir);
    if (mkdir(s->dir, 0700) || mkdir(s->issued_dir, 0700) || mkdir(s->sealed_dir, 0700))
        die("cannot make the output directories under", t->dir);
    s->ca = fbt_token_path("ca/root-ec.pem");
    static const char *const tokens[SOAK_UNIT_PORTS] = { "port-1", "port-2", "port-rsa",
                                                         "nocert" };
    for (int i = 0; i < SOAK_UNIT_PORTS; i++) {
        s->unit[i].token = tokens[i];
        s->unit[i].pin = i == 3 ? "4321" : t->pin; /* nocert: wrong from the start */
    }
    s->bureau.token = "bureau";
    s->bureau.pin = t->pin;
    s->rec = calloc(s->bills + 1, sizeof *s->rec);
    s->queue = calloc(s->bills + 1, sizeof *s->queue);
    if (!s->rec || !s->queue)
        die("out of memory", "");
    touch(s->rec, (s->bills + 1) * sizeof *s->rec);
    touch(s->queue, (s->bills + 1) * sizeof *s->queue);
    pthread_mutex_init(&s->q_lock, NULL);
    pthread_cond_init(&s->q_cond, NULL);
}

static void open_ports(soak *s)
{
    open_port(s, &s->bureau, NULL);
    if (!s->bureau.port)
        die("the bureau's port did not open:", s->bureau.open_msg);
    bureau_hash(s);
    for (int i = 0; i < SOAK_UNIT_PORTS; i++)
        open_port(s, &s->unit[i], i == 3 ? "certs/nocert.pem" : NULL);
    if (fb_trust_new(&s->trust) || fb_trust_add_anchors(s->trust, s->ca))
        die("trust anchors:", fb_last_error());
}

/* Closing a port whose call is stuck returns after a deadline and leaves
 * the rest to its worker; the module is finalised when the last call has
 * returned. Wait for that, so the process never exits under a call. */
static void close_ports(soak *s)
{
    fb_port_close(s->bureau.port);
    for (int i = 0; i < SOAK_UNIT_PORTS; i++)
        fb_port_close(s->unit[i].port);
    fb_trust_free(s->trust);
    for (int waited = 0; waited < 200; waited++) {
        uint8_t *log = NULL;
        size_t len = 0;
        bool fin = soak_read(s->call_log, &log, &len) == 0 && len &&
                   strstr((const char *)log, "\nC_Finalize") != NULL;
        free(log);
        if (fin)
            return;
        soak_sleep_ms(50);
    }
    fprintf(stderr, "soak: the module was not finalised 10 s after the ports closed\n");
}

static void run(soak *s)
{
    pthread_t dog, *issuers = calloc(s->threads, sizeof *issuers),
                   *sealers = calloc(s->sealers, sizeof *sealers);
    if (!issuers || !sealers || pthread_create(&dog, NULL, watchdog, s))
        die("cannot start threads", "");
    for (unsigned i = 0; i < s->sealers; i++)
        if (pthread_create(&sealers[i], NULL, sealer, s))
            die("cannot start a sealing thread", "");
    for (unsigned i = 0; i < s->threads; i++)
        if (pthread_create(&issuers[i], NULL, issuer, s))
            die("cannot start an issuing thread", "");
    for (unsigned i = 0; i < s->threads; i++)
        pthread_join(issuers[i], NULL);
    pthread_mutex_lock(&s->q_lock);
    s->issuing_over = true;
    pthread_cond_broadcast(&s->q_cond);
    pthread_mutex_unlock(&s->q_lock);
    for (unsigned i = 0; i < s->sealers; i++)
        pthread_join(sealers[i], NULL);
    s->rss_end_kb = soak_rss_kb();
    atomic_store(&finished, 1);
    pthread_join(dog, NULL);
    free(issuers);
    free(sealers);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: soak FBILL\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    double t0 = soak_now_ms();
    static soak s;
    const fbt_tokens *t = fbt_tokens_get();
    configure(&s, argv[1]);
    shim_environment(&s, t);
    open_ports(&s);
    inject_faults(&s);
    printf("soak: %u bills, %u issuing threads, %u sealing threads, deadline %lu ms, in %s\n",
           s.bills, s.threads, s.sealers, s.timeout_ms, s.dir);
    double t1 = soak_now_ms();
    run(&s);
    double t2 = soak_now_ms();
    close_ports(&s);
    printf("soak: issuing and sealing took %.1f s (set-up %.1f s)\n", (t2 - t1) / 1e3,
           (t1 - t0) / 1e3);
    int bad = atomic_load(&twice) + soak_check(&s);
    const char *keep = getenv("FBT_KEEP_TOKENS");
    if (!keep || !*keep || !strcmp(keep, "0")) {
        const char *dirs[] = { s.issued_dir, s.sealed_dir };
        soak_remove_dirs(dirs, 2);
    }
    printf("soak: %s after %.1f s in all\n", bad ? "FAILED" : "passed", (soak_now_ms() - t0) / 1e3);
    free(s.rec);
    free(s.queue);
    return bad ? 1 : 0;
}
