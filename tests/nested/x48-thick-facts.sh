#!/bin/bash
# x48-thick-facts.sh - (out of make check: its step E4 stalled in its one nested run, cause unknown) how long each way of taking a thick (dm-snapshot) LVM snapshot holds
# an origin's writes, measured by a writer that issues 4 KiB O_DIRECT writes one after the
# other and stamps each completion (bash's $EPOCHREALTIME: no fork per stamp): the longest
# gap between two completions during the operation is the stall a guest's write would see.
# The noise floor (the same writer with nothing else happening) is measured first.
#   E1  `lvcreate -s` alone (LVM's own suspend of the origin);
#   E2  dm suspend of the origin, then `lvcreate -s` (the adapter's design before issue 15);
#   E3  the COW made beforehand as an LV, then dm suspend + `lvconvert -s -Zn`;
#   E4  device-mapper switch by hand: LVM's "-real" and "-cow" devices made beforehand
#       (LVM's names and uuids), at the instant suspend + snapshot-origin + a temporary
#       snapshot + resume; then `lvconvert -s -Zn` with the temporary snapshot suspended,
#       so that the kernel hands its exceptions over to LVM's own snapshot device;
#   and `lvremove` of a snapshot.
# Each asserts only what must hold for the snapshot to be right (it holds the data of its
# instant, LVM and vgck see an ordinary snapshot, removal leaves no device); the times are
# facts (diag "FACT:" lines). Scratch VG on a loop device: vg0 is never touched.
# timeout: 480
set -uo pipefail
. "$(dirname "$0")/lib.sh"

V=xlcpt48
img=$XLCP_RUN/t48-pv.img
W=$XLCP_RUN/t48.writing
teardown() {
    rm -f "$W"
    wait 2>/dev/null
    dmsetup remove xlcpt48-tmp >/dev/null 2>&1
    vgchange -q -an "$V" >/dev/null 2>&1
    dmsetup ls 2>/dev/null | awk -v p="^$V-" '$1 ~ p { print $1 }' |
        while read -r d; do dmsetup remove -f "$d" >/dev/null 2>&1; done
    [ -z "${loop:-}" ] || losetup -d "$loop" 2>/dev/null
    rm -f "$img"
}
trap teardown EXIT
truncate -s 400M "$img"
loop=$(losetup -f --show "$img") || bail "losetup of a scratch PV"
lvm_run pvcreate -q -ff -y "$loop" >/dev/null && lvm_run vgcreate -q "$V" "$loop" >/dev/null &&
    ok "scratch VG $V on $loop" || bail "scratch VG $V on $loop"

# writer DEV LOG: 4 KiB O_DIRECT writes (blocks 16..271) until $W goes; a stamp per completion
writer() {
    local i=0
    while [ -e "$W" ]; do
        dd if=/dev/zero of="$1" bs=4k count=1 seek=$((16 + i % 256)) oflag=direct \
            conv=notrunc status=none || echo "ERR"
        echo "$EPOCHREALTIME"
        i=$((i + 1))
    done >"$2"
}
wstart() { : >"$W"; writer "$1" "$XLCP_RUN/t48.$2.log" & wpid=$!; sleep 1.5; }
wstop() { sleep 1.5; rm -f "$W"; wait "$wpid"; }
# maxgap LOG FROM TO: the longest gap (ms) between completions, among gaps ending in [FROM, TO+1]
maxgap() {
    awk -v a="$2" -v b="$3" '$1 == "ERR" { e++; next }
        p != "" && $1 >= a && p <= b + 1 { g = ($1 - p) * 1000; if (g > m) m = g; n++ }
        { p = $1 } END { printf "%.0f ms over %d writes%s", m, n, e ? ", " e " FAILED" : "" }' "$1"
}
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
# op NAME DEV CMD...: run CMD while the writer writes DEV; FACT line with stall and wall time
op() {
    local name=$1 dev=$2 t0 t1 rc
    shift 2
    wstart "$dev" "$name"
    t0=$EPOCHREALTIME
    "$@" >"$XLCP_RUN/t48.out" 2>&1
    rc=$?
    t1=$EPOCHREALTIME
    wstop
    diag "FACT: $name: exit $rc, wall $(ms "$t0" "$t1") ms, longest write $(maxgap "$XLCP_RUN/t48.$name.log" "$t0" "$t1")"
    [ $rc -eq 0 ] || diag "  $(tail -n 3 "$XLCP_RUN/t48.out" | tr '\n' ' ')"
    return $rc
}
dmn() { echo "$V-${1//-/--}"; } # dm name of LV $1 (layer appended by the caller)
mark() { printf '%-4096s' "$2" | dd of="$1" bs=4k count=1 oflag=direct conv=notrunc status=none; }
readmark() { dd if="$1" bs=4k count=1 iflag=direct status=none | tr -d ' \0'; }
lvuuid() { lvs --noheadings -o lv_uuid "$V/$1" | tr -d ' -'; }
VGUUID=
mm() { dmsetup info -c --noheadings -o major,minor --separator : "$1" | tr -d ' '; }
sect() { blockdev --getsz "$1"; }

