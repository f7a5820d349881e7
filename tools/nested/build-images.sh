#!/bin/bash
# build-images.sh - builds (or finds in the cache) everything the nested Xen harness boots:
#   xen.elf          the gunzipped Debian hypervisor (QEMU's multiboot loader wants the ELF)
#   dom0-vmlinuz, dom0-initrd.img, dom0.img   Debian's pinned kernel and an ext4 dom0 root
#   guest-vmlinuz    the same pinned kernel, for the PV guest
#   guest-base.cpio.gz  busybox-static, xen-blkfront & co., xenstore-utils, mke2fs, fsfreeze
#                    (the guest agent is appended at run time by run.sh, see tests/nested/guest)
# from Debian packages only, with no loop mount (mkfs.ext4 -d). Output goes to
# ${XLCP_CACHE:-$HOME/.cache/xl-checkpoint}/images-<sha256 of the inputs>/; a warm run finds
# it there and does nothing. Prints the directory on the last line of stdout.
#
# Usage: build-images.sh [--print-dir] [--force]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

print_only=0
force=0
for a in "$@"; do
    case "$a" in
    --print-dir) print_only=1 ;;
    --force) force=1 ;;
    *) echo "build-images.sh: unknown argument $a" >&2; exit 2 ;;
    esac
done

log() { echo "build-images: $*" >&2; }
die() { echo "build-images: ERROR: $*" >&2; exit 1; }

# ---- mirrors: the same ones the host's apt uses ------------------------------------------
# Prints one-line "deb URI SUITE COMPONENTS" entries for $DEBIAN_SUITE and its -updates and
# -security suites, read from /etc/apt/sources.list{,.d/*.list,.d/*.sources}.
host_mirrors() {
    local f
    {
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -f "$f" ] || continue
            sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 4 {
                printf "deb %s %s", $2, $3; for (i = 4; i <= NF; i++) printf " %s", $i; print "" }'
        done
        for f in /etc/apt/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            awk 'function flush() {
                     if (types ~ /(^| )deb( |$)/ && uris != "" && suites != "") {
                         nu = split(uris, U, " "); ns = split(suites, S, " ")
                         for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
                             print "deb " U[i] " " S[j] " " comps
                     }
                     types = uris = suites = comps = ""
                 }
                 /^[ \t]*#/ { next }
                 /^[ \t]*$/ { flush(); next }
                 { key = $1; sub(/:$/, "", key); $1 = ""; sub(/^ /, "")
                   if (key == "Types") types = $0; else if (key == "URIs") uris = $0
                   else if (key == "Suites") suites = $0; else if (key == "Components") comps = $0 }
                 END { flush() }' "$f"
        done
    } | awk -v s="$DEBIAN_SUITE" '$3 == s || $3 == s "-updates" || $3 == s "-security" ||
                                  $3 == s "/updates"' | sort -u
}

mirrors=${XLCP_MIRRORS:-$(host_mirrors)}
if [ -z "$mirrors" ]; then
    mirrors="deb http://deb.debian.org/debian $DEBIAN_SUITE main
deb http://deb.debian.org/debian $DEBIAN_SUITE-updates main
deb http://deb.debian.org/debian-security $DEBIAN_SUITE-security main"
fi

# ---- the package set -------------------------------------------------------------------
kpkg="linux-image-${KERNEL_ABI}-${KERNEL_FLAVOUR}"
# dom0: Xen and its tools, the pinned kernel, LVM (thick + thin), systemd, and the runtime
# libraries xl-checkpoint links (libxenlight & co. come with xen-utils, libxml2, libssl3),
# and openssh (groups across hosts: t72 reaches dom0 itself over ssh under two names).
packages="xen-system-amd64 $kpkg initramfs-tools lvm2 thin-provisioning-tools systemd-sysv
udev kmod iproute2 procps busybox-static e2fsprogs util-linux libxml2 libxml2-utils libssl3
libyajl2 xenstore-utils zstd xz-utils openssh-server openssh-client"

