#!/usr/bin/env bash
# shellcheck disable=SC2154 # P11_MODULE, PIN, ... come from tokens.env
# fbill issue and fbill seal end to end, on real SoftHSMv2 tokens built by the
# PKCS#11 fixture (tests/p11/fixture.sh), with the openssl command as an
# independent judge of the signatures. Usage: issue.sh PATH/TO/fbill
# FIXTURE_SCRIPT. FBT_P11_IMPORT (set by meson) names the built p11_import;
# without it the fixture compiles one with cc.
set -u
export LC_ALL=C # byte-wise string operations on the documents
FBILL=$1
FIXTURE=$2
SRC=$(cd -- "$(dirname -- "$FIXTURE")/../.." && pwd -P)
KINDS=$SRC/specs/examples/kinds.conf
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
# shellcheck source=tests/cli/checks.sh
. "$(dirname -- "$0")/checks.sh"

expect_only() { # dir what names...: the directory holds exactly these entries
    local dir=$1 what=$2 got want
    shift 2
    got=$(find "$dir" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort | tr '\n' ' ')
    want=$(printf '%s\n' "$@" | sed '/^$/d' | sort | tr '\n' ' ')
    if [ "$got" = "$want" ]; then ok; else fail "$what: $dir holds [$got], expected [$want]"; fi
}

# Build the fixture.
if ! bash "$FIXTURE" "$work/fx" >"$work/fixture.out" 2>&1; then
    echo "FAIL: the fixture could not be built:"
    sed 's/^/    /' "$work/fixture.out"
    echo "issue: 1 checks, 1 failures"
    exit 1
fi
FX=$work/fx
# shellcheck disable=SC1091
. "$FX/tokens.env"
export SOFTHSM2_CONF
M=$P11_MODULE
P1="pkcs11:token=port-1;id=%01?module-path=$M&pin-value=$PIN"
BUREAU="pkcs11:token=bureau;id=%01?module-path=$M&pin-value=$PIN"
SEAL_ID=652300
SEAL_NAME=昌吉回族自治州财政局票据监制章
CA=$FX/ca/root-ec.pem

# The seal hashes (specs/signature-format.md §4): SHA-256 of the DER.
seal_hash() { openssl x509 -in "$1" -outform DER | sha256sum | cut -c1-64; }
BUREAU_HASH=$(seal_hash "$FX/certs/bureau.pem")
P1_HASH=$(seal_hash "$FX/certs/port-1.pem")
if [[ $BUREAU_HASH =~ ^[0-9a-f]{64}$ ]]; then ok; else fail "cannot hash certs/bureau.pem: '$BUREAU_HASH'"; fi

