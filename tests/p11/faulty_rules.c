/*
 * TEST-ONLY CODE: fault rules of libfbtest-faulty-pkcs11.so, the forwarding
 * PKCS#11 module of fiscalbill's test suite.  Never ship it.
 *
 * Rules come from FBT_FAULT (read at C_Initialize) and from the control file
 * FBT_FAULT_FILE, which is stat()ed on every call and re-read when its inode,
 * size or mtime changes.  Every (re)load restarts the per-function call
 * counters and reseeds the PRNG, so "the 3rd call" always counts from the
 * moment the rules took effect.  Grammar: see tests/p11/README.md.
 */
#include "faulty_module.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_PREFIX "fbtest-faulty-pkcs11: "
#define MAX_FILE_BYTES (64 * 1024)
#define FN_ANY (-1) /* the "*" function name */

enum rule_kind { R_NTH, R_FROM, R_RAND, R_DELAY };

struct rule {
    int fn;             /* function index or FN_ANY */
    enum rule_kind kind;
    uint64_t n;         /* R_NTH / R_FROM: call number, 1-based */
    double pct;         /* R_RAND: probability in percent */
    CK_RV code;         /* error to return */
    unsigned long ms;   /* R_DELAY: milliseconds */
    enum rule_kind when; /* R_DELAY: R_DELAY every call, else R_NTH, R_FROM or R_RAND
                            with n or pct */
};

struct rule_set {
    struct rule *v;
    size_t len;
};

