#!/usr/bin/env bash
# tests/run.sh UNIT_BIN... -- E2E_SCRIPT... -- FUZZ_BIN...
#
# Runs every unit test binary, every multi-node script and a short fuzz smoke
# run of every fuzz target; prints one line per item and closes with the
# summary line "N passed, N failed". Exit status 1 if anything failed.
#
# With TEST_CPU=1 each line also shows the CPU seconds (user + system) the
# item's processes used.
#
# Items run TEST_JOBS at a time (default: the number of CPUs); each line is
# printed when its item ends, so lines come in order of completion. Every
# item already picks its own ports and folders, so items never share state.
#
# No item may leave a process behind. Each runs with its own marker in the
# environment, ENTENTE_TEST_RUN=<run>.<item>, which every process it starts
# inherits; once it has exited, any process still carrying the marker (after
# a grace of LEFTOVER_GRACE seconds, default 5) is listed, killed and fails
# the item, even if the item itself exited 0.
set -u
phase=unit
logdir=$(mktemp -d "${TMPDIR:-/tmp}/entente-test.XXXXXX")
trap 'rm -rf "$logdir"' EXIT
# malloc_context_size=10: each allocation records 10 frames, not 30 (a
# fifth less CPU for the allocation-heavy tests; reports keep 10 frames).
# clear_shadow_mmap_threshold=1G: the shadow of a large block is cleared
# with memset, not by mapping fresh pages over it; each such mmap flushes
# the TLB of every CPU, which in a virtual machine costs more than the
# memset (every LMDB environment opened allocates 3 MB: authority_test's
# 4,084 opens took 42.0 s of CPU, 30.9 s with it). Detection is unchanged.
# intercept_tls_get_addr=0: the sanitizer runtime (clang 14) then does not
# track the dynamic TLS blocks of libraries loaded with dlopen (libcurl and
# its TLS libraries, node/webhooks/curl_dl.c); when such a block happened
# to start 16 bytes into a page, it read a glibc 2.19 header that newer
# glibc does not write and scanned a garbage range at exit ("DTLS 4 at
# 0x23f-0x1000001341", "Tracer caught signal 11"): a crash of the leak
# check, not of the node, in about one `serve` exit in three once the heap
# layout shifted. Those blocks hold no pointer to our memory.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:malloc_context_size=10:clear_shadow_mmap_threshold=1073741824:intercept_tls_get_addr=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# A fuzz smoke run executes the target's checked-in corpus, then mutates
# until SMOKE_RUNS inputs in all have run (libFuzzer -runs, corpus
# included): a fixed amount of work, the same on a loaded machine as on an
# idle one (a time limit gave a slow target a few dozen inputs under load).
# 1,000 inputs cost 0.3 to 2 s of CPU a target, most of it start-up.
smoke_runs=${SMOKE_RUNS:-1000}
# The tests call python3 hundreds of times. Where python3 on PATH is a
# wrapper (a pyenv shim is a shell script that costs about 0.35 s of CPU a
# call, against 0.04 s for the interpreter itself), put the Debian
# interpreter first: it is the one the Makefile installs python3-yaml for.
if [ -x /usr/bin/python3 ] && [ "$(command -v python3)" != /usr/bin/python3 ]; then
    mkdir -p "$logdir/bin"
    ln -s /usr/bin/python3 "$logdir/bin/python3"
    export PATH="$logdir/bin:$PATH"
fi
items=0
run=$$.$RANDOM

