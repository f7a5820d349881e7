/*
 * stream_build.h - builds synthetic memory images (xl header, libxl v2 stream, libxc v3
 * stream) for unit tests: the fake hypervisor writes one as its save image, and
 * test_stream.c checks the parser on them and on every corruption it makes of them.
 * Allocation failures abort (test code).
 */
#ifndef XLCP_STREAM_BUILD_H
#define XLCP_STREAM_BUILD_H

#include <stddef.h>
#include <stdint.h>

struct sb {
    uint8_t *p;
    size_t len, cap;
};

/* Where the records of a built image start (offsets into sb.p). */
struct sb_offsets {
    size_t libxl_hdr, libxc_ctx, libxc_hdr, pv_info, cpuid, static_end, p2m, page[2], tsc,
        shared_info, vcpu, hvm_params, hvm_ctx, libxc_end, libxl_opt, emu, libxl_end;
};

void sb_free(struct sb *b);
void sb_bytes(struct sb *b, const void *data, size_t n);
void sb_le32(struct sb *b, uint32_t v);
void sb_le64(struct sb *b, uint64_t v);
void sb_be32(struct sb *b, uint32_t v);
/* xl's header; json NULL: no optional data, no JSON flag */
void sb_xl_header(struct sb *b, const char *json);
void sb_libxl_header(struct sb *b);
/* libxc image header (version) + domain header (type 1 PV, 2 HVM) */
void sb_libxc_header(struct sb *b, uint32_t version, uint32_t domtype);
/* A record (either layer), zero padding added; returns its offset. */
size_t sb_rec(struct sb *b, uint32_t type, const void *body, uint32_t len);
/* A PAGE_DATA record of count pfns (type in bits 60-63), each data page filled from seed
 * and its pfn (sb_page_byte). Returns its offset. */
size_t sb_page_data(struct sb *b, uint32_t count, const uint64_t *pfns, uint64_t seed);
uint8_t sb_page_byte(uint64_t seed, uint64_t pfn, size_t i);
/* Appends the whole file at path to b: 0, or -1 if it cannot be read. */
int sb_load(const char *path, struct sb *b);
/* Complete valid images: a PV guest with max pfn 1023 (a second batch of npages pfns
 * 0x100...; an optional libxl record near the end fills it up to pad_to bytes if that is
 * larger, to a multiple of 8), an HVM guest. o may be NULL. */
void sb_pv_image(struct sb *b, uint64_t seed, uint32_t npages, size_t pad_to, struct sb_offsets *o);
void sb_hvm_image(struct sb *b, uint64_t seed, struct sb_offsets *o);

#endif
