/*
 * test_group_ops.c - the operations on a committed group of this host, member by member
 * (group_ops.h), on the fakes: status and verify reports; delete all or report (a failing
 * member keeps the group, the next delete finishes; a checkpoint that is not the group's
 * is never deleted); restore: every member restored paused before any is unpaused, a
 * failing member undoes every member restored before it (domains and their volumes),
 * --replace replaces no original before every member is restored and leaves the
 * originals untouched when one fails; a restored domain that is no longer the one made
 * (renamed by someone else) is never destroyed by the undo. The same restore of members
 * whose memory images the page store holds alone (each fed the image rebuilt from the
 * store, inside begin): every member made and fed whole before any runs or any original
 * goes; a corrupt page in one member's part of the store fails the whole restore, naming
 * that member's checkpoint, map and pfn, and leaves no member made (domains, volumes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fakes/fakes.h"
#include "fakes/ps_fx.h"
#include "group_ops.h"

#define NPACKS_MAX 16

struct ox {
    struct fake_world *w;
    struct fake_dom *doms[3];
    struct xlcp_group_manifest g, g2;
    struct xlcp_group_result res[XLCP_GROUP_MAX];
    xlcp_restore_options ro;
    struct xlcp_err err;
    char *store; /* the page store's root (setup_stored), or NULL */
};

static const char *const names[3] = {"web1", "db1", "app1"};

/* Three domains, one group checkpoint of them: job1; with a store, its members' memory
 * images are in the store alone (nothing after the create is given XLCP_PAGESTORE). */
static int setup_with(void **state, char *store)
{
    struct ox *x = calloc(1, sizeof(*x));
    xlcp_group_options go = XLCP_GROUP_OPTIONS_INIT;
    xlcp_restore_options ri = XLCP_RESTORE_OPTIONS_INIT;
    const struct xlcp_ports *mp[3];

    assert_non_null(x);
    x->store = store;
    if (store) {
        assert_int_equal(unsetenv("XLCP_PAGESTORE_KEEP_FILE"), 0);
        assert_int_equal(setenv("XLCP_PAGESTORE", store, 1), 0);
    }
    x->w = fake_world_new();
    for (int i = 0; i < 3; i++) {
        x->doms[i] = fake_add_domain(x->w, names[i], 1);
        mp[i] = &x->w->ports;
    }
    go.name = "job1";
    x->ro = ri;
    xlcp_err_clear(&x->err);
    assert_int_equal(xlcp_engine_group_create(mp, 3, names, &go, &x->g, &x->err), 0);
    assert_int_equal(unsetenv("XLCP_PAGESTORE"), 0);
    for (int i = 0; store && i < 3; i++) {
        struct xlcp_manifest m;
        char dir[XLCP_PATH_MAX];
        assert_int_equal(xlcp_engine_load(&x->w->ports, x->g.members[i].checkpoint_id, &m, dir,
                                          sizeof(dir), &x->err),
                         0);
        assert_true(xlcp_manifest_memory_in_store(&m));
        xlcp_manifest_free(&m);
    }
    x->w->log[0] = '\0';
    *state = x;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

static int setup_stored(void **state)
{
    return setup_with(state, psfx_tmpdir());
}

static int teardown(void **state)
{
    struct ox *x = *state;

    fake_world_free(x->w);
    if (x->store)
        psfx_rmdir(x->store);
    free(x);
    return 0;
}

static int restore(struct ox *x)
{
    xlcp_err_clear(&x->err);
    return xlcp_engine_group_restore(&x->w->ports, "job1", &x->ro, &x->g2, x->res, &x->err);
}

static int domains(struct ox *x)
{
    int n = 0;

    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        n += x->w->doms[i].used;
    return n;
}

static int restored_volumes(struct ox *x)
{
    int n = 0;

    for (int i = 0; i < FAKE_MAX_VOLS; i++)
        n += x->w->vols[i].used && strcmp(x->w->vols[i].tag, "xlcp-restored") == 0;
    return n;
}

/* The three originals there, untouched, running. */
static void assert_originals(struct ox *x)
{
    for (int i = 0; i < 3; i++) {
        struct fake_dom *d = fake_find_domain(x->w, names[i]);
        assert_non_null(d);
        assert_int_equal(d->d.domid, (uint32_t)(i + 1));
        assert_int_equal(d->d.state, XLCP_DOM_RUNNING);
    }
}

static void test_status_and_verify(void **state)
{
    struct ox *x = *state;

    assert_int_equal(xlcp_engine_group_status(&x->w->ports, "job1", &x->g2, x->res, &x->err), 0);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(x->res[i].outcome, "present");
        assert_string_equal(x->res[i].host, "");
        assert_string_equal(x->res[i].dom_name, names[i]);
    }
    assert_int_equal(x->w->ports.store.ops->remove(x->w->ports.store.self,
                                                   x->g.members[1].checkpoint_id, &x->err),
                     0);
    assert_int_equal(xlcp_engine_group_status(&x->w->ports, "job1", &x->g2, x->res, &x->err), 0);
    assert_string_equal(x->res[1].outcome, "missing");
    assert_int_equal(xlcp_engine_group_verify(&x->w->ports, "job1", 0, &x->g2, x->res, &x->err),
                     XLCP_ENOTFOUND);
    assert_non_null(strstr(x->err.msg, "group 'job1' ("));
    assert_non_null(strstr(x->err.msg, "domain 'db1' step verify: "));
    assert_string_equal(x->res[0].outcome, "ok");
    assert_string_equal(x->res[2].outcome, "ok");
}

