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

g=${T35_NAME:-grest}
export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-$g
rm -rf "$XLCP_CATALOG_ROOT"
# 64 MiB disks: a restore copies every thick disk whole (three restores here), and the
# file system on xvda holds two small files
guest_start "$g" thick:64M thin:64M thick:64M && ok "guest created (${XLCP_GUEST_TYPE:-pv})" ||
    bail "guest created"
guest_wait_ready "$g" 240 && ok "guest ready" || bail "guest ready"
if [ "${T35_MODULE:-0}" = 1 ]; then
    out=$(guest_run "$g" 'insmod /lib/xlcp/extra/xlcp_guest.ko && echo loaded' 120)
    [ "$(printf '%s' "$out" | tail -n 1)" = loaded ] && ok "guest module loaded" ||
        bail "guest module loaded" "$out"
fi
# The writer stops by itself when its CLOCK_BOOTTIME jumps by 25 s or more between two
# steps: that is the restore (40 s and more here); the checkpoint stops it for far less,
# its writes held while the thick snapshot is made included (seen up to ~10 s under
# emulation). Round n: "n t" (writing thin), n to the thin disk, sync, "n T" (thin has
# it), "n k", n to the thick disk, sync, "n K": the phase in memory (/run/phase) after
# each step, so the restored writer knows exactly where the checkpoint caught it. It
# checks the clock before recording each phase, and on the jump keeps the phase it had
# (/run/phase-at-jump): a step then still under way (a write the restored guest's block
# front end sends again) is the one after that phase.
out=$(guest_run "$g" 'mkfs.ext4 -q -F /dev/xvda && mkdir -p /mnt/xvda && mount /dev/xvda /mnt/xvda &&
echo before > /mnt/xvda/before && sync &&
cat > /run/writer.sh <<"W"
n=0
last=$(cut -d. -f1 /proc/uptime)
echo "0 K" > /run/phase
phase() {
    t=$(cut -d. -f1 /proc/uptime)
    if [ $((t - last)) -ge 25 ]; then cp /run/phase /run/phase-at-jump; cut -d" " -f1 /run/phase > /run/seq-at-jump; exit 0; fi
    last=$t
    echo "$1" > /run/phase
}
while :; do
    n=$((n + 1))
    phase "$n t"
    printf "%s\n" "$n" | dd of=/dev/xvdb bs=512 count=1 conv=sync 2>/dev/null
    sync
    phase "$n T"
    phase "$n k"
    printf "%s\n" "$n" | dd of=/dev/xvdc bs=512 count=1 conv=sync 2>/dev/null
    sync
    phase "$n K"
    echo "$n" > /run/seq-mem
done
W
sh /run/writer.sh </dev/null >/dev/null 2>&1 &
i=0; while [ ! -s /run/seq-mem ] && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done; cat /run/seq-mem' 240)
rc=$?
[ $rc -eq 0 ] && [ "${out:-0}" -gt 0 ] 2>/dev/null && ok "sequence writer running (at $out)" ||
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

mem_phase=""
for _ in $(seq 1 60); do
    mem_phase=$(guest_run "$g-r" 'cat /run/phase-at-jump 2>/dev/null' 30) && [ -n "$mem_phase" ] && break
    sleep 2
done
mem_seq=${mem_phase%% *}
if [ -n "$mem_phase" ]; then
    ok "restored guest runs; its writer's phase at the checkpoint: '$mem_phase'"
else
    not_ok "restored guest's writer saw the restore" "console: $(guest_console "$g-r" | tail -n 10)"
fi
# What each disk held at the instant follows from the phase exactly. Phase "n t": thin
# n - 1 or n (its write of n under way: not yet or just there), thick n - 1. "n T" and
# "n k": thin n, thick n - 1 ("n k": its write just starting, at most in flight: n - 1 or
# n). "n K": thin n, thick n. A disk from a later instant holds a higher number, from an
# earlier one a lower.
want() { # PHASE -> "THIN_MIN THIN_MAX THICK_MIN THICK_MAX"
    local n=${1% *} p=${1#* }
    case "$p" in
    t) echo "$((n - 1)) $n $((n - 1)) $((n - 1))" ;;
    T) echo "$n $n $((n - 1)) $((n - 1))" ;;
    k) echo "$n $n $((n - 1)) $n" ;;
    K) echo "$n $n $n $n" ;;
    *) echo "x x x x" ;;
    esac
}
read -r tmin tmax kmin kmax <<<"$(want "${mem_phase:-0 ?}")"
[ -n "$disk_seq" ] && [ "$tmin" != x ] && [ "$disk_seq" -ge "$tmin" ] && [ "$disk_seq" -le "$tmax" ] &&
    ok "memory and thin disk are of one instant (phase '$mem_phase', thin disk $disk_seq, allowed $tmin..$tmax)" ||
    not_ok "memory and thin disk are of one instant" "phase '$mem_phase', thin disk '$disk_seq', allowed $tmin..$tmax"
[ -n "$thick_seq" ] && [ "$kmin" != x ] && [ "$thick_seq" -ge "$kmin" ] && [ "$thick_seq" -le "$kmax" ] &&
    ok "memory and thick disk are of one instant (phase '$mem_phase', thick $thick_seq, allowed $kmin..$kmax)" ||
    not_ok "memory and thick disk are of one instant" "phase '$mem_phase', thick '$thick_seq', allowed $kmin..$kmax"
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
    # ... with a configuration file, as `xl restore <ConfigFile>`: the guest's own xl config
    # (read by the system's xl) with one change that shows in `xl list -l`, on_reboot
    # "preserve" (libxl's JSON leaves out a field at its default: "destroy" would not show)
    cfg2=$XLCP_RUN/$g-r2.cfg
    { cat "$XLCP_RUN/$g.cfg"; echo 'on_reboot = "preserve"'; } >"$cfg2"
    out=$(watchdog 600 xl-checkpoint restore --name "$g-r2" "$id" "$cfg2" 2>&1)
    rc=$?
    [ $rc -eq 0 ] && guest_wait_counter "$g-r2" 0 60 >/dev/null &&
        ok "a checkpoint restores a second time (with a config file)" || not_ok "second restore" "exit $rc: $out"
    "$XL" list -l "$g-r2" 2>/dev/null | grep -q '"on_reboot": "preserve"' &&
        ! "$XL" list -l "$g" 2>/dev/null | grep -q '"on_reboot": "preserve"' &&
        ok "the restored domain has the config file's settings (on_reboot preserve)" ||
        not_ok "config file's settings" "$("$XL" list -l "$g-r2" 2>&1 | grep -E 'on_reboot|"name"' | head -n 3)"
    # the file's disks are the original's LVs: the restored domain has its own copies
    "$XL" block-list "$g-r2" >/dev/null 2>&1 &&
        ! "$XL" list -l "$g-r2" | grep -q "\"/dev/$VG/$g-d0\"" &&
        ok "its disks are the restored copies, not the file's originals" ||
        not_ok "restored copies" "$("$XL" list -l "$g-r2" | grep pdev_path)"
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
