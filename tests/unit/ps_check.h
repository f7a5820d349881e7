/*
 * ps_check.h - assertions shared by the page store's tests (test_pagestore_gc.c,
 * test_pagestore_damage.c), over the helpers of fakes/ps_fx.h. Include after cmocka.h.
 */
#ifndef XLCP_PS_CHECK_H
#define XLCP_PS_CHECK_H

#include "pagestore.h"
#include "fakes/ps_fx.h"

/* Stores b as map name, or fails the test. */
static inline void store(struct psfx_t *t, const char *name, const struct sb *b)
{
    if (psfx_store(t->ps, name, b->p, b->len, 0, NULL, &t->err) != 0)
        fail_msg("store %s: %s", name, t->err.msg);
}

/* Map name rebuilds into what b says, or the test fails. */
static inline void intact(struct psfx_t *t, const char *name, const struct sb *b)
{
    char why[300];
    if (psfx_intact(t->ps, name, b, NULL, why, sizeof(why)))
        fail_msg("%s", why);
}

#endif
