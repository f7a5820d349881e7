#!/bin/bash
# t00-harness.sh - the harness itself works: Xen answers `xl info`, LVM is there, a PV
# guest starts, its agent reports and its counter advances, and commands reach the guest.
# timeout: 300
set -uo pipefail
. "$(dirname "$0")/lib.sh"

check "xl info answers" "$XL" info
diag "$("$XL" info | grep -E '^(xen_version|total_memory|free_memory|nr_cpus)')"
check "volume group vg0 with thin pool" lvs vg0/pool

# canary: the same computation gives the same answer (emulated CPU state kept intact)
n=$(for i in 1 2 3 4; do head -c 16M /dev/zero | gzip -1 | gzip -dc | md5sum; done | sort -u | wc -l)
[ "$n" = 1 ] && ok "dom0: repeated gzip round trips agree" ||
    not_ok "dom0: repeated gzip round trips agree" "$n different digests"

t0=$(now)
if guest_start g0 thick:64M; then
    ok "xl create of a PV guest ($(elapsed "$t0")s)"
else
    bail "xl create of a PV guest"
fi
t0=$(now)
guest_wait_ready g0 180 && ok "guest agent ready ($(elapsed "$t0")s after create)" ||
    bail "guest agent ready"
c1=$(guest_counter g0)
c2=$(guest_wait_counter g0 "$((c1 + 2))" 60) &&
    ok "guest counter advances ($c1 -> $c2)" || not_ok "guest counter advances" "stuck at $c2"
out=$(guest_run g0 'uname -r; echo hello from $(cat /run/counter)')
rc=$?
[ $rc -eq 0 ] && printf '%s' "$out" | grep -q 'hello from' &&
    ok "command runs in the guest" || not_ok "command runs in the guest" "rc $rc, output: $out"
diag "$out"
out=$(guest_run g0 'mkfs.ext4 -q -F /dev/xvda && mkdir -p /mnt/d && mount /dev/xvda /mnt/d && echo data >/mnt/d/f && sync && cat /mnt/d/f' 120)
rc=$?
[ $rc -eq 0 ] && [ "$(printf '%s' "$out" | tail -n 1)" = data ] &&
    ok "guest makes and uses a filesystem on xvda" ||
    not_ok "guest makes and uses a filesystem on xvda" "rc $rc, output: $out"
guest_run g0 'exit 3' >/dev/null
rc=$?
[ $rc -eq 3 ] && ok "guest_run returns the exit status" || not_ok "guest_run returns the exit status" "got $rc"
out=$(guest_run g0 'head -c 4000000 /dev/zero | tr "\000" x >/tmp/f
for i in 1 2 3 4; do gzip -c /tmp/f | gzip -dc | sha256sum; base64 /tmp/f | base64 -d | sha256sum; done | sort -u | wc -l' 300)
[ "$out" = 1 ] && ok "guest: repeated gzip/base64 round trips agree" ||
    not_ok "guest: repeated gzip/base64 round trips agree" "rc $?, output '$out'"
# the command channel under a burst of requests: every answer belongs to its request
bad=""
t0=$(now)
for i in 1 2 3 4 5 6 7 8 9 10; do
    out=$(guest_run g0 "echo r$i; exit $i" 60)
    rc=$?
    [ $rc -eq $i ] && [ "$out" = "r$i" ] || bad="$bad [$i: rc $rc, '$out']"
done
[ -z "$bad" ] && ok "10 requests in a row, each answered right ($(elapsed "$t0")s)" ||
    not_ok "10 requests in a row, each answered right" "$bad"
guest_destroy g0
lv_cleanup g0
done_testing
