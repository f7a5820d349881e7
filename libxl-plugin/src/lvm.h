/*
 * lvm.h - what the files of the LVM adapter share; private to them.
 *
 *   lvm_run.c      runs `lvm <subcommand>` under a watchdog
 *   lvm_parse.c    names, tags, sizes and `lvs` output
 *   lvm_volumes.c  the port's volume operations (inspect, space, remove, clone)
 *   disk_lvm.c     the port itself and its snapshot mechanics (arm, capture, complete)
 *   disk_dm.c      device-mapper ioctls and the guardian
 */
#ifndef XLCP_LVM_H
#define XLCP_LVM_H

#include <stdint.h>
#include <sys/types.h>

#include "disk_dm.h"
#include "ports.h"

#define LVM_OUT_MAX (64 * 1024)
#define LVM_TAG_PREFIX "xlcp-"
#define LVM_CLONE_TAG "xlcp-restored"

/* ---- the runner (lvm_run.c) --------------------------------------------------------- */

struct lvm_runner {
    char bin[XLCP_PATH_MAX]; /* $XLCP_LVM or "lvm" */
    unsigned timeout_s;      /* the watchdog: $XLCP_LVM_TIMEOUT, default 120 */
};

struct lvm_result {
    int status; /* exit status, or -1 if killed */
    char out[LVM_OUT_MAX];
    size_t outlen;
    char errtext[LVM_OUT_MAX];
    size_t errlen;
};

uint64_t xlcp_lvm_mono_ns(void);
/* Last non-empty line of stderr, trimmed, for error messages. */
const char *xlcp_lvm_last_line(struct lvm_result *r);
/* Runs `lvm args...` under the watchdog. 0 if it ran and exited 0; otherwise an error
 * (XLCP_EDISK with its stderr, XLCP_ETIMEDOUT). With `quiet_fail`, a non-zero exit is
 * returned as 1 without setting err (the caller inspects r). */
int xlcp_lvm_run(const struct lvm_runner *run, char *const args[], struct lvm_result *r,
                 int quiet_fail, struct xlcp_err *err);
/* The same with a result of its own, for commands whose output does not matter. */
int xlcp_lvm_run_simple(const struct lvm_runner *run, char *const args[], struct xlcp_err *err);

/* ---- names and lvs (lvm_parse.c) ----------------------------------------------------- */

int xlcp_lvm_valid_name(const char *s);
int xlcp_lvm_valid_tag(const char *s);
/* A configured disk target (phy:/dev/vg/lv, /dev/mapper/vg-lv) to its VG and LV names. */
int xlcp_lvm_parse_target(const char *target, char *vg, char *lv);
void xlcp_lvm_trim(char *s);
/* Splits one "a|b|c" line into at most max fields (in place). */
int xlcp_lvm_split_fields(char *line, char **f, int max);
/* 1 if one of the comma-separated tags is ours. */
int xlcp_lvm_has_our_tag(const char *tags);
/* Bytes of the COW area for a thick snapshot of `size` bytes under `policy`. */
int xlcp_lvm_cow_bytes(const char *policy, uint64_t size, uint64_t *out, struct xlcp_err *err);

struct lvinfo {
    char vg[XLCP_NAME_MAX];
    char lv[XLCP_NAME_MAX];
    uint64_t size;
    char segtype[32];
    char pool[XLCP_NAME_MAX];
    char tags[256];
    char origin[XLCP_NAME_MAX];
    uint64_t thin_id; /* 0 if not a thin volume */
    uint64_t vg_free;
};

/* lvs of one volume: 1 found, 0 absent, <0 error. */
int xlcp_lvm_lv_info(const struct lvm_runner *run, const char *vg, const char *lv,
                     struct lvinfo *out, struct xlcp_err *err);

/* ---- the adapter's state (disk_lvm.c) ------------------------------------------------ */

/* What the adapter knows of a snapshot between arm and complete. */
struct pending {
    int used;
    char vg[XLCP_NAME_MAX];
    char lv[XLCP_NAME_MAX]; /* the snapshot */
    char tag[128];
    int thin;
    dev_t origin; /* the origin's device */
    dev_t pool;   /* thin: the pool's device */
    uint32_t id;  /* thin: the armed volume's device id in the pool */
    uint32_t origin_id;
    char cow[32]; /* thick: COW size argument for lvcreate */
    int held;     /* thick: the origin is suspended by us */
    uint64_t held_at_ns;
};

struct lvm {
    struct lvm_runner run;
    char devdir[XLCP_PATH_MAX]; /* /dev, overridable for tests ($XLCP_LVM_DEVDIR) */
    struct pending pend[XLCP_MAX_DISKS];
    struct xlcp_dm_guardian guard;
};

/* Lets held writes flow again after a capture (lvm_release in disk_lvm.c). */
int xlcp_lvm_release(void *self, struct xlcp_snapshot *snap, struct xlcp_err *err);
struct pending *xlcp_lvm_pending_of(struct lvm *l, const struct xlcp_snapshot *snap);

/* ---- volume operations of the port (lvm_volumes.c) ----------------------------------- */

int xlcp_lvm_inspect(void *self, const char *target, struct xlcp_volume *out, struct xlcp_err *err);
int xlcp_lvm_check_space(void *self, const struct xlcp_volume *vols, int n, const char *policy,
                         struct xlcp_err *err);
int xlcp_lvm_remove(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err);
int xlcp_lvm_exists(void *self, const struct xlcp_snapshot *snap, struct xlcp_err *err);
int xlcp_lvm_clone(void *self, const struct xlcp_snapshot *snap, const char *new_lv, char *path_out,
                   size_t path_len, struct xlcp_err *err);
int xlcp_lvm_remove_tagged(void *self, const char *tag, struct xlcp_err *err);

#endif
