/*
 * test_cli.c - the xl-checkpoint command line (libxl-plugin/cli/) driven in-process
 * against a context on fake ports: create, list (table and JSON, parsed back with
 * yajl's tree parser), info, verify, delete, restore; corrupt images and manifests
 * (exit 8), usage errors (exit 2), unknown domain (3), unwritable catalog (11); every
 * error is exactly one line on stderr.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "cli_fx.h"

static yajl_val parse_json(const char *text)
{
    char errbuf[256];
    yajl_val v = yajl_tree_parse(text, errbuf, sizeof(errbuf));

    if (!v)
        fail_msg("output is not JSON (%s): '%s'", errbuf, text);
    return v;
}

/* list --json: an object with format_version 1 and the array "checkpoints" (returned;
 * free with list_free). */
static yajl_val list_root;
static yajl_val list_array(const char *text)
{
    const char *fv[] = {"format_version", NULL}, *cps[] = {"checkpoints", NULL};
    yajl_val v;

    list_root = parse_json(text);
    assert_true(YAJL_IS_OBJECT(list_root));
    v = yajl_tree_get(list_root, fv, yajl_t_number);
    assert_non_null(v);
    assert_int_equal(YAJL_GET_INTEGER(v), 1);
    v = yajl_tree_get(list_root, cps, yajl_t_array);
    assert_non_null(v);
    return v;
}

static void list_free(void)
{
    yajl_tree_free(list_root);
    list_root = NULL;
}

static const char *jstr(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_string);

    if (!v)
        fail_msg("JSON field '%s' missing or not a string", key);
    return YAJL_GET_STRING(v);
}

static yajl_val jget(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_any);

    if (!v)
        fail_msg("JSON field '%s' missing", key);
    return v;
}

/* Directory of checkpoint id, from `info --json`. Caller frees. */
static char *cp_dir(struct fx *f, const char *id)
{
    yajl_val v;
    char *dir;

    assert_int_equal(run(f, "info", "--json", id, NULL), 0);
    v = parse_json(f->out);
    dir = strdup(jstr(v, "dir"));
    yajl_tree_free(v);
    assert_non_null(dir);
    assert_non_null(strstr(dir, f->w->root));
    return dir;
}

