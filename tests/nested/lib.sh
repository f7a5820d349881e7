# lib.sh - helpers for the integration tests that run inside nested dom0 (sourced by each
# tests/nested/tNN-*.sh; run-tests.sh has prepared the machine: Xen daemons up, VG vg0
# with thin pool vg0/pool on the data disk, back-end modules loaded, the staged install
# copied into /). Tests print TAP: ok / not_ok / skip / diag, and end with done_testing.
#
#   guest_start NAME [DISK...]    (XLCP_GUEST_TYPE=pvh for a PVH guest; default pv)
#   guest_start NAME [DISK...]    DISK = thick:SIZE | thin:SIZE | raw:DEVICE | none
#                                 (default thick:256M)
#                                 LVs are vg0/NAME-d0, -d1, ... as xvda, xvdb, ...
#                                 (hotplug: dom0/xlcp-block.sh; XLCP_STOCK_HOTPLUG=1: Xen's)
#                                 XLCP_GUEST_VIF="bridge=BR,mac=MAC": a network interface
#                                 too (hotplug: dom0/xlcp-vif.sh); net_bridge BR makes BR
#   guest_wait_ready NAME [SECS]  wait until the guest agent reports in xenstore
#   guest_counter NAME            the agent's liveness counter (~1/s)
#   guest_wait_counter NAME MIN [SECS]   wait until counter > MIN, print it
#   guest_run NAME CMD [SECS]     run a shell script in the guest, print its output,
#                                 return its exit status (output: its last 1400 bytes)
#   guest_console NAME            what the guest printed on its console so far
#   guest_probe_start NAME [MS], guest_probe_max NAME, guest_probe_gaps NAME
#                                 guest-seen downtime (CLOCK_BOOTTIME gaps above MS)
#   guest_probes_start NAME [DEV...], guest_probes_read NAME [DEV...]
#                                 gap probe + O_DIRECT write-stall probes, read at once
#   domwatch_start NAME, domwatch_stop   Xen's view: how long the domain was stopped
#   guest_domid NAME, guest_xspath NAME (its data/xlcp-test path in xenstore)
#   guest_destroy NAME, guest_destroy_all, lv_cleanup [NAME]
#   watchdog SECS CMD...          run CMD with a time limit, say where it got stuck
#   lvm_run CMD...                an LVM command under the watchdog (XLCP_LVM_TIMEOUT, 180 s)
#   ok DESC | not_ok DESC [WHY] | skip DESC [WHY] | diag TEXT | check DESC CMD... | done_testing
#   now (seconds, float), elapsed T0 (seconds since T0, 1 decimal)

# shellcheck shell=bash
XL=${XL:-/usr/sbin/xl} # the stock xl (the staged dispatcher may shadow `xl` in PATH)
VG=${VG:-vg0}
XLCP_PAYLOAD=${XLCP_PAYLOAD:-/mnt/payload}
XLCP_GUEST_KERNEL=${XLCP_GUEST_KERNEL:-$XLCP_PAYLOAD/guest/vmlinuz}
XLCP_GUEST_INITRD=${XLCP_GUEST_INITRD:-$XLCP_PAYLOAD/guest/initrd.img}
XLCP_RUN=${XLCP_RUN:-/run/xlcp}
XLCP_LVM_TIMEOUT=${XLCP_LVM_TIMEOUT:-180}
XLCP_GUEST_MEMORY_DEFAULT=128 # MiB (guest_start)
# Where the xl-checkpoint under test is installed (run-tests.sh): the staged `make install`
# copied into / (PREFIX /usr/local), or the Debian packages (XLCP_NESTED_INSTALL=deb: /usr)
if [ "${XLCP_NESTED_INSTALL:-stage}" = deb ]; then
    XLCP_PREFIX=/usr XLCP_UNITDIR=/lib/systemd/system
else
    XLCP_PREFIX=/usr/local XLCP_UNITDIR=/usr/local/lib/systemd/system
