/*
 * ports.h - the narrow interfaces through which the engine reaches the world.
 *
 *   hv     the hypervisor and toolstack (libxenlight, libxenctrl, libxenstore): hv_xen.c
 *   disk   block volumes (LVM): disk_lvm.c and the files lvm.h lists
 *   store  the checkpoint catalog on the local file system: store_fs.c
 *   clock  time: clock_posix.c
 *
 * Only the adapters named above include Xen or LVM specifics. Unit tests put in-process
 * fakes behind the same structs (tests/unit/fakes/) and inject faults through them.
 * Every operation returns 0 or a negative xlcp_error and fills `err` with the cause.
 */
#ifndef XLCP_PORTS_H
#define XLCP_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "xs_check.h"

#define XLCP_NAME_MAX 128
#define XLCP_UUID_LEN 36 /* without the NUL */
#define XLCP_PATH_MAX 512
#define XLCP_VDEV_MAX 32
#define XLCP_MAX_DISKS 16

/* ---- hv ------------------------------------------------------------------------- */

enum xlcp_domstate {
    XLCP_DOM_RUNNING = 0, /* running or blocked: can be checkpointed */
    XLCP_DOM_PAUSED,
    XLCP_DOM_SUSPENDED, /* shut down with reason "suspend" (after a save) */
    XLCP_DOM_CRASHED,   /* shut down with reason "crash" (kept by on_crash=preserve) */
    XLCP_DOM_SHUTDOWN,  /* any other shutdown, or dying */
};

const char *xlcp_domstate_name(enum xlcp_domstate s);

/* A disk as the domain's configuration names it. */
struct xlcp_disk_spec {
    char vdev[XLCP_VDEV_MAX];   /* xvda */
    char target[XLCP_PATH_MAX]; /* /dev/vg0/web1, as configured */
    int readwrite;
    int is_cdrom;
};

struct xlcp_domain {
    uint32_t domid;
    char name[XLCP_NAME_MAX];
    char uuid[XLCP_UUID_LEN + 1];
    enum xlcp_domstate state;
    int pv;              /* 1 for PV and PVH guests (no device model): the kinds supported */
    uint64_t memory_kib; /* current allocation */
    int ndisks;
    struct xlcp_disk_spec disks[XLCP_MAX_DISKS];
};

/* What the guest side offers (xenstore control/checkpoint, see xenstore-schema/). */
struct xlcp_guest_features {
    int has_module;        /* the guest checkpoint module is loaded */
    unsigned int protocol; /* its protocol version */
    int can_quiesce;
    int quiesce_at_suspend; /* freezes inside its light suspend (protocol 2) */
    int light_suspend;      /* publishes device/suspend/event-channel */
};

struct xlcp_save_stats {
    uint64_t suspended_at_ns; /* clock->now_ns() when the guest stopped (0 if unknown) */
    char suspend_path[16];    /* "light" or "stock": the path the guest took */
    int live;                 /* 1 if the copy was live (pre-copy while running) */
    char live_note[200];      /* why a live copy asked for was not done */
};

/* Where a restored domain finds a disk. */
struct xlcp_restore_disk {
    char vdev[XLCP_VDEV_MAX];
    char path[XLCP_PATH_MAX];
};

