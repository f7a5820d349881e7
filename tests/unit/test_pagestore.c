/*
 * test_pagestore.c - the page store (libxl-plugin/src/pagestore*.c): images stored and
 * rebuilt say the same (every non-page unit byte for byte, every pfn's last type and page),
 * synthetic and real ones (tests/fixtures/stream/), compressed or not, fed in any pieces,
 * across several packs; the rebuilt image parses with our own parser; an idle second
 * checkpoint stores next to nothing; pages resent in later rounds are mapped once, the last
 * copy winning; a malformed stream stores nothing. With XLCP_PS_BENCH=<MiB> it also times
 * storing and rebuilding an image of that size (skipped otherwise).
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
#include <time.h>
#include <unistd.h>

#include "pagestore.h"
#include "fakes/ps_fx.h"

/* Stores b as name, and checks it rebuilds into an image that says the same. */
static void round_trip(struct psfx_t *t, const char *name, const struct sb *b, size_t piece,
                       struct xlcp_ps_stats *st)
{
    struct xlcp_ps_stats local;
    char why[300];

    if (!st)
        st = &local;
    if (psfx_store(t->ps, name, b->p, b->len, piece, st, &t->err) != 0)
        fail_msg("store %s: %s", name, t->err.msg);
    if (psfx_intact(t->ps, name, b, st, why, sizeof(why)))
        fail_msg("%s", why);
}

static void test_roundtrip_synthetic(void **state)
{
    struct psfx_t *t = psfx_open(1, 0);
    struct sb b = {NULL, 0, 0};
    struct xlcp_ps_stats st;
    (void)state;

    sb_pv_image(&b, 5, 20, 0, NULL);
    round_trip(t, "pv", &b, 0, &st);
    /* pfns 0, 1, 2 (XTAB, then resent with data), 3, 0x101..0x113 */
    assert_int_equal(st.pfns, 23);
    assert_int_equal(st.pfns_data, 23);
    assert_int_equal(st.pages_received, 23);
    assert_int_equal(st.stream_bytes, b.len);
    sb_free(&b);
    sb_hvm_image(&b, 6, NULL);
    round_trip(t, "hvm", &b, 7, &st);
    assert_int_equal(st.pfns, 3);
    assert_int_equal(st.pfns_data, 2);
    sb_free(&b);
    psfx_close(t, 1);
}

static void real(const char *file, int zstd)
{
    struct psfx_t *t = psfx_open(zstd, 0);
    struct sb b = {NULL, 0, 0};
    char path[256];

    snprintf(path, sizeof(path), "tests/fixtures/stream/%s", file);
    if (sb_load(path, &b) != 0)
        fail_msg("fixture %s missing", path);
    round_trip(t, "real", &b, 4093, NULL);
    sb_free(&b);
    psfx_close(t, 1);
}

static void test_roundtrip_real(void **state)
{
    (void)state;
    real("stream-pv.xl", 1);
    real("stream-pvh.xl", 1);
    real("stream-pv.xl", 0);
    real("stream-pvh.xl", 0);
}

/* Many pages, several rounds, no compression and small packs: the same. */
static void test_roundtrip_rounds_packs(void **state)
{
    const struct psfx_round rounds[] = {{0, 300, 7, 1}, {3, 100, 11, 2}, {5000, 40, 1, 0}};
    struct sb b = {NULL, 0, 0};
    struct xlcp_ps_stats st;
    (void)state;

    psfx_hvm_image(&b, 11, 3000, 5, rounds, 3);
    for (int z = 0; z < 2; z++) {
        struct psfx_t *t = psfx_open(z, 256u << 10);
        round_trip(t, "r", &b, 0, &st);
        assert_int_equal(st.pfns, 3040);
        assert_int_equal(st.pages_received, 3440);
        assert_true(psfx_count(t->packs, ".pack") > 3);
        assert_int_equal(psfx_count(t->packs, ".pack"), psfx_count(t->packs, ".idx"));
        psfx_close(t, 1);
    }
    sb_free(&b);
}

/* The second checkpoint of an idle guest stores nothing new; one that changed 1% of its
 * pages stores about those; zero pages are stored once. */