static char *cp_file(struct fx *f, const char *id, const char *name)
{
    char *dir = cp_dir(f, id), *path;

    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    free(dir);
    return path;
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_help_lists_subcommands(void **state)
{
    struct fx *f = *state;
    static const char *const subs[] = {"create", "list",    "info", "verify",
                                       "delete", "restore", "help", "version"};

    assert_int_equal(run(f, "--help", NULL), 0);
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        if (!strstr(f->out, subs[i]))
            fail_msg("--help does not list '%s'", subs[i]);
    assert_non_null(strstr(f->out, "Exit status"));
    assert_non_null(strstr(f->out, "11  permission denied"));
    assert_string_equal(f->err, "");
    assert_int_equal(f->opens, 0);

    assert_int_equal(run(f, "help", NULL), 0);
    assert_non_null(strstr(f->out, "restore"));
    assert_int_equal(run(f, "help", "create", NULL), 0);
    assert_non_null(strstr(f->out, "--snapshot-size"));
    assert_int_equal(run(f, "create", "--help", NULL), 0);
    assert_non_null(strstr(f->out, "--quiesce-timeout"));
    assert_int_equal(run(f, "help", "bogus", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: help: ");
}

static void test_version(void **state)
{
    struct fx *f = *state;

    assert_int_equal(run(f, "version", NULL), 0);
    assert_non_null(strstr(f->out, XLCP_VERSION_STRING));
    assert_int_equal(run(f, "--version", NULL), 0);
    assert_non_null(strstr(f->out, XLCP_VERSION_STRING));
}

static void test_create_then_list_json(void **state)
{
    struct fx *f = *state;
    char id1[XLCP_ID_MAX], id2[XLCP_ID_MAX];
    yajl_val arr, o;

    snprintf(id1, sizeof(id1), "%s", cli_create(f, "nightly"));
    f->w->wall_ns += 1000000000ll;
    f->w->now_ns += 1000000000ull;
    snprintf(id2, sizeof(id2), "%s", cli_create(f, NULL));
    assert_string_not_equal(id1, id2);

    assert_int_equal(run(f, "list", "--json", NULL), 0);
    assert_string_equal(f->err, "");
    arr = list_array(f->out);
    assert_true(YAJL_IS_ARRAY(arr));
    assert_int_equal(YAJL_GET_ARRAY(arr)->len, 2);
    o = YAJL_GET_ARRAY(arr)->values[0];
    assert_true(YAJL_IS_OBJECT(o));
    assert_string_equal(jstr(o, "id"), id1);
    assert_string_equal(jstr(YAJL_GET_ARRAY(arr)->values[1], "id"), id2);
    assert_string_equal(jstr(o, "domain"), "web1");
    assert_string_equal(jstr(o, "domain_uuid"), f->dom->d.uuid);
    assert_true(strlen(jstr(o, "created")) >= 20);
    assert_true(YAJL_IS_INTEGER(jget(o, "memory_bytes")));
    assert_true(YAJL_GET_INTEGER(jget(o, "memory_bytes")) > 0);
    assert_true(YAJL_IS_INTEGER(jget(o, "disk_count")));
    assert_int_equal(YAJL_GET_INTEGER(jget(o, "disk_count")), 2);
    assert_true(YAJL_IS_ARRAY(jget(o, "disks")));
    assert_true(YAJL_IS_NUMBER(jget(o, "downtime_ms")));
    assert_true(YAJL_GET_DOUBLE(jget(o, "downtime_ms")) >= 0);
    /* Present with a value or null: the documented field set. */
    static const char *const fields[] = {"label",        "total_ms", "quiesced", "live",
                                         "suspend_path", "group_id", "dir"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        (void)jget(o, fields[i]);
    list_free();

    /* Filter by domain: the other domain has none. */
    assert_non_null(fake_add_domain(f->w, "db1", 1));
    assert_int_equal(run(f, "list", "--json", "db1", NULL), 0);
    arr = list_array(f->out);
    assert_int_equal(YAJL_GET_ARRAY(arr)->len, 0);
    list_free();
    assert_int_equal(run(f, "list", "--json", "web1", NULL), 0);
    arr = list_array(f->out);
    assert_int_equal(YAJL_GET_ARRAY(arr)->len, 2);
    list_free();
}

static void test_create_json_and_label(void **state)
{
    struct fx *f = *state;
    yajl_val o, disks;

    assert_int_equal(run(f, "create", "--json", "--name", "before-upgrade", "web1", NULL), 0);
    o = parse_json(f->out);
    assert_true(YAJL_IS_OBJECT(o));
    assert_string_equal(jstr(o, "domain"), "web1");
    assert_string_equal(jstr(o, "label"), "before-upgrade");
    assert_true(YAJL_IS_TRUE(jget(o, "live")));
    disks = jget(o, "disks");
    assert_int_equal(YAJL_GET_ARRAY(disks)->len, 2);
    assert_string_equal(jstr(YAJL_GET_ARRAY(disks)->values[0], "vdev"), "xvda");
    assert_string_equal(jstr(YAJL_GET_ARRAY(disks)->values[0], "origin"), "/dev/vg0/web1-xvda");
    assert_non_null(strstr(jstr(YAJL_GET_ARRAY(disks)->values[0], "snapshot"), ".xlcp."));
    assert_true(YAJL_IS_FALSE(jget(YAJL_GET_ARRAY(disks)->values[0], "thin")));
    /* thick: the fake held the guest's writes for 3 ms while it finished the snapshot */
    assert_true(YAJL_GET_DOUBLE(jget(YAJL_GET_ARRAY(disks)->values[0], "writes_held_ms")) == 3.0);
    assert_string_equal(jstr(o, "suspend_path"), "stock");
    assert_true(YAJL_IS_NULL(jget(o, "guest_downtime_ms")));
    yajl_tree_free(o);

    assert_int_equal(run(f, "create", "--json", "--paused", "web1", NULL), 0);
    o = parse_json(f->out);
    assert_true(YAJL_IS_FALSE(jget(o, "live")));
    yajl_tree_free(o);
}

static void test_list_table(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX];
    const char *row;

    assert_int_equal(run(f, "list", NULL), 0);
    assert_non_null(strstr(f->out, "ID"));
    assert_non_null(strstr(f->out, "DOWNTIME"));
    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    assert_int_equal(run(f, "list", NULL), 0);
    row = strstr(f->out, id);
    assert_non_null(row);
    assert_non_null(strstr(row, "web1"));
    assert_non_null(strchr(row, '\n'));
}

static void test_info_human_and_xml(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX];

    snprintf(id, sizeof(id), "%s", cli_create(f, "lbl"));
    assert_int_equal(run(f, "info", id, NULL), 0);
    assert_non_null(strstr(f->out, id));
    assert_non_null(strstr(f->out, "web1"));
    assert_non_null(strstr(f->out, f->dom->d.uuid));
    assert_non_null(strstr(f->out, "downtime:"));
    assert_int_equal(run(f, "info", "--xml", id, NULL), 0);
    assert_non_null(strstr(f->out, "<?xml"));
    assert_int_equal(run(f, "info", "--xml", "--json", id, NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: info: ");
}

static void test_verify_ok(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX], want[128];

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    snprintf(want, sizeof(want), "checkpoint %s: OK\n", id);
    assert_int_equal(run(f, "verify", id, NULL), 0);
    assert_string_equal(f->out, want);
    assert_string_equal(f->err, "");
    assert_int_equal(run(f, "verify", "--no-disks", id, NULL), 0);
    assert_string_equal(f->out, want);
}

static void test_verify_flipped_byte(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX];
    char *path;
    struct stat st;
    unsigned char b;
    int fd;

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    path = cp_file(f, id, "memory.xl");
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_true(st.st_size > 0);
    assert_int_equal(pread(fd, &b, 1, st.st_size / 2), 1);
    b ^= 0x01;
    assert_int_equal(pwrite(fd, &b, 1, st.st_size / 2), 1);
    assert_int_equal(close(fd), 0);
    free(path);

    assert_int_equal(run(f, "verify", id, NULL), XLCP_EXIT_CORRUPT);
    assert_string_equal(f->out, "");
    assert_one_error_line(f, "xl-checkpoint: verify: ");
}

static void test_verify_truncated_image(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX];
    char *path;
    struct stat st;

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    path = cp_file(f, id, "memory.xl");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size / 2), 0);
    free(path);
    assert_int_equal(run(f, "verify", "--no-disks", id, NULL), XLCP_EXIT_CORRUPT);
    assert_one_error_line(f, "xl-checkpoint: verify: ");
}

