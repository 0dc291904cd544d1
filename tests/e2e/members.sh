#!/usr/bin/env bash
# tests/e2e/members.sh - membership and invites from the command line, on
# three real nodes: `invite inspect` previews a token without joining,
# `invite list` and `invite revoke` (a revoked token no longer joins),
# `member list`, `member role` (a promoted member invites; a viewer keeps
# its private fields), and `member leave`: a member leaves on its own with
# a signed op, the owner rotates the key, and the leaver reads nothing
# written afterwards. Needs $ENTENTE (the binary under test) and python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init members
export TZ=UTC

expect() {
    local want=$1 got=0
    shift
    "$@" >"$T/out" 2>"$T/err" || got=$?
    [ "$got" -eq "$want" ] || fail "'$*' exited $got, want $want: $(cat "$T/err")"
}
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"; }
no_blank_ends() { ! grep -n ' $' "$1" || fail "trailing blank in $1"; }

node_start A
node_start B
node_start C
ORG_A=$(node_org A)
ORG_B=$(node_org B)
ORG_C=$(node_org C)
O=$(e A object create --type opportunity --set name="Globex ERP")

# ---- invite inspect: what a token holds, before join; nothing changes -----
TOK=$(e A invite "$O" --role viewer --ttl 2h --json 2>/dev/null)
IID=$(echo "$TOK" | py 'd["invite_id"]')
TOK=$(echo "$TOK" | py 'd["token"]')
e B invite inspect "$TOK" --json >"$T/inspect.json"
[ "$(py '(d["object"], d["type"], d["inviter"], d["role"], d["expired"], d["invite_id"])' <"$T/inspect.json")" = \
    "('$O', 'opportunity', '$ORG_A', 'viewer', False, '$IID')" ] || fail "inspect: $(cat "$T/inspect.json")"
py 'd["addrs"][0]' <"$T/inspect.json" | grep -q '^127\.0\.0\.1:' || fail "inspect addrs"
e B invite inspect "$TOK" >"$T/inspect.txt"
no_blank_ends "$T/inspect.txt"
grep -qx "role:    viewer" "$T/inspect.txt" || fail "inspect text: $(cat "$T/inspect.txt")"
grep -qx "type:    opportunity" "$T/inspect.txt" || fail "inspect type: $(cat "$T/inspect.txt")"
# a version-1 token (the known answer of spec/invites.md §3, long expired)
# names no type
V1=ent1ahievmrsoqv3jkz2cnul2rqv4ttnaiskw4nac25pquqkgmwjo6dtows2ljnfuws2ljnfuws2ljnfuws2ljnfuws2ljnfuws2ljnfuws2aiaaaaaamvj76ecaifbegrcfizduqskkjnge2tspaaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypqcebsgazs4mbogeytglrxhi3timbqkxdrrv4jiof42
expect 1 "$ENTENTE" invite inspect "$V1" --home "$T/nohome"
grep -qx "type:    unknown (older token)" "$T/out" || fail "inspect v1 type: $(cat "$T/out")"
err_has "the invite has expired"
expect 1 "$ENTENTE" invite inspect "$V1" --home "$T/nohome" --json
[ "$(py 'd["type"]' <"$T/out")" = None ] || fail "inspect v1 json: $(cat "$T/out")"
"$ENTENTE" invite inspect "$TOK" --home "$T/nohome" >/dev/null || fail "inspect needs no node"
[ "$(e B object list --json)" = "[]" ] || fail "inspect joined"
BAD="${TOK:0:40}x${TOK:41}"
[ "$BAD" != "$TOK" ] || BAD="${TOK:0:40}y${TOK:41}"
expect 1 e B invite inspect "$BAD"
err_has "entente: invite inspect: the token has a typo (checksum mismatch)"

# ---- invite list / revoke ---------------------------------------------------
TOK2=$(e A invite "$O" --json 2>/dev/null)
IID2=$(echo "$TOK2" | py 'd["invite_id"]')
TOK2=$(echo "$TOK2" | py 'd["token"]')
e A invite list --json >"$T/invites.json"
[ "$(py 'sorted((i["invite_id"], i["role"], i["status"], i["used_by"]) for i in d)' <"$T/invites.json")" = \
    "$(python3 -c "print(sorted([('$IID', 'viewer', 'pending', None), ('$IID2', 'member', 'pending', None)]))")" ] ||
    fail "invite list: $(cat "$T/invites.json")"
e A invite list "${O:0:8}" >"$T/invites.txt"
no_blank_ends "$T/invites.txt"
[ "$(wc -l <"$T/invites.txt")" = 2 ] || fail "invite list OBJ: $(cat "$T/invites.txt")"
e A invite revoke "$IID2"
expect 1 e A invite revoke "$IID2"
err_has "entente: invite revoke: no such invite"
expect 1 e A invite revoke nothex
err_has "invalid invite id 'nothex'"
expect 1 e C join "$TOK2" --timeout 10s
err_has "unknown invite"
[ "$(e C object list --json)" = "[]" ] || fail "a revoked token joined"

