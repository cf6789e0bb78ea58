/* fbill bench: the pieces shared by its files. Every figure is measured
 * against a baseline in the same run, so that a slower or faster machine
 * moves both and the ratio stays meaningful. */
#ifndef FBILL_BENCH_H
#define FBILL_BENCH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <fiscalbill/fiscalbill.h>
#include "demo_setup.h"

#define BENCH_PATH 1400    /* room for the folder (< 1024) and a name below it */
#define BENCH_THREADS 4    /* most threads one task runs on */
#define BENCH_DOCS 16      /* distinct documents each loop cycles through */

/* ---- timing (bench_time.c) ---- */

double bench_now(void); /* CLOCK_MONOTONIC, seconds */

/* One operation: 0 when it worked, else it failed (message in
 * fb_last_error() or already printed). */
typedef int (*bench_op)(void *arg);

/* Something measured: an operation run on `threads` threads (0 or 1: the
 * calling thread), thread i passing arg[i]. */
typedef struct bench_task {
    const char *name;
    bench_op op;
    void *arg[BENCH_THREADS];
    int threads;
    double rate; /* out: operations per second, the median of the rounds */
    long ops;    /* out: operations counted in the rounds */
} bench_task;

typedef struct bench_cfg {
    double seconds; /* the least time each task runs, warm-up not counted */
    int rounds;     /* the tasks of a group take turns this many times */
} bench_cfg;

/* Warm each task up, then run the tasks in turn, round after round, each
 * for cfg->seconds / cfg->rounds a round: drifts of the machine (a noisy
 * neighbour, frequency changes) then fall on all of them alike. */
int bench_group(const bench_cfg *cfg, bench_task *tasks, size_t n);

/* ---- results (bench_report.c) ---- */

typedef enum bench_goal {
    GOAL_NONE,
    GOAL_RATIO_MIN, /* ratio >= goal */
    GOAL_RATIO_MAX, /* ratio <= goal */
    GOAL_VALUE_MAX  /* value <= goal */
} bench_goal;

typedef struct bench_row {
    char id[48];     /* JSON key: "issue_p256" */
    char label[96];  /* for people: "issue, P-256 token" */
    char section[24];
    double value;
    const char *unit;
    double base;          /* the baseline; < 0 when there is none */
    const char *base_unit;
    char base_label[64];  /* what the baseline is */
    double ratio;         /* < 0 when there is none */
    bench_goal goal;
    double goal_value;
} bench_row;

#define BENCH_MAX_ROWS 48

typedef struct bench_results {
    bench_row rows[BENCH_MAX_ROWS];
    size_t n;
    char cpu[128];
    long cores;
    char kernel[128];
    char openssl[128];
    char softhsm[160];
    char bills[256];   /* what the bills measured are */
    char dir[1024];
    bool quick, kept;
    double seconds;
    int rounds;
    double total_seconds;
    double other_cores, steal_cores; /* what else ran during the run, in cores */
    double busy0, steal0, own0;      /* CPU seconds at the start */
} bench_results;

/* Add a row; returns it for the caller to fill what add does not. */
bench_row *bench_add(bench_results *r, const char *section, const char *id, const char *label,
                     double value, const char *unit);
void bench_set_base(bench_row *row, double base, const char *unit, const char *label);
void bench_set_goal(bench_row *row, bench_goal goal, double value);
bool bench_row_met(const bench_row *row);

void bench_machine(bench_results *r);
/* What else used the machine between start and end (other processes, the
 * hypervisor): figures taken under load are not the machine's. */
void bench_load_start(bench_results *r);
void bench_load_end(bench_results *r, double wall);
void bench_print_table(const bench_results *r, FILE *out);
void bench_print_json(const bench_results *r, FILE *out);

/* ---- the world (bench_setup.c) ---- */

enum { SOFT_RSA_BUREAU, SOFT_SM2_UNIT, SOFT_SM2_BUREAU, SOFT_P256, SOFT_COUNT };

typedef struct bench_world {
    demo_env demo;           /* window-1, window-2, finance-bureau: P-256 tokens; the CA */
    char bench_dir[BENCH_PATH];            /* DIR/world/bench: what bench adds */
    char rsa_uri[1600];                    /* an RSA-2048 token, "rsa-unit" */
    char sm2_root[BENCH_PATH];             /* an SM2 root CA, PEM */
    char soft_key[SOFT_COUNT][BENCH_PATH]; /* file: ports, key and certificate */
    char soft_cert[SOFT_COUNT][BENCH_PATH];
} bench_world;

/* The demo's world in dir (existing, empty), and besides it an RSA token
 * certified by the demo CA, an SM2 CA with SM2 keys for a unit and a
 * bureau, an RSA bureau key and a P-256 key in files. */
