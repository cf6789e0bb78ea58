/* fbill template: an example unsigned bill of a kind, to start from. */
#include <string.h>
#include "cli.h"

static void list_kinds(const fb_kinds *kinds)
{
    fb_kind_info k;
    fprintf(stderr, "kinds:\n");
    for (size_t i = 0; fb_kinds_get(kinds, i, &k) == FB_OK; i++)
        fprintf(stderr, "  %-20s %s  %s\n", k.slug, k.code ? k.code : "----", k.name);
}

int cmd_template(int argc, char **argv)
{
    const char *kinds_path = NULL, *slug = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--kinds") && i + 1 < argc)
            kinds_path = argv[++i];
        else if (argv[i][0] != '-' && !slug)
            slug = argv[i];
        else
            slug = NULL, i = argc;
    }
    fb_kinds *kinds;
    if (fb_kinds_new(&kinds)) {
        cli_error("%s", fb_last_error());
        return EXIT_USAGE;
    }
    int status = EXIT_USAGE;
    fb_bill *bill = NULL;
    bool code_missing = false;
    fb_buf doc = FB_BUF_INIT;
    if (!slug) {
        cli_error("usage: fbill template [--kinds FILE] KIND");
        list_kinds(kinds);
    } else if (kinds_path && fb_kinds_load_file(kinds, kinds_path)) {
        cli_error("%s", fb_last_error());
    } else if (sample_bill(kinds, slug, &bill, &code_missing) ||
               fb_bill_write_document(bill, &doc)) {
        cli_error("%s", fb_last_error());
        if (fb_kinds_find(kinds, slug, &(fb_kind_info){ 0 }) == FB_ENOTFOUND)
            list_kinds(kinds);
    } else {
        /* The canonical bytes exactly, so `> file` gives a canonical file:
         * no newline after </EInvoice>. */
        status = fwrite(doc.ptr, 1, doc.size, stdout) == doc.size ? EXIT_OK : EXIT_USAGE;
        if (code_missing)
            cli_error("note: EInvoiceCode and EInvoiceID are left empty: the code of this kind "
                      "is not public; configure it with --kinds FILE (specs/kinds.md)");
    }
    fb_buf_dispose(&doc);
    fb_bill_free(bill);
    fb_kinds_free(kinds);
    return status;
}
