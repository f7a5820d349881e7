/*
 * xlcheckpoint.h - public API of libxlcheckpoint, the xl-checkpoint engine.
 *
 * A backup tool links this library (pkg-config name: xlcheckpoint) to take, list, verify,
 * delete and restore lightweight live checkpoints of Xen domains: the guest's memory (a
 * standard libxl stream that `xl restore` reads) and LVM snapshots of its disks, captured
 * at one instant while the guest keeps running.
 *
 * Conventions (after libgit2): opaque handles; option structs that start with a version
 * field and are initialised with *_INIT macros or *_init() functions; every call returns
 * 0 or a negative xlcp_error code, and xlcp_last_error() gives the message of the last
 * failure on that context, naming the domain, the step and the cause.
 *
 * The API is stable within a major version (XLCP_VERSION_MAJOR). New option fields are
 * only ever appended, with the struct version raised.
 */
#ifndef XLCHECKPOINT_H
#define XLCHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XLCP_VERSION_MAJOR 0
#define XLCP_VERSION_MINOR 3
#define XLCP_VERSION_PATCH 0
#define XLCP_VERSION_STRING "0.3.0"

/* Return codes. Values are part of the ABI; the CLI maps them to exit codes. */
typedef enum {
    XLCP_OK = 0,
    XLCP_EINVAL = -1,       /* bad argument or option */
    XLCP_ENOTFOUND = -2,    /* no such domain or checkpoint */
    XLCP_ESTATE = -3,       /* domain is in the wrong state (not running, dying, ...) */
    XLCP_EBUSY = -4,        /* another checkpoint of this domain is under way */
    XLCP_ENOSPC = -5,       /* no room in the volume group or the catalog */
    XLCP_ETIMEDOUT = -6,    /* the guest or a helper did not answer in time */
    XLCP_ECORRUPT = -7,     /* manifest or image fails validation */
    XLCP_EIO = -8,          /* I/O error on the catalog */
    XLCP_EUNSUPPORTED = -9, /* disk is not an LVM volume, guest type not supported, ... */
    XLCP_EHV = -10,         /* the hypervisor / toolstack reported an error */
    XLCP_EDISK = -11,       /* LVM reported an error */
    XLCP_EPERM = -12,       /* permission denied (catalog root, /dev/xen) */
    XLCP_EINTERNAL = -13,   /* bug */
} xlcp_error;

/* Steps of one checkpoint, in order. Errors name the step they happened in. */
typedef enum {
    XLCP_STEP_PREPARE = 0,
    XLCP_STEP_QUIESCE,
    XLCP_STEP_LIVE_COPY,
    XLCP_STEP_SUSPEND,
    XLCP_STEP_DISK_SNAPSHOT,
    XLCP_STEP_RESUME,
    XLCP_STEP_THAW,
    XLCP_STEP_COMMIT,
    XLCP_STEP__COUNT,
    XLCP_STEP_NONE = -1,
} xlcp_step;

const char *xlcp_step_name(xlcp_step step);
const char *xlcp_strerror(int code);
const char *xlcp_version(void);

/* ---- context ---------------------------------------------------------------------- */

typedef struct xlcp_ctx xlcp_ctx;

#define XLCP_CTX_OPTIONS_VERSION 1
typedef struct {
    unsigned int version;
    /* Catalog root; NULL: $XLCP_CATALOG_ROOT, else /var/lib/xl-checkpoint. */
    const char *catalog_root;
} xlcp_ctx_options;
#define XLCP_CTX_OPTIONS_INIT                                                                      \
    {                                                                                              \
        XLCP_CTX_OPTIONS_VERSION, NULL                                                             \
    }
int xlcp_ctx_options_init(xlcp_ctx_options *opts, unsigned int version);

/* Opens a context on this host's Xen and LVM. */
int xlcp_ctx_new(xlcp_ctx **out, const xlcp_ctx_options *opts);
void xlcp_ctx_free(xlcp_ctx *ctx);

