/*
 * api_group.c - the public API of group checkpoints (xlcheckpoint.h, "group
 * checkpoints"): create, open and read a group, the agent; on top of engine_group.c and
 * group_agent.c (list, verify, delete, restore and their reports: api_group_ops.c).
 *
 * The members of a group run concurrently, each with its own Xen and LVM adapters (a
 * libxl context, its save watcher and guardian, the LVM adapter's holds are per adapter,
 * not shareable between concurrent checkpoints); the catalog and the clock are shared.
 * A context on caller-owned ports (tests) uses its ports for every member.
 */
#include "audit.h"
#include "ctx.h"
#include "engine.h"
#include "group_manifest.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define audit xlcp_api_audit

struct xlcp_group {
    struct xlcp_group_manifest g;
    char *xml;
    xlcp_group_member_info members[XLCP_GROUP_MAX];
    xlcp_group_host_info hosts[XLCP_GROUP_MAX];
};

/* Version 1 callers' struct ends before at_ns: copy only what they have. */
#define GROUP_OPTIONS_V1_SIZE offsetof(xlcp_group_options, at_ns)

int xlcp_group_options_init(xlcp_group_options *opts, unsigned int version)
{
    xlcp_group_options init = XLCP_GROUP_OPTIONS_INIT;

    if (!opts || version < 1 || version > XLCP_GROUP_OPTIONS_VERSION)
        return XLCP_EINVAL;
    init.version = version;
    memcpy(opts, &init, version == 1 ? GROUP_OPTIONS_V1_SIZE : sizeof(init));
    return 0;
}

/* Each member's own Xen and LVM adapters (the first one's are the context's). */
static int open_member_ports(xlcp_ctx *ctx, size_t n, struct xlcp_ports *own,
                             const struct xlcp_ports **mports, size_t *opened, struct xlcp_err *err)
{
    int rc = 0;

    *opened = 0;
    for (size_t i = 0; i < n; i++) {
        own[i] = ctx->ports;
        mports[i] = &own[i];
        if (!ctx->owns_ports || i == 0)
            continue;
        rc = xlcp_hv_xen_open(&own[i].hv, err);
        if (rc == 0) {
            rc = xlcp_disk_lvm_open(&own[i].disk, err);
            if (rc)
                xlcp_hv_xen_close(&own[i].hv);
        }
        if (rc)
            break;
        *opened = i + 1;
    }
    return rc;
}

static void close_member_ports(struct xlcp_ports *own, size_t opened)
{
    for (size_t i = 1; i < opened; i++) {
        xlcp_disk_lvm_close(&own[i].disk);
        xlcp_hv_xen_close(&own[i].hv);
    }
}

/* A member "host:domain": the group goes across hosts. */
static int across_hosts(const char *const *domains, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (domains[i] && strchr(domains[i], ':'))
            return 1;
    return 0;
}

int xlcp_group_create(xlcp_ctx *ctx, const char *const *domains, size_t n,
                      const xlcp_group_options *opts, char id_out[XLCP_ID_MAX])
{
    struct xlcp_ports own[XLCP_GROUP_MAX];
    const struct xlcp_ports *mports[XLCP_GROUP_MAX];
    struct xlcp_group_manifest g;
    xlcp_group_options o = XLCP_GROUP_OPTIONS_INIT;
    xlcp_create_options member;
    struct xlcp_err err;
    size_t opened = 0;
    int rc, hosts;

    if ((rc = xlcp_api_usable(ctx)))
        return rc;
    xlcp_err_clear(&err);
    if (!opts || n < 1 || n > XLCP_GROUP_MAX || !domains || opts->version < 1 ||
        opts->version > XLCP_GROUP_OPTIONS_VERSION) {
        xlcp_err_set(&err, XLCP_EINVAL,
                     "a group has 1 to %d domains, and options (version 1 to %d)", XLCP_GROUP_MAX,
                     XLCP_GROUP_OPTIONS_VERSION);
        return xlcp_api_fail(ctx, &err);
    }
    memcpy(&o, opts, opts->version == 1 ? GROUP_OPTIONS_V1_SIZE : sizeof(o));
    o.version = XLCP_GROUP_OPTIONS_VERSION;
    o.member = xlcp_api_create_opts(o.member, &member);
    opts = &o;
    hosts = across_hosts(domains, n);
    /* across hosts, this host only coordinates (its own members run under an agent) */
    if (!hosts && ((rc = xlcp_api_need_hv(ctx)) || (rc = xlcp_api_need_disk(ctx))))
        return rc;
    if (hosts)
        rc = xlcp_engine_group_hosts(&ctx->ports, n, domains, opts, &g, &err);
    else
        rc = open_member_ports(ctx, n, own, mports, &opened, &err);
    if (rc == 0 && !hosts)
        rc = xlcp_engine_group_create(mports, n, domains, opts, &g, &err);
    {
        char extra[160];
        snprintf(extra, sizeof(extra), "group=%s members=%zu skew_us=%llu",
                 opts->name ? opts->name : "", n,
                 rc ? 0ull : (unsigned long long)(g.skew_ns / 1000));
        audit(ctx,
              &(struct xlcp_audit_rec){"group-create", rc ? NULL : g.id, NULL, NULL, rc, err.msg,
                                       rc ? -1 : (int64_t)(g.longest_stop_ns / 1000), -1, extra});
    }
    close_member_ports(own, opened);
    if (rc)
        return xlcp_api_fail(ctx, &err);
    if (id_out)
        snprintf(id_out, XLCP_ID_MAX, "%s", g.id);
    return 0;
}

