/*
 * engine_group.c - a group checkpoint: several domains of this host, one instant.
 *
 *   prepare every member (lock, disks, space, intent record, snapshot volumes armed),
 *   with the group's combined space checked -> group intent record -> one thread per
 *   member: quiesce, live copy, suspend, disk snapshot, [consistency rule], resume, thaw
 *   -> commit every member -> group manifest (atomic) -> drop the group's record.
 *
 * The consistency rule: a member's thread, once its guest is stopped and its disks are
 * captured, waits (xlcp_group_sync_captured, before its resume) until every member got
 * there; so no message a guest sends after its checkpoint can reach another guest before
 * that guest's checkpoint. All or nothing: any failure makes every member stop, resume
 * its guest and undo its work; a member checkpoint committed before a later failure is
 * deleted. A run killed on the way is undone by `recover` from the group's intent record
 * (engine_group_catalog.c) and the members' own records.
 *
 * The instants (stopped, resumed) are the clock port's now_ns: CLOCK_MONOTONIC of dom0,
 * one clock for every domain of the host (Xen's system time is not read).
 *
 * With a time to stop at (opts->at_ns), each copy starts that time minus its expected
 * duration (engine_group_plan.c) and each member's deviation is recorded. The members of
 * one host of a group across hosts run here too, with a link to their coordinator
 * (engine.h, group_agent.c) asked at each phase.
 */
#include "engine_run.h"
#include "group_manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int (*xlcp_engine_group_test_hook)(const char *point);

/*
 * What the member threads share. n and wait_ms are written by the main thread before
 * any member thread starts and only read afterwards; captured and failed are read and
 * written only under mu: captured by each member's thread once (in sync_captured), failed
 * by any member's thread that fails or gives up waiting, and by the main thread when it
 * cannot start a member's thread.
 */
struct xlcp_group_sync {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled when captured or failed changes */
    int n;
    unsigned int wait_ms;
    const struct xlcp_group_link *link; /* a host of a group across hosts, else NULL */
    int captured;                       /* members stopped with their disks captured */
    int failed;   /* a member failed: everyone resumes, nothing is committed */
    int released; /* with a link: the coordinator said resume */
};

/* One member. The main thread owns it except while the member's thread runs (from
 * pthread_create to pthread_join), when that thread alone writes r, m, rc, err and ended
 * and reads delay_ns (written before its pthread_create). */
struct member {
    struct run r;
    struct xlcp_manifest m;
    xlcp_create_options opts;
    const char *domain;
    struct xlcp_group_sync *sync;
    int rc;
    struct xlcp_err err;
    int prepared;  /* prepare succeeded: the run holds the lock, the record, the txn */
    int ended;     /* failed and unwound (xlcp_run_fail) */
    int committed; /* its checkpoint is in the catalog */
    /* the schedule (plan_starts, main thread, before the threads start): how long its
     * copy is expected to take until the guest stops, and how long to wait before it */
    uint64_t est_ns;
    uint64_t delay_ns;
    uint64_t start_at; /* the clock when the threads start: its copy starts at + delay_ns */
    pthread_t th;
    int th_running;
};

