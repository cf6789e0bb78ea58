/* fbill bench: running tasks for a time and counting what they did. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "bench.h"

#define MAX_ROUNDS 16

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One thread's share of a round. The clock is read once per batch, so
 * that reading it costs nothing next to even the quickest operation. */
typedef struct lane {
    bench_op op;
    void *arg;
    long batch;
    double deadline;
    long ops;
    int rc;
    char why[300]; /* fiscalbill's message, kept per thread */
} lane;

static void *run_lane(void *p)
{
    lane *l = p;
    while (!l->rc && bench_now() < l->deadline)
        for (long i = 0; i < l->batch && !l->rc; i++) {
            l->rc = l->op(l->arg);
            l->ops += !l->rc;
        }
    if (l->rc)
        snprintf(l->why, sizeof l->why, "%s", *fb_last_error() ? fb_last_error() : "see above");
    return NULL;
}

/* Run a task for about `seconds`; *rate is the operations per second
 * over the time actually taken. */
static int run_for(const bench_task *t, long batch, double seconds, long *ops, double *rate)
{
    lane lanes[BENCH_THREADS];
    pthread_t ids[BENCH_THREADS];
    int n = t->threads < 1 ? 1 : t->threads > BENCH_THREADS ? BENCH_THREADS : t->threads;
    int started = 0;
    double start = bench_now();
    for (int i = 0; i < n; i++)
        lanes[i] = (lane){ t->op, t->arg[i], batch, start + seconds, 0, 0, "" };
    if (n == 1) {
        run_lane(&lanes[0]);
    } else {
        for (; started < n; started++)
            if (pthread_create(&ids[started], NULL, run_lane, &lanes[started]))
                break;
        for (int i = 0; i < started; i++)
            pthread_join(ids[i], NULL);
    }
    double took = bench_now() - start;
    *ops = 0;
    int rc = n > 1 && started < n ? -1 : 0;
    if (rc)
        cli_error("bench: %s: cannot start %d threads", t->name, n);
    for (int i = 0; i < n; i++) {
        *ops += lanes[i].ops;
        if (lanes[i].rc)
            cli_error("bench: %s failed: %s", t->name, lanes[i].why);
        rc = rc ? rc : lanes[i].rc;
    }
    *rate = took > 0 ? (double)*ops / took : 0;
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The warm-up fills caches (the path cache, libraries' lazy set-up) and
 * tells how many operations make a batch of about a millisecond. */
static int warm_up(const bench_task *t, double seconds, long *batch)
{
    long ops;
    double rate;
    int rc = run_for(t, 1, seconds, &ops, &rate);
    int n = t->threads > 1 ? t->threads : 1;
    *batch = (long)(rate / n / 1000);
    if (*batch < 1)
        *batch = 1;
    return rc;
}

int bench_group(const bench_cfg *cfg, bench_task *tasks, size_t n)
{
    int rounds = cfg->rounds < 1 ? 1 : cfg->rounds > MAX_ROUNDS ? MAX_ROUNDS : cfg->rounds;
    double slice = cfg->seconds / rounds, warm = cfg->seconds / 10;
    long *batch = calloc(n, sizeof *batch);
    double (*rates)[MAX_ROUNDS] = calloc(n, sizeof *rates);
    int rc = batch && rates ? 0 : -1;
    for (size_t i = 0; !rc && i < n; i++)
        rc = warm_up(&tasks[i], warm < 0.05 ? 0.05 : warm, &batch[i]);
    for (size_t i = 0; i < n; i++)
        tasks[i].ops = 0;
    for (int r = 0; !rc && r < rounds; r++)
        for (size_t i = 0; !rc && i < n; i++) {
            long ops;
            rc = run_for(&tasks[i], batch[i], slice, &ops, &rates[i][r]);
            tasks[i].ops += ops;
        }
    for (size_t i = 0; !rc && i < n; i++)
        tasks[i].rate = median(rates[i], rounds);
    free(batch);
    free(rates);
    return rc;
}