# ---- join as viewer; member list; member role --------------------------------
[ "$(e B join "$TOK" 2>/dev/null)" = "$O" ] || fail "B join"
[ "$(e A invite list --json | py '[i["status"] for i in d if i["invite_id"]=="'"$IID"'"]')" = "['used']" ] ||
    fail "used invite not listed as used"
expect 1 e A invite revoke "$IID"
err_has "the invite was already used"
# a viewer changes no shared field but keeps private fields of its own
expect 1 e B object set "$O" --set next_step=Call
err_has "role viewer may not change shared field next_step"
e B object set "$O" --private internal_notes="viewer's own note"
[ "$(e B object show "$O" --json | py 'd["private"]["internal_notes"]')" = "viewer's own note" ] ||
    fail "viewer private field"
e A member list "$O" --json >"$T/members.json"
[ "$(py 'sorted((m["org"], m["role"], m["status"]) for m in d)' <"$T/members.json")" = \
    "$(python3 -c "print(sorted([('$ORG_A', 'owner', 'active'), ('$ORG_B', 'viewer', 'active')]))")" ] ||
    fail "member list: $(cat "$T/members.json")"
e A member list "$O" >"$T/members.txt"
no_blank_ends "$T/members.txt"
grep -qE "^$ORG_B  viewer  active   B$" "$T/members.txt" || fail "member list text: $(cat "$T/members.txt")"
expect 2 e A member role "$O" "$ORG_B" owner
expect 1 e A member role "$O" "$ORG_C" member
err_has "that org is not an active member"
expect 1 e B member role "$O" "$ORG_B" admin
e A member role "$O" "$ORG_B" admin --json >"$T/role.json"
[ "$(py '(d["org"], d["role"])' <"$T/role.json")" = "('$ORG_B', 'admin')" ] || fail "role: $(cat "$T/role.json")"
expect 1 e A member role "$O" "$ORG_B" admin
err_has "already has role admin"
wait_for "B to be admin at B" sh -c \
    "'$ENTENTE' member list '$O' --home '$T/B' --json | grep -q '\"org\": *\"$ORG_B\", *\"name\": *\"B\", *\"role\": *\"admin\"'"
# the new admin invites C
TOKC=$(e B invite "$O" 2>/dev/null)
[ "$(e C join "$TOKC" 2>/dev/null)" = "$O" ] || fail "C join through B"
wait_for "A to list C" sh -c "'$ENTENTE' member list '$O' --home '$T/A' --json | grep -q '$ORG_C'"

# ---- member leave: a signed leave, then the owner rotates the key ------------
expect 1 e A member leave "$O"
err_has "the owner cannot leave its object"
EP=$(e A object show "$O" --json | py 'd["epoch"]')
e C member leave "$O" --json >"$T/leave.json"
[ "$(py 'd["left"]' <"$T/leave.json")" = True ] || fail "leave: $(cat "$T/leave.json")"
[ "$(e C object show "$O" --json | py 'd["status"]')" = removed ] || fail "C still active after leaving"
expect 1 e C object set "$O" --set next_step=after
wait_for "A to see C leave" sh -c \
    "'$ENTENTE' member list '$O' --home '$T/A' --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if [m[\"status\"] for m in d if m[\"org\"]==\"$ORG_C\"]==[\"removed\"] else 1)'"
wait_for "A to rotate past epoch $EP" sh -c \
    "[ \$('$ENTENTE' object show '$O' --home '$T/A' --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"epoch\"])') -gt $EP ]"
e A object set "$O" --set next_step="after C left"
wait_for "B to see the change" sh -c \
    "'$ENTENTE' object show '$O' --home '$T/B' --json | grep -q 'after C left'"
sleep 1
! e C object show "$O" --json | grep -q 'after C left' || fail "C read a change made after it left"
expect 1 e C member leave "$O"
err_has "this org is not an active member any more"

# ---- the token's type is a claim: join warns when the object differs ---------
# The checksum is not a signature: anyone holding a token can change its
# type. Forge one naming "deal" for an opportunity.
OT=$(e A object create --type opportunity --set name="Typed")
TOKT=$(e A invite "$OT" 2>/dev/null)
FORGED=$(python3 - "$TOKT" <<'PY'
import base64, hashlib, sys
t = sys.argv[1][4:].upper()
p = base64.b32decode(t + "=" * (-len(t) % 8))[:-8]
tlen = len(b"opportunity")
assert p[-tlen - 1] == tlen and p[-tlen:] == b"opportunity"
body = p[: -tlen - 1] + bytes([4]) + b"deal"
ck = hashlib.blake2b(b"entente/v1/invite-checksum\0" + body, digest_size=32).digest()[:8]
print("ent1" + base64.b32encode(body + ck).decode().rstrip("=").lower())
PY
)
[ "$("$ENTENTE" invite inspect "$FORGED" --home "$T/nohome" --json | py 'd["type"]')" = deal ] ||
    fail "forged token type"
expect 0 e C join "$FORGED"
[ "$(cat "$T/out")" = "$OT" ] || fail "C join of the forged token: $(cat "$T/out")"
err_has "entente: join: warning: the invite said the object is of type deal, but it is of type opportunity"

nodes_stop_all
echo "members: ok"
