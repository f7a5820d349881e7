/*
 * test_stream.c - the memory-image parser (libxl-plugin/src/stream.c, stream_rec.c) on
 * synthetic images (tests/unit/fakes/stream_build.c) and on real ones captured from nested
 * Xen (tests/fixtures/stream/, cut by tests/nested/t47-stream.sh): valid images parse with
 * every page handed over, whatever pieces they are fed in; every truncation and a set of
 * corruptions are refused with XLCP_ECORRUPT and a message naming the offset and record.
 * With XLCP_FUZZ_SEEDS=DIR it also writes its synthetic images there (the fuzzer's seeds).
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

#include "engine_fx.h"
#include "stream.h"
#include "fakes/stream_build.h"

#define SEED 77u

struct counts {
    unsigned units, records, pages, data_pages, bad_pages;
    uint64_t sum;
    uint64_t seed;          /* check page contents against sb_page_byte(seed, ...) unless ~0 */
    int stop_at_page_data;  /* the unit callback fails there */
    size_t first_page_data; /* offset of the first PAGE_DATA unit seen */
};

static int on_unit(void *arg, const struct xlcp_stream_unit *u, struct xlcp_err *err)
{
    struct counts *c = arg;
    c->units++;
    if (u->kind == XLCP_SU_LIBXL_RECORD || u->kind == XLCP_SU_LIBXC_RECORD)
        c->records++;
    for (size_t i = 0; i < u->raw_len; i++)
        c->sum = c->sum * 31 + u->raw[i];
    if (u->kind == XLCP_SU_LIBXC_RECORD && u->type == XLCP_LIBXC_PAGE_DATA) {
        if (!c->first_page_data)
            c->first_page_data = (size_t)u->offset;
        if (c->stop_at_page_data)
            return xlcp_err_set(err, XLCP_EIO, "stopped by the callback");
    }
    return 0;
}

static int on_page(void *arg, uint64_t pfn, unsigned int type, const uint8_t *data,
                   struct xlcp_err *err)
{
    struct counts *c = arg;
    (void)err;
    c->pages++;
    c->sum = c->sum * 31 + pfn + type;
    if (!data)
        return 0;
    c->data_pages++;
    if (c->seed != ~0ull)
        for (size_t i = 0; i < XLCP_STREAM_PAGE_SIZE; i++)
            if (data[i] != sb_page_byte(c->seed, pfn, i)) {
                c->bad_pages++;
                break;
            }
    return 0;
}

/* Parses p[0..len) fed in pieces of `piece` bytes (0: at once). */
static int parse(const uint8_t *p, size_t len, size_t piece, const struct xlcp_stream_limits *lim,
                 struct counts *c, struct xlcp_err *err)
{
    struct xlcp_stream_cbs cbs = {c, on_unit, on_page};
    struct xlcp_stream *s;
    int rc = xlcp_stream_new(lim, &cbs, &s, err);

    assert_int_equal(rc, 0);
    for (size_t off = 0; rc == 0 && off < len;) {
        size_t n = piece && piece < len - off ? piece : len - off;
        rc = xlcp_stream_feed(s, p + off, n, err);
        off += n;
    }
    if (rc == 0)
        rc = xlcp_stream_finish(s, err);
    xlcp_stream_free(s);
    return rc;
}

/* A copy of b changed by one byte must be refused with a message holding `want` and the
 * offset named as "offset <at>". */
static void refused(const struct sb *b, size_t pos, uint8_t val, uint64_t at, const char *want)
{
    uint8_t *copy = malloc(b->len);
    struct counts c;
    struct xlcp_err err;
    char off[40];
    int rc;

    assert_non_null(copy);
    memcpy(copy, b->p, b->len);
    copy[pos] = val;
    memset(&c, 0, sizeof(c));
    c.seed = ~0ull;
    xlcp_err_clear(&err);
    rc = parse(copy, b->len, 0, NULL, &c, &err);
    snprintf(off, sizeof(off), "offset %llu:", (unsigned long long)at);
    if (rc != XLCP_ECORRUPT || !strstr(err.msg, want) || strncmp(err.msg, off, strlen(off)) != 0)
        fail_msg("byte %zu = %#x: %d '%s' lacks '%s' or '%s'", pos, val, rc, rc ? err.msg : "", off,
                 want);
    free(copy);
}

