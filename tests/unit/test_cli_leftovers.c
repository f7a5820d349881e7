/*
 * test_cli_leftovers.c - the command line around interrupted checkpoints and shared
 * domains: `recover [--dry-run]`, the per-domain lock (delete while another command holds
 * it: exit 5), and `restore --disk VDEV=PATH` for a disk the checkpoint skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_fx.h"

/* delete while another command (create, say) holds the domain's lock: busy, exit 5. */
static void test_delete_busy(void **state)
{
    struct fx *f = *state;
    const struct xlcp_store *st = &f->w->ports.store;
    struct xlcp_store_lock *lock = NULL;
    struct xlcp_err err;
    char id[XLCP_ID_MAX];

    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    xlcp_err_clear(&err);
    assert_int_equal(st->ops->lock(st->self, f->dom->d.uuid, &lock, &err), 0);
    assert_int_equal(run(f, "delete", id, NULL), 5);
    assert_one_error_line(f, "xl-checkpoint: delete: ");
    assert_non_null(strstr(f->err, "another xl-checkpoint command"));
    /* and create of the domain too */
    assert_int_equal(run(f, "create", "web1", NULL), 5);
    st->ops->unlock(st->self, lock);
    assert_int_equal(run(f, "delete", id, NULL), 0);
}

/* recover --dry-run shows what a failed run kept; recover removes it. */
static void test_recover(void **state)
{
    struct fx *f = *state;

    assert_int_equal(run(f, "recover", NULL), 0);
    assert_non_null(strstr(f->out, "nothing left"));

    fake_fail(f->w, "store.commit", XLCP_EIO, 1);
    fake_fail(f->w, "disk.remove", XLCP_EDISK, 1);
    assert_int_equal(run(f, "create", "web1", NULL), 1);
    assert_non_null(strstr(f->err, "intent record keeps"));
    assert_int_equal(fake_snapshot_count(f->w), 1);

    assert_int_equal(run(f, "recover", "--dry-run", "web1", NULL), 0);
    assert_non_null(strstr(f->out, "intent record"));
    assert_non_null(strstr(f->out, "would remove"));
    assert_int_equal(fake_snapshot_count(f->w), 1);
    assert_int_equal(fake_catalog_entries(f->w), 1);

    assert_int_equal(run(f, "recover", NULL), 0);
    assert_non_null(strstr(f->out, "removed"));
    assert_string_equal(f->err, "");
    assert_int_equal(fake_snapshot_count(f->w), 0);
    assert_int_equal(fake_catalog_entries(f->w), 0);

    assert_int_equal(run(f, "recover", "nosuch", NULL), 3);
    assert_int_equal(run(f, "recover", "a", "b", NULL), 2);
    assert_int_equal(run(f, "recover", "--resume", "web1", NULL), 0);
    assert_int_equal(run(f, "help", "recover", NULL), 0);
    assert_non_null(strstr(f->out, "--dry-run"));
    assert_non_null(strstr(f->out, "--resume"));
}

/* A checkpoint with a skipped (non-LVM) disk restores beside its original only with a
 * path for that disk. */
static void test_restore_disk_option(void **state)
{
    struct fx *f = *state;
    char id[XLCP_ID_MAX];

    fake_add_disk(f->w, f->dom, "xvdc", 0, 0);
    assert_int_equal(run(f, "create", "--skip-non-lvm", "web1", NULL), 0);
    assert_true(f->outlen > 1 && f->outlen < sizeof(id));
    memcpy(id, f->out, f->outlen - 1);
    id[f->outlen - 1] = '\0';

    assert_int_equal(run(f, "restore", id, NULL), 2);
    assert_one_error_line(f, "xl-checkpoint: restore: ");
    assert_non_null(strstr(f->err, "--disk xvdc=PATH"));
    assert_int_equal(run(f, "restore", "--disk", "xvdc", id, NULL), 2);
    assert_non_null(strstr(f->err, "VDEV=PATH"));
    assert_int_equal(run(f, "restore", "--disk", "xvdc=/var/lib/images/copy.img", id, NULL), 0);
    assert_int_equal(run(f, "help", "restore", NULL), 0);
    assert_non_null(strstr(f->out, "--disk VDEV=PATH"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delete_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_disk_option, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