static void test_broken_manifest(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX];
    char *path;
    FILE *m;

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    path = cp_file(f, id, "manifest.xml");
    m = fopen(path, "w");
    assert_non_null(m);
    assert_true(fputs("<?xml version=\"1.0\"?>\n<checkpoint><broken", m) >= 0);
    assert_int_equal(fclose(m), 0);
    free(path);

    assert_int_equal(run(f, "verify", id, NULL), XLCP_EXIT_CORRUPT);
    assert_one_error_line(f, "xl-checkpoint: verify: ");
    assert_int_equal(run(f, "info", id, NULL), XLCP_EXIT_CORRUPT);
    assert_one_error_line(f, "xl-checkpoint: info: ");
    /* list still shows it, marked unreadable, and succeeds. */
    assert_int_equal(run(f, "list", NULL), 0);
    assert_non_null(strstr(f->out, "unreadable"));
    assert_int_equal(run(f, "list", "--json", NULL), 0);
    yajl_val arr = list_array(f->out);
    assert_int_equal(YAJL_GET_ARRAY(arr)->len, 1);
    assert_string_equal(jstr(YAJL_GET_ARRAY(arr)->values[0], "id"), id);
    (void)jstr(YAJL_GET_ARRAY(arr)->values[0], "error");
    list_free();
}

