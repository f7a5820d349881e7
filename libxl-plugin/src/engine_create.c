/*
 * engine_create.c - one checkpoint as an explicit state machine.
 *
 *   prepare -> quiesce -> live copy -> suspend -> disk snapshot -> resume -> thaw -> commit
 *
 * The engine talks to the world only through the ports (ports.h). It keeps a record of
 * what it has done (lock taken, temporary directory open, guest frozen, guest suspended,
 * snapshots taken) so that a failure at any step undoes exactly that: the guest is
 * resumed and thawed, snapshots are removed, the temporary directory is deleted, and the
 * catalog is as it was. Errors read "domain 'NAME' step STEP: CAUSE". The disk snapshots'
 * threads are in engine_snap.c.
 */
#include "engine_run.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void iso_time(int64_t wall, char *out, size_t len)
{
    time_t secs = (time_t)(wall / 1000000000);
    struct tm tm;

    gmtime_r(&secs, &tm);
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((wall / 1000000) % 1000));
}

/* Steps done early, inside the hv's suspend callback, keep the times taken there. */
static int timed_early(const struct run *r, xlcp_step step)
{
    return r->early_done && (step == XLCP_STEP_SUSPEND || step == XLCP_STEP_DISK_SNAPSHOT);
}

static void enter(struct run *r, xlcp_step step, const char *what)
{
    uint64_t t = now(r);

    if (r->step != XLCP_STEP_NONE && !timed_early(r, r->step))
        r->m->step_ns[r->step] = t - r->t0 - r->m->step_start_ns[r->step];
    r->step = step;
    if (step != XLCP_STEP_NONE && !timed_early(r, step))
        r->m->step_start_ns[step] = t - r->t0;
    if (step != XLCP_STEP_NONE && r->opts->progress)
        r->opts->progress(step, what, r->opts->progress_arg);
}

/* ---- the steps ------------------------------------------------------------------- */

/* The memory image is about the guest's memory; a live copy sends pages the guest dirtied
 * again, and the stream has headers and the config. Refused here, before the guest is
 * touched, when the catalog cannot hold that much; a copy that still runs out of room
 * fails cleanly (guest resumed, nothing committed). */
static int check_catalog_space(struct run *r, struct xlcp_err *err)
{
    const struct xlcp_ports *p = r->p;
    uint64_t mem = r->dom.memory_kib * 1024u, need, avail = 0;
    char where[XLCP_PATH_MAX];
    int rc;

    need = mem + mem / 8 + (16u << 20);
    rc = CALL(&p->store, free_bytes, &avail, where, sizeof(where), err);
    if (rc)
        return xlcp_err_prefix(err, "free space in the catalog");
    if (avail < need)
        return xlcp_err_set(err, XLCP_ENOSPC,
                            "not enough room in the catalog %s for the memory image: about "
                            "%" PRIu64 " MiB needed (%" PRIu64 " MiB of memory), %" PRIu64
                            " MiB free",
                            where, need >> 20, mem >> 20, avail >> 20);
    return 0;
}

/* The intent record: before the guest is touched, what this run will create. */
static int write_intent(struct run *r, struct xlcp_err *err)
{
    struct xlcp_intent rec;
    int rc;

    memset(&rec, 0, sizeof(rec));
    snprintf(rec.id, sizeof(rec.id), "%s", r->m->id);
    snprintf(rec.dom_uuid, sizeof(rec.dom_uuid), "%s", r->dom.uuid);
    rec.domid = r->dom.domid;
    rec.pid = (long)getpid();
    for (int v = 0; v < r->nvols; v++) {
        if (snprintf(r->snap_names[v], sizeof(r->snap_names[v]), "%s.xlcp.%s", r->vols[v].lv,
                     r->m->id) >= (int)sizeof(r->snap_names[v]))
            return xlcp_err_set(err, XLCP_EINVAL, "snapshot name for %s/%s too long", r->vols[v].vg,
                                r->vols[v].lv);
        snprintf(rec.vols[v].vg, sizeof(rec.vols[v].vg), "%s", r->vols[v].vg);
        snprintf(rec.vols[v].lv, sizeof(rec.vols[v].lv), "%s", r->snap_names[v]);
    }
    rec.nvols = r->nvols;
    snprintf(rec.pagestore_root, sizeof(rec.pagestore_root), "%s", r->ps_root);
    rc = CALL(&r->p->store, intent_write, &rec, err);
    if (rc)
        return xlcp_err_prefix(err, "writing the intent record");
    r->intent = 1;
    return 0;
}

