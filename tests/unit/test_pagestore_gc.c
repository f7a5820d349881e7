/*
 * test_pagestore_gc.c - releasing and collecting in the page store: deleting a checkpoint
 * and collecting reclaims its pages and keeps every other checkpoint whole; two ingests at
 * once leave duplicates that the collector folds; a collection killed at each of its steps
 * (a child process that exits in the fault hook), and an ingest killed at each step of its
 * commit, lose no live page and leave nothing the next collection does not remove.
 * Damaged files: test_pagestore_damage.c.
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
#include <sys/wait.h>
#include <unistd.h>

#include "ps_check.h"

static int cmp16(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* Distinct data pages of the images (their last copies). */
static uint64_t distinct(const struct sb *const *imgs, size_t n)
{
    uint8_t(*all)[16] = NULL;
    size_t cnt = 0, u = 0;
    struct xlcp_err err;

    for (size_t i = 0; i < n; i++) {
        struct psfx_img img;
        assert_int_equal(psfx_collect(imgs[i]->p, imgs[i]->len, &img, &err), 0);
        all = realloc(all, (cnt + img.npg) * 16);
        assert_non_null(all);
        for (size_t j = 0; j < img.npg; j++)
            if (img.pg[j].data)
                memcpy(all[cnt++], img.pg[j].dig, 16);
        psfx_img_free(&img);
    }
    qsort(all, cnt, 16, cmp16);
    for (size_t i = 0; i < cnt; i++)
        u += i == 0 || memcmp(all[i], all[i - 1], 16) != 0;
    free(all);
    return u;
}

/* The store holds exactly `pages` pages, each pack has its index, no temporary file. */
static void clean(struct psfx_t *t, uint64_t pages)
{
    struct xlcp_ps_verify_stats vs;

    if (xlcp_ps_verify(t->ps, NULL, NULL, &vs, &t->err) != 0)
        fail_msg("verify: %s", t->err.msg);
    assert_int_equal(vs.bad, 0);
    if (vs.pages != pages)
        fail_msg("%llu pages stored, %llu live", (unsigned long long)vs.pages,
                 (unsigned long long)pages);
    if (psfx_count(t->packs, ".pack") != psfx_count(t->packs, ".idx")) {
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "ls -la '%s' >&2", t->packs);
        (void)!system(cmd);
        fail_msg("a pack without its index, or an index without its pack");
    }
    assert_int_equal(psfx_count(t->packs, ".tmp"), 0);
    assert_int_equal(psfx_count(t->maps, ".tmp"), 0);
}

