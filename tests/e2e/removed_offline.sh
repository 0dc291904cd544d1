#!/usr/bin/env bash
# tests/e2e/removed_offline.sh - an org removed while it was offline learns
# it when it next connects to any member (spec/gossip.md §11), and gets
# nothing written after its removal. A (owner) invites B and C; B stops; A
# edits (B may read that: it is before the removal), removes B and edits
# again under the new epoch; then A stops too, so that B, started again,
# can only reach C (whose address it got from A's signed records). C sends
# B the past of its removal: B shows the object as removed, holds the edit
# made before the removal and not the one after it, and its activity log
# accepted exactly those two ops. A comes back; B still gets nothing more.
# Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init removed_offline

node_start A
node_start B
node_start C
ORG_B=$(node_org B)
ORG_C=$(node_org C)
ID=$(e A object create --type opportunity --set "name=Offline removal" \
    --set customer_account=Umbrella)
for n in B C; do
    j=$(e $n join "$(e A invite "$ID")" 2>"$T/join$n.err") ||
        fail "$n join: $(cat "$T/join$n.err")"
    [ "$j" = "$ID" ] || fail "$n join printed '$j'"
done
wait_for "all three to agree after the joins" same_shared "$ID" A B C
connected_to() {
    e "$1" peers --json | python3 -c '
import json, sys
sys.exit(0 if any(p["org"] == sys.argv[1] and p["connected"]
                  for p in json.load(sys.stdin)) else 1)' "$2"
}
wait_for "B to know C directly" connected_to B "$ORG_C"

status() { e "$1" object show "$ID" --json | py 'd["status"]'; }
has() { shared "$1" "$ID" | grep -q -- "$2"; }
log_size() { e "$1" log --json | py 'd["size"]'; }

# --- B goes offline; A edits, removes B, edits again -------------------------
B_LOG=$(log_size B)
node_stop B
e A object set "$ID" --set "next_step=BEFORE-REMOVAL"
e A member remove "$ID" "$ORG_B"
e A object set "$ID" --custom "competitor=SECRET-AFTER-REMOVAL"
wait_for "C to hold the edit after the removal" has C SECRET-AFTER-REMOVAL
node_stop A

# --- B comes back; only C is up -----------------------------------------------
node_start B
is_removed() { [ "$(status "$1")" = removed ]; }
wait_for "B to learn from C that it was removed" is_removed B
has B BEFORE-REMOVAL || fail "B lacks the edit made before its removal"
has B SECRET-AFTER-REMOVAL && fail "B shows an edit made after its removal"
accepted=$(e B log --since "$B_LOG" --json |
    py 'sum(1 for x in d["entries"] if x["kind"] == "op_accepted")')
[ "$accepted" = 2 ] || fail "B accepted $accepted ops after its restart, want 2 (the edit before the removal, the removal)"
echo "removed_offline: B learnt its removal from C (A down); it accepted $accepted ops"

# --- A comes back: B gets nothing more, and is shown removed everywhere --------
node_start A
e A object set "$ID" --custom "description=LATER-STILL"
wait_for "C to hold A's later edit" has C LATER-STILL
sleep 2 # a few anti-entropy rounds (ENTENTE_SYNC_MS=500)
has B LATER-STILL && fail "B received an edit after its removal"
[ "$(status B)" = removed ] || fail "B is no longer shown removed"
for n in A C; do
    e $n object show "$ID" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
m = [x for x in d["members"] if x["org"] == sys.argv[1]]
sys.exit(0 if not m or m[0].get("status") == "removed" else 1)' "$ORG_B" ||
        fail "$n still lists B as an active member"
done
accepted=$(e B log --since "$B_LOG" --json |
    py 'sum(1 for x in d["entries"] if x["kind"] == "op_accepted")')
[ "$accepted" = 2 ] || fail "B accepted $accepted ops in all, want 2"
nodes_stop_all
echo "removed_offline: ok"
