#!/bin/bash
# b10-checkpoint.sh - the checkpoint benchmark (make bench): three ways of capturing a
# running 256 MiB guest, each on a FRESH guest of the same configuration, in interleaved
# order (A B C, A B C, ...), idle and while the guest dirties memory at a steady rate:
#   xl-save-c       `xl save -c` (memory only), on a guest WITHOUT our module (with it
#                   loaded, libxl would use the module's suspend event channel too)
#   pause-lvcreate  `xl pause` + `lvcreate -s` of both disks + `xl unpause` (disks only)
#   xl-checkpoint   `xl checkpoint create` (both; PVH: with the guest module loaded)
# Two configurations, each guest with a thin LV (xvda) and a thick LV (xvdb), 256 MiB each:
#   pv   (workloads idle, dirty): Debian 12's Xen cannot track a PV guest's dirty pages
#        (no shadow paging), so its memory is copied with it stopped;
#   pvh  (workloads pvh-idle, pvh-dirty): live copy, light suspend.
# Every run measures (definitions: tools/nested/bench-json.sh, README "Benchmark"):
#   guest_gap_ms       largest gap of the guest's CLOCK_BOOTTIME probe (SCHED_FIFO, 10 ms)
#   guest_io_stall_ms  longest O_DIRECT 4 KiB write of the guest's probe, per disk kind
#   dom0_pause_ms      longest interval Xen reported the domain paused or suspended, until
#                      it ran again (xlcp-domwatch, polled every 2 ms), the same for all
#   total_ms           wall time of the command(s)
# then, on the same guest, the noise floor: the same probes over a window of the same
# length with no operation. A failed operation or a failed `info --json` is a failed run
# (never a 0); a guest that crashed (under emulation, see tools/nested/README.md) is
# recorded as a rerun with Xen's evidence and the run is done again on a fresh guest; a
# second crash in a row for the same run fails the benchmark.
# Writes results/bench/b10.{runs,samples,ratios,reruns,txt}; make bench merges them into
# build/bench.json (tools/nested/bench-json.sh).
# timeout: 5400
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/bench-lib.sh"

REPS=${XLCP_BENCH_REPS:-3}
DIRTY_RATE=${XLCP_BENCH_DIRTY_MIBS:-16} # MiB/s over a 64 MiB buffer
KO=/lib/xlcp/extra/xlcp_guest.ko
DEVS="xvda xvdb" # thin, thick
export XLCP_GUEST_EXTRA=panic=1 # a panicking guest reboots (a new domain we notice)
export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-bench
rm -rf "$XLCP_CATALOG_ROOT"
frag=$XLCP_PAYLOAD/results/bench
mkdir -p "$frag"
# one line per run: method workload status gap pause total bytes io_thin io_thick
#                   noise_gap noise_io_thin noise_io_thick window_s reason...
runs=$XLCP_RUN/bench-runs.txt
: >"$runs"
: >"$frag/b10.samples"
: >"$frag/b10.reruns"
img=/var/tmp/bench-save.img # not on /run: a tmpfs too small for an image
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
jstr() { bench_jstr "$1"; }

# op M: runs method M on guest $g; sets rc, total, pause_watch, bytes, extra, reason
op() {
    local t0 t1 out id info snap
    rc=0 bytes=null extra="" reason=""
    case "$1" in
    xl-save-c)
        rm -f "$img"
        t0=$(now)
        out=$("$XL" save -c "$g" "$img" 2>&1) || rc=$?
        t1=$(now)
        bytes=$(stat -c %s "$img" 2>/dev/null || echo null)
        rm -f "$img"
        ;;
    pause-lvcreate)
        t0=$(now)
        if out=$("$XL" pause "$g" 2>&1); then
            out=$(lvm_run lvcreate -q -y -s -kn -n "$g-bs0" "$VG/$g-d0" 2>&1 &&
                lvm_run lvcreate -q -y -s -L 64M -n "$g-bs1" "$VG/$g-d1" 2>&1) || rc=$?
            "$XL" unpause "$g" || rc=$?
        else
            rc=1
        fi
        t1=$(now)
        for snap in "$g-bs0" "$g-bs1"; do lvm_run lvremove -q -f "$VG/$snap" >/dev/null 2>&1; done
        ;;
    xl-checkpoint)
        t0=$(now)
        out=$(xl-checkpoint create "$g" 2>&1) || rc=$?
        t1=$(now)
        if [ $rc -eq 0 ]; then
            id=$(printf '%s' "$out" | tail -n 1)
            if info=$(xl-checkpoint info --json "$id" 2>&1) &&
                printf '%s' "$info" | grep -q '"downtime_ms"'; then
                bytes=$(printf '%s' "$info" | sed -n 's/.*"memory_bytes": *\([0-9]*\).*/\1/p' | head -n 1)
                extra=$(printf '%s' "$info" | sed -n 's/.*"\(downtime_ms\|guest_downtime_ms\|suspend_path\|live\)": *\([^,}]*\).*/"engine_\1": \2/p' |
                    awk -F: '!seen[$1]++' | tr '\n' ',' | sed 's/,$//')
                diag "checkpoint $id: $(printf '%s' "$info" | tr -d '\n' | tr -s ' ' | cut -c1-400)"
            else
                rc=1 out="info --json failed: $info"
            fi
            xl-checkpoint delete "$id" >/dev/null 2>&1
        fi
        ;;
    esac
    total=$(ms "$t0" "$t1")
    [ $rc -eq 0 ] || reason="exit $rc: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' ' | cut -c1-200)"
}

