/* Sample bills, one per kind: the start of `fbill template`, the bills of
 * `fbill demo`, and the golden files in specs/examples/. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

const char *const sample_slugs[] = { "medical-outpatient", "medical-inpatient", "donation",
                                     "membership-fee", "funds-settlement" };
const size_t sample_slug_count = sizeof sample_slugs / sizeof sample_slugs[0];

/* The same text as specs/examples/kinds.conf. */
const char sample_kinds_conf[] =
    "# Example local configuration: kind codes that are not public.\n"
    "# These values are placeholders for the examples; real codes come from\n"
    "# the finance bureau.\n"
    "funds-settlement = 9101\n"
    "membership-fee = 9102\n"
    "donation = 9103\n";

/* A seal hash stands in for the one fb_issue computes from the port's
 * certificate. */
#define PLACEHOLDER_HASH "9f2c1e8a7b6d5c4f3e2d1c0b9a8f7e6d5c4b3a291807f6e5d4c3b2a190817263"

typedef struct item_spec {
    const char *code, *name, *quantity, *unit, *std, *amount;
} item_spec;

typedef struct aux_spec {
    const char *related_code, *related_name, *code, *name, *quantity, *unit, *std, *amount;
} aux_spec;

typedef struct sample_spec {
    const char *slug;
    const char *number;
    const char *unit_code, *unit_name, *seal_id, *seal_name;
    const char *payer_type, *payer_name, *payer_code;
    const char *remark;
    item_spec items[6];
    const char *ext[12][2]; /* MainExt name/value pairs, known or not */
    aux_spec aux[4];        /* AuxDetails: the drugs behind a fee item */
    const char *detail;     /* ItemExt/ItemDetailName of the first item */
} sample_spec;

static const sample_spec specs[] = {
    { "medical-outpatient", "0000000001", "12652300458800000X", "昌吉回族自治州人民医院",
      "65230001", "昌吉回族自治州人民医院财务专用章", "1", "张三", NULL, NULL,
      { { "01", "西药费", "1", "项", "128.50", "128.50" },
        { "02", "检查费", "1", "项", "200.00", "200.00" },
        { "03", "挂号费", "1", "次", "10.00", "10.00" } },
      { { "Gender", "男" }, { "Age", "45" }, { "MedicalType", "普通门诊" },
        { "PatientNumber", "MZ20261115001" }, { "MedicalDate", "20261115" },
        { "MedicalInsuranceType", "城镇职工基本医疗保险" }, { "FundPayAmount", "200.00" },
        { "AccountPayAmount", "50.00" }, { "OwnPayAmount", "88.50" } },
      { { "01", "西药费", "A0101", "阿莫西林胶囊", "2", "盒", "25.00", "50.00" },
        { "01", "西药费", "A0102", "布洛芬缓释胶囊", "2", "盒", "39.25", "78.50" } },
      "门诊西药" },
    { "medical-inpatient", "0000000001", "12652300458800000X", "昌吉回族自治州人民医院",
      "65230001", "昌吉回族自治州人民医院财务专用章", "1", "李秀英", NULL, "出院结算",
      { { "01", "床位费", "9", "天", "100.00", "900.00" },
        { "02", "护理费", "9", "天", "50.00", "450.00" },
        { "03", "西药费", "1", "项", "1823.60", "1823.60" },
        { "04", "检查费", "1", "项", "1200.00", "1200.00" },
        { "05", "治疗费", "1", "项", "392.00", "392.00" } },
      { { "Gender", "女" }, { "Age", "67" }, { "CaseNumber", "BA2026008812" },
        { "HospitalizationNumber", "ZY2026001234" }, { "DepartmentName", "心内科" },
        { "InHospitalDate", "20261101" }, { "OutHospitalDate", "20261110" },
        { "FundPayAmount", "3200.00" }, { "OwnPayAmount", "1565.60" },
        { "PrepayAmount", "3000.00" }, { "RefundAmount", "1434.40" },
        { "SettlementNumber", "JS20261110088" } },
      { { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL } }, NULL },
    { "donation", "0000000001", "51652300MJ0000001K", "昌吉回族自治州慈善总会", "65230002",
      "昌吉回族自治州慈善总会财务专用章", "2", "新疆天山绿源科技有限公司", "91652300MA78000001",
      "用于助学项目",
      { { "01", "捐赠款", "1", "笔", "50000.00", "50000.00" } },
      { { "BusinessNumber", "JZ2026-0315" } },
      { { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL } }, NULL },
    { "membership-fee", "0000000001", "51652300MJ0000002F", "昌吉回族自治州会计学会",
      "65230003", "昌吉回族自治州会计学会财务专用章", "1", "王明", NULL, "2026年度会费",
      { { "01", "会费", "1", "年", "600.00", "600.00" } },
      { { "BusinessNumber", "HF2026-0088" } },
      { { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL } }, NULL },
    { "funds-settlement", "0000000001", "11652300010000001A", "昌吉回族自治州教育局",
      "65230004", "昌吉回族自治州教育局财务专用章", "2", "昌吉市第一中学", "12652301000000003B",
      "代收代付往来款",
      { { "01", "往来款", "1", "笔", "12345.60", "12345.60" } },
      { { "BusinessNumber", "WL2026-1102" } },
      { { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL } }, NULL },
    /* Any other kind: a generic fee. */
    { NULL, "0000000001", "11652300010000009Z", "昌吉回族自治州某执收单位", "65230009",
      "昌吉回族自治州某执收单位财务专用章", "1", "赵六", NULL, NULL,
      { { "01", "收费项目", "1", "项", "100.00", "100.00" } },
      { { NULL, NULL } },
      { { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL } }, NULL },
};

