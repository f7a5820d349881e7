/*
 * store_intent.c - intent records, suspend marks and the leftovers of interrupted runs,
 * in the file-system catalog.
 *
 *   <root>/<uuid>/.intent-<id>      the record: id, domain, pid, the volumes the run will
 *                                   create, the page store its image goes into. Written
 *                                   and fsync'd before the guest is touched.
 *   <run dir>/<uuid>.<id>.mark      the suspend mark: written when the run sees the guest
 *                                   suspended and when it resumes it. A tmpfs (no fsync,
 *                                   cheap inside the pause); a reboot forgets it, rightly.
 *
 * Both go (with the run's .tmp-<id> directory) only once every volume the record names
 * is gone: leftover_remove.
 */
#include "store_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_PREFIX ".intent-"
#define RECORD_MAGIC "xl-checkpoint intent 1"

/* Writes all of buf to fd. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

int xlcp_fs_intent_write(void *self, const struct xlcp_intent *rec, struct xlcp_err *err)
{
    char dir[XLCP_PATH_MAX + 40], path[XLCP_PATH_MAX + 120];
    char buf[XLCP_MAX_DISKS * (2 * XLCP_NAME_MAX + 16) + XLCP_PATH_MAX + 512];
    size_t len;
    int fd, dfd, rc = 0;

    if (!xlcp_fs_id_ok(rec->id))
        return xlcp_err_set(err, XLCP_EINVAL, "bad checkpoint id '%s'", rec->id);
    if ((rc = xlcp_fs_domdir(self, rec->dom_uuid, dir, sizeof(dir), err)))
        return rc;
    len = (size_t)snprintf(buf, sizeof(buf),
                           RECORD_MAGIC "\nid %s\nuuid %s\ndomid %" PRIu32 "\npid %ld\n", rec->id,
                           rec->dom_uuid, rec->domid, rec->pid);
    for (int i = 0; i < rec->nvols && i < XLCP_MAX_DISKS; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "volume %s/%s\n", rec->vols[i].vg,
                                rec->vols[i].lv);
    if (rec->pagestore_root[0] && !strchr(rec->pagestore_root, '\n'))
        len +=
            (size_t)snprintf(buf + len, sizeof(buf) - len, "pagestore %s\n", rec->pagestore_root);
    snprintf(path, sizeof(path), "%s/" RECORD_PREFIX "%s", dir, rec->id);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "create %s", path);
    if (write_all(fd, buf, len) != 0 || fsync(fd) != 0)
        rc = xlcp_err_errno(err, errno, "write %s", path);
    if (close(fd) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close %s", path);
    if (rc == 0) {
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0)
            rc = xlcp_err_errno(err, errno, "fsync %s", dir);
        if (dfd >= 0)
            close(dfd);
    }
    if (rc)
        unlink(path);
    return rc;
}

static int mark_path(const char *uuid, const char *id, char *out, size_t len, struct xlcp_err *err)
{
    char dir[XLCP_PATH_MAX];
    int rc;

    if (!xlcp_fs_id_ok(uuid) || !xlcp_fs_id_ok(id))
        return xlcp_err_set(err, XLCP_EINVAL, "bad uuid '%s' or id '%s'", uuid, id);
    if ((rc = xlcp_fs_run_dir(dir, sizeof(dir), err)))
        return rc;
    snprintf(out, len, "%s/%s.%s.mark", dir, uuid, id);
    return 0;
}

int xlcp_fs_intent_mark(void *self, const char *uuid, const char *id, enum xlcp_mark mark,
                        uint32_t domid, int64_t wall_ns, struct xlcp_err *err)
{
    char path[XLCP_PATH_MAX + 160], tmp[XLCP_PATH_MAX + 170], buf[256];
    int fd, rc;
    size_t len;

    (void)self;
    if ((rc = mark_path(uuid, id, path, sizeof(path), err)))
        return rc;
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    len =
        (size_t)snprintf(buf, sizeof(buf), "state %s\ndomid %" PRIu32 "\nuuid %s\nat %" PRId64 "\n",
                         mark == XLCP_MARK_SUSPENDED ? "suspended"
                         : mark == XLCP_MARK_RESUMED ? "resumed"
                                                     : "none",
                         domid, uuid, wall_ns);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "create %s", tmp);
    rc = write_all(fd, buf, len) == 0 ? 0 : xlcp_err_errno(err, errno, "write %s", tmp);
    if (close(fd) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "close %s", tmp);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = xlcp_err_errno(err, errno, "rename %s", tmp);
    if (rc)
        unlink(tmp);
    return rc;
}

/* Reads a small file into buf (NUL-terminated). */
static int read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    size_t got = 0;

    if (fd < 0)
        return -1;
    while (got + 1 < len) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    close(fd);
    return 0;
}

