/*
 * group_coord_restore.c - `restore --group` of a group across hosts, from the host that
 * holds its group.xml, in the two-phase shape of create (protocol version 2,
 * libxl-plugin/man/group-agent.md):
 *
 *   every host restores its members, paused ("restored" each, "ready")
 *   -> all ready: "commit" to every host (with --replace the originals go only now)
 *   -> all committed: "unpause" to every host (or "finish": --paused), back to back
 *   -> each host says what became of each member ("outcome") and "done".
 *
 * A host unreachable, failing or silent past the phase bound before the commit: "abort"
 * to every other, which destroys the domains it made (the originals untouched); each
 * member is reported with its host. An agent that loses the coordinator does the same on
 * its own (group_agent_ops.c).
 */
#include "group_conn.h"
#include "group_ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rs {
    const struct xlcp_group_manifest *g;
    struct xlcp_group_result *res;
    struct xlcp_hosts *hs;
    const char *until;          /* the word that completes the phase */
    int told[XLCP_GROUP_MAX];   /* per member: its host said what became of it */
    int failed[XLCP_GROUP_MAX]; /* per host: it failed (not an abort's echo) */
};

/* The index of the k-th member of h, from the word s; -1 if not one. */
static int member_of(const struct xlcp_host *h, const char *s)
{
    uint64_t i;

    return xlcp_proto_u64(s, &i) == 0 && i < h->n ? (int)h->member[i] : -1;
}

/* Every line a host may say during a restore: "restored I DOMID NAME", "outcome I OUTCOME
 * DOMID NAME CODE STEP MESSAGE" (its members' fate, before its last word), and the word that
 * completes the phase ("ready N", "committed", "done"). */
static int on_line(void *arg, struct xlcp_host *h, char **w, int nw, struct xlcp_err *err)
{
    struct rs *r = arg;
    struct xlcp_group_result *m;
    uint64_t domid;
    int64_t code;
    int i;

    if (strcmp(w[0], "restored") == 0) {
        i = nw >= 4 ? member_of(h, w[1]) : -1;
        if (i < 0 || xlcp_proto_u64(w[2], &domid) != 0 || domid == 0 || domid > 0xffffffffu)
            return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'restored I DOMID NAME'");
        m = &r->res[i];
        m->domid = (uint32_t)domid;
        snprintf(m->new_name, sizeof(m->new_name), "%s", xlcp_proto_rest(w, nw, 3));
        xlcp_group_result_set(m, "paused", 0, "", NULL);
        h->reported++;
        return 0;
    }
    if (strcmp(w[0], "outcome") == 0) {
        i = nw >= 8 ? member_of(h, w[1]) : -1;
        if (i < 0 || xlcp_proto_u64(w[3], &domid) != 0 || domid > 0xffffffffu ||
            xlcp_proto_i64(w[5], &code) != 0 || code > 0 || code < XLCP_EINTERNAL ||
            strlen(w[2]) >= sizeof(r->res[i].outcome))
            return xlcp_err_set(
                err, XLCP_EINVAL,
                "protocol: expected 'outcome I OUTCOME DOMID NAME CODE STEP MESSAGE'");
        m = &r->res[i];
        if (domid)
            m->domid = (uint32_t)domid;
        if (strcmp(w[4], "-") != 0)
            snprintf(m->new_name, sizeof(m->new_name), "%s", w[4]);
        xlcp_group_result_set(m, w[2], (int)code, w[6], xlcp_proto_rest(w, nw, 7));
        r->told[i] = 1;
        return 0;
    }
    if (strcmp(w[0], "working") == 0 && nw == 1)
        return 0; /* restoring, maybe for long: heard, the bound of silence starts again */
    /* the answer to a phase the group has left (an abort crossed it): its outcome follows */
    if (strcmp(r->until, "done") == 0 &&
        (strcmp(w[0], "ready") == 0 || strcmp(w[0], "committed") == 0))
        return 0;
    if (strcmp(w[0], r->until) != 0)
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: '%s' where the agent should say %s", w[0],
                            r->until);
    if (strcmp(w[0], "ready") == 0) {
        uint64_t n;
        if (nw != 2 || xlcp_proto_u64(w[1], &n) != 0 || n != h->n || h->reported != h->n)
            return xlcp_err_set(err, XLCP_EINVAL, "protocol: ready %s of %zu members",
                                nw == 2 ? w[1] : "?", h->n);
    } else if (nw != 1) {
        return xlcp_err_set(err, XLCP_EINVAL, "protocol: expected '%s'", r->until);
    }
    return 1;
}

