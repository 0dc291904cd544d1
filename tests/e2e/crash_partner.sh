#!/usr/bin/env bash
# tests/e2e/crash_partner.sh - crash consistency of a node that is creating
# AND receiving ops (spec/reliability.md "Crash loop with a partner").
#
# Two real `entente serve` nodes: A (stable) creates an object and invites
# B (the victim), B joins. Each iteration:
#   - writer lanes run `object set` in the background on both nodes, each
#     lane its own field with increasing values: A's lanes a1, a2 (their ops
#     reach B over the network: B is receiving ops), B's lanes b1, b2 and
#     bpair (B is creating ops; bpair sets a shared and a private field to
#     the same value in one command);
#   - B gets SIGKILL a random 0-300 ms after the first of its sets in the
#     iteration is acknowledged (waited for at most 10 s); every fourth iteration B is
#     also started and killed again 0-200 ms into its start-up; A keeps
#     writing while B is down and while it starts;
#   - B is started on the same home with no clean-up (it may get another
#     port; it dials A, so A learns it again) and the script checks that
#       * B comes up (database opens, stale socket and lock handled);
#       * every write B acknowledged (its `object set` exited 0) is on B:
#         each B lane shows a value >= its last acknowledged value and
#         <= the last one tried; bpair's shared and private fields agree;
#       * within a bounded wait (WAIT_SECONDS) A and B converge: equal
#         `shared` sections, every write A acknowledged is on B, and the two
#         activity logs agree op by op: each op is logged once on each node
#         (op_authored on its author, op_accepted on the other), B has
#         exactly one op_authored entry per B write that committed (the
#         acknowledged ones plus the in-flight ones found committed), and
#         no op was rejected and no equivocation logged (a sequence number
#         reused after a crash would show up there). An op whose state
#         landed without its log entry, or whose log entry landed twice,
#         fails here;
#       * A lists B as connected, at B's new address.
# At the end both nodes stop with SIGTERM (exit 0, no sanitizer report),
# and on both the activity log is exported and verified offline
# (`audit verify --json`: ok, no equivocation, as many entries as the log,
# and the checkpoint its head may add).
#
#   CRASH_ITERATIONS (default 4: one start-up kill; make test-long: 200)
#   CRASH_SEED (default: random)   seed of $RANDOM, printed for replays
#   CRASH_KEEP=1                   keep the temporary folder
# Needs $ENTENTE (the binary under test) and python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ITER=${CRASH_ITERATIONS:-4}
SEED=${CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$SEED
BURST=60 # most sets one lane tries per iteration
A_LANES=(a1 a2)
B_LANES=(b1 b2 bpair)
it=0

lib_init crash-partner
# a private copy: a rebuild of $ENTENTE during a long run must not break it
cp "$ENTENTE" "$T/entente"
ENTENTE="$T/entente"

# cp_cleanup: the lanes and nodes die at once (SIGKILL: a crash test needs
# no clean stop), then lib.sh's cleanup makes its leftover check and
# removes $T (CRASH_KEEP=1 keeps it).
cp_cleanup() {
    local st=$? p
    touch "$T/stop" 2>/dev/null || true
    for p in $(jobs -p); do kill -9 "$p" 2>/dev/null || true; done
    for p in "${NODE_PID[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    NODE_PID=()
    lib_cleanup "$st"
}
trap cp_cleanup EXIT

fail() {
    echo "FAIL (seed $SEED, iteration $it): $*" >&2
    local f
    for f in "$T"/A.log "$T"/B.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; grep -v " api: " "$f" | tail -n 30 >&2; }
    done
    for f in "$T"/lane-*.err; do
        [ -s "$f" ] && { echo "--- $f" >&2; tail -n 5 "$f" >&2; }
    done
    exit 1
}

# kill9_b: SIGKILL to B, reaped quietly.
kill9_b() {
    local pid=${NODE_PID[B]}
    kill -9 "$pid" 2>/dev/null || true
    { wait "$pid"; } 2>/dev/null || true
    unset "NODE_PID[B]"
}