fi
XLCP_LIBEXEC=$XLCP_PREFIX/libexec/xl-checkpoint
XLCP_DATADIR=$XLCP_PREFIX/share/xl-checkpoint
mkdir -p "$XLCP_RUN"
# The disks guest_start makes are attached by a light hotplug script (dom0/xlcp-block.sh:
# Xen's stock block script costs several seconds per disk under emulation), installed where
# libxl can execute it (/run is noexec in dom0); XLCP_STOCK_HOTPLUG=1 keeps Xen's own.
XLCP_BLOCK_SCRIPT=/var/tmp/xlcp-block
if [ "${XLCP_STOCK_HOTPLUG:-0}" != 1 ] && [ -f "$(dirname "${BASH_SOURCE[0]}")/dom0/xlcp-block.sh" ]; then
    cmp -s "$(dirname "${BASH_SOURCE[0]}")/dom0/xlcp-block.sh" "$XLCP_BLOCK_SCRIPT" ||
        install -m 0755 "$(dirname "${BASH_SOURCE[0]}")/dom0/xlcp-block.sh" "$XLCP_BLOCK_SCRIPT"
else
    XLCP_BLOCK_SCRIPT=""
fi
# The same for network interfaces (dom0/xlcp-vif.sh), when a test gives its guests a vif
# (XLCP_GUEST_VIF="bridge=BR,mac=MAC": guest_start adds script=; net_bridge BR makes BR).
XLCP_VIF_SCRIPT=/var/tmp/xlcp-vif
if [ -f "$(dirname "${BASH_SOURCE[0]}")/dom0/xlcp-vif.sh" ]; then
    cmp -s "$(dirname "${BASH_SOURCE[0]}")/dom0/xlcp-vif.sh" "$XLCP_VIF_SCRIPT" ||
        install -m 0755 "$(dirname "${BASH_SOURCE[0]}")/dom0/xlcp-vif.sh" "$XLCP_VIF_SCRIPT"
fi

