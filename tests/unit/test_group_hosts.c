/*
 * test_group_hosts.c - groups across hosts on the fakes: the coordinator
 * (xlcp_engine_group_hosts) reaches its agents through XLCP_SSH, set to this very test
 * program with --agent: each agent is a child process on a fake world of its own
 * (fakes/fake_agent.c), which writes a report (rc, its guests' state, what its catalog
 * holds) when it ends. Cases:
 * two hosts committed with offsets and deviations; the coordinator killed (SIGKILL)
 * between phases; an agent failing in prepare; a host that never reports its members
 * captured (the others resume after --max-wait); malformed protocol lines refused, by the
 * agent and by the coordinator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hosts_fx.h"

/* ---- the tests: this process coordinates ------------------------------------------- */

static void test_two_hosts(void **state)
{
    struct hx *x = *state;
    const char *members[3] = {"hosta:web1", "hosta:db1", "hostb:web1"};
    struct xlcp_group_manifest g2;
    char *r;
    int ia = -1, ib = -1;

    setenv("XLCP_TEST_SKEW", "hostb:5000000000", 1); /* hostb's clock 5 s ahead */
    if (hosts_create(x, 3, members) != 0)
        fail_msg("%s", x->err.msg);
    assert_int_equal(x->g.n, 3);
    assert_int_equal(x->g.nhosts, 2);
    assert_string_equal(x->g.clock, "coordinator-monotonic");
    assert_true(x->g.at_ns > 0);
    for (int k = 0; k < 2; k++) {
        if (strcmp(x->g.hosts[k].name, "hosta") == 0)
            ia = k;
        if (strcmp(x->g.hosts[k].name, "hostb") == 0)
            ib = k;
    }
    assert_true(ia >= 0 && ib >= 0);
    /* the offsets, measured: hostb 5 s ahead of hosta (the fake clocks move by a few ms) */
    assert_in_range(x->g.hosts[ib].offset_ns - x->g.hosts[ia].offset_ns, 4900000000ll,
                    5100000000ll);
    for (int i = 0; i < 3; i++) {
        const struct xlcp_group_member *m = &x->g.members[i];
        assert_string_equal(m->host, i < 2 ? "hosta" : "hostb");
        assert_true(m->checkpoint_id[0] != '\0');
        assert_true(m->has_deviation);
        assert_true(m->resumed_ns > m->stopped_ns);
    }
    /* moved onto one clock, hostb's stop is with the others despite its 5 s */
    assert_true(x->g.skew_ns < 1000000000ull);
    assert_int_equal(xlcp_engine_group_load(&x->w->ports, x->g.id, &g2, &x->err), 0);
    assert_int_equal(g2.nhosts, 2);
    assert_string_equal(g2.members[2].host, "hostb");
    assert_int_equal(g2.members[2].deviation_ns, x->g.members[2].deviation_ns);
    r = report(x, "hosta");
    assert_non_null(strstr(r, "rc 0\n"));
    assert_non_null(strstr(r, "committed 2\n"));
    assert_non_null(strstr(r, "dom web1 suspended 0 resumes 1\n"));
    assert_non_null(strstr(r, "dom db1 suspended 0 resumes 1\n"));
    assert_non_null(strstr(r, "intents 0\n"));
    r = report(x, "hostb");
    assert_non_null(strstr(r, "rc 0\n"));
    assert_non_null(strstr(r, "committed 1\n"));
    assert_non_null(strstr(r, "dom web1 suspended 0 resumes 1\n"));
    assert_non_null(strstr(r, "dom db1 suspended 0 resumes 0\n")); /* not a member there */
}

static void test_agent_fails_in_prepare(void **state)
{
    struct hx *x = *state;
    const char *members[2] = {"hosta:web1", "hostb:web1"};

    setenv("XLCP_TEST_FAIL", "hostb:disk.arm", 1);
    assert_int_equal(hosts_create(x, 2, members), XLCP_ENOSPC);
    assert_non_null(strstr(x->err.msg, "group 'job1'"));
    /* one "group 'job1'", the host, the domain, the step, the cause */
    assert_non_null(strstr(x->err.msg, "group 'job1': host hostb: domain 'web1' step prepare: "));
    assert_non_null(strstr(x->err.msg, "disk.arm"));
    assert_host_clean(x, "hosta");
    assert_host_clean(x, "hostb");
    assert_non_null(strstr(report(x, "hosta"), "resumes 0")); /* never touched */
    /* told to abort, or found the coordinator gone (it closes at once after saying so) */
    if (!strstr(report(x, "hosta"), "aborted") && !strstr(report(x, "hosta"), "gone"))
        fail_msg("hosta: %s", report(x, "hosta"));
}