static void test_dedup(void **state)
{
    const struct psfx_round dirty[] = {{0, 41, 97, 1}};
    struct psfx_t *t = psfx_open(1, 0);
    struct sb a = {NULL, 0, 0}, c = {NULL, 0, 0};
    struct xlcp_ps_stats s1, s2, s3;
    (void)state;

    psfx_hvm_image(&a, 3, 4096, 4, NULL, 0);
    round_trip(t, "first", &a, 0, &s1);
    assert_int_equal(s1.pfns, 4096);
    assert_int_equal(s1.pages_new, 3072 + 1); /* one zero page for 1024 pfns */
    round_trip(t, "second", &a, 0, &s2);
    assert_int_equal(s2.pages_new, 0);
    assert_int_equal(s2.bytes_stored, 0);
    assert_int_equal(psfx_count(t->packs, ".pack"), 1);
    psfx_hvm_image(&c, 3, 4096, 4, dirty, 1);
    round_trip(t, "third", &c, 0, &s3);
    assert_int_equal(s3.pages_new, 41);
    assert_true(s3.bytes_stored < 42 * 4096 + 4096);
    print_message("dedup: first %llu of %llu page bytes stored, idle second %llu, 1%% dirty "
                  "third %llu (maps %llu bytes each)\n",
                  (unsigned long long)s1.bytes_stored, (unsigned long long)s1.page_bytes_received,
                  (unsigned long long)s2.bytes_stored, (unsigned long long)s3.bytes_stored,
                  (unsigned long long)s2.map_bytes);
    sb_free(&a);
    sb_free(&c);
    psfx_close(t, 1);
}

/* A live copy's resends: one map entry per pfn, the last copy's page; with the resend
 * buffer (of `resend` pages) a page resent again is written once, in its last version. */
static void resends(uint32_t resend, uint64_t want_lo, uint64_t want_hi)
{
    const struct psfx_round rounds[] = {{0, 100, 3, 1}, {0, 50, 6, 2}, {1, 10, 1, 0}};
    struct psfx_t *t = psfx_open(1, 0);
    struct sb b = {NULL, 0, 0}, r = {NULL, 0, 0};
    struct psfx_img back;
    struct xlcp_ps_stats st;
    struct xlcp_ps_opts o;
    uint8_t page[4096];

    xlcp_ps_opts_default(&o);
    o.resend_pages = resend;
    xlcp_ps_close(t->ps);
    assert_int_equal(xlcp_ps_open(t->root, &o, &t->ps, &t->err), 0);
    psfx_hvm_image(&b, 9, 1000, 0, rounds, 3);
    round_trip(t, "live", &b, 0, &st);
    assert_int_equal(st.pfns, 1000);
    assert_int_equal(st.pages_received, 1160);
    assert_int_equal(st.page_bytes_received, 1160 * 4096);
    assert_in_range(st.pages_new, want_lo, want_hi);
    assert_int_equal(psfx_rebuild(t->ps, "live", &r, &t->err), 0);
    assert_int_equal(psfx_collect(r.p, r.len, &back, &t->err), 0);
    assert_int_equal(back.npg, 1000);
    for (size_t i = 0; i < back.npg; i++) {
        uint64_t pfn = back.pg[i].pfnt;
        uint32_t ver = pfn % 6 == 0 && pfn < 300 ? 2 : pfn % 3 == 0 && pfn < 300 ? 1 : 0;
        uint8_t dig[16];
        if (pfn >= 1 && pfn <= 10)
            ver = 0;
        psfx_page(page, 9, pfn, ver, 0);
        psfx_hash(page, dig);
        if (memcmp(dig, back.pg[i].dig, 16) != 0)
            fail_msg("pfn %llu: not version %u", (unsigned long long)pfn, ver);
    }
    /* 1000 pfns in at most 1024 per record: one PAGE_DATA record */
    assert_int_equal(back.npage_records, 1);
    psfx_img_free(&back);
    sb_free(&r);
    sb_free(&b);
    psfx_close(t, 1);
}

static void test_resend_last_wins(void **state)
{
    (void)state;
    /* every version written: 1000 first copies, 100 version 1, 50 version 2 (round 3
     * resends version 0, which the store holds) */
    resends(0, 1150, 1150);
    /* version 2 overwrites version 1 in the buffer; pfns 3, 6, 9 went back to version 0 */
    resends(8192, 1097, 1097);
    resends(16, 1097, 1150); /* a small buffer flushes as it fills */
}

