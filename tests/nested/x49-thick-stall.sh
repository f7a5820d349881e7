#!/bin/bash
# x49-thick-stall.sh - (out of make check until the thick switch has passed on nested Xen; XLCP_THICK_SWITCH is off by default) a thick LV's checkpoint by the device-mapper switch (opt-in:
# XLCP_THICK_SWITCH=1) holds the guest's writes only for a table switch and LVM's own short
# suspend inside lvconvert (issue 15 item 4; libxl-plugin/src/lvm_thick.c): while a
# guest-side probe (guest/iowprobe.c: a 4 KiB O_DIRECT write every 10 ms, each timed with
# CLOCK_BOOTTIME) writes the thick disk, `xl checkpoint create` runs; the longest write
# must stay below 1 s (the older path, `lvcreate -s` of the held origin, took ~5 s). The
# same guest is then checkpointed by the older path (its origin given an LVM snapshot
# first, which makes the adapter take it) and both figures are reported with the noise
# floor (the probe with nothing else happening). Then: the snapshot holds the instant's
# data (a marker written before, overwritten after), LVM sees an ordinary read-only
# snapshot of the origin, vgck and vgcfgbackup are clean, verify passes, and delete leaves
# no volume and no device-mapper device of ours.
# timeout: 900
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t49
rm -rf "$XLCP_CATALOG_ROOT"
g=gthick
LIMIT_MS=1000
guest_start "$g" thick:128M && ok "guest with a thick LV" || bail "guest created"
guest_wait_ready "$g" 240 && ok "guest ready" || bail "guest ready"
idof() { printf '%s' "$1" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1; }
# the probe overwrites the disk's first MiB; the marker is at 8 MiB (4 KiB block 2048)
mark() { guest_run "$g" "printf '%-4096s' $1 > /run/m && dd if=/run/m of=/dev/xvda bs=4096 seek=2048 count=1 oflag=direct 2>/dev/null && echo marked" 60 | tail -n 1; }
snapmark() { dd if="/dev/$VG/$1" bs=4096 skip=2048 count=1 iflag=direct status=none | tr -d ' \0'; }
probe_start() {
    guest_run "$g" 'killall xlcp-iowprobe 2>/dev/null; sleep 1; rm -f /run/iow.log*
xlcp-iowprobe /dev/xvda /run/iow.log 20 fifo </dev/null >/dev/null 2>/run/iow.stderr &
echo $! > /run/iow.pid; sleep 1; kill -0 $(cat /run/iow.pid) && echo started || cat /run/iow.stderr' 60 |
        tail -n 1 | grep -qx started
}
# the longest write since the start (ms), or "null" if the probe stopped (a write failed)
probe_max() {
    guest_run "$g" 'kill -0 $(cat /run/iow.pid) 2>/dev/null && cut -d" " -f1 /run/iow.log.max || echo null' 60 |
        tail -n 1
}
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "null" && a + 0 < b + 0) }'; }

[ "$(mark before)" = marked ] && ok "marker 'before' written" || bail "marker written"
probe_start && ok "write probe runs on xvda" || bail "write probe" "$(guest_run "$g" 'cat /run/iow.stderr')"
sleep 8
noise=$(probe_max)
diag "FACT: noise floor: longest probe write over 8 s with nothing else running: $noise ms"

# ---- the switch ----
probe_start || bail "write probe restarted"
t0=$(now)
out=$(XLCP_THICK_SWITCH=1 watchdog 600 xl-checkpoint create --name t49 --json "$g" 2>&1)
rc=$?
wall=$(elapsed "$t0")
sleep 2
stall=$(probe_max)
id=$(idof "$out")
[ $rc -eq 0 ] && [ -n "$id" ] && ok "checkpoint $id (${wall}s)" || bail "checkpoint" "exit $rc: $out"
held=$(printf '%s' "$out" | sed -n 's/.*"writes_held_ms": *\([0-9.]*\).*/\1/p' | head -n 1)
diag "FACT: device-mapper switch: longest guest write $stall ms during create (${wall}s); the tool reports writes held ${held:-?} ms"
if below "$stall" "$LIMIT_MS"; then
    ok "the guest's longest write during the checkpoint took $stall ms (< $LIMIT_MS ms)"
