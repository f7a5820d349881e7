#!/bin/bash
# deps.sh - installs (apt-get, Debian 12, as root) what the nested Xen harness needs on
# the host: QEMU, mmdebstrap to build the dom0 tree from Debian packages, e2fsprogs for
# mkfs.ext4 -d / debugfs, cpio/gzip/zstd/xz for the initramfs, binutils for readelf.
# Called by tools/deps.sh; idempotent (apt-get update only when something is missing).
set -euo pipefail

pkgs="qemu-system-x86 qemu-utils mmdebstrap e2fsprogs cpio gzip zstd xz-utils binutils
      coreutils util-linux ca-certificates"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "nested/deps.sh: missing packages:$missing; run as root" >&2
        exit 1
    fi
    echo "nested/deps.sh: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
