/* fbill bench: what is measured in child processes: the real fbill verify
 * with -j 1 and -j 2, and the peak memory of verifying and of issuing.
 *
 * Peak memory comes from wait4()'s ru_maxrss, through a helper: Linux
 * carries the high-water mark of the memory a process leaves at exec into
 * its maxrss, so a child started straight from this (large) process would
 * report this process's size. The helper is this program started afresh
 * (small); it starts the measured program and reports its figures. */
#define _DEFAULT_SOURCE /* wait4, beside the project's _XOPEN_SOURCE */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"
#include "bench.h"

extern char **environ;

typedef struct child_result {
    long maxrss_kib;
    double wall;
    int status; /* exit status, or 128 + the signal */
} child_result;

/* fbill bench --internal-rss DIR PROGRAM ARGS...: run PROGRAM in DIR with
 * its output discarded; print "maxrss_kib wall_seconds status". */
int bench_child_rss(int argc, char **argv)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status, err;
    struct rusage ru;
    if (argc < 3 || chdir(argv[1]) != 0)
        return EXIT_USAGE;
    double start = bench_now();
    if ((err = posix_spawn_file_actions_init(&fa)))
        return EXIT_USAGE;
    if (!(err = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0)))
        err = posix_spawn(&pid, argv[2], &fa, NULL, argv + 2, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (err) {
        cli_error("bench: cannot run %s: %s", argv[2], strerror(err));
        return EXIT_USAGE;
    }
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR)
            return EXIT_USAGE;
    double wall = bench_now() - start;
    printf("%ld %.6f %d\n", ru.ru_maxrss, wall,
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return EXIT_OK;
}

static int spawn_helper(const bench_ctx *c, char **argv, int out_fd, pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int err = posix_spawn_file_actions_init(&fa);
    if (err)
        return err;
    if (!(err = posix_spawn_file_actions_adddup2(&fa, out_fd, 1)))
        err = posix_spawn(pid, c->self, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return err;
}

/* All the helper writes, up to its end. */
static void read_all(int fd, char *out, size_t size)
{
    size_t have = 0;
    ssize_t n;
    while (have + 1 < size && ((n = read(fd, out + have, size - 1 - have)) > 0 ||
                               (n < 0 && errno == EINTR)))
        have += n > 0 ? (size_t)n : 0;
    out[have] = '\0';
}

/* Run argv (PROGRAM ARGS...) in dir through the helper; its figures. */
static int run_measured(const bench_ctx *c, const char *dir, char **argv, size_t argc,
                        child_result *out)
{
    char **full = calloc(argc + 5, sizeof *full), line[200] = "";
    int fds[2] = { -1, -1 }, status = 0, err = full && pipe(fds) == 0 ? 0 : errno;
    pid_t pid = 0;
    if (!err) {
        /* Only the helper's stdout may hold the pipe, or it never ends. */
        fcntl(fds[0], F_SETFD, FD_CLOEXEC);
        fcntl(fds[1], F_SETFD, FD_CLOEXEC);
        full[0] = (char *)c->self, full[1] = "bench", full[2] = "--internal-rss";
        full[3] = (char *)dir;
        memcpy(full + 4, argv, argc * sizeof *argv);
        err = spawn_helper(c, full, fds[1], &pid);
    }
    if (fds[1] >= 0)
        close(fds[1]);
    if (!err)
        read_all(fds[0], line, sizeof line);
    if (fds[0] >= 0)
        close(fds[0]);
    while (!err && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    free(full);
    if (err || sscanf(line, "%ld %lf %d", &out->maxrss_kib, &out->wall, &out->status) != 3) {
        cli_error("bench: cannot measure %s %s: %s", argv[0], argv[1],
                  err ? strerror(err) : "the helper gave no figures");
        return -1;
    }
    if (out->status)
        cli_error("bench: %s %s ended with status %d", argv[0], argv[1], out->status);
    return out->status ? -1 : 0;
}

static int write_doc(const char *path, const fb_buf *doc)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0 && write(fd, doc->ptr, doc->size) == (ssize_t)doc->size;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok)
        cli_error("bench: cannot write %s: %s", path, strerror(errno));
    return ok ? 0 : -1;
}

/* fbill bench --internal-issue N URI SEALHASH: issue N bills at the port
 * into the current folder, one file each, as a counter would all day. */
