#!/usr/bin/env bash
# The fbill command line, end to end, with xmllint as an independent judge
# of the documents it writes. Usage: fbill.sh PATH/TO/fbill SOURCE_DIR
set -u
FBILL=$1
SRC=$2
EX=$SRC/specs/examples
KINDS=$EX/kinds.conf
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/checks.sh
. "$(dirname -- "$0")/checks.sh"


command -v xmllint >/dev/null || { echo "FAIL: xmllint is required (libxml2-utils)"; exit 1; }

# Usage errors.
"$FBILL" >/dev/null 2>&1; expect_status 2 $? "no arguments"
"$FBILL" --help >"$work/out" 2>&1; expect_status 0 $? "--help"
expect_grep "template" "$work/out" "--help lists commands"
"$FBILL" frobnicate >/dev/null 2>&1; expect_status 2 $? "unknown command"
"$FBILL" check >/dev/null 2>&1; expect_status 2 $? "check without files"

# Templates are the golden files, byte for byte, and valid by the schema.
for kind in medical-outpatient medical-inpatient donation membership-fee funds-settlement; do
    "$FBILL" template --kinds "$KINDS" "$kind" >"$work/$kind.xml" 2>"$work/err"
    expect_status 0 $? "template $kind"
    if cmp -s "$work/$kind.xml" "$EX/$kind.xml"; then ok; else fail "template $kind differs from specs/examples/$kind.xml"; fi
    if xmllint --noout --nonet --schema "$SRC/specs/bill.xsd" "$EX/$kind.xml" 2>"$work/err"; then ok
    else fail "xmllint --schema rejects specs/examples/$kind.xml"; cat "$work/err"; fi
done

# A kind whose code is not public: a template all the same, with the code
# left empty and a note saying why.
"$FBILL" template court-fee >"$work/court.xml" 2>"$work/err"; expect_status 0 $? "template court-fee"
expect_grep "<EInvoiceCode/>" "$work/court.xml" "court-fee template leaves the code empty"
expect_grep "not public" "$work/err" "court-fee template explains the missing code"
"$FBILL" template no-such-kind >/dev/null 2>"$work/err"; expect_status 2 $? "unknown kind"
expect_grep "medical-outpatient" "$work/err" "unknown kind lists the kinds"

# check: valid, invalid, unreadable, hostile.
"$FBILL" check "$EX"/*.xml >"$work/out"; expect_status 0 $? "check golden files"
[ "$(grep -c ': valid$' "$work/out")" = 5 ] && ok || fail "check golden files: 5 valid lines"
sed 's#<TotalAmount>338.50</TotalAmount>#<TotalAmount>338.51</TotalAmount>#; s#<EInvoiceCode>65060126</EInvoiceCode>#<EInvoiceCode>6506012</EInvoiceCode>#' \
    "$EX/medical-outpatient.xml" >"$work/bad.xml"
"$FBILL" check "$work/bad.xml" >"$work/out"; expect_status 1 $? "check invalid bill"
expect_grep 'EInvoiceData/Main/EInvoiceCode: must be 8 digits, got "6506012"' "$work/out" "check names the code"
expect_grep 'EInvoiceData/Main/TotalAmount: is 338.51 but the items sum to 338.50' "$work/out" "check names the sum"
"$FBILL" check "$work/missing.xml" >"$work/out" 2>&1; expect_status 2 $? "check unreadable file"
printf '%s' '<?xml version="1.0"?><!DOCTYPE EInvoice [<!ENTITY x SYSTEM "file:///etc/passwd">]><EInvoice>&x;</EInvoice>' >"$work/xxe.xml"
"$FBILL" check "$work/xxe.xml" >"$work/out" 2>&1; expect_status 1 $? "check XXE document"
expect_grep "DOCTYPE" "$work/out" "XXE refusal names the DOCTYPE"
"$FBILL" check "$EX/donation.xml" "$work/bad.xml" >/dev/null; expect_status 1 $? "check worst status of several"

# format: an indented bill becomes the canonical bytes.
xmllint --format "$EX/medical-inpatient.xml" >"$work/indented.xml"
cmp -s "$work/indented.xml" "$EX/medical-inpatient.xml" && fail "indentation changed nothing" || ok
"$FBILL" format "$work/indented.xml" >"$work/canon.xml"; expect_status 0 $? "format indented bill"
cmp -s "$work/canon.xml" "$EX/medical-inpatient.xml" && ok || fail "format output differs from the golden file"
"$FBILL" format --out "$work/out.xml" "$work/indented.xml"; expect_status 0 $? "format --out"
cmp -s "$work/out.xml" "$EX/medical-inpatient.xml" && ok || fail "format --out content"
ls "$work" | grep -q '\.tmp\.' && fail "format --out left a temporary file" || ok
"$FBILL" format --out "$work/never.xml" "$work/xxe.xml" 2>/dev/null; expect_status 1 $? "format of a hostile file"
[ -e "$work/never.xml" ] && fail "format wrote an output file for bad input" || ok
"$FBILL" format --out "$work/no-such-dir/x.xml" "$EX/donation.xml" 2>"$work/err"; expect_status 2 $? "format into a missing folder"
expect_grep "no-such-dir" "$work/err" "format names the unwritable path"

# show: the twelve basic elements of a fiscal bill.
"$FBILL" show "$EX/medical-outpatient.xml" >"$work/show.txt"; expect_status 0 $? "show"
for label in 医疗门诊收费票据 票据代码 票据号码 交\ 款\ 人 收费项目 标准 金额 开票单位 开\ 票\ 人 开票日期 开票单位签章 财政部门监制章; do
    expect_grep "$label" "$work/show.txt" "show has $label"
done
expect_grep "叁佰叁拾捌元伍角整" "$work/show.txt" "show has the amount in capitals"
expect_grep "未签名" "$work/show.txt" "show has the signature state"

# demo: runs the whole chain in a fresh folder and leaves its bills there.
"$FBILL" demo --dir "$work/demo" >"$work/demo.txt" 2>&1; expect_status 0 $? "demo"
[ "$(ls "$work/demo/bills"/*.xml | wc -l)" = 5 ] && ok || fail "demo writes five bills"
"$FBILL" check "$work/demo/bills"/*.xml "$work/demo/sealed/donation.xml" >/dev/null
expect_status 0 $? "demo bills are valid"
[ "$(ls "$work/demo/sealed"/*.xml | wc -l)" = 6 ] && ok || fail "demo seals five bills and tampers one"
expect_grep "refused" "$work/demo.txt" "demo shows a hostile file refused"
expect_grep "5 bills passed, 1 caught" "$work/demo.txt" "demo verifies and catches the tampered bill"
expect_grep "HASH_FAILURE" "$work/demo.txt" "demo names why the tampered bill failed"
"$FBILL" demo --dir "$work/demo" >/dev/null 2>&1; expect_status 1 $? "demo refuses a used folder"
TMPDIR=$work "$FBILL" demo >"$work/demo2.txt" 2>&1; expect_status 0 $? "demo in a temporary folder"
dir=$(sed -n 's/^Done\. Everything is in //p' "$work/demo2.txt")
[ -n "$dir" ] && [ -f "$dir/sealed/donation.xml" ] && ok || fail "demo names the folder it used"

echo "cli: $checks checks, $failures failures"
[ "$failures" = 0 ]
