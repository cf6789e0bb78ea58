#!/usr/bin/env bash
# A port reached through p11-kit remoting (p11-kit server + p11-kit-client.so)
# whose server side dies mid-loop: the per-client p11-kit-remote process is
# killed while tests/p11/remote_loop signs, as when a signing server or the
# machine holding the key goes away.
#
# Usage: p11kit_remote.sh FBILL FIXTURE_SCRIPT REMOTE_LOOP
#   FBILL           the fbill program (token list / token probe)
#   FIXTURE_SCRIPT  tests/p11/fixture.sh (uses FBT_P11_IMPORT if set)
#   REMOTE_LOOP     the built tests/p11/remote_loop
# Environment: P11KIT_CLIENT (default
# /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so), SOFTHSM2_MODULE
# (default /usr/lib/softhsm/libsofthsm2.so).
# Exit status 0 when every check passed, 1 otherwise, 77 (skip) when
# p11-kit or its client module is missing.
set -u
if [ $# -ne 3 ]; then
    echo "usage: $0 FBILL FIXTURE_SCRIPT REMOTE_LOOP" >&2
    exit 2
fi
FBILL=$1
FIXTURE=$2
LOOP=$3
CLIENT=${P11KIT_CLIENT:-/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so}
SOFTHSM=${SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

command -v p11-kit >/dev/null || { echo "SKIP: p11-kit is not installed"; exit 77; }
[ -r "$CLIENT" ] || { echo "SKIP: no p11-kit client module $CLIENT (p11-kit-modules)"; exit 77; }

work=$(mktemp -d)
SERVER_PID=
LOOP_PID=
cleanup() {
    [ -n "$LOOP_PID" ] && kill "$LOOP_PID" 2>/dev/null
    if [ -n "$SERVER_PID" ]; then
        for child in $(pgrep -P "$SERVER_PID"); do kill "$child" 2>/dev/null; done
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=tests/cli/checks.sh
. "$(dirname -- "$0")/checks.sh"
show() { sed 's/^/    /' "$1"; }
finish() {
    echo "p11kit: $checks checks, $failures failures"
    [ "$failures" -eq 0 ]
    exit $?
}

# p11-kit 0.24 (Debian 12) p11-kit-client.so reads one element past the
# caller's array in C_GetMechanismList (rpc-client.c, mechanism_list_purge:
# memmove with (n - i) instead of (n - i - 1) elements; fixed upstream by
# p11-glue/p11-kit PR #456, in 0.25). Under AddressSanitizer that aborts
# every open through the client module, so suppress reports from
# interceptors called by that library only.
if [ -n "${ASAN_OPTIONS+set}" ] || ldd "$LOOP" 2>/dev/null | grep -q libasan; then
    echo "interceptor_via_lib:p11-kit-client.so" >"$work/asan.supp"
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}suppressions=$work/asan.supp"
fi

# ---- fixture and server ----
if ! bash "$FIXTURE" "$work/fixture" >"$work/fixture.out" 2>&1; then
    fail "the fixture could not be built"
    show "$work/fixture.out"
    finish
fi
export SOFTHSM2_CONF=$work/fixture/softhsm2.conf
serial=$(sed -n 's/^TOKEN_port_1_SERIAL=//p' "$work/fixture/tokens.env")
mkdir -m 700 "$work/run"
export XDG_RUNTIME_DIR=$work/run

# -f: stay in the foreground, so $! is the server and its stdout ends.
p11-kit server -f --provider "$SOFTHSM" "pkcs11:token=port-1" >"$work/server.env" \
    2>"$work/server.err" &
SERVER_PID=$!
for _ in $(seq 100); do
    grep -q P11_KIT_SERVER_PID "$work/server.env" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q P11_KIT_SERVER_ADDRESS "$work/server.env"; then
    fail "p11-kit server did not start"
    show "$work/server.err"
    finish
fi
# shellcheck disable=SC1091
. "$work/server.env"
[ "${P11_KIT_SERVER_PID:-}" = "$SERVER_PID" ] && ok ||
    fail "P11_KIT_SERVER_PID=${P11_KIT_SERVER_PID:-} is not the server started ($SERVER_PID)"

URI="pkcs11:token=port-1;id=%01?module-path=$CLIENT&pin-value=1234"

# The per-client p11-kit-remote processes of the server.
children() { pgrep -P "$SERVER_PID" | tr '\n' ' ' | sed 's/ $//'; }
wait_no_children() {
    for _ in $(seq 50); do
        [ -z "$(children)" ] && return 0
        sleep 0.1
    done
    return 1
}
wait_oks() { # FILE N: until FILE has N "ok" lines (at most 20 s)
    for _ in $(seq 200); do
        [ "$(grep -c ': ok' "$1")" -ge "$2" ] && return 0
        kill -0 "$LOOP_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ---- the port works through the remote module ----
timeout 30 "$FBILL" token list --module "$CLIENT" >"$work/list" 2>&1
[ $? = 0 ] && ok || { fail "fbill token list through p11-kit-client"; show "$work/list"; }
grep -q 'port-1' "$work/list" && ok || { fail "token list does not show port-1"; show "$work/list"; }
grep -q 'port-2' "$work/list" && { fail "the server exports only port-1, yet port-2 is listed"; show "$work/list"; } || ok

timeout 30 "$FBILL" token probe "$URI" >"$work/probe" 2>&1
[ $? = 0 ] && ok || { fail "fbill token probe through p11-kit-client"; show "$work/probe"; }
grep -q 'verified with the certificate' "$work/probe" && ok ||
    { fail "token probe: no verified test signature"; show "$work/probe"; }
grep -q 'profile ecdsa' "$work/probe" && ok || { fail "token probe: profile"; show "$work/probe"; }
wait_no_children && ok || fail "p11-kit-remote children left after the clients exited: $(children)"

# run_loop NAME COUNT [hold]: start the loop, kill its p11-kit-remote after
# 5 signatures; sets rc and leaves the output in $work/NAME.out.
run_loop() {
    local name=$1 count=$2 hold=${3:-} out=$work/$1.out
    : >"$out"
    timeout 60 "$LOOP" "$URI" "$count" $hold >"$out" 2>&1 &
    LOOP_PID=$!
    if ! wait_oks "$out" 5; then
        fail "$name: the loop did not sign 5 times before the kill"
        show "$out"
        wait "$LOOP_PID"
        rc=$?
        LOOP_PID=
        return
    fi
    local victims
    victims=$(children)
    if [ -n "$victims" ] && [ "$(echo "$victims" | wc -w)" = 1 ]; then
        ok
        kill -KILL "$victims"
        echo "# killed p11-kit-remote $victims after $(grep -c ': ok' "$out") signatures" >>"$work/$name.log"
    else
        fail "$name: expected one p11-kit-remote child of the server, found '$victims'"
    fi
    wait "$LOOP_PID"
    rc=$?
    LOOP_PID=
}

# Lines of an output after its first error.
after_first_error() { sed -n '/: error /,$p' "$1"; }

# ---- 1. kill mid-loop: a clean error naming the token, then signing again ----
run_loop kill 30
out=$work/kill.out
case $rc in
0) ok ;;
124) fail "kill: the loop hung (timeout 60 s)"; show "$out" ;;
141) fail "kill: the loop died of SIGPIPE"; show "$out" ;;
*) fail "kill: the loop exited with status $rc (> 128: a crash)"; show "$out" ;;
esac
first_error=$(grep -m1 ': error ' "$out")
if [ -n "$first_error" ]; then
    # Recovered by reopening: the error must be clean and name the token.
    case $first_error in
    *'token "port-1"'*"$serial"*'token failure'* | *'token failure'*'token "port-1"'*"$serial"*) ok ;;
    *) fail "kill: the first error does not name the token and its serial as FB_ETOKEN: $first_error" ;;
    esac
    if after_first_error "$out" | grep -q ': ok'; then ok; else
        fail "kill: the loop never signed again after the failure"
        show "$out"
    fi