/* While the others restore: "wait" to each host ready already, whose members wait paused
 * for "commit" at most a phase bound of our silence. */
static void keep_waiting(void *arg, struct xlcp_hosts *hs)
{
    (void)arg;
    for (size_t k = 0; k < hs->nh; k++) {
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (hs->h[k].answered && !hs->h[k].gone && xlcp_proto_send(&hs->h[k].io, &e2, "wait"))
            xlcp_host_failed(&hs->h[k], &e2);
    }
}

/* Says word (if any) to every host still there and collects their answers up to until:
 * at most a phase bound of silence. The first host that failed: its code, else 0. */
static int phase(struct rs *r, const char *word, const char *until, struct xlcp_err *err)
{
    struct xlcp_hosts *hs = r->hs;
    struct xlcp_collect how = {on_line, r, until, 0, 0, hs->phase_wait_ms, 1, 0, NULL};

    if (strcmp(until, "ready") == 0) {
        how.tick_ms = hs->phase_wait_ms / 3 ? hs->phase_wait_ms / 3 : 1;
        how.on_tick = keep_waiting;
    }

    if (word)
        xlcp_hosts_tell(hs, word);
    r->until = until;
    how.deadline_ms = xlcp_proto_now_ms() + hs->phase_wait_ms;
    if (xlcp_hosts_collect(hs, &how, err) != 0) /* lenient: each host's own failure */
        return err->code;
    for (size_t k = 0; k < hs->nh; k++)
        if (hs->h[k].rc)
            return hs->h[k].rc;
    return 0;
}

/* "restore GROUP-ID NAME PHASE-WAIT-MS", "options ...", "member ID UUID"..., "prepare" */
static int send_setup(struct rs *r, struct xlcp_host *h, const xlcp_restore_options *opts,
                      struct xlcp_err *err)
{
    int rc = xlcp_proto_send(&h->io, err, "restore %s %s %u", r->g->id, r->g->name,
                             r->hs->phase_wait_ms);

    if (rc == 0)
        rc = xlcp_proto_send(&h->io, err, "options replace=%d force=%d paused=%d",
                             opts->replace != 0, opts->force != 0, opts->paused != 0);
    for (size_t m = 0; m < h->n && rc == 0; m++)
        rc = xlcp_proto_send(&h->io, err, "member %s %s", r->g->members[h->member[m]].checkpoint_id,
                             r->g->members[h->member[m]].dom_uuid);
    if (rc == 0)
        rc = xlcp_proto_send(&h->io, err, "prepare");
    return rc ? xlcp_err_prefix(err, "host %s", h->name) : 0;
}

/* Members whose host did not say what became of them: from what is known. The cause of a
 * host's failure is on at least one of its members. */
