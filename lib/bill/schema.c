/* The national bill format (Header Version 1.1.0): every element, its path,
 * its type and whether it is mandatory, and the order of the containers. */
#include "bill/schema.h"
#include "common/internal.h"

#define M FB_FLAG_MANDATORY
#define TEXT FB_TYPE_TEXT
#define AMOUNT FB_TYPE_AMOUNT
#define QTY FB_TYPE_QUANTITY
#define DATE FB_TYPE_DATE
#define TIME FB_TYPE_TIME

#define MAIN "EInvoiceData/Main/"

const fb_field_def fb_field_defs[FB_FIELD_COUNT] = {
    [FB_EINVOICE_TAG] = { "EInvoiceTag", "Header/EInvoiceTag", TEXT, M },
    [FB_EINVOICE_ID] = { "EInvoiceID", "Header/EInvoiceID", TEXT, M },
    [FB_VERSION] = { "Version", "Header/Version", TEXT, M },
    [FB_EINVOICE_NAME] = { "EInvoiceName", MAIN "EInvoiceName", TEXT, M },
    [FB_EINVOICE_CODE] = { "EInvoiceCode", MAIN "EInvoiceCode", TEXT, M },
    [FB_EINVOICE_NUMBER] = { "EInvoiceNumber", MAIN "EInvoiceNumber", TEXT, M },
    [FB_RANDOM_NUMBER] = { "RandomNumber", MAIN "RandomNumber", TEXT, 0 },
    [FB_EINVOICE_SPECIMEN_CODE] = { "EInvoiceSpecimenCode", MAIN "EInvoiceSpecimenCode", TEXT, M },
    [FB_SUPERVISOR_AREA_CODE] = { "SupervisorAreaCode", MAIN "SupervisorAreaCode", TEXT, M },
    [FB_TOTAL_AMOUNT] = { "TotalAmount", MAIN "TotalAmount", AMOUNT, M },
    [FB_ISSUE_DATE] = { "IssueDate", MAIN "IssueDate", DATE, M },
    [FB_ISSUE_TIME] = { "IssueTime", MAIN "IssueTime", TIME, M },
    [FB_INVOICING_PARTY_CODE] = { "InvoicingPartyCode", MAIN "InvoicingParty/InvoicingPartyCode", TEXT, M },
    [FB_INVOICING_PARTY_NAME] = { "InvoicingPartyName", MAIN "InvoicingParty/InvoicingPartyName", TEXT, M },
    [FB_REC_NAME] = { "RecName", MAIN "InvoicingParty/RecName", TEXT, 0 },
    [FB_REC_ACCT] = { "RecAcct", MAIN "InvoicingParty/RecAcct", TEXT, 0 },
    [FB_REC_OP_BK] = { "RecOpBk", MAIN "InvoicingParty/RecOpBk", TEXT, 0 },
    [FB_PAYER_PARTY_TYPE] = { "PayerPartyType", MAIN "PayerParty/PayerPartyType", TEXT, M },
    [FB_PAYER_PARTY_CODE] = { "PayerPartyCode", MAIN "PayerParty/PayerPartyCode", TEXT, 0 },
    [FB_PAYER_PARTY_NAME] = { "PayerPartyName", MAIN "PayerParty/PayerPartyName", TEXT, 0 },
    [FB_PAYER_ACCT] = { "PayerAcct", MAIN "PayerParty/PayerAcct", TEXT, 0 },
    [FB_PAYER_OP_BK] = { "PayerOpBk", MAIN "PayerParty/PayerOpBk", TEXT, 0 },
    [FB_PAY_MODE] = { "PayMode", MAIN "PayMode", TEXT, 0 },
    [FB_BIZ_CODE] = { "BizCode", MAIN "BizCode", TEXT, 0 },
    [FB_CURRENCY_TYPE] = { "CurrencyType", MAIN "CurrencyType", TEXT, 0 },
    [FB_EXCHANGE_RATE] = { "ExchangeRate", MAIN "ExchangeRate", TEXT, 0 },
    [FB_REMARK] = { "Remark", MAIN "Remark", TEXT, 0 },
    [FB_HANDLING_PERSON] = { "HandlingPerson", MAIN "HandlingPerson", TEXT, M },
    [FB_CHECKER] = { "Checker", MAIN "Checker", TEXT, M },
    [FB_SUPERVISOR_REMARK] = { "SupervisorRemark", MAIN "SupervisorRemark", TEXT, 0 },
#define EXT(id, name, type) [id] = { name, MAIN "MainExt/" name, type, 0 }
    EXT(FB_EXT_BUSINESS_NUMBER, "BusinessNumber", TEXT),
    EXT(FB_EXT_BUSINESS_DATE, "BusinessDate", TEXT),
    EXT(FB_EXT_GENDER, "Gender", TEXT),
    EXT(FB_EXT_AGE, "Age", TEXT),
    EXT(FB_EXT_ADDRESS, "Address", TEXT),
    EXT(FB_EXT_SCHOOL, "School", TEXT),
    EXT(FB_EXT_FACULTY, "Faculty", TEXT),
    EXT(FB_EXT_MAJOR, "Major", TEXT),
    EXT(FB_EXT_CLASSES, "Classes", TEXT),
    EXT(FB_EXT_STUDENT_ID, "StudentID", TEXT),
    EXT(FB_EXT_MEDICAL_TYPE, "MedicalType", TEXT),
    EXT(FB_EXT_PATIENT_NUMBER, "PatientNumber", TEXT),
    EXT(FB_EXT_MEDICAL_DATE, "MedicalDate", TEXT),
    EXT(FB_EXT_ORG_TYPE, "OrgType", TEXT),
    EXT(FB_EXT_MEDICAL_INSURANCE_TYPE, "MedicalInsuranceType", TEXT),
    EXT(FB_EXT_MEDICAL_INSURANCE_ID, "MedicalInsuranceID", TEXT),
    EXT(FB_EXT_FUND_PAY_AMOUNT, "FundPayAmount", AMOUNT),
    EXT(FB_EXT_OTHER_PAY_AMOUNT, "OtherPayAmount", AMOUNT),
    EXT(FB_EXT_ACCOUNT_PAY_AMOUNT, "AccountPayAmount", AMOUNT),
    EXT(FB_EXT_OWN_PAY_AMOUNT, "OwnPayAmount", AMOUNT),
    EXT(FB_EXT_SELFPAYMENT_AMOUNT, "SelfpaymentAmount", AMOUNT),
    EXT(FB_EXT_SELFPAYMENT_COST, "SelfpaymentCost", AMOUNT),
    EXT(FB_EXT_CASE_NUMBER, "CaseNumber", TEXT),
    EXT(FB_EXT_HOSPITALIZATION_NUMBER, "HospitalizationNumber", TEXT),
    EXT(FB_EXT_DEPARTMENT_NAME, "DepartmentName", TEXT),
    EXT(FB_EXT_IN_HOSPITAL_DATE, "InHospitalDate", TEXT),
    EXT(FB_EXT_OUT_HOSPITAL_DATE, "OutHospitalDate", TEXT),
    EXT(FB_EXT_PREPAY_AMOUNT, "PrepayAmount", AMOUNT),
    EXT(FB_EXT_RECHARGE_AMOUNT, "RechargeAmount", AMOUNT),
    EXT(FB_EXT_REFUND_AMOUNT, "RefundAmount", AMOUNT),
    EXT(FB_EXT_RELATED_INVOICE_CODE, "RelatedInvoiceCode", TEXT),
    EXT(FB_EXT_RELATED_INVOICE_NUMBER, "RelatedInvoiceNumber", TEXT),
    EXT(FB_EXT_PAY_CODE, "PayCode", TEXT),
#undef EXT
    [FB_INVOICING_SEAL_ID] = { "SealId", MAIN "InvoicingPartySeal/SealId", TEXT, M },
    [FB_INVOICING_SEAL_NAME] = { "SealName", MAIN "InvoicingPartySeal/SealName", TEXT, M },
    [FB_INVOICING_SEAL_HASH] = { "SealHash", MAIN "InvoicingPartySeal/SealHash", TEXT, M },
    [FB_SUPERVISOR_SEAL_ID] = { "SealId", MAIN "SupervisorPartySeal/SealId", TEXT, 0 },
    [FB_SUPERVISOR_SEAL_NAME] = { "SealName", MAIN "SupervisorPartySeal/SealName", TEXT, 0 },
    [FB_SUPERVISOR_SEAL_HASH] = { "SealHash", MAIN "SupervisorPartySeal/SealHash", TEXT, 0 },
};

