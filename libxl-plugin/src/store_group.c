/*
 * store_group.c - group checkpoints in the file-system catalog (the store port's group_*
 * operations, ports.h): <root>/.groups/<gid>/group.xml (written in .tmp-<gid>/, fsync'd,
 * renamed) and the group runs' intent records <root>/.groups/.intent-<gid> (written to a
 * temporary file, fsync'd, renamed). The leading dot keeps .groups out of every walk of
 * the domains' directories.
 */
#include "store_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GROUPS_DIR ".groups"
#define GROUP_FILE "group.xml"
#define INTENT_PREFIX ".intent-"
#define GROUP_MAX_BYTES (1u << 20)

static int groups_dir(struct fs *fs, char *out, size_t len, struct xlcp_err *err)
{
    snprintf(out, len, "%s/" GROUPS_DIR, fs->root);
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return xlcp_err_errno(err, errno, "mkdir %s", out);
    return 0;
}

static int write_file(const char *path, const char *text, size_t len, struct xlcp_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc = 0;

    if (fd < 0)
        return xlcp_err_errno(err, errno, "create %s", path);
    while (len > 0 && rc == 0) {
        ssize_t w = write(fd, text, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = xlcp_err_errno(err, w < 0 ? errno : EIO, "write %s", path);
        else {
            text += w;
            len -= (size_t)w;
        }
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = xlcp_err_errno(err, errno, "fsync %s", path);
    if (close(fd) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close %s", path);
    return rc;
}

/* The final path of gid's file of that kind, and the temporary name it is written under. */
static int paths(struct fs *fs, enum xlcp_group_kind kind, const char *gid, char *dir, size_t dlen,
                 char *final, char *tmp, size_t len, struct xlcp_err *err)
{
    int rc;

    if (!xlcp_fs_id_ok(gid))
        return xlcp_err_set(err, XLCP_EINVAL, "bad group id '%s'", gid ? gid : "");
    if ((rc = groups_dir(fs, dir, dlen, err)))
        return rc;
    if (kind == XLCP_GROUP_MANIFEST) {
        snprintf(final, len, "%s/%s", dir, gid);
        snprintf(tmp, len, "%s/.tmp-%s", dir, gid);
    } else {
        snprintf(final, len, "%s/" INTENT_PREFIX "%s", dir, gid);
        snprintf(tmp, len, "%s/.tmpi-%s", dir, gid);
    }
    return 0;
}

int xlcp_fs_group_put(void *self, enum xlcp_group_kind kind, const char *gid, const char *text,
                      size_t len, struct xlcp_err *err)
{
    char dir[XLCP_PATH_MAX + 16], final[XLCP_PATH_MAX + 96], tmp[XLCP_PATH_MAX + 96];
    char file[XLCP_PATH_MAX + 128];
    struct stat st;
    int rc = paths(self, kind, gid, dir, sizeof(dir), final, tmp, sizeof(final), err);

    if (rc)
        return rc;
    if (lstat(final, &st) == 0)
        return xlcp_err_set(err, XLCP_EBUSY, "%s exists", final);
    if (kind == XLCP_GROUP_MANIFEST) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            xlcp_fs_rm_rf(dfd, strrchr(tmp, '/') + 1); /* an interrupted earlier attempt */
            close(dfd);
        }
        if (mkdir(tmp, 0700) != 0)
            return xlcp_err_errno(err, errno, "mkdir %s", tmp);
        snprintf(file, sizeof(file), "%s/" GROUP_FILE, tmp);
        rc = write_file(file, text, len, err);
        if (rc == 0)
            rc = xlcp_fs_fsync_dir(tmp, err);
    } else {
        unlink(tmp);
        rc = write_file(tmp, text, len, err);
    }
    if (rc == 0 && rename(tmp, final) != 0)
        rc = xlcp_err_errno(err, errno, "rename %s", tmp);
    if (rc == 0)
        rc = xlcp_fs_fsync_dir(dir, err);
    if (rc) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            xlcp_fs_rm_rf(dfd, strrchr(tmp, '/') + 1);
            close(dfd);
        }
    }
    return rc;
}

