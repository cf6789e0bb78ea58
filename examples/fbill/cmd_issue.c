/* fbill issue and fbill seal: sign bills at a port, one file or a batch.
 * Every output file is written whole or not at all. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

typedef struct sign_args {
    const char *port_uri, *out, *out_dir;
    fb_port_options port;
    fb_sign_options sign;
    fb_seal_options seal;
    const char *trust_path;
    const char **inputs;
    int n_inputs;
} sign_args;

/* Milliseconds, digits only: 1 when taken, -1 (a usage error) otherwise. */
static int parse_ms(const char *v, unsigned long *ms)
{
    if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 9)
        return -1;
    *ms = strtoul(v, NULL, 10);
    return *ms ? 1 : -1;
}

/* Options both commands share; returns 1 when argv[*i] was one of them,
 * -1 when it was one with a bad value. */
static int common_option(sign_args *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!strcmp(o, "--gmt-oids")) {
        a->sign.oids = FB_CMS_OIDS_GMT0010;
        return 1;
    }
    if (!strcmp(o, "--pss")) {
        a->port.rsa_pss = 1;
        return 1;
    }
    if (!v)
        return 0;
    if (!strcmp(o, "--token-timeout")) {
        (*i)++;
        return parse_ms(v, &a->port.call_timeout_ms);
    }
    const char **slot = !strcmp(o, "--port")      ? &a->port_uri
                        : !strcmp(o, "--out")     ? &a->out
                        : !strcmp(o, "--out-dir") ? &a->out_dir
                        : !strcmp(o, "--cert")    ? &a->port.cert_path
                        : !strcmp(o, "--profile") ? &a->port.profile
                        : !strcmp(o, "--sm2-id")  ? &a->port.sm2_id
                                                  : NULL;
    if (!slot)
        return 0;
    *slot = v;
    (*i)++;
    return 1;
}

static int seal_option(sign_args *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
    if (!v)
        return 0;
    if (!strcmp(o, "--coverage")) {
        (*i)++;
        return fb_seal_coverage_parse(v, &a->seal.coverage) == FB_OK ? 1 : -1;
    }
    const char **slot = !strcmp(o, "--trust")       ? &a->trust_path
                        : !strcmp(o, "--seal-id")   ? &a->seal.seal_id
                        : !strcmp(o, "--seal-name") ? &a->seal.seal_name
                        : !strcmp(o, "--area")      ? &a->seal.area_code
                        : !strcmp(o, "--unit-sm2-id") ? &a->seal.sm2_id
                                                    : NULL;
    if (!slot)
        return 0;
    *slot = v;
    (*i)++;
    return 1;
}

static int parse_args(sign_args *a, int argc, char **argv, bool seal)
{
    a->inputs = calloc((size_t)argc, sizeof *a->inputs);
    if (!a->inputs)
        return -1;
    for (int i = 1; i < argc; i++) {
        int r = common_option(a, argc, argv, &i);
        if (r < 0)
            return -1;
        if (!r && seal)
            r = seal_option(a, argc, argv, &i);
        if (r < 0 || (!r && argv[i][0] == '-'))
            return -1;
        if (!r)
            a->inputs[a->n_inputs++] = argv[i];
    }
    bool one = a->out && !a->out_dir && a->n_inputs == 1;
    bool batch = a->out_dir && !a->out && a->n_inputs >= 1;
    if (!a->port_uri || !(one || batch))
        return -1;
    if (seal && (!a->trust_path || !a->seal.seal_id || !a->seal.seal_name))
        return -1;
    return 0;
}

static int read_input(const char *path, uint8_t **data, size_t *len)
{
    fb_document *doc;
    int rc = fb_document_load(&doc, path, NULL);
    if (rc)
        return rc;
    const uint8_t *d = fb_document_data(doc, len);
    *data = malloc(*len);
    if (*data)
        memcpy(*data, d, *len);
    fb_document_free(doc);
    return *data ? FB_OK : FB_ENOMEM;
}

/* The name an input's bill takes in --out-dir: its last component. */
static void output_name(const char *input, char name[4096])
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", input);
    snprintf(name, 4096, "%s", basename(copy));
}

