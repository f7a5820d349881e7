# bench-lib.sh - the benchmarks' arithmetic (sourced by b10-checkpoint.sh, b20-light.sh;
# tested on the host by tests/cli/test_bench.sh): figures that are missing stay "null",
# never become 0.
# shellcheck shell=sh

# the benchmarks' guests: 256 MiB (lib.sh's default for tests is 128)
export XLCP_GUEST_MEMORY=${XLCP_GUEST_MEMORY:-256}

# bench_median: the median of the numbers on stdin, one a line ("null" lines ignored);
# the mean of the middle two for an even count; "null" when there is none. Integers
# print as integers, others with one decimal.
bench_median() {
    awk '$1 != "null" && $1 != "" { print $1 }' | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "null"; exit }
        x = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        if (x == int(x)) printf "%d\n", x; else printf "%.1f\n", x }'
}
# bench_ratio A B: A / B with three decimals, "null" if either is null or B is not > 0
bench_ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a != "null" && b != "null" && a != "" && b > 0) printf "%.3f\n", a / b; else print "null" }'
}
# bench_jstr TEXT: TEXT as the inside of a JSON string (control characters dropped)
bench_jstr() { printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'; }
