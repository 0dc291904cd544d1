#!/usr/bin/env bash
# tests/demo.sh - `make demo`: three companies work one joint opportunity.
#
# A software vendor (Acme Software), a systems integrator (Globex Consulting)
# and a cloud provider (Initech Cloud) each run their own node on loopback in
# a temporary folder. Acme creates an opportunity, invites the other two, both
# join; each company edits shared fields and its own private fields; each
# company's view is printed; then Acme removes Initech and a later edit does
# not reach it. Uses $ENTENTE (default ./entente); cleans up everything.
set -euo pipefail
ENTENTE=${ENTENTE:-./entente}
export ENTENTE_DIAL_BASE_MS=${ENTENTE_DIAL_BASE_MS:-100}
work=$(mktemp -d "${TMPDIR:-/tmp}/entente-demo.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
e() { "$ENTENTE" "$@"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval("d"+sys.argv[1]))' "$1"; }

start() { # NAME DIR
    e init --home "$work/$2" --name "$1" --listen 127.0.0.1:0 >/dev/null
    # the binary itself in the background, not the function e: $! must be
    # the node, not a subshell that the clean-up would kill in its place
    "$ENTENTE" serve --home "$work/$2" --log-level warn >/dev/null &
    pids+=($!)
    e status --home "$work/$2" --wait=15s >/dev/null && return 0
    echo "demo: the node of $1 did not come up" >&2
    return 1
}

shared_of() { e object show "$obj" --home "$work/$1" --json | jget '["shared"]'; }

wait_for() { # DIR PYTHON-EXPR-ON-d  (bounded wait for a condition on show --json)
    for _ in $(seq 1 150); do
        if e object show "$obj" --home "$work/$1" --json 2>/dev/null |
            python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if ('"$2"') else 1)'; then
            return 0
        fi
        sleep 0.1
    done
    echo "demo: timed out waiting on $1 for: $2" >&2
    return 1
}

bold "Three companies start their own nodes"
start "Acme Software" acme
start "Globex Consulting" globex
start "Initech Cloud" initech
for c in acme globex initech; do e status --home "$work/$c"; echo; done

bold "Acme creates a joint opportunity (deal size and notes stay private)"
obj=$(e object create --home "$work/acme" --type opportunity \
    --set name="Contoso ERP migration" --set customer_account="Contoso Ltd" \
    --set close_date=2027-03-31 --set next_step="Discovery workshop" \
    --private deal_size="1200000 EUR" --private internal_notes="Acme margin 32%")
echo "object $obj"

bold "Acme invites Globex (member) and Initech (member); both join"
tok_g=$(e invite "$obj" --home "$work/acme" --role member --ttl 1h)
tok_i=$(e invite "$obj" --home "$work/acme" --role member --ttl 1h)
echo "token for Globex: ${tok_g:0:40}..."
e join "$tok_g" --home "$work/globex"
e join "$tok_i" --home "$work/initech"

bold "Each company edits shared fields and its own private fields"
e object set "$obj" --home "$work/globex" --set next_step="Globex runs the discovery workshop" \
    --private deal_size="350000 EUR" --private internal_notes="Globex: staff 4 consultants"
e object set "$obj" --home "$work/initech" --set stage=Qualification \
    --private internal_notes="Initech: offer migration credits"
e object set "$obj" --home "$work/acme" --set close_date=2027-04-30
wait_for acme 'd["shared"].get("stage")=="Qualification" and d["shared"].get("next_step","").startswith("Globex")'
wait_for globex 'd["shared"].get("close_date")=="2027-04-30" and d["shared"].get("stage")=="Qualification"'
wait_for initech 'd["shared"].get("close_date")=="2027-04-30" and d["shared"].get("next_step","").startswith("Globex")'

for c in acme globex initech; do
    bold "What $c sees"
    e object show "$obj" --home "$work/$c"
done

a=$(shared_of acme); g=$(shared_of globex); i=$(shared_of initech)
if [ "$a" = "$g" ] && [ "$g" = "$i" ]; then
    echo; echo "shared fields agree on all three nodes"
else
    echo "demo: shared fields differ" >&2; exit 1
fi

bold "Screen sharing: Globex shows the object with --hide-private"
e object show "$obj" --home "$work/globex" --hide-private

bold "Acme removes Initech; the object moves to a new epoch"
initech_org=$(e status --home "$work/initech" --json | jget '["org"]')
e member remove "$obj" "$initech_org" --home "$work/acme"
wait_for globex 'd["epoch"] >= 1'
e object set "$obj" --home "$work/acme" --set next_step="Contract review (after Initech left)"
wait_for globex 'd["shared"].get("next_step")=="Contract review (after Initech left)"'
sleep 1
echo "Globex sees:  next_step = $(e object show "$obj" --home "$work/globex" --json | jget '["shared"]["next_step"]')"
echo "Initech sees: next_step = $(e object show "$obj" --home "$work/initech" --json | jget '["shared"].get("next_step")')"
if e object show "$obj" --home "$work/initech" --json | grep -q "after Initech left"; then
    echo "demo: the removed member received a later edit" >&2; exit 1
fi
echo "the later edit did not reach Initech"

bold "Peers of Acme"
e peers --home "$work/acme"
echo
echo "demo: done"
