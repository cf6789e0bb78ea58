/* Judging a soak run (soak.h): the records, the files on disk, what
 * `fbill verify --json` says of them, the module's call log, memory and
 * time. Every broken rule is printed (the first few of each kind) and
 * counted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../check/fbt_tokens.h"
#include "soak.h"

#define SHOW 10      /* failures printed per kind */
#ifndef SOAK_DEFAULT_RSS_KB
#define SOAK_DEFAULT_RSS_KB 8192
#endif
#define BATCH 1000   /* files per fbill verify run */

typedef struct tally {
    const char *kind;
    int n;
} tally;

static void fail(tally *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(tally *t, const char *fmt, ...)
{
    if (t->n++ < SHOW) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "soak: FAIL (%s): ", t->kind);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
}

static int finish(const tally *t)
{
    if (t->n > SHOW)
        fprintf(stderr, "soak: FAIL (%s): %d in all\n", t->kind, t->n);
    return t->n;
}

static const char *status_name(int st)
{
    switch (st) {
    case FB_ETOKEN: return "FB_ETOKEN";
    case FB_ETIMEOUT: return "FB_ETIMEOUT";
    case FB_EPIN: return "FB_EPIN";
    case FB_EIO: return "FB_EIO";
    default: return fb_status_str(st);
    }
}

/* ---- the records ---- */

/* A failure the faults explain: the token failed twice running, or a call
 * passed its deadline. The library's own message must name the port's
 * token. Anything else (a signature that does not verify, a bill refused
 * as invalid, a write that failed) is a bug. */
static void check_error(tally *t, unsigned n, int status, const char *msg, const char *token,
                        bool wrong_pin)
{
    char num[11], quoted[64];
    soak_number(n, num);
    snprintf(quoted, sizeof quoted, "\"%s\"", token);
    if (!strstr(msg, num))
        fail(t, "bill %u: the error does not name the bill: %s", n, msg);
    bool expected = wrong_pin ? status == FB_EPIN
                              : status == FB_ETOKEN || status == FB_ETIMEOUT;
    if (!expected)
        fail(t, "bill %u: unexpected %s: %s", n, status_name(status), msg);
    else if (!strstr(msg, quoted))
        fail(t, "bill %u: the error does not name token %s: %s", n, quoted, msg);
}

static int check_records(soak *s)
{
    tally t = { "outcomes", 0 };
    unsigned count[3][3] = { { 0 } }; /* [issued][sealed] */
    unsigned by_status[32] = { 0 };
    for (unsigned n = 1; n <= s->bills; n++) {
        record *r = &s->rec[n];
        int is = atomic_load(&r->issued), se = atomic_load(&r->sealed);
        count[is][se]++;
        if (is == OUT_NONE)
            fail(&t, "bill %u: no outcome", n);
        if (is != OUT_WRITTEN && se != OUT_NONE)
            fail(&t, "bill %u: sealed, but never issued", n);
        if (is == OUT_WRITTEN && se == OUT_NONE && soak_sealable(n))
            fail(&t, "bill %u: issued, but the bureau never answered for it", n);
        if (se != OUT_NONE && !soak_sealable(n))
            fail(&t, "bill %u: sealed, but it names no bureau seal", n);
        const soak_port *sp = &s->unit[r->port];
        bool wrong_pin = !strcmp(sp->token, "nocert");
        if (is == OUT_WRITTEN && wrong_pin)
            fail(&t, "bill %u: issued at the port with the wrong PIN", n);
        if (is == OUT_FAILED) {
            check_error(&t, n, r->issue_status, r->issue_msg, sp->token, wrong_pin);
            by_status[-r->issue_status & 31]++;
        }
        if (se == OUT_FAILED)
            check_error(&t, n, r->seal_status, r->seal_msg, "bureau", false);
    }
    unsigned written = count[OUT_WRITTEN][0] + count[OUT_WRITTEN][1] + count[OUT_WRITTEN][2];
    printf("soak: issued %u, refused %u (FB_ETOKEN %u, FB_ETIMEOUT %u, FB_EPIN %u); sealed %u, "
           "refused %u\n", written, s->bills - written, by_status[-FB_ETOKEN],
           by_status[-FB_ETIMEOUT], by_status[-FB_EPIN], count[OUT_WRITTEN][OUT_WRITTEN],
           count[OUT_WRITTEN][OUT_FAILED]);
    /* Sanity: the good ports issue most of their bills, or the faults are
     * so thick that the soak proves nothing. */
    if (written < s->bills / 2)
        fail(&t, "only %u of %u bills issued", written, s->bills);
    if (count[OUT_WRITTEN][OUT_WRITTEN] < written / 4)
        fail(&t, "only %u of %u bills sealed", count[OUT_WRITTEN][OUT_WRITTEN], written);
    return finish(&t);
}