else
    not_ok "the guest's longest write during the checkpoint below $LIMIT_MS ms" "$stall ms (noise $noise ms)"
fi
[ "$(mark after)" = marked ] || not_ok "marker 'after' written"

snap=$g-d0.xlcp.$id
got=$(snapmark "$snap")
[ "$got" = before ] && ok "the snapshot holds the instant's data ('$got')" ||
    not_ok "the snapshot holds the instant's data" "'$got'"
line=$(lvs --noheadings --separator '|' -o lv_attr,origin,lv_tags "$VG/$snap" 2>&1 | tr -d ' ')
[ "${line:0:1}" = s ] && [ "$(printf '%s' "$line" | cut -d'|' -f2-)" = "$g-d0|xlcp-$id" ] &&
    ok "LVM sees a snapshot of $g-d0, tagged ($line)" ||
    not_ok "LVM sees a snapshot of $g-d0" "'$line'"
[ "$(printf '%s' "$line" | cut -c2)" = r ] && ok "the snapshot is read-only" ||
    not_ok "the snapshot is read-only" "'$line'"
out=$(vgck "$VG" 2>&1)
[ $? -eq 0 ] && [ -z "$out" ] && ok "vgck $VG clean" || not_ok "vgck $VG clean" "$out"
out=$(vgcfgbackup -f "$XLCP_RUN/t49.vg" "$VG" 2>&1)
[ $? -eq 0 ] && ! printf '%s' "$out" | grep -qiE 'warn|error' && ok "vgcfgbackup clean" ||
    not_ok "vgcfgbackup clean" "$out"
ours=$(dmsetup ls 2>/dev/null | grep -c '^xlcp\.')
[ "$ours" = 0 ] && ok "no temporary device-mapper device left after create" ||
    not_ok "no temporary device left" "$(dmsetup ls | grep '^xlcp\.')"
check "verify $id" xl-checkpoint verify "$id"
diag "tables: $(dmsetup table | grep -E "$g" | tr '\n' ';')"

# ---- the older path, same guest, for comparison ----
# the origin has an LVM snapshot now (the first checkpoint's): even with the switch asked
# for, the adapter takes the older path, `lvcreate -s` of the held origin
probe_start || bail "write probe restarted"
t0=$(now)
out=$(XLCP_THICK_SWITCH=1 watchdog 600 xl-checkpoint create -n t49old --json "$g" 2>&1)
rc=$?
wall=$(elapsed "$t0")
sleep 2
old=$(probe_max)
id2=$(idof "$out")
[ $rc -eq 0 ] && [ -n "$id2" ] && ok "checkpoint by the older path $id2 (${wall}s)" ||
    not_ok "checkpoint by the older path" "exit $rc: $out"
held=$(printf '%s' "$out" | sed -n 's/.*"writes_held_ms": *\([0-9.]*\).*/\1/p' | head -n 1)
diag "FACT: older path (lvcreate -s of the held origin): longest guest write $old ms during create (${wall}s); writes held ${held:-?} ms"
diag "FACT: noise $noise ms; switch $stall ms; older path $old ms"
[ -z "$id2" ] || check "delete $id2" xl-checkpoint delete "$id2"

# ---- delete leaves nothing ----
check "delete $id" xl-checkpoint delete "$id"
left=$(lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c "xlcp")
[ "$left" = 0 ] && ok "delete removed the snapshot volumes" || not_ok "delete removed the snapshots" "$left left"
devs=$(dmsetup ls 2>/dev/null | grep -E "^xlcp\.|^$VG-$g--d0-real|\.xlcp\..*-cow" | tr '\n' ' ')
[ -z "$devs" ] && ok "no device-mapper device of the snapshot left" || not_ok "devices left" "$devs"
t=$(dmsetup table "$VG-$g--d0" 2>&1)
case "$t" in *" linear "*) ok "the origin has its own table again ($t)" ;;
*) not_ok "the origin's table" "$t" ;; esac
out=$(vgck "$VG" 2>&1)
[ $? -eq 0 ] && [ -z "$out" ] && ok "vgck $VG clean after delete" || not_ok "vgck after delete" "$out"
[ "$(probe_max)" != null ] && ok "the guest's disk took every write throughout" ||
    not_ok "the guest's writes" "$(guest_run "$g" 'cat /run/iow.log.err')"

guest_destroy "$g"
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
