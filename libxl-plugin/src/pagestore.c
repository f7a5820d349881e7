/*
 * pagestore.c - the page store's handle (see pagestore.h): its directories and lock, the
 * file helpers its parts share (atomic writes, bounded reads, directory fsyncs), and the
 * operations on whole maps (list, has, release).
 */
#include "pagestore_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "export_int.h"
#include "store_fs.h"

void xlcp_ps_opts_default(struct xlcp_ps_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->zstd_level = 1;
    o->pack_max = 1u << 30;
    o->resend_pages = 8192;
}

static int mkdir_one(const char *path, struct xlcp_err *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return xlcp_err_errno(err, errno, "page store: mkdir %s", path);
    return 0;
}

int xlcp_ps_open(const char *root, const struct xlcp_ps_opts *opts, struct xlcp_pagestore **out,
                 struct xlcp_err *err)
{
    struct xlcp_pagestore *ps;
    int rc;

    *out = NULL;
    if (!root || strlen(root) > PATH_MAX - 40)
        return xlcp_err_set(err, XLCP_EINVAL, "page store: bad root");
    ps = calloc(1, sizeof(*ps));
    if (!ps)
        return xlcp_err_errno(err, ENOMEM, "page store");
    if (opts)
        ps->opts = *opts;
    else
        xlcp_ps_opts_default(&ps->opts);
    if (ps->opts.zstd_level < 0 || ps->opts.zstd_level > 19) {
        rc =
            xlcp_err_set(err, XLCP_EINVAL, "page store: zstd level %d (0-19)", ps->opts.zstd_level);
        free(ps);
        return rc;
    }
    if (ps->opts.pack_max == 0)
        ps->opts.pack_max = 1u << 30;
    snprintf(ps->dir, sizeof(ps->dir), "%s/" XLCP_PS_DIR, root);
    snprintf(ps->packs, sizeof(ps->packs), "%s/packs", ps->dir);
    snprintf(ps->maps, sizeof(ps->maps), "%s/maps", ps->dir);
    if ((rc = mkdir_one(root, err)) || (rc = mkdir_one(ps->dir, err)) ||
        (rc = mkdir_one(ps->packs, err)) || (rc = mkdir_one(ps->maps, err))) {
        free(ps);
        return rc;
    }
    *out = ps;
    return 0;
}

void xlcp_ps_close(struct xlcp_pagestore *ps)
{
    free(ps);
}

int ps_fault(struct xlcp_pagestore *ps, const char *step, struct xlcp_err *err)
{
    if (ps->opts.fault && ps->opts.fault(ps->opts.fault_arg, step))
        return xlcp_err_set(err, XLCP_EINTERNAL, "page store: fault injected at %s", step);
    return 0;
}

int ps_lock(struct xlcp_pagestore *ps, int exclusive, int nonblock, int *fd, struct xlcp_err *err)
{
    int op = (exclusive ? LOCK_EX : LOCK_SH) | (nonblock ? LOCK_NB : 0);
    char path[PATH_MAX + 8];

    snprintf(path, sizeof(path), "%s/lock", ps->dir);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return xlcp_err_errno(err, errno, "page store: open %s", path);
    while (flock(*fd, op) != 0) {
        int e = errno;
        if (e == EINTR)
            continue;
        close(*fd);
        *fd = -1;
        if (e == EWOULDBLOCK)
            return xlcp_err_set(err, XLCP_EBUSY, "page store %s: in use", ps->dir);
        return xlcp_err_errno(err, e, "page store %s: lock", ps->dir);
    }
    return 0;
}

void ps_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* releases the flock */
}

int ps_write_atomic(struct xlcp_pagestore *ps, const char *dir, const char *name, const void *buf,
                    size_t len, const char *step, struct xlcp_err *err)
{
    char tmp[PATH_MAX + 300], path[PATH_MAX + 300], fstep[80];
    int fd, rc;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return xlcp_err_errno(err, errno, "%s: create %s", step, tmp);
    rc = xlcp_x_write_all(fd, buf, len, XLCP_X_SEQ, tmp, err);
    if (rc == 0 && fsync(fd) != 0)
        rc = xlcp_err_errno(err, errno, "%s: fsync %s", step, tmp);
    if (close(fd) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "%s: close %s", step, tmp);
    snprintf(fstep, sizeof(fstep), "%s-rename", step);
    if (rc == 0)
        rc = ps_fault(ps, fstep, err);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = xlcp_err_errno(err, errno, "%s: rename %s", step, tmp);
    if (rc) {
        unlink(tmp);
        return rc;
    }
    snprintf(fstep, sizeof(fstep), "%s-dirsync", step);
    if ((rc = ps_fault(ps, fstep, err)) != 0)
        return rc;
    rc = xlcp_fs_fsync_dir(dir, err);
    return rc ? xlcp_err_prefix(err, "%s", step) : 0;
}