/* A member whose delete fails: the group stays, naming it; the next delete finishes. */
static void test_delete_all_or_report(void **state)
{
    struct ox *x = *state;

    fake_fail_after(x->w, "store.remove", XLCP_EIO, 1);
    assert_int_equal(xlcp_engine_group_delete(&x->w->ports, "job1", &x->g2, x->res, &x->err),
                     XLCP_EIO);
    assert_non_null(strstr(x->err.msg, "1 of 3 members not deleted, the group is kept"));
    assert_string_equal(x->res[0].outcome, "deleted");
    assert_string_equal(x->res[1].outcome, "failed");
    assert_string_equal(x->res[2].outcome, "deleted");
    assert_int_equal(xlcp_engine_group_delete(&x->w->ports, "job1", &x->g2, x->res, &x->err), 0);
    assert_string_equal(x->res[0].outcome, "gone");
    assert_string_equal(x->res[1].outcome, "deleted");
    assert_int_equal(fake_catalog_entries(x->w), 0);
    assert_int_equal(fake_snapshot_count(x->w), 0);
    assert_int_equal(xlcp_engine_group_load(&x->w->ports, "job1", &x->g2, &x->err), XLCP_ENOTFOUND);
}

/* A member checkpoint of another group (the group file says otherwise): not deleted. */
static void test_delete_refuses_another_groups_checkpoint(void **state)
{
    struct ox *x = *state;
    const struct xlcp_ports *mp[1] = {&x->w->ports};
    xlcp_group_options go = XLCP_GROUP_OPTIONS_INIT;
    struct xlcp_group_manifest other;
    const struct xlcp_store *st = &x->w->ports.store;
    char *xml = NULL, *at;

    go.name = "job2";
    assert_int_equal(xlcp_engine_group_create(mp, 1, names, &go, &other, &x->err), 0);
    /* job1's file names job2's checkpoint of web1 in place of its own */
    assert_int_equal(st->ops->group_get(st->self, XLCP_GROUP_MANIFEST, x->g.id, &xml, &x->err), 0);
    at = strstr(xml, x->g.members[0].checkpoint_id);
    assert_non_null(at);
    memcpy(at, other.members[0].checkpoint_id, strlen(other.members[0].checkpoint_id));
    assert_int_equal(st->ops->group_drop(st->self, XLCP_GROUP_MANIFEST, x->g.id, &x->err), 0);
    assert_int_equal(
        st->ops->group_put(st->self, XLCP_GROUP_MANIFEST, x->g.id, xml, strlen(xml), &x->err), 0);
    free(xml);
    assert_int_equal(xlcp_engine_group_delete(&x->w->ports, "job1", &x->g2, x->res, &x->err),
                     XLCP_ECORRUPT);
    assert_string_equal(x->res[0].outcome, "refused");
    assert_int_equal(xlcp_engine_group_verify(&x->w->ports, "job2", 0, &x->g2, x->res, &x->err), 0);
}

