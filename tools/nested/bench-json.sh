#!/bin/sh
# bench-json.sh DIR OUT [TAP] - merges the benchmark fragments the nested b*.sh scripts
# leave in DIR into one JSON document OUT, prints the tables, and fails naming every
# figure that is missing. Fragments (one JSON object or '"key": value' per line):
#   NAME.runs     one summary row per method and workload (medians; null + "missing")
#   NAME.samples  every run, counted or failed     NAME.reruns  every run done again
#   NAME.ratios   '"key": {...}' lines             NAME.txt     a table
# TAP (build/nested/results.tap): the harness's reruns of whole benchmarks after a guest
# crash ("# run again: ...", "# guest crash during the test: ...") go into "reruns" too.
# XLCP_NESTED_TESTS (make bench T=...: patterns, space or comma separated, matched in the
# benchmarks' names as run-tests.sh does; empty: all): the benchmarks that were run, whose
# missing results are named. b30's ratios group_stop_vs_single and
# group_skew_vs_single_stop must be numbers (null is named, with b30's reason).
set -eu
dir=$1
out=$2
tap=${3:-}
ls "$dir"/*.runs >/dev/null 2>&1 || { echo "bench-json: no results in $dir" >&2; exit 1; }
lines() { # FILES...: their non-empty lines, indented, joined with commas
    { cat "$@" 2>/dev/null || true; } | sed '/^$/d; s/^/    /; $!s/$/,/'
}
jstr() { tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g'; }
{
    printf '{\n  "generated": "%s",\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    cat <<'EOF'
  "definitions": {
    "guest_gap_ms": "the largest gap between two readings of CLOCK_BOOTTIME by a probe in the guest that reads it every 10 ms at SCHED_FIFO priority (tests/nested/guest/gapprobe.c), over a window from 2 s before the command to 1 s after it: how long the guest's CPU saw itself stopped",
    "guest_io_stall_ms": "per disk kind (thin: a thin LV, thick: a thick LV, both disks of the same guest): the longest time one O_DIRECT 4 KiB write of a probe in the guest took to complete (one write every 10 ms to each disk, timed with CLOCK_BOOTTIME; tests/nested/guest/iowprobe.c), over the same window: how long the guest's disk writes were held; a write the guest did not issue while it was stopped counts nothing (a process frozen by the stock suspend path issues none), so a stop shows here only when a write was under way or issued during it: read it beside guest_gap_ms",
    "dom0_pause_ms": "the longest interval from Xen first reporting the domain paused or shut down for suspend to Xen first reporting it running again, polled every 2 ms from dom0 with xc_domain_getinfo (tests/nested/dom0/domwatch.c); measured the same way for every method (for xl save -c too, not its wall time)",
    "total_ms": "wall time of the command (xl save -c; xl pause + lvcreate -s of both disks + xl unpause; xl checkpoint create), for every method and benchmark alike",
    "image_bytes": "size of the memory image written (null: the method writes none)",
    "noise_floor": "the same probes on the same guest right after each run, over a window of the same length with no operation; the median over the method's runs",
    "medians": "every figure is the median of the counted runs (the mean of the middle two for an even count); a figure with no counted run is null and its row says why in missing",
    "failed_runs": "runs whose command failed, or whose info --json failed, or whose probe gave no figure: never counted as a 0",
    "reruns": "runs done again because the guest crashed (under emulation, see tools/nested/README.md), each with Xen's evidence; a second crash in a row fails the benchmark",
    "engine_downtime_ms": "b30: the create's own record of the stop (downtime_ms of create --json / info --json: from the engine's stop to its resume, dom0 CLOCK_MONOTONIC), beside Xen's dom0_pause_ms",
    "group_longest_stop_ms": "b30, a group checkpoint of 4 guests: the longest of the members' stops, each measured as dom0_pause_ms by its own xlcp-domwatch (one watcher per member, Xen's view, not the engine's record); the group's counterpart of a single checkpoint's dom0_pause_ms. engine_longest_stop_ms: the same from the create's JSON (longest_stop_ms). member_stop_ms: the median over every member of every counted run",
    "group_skew_ms": "b30: the spread (latest minus earliest) of the members' stop instants, from the group create's JSON (skew_ms: the engine's record on dom0 CLOCK_MONOTONIC, written to group.xml)",
    "xen_skew_ms": "b30: the spread of the instants the four watchers first saw their member stopped (dom0 CLOCK_MONOTONIC, 2 ms polls; a cross-check of group_skew_ms from Xen's side, at the polls' resolution)",
    "at_deviation_ms": "b30, create --group --at TIME: a member's stop instant minus TIME (positive: late), from the create's JSON (deviation_ms); the runs row gives the median of its absolute value over every member of every counted run (at_deviation_ms), the signed median and the largest absolute value; TIME was XLCP_B30_AT_LEAD s (default: the group run's wall time + 30 s) after the command started",
    "group_stop_vs_single": "b30 ratio: median group_longest_stop_ms of the group runs / median dom0_pause_ms of the single checkpoints of one member of the same guests in the same run (issue 16: <= 1.5)",
    "group_skew_vs_single_stop": "b30 ratio: median group_skew_ms / the same median single dom0_pause_ms (issue 16: <= 0.1)",
    "group_at_deviation_ms": "b30 figure (not a ratio): median |at_deviation_ms| over every member of every counted --at run",
    "fairness": "b10: every method runs on a fresh guest of the same configuration, methods interleaved (A B C, A B C, ...); xl save -c runs on a guest WITHOUT the guest module (loaded, libxl would use its suspend event channel for xl save -c too); xl checkpoint create on PVH runs with the module loaded. b30: four 256 MiB PVH guests with the module loaded, started once and reused by every run (a crashed one is set up again), a fresh catalog per run (the --at run follows the group run with the group's checkpoints kept, for its schedule); single and group runs interleaved, each with the same four watchers running; the single checkpoint takes a different member each repetition"
  },
EOF
    printf '  "runs": [\n'
    lines "$dir"/*.runs
    printf '  ],\n  "samples": [\n'
    lines "$dir"/*.samples
    printf '  ],\n  "reruns": [\n'
    {
        cat "$dir"/*.reruns 2>/dev/null || true
        if [ -n "$tap" ] && [ -f "$tap" ]; then
            grep -E '^ *# (run again|guest crash during the test)' "$tap" | sed 's/^ *# //' |
                while IFS= read -r l; do printf '{"harness": "%s"}\n' "$(printf '%s' "$l" | jstr)"; done
        fi
    } | sed '/^$/d; s/^/    /; $!s/$/,/'
    printf '  ],\n  "ratios": {\n'
    lines "$dir"/*.ratios
    printf '  },\n  "targets": {"gap_vs_xl_save_c": 0.02, "total_vs_xl_save_c": 1.2, "gap_light_vs_stock": 0.2, "io_stall_thick_vs_thin": 3, "group_stop_vs_single": 1.5, "group_skew_vs_single_stop": 0.1}\n}\n'
} >"$out"
if command -v python3 >/dev/null 2>&1; then
    python3 -m json.tool "$out" >/dev/null || { echo "bench-json: $out is not valid JSON" >&2; exit 1; }
fi
for t in "$dir"/*.txt; do
    echo "== $(basename "$t" .txt)"
    cat "$t"
done
# every row without a figure, and every benchmark that left no rows, is named
missing=$(grep -h '"missing"' "$dir"/*.runs 2>/dev/null |
    sed -n 's/.*"method": "\([^"]*\)", "workload": "\([^"]*\)".*"missing": "\([^"]*\)".*/\1\/\2: \3/p')
