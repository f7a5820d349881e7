/*
 * engine_unwind.c - undoing what one checkpoint run did, after a failure at any step
 * (engine_create.c): the guest resumed and thawed, held writes released, snapshots
 * removed, the page store's map released, the temporary directory and the intent record
 * dropped; what cannot be undone is appended to the error and kept in the intent record
 * for `recover`.
 */
#include "engine_run.h"

#include <unistd.h>

/* Undo what the run did, after a failure. Appends what could not be undone. */
void xlcp_run_unwind(struct run *r, struct xlcp_err *err)
{
    const struct xlcp_ports *p = r->p;
    struct xlcp_err e2;

    int left = 0;       /* a volume this run made is still there */
    int guest_left = 0; /* the guest may still be suspended by this run */
    int map_left = 0;   /* its map is still in the page store */

    /* The guest first: an arming thread still busy (LVM slow) must not keep it stopped. */
    if (r->suspended) {
        enum xlcp_domstate st = XLCP_DOM_SUSPENDED;
        int src;

        xlcp_err_clear(&e2);
        /* Resume only a guest that really is suspended; a failed save may not have. */
        src = CALL(HV(p), state, &r->dom, &st, &e2);
        /* a guest that crashed is not ours to resume: say so rather than that the resume
         * failed, or that it did not answer */
        if (src == XLCP_ENOTFOUND) {
            xlcp_err_prefix(err, "the domain went away meanwhile (crashed, rebooted or "
                                 "destroyed); first error");
        } else if (src == 0 && st == XLCP_DOM_CRASHED) {
            xlcp_err_prefix(err, "the guest crashed meanwhile (Xen's shutdown reason: crash; "
                                 "see `xl dmesg` and the guest's console); first error");
        } else if (src == 0 && st == XLCP_DOM_SHUTDOWN) {
            xlcp_err_prefix(err, "the guest shut down meanwhile; first error");
        } else if (src != 0 || st == XLCP_DOM_SUSPENDED) {
            xlcp_err_clear(&e2);
            if (CALL(HV(p), resume, &r->dom, &e2) != 0) {
                xlcp_err_prefix(err, "GUEST LEFT SUSPENDED (resume failed: %s); first error",
                                e2.msg);
                guest_left = 1; /* the record and its mark let `recover` resume it */
            }
        }
        r->suspended = 0;
    }
    if (r->marked && !guest_left) {
        xlcp_err_clear(&e2);
        if (xlcp_run_mark(r, XLCP_MARK_RESUMED, &e2) != 0)
            guest_left = 1; /* keep the record; its mark still reads suspended */
    }
    if (r->frozen != FROZEN_NO) {
        int trc;
        xlcp_err_clear(&e2);
        trc = CALL(HV(p), thaw, &r->dom, &e2);
        if (trc != 0 && !(trc == XLCP_ETIMEDOUT && r->frozen == FROZEN_MAYBE))
            xlcp_err_prefix(err, "guest filesystems may stay frozen (thaw failed: %s); first error",
                            e2.msg);
        r->frozen = FROZEN_NO;
    }
    /* The threads touch the snapshots: let them finish before they are removed. */
    if (r->armer_running)
        xlcp_run_join_arming(r, 0, &e2);
    if (r->completer_running) {
        pthread_join(r->completer, NULL);
        r->completer_running = 0;
    }
    for (int i = r->nsnaps - 1; i >= 0; i--) {
        xlcp_err_clear(&e2);
        if (r->snap_state[i] == SNAP_CAPTURED && CALL(&p->disk, release, &r->snaps[i], &e2) != 0)
            xlcp_err_prefix(err, "writes to %s/%s may stay held (release failed: %s); first error",
                            r->vols[i].vg, r->vols[i].lv, e2.msg);
        xlcp_err_clear(&e2);
        if (r->snaps[i].lv[0] && CALL(&p->disk, remove, &r->snaps[i], &e2) != 0) {
            xlcp_err_prefix(err, "snapshot %s/%s left behind (%s); first error", r->snaps[i].vg,
                            r->snaps[i].lv, e2.msg);
            left = 1;
        }
        r->snap_state[i] = 0;
    }
    r->nsnaps = 0;
    if (r->sink) {
        xlcp_image_sink_cancel(r->sink);
        r->sink = NULL;
    }
    if (r->mem_fd >= 0) {
        close(r->mem_fd);
        r->mem_fd = -1;
    }
    if (r->ps_stored) {
        xlcp_err_clear(&e2);
        if (xlcp_engine_ps_release(r->ps_root, r->m->id, &e2) < 0) {
            xlcp_err_prefix(err, "map %s left in the page store (%s); first error", r->m->id,
                            e2.msg);
            map_left = 1; /* the intent record names the store */
        }
        r->ps_stored = 0;
    }
    if (r->txn) {
        p->store.ops->abort(p->store.self, r->txn, left);
        r->txn = NULL;
    }
    if (r->intent && (left || guest_left || map_left)) {
        xlcp_err_prefix(err, "its intent record keeps what is left for the next checkpoint of "
                             "the domain or `xl checkpoint recover`; first error");
    } else if (r->intent) {
        xlcp_err_clear(&e2);
        if (CALL(&p->store, leftover_remove, r->dom.uuid, r->m->id, &e2) != 0)
            xlcp_err_prefix(err, "intent record of %s left behind (%s); first error", r->m->id,
                            e2.msg);
    }
    r->intent = 0;
}
