#!/bin/bash
# b30-group.sh - the group benchmark of issue 16 (make bench): does a group checkpoint of
# 4 guests stop them longer, or further apart, than a checkpoint of one? Four PVH guests of
# the benchmarks' size (bench-lib.sh: 256 MiB), one thin LV (xvda, 256 MiB) each, the
# guest module loaded (light suspend path, as b10's PVH xl-checkpoint), idle. The guests
# are started ONCE and reused by every run (starting four PVH guests under emulation
# costs minutes; a guest that crashed is set up again); the CATALOG is fresh for every run
# (every checkpoint deleted, nothing left on the VG) but for the --at run, see below.
# Each repetition (XLCP_BENCH_REPS, default 3), in alternating order (S G A, G A S, ...):
#   S  xl-checkpoint/pvh-single       `xl checkpoint create` of ONE member (a different
#                                     member each repetition)
#   G  xl-checkpoint-group/pvh-group-4      `xl checkpoint create --group` of all four
#   A  xl-checkpoint-group/pvh-group-4-at   the same with `--at` TIME some seconds ahead
#      (XLCP_B30_AT_LEAD seconds; default G's wall time + 30 s, 120 s without one), right
#      after G with G's checkpoints still in the catalog: each member's copy is scheduled
#      from its last checkpoint's timings, as in a recurring schedule (if dom0's disk has
#      no room for both, G is deleted first and the estimate is from the memory size
#      alone: the sample says which); a TIME refused as too near is asked again once
#      with twice the lead.
# Each member's copy runs on its own and stops when it converges; a stopped member waits
# for the others at most --max-wait (the tool's 10 s, or XLCP_B30_MAX_WAIT s), after which
# the group gives up (a failed run): under emulation the spread of the copies' ends is
# what the longest stop and the skew show.
# Measured (definitions: tools/nested/bench-json.sh):
#   dom0_pause_ms           S: Xen's stop of the member (xlcp-domwatch, polled every
#                           2 ms), as b10; engine_downtime_ms: the create's own downtime_ms
#   group_longest_stop_ms   G, A: the longest of the four members' Xen stops, each watched
#                           by its own xlcp-domwatch (one per member, all four running in
#                           S too, so that every run has the same observers)
#   group_skew_ms           G, A: the create's JSON skew_ms (spread of the members' stop
#                           instants, dom0 CLOCK_MONOTONIC, the engine's record);
#                           xen_skew_ms: the spread of the instants Xen was first seen
#                           stopped by the four watchers (cross-check, poll resolution)
#   at_deviation_ms         A: each member's deviation from TIME (the JSON's deviation_ms)
#   total_ms                wall time of the command
# Ratios: group_stop_vs_single (median group_longest_stop_ms of G / median dom0_pause_ms
# of S; issue 16: <= 1.5), group_skew_vs_single_stop (median group_skew_ms of G / the same
# denominator; issue 16: <= 0.1), group_at_deviation_ms (median |deviation| over every
# member of every counted A run): numbers, or null with the reason in
# group_ratios_missing. A failed create or a watcher without a figure is a failed run
# (null, never 0); a run during which a guest crashed (under emulation, see
# tools/nested/README.md) is done again after that guest is set up anew and recorded in
# reruns; a second crash in a row for the same run fails it.
# Writes results/bench/b30.{runs,samples,ratios,reruns,txt}. About 20-25 min with
# XLCP_BENCH_REPS=2 on the 2-core host (four guests' boot ~3 min; per repetition S ~1 min,
# G ~3 min, A the lead + ~1 min).
# timeout: 3600
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bench-lib.sh"

