/*
 * fake_export_io.c - the export io over files (fake_export_io.h).
 */
#include "fake_export_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void fake_xio_path(const struct fake_xio *f, const char *lv, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", f->dir, lv);
}

char *fake_xio_read(const struct fake_xio *f, const char *lv, size_t *len)
{
    char p[600];
    struct stat st;
    char *b = NULL;
    fake_xio_path(f, lv, p, sizeof(p));
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && (b = malloc((size_t)st.st_size + 1)) &&
        read(fd, b, (size_t)st.st_size) != st.st_size) {
        free(b);
        b = NULL;
    }
    close(fd);
    *len = (size_t)st.st_size;
    return b;
}

int fake_xio_fill(const struct fake_xio *f, const char *lv, size_t size, unsigned seed,
                  size_t zeros_from)
{
    char p[600];
    char *b = calloc(1, size);
    int rc = -1;
    if (!b)
        return -1;
    for (size_t i = 0; i < size && i < zeros_from; i++)
        b[i] = (char)((i * 7 + seed) | 1);
    fake_xio_path(f, lv, p, sizeof(p));
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0 && write(fd, b, size) == (ssize_t)size)
        rc = 0;
    if (fd >= 0)
        close(fd);
    free(b);
    return rc;
}

static int f_open(void *self, const struct xlcp_snapshot *s, int *fd, struct xlcp_err *err)
{
    char p[600];
    fake_xio_path(self, s->lv, p, sizeof(p));
    *fd = open(p, O_RDONLY);
    return *fd < 0 ? xlcp_err_errno(err, errno, "open %s", p) : 0;
}

static void f_close(void *self, const struct xlcp_snapshot *s, int fd)
{
    (void)self;
    (void)s;
    close(fd);
}

/* thin_delta's stand-in: the 64 KiB blocks that differ, each a whole block (a pool's
 * block may reach past the volume's end) */
static int f_changed(void *self, const struct xlcp_snapshot *a, const struct xlcp_snapshot *b,
                     struct xlcp_extent **out, size_t *n, struct xlcp_err *err)
{
    struct fake_xio *f = self;
    size_t la = 0, lb = 0, cnt = 0;
    if (f->fail_changed)
        return xlcp_err_set(err, XLCP_EDISK, "thin_delta failed (fake)");
    char *x = fake_xio_read(f, a->lv, &la), *y = fake_xio_read(f, b->lv, &lb);
    *out = calloc(lb / 65536 + 2, sizeof(**out));
    if (!x || !y || !*out) {
        free(x);
        free(y);
        free(*out);
        return xlcp_err_set(err, XLCP_ENOTFOUND, "fake volume %s or %s missing", a->lv, b->lv);
    }
    for (size_t o = 0; o < lb; o += 65536) {
        size_t k = lb - o < 65536 ? lb - o : 65536;
        if (o + k > la || memcmp(x + o, y + o, k) != 0) {
            (*out)[cnt].offset = o;
            (*out)[cnt].length = 65536;
            cnt++;
        }
    }
    *n = cnt;
    free(x);
    free(y);
    return 0;
}

static int f_create(void *self, const char *vg, const char *pool, const char *lv, uint64_t size,
                    const char *tag, struct xlcp_snapshot *out, int *zeroed, struct xlcp_err *err)
{
    struct fake_xio *f = self;
    (void)pool;
    if (strncmp(tag, "xlcp-", 5) != 0)
        return xlcp_err_set(err, XLCP_EINVAL, "fake: bad tag %s", tag);
    memset(out, 0, sizeof(*out));
    snprintf(out->vg, sizeof(out->vg), "%s", vg);
    snprintf(out->lv, sizeof(out->lv), "%s", lv);
    fake_xio_path(f, lv, out->path, sizeof(out->path));
    int fd = open(out->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    char *junk = malloc(size);
    int rc = 0;
    if (fd < 0 || !junk) {
        rc = xlcp_err_errno(err, fd < 0 ? errno : ENOMEM, "fake: create %s", out->path);
    } else {
        memset(junk, 0xa5, size);
        if (write(fd, junk, size) != (ssize_t)size)
            rc = xlcp_err_errno(err, errno, "fake: fill %s", out->path);
    }
    free(junk);
    if (fd >= 0)
        close(fd);
    *zeroed = 0;
    f->created += rc == 0;
    return rc;
}

static int f_seal(void *self, const struct xlcp_snapshot *s, struct xlcp_err *err)
{
    (void)self, (void)s, (void)err;
    return 0;
}

static int f_remove(void *self, const struct xlcp_snapshot *s, struct xlcp_err *err)
{
    struct fake_xio *f = self;
    char p[600];
    (void)err;
    fake_xio_path(f, s->lv, p, sizeof(p));
    unlink(p);
    f->removed++;
    return 0;
}

static const struct xlcp_export_io_ops ops = {f_open,   f_close, f_changed,
                                              f_create, f_seal,  f_remove};

int fake_xio_init(struct fake_xio *f, const char *dir)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "%s", dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    f->io.ops = &ops;
    f->io.self = f;
    return 0;
}
