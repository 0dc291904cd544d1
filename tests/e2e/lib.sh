#!/usr/bin/env bash
# tests/e2e/lib.sh - shared helpers of the end-to-end scripts. Source it:
#
#     . "$(dirname "$0")/lib.sh"
#     lib_init five_nodes         # temp folder $T, cleanup trap
#     node_init A "A Corp"        # optional: init with another org name
#     node_start A                # init (first time) + serve on 127.0.0.1:0
#     ID=$(e A object create --type opportunity --set name=x)
#     node_stop A                 # SIGTERM, bounded wait; node_start A again
#     nodes_stop_all              # at the end: clean exits, no sanitizer report
#     wait_for "what" CMD...      # bounded polling (WAIT_SECONDS, default 30)
#     same_shared "$ID" A B C     # equal shared fields on every node named
#
# Every node lives in a mktemp home under $T, listens on 127.0.0.1 port 0
# and logs to $T/NAME.log; SERVE_ARGS=(...) adds arguments to every serve.
# A script that runs a process of its own (a serve on a home of its own, a
# helper loop) hands its pid to lib_track, and what must be undone at the
# end (a mount, a network namespace) to lib_at_exit. The EXIT trap resumes
# and kills every node and tracked process still running (nodes with
# SIGTERM, tracked processes with SIGKILL), makes the leftover check below,
# runs the lib_at_exit commands and removes $T (kept, and named on stderr,
# when E2E_KEEP=1 or CRASH_KEEP=1 is set). For single-home scripts
# there are expect_exit and expect_err. Needs $ENTENTE (the binary under
# test) and python3.
#
# No process may outlive the script. lib_init exports a marker,
# ENTENTE_E2E_SCRIPT, that every process the script starts inherits; the
# EXIT trap waits (bounded) for them to end, then lists, kills and fails the
# script for any that is left, even one started behind the library's back
# (a shell function in the background, whose $! is only the subshell: a
# tracked helper loop must not leave its children behind either).
# tests/run.sh makes the same check from outside after every script.
#
# Run on its own (as `make test` does with every tests/e2e/*.sh), it tests
# itself: one node up, status, stop, start again on the same home.

: "${ENTENTE:?set ENTENTE to the entente binary}"
export ENTENTE_DIAL_BASE_MS=${ENTENTE_DIAL_BASE_MS:-100}
export ENTENTE_SYNC_MS=${ENTENTE_SYNC_MS:-500}
WAIT_SECONDS=${WAIT_SECONDS:-30}
declare -A NODE_PID=()
LIB_PIDS=()    # lib_track
LIB_AT_EXIT=() # lib_at_exit
SERVE_ARGS=()  # extra arguments of node_start's serve
# NODE_LISTEN_AT[NAME]=HOST:PORT makes the next node_start NAME listen there
# (a node restarting on the port it had, as a configured node would)
declare -A NODE_LISTEN_AT=()
T=

