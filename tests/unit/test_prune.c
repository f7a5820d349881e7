/*
 * test_prune.c - retention (engine_prune.c, xl-checkpoint prune) and the audit line
 * (audit.c): which checkpoints each rule keeps, that a dry run deletes nothing, that
 * --apply deletes the rest with their snapshots, that group members, the newest and
 * unreadable checkpoints are kept, that a failed delete does not stop the others; the
 * audit line's text and its file sink.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "audit.h"
#include "cli_fx.h"
#include "engine.h"

#define HOUR_NS (3600ull * 1000000000ull)

/* Creates a checkpoint of `dom` through the engine, then lets `hours` pass. */
static void cp_at(struct fx *f, const char *dom, const char *group, unsigned hours, char *id)
{
    xlcp_create_options o = XLCP_CREATE_OPTIONS_INIT;
    struct xlcp_manifest m;
    struct xlcp_err err;

    o.group_id = group;
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_engine_create(&f->w->ports, dom, &o, &m, &err), 0);
    if (id)
        snprintf(id, XLCP_ID_MAX, "%s", m.id);
    xlcp_manifest_free(&m);
    f->w->now_ns += hours * HOUR_NS;
}

/* The path of file `name` in checkpoint id's directory (malloc'd). */
static char *cp_file(struct fx *f, const char *id, const char *name)
{
    struct xlcp_manifest m;
    struct xlcp_err err;
    char dir[XLCP_PATH_MAX], *path;

    xlcp_err_clear(&err);
    assert_int_equal(xlcp_engine_load(&f->w->ports, id, &m, dir, sizeof(dir), &err), 0);
    xlcp_manifest_free(&m);
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    return path;
}

static const struct xlcp_prune_item *find(const struct xlcp_prune_item *it, size_t n,
                                          const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(it[i].id, id) == 0)
            return &it[i];
    fail_msg("checkpoint %s not considered", id);
    return NULL;
}

/* web1: five checkpoints one hour apart (ids[0] oldest); db1: two. */
static void history(struct fx *f, char ids[5][XLCP_ID_MAX], char db[2][XLCP_ID_MAX])
{
    assert_non_null(fake_add_domain(f->w, "db1", 1));
    for (int i = 0; i < 5; i++) {
        cp_at(f, "web1", NULL, 0, ids[i]);
        if (i < 2)
            cp_at(f, "db1", NULL, 0, db[i]);
        f->w->now_ns += HOUR_NS;
    }
}

static void test_keep_last_dry_run(void **state)
{
    struct fx *f = *state;
    char ids[5][XLCP_ID_MAX], db[2][XLCP_ID_MAX];
    struct xlcp_prune_rule rule = {2, 0};
    struct xlcp_prune_item *it = NULL;
    struct xlcp_err err;
    size_t n = 0;
    int snaps;

    history(f, ids, db);
    snaps = fake_snapshot_count(f->w);
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_engine_prune(&f->w->ports, "web1", &rule, 0, &it, &n, &err), 0);
    assert_int_equal(n, 5); /* only web1's */
    assert_true(find(it, n, ids[4])->keep);
    assert_true(find(it, n, ids[3])->keep);
    for (int i = 0; i < 3; i++) {
        assert_false(find(it, n, ids[i])->keep);
        assert_false(find(it, n, ids[i])->deleted);
    }
    assert_string_equal(it[0].id, ids[4]); /* newest first */
    free(it);
    /* a dry run touched nothing */
    assert_int_equal(fake_snapshot_count(f->w), snaps);
    assert_int_equal(run(f, "list", "web1", NULL), XLCP_EXIT_OK);
    for (int i = 0; i < 5; i++)
        assert_non_null(strstr(f->out, ids[i]));
}

