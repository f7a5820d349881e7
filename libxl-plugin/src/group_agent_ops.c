/*
 * group_agent_ops.c - what the agent of a group across hosts does for a committed group
 * (protocol version 2, libxl-plugin/man/group-agent.md): a catalog session (each member
 * checkpoint of this host asked about, verified or deleted, one request a line, only if
 * its manifest names the group and the domain the coordinator says) and a restore (this
 * host's members restored paused, saying "working" meanwhile, the originals replaced and
 * the members unpaused only on the coordinator's word). If the coordinator says abort, goes away or
 * falls silent past the phase bound, every domain the restore made is destroyed again (the
 * originals are untouched) and the agent ends.
 */
#include "group_agent.h"
#include "group_ops.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A domain's uuid as the protocol carries it. */
static int uuid_ok(const char *s)
{
    return strlen(s) == XLCP_UUID_LEN && xlcp_proto_name_ok(s);
}

/* "result ID OUTCOME CODE STEP MESSAGE" (CODE 0, STEP and MESSAGE "-" on success). */
static int send_result(struct agent *a, const char *id, const struct xlcp_group_result *r,
                       struct xlcp_err *err)
{
    int rc = xlcp_proto_send(&a->io, err, "result %s %s %d %s %s", id, r->outcome, r->rc,
                             r->rc && r->step[0] ? r->step : "-", r->rc ? r->msg : "-");

    return rc ? xlcp_err_prefix(err, "the coordinator") : 0;
}

int xlcp_agent_catalog(struct agent *a, struct xlcp_err *err)
{
    char line[XLCP_PROTO_LINE_MAX + 1], *w[XLCP_PROTO_WORDS];
    const struct xlcp_ports *mp = a->p;
    int nw, rc, disks = 0;

    for (;;) {
        struct xlcp_group_result res;
        enum xlcp_member_op op;
        unsigned int flags = 0;

        rc = xlcp_agent_expect(a, XLCP_AGENT_SETUP_WAIT_MS, "status verify delete end", line, w,
                               XLCP_PROTO_WORDS, &nw, err);
        if (rc)
            return rc;
        if (strcmp(w[0], "end") == 0)
            return nw == 1 ? 0 : xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'end'");
        op = strcmp(w[0], "verify") == 0   ? XLCP_MEMBER_VERIFY
             : strcmp(w[0], "delete") == 0 ? XLCP_MEMBER_DELETE
                                           : XLCP_MEMBER_STATUS;
        if (nw != (op == XLCP_MEMBER_VERIFY ? 5 : 4) || !xlcp_engine_id_ok(w[1]) ||
            !xlcp_engine_id_ok(w[2]) || !uuid_ok(w[3]) ||
            (op == XLCP_MEMBER_VERIFY && xlcp_agent_uint(w[4], &flags) != 0))
            return xlcp_err_set(err, XLCP_EINVAL,
                                "protocol: expected '%s GROUP-ID CHECKPOINT-ID DOMAIN-UUID%s'",
                                w[0], op == XLCP_MEMBER_VERIFY ? " FLAGS" : "");
        flags &= ~XLCP_VERIFY_ENGINE_QUICK_MAP; /* restore's own, never asked for */
        /* the volumes: for delete, and verify unless told to skip them */
        if (!disks && (op == XLCP_MEMBER_DELETE ||
                       (op == XLCP_MEMBER_VERIFY && !(flags & XLCP_VERIFY_NO_DISKS)))) {
            rc = xlcp_agent_open(a, 1, XLCP_AGENT_NEED_DISK, &mp, err);
            if (rc)
                return rc;
            disks = 1;
        }
        memset(&res, 0, sizeof(res));
        xlcp_engine_group_member(mp, op, w[1], w[3], w[2], flags, &res);
        rc = send_result(a, w[2], &res, err);
        if (rc)
            return rc;
    }
}

/* ---- restore -------------------------------------------------------------------------- */

