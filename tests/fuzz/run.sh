#!/usr/bin/env bash
# Build the libFuzzer targets of tests/fuzz against the library's sources
# (so ASan and UBSan instrument the library, not only the harness), replay
# tests/fuzz/regressions/<target>/, then fuzz each target for SECONDS on a
# copy of its seed corpus. Run from the repository root:
#
#   tests/fuzz/run.sh 60          # the targets one after the other
#   tests/fuzz/run.sh -j 2 60     # two targets at a time (one core each)
#
# Exits non-zero when any target crashes, leaks, hangs or trips a sanitizer,
# printing the input that did it (path and base64). The last lines are one
# per target, "fuzz result: TARGET passed" or "... failed" (.ci/tests counts
# them; a target without such a line never ran). The repository is never
# written to; everything goes to a temporary directory, kept on failure.
set -euo pipefail

targets=(document verify cms uri amount)

usage() {
    echo "usage: tests/fuzz/run.sh [-j JOBS] SECONDS" >&2
    exit 2
}

jobs=1
if [ $# -ge 2 ] && [ "$1" = -j ]; then
    [[ $2 =~ ^[1-9][0-9]*$ ]] || usage
    jobs=$2
    shift 2
fi
if [ $# -ne 1 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
    usage
fi
seconds=$1
if [ ! -f tests/fuzz/run.sh ] || [ ! -f lib/meson.build ]; then
    echo "run.sh: run it from the repository root" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/fb-fuzz.XXXXXX")
keep_work=0
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() { [ "$keep_work" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

# The same defines as lib/meson.build, so the code under test is the code
# that ships.
version=$(sed -n "s/^ *version : '\([^']*\)'.*/\1/p" meson.build | head -n1)
proxy=$(pkg-config --variable=proxy_module p11-kit-1)
read -ra dep_cflags <<<"$(pkg-config --cflags libxml-2.0 p11-kit-1)"
read -ra dep_libs <<<"$(pkg-config --libs libxml-2.0 libcrypto p11-kit-1)"
cflags=(-g -O1 -std=c11 -D_XOPEN_SOURCE=700 -DFB_BUILDING_LIBRARY
        "-DFB_VERSION_STRING=\"$version\"" "-DFB_P11KIT_PROXY=\"$proxy\""
        -fno-sanitize-recover=all -Iinclude -Ilib "${dep_cflags[@]}")
libs=("${dep_libs[@]}" -ldl -lpthread)

# The sources lib/meson.build compiles, in its order: a file lying in lib/
# that the build does not use is not part of the library.
library_sources() {
    sed -n "s/^ *'\([a-z0-9_]*\/[a-z0-9_]*\.c\)',*$/lib\/\1/p" lib/meson.build
}

# The library is compiled once, instrumented for coverage and sanitizers;
# each target then links its harness against those objects.
build_library() {
    local srcs
    mapfile -t srcs < <(library_sources)
    [ ${#srcs[@]} -gt 0 ] || { echo "run.sh: no sources in lib/meson.build" >&2; exit 1; }
    mkdir -p "$work/obj"
    # xargs appends the source as the last argument; the rest are flags.
    # shellcheck disable=SC2016 # expanded by the inner bash, not here
    printf '%s\n' "${srcs[@]}" | OBJ="$work/obj" xargs -P "$(nproc)" -n 1 bash -c '
        src=${!#}
        exec clang "${@:1:$#-1}" -c "$src" -o "$OBJ/${src//\//_}.o"
    ' fb-cc "${cflags[@]}" -fsanitize=fuzzer-no-link,address,undefined
}

build_target() {
    local t=$1
    clang "${cflags[@]}" -fsanitize=fuzzer,address,undefined "tests/fuzz/fuzz_$t.c" \
        "$work"/obj/*.o "${libs[@]}" -o "$work/fuzz_$t"
}

# Where a finding is described: its inputs, as paths and base64, and the
# end of the log with the sanitizer's report and stack.
report_finding() {
    local t=$1 log=$2
    shift 2
    echo "== $t: FINDING (log: $log)"
    tail -n 80 "$log" | sed 's/^/   | /'
    local f
    for f in "$@"; do
        [ -f "$f" ] || continue
        echo "   input: $f"
        echo "   base64: $(base64 -w0 "$f")"
    done
}

artifacts_of() {
    find "$work/artifacts/$1" -type f \( -name 'crash-*' -o -name 'leak-*' -o \
        -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | sort
}

# Saved regressions run one by one as fixed inputs; a failure names the file.
replay_regressions() {
    local t=$1 f
    local files=()
    for f in "tests/fuzz/regressions/$t"/*; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    local log="$work/logs/$t.regressions.log"
    for f in "${files[@]}"; do
        if ! "$work/fuzz_$t" -timeout=10 -rss_limit_mb=2048 "$f" >>"$log" 2>&1; then
            report_finding "$t" "$log" "$f"
            return 1
        fi
    done
    echo "== $t: ${#files[@]} regression input(s) pass"
}

# The XML targets get a dictionary of lexical forms (see xml.dict).
dict_args() {
    case $1 in
    document | verify) echo "-dict=tests/fuzz/xml.dict" ;;
    esac
}

fuzz() {
    local t=$1
    local log="$work/logs/$t.log" rc=0 extra
    read -ra extra <<<"$(dict_args "$t")"
    mkdir -p "$work/artifacts/$t" "$work/corpus"
    cp -R "tests/fuzz/corpus/$t" "$work/corpus/$t"
    "$work/fuzz_$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" \
        -artifact_prefix="$work/artifacts/$t/" "$work/corpus/$t" >"$log" 2>&1 || rc=$?
    local found
    mapfile -t found < <(artifacts_of "$t")
    local execs
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    if [ "$rc" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
        report_finding "$t" "$log" "${found[@]}"
        echo "$t: FAILED (exit $rc) after ${execs:-?} executions"
        return 1
    fi
    echo "$t: ${execs:-?} executions in ${seconds}s, corpus $(find "$work/corpus/$t" -type f | wc -l) inputs, no findings"
}

# One target: its regressions, then fuzzing; its output and then its result
# ("passed" or "failed") in $work/logs/TARGET.{out,result}.
run_target() {
    local t=$1 result=passed
    {
        if replay_regressions "$t"; then
            fuzz "$t" || result=failed
        else
            echo "$t: FAILED on a saved regression input, not fuzzed"
            result=failed
        fi
    } >"$work/logs/$t.out" 2>&1
    echo "$result" >"$work/logs/$t.result"
}

main() {
    mkdir -p "$work/logs"
    echo "building in $work"
    command -v clang >/dev/null || { echo "run.sh: clang is not installed (clang, libclang-rt-14-dev)" >&2; exit 1; }
    build_library
    local t
    for t in "${targets[@]}"; do
        build_target "$t"
    done
    # Leaks are findings; UBSan stops at the first report with a stack.
    export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    # The root of the demo that signed the verify seeds: see fuzz_verify.c.
    export FB_FUZZ_ANCHORS="$PWD/tests/fuzz/verify-anchors.pem"
    # Each libFuzzer process uses one core; with -j N, N targets at a time.
    local running=0
    for t in "${targets[@]}"; do
        if [ "$running" -ge "$jobs" ]; then
            wait -n || true
            running=$((running - 1))
        fi
        run_target "$t" &
        running=$((running + 1))
    done
    wait
    local failed=0 result
    for t in "${targets[@]}"; do
        cat "$work/logs/$t.out" 2>/dev/null || true
    done
    for t in "${targets[@]}"; do
        result=$(cat "$work/logs/$t.result" 2>/dev/null || echo failed)
        [ "$result" = passed ] || failed=1
        echo "fuzz result: $t $result"
    done
    if [ "$failed" = 1 ]; then
        keep_work=1
        echo "fuzzing found problems; inputs and logs kept in $work" >&2
        exit 1
    fi
}

# One line, so bash has read all it runs even if this file changes meanwhile.
main; exit