/* A record that does not parse (cut short by a crash before its fsync) names nothing:
 * its run had not touched anything yet. */
static void parse_record(const char *path, struct xlcp_leftover *lo)
{
    char buf[XLCP_MAX_DISKS * (2 * XLCP_NAME_MAX + 16) + XLCP_PATH_MAX + 512];
    char *line, *save = NULL;

    if (read_small(path, buf, sizeof(buf)) != 0 || strncmp(buf, RECORD_MAGIC "\n", 23) != 0)
        return;
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char a[XLCP_NAME_MAX], b[XLCP_NAME_MAX];
        unsigned long v;
        if (sscanf(line, "domid %lu", &v) == 1)
            lo->rec.domid = (uint32_t)v;
        else if (sscanf(line, "pid %lu", &v) == 1)
            lo->rec.pid = (long)v;
        else if (sscanf(line, "volume %127[^/]/%127s", a, b) == 2 &&
                 lo->rec.nvols < XLCP_MAX_DISKS) {
            snprintf(lo->rec.vols[lo->rec.nvols].vg, XLCP_NAME_MAX, "%s", a);
            snprintf(lo->rec.vols[lo->rec.nvols].lv, XLCP_NAME_MAX, "%s", b);
            lo->rec.nvols++;
        } else if (strncmp(line, "pagestore /", 11) == 0) {
            snprintf(lo->rec.pagestore_root, sizeof(lo->rec.pagestore_root), "%s", line + 10);
        }
    }
}

static void read_mark(struct xlcp_leftover *lo)
{
    char path[XLCP_PATH_MAX + 160], buf[256], state[16] = "";
    struct xlcp_err e;
    char *line, *save = NULL;

    xlcp_err_clear(&e);
    if (mark_path(lo->rec.dom_uuid, lo->rec.id, path, sizeof(path), &e) != 0 ||
        read_small(path, buf, sizeof(buf)) != 0)
        return;
    for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        unsigned long v;
        long long t;
        if (sscanf(line, "state %15s", state) == 1)
            continue;
        if (sscanf(line, "domid %lu", &v) == 1)
            lo->mark_domid = (uint32_t)v;
        else if (sscanf(line, "at %lld", &t) == 1)
            lo->suspended_at_ns = t;
        else if (strncmp(line, "uuid ", 5) == 0)
            snprintf(lo->mark_uuid, sizeof(lo->mark_uuid), "%s", line + 5);
    }
    lo->mark = strcmp(state, "suspended") == 0 ? XLCP_MARK_SUSPENDED
               : strcmp(state, "resumed") == 0 ? XLCP_MARK_RESUMED
                                               : XLCP_MARK_NONE;
}

/* The entry of (uuid, id) in the list, added if new. */
static struct xlcp_leftover *entry(struct xlcp_leftover **v, size_t *n, size_t *cap,
                                   const char *uuid, const char *id)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i].rec.id, id) == 0 && strcmp((*v)[i].rec.dom_uuid, uuid) == 0)
            return &(*v)[i];
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        struct xlcp_leftover *nv = realloc(*v, nc * sizeof(**v));
        if (!nv)
            return NULL;
        *v = nv;
        *cap = nc;
    }
    memset(&(*v)[*n], 0, sizeof(**v));
    snprintf((*v)[*n].rec.id, sizeof((*v)[0].rec.id), "%s", id);
    snprintf((*v)[*n].rec.dom_uuid, sizeof((*v)[0].rec.dom_uuid), "%s", uuid);
    return &(*v)[(*n)++];
}

