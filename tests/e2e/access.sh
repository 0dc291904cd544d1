#!/usr/bin/env bash
# tests/e2e/access.sh - users, tokens and access policies on a real node
# (spec/access.md), through the Unix socket with each user's token.
#
# One node; the operator (the socket without a token) creates users rep
# (region EMEA) and fin (finance), rules, tokens, an EMEA and an APAC
# opportunity with private canaries. Then, with rep's token: show and list
# leave deal_size and memo out, the APAC object is neither shown nor listed
# nor in the log, a denied set changes nothing (show before == after) and
# names its rule, a change that would move the object out of rep's region
# is refused; allowed changes carry rep's name in the log. fin sees
# deal_size. Wrong, revoked and expired tokens get 401; a password login
# gives a working token and failed logins lock the user out. Finally the
# privacy canary: no private or denied value appears in any byte of rep's
# outputs (text and JSON), and the positive controls prove the check can
# fail. A second node B's objects joined by A show as syncs in GET
# /v1/status: rep sees only the one it may read. Needs $ENTENTE (the
# binary under test).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init access

node_start A
H="$T/A"
OUT="$T/rep-out"
mkdir -p "$OUT"
CANARY_MEMO="CANARY-MEMO-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
CANARY_APAC="CANARY-APAC-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
DEAL="7777123.45"

# api TOKEN METHOD PATH [BODY]: one raw request on the socket; prints
# "STATUS BODY" (no Authorization header when TOKEN is "-").
api() {
    python3 - "$H/api.sock" "$@" <<'PY'
import json, socket, sys
sock, tok, method, path = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else b""
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
head = "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n" % (method, path)
if tok != "-":
    head += "Authorization: Bearer %s\r\n" % tok
if body:
    head += "Content-Type: application/json\r\n"
head += "Content-Length: %d\r\n\r\n" % len(body)
s.sendall(head.encode() + body)
data = b""
while True:
    c = s.recv(65536)
    if not c:
        break
    data += c
st = data.split(b" ", 2)[1].decode()
print(st, data.split(b"\r\n\r\n", 1)[1].decode().strip())
PY
}

# ---- the operator sets up users, rules, tokens and objects ---------------
echo 'Rep-password-42' | e A user add rep --role rep --attr region=EMEA --password-stdin >/dev/null
e A user add fin --role finance >/dev/null
e A user add ghost --role rep --attr region=EMEA >/dev/null
e A policy add 'allow role=rep read,create,change,comment opportunity where region=$user.region' >/dev/null
e A policy add 'deny role=rep read,change opportunity.deal_size' >/dev/null
e A policy add 'deny role=rep read,change opportunity.memo' >/dev/null
e A policy add 'allow role=rep log *' >/dev/null
e A policy add 'allow role=finance read opportunity' >/dev/null
[ "$(e A policy list --json | py 'len(d)')" = 5 ] || fail "policy list"
e A policy test --user rep --action read --type opportunity --field deal_size --value region=EMEA |
    grep -q '^deny by rule 2: deny role=rep read,change opportunity.deal_size$' ||
    fail "policy test: $(e A policy test --user rep --action read --type opportunity --field deal_size)"
e A policy test --user rep --action read --type opportunity --value region=APAC |
    grep -qx 'deny: no rule matched (default deny)' || fail "policy test default"
e A policy test --user fin --action read --type opportunity --field deal_size --json |
    py '(d["decision"], d["rule"])' | grep -qx "('allow', 5)" || fail "policy test fin"

TREP=$(e A token create --user rep --expires 1d)
TFIN=$(e A token create --user fin --scopes read)
TREV=$(e A token create --user rep)
TEXP=$(e A token create --user rep --expires 1s)
TGHOST=$(e A token create --user ghost)
REV_ID=$(e A token list --json | py '[t["id"] for t in d if "'"$TREV"'".startswith("ent_" + t["id"])][0]')
e A token revoke "$REV_ID" >/dev/null
e A user remove ghost >/dev/null
# the token is shown once and never stored or listed
e A token list --json >"$T/tokens.json"
! grep -q "${TREP:21}" "$T/tokens.json" || fail "token list shows a token"
! db_has A "$(printf '%s' "${TREP:21}" | od -An -tx1 | tr -d ' \n')" || fail "a token is stored"

EMEA=$(e A object create --type opportunity --set name=Emea-deal --set region=EMEA \
    --private deal_size="$DEAL EUR" --private memo="$CANARY_MEMO")
APAC=$(e A object create --type opportunity --set name="$CANARY_APAC" --set region=APAC \
    --private deal_size="$DEAL EUR")

# ---- rep, through its token ------------------------------------------------
r() { ENTENTE_TOKEN=$TREP e A "$@"; }
r object show "$EMEA" --json >"$OUT/show.json"
[ "$(py '(sorted(d["shared"]), sorted(d["private"]))' <"$OUT/show.json")" = \
    "(['name', 'region', 'stage'], [])" ] || fail "rep's show: $(cat "$OUT/show.json")"