lvm_run lvcreate -q -y -W y -L 64M -n o "$V" >/dev/null || bail "origin $V/o"
VGUUID=$(vgs --noheadings -o vg_uuid "$V" | tr -d ' -')
O=/dev/$V/o

# noise floor
wstart "$O" noise
t0=$EPOCHREALTIME
sleep 3
t1=$EPOCHREALTIME
wstop
diag "FACT: noise (nothing else running): longest write $(maxgap "$XLCP_RUN/t48.noise.log" "$t0" "$t1")"

# E1: lvcreate -s alone
mark "$O" E1-BEFORE
op E1-lvcreate-s "$O" lvm_run lvcreate -q -y -s -L 16M -n e1 "$V/o" && ok "E1 lvcreate -s" ||
    not_ok "E1 lvcreate -s"
op E1-lvremove-snap "$O" lvm_run lvremove -q -y "$V/e1" && ok "E1 lvremove of the snapshot" ||
    not_ok "E1 lvremove"

# E2: our suspend, then lvcreate -s (finds the origin suspended, resumes it)
mark "$O" E2-BEFORE
e2() { dmsetup suspend "$(dmn o)" && lvm_run lvcreate -q -y -s -L 16M -n e2 "$V/o"; }
op E2-suspend+lvcreate-s "$O" e2 && ok "E2 suspend + lvcreate -s" || not_ok "E2"
dmsetup info -c --noheadings -o attr "$(dmn o)" | grep -q s && {
    not_ok "E2 origin left suspended"
    dmsetup resume "$(dmn o)"
}
lvm_run lvremove -q -y "$V/e2" >/dev/null

# E3: COW as an LV made before; suspend; lvconvert -s -Zn
lvm_run lvcreate -q -y -Zy -L 16M -n e3 "$V" >/dev/null &&
    lvm_run lvchange -q -an "$V/e3" >/dev/null || bail "E3 cow LV"
mark "$O" E3-BEFORE
e3() {
    dmsetup suspend "$(dmn o)" &&
        lvm_run lvconvert -q -y -s -Zn "$V/o" "$V/e3"
}
if op E3-suspend+lvconvert-s "$O" e3; then
    ok "E3 suspend + lvconvert -s -Zn of a prepared COW"
    dmsetup info -c --noheadings -o attr "$(dmn o)" | grep -q s && {
        not_ok "E3 origin left suspended"
        dmsetup resume "$(dmn o)"
    }
    mark "$O" E3-AFTER
    [ "$(readmark "/dev/$V/e3")" = E3-BEFORE ] && ok "E3 snapshot holds its instant" ||
        not_ok "E3 snapshot holds its instant" "$(readmark "/dev/$V/e3")"
    diag "E3 lvs: $(lvs --noheadings -o lv_name,lv_attr,origin,data_percent "$V" | tr '\n' ';')"
else
    not_ok "E3 suspend + lvconvert -s -Zn"
    dmsetup resume "$(dmn o)" 2>/dev/null
fi
lvm_run lvremove -q -y "$V/e3" >/dev/null
# E3b: lvconvert -s -Zn on a running origin: LVM's own window only
lvm_run lvcreate -q -y -Zy -L 16M -n e3b "$V" >/dev/null &&
    lvm_run lvchange -q -an "$V/e3b" >/dev/null || bail "E3b cow LV"
op E3b-lvconvert-s "$O" lvm_run lvconvert -q -y -s -Zn "$V/o" "$V/e3b" &&
    ok "E3b lvconvert -s -Zn of a running origin" || not_ok "E3b lvconvert -s"
lvm_run lvremove -q -y "$V/e3b" >/dev/null

# E4: the switch by hand, LVM catches up with lvconvert + exception handover
lvm_run lvcreate -q -y -Zy -L 16M -n e4 "$V" >/dev/null || bail "E4 cow LV"
cowtable=$(dmsetup table "$(dmn e4)") && lvm_run lvchange -q -an "$V/e4" >/dev/null ||
    bail "E4 cow table"
