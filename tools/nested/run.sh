#!/bin/bash
# run.sh - runs the integration tests on real Xen booted under QEMU (TCG), or opens a
# shell in the nested dom0. Builds/finds the images (build-images.sh), packs a payload disk
# (staged install build/stage, tests/nested, the guest kernel + initramfs with the agent),
# makes a sparse data disk for LVM, boots Xen + dom0, and collects TAP results.
#
# Usage: run.sh [--shell] [--timeout SECS] [PATTERN...]
#   PATTERN / XLCP_NESTED_TESTS   only tests whose name contains one of them (e.g. t10)
#   XLCP_NESTED_TIMEOUT           whole-run limit in seconds (default 4800); QEMU is killed
#   XLCP_TEST_TIMEOUT             default per-test limit inside dom0 (default 600)
#   XLCP_CACHE                    image cache (default ~/.cache/xl-checkpoint)
#   XLCP_NESTED_WAIT              seconds to wait for another nested run (default 0)
#   XLCP_BOOT_TIMEOUT             limit for Xen + dom0 to reach the harness (default 600)
#   XLCP_GUEST_MODULES            extra .ko files for the guest (/lib/xlcp/extra/), besides
#                                 build/guest-kernel/*.ko and guest-kernel/*.ko
# Output: build/nested/results.tap, build/nested/serial.log (everything QEMU's serial port
# printed: Xen, dom0 kernel and the harness), build/nested/logs/<test>.log.
# Exit status: 0 only if every selected test passed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

mode="test"
limit=${XLCP_NESTED_TIMEOUT:-4800}
patterns=${XLCP_NESTED_TESTS:-}
while [ $# -gt 0 ]; do
    case "$1" in
    --shell) mode=shell ;;
    --timeout) limit=$2; shift ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) patterns="$patterns $1" ;;
    esac
    shift
done
[ "$mode" = shell ] && limit=${XLCP_NESTED_TIMEOUT:-14400}

out=$top/build/nested
mkdir -p "$out"
log() { echo "nested: $*" >&2; }