# ---- cache key ---------------------------------------------------------------------------
digest=$(
    {
        cat "$here/build-images.sh" "$here/versions.env"
        find "$here/dom0" -type f | LC_ALL=C sort | xargs cat
        echo "$packages"
        echo "$mirrors"
    } | sha256sum | cut -c1-16
)
cache=${XLCP_CACHE:-$HOME/.cache/xl-checkpoint}
out="$cache/images-$digest"

if [ "$print_only" = 1 ]; then
    echo "$out"
    exit 0
fi
if [ "$force" = 0 ] && [ -f "$out/.complete" ]; then
    log "warm: images are cached in $out"
    echo "$out"
    exit 0
fi

# ---- preconditions -----------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root (mmdebstrap builds the dom0 tree as root)"
for t in mmdebstrap mkfs.ext4 cpio gzip readelf sha256sum; do
    command -v "$t" >/dev/null || die "$t missing: run tools/nested/deps.sh (or make deps)"
done
mkdir -p "$cache"
need_mb=7000
avail_mb=$(df --output=avail -BM "$cache" | tail -1 | tr -dc 0-9)
if [ "$avail_mb" -lt "$need_mb" ]; then
    die "not enough free disk space in $cache: ${avail_mb} MiB free, the nested images need \
about ${need_mb} MiB (set XLCP_CACHE to a roomier place or free some space)"
fi

t0=$(date +%s)
work="$cache/.tmp-images-$digest.$$"
rm -rf "$work"
mkdir -p "$work"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
root="$work/rootfs"

log "cold build into $out"
log "mirrors:"
echo "$mirrors" | sed 's/^/    /' >&2

# ---- 1. dom0 tree ------------------------------------------------------------------------
mapfile -t mirror_args <<<"$mirrors"
# shellcheck disable=SC2086
mmdebstrap --mode=root --variant=minbase --format=directory \
    --aptopt='APT::Install-Recommends "false"' \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --include="$(echo $packages | tr ' ' ',')" \
    --customize-hook='printf "virtio_pci\nvirtio_blk\n" >>"$1/etc/initramfs-tools/modules"' \
    --customize-hook='chroot "$1" update-initramfs -u -k all' \
    "$DEBIAN_SUITE" "$root" "${mirror_args[@]}" >&2 ||
    die "mmdebstrap failed (see above)"
log "dom0 tree done after $(($(date +%s) - t0))s ($(du -sm "$root" | cut -f1) MiB)"

# ---- 2. check what got installed ---------------------------------------------------------
pkgver() { chroot "$root" dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo none; }
kver=$(pkgver "$kpkg")
xver=$(pkgver "xen-hypervisor-${XEN_SERIES}-amd64")
[ "$kver" != none ] || die "$kpkg is not installed in the dom0 tree"
[ "$xver" != none ] || die "xen-hypervisor-${XEN_SERIES}-amd64 is not installed in dom0"
[ "$kver" = "$KERNEL_VERSION" ] ||
    log "WARNING: $kpkg is $kver, versions.env says $KERNEL_VERSION"
[ "$xver" = "$XEN_EXPECTED_VERSION" ] ||
    log "WARNING: dom0 Xen is $xver, versions.env expects $XEN_EXPECTED_VERSION"
hostxen=$(dpkg-query -W -f='${Version}' libxen-dev 2>/dev/null || echo none)
[ "$hostxen" = "$xver" ] ||
    log "WARNING: host libxen-dev is $hostxen but dom0 runs Xen $xver"
kdir="$root/lib/modules/${KERNEL_ABI}-${KERNEL_FLAVOUR}"
[ -d "$kdir" ] || die "no $kdir in the dom0 tree"
[ -f "$root/boot/initrd.img-${KERNEL_ABI}-${KERNEL_FLAVOUR}" ] ||
    die "the kernel package made no initrd in the dom0 tree"

# ---- 3. dom0 customisation ---------------------------------------------------------------
install -D -m 0755 "$here/dom0/boot.sh" "$root/usr/lib/xlcp-nested/boot.sh"
install -D -m 0644 "$here/dom0/xlcp-nested.service" \
    "$root/etc/systemd/system/xlcp-nested.service"
ln -sf /etc/systemd/system/xlcp-nested.service \
    "$root/etc/systemd/system/multi-user.target.wants/xlcp-nested.service"
