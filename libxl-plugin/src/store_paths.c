/*
 * store_paths.c - the file-system catalog's paths and names: which names are safe,
 * directories made and removed, a domain's directory, the run directory. Used by
 * store_fs.c and store_intent.c.
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

int xlcp_fs_id_ok(const char *id)
{
    if (!id || !*id || id[0] == '.' || strlen(id) >= XLCP_ID_MAX)
        return 0;
    for (const char *c = id; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '_' || *c == ':' || *c == '-'))
            return 0;
    return 1;
}

int xlcp_fs_mkdir_p(const char *path, struct xlcp_err *err)
{
    char buf[XLCP_PATH_MAX + 80];

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            return xlcp_err_set(err, XLCP_EPERM, "catalog root %s: mkdir %s: %s", path, buf,
                                strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return xlcp_err_set(err, XLCP_EPERM, "catalog root %s: %s", path, strerror(errno));
    return 0;
}

void xlcp_fs_rm_rf(int dirfd, const char *name)
{
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d;
    struct dirent *e;

    if (fd < 0) {
        unlinkat(dirfd, name, 0);
        return;
    }
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (e->d_type == DT_DIR)
            xlcp_fs_rm_rf(fd, e->d_name);
        else
            unlinkat(fd, e->d_name, 0);
    }
    closedir(d);
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

int xlcp_fs_domdir(struct fs *fs, const char *uuid, char *out, size_t len, struct xlcp_err *err)
{
    if (!xlcp_fs_id_ok(uuid))
        return xlcp_err_set(err, XLCP_EINVAL, "bad domain uuid '%s'", uuid ? uuid : "");
    snprintf(out, len, "%s/%s", fs->root, uuid);
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return xlcp_err_errno(err, errno, "mkdir %s", out);
    return 0;
}

int xlcp_fs_run_dir(char *out, size_t len, struct xlcp_err *err)
{
    const char *dir = getenv("XLCP_RUN_DIR");
    int rc;

    if (!dir || !*dir)
        dir = "/run/xl-checkpoint";
    if ((size_t)snprintf(out, len, "%s", dir) >= len)
        return xlcp_err_set(err, XLCP_EINVAL, "run directory %s: name too long", dir);
    rc = xlcp_fs_mkdir_p(out, err);
    if (rc)
        return xlcp_err_prefix(err, "run directory");
    return 0;
}
