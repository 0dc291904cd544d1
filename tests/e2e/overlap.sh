#!/usr/bin/env bash
# tests/e2e/overlap.sh - account mapping between two real nodes (invariant
# 9, spec/overlap.md), through the CLI, kept lean: a partnership invite and
# join, accounts imported on both sides (JSON lines), sharing levels, one
# run with flags, the result shown as JSON and CSV, a joint object seeded
# from a match, and the canary: A holds a distinctive account that B does
# not have; after the run its name and domain must be in no byte of either
# node's plaintext wire dump (ENTENTE_WIRE_DUMP), in no log line of either
# node (--log-level debug), not in B's database files and in no result of
# either side. Positive controls prove the checks can fail (the canary is
# in A's own database; the dumps hold OVERLAP traffic and a matched
# account is in A's result). Needs $ENTENTE.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
WAIT_SECONDS=15

lib_init ovl
SERVE_ARGS=(--log-level debug)
rnd() { od -An -N6 -tx1 /dev/urandom | tr -d ' \n'; }
CAN="zqcanary$(rnd)"
CAN_NAME="Qwyx ${CAN} Holdings GmbH"
CAN_DOMAIN="https://www.${CAN}-shop.example/"

node_init A ovlA
node_init B ovlB
node_start A ENTENTE_WIRE_DUMP="$T/A.wire"
node_start B ENTENTE_WIRE_DUMP="$T/B.wire"

# the partnership
PB=$(e B partner join "$(e A partner invite)" 2>/dev/null) || fail "partner join"
PA=$(node_org B)
[ "$PB" = "$(node_org A)" ] || fail "partner join printed $PB"

# accounts: 0..59 on A (every 3rd a customer), 40..99 on B (every 5th a
# customer, the others prospects): 20 in common; the canary on A only
python3 - "$T" "$CAN_NAME" "$CAN_DOMAIN" <<'PY'
import json, sys
t, cn, cd = sys.argv[1:4]
with open(f"{t}/a.jsonl", "w") as f:
    for i in range(60):
        f.write(json.dumps({"name": f"Firm {i} Ltd", "domain": f"www.firm{i}.example",
                            "flags": "customer" if i % 3 == 0 else "prospect"}) + "\n")
    f.write(json.dumps({"name": cn, "domain": cd, "flags": "customer"}) + "\n")
# B's: a HubSpot companies export (';'-separated, quoted cells)
with open(f"{t}/b.csv", "w") as f:
    f.write("Record ID;Company name;Company Domain Name;Lifecycle Stage;Annual Revenue\r\n")
    for i in range(40, 100):
        f.write(f'{900 + i};"Firm {i}; Inc.";https://firm{i}.example/x;'
                f'{"Customer" if i % 5 == 0 else "Lead"};1000\r\n')
PY
[ "$(e A accounts import "$T/a.jsonl")" = "61 accounts stored" ] || fail "A import"
MAP="$(dirname "$0")/../../node/overlap/maps/hubspot_accounts.json"
[ "$(e B accounts import "$T/b.csv" --map "$MAP")" = "60 accounts stored" ] || fail "B CSV import"
printf 'Record ID;Company name;Company Domain Name;Lifecycle Stage\r\n1;"Bad;co.uk;Lead\r\n' >"$T/bad.csv"
e B accounts import "$T/bad.csv" --map "$MAP" 2>"$T/badcsv.err" && fail "a broken CSV was accepted"
grep -q "bad.csv: line 2" "$T/badcsv.err" || fail "broken CSV: $(cat "$T/badcsv.err")"
echo '{"name":"x","deal_size":5}' >"$T/bad.jsonl"
e A accounts import "$T/bad.jsonl" 2>"$T/bad.err" && fail "a deal size was accepted"
grep -q "unknown field 'deal_size'" "$T/bad.err" || fail "bad import: $(cat "$T/bad.err")"

# B shares nothing yet: refused; then both share
e A overlap share "$PA" --level flags --flags customer >/dev/null
e A overlap run "$PA" 2>"$T/refused.err" && fail "a run without B's consent"
grep -q "shares nothing" "$T/refused.err" || fail "refusal: $(cat "$T/refused.err")"
e B overlap share ovlA --level flags --flags customer,opportunity >/dev/null

