#!/bin/sh
# apt-install.sh - installs the named Debian packages that are missing (apt-get update
# only then); shared by tools/deps.sh and tools/nested/deps.sh. Usage: apt-install.sh WHO PKG...
set -eu
who=$1
shift
missing=""
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "$who: missing packages:$missing; run as root" >&2
    exit 1
fi
echo "$who: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
