#!/bin/bash
# boot.sh - first thing the nested-Xen harness runs in dom0 (from xlcp-nested.service).
# It only finds and mounts the payload disk (label xlcp-payload) and hands over to the
# payload's tests/nested/run-tests.sh, so that changing tests never needs an image rebuild.
# In test mode it powers the machine off afterwards; in shell mode (kernel argument
# xlcp.mode=shell) it leaves dom0 running for a person on the console.
set -uo pipefail
mode=test
grep -qw 'xlcp.mode=shell' /proc/cmdline && mode=shell
echo "XLCP-BOOT: dom0 reached the harness after $(cut -d' ' -f1 /proc/uptime)s (mode $mode)"

finish() {
    if [ "$mode" = test ]; then
        sync
        umount /mnt/payload 2>/dev/null
        sync
        echo "XLCP-DONE: rc=$1"
        sleep 1
        poweroff -f
    fi
}

dev=""
for _ in $(seq 1 60); do
    dev=$(blkid -L xlcp-payload 2>/dev/null || true)
    [ -n "$dev" ] && break
    sleep 1
done
if [ -z "$dev" ]; then
    echo "XLCP-FATAL: no disk labelled xlcp-payload found"
    finish 2
    exit 0
fi
mkdir -p /mnt/payload
if ! mount -o rw "$dev" /mnt/payload; then
    echo "XLCP-FATAL: cannot mount $dev"
    finish 2
    exit 0
fi
runner=/mnt/payload/tests/nested/run-tests.sh
if [ ! -f "$runner" ]; then
    echo "XLCP-FATAL: $runner missing on the payload"
    finish 2
    exit 0
fi
bash "$runner" --mode "$mode"
finish $?
exit 0
