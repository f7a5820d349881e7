/*
 * group_conn.h - the coordinator's connections to the agents of a group across hosts
 * (libxl-plugin/man/group-agent.md): one per host, over the transport (ssh); started
 * together, told a word together, and their answers to a phase collected together with
 * a time limit. Used by every coordinator: create (group_coord.c), status, verify and
 * delete (group_coord_ops.c), restore (group_coord_restore.c).
 */
#ifndef XLCP_GROUP_CONN_H
#define XLCP_GROUP_CONN_H

#include "group_manifest.h"
#include "group_proto.h"
#include "group_transport.h"

struct xlcp_host {
    char name[XLCP_GROUP_HOST_MAX];
    struct xlcp_transport t;
    struct xlcp_proto io;
    size_t member[XLCP_GROUP_MAX]; /* indices into the group's members */
    size_t n;
    unsigned int version; /* of the protocol its agent speaks (its hello) */
    int64_t offset_ns;    /* create: its clock */
    uint64_t rtt_ns;
    uint64_t est_ns;
    size_t reported; /* members it reported in the current phase */
    int answered;    /* answered the current phase */
    int gone;        /* said fail or closed: nothing more is sent to it */
    int rc;          /* a phase collected leniently: why it failed (0: it did not) */
    char why[XLCP_ERR_MSG_MAX];
};

struct xlcp_hosts {
    struct xlcp_host h[XLCP_GROUP_MAX];
    size_t nh;
    const char *group; /* the group's name, for messages */
    unsigned int phase_wait_ms;
};

/* The hosts of a group: empty, the phase bound from XLCP_GROUP_PHASE_WAIT_MS (120 s). */
void xlcp_hosts_init(struct xlcp_hosts *hs, const char *group);
/* The host named host (added if new); member i of the group is on it. NULL if full. */
struct xlcp_host *xlcp_hosts_add(struct xlcp_hosts *hs, const char *host, size_t i);
/* Runs every host's agent and waits for each hello (60 s). A host whose agent speaks a
 * protocol older than min_version fails (XLCP_EUNSUPPORTED). lenient: a host that fails is
 * marked (rc, why, gone) and the others go on; else the first failure is returned. */
int xlcp_hosts_start(struct xlcp_hosts *hs, unsigned int min_version, int lenient,
                     struct xlcp_err *err);
/* Says word to every agent still there (best effort: one that is gone aborts alone). */
void xlcp_hosts_tell(struct xlcp_hosts *hs, const char *word);

/* A host's answer to a phase, line by line: 1 when it is complete, 0 for more, or an
 * error. "fail CODE MESSAGE" (the agent's own failure) is handled by collect. */
typedef int (*xlcp_on_line_fn)(void *arg, struct xlcp_host *h, char **w, int nw,
                               struct xlcp_err *err);
struct xlcp_collect {
    xlcp_on_line_fn on_line;
    void *arg;
    const char *what;       /* the phase, for messages */
    uint64_t deadline_ms;   /* xlcp_proto_now_ms() time by which every host has answered */
    unsigned int rule_ms;   /* > 0: at most this long after the first host's answer */
    unsigned int extend_ms; /* > 0: each line heard moves the deadline to at least now + this */
    int lenient;            /* a host that fails is marked, the others go on */
    /* > 0: on_tick(arg, hs) every tick_ms while the phase lasts (a word to the hosts
     * that answered already and wait for the others: "wait") */
    unsigned int tick_ms;
    void (*on_tick)(void *arg, struct xlcp_hosts *hs);
};
/* Waits until every host still there has answered. 0, or the first failure (not lenient). */
int xlcp_hosts_collect(struct xlcp_hosts *hs, const struct xlcp_collect *how, struct xlcp_err *err);
/* Marks h failed with err's cause (lenient phases). */
void xlcp_host_failed(struct xlcp_host *h, const struct xlcp_err *err);
/* Closes every transport: each agent sees its end of input; waits for it to end (at most
 * the phase bound and 15 s), then kills the transport. */
void xlcp_hosts_close(struct xlcp_hosts *hs);

#endif
