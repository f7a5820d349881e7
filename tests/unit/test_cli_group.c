/*
 * test_cli_group.c - the group forms of the command line on the fakes: create --group
 * prints the group's id; list --groups, info --group (human, JSON, XML), verify --group,
 * restore --group and delete --group by id and by name; a failing member's exit code and
 * one-line error; usage errors; --at: TIME parsed (RFC 3339, @epoch), the deviation shown
 * by info, a time in the past refused with nothing touched; a group across two fake hosts
 * (agents: this program with --agent, fakes/fake_agent.c): each member's status, host and
 * outcome in list, info, verify, restore and delete (text and JSON, errors included), an
 * unreachable host named and the group kept until a later delete.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cli_fx.h"

#include <limits.h>
#include <sys/stat.h>

#include "../../libxl-plugin/cli/cli_int.h"

static void group_world(struct fx *f)
{
    assert_non_null(fake_add_domain(f->w, "db1", 1));
}

static const char *group_create(struct fx *f)
{
    static char id[XLCP_ID_MAX];
    int rc = run(f, "create", "--group", "job1", "web1", "db1", NULL);

    if (rc != 0)
        fail_msg("create --group: exit %d, stderr '%s'", rc, f->err);
    assert_true(f->outlen > 1 && f->outlen < sizeof(id));
    memcpy(id, f->out, f->outlen - 1);
    id[f->outlen - 1] = '\0';
    return id;
}

static void test_create_list_info(void **state)
{
    struct fx *f = *state;
    const char *id;
    char gid[XLCP_ID_MAX];

    group_world(f);
    id = group_create(f);
    snprintf(gid, sizeof(gid), "%s", id);
    assert_int_equal(run(f, "list", "--groups", NULL), 0);
    assert_non_null(strstr(f->out, gid));
    assert_non_null(strstr(f->out, "job1"));
    assert_int_equal(run(f, "list", "--groups", "other", NULL), 0);
    assert_null(strstr(f->out, gid));
    /* the members are ordinary checkpoints too */
    assert_int_equal(run(f, "list", NULL), 0);
    assert_non_null(strstr(f->out, "web1"));
    assert_non_null(strstr(f->out, "db1"));
    assert_int_equal(run(f, "info", "--group", "job1", NULL), 0);
    assert_non_null(strstr(f->out, "skew:"));
    assert_non_null(strstr(f->out, "db1"));
    assert_int_equal(run(f, "info", "--group", "--json", gid, NULL), 0);
    assert_non_null(strstr(f->out, "\"skew_ms\""));
    assert_non_null(strstr(f->out, "\"stopped_ns\""));
    assert_non_null(strstr(f->out, "\"dom0-monotonic\""));
    assert_int_equal(run(f, "info", "--group", "--xml", gid, NULL), 0);
    assert_non_null(strstr(f->out, "<group version=\"2\">"));
    assert_int_equal(run(f, "list", "--groups", "--json", NULL), 0);
    assert_non_null(strstr(f->out, "\"groups\""));
    assert_non_null(strstr(f->out, gid));
    assert_int_equal(run(f, "verify", "--group", "--json", "job1", NULL), 0);
    assert_non_null(strstr(f->out, "\"ok\""));
    assert_int_equal(run(f, "verify", "--group", "job1", NULL), 0);
    assert_non_null(strstr(f->out, "OK"));
}

static void test_restore_then_delete(void **state)
{
    struct fx *f = *state;
    char gid[XLCP_ID_MAX];
    unsigned a = 0, b = 0;
    char na[32], nb[32];

    group_world(f);
    snprintf(gid, sizeof(gid), "%s", group_create(f));
    assert_int_equal(run(f, "restore", "--group", gid, NULL), 0);
    assert_int_equal(sscanf(f->out, "%u %31s\n%u %31s", &a, &na[0], &b, &nb[0]), 4);
    assert_string_equal(na, "web1");
    assert_string_equal(nb, "db1");
    assert_true(a != 0 && b != 0 && a != b);
    assert_int_equal(run(f, "restore", "--group", "--name", "x", gid, NULL), XLCP_EXIT_USAGE);
    /* the restored domains go (as `xl destroy` would), and the group is restored again */
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        if (f->w->doms[i].used && strchr(f->w->doms[i].d.name, '-'))
            f->w->doms[i].used = 0;
    assert_int_equal(run(f, "restore", "--group", "--paused", "--json", gid, NULL), 0);
    assert_non_null(strstr(f->out, "\"domid\""));
    assert_non_null(strstr(f->out, "\"paused\": true"));
    /* a member alone: refused, the group would name a checkpoint that is gone */
    assert_int_equal(run(f, "list", NULL), 0);
    {
        char member[XLCP_ID_MAX] = "";
        const char *nl = strchr(f->out, '\n');
        assert_non_null(nl);
        assert_int_equal(sscanf(nl + 1, "%63s", member), 1);
        assert_int_equal(run(f, "delete", member, NULL), XLCP_EXIT_BUSY);
        assert_non_null(strstr(f->err, "member of group"));
    }
    assert_int_equal(run(f, "delete", "--group", "job1", NULL), 0);
    assert_int_equal(run(f, "list", "--groups", NULL), 0);
    assert_null(strstr(f->out, gid));
    assert_int_equal(run(f, "list", NULL), 0);
    assert_null(strstr(f->out, "web1"));
    assert_int_equal(run(f, "delete", "--group", "job1", NULL), XLCP_EXIT_NOTFOUND);
    assert_int_equal(run(f, "delete", "-f", "--group", "job1", NULL), 0);
}

