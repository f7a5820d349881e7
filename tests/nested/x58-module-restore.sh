#!/bin/bash
# NOT IN make check (x*): its `xl migrate` of a guest with the module loaded and a
# quiesce-at-suspend armed failed on nested Xen ("failed to suspend at sender"; the
# receiver could not rebuild the domain): open in issue 14. Run it with
# XLCP_NESTED_GLOB='x[0-9]*.sh' make check-nested T=x58.
# t58-module-restore.sh - a guest with the module loaded is saved and restored (`xl save`,
# `xl restore`) and migrated to localhost (`xl migrate`): both go through the module's
# light path and resume the guest in a new domain (issue 14 item 4). The guest runs, its
# disk works (xenbus front ends resumed), the module publishes itself and a new event
# channel in the new domain, and
# a quiesce-at-suspend armed before the migration reports "held" in the new domain.
# timeout: 1200
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/module-lib.sh"

KO=/lib/xlcp/extra/xlcp_guest.ko
g=g58
img=/var/tmp/t58.img
guest_start "$g" thick:256M && guest_wait_ready "$g" && ok "guest ready" || bail "guest ready"
guest_run "$g" "test -f $KO" >/dev/null || bail "no $KO in the guest"
module_writer_start "$g" "$KO"
d0=$(guest_domid "$g")
# new_domain_checks LABEL: the guest answers in its new domain, the module republished
new_domain_checks() {
    local d B ec
    d=$(guest_domid "$g")
    B=/local/domain/$d/data/checkpoint
    [ -n "$d" ] && [ "$d" != "$d0" ] && ok "$1: the guest is a new domain ($d0 -> $d)" ||
        not_ok "$1: new domain" "'$d0' -> '$d'"
    guest_wait_counter "$g" 0 120 >/dev/null && ok "$1: the guest runs" ||
        bail "$1: the guest runs" "$(guest_console "$g" | tail -n 15)"
    moving "$g" && ok "$1: its disk takes writes (block front end resumed)" || not_ok "$1: its disk takes writes"
    ec=$(xsr "/local/domain/$d/device/suspend/event-channel")
    [ "$(xsr "$B/feature")" = 1 ] && [ "$(xsr "$B/suspend-path")" = light ] && [[ "$ec" =~ ^[1-9][0-9]*$ ]] &&
        ok "$1: module republished with event channel $ec" ||
        not_ok "$1: module republished" "feature '$(xsr "$B/feature")' path '$(xsr "$B/suspend-path")' ec '$ec'"
    out=$(xl-checkpoint xs-check "$g" 2>&1) && ok "$1: xs-check passes" || not_ok "$1: xs-check passes" "$out"
    d0=$d
}

t0=$(now)
watchdog 300 "$XL" save "$g" "$img" >"$XLCP_RUN/t58.log" 2>&1 && ok "xl save ($(elapsed "$t0")s)" ||
    bail "xl save" "$(tail -n 5 "$XLCP_RUN/t58.log")"
t0=$(now)
watchdog 300 "$XL" restore "$img" >"$XLCP_RUN/t58.log" 2>&1 && ok "xl restore ($(elapsed "$t0")s)" ||
    bail "xl restore" "$(tail -n 5 "$XLCP_RUN/t58.log")"
rm -f "$img"
new_domain_checks "save + restore"
msg=$(guest_run "$g" 'dmesg | grep -c "light suspend: resumed in a new domain"' 30)
[ "${msg:-0}" -ge 1 ] && ok "the save went through the light path" || not_ok "the save went through the light path" "$msg"

d=$(guest_domid "$g")
B=/local/domain/$d/data/checkpoint
id=$(newid)
xenstore-write "$B/request" "quiesce-at-suspend $id"
xs_wait "$B/state" "armed $id" 30 && ok "armed before the migration" || not_ok "armed" "'$(xsr "$B/state")'"
t0=$(now)
watchdog 600 "$XL" migrate -s "" "$g" "$XL migrate-receive" >"$XLCP_RUN/t58.log" 2>&1 &&
    ok "xl migrate to localhost ($(elapsed "$t0")s)" || bail "xl migrate" "$(tail -n 8 "$XLCP_RUN/t58.log")"
new_domain_checks "migrate"
B=/local/domain/$(guest_domid "$g")/data/checkpoint
xs_wait "$B/quiesce-result" "held $id" 30 && ok "quiesce-result held $id in the new domain" ||
    not_ok "quiesce-result held in the new domain" "'$(xsr "$B/quiesce-result")', state '$(xsr "$B/state")'"
module_test_end "$g"