# One nested QEMU at a time on this machine, whatever checkout it comes from (two on 2
# cores slow each other down and time out). XLCP_NESTED_WAIT: seconds to wait for the
# other run (default 0: fail at once).
# Waiters are served in the order they came (flock alone wakes one at random, and a run
# can starve behind later ones): each takes a ticket (a file named by its arrival time and
# pid in $lock.queue) and only tries the lock when no older live ticket is left.
lock=${XLCP_NESTED_LOCK:-/var/tmp/xl-checkpoint-nested.lock}
exec 9>"$lock"
if ! flock -n 9; then
    wait_s=${XLCP_NESTED_WAIT:-0}
    if [ "$wait_s" -le 0 ]; then
        log "ERROR: another nested run holds $lock; wait for it to finish (or set XLCP_NESTED_WAIT)"
        exit 1
    fi
    queue=$lock.queue
    mkdir -p "$queue"
    ticket=$queue/$(date +%s%N).$$
    : >"$ticket"
    trap 'rm -f "$ticket"' EXIT
    log "waiting up to ${wait_s}s for other nested runs ($lock), in arrival order"
    deadline=$(($(date +%s) + wait_s))
    got=0
    while [ "$(date +%s)" -lt "$deadline" ]; do
        ahead=0
        for t in "$queue"/*; do
            [ "$t" = "$ticket" ] && break
            [ -e "$t" ] || continue
            if kill -0 "${t##*.}" 2>/dev/null; then ahead=$((ahead + 1)); else rm -f "$t"; fi
        done
        if [ "$ahead" -eq 0 ] && flock -w 5 9; then
            got=1
            break
        fi
        [ "$ahead" -eq 0 ] || sleep 5
    done
    rm -f "$ticket"
    if [ "$got" = 0 ]; then
        log "ERROR: waited ${wait_s}s; another nested run still holds $lock"
        exit 1
    fi
fi
avail_mb=$(df --output=avail -BM "$out" | tail -1 | tr -dc 0-9)
if [ "$avail_mb" -lt 3000 ]; then
    log "ERROR: only ${avail_mb} MiB free under $out; a run needs about 3000 MiB (payload, \
sparse data disk, and QEMU's overlay of the dom0 image in ${TMPDIR:-/var/tmp})"
    exit 1
fi

# ---- images --------------------------------------------------------------------------
images=$("$here/images.sh" | tail -n 1)
[ -f "$images/.complete" ] || { log "ERROR: no images in $images"; exit 1; }

# ---- payload -------------------------------------------------------------------------
t_start=$(date +%s)
rm -rf "$out/payload" "$out/results.tap" "$out/logs" "$out/payload.img" "$out/data.img"
pl=$out/payload
mkdir -p "$pl/tests" "$pl/guest" "$pl/results" "$pl/stage"
if [ -d "$top/build/stage" ]; then
    cp -a "$top/build/stage/." "$pl/stage/"
else
    log "WARNING: no build/stage (run 'make stage'): the payload carries no xl-checkpoint"
fi
# the Debian packages (make deb-build) and the example program (make examples), for t80-deb
if ls "$top"/build/deb/*.deb >/dev/null 2>&1; then
    mkdir -p "$pl/deb"
    for f in "$top"/build/deb/*.deb; do
        case $f in *-dbgsym_*) ;; *) cp "$f" "$pl/deb/" ;; esac
    done
fi
if [ -x "$top/build/examples/backup" ]; then
    mkdir -p "$pl/examples"
    cp "$top/build/examples/backup" "$pl/examples/"
fi
cp -a "$top/tests/nested" "$pl/tests/nested"
cp "$images/guest-vmlinuz" "$pl/guest/vmlinuz"
# guest initramfs = cached base + an overlay with the agent and any extra guest modules
ov=$out/guest-overlay
rm -rf "$ov"
mkdir -p "$ov/lib/xlcp/extra"
install -m 0755 "$top/tests/nested/guest/init" "$ov/init"
# shellcheck disable=SC2086
for ko in "$top"/build/guest-kernel/*.ko "$top"/guest-kernel/*.ko ${XLCP_GUEST_MODULES:-}; do
    [ -f "$ko" ] && cp "$ko" "$ov/lib/xlcp/extra/"
done
mkdir -p "$ov/usr/bin"
# guest programs: tests/nested/guest/NAME.c -> /usr/bin/xlcp-NAME (static)
for src in "$top"/tests/nested/guest/*.c; do
    prog=xlcp-$(basename "$src" .c)
    if command -v gcc >/dev/null; then
        gcc -std=c11 -O2 -Wall -static -o "$ov/usr/bin/$prog" "$src" ||
            log "WARNING: cannot build the guest program $prog"
    else
        log "WARNING: no gcc: the guest has no $prog"
    fi
done
# dom0 test programs: tests/nested/dom0/NAME.c -> payload bin/xlcp-NAME, linked against the
# host's libxenctrl (the same Xen build as nested dom0's; see versions.env)
mkdir -p "$pl/bin"
for src in "$top"/tests/nested/dom0/*.c; do
    [ -f "$src" ] || continue
    prog=xlcp-$(basename "$src" .c)
    gcc -std=gnu11 -O2 -Wall -o "$pl/bin/$prog" "$src" -lxenctrl ||
        log "WARNING: cannot build the dom0 program $prog"
done
{
    cat "$images/guest-base.cpio.gz"
    (cd "$ov" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -n
} >"$pl/guest/initrd.img"
{
    echo "XLCP_NESTED_TESTS=\"$(echo $patterns)\""
    echo "XLCP_TEST_TIMEOUT=${XLCP_TEST_TIMEOUT:-600}"
    echo "XLCP_NESTED_GLOB='${XLCP_NESTED_GLOB:-[td][0-9]*.sh}'"
    echo "XLCP_IMAGES_DIGEST=$(basename "$images")"
    # the benchmarks' and the stress tests' knobs, passed on when set
    for v in XLCP_SUITE XLCP_BENCH_REPS XLCP_BENCH_CONFIGS XLCP_B20_PATHS XLCP_T56_SAVES XLCP_T56_BUDGET \
        XLCP_NESTED_INSTALL; do
        if [ -n "${!v:-}" ]; then printf "export %s=%q\n" "$v" "${!v}"; fi
    done
} >"$pl/config.env"
cp "$images/manifest.env" "$pl/images-manifest.env"
pl_mb=$(($(du -sm "$pl" | cut -f1) + 256))
mkfs.ext4 -q -F -L xlcp-payload -d "$pl" "$out/payload.img" "${pl_mb}M" >/dev/null
rm -rf "$pl" "$ov" # all of it is in payload.img now
truncate -s "$DATA_DISK_SIZE" "$out/data.img"

# ---- boot ----------------------------------------------------------------------------
xen_args="console=com1 com1=115200,8n1 dom0_mem=1536M,max:1536M loglvl=all guest_loglvl=all"
xen_args="$xen_args noreboot smap=0 smep=0"
dom0_args="root=/dev/vda rw console=hvc0 loglevel=5"
if [ "$mode" = shell ]; then
    dom0_args="$dom0_args xlcp.mode=shell"
else
    dom0_args="$dom0_args systemd.mask=serial-getty@hvc0.service"
fi
# Disks: under Xen's PV dom0 on QEMU, two virtio-blk devices that share a PCI INTx line
# (i440fx: slots 3 and 4 route to different links, IRQ 11 and 10) hang dom0's boot: so at
# most these two on virtio, at fixed slots; the payload rides on the PIIX IDE (ISA IRQ 14).
# CPU: -smap,-smep (else dom0 dies at once, see shared/NESTED-XEN.md). -xsave (and AVX,
# which needs it): with XSAVE, programs in the guest and dom0 now and then crashed or
# computed garbage (busybox segfaults, empty base64 output, zlib "inflate failed" in
# xl create) - register state apparently not kept across Xen's context switches under
# TCG; without XSAVE, Xen falls back to FXSAVE.
# shellcheck disable=SC2054
qemu=(qemu-system-x86_64 -accel "${XLCP_QEMU_ACCEL:-tcg}" -cpu "${XLCP_QEMU_CPU:-max,-smap,-smep,-xsave,-avx,-avx2}" -m 3072 -smp 2 -no-reboot -nodefaults
    -kernel "$images/xen.elf" -append "$xen_args"
    -initrd "$images/dom0-vmlinuz $dom0_args,$images/dom0-initrd.img"
    -drive "file=$images/dom0.img,if=none,id=root,format=raw,snapshot=on"
    -device virtio-blk-pci,drive=root,addr=0x3
    -drive "file=$out/data.img,if=none,id=data,format=raw,cache=unsafe"
    -device virtio-blk-pci,drive=data,serial=xlcp-data,addr=0x4
    -drive "file=$out/payload.img,if=ide,index=0,format=raw"
    -net none)

serial=$out/serial.log
rm -f "$serial" "$out/qemu.pid"
if [ "$mode" = shell ]; then
    log "dom0 shell: root on the console once booted (~1-2 min); quit with Ctrl-a x"
    log "serial output is also logged to $serial"
    set +e
    timeout -k 10 "$limit" "${qemu[@]}" -display none -serial mon:stdio \
        -pidfile "$out/qemu.pid" | tee "$serial"
    rc=${PIPESTATUS[0]}
    rm -f "$out/qemu.pid" "$out/data.img"
    exit "$rc"
fi

log "booting Xen + dom0 under QEMU (TCG), run limit ${limit}s, tests: ${patterns:-all}"
timeout -k 10 "$limit" "${qemu[@]}" -display none -monitor none -serial "file:$serial" \
    -pidfile "$out/qemu.pid" </dev/null &
tpid=$!
# live progress on our stdout: the harness's own lines only
(
    for _ in $(seq 1 50); do [ -f "$serial" ] && break; sleep 0.2; done
    tail -n +1 -F --pid=$tpid "$serial" 2>/dev/null |
        grep -a --line-buffered -E '^XLCP-|XEN\) .*(Panic|crash)' |
        sed -u -e 's/\r$//' -e 's/^XLCP-TAP: //' -e 's/^XLCP-T| /    /' -e 's/^/  | /'
) &
viewer=$!

qemu_pid() { cat "$out/qemu.pid" 2>/dev/null || true; }
# whatever happens to this script, QEMU and the viewer do not outlive it
stop_all() {
    local p
    set +e
    p=$(qemu_pid)
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
        kill "$p" 2>/dev/null
        sleep 2
        kill -9 "$p" 2>/dev/null
    fi
    kill "$viewer" 2>/dev/null
    rm -f "$out/qemu.pid"
}
trap 'rc=$?; stop_all; exit $rc' EXIT
trap 'exit 130' INT TERM
done_seen=""
boot_wall=""
boot_limit=${XLCP_BOOT_TIMEOUT:-600}
stuck=""
cur_line=""
cur_seen=0
cur_limit=""
t_qemu=$(date +%s)
early=""
timed_out=0
while kill -0 $tpid 2>/dev/null; do
    [ -f "$serial" ] || { sleep 1; continue; }
    if [ -z "$boot_wall" ] && grep -q 'XLCP-BOOT' "$serial" 2>/dev/null; then
        boot_wall=$(($(date +%s) - t_qemu))
    fi
    if [ -z "$done_seen" ] && grep -q 'XLCP-DONE' "$serial" 2>/dev/null; then
        done_seen=$(date +%s)
    fi
    # dom0 cannot get going: no point waiting for the time limit
    if [ -z "$early" ] && fatal=$(tr -d '\r' <"$serial" 2>/dev/null | grep -m1 -E \
        'Dropping to a shell|Kernel panic|Hardware Dom0 crashed|XLCP-FATAL|Panic on CPU'); then
        early="$fatal"
        log "ERROR: nested boot failed: $fatal"
        p=$(qemu_pid)
        sleep 5
        [ -n "$p" ] && kill "$p" 2>/dev/null
        break
    fi
    # per-step watchdogs on the host: dom0 must reach the harness, and a test must end
    # (dom0 kills a test at its limit; if it does not, dom0 itself is stuck or dead)
    if [ -z "$boot_wall" ] && [ $(($(date +%s) - t_qemu)) -gt "$boot_limit" ]; then
        stuck="Xen/dom0 did not reach the harness within ${boot_limit}s"
    fi
    last=$(tr -d '\r' <"$serial" | grep -a -E '^XLCP-PROGRESS: (start|end) ' | tail -n 1 || true)
    case "$last" in
    "XLCP-PROGRESS: start "*)
        if [ "$last" != "$cur_line" ]; then
            cur_line=$last
            cur_seen=$(date +%s)
            cur_limit=$(echo "$last" | sed -n 's/.*(limit \([0-9]*\)s).*/\1/p')
        fi
        n=$(echo "$last" | awk '{ print $3 }')
        if [ $(($(date +%s) - cur_seen)) -gt $((${cur_limit:-600} + 180)) ]; then
            stuck="test $n still running $((${cur_limit:-600} + 180))s after it started \
(its limit is ${cur_limit:-600}s): dom0 is stuck"
        fi
        ;;
    esac
    if [ -n "$stuck" ]; then
        log "ERROR: $stuck; stopping QEMU"
        p=$(qemu_pid)
        [ -n "$p" ] && kill "$p" 2>/dev/null
        break
    fi
    # dom0 said it is done but the machine did not power off: stop it ourselves
    # (Xen halts rather than powers off after dom0's poweroff -f; the payload is unmounted)
    if [ -n "$done_seen" ] && [ $(($(date +%s) - done_seen)) -gt 5 ]; then
        p=$(qemu_pid)
        [ -n "$p" ] && kill "$p" 2>/dev/null
        break
    fi
    sleep 2