static void test_member_fails(void **state)
{
    struct fx *f = *state;

    group_world(f);
    fake_find_domain(f->w, "db1")->never_suspends = 1;
    assert_int_equal(run(f, "create", "--group", "job1", "web1", "db1", NULL), XLCP_EXIT_TIMEDOUT);
    assert_one_error_line(f, "xl-checkpoint: create: group 'job1': domain 'db1'");
    assert_int_equal(f->dom->suspended, 0);
    assert_int_equal(run(f, "list", "--groups", NULL), 0);
    assert_null(strstr(f->out, "job1"));
}

static void test_usage(void **state)
{
    struct fx *f = *state;

    assert_int_equal(run(f, "create", "--group", "job1", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "create", "--max-wait", "2", "web1", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "create", "--group", "bad name", "web1", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "info", "--group", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "info", "--group", "nosuch", NULL), XLCP_EXIT_NOTFOUND);
}

static void test_parse_time(void **state)
{
    int64_t ns = 0;

    (void)state;
    assert_int_equal(cli_parse_time("@1795000000", &ns), 0);
    assert_int_equal(ns, 1795000000ll * 1000000000ll);
    assert_int_equal(cli_parse_time("@1795000000.25", &ns), 0);
    assert_int_equal(ns, 1795000000ll * 1000000000ll + 250000000);
    assert_int_equal(cli_parse_time("2026-12-02T06:00:00Z", &ns), 0);
    assert_int_equal(ns, 1796191200ll * 1000000000ll);
    assert_int_equal(cli_parse_time("2026-12-02T07:00:00.5+01:00", &ns), 0);
    assert_int_equal(ns, 1796191200ll * 1000000000ll + 500000000);
    assert_int_equal(cli_parse_time("2026-12-02 05:30:00-00:30", &ns), 0);
    assert_int_equal(ns, 1796191200ll * 1000000000ll);
    assert_int_equal(cli_parse_time("2026-12-02T06:00:00", &ns), -1); /* no zone */
    assert_int_equal(cli_parse_time("2026-13-02T06:00:00Z", &ns), -1);
    assert_int_equal(cli_parse_time("2026-12-02T06:00:00Zx", &ns), -1);
    assert_int_equal(cli_parse_time("@", &ns), -1);
    assert_int_equal(cli_parse_time("@-5", &ns), -1);
    assert_int_equal(cli_parse_time("@12.", &ns), -1);
    assert_int_equal(cli_parse_time("tomorrow", &ns), -1);
}

