/*
 * group_coord_ops.c - status, verify and delete of a group across hosts, from the host
 * that holds its group.xml: the agent of every member's host is asked (a catalog
 * session, protocol version 2: libxl-plugin/man/group-agent.md) about each of its
 * members' checkpoints, all hosts at once, and every member gets what its host answered.
 * A host that cannot be reached, or fails on the way, does not stop the others: its
 * members are reported "unreachable" (or "failed"), with the host and the cause.
 */
#include "group_conn.h"
#include "group_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ask {
    const struct xlcp_group_manifest *g;
    struct xlcp_group_result *res;
    enum xlcp_member_op op;
};

/* "result ID OUTCOME CODE STEP MESSAGE" for each member in turn, then "done". */
static int on_result(void *arg, struct xlcp_host *h, char **w, int nw, struct xlcp_err *err)
{
    struct ask *k = arg;
    struct xlcp_group_result *r;
    const char *want, *step;
    int64_t code;

    if (h->reported == h->n) {
        if (nw != 1 || strcmp(w[0], "done") != 0)
            return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'done'");
        return 1;
    }
    r = &k->res[h->member[h->reported]];
    want = r->checkpoint_id;
    if (nw < 6 || strcmp(w[0], "result") != 0 || strcmp(w[1], want) != 0 ||
        xlcp_proto_i64(w[3], &code) != 0 || code > 0 || code < XLCP_EINTERNAL ||
        strlen(w[2]) >= sizeof(r->outcome))
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'result %s OUTCOME CODE ...'",
                            want);
    step = strcmp(w[4], "-") == 0 ? xlcp_member_op_name(k->op) : w[4];
    xlcp_group_result_set(r, w[2], (int)code, step, xlcp_proto_rest(w, nw, 5));
    h->reported++;
    return 0;
}

/* The request of one member: "OP GROUP-ID CHECKPOINT-ID DOMAIN-UUID [FLAGS]". */
static int ask_member(struct xlcp_host *h, const struct ask *k, size_t i, unsigned int flags,
                      struct xlcp_err *err)
{
    const struct xlcp_group_member *m = &k->g->members[i];

    if (k->op == XLCP_MEMBER_VERIFY)
        return xlcp_proto_send(&h->io, err, "verify %s %s %s %u", k->g->id, m->checkpoint_id,
                               m->dom_uuid, flags);
    return xlcp_proto_send(&h->io, err, "%s %s %s %s", xlcp_member_op_name(k->op), k->g->id,
                           m->checkpoint_id, m->dom_uuid);
}

int xlcp_engine_hosts_members(const struct xlcp_ports *p, const struct xlcp_group_manifest *g,
                              enum xlcp_member_op op, unsigned int flags,
                              struct xlcp_group_result *res, struct xlcp_err *err)
{
    struct ask k = {g, res, op};
    struct xlcp_hosts *hs = calloc(1, sizeof(*hs));
    struct xlcp_collect how = {on_result, &k, xlcp_member_op_name(op), 0, 0, 0, 1, 0, NULL};

    (void)p;
    if (!hs)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    xlcp_hosts_init(hs, g->name);
    for (int i = 0; i < g->n; i++)
        if (!xlcp_hosts_add(hs, g->members[i].host[0] ? g->members[i].host : "localhost",
                            (size_t)i)) {
            free(hs);
            return xlcp_err_set(err, XLCP_ECORRUPT, "too many hosts");
        }
    /* lenient: a host not reached is marked (its members reported), the others asked */
    if (xlcp_hosts_start(hs, 2, 1, err) != 0) {
        xlcp_hosts_close(hs);
        free(hs);
        return err->code;
    }
    /* every request at once: each agent answers them in turn */
    for (size_t j = 0; j < hs->nh; j++) {
        struct xlcp_host *h = &hs->h[j];
        int rc = h->gone ? 0 : xlcp_proto_send(&h->io, err, "catalog");
        for (size_t m = 0; m < h->n && rc == 0 && !h->gone; m++)
            rc = ask_member(h, &k, h->member[m], flags, err);
        if (rc == 0 && !h->gone)
            rc = xlcp_proto_send(&h->io, err, "end");
        if (rc) {
            xlcp_err_prefix(err, "host %s", h->name);
            xlcp_host_failed(h, err);
        }
    }
    /* at most a phase bound of silence per answer (a verify reads a whole image) */
    how.deadline_ms = xlcp_proto_now_ms() + hs->phase_wait_ms;
    how.extend_ms = hs->phase_wait_ms;
    if (xlcp_hosts_collect(hs, &how, err) != 0) { /* lenient: each host's own failure */
        xlcp_hosts_close(hs);
        free(hs);
        return err->code;
    }
    for (size_t j = 0; j < hs->nh; j++) {
        struct xlcp_host *h = &hs->h[j];
        /* the members it did not answer for: what stopped it */
        for (size_t m = h->reported; h->rc && m < h->n; m++)
            xlcp_group_result_set(&res[h->member[m]], h->version ? "failed" : "unreachable", h->rc,
                                  h->version ? xlcp_member_op_name(op) : "connect", h->why);
    }
    xlcp_hosts_close(hs);
    free(hs);
    xlcp_err_clear(err);
    return 0;
}
