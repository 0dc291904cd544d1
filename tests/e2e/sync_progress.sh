#!/usr/bin/env bash
# tests/e2e/sync_progress.sh - a new member with a backlog sees progress
# (spec/cli.md `status` and `join`, spec/api.md GET /v1/status "syncs").
#   1. A holds an object with NOPS set ops (made through the local API).
#   2. B joins it; meanwhile B's `status --json` is polled. B's join prints
#      "receiving: N / TOTAL ops (P%)..." lines (stderr is not a terminal:
#      one every 2 s or 10%) and "received TOTAL ops"; a polled status shows
#      the sync "receiving" with counters between 0 and the total.
#   3. Afterwards B's status shows the sync done with applied == expected ==
#      the total, from A, with the join's id; `status` prints its line.
# Needs $ENTENTE and python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init sync_progress
NOPS=${NOPS:-2500}

node_start A
node_start B
ID=$(e A object create --type opportunity --set "name=Backlog deal")

# --- 1. the backlog: NOPS sets through A's API socket ------------------------
t=$SECONDS
python3 - "$T/A/api.sock" "$ID" "$NOPS" <<'EOF' || fail "making the backlog"
import json, socket, sys
path, oid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    body = json.dumps({"set": {"next_step": "step %d" % i}}).encode()
    req = (b"POST /v1/objects/%s HTTP/1.1\r\nHost: local\r\n"
           b"Content-Type: application/json\r\nContent-Length: %d\r\n"
           b"Connection: close\r\n\r\n" % (oid.encode(), len(body))) + body
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(req)
    resp = b""
    while b"\r\n\r\n" not in resp:
        chunk = s.recv(4096)
        if not chunk:
            break
        resp += chunk
    s.close()
    if not resp.startswith(b"HTTP/1.1 200"):
        sys.exit("set %d: %r" % (i, resp[:200]))
EOF
echo "sync_progress: $NOPS ops made on A in $((SECONDS - t)) s"
TOTAL=$((NOPS + 2)) # genesis, the sets, the joiner's add-member op

# --- 2. B joins while its status is polled --------------------------------------
TOKEN=$(e A invite "$ID")
: >"$T/polls"
# GET /v1/status (what `status --json` prints) every few ms, straight on
# B's socket: a CLI process per poll would miss a sub-second backlog
python3 - "$T/B/api.sock" "$T/stop-polling" >"$T/polls" <<'EOF' &
import os, socket, sys, time
path, stop = sys.argv[1], sys.argv[2]
while not os.path.exists(stop):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: local\r\n"
                  b"Connection: close\r\n\r\n")
        resp = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            resp += chunk
            head, sep, body = resp.partition(b"\r\n\r\n")
            if sep:
                n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                     if l.lower().startswith(b"content-length:")]
                if n and len(body) >= n[0]:
                    break
        s.close()
        body = resp.partition(b"\r\n\r\n")[2]
        if resp.startswith(b"HTTP/1.1 200") and body:
            sys.stdout.write(body.decode() + "\n")
            sys.stdout.flush()
    except OSError:
        pass
    time.sleep(0.002)
EOF
POLLER=$!
t=$SECONDS
j=$(e B join "$TOKEN" --timeout 120s 2>"$T/join.err") || {
    touch "$T/stop-polling"
    wait "$POLLER" || true
    fail "B join: $(cat "$T/join.err")"
}
touch "$T/stop-polling"
wait "$POLLER" || true
echo "sync_progress: B joined in $((SECONDS - t)) s"
[ "$j" = "$ID" ] || fail "join printed '$j'"
cat "$T/join.err" | sed 's/^/  join: /'

python3 - "$T/join.err" "$TOTAL" <<'EOF' || fail "join's progress lines"
import re, sys
lines = open(sys.argv[1]).read().splitlines()
total = int(sys.argv[2])
got = [l for l in lines if l.startswith("receiving: ")]
last = -1
for l in got:
    m = re.match(r"receiving: ([\d,]+) / ([\d,]+) ops \((\d+)%\)", l)
    if not m:
        sys.exit("bad progress line: %r" % l)
    done, exp = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
    if exp != total or not 0 <= done <= total or done < last:
        sys.exit("progress out of range: %r" % l)
    last = done
fin = [l for l in lines if l.startswith("received ")]
if not fin or int(fin[-1].split()[1].replace(",", "")) != total:
    sys.exit("final line: %r (want %d)" % (fin, total))
print("sync_progress: join printed %d progress line(s)" % len(got))
EOF

# the polled status documents: any sync seen mid-way is in range
SEEN=$(python3 - "$T/polls" "$TOTAL" "$ID" <<'EOF'
import json, sys
total, oid, seen = int(sys.argv[2]), sys.argv[3], 0
dec = json.JSONDecoder()
text = open(sys.argv[1]).read()
i = 0
while i < len(text):
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    d, i = dec.raw_decode(text, i)
    for s in d.get("syncs", []):
        if s["object"] != oid or s["state"] != "receiving":
            continue
        if s["expected"] != total or not 0 <= s["applied"] <= s["received"] <= total:
            sys.exit("bad polled sync: %r" % s)
        seen += 1
print(seen)
EOF
) || fail "polled status: $SEEN"
echo "sync_progress: $SEEN polled status document(s) showed the sync receiving"
NLINES=$(grep -c "^receiving: " "$T/join.err" || true)
[ "$SEEN" -gt 0 ] || [ "$NLINES" -gt 0 ] ||
    fail "neither join nor status showed progress while the backlog arrived"

# --- 3. afterwards: done, applied == expected -------------------------------------
e B status --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
oid, total, a_org = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = [x for x in d["syncs"] if x["object"] == oid and x["join"] is not None]
if not s:
    sys.exit("no sync of the object in %r" % d["syncs"])
s = s[0]
ok = (s["state"] == "done" and s["expected"] == total and
      s["applied"] == total and s["received"] == total and s["peer"] == a_org
      and s["peer_name"] == "A" and s["eta_seconds"] == 0 and s["join"] >= 1)
if not ok:
    sys.exit("sync after the join: %r (want %d ops)" % (s, total))
print("sync_progress: B applied %d / %d ops from A in %d ms (%d ops/s)" %
      (s["applied"], s["expected"], s["elapsed_ms"], s["ops_per_sec"]))
' "$ID" "$TOTAL" "$(node_org A)" || fail "status after the join"
LINE=$(e B status | grep "^sync  ${ID:0:12} from A: ") ||
    fail "status prints no sync line: $(e B status)"
echo "  status: $LINE"
case "$LINE" in
*"/ $(python3 -c "print(f'{$TOTAL:,}')") ops (100%), done in "*) ;;
*) fail "status line: $LINE" ;;
esac
wait_for "A and B to agree" same_shared "$ID" A B
nodes_stop_all
echo "sync_progress: ok"
