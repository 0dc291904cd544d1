#!/usr/bin/env bash
# tests/demo.sh - `make demo`: start a node in a temporary home and show it.
# Uses $ENTENTE (default ./entente). Cleans up its processes and folders.
set -euo pipefail
ENTENTE=${ENTENTE:-./entente}
work=$(mktemp -d "${TMPDIR:-/tmp}/entente-demo.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

wait_up() { # HOME
    for _ in $(seq 1 100); do
        "$ENTENTE" status --home "$1" --json >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "demo: node in $1 did not come up" >&2
    return 1
}

say "Acme Software creates its node"
"$ENTENTE" init --home "$work/acme" --name "Acme Software"
"$ENTENTE" serve --home "$work/acme" --listen 127.0.0.1:0 --log-level warn &
pids+=($!)
wait_up "$work/acme"

say "entente status"
"$ENTENTE" status --home "$work/acme"
say "entente status --json"
"$ENTENTE" status --home "$work/acme" --json

say "stopping the node"
kill -TERM "${pids[0]}"
wait "${pids[0]}"
pids=()
echo "demo: done"
