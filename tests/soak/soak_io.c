/* The soak's bills, files, clock and memory figures (soak.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>
#include "soak.h"

void soak_number(unsigned number, char out[11])
{
    snprintf(out, 11, "%010u", number);
}

static int set(fb_bill *b, fb_field f, const char *v, char *err, size_t err_size)
{
    int rc = fb_bill_set(b, f, v);
    if (rc)
        snprintf(err, err_size, "setting %s: %s", fb_field_name(f), fb_last_error());
    return rc;
}

static int item(fb_bill *b, const char *code, const char *name, int64_t fen, char *err,
                size_t err_size)
{
    size_t i;
    int rc = fb_bill_item_add(b, &i);
    if (!rc) rc = fb_bill_item_set(b, i, FB_ITEM_CODE, code);
    if (!rc) rc = fb_bill_item_set(b, i, FB_ITEM_NAME, name);
    if (!rc) rc = fb_bill_item_set(b, i, FB_ITEM_QUANTITY, "1");
    if (!rc) rc = fb_bill_item_set(b, i, FB_ITEM_UNIT, "项");
    if (!rc) rc = fb_bill_item_set_amount(b, i, FB_ITEM_STD, fen);
    if (!rc) rc = fb_bill_item_set_amount(b, i, FB_ITEM_AMOUNT, fen);
    if (rc)
        snprintf(err, err_size, "item %s: %s", code, fb_last_error());
    return rc;
}

/* A medical outpatient bill numbered number, naming the bureau's seal when
 * it is to be sealed. The amounts vary with the number; all in fen. */
fb_bill *soak_bill(const soak *s, unsigned number, char *err, size_t err_size)
{
    static const struct { fb_field f; const char *v; } fixed[] = {
        { FB_SUPERVISOR_AREA_CODE, SOAK_AREA },
        { FB_EINVOICE_CODE, SOAK_CODE },
        { FB_EINVOICE_NAME, "医疗门诊收费票据（电子）" },
        { FB_EINVOICE_SPECIMEN_CODE, "65001" },
        { FB_ISSUE_DATE, "20261115" },
        { FB_ISSUE_TIME, "10:23:45" },
        { FB_INVOICING_PARTY_CODE, "12652300458800000X" },
        { FB_INVOICING_PARTY_NAME, "昌吉回族自治州人民医院" },
        { FB_PAYER_PARTY_TYPE, "1" },
        { FB_PAYER_PARTY_NAME, "张三" },
        { FB_HANDLING_PERSON, "王芳" },
        { FB_CHECKER, "李强" },
        { FB_INVOICING_SEAL_ID, "65230001" },
        { FB_INVOICING_SEAL_NAME, "昌吉回族自治州人民医院财务专用章" },
    };
    fb_bill *b = NULL;
    char num[11], check[7];
    soak_number(number, num);
    snprintf(check, sizeof check, "%06x", (number * 2654435761u) & 0xffffffu);
    int64_t a = 100 + (int64_t)(number % 9973), c = 2000 + (int64_t)(number % 101) * 7;
    int rc = fb_bill_new(&b);
    if (rc)
        snprintf(err, err_size, "fb_bill_new: %s", fb_last_error());
    for (size_t i = 0; !rc && i < sizeof fixed / sizeof fixed[0]; i++)
        rc = set(b, fixed[i].f, fixed[i].v, err, err_size);
    if (!rc) rc = set(b, FB_EINVOICE_NUMBER, num, err, err_size);
    if (!rc) rc = set(b, FB_RANDOM_NUMBER, check, err, err_size);
    if (!rc && soak_sealable(number)) {
        rc = set(b, FB_SUPERVISOR_SEAL_ID, SOAK_SEAL_ID, err, err_size);
        if (!rc) rc = set(b, FB_SUPERVISOR_SEAL_NAME, SOAK_SEAL_NAME, err, err_size);
        if (!rc) rc = set(b, FB_SUPERVISOR_SEAL_HASH, s->bureau_hash, err, err_size);
    }
    if (!rc) rc = item(b, "01", "西药费", a, err, err_size);
    if (!rc) rc = item(b, "02", "检查费", c, err, err_size);
    if (!rc && (rc = fb_bill_set_amount(b, FB_TOTAL_AMOUNT, a + c)))
        snprintf(err, err_size, "TotalAmount: %s", fb_last_error());
    if (!rc && (rc = fb_bill_fill_derived(b)))
        snprintf(err, err_size, "fb_bill_fill_derived: %s", fb_last_error());
    if (rc) {
        fb_bill_free(b);
        return NULL;
    }
    return b;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int soak_write(const char *dir, unsigned number, const void *data, size_t len, char *why,
               size_t why_size)
{
    char num[11], tmp[800], final[800];
    soak_number(number, num);
    snprintf(tmp, sizeof tmp, "%s/.%s.xml.tmp.XXXXXX", dir, num);
    snprintf(final, sizeof final, "%s/%s.xml", dir, num);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(why, why_size, "cannot create a temporary file in %s: %s", dir,
                 strerror(errno));
        return -1;
    }
    int bad = write_all(fd, data, len) || fsync(fd);
    int saved = errno;
    bad |= close(fd) != 0;
    /* link(), unlike rename(), refuses an existing name: a bill written
     * twice shows up here instead of silently replacing the first. */
    if (!bad && link(tmp, final) != 0) {
        saved = errno;
        bad = 1;
    }
    if (bad)
        snprintf(why, why_size, "cannot write %s: %s", final, strerror(saved));
    unlink(tmp);
    return bad ? -1 : 0;
}