static void test_release_gc(void **state)
{
    const struct psfx_round dirty[] = {{0, 300, 3, 1}};
    struct psfx_t *t = psfx_open(1, 0);
    struct sb a = {NULL, 0, 0}, b = {NULL, 0, 0};
    const struct sb *live[] = {&b};
    struct xlcp_ps_gc_stats gs;
    char **names;
    size_t n;
    (void)state;

    psfx_hvm_image(&a, 1, 2048, 0, NULL, 0);
    psfx_hvm_image(&b, 1, 2048, 0, dirty, 1);
    store(t, "a", &a);
    store(t, "b", &b);
    assert_int_equal(xlcp_ps_gc(t->ps, &gs, &t->err), 0); /* nothing to do */
    assert_int_equal(gs.pages_copied, 0);
    assert_int_equal(gs.bytes_after, gs.bytes_before);
    assert_int_equal(xlcp_ps_list(t->ps, &names, &n, &t->err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "a");
    free(names[0]);
    free(names[1]);
    free(names);
    assert_int_equal(xlcp_ps_release(t->ps, "a", &t->err), 0);
    assert_int_equal(xlcp_ps_release(t->ps, "a", &t->err), XLCP_ENOTFOUND);
    assert_int_equal(xlcp_ps_gc(t->ps, &gs, &t->err), 0);
    assert_int_equal(gs.live_pages, 2048);
    assert_int_equal(gs.pages_copied, 2048 - 300);
    assert_true(gs.bytes_after < gs.bytes_before);
    intact(t, "b", &b);
    clean(t, distinct(live, 1));
    assert_int_equal(xlcp_ps_release(t->ps, "b", &t->err), 0);
    assert_int_equal(xlcp_ps_gc(t->ps, &gs, &t->err), 0);
    assert_int_equal(psfx_count(t->packs, ".pack"), 0);
    assert_int_equal(gs.bytes_after, 0);
    sb_free(&a);
    sb_free(&b);
    psfx_close(t, 1);
}

/* A collection needs the store to itself. */
static void test_gc_busy(void **state)
{
    struct psfx_t *t = psfx_open(1, 0);
    struct xlcp_ps_ingest *in;
    (void)state;

    assert_int_equal(xlcp_ps_ingest_begin(t->ps, "x", &in, &t->err), 0);
    assert_int_equal(xlcp_ps_gc(t->ps, NULL, &t->err), XLCP_EBUSY);
    xlcp_ps_ingest_abort(in);
    assert_int_equal(xlcp_ps_gc(t->ps, NULL, &t->err), 0);
    psfx_close(t, 1);
}

/* Two ingests at once of the same memory both store its pages (neither knew the other's);
 * the collector keeps one copy, in the newest pack, and both maps stay whole. */
static void test_concurrent_ingests(void **state)
{
    struct psfx_t *t = psfx_open(1, 0);
    struct sb a = {NULL, 0, 0};
    const struct sb *one[] = {&a};
    struct xlcp_ps_ingest *x, *y;
    struct xlcp_ps_verify_stats vs;
    struct xlcp_ps_gc_stats gs;
    (void)state;

    psfx_hvm_image(&a, 7, 700, 3, NULL, 0);
    assert_int_equal(xlcp_ps_ingest_begin(t->ps, "x", &x, &t->err), 0);
    assert_int_equal(xlcp_ps_ingest_begin(t->ps, "y", &y, &t->err), 0);
    for (size_t off = 0; off < a.len; off += 8192) {
        size_t n = a.len - off < 8192 ? a.len - off : 8192;
        assert_int_equal(xlcp_ps_ingest_feed(x, a.p + off, n, &t->err), 0);
        assert_int_equal(xlcp_ps_ingest_feed(y, a.p + off, n, &t->err), 0);
    }
    assert_int_equal(xlcp_ps_ingest_commit(y, NULL, &t->err), 0);
    assert_int_equal(xlcp_ps_ingest_commit(x, NULL, &t->err), 0);
    assert_int_equal(xlcp_ps_verify(t->ps, NULL, NULL, &vs, &t->err), 0);
    assert_int_equal(vs.pages, 2 * distinct(one, 1));
    assert_int_equal(xlcp_ps_gc(t->ps, &gs, &t->err), 0);
    assert_int_equal(gs.pages_copied, 0); /* the older pack holds only second copies */
    assert_int_equal(psfx_count(t->packs, ".pack"), 1);
    intact(t, "x", &a);
    intact(t, "y", &a);
    clean(t, distinct(one, 1));
    sb_free(&a);
    psfx_close(t, 1);
}

/* ---- killed at each step ---- */

struct killer {
    int at, n, fd;
};

static int kill_hook(void *arg, const char *step)
{
    struct killer *k = arg;
    if (++k->n == k->at) {
        ssize_t w = write(k->fd, step, strlen(step));
        (void)w;
        _exit(42);
    }
    return 0;
}

enum op { OP_GC, OP_STORE };

/* Runs op on the store at root in a child killed at its k-th step: the step's name in
 * step (1 returned), or 0 if the operation finished first. */
static int killed_at(const char *root, int k, enum op op, const struct sb *img, char *step,
                     size_t len)
{
    int p[2], status;
    pid_t pid;
    ssize_t n;

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct killer kl = {k, 0, p[1]};
        struct xlcp_ps_opts o;
        struct xlcp_pagestore *ps;
        struct xlcp_err err;
        int rc;
        close(p[0]);
        xlcp_ps_opts_default(&o);
        o.fault = kill_hook;
        o.fault_arg = &kl;
        if (xlcp_ps_open(root, &o, &ps, &err) != 0)
            _exit(3);
        rc = op == OP_GC ? xlcp_ps_gc(ps, NULL, &err)
                         : psfx_store(ps, "killed", img->p, img->len, 0, NULL, &err);
        _exit(rc ? 4 : 0);
    }
    close(p[1]);
    n = read(p[0], step, len - 1);
    close(p[0]);
    step[n > 0 ? n : 0] = '\0';
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) == 0)
        return 0;
    if (WEXITSTATUS(status) != 42)
        fail_msg("the child failed (%d) before step %d", WEXITSTATUS(status), k);
    return 1;
}