# ---- TAP ---------------------------------------------------------------------------------
_tap_n=0
_tap_fail=0
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
ok() {
    _tap_n=$((_tap_n + 1))
    echo "ok $_tap_n - $1"
}
not_ok() {
    _tap_n=$((_tap_n + 1))
    _tap_fail=$((_tap_fail + 1))
    echo "not ok $_tap_n - $1"
    [ $# -lt 2 ] || diag "$2"
    return 0
}
skip() {
    _tap_n=$((_tap_n + 1))
    echo "ok $_tap_n - $1 # SKIP ${2:-}"
}
# check DESC CMD... : ok if CMD succeeds, else not_ok with the tail of its output
check() {
    local desc=$1 out rc
    shift
    out=$("$@" 2>&1)
    rc=$?
    if [ $rc -eq 0 ]; then
        ok "$desc"
    else
        not_ok "$desc" "exit $rc from: $*
$(printf '%s\n' "$out" | tail -n 8)"
    fi
    return $rc
}
# bail DESC [WHY]: record a failure and stop this test (cleanup is run-tests.sh's job)
bail() {
    not_ok "$@"
    done_testing
    exit 1
}
done_testing() {
    echo "1..$_tap_n"
    [ "$_tap_fail" -eq 0 ]
}

now() { date +%s.%N; }
# quiet_dom0: let what the last operation started in dom0 finish (udev's work on volumes
# created or removed, dirty pages of deleted images) before the next is timed
quiet_dom0() {
    udevadm settle --timeout=60 2>/dev/null
    sync
}
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- watchdogs -----------------------------------------------------------------------
# watchdog SECS CMD... : like timeout, but on expiry says what was stuck and where
watchdog() {
    local secs=$1 rc
    shift
    timeout -k 10 "$secs" "$@"
    rc=$?
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        diag "WATCHDOG: '$*' did not finish within ${secs}s"
        diag "$(ps -eo pid,stat,wchan:24,etimes,args --sort=start_time | tail -n 15)"
    fi
    return $rc
}
lvm_run() { watchdog "$XLCP_LVM_TIMEOUT" "$@"; }

# ---- xenstore --------------------------------------------------------------------------
guest_domid() { "$XL" domid "$1" 2>/dev/null; }
guest_xspath() {
    local id
    id=$(guest_domid "$1") || return 1
    echo "/local/domain/$id/data/xlcp-test"
}

# ---- guests ----------------------------------------------------------------------------
_letters=abcdefghijklmnop
# guest_start NAME [DISK...]  (XLCP_GUEST_TYPE pv|pvh, XLCP_GUEST_MEMORY MiB (default
# XLCP_GUEST_MEMORY_DEFAULT, 128: what most tests check does not depend on the size, and a
# smaller guest is a shorter copy and restore, i.e. the suite's time; but with 64 MiB
# Debian's kernel does not fit ("xc_dom_chk_alloc_pages: segment kernel too large") and
# with 96 MiB a PVH guest runs out of memory unpacking its initramfs and a PV guest's
# gzip of 4 MB is OOM-killed; the benchmarks and tests whose bounds assume a longer copy
# set 256), and
# XLCP_GUEST_EXTRA: more kernel parameters, e.g. panic=1)
guest_start() {
    local name=$1 i=0 spec kind size lv target disks="" cfg out rc try
    shift
    [ $# -gt 0 ] || set -- thick:256M
    for spec in "$@"; do
        kind=${spec%%:*}
        size=${spec#*:}
        lv=$name-d$i
        case "$kind" in
        none) continue ;;
        raw) lv="" ;; # an existing block device, e.g. a loop device: raw:/dev/loop0
        thick) lvm_run lvcreate -q -y -W y -L "$size" -n "$lv" "$VG" >/dev/null || {
            diag "guest_start: lvcreate $VG/$lv ($size) failed"
            return 1
        } ;;
        thin) lvm_run lvcreate -q -y -W y -V "$size" -T "$VG/pool" -n "$lv" >/dev/null || {
            diag "guest_start: thin lvcreate $VG/$lv ($size) failed"
            return 1
        } ;;
        *)
            diag "guest_start: bad disk spec $spec"
            return 1
            ;;
        esac
        target=/dev/$VG/$lv
        [ "$kind" = raw ] && target=$size
        disks="$disks'format=raw, vdev=xvd${_letters:$i:1}, access=rw,${XLCP_BLOCK_SCRIPT:+ script=$XLCP_BLOCK_SCRIPT,} target=$target', "
        i=$((i + 1))
    done
    cfg=$XLCP_RUN/$name.cfg
    cat >"$cfg" <<EOF
name = "$name"
type = "${XLCP_GUEST_TYPE:-pv}"
kernel = "$XLCP_GUEST_KERNEL"
ramdisk = "$XLCP_GUEST_INITRD"
extra = "console=hvc0 loglevel=4${XLCP_GUEST_EXTRA:+ $XLCP_GUEST_EXTRA}"
memory = ${XLCP_GUEST_MEMORY:-$XLCP_GUEST_MEMORY_DEFAULT}
vcpus = 1
disk = [ ${disks%, } ]
on_crash = "preserve"
EOF
    [ -n "${XLCP_GUEST_VIF:-}" ] && echo "vif = [ '$XLCP_GUEST_VIF, script=$XLCP_VIF_SCRIPT' ]" >>"$cfg"
    # PVH under TCG: QEMU's SVM reports RDTSCP exits as RDTSC and has no NRIP, so Xen's
    # TSC emulation fails on the guest's first rdtscp ("SVM Insn len emulation failed")
    # and the guest hangs. Native TSC mode does not intercept it.
    [ "${XLCP_GUEST_TYPE:-pv}" = pvh ] && echo 'tsc_mode = "native"' >>"$cfg"
    for try in 1 2; do
        out=$(watchdog 240 "$XL" create "$cfg" 2>&1)
        rc=$?
        [ $rc -eq 0 ] && return 0
        diag "guest_start: xl create $name failed (try $try, exit $rc):"
        diag "$(printf '%s\n' "$out" | tail -n 6)"
        "$XL" destroy "$name" >/dev/null 2>&1
        printf '%s' "$out" | grep -qiE 'timeout|hotplug' || break
    done
    return 1
}

