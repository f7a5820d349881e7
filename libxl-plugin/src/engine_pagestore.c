/*
 * engine_pagestore.c - the opt-in page store of memory images: with XLCP_PAGESTORE=DIR in
 * the environment, `create` also stores each checkpoint's memory image, once it is whole,
 * into the content-addressed page store DIR/pagestore (pagestore.h) as map <checkpoint id>,
 * and the manifest records what the stream held and what was stored (<memory><pagestore>);
 * deleting the checkpoint releases its map and collects the store's garbage.
 *
 * memory.xl is written, digested and restored from exactly as without it: the page store
 * is an addition while it is proven on real guests, and it never fails a checkpoint (a
 * failure is recorded in <memory><pagestore-note>). Without XLCP_PAGESTORE nothing here
 * runs.
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagestore.h"

static const char *ps_dir(void)
{
    const char *d = getenv("XLCP_PAGESTORE");
    return d && *d ? d : NULL;
}

void xlcp_engine_ps_store(struct xlcp_manifest *m, int mem_fd)
{
    const char *dir = ps_dir();
    struct xlcp_pagestore *ps = NULL;
    struct xlcp_ps_stats st;
    struct xlcp_err err;
    char self[64];
    int fd, rc;

    if (!dir)
        return;
    xlcp_err_clear(&err);
    /* a descriptor of its own: the image's may be O_DIRECT, and its offset is the sink's */
    snprintf(self, sizeof(self), "/proc/self/fd/%d", mem_fd);
    fd = open(self, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        rc = xlcp_err_errno(&err, errno, "reopen %s", XLCP_MEMORY_FILE);
    else if ((rc = xlcp_ps_open(dir, NULL, &ps, &err)) == 0)
        rc = xlcp_ps_store_fd(ps, m->id, fd, &st, &err);
    if (fd >= 0)
        close(fd);
    xlcp_ps_close(ps);
    if (rc) {
        snprintf(m->pagestore_note, sizeof(m->pagestore_note), "%s", err.msg);
        return;
    }
    snprintf(m->pagestore_map, sizeof(m->pagestore_map), "%s", m->id);
    m->pagestore_received = st.stream_bytes;
    m->pagestore_stored = st.bytes_stored + st.map_bytes;
    m->pagestore_pfns = st.pfns;
}

void xlcp_engine_ps_release(const char *id)
{
    const char *dir = ps_dir();
    struct xlcp_pagestore *ps;
    struct xlcp_err err;

    if (!dir || xlcp_ps_open(dir, NULL, &ps, &err) != 0)
        return;
    /* best effort: a map left behind is only space, which the next release collects */
    if (xlcp_ps_has(ps, id) && xlcp_ps_release(ps, id, &err) == 0)
        (void)xlcp_ps_gc(ps, NULL, &err);
    xlcp_ps_close(ps);
}
