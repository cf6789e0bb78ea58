#!/usr/bin/env bash
# shellcheck disable=SC2154 # TOKEN_*, SM2_DISTID, ... come from tokens.env
# fbill token list / probe against real SoftHSMv2 tokens built by the PKCS#11
# fixture (tests/p11/fixture.sh). Usage: token.sh PATH/TO/fbill FIXTURE_SCRIPT
# FBT_P11_IMPORT (set by meson) names the built p11_import; without it the
# fixture compiles one with cc.
set -u
FBILL=$1
FIXTURE=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/checks.sh
. "$(dirname -- "$0")/checks.sh"


# Build the fixture.
if ! bash "$FIXTURE" "$work/fx" >"$work/fixture.out" 2>&1; then
    echo "FAIL: the fixture could not be built:"
    sed 's/^/    /' "$work/fixture.out"
    echo "token: 1 checks, 1 failures"
    exit 1
fi
FX=$work/fx
# shellcheck disable=SC1091
. "$FX/tokens.env"
export SOFTHSM2_CONF
M=$P11_MODULE
PIN_WRONG=97531

# The PIN must never be printed. Serials, the fixture path and the SM2
# default ID may hold "1234" by chance or by design: blank them first.
expect_no_pin() { # file what
    local scrubbed=$work/scrubbed s
    cp -- "$1" "$scrubbed"
    for s in "$FX" "$SM2_DISTID" "$TOKEN_port_1_SERIAL" "$TOKEN_port_2_SERIAL" \
        "$TOKEN_port_rsa_SERIAL" "$TOKEN_bureau_SERIAL" "$TOKEN_nocert_SERIAL" \
        "$TOKEN_dup_a_SERIAL" "$TOKEN_dup_b_SERIAL" "$TOKEN_twokeys_SERIAL" \
        "$TOKEN_port_sm2_SERIAL"; do
        sed -i "s#$s#<scrubbed>#g" "$scrubbed"
    done
    if grep -q -e "$PIN" -e "$PIN_WRONG" "$scrubbed"; then
        fail "$2: the output holds the PIN"
        sed 's/^/    /' "$1"
    else
        ok
    fi
}

# probe WHAT [fbill token probe arguments...]: output in $work/out, status in $st
probe() {
    local what=$1
    shift
    "$FBILL" token probe "$@" >"$work/out" 2>&1
    st=$?
    expect_no_pin "$work/out" "$what"
}

