/*
 * group_manifest.h - the manifest of a group checkpoint (group.xml): its members'
 * checkpoints, taken at one instant, and when each member stopped and resumed.
 * Validated against libxl-plugin/schema/group.rng (compiled in) on every write and read.
 */
#ifndef XLCP_GROUP_MANIFEST_H
#define XLCP_GROUP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "ports.h"

#define XLCP_GROUP_MAX 16      /* members of one group */
#define XLCP_GROUP_NAME_MAX 64 /* [A-Za-z0-9._-]{1,63} */
#define XLCP_GROUP_CLOCK "dom0-monotonic"
/* A group across hosts: every instant on the coordinator's CLOCK_MONOTONIC, each host's
 * own instants moved onto it by that host's measured offset. */
#define XLCP_GROUP_CLOCK_HOSTS "coordinator-monotonic"
#define XLCP_GROUP_HOST_MAX 64 /* a host name as the member names it */

struct xlcp_group_member {
    char dom_name[XLCP_NAME_MAX];
    char dom_uuid[XLCP_UUID_LEN + 1];
    char checkpoint_id[XLCP_ID_MAX];
    uint64_t stopped_ns; /* instants on the group's clock (clock port's now_ns) */
    uint64_t resumed_ns;
    uint64_t waited_ns;             /* stopped and captured, waiting for the other members */
    uint64_t start_delay_ns;        /* its copy started this much after the group's first */
    char host[XLCP_GROUP_HOST_MAX]; /* "" on a group of one host */
    int has_deviation;              /* the group had a time to stop at */
    int64_t deviation_ns;           /* its stop minus that time (positive: late) */
};

/* A host of a group across hosts, as the coordinator measured its clock. */
struct xlcp_group_host {
    char name[XLCP_GROUP_HOST_MAX];
    int64_t offset_ns; /* its CLOCK_REALTIME minus the coordinator's */
    uint64_t rtt_ns;   /* the round trip of the exchange the offset comes from */
};

struct xlcp_group_manifest {
    char id[XLCP_ID_MAX];
    char name[XLCP_GROUP_NAME_MAX];
    char created[40];
    char tool_version[32];
    char clock[32];           /* XLCP_GROUP_CLOCK */
    uint64_t skew_ns;         /* max - min of the stop instants */
    uint64_t longest_stop_ns; /* max of resumed - stopped */
    uint64_t total_ns;
    int64_t at_ns; /* the time to stop at, ns since the epoch (coordinator's clock); 0: none */
    int n;
    struct xlcp_group_member members[XLCP_GROUP_MAX];
    int nhosts; /* 0: one host */
    struct xlcp_group_host hosts[XLCP_GROUP_MAX];
};

/* 1 if name is a valid group name. */
int xlcp_group_name_ok(const char *name);
/* Fills skew_ns and longest_stop_ns from the members' instants. */
void xlcp_group_manifest_measure(struct xlcp_group_manifest *g);
/* RFC 3339 (UTC, to the microsecond) of a time in ns since the epoch. */
void xlcp_group_rfc3339(int64_t ns, char *out, size_t len);
/* Serialises (validated) into a malloc'd string: version 2 (version 1 files still read). */
int xlcp_group_manifest_to_xml(const struct xlcp_group_manifest *g, char **xml_out,
                               struct xlcp_err *err);
/* Parses and validates; `what` names the source in messages (XLCP_ECORRUPT). */
int xlcp_group_manifest_parse(const char *xml, const char *what, struct xlcp_group_manifest *g,
                              struct xlcp_err *err);

#endif
