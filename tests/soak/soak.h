/* The fault soak (issue 7): many bills issued at four ports and sealed by
 * the bureau, all through the fault-injecting test module, then judged by
 * `fbill verify`. soak.c runs it, soak_io.c builds bills and writes files,
 * soak_check.c judges the result. */
#ifndef SOAK_H
#define SOAK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fiscalbill/fiscalbill.h"

#define SOAK_CODE "65060126"   /* the bills' EInvoiceCode */
#define SOAK_AREA "652300"
#define SOAK_SEAL_ID "652300"
#define SOAK_SEAL_NAME "昌吉回族自治州财政局票据监制章"
#define SOAK_MSG 200           /* room for one recorded error */
#define SOAK_UNIT_PORTS 4

/* What happened to one bill number: exactly one of WRITTEN or FAILED, for
 * issuing and (for written bills) for sealing. */
enum { OUT_NONE, OUT_WRITTEN, OUT_FAILED };

typedef struct record {
    atomic_int issued; /* OUT_*; set once, by atomic exchange from OUT_NONE */
    atomic_int sealed;
    int port;          /* the unit port the bill went to */
    int issue_status, seal_status;
    size_t size, sealed_size;
    uint8_t sha[32], sealed_sha[32];
    char issue_msg[SOAK_MSG];
    char seal_msg[SOAK_MSG];
} record;

typedef struct soak_port {
    const char *token;  /* the fixture token's name ("port-1") */
    const char *pin;    /* the PIN its URI gives */
    fb_port *port;      /* NULL when it did not open */
    int open_status;
    char open_msg[512];
} soak_port;

typedef struct soak {
    /* configuration */
    unsigned bills, threads, sealers;
    unsigned long timeout_ms;
    const char *fbill;
    char dir[600], issued_dir[700], sealed_dir[700], call_log[700];
    const char *ca;     /* the trust anchor file */
    char bureau_hash[65];
    /* ports */
    soak_port unit[SOAK_UNIT_PORTS];
    soak_port bureau;
    fb_trust *trust;
    /* the run */
    record *rec;        /* [1..bills] */
    atomic_uint next;   /* the last bill number handed out */
    atomic_uint done;   /* bills with an issuing outcome */
    atomic_uint sealed_done;
    atomic_long max_issue_ms, max_seal_ms;
    atomic_int warm_taken;
    long rss_warm_kb, rss_end_kb;
    /* the sealing queue: bill numbers, written by issuers */
    unsigned *queue;
    size_t q_head, q_tail;
    bool issuing_over;
    pthread_mutex_t q_lock;
    pthread_cond_t q_cond;
} soak;

/* Half of the bills name the bureau's seal and go on to be sealed; the
 * others are final once issued. Independent of the port (n % 4). */
static inline bool soak_sealable(unsigned n)
{
    return (n / SOAK_UNIT_PORTS) % 2 == 0;
}

/* soak_io.c */
fb_bill *soak_bill(const soak *s, unsigned number, char *err, size_t err_size);
void soak_number(unsigned number, char out[11]);
/* Write data to dir/NUMBER.xml whole or not at all: a temporary file,
 * fsync, then link() to the final name, which fails if a bill of that
 * number was written before. 0, or -1 with the reason in why. */
int soak_write(const char *dir, unsigned number, const void *data, size_t len, char *why,
               size_t why_size);
/* A whole file, followed by a NUL that *len does not count. 0 or -1. */
int soak_read(const char *path, uint8_t **data, size_t *len);
void soak_sha256(const void *data, size_t len, uint8_t out[32]);
/* Remove the files in these directories, in parallel, and the directories. */
void soak_remove_dirs(const char *const *dirs, size_t n_dirs);
long soak_rss_kb(void);
double soak_now_ms(void);
void soak_sleep_ms(long ms);

/* soak_check.c: 0 when everything holds; every failure is printed. */
int soak_check(soak *s);

#endif