static const sample_spec *find_spec(const char *slug)
{
    for (size_t i = 0; i + 1 < sizeof specs / sizeof specs[0]; i++)
        if (!strcmp(specs[i].slug, slug))
            return &specs[i];
    return &specs[sizeof specs / sizeof specs[0] - 1];
}

static int set_aux(fb_bill *b, const sample_spec *s)
{
    int rc = FB_OK;
    for (size_t i = 0; rc == FB_OK && i < 4 && s->aux[i].code; i++) {
        const aux_spec *a = &s->aux[i];
        size_t ix;
        rc = fb_bill_aux_add(b, &ix);
        if (!rc) rc = fb_bill_aux_set(b, ix, FB_AUX_RELATED_CODE, a->related_code);
        if (!rc) rc = fb_bill_aux_set(b, ix, FB_AUX_RELATED_NAME, a->related_name);
        if (!rc) rc = fb_bill_aux_set(b, ix, FB_AUX_CODE, a->code);
        if (!rc) rc = fb_bill_aux_set(b, ix, FB_AUX_NAME, a->name);
        if (!rc) rc = fb_bill_aux_set(b, ix, FB_AUX_QUANTITY, a->quantity);
        if (!rc) rc = fb_bill_aux_set(b, ix, FB_AUX_UNIT, a->unit);
        if (!rc) rc = fb_bill_aux_set(b, ix, FB_AUX_STD, a->std);
        if (!rc) rc = fb_bill_aux_set(b, ix, FB_AUX_AMOUNT, a->amount);
    }
    return rc;
}

static int set_items(fb_bill *b, const sample_spec *s)
{
    int rc = FB_OK;
    for (size_t i = 0; rc == FB_OK && i < 6 && s->items[i].code; i++) {
        const item_spec *it = &s->items[i];
        size_t ix;
        rc = fb_bill_item_add(b, &ix);
        if (!rc) rc = fb_bill_item_set(b, ix, FB_ITEM_CODE, it->code);
        if (!rc) rc = fb_bill_item_set(b, ix, FB_ITEM_NAME, it->name);
        if (!rc) rc = fb_bill_item_set(b, ix, FB_ITEM_QUANTITY, it->quantity);
        if (!rc) rc = fb_bill_item_set(b, ix, FB_ITEM_UNIT, it->unit);
        if (!rc) rc = fb_bill_item_set(b, ix, FB_ITEM_STD, it->std);
        if (!rc) rc = fb_bill_item_set(b, ix, FB_ITEM_AMOUNT, it->amount);
    }
    return rc;
}

/* TotalAmount is the sum of the items, computed in fen. */
static int set_total(fb_bill *b)
{
    int64_t total = 0, fen;
    for (size_t i = 0; i < fb_bill_item_count(b); i++) {
        int rc = fb_bill_item_get_amount(b, i, FB_ITEM_AMOUNT, &fen);
        if (rc)
            return rc;
        total += fen;
    }
    return fb_bill_set_amount(b, FB_TOTAL_AMOUNT, total);
}

