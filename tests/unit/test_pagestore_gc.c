/*
 * test_pagestore_gc.c - releasing and collecting in the page store, and what it does with
 * damaged files: deleting a checkpoint and collecting reclaims its pages and keeps every
 * other checkpoint whole; a collection killed at each of its steps (a child process that
 * exits in the fault hook), and an ingest killed at each step of its commit, lose no live
 * page and leave nothing the next collection does not remove; a corrupt or truncated pack,
 * index or map is found (verify names the map, pfn and pack of each corrupt page), refused
 * by rebuild, and makes the collector stop before it removes anything.
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

#include <xxhash.h>

#include "pagestore.h"
#include "fakes/ps_fx.h"

static void store(struct psfx_t *t, const char *name, const struct sb *b)
{
    if (psfx_store(t->ps, name, b->p, b->len, 0, NULL, &t->err) != 0)
        fail_msg("store %s: %s", name, t->err.msg);
}

/* Map name rebuilds into what b says. */
static void intact(struct psfx_t *t, const char *name, const struct sb *b)
{
    char why[300];
    if (psfx_intact(t->ps, name, b, NULL, why, sizeof(why)))
        fail_msg("%s", why);
}

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

/* ---- damaged files ---- */

/* The nth (from 0) file of dir ending with suffix, by name. */
static void file_of(const char *dir, const char *suffix, int nth, char *out, size_t len)
{
    char cmd[800];
    FILE *p;

    snprintf(cmd, sizeof(cmd), "ls '%s' | grep '%s$' | sed -n '%dp'", dir, suffix, nth + 1);
    p = popen(cmd, "r");
    assert_non_null(p);
    snprintf(out, len, "%s/", dir);
    assert_non_null(fgets(out + strlen(out), (int)(len - strlen(out)), p));
    out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

static void flip(const char *path, off_t off, uint8_t x)
{
    uint8_t c;
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= x;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

static void put64(const char *path, off_t off, uint64_t v)
{
    uint8_t b[8];
    int fd = open(path, O_RDWR);
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, b, 8, off), 8);
    close(fd);
}

/* Recomputes a map's or index's trailing checksum (a forged file that passes it). */
static void reseal(const char *path)
{
    struct sb b = {NULL, 0, 0};
    assert_int_equal(sb_load(path, &b), 0);
    put64(path, (off_t)b.len - 8, XXH3_64bits(b.p, b.len - 8));
    sb_free(&b);
}

struct reports {
    int n;
    char map[4][40];
    uint64_t pfn[4], pack[4];
};

static void on_bad(void *arg, const struct xlcp_ps_bad *bad)
{
    struct reports *r = arg;
    if (r->n < 4) {
        snprintf(r->map[r->n], sizeof(r->map[0]), "%s", bad->map ? bad->map : "-");
        r->pfn[r->n] = bad->pfn;
        r->pack[r->n] = bad->pack;
    }
    r->n++;
}

static void expect(int rc, const struct psfx_t *t, int want, const char *what)
{
    if (rc != want || !strstr(t->err.msg, what))
        fail_msg("rc %d '%s': wanted %d with '%s'", rc, t->err.msg, want, what);
}

/* A page corrupted in a pack (stored raw): verify names each map and pfn using it and the
 * pack; rebuild refuses; the collector will not copy it and removes nothing. */
static void test_corrupt_pack(void **state)
{
    const struct psfx_round dirty[] = {{0, 10, 1, 1}};
    struct psfx_t *t = psfx_open(0, 0);
    struct sb a = {NULL, 0, 0}, b = {NULL, 0, 0}, r = {NULL, 0, 0};
    struct reports rep;
    struct xlcp_ps_verify_stats vs;
    char pack[800];
    uint64_t du;
    (void)state;

    psfx_hvm_image(&a, 1, 256, 0, NULL, 0);
    psfx_hvm_image(&b, 1, 256, 0, dirty, 1);
    store(t, "a", &a);
    store(t, "b", &b);
    assert_int_equal(xlcp_ps_verify(t->ps, NULL, NULL, &vs, &t->err), 0);
    assert_int_equal(vs.pages, 266);
    assert_int_equal(vs.pfns, 512);
    file_of(t->packs, ".pack", 0, pack, sizeof(pack));
    /* pfn 100: block 1 (64 raw pages: 263184 bytes), page 36 */
    flip(pack, 32 + 263184 + 16 + 64 * 16 + 36 * 4096 + 7, 0x10);
    memset(&rep, 0, sizeof(rep));
    expect(xlcp_ps_verify(t->ps, on_bad, &rep, &vs, &t->err), t, XLCP_ECORRUPT,
           "map a pfn 0x64: pack 0000000000000001 block at offset 263216 page 36: digest "
           "mismatch");
    assert_int_equal(rep.n, 2);
    assert_string_equal(rep.map[0], "a");
    assert_string_equal(rep.map[1], "b");
    assert_int_equal(rep.pfn[1], 100);
    assert_int_equal(rep.pack[1], 1);
    expect(psfx_rebuild(t->ps, "b", &r, &t->err), t, XLCP_ECORRUPT, "map b pfn 0x64");
    assert_int_equal(xlcp_ps_release(t->ps, "a", &t->err), 0);
    du = psfx_du(t->packs);
    expect(xlcp_ps_gc(t->ps, NULL, &t->err), t, XLCP_ECORRUPT, "digest mismatch");
    assert_int_equal(psfx_du(t->packs), du);
    assert_int_equal(psfx_count(t->packs, ".pack"), 2);
    assert_int_equal(psfx_count(t->packs, ".tmp"), 0);
    sb_free(&a);
    sb_free(&b);
    sb_free(&r);
    psfx_close(t, 1);
}

