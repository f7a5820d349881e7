/*
 * test_group_hosts_ops.c - the operations on a committed group across hosts, on fake
 * hosts kept between agent runs (fakes/fake_host.c): a group of hosta:web1, hosta:db1
 * and hostb:web1 is created, then asked about through the agents (hosts_fx.h):
 *   status and verify per member with its host; a member missing on its host; a host
 *   unreachable (its members named, the others answered); an agent of protocol 1;
 *   delete all or report (an unreachable host keeps the group file, a later delete
 *   finishes the job), a checkpoint that is not the group's never deleted, a delete
 *   failing on one host;
 *   restore: every member restored paused on its host, none unpaused before all are
 *   restored (the fakes' call logs, real time, across the two hosts), a slow host (the
 *   others kept waiting past their bound by the coordinator's "wait"); --paused; a member
 *   failing at each phase (restore: every domain made destroyed, originals untouched;
 *   replace; unpause); --replace; a host unreachable (nothing restored anywhere); the
 *   coordinator killed, or silent, while the members wait paused (each agent destroys
 *   what it made after its bound and ends); malformed catalog and restore lines refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "group_ops.h"
#include "hosts_fx.h"

static struct xlcp_group_manifest g2;
static struct xlcp_group_result res[XLCP_GROUP_MAX];

/* Fake hosts kept between runs; the group job1 across them, committed. */
static int setup_group(void **state)
{
    const char *members[3] = {"hosta:web1", "hosta:db1", "hostb:web1"};
    struct hx *x;
    char hosts[300];

    setup(state);
    x = *state;
    snprintf(hosts, sizeof(hosts), "%s/hosts", x->w->root);
    assert_int_equal(mkdir(hosts, 0700), 0);
    setenv("XLCP_TEST_HOSTS", hosts, 1);
    if (hosts_create(x, 3, members) != 0)
        fail_msg("create: %s", x->err.msg);
    forget_reports(x); /* the coordinator returned once every agent had ended */
    memset(res, 0, sizeof(res));
    return 0;
}

/* The result of member host:dom. */
static const struct xlcp_group_result *of(const char *host, const char *dom)
{
    for (int i = 0; i < g2.n; i++)
        if (strcmp(res[i].host, host) == 0 && strcmp(res[i].dom_name, dom) == 0)
            return &res[i];
    fail_msg("no member %s:%s in the report", host, dom);
    return NULL;
}

static void assert_outcome(const char *host, const char *dom, const char *outcome)
{
    const struct xlcp_group_result *r = of(host, dom);

    if (strcmp(r->outcome, outcome) != 0)
        fail_msg("%s:%s is '%s' (%s: %s), expected '%s'", host, dom, r->outcome, r->step, r->msg,
                 outcome);
}

static int status(struct hx *x)
{
    xlcp_err_clear(&x->err);
    return xlcp_engine_group_status(&x->w->ports, "job1", &g2, res, &x->err);
}

static int verify(struct hx *x)
{
    xlcp_err_clear(&x->err);
    return xlcp_engine_group_verify(&x->w->ports, "job1", 0, &g2, res, &x->err);
}

static int delete_group(struct hx *x)
{
    xlcp_err_clear(&x->err);
    return xlcp_engine_group_delete(&x->w->ports, "job1", &g2, res, &x->err);
}

static int restore(struct hx *x, const xlcp_restore_options *ro)
{
    xlcp_err_clear(&x->err);
    return xlcp_engine_group_restore(&x->w->ports, "job1", ro, &g2, res, &x->err);
}

/* Runs an operation on fake host `host` in this process (then the coordinator's run
 * directory again). */
static struct fake_world *open_host(struct hx *x, const char *host)
{
    char dir[400];

    snprintf(dir, sizeof(dir), "%s/hosts/%s", x->w->root, host);
    return fake_host_open(dir);
}

static void close_host(struct hx *x, struct fake_world *h, const char *host)
{
    char dir[400];

    snprintf(dir, sizeof(dir), "%s/hosts/%s", x->w->root, host);
    assert_int_equal(fake_host_save(h, dir), 0);
    fake_world_free(h);
    setenv("XLCP_RUN_DIR", x->w->run_dir, 1);
}

