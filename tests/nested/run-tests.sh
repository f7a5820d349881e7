#!/bin/bash
# run-tests.sh - runs inside nested dom0 (started by the image's boot.sh from the payload
# disk). Prepares dom0 (modules, staged install, LVM on the data disk), then runs
# tests/nested/t[0-9]*.sh in order, each under its own time limit, and writes TAP to
# $XLCP_PAYLOAD/results/results.tap. Every top-level TAP line is also printed on the
# console as "XLCP-TAP: ..." and progress as "XLCP-PROGRESS: ...", so the host can tell
# what happened even if it never gets the disk back.
#
# Usage: run-tests.sh [--mode test|shell]
# Reads $XLCP_PAYLOAD/config.env: XLCP_NESTED_TESTS (patterns, space/comma separated,
# matched against test names), XLCP_TEST_TIMEOUT (default per-test limit; a test can set
# its own with a "# timeout: SECS" line), XLCP_NESTED_INSTALL (stage: the staged install
# copied into /, the default; deb: the Debian packages installed with dpkg -i).
set -uo pipefail

mode="test"
only=""
while [ $# -gt 0 ]; do
    case "$1" in
    --mode) mode=$2; shift ;;
    --only) only=$2; shift ;;
    esac
    shift
done
here=$(cd "$(dirname "$0")" && pwd)
export XLCP_PAYLOAD=${XLCP_PAYLOAD:-$(cd "$here/../.." && pwd)}
XLCP_NESTED_TESTS=""
XLCP_NESTED_GLOB='[td][0-9]*.sh' # tests and the demo; benchmarks are b[0-9]*.sh (make bench)
XLCP_TEST_TIMEOUT=600
# shellcheck disable=SC1091
[ -f "$XLCP_PAYLOAD/config.env" ] && . "$XLCP_PAYLOAD/config.env"
[ -n "$only" ] && XLCP_NESTED_TESTS=$only
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export XLCP_STAGE=$XLCP_PAYLOAD/stage
results=$XLCP_PAYLOAD/results
mkdir -p "$results"
tap=$results/results.tap
: >"$tap"

say() { echo "XLCP-PROGRESS: $*"; }
tapline() {
    echo "$1" >>"$tap"
    echo "XLCP-TAP: $1"
}

# ---- prepare dom0 --------------------------------------------------------------------
setup() {
    local t0 m data
    t0=$(date +%s)
    for m in xen-evtchn xen-gntdev xen-gntalloc xen-blkback dm-mod dm-snapshot dm-thin-pool; do
        modprobe "$m" 2>/dev/null || echo "setup: modprobe $m failed"
    done
    if [ "${XLCP_NESTED_INSTALL:-stage}" = deb ]; then
        # the suite against the Debian packages (make check-nested-deb): dpkg -i with
        # dom0's own packages (no network); the staged install stays out of /
        local debs=() p f out
        for p in xl-checkpoint libxlcheckpoint0 libxlcheckpoint-dev; do
            f=$(ls "$XLCP_PAYLOAD/deb/${p}"_*.deb 2>/dev/null | head -n 1)
            [ -n "$f" ] || { echo "setup: FATAL: no $p package on the payload (make deb-build)"; return 1; }
            debs+=("$f")
        done
        out=$(timeout 300 dpkg -i "${debs[@]}" 2>&1) || {
            echo "setup: FATAL: dpkg -i failed: $(printf '%s' "$out" | tail -n 5)"
            return 1
        }
        # `xl checkpoint`: the packages' opt-in dispatcher ahead of Xen's xl
        export PATH=/usr/libexec/xl-checkpoint:$PATH
        echo "setup: Debian packages installed: ${debs[*]##*/}"
    elif [ -d "$XLCP_STAGE" ] && [ -n "$(ls -A "$XLCP_STAGE" 2>/dev/null)" ]; then
        cp -a "$XLCP_STAGE/." /
        ldconfig
        echo "setup: staged install copied into / ($(find "$XLCP_STAGE" -type f | wc -l) files)"
    else
        echo "setup: no staged install on the payload"
    fi
    data=/dev/disk/by-id/virtio-xlcp-data
    for _ in $(seq 1 30); do [ -e "$data" ] && break; sleep 1; done
    if [ ! -e "$data" ]; then
        echo "setup: FATAL: no data disk ($data)"
        return 1
    fi
    if ! vgs vg0 >/dev/null 2>&1; then
        timeout 120 pvcreate -q -ff -y "$data" &&
            timeout 120 vgcreate -q vg0 "$data" &&
            timeout 120 lvcreate -q -y --type thin-pool -L "${XLCP_THIN_POOL_SIZE:-3G}" \
                -n pool vg0 >/dev/null || {
            echo "setup: FATAL: cannot create vg0 and vg0/pool on $data"
            return 1
        }
    fi
    for _ in $(seq 1 60); do xenstore-read /local/domain/0/domid >/dev/null 2>&1 && break; sleep 1; done
    if ! timeout 60 xl info >/dev/null 2>&1; then
        echo "setup: FATAL: xl info does not work"
        return 1
    fi
    echo "setup: done in $(($(date +%s) - t0))s; $(vgs --noheadings -o vg_name,vg_size,vg_free vg0)"
}

