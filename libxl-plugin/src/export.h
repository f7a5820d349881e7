/*
 * export.h - export of a checkpoint for backup tools (full, or thin-incremental against
 * an older checkpoint) and import of a chain of exports as a new checkpoint.
 *
 * An export directory holds manifest.xml (a copy), memory.xl (the xl save image, as
 * `xl restore` reads it), disks/<vdev>.img (sparse raw image) or disks/<vdev>.delta (the
 * changed blocks only, back to back) and export.xml, the index: every file's size and
 * digest, and for a delta its block map (offset, length) and the base export's id.
 *
 * The engine reaches volumes through struct xlcp_export_io: lvm_delta.c on LVM (thin_delta
 * on a metadata snapshot of the pool), fakes in the unit tests.
 */
#ifndef XLCP_EXPORT_H
#define XLCP_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"
#include "ports.h"

#define XLCP_EXPORT_INDEX "export.xml"
#define XLCP_EXPORT_FORMAT 1

/* A run of changed bytes of a volume. */
struct xlcp_extent {
    uint64_t offset;
    uint64_t length;
};

struct xlcp_export_io_ops {
    /* Opens a snapshot volume read-only (activating it if needed; close undoes that). */
    int (*open_snap)(void *self, const struct xlcp_snapshot *snap, int *fd_out,
                     struct xlcp_err *err);
    void (*close_snap)(void *self, const struct xlcp_snapshot *snap, int fd);
    /* The byte ranges that differ between two thin snapshots of one origin in one pool
     * (malloc'd, sorted, caller frees). */
    int (*changed)(void *self, const struct xlcp_snapshot *older, const struct xlcp_snapshot *newer,
                   struct xlcp_extent **out, size_t *n, struct xlcp_err *err);
    /* Makes a new volume `lv` of `size` bytes in vg, thin in `pool` if that pool exists
     * (else thick), tagged `tag`; writes its path and whether it reads as zeros. */
    int (*create)(void *self, const char *vg, const char *pool, const char *lv, uint64_t size,
                  const char *tag, struct xlcp_snapshot *out, int *zeroed, struct xlcp_err *err);
    /* Makes a volume made by create read-only. */
    int (*seal)(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err);
    /* Removes a volume made by create. */
    int (*remove)(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err);
};

struct xlcp_export_io {
    const struct xlcp_export_io_ops *ops;
    void *self;
};

/* One file of an export, as the index lists it. */
struct xlcp_export_file {
    char name[80]; /* relative: manifest.xml, memory.xl, disks/xvda.img */
    uint64_t size;
    char digest[XLCP_DIGEST_HEX + 1];
};

struct xlcp_export_disk {
    char vdev[XLCP_VDEV_MAX];
    int delta;     /* 0: full image, 1: changed blocks since the base */
    uint64_t size; /* the volume's size in bytes */
    char file[80];
    size_t nextents;
    struct xlcp_extent *extents; /* delta: where each run of the file goes (malloc'd) */
};

struct xlcp_export_index {
    int format;
    char id[XLCP_ID_MAX];      /* the checkpoint exported */
    char base_id[XLCP_ID_MAX]; /* empty for a full export */
    char dom_name[XLCP_NAME_MAX];
    char dom_uuid[XLCP_UUID_LEN + 1];
    char digest_alg[XLCP_DIGEST_ALG_MAX];
    int nfiles;
    struct xlcp_export_file files[XLCP_MAX_DISKS + 2];
    int ndisks;
    struct xlcp_export_disk disks[XLCP_MAX_DISKS];
};

void xlcp_export_index_free(struct xlcp_export_index *ix); /* members, not ix */
int xlcp_export_index_write(const struct xlcp_export_index *ix, const char *path,
                            struct xlcp_err *err);
/* Reads and checks the index (shape, names, extents in order and inside the volume,
 * extents' total = the delta file's size). XLCP_ECORRUPT with the cause. */
int xlcp_export_index_read(const char *path, struct xlcp_export_index *ix, struct xlcp_err *err);
const struct xlcp_export_file *xlcp_export_index_file(const struct xlcp_export_index *ix,
                                                      const char *name);

/* thin_delta's XML (lvm_delta.c): the changed ranges (different, left_only, right_only)
 * in bytes, merged and sorted; malloc'd. */
int xlcp_thin_delta_parse(const char *xml, size_t len, struct xlcp_extent **out, size_t *n,
                          struct xlcp_err *err);
/* The LVM implementation of the io. */
int xlcp_export_io_lvm_open(struct xlcp_export_io *out, struct xlcp_err *err);
void xlcp_export_io_lvm_close(struct xlcp_export_io *io);

/* The io that xlcp_export and xlcp_import use on a context over caller-owned ports (unit
 * tests); NULL: they refuse there. Contexts on the real adapters always use LVM. */
extern const struct xlcp_export_io *xlcp_export_io_for_tests;

/* Progress of a long copy: bytes done of total. */
typedef void (*xlcp_export_progress_fn)(uint64_t done, uint64_t total, void *arg);

struct xlcp_export_stats {
    uint64_t bytes;      /* bytes of the export's files (apparent size) */
    uint64_t disk_bytes; /* of those, the disk images' or deltas' bytes */
    uint64_t data_bytes; /* bytes written to disk images (non-zero blocks) */
};

/* Exports checkpoint `id` (incremental against `since` if not NULL) into the new
 * directory `dir` (written under a temporary name, fsync'd, renamed). */
int xlcp_engine_export(const struct xlcp_ports *p, const struct xlcp_export_io *io, const char *id,
                       const char *since, const char *dir, xlcp_export_progress_fn progress,
                       void *parg, struct xlcp_export_stats *stats, struct xlcp_err *err);

/* Imports a full export and a chain of incrementals (oldest first) as a new checkpoint
 * (its id in id_out); new_name (if not NULL) becomes the domain name it restores as. */
int xlcp_engine_import(const struct xlcp_ports *p, const struct xlcp_export_io *io,
                       const char *const *dirs, int ndirs, const char *new_name,
                       xlcp_export_progress_fn progress, void *parg, char id_out[XLCP_ID_MAX],
                       struct xlcp_err *err);

#endif
