#!/usr/bin/env bash
# tests/quiet.sh WHAT CMD... - runs CMD (a build step of `make test`) with its
# output held back: one line "WHAT: ok (N s)" when it succeeds; its whole
# output, then "WHAT: failed (exit N)", when it fails, with CMD's exit
# status. With V set (make V=1) CMD runs as it is, output and all.
set -u
what=$1
shift
if [ -n "${V:-}" ] && [ "${V:-}" != 0 ]; then
    exec "$@"
fi
log=$(mktemp "${TMPDIR:-/tmp}/entente-quiet.XXXXXX")
trap 'rm -f "$log"' EXIT
t0=$SECONDS
st=0
"$@" >"$log" 2>&1 || st=$?
if [ $st -eq 0 ]; then
    echo "$what: ok ($((SECONDS - t0)) s)"
else
    cat "$log"
    echo "$what: failed (exit $st)"
fi
exit $st
