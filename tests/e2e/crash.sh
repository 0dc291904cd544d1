#!/usr/bin/env bash
# tests/e2e/crash.sh - crash consistency of one real `entente serve`
# (spec/reliability.md "Crash loop").
#
# One node, one object. Each iteration: writer lanes run `object set` in the
# background, each lane writing its own field with increasing values; the
# server is killed with SIGKILL a random 0-300 ms after the first set of
# the iteration is acknowledged (waited for at most 10 s); it is restarted with
# no clean-up, and the script checks that
#   - the node starts again (database opens, stale socket and lock handled);
#   - every acknowledged write (a `set` that exited 0) is there: each lane's
#     field holds a value >= the lane's last acknowledged value and <= the
#     last value it tried (a write in flight may or may not have landed);
#   - no write is half-applied: the "pair" lane sets one shared and one
#     private field in the same command, and both always hold the same value;
#   - `object show --json`, `object list --json` and `status --json` work.
# Every fourth iteration the restarted server is also killed while it
# starts up (random 0-200 ms after launch) and started once more.
# At the end the node is stopped with SIGTERM (exit 0), and when this build
# has `entente audit`, its activity log is exported and verified offline.
#
#   CRASH_ITERATIONS (default 4: one start-up kill; make test-long: 200)
#   CRASH_SEED (default: random)   seed of $RANDOM, printed for replays
# Needs $ENTENTE (the binary under test).
set -euo pipefail

. "$(dirname "$0")/lib.sh"

ITER=${CRASH_ITERATIONS:-4}
SEED=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$SEED
lib_init crash
H="$T/home"
# a private copy: a rebuild of $ENTENTE during a long run must not break it
cp "$ENTENTE" "$T/entente"
ENTENTE="$T/entente"
SERVE=
LANES=(s0 s1 p0 p1 pair) # s*: --set, p*: --private, pair: one of each
BURST=400                 # most sets one lane tries per iteration

# fail WHAT: lib.sh's fail (reason, node log tails) with the seed and
# iteration to replay, and the last errors of each writer lane.
fail() {
    echo "FAIL (seed $SEED, iteration ${it:-0}): $*" >&2
    [ -f "$T/serve.log" ] && { echo "--- serve.log" >&2; tail -n 30 "$T/serve.log" >&2; }
    for f in "$T"/lane-*.err; do
        [ -s "$f" ] && { echo "--- $f" >&2; tail -n 5 "$f" >&2; }
    done
    exit 1
}

# e ARGS...: this script has one home, so no node name (unlike lib.sh's e).
e() { "$ENTENTE" "$@" --home "$H"; }

start_serve() {
    "$ENTENTE" serve --home "$H" --listen 127.0.0.1:0 >>"$T/serve.log" 2>&1 &
    SERVE=$!
    lib_track "$SERVE"
}

# wait_up: the node answers status within 20 s, or the test fails.
wait_up() {
    e status --wait=20s --json >"$T/status.json" 2>/dev/null && return 0
    kill -0 "$SERVE" 2>/dev/null || fail "serve exited while starting"
    fail "node did not come up"
}

kill9() {
    kill -9 "$SERVE" 2>/dev/null || true
    wait "$SERVE" 2>/dev/null || true
    SERVE=
}

# lane NAME: sets the lane's field(s) to its next values until a set fails
# or BURST sets are done. $T/NAME.next holds the next value to try;
# $T/NAME.ack the last acknowledged one; $T/NAME.tried the last tried.
lane() {
    local name=$1 next v args
    next=$(cat "$T/$name.next")
    for _ in $(seq 1 "$BURST"); do
        v=$(printf '%08d' "$next")
        case $name in
        pair) args=(--custom "pair_shared=$v" --private "pair_private=$v") ;;
        s*) args=(--custom "lane_$name=$v") ;;
        p*) args=(--private "lane_$name=$v") ;;
        esac
        echo "$next" >"$T/$name.tried"
        next=$((next + 1))
        echo "$next" >"$T/$name.next"
        if timeout 20 "$ENTENTE" object set "$ID" "${args[@]}" --home "$H" \
            2>>"$T/lane-$name.err"; then
            echo "$((next - 1))" >"$T/$name.ack"
            echo "$name $v" >>"$T/acks.log"
        else
            return 0
        fi
    done
}

# check [final]: the object holds every acknowledged write, nothing
# half-applied; counts the in-flight sets that landed (not when final).
check() {
    e object show "$ID" --json >"$T/show.json" 2>"$T/show.err" ||
        fail "object show after restart: $(cat "$T/show.err")"
    python3 "$T/check.py" "$T" "${LANES[@]}" <"$T/show.json" >"$T/check.out" 2>&1 ||
        fail "$(cat "$T/check.out")"
    [ "${1:-}" = final ] || landed=$((landed + $(cat "$T/check.out")))
    e object list --json >"$T/list.json" || fail "object list after restart"
    py '[o["id"] for o in d]' <"$T/list.json" | grep -qF "$ID" || fail "list lacks the object"
    [ "$(py 'd["objects"]' <"$T/status.json")" = 1 ] || fail "status: want 1 object"
}

