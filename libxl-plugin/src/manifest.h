/*
 * manifest.h - the manifest of one checkpoint: what it holds and how it was taken.
 *
 * Written as manifest.xml (libxml2), validated against libxl-plugin/schema/manifest.rng
 * on every write and every read. The schema is compiled into the library, so validation
 * does not depend on installed files.
 */
#ifndef XLCP_MANIFEST_H
#define XLCP_MANIFEST_H

#include <stdint.h>

#include "digest.h"
#include "ports.h"

#define XLCP_MANIFEST_FILE "manifest.xml"
#define XLCP_MEMORY_FILE "memory.xl"

struct xlcp_manifest_disk {
    struct xlcp_volume origin;
    struct xlcp_snapshot snap;
    int skipped; /* not LVM and skipped on request: nothing was captured */
};

struct xlcp_manifest {
    char id[XLCP_ID_MAX];
    char name[XLCP_NAME_MAX]; /* user label, may be empty */
    char created[40];         /* ISO 8601 UTC, e.g. 2026-11-24T19:13:42.123Z */
    char group_id[XLCP_ID_MAX];
    char tool_version[32];
    char xen_version[64];

    /* domain */
    char dom_name[XLCP_NAME_MAX];
    char dom_uuid[XLCP_UUID_LEN + 1];
    uint32_t domid;
    uint64_t memory_kib;
    char *config_json; /* libxl JSON, malloc'd */

    /* how it was taken */
    int live;               /* memory copied while the guest ran (pre-copy) */
    char live_note[256];    /* why not, when asked and not done */
    int quiesced;           /* filesystems were frozen */
    char quiesce_note[256]; /* why not, when asked and not done */
    char suspend_path[16];  /* light | stock */
    char consistency[32];   /* "quiesced" or "crash-consistent" */

    /* memory image */
    char memory_file[64];
    uint64_t memory_bytes;
    char memory_digest[XLCP_DIGEST_HEX + 1];
    char memory_digest_alg[XLCP_DIGEST_ALG_MAX]; /* digest.h: "xxh3-128", ... */
    /* the opt-in page store (engine_pagestore.c): map name (empty: not stored), the
     * directory the store is in (absolute; empty in manifests of before version 2), the
     * stream's bytes, the bytes the store added for it (packs and map), its pfns; or why
     * it was not stored. memory_file empty: the image is in the store only (map and root
     * set; memory_bytes and memory_digest are the stream's as received). */
    char pagestore_map[XLCP_ID_MAX];
    char pagestore_root[XLCP_PATH_MAX];
    uint64_t pagestore_received, pagestore_stored, pagestore_pfns;
    char pagestore_note[256];

    int ndisks;
    struct xlcp_manifest_disk disks[XLCP_MAX_DISKS];

    /* timings: ns from the start of prepare, per step; 0 duration if not run */
    uint64_t step_start_ns[XLCP_STEP__COUNT];
    uint64_t step_ns[XLCP_STEP__COUNT];
    uint64_t downtime_ns;       /* dom0-side: guest stopped -> resumed */
    uint64_t guest_downtime_ns; /* reported by the guest module, 0 if unknown */
    uint64_t total_ns;
    /* create --at: the time to stop at (ns since the epoch, 0: none) and the stop's
     * deviation from it (positive: late) */
    int64_t at_ns;
    int64_t deviation_ns;
};

void xlcp_manifest_init(struct xlcp_manifest *m);
/* 1 if the memory image is held by the page store alone (no memory file). */
int xlcp_manifest_memory_in_store(const struct xlcp_manifest *m);
void xlcp_manifest_free(struct xlcp_manifest *m); /* frees members, not m */

/* Serialises and validates; writes the XML to fd (not closed, not fsync'd). */
int xlcp_manifest_write_fd(const struct xlcp_manifest *m, int fd, struct xlcp_err *err);
/* Serialises to a malloc'd NUL-terminated string. */
int xlcp_manifest_to_xml(const struct xlcp_manifest *m, char **xml_out, struct xlcp_err *err);
/* Reads, validates and parses manifest.xml at path. XLCP_ECORRUPT with the file name
 * and the cause on any problem. */
int xlcp_manifest_read(const char *path, struct xlcp_manifest *m, struct xlcp_err *err);

/* Validates a libxml2 document (xmlDocPtr) against the RelaxNG schema text rng;
 * XLCP_ECORRUPT naming `what` and the first violation. */
int xlcp_xml_validate(void *xml_doc, const char *rng, const char *what, struct xlcp_err *err);

#endif
