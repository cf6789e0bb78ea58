/* fiscalbill: the bill model.
 *
 * An fb_bill holds every element of a fiscal electronic bill as text, exactly
 * as it will be written (or as it was read), addressed by field identifiers:
 * fb_field for the single elements of Header and Main, fb_item_field for the
 * elements of each Details/Item, fb_aux_field for each AuxDetails/AuxItem.
 * MainExt children the library does not know are kept as ordered name/value
 * pairs, so nothing read is dropped.
 *
 * Setters check only that a value can be carried by an XML document (valid
 * UTF-8, no control characters, a length limit); whether the bill follows the
 * national format is the job of fb_bill_validate() (validate.h), so a bill can
 * be built in any order and an invalid bill read from a file can be reported
 * in full. An empty string and NULL both mean "unset".
 *
 * An fb_bill is not safe for concurrent use; distinct bills are. */
#ifndef FISCALBILL_BILL_H
#define FISCALBILL_BILL_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fb_bill fb_bill;

/* The longest value a field may hold, in bytes. */
#define FB_VALUE_MAX 4096

/* Single elements, in document order. */
typedef enum fb_field {
    /* Header */
    FB_EINVOICE_TAG,
    FB_EINVOICE_ID,
    FB_VERSION,
    /* EInvoiceData/Main */
    FB_EINVOICE_NAME,
    FB_EINVOICE_CODE,
    FB_EINVOICE_NUMBER,
    FB_RANDOM_NUMBER,
    FB_EINVOICE_SPECIMEN_CODE,
    FB_SUPERVISOR_AREA_CODE,
    FB_TOTAL_AMOUNT,
    FB_ISSUE_DATE,
    FB_ISSUE_TIME,
    /* Main/InvoicingParty */
    FB_INVOICING_PARTY_CODE,
    FB_INVOICING_PARTY_NAME,
    FB_REC_NAME,
    FB_REC_ACCT,
    FB_REC_OP_BK,
    /* Main/PayerParty */
    FB_PAYER_PARTY_TYPE,
    FB_PAYER_PARTY_CODE,
    FB_PAYER_PARTY_NAME,
    FB_PAYER_ACCT,
    FB_PAYER_OP_BK,
    /* Main */
    FB_PAY_MODE,
    FB_BIZ_CODE,
    FB_CURRENCY_TYPE,
    FB_EXCHANGE_RATE,
    FB_REMARK,
    FB_HANDLING_PERSON,
    FB_CHECKER,
    FB_SUPERVISOR_REMARK,
    /* Main/MainExt: written only when set */
    FB_EXT_BUSINESS_NUMBER,
    FB_EXT_BUSINESS_DATE,
    FB_EXT_GENDER,
    FB_EXT_AGE,
    FB_EXT_ADDRESS,
    FB_EXT_SCHOOL,
    FB_EXT_FACULTY,
    FB_EXT_MAJOR,
    FB_EXT_CLASSES,
    FB_EXT_STUDENT_ID,
    FB_EXT_MEDICAL_TYPE,
    FB_EXT_PATIENT_NUMBER,
    FB_EXT_MEDICAL_DATE,
    FB_EXT_ORG_TYPE,
    FB_EXT_MEDICAL_INSURANCE_TYPE,
    FB_EXT_MEDICAL_INSURANCE_ID,
    FB_EXT_FUND_PAY_AMOUNT,
    FB_EXT_OTHER_PAY_AMOUNT,
    FB_EXT_ACCOUNT_PAY_AMOUNT,
    FB_EXT_OWN_PAY_AMOUNT,
    FB_EXT_SELFPAYMENT_AMOUNT,
    FB_EXT_SELFPAYMENT_COST,
    FB_EXT_CASE_NUMBER,
    FB_EXT_HOSPITALIZATION_NUMBER,
    FB_EXT_DEPARTMENT_NAME,
    FB_EXT_IN_HOSPITAL_DATE,
    FB_EXT_OUT_HOSPITAL_DATE,
    FB_EXT_PREPAY_AMOUNT,
    FB_EXT_RECHARGE_AMOUNT,
    FB_EXT_REFUND_AMOUNT,
    FB_EXT_RELATED_INVOICE_CODE,
    FB_EXT_RELATED_INVOICE_NUMBER,
    FB_EXT_PAY_CODE,
    /* Main/InvoicingPartySeal */
    FB_INVOICING_SEAL_ID,
    FB_INVOICING_SEAL_NAME,
    FB_INVOICING_SEAL_HASH,
    /* Main/SupervisorPartySeal */
    FB_SUPERVISOR_SEAL_ID,
    FB_SUPERVISOR_SEAL_NAME,
    FB_SUPERVISOR_SEAL_HASH,
    FB_FIELD_COUNT
} fb_field;

