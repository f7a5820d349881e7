#!/bin/bash
# t80-deb.sh - the Debian packages (built on the host by `make deb-build`, carried on the
# payload in deb/, with examples/backup built there through pkg-config) in nested dom0:
#   - `dpkg -i` of xl-checkpoint, libxlcheckpoint0 and libxlcheckpoint-dev succeeds with
#     dom0's own packages (no network here: a missing dependency is named);
#   - /usr/sbin/xl is still Xen's (owner, content); the packaged `xl-checkpoint version`
#     works from /usr/sbin; the systemd units are installed but not enabled; the opt-in
#     dispatcher /usr/libexec/xl-checkpoint/xl on PATH sends `xl checkpoint` to us and the
#     rest to Xen's xl;
#   - with PATH free of /usr/local: a checkpoint of a small guest, verify, delete;
#   - examples/backup against the packaged library (resolved there, not in /usr/local):
#     two runs with --keep-last 1 and --export-to DIR, JSON report checked against the
#     catalog and LVM; the first run exports in full, the second incrementally since the
#     first (its thin disk as the changed blocks: a smaller export), then prunes the
#     first's checkpoint;
#   - `dpkg --purge` leaves no file of the packages behind (`dpkg -L` before, checked after),
#     Xen's xl and the staged /usr/local install (the other tests use it) are intact.
# timeout: 600
set -uo pipefail
export XLCP_STOCK_HOTPLUG=1 # as an administrator's host: Xen's own block hotplug script
. "$(dirname "$0")/lib.sh"

# With XLCP_NESTED_INSTALL=deb the whole suite runs on the packages (installed by
# run-tests.sh): their install and purge are this test's in the default mode only.
if [ "${XLCP_NESTED_INSTALL:-stage}" = deb ]; then
    skip "install and purge of the packages" "the suite runs on the installed packages (XLCP_NESTED_INSTALL=deb)"
    done_testing
    exit
fi
D=$XLCP_PAYLOAD/deb
BK=$XLCP_PAYLOAD/examples/backup
PKGS=(xl-checkpoint libxlcheckpoint0 libxlcheckpoint-dev)
P=/usr/sbin:/usr/bin:/sbin:/bin # no /usr/local: only the packaged binaries
W=/var/tmp/t80 # the exports need room: /run is a small tmpfs in dom0
rm -rf "$W"
mkdir -p "$W"
export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t80
rm -rf "$XLCP_CATALOG_ROOT"

debs=()
for p in "${PKGS[@]}"; do
    f=$(ls "$D/${p}"_*.deb 2>/dev/null | head -n 1)
    [ -n "$f" ] || bail "package $p on the payload" "no $D/${p}_*.deb (make deb-build before the run)"
    debs+=("$f")
done
[ -x "$BK" ] || bail "examples/backup on the payload" "no $BK (make examples)"
ok "packages on the payload: ${debs[*]##*/}"

# Whatever happens, the packages do not outlive this test.
cleanup() {
    dpkg -s xl-checkpoint >/dev/null 2>&1 && dpkg --purge "${PKGS[@]}" >/dev/null 2>&1
    rm -rf "$XLCP_CATALOG_ROOT" "$W"
}
trap cleanup EXIT

# ---- before ------------------------------------------------------------------------------
xl_owner=$(dpkg -S /usr/sbin/xl 2>/dev/null)
xl_sum=$(sha256sum </usr/sbin/xl)
(cd "$XLCP_STAGE" && find . ! -type d | sed 's|^\.||' | LC_ALL=C sort) >"$W/stage.files"
xargs -d '\n' sha256sum <"$W/stage.files" >"$W/stage.sums" 2>"$W/stage.err" ||
    bail "the staged install is in /" "$(head -n 3 "$W/stage.err")"
# every path of the packages, and which of them exist before the install
for f in "${debs[@]}"; do dpkg-deb -c "$f"; done | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||' |
    grep -v '^\.\?$' | LC_ALL=C sort -u >"$W/paths"
while read -r p; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done <"$W/paths" >"$W/existed"
diag "$(wc -l <"$W/paths") paths in the packages, $(wc -l <"$W/existed") exist before (directories like /usr)"
pre=$(while read -r p; do [ -d "$p" ] || echo "$p"; done <"$W/existed")
[ -z "$pre" ] && ok "no file of the packages is on dom0 before" || not_ok "no file of the packages before" "$pre"

