#!/bin/sh
# test_install.sh - `make install` never replaces a real xl: into scratch DESTDIRs it installs
# the dispatcher as SBINDIR/xl only where there is none or ours (recognised by its marker,
# tools/install-xl.sh), refuses before installing anything when another xl is there (an ELF
# like Xen's, a wrapper script), installs nowhere but libexec with XL_DISPATCHER=, and
# always leaves the dispatcher in libexec/xl-checkpoint/xl; the bash completion it installs
# works. Prints TAP and "N passed, M failed".
#
#   sh tests/cli/test_install.sh [BUILD_DIR]      (default: build; run after make)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
B=$(cd "${1:-build}" && pwd) || exit 1
[ -x "$B/xl" ] && [ -x "$B/xl-checkpoint" ] || {
    echo "Bail out! not built (run make)"
    exit 1
}
T=$(mktemp -d /tmp/xlcp-install-XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT INT TERM

# shellcheck source-path=SCRIPTDIR source=tap.sh
. "$(dirname "$0")/tap.sh"

# inst DIR [VAR=VALUE...]: make install into DIR (PREFIX=/usr/local, what the tree is built
# for: another PREFIX would rebuild what names the install paths); $rc, stderr in $T/err
inst() {
    dest=$1
    shift
    make -s -C "$top" install DESTDIR="$dest" "$@" >"$T/out" 2>"$T/err"
    rc=$?
}

# 1. an empty tree: the dispatcher goes to /usr/local/sbin/xl and libexec
inst "$T/d1"
if [ $rc -eq 0 ] && cmp -s "$B/xl" "$T/d1/usr/local/sbin/xl" &&
    cmp -s "$B/xl" "$T/d1/usr/local/libexec/xl-checkpoint/xl" && [ -x "$T/d1/usr/local/sbin/xl-checkpoint" ]; then
    ok "no xl yet: the dispatcher is installed as sbin/xl and libexec/xl-checkpoint/xl"
else
    not_ok "install into an empty tree" "rc=$rc" "$(cat "$T/err")"
fi

# 2. Xen's xl (an ELF here) is there: refused, untouched, nothing else installed
mkdir -p "$T/d2/usr/local/sbin"
cp /bin/true "$T/d2/usr/local/sbin/xl"
inst "$T/d2"
if [ $rc -ne 0 ] && cmp -s /bin/true "$T/d2/usr/local/sbin/xl" && [ ! -e "$T/d2/usr/local/sbin/xl-checkpoint" ] &&
    grep -q "refusing to overwrite $T/d2/usr/local/sbin/xl" "$T/err"; then
    ok "a real xl (ELF) is refused before anything is installed, and left as it was"
else
    not_ok "a real xl (ELF) is refused" "rc=$rc" "$(cat "$T/err")" "$(ls "$T/d2/usr/sbin")"
fi

# 3. a wrapper script without our marker (Debian's xl is such a wrapper): refused
mkdir -p "$T/d3/usr/local/sbin"
printf '#!/bin/sh\nexec /usr/lib/xen-4.17/bin/xl "$@"\n' >"$T/d3/usr/local/sbin/xl"
cp "$T/d3/usr/local/sbin/xl" "$T/xl-wrapper"
inst "$T/d3"
if [ $rc -ne 0 ] && cmp -s "$T/xl-wrapper" "$T/d3/usr/local/sbin/xl"; then
    ok "another xl script is refused and left as it was"
else
    not_ok "another xl script is refused" "rc=$rc" "$(cat "$T/err")"
fi

# 4. with XL_DISPATCHER= the real xl stays, the rest is installed, libexec has the dispatcher
inst "$T/d3" XL_DISPATCHER=
if [ $rc -eq 0 ] && cmp -s "$T/xl-wrapper" "$T/d3/usr/local/sbin/xl" &&
    [ -x "$T/d3/usr/local/sbin/xl-checkpoint" ] && cmp -s "$B/xl" "$T/d3/usr/local/libexec/xl-checkpoint/xl"; then
    ok "XL_DISPATCHER= installs everything but sbin/xl"
else
    not_ok "XL_DISPATCHER= installs everything but sbin/xl" "rc=$rc" "$(cat "$T/err")"
fi

# 5. an older copy of our dispatcher (marker, other content) and a symlink to ours: replaced
mkdir -p "$T/d5/usr/local/sbin" "$T/d6/usr/local/sbin" "$T/d7/usr/local/sbin"
{
    head -n 5 "$B/xl"
    echo "# an older version"
} >"$T/d5/usr/local/sbin/xl"
ln -s "$B/xl" "$T/d6/usr/local/sbin/xl"
ln -s "$T/nonexistent/xl" "$T/d7/usr/local/sbin/xl"
all=1
for d in d5 d6 d7; do
    inst "$T/$d"
    if [ $rc -ne 0 ] || ! cmp -s "$B/xl" "$T/$d/usr/local/sbin/xl"; then
        all=0
        not_ok "our own dispatcher ($d) is replaced" "rc=$rc" "$(cat "$T/err")"
    fi
done
[ $all = 1 ] && ok "our older dispatcher, a symlink to it and a dangling symlink are replaced"

# 6. the guard alone
printf '\177ELF' >"$T/elf"
if sh "$top/tools/install-xl.sh" check "$T/elf" 2>/dev/null; then
    not_ok "install-xl.sh check refuses an ELF"
else
    ok "install-xl.sh check refuses an ELF"
fi
if sh "$top/tools/install-xl.sh" check "$B/xl" && sh "$top/tools/install-xl.sh" check "$T/none"; then
    ok "install-xl.sh check accepts the dispatcher and a missing file"
else
    not_ok "install-xl.sh check accepts the dispatcher and a missing file"
fi

# 7. the bash completion it installs
comp=$(bash -c '. "$1"; COMP_WORDS=(xl-checkpoint pr); COMP_CWORD=1; _xl_checkpoint
    printf "%s," "${COMPREPLY[@]}"; COMP_WORDS=(xl-checkpoint -r /x prune --k); COMP_CWORD=4
    _xl_checkpoint; printf "%s," "${COMPREPLY[@]}"' sh "$T/d1/usr/local/share/bash-completion/completions/xl-checkpoint" 2>&1)
if [ "$comp" = "prune,--keep-last,--keep-within," ]; then
    ok "bash completion: subcommands, and a subcommand's options after a global option"
else
    not_ok "bash completion" "$comp"
fi

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