# the benchmarks that write fragments, and which of them this run selected
selected() { # NAME: true if make bench T=... selected it (no T: every one)
    [ -n "$(printf '%s' "${XLCP_NESTED_TESTS:-}" | tr -d ' ,')" ] || return 0
    for p in $(printf '%s' "$XLCP_NESTED_TESTS" | tr ',' ' '); do
        case "$1" in *"$p"*) return 0 ;; esac
    done
    return 1
}
for name in b10-checkpoint b20-light b30-group; do
    b=${name%%-*}
    selected "$name" || [ -s "$dir/$b.runs" ] || continue
    [ -s "$dir/$b.runs" ] || missing="$missing
$b: no results (the benchmark did not finish)"
done
# b30's two ratios: numbers, or named with the reason b30 gave
if selected b30-group || [ -s "$dir/b30.runs" ]; then
    for k in group_stop_vs_single group_skew_vs_single_stop; do
        v=$(cat "$dir"/*.ratios 2>/dev/null | sed -n "s/^\"$k\": *\([^,}]*\).*/\1/p" | head -n 1)
        printf '%s' "$v" | grep -Eqx -- '-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?' && continue
        why=$(cat "$dir"/*.ratios 2>/dev/null | sed -n "s/^\"group_ratios_missing\":.*\"$k\": \"\([^\"]*\)\".*/\1/p" | head -n 1)
        missing="$missing
ratios.$k: ${v:-absent}${why:+ ($why)}"
    done
fi
missing=$(printf '%s\n' "$missing" | sed '/^$/d')
if [ -n "$missing" ]; then
    echo "bench-json: MISSING figures (null in $out):" >&2
    printf '%s\n' "$missing" | sed 's/^/  /' >&2
    exit 1
fi