REPS=${XLCP_BENCH_REPS:-3}
AT_LEAD=${XLCP_B30_AT_LEAD:-} # seconds; empty: G's wall time + 30 s
# --max-wait of the group runs (seconds a stopped member waits for the others before the
# group gives up); empty: the tool's default (10 s)
MAX_WAIT=${XLCP_B30_MAX_WAIT:-}
MW=()
[ -z "$MAX_WAIT" ] || MW=(--max-wait "$MAX_WAIT")
KO=/lib/xlcp/extra/xlcp_guest.ko
MEMBERS="b30g1 b30g2 b30g3 b30g4"
NMEM=4
export XLCP_GUEST_EXTRA=panic=1 # a panicking guest reboots (a new domain we notice)
export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-bench30
rm -rf "$XLCP_CATALOG_ROOT"
frag=$XLCP_PAYLOAD/results/bench
mkdir -p "$frag"
# one line per run: kind status total stop engine skew xen_skew dev_abs_max lead reason...
runs=$XLCP_RUN/bench30-runs.txt
# one line per member of a run: kind status domain xen_stop engine_stop deviation
mems=$XLCP_RUN/bench30-members.txt
: >"$runs"
: >"$mems"
: >"$frag/b30.samples"
: >"$frag/b30.reruns"
declare -A DOMID
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
jstr() { bench_jstr "$1"; }
jsv() { if [ "${1:-null}" = null ]; then echo null; else printf '"%s"' "$(jstr "$1")"; fi; } # a JSON string or null
num() { # DECIMALS VALUE: VALUE rounded, or null
    awk -v d="$1" -v v="${2:-null}" 'BEGIN { if (v == "null" || v == "") print "null"; else printf "%.*f\n", d, v }'
}
# jget FILE KEY: the first value of "KEY" in the (beautified, one key a line) JSON in FILE
jget() {
    awk -v k="\"$2\":" 'index($0, k) { s = $0; sub(/^[^:]*:[ \t]*/, "", s); sub(/,[ \t]*$/, "", s)
        gsub(/"/, "", s); print s; found = 1; exit } END { if (!found) print "null" }' "$1" 2>/dev/null
}
# gmembers FILE: a group's JSON (create --group --json, info --group --json) -> one line
# per member: domain checkpoint stop_ms waited_ms start_delay_ms deviation_ms
gmembers() {
    awk 'function v(s) { sub(/^[^:]*:[ \t]*/, "", s); sub(/,[ \t]*$/, "", s); gsub(/"/, "", s); return s }
        /"members": *\[/ { in_m = 1; next }
        !in_m { next }
        /"domain":/ { n++; d[n] = v($0); c[n] = s[n] = w[n] = l[n] = x[n] = "null" }
        /"checkpoint":/ { c[n] = v($0) }
        /"stop_ms":/ { s[n] = v($0) }
        /"waited_ms":/ { w[n] = v($0) }
        /"start_delay_ms":/ { l[n] = v($0) }
        /"deviation_ms":/ { x[n] = v($0) }
        END { for (i = 1; i <= n; i++) print d[i], c[i], s[i], w[i], l[i], x[i] }' "$1" 2>/dev/null
}

# ---- the guests, started once ---------------------------------------------------------
# setup_guests NAME...: each one (re)started from scratch, then waited for, the module
# loaded; sets DOMID. Fails naming the first guest that could not be set up ($reason).
setup_guests() {
    local g
    for g in "$@"; do
        guest_destroy "$g"
        lv_cleanup "$g"
        DOMID[$g]=""
        XLCP_GUEST_TYPE=pvh guest_start "$g" thin:256M || { reason="$g: xl create failed"; return 1; }
    done
    for g in "$@"; do
        guest_wait_ready "$g" 300 || { reason="$g: not ready after 300 s"; return 1; }
        guest_run "$g" "insmod $KO && echo loaded" 120 | grep -q loaded || { reason="$g: insmod $KO failed"; return 1; }
        DOMID[$g]=$(guest_domid "$g")
    done
    return 0
}
# crashed: true if a member is no longer its domain or is kept crashed; sets $crash
# (which, and Xen's lines) and $crashed_guests
crashed() {
    local g id st
    crash="" crashed_guests=""
    for g in $MEMBERS; do
        id=$(guest_domid "$g")
        st=$("$XL" list "$g" 2>/dev/null | awk 'NR == 2 { print $5 }')
        if [ "$id" != "${DOMID[$g]}" ] || [[ "$st" == *c* ]]; then
            crashed_guests="$crashed_guests $g"
            crash="$crash$g: domain ${DOMID[$g]} became ${id:-none} (state '${st:-}'); "
        fi
    done
    [ -n "$crashed_guests" ] || return 1
    crash="${crash}Xen: $("$XL" dmesg | grep -E 'Triple fault|crash' | tail -n 2 | tr '\n' ';')"
    diag "crashed: $crash"
    return 0
}

# ---- the catalog, fresh for every run ---------------------------------------------------
snapvols() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c '\.xlcp\.'; }
entries() { find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 ! -name '.lock' 2>/dev/null | grep -vc '/\.groups/'; }
# clean_catalog: every group and checkpoint deleted; what delete leaves is recovered, then
# removed by force (with a diag: it would be a finding)
clean_catalog() {
    local id lv
    for id in $(xl-checkpoint list --groups 2>/dev/null | awk 'NR > 1 { print $1 }'); do
        watchdog 300 xl-checkpoint delete --group "$id" >/dev/null 2>&1 || diag "delete --group $id failed"
    done
    for id in $(xl-checkpoint list 2>/dev/null | awk 'NR > 1 { print $1 }'); do
        watchdog 300 xl-checkpoint delete -f "$id" >/dev/null 2>&1 || diag "delete $id failed"
    done
    [ "$(entries)" = 0 ] && [ "$(snapvols)" = 0 ] && return 0
    diag "left after delete: $(entries) catalog entries, $(snapvols) snapshot volumes; recover: $(watchdog 300 xl-checkpoint recover 2>&1 | tr '\n' ' ' | cut -c1-300)"
    [ "$(entries)" = 0 ] && [ "$(snapvols)" = 0 ] && return 0
    diag "removed by force: $(find "$XLCP_CATALOG_ROOT" -mindepth 1 -maxdepth 2 | head -n 10 | tr '\n' ' ')"
    for lv in $(lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep '\.xlcp\.'); do
        lvm_run lvremove -q -f -y "$VG/$lv" >/dev/null 2>&1 || diag "cannot remove $VG/$lv"
    done
    rm -rf "$XLCP_CATALOG_ROOT"
}

# ---- Xen's view: one watcher per member ---------------------------------------------------
watch_start() {
    local g
    for g in $MEMBERS; do
        rm -f "$XLCP_RUN/b30-watch-$g.out"
        "$XLCP_DOMWATCH" "${DOMID[$g]}" >"$XLCP_RUN/b30-watch-$g.out" 2>&1 &
        echo $! >"$XLCP_RUN/b30-watch-$g.pid"
    done
}
# watch_stop: one line per member: "NAME LONGEST_MS START_MS COUNT" (its longest stop and
# the dom0 CLOCK_MONOTONIC instant it began; "0 null 0" if Xen never showed it stopped),
# or "NAME null null 0" if its watcher did not run to the end
watch_stop() {
    local g f
    for g in $MEMBERS; do
        kill -TERM "$(cat "$XLCP_RUN/b30-watch-$g.pid")" 2>/dev/null
    done
    for g in $MEMBERS; do
        f=$XLCP_RUN/b30-watch-$g.out
        for _ in $(seq 1 50); do
            grep -qE '^(end|gone)' "$f" && break
            sleep 0.1
        done
        if grep -qE '^(end|gone)' "$f"; then
            awk -v g="$g" '$1 == "stop" || $1 == "open" { n++; if (n == 1 || $2 + 0 > m + 0) { m = $2; at = ($4 == "" ? "null" : $4) } }
                END { if (n) print g, m, at, n; else print g, 0, "null", 0 }' "$f"
        else
            diag "watcher of $g: $(head -c 300 "$f")"
            echo "$g null null 0"
        fi
    done
}

# ---- recording ------------------------------------------------------------------------------
# what record writes (each run sets what it measured; record clears them again)
total="" stop="" engine="" skew="" xskew="" devmax="" lead="" extra="" members_json="" reason=""
# record KIND STATUS REP
record() {
    local kind=$1 st=$2 m w
    case $kind in
    single) m=xl-checkpoint w=pvh-single ;;
    group) m=xl-checkpoint-group w=pvh-group-4 ;;
    at) m=xl-checkpoint-group w=pvh-group-4-at ;;
    esac
    echo "$kind $st ${total:-null} ${stop:-null} ${engine:-null} ${skew:-null} ${xskew:-null} ${devmax:-null} ${lead:-null} $reason" >>"$runs"
    if [ "$kind" = single ]; then
        printf '{"bench": "b30", "method": "%s", "workload": "%s", "rep": %d, "status": "%s", "dom0_pause_ms": %s, "engine_downtime_ms": %s, "total_ms": %s%s%s}\n' \
            "$m" "$w" "$3" "$st" "${stop:-null}" "${engine:-null}" "${total:-null}" "${extra:+, $extra}" \
            "${reason:+, \"reason\": \"$(jstr "$reason")\"}" >>"$frag/b30.samples"
    else
        printf '{"bench": "b30", "method": "%s", "workload": "%s", "rep": %d, "status": "%s", "group_longest_stop_ms": %s, "engine_longest_stop_ms": %s, "group_skew_ms": %s, "xen_skew_ms": %s, "at_deviation_max_ms": %s, "at_lead_s": %s, "total_ms": %s, "members": [%s]%s%s}\n' \
            "$m" "$w" "$3" "$st" "${stop:-null}" "${engine:-null}" "${skew:-null}" "${xskew:-null}" "${devmax:-null}" \
            "${lead:-null}" "${total:-null}" "$members_json" "${extra:+, $extra}" \
            "${reason:+, \"reason\": \"$(jstr "$reason")\"}" >>"$frag/b30.samples"
    fi
    if [ "$st" = ok ]; then
        case $kind in
        single) ok "$m/$w (rep $3): dom0 stop $stop ms (engine $engine ms), total $total ms" ;;
        group) ok "$m/$w (rep $3): longest member stop $stop ms (engine $engine ms), skew $skew ms (Xen's view $xskew ms), total $total ms" ;;
        at) ok "$m/$w (rep $3): --at ${lead}s ahead, largest |deviation| $devmax ms, longest stop $stop ms, skew $skew ms, total $total ms" ;;
        esac
    else
        not_ok "$m/$w (rep $3): failed run" "$reason"
    fi
    total="" stop="" engine="" skew="" xskew="" devmax="" lead="" extra="" members_json="" reason=""
}
fail_reason() { # RC ERRFILE: why a create failed, for $reason
    echo "exit $1: $(tail -n 2 "$2" 2>/dev/null | tr '\n' ' ' | cut -c1-240)"
}

