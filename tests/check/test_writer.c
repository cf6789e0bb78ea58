/* The canonical writer: exact bytes, escaping, which elements appear when
 * unset, MainExt order, and buffer behaviour. */
#include <string.h>
#include "fbt.h"

static char *write_doc(const fb_bill *b)
{
    fb_buf buf = FB_BUF_INIT;
    ck_assert_int_eq(fb_bill_write_document(b, &buf), FB_OK);
    ck_assert_uint_eq(strlen((char *)buf.ptr), buf.size);
    return (char *)buf.ptr;
}

static char *write_fragment(const fb_bill *b)
{
    fb_buf buf = FB_BUF_INIT;
    ck_assert_int_eq(fb_bill_write_fragment(b, &buf), FB_OK);
    return (char *)buf.ptr;
}

/* The whole document of an empty bill, written out by hand from
 * specs/bill-format.md: every fixed element present and empty, sparse and
 * repeated containers empty. */
static const char empty_doc[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><EInvoice>"
    "<Header><EInvoiceTag/><EInvoiceID/><Version/></Header>"
    "<EInvoiceData><Main><EInvoiceName/><EInvoiceCode/><EInvoiceNumber/><RandomNumber/>"
    "<EInvoiceSpecimenCode/><SupervisorAreaCode/><TotalAmount/><IssueDate/><IssueTime/>"
    "<InvoicingParty><InvoicingPartyCode/><InvoicingPartyName/><RecName/><RecAcct/><RecOpBk/>"
    "</InvoicingParty>"
    "<PayerParty><PayerPartyType/><PayerPartyCode/><PayerPartyName/><PayerAcct/><PayerOpBk/>"
    "</PayerParty>"
    "<PayMode/><BizCode/><CurrencyType/><ExchangeRate/><Remark/><HandlingPerson/><Checker/>"
    "<SupervisorRemark/><MainExt/>"
    "<InvoicingPartySeal><SealId/><SealName/><SealHash/></InvoicingPartySeal>"
    "<SupervisorPartySeal><SealId/><SealName/><SealHash/></SupervisorPartySeal>"
    "</Main><Details/><AuxDetails/></EInvoiceData></EInvoice>";

START_TEST(empty_bill_exact_bytes)
{
    fb_bill *b;
    ck_assert_int_eq(fb_bill_new(&b), FB_OK);
    char *doc = write_doc(b);
    ck_assert_str_eq(doc, empty_doc);
    free(doc);
    fb_bill_free(b);
}
END_TEST

START_TEST(one_item_exact_bytes)
{
    fb_bill *b;
    size_t i;
    ck_assert_int_eq(fb_bill_new(&b), FB_OK);
    ck_assert_int_eq(fb_bill_item_add(b, &i), FB_OK);
    ck_assert_int_eq(fb_bill_item_set(b, i, FB_ITEM_NAME, "挂号费"), FB_OK);
    ck_assert_int_eq(fb_bill_item_set_amount(b, i, FB_ITEM_AMOUNT, 1000), FB_OK);
    ck_assert_int_eq(fb_bill_item_set(b, i, FB_ITEM_DETAIL_NAME, "普通号"), FB_OK);
    ck_assert_int_eq(fb_bill_aux_add(b, &i), FB_OK);
    ck_assert_int_eq(fb_bill_aux_set(b, i, FB_AUX_NAME, "x"), FB_OK);
    char *doc = write_doc(b);
    ck_assert_ptr_nonnull(strstr(doc,
        "<Details><Item><ItemCode/><ItemName>挂号费</ItemName><ItemQuantity/><ItemUnit/>"
        "<ItemStd/><ItemAmount>10.00</ItemAmount><ItemRemark/>"
        "<ItemExt><ItemDetailName>普通号</ItemDetailName></ItemExt></Item></Details>"
        "<AuxDetails><AuxItem><AuxItemRelatedCode/><AuxItemRelatedName/><AuxItemCode/>"
        "<AuxItemName>x</AuxItemName><AuxItemQuantity/><AuxItemUnit/><AuxItemStd/>"
        "<AuxItemAmount/><AuxItemRemark/></AuxItem></AuxDetails></EInvoiceData></EInvoice>"));
    free(doc);
    fb_bill_free(b);
}
END_TEST

START_TEST(escaping)
{
    fb_bill *b;
    ck_assert_int_eq(fb_bill_new(&b), FB_OK);
    ck_assert_int_eq(fb_bill_set(b, FB_REMARK, "A&B<C>D\r\nE\t\"'F]]>"), FB_OK);
    char *doc = write_doc(b);
    ck_assert_ptr_nonnull(
        strstr(doc, "<Remark>A&amp;B&lt;C&gt;D&#13;\nE\t\"'F]]&gt;</Remark>"));
    free(doc);
    fb_bill_free(b);
}
END_TEST

START_TEST(main_ext_order)
{
    fb_bill *b;
    ck_assert_int_eq(fb_bill_new(&b), FB_OK);
    /* Set in an order unlike the canonical one. */
    ck_assert_int_eq(fb_bill_ext_set(b, "ZoneCode", "7"), FB_OK);
    ck_assert_int_eq(fb_bill_set(b, FB_EXT_PAY_CODE, "P1"), FB_OK);
    ck_assert_int_eq(fb_bill_ext_set(b, "AlphaFlag", ""), FB_OK);
    ck_assert_int_eq(fb_bill_ext_set(b, "Gender", "女"), FB_OK);
    char *doc = write_doc(b);
    ck_assert_ptr_nonnull(strstr(doc, "<MainExt><Gender>女</Gender><PayCode>P1</PayCode>"
                                      "<ZoneCode>7</ZoneCode><AlphaFlag/></MainExt>"));
    free(doc);
    fb_bill_free(b);
}
END_TEST

START_TEST(fragment_is_inside_document)
{
    fb_bill *b = fbt_sample_bill();
    char *doc = write_doc(b), *frag = write_fragment(b);
    const char *head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><EInvoice>";
    ck_assert_int_eq(strncmp(doc, head, strlen(head)), 0);
    ck_assert_int_eq(strncmp(doc + strlen(head), frag, strlen(frag)), 0);
    ck_assert_str_eq(doc + strlen(head) + strlen(frag), "</EInvoice>");
    ck_assert_int_eq(strncmp(frag, "<Header><EInvoiceTag>CZ-EI-65</EInvoiceTag>", 43), 0);
    /* No whitespace between elements anywhere. */
    ck_assert_ptr_null(strstr(doc, ">\n"));
    ck_assert_ptr_null(strstr(doc, "> <"));
    free(doc);
    free(frag);
    fb_bill_free(b);
}
END_TEST

START_TEST(sample_matches_schema)
{
    fb_bill *b = fbt_sample_bill();
    fb_buf buf = FB_BUF_INIT;
    char why[512] = "";
    ck_assert_int_eq(fb_bill_write_document(b, &buf), FB_OK);
    ck_assert_msg(fbt_xsd_validate(buf.ptr, buf.size, why, sizeof why) == 0, "%s", why);
    fb_buf_dispose(&buf);
    fb_bill_free(b);
}
END_TEST

START_TEST(deterministic_and_appends)
{
    fb_bill *b = fbt_sample_bill(), *copy;
    ck_assert_int_eq(fb_bill_dup(b, &copy), FB_OK);
    fb_buf buf = FB_BUF_INIT;
    ck_assert_int_eq(fb_bill_write_fragment(b, &buf), FB_OK);
    size_t one = buf.size;
    ck_assert_int_eq(fb_bill_write_fragment(copy, &buf), FB_OK);
    ck_assert_uint_eq(buf.size, 2 * one);
    ck_assert_int_eq(memcmp(buf.ptr, buf.ptr + one, one), 0);
    fb_buf_dispose(&buf);
    ck_assert_ptr_null(buf.ptr);
    fb_bill_free(copy);
    fb_bill_free(b);
}
END_TEST

START_TEST(null_arguments)
{
    fb_buf buf = FB_BUF_INIT;
    fb_bill *b = fbt_sample_bill();
    ck_assert_int_eq(fb_bill_write_document(NULL, &buf), FB_EARG);
    ck_assert_int_eq(fb_bill_write_document(b, NULL), FB_EARG);
    ck_assert_int_eq(fb_bill_write_fragment(NULL, &buf), FB_EARG);
    ck_assert_ptr_nonnull(strstr(fb_last_error(), "NULL"));
    ck_assert_uint_eq(buf.size, 0);
    fb_buf_dispose(NULL);
    fb_bill_free(b);
}
END_TEST

Suite *fbt_suite(void)
{
    Suite *s = suite_create("writer");
    TCase *tc = tcase_create("writer");
    tcase_add_test(tc, empty_bill_exact_bytes);
    tcase_add_test(tc, one_item_exact_bytes);
    tcase_add_test(tc, escaping);
    tcase_add_test(tc, main_ext_order);
    tcase_add_test(tc, fragment_is_inside_document);
    tcase_add_test(tc, sample_matches_schema);
    tcase_add_test(tc, deterministic_and_appends);
    tcase_add_test(tc, null_arguments);
    suite_add_tcase(s, tc);
    return s;
}
