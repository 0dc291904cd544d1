#!/usr/bin/env bash
# tests/e2e/webhooks.sh - webhooks on a real node (spec/webhooks.md), to a
# receiver on loopback that this script writes (python3 http.server): it
# records every request's headers and body and answers 200, or 500 while
# told to fail; it is stopped and started again on the same port.
#
# One node A; the operator adds a webhook of its own (every event, whole)
# and one owned by rep (region EMEA, denied deal_size and memo). Checked:
# each delivery is signed (HMAC-SHA256 of "T.BODY" verified in Python, T
# within 5 minutes), carries its event id in the header and the body, and
# arrives in event-id order; rep's webhook never carries a private canary,
# deal_size or the APAC object; a rep cannot add a webhook; the receiver
# down -> events wait (backlog, failures, delivery log), back -> all of
# them arrive, none lost, in order per object; 500 answers are retried
# with the same event id; the node restarted while events wait -> they are
# delivered after the restart; an https receiver with a self-signed
# certificate gets nothing until serve is given its CA
# (ENTENTE_WEBHOOK_CA_FILE), then gets its events (skipped without the
# openssl command); replay sends again; test pings only the webhook it
# names; a paused webhook, one whose owner is disabled and one whose
# owner was removed (even once a new user of its name is added) send nothing. Retries are shortened with ENTENTE_WEBHOOK_BACKOFF_MS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init webhooks

# libcurl is loaded when webhooks need it, not linked (spec/webhooks.md
# §4.5): every delivery below goes through the loaded copy
if ldd "$ENTENTE" | grep -q "libcurl"; then
    fail "the binary links libcurl: $(ldd "$ENTENTE" | grep libcurl)"
fi
export ENTENTE_WEBHOOK_BACKOFF_MS=50 ENTENTE_WEBHOOK_BACKOFF_MAX_MS=300

# ---- the receiver ------------------------------------------------------------
cat >"$T/recv.py" <<'PY'
import http.server, json, os, ssl, sys
port_file, log, fail_file, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tls = sys.argv[5:7]  # CERT KEY: answer https

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        code = 500 if os.path.exists(fail_file) else 200
        rec = {"path": self.path, "code": code, "body": body.decode(),
               "headers": {k.lower(): v for k, v in self.headers.items()}}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass

s = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
if tls:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tls[0], tls[1])
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
PY
RPID=
# recv_start [PORT]: starts the receiver (port 0: a free one) and waits
# until it listens; its port is then in $PORT.
recv_start() {
    rm -f "$T/port"
    python3 "$T/recv.py" "$T/port" "$T/recv.log" "$T/fail" "${1:-0}" &
    RPID=$!
    lib_track "$RPID"
    wait_for "the receiver" test -s "$T/port"
    PORT=$(cat "$T/port")
}
recv_stop() {
    kill "$RPID"
    wait "$RPID" 2>/dev/null || true
}

# check.py SECRET PATH: verifies every delivery to PATH answered 200 and
# prints their event ids in arrival order, one per line. Fails on a bad
# signature, a stale time, an id header that differs from the body's.
cat >"$T/check.py" <<'PY'
import hmac, json, sys, time
log, secret, path = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
for line in open(log):
    r = json.loads(line)
    if r["path"] != path:
        continue
    h, body = r["headers"], r["body"].encode()
    parts = dict(p.split("=", 1) for p in h["entente-signature"].split(","))
    mac = hmac.new(secret, parts["t"].encode() + b"." + body, "sha256").hexdigest()
    if not hmac.compare_digest(mac, parts["v1"]):
        sys.exit("bad signature on %s" % line)
    if abs(time.time() - int(parts["t"])) > 300:
        sys.exit("stale time on %s" % line)
    ev = json.loads(body)
    if str(ev["id"]) != h["entente-event-id"] or ev["kind"] != h["entente-event-kind"]:
        sys.exit("headers do not match the body: %s" % line)
    if h["content-type"] != "application/json":
        sys.exit("content type %s" % h["content-type"])
    if r["code"] == 200:
        print(ev["id"])
PY
# delivered SECRET PATH: the event ids delivered (200) to PATH, in order.
delivered() { python3 "$T/check.py" "$T/recv.log" "$1" "$2"; }
count_ok() { delivered "$1" "$2" | wc -l; }

recv_start
node_start A
SECRET_OP="e2e-operator-secret-0123456789"
SECRET_REP="e2e-rep-secret-abcdefghijklmn"
CANARY="CANARY-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
DEAL=987654321
APAC_NAME="APAC-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"

