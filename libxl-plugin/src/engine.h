/*
 * engine.h - the checkpoint state machine and the catalog operations built on the ports.
 *
 * One checkpoint runs prepare -> quiesce -> live copy -> suspend -> disk snapshot ->
 * resume -> thaw -> commit. Every failure unwinds what was done: the guest is resumed
 * if it was suspended, thawed if it was frozen, snapshots are removed, the temporary
 * directory is deleted. The error names the domain, the step and the cause.
 */
#ifndef XLCP_ENGINE_H
#define XLCP_ENGINE_H

#include "manifest.h"
#include "ports.h"

/* Takes one checkpoint. On success *out holds the committed manifest (caller frees). */
int xlcp_engine_create(const struct xlcp_ports *p, const char *domain,
                       const xlcp_create_options *opts, struct xlcp_manifest *out,
                       struct xlcp_err *err);

/* Opens and validates the manifest of `id`; writes its directory. */
int xlcp_engine_load(const struct xlcp_ports *p, const char *id, struct xlcp_manifest *m,
                     char *dir_out, size_t dir_len, struct xlcp_err *err);

int xlcp_engine_verify(const struct xlcp_ports *p, const char *id, unsigned int flags,
                       struct xlcp_err *err);
int xlcp_engine_delete(const struct xlcp_ports *p, const char *id, struct xlcp_err *err);
int xlcp_engine_restore(const struct xlcp_ports *p, const char *id,
                        const xlcp_restore_options *opts, uint32_t *domid_out,
                        struct xlcp_err *err);

/*
 * One restore in steps (engine_restore.c), so that a group's members are all made before
 * any original is touched or any of them runs. begin makes the new domain beside the
 * original, which it leaves untouched (paused if hold or opts->paused; with --replace and
 * an original there, paused under "<name>--restoring"); on failure it has undone itself.
 * replace (with opts->replace) destroys the original and renames the new domain: from
 * then on it is all there is, and undo keeps it. unpause runs it. undo destroys the new
 * domain, only while it is the one begin made (its domid, the name it was given and the
 * uuid the restore gave it: our tag on it), then removes the volumes made for it; what it
 * could not do is added to err. end releases the original's lock. An image the page store
 * holds is fed to the new domain by begin, made paused, through a pipe: begin returns only
 * once the feed has ended and been checked (a corrupt page fails it, undone, naming map and
 * pfn), the domain then as asked (paused or not), so the other steps know no store.
 */
struct xlcp_restore_run {
    const struct xlcp_ports *p;
    xlcp_restore_options opts;
    char id[XLCP_ID_MAX];
    struct xlcp_store_lock *lock;
    struct xlcp_domain orig;
    int have_orig;
    char name[XLCP_NAME_MAX]; /* the name it ends with */
    struct xlcp_domain made;  /* the new domain as made: domid, name (now), uuid */
    int exists;               /* made, and not destroyed since */
    int paused;               /* made paused and not unpaused since */
    int replaced;             /* the original is gone */
    struct xlcp_snapshot clones[XLCP_MAX_DISKS];
    int nclones;
};
int xlcp_engine_restore_begin(const struct xlcp_ports *p, const char *id,
                              const xlcp_restore_options *opts, int hold,
                              struct xlcp_restore_run *r, struct xlcp_err *err);
int xlcp_engine_restore_replace(struct xlcp_restore_run *r, struct xlcp_err *err);
int xlcp_engine_restore_unpause(struct xlcp_restore_run *r, struct xlcp_err *err);
void xlcp_engine_restore_undo(struct xlcp_restore_run *r, struct xlcp_err *err);
void xlcp_engine_restore_end(struct xlcp_restore_run *r);

/* engine_verify's flag for restore (engine-only; the library masks it out of callers'
 * flags): a memory image held by the page store is only checked to be there, not read,
 * since the restore's rebuild re-hashes every page as it feeds it. */
#define XLCP_VERIFY_ENGINE_QUICK_MAP 0x80000000u

/* ---- the opt-in page store (engine_pagestore.c, engine_ps_read.c) ---- */

/* The store `create` uses: $XLCP_PAGESTORE made absolute, or "" without it. */
int xlcp_engine_ps_root(char *out, size_t len, struct xlcp_err *err);
/* Stores the whole image in mem_fd as map m->id of the store in root and reads the map
 * back; records map and root, or why not (note), in m. Never fails: 1 if the image is in
 * the store whole and checked and memory.xl is not to be kept (XLCP_PAGESTORE_KEEP_FILE),
 * else 0. Nothing without a root. */
