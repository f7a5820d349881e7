/*
 * lvm.h - what the files of the LVM adapter share; private to them.
 *
 *   lvm_run.c      runs `lvm <subcommand>` under a watchdog
 *   lvm_parse.c    names, tags, sizes and `lvs` output
 *   lvm_volumes.c  the port's volume operations (inspect, space, remove, clone)
 *   disk_lvm.c     the port itself and its snapshot mechanics (arm, capture, complete)
 *   disk_dm.c      device-mapper ioctls and the guardian
 */
#ifndef XLCP_LVM_H
#define XLCP_LVM_H

#include <stdint.h>
#include <sys/types.h>

#include "disk_dm.h"
#include "ports.h"

#define LVM_OUT_MAX (64 * 1024)
#define LVM_TAG_PREFIX "xlcp-"
/* Restored clones carry a tag outside the checkpoint prefix: removal by tag (of a
 * checkpoint's leftovers) can never reach them. */
#define LVM_CLONE_TAG "xl-checkpoint-restored"

/*
 * Limits inside and around the guest's pause, in one place (defaults; the environment
 * variables named override them, for tests):
 *   one device-mapper suspend of an origin (it blocks on a thin pool out of space or a
 *   device queueing I/O): past it the capture fails, and a suspend that completes later
 *   is resumed at once                                          $XLCP_DM_SUSPEND_LIMIT_MS
 *   the guest's writes held back, from the first capture to each snapshot's completion:
 *   past it the checkpoint fails and the writes flow              $XLCP_HOLD_LIMIT_MS
 * Test only: $XLCP_TEST_HOLD_DELAY_MS waits that long before each completion, so that a
 * test can act on a held origin (tests/nested/t41-hold.sh). $XLCP_THICK_SWITCH=1 makes
 * thick snapshots by a device-mapper switch (lvm_thick.c; opt-in until validated on nested
 * Xen by tests/nested/t49-thick-stall.sh), else `lvcreate -s` of the held origin.
 */
#define LVM_SUSPEND_LIMIT_MS 5000u
#define LVM_HOLD_LIMIT_MS 60000u
/* verify: a thin pool this full (data or metadata, percent) fails its snapshots' check */
#define LVM_POOL_FULL_PCT 95u

/* ---- the runner (lvm_run.c) --------------------------------------------------------- */

struct lvm_result;

struct lvm_runner {
    char bin[XLCP_PATH_MAX];    /* $XLCP_LVM or "lvm" */
    unsigned timeout_s;         /* the watchdog: $XLCP_LVM_TIMEOUT, default 120 */
    char rundir[XLCP_PATH_MAX]; /* our VG locks: $XLCP_RUN_DIR or /run/xl-checkpoint */
    /* unit tests: an in-process LVM that runs argv and fills r (status, out, errtext) */
    int (*fake)(void *arg, char *const argv[], struct lvm_result *r);
    void *fake_arg;
};

struct lvm_result {
    int status; /* exit status, or -1 if killed */
    char out[LVM_OUT_MAX];
    size_t outlen;
    char errtext[LVM_OUT_MAX];
    size_t errlen;
};

uint64_t xlcp_lvm_mono_ns(void);
/* Last non-empty line of stderr, trimmed, for error messages. */
const char *xlcp_lvm_last_line(struct lvm_result *r);
/* Runs `lvm args...` under the watchdog. 0 if it ran and exited 0; otherwise an error
 * (XLCP_EDISK with its stderr, XLCP_ETIMEDOUT). With `quiet_fail`, a non-zero exit is
 * returned as 1 without setting err (the caller inspects r). */
int xlcp_lvm_run(const struct lvm_runner *run, const char *vg, char *const args[],
                 struct lvm_result *r, int quiet_fail, struct xlcp_err *err);
/* The same with a time limit of its own (ms) instead of the watchdog's. */
int xlcp_lvm_run_within(const struct lvm_runner *run, const char *vg, char *const args[],
                        struct lvm_result *r, int quiet_fail, uint64_t limit_ms,
                        struct xlcp_err *err);
/* The same with a result of its own, for commands whose output does not matter. */
int xlcp_lvm_run_simple(const struct lvm_runner *run, const char *vg, char *const args[],
                        struct xlcp_err *err);