/* A byte changed in a zstd block: found, named by pack. */
static void test_corrupt_zstd(void **state)
{
    struct psfx_t *t = psfx_open(3, 0);
    struct sb a = {NULL, 0, 0}, r = {NULL, 0, 0};
    struct reports rep;
    char pack[800];
    uint8_t hdr[48];
    int fd;
    (void)state;

    sb_pv_image(&a, 1, 700, 0, NULL); /* pages that compress */
    store(t, "a", &a);
    intact(t, "a", &a);
    file_of(t->packs, ".pack", 0, pack, sizeof(pack));
    fd = open(pack, O_RDONLY);
    assert_int_equal(pread(fd, hdr, sizeof(hdr), 0), sizeof(hdr));
    close(fd);
    assert_int_equal(hdr[32 + 6], 1); /* compressed */
    flip(pack, 32 + 16 + hdr[32 + 4] * 16 + (hdr[40] | hdr[41] << 8) / 2, 0xff);
    memset(&rep, 0, sizeof(rep));
    expect(xlcp_ps_verify(t->ps, on_bad, &rep, NULL, &t->err), t, XLCP_ECORRUPT,
           "pack 0000000000000001 block at offset 32");
    assert_true(rep.n >= 1);
    assert_string_equal(rep.map[0], "a");
    assert_int_equal(rep.pack[0], 1);
    expect(psfx_rebuild(t->ps, "a", &r, &t->err), t, XLCP_ECORRUPT, "map a pfn");
    sb_free(&a);
    sb_free(&r);
    psfx_close(t, 1);
}

static void test_corrupt_index(void **state)
{
    struct psfx_t *t = psfx_open(1, 0);
    struct sb a = {NULL, 0, 0}, r = {NULL, 0, 0};
    char idx[800];
    uint64_t du;
    (void)state;

    psfx_hvm_image(&a, 1, 300, 0, NULL, 0);
    store(t, "a", &a);
    assert_int_equal(xlcp_ps_release(t->ps, "a", &t->err), 0);
    store(t, "b", &a); /* the pages are in the pack of a, the map is b's */
    file_of(t->packs, ".idx", 0, idx, sizeof(idx));
    du = psfx_du(t->packs);
    flip(idx, 60, 1);
    expect(xlcp_ps_verify(t->ps, NULL, NULL, NULL, &t->err), t, XLCP_ECORRUPT, "checksum mismatch");
    expect(psfx_rebuild(t->ps, "b", &r, &t->err), t, XLCP_ECORRUPT, ".idx: checksum mismatch");
    expect(xlcp_ps_gc(t->ps, NULL, &t->err), t, XLCP_ECORRUPT, "checksum mismatch");
    flip(idx, 60, 1);
    intact(t, "b", &a);
    put64(idx, 48 + 16, 1ull << 40); /* entry 0's offset, beyond the pack */
    reseal(idx);
    expect(xlcp_ps_verify(t->ps, NULL, NULL, NULL, &t->err), t, XLCP_ECORRUPT, "out of bounds");
    put64(idx, 24, 1ull << 60); /* the count */
    reseal(idx);
    expect(psfx_rebuild(t->ps, "b", &r, &t->err), t, XLCP_ECORRUPT, "entries in");
    assert_int_equal(truncate(idx, 100), 0);
    du = psfx_du(t->packs);
    expect(xlcp_ps_gc(t->ps, NULL, &t->err), t, XLCP_ECORRUPT, ".idx");
    assert_int_equal(psfx_du(t->packs), du); /* nothing removed */
    assert_int_equal(psfx_count(t->packs, ".pack"), 1);
    assert_int_equal(truncate(idx, 0), 0);
    expect(psfx_rebuild(t->ps, "b", &r, &t->err), t, XLCP_ECORRUPT, "not an index file");
    sb_free(&a);
    sb_free(&r);
    psfx_close(t, 1);
}