int xlcp_engine_ps_store(struct xlcp_manifest *m, const char *root, int mem_fd);
/* Releases map `map` of the store in root (NULL or "": the one $XLCP_PAGESTORE names, for
 * manifests that name none) and collects the store. 1 if released, 0 if there was nothing
 * to release (no store, no map), or an error. */
int xlcp_engine_ps_release(const char *root, const char *map, struct xlcp_err *err);
/* The memory image of a manifest whose map and root are set: deep, every page of the map
 * re-hashed and the stream it makes parsed (XLCP_ECORRUPT naming map, pfn and pack of a
 * bad page); else only that the store and the map are there. */
int xlcp_engine_ps_verify(const struct xlcp_manifest *m, int deep, struct xlcp_err *err);
/* Writes the image rebuilt from the store (a standard xl save image) to fd. */
int xlcp_engine_ps_rebuild(const struct xlcp_manifest *m, int fd, uint64_t *bytes,
                           struct xlcp_err *err);
/* The same through a pipe: a thread writes the rebuilt image into it; *rfd is the end to
 * read (close-on-exec). feed_end closes rfd (a writer a reader left fails at once), waits
 * for the thread and returns its outcome: the rebuild's error (a corrupt page: map, pfn,
 * pack) or a broken pipe. */
struct xlcp_ps_feed;
int xlcp_engine_ps_feed_start(const struct xlcp_manifest *m, int *rfd, struct xlcp_ps_feed **out,
                              struct xlcp_err *err);
int xlcp_engine_ps_feed_end(struct xlcp_ps_feed *f, int rfd, struct xlcp_err *err);

/* Makes a new time-sortable checkpoint id: 20261124T191342.123Z-1a2b3c */
void xlcp_engine_new_id(const struct xlcp_clock *clock, char id_out[XLCP_ID_MAX]);
/* 1 if id has exactly the shape xlcp_engine_new_id makes. */
int xlcp_engine_id_ok(const char *id);

/* How long the capture, inside the pause, waits for the snapshots to be armed before it
 * gives up (the guest is resumed, the checkpoint fails). Milliseconds; tests lower it. */
extern unsigned int xlcp_engine_arm_wait_ms;

/* Shows (flags XLCP_RECOVER_DRY_RUN) or removes what interrupted runs left: of `domain`
 * (name, domid or uuid) or of every domain in the catalog if NULL; resumes a guest left
 * suspended by one only with XLCP_RECOVER_RESUME. Takes each domain's lock. Writes a
 * report (malloc'd, one line per finding) and the number of leftovers found. */
int xlcp_engine_recover(const struct xlcp_ports *p, const char *domain, unsigned int flags,
                        char **report_out, unsigned int *count_out, struct xlcp_err *err);

/* The leftovers of domain uuid (caller holds its lock): removes every volume a record
 * names, and the record (with the run's directories) once they are all gone. A suspended
 * dom (if not NULL) is resumed only with XLCP_RECOVER_RESUME and when an intent record and
 * its suspend mark prove that an interrupted run of ours suspended that very domain;
 * without the flag, *ours_suspended (if not NULL) is set in that case. Appends what it did
 * to *report if report is not NULL; counts the leftovers into *count if not NULL. */
int xlcp_engine_clean_leftovers(const struct xlcp_ports *p, const char *uuid,
                                struct xlcp_domain *dom, unsigned int flags, char **report,
                                unsigned int *count, int *ours_suspended, struct xlcp_err *err);

/* The dry run of create (engine_plan.c): what it would do, nothing touched. Writes a
 * report (malloc'd, one line per finding) when the domain was found; returns the error a
 * real run would stop at (its prepare step's), or 0. */
int xlcp_engine_plan(const struct xlcp_ports *p, const char *domain, const xlcp_create_options *o,
                     char **report_out, struct xlcp_err *err);

/* Retention (engine_prune.c). Rules: keep_last newest, keep_within_s seconds; at least one. */
struct xlcp_prune_rule {
    unsigned int keep_last;
    uint64_t keep_within_s;
};
struct xlcp_prune_item {
    char id[XLCP_ID_MAX];
    char dom_name[XLCP_NAME_MAX];
    char dom_uuid[XLCP_UUID_LEN + 1];
    char created[40];
    char group_id[XLCP_ID_MAX];
    int64_t created_s; /* -1 unknown */
    int unreadable;    /* manifest could not be read: kept */
    int keep;
    char reason[160];
    int deleted; /* apply: deleted */
    int rc;      /* apply: the delete's error, 0 if none */
    char error[512];
};
/* Decides, per domain (all if NULL), what the rule keeps; deletes the rest if apply.
 * Writes every checkpoint considered (malloc'd array, free()), newest first per domain.
 * Returns the first delete's error after trying all (items are written anyway). */
