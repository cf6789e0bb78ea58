#!/usr/bin/env bash
# shellcheck disable=SC2154 # P11_MODULE, PIN, ... come from tokens.env
# fbill verify end to end: bills issued and sealed with fbill at the SoftHSM
# tokens and key files of the PKCS#11 fixture (tests/p11/fixture.sh), then
# verified genuine, tampered, unsealed, missing, in bulk over threads, as
# text and as JSON (checked by python3's json module).
# Usage: verify.sh PATH/TO/fbill FIXTURE_SCRIPT
# FBT_P11_IMPORT (set by meson) names the built p11_import; without it the
# fixture compiles one with cc.
set -u
FBILL=$1
FIXTURE=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/checks.sh
. "$(dirname -- "$0")/checks.sh"

expect_count() { # pattern file count what
    local n
    n=$(grep -c -- "$1" "$2")
    if [ "$n" = "$3" ]; then ok; else fail "$4: $n lines match \"$1\", expected $3"; fi
}
# verify WHAT ARGS...: output in $work/out, status in $st
verify() {
    local what=$1
    shift
    "$FBILL" verify "$@" >"$work/out" 2>"$work/err"
    st=$?
    if [ "$st" -ge 128 ]; then fail "$what: fbill verify crashed (status $st)"; cat "$work/err"; fi
}

command -v python3 >/dev/null || { echo "FAIL: python3 is required"; echo "verify: 1 checks, 1 failures"; exit 1; }

# ---- the fixture, and bills made with fbill ----
if ! bash "$FIXTURE" "$work/fx" >"$work/fixture.out" 2>&1; then
    echo "FAIL: the fixture could not be built:"
    sed 's/^/    /' "$work/fixture.out"
    echo "verify: 1 checks, 1 failures"
    exit 1
fi
FX=$work/fx
# shellcheck disable=SC1091
. "$FX/tokens.env"
export SOFTHSM2_CONF
M=$P11_MODULE
SRC=$(cd -- "$(dirname -- "$FIXTURE")/../.." && pwd -P)
EX=$SRC/specs/examples
SEAL_NAME=昌吉回族自治州财政局票据监制章
token() { printf 'pkcs11:token=%s;id=%%01?module-path=%s&pin-value=%s' "$1" "$M" "$PIN"; }
BUREAU=$(token bureau)

# The bill must name the bureau's seal before it is issued: SealHash is the
# SHA-256 of the bureau certificate's DER.
bureau_hash=$(openssl x509 -in "$FX/certs/bureau.pem" -outform DER | sha256sum | cut -c1-64)
name_bureau() { # IN OUT [sed expression]
    sed "s#\(<SupervisorPartySeal>.*<SealHash>\)[0-9a-f]*\(</SealHash>\)#\1$bureau_hash\2#${3:+; $3}" \
        "$1" >"$2"
}
name_bureau "$EX/medical-outpatient.xml" "$work/bill.xml"
name_bureau "$EX/donation.xml" "$work/bill2.xml"
if grep -q "$bureau_hash" "$work/bill.xml"; then ok; else fail "the bureau's seal hash is not in the bill"; fi

# A CRL of the EC root that revokes nothing, made before anything is signed.
mkdir "$work/ca"
: >"$work/ca/index.txt"
echo 01 >"$work/ca/crlnumber"
cat >"$work/ca/ca.cnf" <<EOF
[ ca ]
default_ca = ec
[ ec ]
database = $work/ca/index.txt
crlnumber = $work/ca/crlnumber
certificate = $FX/ca/root-ec.pem
private_key = $FX/ca/root-ec.key
default_md = sha256
default_crl_days = 30
EOF
if openssl ca -batch -config "$work/ca/ca.cnf" -gencrl -out "$work/root-ec.crl" >"$work/ca/log" 2>&1; then ok
else fail "openssl ca -gencrl"; cat "$work/ca/log"; fi

