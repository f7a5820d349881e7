/*
 * group_coord.c - the coordinator of a group checkpoint across hosts. Members are
 * "host:domain"; it runs an agent on each host (group_transport.c: ssh, like xl migrate)
 * and drives them all with the protocol of libxl-plugin/man/group-agent.md:
 *
 *   hello -> setup (group, options, members) -> clock readings (each host's offset)
 *   -> prepare everywhere -> one common time to stop at, on each host's own clock
 *   -> "captured" from every host within --max-wait of the first, else abort
 *   -> resume everywhere -> each host commits its members and reports them
 *   -> group.xml here (the decision) -> finish everywhere.
 *
 * Any failure, protocol error or silence makes it say abort to every agent still there;
 * an agent that loses it aborts on its own after a bounded wait. Either way every guest
 * runs again and no member checkpoint stays. The group manifest's instants are on this
 * host's CLOCK_MONOTONIC ("coordinator-monotonic"): each host's, moved by its offset.
 */
#include "engine_run.h"
#include "group_conn.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TIME_SAMPLES 4
#define LINE (XLCP_PROTO_LINE_MAX + 1)

struct coord {
    const struct xlcp_ports *p;
    const xlcp_group_options *opts;
    struct xlcp_group_manifest *g;
    struct xlcp_hosts hs;
    char dom[XLCP_GROUP_MAX][256];
};

static int64_t wall(const struct coord *c)
{
    return c->p->clock.ops->wall_ns(c->p->clock.self);
}

/* Splits "host:domain" (a bare domain is localhost's) and groups the members by host. */
static int plan_hosts(struct coord *c, size_t n, const char *const *members, struct xlcp_err *err)
{
    for (size_t i = 0; i < n; i++) {
        const char *colon = strchr(members[i], ':');
        char host[XLCP_GROUP_HOST_MAX];
        size_t hl = colon ? (size_t)(colon - members[i]) : 9;
        const char *d = colon ? colon + 1 : members[i];
        struct xlcp_host *h;

        if (hl == 0 || hl >= sizeof(host))
            return xlcp_err_set(err, XLCP_EINVAL, "member '%s': bad host", members[i]);
        snprintf(host, sizeof(host), "%.*s", (int)hl, colon ? members[i] : "localhost");
        if (!xlcp_group_name_ok(host) || !xlcp_proto_name_ok(d) || strlen(d) >= sizeof(c->dom[0]))
            return xlcp_err_set(err, XLCP_EINVAL,
                                "member '%s': expected host:domain (host [A-Za-z0-9._-], "
                                "domain [A-Za-z0-9._:@+%%=-])",
                                members[i]);
        snprintf(c->dom[i], sizeof(c->dom[0]), "%s", d);
        for (size_t k = 0; k < c->hs.nh; k++)
            for (size_t j = 0; strcmp(c->hs.h[k].name, host) == 0 && j < c->hs.h[k].n; j++)
                if (strcmp(c->dom[c->hs.h[k].member[j]], d) == 0)
                    return xlcp_err_set(err, XLCP_EINVAL, "domain '%s' is named twice in the group",
                                        members[i]);
        h = xlcp_hosts_add(&c->hs, host, i);
        if (!h)
            return xlcp_err_set(err, XLCP_EINVAL, "member '%s': too many hosts", members[i]);
    }
    return 0;
}

/* One phase, strict: every host answers in time or the group aborts. */
static int collect(struct coord *c, xlcp_on_line_fn on_line, uint64_t deadline_ms,
                   unsigned int rule_ms, const char *what, struct xlcp_err *err)
{
    struct xlcp_collect how = {on_line, c, what, deadline_ms, rule_ms, 0, 0, 0, NULL};

    return xlcp_hosts_collect(&c->hs, &how, err);
}

static int on_prepared(void *arg, struct xlcp_host *h, char **w, int nw, struct xlcp_err *err)
{
    (void)arg;
    if (nw != 2 || strcmp(w[0], "prepared") != 0 || xlcp_proto_u64(w[1], &h->est_ns) != 0)
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'prepared EST-NS'");
    return 1;
}