otable=$(dmsetup table "$(dmn o)")
OU=$(lvuuid o) && EU=$(lvuuid e4) || bail "E4 uuids"
diag "E4 origin table: $otable; cow table: $cowtable"
dmsetup create "$(dmn o)-real" -u "LVM-$VGUUID$OU-real" --table "$otable" &&
    dmsetup create "$(dmn e4)-cow" -u "LVM-$VGUUID$EU-cow" --table "$cowtable" ||
    bail "E4 -real and -cow devices"
dd if=/dev/zero of="/dev/mapper/$(dmn e4)-cow" bs=4k count=1 oflag=direct status=none
N=$(sect "$O")
REAL=$(mm "$(dmn o)-real")
COW=$(mm "$(dmn e4)-cow")
mark "$O" E4-BEFORE
e4() {
    dmsetup suspend "$(dmn o)" &&
        dmsetup load "$(dmn o)" --table "0 $N snapshot-origin $REAL" &&
        dmsetup create xlcpt48-tmp --table "0 $N snapshot $REAL $COW P 8" &&
        dmsetup resume "$(dmn o)"
}
if op E4-switch "$O" e4; then
    ok "E4 device-mapper switch"
else
    not_ok "E4 device-mapper switch"
    dmsetup resume "$(dmn o)"
fi
mark "$O" E4-AFTER
[ "$(readmark /dev/mapper/xlcpt48-tmp)" = E4-BEFORE ] && ok "E4 temporary snapshot holds its instant" ||
    not_ok "E4 temporary snapshot holds its instant" "$(readmark /dev/mapper/xlcpt48-tmp)"
diag "E4 tmp status: $(dmsetup status xlcpt48-tmp)"
op E4-suspend-tmp "$O" dmsetup suspend xlcpt48-tmp
op E4-lvconvert-s "$O" lvm_run lvconvert -q -y -s -Zn "$V/o" "$V/e4" &&
    ok "E4 lvconvert -s -Zn with LVM's devices in place" || not_ok "E4 lvconvert"
diag "E4 after lvconvert: $(dmsetup ls --tree 2>&1 | tr '\n' ';')"
diag "E4 statuses: $(dmsetup status 2>&1 | grep -E "$V|xlcpt48" | tr '\n' ';')"
diag "E4 tables: $(dmsetup table 2>&1 | grep -E "$V|xlcpt48" | tr '\n' ';')"
op E4-remove-tmp "$O" dmsetup remove xlcpt48-tmp && ok "E4 temporary snapshot removed" ||
    not_ok "E4 remove tmp"
[ "$(readmark "/dev/$V/e4")" = E4-BEFORE ] && ok "E4 LVM's snapshot holds the instant" ||
    not_ok "E4 LVM's snapshot holds the instant" "$(readmark "/dev/$V/e4")"
mark "$O" E4-AFTER2
[ "$(readmark "/dev/$V/e4")" = E4-BEFORE ] && ok "E4 snapshot still holds it after more writes" ||
    not_ok "E4 snapshot after more writes" "$(readmark "/dev/$V/e4")"
diag "E4 lvs: $(lvs --noheadings -o lv_name,lv_attr,origin,data_percent "$V" 2>&1 | tr '\n' ';')"
check "E4 vgck clean" vgck "$V"
out=$(vgck "$V" 2>&1)
[ -z "$out" ] || diag "vgck said: $out"
check "E4 vgcfgbackup" vgcfgbackup -f "$XLCP_RUN/t48.vgcfg" "$V"
lvm_run lvchange -q -an "$V/o" >/dev/null && lvm_run lvchange -q -ay "$V/o" >/dev/null &&
    [ "$(readmark "/dev/$V/e4")" = E4-BEFORE ] && ok "E4 snapshot survives deactivate/activate" ||
    not_ok "E4 snapshot after reactivation" "$(readmark "/dev/$V/e4" 2>&1)"
op E4-lvremove-snap "$O" lvm_run lvremove -q -y "$V/e4" && ok "E4 lvremove" || not_ok "E4 lvremove"
left=$(dmsetup ls | grep -E "^$V-o-|xlcpt48-tmp|^$V-e4")
[ -z "$left" ] && ok "E4 nothing left behind" || not_ok "E4 left behind" "$left"

lvm_run vgremove -q -ff -y "$V" >/dev/null 2>&1
lvm_run pvremove -q -ff -y "$loop" >/dev/null 2>&1
done_testing