# measure M W: one run of method M, workload W, on guest $g (domain $domid): 0 counted
# (as a success or a failure), 2 the guest crashed (not counted; $crash says how)
measure() {
    local m=$1 w=$2 tw0 window p pr nr
    quiet_dom0
    if ! guest_probes_start "$g" $DEVS; then
        crashed && return 2
        reason="the probes did not start"
        record "$m" "$w" failed
        return 0
    fi
    tw0=$(now)
    domwatch_start "$g"
    sleep 2
    op "$m"
    sleep 1
    p=$(domwatch_stop) || p="null 0"
    pr=$(guest_probes_read "$g" $DEVS) || pr="null null null"
    window=$(elapsed "$tw0")
    if crashed; then return 2; fi
    set -- $pr null null null
    gap=$1 io_thin=$2 io_thick=$3
    pause=${p%% *}
    # the noise floor: the same probes, a window as long, no operation
    if guest_probes_start "$g" $DEVS; then
        sleep "$window"
        nr=$(guest_probes_read "$g" $DEVS) || nr="null null null"
    else
        nr="null null null"
    fi
    if crashed; then return 2; fi
    set -- $nr null null null
    ngap=$1 nio_thin=$2 nio_thick=$3
    if [ $rc -eq 0 ]; then
        for v in "$gap" "$io_thin" "$io_thick" "$pause"; do
            [ "$v" = null ] && { rc=1 reason="a probe gave no figure (gap $gap, io $io_thin/$io_thick, dom0 $pause)"; }
        done
    fi
    record "$m" "$w" "$([ $rc -eq 0 ] && echo ok || echo failed)" "$window"
    return 0
}
# record M W STATUS [WINDOW]: a line in $runs, a JSON sample, a TAP line
record() {
    local st=$3
    echo "$1 $2 $st ${gap:-null} ${pause:-null} ${total:-null} ${bytes:-null} ${io_thin:-null} ${io_thick:-null} ${ngap:-null} ${nio_thin:-null} ${nio_thick:-null} ${4:-null} $reason" >>"$runs"
    printf '{"bench": "b10", "method": "%s", "workload": "%s", "status": "%s", "guest_gap_ms": %s, "guest_io_stall_ms": {"thin": %s, "thick": %s}, "dom0_pause_ms": %s, "total_ms": %s, "image_bytes": %s, "noise": {"guest_gap_ms": %s, "guest_io_stall_ms": {"thin": %s, "thick": %s}}, "window_s": %s%s%s}\n' \
        "$1" "$2" "$st" "${gap:-null}" "${io_thin:-null}" "${io_thick:-null}" "${pause:-null}" "${total:-null}" "${bytes:-null}" \
        "${ngap:-null}" "${nio_thin:-null}" "${nio_thick:-null}" "${4:-null}" "${extra:+, $extra}" \
        "${reason:+, \"reason\": \"$(jstr "$reason")\"}" >>"$frag/b10.samples"
    if [ "$st" = ok ]; then
        ok "$1/$2: guest gap $gap ms, io stall thin $io_thin / thick $io_thick ms, dom0 pause $pause ms, total $total ms (noise: gap $ngap, io $nio_thin/$nio_thick ms)"
    else
        not_ok "$1/$2: failed run" "$reason"
    fi
    gap="" pause="" total="" bytes="" io_thin="" io_thick="" ngap="" nio_thin="" nio_thick="" extra="" reason=""
}
crashed() { # true if $g is no longer domain $domid; sets $crash (Xen's lines)
    local id
    id=$(guest_domid "$g")
    [ "$id" = "$domid" ] && return 1
    crash="domain $domid became ${id:-none}; Xen: $("$XL" dmesg | grep -E 'Triple fault|crash' | tail -n 2 | tr '\n' ';')"
    diag "guest $g crashed: $crash"
    return 0
}

