# tap.sh - TAP output for the shell tests of tests/cli (sourced): ok DESC, not_ok DESC
# [DETAIL...] (each detail a "#" line), and the counters they keep ($n, $passed, $failed)
# for the caller's summary line "N passed, M failed".
# shellcheck shell=sh
passed=0
failed=0
n=0
ok() {
    n=$((n + 1))
    passed=$((passed + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    for line in "$@"; do echo "#   $line"; done
}