int bench_child_issue(int argc, char **argv)
{
    if (argc != 4)
        return EXIT_USAGE;
    unsigned long n = strtoul(argv[1], NULL, 10);
    fb_kinds *kinds = NULL;
    fb_port *port = NULL;
    fb_bill *bill = NULL;
    fb_buf out = FB_BUF_INIT;
    char name[32], number[16];
    int rc = fb_kinds_new(&kinds) ||
             fb_kinds_load_text(kinds, sample_kinds_conf, strlen(sample_kinds_conf)) ||
             fb_port_open(&port, argv[2], NULL) || bench_bill(kinds, argv[3], 1, &bill);
    for (unsigned long i = 0; !rc && i < n; i++) {
        snprintf(number, sizeof number, "%010lu", i + 1);
        snprintf(name, sizeof name, "%lu", i);
        out.size = 0;
        /* A new number each time; the ID is derived from it when issuing. */
        rc = fb_bill_set(bill, FB_EINVOICE_ID, NULL) ||
             fb_bill_set(bill, FB_EINVOICE_NUMBER, number) ||
             fb_issue(port, bill, NULL, &out, NULL) || write_doc(name, &out);
    }
    if (rc)
        cli_error("bench: issuing: %s", fb_last_error());
    fb_buf_dispose(&out);
    fb_bill_free(bill);
    fb_port_close(port);
    fb_kinds_free(kinds);
    return rc ? EXIT_BAD_BILL : EXIT_OK;
}

/* Sealed P-256 bills named 0, 1, ... in dir: `distinct` made here, the
 * rest up to `total` hard links to them (verifying reads each file anew,
 * so a link costs what a copy would). */
static int make_bills(const bench_ctx *c, const char *dir, unsigned long distinct,
                      unsigned long total)
{
    const bench_chain *ch = &c->chain[ALG_P256];
    char path[BENCH_PATH], target[BENCH_PATH];
    fb_buf issued = FB_BUF_INIT, sealed = FB_BUF_INIT;
    int rc = mkdir(dir, 0700) ? -1 : 0;
    for (unsigned long i = 0; !rc && i < total; i++) {
        snprintf(path, sizeof path, "%s/%lu", dir, i);
        fb_bill *b = NULL;
        issued.size = sealed.size = 0;
        if (i >= distinct) {
            snprintf(target, sizeof target, "%s/%lu", dir, i % distinct);
            rc = link(target, path);
        } else {
            rc = bench_bill(c->kinds, ch->seal_hash, 1000000 + i, &b) ||
                 bench_issue_seal(ch, i % 2 ? c->window2 : ch->unit, b, &issued, &sealed) ||
                 write_doc(path, &sealed);
        }
        fb_bill_free(b);
    }
    if (rc)
        cli_error("bench: cannot make the bills in %s", dir);
    fb_buf_dispose(&issued);
    fb_buf_dispose(&sealed);
    return rc;
}

/* dir/list-N: the names 0 ... n-1, one per line, for --files-from. Names
 * on the command line would cost fbill verify memory that grows with the
 * batch (argv on its stack), which is not what is measured. */
static int write_list(const char *dir, unsigned long n, char *path, size_t size)
{
    snprintf(path, size, "%s/list-%lu", dir, n);
    FILE *f = fopen(path, "w");
    for (unsigned long i = 0; f && i < n; i++)
        fprintf(f, "%lu\n", i);
    return f && !ferror(f) && fclose(f) == 0 ? 0 : -1;
}

/* fbill verify --trust ROOT -j J --files-from dir/list-N */
static int run_verify(const bench_ctx *c, const char *dir, const char *jobs, unsigned long n,
                      child_result *r)
{
    char list[BENCH_PATH];
    char *argv[] = { (char *)c->self, "verify", "--trust", (char *)c->world.demo.trust_pem,
                     "-j", (char *)jobs, "--files-from", list };
    snprintf(list, sizeof list, "list-%lu", n);
    return run_measured(c, dir, argv, sizeof argv / sizeof *argv, r);
}

static double mib(long kib)
{
    return (double)kib / 1024;
}

/* Peak memory of a small and a large batch: each against the goal, and
 * the growth from one to the other. */