# bill KIND OUT: the template of KIND naming the bureau's seal by its hash
# (the SealHash of SupervisorPartySeal; the one of InvoicingPartySeal is left
# to fbill issue).
bill() {
    local doc head rest pre post
    "$FBILL" template --kinds "$KINDS" "$1" >"$work/template.xml" || return 1
    doc=$(<"$work/template.xml")
    head=${doc%%<SupervisorPartySeal>*}
    rest=${doc#*<SupervisorPartySeal>}
    [ "$head" != "$doc" ] || return 1
    pre=${rest%%<SealHash>*}
    post=${rest#*<SealHash>}
    post=${post#*</SealHash>}
    printf '%s' "$head<SupervisorPartySeal>$pre<SealHash>$BUREAU_HASH</SealHash>$post" >"$2"
}

bill medical-outpatient "$work/bill.xml"; expect_status 0 $? "template medical-outpatient"
if [ "$(grep -o "<SealHash>$BUREAU_HASH</SealHash>" "$work/bill.xml" | wc -l)" = 1 ]; then ok
else fail "the bill does not name the bureau's seal hash once"; fi
"$FBILL" check "$work/bill.xml" >"$work/out" 2>&1; expect_status 0 $? "check the patched bill"

# cut FILE: the fragment, the unit node and the SignatureValues of FILE, into
# $work/frag.bin, unit.bin, unit.der, sup.der (when sealed).
cut_doc() {
    local doc frag unit sup
    doc=$(<"$1")
    frag="<Header>${doc#*<Header>}"
    frag="${frag%%</EInvoiceData>*}</EInvoiceData>"
    unit="<InvoicingPartySignature>${doc#*<InvoicingPartySignature>}"
    unit="${unit%%</InvoicingPartySignature>*}</InvoicingPartySignature>"
    printf '%s' "$frag" >"$work/frag.bin"
    printf '%s' "$unit" >"$work/unit.bin"
    local v=${unit#*<SignatureValue>}
    printf '%s' "${v%%</SignatureValue>*}" | base64 -d >"$work/unit.der"
    rm -f "$work/sup.der"
    if [[ $doc == *"<SupervisorPartySignature>"* ]]; then
        sup=${doc#*<SupervisorPartySignature>}
        v=${sup#*<SignatureValue>}
        printf '%s' "${v%%</SignatureValue>*}" | base64 -d >"$work/sup.der"
    fi
}
cms_verify() { # SIG CONTENT
    openssl cms -verify -binary -inform DER -in "$1" -content "$2" -CAfile "$CA" \
        -purpose any -out /dev/null >"$work/cms.out" 2>&1
}

# ---- issue ----
"$FBILL" issue --port "$P1" --out "$work/unit.xml" "$work/bill.xml" >"$work/out" 2>&1
expect_status 0 $? "issue --out unit.xml"
expect_file "$work/unit.xml" "issue"
"$FBILL" check "$work/unit.xml" >"$work/out" 2>&1; expect_status 0 $? "check unit.xml"
expect_grep "unit.xml: valid" "$work/out" "check says unit.xml is valid"
expect_grep "<SealHash>$P1_HASH</SealHash>" "$work/unit.xml" "issue sets InvoicingPartySeal/SealHash from port-1"
expect_grep "<SignatureFormat>DETACH</SignatureFormat><SignatureAlgorithm>SHA256withECDSA</SignatureAlgorithm>" \
    "$work/unit.xml" "the unit node names its algorithm"
"$FBILL" show "$work/unit.xml" >"$work/show" 2>&1; expect_status 0 $? "show unit.xml"
expect_grep "signed by the issuing unit" "$work/show" "show says the unit signed"
cut_doc "$work/unit.xml"
cms_verify "$work/unit.der" "$work/frag.bin"; expect_status 0 $? "openssl cms -verify of the unit signature"
printf 'x' >>"$work/frag.bin"
cms_verify "$work/unit.der" "$work/frag.bin"; expect_failure $? "openssl cms -verify over a changed fragment"

# --token-timeout: a deadline in milliseconds; anything else is a usage
# error and nothing is signed.
"$FBILL" issue --port "$P1" --token-timeout 5000 --out "$work/timed.xml" "$work/bill.xml" \
    >"$work/out" 2>&1
expect_status 0 $? "issue --token-timeout 5000"
expect_file "$work/timed.xml" "issue --token-timeout 5000"
for bad in 0 -5 abc 1000000000 ""; do
    "$FBILL" issue --port "$P1" --token-timeout "$bad" --out "$work/bad-timeout.xml" \
        "$work/bill.xml" >"$work/out" 2>&1
    expect_status 2 $? "issue --token-timeout '$bad'"
    expect_no_file "$work/bad-timeout.xml" "issue --token-timeout '$bad'"
done

# Issuing a signed document again: refused, nothing written.
"$FBILL" issue --port "$P1" --out "$work/again.xml" "$work/unit.xml" >"$work/out" 2>&1
expect_status 1 $? "issue of a signed document"
expect_grep "signed" "$work/out" "issuing a signed document says why"
expect_no_file "$work/again.xml" "issue of a signed document"

# ---- seal ----
seal() { # OUTPUT-OPTION... BILL...: fbill seal at the bureau, output in $work/out
    "$FBILL" seal --port "$BUREAU" --trust "$CA" --seal-id "$SEAL_ID" --seal-name "$SEAL_NAME" \
        --area 652300 "$@" >"$work/out" 2>&1
}
seal --out "$work/sealed.xml" "$work/unit.xml"; expect_status 0 $? "seal --out sealed.xml"
expect_file "$work/sealed.xml" "seal"
"$FBILL" show "$work/sealed.xml" >"$work/show" 2>&1; expect_status 0 $? "show sealed.xml"
expect_grep "signed and sealed" "$work/show" "show says both signatures are present"
expect_grep "已有开票单位签名和财政监制签名" "$work/show" "show says both signatures are present (中文)"
"$FBILL" check "$work/sealed.xml" >"$work/out" 2>&1; expect_status 0 $? "check sealed.xml"
# The sealed file is unit.xml with one node inserted after the unit node.
unit_doc=$(<"$work/unit.xml")
sealed_doc=$(<"$work/sealed.xml")
cut_at="${unit_doc%%</InvoicingPartySignature>*}</InvoicingPartySignature>"
if [ "${sealed_doc:0:${#cut_at}}" = "$cut_at" ] &&
    [ "${sealed_doc: -$((${#unit_doc} - ${#cut_at}))}" = "${unit_doc:${#cut_at}}" ]; then ok
else fail "the sealed document is not unit.xml with one node inserted"; fi
cut_doc "$work/sealed.xml"
cat "$work/frag.bin" "$work/unit.bin" >"$work/covered.bin"
cms_verify "$work/sup.der" "$work/covered.bin"; expect_status 0 $? "openssl cms -verify of the seal over fragment+unit-node"
cms_verify "$work/sup.der" "$work/frag.bin"; expect_failure $? "the seal does not verify over the fragment alone"

seal --coverage fragment --out "$work/sealed-frag.xml" "$work/unit.xml"
expect_status 0 $? "seal --coverage fragment"
cut_doc "$work/sealed-frag.xml"
cms_verify "$work/sup.der" "$work/frag.bin"; expect_status 0 $? "the fragment-only seal verifies over the fragment"
seal --coverage everything --out "$work/never.xml" "$work/unit.xml"
expect_status 2 $? "seal --coverage with an unknown profile"
expect_no_file "$work/never.xml" "seal with an unknown coverage"
"$FBILL" seal --port "$BUREAU" --seal-id "$SEAL_ID" --seal-name "$SEAL_NAME" \
    --out "$work/never.xml" "$work/unit.xml" >"$work/out" 2>&1
expect_status 2 $? "seal without --trust"
expect_no_file "$work/never.xml" "seal without --trust"

# Sealing a sealed bill again: refused.
seal --out "$work/twice.xml" "$work/sealed.xml"; expect_status 1 $? "seal of a sealed bill"
expect_grep "already sealed" "$work/out" "sealing twice says why"
expect_no_file "$work/twice.xml" "seal of a sealed bill"

# The wrong seal id: exit 1 with a message, no output file.
"$FBILL" seal --port "$BUREAU" --trust "$CA" --seal-id 652301 --seal-name "$SEAL_NAME" \
    --out "$work/wrong.xml" "$work/unit.xml" >"$work/out" 2>&1
expect_status 1 $? "seal with the wrong --seal-id"
expect_grep "SupervisorPartySeal" "$work/out" "the wrong seal id is named"
expect_no_file "$work/wrong.xml" "seal with the wrong --seal-id"

# The wrong area, and anchors the unit does not chain to.
"$FBILL" seal --port "$BUREAU" --trust "$CA" --seal-id "$SEAL_ID" --seal-name "$SEAL_NAME" \
    --area 110000 --out "$work/wrong.xml" "$work/unit.xml" >"$work/out" 2>&1
expect_status 1 $? "seal with another --area"
expect_grep "SupervisorAreaCode" "$work/out" "the wrong area is named"
expect_no_file "$work/wrong.xml" "seal with another --area"
"$FBILL" seal --port "$BUREAU" --trust "$FX/ca/root-sm2.pem" --seal-id "$SEAL_ID" \
    --seal-name "$SEAL_NAME" --out "$work/wrong.xml" "$work/unit.xml" >"$work/out" 2>&1
expect_status 1 $? "seal with anchors the unit does not chain to"
expect_grep "trusted" "$work/out" "the untrusted certificate is named"
expect_no_file "$work/wrong.xml" "seal with foreign anchors"

# --out over an existing file: a failing seal leaves it intact and no
# temporary file; a good one replaces it whole.
mkdir "$work/keep"
printf 'OLD CONTENT\n' >"$work/keep/sealed.xml"
"$FBILL" seal --port "$BUREAU" --trust "$CA" --seal-id 652301 --seal-name "$SEAL_NAME" \
    --out "$work/keep/sealed.xml" "$work/unit.xml" >"$work/out" 2>&1
expect_status 1 $? "failing seal over an existing file"
if [ "$(cat "$work/keep/sealed.xml")" = "OLD CONTENT" ]; then ok; else fail "a failing seal changed the existing --out file"; fi
expect_only "$work/keep" "a failing seal over an existing file" sealed.xml
seal --out "$work/keep/sealed.xml" "$work/unit.xml"; expect_status 0 $? "seal over an existing file"
if grep -q "<SupervisorPartySignature>" "$work/keep/sealed.xml" && ! grep -q "OLD CONTENT" "$work/keep/sealed.xml"; then ok
else fail "seal over an existing file did not replace it"; fi
"$FBILL" check "$work/keep/sealed.xml" >/dev/null 2>&1; expect_status 0 $? "the replaced file is a bill"
expect_only "$work/keep" "a seal over an existing file" sealed.xml

# Sealing into a missing directory, into a file, and into a read-only
# directory: non-zero, nothing left.
seal --out-dir "$work/no-such-dir" "$work/unit.xml"
expect_failure $? "seal --out-dir into a missing directory"
expect_no_file "$work/no-such-dir" "seal into a missing directory"
seal --out "$work/no-such-dir/sealed.xml" "$work/unit.xml"
expect_failure $? "seal --out into a missing directory"
expect_grep "no-such-dir" "$work/out" "the unwritable path is named"
expect_no_file "$work/no-such-dir" "seal --out into a missing directory"
printf 'a file\n' >"$work/plainfile"
seal --out-dir "$work/plainfile" "$work/unit.xml"
expect_failure $? "seal --out-dir into a regular file"
if [ "$(cat "$work/plainfile")" = "a file" ]; then ok; else fail "seal --out-dir changed a regular file"; fi
mkdir "$work/ro"
chmod 555 "$work/ro"
if touch "$work/ro/probe" 2>/dev/null; then
    rm -f "$work/ro/probe"
    echo "SKIP: running as root, a read-only directory is writable (checked with a regular file instead)"
else
    seal --out-dir "$work/ro" "$work/unit.xml"
    expect_failure $? "seal --out-dir into a read-only directory"
    expect_only "$work/ro" "seal into a read-only directory"
    seal --out "$work/ro/sealed.xml" "$work/unit.xml"
    expect_failure $? "seal --out into a read-only directory"
    expect_only "$work/ro" "seal --out into a read-only directory"
fi
chmod 755 "$work/ro"

# ---- batch ----
mkdir "$work/in" "$work/D"
cp "$work/bill.xml" "$work/in/a.xml"
bill donation "$work/in/b.xml"; expect_status 0 $? "template donation"
# bad.xml: its items no longer sum to TotalAmount.
sed 's#<TotalAmount>338.50</TotalAmount>#<TotalAmount>338.51</TotalAmount>#' \
    "$work/bill.xml" >"$work/in/bad.xml"
if cmp -s "$work/bill.xml" "$work/in/bad.xml"; then fail "bad.xml is not changed"; else ok; fi
"$FBILL" issue --port "$P1" --out-dir "$work/D" "$work/in/a.xml" "$work/in/b.xml" \
    "$work/in/bad.xml" >"$work/out" 2>&1
expect_status 1 $? "batch issue with one invalid bill"
expect_grep "bad.xml" "$work/out" "the batch names the invalid bill"
expect_grep "TotalAmount" "$work/out" "the batch names the problem"
expect_only "$work/D" "batch issue: a.xml and b.xml only, no temporary file" a.xml b.xml
for f in a b; do
    "$FBILL" check "$work/D/$f.xml" >/dev/null 2>&1; expect_status 0 $? "batch output $f.xml is valid"
    expect_grep "<InvoicingPartySignature>" "$work/D/$f.xml" "batch output $f.xml is signed"
done
# The batch sealed in turn, into another directory.
mkdir "$work/S"
seal --out-dir "$work/S" "$work/D/a.xml" "$work/D/b.xml"; expect_status 0 $? "batch seal"
expect_only "$work/S" "batch seal" a.xml b.xml
for f in a b; do
    cut_doc "$work/S/$f.xml"
    cat "$work/frag.bin" "$work/unit.bin" >"$work/covered.bin"
    cms_verify "$work/sup.der" "$work/covered.bin"; expect_status 0 $? "batch seal of $f.xml verifies"
done
# A batch seal where one bill fails: the others are written, nothing for it.
mkdir "$work/S2"
seal --out-dir "$work/S2" "$work/D/a.xml" "$work/sealed.xml" "$work/D/b.xml"
expect_status 1 $? "batch seal with an already sealed bill"
expect_only "$work/S2" "batch seal with a failing bill" a.xml b.xml

# Two inputs of one name would overwrite each other in --out-dir: refused
# before anything is signed.
mkdir "$work/in2" "$work/D2"
cp "$work/in/b.xml" "$work/in2/a.xml"
"$FBILL" issue --port "$P1" --out-dir "$work/D2" "$work/in/a.xml" "$work/in2/a.xml" \
    >"$work/out" 2>&1
expect_status 2 $? "batch issue of two inputs named a.xml"
expect_grep "two inputs are named a.xml" "$work/out" "the refusal names the clash"
expect_only "$work/D2" "batch issue refused: nothing written"

echo "issue: $checks checks, $failures failures"
[ "$failures" = 0 ]
