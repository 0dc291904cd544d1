#!/usr/bin/env bash
# tests/e2e/netfault.sh - three nodes under network faults: a partition that
# heals, 10% packet loss, 200 ms latency. After each phase every node holds
# the same shared state and no acknowledged write is lost (every write whose
# `entente object set` exited 0 is a field of its own, present on all three).
#
# With root, `ip netns` and `tc` (iproute2) the script builds its own
# network: four namespaces it creates and deletes (a hub namespace with a
# bridge, one namespace per node, veth pairs, 10.200.<run>.x addresses that
# exist only inside them), and applies faults with `ip link set down` and
# `tc ... netem`. Without them it falls back to loopback and simulates the
# partition by SIGSTOP/SIGCONT of one node (and skips loss and latency); it
# says which mode it ran. Everything it made is removed by the trap.
# Needs $ENTENTE (the binary under test).
set -euo pipefail
export ENTENTE_DIAL_BASE_MS=100
export ENTENTE_SYNC_MS=300
. "$(dirname "$0")/lib.sh"

lib_init netf
NS=()
S=$$
START=$(date +%s)

MODE=loopback
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && command -v tc >/dev/null &&
    ip netns add "entp$S" 2>/dev/null; then
    ip netns del "entp$S"
    MODE=netns
fi
[ "${NETFAULT_LOOPBACK:-}" = 1 ] && MODE=loopback # to test the fallback

# after the nodes are gone: the namespaces and links this run made
lib_at_exit 'for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done'
lib_at_exit 'for x in a b c; do ip link del "ev$S$x" 2>/dev/null || true; done'

declare -A IP IF
OCT=$((S % 250 + 1))
if [ $MODE = netns ]; then
    HUB="enth$S"
    ip netns add "$HUB" && NS+=("$HUB")
    ip -n "$HUB" link add br0 type bridge
    ip -n "$HUB" link set br0 up
    i=1
    for x in a b c; do
        n="ent$S$x"
        ip netns add "$n" && NS+=("$n")
        ip link add "ev$S$x" type veth peer name "hv$S$x"
        ip link set "ev$S$x" netns "$n"
        ip link set "hv$S$x" netns "$HUB"
        ip -n "$HUB" link set "hv$S$x" master br0
        ip -n "$HUB" link set "hv$S$x" up
        ip -n "$n" link set lo up
        ip -n "$n" addr add "10.200.$OCT.$i/24" dev "ev$S$x"
        ip -n "$n" link set "ev$S$x" up
        X=$(echo $x | tr a-z A-Z)
        IP[$X]="10.200.$OCT.$i"
        IF[$X]="ev$S$x"
        i=$((i + 1))
    done
    echo "netfault: mode netns (namespaces ${NS[*]}, 10.200.$OCT.0/24)"
else
    for X in A B C; do IP[$X]=127.0.0.1; done
    echo "netfault: mode loopback (no root/ip netns/tc): the partition is" \
        "simulated with SIGSTOP/SIGCONT; loss and latency phases skipped"
fi

inns() { # inns NODE CMD...: exec CMD in NODE's namespace (or here); only
    # in a background subshell, so that $! is the node itself
    local X=$1
    shift
    if [ $MODE = netns ]; then
        exec ip netns exec "ent$S$(echo "$X" | tr A-Z a-z)" "$@"
    else
        exec "$@"
    fi
}

# start NAME: serve in NAME's namespace (lib's node_start serves here);
# its pid, in NODE_PID, is the one that holds the home's lock
start() {
    node_init "$1" "nf$1"
    inns "$1" "$ENTENTE" serve --home "$T/$1" --listen "${IP[$1]}:0" \
        >"$T/$1.log" 2>&1 &
    NODE_PID[$1]=$!
    e "$1" status --wait=15s --json >/dev/null 2>&1 &&
        [ "$(cat "$T/$1/serve.lock" 2>/dev/null)" = "${NODE_PID[$1]}" ] &&
        return 0
    fail "node $1 did not come up"
}

wait_secs() { # wait_secs SECONDS WHAT CMD...: wait_for with its own bound
    local WAIT_SECONDS=$1
    shift
    wait_for "$@"
}

start A
start B
start C
ID=$(e A object create --type opportunity --set "name=Netfault deal")
e B join "$(e A invite "$ID")" >/dev/null 2>&1 || fail "B join"
e C join "$(e A invite "$ID")" >/dev/null 2>&1 || fail "C join"

