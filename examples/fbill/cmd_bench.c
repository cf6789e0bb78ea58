/* fbill bench: how fast fiscalbill is, each figure against a baseline
 * measured in the same run. It makes its own world (a test CA and
 * SoftHSMv2 tokens, as fbill demo does) in a fresh folder, which it
 * removes at the end unless --keep, or a failure leaves it to be looked
 * at. A program for people, not a test: nothing here decides whether the
 * library is fast enough. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "bench.h"

#define USAGE                                                                                  \
    "usage: fbill bench [--quick] [--json] [--keep] [--only NAME,...]\n"                        \
    "  --only runs the measurements whose names start so: issue_p256 issue_rsa2048 issue_sm2\n" \
    "  seal_p256 parallel_ports verify_p256 verify_rsa2048 verify_sm2 cost_document\n"          \
    "  cost_signing proc_verify proc_issue"

typedef struct options {
    bool quick, json, keep;
    const char *only; /* NULL: everything */
} options;

void bench_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fbill bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int parse(int argc, char **argv, options *o)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            o->quick = true;
        else if (!strcmp(argv[i], "--json"))
            o->json = true;
        else if (!strcmp(argv[i], "--keep"))
            o->keep = true;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            o->only = argv[++i];
        else
            return -1;
    }
    return 0;
}

/* --only takes prefixes of measurement names ("verify", "issue_sm2",
 * "proc"), to profile one part on its own. */
bool bench_wanted(const bench_ctx *c, const char *id)
{
    if (!c->only)
        return true;
    for (const char *p = c->only; *p; p += strcspn(p, ","), p += *p == ',') {
        size_t n = strcspn(p, ",");
        if (n && !strncmp(p, id, n))
            return true;
    }
    return false;
}

static int make_dir(char *out, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, size, "%s/fbill-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(out)) {
        cli_error("bench: cannot create a folder: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* The running program, so that child processes run this very build. */
static int find_self(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size - 1);
    if (n <= 0) {
        cli_error("bench: /proc/self/exe: %s", strerror(errno));
        return -1;
    }
    out[n] = '\0';
    return 0;
}

static int measure(bench_ctx *c)
{
    return bench_signing(c) || bench_verification(c) || bench_costs(c) || bench_processes(c)
               ? -1 : 0;
}

static int run(bench_ctx *c, const options *o)
{
    bench_results *r = c->results;
    bench_say("working in %s%s", r->dir, o->keep ? " (kept)" : "");
    bench_say("making a test CA and SoftHSM tokens");
    if (bench_world_setup(&c->world, r->dir))
        return -1;
    bench_say("opening ports; issuing and sealing bills to work on");
    int rc = bench_open(c) || measure(c);
    bench_machine(r); /* the SoftHSM version comes from the open module */
    bench_close(c);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--internal-rss"))
        return bench_child_rss(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "--internal-issue"))
        return bench_child_issue(argc - 1, argv + 1);
    options o = { 0 };
    if (parse(argc, argv, &o)) {
        cli_error(USAGE);
        return EXIT_USAGE;
    }
    bench_ctx *c = calloc(1, sizeof *c);
    bench_results *r = calloc(1, sizeof *r);
    if (!c || !r || find_self(c->self, sizeof c->self) || make_dir(r->dir, sizeof r->dir)) {
        free(c);
        free(r);
        return EXIT_USAGE;
    }
    double start = bench_now();
    bench_load_start(r);
    c->results = r;
    c->quick = r->quick = o.quick;
    c->only = o.only;
    /* More rounds in a full run: a median of more turns is steadier. */
    c->cfg = (bench_cfg){ o.quick ? 0.5 : 2.0, o.quick ? 5 : 10 };
    r->seconds = c->cfg.seconds;
    r->rounds = c->cfg.rounds;
    r->kept = o.keep;
    int rc = run(c, &o);
    r->total_seconds = bench_now() - start;
    bench_load_end(r, r->total_seconds);
    if (!rc)
        (o.json ? bench_print_json : bench_print_table)(r, stdout);
    /* After a failure the folder stays, with setup.log, for inspection. */
    if (rc)
        cli_error("bench: failed; what was made is in %s", r->dir);
    else if (!o.keep && bench_remove_tree(r->dir) != 0)
        cli_error("bench: could not remove all of %s", r->dir);
    free(c);
    free(r);
    return rc ? EXIT_BAD_BILL : EXIT_OK;
}
