/*
 * engine_run.h - one checkpoint in progress (`struct run`), shared by the files of the
 * state machine: engine_create.c (the steps and the unwind) and engine_snap.c (the
 * threads that arm and complete the disk snapshots). Private to the engine.
 */
#ifndef XLCP_ENGINE_RUN_H
#define XLCP_ENGINE_RUN_H

#include "engine.h"
#include "image.h"

#include <pthread.h>
#include <stdint.h>

#define HV(p) (&(p)->hv)
#define CALL(port, op, ...) ((port)->ops->op((port)->self, __VA_ARGS__))

/*
 * Four threads touch a run, never at the same time for the same field; each hand-over is
 * a pthread_create or pthread_join (or the hv's promise that save() returns only after
 * on_suspended has returned), which orders the writes before the reads:
 *
 *   main        the caller of xlcp_engine_create: every step, and the unwind. In a group
 *               checkpoint (engine_group.c) the group's thread does prepare, arming's
 *               start and join, commit and the unwind of members that did not fail; the
 *               member's own thread (from its pthread_create to its join) the steps from
 *               quiesce to thaw and its unwind when it fails. Never both at once.
 *   arming      arm_all (engine_snap.c), from xlcp_run_start_arming until
 *               xlcp_run_join_arming: writes snaps[], snap_state[], nsnaps, arm_rc,
 *               arm_err. The main thread reads them only after the join.
 *   on_suspended  the hv's watcher thread, inside hv.save: writes early_*, the SUSPEND and
 *               DISK_SNAPSHOT entries of m->step_start_ns/step_ns, and (through the
 *               capture, after joining the arming thread) snap_state[]. The main thread is
 *               inside hv.save meanwhile and reads them once save has returned.
 *   completion  complete_all (engine_snap.c), from xlcp_run_start_completion (in the
 *               resume step) until xlcp_run_join_completion (commit, or unwind): writes
 *               snaps[] (held_ns), snap_state[], complete_rc, complete_err. Meanwhile the
 *               main thread runs the thaw step, which touches none of these.
 *
 * All other fields belong to the main thread.
 */
struct run {
    const struct xlcp_ports *p;
    const xlcp_create_options *opts;
    struct xlcp_domain dom;
    struct xlcp_guest_features features;
    struct xlcp_manifest *m;
    struct xlcp_volume vols[XLCP_MAX_DISKS];
    int vol_of_disk[XLCP_MAX_DISKS]; /* index into vols, -1 if skipped */
    int nvols;
    /* snaps[v] belongs to vols[v]; the first nsnaps are armed, snap_state says how far */
    struct xlcp_snapshot snaps[XLCP_MAX_DISKS];
    int snap_state[XLCP_MAX_DISKS]; /* SNAP_ARMED, SNAP_CAPTURED, SNAP_COMPLETE */
    int nsnaps;
    /* Arming runs in its own thread beside the memory copy; capture waits for it.
     * armer, armer_running: main thread only. arm_rc, arm_err: the arming thread. */
    pthread_t armer;
    int armer_running;
    int arm_rc;
    struct xlcp_err arm_err;
    /* The memory image: the save writes into its sink, a thread that digests it and
     * writes it into mem_fd. */
    struct xlcp_image_sink *sink;
    /* Completion of captured snapshots runs in its own thread while the guest resumes.
     * completer, completer_running: main thread only. complete_rc, complete_err: the
     * completion thread (cleared by the main thread before it starts). */
    pthread_t completer;
    int completer_running;
    int complete_rc;
    struct xlcp_err complete_err;
    struct xlcp_store_lock *lock;
    struct xlcp_store_txn *txn;
    int mem_fd;
    int frozen;    /* FROZEN_YES: the guest armed its freeze for the stop (quiesce-at-suspend);
                    * FROZEN_MAYBE: it was asked and did not answer. Either way: thaw (disarm)
                    * on the way out unless the guest reported that it thawed. */
    int suspended; /* the guest is (or may be) suspended: resume on the way out */
    uint64_t t0;
    uint64_t suspended_at;
    xlcp_step step;
    char tag[XLCP_ID_MAX + 8];
    /* The snapshot volume names, fixed (and recorded) before the guest is touched. */
    char snap_names[XLCP_MAX_DISKS][XLCP_NAME_MAX];
    int intent; /* the intent record is written: remove it once nothing it names is left */
    /* The suspend mark says suspended: set by the on_suspended thread inside hv.save (or
     * by the main thread after it), cleared by the main thread after the resume. */
    int marked;
    /* Disk snapshots taken from the hv's suspend callback, during the final copy.
     * Written by the on_suspended thread only, read by the main thread after hv.save. */
    int early_done; /* suspend confirmed and snapshots taken in the callback */
    int early_rc;   /* its failure, with the step it failed in */
    xlcp_step early_step;
    struct xlcp_err early_err;
    /* A member of a group checkpoint (engine_group.c), NULL otherwise. Set before the
     * steps start; the sync object is shared by every member (engine_group.c says how). */
    struct xlcp_group_sync *group;
    int member;          /* its index in the group */
    int armed_early;     /* the group driver armed the snapshots before any member was touched */
    uint64_t resumed_at; /* now() right after the resume (main thread) */
    /* The opt-in page store ($XLCP_PAGESTORE, absolute; empty: none), fixed in prepare and
     * recorded in the intent record; ps_stored: map <id> is in it (the unwind releases it). */
    char ps_root[XLCP_PATH_MAX];
    int ps_stored;
    uint64_t waited_ns; /* stopped and captured, waiting for the other members */
};