ACKED=() # fields whose write was acknowledged (exit 0)
write() { # write NODE FIELD
    if e "$1" object set "$ID" --custom "$2=v-$2" >/dev/null 2>&1; then
        ACKED+=("$2")
    fi
}
# every acknowledged write on A (they only add), then the same on B and C
converged() {
    local a f
    a=$(shared A "$ID") || return 1
    for f in "${ACKED[@]}"; do
        echo "$a" | grep -q "\"$f\": \"v-$f\"" || return 1
    done
    same_shared "$ID" A B C
}
phase() { # phase NAME TIMEOUT: writes on every node, then convergence
    local name=$1 secs=$2 t0
    t0=$(date +%s.%N)
    for i in 1 2 3; do
        for X in a b c; do write "$(echo $X | tr a-z A-Z)" "${name}_${X}_$i"; done
    done
    wait_secs "$secs" "convergence after $name" converged
    printf 'netfault: %-10s %2d acknowledged writes, converged in %.1f s\n' \
        "$name" "${#ACKED[@]}" "$(echo "$(date +%s.%N) - $t0" | bc)"
}

phase baseline 20

# --- partition C for a while; A and B (and C, locally) keep writing ---------
if [ $MODE = netns ]; then
    ip -n "ent${S}c" link set "${IF[C]}" down
    for i in 1 2 3; do write A "part_a_$i"; write B "part_b_$i"; write C "part_c_$i"; done
else
    kill -STOP "${NODE_PID[C]}"
    for i in 1 2 3; do write A "part_a_$i"; write B "part_b_$i"; done
fi
sleep 3
# A and B agree meanwhile; C has seen none of it
ab() { [ "$(shared A "$ID")" = "$(shared B "$ID")" ] && shared A "$ID" | grep -q part_b_3; }
wait_secs 15 "A and B to agree during the partition" ab
if [ $MODE = netns ]; then
    shared C "$ID" | grep -q part_a_1 && fail "C saw a write across the partition"
    ip -n "ent${S}c" link set "${IF[C]}" up
else
    kill -CONT "${NODE_PID[C]}"
fi
t0=$(date +%s.%N)
wait_secs 40 "convergence after the partition healed" converged
printf 'netfault: %-10s %2d acknowledged writes, healed in %.1f s\n' \
    partition "${#ACKED[@]}" "$(echo "$(date +%s.%N) - $t0" | bc)"

ns_of() { echo "ent$S$(echo "$1" | tr A-Z a-z)"; }
NETEM=no
if [ $MODE = netns ] &&
    tc -n "$(ns_of A)" qdisc add dev "${IF[A]}" root netem loss 10% 2>/dev/null; then
    NETEM=yes
fi
if [ $NETEM = yes ]; then
    # --- 10% packet loss on every node's link --------------------------------
    for X in B C; do
        tc -n "$(ns_of $X)" qdisc add dev "${IF[$X]}" root netem loss 10%
    done
    phase loss10 40
    # --- 200 ms latency (each way) ------------------------------------------
    for X in A B C; do
        tc -n "$(ns_of $X)" qdisc change dev "${IF[$X]}" root netem delay 200ms
    done
    phase delay200 40
    for X in A B C; do tc -n "$(ns_of $X)" qdisc del dev "${IF[$X]}" root; done
elif [ $MODE = netns ]; then
    # This kernel has no sch_netem. Loss: every 100 ms slot, each link is
    # down with probability 10% (its packets in that slot are lost and TCP
    # retransmits). Latency: each node is frozen (SIGSTOP) for 200 ms out of
    # every 400 ms, so every message waits up to 200 ms.
    echo "netfault: no netem in this kernel: loss by link flapping (10% of" \
        "100 ms slots), latency by 200 ms SIGSTOP slices"
    flap() {
        while :; do
            for X in A B C; do
                if [ $((RANDOM % 10)) = 0 ]; then
                    ip -n "$(ns_of $X)" link set "${IF[$X]}" down
                    sleep 0.1
                    ip -n "$(ns_of $X)" link set "${IF[$X]}" up
                fi
            done
            sleep 0.1
        done
    }
    flap &
    FLAP=$!
    lib_track "$FLAP"
    phase loss10 40
    kill "$FLAP"; wait "$FLAP" 2>/dev/null || true
    for X in A B C; do ip -n "$(ns_of $X)" link set "${IF[$X]}" up; done
    slow() {
        while :; do
            for X in A B C; do kill -STOP "${NODE_PID[$X]}"; done
            sleep 0.2
            for X in A B C; do kill -CONT "${NODE_PID[$X]}"; done
            sleep 0.2
        done
    }
    slow &
    SLOW=$!
    lib_track "$SLOW"
    phase delay200 40
    kill "$SLOW"; wait "$SLOW" 2>/dev/null || true
    for X in A B C; do kill -CONT "${NODE_PID[$X]}"; done
fi

for X in A B C; do
    kill -0 "${NODE_PID[$X]}" 2>/dev/null || fail "node $X died"
done
echo "netfault: ok ($MODE, ${#ACKED[@]} acknowledged writes, none lost," \
    "$(($(date +%s) - START)) s)"