# fresh_guest CONFIG METHOD: a new guest $g of CONFIG, with the module for
# xl-checkpoint on PVH; sets $domid
fresh_guest() {
    domid=""
    guest_destroy "$g"
    lv_cleanup "$g"
    XLCP_GUEST_TYPE=$1 guest_start "$g" thin:256M thick:256M && guest_wait_ready "$g" 240 || return 1
    domid=$(guest_domid "$g")
    if [ "$1" = pvh ] && [ "$2" = xl-checkpoint ]; then
        guest_run "$g" "insmod $KO && echo loaded" | grep -q loaded || return 1
    fi
    return 0
}

# one_method CONFIG METHOD: both workloads of CONFIG on a fresh guest; a crash gets the
# run done again on a fresh guest, a second crash in a row for it fails
one_method() {
    local c=$1 m=$2 prefix="" w tries fresh=1
    [ "$c" = pvh ] && prefix=pvh-
    g=gb-$c
    for w in idle dirty; do
        tries=0
        while :; do
            tries=$((tries + 1))
            if [ $fresh = 1 ] || [ $tries -gt 1 ]; then
                fresh=0
                if ! fresh_guest "$c" "$m"; then
                    reason="fresh $c guest not set up"
                    record "$m" "$prefix$w" failed
                    fresh=1
                    break
                fi
            fi
            if [ "$w" = dirty ]; then
                guest_run "$g" "xlcp-dirtier 64 $DIRTY_RATE </dev/null >/dev/null 2>&1 & echo started" >/dev/null
                sleep 3
            fi
            measure "$m" "$prefix$w" && break
            printf '{"test": "b10", "method": "%s", "workload": "%s", "try": %d, "evidence": "%s"}\n' \
                "$m" "$prefix$w" "$tries" "$(jstr "$crash")" >>"$frag/b10.reruns"
            diag "rerun: $m/$prefix$w on a fresh guest (try $tries crashed: $crash)"
            if [ $tries -ge 2 ]; then
                reason="the guest crashed in two runs in a row: $crash"
                record "$m" "$prefix$w" failed
                fresh=1 # the next workload starts on a fresh guest
                break
            fi
        done
        [ "$w" = dirty ] && guest_run "$g" 'killall xlcp-dirtier' >/dev/null
    done
    guest_destroy "$g"
    lv_cleanup "$g"
}

METHODS="xl-save-c pause-lvcreate xl-checkpoint"
# XLCP_BENCH_CONFIGS: which guests (default both; e.g. "pvh" for the live copy alone)
CONFIGS=${XLCP_BENCH_CONFIGS:-pv pvh}
for c in $CONFIGS; do
    case $c in pv | pvh) ;; *) bail "XLCP_BENCH_CONFIGS: unknown configuration '$c' (pv, pvh)" ;; esac
done
[ -x "$XLCP_DOMWATCH" ] || bail "no $XLCP_DOMWATCH on the payload (tools/nested/run.sh builds it)"
for r in $(seq 1 "$REPS"); do
    diag "round $r of $REPS"
    for c in $CONFIGS; do
        for m in $METHODS; do
            one_method "$c" "$m"
        done
    done
done

