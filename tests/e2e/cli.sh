#!/usr/bin/env bash
# tests/e2e/cli.sh - the command line as people use it, on two real nodes:
# `object list` (title, stage, date; --type, --stage, --sort, --limit),
# object ids by unambiguous prefix in every command that takes one, one
# encoding per kind of value (RFC 3339 times, base32 orgs, names or null)
# in --json and local dates and names in text, and no trailing blanks.
# Needs $ENTENTE (the binary under test) and python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init cli
export TZ=UTC

# no_blank_ends FILE: no line of FILE ends in a blank.
no_blank_ends() { ! grep -n ' $' "$1" || fail "trailing blank in $1"; }
ISO='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'

# in_tty CMD...: runs CMD with a terminal as standard output (a pty);
# its output in $T/tty.out, its exit status as ours.
in_tty() {
    python3 - "$T/tty.out" "$@" <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
open(sys.argv[1], "wb").write(out)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
PY
}

# ---- the command line itself ----------------------------------------------------
"$ENTENTE" --version | grep -qE '^entente [0-9]+\.[0-9]+\.[0-9]+ \(wire protocol [0-9]+, op records [0-9]+, audit exports [0-9]+\)$' ||
    fail "--version: $("$ENTENTE" --version 2>&1)"
expect_exit 1 "$ENTENTE" status --home "$T/nohome"
expect_err "entente: status: $T/nohome: no such home (create one with: entente init --name NAME)"
mkdir "$T/empty"
expect_exit 1 "$ENTENTE" --home "$T/empty" object list
expect_err "entente: object list: $T/empty: not an entente home (no identity.key"
expect_exit 2 "$ENTENTE" object frobnicate
expect_err "entente: object: unknown command 'frobnicate'"
grep -qE '^  create +create a joint object$' "$T/err" || fail "object frobnicate lists no commands: $(cat "$T/err")"
expect_exit 2 "$ENTENTE" help object frobnicate
expect_err "entente: object: unknown command 'frobnicate'"
expect_exit 2 "$ENTENTE" help --json
expect_err "entente: help: --json: \`entente help\` has no JSON output"
expect_exit 2 "$ENTENTE" object --json
expect_exit 2 "$ENTENTE" --bogus status
expect_err "entente: unknown option --bogus before the command"
expect_exit 2 "$ENTENTE" --home
expect_err "entente: option --home needs a value"
! "$ENTENTE" help --help | grep -q -- '--json' || fail "help --help offers --json"
"$ENTENTE" status --help | grep -q -- '--json' || fail "status --help lacks --json"

# errors say the real rule
expect_exit 1 "$ENTENTE" init --home "$T/x" --name X --listen localhost:7411
expect_err "entente: init: invalid listen address 'localhost:7411': localhost is a name, and names are not resolved"
expect_exit 1 "$ENTENTE" init --home "$T/x" --name X --listen 127.0.0.1
expect_err "no port: want HOST:PORT"
expect_exit 1 "$ENTENTE" init --home "$T/x" --name "$(head -c 65 /dev/zero | tr '\0' n)"
expect_err "invalid name: 65 bytes, want 1 to 64"
[ ! -e "$T/x" ] || fail "a refused init left $T/x"

node_start A
node_start B
ORG_A=$(node_org A)
ORG_B=$(node_org B)

# global options before the command word; one given after it wins
[ "$("$ENTENTE" --home "$T/A" status --json | py 'd["org"]')" = "$ORG_A" ] || fail "--home before status"
[ "$("$ENTENTE" --json --home="$T/A" status | py 'd["org"]')" = "$ORG_A" ] || fail "--json --home= before status"
[ "$("$ENTENTE" --home "$T/B" status --home "$T/A" --json | py 'd["org"]')" = "$ORG_A" ] ||
    fail "--home after the command does not win"
"$ENTENTE" --log-level debug --home "$T/A" status >/dev/null || fail "--log-level before status"

# audit export: never binary to a terminal; --json needs --out
st=0
in_tty "$ENTENTE" audit export --home "$T/A" || st=$?
[ "$st" = 2 ] || fail "export to a terminal exited $st"
grep -q "refusing to write the binary export to a terminal" "$T/tty.out" || fail "export to a tty: $(cat "$T/tty.out")"
! grep -qa "entente-audit" "$T/tty.out" || fail "binary export written to a terminal"
e A audit export >"$T/piped.audit" || fail "export to a pipe"
e A audit verify "$T/piped.audit" >/dev/null || fail "verify the piped export"
expect_exit 2 e A audit export --json
expect_err "--json needs --out FILE"