static void test_restore_unpauses_together(void **state)
{
    struct ox *x = *state;
    long last_restore, first_unpause;

    assert_int_equal(restore(x), 0);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(x->res[i].outcome, "running");
        assert_true(x->res[i].domid != 0);
        assert_int_equal(fake_find_domain(x->w, x->res[i].new_name)->d.state, XLCP_DOM_RUNNING);
    }
    last_restore = fake_log_pos(x->w->log, "hv.restore", 1);
    first_unpause = fake_log_pos(x->w->log, "hv.unpause", 0);
    assert_true(last_restore >= 0 && first_unpause > last_restore);
    assert_originals(x);
}

/* The third member fails: the two made before it go again, with their volumes. */
static void test_restore_fails_cleans_up(void **state)
{
    struct ox *x = *state;

    fake_fail_after(x->w, "hv.restore", XLCP_EHV, 2);
    assert_int_equal(restore(x), XLCP_EHV);
    assert_non_null(strstr(x->err.msg, "domain 'app1' step restore: "));
    assert_string_equal(x->res[0].outcome, "undone");
    assert_string_equal(x->res[1].outcome, "undone");
    assert_string_equal(x->res[2].outcome, "failed");
    assert_int_equal(fake_log_pos(x->w->log, "hv.unpause", 0), -1);
    assert_int_equal(domains(x), 3);
    assert_int_equal(restored_volumes(x), 0);
    assert_originals(x);
}

/* --replace: no original goes before every member is restored; if one fails, none. */
static void test_restore_replace(void **state)
{
    struct ox *x = *state;

    x->ro.replace = 1;
    x->ro.force = 1;
    fake_fail_after(x->w, "hv.restore", XLCP_EHV, 2);
    assert_int_equal(restore(x), XLCP_EHV);
    assert_int_equal(fake_log_pos(x->w->log, "hv.destroy web1\n", 0), -1);
    assert_originals(x);
    assert_int_equal(domains(x), 3);
    assert_int_equal(restored_volumes(x), 0);
    x->w->log[0] = '\0';
    assert_int_equal(restore(x), 0);
    assert_true(fake_log_pos(x->w->log, "hv.destroy web1", 0) >
                fake_log_pos(x->w->log, "hv.restore", 1));
    for (int i = 0; i < 3; i++) {
        struct fake_dom *d = fake_find_domain(x->w, names[i]);
        assert_string_equal(x->res[i].new_name, names[i]);
        assert_non_null(d);
        assert_int_equal(d->d.domid, x->res[i].domid);
        assert_int_equal(d->d.state, XLCP_DOM_RUNNING);
    }
    assert_int_equal(domains(x), 3);
}

/* A restored domain renamed meanwhile by someone else is not ours to destroy. */
static void test_undo_spares_a_domain_no_longer_ours(void **state)
{
    struct ox *x = *state;
    struct xlcp_restore_run run;
    struct fake_dom *d;

    assert_int_equal(xlcp_engine_restore_begin(&x->w->ports, x->g.members[0].checkpoint_id, &x->ro,
                                               1, &run, &x->err),
                     0);
    assert_true(run.made.uuid[0] != '\0');
    d = fake_find_domain(x->w, run.made.name);
    assert_non_null(d);
    snprintf(d->d.name, sizeof(d->d.name), "someone-elses");
    xlcp_err_clear(&x->err);
    xlcp_engine_restore_undo(&run, &x->err);
    xlcp_engine_restore_end(&run);
    assert_non_null(strstr(x->err.msg, "left alone"));
    assert_non_null(fake_find_domain(x->w, "someone-elses"));
    assert_null(strstr(x->w->log, "hv.destroy"));
}

/* ---- members held by the page store -------------------------------------------------- */

static void test_restore_from_store(void **state)
{
    struct ox *x = *state;

    assert_non_null(x->store);
    test_restore_unpauses_together(state);
    assert_null(strstr(x->w->log, " failed\n"));
    assert_int_equal(domains(x), 6);
}