# check.py DIR LANE... < show.json: every lane's value is within
# [last acknowledged, last tried], and the pair's two fields agree.
cat >"$T/check.py" <<'EOF'
import json, sys
d = json.load(sys.stdin)
t = sys.argv[1]
def num(path):
    try:
        return int(open(path).read())
    except FileNotFoundError:
        return 0
bad = []
landed = 0
for lane in sys.argv[2:]:
    ack, tried = num(f"{t}/{lane}.ack"), num(f"{t}/{lane}.tried")
    if lane == "pair":
        a = d["shared"].get("pair_shared")
        b = d["private"].get("pair_private")
        if a != b:
            bad.append(f"pair half-applied: shared {a} private {b}")
        got = a
    else:
        sect = "shared" if lane.startswith("s") else "private"
        got = d[sect].get("lane_" + lane)
    g = int(got) if got is not None else 0
    if g < ack:
        bad.append(f"lane {lane}: shows {got}, last acknowledged {ack}")
    if g == tried and g > ack:  # the write in flight at this kill landed
        landed += 1
    if g > tried:
        bad.append(f"lane {lane}: shows {got}, never tried above {tried}")
if bad:
    print("; ".join(bad))
    sys.exit(1)
print(landed)
EOF

e init --name "Crash Test Corp" >/dev/null
start_serve
wait_up
ID=$(e object create --type opportunity --set "name=crash loop" --json | py 'd["id"]')
[[ "$ID" =~ ^[0-9a-f]{64}$ ]] || fail "object id '$ID'"
for l in "${LANES[@]}"; do
    echo 1 >"$T/$l.next"
done

t0=$SECONDS
: >"$T/acks.log"
landed=0 # unacknowledged sets (in flight at the kill) found committed
startup_kills=0
for it in $(seq 1 "$ITER"); do
    pids=()
    acked=$(lines_matching "$T/acks.log" .)
    for l in "${LANES[@]}"; do
        lane "$l" &
        pids+=($!)
        lib_track $!
    done
    wait_more "$T/acks.log" . "$acked" # the writers are under way
    sleep "$(printf '0.%03d' $((RANDOM % 301)))"
    kill9
    for p in "${pids[@]}"; do
        wait "$p" || fail "lane exited with an error"
    done
    if [ $((it % 4)) -eq 0 ]; then # a crash during start-up too
        start_serve
        sleep "$(printf '0.%03d' $((RANDOM % 201)))"
        kill9
        startup_kills=$((startup_kills + 1))
    fi
    start_serve
    wait_up
    check
done

# a clean stop still works and the node serves the same state afterwards
kill -TERM "$SERVE"
st=0
wait "$SERVE" || st=$?
SERVE=
[ "$st" -eq 0 ] || fail "serve exited $st after SIGTERM"
start_serve
wait_up
check final

audit=skipped
if e audit --help >/dev/null 2>&1; then
    e audit export --out "$T/audit.export" >/dev/null 2>"$T/audit.err" ||
        fail "audit export: $(cat "$T/audit.err")"
    ORG=$(py 'd["org"]' <"$T/status.json")
    e audit verify "$T/audit.export" --org "$ORG" --json >"$T/verify.json" 2>"$T/audit.err" ||
        fail "audit verify: $(cat "$T/audit.err") $(cat "$T/verify.json")"
    [ "$(py 'd["ok"]' <"$T/verify.json")" = True ] || fail "audit verify: $(cat "$T/verify.json")"
    # one entry per op this node made: the create and every set with a
    # shared field; at least every acknowledged one, at most every tried one
    # (not counting the checkpoint that the export's head ends in,
    # spec/audit.md section 8)
    n=$(($(py 'd["entries"]' <"$T/verify.json") - 1))
    lo=$((1 + $(grep -c -E '^(s0|s1|pair) ' "$T/acks.log" || true)))
    hi=1
    for l in s0 s1 pair; do
        [ -f "$T/$l.tried" ] && hi=$((hi + $(cat "$T/$l.tried")))
    done
    [ "$n" -ge "$lo" ] && [ "$n" -le "$hi" ] ||
        fail "audit: $n log entries, want $lo..$hi"
    audit="verified ($n entries)"
fi
kill -TERM "$SERVE"
wait "$SERVE" || fail "serve exited non-zero after the final SIGTERM"
SERVE=

acked_total=$(wc -l <"$T/acks.log")
echo "crash: $ITER iterations ($startup_kills also killed while starting)," \
    "$acked_total acknowledged sets all present, $landed more in flight" \
    "at a kill found committed, no half-applied pair," \
    "audit $audit, seed $SEED, $((SECONDS - t0)) s"