static int on_captured(void *arg, struct xlcp_host *h, char **w, int nw, struct xlcp_err *err)
{
    (void)arg;
    (void)h;
    if (nw != 1 || strcmp(w[0], "captured") != 0)
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'captured'");
    return 1;
}

static int on_done(void *arg, struct xlcp_host *h, char **w, int nw, struct xlcp_err *err)
{
    (void)arg;
    (void)h;
    if (nw != 1 || strcmp(w[0], "done") != 0)
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'done'");
    return 1;
}

/* A host's instant (its CLOCK_REALTIME) on this host's monotonic clock. */
static uint64_t on_our_clock(const struct coord *c, const struct xlcp_host *h, int64_t t)
{
    int64_t w = wall(c);
    uint64_t mono = c->p->clock.ops->now_ns(c->p->clock.self);
    int64_t ours = (int64_t)mono - (w - (t - h->offset_ns));

    return t == 0 || ours < 1 ? 1 : (uint64_t)ours;
}

/* "member I ID UUID NAME STOPPED RESUMED WAITED DELAY DEVIATION" ... "committed N" */
static int on_committed(void *arg, struct xlcp_host *h, char **w, int nw, struct xlcp_err *err)
{
    struct coord *c = arg;
    struct xlcp_group_member *gm;
    uint64_t i, n;
    int64_t stopped, resumed, dev;

    if (nw == 2 && strcmp(w[0], "committed") == 0) {
        if (xlcp_proto_u64(w[1], &n) != 0 || n != h->n || h->reported != h->n)
            return xlcp_err_set(err, XLCP_EINVAL, "protocol: committed %s of %zu members", w[1],
                                h->n);
        return 1;
    }
    if (nw != 10 || strcmp(w[0], "member") != 0 || xlcp_proto_u64(w[1], &i) != 0 || i >= h->n ||
        i != h->reported)
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'member %zu ...'", h->reported);
    gm = &c->g->members[h->member[i]];
    if (strlen(w[2]) >= sizeof(gm->checkpoint_id) || strlen(w[3]) >= sizeof(gm->dom_uuid) ||
        strlen(w[4]) >= sizeof(gm->dom_name) || xlcp_proto_i64(w[5], &stopped) != 0 ||
        xlcp_proto_i64(w[6], &resumed) != 0 || xlcp_proto_u64(w[7], &gm->waited_ns) != 0 ||
        xlcp_proto_u64(w[8], &gm->start_delay_ns) != 0 || xlcp_proto_i64(w[9], &dev) != 0)
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: a malformed member line");
    snprintf(gm->checkpoint_id, sizeof(gm->checkpoint_id), "%s", w[2]);
    snprintf(gm->dom_uuid, sizeof(gm->dom_uuid), "%s", w[3]);
    snprintf(gm->dom_name, sizeof(gm->dom_name), "%s", w[4]);
    snprintf(gm->host, sizeof(gm->host), "%s", h->name);
    gm->stopped_ns = on_our_clock(c, h, stopped);
    gm->resumed_ns = on_our_clock(c, h, resumed);
    gm->has_deviation = 1;
    gm->deviation_ns = dev;
    h->reported++;
    return 0;
}

/* The offset of each host's clock: TIME_SAMPLES exchanges, the one of the shortest round
 * trip kept (its uncertainty is half that round trip). */
static int measure_clocks(struct coord *c, struct xlcp_err *err)
{
    char line[LINE], *w[XLCP_PROTO_WORDS];

    for (size_t k = 0; k < c->hs.nh; k++) {
        struct xlcp_host *h = &c->hs.h[k];
        h->rtt_ns = UINT64_MAX;
        for (int s = 0; s < TIME_SAMPLES; s++) {
            int64_t t0 = wall(c), t1, a;
            int rc = xlcp_proto_send(&h->io, err, "time");
            if (rc == 0)
                rc = xlcp_proto_recv(&h->io, 10000, line, err);
            if (rc)
                return xlcp_err_prefix(err, "host %s: clock reading", h->name);
            t1 = wall(c);
            if (xlcp_proto_split(line, w, XLCP_PROTO_WORDS, 0) != 2 || strcmp(w[0], "time") != 0 ||
                xlcp_proto_i64(w[1], &a) != 0)
                return xlcp_err_set(err, XLCP_EINVAL, "host %s: protocol: expected 'time NS'",
                                    h->name);
            if ((uint64_t)(t1 - t0) < h->rtt_ns) {
                h->rtt_ns = (uint64_t)(t1 - t0);
                h->offset_ns = a - (t0 + (t1 - t0) / 2);
            }
        }
    }
    return 0;
}

