#!/bin/bash
# t60-light.sh - checkpoints through the guest module (xlcp_guest.ko): with the module
# loaded the engine quiesces the guest's filesystems, announces its suspend, and libxl
# suspends it through the module's event channel (the light path, taken for an announced
# suspend only: no process freezer, no device PM walk; last-suspend says so). The
# guest keeps running with no device reconnect and no frozen processes; the manifest
# records the path and the quiesce; restoring that checkpoint gives a running guest whose
# disk and console work. Without the module (t30) the stock path is used.
# timeout: 1200
set -uo pipefail
. "$(dirname "$0")/lib.sh"
export XLCP_GUEST_MEMORY=${XLCP_GUEST_MEMORY:-256} # its bounds tell the light path's stop from a copy

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t60
rm -rf "$XLCP_CATALOG_ROOT"
KO=/lib/xlcp/extra/xlcp_guest.ko
g=glight
guest_start "$g" thin:256M && guest_wait_ready "$g" && ok "guest ready" || bail "guest ready"
if ! guest_run "$g" "test -f $KO" >/dev/null; then
    bail "no $KO in the guest (make module)"
fi
out=$(guest_run "$g" "mkfs.ext4 -q -F /dev/xvda && mkdir -p /mnt/d && mount /dev/xvda /mnt/d &&
echo before > /mnt/d/marker && sync && insmod $KO && echo loaded" 180)
[ "$(printf '%s' "$out" | tail -n 1)" = loaded ] && ok "module loaded, disk mounted" || bail "module loaded" "$out"
d=$(guest_domid "$g")
path=$(xenstore-read "/local/domain/$d/data/checkpoint/suspend-path" 2>/dev/null)
[ "$path" = light ] && ok "guest offers the light path" ||
    not_ok "guest offers the light path" "suspend-path '$path', fallback '$(xenstore-read "/local/domain/$d/data/checkpoint/fallback-reason" 2>/dev/null)'"
check "xs-check passes before the checkpoint" xl-checkpoint xs-check "$g"
guest_run "$g" 'sh -c "while :; do date >> /mnt/d/log; sleep 0.2; done" </dev/null >/dev/null 2>&1 & echo' >/dev/null
pm0=$(guest_run "$g" 'dmesg | grep -ciE "freezing user space|freezing remaining"')
blk0=$(guest_run "$g" 'dmesg | grep -ciE "blkfront"')
guest_probe_start "$g" 20

t0=$(now)
out=$(watchdog 600 xl-checkpoint create --quiesce --json "$g" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "xl-checkpoint create --quiesce ($(elapsed "$t0")s)" || bail "create --quiesce" "exit $rc: $out"
diag "$out"
id=$(printf '%s' "$out" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1)
gap=$(guest_probe_max "$g")
diag "guest-seen largest gap (light path): $gap ms"
dir=$(find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name "$id")
grep -q "light" "$dir/manifest.xml" && ok "manifest records the light suspend path" ||
    not_ok "manifest records the light path" "$(grep -i suspend "$dir/manifest.xml")"
ls=$(xenstore-read "/local/domain/$d/data/checkpoint/last-suspend" 2>/dev/null)
[ "$ls" = "light $id 1" ] && ok "the module took the light path for the announced checkpoint (last-suspend '$ls')" ||
    not_ok "the module took the light path for the announced checkpoint" "last-suspend '$ls', id '$id'"
xenstore-read "/local/domain/$d/data/checkpoint/suspend-announce" >/dev/null 2>&1 &&
    not_ok "no announcement left behind" "'$(xenstore-read "/local/domain/$d/data/checkpoint/suspend-announce")'" ||
    ok "no announcement left behind"
printf '%s' "$out" | grep -q '"quiesced": *true' && ok "manifest records the quiesce" ||
    not_ok "manifest records the quiesce" "$out"
c0=$(guest_counter "$g")
c1=$(guest_wait_counter "$g" "$((c0 + 1))" 60) && ok "guest keeps running ($c0 -> $c1)" ||
    not_ok "guest keeps running" "$c0 -> $c1; console: $(guest_console "$g" | tail -n 8)"
pm1=$(guest_run "$g" 'dmesg | grep -ciE "freezing user space|freezing remaining"')
blk1=$(guest_run "$g" 'dmesg | grep -ciE "blkfront"')
[ "$pm0" = "$pm1" ] && ok "no process freezer ran in the guest" || not_ok "no process freezer" "$pm0 -> $pm1"
[ "$blk0" = "$blk1" ] && ok "no block device reconnect" || not_ok "no block device reconnect" "$blk0 -> $blk1"
st=$(xenstore-read "/local/domain/$d/data/checkpoint/state" 2>/dev/null)
[ "$st" = "thawed $id" ] && ok "guest filesystems thawed (state '$st')" || not_ok "guest thawed" "state '$st'"
n0=$(guest_run "$g" 'wc -l < /mnt/d/log'); sleep 2; n1=$(guest_run "$g" 'wc -l < /mnt/d/log')
[ "${n1:-0}" -gt "${n0:-0}" ] && ok "writer continues after the thaw ($n0 -> $n1 lines)" ||
    not_ok "writer continues after the thaw" "$n0 -> $n1"
dt=$(xenstore-read "/local/domain/$d/data/checkpoint/downtime-ns" 2>/dev/null)
diag "guest-measured downtime of the light suspend: ${dt:-?} ns; last-id $(xenstore-read "/local/domain/$d/data/checkpoint/last-id" 2>/dev/null)"
check "xs-check passes after the checkpoint" xl-checkpoint xs-check "$g"
check "verify $id" xl-checkpoint verify "$id"

out=$(watchdog 600 xl-checkpoint restore --name "$g-r" "$id" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "restore of the light-path checkpoint" || bail "restore" "exit $rc: $out"
c=$(guest_wait_counter "$g-r" 0 90) && ok "restored guest runs (counter $c)" ||
    not_ok "restored guest runs" "console: $(guest_console "$g-r" | tail -n 15)"
out=$(guest_run "$g-r" 'cat /mnt/d/marker && echo new > /mnt/d/new && sync && cat /mnt/d/new' 90)
[ "$(printf '%s' "$out" | tr '\n' ' ')" = "before new" ] && ok "restored guest's disk works" ||
    not_ok "restored guest's disk works" "'$out'"
# the console: a client attached first (what the guest writes while no client listens
# may not reach a late one), then the guest writes to it
cap=$XLCP_RUN/console-$g-r.txt
(timeout 30 "$XL" console "$g-r" </dev/null >"$cap" 2>&1 &)
sleep 3
guest_run "$g-r" 'echo xlcp-console-check > /dev/hvc0' >/dev/null
for _ in $(seq 1 20); do
    grep -q "xlcp-console-check" "$cap" && break
    sleep 1
done
grep -q "xlcp-console-check" "$cap" && ok "restored guest's console works" ||
    not_ok "restored guest's console works" "$(tr -d '\r' <"$cap" | tail -n 5)"
guest_destroy "$g-r"
guest_destroy "$g"
xl-checkpoint delete "$id" >/dev/null 2>&1
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
