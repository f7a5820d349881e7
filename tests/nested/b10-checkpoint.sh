#!/bin/bash
# b10-checkpoint.sh - the checkpoint benchmark (make bench), idle and while the guest
# dirties memory at a steady rate, on two 256 MiB guests in turn:
#   PV with one thick LV (workloads idle, dirty): Debian 12's Xen cannot track a PV
#       guest's dirty pages (no shadow paging), so its memory is copied with it stopped;
#   PVH with one thin LV and the guest module (workloads pvh-idle, pvh-dirty): live copy,
#       light suspend, the thin snapshot re-pointed inside the pool.
# For each method, three runs (interleaved, each from a quiet dom0: udev settled, synced),
# medians of:
#   guest_gap_ms   largest gap the guest's CLOCK_BOOTTIME probe saw around the operation
#   dom0_pause_ms  how long dom0 kept the guest stopped (xl save -c: the whole save;
#                  pause-lvcreate: xl pause .. xl unpause; xl-checkpoint: suspended ..
#                  resumed, from its manifest)
#   total_ms       wall time of the operation; image_bytes: size of what it wrote
# and the probe's noise floor (its largest gap over as long with no operation). The probe
# runs SCHED_FIFO: it measures how long the guest was stopped, not how long the dirtier
# beside it kept it off the vCPU (the same probe for every method and the noise floor).
# Methods: xl-save-c (`xl save -c`, no disk), pause-lvcreate (`xl pause` + `lvcreate -s`
# + `xl unpause`, no memory), xl-checkpoint (`xl checkpoint create`: both).
# Writes results/bench/b10.{runs,ratios,txt}; make bench merges them into build/bench.json.
# timeout: 3000
set -uo pipefail
. "$(dirname "$0")/lib.sh"

REPS=${XLCP_BENCH_REPS:-3}
DIRTY_RATE=${XLCP_BENCH_DIRTY_MIBS:-16} # MiB/s over a 64 MiB buffer
# A guest that panics (see tools/nested/README.md: PVH under emulation) reboots, so xl
# brings it back as a new domain that the script notices, instead of spinning in panic.
export XLCP_GUEST_EXTRA=panic=1
export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-bench
rm -rf "$XLCP_CATALOG_ROOT"
runs=$XLCP_RUN/bench-runs.txt # method workload gap pause total bytes
: >"$runs"
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print v[int((NR + 1) / 2)] }'; }

img=/var/tmp/bench-save.img # not on /run: a tmpfs too small for an image

one_run() { # method workload
    local m=$1 w=$2 t0 t1 p0 p1 rc=0 gap pause total bytes out id snapargs
    quiet_dom0
    guest_probe_start "$g" 20 fifo
    sleep 2
    case "$m" in
    xl-save-c)
        rm -f "$img"
        t0=$(now)
        "$XL" save -c "$g" "$img" >/dev/null 2>&1 || rc=$?
        t1=$(now)
        total=$(ms "$t0" "$t1")
        pause=$total # the guest is stopped for the whole save
        bytes=$(stat -c %s "$img" 2>/dev/null || echo 0)
        rm -f "$img"
        ;;
    pause-lvcreate)
        t0=$(now)
        snapargs="-L 64M"
        [ "$thin" = 1 ] && snapargs="-kn"
        # shellcheck disable=SC2086
        "$XL" pause "$g" && p0=$(now) &&
            lvm_run lvcreate -q -y -s $snapargs -n "$g-bsnap" "$VG/$g-d0" >/dev/null || rc=$?
        p1=$(now)
        "$XL" unpause "$g" || rc=$?
        t1=$(now)
        total=$(ms "$t0" "$t1")
        pause=$(ms "${p0:-$t0}" "$t1")
        bytes=0
        lvm_run lvremove -q -f "$VG/$g-bsnap" >/dev/null 2>&1
        ;;
    xl-checkpoint)
        t0=$(now)
        out=$(xl-checkpoint create "$g" 2>&1) || rc=$?
        t1=$(now)
        total=$(ms "$t0" "$t1")
        id=$(printf '%s' "$out" | tail -n 1)
        info=$(xl-checkpoint info --json "$id" 2>/dev/null)
        pause=$(printf '%s' "$info" | sed -n 's/.*"downtime_ms": *\([0-9.]*\).*/\1/p' | head -n 1)
        pause=${pause%.*}
        bytes=$(printf '%s' "$info" | sed -n 's/.*"memory_bytes": *\([0-9]*\).*/\1/p' | head -n 1)
        [ $rc -eq 0 ] && diag "checkpoint $id: $(printf '%s' "$info" | tr -d '\n' | cut -c1-400)"
        xl-checkpoint delete "$id" >/dev/null 2>&1
        ;;
    noise)
        sleep 8
        total=0 pause=0 bytes=0
        ;;
    esac
    sleep 1
    if guest_new_domain "$g" "$domid"; then
        skip "$m/$w: not counted" "the guest crashed under emulation during the run (see above)"
        setup_guest "$w"
        return 1
    fi
    gap=$(guest_probe_max "$g")
    if [ $rc -ne 0 ]; then
        not_ok "$m/$w: failed (exit $rc) ${out:-}"
        return 1
    fi
    echo "$m $w ${gap:-0} ${pause:-0} $total ${bytes:-0}" >>"$runs"
    ok "$m/$w: guest gap ${gap} ms, dom0 pause ${pause} ms, total ${total} ms, ${bytes} bytes"
}

