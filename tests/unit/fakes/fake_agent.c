/*
 * fake_agent.c - the agent of a fake host, for the tests of groups across hosts
 * (test_group_hosts.c, test_group_hosts_ops.c): those tests set XLCP_SSH to their own
 * program with --agent, which runs fake_agent_main(HOST): `xl-checkpoint group-agent` on
 * a fake world, speaking the protocol on stdin/stdout. Environment:
 *   XLCP_TEST_DOMS         the domains of a new host (default "web1 db1")
 *   XLCP_TEST_HOSTS        a directory: each host's world is kept there between runs
 *                          (fake_host.c); unset: a new world each run
 *   XLCP_TEST_FAIL         "HOST:OP": OP fails once on HOST (ENOSPC)
 *   XLCP_TEST_SKEW         "HOST:NS": HOST's wall clock that far ahead
 *   XLCP_TEST_SLOW         "HOST:MS": each restore on HOST takes that long (real time)
 *   XLCP_TEST_UNREACHABLE  "HOST:1": HOST cannot be reached (as ssh fails: exit 255)
 *   XLCP_TEST_REPORT       where the agent writes its report when it ends, <dir>/HOST:
 *                          its rc, its domains, what its catalog and volume group hold,
 *                          its error and its call log (times in real ns)
 */
#include "fakes.h"

#include "ctx.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "host:value" in env var `name` for this host: the value, or NULL. */
static const char *for_host(const char *name, const char *host)
{
    const char *v = getenv(name);
    size_t hl = strlen(host);

    if (v && strncmp(v, host, hl) == 0 && v[hl] == ':')
        return v + hl + 1;
    return NULL;
}

/* How many checkpoints the catalog holds (kind < 0), or group files of that kind; 999 if
 * it cannot tell. */
static size_t count(struct fake_world *w, int kind)
{
    const struct xlcp_store *st = &w->ports.store;
    struct xlcp_err e;
    char **ids = NULL;
    size_t n = 0;
    int rc;

    xlcp_err_clear(&e);
    rc = kind < 0 ? st->ops->list(st->self, NULL, &ids, &n, &e)
                  : st->ops->group_list(st->self, (enum xlcp_group_kind)kind, &ids, &n, &e);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc ? 999 : n;
}

static void write_report(struct fake_world *w, const char *host, int rc, const char *error)
{
    const char *dir = getenv("XLCP_TEST_REPORT");
    char path[PATH_MAX], final[PATH_MAX];
    int restored = 0;
    FILE *f;

    /* written whole, then renamed: the test never reads half a report */
    snprintf(path, sizeof(path), "%s/.%s", dir ? dir : "/tmp", host);
    snprintf(final, sizeof(final), "%s/%s", dir ? dir : "/tmp", host);
    f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f, "rc %d\n", rc);
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        if (w->doms[i].used) {
            fprintf(f, "dom %s suspended %d resumes %d\n", w->doms[i].d.name, w->doms[i].suspended,
                    w->doms[i].resumes);
            fprintf(f, "domain %s domid %u %s\n", w->doms[i].d.name, w->doms[i].d.domid,
                    w->doms[i].d.state == XLCP_DOM_PAUSED ? "paused" : "running");
        }
    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        restored += w->vols[i].used && strcmp(w->vols[i].tag, "xlcp-restored") == 0;
    fprintf(f, "committed %zu\nsnapshots %d\nheld %d\nintents %zu\nrestored-volumes %d\n",
            count(w, -1), fake_snapshot_count(w), fake_held_count(w), count(w, XLCP_GROUP_INTENT),
            restored);
    fprintf(f, "error %s\nlog:\n%s", error, w->log);
    if (fclose(f) == 0 && rename(path, final) != 0)
        perror("rename report");
}

int fake_agent_main(const char *host)
{
    const char *doms = getenv("XLCP_TEST_DOMS"), *fail = for_host("XLCP_TEST_FAIL", host);
    const char *skew = for_host("XLCP_TEST_SKEW", host), *hosts = getenv("XLCP_TEST_HOSTS");
    const char *slow = for_host("XLCP_TEST_SLOW", host);
    struct fake_world *w;
    char names[256], dir[PATH_MAX];
    xlcp_ctx *ctx = NULL;
    int rc, fresh = 1;

    if (for_host("XLCP_TEST_UNREACHABLE", host)) {
        fprintf(stderr, "ssh: connect to host %s port 22: Connection refused\n", host);
        return 255;
    }
    if (hosts) {
        snprintf(dir, sizeof(dir), "%s/%s", hosts, host);
        w = fake_host_open(dir);
        for (int i = 0; i < FAKE_MAX_DOMS; i++)
            fresh &= !w->doms[i].used;
    } else {
        w = fake_world_new();
    }
    snprintf(names, sizeof(names), "%s", doms ? doms : "web1 db1");
    for (char *t = strtok(names, " "); fresh && t; t = strtok(NULL, " "))
        fake_add_domain(w, t, 1);
    w->log_times = 1;
    if (fail)
        fake_fail(w, fail, XLCP_ENOSPC, 1);
    if (skew)
        w->wall_ns += strtoll(skew, NULL, 10);
    w->restore_delay_ms = slow ? (unsigned int)strtoul(slow, NULL, 10) : 0;
    if (xlcp_ctx_new_with_ports(&ctx, &w->ports) != 0)
        return 3;
    rc = xlcp_group_agent(ctx, 0, 1);
    if (skew)
        w->wall_ns -= strtoll(skew, NULL, 10);
    if (hosts && fake_host_save(w, dir) != 0)
        perror("fake_host_save");
    write_report(w, host, rc, rc ? xlcp_last_error(ctx) : "");
    xlcp_ctx_free(ctx);
    fake_world_free(w);
    return rc ? 1 : 0;
}
