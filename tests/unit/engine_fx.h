/*
 * engine_fx.h - the fixture of the engine's unit tests (test_engine.c,
 * test_leftovers.c): a fake world with one domain "web1", create options, and a
 * manifest and an error for each test.
 */
#ifndef XLCP_ENGINE_FX_H
#define XLCP_ENGINE_FX_H

#include <stdlib.h>

#include "engine.h"
#include "fakes/fakes.h"

struct fx {
    struct fake_world *w;
    struct fake_dom *dom;
    xlcp_create_options opts;
    struct xlcp_manifest m;
    struct xlcp_err err;
};

/* A world whose domain web1 has `ndisks` thick LVM disks. */
static inline int fx_setup(void **state, int ndisks)
{
    struct fx *f = calloc(1, sizeof(*f));
    xlcp_create_options init = XLCP_CREATE_OPTIONS_INIT;

    assert_non_null(f);
    f->w = fake_world_new();
    f->dom = fake_add_domain(f->w, "web1", ndisks);
    f->opts = init;
    xlcp_err_clear(&f->err);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    struct fx *f = *state;
    xlcp_manifest_free(&f->m);
    fake_world_free(f->w);
    free(f);
    return 0;
}

static inline int create(struct fx *f, const char *dom)
{
    xlcp_manifest_free(&f->m);
    xlcp_err_clear(&f->err);
    return xlcp_engine_create(&f->w->ports, dom, &f->opts, &f->m, &f->err);
}

#endif
