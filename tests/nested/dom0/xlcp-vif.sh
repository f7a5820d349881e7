#!/bin/sh
# xlcp-vif.sh - a light hotplug script for the nested tests' network interfaces (libxl runs
# it as `script=` of each vif guest_start makes when XLCP_GUEST_VIF is set; lib.sh installs
# it as /var/tmp/xlcp-vif). Like Xen's vif-bridge for a PV guest's vif: puts the back end
# interface ($vif, from libxl) on the bridge named in its xenstore back end and brings it
# up, then says hotplug-status connected (netback waits for that before it connects).
# Xen's vif-bridge sources the same dozen helpers and takes the same lock as its block
# script (see xlcp-block.sh: seconds per device under emulation).
set -u
fail() {
    xenstore-write "$XENBUS_PATH/hotplug-error" "xlcp-vif: $*" "$XENBUS_PATH/hotplug-status" error
    echo "xlcp-vif: $*" >&2
    exit 1
}
: "${XENBUS_PATH:?}"
case "${1:-}" in
online | add) ;;
*) exit 0 ;; # offline/remove: the interface goes away with the back end
esac
: "${vif:?libxl gives the back end interface in vif}"
br=$(xenstore-read "$XENBUS_PATH/bridge" 2>/dev/null) || fail "no bridge in $XENBUS_PATH"
ip link show dev "$br" >/dev/null 2>&1 || fail "bridge $br does not exist"
ip link set dev "$vif" master "$br" || fail "cannot put $vif on $br"
ip link set dev "$vif" up || fail "cannot bring $vif up"
xenstore-write "$XENBUS_PATH/hotplug-status" connected || fail "cannot write to $XENBUS_PATH"