/*
 * Our lock per volume group (flock of <rundir>/vg-<vg>.lock). Every LVM command we run
 * in a VG (`vg` above) takes it shared for its duration; a thin re-point takes it
 * exclusive, so that none of our LVM commands changes the pool's state meanwhile. Holds
 * (suspended origins) do not take it: one checkpoint's completion (LVM commands) must
 * not wait for another's hold, and need not. What releases a hold, as found on Debian
 * 12's LVM 2.03 / Linux 6.1 by tests/nested/t42-hold-facts.sh: `dmsetup resume` of the
 * origin, `lvchange --refresh` of the origin, `vgchange --refresh` of its VG, and an LVM
 * thin snapshot of the held origin itself (which then fails); NOT `lvcreate -s` (thick
 * or thin) of another LV in the same VG or pool, `lvcreate -V` in the same pool,
 * `lvremove`, `lvchange --refresh` of another LV or of the pool, `lvs`. So checkpoints of
 * other domains (which touch only their own origins; the per-domain lock keeps two of
 * ours off one origin) leave each other's holds alone, and whatever does release a hold
 * (an administrator's command) is caught by the hold check before each snapshot is
 * finished (lvm_hold.c). device-mapper's event counter does not move on a resume: the
 * check reads the origin's write counters. Each lock is its own open file: locks of one
 * process exclude each other as those of two processes do. The wait is bounded by
 * limit_ms. fd_out: what to give xlcp_lvm_vg_unlock.
 */
int xlcp_lvm_vg_lock(const struct lvm_runner *run, const char *vg, int exclusive, uint64_t limit_ms,
                     int *fd_out, struct xlcp_err *err);
void xlcp_lvm_vg_unlock(int fd);

/* ---- names and lvs (lvm_parse.c) ----------------------------------------------------- */

int xlcp_lvm_valid_name(const char *s);
int xlcp_lvm_valid_tag(const char *s);
/* A configured disk target (phy:/dev/vg/lv, /dev/mapper/vg-lv) to its VG and LV names. */
int xlcp_lvm_parse_target(const char *target, char *vg, char *lv);
void xlcp_lvm_trim(char *s);
/* Splits one "a|b|c" line into at most max fields (in place). */
int xlcp_lvm_split_fields(char *line, char **f, int max);
/* 1 if one of the comma-separated tags is a checkpoint's ("xlcp-" and a checkpoint id),
 * or with also_clones, the restored clones' tag. */
int xlcp_lvm_has_our_tag(const char *tags, int also_clones);
/* 1 if tag is "xlcp-" followed by a checkpoint id ([0-9]{8}T[0-9]{6}.[0-9]{3}Z-[0-9a-f]{6},
 * xenstore-schema/protocol.xml's $id grammar). */
int xlcp_lvm_is_checkpoint_tag(const char *tag);
/* Bytes of the COW area for a thick snapshot of `size` bytes under `policy`. */
int xlcp_lvm_cow_bytes(const char *policy, uint64_t size, uint64_t *out, struct xlcp_err *err);

struct lvinfo {
    char vg[XLCP_NAME_MAX];
    char lv[XLCP_NAME_MAX];
    uint64_t size;
    char segtype[32];
    char pool[XLCP_NAME_MAX];
    char tags[256];
    char origin[XLCP_NAME_MAX];
    uint64_t thin_id; /* 0 if not a thin volume */
    uint64_t vg_free;
    char attr[16];                 /* lv_attr: [1] 'r' read-only, [4] 'I' invalid snapshot */
    double data_pct;               /* a thick snapshot's COW use, a pool's data use; -1: none */
    double meta_pct;               /* a pool's metadata use; -1: none */
    char vg_uuid[40], lv_uuid[40]; /* as LVM prints them (with dashes) */
};

/* The lvs fields xlcp_lvm_lv_info asks for, in order (a fake LVM answers them). */
#define LVM_INFO_FIELDS                                                                            \
    "vg_name,lv_name,lv_size,segtype,pool_lv,lv_tags,origin,thin_id,vg_free,lv_attr,"              \
    "data_percent,metadata_percent,vg_uuid,lv_uuid"

/* lvs of one volume: 1 found, 0 absent, <0 error. */
int xlcp_lvm_lv_info(const struct lvm_runner *run, const char *vg, const char *lv,
                     struct lvinfo *out, struct xlcp_err *err);

/* ---- the adapter's state (disk_lvm.c) ------------------------------------------------ */

/* A thick snapshot made by a device-mapper switch (lvm_thick.c). */
struct thick {
    int on; /* this snapshot takes that path */
    char origin_lv[XLCP_NAME_MAX];
    char otable[1024];    /* the origin's table at arm */
    uint64_t sectors;     /* the origin's length */
    dev_t real, cow, tmp; /* VG-O-real, VG-S-cow, our temporary snapshot */
    int made_real, made_cow, made_tmp, switched;
    char snap_uuid[80], tmp_uuid[80]; /* LVM's snapshot device's uuid; our temporary one's */
};