struct file_stamp {
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

static pthread_mutex_t rules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rule_set env_rules, file_rules;
static char *ctl_path;
static struct file_stamp ctl_stamp;
static uint64_t counters[FN_COUNT];
static uint64_t prng_seed, prng_state;

#define FBT_NAME_ENTRY(name) #name,
static const char *const fn_names[FN_COUNT] = { FBT_FUNCS(FBT_NAME_ENTRY) };
#undef FBT_NAME_ENTRY

const char *fbt_fn_name(int fn)
{
    return (fn >= 0 && fn < FN_COUNT) ? fn_names[fn] : NULL;
}

/* ---- parsing ----------------------------------------------------------- */

/* Unsigned number: "0x" prefix means hex, otherwise decimal (never octal, so
 * "010" is ten).  The whole string must be consumed. */
static int parse_ulong(const char *s, unsigned long *out)
{
    int base = 10;
    char *end;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    *out = strtoul(s, &end, base);
    return (errno != 0 || *end != '\0') ? -1 : 0;
}

/* Function name to index; "*" is FN_ANY.  C_GetFunctionList is the module's
 * entry point, not a call through the table, so it cannot be faulted. */
static int parse_fn(const char *s, int *fn)
{
    if (strcmp(s, "*") == 0) {
        *fn = FN_ANY;
        return 0;
    }
    for (int i = 0; i < FN_COUNT; i++) {
        if (i != FN_C_GetFunctionList && strcmp(s, fn_names[i]) == 0) {
            *fn = i;
            return 0;
        }
    }
    return -1;
}

/* Split s in place at ':' into at most max fields; returns the field count. */
static size_t split_fields(char *s, char **f, size_t max)
{
    size_t n = 0;

    while (n < max) {
        f[n++] = s;
        s = strchr(s, ':');
        if (s == NULL)
            return n;
        *s++ = '\0';
    }
    return n + 1; /* too many fields: caller rejects */
}

static int parse_code(const char *s, CK_RV *code)
{
    unsigned long v;

    /* CKR_OK "without forwarding" would leave every output undefined. */
    if (parse_ulong(s, &v) != 0 || v == CKR_OK)
        return -1;
    *code = v;
    return 0;
}

static int parse_pct(const char *s, double *pct)
{
    char *end;

    errno = 0;
    *pct = strtod(s, &end);
    return (errno != 0 || end == s || *end != '\0' || !(*pct >= 0 && *pct <= 100)) ? -1 : 0;
}

/* "N" or "N+" (modified in place): R_NTH or R_FROM, with the number. */
static int parse_nth(char *s, enum rule_kind *kind, uint64_t *n)
{
    size_t len = strlen(s);
    unsigned long v;

    *kind = R_NTH;
    if (len > 0 && s[len - 1] == '+') {
        *kind = R_FROM;
        s[len - 1] = '\0';
    }
    if (parse_ulong(s, &v) != 0 || v == 0)
        return -1;
    *n = v;
    return 0;
}

static int parse_fault(char **f, size_t nf, struct rule *r)
{
    if (parse_fn(f[0], &r->fn) != 0)
        return -1;
    if (strcmp(f[1], "rand") == 0) {
        if (nf != 4)
            return -1;
        r->kind = R_RAND;
        if (parse_pct(f[2], &r->pct) != 0)
            return -1;
        return parse_code(f[3], &r->code);
    }
    if (nf != 3 || parse_nth(f[1], &r->kind, &r->n) != 0)
        return -1;
    return parse_code(f[2], &r->code);
}

/* delay:FN:MS (every call), delay:FN:N[+]:MS (the Nth call, or from it on),
 * delay:FN:rand:P:MS (each call with probability P percent). f[0] is
 * "delay". */
static int parse_delay(char **f, size_t nf, struct rule *r)
{
    r->kind = R_DELAY;
    r->when = R_DELAY;
    if (parse_fn(f[1], &r->fn) != 0 || parse_ulong(f[nf - 1], &r->ms) != 0)
        return -1;
    if (nf == 3)
        return 0;
    if (nf == 5 && strcmp(f[2], "rand") == 0) {
        r->when = R_RAND;
        return parse_pct(f[3], &r->pct);
    }
    return nf == 4 ? parse_nth(f[2], &r->when, &r->n) : -1;
}

/* One rule.  The text is modified (split at ':'). */
static int parse_rule(char *text, struct rule *r)
{
    char *f[6];
    size_t nf = split_fields(text, f, 5);

    memset(r, 0, sizeof(*r));
    if (nf > 5 || nf < 3)
        return -1;
    if (strcmp(f[0], "delay") == 0)
        return parse_delay(f, nf, r);
    return nf > 4 ? -1 : parse_fault(f, nf, r);
}

static void rules_add(struct rule_set *set, const struct rule *r)
{
    struct rule *v = realloc(set->v, (set->len + 1) * sizeof(*v));

    if (v == NULL) {
        fprintf(stderr, LOG_PREFIX "out of memory, rule dropped\n");
        return;
    }
    set->v = v;
    set->v[set->len++] = *r;
}

static void rules_clear(struct rule_set *set)
{
    free(set->v);
    set->v = NULL;
    set->len = 0;
}

/* Parse comma- (or whitespace-) separated rules; '#' starts a comment that
 * runs to the end of the line, which helps in control files. */
static void rules_parse(struct rule_set *set, const char *text)
{
    char *copy = strdup(text);
    char *save = NULL;

    if (copy == NULL)
        return;
    for (char *p = copy; (p = strchr(p, '#')) != NULL;)
        while (*p != '\0' && *p != '\n')
            *p++ = ' ';
    for (char *tok = strtok_r(copy, ", \t\r\n", &save); tok != NULL;
         tok = strtok_r(NULL, ", \t\r\n", &save)) {
        char shown[128];
        struct rule r;

        snprintf(shown, sizeof(shown), "%s", tok);
        if (parse_rule(tok, &r) == 0)
            rules_add(set, &r);
        else
            fprintf(stderr, LOG_PREFIX "ignoring bad fault rule \"%s\"\n", shown);
    }
    free(copy);
}

/* ---- control file ------------------------------------------------------ */

static struct file_stamp stamp_from(const struct stat *sb)
{
    struct file_stamp st;

    memset(&st, 0, sizeof(st));
    st.exists = 1;
    st.dev = sb->st_dev;
    st.ino = sb->st_ino;
    st.size = sb->st_size;
    st.mtime = sb->st_mtim;
    return st;
}

static struct file_stamp stamp_of(const char *path)
{
    struct file_stamp st;
    struct stat sb;

    if (stat(path, &sb) == 0)
        return stamp_from(&sb);
    memset(&st, 0, sizeof(st));
    return st;
}

static int stamp_equal(const struct file_stamp *a, const struct file_stamp *b)
{
    if (a->exists != b->exists)
        return 0;
    return !a->exists || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                          a->mtime.tv_sec == b->mtime.tv_sec &&
                          a->mtime.tv_nsec == b->mtime.tv_nsec);
}

/* Read the control file into file_rules.  A missing or empty file leaves no
 * rules.  Caller holds rules_lock. */
