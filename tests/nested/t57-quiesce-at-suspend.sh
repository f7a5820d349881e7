#!/bin/bash
# t57-quiesce-at-suspend.sh - protocol 2 (issue 14 items 2, 3; issue 13 item 9), driven
# from dom0 as the toolstack will: "quiesce-at-suspend <id>" in data/checkpoint/request,
# then `xl save -c` (libxl notifies the module's event channel), announced in
# data/checkpoint/suspend-announce as xl-checkpoint announces its own (protocol 3).
#  - armed: the guest answers "armed <id>" and a writer on ext4 keeps writing (nothing is
#    frozen before the stop); the save freezes, stops, resumes, thaws: quiesce-result
#    "held <id>", state "thawed <id>", the writer continues, fsck finds the file system
#    clean;
#  - expiry: an armed request that sees no suspend within armed_timeout_ms expires
#    ("expired <id>") and the next save freezes nothing;
#  - a hung freeze (test_freeze_delay_ms far beyond freeze_timeout_ms) does not hold the
#    suspend: the save completes, quiesce-result "not-held <id> ...", nothing stays frozen;
#  - a stale trigger (test_suspend_delay_ms beyond trigger_max_age_ms): the guest drops
#    it instead of suspending after libxl gave up (dropped-triggers, drop-reason), keeps
#    running, and the next save works.
# timeout: 1500
set -uo pipefail
. "$(dirname "$0")/lib.sh"
export XLCP_GUEST_MEMORY=${XLCP_GUEST_MEMORY:-256} # its bounds tell a freeze held for the copy from one held for the stop
. "$(dirname "$0")/module-lib.sh"

KO=/lib/xlcp/extra/xlcp_guest.ko
g=g57
guest_start "$g" thick:256M && guest_wait_ready "$g" && ok "guest ready" || bail "guest ready"
guest_run "$g" "test -f $KO" >/dev/null || bail "no $KO in the guest"
d=$(guest_domid "$g")
B=/local/domain/$d/data/checkpoint
P=/sys/module/xlcp_guest/parameters
param() { guest_run "$g" "echo $2 > $P/$1 && cat $P/$1" 30 >/dev/null; }
# each save announced, as xl-checkpoint announces its own (else: the stock path)
save() { announce "$B" && watchdog 200 "$XL" save -c "$g" /dev/null >"$XLCP_RUN/t57-save.log" 2>&1; }
module_writer_start "$g" "$KO"
caps=$(xsr "$B/capabilities")
case " $caps " in *" quiesce-at-suspend "*) ok "capability quiesce-at-suspend" ;; *) bail "capability quiesce-at-suspend" "'$caps'" ;; esac
[ "$(xsr "$B/protocol")" = 3 ] && ok "protocol 3" || not_ok "protocol 3" "'$(xsr "$B/protocol")'"
# the bounds of the parameters hold
out=$(guest_run "$g" "echo 0 > $P/quiesce_timeout_ms; echo 999999999 > $P/freeze_timeout_ms; cat $P/quiesce_timeout_ms $P/freeze_timeout_ms" 30)
[ "$(printf '%s' "$out" | grep -c 'write error: Invalid argument')" = 2 ] &&
    [ "$(printf '%s' "$out" | tr -d '\r' | grep -E '^[0-9]+$' | tr '\n' ' ')" = "30000 5000 " ] && ok "out-of-range parameter writes refused" ||
    not_ok "out-of-range parameter writes refused" "$out"

# 1. armed, then a save: held across the stop
id=$(newid)
xenstore-write "$B/request" "quiesce-at-suspend $id"
xs_wait "$B/state" "armed $id" 30 && ok "armed $id" || not_ok "armed" "state '$(xsr "$B/state")'"
moving "$g" && ok "writer not blocked while armed" || not_ok "writer not blocked while armed"
out=$(xl-checkpoint xs-check "$g" 2>&1) && ok "xs-check passes while armed" || not_ok "xs-check passes while armed" "$out"
t0=$(now)
save && ok "xl save -c with the request armed ($(elapsed "$t0")s)" || not_ok "xl save -c armed" "$(tail -n 5 "$XLCP_RUN/t57-save.log")"
xs_wait "$B/state" "thawed $id" 30 && ok "state thawed $id after the save" || not_ok "state thawed after the save" "'$(xsr "$B/state")'"
r=$(xsr "$B/quiesce-result")
[ "$r" = "held $id" ] && ok "quiesce-result: $r" || not_ok "quiesce-result held" "'$r'"
msg=$(guest_run "$g" 'dmesg | grep -E "xlcp_guest: (froze|quiesce at suspend|light suspend)" | tail -n 3' 30)
diag "$msg"
printf '%s' "$msg" | grep -q "froze [1-9][0-9]* file system(s) for $id at suspend" &&
    ok "the guest froze its ext4 inside the suspend" || not_ok "the guest froze its ext4 inside the suspend" "$msg"
