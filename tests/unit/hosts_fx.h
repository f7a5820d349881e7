/*
 * hosts_fx.h - the fixture of the tests of groups across hosts (test_group_hosts.c,
 * test_group_hosts_ops.c): this process coordinates on a fake world of its own; XLCP_SSH
 * runs the test program itself with --agent, an agent on a fake host (fakes/fake_agent.c)
 * that writes a report when it ends; a coordinator by hand speaks the protocol line by
 * line.
 */
#ifndef XLCP_HOSTS_FX_H
#define XLCP_HOSTS_FX_H

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

#include "ctx.h"
#include "engine.h"
#include "fakes/fakes.h"
#include "group_manifest.h"
#include "group_proto.h"
#include "group_transport.h"

static char self_exe[PATH_MAX];

struct hx {
    struct fake_world *w; /* the coordinator's (its catalog gets group.xml) */
    char dir[128];        /* the agents' reports */
    xlcp_group_options gopts;
    struct xlcp_group_manifest g;
    struct xlcp_err err;
};

static inline int setup(void **state)
{
    struct hx *x = calloc(1, sizeof(*x));
    xlcp_group_options gi = XLCP_GROUP_OPTIONS_INIT;
    char ssh[PATH_MAX + 16];

    assert_non_null(x);
    x->w = fake_world_new();
    snprintf(x->dir, sizeof(x->dir), "%s/reports", x->w->root);
    assert_int_equal(mkdir(x->dir, 0700), 0);
    x->gopts = gi;
    x->gopts.name = "job1";
    x->gopts.max_wait_ms = 3000;
    snprintf(ssh, sizeof(ssh), "%s --agent", self_exe);
    setenv("XLCP_SSH", ssh, 1);
    setenv("XLCP_TEST_REPORT", x->dir, 1);
    setenv("XLCP_GROUP_PHASE_WAIT_MS", "5000", 1);
    unsetenv("XLCP_TEST_FAIL");
    unsetenv("XLCP_TEST_SKEW");
    unsetenv("XLCP_TEST_DOMS");
    unsetenv("XLCP_TEST_HOSTS");
    unsetenv("XLCP_TEST_UNREACHABLE");
    unsetenv("XLCP_TEST_SLOW");
    xlcp_err_clear(&x->err);
    *state = x;
    return 0;
}

static inline int teardown(void **state)
{
    struct hx *x = *state;

    fake_world_free(x->w);
    free(x);
    return 0;
}

/* The report of the agent on host (waits up to 30 s for the agent to write it). */
static inline char *report(struct hx *x, const char *host)
{
    static char buf[16384];
    char path[256];
    FILE *f = NULL;
    size_t n;

    snprintf(path, sizeof(path), "%s/%s", x->dir, host);
    for (int i = 0; i < 1500 && !(f = fopen(path, "r")); i++) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    if (!f)
        fail_msg("no report from the agent on %s", host);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Every guest of that host running, never left suspended; nothing committed, no volume,
 * no record. */
static inline void assert_host_clean(struct hx *x, const char *host)
{
    char *r = report(x, host);

    if (!strstr(r, "committed 0\n") || !strstr(r, "snapshots 0\n") || !strstr(r, "held 0\n") ||
        !strstr(r, "intents 0\n") || strstr(r, "suspended 1"))
        fail_msg("host %s left something: %s", host, r);
    assert_null(strstr(r, "rc 0\n")); /* it aborted */
}

/* XLCP_SSH: a script that runs the real agent for hosta (if hosta_real) and `other`, a
 * shell script's body, for every other host (a fake "agent" speaking by hand). */
static inline void fake_ssh(struct hx *x, int hosta_real, const char *other)
{
    char script[300];
    FILE *f;

    snprintf(script, sizeof(script), "%s/fake-ssh", x->w->root);
    f = fopen(script, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n");
    if (hosta_real)
        fprintf(f, "if [ \"$1\" = hosta ]; then exec %s --agent \"$@\"; fi\n", self_exe);
    fprintf(f, "%s", other);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(script, 0700), 0);
    setenv("XLCP_SSH", script, 1);
}

/* The agents' last reports removed: the next ones are the next run's. */
static inline void forget_reports(struct hx *x)
{
    static const char *const hosts[] = {"hosta", "hostb", "localhost"};

    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", x->dir, hosts[i]);
        if (unlink(path) != 0 && errno != ENOENT)
            fail_msg("unlink %s: %s", path, strerror(errno));
    }
}

static inline int hosts_create(struct hx *x, size_t n, const char *const *members)
{
    xlcp_err_clear(&x->err);
    return xlcp_engine_group_hosts(&x->w->ports, n, members, &x->gopts, &x->g, &x->err);
}

struct hand {
    struct xlcp_transport t;
    struct xlcp_proto io;
    char line[XLCP_PROTO_LINE_MAX + 1];
};

static inline void hand_open(struct hand *h, const char *host)
{
    struct xlcp_err e;

    xlcp_err_clear(&e);
    assert_int_equal(xlcp_transport_open(host, &h->t, &e), 0);
    xlcp_proto_init(&h->io, h->t.fd, h->t.fd);
}

static inline void hand_send(struct hand *h, const char *line)
{
    struct xlcp_err e;

    xlcp_err_clear(&e);
    assert_int_equal(xlcp_proto_send(&h->io, &e, "%s", line), 0);
}

/* The agent's next line starts with word. */
static inline void hand_expect(struct hand *h, const char *word)
{
    struct xlcp_err e;

    xlcp_err_clear(&e);
    do /* a restoring agent's "working" (every third of its bound) says nothing else */
        if (xlcp_proto_recv(&h->io, 20000, h->line, &e) != 0)
            fail_msg("waiting for '%s': %s", word, e.msg);
    while (strcmp(h->line, "working") == 0 && strcmp(word, "working") != 0);
    if (strncmp(h->line, word, strlen(word)) != 0)
        fail_msg("expected '%s', the agent said '%s'", word, h->line);
}

#endif