/* --replace: the originals go only after every member was made and fed */
static void test_restore_from_store_replace(void **state)
{
    struct ox *x = *state;

    x->ro.replace = 1;
    x->ro.force = 1;
    if (restore(x) != 0)
        fail_msg("group restore --replace: %s", x->err.msg);
    assert_true(fake_log_pos(x->w->log, "hv.destroy web1\n", 0) >
                fake_log_pos(x->w->log, "hv.restore", 1));
    for (int i = 0; i < 3; i++) {
        struct fake_dom *d = fake_find_domain(x->w, names[i]);
        assert_non_null(d);
        assert_int_equal(d->d.domid, x->res[i].domid);
        assert_int_equal(d->d.state, XLCP_DOM_RUNNING);
    }
    assert_int_equal(domains(x), 3);
}

/* 1 if member i's image no longer checks out (every page re-hashed). */
static int member_bad(struct ox *x, int i)
{
    struct xlcp_err e;

    xlcp_err_clear(&e);
    return xlcp_engine_verify(&x->w->ports, x->g.members[i].checkpoint_id, 0, &e) != 0;
}

/* Damages the pack that holds app1's image and no other member's: its part of the store
 * has a corrupt page, the others' none. */
static void damage_last_member(struct ox *x)
{
    char packs[NPACKS_MAX][32];
    int n = psfx_packs(x->store, packs, NPACKS_MAX);

    assert_true(n > 0);
    for (int k = 0; k < n; k++) {
        assert_int_equal(psfx_damage_pack(x->store, packs[k]), 0);
        if (!member_bad(x, 0) && !member_bad(x, 1) && member_bad(x, 2))
            return;
        assert_int_equal(psfx_damage_pack(x->store, packs[k]), 0); /* flipped back */
    }
    fail_msg("no pack of the store holds app1's pages alone");
}

static void test_restore_corrupt_member(void **state)
{
    struct ox *x = *state;
    const char *says[] = {"domain 'app1' step restore: ",
                          "restore of checkpoint",
                          x->g.members[2].checkpoint_id,
                          "map",
                          "pfn ",
                          NULL};

    damage_last_member(x);
    for (int replace = 0; replace <= 1; replace++) {
        x->ro.replace = replace;
        x->ro.force = replace;
        x->w->log[0] = '\0';
        assert_int_equal(restore(x), XLCP_ECORRUPT);
        for (const char *const *s = says; *s; s++)
            if (!strstr(x->err.msg, *s))
                fail_msg("'%s' not in: %s", *s, x->err.msg);
        /* the two made before it were fed whole, then undone with their volumes; app1's
         * toolstack saw its stream cut */
        assert_string_equal(x->res[0].outcome, "undone");
        assert_string_equal(x->res[1].outcome, "undone");
        assert_string_equal(x->res[2].outcome, "failed");
        assert_true(fake_log_pos(x->w->log, "hv.destroy web1-", 0) >
                    fake_log_pos(x->w->log, "hv.destroy db1-", 0));
        assert_true(fake_log_pos(x->w->log, "hv.destroy db1-", 0) >
                    fake_log_pos(x->w->log, "hv.restore app1-", 0));
        assert_non_null(strstr(x->w->log, " failed\n"));
        assert_int_equal(fake_log_pos(x->w->log, "hv.unpause", 0), -1);
        assert_int_equal(fake_log_pos(x->w->log, "hv.destroy web1\n", 0), -1);
        assert_int_equal(domains(x), 3);
        assert_int_equal(restored_volumes(x), 0);
        assert_originals(x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_status_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_all_or_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_refuses_another_groups_checkpoint, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_restore_unpauses_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_fails_cleans_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_undo_spares_a_domain_no_longer_ours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_from_store, setup_stored, teardown),
        cmocka_unit_test_setup_teardown(test_restore_from_store_replace, setup_stored, teardown),
        cmocka_unit_test_setup_teardown(test_restore_corrupt_member, setup_stored, teardown),
    };

    return cmocka_run_group_tests_name("group_ops", tests, NULL, NULL);
}
