#!/usr/bin/env bash
# tests/e2e/events.sh - the event stream on real nodes (spec/events.md,
# spec/api.md "Events", spec/cli.md `entente events`).
#
# Two nodes on loopback. On A the operator makes users (rep: region EMEA,
# denied deal_size and memo; ana: admin), rules and tokens, and opens three
# readers before anything happens: the operator's raw stream, rep's raw
# stream (both bytes as they come off the socket) and `entente events
# --follow --json`. Then A creates an EMEA object with private canaries and
# an APAC object whose name is a canary, invites B to the EMEA object, B
# joins and changes a shared field: the change reaches A and A's stream
# shows it as fields.changed with org B and user null; ana's change shows
# user "ana". The CLI follower receives the live changes. A stream resumed
# with Last-Event-ID gets exactly the events after that id, as a page
# does. rep's stream and pages never hold a canary, the APAC object or a
# denied field name, while the operator's hold them (positive controls);
# rep still sees what it may. A bad Last-Event-ID or cursor is 400, a bad
# --after a usage error. Needs $ENTENTE (the binary under test).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init events

node_start A
node_start B
H="$T/A"
RND=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
CANARY_MEMO="CANARY-MEMO-$RND"
CANARY_APAC="CANARY-APAC-$RND"
DEAL="7777123.45"

# The raw reader: python3 $T/sse.py SOCK TOKEN PATH OUT [LAST_EVENT_ID]
# sends one GET (Authorization when TOKEN is not "-") and appends every
# byte it receives to OUT until killed or the node closes; with a
# duration in $SSE_SECONDS it stops after that many seconds.
cat >"$T/sse.py" <<'PY'
import os, socket, sys, time
sock, tok, path, out = sys.argv[1:5]
last = sys.argv[5] if len(sys.argv) > 5 else None
secs = float(os.environ.get("SSE_SECONDS", "0"))
s = socket.socket(socket.AF_UNIX)
s.connect(sock)
head = "GET %s HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n" % path
if tok != "-":
    head += "Authorization: Bearer %s\r\n" % tok
if last is not None:
    head += "Last-Event-ID: %s\r\n" % last
s.sendall((head + "\r\n").encode())
end = time.time() + secs if secs > 0 else None
with open(out, "ab", buffering=0) as f:
    while True:
        if end is not None:
            left = end - time.time()
            if left <= 0:
                break
            s.settimeout(left)
        try:
            c = s.recv(65536)
        except socket.timeout:
            break
        if not c:
            break
        f.write(c)
PY

# sse_ids FILE: the ids of the events in a raw stream file, one a line.
sse_ids() { grep -a '^id: ' "$1" | sed 's/^id: //' | tr -d '\r'; }

# ---- users, rules, tokens ---------------------------------------------------
e A user add rep --role rep --attr region=EMEA >/dev/null
e A user add ana --role admin >/dev/null
e A policy add 'allow role=rep read opportunity where region=$user.region' >/dev/null
e A policy add 'deny role=rep read opportunity.deal_size' >/dev/null
e A policy add 'deny role=rep read opportunity.memo' >/dev/null
TREP=$(e A token create --user rep)
TANA=$(e A token create --user ana)

# ---- the readers, open before anything happens ----------------------------------
python3 "$T/sse.py" "$H/api.sock" - "/v1/events" "$T/op.sse" &
lib_track $!
OP_PID=$!
python3 "$T/sse.py" "$H/api.sock" "$TREP" "/v1/events" "$T/rep.sse" &
lib_track $!
REP_PID=$!
"$ENTENTE" events --follow --json --home "$H" >"$T/follow.json" 2>"$T/follow.err" &
lib_track $!
FOLLOW_PID=$!
wait_for "the operator's stream to open" grep -q "entente events" "$T/op.sse"
wait_for "rep's stream to open" grep -q "entente events" "$T/rep.sse"

# ---- changes -------------------------------------------------------------------------
EMEA=$(e A object create --type opportunity --set name=Emea-deal --set region=EMEA \
    --private deal_size="$DEAL EUR" --private memo="$CANARY_MEMO")
APAC=$(e A object create --type opportunity --set name="$CANARY_APAC" --set region=APAC)
TOK=$(e A invite "$EMEA" 2>/dev/null)
e B join "$TOK" >/dev/null 2>&1 || fail "B joins"
ORG_B=$(node_org B)
e B object set "$EMEA" --set next_step=partner-step
wait_for "B's change to reach A" \
    sh -c "'$ENTENTE' object show '$EMEA' --json --home '$H' | grep -q partner-step"
e A object set "$EMEA" --set next_step=by-ana --token "$TANA"
REVOKED=$(e A invite "$EMEA" --json 2>/dev/null | py 'd["invite_id"]')
e A invite revoke "$REVOKED" --token "$TANA" >/dev/null

# the partner's change: fields.changed, org B, no user (operator page)
e A events --json --kind fields.changed --object "$EMEA" >"$T/page.json"
py '[(x["org"], x["user"]) for x in d["events"] if x["data"]["shared"].get("next_step") == "partner-step"]' \
    <"$T/page.json" | grep -qxF "[('$ORG_B', None)]" ||
    fail "partner change as an event: $(cat "$T/page.json")"
py '[x["user"] for x in d["events"] if x["data"]["shared"].get("next_step") == "by-ana"]' \
    <"$T/page.json" | grep -qxF "['ana']" || fail "ana's change: $(cat "$T/page.json")"