static void test_corrupt_map(void **state)
{
    struct psfx_t *t = psfx_open(1, 0);
    struct sb a = {NULL, 0, 0}, r = {NULL, 0, 0}, m = {NULL, 0, 0};
    struct reports rep;
    char map[800];
    (void)state;

    psfx_hvm_image(&a, 1, 300, 0, NULL, 0);
    store(t, "a", &a);
    store(t, "b", &a);
    file_of(t->maps, ".map", 0, map, sizeof(map));
    assert_non_null(strstr(map, "/a.map"));
    assert_int_equal(sb_load(map, &m), 0);
    flip(map, 300, 4);
    expect(psfx_rebuild(t->ps, "a", &r, &t->err), t, XLCP_ECORRUPT, "a.map: checksum mismatch");
    memset(&rep, 0, sizeof(rep));
    expect(xlcp_ps_verify(t->ps, on_bad, &rep, NULL, &t->err), t, XLCP_ECORRUPT,
           "checksum mismatch");
    assert_int_equal(rep.n, 1);
    assert_string_equal(rep.map[0], "a");
    expect(xlcp_ps_gc(t->ps, NULL, &t->err), t, XLCP_ECORRUPT, "checksum mismatch");
    flip(map, 300, 4);
    intact(t, "a", &a);
    /* forged maps that pass the checksum: bounds still hold */
    put64(map, 32, 1ull << 40); /* entry count */
    reseal(map);
    expect(psfx_rebuild(t->ps, "a", &r, &t->err), t, XLCP_ECORRUPT, "entries in");
    put64(map, 32, 300);
    put64(map, 24, m.len); /* skeleton length */
    reseal(map);
    expect(psfx_rebuild(t->ps, "a", &r, &t->err), t, XLCP_ECORRUPT, "skeleton bytes");
    put64(map, 24, ((uint64_t)m.p[24] | (uint64_t)m.p[25] << 8 | (uint64_t)m.p[26] << 16));
    put64(map, (off_t)m.len - 8 - 32 + 8, 0x00000000ffffffffull); /* last entry's gap */
    reseal(map);
    expect(psfx_rebuild(t->ps, "a", &r, &t->err), t, XLCP_ECORRUPT, "is invalid");
    put64(map, 112, 0xfffff0); /* the first unit's length */
    reseal(map);
    expect(psfx_rebuild(t->ps, "a", &r, &t->err), t, XLCP_ECORRUPT, "overruns");
    /* every truncation */
    for (off_t len = (off_t)m.len - 1; len >= 0; len -= len > 200 ? 97 : 1) {
        int fd = open(map, O_WRONLY | O_TRUNC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, m.p, (size_t)len), len);
        close(fd);
        expect(psfx_rebuild(t->ps, "a", &r, &t->err), t, XLCP_ECORRUPT, "a.map");
    }
    intact(t, "b", &a);
    sb_free(&a);
    sb_free(&r);
    sb_free(&m);
    psfx_close(t, 1);
}

/* A truncated pack, and a pack gone with its index. */
static void test_truncated_missing(void **state)
{
    struct psfx_t *t = psfx_open(0, 0);
    struct sb a = {NULL, 0, 0}, c = {NULL, 0, 0}, r = {NULL, 0, 0};
    struct reports rep;
    struct xlcp_ps_verify_stats vs;
    char pack[800], idx[800];
    (void)state;

    psfx_hvm_image(&a, 1, 256, 0, NULL, 0);
    psfx_hvm_image(&c, 2, 100, 0, NULL, 0);
    store(t, "a", &a);
    store(t, "c", &c);
    file_of(t->packs, ".pack", 0, pack, sizeof(pack));
    assert_int_equal(truncate(pack, 32 + 2 * 263184 + 100), 0); /* blocks 2 and 3 cut */
    memset(&rep, 0, sizeof(rep));
    expect(xlcp_ps_verify(t->ps, on_bad, &rep, &vs, &t->err), t, XLCP_ECORRUPT, "ends early");
    assert_int_equal(vs.bad, 128);
    assert_int_equal(rep.pfn[0], 128);
    expect(psfx_rebuild(t->ps, "a", &r, &t->err), t, XLCP_ECORRUPT, "map a pfn 0x80");
    intact(t, "c", &c);
    file_of(t->packs, ".pack", 1, pack, sizeof(pack));
    file_of(t->packs, ".idx", 1, idx, sizeof(idx));
    assert_int_equal(unlink(pack), 0);
    assert_int_equal(unlink(idx), 0);
    expect(psfx_rebuild(t->ps, "c", &r, &t->err), t, XLCP_ECORRUPT, "is not in the store");
    expect(xlcp_ps_gc(t->ps, NULL, &t->err), t, XLCP_ECORRUPT, "map c pfn 0");
    memset(&rep, 0, sizeof(rep));
    expect(xlcp_ps_verify(t->ps, on_bad, &rep, &vs, &t->err), t, XLCP_ECORRUPT, "ends early");
    assert_int_equal(vs.bad, 128 + 100);
    sb_free(&a);
    sb_free(&c);
    sb_free(&r);
    psfx_close(t, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_gc),         cmocka_unit_test(test_gc_busy),
        cmocka_unit_test(test_concurrent_ingests), cmocka_unit_test(test_gc_killed),
        cmocka_unit_test(test_ingest_killed),      cmocka_unit_test(test_corrupt_pack),
        cmocka_unit_test(test_corrupt_zstd),       cmocka_unit_test(test_corrupt_index),
        cmocka_unit_test(test_corrupt_map),        cmocka_unit_test(test_truncated_missing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