#define ITEM "EInvoiceData/Details/Item/"
const fb_field_def fb_item_field_defs[FB_ITEM_FIELD_COUNT] = {
    [FB_ITEM_CODE] = { "ItemCode", ITEM "ItemCode", TEXT, M },
    [FB_ITEM_NAME] = { "ItemName", ITEM "ItemName", TEXT, M },
    [FB_ITEM_QUANTITY] = { "ItemQuantity", ITEM "ItemQuantity", QTY, 0 },
    [FB_ITEM_UNIT] = { "ItemUnit", ITEM "ItemUnit", TEXT, 0 },
    [FB_ITEM_STD] = { "ItemStd", ITEM "ItemStd", AMOUNT, 0 },
    [FB_ITEM_AMOUNT] = { "ItemAmount", ITEM "ItemAmount", AMOUNT, M },
    [FB_ITEM_REMARK] = { "ItemRemark", ITEM "ItemRemark", TEXT, 0 },
    [FB_ITEM_DETAIL_NAME] = { "ItemDetailName", ITEM "ItemExt/ItemDetailName", TEXT, 0 },
};

#define AUX "EInvoiceData/AuxDetails/AuxItem/"
const fb_field_def fb_aux_field_defs[FB_AUX_FIELD_COUNT] = {
    [FB_AUX_RELATED_CODE] = { "AuxItemRelatedCode", AUX "AuxItemRelatedCode", TEXT, 0 },
    [FB_AUX_RELATED_NAME] = { "AuxItemRelatedName", AUX "AuxItemRelatedName", TEXT, 0 },
    [FB_AUX_CODE] = { "AuxItemCode", AUX "AuxItemCode", TEXT, 0 },
    [FB_AUX_NAME] = { "AuxItemName", AUX "AuxItemName", TEXT, 0 },
    [FB_AUX_QUANTITY] = { "AuxItemQuantity", AUX "AuxItemQuantity", QTY, 0 },
    [FB_AUX_UNIT] = { "AuxItemUnit", AUX "AuxItemUnit", TEXT, 0 },
    [FB_AUX_STD] = { "AuxItemStd", AUX "AuxItemStd", AMOUNT, 0 },
    [FB_AUX_AMOUNT] = { "AuxItemAmount", AUX "AuxItemAmount", AMOUNT, 0 },
    [FB_AUX_REMARK] = { "AuxItemRemark", AUX "AuxItemRemark", TEXT, 0 },
};