# net_bridge BR: a dom0 bridge BR, up, with the back end driver for guests' vifs loaded
# (guests on it reach each other; dom0 has no address on it)
net_bridge() {
    modprobe xen-netback 2>/dev/null
    ip link show dev "$1" >/dev/null 2>&1 || ip link add "$1" type bridge || return 1
    ip link set dev "$1" up
}

# guest_wait_ready NAME [SECS]
guest_wait_ready() {
    local name=$1 limit=${2:-180} t0 p
    t0=$(date +%s)
    while [ $(($(date +%s) - t0)) -lt "$limit" ]; do
        p=$(guest_xspath "$name") &&
            [ "$(xenstore-read "$p/ready" 2>/dev/null)" = 1 ] && return 0
        sleep 1
    done
    diag "guest_wait_ready: $name not ready after ${limit}s; its console:"
    diag "$(guest_console "$name" | tail -n 20)"
    return 1
}

guest_counter() {
    local p
    p=$(guest_xspath "$1") || return 1
    xenstore-read "$p/counter" 2>/dev/null
}

# guest_wait_counter NAME MIN [SECS]: wait until the counter exceeds MIN; print it
guest_wait_counter() {
    local name=$1 min=$2 limit=${3:-60} t0 p c
    t0=$(date +%s)
    p=$(guest_xspath "$name") || return 1
    while [ $(($(date +%s) - t0)) -lt "$limit" ]; do
        c=$(xenstore-read "$p/counter" 2>/dev/null)
        if [ -n "$c" ] && [ "$c" -gt "$min" ]; then
            echo "$c"
            return 0
        fi
        sleep 1
    done
    echo "${c:-none}"
    return 1
}

# guest_run NAME CMD [SECS]: prints the command's output, returns its exit status
# (255 if the guest did not answer in time). Protocol: see tests/nested/guest/init.
guest_run() {
    local name=$1 cmd=$2 limit=${3:-120} p seq t0 ans rest rc
    p=$(guest_xspath "$name") || {
        diag "guest_run: no domain $name"
        return 255
    }
    # One counter for every guest: a guest restored from a checkpoint remembers the last
    # request its original answered, and ignores a new one that bears the same number.
    seq=$(($(cat "$XLCP_RUN/request.seq" 2>/dev/null || echo 0) + 1))
    echo "$seq" >"$XLCP_RUN/request.seq"
    xenstore-write "$p/cmd" "$seq $(printf '%s\n' "$cmd" | base64 -w 0)" || {
        diag "guest_run: cannot write to $p"
        return 255
    }
    t0=$(date +%s)
    while [ $(($(date +%s) - t0)) -lt "$limit" ]; do
        ans=$(xenstore-read "$p/out" 2>/dev/null)
        if [ "${ans%% *}" = "$seq" ]; then
            rest=${ans#* }
            rc=${rest%% *}
            case "$rest" in
            *" "*) printf '%s' "${rest#* }" | base64 -d 2>/dev/null ;;
            esac
            return "${rc:-255}"
        fi
        sleep 0.5
    done
    diag "guest_run: $name gave no answer to '$cmd' within ${limit}s; its console ends:"
    diag "$(guest_console "$name" | tail -n 8)"
    return 255
}