# ---- object list ------------------------------------------------------------------
O1=$(e A object create --type opportunity --set name="Contoso ERP" --set close_date=2027-03-31)
O2=$(e A object create --type opportunity --set name="Beta deal" --set close_date=2026-01-15 \
    --set stage="Closed Won")
O3=$(e A object create --type lead --set company=Initech)
e A object list >"$T/list.txt"
no_blank_ends "$T/list.txt"
head -1 "$T/list.txt" | grep -qE '^ID +TYPE +STAGE +DATE +TITLE$' || fail "list header: $(cat "$T/list.txt")"
grep -qE "^${O1:0:12} +opportunity +Prospecting +2027-03-31 +Contoso ERP$" "$T/list.txt" ||
    fail "list row: $(cat "$T/list.txt")"
grep -qE "^${O3:0:12} +lead +- +- +Initech$" "$T/list.txt" || fail "lead row: $(cat "$T/list.txt")"
[ "$(e A object list --sort -date --json | py '[o["title"] for o in d]')" = \
    "['Contoso ERP', 'Beta deal', 'Initech']" ] || fail "--sort -date"
[ "$(e A object list --sort date --limit 1 --json | py '[o["date"] for o in d]')" = "['2026-01-15']" ] ||
    fail "--sort date --limit 1"
[ "$(e A object list --stage 'closed won' --json | py '[o["id"] for o in d]')" = "['$O2']" ] ||
    fail "--stage 'closed won'"
[ "$(e A object list --type lead --json | py '[(o["title"], o["stage"], o["date"]) for o in d]')" = \
    "[('Initech', None, None)]" ] || fail "--type lead"
expect_exit 2 e A object list --sort size
expect_err "--sort wants id, title, stage, date or type"
expect_exit 2 e A object list --limit 0
expect_err "--limit wants a number"

expect_exit 1 e A object stage "$O3" Won
expect_err 'entente: object stage: stage "Won" of lead is not one of: "New", "Working", "Qualified", "Converted", "Disqualified"'
expect_exit 1 e A object comment "$O3" "$(head -c 4097 /dev/zero | tr '\0' c)"
expect_err "entente: object comment: comment is 4097 bytes; a comment is at most 4096 bytes"
[ "$(e A object show "$O3" --json | py 'len(d["comments"])')" = 0 ] || fail "a refused comment was kept"

# ---- ids by prefix, in every command that takes one --------------------------------
P1=${O1:0:8}
[ "$(e A object show "$P1" --json | py 'd["id"]')" = "$O1" ] || fail "show by prefix"
[ "$(e A object show "$(echo "$P1" | tr a-f A-F)" --json | py 'd["id"]')" = "$O1" ] ||
    fail "show by upper-case prefix"
e A object set "$P1" --set next_step="Workshop"
e A object stage "$P1" negotiation
e A object comment "$P1" "by prefix"
e A object show "$O1" --json >"$T/o1.json"
[ "$(py '(d["shared"]["next_step"], d["shared"]["stage"], d["comments"][0]["text"])' <"$T/o1.json")" = \
    "('Workshop', 'Negotiation', 'by prefix')" ] || fail "set/stage/comment by prefix: $(cat "$T/o1.json")"
expect_exit 1 e A object show 12
expect_err "object id prefix '12' is too short: give at least 4 hex characters"
expect_exit 1 e A object show nothex
expect_err "invalid object id 'nothex'"
# an unknown prefix: a 6-digit prefix no listed id starts with
for p in 000000 111111 222222 333333; do
    case "$O1 $O2 $O3" in *"$p"*) continue ;; esac
    NOPE=$p
    break
done
expect_exit 1 e A object show "$NOPE"
expect_err "no object has an id starting with $NOPE"
# (an ambiguous prefix needs two ids that share 4 digits: cli_print_test
# checks what the CLI makes of the node's candidates)
TOK=$(e A invite "$P1" --ttl 1h)
J=$(e B join "$TOK" 2>"$T/join.err") || fail "join: $(cat "$T/join.err")"
[ "$J" = "$O1" ] || fail "joined $J, want $O1"
e A object key "$P1" >"$T/key.txt"
grep -q "^$O1:" "$T/key.txt" || fail "object key by prefix: $(cat "$T/key.txt")"
e A audit export --object "$P1" --out "$T/o1.audit" >/dev/null
e A audit verify "$T/o1.audit" --key "${P1}:$(cut -d: -f2 "$T/key.txt")" --json >"$T/v.json"
[ "$(py 'd["object"] == "'"$O1"'" and len(d["history"]) > 0' <"$T/v.json")" = True ] ||
    fail "verify --key by prefix: $(cat "$T/v.json")"
