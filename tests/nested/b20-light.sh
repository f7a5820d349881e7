#!/bin/bash
# b20-light.sh - guest-seen pause of `xl checkpoint create` through the guest module's
# light suspend path (xlcp_guest.ko loaded: no process freezer, no device PM walk) against
# the stock path (module not loaded: control/shutdown, freeze everything), on a 256 MiB PVH
# guest running 1 and 200 busy processes. PVH, because there the memory is copied live and
# the pause is the suspend path's own; a PV guest on Debian 12's Xen is stopped for its
# whole memory copy (no shadow paging, no log-dirty), which hides either path. The probe
# runs SCHED_FIFO (it sets that itself) so that the busy processes do not hide its clock.
# Every run on a FRESH guest of the same configuration (the stock one never had the
# module), the two paths interleaved (stock, light, stock, light, ...); after each run the
# noise floor over a window as long on the same guest. Figures as in b10 (definitions in
# tools/nested/bench-json.sh): guest_gap_ms, dom0_pause_ms (Xen's stop, xlcp-domwatch),
# total_ms (wall time of the command); medians, null + reason when no run counted; a
# failed create or info --json is a failed run. Writes results/bench/b20.* (runs, samples,
# reruns, ratios.gap_light_vs_stock); make bench merges them into build/bench.json.
# timeout: 3300
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bench-lib.sh"

REPS=${XLCP_BENCH_REPS:-3}
KO=/lib/xlcp/extra/xlcp_guest.ko
# A guest that panics (see tools/nested/README.md: PVH under emulation) reboots, so xl
# brings it back as a new domain that the script notices, instead of spinning in panic.
export XLCP_GUEST_EXTRA=panic=1
export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-bench20
rm -rf "$XLCP_CATALOG_ROOT"
frag=$XLCP_PAYLOAD/results/bench
mkdir -p "$frag"
# one line per run: method workload status gap pause total noise_gap window reason...
runs=$XLCP_RUN/bench20-runs.txt
: >"$runs"
: >"$frag/b20.samples"
: >"$frag/b20.reruns"
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
jstr() { bench_jstr "$1"; }
g=glb

