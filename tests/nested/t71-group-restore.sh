#!/bin/bash
# t71-group-restore.sh - groups on nested Xen, create to delete: a group checkpoint of two
# PV guests (thin and thick LV each) restored beside the originals with `restore --group`,
# every member restored paused and then all unpaused together; `delete --group`. (Its one
# failure, "unable to add disk devices" in libxl, came with eight nested runs queued on
# a loaded host: in a run of its own it passed, 68 s for the restore.) On failure it
# records the hotplug log, xl dmesg, the volumes, and a restore of the same member alone,
# to tell a group restore from a restore in that state. The order on the fakes:
# test_group.c, test_cli_group.c; the group's failure cases: x70-group.sh.
# timeout: 900
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t71
rm -rf "$XLCP_CATALOG_ROOT"
g1=grst1
g2=grst2
state() { "$XL" list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }

for g in "$g1" "$g2"; do
    guest_start "$g" thin:64M thick:64M && ok "$g created" || bail "$g created"
done
for g in "$g1" "$g2"; do
    guest_wait_ready "$g" && ok "$g ready" || bail "$g ready"
done
out=$(watchdog 600 xl-checkpoint create --group x71 "$g1" "$g2" 2>&1)
rc=$?
gid=$(printf '%s' "$out" | tail -n 1)
[ $rc -eq 0 ] && ok "create --group x71: $gid" || bail "create --group" "exit $rc: $out"
xml=$XLCP_RUN/x71-group.xml
xl-checkpoint info --group --xml x71 >"$xml" 2>&1 || bail "info --group" "$(cat "$xml")"

# -- restore the group beside the originals
t0=$(now)
out=$(watchdog 600 xl-checkpoint restore --group "$gid" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "restore --group ($(elapsed "$t0")s): $(printf '%s' "$out" | tr '\n' ' ')" ||
    not_ok "restore --group" "exit $rc: $out"
restored=$("$XL" list 2>/dev/null | awk 'NR > 1 && $1 ~ /^grst[12]-/ { print $1 }')
nr=0
for d in $restored; do
    st=$(state "$d")
    case "$st" in *p*) not_ok "restored $d runs" "state '$st'" ;; *) ok "restored $d unpaused (state '$st')" ;; esac
    nr=$((nr + 1))
done
[ "$nr" = 2 ] && ok "both members restored" || not_ok "both members restored" "$("$XL" list 2>&1)"
if [ "$nr" != 2 ]; then
    diag "hotplug log: $(tail -n 15 /var/log/xen/xen-hotplug.log 2>&1)"
    diag "xl dmesg: $("$XL" dmesg 2>&1 | tail -n 8)"
    diag "lvs: $(lvs --noheadings -o lv_name,lv_attr,origin,lv_tags "$VG" 2>&1)"
    # the same member alone, to tell a group restore from a restore in this state
    m1=$(sed -n "s/.*domain=\"$g1\"[^>]*checkpoint=\"\([^\"]*\)\".*/\1/p" "$xml" | head -n 1)
    out=$(watchdog 600 xl-checkpoint restore --paused --name t70-single "$m1" 2>&1)
    diag "restore of member $m1 alone: exit $?: $out"
    "$XL" destroy t70-single >/dev/null 2>&1
fi
for d in $restored; do "$XL" destroy "$d" >/dev/null 2>&1; done
for lv in $(lvs --noheadings -o lv_name,lv_tags "$VG" 2>/dev/null | awk '/xl-checkpoint-restored/ { print $1 }'); do
    lvm_run lvremove -q -f -y "$VG/$lv" >/dev/null 2>&1
done

check "delete --group x71" xl-checkpoint delete --group x71
for g in "$g1" "$g2"; do guest_destroy "$g"; done
lv_cleanup grst
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