static void test_pv_image(void **state)
{
    struct sb b = {NULL, 0, 0};
    struct sb_offsets o;
    struct counts c;
    struct xlcp_err err;
    struct xlcp_stream_cbs cbs = {&c, on_unit, on_page};
    struct xlcp_stream *s;
    const struct xlcp_stream_info *in;
    (void)state;

    sb_pv_image(&b, SEED, 20, 0, &o);
    memset(&c, 0, sizeof(c));
    c.seed = SEED;
    assert_int_equal(xlcp_stream_new(NULL, &cbs, &s, &err), 0);
    assert_int_equal(xlcp_stream_feed(s, b.p, b.len, &err), 0);
    assert_int_equal(xlcp_stream_finish(s, &err), 0);
    in = xlcp_stream_get_info(s);
    assert_int_equal(in->bytes, b.len);
    assert_int_equal(in->domain_type, XLCP_STREAM_DOM_PV);
    assert_int_equal(in->libxc_version, 3);
    assert_int_equal(in->xen_major, 4);
    assert_int_equal(in->xen_minor, 17);
    assert_int_equal(in->config_len, 28);
    xlcp_stream_free(s);
    /* xl, libxl, libxc headers + 3 libxl records + 11 libxc records */
    assert_int_equal(c.units, 3 + 3 + 11);
    assert_int_equal(c.records, 14);
    assert_int_equal(c.pages, 4 + 20);
    assert_int_equal(c.data_pages, 3 + 20); /* one XTAB */
    assert_int_equal(c.bad_pages, 0);
    assert_int_equal(c.first_page_data, o.page[0]);
    sb_free(&b);
}

static void test_hvm_image(void **state)
{
    struct sb b = {NULL, 0, 0};
    struct counts c;
    struct xlcp_err err;
    (void)state;

    sb_hvm_image(&b, SEED, NULL);
    memset(&c, 0, sizeof(c));
    c.seed = SEED;
    assert_int_equal(parse(b.p, b.len, 0, NULL, &c, &err), 0);
    assert_int_equal(c.pages, 3);
    assert_int_equal(c.data_pages, 2); /* one XALLOC */
    assert_int_equal(c.bad_pages, 0);
    assert_int_equal(c.records, 12);
    sb_free(&b);
}

/* How the input is cut into pieces changes nothing. */
static void test_any_pieces(void **state)
{
    struct sb b = {NULL, 0, 0};
    struct counts whole, part;
    struct xlcp_err err;
    (void)state;

    sb_pv_image(&b, SEED, 3, 0, NULL);
    memset(&whole, 0, sizeof(whole));
    whole.seed = SEED;
    assert_int_equal(parse(b.p, b.len, 0, NULL, &whole, &err), 0);
    for (size_t piece = 1; piece < 9000; piece += piece < 80 ? 1 : 997) {
        memset(&part, 0, sizeof(part));
        part.seed = SEED;
        assert_int_equal(parse(b.p, b.len, piece, NULL, &part, &err), 0);
        assert_int_equal(part.units, whole.units);
        assert_int_equal(part.pages, whole.pages);
        assert_true(part.sum == whole.sum);
    }
    sb_free(&b);
}

/* Every prefix of an image is refused, naming the offset where it ends: fed one byte at a
 * time, finish() after each byte (a truncation leaves the parser as it was), and a fresh
 * parse of each prefix around every unit boundary. */
static void every_truncation(const uint8_t *p, size_t len)
{
    struct xlcp_stream *s;
    struct xlcp_err err;
    struct counts c;
    struct xlcp_stream_cbs cbs = {&c, on_unit, NULL};
    char want[64];

    memset(&c, 0, sizeof(c));
    assert_int_equal(xlcp_stream_new(NULL, &cbs, &s, &err), 0);
    for (size_t l = 0; l < len; l++) {
        if (l > 0)
            assert_int_equal(xlcp_stream_feed(s, p + l - 1, 1, &err), 0);
        assert_int_equal(xlcp_stream_finish(s, &err), XLCP_ECORRUPT);
        snprintf(want, sizeof(want), "offset %zu: truncated", l);
        if (strncmp(err.msg, want, strlen(want)) != 0)
            fail_msg("prefix of %zu bytes: '%s'", l, err.msg);
    }
    assert_int_equal(xlcp_stream_feed(s, p + len - 1, 1, &err), 0);
    assert_int_equal(xlcp_stream_finish(s, &err), 0);
    xlcp_stream_free(s);
    /* fresh parses of the prefixes near unit boundaries (units seen: c.units) */
    for (size_t l = 0; l < len; l += (l < 200 || len - l < 200) ? 1 : 4093) {
        struct counts d;
        memset(&d, 0, sizeof(d));
        d.seed = ~0ull;
        assert_int_equal(parse(p, l, 0, NULL, &d, &err), XLCP_ECORRUPT);
        assert_non_null(strstr(err.msg, "truncated"));
    }
}