/* ---- status, verify ------------------------------------------------------------------- */

static void test_status_and_verify(void **state)
{
    struct hx *x = *state;

    assert_int_equal(status(x), 0);
    assert_int_equal(g2.n, 3);
    assert_outcome("hosta", "web1", "present");
    assert_outcome("hosta", "db1", "present");
    assert_outcome("hostb", "web1", "present");
    assert_int_equal(verify(x), 0);
    assert_outcome("hosta", "web1", "ok");
    assert_outcome("hostb", "web1", "ok");
    /* the agents only read: nothing changed there */
    assert_non_null(strstr(report(x, "hosta"), "committed 2\n"));
    assert_non_null(strstr(report(x, "hostb"), "committed 1\n"));
}

static void test_member_missing_on_its_host(void **state)
{
    struct hx *x = *state;
    struct fake_world *h = open_host(x, "hostb");

    /* hostb's checkpoint removed behind our back */
    assert_int_equal(
        h->ports.store.ops->remove(h->ports.store.self, x->g.members[2].checkpoint_id, &x->err), 0);
    close_host(x, h, "hostb");
    assert_int_equal(status(x), 0); /* it could ask: the answers are in the report */
    assert_outcome("hosta", "web1", "present");
    assert_outcome("hostb", "web1", "missing");
    assert_int_equal(verify(x), XLCP_ENOTFOUND);
    assert_non_null(strstr(x->err.msg, "group 'job1'"));
    assert_non_null(strstr(x->err.msg, "host hostb: domain 'web1' step verify: "));
    assert_outcome("hosta", "db1", "ok");
}

static void test_host_unreachable(void **state)
{
    struct hx *x = *state;
    const struct xlcp_group_result *r;

    setenv("XLCP_TEST_UNREACHABLE", "hostb:1", 1);
    assert_int_equal(status(x), 0);
    assert_outcome("hosta", "web1", "present");
    assert_outcome("hosta", "db1", "present");
    assert_outcome("hostb", "web1", "unreachable");
    r = of("hostb", "web1");
    assert_string_equal(r->step, "connect");
    assert_non_null(strstr(r->msg, "not reached"));
    assert_int_not_equal(verify(x), 0);
    assert_non_null(strstr(x->err.msg, "host hostb: domain 'web1' step connect: "));
    assert_outcome("hosta", "web1", "ok");
}

/* An agent of protocol 1 (create only): its members failed, named, the others asked. */
static void test_old_agent(void **state)
{
    struct hx *x = *state;

    fake_ssh(x, 1, "echo 'hello xlcp-group-agent 1 old'\ncat >/dev/null\n");
    assert_int_equal(status(x), 0);
    assert_outcome("hosta", "web1", "present");
    assert_outcome("hostb", "web1", "failed");
    assert_non_null(strstr(of("hostb", "web1")->msg, "protocol 1"));
}

/* ---- delete ----------------------------------------------------------------------------- */

static size_t group_files(struct hx *x)
{
    char **ids = NULL;
    size_t n = 0;

    assert_int_equal(x->w->ports.store.ops->group_list(x->w->ports.store.self, XLCP_GROUP_MANIFEST,
                                                       &ids, &n, &x->err),
                     0);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return n;
}

/* All or report: hostb unreachable, hosta's members deleted, the group kept naming them
 * all; the next delete (hostb back) finishes: hosta's are gone, hostb's deleted. */
