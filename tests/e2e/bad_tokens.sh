#!/usr/bin/env bash
# tests/e2e/bad_tokens.sh - join with broken, truncated, expired, used and
# unreachable invite tokens: each fails with exit 1 and a clear reason, and
# the inviter's object keeps exactly the expected members.
# Needs $ENTENTE (the binary under test).
set -euo pipefail

: "${ENTENTE:?set ENTENTE to the entente binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/entente-e2e-tok.XXXXXX")
PIDS=()
export ENTENTE_DIAL_BASE_MS=100

cleanup() {
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$T"/*.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}

py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
e() { local h=$1; shift; "$ENTENTE" "$@" --home "$T/$h"; }

start() { # start NAME
    "$ENTENTE" init --name "$1" --home "$T/$1" >/dev/null
    "$ENTENTE" serve --home "$T/$1" --listen 127.0.0.1:0 >"$T/$1.log" 2>&1 &
    PIDS+=("$!")
    eval "PID_$1=$!"
    e "$1" status --wait=15s --json >/dev/null 2>&1 || fail "node $1 did not come up"
}

# join_fails NODE TOKEN PATTERN: join must exit 1 with PATTERN on stderr.
join_fails() {
    local got=0
    e "$1" join "$2" --timeout 20s >"$T/out" 2>"$T/err" || got=$?
    [ "$got" -eq 1 ] || fail "join on $1 exited $got, want 1 (want '$3'): $(cat "$T/err")"
    grep -qi -- "$3" "$T/err" || fail "join on $1: want '$3', got: $(cat "$T/err")"
    [ -s "$T/out" ] && fail "join on $1 printed on stdout: $(cat "$T/out")"
    return 0
}

start A
start B
start C
ID=$(e A object create --type opportunity --set name=Tokens)
ORG_A=$(e A status --json | py 'd["org"]')
ORG_B=$(e B status --json | py 'd["org"]')

TOK=$(e A invite "$ID")
# one character changed (a valid base32 letter, so only the checksum sees it)
pos=$(( ${#TOK} / 2 ))
ch=${TOK:$pos:1}
[ "$ch" = a ] && new=b || new=a
BAD="${TOK:0:$pos}$new${TOK:$((pos + 1))}"
join_fails B "$BAD" "typo"
# truncated
join_fails B "${TOK:0:$(( ${#TOK} - 10 ))}" "truncated\|incomplete\|checksum\|typo"
join_fails B "ent1" "truncated\|malformed\|incomplete"
join_fails B "hello" "not a valid invite token"

# expired
EXP=$(e A invite "$ID" --ttl 1s)
sleep 2
join_fails B "$EXP" "expired"

# used: B joins, then C tries the same token
JB=$(e B join "$TOK" 2>"$T/joinB.err") || fail "B join: $(cat "$T/joinB.err")"
[ "$JB" = "$ID" ] || fail "B joined '$JB', want $ID"
join_fails C "$TOK" "already used"
# the joiner's log says the reason once, not "reason (reason)"
grep -q "join: refused by the inviter: invite already used$" "$T/C.log" ||
    fail "C's log lacks the refusal: $(grep 'refused' "$T/C.log")"
! grep -q "invite already used (invite already used)" "$T/C.log" ||
    fail "C's log repeats the reason"

# the inviter is not running
TOK2=$(e A invite "$ID")
kill "$PID_A"
wait "$PID_A" 2>/dev/null || true
start_t=$(date +%s)
join_fails C "$TOK2" "cannot reach"
[ $(( $(date +%s) - start_t )) -le 20 ] || fail "cannot-reach took too long"

# restart A: its object has exactly A and B as members
"$ENTENTE" serve --home "$T/A" --listen 127.0.0.1:0 >"$T/A2.log" 2>&1 &
PIDS+=("$!")
e A status --wait=15s --json >/dev/null 2>&1 || fail "A did not come up again"
MEM=$(e A object show "$ID" --json | py '",".join(sorted(m["org"] for m in d["members"] if m["status"]=="active"))')
WANT=$(printf '%s\n%s\n' "$ORG_A" "$ORG_B" | sort | paste -sd, -)
[ "$MEM" = "$WANT" ] || fail "members are '$MEM', want '$WANT'"
[ "$(e C object list --json | py 'len(d)')" = 0 ] || fail "C holds an object"
echo "bad_tokens: ok"