# issue WHAT OUT BILL [fbill issue args...]
issue() {
    local what=$1 out=$2 bill=$3
    shift 3
    if "$FBILL" issue "$@" --out "$out" "$bill" >"$work/issue.out" 2>&1; then ok
    else fail "$what: fbill issue failed"; sed 's/^/    /' "$work/issue.out"; fi
}
# seal WHAT OUT IN [fbill seal args...]
seal() {
    local what=$1 out=$2 in=$3
    shift 3
    if "$FBILL" seal --port "$BUREAU" --seal-id 652300 --seal-name "$SEAL_NAME" --area 652300 "$@" \
        --out "$out" "$in" >"$work/seal.out" 2>&1; then ok
    else fail "$what: fbill seal failed"; sed 's/^/    /' "$work/seal.out"; fi
}
issue "issue at port-1" "$work/issued.xml" "$work/bill.xml" --port "$(token port-1)"
seal "seal the port-1 bill" "$work/good.xml" "$work/issued.xml" --trust "$FX/ca/root-ec.pem"
issue "issue at soft-ec" "$work/issued2.xml" "$work/bill2.xml" --port "file:$FX/keys/soft-ec.pem" \
    --cert "$FX/certs/soft-ec.pem"
seal "seal the soft-ec bill" "$work/good2.xml" "$work/issued2.xml" --trust "$FX/ca/root-ec.pem"
issue "issue at soft-sm2" "$work/issued-sm2.xml" "$work/bill.xml" --port "file:$FX/keys/soft-sm2.pem" \
    --cert "$FX/certs/soft-sm2.pem"
seal "seal the SM2 bill" "$work/good-sm2.xml" "$work/issued-sm2.xml" --trust "$FX/ca/root-sm2.pem"
seal "seal over the fragment only" "$work/frag.xml" "$work/issued.xml" --trust "$FX/ca/root-ec.pem" \
    --coverage fragment
for f in good good2 good-sm2 frag; do
    [ -s "$work/$f.xml" ] || { echo "FAIL: no $f.xml, cannot go on"; echo "verify: $checks checks, $((failures + 1)) failures"; exit 1; }
done
# Tampered: the payer's name, same length (张三 -> 李四).
sed 's#<PayerPartyName>张三</PayerPartyName>#<PayerPartyName>李四</PayerPartyName>#' \
    "$work/good.xml" >"$work/tampered.xml"
if cmp -s "$work/good.xml" "$work/tampered.xml"; then fail "the tampered copy is unchanged"; else ok; fi
ROOT_EC=$FX/ca/root-ec.pem

# ---- one bill at a time ----
verify "good" --trust "$ROOT_EC" "$work/good.xml"
expect_status 0 "$st" "verify a good bill"
expect_grep "PASSED" "$work/out" "a good bill PASSED"
expect_grep "CN=Port 1 Operator" "$work/out" "a good bill names the unit"
expect_grep "CN=Finance Bureau Signer" "$work/out" "a good bill names the bureau"
expect_grep "65060126" "$work/out" "the report shows the bill code"
expect_grep "338.50" "$work/out" "the report shows the total"

verify "tampered" --trust "$ROOT_EC" "$work/tampered.xml"
expect_status 1 "$st" "verify a tampered bill"
expect_grep "FAILED HASH_FAILURE" "$work/out" "a tampered bill FAILED HASH_FAILURE"
expect_grep "InvoicingPartySignature" "$work/out" "the tampered bill names the unit's node"
expect_grep "tampered.xml" "$work/out" "the report names the file"

verify "unsealed" --trust "$ROOT_EC" "$work/issued.xml"
expect_status 3 "$st" "verify an issued but unsealed bill"
expect_grep "INDETERMINATE NO_SUPERVISOR_SEAL" "$work/out" "an unsealed bill is INDETERMINATE"
verify "unsealed, --require-seal" --require-seal --trust "$ROOT_EC" "$work/issued.xml"
expect_status 1 "$st" "verify --require-seal of an unsealed bill"
expect_grep "FAILED NO_SUPERVISOR_SEAL" "$work/out" "--require-seal fails an unsealed bill"

verify "untrusted" --trust "$FX/ca/root-sm2.pem" "$work/good.xml"
expect_status 3 "$st" "verify against another root"
expect_grep "NO_CERTIFICATE_CHAIN_FOUND" "$work/out" "another root: no chain"

verify "SM2" --trust "$ROOT_EC" --trust "$FX/ca/root-sm2.pem" "$work/good-sm2.xml"
expect_status 0 "$st" "verify an SM2 unit with two --trust"
expect_grep "CN=Soft SM2 Operator" "$work/out" "the SM2 bill names its signer"
mkdir "$work/roots"
cp "$ROOT_EC" "$FX/ca/root-sm2.pem" "$work/roots/"
verify "trust dir" --trust "$work/roots" "$work/good-sm2.xml" "$work/good.xml"
expect_status 0 "$st" "verify with a directory of roots"
verify "SM2 with another ID" --sm2-id ALICE123 --trust "$work/roots" "$work/good-sm2.xml"
expect_status 1 "$st" "verify an SM2 bill with another user ID"
expect_grep "SIG_CRYPTO_FAILURE" "$work/out" "another SM2 ID: SIG_CRYPTO_FAILURE"