static void test_delete_finishes_later(void **state)
{
    struct hx *x = *state;

    setenv("XLCP_TEST_UNREACHABLE", "hostb:1", 1);
    assert_int_not_equal(delete_group(x), 0);
    assert_non_null(strstr(x->err.msg, "1 of 3 members not deleted, the group is kept"));
    assert_non_null(strstr(x->err.msg, "host hostb: domain 'web1' step connect"));
    assert_outcome("hosta", "web1", "deleted");
    assert_outcome("hosta", "db1", "deleted");
    assert_outcome("hostb", "web1", "unreachable");
    assert_int_equal(group_files(x), 1);
    assert_non_null(strstr(report(x, "hosta"), "committed 0\nsnapshots 0\n"));
    forget_reports(x);
    unsetenv("XLCP_TEST_UNREACHABLE");
    assert_int_equal(status(x), 0);
    assert_outcome("hosta", "web1", "missing");
    assert_outcome("hostb", "web1", "present");
    forget_reports(x);
    assert_int_equal(delete_group(x), 0);
    assert_outcome("hosta", "web1", "gone");
    assert_outcome("hosta", "db1", "gone");
    assert_outcome("hostb", "web1", "deleted");
    assert_int_equal(group_files(x), 0);
    assert_non_null(strstr(report(x, "hostb"), "committed 0\nsnapshots 0\n"));
    assert_int_equal(xlcp_engine_group_load(&x->w->ports, "job1", &g2, &x->err), XLCP_ENOTFOUND);
}

/* A checkpoint the group names but whose manifest names another domain: never deleted.
 * (hosta:web1 is the first member of group.xml: its uuid is changed there.) */
static void test_delete_refuses_what_is_not_ours(void **state)
{
    struct hx *x = *state;
    const struct xlcp_store *st = &x->w->ports.store;
    char *xml = NULL, *at;

    assert_int_equal(st->ops->group_get(st->self, XLCP_GROUP_MANIFEST, x->g.id, &xml, &x->err), 0);
    at = strstr(xml, x->g.members[0].dom_uuid);
    assert_non_null(at);
    memcpy(at, "00000000-0000-4000-8000-0000000000ff", XLCP_UUID_LEN);
    assert_int_equal(st->ops->group_drop(st->self, XLCP_GROUP_MANIFEST, x->g.id, &x->err), 0);
    assert_int_equal(
        st->ops->group_put(st->self, XLCP_GROUP_MANIFEST, x->g.id, xml, strlen(xml), &x->err), 0);
    free(xml);
    assert_int_equal(delete_group(x), XLCP_ECORRUPT);
    assert_outcome("hosta", "web1", "refused");
    assert_non_null(strstr(of("hosta", "web1")->msg, "not touched"));
    assert_outcome("hosta", "db1", "deleted");
    assert_outcome("hostb", "web1", "deleted");
    assert_int_equal(group_files(x), 1);
    assert_non_null(strstr(report(x, "hosta"), "committed 1\nsnapshots 1\n"));
}

static void test_delete_fails_on_one_host(void **state)
{
    struct hx *x = *state;

    setenv("XLCP_TEST_FAIL", "hostb:store.remove", 1);
    assert_int_equal(delete_group(x), XLCP_ENOSPC);
    assert_outcome("hostb", "web1", "failed");
    assert_string_equal(of("hostb", "web1")->step, "delete");
    assert_non_null(strstr(x->err.msg, "host hostb: domain 'web1' step delete: "));
    assert_int_equal(group_files(x), 1);
    unsetenv("XLCP_TEST_FAIL");
    assert_int_equal(delete_group(x), 0);
    assert_int_equal(group_files(x), 0);
}

/* ---- restore ---------------------------------------------------------------------------- */

/* The real time (ns) of the first or last line of the agent's log that says what. */
static long long log_time(const char *rep, const char *what, int last)
{
    long long found = -1;
    const char *l = strstr(rep, "log:\n");

    for (l = l ? l + 5 : rep; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        long long t;
        int n = 0;
        if (sscanf(l, "T%lld %n", &t, &n) == 1 && n > 0 && strncmp(l + n, what, strlen(what)) == 0)
            if (found < 0 || (last ? t > found : t < found))
                found = t;
    }
    return found;
}

/* Every original still there, running, with the domid it had. */
static void assert_originals(const char *rep, int with_db1)
{
    if (!strstr(rep, "domain web1 domid 1 running\n") ||
        (with_db1 && !strstr(rep, "domain db1 domid 2 running\n")))
        fail_msg("the originals were touched: %s", rep);
}

