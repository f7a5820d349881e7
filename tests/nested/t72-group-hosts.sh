#!/bin/bash
# t72-group-hosts.sh - a group checkpoint across hosts (issue 16, items 4 and 5) with the
# agent protocol (version 2)
# over real ssh: dom0 reaches itself under two host names, hosta and hostb (/etc/hosts and
# ~/.ssh/config), so the coordinator runs one `xl-checkpoint group-agent` per "host"
# through sshd, as it would on two hosts (both share dom0's catalog: each "host" finds its
# members there). Two small PV guests, one per "host", one thin LV each:
#   `create --group t72 --at NOW+60s hosta:g1 hostb:g2` commits: the command returns only
#   after TIME, each member's deviation from TIME is reported (info, JSON) and each host's
#   clock offset and round trip recorded; group.xml passes its schema; both guests run on;
#   `list --groups` and `info --group` (text, JSON): both members present, each with its
#   host, as its host said; `verify --group` (text, JSON): both ok, each with its host;
#   (XLCP_SUITE=full only, for make check's time: the two restores below)
#   `restore --group --json`: both members restored on their "hosts" and running (each
#   with its host), the originals untouched and running, no agent left;
#   the coordinator killed (SIGKILL) during a restore (as soon as the first restored
#   domain appears, before any host can have been told to commit): each agent ends on its
#   own and destroys what it restored (no restored domain or volume left), the originals
#   untouched;
#   `delete --group` with hostb out of reach (its ssh to a closed port): fails, hosta's
#   member deleted, hostb's named unreachable, the group file and hostb's member kept,
#   `list --groups` names it; `delete --group` again (hostb back) finishes: nothing left;
#   the coordinator killed (SIGKILL) between the phases of a create (both agents prepared,
#   waiting for TIME): each agent sees its end, resumes nothing it had not stopped, removes
#   its members' work and ends: both guests running, nothing committed, nothing left.
# timeout: 2400
set -uo pipefail
. "$(dirname "$0")/lib.sh"

export XLCP_CATALOG_ROOT=/var/tmp/xlcp-catalog-t72
rm -rf "$XLCP_CATALOG_ROOT"
mkdir -p "$XLCP_CATALOG_ROOT"
export XLCP_GUEST_MEMORY=128
g1=ghost1
g2=ghost2
intents() { find "$XLCP_CATALOG_ROOT/.groups" -maxdepth 1 -name '.intent-*' 2>/dev/null | wc -l; }
agents() { pgrep -fc 'xl-checkpoint group-agent' 2>/dev/null || true; }
# the domains restore --group made ("<guest>-<checkpoint id suffix>") and their volumes
restored_doms() { "$XL" list 2>/dev/null | awk 'NR > 1 && $1 ~ /^ghost[12]-[0-9a-f]+$/ { print $1 }'; }
restored_vols() { lvs --noheadings -o lv_name,lv_tags "$VG" 2>/dev/null | grep -c xl-checkpoint-restored; }
dom_state() { "$XL" list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }
clean_restored() {
    local d lv
    for d in $(restored_doms); do "$XL" destroy "$d" >/dev/null 2>&1; done
    for lv in $(lvs --noheadings -o lv_name,lv_tags "$VG" 2>/dev/null | awk '/xl-checkpoint-restored/ { print $1 }'); do
        lvm_run lvremove -q -f -y "$VG/$lv" >/dev/null 2>&1
    done
}
# kill_coordinator PID SECS WHEN: SIGKILL, then every agent must end on its own within SECS
kill_coordinator() {
    local t0
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    t0=$(now)
    for _ in $(seq 1 $(($2 * 5))); do
        [ "$(agents)" = 0 ] && break
        sleep 0.2
    done
    [ "$(agents)" = 0 ] && ok "coordinator killed $3: both agents ended on their own ($(elapsed "$t0")s)" ||
        not_ok "coordinator killed $3: both agents ended" "$(pgrep -af group-agent)"
    sleep 2
}
# originals_untouched DESC: both guests are the domains they were (same domid), running
originals_untouched() {
    local g id want
    for g in "$g1" "$g2"; do
        id=$(guest_domid "$g")
        if [ "$g" = "$g1" ]; then want=$d1; else want=$d2; fi
        [ "$id" = "$want" ] && ok "$1: $g is the original (domid $id)" ||
            not_ok "$1: $g is the original" "domid ${id:-none}, was $want"
        guest_not_suspended "$g" "$1"
    done
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
*"hello xlcp-group-agent 2"*"fail "*protocol*) ok "the agent over ssh says hello and refuses a malformed line" ;;
*) not_ok "the agent over ssh says hello and refuses a malformed line" "$out" ;;
esac

