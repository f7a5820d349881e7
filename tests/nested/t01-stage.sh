#!/bin/bash
# t01-stage.sh - the staged install (build/stage, copied into dom0's / by run-tests.sh)
# works in dom0: every ELF file finds its shared libraries, and xl-checkpoint starts.
# Skipped when the payload carries no staged install.
# timeout: 120
set -uo pipefail
. "$(dirname "$0")/lib.sh"

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