/* A truncated or malformed stream stores nothing: no map, no pack. */
static void test_bad_stream(void **state)
{
    struct psfx_t *t = psfx_open(1, 0);
    struct sb b = {NULL, 0, 0};
    struct xlcp_ps_stats st;
    uint64_t pfn = 5;
    (void)state;

    psfx_hvm_image(&b, 1, 200, 0, NULL, 0);
    assert_int_equal(psfx_store(t->ps, "cut", b.p, b.len - 8, 0, &st, &t->err), XLCP_ECORRUPT);
    assert_non_null(strstr(t->err.msg, "truncated"));
    b.p[b.len - 8] = 0x77; /* libxl's END: an unknown mandatory record */
    assert_int_equal(psfx_store(t->ps, "bad", b.p, b.len, 0, &st, &t->err), XLCP_ECORRUPT);
    assert_non_null(strstr(t->err.msg, "unknown mandatory record type"));
    assert_int_equal(psfx_count(t->packs, ".pack"), 0);
    assert_int_equal(psfx_count(t->maps, ".map"), 0);
    assert_false(xlcp_ps_has(t->ps, "cut"));
    assert_int_equal(psfx_store(t->ps, "../x", b.p, b.len, 0, &st, &t->err), XLCP_EINVAL);
    b.p[b.len - 8] = 0;
    assert_int_equal(psfx_store(t->ps, "good", b.p, b.len, 0, &st, &t->err), 0);
    /* a checkpointed (Remus/COLO) stream is not an image */
    sb_free(&b);
    sb_xl_header(&b, "{}");
    sb_libxl_header(&b);
    sb_rec(&b, 1, NULL, 0);
    sb_libxc_header(&b, 3, 2);
    sb_rec(&b, 0x10, NULL, 0);
    sb_page_data(&b, 1, &pfn, 1);
    sb_rec(&b, 0x0e, NULL, 0);
    assert_int_equal(psfx_store(t->ps, "remus", b.p, b.len, 0, &st, &t->err), XLCP_EUNSUPPORTED);
    assert_non_null(strstr(t->err.msg, "a checkpointed (Remus/COLO) stream"));
    assert_int_equal(psfx_count(t->packs, ".pack"), 1);
    assert_int_equal(psfx_store(t->ps, "good", b.p, b.len, 0, &st, &t->err), XLCP_EINVAL);
    sb_free(&b);
    psfx_close(t, 1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* XLCP_PS_BENCH=<MiB>: store and rebuild times of an image of that size (a quarter of its
 * pages zero; like a live copy, a tenth resent in a second round, a twentieth of those again
 * in a third, a fortieth in a fourth), then of a second, idle one. XLCP_PS_BENCH_ZSTD: the
 * zstd level; XLCP_PS_BENCH_RESEND: the resend buffer, in pages. */
static void test_bench(void **state)
{
    const char *env = getenv("XLCP_PS_BENCH");
    uint32_t mib = env ? (uint32_t)atoi(env) : 0, npages = mib * 256;
    struct psfx_round rounds[3] = {
        {0, npages / 10, 10, 1}, {0, npages / 20, 20, 2}, {0, npages / 40, 40, 3}};
    struct xlcp_ps_opts o;
    struct sb b = {NULL, 0, 0};
    struct xlcp_ps_stats s1, s2;
    double t0, t1, t2, t3;
    struct psfx_t *t;
    int fd;
    (void)state;

    if (!mib)
        skip();
    t = psfx_open(1, 0);
    xlcp_ps_opts_default(&o);
    if (getenv("XLCP_PS_BENCH_ZSTD"))
        o.zstd_level = atoi(getenv("XLCP_PS_BENCH_ZSTD"));
    if (getenv("XLCP_PS_BENCH_RESEND"))
        o.resend_pages = (uint32_t)atoi(getenv("XLCP_PS_BENCH_RESEND"));
    xlcp_ps_close(t->ps);
    assert_int_equal(xlcp_ps_open(t->root, &o, &t->ps, &t->err), 0);
    psfx_hvm_image(&b, 1, npages, 4, rounds, 3);
    t0 = now();
    assert_int_equal(psfx_store(t->ps, "a", b.p, b.len, 1 << 20, &s1, &t->err), 0);
    t1 = now();
    assert_int_equal(psfx_store(t->ps, "b", b.p, b.len, 1 << 20, &s2, &t->err), 0);
    t2 = now();
    fd = open("/dev/null", O_WRONLY);
    assert_int_equal(xlcp_ps_rebuild(t->ps, "a", fd, NULL, &t->err), 0);
    t3 = now();
    close(fd);
    print_message("bench %u MiB guest, %zu-byte stream (%llu page bytes): store %.0f MB/s "
                  "(%llu bytes stored, map %llu), idle second %.0f MB/s (%llu bytes, map %llu), "
                  "rebuild %.0f MB/s\n",
                  mib, b.len, (unsigned long long)s1.page_bytes_received, b.len / (t1 - t0) / 1e6,
                  (unsigned long long)s1.bytes_stored, (unsigned long long)s1.map_bytes,
                  b.len / (t2 - t1) / 1e6, (unsigned long long)s2.bytes_stored,
                  (unsigned long long)s2.map_bytes, (double)mib * 1048576 / (t3 - t2) / 1e6);
    sb_free(&b);
    psfx_close(t, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_synthetic),
        cmocka_unit_test(test_roundtrip_real),
        cmocka_unit_test(test_roundtrip_rounds_packs),
        cmocka_unit_test(test_dedup),
        cmocka_unit_test(test_resend_last_wins),
        cmocka_unit_test(test_bad_stream),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
