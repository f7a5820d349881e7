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
# its own with a "# timeout: SECS" line).
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
XLCP_NESTED_GLOB='t[0-9]*.sh' # tests; benchmarks are b[0-9]*.sh (make bench)
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
    if [ -d "$XLCP_STAGE" ] && [ -n "$(ls -A "$XLCP_STAGE" 2>/dev/null)" ]; then
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
pass=0
fail=0
i=0
for t in "${tests[@]}"; do
    i=$((i + 1))
    n=$(basename "$t" .sh)
    limit=$(sed -n 's/^# timeout: *\([0-9][0-9]*\).*/\1/p' "$t" | head -n 1)
    limit=${limit:-$XLCP_TEST_TIMEOUT}
    log=$results/$n.log
    say "start $n (limit ${limit}s)"
    t0=$(date +%s)
    (cd "$here" && timeout -k 15 "$limit" bash "$t") </dev/null 2>&1 | tee "$log" | sed -u 's/^/XLCP-T| /'
    rc=${PIPESTATUS[0]}
    secs=$(($(date +%s) - t0))
    sed 's/^/    /' "$log" >>"$tap"
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        msg="timed out after ${secs}s (limit ${limit}s)"
    elif grep -q '^not ok' "$log"; then
        msg=$(grep -m1 '^not ok' "$log" | sed 's/^not ok [0-9]* *-* *//')
    elif [ $rc -ne 0 ]; then
        msg="exit status $rc"
    elif ! grep -q '^ok' "$log"; then
        msg="reported no result"
    else
        msg=""
    fi
    if [ -z "$msg" ]; then
        pass=$((pass + 1))
        tapline "ok $i - $n (${secs}s)"
    else
        fail=$((fail + 1))
        tapline "not ok $i - $n: $msg (${secs}s)"
    fi
    say "end $n rc=$rc ${secs}s"
    # leave a clean machine for the next test
    # shellcheck source=lib.sh
    (. "$here/lib.sh" && guest_destroy_all && lv_cleanup) >/dev/null 2>&1
    sync
done
tapline "# $pass passed, $fail failed"
sync
[ $fail -eq 0 ] && [ ${#tests[@]} -gt 0 ]