/* ---- the files ---- */

/* "0000012345.xml" -> 12345; 0 for any other name. */
static unsigned bill_file(const char *name)
{
    if (strlen(name) != 14 || strcmp(name + 10, ".xml") ||
        strspn(name, "0123456789") != 10)
        return 0;
    return (unsigned)strtoul(name, NULL, 10);
}

/* Every file is a whole bill the run wrote (same size, same SHA-256), of
 * a number recorded as written; there is nothing else, no temporary file
 * left behind. Returns the names found, sorted by number, in *names. */
static int check_dir(soak *s, const char *dir, bool sealed, char ***names, size_t *n_names)
{
    tally t = { sealed ? "sealed files" : "issued files", 0 };
    DIR *d = opendir(dir);
    if (!d) {
        fail(&t, "cannot list %s: %s", dir, strerror(errno));
        return finish(&t);
    }
    char **v = calloc(s->bills + 1, sizeof *v);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        unsigned num = bill_file(e->d_name);
        if (!num || num > s->bills) {
            fail(&t, "%s/%s: a stray file", dir, e->d_name);
            continue;
        }
        record *r = &s->rec[num];
        if (atomic_load(sealed ? &r->sealed : &r->issued) != OUT_WRITTEN) {
            fail(&t, "%s/%s: the bill's outcome is not \"written\"", dir, e->d_name);
            continue;
        }
        char path[1000];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        uint8_t *data = NULL, sha[32];
        size_t len = 0;
        if (soak_read(path, &data, &len)) {
            fail(&t, "%s: unreadable", path);
            continue;
        }
        soak_sha256(data, len, sha);
        free(data);
        if (len != (sealed ? r->sealed_size : r->size) ||
            memcmp(sha, sealed ? r->sealed_sha : r->sha, 32))
            fail(&t, "%s: %zu bytes, not the %zu written", path, len,
                 sealed ? r->sealed_size : r->size);
        v[n++] = strdup(e->d_name);
    }
    closedir(d);
    size_t want = 0;
    for (unsigned i = 1; i <= s->bills; i++)
        want += atomic_load(sealed ? &s->rec[i].sealed : &s->rec[i].issued) == OUT_WRITTEN;
    if (n != want)
        fail(&t, "%s holds %zu bills, %zu were written", dir, n, want);
    *names = v;
    *n_names = n;
    return finish(&t);
}

/* ---- fbill verify --json ---- */

/* Run fbill verify in dir over names; its output appended to out. */
static int run_verify(soak *s, const char *dir, bool sealed, char **names, size_t n, char **out,
                      size_t *out_len)
{
    const char *head[] = { s->fbill, "verify", "--json", "-j", "2", "--trust", s->ca,
                           sealed ? "--require-seal" : NULL };
    size_t nh = sealed ? 8 : 7;
    char **argv = calloc(nh + n + 1, sizeof *argv);
    int fd[2];
    if (!argv || pipe(fd))
        return -1;
    memcpy(argv, head, nh * sizeof *argv);
    memcpy(argv + nh, names, n * sizeof *argv);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        if (chdir(dir) == 0)
            execv(s->fbill, argv);
        _exit(127);
    }
    close(fd[1]);
    char buf[65536];
    for (ssize_t k; (k = read(fd[0], buf, sizeof buf)) != 0;) {
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        char *more = realloc(*out, *out_len + (size_t)k + 1);
        if (!more)
            break;
        *out = more;
        memcpy(*out + *out_len, buf, (size_t)k);
        *out_len += (size_t)k;
        (*out)[*out_len] = '\0';
    }
    close(fd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    free(argv);
    return pid < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The string after "key": from p (our values need no unescaping), or
 * false when it is null or absent. */
static bool json_str(const char *p, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    if (!p || !(p = strstr(p, pat)))
        return false;
    p += strlen(pat);
    if (*p != '"')
        return false;
    size_t n = 0;
    for (p++; *p && *p != '"' && n + 1 < size; p++) {
        if (*p == '\\' && p[1])
            p++;
        out[n++] = *p;
    }
    out[n] = '\0';
    return true;
}

/* Does the signer of role have a subject (is there such a signature)? */
static bool has_signer(const char *line, const char *role)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"role\":\"%s\",\"subject\":", role);
    const char *p = strstr(line, pat);
    return p && p[strlen(pat)] == '"';
}