/* The group's domains restored on their hosts, paused until all were, then unpaused: no
 * unpause (on either host) before the last restore (on either host). */
static void test_restore_across_hosts(void **state)
{
    struct hx *x = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    char a[16384];
    const char *b;
    long long last_restore, first_unpause;

    if (restore(x, &ro) != 0)
        fail_msg("%s", x->err.msg);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(res[i].outcome, "running");
        assert_true(res[i].domid != 0);
        assert_non_null(strstr(res[i].new_name, res[i].dom_name));
    }
    snprintf(a, sizeof(a), "%s", report(x, "hosta"));
    b = report(x, "hostb");
    assert_non_null(strstr(a, "rc 0\n"));
    assert_non_null(strstr(b, "rc 0\n"));
    assert_originals(a, 1);
    assert_originals(b, 0);
    assert_non_null(strstr(a, "restored-volumes 2\n"));
    assert_non_null(strstr(b, "restored-volumes 1\n"));
    last_restore = log_time(a, "hv.restore", 1);
    if (log_time(b, "hv.restore", 1) > last_restore)
        last_restore = log_time(b, "hv.restore", 1);
    first_unpause = log_time(a, "hv.unpause", 0);
    if (log_time(b, "hv.unpause", 0) < first_unpause)
        first_unpause = log_time(b, "hv.unpause", 0);
    assert_true(last_restore > 0 && first_unpause > 0);
    if (first_unpause <= last_restore)
        fail_msg("a member was unpaused (%lld) before the last was restored (%lld)", first_unpause,
                 last_restore);
}

static void test_restore_paused(void **state)
{
    struct hx *x = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;

    ro.paused = 1;
    assert_int_equal(restore(x, &ro), 0);
    assert_outcome("hosta", "db1", "paused");
    assert_outcome("hostb", "web1", "paused");
    assert_int_equal(log_time(report(x, "hosta"), "hv.unpause", 0), -1);
    assert_non_null(strstr(report(x, "hostb"), " paused\n"));
}

/* No domain made by the restore stays on that host; the originals are untouched. */
static void assert_nothing_restored(struct hx *x, const char *host, int with_db1)
{
    const char *r = report(x, host);

    if (!strstr(r, "restored-volumes 0\n") || strstr(r, "domain web1-") || strstr(r, "domain db1-"))
        fail_msg("host %s kept what the restore made: %s", host, r);
    assert_originals(r, with_db1);
}

/* hostb fails while hosta is still restoring (slow): the abort crosses hosta's "ready";
 * hosta destroys both members it restored. */
static void test_restore_member_fails(void **state)
{
    struct hx *x = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;

    setenv("XLCP_TEST_FAIL", "hostb:hv.restore", 1);
    setenv("XLCP_TEST_SLOW", "hosta:1000", 1);
    assert_int_equal(restore(x, &ro), XLCP_ENOSPC);
    assert_non_null(strstr(x->err.msg, "host hostb: domain 'web1' step restore: "));
    assert_outcome("hostb", "web1", "failed");
    assert_outcome("hosta", "web1", "undone");
    assert_outcome("hosta", "db1", "undone");
    assert_nothing_restored(x, "hosta", 1);
    assert_nothing_restored(x, "hostb", 0);
    assert_int_equal(log_time(report(x, "hosta"), "hv.unpause", 0), -1);
}

/* A host unreachable: nothing is restored anywhere. */
static void test_restore_host_unreachable(void **state)
{
    struct hx *x = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;

    setenv("XLCP_TEST_UNREACHABLE", "hostb:1", 1);
    assert_int_not_equal(restore(x, &ro), 0);
    assert_outcome("hostb", "web1", "unreachable");
    assert_outcome("hosta", "web1", "not-restored");
    assert_null(strstr(report(x, "hosta"), "hv.restore"));
    assert_nothing_restored(x, "hosta", 1);
}

/* --replace --force: each original goes only once every member is restored; then each
 * restored domain has its original's name. */
