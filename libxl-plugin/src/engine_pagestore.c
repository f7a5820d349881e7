/*
 * engine_pagestore.c - the opt-in page store of memory images, the side that puts images
 * in and takes them out: with XLCP_PAGESTORE=DIR in the environment of `create`, each
 * checkpoint's memory image, once it is whole, is stored into the content-addressed page
 * store DIR/pagestore (pagestore.h) as map <checkpoint id> and the map is checked page by
 * page; the manifest records the map and the store's root (DIR, absolute) with what the
 * stream held and what was stored (<memory><pagestore>). When both went well, memory.xl
 * is dropped before the commit (XLCP_PAGESTORE_KEEP_FILE=1 keeps it, for debugging): the
 * store is then the image's only home. A failure is recorded in <pagestore-note> and the
 * checkpoint keeps its memory.xl: the store never fails a checkpoint.
 *
 * Only `create` reads the environment (and records the root in its intent record, before
 * the guest is touched). Every later command finds the store through the manifest's root
 * (the intent record's, for what an interrupted run left): deleting a checkpoint releases
 * its map and collects the store. A manifest of before version 2 names no root: its map is
 * released from the store XLCP_PAGESTORE names, as then. Reading the store (verify,
 * restore, export) is in engine_ps_read.c.
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagestore.h"

static const char *env_dir(void)
{
    const char *d = getenv("XLCP_PAGESTORE");
    return d && *d ? d : NULL;
}

int xlcp_engine_ps_root(char *out, size_t len, struct xlcp_err *err)
{
    const char *d = env_dir();
    char cwd[PATH_MAX], real[PATH_MAX];
    int n;

    out[0] = '\0';
    if (!d)
        return 0;
    if (realpath(d, real) != NULL) {
        d = real;
    } else if (d[0] != '/') { /* not there yet (the store makes it): made absolute */
        if (!getcwd(cwd, sizeof(cwd)))
            return xlcp_err_errno(err, errno, "XLCP_PAGESTORE=%s: the current directory", d);
        n = snprintf(real, sizeof(real), "%s/%s", cwd, d);
        if (n < 0 || (size_t)n >= sizeof(real))
            return xlcp_err_set(err, XLCP_EINVAL, "XLCP_PAGESTORE=%s: path too long", d);
        d = real;
    }
    if (strlen(d) >= len || strchr(d, '\n'))
        return xlcp_err_set(err, XLCP_EINVAL,
                            "XLCP_PAGESTORE=%s: too long (at most %zu bytes) or a newline in it", d,
                            len - 1);
    snprintf(out, len, "%s", d);
    return 0;
}

/* XLCP_PAGESTORE_KEEP_FILE=1: memory.xl is kept beside the map (debugging, comparing). */
static int keep_file(void)
{
    const char *k = getenv("XLCP_PAGESTORE_KEEP_FILE");
    return k && *k && strcmp(k, "0") != 0;
}

int xlcp_engine_ps_store(struct xlcp_manifest *m, const char *root, int mem_fd)
{
    struct xlcp_pagestore *ps = NULL;
    struct xlcp_ps_stats st;
    struct xlcp_ps_verify_stats vst;
    struct xlcp_err err;
    char self[64];
    int fd, rc;

    if (!root || !*root)
        return 0;
    xlcp_err_clear(&err);
    memset(&st, 0, sizeof(st));
    /* a descriptor of its own: the image's may be O_DIRECT, and its offset is the sink's */
    snprintf(self, sizeof(self), "/proc/self/fd/%d", mem_fd);
    fd = open(self, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        rc = xlcp_err_errno(&err, errno, "reopen %s", XLCP_MEMORY_FILE);
    else if ((rc = xlcp_ps_open(root, NULL, &ps, &err)) == 0)
        rc = xlcp_ps_store_fd(ps, m->id, fd, &st, &err);
    if (fd >= 0)
        close(fd);
    if (rc) {
        xlcp_ps_close(ps);
        snprintf(m->pagestore_note, sizeof(m->pagestore_note), "%s", err.msg);
        return 0;
    }
    snprintf(m->pagestore_map, sizeof(m->pagestore_map), "%s", m->id);
    snprintf(m->pagestore_root, sizeof(m->pagestore_root), "%s", root);
    m->pagestore_received = st.stream_bytes;
    m->pagestore_stored = st.bytes_stored + st.map_bytes;
    m->pagestore_pfns = st.pfns;
    /* the map read back as a restore reads it: every page, the stream it makes */
    rc = xlcp_ps_verify_map(ps, m->id, NULL, NULL, &vst, &err);
    if (rc == 0 && st.stream_bytes != m->memory_bytes)
        rc = xlcp_err_set(&err, XLCP_ECORRUPT, "stored %llu bytes of a %llu-byte image",
                          (unsigned long long)st.stream_bytes, (unsigned long long)m->memory_bytes);
    xlcp_ps_close(ps);
    if (rc) {
        /* a map that does not hold the image is no use: gone, and said why */
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        xlcp_engine_ps_release(root, m->id, &e2);
        m->pagestore_map[0] = '\0';
        m->pagestore_root[0] = '\0';
        snprintf(m->pagestore_note, sizeof(m->pagestore_note), "stored, but not as received: %s",
                 err.msg);
        return 0;
    }
    return !keep_file();
}

int xlcp_engine_ps_release(const char *root, const char *map, struct xlcp_err *err)
{
    const char *dir = root && *root ? root : env_dir();
    char path[PATH_MAX + 32];
    struct xlcp_pagestore *ps;
    int rc;

    if (!dir || !map || !*map)
        return 0;
    /* a store that is not there holds nothing to release (and is not made here) */
    snprintf(path, sizeof(path), "%s/" XLCP_PS_DIR, dir);
    if (access(path, F_OK) != 0)
        return 0;
    if ((rc = xlcp_ps_open(dir, NULL, &ps, err)) != 0)
        return xlcp_err_prefix(err, "page store %s", dir);
    if (!xlcp_ps_has(ps, map)) {
        xlcp_ps_close(ps);
        return 0;
    }
    rc = xlcp_ps_release(ps, map, err);
    if (rc == 0) {
        /* the space: best effort (busy while a restore reads the store; the next one) */
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        (void)xlcp_ps_gc(ps, NULL, &e2);
    }
    xlcp_ps_close(ps);
    return rc ? xlcp_err_prefix(err, "page store %s", dir) : 1;
}
