/*
 * test_cli_config.c - `restore <id> <ConfigFile>` (cli_config.c): the configuration the
 * restore is given is the file's (libxl JSON, xl's dry-run document, or xl's format read
 * through the system's xl, here a script standing in for it), never a guess; bad files,
 * a failing xl and a group restore with a file are refused before anything is restored.
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

#include "cli_fx.h"

#define CFG                                                                                        \
    "{\"c_info\": {\"type\": \"pv\", \"name\": \"other\"}, \"b_info\": {\"max_memkb\": 98304}}"

static void put(const char *path, const char *text, int mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, (mode_t)mode), 0);
}

static char *slurp(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int domains(struct fx *f)
{
    int n = 0;
    for (int i = 0; i < FAKE_MAX_DOMS; i++)
        n += f->w->doms[i].used;
    return n;
}

/* without a file: the saved configuration; with libxl JSON: exactly that one */
static void test_restore_json_file(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX], path[512];

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    assert_int_equal(run(f, "restore", "--name", "r1", id, NULL), 0);
    assert_non_null(strstr(f->w->restored_config, "\"web1\""));
    snprintf(path, sizeof(path), "%s/r2.json", f->w->root);
    put(path, "\n  " CFG "\n", 0644);
    assert_int_equal(run(f, "restore", "--name", "r2", id, path, NULL), 0);
    assert_non_null(fake_find_domain(f->w, "r2"));
    assert_null(strstr(f->w->restored_config, "web1"));
    assert_non_null(strstr(f->w->restored_config, "\"max_memkb\":98304"));
    assert_non_null(strstr(f->w->restored_config, "\"name\":\"other\""));
}

/* xl's dry-run document {"domid": null, "config": {...}}: its "config" only */
static void test_restore_dry_run_document(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX], path[512];

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    snprintf(path, sizeof(path), "%s/doc.json", f->w->root);
    put(path, "{\"domid\": null, \"config\": " CFG "}\n", 0644);
    assert_int_equal(run(f, "restore", "--name", "r3", id, path, NULL), 0);
    assert_null(strstr(f->w->restored_config, "domid"));
    assert_non_null(strstr(f->w->restored_config, "\"c_info\":{\"type\":\"pv\""));
    assert_true(f->w->restored_config[0] == '{');
}

/* xl's own format: the system's xl ($XLCP_REAL_XL) parses it with `create -n FILE` */
static void test_restore_xl_format(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX], cfg[512], xl[512], args[512], script[2048];

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    snprintf(cfg, sizeof(cfg), "%s/web1.cfg", f->w->root);
    snprintf(xl, sizeof(xl), "%s/xl", f->w->root);
    snprintf(args, sizeof(args), "%s/xl.args", f->w->root);
    put(cfg, "name = \"web1\"\nmemory = 96\n", 0644);
    snprintf(script, sizeof(script),
             "#!/bin/sh\necho \"$@\" > %s\necho \"Parsing config from $3\" >&2\n"
             "printf '%%s\\n' '{\"domid\": null, \"config\": " CFG "}'\n",
             args);
    put(xl, script, 0755);
    setenv("XLCP_REAL_XL", xl, 1);
    assert_int_equal(run(f, "restore", "--name", "r4", id, cfg, NULL), 0);
    unsetenv("XLCP_REAL_XL");
    char want[600];
    snprintf(want, sizeof(want), "create -n %s\n", cfg);
    assert_string_equal(slurp(args), want);
    assert_non_null(strstr(f->w->restored_config, "\"max_memkb\":98304"));
    assert_non_null(fake_find_domain(f->w, "r4"));
}

/* refused before anything is restored: xl rejects the file (its words are reported), JSON
 * without a domain configuration, no such file, no such xl, a group with a file */