install -D -m 0644 "$here/dom0/autologin.conf" \
    "$root/etc/systemd/system/serial-getty@hvc0.service.d/autologin.conf"
# Nothing periodic or slow at boot that the tests do not need.
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
    fstrim.timer xendomains.service systemd-timesyncd.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$u"
done
echo xlcp-dom0 >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\txlcp-dom0\n' >"$root/etc/hosts"
printf '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t0\n' >"$root/etc/fstab"
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"
# Do not keep apt's downloads in the image.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages

# ---- 4. boot files -----------------------------------------------------------------------
staging="$work/out"
mkdir -p "$staging"
xengz=$(find "$root/boot" -maxdepth 1 -name "xen-${XEN_SERIES}-amd64.gz" | head -1)
[ -n "$xengz" ] || xengz=$(find "$root/boot" -maxdepth 1 -name 'xen-*.gz' | sort | tail -1)
[ -n "$xengz" ] || die "no /boot/xen-*.gz in the dom0 tree"
gzip -dc "$xengz" >"$staging/xen.elf"
cp "$root/boot/vmlinuz-${KERNEL_ABI}-${KERNEL_FLAVOUR}" "$staging/dom0-vmlinuz"
cp "$root/boot/initrd.img-${KERNEL_ABI}-${KERNEL_FLAVOUR}" "$staging/dom0-initrd.img"
cp "$root/boot/vmlinuz-${KERNEL_ABI}-${KERNEL_FLAVOUR}" "$staging/guest-vmlinuz"
cp "$root/boot/config-${KERNEL_ABI}-${KERNEL_FLAVOUR}" "$staging/kernel-config"

# ---- 5. guest base initramfs -------------------------------------------------------------
g="$work/guest"
mkdir -p "$g"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,proc,sys,dev,tmp,run,mnt,root,etc,lib/xlcp}
ln -s usr/bin "$g/bin"
ln -s usr/sbin "$g/sbin"
ln -s usr/lib64 "$g/lib64"
cp "$root/bin/busybox" "$g/usr/bin/busybox"
file_in_root() { # absolute path inside the tree, symlinks resolved inside the tree
    local p=$1 n=0 l
    while [ -L "$root$p" ] && [ $n -lt 20 ]; do
        l=$(readlink "$root$p")
        case "$l" in /*) p=$l ;; *) p=$(dirname "$p")/$l ;; esac
        p=$(realpath -m -s "$p")
        n=$((n + 1))
    done
    # merged /usr: /bin, /sbin, /lib are links in the tree
    case "$p" in
    /bin/* | /sbin/* | /lib/* | /lib64/*) [ -e "$root$p" ] || p=/usr$p ;;
    esac
    [ -e "$root$p" ] || p=$(realpath -m "$root$p" | sed "s|^$root||")
    echo "$p"
}
declare -A copied=()
copy_lib() { # NAME (a DT_NEEDED soname)
    local name=$1 src
    [ -n "${copied[$name]:-}" ] && return 0
    copied[$name]=1
    src=""
    for d in /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu /usr/lib; do
        if [ -e "$root$d/$name" ]; then
            src=$(file_in_root "$d/$name")
            break
        fi
    done
    [ -n "$src" ] || die "guest initramfs: library $name not found in the dom0 tree"
    cp -L "$root$src" "$g/usr/lib/x86_64-linux-gnu/$name"
    copy_needed "$root$src"
}
copy_needed() { # ELF file (host path)
    local lib
    for lib in $(readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        copy_lib "$lib"
    done
}
copy_bin() { # path in the tree, destination dir in the guest
    local src
    src=$(file_in_root "$1")
    [ -f "$root$src" ] || die "guest initramfs: $1 not found in the dom0 tree"
    cp -L "$root$src" "$g$2/$(basename "$1")"
    copy_needed "$root$src"
}
for b in xenstore-read xenstore-write xenstore-watch xenstore-ls xenstore-rm xenstore-exists \
    xenstore-list; do
    copy_bin "/usr/bin/$b" /usr/bin
done
copy_bin /usr/sbin/mke2fs /usr/sbin
ln -sf mke2fs "$g/usr/sbin/mkfs.ext4"
copy_bin /usr/sbin/fsfreeze /usr/sbin
# the dynamic loader, at the path the binaries ask for
interp=$(readelf -l "$root/usr/sbin/mke2fs" | sed -n 's/.*interpreter: \(.*\)]/\1/p')
mkdir -p "$g$(dirname "$interp")"
cp -L "$root$(file_in_root "$interp")" "$g/usr$interp" 2>/dev/null ||
    cp -L "$root$(file_in_root "$interp")" "$g$interp"
[ -e "$g$interp" ] || [ -e "$g/usr$interp" ] || die "guest initramfs: no loader $interp"
cp "$root/etc/mke2fs.conf" "$g/etc/mke2fs.conf" 2>/dev/null || true

# Kernel modules: xen-blkfront, xen-netfront (t72: guests on a dom0 bridge), plus whatever
# ext4 needs if it is a module, with their deps.
moddir=lib/modules/${KERNEL_ABI}-${KERNEL_FLAVOUR}
mkdir -p "$g/$moddir"
wanted=""
for m in xen-blkfront xen-netfront ext4 crc32c_generic; do
    p=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*/, "", n);
        gsub(/_/, "-", n); mm = m; gsub(/_/, "-", mm); if (n == mm) { print $0; exit } }' \
        "$root/$moddir/modules.dep")
    [ -n "$p" ] || continue # built in
    # deps first (modules.dep lists them in load order, last loaded last), then the module
    for d in $(echo "${p#*:}" | tr ' ' '\n' | tac) "${p%%:*}"; do
        case " $wanted " in *" $d "*) ;; *) wanted="$wanted $d" ;; esac
    done