struct xlcp_hv_ops {
    /* Finds a domain by name, domid or uuid. XLCP_ENOTFOUND if none. */
    int (*lookup)(void *self, const char *spec, struct xlcp_domain *out, struct xlcp_err *err);
    /* Current state of the domain. */
    int (*state)(void *self, const struct xlcp_domain *dom, enum xlcp_domstate *out,
                 struct xlcp_err *err);
    /* The domain's full libxl configuration as libxl JSON (malloc'd, caller frees). */
    int (*get_config)(void *self, const struct xlcp_domain *dom, char **json_out,
                      struct xlcp_err *err);
    /* Hypervisor version string, e.g. "4.17.5". */
    int (*version)(void *self, char *buf, size_t len, struct xlcp_err *err);
    int (*guest_features)(void *self, const struct xlcp_domain *dom,
                          struct xlcp_guest_features *out, struct xlcp_err *err);
    /* Arms the guest's freeze for its next light suspend (request quiesce-at-suspend ID):
     * returns once the guest answers "armed ID". The guest freezes just before it stops
     * and thaws right after it resumes; nothing is frozen during the live copy.
     * XLCP_EUNSUPPORTED without the capability, XLCP_ETIMEDOUT when it does not answer. */
    int (*quiesce)(void *self, const struct xlcp_domain *dom, const char *checkpoint_id,
                   unsigned int timeout_ms, struct xlcp_err *err);
    /* After the resume: waits (up to timeout_ms) for the guest to report how the armed
     * freeze went, and sets *held to 1 only if it says the freeze held across the stop
     * for this checkpoint id; otherwise *held = 0 and why says what the guest reported. */
    int (*quiesce_result)(void *self, const struct xlcp_domain *dom, const char *checkpoint_id,
                          unsigned int timeout_ms, int *held, char *why, size_t why_len,
                          struct xlcp_err *err);
    /* Thaws, or disarms an armed freeze (request thaw ID). */
    int (*thaw)(void *self, const struct xlcp_domain *dom, struct xlcp_err *err);
    /* Copies memory into fd (a pipe: written front to back, never sought) as an xl save
     * image (xl header + libxl stream); live: pre-copy while running. Returns with the guest
     * suspended (not destroyed). As soon as the guest is seen suspended (while the last of its
     * memory is still being copied), calls on_suspended(arg) once, from another thread, and returns
     * only after it has returned; an adapter that cannot tell the instant may not call it at all.
     * checkpoint_id names this checkpoint to the guest module, which takes its light suspend
     * only for a suspend announced with it; stats->suspend_path says which path the guest
     * took, as far as the adapter can tell.
     */
    int (*save)(void *self, const struct xlcp_domain *dom, const char *checkpoint_id, int fd,
                int live, unsigned int suspend_timeout_ms, void (*on_suspended)(void *arg),
                void *arg, struct xlcp_save_stats *stats, struct xlcp_err *err);
    /* Confirms the guest is suspended and its block back ends are idle. */
    int (*wait_suspended)(void *self, const struct xlcp_domain *dom, unsigned int timeout_ms,
                          struct xlcp_err *err);
    /* Resumes the suspended guest in place, suspend cancelled. */
    int (*resume)(void *self, const struct xlcp_domain *dom, struct xlcp_err *err);
    /* Creates a new domain named new_name from config_json (libxl JSON, as get_config
     * gave it) with each disk vdev pointed at a new path, and the image on fd (an xl save
     * image as written by save, read from where fd stands, front to back, never sought:
     * a file or a pipe another thread writes); writes its domid. New MAC addresses
     * unless keep_macs (the domain is to replace its original). A failure leaves no new
     * domain behind. */
    int (*restore)(void *self, const char *config_json, const char *new_name,
                   const struct xlcp_restore_disk *disks, int ndisks, int fd, int paused,
                   int keep_macs, uint32_t *domid_out, struct xlcp_err *err);
    /* Renames / unpauses a domain by id. */
    int (*rename)(void *self, uint32_t domid, const char *new_name, struct xlcp_err *err);
    int (*unpause)(void *self, uint32_t domid, struct xlcp_err *err);
    /* The downtime the guest module measured itself for the light suspend that just
     * ended (data/checkpoint/downtime-ns, once it has changed since the save began);
     * 0 if the guest reports none within a short wait. */
    int (*guest_downtime)(void *self, const struct xlcp_domain *dom, uint64_t *ns_out,
                          struct xlcp_err *err);
    /* Destroys a domain (restore --replace). */
    int (*destroy)(void *self, const struct xlcp_domain *dom, struct xlcp_err *err);
    /* The guest's protocol nodes (under data/checkpoint/, and device/suspend/event-channel)
     * with raw values and the guest's permissions, for xs-check. Free with
     * xlcp_xs_entries_free. */
    int (*guest_nodes)(void *self, const struct xlcp_domain *dom, struct xlcp_xs_entry **out,
                       size_t *n, struct xlcp_err *err);
};

struct xlcp_hv {
    const struct xlcp_hv_ops *ops;
    void *self;
};

/* ---- disk ----------------------------------------------------------------------- */

