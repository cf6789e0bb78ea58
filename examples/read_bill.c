/* Read an untrusted bill document, report where its signed fragment lies
 * and validate it. Usage: read_bill FILE */
#include <stdio.h>
#include <fiscalbill/fiscalbill.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: read_bill FILE\n");
        return 2;
    }
    fb_document *doc;
    int rc = fb_document_load(&doc, argv[1], NULL); /* default size and depth limits */
    if (rc != FB_OK) {
        fprintf(stderr, "%s: %s\n", fb_status_str(rc), fb_last_error());
        return 1;
    }
    const fb_bill *bill = fb_document_bill(doc);
    size_t offset, len;
    fb_document_fragment(doc, &offset, &len);
    printf("bill %s-%s, total %s\n", fb_bill_get(bill, FB_EINVOICE_CODE),
           fb_bill_get(bill, FB_EINVOICE_NUMBER), fb_bill_get(bill, FB_TOTAL_AMOUNT));
    printf("signed fragment: bytes %zu..%zu, %zu signature node(s)\n", offset, offset + len,
           fb_document_signature_count(doc));

    fb_problems *problems;
    rc = fb_bill_validate(bill, &problems);
    for (size_t i = 0; i < fb_problems_count(problems); i++)
        printf("problem: %s: %s\n", fb_problems_path(problems, i), fb_problems_message(problems, i));
    printf("%s\n", rc == FB_OK ? "valid" : "invalid");
    fb_problems_free(problems);
    fb_document_free(doc);
    return rc == FB_OK ? 0 : 1;
}
