#!/bin/sh
# xlcp-block.sh - a light hotplug script for the nested tests' phy: disks (libxl runs it as
# `script=` of each disk guest_start makes; lib.sh installs it as /var/tmp/xlcp-block).
# Xen's own /etc/xen/scripts/block does the same for a block device, at a cost that
# dominates a guest's start under emulation: a dozen sourced helpers, a lock, and one
# xenstore-read process per disk of every domain for its sharing check (each process
# 0.1-0.4 s there). This one asks xenstore once for everything and writes once.
# What it keeps of the stock script: the target must be a block device, and a device a
# domain already has may not be given to another VM (the same VM is allowed: the two
# domains of a localhost migration); the cause goes to hotplug-error as libxl expects.
# libxl gives a hotplug script 40 s: under emulation, with the host busy, the stock one
# missed that ("unable to add disk devices", seen in d10's and t71's restores). Nothing of
# xl-checkpoint depends on it: t80 runs with the stock script (XLCP_STOCK_HOTPLUG=1), as an
# administrator's host does.
set -u
fail() {
    xenstore-write "$XENBUS_PATH/hotplug-error" "xlcp-block: $*" "$XENBUS_PATH/hotplug-status" error
    echo "xlcp-block: $*" >&2
    exit 1
}
[ "${1:-}" = add ] || exit 0 # remove: a phy: device needs no undoing
: "${XENBUS_PATH:?}"
all=$(xenstore-ls -f "${XENBUS_PATH%/*/*}" 2>/dev/null) || fail "cannot list ${XENBUS_PATH%/*/*}"
val() { printf '%s\n' "$all" | sed -n "s|^$1 = \"\(.*\)\"\$|\1|p"; }
# libxl may call it twice for one device: the second call has nothing to do
[ -z "$(val "$XENBUS_PATH/physical-device")" ] || exit 0
params=$(val "$XENBUS_PATH/params")
[ -n "$params" ] || fail "no params in $XENBUS_PATH"
dev=$(readlink -f "$params") || fail "$params does not exist"
[ -b "$dev" ] || fail "$params is not a block device"
mm=$(stat -L -c '%t:%T' "$dev") || fail "cannot stat $dev"
vm_of() { xenstore-read "/local/domain/$1/vm" 2>/dev/null; }
mine=""
for other in $(printf '%s\n' "$all" | sed -n "s|^\(.*\)/physical-device = \"$mm\"\$|\1|p"); do
    [ "$other" = "$XENBUS_PATH" ] && continue
    [ -n "$mine" ] || mine=$(vm_of "$(val "$XENBUS_PATH/frontend-id")")
    theirs=$(vm_of "$(val "$other/frontend-id")")
    [ -n "$mine" ] && [ "$mine" = "$theirs" ] || fail "$dev ($mm) is already in use by $other"
done
xenstore-write "$XENBUS_PATH/physical-device" "$mm" "$XENBUS_PATH/physical-device-path" "$dev" \
    "$XENBUS_PATH/hotplug-status" connected || fail "cannot write to $XENBUS_PATH"
