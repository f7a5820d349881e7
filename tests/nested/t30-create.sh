#!/bin/bash
# t30-create.sh - `xl checkpoint create` of a running PV guest with one thick and one thin
# LV disk: the guest keeps running (its counter advances, its kernel logs no device
# reconnect), the catalog holds one checkpoint that verifies, whose manifest passes the
# schema and names both snapshot volumes, which exist, are tagged, and hold the data the
# guest had written before the checkpoint (not what it wrote after).
# timeout: 900
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t30
rm -rf "$XLCP_CATALOG_ROOT"
g=gcreate
guest_start "$g" thick:256M thin:256M && ok "guest with a thick and a thin LV created" ||
    bail "guest created"
guest_wait_ready "$g" && ok "guest ready" || bail "guest ready"
out=$(guest_run "$g" 'for d in xvda xvdb; do mkfs.ext4 -q -F /dev/$d && mkdir -p /mnt/$d &&
    mount /dev/$d /mnt/$d && echo before > /mnt/$d/marker || exit 1; done; sync; echo done' 240)
[ "$(printf '%s' "$out" | tail -n 1)" = done ] && ok "guest wrote both disks" ||
    bail "guest wrote both disks" "output '$out'"
dmesg0=$(guest_run "$g" 'dmesg | grep -ciE "blkfront|xen-blkfront|xenbus.*(connect|backend)"')
guest_probe_start "$g" 50
c0=$(guest_counter "$g")

t0=$(now)
out=$(XLCP_DEBUG=1 watchdog 600 xl checkpoint create --name t30 --json "$g" 2>"$XLCP_PAYLOAD/results/t30-create-debug.log")
rc=$?
[ $rc -eq 0 ] && ok "xl checkpoint create (through the dispatcher) $(elapsed "$t0")s" ||
    not_ok "xl checkpoint create" "exit $rc: $out $(tail -n 30 "$XLCP_PAYLOAD/results/t30-create-debug.log")
console: $(guest_console "$g" | tail -n 30)"
diag "$out"
id=$(printf '%s' "$out" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1)
[ -n "$id" ] && ok "create printed the checkpoint id $id" || bail "no id in create's output"

c1=$(guest_wait_counter "$g" "$((c0 + 2))" 60) &&
    ok "guest keeps running after the checkpoint ($c0 -> $c1)" ||
    not_ok "guest keeps running" "$c0 -> $c1; console: $(guest_console "$g" | tail -n 5)"
guest_run "$g" 'echo after > /mnt/xvda/marker; echo after > /mnt/xvdb/marker; sync' >/dev/null
dmesg1=$(guest_run "$g" 'dmesg | grep -ciE "blkfront|xen-blkfront|xenbus.*(connect|backend)"')
[ "$dmesg0" = "$dmesg1" ] && ok "no block device reconnect in the guest's kernel log ($dmesg1 lines before and after)" ||
    not_ok "no device reconnect in the guest" "$dmesg0 lines before, $dmesg1 after: $(guest_run "$g" 'dmesg | tail -n 15')"
w=$(guest_run "$g" 'touch /mnt/xvda/w && echo writable')
[ "$w" = writable ] && ok "guest disk still writable" || not_ok "guest disk still writable" "$w"
diag "guest-seen largest gap (CLOCK_BOOTTIME probe): $(guest_probe_max "$g") ms"

n=$(xl-checkpoint list "$g" | grep -c "$id")
[ "$n" = 1 ] && ok "list shows the checkpoint" || not_ok "list shows the checkpoint" "$(xl-checkpoint list "$g")"
check "verify $id" xl-checkpoint verify "$id"
info=$(xl-checkpoint info --json "$id" 2>&1)
diag "$info"
dir=$(find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name "$id")
[ -n "$dir" ] && [ -f "$dir/manifest.xml" ] && ok "checkpoint directory $dir" || not_ok "checkpoint directory" "none for $id"
if command -v xmllint >/dev/null; then
    check "manifest passes the RelaxNG schema (xmllint)" \
        xmllint --noout --relaxng "$XLCP_DATADIR/manifest.rng" "$dir/manifest.xml"
else
    skip "xmllint" "not installed in dom0 (verify already validated the manifest against the schema)"
fi
perm=$(stat -c %a "$dir/memory.xl" 2>/dev/null)
[ "$perm" = 600 ] && ok "memory image is mode 0600" || not_ok "memory image mode" "$perm"
grep -q "Xen saved domain, xl format" "$dir/memory.xl" && ok "memory image starts with the xl header" ||
    not_ok "memory image is an xl save file"
for d in 0 1; do
    snap=$g-d$d.xlcp.$id
    tags=$(lvs --noheadings -o lv_tags "$VG/$snap" 2>/dev/null | tr -d ' ')
    [ "$tags" = "xlcp-$id" ] && ok "snapshot $VG/$snap exists, tagged $tags" ||
        not_ok "snapshot $VG/$snap" "tags '$tags'"
    grep -q "$snap" "$dir/manifest.xml" && ok "manifest names $snap" || not_ok "manifest names $snap"
    lvchange -q -ay -K "$VG/$snap" >/dev/null 2>&1
    mkdir -p /mnt/snap
    got=$(mount -o ro,noload "/dev/$VG/$snap" /mnt/snap 2>&1 && cat /mnt/snap/marker 2>&1)
    umount /mnt/snap 2>/dev/null
    [ "$got" = before ] && ok "snapshot of xvd${_letters:$d:1} holds the data from before the checkpoint" ||
        not_ok "snapshot of disk $d holds the data from before" "marker '$got'"
done
grep -qE '<suspend-path>|suspend-path' "$dir/manifest.xml" && diag "$(grep -E 'downtime|suspend-path|step ' "$dir/manifest.xml" | head -n 20)"

check "delete $id" xl-checkpoint delete "$id"
left=$(lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c "xlcp")
[ "$left" = 0 ] && ok "delete removed the snapshot volumes" || not_ok "delete removed the snapshots" "$left left"
[ ! -e "$dir" ] && ok "delete removed the checkpoint directory" || not_ok "delete removed the directory"

guest_destroy "$g"
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
