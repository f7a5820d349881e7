/*
 * test_cli_export.c - `xl-checkpoint export` and `import` (cli_export.c, api_export.c)
 * in-process over the fake world and the fake export io: what they print, their exit
 * codes, --to - as a tar stream (and its temporary directory removed), no progress when
 * not on a terminal, and the refusal on ports without an export io.
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
#include <unistd.h>

#include "cli_fx.h"
#include "engine.h"
#include "export.h"
#include "fakes/fake_export_io.h"

static struct fake_xio xio;

/* a checkpoint of web1 whose snapshot volumes hold data; its id in id */
static void checkpoint(struct fx *f, char *id)
{
    struct xlcp_manifest m;
    struct xlcp_err err;
    char dir[XLCP_PATH_MAX], vdir[300];

    snprintf(vdir, sizeof(vdir), "%s/vols", f->w->root);
    assert_int_equal(fake_xio_init(&xio, vdir), 0);
    xlcp_export_io_for_tests = &xio.io;
    assert_int_equal(run(f, "create", "web1", NULL), 0);
    snprintf(id, XLCP_ID_MAX, "%.*s", (int)strcspn(f->out, "\n"), f->out);
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_engine_load(&f->w->ports, id, &m, dir, sizeof(dir), &err), 0);
    for (int i = 0; i < m.ndisks; i++)
        assert_int_equal(fake_xio_fill(&xio, m.disks[i].snap.lv, 300000, (unsigned)i, 200000), 0);
    xlcp_manifest_free(&m);
}

static int xteardown(void **state)
{
    xlcp_export_io_for_tests = NULL;
    return teardown(state);
}

static void test_export_import(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX], dir[400], want[500];

    checkpoint(f, id);
    snprintf(dir, sizeof(dir), "%s/exp", f->w->root);
    assert_int_equal(run(f, "export", id, "--to", dir, NULL), 0);
    snprintf(want, sizeof(want), "%s ", dir);
    assert_true(strncmp(f->out, want, strlen(want)) == 0);
    assert_true(strtoull(f->out + strlen(want), NULL, 10) > 600000);
    assert_int_equal(f->errlen, 0); /* no progress: not a terminal */

    assert_int_equal(run(f, "export", id, NULL), XLCP_EXIT_USAGE);
    assert_non_null(strstr(f->err, "--to"));
    assert_int_equal(run(f, "export", id, "--to", dir, NULL), XLCP_EXIT_USAGE); /* exists */

    assert_int_equal(run(f, "import", "--name", "web1-copy", dir, NULL), 0);
    assert_true(xlcp_engine_id_ok(strtok(f->out, "\n")));
    assert_string_not_equal(f->out, id);
    assert_int_equal(xio.created, 2);
    assert_int_equal(run(f, "list", NULL), 0);
    assert_non_null(strstr(f->out, id));

    /* the same as JSON documents (checked against the schema by make check-unit) */
    snprintf(dir, sizeof(dir), "%s/exp2", f->w->root);
    assert_int_equal(run(f, "export", "--json", id, "--to", dir, NULL), 0);
    assert_non_null(strstr(f->out, "\"format_version\": 1"));
    assert_non_null(strstr(f->out, "\"since\": null"));
    assert_int_equal(run(f, "import", "--json", dir, NULL), 0);
    assert_non_null(strstr(f->out, "\"import\": \""));
    assert_non_null(strstr(f->out, "\"name\": null"));
    assert_int_equal(run(f, "export", "--json", id, "--to", "-", NULL), XLCP_EXIT_USAGE);

    snprintf(dir, sizeof(dir), "%s/none", f->w->root);
    assert_int_equal(run(f, "import", dir, NULL), XLCP_EXIT_NOTFOUND);
    assert_int_equal(run(f, "import", NULL), XLCP_EXIT_USAGE);
}

static void test_export_tar(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX], tmp[300], tarf[400], cmd[1200], list[4096];

    checkpoint(f, id);
    snprintf(tmp, sizeof(tmp), "%s/tmp", f->w->root);
    assert_int_equal(mkdir(tmp, 0700), 0);
    setenv("TMPDIR", tmp, 1);
    assert_int_equal(run(f, "export", id, "--to", "-", NULL), 0);
    unsetenv("TMPDIR");
    snprintf(tarf, sizeof(tarf), "%s/x.tar", f->w->root);
    FILE *t = fopen(tarf, "w");
    assert_non_null(t);
    assert_int_equal(fwrite(f->out, 1, f->outlen, t), f->outlen);
    fclose(t);
    snprintf(cmd, sizeof(cmd), "tar -tf %s", tarf);
    FILE *p = popen(cmd, "r");
    size_t n = fread(list, 1, sizeof(list) - 1, p);
    list[n] = '\0';
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(list, "./export.xml"));
    assert_non_null(strstr(list, "./memory.xl"));
    assert_non_null(strstr(list, "./disks/xvda.img"));
    /* the temporary directory is gone */
    assert_int_equal(rmdir(tmp), 0);
}

static void test_no_export_io(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX], dir[400];

    checkpoint(f, id);
    xlcp_export_io_for_tests = NULL;
    snprintf(dir, sizeof(dir), "%s/exp", f->w->root);
    assert_int_equal(run(f, "export", id, "--to", dir, NULL), XLCP_EXIT_UNSUPPORTED);
    assert_int_not_equal(access(dir, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_export_import, setup, xteardown),
        cmocka_unit_test_setup_teardown(test_export_tar, setup, xteardown),
        cmocka_unit_test_setup_teardown(test_no_export_io, setup, xteardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
