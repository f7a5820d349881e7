/*
 * test_group.c - group checkpoints on the fakes: a group of 3 committed with its manifest
 * and instants; the consistency rule (no member resumes before the last capture) read
 * from the fakes' call log; one member failing at each phase (prepare, arming, never
 * suspends, capture, commit, group manifest) leaves every guest running and nothing
 * committed; a run killed after its members committed is undone by recover; verify and
 * delete of a group (restore and the rest: test_group_ops.c); --at: copies started so that the
 * stops land at the time, the deviation recorded, a time past or too near refused before anything
 * is touched; create --at of one domain; a version 1 group.xml, and callers of version 1 of the
 * options, still work.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctx.h"
#include "engine.h"
#include "fakes/fakes.h"
#include "group_manifest.h"
#include "group_ops.h"

struct gx {
    struct fake_world *w;
    struct fake_dom *doms[3];
    xlcp_create_options copts;
    xlcp_group_options gopts;
    struct xlcp_group_manifest g;
    struct xlcp_group_manifest g2; /* the group an operation loaded */
    struct xlcp_group_result res[XLCP_GROUP_MAX];
    struct xlcp_err err;
};

static const char *const names[3] = {"web1", "db1", "app1"};

static int setup(void **state)
{
    struct gx *x = calloc(1, sizeof(*x));
    xlcp_create_options ci = XLCP_CREATE_OPTIONS_INIT;
    xlcp_group_options gi = XLCP_GROUP_OPTIONS_INIT;

    assert_non_null(x);
    x->w = fake_world_new();
    for (int i = 0; i < 3; i++)
        x->doms[i] = fake_add_domain(x->w, names[i], 1);
    x->copts = ci;
    x->gopts = gi;
    x->gopts.name = "job1";
    x->gopts.member = &x->copts;
    xlcp_err_clear(&x->err);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    struct gx *x = *state;

    xlcp_engine_group_test_hook = NULL;
    fake_world_free(x->w);
    free(x);
    return 0;
}

static int gcreate(struct gx *x, size_t n)
{
    const struct xlcp_ports *mp[3] = {&x->w->ports, &x->w->ports, &x->w->ports};

    xlcp_err_clear(&x->err);
    return xlcp_engine_group_create(mp, n, names, &x->gopts, &x->g, &x->err);
}

static size_t count_groups(struct gx *x, enum xlcp_group_kind kind)
{
    const struct xlcp_store *st = &x->w->ports.store;
    char **ids = NULL;
    size_t n = 0;

    assert_int_equal(st->ops->group_list(st->self, kind, &ids, &n, &x->err), 0);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return n;
}

/* Nothing committed, nothing held, no volume, no record; every guest running. */
static void assert_nothing_left(struct gx *x)
{
    for (int i = 0; i < 3; i++) {
        assert_int_equal(x->doms[i]->suspended, 0);
        assert_int_equal(x->doms[i]->d.state, XLCP_DOM_RUNNING);
    }
    assert_int_equal(fake_held_count(x->w), 0);
    assert_int_equal(fake_snapshot_count(x->w), 0);
    assert_int_equal(fake_catalog_entries(x->w), 0);
    assert_int_equal(count_groups(x, XLCP_GROUP_MANIFEST), 0);
    assert_int_equal(count_groups(x, XLCP_GROUP_INTENT), 0);
}

