#!/bin/bash
# b20-light.sh - guest-seen pause of `xl checkpoint create` through the guest module's
# light suspend path (xlcp_guest.ko loaded: no process freezer, no device PM walk) against
# the stock path (module not loaded: control/shutdown, freeze everything), on a 256 MiB PVH
# guest running 1 and 200 busy processes. PVH, because there the memory is copied live and
# the pause is the suspend path's own; a PV guest on Debian 12's Xen is stopped for its
# whole memory copy (no shadow paging, no log-dirty), which hides either path. The probe
# runs SCHED_FIFO (it sets that itself) so that the busy processes do not hide its clock.
# Three runs each, medians; the noise floor (probe alone, same load) per workload. Writes
# results/bench/b20.* (runs, ratios.gap_light_vs_stock); make bench merges them into
# build/bench.json.
# timeout: 3000
set -uo pipefail
. "$(dirname "$0")/lib.sh"

REPS=${XLCP_BENCH_REPS:-3}
KO=/lib/xlcp/extra/xlcp_guest.ko
# A guest that panics (see tools/nested/README.md: PVH under emulation) reboots, so xl
# brings it back as a new domain that the script notices, instead of spinning in panic.
export XLCP_GUEST_EXTRA=panic=1
export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-bench20
rm -rf "$XLCP_CATALOG_ROOT"
runs=$XLCP_RUN/bench20-runs.txt
: >"$runs"
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print v[int((NR + 1) / 2)] }'; }

g=glb
XLCP_GUEST_TYPE=pvh guest_start "$g" thin:256M && guest_wait_ready "$g" 240 && ok "bench guest ready" || bail "bench guest"
guest_run "$g" "test -f $KO" >/dev/null || bail "no $KO in the guest"
diag "nice of the guest's agent and xenstore threads: $(guest_run "$g" 'for p in 1 $(pidof xenbus xenwatch); do echo "$(cut -d" " -f2 /proc/$p/stat)=$(cut -d" " -f19 /proc/$p/stat)"; done | tr "\n" " "')"
probe() { # SCHED_FIFO (busybox has no chrt: the probe sets it itself). A guest busy with
    # 200 processes answers slowly: a late answer skips the run, a refusal ends the benchmark.
    local rc
    guest_run "$g" "killall xlcp-gapprobe 2>/dev/null; rm -f /run/gaps.log /run/gaps.log.max
xlcp-gapprobe /run/gaps.log 20 fifo </dev/null >/dev/null 2>/run/gaps.err &
sleep 1; kill -0 \$! 2>/dev/null || { cat /run/gaps.err; exit 3; }" 300 >/dev/null
    rc=$?
    [ $rc -eq 3 ] && bail "the probe cannot run SCHED_FIFO in the guest"
    [ $rc -eq 0 ] || diag "the probe did not start (guest_run exit $rc)"
    return $rc
}
one() { # method workload
    local m=$1 w=$2 out rc id info gap pause total
    restarted "$w"
    quiet_dom0
    if ! probe; then
        if restarted "$w"; then
            skip "$m/$w: not counted" "the guest crashed under emulation before the run (see above)"
        else
            not_ok "$m/$w: no probe in the guest, run skipped"
        fi
        return 1
    fi
    sleep 2
    out=$(xl-checkpoint create "$g" 2>&1)
    rc=$?
    sleep 1
    gap=$(guest_probe_max "$g")
    diag "$m/$w gaps over 20 ms (boottime s, ms): $(guest_probe_gaps "$g" | tr '\n' ';')"
    id=$(printf '%s' "$out" | tail -n 1)
    info=$(xl-checkpoint info --json "$id" 2>/dev/null)
    pause=$(printf '%s' "$info" | sed -n 's/.*"downtime_ms": *\([0-9]*\).*/\1/p' | head -n 1)
    total=$(printf '%s' "$info" | sed -n 's/.*"total_ms": *\([0-9]*\).*/\1/p' | head -n 1)
    path=$(printf '%s' "$info" | sed -n 's/.*"suspend_path": *"\([a-z]*\)".*/\1/p' | head -n 1)
    xl-checkpoint delete "$id" >/dev/null 2>&1
    if restarted "$w"; then
        skip "$m/$w: not counted" "the guest crashed under emulation during the run (see above)"
        return 1
    fi
    if [ $rc -ne 0 ]; then
        not_ok "$m/$w: create failed" "$out"
        return 1
    fi
    want=${m#xl-checkpoint-}
    [ "$path" = "$want" ] || { not_ok "$m/$w: took the $path path"; return 1; }
    echo "$m $w ${gap:-0} ${pause:-0} ${total:-0}" >>"$runs"
    ok "$m/$w: guest gap $gap ms, dom0 pause $pause ms, total $total ms"
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
        resetup || break # the guest crashed meanwhile: set it up again and retry
    done
    bail "$1: the guest does not run ${1#procs-} busy processes at nice 0 ($out)"
}
# A guest that crashed (under emulation a PVH guest triple-faults now and then, while its
# memory is copied live or with no operation at all: seen in this benchmark's own guest
# before its first checkpoint) is rebooted by xl as a new domain: say so, and set it up
# again (module, workload) before the next run.
domid=$(guest_domid "$g")
module_loaded=0
resetup() { # true if the guest is a new domain, now with the module if it had it
    guest_new_domain "$g" "$domid" || return 1
    domid=$(guest_domid "$g")
    [ "$module_loaded" = 1 ] && guest_run "$g" "insmod $KO" >/dev/null
    return 0
}
restarted() { # WORKLOAD
    resetup || return 1
    load "$1"
    return 0
}
noise() { # WORKLOAD: the probe's largest gap over a run's time, with no operation
    probe || { restarted "$1" && probe; } || return 1
    sleep 12
    echo "noise $1 $(guest_probe_max "$g")" >>"$runs"
}
reps() { # METHOD WORKLOAD: REPS counted runs, up to twice as many tries (crashed guests)
    local n=0 a=0
    while [ $n -lt "$REPS" ] && [ $a -lt $((2 * REPS)) ]; do
        a=$((a + 1))
        one "$1" "$2" && n=$((n + 1))
    done
}
# The stock path first, on a guest that never had the module: what a guest without it
# gets. Then the module, for the light path.
# XLCP_B20_PATHS: which paths to measure (default both; e.g. "light" to measure it alone)
PATHS=" ${XLCP_B20_PATHS:-stock light} "
for w in procs-1 procs-200; do
    load "$w"
    noise "$w"
    case $PATHS in *" stock "*) reps xl-checkpoint-stock "$w" ;; esac
