/* fbill bench: the figures, and the table or JSON object they end in. */
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include "cli.h"
#include "bench.h"

static const char *const sections[][2] = {
    { "throughput", "Throughput, each against its baseline in this run" },
    { "scaling", "Scaling" },
    { "memory", "Peak resident memory (wait4 ru_maxrss of the child)" },
    { "cost", "The library's own cost per bill" },
};

bench_row *bench_add(bench_results *r, const char *section, const char *id, const char *label,
                     double value, const char *unit)
{
    static bench_row spare; /* past the last row: kept off the table */
    bench_row *row = r->n < BENCH_MAX_ROWS ? &r->rows[r->n++] : &spare;
    memset(row, 0, sizeof *row);
    snprintf(row->section, sizeof row->section, "%s", section);
    snprintf(row->id, sizeof row->id, "%s", id);
    snprintf(row->label, sizeof row->label, "%s", label);
    row->value = value;
    row->unit = unit;
    row->base = -1;
    row->ratio = -1;
    return row;
}

void bench_set_base(bench_row *row, double base, const char *unit, const char *label)
{
    row->base = base;
    row->base_unit = unit;
    snprintf(row->base_label, sizeof row->base_label, "%s", label);
    row->ratio = base > 0 ? row->value / base : -1;
}

void bench_set_goal(bench_row *row, bench_goal goal, double value)
{
    row->goal = goal;
    row->goal_value = value;
}

bool bench_row_met(const bench_row *row)
{
    switch (row->goal) {
    case GOAL_RATIO_MIN: return row->ratio >= row->goal_value;
    case GOAL_RATIO_MAX: return row->ratio >= 0 && row->ratio <= row->goal_value;
    case GOAL_VALUE_MAX: return row->value <= row->goal_value;
    case GOAL_NONE: break;
    }
    return true;
}

static void cpu_model(char *out, size_t size)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(out, size, "unknown CPU");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            const char *v = strchr(line, ':') + 1;
            v += strspn(v, " \t");
            snprintf(out, size, "%.*s", (int)strcspn(v, "\n"), v);
            break;
        }
    if (f)
        fclose(f);
}

void bench_machine(bench_results *r)
{
    struct utsname u;
    cpu_model(r->cpu, sizeof r->cpu);
    r->cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (uname(&u) == 0)
        snprintf(r->kernel, sizeof r->kernel, "%s %s %s", u.sysname, u.release, u.machine);
    snprintf(r->openssl, sizeof r->openssl, "%s", OpenSSL_version(OPENSSL_VERSION));
    snprintf(r->softhsm, sizeof r->softhsm, "%s", bench_p11_version());
}

/* CPU seconds the machine was busy and stolen from it (/proc/stat), and
 * those this process and its children used. */
static void cpu_seconds(double *busy, double *steal, double *own)
{
    unsigned long long v[8] = { 0 };
    double hz = (double)sysconf(_SC_CLK_TCK);
    FILE *f = fopen("/proc/stat", "r");
    if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                     &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
        memset(v, 0, sizeof v);
    if (f)
        fclose(f);
    /* user, nice, system, irq, softirq; idle and iowait are not busy */
    *busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / hz;
    *steal = (double)v[7] / hz;
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    *own = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
                    kids.ru_stime.tv_sec) +
           (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
                    kids.ru_stime.tv_usec) / 1e6;
}

void bench_load_start(bench_results *r)
{
    cpu_seconds(&r->busy0, &r->steal0, &r->own0);
}

void bench_load_end(bench_results *r, double wall)
{
    double busy, steal, own;
    cpu_seconds(&busy, &steal, &own);
    r->other_cores = wall > 0 ? ((busy - r->busy0) - (own - r->own0)) / wall : 0;
    r->steal_cores = wall > 0 ? (steal - r->steal0) / wall : 0;
    if (r->other_cores < 0)
        r->other_cores = 0;
}

static const char *number(double v, const char *unit, char *out, size_t size)
{
    bool fraction = !strcmp(unit, "MiB") || !strcmp(unit, "us/bill");
    if (v < 0)
        snprintf(out, size, "-");
    else
        snprintf(out, size, fraction ? "%.1f %s" : "%.0f %s", v, unit);
    return out;
}

static const char *goal_text(const bench_row *row, char *out, size_t size)
{
    const char *op = row->goal == GOAL_RATIO_MIN ? ">=" : "<=";
    if (row->goal == GOAL_NONE)
        snprintf(out, size, "%s", "");
    else
        snprintf(out, size, "%s %.4g%s  %s", op, row->goal_value,
                 row->goal == GOAL_VALUE_MAX ? " MiB" : "", bench_row_met(row) ? "met" : "MISSED");
    return out;
}

#define ROW_FORMAT "  %-46s %15s  %-40s %6s  %s\n"