static void copy_tree(const char *from, const char *to)
{
    char cmd[1400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_gc_killed(void **state)
{
    const struct psfx_round dirty[] = {{0, 300, 3, 1}};
    struct sb a = {NULL, 0, 0}, b = {NULL, 0, 0}, c = {NULL, 0, 0}, d = {NULL, 0, 0};
    const struct sb *live[] = {&b, &c};
    struct psfx_t *base = psfx_open(1, 0), *t;
    char work[700], step[100], seen[1200] = "";
    uint64_t want;
    int k, steps = 0;
    (void)state;

    psfx_hvm_image(&a, 1, 2048, 0, NULL, 0);
    psfx_hvm_image(&b, 1, 2048, 0, dirty, 1);
    psfx_hvm_image(&c, 2, 512, 0, NULL, 0);
    store(base, "a", &a);
    store(base, "b", &b);
    store(base, "c", &c);
    /* leftovers of two killed ingests: a published pack with a map.tmp, an unpublished pack */
    psfx_hvm_image(&d, 3, 100, 0, NULL, 0);
    assert_int_equal(killed_at(base->root, 5, OP_STORE, &d, step, sizeof(step)), 1);
    assert_string_equal(step, "ingest-map-rename");
    assert_int_equal(psfx_count(base->maps, ".tmp"), 1);
    sb_free(&d);
    psfx_hvm_image(&d, 4, 100, 0, NULL, 0);
    assert_int_equal(killed_at(base->root, 1, OP_STORE, &d, step, sizeof(step)), 1);
    assert_string_equal(step, "ingest-publish-idx");
    assert_int_equal(psfx_count(base->packs, ".pack"), psfx_count(base->packs, ".idx") + 1);
    assert_int_equal(xlcp_ps_release(base->ps, "a", &base->err), 0);
    want = distinct(live, 2);
    snprintf(work, sizeof(work), "%s-work", base->root);
    for (k = 1; k < 100; k++) {
        copy_tree(base->root, work);
        if (!killed_at(work, k, OP_GC, NULL, step, sizeof(step)))
            break;
        steps++;
        snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), " %s", step);
        t = psfx_reopen(work);
        intact(t, "b", &b);
        intact(t, "c", &c);
        if (xlcp_ps_gc(t->ps, NULL, &t->err) != 0)
            fail_msg("gc after one killed at %s: %s", step, t->err.msg);
        intact(t, "b", &b);
        intact(t, "c", &c);
        clean(t, want);
        psfx_close(t, 0);
    }
    print_message("gc killed at each of its %d steps (%s): nothing lost, nothing left\n", steps,
                  seen + 1);
    assert_true(steps >= 10);
    t = psfx_reopen(work);
    clean(t, want);
    psfx_close(t, 0);
    psfx_rmdir(strdup(work));
    sb_free(&d);
    sb_free(&a);
    sb_free(&b);
    sb_free(&c);
    psfx_close(base, 1);
}

/* An ingest killed at each step of its commit: the map is whole or absent, and the next
 * collection leaves exactly the live pages. */
static void test_ingest_killed(void **state)
{
    const struct psfx_round dirty[] = {{0, 100, 2, 1}};
    struct sb a = {NULL, 0, 0}, b = {NULL, 0, 0};
    const struct sb *both[] = {&a, &b}, *one[] = {&a};
    struct psfx_t *base = psfx_open(1, 0), *t;
    char work[700], step[100];
    int k, steps = 0;
    (void)state;

    psfx_hvm_image(&a, 1, 1024, 0, NULL, 0);
    psfx_hvm_image(&b, 1, 1024, 0, dirty, 1);
    store(base, "a", &a);
    snprintf(work, sizeof(work), "%s-work", base->root);
    for (k = 1; k < 50; k++) {
        int has;
        copy_tree(base->root, work);
        if (!killed_at(work, k, OP_STORE, &b, step, sizeof(step)))
            break;
        steps++;
        t = psfx_reopen(work);
        has = xlcp_ps_has(t->ps, "killed");
        if (has)
            intact(t, "killed", &b);
        intact(t, "a", &a);
        if (xlcp_ps_gc(t->ps, NULL, &t->err) != 0)
            fail_msg("gc after an ingest killed at %s: %s", step, t->err.msg);
        intact(t, "a", &a);
        clean(t, has ? distinct(both, 2) : distinct(one, 1));
        psfx_close(t, 0);
    }
    assert_int_equal(steps, 6);
    psfx_rmdir(strdup(work));
    sb_free(&a);
    sb_free(&b);
    psfx_close(base, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_gc),         cmocka_unit_test(test_gc_busy),
        cmocka_unit_test(test_concurrent_ingests), cmocka_unit_test(test_gc_killed),
        cmocka_unit_test(test_ingest_killed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