/* Message of the last failure on ctx ("" if none). Valid until the next call on ctx. */
const char *xlcp_last_error(const xlcp_ctx *ctx);
/* Step of the last failure, XLCP_STEP_NONE when it was not inside a checkpoint. */
xlcp_step xlcp_last_error_step(const xlcp_ctx *ctx);

/* ---- create ----------------------------------------------------------------------- */

/* Progress callback: called at the start of each step. */
typedef void (*xlcp_progress_cb)(xlcp_step step, const char *what, void *arg);

#define XLCP_CREATE_OPTIONS_VERSION 2
typedef struct {
    unsigned int version;
    const char *name;                /* free-form label stored in the manifest, may be NULL */
    int live;                        /* 1: live pre-copy (default); 0: guest paused for the copy */
    int quiesce;                     /* 1: ask the guest to freeze its filesystems (needs module) */
    unsigned int quiesce_timeout_ms; /* default 10000 */
    unsigned int suspend_timeout_ms; /* how long to wait for the guest to suspend; 60000 */
    /* Size of thick snapshots: "20%" (of the origin, the default), or a size
     * like "512M" / "2G". Thin volumes get thin snapshots and ignore this. */
    const char *snapshot_size;
    int skip_non_lvm;     /* 1: skip disks that are not LVM (recorded), 0: refuse */
    const char *group_id; /* set by group checkpoints, NULL otherwise */
    xlcp_progress_cb progress;
    void *progress_arg;
    /* Version 2: the instant the guest should stop at, in nanoseconds since the epoch
     * (CLOCK_REALTIME); 0: at once. The live copy starts that much earlier than its
     * expected duration (from the domain's last checkpoints and its memory); a time past
     * is refused before anything is touched, one too near after the preparation
     * (XLCP_EINVAL). The manifest records the time and the stop's deviation from it.
     * Ignored in a group's member options (the group's at_ns applies). */
    int64_t at_ns;
} xlcp_create_options;
#define XLCP_CREATE_OPTIONS_INIT                                                                   \
    {                                                                                              \
        XLCP_CREATE_OPTIONS_VERSION, NULL, 1, 0, 10000, 60000, NULL, 0, NULL, NULL, NULL, 0        \
    }
int xlcp_create_options_init(xlcp_create_options *opts, unsigned int version);

#define XLCP_ID_MAX 64
/* Takes a checkpoint of `domain` (name, domid or uuid). On success writes its id. */
int xlcp_create(xlcp_ctx *ctx, const char *domain, const xlcp_create_options *opts,
                char id_out[XLCP_ID_MAX]);

/* Dry run of xlcp_create: makes its read-only checks (domain, state, disks, room in the
 * volume groups and the catalog, the guest's module) and writes what a checkpoint would do
 * (malloc'd text, one line per finding; free with free()), touching nothing: no lock, no
 * volume, no suspend. Returns the error a real create would stop at in its prepare step
 * (the report says why), or 0. */
int xlcp_create_plan(xlcp_ctx *ctx, const char *domain, const xlcp_create_options *opts,
                     char **report_out);

/* ---- catalog ---------------------------------------------------------------------- */

typedef struct xlcp_checkpoint xlcp_checkpoint;

/* Opens the checkpoint `id` (validated against the manifest schema). */
int xlcp_checkpoint_open(xlcp_ctx *ctx, const char *id, xlcp_checkpoint **out);
void xlcp_checkpoint_free(xlcp_checkpoint *cp);