enum { SNAP_ARMED = 1, SNAP_CAPTURED, SNAP_COMPLETE };
enum { FROZEN_NO = 0, FROZEN_YES, FROZEN_MAYBE };

static inline uint64_t now(const struct run *r)
{
    return r->p->clock.ops->now_ns(r->p->clock.self);
}

/* One run in phases (engine_create.c): xlcp_engine_create is init, prepare, steps from
 * quiesce to commit, fail (on error), end. The group driver (engine_group.c) runs them
 * for each member, the steps in two parts (to thaw in a thread per member, then commit). */
void xlcp_run_init(struct run *r, const struct xlcp_ports *p, const xlcp_create_options *opts,
                   struct xlcp_manifest *out);
int xlcp_run_prepare(struct run *r, const char *domain, struct xlcp_err *err);
int xlcp_run_steps(struct run *r, xlcp_step first, xlcp_step last, struct xlcp_err *err);
/* After a failure: undoes what the run did (engine_unwind.c) and names domain and step. */
void xlcp_run_fail(struct run *r, const char *domain, int rc, struct xlcp_err *err);
void xlcp_run_unwind(struct run *r, struct xlcp_err *err);
/* The commit step (engine_commit.c). */
int xlcp_run_commit(struct run *r, struct xlcp_err *err);
/* Releases the lock; on failure (rc != 0) frees the manifest. */
void xlcp_run_end(struct run *r, int rc);

/* engine_group.c: the consistency rule. A member's thread calls sync_captured once its
 * guest has stopped and its disks are captured, before it resumes the guest: it returns 0
 * once every member got there, or an error as soon as a member has failed. sync_failed is
 * 1 once a member has failed (the others stop before their next step). */
struct xlcp_group_sync;
#define XLCP_GROUP_ABORTED "stopped: another member of the group failed"
int xlcp_group_sync_captured(struct xlcp_group_sync *g, int member, struct xlcp_err *err);
int xlcp_group_sync_failed(struct xlcp_group_sync *g);

/* engine_group_plan.c: the schedule of the members' live copies. */
/* How long the domain's copy is expected to take from its start to the guest's stop: its
 * last checkpoint's, scaled to its memory now; a live copy without one, from its memory
 * at XLCP_GROUP_COPY_BPS; 0 for a copy that is not live (the guest stops at once). */
#define XLCP_GROUP_COPY_BPS (128ull << 20)
uint64_t xlcp_group_time_to_stop(const struct xlcp_ports *p, const char *uuid, uint64_t mem_kib,
                                 int live);
/* The members' start delays: with no time to stop at (lead_ns 0), each starts later by
 * the difference between its estimate and the longest (at most XLCP_GROUP_MAX_DELAY_NS);
 * with one (lead_ns: from now to that time), each starts at lead - its estimate.
 * XLCP_EINVAL if the time is too near for the longest copy. */
#define XLCP_GROUP_MAX_DELAY_NS (30ull * 1000000000ull)
#define XLCP_GROUP_AT_MARGIN_NS (200ull * 1000000ull)
int xlcp_group_plan(const uint64_t *est, size_t n, uint64_t lead_ns, uint64_t *delay,
                    struct xlcp_err *err);

/* engine_snap.c: arming (before the pause), capture (inside it), completion (after it). */
int xlcp_run_start_arming(struct run *r, struct xlcp_err *err);
/* Waits for the arming thread at most wait_ms (0: no limit); XLCP_ETIMEDOUT if it is
 * still busy (it keeps running: join it without a limit once the guest runs again). */
int xlcp_run_join_arming(struct run *r, unsigned int wait_ms, struct xlcp_err *err);
/* Updates the run's suspend mark (store.intent_mark). */
int xlcp_run_mark(struct run *r, enum xlcp_mark mark, struct xlcp_err *err);
int xlcp_run_capture(struct run *r, struct xlcp_err *err);
int xlcp_run_start_completion(struct run *r, struct xlcp_err *err);
int xlcp_run_join_completion(struct run *r, struct xlcp_err *err);

#endif