/* The state fbill verify gives one of its checks. */
static bool check_passed(const char *line, const char *check)
{
    char pat[64], state[32];
    snprintf(pat, sizeof pat, "\"check\":\"%s\"", check);
    return json_str(strstr(line, pat), "state", state, sizeof state) && !strcmp(state, "PASSED");
}

/* A unit-signed bill, before sealing: everything of the unit's verifies,
 * only the bureau's seal is missing. (fbill verify says no more of a bill
 * without its seal: INDETERMINATE, NO_SUPERVISOR_SEAL.) */
static bool awaits_seal(const char *line, const char *state)
{
    char sub[64];
    static const char *const unit[] = { "structure", "unit-signature", "unit-certificate",
                                        "bill" };
    bool ok = !strcmp(state, "INDETERMINATE") && json_str(line, "subindication", sub, sizeof sub)
              && !strcmp(sub, "NO_SUPERVISOR_SEAL") && !check_passed(line, "supervisor-seal");
    for (size_t i = 0; ok && i < sizeof unit / sizeof unit[0]; i++)
        ok = check_passed(line, unit[i]);
    return ok;
}

/* One report line: of the bill its file is named after, signed by the unit
 * and (only when sealed) the bureau; PASSED when sealed, else all but the
 * seal. */
static void check_report(tally *t, const char *line, bool sealed, unsigned char *seen,
                         unsigned bills)
{
    char file[64], state[32], number[32];
    if (!json_str(line, "file", file, sizeof file) || !json_str(line, "state", state, sizeof state)) {
        fail(t, "a line fbill verify wrote is not a report: %.200s", line);
        return;
    }
    unsigned num = bill_file(file);
    if (!num || num > bills) {
        fail(t, "a report on a file never given: %s", file);
        return;
    }
    if (seen[num]++)
        fail(t, "%s reported twice", file);
    if (sealed ? strcmp(state, "PASSED") != 0 : !awaits_seal(line, state))
        fail(t, "%s: %s: %.300s", file, state, line);
    if (!json_str(strstr(line, "\"bill\":{"), "number", number, sizeof number) ||
        strtoul(number, NULL, 10) != num)
        fail(t, "%s holds bill number %s", file, number);
    if (!has_signer(line, "unit"))
        fail(t, "%s: no unit signature", file);
    if (has_signer(line, "supervisor") != sealed)
        fail(t, "%s: %s", file, sealed ? "no bureau seal" : "a bureau seal before sealing");
}

static int verify_dir(soak *s, const char *dir, bool sealed, char **names, size_t n)
{
    tally t = { sealed ? "verify sealed" : "verify issued", 0 };
    unsigned char *seen = calloc(s->bills + 1, 1);
    double t0 = soak_now_ms();
    for (size_t at = 0; at < n; at += BATCH) {
        size_t k = n - at < BATCH ? n - at : BATCH;
        char *out = NULL;
        size_t len = 0;
        int st = run_verify(s, dir, sealed, names + at, k, &out, &len);
        /* 3, INDETERMINATE: unit-signed bills await their seal. */
        if (st != 0 && (sealed || st != 3))
            fail(&t, "fbill verify over %zu files of %s exited with %d", k, dir, st);
        for (char *line = out, *end; line && *line; line = end ? end + 1 : NULL) {
            if ((end = strchr(line, '\n')))
                *end = '\0';
            check_report(&t, line, sealed, seen, s->bills);
        }
        free(out);
    }
    for (size_t i = 0; i < n; i++)
        if (!seen[bill_file(names[i])])
            fail(&t, "%s/%s: not reported", dir, names[i]);
    printf("soak: fbill verify%s: %zu bills in %.1f s\n", sealed ? " --require-seal" : "", n,
           (soak_now_ms() - t0) / 1e3);
    free(seen);
    return finish(&t);
}

