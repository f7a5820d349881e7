#!/bin/sh
# test_bench.sh - host tests of the benchmarks' bookkeeping, which decides what
# build/bench.json says: medians (an even count averaged, nulls ignored, nothing -> null,
# never 0), ratios (null when a side is missing), maxima and spreads (b30's longest member
# stop and skew: unknown when a member is), JSON strings, and tools/nested/bench-json.sh
# (definitions, samples and reruns merged, valid JSON, a missing figure or benchmark
# named and the exit status non-zero, b30's two ratios required as numbers, only the
# benchmarks make bench T=... selected required). Prints TAP and
# "N passed, M failed"; exits non-zero on any failure.
#
#   sh tests/cli/test_bench.sh
set -u
unset XLCP_NESTED_TESTS
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
nums() { printf '%s\n' "$@"; }
med() { nums "$@" | bench_median; }

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
is "median with 3 decimals (a skew under 0.05 ms is not 0.0)" "$(nums 0.04 0.05 | bench_median 3)" 0.045
is "median rounds to one decimal by default" "$(med 0.04 0.05)" 0.0
is "max" "$(nums 3 10.5 7 | bench_max)" 10.5
is "max of nothing is null" "$(printf '' | bench_max)" null
is "max with an unknown member is null, not the others' max" "$(nums 3 null 7 | bench_max)" null
is "max of negative numbers" "$(nums -3 -1.5 | bench_max)" -1.5
is "spread" "$(nums 5009.9 5025.8 5016 | bench_spread)" 15.9
is "spread of one is 0" "$(nums 7 | bench_spread)" 0
is "spread with an unknown instant is null" "$(nums 1 null | bench_spread)" null
is "spread of nothing is null" "$(printf '' | bench_spread)" null
is "abs keeps null" "$(nums -21.5 null 3 | bench_abs | tr '\n' ' ')" "21.5 null 3 "
is "median of absolute deviations" "$(nums -21.5 22.5 -23.5 24.5 | bench_abs | bench_median 3)" 23
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
printf '{"bench": "b30", "method": "xl-checkpoint-group", "workload": "pvh-group-4", "group_longest_stop_ms": 180}\n' >"$d/b30.runs"
printf '"group_stop_vs_single": 1.2\n"group_skew_vs_single_stop": 0.05\n"group_at_deviation_ms": 23\n' >"$d/b30.ratios"
printf 'table b30\n' >"$d/b30.txt"
printf 'ok 1 - b10\n    # run again: a guest crashed in the first run, which failed with: x\n' >"$T/tap"
sh "$top/tools/nested/bench-json.sh" "$d" "$T/out.json" "$T/tap" >"$T/log" 2>&1
is "bench-json: complete fragments exit 0" "$?" 0
if command -v python3 >/dev/null 2>&1; then
    got=$(python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
want = ["dom0_pause_ms", "failed_runs", "fairness", "guest_gap_ms", "group_longest_stop_ms", "group_skew_ms", "at_deviation_ms"]
print(len(d["runs"]), len(d["samples"]), len(d["reruns"]), [k for k in want if k not in d["definitions"]],
      d["ratios"]["gap_vs_xl_save_c"]["idle"], d["ratios"]["group_stop_vs_single"], d["targets"]["group_skew_vs_single_stop"])' "$T/out.json" 2>&1)
    is "bench-json: runs, samples, both reruns, definitions, ratios, targets" "$got" \
        "3 1 2 [] 0.02 1.2 0.1"
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

# b30's ratios: null (with b30's reason) or absent is named
e=$T/b30
mkdir -p "$e"
cp "$d/b30.runs" "$d/b30.txt" "$e/"
printf '"group_stop_vs_single": null\n"group_skew_vs_single_stop": 0.05\n"group_ratios_missing": {"group_stop_vs_single": "no median single stop: create failed: exit 1"}\n' >"$e/b30.ratios"
XLCP_NESTED_TESTS=b30 sh "$top/tools/nested/bench-json.sh" "$e" "$T/out.json" >"$T/log" 2>&1
is "bench-json: a null b30 ratio exits non-zero" "$?" 1
grep -q 'ratios.group_stop_vs_single: null (no median single stop: create failed: exit 1)' "$T/log"
is "bench-json names the null ratio with b30's reason" "$?" 0
grep -q 'ratios.group_skew_vs_single_stop' "$T/log"
is "bench-json does not name a ratio that is a number" "$?" 1
printf '"group_stop_vs_single": 1.2\n' >"$e/b30.ratios"
XLCP_NESTED_TESTS=b30 sh "$top/tools/nested/bench-json.sh" "$e" "$T/out.json" >"$T/log" 2>&1
is "bench-json: an absent b30 ratio exits non-zero" "$?" 1
grep -q 'ratios.group_skew_vs_single_stop: absent' "$T/log"
is "bench-json names the absent ratio" "$?" 0

# make bench T=...: only the benchmarks selected must have results
printf '"group_stop_vs_single": 1.2\n"group_skew_vs_single_stop": 0.05\n' >"$e/b30.ratios"
XLCP_NESTED_TESTS=b30 sh "$top/tools/nested/bench-json.sh" "$e" "$T/out.json" >"$T/log" 2>&1
is "bench-json T=b30: b30's results alone are complete" "$?" 0
XLCP_NESTED_TESTS="b20,b30" sh "$top/tools/nested/bench-json.sh" "$e" "$T/out.json" >"$T/log" 2>&1
is "bench-json T=b20,b30: b20 selected and missing exits non-zero" "$?" 1
grep -q 'b20: no results' "$T/log" && ! grep -q 'b10: no results' "$T/log"
is "bench-json T=b20,b30 names b20, not b10" "$?" 0
f=$T/b10only
mkdir -p "$f"
grep -v '"missing"' "$d/b10.runs" >"$f/b10.runs"
cp "$d/b10.samples" "$d/b10.ratios" "$d/b10.txt" "$f/"
XLCP_NESTED_TESTS=b10 sh "$top/tools/nested/bench-json.sh" "$f" "$T/out.json" >"$T/log" 2>&1
is "bench-json T=b10: no b30 ratios asked for" "$?" 0
sh "$top/tools/nested/bench-json.sh" "$f" "$T/out.json" >"$T/log" 2>&1
is "bench-json without T: every benchmark required" "$?" 1
grep -q 'b30: no results' "$T/log" && grep -q 'ratios.group_stop_vs_single: absent' "$T/log"
is "bench-json without T names b30 and its ratios" "$?" 0

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
