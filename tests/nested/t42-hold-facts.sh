#!/bin/bash
# t42-hold-facts.sh - what really releases a device-mapper hold (a suspended origin) on
# this LVM, as the disk adapter's lock design (lvm.h, "what releases a hold") relies on.
# No guest: LVs are suspended with dmsetup, then LVM commands a concurrent checkpoint or
# an administrator might run in the same VG are tried one at a time; after each, the test
# records whether the held device is still suspended and whether a write queued on it
# completed (its /sys/.../stat write counter). Commands that are expected to leave the
# hold alone are asserted; the others are reported as facts (diag lines) for the log.
# Everything happens in a scratch VG of its own on a loop device: some of these commands
# fail half-way on a held thin LV and leave a pool whose kernel and LVM transaction ids
# disagree ("unexpected transaction id"), after which that pool makes no new thin LVs.
# The suite's vg0/pool, which every later test's guests use, is never touched.
# timeout: 600
set -uo pipefail
. "$(dirname "$0")/lib.sh"

VG=xlcpt42
img=$XLCP_RUN/t42-pv.img
teardown() { # deactivate whatever is left (a damaged pool included), then drop the PV
    vgchange -q -an "$VG" >/dev/null 2>&1
    dmsetup ls 2>/dev/null | awk -v p="^$VG-" '$1 ~ p { print $1 }' |
        while read -r d; do dmsetup remove -f "$d" >/dev/null 2>&1; done
    [ -z "${loop:-}" ] || losetup -d "$loop" 2>/dev/null
    rm -f "$img"
}
trap teardown EXIT
truncate -s 320M "$img"
loop=$(losetup -f --show "$img") || bail "losetup of a scratch PV"
lvm_run pvcreate -q -ff -y "$loop" >/dev/null &&
    lvm_run vgcreate -q "$VG" "$loop" >/dev/null &&
    lvm_run lvcreate -q -y --type thin-pool -L 128M -n pool "$VG" >/dev/null &&
    ok "scratch VG $VG with a thin pool on $loop" || bail "scratch VG $VG on $loop"

T=30 # per LVM command: one that blocks on a suspended device must not stall the run
dm() { echo "$VG-${1//-/--}"; }
suspended() { dmsetup info -c --noheadings -o attr "$(dm "$1")" 2>/dev/null | grep -q s; }
writes() { # LV: completed writes of its dm device
    local mm
    mm=$(dmsetup info -c --noheadings -o major,minor --separator : "$(dm "$1")") || return 1
    awk '{ print $5 }' "/sys/dev/block/$mm/stat"
}
events() { dmsetup info -c --noheadings -o events "$(dm "$1")" 2>/dev/null | tr -d ' '; }
# hold LV: suspend it and queue one write behind the hold (a background dd)
hold() {
    dmsetup suspend "$(dm "$1")" || return 1
    (dd if=/dev/urandom of="/dev/$VG/$1" bs=4k count=1 oflag=direct conv=notrunc 2>/dev/null) &
    sleep 1
}
unhold() { dmsetup resume "$(dm "$1")" 2>/dev/null; wait 2>/dev/null; }
# probe LV DESC EXPECT CMD...: run CMD while LV is held; EXPECT kept|any
probe() {
    local lv=$1 desc=$2 expect=$3 w0 e0 w1 e1 rc state
    shift 3
    w0=$(writes "$lv")
    e0=$(events "$lv")
    timeout -k 5 "$T" "$@" >"$XLCP_RUN/t42.out" 2>&1
    rc=$?
    w1=$(writes "$lv")
    e1=$(events "$lv")
    suspended "$lv" && state=kept || state=released
    [ "$w1" = "$w0" ] || state="$state, a held write completed"
    diag "FACT: $desc: exit $rc; hold on $lv $state (writes $w0 -> $w1, events $e0 -> $e1)"
    [ $rc -eq 0 ] || diag "  $(tail -n 2 "$XLCP_RUN/t42.out" | tr '\n' ' ')"
    if [ "$expect" = kept ]; then
        [ "$state" = kept ] && ok "$desc leaves the hold on $lv" ||
            not_ok "$desc leaves the hold on $lv" "$state"
    fi
}

lvm_run lvcreate -q -y -W y -L 8M -n fa "$VG" >/dev/null &&
    lvm_run lvcreate -q -y -W y -L 8M -n fb "$VG" >/dev/null &&
    lvm_run lvcreate -q -y -W y -V 8M -T "$VG/pool" -n fta >/dev/null &&
    lvm_run lvcreate -q -y -W y -V 8M -T "$VG/pool" -n ftb >/dev/null &&
    ok "volumes fa fb (thick), fta ftb (thin)" || bail "volumes"

# thick origin held
hold fa || bail "hold fa"
probe fa "lvs of the VG" any lvs "$VG"
probe fa "thick lvcreate -s of another LV" kept lvcreate -q -y -s -L 8M -n fb-s "$VG/fb"
probe fa "thin lvcreate -V in the pool" kept lvcreate -q -y -V 8M -T "$VG/pool" -n ftc
probe fa "thin lvcreate -s of a thin LV" kept lvcreate -q -y -s -kn -n ftb-s "$VG/ftb"
probe fa "lvremove of another snapshot" kept lvremove -q -f -y "$VG/fb-s"
probe fa "lvchange --refresh of another LV" kept lvchange --refresh "$VG/fb"
probe fa "lvchange -pr of another LV" kept lvchange -q -y -pr "$VG/fb"
probe fa "lvchange --refresh of the held LV" any lvchange --refresh "$VG/fa"
unhold fa
hold fa || bail "hold fa again"
probe fa "vgchange --refresh" any vgchange --refresh "$VG"
unhold fa
hold fa || bail "hold fa again"
probe fa "dmsetup resume" any dmsetup resume "$(dm fa)"
unhold fa

# thin origin held
hold fta || bail "hold fta"
probe fta "thin lvcreate -V in the same pool" kept lvcreate -q -y -V 8M -T "$VG/pool" -n ftd
probe fta "thin lvcreate -s of another thin LV" kept lvcreate -q -y -s -kn -n ftb-s2 "$VG/ftb"
probe fta "thick lvcreate -s of a thick LV" kept lvcreate -q -y -s -L 8M -n fb-s2 "$VG/fb"
probe fta "lvremove of a thin LV in the pool" kept lvremove -q -f -y "$VG/ftd"
probe fta "lvchange --refresh of the pool" any lvchange --refresh "$VG/pool"
unhold fta
hold fta || bail "hold fta again"
probe fta "thin lvcreate -s of the held LV" any lvcreate -q -y -s -kn -n fta-s "$VG/fta"
unhold fta

lvm_run vgremove -q -ff -y "$VG" >/dev/null 2>&1 || diag "vgremove $VG failed (the damaged pool?)"
lvm_run pvremove -q -ff -y "$loop" >/dev/null 2>&1
done_testing