/* Refused before any agent is started. */
static void test_at_in_the_past(void **state)
{
    struct hx *x = *state;
    const char *members[2] = {"hosta:web1", "hostb:web1"};

    x->gopts.at_ns = x->w->wall_ns - 1;
    assert_int_equal(hosts_create(x, 2, members), XLCP_EINVAL);
    assert_non_null(strstr(x->err.msg, "in the past"));
    x->gopts.at_ns = 0;
    members[1] = "bad host:web1";
    assert_int_equal(hosts_create(x, 2, members), XLCP_EINVAL);
    members[1] = "hosta:web1";
    assert_int_equal(hosts_create(x, 2, members), XLCP_EINVAL); /* named twice */
}

/* ---- a coordinator by hand: the protocol line by line --------------------------------- */

/* Drives one agent up to the phase `until` ("prepared", "captured", "committed"), then
 * the coordinator dies: killed (SIGKILL, in a child process) when kill is 1. */
static void drive_and_die(struct hx *x, const char *host, const char *until)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        struct hand h;
        char stop[64];
        hand_open(&h, host);
        hand_expect(&h, "hello xlcp-group-agent 2 ");
        hand_send(&h, "group 20261202T060000.000Z-abcdef job1 2000 3000");
        hand_send(&h, "options live=1 quiesce=0 skip-non-lvm=0 suspend-timeout-ms=60000");
        hand_send(&h, "member web1");
        hand_send(&h, "member db1");
        hand_send(&h, "time");
        hand_expect(&h, "time ");
        hand_send(&h, "prepare");
        hand_expect(&h, "prepared ");
        if (strcmp(until, "prepared") != 0) {
            /* the fake clocks start alike: a time 3 s ahead of this one */
            snprintf(stop, sizeof(stop), "stop %" PRId64,
                     (int64_t)(x->w->wall_ns + 1000000000ll + 3000000000ll));
            hand_send(&h, stop);
            hand_expect(&h, "captured");
        }
        if (strcmp(until, "committed") == 0) {
            hand_send(&h, "resume");
            hand_expect(&h, "member 0 ");
            hand_expect(&h, "member 1 ");
            hand_expect(&h, "committed 2");
        }
        raise(SIGKILL); /* the coordinator vanishes, its socket closed by the kernel */
        _exit(99);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_coordinator_killed_after_prepare(void **state)
{
    struct hx *x = *state;

    drive_and_die(x, "hosta", "prepared");
    assert_host_clean(x, "hosta");
    assert_non_null(strstr(report(x, "hosta"), "dom web1 suspended 0 resumes 0"));
}

static void test_coordinator_killed_while_stopped(void **state)
{
    struct hx *x = *state;

    drive_and_die(x, "hosta", "captured");
    assert_host_clean(x, "hosta");
    /* its guests were stopped and captured: resumed once, on its own */
    assert_non_null(strstr(report(x, "hosta"), "dom web1 suspended 0 resumes 1"));
    assert_non_null(strstr(report(x, "hosta"), "dom db1 suspended 0 resumes 1"));
}

static void test_coordinator_killed_before_finish(void **state)
{
    struct hx *x = *state;

    drive_and_die(x, "hosta", "committed");
    /* committed there, but never told to keep them: deleted */
    assert_host_clean(x, "hosta");
    assert_non_null(strstr(report(x, "hosta"), "dom web1 suspended 0 resumes 1"));
}

