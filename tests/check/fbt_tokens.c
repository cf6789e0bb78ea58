/* SoftHSMv2 token fixture for the Check suites (fbt_tokens.h): runs
 * tests/p11/fixture.sh once per process into a fresh temporary directory and
 * reads the tokens.env it writes. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fbt_tokens.h"

#define FBT_FIXTURE_REL "/tests/p11/fixture.sh"

static fbt_tokens g_tokens;
static pid_t g_owner;            /* the process that created g_tokens.dir */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

typedef struct fbt_var {
    char *key;
    char *value;
} fbt_var;
static fbt_var *g_vars;
static size_t g_nvars;

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static void fbt_tokens_die(const char *fmt, ...);

/* ---- removing the directory ---- */

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                size_t n = strlen(path) + 1 + strlen(e->d_name) + 1;
                char *child = malloc(n);
                if (child == NULL)
                    break;
                snprintf(child, n, "%s/%s", path, e->d_name);
                remove_tree(child);
                free(child);
            }
            closedir(d);
        }
        if (rmdir(path) != 0)
            fprintf(stderr, "fbt_tokens: cannot remove %s: %s\n", path, strerror(errno));
    } else if (unlink(path) != 0) {
        fprintf(stderr, "fbt_tokens: cannot remove %s: %s\n", path, strerror(errno));
    }
}

static int keep_tokens(void)
{
    const char *keep = getenv("FBT_KEEP_TOKENS");
    return keep != NULL && keep[0] != '\0' && strcmp(keep, "0") != 0;
}

static void cleanup_at_exit(void)
{
    /* Check's forked test children exit() too: only the creator cleans up. */
    if (g_tokens.dir[0] == '\0' || getpid() != g_owner)
        return;
    if (keep_tokens())
        fprintf(stderr, "fbt_tokens: FBT_KEEP_TOKENS set, keeping %s\n", g_tokens.dir);
    else
        remove_tree(g_tokens.dir);
}

static void fbt_tokens_die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("fbt_tokens: FATAL: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (g_tokens.dir[0] != '\0' && getpid() == g_owner) {
        if (keep_tokens())
            fprintf(stderr, "fbt_tokens: keeping %s for inspection\n", g_tokens.dir);
        else
            remove_tree(g_tokens.dir);
    }
    fflush(stderr);
    abort();
}

/* ---- tokens.env ---- */

/* One value in the shell subset fixture.sh writes: unquoted words, '...'
 * segments, "..." segments (with \\ \" \$ \` escapes) and backslash escapes;
 * an unquoted blank or # ends the value. Returns a malloc'd string. */
static char *parse_value(const char *p, const char *path, unsigned line)
{
    size_t cap = strlen(p) + 1, n = 0;
    char *out = malloc(cap);
    if (out == NULL)
        fbt_tokens_die("out of memory");
    for (;;) {
        char c = *p;
        if (c == '\0' || c == '\n' || c == '\r' || c == ' ' || c == '\t' || c == '#')
            break;
        p++;
        if (c == '\'') {
            while (*p != '\'') {
                if (*p == '\0')
                    fbt_tokens_die("%s:%u: unterminated '", path, line);
                out[n++] = *p++;
            }
            p++;
        } else if (c == '"') {
            while (*p != '"') {
                if (*p == '\0')
                    fbt_tokens_die("%s:%u: unterminated \"", path, line);
                if (*p == '\\' && p[1] != '\0' && strchr("\\\"$`", p[1]) != NULL)
                    p++;
                out[n++] = *p++;
            }
            p++;
        } else if (c == '\\') {
            if (*p == '\0' || *p == '\n')
                break;
            out[n++] = *p++;
        } else {
            out[n++] = c;
        }
    }
    out[n] = '\0';
    return out;
}

static void load_env(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fbt_tokens_die("cannot open %s: %s", path, strerror(errno));
    char buf[4096];
    unsigned line = 0;
    size_t cap = 0;
    while (fgets(buf, sizeof buf, f) != NULL) {
        line++;
        if (strchr(buf, '\n') == NULL && !feof(f))
            fbt_tokens_die("%s:%u: line too long", path, line);
        char *p = buf;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\0')
            continue;
        char *eq = p;
        while ((*eq >= 'A' && *eq <= 'Z') || (*eq >= 'a' && *eq <= 'z') ||
               (*eq >= '0' && *eq <= '9') || *eq == '_')
            eq++;
        if (eq == p || *eq != '=')
            fbt_tokens_die("%s:%u: not a NAME=value line: %s", path, line, buf);
        if (g_nvars == cap) {
            cap = cap ? 2 * cap : 32;
            fbt_var *grown = realloc(g_vars, cap * sizeof *grown);
            if (grown == NULL)
                fbt_tokens_die("out of memory");
            g_vars = grown;
        }
        *eq = '\0';
        char *key = strdup(p);
        if (key == NULL)
            fbt_tokens_die("out of memory");
        g_vars[g_nvars].key = key;
        g_vars[g_nvars].value = parse_value(eq + 1, path, line);
        g_nvars++;
    }
    if (ferror(f))
        fbt_tokens_die("error reading %s", path);
    fclose(f);
}