# ---- token list ----
# Without --module: every module registered with p11-kit, SoftHSM among
# them (its package registers it), showing this fixture's tokens.
"$FBILL" token list >"$work/list-all" 2>&1
expect_status 0 $? "token list without --module"
expect_grep "libsofthsm2.so" "$work/list-all" "token list without --module shows the registered SoftHSM"
expect_grep '"port-1"' "$work/list-all" "token list without --module shows the fixture's tokens"
"$FBILL" token list --module "$M" >"$work/list" 2>&1
expect_status 0 $? "token list --module"
for name in $TOKENS; do
    var=${name//-/_}
    label_var=TOKEN_${var}_LABEL
    serial_var=TOKEN_${var}_SERIAL
    expect_grep "\"${!label_var}\"" "$work/list" "token list shows the label of $name"
    expect_grep "${!serial_var}" "$work/list" "token list shows the serial of $name"
done
for cn in "Port 1 Operator" "Port 2 Operator" "Port RSA Operator" "Finance Bureau Signer" \
    "Dup A Operator" "Dup B Operator" "TwoKeys A Operator" "TwoKeys B Operator" \
    "Port SM2 Operator"; do
    expect_grep "CN=$cn" "$work/list" "token list shows the certificate subject $cn"
done
expect_grep "CKM_ECDSA" "$work/list" "token list shows the signing mechanisms"
expect_grep "CKM_RSA_PKCS" "$work/list" "token list shows the RSA mechanisms"
expect_grep "key-a" "$work/list" "token list shows key labels"
expect_no_grep "private key" "$work/list" "token list logs in to nobody (no private keys)"
expect_no_pin "$work/list" "token list"
if [ "$(grep -c '^ *token "' "$work/list")" = 9 ]; then ok; else fail "token list: 9 tokens expected"; fi

"$FBILL" token list --module "$work/no-such-module.so" >"$work/out" 2>&1
st=$?
if [ "$st" -lt 128 ]; then ok; else fail "token list of a missing module crashed (status $st)"; fi
expect_grep "no-such-module.so" "$work/out" "token list names the missing module"

"$FBILL" token >/dev/null 2>&1; expect_status 2 $? "token without a subcommand"
"$FBILL" token list --bogus >/dev/null 2>&1; expect_status 2 $? "token list with a bad option"
"$FBILL" token probe >/dev/null 2>&1; expect_status 2 $? "token probe without a URI"

# ---- token probe: tokens ----
P1="pkcs11:token=port-1;id=%01?module-path=$M&pin-value=$PIN"
probe "probe port-1" "$P1"
expect_status 0 "$st" "probe port-1"
expect_grep "profile ecdsa" "$work/out" "probe port-1 names the profile"
expect_grep "verified" "$work/out" "probe port-1 verifies its test signature"
expect_grep "SHA256withECDSA" "$work/out" "probe port-1 names the algorithm"
expect_grep "port-1" "$work/out" "probe port-1 names the token"
expect_grep "$TOKEN_port_1_SERIAL" "$work/out" "probe port-1 names the serial"
expect_grep "CN=Port 1 Operator" "$work/out" "probe port-1 names the signer"

probe "probe port-1 by serial" "pkcs11:serial=$TOKEN_port_1_SERIAL?module-path=$M&pin-value=$PIN"
expect_status 0 "$st" "probe port-1 by serial"

printf '%s\n' "$PIN" >"$work/pin"
probe "probe port-2 with pin-source" "pkcs11:token=port-2;id=%01?module-path=$M&pin-source=file:$work/pin"
expect_status 0 "$st" "probe port-2 with pin-source"
expect_grep "CN=Port 2 Operator" "$work/out" "probe port-2 names the signer"

probe "probe port-rsa" "pkcs11:token=port-rsa;id=%01?module-path=$M&pin-value=$PIN"
expect_status 0 "$st" "probe port-rsa"
expect_grep "profile rsa-pkcs" "$work/out" "probe port-rsa uses PKCS#1 v1.5"
expect_grep "verified" "$work/out" "probe port-rsa verifies"
probe "probe port-rsa --pss" --pss "pkcs11:token=port-rsa;id=%01?module-path=$M&pin-value=$PIN"
expect_status 0 "$st" "probe --pss port-rsa"
expect_grep "profile rsa-pss" "$work/out" "probe --pss uses RSA-PSS"
expect_grep "SHA256withRSA/PSS" "$work/out" "probe --pss names the algorithm"

probe "probe twokeys object=key-b" "pkcs11:token=twokeys;object=key-b?module-path=$M&pin-value=$PIN"
expect_status 0 "$st" "probe twokeys;object=key-b"
expect_grep "CN=TwoKeys B Operator" "$work/out" "probe by object label finds key-b"

# Refusals.
probe "probe wrong PIN" "pkcs11:token=port-1;id=%01?module-path=$M&pin-value=$PIN_WRONG"
expect_failure "$st" "probe with a wrong PIN"
expect_grep "refused the PIN" "$work/out" "probe with a wrong PIN says so"
expect_grep "port-1" "$work/out" "the PIN refusal names the token"
expect_grep "will not be tried again" "$work/out" "the PIN refusal says it is final"

probe "probe token=dup" "pkcs11:token=dup?module-path=$M&pin-value=$PIN"
expect_failure "$st" "probe of an ambiguous token"
expect_grep "$TOKEN_dup_a_SERIAL" "$work/out" "ambiguity lists the first dup"
expect_grep "$TOKEN_dup_b_SERIAL" "$work/out" "ambiguity lists the second dup"

probe "probe twokeys" "pkcs11:token=twokeys?module-path=$M&pin-value=$PIN"
expect_failure "$st" "probe of an ambiguous key"
expect_grep "key-a" "$work/out" "key ambiguity lists key-a"
expect_grep "key-b" "$work/out" "key ambiguity lists key-b"

probe "probe token=none" "pkcs11:token=none?module-path=$M&pin-value=$PIN"
expect_failure "$st" "probe of a missing token"
expect_grep "port-1" "$work/out" "not found lists the tokens present"

probe "probe slot-id" "pkcs11:slot-id=0?module-path=$M&pin-value=$PIN"
expect_failure "$st" "probe by slot-id"
expect_grep "slot" "$work/out" "slot-id refusal explains"

probe "probe without PIN" "pkcs11:token=port-1;id=%01?module-path=$M"
expect_failure "$st" "probe without a PIN"
expect_grep "hidden" "$work/out" "without a PIN the private keys are hidden"

probe "probe nocert" "pkcs11:token=nocert;id=%01?module-path=$M&pin-value=$PIN"
expect_failure "$st" "probe nocert without --cert"
expect_grep "certificate" "$work/out" "nocert refusal names the certificate"
probe "probe nocert --cert" --cert "$FX/certs/nocert.pem" "pkcs11:token=nocert;id=%01?module-path=$M&pin-value=$PIN"
expect_status 0 "$st" "probe nocert --cert"
expect_grep "verified" "$work/out" "probe nocert --cert verifies"

probe "probe port-sm2" "pkcs11:token=port-sm2;id=%01?module-path=$M&pin-value=$PIN"
expect_failure "$st" "probe of an SM2 key behind plain CKM_ECDSA"
expect_grep "not SM2" "$work/out" "the SM2 refusal explains"

# ---- token probe: key files ----
probe "probe soft-sm2" --cert "$FX/certs/soft-sm2.pem" "file:$FX/keys/soft-sm2.pem"
expect_status 0 "$st" "probe file: soft-sm2"
expect_grep "SM3withSM2" "$work/out" "probe soft-sm2 names SM3withSM2"
expect_grep "1234567812345678" "$work/out" "probe soft-sm2 names the default SM2 ID"
expect_grep "verified" "$work/out" "probe soft-sm2 verifies"
expect_grep "CN=Soft SM2 Operator" "$work/out" "probe soft-sm2 names the signer"
probe "probe soft-sm2 --sm2-id" --sm2-id ALICE123 --cert "$FX/certs/soft-sm2.pem" "file:$FX/keys/soft-sm2.pem"
expect_status 0 "$st" "probe file: soft-sm2 --sm2-id"
expect_grep "ALICE123" "$work/out" "probe --sm2-id names the ID"
probe "probe soft-ec" --cert "$FX/certs/soft-ec.pem" "file:$FX/keys/soft-ec.pem"
expect_status 0 "$st" "probe file: soft-ec"
expect_grep "SHA256withECDSA" "$work/out" "probe soft-ec names the algorithm"
probe "probe soft-rsa --pss" --pss --cert "$FX/certs/soft-rsa.pem" "file:$FX/keys/soft-rsa.pem"
expect_status 0 "$st" "probe file: soft-rsa --pss"
expect_grep "SHA256withRSA/PSS" "$work/out" "probe soft-rsa --pss names the algorithm"
probe "probe soft-sm2 wrong cert" --cert "$FX/certs/soft-ec.pem" "file:$FX/keys/soft-sm2.pem"
expect_failure "$st" "probe of a key file with another key's certificate"
probe "probe soft-sm2 without cert" "file:$FX/keys/soft-sm2.pem"
expect_failure "$st" "probe of a key file without --cert"

echo "token: $checks checks, $failures failures"
[ "$failures" = 0 ]
