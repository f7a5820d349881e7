/*
 * store_fs.c - the checkpoint catalog on the local file system (the `store` port).
 *
 * <root>/<domain-uuid>/<id>/ holds manifest.xml and memory.xl (unless the page store holds
 * the image). A checkpoint is written in <root>/<uuid>/.tmp-<id>/, every file and the
 * directory fsync'd, then renamed; a deletion renames to .del-<id> first.
 * <root>/<uuid>/.lock is the per-domain flock.
 */
#include "store_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define FS_MAX_FILES 8

struct xlcp_store_lock {
    int fd;
};

struct xlcp_store_txn {
    char tmp[XLCP_PATH_MAX + 80];
    char final[XLCP_PATH_MAX + 80];
    char parent[XLCP_PATH_MAX + 40];
    int fds[FS_MAX_FILES];
    char names[FS_MAX_FILES][64]; /* of fds[i] */
    int nfds;
};

int xlcp_fs_fsync_dir(const char *path, struct xlcp_err *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0)
        return xlcp_err_errno(err, errno, "open %s", path);
    if (fsync(fd) != 0)
        rc = xlcp_err_errno(err, errno, "fsync %s", path);
    close(fd);
    return rc;
}

static int fs_lock(void *self, const char *uuid, struct xlcp_store_lock **out, struct xlcp_err *err)
{
    char dir[XLCP_PATH_MAX], path[XLCP_PATH_MAX + 48];
    struct xlcp_store_lock *l;
    int fd, rc;

    (void)self;
    if (!xlcp_fs_id_ok(uuid))
        return xlcp_err_set(err, XLCP_EINVAL, "bad domain uuid '%s'", uuid ? uuid : "");
    if ((rc = xlcp_fs_run_dir(dir, sizeof(dir), err)))
        return rc;
    snprintf(path, sizeof(path), "%s/%s.lock", dir, uuid);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "open %s", path);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return xlcp_err_set(err, XLCP_EBUSY,
                                "another xl-checkpoint command is changing domain %s (lock %s)",
                                uuid, path);
        return xlcp_err_errno(err, e, "flock %s", path);
    }
    l = malloc(sizeof(*l));
    if (!l) {
        close(fd);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }
    l->fd = fd;
    *out = l;
    return 0;
}

static void fs_unlock(void *self, struct xlcp_store_lock *l)
{
    (void)self;
    if (!l)
        return;
    flock(l->fd, LOCK_UN);
    close(l->fd);
    free(l);
}

static int fs_begin(void *self, const char *uuid, const char *id, struct xlcp_store_txn **out,
                    struct xlcp_err *err)
{
    struct xlcp_store_txn *t;
    int rc;

    if (!xlcp_fs_id_ok(id))
        return xlcp_err_set(err, XLCP_EINVAL, "bad checkpoint id '%s'", id ? id : "");
    t = calloc(1, sizeof(*t));
    if (!t)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    if ((rc = xlcp_fs_domdir(self, uuid, t->parent, sizeof(t->parent), err))) {
        free(t);
        return rc;
    }
    snprintf(t->tmp, sizeof(t->tmp), "%s/.tmp-%s", t->parent, id);
    snprintf(t->final, sizeof(t->final), "%s/%s", t->parent, id);
    if (mkdir(t->tmp, 0700) != 0) {
        rc = xlcp_err_errno(err, errno, "mkdir %s", t->tmp);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

static int fs_create_file(void *self, struct xlcp_store_txn *t, const char *name, int *fd_out,
                          struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 160];
    int fd;

    (void)self;
    if (!xlcp_fs_id_ok(name) || strlen(name) >= sizeof(t->names[0]) || t->nfds >= FS_MAX_FILES)
        return xlcp_err_set(err, XLCP_EINVAL, "bad file name '%s'", name);
    snprintf(path, sizeof(path), "%s/%s", t->tmp, name);
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "create %s", path);
    /* Keep our own descriptor for the fsync at commit; the caller closes its own. */
    t->fds[t->nfds] = dup(fd);
    if (t->fds[t->nfds] < 0) {
        int e = errno;
        close(fd);
        return xlcp_err_errno(err, e, "dup");
    }
    snprintf(t->names[t->nfds], sizeof(t->names[0]), "%s", name);
    t->nfds++;
    *fd_out = fd;
    return 0;
}