static const char *lookup(const char *name)
{
    /* Later lines win, as in the shell. */
    for (size_t i = g_nvars; i > 0; i--)
        if (strcmp(g_vars[i - 1].key, name) == 0)
            return g_vars[i - 1].value;
    return NULL;
}

/* ---- building the fixture ---- */

static const char *fixture_script(void)
{
    const char *env = getenv("FBT_P11_FIXTURE");
    if (env != NULL && env[0] != '\0')
        return env;
#ifdef FBT_SOURCE_DIR
    return FBT_SOURCE_DIR FBT_FIXTURE_REL;
#else
    fbt_tokens_die("FBT_SOURCE_DIR was not defined at build time and FBT_P11_FIXTURE is unset; "
                   "cannot find fixture.sh");
    return NULL;
#endif
}

static void run_fixture(const char *script, const char *dir)
{
    if (access(script, R_OK) != 0)
        fbt_tokens_die("cannot read the fixture script %s: %s", script, strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        fbt_tokens_die("fork: %s", strerror(errno));
    if (pid == 0) {
        execlp("bash", "bash", script, dir, (char *)NULL);
        fprintf(stderr, "fbt_tokens: cannot run bash %s: %s\n", script, strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            fbt_tokens_die("waitpid(%s): %s", script, strerror(errno));
    }
    if (WIFSIGNALED(status))
        fbt_tokens_die("%s %s was killed by signal %d", script, dir, WTERMSIG(status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fbt_tokens_die("%s %s failed with exit status %d (see the messages above)", script, dir,
                       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

static void copy_field(char *dst, size_t size, const char *src, const char *what)
{
    size_t n = strlen(src);
    if (n >= size)
        fbt_tokens_die("%s too long (%zu bytes): %s", what, n, src);
    memcpy(dst, src, n + 1);
}

static void create_fixture(void)
{
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || tmp[0] != '/')
        tmp = "/tmp";
    char templ[sizeof g_tokens.dir];
    int n = snprintf(templ, sizeof templ, "%s/fbt-tokens.XXXXXX", tmp);
    if (n < 0 || (size_t)n >= sizeof templ)
        fbt_tokens_die("TMPDIR too long: %s", tmp);
    if (mkdtemp(templ) == NULL)
        fbt_tokens_die("mkdtemp(%s): %s", templ, strerror(errno));
    copy_field(g_tokens.dir, sizeof g_tokens.dir, templ, "fixture directory");
    g_owner = getpid();
    if (atexit(cleanup_at_exit) != 0)
        fbt_tokens_die("atexit failed");

    run_fixture(fixture_script(), g_tokens.dir);

    char env_path[sizeof g_tokens.dir + 16];
    snprintf(env_path, sizeof env_path, "%s/tokens.env", g_tokens.dir);
    load_env(env_path);

    n = snprintf(g_tokens.conf, sizeof g_tokens.conf, "%s/softhsm2.conf", g_tokens.dir);
    if (n < 0 || (size_t)n >= sizeof g_tokens.conf)
        fbt_tokens_die("softhsm2.conf path too long");
    const char *conf = lookup("SOFTHSM2_CONF");
    if (conf == NULL || strcmp(conf, g_tokens.conf) != 0)
        fbt_tokens_die("tokens.env: SOFTHSM2_CONF is %s, expected %s", conf ? conf : "(missing)",
                       g_tokens.conf);
    const char *module = lookup("P11_MODULE");
    if (module == NULL)
        fbt_tokens_die("tokens.env has no P11_MODULE");
    copy_field(g_tokens.module, sizeof g_tokens.module, module, "P11_MODULE");
    const char *pin = lookup("PIN");
    if (pin == NULL || strcmp(pin, "1234") != 0)
        fbt_tokens_die("tokens.env: PIN is %s, expected 1234", pin ? pin : "(missing)");
    g_tokens.pin = "1234";

    if (setenv("SOFTHSM2_CONF", g_tokens.conf, 1) != 0)
        fbt_tokens_die("setenv(SOFTHSM2_CONF): %s", strerror(errno));
}

const fbt_tokens *fbt_tokens_get(void)
{
    int rc = pthread_once(&g_once, create_fixture);
    if (rc != 0)
        fbt_tokens_die("pthread_once: %s", strerror(rc));
    return &g_tokens;
}

const char *fbt_token_var(const char *name)
{
    fbt_tokens_get();
    return name != NULL ? lookup(name) : NULL;
}

const char *fbt_token_path(const char *rel)
{
    enum { SLOTS = 8, SIZE = 1024 };
    static _Thread_local char bufs[SLOTS][SIZE];
    static _Thread_local unsigned next;
    const fbt_tokens *t = fbt_tokens_get();
    char *buf = bufs[next++ % SLOTS];
    int n = snprintf(buf, SIZE, "%s/%s", t->dir, rel != NULL ? rel : "");
    if (n < 0 || n >= SIZE)
        fbt_tokens_die("fbt_token_path: path too long: %s/%s", t->dir, rel);
    return buf;
}
