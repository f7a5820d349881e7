#!/bin/bash
# t35-restore.sh - `xl checkpoint restore` gives a domain whose memory and disks are of one
# instant. The guest runs a writer that puts a sequence number on its raw disk (synced),
# then in its memory (/run, tmpfs), as fast as it can; the restored domain must find the
# two in agreement, and a file written after the checkpoint must be absent. Also: restore
# --replace refuses while the original runs; `xl restore` reads the memory image alone.
# The number goes to a thin volume (re-pointed inside its pool at the instant) and to a
# thick one (its writes held back from the instant until its snapshot exists): both
# must agree with memory. XLCP_GUEST_TYPE=pvh and T35_MODULE=1 (t36) run the same on a
# PVH guest through the guest module's light path, where the guest resumes, and writes,
# before the thick snapshot is finished.
# timeout: 1200
set -uo pipefail
. "$(dirname "$0")/lib.sh"
# what this test checks does not depend on the guest's memory size: a smaller guest is a
# shorter copy (the suite's time)
export XLCP_GUEST_MEMORY=${XLCP_GUEST_MEMORY:-128}

g=${T35_NAME:-grest}
export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-$g
rm -rf "$XLCP_CATALOG_ROOT"
guest_start "$g" thick:256M thin:64M thick:64M && ok "guest created (${XLCP_GUEST_TYPE:-pv})" ||
    bail "guest created"
guest_wait_ready "$g" 240 && ok "guest ready" || bail "guest ready"
if [ "${T35_MODULE:-0}" = 1 ]; then
    out=$(guest_run "$g" 'insmod /lib/xlcp/extra/xlcp_guest.ko && echo loaded' 120)
    [ "$(printf '%s' "$out" | tail -n 1)" = loaded ] && ok "guest module loaded" ||
        bail "guest module loaded" "$out"
