/*
 * stream_rec.c - what each record of the memory image must hold (see stream.h), per layer:
 * libxc's records (PAGE_DATA batches and their pfns, the PV and HVM context records, the
 * static-data and ordering rules of docs/specs/libxc-migration-stream.pandoc) and libxl's
 * (END, LIBXC_CONTEXT, the emulator records, checkpoint markers). Called by stream.c with
 * a whole record in s->buf: header at 0, body at 8, padding already checked. Every length
 * is checked in 64-bit arithmetic before a field is read.
 */
#include "stream_int.h"

#include <inttypes.h>

#define BODY(s) ((s)->buf + 8)
#define AT(s, off) ((s)->ustart + 8u + (uint64_t)(off))

static int call_unit(struct xlcp_stream *s, int libxc, struct xlcp_err *err)
{
    struct xlcp_stream_unit u = {
        libxc ? XLCP_SU_LIBXC_RECORD : XLCP_SU_LIBXL_RECORD,
        s->rtype,
        s->rlen,
        libxc ? s->nlibxc : s->nlibxl,
        s->ustart,
        BODY(s),
        s->buf,
        s->need,
    };
    return s->cb.unit ? s->cb.unit(s->cb.arg, &u, err) : 0;
}

static int want_len(struct xlcp_stream *s, uint64_t len, struct xlcp_err *err)
{
    if (s->rlen != len)
        return xlcp_stream_fail(s, s->ustart + 4, err,
                                "body of %" PRIu32 " bytes, must be %" PRIu64, s->rlen, len);
    return 0;
}

static int want_min(struct xlcp_stream *s, uint64_t len, struct xlcp_err *err)
{
    if (s->rlen < len)
        return xlcp_stream_fail(s, s->ustart + 4, err,
                                "body of %" PRIu32 " bytes, must be at least %" PRIu64, s->rlen,
                                len);
    return 0;
}

static int want_zero(struct xlcp_stream *s, uint32_t off, uint32_t n, struct xlcp_err *err)
{
    for (uint32_t i = 0; i < n; i++)
        if (BODY(s)[off + i] != 0)
            return xlcp_stream_fail(s, AT(s, off + i), err, "reserved field not zero");
    return 0;
}

static int want_dom(struct xlcp_stream *s, uint32_t type, struct xlcp_err *err)
{
    if (s->info.domain_type != type)
        return xlcp_stream_fail(s, s->ustart, err, "a record for %s guests in a %s stream",
                                type == XLCP_STREAM_DOM_PV ? "PV" : "HVM",
                                type == XLCP_STREAM_DOM_PV ? "HVM" : "PV");
    return 0;
}

/* A page type that carries data; -1 for a reserved (unknown) type. */
static int type_has_data(unsigned int t)
{
    if (t <= 4 || (t >= 9 && t <= 0xc))
        return 1;
    if (t >= XLCP_PFINFO_BROKEN)
        return 0;
    return -1;
}

