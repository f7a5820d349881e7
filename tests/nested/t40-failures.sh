#!/bin/bash
# t40-failures.sh - failure paths of `xl checkpoint create` on real Xen. Each one must give
# its documented exit status and a message naming the cause, leave the guest running and
# leave nothing behind (no catalog entry, no snapshot volume):
#   no such domain; a paused domain; a disk that is not LVM (and --skip-non-lvm);
#   a volume group without room for the snapshot, a catalog without room for the memory
#   image (both refused before the guest is touched);
#   (a guest that never suspends: t45); a guest that crashes during the live copy,
#   then a checkpoint of the crashed domain; the tool killed with SIGKILL during the live
#   copy (guest still running, the next run cleans the leftovers).
# timeout: 1500
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t40
rm -rf "$XLCP_CATALOG_ROOT"
entries() { find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | wc -l; } # not .lock
snapvols() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c '\.xlcp\.'; }
nothing_left() { # DESC
    local e s
    e=$(entries)
    s=$(snapvols)
    [ "$e" = 0 ] && [ "$s" = 0 ] && ok "$1: nothing left behind" ||
        not_ok "$1: nothing left behind" "$e catalog entries (incl. temporary), $s snapshot volumes"
}
expect_exit() { # DESC WANT PATTERN CMD...
    local desc=$1 want=$2 pat=$3 out rc
    shift 3
    out=$("$@" 2>&1)
    rc=$?
    if [ "$rc" = "$want" ] && printf '%s' "$out" | grep -qiE "$pat"; then
        ok "$desc: exit $rc, \"$(printf '%s' "$out" | tail -n 1 | cut -c1-160)\""
    else
        not_ok "$desc" "exit $rc (want $want), output: $out"
    fi
}
# never_stopped DESC: a refusal before the guest is touched: Xen never had the domain
# paused or suspended meanwhile (xlcp-domwatch from domwatch_start on, polled every 2 ms:
# any stop of the guest lasts far longer), whatever the guest's own clock saw under
# emulation (its gap, with the probe's noise, is only reported)
never_stopped() {
    local w
    w=$(domwatch_stop) || { not_ok "$1: guest not stopped" "the dom0 watcher gave no figure"; return; }
    [ "${w#* }" = 0 ] && ok "$1: guest not stopped (Xen never had it paused or suspended; guest's largest gap $(guest_probe_max "$g") ms)" ||
        not_ok "$1: guest not stopped" "Xen had it stopped: $w (longest ms, count)"
}
running() { # NAME DESC
    local c0 c1
    c0=$(guest_counter "$1")
    c1=$(guest_wait_counter "$1" "$((c0 + 1))" 60) && ok "$2: guest still running ($c0 -> $c1)" ||
        not_ok "$2: guest still running" "counter $c0 -> $c1; $("$XL" list "$1" 2>&1 | tail -n 1)"
}

expect_exit "no such domain" 3 "no domain" xl-checkpoint create no-such-guest
expect_exit "no such domain id" 3 "no domain" xl-checkpoint create 4000

# A loop device is a block device, but not an LVM volume.
truncate -s 64M "$XLCP_RUN/raw.img"
loop=$(losetup -f --show "$XLCP_RUN/raw.img") && ok "loop device $loop" || bail "losetup"
g=gfail
guest_start "$g" thick:256M "raw:$loop" && ok "guest with an LV and a loop device created" ||
    bail "guest created"
guest_wait_ready "$g" && ok "guest ready" || bail "guest ready"

"$XL" pause "$g"
expect_exit "paused domain" 4 "paused" xl-checkpoint create "$g"
"$XL" unpause "$g"
nothing_left "paused domain"

expect_exit "disk that is not LVM" 9 "xvdb.*not an LVM" xl-checkpoint create "$g"
nothing_left "disk that is not LVM"
running "$g" "disk that is not LVM"

# VG without room: a thick snapshot as large as the whole VG.
guest_probe_start "$g" 50
domwatch_start "$g"
expect_exit "VG without room" 6 "step prepare.*(free|room|space)" \
    xl-checkpoint create --skip-non-lvm --snapshot-size 100G "$g"
never_stopped "VG without room"
nothing_left "VG without room"
running "$g" "VG without room"

# Catalog without room for the memory image: a 32 MiB tmpfs as its root (the guest has
# 128 MiB). Refused before the guest is touched; the real catalog stays as it was.
small=$XLCP_RUN/small-catalog
mkdir -p "$small" && mount -t tmpfs -o size=32m xlcp-small "$small" && ok "32 MiB catalog mounted" ||
    not_ok "mount a 32 MiB tmpfs"
guest_probe_start "$g" 50
domwatch_start "$g"
expect_exit "catalog without room" 6 "step prepare.*not enough room in the catalog $small" \
    env XLCP_CATALOG_ROOT="$small" xl-checkpoint create --skip-non-lvm "$g"
never_stopped "catalog without room"
left=$(find "$small" -mindepth 2 -maxdepth 2 -type d | wc -l)
[ "$left" = 0 ] && ok "catalog without room: nothing written there" ||
    not_ok "catalog without room: nothing written there" "$(find "$small")"
umount "$small"
nothing_left "catalog without room"
running "$g" "catalog without room"