static void sync_fail(struct xlcp_group_sync *g)
{
    pthread_mutex_lock(&g->mu);
    g->failed = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

int xlcp_group_sync_failed(struct xlcp_group_sync *g)
{
    int f;

    pthread_mutex_lock(&g->mu);
    f = g->failed;
    pthread_mutex_unlock(&g->mu);
    return f;
}

int xlcp_group_sync_captured(struct xlcp_group_sync *g, int member, struct xlcp_err *err)
{
    struct timespec until;
    int rc = 0, captured;

    (void)member;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += g->wait_ms / 1000;
    until.tv_nsec += (long)(g->wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g->mu);
    g->captured++;
    if (g->link && g->captured == g->n && !g->failed) {
        /* the last of this host: ask the coordinator (bounded), then release the others */
        pthread_mutex_unlock(&g->mu);
        rc = g->link->captured(g->link->self, err);
        pthread_mutex_lock(&g->mu);
        if (rc)
            g->failed = 1;
        else if (!g->failed)
            g->released = 1;
        rc = rc ? rc : g->failed ? xlcp_err_set(err, XLCP_ESTATE, "%s", XLCP_GROUP_ABORTED) : 0;
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        return rc;
    }
    pthread_cond_broadcast(&g->cv);
    if (g->link) { /* the last one waits for the coordinator (its own bound) meanwhile */
        until.tv_sec += g->wait_ms / 1000 + 5;
    }
    while (!g->failed && (g->captured < g->n || (g->link && !g->released)) && rc == 0)
        rc = pthread_cond_timedwait(&g->cv, &g->mu, &until);
    captured = g->captured;
    if (!g->failed && (captured < g->n || (g->link && !g->released))) {
        g->failed = 1; /* waited long enough, stopped: the whole group gives up */
        pthread_cond_broadcast(&g->cv);
        pthread_mutex_unlock(&g->mu);
        return xlcp_err_set(err, XLCP_ETIMEDOUT,
                            "waited %u ms stopped for the other members of the group (%d of %d "
                            "stopped and captured): giving up, resuming every member",
                            g->wait_ms, captured, g->n);
    }
    rc = g->failed;
    pthread_mutex_unlock(&g->mu);
    return rc ? xlcp_err_set(err, XLCP_ESTATE, "%s", XLCP_GROUP_ABORTED) : 0;
}

/* The member's thread: from the quiesce to the thaw. A failure makes the others stop,
 * then resumes this guest and undoes this member's work at once. */
static void *member_main(void *arg)
{
    struct member *mb = arg;

    pthread_setname_np(pthread_self(), "xlcp-member");
    /* a shorter copy starts later, so that all reach their stop together; the guest runs
     * meanwhile, and a member that fails cuts the wait short */
    for (uint64_t until = mb->start_at + mb->delay_ns; !xlcp_group_sync_failed(mb->sync);) {
        const struct xlcp_clock *ck = &mb->r.p->clock;
        const struct xlcp_group_link *link = mb->sync->link;
        uint64_t t = ck->ops->now_ns(ck->self), slice;
        if (t >= until)
            break;
        slice = until - t < 50000000u ? until - t : 50000000u;
        if (link && link->gone(link->self)) {
            mb->rc =
                xlcp_err_set(&mb->err, XLCP_ETIMEDOUT, "the group's coordinator is gone: aborting");
            sync_fail(mb->sync);
            xlcp_run_fail(&mb->r, mb->domain, mb->rc, &mb->err);
            mb->ended = 1;
            return NULL;
        }
        ck->ops->sleep_ns(ck->self, slice); /* to a deadline: sleeps that overrun add nothing */
    }
    mb->rc = xlcp_run_steps(&mb->r, XLCP_STEP_QUIESCE, XLCP_STEP_THAW, &mb->err);
    if (mb->rc) {
        sync_fail(mb->sync);
        xlcp_run_fail(&mb->r, mb->domain, mb->rc, &mb->err);
        mb->ended = 1;
    }
    return NULL;
}

static int test_point(const char *point)
{
    const char *at = getenv("XLCP_TEST_STOP_AT");

    if (at && strcmp(at, point) == 0) /* nested tests: kill -9 the stopped tool */
        raise(SIGSTOP);
    return xlcp_engine_group_test_hook && xlcp_engine_group_test_hook(point);
}

/* The members' snapshots and memory images together fit (each member's prepare checked
 * its own; members may share a volume group and the catalog). */
static int check_group_space(struct member *mbs, size_t n, const struct xlcp_ports *gp,
                             struct xlcp_err *err)
{
    struct xlcp_volume *all;
    uint64_t need = 0, avail = 0;
    char where[XLCP_PATH_MAX];
    int total = 0, rc = 0;

    all = calloc(n * XLCP_MAX_DISKS + 1, sizeof(*all));
    if (!all)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        uint64_t mem = mbs[i].r.dom.memory_kib * 1024u;
        for (int v = 0; v < mbs[i].r.nvols; v++)
            all[total++] = mbs[i].r.vols[v];
        need += mem + mem / 8 + (16u << 20);
    }
    if (total > 0)
        rc = CALL(&gp->disk, check_space, all, total, mbs[0].opts.snapshot_size, err);
    free(all);
    if (rc)
        return xlcp_err_prefix(err, "the members' snapshots together");
    rc = CALL(&gp->store, free_bytes, &avail, where, sizeof(where), err);
    if (rc)
        return xlcp_err_prefix(err, "free space in the catalog");
    if (avail < need)
        return xlcp_err_set(err, XLCP_ENOSPC,
                            "not enough room in the catalog %s for the members' memory images: "
                            "about %" PRIu64 " MiB needed, %" PRIu64 " MiB free",
                            where, need >> 20, avail >> 20);
    return 0;
}

