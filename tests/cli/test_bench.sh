#!/bin/sh
# test_bench.sh - host tests of the benchmarks' bookkeeping, which decides what
# build/bench.json says: medians (an even count averaged, nulls ignored, nothing -> null,
# never 0), ratios (null when a side is missing), JSON strings, and
# tools/nested/bench-json.sh (definitions, samples and reruns merged, valid JSON, a
# missing figure or benchmark named and the exit status non-zero). Prints TAP and
# "N passed, M failed"; exits non-zero on any failure.
#
#   sh tests/cli/test_bench.sh
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../nested/bench-lib.sh
. "$top/tests/nested/bench-lib.sh"
T=$(mktemp -d /tmp/xlcp-bench-XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

passed=0
failed=0
n=0
is() { # DESC GOT WANT
    n=$((n + 1))
    if [ "$2" = "$3" ]; then
        passed=$((passed + 1))
        echo "ok $n - $1"
    else
        failed=$((failed + 1))
        echo "not ok $n - $1: got '$2', want '$3'"
    fi
}
med() { printf '%s\n' "$@" | bench_median; }

is "median of an odd count" "$(med 5 1 3)" 3
is "median of an even count is the mean of the middle two" "$(med 4 1 3 10)" 3.5
is "median of two integers stays an integer" "$(med 2 4)" 3
is "median ignores null samples" "$(med null 7 null 9 8)" 8
is "median of nothing is null, not 0" "$(printf '' | bench_median)" null
is "median of nulls only is null" "$(med null null)" null
is "median sorts as numbers (10 > 9)" "$(med 9 10 100)" 10
is "ratio" "$(bench_ratio 1 4)" 0.250
is "ratio with a missing numerator is null" "$(bench_ratio null 4)" null
is "ratio with a missing denominator is null" "$(bench_ratio 1 null)" null
is "ratio over 0 is null" "$(bench_ratio 1 0)" null
is "JSON string escapes quotes and backslashes" "$(bench_jstr 'a "b" \c')" 'a \"b\" \\c'

# bench-json.sh: a complete set of fragments
d=$T/frag
mkdir -p "$d"
printf '{"bench": "b10", "method": "xl-save-c", "workload": "idle", "guest_gap_ms": 5100}\n' >"$d/b10.runs"
printf '{"bench": "b10", "method": "xl-save-c", "workload": "idle", "status": "ok"}\n' >"$d/b10.samples"
printf '{"test": "b10", "method": "xl-save-c", "workload": "idle", "try": 1, "evidence": "Triple fault"}\n' >"$d/b10.reruns"
printf '"gap_vs_xl_save_c": {"idle": 0.02}\n' >"$d/b10.ratios"
printf 'table b10\n' >"$d/b10.txt"
printf '{"bench": "b20", "method": "xl-checkpoint-light", "workload": "procs-1", "guest_gap_ms": 120}\n' >"$d/b20.runs"
printf '"gap_light_vs_stock": {"procs-1": 0.5}\n' >"$d/b20.ratios"
printf 'table b20\n' >"$d/b20.txt"
printf 'ok 1 - b10\n    # run again: a guest crashed in the first run, which failed with: x\n' >"$T/tap"
sh "$top/tools/nested/bench-json.sh" "$d" "$T/out.json" "$T/tap" >"$T/log" 2>&1
is "bench-json: complete fragments exit 0" "$?" 0
if command -v python3 >/dev/null 2>&1; then
    got=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(len(d["runs"]), len(d["samples"]), len(d["reruns"]), sorted(d["definitions"])[:4], d["ratios"]["gap_vs_xl_save_c"]["idle"])' "$T/out.json" 2>&1)
    is "bench-json: runs, samples, both reruns, definitions, ratios" "$got" \
        "2 1 2 ['dom0_pause_ms', 'failed_runs', 'fairness', 'guest_gap_ms'] 0.02"
fi
grep -q 'table b20' "$T/log"
is "bench-json prints the tables" "$?" 0

# a row with a missing figure, and a benchmark that left nothing
printf '{"bench": "b10", "method": "xl-checkpoint", "workload": "dirty", "guest_gap_ms": null, "missing": "no successful run of 3 (3 failed): exit 1"}\n' >>"$d/b10.runs"
rm -f "$d/b20.runs"
sh "$top/tools/nested/bench-json.sh" "$d" "$T/out.json" "$T/tap" >"$T/log" 2>&1
is "bench-json: a missing figure exits non-zero" "$?" 1
grep -q 'xl-checkpoint/dirty: no successful run of 3' "$T/log"
is "bench-json names the missing figure and why" "$?" 0
grep -q 'b20: no results' "$T/log"
is "bench-json names a benchmark that left no results" "$?" 0

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