verify "coverage default" --trust "$ROOT_EC" "$work/frag.xml"
expect_status 1 "$st" "a fragment-only seal under the default coverage"
expect_grep "HASH_FAILURE" "$work/out" "a fragment-only seal: HASH_FAILURE"
verify "coverage fragment" --coverage fragment --trust "$ROOT_EC" "$work/frag.xml"
expect_status 0 "$st" "a fragment-only seal with --coverage fragment"

verify "CRL" --trust "$ROOT_EC" --crl "$work/root-ec.crl" "$work/good.xml"
expect_status 0 "$st" "verify with a CRL"
verify "CRL, require" --require-revocation --trust "$ROOT_EC" --crl "$work/root-ec.crl" "$work/good.xml"
expect_status 0 "$st" "verify --require-revocation with a CRL"
verify "no CRL, require" --require-revocation --trust "$ROOT_EC" "$work/good.xml"
expect_status 3 "$st" "verify --require-revocation without a CRL"
expect_grep "NO_REVOCATION_DATA" "$work/out" "--require-revocation without a CRL"

# ---- several bills: the worst decides ----
verify "good+tampered" --trust "$ROOT_EC" "$work/good.xml" "$work/tampered.xml"
expect_status 1 "$st" "verify good and tampered"
expect_count ": PASSED$" "$work/out" 1 "good and tampered: one PASSED"
expect_count ": FAILED HASH_FAILURE$" "$work/out" 1 "good and tampered: one FAILED"
verify "good+unsealed" --trust "$ROOT_EC" "$work/good.xml" "$work/issued.xml"
expect_status 3 "$st" "verify good and unsealed"
verify "unsealed+tampered+good" --trust "$ROOT_EC" "$work/issued.xml" "$work/tampered.xml" "$work/good.xml"
expect_status 1 "$st" "verify unsealed, tampered and good"

# A missing file: a FAILED line naming it.
verify "missing" --trust "$ROOT_EC" "$work/good.xml" "$work/no-such-bill.xml"
expect_status 1 "$st" "verify a missing file"
expect_grep "no-such-bill.xml: FAILED" "$work/out" "a missing file is a FAILED line naming it"
# Not a bill at all, and a hostile one.
head -c 3000 /dev/urandom >"$work/random.xml"
printf '%s' '<?xml version="1.0"?><!DOCTYPE EInvoice [<!ENTITY x SYSTEM "file:///etc/passwd">]><EInvoice>&x;</EInvoice>' >"$work/xxe.xml"
verify "not bills" --trust "$ROOT_EC" "$work/random.xml" "$work/xxe.xml"
expect_status 1 "$st" "verify files that are not bills"
expect_count ": FAILED FORMAT_FAILURE$" "$work/out" 2 "not bills: FORMAT_FAILURE each"
expect_no_grep "root:" "$work/out" "the XXE file's entity was not expanded"

# ---- JSON ----
json_check() { # FILE EXPECTED_LINES -- every line one JSON object of the documented shape
    python3 - "$1" "$2" <<'EOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
objs = [json.loads(l) for l in lines]
assert len(objs) == int(sys.argv[2]), "%d objects, expected %s" % (len(objs), sys.argv[2])
for o in objs:
    assert isinstance(o, dict), "not an object: %r" % (o,)
    for k in ("file", "state", "subindication", "sentence", "checks", "signers", "bill"):
        assert k in o, "no %s in %r" % (k, o)
    assert o["state"] in ("PASSED", "FAILED", "INDETERMINATE"), o["state"]
    assert len(o["checks"]) == 6, o["checks"]
    names = [c["check"] for c in o["checks"]]
    assert names == ["structure", "unit-signature", "supervisor-seal", "unit-certificate",
                     "supervisor-certificate", "bill"], names
    for c in o["checks"]:
        assert set(("check", "state", "subindication", "sentence")) <= set(c), c
    assert len(o["signers"]) == 2, o["signers"]
    assert [s["role"] for s in o["signers"]] == ["unit", "supervisor"], o["signers"]
    for k in ("code", "number", "check_code", "issue_date", "total"):
        assert k in o["bill"], "no bill.%s in %r" % (k, o)
EOF
}
verify "json" --json --trust "$ROOT_EC" "$work/good.xml" "$work/tampered.xml" "$work/issued.xml"
expect_status 1 "$st" "verify --json, the worst decides"
if python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$work/out" 2>"$work/py"; then ok
else fail "--json: a line is not JSON"; cat "$work/py"; sed 's/^/    /' "$work/out"; fi
if json_check "$work/out" 3 2>"$work/py"; then ok; else fail "--json: shape"; cat "$work/py"; fi
if python3 - "$work/out" "$work" >"$work/py" 2>&1 <<'EOF'; then ok; else fail "--json: values"; cat "$work/py"; fi
import json, sys
objs = {json.loads(l)["file"]: json.loads(l) for l in open(sys.argv[1], encoding="utf-8")}
w = sys.argv[2]
g, t, u = objs[w + "/good.xml"], objs[w + "/tampered.xml"], objs[w + "/issued.xml"]
assert g["state"] == "PASSED" and g["subindication"] == "", g
assert all(c["state"] == "PASSED" for c in g["checks"]), g
assert g["bill"] == {"code": "65060126", "number": "0000000001", "check_code": "a1b2c3",
                     "issue_date": "20261115", "total": "338.50"}, g["bill"]
