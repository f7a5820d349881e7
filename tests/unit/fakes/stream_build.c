/*
 * stream_build.c - synthetic memory images for unit tests (see stream_build.h), laid out
 * as Xen 4.17 writes them (docs/specs/libxc-migration-stream.pandoc, "Layout").
 */
#include "stream_build.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sb_free(struct sb *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void sb_bytes(struct sb *b, const void *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

int sb_load(const char *path, struct sb *b)
{
    uint8_t buf[65536];
    ssize_t n;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        sb_bytes(b, buf, (size_t)n);
    close(fd);
    return n < 0 ? -1 : 0;
}

void sb_le32(struct sb *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    sb_bytes(b, x, 4);
}

void sb_le64(struct sb *b, uint64_t v)
{
    sb_le32(b, (uint32_t)v);
    sb_le32(b, (uint32_t)(v >> 32));
}

void sb_be32(struct sb *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    sb_bytes(b, x, 4);
}

void sb_xl_header(struct sb *b, const char *json)
{
    uint32_t jlen = json ? (uint32_t)strlen(json) + 1 : 0;

    sb_bytes(b, "Xen saved domain, xl format\n \0 \r", 32);
    sb_le32(b, 0x01020304u);
    sb_le32(b, json ? 3u : 2u); /* STREAMv2 | JSON */
    sb_le32(b, 0);
    sb_le32(b, json ? 4 + jlen : 0);
    if (json) {
        sb_le32(b, jlen);
        sb_bytes(b, json, jlen);
    }
}

void sb_libxl_header(struct sb *b)
{
    sb_bytes(b, "LibxlFmt", 8);
    sb_be32(b, 2);
    sb_be32(b, 0);
}

void sb_libxc_header(struct sb *b, uint32_t version, uint32_t domtype)
{
    sb_le64(b, ~0ull);
    sb_be32(b, 0x58454e46u);
    sb_be32(b, version);
    sb_be32(b, 0); /* options, reserved */
    sb_be32(b, 0);
    sb_le32(b, domtype);
    sb_le32(b, 12); /* page shift, reserved */
    sb_le32(b, 4);
    sb_le32(b, 17);
}

size_t sb_rec(struct sb *b, uint32_t type, const void *body, uint32_t len)
{
    static const uint8_t zero[8];
    size_t at = b->len;

    sb_le32(b, type);
    sb_le32(b, len);
    sb_bytes(b, body, len);
    sb_bytes(b, zero, (8 - len % 8) % 8);
    return at;
}

uint8_t sb_page_byte(uint64_t seed, uint64_t pfn, size_t i)
{
    return (uint8_t)(seed + pfn * 131u + i * 31u);
}

size_t sb_page_data(struct sb *b, uint32_t count, const uint64_t *pfns, uint64_t seed)
{
    size_t at = b->len;
    uint32_t ndata = 0;
    uint8_t page[4096];

    for (uint32_t i = 0; i < count; i++)
        ndata += (pfns[i] >> 60) < 0xd;
    sb_le32(b, 1);
    sb_le32(b, 8 + 8 * count + 4096 * ndata);
    sb_le32(b, count);
    sb_le32(b, 0);
    for (uint32_t i = 0; i < count; i++)
        sb_le64(b, pfns[i]);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t pfn = pfns[i] & 0x000fffffffffffffull;
        if ((pfns[i] >> 60) >= 0xd)
            continue;
        for (size_t j = 0; j < sizeof(page); j++)
            page[j] = sb_page_byte(seed, pfn, j);
        sb_bytes(b, page, sizeof(page));
    }
    return at;
}

static void policies(struct sb *b, struct sb_offsets *o)
{
    uint8_t cpuid[48], msr[32];

    memset(cpuid, 0x11, sizeof(cpuid));
    memset(msr, 0, sizeof(msr));
    msr[0] = 0xce;
    msr[8] = 1;
    o->cpuid = sb_rec(b, 0x11, cpuid, sizeof(cpuid));
    sb_rec(b, 0x12, msr, sizeof(msr));
    o->static_end = sb_rec(b, 0x10, NULL, 0);
}

void sb_pv_image(struct sb *b, uint64_t seed, uint32_t npages, size_t pad_to,
                 struct sb_offsets *out)
{
    struct sb_offsets o;
    uint8_t info[8] = {8, 4, 0, 0, 0, 0, 0, 0}, tsc[24], shinfo[4096], vcpu[8 + 13], *opt;
    size_t nopt = 3;
    uint8_t p2m[24];
    uint64_t first[4] = {0, 1 | (1ull << 60), 2 | (0xfull << 60), 3 | (0x9ull << 60)};
    uint64_t second[1024];

