#!/bin/bash
# session.sh - a long-lived nested dom0 that scripts (and developers) drive command by
# command, for experiments that would cost a boot each with run.sh.
#
#   session.sh start            boot nested Xen + dom0 in shell mode in the background
#   session.sh run CMD [SECS]   run CMD in dom0's shell, print its output, return its
#                               exit status (124 if no answer within SECS, default 600)
#   session.sh push FILE DEST   copy a host file into dom0 (base64 over the console;
#                               keep it small: about 10 KiB/s)
#   session.sh stop             power off and stop QEMU
#
# It starts run.sh --shell with its console on a FIFO; output goes to
# build/nested/session.log. One nested QEMU at a time (run.sh's lock applies).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$top/build/nested
fifo=$out/session.in
log=$out/session.log
pidf=$out/session.pid

send() { printf '%s\n' "$*" >"$fifo"; }
send_lines() { # one line at a time, with a pause
    local l
    for l in "$@"; do
        printf '%s\n' "$l" >"$fifo"
        sleep "${XLCP_PUSH_DELAY:-0.03}"
    done
}

case "${1:-}" in
start)
    mkdir -p "$out"
    if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
        echo "session: already running (pid $(cat "$pidf"))" >&2
        exit 1
    fi
    rm -f "$fifo" "$log"
    mkfifo "$fifo"
    # a writer that never closes keeps QEMU's stdin open
    (exec 3<>"$fifo"; setsid bash "$here/run.sh" --shell <&3 >"$log" 2>&1; rm -f "$pidf") &
    echo $! >"$pidf"
    for _ in $(seq 1 900); do
        if grep -aq 'nested dom0 ready' "$log" 2>/dev/null; then
            sleep 2
            send 'stty -echo; PS1=""; export PATH=/usr/local/sbin:/usr/local/bin:$PATH'
            sleep 1
            echo "session: dom0 ready"
            exit 0
        fi
        if ! kill -0 "$(cat "$pidf" 2>/dev/null || echo 0)" 2>/dev/null; then
            echo "session: QEMU ended during boot; see $log" >&2
            exit 1
        fi
        sleep 1
    done
    echo "session: dom0 not ready after 900 s; see $log" >&2
    exit 1
    ;;
run)
    cmd=$2
    secs=${3:-600}
    tag="XS$RANDOM$RANDOM"
    start=$(wc -l <"$log")
    # the console drops characters of long lines: the command travels as short lines
    send_lines "base64 -d > /tmp/.cmd <<'XLCP_CMD_EOF'" \
        $(printf '%s\n' "$cmd" | base64 -w 64) XLCP_CMD_EOF
    send "bash /tmp/.cmd 2>&1; echo \"$tag-END \$?\""
    for _ in $(seq 1 $((secs * 4))); do
        if tail -n +"$start" "$log" | tr -d '\r' | grep -aq "^$tag-END "; then
            tail -n +"$start" "$log" | tr -d '\r' | sed -n "/^$tag-END /q;p" |
                grep -av -e "$tag-END" -e '^(XEN) ' -e 'XLCP_CMD_EOF' -e '^.\[?2004' || true
            rc=$(tail -n +"$start" "$log" | tr -d '\r' | sed -n "s/^$tag-END \([0-9]*\).*/\1/p" | head -n 1)
            exit "${rc:-1}"
        fi
        sleep 0.25
    done
    echo "session: no answer within ${secs}s" >&2
    exit 124
    ;;
push)
    src=$2
    dst=$3
    # The console's receive path (QEMU serial -> Xen -> dom0 hvc0) has a tiny buffer and
    # drops what comes too fast: one short line at a time, with a pause.
    sum=$(sha256sum <"$src" | cut -d' ' -f1)
    # shellcheck disable=SC2046
    send_lines "base64 -d > /tmp/.push.gz <<'XLCP_PUSH_EOF'" $(gzip -9c "$src" | base64 -w 64) \
        XLCP_PUSH_EOF
    exec "$0" run "gunzip -c /tmp/.push.gz > /tmp/.push.out && [ \"\$(sha256sum < /tmp/.push.out | cut -d' ' -f1)\" = $sum ] && chmod 0755 /tmp/.push.out && mv /tmp/.push.out '$dst' && echo 'pushed $dst'" 120
    ;;
stop)
    [ -p "$fifo" ] && send 'poweroff -f' || true
    sleep 5
    p=$(cat "$out/qemu.pid" 2>/dev/null || true)
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
    rm -f "$pidf"
    ;;
*)
    sed -n '2,14p' "$0" >&2
    exit 2
    ;;
esac