if ! setup; then
    tapline "TAP version 13"
    tapline "1..1"
    tapline "not ok 1 - setup: nested dom0 could not be prepared (see serial log)"
    sync
    exit 1
fi

if [ "$mode" = shell ]; then
    cat <<EOF
==========================================================================
 nested dom0 ready. Payload: $XLCP_PAYLOAD (stage tree installed into /).
 Tests: $XLCP_PAYLOAD/tests/nested; run one:  bash $here/run-tests.sh --only t00
 Helpers: . $here/lib.sh   (guest_start g1; guest_wait_ready g1; guest_run g1 'ls /')
 Quit QEMU: Ctrl-a x
==========================================================================
EOF
    exit 0
fi

# ---- select tests --------------------------------------------------------------------
tests=()
for t in "$here"/$XLCP_NESTED_GLOB; do
    [ -f "$t" ] || continue
    n=$(basename "$t" .sh)
    if [ -n "$XLCP_NESTED_TESTS" ]; then
        sel=0
        for pat in ${XLCP_NESTED_TESTS//,/ }; do
            case "$n" in *"$pat"*) sel=1 ;; esac
        done
        [ $sel = 1 ] || continue
    fi
    tests+=("$t")
done

tapline "TAP version 13"
tapline "1..${#tests[@]}"
if [ ${#tests[@]} -eq 0 ]; then
    echo "# no test matches '$XLCP_NESTED_TESTS'" >>"$tap"
    echo "XLCP-TAP: # no test matches '$XLCP_NESTED_TESTS'"
fi
# Reruns: every one is in the TAP with its evidence ("# guest crash during the test: ...",
# "# run again: ..."); make bench copies them into build/bench.json.
# note_crash XEN_LOG_BEFORE: sets $crash to what says a guest crashed since XEN_LOG_BEFORE
# (a copy of `xl dmesg`) and writes it into the TAP: Xen's new lines about triple faults
# and crashes, and domains kept crashed (on_crash=preserve). Under emulation PVH guests
# crash now and then, with or without a live copy, as with `xl migrate`
# (tools/nested/README.md "Known pitfalls").
note_crash() {
    crash=$(
        timeout 30 xl dmesg 2>/dev/null | grep -Fxv -f "$1" | grep -E 'Triple fault|crash' | tail -n 4
        timeout 30 xl list 2>/dev/null | awk 'NR > 1 && $5 ~ /c/ { print "domain " $2 " (" $1 ") is crashed: " $5 }'
    )
    [ -z "$crash" ] || printf '%s\n' "$crash" | sed 's/^/    # guest crash during the test: /' >>"$tap"
}
# ours_crash: sets $ours to the lines of a crashed guest's console (kept by
# on_crash=preserve) that put the crash inside our guest module, i.e. our light suspend
# path (its functions in the oops's RIP or call trace), and writes them into the TAP;
# such a crash is ours, never rerun.
ours_crash() {
    local d
    ours=""
    for d in $(timeout 30 xl list 2>/dev/null | awk 'NR > 1 && $5 ~ /c/ { print $1 }'); do
        ours="$ours$(timeout 6 xl console "$d" </dev/null 2>/dev/null | tr -d '\r' |
            grep -E '\[xlcp_guest\]|RIP: [0-9a-f]+:xlcp_' | head -n 4 | sed "s/^/$d: /")"
    done
    [ -z "$ours" ] || printf '%s\n' "$ours" | sed 's/^/    # crash inside our light suspend path: /' >>"$tap"
}

# run_one TEST LOG LIMIT: runs TEST under LIMIT seconds, its output in LOG; sets $msg to
# why it failed ("" if it passed) and $secs
# stamp T0 FILE: pass lines on; also write each to FILE after the seconds since T0 (where
# a test spends its time: logs/NAME.times)
stamp() {
    local t0=$1 f=$2 l t
    : >"$f"
    while IFS= read -r l; do
        printf -v t '%(%s)T' -1
        printf '%4d %s\n' $((t - t0)) "$l" >>"$f"
        printf '%s\n' "$l"
    done
}

run_one() {
    local t0 rc
    t0=$(date +%s)
    (cd "$here" && timeout -k 15 "$3" bash "$1") </dev/null 2>&1 | tee "$2" |
        stamp "$t0" "${2%.log}.times" | sed -u 's/^/XLCP-T| /'
    rc=${PIPESTATUS[0]}
    secs=$(($(date +%s) - t0))
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        msg="timed out after ${secs}s (limit ${3}s)"
    elif grep -q '^not ok' "$2"; then
        msg=$(grep -m1 '^not ok' "$2" | sed 's/^not ok [0-9]* *-* *//')
    elif [ "$rc" -ne 0 ]; then
        msg="exit status $rc"
    elif ! grep -q '^ok' "$2"; then
        msg="reported no result"
    else
        msg=""
    fi
    say "end $(basename "$1" .sh) rc=$rc ${secs}s"
}

# pool_damage: what LVM says is wrong with vg0/pool ("" if nothing): a test that leaves the
# shared pool's kernel and LVM transaction ids apart (or the pool over its threshold)
# would fail every later test's guest creation, so it fails itself instead.
pool_damage() {
    timeout 60 lvs --noheadings -o lv_name vg0/pool 2>&1 >/dev/null |
        grep -E -i 'transaction id|threshold|failed|error' | head -n 2 | tr -s ' \n' ' '
}

# leave a clean machine for the next test (or run)
clean_machine() {
    # shellcheck source=lib.sh
    (. "$here/lib.sh" && guest_destroy_all && lv_cleanup) >/dev/null 2>&1
    sync
}

pass=0
fail=0
i=0
xenlog=$results/xen-before.log
for t in "${tests[@]}"; do
    i=$((i + 1))
    n=$(basename "$t" .sh)
    limit=$(sed -n 's/^# timeout: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
    limit=${limit:-$XLCP_TEST_TIMEOUT}
    log=$results/$n.log
    timeout 30 xl dmesg >"$xenlog" 2>/dev/null
    say "start $n (limit ${limit}s)"
    run_one "$t" "$log" "$limit"
    sed 's/^/    /' "$log" >>"$tap"
    damage=$(pool_damage)
    [ -z "$damage" ] || [ -n "$msg" ] || msg="left vg0/pool damaged: $damage"
    note=""
    if [ -n "$msg" ]; then
        note_crash "$xenlog"
        ours=""
        [ -z "$crash" ] || ours_crash
        [ -z "$ours" ] || note="; the guest crashed inside our light suspend path: not run again"
        # A failure that came with a guest crash gets one more run on a clean machine: a
        # crash of our making comes back, the emulator's seldom does (one in 15-30 copies).
        # Never for a crash inside our module; a second crash in a row fails the test.
        if [ -n "$crash" ] && [ -z "$ours" ]; then
            first=$msg
            clean_machine
            mv "$log" "$results/$n.first.log"
            timeout 30 xl dmesg >"$xenlog" 2>/dev/null
            say "again $n: a guest crashed in its first run"
            echo "    # run again: a guest crashed in the first run, which failed with: $first" >>"$tap"
            run_one "$t" "$log" "$limit"
            sed 's/^/    /' "$log" >>"$tap"
            note="; second run: a guest crashed in the first ($(printf '%s' "$crash" | head -n 1 | tr -s ' '))"
            first_crash=$crash
            note_crash "$xenlog"
            if [ -n "$crash" ]; then
                ours_crash
                msg="a guest crashed in both runs in a row (first: $(printf '%s' "$first_crash" | head -n 1 | tr -s ' '); then: $(printf '%s' "$crash" | head -n 1 | tr -s ' '))${msg:+; $msg}"
            fi
        fi
    fi
    if [ -z "$msg" ]; then
        pass=$((pass + 1))
        tapline "ok $i - $n (${secs}s$note)"
    else
        fail=$((fail + 1))
        tapline "not ok $i - $n: $msg (${secs}s$note)"
    fi
    clean_machine
done
rm -f "$xenlog"
tapline "# $pass passed, $fail failed"
sync
[ $fail -eq 0 ] && [ ${#tests[@]} -gt 0 ]
