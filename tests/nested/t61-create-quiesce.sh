#!/bin/bash
# t61-create-quiesce.sh - `xl checkpoint create --quiesce` freezes the guest's file systems
# only for the stop (the module's quiesce-at-suspend, protocol 2) and records the
# checkpoint as quiesced only when the guest reports that the freeze held across it:
#   1. a guest whose freeze holds: manifest quiesced/consistency "quiesced", the guest's
#      quiesce-result "held <id>", its writer was never blocked for the live copy;
#   2. a guest whose freeze cannot finish in time (test_freeze_delay_ms > freeze_timeout_ms):
#      the checkpoint is still taken, crash-consistent, and its manifest says why.
# (A guest without the module is not asked: unit test test_quiesce_without_module.)
# timeout: 1200
set -uo pipefail
. "$(dirname "$0")/lib.sh"
export XLCP_GUEST_MEMORY=${XLCP_GUEST_MEMORY:-256} # its bound on the writer's pause assumes a live copy of 256 MiB

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t61
rm -rf "$XLCP_CATALOG_ROOT"
KO=/lib/xlcp/extra/xlcp_guest.ko
P=/sys/module/xlcp_guest/parameters
g=gq61
XLCP_GUEST_TYPE=pvh guest_start "$g" thin:256M && guest_wait_ready "$g" && ok "PVH guest ready" ||
    bail "guest ready"
guest_run "$g" "test -f $KO" >/dev/null || bail "no $KO in the guest (make module)"
out=$(guest_run "$g" "mkfs.ext4 -q -F /dev/xvda && mkdir -p /mnt/d && mount /dev/xvda /mnt/d &&
sync && insmod $KO && echo loaded" 180)
[ "$(printf '%s' "$out" | tail -n 1)" = loaded ] && ok "module loaded, disk mounted" ||
    bail "module loaded" "$out"
d=$(guest_domid "$g")
caps=$(xenstore-read "/local/domain/$d/data/checkpoint/capabilities" 2>/dev/null)
case " $caps " in
*" quiesce-at-suspend "*) ok "guest offers quiesce-at-suspend ($caps)" ;;
*) bail "guest offers quiesce-at-suspend" "capabilities '$caps'" ;;
esac
# A writer that appends its CLOCK_BOOTTIME (/proc/uptime) and syncs, until /run/stopw exists.
guest_run "$g" 'sh -c "while [ ! -e /run/stopw ]; do cut -d\" \" -f1 /proc/uptime >> /mnt/d/log; sync; done" \
</dev/null >/dev/null 2>&1 & echo' >/dev/null

manifest_of() { # ID: the checkpoint's manifest.xml
    find "$XLCP_CATALOG_ROOT" -mindepth 3 -maxdepth 3 -path "*/$1/manifest.xml" | head -n 1
}
create_q() { # -> sets id, rc, out
    out=$(watchdog 600 xl-checkpoint create --quiesce "$g" 2>&1)
    rc=$?
    id=$(printf '%s' "$out" | tail -n 1)
}

# -- 1. the freeze holds
create_q
[ $rc -eq 0 ] && ok "create --quiesce ($id)" || bail "create --quiesce" "exit $rc: $out"
mf=$(manifest_of "$id")
grep -q '<consistency>quiesced</consistency>' "$mf" && ok "manifest: consistency quiesced" ||
    not_ok "manifest: consistency quiesced" "$(grep -E 'consist|quiesce' "$mf")"
res=$(xenstore-read "/local/domain/$d/data/checkpoint/quiesce-result" 2>/dev/null)
[ "$res" = "held $id" ] && ok "guest reports the freeze held ($res)" ||
    not_ok "guest reports the freeze held" "quiesce-result '$res'"
st=$(xenstore-read "/local/domain/$d/data/checkpoint/state" 2>/dev/null)
[ "$st" = "thawed $id" ] && ok "guest thawed after the resume ($st)" || not_ok "guest thawed" "'$st'"
n0=$(guest_run "$g" 'wc -l < /mnt/d/log')
sleep 2
n1=$(guest_run "$g" 'wc -l < /mnt/d/log')
[ "${n1:-0}" -gt "${n0:-0}" ] && ok "writer runs on ($n0 -> $n1 lines)" ||
    not_ok "writer runs on" "$n0 -> $n1"
# The writer's longest pause: under the old protocol (freeze before the live copy) it was
# the whole copy, seconds; now it is the stop. Bound: well below a live copy of 256 MiB
# under emulation (5 s and more), well above the stop with its freeze (~0.1-1 s).
maxgap=$(guest_run "$g" "awk 'NR > 1 && \$1 - p > m { m = \$1 - p } { p = \$1 } END { printf \"%d\", m * 1000 }' /mnt/d/log")
diag "writer's longest pause over the run: ${maxgap} ms"
[ "${maxgap:-99999}" -lt 3000 ] && ok "writer blocked only for the stop (longest pause ${maxgap} ms)" ||
    not_ok "writer blocked only for the stop" "longest pause ${maxgap} ms"

# -- 2. a freeze that does not finish in time: crash-consistent, and the manifest says why
guest_run "$g" "echo 300 > $P/freeze_timeout_ms && echo 2000 > $P/test_freeze_delay_ms && echo set" >/dev/null
create_q
[ $rc -eq 0 ] && ok "create --quiesce with a slow freeze is still taken ($id)" ||
    not_ok "create --quiesce with a slow freeze" "exit $rc: $out"
mf=$(manifest_of "$id")
if [ -n "$mf" ]; then
    grep -q '<consistency>crash-consistent</consistency>' "$mf" &&
        ok "manifest: crash-consistent when the freeze did not hold" ||
        not_ok "manifest: crash-consistent" "$(grep -E 'consist|quiesce' "$mf")"
    grep -q 'did not hold across the stop' "$mf" && ok "manifest says why: $(sed -n 's/.*<quiesce-note>\(.*\)<\/quiesce-note>.*/\1/p' "$mf")" ||
        not_ok "manifest says why" "$(grep -E 'quiesce' "$mf")"
fi
res=$(xenstore-read "/local/domain/$d/data/checkpoint/quiesce-result" 2>/dev/null)
case "$res" in "not-held $id "*) ok "guest reports not-held ($res)" ;;
*) not_ok "guest reports not-held" "quiesce-result '$res'" ;; esac
guest_run "$g" "echo 0 > $P/test_freeze_delay_ms && echo 5000 > $P/freeze_timeout_ms && echo set" >/dev/null
n0=$(guest_run "$g" 'wc -l < /mnt/d/log')
sleep 2
n1=$(guest_run "$g" 'wc -l < /mnt/d/log')
[ "${n1:-0}" -gt "${n0:-0}" ] && ok "writer runs on after a freeze that did not hold ($n0 -> $n1)" ||
    not_ok "writer runs on after a freeze that did not hold" "$n0 -> $n1"
check "xs-check passes" xl-checkpoint xs-check "$g"

for i in $(xl-checkpoint list "$g" | awk 'NR > 1 { print $1 }'); do
    xl-checkpoint delete "$i" >/dev/null 2>&1
done
guest_destroy "$g"
lv_cleanup "$g"
done_testing