e A user add rep --role rep --attr region=EMEA >/dev/null
e A user add boss --role admin >/dev/null
e A policy add 'allow role=rep read,create,change,comment opportunity where region=$user.region' >/dev/null
e A policy add 'deny role=rep read,change opportunity.deal_size' >/dev/null
e A policy add 'deny role=rep read,change opportunity.memo' >/dev/null
TREP=$(e A token create --user rep)
TBOSS=$(e A token create --user boss)

# ---- who may add one ------------------------------------------------------------
expect_exit 1 env ENTENTE_TOKEN="$TREP" "$ENTENTE" webhook add "http://127.0.0.1:$PORT/x" --events '*' --home "$T/A"
expect_err "may not manage"
expect_exit 1 env ENTENTE_TOKEN="$TREP" "$ENTENTE" webhook list --home "$T/A"
# hostile input is refused and changes nothing
for bad in "ftp://127.0.0.1/x" "http://user:pw@127.0.0.1:$PORT/x" "http://127.0.0.1:$PORT/a b" \
    "http://127.0.0.1:$PORT/$(head -c 2100 /dev/zero | tr '\0' a)"; do
    expect_exit 1 e A webhook add "$bad" --events '*'
done
expect_err "longer than 2048"
expect_exit 1 e A webhook add "http://127.0.0.1:$PORT/x" --events 'Bad Kind'
expect_exit 1 e A webhook add "http://127.0.0.1:$PORT/x" --events '*' --secret short
expect_exit 1 e A webhook add "http://127.0.0.1:$PORT/x" --events '*' --as nobody
[ "$(e A webhook list --json | py 'len(d)')" = 0 ] || fail "a refused webhook was kept"

# the operator's webhook (no owner: every event, whole), and rep's, added
# by an admin's token with --as
HOP=$(e A webhook add "http://127.0.0.1:$PORT/op" --events '*' --secret "$SECRET_OP" --json | py 'd["id"]')
e A webhook show "$HOP" --json | py '"secret" in d' | grep -qx False || fail "show prints the secret"
HREP=$(ENTENTE_TOKEN=$TBOSS e A webhook add "http://127.0.0.1:$PORT/rep" --events 'object.*,fields.changed,private.changed' \
    --secret "$SECRET_REP" --as rep --json | py 'd["id"] + " " + str(d["owner"])')
[ "${HREP#* }" = rep ] || fail "owner of rep's webhook: $HREP"
HREP=${HREP% *}
# a generated secret: 44 base64 characters, shown once
GEN=$(e A webhook add "http://127.0.0.1:$PORT/gen" --events 'webhook.test' --json)
GSEC=$(echo "$GEN" | py 'd["secret"]')
GID=$(echo "$GEN" | py 'd["id"]')
[ "${#GSEC}" = 44 ] || fail "generated secret: $GSEC"

# ---- deliveries, signed, in order, filtered for rep ---------------------------------
EMEA=$(e A object create --type opportunity --set name=Emea-deal --set region=EMEA \
    --private deal_size="$DEAL EUR" --private memo="$CANARY")
APAC=$(e A object create --type opportunity --set name="$APAC_NAME" --set region=APAC \
    --private deal_size="$DEAL EUR")
e A object set "$EMEA" --set next_step=call-1 --private deal_size="$((DEAL + 1)) EUR" >/dev/null
e A object set "$APAC" --set next_step=apac-1 >/dev/null
LAST=$(e A webhook show "$HOP" --json | py 'd["cursor"] + d["backlog"]')
wait_for "the operator's webhook to catch up" sh -c "[ \$(python3 '$T/check.py' '$T/recv.log' '$SECRET_OP' /op | tail -n 1) = $LAST ]"
wait_for "rep's webhook to catch up" sh -c "'$ENTENTE' webhook show $HREP --home '$T/A' --json | grep -q '\"backlog\":0'"
delivered "$SECRET_OP" /op >"$T/op.ids"
python3 -c "import sys; ids=[int(x) for x in open(sys.argv[1])]; assert ids == sorted(set(ids)), ids" "$T/op.ids" ||
    fail "operator deliveries out of order: $(tr '\n' ' ' <"$T/op.ids")"
grep -q "$CANARY" "$T/recv.log" || fail "positive control: the operator's webhook lacks the memo"
grep -q "$APAC_NAME" "$T/recv.log" || fail "positive control: the operator's webhook lacks APAC"
grep -q "$DEAL" "$T/recv.log" || fail "positive control: the operator's webhook lacks deal_size"
[ "$(count_ok "$SECRET_REP" /rep)" -ge 2 ] || fail "rep's webhook got $(count_ok "$SECRET_REP" /rep) events"
python3 - "$T/recv.log" "$CANARY" "$APAC" "$APAC_NAME" "$DEAL" <<'PY' || fail "rep's webhook leaked"
import json, sys
log, canary, apac, apac_name, deal = sys.argv[1:]
for line in open(log):
    r = json.loads(line)
    if r["path"] != "/rep":
        continue
    raw = json.dumps(r)
    for bad in (canary, apac, apac_name, deal, str(int(deal) + 1), "deal_size", "memo"):
        if bad in raw:
            sys.exit("rep's webhook carried %s: %s" % (bad, line))