static void test_restore_replace(void **state)
{
    struct hx *x = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;
    const char *r;

    ro.replace = 1;
    ro.force = 1;
    if (restore(x, &ro) != 0)
        fail_msg("%s", x->err.msg);
    assert_outcome("hosta", "web1", "running");
    assert_string_equal(of("hosta", "web1")->new_name, "web1");
    r = report(x, "hosta");
    assert_null(strstr(r, "domain web1 domid 1 "));
    assert_non_null(strstr(r, "domain web1 domid "));
    assert_null(strstr(r, "domain web1--restoring"));
    /* hostb's original went only after hosta's members were all restored too */
    assert_true(log_time(report(x, "hostb"), "hv.destroy", 0) >
                log_time(report(x, "hosta"), "hv.restore", 1));
}

/* restore --replace --force with op failing once on hostb. */
static int restore_replacing(struct hx *x, const char *fail)
{
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;

    ro.replace = 1;
    ro.force = 1;
    setenv("XLCP_TEST_FAIL", fail, 1);
    return restore(x, &ro);
}

/* --replace, a member fails: no original anywhere is touched. */
static void test_restore_replace_fails(void **state)
{
    struct hx *x = *state;

    assert_int_not_equal(restore_replacing(x, "hostb:hv.restore"), 0);
    assert_outcome("hosta", "web1", "undone");
    assert_nothing_restored(x, "hosta", 1);
    assert_null(strstr(report(x, "hosta"), "domain web1--restoring"));
    assert_nothing_restored(x, "hostb", 0);
}

/* The original of hostb cannot be destroyed (replace phase): hosta, whose originals
 * went already, keeps its members, paused; hostb undoes its own. */
static void test_restore_fails_at_replace(void **state)
{
    struct hx *x = *state;

    assert_int_not_equal(restore_replacing(x, "hostb:hv.destroy"), 0);
    assert_outcome("hostb", "web1", "failed");
    assert_string_equal(of("hostb", "web1")->step, "replace");
    assert_outcome("hosta", "web1", "kept");
    assert_originals(report(x, "hostb"), 0);
    assert_int_equal(log_time(report(x, "hosta"), "hv.unpause", 0), -1);
}

/* Unpausing fails on hostb: hostb destroys its member; hosta's run (they were unpaused
 * together, on the coordinator's word): said so. */
static void test_restore_fails_at_unpause(void **state)
{
    struct hx *x = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;

    setenv("XLCP_TEST_FAIL", "hostb:hv.unpause", 1);
    assert_int_equal(restore(x, &ro), XLCP_ENOSPC);
    assert_outcome("hostb", "web1", "failed");
    assert_string_equal(of("hostb", "web1")->step, "unpause");
    assert_outcome("hosta", "web1", "running");
    assert_nothing_restored(x, "hostb", 0);
}

/* hostb restores for 3 s, more than the bound of silence (1.5 s): hosta's members wait
 * paused that long, kept waiting by the coordinator's "wait", and all run together. */
static void test_restore_slow_host(void **state)
{
    struct hx *x = *state;
    xlcp_restore_options ro = XLCP_RESTORE_OPTIONS_INIT;

    setenv("XLCP_GROUP_PHASE_WAIT_MS", "1500", 1);
    setenv("XLCP_TEST_SLOW", "hostb:3000", 1);
    if (restore(x, &ro) != 0)
        fail_msg("%s", x->err.msg);
    assert_outcome("hosta", "web1", "running");
    assert_outcome("hostb", "web1", "running");
    assert_true(log_time(report(x, "hosta"), "hv.unpause", 0) >
                log_time(report(x, "hostb"), "hv.restore", 1));
}

/* ---- the coordinator gone during a restore ----------------------------------------------- */

/* A coordinator by hand: hosta's members restored, paused ("ready"); then it dies
 * (SIGKILL), or (silent) stays connected and says nothing for hold_s seconds. */