# lane NODE NAME: sets NAME's field(s) on NODE to the next values until a
# set fails, $T/stop appears or BURST sets are done. $T/NAME.next: the next
# value; $T/NAME.ack: the last acknowledged; $T/NAME.tried: the last tried.
# On A (never killed) a failed set is an error: the lane leaves $T/lanefail.
lane() {
    local node=$1 name=$2 next v args i
    next=$(cat "$T/$name.next")
    for ((i = 0; i < BURST; i++)); do
        [ -e "$T/stop" ] && return 0
        v=$(printf '%08d' "$next")
        case $name in
        bpair) args=(--custom "bpair_s=$v" --private "bpair_p=$v") ;;
        *) args=(--custom "$name=$v") ;;
        esac
        echo "$next" >"$T/$name.tried"
        next=$((next + 1))
        echo "$next" >"$T/$name.next"
        if timeout 20 "$ENTENTE" object set "$ID" "${args[@]}" --home "$T/$node" \
            2>>"$T/lane-$name.err"; then
            echo "$((next - 1))" >"$T/$name.ack"
            echo "$name $v" >>"$T/acks.log"
        else
            [ "$node" = A ] && echo "$name" >>"$T/lanefail"
            return 0
        fi
    done
}

# logs.py: the checks, over JSON documents in $T (see the header).
cat >"$T/logs.py" <<'EOF'
import json, os, sys
t = sys.argv[1]
cmd = sys.argv[2]

def num(path):
    try:
        return int(open(path).read())
    except FileNotFoundError:
        return 0

def load(path, default):
    try:
        return json.load(open(path))
    except FileNotFoundError:
        return default

def save(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f)
    os.replace(path + ".tmp", path)

if cmd == "lanes":
    # lanes LANE... < B's show.json: acknowledged writes present, nothing
    # invented, bpair whole. Prints how many in-flight writes landed and
    # adds them to the count of B's committed writes.
    d = json.load(sys.stdin)
    bad, landed = [], 0
    for lane in sys.argv[3:]:
        ack, tried = num(f"{t}/{lane}.ack"), num(f"{t}/{lane}.tried")
        if lane == "bpair":
            a, b = d["shared"].get("bpair_s"), d["private"].get("bpair_p")
            if a != b:
                bad.append(f"bpair half-applied: shared {a} private {b}")
            got = a
        else:
            got = d["shared"].get(lane)
        g = int(got) if got is not None else 0
        if g < ack:
            bad.append(f"lane {lane}: B shows {got}, last acknowledged {ack}")
        if g > tried:
            bad.append(f"lane {lane}: B shows {got}, never tried above {tried}")
        # the set in flight at this kill landed (a lane tries at least one
        # set per iteration, so "tried" is always this iteration's)
        if g == tried and g > ack:
            landed += 1
    if bad:
        print("; ".join(bad))
        sys.exit(1)
    st = load(f"{t}/counts.json", {"landed": 0})
    st["landed"] += landed
    save(f"{t}/counts.json", st)
    print(landed)