done
set +e
wait $tpid
rc=$?
set -e
# QEMU may have powered off before the loop saw the last lines
grep -q 'XLCP-DONE' "$serial" 2>/dev/null && [ -z "$done_seen" ] && done_seen=$(date +%s)
if [ -z "$done_seen" ] && [ -z "$early" ] && { [ $rc -eq 124 ] || [ $rc -eq 137 ]; }; then
    timed_out=1
fi
# never leave QEMU behind
p=$(qemu_pid)
if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null || true
    sleep 2
    kill -9 "$p" 2>/dev/null || true
fi
sleep 1
kill $viewer 2>/dev/null || true
wait $viewer 2>/dev/null || true
rm -f "$out/qemu.pid"
t_total=$(($(date +%s) - t_start))

# ---- results -------------------------------------------------------------------------
res=$out/results.tap
rm -f "$res"
if [ -n "$done_seen" ]; then # the payload was unmounted cleanly
    debugfs -R "dump /results/results.tap $res" "$out/payload.img" >/dev/null 2>&1 || true
    mkdir -p "$out/logs"
    debugfs -R "rdump /results $out/logs" "$out/payload.img" >/dev/null 2>&1 || true
    [ -d "$out/logs/results" ] && mv "$out/logs/results/"* "$out/logs/" 2>/dev/null &&
        rmdir "$out/logs/results"