PY
delivered "$SECRET_REP" /rep >/dev/null || fail "rep's signatures"
# rep's own webhook shows up in the events it may see: EMEA's
python3 - "$T/recv.log" "$EMEA" <<'PY' || fail "rep's webhook lacks EMEA"
import json, sys
ok = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1]) if json.loads(l)["path"] == "/rep"]
assert any(e["object"] == sys.argv[2] and e["kind"] == "object.created" for e in ok), ok
PY

# ---- the receiver down: events wait; back: every one arrives, in order -----------
recv_stop
for i in $(seq 1 15); do
    e A object set "$EMEA" --set next_step="down-$i" >/dev/null
done
e A object set "$APAC" --set next_step=apac-down >/dev/null
wait_for "failed attempts while the receiver is down" sh -c \
    "'$ENTENTE' webhook show $HOP --home '$T/A' --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(not (d[\"failures\"] >= 2 and d[\"backlog\"] >= 16))'"
e A webhook deliveries "$HOP" --json | py '[r["status"] for r in d][-1]' | grep -qx 0 || fail "a refused connection logged"
# GET /metrics shows the queue and the failures
curl -s --unix-socket "$T/A/api.sock" http://localhost/metrics >"$T/metrics.txt" || fail "metrics"
python3 - "$T/metrics.txt" <<'PY' || fail "webhook metrics: $(grep webhook "$T/metrics.txt")"
import re, sys
t = open(sys.argv[1]).read()
q = re.search(r"^entente_webhook_queue_depth (\S+)$", t, re.M)
f = re.search(r"^entente_webhook_failures_total (\S+)$", t, re.M)
sys.exit(not (q and f and float(q.group(1)) >= 16 and float(f.group(1)) >= 2))
PY
e A webhook list >"$T/list.txt"
grep -q "$HOP" "$T/list.txt" || fail "webhook list: $(cat "$T/list.txt")"
recv_start "$PORT"
LAST=$(e A webhook show "$HOP" --json | py 'd["cursor"] + d["backlog"]')
wait_for "the queue to drain" sh -c "[ \$(python3 '$T/check.py' '$T/recv.log' '$SECRET_OP' /op | tail -n 1) = $LAST ]"
python3 - "$T/recv.log" "$EMEA" <<'PY' || fail "order per object after the outage"
import json, sys
steps, ids = [], []
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["path"] != "/op" or r["code"] != 200:
        continue
    e = json.loads(r["body"])
    ids.append(e["id"])
    s = e["data"].get("shared", {}).get("next_step", "")
    if e["object"] == sys.argv[2] and s.startswith("down-"):
        steps.append(int(s[5:]))
assert steps == list(range(1, 16)), steps
assert ids == sorted(set(ids)), ids
PY
[ "$(e A webhook show "$HOP" --json | py 'd["state"], d["failures"]')" = "active 0" ] || fail "state after recovery"

# ---- https: verified; a self-signed receiver fails until its CA is given ------------
TLS=
if command -v openssl >/dev/null 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" -days 1 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1; then
    TLS=1
    rm -f "$T/tport"
    python3 "$T/recv.py" "$T/tport" "$T/recv.log" "$T/nofail" 0 "$T/cert.pem" "$T/key.pem" &
    TPID=$!
    lib_track "$TPID"
    wait_for "the https receiver" test -s "$T/tport"
    HTLS=$(e A webhook add "https://127.0.0.1:$(cat "$T/tport")/tls" --events 'fields.changed' \
        --secret "$SECRET_OP" --json | py 'd["id"]')
    e A object set "$EMEA" --set next_step=over-tls >/dev/null
    wait_for "a refused certificate" sh -c "'$ENTENTE' webhook show $HTLS --home '$T/A' --json | grep -qi 'certificate'"
    ! grep -q '"/tls"' "$T/recv.log" || fail "a request went to an unverified https receiver"
else
    echo "webhooks: no openssl command, https not tested" >&2
fi

