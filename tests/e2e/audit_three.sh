#!/usr/bin/env bash
# tests/e2e/audit_three.sh - the activity log of three real nodes, end to
# end (spec/audit.md §7-§13): A creates an object and invites B and C, both
# join, all three edit; A's log shows invite_issued (one per invite, written
# with the invite record), invite_used (one per join), op_authored and
# member_added entries; every node exports its log, the nodes are stopped,
# and every export verifies offline (with its own --org; another org's is
# refused); the head of A that B kept as a witness verifies against A's
# export (--witness), also from a file that holds B's and C's heads too
# (skipped), and against A's export of the object alone; one flipped byte in
# A's export fails at that entry;
# A's object key discloses the object's shared history to the auditor
# (--key), and without the key no field value appears. Needs $ENTENTE.
set -euo pipefail
export ENTENTE_DIAL_BASE_MS=100
export ENTENTE_SYNC_MS=500
. "$(dirname "$0")/lib.sh"
WAIT_SECONDS=20

lib_init audit3
for n in A B C; do
    node_init $n "$n Corp"
    node_start $n
done
declare -A ORG # org ids as printed by status, log and heads (base32)
for n in A B C; do
    ORG[$n]=$(node_org $n)
done

ID=$(e A object create --type opportunity --set "name=Globex ERP DISCLOSE-3391" \
    --set customer_account=Globex --private "internal_notes=CANARY-PRIV-5120" --json |
    py 'd["id"]')

# ---- invites and joins ---------------------------------------------------------
TOK_B=$(e A invite "$ID")
TOK_C=$(e A invite "$ID" --role member --ttl 1h)
J=$(e B join "$TOK_B" 2>"$T/joinB.err") || fail "B join: $(cat "$T/joinB.err")"
[ "$J" = "$ID" ] || fail "B joined '$J', want $ID"
J=$(e C join "$TOK_C" 2>"$T/joinC.err") || fail "C join: $(cat "$T/joinC.err")"
[ "$J" = "$ID" ] || fail "C joined '$J', want $ID"

# ---- edits by all three ---------------------------------------------------------
e A object set "$ID" --set close_date=2026-03-31
e B object set "$ID" --set customer_account=Globex-EU-7702
e C object set "$ID" --set stage=Proposal
# all three edits on A (they only add), then the same on B and C
converged() {
    local a
    a=$(shared A "$ID") || return 1
    echo "$a" | grep -q 2026-03-31 && echo "$a" | grep -q Globex-EU-7702 &&
        echo "$a" | grep -q Proposal && same_shared "$ID" A B C
}
wait_for "the three shared states to converge" converged

# ---- A's log: the invite entries -------------------------------------------------
e A log --json >"$T/logA.json"
python3 - "$T/logA.json" "$ID" "${ORG[B]}" "${ORG[C]}" "${ORG[A]}" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
obj, org_b, org_c, org_a = sys.argv[2:6]
ents = d["entries"]
assert d["size"] == len(ents), ("size", d["size"], len(ents))
kinds = [x["kind"] for x in ents]
def of(k): return [x for x in ents if x["kind"] == k]
iss, used = of("invite_issued"), of("invite_used")
assert len(iss) == 2, ("invite_issued", kinds)
assert len(used) == 2, ("invite_used", kinds)
for x in iss:
    assert x["object"] == obj, x
    assert not x.get("op") and not x.get("org"), ("issued names op/org", x)
assert sorted(x["org"] for x in used) == sorted([org_b, org_c]), used
assert all(x["object"] == obj for x in used), used
# every invite is logged before it is used; B's join before C's
assert kinds.index("invite_issued") < kinds.index("invite_used"), kinds
assert [x["index"] for x in iss][1] < [x["index"] for x in used][0], kinds
assert [x["org"] for x in used] == [org_b, org_c], used
auth = of("op_authored")
assert len(auth) >= 2 and all(x["org"] == org_a for x in auth), auth
added = sorted(x["org"] for x in of("member_added"))
assert added == sorted([org_b, org_c]), ("member_added", added)
# one encoding per kind of value: RFC 3339 times, base32 orgs with names
import re
assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", x["time"])
           for x in ents), [x["time"] for x in ents]
assert [x["time"] for x in ents] == sorted(x["time"] for x in ents), "times"
assert [x["name"] for x in used] == ["B Corp", "C Corp"], used
assert all(x["name"] == "A Corp" for x in auth), auth
assert all(x["name"] is None for x in iss), iss
# B's and C's edits arrived as accepted ops
acc = set(x["org"] for x in of("op_accepted"))
assert {org_b, org_c} <= acc, ("op_accepted", acc)
assert [x["index"] for x in ents] == list(range(len(ents)))
PY
    fail "A's log: $(cat "$T/logA.json")"