static void test_group_of_three(void **state)
{
    struct gx *x = *state;
    struct xlcp_group_manifest g2;
    uint64_t lo = UINT64_MAX, hi = 0;

    assert_int_equal(gcreate(x, 3), 0);
    assert_int_equal(x->g.n, 3);
    assert_string_equal(x->g.name, "job1");
    assert_string_equal(x->g.clock, "dom0-monotonic");
    for (int i = 0; i < 3; i++) {
        const struct xlcp_group_member *gm = &x->g.members[i];
        struct xlcp_manifest m;
        char dir[XLCP_PATH_MAX];

        assert_string_equal(gm->dom_name, names[i]);
        assert_true(gm->stopped_ns > 0);
        assert_true(gm->resumed_ns > gm->stopped_ns);
        lo = gm->stopped_ns < lo ? gm->stopped_ns : lo;
        hi = gm->stopped_ns > hi ? gm->stopped_ns : hi;
        assert_int_equal(
            xlcp_engine_load(&x->w->ports, gm->checkpoint_id, &m, dir, sizeof(dir), &x->err), 0);
        assert_string_equal(m.group_id, x->g.id);
        assert_string_equal(m.dom_uuid, x->doms[i]->d.uuid);
        xlcp_manifest_free(&m);
        assert_int_equal(x->doms[i]->resumes, 1);
        assert_int_equal(x->doms[i]->suspended, 0);
    }
    assert_int_equal(x->g.skew_ns, hi - lo);
    assert_int_equal(fake_held_count(x->w), 0);
    assert_int_equal(fake_snapshot_count(x->w), 3);
    assert_int_equal(count_groups(x, XLCP_GROUP_INTENT), 0);
    /* by id and by name, validated */
    assert_int_equal(xlcp_engine_group_load(&x->w->ports, x->g.id, &g2, &x->err), 0);
    assert_int_equal(g2.n, 3);
    assert_int_equal(g2.skew_ns, x->g.skew_ns);
    assert_int_equal(g2.members[1].stopped_ns, x->g.members[1].stopped_ns);
    assert_int_equal(xlcp_engine_group_load(&x->w->ports, "job1", &g2, &x->err), 0);
    assert_string_equal(g2.id, x->g.id);
    assert_int_equal(xlcp_engine_group_verify(&x->w->ports, "job1", 0, &x->g2, x->res, &x->err), 0);
}

/* The consistency rule, as the fakes saw it: every member stopped and every disk captured
 * before any member resumed. */
static void test_no_resume_before_last_capture(void **state)
{
    struct gx *x = *state;
    long last_capture, first_resume, last_stop;

    for (int round = 0; round < 5; round++) { /* threads: a few interleavings */
        x->w->log[0] = '\0';
        assert_int_equal(gcreate(x, 3), 0);
        last_capture = fake_log_pos(x->w->log, "disk.capture", 1);
        last_stop = fake_log_pos(x->w->log, "hv.stopped", 1);
        first_resume = fake_log_pos(x->w->log, "hv.resume", 0);
        assert_true(last_capture >= 0 && last_stop >= 0 && first_resume >= 0);
        assert_true(last_capture < first_resume);
        assert_true(last_stop < first_resume);
        /* and the arming of every member came before any guest was touched */
        assert_true(fake_log_pos(x->w->log, "disk.arm", 1) < fake_log_pos(x->w->log, "hv.save", 0));
    }
}

static void test_member_never_suspends(void **state)
{
    struct gx *x = *state;

    x->doms[1]->never_suspends = 1;
    int rc = gcreate(x, 3);
    if (rc != XLCP_ETIMEDOUT)
        fprintf(stderr, "%s\n", x->err.msg);
    assert_int_equal(rc, XLCP_ETIMEDOUT);
    assert_non_null(strstr(x->err.msg, "group 'job1'"));
    assert_non_null(strstr(x->err.msg, "db1"));
    assert_nothing_left(x);
}

/* The schedule: from each member's last checkpoint, the time its live copy took to reach
 * the stop; the shorter ones start later so that all stop together. */