/* An LVM logical volume behind a disk. */
struct xlcp_volume {
    char vdev[XLCP_VDEV_MAX];
    char path[XLCP_PATH_MAX]; /* as configured */
    char vg[XLCP_NAME_MAX];
    char lv[XLCP_NAME_MAX];
    char pool[XLCP_NAME_MAX]; /* thin volumes: their pool's LV name */
    int thin;
    uint64_t size_bytes;
    uint64_t vg_free_bytes; /* free space of its VG when inspected */
};

/* A snapshot taken of a volume. */
struct xlcp_snapshot {
    char vdev[XLCP_VDEV_MAX];
    char vg[XLCP_NAME_MAX];
    char lv[XLCP_NAME_MAX]; /* snapshot LV name */
    char origin_lv[XLCP_NAME_MAX];
    char path[XLCP_PATH_MAX]; /* /dev/<vg>/<lv> */
    int thin;
    uint64_t size_bytes; /* COW size for thick snapshots, origin size for thin */
    uint64_t held_ns;    /* how long the guest's writes were held back after the
                          * instant while the snapshot was finished (0: none) */
};

/*
 * Snapshots are taken in three phases so that the guest is stopped only for the second:
 *
 *   arm       before the guest is touched: all that can be done early. Thin: the snapshot
 *             volume is created (empty) in the origin's pool. Thick: checks only.
 *   capture   while the guest is suspended and its back ends idle: fixes the volume's
 *             content at this instant, in milliseconds, without LVM's command line:
 *             the origin's writes are held back (device-mapper suspend).
 *   complete  after the guest runs again: finishes the snapshot and makes it durable,
 *             then the held writes flow again. Thin: the armed volume becomes a snapshot
 *             of the held origin inside the pool. Thick: lvcreate -s of the held origin.
 *
 * release lets held writes flow again after a capture that will not be completed (on
 * failure). remove deletes an armed, captured or complete snapshot. If the process dies
 * between capture and complete, a guardian process lets the held writes flow.
 *
 * Checked at run time, not assumed: capture's hold is taken within a time limit (a
 * device that cannot be suspended fails the capture); complete finishes the snapshot
 * only if the hold is still intact (nobody resumed the origin, no write reached it since
 * the capture) and has not lasted past its limit; otherwise it fails with the cause and
 * the checkpoint is not committed. The limits are in the adapter (lvm.h).
 * Snapshot volumes are read-only and not activated with their VG.
 */
struct xlcp_disk_ops {
    /* Resolves a configured disk target to an LVM volume; XLCP_EUNSUPPORTED if not LVM. */
    int (*inspect)(void *self, const char *target, struct xlcp_volume *out, struct xlcp_err *err);
    /* Checks that snapshots of all volumes (as inspect filled them, with their VG's free
     * space) fit (size policy as in xlcp_create_options). */
    int (*check_space)(void *self, const struct xlcp_volume *vols, int n, const char *policy,
                       struct xlcp_err *err);
    /* Prepares a snapshot of one volume as `snap_name`, tagged with `tag`; fills out. */
    int (*arm)(void *self, const struct xlcp_volume *vol, const char *snap_name, const char *policy,
               const char *tag, struct xlcp_snapshot *out, struct xlcp_err *err);
    /* Fixes the content at this instant (guest suspended). Fast. */
    int (*capture)(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err);
    /* Finishes a captured snapshot (guest running); sets held_ns. */
    int (*complete)(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err);
    /* Undoes a capture that will not be completed: held writes flow again. */
    int (*release)(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err);
    int (*remove)(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err);
    /* 1 if the snapshot volume exists, 0 if not, <0 on error. */
    int (*exists)(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err);
    /* Makes a new writable volume `new_lv` holding the snapshot's content (the snapshot
     * stays); writes its path. */
    int (*clone)(void *self, const struct xlcp_snapshot *snap, const char *new_lv, char *path_out,
                 size_t path_len, struct xlcp_err *err);
    /* Removes snapshot volumes tagged `tag` (leftovers of an interrupted run); `tag` must
     * be "xlcp-" and a checkpoint id. */
    int (*remove_tagged)(void *self, const char *tag, struct xlcp_err *err);
    /* For verify: 1 if the snapshot still holds its instant, 0 if not (an overflowed
     * thick snapshot, a thin pool over its limit; `why` says so), <0 on error. */
    int (*check)(void *self, const struct xlcp_snapshot *snap, char *why, size_t len,
                 struct xlcp_err *err);
};