fi
if [ ! -s "$res" ]; then
    # no disk results (timeout, crash): use what the harness printed on the console
    tr -d '\r' <"$serial" 2>/dev/null | sed -n 's/^XLCP-TAP: //p' >"$res" || true
fi
boot_s=$(tr -d '\r' <"$serial" 2>/dev/null | sed -n 's/.*XLCP-BOOT: dom0 reached the harness after \([0-9.]*\)s.*/\1/p' | head -n 1)

status=0
# what went wrong outside the tests becomes an unnumbered "not ok" line
if [ -n "$stuck" ]; then
    log "ERROR: $stuck (QEMU stopped; see $serial)"
    echo "not ok - ${stuck}" >>"$res"
fi
if [ -n "$early" ]; then
    log "ERROR: nested Xen/dom0 failed: $early (QEMU stopped; see $serial)"
    echo "not ok - nested Xen/dom0 failed: $early" >>"$res"
fi
if [ $timed_out = 1 ]; then
    running=$(tr -d '\r' <"$serial" | sed -n 's/^XLCP-PROGRESS: start \([^ ]*\).*/\1/p' | tail -n 1)
    ended=$(tr -d '\r' <"$serial" | sed -n 's/^XLCP-PROGRESS: end \([^ ]*\).*/\1/p' | tail -n 1)
    if [ -n "$running" ] && [ "$running" != "$ended" ]; then
        log "ERROR: timed out after ${limit}s while test $running was running (QEMU killed)"
        echo "not ok - $running: timed out (whole-run limit ${limit}s reached)" >>"$res"
    else
        log "ERROR: timed out after ${limit}s (QEMU killed); no test was running: boot or setup stuck?"
        echo "not ok - timed out after ${limit}s with no test running (boot or setup)" >>"$res"
    fi