static void file_load(void)
{
    FILE *fp;
    struct stat sb;
    char *buf;
    size_t n;

    rules_clear(&file_rules);
    fp = fopen(ctl_path, "r");
    /* Stamp the file we actually read, so a write racing with the read
     * shows up as a change on the next call. */
    if (fp == NULL || fstat(fileno(fp), &sb) != 0) {
        ctl_stamp = stamp_of(ctl_path);
        if (fp != NULL)
            fclose(fp);
        return;
    }
    ctl_stamp = stamp_from(&sb);
    buf = malloc(MAX_FILE_BYTES + 1);
    if (buf != NULL) {
        n = fread(buf, 1, MAX_FILE_BYTES, fp);
        buf[n] = '\0';
        rules_parse(&file_rules, buf);
        free(buf);
    }
    fclose(fp);
}

/* Counters and PRNG restart with every load so the rule set is reproducible. */
static void restart_counting(void)
{
    memset(counters, 0, sizeof(counters));
    prng_state = prng_seed;
}

void fbt_rules_load(const char *env_text, const char *file, uint64_t seed)
{
    pthread_mutex_lock(&rules_lock);
    rules_clear(&env_rules);
    free(ctl_path);
    ctl_path = NULL;
    if (env_text != NULL)
        rules_parse(&env_rules, env_text);
    if (file != NULL && *file != '\0' && (ctl_path = strdup(file)) != NULL)
        file_load();
    else
        rules_clear(&file_rules);
    prng_seed = seed;
    restart_counting();
    pthread_mutex_unlock(&rules_lock);
}

void fbt_rules_free(void)
{
    pthread_mutex_lock(&rules_lock);
    rules_clear(&env_rules);
    rules_clear(&file_rules);
    free(ctl_path);
    ctl_path = NULL;
    memset(&ctl_stamp, 0, sizeof(ctl_stamp));
    pthread_mutex_unlock(&rules_lock);
}

/* ---- evaluation -------------------------------------------------------- */

/* splitmix64: tiny, good enough, and reproducible from FBT_SEED. */
static uint64_t prng_next(void)
{
    uint64_t z = (prng_state += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* "*" leaves out the calls that set the module up or describe it, so that
 * "*:1+:0xE0" means "token gone" and not "library broken". */
static int rule_applies(const struct rule *r, int fn)
{
    if (r->fn != FN_ANY)
        return r->fn == fn;
    return fn != FN_C_Initialize && fn != FN_C_Finalize && fn != FN_C_GetFunctionList &&
           fn != FN_C_GetInfo;
}

/* Uniform draw in [0, 100). */
static double prng_pct(void)
{
    return (double)(prng_next() >> 11) * 0x1.0p-53 * 100.0;
}

/* Does a delay rule apply to call number nth?  A rand delay draws on every
 * call it could apply to, whatever the fault rules did. */
static int delay_hits(const struct rule *r, uint64_t nth)
{
    switch (r->when) {
    case R_NTH: return nth == r->n;
    case R_FROM: return nth >= r->n;
    case R_RAND: return prng_pct() < r->pct;
    default: return 1;
    }
}

/* Evaluate one set for the call number nth of fn.  The first firing fault
 * rule wins; delays add up. */
static int eval_set(const struct rule_set *set, int fn, uint64_t nth, int fired, CK_RV *rv,
                    unsigned long *delay_ms)
{
    for (size_t i = 0; i < set->len; i++) {
        const struct rule *r = &set->v[i];
        int hit = 0;

        if (!rule_applies(r, fn))
            continue;
        switch (r->kind) {
        case R_DELAY:
            if (delay_hits(r, nth))
                *delay_ms += r->ms;
            continue;
        case R_NTH: hit = (nth == r->n); break;
        case R_FROM: hit = (nth >= r->n); break;
        case R_RAND:
            /* Draw only while no earlier rule fired, so one call consumes
             * a predictable number of draws. */
            hit = !fired && prng_pct() < r->pct;
            break;
        }
        if (hit && !fired) {
            fired = 1;
            *rv = r->code;
        }
    }
    return fired;
}

int fbt_rules_check(int fn, CK_RV *rv, unsigned long *delay_ms)
{
    uint64_t nth;
    int fired;

    *delay_ms = 0;
    pthread_mutex_lock(&rules_lock);
    if (ctl_path != NULL) {
        struct file_stamp now = stamp_of(ctl_path);

        if (!stamp_equal(&now, &ctl_stamp)) {
            file_load();
            restart_counting();
        }
    }
    nth = ++counters[fn];
    fired = eval_set(&env_rules, fn, nth, 0, rv, delay_ms);
    fired = eval_set(&file_rules, fn, nth, fired, rv, delay_ms);
    pthread_mutex_unlock(&rules_lock);
    return fired;
}
