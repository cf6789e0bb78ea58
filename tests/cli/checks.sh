# Shared by the command-line test scripts: counting checks and the common
# assertions. Source it after `set -u`; end the script with `summary NAME`.
failures=0
checks=0

ok() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }
expect_status() { # expected actual what
    if [ "$1" = "$2" ]; then ok; else fail "$3: exit status $2, expected $1"; fi
}
expect_failure() { # actual what: non-zero, but not a crash
    if [ "$1" -ne 0 ] && [ "$1" -lt 128 ]; then ok; else fail "$2: exit status $1, expected a refusal (1..127)"; fi
}
expect_grep() { # pattern file what
    if grep -q -- "$1" "$2"; then ok; else fail "$3: no \"$1\" in output"; sed 's/^/    /' "$2"; fi
}
expect_no_grep() { # pattern file what
    if grep -q -- "$1" "$2"; then fail "$3: \"$1\" in output"; sed 's/^/    /' "$2"; else ok; fi
}
expect_file() { # path what
    if [ -f "$1" ]; then ok; else fail "$2: $1 was not written"; fi
}
expect_no_file() { # path what
    if [ -e "$1" ]; then fail "$2: $1 exists"; else ok; fi
}

# FBT_WRAPPER: a command prefix put in front of every run of fbill, e.g.
#   FBT_WRAPPER="valgrind --leak-check=full --error-exitcode=1"
# (.ci/wrap sets it for the valgrind run of the suite). Split on spaces, no
# quoting. FBILL becomes a small script in $work that runs the wrapper with
# the real fbill; it is an executable file, not a function, so `timeout
# "$FBILL" ...` and `VAR=x "$FBILL" ...` work unchanged. The test scripts
# set FBILL and work before sourcing this file.
if [ -n "${FBT_WRAPPER:-}" ]; then
    if [ -z "${FBILL:-}" ] || [ -z "${work:-}" ] || [ ! -d "$work" ]; then
        fail "FBT_WRAPPER is set, but FBILL and work were not set before sourcing checks.sh"
    else
        mkdir -p "$work/.fbt-wrapper"
        printf '#!/usr/bin/env bash\nexec %s %q "$@"\n' \
            "$FBT_WRAPPER" "$FBILL" >"$work/.fbt-wrapper/fbill"
        chmod +x "$work/.fbt-wrapper/fbill"
        FBILL=$work/.fbt-wrapper/fbill
    fi
fi