const char *xlcp_checkpoint_id(const xlcp_checkpoint *cp);
const char *xlcp_checkpoint_domain_name(const xlcp_checkpoint *cp);
const char *xlcp_checkpoint_domain_uuid(const xlcp_checkpoint *cp);
const char *xlcp_checkpoint_created(const xlcp_checkpoint *cp); /* ISO 8601 UTC */
const char *xlcp_checkpoint_dir(const xlcp_checkpoint *cp);
uint64_t xlcp_checkpoint_memory_bytes(const xlcp_checkpoint *cp);
/* Downtime as seen from dom0 (guest stopped -> running again), nanoseconds. */
uint64_t xlcp_checkpoint_downtime_ns(const xlcp_checkpoint *cp);
size_t xlcp_checkpoint_disk_count(const xlcp_checkpoint *cp);
/* Downtime as the guest module measured it (light path), nanoseconds; 0 unknown. */
uint64_t xlcp_checkpoint_guest_downtime_ns(const xlcp_checkpoint *cp);
/* Wall time of the whole checkpoint, nanoseconds. */
uint64_t xlcp_checkpoint_total_ns(const xlcp_checkpoint *cp);
const char *xlcp_checkpoint_label(const xlcp_checkpoint *cp);    /* "" if none */
const char *xlcp_checkpoint_group_id(const xlcp_checkpoint *cp); /* "" if none */
/* 1 if the memory was copied while the guest ran (pre-copy), 0 if it was stopped. */
int xlcp_checkpoint_live(const xlcp_checkpoint *cp);
/* 1 if the guest's file systems were frozen for the checkpoint. */
int xlcp_checkpoint_quiesced(const xlcp_checkpoint *cp);
/* "light" (guest module, event channel) or "stock" (control/shutdown). */
const char *xlcp_checkpoint_suspend_path(const xlcp_checkpoint *cp);

/* One disk of a checkpoint. Owned by the checkpoint; fields may be appended in later
 * minor versions, never removed or reordered. */
typedef struct {
    const char *vdev;          /* "xvda" */
    const char *origin_path;   /* the guest's volume, as configured */
    const char *snapshot_path; /* "" when skipped */
    int thin;                  /* thin snapshot (1) or thick (0) */
    int skipped;               /* not LVM, skipped on request: nothing captured */
    uint64_t snapshot_bytes;   /* thick: COW size; thin: virtual size */
    uint64_t writes_held_ns;   /* thick: the guest's writes were held this long */
} xlcp_disk_info;
/* Disk i (0 <= i < xlcp_checkpoint_disk_count), or NULL. */
const xlcp_disk_info *xlcp_checkpoint_disk(const xlcp_checkpoint *cp, size_t i);
/* The manifest as XML text (owned by cp). */
const char *xlcp_checkpoint_manifest_xml(const xlcp_checkpoint *cp);

/* Ids of the checkpoints in the catalog, oldest first; of one domain (name or uuid,
 * matched against manifests) or all when domain is NULL. Free with xlcp_strv_free. */
int xlcp_list(xlcp_ctx *ctx, const char *domain, char ***ids_out, size_t *count_out);
void xlcp_strv_free(char **v, size_t n);

/* Re-checks schema, digests, and that the snapshot volumes still exist. */
#define XLCP_VERIFY_NO_DISKS 0x1u /* skip the snapshot volume check */
int xlcp_verify(xlcp_ctx *ctx, const char *id, unsigned int flags);

/* Removes the checkpoint and its snapshot volumes. */
int xlcp_delete(xlcp_ctx *ctx, const char *id);

/* ---- retention ----------------------------------------------------------------------- */

#define XLCP_PRUNE_OPTIONS_VERSION 1
typedef struct {
    unsigned int version;
    unsigned int keep_last; /* keep the N newest checkpoints of each domain; 0: no such rule */
    uint64_t keep_within_s; /* keep those created less than this ago; 0: no such rule */
    int apply;              /* 0 (default): only report what would go; 1: delete it */
} xlcp_prune_options;
#define XLCP_PRUNE_OPTIONS_INIT                                                                    \
    {                                                                                              \
        XLCP_PRUNE_OPTIONS_VERSION, 0, 0, 0                                                        \
    }
int xlcp_prune_options_init(xlcp_prune_options *opts, unsigned int version);