int xlcp_run_mark(struct run *r, enum xlcp_mark mark, struct xlcp_err *err)
{
    int64_t wall = r->p->clock.ops->wall_ns(r->p->clock.self);
    int rc = CALL(&r->p->store, intent_mark, r->dom.uuid, r->m->id, mark, r->dom.domid, wall, err);

    if (rc)
        return xlcp_err_prefix(err, "recording that the guest is %s",
                               mark == XLCP_MARK_SUSPENDED ? "suspended" : "resumed");
    r->marked = mark == XLCP_MARK_SUSPENDED;
    return 0;
}

static int step_prepare(struct run *r, const char *domain, struct xlcp_err *err)
{
    const struct xlcp_ports *p = r->p;
    struct xlcp_manifest *m = r->m;
    int ours = 0, rc;

    rc = CALL(HV(p), lookup, domain, &r->dom, err);
    if (rc)
        return rc;
    if (r->dom.state != XLCP_DOM_RUNNING && r->dom.state != XLCP_DOM_SUSPENDED)
        return xlcp_err_set(err, XLCP_ESTATE, "domain is %s, not running",
                            xlcp_domstate_name(r->dom.state));
    if (!r->dom.pv)
        return xlcp_err_set(err, XLCP_EUNSUPPORTED,
                            "only PV and PVH guests are supported for now (HVM: no)");

    rc = CALL(&p->store, lock, r->dom.uuid, &r->lock, err);
    if (rc)
        return rc;
    /* Leftovers of interrupted runs: their volumes. A guest one of them left suspended is
     * not resumed here (see engine_leftovers.c): `recover --resume` does. */
    rc = xlcp_engine_clean_leftovers(p, r->dom.uuid, &r->dom, 0, NULL, NULL, &ours, err);
    if (rc)
        return xlcp_err_prefix(err, "cleaning up after an interrupted checkpoint");
    if (r->dom.state == XLCP_DOM_SUSPENDED && ours)
        return xlcp_err_set(err, XLCP_ESTATE,
                            "domain is suspended; an interrupted checkpoint of ours suspended it, "
                            "but it may have been resumed since (by its guardian) and suspended "
                            "again by another tool (a save or migration): not touching it. If "
                            "nothing else is saving or migrating it: xl checkpoint recover "
                            "--resume %s",
                            r->dom.name);
    if (r->dom.state == XLCP_DOM_SUSPENDED)
        return xlcp_err_set(err, XLCP_ESTATE,
                            "domain is suspended by another tool (a save or migration under "
                            "way?), not by a checkpoint of ours: not touching it");

    rc = CALL(HV(p), get_config, &r->dom, &m->config_json, err);
    if (rc)
        return rc;
    rc = CALL(HV(p), version, m->xen_version, sizeof(m->xen_version), err);
    if (rc)
        return rc;

    for (int i = 0; i < r->dom.ndisks; i++) {
        const struct xlcp_disk_spec *ds = &r->dom.disks[i];
        struct xlcp_manifest_disk *md = &m->disks[m->ndisks++];

        r->vol_of_disk[i] = -1;
        snprintf(md->origin.vdev, sizeof(md->origin.vdev), "%s", ds->vdev);
        snprintf(md->origin.path, sizeof(md->origin.path), "%s", ds->target);
        if (ds->is_cdrom) {
            md->skipped = 1;
            continue;
        }
        rc = CALL(&p->disk, inspect, ds->target, &r->vols[r->nvols], err);
        if (rc == XLCP_EUNSUPPORTED && r->opts->skip_non_lvm) {
            xlcp_err_clear(err);
            md->skipped = 1;
            continue;
        }
        if (rc)
            return xlcp_err_prefix(err, "disk %s", ds->vdev);
        snprintf(r->vols[r->nvols].vdev, sizeof(r->vols[0].vdev), "%s", ds->vdev);
        md->origin = r->vols[r->nvols];
        r->vol_of_disk[i] = r->nvols++;
    }
    if (r->nvols > 0) {
        rc = CALL(&p->disk, check_space, r->vols, r->nvols, r->opts->snapshot_size, err);
        if (rc)
            return rc;
    }

    rc = check_catalog_space(r, err);
    if (rc)
        return rc;

    rc = CALL(HV(p), guest_features, &r->dom, &r->features, err);
    if (rc)
        return rc;

    xlcp_engine_new_id(&p->clock, m->id);
    snprintf(r->tag, sizeof(r->tag), "xlcp-%s", m->id);
    /* the page store never fails a checkpoint: a store that cannot be named is noted */
    if (xlcp_engine_ps_root(r->ps_root, sizeof(r->ps_root), err) != 0) {
        snprintf(m->pagestore_note, sizeof(m->pagestore_note), "%s", err->msg);
        xlcp_err_clear(err);
    }
    rc = write_intent(r, err);
    if (rc)
        return rc;
    rc = CALL(&p->store, begin, r->dom.uuid, m->id, &r->txn, err);
    if (rc)
        return rc;
    return CALL(&p->store, create_file, r->txn, XLCP_MEMORY_FILE, &r->mem_fd, err);
}

