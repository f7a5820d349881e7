#!/bin/bash
# x87-pagestore.sh - (out of make check until it has passed on nested Xen) the page store
# (issue 17 items 2, 3 and 5; XLCP_PAGESTORE opt-in of create) on real guests, PV and PVH of
# 256 MiB: two checkpoints in a row of the idle guest go into the store; the manifest says
# what each stream held and what the store added (the second: at most a tenth of the
# guest's memory, the issue's target, reported either way); the second is rebuilt from the
# store (`xlcp-stream ps rebuild`) as a standard image that our parser and plain
# `xl restore` accept, and the restored guest runs; verify finds every page intact; delete
# releases both maps and gc leaves an empty store.
# timeout: 1800
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-x87
export XLCP_GUEST_MEMORY=256
rm -rf "$XLCP_CATALOG_ROOT"
mkdir -p "$XLCP_CATALOG_ROOT"
PS=$XLCP_CATALOG_ROOT
tool=/usr/local/libexec/xl-checkpoint/xlcp-stream
[ -x "$tool" ] || bail "xlcp-stream installed" "no $tool"
mem_bytes=$((XLCP_GUEST_MEMORY << 20))

manifest() { find "$XLCP_CATALOG_ROOT" -mindepth 3 -maxdepth 3 -path "*/$1/manifest.xml" | head -n 1; }
# xval ID XPATH: a value from the checkpoint's manifest
xval() { xmllint --xpath "string($2)" "$(manifest "$1")" 2>/dev/null; }

for type in pv pvh; do
    g=gps$type
    XLCP_GUEST_TYPE=$type guest_start "$g" thin:64M && guest_wait_ready "$g" 240 &&
        ok "$type guest ready" || bail "$type guest ready"
    ids=()
    for n in 1 2; do
        id=$(XLCP_PAGESTORE=$PS watchdog 900 xl-checkpoint create --name "ps$n" "$g" 2>"$XLCP_RUN/x87.err")
        rc=$?
        [ $rc -eq 0 ] && [ -n "$id" ] && ok "$type: checkpoint $n with the page store ($id)" ||
            bail "$type: checkpoint $n" "exit $rc: $(tail -n 5 "$XLCP_RUN/x87.err")"
        ids+=("$id")
        map=$(xval "$id" '//*[local-name()="pagestore"]/*[local-name()="map"]')
        recv=$(xval "$id" '//*[local-name()="pagestore"]/*[local-name()="received-bytes"]')
        stored=$(xval "$id" '//*[local-name()="pagestore"]/*[local-name()="stored-bytes"]')
        note=$(xval "$id" '//*[local-name()="pagestore-note"]')
        [ "$map" = "$id" ] && [ "${recv:-0}" -gt 0 ] && ok "$type: manifest records map $map: $recv bytes received, $stored stored" ||
            not_ok "$type: manifest records the map" "map '$map' received '$recv' stored '$stored' note '$note'"
        diag "SIZES $type checkpoint $n: stream $recv bytes, store added $stored bytes (guest memory $mem_bytes)"
        if [ "$n" = 1 ]; then
            [ "${stored:-0}" -le "${recv:-0}" ] && [ "${stored:-0}" -le $((mem_bytes + (8 << 20))) ] &&
                ok "$type: the first image stored within the guest's memory ($stored <= $mem_bytes + maps)" ||
                not_ok "$type: first image within the guest's memory" "$stored stored of $recv received"
        else
            if [ "${stored:-0}" -le $((mem_bytes / 10)) ]; then
                ok "$type: the idle second checkpoint added $stored bytes (<= 1/10 of memory)"
            else
                not_ok "$type: the idle second checkpoint added at most 1/10 of memory" "$stored bytes"
            fi
        fi
    done
    id2=${ids[1]}
    dir2=$(dirname "$(manifest "$id2")")
    img=/var/tmp/x87-rebuilt-$type.xl
    out=$("$tool" ps rebuild "$PS" "$id2" "$img" 2>&1) && ok "$type: rebuilt from the store" ||
        not_ok "$type: rebuild" "$out"
    a=$("$tool" summary "$dir2/memory.xl" 2>&1 | grep -E '^(distinct_data_pfns|domain) ')
    b=$("$tool" summary "$img" 2>&1 | grep -E '^(distinct_data_pfns|domain) ')
    [ -n "$a" ] && [ "$a" = "$b" ] && ok "$type: the rebuilt image parses and holds the same pfns ($(echo $b))" ||
        not_ok "$type: rebuilt image holds the same pfns" "memory.xl: $a; rebuilt: $b"
    out=$("$tool" ps verify "$PS" 2>&1)
    printf '%s\n' "$out" | grep -qx 'bad 0' && ok "$type: verify: every page intact" || not_ok "$type: verify" "$out"
    # plain xl restore of the rebuilt image: the original goes first (same name, same disks)
    guest_destroy "$g"
    out=$(watchdog 300 "$XL" restore -p "$img" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && ok "$type: xl restore of the rebuilt image" ||
        not_ok "$type: xl restore of the rebuilt image" "exit $rc: $(printf '%s' "$out" | tail -n 5)"
    "$XL" unpause "$g" 2>/dev/null
    c=$(guest_wait_counter "$g" 0 90) && ok "$type: the restored guest runs (counter $c)" ||
        not_ok "$type: the restored guest runs" "$(guest_console "$g" | tail -n 5)"
    guest_destroy "$g"
    rm -f "$img"
    # delete releases a checkpoint's map from the store it is given (XLCP_PAGESTORE)
    for id in "${ids[@]}"; do XLCP_PAGESTORE=$PS xl-checkpoint delete "$id" >/dev/null 2>&1 || not_ok "delete $id"; done
    maps=$("$tool" ps list "$PS" 2>&1)
    [ -z "$maps" ] && ok "$type: delete released both maps" || not_ok "$type: maps released" "$maps"
    lv_cleanup "$g"
done
out=$("$tool" ps gc "$PS" 2>&1)
printf '%s\n' "$out" | grep -qx 'live_pages 0' && ok "gc: no live page left ($(printf '%s' "$out" | grep bytes_after))" ||
    not_ok "gc leaves an empty store" "$out"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
