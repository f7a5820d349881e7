/*
 * engine_snap.c - the disk snapshots of one checkpoint, in three phases (ports.h): an
 * arming thread prepares them beside the memory copy, the capture fixes their content
 * inside the pause, a completion thread finishes them once the guest runs again.
 */
#include "engine_run.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

unsigned int xlcp_engine_arm_wait_ms = 15000;

/* The arming thread: everything LVM can prepare, while the memory is being copied (the
 * pre-copy of a live copy takes seconds; LVM's command line takes about one per call). */
static void *arm_all(void *arg)
{
    struct run *r = arg;

    pthread_setname_np(pthread_self(), "xlcp-arm"); /* for top -H */

    for (int v = 0; v < r->nvols; v++) {
        int rc;

        /* a failed arm may have left a volume behind under the recorded name: remove()
         * cleans it up, so that name is what the unwind gets if arm fills in nothing */
        snprintf(r->snaps[v].vg, sizeof(r->snaps[v].vg), "%s", r->vols[v].vg);
        snprintf(r->snaps[v].lv, sizeof(r->snaps[v].lv), "%s", r->snap_names[v]);
        snprintf(r->snaps[v].path, sizeof(r->snaps[v].path), "/dev/%s/%s", r->vols[v].vg,
                 r->snap_names[v]);
        rc = CALL(&r->p->disk, arm, &r->vols[v], r->snap_names[v], r->opts->snapshot_size, r->tag,
                  &r->snaps[v], &r->arm_err);
        memcpy(r->snaps[v].vdev, r->vols[v].vdev, sizeof(r->snaps[0].vdev));
        r->snap_state[v] = SNAP_ARMED;
        r->nsnaps = v + 1;
        if (rc) {
            xlcp_err_prefix(&r->arm_err, "disk %s (%s/%s)", r->vols[v].vdev, r->vols[v].vg,
                            r->vols[v].lv);
            r->arm_rc = rc;
            break;
        }
    }
    return NULL;
}

int xlcp_run_start_arming(struct run *r, struct xlcp_err *err)
{
    if (r->nvols == 0)
        return 0;
    r->arm_rc = 0;
    xlcp_err_clear(&r->arm_err);
    if (pthread_create(&r->armer, NULL, arm_all, r) != 0)
        return xlcp_err_set(err, XLCP_EINTERNAL, "cannot start the snapshot arming thread");
    r->armer_running = 1;
    return 0;
}

int xlcp_run_join_arming(struct run *r, unsigned int wait_ms, struct xlcp_err *err)
{
    if (!r->armer_running)
        return 0;
    if (wait_ms == 0) {
        pthread_join(r->armer, NULL);
    } else {
        struct timespec until;
        int jrc;

        clock_gettime(CLOCK_REALTIME, &until); /* pthread_timedjoin_np's clock */
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        jrc = pthread_timedjoin_np(r->armer, NULL, &until);
        if (jrc == ETIMEDOUT)
            return xlcp_err_set(err, XLCP_ETIMEDOUT,
                                "preparing the snapshots (LVM) was not finished %u ms after the "
                                "guest stopped: not holding the guest longer",
                                wait_ms);
        if (jrc != 0)
            return xlcp_err_set(err, XLCP_EINTERNAL, "joining the snapshot arming thread: %s",
                                strerror(jrc));
    }
    r->armer_running = 0;
    if (r->arm_rc) {
        *err = r->arm_err;
        return r->arm_rc;
    }
    return 0;
}

/* The completion thread: finishes the captured snapshots while the guest runs again. */
static void *complete_all(void *arg)
{
    struct run *r = arg;

    pthread_setname_np(pthread_self(), "xlcp-complete"); /* for top -H */

    /* Thin volumes first: finishing one is a few pool messages, a thick one a whole
     * `lvcreate -s` (seconds), and every held disk waits for the ones before it (a thin
     * disk behind a thick one was seen held 12.5 s on nested Xen, against tens of ms). */
    for (int pass = 0; pass < 2; pass++) {
        for (int v = 0; v < r->nsnaps; v++) {
            int rc;

            if (r->snap_state[v] != SNAP_CAPTURED || r->snaps[v].thin != (pass == 0))
                continue;
            rc = CALL(&r->p->disk, complete, &r->snaps[v], &r->complete_err);
            if (rc) {
                xlcp_err_prefix(&r->complete_err, "disk %s (%s/%s)", r->vols[v].vdev, r->vols[v].vg,
                                r->vols[v].lv);
                r->complete_rc = rc;
                return NULL;
            }
            r->snap_state[v] = SNAP_COMPLETE;
        }
    }
    return NULL;
}

/* Inside the pause: fix every disk's content at this instant (fast). The snapshots are
 * finished by a thread once the guest runs again (xlcp_run_start_completion). */
int xlcp_run_capture(struct run *r, struct xlcp_err *err)
{
    int arc = xlcp_run_join_arming(r, xlcp_engine_arm_wait_ms, err);

    if (arc)
        return arc;
    for (int v = 0; v < r->nsnaps; v++) {
        int rc = CALL(&r->p->disk, capture, &r->snaps[v], err);

        if (rc)
            return xlcp_err_prefix(err, "disk %s (%s/%s)", r->vols[v].vdev, r->vols[v].vg,
                                   r->vols[v].lv);
        r->snap_state[v] = SNAP_CAPTURED;
    }
    return 0;
}

/* Right after the resume. Not earlier: while the guest is stopped its memory is still
 * being copied (all of it, for a guest without a live copy), and completion (a whole
 * `lvcreate -s` for a thick volume) competing with that copy for dom0's CPUs made the
 * stop of a PV guest ~1.2 s longer, measured on nested Xen (4.4-4.9 s against
 * 3.1-3.5 s), for the same total time. A thick origin's writes stay held meanwhile; the
 * manifest records how long. */
int xlcp_run_start_completion(struct run *r, struct xlcp_err *err)
{
    if (r->nsnaps == 0)
        return 0;
    xlcp_err_clear(&r->complete_err);
    r->complete_rc = 0;
    if (pthread_create(&r->completer, NULL, complete_all, r) != 0)
        return xlcp_err_set(err, XLCP_EINTERNAL, "cannot start the snapshot completion thread");
    r->completer_running = 1;
    return 0;
}

/* Waits for the completion thread; its failure is the disk snapshot's. */
int xlcp_run_join_completion(struct run *r, struct xlcp_err *err)
{
    if (!r->completer_running)
        return 0;
    pthread_join(r->completer, NULL);
    r->completer_running = 0;
    if (r->complete_rc) {
        *err = r->complete_err;
        r->step = XLCP_STEP_DISK_SNAPSHOT;
        return r->complete_rc;
    }
    return 0;
}
