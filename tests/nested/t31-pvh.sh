#!/bin/bash
# t31-pvh.sh - a PVH guest: Xen tracks its dirty pages with HAP (which Debian's Xen has,
# unlike shadow paging for PV), so `xl checkpoint create` copies its memory live, while it
# runs, and stops it only for the last pages. The manifest records a live copy, the guest
# keeps running, the checkpoint verifies and restores.
# timeout: 900
set -uo pipefail
. "$(dirname "$0")/lib.sh"
export XLCP_GUEST_MEMORY=${XLCP_GUEST_MEMORY:-256} # its bound compares with xl save -c of the same guest

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t31
rm -rf "$XLCP_CATALOG_ROOT"
g=gpvh
XLCP_GUEST_TYPE=pvh guest_start "$g" thin:256M && ok "PVH guest created" || bail "PVH guest created"
guest_wait_ready "$g" 240 && ok "PVH guest ready" || bail "PVH guest ready"
guest_probe_start "$g" 20
out=$(watchdog 600 xl-checkpoint create --json "$g" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "checkpoint of the PVH guest" || bail "checkpoint of the PVH guest" "exit $rc: $out"
id=$(printf '%s' "$out" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1)
printf '%s' "$out" | grep -q '"live": *true' && ok "memory copied live" ||
    not_ok "memory copied live" "$out"
gap_cp=$(guest_probe_max "$g")
diag "downtime $(printf '%s' "$out" | sed -n 's/.*"downtime_ms": *\([0-9.]*\).*/\1/p') ms, total $(printf '%s' "$out" | sed -n 's/.*"total_ms": *\([0-9.]*\).*/\1/p') ms; guest-seen largest gap $gap_cp ms"
dir=$(find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name "$id")
diag "$(grep -E '<step ' "$dir/manifest.xml")"
c0=$(guest_counter "$g")
c1=$(guest_wait_counter "$g" "$((c0 + 1))" 60) && ok "guest keeps running ($c0 -> $c1)" || not_ok "guest keeps running"
check "verify" xl-checkpoint verify "$id"
# The claim, measured in the same test on the same guest: a PVH checkpoint stops the
# guest for a small part of what `xl save -c` does (both through the stock path: this
# guest has no module). Both gaps are the guest's own CLOCK_BOOTTIME probe. Measured
# ratios on nested Xen: 1/14, 1/12, 1/9.8 (2026-12-02: 656 ms vs 6418 ms, of which Xen had
# the guest stopped 318 ms: the rest is the probe's noise under emulation, 300-700 ms). A
# tenth sits at that noise floor; a fifth is far below the alternative and above the noise.
# make bench reports the ratio itself.
guest_probe_start "$g" 20
sleep 1
if watchdog 300 "$XL" save -c "$g" /var/tmp/t31.save >/dev/null 2>&1; then
    gap_save=$(guest_probe_max "$g")
    awk -v a="$gap_cp" -v b="$gap_save" 'BEGIN { exit !(a > 0 && b > 0 && a * 5 < b) }' &&
        ok "checkpoint's guest gap $gap_cp ms < 1/5 of xl save -c's $gap_save ms" ||
        not_ok "checkpoint's guest gap < 1/5 of xl save -c's" "checkpoint $gap_cp ms, xl save -c $gap_save ms"
else
    not_ok "xl save -c of the PVH guest"
fi
rm -f /var/tmp/t31.save
out=$(watchdog 600 xl-checkpoint restore --name "$g-r" "$id" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "restore" || not_ok "restore" "exit $rc: $out"
c=$(guest_wait_counter "$g-r" 0 120) && ok "restored PVH guest runs (counter $c)" ||
    not_ok "restored PVH guest runs" "$(guest_console "$g-r" | tail -n 10)"
guest_destroy "$g-r"
guest_destroy "$g"
xl-checkpoint delete "$id" >/dev/null 2>&1
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
