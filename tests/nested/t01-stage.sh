#!/bin/bash
# t01-stage.sh - the install under test works in dom0: every ELF file finds its shared
# libraries, and xl-checkpoint starts. By default that is the staged install (build/stage,
# copied into dom0's / by run-tests.sh; skipped when the payload carries none); with
# XLCP_NESTED_INSTALL=deb the Debian packages, and then the suite runs on them alone:
# `xl-checkpoint` is /usr/sbin's, `xl checkpoint` the packages' dispatcher, nothing of the
# staged install is in /usr/local.
# timeout: 120
set -uo pipefail
. "$(dirname "$0")/lib.sh"

if [ "${XLCP_NESTED_INSTALL:-stage}" = deb ]; then
    missing="" n=0
    for p in xl-checkpoint libxlcheckpoint0 libxlcheckpoint-dev; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
            missing="$missing $p:not-installed;"
        while IFS= read -r f; do
            [ -f "$f" ] && head -c 4 "$f" 2>/dev/null | grep -q 'ELF' || continue
            n=$((n + 1))
            nf=$(ldd "$f" 2>&1 | grep 'not found' | tr -s ' \t' ' ')
            [ -z "$nf" ] || missing="$missing $f:$nf;"
        done < <(dpkg -L "$p" 2>/dev/null)
    done
    [ -z "$missing" ] && [ "$n" -ge 4 ] && ok "the packages are installed; their $n ELF files find their libraries" ||
        not_ok "the packages are installed and find their libraries" "$n ELF files;$missing"
    [ "$(command -v xl-checkpoint)" = /usr/sbin/xl-checkpoint ] && [ ! -e /usr/local/sbin/xl-checkpoint ] &&
        [ -z "$(ls /usr/local/lib/libxlcheckpoint* 2>/dev/null)" ] &&
        ok "xl-checkpoint is the packaged /usr/sbin/xl-checkpoint; nothing staged in /usr/local" ||
        not_ok "the packaged xl-checkpoint alone" "$(command -v xl-checkpoint); $(ls /usr/local/sbin /usr/local/lib 2>&1 | tr '\n' ' ')"
    out=$(xl checkpoint version 2>&1)
    [ "$(command -v xl)" = /usr/libexec/xl-checkpoint/xl ] && [ "$out" = "$(xl-checkpoint version)" ] &&
        ok "xl checkpoint: the packages' dispatcher ($out)" || not_ok "xl checkpoint through the packages' dispatcher" "$(command -v xl): $out"
    done_testing
    exit
fi

stage=${XLCP_STAGE:-$XLCP_PAYLOAD/stage}
if [ -z "$(find "$stage" -type f 2>/dev/null | head -n 1)" ]; then
    skip "staged install" "no files under $stage (run make stage)"
    done_testing
    exit 0
fi
missing=""
n=0
while IFS= read -r f; do
    head -c 4 "$f" 2>/dev/null | grep -q 'ELF' || continue
    n=$((n + 1))
    rel=/${f#"$stage"/}
    nf=$(ldd "$rel" 2>&1 | grep 'not found' | tr -s ' \t' ' ')
    [ -z "$nf" ] || missing="$missing $rel:$nf;"
done < <(find "$stage" -type f)
[ -z "$missing" ] && ok "all $n ELF files of the stage find their libraries in dom0" ||
    not_ok "ELF files of the stage find their libraries in dom0" "$missing"
if command -v xl-checkpoint >/dev/null; then
    out=$(timeout 30 xl-checkpoint --help 2>&1)
    rc=$?
    [ $rc -lt 126 ] && ok "xl-checkpoint starts in dom0 (--help: exit $rc)" ||
        not_ok "xl-checkpoint starts in dom0" "exit $rc: $(printf '%s' "$out" | tail -n 3)"
else
    not_ok "xl-checkpoint is in PATH" "PATH=$PATH"
fi
done_testing
