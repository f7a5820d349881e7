#!/bin/bash
# t52-guest-garbage.sh - everything a guest writes is hostile input. A guest without the
# module pretends to have it: it advertises the feature, quiesce (also inside the stop)
# and the light path,
# points device/suspend/event-channel at a port that is not ours to bind, claims to be
# frozen, and leaves a made-up downtime. `xl checkpoint create --quiesce` must neither
# crash nor believe it: the quiesce times out (crash-consistent, with a note), libxl
# takes the stock path and the manifest says "stock", no guest-measured downtime is
# recorded, the checkpoint verifies, the guest keeps running. xs-check names the lies it
# can see. Then binary and oversized values: the same.
# timeout: 600
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t52
rm -rf "$XLCP_CATALOG_ROOT"
g=g52
guest_start "$g" thin:128M && guest_wait_ready "$g" && ok "guest ready (no module)" || bail "guest ready"

# the guest's own lies, written from inside it (its data/ and device/suspend/ are its own)
out=$(guest_run "$g" 'B=data/checkpoint
xenstore-write $B/feature 1 $B/protocol 2 $B/capabilities "quiesce light-suspend quiesce-at-suspend" \
    $B/suspend-path light $B/state "frozen 20261125T000000.000Z-abcdef" \
    $B/downtime-ns 12345 $B/last-id "../../etc" && \
xenstore-write device/suspend/event-channel 3 && echo written' 60)
[ "$(printf '%s' "$out" | tail -n 1)" = written ] && ok "guest wrote its lies" || bail "guest wrote its lies" "$out"

out=$(watchdog 300 xl-checkpoint create --quiesce --quiesce-timeout 3 --json "$g" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "create --quiesce succeeds against a lying guest" || bail "create against a lying guest" "exit $rc: $out"
id=$(printf '%s' "$out" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1)
printf '%s' "$out" | grep -q '"quiesced": *false' && ok "not recorded as quiesced" ||
    not_ok "not recorded as quiesced" "$out"
printf '%s' "$out" | grep -q '"suspend_path": *"stock"' && ok "recorded as the stock path (port 3 is not ours to bind)" ||
    not_ok "recorded as the stock path" "$out"
printf '%s' "$out" | grep -q '"guest_downtime_ms": *null' && ok "no guest-measured downtime taken from a guest without the module" ||
    not_ok "no made-up guest downtime" "$out"
dir=$(find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name "$id")
grep -q 'did not answer' "$dir/manifest.xml" && ok "the manifest notes the unanswered quiesce" ||
    not_ok "the manifest notes the unanswered quiesce" "$(grep -i quiesce "$dir/manifest.xml")"
check "the checkpoint verifies" xl-checkpoint verify "$id"
# read after the checkpoint: the guest must count on from there (a counter read before
# `create` would pass even if the guest stopped during it)
c0=$(guest_counter "$g")
c1=$(guest_wait_counter "$g" "$((c0 + 1))" 60) && ok "guest keeps running after create ($c0 -> $c1)" ||
    not_ok "guest keeps running after create" "counter $c0 -> $c1"

out=$(xl-checkpoint xs-check "$g" 2>&1)
rc=$?
[ $rc -ne 0 ] && printf '%s' "$out" | grep -q 'last-id' && ok "xs-check reports the bad last-id (exit $rc)" ||
    not_ok "xs-check reports the bad last-id" "exit $rc: $out"
diag "$out"

# binary and oversized values (the guest may write up to xenstored's limit)
out=$(guest_run "$g" 'B=data/checkpoint
big=$(head -c 2000 /dev/zero | tr "\0" 9)
printf "1\001\377" > /tmp/bin
xenstore-write $B/protocol "$big" $B/downtime-ns "$big" $B/capabilities "$(cat /tmp/bin)" $B/state "$big" && \
xenstore-write device/suspend/event-channel "$big" && echo written' 60)
[ "$(printf '%s' "$out" | tail -n 1)" = written ] && ok "guest wrote binary and oversized values" ||
    not_ok "guest wrote binary and oversized values" "$out"
out=$(watchdog 300 xl-checkpoint create --json "$g" 2>&1)
rc=$?
[ $rc -eq 0 ] && printf '%s' "$out" | grep -q '"suspend_path": *"stock"' &&
    ok "create succeeds, stock path, against oversized values" || not_ok "create against oversized values" "exit $rc: $out"
out=$(xl-checkpoint xs-check "$g" 2>&1)
rc=$?
[ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -gt 1 ] && ok "xs-check reports them (exit $rc)" ||
    not_ok "xs-check reports oversized values" "exit $rc: $out"
c1=$(guest_counter "$g")
c2=$(guest_wait_counter "$g" "$((c1 + 1))" 60) && ok "guest keeps running after the second create ($c1 -> $c2)" ||
    not_ok "guest keeps running after the second create" "counter $c1 -> $c2"

guest_destroy "$g"
for i in $(xl-checkpoint list "$g" 2>/dev/null | awk 'NR > 1 { print $1 }'); do
    xl-checkpoint delete "$i" >/dev/null 2>&1
done
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