static int scan_domain(struct fs *fs, const char *uuid, struct xlcp_leftover **v, size_t *n,
                       size_t *cap, struct xlcp_err *err)
{
    char dir[XLCP_PATH_MAX + 40];
    DIR *d;
    struct dirent *e;
    int rc = 0;

    snprintf(dir, sizeof(dir), "%s/%s", fs->root, uuid);
    d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : xlcp_err_errno(err, errno, "opendir %s", dir);
    while (rc == 0 && (e = readdir(d)) != NULL) {
        struct xlcp_leftover *lo;
        const char *id;
        int kind;
        if (strncmp(e->d_name, ".tmp-", 5) == 0)
            kind = 't', id = e->d_name + 5;
        else if (strncmp(e->d_name, ".del-", 5) == 0)
            kind = 'd', id = e->d_name + 5;
        else if (strncmp(e->d_name, RECORD_PREFIX, strlen(RECORD_PREFIX)) == 0)
            kind = 'r', id = e->d_name + strlen(RECORD_PREFIX);
        else
            continue;
        if (!xlcp_fs_id_ok(id))
            continue;
        lo = entry(v, n, cap, uuid, id);
        if (!lo) {
            rc = xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
            break;
        }
        if (kind == 't')
            lo->has_tmp = 1;
        else if (kind == 'd')
            lo->has_del = 1;
        else {
            char path[XLCP_PATH_MAX + 400];
            lo->has_record = 1;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            parse_record(path, lo);
        }
    }
    closedir(d);
    return rc;
}

int xlcp_fs_leftovers(void *self, const char *uuid, struct xlcp_leftover **out, size_t *n_out,
                      struct xlcp_err *err)
{
    struct fs *fs = self;
    struct xlcp_leftover *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (uuid) {
        if (!xlcp_fs_id_ok(uuid))
            return xlcp_err_set(err, XLCP_EINVAL, "bad domain uuid '%s'", uuid);
        rc = scan_domain(fs, uuid, &v, &n, &cap, err);
    } else {
        DIR *d = opendir(fs->root);
        struct dirent *e;
        if (!d)
            return xlcp_err_errno(err, errno, "opendir %s", fs->root);
        while (rc == 0 && (e = readdir(d)) != NULL)
            if (e->d_name[0] != '.' && xlcp_fs_id_ok(e->d_name))
                rc = scan_domain(fs, e->d_name, &v, &n, &cap, err);
        closedir(d);
    }
    if (rc) {
        free(v);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        read_mark(&v[i]);
    *out = v;
    *n_out = n;
    return 0;
}

int xlcp_fs_leftover_remove(void *self, const char *uuid, const char *id, struct xlcp_err *err)
{
    struct fs *fs = self;
    char dir[XLCP_PATH_MAX + 40], name[XLCP_ID_MAX + 16], mark[XLCP_PATH_MAX + 160];
    int dfd, rc = 0;

    if (!xlcp_fs_id_ok(uuid) || !xlcp_fs_id_ok(id))
        return xlcp_err_set(err, XLCP_EINVAL, "bad uuid '%s' or id '%s'", uuid, id);
    snprintf(dir, sizeof(dir), "%s/%s", fs->root, uuid);
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return errno == ENOENT ? 0 : xlcp_err_errno(err, errno, "open %s", dir);
    /* the directories first, the record last: a crash in between leaves the record */
    snprintf(name, sizeof(name), ".tmp-%s", id);
    xlcp_fs_rm_rf(dfd, name);
    snprintf(name, sizeof(name), ".del-%s", id);
    xlcp_fs_rm_rf(dfd, name);
    snprintf(name, sizeof(name), RECORD_PREFIX "%s", id);
    if (unlinkat(dfd, name, 0) != 0 && errno != ENOENT)
        rc = xlcp_err_errno(err, errno, "remove %s/%s", dir, name);
    if (rc == 0 && fsync(dfd) != 0)
        rc = xlcp_err_errno(err, errno, "fsync %s", dir);
    close(dfd);
    if (rc == 0 && mark_path(uuid, id, mark, sizeof(mark), err) == 0 && unlink(mark) != 0 &&
        errno != ENOENT)
        rc = xlcp_err_errno(err, errno, "remove %s", mark);
    return rc;
}