struct xlcp_disk {
    const struct xlcp_disk_ops *ops;
    void *self;
};

/* ---- store ---------------------------------------------------------------------- */

struct xlcp_store_lock;
struct xlcp_store_txn;

/*
 * An intent record: what one run of `create` is about to do to a domain, written
 * (durably) before the guest is touched and kept until everything it names is undone.
 * It is what allows the cleanup of an interrupted run to act without guessing: remove
 * exactly the volumes it names, and resume the guest only when the run's suspend mark
 * proves that this run suspended that very domain.
 */
struct xlcp_intent_volume {
    char vg[XLCP_NAME_MAX];
    char lv[XLCP_NAME_MAX];
};

struct xlcp_intent {
    char id[XLCP_ID_MAX];
    char dom_uuid[XLCP_UUID_LEN + 1];
    uint32_t domid;
    long pid; /* of the process that ran it */
    int nvols;
    struct xlcp_intent_volume vols[XLCP_MAX_DISKS]; /* every snapshot volume it will create */
    /* the page store its image goes into (as map <id>), absolute; empty: none */
    char pagestore_root[XLCP_PATH_MAX];
};

/* The run's suspend mark (kept in the run directory, a tmpfs: gone after a reboot, when
 * no domain can still be suspended by us). */
enum xlcp_mark {
    XLCP_MARK_NONE = 0,  /* the run never saw the guest suspended */
    XLCP_MARK_SUSPENDED, /* it saw the guest suspended, and did not resume it (yet) */
    XLCP_MARK_RESUMED,   /* it resumed the guest */
};

/* What an interrupted run left in the catalog, for one checkpoint id. */
struct xlcp_leftover {
    struct xlcp_intent rec; /* id and dom_uuid always set; the rest if has_record */
    int has_record;         /* the intent record */
    int has_tmp;            /* the temporary directory .tmp-<id> */
    int has_del;            /* a deletion's directory .del-<id> (its volumes are gone) */
    enum xlcp_mark mark;
    uint32_t mark_domid; /* the domain the mark names */
    char mark_uuid[XLCP_UUID_LEN + 1];
    int64_t suspended_at_ns; /* wall clock of the suspend, 0 if unknown */
};

enum xlcp_group_kind {
    XLCP_GROUP_MANIFEST = 0, /* a committed group checkpoint */
    XLCP_GROUP_INTENT,       /* a group run under way (or interrupted) */
};

