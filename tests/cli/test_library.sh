#!/bin/sh
# test_library.sh - the library as a backup tool's author meets it: the shared library
# exports exactly the functions of the public header (the version script and the Debian
# symbols file are both made from it, tools/gen-symbols.sh); the staged install's
# pkg-config file works (examples/backup.c was built through it by `make examples`: it needs
# libxlcheckpoint.so.0 by SONAME, no RPATH); the example's usage errors and, on a host without
# Xen, its JSON error object. Prints TAP and "N passed, M failed".
#
#   sh tests/cli/test_library.sh [BUILD_DIR]     (default: build; after make examples)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
B=$(cd "${1:-build}" && pwd) || exit 1
BK=$B/examples/backup
LIB=$B/libxlcheckpoint.so.0
STAGE_LIB=$B/stage/usr/local/lib
[ -x "$BK" ] && [ -f "$LIB" ] || {
    echo "Bail out! $BK or $LIB not built (make all examples)"
    exit 1
}
T=$(mktemp -d /tmp/xlcp-library-XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

# shellcheck source-path=SCRIPTDIR source=tap.sh
. "$(dirname "$0")/tap.sh"
run() {
    LD_LIBRARY_PATH=$STAGE_LIB timeout 20 "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

# ---- exported symbols ----------------------------------------------------------------
sh "$top/tools/gen-symbols.sh" list "$top/libxl-plugin/include/xlcheckpoint.h" >"$T/api" || exit 1
nm -D --defined-only "$LIB" | awk '$2 ~ /^[TDBRVW]$/ { sub(/@.*/, "", $3); print $3 }' |
    LC_ALL=C sort -u | grep -v '^XLCP_0$' >"$T/exported"
if cmp -s "$T/api" "$T/exported" && [ "$(wc -l <"$T/api")" -ge 30 ]; then
    ok "the library exports exactly the $(wc -l <"$T/api") functions of xlcheckpoint.h"
else
    not_ok "the library exports exactly the header's functions" "$(diff "$T/api" "$T/exported" | head -n 8)"
fi
if readelf -d "$LIB" | grep -q 'SONAME.*\[libxlcheckpoint\.so\.0\]' &&
    objdump -T "$LIB" | grep -q 'XLCP_0 *xlcp_create$'; then
    ok "SONAME libxlcheckpoint.so.0, symbols versioned XLCP_0"
else
    not_ok "SONAME and symbol version" "$(readelf -d "$LIB" | grep SONAME)"
fi

# ---- the pkg-config file and the example built through it ----------------------------
pc=$B/stage/usr/local/lib/pkgconfig/xlcheckpoint.pc
if [ -f "$pc" ] && ! grep -q '^Requires' "$pc" && grep -q '^Libs.private: .*-lxenlight' "$pc"; then
    ok "xlcheckpoint.pc: no Requires (the -dev packages of Xen & co. are not needed to use it), Libs.private for static links"
else
    not_ok "xlcheckpoint.pc" "$(cat "$pc" 2>&1)"
fi
if readelf -d "$BK" | grep -q 'NEEDED.*\[libxlcheckpoint\.so\.0\]' && ! readelf -d "$BK" | grep -Eq 'RPATH|RUNPATH'; then
    ok "examples/backup needs libxlcheckpoint.so.0 by SONAME, no RPATH"
else
    not_ok "examples/backup links the shared library" "$(readelf -d "$BK" | grep -E 'NEEDED|PATH')"
fi
if LD_LIBRARY_PATH=$STAGE_LIB ldd "$BK" | grep -q "libxlcheckpoint.so.0 => $STAGE_LIB/libxlcheckpoint.so.0"; then
    ok "it runs on the staged library"
else
    not_ok "it runs on the staged library" "$(LD_LIBRARY_PATH=$STAGE_LIB ldd "$BK" 2>&1 | head -n 3)"
fi

run "$BK" --help
[ $rc -eq 0 ] && grep -q '^usage: backup' "$T/out" && ok "backup --help: usage, exit 0" ||
    not_ok "backup --help" "rc=$rc" "$(cat "$T/out" "$T/err")"
run "$BK"
[ $rc -eq 2 ] && [ ! -s "$T/out" ] && grep -q 'no domain' "$T/err" && ok "backup without a domain: exit 2" ||
    not_ok "backup without a domain: exit 2" "rc=$rc" "$(cat "$T/err")"
run "$BK" --keep-last 0 web1
[ $rc -eq 2 ] && ok "backup --keep-last 0: exit 2" || not_ok "backup --keep-last 0: exit 2" "rc=$rc"

if [ -e /proc/xen ] || [ -e /dev/xen/privcmd ]; then
    ok "# SKIP the no-Xen error: this host runs under Xen"
else
    run "$BK" --root "$T/catalog" web1
    if [ $rc -eq 1 ] && [ "$(wc -l <"$T/out")" -eq 1 ] &&
        grep -Eq '^\{"ok": false, "error": "[^"]*Xen[^"]*", "code": "XLCP_EHV", "step": null\}$' "$T/out"; then
        ok "no Xen here: one JSON error object (XLCP_EHV), exit 1"
    else
        not_ok "no Xen here: one JSON error object" "rc=$rc" "$(cat "$T/out" "$T/err")"
    fi
fi

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
