/*
 * group_agent.c - the agent of a group checkpoint across hosts (`xl-checkpoint
 * group-agent`): the coordinator runs it on each host over ssh and drives it over its
 * stdin/stdout with the protocol of libxl-plugin/man/group-agent.md. Its first word says
 * what for: a create ("group", here), the catalog or a restore (group_agent_ops.c). A
 * create takes this host's members through the engine (xlcp_engine_group_run) with a
 * link that reports each phase and waits, bounded, for the coordinator's word: the time
 * to stop at, resume, finish. Whenever the coordinator says abort, closes its end or says
 * nothing in time, the engine resumes every guest and removes every member's work,
 * committed or not.
 */
#include "group_agent.h"

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int xlcp_agent_expect(struct agent *a, int timeout_ms, const char *want, char *line, char **w,
                      int max, int *nw, struct xlcp_err *err)
{
    int rc = xlcp_proto_recv(&a->io, timeout_ms, line, err);
    size_t len;

    if (rc)
        return xlcp_err_prefix(err, "the coordinator");
    *nw = xlcp_proto_split(line, w, max, 0);
    if (*nw < 1)
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: a malformed line from the coordinator");
    if (strcmp(w[0], "abort") == 0)
        return xlcp_err_set(err, XLCP_ESTATE, "the coordinator aborted the group");
    len = strlen(w[0]);
    for (const char *s = want; (s = strstr(s, w[0])) != NULL; s += len)
        if ((s == want || s[-1] == ' ') && (s[len] == ' ' || s[len] == '\0'))
            return 0;
    return xlcp_err_set(err, XLCP_EINVAL, "protocol: '%s' where the coordinator should say %s",
                        w[0], want);
}

int xlcp_agent_uint(const char *s, unsigned int *v)
{
    uint64_t u;

    if (xlcp_proto_u64(s, &u) != 0 || u > 0xffffffffu)
        return -1;
    *v = (unsigned int)u;
    return 0;
}

/* "options key=value ...": the members' create options. */
static int parse_options(struct agent *a, char **w, int nw, struct xlcp_err *err)
{
    for (int i = 1; i < nw; i++) {
        char *eq = strchr(w[i], '=');
        unsigned int v = 0;
        if (!eq)
            return xlcp_err_set(err, XLCP_EINVAL, "protocol: option '%s' without a value", w[i]);
        *eq++ = '\0';
        if (strcmp(w[i], "snapshot-size") == 0) {
            if (strlen(eq) >= sizeof(a->snapshot_size))
                return xlcp_err_set(err, XLCP_EINVAL, "protocol: snapshot-size too long");
            snprintf(a->snapshot_size, sizeof(a->snapshot_size), "%s", eq);
            a->copts.snapshot_size = a->snapshot_size;
            continue;
        }
        if (xlcp_agent_uint(eq, &v) != 0)
            return xlcp_err_set(err, XLCP_EINVAL, "protocol: bad value of option %s", w[i]);
        if (strcmp(w[i], "live") == 0)
            a->copts.live = v != 0;
        else if (strcmp(w[i], "quiesce") == 0)
            a->copts.quiesce = v != 0;
        else if (strcmp(w[i], "skip-non-lvm") == 0)
            a->copts.skip_non_lvm = v != 0;
        else if (strcmp(w[i], "suspend-timeout-ms") == 0)
            a->copts.suspend_timeout_ms = v;
        else
            return xlcp_err_set(err, XLCP_EINVAL, "protocol: unknown option '%s'", w[i]);
    }
    return 0;
}

/* From "group" (its words w) to "prepare": the group, its options, its members here,
 * clock readings. */