e B log --json | py '[x["kind"] for x in d["entries"]].count("invite_issued")' | grep -qx 0 ||
    fail "B logged an invite it did not issue"

# ---- B keeps A's signed heads as a witness ----------------------------------------
# wait until B holds a head of A covering at least the invites and joins
MIN=$(py 'max(x["index"] for x in d["entries"] if x["kind"]=="invite_used") + 1' <"$T/logA.json")
b_has_head() {
    e B audit heads --org "${ORG[A]}" --json >"$T/headsB.json" 2>/dev/null || return 1
    py "len([h for h in d['heads'] if h['org']=='${ORG[A]}' and h['size']>=$MIN])>0" \
        <"$T/headsB.json" | grep -qx True
}
wait_for "B to witness a head of A of size >= $MIN" b_has_head
cp "$T/headsB.json" "$T/witness.json"
# a file with heads of three orgs: B's kept head of A, and A's kept heads
# of B and C
a_has_two() {
    e A audit heads --json >"$T/headsA.json" 2>/dev/null || return 1
    py "len(d['heads'])>=2" <"$T/headsA.json" | grep -qx True
}
wait_for "A to witness heads of B and C" a_has_two
python3 - "$T/witness.json" "$T/headsA.json" "$T/allheads.json" <<'PY'
import json, sys
w, a = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
json.dump({"heads": a["heads"] + w["heads"]}, open(sys.argv[3], "w"))
PY

# ---- exports, the disclosure key, then stop -----------------------------------------
for n in A B C; do
    e $n audit export --out "$T/$n.audit" >/dev/null || fail "$n audit export"
done
e A audit export --object "$ID" --out "$T/A.obj.audit" >/dev/null ||
    fail "A audit export --object"
KEY=$(e A object key "$ID")
case "$KEY" in "$ID":?*) ;; *) fail "object key printed '$KEY'" ;; esac
st=0
e B object key "$ID" >/dev/null 2>"$T/err" || st=$?
[ "$st" -eq 1 ] || fail "a plain member got the object key (exit $st)"
for n in A B C; do node_stop $n; done

# ---- offline verification ------------------------------------------------------------
for n in A B C; do
    e $n audit verify "$T/$n.audit" --json >"$T/v$n.json" || fail "$n export: $(cat "$T/v$n.json")"
    [ "$(py 'd["ok"]' <"$T/v$n.json")" = True ] || fail "$n not ok: $(cat "$T/v$n.json")"
    e $n audit verify "$T/$n.audit" --org "${ORG[$n]}" --json >"$T/v$n.json" ||
        fail "$n export --org: $(cat "$T/v$n.json")"
    [ "$(py 'd["org"]' <"$T/v$n.json")" = "${ORG[$n]}" ] || fail "$n org: $(cat "$T/v$n.json")"
    [ "$(py 'd["entries"]' <"$T/v$n.json")" -ge 4 ] || fail "$n entries: $(cat "$T/v$n.json")"
    for m in A B C; do
        [ $m = $n ] && continue
        st=0
        e $n audit verify "$T/$n.audit" --org "${ORG[$m]}" --json >"$T/x.json" 2>/dev/null || st=$?
        [ "$st" -eq 1 ] || fail "$n's export with $m's org exited $st"
        [ "$(py 'd["ok"]' <"$T/x.json")" = False ] || fail "$n/$m: $(cat "$T/x.json")"
    done
done
# A's export holds every entry A's log listed (and maybe a few later ones)
[ "$(py 'd["entries"]' <"$T/vA.json")" -ge "$(py 'd["size"]' <"$T/logA.json")" ] ||
    fail "A's export is shorter than its log"

# B's witness heads against A's export
e A audit verify "$T/A.audit" --witness "$T/witness.json" --json >"$T/w.json" ||
    fail "witness: $(cat "$T/w.json")"
