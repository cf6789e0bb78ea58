/* Build a bill through the API, validate it and print its canonical
 * document. Compile: cc build_bill.c $(pkg-config --cflags --libs fiscalbill) */
#include <stdio.h>
#include <fiscalbill/fiscalbill.h>

#define TRY(call)                                                                  \
    do {                                                                           \
        int rc_ = (call);                                                          \
        if (rc_ != FB_OK) {                                                        \
            fprintf(stderr, "%s: %s\n", fb_status_str(rc_), fb_last_error());      \
            goto done;                                                             \
        }                                                                          \
    } while (0)

int main(void)
{
    fb_bill *bill = NULL;
    fb_problems *problems = NULL;
    fb_buf doc = FB_BUF_INIT;
    int status = 1;
    size_t item;

    TRY(fb_bill_new(&bill));
    TRY(fb_bill_set(bill, FB_EINVOICE_NAME, "医疗门诊收费票据（电子）"));
    TRY(fb_bill_set(bill, FB_EINVOICE_CODE, "65060126"));
    TRY(fb_bill_set(bill, FB_EINVOICE_NUMBER, "0000000042"));
    TRY(fb_bill_set(bill, FB_EINVOICE_SPECIMEN_CODE, "65001"));
    TRY(fb_bill_set(bill, FB_SUPERVISOR_AREA_CODE, "652300"));
    TRY(fb_bill_set(bill, FB_ISSUE_DATE, "20261115"));
    TRY(fb_bill_set(bill, FB_ISSUE_TIME, "09:30:00"));
    TRY(fb_bill_set(bill, FB_INVOICING_PARTY_CODE, "12652300458800000X"));
    TRY(fb_bill_set(bill, FB_INVOICING_PARTY_NAME, "昌吉回族自治州人民医院"));
    TRY(fb_bill_set(bill, FB_PAYER_PARTY_TYPE, "1"));
    TRY(fb_bill_set(bill, FB_PAYER_PARTY_NAME, "张三"));
    TRY(fb_bill_set(bill, FB_HANDLING_PERSON, "王芳"));
    TRY(fb_bill_set(bill, FB_CHECKER, "李强"));
    TRY(fb_bill_set(bill, FB_INVOICING_SEAL_ID, "65230001"));
    TRY(fb_bill_set(bill, FB_INVOICING_SEAL_NAME, "昌吉回族自治州人民医院财务专用章"));
    TRY(fb_bill_set(bill, FB_INVOICING_SEAL_HASH,
                    "0000000000000000000000000000000000000000000000000000000000000000"));
    TRY(fb_bill_item_add(bill, &item));
    TRY(fb_bill_item_set(bill, item, FB_ITEM_CODE, "01"));
    TRY(fb_bill_item_set(bill, item, FB_ITEM_NAME, "挂号费"));
    TRY(fb_bill_item_set_amount(bill, item, FB_ITEM_AMOUNT, 1000)); /* fen: 10.00 yuan */
    TRY(fb_bill_set_amount(bill, FB_TOTAL_AMOUNT, 1000));
    TRY(fb_bill_fill_derived(bill)); /* EInvoiceTag, EInvoiceID, Version */

    if (fb_bill_validate(bill, &problems) != FB_OK) {
        for (size_t i = 0; i < fb_problems_count(problems); i++)
            fprintf(stderr, "%s: %s\n", fb_problems_path(problems, i),
                    fb_problems_message(problems, i));
        goto done;
    }
    TRY(fb_bill_write_document(bill, &doc));
    fwrite(doc.ptr, 1, doc.size, stdout);
    putchar('\n');
    status = 0;
done:
    fb_buf_dispose(&doc);
    fb_problems_free(problems);
    fb_bill_free(bill);
    return status;
}