probe() { # SCHED_FIFO (busybox has no chrt: the probe sets it itself). A guest busy with
    # 200 processes answers slowly. 0 started, 3 refused (SCHED_FIFO), else no answer.
    guest_run "$g" "killall xlcp-gapprobe 2>/dev/null; rm -f /run/gaps.log /run/gaps.log.max
xlcp-gapprobe /run/gaps.log 20 fifo </dev/null >/dev/null 2>/run/gaps.err &
sleep 1; kill -0 \$! 2>/dev/null || { cat /run/gaps.err; exit 3; }" 300 >/dev/null
}
crashed() { # true if $g is no longer domain $domid; sets $crash (Xen's lines)
    local id
    id=$(guest_domid "$g")
    [ "$id" = "$domid" ] && return 1
    crash="domain $domid became ${id:-none}; Xen: $("$XL" dmesg | grep -E 'Triple fault|crash' | tail -n 2 | tr '\n' ';')"
    diag "guest $g crashed: $crash"
    return 0
}
load() { # WORKLOAD: that many busy processes at the normal priority (nice 0: the agent,
    # whose children they are, runs at -20 so that it still answers; see guest/init).
    # They start from a shell that first lowered itself to nice 0: started at the agent's
    # -20 and reniced afterwards, 200 of them starved the guest's softirqs (RCU stalls, no
    # timers) before the renice came. Killed ones stay zombies until the agent (PID 1)
    # reaps them: only live ones count.
    local out
    for _ in 1 2 3; do
        out=$(guest_run "$g" 'live() { for p in $(pidof yes); do set -- $(cat /proc/$p/stat 2>/dev/null); [ "${3:-Z}" != Z ] && echo "$1 ${19}"; done; }
killall yes 2>/dev/null
i=0; while [ -n "$(live)" ] && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
sh -c '\''renice -n 20 -p $$ >/dev/null; for i in $(seq 1 '"${1#procs-}"'); do yes >/dev/null 2>&1 & done'\''
live | cut -d" " -f2 | sort | uniq -c | tr "\n" " "' 300)
        diag "$1: busy processes (count, nice): $out"
        case "$out" in
        *" ${1#procs-} 0 "*) return 0 ;;
        esac
        crashed && return 2
    done
    diag "$1: the guest does not run ${1#procs-} busy processes at nice 0 ($out)"
    return 1
}
# fresh_guest METHOD: a new PVH guest $g, with the module for the light path; sets $domid
fresh_guest() {
    domid=""
    guest_destroy "$g"
    lv_cleanup "$g"
    XLCP_GUEST_TYPE=pvh guest_start "$g" thin:256M && guest_wait_ready "$g" 240 || return 1
    domid=$(guest_domid "$g")
    guest_run "$g" "test -f $KO" >/dev/null || bail "no $KO in the guest"
    if [ "$1" = xl-checkpoint-light ]; then
        guest_run "$g" "insmod $KO && echo loaded" | grep -q loaded || return 1
    fi
    return 0
}
# what record writes (each run sets what it measured; record clears them again)
gap="" pause="" total="" ngap="" extra="" reason=""
# record M W STATUS [WINDOW]
record() {
    echo "$1 $2 $3 ${gap:-null} ${pause:-null} ${total:-null} ${ngap:-null} ${4:-null} $reason" >>"$runs"
    printf '{"bench": "b20", "method": "%s", "workload": "%s", "status": "%s", "guest_gap_ms": %s, "dom0_pause_ms": %s, "total_ms": %s, "noise": {"guest_gap_ms": %s}, "window_s": %s%s%s}\n' \
        "$1" "$2" "$3" "${gap:-null}" "${pause:-null}" "${total:-null}" "${ngap:-null}" "${4:-null}" "${extra:+, $extra}" \
        "${reason:+, \"reason\": \"$(jstr "$reason")\"}" >>"$frag/b20.samples"
    if [ "$3" = ok ]; then
        ok "$1/$2: guest gap $gap ms, dom0 pause $pause ms, total $total ms (noise: gap $ngap ms)"
    else
        not_ok "$1/$2: failed run" "$reason"
    fi
    gap="" pause="" total="" ngap="" extra="" reason=""
}
# one M W: a run of method M under workload W on a fresh guest: 0 counted, 2 crashed
one() {
    local m=$1 w=$2 out rc t0 t1 tw0 window id info path p want
    fresh_guest "$m" || { crashed && return 2; reason="fresh guest not set up"; record "$m" "$w" failed; return 0; }
    load "$w" || { [ $? -eq 2 ] && return 2; reason="workload $w not running"; record "$m" "$w" failed; return 0; }
    quiet_dom0
    probe
    rc=$?
    [ $rc -eq 3 ] && bail "the probe cannot run SCHED_FIFO in the guest"
    if [ $rc -ne 0 ]; then
        crashed && return 2
        reason="the probe did not start (guest_run exit $rc)"
        record "$m" "$w" failed
        return 0
    fi
    tw0=$(now)
    domwatch_start "$g"
    sleep 2
    t0=$(now)
    out=$(xl-checkpoint create "$g" 2>&1)
    rc=$?
    t1=$(now)
    total=$(ms "$t0" "$t1")
    sleep 1
    p=$(domwatch_stop) || p=null
    pause=${p%% *}
    gap=$(guest_probe_max "$g") || gap=null
    window=$(elapsed "$tw0")
    diag "$m/$w gaps over 20 ms (boottime s, ms): $(guest_probe_gaps "$g" | tr '\n' ';')"
    crashed && return 2
    if [ $rc -eq 0 ]; then
        id=$(printf '%s' "$out" | tail -n 1)
        if info=$(xl-checkpoint info --json "$id" 2>&1) && printf '%s' "$info" | grep -q '"suspend_path"'; then
            path=$(printf '%s' "$info" | sed -n 's/.*"suspend_path": *"\([a-z]*\)".*/\1/p' | head -n 1)
            extra=$(printf '%s' "$info" | sed -n 's/.*"\(downtime_ms\|guest_downtime_ms\|suspend_path\)": *\([^,}]*\).*/"engine_\1": \2/p' |
                awk -F: '!seen[$1]++' | tr '\n' ',' | sed 's/,$//')
            want=${m#xl-checkpoint-}
            [ "$path" = "$want" ] || { rc=1 reason="took the $path path, not $want"; }
        else
            rc=1 reason="info --json failed: $info"
        fi
        xl-checkpoint delete "$id" >/dev/null 2>&1
    else
        reason="create failed (exit $rc): $(printf '%s' "$out" | tail -n 2 | tr '\n' ' ')"
    fi
    [ "$gap" = null ] || [ "$pause" = null ] && [ $rc -eq 0 ] && rc=1 reason="a probe gave no figure (gap $gap, dom0 $pause)"
    # the noise floor: the probe alone over a window as long, same guest, same load
    if probe; then
        sleep "$window"
        ngap=$(guest_probe_max "$g") || ngap=null
    fi
    crashed && return 2
    record "$m" "$w" "$([ $rc -eq 0 ] && echo ok || echo failed)" "$window"
    return 0
}
# runs M W: one counted run; a crash gets it done again on a fresh guest, a second crash
# in a row fails it
runs_of() {
    local tries=0
    while :; do
        tries=$((tries + 1))
        one "$1" "$2" && return 0
        printf '{"test": "b20", "method": "%s", "workload": "%s", "try": %d, "evidence": "%s"}\n' \
            "$1" "$2" "$tries" "$(jstr "$crash")" >>"$frag/b20.reruns"
        diag "rerun: $1/$2 on a fresh guest (try $tries crashed: $crash)"
        if [ $tries -ge 2 ]; then
            reason="the guest crashed in two runs in a row: $crash"
            record "$1" "$2" failed
            return 0
        fi
    done
}
[ -x "$XLCP_DOMWATCH" ] || bail "no $XLCP_DOMWATCH on the payload (tools/nested/run.sh builds it)"
# XLCP_B20_PATHS: which paths to measure (default both; e.g. "light" to measure it alone)
METHODS=""
for p in ${XLCP_B20_PATHS:-stock light}; do METHODS="$METHODS xl-checkpoint-$p"; done
WORKLOADS="procs-1 procs-200"
for r in $(seq 1 "$REPS"); do
    diag "round $r of $REPS"
    for w in $WORKLOADS; do
        for m in $METHODS; do
            runs_of "$m" "$w"
        done
    done
done
guest_destroy "$g"
lv_cleanup "$g"

med() { # COLUMN METHOD WORKLOAD: median of the counted runs' COLUMN, or null
    awk -v c="$1" -v m="$2" -v w="$3" '$1 == m && $2 == w && $3 == "ok" { print $c }' "$runs" | bench_median
}
count() { awk -v m="$1" -v w="$2" -v s="$3" '$1 == m && $2 == w && $3 == s' "$runs" | wc -l; }
why() { awk -v m="$1" -v w="$2" '$1 == m && $2 == w && $3 == "failed" { for (i = 1; i <= 8; i++) $i = ""; print }' "$runs" | tr -s ' ' | head -n 2 | tr '\n' ';'; }
ratio() { bench_ratio "$1" "$2"; }
{
    for w in $WORKLOADS; do
        for m in $METHODS; do
            n=$(count "$m" "$w" ok)
            nf=$(count "$m" "$w" failed)
            miss=""
            [ "$n" -gt 0 ] || miss=", \"missing\": \"no successful run of $REPS ($nf failed): $(jstr "$(why "$m" "$w")")\""
            printf '{"bench": "b20", "method": "%s", "workload": "%s", "guest": "PVH 256 MiB, thin LV (live copy); %s", "guest_module": %s, "runs": %d, "failed_runs": %d, "guest_gap_ms": %s, "dom0_pause_ms": %s, "total_ms": %s, "image_bytes": null, "noise_floor": {"guest_gap_ms": %s}%s}\n' \
                "$m" "$w" "${w#procs-} busy processes" "$([ "$m" = xl-checkpoint-light ] && echo true || echo false)" \
                "$n" "$nf" "$(med 4 "$m" "$w")" "$(med 5 "$m" "$w")" "$(med 6 "$m" "$w")" "$(med 7 "$m" "$w")" "$miss"
        done
    done
} >"$frag/b20.runs"
printf '"gap_light_vs_stock": {"procs-1": %s, "procs-200": %s}\n' \
    "$(ratio "$(med 4 xl-checkpoint-light procs-1)" "$(med 4 xl-checkpoint-stock procs-1)")" \
    "$(ratio "$(med 4 xl-checkpoint-light procs-200)" "$(med 4 xl-checkpoint-stock procs-200)")" >"$frag/b20.ratios"
{
    printf '%-22s %-10s %5s %12s %14s %10s %9s\n' method workload runs guest_gap_ms dom0_pause_ms total_ms noise_ms
    for w in $WORKLOADS; do
        for m in $METHODS; do
            printf '%-22s %-10s %5s %12s %14s %10s %9s\n' "$m" "$w" "$(count "$m" "$w" ok)/$REPS" "$(med 4 "$m" "$w")" \
                "$(med 5 "$m" "$w")" "$(med 6 "$m" "$w")" "$(med 7 "$m" "$w")"
        done
    done
    cat "$frag/b20.ratios"
} >"$frag/b20.txt"
diag "$(cat "$frag/b20.txt")"
ok "benchmark fragments written"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
