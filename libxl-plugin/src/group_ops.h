/*
 * group_ops.h - the operations on a committed group checkpoint, member by member: status
 * (list and info), verify, delete and restore, on this host (engine_group_catalog.c,
 * engine_group_restore.c) or, for a group across hosts, through the agent of each member's
 * host (group_coord_ops.c, group_coord_restore.c; served by group_agent_ops.c). Each
 * reports what became of every member, with its host.
 */
#ifndef XLCP_GROUP_OPS_H
#define XLCP_GROUP_OPS_H

#include "engine.h"
#include "group_manifest.h"

/* What became of one member. Outcomes (xlcheckpoint.h, xlcp_group_member_result):
 * status: present | missing;  verify: ok | missing;  delete: deleted | gone (was already);
 * restore: running | paused | undone (made, then destroyed again) | kept (its original was
 * replaced: left paused) | not-restored;  any: failed | refused (its checkpoint is not
 * this group's) | unreachable (its host could not be asked). */
struct xlcp_group_result {
    char host[XLCP_GROUP_HOST_MAX]; /* "" for a group of this host alone */
    char dom_name[XLCP_NAME_MAX];
    char checkpoint_id[XLCP_ID_MAX];
    char outcome[16];
    int rc; /* 0, or the error of its step */
    char step[16];
    char msg[XLCP_ERR_MSG_MAX]; /* the cause when rc */
    uint32_t domid;             /* restore: the new domain */
    char new_name[XLCP_NAME_MAX];
};

enum xlcp_member_op {
    XLCP_MEMBER_STATUS,
    XLCP_MEMBER_VERIFY,
    XLCP_MEMBER_DELETE,
};
/* The protocol's and the messages' word for op: "status", "verify", "delete". */
const char *xlcp_member_op_name(enum xlcp_member_op op);

/* Sets a member's outcome; with rc, its step and cause (err's message). */
void xlcp_group_result_set(struct xlcp_group_result *r, const char *outcome, int rc,
                           const char *step, const char *msg);
/* Names every member of g in res[0..g->n-1], outcome "not-restored"/"" (none yet). */
void xlcp_group_results_init(const struct xlcp_group_manifest *g, struct xlcp_group_result *res);
/* The first member that failed as err ("group NAME (ID): [what: ]host H: domain 'D' step
 * S: cause", and how many others failed); its code, or 0 if none failed. */
int xlcp_group_results_error(const struct xlcp_group_manifest *g,
                             const struct xlcp_group_result *res, const char *what,
                             struct xlcp_err *err);

/* One member's checkpoint on this host: status, verify (flags as xlcp_verify) or delete,
 * each only if its manifest names group gid and domain uuid (never another's checkpoint:
 * "refused"). A checkpoint that is not there: XLCP_ENOTFOUND, outcome "missing" (delete:
 * "gone", and 0). Fills res (outcome, rc, step, msg); returns res->rc. */
int xlcp_engine_group_member(const struct xlcp_ports *p, enum xlcp_member_op op, const char *gid,
                             const char *uuid, const char *id, unsigned int flags,
                             struct xlcp_group_result *res);

/* op on every member of g: here, or across hosts through their agents. res[i] is member
 * i's (xlcp_group_results_init first). Returns 0 if every member could be asked about
 * (whatever the answers), else the error that stopped it. */
int xlcp_engine_group_members(const struct xlcp_ports *p, const struct xlcp_group_manifest *g,
                              enum xlcp_member_op op, unsigned int flags,
                              struct xlcp_group_result *res, struct xlcp_err *err);

/* The group of id_or_name (loaded into *g): its members' status / verified / deleted (the
 * group file too, once every member is deleted or gone; else it is kept and the error
 * names the members left). res[0..g->n-1]. 0, or the first member's error. */
int xlcp_engine_group_status(const struct xlcp_ports *p, const char *id_or_name,
                             struct xlcp_group_manifest *g, struct xlcp_group_result *res,
                             struct xlcp_err *err);
int xlcp_engine_group_verify(const struct xlcp_ports *p, const char *id_or_name, unsigned int flags,
                             struct xlcp_group_manifest *g, struct xlcp_group_result *res,
                             struct xlcp_err *err);
int xlcp_engine_group_delete(const struct xlcp_ports *p, const char *id_or_name,
                             struct xlcp_group_manifest *g, struct xlcp_group_result *res,
                             struct xlcp_err *err);

/*
 * A group's restore (engine_group_restore.c): every member restored paused beside its
 * original; only when all are, the originals replaced (with opts->replace), then all
 * unpaused back to back (unless opts->paused). A member that fails before the originals
 * are touched: every member made so far is destroyed again, the originals untouched.
 * With a link (an agent: the members of one host), each phase waits for the
 * coordinator's word; an error of the link (abort, the coordinator gone or silent) undoes
 * the same way (after the originals were replaced: those members are kept, paused).
 */
struct xlcp_group_restore_link {
    void *self;
    /* every member made, paused (res: domid, new_name): 0 on the coordinator's "commit" */
    int (*restored)(void *self, const struct xlcp_group_result *res, size_t n,
                    struct xlcp_err *err);
    /* every original replaced (if asked): 0 on its word, *unpause 1 to run them */
    int (*committed)(void *self, int *unpause, struct xlcp_err *err);
};
/* The members ids[i] of group gid (domain uuids[i]), on this host. */
int xlcp_engine_group_restore_run(const struct xlcp_ports *p, const char *gid,
                                  const char *const *ids, const char *const *uuids, size_t n,
                                  const xlcp_restore_options *opts,
                                  const struct xlcp_group_restore_link *link,
                                  struct xlcp_group_result *res, struct xlcp_err *err);
/* The group of id_or_name, here or across hosts. res[0..g->n-1]. */
int xlcp_engine_group_restore(const struct xlcp_ports *p, const char *id_or_name,
                              const xlcp_restore_options *opts, struct xlcp_group_manifest *g,
                              struct xlcp_group_result *res, struct xlcp_err *err);

/* Across hosts (group_coord_ops.c, group_coord_restore.c): the coordinator's side. */
int xlcp_engine_hosts_members(const struct xlcp_ports *p, const struct xlcp_group_manifest *g,
                              enum xlcp_member_op op, unsigned int flags,
                              struct xlcp_group_result *res, struct xlcp_err *err);
int xlcp_engine_hosts_restore(const struct xlcp_ports *p, const struct xlcp_group_manifest *g,
                              const xlcp_restore_options *opts, struct xlcp_group_result *res,
                              struct xlcp_err *err);

#endif
