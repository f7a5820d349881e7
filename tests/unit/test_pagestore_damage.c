/*
 * test_pagestore_damage.c - the page store's damaged files: a corrupt or truncated pack,
 * index or map is found (verify names the map, pfn and pack of each corrupt page, and so
 * does the verify of one map, which reports only its own), refused by rebuild, and makes
 * the collector stop before it removes anything; forged files that pass their checksum are
 * still bounded, and whatever rebuild writes parses.
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
#include <unistd.h>

#include <xxhash.h>

#include "ps_check.h"

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

/* One map checked alone: each of its own bad pages reported (by map, pfn, pack), the pass
 * going on past them; another map's damage is not its own. */
static void test_verify_one_map(void **state)
{
    const struct psfx_round dirty[] = {{0, 10, 1, 1}};
    struct psfx_t *t = psfx_open(0, 0);
    struct sb a = {NULL, 0, 0}, b = {NULL, 0, 0};
    struct reports rep;
    struct xlcp_ps_verify_stats vs;
    char pack[800];
    (void)state;

    psfx_hvm_image(&a, 1, 256, 0, NULL, 0);
    psfx_hvm_image(&b, 1, 256, 0, dirty, 1);
    store(t, "a", &a);
    store(t, "b", &b);
    assert_int_equal(xlcp_ps_verify_map(t->ps, "b", NULL, NULL, &vs, &t->err), 0);
    assert_int_equal(vs.pfns, 256);
    assert_int_equal(vs.pages, 256);
    /* b's own pages (pfns 0-9, version 1) are the second pack's only block: pfns 3 and 7 */
    file_of(t->packs, ".pack", 1, pack, sizeof(pack));
    flip(pack, 32 + 16 + 10 * 16 + 3 * 4096 + 100, 0x01);
    flip(pack, 32 + 16 + 10 * 16 + 7 * 4096 + 100, 0x01);
    assert_int_equal(xlcp_ps_verify_map(t->ps, "a", NULL, NULL, NULL, &t->err), 0);
    memset(&rep, 0, sizeof(rep));
    expect(xlcp_ps_verify_map(t->ps, "b", on_bad, &rep, &vs, &t->err), t, XLCP_ECORRUPT,
           "2 bad pages, the first: map b pfn 0x3: pack 0000000000000002 block at offset 32 page "
           "3: digest mismatch");
    assert_int_equal(vs.bad, 2);
    assert_int_equal(vs.pages, 256); /* all read: it went on */
    assert_int_equal(rep.n, 2);
    assert_string_equal(rep.map[1], "b");
    assert_int_equal(rep.pfn[1], 7);
    assert_int_equal(rep.pack[1], 2);
    expect(xlcp_ps_verify_map(t->ps, "c", NULL, NULL, NULL, &t->err), t, XLCP_ENOTFOUND, "c.map");
    sb_free(&a);
    sb_free(&b);
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

/* Random bytes of a map or an index changed and the checksum made to match: rebuild either
 * refuses with XLCP_ECORRUPT or writes a stream that parses (it checks what it writes). */
static void test_forged(void **state)
{
    struct psfx_t *t = psfx_open(1, 0);
    struct sb a = {NULL, 0, 0}, orig[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
    char path[2][800];
    unsigned seed = 1, refused = 0, ok = 0;
    (void)state;

    psfx_hvm_image(&a, 1, 300, 3, NULL, 0);
    store(t, "a", &a);
    file_of(t->maps, ".map", 0, path[0], sizeof(path[0]));
    file_of(t->packs, ".idx", 0, path[1], sizeof(path[1]));
    for (int f = 0; f < 2; f++)
        assert_int_equal(sb_load(path[f], &orig[f]), 0);
    for (int i = 0; i < 400; i++) {
        int f = i % 2, fd, rc;
        struct sb r = {NULL, 0, 0};
        size_t pos = (size_t)rand_r(&seed) % (orig[f].len - 8);
        struct psfx_img img;
        for (int g = 0; g < 2; g++) { /* both whole again */
            fd = open(path[g], O_WRONLY | O_TRUNC);
            assert_true(fd >= 0);
            assert_int_equal(write(fd, orig[g].p, orig[g].len), (ssize_t)orig[g].len);
            close(fd);
        }
        flip(path[f], (off_t)pos, (uint8_t)(1u << (rand_r(&seed) % 8)));
        reseal(path[f]);
        rc = psfx_rebuild(t->ps, "a", &r, &t->err);
        if (rc == 0) {
            if (psfx_collect(r.p, r.len, &img, &t->err) != 0)
                fail_msg("byte %zu of %s: the rebuilt stream does not parse: %s", pos, path[f],
                         t->err.msg);
            psfx_img_free(&img);
            ok++;
        } else if (rc == XLCP_ECORRUPT) {
            refused++;
        } else {
            fail_msg("byte %zu of %s: %d %s", pos, path[f], rc, t->err.msg);
        }
        sb_free(&r);
    }
    print_message("forged maps and indexes: %u refused, %u rebuilt (a parsing stream)\n", refused,
                  ok);
    assert_true(refused > 100);
    sb_free(&orig[0]);
    sb_free(&orig[1]);
    sb_free(&a);
    psfx_close(t, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corrupt_pack), cmocka_unit_test(test_verify_one_map),
        cmocka_unit_test(test_corrupt_zstd), cmocka_unit_test(test_corrupt_index),
        cmocka_unit_test(test_corrupt_map),  cmocka_unit_test(test_truncated_missing),
        cmocka_unit_test(test_forged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