/* The group's intent record (named rec_id): its members' checkpoints, before any is
 * touched. */
static int write_group_intent(const struct xlcp_group_manifest *g, const char *rec_id,
                              struct member *mbs, size_t n, const struct xlcp_ports *gp,
                              struct xlcp_err *err)
{
    char buf[256 + XLCP_GROUP_MAX * (XLCP_UUID_LEN + XLCP_ID_MAX + 16)];
    size_t len;

    len = (size_t)snprintf(buf, sizeof(buf),
                           "xl-checkpoint group intent 1\ngroup %s\nname %s\npid %ld\n", g->id,
                           g->name, (long)getpid());
    for (size_t i = 0; i < n && len < sizeof(buf); i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "member %s %s\n", mbs[i].r.dom.uuid,
                                mbs[i].m.id);
    if (len >= sizeof(buf))
        return xlcp_err_set(err, XLCP_EINTERNAL, "group record too long");
    return CALL(&gp->store, group_put, XLCP_GROUP_INTENT, rec_id, buf, len, err);
}

/* The group's error: the first member's own failure, with what others could not undo. */
static void group_error(struct member *mbs, size_t n, const char *name, struct xlcp_err *err)
{
    int first = -1;

    for (size_t i = 0; i < n && first < 0; i++)
        if (mbs[i].rc && !strstr(mbs[i].err.msg, XLCP_GROUP_ABORTED))
            first = (int)i;
    for (size_t i = 0; i < n && first < 0; i++)
        if (mbs[i].rc)
            first = (int)i;
    if (first < 0) {
        xlcp_err_set(err, XLCP_EINTERNAL, "group '%s' failed", name);
        return;
    }
    *err = mbs[first].err;
    for (size_t i = 0; i < n; i++) {
        if ((int)i == first || !mbs[i].rc || !strstr(mbs[i].err.msg, "first error"))
            continue;
        xlcp_err_prefix(err, "%s; and", mbs[i].err.msg); /* what another member left */
    }
    xlcp_err_prefix(err, "group '%s'", name);
    err->code = mbs[first].rc;
}

/* Undoes every member (the failed ones have undone themselves). */
static void undo_all(struct member *mbs, size_t n, struct xlcp_err *err)
{
    for (size_t i = 0; i < n; i++) {
        struct member *mb = &mbs[i];
        struct xlcp_err e2;

        xlcp_err_clear(&e2);
        if (mb->committed) {
            if (xlcp_engine_delete_locked(mb->r.p, mb->m.id, &e2) != 0)
                xlcp_err_prefix(err, "member checkpoint %s left behind (%s); first error", mb->m.id,
                                e2.msg);
            mb->committed = 0;
        } else if (mb->prepared && !mb->ended) {
            xlcp_run_unwind(&mb->r, &e2);
            if (e2.msg[0])
                xlcp_err_prefix(err, "member %s: %s; first error", mb->r.dom.name, e2.msg);
        }
        mb->ended = 1;
    }
}

static int prepare_all(struct member *mbs, size_t n, const struct xlcp_ports *gp,
                       struct xlcp_err *err)
{
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = xlcp_run_prepare(&mbs[i].r, mbs[i].domain, &mbs[i].err);
        if (rc) {
            mbs[i].rc = rc;
            xlcp_run_fail(&mbs[i].r, mbs[i].domain, rc, &mbs[i].err);
            mbs[i].ended = 1;
            return rc;
        }
        mbs[i].prepared = 1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(mbs[j].r.dom.uuid, mbs[i].r.dom.uuid) == 0) {
                mbs[i].rc =
                    xlcp_err_set(&mbs[i].err, XLCP_EINVAL,
                                 "domain '%s' is named twice in the group", mbs[i].r.dom.name);
                return mbs[i].rc;
            }
    }
    rc = check_group_space(mbs, n, gp, err);
    if (rc)
        return rc;
    /* every member's snapshot volumes armed before any guest is touched */
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = xlcp_run_start_arming(&mbs[i].r, &mbs[i].err);
        mbs[i].r.armed_early = rc == 0;
    }
    for (size_t i = 0; i < n; i++) {
        int jrc = xlcp_run_join_arming(&mbs[i].r, 0, &mbs[i].err);
        if (jrc && !mbs[i].rc) {
            mbs[i].rc = jrc;
            xlcp_err_prefix(&mbs[i].err, "domain '%s' step %s", mbs[i].r.dom.name,
                            xlcp_step_name(XLCP_STEP_PREPARE));
        }
        if (jrc && !rc)
            rc = jrc;
    }
    return rc;
}