/* Elements of EInvoiceData/Details/Item. */
typedef enum fb_item_field {
    FB_ITEM_CODE,
    FB_ITEM_NAME,
    FB_ITEM_QUANTITY,
    FB_ITEM_UNIT,
    FB_ITEM_STD,
    FB_ITEM_AMOUNT,
    FB_ITEM_REMARK,
    FB_ITEM_DETAIL_NAME, /* ItemExt/ItemDetailName */
    FB_ITEM_FIELD_COUNT
} fb_item_field;

/* Elements of EInvoiceData/AuxDetails/AuxItem. */
typedef enum fb_aux_field {
    FB_AUX_RELATED_CODE,
    FB_AUX_RELATED_NAME,
    FB_AUX_CODE,
    FB_AUX_NAME,
    FB_AUX_QUANTITY,
    FB_AUX_UNIT,
    FB_AUX_STD,
    FB_AUX_AMOUNT,
    FB_AUX_REMARK,
    FB_AUX_FIELD_COUNT
} fb_aux_field;

/* What a field holds; validation checks the text against it. */
typedef enum fb_value_type {
    FB_TYPE_TEXT,
    FB_TYPE_AMOUNT,   /* decimal(15,2): use the *_amount accessors */
    FB_TYPE_QUANTITY, /* a non-negative decimal */
    FB_TYPE_DATE,     /* yyyyMMdd */
    FB_TYPE_TIME      /* HH:mm:ss */
} fb_value_type;

/* Names: the element name ("EInvoiceCode") and its path from the document
 * root ("EInvoiceData/Main/EInvoiceCode"; items and aux items as
 * "EInvoiceData/Details/Item/ItemName"). NULL for an out-of-range id. */
FB_EXTERN const char *fb_field_name(fb_field field);
FB_EXTERN const char *fb_field_path(fb_field field);
FB_EXTERN fb_value_type fb_field_type(fb_field field);
FB_EXTERN const char *fb_item_field_name(fb_item_field field);
FB_EXTERN const char *fb_item_field_path(fb_item_field field);
FB_EXTERN fb_value_type fb_item_field_type(fb_item_field field);
FB_EXTERN const char *fb_aux_field_name(fb_aux_field field);
FB_EXTERN const char *fb_aux_field_path(fb_aux_field field);
FB_EXTERN fb_value_type fb_aux_field_type(fb_aux_field field);

/* Find a single field by its path or, for a name that occurs once, by its
 * element name. FB_ENOTFOUND when none matches. */
FB_EXTERN int fb_field_lookup(const char *path_or_name, fb_field *field);

FB_EXTERN int fb_bill_new(fb_bill **out);
FB_EXTERN void fb_bill_free(fb_bill *bill);
FB_EXTERN int fb_bill_dup(const fb_bill *bill, fb_bill **out);

/* Single fields. get returns NULL when the field is unset. The returned
 * pointer stays valid until the field is set again or the bill is freed. */
FB_EXTERN int fb_bill_set(fb_bill *bill, fb_field field, const char *value);
FB_EXTERN const char *fb_bill_get(const fb_bill *bill, fb_field field);