elif cmd == "converged":
    # converged ORG_B LISTEN_B: first appends the new log entries of each
    # node ($T/logq-NODE.json, `log --since N --json`) to $T/log-NODE.json (a
    # list, index = position; its length in $T/log-NODE.len). Then:
    # $T/showA.json and $T/showB.json have equal shared sections, A's
    # acknowledged writes are on B, the two logs agree op by op (see the
    # header), and A's peers ($T/peersA.json) list B as connected, at the
    # address B listens on now.
    for node in ("A", "B"):
        path = f"{t}/log-{node}.json"
        have = load(path, [])
        d = json.load(open(f"{t}/logq-{node}.json"))
        for e in d["entries"]:
            if e["index"] != len(have):
                print(f"{node}: log entry index {e['index']}, want {len(have)}")
                sys.exit(2)
            have.append([e["kind"], e["op"]])
        if d["size"] != len(have):
            print(f"{node}: log size {d['size']}, have {len(have)} entries")
            sys.exit(2)
        save(path, have)
        with open(f"{t}/log-{node}.len", "w") as f:
            f.write(str(len(have)))
    a = json.load(open(f"{t}/showA.json"))
    b = json.load(open(f"{t}/showB.json"))
    bad = []
    peers = json.load(open(f"{t}/peersA.json"))
    pb = [p for p in peers if p["org"] == sys.argv[3]]
    if not pb or not pb[0]["connected"]:
        bad.append("A does not list B as connected")
    elif sys.argv[4] not in pb[0]["addrs"]:
        bad.append(f"A lists B at {pb[0]['addrs']}, B listens on {sys.argv[4]}")
    if a["shared"] != b["shared"]:
        diff = sorted(k for k in set(a["shared"]) | set(b["shared"])
                      if a["shared"].get(k) != b["shared"].get(k))
        bad.append("shared differ: " + ", ".join(
            f"{k} A={a['shared'].get(k)} B={b['shared'].get(k)}" for k in diff))
    for lane in ("a1", "a2"):
        ack = num(f"{t}/{lane}.ack")
        g = b["shared"].get(lane)
        if (int(g) if g else 0) < ack:
            bad.append(f"lane {lane}: B shows {g}, A acknowledged {ack}")
    logs = {}
    for node in ("A", "B"):
        auth, acc, other = {}, {}, []
        for i, (kind, op) in enumerate(load(f"{t}/log-{node}.json", [])):
            if kind == "op_authored":
                auth[op] = auth.get(op, 0) + 1
            elif kind == "op_accepted":
                acc[op] = acc.get(op, 0) + 1
            elif kind in ("op_rejected", "equivocation"):
                other.append(f"{node}: log entry {i} is {kind} ({op})")
        for m in (auth, acc):
            for op, c in m.items():
                if c != 1:
                    other.append(f"{node}: op {op} logged {c} times")
        for op in set(auth) & set(acc):
            other.append(f"{node}: op {op} both authored and accepted")
        bad += other
        logs[node] = (auth, acc)
    (a_auth, a_acc), (b_auth, b_acc) = logs["A"], logs["B"]
    if set(a_auth) != set(b_acc):
        bad.append(f"A authored {len(a_auth)} ops, B logged {len(b_acc)} as "
                   f"accepted ({len(set(a_auth) - set(b_acc))} missing on B, "
                   f"{len(set(b_acc) - set(a_auth))} unknown to A)")
    if set(b_auth) != set(a_acc):
        bad.append(f"B authored {len(b_auth)} ops, A logged {len(a_acc)} as "
                   f"accepted ({len(set(b_auth) - set(a_acc))} missing on A)")
    acks = 0
    for line in open(f"{t}/acks.log"):
        if line.split()[0] in ("b1", "b2", "bpair"):
            acks += 1
    want = acks + load(f"{t}/counts.json", {"landed": 0})["landed"]
    if len(b_auth) != want:
        bad.append(f"B's log has {len(b_auth)} op_authored entries, want {want}"
                   f" (acknowledged + in flight found committed)")
    if bad:
        print("; ".join(bad))
        sys.exit(1)
    print(f"{len(a_auth)} {len(b_auth)}")
EOF

chk() { python3 "$T/logs.py" "$T" "$@"; }

# converged: A and B agree (see logs.py converged); the reason why not in
# $T/conv.out. Exit status 2 (a log that is not append-only) fails the test.
converged() {
    local n have rc=0
    for n in A B; do
        have=0
        [ -f "$T/log-$n.len" ] && have=$(cat "$T/log-$n.len")
        e "$n" log --since "$have" --json >"$T/logq-$n.json" 2>/dev/null || return 1
        e "$n" object show "$ID" --json >"$T/show$n.json" 2>/dev/null || return 1
    done
    e A peers --json >"$T/peersA.json" 2>/dev/null || return 1
    chk converged "$ORG_B" "$LISTEN_B" >"$T/conv.out" 2>&1 || rc=$?
    [ "$rc" = 2 ] && fail "$(cat "$T/conv.out")"
    return "$rc"
}

# wait_converged: converged within WAIT_SECONDS; prints the time taken (ms).
wait_converged() {
    local t0 ms
    t0=$(date +%s%N)
    while :; do
        if converged; then
            echo $((($(date +%s%N) - t0) / 1000000))
            return 0
        fi
        ms=$((($(date +%s%N) - t0) / 1000000))
        [ "$ms" -lt $((WAIT_SECONDS * 1000)) ] || break
        sleep 0.1
    done
    fail "A and B did not converge within ${WAIT_SECONDS}s: $(cat "$T/conv.out")"
}

t0=$SECONDS
node_start A
node_start B
ORG_A=$(node_org A)
ORG_B=$(node_org B)
ID=$(e A object create --type opportunity --set "name=crash with a partner" \
    --json | py 'd["id"]')
[[ "$ID" =~ ^[0-9a-f]{64}$ ]] || fail "object id '$ID'"
j=$(e B join "$(e A invite "$ID")" 2>"$T/join.err") || fail "B join: $(cat "$T/join.err")"
[ "$j" = "$ID" ] || fail "B join printed '$j'"
for l in "${A_LANES[@]}" "${B_LANES[@]}"; do echo 1 >"$T/$l.next"; done
: >"$T/acks.log"
echo '{"landed": 0}' >"$T/counts.json"
LISTEN_B=$(node_listen B)
wait_converged >/dev/null

