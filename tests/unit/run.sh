#!/bin/sh
# run.sh - runs the unit test binaries given as arguments, prints each one's cmocka
# report and a summary line, and fails if any test binary failed.
set -u
# No unit test acts through a real guardian: the built one, in its dry run (it only says
# what it would undo). Tests that check the guardian itself set their own.
if [ $# -gt 0 ]; then
    XLCP_GUARDIAN=${XLCP_GUARDIAN:-$(cd "$(dirname "$1")/.." && pwd)/xlcp-guardian}
    XLCP_GUARDIAN_DRYRUN=${XLCP_GUARDIAN_DRYRUN:-/dev/null}
    XLCP_AUDIT=${XLCP_AUDIT:-off} # no unit test writes into the host's journal
    export XLCP_GUARDIAN XLCP_GUARDIAN_DRYRUN XLCP_AUDIT
fi
passed=0
failed=0
failed_bins=""
for t in "$@"; do
    if "$t"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_bins="$failed_bins $t"
    fi
done
echo "unit test binaries: $passed passed, $failed failed${failed_bins:+ (}${failed_bins# }${failed_bins:+)}"
[ "$failed" -eq 0 ]