int soak_read(const char *path, uint8_t **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    *data = NULL;
    *len = 0;
    if (!f)
        return -1;
    size_t cap = 0, n = 0;
    uint8_t *buf = NULL;
    for (;;) {
        if (n == cap) {
            uint8_t *more = realloc(buf, cap = cap ? 2 * cap : 16384);
            if (!more) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = more;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    uint8_t *room = err || n < cap ? buf : realloc(buf, n + 1);
    if (err || !room) {
        free(buf);
        return -1;
    }
    buf = room;
    buf[n] = '\0'; /* not counted: text can be searched as a string */
    *data = buf;
    *len = n;
    return 0;
}

void soak_sha256(const void *data, size_t len, uint8_t out[32])
{
    unsigned int n = 32;
    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

/* Resident memory from /proc/self/statm (its second field, in pages). */
long soak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f)
        return -1;
    int ok = fscanf(f, "%ld %ld", &size, &resident) == 2;
    fclose(f);
    return ok ? resident * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

double soak_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

void soak_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- removing the output ---- */

typedef struct sweep {
    char **paths;
    size_t n;
    atomic_size_t next;
} sweep;

static void *sweeper(void *arg)
{
    sweep *w = arg;
    for (size_t i; (i = atomic_fetch_add(&w->next, 1)) < w->n;)
        unlink(w->paths[i]);
    return NULL;
}

static void collect(sweep *w, size_t *cap, const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (w->n == *cap) {
            char **more = realloc(w->paths, (*cap = *cap ? 2 * *cap : 1024) * sizeof *more);
            if (!more)
                break;
            w->paths = more;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if ((w->paths[w->n] = malloc(len)) != NULL)
            snprintf(w->paths[w->n++], len, "%s/%s", dir, e->d_name);
    }
    if (d)
        closedir(d);
}

/* Unlinking is slow on some disks (ext4 mounted with discard: milliseconds
 * a file) but runs well in parallel: tens of thousands of bills would
 * otherwise take a minute to remove one by one. */
void soak_remove_dirs(const char *const *dirs, size_t n_dirs)
{
    sweep w = { NULL, 0, 0 };
    size_t cap = 0;
    for (size_t i = 0; i < n_dirs; i++)
        collect(&w, &cap, dirs[i]);
    pthread_t t[8];
    size_t started = 0;
    while (started < 8 && pthread_create(&t[started], NULL, sweeper, &w) == 0)
        started++;
    sweeper(&w);
    for (size_t i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    for (size_t i = 0; i < w.n; i++)
        free(w.paths[i]);
    free(w.paths);
    for (size_t i = 0; i < n_dirs; i++)
        rmdir(dirs[i]);
}