static int start_agents(struct coord *c, struct xlcp_err *err)
{
    const xlcp_create_options *mo = c->opts->member;
    xlcp_create_options defaults = XLCP_CREATE_OPTIONS_INIT;
    int rc = 0;

    mo = mo ? mo : &defaults;
    rc = xlcp_hosts_start(&c->hs, 1, 0, err); /* create: as in version 1 */
    for (size_t k = 0; k < c->hs.nh && rc == 0; k++) {
        struct xlcp_host *h = &c->hs.h[k];
        rc = xlcp_proto_send(&h->io, err, "group %s %s %u %u", c->g->id, c->g->name,
                             c->opts->max_wait_ms ? c->opts->max_wait_ms : 10000u,
                             c->hs.phase_wait_ms);
        if (rc == 0)
            rc = xlcp_proto_send(&h->io, err,
                                 "options live=%d quiesce=%d skip-non-lvm=%d "
                                 "suspend-timeout-ms=%u%s%s",
                                 mo->live != 0, mo->quiesce != 0, mo->skip_non_lvm != 0,
                                 mo->suspend_timeout_ms, mo->snapshot_size ? " snapshot-size=" : "",
                                 mo->snapshot_size ? mo->snapshot_size : "");
        for (size_t i = 0; i < h->n && rc == 0; i++)
            rc = xlcp_proto_send(&h->io, err, "member %s", c->dom[h->member[i]]);
        if (rc)
            xlcp_err_prefix(err, "host %s", h->name);
    }
    return rc;
}

/* The common time to stop at: the caller's, or as soon as every host's longest copy can
 * make it; refused if a host cannot make it. */
static int choose_time(struct coord *c, int64_t *at, struct xlcp_err *err)
{
    int64_t now = wall(c);
    uint64_t need = 0;

    for (size_t k = 0; k < c->hs.nh; k++) {
        uint64_t n = c->hs.h[k].est_ns + c->hs.h[k].rtt_ns + XLCP_GROUP_AT_MARGIN_NS;
        need = n > need ? n : need;
    }
    if (c->opts->at_ns == 0) {
        *at = now + (int64_t)need + 300000000; /* and 300 ms for the word to get there */
        return 0;
    }
    *at = c->opts->at_ns;
    if (*at - now < (int64_t)need)
        return xlcp_err_set(err, XLCP_EINVAL,
                            "the time to stop at is too near: %.3f s from the end of the "
                            "preparation, and the members need %.3f s",
                            (double)(*at - now) / 1e9, (double)need / 1e9);
    return 0;
}

static int run_phases(struct coord *c, struct xlcp_err *err)
{
    uint64_t longest = 0;
    int64_t at;
    int rc;

    rc = start_agents(c, err);
    if (rc == 0)
        rc = measure_clocks(c, err);
    if (rc)
        return rc;
    xlcp_hosts_tell(&c->hs, "prepare");
    rc = collect(c, on_prepared, xlcp_proto_now_ms() + c->hs.phase_wait_ms, 0, "prepare", err);
    if (rc == 0)
        rc = choose_time(c, &at, err);
    if (rc)
        return rc;
    c->g->at_ns = at;
    for (size_t k = 0; k < c->hs.nh; k++) {
        struct xlcp_host *h = &c->hs.h[k];
        longest = h->est_ns > longest ? h->est_ns : longest;
        if (xlcp_proto_send(&h->io, err, "stop %" PRId64, at + h->offset_ns) != 0)
            return xlcp_err_prefix(err, "host %s", h->name);
    }
    /* every host stopped and captured, at most max-wait after the first one */
    rc = collect(c, on_captured,
                 xlcp_proto_now_ms() + (uint64_t)((at - wall(c)) / 1000000) +
                     longest / 1000000 * 2 + c->hs.phase_wait_ms,
                 c->opts->max_wait_ms ? c->opts->max_wait_ms : 10000u, "stop", err);
    if (rc)
        return rc;
    xlcp_hosts_tell(&c->hs, "resume");
    rc = collect(c, on_committed, xlcp_proto_now_ms() + c->hs.phase_wait_ms, 0, "commit", err);
    return rc;
}

