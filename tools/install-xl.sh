#!/bin/sh
# install-xl.sh - guards `make install` against replacing a real `xl`.
#   install-xl.sh check DEST   exit 0 if DEST does not exist or is xl-checkpoint's own
#                              dispatcher (tools/xl, recognised by its marker comment, also
#                              through a symlink); otherwise one line on stderr and exit 1.
# Xen's xl (an ELF binary, or Debian's wrapper script) never carries the marker.
set -eu
[ "${1:-}" = check ] && [ $# -eq 2 ] || {
    echo "usage: install-xl.sh check DEST" >&2
    exit 2
}
dest=$2
marker='the `xl` dispatcher of xl-checkpoint'
# absent, or a dangling symlink (e.g. to a purged package's dispatcher): nothing to lose
if [ ! -e "$dest" ]; then
    exit 0
fi
if [ -f "$dest" ] && head -c 4096 "$dest" 2>/dev/null | grep -qF "$marker"; then
    exit 0
fi
echo "make install: refusing to overwrite $dest: it is not xl-checkpoint's xl dispatcher" \
    "(Xen's xl?); install without it with 'make install XL_DISPATCHER=' (the dispatcher" \
    "is also installed as libexec/xl-checkpoint/xl: README, \"xl checkpoint\")" >&2
exit 1
