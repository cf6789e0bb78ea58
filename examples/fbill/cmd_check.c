/* fbill check: validate bills and print every problem. */
#include "cli.h"

/* 0 valid, 1 invalid, 2 unreadable. */
static int check_one(const char *path)
{
    fb_document *doc;
    int rc = fb_document_load(&doc, path, NULL);
    if (rc) {
        printf("%s: %s\n", path, rc == FB_EIO ? "unreadable" : "not a bill document");
        printf("  %s\n", fb_last_error());
        return cli_load_exit(rc);
    }
    fb_problems *problems = NULL;
    rc = fb_bill_validate(fb_document_bill(doc), &problems);
    if (rc != FB_OK && rc != FB_EINVALID) {
        cli_error("%s: %s", path, fb_last_error());
        fb_document_free(doc);
        return EXIT_USAGE;
    }
    size_t n = fb_problems_count(problems);
    printf("%s: %s", path, n ? "invalid" : "valid");
    if (n)
        printf(", %zu problem%s\n", n, n == 1 ? "" : "s");
    else
        printf("%s\n", fb_document_is_canonical(doc) == 1 ? "" : " (not in canonical form)");
    for (size_t i = 0; i < n; i++)
        printf("  %s: %s\n", fb_problems_path(problems, i), fb_problems_message(problems, i));
    fb_problems_free(problems);
    fb_document_free(doc);
    return n ? EXIT_BAD_BILL : EXIT_OK;
}

int cmd_check(int argc, char **argv)
{
    if (argc < 2) {
        cli_error("usage: fbill check FILE...");
        return EXIT_USAGE;
    }
    int worst = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        int rc = check_one(argv[i]);
        if (rc > worst)
            worst = rc;
    }
    return worst;
}