struct restore {
    struct agent *a;
    char gid[XLCP_ID_MAX];
    char ids[XLCP_GROUP_MAX][XLCP_ID_MAX];
    char uuids[XLCP_GROUP_MAX][XLCP_UUID_LEN + 1];
    size_t n;
    xlcp_restore_options opts;
    /* While the members are restored (a restore copies disks: longer than the
     * coordinator's bound of silence, maybe), a thread says "working" every third of that
     * bound. The main thread says nothing to the coordinator meanwhile: it stops the
     * thread (beat_stop) before its next line. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t beat;
    int beating;
    int stop;
};

static void *beat_main(void *arg)
{
    struct restore *r = arg;
    unsigned int every = r->a->phase_wait_ms / 3 ? r->a->phase_wait_ms / 3 : 1;

    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += every / 1000;
        until.tv_nsec += (long)(every % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&r->cv, &r->mu, &until) != 0 && !r->stop) {
            struct xlcp_err e2;
            xlcp_err_clear(&e2);
            if (xlcp_proto_send(&r->a->io, &e2, "working") != 0)
                break; /* the coordinator is gone: the main thread finds out itself */
        }
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void beat_stop(struct restore *r)
{
    if (!r->beating)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->beat, NULL);
    r->beating = 0;
}

/* From "restore GROUP-ID NAME PHASE-WAIT-MS" to "prepare": options and members. */
static int restore_setup(struct restore *r, char **w, int nw, struct xlcp_err *err)
{
    struct agent *a = r->a;
    char line[XLCP_PROTO_LINE_MAX + 1], *v[XLCP_PROTO_WORDS];
    int nv, rc;

    if (nw != 4 || !xlcp_engine_id_ok(w[1]) || !xlcp_group_name_ok(w[2]) ||
        xlcp_agent_uint(w[3], &a->phase_wait_ms) != 0 || a->phase_wait_ms == 0)
        return xlcp_err_set(err, XLCP_EINVAL,
                            "protocol: expected 'restore GROUP-ID NAME PHASE-WAIT-MS'");
    snprintf(r->gid, sizeof(r->gid), "%s", w[1]);
    snprintf(a->name, sizeof(a->name), "%s", w[2]);
    for (;;) {
        rc = xlcp_agent_expect(a, XLCP_AGENT_SETUP_WAIT_MS, "options member prepare", line, v,
                               XLCP_PROTO_WORDS, &nv, err);
        if (rc)
            return rc;
        if (strcmp(v[0], "options") == 0) {
            for (int i = 1; i < nv; i++) {
                unsigned int x = 0;
                char *eq = strchr(v[i], '=');
                if (!eq || xlcp_agent_uint(eq + 1, &x) != 0 || x > 1)
                    return xlcp_err_set(err, XLCP_EINVAL, "protocol: bad option '%s'", v[i]);
                *eq = '\0';
                if (strcmp(v[i], "replace") == 0)
                    r->opts.replace = (int)x;
                else if (strcmp(v[i], "force") == 0)
                    r->opts.force = (int)x;
                else if (strcmp(v[i], "paused") == 0)
                    r->opts.paused = (int)x;
                else
                    return xlcp_err_set(err, XLCP_EINVAL, "protocol: unknown option '%s'", v[i]);
            }
        } else if (strcmp(v[0], "member") == 0) {
            if (nv != 3 || !xlcp_engine_id_ok(v[1]) || !uuid_ok(v[2]))
                return xlcp_err_set(err, XLCP_EINVAL,
                                    "protocol: expected 'member CHECKPOINT-ID DOMAIN-UUID'");
            if (r->n >= XLCP_GROUP_MAX)
                return xlcp_err_set(err, XLCP_EINVAL, "protocol: more than %d members",
                                    XLCP_GROUP_MAX);
            snprintf(r->ids[r->n], sizeof(r->ids[0]), "%s", v[1]);
            snprintf(r->uuids[r->n], sizeof(r->uuids[0]), "%s", v[2]);
            r->n++;
        } else { /* prepare */
            if (nv != 1 || r->n == 0)
                return xlcp_err_set(err, XLCP_EINVAL,
                                    "protocol: 'prepare' before any member, or with words");
            return 0;
        }
    }
}

/* Every member made, paused: said; then the coordinator's "commit" (bounded). */
static int link_restored(void *self, const struct xlcp_group_result *res, size_t n,
                         struct xlcp_err *err)
{
    struct restore *r = self;
    char line[XLCP_PROTO_LINE_MAX + 1], *w[XLCP_PROTO_WORDS];
    int nw, rc = 0;

