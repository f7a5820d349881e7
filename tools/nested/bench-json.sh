#!/bin/sh
# bench-json.sh DIR OUT - merges the benchmark fragments the nested b*.sh scripts leave in
# DIR (NAME.runs: one JSON object per line; NAME.ratios: one '"key": value' per line;
# NAME.txt: a table) into one JSON document OUT, and prints the tables.
set -eu
dir=$1
out=$2
ls "$dir"/*.runs >/dev/null 2>&1 || { echo "bench-json: no results in $dir" >&2; exit 1; }
{
    printf '{\n  "generated": "%s",\n  "runs": [\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    cat "$dir"/*.runs | sed '/^$/d; s/^/    /; $!s/$/,/'
    printf '  ],\n  "ratios": {\n'
    cat "$dir"/*.ratios | sed '/^$/d; s/^/    /; $!s/$/,/'
    printf '  },\n  "targets": {"gap_vs_xl_save_c": 0.02, "total_vs_xl_save_c": 1.2, "gap_light_vs_stock": 0.2}\n}\n'
} >"$out"
if command -v python3 >/dev/null 2>&1; then
    python3 -m json.tool "$out" >/dev/null || { echo "bench-json: $out is not valid JSON" >&2; exit 1; }
fi
for t in "$dir"/*.txt; do
    echo "== $(basename "$t" .txt)"
    cat "$t"
done