/* ---- the call log ---- */

static size_t count_lines(const char *log, const char *prefix, const char *also)
{
    size_t n = 0, plen = strlen(prefix);
    for (const char *p = log; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, prefix, plen)) {
            const char *eol = strchr(p, '\n');
            const char *hit = also ? strstr(p, also) : p;
            n += hit && (!eol || hit < eol);
        }
    return n;
}

/* The wrong PIN was offered exactly once, and refused; faults did fire. */
static int check_log(soak *s)
{
    tally t = { "call log", 0 };
    uint8_t *log = NULL;
    size_t len = 0;
    if (soak_read(s->call_log, &log, &len)) {
        fail(&t, "cannot read %s", s->call_log);
        return finish(&t);
    }
    const char *text = (const char *)log;
    char serial[64];
    const char *sn = fbt_token_var("TOKEN_nocert_SERIAL");
    snprintf(serial, sizeof serial, " serial=%s", sn ? sn : "?");
    size_t logins = count_lines(text, "C_Login ", serial);
    size_t refused = count_lines(text, "C_Login rv=0xA0 user=1", serial);
    printf("soak: the wrong-PIN port (nocert) logged in %zu time(s), %zu refused\n", logins,
           refused);
    if (logins != 1 || refused != 1)
        fail(&t, "the wrong PIN must be offered exactly once: %zu logins, %zu refused", logins,
             refused);
    size_t faults = count_lines(text, "C_Sign rv=0x32", NULL) +
                    count_lines(text, "C_Sign rv=0xB3", NULL) +
                    count_lines(text, "C_Sign rv=0x30", NULL);
    size_t signs = count_lines(text, "C_Sign ", NULL);
    printf("soak: %zu C_Sign calls, %zu injected errors\n", signs, faults);
    if (s->bills >= 2000 && faults == 0)
        fail(&t, "no fault was injected");
    free(log);
    return finish(&t);
}

/* ---- memory and time ---- */

static int check_limits(soak *s)
{
    tally t = { "limits", 0 };
    const char *env = getenv("FBT_SOAK_RSS_KB");
    long allowed = env && *env ? (long)strtoul(env, NULL, 10) : SOAK_DEFAULT_RSS_KB;
    long grew = s->rss_end_kb - s->rss_warm_kb;
    printf("soak: resident memory %ld kB after the first quarter, %ld kB at the end (%+ld kB, "
           "%+.2f kB per bill; allowed %ld kB)\n", s->rss_warm_kb, s->rss_end_kb, grew,
           (double)grew / (s->bills - s->bills / 4), allowed);
    if (s->rss_warm_kb <= 0 || grew > allowed)
        fail(&t, "resident memory grew by %ld kB over the last three quarters", grew);
    /* A signature makes at most a couple of dozen token calls, each with
     * the deadline; fb_issue and fb_seal must end well within that. */
    long bound = (long)(40 * s->timeout_ms) + 10000;
    printf("soak: the longest fb_issue took %ld ms, fb_seal %ld ms (bound %ld ms)\n",
           atomic_load(&s->max_issue_ms), atomic_load(&s->max_seal_ms), bound);
    if (atomic_load(&s->max_issue_ms) > bound || atomic_load(&s->max_seal_ms) > bound)
        fail(&t, "a call ran past every deadline");
    return finish(&t);
}

int soak_check(soak *s)
{
    int bad = check_records(s);
    for (int sealed = 0; sealed < 2; sealed++) {
        char **names = NULL;
        size_t n = 0;
        const char *dir = sealed ? s->sealed_dir : s->issued_dir;
        bad += check_dir(s, dir, sealed, &names, &n);
        bad += verify_dir(s, dir, sealed, names, n);
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
    }
    bad += check_log(s);
    bad += check_limits(s);
    return bad;
}