/* The schedule: each member's expected time to its stop, and its start delay; with a
 * time to stop at (at_mono: on the group's clock, 0: none), refused if too near. */
static int plan_starts(struct member *mbs, size_t n, uint64_t at_mono, uint64_t now_ns,
                       struct xlcp_err *err)
{
    uint64_t est[XLCP_GROUP_MAX], delay[XLCP_GROUP_MAX];
    int rc;

    for (size_t i = 0; i < n; i++)
        est[i] = mbs[i].est_ns = xlcp_group_time_to_stop(mbs[i].r.p, mbs[i].r.dom.uuid,
                                                         mbs[i].r.dom.memory_kib, mbs[i].opts.live);
    if (at_mono && at_mono <= now_ns)
        return xlcp_err_set(err, XLCP_EINVAL,
                            "the time to stop at has passed during the "
                            "preparation");
    rc = xlcp_group_plan(est, n, at_mono ? at_mono - now_ns : 0, delay, err);
    for (size_t i = 0; i < n && rc == 0; i++)
        mbs[i].delay_ns = delay[i];
    return rc;
}

static uint64_t longest_est(const struct member *mbs, size_t n)
{
    uint64_t l = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t e = xlcp_group_time_to_stop(mbs[i].r.p, mbs[i].r.dom.uuid, mbs[i].r.dom.memory_kib,
                                             mbs[i].opts.live);
        l = e > l ? e : l;
    }
    return l;
}

static int run_members(struct member *mbs, size_t n, struct xlcp_err *err)
{
    int rc = 0;
    uint64_t start = mbs[0].r.p->clock.ops->now_ns(mbs[0].r.p->clock.self);

    for (size_t i = 0; i < n; i++)
        mbs[i].start_at = start;
    for (size_t i = 0; i < n; i++) {
        if (pthread_create(&mbs[i].th, NULL, member_main, &mbs[i]) != 0) {
            sync_fail(mbs[i].sync);
            rc = xlcp_err_set(err, XLCP_EINTERNAL, "cannot start a member's thread");
            break;
        }
        mbs[i].th_running = 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!mbs[i].th_running)
            continue;
        pthread_join(mbs[i].th, NULL);
        mbs[i].th_running = 0;
        if (mbs[i].rc && !rc)
            rc = mbs[i].rc;
    }
    return rc;
}

