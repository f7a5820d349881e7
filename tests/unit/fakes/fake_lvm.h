/*
 * fake_lvm.h - an in-process LVM and device-mapper for unit tests of the LVM adapter
 * (libxl-plugin/src/disk_lvm.c and the files lvm.h lists): the adapter runs its LVM
 * commands and ioctls against these tables instead of the machine's.
 *
 * LVM commands understood: lvs (one volume with LVM_INFO_FIELDS, or "@tag"), lvcreate
 * (-n, -V, -T, -L, -s, -an, -pr, -ky, -kn, -p rw, --addtag), lvremove. Every command line
 * is appended to `cmds` (one per line). Device-mapper: devices are created for active
 * volumes (by path <devdir>/<vg>/<lv>), and a suspend can be made to block.
 */
#ifndef XLCP_FAKE_LVM_H
#define XLCP_FAKE_LVM_H

#include <pthread.h>

#include "lvm.h"

#define FLVM_MAX 24

struct flvm_lv {
    int used;
    char vg[32], lv[64], segtype[16], pool[64], tags[128], origin[64], attr[16];
    uint64_t size, thin_id;
    double data_pct, meta_pct;
    /* its device-mapper device */
    int suspended;
    uint32_t event_nr;
    uint64_t writes;
    int resumes;
};

struct flvm {
    struct flvm_lv lv[FLVM_MAX];
    uint64_t vg_free;
    uint32_t next_thin_id;
    char cmds[8192];
    char msgs[2048]; /* thin pool messages, one per line */
    /* suspend blocks while block_suspend is set (until fake_lvm_unblock) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int block_suspend;
};

/* The world the fake dm ops act on (one at a time). */
struct flvm *fake_lvm_new(void);
void fake_lvm_free(struct flvm *f);
struct flvm_lv *fake_lvm_add(struct flvm *f, const char *vg, const char *lv, const char *segtype,
                             uint64_t size);
struct flvm_lv *fake_lvm_find(struct flvm *f, const char *vg, const char *lv);
void fake_lvm_unblock(struct flvm *f);
/* The adapter over f: XLCP_LVM_DEVDIR is "/fake". */
int fake_lvm_open(struct flvm *f, struct xlcp_disk *out, struct xlcp_err *err);

#endif
