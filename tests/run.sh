#!/usr/bin/env bash
# tests/run.sh UNIT_BIN... -- E2E_SCRIPT... -- FUZZ_BIN...
#
# Runs every unit test binary, every multi-node script and a short fuzz smoke
# run of every fuzz target; prints one line per item and closes with the
# summary line "N passed, N failed". Exit status 1 if anything failed.
set -u
phase=unit
pass=0
fail=0
failed=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/entente-test.XXXXXX")
trap 'rm -rf "$logdir"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
smoke=${SMOKE_SECONDS:-4}

run_one() {
    local name=$1
    shift
    local log="$logdir/$(basename "$name").log"
    local t0=$SECONDS
    if timeout "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1; then
        pass=$((pass + 1))
        printf 'PASS %-40s %3ds\n' "$name" $((SECONDS - t0))
    else
        fail=$((fail + 1))
        failed+=("$name")
        printf 'FAIL %-40s %3ds\n' "$name" $((SECONDS - t0))
        tail -n 40 "$log" | sed 's/^/    | /'
    fi
}

for arg in "$@"; do
    if [ "$arg" = "--" ]; then
        case $phase in unit) phase=e2e ;; e2e) phase=fuzz ;; esac
        continue
    fi
    case $phase in
    unit) run_one "$arg" "$arg" ;;
    e2e) run_one "$arg" bash "$arg" ;;
    fuzz)
        name=$(basename "$arg")
        corpus="tests/fuzz/corpus/${name#fuzz_}"
        work="$logdir/corpus-$name"
        mkdir -p "$work"
        dirs=("$work")
        [ -d "$corpus" ] && dirs+=("$corpus")
        run_one "fuzz-smoke/$name" "$arg" -max_total_time="$smoke" \
            -rss_limit_mb=2048 -malloc_limit_mb=512 "${dirs[@]}"
        ;;
    esac
done

echo
if [ $fail -ne 0 ]; then
    echo "failed: ${failed[*]}"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
