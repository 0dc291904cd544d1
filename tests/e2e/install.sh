#!/usr/bin/env bash
# tests/e2e/install.sh - `make install` (spec/operations.md §1).
#
# Installs $ENTENTE into a DESTDIR with PREFIX=/usr and checks the tree
# file by file: the binary runs; one manual page per name `entente man
# --list` gives, each rendered by man(1) without a warning and holding the
# usage line its --help prints (the pages come from the same table, so a
# drift fails here); the unit has the hardening the spec lists and no
# placeholder left; the sysusers.d file and the sample configuration. Then
# installs under a PREFIX inside the test folder and, where systemd is
# present, `systemd-analyze verify` must pass without a word. Needs
# $ENTENTE and make.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
lib_init install
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
D="$T/root"
make -s -C "$ROOT" install DESTDIR="$D" PREFIX=/usr INSTALL_BIN="$ENTENTE" \
    >"$T/make.out" 2>&1 || fail "make install: $(cat "$T/make.out")"

pages=$("$ENTENTE" man --list)
want=$({
    echo usr/bin/entente
    echo usr/lib/systemd/system/entente@.service
    echo usr/lib/sysusers.d/entente.conf
    echo usr/share/doc/entente/entente.conf.sample
    for m in "$ROOT"/node/crm/maps/*.json; do echo "usr/share/entente/maps/${m##*/}"; done
    for p in $pages; do echo "usr/share/man/man1/$p.1"; done
} | sort)
got=$(cd "$D" && find . -type f | sed 's|^\./||' | sort)
[ "$got" = "$want" ] || fail "installed tree differs: $(diff <(echo "$want") <(echo "$got"))"
[ "$(stat -c %a "$D/usr/bin/entente")" = 755 ] || fail "binary mode"
"$D/usr/bin/entente" --version | grep -q '^entente ' || fail "installed binary"
[ "$(echo "$pages" | wc -l)" -ge 20 ] || fail "too few pages: $pages"
echo "$pages" | grep -qx entente-backup || fail "no page of backup"

for p in $pages; do
    f="$D/usr/share/man/man1/$p.1"
    [ "$(stat -c %a "$f")" = 644 ] || fail "$p mode"
    head -1 "$f" | grep -q '^\.TH ' || fail "$p: no .TH"
    w=$(MANWIDTH=200 man --warnings -l "$f" 2>&1 >"$T/page.txt") || fail "$p: man failed: $w"
    [ -z "$w" ] || fail "$p: man warns: $w"
    [ "$p" = entente ] && continue
    cmd=${p#entente-}
    usage=$("$ENTENTE" "$cmd" --help | head -1 | sed 's/^usage: //')
    tr -s ' \n' ' ' <"$T/page.txt" | grep -qF -- "$usage" ||
        fail "$p: the page lacks the usage '$usage' of --help"
done
# each sub-command's own usage is in its group's page
MANWIDTH=300 man -l "$D/usr/share/man/man1/entente-backup.1" 2>/dev/null >"$T/b.txt"
grep -qF "entente backup verify DIR [--json]" "$T/b.txt" || fail "sub-command usage"

U="$D/usr/lib/systemd/system/entente@.service"
for l in Type=notify User=entente Group=entente ProtectSystem=strict \
    NoNewPrivileges=yes 'StateDirectory=entente/%i' ProtectHome=yes \
    'ExecStart=/usr/bin/entente serve --home /var/lib/entente/%i $ENTENTE_SERVE_ARGS' \
    'EnvironmentFile=-/etc/entente/%i.conf'; do
    grep -qxF -- "$l" "$U" || fail "unit lacks '$l'"
done
grep -q '@[A-Z]*@' "$U" "$D/usr/share/doc/entente/entente.conf.sample" &&
    fail "placeholder left: $(grep '@[A-Z]*@' "$U")"
grep -qx 'u entente - "Entente node" /var/lib/entente' "$D/usr/lib/sysusers.d/entente.conf" ||
    fail "sysusers.d"

if command -v systemd-analyze >/dev/null 2>&1; then
    P="$T/prefix"
    make -s -C "$ROOT" install PREFIX="$P/usr" SYSCONFDIR="$P/etc" \
        INSTALL_BIN="$ENTENTE" >/dev/null 2>&1 || fail "make install PREFIX"
    mkdir "$T/units"
    cp "$P/usr/lib/systemd/system/entente@.service" "$T/units/entente@acme.service"
    out=$(MANPATH="$P/usr/share/man" systemd-analyze verify "$T/units/entente@acme.service" 2>&1) ||
        fail "systemd-analyze verify: $out"
    [ -z "$out" ] || fail "systemd-analyze verify warns: $out"
fi
echo "ok install"