static int fs_drop_file(void *self, struct xlcp_store_txn *t, const char *name,
                        struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 160];

    (void)self;
    for (int i = 0; i < t->nfds; i++) {
        if (strcmp(t->names[i], name) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", t->tmp, name);
        if (unlink(path) != 0)
            return xlcp_err_errno(err, errno, "remove %s", path);
        /* no fsync at the commit for a file that is gone (the directory's covers it) */
        close(t->fds[i]);
        t->fds[i] = t->fds[t->nfds - 1];
        memcpy(t->names[i], t->names[t->nfds - 1], sizeof(t->names[0]));
        t->nfds--;
        return 0;
    }
    return xlcp_err_set(err, XLCP_EINVAL, "%s: no file %s was made there", t->tmp, name);
}

static void txn_free(struct xlcp_store_txn *t)
{
    for (int i = 0; i < t->nfds; i++)
        close(t->fds[i]);
    free(t);
}

static int fs_commit(void *self, struct xlcp_store_txn *t, struct xlcp_err *err)
{
    int rc = 0;

    (void)self;
    for (int i = 0; i < t->nfds && rc == 0; i++)
        if (fsync(t->fds[i]) != 0)
            rc = xlcp_err_errno(err, errno, "fsync in %s", t->tmp);
    if (rc == 0)
        rc = xlcp_fs_fsync_dir(t->tmp, err);
    if (rc == 0 && rename(t->tmp, t->final) != 0)
        rc = xlcp_err_errno(err, errno, "rename %s", t->tmp);
    if (rc == 0)
        rc = xlcp_fs_fsync_dir(t->parent, err);
    if (rc) {
        char name[XLCP_PATH_MAX + 80];
        const char *base = strrchr(t->tmp, '/');
        snprintf(name, sizeof(name), "%s", base ? base + 1 : t->tmp);
        int dfd = open(t->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            xlcp_fs_rm_rf(dfd, name);
            close(dfd);
        }
    }
    txn_free(t);
    return rc;
}

static void fs_abort(void *self, struct xlcp_store_txn *t, int keep_dir)
{
    const char *base = strrchr(t->tmp, '/');
    int dfd = keep_dir ? -1 : open(t->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    (void)self;
    if (dfd >= 0) {
        xlcp_fs_rm_rf(dfd, base ? base + 1 : t->tmp);
        close(dfd);
    }
    txn_free(t);
}

static int fs_locate(void *self, const char *id, char *dir_out, size_t len, struct xlcp_err *err)
{
    struct fs *fs = self;
    DIR *d;
    struct dirent *e;
    int found = 0;

    if (!xlcp_fs_id_ok(id))
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no checkpoint '%s'", id ? id : "");
    d = opendir(fs->root);
    if (!d)
        return xlcp_err_errno(err, errno, "opendir %s", fs->root);
    while (!found && (e = readdir(d)) != NULL) {
        char path[XLCP_PATH_MAX + 160];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s/%s", fs->root, e->d_name, id);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(dir_out, len, "%s", path);
            found = 1;
        }
    }
    closedir(d);
    return found ? 0 : xlcp_err_set(err, XLCP_ENOTFOUND, "no checkpoint '%s' in %s", id, fs->root);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_ids(const char *dir, char ***ids, size_t *n, size_t *cap, struct xlcp_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d)
        return errno == ENOENT ? 0 : xlcp_err_errno(err, errno, "opendir %s", dir);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR)
            continue;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 16;
            char **nv = realloc(*ids, nc * sizeof(char *));
            if (!nv) {
                closedir(d);
                return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
            }
            *ids = nv;
            *cap = nc;
        }
        (*ids)[*n] = strdup(e->d_name);
        if (!(*ids)[*n]) {
            closedir(d);
            return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
        }
        (*n)++;
    }
    closedir(d);
    return 0;
}