r object show "$EMEA" >"$OUT/show.txt"
r object list --json >"$OUT/list.json"
[ "$(py '[o["id"] for o in d]' <"$OUT/list.json")" = "['$EMEA']" ] || fail "rep's list: $(cat "$OUT/list.json")"
r object list >"$OUT/list.txt"
r object list --limit 1 --sort -title --json >"$OUT/list2.json"
[ "$(py '[o["id"] for o in d]' <"$OUT/list2.json")" = "['$EMEA']" ] || fail "limit after the filter"
# the APAC object: 403 by every route, default deny
if r object show "$APAC" >"$OUT/apac.txt" 2>"$OUT/apac.err"; then fail "rep saw APAC"; fi
grep -q "may not read opportunity: no rule allows it (default deny)" "$OUT/apac.err" ||
    fail "APAC refusal: $(cat "$OUT/apac.err")"
api "$TREP" GET "/v1/objects/$APAC" >"$OUT/apac.raw"
read -r st body <"$OUT/apac.raw"
[ "$st" = 403 ] || fail "APAC status $st"
[ "$(echo "$body" | py '(d["error"]["code"], d["error"]["reason"], d["error"]["rule"], "field" in d["error"])')" = \
    "('ENT_EDENIED', 'default', None, True)" ] || fail "403 body: $body"
api "$TREP" POST "/v1/objects/$APAC/comments" '{"text":"hi"}' >"$OUT/apac-comment.raw"
[ "$(cut -d' ' -f1 "$OUT/apac-comment.raw")" = 403 ] || fail "comment on APAC: $(cat "$OUT/apac-comment.raw")"

# a denied set changes nothing and names its rule
e A object show "$EMEA" --json >"$T/before.json"
if r object set "$EMEA" --private deal_size="1 EUR" 2>"$OUT/set.err"; then fail "rep set deal_size"; fi
grep -q "may not change opportunity.deal_size: denied by rule 2" "$OUT/set.err" || fail "set refusal: $(cat "$OUT/set.err")"
api "$TREP" POST "/v1/objects/$EMEA" '{"set":{"name":"x"},"private":{"deal_size":"2 EUR"}}' >"$OUT/set.raw"
[ "$(cut -d' ' -f2- "$OUT/set.raw" | py '(d["error"]["rule"], d["error"]["field"])')" = "(2, 'deal_size')" ] ||
    fail "set 403 body: $(cat "$OUT/set.raw")"
# moving the object out of rep's region is refused too
if r object set "$EMEA" --set region=APAC 2>"$OUT/move.err"; then fail "rep moved the object to APAC"; fi
e A object show "$EMEA" --json >"$T/after.json"
cmp -s "$T/before.json" "$T/after.json" || fail "a denied set changed the object"

# allowed changes carry rep's name in the log, only there
r object set "$EMEA" --set next_step=Workshop
r object comment "$EMEA" "call on Monday"
MINE=$(r object create --type opportunity --set name=Reps-own --set region=EMEA)
e A log --json >"$T/log.json"
[ "$(py '[e["user"] for e in d["entries"]]' <"$T/log.json")" = "[None, None, 'rep', 'rep', 'rep']" ] ||
    fail "log users: $(cat "$T/log.json")"
e A log | grep -q "op_authored .* by rep$" || fail "log text by rep: $(e A log)"
r log --json >"$OUT/log.json"
[ "$(py '[e["object"] for e in d["entries"]].count("'"$APAC"'")' <"$OUT/log.json")" = 0 ] ||
    fail "rep's log shows APAC"
[ "$(py 'len(d["entries"])' <"$OUT/log.json")" = 4 ] || fail "rep's log: $(cat "$OUT/log.json")"
r log >"$OUT/log.txt"
r object show "$MINE" --json >"$OUT/mine.json"

# ---- fin (a read-only token) sees deal_size and changes nothing ------------
ENTENTE_TOKEN=$TFIN e A object show "$EMEA" --json | py 'd["private"]["deal_size"]["amount"]' |
    grep -qx "$DEAL" || fail "fin does not see deal_size"
if ENTENTE_TOKEN=$TFIN e A object set "$EMEA" --set name=x 2>"$T/fin.err"; then fail "fin changed"; fi
grep -q "scopes do not include change" "$T/fin.err" || fail "fin refusal: $(cat "$T/fin.err")"
if ENTENTE_TOKEN=$TFIN e A log 2>/dev/null; then fail "fin read the log"; fi
if ENTENTE_TOKEN=$TREP e A user list 2>/dev/null; then fail "rep listed users"; fi