static void print_row(const bench_row *row, FILE *out)
{
    char value[48], num[48], base[128] = "", ratio[16] = "", goal[48];
    number(row->value, row->unit, value, sizeof value);
    if (row->base >= 0)
        snprintf(base, sizeof base, "%s, %s", number(row->base, row->base_unit, num, sizeof num),
                 row->base_label);
    if (row->ratio >= 0)
        snprintf(ratio, sizeof ratio, "%.3f", row->ratio);
    fprintf(out, ROW_FORMAT, row->label, value, base, ratio, goal_text(row, goal, sizeof goal));
}

static void print_header(const bench_results *r, FILE *out)
{
    fprintf(out, "fbill bench%s: fiscalbill %s\n", r->quick ? " --quick" : "", fb_version());
    fprintf(out, "  machine  %s, %ld cores, %s\n", r->cpu, r->cores, r->kernel);
    fprintf(out, "  crypto   %s; %s\n", r->openssl, r->softhsm);
    fprintf(out, "  bills    %s\n", r->bills);
    fprintf(out, "  folder   %s (%s)\n", r->dir, r->kept ? "kept" : "removed");
    fprintf(out, "  timing   CLOCK_MONOTONIC; each rate is the median of %d rounds taken in turn "
                 "with its baseline,\n           %.1f s per task after a warm-up; whole run "
                 "%.0f s\n", r->rounds, r->seconds, r->total_seconds);
    fprintf(out, "  load     other processes used %.2f cores on average, the hypervisor stole "
                 "%.2f%s\n", r->other_cores, r->steal_cores,
            r->other_cores + r->steal_cores > 0.1 ? ": the figures are disturbed" : "");
}

void bench_print_table(const bench_results *r, FILE *out)
{
    print_header(r, out);
    for (size_t s = 0; s < sizeof sections / sizeof sections[0]; s++) {
        bool cost = !strcmp(sections[s][0], "cost");
        fprintf(out, "\n%s\n", sections[s][1]);
        if (!cost)
            fprintf(out, ROW_FORMAT, "", "fiscalbill", "baseline", "ratio", "goal");
        for (size_t i = 0; i < r->n; i++)
            if (!strcmp(r->rows[i].section, sections[s][0]))
                print_row(&r->rows[i], out);
    }
}

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void json_num(FILE *out, const char *key, double v, const char *after)
{
    fprintf(out, "\"%s\":", key);
    if (v < 0)
        fprintf(out, "null%s", after);
    else
        fprintf(out, "%.6g%s", v, after);
}

static void json_row(const bench_row *row, FILE *out)
{
    static const char *const goals[] = { "none", "ratio>=", "ratio<=", "value<=" };
    fprintf(out, "{\"id\":");
    json_str(out, row->id);
    fprintf(out, ",\"section\":");
    json_str(out, row->section);
    fprintf(out, ",\"label\":");
    json_str(out, row->label);
    fprintf(out, ",");
    json_num(out, "value", row->value, ",\"unit\":");
    json_str(out, row->unit);
    fprintf(out, ",");
    json_num(out, "baseline", row->base, ",\"baseline_label\":");
    json_str(out, row->base_label);
    fprintf(out, ",");
    json_num(out, "ratio", row->ratio, ",\"goal\":");
    json_str(out, goals[row->goal]);
    fprintf(out, ",");
    json_num(out, "goal_value", row->goal == GOAL_NONE ? -1 : row->goal_value, ",\"met\":");
    fprintf(out, "%s}", row->goal == GOAL_NONE ? "null" : bench_row_met(row) ? "true" : "false");
}

void bench_print_json(const bench_results *r, FILE *out)
{
    bool all = true;
    fprintf(out, "{\"command\":\"fbill bench%s --json\",\"fiscalbill\":",
            r->quick ? " --quick" : "");
    json_str(out, fb_version());
    fprintf(out, ",\"machine\":{\"cpu\":");
    json_str(out, r->cpu);
    fprintf(out, ",\"cores\":%ld,\"kernel\":", r->cores);
    json_str(out, r->kernel);
    fprintf(out, "},\"openssl\":");
    json_str(out, r->openssl);
    fprintf(out, ",\"softhsm\":");
    json_str(out, r->softhsm);
    fprintf(out, ",\"bills\":");
    json_str(out, r->bills);
    fprintf(out, ",\"dir\":");
    json_str(out, r->dir);
    fprintf(out, ",\"kept\":%s,\"quick\":%s,", r->kept ? "true" : "false",
            r->quick ? "true" : "false");
    json_num(out, "seconds_per_task", r->seconds, ",");
    fprintf(out, "\"rounds\":%d,", r->rounds);
    json_num(out, "total_seconds", r->total_seconds, ",");
    json_num(out, "other_load_cores", r->other_cores, ",");
    json_num(out, "steal_cores", r->steal_cores, ",\"results\":[");
    for (size_t i = 0; i < r->n; i++) {
        fprintf(out, i ? ",\n" : "\n");
        json_row(&r->rows[i], out);
        all = all && bench_row_met(&r->rows[i]);
    }
    fprintf(out, "\n],\"all_goals_met\":%s}\n", all ? "true" : "false");
}
