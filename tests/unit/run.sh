#!/bin/sh
# run.sh - runs the unit test binaries given as arguments, prints each one's cmocka
# report and a summary: binaries, and test cases passed, failed and skipped (cmocka's own
# counts: a skipped test is reported as skipped, never as passed); fails if any test
# binary failed.
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
cases_ok=0
cases_failed=0
cases_skipped=0
skipped_names=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# n WORD: the count on cmocka's summary line "[  WORD  ] N test(s)" in $log (0 if none)
n() { sed -n "s/^\[ *$1 *\] \([0-9][0-9]*\) test.*/\1/p" "$log" | tail -n 1 | grep . || echo 0; }
for t in "$@"; do
    if "$t" >"$log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_bins="$failed_bins $t"
    fi
    cat "$log"
    s=$(n SKIPPED)
    cases_skipped=$((cases_skipped + s))
    cases_failed=$((cases_failed + $(n FAILED)))
    # cmocka's PASSED count leaves out the skipped ones (it counts them apart)
    cases_ok=$((cases_ok + $(n PASSED)))
    [ "$s" -eq 0 ] || skipped_names="$skipped_names $(sed -n 's/^\[ *SKIPPED *\] \([a-z_][a-z0-9_]*\)$/\1/p' "$log" | sort -u | tr '\n' ' ')"
done
echo "unit test binaries: $passed passed, $failed failed${failed_bins:+ (}${failed_bins# }${failed_bins:+)}"
[ -z "${skipped_names# }" ] || echo "unit tests skipped:$skipped_names"
echo "unit tests: $cases_ok passed, $cases_failed failed, $cases_skipped skipped"
[ "$failed" -eq 0 ]