int xlcp_engine_prune(const struct xlcp_ports *p, const char *domain,
                      const struct xlcp_prune_rule *rule, int apply,
                      struct xlcp_prune_item **items_out, size_t *n_out, struct xlcp_err *err);

/* Deletes checkpoint id; the caller holds its domain's lock. */
int xlcp_engine_delete_locked(const struct xlcp_ports *p, const char *id, struct xlcp_err *err);

/* ---- group checkpoints (engine_group.c, engine_group_catalog.c) ---- */

struct xlcp_group_manifest;
/* Takes a group checkpoint of domains[0..n-1]; member i reaches the world through
 * mports[i] (its own hv and disk adapters, one store and clock for all). On success
 * *out is the committed group manifest. */
int xlcp_engine_group_create(const struct xlcp_ports *const *mports, size_t n,
                             const char *const *domains, const xlcp_group_options *opts,
                             struct xlcp_group_manifest *out, struct xlcp_err *err);
/*
 * The members of one host of a group across hosts, run by its agent (group_agent.c): the
 * engine asks the link at each phase and goes on only on the coordinator's word. Every
 * call blocks at most a bounded time; an error means abort (the coordinator said so,
 * vanished or did not answer): every guest resumes and nothing stays committed.
 */
struct xlcp_group_link {
    void *self;
    const char *group_id; /* the coordinator's id of the group */
    /* every member prepared and armed; est_ns: the longest time from a member's copy
     * start to its stop. Returns 0 with the time to stop at (ns since the epoch, this
     * host's CLOCK_REALTIME), or an error. */
    int (*prepared)(void *self, uint64_t est_ns, int64_t *at_ns, struct xlcp_err *err);
    /* every member of this host stopped and captured: 0 on the coordinator's "resume" */
    int (*captured)(void *self, struct xlcp_err *err);
    /* every member committed (g: their instants on this host's monotonic clock): 0 on the
     * coordinator's "finish" (keep them), else they are deleted */
    int (*committed)(void *self, const struct xlcp_group_manifest *g, struct xlcp_err *err);
    /* nonzero once the coordinator is gone (looked at while members wait to start) */
    int (*gone)(void *self);
};
/* xlcp_engine_group_create with a link (NULL: a group of this host, committed here). */
int xlcp_engine_group_run(const struct xlcp_ports *const *mports, size_t n,
                          const char *const *domains, const xlcp_group_options *opts,
                          const struct xlcp_group_link *link, struct xlcp_group_manifest *out,
                          struct xlcp_err *err);
/* The coordinator of a group across hosts (group_coord.c): members[i] is "host:domain" (or
 * "domain": localhost); p's store gets the group manifest, p's clock is the group's. */
int xlcp_engine_group_hosts(const struct xlcp_ports *p, size_t n, const char *const *members,
                            const xlcp_group_options *opts, struct xlcp_group_manifest *out,
                            struct xlcp_err *err);
/* The agent (group_agent.c): serves the protocol on in_fd/out_fd; open_ports gives n
 * members' ports (mports[0..n-1]) with the adapters `need` says (XLCP_AGENT_NEED_*: the
 * catalog and the clock are always there), and close_ports closes them. */
#define XLCP_AGENT_NEED_HV 0x1u
#define XLCP_AGENT_NEED_DISK 0x2u
struct xlcp_agent_ports {
    void *self;
    int (*open_ports)(void *self, size_t n, unsigned int need, const struct xlcp_ports **mports,
                      struct xlcp_err *err);
    void (*close_ports)(void *self);
};
int xlcp_engine_group_agent(const struct xlcp_ports *p, const struct xlcp_agent_ports *ap,
                            int in_fd, int out_fd, struct xlcp_err *err);
/* Loads (validated) the group of that id, or the one group of that name. */
int xlcp_engine_group_load(const struct xlcp_ports *p, const char *id_or_name,
                           struct xlcp_group_manifest *g, struct xlcp_err *err);
/* status, verify, delete and restore of a group, member by member: group_ops.h */
/* What group runs that died left (their intent records, writer gone): a committed group
 * only loses its record; otherwise every member checkpoint it committed is deleted (the
 * members' own intent records undo the rest). Reports as xlcp_engine_recover. */
int xlcp_engine_group_recover(const struct xlcp_ports *p, unsigned int flags, char **report,
                              unsigned int *count, struct xlcp_err *err);
/* Tests only: called at named points of a group run ("members-committed"); a nonzero
 * return makes the run stop there as if the process had died (nothing undone). */
extern int (*xlcp_engine_group_test_hook)(const char *point);

/* engine_leftovers.c: appends one line to *report (if report is not NULL). */
void xlcp_engine_say(char **report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