int xlcp_fs_group_get(void *self, enum xlcp_group_kind kind, const char *gid, char **text_out,
                      struct xlcp_err *err)
{
    char dir[XLCP_PATH_MAX + 16], final[XLCP_PATH_MAX + 96], tmp[XLCP_PATH_MAX + 96];
    char file[XLCP_PATH_MAX + 128];
    char *buf;
    size_t n = 0;
    int fd, rc = paths(self, kind, gid, dir, sizeof(dir), final, tmp, sizeof(final), err);

    *text_out = NULL;
    if (rc)
        return rc == XLCP_EINVAL ? xlcp_err_set(err, XLCP_ENOTFOUND, "no group '%s'", gid) : rc;
    if (kind == XLCP_GROUP_MANIFEST)
        snprintf(file, sizeof(file), "%s/" GROUP_FILE, final);
    else
        snprintf(file, sizeof(file), "%s", final);
    fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return xlcp_err_set(err, XLCP_ENOTFOUND, "no group '%s' in %s", gid, dir);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "open %s", file);
    buf = malloc(GROUP_MAX_BYTES + 1);
    if (!buf) {
        close(fd);
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, GROUP_MAX_BYTES - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = xlcp_err_errno(err, errno, "read %s", file);
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == GROUP_MAX_BYTES) {
            rc =
                xlcp_err_set(err, XLCP_ECORRUPT, "%s: larger than %u bytes", file, GROUP_MAX_BYTES);
            break;
        }
    }
    close(fd);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *text_out = buf;
    return 0;
}

int xlcp_fs_group_drop(void *self, enum xlcp_group_kind kind, const char *gid, struct xlcp_err *err)
{
    char dir[XLCP_PATH_MAX + 16], final[XLCP_PATH_MAX + 96], tmp[XLCP_PATH_MAX + 96];
    char del[XLCP_PATH_MAX + 96];
    int dfd, rc = paths(self, kind, gid, dir, sizeof(dir), final, tmp, sizeof(final), err);

    if (rc)
        return rc;
    if (kind == XLCP_GROUP_INTENT) {
        if (unlink(final) != 0)
            return errno == ENOENT ? xlcp_err_set(err, XLCP_ENOTFOUND, "no record %s", final)
                                   : xlcp_err_errno(err, errno, "unlink %s", final);
        return xlcp_fs_fsync_dir(dir, err);
    }
    /* rename away first: the group is gone at once, whatever the removal leaves */
    snprintf(del, sizeof(del), "%s/.del-%s", dir, gid);
    if (rename(final, del) != 0)
        return errno == ENOENT ? xlcp_err_set(err, XLCP_ENOTFOUND, "no group '%s'", gid)
                               : xlcp_err_errno(err, errno, "rename %s", final);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return xlcp_err_errno(err, errno, "open %s", dir);
    xlcp_fs_rm_rf(dfd, strrchr(del, '/') + 1);
    if (fsync(dfd) != 0)
        rc = xlcp_err_errno(err, errno, "fsync %s", dir);
    close(dfd);
    return rc;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int xlcp_fs_group_list(void *self, enum xlcp_group_kind kind, char ***gids_out, size_t *n_out,
                       struct xlcp_err *err)
{
    char dir[XLCP_PATH_MAX + 16];
    char **v = NULL;
    size_t n = 0, cap = 0;
    DIR *d;
    struct dirent *e;
    int rc = groups_dir(self, dir, sizeof(dir), err);

    *gids_out = NULL;
    *n_out = 0;
    if (rc)
        return rc;
    d = opendir(dir);
    if (!d)
        return xlcp_err_errno(err, errno, "opendir %s", dir);
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (kind == XLCP_GROUP_INTENT) {
            if (strncmp(name, INTENT_PREFIX, strlen(INTENT_PREFIX)) != 0)
                continue;
            name += strlen(INTENT_PREFIX);
        } else if (name[0] == '.' || e->d_type != DT_DIR) {
            continue;
        }
        if (!xlcp_fs_id_ok(name))
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            char **nv = realloc(v, nc * sizeof(*v));
            if (!nv) {
                rc = xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
                break;
            }
            v = nv;
            cap = nc;
        }
        v[n] = strdup(name);
        if (!v[n])
            rc = xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), cmp);
    *gids_out = v;
    *n_out = n;
    return 0;
}