static int setup(struct agent *a, char **w, int nw, struct xlcp_err *err)
{
    char line[XLCP_PROTO_LINE_MAX + 1];
    int rc;

    if (nw != 5 || strlen(w[1]) >= sizeof(a->id) || !xlcp_engine_id_ok(w[1]) ||
        !xlcp_group_name_ok(w[2]) || xlcp_agent_uint(w[3], &a->max_wait_ms) != 0 ||
        xlcp_agent_uint(w[4], &a->phase_wait_ms) != 0 || a->max_wait_ms == 0 ||
        a->phase_wait_ms == 0)
        return xlcp_err_set(err, XLCP_EINVAL,
                            "protocol: expected 'group ID NAME MAX-WAIT-MS PHASE-WAIT-MS'");
    snprintf(a->id, sizeof(a->id), "%s", w[1]);
    snprintf(a->name, sizeof(a->name), "%s", w[2]);
    for (;;) {
        rc = xlcp_agent_expect(a, XLCP_AGENT_SETUP_WAIT_MS, "options member time prepare", line, w,
                               XLCP_PROTO_WORDS, &nw, err);
        if (rc)
            return rc;
        if (strcmp(w[0], "options") == 0) {
            if ((rc = parse_options(a, w, nw, err)) != 0)
                return rc;
        } else if (strcmp(w[0], "member") == 0) {
            if (nw != 2 || !xlcp_proto_name_ok(w[1]) || strlen(w[1]) >= sizeof(a->domains[0]))
                return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'member DOMAIN'");
            if (a->n >= XLCP_GROUP_MAX)
                return xlcp_err_set(err, XLCP_EINVAL, "protocol: more than %d members",
                                    XLCP_GROUP_MAX);
            snprintf(a->domains[a->n++], sizeof(a->domains[0]), "%s", w[1]);
        } else if (strcmp(w[0], "time") == 0) {
            if (nw != 1)
                return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'time'");
            rc = xlcp_proto_send(&a->io, err, "time %" PRId64,
                                 a->p->clock.ops->wall_ns(a->p->clock.self));
            if (rc)
                return xlcp_err_prefix(err, "the coordinator");
        } else { /* prepare */
            if (nw != 1 || a->n == 0)
                return xlcp_err_set(err, XLCP_EINVAL,
                                    "protocol: 'prepare' before any member, or with words");
            return 0;
        }
    }
}

/* ---- the link: the engine's phases, reported and confirmed ---------------------- */

static int link_prepared(void *self, uint64_t est_ns, int64_t *at_ns, struct xlcp_err *err)
{
    struct agent *a = self;
    char line[XLCP_PROTO_LINE_MAX + 1], *w[XLCP_PROTO_WORDS];
    int nw, rc;

    rc = xlcp_proto_send(&a->io, err, "prepared %" PRIu64, est_ns);
    if (rc)
        return xlcp_err_prefix(err, "the coordinator");
    rc = xlcp_agent_expect(a, (int)a->phase_wait_ms, "stop", line, w, XLCP_PROTO_WORDS, &nw, err);
    if (rc)
        return rc;
    if (nw != 2 || xlcp_proto_i64(w[1], at_ns) != 0 || *at_ns <= 0)
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'stop TIME-NS'");
    return 0;
}

static int link_captured(void *self, struct xlcp_err *err)
{
    struct agent *a = self;
    char line[XLCP_PROTO_LINE_MAX + 1], *w[XLCP_PROTO_WORDS];
    int nw, rc;

    rc = xlcp_proto_send(&a->io, err, "captured");
    if (rc)
        return xlcp_err_prefix(err, "the coordinator");
    /* the guests are stopped: the coordinator's own bound, and a little for the wire */
    rc = xlcp_agent_expect(a, (int)a->max_wait_ms + 2000, "resume", line, w, XLCP_PROTO_WORDS, &nw,
                           err);
    if (rc == 0 && nw != 1)
        rc = xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'resume'");
    return rc;
}

/* An instant of this host's monotonic clock on its CLOCK_REALTIME (0 stays 0). */
static int64_t on_wall(const struct xlcp_ports *p, uint64_t mono)
{
    int64_t wall = p->clock.ops->wall_ns(p->clock.self);
    uint64_t now = p->clock.ops->now_ns(p->clock.self);

    return mono ? wall - (int64_t)(now - mono) : 0;
}

static int link_committed(void *self, const struct xlcp_group_manifest *g, struct xlcp_err *err)
{
    struct agent *a = self;
    char line[XLCP_PROTO_LINE_MAX + 1], *w[XLCP_PROTO_WORDS];
    int nw, rc = 0;

    for (int i = 0; i < g->n && rc == 0; i++) {
        const struct xlcp_group_member *m = &g->members[i];
        rc = xlcp_proto_send(
            &a->io, err,
            "member %d %s %s %s %" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %" PRId64, i,
            m->checkpoint_id, m->dom_uuid, m->dom_name, on_wall(a->p, m->stopped_ns),
            on_wall(a->p, m->resumed_ns), m->waited_ns, m->start_delay_ns, m->deviation_ns);
    }
    if (rc == 0)
        rc = xlcp_proto_send(&a->io, err, "committed %d", g->n);
    if (rc)
        return xlcp_err_prefix(err, "the coordinator");
    rc = xlcp_agent_expect(a, (int)a->phase_wait_ms, "finish", line, w, XLCP_PROTO_WORDS, &nw, err);
    if (rc == 0 && nw != 1)
        rc = xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'finish'");
    return rc;
}