    memset(&o, 0, sizeof(o));
    if (npages > 1024)
        npages = 1024;
    /* 28 bytes with its NUL: the libxl stream starts 8-aligned in the file */
    sb_xl_header(b, "{\"c_info\": {\"name\": \"g\"}}  ");
    o.libxl_hdr = b->len;
    sb_libxl_header(b);
    o.libxc_ctx = sb_rec(b, 1, NULL, 0);
    o.libxc_hdr = b->len;
    sb_libxc_header(b, 3, 1);
    o.pv_info = sb_rec(b, 0x02, info, sizeof(info));
    policies(b, &o);
    memset(p2m, 0, sizeof(p2m));
    p2m[4] = 0xff; /* pfns 0..1023: end 0x3ff, two frames (512 pfns each) at pfns 5, 6 */
    p2m[5] = 0x03;
    p2m[8] = 5;
    p2m[16] = 6;
    o.p2m = sb_rec(b, 0x03, p2m, sizeof(p2m));
    o.page[0] = sb_page_data(b, 4, first, seed);
    for (uint32_t i = 0; i < npages; i++)
        second[i] = 0x100 + i;
    second[0] = 2; /* pfn 2 sent again, now with data */
    o.page[1] = npages ? sb_page_data(b, npages, second, seed) : 0;
    memset(tsc, 0, sizeof(tsc));
    tsc[4] = 0x40;
    o.tsc = sb_rec(b, 0x08, tsc, sizeof(tsc));
    memset(shinfo, 0x5a, sizeof(shinfo));
    o.shared_info = sb_rec(b, 0x07, shinfo, sizeof(shinfo));
    memset(vcpu, 0x77, sizeof(vcpu));
    memset(vcpu, 0, 8);
    o.vcpu = sb_rec(b, 0x04, vcpu, sizeof(vcpu)); /* 21 bytes: 3 bytes of padding */
    o.libxc_end = sb_rec(b, 0x00, NULL, 0);
    if (pad_to > b->len + 16)
        nopt = pad_to - b->len - 16; /* the optional record fills the image up to pad_to */
    opt = malloc(nopt);
    if (!opt)
        abort();
    memset(opt, 0x42, nopt);
    o.libxl_opt = sb_rec(b, 0x80000123u, opt, (uint32_t)nopt);
    free(opt);
    o.libxl_end = sb_rec(b, 0x00, NULL, 0);
    if (out)
        *out = o;
}

void sb_hvm_image(struct sb *b, uint64_t seed, struct sb_offsets *out)
{
    struct sb_offsets o;
    uint8_t tsc[24], params[8 + 32], ctx[100], emu[8 + 20], xs[8 + 8];
    uint64_t pfns[3] = {0, 0x9f, 0xfeffc | (0xeull << 60)};

    memset(&o, 0, sizeof(o));
    sb_xl_header(b, "{}");
    o.libxl_hdr = b->len;
    sb_libxl_header(b);
    o.libxc_ctx = sb_rec(b, 1, NULL, 0);
    o.libxc_hdr = b->len;
    sb_libxc_header(b, 3, 2);
    policies(b, &o);
    o.page[0] = sb_page_data(b, 3, pfns, seed);
    memset(tsc, 0, sizeof(tsc));
    o.tsc = sb_rec(b, 0x08, tsc, sizeof(tsc));
    memset(params, 0, sizeof(params));
    params[0] = 2;
    params[8] = 12;
    params[16] = 0x10;
    params[24] = 17;
    params[32] = 0xfe;
    o.hvm_params = sb_rec(b, 0x0a, params, sizeof(params));
    memset(ctx, 0x3c, sizeof(ctx));
    o.hvm_ctx = sb_rec(b, 0x09, ctx, sizeof(ctx));
    o.libxc_end = sb_rec(b, 0x00, NULL, 0);
    memset(emu, 0xab, sizeof(emu));
    memset(emu, 0, 8);
    emu[0] = 2;
    o.emu = sb_rec(b, 0x03, emu, sizeof(emu));
    memset(xs, 0, sizeof(xs));
    xs[0] = 2;
    memcpy(xs + 8, "k\0v\0ab\0", 8); /* ("k", "v"), ("ab", "") */
    sb_rec(b, 0x02, xs, sizeof(xs));
    o.libxl_end = sb_rec(b, 0x00, NULL, 0);
    if (out)
        *out = o;
}