/* The guest's file systems are frozen only for the stop: the module arms a freeze that it
 * takes just before it stops and releases right after it resumes (quiesce-at-suspend).
 * Freezing before the live copy would hold the guest's writes for the whole copy and can
 * outlast the module's own timeout, after which it thaws by itself. Whether the freeze
 * held across the capture is what the guest reports after the resume (step_thaw): only
 * then is the checkpoint recorded as quiesced. */
static int step_quiesce(struct run *r, struct xlcp_err *err)
{
    struct xlcp_manifest *m = r->m;
    unsigned timeout = r->opts->quiesce_timeout_ms ? r->opts->quiesce_timeout_ms : 10000;
    int rc;

    snprintf(m->consistency, sizeof(m->consistency), "crash-consistent");
    if (!r->opts->quiesce)
        return 0;
    if (!r->features.has_module) {
        snprintf(m->quiesce_note, sizeof(m->quiesce_note),
                 "guest has no checkpoint module: not quiesced");
        return 0;
    }
    if (!r->features.quiesce_at_suspend) {
        snprintf(m->quiesce_note, sizeof(m->quiesce_note),
                 "guest module cannot freeze inside its stop (no quiesce-at-suspend, or no "
                 "light suspend): not quiesced");
        return 0;
    }
    r->frozen = FROZEN_MAYBE; /* from here on a request may be pending: always disarm */
    rc = CALL(HV(r->p), quiesce, &r->dom, m->id, timeout, err);
    if (rc == XLCP_ETIMEDOUT) {
        snprintf(m->quiesce_note, sizeof(m->quiesce_note),
                 "guest did not answer the quiesce request within %u ms: not quiesced", timeout);
        xlcp_err_clear(err);
        return 0;
    }
    if (rc)
        return rc;
    r->frozen = FROZEN_YES; /* armed: the guest freezes inside the stop */
    return 0;
}

/* After the resume: did the guest's freeze hold across the stop? */
static void quiesce_outcome(struct run *r)
{
    struct xlcp_manifest *m = r->m;
    unsigned timeout = r->opts->quiesce_timeout_ms ? r->opts->quiesce_timeout_ms : 10000;
    char why[200];
    struct xlcp_err e2;
    int held = 0;

    xlcp_err_clear(&e2);
    if (CALL(HV(r->p), quiesce_result, &r->dom, m->id, timeout, &held, why, sizeof(why), &e2) !=
        0) {
        snprintf(m->quiesce_note, sizeof(m->quiesce_note),
                 "guest did not report whether its freeze held (%s): not quiesced", e2.msg);
        return; /* still armed or frozen as far as we know: step_thaw thaws */
    }
    r->frozen = FROZEN_NO; /* the guest thawed (or its armed request expired) */
    if (held) {
        m->quiesced = 1;
        snprintf(m->consistency, sizeof(m->consistency), "quiesced");
    } else {
        snprintf(m->quiesce_note, sizeof(m->quiesce_note),
                 "the guest's freeze did not hold across the stop (%s): not quiesced", why);
    }
}

static int step_suspend(struct run *r, struct xlcp_err *err);

/* Called by the hv (from its watcher thread) the moment the guest has stopped, while the
 * last of its memory is still being copied: confirm its back ends are idle and take the
 * disk snapshots now, so that the pause lasts max(copy, snapshot) and not their sum. The
 * main thread is inside hv.save and touches nothing of the run until it returns. */