moving "$g" && ok "writer continues after the save" || not_ok "writer continues after the save"
out=$(xl-checkpoint xs-check "$g" 2>&1) && ok "xs-check passes after the save" || not_ok "xs-check passes after the save" "$out"

# 2. expiry
param armed_timeout_ms 3000
id2=$(newid)
xenstore-write "$B/request" "quiesce-at-suspend $id2"
xs_wait "$B/state" "armed $id2" 30 || diag "state '$(xsr "$B/state")'"
xs_wait "$B/state" "expired $id2" 30 && ok "armed request expired after armed_timeout_ms" ||
    not_ok "armed request expired" "state '$(xsr "$B/state")'"
f0=$(guest_run "$g" 'dmesg | grep -c "at suspend"' 30)
save && ok "save after the expiry" || not_ok "save after the expiry" "$(tail -n 5 "$XLCP_RUN/t57-save.log")"
f1=$(guest_run "$g" 'dmesg | grep -c "at suspend"' 30)
[ "$f0" = "$f1" ] && [ "$(xsr "$B/quiesce-result")" = "held $id" ] && [ "$(xsr "$B/state")" = "expired $id2" ] &&
    ok "an expired request freezes nothing at the next save" ||
    not_ok "an expired request freezes nothing" "dmesg $f0 -> $f1, result '$(xsr "$B/quiesce-result")', state '$(xsr "$B/state")'"
param armed_timeout_ms 900000

# 3. a hung freeze does not hold the suspend
param freeze_timeout_ms 2000
param test_freeze_delay_ms 20000
id3=$(newid)
xenstore-write "$B/request" "quiesce-at-suspend $id3"
xs_wait "$B/state" "armed $id3" 30 || diag "state '$(xsr "$B/state")'"
t0=$(now)
save && ok "save with a hung freeze completes ($(elapsed "$t0")s)" || not_ok "save with a hung freeze" "$(tail -n 5 "$XLCP_RUN/t57-save.log")"
xs_wait "$B/state" "thawed $id3" 30 || diag "state '$(xsr "$B/state")'"
r=$(xsr "$B/quiesce-result")
[[ "$r" == "not-held $id3 "* ]] && ok "quiesce-result: $r" || not_ok "quiesce-result not-held" "'$r'"
param test_freeze_delay_ms 0
sleep 20 # the delayed worker wakes up, sees it was abandoned, freezes nothing
moving "$g" && ok "nothing stays frozen after the abandoned freeze" || not_ok "nothing stays frozen after the abandoned freeze"
param freeze_timeout_ms 5000

# 4. a stale trigger is dropped, not served late
param trigger_max_age_ms 3000
param test_suspend_delay_ms 6000
dr0=$(xsr "$B/dropped-triggers")
t0=$(now)
save
rc=$?
diag "save with a stale trigger: exit $rc after $(elapsed "$t0")s: $(tail -n 2 "$XLCP_RUN/t57-save.log" | tr '\n' ' ')"
param test_suspend_delay_ms 0
dr1=$(xsr "$B/dropped-triggers")
[ "${dr1:-0}" -eq $((${dr0:-0} + 1)) ] && ok "trigger dropped and counted (dropped-triggers ${dr0:-absent} -> $dr1: $(xsr "$B/drop-reason"))" ||
    not_ok "trigger dropped and counted" "'${dr0:-}' -> '${dr1:-}', reason '$(xsr "$B/drop-reason")'"
sleep 5
st=$("$XL" list "$g" 2>/dev/null | awk 'NR == 2 { print $5 }')
case "$st" in *s*) not_ok "guest not suspended after the dropped trigger" "state $st" ;;
*) ok "guest not suspended after the dropped trigger (state $st)" ;; esac
moving "$g" && ok "writer continues after the dropped trigger" || not_ok "writer continues after the dropped trigger"
param trigger_max_age_ms 20000
save && ok "the next save works" || not_ok "the next save works" "$(tail -n 5 "$XLCP_RUN/t57-save.log")"

# the file system is consistent (checked from dom0 once the guest unmounted it)
out=$(guest_run "$g" 'touch /run/wstop; sleep 2; umount /mnt/d && echo unmounted' 60)
printf '%s' "$out" | grep -q unmounted || diag "umount: $out"
out=$(e2fsck -f -n "/dev/$VG/$g-d0" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "ext4 clean after the saves (e2fsck -n in dom0)" || not_ok "ext4 clean after the saves" "e2fsck exit $rc: $(printf '%s' "$out" | tail -n 5)"
module_test_end "$g"