static void test_keep_within_and_apply(void **state)
{
    struct fx *f = *state;
    char ids[5][XLCP_ID_MAX], db[2][XLCP_ID_MAX];
    struct xlcp_prune_rule rule = {0, 150 * 60}; /* 2.5 h */
    struct xlcp_prune_item *it = NULL;
    struct xlcp_err err;
    size_t n = 0;
    int snaps;

    history(f, ids, db);
    /* now: ids[4] is 1 h old, ids[3] 2 h, ids[2] 3 h ...; db[1] is 4 h old, db[0] 5 h */
    snaps = fake_snapshot_count(f->w);
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_engine_prune(&f->w->ports, NULL, &rule, 1, &it, &n, &err), 0);
    assert_int_equal(n, 7);
    assert_true(find(it, n, ids[4])->keep);
    assert_true(find(it, n, ids[3])->keep);
    for (int i = 0; i < 3; i++)
        assert_true(find(it, n, ids[i])->deleted);
    /* db1's newest is kept although it is older than the rule: never the newest */
    assert_true(find(it, n, db[1])->keep);
    assert_non_null(strstr(find(it, n, db[1])->reason, "newest"));
    assert_true(find(it, n, db[0])->deleted);
    free(it);
    /* each web1/db1 checkpoint has one snapshot (one thick disk each? web1 has 2) */
    assert_true(fake_snapshot_count(f->w) < snaps);
    assert_int_equal(run(f, "list", NULL), XLCP_EXIT_OK);
    assert_null(strstr(f->out, ids[0]));
    assert_null(strstr(f->out, db[0]));
    assert_non_null(strstr(f->out, ids[4]));
    assert_non_null(strstr(f->out, db[1]));
}

static void test_group_members_and_unreadable_kept(void **state)
{
    struct fx *f = *state;
    char a[XLCP_ID_MAX], g[XLCP_ID_MAX], b[XLCP_ID_MAX], c[XLCP_ID_MAX];
    struct xlcp_prune_rule rule = {1, 0};
    struct xlcp_prune_item *it = NULL;
    struct xlcp_err err;
    size_t n = 0;
    char *path;
    FILE *m;

    cp_at(f, "web1", NULL, 1, a);
    cp_at(f, "web1", "20261124T191342.123Z-1a2b3c", 1, g);
    cp_at(f, "web1", NULL, 1, b);
    cp_at(f, "web1", NULL, 1, c);
    path = cp_file(f, b, "manifest.xml");
    m = fopen(path, "w");
    assert_non_null(m);
    assert_true(fputs("<checkpoint><broken", m) >= 0);
    assert_int_equal(fclose(m), 0);
    free(path);

    xlcp_err_clear(&err);
    assert_int_equal(xlcp_engine_prune(&f->w->ports, NULL, &rule, 1, &it, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_true(find(it, n, c)->keep);
    assert_true(find(it, n, g)->keep);
    assert_non_null(strstr(find(it, n, g)->reason, "group"));
    assert_true(find(it, n, b)->keep);
    assert_non_null(strstr(find(it, n, b)->reason, "unreadable"));
    assert_true(find(it, n, a)->deleted);
    free(it);

    /* with a domain filter an unreadable checkpoint is not the domain's: not considered */
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_engine_prune(&f->w->ports, "web1", &rule, 0, &it, &n, &err), 0);
    assert_int_equal(n, 2);
    free(it);
}

static void test_failed_delete_does_not_stop_the_others(void **state)
{
    struct fx *f = *state;
    char ids[5][XLCP_ID_MAX], db[2][XLCP_ID_MAX];
    struct xlcp_prune_rule rule = {1, 0};
    struct xlcp_prune_item *it = NULL;
    struct xlcp_err err;
    size_t n = 0, deleted = 0, failed = 0;

    history(f, ids, db);
    fake_fail(f->w, "disk.remove", XLCP_EDISK, 1);
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_engine_prune(&f->w->ports, "web1", &rule, 1, &it, &n, &err), XLCP_EDISK);
    assert_non_null(strstr(err.msg, "prune"));
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        deleted += it[i].deleted;
        failed += it[i].rc != 0;
        if (it[i].rc)
            assert_true(it[i].error[0] != '\0');
    }
    assert_int_equal(failed, 1);
    assert_int_equal(deleted, 3);
    free(it);
}

static void test_no_rule_refused(void **state)
{
    struct fx *f = *state;
    struct xlcp_prune_rule rule = {0, 0};
    struct xlcp_prune_item *it = NULL;
    struct xlcp_err err;
    size_t n = 0;

    xlcp_err_clear(&err);
    assert_int_equal(xlcp_engine_prune(&f->w->ports, NULL, &rule, 1, &it, &n, &err), XLCP_EINVAL);
    assert_null(it);
}