static void memory_rows(bench_ctx *c, const char *what, const char *id, unsigned long small,
                        unsigned long large, long small_kib, long large_kib)
{
    char rid[48], label[96];
    bench_row *row;
    snprintf(rid, sizeof rid, "rss_%s_small", id);
    snprintf(label, sizeof label, "%s, %lu bills", what, small);
    bench_set_goal(bench_add(c->results, "memory", rid, label, mib(small_kib), "MiB"),
                   GOAL_VALUE_MAX, 32);
    snprintf(rid, sizeof rid, "rss_%s_large", id);
    snprintf(label, sizeof label, "%s, %lu bills", what, large);
    row = bench_add(c->results, "memory", rid, label, mib(large_kib), "MiB");
    bench_set_goal(row, GOAL_VALUE_MAX, 32);
    snprintf(rid, sizeof rid, "rss_%s_growth", id);
    snprintf(label, sizeof label, "%s, %lu vs %lu bills", what, large, small);
    row = bench_add(c->results, "memory", rid, label, mib(large_kib), "MiB");
    bench_set_base(row, mib(small_kib), "MiB", "smaller batch");
    bench_set_goal(row, GOAL_RATIO_MAX, 1.10);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

int bench_remove_tree(const char *dir)
{
    return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* -j 1, then -j 2, on the same files; the faster run of each so far is
 * kept, and the largest memory of -j 1. */
static int jobs_round(const bench_ctx *c, const char *dir, unsigned long n, double best[2],
                      long *kib)
{
    child_result one, two;
    if (run_verify(c, dir, "1", n, &one) || run_verify(c, dir, "2", n, &two))
        return -1;
    best[0] = !best[0] || one.wall < best[0] ? one.wall : best[0];
    best[1] = !best[1] || two.wall < best[1] ? two.wall : best[1];
    *kib = one.maxrss_kib > *kib ? one.maxrss_kib : *kib;
    return 0;
}

/* fbill verify -j 1 and -j 2 on the smaller batch, taking turns, then
 * -j 1 on the larger batch for its memory. */
static int verify_runs(bench_ctx *c, const char *dir, unsigned long small, unsigned long large)
{
    child_result big;
    double best[2] = { 0, 0 };
    long small_kib = 0;
    char label[96];
    int rc = 0;
    for (int round = 0; !rc && round < (c->quick ? 1 : 2); round++) {
        bench_say("fbill verify -j 1 and -j 2, %lu bills", small);
        rc = jobs_round(c, dir, small, best, &small_kib);
    }
    bench_say("fbill verify -j 1, %lu bills", large);
    if (rc || run_verify(c, dir, "1", large, &big))
        return -1;
    snprintf(label, sizeof label, "fbill verify -j 2, %lu bills (wall clock)", small);
    bench_row *row = bench_add(c->results, "scaling", "verify_j2", label, (double)small / best[1],
                               "bills/s");
    bench_set_base(row, (double)small / best[0], "bills/s", "-j 1");
    bench_set_goal(row, GOAL_RATIO_MIN, 1.8);
    memory_rows(c, "fbill verify -j 1", "verify", small, large, small_kib, big.maxrss_kib);
    return 0;
}

static int issue_run(bench_ctx *c, unsigned long n, long *kib)
{
    char dir[BENCH_PATH], count[32];
    child_result r = { 0, 0, 0 };
    snprintf(dir, sizeof dir, "%s/issued-%lu", c->results->dir, n);
    snprintf(count, sizeof count, "%lu", n);
    char *argv[] = { c->self, "bench", "--internal-issue", count, c->world.demo.port_uri[1],
                     c->world.demo.bureau_seal_hash, NULL };
    bench_say("issuing %lu bills in a child process", n);
    int rc = mkdir(dir, 0700) ? -1 : run_measured(c, dir, argv, 6, &r);
    /* The bills are not needed after: the folder is emptied at once. */
    bench_remove_tree(dir);
    *kib = r.maxrss_kib;
    return rc;
}

static int verify_part(bench_ctx *c)
{
    unsigned long small = c->quick ? 2000 : 10000, large = c->quick ? 10000 : 100000;
    char dir[BENCH_PATH], list[BENCH_PATH];
    snprintf(dir, sizeof dir, "%s/verify", c->results->dir);
    bench_say("making %lu sealed bills", small);
    int rc = make_bills(c, dir, small, large) || write_list(dir, small, list, sizeof list) ||
             write_list(dir, large, list, sizeof list) || verify_runs(c, dir, small, large);
    return rc ? -1 : 0;
}

static int issue_part(bench_ctx *c)
{
    unsigned long large = c->quick ? 10000 : 100000;
    long small_kib = 0, large_kib = 0;
    int rc = issue_run(c, large / 10, &small_kib) || issue_run(c, large, &large_kib);
    if (!rc)
        memory_rows(c, "fb_issue on one port", "issue", large / 10, large, small_kib,
                    large_kib);
    return rc ? -1 : 0;
}

int bench_processes(bench_ctx *c)
{
    return (bench_wanted(c, "proc_verify") && verify_part(c)) ||
                   (bench_wanted(c, "proc_issue") && issue_part(c))
               ? -1 : 0;
}
