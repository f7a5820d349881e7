#!/bin/sh
# deps.sh - installs, with apt-get, everything needed to build xl-checkpoint, run its unit
# tests, build the guest module and run the nested Xen harness, on Debian 12 (as root).
# Idempotent: installs only what is missing, runs `apt-get update` only then.
set -eu

pkgs="make gcc libc6-dev pkg-config libxen-dev libxml2-dev libxml2-utils xsltproc libssl-dev
      libyajl-dev libcmocka-dev clang-format cppcheck
      qemu-system-x86 qemu-utils debootstrap busybox-static cpio zstd xz-utils e2fsprogs
      kmod bc"
# The guest module is built against the exact kernel the nested guest boots.
here=$(dirname "$0")
if [ -f "$here/nested/versions.env" ]; then
    # shellcheck disable=SC1091
    . "$here/nested/versions.env"
    [ -n "${KERNEL_ABI:-}" ] && pkgs="$pkgs linux-headers-${KERNEL_ABI}-amd64"
fi

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps.sh: missing packages:$missing; run as root" >&2
        exit 1
    fi
    echo "deps.sh: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if [ -x "$here/nested/deps.sh" ]; then
    "$here/nested/deps.sh"
fi
echo "deps.sh: all build and test dependencies present"