for g in "$g1" "$g2"; do
    guest_start "$g" thin:64M && ok "$g created" || bail "$g created"
done
for g in "$g1" "$g2"; do
    guest_wait_ready "$g" && ok "$g ready" || bail "$g ready"
done
d1=$(guest_domid "$g1")
d2=$(guest_domid "$g2")

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

# ---- list, info, verify across the two "hosts": each member asked of its host --------------
out=$(xl-checkpoint list --groups 2>&1)
case "$out" in
*t72*"all 2 present"*) ok "list --groups: t72, all 2 present" ;;
*) not_ok "list --groups: t72, all 2 present" "$out" ;;
esac
json=$XLCP_RUN/t72-list.json
xl-checkpoint list --groups --json >"$json" 2>&1
[ "$(grep -c '"status": "present"' "$json")" = 2 ] && ok "list --groups --json: both members present" ||
    not_ok "list --groups --json: both members present" "$(cat "$json")"
out=$(xl-checkpoint info --group t72 2>&1)
if printf '%s\n' "$out" | grep -qE "hosta:$g1 .* present$" && printf '%s\n' "$out" | grep -qE "hostb:$g2 .* present$"; then
    ok "info --group: each member present, with its host"
else
    not_ok "info --group: each member present, with its host" "$out"
fi
xl-checkpoint info --group --json t72 >"$json" 2>&1
[ "$(grep -c '"status": "present"' "$json")" = 2 ] && ok "info --group --json: both members' status present" ||
    not_ok "info --group --json: both members' status present" "$(cat "$json")"
out=$(watchdog 600 xl-checkpoint verify --group t72 2>&1)
rc=$?
if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -qE "hosta:$g1 +[^ ]+ +ok$" &&
    printf '%s\n' "$out" | grep -qE "hostb:$g2 +[^ ]+ +ok$" && printf '%s\n' "$out" | grep -q "group t72: OK"; then
    ok "verify --group: both members ok, each verified on its host"
else
    not_ok "verify --group: both members ok, each verified on its host" "exit $rc: $out"
fi
out=$(watchdog 600 xl-checkpoint verify --group --json t72 2>&1)
[ "$(printf '%s' "$out" | grep -c '"outcome": "ok"')" = 2 ] && ok "verify --group --json: two members ok" ||
    not_ok "verify --group --json: two members ok" "$out"
[ "$(agents)" = 0 ] && ok "no agent left after list, info, verify" || not_ok "no agent left" "$(pgrep -af group-agent)"

# ---- restore --group across the two "hosts" ---------------------------------------------------
if [ "${XLCP_SUITE:-}" = full ]; then
t0=$(now)
out=$(watchdog 900 xl-checkpoint restore --group --json t72 2>"$XLCP_RUN/t72-restore.err")
rc=$?
[ $rc -eq 0 ] && ok "restore --group --json t72 ($(elapsed "$t0")s)" ||
    not_ok "restore --group t72" "exit $rc: $out $(tail -n 20 "$XLCP_RUN/t72-restore.err")"
[ "$(printf '%s' "$out" | grep -c '"outcome": "running"')" = 2 ] && ok "both members restored and running" ||
    not_ok "both members restored and running" "$out"
printf '%s' "$out" | grep -q '"host": "hosta"' && printf '%s' "$out" | grep -q '"host": "hostb"' &&
    ok "each member reported with its host" || not_ok "each member reported with its host" "$out"
rd=$(restored_doms)
[ "$(printf '%s\n' "$rd" | grep -c .)" = 2 ] && ok "two restored domains: $(printf '%s' "$rd" | tr '\n' ' ')" ||
    not_ok "two restored domains" "$("$XL" list 2>&1)"
for d in $rd; do
    st=$(dom_state "$d")
    case "$st" in
    *p*) not_ok "restored $d unpaused" "state '$st'" ;;
    *) ok "restored $d unpaused (state '$st')" ;;
    esac
done
originals_untouched "after restore --group"
[ "$(agents)" = 0 ] && ok "no agent left after the restore" || not_ok "no agent left after the restore" "$(pgrep -af group-agent)"
clean_restored
[ -z "$(restored_doms)" ] && [ "$(restored_vols)" = 0 ] && ok "restored domains and volumes removed by the test" ||
    not_ok "restored domains and volumes removed by the test" "$(restored_doms) $(restored_vols)"

