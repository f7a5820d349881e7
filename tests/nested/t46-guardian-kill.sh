#!/bin/bash
# t46-guardian-kill.sh - the tool killed with SIGKILL at the worst instant: the guest
# suspended and its disks' writes held (XLCP_TEST_STOP_AT=suspended makes the tool stop
# itself right there). The guardian (an exec'd helper, libexec/xl-checkpoint/xlcp-guardian)
# must resume that guest and let its disks' writes flow: the guest runs again, a write in
# it completes, its disks are not left suspended; the next `xl checkpoint create` cleans up
# what the killed run left and succeeds.
# timeout: 900
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t46
rm -rf "$XLCP_CATALOG_ROOT"
snapvols() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c '\.xlcp\.'; }
dmstate() { dmsetup info "$VG-$(printf '%s' "$1" | sed 's/-/--/g')--$2" 2>&1 | sed -n 's/^State: *//p'; }

helper=$XLCP_LIBEXEC/xlcp-guardian
[ -x "$helper" ] && ok "the guardian is installed ($helper)" || bail "no $helper"

g=gguard
guest_start "$g" thick:128M thin:128M && guest_wait_ready "$g" && ok "$g ready" || bail "$g ready"
XLCP_TEST_STOP_AT=suspended xl-checkpoint create "$g" >"$XLCP_RUN/guard.out" 2>&1 &
pid=$!
stopped=0
for _ in $(seq 1 1200); do
    st=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null)
    [ "$st" = T ] && stopped=1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
[ "$stopped" = 1 ] && ok "the tool stopped itself with the guest suspended" ||
    bail "the tool did not stop at 'suspended': $(cat "$XLCP_RUN/guard.out")"
state=$("$XL" list "$g" 2>/dev/null | awk 'NR == 2 { print $5 }')
case "$state" in
*s*) ok "guest suspended at that instant (state '$state')" ;;
*) not_ok "guest suspended at that instant" "state '$state'" ;;
esac
d0=$(dmstate "$g" d0)
[ "$d0" = SUSPENDED ] && ok "its thick disk's writes held (device-mapper '$d0')" ||
    not_ok "its thick disk's writes held" "device-mapper state '$d0'"
guardians=$(pgrep -c -x xlcp-guardian)
[ "$guardians" -ge 1 ] && ok "$guardians guardian process(es) running" ||
    not_ok "a guardian runs" "none"
kill -9 "$pid"
wait "$pid" 2>/dev/null
ok "xl-checkpoint killed with SIGKILL"
for _ in $(seq 1 100); do
    pgrep -x xlcp-guardian >/dev/null || break
    sleep 0.2
done
pgrep -x xlcp-guardian >/dev/null && not_ok "the guardians finished" "$(pgrep -a xlcp-guardian)" ||
    ok "the guardians finished"
diag "what the guardians said: $(grep -i guardian "$XLCP_RUN/guard.out" | tr '\n' '|')"
grep -q "guest resumed" "$XLCP_RUN/guard.out" && ok "the guardian reports the guest resumed" ||
    not_ok "the guardian reports the guest resumed" "$(cat "$XLCP_RUN/guard.out")"
guest_not_suspended "$g" "after SIGKILL"
for d in d0 d1; do
    s=$(dmstate "$g" $d)
    [ "$s" = ACTIVE ] && ok "disk $d not left suspended" || not_ok "disk $d not left suspended" "device-mapper state '$s'"
done
out=$(guest_run "$g" 'dd if=/dev/zero of=/dev/xvda bs=4096 count=1 oflag=direct 2>&1 && dd if=/dev/zero of=/dev/xvdb bs=4096 count=1 oflag=direct 2>&1 && echo wrote' 60)
printf '%s' "$out" | grep -q wrote && ok "the guest writes to both disks" ||
    not_ok "the guest writes to both disks" "$out"
diag "leftovers of the killed run: $(find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name '.tmp-*' | wc -l) temporary directories, $(snapvols) snapshot volumes"
next_run_cleans "$g" 2
guest_destroy "$g"
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