/* While members wait for their start: anything from the coordinator now (it has nothing
 * to say until "captured") is an abort or its end. */
static int link_gone(void *self)
{
    struct agent *a = self;
    struct pollfd pf = {a->io.in_fd, POLLIN, 0};

    return a->io.eof || a->io.len > 0 || poll(&pf, 1, 0) > 0;
}

/* create: this host's members through the engine, with the link. */
static int serve_create(struct agent *a, char **w, int nw, struct xlcp_err *err)
{
    xlcp_group_options gopts = XLCP_GROUP_OPTIONS_INIT;
    const struct xlcp_ports *mports[XLCP_GROUP_MAX];
    const char *doms[XLCP_GROUP_MAX];
    struct xlcp_group_manifest *g;
    struct xlcp_group_link link;
    int rc = setup(a, w, nw, err);

    if (rc)
        return rc;
    rc = xlcp_agent_open(a, a->n, XLCP_AGENT_NEED_HV | XLCP_AGENT_NEED_DISK, mports, err);
    if (rc)
        return rc;
    g = calloc(1, sizeof(*g));
    if (!g)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    for (size_t i = 0; i < a->n; i++)
        doms[i] = a->domains[i];
    gopts.name = a->name;
    gopts.member = &a->copts;
    gopts.max_wait_ms = a->max_wait_ms;
    link =
        (struct xlcp_group_link){a, a->id, link_prepared, link_captured, link_committed, link_gone};
    rc = xlcp_engine_group_run(mports, a->n, doms, &gopts, &link, g, err);
    free(g);
    return rc;
}

int xlcp_agent_open(struct agent *a, size_t n, unsigned int need, const struct xlcp_ports **mports,
                    struct xlcp_err *err)
{
    int rc;

    if (a->opened)
        a->ap->close_ports(a->ap->self);
    a->opened = 0;
    rc = a->ap->open_ports(a->ap->self, n, need, mports, err);
    if (rc == 0)
        a->opened = 1;
    return rc;
}

int xlcp_engine_group_agent(const struct xlcp_ports *p, const struct xlcp_agent_ports *ap,
                            int in_fd, int out_fd, struct xlcp_err *err)
{
    xlcp_create_options defaults = XLCP_CREATE_OPTIONS_INIT;
    char line[XLCP_PROTO_LINE_MAX + 1], *w[XLCP_PROTO_WORDS] = {NULL};
    struct agent *a;
    char host[256];
    int nw = 0, rc;

    xlcp_err_clear(err);
    /* a coordinator gone (its ssh session closed) is seen as an error, never kills us */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    a = calloc(1, sizeof(*a));
    if (!a)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    xlcp_proto_init(&a->io, in_fd, out_fd);
    a->p = p;
    a->ap = ap;
    a->copts = defaults;
    if (gethostname(host, sizeof(host)) != 0 || !xlcp_proto_name_ok(host))
        snprintf(host, sizeof(host), "unknown");
    rc = xlcp_proto_send(&a->io, err, "hello %s %d %s", XLCP_PROTO_HELLO, XLCP_PROTO_VERSION, host);
    /* what the coordinator wants: create (version 1), the catalog, restore (version 2) */
    if (rc == 0)
        rc = xlcp_agent_expect(a, XLCP_AGENT_SETUP_WAIT_MS, "group catalog restore", line, w,
                               XLCP_PROTO_WORDS, &nw, err);
    if (rc == 0 && strcmp(w[0], "group") == 0)
        rc = serve_create(a, w, nw, err);
    else if (rc == 0 && strcmp(w[0], "catalog") == 0)
        rc = nw == 1 ? xlcp_agent_catalog(a, err)
                     : xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'catalog'");
    else if (rc == 0)
        rc = xlcp_agent_restore(a, w, nw, err);
    if (a->opened)
        ap->close_ports(ap->self);
    if (rc) {
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        /* the coordinator may be gone: then there is no one to tell (it names the host) */
        if (xlcp_proto_send(&a->io, &e2, "fail %d %s", rc, err->msg) != 0)
            xlcp_err_clear(&e2);
    } else {
        rc = xlcp_proto_send(&a->io, err, "done");
        if (rc) /* done on the coordinator's word: only the goodbye is lost */
            rc = 0;
    }
    free(a);
    return rc;
}