/* One checkpoint prune considered. Fields may be appended in later minor versions. */
typedef struct {
    char id[XLCP_ID_MAX];
    char domain_name[128];
    char domain_uuid[40];
    char created[40]; /* ISO 8601 UTC; "" if the manifest is unreadable */
    int keep;         /* 1: kept (reason says which rule), 0: pruned */
    char reason[160];
    int deleted; /* apply: 1 once deleted */
    int error;   /* apply: the delete's xlcp_error, 0 if none */
    char error_msg[512];
} xlcp_prune_entry;

/* Applies the retention rules (at least one of keep_last, keep_within_s) to the
 * checkpoints of `domain` (name or uuid) or of every domain if NULL. The newest
 * checkpoint of a domain, members of group checkpoints, and checkpoints whose manifest
 * cannot be read are always kept. Writes every checkpoint considered, newest first per
 * domain (free with xlcp_prune_entries_free), also when a delete failed: then the first
 * delete's error is returned after all were tried. */
int xlcp_prune(xlcp_ctx *ctx, const char *domain, const xlcp_prune_options *opts,
               xlcp_prune_entry **entries_out, size_t *count_out);
void xlcp_prune_entries_free(xlcp_prune_entry *entries);

/* ---- the guest's side -------------------------------------------------------------- */

/* Checks the domain's live xl-checkpoint xenstore subtree against the protocol
 * (xenstore-schema/protocol.xml). Writes a report (malloc'd, one line per violation,
 * first line a summary; free with free()) and the number of violations. Returns 0 when
 * the subtree could be read (whatever it holds), an error otherwise. */
int xlcp_guest_check(xlcp_ctx *ctx, const char *domain, char **report_out,
                     unsigned int *violations_out);

/* ---- restore ---------------------------------------------------------------------- */

#define XLCP_RESTORE_OPTIONS_VERSION                                                               \
    3 /* 1 (without disk_paths) and 2 (without                                                     \
       * config_json) are still accepted */
typedef struct {
    unsigned int version;
    const char *new_name; /* name of the restored domain; NULL: "<name>-<id>" */
    int replace;          /* destroy the original domain and take its name */
    int force;            /* with replace: even while the original runs */
    int paused;           /* leave the restored domain paused */
    /* Version 2. "VDEV=PATH": where the restored domain finds a disk the checkpoint
     * skipped (not LVM). Without --replace every skipped disk needs one: its original
     * path is the running original's writable disk. */
    const char *const *disk_paths;
    size_t ndisk_paths;
    /* Version 3. The domain configuration to restore with instead of the one saved in the
     * checkpoint (as `xl restore <ConfigFile>`): libxl JSON of a libxl_domain_config (what
     * `xl create -n` prints under "config"). Its disks with the vdevs the checkpoint
     * captured are pointed at the restored copies and every one of them must be there;
     * the name follows new_name / replace. One domain only (not for group restores). */
    const char *config_json;
} xlcp_restore_options;
#define XLCP_RESTORE_OPTIONS_INIT                                                                  \
    {                                                                                              \
        XLCP_RESTORE_OPTIONS_VERSION, NULL, 0, 0, 0, NULL, 0, NULL                                 \
    }
int xlcp_restore_options_init(xlcp_restore_options *opts, unsigned int version);

/* Restores memory and disks of `id` into a new running domain; writes its domid. */
int xlcp_restore(xlcp_ctx *ctx, const char *id, const xlcp_restore_options *opts,
                 uint32_t *domid_out);

/* ---- group checkpoints ------------------------------------------------------------ */