assert "Port 1 Operator" in g["signers"][0]["subject"], g["signers"]
assert "Finance Bureau Signer" in g["signers"][1]["subject"], g["signers"]
assert len(g["signers"][0]["signing_time"]) == 14, g["signers"]
assert g["signers"][0]["serial"], g["signers"]
assert t["state"] == "FAILED" and t["subindication"] == "HASH_FAILURE", t
assert t["checks"][1]["state"] == "FAILED" and t["checks"][1]["subindication"] == "HASH_FAILURE", t
assert u["state"] == "INDETERMINATE" and u["subindication"] == "NO_SUPERVISOR_SEAL", u
assert u["signers"][1]["subject"] is None, u["signers"]
EOF
# Not a bill, and a missing file: still one JSON object each.
verify "json, not bills" --json --trust "$ROOT_EC" "$work/random.xml" "$work/no-such-bill.xml"
expect_status 1 "$st" "verify --json of a random and a missing file"
if python3 -c 'import json,sys; [json.loads(l) for l in sys.stdin]' <"$work/out" 2>"$work/py" &&
    json_check "$work/out" 2 2>>"$work/py"; then ok
else fail "--json: a file that is not a bill or is missing gives no JSON object"; cat "$work/py"; sed 's/^/    /' "$work/out"; fi
expect_grep "no-such-bill.xml" "$work/out" "--json names the missing file"

