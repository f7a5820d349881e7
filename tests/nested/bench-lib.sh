# bench-lib.sh - the benchmarks' arithmetic (sourced by b10-checkpoint.sh, b20-light.sh,
# b30-group.sh;
# tested on the host by tests/cli/test_bench.sh): figures that are missing stay "null",
# never become 0.
# shellcheck shell=sh

# the benchmarks' guests: 256 MiB (lib.sh's default for tests is 128)
export XLCP_GUEST_MEMORY="${XLCP_GUEST_MEMORY:-256}"

# bench_median [DECIMALS]: the median of the numbers on stdin, one a line ("null" lines
# ignored); the mean of the middle two for an even count; "null" when there is none.
# Integers print as integers, others with DECIMALS decimals (default 1; b30's skews and
# deviations use 3, so that a skew under 0.05 ms does not print as 0.0).
bench_median() {
    awk '$1 != "null" && $1 != "" { print $1 }' | sort -g | awk -v d="${1:-1}" '{ v[NR] = $1 } END {
        if (NR == 0) { print "null"; exit }
        x = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        if (x == int(x)) printf "%d\n", x; else printf "%.*f\n", d, x }'
}
# bench_max: the largest of the numbers on stdin, one a line; "null" when there is none
# or when one of them is "null" (the longest stop of a group with a member unmeasured is
# unknown, not the longest of the others)
bench_max() {
    awk '$1 == "" { next } $1 == "null" { unknown = 1; next } { if (!n++ || $1 + 0 > m + 0) m = $1 }
        END { if (unknown || !n) print "null"; else print m }'
}
# bench_spread: the largest minus the smallest of the numbers on stdin (three decimals,
# trailing zeros dropped); "null" as bench_max
bench_spread() {
    awk '$1 == "" { next } $1 == "null" { unknown = 1; next }
        { if (!n++) lo = hi = $1 + 0; if ($1 + 0 < lo) lo = $1 + 0; if ($1 + 0 > hi) hi = $1 + 0 }
        END { if (unknown || !n) { print "null"; exit }
              s = sprintf("%.3f", hi - lo); sub(/\.?0+$/, "", s); print s }'
}
# bench_abs: each number on stdin without its sign, one a line ("null" stays "null")
bench_abs() { awk '$1 == "" { next } $1 == "null" { print; next } { print ($1 < 0 ? -$1 : $1) + 0 }'; }
# bench_ratio A B: A / B with three decimals, "null" if either is null or B is not > 0
bench_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a != "null" && b != "null" && a != "" && b > 0) printf "%.3f\n", a / b; else print "null" }'
}
# bench_jstr TEXT: TEXT as the inside of a JSON string (control characters dropped)
bench_jstr() { printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'; }