done
case $PATHS in *" light "*)
    restarted procs-1
    guest_run "$g" "insmod $KO" >/dev/null || bail "insmod $KO"
    module_loaded=1
    for w in procs-1 procs-200; do
        load "$w"
        reps xl-checkpoint-light "$w"
    done
    ;;
esac
guest_run "$g" 'killall yes' >/dev/null
col() { awk -v m="$1" -v w="$2" -v c="$3" '$1 == m && $2 == w { print $c }' "$runs" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "null" }'; }
frag=$XLCP_PAYLOAD/results/bench
mkdir -p "$frag"
{
    for w in procs-1 procs-200; do
        for m in xl-checkpoint-stock xl-checkpoint-light; do
            printf '{"method": "%s", "workload": "%s", "guest_gap_ms": %s, "dom0_pause_ms": %s, "total_ms": %s, "image_bytes": null, "noise_floor_ms": %s, "guest": "PVH 256 MiB, thin LV (live copy)"}\n' \
                "$m" "$w" "$(col "$m" "$w" 3)" "$(col "$m" "$w" 4)" "$(col "$m" "$w" 5)" "$(col noise "$w" 3)"
        done
    done
} >"$frag/b20.runs"
printf '"gap_light_vs_stock": {"procs-1": %s, "procs-200": %s}\n' \
    "$(ratio "$(col xl-checkpoint-light procs-1 3)" "$(col xl-checkpoint-stock procs-1 3)")" \
    "$(ratio "$(col xl-checkpoint-light procs-200 3)" "$(col xl-checkpoint-stock procs-200 3)")" >"$frag/b20.ratios"
{
    printf '%-22s %-10s %12s %14s %10s %9s\n' method workload guest_gap_ms dom0_pause_ms total_ms noise_ms
    for w in procs-1 procs-200; do
        for m in xl-checkpoint-stock xl-checkpoint-light; do
            printf '%-22s %-10s %12s %14s %10s %9s\n' "$m" "$w" "$(col "$m" "$w" 3)" "$(col "$m" "$w" 4)" \
                "$(col "$m" "$w" 5)" "$(col noise "$w" 3)"
        done
    done
    cat "$frag/b20.ratios"
} >"$frag/b20.txt"
diag "$(cat "$frag/b20.txt")"
ok "benchmark fragments written"
guest_destroy "$g"
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
