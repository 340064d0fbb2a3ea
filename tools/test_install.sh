#!/bin/sh
# SPDX-License-Identifier: MIT
# `make test-install`: install into a temporary DESTDIR (PREFIX=/usr, then the
# default /usr/local) and check the tree; lint the man page (mandoc, groff)
# and check that it names every command, option and environment variable the
# binary has; verify the systemd unit with systemd-analyze (no running systemd
# needed), bound its exposure score; create the sysusers.d user in the
# temporary root; start `serve` with the installed example configuration.
# Usage: tools/test_install.sh BUILT_BINARY
set -eu
BIN=${1:?usage: test_install.sh BUILT_BINARY}
MAKE=${MAKE:-make}
fail() { echo "test-install: FAIL: $*" >&2; exit 1; }
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT

# ---- the tree -------------------------------------------------------------
$MAKE -s install DESTDIR="$D/usr-root" PREFIX=/usr >/dev/null
R=$D/usr-root
for f in usr/bin/modeld usr/share/man/man8/modeld.8 usr/lib/systemd/system/modeld.service \
         usr/lib/sysusers.d/modeld.conf usr/share/doc/modeld/modeld.conf.example \
         usr/share/doc/modeld/OPERATIONS.md etc/modeld/modeld.conf; do
    [ -f "$R/$f" ] || fail "make install did not install /$f"
done
[ -x "$R/usr/bin/modeld" ] || fail "/usr/bin/modeld is not executable"
UNIT=$R/usr/lib/systemd/system/modeld.service
grep -q '^ExecStart=/usr/bin/modeld serve --config /etc/modeld/modeld.conf$' "$UNIT" ||
    fail "the unit's ExecStart does not name the installed paths"
! grep -q '@[A-Z]*@' "$UNIT" || fail "the unit has unexpanded @PLACEHOLDERS@"
# an operator's configuration survives a reinstall
echo "port = 9999" > "$R/etc/modeld/modeld.conf"
$MAKE -s install DESTDIR="$R" PREFIX=/usr >/dev/null
grep -q '^port = 9999$' "$R/etc/modeld/modeld.conf" || fail "reinstall overwrote modeld.conf"
# the default PREFIX
$MAKE -s install DESTDIR="$D/local-root" >/dev/null
L=$D/local-root/usr/local
for f in bin/modeld share/man/man8/modeld.8 lib/systemd/system/modeld.service \
         lib/sysusers.d/modeld.conf share/doc/modeld/modeld.conf.example etc/modeld/modeld.conf; do
    [ -f "$L/$f" ] || fail "make install (PREFIX=/usr/local) did not install $f"
done
grep -q '^ExecStart=/usr/local/bin/modeld serve --config /usr/local/etc/modeld/modeld.conf$' \
    "$L/lib/systemd/system/modeld.service" || fail "PREFIX=/usr/local: wrong ExecStart"
echo "test-install: tree ok"

# ---- the man page -----------------------------------------------------------
MAN=$R/usr/share/man/man8/modeld.8
mandoc -T lint -W warning "$MAN" || fail "mandoc -T lint reports the man page"
out=$(groff -man -ww -z "$MAN" 2>&1) || fail "groff: $out"
[ -z "$out" ] || fail "groff warns: $out"
PAGE=$(MANWIDTH=200 man -l "$MAN" 2>/dev/null)
"$BIN" help | sed -n 's/^  \([a-z][a-z]*\( [a-z][a-z]*\)\?\)  .*/\1/p' > "$D/commands"
[ -s "$D/commands" ] || fail "modeld help lists no commands"
while read -r cmd; do
    echo "$PAGE" | grep -q -- "$cmd" || fail "the man page does not describe '$cmd'"
    # shellcheck disable=SC2086
    "$BIN" $cmd --help > "$D/help" || fail "modeld $cmd --help failed"
    for opt in $(grep -o -- '--[a-z][a-z-]*' "$D/help" | sort -u); do
        echo "$PAGE" | grep -q -- "$opt" || fail "the man page lacks $opt (of $cmd)"
    done
    for var in $(grep -o 'MODELD_[A-Z_]*' "$D/help" | sort -u); do
        echo "$PAGE" | grep -q -- "$var" || fail "the man page lacks $var"
    done
done < "$D/commands"
echo "test-install: man page ok ($(wc -l < "$D/commands") commands)"

# ---- the unit -------------------------------------------------------------
# systemd-analyze verify checks that ExecStart's program exists and runs
# man(1) for Documentation=; nothing here is installed in /, so a copy of the
# unit names the DESTDIR binary and MANPATH points at the DESTDIR pages.
# verify loads the unit file offline: systemd need not be running (PID 1).
mkdir -p "$D/verify"
sed "s|^ExecStart=/usr/bin/modeld|ExecStart=$R/usr/bin/modeld|" "$UNIT" > "$D/verify/modeld.service"
MANPATH=$R/usr/share/man systemd-analyze verify "$D/verify/modeld.service" ||
    fail "systemd-analyze verify rejects modeld.service"
score=$(systemd-analyze security --offline=yes "$D/verify/modeld.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for modeld.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || fail "systemd-analyze security gave no score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure score $score > 2.0"
systemd-sysusers --root="$R" >/dev/null 2>&1 || fail "systemd-sysusers rejects modeld.conf"
grep -q '^modeld:x:[0-9]*:[0-9]*:[^:]*:/var/lib/modeld:' "$R/etc/passwd" ||
    fail "sysusers.d did not create the modeld user"
echo "test-install: unit ok (systemd-analyze verify; exposure $score; sysusers)"

# ---- the example configuration ----------------------------------------------
mkdir -p "$D/state"
port_file=$D/state/log
MODELD_DB=$D/state/modeld.db MODELD_DATA_DIR=$D/state/artifacts MODELD_PORT=0 \
    "$R/usr/bin/modeld" serve --config "$R/usr/share/doc/modeld/modeld.conf.example" \
    --workers 1 2> "$port_file" &
pid=$!
i=0
while ! grep -q 'listening on' "$port_file" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
        kill $pid 2>/dev/null || true
        fail "serve did not start with the example configuration: $(cat "$port_file")"
    fi
    sleep 0.1
done
kill -TERM $pid
wait $pid || fail "serve with the example configuration did not stop cleanly"
echo "test-install: example configuration ok"
