/*
 * engine_ps_read.c - a checkpoint's memory image read back from the page store its
 * manifest names (map + root, engine_pagestore.c): verify (the map's every page
 * re-hashed, or for a restore only that the map is there), the standard xl save image
 * rebuilt into a file (export), and the same fed through a pipe by a thread while the
 * hypervisor port reads the other end (restore: libxl reads migration streams from
 * descriptors it cannot seek, as `xl migrate-receive` does).
 *
 * The store is found by the manifest's root only, never the environment, and never
 * created here: a root whose store is gone is a checkpoint whose memory is missing.
 */
#include "engine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pagestore.h"

/* The store m names, which must exist. */
static int open_store(const struct xlcp_manifest *m, struct xlcp_pagestore **ps,
                      struct xlcp_err *err)
{
    char dir[PATH_MAX + 32];
    struct stat st;

    *ps = NULL;
    if (!m->pagestore_map[0] || !m->pagestore_root[0])
        return xlcp_err_set(err, XLCP_EINTERNAL, "the manifest names no page store");
    snprintf(dir, sizeof(dir), "%s/" XLCP_PS_DIR, m->pagestore_root);
    if (stat(dir, &st) != 0)
        return xlcp_err_errno(err, errno, "page store %s", dir) == XLCP_ENOTFOUND
                   ? xlcp_err_set(err, XLCP_ECORRUPT,
                                  "page store %s holding the memory image (map %s) is missing", dir,
                                  m->pagestore_map)
                   : err->code;
    if (!S_ISDIR(st.st_mode))
        return xlcp_err_set(err, XLCP_ECORRUPT, "page store %s: not a directory", dir);
    return xlcp_ps_open(m->pagestore_root, NULL, ps, err);
}

int xlcp_engine_ps_verify(const struct xlcp_manifest *m, int deep, struct xlcp_err *err)
{
    struct xlcp_pagestore *ps;
    int rc = open_store(m, &ps, err);

    if (rc)
        return rc;
    if (deep)
        rc = xlcp_ps_verify_map(ps, m->pagestore_map, NULL, NULL, NULL, err);
    else if (!xlcp_ps_has(ps, m->pagestore_map))
        rc = xlcp_err_set(err, XLCP_ECORRUPT, "map %s holding the memory image is missing",
                          m->pagestore_map);
    xlcp_ps_close(ps);
    return rc ? xlcp_err_prefix(err, "page store %s", m->pagestore_root) : 0;
}

int xlcp_engine_ps_rebuild(const struct xlcp_manifest *m, int fd, uint64_t *bytes,
                           struct xlcp_err *err)
{
    struct xlcp_pagestore *ps;
    int rc = open_store(m, &ps, err);

    if (rc)
        return rc;
    rc = xlcp_ps_rebuild(ps, m->pagestore_map, fd, bytes, err);
    xlcp_ps_close(ps);
    return rc ? xlcp_err_prefix(err, "page store %s", m->pagestore_root) : 0;
}

/* ---- the pipe a restore reads ---------------------------------------------------- */

struct xlcp_ps_feed {
    pthread_t thread;
    struct xlcp_pagestore *ps;
    char map[XLCP_ID_MAX];
    char root[XLCP_PATH_MAX];
    int wfd;
    int rc;
    struct xlcp_err err;
};

static void *feed_main(void *arg)
{
    struct xlcp_ps_feed *f = arg;
    const struct timespec none = {0, 0};
    sigset_t pipe_sig;

    /* A reader that gave up makes the write fail (EPIPE), not the process die: SIGPIPE is
     * held in this thread and taken back before it ends. */
    sigemptyset(&pipe_sig);
    sigaddset(&pipe_sig, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_sig, NULL);
    f->rc = xlcp_ps_rebuild(f->ps, f->map, f->wfd, NULL, &f->err);
    close(f->wfd); /* the reader sees the end: whole, or cut short by a failure */
    f->wfd = -1;
    while (sigtimedwait(&pipe_sig, NULL, &none) == SIGPIPE)
        ;
    return NULL;
}

int xlcp_engine_ps_feed_start(const struct xlcp_manifest *m, int *rfd, struct xlcp_ps_feed **out,
                              struct xlcp_err *err)
{
    struct xlcp_ps_feed *f = calloc(1, sizeof(*f));
    int fds[2], rc;

    *out = NULL;
    *rfd = -1;
    if (!f)
        return xlcp_err_errno(err, ENOMEM, "page store");
    snprintf(f->map, sizeof(f->map), "%s", m->pagestore_map);
    snprintf(f->root, sizeof(f->root), "%s", m->pagestore_root);
    xlcp_err_clear(&f->err);
    if ((rc = open_store(m, &f->ps, err)) != 0) {
        free(f);
        return rc;
    }
    /* close-on-exec: a child of the toolstack (hotplug scripts) must not hold the write
     * end open, or the reader would not see its end */
    if (pipe2(fds, O_CLOEXEC) != 0) {
        rc = xlcp_err_errno(err, errno, "pipe for the image rebuilt from the page store");
        xlcp_ps_close(f->ps);
        free(f);
        return rc;
    }
    (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20); /* fewer wake-ups; the default works too */
    f->wfd = fds[1];
    rc = pthread_create(&f->thread, NULL, feed_main, f);
    if (rc != 0) {
        close(fds[0]);
        close(fds[1]);
        xlcp_ps_close(f->ps);
        free(f);
        return xlcp_err_errno(err, rc, "thread rebuilding the image from the page store");
    }
    *rfd = fds[0];
    *out = f;
    return 0;
}

int xlcp_engine_ps_feed_end(struct xlcp_ps_feed *f, int rfd, struct xlcp_err *err)
{
    int rc;

    /* the read end first: a writer blocked on a reader that stopped fails at once */
    if (rfd >= 0)
        close(rfd);
    pthread_join(f->thread, NULL);
    rc = f->rc;
    if (rc) {
        *err = f->err;
        xlcp_err_prefix(err, "memory image rebuilt from page store %s", f->root);
    }
    xlcp_ps_close(f->ps);
    free(f);
    return rc;
}