# the text form: RFC 3339 time, kind, "by ana"
e A events --kind fields.changed >"$T/page.txt"
grep -qE '^[0-9]+ +20[0-9-]+T[0-9:.]+Z +fields\.changed .* by ana +next_step=by-ana$' \
    "$T/page.txt" || fail "text line: $(cat "$T/page.txt")"

# every reader saw them live
wait_for "the CLI follower to get ana's change" grep -q by-ana "$T/follow.json"
grep -q partner-step "$T/follow.json" || fail "the follower lacks the partner's change"
wait_for "the operator's stream to get ana's change" grep -q by-ana "$T/op.sse"
wait_for "rep's stream to get ana's change" grep -q by-ana "$T/rep.sse"

# ---- resume: Last-Event-ID gives exactly the events after it --------------------
LAST=$(e A events --json --limit 1000 | py 'd["last"]')
e A object set "$EMEA" --set next_step=missed-1
e A object comment "$EMEA" "missed-2"
e A object set "$EMEA" --private memo="$CANARY_MEMO-2"
NOW=$(e A events --json --limit 1000 | py 'd["last"]')
[ "$NOW" -gt "$LAST" ] || fail "no new events"
SSE_SECONDS=2 python3 "$T/sse.py" "$H/api.sock" - "/v1/events" "$T/resume.sse" "$LAST"
WANT=$(e A events --json --after "$LAST" | py '"\n".join(str(x["id"]) for x in d["events"])')
GOT=$(sse_ids "$T/resume.sse")
[ "$GOT" = "$WANT" ] || fail "resumed stream ids '$GOT', want '$WANT'"
[ "$(echo "$GOT" | head -n1)" = $((LAST + 1)) ] || fail "resume does not start after $LAST"
[ "$(echo "$GOT" | tail -n1)" = "$NOW" ] || fail "resume does not reach $NOW"
# ?after= does the same
SSE_SECONDS=1 python3 "$T/sse.py" "$H/api.sock" - "/v1/events?after=$LAST" "$T/after.sse"
[ "$(sse_ids "$T/after.sse")" = "$WANT" ] || fail "?after= ids"

# ---- bad cursors -----------------------------------------------------------------------
SSE_SECONDS=1 python3 "$T/sse.py" "$H/api.sock" - "/v1/events" "$T/bad.sse" "12x"
head -n1 "$T/bad.sse" | grep -q "^HTTP/1.1 400" || fail "bad Last-Event-ID: $(head -c 300 "$T/bad.sse")"
grep -aq "Last-Event-ID" "$T/bad.sse" || fail "400 does not name Last-Event-ID"
SSE_SECONDS=1 python3 "$T/sse.py" "$H/api.sock" - "/v1/events?after=99999999" "$T/bad2.sse"
head -n1 "$T/bad2.sse" | grep -q "^HTTP/1.1 400" || fail "cursor beyond the newest"
expect_exit 2 e A events --after abc

# ---- the canary: rep's view ------------------------------------------------------------
wait_for "rep's stream to get missed-1" grep -q missed-1 "$T/rep.sse"
e A events --json --limit 1000 --token "$TREP" >"$T/rep-page.json"
e A events --limit 1000 --token "$TREP" >"$T/rep-page.txt"
kill "$FOLLOW_PID" "$OP_PID" "$REP_PID" 2>/dev/null || true
wait "$FOLLOW_PID" 2>/dev/null || true
wait "$OP_PID" "$REP_PID" 2>/dev/null || true
for f in "$T/rep.sse" "$T/rep-page.json" "$T/rep-page.txt"; do
    for c in "$DEAL" "$CANARY_MEMO" "$CANARY_APAC" "$APAC" '"deal_size"' '"memo"' \
        "deal_size=" "memo="; do
        if grep -aqF -- "$c" "$f"; then fail "rep's $f holds $c"; fi
    done
    grep -aq missed-1 "$f" || fail "rep's $f lacks what rep may read"
done
grep -aq "$EMEA" "$T/rep.sse" || fail "rep's stream lacks the EMEA object"
# positive controls: the operator's stream holds every one of them
for c in "$DEAL" "$CANARY_MEMO" "$CANARY_APAC" "$APAC"; do
    grep -aqF -- "$c" "$T/op.sse" || fail "control: the operator's stream lacks $c"
done
grep -aq '"kind":"member.joined"' "$T/op.sse" || fail "no member.joined"
grep -aq '"kind":"invite.redeemed"' "$T/op.sse" || fail "no invite.redeemed"
grep -aq '"kind":"invite.created"' "$T/op.sse" || fail "no invite.created"
grep -a '"kind":"invite.revoked"' "$T/op.sse" | grep -q "\"invite\":\"$REVOKED\".*" ||
    fail "no invite.revoked"
grep -a '"kind":"invite.revoked"' "$T/op.sse" | grep -q '"user":"ana"' ||
    fail "invite.revoked without ana"

# ---- SIGINT ends --follow with status 0 --------------------------------------------------
"$ENTENTE" events --follow --home "$H" >"$T/f2.txt" 2>&1 &
F2=$!
lib_track $F2
sleep 1
kill -INT "$F2"
rc=0
wait "$F2" || rc=$?
[ "$rc" = 0 ] || fail "events --follow exited $rc on SIGINT: $(cat "$T/f2.txt")"

nodes_stop_all
echo "events: ok"
