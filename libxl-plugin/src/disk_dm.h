/*
 * disk_dm.h - the few device-mapper operations the LVM adapter needs inside the guest's
 * pause, where LVM's command line (a process, a metadata commit, udev) is far too slow,
 * and the guardian that undoes them if we die half-way. Private to the LVM adapter (lvm.h).
 */
#ifndef XLCP_DISK_DM_H
#define XLCP_DISK_DM_H

#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "guardian.h"

/* Block device number of a path (a device node), or an error naming it. */
int xlcp_dm_devno(const char *path, dev_t *out, struct xlcp_err *err);

/* Suspends a device (in-flight I/O completes, new I/O waits) / resumes it. */
int xlcp_dm_suspend(dev_t dev, struct xlcp_err *err);
int xlcp_dm_resume(dev_t dev, struct xlcp_err *err);
/* 1 if suspended, 0 if active, <0 on error. */
int xlcp_dm_is_suspended(dev_t dev, struct xlcp_err *err);
/* Sends a target message (sector 0), e.g. a thin pool's "create_snap 3 1". */
int xlcp_dm_message(dev_t dev, const char *msg, struct xlcp_err *err);
/* For a thin volume's device: its pool device and its device id in that pool.
 * XLCP_EUNSUPPORTED if the device's table is not one thin target. */
int xlcp_dm_thin_info(dev_t dev, dev_t *pool_out, uint32_t *id_out, struct xlcp_err *err);

/* What a hold check needs of a device: whether it is suspended, its event counter, and
 * the writes and discards that completed on it (the block layer's counters,
 * /sys/dev/block/<maj>:<min>/stat): while a hold is intact none can complete. */
struct xlcp_dm_state {
    int suspended;
    uint32_t event_nr;
    uint64_t writes, write_sectors, discards;
};
int xlcp_dm_state(dev_t dev, struct xlcp_dm_state *out, struct xlcp_err *err);
/* Flushes a block device (open + fsync), e.g. to make a thin pool commit its metadata. */
int xlcp_dm_flush(const char *path, struct xlcp_err *err);

/* A thick snapshot's switch (lvm_thick.c): */
/* A device's table (status=0) or status (1): one "start length type params" line per
 * target, joined by '\n'. */
int xlcp_dm_table(dev_t dev, int status, char *buf, size_t len, struct xlcp_err *err);
/* Creates device `name` (uuid NULL: none) with `table` (lines as above) and activates it. */
int xlcp_dm_create(const char *name, const char *uuid, const char *table, dev_t *out,
                   struct xlcp_err *err);
/* Loads an inactive table (a resume makes it live); clears an inactive table. */
int xlcp_dm_load(dev_t dev, const char *table, struct xlcp_err *err);
int xlcp_dm_clear(dev_t dev, struct xlcp_err *err);
/* Removes a device (not open, not suspended with I/O waiting). */
int xlcp_dm_remove(dev_t dev, struct xlcp_err *err);
/* The device with this uuid (by_name: name): 1 found (*out), 0 none, <0 error. */
int xlcp_dm_lookup(const char *id, int by_name, dev_t *out, struct xlcp_err *err);
/* Writes zeros over the first `bytes` (a multiple of 4096) of a device, O_DIRECT, through a
 * device node of our own made in `dir` (no udev involved; a file system that allows
 * device nodes: /dev, not /run, which is mounted nodev), and flushes. */
int xlcp_dm_zero(dev_t dev, const char *dir, unsigned bytes, struct xlcp_err *err);

/* The operations above as a table, so that unit tests can put fakes behind the adapter
 * (xlcp_dm_real: the functions above). */
struct xlcp_dm_ops {
    int (*devno)(const char *path, dev_t *out, struct xlcp_err *err);
    int (*suspend)(dev_t dev, struct xlcp_err *err);
    int (*resume)(dev_t dev, struct xlcp_err *err);
    int (*is_suspended)(dev_t dev, struct xlcp_err *err);
    int (*state)(dev_t dev, struct xlcp_dm_state *out, struct xlcp_err *err);
    int (*message)(dev_t dev, const char *msg, struct xlcp_err *err);
    int (*thin_info)(dev_t dev, dev_t *pool_out, uint32_t *id_out, struct xlcp_err *err);
    int (*flush)(const char *path, struct xlcp_err *err);
    int (*table)(dev_t dev, int status, char *buf, size_t len, struct xlcp_err *err);
    int (*create)(const char *name, const char *uuid, const char *table, dev_t *out,
                  struct xlcp_err *err);
    int (*load)(dev_t dev, const char *table, struct xlcp_err *err);
    int (*clear)(dev_t dev, struct xlcp_err *err);
    int (*remove)(dev_t dev, struct xlcp_err *err);
    int (*lookup)(const char *id, int by_name, dev_t *out, struct xlcp_err *err);
    int (*zero)(dev_t dev, const char *dir, unsigned bytes, struct xlcp_err *err);
};
extern const struct xlcp_dm_ops xlcp_dm_real;

/*
 * The guardian (guardian.h): a helper process that, if we die (even by SIGKILL) between a
 * capture and its completion, lets held writes flow again (resumes the devices we
 * suspended) and puts back a thin volume whose re-pointing was cut short. We tell it what
 * is in progress; a clean stop says there is nothing to undo. (disk_lvm.c knows it by
 * this name.)
 */
#define xlcp_dm_guardian xlcp_guardian

int xlcp_dm_guardian_start(struct xlcp_dm_guardian *g, struct xlcp_err *err);
/* Devices suspended by us (held) and no longer (released). */
void xlcp_dm_guardian_held(struct xlcp_dm_guardian *g, dev_t dev);
void xlcp_dm_guardian_released(struct xlcp_dm_guardian *g, dev_t dev);
/* A thin device id being turned from a plain volume into a snapshot, and done. */
void xlcp_dm_guardian_repoint(struct xlcp_dm_guardian *g, dev_t pool, uint32_t id);
void xlcp_dm_guardian_repointed(struct xlcp_dm_guardian *g, dev_t pool, uint32_t id);
/* Nothing left to undo: the guardian exits. */
void xlcp_dm_guardian_stop(struct xlcp_dm_guardian *g);

#endif