else
    # Recovered by itself: the port re-initialised its module (it was the
    # module's one user), p11-kit-client connected again, and the signature
    # that met the dead connection was made on the new one.
    ok
    echo "# kill: the port recovered by itself, with no error reported"
fi
grep -q '^done: 30 signatures' "$out" && ok || { fail "kill: the loop did not finish"; show "$out"; }
# Every error line is one clean sentence from the library.
if grep ': error ' "$out" | grep -vq 'error token failure: .*port-1'; then
    fail "kill: unexpected error lines"
    grep ': error ' "$out" | sed 's/^/    /'
else
    ok
fi
# How did it recover? A signature after the first error and before any
# reopen means the port recovered by itself.
how=$(after_first_error "$out" | grep -m1 '^sign [0-9]*: ok\|^reopen: ok')
case $how in
reopen:*) echo "# kill: recovered after reopening the port (its module was the last port's:" \
              "C_Finalize, then C_Initialize connected again)" ;;
sign*) echo "# kill: the port recovered by itself, without reopening" ;;
esac

# ---- 2. the same with the module held open by a second port ----
# The module is then never finalised: reopening the signing port alone does
# not reconnect p11-kit-client. The loop must still fail cleanly and not
# hang; whether it recovers is reported.
wait_no_children || true
run_loop hold 30 hold
out=$work/hold.out
case $rc in
0) ok; echo "# hold: p11-kit-client recovered without C_Finalize/C_Initialize" ;;
1) ok; echo "# hold: no recovery while the module stays initialised; last errors:"
   grep '^sign [0-9]*: error' "$out" | tail -n 1 | sed 's/^/#   /'
   grep '^reopen: error' "$out" | tail -n 1 | sed 's/^/#   /' ;;
124) fail "hold: the loop hung (timeout 60 s)"; show "$out" ;;
*) fail "hold: the loop exited with status $rc"; show "$out" ;;
esac
first_error=$(grep -m1 ': error ' "$out")
case $first_error in
*'token "port-1"'*) ok ;;
*) fail "hold: the first error does not name the token: $first_error"; show "$out" ;;
esac

# ---- 3. SIGPIPE at its default disposition (information only) ----
# p11-kit-client writes to the dead socket; a program that does not ignore
# SIGPIPE is killed by it. fiscalbill leaves signal dispositions alone, so
# this is reported, not failed.
wait_no_children || true
export FBT_DEFAULT_SIGPIPE=1
run_loop sigpipe 30
unset FBT_DEFAULT_SIGPIPE
case $rc in
141) echo "# sigpipe: with SIGPIPE at its default the loop was killed by SIGPIPE" ;;
0) echo "# sigpipe: with SIGPIPE at its default the loop survived" ;;
124) fail "sigpipe: the loop hung (timeout 60 s)"; show "$work/sigpipe.out" ;;
*) echo "# sigpipe: with SIGPIPE at its default the loop exited with status $rc" ;;
esac

finish
