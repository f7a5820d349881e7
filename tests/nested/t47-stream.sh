#!/bin/bash
# t47-stream.sh - the memory-image parser (libxl-plugin/src/stream.c) on real images: a
# checkpoint of a small PV and a small PVH guest; xlcp-stream's summary of memory.xl agrees
# with the file (bytes) and the guest (pfns within its memory); `verify` parses the image's
# structure; Xen's own verify-stream-v2 accepts the image and the small cut of it that
# xlcp-stream makes (kept as a unit-test fixture: results/stream-<type>.xl); a truncated
# and a corrupted copy are refused by both with the offset named.
# timeout: 900
set -uo pipefail
. "$(dirname "$0")/lib.sh"

tool=$XLCP_LIBEXEC/xlcp-stream
xsv=/usr/lib/xen-4.17/bin/verify-stream-v2
res=$XLCP_PAYLOAD/results
export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t47
rm -rf "$XLCP_CATALOG_ROOT"
[ -x "$tool" ] && ok "xlcp-stream installed" || bail "xlcp-stream installed" "no $tool"
xsv_ok=0
if [ -x "$xsv" ] && "$xsv" -h >/dev/null 2>&1; then xsv_ok=1; else
    diag "no usable $xsv: $("$xsv" -h 2>&1 | tail -n 2)"
fi
mem=${XLCP_GUEST_MEMORY:-$XLCP_GUEST_MEMORY_DEFAULT} # MiB, the guests' size
export XLCP_GUEST_MEMORY=$mem
gpages=$((mem * 256))

for type in pv pvh; do
    g=gs$type
    XLCP_GUEST_TYPE=$type guest_start "$g" thin:64M && ok "$type guest created" ||
        { not_ok "$type guest created"; continue; }
    guest_wait_ready "$g" 240 || { not_ok "$type guest ready"; guest_destroy "$g"; lv_cleanup "$g"; continue; }
    t0=$(now)
    out=$(watchdog 600 xl-checkpoint create --json "$g" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && ok "checkpoint of the $type guest ($(elapsed "$t0")s)" ||
        { not_ok "checkpoint of the $type guest" "exit $rc: $out"; guest_destroy "$g"; lv_cleanup "$g"; continue; }
    id=$(printf '%s' "$out" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1)
    img=$(find "$XLCP_CATALOG_ROOT" -mindepth 3 -maxdepth 3 -path "*/$id/memory.xl")
    size=$(stat -c %s "$img")

    t0=$(now)
    sum=$("$tool" summary "$img" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && ok "summary of the $type image ($size bytes, $(elapsed "$t0")s)" ||
        not_ok "summary of the $type image" "exit $rc: $sum"
    printf '%s\n' "$sum" >"$res/t47-summary-$type.txt"
    diag "$(printf '%s\n' "$sum")"
    val() { printf '%s\n' "$sum" | sed -n "s/^$1 //p"; }
    [ "$(val bytes)" = "$size" ] && ok "summary counts every byte of the file" ||
        not_ok "summary counts every byte" "summary $(val bytes), file $size"
    want=$([ $type = pv ] && echo pv || echo hvm)
    [ "$(val domain)" = "$want" ] && ok "domain type $want" || not_ok "domain type $want" "$(val domain)"
    distinct=$(val distinct_data_pfns)
    pages=$(val pages)
    # the guest's memory in pages (a PVH image also names every pfn up to the top of its
    # address space without data, and a few special pages above its RAM with data; a live
    # copy sends some pages more than once)
    [ "${distinct:-0}" -gt $((gpages / 2)) ] && [ "$distinct" -le $((gpages + 1024)) ] &&
        [ "${pages:-0}" -ge "$distinct" ] &&
        ok "distinct pfns with data $distinct, pages $pages (guest: $gpages pages)" ||
        not_ok "distinct pfns with data within the guest's memory" "distinct $distinct pages $pages"
    check "verify parses the $type image" xl-checkpoint verify --no-disks "$id"
    if [ $xsv_ok = 1 ]; then
        o=$(watchdog 300 "$xsv" -q -f xl -i "$img" 2>&1) && ok "Xen's verify-stream-v2 accepts the $type image" ||
            not_ok "Xen's verify-stream-v2 accepts the $type image" "$o"
    fi

    cut=$res/stream-$type.xl
    o=$("$tool" cut --records 3 --pages 12 "$img" "$cut" 2>&1) && ok "cut of the $type image" ||
        not_ok "cut of the $type image" "$o"
    csize=$(stat -c %s "$cut" 2>/dev/null || echo 0)
    [ "$csize" -gt 0 ] && [ "$csize" -lt 1048576 ] && ok "the cut is small ($csize bytes)" ||
        not_ok "the cut is small" "$csize bytes"
    o=$("$tool" check "$cut" 2>&1) && ok "the cut parses" || not_ok "the cut parses" "$o"
    "$tool" summary "$cut" >"$res/t47-summary-$type-cut.txt" 2>&1
    if [ $xsv_ok = 1 ]; then
        o=$(watchdog 120 "$xsv" -q -f xl -i "$cut" 2>&1) && ok "Xen's verify-stream-v2 accepts the cut" ||
            not_ok "Xen's verify-stream-v2 accepts the cut" "$o"
    fi

    # A truncated copy and one with a PAGE_DATA count too large are refused, offset named.
    bad=/var/tmp/t47-bad.xl
    head -c $((size / 2)) "$img" >"$bad"
    o=$("$tool" check "$bad" 2>&1)
    rc=$?
    [ $rc -eq 8 ] && printf '%s' "$o" | grep -q "offset $((size / 2)): truncated" &&
        ok "a truncated copy is refused (exit 8): $o" || not_ok "truncated copy refused" "exit $rc: $o"
    [ $xsv_ok = 1 ] && { "$xsv" -q -f xl -i "$bad" >/dev/null 2>&1 && not_ok "verify-stream-v2 refuses it too" ||
        ok "verify-stream-v2 refuses it too"; }
    cp "$cut" "$bad"
    # the first PAGE_DATA record of the cut, from the tool's list of units
    pos=$("$tool" list "$bad" | awk '$2 == "libxc" && $3 == "PAGE_DATA" { print $1; exit }')
    if [ -n "$pos" ]; then
        printf '\xff\x7f' | dd of="$bad" bs=1 seek=$((pos + 8)) conv=notrunc status=none
        o=$("$tool" check "$bad" 2>&1)
        rc=$?
        [ $rc -eq 8 ] && printf '%s' "$o" | grep -q "PAGE_DATA.*count 32767 exceeds" &&
            ok "a PAGE_DATA count of 32767 is refused (exit 8): $o" || not_ok "bad count refused" "exit $rc: $o"
    else
        not_ok "found the cut's first PAGE_DATA record"
    fi
    rm -f "$bad"

    xl-checkpoint delete "$id" >/dev/null 2>&1
    guest_destroy "$g"
    lv_cleanup "$g"
done
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
