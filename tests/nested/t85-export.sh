#!/bin/bash
# t85-export.sh - export for backup tools: a PV guest with a thin and a thick LV;
# checkpoint A, full export; the guest writes 10 MiB to its thin disk; checkpoint B,
# export --since A (the thin disk as its changed blocks, found with thin_delta); both
# sizes reported. Import of the chain under a new name: it verifies, its volumes hold
# B's snapshots' content (digests in dom0), it restores, and the restored guest reads
# the 10 MiB it wrote before B. A broken chain is refused. `xl restore` reads an
# exported memory.xl as it is.
# timeout: 1200
set -uo pipefail
. "$(dirname "$0")/lib.sh"

g=gexp
export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-$g
audit_log=/var/tmp/xlcp-audit-$g.log
rm -f "$audit_log"
export XLCP_AUDIT=file:$audit_log
x=/var/tmp/t85-export-$g
rm -rf "$XLCP_CATALOG_ROOT" "$x" "$audit_log"
mkdir -p "$x"
command -v thin_delta >/dev/null && ok "thin_delta present ($(thin_delta -V 2>&1))" ||
    bail "thin_delta present"
guest_start "$g" thin:128M thick:64M && ok "guest created" || bail "guest created"
guest_wait_ready "$g" 240 && ok "guest ready" || bail "guest ready"
out=$(guest_run "$g" 'dd if=/dev/urandom of=/dev/xvda bs=1M count=4 2>/dev/null && sync &&
dd if=/dev/urandom of=/dev/xvdb bs=1M count=4 2>/dev/null && sync && echo written' 120)
[ "$(printf '%s' "$out" | tail -n 1)" = written ] && ok "4 MiB written to each disk" ||
    bail "data written" "$out"

snap_id() { # the id from create --json
    printf '%s' "$1" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p' | head -n 1
}
out=$(watchdog 600 xl-checkpoint create --json "$g" 2>&1)
a=$(snap_id "$out")
[ -n "$a" ] && ok "checkpoint A $a" || bail "checkpoint A" "$out"
t0=$(now)
out=$(watchdog 600 xl-checkpoint export "$a" --to "$x/A" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "full export of A ($(elapsed "$t0")s): $out" || bail "full export" "exit $rc: $out"

out=$(guest_run "$g" 'dd if=/dev/urandom of=/dev/xvda bs=1M count=10 seek=64 2>/dev/null && sync &&
dd if=/dev/xvda bs=1M skip=64 count=10 2>/dev/null | md5sum' 180)
sum10=$(printf '%s' "$out" | tail -n 1 | cut -d' ' -f1)
[ ${#sum10} -eq 32 ] && ok "guest wrote 10 MiB to its thin disk (md5 $sum10)" ||
    bail "10 MiB written" "$out"
out=$(watchdog 600 xl-checkpoint create --json "$g" 2>&1)
b=$(snap_id "$out")
[ -n "$b" ] && ok "checkpoint B $b" || bail "checkpoint B" "$out"
t0=$(now)
out=$(watchdog 600 xl-checkpoint export "$b" --since "$a" --to "$x/B" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "incremental export of B since A ($(elapsed "$t0")s): $out" ||
    bail "incremental export" "exit $rc: $out"
# thin-pool status: <start> <len> thin-pool <transaction> <meta> <data> <held metadata root> ...
held=$(dmsetup status "$VG-pool-tpool" | awk '{ print $7 }')
[ "$held" = - ] && ok "no metadata snapshot left reserved" ||
    not_ok "metadata snapshot released" "$(dmsetup status "$VG-pool-tpool")"

full_thin=$(stat -c %s "$x/A/disks/xvda.img")
full_thin_du=$(du -B1 "$x/A/disks/xvda.img" | cut -f1)
delta=$(stat -c %s "$x/B/disks/xvda.delta")
a_all=$(du -sb --apparent-size "$x/A" | cut -f1)
b_all=$(du -sb --apparent-size "$x/B" | cut -f1)
a_du=$(du -sB1 "$x/A" | cut -f1)
b_du=$(du -sB1 "$x/B" | cut -f1)
diag "SIZES full export A: $a_all bytes apparent, $a_du on disk; incremental B: $b_all apparent, $b_du on disk"
diag "SIZES thin disk: full image $full_thin bytes ($full_thin_du on disk), delta $delta bytes; memory.xl $(stat -c %s "$x/B/memory.xl")"
[ "$delta" -ge $((10 << 20)) ] && [ "$delta" -le $((12 << 20)) ] &&
    ok "the thin disk's delta holds the 10 MiB written (+ pool-block rounding): $delta bytes" ||
    not_ok "delta size" "$delta"
[ "$full_thin" -eq $((128 << 20)) ] && [ "$full_thin_du" -lt $((16 << 20)) ] &&
    ok "full image is sparse ($full_thin bytes, $full_thin_du on disk)" ||
    not_ok "sparse full image" "$full_thin / $full_thin_du"
grep -c extent "$x/B/export.xml" | grep -qv '^0$' && ok "block map in the index" ||
    not_ok "block map in the index" "$(head -c 600 "$x/B/export.xml")"

# --to -: the same as a tar stream
list=$(watchdog 600 xl-checkpoint export "$b" --since "$a" --to - | tar -tvf - 2>&1)
printf '%s' "$list" | grep -q 'export.xml' && printf '%s' "$list" | grep -q 'disks/xvda.delta' &&
    ok "export --to - writes a tar stream with the index and the delta" ||
    not_ok "export --to - as tar" "$(printf '%s' "$list" | head -n 8)"
left=$(find /var/tmp -maxdepth 1 -name 'xlcp-export-*')
[ -z "$left" ] && ok "tar export's temporary directory removed" ||
    not_ok "tar export's temporary directory removed" "$left"

# A broken chain is refused: B alone, B before A
out=$(xl-checkpoint import "$x/B" 2>&1)
rc=$?
[ $rc -eq 2 ] || [ $rc -eq 1 ] && printf '%s' "$out" | grep -q "full export" &&
    ok "an incremental alone is refused (exit $rc)" || not_ok "incremental alone refused" "exit $rc: $out"
out=$(xl-checkpoint import "$x/A" "$x/A" 2>&1)
rc=$?
[ $rc -ne 0 ] && printf '%s' "$out" | grep -q "broken chain" &&
    ok "a broken chain is refused (exit $rc)" || not_ok "broken chain refused" "exit $rc: $out"

t0=$(now)
out=$(watchdog 600 xl-checkpoint import --name "$g-imp" "$x/A" "$x/B" 2>&1)
rc=$?
n=$(printf '%s' "$out" | tail -n 1)
[ $rc -eq 0 ] && [ -n "$n" ] && ok "import of A + B ($(elapsed "$t0")s): $n" ||
    bail "import" "exit $rc: $out"
out=$(watchdog 300 xl-checkpoint verify "$n" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "the imported checkpoint verifies" || not_ok "verify" "exit $rc: $out"

# its volumes hold B's snapshots' content
vsum() { # vg/lv -> sha256 of its content (activated for the read if needed)
    local act=0 s
    if [ ! -e "/dev/$1" ]; then lvm_run lvchange -q -ay -K "$1" >/dev/null && act=1; fi
    s=$(sha256sum "/dev/$1" | cut -d' ' -f1)
    [ $act = 1 ] && lvm_run lvchange -q -an "$1" >/dev/null
    echo "$s"
}
for d in 0 1; do
    s_b=$(vsum "$VG/$g-d$d.xlcp.$b")
    s_n=$(vsum "$VG/$g-d$d.xlcp.$n")
    [ -n "$s_b" ] && [ "$s_b" = "$s_n" ] && ok "disk $d: imported volume = B's snapshot (sha256 ${s_b:0:16})" ||
        not_ok "disk $d imported = B" "B $s_b, imported $s_n"
done
lvs --noheadings -o lv_name,segtype,lv_tags "$VG" | grep "xlcp\.$n" | while read -r l; do diag "imported: $l"; done

# drop the exports before restoring (dom0's disk is small)
rm -rf "$x/B"
out=$(watchdog 600 xl-checkpoint restore --name "$g-r" "$n" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "the imported checkpoint restores as $g-r" || bail "restore" "exit $rc: $out"
c=$(guest_wait_counter "$g-r" 0 90) && ok "restored guest runs (counter $c)" ||
    not_ok "restored guest runs" "$(guest_console "$g-r" | tail -n 5)"
out=$(guest_run "$g-r" 'dd if=/dev/xvda bs=1M skip=64 count=10 2>/dev/null | md5sum' 180)
r10=$(printf '%s' "$out" | tail -n 1 | cut -d' ' -f1)
[ "$r10" = "$sum10" ] && ok "restored guest reads the 10 MiB it wrote before B ($r10)" ||
    not_ok "restored guest's 10 MiB" "'$r10' vs '$sum10'"
grep -q "op=export" "$audit_log" && grep -q "op=import" "$audit_log" &&
    ok "audit lines for export and import" || not_ok "audit lines" "$(cat "$audit_log" 2>&1)"

# the exported memory image is a plain xl save image
guest_destroy "$g-r"
guest_destroy "$g"
out=$(watchdog 300 "$XL" restore -p "$x/A/memory.xl" 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "xl restore of the exported memory.xl" || not_ok "xl restore of exported memory.xl" "exit $rc: $(printf '%s' "$out" | tail -n 3)"
"$XL" unpause "$g" 2>/dev/null
c=$(guest_wait_counter "$g" 0 60) && ok "domain from xl restore runs (counter $c)" ||
    not_ok "domain from xl restore runs" "$(guest_console "$g" | tail -n 5)"
guest_destroy_all
for id in "$n" "$b" "$a"; do xl-checkpoint delete "$id" >/dev/null 2>&1; done
lv_cleanup "$g"
rm -rf "$XLCP_CATALOG_ROOT" "$x" "$audit_log"
done_testing
