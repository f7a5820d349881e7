#!/bin/bash
# x87-pagestore.sh - (out of make check until it has passed on nested Xen) the page store
# as the home of memory images (issue 17 items 2, 3 and 5; XLCP_PAGESTORE opt-in of create),
# on real guests, PV and PVH of 256 MiB: two checkpoints in a row of the idle guest go into
# the store; the manifest says what each stream held and what the store added (the second:
# at most a tenth of the guest's memory, the issue's target, reported either way) and names
# the map and the store's root. The first keeps memory.xl beside its map
# (XLCP_PAGESTORE_KEEP_FILE=1), and its map rebuilds into an image of the same pfns; the
# second keeps no memory.xl. Every command after create runs without XLCP_PAGESTORE: verify
# of the second passes; `xl-checkpoint restore` of it brings the guest back (its counter
# runs on from where the checkpoint caught it); `xl-checkpoint export` of it writes the
# image rebuilt from the store, which plain `xl restore` brings back too; a byte flipped in
# a compressed block of the first pack makes verify fail (exit 8) naming the map, and
# restore refuse it leaving no domain and no volume; delete releases both maps (the store
# lists none) and gc leaves an empty store.
# timeout: 2700
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-x87
export XLCP_GUEST_MEMORY=256
unset XLCP_PAGESTORE XLCP_PAGESTORE_KEEP_FILE # given to create only
rm -rf "$XLCP_CATALOG_ROOT"
mkdir -p "$XLCP_CATALOG_ROOT"
PS=$XLCP_CATALOG_ROOT
PSREAL=$(realpath "$PS")
tool=$XLCP_LIBEXEC/xlcp-stream
[ -x "$tool" ] || bail "xlcp-stream installed" "no $tool"
mem_bytes=$((XLCP_GUEST_MEMORY << 20))

manifest() { find "$XLCP_CATALOG_ROOT" -mindepth 3 -maxdepth 3 -path "*/$1/manifest.xml" | head -n 1; }
# xval ID XPATH: a value from the checkpoint's manifest
xval() { xmllint --xpath "string($2)" "$(manifest "$1")" 2>/dev/null; }
psval() { xval "$1" "//*[local-name()=\"pagestore\"]/*[local-name()=\"$2\"]"; }
restored_lvs() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | tr -d ' ' | grep -c '\.restored\.'; }

# flip_block PACK: one byte flipped in the middle of the stored (zstd) data of the pack's
# first block (the pack's header is 32 bytes; the block's 16: magic, pages (le16),
# compressed, 0, stored bytes (le32), 0; then a 16-byte digest per page, then the data)
flip_block() {
    local f=$1 h n stored off b
    read -r -a h < <(od -An -tu1 -j32 -N16 "$f")
    n=$((h[4] + 256 * h[5]))
    stored=$((h[8] + (h[9] << 8) + (h[10] << 16) + (h[11] << 24)))
    [ "$n" -gt 0 ] && [ "$stored" -gt 0 ] || return 1
    off=$((32 + 16 + 16 * n + stored / 2))
    b=$(od -An -tu1 -j"$off" -N1 "$f" | tr -d ' ')
    printf '%b' "\\0$(printf '%03o' $((b ^ 0x5a)))" |
        dd of="$f" bs=1 seek="$off" count=1 conv=notrunc status=none
}