# ---- S: one member alone --------------------------------------------------------------------
# run_single REP: 0 counted (ok or failed), 2 a guest crashed (not counted)
run_single() {
    local g out=$XLCP_RUN/b30-single.json err=$XLCP_RUN/b30-single.err rc t0 t1 w id path live
    g=$(echo "$MEMBERS" | cut -d' ' -f$(((($1 - 1) % NMEM) + 1)))
    clean_catalog
    quiet_dom0
    watch_start
    sleep 2
    t0=$(now)
    watchdog 900 xl-checkpoint create --json "$g" >"$out" 2>"$err"
    rc=$?
    t1=$(now)
    sleep 1
    w=$(watch_stop)
    crashed && { clean_catalog; return 2; }
    total=$(ms "$t0" "$t1")
    stop=$(printf '%s\n' "$w" | awk -v g="$g" '$1 == g { print $2 }')
    printf '%s\n' "$w" | awk -v g="$g" '$1 != g && $4 > 0 { print }' | while read -r l; do diag "not checkpointed, yet Xen showed it stopped: $l"; done
    id=$(jget "$out" id)
    engine=$(num 1 "$(jget "$out" downtime_ms)")
    path=$(jget "$out" suspend_path)
    live=$(jget "$out" live)
    extra="\"domain\": \"$g\", \"suspend_path\": $(jsv "$path"), \"live\": $live"
    [ "$id" = null ] || watchdog 300 xl-checkpoint delete "$id" >/dev/null 2>&1 || diag "delete $id failed"
    if [ $rc -ne 0 ]; then
        reason="create failed: $(fail_reason $rc "$err")"
    elif [ "$id" = null ] || [ "$engine" = null ]; then
        rc=1 reason="create --json gave no id or downtime_ms: $(head -c 300 "$out" | tr '\n' ' ')"
    elif [ "${stop:-null}" = null ]; then
        rc=1 reason="the dom0 watcher of $g gave no figure"
    fi
    [ $rc -ne 0 ] || [ "$path" = light ] || diag "single $g took the '$path' suspend path, not the light one"
    [ $rc -eq 0 ] || stop=""
    record single "$([ $rc -eq 0 ] && echo ok || echo failed)" "$1"
    return 0
}