static void reconcile(struct rs *r, const char *step, int aborted)
{
    for (size_t k = 0; k < r->hs->nh; k++) {
        const struct xlcp_host *h = &r->hs->h[k];
        int said = 0;
        for (size_t j = 0; j < h->n; j++) {
            struct xlcp_group_result *m = &r->res[h->member[j]];
            said |= m->rc != 0;
            if (r->told[h->member[j]])
                continue;
            if (!r->failed[k] && aborted && m->domid) {
                /* told to abort, it said nothing more of a domain it had restored */
                xlcp_group_result_set(m, "failed", XLCP_EIO, "undo",
                                      "its agent said nothing more after the abort: the domain "
                                      "it restored may be left, paused");
                said = 1;
                continue;
            }
            if (!r->failed[k])
                continue; /* restored, or never started: as the phases left it */
            if (!h->version)
                xlcp_group_result_set(m, "unreachable", h->rc, "connect", h->why);
            else if (m->domid)
                /* made, and its agent ended without a word about it */
                xlcp_group_result_set(m, "failed", h->rc, step, h->why);
            else
                xlcp_group_result_set(m, "not-restored", h->rc, step, h->why);
            said = 1;
        }
        if (r->failed[k] && !said && h->n) {
            struct xlcp_group_result *m = &r->res[h->member[0]];
            char outcome[sizeof(m->outcome)];
            snprintf(outcome, sizeof(outcome), "%s", m->outcome);
            xlcp_group_result_set(m, outcome, h->rc, step, h->why);
        }
    }
}

int xlcp_engine_hosts_restore(const struct xlcp_ports *p, const struct xlcp_group_manifest *g,
                              const xlcp_restore_options *opts, struct xlcp_group_result *res,
                              struct xlcp_err *err)
{
    struct rs *r = calloc(1, sizeof(*r));
    struct xlcp_hosts *hs = calloc(1, sizeof(*hs));
    const char *step = "restore";
    int rc = 0;

    (void)p;
    if (opts->version >= 2 && opts->ndisk_paths > 0) {
        free(r);
        free(hs);
        return xlcp_err_set(err, XLCP_EINVAL,
                            "--disk VDEV=PATH does not apply to a group across hosts (a path is "
                            "one host's)");
    }
    if (!r || !hs) {
        free(r);
        free(hs);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }
    r->g = g;
    r->res = res;
    r->hs = hs;
    xlcp_hosts_init(hs, g->name);
    for (int i = 0; i < g->n && rc == 0; i++) {
        xlcp_group_result_set(&res[i], "not-restored", 0, "", NULL);
        if (!xlcp_hosts_add(hs, g->members[i].host[0] ? g->members[i].host : "localhost",
                            (size_t)i))
            rc = xlcp_err_set(err, XLCP_ECORRUPT, "too many hosts");
    }
    if (rc == 0) {
        /* every host reached before any is asked to restore anything */
        rc = xlcp_hosts_start(hs, 2, 1, err);
        for (size_t k = 0; k < hs->nh && rc == 0; k++)
            rc = hs->h[k].rc;
        for (size_t k = 0; k < hs->nh && rc == 0; k++)
            if (send_setup(r, &hs->h[k], opts, err) != 0)
                xlcp_host_failed(&hs->h[k], err);
        if (rc == 0)
            rc = phase(r, NULL, "ready", err);
    }
    if (rc == 0) {
        step = "replace";
        rc = phase(r, "commit", "committed", err);
    }
    if (rc == 0) {
        /* every host ready and committed: now they run, together */
        step = "unpause";
        rc = phase(r, opts->paused ? "finish" : "unpause", "done", err);
        for (size_t k = 0; k < hs->nh; k++)
            r->failed[k] = hs->h[k].rc != 0;
    } else {
        for (size_t k = 0; k < hs->nh; k++)
            r->failed[k] = hs->h[k].rc != 0;
        /* every other host undoes what it made; what it says of its members is kept (its
         * "fail", the answer to our abort, is no failure of its own) */
        if (phase(r, "abort", "done", err) != 0)
            xlcp_err_clear(err);
    }
    reconcile(r, step, rc != 0);
    xlcp_hosts_close(hs);
    free(hs);
    free(r);
    if (rc == 0)
        xlcp_err_clear(err);
    else
        xlcp_err_set(err, rc, "%s", "a member failed"); /* the caller names it */
    return rc;
}
