#!/bin/bash
# t45-suspend-timeout.sh - `--suspend-timeout N` bounds the wait for the guest to stop,
# counted from the instant libxl asks it to suspend: a guest that never suspends (it
# cannot read control/shutdown, and has no checkpoint module, so no event channel) fails
# the checkpoint in about N s, not after libxl's own 60 s, with exit 7 and a message naming
# the option; the guest keeps running, libxl's request is taken back (control/shutdown
# empty again), and nothing is left behind.
# timeout: 600
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t45
rm -rf "$XLCP_CATALOG_ROOT"
snapvols() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c '\.xlcp\.'; }

g=gnosusp5
guest_start "$g" thick:128M && guest_wait_ready "$g" && ok "$g ready" || bail "$g ready"
guest_deny_suspend "$g"
node=/local/domain/$(guest_domid "$g")/control/shutdown

# when libxl's request appears in control/shutdown (after the live copy's first rounds)
(
    while [ "$(xenstore-read "$node" 2>/dev/null)" != suspend ]; do sleep 0.1; done
    now >"$XLCP_RUN/asked"
) &
poller=$!
t0=$(now)
out=$(watchdog 300 xl-checkpoint create --suspend-timeout 5 "$g" 2>&1)
rc=$?
t1=$(now)
kill "$poller" 2>/dev/null
wait "$poller" 2>/dev/null
asked=$(cat "$XLCP_RUN/asked" 2>/dev/null)
diag "the run took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
diag "$out"
[ "$rc" = 7 ] && ok "exit 7 (timed out)" || not_ok "exit 7" "exit $rc: $out"
printf '%s' "$out" | grep -q "did not stop within 5 s (--suspend-timeout)" &&
    ok "the message names the limit and the option" || not_ok "message names --suspend-timeout" "$out"
# counted from the request (the live copy comes first): 5 s and some slack for
# emulation, well under libxl's own 60 s
took=$(awk -v a="${asked:-0}" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
[ -n "$asked" ] && awk -v t="$took" 'BEGIN { exit !(t < 30) }' &&
    ok "gave up $took s after libxl's request (libxl alone waits 60 s)" ||
    not_ok "gave up well before libxl's 60 s" "${asked:+$took s after the request}${asked:-the request was never seen}"
v=$(xenstore-read "$node" 2>/dev/null)
[ -z "$v" ] && ok "libxl's suspend request taken back (control/shutdown empty)" ||
    not_ok "suspend request taken back" "control/shutdown = '$v'"
guest_allow_suspend "$g"
guest_not_suspended "$g" "after the timeout"
e=$(find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -type d 2>/dev/null | wc -l)
s=$(snapvols)
[ "$e" = 0 ] && [ "$s" = 0 ] && ok "nothing left behind" ||
    not_ok "nothing left behind" "$e catalog entries, $s snapshot volumes"
pgrep -x xlcp-guardian >/dev/null && not_ok "no guardian left running" "$(pgrep -a xlcp-guardian)" ||
    ok "no guardian left running"
guest_destroy "$g"
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