static void test_usage_errors(void **state)
{
    struct fx *f = *state;

    assert_int_equal(run(f, "bogus", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: bogus: ");
    assert_int_equal(run(f, NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: ");
    assert_int_equal(run(f, "--bogus", "list", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: ");
    assert_int_equal(run(f, "-r", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: ");

    assert_int_equal(run(f, "create", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: create: missing <domain>");
    assert_int_equal(run(f, "create", "web1", "extra", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: create: unexpected argument 'extra'");
    assert_int_equal(run(f, "create", "--bogus", "web1", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: create: unknown option --bogus");
    assert_int_equal(run(f, "create", "-x", "web1", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: create: unknown option -x");
    assert_int_equal(run(f, "create", "web1", "--name", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: create: option --name needs a value");
    assert_int_equal(run(f, "create", "web1", "--quiesce-timeout", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: create: option --quiesce-timeout needs a value");
    assert_int_equal(run(f, "create", "--quiesce-timeout", "soon", "web1", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: create: bad --quiesce-timeout");
    assert_int_equal(run(f, "create", "--suspend-timeout", "0", "web1", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "create", "-s", "lots", "web1", NULL), XLCP_EXIT_USAGE);
    assert_one_error_line(f, "xl-checkpoint: create: bad --snapshot-size");
    assert_int_equal(run(f, "create", "-s", "120%", "web1", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "info", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "verify", "a", "b", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "delete", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "restore", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "restore", "--force", "x", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "list", "a", "b", NULL), XLCP_EXIT_USAGE);
    assert_int_equal(run(f, "version", "x", NULL), XLCP_EXIT_USAGE);
    /* None of them touched the catalog. */
    assert_int_equal(f->opens, 0);
    assert_int_equal(fake_catalog_entries(f->w), 0);
    assert_int_equal(fake_snapshot_count(f->w), 0);
}

static void test_good_option_values(void **state)
{
    struct fx *f = *state;

    assert_int_equal(run(f, "create", "--quiesce", "--quiesce-timeout", "2.5", "--suspend-timeout",
                         "500ms", "-s", "512M", "web1", NULL),
                     0);
    assert_string_equal(f->err, "");
    assert_int_equal(run(f, "create", "--snapshot-size", "20%", "--skip-non-lvm", "web1", NULL), 0);
    /* Options after the domain are accepted too (GNU getopt permutes). */
    assert_int_equal(run(f, "create", "web1", "--name", "late", NULL), 0);
}

/* xl's letters: -n is a dry run; the old spellings work for one release, with a warning. */
static void test_xl_conventions(void **state)
{
    struct fx *f = *state;
    yajl_val o, plan;
    const char *p[] = {"plan", NULL};

    assert_int_equal(run(f, "create", "-n", "web1", NULL), 0);
    assert_non_null(strstr(f->out, "xvda"));
    assert_non_null(strstr(f->out, "nothing was touched"));
    assert_int_equal(fake_catalog_entries(f->w), 0);
    assert_int_equal(fake_snapshot_count(f->w), 0);
    assert_int_equal(run(f, "-N", "create", "--json", "web1", NULL), 0);
    o = parse_json(f->out);
    assert_true(YAJL_IS_TRUE(jget(o, "would_succeed")));
    plan = yajl_tree_get(o, p, yajl_t_array);
    assert_non_null(plan);
    assert_true(YAJL_GET_ARRAY(plan)->len >= 3);
    yajl_tree_free(o);
    /* a dry run that would be refused: a paused domain */
    f->dom->d.state = XLCP_DOM_PAUSED;
    assert_int_equal(run(f, "create", "-n", "web1", NULL), XLCP_EXIT_STATE);
    assert_non_null(strstr(f->out, "REFUSED"));
    f->dom->d.state = XLCP_DOM_RUNNING;
    assert_int_equal(fake_catalog_entries(f->w), 0);

    /* old spellings: -n NAME (either order), -q, --paused, restore -n/-d */
    assert_int_equal(run(f, "create", "-n", "old-label", "web1", NULL), 0);
    assert_non_null(strstr(f->err, "warning: -n NAME is deprecated"));
    assert_int_equal(run(f, "info", "--json", strtok(f->out, "\n"), NULL), 0);
    o = parse_json(f->out);
    assert_string_equal(jstr(o, "label"), "old-label");
    yajl_tree_free(o);
    assert_int_equal(run(f, "create", "web1", "-n", "late-label", NULL), 0);
    assert_non_null(strstr(f->err, "deprecated"));
    assert_int_equal(run(f, "create", "-q", "web1", NULL), 0);
    assert_non_null(strstr(f->err, "warning: -q (quiesce) is deprecated"));
    assert_int_equal(run(f, "create", "--paused", "web1", NULL), 0);
    assert_non_null(strstr(f->err, "use --no-live"));
    assert_int_equal(run(f, "-q", "create", "--paused", "web1", NULL), 0);
    assert_string_equal(f->err, ""); /* -q: no warnings */
}

/* --json everywhere: one document with format_version, errors included. */
static void test_json_everywhere(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX];
    yajl_val o, e;
    const char *ep[] = {"error", NULL};

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    assert_int_equal(run(f, "verify", "--json", id, NULL), 0);
    o = parse_json(f->out);
    assert_int_equal(YAJL_GET_INTEGER(jget(o, "format_version")), 1);
    assert_true(YAJL_IS_TRUE(jget(o, "ok")));
    yajl_tree_free(o);
    assert_int_equal(run(f, "--json", "info", id, NULL), 0);
    o = parse_json(f->out);
    assert_int_equal(YAJL_GET_INTEGER(jget(o, "format_version")), 1);
    /* fixed keys: every disk has size_bytes and writes_held_ms (null or a number) */
    yajl_tree_free(o);
    assert_int_equal(run(f, "--json", "info", "20260101T000000.000Z-000000", NULL),
                     XLCP_EXIT_NOTFOUND);
    o = parse_json(f->out);
    e = yajl_tree_get(o, ep, yajl_t_object);
    assert_non_null(e);
    assert_int_equal(YAJL_GET_INTEGER(jget(e, "exit")), XLCP_EXIT_NOTFOUND);
    assert_true(strlen(jstr(e, "message")) > 0);
    yajl_tree_free(o);
    assert_one_error_line(f, "xl-checkpoint: info: ");
    assert_int_equal(run(f, "--json", "create", "--bogus", "web1", NULL), XLCP_EXIT_USAGE);
    o = parse_json(f->out);
    assert_non_null(yajl_tree_get(o, ep, yajl_t_object));
    yajl_tree_free(o);
    assert_int_equal(run(f, "recover", "--json", "-n", NULL), 0);
    o = parse_json(f->out);
    assert_true(YAJL_IS_TRUE(jget(o, "dry_run")));
    yajl_tree_free(o);
    assert_int_equal(run(f, "restore", "--json", "--name", "web1-r", id, NULL), 0);
    o = parse_json(f->out);
    assert_true(YAJL_GET_INTEGER(jget(o, "domid")) > 0);
    yajl_tree_free(o);
    fake_xs_set(f->dom, "control/feature-checkpoint", "1", 0);
    run(f, "xs-check", "--json", "web1", NULL); /* violations or not: a document */
    o = parse_json(f->out);
    assert_true(YAJL_IS_INTEGER(jget(o, "violations")));
    yajl_tree_free(o);
    assert_int_equal(run(f, "list", "--json", NULL), 0);
    assert_int_equal(run(f, "delete", "--json", id, NULL), 0);
    o = parse_json(f->out);
    assert_true(YAJL_IS_TRUE(jget(o, "deleted")));
    yajl_tree_free(o);
    assert_int_equal(run(f, "delete", "--json", "-f", id, NULL), 0);
    o = parse_json(f->out);
    assert_true(YAJL_IS_TRUE(jget(o, "absent")));
    yajl_tree_free(o);
}

static void test_not_found(void **state)
{
    struct fx *f = *state;

    assert_int_equal(run(f, "create", "nosuch", NULL), XLCP_EXIT_NOTFOUND);
    assert_one_error_line(f, "xl-checkpoint: create: ");
    assert_non_null(strstr(f->err, "nosuch"));
    assert_int_equal(run(f, "info", "20260101T000000.000Z-000000", NULL), XLCP_EXIT_NOTFOUND);
    assert_one_error_line(f, "xl-checkpoint: info: ");
    assert_int_equal(run(f, "verify", "20260101T000000.000Z-000000", NULL), XLCP_EXIT_NOTFOUND);
    assert_int_equal(run(f, "delete", "20260101T000000.000Z-000000", NULL), XLCP_EXIT_NOTFOUND);
    assert_one_error_line(f, "xl-checkpoint: delete: ");
    assert_int_equal(run(f, "delete", "-f", "20260101T000000.000Z-000000", NULL), 0);
    assert_string_equal(f->err, "");
}

static void test_engine_errors_map_to_exit_codes(void **state)
{
    struct fx *f = *state;

    fake_fail(f->w, "store.lock", XLCP_EBUSY, 1);
    assert_int_equal(run(f, "create", "web1", NULL), XLCP_EXIT_BUSY);
    assert_one_error_line(f, "xl-checkpoint: create: ");
    fake_fail(f->w, "disk.check_space", XLCP_ENOSPC, 1);
    assert_int_equal(run(f, "create", "web1", NULL), XLCP_EXIT_NOSPC);
    fake_fail(f->w, "hv.save", XLCP_EHV, 1);
    assert_int_equal(run(f, "create", "web1", NULL), XLCP_EXIT_BACKEND);
    assert_one_error_line(f, "xl-checkpoint: create: ");
    fake_fail(f->w, "disk.capture", XLCP_EDISK, 1);
    assert_int_equal(run(f, "create", "web1", NULL), XLCP_EXIT_BACKEND);
    f->dom->d.state = XLCP_DOM_PAUSED;
    assert_int_equal(run(f, "create", "web1", NULL), XLCP_EXIT_STATE);
    assert_int_equal(fake_catalog_entries(f->w), 0);
}

static void test_exit_code_table(void **state)
{
    (void)state;
    assert_int_equal(xlcp_cli_exit_code(XLCP_OK), 0);
    assert_int_equal(xlcp_cli_exit_code(XLCP_EINVAL), 2);
    assert_int_equal(xlcp_cli_exit_code(XLCP_ENOTFOUND), 3);
    assert_int_equal(xlcp_cli_exit_code(XLCP_ESTATE), 4);
    assert_int_equal(xlcp_cli_exit_code(XLCP_EBUSY), 5);
    assert_int_equal(xlcp_cli_exit_code(XLCP_ENOSPC), 6);
    assert_int_equal(xlcp_cli_exit_code(XLCP_ETIMEDOUT), 7);
    assert_int_equal(xlcp_cli_exit_code(XLCP_ECORRUPT), 8);
    assert_int_equal(xlcp_cli_exit_code(XLCP_EIO), 1);
    assert_int_equal(xlcp_cli_exit_code(XLCP_EUNSUPPORTED), 9);
    assert_int_equal(xlcp_cli_exit_code(XLCP_EHV), 10);
    assert_int_equal(xlcp_cli_exit_code(XLCP_EDISK), 10);
    assert_int_equal(xlcp_cli_exit_code(XLCP_EPERM), 11);
    assert_int_equal(xlcp_cli_exit_code(XLCP_EINTERNAL), 1);
    assert_int_equal(xlcp_cli_exit_code(-999), 1);
}

static void test_unwritable_catalog_root(void **state)
{
    struct fx *f = *state;
    char file[300], root[320];
    FILE *fp;

    snprintf(file, sizeof(file), "%s/plain-file", f->w->root);
    fp = fopen(file, "w");
    assert_non_null(fp);
    assert_int_equal(fclose(fp), 0);
    snprintf(root, sizeof(root), "%s/catalog", file);
    assert_int_equal(run(f, "-r", root, "create", "web1", NULL), XLCP_EXIT_PERM);
    assert_one_error_line(f, "xl-checkpoint: create: ");
    assert_int_equal(fake_snapshot_count(f->w), 0);
    assert_int_equal(f->dom->suspended, 0);
    /* The environment variable is honoured the same way; -r wins over it. */
    assert_int_equal(setenv("XLCP_CATALOG_ROOT", root, 1), 0);
    assert_int_equal(run(f, "create", "web1", NULL), XLCP_EXIT_PERM);
    assert_int_equal(run(f, "-r", f->w->root, "create", "web1", NULL), 0);
    assert_int_equal(unsetenv("XLCP_CATALOG_ROOT"), 0);
}

static void test_delete(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX];
    yajl_val arr;

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    assert_int_equal(fake_snapshot_count(f->w), 2);
    assert_int_equal(run(f, "delete", id, NULL), 0);
    assert_string_equal(f->out, "");
    assert_string_equal(f->err, "");
    assert_int_equal(fake_snapshot_count(f->w), 0);
    assert_int_equal(run(f, "list", "--json", NULL), 0);
    arr = list_array(f->out);
    assert_int_equal(YAJL_GET_ARRAY(arr)->len, 0);
    list_free();
    assert_int_equal(run(f, "delete", id, NULL), XLCP_EXIT_NOTFOUND);
}

static void test_restore(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX];
    char *end;
    unsigned long domid;

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    assert_int_equal(run(f, "restore", "--name", "web1-copy", "-p", id, NULL), 0);
    domid = strtoul(f->out, &end, 10);
    assert_string_equal(end, "\n");
    assert_true(domid > 0);
    assert_non_null(fake_find_domain(f->w, "web1-copy"));
    fake_fail(f->w, "hv.restore", XLCP_EHV, 1);
    assert_int_equal(run(f, "restore", id, NULL), XLCP_EXIT_BACKEND);
    assert_one_error_line(f, "xl-checkpoint: restore: ");
}

/* xs-check: a well-formed subtree passes (exit 0); a broken one is reported node by node
 * (exit 1); a guest without the module has nothing to violate. */
static void test_xs_check(void **state)
{
    struct fx *f = *state;
    const unsigned rw = XLCP_XS_PERM_READ | XLCP_XS_PERM_WRITE;

    assert_int_equal(run(f, "xs-check", "web1", NULL), 0);
    assert_non_null(strstr(f->out, "no checkpoint module"));
    assert_non_null(strstr(f->out, "0 violations"));

    fake_xs_set(f->dom, "data/checkpoint/feature", "1", rw);
    fake_xs_set(f->dom, "data/checkpoint/protocol", "2", rw);
    fake_xs_set(f->dom, "data/checkpoint/capabilities", "quiesce", rw);
    fake_xs_set(f->dom, "data/checkpoint/state", "idle", rw);
    fake_xs_set(f->dom, "data/checkpoint/suspend-path", "stock", rw);
    assert_int_equal(run(f, "xs-check", "web1", NULL), 0);
    assert_non_null(strstr(f->out, "checkpoint module advertised, 0 violations"));

    fake_xs_set(f->dom, "data/checkpoint/bogus", "x", rw);
    f->dom->xs[3].value[0] = '\x01'; /* state: binary garbage */
    assert_int_equal(run(f, "xs-check", "web1", NULL), 1);
    assert_non_null(strstr(f->out, "2 violations"));
    assert_non_null(strstr(f->out, "unknown-node: data/checkpoint/bogus"));
    assert_non_null(strstr(f->out, "bad-value: data/checkpoint/state"));

    assert_int_equal(run(f, "xs-check", "nosuch", NULL), 3);
    assert_int_equal(run(f, "xs-check", NULL), 2);
}

static void test_verbose_progress(void **state)
{
    struct fx *f = *state;

    assert_int_equal(run(f, "-v", "create", "web1", NULL), 0);
    assert_non_null(strstr(f->err, "[1/8] prepare"));
    assert_non_null(strstr(f->err, "[8/8] commit"));
    /* -v after the subcommand too (it used to be "unknown option -v") */
    assert_int_equal(run(f, "create", "-v", "web1", NULL), 0);
    assert_non_null(strstr(f->err, "[1/8] prepare"));
    assert_int_equal(run(f, "create", "--verbose", "web1", NULL), 0);
    assert_non_null(strstr(f->err, "[8/8] commit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_help_lists_subcommands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_then_list_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_json_and_label, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_info_human_and_xml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_flipped_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_truncated_image, setup, teardown),
        cmocka_unit_test_setup_teardown(test_broken_manifest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_option_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xl_conventions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_errors_map_to_exit_codes, setup, teardown),
        cmocka_unit_test(test_exit_code_table),
        cmocka_unit_test_setup_teardown(test_unwritable_catalog_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verbose_progress, setup, teardown),
        cmocka_unit_test_setup_teardown(test_xs_check, setup, teardown),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