/* Leaves name their element through the field table (name NULL here). */
#define LEAF(space, id) { NULL, (id), (space), NULL, 0, 0 }
#define B(id) LEAF(FB_SPACE_BILL, id)
#define I(id) LEAF(FB_SPACE_ITEM, id)
#define A(id) LEAF(FB_SPACE_AUX, id)
#define GROUP(name, space, kids, flags) { name, -1, (space), (kids), FB_ARRAY_LEN(kids), (flags) }

static const fb_node header_kids[] = { B(FB_EINVOICE_TAG), B(FB_EINVOICE_ID), B(FB_VERSION) };

static const fb_node invoicing_party_kids[] = {
    B(FB_INVOICING_PARTY_CODE), B(FB_INVOICING_PARTY_NAME), B(FB_REC_NAME), B(FB_REC_ACCT),
    B(FB_REC_OP_BK),
};

static const fb_node payer_party_kids[] = {
    B(FB_PAYER_PARTY_TYPE), B(FB_PAYER_PARTY_CODE), B(FB_PAYER_PARTY_NAME), B(FB_PAYER_ACCT),
    B(FB_PAYER_OP_BK),
};

static const fb_node main_ext_kids[] = {
    B(FB_EXT_BUSINESS_NUMBER), B(FB_EXT_BUSINESS_DATE), B(FB_EXT_GENDER), B(FB_EXT_AGE),
    B(FB_EXT_ADDRESS), B(FB_EXT_SCHOOL), B(FB_EXT_FACULTY), B(FB_EXT_MAJOR), B(FB_EXT_CLASSES),
    B(FB_EXT_STUDENT_ID), B(FB_EXT_MEDICAL_TYPE), B(FB_EXT_PATIENT_NUMBER),
    B(FB_EXT_MEDICAL_DATE), B(FB_EXT_ORG_TYPE), B(FB_EXT_MEDICAL_INSURANCE_TYPE),
    B(FB_EXT_MEDICAL_INSURANCE_ID), B(FB_EXT_FUND_PAY_AMOUNT), B(FB_EXT_OTHER_PAY_AMOUNT),
    B(FB_EXT_ACCOUNT_PAY_AMOUNT), B(FB_EXT_OWN_PAY_AMOUNT), B(FB_EXT_SELFPAYMENT_AMOUNT),
    B(FB_EXT_SELFPAYMENT_COST), B(FB_EXT_CASE_NUMBER), B(FB_EXT_HOSPITALIZATION_NUMBER),
    B(FB_EXT_DEPARTMENT_NAME), B(FB_EXT_IN_HOSPITAL_DATE), B(FB_EXT_OUT_HOSPITAL_DATE),
    B(FB_EXT_PREPAY_AMOUNT), B(FB_EXT_RECHARGE_AMOUNT), B(FB_EXT_REFUND_AMOUNT),
    B(FB_EXT_RELATED_INVOICE_CODE), B(FB_EXT_RELATED_INVOICE_NUMBER), B(FB_EXT_PAY_CODE),
};

