/* fbill format: the canonical bytes of a (possibly indented) bill. */
#include <string.h>
#include "cli.h"

int cmd_format(int argc, char **argv)
{
    const char *out_path = NULL, *in_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            out_path = argv[++i];
        else if (argv[i][0] != '-' && !in_path)
            in_path = argv[i];
        else {
            cli_error("usage: fbill format [--out FILE] FILE");
            return EXIT_USAGE;
        }
    }
    if (!in_path) {
        cli_error("usage: fbill format [--out FILE] FILE");
        return EXIT_USAGE;
    }
    fb_document *doc;
    int rc = fb_document_load(&doc, in_path, NULL);
    if (rc) {
        cli_error("%s", fb_last_error());
        return cli_load_exit(rc);
    }
    fb_buf canon = FB_BUF_INIT;
    int status = EXIT_OK;
    if ((rc = fb_document_write(doc, &canon))) {
        cli_error("%s: %s", in_path, fb_last_error());
        status = EXIT_USAGE;
    } else if (fb_document_signature_count(doc) && fb_document_is_canonical(doc) != 1) {
        /* The signatures cover the bytes as they were; the new bytes differ. */
        cli_error("warning: %s was signed over other bytes; its signatures will not match the "
                  "canonical form", in_path);
    }
    if (status == EXIT_OK && out_path)
        status = cli_write_atomic(out_path, canon.ptr, canon.size) ? EXIT_USAGE : EXIT_OK;
    else if (status == EXIT_OK)
        status = fwrite(canon.ptr, 1, canon.size, stdout) == canon.size ? EXIT_OK : EXIT_USAGE;
    fb_buf_dispose(&canon);
    fb_document_free(doc);
    return status;
}
