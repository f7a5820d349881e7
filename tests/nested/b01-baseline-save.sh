#!/bin/bash
# b01-baseline-save.sh - the stock baseline our checkpoints are measured against (run by
# `make bench` before the benchmarks, which stand on it; not a test of our code):
# `xl save -c` leaves the guest running (its counter keeps advancing), and `xl save` +
# `xl restore` bring it back with the counter continuing from where it was saved.
# timeout: 600
set -uo pipefail
. "$(dirname "$0")/lib.sh"
export XLCP_GUEST_MEMORY=${XLCP_GUEST_MEMORY:-256} # the benchmarks' size

img=/var/tmp/t10-g1.save
rm -f "$img"
guest_start g1 && ok "guest g1 created" || bail "guest g1 created"
guest_wait_ready g1 && ok "guest g1 ready" || bail "guest g1 ready"
guest_wait_counter g1 2 >/dev/null

# -- xl save -c: checkpoint, guest keeps running in the same domain
guest_probe_start g1 100
sleep 5
noise=$(guest_probe_max g1)
guest_probe_start g1 100
id0=$(guest_domid g1)
c0=$(guest_counter g1)
domwatch_start g1
t0=$(now)
if watchdog 300 "$XL" save -c g1 "$img" >/dev/null 2>&1; then
    ok "xl save -c g1 ($(elapsed "$t0")s, image $(du -m "$img" | cut -f1) MiB)"
else
    bail "xl save -c g1" "exit status $?"
fi
id1=$(guest_domid g1)
[ -n "$id1" ] && [ "$id1" = "$id0" ] && ok "g1 still runs as domain $id0 after save -c" ||
    not_ok "g1 still runs as domain $id0 after save -c" "domid now '${id1}'"
c1=$(guest_counter g1)
c2=$(guest_wait_counter g1 "$((c1 + 2))" 60) &&
    ok "counter keeps advancing after save -c ($c0 before, $c1 -> $c2 after)" ||
    not_ok "counter keeps advancing after save -c" "before $c0, after $c1, then $c2"
out=$(guest_run g1 'echo alive') && [ "$out" = alive ] &&
    ok "guest answers commands after save -c" || not_ok "guest answers commands after save -c" "$out"
# What the guest saw against what Xen did: Xen kept the domain suspended for STOP ms
# (xlcp-domwatch, from dom0); the guest's clock must show a gap at least that long (less
# the poll's 2 ms and a tick), and that gap must stand far above the probe's noise floor.
stop=$(domwatch_stop) || stop=""
stop=${stop%% *}
gap=$(guest_probe_max g1)
if [ -n "$stop" ] && [ -n "$gap" ] && awk -v g="$gap" -v s="$stop" -v n="$noise" \
    'BEGIN { exit !(s > 0 && g >= s - 20 && g > 5 * n) }'; then
    ok "guest saw the save -c pause: largest gap ${gap} ms, Xen had it suspended ${stop} ms (noise floor ${noise} ms)"
else
    not_ok "guest saw the save -c pause" "largest CLOCK_BOOTTIME gap '${gap}' ms, Xen's stop '${stop}' ms, noise '${noise}' ms; gaps: $(guest_probe_gaps g1 | tr '\n' ' ')"
fi
rm -f "$img"

# -- xl save (domain goes away) + xl restore: the same memory comes back. A token only
# this boot of the guest has (in /run, a tmpfs) must be there after restore, and the first
# counter the restored guest reports must continue from the saved one: not below it (a
# guest booted afresh counts from 1), not beyond it by more than the seconds that passed.
token=$(guest_run g1 'head -c 8 /dev/urandom | od -An -tx1 | tr -d " \n" | tee /run/t10-token')
[ ${#token} -eq 16 ] && ok "token $token kept in the guest's memory" || bail "token in the guest's memory" "'$token'"
c3=$(guest_counter g1)
t3=$(now)
watchdog 300 "$XL" save g1 "$img" >/dev/null 2>&1 &&
    ok "xl save g1 ($(elapsed "$t3")s)" || bail "xl save g1"
guest_domid g1 >/dev/null && not_ok "g1 is gone after xl save" || ok "g1 is gone after xl save"
t0=$(now)
watchdog 300 "$XL" restore "$img" >/dev/null 2>&1 &&
    ok "xl restore ($(elapsed "$t0")s)" || bail "xl restore"
c4=$(guest_wait_counter g1 0 90)
rc=$?
secs=$(awk -v a="$t3" -v b="$(now)" 'BEGIN { printf "%d", b - a + 2 }')
if [ $rc -eq 0 ] && [ "$c4" -ge "$c3" ] && [ "$c4" -le "$((c3 + secs))" ]; then
    ok "counter continues from the saved value ($c3 before save, first $c4 after restore, ${secs}s later)"
else
    not_ok "counter continues from the saved value" "before save $c3, first after restore $c4, ${secs}s later"
fi
out=$(guest_run g1 'cat /run/t10-token')
[ "$out" = "$token" ] && ok "the restored guest has the token from before the save" ||
    not_ok "the restored guest has the token from before the save" "'$out' vs '$token'"
c5=$(guest_wait_counter g1 "$c4" 60) && ok "counter advances after restore ($c4 -> $c5)" ||
    not_ok "counter advances after restore" "stuck at $c5"
out=$(guest_run g1 'cat /run/counter') && ok "guest answers commands after restore ($out)" ||
    not_ok "guest answers commands after restore" "$out"
rm -f "$img"
guest_destroy g1
lv_cleanup g1
done_testing