/* The agent refuses what the protocol does not say, and ends having touched nothing. */
static void test_agent_refuses_malformed(void **state)
{
    struct hx *x = *state;
    static const char *const bad[] = {
        "group",                                                /* words missing */
        "group 20261202T060000.000Z-abcdef bad/name 2000 3000", /* a bad group name */
        "frobnicate now",                                       /* no such word */
        "group  20261202T060000.000Z-abcdef job1 2000 3000",    /* two spaces */
        "group 20261202T060000.000Z-abcdef job1 2000 3000\001", /* a control byte */
        "group 20261202T060000.000Z-abcdef job1 -1 3000",       /* a bad number */
        "group ../../etc job1 2000 3000",                       /* not an id */
    };
    char big[XLCP_PROTO_LINE_MAX + 64];

    for (size_t i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
        struct hand h;
        char path[256];
        hand_open(&h, "hosta");
        hand_expect(&h, "hello ");
        if (i < sizeof(bad) / sizeof(bad[0])) {
            hand_send(&h, bad[i]);
        } else { /* a line longer than the protocol allows */
            memset(big, 'x', sizeof(big) - 1);
            big[sizeof(big) - 1] = '\0';
            assert_true(write(h.t.fd, big, sizeof(big) - 1) > 0);
            assert_true(write(h.t.fd, "\n", 1) == 1);
        }
        hand_expect(&h, "fail ");
        assert_non_null(strstr(h.line, "protocol"));
        assert_int_not_equal(xlcp_transport_close(&h.t, 10000), 0);
        assert_host_clean(x, "hosta");
        snprintf(path, sizeof(path), "%s/hosta", x->dir);
        assert_int_equal(unlink(path), 0);
    }
    /* a member line after prepare's word set: refused too */
    {
        struct hand h;
        hand_open(&h, "hosta");
        hand_expect(&h, "hello ");
        hand_send(&h, "group 20261202T060000.000Z-abcdef job1 2000 3000");
        hand_send(&h, "member web1");
        hand_send(&h, "prepare");
        hand_expect(&h, "prepared ");
        hand_send(&h, "member db1"); /* not 'stop' */
        hand_expect(&h, "fail ");
        assert_non_null(strstr(h.line, "protocol"));
        xlcp_transport_close(&h.t, 10000);
        assert_host_clean(x, "hosta");
    }
}

/* The coordinator refuses an agent that does not speak the protocol: every other agent
 * aborts. The fake "agents" are shell scripts run as the transport. */
static void test_coordinator_refuses_malformed(void **state)
{
    struct hx *x = *state;
    const char *members[2] = {"hosta:web1", "hostb:web1"};

    /* hostb: a bad answer to prepare; hosta: the real agent */
    fake_ssh(x, 1,
             "echo 'hello xlcp-group-agent 1 fake'\n"
             "while read -r l; do case \"$l\" in time) echo 'time 12';; prepare) echo "
             "'prepared twelve';; esac; done\n");
    assert_int_equal(hosts_create(x, 2, members), XLCP_EINVAL);
    assert_non_null(strstr(x->err.msg, "hostb"));
    assert_non_null(strstr(x->err.msg, "protocol"));
    assert_host_clean(x, "hosta");
    /* an agent of another protocol version */
    fake_ssh(x, 0, "echo 'hello xlcp-group-agent 7 fake'\ncat >/dev/null\n");
    assert_int_equal(hosts_create(x, 2, members), XLCP_EUNSUPPORTED);
    assert_non_null(strstr(x->err.msg, "protocol 7"));
}

/* The consistency rule across hosts: hostb never reports its members captured; hosta's,
 * stopped and captured, wait at most --max-wait, then the group gives up and hosta
 * resumes its guests and removes their work. */
static void test_host_never_captures(void **state)
{
    struct hx *x = *state;
    const char *members[2] = {"hosta:web1", "hostb:web1"};

    fake_ssh(x, 1,
             "echo 'hello xlcp-group-agent 1 fake'\n"
             "while read -r l; do case \"$l\" in time) echo 'time 1795000001000000000';; "
             "prepare) echo 'prepared 0';; esac; done\n");
    x->gopts.max_wait_ms = 1000;
    assert_int_equal(hosts_create(x, 2, members), XLCP_ETIMEDOUT);
    assert_non_null(strstr(x->err.msg, "hostb"));
    assert_host_clean(x, "hosta");
    assert_non_null(strstr(report(x, "hosta"), "dom web1 suspended 0 resumes 1"));
    assert_int_equal(x->w->ports.store.ops->group_get(x->w->ports.store.self, XLCP_GROUP_MANIFEST,
                                                      x->g.id, &(char *){NULL}, &x->err),
                     XLCP_ENOTFOUND);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_hosts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agent_fails_in_prepare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_in_the_past, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_killed_after_prepare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_killed_while_stopped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_killed_before_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(test_agent_refuses_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_refuses_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_never_captures, setup, teardown),
    };

    if (argc >= 3 && strcmp(argv[1], "--agent") == 0)
        return fake_agent_main(argv[2]);
    if (!realpath(argv[0], self_exe))
        return 2;
    return cmocka_run_group_tests_name("group_hosts", tests, NULL, NULL);
}