for type in pv pvh; do
    g=gps$type
    XLCP_GUEST_TYPE=$type guest_start "$g" thin:64M && guest_wait_ready "$g" 240 &&
        ok "$type guest ready" || bail "$type guest ready"
    ids=()
    for n in 1 2; do
        keep=0
        [ "$n" = 1 ] && keep=1
        c_before=$(guest_counter "$g")
        id=$(XLCP_PAGESTORE=$PS XLCP_PAGESTORE_KEEP_FILE=$keep watchdog 900 xl-checkpoint create --name "ps$n" "$g" 2>"$XLCP_RUN/x87.err")
        rc=$?
        [ $rc -eq 0 ] && [ -n "$id" ] && ok "$type: checkpoint $n with the page store ($id)" ||
            bail "$type: checkpoint $n" "exit $rc: $(tail -n 5 "$XLCP_RUN/x87.err")"
        ids+=("$id")
        map=$(psval "$id" map)
        root=$(psval "$id" root)
        recv=$(psval "$id" received-bytes)
        stored=$(psval "$id" stored-bytes)
        note=$(xval "$id" '//*[local-name()="pagestore-note"]')
        [ "$map" = "$id" ] && [ "$root" = "$PSREAL" ] && [ "${recv:-0}" -gt 0 ] &&
            ok "$type: manifest records map $map of the store in $root: $recv bytes received, $stored stored" ||
            not_ok "$type: manifest records map and root" "map '$map' root '$root' received '$recv' stored '$stored' note '$note'"
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
    id1=${ids[0]}
    id2=${ids[1]}
    dir1=$(dirname "$(manifest "$id1")")
    dir2=$(dirname "$(manifest "$id2")")
    [ -f "$dir1/memory.xl" ] && ok "$type: checkpoint 1 kept memory.xl beside its map (XLCP_PAGESTORE_KEEP_FILE=1)" ||
        not_ok "$type: memory.xl kept" "$(ls -l "$dir1")"
    ver=$(xval "$id2" '/*/@version')
    file=$(xval "$id2" '//*[local-name()="memory"]/*[local-name()="file"]')
    [ ! -e "$dir2/memory.xl" ] && [ "$ver" = 2 ] && [ -z "$file" ] &&
        ok "$type: checkpoint 2 keeps no memory.xl; its manifest (version $ver) names map and root only" ||
        not_ok "$type: no memory.xl in the stored checkpoint" "version '$ver', file '$file': $(ls -l "$dir2")"

    # the store's image of checkpoint 1 holds the pfns its memory.xl holds
    img=/var/tmp/x87-rebuilt-$type.xl
    out=$("$tool" ps rebuild "$PS" "$id1" "$img" 2>&1) && ok "$type: checkpoint 1 rebuilt from the store" ||
        not_ok "$type: rebuild" "$out"
    a=$("$tool" summary "$dir1/memory.xl" 2>&1 | grep -E '^(distinct_data_pfns|domain) ')
    b=$("$tool" summary "$img" 2>&1 | grep -E '^(distinct_data_pfns|domain) ')
    [ -n "$a" ] && [ "$a" = "$b" ] && ok "$type: the rebuilt image parses and holds the same pfns ($(printf '%s' "$b" | tr '\n' ' '))" ||
        not_ok "$type: rebuilt image holds the same pfns" "memory.xl: $a; rebuilt: $b"
    rm -f "$img"

    out=$(watchdog 600 xl-checkpoint verify "$id2" 2>&1) && ok "$type: verify of the stored checkpoint: $out" ||
        not_ok "$type: verify of the stored checkpoint" "$out"

    # xl-checkpoint restore from the store (the original goes first: dom0's memory)
    guest_destroy "$g"
    t0=$(now)
    out=$(watchdog 600 xl-checkpoint restore --name "$g-r" "$id2" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && ok "$type: xl-checkpoint restore of the stored checkpoint ($(elapsed "$t0")s): domid $(printf '%s' "$out" | tail -n 1)" ||
        not_ok "$type: xl-checkpoint restore of the stored checkpoint" "exit $rc: $(printf '%s' "$out" | tail -n 5)"
    c=$(guest_wait_counter "$g-r" "${c_before:-0}" 90) &&
        ok "$type: the restored guest runs on from the checkpoint (counter $c, was ${c_before:-?} before it)" ||
        not_ok "$type: the restored guest runs" "counter $c, before ${c_before:-?}: $(guest_console "$g-r" | tail -n 5)"
    guest_destroy "$g-r"

    # export: the image rebuilt from the store, which plain xl restore reads
    x=/var/tmp/x87-export-$type
    rm -rf "$x"
    out=$(watchdog 600 xl-checkpoint export "$id2" --to "$x" 2>&1) && ok "$type: export of the stored checkpoint: $out" ||
        not_ok "$type: export" "$out"
    img=/var/tmp/x87-rebuilt-$type.xl
    "$tool" ps rebuild "$PS" "$id2" "$img" >/dev/null 2>&1
    cmp -s "$x/memory.xl" "$img" && "$tool" check "$x/memory.xl" >/dev/null 2>&1 &&
        ok "$type: the export's memory.xl parses and is the image the store rebuilds" ||
        not_ok "$type: exported memory.xl" "$(cmp "$x/memory.xl" "$img" 2>&1; "$tool" check "$x/memory.xl" 2>&1 | tail -n 2)"
    rm -f "$img"
    out=$(watchdog 300 "$XL" restore -p "$x/memory.xl" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && ok "$type: plain xl restore of the exported memory.xl" ||
        not_ok "$type: xl restore of the exported memory.xl" "exit $rc: $(printf '%s' "$out" | tail -n 5)"
    "$XL" unpause "$g" 2>/dev/null
    c=$(guest_wait_counter "$g" "${c_before:-0}" 90) && ok "$type: the domain from xl restore runs (counter $c)" ||
        not_ok "$type: the domain from xl restore runs" "$(guest_console "$g" | tail -n 5)"
    guest_destroy "$g"
    rm -rf "$x"

    # a page damaged in the store: verify names the map, restore refuses and leaves nothing
    pack=$(find "$PS/pagestore/packs" -name '*.pack' -printf '%s %p\n' | sort -n | tail -n 1 | cut -d' ' -f2)
    flip_block "$pack" && ok "$type: a byte flipped in the first block of $(basename "$pack")" ||
        not_ok "$type: damage a pack" "$(ls -l "$PS/pagestore/packs")"
    out=$(watchdog 600 xl-checkpoint verify "$id2" 2>&1)
    rc=$?
    [ $rc -eq 8 ] && printf '%s' "$out" | grep -q "map $id2 pfn" &&
        ok "$type: verify finds the damaged page (exit 8): $(printf '%s' "$out" | tail -n 1 | cut -c1-300)" ||
        not_ok "$type: verify finds the damaged page" "exit $rc: $out"
    nlv=$(restored_lvs)
    out=$(watchdog 600 xl-checkpoint restore --name "$g-bad" "$id2" 2>&1)
    rc=$?
    [ $rc -eq 8 ] && printf '%s' "$out" | grep -q "restore of checkpoint $id2" && ! guest_domid "$g-bad" >/dev/null &&
        [ "$(restored_lvs)" = "$nlv" ] &&
        ok "$type: restore refuses the damaged image, no domain or volume left: $(printf '%s' "$out" | tail -n 1 | cut -c1-300)" ||
        not_ok "$type: restore refuses the damaged image cleanly" "exit $rc, restored LVs $(restored_lvs) (were $nlv), domain: $(guest_domid "$g-bad"): $out"
    guest_destroy "$g-bad"

    # delete, without XLCP_PAGESTORE: each map released from the store its manifest names
    for id in "${ids[@]}"; do
        out=$(xl-checkpoint delete "$id" 2>&1) || not_ok "$type: delete $id" "$out"
    done
    maps=$("$tool" ps list "$PS" 2>&1)
    [ -z "$maps" ] && ok "$type: delete released both maps" || not_ok "$type: maps released" "$maps"
    lv_cleanup "$g"
done
out=$("$tool" ps gc "$PS" 2>&1)
printf '%s\n' "$out" | grep -qx 'live_pages 0' && ok "gc: no live page left ($(printf '%s' "$out" | grep bytes_after))" ||
    not_ok "gc leaves an empty store" "$out"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
