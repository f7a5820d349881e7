#!/bin/bash
# t43-leftovers.sh - leftovers of interrupted checkpoints are undone from their intent
# records, never inferred, and nobody else's suspend is undone:
#   a domain being saved with `xl save` while a leftover of ours exists for it (a run
#   killed with SIGKILL during its live copy): `xl-checkpoint create` of it cleans our
#   leftover, refuses the suspended domain and does not resume it (the killed run's suspend
#   mark, if any, is stale: its guardian resumed the guest, and xl save suspended it again); the save completes and its image restores (the guest's counter goes on);
#   `xl-checkpoint recover --dry-run` shows another killed run's leftovers and changes
#   nothing, `xl-checkpoint recover` removes them (volume, record, temporary directory).
# timeout: 1500
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t43
rm -rf "$XLCP_CATALOG_ROOT"
img=/var/tmp/t43.save
rm -f "$img"
snapvols() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c '\.xlcp\.'; }
records() { find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name '.intent-*' 2>/dev/null | wc -l; }
tmpdirs() { find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name '.tmp-*' 2>/dev/null | wc -l; }
state() { "$XL" list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }

# kill_run NAME: starts a checkpoint of NAME and kills it with SIGKILL during its live copy.
kill_run() {
    kill_in_copy "$1" "$XLCP_RUN/t43-kill.out" >/dev/null &&
        ok "a checkpoint of $1 killed with SIGKILL during its live copy" ||
        not_ok "a checkpoint of $1 killed during its live copy" "the run ended first: $(cat "$XLCP_RUN/t43-kill.out")"
    # the guardian resumes a guest stopped at that moment; give it a moment
    sleep 2
}

g=gsave
guest_start "$g" thin:128M && guest_wait_ready "$g" && ok "$g ready" || bail "$g ready"

# -- a leftover of ours, then `xl save` of the domain and our create beside it
kill_run "$g"
[ "$(records)" -ge 1 ] && ok "the killed run left its intent record ($(records) record(s), $(tmpdirs) temporary dir(s), $(snapvols) snapshot volume(s))" ||
    not_ok "the killed run left its intent record" "$(find "$XLCP_CATALOG_ROOT" | head -n 20)"
c0=$(guest_counter "$g")
watchdog 600 "$XL" save "$g" "$img" >"$XLCP_RUN/t43-save.out" 2>&1 &
savepid=$!
seen=0
for _ in $(seq 1 600); do
    case "$(state "$g")" in *s*)
        seen=1
        break
        ;;
    esac
    kill -0 "$savepid" 2>/dev/null || break
    sleep 0.05
done
if [ "$seen" = 1 ]; then
    ok "xl save has suspended $g (state '$(state "$g")')"
    diag "suspend marks of ours: $(cat /run/xl-checkpoint/*.mark 2>/dev/null | tr '\n' ' ')"
    out=$(watchdog 300 xl-checkpoint -v create "$g" 2>&1)
    rc=$?
    [ "$rc" = 4 ] && printf '%s' "$out" | grep -q "not touching it" &&
        ok "create during xl save: exit 4, \"$(printf '%s' "$out" | tail -n 1 | cut -c1-200)\"" ||
        not_ok "create during xl save refuses the suspended domain" "exit $rc: $out"
    st=$(state "$g")
    case "$st" in
    *r* | *b*) not_ok "our tool did not resume the domain mid-save" "state '$st' while xl save runs" ;;
    *) ok "our tool did not resume the domain mid-save (state '${st:-gone}')" ;;
    esac
else
    not_ok "xl save suspended $g while we watched" "xl save ended first: $(cat "$XLCP_RUN/t43-save.out")"
fi
wait "$savepid"
rc=$?
[ "$rc" = 0 ] && ok "xl save completed normally" || not_ok "xl save completed normally" "exit $rc: $(cat "$XLCP_RUN/t43-save.out")"
# The refused create acted on nothing: the record of the killed run stays for the next run
# (or `recover`), which removes it once the domain runs again (checked below).
[ "$(records)" = 1 ] && [ "$(snapvols)" = 0 ] &&
    ok "the refused create kept our leftover's record and left no snapshot volume" ||
    not_ok "the refused create kept our leftover's record" "$(records) records, $(tmpdirs) temporary dirs, $(snapvols) volumes"
if watchdog 300 "$XL" restore "$img" >"$XLCP_RUN/t43-restore.out" 2>&1; then
    ok "the saved image restores"
    c1=$(guest_wait_counter "$g" "${c0:-0}" 120) && ok "the restored guest runs on (counter $c0 -> $c1)" ||
        not_ok "the restored guest runs on" "counter stays at $(guest_counter "$g") (was $c0)"
else
    not_ok "the saved image restores" "$(cat "$XLCP_RUN/t43-restore.out")"
    bail "no guest to go on with"
fi
rm -f "$img"

# -- recover: shows, then removes, what a killed run left
kill_run "$g"
r=$(records)
v=$(snapvols)
diag "leftovers of the killed run: $r record(s), $(tmpdirs) temporary dir(s), $v snapshot volume(s)"
out=$(watchdog 300 xl-checkpoint recover --dry-run "$g" 2>&1)
rc=$?
[ "$rc" = 0 ] && printf '%s' "$out" | grep -q "intent record" &&
    ok "recover --dry-run shows the leftover: $(printf '%s' "$out" | tr '\n' '|' | cut -c1-300)" ||
    not_ok "recover --dry-run shows the leftover" "exit $rc: $out"
[ "$(records)" = "$r" ] && [ "$(snapvols)" = "$v" ] && ok "recover --dry-run changed nothing" ||
    not_ok "recover --dry-run changed nothing" "$(records) records (was $r), $(snapvols) volumes (was $v)"
out=$(watchdog 300 xl-checkpoint recover 2>&1)
rc=$?
[ "$rc" = 0 ] && [ "$(records)" = 0 ] && [ "$(snapvols)" = 0 ] && [ "$(tmpdirs)" = 0 ] &&
    ok "recover removed the leftovers: $(printf '%s' "$out" | tr '\n' '|' | cut -c1-300)" ||
    not_ok "recover removed the leftovers" "exit $rc, $(records) records, $(tmpdirs) temporary dirs, $(snapvols) volumes: $out"
out=$(watchdog 300 xl-checkpoint recover 2>&1)
printf '%s' "$out" | grep -q "nothing left" && ok "recover again: nothing left" ||
    not_ok "recover again: nothing left" "$out"
c2=$(guest_counter "$g")
c3=$(guest_wait_counter "$g" "${c2:-0}" 60) && ok "$g still runs ($c2 -> $c3)" ||
    not_ok "$g still runs" "counter stays at $c2"

guest_destroy "$g"
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