int xlcp_group_open(xlcp_ctx *ctx, const char *id_or_name, xlcp_group **out)
{
    struct xlcp_err err;
    xlcp_group *grp;
    int rc;

    if (!out)
        return XLCP_EINVAL;
    *out = NULL;
    if ((rc = xlcp_api_usable(ctx)))
        return rc;
    grp = calloc(1, sizeof(*grp));
    if (!grp)
        return XLCP_EINTERNAL;
    xlcp_err_clear(&err);
    rc = xlcp_engine_group_load(&ctx->ports, id_or_name, &grp->g, &err);
    if (rc == 0)
        rc = xlcp_group_manifest_to_xml(&grp->g, &grp->xml, &err);
    if (rc) {
        free(grp);
        return xlcp_api_fail(ctx, &err);
    }
    for (int i = 0; i < grp->g.n; i++) {
        const struct xlcp_group_member *gm = &grp->g.members[i];
        xlcp_group_member_info *mi = &grp->members[i];
        mi->domain_name = gm->dom_name;
        mi->domain_uuid = gm->dom_uuid;
        mi->checkpoint_id = gm->checkpoint_id;
        mi->stopped_ns = gm->stopped_ns;
        mi->resumed_ns = gm->resumed_ns;
        mi->waited_ns = gm->waited_ns;
        mi->start_delay_ns = gm->start_delay_ns;
        mi->host = gm->host;
        mi->deviation_ns = gm->deviation_ns;
        mi->has_deviation = gm->has_deviation;
    }
    for (int i = 0; i < grp->g.nhosts; i++) {
        grp->hosts[i].host = grp->g.hosts[i].name;
        grp->hosts[i].offset_ns = grp->g.hosts[i].offset_ns;
        grp->hosts[i].rtt_ns = grp->g.hosts[i].rtt_ns;
    }
    *out = grp;
    return 0;
}

void xlcp_group_free(xlcp_group *g)
{
    if (!g)
        return;
    free(g->xml);
    free(g);
}

const char *xlcp_group_id(const xlcp_group *g)
{
    return g->g.id;
}

const char *xlcp_group_name(const xlcp_group *g)
{
    return g->g.name;
}

const char *xlcp_group_created(const xlcp_group *g)
{
    return g->g.created;
}

const char *xlcp_group_clock(const xlcp_group *g)
{
    return g->g.clock;
}

uint64_t xlcp_group_skew_ns(const xlcp_group *g)
{
    return g->g.skew_ns;
}

uint64_t xlcp_group_longest_stop_ns(const xlcp_group *g)
{
    return g->g.longest_stop_ns;
}

uint64_t xlcp_group_total_ns(const xlcp_group *g)
{
    return g->g.total_ns;
}

size_t xlcp_group_member_count(const xlcp_group *g)
{
    return (size_t)g->g.n;
}

const xlcp_group_member_info *xlcp_group_member(const xlcp_group *g, size_t i)
{
    return i < (size_t)g->g.n ? &g->members[i] : NULL;
}

const char *xlcp_group_manifest_xml(const xlcp_group *g)
{
    return g->xml;
}

int64_t xlcp_group_at_ns(const xlcp_group *g)
{
    return g->g.at_ns;
}

size_t xlcp_group_host_count(const xlcp_group *g)
{
    return (size_t)g->g.nhosts;
}

const xlcp_group_host_info *xlcp_group_host(const xlcp_group *g, size_t i)
{
    return i < (size_t)g->g.nhosts ? &g->hosts[i] : NULL;
}

/* The agent's members' ports: opened when it learns how many (group_agent.c). */
struct agent_ports {
    xlcp_ctx *ctx;
    struct xlcp_ports own[XLCP_GROUP_MAX];
    size_t opened;
};

static int agent_open_ports(void *self, size_t n, unsigned int need,
                            const struct xlcp_ports **mports, struct xlcp_err *err)
{
    struct agent_ports *ap = self;
    int rc;

    if (((need & XLCP_AGENT_NEED_HV) && (rc = xlcp_api_need_hv(ap->ctx))) ||
        ((need & XLCP_AGENT_NEED_DISK) && (rc = xlcp_api_need_disk(ap->ctx))))
        return xlcp_err_set(err, rc, "%s", xlcp_last_error(ap->ctx));
    return open_member_ports(ap->ctx, n, ap->own, mports, &ap->opened, err);
}

static void agent_close_ports(void *self)
{
    struct agent_ports *ap = self;

    close_member_ports(ap->own, ap->opened);
    ap->opened = 0;
}

int xlcp_group_agent(xlcp_ctx *ctx, int in_fd, int out_fd)
{
    struct agent_ports ap;
    struct xlcp_agent_ports ops = {&ap, agent_open_ports, agent_close_ports};
    struct xlcp_err err;
    int rc;

    if ((rc = xlcp_api_usable(ctx)))
        return rc;
    memset(&ap, 0, sizeof(ap));
    ap.ctx = ctx;
    xlcp_err_clear(&err);
    rc = xlcp_engine_group_agent(&ctx->ports, &ops, in_fd, out_fd, &err);
    agent_close_ports(&ap);
    audit(ctx,
          &(struct xlcp_audit_rec){"group-agent", NULL, NULL, NULL, rc, err.msg, -1, -1, NULL});
    return rc ? xlcp_api_fail(ctx, &err) : 0;
}
