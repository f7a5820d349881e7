#!/bin/bash
# x58-module-restore.sh - (out of make check: not yet run on nested Xen in this form, and its rmmod-during-migration part needs the module change of eaeb0d7, taken back until it has run) a PVH guest with the module loaded moves to a new domain through
# the module's light path, by `xl save` + `xl restore` and by `xl migrate` to localhost
# (issue 14 item 4): in each new domain the guest runs, its disk works (xenbus front ends
# resumed), the module republishes itself with a new event channel, and a
# quiesce-at-suspend armed before the migration reports "held" there. An rmmod during a
# migration lets that migration finish through the module, then unloads. After it the
# stock path is back: libxl finds no event channel, asks through control/shutdown, and
# `xl save` + `xl restore` work (the guest's own freezer path, not the module).
# PVH, not PV: Debian 12's Xen has no shadow paging, so no PV guest can be live-migrated
# (`xl migrate` is always live): libxc fails with "Failed to enable logdirty: 95", which
# libxl reports as "domain did not respond to suspend request" and xl as "failed to
# suspend at sender", with or without the module (measured on nested Xen).
# timeout: 1200
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/module-lib.sh"

KO=/lib/xlcp/extra/xlcp_guest.ko
g=g58
img=/var/tmp/t58.img
log=$XLCP_RUN/t58.log
export XLCP_GUEST_TYPE=pvh
guest_start "$g" thick:256M && guest_wait_ready "$g" && ok "PVH guest ready" || bail "guest ready"
guest_run "$g" "test -f $KO" >/dev/null || bail "no $KO in the guest"
module_writer_start "$g" "$KO"
d0=$(guest_domid "$g")
# new_domain_checks LABEL: the guest answers in its new domain, the module republished
new_domain_checks() {
    local d B ec out
    d=$(guest_domid "$g")
    B=/local/domain/$d/data/checkpoint
    [ -n "$d" ] && [ "$d" != "$d0" ] && ok "$1: the guest is a new domain ($d0 -> $d)" ||
        not_ok "$1: new domain" "'$d0' -> '$d'"
    guest_wait_counter "$g" 0 120 >/dev/null && ok "$1: the guest runs" ||
        bail "$1: the guest runs" "$(guest_console "$g" | tail -n 15)"
    moving "$g" && ok "$1: its disk takes writes (block front end resumed)" || not_ok "$1: its disk takes writes"
    [ "${2:-}" = stock ] && { d0=$d; return; }
    ec=$(xsr "/local/domain/$d/device/suspend/event-channel")
    [ "$(xsr "$B/feature")" = 1 ] && [ "$(xsr "$B/suspend-path")" = light ] && [[ "$ec" =~ ^[1-9][0-9]*$ ]] &&
        ok "$1: module republished with event channel $ec" ||
        not_ok "$1: module republished" "feature '$(xsr "$B/feature")' path '$(xsr "$B/suspend-path")' ec '$ec'"
    out=$(xl-checkpoint xs-check "$g" 2>&1) && ok "$1: xs-check passes" || not_ok "$1: xs-check passes" "$out"
    d0=$d
}
# how libxl asked the guest to suspend, from `xl -vvv`'s log: evtchn or control
asked_by() {
    if grep -q 'suspend request via event channel' "$log"; then
        echo evtchn
    elif grep -q 'suspend request via XenBus control node' "$log"; then
        echo control
    else
        echo none
    fi
}
light_count() { guest_run "$g" 'dmesg | grep -c "light suspend: resumed in a new domain"' 30; }

# 1. xl save + xl restore, module loaded: the light path
t0=$(now)
watchdog 300 "$XL" -vvv save "$g" "$img" >"$log" 2>&1 && ok "xl save ($(elapsed "$t0")s)" ||
    bail "xl save" "$(grep -E 'error|ERROR' "$log" | tail -n 8)"
[ "$(asked_by)" = evtchn ] && ok "libxl notified the module's event channel" || not_ok "event channel used" "$(asked_by)"
t0=$(now)
watchdog 300 "$XL" restore "$img" >"$log" 2>&1 && ok "xl restore ($(elapsed "$t0")s)" ||
    bail "xl restore" "$(tail -n 5 "$log")"
rm -f "$img"
new_domain_checks "save + restore"
n=$(light_count)
[ "${n:-0}" = 1 ] && ok "the save went through the light path" || not_ok "the save went through the light path" "$n"

# 2. xl migrate to localhost with a quiesce-at-suspend armed: the light path, held
B=/local/domain/$(guest_domid "$g")/data/checkpoint
id=$(newid)
xenstore-write "$B/request" "quiesce-at-suspend $id"
xs_wait "$B/state" "armed $id" 30 && ok "armed before the migration" || not_ok "armed" "'$(xsr "$B/state")'"
t0=$(now)
watchdog 600 "$XL" -vvv migrate -s "" "$g" "$XL migrate-receive" >"$log" 2>&1 &&
    ok "xl migrate to localhost ($(elapsed "$t0")s)" ||
    bail "xl migrate" "$(grep -E 'error|ERROR|failed' "$log" | tail -n 8)"