struct xlcp_store_ops {
    /* Per-domain lock, one for every catalog (in the run directory, $XLCP_RUN_DIR or
     * /run/xl-checkpoint); XLCP_EBUSY when another process holds it. Taken by every
     * command that changes a domain or its volumes. */
    int (*lock)(void *self, const char *dom_uuid, struct xlcp_store_lock **out,
                struct xlcp_err *err);
    void (*unlock)(void *self, struct xlcp_store_lock *lock);
    /* Writes the intent record of a run (fsync'd) before the guest is touched. */
    int (*intent_write)(void *self, const struct xlcp_intent *rec, struct xlcp_err *err);
    /* Updates the run's suspend mark: cheap (no fsync), may be called inside the pause. */
    int (*intent_mark)(void *self, const char *dom_uuid, const char *id, enum xlcp_mark mark,
                       uint32_t domid, int64_t wall_ns, struct xlcp_err *err);
    /* Leftovers of interrupted runs: of one domain uuid, or all if NULL. Any number;
     * malloc'd array, caller frees. */
    int (*leftovers)(void *self, const char *dom_uuid, struct xlcp_leftover **out, size_t *n,
                     struct xlcp_err *err);
    /* Removes one leftover: its record, its mark and its temporary (or deletion)
     * directory. Call only once every volume the record names is gone. */
    int (*leftover_remove)(void *self, const char *dom_uuid, const char *id, struct xlcp_err *err);
    /* Starts a new checkpoint directory under a temporary name. */
    int (*begin)(void *self, const char *dom_uuid, const char *id, struct xlcp_store_txn **out,
                 struct xlcp_err *err);
    /* Creates a file (mode 0600) in the temporary directory; returns an fd. */
    int (*create_file)(void *self, struct xlcp_store_txn *txn, const char *name, int *fd_out,
                       struct xlcp_err *err);
    /* Removes a file create_file made: the commit leaves it out (descriptors the caller
     * still holds stay valid until closed). */
    int (*drop_file)(void *self, struct xlcp_store_txn *txn, const char *name,
                     struct xlcp_err *err);
    /* fsyncs files and directory, renames it into the catalog. Frees txn either way. */
    int (*commit)(void *self, struct xlcp_store_txn *txn, struct xlcp_err *err);
    /* Removes the temporary directory (keeps it if keep_dir: a volume its run made is
     * still there, the intent record names both). Frees txn. */
    void (*abort)(void *self, struct xlcp_store_txn *txn, int keep_dir);
    /* Directory of checkpoint `id`; XLCP_ENOTFOUND if none. */
    int (*locate)(void *self, const char *id, char *dir_out, size_t len, struct xlcp_err *err);
    /* All checkpoint ids (of one domain uuid, or all if NULL), sorted. Caller frees. */
    int (*list)(void *self, const char *dom_uuid, char ***ids_out, size_t *n_out,
                struct xlcp_err *err);
    /* Removes checkpoint `id` (atomically: rename away, then delete). */
    int (*remove)(void *self, const char *id, struct xlcp_err *err);
    /* Bytes an unprivileged writer may still write under the catalog root; its path in
     * where (for messages). */
    int (*free_bytes)(void *self, uint64_t *out, char *where, size_t len, struct xlcp_err *err);
    /* Group checkpoints (engine_group.c), in <root>/.groups/ (never listed as a domain):
     * a group manifest is <gid>/group.xml, written under .tmp-<gid>/, fsync'd and renamed;
     * a group's intent record is .intent-<gid>, written (fsync'd, atomically renamed) before
     * any member is touched and removed once the group is committed or undone.
     * put writes `text` (len bytes) as the kind's file of gid (XLCP_EBUSY if it exists);
     * get reads it (malloc'd, NUL-terminated; XLCP_ENOTFOUND if absent); drop removes it
     * (XLCP_ENOTFOUND if absent); list gives the gids that have one, sorted. */
    int (*group_put)(void *self, enum xlcp_group_kind kind, const char *gid, const char *text,
                     size_t len, struct xlcp_err *err);
    int (*group_get)(void *self, enum xlcp_group_kind kind, const char *gid, char **text_out,
                     struct xlcp_err *err);
    int (*group_drop)(void *self, enum xlcp_group_kind kind, const char *gid, struct xlcp_err *err);
    int (*group_list)(void *self, enum xlcp_group_kind kind, char ***gids_out, size_t *n_out,
                      struct xlcp_err *err);
};

struct xlcp_store {
    const struct xlcp_store_ops *ops;
    void *self;
};

/* ---- clock ---------------------------------------------------------------------- */

struct xlcp_clock_ops {
    uint64_t (*now_ns)(void *self); /* monotonic */
    int64_t (*wall_ns)(void *self); /* since the epoch, UTC */
    void (*sleep_ns)(void *self, uint64_t ns);
};

struct xlcp_clock {
    const struct xlcp_clock_ops *ops;
    void *self;
};

/* ---- all of them ---------------------------------------------------------------- */

struct xlcp_ports {
    struct xlcp_hv hv;
    struct xlcp_disk disk;
    struct xlcp_store store;
    struct xlcp_clock clock;
};

/* Real adapters. Each returns 0 or an error; *_close frees. */
int xlcp_hv_xen_open(struct xlcp_hv *out, struct xlcp_err *err);
void xlcp_hv_xen_close(struct xlcp_hv *hv);
int xlcp_disk_lvm_open(struct xlcp_disk *out, struct xlcp_err *err);
void xlcp_disk_lvm_close(struct xlcp_disk *disk);
int xlcp_store_fs_open(struct xlcp_store *out, const char *root, struct xlcp_err *err);
void xlcp_store_fs_close(struct xlcp_store *store);
void xlcp_clock_posix(struct xlcp_clock *out);

#endif