fi
npass=$(grep -c '^ok [0-9]' "$res" 2>/dev/null || true)
nfail=$(grep -c '^not ok [0-9]' "$res" 2>/dev/null || true)
extra=$(grep -c '^not ok - ' "$res" 2>/dev/null || true)
plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$res" 2>/dev/null | head -n 1)
missing=$((${plan:-0} - npass - nfail))
[ "$missing" -gt 0 ] || missing=0
if [ -z "$plan" ] || [ $((npass + nfail + extra)) -eq 0 ]; then
    log "ERROR: no results came back from nested dom0; last lines of $serial:"
    tr -d '\r' <"$serial" 2>/dev/null | tail -n 30 >&2 || log "(QEMU wrote no serial log: did it start?)"
    status=1
elif [ "$missing" -gt 0 ]; then
    log "ERROR: only $((npass + nfail)) of $plan test results came back"
fi
[ "$missing" -gt "$extra" ] && extra=$missing
nfail=$((nfail + extra))
[ "$nfail" -gt 0 ] && status=1
echo "---- nested results ($res) ----"
cat "$res" 2>/dev/null || true
echo "---- end ----"
grep '^not ok ' "$res" 2>/dev/null | sed 's/^/nested: FAILED: /' >&2 || true
rm -f "$out/data.img"
log "run took ${t_total}s; Xen + dom0 boot to the harness: ${boot_wall:-?}s wall (${boot_s:-?}s dom0 uptime)"
log "serial log: $serial"
echo "nested: $npass passed, $nfail failed"
exit $status