# --skip-non-lvm: the loop disk is recorded as skipped; the LV is snapshotted.
out=$(watchdog 600 xl-checkpoint create --skip-non-lvm "$g" 2>&1)
rc=$?
id=$(printf '%s' "$out" | tail -n 1)
[ $rc -eq 0 ] && ok "--skip-non-lvm: checkpoint $id" || not_ok "--skip-non-lvm" "exit $rc: $out"
info=$(xl-checkpoint info "$id" 2>&1)
printf '%s' "$info" | grep -qi "skipped" && ok "--skip-non-lvm: info shows the skipped disk" ||
    not_ok "--skip-non-lvm: info shows the skipped disk" "$info"
xl-checkpoint delete "$id" >/dev/null 2>&1
running "$g" "--skip-non-lvm"
guest_destroy "$g"
losetup -d "$loop"
rm -f "$XLCP_RUN/raw.img"
lv_cleanup "$g"

# A guest that never suspends: t45-suspend-timeout.sh (exit 7, the request taken back, the
# guest running, nothing left), with --suspend-timeout instead of libxl's 60 s.

# A guest that crashes during the live copy (a PVH guest, so that the copy runs while the
# guest does; the crash is the guest kernel's own, through `xl sysrq c`): the error says
# it crashed, nothing is left behind, the crashed domain is left as Xen keeps it
# (on_crash=preserve), and a checkpoint of it is refused as crashed.
g=gcrash
XLCP_GUEST_TYPE=pvh guest_start "$g" thin:128M && guest_wait_ready "$g" 240 && ok "$g (PVH) ready" ||
    bail "$g (PVH) ready"
xl-checkpoint create "$g" >"$XLCP_RUN/crash.out" 2>&1 &
pid=$!
crashed=0
for _ in $(seq 1 600); do
    img=$(find "$XLCP_CATALOG_ROOT" -path '*/.tmp-*/memory.xl' 2>/dev/null | head -n 1)
    size=$(stat -c %s "$img" 2>/dev/null || echo 0)
    if [ -n "$img" ] && [ "$size" -gt 4194304 ]; then
        "$XL" sysrq "$g" c && crashed=1
        break
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
wait "$pid"
rc=$?
out=$(cat "$XLCP_RUN/crash.out")
[ "$crashed" = 1 ] && ok "guest crashed during the live copy (after $size bytes copied)" ||
    not_ok "guest crashed during the live copy" "the run ended first: $out"
[ $rc -ne 0 ] && printf '%s' "$out" | grep -q "step live-copy: the guest crashed meanwhile" &&
    ok "crash during the copy: exit $rc, \"$(printf '%s' "$out" | tail -n 1 | cut -c1-160)\"" ||
    not_ok "crash during the copy reported as a crash" "exit $rc: $out"
nothing_left "crash during the copy"
state=$("$XL" list "$g" 2>/dev/null | awk 'NR == 2 { print $5 }')
case "$state" in
*c*) ok "crashed domain kept as Xen left it (state '$state')" ;;
*) not_ok "crashed domain kept as Xen left it" "state '$state'" ;;
esac
expect_exit "crashed domain" 4 "is crashed, not running" xl-checkpoint create "$g"
nothing_left "crashed domain"
guest_destroy "$g"
lv_cleanup "$g"

# SIGKILL during the live copy.
g=gkill
guest_start "$g" thick:128M thin:128M && guest_wait_ready "$g" && ok "$g ready" || bail "$g ready"
bytes=$(kill_in_copy "$g" "$XLCP_RUN/kill.out") &&
    ok "xl-checkpoint killed with SIGKILL during the live copy ($bytes bytes copied)" ||
    not_ok "killed during the live copy" "the run ended first: $(cat "$XLCP_RUN/kill.out")"
state=$("$XL" list "$g" 2>/dev/null | awk 'NR == 2 { print $5 }')
case "$state" in
*s*) not_ok "guest not left suspended after SIGKILL" "state '$state'" ;;
*) ok "guest not left suspended after SIGKILL (state '$state')" ;;
esac
running "$g" "SIGKILL during the live copy"
# The disk was captured at the start of the pause (its writes held until its snapshot is
# finished): the guardian must have let them flow again.
sleep 2
dmstate=$(dmsetup info "$VG-$(printf '%s' "$g" | sed 's/-/--/g')--d0" 2>&1 | sed -n 's/^State: *//p')
[ "$dmstate" = ACTIVE ] && ok "the guest's disk is not left suspended after SIGKILL" ||
    not_ok "the guest's disk is not left suspended after SIGKILL" "device-mapper state '$dmstate'"
out=$(guest_run "$g" 'dd if=/dev/zero of=/dev/xvda bs=4096 count=1 oflag=direct 2>&1 && echo wrote' 60)
printf '%s' "$out" | grep -q wrote && ok "the guest writes to its disk after SIGKILL" ||
    not_ok "the guest writes to its disk after SIGKILL" "$out"
tmp=$(find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name '.tmp-*' | wc -l)
diag "leftovers of the killed run: $tmp temporary directories, $(snapvols) snapshot volumes"
next_run_cleans "$g" 2
running "$g" "after the next run"
guest_destroy "$g"
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