expect_exit 1 e A audit verify "$T/o1.audit" --key "$NOPE:$(cut -d: -f2 "$T/key.txt")"
expect_err "no object of the export has an id starting with $NOPE"
e A member remove "$P1" "$ORG_B"
[ "$(e A object show "$O1" --json | py '[m["status"] for m in d["members"] if m["org"]=="'"$ORG_B"'"]')" = \
    "['removed']" ] || fail "member remove by prefix"

# ---- one encoding per kind of value -------------------------------------------------
e A log --json >"$T/log.json"
python3 - "$T/log.json" "$ORG_A" "$ORG_B" <<'PY' || fail "log JSON: $(cat "$T/log.json")"
import json, re, sys
d = json.load(open(sys.argv[1]))
iso = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
for e in d["entries"]:
    assert iso.match(e["time"]), e
    assert e["org"] in (None, sys.argv[2], sys.argv[3]), e  # base32, not hex
    assert (e["name"] is None) == (e["org"] is None), e
    assert e["name"] in (None, "A", "B"), e
PY
e A log >"$T/log.txt"
no_blank_ends "$T/log.txt"
grep -qE '^ +0  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}  op_authored +obj [0-9a-f]{16}  op [0-9a-f]{16}  A$' \
    "$T/log.txt" || fail "log text: $(head -3 "$T/log.txt")"
e A invite "$O2" --json | py 'd["expires"]' | grep -qE "$ISO" || fail "invite expires"
e A peers --json >"$T/peers.json"
[ "$(py '[(p["org"], p["name"]) for p in d]' <"$T/peers.json")" = "[('$ORG_B', 'B')]" ] ||
    fail "peers names: $(cat "$T/peers.json")"
py 'd[0]["last_seen"]' <"$T/peers.json" | grep -qE "$ISO" || fail "peers last_seen: $(cat "$T/peers.json")"
e A peers >"$T/peers.txt"
no_blank_ends "$T/peers.txt"
grep -qE '^  last seen: +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' "$T/peers.txt" ||
    fail "peers text: $(cat "$T/peers.txt")"
e B object show "$O1" --json | py '[(m["org"] == "'"$ORG_A"'", m["name"]) for m in d["members"] if m["role"]=="owner"]' |
    grep -qx "\[(True, 'A')\]" || fail "B names A"
