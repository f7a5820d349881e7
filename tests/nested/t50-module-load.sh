#!/bin/bash
# t50-module-load.sh - the guest checkpoint module (xlcp_guest.ko, shipped in the guest at
# /lib/xlcp/extra/ by run.sh) loads in a PV guest, advertises itself in
# data/checkpoint (protocol v2, xenstore-schema/PROTOCOL.md) and publishes
# device/suspend/event-channel; `xl-checkpoint xs-check` passes on that subtree and reports
# a hand-broken one; garbage written by dom0 into the request node neither crashes the
# guest nor freezes anything; rmmod removes what the module published.
# timeout: 600
set -uo pipefail
. "$(dirname "$0")/lib.sh"

KO=/lib/xlcp/extra/xlcp_guest.ko
g=g50
guest_start "$g" thick:256M && ok "guest created" || bail "guest created"
guest_wait_ready "$g" && ok "guest ready" || bail "guest ready"
# a missing module is a failure, not a skip: make check builds it (make module) and
# run.sh ships it; without it nothing of what this test promises was checked
guest_run "$g" "test -f $KO" >/dev/null ||
    bail "$KO in the guest" "no module in the guest (make module; run.sh ships build/guest-kernel/*.ko)"
d=$(guest_domid "$g")
B=/local/domain/$d/data/checkpoint
EC=/local/domain/$d/device/suspend/event-channel
xsr() { xenstore-read "$1" 2>/dev/null; }
has_xscheck() { xl-checkpoint --help 2>&1 | grep -q 'xs-check'; }

# a request written before the module loads is not acted on
xenstore-write "$B/request" "quiesce 20260101T000000.000Z-000000"
out=$(guest_run "$g" "mkfs.ext4 -q -F /dev/xvda && mkdir -p /mnt/d && mount /dev/xvda /mnt/d &&
insmod $KO && dmesg | grep xlcp_guest" 120)
rc=$?
[ $rc -eq 0 ] && ok "insmod xlcp_guest" || bail "insmod xlcp_guest" "rc $rc: $out"
diag "$out"

[ "$(xsr "$B/feature")" = 1 ] && ok "feature = 1" || not_ok "feature = 1" "got '$(xsr "$B/feature")'"
[ "$(xsr "$B/protocol")" = 3 ] && ok "protocol = 3" || not_ok "protocol = 3" "got '$(xsr "$B/protocol")'"
[ "$(xsr "$B/state")" = idle ] && ok "state idle (request written before load ignored)" ||
    not_ok "state idle" "got '$(xsr "$B/state")'"
caps=$(xsr "$B/capabilities")
case " $caps " in *" quiesce "*) ok "capability quiesce" ;; *) not_ok "capability quiesce" "'$caps'" ;; esac
case " $caps " in *" quiesce-at-suspend "*) ok "capability quiesce-at-suspend" ;; *) not_ok "capability quiesce-at-suspend" "'$caps'" ;; esac
path=$(xsr "$B/suspend-path")
port=$(xsr "$EC")
if [ "$path" = light ]; then
    ok "suspend-path light"
    [[ "$port" =~ ^[1-9][0-9]*$ ]] && ok "event channel $port published" ||
        not_ok "event channel published" "device/suspend/event-channel = '$port'"
else
    not_ok "suspend-path light" "suspend-path '$path', fallback-reason '$(xsr "$B/fallback-reason")'"
fi

if has_xscheck; then
    out=$(xl-checkpoint xs-check "$g" 2>&1)
    [ $? -eq 0 ] && ok "xs-check passes on the module's subtree" ||
        not_ok "xs-check passes on the module's subtree" "$out"
    # hand-broken: an unknown node, a bad value, a missing mandatory node
    xenstore-write -- "$B/bogus" 1 "$B/downtime-ns" "-12"
    state=$(xsr "$B/state")
    xenstore-rm "$B/suspend-path"
    out=$(xl-checkpoint xs-check "$g" 2>&1)
    rc=$?
    miss=""
    for p in data/checkpoint/bogus data/checkpoint/downtime-ns data/checkpoint/suspend-path; do
        printf '%s' "$out" | grep -q "$p" || miss="$miss $p"
    done
    [ $rc -ne 0 ] && [ -z "$miss" ] && ok "xs-check reports each violation of a broken subtree" ||
        not_ok "xs-check reports each violation of a broken subtree" "rc $rc, not named:$miss; $out"
    xenstore-rm "$B/bogus"
    xenstore-write "$B/downtime-ns" 0 "$B/suspend-path" "$path" "$B/state" "$state"
else
    not_ok "xs-check" "xl-checkpoint --help names no xs-check subcommand"
fi

