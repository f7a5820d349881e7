#!/bin/bash
# x72-group-hosts.sh - (out of make check until it has passed on nested Xen) a group
# checkpoint across hosts (issue 16, item 4) with the agent protocol over real ssh: dom0
# reaches itself under two host names, hosta and hostb (/etc/hosts), so the coordinator
# runs one `xl-checkpoint group-agent` per "host" through sshd, as it would on two hosts.
# Two small PV guests, one per "host", one thin LV each:
#   `create --group t72 --at NOW+60s hosta:g1 hostb:g2` commits: the command returns only
#   after TIME, each member's deviation from TIME is reported (info, JSON) and each host's
#   clock offset and round trip recorded; group.xml passes its schema; both guests run on;
#   `delete --group` leaves nothing;
#   the coordinator killed (SIGKILL) between phases (both agents prepared, waiting for
#   TIME): each agent sees its end, resumes nothing it had not stopped, removes its
#   members' work and ends: both guests running, nothing committed, nothing left.
# timeout: 1500
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t72
rm -rf "$XLCP_CATALOG_ROOT"
mkdir -p "$XLCP_CATALOG_ROOT"
export XLCP_GUEST_MEMORY=128
g1=ghost1
g2=ghost2
snapvols() { lvs --noheadings -o lv_name "$VG" 2>/dev/null | grep -c '\.xlcp\.'; }
checkpoints() { find "$XLCP_CATALOG_ROOT" -mindepth 2 -maxdepth 2 ! -name '.lock' 2>/dev/null | grep -vc '/\.groups/'; }
groupfiles() { find "$XLCP_CATALOG_ROOT/.groups" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
intents() { find "$XLCP_CATALOG_ROOT/.groups" -maxdepth 1 -name '.intent-*' 2>/dev/null | wc -l; }
agents() { pgrep -fc 'xl-checkpoint group-agent' 2>/dev/null || true; }

nothing_left() {
    local c s f
    c=$(checkpoints)
    s=$(snapvols)
    f=$(groupfiles)
    [ "$c" = 0 ] && [ "$s" = 0 ] && [ "$f" = 0 ] && ok "$1: nothing left (no checkpoint, snapshot volume or group file)" ||
        not_ok "$1: nothing left" "$c catalog entries, $s snapshot volumes, $f group files: $(find "$XLCP_CATALOG_ROOT" | head -n 20)"
}

# ---- ssh to ourselves under two names ----------------------------------------------------
if ! command -v ssh >/dev/null || ! [ -x /usr/sbin/sshd ]; then
    bail "openssh-client and openssh-server in dom0 (tools/nested/build-images.sh)"
fi
ssh-keygen -A >/dev/null 2>&1
mkdir -p /root/.ssh /run/sshd
chmod 700 /root/.ssh
[ -f /root/.ssh/id_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519
grep -qF "$(cat /root/.ssh/id_ed25519.pub)" /root/.ssh/authorized_keys 2>/dev/null ||
    cat /root/.ssh/id_ed25519.pub >>/root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
grep -qw hosta /etc/hosts || echo '127.0.0.1 hosta hostb' >>/etc/hosts
# and whatever the image's resolver does: ssh itself maps the two names to dom0
grep -qw hosta /root/.ssh/config 2>/dev/null || printf 'Host hosta hostb\n    HostName 127.0.0.1\n' >>/root/.ssh/config
chmod 600 /root/.ssh/config
if ! pgrep -x sshd >/dev/null; then
    systemctl start ssh 2>/dev/null || /usr/sbin/sshd
fi
sleep 1
xlcp_bin=$(command -v xl-checkpoint)
export XLCP_SSH="ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=$XLCP_RUN/t72-known_hosts -o ConnectTimeout=20"
# ssh carries no environment: the agents get the test's catalog on their command line
export XLCP_AGENT_CMD="env XLCP_CATALOG_ROOT=$XLCP_CATALOG_ROOT $xlcp_bin group-agent"
for h in hosta hostb; do
    out=$($XLCP_SSH "$h" echo reached 2>&1)
    [ "$(printf '%s' "$out" | tail -n 1)" = reached ] && ok "ssh to $h (dom0 itself)" || bail "ssh to $h: $out"
done
# the agent answers over ssh, then refuses a malformed line
out=$(printf 'nonsense\n' | $XLCP_SSH hosta $XLCP_AGENT_CMD 2>&1)
case "$out" in
*"hello xlcp-group-agent 1"*"fail "*protocol*) ok "the agent over ssh says hello and refuses a malformed line" ;;
*) not_ok "the agent over ssh says hello and refuses a malformed line" "$out" ;;
esac

for g in "$g1" "$g2"; do
    guest_start "$g" thin:64M && ok "$g created" || bail "$g created"
done
for g in "$g1" "$g2"; do
    guest_wait_ready "$g" && ok "$g ready" || bail "$g ready"
done