/* f->out without white space (the JSON writer may pretty-print). */
static const char *squashed(const struct fx *f)
{
    static char buf[16384];
    size_t n = 0;

    for (const char *s = f->out; s && *s && n + 1 < sizeof(buf); s++)
        if (*s != ' ' && *s != '\n' && *s != '\t')
            buf[n++] = *s;
    buf[n] = '\0';
    return buf;
}

static void test_cli_prune(void **state)
{
    struct fx *f = *state;
    char ids[5][XLCP_ID_MAX], db[2][XLCP_ID_MAX];

    history(f, ids, db);
    assert_int_equal(run(f, "prune", "web1", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: prune:");
    assert_int_equal(run(f, "prune", "--keep-last", "0", "web1", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "prune", "--keep-within", "3x", "web1", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "prune", "--keep-last", "2", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "prune", "--keep-last", "2", "--all", "web1", NULL), XLCP_EXIT_USAGE);

    assert_int_equal(run(f, "prune", "--keep-last", "4", "web1", NULL), XLCP_EXIT_OK);
    assert_non_null(strstr(f->out, "would delete"));
    assert_non_null(strstr(f->out, "dry run: 1 of 5"));
    assert_int_equal(run(f, "prune", "--keep-within", "150m", "--json", "--all", NULL),
                     XLCP_EXIT_OK);
    assert_non_null(strstr(squashed(f), "\"format_version\":1"));
    assert_non_null(strstr(squashed(f), "\"applied\":false"));
    assert_non_null(strstr(squashed(f), "\"action\":\"prune\""));

    assert_int_equal(run(f, "prune", "--keep-last", "4", "--apply", "web1", NULL), XLCP_EXIT_OK);
    assert_non_null(strstr(f->out, "deleted"));
    assert_int_equal(run(f, "info", ids[0], NULL), XLCP_EXIT_NOTFOUND);
    assert_int_equal(run(f, "info", ids[1], NULL), XLCP_EXIT_OK);
}

static void test_audit_line(void **state)
{
    char buf[512], path[] = "/tmp/xlcp-audit-XXXXXX", line[1024];
    struct xlcp_audit_rec ok = {
        "create", "20261124T191342.123Z-1a2b3c", "web 1", "u-1", 0, NULL, 83000, 268435456,
        "live=1"};
    struct xlcp_audit_rec bad = {"delete", "x", NULL, NULL, XLCP_EDISK, "lvremove \"a\" failed",
                                 -1,       -1,  NULL};
    FILE *in;
    int fd;

    (void)state;
    assert_int_equal(xlcp_audit_format(&ok, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "op=create id=20261124T191342.123Z-1a2b3c domain=\"web 1\" uuid=u-1 "
                             "outcome=ok stop_us=83000 bytes=268435456 live=1");
    assert_int_equal(xlcp_audit_format(&bad, buf, sizeof(buf)), 0);
    assert_non_null(strstr(buf, "outcome=error"));
    assert_non_null(strstr(buf, "msg=\"lvremove \\\"a\\\" failed\""));
    assert_null(strstr(buf, "stop_us"));

    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(line, sizeof(line), "file:%s", path);
    assert_int_equal(setenv("XLCP_AUDIT", line, 1), 0);
    xlcp_audit(&ok);
    xlcp_audit(&bad);
    assert_int_equal(setenv("XLCP_AUDIT", "off", 1), 0);
    xlcp_audit(&ok);
    in = fopen(path, "r");
    assert_non_null(in);
    assert_non_null(fgets(line, sizeof(line), in));
    assert_true(strncmp(line, "xl-checkpoint: op=create ", 25) == 0);
    assert_non_null(fgets(line, sizeof(line), in));
    assert_true(strncmp(line, "xl-checkpoint: op=delete ", 25) == 0);
    assert_null(fgets(line, sizeof(line), in)); /* "off" wrote nothing */
    fclose(in);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keep_last_dry_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keep_within_and_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_members_and_unreadable_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_delete_does_not_stop_the_others, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_no_rule_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_prune, setup, teardown),
        cmocka_unit_test(test_audit_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
