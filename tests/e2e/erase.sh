#!/usr/bin/env bash
# tests/e2e/erase.sh - erasure of personal data (spec/objects.md "Erasure").
# A (owner) creates a lead whose contact e-mail (shared), contact name
# (shared, set again later) and internal notes (private) hold canaries; B
# joins. A erases the field contact_email: both nodes drop it, the other
# fields stay, and no canary byte is left in either data.mdb (free pages
# included). B stops; A erases the whole object; B, started again, gets the
# erase op and drops everything on receipt. Both audit exports still verify
# and report the erasures. Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init erase

MAIL=CANARY-MAIL-7f3a9c
NAME=CANARY-NAME-51d2e0
NOTE=CANARY-NOTE-c08b44
hex() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }

node_start A
node_start B
ID=$(e A object create --type lead --set company=Initech \
    --set "contact_email=$MAIL" --set "contact_name=$NAME" \
    --private "internal_notes=$NOTE")
j=$(e B join "$(e A invite "$ID")" 2>"$T/join.err") ||
    fail "B join: $(cat "$T/join.err")"
[ "$j" = "$ID" ] || fail "B join printed '$j'"
has() { shared "$1" "$ID" | grep -q -- "$2"; }
wait_for "B to hold the contact e-mail" has B "$MAIL"
e A object set "$ID" --set "contact_name=$NAME-2"
wait_for "B to hold the second contact name" has B "$NAME-2"

# --- a member that is not the owner may not erase --------------------------
expect_exit 1 e B object erase "$ID" --field contact_name
expect_err "only the object's owner erases"

# --- one field ----------------------------------------------------------------
e A object erase "$ID" --field contact_email
gone_mail() { ! has "$1" "$MAIL"; }
wait_for "B to drop the contact e-mail" gone_mail B
SA=$(shared A "$ID")
SB=$(shared B "$ID")
case "$SA" in *"$MAIL"*) fail "A still shows the contact e-mail" ;; esac
case "$SA$SB" in *Initech*"$NAME-2"*Initech*"$NAME-2"*) ;;
*) fail "the fields not erased are gone: A $SA, B $SB" ;; esac
db_has A "$(hex "$MAIL")" && fail "A's database still holds $MAIL"
db_has B "$(hex "$MAIL")" && fail "B's database still holds $MAIL"
db_has A "$(hex "$NAME")" || fail "A's database lacks $NAME: the test looks in the wrong place"

# --- the whole object, B offline ----------------------------------------------
node_stop B
e A object erase "$ID"
node_start B
gone_all() { ! has "$1" Initech; }
wait_for "B to erase the object on receipt" gone_all B
case "$(shared A "$ID")" in *Initech*) fail "A still shows erased fields" ;; esac
for n in A B; do
    db_has $n "$(hex "$MAIL")" "$(hex "$NAME")" "$(hex "$NOTE")" \
        "$(hex Initech)" && fail "$n's database still holds a canary"
done

# --- the logs still verify and tell what was erased, by whom ------------------
for n in A B; do
    e $n audit export --out "$T/$n.export"
    e $n audit verify "$T/$n.export" --json >"$T/$n.verify" ||
        fail "$n's audit export does not verify: $(cat "$T/$n.verify")"
    python3 - "$T/$n.verify" <<'EOF' || fail "$n: verify reports no erasure"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] and d["erased"] >= 3, d
# two erase ops (the field, then the object), both by the owner A
assert len(d["erasures"]) == 2 and len({x["by"] for x in d["erasures"]}) == 1, d
EOF
done
nodes_stop_all
echo "erase: ok"
