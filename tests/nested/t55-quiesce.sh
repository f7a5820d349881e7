#!/bin/bash
# t55-quiesce.sh - quiesce through the guest module: "quiesce <id>" in
# data/checkpoint/request freezes the guest's ext4 on xvda (a writer in the guest stops),
# "thaw <id>" releases it (the writer continues); a toolstack that vanishes mid-quiesce
# does not leave the guest frozen (the module's quiesce_timeout_ms); a second quiesce while
# frozen is refused and thaws; garbage while frozen changes nothing.
# timeout: 600
set -uo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/module-lib.sh"

KO=/lib/xlcp/extra/xlcp_guest.ko
TMO_MS=20000
g=g55
guest_start "$g" thick:256M && ok "guest created" || bail "guest created"
guest_wait_ready "$g" && ok "guest ready" || bail "guest ready"
# a missing module is a failure, not a skip: make check builds it (make module) and
# run.sh ships it; without it nothing of what this test promises was checked
guest_run "$g" "test -f $KO" >/dev/null ||
    bail "$KO in the guest" "no module in the guest (make module; run.sh ships build/guest-kernel/*.ko)"
d=$(guest_domid "$g")
B=/local/domain/$d/data/checkpoint
has_xscheck() { xl-checkpoint --help 2>&1 | grep -q 'xs-check'; }
module_writer_start "$g" "$KO" quiesce_timeout_ms=$TMO_MS

id=$(newid)
xenstore-write "$B/request" "quiesce $id"
xs_wait "$B/state" "frozen $id" 60 && ok "quiesce: state frozen $id" ||
    not_ok "quiesce: state frozen" "state '$(xsr "$B/state")'"
moving "$g" && not_ok "writer blocked while frozen" || ok "writer blocked while frozen"
[ "$(xsr "$B/last-id")" = "$id" ] && ok "last-id = $id" || not_ok "last-id" "'$(xsr "$B/last-id")'"
if has_xscheck; then
    out=$(xl-checkpoint xs-check "$g" 2>&1) && ok "xs-check passes while frozen" ||
        not_ok "xs-check passes while frozen" "$out"
fi
# garbage while frozen: nothing happens (still frozen)
xenstore-write "$B/request" "thaw please"
sleep 2
[ "$(xsr "$B/state")" = "frozen $id" ] && ok "garbage while frozen changes nothing" ||
    not_ok "garbage while frozen changes nothing" "state '$(xsr "$B/state")'"
xenstore-write "$B/request" "thaw $id"
xs_wait "$B/state" "thawed $id" 60 && ok "thaw: state thawed $id" ||
    not_ok "thaw: state thawed" "state '$(xsr "$B/state")'"
moving "$g" && ok "writer continues after thaw" || not_ok "writer continues after thaw"

# the toolstack vanishes: no thaw comes; the guest thaws by itself
id2=$(newid)
t0=$(now)
xenstore-write "$B/request" "quiesce $id2"
xs_wait "$B/state" "frozen $id2" 60 && ok "second quiesce: frozen" || not_ok "second quiesce: frozen" "'$(xsr "$B/state")'"
xs_wait "$B/state" "thawed $id2" $((TMO_MS / 1000 + 40)) &&
    ok "no thaw: the guest thawed itself after $(elapsed "$t0")s (timeout $((TMO_MS / 1000))s)" ||
    not_ok "no thaw: the guest thawed itself" "state '$(xsr "$B/state")'"
moving "$g" && ok "writer continues after the timeout" || not_ok "writer continues after the timeout"

# quiesce while frozen: refused, and thawed
id3=$(newid)
id4=$(newid)
xenstore-write "$B/request" "quiesce $id3"
xs_wait "$B/state" "frozen $id3" 60 || diag "quiesce $id3: state '$(xsr "$B/state")'"
xenstore-write "$B/request" "quiesce $id4"
sleep 2
st=$(xsr "$B/state")
[[ "$st" == "error $id4 "* ]] && ok "quiesce while frozen refused: '$st'" ||
    not_ok "quiesce while frozen refused" "state '$st'"
moving "$g" && ok "writer continues after the refused quiesce" || not_ok "writer continues after the refused quiesce"

module_test_end "$g"
