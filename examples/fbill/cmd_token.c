/* fbill token: what the PKCS#11 modules offer, and whether a port works. */
#include <string.h>
#include <time.h>
#include "cli.h"

static int token_list(int argc, char **argv)
{
    const char *module = NULL;
    if (argc == 3 && !strcmp(argv[1], "--module"))
        module = argv[2];
    else if (argc != 1) {
        cli_error("usage: fbill token list [--module PATH]");
        return EXIT_USAGE;
    }
    fb_buf out = FB_BUF_INIT;
    int rc = fb_port_inventory(module, &out);
    if (rc)
        cli_error("%s", fb_last_error());
    else
        fwrite(out.ptr, 1, out.size, stdout);
    fb_buf_dispose(&out);
    return rc ? EXIT_USAGE : EXIT_OK;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* Open the port and sign a test message: the profile in use, and proof
 * that the token's signature verifies with the certificate. */
static int token_probe(int argc, char **argv)
{
    fb_port_options o = FB_PORT_OPTIONS_INIT;
    const char *uri = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && !strcmp(argv[i], "--cert"))
            o.cert_path = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--profile"))
            o.profile = argv[++i];
        else if (i + 1 < argc && !strcmp(argv[i], "--sm2-id"))
            o.sm2_id = argv[++i];
        else if (!strcmp(argv[i], "--pss"))
            o.rsa_pss = 1;
        else if (!uri && argv[i][0] != '-')
            uri = argv[i];
        else
            uri = NULL, i = argc;
    }
    if (!uri) {
        cli_error("usage: fbill token probe [--cert FILE] [--profile NAME] [--sm2-id ID] "
                  "[--pss] URI");
        return EXIT_USAGE;
    }
    fb_port *port;
    double t0 = now_ms();
    int rc = fb_port_open(&port, uri, &o);
    if (rc) {
        cli_error("%s", fb_last_error());
        return EXIT_BAD_BILL;
    }
    double t1 = now_ms();
    static const char msg[] = "fiscalbill token probe";
    uint8_t sig[1024];
    size_t len = sizeof sig;
    rc = fb_port_sign(port, msg, sizeof msg - 1, sig, &len);
    double t2 = now_ms();
    printf("port:      %s\n", fb_port_describe(port));
    printf("signer:    %s\n", fb_port_subject(port));
    printf("algorithm: %s%s%s\n", fb_sig_alg_name(fb_port_algorithm(port)),
           fb_port_sm2_id(port) ? ", SM2 user ID " : "",
           fb_port_sm2_id(port) ? fb_port_sm2_id(port) : "");
    printf("opened in %.1f ms\n", t1 - t0);
    if (rc)
        printf("test signature: FAILED: %s\n", fb_last_error());
    else
        printf("test signature: %zu bytes in %.1f ms, verified with the certificate\n", len,
               t2 - t1);
    fb_port_close(port);
    return rc ? EXIT_BAD_BILL : EXIT_OK;
}

int cmd_token(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "list"))
        return token_list(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "probe"))
        return token_probe(argc - 1, argv + 1);
    cli_error("usage: fbill token list [--module PATH] | fbill token probe URI");
    return EXIT_USAGE;
}