/*
 * A group checkpoint: several domains checkpointed at one instant. Every
 * member is prepared (locks, space, snapshot volumes armed) before any is touched; their
 * memory is copied concurrently; no member resumes until every member has stopped and had
 * its disks captured (so no message a guest sends after its checkpoint reaches another
 * before that one's checkpoint); then all are committed, or none: one group manifest
 * (group.xml, RelaxNG-validated) names the members' checkpoints. Any failure resumes
 * every guest and removes every member's partial work. Each member is an ordinary
 * checkpoint too (its manifest's group id says which group it belongs to).
 *
 * Members may be on other hosts: "host:domain". This host then coordinates: it runs
 * `xl-checkpoint group-agent` on each host named over ssh ($XLCP_SSH, default
 * "ssh -o BatchMode=yes"; a member without a host is "localhost:domain" then), prepares
 * everywhere, stops every member at one common instant, applies the consistency rule
 * across the hosts and commits everywhere or nowhere (libxl-plugin/man/group-agent.md).
 * The group manifest is written on this host; each member's checkpoint on its own host.
 */
#define XLCP_GROUP_OPTIONS_VERSION 2
typedef struct {
    unsigned int version;
    const char *name; /* the group's name, [A-Za-z0-9._-]{1,63}; required */
    /* Options of every member's checkpoint (their group_id and progress are ignored);
     * NULL: the defaults. */
    const xlcp_create_options *member;
    /* How long a member that has stopped and been captured waits, stopped, for the others
     * before the group gives up and resumes all; milliseconds, default 10000. */
    unsigned int max_wait_ms;
    /* Version 2: the instant the members should stop at, in nanoseconds since the epoch
     * (CLOCK_REALTIME of this host); 0: as soon as they can. Each live copy starts early
     * enough for its guest to stop then (estimated from the domain's memory and its last
     * checkpoints); a time already past, or too near for the copies, is refused
     * (XLCP_EINVAL) before any guest is touched. Each member's deviation is recorded. */
    int64_t at_ns;
} xlcp_group_options;
#define XLCP_GROUP_OPTIONS_INIT                                                                    \
    {                                                                                              \
        XLCP_GROUP_OPTIONS_VERSION, NULL, NULL, 10000, 0                                           \
    }
int xlcp_group_options_init(xlcp_group_options *opts, unsigned int version);

#define XLCP_GROUP_MAX_MEMBERS 16
/* Takes a group checkpoint of the n domains (names, domids or uuids); writes its id. */
int xlcp_group_create(xlcp_ctx *ctx, const char *const *domains, size_t n,
                      const xlcp_group_options *opts, char id_out[XLCP_ID_MAX]);

typedef struct xlcp_group xlcp_group;
/* One member of a group checkpoint. Instants are on the group's clock
 * (xlcp_group_clock): nanoseconds, comparable between members of one group. */
typedef struct {
    const char *domain_name;
    const char *domain_uuid;
    const char *checkpoint_id; /* its own checkpoint (xlcp_checkpoint_open) */
    uint64_t stopped_ns;       /* when it stopped */
    uint64_t resumed_ns;       /* when it ran again */
    uint64_t waited_ns;        /* of its stop: waiting for the other members */
    /* its live copy started this much after the first member's, so that the copies reach
     * their stop together (estimated from the member's last checkpoint); 0: at once */
    uint64_t start_delay_ns;
    /* Appended (group options version 2): the host it ran on ("" on a group of this
     * host alone); when the group had a time to stop at (xlcp_group_at_ns), how far its
     * stop fell from it (positive: late) and has_deviation 1. */
    const char *host;
    int64_t deviation_ns;
    int has_deviation;
} xlcp_group_member_info;

/* A host of a group across hosts: its clock's offset from the coordinator's as measured
 * by a timestamp exchange (its CLOCK_REALTIME minus the coordinator's), and the round
 * trip of the best exchange (the offset's uncertainty is half of it). */
typedef struct {
    const char *host;
    int64_t offset_ns;
    uint64_t rtt_ns;
} xlcp_group_host_info;

