#!/usr/bin/env bash
# node/web/build.sh [OUTDIR] - builds the web page's bundle (spec/web.md)
# from node/web/src with the npm packages pinned in package-lock.json:
# `npm ci` when node_modules is missing (Node.js and npm from Debian when
# missing), then esbuild (one ES module, minified, no source map, no
# build-dependent names, so the same sources and lock give the same
# bytes). Writes OUTDIR/index.html, app.js, app.css (default
# node/web/dist, the files web.c embeds).
set -euo pipefail
cd "$(dirname "$0")"
OUT=${1:-dist}
if ! command -v npm >/dev/null 2>&1; then
    echo "installing nodejs npm" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
# npm ci when node_modules is missing or older than the lock
[ node_modules/.package-lock.json -nt package-lock.json ] ||
    npm ci --no-audit --no-fund --loglevel=error >&2
mkdir -p "$OUT"
node_modules/.bin/esbuild src/main.js --bundle --format=esm --minify \
    --target=es2020 --legal-comments=none --charset=utf8 \
    --log-level=warning --outfile="$OUT/app.js"
node_modules/.bin/esbuild src/app.css --bundle --minify \
    --log-level=warning --outfile="$OUT/app.css"
cp src/index.html "$OUT/index.html"
