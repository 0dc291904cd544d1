#!/usr/bin/env bash
# tests/e2e/web.sh - the web page (spec/web.md) in a real browser:
# Playwright (playwright-core from node/web's package-lock) drives
# Debian's headless Chromium against two real nodes on loopback, Acme and
# Globex, each serving the page on its TCP API. First checks that the
# committed bundle is what node/web/build.sh makes from the sources and
# the lock (a reproducible build), then runs tests/e2e/web.test.mjs: the
# user's steps, the privacy canary, the hide-private switch, a viewer,
# the workflow refusal and approval, the report chart, logout. Screenshots
# go to build/web/. Needs $ENTENTE, node, npm and chromium (the Makefile's
# `web-deps` installs them).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init web
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WEB="$ROOT/node/web"
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
[ -n "$CHROMIUM" ] || fail "chromium is not installed (apt-get install chromium)"
command -v node >/dev/null || fail "node is not installed (apt-get install nodejs npm)"

# the bundle embedded in the binary is the one the sources and lock make
"$WEB/build.sh" "$T/dist" || fail "node/web/build.sh"
for f in index.html app.js app.css; do
    cmp -s "$T/dist/$f" "$WEB/dist/$f" ||
        fail "node/web/dist/$f differs from a rebuild (run make web and commit node/web/dist)"
done

SERVE_ARGS=(--api 127.0.0.1:0)
node_init A "Acme"
node_init G "Globex"
node_start A
node_start G
PA=$(e A status --json | py 'd["api_tcp"]')
PG=$(e G status --json | py 'd["api_tcp"]')
GORG=$(node_org G)
printf '%s\n' 'Acme-password-42' | e A user add alice --role admin --password-stdin >/dev/null
printf '%s\n' 'Viewer-password-42' | e A user add vic --role viewer --password-stdin >/dev/null
e A policy add 'allow role=viewer read *' >/dev/null
printf '%s\n' 'Globex-password-42' | e G user add gina --role admin --password-stdin >/dev/null

# an account-mapping partnership: three accounts each, two in common, both
# sharing at level accounts (the page runs the overlap)
AORG=$(node_org A)
e G partner join "$(e A partner invite)" >/dev/null 2>&1 || fail "partner join"
printf '%s\n' '{"name":"Initech","domain":"initech.example","flags":"customer"}' \
    '{"name":"Umbrella","domain":"umbrella.example","flags":"prospect"}' \
    '{"name":"Hooli","domain":"hooli.example"}' >"$T/a.jsonl"
printf '%s\n' '{"name":"Initech Inc","domain":"initech.example"}' \
    '{"name":"Umbrella Corp","domain":"umbrella.example"}' \
    '{"name":"Vandelay","domain":"vandelay.example"}' >"$T/g.jsonl"
e A accounts import "$T/a.jsonl" >/dev/null || fail "A accounts"
e G accounts import "$T/g.jsonl" >/dev/null || fail "G accounts"
e A overlap share "$GORG" --level accounts >/dev/null || fail "A share"
e G overlap share "$AORG" --level accounts >/dev/null || fail "G share"

# what waits in Acme's inbox: an MDF claim, two deal registrations of one
# account and solution and a third of another solution (Acme's own
# program: it is their approver)
PR=$(e A object create --type program --set "name=Co-sell 2030") || fail "program"
e A object create --type deal_registration --set "program=$PR" --set "name=Initech backup" \
    --set "customer_account=Initech Inc" --set "account_domain=initech.example" \
    --set "solution=Cloud Backup" --set "amount=50000 EUR" --set "close_date=2030-06-30" \
    >/dev/null || fail "registration 1"
e A object create --type deal_registration --set "program=$PR" --set "name=Initech backup 2" \
    --set "customer_account=Initech" --set "account_domain=www.initech.example" \
    --set "solution=cloud backup" --set "amount=20000 EUR" >/dev/null || fail "registration 2"
e A object create --type deal_registration --set "program=$PR" --set "name=Initech storage" \
    --set "customer_account=Initech" --set "solution=Storage" >/dev/null || fail "registration 3"
B=$(e A object create --type mdf_budget --set "name=FY27 EMEA" --set "amount=1000 EUR") || fail "budget"
RQ=$(e A object create --type mdf_request --set "name=Q3 roadshow" --set "budget=$B" \
    --set "amount_requested=600 EUR") || fail "request"
e A object stage "$RQ" Submitted >/dev/null
e A object set "$RQ" --set "amount_approved=500 EUR" >/dev/null
e A object stage "$RQ" Approved >/dev/null
e A object set "$RQ" --set "amount_claimed=450 EUR" \
    --set "proof_of_performance=roadshow-photos.zip" >/dev/null
e A object stage "$RQ" Claimed >/dev/null
[ "$(e A inbox --json | py 'len(d["claims"]) * 10 + len(d["registrations"])')" = 13 ] ||
    fail "Acme's inbox: $(e A inbox --json)"

mkdir -p "$ROOT/build/web"
start=$(date +%s%N)
ACME="http://$PA" GLOBEX="http://$PG" GLOBEX_ORG="$GORG" CHROMIUM="$CHROMIUM" \
    SHOTS="$ROOT/build/web" WEB="$WEB" \
    node "$ROOT/tests/e2e/web.test.mjs" || fail "web.test.mjs"
echo "web: browser steps took $((($(date +%s%N) - start) / 1000000)) ms"
nodes_stop_all
echo "web: ok"