# ---- medians (null when no run counted, with the reason), ratios, table
# med COLUMN METHOD WORKLOAD: median of the successful runs' COLUMN (mean of the middle
# two for an even count), or null
med() { # COLUMN METHOD WORKLOAD: median of the counted runs' COLUMN, or null
    awk -v c="$1" -v m="$2" -v w="$3" '$1 == m && $2 == w && $3 == "ok" { print $c }' "$runs" | bench_median
}
count() { awk -v m="$1" -v w="$2" -v s="$3" '$1 == m && $2 == w && $3 == s' "$runs" | wc -l; }
why() { awk -v m="$1" -v w="$2" '$1 == m && $2 == w && $3 == "failed" { $1 = $2 = $3 = ""; for (i = 4; i <= 13; i++) $i = ""; print }' "$runs" | tr -s ' ' | head -n 2 | tr '\n' ';'; }
ratio() { bench_ratio "$1" "$2"; }
desc() {
    case "$1" in
    pvh-*) echo "PVH 256 MiB, thin LV xvda + thick LV xvdb (256 MiB each); live copy" ;;
    *) echo "PV 256 MiB, thin LV xvda + thick LV xvdb (256 MiB each); no live copy (Xen without shadow paging)" ;;
    esac
}
module_of() { [ "$2" = xl-checkpoint ] && [ "${1#pvh-}" != "$1" ] && echo true || echo false; }
WORKLOADS=""
for c in $CONFIGS; do
    case $c in pv) WORKLOADS="$WORKLOADS idle dirty" ;; pvh) WORKLOADS="$WORKLOADS pvh-idle pvh-dirty" ;; esac
done
{
    for w in $WORKLOADS; do
        for m in $METHODS; do
            n=$(count "$m" "$w" ok)
            nf=$(count "$m" "$w" failed)
            miss=""
            [ "$n" -gt 0 ] || miss=", \"missing\": \"no successful run of $REPS ($nf failed): $(jstr "$(why "$m" "$w")")\""
            printf '{"bench": "b10", "method": "%s", "workload": "%s", "guest": "%s", "guest_module": %s, "runs": %d, "failed_runs": %d, "guest_gap_ms": %s, "guest_io_stall_ms": {"thin": %s, "thick": %s}, "dom0_pause_ms": %s, "total_ms": %s, "image_bytes": %s, "noise_floor": {"guest_gap_ms": %s, "guest_io_stall_ms": {"thin": %s, "thick": %s}}%s}\n' \
                "$m" "$w" "$(desc "$w")" "$(module_of "$w" "$m")" "$n" "$nf" "$(med 4 "$m" "$w")" "$(med 8 "$m" "$w")" \
                "$(med 9 "$m" "$w")" "$(med 5 "$m" "$w")" "$(med 6 "$m" "$w")" "$(med 7 "$m" "$w")" \
                "$(med 10 "$m" "$w")" "$(med 11 "$m" "$w")" "$(med 12 "$m" "$w")" "$miss"
        done
    done
} >"$frag/b10.runs"
per_workload() { # EXPR: "a b COLUMN" pairs -> {"idle": r, ...}
    local w sep="" col=$1 ma=$2 mb=$3 ca=${4:-$1}
    for w in $WORKLOADS; do
        printf '%s"%s": %s' "$sep" "$w" "$(ratio "$(med "$ca" "$ma" "$w")" "$(med "$col" "$mb" "$w")")"
        sep=", "
    done
}
{
    printf '"gap_vs_xl_save_c": {%s}\n' "$(per_workload 4 xl-checkpoint xl-save-c)"
    printf '"dom0_pause_vs_xl_save_c": {%s}\n' "$(per_workload 5 xl-checkpoint xl-save-c)"
    printf '"total_vs_xl_save_c": {%s}\n' "$(per_workload 6 xl-checkpoint xl-save-c)"
    printf '"io_stall_thick_vs_thin": {%s}\n' "$(per_workload 8 xl-checkpoint xl-checkpoint 9)"
} >"$frag/b10.ratios"
{
    printf '%-15s %-10s %4s %8s %9s %9s %9s %8s %17s\n' method workload runs gap_ms io_thin io_thick dom0_ms total_ms "noise gap/io"
    for w in $WORKLOADS; do
        for m in $METHODS; do
            printf '%-15s %-10s %4s %8s %9s %9s %9s %8s %17s\n' "$m" "$w" "$(count "$m" "$w" ok)/$REPS" "$(med 4 "$m" "$w")" \
                "$(med 8 "$m" "$w")" "$(med 9 "$m" "$w")" "$(med 5 "$m" "$w")" "$(med 6 "$m" "$w")" \
                "$(med 10 "$m" "$w")/$(med 11 "$m" "$w")/$(med 12 "$m" "$w")"
        done
    done
    cat "$frag/b10.ratios"
} >"$frag/b10.txt"
diag "$(cat "$frag/b10.txt")"
ok "benchmark fragments written"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
