/*
 * store_fs.h - what the files of the file-system catalog share: store_fs.c (the
 * checkpoints, the lock), store_intent.c (intent records, suspend marks, leftovers) and
 * store_paths.c (names and directories). Private to the store adapter.
 */
#ifndef XLCP_STORE_FS_H
#define XLCP_STORE_FS_H

#include "ports.h"

#include <stddef.h>

struct fs {
    char root[XLCP_PATH_MAX];
};

/* ---- store_paths.c ---- */

/* 1 if `id` is a safe single path component (checkpoint ids, uuids, file names). */
int xlcp_fs_id_ok(const char *id);
int xlcp_fs_mkdir_p(const char *path, struct xlcp_err *err);
/* fsync of a directory (what was renamed or created in it is durable). */
int xlcp_fs_fsync_dir(const char *path, struct xlcp_err *err);
/* Removes dirfd/name, a file or a directory tree. */
void xlcp_fs_rm_rf(int dirfd, const char *name);
/* <root>/<uuid>, created if missing. */
int xlcp_fs_domdir(struct fs *fs, const char *uuid, char *out, size_t len, struct xlcp_err *err);
/* The run directory ($XLCP_RUN_DIR, else /run/xl-checkpoint), created 0700 if missing. */
int xlcp_fs_run_dir(char *out, size_t len, struct xlcp_err *err);

/* ---- store_intent.c: the store ops of the same names (ports.h) ---- */

int xlcp_fs_intent_write(void *self, const struct xlcp_intent *rec, struct xlcp_err *err);
int xlcp_fs_intent_mark(void *self, const char *uuid, const char *id, enum xlcp_mark mark,
                        uint32_t domid, int64_t wall_ns, struct xlcp_err *err);
int xlcp_fs_leftovers(void *self, const char *uuid, struct xlcp_leftover **out, size_t *n,
                      struct xlcp_err *err);
int xlcp_fs_leftover_remove(void *self, const char *uuid, const char *id, struct xlcp_err *err);

/* ---- store_group.c: the store's group_* ops (ports.h) ---- */

int xlcp_fs_group_put(void *self, enum xlcp_group_kind kind, const char *gid, const char *text,
                      size_t len, struct xlcp_err *err);
int xlcp_fs_group_get(void *self, enum xlcp_group_kind kind, const char *gid, char **text_out,
                      struct xlcp_err *err);
int xlcp_fs_group_drop(void *self, enum xlcp_group_kind kind, const char *gid,
                       struct xlcp_err *err);
int xlcp_fs_group_list(void *self, enum xlcp_group_kind kind, char ***gids_out, size_t *n_out,
                       struct xlcp_err *err);

#endif