static void test_copies_scheduled_to_stop_together(void **state)
{
    struct gx *x = *state;
    struct xlcp_manifest m;

    x->doms[0]->precopy_ns = 50000000; /* web1: 50 ms of rounds before its stop */
    x->doms[1]->precopy_ns = 5000000;  /* db1: 5 ms */
    x->doms[2]->precopy_ns = 1000000;  /* app1: 1 ms */
    /* no history: every copy starts at once */
    assert_int_equal(gcreate(x, 3), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(x->g.members[i].start_delay_ns, 0);
    assert_int_equal(xlcp_engine_group_delete(&x->w->ports, x->g.id, &x->g2, x->res, &x->err), 0);
    /* one checkpoint each, alone: clean timings */
    for (int i = 0; i < 3; i++) {
        xlcp_err_clear(&x->err);
        assert_int_equal(xlcp_engine_create(&x->w->ports, names[i], &x->copts, &m, &x->err), 0);
        xlcp_manifest_free(&m);
    }
    assert_int_equal(gcreate(x, 3), 0);
    assert_int_equal(x->g.members[0].start_delay_ns, 0);
    assert_in_range(x->g.members[1].start_delay_ns, 44900000, 45100000);
    assert_in_range(x->g.members[2].start_delay_ns, 48900000, 49100000);
    /* recorded in group.xml */
    {
        struct xlcp_group_manifest g2;
        assert_int_equal(xlcp_engine_group_load(&x->w->ports, x->g.id, &g2, &x->err), 0);
        assert_int_equal(g2.members[1].start_delay_ns, x->g.members[1].start_delay_ns);
    }
    /* not live: no schedule (the guest stops at the start of its copy) */
    x->copts.live = 0;
    assert_int_equal(gcreate(x, 3), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(x->g.members[i].start_delay_ns, 0);
}

/* A member that stops late: the others, stopped and captured, wait for it at most
 * max_wait_ms; then the group gives up and every guest runs again. */
static void test_late_member_bounded_wait(void **state)
{
    struct gx *x = *state;

    x->gopts.max_wait_ms = 50;
    x->doms[2]->stop_delay_ms = 400;
    assert_int_equal(gcreate(x, 3), XLCP_ETIMEDOUT);
    assert_non_null(strstr(x->err.msg, "waited 50 ms stopped for the other members"));
    assert_nothing_left(x);
}

static void test_member_disk_full_at_arming(void **state)
{
    struct gx *x = *state;

    fake_fail_after(x->w, "disk.arm", XLCP_ENOSPC, 2); /* the third member's volume */
    assert_int_equal(gcreate(x, 3), XLCP_ENOSPC);
    assert_int_equal(fake_log_pos(x->w->log, "hv.save", 0), -1); /* no guest touched */
    assert_nothing_left(x);
}

/* Each member's snapshot fits, the three together do not: refused before any is touched. */
static void test_group_space_together(void **state)
{
    struct gx *x = *state;

    x->w->vg_free_bytes = (1ull << 30) / 5 * 2; /* room for two 20 % snapshots of 1 GiB */
    assert_int_equal(gcreate(x, 3), XLCP_ENOSPC);
    assert_non_null(strstr(x->err.msg, "together"));
    assert_int_equal(fake_log_pos(x->w->log, "hv.save", 0), -1);
    assert_nothing_left(x);
}

static void test_member_capture_fails(void **state)
{
    struct gx *x = *state;

    fake_fail_after(x->w, "disk.capture", XLCP_EDISK, 1); /* a guest already stopped */
    assert_int_equal(gcreate(x, 3), XLCP_EDISK);
    assert_nothing_left(x);
}

static void test_member_store_fails(void **state)
{
    struct gx *x = *state;

    fake_fail_after(x->w, "store.commit", XLCP_EIO, 1); /* the first member is committed */
    assert_int_equal(gcreate(x, 3), XLCP_EIO);
    assert_nothing_left(x);
    for (int i = 0; i < 3; i++)
        assert_int_equal(x->doms[i]->resumes, 1);
}

static void test_group_manifest_fails(void **state)
{
    struct gx *x = *state;

    fake_fail_after(x->w, "store.group_put", XLCP_EIO, 1); /* the record, then the manifest */
    assert_int_equal(gcreate(x, 3), XLCP_EIO);
    assert_non_null(strstr(x->err.msg, "group manifest"));
    assert_nothing_left(x);
}

static void test_member_prepare_fails(void **state)
{
    struct gx *x = *state;

    fake_fail_after(x->w, "store.intent_write", XLCP_EIO, 1);
    assert_int_equal(gcreate(x, 3), XLCP_EIO);
    assert_int_equal(fake_log_pos(x->w->log, "hv.save", 0), -1);
    assert_nothing_left(x);
}

static void test_bad_arguments(void **state)
{
    struct gx *x = *state;
    const struct xlcp_ports *mp[2] = {&x->w->ports, &x->w->ports};
    const char *twice[2] = {"web1", "web1"};

    x->gopts.name = "no spaces";
    assert_int_equal(gcreate(x, 3), XLCP_EINVAL);
    x->gopts.name = "job1";
    assert_int_not_equal(xlcp_engine_group_create(mp, 2, twice, &x->gopts, &x->g, &x->err), 0);
    assert_int_equal(fake_log_pos(x->w->log, "hv.save", 0), -1);
    assert_nothing_left(x);
}

static int die_after_members(const char *point)
{
    return strcmp(point, "members-committed") == 0;
}

/* Killed after its members were committed, before the group manifest: recover deletes
 * them (the group's record names them) and drops the record. */
static void test_killed_run_recovered(void **state)
{
    struct gx *x = *state;
    char *report = NULL;
    unsigned int count = 0;
    char **ids = NULL;
    size_t n = 0;

    xlcp_engine_group_test_hook = die_after_members;
    assert_int_not_equal(gcreate(x, 3), 0);
    xlcp_engine_group_test_hook = NULL;
    assert_int_equal(count_groups(x, XLCP_GROUP_INTENT), 1);
    assert_int_equal(count_groups(x, XLCP_GROUP_MANIFEST), 0);
    assert_int_equal(x->w->ports.store.ops->list(x->w->ports.store.self, NULL, &ids, &n, &x->err),
                     0);
    assert_int_equal(n, 3); /* three member checkpoints committed, orphans */
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    /* a dry run only says what it would do */
    assert_int_equal(
        xlcp_engine_recover(&x->w->ports, NULL, XLCP_RECOVER_DRY_RUN, &report, &count, &x->err), 0);
    assert_non_null(strstr(report, "would delete"));
    free(report);
    report = NULL;
    assert_int_equal(count_groups(x, XLCP_GROUP_INTENT), 1);
    assert_int_equal(fake_snapshot_count(x->w), 3);
    assert_int_equal(xlcp_engine_recover(&x->w->ports, NULL, 0, &report, &count, &x->err), 0);
    assert_non_null(strstr(report, "group not committed"));
    free(report);
    assert_nothing_left(x);
}

/* The catalog's group files: written whole or not at all, never overwritten, a half
 * written one (temporary directory) never listed. */
static void test_store_group_files(void **state)
{
    struct gx *x = *state;
    const struct xlcp_store *st = &x->w->ports.store;
    const char *gid = "20260101T000000.000Z-abcdef";
    char path[512], *text = NULL;

    assert_int_equal(st->ops->group_put(st->self, XLCP_GROUP_MANIFEST, gid, "<a/>", 4, &x->err), 0);
    assert_int_equal(st->ops->group_put(st->self, XLCP_GROUP_MANIFEST, gid, "<b/>", 4, &x->err),
                     XLCP_EBUSY);
    assert_int_equal(st->ops->group_get(st->self, XLCP_GROUP_MANIFEST, gid, &text, &x->err), 0);
    assert_string_equal(text, "<a/>");
    free(text);
    snprintf(path, sizeof(path), "%s/.groups/.tmp-20260101T000000.000Z-000000", x->w->root);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(count_groups(x, XLCP_GROUP_MANIFEST), 1);
    assert_int_equal(count_groups(x, XLCP_GROUP_INTENT), 0);
    assert_int_equal(st->ops->group_put(st->self, XLCP_GROUP_INTENT, gid, "x\n", 2, &x->err), 0);
    assert_int_equal(count_groups(x, XLCP_GROUP_INTENT), 1);
    assert_int_equal(st->ops->group_drop(st->self, XLCP_GROUP_INTENT, gid, &x->err), 0);
    assert_int_equal(st->ops->group_drop(st->self, XLCP_GROUP_INTENT, gid, &x->err),
                     XLCP_ENOTFOUND);
    assert_int_equal(st->ops->group_drop(st->self, XLCP_GROUP_MANIFEST, gid, &x->err), 0);
    assert_int_equal(st->ops->group_get(st->self, XLCP_GROUP_MANIFEST, gid, &text, &x->err),
                     XLCP_ENOTFOUND);
    assert_int_equal(st->ops->group_get(st->self, XLCP_GROUP_MANIFEST, "../x", &text, &x->err),
                     XLCP_ENOTFOUND);
}

/* A group manifest that does not match its schema is refused when read. */
static void test_corrupt_group_manifest(void **state)
{
    struct gx *x = *state;
    const struct xlcp_store *st = &x->w->ports.store;
    struct xlcp_group_manifest g2;
    const char *bad = "<group version=\"1\"><id>20260101T000000.000Z-abcdef</id></group>";

    assert_int_equal(st->ops->group_put(st->self, XLCP_GROUP_MANIFEST,
                                        "20260101T000000.000Z-abcdef", bad, strlen(bad), &x->err),
                     0);
    assert_int_equal(
        xlcp_engine_group_load(&x->w->ports, "20260101T000000.000Z-abcdef", &g2, &x->err),
        XLCP_ECORRUPT);
    assert_non_null(strstr(x->err.msg, "schema"));
}

/* One checkpoint of each member alone: the catalog then knows how long each copy takes. */
static void history(struct gx *x, size_t n)
{
    struct xlcp_manifest m;

    for (size_t i = 0; i < n; i++) {
        xlcp_err_clear(&x->err);
        assert_int_equal(xlcp_engine_create(&x->w->ports, names[i], &x->copts, &m, &x->err), 0);
        xlcp_manifest_free(&m);
    }
}

static int64_t wall_now(struct gx *x)
{
    return x->w->ports.clock.ops->wall_ns(x->w->ports.clock.self);
}

/* --at: each copy starts at the time minus its expected duration, so each stop lands at
 * the time (the fake clock: a few ms of fake work on the way); recorded in group.xml. */
static void test_at_schedule_and_deviation(void **state)
{
    struct gx *x = *state;
    struct xlcp_group_manifest g2;

    x->doms[0]->precopy_ns = 400000000; /* web1: 400 ms of rounds before its stop */
    history(x, 1);
    x->gopts.at_ns = wall_now(x) + 5000000000ll; /* in 5 s */
    assert_int_equal(gcreate(x, 1), 0);
    assert_int_equal(x->g.at_ns, x->gopts.at_ns);
    assert_true(x->g.members[0].has_deviation);
    assert_in_range(x->g.members[0].start_delay_ns, 4500000000ull, 4700000000ull);
    /* the stop lands within the fake copy's own few ms of the time */
    assert_true(x->g.members[0].deviation_ns > -20000000 &&
                x->g.members[0].deviation_ns < 20000000);
    assert_int_equal(xlcp_engine_group_load(&x->w->ports, x->g.id, &g2, &x->err), 0);
    assert_int_equal(g2.at_ns, x->gopts.at_ns);
    assert_int_equal(g2.members[0].deviation_ns, x->g.members[0].deviation_ns);
    assert_true(g2.members[0].has_deviation);
}

/* Three members with different copies: the longest starts first; deviations recorded. */
static void test_at_three_members(void **state)
{
    struct gx *x = *state;

    x->doms[0]->precopy_ns = 300000000;
    x->doms[1]->precopy_ns = 30000000;
    x->doms[2]->precopy_ns = 3000000;
    history(x, 3);
    x->gopts.at_ns = wall_now(x) + 3000000000ll;
    assert_int_equal(gcreate(x, 3), 0);
    assert_true(x->g.members[0].start_delay_ns < x->g.members[1].start_delay_ns);
    assert_true(x->g.members[1].start_delay_ns < x->g.members[2].start_delay_ns);
    /* one fake clock shared by concurrent threads runs fast (each one's sleeps and copies
     * add up), so only the single member above lands exactly: here, every deviation is
     * recorded and is its stop minus one common instant */
    for (int i = 0; i < 3; i++) {
        assert_true(x->g.members[i].has_deviation);
        assert_int_equal(x->g.members[i].deviation_ns - x->g.members[0].deviation_ns,
                         (int64_t)(x->g.members[i].stopped_ns - x->g.members[0].stopped_ns));
    }
    /* without --at: no deviation recorded */
    x->gopts.at_ns = 0;
    assert_int_equal(gcreate(x, 3), 0);
    assert_false(x->g.members[0].has_deviation);
    assert_int_equal(x->g.at_ns, 0);
}

/* A time past, or too near for the longest copy: refused, no guest touched, nothing left. */
static void test_at_refused(void **state)
{
    struct gx *x = *state;

    x->gopts.at_ns = wall_now(x) - 1000000000ll;
    assert_int_equal(gcreate(x, 3), XLCP_EINVAL);
    assert_non_null(strstr(x->err.msg, "in the past"));
    assert_string_equal(x->w->log, ""); /* not even a look at the domains */
    assert_nothing_left(x);
    /* 256 MiB with no history: about 2 s at the assumed rate; 500 ms is too near */
    x->gopts.at_ns = wall_now(x) + 500000000ll;
    assert_int_equal(gcreate(x, 3), XLCP_EINVAL);
    assert_non_null(strstr(x->err.msg, "too near"));
    assert_int_equal(fake_log_pos(x->w->log, "hv.save", 0), -1);
    assert_nothing_left(x);
}

/* create --at for one domain: its copy starts early by its expected duration; the time
 * and the deviation are in its manifest; a time past or too near is refused. */
static void test_single_create_at(void **state)
{
    struct gx *x = *state;
    struct xlcp_manifest m, m2;
    char dir[XLCP_PATH_MAX];

    x->doms[0]->precopy_ns = 400000000;
    history(x, 1);
    x->copts.at_ns = wall_now(x) + 3000000000ll;
    xlcp_err_clear(&x->err);
    assert_int_equal(xlcp_engine_create(&x->w->ports, "web1", &x->copts, &m, &x->err), 0);
    assert_int_equal(m.at_ns, x->copts.at_ns);
    assert_true(m.deviation_ns > -20000000 && m.deviation_ns < 20000000);
    assert_int_equal(xlcp_engine_load(&x->w->ports, m.id, &m2, dir, sizeof(dir), &x->err), 0);
    assert_int_equal(m2.at_ns, m.at_ns);
    assert_int_equal(m2.deviation_ns, m.deviation_ns);
    xlcp_manifest_free(&m2);
    xlcp_manifest_free(&m);
    /* past: nothing touched at all */
    x->w->log[0] = '\0';
    x->copts.at_ns = wall_now(x) - 1;
    assert_int_equal(xlcp_engine_create(&x->w->ports, "web1", &x->copts, &m, &x->err), XLCP_EINVAL);
    assert_non_null(strstr(x->err.msg, "in the past"));
    assert_string_equal(x->w->log, "");
    /* too near for a 400 ms copy: refused after the preparation, the guest untouched */
    x->copts.at_ns = wall_now(x) + 300000000ll;
    assert_int_equal(xlcp_engine_create(&x->w->ports, "web1", &x->copts, &m, &x->err), XLCP_EINVAL);
    assert_non_null(strstr(x->err.msg, "too near"));
    assert_non_null(strstr(x->err.msg, "domain 'web1'"));
    assert_int_equal(fake_log_pos(x->w->log, "hv.save", 0), -1);
    assert_int_equal(fake_held_count(x->w), 0);
    assert_int_equal(fake_snapshot_count(x->w), 2); /* the two checkpoints' only */
}

/* Version 1 of the option structs, as a caller built against 0.3 has them. */
typedef struct {
    unsigned int version;
    const char *name;
    int live;
    int quiesce;
    unsigned int quiesce_timeout_ms;
    unsigned int suspend_timeout_ms;
    const char *snapshot_size;
    int skip_non_lvm;
    const char *group_id;
    xlcp_progress_cb progress;
    void *progress_arg;
} create_options_v1;
typedef struct {
    unsigned int version;
    const char *name;
    const create_options_v1 *member;
    unsigned int max_wait_ms;
} group_options_v1;

/* Callers of version 1 of the create and group options (their structs end before at_ns)
 * still work: the library reads no byte past their struct (ASan would say). */
static void test_version1_options(void **state)
{
    struct gx *x = *state;
    create_options_v1 *c1 = malloc(sizeof(*c1));
    group_options_v1 *g1 = malloc(sizeof(*g1));
    const char *doms[2] = {"web1", "db1"};
    char id[XLCP_ID_MAX];
    xlcp_ctx *ctx = NULL;

    assert_int_equal(sizeof(*c1), offsetof(xlcp_create_options, at_ns));
    assert_int_equal(sizeof(*g1), offsetof(xlcp_group_options, at_ns));
    assert_non_null(c1);
    assert_non_null(g1);
    assert_int_equal(xlcp_create_options_init((xlcp_create_options *)c1, 1), 0);
    assert_int_equal(c1->version, 1);
    assert_int_equal(c1->live, 1);
    assert_int_equal(xlcp_group_options_init((xlcp_group_options *)g1, 1), 0);
    assert_int_equal(g1->version, 1);
    assert_int_equal(g1->max_wait_ms, 10000);
    g1->name = "job1";
    g1->member = c1;
    assert_int_equal(xlcp_ctx_new_with_ports(&ctx, &x->w->ports), 0);
    assert_int_equal(xlcp_create(ctx, "web1", (const xlcp_create_options *)c1, id), 0);
    assert_int_equal(xlcp_group_create(ctx, doms, 2, (const xlcp_group_options *)g1, id), 0);
    xlcp_ctx_free(ctx);
    free(c1);
    free(g1);
}

/* A group.xml of version 1 (before --at and hosts) is still valid and read. */
static void test_version1_manifest_read(void **state)
{
    struct gx *x = *state;
    const struct xlcp_store *st = &x->w->ports.store;
    struct xlcp_group_manifest g2;
    const char *v1 =
        "<?xml version=\"1.0\"?>\n<group version=\"1\"><id>20260101T000000.000Z-abcdef</id>"
        "<name>job1</name><created>2026-01-01T00:00:00.000Z</created>"
        "<tool-version>0.3.0</tool-version>"
        "<instants clock=\"dom0-monotonic\" skew-ns=\"5\" longest-stop-ns=\"9\">"
        "<member domain=\"web1\" uuid=\"00000000-0000-0000-0000-000000000001\" "
        "checkpoint=\"20260101T000000.000Z-000001\" stopped-ns=\"10\" resumed-ns=\"19\" "
        "waited-ns=\"3\"/></instants><total-ns>100</total-ns></group>";

    assert_int_equal(st->ops->group_put(st->self, XLCP_GROUP_MANIFEST,
                                        "20260101T000000.000Z-abcdef", v1, strlen(v1), &x->err),
                     0);
    assert_int_equal(
        xlcp_engine_group_load(&x->w->ports, "20260101T000000.000Z-abcdef", &g2, &x->err), 0);
    assert_int_equal(g2.n, 1);
    assert_int_equal(g2.at_ns, 0);
    assert_int_equal(g2.nhosts, 0);
    assert_false(g2.members[0].has_deviation);
    assert_string_equal(g2.members[0].host, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_of_three, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_resume_before_last_capture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_never_suspends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_member_bounded_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copies_scheduled_to_stop_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_disk_full_at_arming, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_space_together, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_capture_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_store_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_manifest_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_member_prepare_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_run_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_group_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_group_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_schedule_and_deviation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_three_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_at_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version1_manifest_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_create_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version1_options, setup, teardown),
    };
    return cmocka_run_group_tests_name("group", tests, NULL, NULL);
}