# ---- install -----------------------------------------------------------------------------
out=$(watchdog 300 dpkg -i "${debs[@]}" 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
    missing=$(printf '%s\n' "$out" | sed -n 's/.*depends on \([^;]*\); however:.*/\1/p' | sort -u | tr '\n' ' ')
    bail "dpkg -i of the three packages" "exit $rc; missing dependencies: ${missing:-none named}
$(printf '%s\n' "$out" | tail -n 12)"
fi
ok "dpkg -i of the three packages with dom0's packages (exit 0)"
for p in "${PKGS[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
        not_ok "$p installed" "$(dpkg-query -W -f='${Status}' "$p" 2>&1)"
    dpkg -L "$p" >>"$W/listed"
done
grep -v '^/\.$' "$W/listed" | LC_ALL=C sort -u >"$W/listed.s" && mv "$W/listed.s" "$W/listed"
ver=$(dpkg-query -W -f='${Version}' xl-checkpoint)

[ "$(dpkg -S /usr/sbin/xl 2>/dev/null)" = "$xl_owner" ] && [ "$(sha256sum </usr/sbin/xl)" = "$xl_sum" ] &&
    ok "/usr/sbin/xl is still Xen's ($xl_owner), unchanged" ||
    not_ok "/usr/sbin/xl is still Xen's" "$(dpkg -S /usr/sbin/xl 2>&1; ls -l /usr/sbin/xl)"
[ "$(PATH=$P command -v xl-checkpoint)" = /usr/sbin/xl-checkpoint ] &&
    PATH=$P xl-checkpoint version 2>&1 | grep -q "^xl-checkpoint $ver " &&
    ok "xl-checkpoint version from /usr/sbin: $(PATH=$P xl-checkpoint version)" ||
    not_ok "xl-checkpoint version from /usr/sbin" "$(PATH=$P xl-checkpoint version 2>&1)"
st=$(systemctl is-enabled xl-checkpoint-prune.timer 2>&1)
[ "$st" = disabled ] && [ -f /lib/systemd/system/xl-checkpoint@.service ] &&
    ok "systemd units installed, not enabled (xl-checkpoint-prune.timer: $st)" ||
    not_ok "systemd units installed, not enabled" "xl-checkpoint-prune.timer: $st"
out=$(PATH=/usr/libexec/xl-checkpoint:$P xl checkpoint version 2>&1)
out2=$(PATH=/usr/libexec/xl-checkpoint:$P xl domid Domain-0 2>&1)
[ "$out" = "$(PATH=$P xl-checkpoint version)" ] && [ "$out2" = 0 ] &&
    ok "opt-in: /usr/libexec/xl-checkpoint on PATH: 'xl checkpoint' is ours, 'xl domid' Xen's" ||
    not_ok "opt-in dispatcher" "xl checkpoint version: $out; xl domid Domain-0: $out2"

# the example runs on the packaged library (the staged one in /usr/local has the same SONAME)
lib=$(dpkg -L libxlcheckpoint0 | grep '/libxlcheckpoint\.so\.0$')
libdir=$(dirname "$lib")
diag "ld.so.cache: $(ldconfig -p | grep libxlcheckpoint | tr -s ' \t' ' ' | tr '\n' ';')"
resolved=$(LD_LIBRARY_PATH=$libdir ldd "$BK" | awk '$1 == "libxlcheckpoint.so.0" { print $3 }')
[ "$resolved" = "$lib" ] && dpkg -S "$lib" 2>/dev/null | grep -q '^libxlcheckpoint0' &&
    grep -aq /usr/libexec/xl-checkpoint/xlcp-guardian "$lib" &&
    ok "examples/backup resolves the packaged $lib (its guardian: /usr/libexec)" ||
    not_ok "examples/backup on the packaged library" "resolved: $resolved"

# ---- a checkpoint with the packaged tool -----------------------------------------------
g=gdeb
guest_start "$g" thin:64M && guest_wait_ready "$g" && ok "$g ready (thin LV)" || bail "$g ready"
id=$(PATH=$P watchdog 600 xl-checkpoint create --name t80 "$g" 2>"$W/err") &&
    ok "packaged xl-checkpoint create: $id" || bail "packaged create" "$(tail -n 5 "$W/err")"
check "packaged xl-checkpoint verify" env PATH=$P xl-checkpoint verify "$id"
snap=$(PATH=$P xl-checkpoint info --json "$id" | grep -o '"snapshot": *"[^"]*"' | head -n 1 | sed 's/.*: *"//; s/"$//')
# (thin snapshot volumes are skipped at activation: no device node, ask LVM)
lv_exists() { [ -n "$1" ] && lvs "${1#/dev/}" >/dev/null 2>&1; }
lv_exists "$snap" && ok "its snapshot volume $snap" || not_ok "its snapshot volume" "'$snap'"
check "packaged xl-checkpoint delete" env PATH=$P xl-checkpoint delete "$id"
out=$(PATH=$P xl-checkpoint list --json "$g" 2>&1)
[ -n "$snap" ] && ! lv_exists "$snap" && printf '%s' "$out" | grep -q '"checkpoints"' &&
    ! printf '%s' "$out" | grep -q '"id"' &&
    ok "deleted: no checkpoint, no snapshot volume" ||
    not_ok "deleted" "$out; $(lvs --noheadings -o lv_name "$VG" | tr -s ' \n' ' ')"

# ---- the example backup program ---------------------------------------------------------
# jstr KEY FILE: the first string value of KEY; jnum KEY FILE: the first number
jstr() { grep -o "\"$1\": *\"[^\"]*\"" "$2" | head -n 1 | sed 's/.*: *"//; s/"$//'; }
jnum() { grep -o "\"$1\": *[0-9][0-9]*" "$2" | head -n 1 | sed 's/.*: *//'; }
backup() { # backup N: run it, report in $W/b$N.json
    LD_LIBRARY_PATH=$libdir PATH=$P watchdog 600 "$BK" --keep-last 1 --label t80 --export-to "$W/exports" "$g" \
        >"$W/b$1.json" 2>"$W/b$1.err"
}
if backup 1; then ok "backup 1: exit 0"; else bail "backup 1" "$(cat "$W/b1.json"; tail -n 5 "$W/b1.err")"; fi
diag "$(cat "$W/b1.json")"
id1=$(jstr id "$W/b1.json")
mem=$(jstr path "$W/b1.json")
bytes=$(jnum bytes "$W/b1.json")
snap1=$(jstr snapshot "$W/b1.json")
grep -q '^{"ok": true, ' "$W/b1.json" && [ -n "$id1" ] &&
    PATH=$P xl-checkpoint list "$g" | grep -q "^$id1 " && ok "backup 1 reports checkpoint $id1, in the catalog" ||
    not_ok "backup 1 reports its checkpoint" "$(cat "$W/b1.json")"
[ -f "$mem" ] && [ "$(stat -c %s "$mem")" = "$bytes" ] && [ "$bytes" -gt $((64 << 20)) ] &&
    ok "memory image $mem, $bytes bytes as reported" || not_ok "memory image" "$mem: $(ls -l "$mem" 2>&1) vs $bytes"
lv_exists "$snap1" && grep -q '"thin": true' "$W/b1.json" && ok "disk snapshot $snap1 (thin)" ||
    not_ok "disk snapshot" "'$snap1'"
grep -q '"pruned": \[\]' "$W/b1.json" && ok "nothing pruned on the first run" || not_ok "nothing pruned" "$(cat "$W/b1.json")"
# xexp N KEY: KEY of the report's "export" object
xexp() { grep -o '"export": {[^}]*}' "$W/b$1.json" | grep -o "\"$2\": *[^,}]*" | sed 's/.*: *//; s/"//g'; }
e1=$(xexp 1 bytes)
[ "$(xexp 1 since)" = null ] && [ -f "$W/exports/$id1/export.xml" ] && [ -f "$W/exports/$id1/memory.xl" ] &&
    [ -n "$e1" ] && [ "$(cat "$W/exports/last")" = "$id1" ] &&
    ok "backup 1 exported $id1 in full ($e1 bytes; last = $id1)" ||
    not_ok "backup 1's full export" "$(xexp 1 since) $(ls -l "$W/exports" "$W/exports/$id1" 2>&1)"
if backup 2; then ok "backup 2: exit 0"; else not_ok "backup 2" "$(cat "$W/b2.json"; tail -n 5 "$W/b2.err"; df -h / /var/tmp /run)"; fi
diag "$(cat "$W/b2.json")"
id2=$(jstr id "$W/b2.json")
[ -n "$id2" ] && [ "$id2" != "$id1" ] && grep -q "\"pruned\": \[\"$id1\"\]" "$W/b2.json" &&
    grep -q "\"kept\": \[\"$id2\"\]" "$W/b2.json" && ok "backup 2 ($id2) pruned $id1, kept itself" ||
    not_ok "backup 2 pruned the first" "$(cat "$W/b2.json")"
e2=$(xexp 2 bytes)
[ "$(xexp 2 since)" = "$id1" ] && ls "$W/exports/$id2"/disks/*.delta >/dev/null 2>&1 &&
    [ -n "$e2" ] && [ -n "$e1" ] && [ "$e2" -lt "$e1" ] && [ "$(cat "$W/exports/last")" = "$id2" ] &&
    ok "backup 2 exported $id2 since $id1: $e2 bytes (the full one: $e1), its thin disk as a delta" ||
    not_ok "backup 2's incremental export" "since '$(xexp 2 since)', $e2 vs $e1 bytes: $(ls -l "$W/exports/$id2" "$W/exports/$id2/disks" 2>&1)"
! PATH=$P xl-checkpoint info "$id1" >/dev/null 2>&1 && ! lv_exists "$snap1" && [ ! -e "$mem" ] &&
    ok "$id1 is gone: manifest, memory image, snapshot volume" ||
    not_ok "$id1 is gone" "$(ls -l "$mem" "$snap1" 2>&1)"
check "$id2 verifies" env PATH=$P xl-checkpoint verify "$id2"
PATH=$P xl-checkpoint delete "$id2" >/dev/null 2>&1
guest_destroy "$g"

# ---- purge -------------------------------------------------------------------------------
out=$(watchdog 300 dpkg --purge "${PKGS[@]}" 2>&1) && ok "dpkg --purge of the three packages" ||
    not_ok "dpkg --purge" "$out"
left=$(while read -r p; do
    if grep -qxF "$p" "$W/existed"; then
        [ -e "$p" ] || echo "MISSING $p (it was there before)"
    elif [ -e "$p" ] || [ -L "$p" ]; then
        echo "$p"
    fi
done <"$W/listed")
[ -z "$left" ] && ok "purge left nothing of the $(wc -l <"$W/listed") paths dpkg -L listed" ||
    not_ok "purge left nothing behind" "$left"
st=$(find /var/lib/dpkg/info -name 'xl-checkpoint[._:]*' -o -name 'libxlcheckpoint*' | tr '\n' ' ')
st="$st$(find /var/lib/systemd/deb-systemd-helper-enabled /var/lib/systemd/deb-systemd-helper-masked \
    -name '*xl-checkpoint*' 2>/dev/null | tr '\n' ' ')"
st="$st$(grep -rls xl-checkpoint /var/lib/systemd/deb-systemd-helper-enabled 2>/dev/null | tr '\n' ' ')"
[ -z "$st" ] && ok "no dpkg or deb-systemd-helper state of the packages left" || not_ok "state left" "$st"
[ "$(dpkg -S /usr/sbin/xl 2>/dev/null)" = "$xl_owner" ] && [ "$(sha256sum </usr/sbin/xl)" = "$xl_sum" ] &&
    ok "/usr/sbin/xl is Xen's after the purge" || not_ok "/usr/sbin/xl is Xen's after the purge"
out=$(sha256sum --quiet -c "$W/stage.sums" 2>&1) && ok "the staged /usr/local install is intact ($(wc -l <"$W/stage.sums") files)" ||
    not_ok "the staged /usr/local install is intact" "$(printf '%s\n' "$out" | head -n 5)"
check "xl-checkpoint from /usr/local still works" /usr/local/sbin/xl-checkpoint version

done_testing