static int write_manifest(struct coord *c, uint64_t t0, struct xlcp_err *err)
{
    char *xml = NULL;
    int rc;

    c->g->nhosts = (int)c->hs.nh;
    for (size_t k = 0; k < c->hs.nh; k++) {
        snprintf(c->g->hosts[k].name, sizeof(c->g->hosts[k].name), "%s", c->hs.h[k].name);
        c->g->hosts[k].offset_ns = c->hs.h[k].offset_ns;
        c->g->hosts[k].rtt_ns = c->hs.h[k].rtt_ns;
    }
    xlcp_group_manifest_measure(c->g);
    c->g->total_ns = c->p->clock.ops->now_ns(c->p->clock.self) - t0;
    rc = xlcp_group_manifest_to_xml(c->g, &xml, err);
    if (rc == 0)
        rc = c->p->store.ops->group_put(c->p->store.self, XLCP_GROUP_MANIFEST, c->g->id, xml,
                                        strlen(xml), err);
    free(xml);
    return rc ? xlcp_err_prefix(err, "group manifest") : 0;
}

int xlcp_engine_group_hosts(const struct xlcp_ports *p, size_t n, const char *const *members,
                            const xlcp_group_options *opts, struct xlcp_group_manifest *out,
                            struct xlcp_err *err)
{
    struct coord *c;
    uint64_t t0 = p->clock.ops->now_ns(p->clock.self);
    int rc;

    xlcp_err_clear(err);
    if (!opts || opts->version != XLCP_GROUP_OPTIONS_VERSION)
        return xlcp_err_set(err, XLCP_EINVAL, "group options of unknown version");
    if (!xlcp_group_name_ok(opts->name))
        return xlcp_err_set(err, XLCP_EINVAL, "bad group name '%s' ([A-Za-z0-9._-], 1 to 63)",
                            opts->name ? opts->name : "");
    if (!members || n < 1 || n > XLCP_GROUP_MAX)
        return xlcp_err_set(err, XLCP_EINVAL, "a group has 1 to %d domains", XLCP_GROUP_MAX);
    if (opts->at_ns && opts->at_ns <= p->clock.ops->wall_ns(p->clock.self)) {
        char when[40];
        xlcp_group_rfc3339(opts->at_ns, when, sizeof(when));
        return xlcp_err_set(err, XLCP_EINVAL, "the time to stop at (%s) is in the past", when);
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    c->p = p;
    c->opts = opts;
    c->g = out;
    memset(out, 0, sizeof(*out));
    xlcp_engine_new_id(&p->clock, out->id);
    snprintf(out->name, sizeof(out->name), "%s", opts->name);
    xlcp_hosts_init(&c->hs, out->name);
    xlcp_group_rfc3339(p->clock.ops->wall_ns(p->clock.self), out->created, sizeof(out->created));
    snprintf(out->tool_version, sizeof(out->tool_version), "%s", XLCP_VERSION_STRING);
    snprintf(out->clock, sizeof(out->clock), "%s", XLCP_GROUP_CLOCK_HOSTS);
    out->n = (int)n;
    rc = plan_hosts(c, n, members, err);
    if (rc == 0)
        rc = run_phases(c, err);
    if (rc == 0)
        rc = write_manifest(c, t0, err); /* the decision: from here the group exists */
    if (rc == 0) {
        xlcp_hosts_tell(&c->hs, "finish");
        if (collect(c, on_done, xlcp_proto_now_ms() + c->hs.phase_wait_ms, 0, "finish", err) != 0)
            xlcp_err_clear(err); /* committed everywhere; a lost goodbye changes nothing */
    } else {
        xlcp_hosts_tell(&c->hs, "abort");
        xlcp_err_prefix(err, "group '%s'", opts->name);
    }
    /* every agent ends (its guests running) before we return: bounded, then killed */
    xlcp_hosts_close(&c->hs);
    free(c);
    return rc;
}
