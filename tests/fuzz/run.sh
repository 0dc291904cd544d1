#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS FUZZ_BIN...
# Runs each libFuzzer target for SECONDS over its checked-in corpus (new
# inputs go to a scratch folder) and prints executions and coverage per target.
set -u
secs=$1
shift
status=0
scratch=$(mktemp -d "${TMPDIR:-/tmp}/entente-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
printf '%-28s %12s %8s %8s %s\n' target execs cov ft result
for bin in "$@"; do
    name=$(basename "$bin")
    corpus="tests/fuzz/corpus/${name#fuzz_}"
    mkdir -p "$scratch/$name"
    dirs=("$scratch/$name")
    [ -d "$corpus" ] && dirs+=("$corpus")
    log="$scratch/$name.log"
    if "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=512 \
        -print_final_stats=1 "${dirs[@]}" >"$log" 2>&1; then
        result=ok
    else
        result=CRASH
        status=1
    fi
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
    printf '%-28s %12s %8s %8s %s\n' "$name" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result"
    [ $result = ok ] || tail -n 30 "$log"
done
exit $status