# garbage from dom0 into the request node: nothing happens, the guest survives
c0=$(guest_counter "$g")
big=$(head -c 2000 /dev/zero | tr '\0' A) # xenstored takes up to 2048 bytes
for v in "" "quiesce" "thaw" "quiesce 123" "quiesce 20261124T191342.123Z-1A2B3C" \
    "thaw ../../../x" "quiesce 20261124T191342.123Z-1a2b3c extra" "$big" $'quiesce \x01\x7f\xff' \
    "reboot 20261124T191342.123Z-1a2b3c" "  quiesce 20261124T191342.123Z-1a2b3c"; do
    xenstore-write -- "$B/request" "$v" || diag "xenstore-write of garbage failed"
    sleep 0.3
done
sleep 2
st=$(xsr "$B/state")
[[ "$st" =~ ^error\ -\ [!-~] ]] && ok "garbage answered with state '$st'" ||
    not_ok "garbage answered with an error state" "state '$st'"
out=$(guest_run "$g" 'timeout 10 sh -c "echo x >>/mnt/d/f && sync" && echo writable; dmesg | grep -cE "BUG|Oops|WARNING: |general protection" || true' 60)
printf '%s' "$out" | grep -q '^writable' && ok "nothing frozen by garbage" ||
    not_ok "nothing frozen by garbage" "$out"
[ "$(printf '%s' "$out" | tail -n 1)" = 0 ] && ok "no oops or warning in the guest" ||
    not_ok "no oops or warning in the guest" "$(guest_run "$g" 'dmesg | tail -n 30')"
c1=$(guest_wait_counter "$g" "$((c0 + 2))" 60) && ok "guest keeps running ($c0 -> $c1)" ||
    not_ok "guest keeps running" "$c0 -> $c1"
if has_xscheck; then
    xenstore-write "$B/request" "x"
    sleep 1
    out=$(xl-checkpoint xs-check "$g" 2>&1)
    printf '%s' "$out" | grep -q "data/checkpoint/request" && ok "xs-check names the garbage request" ||
        not_ok "xs-check names the garbage request" "$out"
fi

# unload: the module's nodes go, libxl's event-channel node is left empty
out=$(guest_run "$g" "rmmod xlcp_guest && echo unloaded" 60)
[ "$(printf '%s' "$out" | tail -n 1)" = unloaded ] && ok "rmmod" || not_ok "rmmod" "$out"
[ -z "$(xsr "$B/feature")" ] && ok "feature gone after rmmod" || not_ok "feature gone after rmmod"
[ -z "$(xsr "$EC")" ] && ok "event channel unpublished" || not_ok "event channel unpublished" "'$(xsr "$EC")'"
# and it loads again (clean unload), also with the light path disabled
out=$(guest_run "$g" "insmod $KO light=0 && echo loaded" 60)
[ "$(printf '%s' "$out" | tail -n 1)" = loaded ] && ok "insmod again with light=0" || not_ok "insmod again" "$out"
[ "$(xsr "$B/suspend-path")" = stock ] && [ -n "$(xsr "$B/fallback-reason")" ] && [ -z "$(xsr "$EC")" ] &&
    ok "light=0: suspend-path stock with a reason, no event channel" ||
    not_ok "light=0: stock path" "path '$(xsr "$B/suspend-path")' reason '$(xsr "$B/fallback-reason")' ec '$(xsr "$EC")'"
guest_run "$g" "rmmod xlcp_guest" >/dev/null
# a kernel symbol the light path needs is missing: the stock path stays, the reason names it
out=$(guest_run "$g" "insmod $KO test_hide_symbol=xs_watch_rwsem && echo loaded" 60)
[ "$(printf '%s' "$out" | tail -n 1)" = loaded ] && ok "insmod with a missing symbol" || not_ok "insmod with a missing symbol" "$out"
why=$(xsr "$B/fallback-reason")
[ "$(xsr "$B/suspend-path")" = stock ] && [ -z "$(xsr "$EC")" ] && [[ "$why" == *xs_watch_rwsem* ]] &&
    ok "missing symbol: stock path, no event channel, reason '$why'" ||
    not_ok "missing symbol: stock path with the symbol named" "path '$(xsr "$B/suspend-path")' reason '$why' ec '$(xsr "$EC")'"
case " $(xsr "$B/capabilities") " in *" light-suspend "* | *" quiesce-at-suspend "*)
    not_ok "missing symbol: no light capabilities" "'$(xsr "$B/capabilities")'" ;;
*) ok "missing symbol: no light capabilities ('$(xsr "$B/capabilities")')" ;;
esac
guest_run "$g" "rmmod xlcp_guest" >/dev/null
# bounded parameters: out of range refused at load
out=$(guest_run "$g" "insmod $KO quiesce_timeout_ms=0 2>&1; insmod $KO trigger_max_age_ms=70000 2>&1; lsmod | grep -c xlcp_guest" 60)
[ "$(printf '%s' "$out" | tail -n 1)" = 0 ] && ok "out-of-range module parameters refused at load" ||
    not_ok "out-of-range module parameters refused at load" "$out"
guest_destroy "$g"
lv_cleanup "$g"
done_testing