# ---- every JSON key a command prints is in its help -----------------------------------
# json_of NAME CMD...: runs CMD (with --json) into $T/json/NAME.json.
mkdir "$T/json"
json_of() {
    local name=$1
    shift
    "$@" >"$T/json/$name.json" || fail "$name: $*"
}
json_of init "$ENTENTE" init --home "$T/C" --name C --listen 127.0.0.1:0 --json
json_of status e B status --json # B's join sync is in "syncs" for a minute
json_of peers e A peers --json
json_of object_create e A object create --type opportunity --set name=Keys --json
OK=$(py 'd["id"]' <"$T/json/object_create.json")
json_of object_set e A object set "$OK" --set close_date=2027-01-01 --json
json_of object_stage e A object stage "$OK" proposal --json
json_of object_comment e A object comment "$OK" "keys" --json
json_of object_show e A object show "$OK" --json
json_of object_list e A object list --json
json_of object_key e A object key "$OK" --json
json_of invite e A invite "$OK" --json
json_of join e B join "$(py 'd["token"]' <"$T/json/invite.json")" --json
json_of member_remove e A member remove "$OK" "$ORG_B" --json
json_of template_list e A template list --json
json_of template_show e A template show opportunity --json
json_of template_set e A template set opportunity "$T/json/template_show.json" --json
json_of template_reset e A template reset opportunity --json
json_of config_get e A config get --json
json_of config_set e A config set default_currency EUR --json
json_of config_list e A config list --json
json_of config_show e A config show regions --json
json_of config_set_table e A config set regions EMEA APAC --json # words: config set
json_of invite_list e A invite list --json
json_of invite_inspect e A invite inspect "$(py 'd["token"]' <"$T/json/invite.json")" --json
json_of invite_revoke e A invite revoke "$(e A invite "$OK" --json 2>/dev/null | py 'd["invite_id"]')" --json
OM=$(e A object create --type opportunity --set name=Members)
[ "$(e B join "$(e A invite "$OM" 2>/dev/null)" 2>/dev/null)" = "$OM" ] || fail "B join $OM"
json_of member_list e A member list "$OM" --json
json_of member_role e A member role "$OM" "$ORG_B" viewer --json
wait_for "B to be a viewer" sh -c "'$ENTENTE' member list '$OM' --home '$T/B' --json | grep -q viewer"
json_of member_leave e B member leave "$OM" --json
json_of log e A log --json
json_of audit_export e A audit export --out "$T/all.audit" --json
KEY=$(e A object key "$OK")
json_of audit_verify e A audit verify "$T/all.audit" --key "$KEY" --json
printf 'x' >>"$T/all.audit"
e A audit verify "$T/all.audit" --json >"$T/json/audit_verify_bad.json" 2>/dev/null && fail "a spoilt export verified"
wait_for "B to keep a head of A" sh -c "'$ENTENTE' audit heads --home '$T/B' --json | grep -q '\"head\"'"
json_of audit_heads e B audit heads --json
# people and access (spec/access.md)
json_of user_add sh -c "echo 'Secret-pass-123' | '$ENTENTE' --home '$T/A' user add alice --role rep --attr region=EMEA --password-stdin --json"
json_of user_list e A user list --json
json_of user_show e A user show alice --json
json_of user_set e A user set alice --attr team=north --json
json_of login sh -c "echo 'Secret-pass-123' | '$ENTENTE' --home '$T/A' login --user alice --json"
json_of token_create e A token create --user alice --scopes read,log --expires 1d --json
json_of token_list e A token list --json
json_of token_revoke e A token revoke "$(py 'd["id"]' <"$T/json/token_create.json")" --json
json_of policy_add e A policy add 'allow role=rep read opportunity where region=$user.region' --json
json_of policy_list e A policy list --json
json_of policy_show e A policy show 1 --json
json_of policy_test e A policy test --user alice --action read --type opportunity --value region=EMEA --json
json_of policy_remove e A policy remove 1 --json
# webhooks (spec/webhooks.md): a receiver that is not there
json_of webhook_add e A webhook add "http://127.0.0.1:9/hook" --events 'object.*,fields.changed' --json
WH=$(py 'd["id"]' <"$T/json/webhook_add.json")
json_of webhook_list e A webhook list --json
json_of webhook_show e A webhook show "$WH" --json
json_of webhook_pause e A webhook pause "$WH" --json
json_of webhook_resume e A webhook resume "$WH" --json
json_of webhook_test e A webhook test "$WH" --json
wait_for "a failed delivery in the log" sh -c "'$ENTENTE' webhook deliveries '$WH' --home '$T/A' --json | grep -q '\"event\"'"
json_of webhook_deliveries e A webhook deliveries "$WH" --json
json_of webhook_replay e A webhook replay "$WH" --from "$(py 'd["event"]' <"$T/json/webhook_test.json")" --json
json_of webhook_remove e A webhook remove "$WH" --json
# field maps (spec/reports.md "Field maps")
json_of fieldmap_set e A fieldmap set opportunity opp_title=name --json
json_of fieldmap_show e A fieldmap show opportunity --json
json_of fieldmap_remove e A fieldmap remove opportunity --json
json_of user_disable e A user disable alice --json
json_of user_remove e A user remove alice --json
for f in "$T"/json/*.json; do
    name=$(basename "$f" .json)
    words=$(echo "${name%_bad}" | tr _ ' ')
    "$ENTENTE" $words --help >"$T/help-$name.txt" || fail "$words --help"
    python3 - "$f" "$T/help-$name.txt" "$words" <<'PY' || fail "help of $words lacks JSON keys"
import json, sys
doc = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
missing = set()
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if '"%s"' % k not in text:
                missing.add(k)
            if k in ("shared", "private", "attrs") or (k == "fields" and isinstance(x, dict)):
                continue  # field names are data, not keys
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(doc)
if missing:
    print("entente %s --help lacks %s" % (sys.argv[3], sorted(missing)))
    sys.exit(1)
PY
done
[ "$(py 'len(d["syncs"])' <"$T/json/status.json")" -ge 1 ] || fail "status checked without a sync"
[ "$(py 'len(d["history"])' <"$T/json/audit_verify.json")" -ge 1 ] || fail "verify checked without history"

for f in "$T"/*.txt; do no_blank_ends "$f"; done

nodes_stop_all
echo "cli: ok"