int ps_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, struct xlcp_err *err)
{
    struct stat st;
    uint8_t *p;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

    *buf = NULL;
    *len = 0;
    if (fd < 0)
        return xlcp_err_errno(err, errno, "open %s", path);
    if (fstat(fd, &st) != 0) {
        rc = xlcp_err_errno(err, errno, "stat %s", path);
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return xlcp_err_set(err, XLCP_ECORRUPT, "%s: %lld bytes (at most %zu expected)", path,
                            (long long)st.st_size, max);
    }
    p = malloc((size_t)st.st_size + 1);
    if (!p) {
        close(fd);
        return xlcp_err_errno(err, ENOMEM, "read %s", path);
    }
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, p + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? xlcp_err_errno(err, errno, "read %s", path)
                       : xlcp_err_set(err, XLCP_ECORRUPT, "%s: shrank while read", path);
            break;
        }
        got += (size_t)r;
    }
    close(fd);
    if (rc) {
        free(p);
        return rc;
    }
    *buf = p;
    *len = got;
    return 0;
}

void ps_hash_page(const uint8_t *page, uint8_t out[PS_DIG])
{
    XXH128_canonical_t c;

    XXH128_canonicalFromHash(&c, XXH3_128bits(page, PS_PAGE));
    memcpy(out, c.digest, PS_DIG);
}

const char *ps_dig_hex(const uint8_t d[PS_DIG], char out[17])
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    return out;
}

int ps_buf_put(struct ps_buf *b, const void *data, size_t n, struct xlcp_err *err)
{
    if (n > SIZE_MAX / 2 - b->len)
        return xlcp_err_set(err, XLCP_EINVAL, "page store: buffer overflow");
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        uint8_t *p;
        while (cap < b->len + n)
            cap *= 2;
        p = realloc(b->p, cap);
        if (!p)
            return xlcp_err_errno(err, ENOMEM, "page store: a buffer of %zu bytes", cap);
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

void ps_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void ps_put_le64(uint8_t *p, uint64_t v)
{
    ps_put_le32(p, (uint32_t)v);
    ps_put_le32(p + 4, (uint32_t)(v >> 32));
}

uint32_t ps_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

uint64_t ps_le64(const uint8_t *p)
{
    return (uint64_t)ps_le32(p) | ((uint64_t)ps_le32(p + 4) << 32);
}

int ps_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > XLCP_PS_NAME_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '+' || c == '@'))
            return 0;
    }
    return 1;
}

int xlcp_ps_has(struct xlcp_pagestore *ps, const char *name)
{
    char path[PATH_MAX + 300];

    if (!ps_name_ok(name))
        return 0;
    snprintf(path, sizeof(path), "%s/%s.map", ps->maps, name);
    return access(path, F_OK) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int xlcp_ps_list(struct xlcp_pagestore *ps, char ***names, size_t *n, struct xlcp_err *err)
{
    DIR *d = opendir(ps->maps);
    struct dirent *e;
    char **v = NULL;
    size_t cnt = 0, cap = 0;
    int rc = 0;

    *names = NULL;
    *n = 0;
    if (!d)
        return xlcp_err_errno(err, errno, "page store: open %s", ps->maps);
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char *s;
        if (len <= 4 || strcmp(e->d_name + len - 4, ".map") != 0)
            continue;
        if (cnt == cap) {
            char **nv = realloc(v, (cap ? cap * 2 : 16) * sizeof(*v));
            if (!nv) {
                rc = xlcp_err_errno(err, ENOMEM, "page store: list");
                break;
            }
            v = nv;
            cap = cap ? cap * 2 : 16;
        }
        s = strndup(e->d_name, len - 4);
        if (!s) {
            rc = xlcp_err_errno(err, ENOMEM, "page store: list");
            break;
        }
        v[cnt++] = s;
    }
    closedir(d);
    if (rc) {
        for (size_t i = 0; i < cnt; i++)
            free(v[i]);
        free(v);
        return rc;
    }
    if (cnt)
        qsort(v, cnt, sizeof(*v), cmp_str);
    *names = v;
    *n = cnt;
    return 0;
}

int xlcp_ps_release(struct xlcp_pagestore *ps, const char *name, struct xlcp_err *err)
{
    char path[PATH_MAX + 300];

    if (!ps_name_ok(name))
        return xlcp_err_set(err, XLCP_EINVAL, "page store: bad map name '%s'", name ? name : "");
    snprintf(path, sizeof(path), "%s/%s.map", ps->maps, name);
    if (unlink(path) != 0)
        return xlcp_err_errno(err, errno, "page store: release %s: unlink %s", name, path);
    return xlcp_fs_fsync_dir(ps->maps, err);
}