static const char *output_path(const sign_args *a, const char *input, char *buf, size_t size)
{
    if (a->out)
        return a->out;
    char name[4096];
    output_name(input, name);
    snprintf(buf, size, "%s/%s", a->out_dir, name);
    return buf;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* With --out-dir, each output is named after its input's last component:
 * two inputs with the same name would overwrite each other's bill. Checked
 * before anything is signed. 0, or -1 after naming the two. */
static int distinct_outputs(const sign_args *a)
{
    if (a->out || a->n_inputs < 2)
        return 0;
    char **names = calloc((size_t)a->n_inputs, sizeof *names);
    int rc = names ? 0 : -1;
    for (int i = 0; !rc && i < a->n_inputs; i++) {
        char name[4096];
        output_name(a->inputs[i], name);
        rc = (names[i] = strdup(name)) ? 0 : -1;
    }
    if (!rc)
        qsort(names, (size_t)a->n_inputs, sizeof *names, by_name);
    for (int i = 1; !rc && i < a->n_inputs; i++)
        if (!strcmp(names[i - 1], names[i])) {
            cli_error("two inputs are named %s: their bills would overwrite each other in %s",
                      names[i], a->out_dir);
            rc = -1;
        }
    for (int i = 0; names && i < a->n_inputs; i++)
        free(names[i]);
    free(names);
    return rc;
}

static void print_problems(const char *path, fb_problems *p)
{
    fprintf(stderr, "%s: refused, the bill is invalid:\n", path);
    for (size_t i = 0; i < fb_problems_count(p); i++)
        fprintf(stderr, "  %s: %s\n", fb_problems_path(p, i), fb_problems_message(p, i));
}

/* Sign one input; 0 done, 1 refused. */
static int sign_one(const sign_args *a, fb_port *port, bool seal, const char *input)
{
    uint8_t *data = NULL;
    size_t len = 0;
    fb_buf out = FB_BUF_INIT;
    fb_problems *problems = NULL;
    char path_buf[4200];
    const char *out_path = output_path(a, input, path_buf, sizeof path_buf);
    int rc = read_input(input, &data, &len);
    if (!rc && seal)
        rc = fb_seal(port, data, len, &a->seal, &out);
    else if (!rc)
        rc = fb_issue_document(port, data, len, &a->sign, &out, &problems);
    int status = 0;
    if (rc) {
        if (fb_problems_count(problems))
            print_problems(input, problems);
        else
            fprintf(stderr, "%s: refused: %s\n", input, fb_last_error());
        status = 1;
    } else if (cli_write_atomic(out_path, out.ptr, out.size)) {
        status = 1;
    } else {
        printf("%s -> %s\n", input, out_path);
    }
    fb_problems_free(problems);
    fb_buf_dispose(&out);
    free(data);
    return status;
}

static int run(int argc, char **argv, bool seal)
{
    sign_args a = { .port = FB_PORT_OPTIONS_INIT, .sign = FB_SIGN_OPTIONS_INIT,
                    .seal = FB_SEAL_OPTIONS_INIT };
    fb_trust *trust = NULL;
    fb_port *port = NULL;
    int status = EXIT_USAGE;
    if (parse_args(&a, argc, argv, seal)) {
        cli_error(seal ? "usage: fbill seal --port URI --trust ROOTS.pem --seal-id ID "
                         "--seal-name NAME [--area CODE] [--coverage C] [--cert F] "
                         "[--token-timeout MS] (--out FILE BILL | --out-dir DIR BILL...)"
                       : "usage: fbill issue --port URI [--cert FILE] [--profile P] [--sm2-id ID] "
                         "[--gmt-oids] [--pss] [--token-timeout MS] "
                         "(--out FILE BILL | --out-dir DIR BILL...)");
    } else if (distinct_outputs(&a)) {
        /* EXIT_USAGE */
    } else if (seal && (fb_trust_new(&trust) || fb_trust_add_anchors(trust, a.trust_path))) {
        cli_error("%s", fb_last_error());
    } else if (fb_port_open(&port, a.port_uri, &a.port)) {
        cli_error("%s", fb_last_error());
    } else {
        a.seal.trust = trust;
        a.seal.sign = a.sign;
        status = EXIT_OK;
        for (int i = 0; i < a.n_inputs; i++)
            if (sign_one(&a, port, seal, a.inputs[i]))
                status = EXIT_BAD_BILL;
    }
    fb_port_close(port);
    fb_trust_free(trust);
    free(a.inputs);
    return status;
}

int cmd_issue(int argc, char **argv)
{
    return run(argc, argv, false);
}

int cmd_seal(int argc, char **argv)
{
    return run(argc, argv, true);
}
