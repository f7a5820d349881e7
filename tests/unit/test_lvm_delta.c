/*
 * test_lvm_delta.c - the LVM side of export (lvm_delta.c) over fake `lvm`, `dmsetup` and
 * `thin_delta` commands (shell scripts that log their arguments): the pool's metadata
 * snapshot is reserved before thin_delta runs and released after it, also when
 * thin_delta fails or hangs (killed at its time limit); a stale reservation is released
 * and taken again; volumes of different pools are refused before anything runs; a thin
 * snapshot is activated for reading and deactivated after.
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

#include "export.h"

struct t {
    char dir[128];
    char log[256];
    struct xlcp_export_io io;
    struct xlcp_err err;
};

static void script(const struct t *t, const char *name, const char *body)
{
    char p[300];
    snprintf(p, sizeof(p), "%s/%s", t->dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nT=%s\necho \"%s $*\" >> $T/log\n%s", t->dir, name, body);
    fclose(f);
    assert_int_equal(chmod(p, 0755), 0);
}

static void touch(const struct t *t, const char *name)
{
    char p[300];
    snprintf(p, sizeof(p), "%s/%s", t->dir, name);
    int fd = open(p, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
}

static char *read_log(const struct t *t)
{
    static char buf[8192];
    FILE *f = fopen(t->log, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    return buf;
}

static int setup(void **state)
{
    struct t *t = calloc(1, sizeof(*t));
    char p[300];

    snprintf(t->dir, sizeof(t->dir), "/tmp/xlcp-test-delta-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->log, sizeof(t->log), "%s/log", t->dir);
    /* lvs: snapA (thin id 5) and snapB (7) in vg0/pool, snapC in pool2; thick one */
    script(t, "lvm",
           "case \"$1\" in\n"
           "lvs) for a; do n=$a; done\n"
           "  case $n in\n"
           "  vg0/snapA) echo '  "
           "vg0|snapA|134217728|thin|pool|xlcp-x|d0|5|0|Vri---tz-k|||vgu|lvua' ;;\n"
           "  vg0/snapB) echo '  "
           "vg0|snapB|134217728|thin|pool|xlcp-x|d0|7|0|Vri---tz-k|||vgu|lvub' ;;\n"
           "  vg0/snapC) echo '  "
           "vg0|snapC|134217728|thin|pool2|xlcp-x|d0|9|0|Vri---tz-k|||vgu|lvuc' ;;\n"
           "  *) echo \"  Failed to find logical volume $n\" >&2; exit 5 ;;\n"
           "  esac ;;\n"
           "lvchange) for a; do n=$a; done; mkdir -p $T/dev/vg0; : > $T/dev/$n ;;\n"
           "esac\nexit 0\n");
    script(t, "dmsetup",
           "case \"$4\" in\n"
           "reserve_metadata_snap) [ -e $T/held ] && { echo 'device-mapper: message ioctl "
           "failed: Invalid argument' >&2; exit 1; }; : > $T/held ;;\n"
           "release_metadata_snap) [ -e $T/held ] || exit 1; rm -f $T/held ;;\n"
           "esac\nexit 0\n");
    script(t, "thin_delta",
           "[ -e $T/held ] || { echo 'no metadata snapshot' >&2; exit 1; }\n"
           "[ -e $T/td-fail ] && { echo 'bad checksum in superblock' >&2; exit 1; }\n"
           "[ -e $T/td-hang ] && exec sleep 30\n"
           "echo '<superblock uuid=\"\" time=\"1\" transaction=\"2\" data_block_size=\"128\" "
           "nr_data_blocks=\"1000\">'\n"
           "echo '<diff left=\"5\" right=\"7\"><different begin=\"2\" length=\"1\"/>"
           "<right_only begin=\"5\" length=\"2\"/></diff></superblock>'\n");
    snprintf(p, sizeof(p), "%s/lvm", t->dir);
    setenv("XLCP_LVM", p, 1);
    snprintf(p, sizeof(p), "%s/dmsetup", t->dir);
    setenv("XLCP_DMSETUP", p, 1);
    snprintf(p, sizeof(p), "%s/thin_delta", t->dir);
    setenv("XLCP_THIN_DELTA", p, 1);
    snprintf(p, sizeof(p), "%s/dev", t->dir);
    setenv("XLCP_LVM_DEVDIR", p, 1);
    snprintf(p, sizeof(p), "%s/run", t->dir);
    setenv("XLCP_RUN_DIR", p, 1);
    setenv("XLCP_THIN_DELTA_TIMEOUT_MS", "1500", 1);
    assert_int_equal(xlcp_export_io_lvm_open(&t->io, &t->err), 0);
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t *t = *state;
    char cmd[300];
    xlcp_export_io_lvm_close(&t->io);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
    assert_int_equal(system(cmd), 0);
    free(t);
    return 0;
}

