#!/bin/bash
# d10-demo.sh - the README's main job (make demo): on nested Xen, a PVH guest with a thick
# and a thin LVM disk and the guest module loaded is checkpointed live with
# `xl checkpoint create` (memory copied while it runs, a light suspend of some tens of
# milliseconds, both disks captured inside it), listed, shown, verified, and restored
# beside the original; both run. Each step is printed.
# timeout: 1200
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/lib/xl-checkpoint
show() { # CMD...: print the command and its output as TAP comments, return its status
    local out rc
    out=$("$@" 2>&1)
    rc=$?
    diag "\$ $*"
    diag "$out"
    return $rc
}
g=demo
XLCP_GUEST_TYPE=pvh guest_start "$g" thick:128M thin:128M && guest_wait_ready "$g" 240 &&
    ok "PVH guest '$g' running with disks $VG/$g-d0 (thick) and $VG/$g-d1 (thin)" ||
    bail "demo guest"
diag "guest: $(guest_run "$g" 'insmod /lib/xlcp/extra/xlcp_guest.ko && dmesg | grep xlcp_guest | tail -n 1' 60)"
guest_run "$g" 'mkfs.ext4 -q -F /dev/xvda && mkdir -p /mnt/d && mount /dev/xvda /mnt/d && echo "written before the checkpoint" > /mnt/d/note && sync' 180 >/dev/null
guest_probe_start "$g" 20
show "$XL" list
show xl -v checkpoint create --name demo "$g" && ok "xl checkpoint create $g" || bail "xl checkpoint create"
id=$(xl-checkpoint list "$g" | awk 'NR > 1 { print $1 }' | tail -n 1)
diag "largest gap the guest saw in its CLOCK_BOOTTIME: $(guest_probe_max "$g") ms"
guest_run "$g" 'echo "written after the checkpoint" > /mnt/d/note && sync' >/dev/null
show xl checkpoint list && ok "list"
show xl checkpoint info "$id" && ok "info"
show xl checkpoint verify "$id" && ok "verify"
show lvs -o lv_name,origin,lv_size,lv_tags "$VG"
show xl checkpoint restore --name "$g-restored" "$id" && ok "restore beside the original" || bail "restore"
guest_wait_counter "$g-restored" 0 90 >/dev/null
show "$XL" list
diag "original sees:  $(guest_run "$g" 'cat /mnt/d/note')"
diag "restored sees:  $(guest_run "$g-restored" 'cat /mnt/d/note')"
[ "$(guest_run "$g-restored" 'cat /mnt/d/note')" = "written before the checkpoint" ] &&
    ok "the restored guest is back at the checkpoint" || not_ok "restored guest at the checkpoint"
guest_destroy "$g-restored"
guest_destroy "$g"
xl checkpoint delete "$id" >/dev/null 2>&1
lv_cleanup "$g"
done_testing