/* Opens a group checkpoint by id, or by name when exactly one group has that name. */
int xlcp_group_open(xlcp_ctx *ctx, const char *id_or_name, xlcp_group **out);
void xlcp_group_free(xlcp_group *g);
const char *xlcp_group_id(const xlcp_group *g);
const char *xlcp_group_name(const xlcp_group *g);
const char *xlcp_group_created(const xlcp_group *g);
/* "dom0-monotonic": CLOCK_MONOTONIC of dom0 (Xen's system time is not read). */
const char *xlcp_group_clock(const xlcp_group *g);
uint64_t xlcp_group_skew_ns(const xlcp_group *g);         /* spread of the stop instants */
uint64_t xlcp_group_longest_stop_ns(const xlcp_group *g); /* the longest member stop */
uint64_t xlcp_group_total_ns(const xlcp_group *g);
size_t xlcp_group_member_count(const xlcp_group *g);
const xlcp_group_member_info *xlcp_group_member(const xlcp_group *g, size_t i);
const char *xlcp_group_manifest_xml(const xlcp_group *g);
/* The time the group was asked to stop at (ns since the epoch, the coordinator's clock);
 * 0 if none. */
int64_t xlcp_group_at_ns(const xlcp_group *g);
/* The hosts of a group across hosts (none for a group of this host alone). */
size_t xlcp_group_host_count(const xlcp_group *g);
const xlcp_group_host_info *xlcp_group_host(const xlcp_group *g, size_t i);
/* Ids of the group checkpoints, oldest first; of one name, or all when name is NULL. */
int xlcp_group_list(xlcp_ctx *ctx, const char *name, char ***ids_out, size_t *count_out);
/* Verifies the group manifest and every member (flags as xlcp_verify), on its host. */
int xlcp_group_verify(xlcp_ctx *ctx, const char *id_or_name, unsigned int flags);
/* Deletes every member's checkpoint (on its host), then the group. */
int xlcp_group_delete(xlcp_ctx *ctx, const char *id_or_name);
/* Restores every member paused (opts as xlcp_restore, new_name ignored: each member
 * gets "<name>-<its checkpoint id>", or its original's name with replace), on its host;
 * only then the originals are replaced (replace), then all are unpaused together unless
 * opts->paused. On failure the members already restored are destroyed. Writes up to
 * max domids (in the order of the group's members). */
int xlcp_group_restore(xlcp_ctx *ctx, const char *id_or_name, const xlcp_restore_options *opts,
                       uint32_t *domids_out, size_t max);
/* The agent of a group across hosts (`xl-checkpoint group-agent`, run by the coordinator
 * over ssh): speaks the protocol of libxl-plugin/man/group-agent.md on in_fd/out_fd until
 * the group is committed or aborted, or (protocol 2) a committed group's members on its
 * host are asked about, verified, deleted or restored; its guests are never left stopped,
 * and no domain it restored is left paused without the coordinator's word. */
int xlcp_group_agent(xlcp_ctx *ctx, int in_fd, int out_fd);

/*
 * Group operations member by member, with a report of what became of each member (on this
 * host, or, for a group across hosts, as the agent of the member's host answered: the
 * coordinator is the host that holds group.xml). A host that cannot be reached does not
 * stop the others: its members are reported "unreachable".
 *
 * Outcomes: status: "present", "missing"; verify: "ok", "missing"; delete: "deleted",
 * "gone" (was gone already); restore: "running", "paused", "undone" (restored, then
 * destroyed again because another member failed), "kept" (with replace: its original was
 * already replaced, left paused), "not-restored"; any operation: "failed", "refused" (the
 * checkpoint there is not this group's member: never touched), "unreachable".
 */
typedef struct {
    const char *host; /* its host ("" for a group of this host alone) */
    const char *domain_name;
    const char *checkpoint_id;
    const char *outcome;
    int error;           /* 0, or the xlcp_error of the step that failed */
    const char *step;    /* that step ("" if none): connect status verify delete restore
                          * replace unpause undo */
    const char *message; /* its cause ("" if none) */
    uint32_t domid;      /* restore: the new domain (0 if none) */
    const char *new_name;
} xlcp_group_member_result;
typedef struct xlcp_group_report xlcp_group_report;
const char *xlcp_group_report_group(const xlcp_group_report *r); /* the group's id */
size_t xlcp_group_report_count(const xlcp_group_report *r);
const xlcp_group_member_result *xlcp_group_report_member(const xlcp_group_report *r, size_t i);
void xlcp_group_report_free(xlcp_group_report *r);

