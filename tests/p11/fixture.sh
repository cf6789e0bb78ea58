#!/usr/bin/env bash
# fixture.sh DIR -- build the PKCS#11 test fixture in DIR (absent or empty).
#
# Creates real SoftHSMv2 tokens and a throw-away test PKI made by the openssl
# CLI at test time. Nothing here is a real key; private keys are unencrypted.
#
# Layout of DIR on success:
#   softhsm2.conf            tokendir = DIR/tokens (file backend)
#   tokens/                  SoftHSM object store
#   ca/root-ec.pem  .key     EC P-256 root "CN=Test Finance Root CA" (SHA-256)
#   ca/root-sm2.pem .key     SM2 root, signed SM2-with-SM3, distid 1234567812345678
#   keys/soft-{ec,rsa,sm2}.pem   software keys (PEM PKCS#8, unencrypted)
#   keys/port-sm2.pem        clear copy of the SM2 key imported into port-sm2
#   certs/soft-{ec,rsa,sm2}.pem  their certificates
#   certs/<token>.pem        certificate of each token key; twokeys-a.pem, twokeys-b.pem
#   tokens.env               shell-sourceable facts (labels, serials, paths, PINs);
#                            written last, so its presence means success
#   fixture.log              output of the tools
#
# Tokens (user PIN 1234, SO PIN 5678; every key has CKA_ID 01 unless noted):
#   port-1, port-2, bureau   EC P-256 generated on the token, label unit-key,
#                            certificate on the token (label unit-cert)
#   port-rsa                 RSA-2048 on the token, unit-key / unit-cert
#   nocert                   EC P-256, NO certificate object (certs/nocert.pem only)
#   twokeys                  EC P-256 id 01 "key-a" and id 02 "key-b", each with a
#                            certificate of the same id and label
#   port-sm2                 SM2 key imported by p11_import (CKK_EC, curve SM2,
#                            CKA_SENSITIVE false) with id 01, label sm2-key for the
#                            private key, public key and certificate
#   dup-a, dup-b             both labelled "dup" (URI ambiguity), EC P-256 + cert
# tokens.env names use '_' for '-': TOKEN_port_1_LABEL, TOKEN_port_1_SERIAL, ...
#
# Leaf certificates: keyUsage critical digitalSignature,nonRepudiation, 2 years,
# distinct serials from 0x1001 up; EC and RSA leaves issued by the EC root
# (ecdsa-with-SHA256), SM2 leaves by the SM2 root (SM2-with-SM3).
#
# SM2 notes (OpenSSL 3.0, checked on 3.0.19 / 3.0.22):
#  * "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:SM2 -sigopt distid:..."
#    FAILS on 3.0 ("parameter error distid ... command not supported"): generate
#    the key with genpkey first, then "req -x509 -key KEY -sm3 -sigopt distid:...".
#  * OpenSSL 3.0's default SM2 distinguishing ID is EMPTY; we always sign with
#    distid 1234567812345678 (GM/T 0009 default), so verifiers must set it:
#        openssl verify -CAfile ca/root-sm2.pem -vfyopt distid:1234567812345678 leaf.pem
#    -vfyopt applies to the certificate being verified only (not to the CA copy
#    from -CAfile), so this works for leaves; the root's self-signature is not
#    checked by default and "-check_ss_sig" FAILS for the SM2 root because the
#    -CAfile copy carries no distid. In C: X509_set0_distinguishing_id() on each
#    SM2 certificate (an ASN1_OCTET_STRING "1234567812345678") before
#    X509_verify_cert / X509_verify.
#  * pkcs11-tool 0.23 cannot create or read back SM2-curve EC public keys
#    ("Unknown EC key params", "cannot create EVP_PKEY"), hence p11_import.
#
# Environment:
#   FBT_P11_IMPORT      path of the built p11_import; if unset it is compiled
#                       with cc into DIR/p11_import
#   FBT_SOFTHSM2_MODULE SoftHSM module (default /usr/lib/softhsm/libsofthsm2.so)
set -Eeuo pipefail