# ---- G and A: the four together ---------------------------------------------------------------
# group_figures KIND OUT WATCH: from the create's JSON and the watchers' lines, sets stop,
# engine, skew, xskew, devmax, members_json, extra; appends the members' lines to $mems
# (status "pending", set when the run is recorded); fails with $reason
group_figures() {
    local kind=$1 out=$2 w=$3 d cp st wt dl dev info xs xat paths="" fails="" n=0 sep=""
    skew=$(num 3 "$(jget "$out" skew_ms)")
    engine=$(num 1 "$(jget "$out" longest_stop_ms)")
    members_json=""
    while read -r d cp st wt dl dev; do
        n=$((n + 1))
        info=$XLCP_RUN/b30-member.json
        xl-checkpoint info --json "$cp" >"$info" 2>/dev/null || : >"$info"
        xs=$(printf '%s\n' "$w" | awk -v g="$d" '$1 == g { print $2 }')
        xat=$(printf '%s\n' "$w" | awk -v g="$d" '$1 == g { print $3 }')
        [ -n "$xs" ] || xs=null
        paths="$paths${paths:+,}$(jget "$info" suspend_path)"
        [ "$xs" = null ] && fails="$fails $d"
        printf '%s pending %s %s %s %s\n' "$kind" "$d" "$xs" "$(num 1 "$st")" "$(num 3 "$dev")" >>"$mems"
        members_json="$members_json$sep{\"domain\": \"$d\", \"checkpoint\": \"$cp\", \"dom0_pause_ms\": $xs, \"xen_stop_start_ms\": ${xat:-null}, \"stop_ms\": $(num 1 "$st"), \"waited_ms\": $(num 1 "$wt"), \"start_delay_ms\": $(num 1 "$dl"), \"deviation_ms\": $(num 3 "$dev"), \"engine_downtime_ms\": $(num 1 "$(jget "$info" downtime_ms)"), \"suspend_path\": $(jsv "$(jget "$info" suspend_path)"), \"live\": $(jget "$info" live)}"
        sep=", "
    done < <(gmembers "$out")
    stop=$(printf '%s\n' "$w" | awk '{ print $2 }' | bench_max)
    xskew=$(printf '%s\n' "$w" | awk '{ print $3 }' | bench_spread)
    if [ "$kind" = at ]; then
        devmax=$(gmembers "$out" | awk '{ print $6 }' | bench_abs | bench_max)
        devmax=$(num 3 "$devmax")
    fi
    extra="\"suspend_paths\": \"$paths\", \"max_wait_s\": ${MAX_WAIT:-null}"
    [ "$(printf '%s\n' "$paths" | tr ',' '\n' | grep -cvx light)" = 0 ] || diag "$kind: suspend paths $paths (not all light)"
    if [ "$n" != "$NMEM" ]; then
        reason="the JSON names $n members, not $NMEM: $(head -c 300 "$out" | tr '\n' ' ')"
    elif [ "$skew" = null ] || [ "$engine" = null ]; then
        reason="the JSON gave no skew_ms or longest_stop_ms"
    elif [ -n "$fails" ]; then
        reason="the dom0 watcher gave no figure for$fails"
    elif [ "$kind" = at ] && [ "$devmax" = null ]; then
        reason="the JSON gave no deviation_ms for a member"
    else
        return 0
    fi
    return 1
}
# settle_members STATUS: the pending member lines of this run get STATUS
settle_members() { sed -i "s/^\([a-z]*\) pending /\1 $1 /" "$mems"; }
gid_kept=""     # G's group, kept for A's schedule
history_ok=0    # 1: G's checkpoints are in the catalog and no member was set up anew since
last_total=""   # G's wall time (ms), for A's lead
# group_outcome KIND WHAT: what a group create of the caller came to, from the caller's
# rc, out, err, w, t0 and t1 (bash's dynamic scope): sets total and gid, and reason (rc
# made 1 if the command said yes but gave no group or no figures)
group_outcome() {
    total=$(ms "$t0" "$t1")
    gid=$(jget "$out" group)
    if [ "$rc" -ne 0 ]; then
        reason="$2 failed: $(fail_reason "$rc" "$err")"
    elif [ "$gid" = null ]; then
        rc=1 reason="$2 --json gave no group id: $(head -c 300 "$out" | tr '\n' ' ')"
    else
        group_figures "$1" "$out" "$w" || rc=1
    fi
}
# run_group REP: 0 counted, 2 a guest crashed
run_group() {
    local out=$XLCP_RUN/b30-group.json err=$XLCP_RUN/b30-group.err rc t0 t1 w gid need avail
    clean_catalog
    gid_kept="" history_ok=0 last_total=""
    quiet_dom0
    watch_start
    sleep 2
    t0=$(now)
    # shellcheck disable=SC2086
    watchdog 1200 xl-checkpoint create --group "b30-r$1" "${MW[@]}" --json $MEMBERS >"$out" 2>"$err"
    rc=$?
    t1=$(now)
    sleep 1
    w=$(watch_stop)
    crashed && { sed -i '/ pending /d' "$mems"; clean_catalog; return 2; }
    group_outcome group "create --group"
    if [ $rc -eq 0 ]; then
        # keep it for A if dom0's disk holds a second group's images beside it
        need=$((NMEM * (XLCP_GUEST_MEMORY + 32) + 512))
        avail=$(df -Pm "$XLCP_CATALOG_ROOT" 2>/dev/null | awk 'NR == 2 { print $4 }')
        if [ "${avail:-0}" -ge "$need" ]; then
            gid_kept=$gid history_ok=1 last_total=$total
        else
            diag "dom0's disk: ${avail:-?} MiB free, $need wanted for a second group: G deleted before A"
            last_total=$total
        fi
    else
        stop="" engine="" skew="" xskew=""
    fi
    [ -n "$gid_kept" ] || clean_catalog
    settle_members "$([ $rc -eq 0 ] && echo ok || echo failed)"
    record group "$([ $rc -eq 0 ] && echo ok || echo failed)" "$1"
    return 0
}
# run_at REP: 0 counted, 2 a guest crashed
run_at() {
    local out=$XLCP_RUN/b30-at.json err=$XLCP_RUN/b30-at.err rc t0 t1 w gid at est try
    if [ "$history_ok" = 1 ]; then
        est="the last group run's checkpoints (still in the catalog)"
    else
        est="the memory size alone (no checkpoint of the members in the catalog)"
    fi
    lead=$AT_LEAD
    if [ -z "$lead" ]; then
        if [ -n "$last_total" ]; then lead=$((last_total / 1000 + 30)); else lead=120; fi
    fi
    quiet_dom0
    watch_start
    sleep 2
    for try in 1 2; do
        at=$(($(date +%s) + lead))
        t0=$(now)
        # shellcheck disable=SC2086
        watchdog $((lead + 1200)) xl-checkpoint create --group "b30-at-r$1" "${MW[@]}" --at "@$at" --json $MEMBERS >"$out" 2>"$err"
        rc=$?
        t1=$(now)
        if [ $rc -ne 2 ] || [ $try = 2 ] || ! grep -q 'too near' "$err"; then break; fi
        diag "--at ${lead}s ahead refused as too near: $(tail -n 1 "$err" | cut -c1-300); once more with $((lead * 2))s"
        lead=$((lead * 2))
    done
    sleep 1
    w=$(watch_stop)
    crashed && { sed -i '/ pending /d' "$mems"; clean_catalog; return 2; }
    group_outcome at "create --group --at"
    [ $rc -eq 0 ] || { stop="" engine="" skew="" xskew="" devmax=""; }
    extra="${extra:+$extra, }\"at\": \"@$at\", \"estimate_from\": \"$est\""
    clean_catalog
    gid_kept="" history_ok=0
    settle_members "$([ $rc -eq 0 ] && echo ok || echo failed)"
    record at "$([ $rc -eq 0 ] && echo ok || echo failed)" "$1"
    return 0
}