static const fb_node invoicing_seal_kids[] = {
    B(FB_INVOICING_SEAL_ID), B(FB_INVOICING_SEAL_NAME), B(FB_INVOICING_SEAL_HASH),
};

static const fb_node supervisor_seal_kids[] = {
    B(FB_SUPERVISOR_SEAL_ID), B(FB_SUPERVISOR_SEAL_NAME), B(FB_SUPERVISOR_SEAL_HASH),
};

static const fb_node main_kids[] = {
    B(FB_EINVOICE_NAME), B(FB_EINVOICE_CODE), B(FB_EINVOICE_NUMBER), B(FB_RANDOM_NUMBER),
    B(FB_EINVOICE_SPECIMEN_CODE), B(FB_SUPERVISOR_AREA_CODE), B(FB_TOTAL_AMOUNT),
    B(FB_ISSUE_DATE), B(FB_ISSUE_TIME),
    GROUP("InvoicingParty", FB_SPACE_BILL, invoicing_party_kids, 0),
    GROUP("PayerParty", FB_SPACE_BILL, payer_party_kids, 0),
    B(FB_PAY_MODE), B(FB_BIZ_CODE), B(FB_CURRENCY_TYPE), B(FB_EXCHANGE_RATE), B(FB_REMARK),
    B(FB_HANDLING_PERSON), B(FB_CHECKER), B(FB_SUPERVISOR_REMARK),
    GROUP("MainExt", FB_SPACE_BILL, main_ext_kids, FB_NODE_SPARSE | FB_NODE_OPEN),
    GROUP("InvoicingPartySeal", FB_SPACE_BILL, invoicing_seal_kids, 0),
    GROUP("SupervisorPartySeal", FB_SPACE_BILL, supervisor_seal_kids, 0),
};

static const fb_node item_ext_kids[] = { I(FB_ITEM_DETAIL_NAME) };

static const fb_node item_kids[] = {
    I(FB_ITEM_CODE), I(FB_ITEM_NAME), I(FB_ITEM_QUANTITY), I(FB_ITEM_UNIT), I(FB_ITEM_STD),
    I(FB_ITEM_AMOUNT), I(FB_ITEM_REMARK),
    GROUP("ItemExt", FB_SPACE_ITEM, item_ext_kids, FB_NODE_SPARSE),
};

static const fb_node aux_kids[] = {
    A(FB_AUX_RELATED_CODE), A(FB_AUX_RELATED_NAME), A(FB_AUX_CODE), A(FB_AUX_NAME),
    A(FB_AUX_QUANTITY), A(FB_AUX_UNIT), A(FB_AUX_STD), A(FB_AUX_AMOUNT), A(FB_AUX_REMARK),
};

static const fb_node details_kids[] = {
    GROUP("Item", FB_SPACE_ITEM, item_kids, FB_NODE_REPEATED),
};

static const fb_node aux_details_kids[] = {
    GROUP("AuxItem", FB_SPACE_AUX, aux_kids, FB_NODE_REPEATED),
};

static const fb_node data_kids[] = {
    GROUP("Main", FB_SPACE_BILL, main_kids, 0),
    GROUP("Details", FB_SPACE_BILL, details_kids, 0),
    GROUP("AuxDetails", FB_SPACE_BILL, aux_details_kids, 0),
};

const fb_node fb_schema_header = GROUP("Header", FB_SPACE_BILL, header_kids, 0);
const fb_node fb_schema_data = GROUP("EInvoiceData", FB_SPACE_BILL, data_kids, 0);

const fb_field_def *fb_node_def(const fb_node *leaf)
{
    switch (leaf->space) {
    case FB_SPACE_ITEM: return &fb_item_field_defs[leaf->field];
    case FB_SPACE_AUX: return &fb_aux_field_defs[leaf->field];
    default: return &fb_field_defs[leaf->field];
    }
}