landed=0 # B's in-flight writes (unacknowledged at the kill) found committed
startup_kills=0
conv_max=0
conv_sum=0
ports=("$LISTEN_B")
for it in $(seq 1 "$ITER"); do
    rm -f "$T/stop"
    apids=()
    bpids=()
    acked_b=$(lines_matching "$T/acks.log" '^b')
    for l in "${A_LANES[@]}"; do
        lane A "$l" &
        apids+=($!)
    done
    for l in "${B_LANES[@]}"; do
        lane B "$l" &
        bpids+=($!)
    done
    wait_more "$T/acks.log" '^b' "$acked_b" # B's writers are under way
    sleep "$(printf '0.%03d' $((RANDOM % 301)))"
    kill9_b
    for p in "${bpids[@]}"; do wait "$p" || fail "a B lane exited with an error"; done
    if [ $((it % 4)) -eq 0 ]; then # a crash during start-up too
        env "$ENTENTE" serve --home "$T/B" --listen 127.0.0.1:0 >>"$T/B.log" 2>&1 &
        NODE_PID[B]=$!
        sleep "$(printf '0.%03d' $((RANDOM % 201)))"
        kill9_b
        startup_kills=$((startup_kills + 1))
    fi
    node_start B # fails the script if B does not come up within 15 s
    touch "$T/stop"
    for p in "${apids[@]}"; do wait "$p" || fail "an A lane exited with an error"; done
    [ -e "$T/lanefail" ] && fail "a set on A failed: $(cat "$T/lanefail")"
    e B object show "$ID" --json >"$T/showB.json" 2>"$T/show.err" ||
        fail "object show on B after restart: $(cat "$T/show.err")"
    n=$(chk lanes "${B_LANES[@]}" <"$T/showB.json") || fail "$n"
    landed=$((landed + n))
    e B status --json >"$T/statusB.json" || fail "status on B after restart"
    [ "$(py 'd["objects"]' <"$T/statusB.json")" = 1 ] || fail "B status: want 1 object"
    LISTEN_B=$(py 'd["listen"]' <"$T/statusB.json")
    ports+=("$LISTEN_B")
    ms=$(wait_converged)
    conv_sum=$((conv_sum + ms))
    [ "$ms" -gt "$conv_max" ] && conv_max=$ms
done

# the end: the audit of both logs, then clean stops
audit=""
for n in A B; do
    "$ENTENTE" audit export --out "$T/audit-$n.export" --home "$T/$n" >/dev/null \
        2>"$T/audit.err" || fail "audit export on $n: $(cat "$T/audit.err")"
    org=$ORG_A
    [ "$n" = B ] && org=$ORG_B
    "$ENTENTE" audit verify "$T/audit-$n.export" --org "$org" --json \
        >"$T/verify-$n.json" 2>"$T/audit.err" ||
        fail "audit verify on $n: $(cat "$T/audit.err") $(cat "$T/verify-$n.json")"
    [ "$(py 'd["ok"]' <"$T/verify-$n.json")" = True ] || fail "audit $n: $(cat "$T/verify-$n.json")"
    [ "$(py 'd["equivocations"]' <"$T/verify-$n.json")" = 0 ] ||
        fail "audit $n: equivocations: $(cat "$T/verify-$n.json")"
    ne=$(py 'd["entries"]' <"$T/verify-$n.json")
    nl=$(py 'len(d)' <"$T/log-$n.json")
    # signing the export's head may append a checkpoint (spec/audit.md §8)
    [ "$ne" -ge "$nl" ] && [ "$ne" -le $((nl + 1)) ] ||
        fail "audit $n: $ne entries verified, the log had $nl"
    audit="$audit $n $ne,"
done
nodes_stop_all

acks_a=$(grep -c -E '^a[12] ' "$T/acks.log" || true)
acks_b=$(grep -c -E '^b' "$T/acks.log" || true)
nports=$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)
echo "crash_partner: $ITER kills of B while writing and receiving" \
    "($startup_kills more while starting); $acks_b sets acknowledged by B" \
    "all present, $landed more in flight found committed, no half-applied" \
    "pair; $acks_a sets acknowledged by A all reached B; converged after" \
    "each restart (mean $((conv_sum / ITER)) ms, max $conv_max ms," \
    "B on $nports distinct ports); audit verified (entries:${audit%,});" \
    "seed $SEED, $((SECONDS - t0)) s"