e A overlap run "$PA" --json >"$T/runA.json" || fail "run"
e B overlap show ovlA --json >"$T/showB.json"
python3 - "$T" <<'PY' || fail "results"
import json, sys
t = sys.argv[1]
a = json.load(open(f"{t}/runA.json"))["result"]
b = json.load(open(f"{t}/showB.json"))["result"]
assert a["matches"] == 20 and b["matches"] == 20, (a["matches"], b["matches"])
assert a["level"] == "flags" and a["flags_revealed"] == ["customer"], a
doms = sorted(x["domain"] for x in a["accounts"])
assert doms == sorted(f"firm{i}.example" for i in range(40, 60)), doms
for x in a["accounts"]:
    i = int(x["domain"][4:-8])
    assert x["partner_flags"] == (["customer"] if i % 5 == 0 else []), x
for x in b["accounts"]:
    i = int(x["domain"][4:-8])
    assert x["partner_flags"] == (["customer"] if i % 3 == 0 else []), x
seg = {(s["mine"], s["partner"]): s["count"] for s in a["segments"]}
assert seg[("customer", "customer")] == len([i for i in range(40, 60) if i % 15 == 0]), seg
assert seg[("any", "any")] == 20
PY
e A overlap show "$PA" --csv >"$T/showA.csv"
[ "$(head -1 "$T/showA.csv" | tr -d '\r')" = "name,domain,country,flags,partner_flags" ] || fail "csv header"
[ "$(grep -c 'firm4[0-9].example' "$T/showA.csv")" = 10 ] || fail "csv rows"
OBJ=$(e A overlap seed "$PA" firm45.example --type opportunity 2>/dev/null) || fail "seed"
e A object show "$OBJ" --json | grep -q "Firm 45 Ltd" || fail "seeded object"

e A log --json >"$T/logA.json"
e B log --json >"$T/logB.json"
RUN=$(python3 -c "import json;print(json.load(open('$T/runA.json'))['run']['id'])")
grep -q "run=$RUN" "$T/logA.json" || fail "A's log lacks the run"
grep -q "run=$RUN" "$T/logB.json" || fail "B's log lacks the run"
# the new entries (partner_added, overlap_share, overlap_run) verify offline
e B audit export --out "$T/B.audit" >/dev/null
"$ENTENTE" audit verify "$T/B.audit" --json | grep -q '"ok":true' || fail "B's audit export does not verify"
nodes_stop_all

has() { grep -a -i -F -q -- "$1" "$2"; }
# positive controls
found=0
for f in "$T/A/db/"*; do has "$CAN" "$f" && found=1; done
[ $found = 1 ] || fail "the canary is not even in A's own database"
[ -s "$T/A.wire" ] && [ -s "$T/B.wire" ] || fail "no wire dumps"
# both dumps hold OVERLAP messages ([20, ...]: 0x96 0x14) both ways
python3 - "$T" <<'PY' || fail "the wire dumps lack OVERLAP traffic"
import struct, sys
for n in "AB":
    b = open(f"{sys.argv[1]}/{n}.wire", "rb").read()
    i, kinds = 0, {"S": set(), "R": set()}
    while i + 5 <= len(b):
        d, ln = chr(b[i]), struct.unpack(">I", b[i + 1:i + 5])[0]
        m = b[i + 5:i + 5 + ln]
        if m[:2] == b"\x96\x14":
            kinds[d].add(m[2])
        i += 5 + ln
    # OPEN or ACCEPT, BLINDED (4), DOUBLED (5), FLAGS (6), each way
    assert {4, 5, 6} <= kinds["S"] and {4, 5, 6} <= kinds["R"], (n, kinds)
PY
has "firm45" "$T/runA.json" || fail "A's result lacks a match"
# the canary: nowhere it must not be
for n in A B; do
    for what in "$CAN" "Qwyx"; do
        has "$what" "$T/$n.wire" && fail "$what in $n's wire dump"
        has "$what" "$T/$n.log" && fail "$what in $n's log"
    done
done
for f in "$T/B/db/"*; do has "$CAN" "$f" && fail "canary in B's database ($f)"; done
for f in runA.json showA.csv showB.json logA.json logB.json B.audit; do
    has "$CAN" "$T/$f" && fail "canary in $f"
done
echo "overlap: ok (20 matches, flags masked, canary absent from wire, logs, B's database and every result)"