prog=${0##*/}
die() {
    echo "$prog: error: $*" >&2
    exit 1
}

if [[ $# -ne 1 || -z $1 ]]; then
    echo "usage: $prog DIR   (DIR must be absent or empty)" >&2
    exit 2
fi

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)

for tool in openssl softhsm2-util pkcs11-tool; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "required tool '$tool' not found in PATH (Debian: openssl, softhsm2, opensc)"
done
P11_MODULE=${FBT_SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[[ -r $P11_MODULE ]] || die "SoftHSM module not found: $P11_MODULE (Debian: softhsm2)"

DIR=$1
if [[ -e $DIR || -L $DIR ]]; then
    [[ -d $DIR && ! -L $DIR ]] || die "$DIR exists and is not a directory"
    [[ -z $(ls -A -- "$DIR") ]] || die "$DIR is not empty; refusing to touch it"
fi
umask 077
mkdir -p -- "$DIR"
DIR=$(cd -- "$DIR" && pwd -P)
mkdir "$DIR/tokens" "$DIR/ca" "$DIR/keys" "$DIR/certs" "$DIR/work"
WORK=$DIR/work
LOG=$DIR/fixture.log
: >"$LOG"

fail() { # fail STATUS WHERE COMMAND
    {
        echo "$prog: error: command failed (exit $1) $2: $3"
        echo "$prog: last lines of $LOG:"
        tail -n 25 "$LOG" | sed 's/^/    /'
    } >&2
    exit 1
}
trap 'fail $? "at line $LINENO" "$BASH_COMMAND"' ERR

# Run a command with its output in the log.
run() {
    echo "+ $*" >>"$LOG"
    "$@" >>"$LOG" 2>&1 || fail $? "in ${FUNCNAME[1]:-main}" "$*"
}

PIN=1234
SO_PIN=5678
DISTID=1234567812345678

cat >"$DIR/softhsm2.conf" <<EOF
directories.tokendir = $DIR/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF=$DIR/softhsm2.conf

# ---- p11_import ----
if [[ -n ${FBT_P11_IMPORT:-} ]]; then
    P11_IMPORT=$FBT_P11_IMPORT
    [[ -x $P11_IMPORT ]] || die "FBT_P11_IMPORT=$P11_IMPORT is not an executable"
else
    command -v cc >/dev/null 2>&1 || die "FBT_P11_IMPORT is unset and no 'cc' to build p11_import"
    if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists p11-kit-1 libcrypto; then
        read -r -a cflags <<<"$(pkg-config --cflags p11-kit-1 libcrypto)"
        read -r -a libs <<<"$(pkg-config --libs libcrypto)"
    else
        cflags=(-I/usr/include/p11-kit-1)
        libs=(-lcrypto)
    fi
    P11_IMPORT=$DIR/p11_import
    run cc -std=c11 -O1 -D_POSIX_C_SOURCE=200809L "${cflags[@]}" -o "$P11_IMPORT" \
        "$HERE/p11_import.c" "${libs[@]}" -ldl
fi

# ---- the test PKI ----
cat >"$WORK/x509.cnf" <<'EOF'
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_leaf ]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF

genkey() { # genkey ec|rsa|sm2 OUT.pem  (PEM PKCS#8, unencrypted)
    case $1 in
    ec) run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
        -pkeyopt ec_param_enc:named_curve -out "$2" ;;
    sm2) run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:SM2 \
        -pkeyopt ec_param_enc:named_curve -out "$2" ;;
    rsa) run openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$2" ;;
    *) die "genkey: unknown key type $1" ;;
    esac
}

CA_EC=$DIR/ca/root-ec.pem
CA_EC_KEY=$DIR/ca/root-ec.key
CA_SM2=$DIR/ca/root-sm2.pem
CA_SM2_KEY=$DIR/ca/root-sm2.key

genkey ec "$CA_EC_KEY"
run openssl req -config "$WORK/x509.cnf" -x509 -key "$CA_EC_KEY" -sha256 -days 3650 \
    -set_serial 1 -subj "/C=CN/O=fiscalbill tests/CN=Test Finance Root CA" \
    -extensions v3_ca -out "$CA_EC"
genkey sm2 "$CA_SM2_KEY"
run openssl req -config "$WORK/x509.cnf" -x509 -key "$CA_SM2_KEY" -sm3 \
    -sigopt "distid:$DISTID" -days 3650 -set_serial 2 \
    -subj "/C=CN/O=fiscalbill tests/CN=Test Finance SM2 Root CA" \
    -extensions v3_ca -out "$CA_SM2"

next_serial=4097 # 0x1001; every leaf gets its own
HOSPITAL="Changji People's Hospital"

# issue ec|sm2 PUBKEY(.pem|.der) "/C=CN/.../CN=..." OUT.pem
issue() {
    local ca=$1 pub=$2 subj=$3 out=$4 serial=$next_serial
    next_serial=$((next_serial + 1))
    local -a sign
    case $ca in
    ec) sign=(-CA "$CA_EC" -CAkey "$CA_EC_KEY" -sha256) ;;
    sm2) sign=(-CA "$CA_SM2" -CAkey "$CA_SM2_KEY" -sm3 -sigopt "distid:$DISTID") ;;
    *) die "issue: unknown CA $ca" ;;
    esac
    run openssl x509 -new -force_pubkey "$pub" -subj "$subj" "${sign[@]}" \
        -set_serial "$serial" -days 730 -extfile "$WORK/x509.cnf" -extensions v3_leaf \
        -out "$out"
}