static pid_t restore_by_hand(struct hx *x, int die, int hold_s)
{
    pid_t pid = fork();

    assert_true(pid >= 0);
    if (pid == 0) {
        struct hand h;
        char line[300];
        hand_open(&h, "hosta");
        hand_expect(&h, "hello xlcp-group-agent 2 ");
        snprintf(line, sizeof(line), "restore %s job1 1000", x->g.id);
        hand_send(&h, line);
        hand_send(&h, "options replace=0 force=0 paused=0");
        for (int i = 0; i < 2; i++) {
            snprintf(line, sizeof(line), "member %s %s", x->g.members[i].checkpoint_id,
                     x->g.members[i].dom_uuid);
            hand_send(&h, line);
        }
        hand_send(&h, "prepare");
        hand_expect(&h, "restored 0 ");
        hand_expect(&h, "restored 1 ");
        hand_expect(&h, "ready 2");
        if (die)
            raise(SIGKILL);
        sleep((unsigned int)hold_s);
        _exit(0);
    }
    return pid;
}

static void test_coordinator_killed_during_restore(void **state)
{
    struct hx *x = *state;
    pid_t pid = restore_by_hand(x, 1, 0);
    int status;
    const char *r;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    r = report(x, "hosta");
    assert_null(strstr(r, "rc 0\n"));
    assert_non_null(strstr(r, "hv.restore web1-"));
    assert_nothing_restored(x, "hosta", 1);
}

/* Silent, still connected: the agent waits at most its bound (1 s here), then destroys
 * what it made and ends, while the coordinator is still there. */
static void test_coordinator_silent_during_restore(void **state)
{
    struct hx *x = *state;
    pid_t pid = restore_by_hand(x, 0, 8);
    struct timespec t0, t1;
    int status;
    const char *r;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = report(x, "hosta");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(kill(pid, 0), 0); /* the coordinator has not gone */
    assert_true(t1.tv_sec - t0.tv_sec < 7);
    assert_non_null(strstr(r, "said nothing"));
    assert_nothing_restored(x, "hosta", 1);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
}

/* ---- the protocol of version 2, refused when malformed ------------------------------------ */

static void test_agent_refuses_malformed_ops(void **state)
{
    struct hx *x = *state;
    char ok[300];
    const char *bad[] = {
        "catalog now", "restore", "restore 20261202T060000.000Z-abcdef job1 0",
        NULL, /* the catalog: a request with a bad checkpoint id */
        NULL, /* the catalog: a delete of a uuid that is not one */
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct hand h;
        hand_open(&h, "hosta");
        hand_expect(&h, "hello ");
        if (bad[i]) {
            hand_send(&h, bad[i]);
        } else {
            hand_send(&h, "catalog");
            snprintf(ok, sizeof(ok), i == 3 ? "status %s ../etc %s" : "delete %s %s not-a-uuid",
                     x->g.id, i == 3 ? x->g.members[0].dom_uuid : x->g.members[0].checkpoint_id);
            hand_send(&h, ok);
        }
        hand_expect(&h, "fail ");
        assert_non_null(strstr(h.line, "protocol"));
        assert_int_not_equal(xlcp_transport_close(&h.t, 10000), 0);
        forget_reports(x);
    }
    /* nothing was touched */
    assert_int_equal(status(x), 0);
    assert_outcome("hosta", "web1", "present");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_and_verify, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_member_missing_on_its_host, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_host_unreachable, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_old_agent, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_delete_finishes_later, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_delete_refuses_what_is_not_ours, setup_group,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_delete_fails_on_one_host, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_restore_across_hosts, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_restore_paused, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_restore_member_fails, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_restore_host_unreachable, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_restore_replace, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_restore_replace_fails, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_restore_fails_at_replace, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_restore_fails_at_unpause, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_restore_slow_host, setup_group, teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_killed_during_restore, setup_group,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_silent_during_restore, setup_group,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_agent_refuses_malformed_ops, setup_group, teardown),
    };

    if (argc >= 3 && strcmp(argv[1], "--agent") == 0)
        return fake_agent_main(argv[2]);
    if (!realpath(argv[0], self_exe))
        return 2;
    return cmocka_run_group_tests_name("group_hosts_ops", tests, NULL, NULL);
}