/* Each member's checkpoint there or not (list --groups, info --group). Returns 0 when the
 * group was read, whatever the members' outcomes. */
int xlcp_group_status(xlcp_ctx *ctx, const char *id_or_name, xlcp_group_report **out);
/* As xlcp_group_verify, xlcp_group_delete and xlcp_group_restore (0, or the first
 * member's error), with the report. delete is all or report: the group stays, naming
 * every member, until each is deleted; a later delete finishes the job. A member
 * checkpoint whose manifest does not name the group is never touched. restore: every
 * member is restored paused before any original is touched or any member runs; if one
 * fails, every member restored so far is destroyed again (only a domain that is still the
 * one restored: domid, name and the uuid the restore gave it) and the originals are
 * untouched. *out (free with xlcp_group_report_free) is set whenever the group was read,
 * else NULL. */
int xlcp_group_verify_members(xlcp_ctx *ctx, const char *id_or_name, unsigned int flags,
                              xlcp_group_report **out);
int xlcp_group_delete_members(xlcp_ctx *ctx, const char *id_or_name, xlcp_group_report **out);
int xlcp_group_restore_members(xlcp_ctx *ctx, const char *id_or_name,
                               const xlcp_restore_options *opts, xlcp_group_report **out);

/* ---- leftovers of interrupted checkpoints ----------------------------------------- */

#define XLCP_RECOVER_DRY_RUN 0x1u /* only show what would be done */
#define XLCP_RECOVER_RESUME 0x2u  /* resume a guest a record proves an interrupted run suspended */
/* Shows and removes what interrupted checkpoints left: snapshot volumes, temporary
 * directories, intent records; with XLCP_RECOVER_RESUME, resumes a guest only if a record
 * proves an interrupted checkpoint suspended it (and it has not been resumed since as far
 * as our records know: a guardian's resume is not recorded, hence the flag). Of `domain` (name,
 * domid or uuid) or of every domain in the catalog if NULL. Writes a report (malloc'd, one line per
 * finding; free with free()) and the number of leftovers found. */
int xlcp_recover(xlcp_ctx *ctx, const char *domain, unsigned int flags, char **report_out,
                 unsigned int *count_out);

/* ---- export for backup tools (api_export.c) ------------------------------------------ */

/* Progress of a long export or import: bytes done of about total. */
typedef void (*xlcp_transfer_progress_fn)(uint64_t done, uint64_t total, void *arg);

/* Exports checkpoint `id` into the new directory `dir`: manifest.xml, memory.xl (an xl save
 * image; for a checkpoint whose image the page store holds, the one rebuilt from it),
 * disks/<vdev>.img (sparse raw images) and export.xml (sizes, digests). With `since` (an
 * older checkpoint of the same domain), thin disks are exported as the blocks changed since
 * it (disks/<vdev>.delta and a block map in export.xml); thick disks in full. Writes the
 * export's bytes (apparent size) to bytes_out if not NULL. */
int xlcp_export(xlcp_ctx *ctx, const char *id, const char *since, const char *dir,
                xlcp_transfer_progress_fn progress, void *arg, uint64_t *bytes_out);

/* Rebuilds a checkpoint from a full export and the incrementals after it (oldest first)
 * in new volumes; new_name (if not NULL) is the domain name it restores as. Writes the new
 * checkpoint's id. Refuses a broken chain or a file whose digest differs from the index. */
int xlcp_import(xlcp_ctx *ctx, const char *const *dirs, int ndirs, const char *new_name,
                xlcp_transfer_progress_fn progress, void *arg, char id_out[XLCP_ID_MAX]);

#ifdef __cplusplus
}
#endif
#endif /* XLCHECKPOINT_H */