# ---- many bills over threads ----
mkdir "$work/many"
for i in $(seq 1 200); do cp "$work/good.xml" "$work/many/bill-$i.xml"; done
verify "-j 4" -j 4 --trust "$ROOT_EC" "$work/many"/*.xml
expect_status 0 "$st" "verify -j 4 over 200 bills"
expect_count ": PASSED$" "$work/out" 200 "-j 4 over 200 bills: 200 PASSED lines"
cp "$work/tampered.xml" "$work/many/bill-77.xml"
verify "-j 8 with one tampered" -j 8 --json --trust "$ROOT_EC" "$work/many"/*.xml
expect_status 1 "$st" "verify -j 8 over 200 bills, one tampered"
if json_check "$work/out" 200 2>"$work/py"; then ok; else fail "-j 8 --json: 200 objects"; cat "$work/py"; fi
if python3 - "$work/out" >"$work/py" 2>&1 <<'EOF'; then ok; else fail "-j 8 --json: 199 PASSED, bill-77 FAILED"; cat "$work/py"; fi
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
failed = [o["file"] for o in objs if o["state"] != "PASSED"]
assert len(objs) == 200 and len(set(o["file"] for o in objs)) == 200, len(objs)
assert len(failed) == 1 and failed[0].endswith("/bill-77.xml"), failed
assert [o["subindication"] for o in objs if o["state"] == "FAILED"] == ["HASH_FAILURE"]
EOF

# ---- --files-from: names read from a list as the workers need them ----
ls "$work/many"/*.xml >"$work/list"
printf '\n%s\n\n' "$work/good.xml" >>"$work/list"      # empty lines are skipped
verify "--files-from" -j 2 --json --trust "$ROOT_EC" --files-from "$work/list" "$work/issued.xml"
expect_status 1 "$st" "verify --files-from: bill-77 is tampered"
if json_check "$work/out" 202 2>"$work/py"; then ok; else fail "--files-from: 200 listed + 1 + 1 argument"; cat "$work/py"; fi
grep -v "bill-77" "$work/list" >"$work/list-good"
"$FBILL" verify --trust "$ROOT_EC" --files-from - <"$work/list-good" >"$work/out" 2>"$work/err"
expect_status 0 $? "verify --files-from - (standard input)"
expect_count ": PASSED$" "$work/out" 200 "--files-from -: 199 + good.xml PASSED"
head -c 5000 /dev/zero | tr '\0' a >"$work/list-long"
"$FBILL" verify --trust "$ROOT_EC" --files-from "$work/list-long" >"$work/out" 2>"$work/err"
expect_status 1 $? "verify --files-from with a 5000-byte line"
expect_grep "longer than 4095 bytes" "$work/err" "--files-from names the long line"
"$FBILL" verify --trust "$ROOT_EC" --files-from "$work/no-such-list" >/dev/null 2>"$work/err"
expect_status 2 $? "verify --files-from a missing list"
expect_grep "no-such-list" "$work/err" "--files-from names the missing list"

# ---- the 1 MiB file limit (files.c cli_read_file) ----
# A good bill padded with newlines after </EInvoice> (outside every signed
# byte) to exactly 1 MiB still passes; one byte more is refused unparsed.
limit=1048576
pad_to() { # IN OUT SIZE
    cp "$1" "$2"
    head -c $(($3 - $(wc -c <"$1"))) /dev/zero | tr '\0' '\n' >>"$2"
}
pad_to "$work/good.xml" "$work/limit.xml" "$limit"
pad_to "$work/good.xml" "$work/over-limit.xml" $((limit + 1))
if [ "$(wc -c <"$work/over-limit.xml")" = $((limit + 1)) ]; then ok; else fail "over-limit.xml is not 1 MiB + 1 bytes"; fi
verify "1 MiB" --trust "$ROOT_EC" "$work/limit.xml"
expect_status 0 "$st" "verify a bill of exactly 1 MiB"
expect_grep "limit.xml: PASSED" "$work/out" "a bill of exactly 1 MiB PASSED"
verify "1 MiB + 1" --trust "$ROOT_EC" "$work/over-limit.xml"
expect_status 1 "$st" "verify a file of 1 MiB + 1 byte"
expect_grep "over-limit.xml: FAILED FORMAT_FAILURE$" "$work/out" "a file over 1 MiB is FAILED FORMAT_FAILURE, named"
expect_grep "larger than the limit of $limit bytes" "$work/out" "a file over 1 MiB names the limit"
verify "1 MiB + 1, --json" --json --trust "$ROOT_EC" "$work/over-limit.xml"
expect_status 1 "$st" "verify --json of a file of 1 MiB + 1 byte"
expect_grep "larger than the limit of $limit bytes" "$work/out" "--json: a file over 1 MiB names the limit"

# ---- usage errors ----
"$FBILL" verify >/dev/null 2>&1; expect_status 2 $? "verify without files"
"$FBILL" verify --trust "$ROOT_EC" >/dev/null 2>&1; expect_status 2 $? "verify with only --trust"
"$FBILL" verify --bogus "$work/good.xml" >/dev/null 2>&1; expect_status 2 $? "verify with an unknown option"
"$FBILL" verify -j 0 "$work/good.xml" >/dev/null 2>&1; expect_status 2 $? "verify -j 0"
"$FBILL" verify -j 65 "$work/good.xml" >/dev/null 2>&1; expect_status 2 $? "verify -j 65"
"$FBILL" verify -j "$work/good.xml" >/dev/null 2>&1; expect_status 2 $? "verify -j without a number"
"$FBILL" verify --time never "$work/good.xml" >/dev/null 2>&1; expect_status 2 $? "verify --time never"
"$FBILL" verify --coverage all "$work/good.xml" >/dev/null 2>&1; expect_status 2 $? "verify --coverage all"
"$FBILL" verify --trust "$work/no-such-root.pem" "$work/good.xml" >/dev/null 2>"$work/err"
expect_status 2 $? "verify with a missing --trust file"
expect_grep "no-such-root.pem" "$work/err" "a missing --trust file is named"
"$FBILL" verify --trust "$ROOT_EC" --crl "$work/good.xml" "$work/good.xml" >/dev/null 2>&1
expect_status 2 $? "verify with a --crl that is not a CRL"

echo "verify: $checks checks, $failures failures"
[ "$failures" = 0 ]