# attempt KIND REP: one counted run; a guest crash gets it done again after the crashed
# guests are set up anew, a second crash in a row fails it
attempt() {
    local kind=$1 tries=0
    while :; do
        tries=$((tries + 1))
        if [ -n "$broken" ]; then
            reason="the guests are not set up: $broken"
            record "$kind" failed "$2"
            return 0
        fi
        "run_$kind" "$2" && return 0
        printf '{"test": "b30", "method": "%s", "workload": "%s", "rep": %d, "try": %d, "evidence": "%s"}\n' \
            "$([ "$kind" = single ] && echo xl-checkpoint || echo xl-checkpoint-group)" \
            "$(case $kind in single) echo pvh-single ;; group) echo pvh-group-4 ;; at) echo pvh-group-4-at ;; esac)" \
            "$2" "$tries" "$(jstr "$crash")" >>"$frag/b30.reruns"
        diag "rerun: $kind (rep $2) after setting up$crashed_guests again (try $tries crashed: $crash)"
        history_ok=0
        # shellcheck disable=SC2086
        setup_guests $crashed_guests || broken=$reason
        if [ $tries -ge 2 ]; then
            reason="a guest crashed in two runs in a row: $crash"
            record "$kind" failed "$2"
            return 0
        fi
    done
}

[ -x "$XLCP_DOMWATCH" ] || bail "no $XLCP_DOMWATCH on the payload (tools/nested/run.sh builds it)"
free=$("$XL" info 2>/dev/null | awk -F: '$1 ~ /^free_memory/ { print $2 + 0 }')
[ "${free:-0}" -ge $((NMEM * (XLCP_GUEST_MEMORY + 8))) ] ||
    bail "Xen has ${free:-?} MiB free, $NMEM guests of $XLCP_GUEST_MEMORY MiB need $((NMEM * (XLCP_GUEST_MEMORY + 8)))"