    beat_stop(r);
    for (size_t i = 0; i < n && rc == 0; i++)
        rc =
            xlcp_proto_send(&r->a->io, err, "restored %zu %u %s", i, res[i].domid, res[i].new_name);
    if (rc == 0)
        rc = xlcp_proto_send(&r->a->io, err, "ready %zu", n);
    if (rc)
        return xlcp_err_prefix(err, "the coordinator");
    /* "wait" while other hosts restore theirs: each resets the bound of its silence */
    do
        rc = xlcp_agent_expect(r->a, (int)r->a->phase_wait_ms, "commit wait", line, w,
                               XLCP_PROTO_WORDS, &nw, err);
    while (rc == 0 && nw == 1 && strcmp(w[0], "wait") == 0);
    return rc == 0 && nw != 1 ? xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'commit'") : rc;
}

/* Every original replaced (if asked): said; then "unpause" or "finish" (stay paused). */
static int link_committed(void *self, int *unpause, struct xlcp_err *err)
{
    struct restore *r = self;
    char line[XLCP_PROTO_LINE_MAX + 1], *w[XLCP_PROTO_WORDS];
    int nw, rc = xlcp_proto_send(&r->a->io, err, "committed");

    if (rc)
        return xlcp_err_prefix(err, "the coordinator");
    rc = xlcp_agent_expect(r->a, (int)r->a->phase_wait_ms, "unpause finish", line, w,
                           XLCP_PROTO_WORDS, &nw, err);
    if (rc == 0 && nw != 1)
        rc = xlcp_err_set(err, XLCP_EINVAL, "protocol: expected 'unpause' or 'finish'");
    *unpause = rc == 0 && strcmp(w[0], "unpause") == 0;
    return rc;
}

int xlcp_agent_restore(struct agent *a, char **w, int nw, struct xlcp_err *err)
{
    xlcp_restore_options init = XLCP_RESTORE_OPTIONS_INIT;
    struct xlcp_group_restore_link link;
    struct xlcp_group_result *res;
    const char *ids[XLCP_GROUP_MAX], *uuids[XLCP_GROUP_MAX];
    const struct xlcp_ports *mp = NULL;
    struct restore *r = calloc(1, sizeof(*r));
    int rc, beats = 0;

    res = calloc(XLCP_GROUP_MAX, sizeof(*res));
    if (!r || !res) {
        free(r);
        free(res);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }
    r->a = a;
    r->opts = init;
    rc = restore_setup(r, w, nw, err);
    if (rc == 0)
        rc = xlcp_agent_open(a, 1, XLCP_AGENT_NEED_HV | XLCP_AGENT_NEED_DISK, &mp, err);
    if (rc == 0) {
        for (size_t i = 0; i < r->n; i++) {
            ids[i] = r->ids[i];
            uuids[i] = r->uuids[i];
        }
        link = (struct xlcp_group_restore_link){r, link_restored, link_committed};
        /* without the thread (it could not start) the coordinator's bound is a member's
         * restore: said, not fatal */
        if (pthread_mutex_init(&r->mu, NULL) == 0) {
            if (pthread_cond_init(&r->cv, NULL) == 0) {
                beats = r->beating = pthread_create(&r->beat, NULL, beat_main, r) == 0;
                if (!beats)
                    pthread_cond_destroy(&r->cv);
            }
            if (!beats)
                pthread_mutex_destroy(&r->mu);
        }
        if (!beats)
            fprintf(stderr, "xl-checkpoint group-agent: no 'working' lines while restoring\n");
        rc = xlcp_engine_group_restore_run(mp, r->gid, ids, uuids, r->n, &r->opts, &link, res, err);
        if (beats) {
            beat_stop(r); /* if it failed before its "restored" lines */
            pthread_cond_destroy(&r->cv);
            pthread_mutex_destroy(&r->mu);
        }
        /* what became of each member, before the last word ("done" or "fail") */
        for (size_t i = 0; i < r->n; i++) {
            struct xlcp_err e2;
            xlcp_err_clear(&e2);
            const char *name = xlcp_proto_name_ok(res[i].new_name) ? res[i].new_name : "-";
            if (xlcp_proto_send(&a->io, &e2, "outcome %zu %s %u %s %d %s %s", i, res[i].outcome,
                                res[i].domid, name, res[i].rc,
                                res[i].rc && res[i].step[0] ? res[i].step : "-",
                                res[i].rc ? res[i].msg : "-") != 0)
                break; /* the coordinator is gone: no one to tell */
        }
    }
    free(res);
    free(r);
    return rc;
}