# lib_leftovers: the pids of live processes started by this script (they
# carry its marker), the script's own shell excepted. The scan runs without
# the marker so that it does not find itself.
lib_leftovers() {
    local f out
    out=$(env -u ENTENTE_E2E_SCRIPT grep -lzx -- \
        "ENTENTE_E2E_SCRIPT=$ENTENTE_E2E_SCRIPT" /proc/[0-9]*/environ 2>/dev/null) || true
    for f in $out; do
        f=${f#/proc/}
        f=${f%/environ}
        [ "$f" = $$ ] || echo "$f"
    done
}

# lib_cleanup [STATUS]: the EXIT trap; exits with the script's status
# (STATUS when a script's own trap calls it, since $? is then that trap's),
# or 1 if processes were left behind.
lib_cleanup() {
    local st=${1:-$?} n i p c left= live=() running
    # tracked processes the script has not waited for yet (a pid it waited
    # for may belong to another process by now)
    running=" $(jobs -p | tr '\n' ' ') "
    for p in "${LIB_PIDS[@]}"; do
        [[ "$running" == *" $p "* ]] && live+=("$p")
    done
    for p in "${NODE_PID[@]}" "${live[@]}"; do
        kill -CONT "$p" 2>/dev/null || true
    done
    for n in "${!NODE_PID[@]}"; do
        kill "${NODE_PID[$n]}" 2>/dev/null || true
    done
    for p in "${live[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for p in "${NODE_PID[@]}" "${live[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
        left=$(lib_leftovers)
        [ -z "$left" ] && break
        sleep 0.1
    done
    if [ -n "$left" ]; then
        echo "FAIL: the script left processes behind (killed now):" >&2
        for p in $left; do
            echo "    pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >&2
            kill -KILL "$p" 2>/dev/null || true
        done
        st=1
        # the lib_at_exit commands run once they are gone (a busy mount)
        for ((i = 0; i < 20; i++)); do
            [ -z "$(lib_leftovers)" ] && break
            sleep 0.1
        done
    fi
    for c in "${LIB_AT_EXIT[@]}"; do eval "$c" || true; done
    if [ -n "$T" ] && [ -n "${E2E_KEEP:-}${CRASH_KEEP:-}" ]; then
        echo "kept $T" >&2
    elif [ -n "$T" ]; then
        rm -rf "$T"
    fi
    exit "$st"
}

# lib_track PID: a background process of the script's own, SIGKILLed at
# exit unless the script has waited for it. (A process it does not hand
# over still fails the leftover check above.)
lib_track() { LIB_PIDS+=("$1"); }

# lib_at_exit CMD: a shell command run at exit, after every process is gone
# (errors ignored).
lib_at_exit() { LIB_AT_EXIT+=("$1"); }

# lib_init NAME: creates $T, marks the processes of this script and
# installs the cleanup trap.
lib_init() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/entente-e2e-$1.XXXXXX")
    export ENTENTE_E2E_SCRIPT="$$.$RANDOM"
    trap lib_cleanup EXIT
    trap 'exit 130' INT TERM
}

# fail WHAT: prints the reason and the tail of every node log, exits 1.
fail() {
    echo "FAIL: $*" >&2
    local f
    for f in "$T"/*.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; grep -v " api: " "$f" | tail -n 30 >&2; }
    done
    exit 1
}

# py EXPR: evaluates EXPR with d = the JSON document on stdin.
py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# e NODE ARGS...: runs entente ARGS on NODE's home.
e() { local h=$1; shift; "$ENTENTE" "$@" --home "$T/$h"; }

# wait_for WHAT CMD...: polls CMD every 0.1 s until it succeeds, at most
# WAIT_SECONDS; fails the script otherwise.
wait_for() {
    local what=$1 i
    shift
    for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    fail "timed out after ${WAIT_SECONDS}s waiting for: $what"
}

# lines_matching FILE PATTERN: how many lines of FILE match the extended
# regular expression PATTERN (0 when none or no file).
lines_matching() { grep -c -E -- "$2" "$1" 2>/dev/null || true; }

# wait_more FILE PATTERN COUNT: waits (at most 10 s, never fails) until
# FILE holds more than COUNT lines matching PATTERN. The crash loops use it
# so that their kill lands while sets are being acknowledged: starting five
# writers on a restarted node can take longer than the whole kill window.
wait_more() {
    local i
    for ((i = 0; i < 200; i++)); do
        [ "$(lines_matching "$1" "$2")" -gt "$3" ] && return 0
        sleep 0.05
    done
    return 0
}

# expect_exit CODE CMD...: runs CMD, which must exit with CODE; its stdout
# is then in $T/out and its stderr in $T/err.
expect_exit() {
    local want=$1 got=0
    shift
    "$@" >"$T/out" 2>"$T/err" || got=$?
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, want $want: $(cat "$T/err")"
}

# expect_err TEXT: the last expect_exit's stderr contains TEXT.
expect_err() {
    grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"
}

# node_init NAME [ORGNAME]: creates NAME's home (org name ORGNAME, default
# NAME) listening on 127.0.0.1:0.
node_init() {
    "$ENTENTE" init --name "${2:-$1}" --listen 127.0.0.1:0 --home "$T/$1" \
        >/dev/null || fail "init $1"
}

# node_start NAME [ENV=VALUE...]: creates the home on first use, starts
# `serve` on 127.0.0.1:0 (or $NODE_LISTEN_AT[NAME]; with the extra
# environment and SERVE_ARGS) and waits until its API answers
# (`status --wait`, at most 15 s).
node_start() {
    local n=$1
    shift
    [ -z "${NODE_PID[$n]:-}" ] || fail "node $n is already running"
    [ -d "$T/$n" ] || node_init "$n"
    env "$@" "$ENTENTE" serve --home "$T/$n" \
        --listen "${NODE_LISTEN_AT[$n]:-127.0.0.1:0}" \
        "${SERVE_ARGS[@]}" >>"$T/$n.log" 2>&1 &
    NODE_PID[$n]=$!
    e "$n" status --wait=15s --json >/dev/null 2>&1 && return 0
    kill -0 "${NODE_PID[$n]}" 2>/dev/null || fail "node $n exited at start"
    fail "node $n did not come up"
}

# node_stop NAME: SIGTERM, then waits (bounded, 15 s) for a clean exit 0.
node_stop() {
    local n=$1 pid=${NODE_PID[$1]:-} i rc=0
    [ -n "$pid" ] || fail "node $n is not running"
    kill -TERM "$pid"
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "node $n ignores SIGTERM"
    wait "$pid" || rc=$?
    unset "NODE_PID[$n]"
    [ "$rc" = 0 ] || fail "node $n exited with status $rc after SIGTERM"
}

# nodes_stop_all: stops every running node (each must exit 0 on SIGTERM) and
# fails if any node log holds a sanitizer report. Call it before "ok".
nodes_stop_all() {
    local n f
    for n in "${!NODE_PID[@]}"; do node_stop "$n"; done
    for f in "$T"/*.log; do
        [ -f "$f" ] || continue
        if grep -q -e "ERROR: AddressSanitizer" -e "ERROR: LeakSanitizer" \
            -e "runtime error:" "$f"; then
            fail "sanitizer report in $f"
        fi
    done
}

node_org() { e "$1" status --json | py 'd["org"]'; }
node_listen() { e "$1" status --json | py 'd["listen"]'; }

# shared NODE OBJ: the object's shared fields as canonical JSON (sorted keys).
shared() {
    e "$1" object show "$2" --json | py 'json.dumps(d["shared"], sort_keys=True)'
}

# same_shared OBJ NODE...: true if every node shows identical shared fields.
same_shared() {
    local obj=$1 first n s
    shift
    first=$(shared "$1" "$obj") || return 1
    for n in "${@:2}"; do
        s=$(shared "$n" "$obj") || return 1
        [ "$s" = "$first" ] || return 1
    done
}

# db_has NODE HEXBYTES... : true if any file of NODE's database holds any of
# the raw byte strings (given in hex). Binary-safe.
db_has() {
    local n=$1
    shift
    python3 - "$T/$n/db" "$@" <<'EOF'
import os, sys
root, needles = sys.argv[1], [bytes.fromhex(h) for h in sys.argv[2:]]
for f in os.listdir(root):
    data = open(os.path.join(root, f), "rb").read()
    for nd in needles:
        if nd in data:
            sys.exit(0)
sys.exit(1)
EOF
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    lib_init lib
    node_start A
    L1=$(node_listen A)
    case "$L1" in 127.0.0.1:0 | "") fail "no actual port: $L1" ;; 127.0.0.1:*) ;; *) fail "listen $L1" ;; esac
    ORG=$(node_org A)
    node_stop A
    e A status --json >/dev/null 2>&1 && fail "status answers after stop"
    node_start A
    [ "$(node_org A)" = "$ORG" ] || fail "org changed across restart"
    ID=$(e A object create --type opportunity --set name=lib-self-test)
    wait_for "the object to show" same_shared "$ID" A
    db_has A "$ID" || fail "db_has does not find the object id in A's db"
    db_has A "00ff00ff00ff00ff00ff00ff00ff00ff" && fail "db_has finds absent bytes"
    nodes_stop_all
    [ "${#NODE_PID[@]}" = 0 ] || fail "nodes_stop_all left nodes running"
    echo "lib: ok"
fi
