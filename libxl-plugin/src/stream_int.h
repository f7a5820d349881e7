/*
 * stream_int.h - the memory-image parser's state, shared by its framing (stream.c: headers,
 * record boundaries, buffering) and its record checks (stream_rec.c: what each record's
 * body must hold, per layer).
 */
#ifndef XLCP_STREAM_INT_H
#define XLCP_STREAM_INT_H

#include "stream.h"

enum stream_state {
    ST_XL_HDR,     /* need xl's 48-byte header */
    ST_XL_OPT,     /* need header + optional data */
    ST_LIBXL_HDR,  /* need the 16-byte libxl header */
    ST_LIBXL_RHDR, /* need a libxl record header */
    ST_LIBXL_BODY, /* need a libxl record's body and padding */
    ST_LIBXC_IHDR, /* need the libxc image header + domain header (40 bytes) */
    ST_LIBXC_RHDR, /* need a libxc record header */
    ST_LIBXC_BODY, /* need a libxc record's body and padding */
    ST_DONE,       /* libxl END seen: nothing may follow */
    ST_FAILED,
};

struct xlcp_stream {
    struct xlcp_stream_limits lim;
    struct xlcp_stream_cbs cb;
    struct xlcp_stream_info info;
    enum stream_state state;
    struct xlcp_err failure; /* the error, once failed */
    /* the unit being assembled: buf[0..have) of need bytes, starting at stream offset ustart */
    uint8_t *buf;
    size_t cap, have, need;
    uint64_t ustart;
    uint32_t rtype, rlen;    /* current record's header */
    uint32_t nlibxl, nlibxc; /* records seen per layer */
    /* what the libxc layer has seen */
    int libxc_started, libxc_done, in_checkpoint;
    int seen_static_end, seen_pv_info, seen_p2m;
    uint32_t guest_width;
    uint64_t pv_max_pfn; /* from X86_PV_P2M_FRAMES */
};

/* Fails the parse: "offset <at>: <current unit>: <why>". Returns XLCP_ECORRUPT. */
int xlcp_stream_fail(struct xlcp_stream *s, uint64_t at, struct xlcp_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Checks a complete libxc / libxl record in s->buf (header at 0, body at 8) and calls the
 * callbacks; switches layers where the record says so. */
int xlcp_stream_libxc_record(struct xlcp_stream *s, struct xlcp_err *err);
int xlcp_stream_libxl_record(struct xlcp_stream *s, struct xlcp_err *err);

/* Little-endian and big-endian readers. */
static inline uint16_t sr_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t sr_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t sr_le64(const uint8_t *p)
{
    return (uint64_t)sr_le32(p) | ((uint64_t)sr_le32(p + 4) << 32);
}
static inline uint32_t sr_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}
static inline uint16_t sr_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint64_t sr_be64(const uint8_t *p)
{
    return ((uint64_t)sr_be32(p) << 32) | (uint64_t)sr_be32(p + 4);
}

#endif