fi
# The writer stops by itself when its CLOCK_BOOTTIME jumps by 25 s or more between two
# rounds: that is the restore (40 s and more here); the checkpoint stops it for far less,
# its writes held while the thick snapshot is made included (seen up to ~10 s under
# emulation). It records the number it had in memory at that moment.
out=$(guest_run "$g" 'mkfs.ext4 -q -F /dev/xvda && mkdir -p /mnt/xvda && mount /dev/xvda /mnt/xvda &&
echo before > /mnt/xvda/before && sync &&
cat > /run/writer.sh <<"W"
n=0
last=$(cut -d. -f1 /proc/uptime)
while :; do
    t=$(cut -d. -f1 /proc/uptime)
    if [ $((t - last)) -ge 25 ]; then echo "$n" > /run/seq-at-jump; exit 0; fi
    last=$t
    n=$((n + 1))
    printf "%s\n" "$n" | dd of=/dev/xvdb bs=512 count=1 conv=sync 2>/dev/null
    sync
    printf "%s\n" "$n" | dd of=/dev/xvdc bs=512 count=1 conv=sync 2>/dev/null
    sync
    echo "$n" > /run/seq-mem
done
W
sh /run/writer.sh </dev/null >/dev/null 2>&1 &
sleep 3; cat /run/seq-mem' 240)
rc=$?
[ $rc -eq 0 ] && [ "${out:-0}" -gt 0 ] 2>/dev/null && ok "sequence writer running (at $out after 3 s)" ||
    bail "sequence writer running" "rc $rc, '$out'"

out=$(watchdog 600 xl-checkpoint create --json "$g" 2>&1)
rc=$?
id=$(printf '%s' "$out" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1)
[ $rc -eq 0 ] && [ -n "$id" ] && ok "checkpoint $id taken" || bail "checkpoint taken" "exit $rc: $out"
diag "$(printf '%s' "$out" | grep -E '"(downtime_ms|guest_downtime_ms|live|suspend_path|writes_held_ms)"' | tr -s ' ')"
if [ "${T35_MODULE:-0}" = 1 ]; then
    printf '%s' "$out" | grep -q '"suspend_path": *"light"' && ok "light suspend path used" ||
        not_ok "light suspend path used" "$out"
fi
guest_run "$g" 'echo after > /mnt/xvda/after && sync && echo ok' >/dev/null
seq_orig=$(guest_run "$g" 'cat /run/seq-mem')
diag "original guest's writer is at $seq_orig after the checkpoint"
sleep 20 # the restored guest's clock must jump past the writer's threshold (25 s), a short restore included

out=$(xl-checkpoint restore "$id" --replace 2>&1)
rc=$?
[ $rc -eq 4 ] && ok "restore --replace refuses while the original runs (exit 4)" ||
    not_ok "restore --replace refuses while the original runs" "exit $rc: $out"

t0=$(now)
out=$(watchdog 600 xl-checkpoint restore --paused --name "$g-r" "$id" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "xl-checkpoint restore --paused --name $g-r ($(elapsed "$t0")s): domid $(printf '%s' "$out" | tail -n 1)" ||
    bail "restore" "exit $rc: $out"
clone=$(lvs --noheadings -o lv_name "$VG" | tr -d ' ' | grep "^$g-d1\.restored\." | head -n 1)
[ -n "$clone" ] && ok "restored thin disk is $VG/$clone" || not_ok "restored disk volume" "$(lvs "$VG")"
disk_seq=$(dd if="/dev/$VG/$clone" bs=512 count=1 2>/dev/null | head -n 1 | tr -cd 0-9)
thick_clone=$(lvs --noheadings -o lv_name "$VG" | tr -d ' ' | grep "^$g-d2\.restored\." | head -n 1)
thick_seq=$(dd if="/dev/$VG/$thick_clone" bs=512 count=1 2>/dev/null | head -n 1 | tr -cd 0-9)
diag "sequence numbers on the restored disks (read in dom0, guest still paused): thin $disk_seq, thick $thick_seq"
snaps=$(lvs --noheadings -o lv_name "$VG" | grep -c "\.xlcp\.$id")
[ "$snaps" = 3 ] && ok "the checkpoint's snapshots are kept after restore" || not_ok "snapshots kept" "$snaps"
"$XL" unpause "$g-r" && ok "restored domain unpaused" || not_ok "restored domain unpaused"

mem_seq=""
for _ in $(seq 1 60); do
    mem_seq=$(guest_run "$g-r" 'cat /run/seq-at-jump 2>/dev/null' 30) && [ -n "$mem_seq" ] && break
    sleep 2
done
if [ -n "$mem_seq" ]; then
    ok "restored guest runs; its writer had $mem_seq in memory at the checkpoint"
else
    not_ok "restored guest's writer saw the restore" "console: $(guest_console "$g-r" | tail -n 10)"
fi
# The writer's round n: n to the thin disk, sync, n to the thick disk, sync, n to memory.
# The restored writer notices the restore at the top of its loop, after finishing the
# round the checkpoint caught it in (a write then in flight is sent again by the restored
# guest's block front end, after this check): so the number J it reports is that round's,
# and at the instant each disk held J or J - 1, thick no newer than thin. Disks from a
# later instant would hold higher numbers (the original writes about ten a second), from
# an earlier one lower.
[ -n "$disk_seq" ] && [ -n "$mem_seq" ] && [ "$disk_seq" -le "$mem_seq" ] &&
    [ "$disk_seq" -ge $((mem_seq - 1)) ] &&
    ok "memory and thin disk are of one instant (round $mem_seq, thin disk $disk_seq)" ||
    not_ok "memory and thin disk are of one instant" "round '$mem_seq', thin disk '$disk_seq'"
[ -n "$thick_seq" ] && [ -n "$mem_seq" ] && [ "$thick_seq" -le "${disk_seq:-0}" ] &&
    [ "$thick_seq" -ge $((mem_seq - 1)) ] &&
    ok "memory and thick disk are of one instant (round $mem_seq, thick $thick_seq, thin $disk_seq)" ||
    not_ok "memory and thick disk are of one instant" "round '$mem_seq', thick '$thick_seq', thin '$disk_seq'"
[ -n "$seq_orig" ] && [ "$seq_orig" -gt "${mem_seq:-0}" ] &&
    ok "the original had moved on ($seq_orig) before the restore" ||
    not_ok "the original had moved on" "original $seq_orig, restored $mem_seq"
in_guest=$(guest_run "$g-r" 'sync; echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/xvdb bs=512 count=1 2>/dev/null | head -n 1')
[ "$in_guest" = "$mem_seq" ] && ok "restored guest reads its own number from its disk ($in_guest)" ||
    not_ok "restored guest reads its number from disk" "'$in_guest' vs '$mem_seq'"
files=$(guest_run "$g-r" 'cat /mnt/xvda/before; ls /mnt/xvda/after 2>&1 | head -c 60; touch /mnt/xvda/new && echo writable')
printf '%s' "$files" | grep -q '^before' && ok "file written before the checkpoint is there" ||
    not_ok "file written before the checkpoint is there" "$files"
printf '%s' "$files" | grep -q 'No such file' && ok "file written after the checkpoint is absent" ||
    not_ok "file written after the checkpoint is absent" "$files"
printf '%s' "$files" | grep -q writable && ok "restored guest's disk is writable" ||
    not_ok "restored guest's disk is writable" "$files"
c0=$(guest_counter "$g") && c1=$(guest_wait_counter "$g" "$((c0 + 1))" 30) &&
    ok "original still running beside the restored domain" || not_ok "original still running"
guest_destroy "$g-r"

# A second restore of the same checkpoint (the snapshots were kept), and --replace --force.
# Neither depends on the guest's type: t36 (PVH) leaves them to t35 (T35_SHORT=1).
if [ "${T35_SHORT:-0}" = 1 ]; then
    guest_destroy "$g"
else
    out=$(watchdog 600 xl-checkpoint restore --name "$g-r2" "$id" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && guest_wait_counter "$g-r2" 0 60 >/dev/null &&
        ok "a checkpoint restores a second time" || not_ok "second restore" "exit $rc: $out"
    guest_destroy "$g-r2"

    # --replace --force: the original is destroyed and the checkpoint takes its name.
    out=$(watchdog 600 xl-checkpoint restore --replace --force "$id" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && [ "$(guest_domid "$g")" = "$(printf '%s' "$out" | tail -n 1)" ] &&
        ok "restore --replace --force takes the original's name" || not_ok "restore --replace --force" "exit $rc: $out"
    guest_destroy "$g"
fi

# The memory image alone is a standard xl save file: `xl restore` brings it up (with the
# original's configuration and disks).
dir=$(find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name "$id")
out=$(watchdog 300 "$XL" restore -p "$dir/memory.xl" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "xl restore of memory.xl alone" || not_ok "xl restore of memory.xl" "exit $rc: $(printf '%s' "$out" | tail -n 5)"
"$XL" unpause "$g" 2>/dev/null
c=$(guest_wait_counter "$g" 0 60) && ok "domain from xl restore runs (counter $c)" ||
    not_ok "domain from xl restore runs" "console: $(guest_console "$g" | tail -n 5)"
guest_destroy_all
xl-checkpoint delete "$id" >/dev/null 2>&1
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