static int commit_all(struct member *mbs, size_t n, struct xlcp_group_manifest *g,
                      const struct xlcp_ports *gp, uint64_t t0, uint64_t at_mono,
                      const struct xlcp_group_link *link, struct xlcp_err *err)
{
    char *xml = NULL;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        rc = xlcp_run_steps(&mbs[i].r, XLCP_STEP_COMMIT, XLCP_STEP_COMMIT, &mbs[i].err);
        if (rc) {
            mbs[i].rc = rc;
            xlcp_run_fail(&mbs[i].r, mbs[i].domain, rc, &mbs[i].err);
            mbs[i].ended = 1;
            return rc;
        }
        mbs[i].committed = 1;
    }
    if (test_point("members-committed"))
        return XLCP_EINTERNAL;
    g->n = (int)n;
    for (size_t i = 0; i < n; i++) {
        struct xlcp_group_member *gm = &g->members[i];
        snprintf(gm->dom_name, sizeof(gm->dom_name), "%s", mbs[i].m.dom_name);
        snprintf(gm->dom_uuid, sizeof(gm->dom_uuid), "%s", mbs[i].m.dom_uuid);
        snprintf(gm->checkpoint_id, sizeof(gm->checkpoint_id), "%s", mbs[i].m.id);
        gm->stopped_ns = mbs[i].r.suspended_at;
        gm->resumed_ns = mbs[i].r.resumed_at;
        gm->waited_ns = mbs[i].r.waited_ns;
        gm->start_delay_ns = mbs[i].delay_ns;
        gm->has_deviation = at_mono != 0;
        gm->deviation_ns = at_mono ? (int64_t)(mbs[i].r.suspended_at - at_mono) : 0;
    }
    xlcp_group_manifest_measure(g);
    g->total_ns = gp->clock.ops->now_ns(gp->clock.self) - t0;
    if (link) /* the coordinator writes the group's manifest; keep them on its word */
        return link->committed(link->self, g, err);
    rc = xlcp_group_manifest_to_xml(g, &xml, err);
    if (rc == 0)
        rc = CALL(&gp->store, group_put, XLCP_GROUP_MANIFEST, g->id, xml, strlen(xml), err);
    free(xml);
    if (rc)
        return xlcp_err_prefix(err, "group manifest");
    return 0;
}

static void group_init(struct xlcp_group_manifest *g, const struct xlcp_ports *gp, const char *name)
{
    int64_t wall = gp->clock.ops->wall_ns(gp->clock.self);
    time_t secs = (time_t)(wall / 1000000000);
    struct tm tm;

    memset(g, 0, sizeof(*g));
    xlcp_engine_new_id(&gp->clock, g->id);
    snprintf(g->name, sizeof(g->name), "%s", name);
    gmtime_r(&secs, &tm);
    snprintf(g->created, sizeof(g->created), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)((wall / 1000000) % 1000));
    snprintf(g->tool_version, sizeof(g->tool_version), "%s", XLCP_VERSION_STRING);
    snprintf(g->clock, sizeof(g->clock), "%s", XLCP_GROUP_CLOCK);
}

int xlcp_engine_group_create(const struct xlcp_ports *const *mports, size_t n,
                             const char *const *domains, const xlcp_group_options *opts,
                             struct xlcp_group_manifest *out, struct xlcp_err *err)
{
    return xlcp_engine_group_run(mports, n, domains, opts, NULL, out, err);
}

/* The time to stop at on the group's clock (0: none): its CLOCK_REALTIME time moved
 * onto its monotonic clock. */
static uint64_t at_on_clock(const struct xlcp_ports *gp, int64_t at_ns)
{
    int64_t wall = gp->clock.ops->wall_ns(gp->clock.self);
    uint64_t mono = gp->clock.ops->now_ns(gp->clock.self);

    if (at_ns == 0)
        return 0;
    if (at_ns <= wall)
        return 1; /* passed: plan_starts refuses it */
    return mono + (uint64_t)(at_ns - wall);
}

int xlcp_engine_group_run(const struct xlcp_ports *const *mports, size_t n,
                          const char *const *domains, const xlcp_group_options *opts,
                          const struct xlcp_group_link *link, struct xlcp_group_manifest *out,
                          struct xlcp_err *err)
{
    uint64_t at_mono = 0;
    int64_t at_ns;
    char rec_id[XLCP_ID_MAX];
    xlcp_create_options defaults = XLCP_CREATE_OPTIONS_INIT;
    const struct xlcp_ports *gp = mports ? mports[0] : NULL;
    struct xlcp_group_sync sync;
    struct member *mbs;
    uint64_t t0;
    int intent = 0, died = 0, rc;