# ---- one group across the two "hosts", at a time 60 s ahead -------------------------------
at=$(($(date +%s) + 60))
t0=$(now)
dbg=$XLCP_PAYLOAD/results/t72-create-debug.log
out=$(XLCP_DEBUG=1 watchdog 900 xl-checkpoint create --group t72 --at "@$at" "hosta:$g1" "hostb:$g2" 2>"$dbg")
rc=$?
done_at=$(date +%s.%N)
gid=$(printf '%s' "$out" | tail -n 1)
[ $rc -eq 0 ] && ok "create --group t72 --at @$at hosta:$g1 hostb:$g2: $gid ($(elapsed "$t0")s)" ||
    not_ok "create --group across hosts" "exit $rc: $out $(tail -n 40 "$dbg")"
awk -v a="$at" -v b="$done_at" 'BEGIN { exit !(b >= a) }' &&
    ok "the command returned after TIME (at $at, done $done_at)" ||
    not_ok "the command returned after TIME" "at $at, done $done_at"
for g in "$g1" "$g2"; do guest_not_suspended "$g" "after the group across hosts"; done
json=$XLCP_RUN/t72-group.json
xl-checkpoint info --group --json t72 >"$json" 2>&1 && ok "info --group --json t72" ||
    not_ok "info --group --json t72" "$(cat "$json")"
diag "$(xl-checkpoint info --group t72 2>&1)"
ndev=$(grep -o '"deviation_ms": -\?[0-9.e+-]*' "$json" | wc -l)
[ "$ndev" = 2 ] && ok "deviation from TIME reported for both members: $(grep -o '"deviation_ms": [^,}]*' "$json" | tr '\n' ' ')" ||
    not_ok "deviation reported for both members" "$(cat "$json")"
# PV: no live copy, each guest stops when its copy starts, at TIME: within 10 s under TCG
bad=$(grep -o '"deviation_ms": -\?[0-9.e+-]*' "$json" | awk '{ d = $2 < 0 ? -$2 : $2; if (d > 10000) print $2 }')
[ -z "$bad" ] && ok "both stops within 10 s of TIME" || not_ok "both stops within 10 s of TIME" "$bad"
nh=$(grep -o '"offset_ms": -\?[0-9.e+-]*' "$json" | wc -l)
[ "$nh" = 2 ] && ok "clock offset of both hosts recorded: $(grep -oE '"(offset|rtt)_ms": [^,}]*' "$json" | tr -d '\n')" ||
    not_ok "clock offset of both hosts recorded" "$(cat "$json")"
grep -q '"clock": "coordinator-monotonic"' "$json" && ok "instants on the coordinator's clock" ||
    not_ok "instants on the coordinator's clock" "$(cat "$json")"
grep -q '"host": "hosta"' "$json" && grep -q '"host": "hostb"' "$json" && ok "each member's host recorded" ||
    not_ok "each member's host recorded" "$(cat "$json")"
if command -v xmllint >/dev/null; then
    check "group.xml passes the RelaxNG schema (xmllint)" \
        xmllint --noout --relaxng "$XLCP_DATADIR"/group.rng \
        "$XLCP_CATALOG_ROOT/.groups/$gid/group.xml"
else
    skip "xmllint" "not installed in dom0 (info validated group.xml against the schema)"
fi
n=$(xl-checkpoint list 2>/dev/null | grep -cE "$g1|$g2")
[ "$n" = 2 ] && ok "both members' checkpoints committed (one per host's catalog, here the same)" ||
    not_ok "both members' checkpoints committed" "$(xl-checkpoint list 2>&1)"
[ "$(intents)" = 0 ] && ok "no intent record left" || not_ok "no intent record left" "$(intents)"
[ "$(agents)" = 0 ] && ok "no agent left running" || not_ok "no agent left running" "$(pgrep -af group-agent)"
check "delete --group t72" xl-checkpoint delete --group t72
nothing_left "after delete --group"

# ---- the coordinator killed (SIGKILL) between phases ---------------------------------------
# both agents prepared (their intent records written), waiting for TIME 150 s ahead: kill -9
at=$(($(date +%s) + 150))
XLCP_DEBUG=1 xl-checkpoint create --group t72 --at "@$at" "hosta:$g1" "hostb:$g2" >"$XLCP_RUN/t72-kill.out" 2>&1 &
pid=$!
prepared=0
for _ in $(seq 1 1400); do
    [ "$(intents)" = 2 ] && prepared=1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
[ "$prepared" = 1 ] && ok "both agents prepared ($(date +%s), TIME $at)" ||
    not_ok "both agents prepared" "$(intents) intent records; $(cat "$XLCP_RUN/t72-kill.out")"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
t0=$(now)
for _ in $(seq 1 900); do
    [ "$(agents)" = 0 ] && break
    sleep 0.2
done
[ "$(agents)" = 0 ] && ok "coordinator killed: both agents ended on their own ($(elapsed "$t0")s)" ||
    not_ok "coordinator killed: both agents ended" "$(pgrep -af group-agent)"
sleep 2
for g in "$g1" "$g2"; do guest_not_suspended "$g" "after the coordinator was killed"; done
nothing_left "after the coordinator was killed"
[ -z "$(find "$XLCP_CATALOG_ROOT/.groups" -name '*.xml' 2>/dev/null)" ] && ok "no group committed" ||
    not_ok "no group committed" "$(find "$XLCP_CATALOG_ROOT/.groups")"

for g in "$g1" "$g2"; do guest_destroy "$g"; done
lv_cleanup ghost
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