static void test_restore_bad_config(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX], cfg[512], xl[512], js[512];
    int before;

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    before = domains(f);
    snprintf(cfg, sizeof(cfg), "%s/bad.cfg", f->w->root);
    snprintf(xl, sizeof(xl), "%s/xl", f->w->root);
    snprintf(js, sizeof(js), "%s/bad.json", f->w->root);
    put(cfg, "memory = \n", 0644);
    put(xl,
        "#!/bin/sh\necho 'Parsing config from x' >&2\necho 'bad.cfg:1: config parsing error near "
        "`=\\047' >&2\nexit 1\n",
        0755);
    setenv("XLCP_REAL_XL", xl, 1);
    assert_int_equal(run(f, "restore", id, cfg, NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: restore: config file ");
    assert_non_null(strstr(f->err, "config parsing error"));
    assert_non_null(strstr(f->err, "exit 1"));
    /* xl that prints no configuration */
    put(xl, "#!/bin/sh\necho '{\"domid\": null}'\n", 0755);
    assert_int_equal(run(f, "restore", id, cfg, NULL), XLCP_EXIT_USAGE);
    assert_non_null(strstr(f->err, "no libxl domain configuration"));
    snprintf(xl, sizeof(xl), "%s/no-such-xl", f->w->root);
    setenv("XLCP_REAL_XL", xl, 1);
    assert_int_equal(run(f, "restore", id, cfg, NULL), XLCP_EXIT_FAILURE);
    assert_non_null(strstr(f->err, "cannot run"));
    unsetenv("XLCP_REAL_XL");
    put(js, "{\"c_info\": {}}", 0644);
    assert_int_equal(run(f, "restore", id, js, NULL), XLCP_EXIT_USAGE);
    assert_non_null(strstr(f->err, "no libxl domain configuration"));
    put(js, "{\"c_info\": ", 0644);
    assert_int_equal(run(f, "restore", id, js, NULL), XLCP_EXIT_USAGE);
    assert_non_null(strstr(f->err, "not valid JSON"));
    snprintf(js, sizeof(js), "%s/absent.json", f->w->root);
    assert_int_equal(run(f, "restore", id, js, NULL), XLCP_EXIT_USAGE);
    assert_non_null(strstr(f->err, "No such file"));
    assert_int_equal(run(f, "restore", "--group", "g", js, NULL), XLCP_EXIT_USAGE);
    assert_non_null(strstr(f->err, "names one domain"));
    assert_int_equal(run(f, "restore", id, js, "extra", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(domains(f), before);
    assert_null(strstr(f->w->log, "hv.restore"));
}

/* the library: a version-2 caller's options have no config_json, version 3's does; a
 * group restore refuses one */
static void test_restore_options_versions(void **state)
{
    struct fx *f = *state;
    xlcp_restore_options o;
    xlcp_ctx *ctx;
    uint32_t domid = 0;
    char id[XLCP_ID_MAX];

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    assert_int_equal(xlcp_ctx_new_with_ports(&ctx, &f->w->ports), 0);
    assert_int_equal(xlcp_restore_options_init(&o, 4), XLCP_EINVAL);
    assert_int_equal(xlcp_restore_options_init(&o, 3), 0);
    assert_null(o.config_json);
    o.config_json = CFG;
    o.new_name = "v3";
    assert_int_equal(xlcp_restore(ctx, id, &o, &domid), 0);
    assert_non_null(strstr(f->w->restored_config, "98304"));
    assert_int_equal(xlcp_restore_options_init(&o, 2), 0);
    assert_int_equal(o.version, 2);
    o.config_json = CFG; /* past a version-2 struct's end: never read */
    o.new_name = "v2";
    assert_int_equal(xlcp_restore(ctx, id, &o, &domid), 0);
    assert_non_null(strstr(f->w->restored_config, "web1"));
    assert_int_equal(xlcp_restore_options_init(&o, 3), 0);
    o.config_json = CFG;
    assert_int_equal(xlcp_group_restore(ctx, "nogroup", &o, NULL, 0), XLCP_EINVAL);
    assert_non_null(strstr(xlcp_last_error(ctx), "names one domain"));
    xlcp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restore_json_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_dry_run_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_xl_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_bad_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_options_versions, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
