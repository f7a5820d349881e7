/*
 * test_cli_pagestore.c - the command line over checkpoints whose memory image the page
 * store holds alone (XLCP_PAGESTORE at create only): verify says OK, and after a page of
 * the store is damaged exits 8 (a corrupt checkpoint) with one error line naming the
 * checkpoint, the map, the pfn and the pack; restore refuses it the same way; delete
 * releases the map with no XLCP_PAGESTORE in its environment.
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
#include "pagestore.h"
#include "fakes/ps_fx.h"

static void test_verify_restore_delete(void **state)
{
    struct fx *f = *state;
    char *dir = psfx_tmpdir(), id[XLCP_ID_MAX], want[128];
    struct xlcp_pagestore *ps;
    struct xlcp_err err;

    assert_int_equal(setenv("XLCP_PAGESTORE", dir, 1), 0);
    snprintf(id, sizeof(id), "%s", cli_create(f, NULL));
    assert_int_equal(unsetenv("XLCP_PAGESTORE"), 0);
    snprintf(want, sizeof(want), "checkpoint %s: OK\n", id);
    assert_int_equal(run(f, "verify", id, NULL), 0);
    assert_string_equal(f->out, want);

    assert_int_equal(psfx_damage_first_block(dir), 0);
    assert_int_equal(run(f, "verify", id, NULL), XLCP_EXIT_CORRUPT);
    assert_string_equal(f->out, "");
    assert_one_error_line(f, "xl-checkpoint: verify: ");
    assert_non_null(strstr(f->err, id));
    assert_non_null(strstr(f->err, "pfn "));
    assert_non_null(strstr(f->err, "pack 0000"));
    assert_int_equal(run(f, "restore", "--name", "web1-back", id, NULL), XLCP_EXIT_CORRUPT);
    assert_one_error_line(f, "xl-checkpoint: restore: ");
    assert_non_null(strstr(f->err, "pfn "));
    assert_null(fake_find_domain(f->w, "web1-back"));

    assert_int_equal(run(f, "delete", id, NULL), 0);
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_ps_open(dir, NULL, &ps, &err), 0);
    assert_false(xlcp_ps_has(ps, id));
    xlcp_ps_close(ps);
    psfx_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_verify_restore_delete, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