# (Re)sets up the bench guest $g for workload W: its module, its dirtier.
setup_guest() { # W
    domid=$(guest_domid "$g")
    if [ "$module" = 1 ]; then
        guest_run "$g" 'insmod /lib/xlcp/extra/xlcp_guest.ko && echo loaded' | grep -q loaded &&
            ok "guest module loaded in $g" || not_ok "guest module loaded in $g"
    fi
    if [ "${1#pvh-}" = dirty ]; then
        guest_run "$g" "xlcp-dirtier 64 $DIRTY_RATE </dev/null >/dev/null 2>&1 & echo started" >/dev/null
        sleep 3
    fi
}

bench_guest() { # TYPE DISK MODULE PREFIX
    local type=$1 disk=$2 prefix=$4 w r m
    module=$3
    g=gbench-$type
    thin=0
    [ "${disk%%:*}" = thin ] && thin=1
    XLCP_GUEST_TYPE=$type guest_start "$g" "$disk" && guest_wait_ready "$g" 240 &&
        ok "bench guest $g ready ($type, $disk)" || { not_ok "bench guest $g"; return 1; }
    setup_guest idle
    for w in idle dirty; do
        if [ "$w" = dirty ]; then
            guest_run "$g" "xlcp-dirtier 64 $DIRTY_RATE </dev/null >/dev/null 2>&1 & echo started" >/dev/null
            sleep 3
        fi
        for r in $(seq 1 "$REPS"); do
            for m in noise xl-save-c pause-lvcreate xl-checkpoint; do
                one_run "$m" "$prefix$w" || true
            done
        done
        [ "$w" = dirty ] && guest_run "$g" 'killall xlcp-dirtier' >/dev/null
    done
    guest_destroy "$g"
    lv_cleanup "$g"
}
bench_guest pv thick:256M 0 ""
bench_guest pvh thin:256M 1 "pvh-"

# ---- medians, ratios: fragments merged into build/bench.json by tools/nested/bench-json.sh
col() { awk -v m="$1" -v w="$2" -v c="$3" '$1 == m && $2 == w { print $c }' "$runs" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "null" }'; }
frag=$XLCP_PAYLOAD/results/bench
mkdir -p "$frag"
desc() {
    case "$1" in
    pvh-*) echo "PVH 256 MiB, thin LV 256 MiB, guest module (live copy, light suspend)" ;;
    *) echo "PV 256 MiB, thick LV 256 MiB (no live copy: Xen without shadow paging)" ;;
    esac
}
WORKLOADS="idle dirty pvh-idle pvh-dirty"
{
    for w in $WORKLOADS; do
        nf=$(col noise "$w" 3)
        for m in xl-save-c pause-lvcreate xl-checkpoint; do
            printf '{"method": "%s", "workload": "%s", "guest_gap_ms": %s, "dom0_pause_ms": %s, "total_ms": %s, "image_bytes": %s, "noise_floor_ms": %s, "guest": "%s"}\n' \
                "$m" "$w" "$(col "$m" "$w" 3)" "$(col "$m" "$w" 4)" "$(col "$m" "$w" 5)" "$(col "$m" "$w" 6)" "$nf" "$(desc "$w")"
        done
    done
} >"$frag/b10.runs"
ratios() { # column
    local w sep=""
    for w in $WORKLOADS; do
        printf '%s"%s": %s' "$sep" "$w" "$(ratio "$(col xl-checkpoint "$w" "$1")" "$(col xl-save-c "$w" "$1")")"
        sep=", "
    done
}
{
    printf '"gap_vs_xl_save_c": {%s}\n' "$(ratios 3)"
    printf '"total_vs_xl_save_c": {%s}\n' "$(ratios 5)"
} >"$frag/b10.ratios"
{
    printf '%-16s %-10s %12s %14s %10s %12s %10s\n' method workload guest_gap_ms dom0_pause_ms total_ms image_bytes noise_ms
    for w in $WORKLOADS; do
        for m in xl-save-c pause-lvcreate xl-checkpoint; do
            printf '%-16s %-10s %12s %14s %10s %12s %10s\n' "$m" "$w" "$(col "$m" "$w" 3)" "$(col "$m" "$w" 4)" \
                "$(col "$m" "$w" 5)" "$(col "$m" "$w" 6)" "$(col noise "$w" 3)"
        done
    done
    cat "$frag/b10.ratios"
} >"$frag/b10.txt"
diag "$(cat "$frag/b10.txt")"
ok "benchmark fragments written"
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