static void on_suspended(void *arg)
{
    struct run *r = arg;
    struct xlcp_manifest *m = r->m;
    uint64_t t;

    xlcp_err_clear(&r->early_err);
    t = now(r);
    m->step_start_ns[XLCP_STEP_SUSPEND] = t - r->t0;
    r->early_step = XLCP_STEP_SUSPEND;
    /* first of all, the proof that this run suspended this domain (a tmpfs file) */
    r->early_rc = xlcp_run_mark(r, XLCP_MARK_SUSPENDED, &r->early_err);
    if (r->early_rc == 0)
        r->early_rc = step_suspend(r, &r->early_err);
    m->step_ns[XLCP_STEP_SUSPEND] = now(r) - t;
    if (r->early_rc)
        return;
    t = now(r);
    m->step_start_ns[XLCP_STEP_DISK_SNAPSHOT] = t - r->t0;
    r->early_step = XLCP_STEP_DISK_SNAPSHOT;
    r->early_rc = xlcp_run_capture(r, &r->early_err);
    m->step_ns[XLCP_STEP_DISK_SNAPSHOT] = now(r) - t;
    if (r->early_rc == 0)
        r->early_done = 1;
}

static int step_live_copy(struct run *r, struct xlcp_err *err)
{
    struct xlcp_save_stats st;
    unsigned timeout = r->opts->suspend_timeout_ms ? r->opts->suspend_timeout_ms : 60000;
    int image_fd = -1;
    int rc;

    memset(&st, 0, sizeof(st));
    r->m->live = r->opts->live;
    rc = r->armed_early ? 0 : xlcp_run_start_arming(r, err);
    /* A copy that is not live stops the guest at once: arm first, while it runs, rather
     * than inside its pause (where the capture would wait for it). */
    if (rc == 0 && !r->opts->live)
        rc = xlcp_run_join_arming(r, 0, err);
    if (rc)
        return rc;
    snprintf(r->m->memory_digest_alg, sizeof(r->m->memory_digest_alg), "%s", XLCP_DIGEST_DEFAULT);
    rc = xlcp_image_sink_start(r->mem_fd, r->m->memory_digest_alg, &r->sink, &image_fd, err);
    if (rc)
        return rc;
    /* A save that fails may still have suspended the guest: resume on the way out. */
    r->suspended = 1;
    rc = CALL(HV(r->p), save, &r->dom, r->m->id, image_fd, r->opts->live, timeout, on_suspended, r,
              &st, err);
    xlcp_image_sink_writer_done(r->sink);
    /* A good copy's sink is waited for at the commit, once the guest runs again; one that
     * already failed to write (a full catalog) fails the copy now. */
    if (rc == 0 && r->early_rc == 0)
        rc = xlcp_image_sink_error(r->sink, err);
    if (rc != 0 || r->early_rc) {
        xlcp_image_sink_cancel(r->sink);
        r->sink = NULL;
    }
    if (r->early_rc) {
        /* The snapshot side failed: report it as its own step (the copy's own error, if
         * any, came from being cut short). */
        *err = r->early_err;
        r->step = r->early_step;
        return r->early_rc;
    }
    if (rc == 0 && !r->marked)
        rc = xlcp_run_mark(r, XLCP_MARK_SUSPENDED, err); /* the hv could not tell the instant */
    if (rc)
        return rc;
    r->suspended_at = st.suspended_at_ns ? st.suspended_at_ns : now(r);
    r->m->live = st.live;
    snprintf(r->m->live_note, sizeof(r->m->live_note), "%s", st.live_note);
    snprintf(r->m->suspend_path, sizeof(r->m->suspend_path), "%s",
             st.suspend_path[0] ? st.suspend_path : "stock");
    return 0;
}

static int step_suspend_main(struct run *r, struct xlcp_err *err)
{
    return r->early_done ? 0 : step_suspend(r, err);
}

static int step_disk_snapshot_main(struct run *r, struct xlcp_err *err)
{
    return r->early_done ? 0 : xlcp_run_capture(r, err);
}

static int step_suspend(struct run *r, struct xlcp_err *err)
{
    unsigned timeout = r->opts->suspend_timeout_ms ? r->opts->suspend_timeout_ms : 60000;

    return CALL(HV(r->p), wait_suspended, &r->dom, timeout, err);
}

