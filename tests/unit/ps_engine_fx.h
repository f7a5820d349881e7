/*
 * ps_engine_fx.h - the fixture of the tests of the page store in the engine
 * (test_pagestore_create.c, test_pagestore_restore.c): the engine's fake world (engine_fx.h)
 * with XLCP_PAGESTORE set to a new temporary directory, and what those tests look at: a
 * checkpoint's directory and files, the image the fake hypervisor saved, the store's maps.
 * Include after cmocka.h.
 */
#ifndef XLCP_PS_ENGINE_FX_H
#define XLCP_PS_ENGINE_FX_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_fx.h"
#include "pagestore.h"
#include "fakes/ps_fx.h"

struct psx {
    struct fx *f;
    char *dir;           /* the store's root, as XLCP_PAGESTORE gives it */
    char real[PATH_MAX]; /* ... and as the manifest must record it */
};

/* A fake world whose web1 has ndisks disks, XLCP_PAGESTORE set to a new directory. */
static inline struct psx *psx_new(int ndisks)
{
    struct psx *x = calloc(1, sizeof(*x));
    void *st;

    assert_non_null(x);
    unsetenv("XLCP_PAGESTORE_KEEP_FILE");
    x->dir = psfx_tmpdir();
    assert_non_null(realpath(x->dir, x->real));
    assert_int_equal(setenv("XLCP_PAGESTORE", x->dir, 1), 0);
    fx_setup(&st, ndisks);
    x->f = st;
    return x;
}

static inline void psx_free(struct psx *x)
{
    void *st = x->f;

    unsetenv("XLCP_PAGESTORE");
    unsetenv("XLCP_PAGESTORE_KEEP_FILE");
    teardown(&st);
    psfx_rmdir(x->dir);
    free(x);
}

/* The directory of checkpoint id. */
static inline void psx_cpdir(struct psx *x, const char *id, char *out, size_t len)
{
    struct xlcp_manifest m;
    char dir[XLCP_PATH_MAX];

    assert_int_equal(xlcp_engine_load(&x->f->w->ports, id, &m, dir, sizeof(dir), &x->f->err), 0);
    xlcp_manifest_free(&m);
    snprintf(out, len, "%s", dir);
}

/* 1 if checkpoint id's directory holds file name. */
static inline int psx_has_file(struct psx *x, const char *id, const char *name)
{
    char dir[XLCP_PATH_MAX], path[XLCP_PATH_MAX + 40];

    psx_cpdir(x, id, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* The image the fake hypervisor saved of web1 (fakes.c: hv_save). */
static inline void psx_saved_image(struct psx *x, struct sb *b)
{
    sb_pv_image(b, x->f->dom->memory_pattern + x->f->dom->d.domid, 10, 16 * 4096, NULL);
}

/* The store at the fixture's root (close with xlcp_ps_close). */
static inline struct xlcp_pagestore *psx_store(struct psx *x)
{
    struct xlcp_pagestore *ps;
    struct xlcp_err err;

    xlcp_err_clear(&err);
    if (xlcp_ps_open(x->dir, NULL, &ps, &err) != 0)
        fail_msg("open the page store: %s", err.msg);
    return ps;
}

/* 1 if map name is in the fixture's store. */
static inline int psx_has_map(struct psx *x, const char *name)
{
    struct xlcp_pagestore *ps = psx_store(x);
    int has = xlcp_ps_has(ps, name);

    xlcp_ps_close(ps);
    return has;
}

/* Fails the test unless rc is want and the error holds every one of the strings. */
static inline void psx_expect(struct psx *x, int rc, int want, const char *const *says)
{
    if (rc != want)
        fail_msg("rc %d, wanted %d: %s", rc, want, x->f->err.msg);
    for (; *says; says++)
        if (!strstr(x->f->err.msg, *says))
            fail_msg("'%s' not in: %s", *says, x->f->err.msg);
}

#endif
