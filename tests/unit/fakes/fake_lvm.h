/*
 * fake_lvm.h - an in-process LVM and device-mapper for unit tests of the LVM adapter
 * (libxl-plugin/src/disk_lvm.c and the files lvm.h lists): the adapter runs its LVM
 * commands and ioctls against these tables instead of the machine's.
 *
 * LVM commands understood: lvs (one volume with LVM_INFO_FIELDS, or "@tag"), lvcreate
 * (-n, -V, -T, -L, -s, -an, -pr, -ky, -kn, -p rw, --addtag), lvremove, lvchange -an,
 * lvconvert -s (which, like LVM, takes a prepared snapshot layout over: see fake_lvm.c). Every
 * command line is appended to `cmds` (one per line). Device-mapper: devices are created for active
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
    char table[256], inactive[256]; /* loaded tables; "" live: its own linear table */
};

/* a device-mapper device that is no LV's (made through the dm ops, or by lvconvert) */
struct fdm_dev {
    int used, suspended, zeroed, resumes;
    int invalid; /* a snapshot that handed its exceptions over */
    char name[160], uuid[128], table[256], inactive[256];
};
#define FDM_MAX 16

struct flvm {
    struct flvm_lv lv[FLVM_MAX];
    uint64_t vg_free;
    uint32_t next_thin_id;
    char cmds[8192];
    char msgs[2048]; /* thin pool messages, one per line */
    struct fdm_dev dm[FDM_MAX];
    char fail_cmd[32];           /* an LVM subcommand (argv[1]) that fails, "" none */
    int no_handover;             /* lvconvert's snapshot does not take the exceptions over */
    int resume_tmp_on_lvconvert; /* someone resumes every suspended non-LVM device first */
    char fail_dm[16]; /* a dm op that fails: "load", "create", "remove", "zero", "" none */
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
/* A device that is no LV's, by name; NULL if none. Count of such devices. */
struct fdm_dev *fake_dm_find(struct flvm *f, const char *name);
int fake_dm_count(struct flvm *f);
void fake_lvm_unblock(struct flvm *f);
/* Shared by fake_lvm.c and fake_dm.c (not for tests): */
#define FAKE_MAJOR 4000             /* no real device has it */
extern struct flvm *fake_lvm_world; /* the dm ops have no context argument */
struct fdm_dev *fake_dm_by_uuid(struct flvm *f, const char *uuid);
struct fdm_dev *fake_dm_new(struct flvm *f, const char *name, const char *uuid, const char *table);
void fake_lv_table(struct flvm *f, const struct flvm_lv *v, char *out, size_t len);
int fake_split_vglv(const char *s, char *vg, size_t vl, char *lv, size_t ll);
int fake_lvm_run(void *arg, char *const argv[], struct lvm_result *r);

/* The adapter over f: XLCP_LVM_DEVDIR is "/fake". */
int fake_lvm_open(struct flvm *f, struct xlcp_disk *out, struct xlcp_err *err);

#endif