static int step_resume(struct run *r, struct xlcp_err *err)
{
    int rc;

    /* A member of a group: the consistency rule, no member resumes before every member
     * has stopped and had its disks captured (engine_group.c). */
    if (r->group) {
        uint64_t t = now(r);
        rc = xlcp_group_sync_captured(r->group, r->member, err);
        r->waited_ns = now(r) - t;
        if (rc)
            return rc;
    }
    rc = CALL(HV(r->p), resume, &r->dom, err);
    if (rc)
        return rc;
    r->suspended = 0;
    r->resumed_at = now(r);
    r->m->downtime_ns = r->resumed_at - r->suspended_at;
    rc = xlcp_run_mark(r, XLCP_MARK_RESUMED, err);
    if (rc)
        return rc;
    return xlcp_run_start_completion(r, err);
}

static int step_thaw(struct run *r, struct xlcp_err *err)
{
    int rc;

    /* what the guest module measured of the light suspend (it reports after resuming) */
    if (strcmp(r->m->suspend_path, "light") == 0) {
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (CALL(HV(r->p), guest_downtime, &r->dom, &r->m->guest_downtime_ns, &e2) != 0)
            r->m->guest_downtime_ns = 0;
    }
    if (r->frozen == FROZEN_YES)
        quiesce_outcome(r);
    if (r->frozen == FROZEN_NO)
        return 0;
    rc = CALL(HV(r->p), thaw, &r->dom, err);
    if (rc == XLCP_ETIMEDOUT && r->frozen == FROZEN_MAYBE) {
        /* a guest that never answered the freeze need not answer the thaw either (its
         * module thaws by itself after its own timeout if it froze late) */
        xlcp_err_clear(err);
        rc = 0;
    }
    if (rc)
        return rc;
    r->frozen = FROZEN_NO;
    return 0;
}

/* The steps after prepare, in order. */
static const struct {
    xlcp_step step;
    const char *what;
    int (*run)(struct run *r, struct xlcp_err *err);
} steps[] = {
    {XLCP_STEP_QUIESCE, "quiescing guest filesystems", step_quiesce},
    {XLCP_STEP_LIVE_COPY, "copying memory", step_live_copy},
    {XLCP_STEP_SUSPEND, "waiting for the guest to stop", step_suspend_main},
    {XLCP_STEP_DISK_SNAPSHOT, "snapshotting disks", step_disk_snapshot_main},
    {XLCP_STEP_RESUME, "resuming guest", step_resume},
    {XLCP_STEP_THAW, "thawing guest filesystems", step_thaw},
    {XLCP_STEP_COMMIT, "writing manifest", xlcp_run_commit},
};

/* ---- one run, in phases (xlcp_engine_create, and engine_group.c for each member) ---- */

void xlcp_run_init(struct run *r, const struct xlcp_ports *p, const xlcp_create_options *opts,
                   struct xlcp_manifest *out)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
    r->opts = opts;
    r->m = out;
    r->mem_fd = -1;
    r->step = XLCP_STEP_NONE;
    xlcp_manifest_init(out);
}

int xlcp_run_prepare(struct run *r, const char *domain, struct xlcp_err *err)
{
    const struct xlcp_ports *p = r->p;
    struct xlcp_manifest *out = r->m;
    int rc;

    xlcp_err_clear(err);
    if (!domain || !*domain)
        return xlcp_err_set(err, XLCP_EINVAL, "no domain given");
    if (!r->opts || r->opts->version != XLCP_CREATE_OPTIONS_VERSION)
        return xlcp_err_set(err, XLCP_EINVAL, "create options of unknown version");

    r->t0 = now(r);
    iso_time(p->clock.ops->wall_ns(p->clock.self), out->created, sizeof(out->created));
    snprintf(out->tool_version, sizeof(out->tool_version), "%s", XLCP_VERSION_STRING);
    if (r->opts->name)
        snprintf(out->name, sizeof(out->name), "%s", r->opts->name);
    if (r->opts->group_id)
        snprintf(out->group_id, sizeof(out->group_id), "%s", r->opts->group_id);

    enter(r, XLCP_STEP_PREPARE, "checking domain, disks and space");
    rc = step_prepare(r, domain, err);
    if (rc == 0) {
        snprintf(out->dom_name, sizeof(out->dom_name), "%s", r->dom.name);
        snprintf(out->dom_uuid, sizeof(out->dom_uuid), "%s", r->dom.uuid);
        out->domid = r->dom.domid;
        out->memory_kib = r->dom.memory_kib;
    }
    return rc;
}

