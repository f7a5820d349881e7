#!/bin/bash
# t41-hold.sh - a checkpoint never commits a later instant than the one it captured, and
# its snapshots are read-only and checked by verify:
#   - while checkpoint A of guest ga holds its origins (a thick and a thin LV; the hold is
#     stretched by the test-only XLCP_TEST_HOLD_DELAY_MS), checkpoint B of guest gb, in the
#     same VG and thin pool, runs its LVM commands: each of A and B either commits (its
#     hold was checked intact) or fails cleanly with the cause;
#   - a `dmsetup resume` forced on A's held thick origin: A fails, says the hold was
#     released by someone else, leaves nothing behind, and the guest runs on;
#   - snapshots are read-only (thick and the re-pointed thin volume, which is also skipped
#     at activation), and restore clones them into a writable domain;
#   - a thick snapshot overflowed by writes after the checkpoint fails verify (exit 8,
#     "invalidated").
# timeout: 1500
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t41
rm -rf "$XLCP_CATALOG_ROOT"
dm() { echo "$VG-${1//-/--}"; }
suspended() { dmsetup info -c --noheadings -o attr "$(dm "$1")" 2>/dev/null | grep -q s; }
# wait_held LV SECS: until LV's device is suspended (our capture)
wait_held() {
    local _
    for _ in $(seq 1 $(($2 * 10))); do
        suspended "$1" && return 0
        sleep 0.1
    done
    return 1
}
snapvols() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c "^ *$1-d.*\.xlcp\."; }
tmpdirs() { find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name '.tmp-*' 2>/dev/null | wc -l; }
running() { # NAME DESC
    local c0 c1
    c0=$(guest_counter "$1")
    c1=$(guest_wait_counter "$1" "$((c0 + 1))" 60) && ok "$2: guest still running ($c0 -> $c1)" ||
        not_ok "$2: guest still running" "counter $c0 -> $c1"
}
idof() { sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' "$1" | head -n 1; }
attr() { lvs --noheadings -o lv_attr "$VG/$1" 2>/dev/null | tr -d ' '; }

for g in ga gb; do
    guest_start "$g" thick:64M thin:64M && ok "guest $g with a thick and a thin LV in $VG" ||
        bail "guest $g created"
done
for g in ga gb; do guest_wait_ready "$g" 240 || bail "guest $g ready"; done
ok "guests ready"
# ga writes its disks all the time: a released hold lets its writes through
out=$(guest_run ga 'cat > /run/w.sh <<"W"
i=0
while :; do
    i=$(((i + 1) % 1000))
    dd if=/dev/urandom of=/dev/xvda bs=4k count=1 seek=$i oflag=direct 2>/dev/null
    dd if=/dev/urandom of=/dev/xvdb bs=4k count=1 seek=$i oflag=direct 2>/dev/null
done
W
sh /run/w.sh </dev/null >/dev/null 2>&1 &
echo $! > /run/w.pid; echo started' 60)
[ "$(printf '%s' "$out" | tail -n 1)" = started ] && ok "ga writes both disks all the time" ||
    not_ok "ga's writer" "$out"

# ---- a second checkpoint in the same VG and pool while the first holds its origins ----
XLCP_TEST_HOLD_DELAY_MS=20000 XLCP_HOLD_LIMIT_MS=200000 \
    watchdog 600 xl-checkpoint create --name t41a --json ga >"$XLCP_RUN/a.out" 2>&1 &
pa=$!
if wait_held ga-d0 300 && wait_held ga-d1 5; then
    ok "checkpoint A holds both origins of ga"
else
    not_ok "checkpoint A holds both origins of ga" "$(cat "$XLCP_RUN/a.out")"
fi
t0=$(now)
watchdog 600 xl-checkpoint create --name t41b --json gb >"$XLCP_RUN/b.out" 2>&1
rb=$?
held_through=no
suspended ga-d0 && held_through=yes
diag "checkpoint B took $(elapsed "$t0") s; A's thick origin still held when B ended: $held_through"
wait $pa
ra=$?
diag "A: exit $ra: $(tail -n 2 "$XLCP_RUN/a.out")"
diag "B: exit $rb: $(tail -n 2 "$XLCP_RUN/b.out")"
ida=$(idof "$XLCP_RUN/a.out")
idb=$(idof "$XLCP_RUN/b.out")
if [ $ra -eq 0 ] && [ -n "$ida" ]; then
    check "A committed: its hold was intact; verify $ida" xl-checkpoint verify "$ida"
elif grep -q "released by someone else" "$XLCP_RUN/a.out"; then
    ok "A failed cleanly: $(grep -o 'the hold on [^(]*' "$XLCP_RUN/a.out" | head -n 1)"
    [ "$(snapvols ga)" = 0 ] && ok "A left no snapshot" || not_ok "A left no snapshot" "$(snapvols ga)"
else
    not_ok "A commits or fails with the cause" "exit $ra: $(cat "$XLCP_RUN/a.out")"
fi
[ $rb -eq 0 ] && [ -n "$idb" ] && ok "B committed beside A's hold" ||
    not_ok "B committed beside A's hold" "exit $rb: $(cat "$XLCP_RUN/b.out")"
[ "$held_through" = yes ] && ok "B ran entirely while A held its origins" ||
    diag "B outlasted A's hold: the overlap was partial"
left=""
for lv in ga-d0 ga-d1 gb-d0 gb-d1; do
    suspended "$lv" && left="$left $lv"
done
[ -z "$left" ] && ok "no origin left suspended" || not_ok "no origin left suspended" "$left"
running ga "after A and B"
running gb "after A and B"

# ---- snapshots are read-only, thin ones skipped at activation; restore clones them ----
if [ -n "$idb" ]; then
    a0=$(attr "gb-d0.xlcp.$idb")
    a1=$(attr "gb-d1.xlcp.$idb")
    [ "${a0:1:1}" = r ] && ok "thick snapshot is read-only ($a0)" || not_ok "thick snapshot read-only" "attr '$a0'"
    [ "${a1:1:1}" = r ] && [ "${a1:9:1}" = k ] &&
        ok "re-pointed thin snapshot is read-only and skipped at activation ($a1)" ||
        not_ok "thin snapshot read-only, activation skip" "attr '$a1'"
    out=$(watchdog 600 xl-checkpoint restore --name gb-r "$idb" 2>&1) &&
        ok "restore of read-only snapshots" || not_ok "restore of read-only snapshots" "$out"
    c=$(guest_wait_counter gb-r 0 180) && ok "restored domain runs (counter $c)" ||
        not_ok "restored domain runs" "$(guest_console gb-r | tail -n 5)"
    w=$(guest_run gb-r 'dd if=/dev/zero of=/dev/xvda bs=4k count=1 oflag=direct 2>&1 && dd if=/dev/zero of=/dev/xvdb bs=4k count=1 oflag=direct 2>&1 && echo writable' 60)
    [ "$(printf '%s' "$w" | tail -n 1)" = writable ] && ok "restored disks are writable" ||
        not_ok "restored disks are writable" "$w"
    tags=$(lvs --noheadings -o lv_tags "$VG/gb-d0.restored.${idb##*-}" 2>/dev/null | tr -d ' ')
    [ "$tags" = xl-checkpoint-restored ] && ok "clone tagged $tags (outside xlcp-)" ||
        not_ok "clone tag" "'$tags'"
    guest_destroy gb-r
fi
for id in $ida $idb; do xl-checkpoint delete "$id" >/dev/null 2>&1; done

# ---- a release forced during a thick hold ----
XLCP_TEST_HOLD_DELAY_MS=8000 XLCP_HOLD_LIMIT_MS=200000 \
    watchdog 600 xl-checkpoint create --name t41c ga >"$XLCP_RUN/c.out" 2>&1 &
pc=$!
if wait_held ga-d0 300; then
    sleep 1
    dmsetup resume "$(dm ga-d0)" && ok "forced dmsetup resume of ga-d0 during the hold" ||
        not_ok "dmsetup resume"
else
    not_ok "checkpoint C holds ga-d0" "$(cat "$XLCP_RUN/c.out")"
fi
wait $pc
rc=$?
if [ $rc -ne 0 ] && grep -q "hold on $VG/ga-d0 was released by someone else" "$XLCP_RUN/c.out"; then
    ok "C fails (exit $rc): $(grep -o 'the hold on.*' "$XLCP_RUN/c.out" | head -n 1 | cut -c1-200)"
else
    not_ok "C fails with the cause" "exit $rc: $(cat "$XLCP_RUN/c.out")"
fi
[ "$(snapvols ga)" = 0 ] && [ "$(tmpdirs)" = 0 ] &&
    [ -z "$(xl-checkpoint list ga 2>/dev/null | grep t41c)" ] && ok "C left nothing behind" ||
    not_ok "C left nothing behind" "$(snapvols ga) snapshots, $(tmpdirs) temporary dirs; $(xl-checkpoint list ga 2>&1)"
if suspended ga-d0 || suspended ga-d1; then not_ok "ga's origins resumed"; else ok "ga's origins resumed"; fi
running ga "after C"

# ---- an overflowed thick snapshot fails verify ----
guest_run ga 'kill $(cat /run/w.pid); sleep 1; echo stopped' 60 >/dev/null
out=$(watchdog 600 xl-checkpoint create --name t41d -s 4M --json ga 2>&1)
idd=$(printf '%s' "$out" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1)
[ -n "$idd" ] && ok "checkpoint with a 4 MiB thick snapshot" || bail "checkpoint D" "$out"
check "verify before the overflow" xl-checkpoint verify "$idd"
guest_run ga 'dd if=/dev/urandom of=/dev/xvda bs=1M count=24 oflag=direct 2>&1; sync' 180 >/dev/null
sleep 2
out=$(xl-checkpoint verify "$idd" 2>&1)
rc=$?
[ $rc -eq 8 ] && printf '%s' "$out" | grep -q invalidated && ok "verify fails (exit 8): $(printf '%s' "$out" | tail -n 1 | cut -c1-200)" ||
    not_ok "verify of an overflowed snapshot" "exit $rc: $out; attr $(attr "ga-d0.xlcp.$idd")"
xl-checkpoint delete "$idd" >/dev/null 2>&1

guest_destroy_all
lv_cleanup
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