static int page_data(struct xlcp_stream *s, struct xlcp_err *err)
{
    const uint8_t *b = BODY(s);
    uint32_t count, ndata = 0;
    uint64_t bound;
    const uint8_t *page;
    int rc;

    if (s->info.domain_type == XLCP_STREAM_DOM_PV && !s->seen_p2m)
        return xlcp_stream_fail(s, s->ustart, err, "PAGE_DATA before X86_PV_P2M_FRAMES");
    if (s->info.domain_type == XLCP_STREAM_DOM_HVM && s->info.libxc_version < 3)
        s->seen_static_end = 1; /* v2: inferred here */
    if (!s->seen_static_end)
        return xlcp_stream_fail(s, s->ustart, err, "PAGE_DATA before STATIC_DATA_END");
    if ((rc = want_min(s, 8, err)) != 0)
        return rc;
    count = sr_le32(b);
    if (count == 0)
        return xlcp_stream_fail(s, AT(s, 0), err, "count is 0");
    if (count > s->lim.max_batch)
        return xlcp_stream_fail(s, AT(s, 0), err,
                                "count %" PRIu32 " exceeds the batch limit %" PRIu32, count,
                                s->lim.max_batch);
    if ((rc = want_zero(s, 4, 4, err)) != 0 || (rc = want_min(s, 8 + 8ull * count, err)) != 0)
        return rc;
    bound = s->info.domain_type == XLCP_STREAM_DOM_PV ? s->pv_max_pfn : s->lim.max_pfn;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t v = sr_le64(b + 8 + 8ull * i), pfn = v & 0x000fffffffffffffull;
        unsigned int t = (unsigned int)(v >> 60);
        int d = type_has_data(t);
        if ((v >> 52) & 0xffu)
            return xlcp_stream_fail(s, AT(s, 8 + 8ull * i), err,
                                    "pfn[%" PRIu32 "]: reserved bits set (%#" PRIx64 ")", i, v);
        if (d < 0)
            return xlcp_stream_fail(s, AT(s, 8 + 8ull * i), err,
                                    "pfn[%" PRIu32 "]: unknown page type %#x", i, t);
        if (pfn > bound)
            return xlcp_stream_fail(s, AT(s, 8 + 8ull * i), err,
                                    "pfn[%" PRIu32 "] %#" PRIx64 " beyond the bound %#" PRIx64, i,
                                    pfn, bound);
        ndata += (uint32_t)d;
    }
    if ((rc = want_len(s, 8 + 8ull * count + (uint64_t)XLCP_STREAM_PAGE_SIZE * ndata, err)) != 0)
        return rc;
    if ((rc = call_unit(s, 1, err)) != 0)
        return rc;
    if (!s->cb.page)
        return 0;
    page = b + 8 + 8ull * count;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t v = sr_le64(b + 8 + 8ull * i);
        unsigned int t = (unsigned int)(v >> 60);
        int d = type_has_data(t);
        rc = s->cb.page(s->cb.arg, v & 0x000fffffffffffffull, t, d ? page : NULL, err);
        if (rc)
            return rc;
        if (d)
            page += XLCP_STREAM_PAGE_SIZE;
    }
    return 0;
}

static int pv_info(struct xlcp_stream *s, struct xlcp_err *err)
{
    const uint8_t *b = BODY(s);
    int rc;

    if ((rc = want_dom(s, XLCP_STREAM_DOM_PV, err)) != 0 || (rc = want_len(s, 8, err)) != 0 ||
        (rc = want_zero(s, 2, 6, err)) != 0)
        return rc;
    if (s->seen_pv_info)
        return xlcp_stream_fail(s, s->ustart, err, "a second X86_PV_INFO");
    if (!((b[0] == 8 && b[1] == 4) || (b[0] == 4 && b[1] == 3)))
        return xlcp_stream_fail(s, AT(s, 0), err, "guest width %u with %u page table levels", b[0],
                                b[1]);
    s->seen_pv_info = 1;
    s->guest_width = b[0];
    return 0;
}

static int pv_p2m_frames(struct xlcp_stream *s, struct xlcp_err *err)
{
    const uint8_t *b = BODY(s);
    uint32_t start, end, fpp;
    uint64_t n;
    int rc;

    if ((rc = want_dom(s, XLCP_STREAM_DOM_PV, err)) != 0 || (rc = want_min(s, 8, err)) != 0)
        return rc;
    if (!s->seen_pv_info)
        return xlcp_stream_fail(s, s->ustart, err, "X86_PV_P2M_FRAMES before X86_PV_INFO");
    if (s->info.libxc_version < 3)
        s->seen_static_end = 1; /* v2: inferred here */
    if (!s->seen_static_end)
        return xlcp_stream_fail(s, s->ustart, err, "X86_PV_P2M_FRAMES before STATIC_DATA_END");
    start = sr_le32(b);
    end = sr_le32(b + 4);
    if (start > end)
        return xlcp_stream_fail(s, AT(s, 0), err, "start pfn %#" PRIx32 " after end pfn %#" PRIx32,
                                start, end);
    if (end > s->lim.max_pfn)
        return xlcp_stream_fail(s, AT(s, 4), err, "end pfn %#" PRIx32 " beyond the bound %#" PRIx64,
                                end, s->lim.max_pfn);
    fpp = XLCP_STREAM_PAGE_SIZE / s->guest_width;
    n = (uint64_t)(end / fpp) - (start / fpp) + 1;
    if ((rc = want_len(s, 8 + 8 * n, err)) != 0)
        return rc;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t f = sr_le64(b + 8 + 8 * i);
        if (f > s->lim.max_pfn)
            return xlcp_stream_fail(s, AT(s, 8 + 8 * i), err,
                                    "p2m frame %" PRIu64 " at pfn %#" PRIx64 " beyond the bound", i,
                                    f);
    }
    if (end > s->pv_max_pfn)
        s->pv_max_pfn = end;
    s->seen_p2m = 1;
    return 0;
}