    xlcp_err_clear(err);
    if (!opts || opts->version != XLCP_GROUP_OPTIONS_VERSION)
        return xlcp_err_set(err, XLCP_EINVAL, "group options of unknown version");
    if (!xlcp_group_name_ok(opts->name))
        return xlcp_err_set(err, XLCP_EINVAL, "bad group name '%s' ([A-Za-z0-9._-], 1 to 63)",
                            opts->name ? opts->name : "");
    if (!gp || !domains || n < 1 || n > XLCP_GROUP_MAX)
        return xlcp_err_set(err, XLCP_EINVAL, "a group has 1 to %d domains", XLCP_GROUP_MAX);
    if (opts->member && opts->member->version != XLCP_CREATE_OPTIONS_VERSION)
        return xlcp_err_set(err, XLCP_EINVAL, "create options of unknown version");
    at_ns = opts->at_ns;
    if (at_ns && at_ns <= gp->clock.ops->wall_ns(gp->clock.self)) {
        char when[40];
        xlcp_group_rfc3339(at_ns, when, sizeof(when));
        return xlcp_err_set(err, XLCP_EINVAL, "the time to stop at (%s) is in the past", when);
    }
    mbs = calloc(n, sizeof(*mbs));
    if (!mbs)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    memset(&sync, 0, sizeof(sync));
    pthread_mutex_init(&sync.mu, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&sync.cv, &ca);
        pthread_condattr_destroy(&ca);
    }
    sync.n = (int)n;
    sync.wait_ms = opts->max_wait_ms ? opts->max_wait_ms : 10000;
    sync.link = link;

    t0 = gp->clock.ops->now_ns(gp->clock.self);
    group_init(out, gp, opts->name);
    /* A host of a group across hosts: the coordinator's id for the group, a fresh one for
     * this host's record (several "hosts" may share one catalog); `recover` on this host
     * finds no group.xml of that id and undoes what a killed agent committed. */
    snprintf(rec_id, sizeof(rec_id), "%s", out->id);
    if (link && link->group_id)
        snprintf(out->id, sizeof(out->id), "%s", link->group_id);
    for (size_t i = 0; i < n; i++) {
        struct member *mb = &mbs[i];
        mb->opts = opts->member ? *opts->member : defaults;
        mb->opts.at_ns = 0; /* the group's time applies, not a member's */
        mb->opts.group_id = out->id;
        mb->opts.progress = NULL; /* the members run in threads of their own */
        mb->opts.progress_arg = NULL;
        mb->domain = domains[i];
        mb->sync = &sync;
        xlcp_err_clear(&mb->err);
        xlcp_run_init(&mb->r, mports[i], &mb->opts, &mb->m);
        mb->r.group = &sync;
        mb->r.member = (int)i;
    }

    rc = prepare_all(mbs, n, gp, err);
    if (rc == 0) {
        rc = write_group_intent(out, rec_id, mbs, n, gp, err);
        intent = rc == 0;
    }
    if (rc == 0 && link) { /* the coordinator says when to stop (or abort) */
        rc = link->prepared(link->self, longest_est(mbs, n), &at_ns, err);
        if (rc == 0 && at_ns && at_ns <= gp->clock.ops->wall_ns(gp->clock.self))
            rc = xlcp_err_set(err, XLCP_EINVAL, "the coordinator's time to stop at has passed");
    }
    if (rc == 0) {
        at_mono = at_on_clock(gp, at_ns);
        out->at_ns = at_ns;
        rc = plan_starts(mbs, n, at_mono, gp->clock.ops->now_ns(gp->clock.self), err);
    }
    if (rc == 0)
        rc = run_members(mbs, n, err);
    if (rc == 0) {
        rc = commit_all(mbs, n, out, gp, t0, at_mono, link, err);
        died = rc == XLCP_EINTERNAL && err->code == XLCP_OK; /* the test hook: "killed" */
    }
    if (rc && !died) {
        if (err->code == XLCP_OK)
            group_error(mbs, n, opts->name, err);
        else
            xlcp_err_prefix(err, "group '%s'", opts->name);
        undo_all(mbs, n, err);
        if (err->code != XLCP_OK)
            rc = err->code; /* the first member's own failure, not another's abort */
    }
    if (intent && !died) {
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        /* a record left behind is dropped by the next `recover` (group committed or not) */
        if (CALL(&gp->store, group_drop, XLCP_GROUP_INTENT, rec_id, &e2) != 0 && rc == 0)
            xlcp_err_clear(&e2);
    }
    for (size_t i = 0; i < n; i++) {
        xlcp_run_end(&mbs[i].r, rc);
        xlcp_manifest_free(&mbs[i].m);
    }
    free(mbs);
    pthread_cond_destroy(&sync.cv);
    pthread_mutex_destroy(&sync.mu);
    if (rc && died)
        xlcp_err_set(err, XLCP_EINTERNAL, "group run stopped by the test hook");
    return rc;
}
