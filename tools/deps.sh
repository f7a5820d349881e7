#!/bin/sh
# deps.sh - installs, with apt-get, everything needed to build xl-checkpoint, run its unit
# tests, build the guest module and the Debian packages (make deb: debhelper, lintian) and run
# the nested Xen harness, on Debian 12 (as root).
# Idempotent: installs only what is missing, runs `apt-get update` only then.
set -eu

pkgs="make gcc libc6-dev pkg-config libxen-dev libxml2-dev libxml2-utils xsltproc libssl-dev
      libyajl-dev libcmocka-dev libdevmapper-dev libxxhash-dev libzstd-dev libsystemd-dev python3-jsonschema clang-format cppcheck kmod bc
      debhelper dpkg-dev devscripts lintian clang-14 libclang-rt-14-dev thin-provisioning-tools"
# clang-14 + libclang-rt-14-dev: the stream parser's libFuzzer target (make fuzz-short).
# libzstd-dev: the page store compresses its pack blocks (libxl-plugin/src/pagestore_pack.c).
# thin-provisioning-tools: thin_delta, for `export --since` (changed blocks of thin volumes)
# The nested harness installs its own packages (tools/nested/deps.sh).
# The guest module is built against the exact kernel the nested guest boots.
here=$(dirname "$0")
if [ -f "$here/nested/versions.env" ]; then
    # shellcheck disable=SC1091
    . "$here/nested/versions.env"
    [ -n "${KERNEL_ABI:-}" ] && pkgs="$pkgs linux-headers-${KERNEL_ABI}-amd64"
fi

# shellcheck disable=SC2086
sh "$here/apt-install.sh" deps.sh $pkgs
if [ -x "$here/nested/deps.sh" ]; then
    "$here/nested/deps.sh"
fi
echo "deps.sh: all build and test dependencies present"