t_setup=$(now)
broken=""
# shellcheck disable=SC2086
if setup_guests $MEMBERS; then
    ok "$NMEM PVH guests of $XLCP_GUEST_MEMORY MiB ready, module loaded ($(elapsed "$t_setup")s)"
else
    # shellcheck disable=SC2086
    setup_guests $MEMBERS || broken=$reason # one more try from scratch
    if [ -z "$broken" ]; then
        ok "$NMEM PVH guests ready at the second try ($(elapsed "$t_setup")s)"
    else
        not_ok "$NMEM PVH guests set up" "$broken"
    fi
fi
for r in $(seq 1 "$REPS"); do
    diag "repetition $r of $REPS"
    if [ $((r % 2)) = 1 ]; then
        attempt single "$r"
        attempt group "$r"
        attempt at "$r"
    else
        attempt group "$r"
        attempt at "$r"
        attempt single "$r"
    fi
done
clean_catalog
for g in $MEMBERS; do
    guest_destroy "$g"
    lv_cleanup "$g"
done

# ---- medians (null when no run counted, with the reason), ratios, table ---------------------
med() { # COLUMN KIND [DECIMALS]: median of the counted runs' COLUMN, or null
    awk -v c="$1" -v k="$2" '$1 == k && $2 == "ok" { print $c }' "$runs" | bench_median "${3:-1}"
}
mmed() { # COLUMN KIND [DECIMALS]: median over the members of the counted runs
    awk -v c="$1" -v k="$2" '$1 == k && $2 == "ok" { print $c }' "$mems" | bench_median "${3:-1}"
}
count() { awk -v k="$1" -v s="$2" '$1 == k && $2 == s' "$runs" | wc -l; }
why() { awk -v k="$1" '$1 == k && $2 == "failed" { for (i = 1; i <= 9; i++) $i = ""; print }' "$runs" | tr -s ' ' | sed 's/^ //' | head -n 2 | tr '\n' ';'; }
row_head() { # KIND METHOD WORKLOAD MEMBERS
    local n nf miss=""
    n=$(count "$1" ok)
    nf=$(count "$1" failed)
    [ "$n" -gt 0 ] || miss=", \"missing\": \"no successful run of $REPS ($nf failed): $(jstr "$(why "$1")")\""
    printf '{"bench": "b30", "method": "%s", "workload": "%s", "guest": "PVH %s MiB, one thin LV xvda (256 MiB), idle; %s started once and reused, fresh catalog per run", "guest_module": true, "members": %d, "runs": %d, "failed_runs": %d' \
        "$2" "$3" "$XLCP_GUEST_MEMORY" "$NMEM guests" "$4" "$n" "$nf"
    row_miss=$miss
}
{
    row_head single xl-checkpoint pvh-single 1
    printf ', "dom0_pause_ms": %s, "engine_downtime_ms": %s, "total_ms": %s%s}\n' \
        "$(med 4 single)" "$(med 5 single)" "$(med 3 single)" "$row_miss"
    row_head group xl-checkpoint-group pvh-group-4 "$NMEM"
    printf ', "group_longest_stop_ms": %s, "member_stop_ms": %s, "engine_longest_stop_ms": %s, "group_skew_ms": %s, "xen_skew_ms": %s, "total_ms": %s%s}\n' \
        "$(med 4 group)" "$(mmed 4 group)" "$(med 5 group)" "$(med 6 group 3)" "$(med 7 group 3)" "$(med 3 group)" "$row_miss"
    row_head at xl-checkpoint-group pvh-group-4-at "$NMEM"
    printf ', "at_deviation_ms": %s, "at_deviation_signed_ms": %s, "at_deviation_max_ms": %s, "at_lead_s": %s, "group_longest_stop_ms": %s, "group_skew_ms": %s, "xen_skew_ms": %s, "total_ms": %s%s}\n' \
        "$(awk '$1 == "at" && $2 == "ok" { print $6 }' "$mems" | bench_abs | bench_median 3)" "$(mmed 6 at 3)" \
        "$(awk '$1 == "at" && $2 == "ok" { print $8 }' "$runs" | bench_max)" "$(med 9 at)" \
        "$(med 4 at)" "$(med 6 at 3)" "$(med 7 at 3)" "$(med 3 at)" "$row_miss"
} >"$frag/b30.runs"
single_stop=$(med 4 single)
group_stop=$(med 4 group)
group_skew=$(med 6 group 3)
at_dev=$(awk '$1 == "at" && $2 == "ok" { print $6 }' "$mems" | bench_abs | bench_median 3)
r_stop=$(bench_ratio "$group_stop" "$single_stop")
r_skew=$(bench_ratio "$group_skew" "$single_stop")
r_eng=$(bench_ratio "$(med 5 group)" "$(med 5 single)")
missing="" sep=""
because() { # NUMERATOR-NAME VALUE DENOMINATOR-NAME VALUE
    if [ "$2" = null ]; then echo "no median $1: $(why "${1%% *}" | tr -d '"')"
    elif [ "$4" = null ]; then echo "no median $3: $(why "${3%% *}" | tr -d '"')"
    else echo "the median $3 is $4 (not > 0)"; fi
}
[ "$r_stop" != null ] || { missing="$missing$sep\"group_stop_vs_single\": \"$(jstr "$(because "group longest stop" "$group_stop" "single stop" "$single_stop")")\""; sep=", "; }
[ "$r_skew" != null ] || { missing="$missing$sep\"group_skew_vs_single_stop\": \"$(jstr "$(because "group skew" "$group_skew" "single stop" "$single_stop")")\""; sep=", "; }
[ "$at_dev" != null ] || { missing="$missing$sep\"group_at_deviation_ms\": \"no counted --at run: $(jstr "$(why at | tr -d '"')")\""; sep=", "; }
{
    printf '"group_stop_vs_single": %s\n' "$r_stop"
    printf '"group_skew_vs_single_stop": %s\n' "$r_skew"
    printf '"group_at_deviation_ms": %s\n' "$at_dev"
    printf '"group_stop_vs_single_engine": %s\n' "$r_eng"
    [ -z "$missing" ] || printf '"group_ratios_missing": {%s}\n' "$missing"
} >"$frag/b30.ratios"
bound() { # RATIO LIMIT
    [ "$1" = null ] && { echo "no figure"; return; }
    awk -v r="$1" -v l="$2" 'BEGIN { print (r <= l ? "met" : "NOT met") }'
}
{
    printf '%-20s %-15s %5s %8s %10s %8s %12s %9s %9s\n' method workload runs stop_ms engine_ms skew_ms xen_skew_ms dev_ms total_ms
    printf '%-20s %-15s %5s %8s %10s %8s %12s %9s %9s\n' xl-checkpoint pvh-single "$(count single ok)/$REPS" \
        "$single_stop" "$(med 5 single)" - - - "$(med 3 single)"
    printf '%-20s %-15s %5s %8s %10s %8s %12s %9s %9s\n' xl-checkpoint-group pvh-group-4 "$(count group ok)/$REPS" \
        "$group_stop" "$(med 5 group)" "$group_skew" "$(med 7 group 3)" - "$(med 3 group)"
    printf '%-20s %-15s %5s %8s %10s %8s %12s %9s %9s\n' xl-checkpoint-group pvh-group-4-at "$(count at ok)/$REPS" \
        "$(med 4 at)" "$(med 5 at)" "$(med 6 at 3)" "$(med 7 at 3)" "$at_dev" "$(med 3 at)"
    echo "(stop_ms: Xen's stop, the single member's or the group's longest member's; engine_ms: the create's own"
    echo " downtime_ms / longest_stop_ms; dev_ms: median |deviation| from --at over the members)"
    echo "group_stop_vs_single $r_stop (issue 16: <= 1.5, $(bound "$r_stop" 1.5)); group_skew_vs_single_stop $r_skew (<= 0.1, $(bound "$r_skew" 0.1)); group_at_deviation_ms $at_dev"
    [ -z "$missing" ] || echo "missing: $missing"
} >"$frag/b30.txt"
diag "$(cat "$frag/b30.txt")"
ok "benchmark fragments written"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
