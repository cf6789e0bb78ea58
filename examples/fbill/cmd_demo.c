/* fbill demo: the whole chain in a fresh folder. Bills of the first kinds
 * rolled out are built, written and read back; a wrong bill and a hostile
 * file are refused; then a test CA and SoftHSM tokens for two cashier
 * windows and the finance bureau are made, the bills issued, sealed and
 * verified, and a tampered copy caught. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"
#include "demo_setup.h"

static int make_dir(const char *dir, char *out, size_t size)
{
    if (dir) {
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            cli_error("%s: %s", dir, strerror(errno));
            return -1;
        }
        snprintf(out, size, "%s", dir);
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(out, size, "%s/fbill-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(out)) {
        cli_error("cannot create a demo folder: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Build, validate, write and read back one sample bill. */
static int issue_sample(const fb_kinds *kinds, const char *slug, const char *dir)
{
    fb_bill *bill = NULL;
    fb_problems *problems = NULL;
    fb_document *doc = NULL;
    fb_buf bytes = FB_BUF_INIT;
    bool code_missing;
    char path[4096];
    snprintf(path, sizeof path, "%s/bills/%s.xml", dir, slug);
    int rc = sample_bill(kinds, slug, &bill, &code_missing);
    if (!rc)
        rc = fb_bill_validate(bill, &problems);
    if (!rc)
        rc = fb_bill_write_document(bill, &bytes);
    if (!rc && cli_write_atomic(path, bytes.ptr, bytes.size))
        rc = FB_EIO;
    if (!rc)
        rc = fb_document_load(&doc, path, NULL);
    if (rc) {
        cli_error("%s: %s", slug, fb_last_error());
    } else {
        int64_t fen = 0;
        char capitals[FB_CAPITALS_BUFSIZE], key[FB_BILL_KEY_BUFSIZE];
        fb_bill_get_amount(bill, FB_TOTAL_AMOUNT, &fen);
        fb_amount_capitals(fen, capitals, sizeof capitals);
        fb_bill_key(bill, key);
        printf("  ✓ %-18s %s  %12s 元  %s\n    %s, %zu bytes, read back %s\n", slug, key,
               fb_bill_get(bill, FB_TOTAL_AMOUNT), capitals, path, bytes.size,
               fb_document_is_canonical(doc) == 1 ? "byte-identical" : "DIFFERENT");
    }
    fb_document_free(doc);
    fb_buf_dispose(&bytes);
    fb_problems_free(problems);
    fb_bill_free(bill);
    return rc;
}

/* A cashier's typo: one item's amount changed, so the items no longer add
 * up, and a malformed date. */
static void show_wrong_bill(const fb_kinds *kinds)
{
    fb_bill *bill;
    bool code_missing;
    fb_problems *problems;
    if (sample_bill(kinds, "medical-outpatient", &bill, &code_missing))
        return;
    fb_bill_item_set(bill, 1, FB_ITEM_AMOUNT, "20.00");
    fb_bill_set(bill, FB_ISSUE_DATE, "2026-11-15");
    printf("\n2. A bill with a typo is refused with every problem named:\n");
    if (fb_bill_validate(bill, &problems) == FB_EINVALID)
        for (size_t i = 0; i < fb_problems_count(problems); i++)
            printf("  ✗ %s: %s\n", fb_problems_path(problems, i), fb_problems_message(problems, i));
    fb_problems_free(problems);
    fb_bill_free(bill);
}

static void show_hostile_file(void)
{
    static const char xxe[] =
        "<?xml version=\"1.0\"?><!DOCTYPE EInvoice [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
        "<EInvoice><Header><EInvoiceTag>&x;</EInvoiceTag></Header></EInvoice>";
    fb_document *doc;
    printf("\n3. Untrusted input: a file that tries to read /etc/passwd through an entity:\n");
    if (fb_document_parse(&doc, xxe, sizeof xxe - 1, NULL) != FB_OK)
        printf("  ✗ refused: %s\n", fb_last_error());
    else
        fb_document_free(doc);
}

static int make_sub(const char *dir, const char *sub, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", dir, sub);
    if (mkdir(out, 0700) != 0) {
        cli_error("%s: %s (the demo folder must be new or empty)", out, strerror(errno));
        return -1;
    }
    return 0;
}

static int bills_step(const fb_kinds *kinds, const char *dir)
{
    char sub[4100];
    if (make_sub(dir, "bills", sub, sizeof sub))
        return -1;
    printf("1. Bills of the first kinds rolled out, built through the API, validated,\n"
           "   written as canonical documents and read back:\n");
    for (size_t i = 0; i < sample_slug_count; i++)
        if (issue_sample(kinds, sample_slugs[i], dir) != FB_OK)
            return -1;
    show_wrong_bill(kinds);
    show_hostile_file();
    return 0;
}

static int chain_step(const fb_kinds *kinds, const char *dir)
{
    demo_env env;
    memset(&env, 0, sizeof env);
    if (make_sub(dir, "world", env.dir, sizeof env.dir))
        return -1;
    printf("\n4. A test world: a finance root CA, and SoftHSM tokens for two cashier windows\n"
           "   and the finance bureau, each with a key made on the token (demo only):\n");
    if (demo_setup(&env, stdout))
        return -1;
    printf("\n5. Issuing at the windows (开票单位签章) and sealing at the bureau (财政监制章):\n");
    return demo_chain(&env, kinds, dir);
}

int cmd_demo(int argc, char **argv)
{
    const char *dir_arg = NULL;
    if (argc == 3 && !strcmp(argv[1], "--dir"))
        dir_arg = argv[2];
    else if (argc != 1) {
        cli_error("usage: fbill demo [--dir DIR]");
        return EXIT_USAGE;
    }
    char dir[4000];
    fb_kinds *kinds;
    if (make_dir(dir_arg, dir, sizeof dir) || fb_kinds_new(&kinds))
        return EXIT_USAGE;
    printf("fiscalbill %s demo: fiscal electronic bills (财政电子票据)\n\n", fb_version());
    int failed = fb_kinds_load_text(kinds, sample_kinds_conf, strlen(sample_kinds_conf)) != 0 ||
                 bills_step(kinds, dir) || chain_step(kinds, dir);
    fb_kinds_free(kinds);
    printf("\n%s. Everything is in %s\n", failed ? "FAILED" : "Done", dir);
    printf("   bills/ unsigned bills, issued/ unit-signed, sealed/ sealed (and one tampered),\n"
           "   world/ the test CA, tokens and PINs of this demo.\n");
    return failed ? EXIT_BAD_BILL : EXIT_OK;
}