static void test_create_at(void **state)
{
    struct fx *f = *state;
    char at[64];
    int64_t wall = f->w->wall_ns + (int64_t)f->w->now_ns;

    group_world(f);
    /* the past: refused (usage), nothing touched */
    snprintf(at, sizeof(at), "@%lld", (long long)(wall / 1000000000 - 10));
    assert_int_equal(run(f, "create", "--group", "job1", "--at", at, "web1", "db1", NULL),
                     XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: create: the time to stop at");
    assert_non_null(strstr(f->err, "in the past"));
    assert_string_equal(f->w->log, "");
    assert_int_equal(run(f, "create", "--group", "job1", "--at", "noon", "web1", NULL),
                     XLCP_EXIT_USAGE);
    /* one domain: its manifest records the time and the deviation */
    snprintf(at, sizeof(at), "@%lld", (long long)(wall / 1000000000 + 10));
    assert_int_equal(run(f, "create", "--at", at, "db1", NULL), 0);
    {
        char id[XLCP_ID_MAX];
        assert_true(f->outlen > 1 && f->outlen < sizeof(id));
        memcpy(id, f->out, f->outlen - 1);
        id[f->outlen - 1] = '\0';
        assert_int_equal(run(f, "info", "--xml", id, NULL), 0);
        assert_non_null(strstr(f->out, "<stop-at ns=\""));
        assert_non_null(strstr(f->out, "deviation-ns=\""));
    }
    /* 10 s ahead: done, the deviation shown */
    snprintf(at, sizeof(at), "@%lld", (long long)(wall / 1000000000 + 20));
    assert_int_equal(run(f, "create", "--group", "job1", "--at", at, "web1", "db1", NULL), 0);
    assert_int_equal(run(f, "info", "--group", "job1", NULL), 0);
    assert_non_null(strstr(f->out, "at:  "));
    assert_non_null(strstr(f->out, "DEVIATION(ms)"));
    assert_int_equal(run(f, "info", "--group", "--json", "job1", NULL), 0);
    assert_non_null(strstr(f->out, "\"deviation_ms\": "));
    assert_null(strstr(f->out, "\"deviation_ms\": null"));
    assert_non_null(strstr(f->out, "\"hosts\": ["));
    assert_int_equal(run(f, "info", "--group", "--xml", "job1", NULL), 0);
    assert_non_null(strstr(f->out, "deviation-ns="));
    assert_non_null(strstr(f->out, "<at ns="));
}

static char self_exe[PATH_MAX];

/* Members on fake hosts hosta and hostb, kept between the agents' runs. */
static void hosts_env(struct fx *f)
{
    char dir[PATH_MAX], ssh[PATH_MAX + 16];

    snprintf(dir, sizeof(dir), "%s/hosts", f->w->root);
    assert_int_equal(mkdir(dir, 0700), 0);
    setenv("XLCP_TEST_HOSTS", dir, 1);
    snprintf(dir, sizeof(dir), "%s/reports", f->w->root);
    assert_int_equal(mkdir(dir, 0700), 0);
    setenv("XLCP_TEST_REPORT", dir, 1);
    snprintf(ssh, sizeof(ssh), "%s --agent", self_exe);
    setenv("XLCP_SSH", ssh, 1);
    setenv("XLCP_GROUP_PHASE_WAIT_MS", "5000", 1);
    unsetenv("XLCP_TEST_UNREACHABLE");
    unsetenv("XLCP_TEST_FAIL");
}

static void test_across_hosts(void **state)
{
    struct fx *f = *state;

    hosts_env(f);
    if (run(f, "create", "--group", "job2", "hosta:web1", "hostb:web1", NULL) != 0)
        fail_msg("create --group across hosts: %s", f->err);
    assert_int_equal(run(f, "list", "--groups", NULL), 0);
    assert_non_null(strstr(f->out, "all 2 present"));
    assert_int_equal(run(f, "list", "--groups", "--json", NULL), 0);
    assert_non_null(strstr(f->out, "\"status\": \"present\""));
    assert_int_equal(run(f, "info", "--group", "job2", NULL), 0);
    assert_non_null(strstr(f->out, "hostb:web1"));
    assert_non_null(strstr(f->out, "present"));
    assert_int_equal(run(f, "info", "--group", "--json", "job2", NULL), 0);
    assert_non_null(strstr(f->out, "\"status_error\": null"));
    assert_int_equal(run(f, "verify", "--group", "job2", NULL), 0);
    assert_non_null(strstr(f->out, "hostb:web1"));
    assert_non_null(strstr(f->out, "group job2: OK"));
    assert_int_equal(run(f, "verify", "--group", "--json", "job2", NULL), 0);
    assert_non_null(strstr(f->out, "\"outcome\": \"ok\""));
    assert_int_equal(run(f, "restore", "--group", "--json", "job2", NULL), 0);
    assert_non_null(strstr(f->out, "\"outcome\": \"running\""));
    assert_non_null(strstr(f->out, "\"host\": \"hostb\""));
    /* again: each restored name is taken now, on both hosts: refused, nothing left */
    assert_int_not_equal(run(f, "restore", "--group", "--json", "job2", NULL), 0);
    assert_non_null(strstr(f->out, "\"members\""));
    assert_non_null(strstr(f->out, "already exists"));
    assert_int_not_equal(run(f, "restore", "--group", "job2", NULL), 0);
    assert_non_null(strstr(f->out, "hosta:web1"));
    assert_one_error_line(f, "xl-checkpoint: restore: group 'job2' (");
    /* hostb out of reach: named; delete keeps the group until hostb's member is gone too */
    setenv("XLCP_TEST_UNREACHABLE", "hostb:1", 1);
    assert_int_equal(run(f, "list", "--groups", NULL), 0);
    assert_non_null(strstr(f->out, "1 of 2 present; hostb:web1 unreachable"));
    assert_int_not_equal(run(f, "delete", "--group", "--json", "job2", NULL), 0);
    assert_non_null(strstr(f->out, "\"outcome\": \"deleted\""));
    assert_non_null(strstr(f->out, "\"outcome\": \"unreachable\""));
    assert_int_not_equal(run(f, "delete", "--group", "job2", NULL), 0);
    assert_non_null(strstr(f->out, "hostb:web1"));
    assert_non_null(strstr(f->err, "the group is kept"));
    unsetenv("XLCP_TEST_UNREACHABLE");
    assert_int_equal(run(f, "delete", "--group", "--json", "job2", NULL), 0);
    assert_non_null(strstr(f->out, "\"outcome\": \"gone\""));
    assert_int_equal(run(f, "list", "--groups", NULL), 0);
    assert_null(strstr(f->out, "job2"));
    unsetenv("XLCP_TEST_HOSTS");
    unsetenv("XLCP_SSH");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_list_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_then_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test_setup_teardown(test_create_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_across_hosts, setup, teardown),
    };

    if (argc >= 3 && strcmp(argv[1], "--agent") == 0)
        return fake_agent_main(argv[2]);
    if (!realpath(argv[0], self_exe))
        return 2;
    return cmocka_run_group_tests_name("cli_group", tests, NULL, NULL);
}
