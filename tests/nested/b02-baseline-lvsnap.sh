#!/bin/bash
# b02-baseline-lvsnap.sh - (run by `make bench` before the benchmarks) the disk half of the baseline: `xl pause` + `lvcreate -s` of the
# guest's LV + `xl unpause`, for a thick and a thin LV; the guest keeps running and the
# snapshot exists and holds the guest's data.
# timeout: 600
set -uo pipefail
. "$(dirname "$0")/lib.sh"
export XLCP_GUEST_MEMORY=${XLCP_GUEST_MEMORY:-256} # the benchmarks' size

for kind in thick thin; do
    g=g$kind
    guest_start "$g" "$kind:256M" && ok "$kind: guest created" || bail "$kind: guest created"
    guest_wait_ready "$g" && ok "$kind: guest ready" || bail "$kind: guest ready"
    out=$(guest_run "$g" 'mkfs.ext4 -q -F /dev/xvda && mkdir -p /mnt/d && mount /dev/xvda /mnt/d && echo before-snap >/mnt/d/marker && sync && echo done' 180)
    rc=$?
    [ "$(printf '%s' "$out" | tail -n 1)" = done ] && ok "$kind: guest wrote its disk" ||
        not_ok "$kind: guest wrote its disk" "rc $rc, output '$out'; console: $(guest_console "$g" | tail -n 5)"
    if [ "$kind" = thick ]; then snapargs=(-L 128M); else snapargs=(); fi
    guest_probe_start "$g" 100
    c0=$(guest_counter "$g")
    t0=$(now)
    "$XL" pause "$g" &&
        lvm_run lvcreate -q -y -s "${snapargs[@]}" -n "$g-snap" "$VG/$g-d0" >/dev/null
    rc=$?
    "$XL" unpause "$g"
    [ $rc -eq 0 ] && ok "$kind: pause + lvcreate -s + unpause ($(elapsed "$t0")s)" ||
        not_ok "$kind: pause + lvcreate -s + unpause" "lvcreate exit $rc"
    diag "$kind: guest-seen largest gap around pause + snapshot: $(guest_probe_max "$g") ms"
    origin=$(lvs --noheadings -o origin "$VG/$g-snap" 2>/dev/null | tr -d ' ')
    [ "$origin" = "$g-d0" ] && ok "$kind: snapshot $VG/$g-snap of $g-d0 exists" ||
        not_ok "$kind: snapshot exists" "origin '$origin'"
    c1=$(guest_wait_counter "$g" "$((c0 + 2))" 60) &&
        ok "$kind: guest keeps running ($c0 -> $c1)" || not_ok "$kind: guest keeps running" "$c0 -> $c1"
    guest_run "$g" 'echo after-snap >/mnt/d/marker && sync' >/dev/null
    # the snapshot keeps the data of the moment it was taken
    [ "$kind" = thin ] && lvchange -q -ay -K "$VG/$g-snap" >/dev/null 2>&1
    mkdir -p /mnt/snap
    got=$(mount -o ro "/dev/$VG/$g-snap" /mnt/snap 2>&1 && cat /mnt/snap/marker 2>&1)
    umount /mnt/snap 2>/dev/null
    [ "$got" = before-snap ] && ok "$kind: snapshot holds the data from before it" ||
        not_ok "$kind: snapshot holds the data from before it" "marker in snapshot: '$got'"
    guest_destroy "$g"
    lv_cleanup "$g"
done
done_testing
