#!/usr/bin/env bash
# tests/e2e/bad_tokens.sh - join with broken, truncated, expired, used and
# unreachable invite tokens: each fails with exit 1 and a clear reason, and
# the inviter's object keeps exactly the expected members.
# Needs $ENTENTE (the binary under test).
set -euo pipefail
export ENTENTE_DIAL_BASE_MS=100
export ENTENTE_SYNC_MS=${ENTENTE_SYNC_MS:-5000} # the node's default
. "$(dirname "$0")/lib.sh"

lib_init tok

# join_fails NODE TOKEN PATTERN: join must exit 1 with PATTERN on stderr.
join_fails() {
    local got=0
    e "$1" join "$2" --timeout 20s >"$T/out" 2>"$T/err" || got=$?
    [ "$got" -eq 1 ] || fail "join on $1 exited $got, want 1 (want '$3'): $(cat "$T/err")"
    grep -qi -- "$3" "$T/err" || fail "join on $1: want '$3', got: $(cat "$T/err")"
    [ -s "$T/out" ] && fail "join on $1 printed on stdout: $(cat "$T/out")"
    return 0
}

node_start A
node_start B
node_start C
ID=$(e A object create --type opportunity --set name=Tokens)
ORG_A=$(node_org A)
ORG_B=$(node_org B)

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
node_stop A
start_t=$(date +%s)
join_fails C "$TOK2" "cannot reach"
[ $(( $(date +%s) - start_t )) -le 20 ] || fail "cannot-reach took too long"

# restart A: its object has exactly A and B as members
node_start A
MEM=$(e A object show "$ID" --json | py '",".join(sorted(m["org"] for m in d["members"] if m["status"]=="active"))')
WANT=$(printf '%s\n%s\n' "$ORG_A" "$ORG_B" | sort | paste -sd, -)
[ "$MEM" = "$WANT" ] || fail "members are '$MEM', want '$WANT'"
[ "$(e C object list --json | py 'len(d)')" = 0 ] || fail "C holds an object"
echo "bad_tokens: ok"