static struct xlcp_snapshot snap(const char *lv)
{
    struct xlcp_snapshot s;
    memset(&s, 0, sizeof(s));
    snprintf(s.vg, sizeof(s.vg), "vg0");
    snprintf(s.lv, sizeof(s.lv), "%s", lv);
    s.thin = 1;
    return s;
}

static int changed(struct t *t, const char *a, const char *b, struct xlcp_extent **e, size_t *n)
{
    struct xlcp_snapshot sa = snap(a), sb = snap(b);
    xlcp_err_clear(&t->err);
    return t->io.ops->changed(t->io.self, &sa, &sb, e, n, &t->err);
}

static void assert_order(const char *log, const char *first, const char *then)
{
    const char *a = strstr(log, first), *b = a ? strstr(a, then) : NULL;
    if (!a || !b)
        fail_msg("'%s' then '%s' expected in:\n%s", first, then, log);
}

static void test_reserve_delta_release(void **state)
{
    struct t *t = *state;
    struct xlcp_extent *e;
    size_t n;

    assert_int_equal(changed(t, "snapA", "snapB", &e, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].offset, 2 * 65536);
    assert_int_equal(e[1].length, 2 * 65536);
    free(e);
    const char *log = read_log(t);
    assert_order(log, "dmsetup message vg0-pool-tpool 0 reserve_metadata_snap",
                 "thin_delta --metadata-snap --snap1 5 --snap2 7 ");
    assert_order(log, "thin_delta", "dmsetup message vg0-pool-tpool 0 release_metadata_snap");
    assert_non_null(strstr(log, "/dev/mapper/vg0-pool_tmeta"));
    char held[300];
    snprintf(held, sizeof(held), "%s/held", t->dir);
    assert_int_not_equal(access(held, F_OK), 0);
}

static void test_release_after_failure_and_hang(void **state)
{
    struct t *t = *state;
    struct xlcp_extent *e;
    size_t n;
    char held[300];

    snprintf(held, sizeof(held), "%s/held", t->dir);
    touch(t, "td-fail");
    assert_int_equal(changed(t, "snapA", "snapB", &e, &n), XLCP_EDISK);
    assert_non_null(strstr(t->err.msg, "bad checksum"));
    assert_int_not_equal(access(held, F_OK), 0);
    assert_order(read_log(t), "thin_delta", "release_metadata_snap");
    unlink(strcat(strcpy(held, t->dir), "/td-fail"));

    touch(t, "td-hang");
    assert_int_equal(changed(t, "snapA", "snapB", &e, &n), XLCP_ETIMEDOUT);
    snprintf(held, sizeof(held), "%s/held", t->dir);
    assert_int_not_equal(access(held, F_OK), 0);
}

static void test_stale_reservation_and_refusals(void **state)
{
    struct t *t = *state;
    struct xlcp_extent *e;
    size_t n;

    touch(t, "held"); /* left by a killed run */
    assert_int_equal(changed(t, "snapA", "snapB", &e, &n), 0);
    free(e);
    const char *log = read_log(t);
    assert_order(log, "reserve_metadata_snap", "release_metadata_snap");
    assert_order(log, "release_metadata_snap", "reserve_metadata_snap");

    unlink(t->log);
    assert_int_equal(changed(t, "snapA", "snapC", &e, &n), XLCP_EINVAL);
    assert_non_null(strstr(t->err.msg, "not thin volumes of one pool"));
    assert_int_equal(changed(t, "snapA", "gone", &e, &n), XLCP_ENOTFOUND);
    assert_null(strstr(read_log(t), "dmsetup"));
}

static void test_activates_for_reading(void **state)
{
    struct t *t = *state;
    struct xlcp_snapshot s = snap("snapA");
    int fd = -1;

    assert_int_equal(t->io.ops->open_snap(t->io.self, &s, &fd, &t->err), 0);
    assert_true(fd >= 0);
    t->io.ops->close_snap(t->io.self, &s, fd);
    const char *log = read_log(t);
    assert_order(log, "lvchange -q -ay -K vg0/snapA", "lvchange -q -an vg0/snapA");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reserve_delta_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_after_failure_and_hang, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_reservation_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_activates_for_reading, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