static void test_every_truncation(void **state)
{
    struct sb b = {NULL, 0, 0};
    (void)state;
    sb_pv_image(&b, SEED, 2, 0, NULL);
    every_truncation(b.p, b.len);
    sb_free(&b);
    sb_hvm_image(&b, SEED, NULL);
    every_truncation(b.p, b.len);
    sb_free(&b);
}

static void put32(struct sb *b, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b->p[at + i] = (uint8_t)(v >> (8 * i));
}

/* A copy with a little-endian u32 at pos set to v must be refused. */
static void refused32(const struct sb *b, size_t pos, uint32_t v, uint64_t at, const char *want)
{
    struct sb c = {NULL, 0, 0};
    sb_bytes(&c, b->p, b->len);
    put32(&c, pos, v);
    refused(&c, pos, c.p[pos], at, want);
    sb_free(&c);
}

static void test_pv_corruptions(void **state)
{
    struct sb b = {NULL, 0, 0};
    struct sb_offsets o;
    (void)state;

    sb_pv_image(&b, SEED, 2, 0, &o);
    refused(&b, 3, 'X', 0, "bad magic");
    refused(&b, 32, 0x05, 32, "byte order");
    refused32(&b, 36, 0x7, 36, "unknown mandatory flags");
    refused32(&b, 36, 0x1, 36, "legacy");
    refused32(&b, 40, 0x1, 40, "unknown optional flags");
    refused32(&b, 44, 0x7fffffff, 44, "optional data of");
    refused32(&b, 48, 999, 48, "config of 999 bytes");
    refused(&b, o.libxl_hdr - 1, 'x', 48, "not NUL-terminated");
    refused(&b, o.libxl_hdr + 2, 'B', o.libxl_hdr, "LibxlFmt");
    refused(&b, o.libxl_hdr + 11, 3, o.libxl_hdr + 8, "libxl stream version 3");
    refused(&b, o.libxl_hdr + 15, 1, o.libxl_hdr + 12, "big-endian");
    refused(&b, o.libxl_hdr + 15, 4, o.libxl_hdr + 12, "reserved option bits");
    refused(&b, o.libxc_ctx + 4, 8, o.libxc_ctx + 4, "must be 0");
    refused(&b, o.libxc_hdr + 1, 0, o.libxc_hdr, "bad marker");
    refused(&b, o.libxc_hdr + 8, 'Y', o.libxc_hdr + 8, "XENF");
    refused(&b, o.libxc_hdr + 15, 4, o.libxc_hdr + 12, "libxc stream version 4");
    refused(&b, o.libxc_hdr + 17, 1, o.libxc_hdr + 16, "big-endian");
    refused(&b, o.libxc_hdr + 24, 3, o.libxc_hdr + 24, "domain type 3");
    refused(&b, o.libxc_hdr + 28, 13, o.libxc_hdr + 28, "page shift 13");
    refused(&b, o.pv_info + 8, 5, o.pv_info + 8, "guest width 5");
    refused(&b, o.pv_info + 12, 1, o.pv_info + 12, "reserved field not zero");
    refused(&b, o.cpuid + 56 + 12, 1, o.cpuid + 56 + 12, "reserved field not zero"); /* MSR */
    refused(&b, o.p2m, 0x13, o.p2m, "unknown mandatory record type");
    refused(&b, o.p2m + 4, 0x20, o.p2m + 4, "must be 24");
    refused(&b, o.p2m + 9, 0x04, o.p2m + 8, "after end pfn");
    refused(&b, o.p2m + 16 + 7, 0x10, o.p2m + 16, "p2m frame 0 at pfn 0x1000000000000005");
    refused(&b, o.static_end, 0x01, o.static_end, "PAGE_DATA before X86_PV_P2M_FRAMES");
    /* PAGE_DATA: count, reserved, pfns, types, length */
    refused32(&b, o.page[0] + 8, 0, o.page[0] + 8, "count is 0");
    refused32(&b, o.page[0] + 8, 1025, o.page[0] + 8, "exceeds the batch limit 1024");
    {
        struct sb shorter = {NULL, 0, 0}; /* a 16-byte PAGE_DATA cannot hold 5 pfns */
        sb_bytes(&shorter, b.p, b.len);
        put32(&shorter, o.page[0] + 4, 16);
        refused32(&shorter, o.page[0] + 8, 5, o.page[0] + 4, "must be at least 48");
        sb_free(&shorter);
    }
    refused32(&b, o.page[0] + 4, 0x7fffffff, o.page[0] + 4, "longer than 1024 pages");
    refused(&b, o.page[0] + 12, 1, o.page[0] + 12, "reserved field not zero");
    refused(&b, o.page[0] + 16 + 6, 0x10, o.page[0] + 16, "reserved bits set");
    refused(&b, o.page[0] + 16 + 7, 0x50, o.page[0] + 16, "unknown page type 0x5");
    refused(&b, o.page[0] + 16 + 1, 0x04, o.page[0] + 16, "beyond the bound 0x3ff");
    refused(&b, o.page[0] + 16 + 8 * 2 + 7, 0x00, o.page[0] + 4, "must be"); /* XTAB -> data */
    refused(&b, o.tsc + 8 + 20, 1, o.tsc + 8 + 20, "reserved field not zero");
    refused(&b, o.shared_info + 5, 0x0f, o.shared_info + 4, "must be 4096");
    refused32(&b, o.vcpu + 8, 4096, o.vcpu + 8, "vcpu id 4096");
    refused(&b, o.vcpu + 8 + 21, 1, o.vcpu + 8 + 21, "padding byte not zero");
    refused(&b, o.vcpu, 0x09, o.vcpu, "a record for HVM guests in a PV stream");
    refused(&b, o.libxc_end, 0x0f, o.libxc_end, "COLO");
    refused(&b, o.libxc_end, 0x0e, o.libxl_end,
            "END before the libxc stream ended"); /* CHECKPOINT */
    refused(&b, o.libxl_opt + 3, 0x00, o.libxl_opt, "unknown mandatory record type");
    refused(&b, o.libxl_end, 0x04, o.libxl_end, "CHECKPOINT_END without");
    refused(&b, o.libxl_end, 0x01, o.libxl_end, "a second LIBXC_CONTEXT");
    refused(&b, o.libxl_end + 4, 0x08, b.len, "truncated");
    sb_free(&b);
}