static int set_code(fb_bill *b, const fb_kind_info *kind, bool *code_missing)
{
    char code[9];
    *code_missing = kind->code == NULL;
    if (*code_missing)
        return FB_OK;
    /* region (Xinjiang, 65) + kind + year (2026) */
    snprintf(code, sizeof code, "65%s26", kind->code);
    return fb_bill_set(b, FB_EINVOICE_CODE, code);
}

static int fill(fb_bill *b, const fb_kind_info *kind, const sample_spec *s, bool *code_missing)
{
    static const struct { fb_field f; const char *v; } common[] = {
        { FB_RANDOM_NUMBER, "a1b2c3" }, { FB_EINVOICE_SPECIMEN_CODE, "65001" },
        { FB_SUPERVISOR_AREA_CODE, "652300" }, { FB_ISSUE_DATE, "20261115" },
        { FB_ISSUE_TIME, "10:23:45" }, { FB_PAY_MODE, "微信支付" }, { FB_CURRENCY_TYPE, "CNY" },
        { FB_HANDLING_PERSON, "王芳" }, { FB_CHECKER, "李强" },
        { FB_INVOICING_SEAL_HASH, PLACEHOLDER_HASH },
        { FB_SUPERVISOR_SEAL_ID, "652300" },
        { FB_SUPERVISOR_SEAL_NAME, "昌吉回族自治州财政局票据监制章" },
        { FB_SUPERVISOR_SEAL_HASH, PLACEHOLDER_HASH },
    };
    int rc = set_code(b, kind, code_missing);
    for (size_t i = 0; rc == FB_OK && i < sizeof common / sizeof common[0]; i++)
        rc = fb_bill_set(b, common[i].f, common[i].v);
    if (!rc) rc = fb_bill_set(b, FB_EINVOICE_NAME, kind->name);
    if (!rc) rc = fb_bill_set(b, FB_EINVOICE_NUMBER, s->number);
    if (!rc) rc = fb_bill_set(b, FB_INVOICING_PARTY_CODE, s->unit_code);
    if (!rc) rc = fb_bill_set(b, FB_INVOICING_PARTY_NAME, s->unit_name);
    if (!rc) rc = fb_bill_set(b, FB_INVOICING_SEAL_ID, s->seal_id);
    if (!rc) rc = fb_bill_set(b, FB_INVOICING_SEAL_NAME, s->seal_name);
    if (!rc) rc = fb_bill_set(b, FB_PAYER_PARTY_TYPE, s->payer_type);
    if (!rc) rc = fb_bill_set(b, FB_PAYER_PARTY_NAME, s->payer_name);
    if (!rc) rc = fb_bill_set(b, FB_PAYER_PARTY_CODE, s->payer_code);
    if (!rc) rc = fb_bill_set(b, FB_REMARK, s->remark);
    for (size_t i = 0; rc == FB_OK && i < 12 && s->ext[i][0]; i++)
        rc = fb_bill_ext_set(b, s->ext[i][0], s->ext[i][1]);
    if (!rc) rc = set_items(b, s);
    if (!rc && s->detail) rc = fb_bill_item_set(b, 0, FB_ITEM_DETAIL_NAME, s->detail);
    if (!rc) rc = set_aux(b, s);
    if (!rc) rc = set_total(b);
    return rc;
}

int sample_bill(const fb_kinds *kinds, const char *slug, fb_bill **out, bool *code_missing)
{
    fb_kind_info kind;
    int rc = fb_kinds_find(kinds, slug, &kind);
    if (rc)
        return rc;
    fb_bill *b;
    if ((rc = fb_bill_new(&b)))
        return rc;
    rc = fill(b, &kind, find_spec(kind.slug), code_missing);
    /* Without a code the ID cannot be derived; the tag and version can. */
    if (!rc && *code_missing)
        rc = fb_bill_set(b, FB_EINVOICE_TAG, "CZ-EI-65");
    if (!rc && *code_missing)
        rc = fb_bill_set(b, FB_VERSION, "1.1.0");
    else if (!rc)
        rc = fb_bill_fill_derived(b);
    if (rc) {
        fb_bill_free(b);
        return rc;
    }
    *out = b;
    return FB_OK;
}