# ---- software keys (file: ports) ----
for t in ec rsa sm2; do
    genkey "$t" "$DIR/keys/soft-$t.pem"
    run openssl pkey -in "$DIR/keys/soft-$t.pem" -pubout -out "$WORK/soft-$t.pub.pem"
    ca=ec
    [[ $t == sm2 ]] && ca=sm2
    issue "$ca" "$WORK/soft-$t.pub.pem" \
        "/C=CN/O=$HOSPITAL/OU=Software Port/CN=Soft ${t^^} Operator" "$DIR/certs/soft-$t.pem"
done

# ---- tokens ----
p11() { run pkcs11-tool --module "$P11_MODULE" "$@"; }

declare -A SLOT SERIAL LABEL
TOKENS=()

# init_token NAME LABEL: a fresh token; records its slot and serial.
init_token() {
    local name=$1 label=$2 out slot serial
    echo "+ softhsm2-util --init-token --free --label $label" >>"$LOG"
    out=$(softhsm2-util --init-token --free --label "$label" --pin "$PIN" --so-pin "$SO_PIN" 2>&1) ||
        die "softhsm2-util --init-token --label $label failed: $out"
    echo "$out" >>"$LOG"
    slot=$(sed -n 's/.*reassigned to slot \([0-9][0-9]*\).*/\1/p' <<<"$out")
    [[ -n $slot ]] || die "cannot read the slot of token $name from: $out"
    serial=$(softhsm2-util --show-slots 2>>"$LOG" | awk -v s="$slot" '
        /^Slot [0-9]+$/ { cur = $2 }
        cur == s && /^ *Serial number:/ && !done { print $3; done = 1 }')
    [[ $serial =~ ^[0-9a-f]{16}$ ]] || die "cannot read the serial of token $name (slot $slot): '$serial'"
    SLOT[$name]=$slot
    SERIAL[$name]=$serial
    LABEL[$name]=$label
    TOKENS+=("$name")
}

# The token is always addressed by slot ID here: labels are not unique (dup).
# gen_key NAME ec|rsa ID LABEL
gen_key() {
    local kt
    case $2 in
    ec) kt=EC:prime256v1 ;;
    rsa) kt=rsa:2048 ;;
    *) die "gen_key: unknown key type $2" ;;
    esac
    p11 --slot "${SLOT[$1]}" --login --pin "$PIN" --keypairgen --key-type "$kt" \
        --id "$3" --label "$4"
}

# DER of a single-object PEM file (certificate or public key), without openssl.
pem2der() { sed '/^-----/d' "$1" | base64 -d; }

# token_pub NAME ID OUT.der: the token's public key (DER SubjectPublicKeyInfo,
# which "openssl x509 -force_pubkey" reads as is).
token_pub() {
    p11 --slot "${SLOT[$1]}" --read-object --type pubkey --id "$2" -o "$3"
}

# put_cert NAME ID LABEL CERT.pem
put_cert() {
    pem2der "$4" >"$WORK/cert.der"
    p11 --slot "${SLOT[$1]}" --login --pin "$PIN" --write-object "$WORK/cert.der" \
        --type cert --id "$2" --label "$3"
    rm -f "$WORK/cert.der"
}

# token_with_key NAME LABEL ec|rsa "SUBJECT" [nocert]
token_with_key() {
    local name=$1 label=$2 kt=$3 subj=$4 mode=${5:-}
    init_token "$name" "$label"
    gen_key "$name" "$kt" 01 unit-key
    token_pub "$name" 01 "$WORK/$name.pub.der"
    issue ec "$WORK/$name.pub.der" "$subj" "$DIR/certs/$name.pem"
    [[ $mode == nocert ]] || put_cert "$name" 01 unit-cert "$DIR/certs/$name.pem"
}

token_with_key port-1 port-1 ec "/C=CN/O=$HOSPITAL/OU=Window 1/CN=Port 1 Operator"
token_with_key port-2 port-2 ec "/C=CN/O=$HOSPITAL/OU=Window 2/CN=Port 2 Operator"
token_with_key port-rsa port-rsa rsa "/C=CN/O=$HOSPITAL/OU=Window 3/CN=Port RSA Operator"
token_with_key bureau bureau ec \
    "/C=CN/O=Changji Prefecture Finance Bureau/OU=Bill Supervision/CN=Finance Bureau Signer"
token_with_key nocert nocert ec "/C=CN/O=$HOSPITAL/OU=Window 4/CN=Port NoCert Operator" nocert
token_with_key dup-a dup ec "/C=CN/O=$HOSPITAL/OU=Window 5/CN=Dup A Operator"
token_with_key dup-b dup ec "/C=CN/O=$HOSPITAL/OU=Window 6/CN=Dup B Operator"