static void test_hvm_corruptions(void **state)
{
    struct sb b = {NULL, 0, 0};
    struct sb_offsets o;
    (void)state;

    sb_hvm_image(&b, SEED, &o);
    refused(&b, o.page[0] + 16 + 8 + 4, 0x10, o.page[0] + 16 + 8, "beyond the bound");
    refused(&b, o.hvm_params + 8, 3, o.hvm_params + 4, "must be 56");
    refused(&b, o.hvm_ctx, 0x07, o.hvm_ctx, "PV guests in a HVM stream");
    refused(&b, o.hvm_ctx + 4, 0, o.hvm_ctx + 4, "at least 1");
    refused(&b, o.emu + 8, 3, o.emu + 8, "emulator id 3");
    refused(&b, o.libxl_end - 1, 'z', o.libxl_end - 8, "NUL-terminated key/value");
    refused(&b, o.libxc_end, 0x01, o.libxc_end + 4, "at least 8");
    sb_free(&b);
}

/* Streams whose records are each fine but whose order is not. */
static void test_structure(void **state)
{
    struct sb b = {NULL, 0, 0};
    struct sb_offsets o;
    struct counts c;
    struct xlcp_err err;
    uint8_t msr[16] = {0};
    (void)state;

    /* libxl END with no libxc stream at all */
    sb_xl_header(&b, NULL);
    sb_libxl_header(&b);
    sb_rec(&b, 0, NULL, 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(parse(b.p, b.len, 0, NULL, &c, &err), XLCP_ECORRUPT);
    assert_non_null(strstr(err.msg, "no LIBXC_CONTEXT"));
    sb_free(&b);

    /* a checkpointed stream: CHECKPOINT, libxl's CHECKPOINT_END, libxc goes on, END */
    sb_xl_header(&b, NULL);
    sb_libxl_header(&b);
    sb_rec(&b, 1, NULL, 0);
    sb_libxc_header(&b, 3, 2);
    sb_rec(&b, 0x10, NULL, 0);
    sb_rec(&b, 0x0e, NULL, 0);
    sb_rec(&b, 0x04, NULL, 0);
    sb_rec(&b, 0x0d, NULL, 0);
    sb_rec(&b, 0x00, NULL, 0);
    sb_rec(&b, 0x00, NULL, 0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(parse(b.p, b.len, 0, NULL, &c, &err), 0);
    assert_int_equal(c.records, 7);
    /* static data after STATIC_DATA_END */
    b.len -= 24;
    sb_rec(&b, 0x12, msr, sizeof(msr));
    sb_rec(&b, 0x00, NULL, 0);
    sb_rec(&b, 0x00, NULL, 0);
    assert_int_equal(parse(b.p, b.len, 0, NULL, &c, &err), XLCP_ECORRUPT);
    assert_non_null(strstr(err.msg, "static data after STATIC_DATA_END"));
    /* trailing data after the end */
    b.len -= 40;
    sb_rec(&b, 0x00, NULL, 0);
    sb_rec(&b, 0x00, NULL, 0);
    assert_int_equal(parse(b.p, b.len, 0, NULL, &c, &err), 0);
    sb_bytes(&b, "x", 1);
    assert_int_equal(parse(b.p, b.len, 3, NULL, &c, &err), XLCP_ECORRUPT);
    assert_non_null(strstr(err.msg, "trailing data"));
    sb_free(&b);

    /* a v2 stream infers STATIC_DATA_END at the first PAGE_DATA (HVM) */
    sb_hvm_image(&b, SEED, &o);
    b.p[o.libxc_hdr + 15] = 2;
    assert_int_equal(parse(b.p, b.len, 0, NULL, &c, &err), 0);
    /* a v3 stream must send it before any page */
    b.p[o.libxc_hdr + 15] = 3;
    b.p[o.static_end] = 0x0d; /* VERIFY instead */
    assert_int_equal(parse(b.p, b.len, 0, NULL, &c, &err), XLCP_ECORRUPT);
    assert_non_null(strstr(err.msg, "PAGE_DATA before STATIC_DATA_END"));
    sb_free(&b);
    /* the whole-number-of-entries rule of the policies */
    sb_xl_header(&b, NULL);
    sb_libxl_header(&b);
    sb_rec(&b, 1, NULL, 0);
    sb_libxc_header(&b, 3, 2);
    sb_rec(&b, 0x11, msr, 12);
    assert_int_equal(parse(b.p, b.len, 0, NULL, &c, &err), XLCP_ECORRUPT);
    assert_non_null(strstr(err.msg, "whole number of 24-byte entries"));
    sb_free(&b);
}

static void test_callback_stops(void **state)
{
    struct sb b = {NULL, 0, 0};
    struct counts c;
    struct xlcp_err err;
    struct xlcp_stream_cbs cbs = {&c, on_unit, on_page};
    struct xlcp_stream *s;
    (void)state;

    sb_pv_image(&b, SEED, 2, 0, NULL);
    memset(&c, 0, sizeof(c));
    c.stop_at_page_data = 1;
    assert_int_equal(xlcp_stream_new(NULL, &cbs, &s, &err), 0);
    assert_int_equal(xlcp_stream_feed(s, b.p, b.len, &err), XLCP_EIO);
    assert_string_equal(err.msg, "stopped by the callback");
    assert_int_equal(c.pages, 0);
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_stream_feed(s, b.p, 1, &err), XLCP_EIO); /* stays failed */
    assert_int_equal(xlcp_stream_finish(s, &err), XLCP_EIO);
    xlcp_stream_free(s);
    sb_free(&b);
}

static void test_limits(void **state)
{
    struct sb b = {NULL, 0, 0};
    struct sb_offsets o;
    struct counts c;
    struct xlcp_err err;
    struct xlcp_stream_limits lim;
    struct xlcp_stream *s;
    (void)state;

    sb_pv_image(&b, SEED, 20, 0, &o);
    memset(&c, 0, sizeof(c));
    xlcp_stream_limits_default(&lim);
    lim.max_batch = 16;
    assert_int_equal(parse(b.p, b.len, 0, &lim, &c, &err), XLCP_ECORRUPT);
    assert_non_null(strstr(err.msg, "longer than 16 pages"));
    xlcp_stream_limits_default(&lim);
    lim.max_body = 4095; /* SHARED_INFO is 4096 */
    assert_int_equal(parse(b.p, b.len, 0, &lim, &c, &err), XLCP_ECORRUPT);
    assert_non_null(strstr(err.msg, "SHARED_INFO"));
    assert_non_null(strstr(err.msg, "longer than the limit (4095)"));
    xlcp_stream_limits_default(&lim);
    lim.max_body = 200u << 20;
    assert_int_equal(xlcp_stream_new(&lim, NULL, &s, &err), XLCP_EINVAL);
    assert_null(s);
    sb_free(&b);
}

/* Every single-byte change of a header or record header, or of padding, is refused; any
 * other change is parsed without a fault (ASan/UBSan watch). */
static void test_byte_flips(void **state)
{
    struct sb b = {NULL, 0, 0};
    struct sb_offsets o;
    uint8_t *must;
    size_t recs[32], nrec = 0, accepted = 0;
    (void)state;

    sb_pv_image(&b, SEED, 1, 0, &o);
    must = calloc(b.len, 1);
    assert_non_null(must);
    memset(must, 1, 52);                   /* xl header and config length */
    must[o.libxl_hdr - 1] = 1;             /* the config's NUL */
    memset(must + o.libxl_hdr, 1, 16 + 8); /* libxl header, LIBXC_CONTEXT */
    memset(must + o.libxc_hdr, 1, 32);     /* libxc headers but the Xen version */
    recs[nrec++] = o.pv_info;
    recs[nrec++] = o.cpuid;
    recs[nrec++] = o.static_end;
    recs[nrec++] = o.p2m;
    recs[nrec++] = o.page[0];
    recs[nrec++] = o.page[1];
    recs[nrec++] = o.tsc;
    recs[nrec++] = o.shared_info;
    recs[nrec++] = o.vcpu;
    recs[nrec++] = o.libxc_end;
    recs[nrec++] = o.libxl_opt;
    recs[nrec++] = o.libxl_end;
    /* record headers; a change of the type's top byte makes an optional record (ignored) */
    for (size_t i = 0; i < nrec; i++) {
        memset(must + recs[i], 1, 8);
        must[recs[i] + 3] = 0;
    }
    memset(must + o.libxl_opt, 0, 4);     /* any optional type is as good */
    memset(must + o.vcpu + 8 + 21, 1, 3); /* padding */
    memset(must + o.libxl_opt + 8 + 3, 1, 5);
    for (size_t pos = 0; pos < b.len; pos++) {
        struct counts c;
        struct xlcp_err err;
        uint8_t keep = b.p[pos];
        int rc;
        memset(&c, 0, sizeof(c));
        c.seed = ~0ull;
        b.p[pos] ^= 0xff;
        rc = parse(b.p, b.len, 0, NULL, &c, &err);
        b.p[pos] = keep;
        if (rc == 0) {
            accepted++;
            if (must[pos])
                fail_msg("a change of byte %zu was accepted", pos);
            continue;
        }
        assert_int_equal(rc, XLCP_ECORRUPT);
        assert_int_equal(strncmp(err.msg, "offset ", 7), 0);
    }
    /* page contents, the cpuid policy, shared info, vcpu context, config text... */
    assert_true(accepted > 4096);
    free(must);
    sb_free(&b);
}

/* ---- real images ---------------------------------------------------------------------- */

struct unit_at {
    size_t off[4096];
    uint32_t type[4096], len[4096];
    int kind[4096];
    size_t n;
};

static int collect(void *arg, const struct xlcp_stream_unit *u, struct xlcp_err *err)
{
    struct unit_at *a = arg;
    (void)err;
    if (a->n < 4096) {
        a->off[a->n] = (size_t)u->offset;
        a->type[a->n] = u->type;
        a->len[a->n] = u->length;
        a->kind[a->n] = u->kind;
        a->n++;
    }
    return 0;
}

static void real_image(const char *name, uint32_t domtype)
{
    char path[256];
    struct sb b = {NULL, 0, 0};
    struct unit_at *a;
    struct xlcp_stream_cbs cbs = {NULL, collect, NULL};
    struct xlcp_stream_info info;
    struct xlcp_err err;
    size_t first_pd = 0, npd = 0, nrec = 0, libxl_hdr = 0, libxc_hdr = 0;
    int fd;

    snprintf(path, sizeof(path), "tests/fixtures/stream/%s", name);
    if (sb_load(path, &b) != 0)
        fail_msg("fixture %s missing", path);
    a = calloc(1, sizeof(*a));
    assert_non_null(a);
    cbs.arg = a;
    assert_true(b.len > 4096 && b.len < (1u << 20));
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(xlcp_stream_parse_fd(fd, NULL, &cbs, &info, &err), 0);
    close(fd);
    assert_int_equal(info.bytes, b.len);
    assert_int_equal(info.domain_type, domtype);
    assert_int_equal(info.xen_major, 4);
    assert_int_equal(info.xen_minor, 17);
    for (size_t i = 0; i < a->n; i++) {
        if (a->kind[i] == XLCP_SU_LIBXL_HEADER)
            libxl_hdr = a->off[i];
        if (a->kind[i] == XLCP_SU_LIBXC_HEADER)
            libxc_hdr = a->off[i];
        if (a->kind[i] != XLCP_SU_LIBXL_RECORD && a->kind[i] != XLCP_SU_LIBXC_RECORD)
            continue;
        nrec++;
        if (a->kind[i] == XLCP_SU_LIBXC_RECORD && a->type[i] == XLCP_LIBXC_PAGE_DATA && !npd++)
            first_pd = a->off[i];
        /* an unknown mandatory type at every record */
        refused32(&b, a->off[i], 0x7777, a->off[i], "unknown mandatory record type");
    }
    assert_true(npd >= 1 && nrec >= 8 && libxl_hdr > 48 && libxc_hdr > libxl_hdr);
    every_truncation(b.p, b.len);
    refused(&b, 0, 'Y', 0, "bad magic");
    refused(&b, libxl_hdr, 'l', libxl_hdr, "LibxlFmt");
    refused(&b, libxc_hdr + 2, 0, libxc_hdr, "bad marker");
    refused32(&b, first_pd + 8, 2048, first_pd + 8, "exceeds the batch limit");
    refused(&b, first_pd + 16 + 7, 0x60, first_pd + 16, "unknown page type 0x6");
    refused(&b, first_pd + 16 + 5, 0x01, first_pd + 16, "beyond the bound");
    refused(&b, b.len - 4, 8, b.len, "truncated"); /* END with a body */
    sb_free(&b);
    free(a);
}

static void test_real_pv(void **state)
{
    (void)state;
    real_image("stream-pv.xl", XLCP_STREAM_DOM_PV);
}

static void test_real_pvh(void **state)
{
    (void)state;
    real_image("stream-pvh.xl", XLCP_STREAM_DOM_HVM);
}

/* `verify` parses the image: a checkpoint whose image has a good digest but a bad
 * structure (as if written wrong) is corrupt, the offset and record named. */
static void test_verify_parses(void **state)
{
    struct fx *f;

    fx_setup(state, 1);
    f = *state;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), 0);
    f->dom->image_fault = 1;
    assert_int_equal(create(f, "web1"), 0);
    assert_int_equal(xlcp_engine_verify(&f->w->ports, f->m.id, 0, &f->err), XLCP_ECORRUPT);
    if (!strstr(f->err.msg, "memory.xl: offset 304: libxc record #5 PAGE_DATA") ||
        !strstr(f->err.msg, "count 2000 exceeds the batch limit 1024"))
        fail_msg("verify said '%s'", f->err.msg);
    teardown(state);
}

static void write_seed(const char *dir, const char *name, const struct sb *b)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(b->p, 1, b->len, f), b->len);
    assert_int_equal(fclose(f), 0);
}

static void test_write_seeds(void **state)
{
    const char *dir = getenv("XLCP_FUZZ_SEEDS");
    struct sb b = {NULL, 0, 0};
    (void)state;
    if (!dir)
        skip();
    sb_pv_image(&b, SEED, 2, 0, NULL);
    write_seed(dir, "synthetic-pv.xl", &b);
    sb_free(&b);
    sb_hvm_image(&b, SEED, NULL);
    write_seed(dir, "synthetic-hvm.xl", &b);
    sb_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pv_image),       cmocka_unit_test(test_hvm_image),
        cmocka_unit_test(test_any_pieces),     cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_pv_corruptions), cmocka_unit_test(test_hvm_corruptions),
        cmocka_unit_test(test_structure),      cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_limits),         cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_real_pv),        cmocka_unit_test(test_real_pvh),
        cmocka_unit_test(test_verify_parses),  cmocka_unit_test(test_write_seeds),
    };
    if (getenv("XLCP_FUZZ_SEEDS"))
        cmocka_set_test_filter("test_write_seeds");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