static int fs_list(void *self, const char *uuid, char ***ids_out, size_t *n_out,
                   struct xlcp_err *err)
{
    struct fs *fs = self;
    char **ids = NULL;
    size_t n = 0, cap = 0;
    char path[XLCP_PATH_MAX + 80];
    int rc = 0;

    if (uuid) {
        snprintf(path, sizeof(path), "%s/%s", fs->root, uuid);
        rc = add_ids(path, &ids, &n, &cap, err);
    } else {
        DIR *d = opendir(fs->root);
        struct dirent *e;
        if (!d)
            return xlcp_err_errno(err, errno, "opendir %s", fs->root);
        while (rc == 0 && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", fs->root, e->d_name);
            rc = add_ids(path, &ids, &n, &cap, err);
        }
        closedir(d);
    }
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(ids[i]);
        free(ids);
        return rc;
    }
    if (n > 1)
        qsort(ids, n, sizeof(char *), cmp);
    *ids_out = ids;
    *n_out = n;
    return 0;
}

static int fs_remove(void *self, const char *id, struct xlcp_err *err)
{
    char dir[XLCP_PATH_MAX + 160], del[XLCP_PATH_MAX + 200], parent[XLCP_PATH_MAX + 160];
    char *slash;
    int rc = fs_locate(self, id, dir, sizeof(dir), err), dfd;

    if (rc)
        return rc;
    snprintf(parent, sizeof(parent), "%s", dir);
    slash = strrchr(parent, '/');
    if (slash)
        *slash = '\0';
    snprintf(del, sizeof(del), "%s/.del-%s", parent, id);
    if (rename(dir, del) != 0)
        return xlcp_err_errno(err, errno, "rename %s", dir);
    dfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return xlcp_err_errno(err, errno, "open %s", parent);
    xlcp_fs_rm_rf(dfd, strrchr(del, '/') + 1);
    if (fsync(dfd) != 0)
        rc = xlcp_err_errno(err, errno, "fsync %s", parent);
    close(dfd);
    return rc;
}

static int fs_free_bytes(void *self, uint64_t *out, char *where, size_t len, struct xlcp_err *err)
{
    struct fs *f = self;
    struct statvfs sv;

    snprintf(where, len, "%s", f->root);
    if (statvfs(f->root, &sv) != 0)
        return xlcp_err_errno(err, errno, "statvfs %s", f->root);
    *out = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    return 0;
}

static const struct xlcp_store_ops fs_ops = {
    .lock = fs_lock,
    .unlock = fs_unlock,
    .intent_write = xlcp_fs_intent_write,
    .intent_mark = xlcp_fs_intent_mark,
    .leftovers = xlcp_fs_leftovers,
    .leftover_remove = xlcp_fs_leftover_remove,
    .begin = fs_begin,
    .create_file = fs_create_file,
    .drop_file = fs_drop_file,
    .commit = fs_commit,
    .abort = fs_abort,
    .locate = fs_locate,
    .list = fs_list,
    .remove = fs_remove,
    .free_bytes = fs_free_bytes,
    .group_put = xlcp_fs_group_put,
    .group_get = xlcp_fs_group_get,
    .group_drop = xlcp_fs_group_drop,
    .group_list = xlcp_fs_group_list,
};

int xlcp_store_fs_open(struct xlcp_store *out, const char *root, struct xlcp_err *err)
{
    struct fs *fs;
    struct stat st;
    int rc;

    if (!root || !*root)
        root = getenv("XLCP_CATALOG_ROOT");
    if (!root || !*root)
        root = "/var/lib/xl-checkpoint";
    if ((rc = xlcp_fs_mkdir_p(root, err)))
        return rc;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode) || access(root, W_OK | X_OK) != 0)
        return xlcp_err_set(err, XLCP_EPERM, "catalog root %s is not a writable directory", root);
    fs = calloc(1, sizeof(*fs));
    if (!fs)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    snprintf(fs->root, sizeof(fs->root), "%s", root);
    out->ops = &fs_ops;
    out->self = fs;
    return 0;
}

void xlcp_store_fs_close(struct xlcp_store *store)
{
    if (store && store->ops == &fs_ops) {
        free(store->self);
        store->self = NULL;
    }
}
