#!/bin/sh
# test_stream_tool.sh - xlcp-stream (libxl-plugin/stream-tool/) on the real image fixtures:
# summary counts every byte and page, list names the records, cut makes a smaller image
# that still parses, a truncated or corrupted image exits 8 with the offset, bad usage 1.
set -u
b=${1:-build}
t=$b/xlcp-stream
fx=tests/fixtures/stream
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0
no() {
    echo "not ok - $*"
    fail=$((fail + 1))
}
yes() { n=$((n + 1)); }

s=$("$t" summary "$fx/stream-pv.xl") && yes || no "summary of stream-pv.xl"
echo "$s" | grep -qx "bytes $(stat -c %s "$fx/stream-pv.xl")" && yes || no "summary counts every byte"
echo "$s" | grep -qx "pages 36" && yes || no "36 pages (3 records of 12)"
echo "$s" | grep -q "^libxc PAGE_DATA 3 records" && yes || no "3 PAGE_DATA records"
echo "$s" | grep -qx "domain pv" && yes || no "domain pv"
"$t" summary --json "$fx/stream-pvh.xl" | grep -q '"domain": "hvm".*"libxc.HVM_CONTEXT": 1' &&
    yes || no "JSON summary of stream-pvh.xl"
[ "$("$t" list "$fx/stream-pvh.xl" | awk '$3 == "PAGE_DATA"' | wc -l)" -eq 3 ] && yes ||
    no "list shows 3 PAGE_DATA records"
"$t" check - <"$fx/stream-pvh.xl" >/dev/null && yes || no "check from stdin"
"$t" cut --records 1 --pages 2 "$fx/stream-pvh.xl" "$tmp/c.xl" && yes || no "cut"
"$t" summary "$tmp/c.xl" | grep -qx "pages 2" && yes || no "the cut holds 2 pages"
[ "$(stat -c %s "$tmp/c.xl")" -lt "$(stat -c %s "$fx/stream-pvh.xl")" ] && yes || no "the cut is smaller"
head -c 1000 "$fx/stream-pv.xl" >"$tmp/t.xl"
out=$("$t" check "$tmp/t.xl" 2>&1)
[ $? -eq 8 ] && echo "$out" | grep -q "offset 1000: truncated" && yes || no "truncated: exit 8 ($out)"
cp "$fx/stream-pv.xl" "$tmp/m.xl"
printf 'Y' | dd of="$tmp/m.xl" bs=1 seek=0 conv=notrunc status=none
out=$("$t" summary "$tmp/m.xl" 2>&1)
[ $? -eq 8 ] && echo "$out" | grep -q "offset 0: xl header at offset 0: bad magic" && yes ||
    no "bad magic: exit 8 ($out)"
# the page store: both fixtures stored (the second adds no page), rebuilt into images that
# parse with the same pages, verified, released and collected
ps=$tmp/ps
"$t" ps store "$ps" pv "$fx/stream-pv.xl" >"$tmp/s1" && yes || no "ps store"
grep -qx "stream_bytes $(stat -c %s "$fx/stream-pv.xl")" "$tmp/s1" && yes || no "ps store counts every byte"
"$t" ps store "$ps" pvh - <"$fx/stream-pvh.xl" | grep -qx "pages_new 0" && yes ||
    no "ps store: the second image's pages are all held"
for m in pv pvh; do
    "$t" ps rebuild "$ps" $m "$tmp/$m.xl" && yes || no "ps rebuild $m"
    f=$fx/stream-$m.xl
    [ "$("$t" summary "$tmp/$m.xl" | grep -E '^(pages|domain|config_bytes|distinct_pfns) ')" = \
        "$("$t" summary "$f" | grep -E '^(pages|domain|config_bytes|distinct_pfns) ')" ] &&
        yes || no "ps rebuild $m: the same pages"
done
"$t" ps verify "$ps" | grep -qx "bad 0" && yes || no "ps verify"
[ "$("$t" ps list "$ps" | tr '\n' ' ')" = "pv pvh " ] && yes || no "ps list"
"$t" ps release "$ps" pv && "$t" ps release "$ps" pvh && "$t" ps gc "$ps" |
    grep -qx "bytes_after 0" && yes || no "ps release + gc: nothing left"
"$t" ps rebuild "$ps" pv "$tmp/x.xl" 2>/dev/null
[ $? -eq 1 ] && yes || no "ps rebuild of a released map exits 1"
"$t" frobnicate >/dev/null 2>&1
[ $? -eq 1 ] && yes || no "usage error exits 1"
"$t" check "$tmp/none.xl" >/dev/null 2>&1
[ $? -eq 1 ] && yes || no "a missing file exits 1"
echo "xlcp-stream: $n passed, $fail failed"
[ "$fail" -eq 0 ]
