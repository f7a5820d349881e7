/*
 * cpinfo.h - everything the CLI shows about one checkpoint, gathered from the public
 * accessors of xlcheckpoint.h.
 */
#ifndef XLCP_CLI_CPINFO_H
#define XLCP_CLI_CPINFO_H

#include <stddef.h>
#include <stdint.h>

#include "xlcheckpoint.h"

#define CLI_MAX_DISKS 16

struct cli_disk {
    char vdev[32];
    char origin[512];   /* origin volume (or configured target) */
    char snapshot[512]; /* snapshot volume path, "" when skipped */
    int thin;           /* -1 unknown */
    int skipped;
    uint64_t size_bytes; /* 0 unknown */
    uint64_t held_ns;    /* guest's writes held back while the snapshot was finished; 0 none */
};

struct cli_cp {
    /* from the accessors; valid as long as the xlcp_checkpoint */
    const char *id;
    const char *domain;
    const char *domain_uuid;
    const char *created;
    const char *dir;
    uint64_t memory_bytes;
    uint64_t downtime_ns;
    size_t ndisks;
    /* from the manifest XML; "" / -1 when absent */
    char label[256];
    char suspend_path[32];
    char group_id[XLCP_ID_MAX];
    int live;
    int quiesced;
    int64_t total_ns;
    uint64_t guest_downtime_ns; /* measured by the guest module; 0 unknown */
    size_t nxdisks;             /* disks described in the manifest (<= CLI_MAX_DISKS) */
    struct cli_disk disks[CLI_MAX_DISKS];
};

/* Fills *info from cp. Never fails: fields the manifest lacks stay unknown. */
void cli_cp_describe(const xlcp_checkpoint *cp, struct cli_cp *info);

#endif