[ "$(py 'd["ok"]' <"$T/w.json")" = True ] || fail "witness: $(cat "$T/w.json")"
[ "$(py 'd["witnessed"]' <"$T/w.json")" -ge 1 ] || fail "no head witnessed: $(cat "$T/w.json")"
# ...and a kept head whose root was altered (a rewritten log) fails
python3 - "$T/witness.json" "$T/forged.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
h = d["heads"][0]
raw = bytearray.fromhex(h["head"])
i = raw.find(bytes.fromhex(h["root"]))
assert i > 0
raw[i] ^= 1
h["head"] = raw.hex()
r = bytearray.fromhex(h["root"]); r[0] ^= 1; h["root"] = r.hex()
json.dump(d, open(sys.argv[2], "w"))
PY
st=0
e A audit verify "$T/A.audit" --witness "$T/forged.json" --json >"$T/x.json" 2>/dev/null || st=$?
[ "$st" -eq 1 ] || fail "an altered witness head passed (exit $st): $(cat "$T/x.json")"
[ "$(py 'd["error"]' <"$T/x.json")" = ENT_EBADSIG ] || fail "altered head: $(cat "$T/x.json")"
# heads of three orgs: A's is used, B's and C's are skipped; for the whole log and
# for the object's export, which must hold every entry of the object up to
# that head
for f in A.audit A.obj.audit; do
    e A audit verify "$T/$f" --witness "$T/allheads.json" --json >"$T/w2.json" ||
        fail "witness (all heads), $f: $(cat "$T/w2.json")"
    [ "$(py 'd["witnessed"]' <"$T/w2.json")" -eq 1 ] ||
        fail "witnessed, $f: $(cat "$T/w2.json")"
done
[ "$(py 'd["object"]' <"$T/w2.json")" = "$ID" ] || fail "object export: $(cat "$T/w2.json")"
# A's heads vouch for nothing in C's export
st=0
e C audit verify "$T/C.audit" --witness "$T/witness.json" --json >"$T/x.json" 2>/dev/null || st=$?
[ "$st" -eq 1 ] || fail "A's witness heads passed against C's export (exit $st)"

# one flipped byte inside entry 1 of A's export
python3 - "$T/A.audit" "$T/flipped.audit" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = b.find(bytes([0x8b, 0x03, 0x01]))   # entry [3, 1, time, ...]
assert i > 0, "entry 1 not found"
b[i + 4] ^= 0x01                         # inside its time field
open(sys.argv[2], "wb").write(bytes(b))
PY
st=0
e A audit verify "$T/flipped.audit" --json >"$T/f.json" 2>"$T/err" || st=$?
[ "$st" -eq 1 ] || fail "flipped export exited $st"
[ "$(py 'd["ok"]' <"$T/f.json")" = False ] || fail "flipped: $(cat "$T/f.json")"
[ "$(py 'd["entry"]' <"$T/f.json")" = 1 ] || fail "flipped names no entry 1: $(cat "$T/f.json")"
grep -q "entry 1" "$T/err" || fail "stderr lacks the entry: $(cat "$T/err")"

# ---- selective disclosure ----------------------------------------------------------------
e A audit verify "$T/A.audit" --json >"$T/nokey.json"
for v in DISCLOSE-3391 Globex-EU-7702 2026-03-31 CANARY-PRIV; do
    grep -q -- "$v" "$T/nokey.json" && fail "$v visible without a key"
    grep -q -a -- "$v" "$T/A.audit" && fail "$v in clear in the export file"
done
e A audit verify "$T/A.audit" --key "$KEY" --json >"$T/key.json" ||
    fail "verify --key $KEY: $(cat "$T/key.json")"
python3 - "$T/key.json" "$ID" "${ORG[A]}" "${ORG[B]}" "${ORG[C]}" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
obj, a, b, c = sys.argv[2:6]
assert d["ok"] is True
h = d["history"]
assert d["undisclosed"] == [] or d["undisclosed"] == 0, d["undisclosed"]
s = json.dumps(h)
for v in ("DISCLOSE-3391", "Globex-EU-7702", "2026-03-31", "Proposal"):
    assert v in s, (v, h)
assert "CANARY-PRIV" not in json.dumps(d), "a private field was disclosed"
authors = set(x["author"] for x in h)
assert {a, b, c} <= authors, authors
times = [x["time"] for x in h]
assert times == sorted(times), times
PY
    fail "disclosed history: $(cat "$T/key.json")"
# a wrong key discloses nothing
BAD="$ID:$(printf '%064d' 0)"
st=0
e A audit verify "$T/A.audit" --key "$BAD" --json >"$T/bad.json" 2>/dev/null || st=$?
[ "$st" -eq 0 ] || fail "verify with a wrong key exited $st"
grep -q DISCLOSE-3391 "$T/bad.json" && fail "a wrong key disclosed the history"
[ "$(py '(len(d["history"]), d["undisclosed"])' <"$T/bad.json")" = "(0, $(py 'len(d["history"])' <"$T/key.json"))" ] ||
    fail "wrong key: $(cat "$T/bad.json")"

echo "audit_three.sh: ok (invite_issued x2, invite_used x2; 3 exports verified; witness, flipped byte, disclosure checked)"
