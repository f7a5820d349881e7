# module-lib.sh - helpers of the guest-module tests (t55, t56, t57, t58), sourced after
# lib.sh: xenstore reads and waits, checkpoint ids, suspend announcements, and a writer on the guest's ext4 whose
# progress (on tmpfs) tells whether its file system is frozen.
xsr() { xenstore-read "$1" 2>/dev/null; }
newid() { printf '%s.%03dZ-%06x' "$(date -u +%Y%m%dT%H%M%S)" $((RANDOM % 1000)) $((RANDOM * 256 + RANDOM % 256)); }
# announce DIR: as xl-checkpoint does right before its suspend (protocol 3), an announcement
# in DIR (the guest's data/checkpoint): the next notification of the module's event channel
# may take its light path; an unannounced one (a plain `xl save -c`) goes to the stock path
announce() { xenstore-write "$1/suspend-announce" "$(newid) 60000"; }
# xs_wait NODE VALUE SECS: wait until the node holds VALUE
xs_wait() {
    local t0
    t0=$(date +%s)
    while [ $(($(date +%s) - t0)) -lt "$3" ]; do
        [ "$(xsr "$1")" = "$2" ] && return 0
        sleep 0.5
    done
    return 1
}
# writer_cmd: guest shell that appends to /mnt/d/w (synced) until /run/wstop exists and
# records each step in /run/wdone
writer_cmd='(i=0; while [ ! -e /run/wstop ]; do i=$((i + 1)); echo $i >>/mnt/d/w; sync; echo $i >/run/wdone; sleep 0.2; done) </dev/null >/dev/null 2>&1 &'
# writer_wait: guest shell that waits (30 s at most) for the writer's first step, prints it
writer_wait='for i in $(seq 1 60); do [ -e /run/wdone ] && break; sleep 0.5; done; cat /run/wdone'
# module_writer_start GUEST KO [PARAM=VALUE...]: ext4 on the guest's xvda mounted on
# /mnt/d, the module loaded with the parameters, the writer running (bails otherwise)
module_writer_start() {
    local g=$1 ko=$2 out
    shift 2
    out=$(guest_run "$g" "mkfs.ext4 -q -F /dev/xvda && mkdir -p /mnt/d && mount /dev/xvda /mnt/d &&
insmod $ko $* || exit 1
$writer_cmd
$writer_wait" 120)
    [[ "$(printf '%s' "$out" | tail -n 1)" =~ ^[0-9]+$ ]] && ok "module loaded, writer running" ||
        bail "module loaded, writer running" "$out"
}
# progress GUEST / moving GUEST: the writer's step; does it advance over 3 s?
progress() { guest_run "$1" 'cat /run/wdone' 30; }
moving() {
    local a b
    a=$(progress "$1")
    sleep 3
    b=$(progress "$1")
    [ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ]
}
# moves_within GUEST SECS: the writer advances at some point within SECS (a guest just
# restored may need a while before its block front end takes writes again)
moves_within() {
    local a b t0
    t0=$(date +%s)
    a=$(progress "$1")
    while [ $(($(date +%s) - t0)) -lt "$2" ]; do
        sleep 2
        b=$(progress "$1")
        [ -n "$a" ] && [ -n "$b" ] && [ "$b" -gt "$a" ] && return 0
        [ -n "$a" ] || a=$b
    done
    return 1
}
# module_test_end GUEST: no oops, warning or hung task in the guest's log; the module's
# last messages as a diag; unload, destroy, remove the guest's volumes; end the plan
module_test_end() {
    local out
    out=$(guest_run "$1" 'dmesg | grep -cE "BUG|Oops|WARNING: |general protection|blocked for more than" || true' 30)
    [ "$out" = 0 ] && ok "no oops, warning or hung task in the guest" ||
        not_ok "no oops, warning or hung task in the guest" "$(guest_run "$1" 'dmesg | tail -n 30')"
    diag "$(guest_run "$1" 'dmesg | grep xlcp_guest | tail -n 12' 30)"
    guest_run "$1" "rmmod xlcp_guest" >/dev/null
    guest_destroy "$1"
    lv_cleanup "$1"
    done_testing
}