[ "$(asked_by)" = evtchn ] && ok "libxl notified the module's event channel" || not_ok "event channel used" "$(asked_by)"
new_domain_checks "migrate"
n=$(light_count)
[ "${n:-0}" = 2 ] && ok "the migration went through the light path" || not_ok "the migration went through the light path" "$n"
B=/local/domain/$(guest_domid "$g")/data/checkpoint
xs_wait "$B/quiesce-result" "held $id" 30 && ok "quiesce-result held $id in the new domain" ||
    not_ok "quiesce-result held in the new domain" "'$(xsr "$B/quiesce-result")', state '$(xsr "$B/state")'"

# 3. rmmod while a migration is under way: libxl has bound the module's event channel at
# the start of its save and notifies it at the end of the live copy; the module hides the
# port at once, serves that notification and only then unloads (in the new domain). It
# used to close the port at once: libxl waited 60 s for nothing and the migration failed.
d=$(guest_domid "$g")
lock=/var/run/xen/suspend-evtchn-$d.lock
t0=$(now)
watchdog 600 "$XL" -vvv migrate -s "" "$g" "$XL migrate-receive" >"$log" 2>&1 &
mpid=$!
for _ in $(seq 1 120); do [ -e "$lock" ] && break; sleep 0.5; done
if [ -e "$lock" ]; then
    ok "libxl has bound the event channel ($(elapsed "$t0")s after the start)"
    sleep 1
    guest_run "$g" '(rmmod xlcp_guest; echo $? >/run/rmmod.rc) </dev/null >/dev/null 2>&1 & echo started' 30 >/dev/null
    diag "rmmod started $(elapsed "$t0")s after the migration"
else
    not_ok "libxl has bound the event channel" "no $lock within 60 s"
fi
wait "$mpid" && ok "xl migrate with rmmod under way ($(elapsed "$t0")s)" ||
    bail "xl migrate with rmmod under way" "$(grep -E 'error|ERROR|failed' "$log" | tail -n 8)
$(guest_run "$g" 'dmesg | tail -n 8' 30)"
[ "$(asked_by)" = evtchn ] && ok "libxl notified the module's event channel" || not_ok "event channel used" "$(asked_by)"
new_domain_checks "migrate during rmmod" stock
out=$(guest_run "$g" 'for i in $(seq 1 60); do [ -e /run/rmmod.rc ] && break; sleep 0.5; done
cat /run/rmmod.rc; grep -c "^xlcp_guest " /proc/modules; dmesg | grep -c "unload: the save in progress is over"' 60)
[ "$(printf '%s' "$out" | tr '\n' ' ')" = "0 0 1 " ] &&
    ok "rmmod waited for the migration, then unloaded in the new domain" ||
    not_ok "rmmod waited for the migration" "rc, loaded, waited: $(printf '%s' "$out" | tr '\n' ' ')
$(guest_run "$g" 'dmesg | grep xlcp_guest | tail -n 6' 30)"
n=$(light_count)
[ "${n:-0}" = 3 ] && ok "that migration went through the light path" || not_ok "that migration went through the light path" "$n"

# 4. the module is gone: the stock path is back for xl save + xl restore
d=$(guest_domid "$g")
ec=$(xsr "/local/domain/$d/device/suspend/event-channel")
[ -z "$ec" ] && [ -z "$(xsr "/local/domain/$d/data/checkpoint/feature")" ] &&
    ok "no event channel, no feature after rmmod" || not_ok "unpublished by rmmod" "event-channel '$ec'"
t0=$(now)
watchdog 300 "$XL" -vvv save "$g" "$img" >"$log" 2>&1 && ok "stock xl save after rmmod ($(elapsed "$t0")s)" ||
    bail "stock xl save after rmmod" "$(grep -E 'error|ERROR|guest' "$log" | tail -n 8)
$(guest_console "$g" | tail -n 12)"
[ "$(asked_by)" = control ] && ok "libxl asked through control/shutdown" || not_ok "control/shutdown used" "$(asked_by)"
t0=$(now)
watchdog 300 "$XL" restore "$img" >"$log" 2>&1 && ok "xl restore ($(elapsed "$t0")s)" ||
    bail "xl restore" "$(tail -n 5 "$log")"
rm -f "$img"
new_domain_checks "stock save + restore" stock
n=$(light_count)
[ "${n:-0}" = 3 ] && ok "the stock save did not go through the module" || not_ok "no light suspend after rmmod" "$n"
n=$(guest_run "$g" 'dmesg | grep -c "Freezing user space processes"' 30)
[ "${n:-0}" -ge 1 ] && ok "the guest froze its processes (the stock path)" || not_ok "the stock path froze processes" "$n"
out=$(guest_run "$g" 'dmesg | grep -cE "BUG|Oops|WARNING: |general protection|blocked for more than" || true' 30)
[ "$out" = 0 ] && ok "no oops, warning or hung task in the guest" ||
    not_ok "no oops, warning or hung task in the guest" "$(guest_run "$g" 'dmesg | tail -n 30')"
guest_destroy "$g"
lv_cleanup "$g"
done_testing