done
: >"$g/lib/xlcp/modules.load"
for rel in $wanted; do
    src="$root/$moddir/$rel"
    base=$(basename "$rel")
    case "$base" in
    *.ko.xz) xz -dc "$src" >"$g/$moddir/${base%.xz}"; base=${base%.xz} ;;
    *.ko.zst) zstd -qdc "$src" >"$g/$moddir/${base%.zst}"; base=${base%.zst} ;;
    *) cp "$src" "$g/$moddir/$base" ;;
    esac
    echo "/$moddir/$base" >>"$g/lib/xlcp/modules.load"
done
grep -q xen-blkfront "$g/lib/xlcp/modules.load" ||
    grep -q '^CONFIG_XEN_BLKDEV_FRONTEND=y' "$staging/kernel-config" ||
    die "guest initramfs: xen-blkfront module not found"
# A placeholder /init; run.sh appends the real agent (tests/nested/guest/init) at run time.
cat >"$g/init" <<'EOS'
#!/bin/busybox sh
/bin/busybox echo "xlcp guest: no agent in this initramfs (run.sh appends it)"
exec /bin/busybox sh
EOS
chmod 0755 "$g/init"
(cd "$g" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
    gzip -9n >"$staging/guest-base.cpio.gz"
log "guest initramfs: $(du -k "$staging/guest-base.cpio.gz" | cut -f1) KiB, modules:$wanted"

# ---- 6. dom0 image -----------------------------------------------------------------------
mkfs.ext4 -q -F -L xlcp-dom0 -d "$root" "$staging/dom0.img" "$DOM0_IMAGE_SIZE" >&2 ||
    die "mkfs.ext4 -d failed"
cat >"$staging/manifest.env" <<EOF
IMAGES_DIGEST=$digest
KERNEL_PACKAGE=$kpkg
KERNEL_PACKAGE_VERSION=$kver
XEN_VERSION=$xver
HOST_LIBXEN_VERSION=$hostxen
BUILT_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
BUILD_SECONDS=$(($(date +%s) - t0))
EOF
touch "$staging/.complete"
rm -rf "$out"
mv "$staging" "$out"
log "images ready in $out after $(($(date +%s) - t0))s"

# ---- 7. drop stale cache entries -------------------------------------------------------
for d in "$cache"/images-*; do
    [ -d "$d" ] && [ "$d" != "$out" ] && { log "removing stale $d"; rm -rf "$d"; }
done
for d in "$cache"/.tmp-images-*; do
    [ -d "$d" ] && [ "$d" != "$work" ] && rm -rf "$d"
done
echo "$out"