# leftovers MARK: the pids of live processes whose environment holds
# ENTENTE_TEST_RUN=MARK, one a line (none: no output).
leftovers() {
    local f out
    out=$(grep -lzx -- "ENTENTE_TEST_RUN=$1" /proc/[0-9]*/environ 2>/dev/null) || true
    for f in $out; do
        f=${f#/proc/}
        echo "${f%/environ}"
    done
}

# reap MARK LOG: waits (bounded) for the processes of MARK to go; lists the
# ones that stay in LOG, kills them and returns 1 if there were any.
reap() {
    local mark=$1 log=$2 i p left=
    for ((i = 0; i < ${LEFTOVER_GRACE:-5} * 10; i++)); do
        left=$(leftovers "$mark")
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    echo "run.sh: left processes behind (killed now):" >>"$log"
    for p in $left; do
        echo "    pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >>"$log"
        kill -KILL "$p" 2>/dev/null || true
    done
    return 1
}

jobs_max=${TEST_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs_max" -ge 1 ] 2>/dev/null || jobs_max=1
running=0
declare -A slot_pid=() # the items that hold one of the TEST_JOBS slots

# item NAME CMD...: runs one item in the background and prints its line;
# the outcome goes to $logdir/N.ok or $logdir/N.fail. An item marked
# "waits" in tests/durations (it mostly sleeps on timers or a browser)
# runs beside the TEST_JOBS slots instead of holding one while idle.
item() {
    local name=$1 done_pid
    shift
    items=$((items + 1))
    if [ "${waits[$name]:-}" = waits ] && [ "$jobs_max" -gt 1 ]; then
        run_one "$items" "$name" "$@" &
        return
    fi
    while [ "$running" -ge "$jobs_max" ]; do
        done_pid=
        wait -n -p done_pid 2>/dev/null || true
        if [ -z "$done_pid" ]; then # no child left: the count is stale
            running=0
        elif [ -n "${slot_pid[$done_pid]:-}" ]; then
            unset "slot_pid[$done_pid]"
            running=$((running - 1))
        fi
    done
    run_one "$items" "$name" "$@" &
    slot_pid[$!]=1
    running=$((running + 1))
}

run_one() {
    local n=$1 name=$2
    shift 2
    local log="$logdir/$n.log"
    local t0=$SECONDS ok=1
    local mark="$run.$n"
    env ENTENTE_TEST_RUN="$mark" timeout "${TEST_TIMEOUT:-600}" "$@" \
        >"$log" 2>&1 || ok=0
    reap "$mark" "$log" || ok=0
    # the CPU seconds of the item's waited-for processes (user + system),
    # shown with TEST_CPU=1: what the suite's time is made of on 2 cores
    local cpu=
    if [ -n "${TEST_CPU:-}" ]; then
        times >"$log.times" # here: in $(...) it would count that subshell's
        cpu=$(tail -n 1 "$log.times" | awk '{ split($1, u, "m"); split($2, s, "m");
            printf " %5.1fs cpu", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
    fi
    if [ $ok = 1 ]; then
        echo "$name" >"$logdir/$n.ok"
        printf 'PASS %-40s %3ds%s\n' "$name" $((SECONDS - t0)) "$cpu"
    else
        echo "$name" >"$logdir/$n.fail"
        # one write, so parallel items' lines do not interleave
        # the failing checks first (a sanitizer's leak report after an
        # abort would push them out of the tail), then the tail
        { printf 'FAIL %-40s %3ds\n' "$name" $((SECONDS - t0))
          grep -E '^\[ +(ERROR|LINE|FAILED) +\]|^(not ok|FAIL:)|ERROR: AddressSanitizer|runtime error' "$log" |
              head -n 20 | sed 's/^/    ! /'
          tail -n 40 "$log" | sed 's/^/    | /'; } >"$log.out"
        cat "$log.out"
    fi
}

# Items are collected first, then started longest first (tests/durations:
# "NAME SECONDS [waits]" lines, seconds of one quiet run; unknown items
# count as 5 s, unknown fuzz smoke runs 1 s)
# so that no long item starts last and leaves the other CPUs idle.
declare -A weight=() waits=()
if [ -f tests/durations ]; then
    while read -r w_name w_secs w_kind; do
        [ -n "$w_name" ] && [ "${w_name:0:1}" != "#" ] || continue
        weight[$w_name]=$w_secs
        waits[$w_name]=${w_kind:-}
    done <tests/durations
fi
names=()
kinds=()
args=()
for arg in "$@"; do
    if [ "$arg" = "--" ]; then
        case $phase in unit) phase=e2e ;; e2e) phase=fuzz ;; esac
        continue
    fi
    case $phase in
    unit | e2e) names+=("$arg") ;;
    fuzz) names+=("fuzz-smoke/$(basename "$arg")") ;;
    esac
    kinds+=("$phase")
    args+=("$arg")
done
order=$(for i in "${!names[@]}"; do
    w=${weight[${names[$i]}]:-5}
    [ "${kinds[$i]}" = fuzz ] && w=${weight[${names[$i]}]:-1}
    printf '%s %s\n' "$w" "$i"
done | sort -k1,1nr -k2,2n | cut -d' ' -f2)
for i in $order; do
    arg=${args[$i]}
    case ${kinds[$i]} in
    unit) item "$arg" "$arg" ;;
    e2e) item "$arg" bash "$arg" ;;
    fuzz)
        name=$(basename "$arg")
        corpus="tests/fuzz/corpus/${name#fuzz_}"
        work="$logdir/corpus-$name"
        mkdir -p "$work"
        dirs=("$work")
        [ -d "$corpus" ] && dirs+=("$corpus")
        item "fuzz-smoke/$name" "$arg" -runs="$smoke_runs" \
            -rss_limit_mb=2048 -malloc_limit_mb=512 "${dirs[@]}"
        ;;
    esac
done

wait
pass=0
fail=0
failed=()
for ((i = 1; i <= items; i++)); do
    if [ -f "$logdir/$i.ok" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        if [ -f "$logdir/$i.fail" ]; then
            failed+=("$(cat "$logdir/$i.fail")")
        else
            failed+=("item-$i")
        fi
    fi
done
echo
if [ $fail -ne 0 ]; then
    echo "failed: ${failed[*]}"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