# Downtime probe (guest/gapprobe.c, CLOCK_BOOTTIME, 10 ms ticks): gaps above a threshold
# are logged in the guest. guest_probe_start NAME [THRESHOLD_MS [fifo]] (default 100)
# (re)starts it with an empty log (fifo: real-time priority, see gapprobe.c);
# guest_probe_max NAME prints the largest gap in ms (of all, the 10 ms tick included);
# guest_probe_gaps NAME prints "<boottime s> <gap ms>" lines.
guest_probe_start() {
    guest_run "$1" "killall xlcp-gapprobe 2>/dev/null; rm -f /run/gaps.log /run/gaps.log.max
xlcp-gapprobe /run/gaps.log ${2:-100} ${3:-} </dev/null >/dev/null 2>&1 &
echo started" >/dev/null
}
guest_probe_max() { guest_run "$1" 'cat /run/gaps.log.max 2>/dev/null || echo 0'; }
guest_probe_gaps() { guest_run "$1" 'cat /run/gaps.log 2>/dev/null'; }

# All the guest's probes at once (one round trip each way), for the benchmarks:
# guest_probes_start NAME [DEV...] (re)starts, with empty logs, the gap probe and one
# write-stall probe (guest/iowprobe.c: O_DIRECT 4 KiB writes every 10 ms, each timed)
# per DEV (xvda, xvdb: their first MiB is overwritten), all SCHED_FIFO, threshold 20 ms;
# fails unless every one of them still runs a second later.
# guest_probes_read NAME [DEV...] prints "GAP IO_DEV1 IO_DEV2 ..." (ms, the largest since
# the start): "null" for a probe that stopped (a write failed) or has no reading.
guest_probes_start() {
    local name=$1
    shift
    guest_run "$name" "killall xlcp-gapprobe xlcp-iowprobe 2>/dev/null && sleep 1
rm -f /run/gaps.log /run/gaps.log.max /run/iow-*
xlcp-gapprobe /run/gaps.log 20 fifo </dev/null >/dev/null 2>/run/gaps.err &
echo \$! > /run/gaps.pid
for d in $*; do
    xlcp-iowprobe /dev/\$d /run/iow-\$d.log 20 fifo </dev/null >/dev/null 2>/run/iow-\$d.stderr &
    echo \$! > /run/iow-\$d.pid
done
sleep 1
for f in /run/gaps.pid /run/iow-*.pid; do [ -f \$f ] || continue; kill -0 \$(cat \$f) || { echo \"\$f: not running\"; cat /run/*.err /run/*.stderr 2>/dev/null; exit 3; }; done
echo started" 120 | grep -qx started
}
guest_probes_read() {
    local name=$1
    shift
    guest_run "$name" "v() { [ -f \$1.pid ] && kill -0 \$(cat \$1.pid) 2>/dev/null && [ -s \$2 ] && cut -d' ' -f1 \$2 || echo null; }
out=\$(v /run/gaps /run/gaps.log.max)
for d in $*; do out=\"\$out \$(v /run/iow-\$d /run/iow-\$d.log.max)\"; done
echo \$out" 120
}

# Xen's own view of when a domain was stopped (tests/nested/dom0/domwatch.c on the
# payload): domwatch_start NAME polls it every 2 ms in the background; domwatch_stop
# prints "LONGEST_MS COUNT" of the intervals Xen said it was paused or shut down for
# suspend until it ran again ("0 0" if none), or fails (no figure) if the watcher did
# not run to the end.
XLCP_DOMWATCH=${XLCP_DOMWATCH:-$XLCP_PAYLOAD/bin/xlcp-domwatch}
domwatch_start() {
    local id
    id=$(guest_domid "$1") || return 1
    "$XLCP_DOMWATCH" "$id" >"$XLCP_RUN/domwatch.out" 2>&1 &
    _domwatch_pid=$!
}
domwatch_stop() { # works inside $(...) too: it waits for the watcher's last line, not its pid
    local i
    [ -n "${_domwatch_pid:-}" ] || return 1
    kill -TERM "$_domwatch_pid" 2>/dev/null
    for i in $(seq 1 50); do
        grep -qE '^(end|gone)' "$XLCP_RUN/domwatch.out" && break
        sleep 0.1
    done
    grep -qE '^(end|gone)' "$XLCP_RUN/domwatch.out" || {
        diag "domwatch: $(head -c 300 "$XLCP_RUN/domwatch.out")"
        return 1
    }
    awk '$1 == "stop" || $1 == "open" { n++; if ($2 > m) m = $2 } END { printf "%s %d\n", (n ? m : 0), n }' \
        "$XLCP_RUN/domwatch.out"
}

# guest_new_domain NAME DOMID: true if NAME is no longer domain DOMID, with a diag of what
# Xen said (under emulation a PVH guest crashes now and then and xl restarts it as a new
# domain; see tools/nested/README.md); waits until the new one is ready.
guest_new_domain() {
    local now
    now=$(guest_domid "$1")
    [ "$now" = "$2" ] && return 1
    diag "guest $1 is no longer domain $2 (now ${now:-none}): it crashed and xl restarted it; Xen: $("$XL" dmesg | grep -E 'Triple fault|crash' | tail -n 2 | tr '\n' ';')"
    [ -z "$now" ] || guest_wait_ready "$1" 240
    return 0
}

# guest_console NAME: the console output buffered by xenconsoled (since boot or restore)
guest_console() {
    timeout "${2:-6}" "$XL" console "$1" </dev/null 2>/dev/null | tr -d '\r'
}

# guest_destroy NAME: keeps its console in results/console-NAME.log (set
# XLCP_KEEP_CONSOLES=0 to skip: it costs a few seconds), then destroys it
guest_destroy() {
    if [ "${XLCP_KEEP_CONSOLES:-1}" = 1 ] && guest_domid "$1" >/dev/null; then
        guest_console "$1" 3 >>"$XLCP_PAYLOAD/results/console-$1.log" 2>/dev/null
    fi
    "$XL" destroy "$1" >/dev/null 2>&1
}
guest_destroy_all() {
    local d
    for d in $("$XL" list 2>/dev/null | awk 'NR > 1 && $2 != 0 { print $1 }'); do
        "$XL" destroy "$d" >/dev/null 2>&1
    done
}

# lv_cleanup [NAME]: remove the LVs of guest NAME (NAME-*), or every LV but the pool;
# snapshots go first
lv_cleanup() {
    local pat=${1:+^$1-} lvs lv
    lvs=$(lvs --noheadings -o lv_name,origin "$VG" 2>/dev/null | awk -v p="${pat:-.}" '
        $1 != "pool" && $1 !~ /^\[/ && $1 ~ p { if ($2 != "") print $1; else rest = rest " " $1 }
        END { print rest }')
    for lv in $lvs; do
        [ -n "$lv" ] || continue
        lvm_run lvremove -q -f -y "$VG/$lv" >/dev/null 2>&1 || diag "lv_cleanup: cannot remove $VG/$lv"
    done
}

# What a test's catalog ($XLCP_CATALOG_ROOT) and the VG hold: checkpoints (not the group
# records), snapshot volumes (*.xlcp.*), group files; group_nothing_left DESC: none of them
catalog_checkpoints() { find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 ! -name '.lock' 2>/dev/null | grep -vc '/\.groups/'; }
snapshot_volumes() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c '\.xlcp\.'; }
group_files() { find "$XLCP_CATALOG_ROOT/.groups" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
group_nothing_left() {
    local c s f
    c=$(catalog_checkpoints)
    s=$(snapshot_volumes)
    f=$(group_files)
    [ "$c" = 0 ] && [ "$s" = 0 ] && [ "$f" = 0 ] && ok "$1: nothing left (no checkpoint, snapshot volume or group file)" ||
        not_ok "$1: nothing left" "$c catalog entries, $s snapshot volumes, $f group files: $(find "$XLCP_CATALOG_ROOT" | head -n 20)"
}

# guest_deny_suspend NAME: the guest can no longer read control/shutdown, so it never sees
# libxl's suspend request (without the checkpoint module it has no suspend event channel
# either): a guest that never suspends. guest_allow_suspend NAME gives its access back.
guest_deny_suspend() {
    local node
    node=/local/domain/$(guest_domid "$1")/control/shutdown
    _denied_perms=$(xenstore-ls -p "${node%/shutdown}" 2>/dev/null |
        sed -n 's/^shutdown = "[^"]*" *. *(\(.*\))$/\1/p' | tr -d ',')
    xenstore-write "$node" "" 2>/dev/null
    xenstore-chmod "$node" n0 && ok "$1: guest's access to control/shutdown removed (was: ${_denied_perms:-?})" ||
        not_ok "$1: xenstore-chmod control/shutdown"
}
guest_allow_suspend() {
    [ -z "${_denied_perms:-}" ] ||
        xenstore-chmod "/local/domain/$(guest_domid "$1")/control/shutdown" $_denied_perms
}

# guest_not_suspended NAME DESC: ok if the guest is not left suspended and still runs
guest_not_suspended() {
    local state c0 c1
    state=$("$XL" list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }')
    case "$state" in
    *s*) not_ok "$2: guest not left suspended" "state '$state'" ;;
    *) ok "$2: guest not left suspended (state '$state')" ;;
    esac
    c0=$(guest_counter "$1")
    c1=$(guest_wait_counter "$1" "$((c0 + 1))" 60) && ok "$2: guest running ($c0 -> $c1)" ||
        not_ok "$2: guest running" "counter $c0 -> $c1"
}

# next_run_cleans NAME NSNAPS: after an interrupted run, the next `xl checkpoint create`
# succeeds and removes what was left: one checkpoint in $XLCP_CATALOG_ROOT with its NSNAPS
# snapshot volumes, no temporary directory; the checkpoint verifies, then is deleted
next_run_cleans() {
    local out rc id tmp n s
    out=$(watchdog 600 xl-checkpoint create "$1" 2>&1)
    rc=$?
    id=$(printf '%s' "$out" | tail -n 1)
    [ $rc -eq 0 ] && ok "next run succeeds ($id)" || not_ok "next run succeeds" "exit $rc: $out"
    tmp=$(find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -name '.tmp-*' | wc -l)
    n=$(find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 -type d | wc -l)
    s=$(lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c '\.xlcp\.')
    [ "$tmp" = 0 ] && [ "$n" = 1 ] && [ "$s" = "$2" ] &&
        ok "next run cleaned the leftovers (one checkpoint, its $2 snapshots, no temporary directory)" ||
        not_ok "next run cleaned the leftovers" "$tmp temporary, $n entries, $s snapshot volumes"
    check "the new checkpoint verifies" xl-checkpoint verify "$id"
    xl-checkpoint delete "$id" >/dev/null 2>&1
}

# kill_in_copy NAME OUT: starts `xl-checkpoint create NAME` (output in OUT) and kills it
# with SIGKILL once its memory image under $XLCP_CATALOG_ROOT passes 4 MiB. Returns 0 if
# it was killed, 1 if the run ended first; prints the bytes copied by then.
kill_in_copy() {
    local pid img killed=1
    xl-checkpoint create "$1" >"$2" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
        img=$(find "$XLCP_CATALOG_ROOT" -path '*/.tmp-*/memory.xl' 2>/dev/null | head -n 1)
        if [ -n "$img" ] && [ "$(stat -c %s "$img" 2>/dev/null || echo 0)" -gt 4194304 ]; then
            kill -9 "$pid" && killed=0
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    wait "$pid" 2>/dev/null
    stat -c %s "$img" 2>/dev/null || echo 0
    return $killed
}