init_token twokeys twokeys
for k in a b; do
    id=01
    [[ $k == b ]] && id=02
    gen_key twokeys ec "$id" "key-$k"
    token_pub twokeys "$id" "$WORK/twokeys-$k.pub.der"
    issue ec "$WORK/twokeys-$k.pub.der" \
        "/C=CN/O=$HOSPITAL/OU=Window 7/CN=TwoKeys ${k^^} Operator" "$DIR/certs/twokeys-$k.pem"
    put_cert twokeys "$id" "key-$k" "$DIR/certs/twokeys-$k.pem"
done

init_token port-sm2 port-sm2
genkey sm2 "$DIR/keys/port-sm2.pem"
run openssl pkey -in "$DIR/keys/port-sm2.pem" -pubout -out "$WORK/port-sm2.pub.pem"
issue sm2 "$WORK/port-sm2.pub.pem" "/C=CN/O=$HOSPITAL/OU=Window 8/CN=Port SM2 Operator" \
    "$DIR/certs/port-sm2.pem"
run "$P11_IMPORT" "$P11_MODULE" port-sm2 "$PIN" "$DIR/keys/port-sm2.pem" \
    "$DIR/certs/port-sm2.pem" 01 sm2-key

# ---- self-checks: fail here rather than in a test ----
# check_token NAME ID CERT.pem [nocert]: cert object = file; token key = cert key.
check_token() {
    local slot=${SLOT[$1]}
    if [[ ${4:-} != nocert ]]; then
        p11 --slot "$slot" --read-object --type cert --id "$2" -o "$WORK/c.der"
        pem2der "$3" | cmp -s - "$WORK/c.der" ||
            die "token $1 id $2: certificate object differs from $3"
    fi
    if [[ $1 != port-sm2 ]]; then # pkcs11-tool cannot decode SM2 public keys
        p11 --slot "$slot" --read-object --type pubkey --id "$2" -o "$WORK/p.der"
        openssl x509 -in "$3" -noout -pubkey >"$WORK/p.pem"
        pem2der "$WORK/p.pem" | cmp -s - "$WORK/p.der" ||
            die "token $1 id $2: public key differs from the key in $3"
    fi
}
# Every certificate chains to its root (SM2: distid needed, see the header).
ec_certs=() sm2_certs=()
for c in "$DIR"/certs/*.pem; do
    if [[ ${c##*/} == *sm2* ]]; then sm2_certs+=("$c"); else ec_certs+=("$c"); fi
done
run openssl verify -CAfile "$CA_EC" "${ec_certs[@]}"
run openssl verify -CAfile "$CA_SM2" -vfyopt "distid:$DISTID" "${sm2_certs[@]}"
for name in "${TOKENS[@]}"; do
    case $name in
    twokeys)
        check_token twokeys 01 "$DIR/certs/twokeys-a.pem"
        check_token twokeys 02 "$DIR/certs/twokeys-b.pem"
        ;;
    nocert) check_token nocert 01 "$DIR/certs/nocert.pem" nocert ;;
    *) check_token "$name" 01 "$DIR/certs/$name.pem" ;;
    esac
done
# nocert really has no certificate object.
if pkcs11-tool --module "$P11_MODULE" --slot "${SLOT[nocert]}" --read-object --type cert \
    --id 01 -o "$WORK/none.der" >>"$LOG" 2>&1; then
    die "token nocert unexpectedly holds a certificate"
fi

# ---- tokens.env ----
q() { # shell-quote a value only when needed
    if [[ $1 =~ ^[A-Za-z0-9_./:@%+,=-]*$ ]]; then
        printf '%s' "$1"
    else
        printf "'%s'" "${1//\'/\'\\\'\'}"
    fi
}
{
    echo "# Written by tests/p11/fixture.sh; shell-sourceable."
    echo "FIXTURE_DIR=$(q "$DIR")"
    echo "SOFTHSM2_CONF=$(q "$SOFTHSM2_CONF")"
    echo "P11_MODULE=$(q "$P11_MODULE")"
    echo "PIN=$PIN"
    echo "SO_PIN=$SO_PIN"
    echo "SM2_DISTID=$DISTID"
    echo "CA_EC=$(q "$CA_EC")"
    echo "CA_EC_KEY=$(q "$CA_EC_KEY")"
    echo "CA_SM2=$(q "$CA_SM2")"
    echo "CA_SM2_KEY=$(q "$CA_SM2_KEY")"
    echo "TOKENS=$(q "${TOKENS[*]}")"
    for name in "${TOKENS[@]}"; do
        var=${name//-/_}
        echo "TOKEN_${var}_LABEL=$(q "${LABEL[$name]}")"
        echo "TOKEN_${var}_SERIAL=${SERIAL[$name]}"
    done
} >"$WORK/tokens.env"
rm -f "$WORK"/*.der "$WORK"/*.pem "$WORK/x509.cnf"
mv "$WORK/tokens.env" "$DIR/tokens.env"
rmdir "$WORK"
