/* fbill: the command-line program of fiscalbill. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const struct {
    const char *name;
    command_fn fn;
    const char *summary;
} commands[] = {
    { "check", cmd_check, "check FILE...           validate bills, print every problem" },
    { "format", cmd_format, "format [--out F] FILE   print the canonical bytes of a bill" },
    { "show", cmd_show, "show [--trust ROOTS] FILE  render a bill for a person, verified with --trust" },
    { "template", cmd_template, "template [--kinds F] KIND  print an example bill of a kind" },
    { "issue", cmd_issue, "issue --port URI (--out F BILL | --out-dir D BILL...)  sign bills at a port" },
    { "seal", cmd_seal, "seal --port URI --trust PEM --seal-id ID --seal-name N (--out F | --out-dir D) BILL...\n"
                        "                          add the finance bureau's seal" },
    { "verify", cmd_verify, "verify [--trust PEM|DIR] [--crl F]... [--json] [-j N] [--files-from L] FILE...\n"
                            "                          check bills: signatures, certificates, the bill itself" },
    { "token", cmd_token, "token list [--module M]  the PKCS#11 tokens, keys and mechanisms found" },
    { "token", cmd_token, "token probe URI         open a port and sign a test message" },
    { "demo", cmd_demo, "demo [--dir DIR]        show what fiscalbill does, in a fresh folder" },
    { "bench", cmd_bench, "bench [--quick] [--json] [--keep]  how fast fiscalbill is, against baselines" },
};

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fbill: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: fbill COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %s\n", commands[i].summary);
    fprintf(out, "\nexit status: 0 ok, 1 a bill is invalid, 2 usage error or unreadable input\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("fbill %s\n", fb_version());
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    cli_error("unknown command \"%s\"", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