# ---- 500 answers, then a restart while events wait -----------------------------------
touch "$T/fail"
e A object set "$EMEA" --set next_step=restart-1 >/dev/null
e A object set "$EMEA" --set next_step=restart-2 >/dev/null
wait_for "500 answers" sh -c "[ \$(grep -c '\"code\": 500' '$T/recv.log') -ge 3 ]"
e A webhook deliveries "$HOP" --json | py '[r["status"] for r in d][-1]' | grep -qx 500 || fail "500 not logged"
node_stop A
rm -f "$T/fail"
node_start A ENTENTE_WEBHOOK_CA_FILE="$T/cert.pem"
if [ -n "$TLS" ]; then # the receiver's CA given: delivered, verified
    wait_for "delivery over https" sh -c "grep '\"/tls\"' '$T/recv.log' | grep -q over-tls"
    delivered "$SECRET_OP" /tls >/dev/null || fail "https signatures"
    kill "$TPID"
    wait "$TPID" 2>/dev/null || true
    e A webhook remove "$HTLS" >/dev/null
fi
LAST=$(e A webhook show "$HOP" --json | py 'd["cursor"] + d["backlog"]')
wait_for "delivery after the restart" sh -c "[ \$(python3 '$T/check.py' '$T/recv.log' '$SECRET_OP' /op | tail -n 1) = $LAST ]"
grep '"path": "/op"' "$T/recv.log" | grep '"code": 200' | grep -q 'restart-2' || fail "restart-2 not delivered"
# the 500s were retries of the same event id
python3 - "$T/recv.log" <<'PY' || fail "retries"
import json, sys
fails = [json.loads(l) for l in open(sys.argv[1]) if '"code": 500' in l and '"/op"' in l]
ids = {f["headers"]["entente-event-id"] for f in fails}
assert len(ids) == 1, ids
assert max(int(f["headers"]["entente-delivery-attempt"]) for f in fails) >= 2
PY

# ---- replay and test ----------------------------------------------------------------------
BEFORE=$(count_ok "$SECRET_OP" /op)
FROM=$(delivered "$SECRET_OP" /op | tail -n 3 | head -n 1)
e A webhook replay "$HOP" --from "$FROM" >/dev/null
wait_for "the replay" sh -c "[ \$(python3 '$T/check.py' '$T/recv.log' '$SECRET_OP' /op | wc -l) -ge $((BEFORE + 3)) ]"
[ "$(delivered "$SECRET_OP" /op | tail -n 3 | tr '\n' ' ')" = "$(delivered "$SECRET_OP" /op | sed -n "1,${BEFORE}p" | tail -n 3 | tr '\n' ' ')" ] ||
    fail "replay sent other ids"
expect_exit 1 e A webhook replay "$HOP" --from 999999
expect_err "not kept"
TEV=$(e A webhook test "$GID" --json | py 'd["event"]')
wait_for "the test ping" sh -c "python3 '$T/check.py' '$T/recv.log' '$GSEC' /gen | grep -qx $TEV"
! grep '"path": "/op"' "$T/recv.log" | grep -q '"webhook.test"' || fail "the ping reached another webhook"

# ---- pause, a blocked owner, remove ---------------------------------------------------------
e A webhook pause "$HREP" >/dev/null
[ "$(e A webhook show "$HREP" --json | py 'd["state"]')" = paused ] || fail "pause"
e A webhook resume "$HREP" >/dev/null
e A user set rep --disable >/dev/null
[ "$(e A webhook show "$HREP" --json | py 'd["state"]')" = blocked ] || fail "a disabled owner"
N=$(count_ok "$SECRET_REP" /rep)
e A object set "$EMEA" --set next_step=while-blocked >/dev/null
sleep 1
[ "$(count_ok "$SECRET_REP" /rep)" = "$N" ] || fail "a blocked webhook delivered"
e A user set rep --enable >/dev/null
wait_for "the unblocked webhook" sh -c "grep '\"/rep\"' '$T/recv.log' | grep -q while-blocked"
# the owner removed and a new user of its name added (an admin, even): the
# webhook stays blocked, it was the old user's (spec/webhooks.md §5)
e A user remove rep >/dev/null
[ "$(e A webhook show "$HREP" --json | py 'd["state"]')" = blocked ] || fail "a removed owner"
e A user add rep --role admin >/dev/null
[ "$(e A webhook show "$HREP" --json | py 'd["state"]')" = blocked ] || fail "a new user of the owner's name unblocked the webhook"
N=$(count_ok "$SECRET_REP" /rep)
e A object set "$EMEA" --set next_step=after-reuse >/dev/null
sleep 1
[ "$(count_ok "$SECRET_REP" /rep)" = "$N" ] || fail "a webhook of a removed owner delivered to the new user of its name"
e A webhook remove "$HREP" >/dev/null
expect_exit 1 e A webhook show "$HREP"
expect_err "no such webhook"

nodes_stop_all
recv_stop
echo "webhooks: ok"