int bench_world_setup(bench_world *w, const char *dir);

/* The PIN file of a token made by the demo or by bench. */
void bench_pin_path(const bench_world *w, const char *label, char *out, size_t size);

/* ---- what is measured (bench_chain.c) ---- */

enum { ALG_P256, ALG_RSA, ALG_SM2, ALG_COUNT };

/* One algorithm's issuing unit and finance bureau, with a bill naming that
 * bureau's seal and documents issued and sealed in advance. */
typedef struct bench_chain {
    const char *id;   /* "p256", "rsa2048", "sm2" */
    const char *name; /* "P-256", "RSA-2048", "SM2" */
    const char *unit_kind; /* "token", "key file" */
    fb_port *unit, *bureau;
    fb_bill *bill;
    fb_seal_options seal;
    char seal_hash[65]; /* the bureau's */
    fb_buf issued[BENCH_DOCS], sealed[BENCH_DOCS];
} bench_chain;

typedef struct bench_ctx {
    bench_world world;
    bench_cfg cfg;
    bool quick;
    char self[PATH_MAX]; /* this program, for the child processes */
    fb_kinds *kinds;
    fb_trust *trust;     /* both roots */
    fb_verify_options verify;
    bench_chain chain[ALG_COUNT];
    fb_port *window2;    /* the second P-256 token, for the parallel ports */
    fb_port *soft_p256;  /* a P-256 key file, for the cost split */
    bench_results *results;
    const char *only;    /* --only: comma-separated prefixes of what to run */
} bench_ctx;

/* Whether the measurement named id (a row id: "verify_p256") is to run. */
bool bench_wanted(const bench_ctx *c, const char *id);

/* Open the ports and trust, and issue and seal BENCH_DOCS bills on each
 * chain. */
int bench_open(bench_ctx *c);
void bench_close(bench_ctx *c);

/* A valid bill naming the bureau's seal (by its SealHash), dated today
 * (UTC+8) so that signatures made now come after its issue time; number is
 * its EInvoiceNumber. */
int bench_bill(const fb_kinds *kinds, const char *seal_hash, unsigned long number, fb_bill **out);

/* SealHash of a port's certificate: SM3 of its DER for SM2, else SHA-256. */
int bench_seal_hash(fb_port *port, char out[65]);

/* Issue one bill at unit and seal it at the chain's bureau. */
int bench_issue_seal(const bench_chain *ch, fb_port *unit, const fb_bill *bill,
                     fb_buf *issued, fb_buf *sealed);

/* ---- baselines (bench_p11.c, bench_crypto.c) ---- */

/* A token's key reached directly through PKCS#11, beside fiscalbill. */
typedef struct bench_p11 bench_p11;

/* Load the SoftHSM module (already initialised by the ports), open a
 * session on the token labelled label, log in with the PIN in pin_path,
 * find the private key with CKA_ID 01. pub is the certificate's key, for
 * the verifications; verifies says how many follow each signature. */
int bench_p11_open(bench_p11 **out, const char *label, const char *pin_path,
                   const uint8_t *cert_der, size_t cert_len, int verifies);
void bench_p11_close(bench_p11 *k);
int bench_p11_op(void *k); /* C_SignInit + C_Sign on a digest, then the verifications */
const char *bench_p11_version(void); /* "SoftHSM 2.6 (...)"; "" before any open */

typedef struct bench_evp bench_evp;

typedef enum bench_evp_mode {
    EVP_SIGN_VERIFY, /* EVP_DigestSign + EVP_DigestVerify (SM2 with the GM/T 0009 ID) */
    EVP_VERIFY,      /* EVP_DigestVerify of a signature made once */
    EVP_RAW_SIGN_VERIFY /* EVP_PKEY_sign + EVP_PKEY_verify of a SHA-256 digest */
} bench_evp_mode;

/* key_path NULL: a fresh key of the algorithm. */
int bench_evp_new(bench_evp **out, int alg, const char *key_path, bench_evp_mode mode);
void bench_evp_free(bench_evp *e);
int bench_evp_op(void *e);

/* ---- the measurements (bench_measure.c, bench_proc.c) ---- */

int bench_signing(bench_ctx *c);      /* 1, 2 and the parallel ports of 4 */
int bench_verification(bench_ctx *c); /* 3 */
int bench_costs(bench_ctx *c);        /* 6 */
int bench_processes(bench_ctx *c);    /* fbill verify -j, and memory (4, 5) */

/* Remove a folder and everything in it. */
int bench_remove_tree(const char *dir);

/* Hidden modes of fbill bench, run in child processes. */
int bench_child_rss(int argc, char **argv);
int bench_child_issue(int argc, char **argv);

/* Progress for people, on stderr. */
void bench_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