# ---- wrong, revoked, expired tokens: 401 ------------------------------------
sleep 1.1
for t in "ent_0000000000000000_$(printf '%064d' 0)" "$TREV" "$TEXP" "$TGHOST" "garbage" "${TREP%?}x"; do
    api "$t" GET /v1/objects >"$T/401.raw"
    [ "$(cut -d' ' -f1 "$T/401.raw")" = 401 ] || fail "token $t: $(cat "$T/401.raw")"
done
api "$TEXP" GET /v1/status | grep -q '"ENT_EEXPIRED"' || fail "expired code"
if ENTENTE_TOKEN=$TREV e A status 2>"$T/rev.err"; then fail "a revoked token worked"; fi
grep -q "invalid or revoked token" "$T/rev.err" || fail "revoked: $(cat "$T/rev.err")"
[ "$(api - GET /v1/access/me | cut -d' ' -f2- | py 'd["operator"]')" = True ] || fail "operator on the socket"

# ---- login and lockout ------------------------------------------------------
TLOG=$(echo 'Rep-password-42' | e A login --user rep)
[ "$(ENTENTE_TOKEN=$TLOG e A object list --json | py 'len(d)')" = 2 ] || fail "login token"
echo 'wrong-Password-1' | e A login --user rep 2>"$T/login.err" && fail "a wrong password logged in"
grep -q "wrong user name or password" "$T/login.err" || fail "login refusal: $(cat "$T/login.err")"
# five more wrong passwords (six in a row with the one above): from the
# third on each locks rep out, for 1 s, 2 s, 4 s, then 8 s; a try while
# locked is answered like a wrong password (401, not 429: the answer must
# not tell a locked name from an unknown one) and not counted, so wait out
# each lock before the next try. The last lock leaves 8 s for the checks
# below, however loaded the machine.
for i in 2 3 4 5 6; do
    api - POST /v1/login '{"user":"rep","password":"wrong-Password-1"}' >"$T/wrong.raw"
    [ "$(cut -d' ' -f1 "$T/wrong.raw")" = 401 ] || fail "wrong password: $(cat "$T/wrong.raw")"
    if [ "$i" -ge 3 ] && [ "$i" -lt 6 ]; then sleep "$((1 << (i - 3))).1"; fi
done
# while locked even the right password is refused, with the very answer
# of an unknown user, and not counted
api - POST /v1/login '{"user":"rep","password":"Rep-password-42"}' >"$T/locked.raw"
api - POST /v1/login '{"user":"nosuchuser","password":"Rep-password-42"}' >"$T/ghost.raw"
[ "$(cut -d' ' -f1 "$T/locked.raw")" = 401 ] || fail "right password while locked: $(cat "$T/locked.raw")"
cmp -s "$T/locked.raw" "$T/ghost.raw" || fail "locked and unknown differ: $(cat "$T/locked.raw" "$T/ghost.raw")"
[ "$(e A user show rep --json | py 'd["failures"] == 6 and d["locked_until"] is not None')" = True ] ||
    fail "lockout not recorded: $(e A user show rep --json)"
e A user set rep --enable >/dev/null # lifts the lockout
TLOG2=$(echo 'Rep-password-42' | e A login --user rep)
[ -n "$TLOG2" ] || fail "login after --enable"

# ---- GET /v1/status: the syncs of objects rep may not read are left out -------
node_start B
BEMEA=$(e B object create --type opportunity --set name=B-emea --set region=EMEA)
BAPAC=$(e B object create --type opportunity --set name=B-apac --set region=APAC)
e A join "$(e B invite "$BEMEA")" >/dev/null
e A join "$(e B invite "$BAPAC")" >/dev/null
[ "$(e A status --json | py 'sorted(s["object"] for s in d["syncs"])')" = "$(python3 -c "print(sorted(['$BEMEA', '$BAPAC']))")" ] ||
    fail "control: the operator's syncs: $(e A status --json)"
[ "$(ENTENTE_TOKEN=$TFIN e A status --json | py 'len(d["syncs"])')" = 2 ] || fail "fin's syncs"
r status --json >"$OUT/status.json"
[ "$(py '[s["object"] for s in d["syncs"]]' <"$OUT/status.json")" = "['$BEMEA']" ] ||
    fail "rep's syncs: $(cat "$OUT/status.json")"

# ---- the privacy canary -------------------------------------------------------
for f in "$OUT"/*; do
    for c in "$DEAL" "777712345" "$CANARY_MEMO" "$CANARY_APAC" "$APAC" "$BAPAC" "deal_size\":" "\"memo\""; do
        ! grep -qF -- "$c" "$f" || fail "$(basename "$f") of rep holds '$c'"
    done
done
# positive controls: the canaries are there for the operator
e A object show "$EMEA" --json | grep -qF "$CANARY_MEMO" || fail "control: memo"
e A object show "$EMEA" --json | grep -qF "$DEAL" || fail "control: deal_size"
e A object list --json | grep -qF "$APAC" || fail "control: APAC"

nodes_stop_all
echo "access: ok"
