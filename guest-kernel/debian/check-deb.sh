#!/bin/bash
# check-deb.sh DEB KDIR WORKDIR - checks the xl-checkpoint-guest-dkms package: its content,
# and that the module builds from the packaged source alone with the MAKE line of its
# dkms.conf (as DKMS runs it) against the kernel headers in KDIR, whose configuration must
# have what BUILD_EXCLUSIVE_CONFIG asks for. Used by `make deb-guest-check`.
set -euo pipefail
deb=$1 kdir=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
work=$(cd "$work" && pwd)
dpkg-deb -c "$deb" | grep -q 'usr/lib/modules-load.d/xlcp_guest.conf' ||
    { echo "check-deb: no modules-load.d entry"; exit 1; }
dpkg-deb -x "$deb" "$work/root"
dpkg-deb -e "$deb" "$work/DEBIAN"
for f in postinst prerm; do bash -n "$work/DEBIAN/$f"; done
src=$(echo "$work"/root/usr/src/xlcp_guest-*)
# dkms.conf is shell with arrays: source it as DKMS does, with the variables DKMS sets
kernel_source_dir=$kdir
dkms_tree=$work/dkms
# shellcheck disable=SC1091
. "$src/dkms.conf"
[ "$BUILD_EXCLUSIVE_ARCH" = x86_64 ] || { echo "check-deb: BUILD_EXCLUSIVE_ARCH '$BUILD_EXCLUSIVE_ARCH'"; exit 1; }
for c in $BUILD_EXCLUSIVE_CONFIG; do
    grep -q "^$c=[ym]" "$kdir/.config" || { echo "check-deb: $c not set in $kdir"; exit 1; }
done
[ "$src" = "$work/root/usr/src/$PACKAGE_NAME-$PACKAGE_VERSION" ] ||
    { echo "check-deb: source in $src, dkms.conf says $PACKAGE_NAME-$PACKAGE_VERSION"; exit 1; }
mkdir -p "$dkms_tree/$PACKAGE_NAME/$PACKAGE_VERSION"
cp -r "$src" "$dkms_tree/$PACKAGE_NAME/$PACKAGE_VERSION/build"
# MAKE[0] was expanded when dkms.conf was sourced, with kernel_source_dir and dkms_tree
eval "${MAKE[0]}" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
ko=$dkms_tree/$PACKAGE_NAME/$PACKAGE_VERSION/build/${BUILT_MODULE_NAME[0]}.ko
[ -f "$ko" ] || { echo "check-deb: $ko not built"; exit 1; }
echo "check-deb: $(basename "$deb") builds ${BUILT_MODULE_NAME[0]}.ko against $kdir"