int xlcp_run_steps(struct run *r, xlcp_step first, xlcp_step last, struct xlcp_err *err)
{
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (steps[i].step < first || steps[i].step > last)
            continue;
        /* a group whose member failed: the others stop before their next step */
        if (r->group && xlcp_group_sync_failed(r->group))
            return xlcp_err_set(err, XLCP_ESTATE, "%s", XLCP_GROUP_ABORTED);
        enter(r, steps[i].step, steps[i].what);
        rc = steps[i].run(r, err);
    }
    return rc;
}

void xlcp_run_fail(struct run *r, const char *domain, int rc, struct xlcp_err *err)
{
    xlcp_step failed = r->step;

    if (err->code == XLCP_OK)
        xlcp_err_set(err, rc, "failed");
    xlcp_run_unwind(r, err);
    xlcp_err_prefix(err, "domain '%s' step %s", r->dom.name[0] ? r->dom.name : domain,
                    xlcp_step_name(failed));
    err->code = rc;
    err->step = failed;
}

void xlcp_run_end(struct run *r, int rc)
{
    if (rc == 0)
        enter(r, XLCP_STEP_NONE, NULL);
    if (r->lock)
        r->p->store.ops->unlock(r->p->store.self, r->lock);
    r->lock = NULL;
    if (rc) {
        xlcp_manifest_free(r->m);
        xlcp_manifest_init(r->m);
    }
}

/* create --at: after the preparation, waits until the time to stop at minus the copy's
 * expected duration (engine_group_plan.c); *at_mono: that time on the clock port's
 * monotonic clock. A time too near for the copy is refused (the guest is not touched). */
static int wait_for_time(struct run *r, uint64_t *at_mono, struct xlcp_err *err)
{
    const struct xlcp_clock *ck = &r->p->clock;
    int64_t wall = ck->ops->wall_ns(ck->self);
    uint64_t t = ck->ops->now_ns(ck->self), est, delay, until;
    int rc;

    if (r->opts->at_ns <= wall)
        return xlcp_err_set(err, XLCP_EINVAL,
                            "the time to stop at has passed during the "
                            "preparation");
    *at_mono = t + (uint64_t)(r->opts->at_ns - wall);
    est = xlcp_group_time_to_stop(r->p, r->dom.uuid, r->dom.memory_kib, r->opts->live);
    rc = xlcp_group_plan(&est, 1, *at_mono - t, &delay, err);
    if (rc)
        return rc;
    for (until = t + delay; (t = ck->ops->now_ns(ck->self)) < until;)
        ck->ops->sleep_ns(ck->self, until - t < 50000000u ? until - t : 50000000u);
    return 0;
}

int xlcp_engine_create(const struct xlcp_ports *p, const char *domain,
                       const xlcp_create_options *opts, struct xlcp_manifest *out,
                       struct xlcp_err *err)
{
    struct run r;
    uint64_t at_mono = 0;
    int rc;

    xlcp_run_init(&r, p, opts, out);
    if (opts && opts->version == XLCP_CREATE_OPTIONS_VERSION && opts->at_ns &&
        opts->at_ns <= p->clock.ops->wall_ns(p->clock.self))
        return xlcp_err_set(err, XLCP_EINVAL, "the time to stop at is in the past");
    rc = xlcp_run_prepare(&r, domain, err);
    if (rc == XLCP_EINVAL && r.step == XLCP_STEP_NONE)
        return rc; /* bad arguments: nothing started */
    if (rc == 0 && opts->at_ns)
        rc = wait_for_time(&r, &at_mono, err);
    if (rc == 0)
        rc = xlcp_run_steps(&r, XLCP_STEP_QUIESCE, XLCP_STEP_THAW, err);
    if (rc == 0 && at_mono) {
        out->at_ns = opts->at_ns;
        out->deviation_ns = (int64_t)(r.suspended_at - at_mono);
    }
    if (rc == 0)
        rc = xlcp_run_steps(&r, XLCP_STEP_COMMIT, XLCP_STEP_COMMIT, err);
    if (rc)
        xlcp_run_fail(&r, domain, rc, err);
    xlcp_run_end(&r, rc);
    return rc;
}