/* Amount fields, in fen. get returns FB_ENOTFOUND when unset and
 * FB_EINVALID when the text held is not a valid amount. */
FB_EXTERN int fb_bill_set_amount(fb_bill *bill, fb_field field, int64_t fen);
FB_EXTERN int fb_bill_get_amount(const fb_bill *bill, fb_field field, int64_t *fen);

/* Details/Item, indexed from 0 in document order. */
FB_EXTERN size_t fb_bill_item_count(const fb_bill *bill);
FB_EXTERN int fb_bill_item_add(fb_bill *bill, size_t *index);
FB_EXTERN int fb_bill_item_remove(fb_bill *bill, size_t index);
FB_EXTERN int fb_bill_item_set(fb_bill *bill, size_t index, fb_item_field field,
                               const char *value);
FB_EXTERN const char *fb_bill_item_get(const fb_bill *bill, size_t index,
                                       fb_item_field field);
FB_EXTERN int fb_bill_item_set_amount(fb_bill *bill, size_t index,
                                      fb_item_field field, int64_t fen);
FB_EXTERN int fb_bill_item_get_amount(const fb_bill *bill, size_t index,
                                      fb_item_field field, int64_t *fen);

/* AuxDetails/AuxItem, likewise. */
FB_EXTERN size_t fb_bill_aux_count(const fb_bill *bill);
FB_EXTERN int fb_bill_aux_add(fb_bill *bill, size_t *index);
FB_EXTERN int fb_bill_aux_remove(fb_bill *bill, size_t index);
FB_EXTERN int fb_bill_aux_set(fb_bill *bill, size_t index, fb_aux_field field,
                              const char *value);
FB_EXTERN const char *fb_bill_aux_get(const fb_bill *bill, size_t index,
                                      fb_aux_field field);
FB_EXTERN int fb_bill_aux_set_amount(fb_bill *bill, size_t index,
                                     fb_aux_field field, int64_t fen);
FB_EXTERN int fb_bill_aux_get_amount(const fb_bill *bill, size_t index,
                                     fb_aux_field field, int64_t *fen);

/* At most this many unknown MainExt children; more is FB_ELIMIT. */
#define FB_EXT_MAX 256

/* MainExt children the library does not know, as ordered name/value pairs.
 * Setting a name the library knows ("Gender") sets that field instead, so
 * each name lives in one place. Setting an existing name replaces its value
 * in place; a new name is appended. Names must be XML element names without
 * a prefix. Unlike known fields, an unknown pair is kept even when its value
 * is empty, because its name is itself information. */
FB_EXTERN size_t fb_bill_ext_count(const fb_bill *bill);
FB_EXTERN int fb_bill_ext_get(const fb_bill *bill, size_t index, const char **name,
                              const char **value);
FB_EXTERN const char *fb_bill_ext_find(const fb_bill *bill, const char *name);
FB_EXTERN int fb_bill_ext_set(fb_bill *bill, const char *name, const char *value);
FB_EXTERN int fb_bill_ext_remove(fb_bill *bill, const char *name);

/* Derived Header fields: EInvoiceTag = "CZ-EI-" + the first two digits of
 * SupervisorAreaCode; EInvoiceID = EInvoiceCode + "-" + EInvoiceNumber,
 * reversed; Version = "1.1.0". Unset ones are filled; a set one that
 * disagrees makes the call fail with FB_EINVALID naming the field, and the
 * bill is left unchanged. */
FB_EXTERN int fb_bill_fill_derived(fb_bill *bill);

/* The bill's identity, code and number (18 characters), into out (at least
 * 19 bytes). FB_EINVALID when either is not of the right shape. */
#define FB_BILL_KEY_BUFSIZE 19
FB_EXTERN int fb_bill_key(const fb_bill *bill, char out[FB_BILL_KEY_BUFSIZE]);

#ifdef __cplusplus
}
#endif

#endif