/* What the adapter knows of a snapshot between arm and complete. */
struct pending {
    int used;
    char vg[XLCP_NAME_MAX];
    char lv[XLCP_NAME_MAX]; /* the snapshot */
    char tag[128];
    int thin;
    dev_t origin; /* the origin's device */
    dev_t pool;   /* thin: the pool's device */
    uint32_t id;  /* thin: the armed volume's device id in the pool */
    uint32_t origin_id;
    char cow[32]; /* thick: COW size argument for lvcreate */
    int held;     /* the origin is suspended by us */
    uint64_t held_at_ns;
    struct xlcp_dm_state at_capture; /* the origin just after our suspend */
    uint64_t switch_ns;              /* thick switch: how long the origin was held */
    struct thick thick;
};

struct lvm {
    struct lvm_runner run;
    char devdir[XLCP_PATH_MAX]; /* /dev, overridable for tests ($XLCP_LVM_DEVDIR) */
    const struct xlcp_dm_ops *dm;
    unsigned suspend_limit_ms, hold_limit_ms, test_hold_delay_ms;
    int thick_switch; /* thick snapshots by a device-mapper switch (lvm_thick.c), with
                       * XLCP_THICK_SWITCH=1; else `lvcreate -s` of the held origin */
    struct pending pend[XLCP_MAX_DISKS];
    struct xlcp_dm_guardian guard;
};

/* ---- holds (lvm_hold.c) -------------------------------------------------------------- */

/* A device-mapper suspend within the suspend limit (see xlcp_lvm_hold). */
int xlcp_lvm_suspend_bounded(struct lvm *l, dev_t dev, struct xlcp_err *err);
/* Capture: suspends the origin within the suspend limit and records its state. */
int xlcp_lvm_hold(struct lvm *l, struct pending *pd, struct xlcp_err *err);
/* Time left (ms) before the hold limit; XLCP_ETIMEDOUT past it. */
int xlcp_lvm_hold_left(const struct lvm *l, const struct pending *pd, uint64_t *left_ms,
                       struct xlcp_err *err);
/* 0 if the hold on the origin (named `origin` in messages) is intact. */
int xlcp_lvm_hold_check(struct lvm *l, const struct pending *pd, const char *origin,
                        struct xlcp_err *err);
/* Suspends past their limit that have not completed yet (process-wide). */
int xlcp_lvm_late_suspends(void);

/* ---- thick snapshots by a device-mapper switch (lvm_thick.c) ---------------------------- */

/* Arm (pd->cow set): the COW LV and LVM's layers made ahead; pd->thick.on stays 0 if the
 * origin already has LVM snapshots (then `lvcreate -s` of the held origin is the way). */
int xlcp_lvm_thick_arm(struct lvm *l, struct pending *pd, const char *origin_lv,
                       struct xlcp_err *err);
/* Capture, origin held: the switch; the origin runs again when it returns 0. */
int xlcp_lvm_thick_switch(struct lvm *l, struct pending *pd, struct xlcp_err *err);
/* Complete: LVM takes the snapshot over (lvconvert), checked. */
int xlcp_lvm_thick_finish(struct lvm *l, struct pending *pd, struct xlcp_err *err);
/* Puts back what arm and switch did (not the COW LV: lvremove's). */
int xlcp_lvm_thick_undo(struct lvm *l, struct pending *pd, struct xlcp_err *err);

/* Before lvremove of our volume si: what a switch that died half-way left. */
int xlcp_lvm_thick_leftover(struct lvm *l, const struct lvinfo *si, struct xlcp_err *err);

/* The adapter over a fake LVM and fake device-mapper operations (unit tests). */
int xlcp_disk_lvm_open_fake(struct xlcp_disk *out, const struct xlcp_dm_ops *dm,
                            int (*fake)(void *arg, char *const argv[], struct lvm_result *r),
                            void *arg, struct xlcp_err *err);

/* ---- volume operations of the port (lvm_volumes.c) ----------------------------------- */

int xlcp_lvm_inspect(void *self, const char *target, struct xlcp_volume *out, struct xlcp_err *err);
int xlcp_lvm_check_space(void *self, const struct xlcp_volume *vols, int n, const char *policy,
                         struct xlcp_err *err);
/* Removes a snapshot or clone volume (one tagged as ours); absent is not an error. */
int xlcp_lvm_remove_volume(struct lvm *l, const struct xlcp_snapshot *snap, struct xlcp_err *err);
int xlcp_lvm_exists(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err);
int xlcp_lvm_clone(void *self, const struct xlcp_snapshot *snap, const char *new_lv, char *path_out,
                   size_t path_len, struct xlcp_err *err);
int xlcp_lvm_remove_tagged(void *self, const char *tag, struct xlcp_err *err);
int xlcp_lvm_check(void *self, const struct xlcp_snapshot *snap, char *why, size_t len,
                   struct xlcp_err *err);

#endif