static int pv_vcpu(struct xlcp_stream *s, struct xlcp_err *err)
{
    int rc;

    if ((rc = want_dom(s, XLCP_STREAM_DOM_PV, err)) != 0 || (rc = want_min(s, 8, err)) != 0 ||
        (rc = want_zero(s, 4, 4, err)) != 0)
        return rc;
    if (sr_le32(BODY(s)) >= s->lim.max_vcpus)
        return xlcp_stream_fail(s, AT(s, 0), err, "vcpu id %" PRIu32 " (limit %" PRIu32 ")",
                                sr_le32(BODY(s)), s->lim.max_vcpus);
    if (!s->seen_p2m)
        return xlcp_stream_fail(s, s->ustart, err, "a vcpu record before X86_PV_P2M_FRAMES");
    return 0;
}

static int hvm_params(struct xlcp_stream *s, struct xlcp_err *err)
{
    int rc;

    if ((rc = want_dom(s, XLCP_STREAM_DOM_HVM, err)) != 0 || (rc = want_min(s, 8, err)) != 0 ||
        (rc = want_zero(s, 4, 4, err)) != 0)
        return rc;
    return want_len(s, 8 + 16ull * sr_le32(BODY(s)), err);
}

static int policy(struct xlcp_stream *s, uint32_t entry, struct xlcp_err *err)
{
    if (s->rlen % entry != 0)
        return xlcp_stream_fail(s, s->ustart + 4, err,
                                "body of %" PRIu32 " bytes is not a whole number of %" PRIu32
                                "-byte entries",
                                s->rlen, entry);
    if (s->seen_static_end)
        return xlcp_stream_fail(s, s->ustart, err, "static data after STATIC_DATA_END");
    /* X86_MSR_POLICY: each xen_msr_entry_t's flags are reserved, must be zero. */
    for (uint32_t off = 4; entry == 16 && off < s->rlen; off += entry) {
        int rc = want_zero(s, off, 4, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int libxc_checks(struct xlcp_stream *s, struct xlcp_err *err)
{
    int rc;

    switch (s->rtype) {
    case XLCP_LIBXC_END:
        if ((rc = want_len(s, 0, err)) != 0)
            return rc;
        s->libxc_done = 1;
        s->state = ST_LIBXL_RHDR;
        return 0;
    case XLCP_LIBXC_CHECKPOINT:
        if ((rc = want_len(s, 0, err)) != 0)
            return rc;
        s->in_checkpoint = 1;
        s->state = ST_LIBXL_RHDR;
        return 0;
    case XLCP_LIBXC_VERIFY:
        return want_len(s, 0, err);
    case XLCP_LIBXC_STATIC_DATA_END:
        if ((rc = want_len(s, 0, err)) != 0)
            return rc;
        if (s->seen_static_end)
            return xlcp_stream_fail(s, s->ustart, err, "a second STATIC_DATA_END");
        s->seen_static_end = 1;
        return 0;
    case XLCP_LIBXC_X86_PV_INFO:
        return pv_info(s, err);
    case XLCP_LIBXC_X86_PV_P2M_FRAMES:
        return pv_p2m_frames(s, err);
    case XLCP_LIBXC_X86_PV_VCPU_BASIC:
    case XLCP_LIBXC_X86_PV_VCPU_EXTENDED:
    case XLCP_LIBXC_X86_PV_VCPU_XSAVE:
    case XLCP_LIBXC_X86_PV_VCPU_MSRS:
        return pv_vcpu(s, err);
    case XLCP_LIBXC_SHARED_INFO:
        if ((rc = want_dom(s, XLCP_STREAM_DOM_PV, err)) != 0)
            return rc;
        return want_len(s, XLCP_STREAM_PAGE_SIZE, err);
    case XLCP_LIBXC_X86_TSC_INFO:
        if ((rc = want_len(s, 24, err)) != 0)
            return rc;
        return want_zero(s, 20, 4, err);
    case XLCP_LIBXC_HVM_CONTEXT:
        if ((rc = want_dom(s, XLCP_STREAM_DOM_HVM, err)) != 0)
            return rc;
        return want_min(s, 1, err);
    case XLCP_LIBXC_HVM_PARAMS:
        return hvm_params(s, err);
    case XLCP_LIBXC_CHECKPOINT_DIRTY_PFN_LIST:
        return xlcp_stream_fail(s, s->ustart, err,
                                "a record of COLO's back channel, never "
                                "part of an image");
    case XLCP_LIBXC_X86_CPUID_POLICY:
        return policy(s, 24, err);
    case XLCP_LIBXC_X86_MSR_POLICY:
        return policy(s, 16, err);
    default: /* TOOLSTACK (an opaque blob), optional records */
        return 0;
    }
}

int xlcp_stream_libxc_record(struct xlcp_stream *s, struct xlcp_err *err)
{
    int rc;

    if (s->rtype == XLCP_LIBXC_PAGE_DATA)
        return page_data(s, err); /* calls the unit callback before its pages */
    rc = libxc_checks(s, err);
    return rc ? rc : call_unit(s, 1, err);
}

static int emulator(struct xlcp_stream *s, struct xlcp_err *err)
{
    const uint8_t *b = BODY(s);
    uint32_t id, nul = 0;
    int rc;

    if ((rc = want_min(s, 8, err)) != 0)
        return rc;
    id = sr_le32(b);
    if (id > 2)
        return xlcp_stream_fail(s, AT(s, 0), err, "emulator id %" PRIu32 " (0-2 are known)", id);
    if (s->rtype != XLCP_LIBXL_EMULATOR_XENSTORE_DATA || s->rlen == 8)
        return 0;
    /* key/value pairs, each a NUL-terminated string */
    for (uint32_t i = 8; i < s->rlen; i++)
        nul += b[i] == '\0';
    if (b[s->rlen - 1] != '\0' || nul % 2 != 0)
        return xlcp_stream_fail(s, AT(s, 8), err,
                                "xenstore data is not NUL-terminated "
                                "key/value pairs");
    return 0;
}

static int libxl_checks(struct xlcp_stream *s, struct xlcp_err *err)
{
    int rc;

    switch (s->rtype) {
    case XLCP_LIBXL_END:
        if ((rc = want_len(s, 0, err)) != 0)
            return rc;
        if (!s->libxc_done || s->in_checkpoint)
            return xlcp_stream_fail(s, s->ustart, err, "END before the libxc stream %s",
                                    s->libxc_started ? "ended" : "(no LIBXC_CONTEXT)");
        s->state = ST_DONE;
        return 0;
    case XLCP_LIBXL_LIBXC_CONTEXT:
        if ((rc = want_len(s, 0, err)) != 0)
            return rc;
        if (s->libxc_started)
            return xlcp_stream_fail(s, s->ustart, err, "a second LIBXC_CONTEXT");
        s->libxc_started = 1;
        s->state = ST_LIBXC_IHDR;
        return 0;
    case XLCP_LIBXL_EMULATOR_XENSTORE_DATA:
    case XLCP_LIBXL_EMULATOR_CONTEXT:
        return emulator(s, err);
    case XLCP_LIBXL_CHECKPOINT_END:
        if ((rc = want_len(s, 0, err)) != 0)
            return rc;
        if (!s->in_checkpoint)
            return xlcp_stream_fail(s, s->ustart, err,
                                    "CHECKPOINT_END without a libxc "
                                    "CHECKPOINT");
        s->in_checkpoint = 0;
        s->state = ST_LIBXC_RHDR; /* libxc's records go on */
        return 0;
    case XLCP_LIBXL_CHECKPOINT_STATE:
        if ((rc = want_len(s, 8, err)) != 0 || (rc = want_zero(s, 4, 4, err)) != 0)
            return rc;
        if (sr_le32(BODY(s)) > 3)
            return xlcp_stream_fail(s, AT(s, 0), err, "unknown control id %" PRIu32,
                                    sr_le32(BODY(s)));
        return 0;
    default: /* optional records */
        return 0;
    }
}

int xlcp_stream_libxl_record(struct xlcp_stream *s, struct xlcp_err *err)
{
    int rc = libxl_checks(s, err);
    return rc ? rc : call_unit(s, 0, err);
}
