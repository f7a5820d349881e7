#!/bin/bash
# deps.sh - installs (apt-get, Debian 12, as root) what the nested Xen harness needs on
# the host: QEMU, mmdebstrap to build the dom0 tree from Debian packages, e2fsprogs for
# mkfs.ext4 -d / debugfs, cpio/gzip/zstd/xz for the initramfs, binutils for readelf.
# Called by tools/deps.sh; idempotent (apt-get update only when something is missing).
set -euo pipefail

pkgs="qemu-system-x86 qemu-utils mmdebstrap e2fsprogs cpio gzip zstd xz-utils binutils
      coreutils util-linux ca-certificates"
# shellcheck disable=SC2086
sh "$(dirname "$0")/../apt-install.sh" nested/deps.sh $pkgs
