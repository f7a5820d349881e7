#!/bin/bash
# images.sh - find or build the nested Xen images, one build at a time on this machine.
# Every caller (make images, run.sh) goes through here: build-images.sh alone takes no
# lock, and after a build it removes every other .tmp-images-* directory in the cache,
# which would pull the files out from under a second build running beside it (its
# mmdebstrap chroot, with /proc and /sys mounted). The lock is taken here rather than in
# build-images.sh because that script is part of the images' cache key.
# Usage: images.sh [build-images.sh options]; prints the images directory (last line).
# XLCP_IMAGES_WAIT: seconds to wait for another build (default 3600).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=${XLCP_CACHE:-$HOME/.cache/xl-checkpoint}
mkdir -p "$cache"
exec 9>"$cache/.build.lock"
if ! flock -n 9; then
    echo "images: another image build is running; waiting up to ${XLCP_IMAGES_WAIT:-3600}s" >&2
    flock -w "${XLCP_IMAGES_WAIT:-3600}" 9 || {
        echo "images: the other build did not finish in time" >&2
        exit 1
    }
fi
bash "$here/build-images.sh" "$@"
