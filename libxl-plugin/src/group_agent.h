/*
 * group_agent.h - the agent of a group across hosts, shared by its files: group_agent.c
 * (the session: hello, what the coordinator wants, create) and group_agent_ops.c (the
 * catalog: status, verify, delete; and restore). Private to the agent.
 */
#ifndef XLCP_GROUP_AGENT_H
#define XLCP_GROUP_AGENT_H

#include "engine.h"
#include "group_manifest.h"
#include "group_proto.h"

/* How long the agent waits for each line of the coordinator's setup (and between two
 * requests of a catalog session). */
#define XLCP_AGENT_SETUP_WAIT_MS 60000

struct agent {
    struct xlcp_proto io;
    const struct xlcp_ports *p;
    const struct xlcp_agent_ports *ap;
    int opened; /* ap's ports are open */
    char id[XLCP_ID_MAX];
    char name[XLCP_GROUP_NAME_MAX];
    unsigned int max_wait_ms;
    unsigned int phase_wait_ms;
    xlcp_create_options copts;
    char snapshot_size[32];
    char domains[XLCP_GROUP_MAX][256];
    size_t n;
};

/* The coordinator's next line, split: its first word must be one of `want` (a
 * space-separated list); "abort" is an error, as is anything else. */
int xlcp_agent_expect(struct agent *a, int timeout_ms, const char *want, char *line, char **w,
                      int max, int *nw, struct xlcp_err *err);
/* A protocol number that fits an unsigned int: 0, or -1. */
int xlcp_agent_uint(const char *s, unsigned int *v);
/* n members' ports with the adapters need says (XLCP_AGENT_NEED_*); closed at the end. */
int xlcp_agent_open(struct agent *a, size_t n, unsigned int need, const struct xlcp_ports **mports,
                    struct xlcp_err *err);
/* After "catalog": serves status, verify and delete requests until "end". */
int xlcp_agent_catalog(struct agent *a, struct xlcp_err *err);
/* After "restore ..." (its words w): this host's members restored, on the coordinator's
 * word. */
int xlcp_agent_restore(struct agent *a, char **w, int nw, struct xlcp_err *err);

#endif
