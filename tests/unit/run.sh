#!/bin/sh
# run.sh - runs the unit test binaries given as arguments, prints each one's cmocka
# report and a summary line, and fails if any test binary failed.
set -u
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