# ---- the coordinator killed (SIGKILL) during a restore ---------------------------------------
# killed as soon as the first restored domain appears: no host can have been told to
# commit (that needs both restored), so every agent must destroy what it made and end
XLCP_DEBUG=1 xl-checkpoint restore --group t72 >"$XLCP_RUN/t72-restore-kill.out" 2>&1 &
pid=$!
seen=0
for _ in $(seq 1 1500); do
    [ -n "$(restored_doms)" ] && seen=1 && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
done
[ "$seen" = 1 ] && ok "a member being restored ($(restored_doms | tr '\n' ' '))" ||
    not_ok "a member being restored" "$(cat "$XLCP_RUN/t72-restore-kill.out")"
kill_coordinator "$pid" 400 "during the restore"
[ -z "$(restored_doms)" ] && ok "no restored domain left: each agent destroyed what it had restored" ||
    not_ok "no restored domain left" "$("$XL" list 2>&1)"
[ "$(restored_vols)" = 0 ] && ok "no restored volume left" ||
    not_ok "no restored volume left" "$(lvs --noheadings -o lv_name,lv_tags "$VG" 2>&1)"
originals_untouched "after the coordinator was killed during the restore"
clean_restored
fi # XLCP_SUITE=full

# ---- delete --group with hostb out of reach, then again -----------------------------------------
wrap=/var/tmp/t72-ssh-hostb-down # not under /run: dom0 mounts it noexec
{
    echo '#!/bin/sh'
    echo '# hostb out of reach: its ssh goes to a port where nothing listens'
    echo "if [ \"\$1\" = hostb ]; then exec $XLCP_SSH -o Port=1 \"\$@\"; fi"
    echo "exec $XLCP_SSH \"\$@\""
} >"$wrap"
chmod 700 "$wrap"
out=$(XLCP_SSH=$wrap watchdog 600 xl-checkpoint delete --group t72 2>"$XLCP_RUN/t72-delete.err")
rc=$?
[ $rc -ne 0 ] && ok "delete --group with hostb out of reach fails (exit $rc)" ||
    not_ok "delete --group with hostb out of reach fails" "exit 0: $out"
if printf '%s\n' "$out" | grep -qE "hosta:$g1 .* deleted$" && printf '%s\n' "$out" | grep -qE "hostb:$g2 .* unreachable: "; then
    ok "each member reported: hosta's deleted, hostb's unreachable"
else
    not_ok "each member reported: hosta's deleted, hostb's unreachable" "$out"
fi
grep -q "the group is kept" "$XLCP_RUN/t72-delete.err" && ok "the error says the group is kept: $(head -c 300 "$XLCP_RUN/t72-delete.err")" ||
    not_ok "the error says the group is kept" "$(cat "$XLCP_RUN/t72-delete.err")"
[ "$(group_files)" = 1 ] && [ "$(catalog_checkpoints)" = 1 ] && ok "group file and hostb's member kept, hosta's member gone" ||
    not_ok "group file and hostb's member kept, hosta's member gone" "$(group_files) group files, $(catalog_checkpoints) checkpoints"
out=$(XLCP_SSH=$wrap xl-checkpoint list --groups 2>&1)
case "$out" in
*"hostb:$g2 unreachable"*) ok "list --groups names hostb's member unreachable" ;;
*) not_ok "list --groups names hostb's member unreachable" "$out" ;;
esac
out=$(watchdog 600 xl-checkpoint delete --group --json t72 2>&1)
rc=$?
[ $rc -eq 0 ] && printf '%s' "$out" | grep -q '"outcome": "gone"' && printf '%s' "$out" | grep -q '"outcome": "deleted"' &&
    ok "delete --group again finishes the job (hosta's gone, hostb's deleted)" ||
    not_ok "delete --group again finishes the job" "exit $rc: $out"
group_nothing_left "after delete --group"
[ "$(agents)" = 0 ] && ok "no agent left after the deletes" || not_ok "no agent left after the deletes" "$(pgrep -af group-agent)"

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
kill_coordinator "$pid" 180 "between the phases of a create"
for g in "$g1" "$g2"; do guest_not_suspended "$g" "after the coordinator was killed"; done
group_nothing_left "after the coordinator was killed"
[ -z "$(find "$XLCP_CATALOG_ROOT/.groups" -name '*.xml' 2>/dev/null)" ] && ok "no group committed" ||
    not_ok "no group committed" "$(find "$XLCP_CATALOG_ROOT/.groups")"

clean_restored
for g in "$g1" "$g2"; do guest_destroy "$g"; done
lv_cleanup ghost
rm -rf "$XLCP_CATALOG_ROOT"
done_testing
