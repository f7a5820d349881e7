/*
 * stream.c - the memory-image parser's framing (see stream.h): xl's header and optional
 * data, the libxl header, libxc's image and domain headers, and the boundaries of every
 * record of both layers. Bytes are gathered into one buffer per unit (a header or a whole
 * record), whose size is checked against the limits before anything is buffered; each
 * complete record goes to stream_rec.c for the checks of its body.
 */
#include "stream_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XL_HDR_LEN 48u
#define LIBXL_HDR_LEN 16u
#define LIBXC_HDR_LEN 40u /* image header (24) + domain header (16) */
#define REC_HDR_LEN 8u
#define BODY_MAX_CAP (128u << 20) /* libxc's own REC_LENGTH_MAX */

static const char xl_magic[32] = "Xen saved domain, xl format\n \0 \r";
#define XL_BYTEORDER 0x01020304u
#define XL_FLAG_JSON 1u
#define XL_FLAG_STREAMV2 2u
#define LIBXL_IDENT 0x4c6962786c466d74ull /* "LibxlFmt" */
#define LIBXC_MARKER 0xffffffffffffffffull
#define LIBXC_ID 0x58454e46u /* "XENF" */

void xlcp_stream_limits_default(struct xlcp_stream_limits *l)
{
    l->max_body = 16u << 20;
    l->max_batch = 1024;
    l->max_pfn = (1ull << 36) - 1; /* 256 TiB of guest memory */
    l->max_vcpus = 4096;
}

static const char *const libxc_names[] = {
    "END",
    "PAGE_DATA",
    "X86_PV_INFO",
    "X86_PV_P2M_FRAMES",
    "X86_PV_VCPU_BASIC",
    "X86_PV_VCPU_EXTENDED",
    "X86_PV_VCPU_XSAVE",
    "SHARED_INFO",
    "X86_TSC_INFO",
    "HVM_CONTEXT",
    "HVM_PARAMS",
    "TOOLSTACK",
    "X86_PV_VCPU_MSRS",
    "VERIFY",
    "CHECKPOINT",
    "CHECKPOINT_DIRTY_PFN_LIST",
    "STATIC_DATA_END",
    "X86_CPUID_POLICY",
    "X86_MSR_POLICY",
};
static const char *const libxl_names[] = {
    "END",
    "LIBXC_CONTEXT",
    "EMULATOR_XENSTORE_DATA",
    "EMULATOR_CONTEXT",
    "CHECKPOINT_END",
    "CHECKPOINT_STATE",
};
#define NLIBXC (sizeof(libxc_names) / sizeof(libxc_names[0]))
#define NLIBXL (sizeof(libxl_names) / sizeof(libxl_names[0]))

const char *xlcp_stream_libxc_name(uint32_t type)
{
    if (type < NLIBXC)
        return libxc_names[type];
    return (type & XLCP_STREAM_REC_OPTIONAL) ? "optional" : "unknown";
}

const char *xlcp_stream_libxl_name(uint32_t type)
{
    if (type < NLIBXL)
        return libxl_names[type];
    return (type & XLCP_STREAM_REC_OPTIONAL) ? "optional" : "unknown";
}

/* The unit being read, for messages. */
static void describe(const struct xlcp_stream *s, char *out, size_t len)
{
    switch (s->state) {
    case ST_XL_HDR:
    case ST_XL_OPT:
        snprintf(out, len, "xl header at offset %" PRIu64, s->ustart);
        break;
    case ST_LIBXL_HDR:
        snprintf(out, len, "libxl header at offset %" PRIu64, s->ustart);
        break;
    case ST_LIBXC_IHDR:
        snprintf(out, len, "libxc image/domain header at offset %" PRIu64, s->ustart);
        break;
    case ST_LIBXL_RHDR:
        snprintf(out, len, "libxl record #%" PRIu32 " at offset %" PRIu64, s->nlibxl, s->ustart);
        break;
    case ST_LIBXC_RHDR:
        snprintf(out, len, "libxc record #%" PRIu32 " at offset %" PRIu64, s->nlibxc, s->ustart);
        break;
    case ST_LIBXL_BODY:
        snprintf(out, len,
                 "libxl record #%" PRIu32 " %s (type %#" PRIx32 ", length %" PRIu32
                 ") at offset %" PRIu64,
                 s->nlibxl, xlcp_stream_libxl_name(s->rtype), s->rtype, s->rlen, s->ustart);
        break;
    case ST_LIBXC_BODY:
        snprintf(out, len,
                 "libxc record #%" PRIu32 " %s (type %#" PRIx32 ", length %" PRIu32
                 ") at offset %" PRIu64,
                 s->nlibxc, xlcp_stream_libxc_name(s->rtype), s->rtype, s->rlen, s->ustart);
        break;
    case ST_DONE:
        snprintf(out, len, "after libxl's END record");
        break;
    default:
        snprintf(out, len, "failed stream");
        break;
    }
}

int xlcp_stream_fail(struct xlcp_stream *s, uint64_t at, struct xlcp_err *err, const char *fmt, ...)
{
    char why[600];
    char unit[200];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    describe(s, unit, sizeof(unit));
    return xlcp_err_set(err, XLCP_ECORRUPT, "offset %" PRIu64 ": %s: %s", at, unit, why);
}

static int want(struct xlcp_stream *s, size_t n, struct xlcp_err *err);

int xlcp_stream_new(const struct xlcp_stream_limits *limits, const struct xlcp_stream_cbs *cbs,
                    struct xlcp_stream **out, struct xlcp_err *err)
{
    struct xlcp_stream *s = calloc(1, sizeof(*s));
    int rc;

    *out = NULL;
    if (!s)
        return xlcp_err_errno(err, ENOMEM, "stream parser");
    if (limits)
        s->lim = *limits;
    else
        xlcp_stream_limits_default(&s->lim);
    if (s->lim.max_body > BODY_MAX_CAP || s->lim.max_batch == 0 || s->lim.max_batch > 65536 ||
        s->lim.max_pfn > 0x000fffffffffffffull || s->lim.max_vcpus == 0) {
        free(s);
        return xlcp_err_set(err, XLCP_EINVAL, "stream parser: limits out of range");
    }
    if (cbs)
        s->cb = *cbs;
    s->state = ST_XL_HDR;
    rc = want(s, XL_HDR_LEN, err);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void xlcp_stream_free(struct xlcp_stream *s)
{
    if (!s)
        return;
    free(s->buf);
    free(s);
}

const struct xlcp_stream_info *xlcp_stream_get_info(const struct xlcp_stream *s)
{
    return &s->info;
}

/* The next unit needs n bytes in one buffer. */
static int want(struct xlcp_stream *s, size_t n, struct xlcp_err *err)
{
    if (n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        uint8_t *b;
        while (cap < n)
            cap *= 2;
        b = realloc(s->buf, cap);
        if (!b)
            return xlcp_err_errno(err, ENOMEM, "stream parser: a buffer of %zu bytes", cap);
        s->buf = b;
        s->cap = cap;
    }
    s->need = n;
    return 0;
}

/* The current unit is done: the next starts right after it, in the state set. */
static int next_unit(struct xlcp_stream *s, struct xlcp_err *err)
{
    s->ustart += s->need;
    s->have = 0;
    switch (s->state) {
    case ST_LIBXL_HDR:
        return want(s, LIBXL_HDR_LEN, err);
    case ST_LIBXC_IHDR:
        return want(s, LIBXC_HDR_LEN, err);
    case ST_LIBXL_RHDR:
    case ST_LIBXC_RHDR:
        return want(s, REC_HDR_LEN, err);
    default:
        s->need = 0;
        return 0;
    }
}

static int unit_cb(struct xlcp_stream *s, enum xlcp_stream_unit_kind kind, uint32_t length,
                   const uint8_t *body, struct xlcp_err *err)
{
    struct xlcp_stream_unit u = {kind, 0, length, 0, s->ustart, body, s->buf, s->need};
    int rc;

    if (!s->cb.unit)
        return 0;
    rc = s->cb.unit(s->cb.arg, &u, err);
    return rc;
}

static int xl_header(struct xlcp_stream *s, struct xlcp_err *err)
{
    const uint8_t *h = s->buf;
    uint32_t order = sr_le32(h + 32), mand = sr_le32(h + 36), opt = sr_le32(h + 40);
    uint32_t optlen = sr_le32(h + 44);

    if (memcmp(h, xl_magic, sizeof(xl_magic)) != 0)
        return xlcp_stream_fail(s, 0, err, "bad magic: not an xl save image");
    if (order != XL_BYTEORDER)
        return xlcp_stream_fail(s, 32, err, "byte order mark %#" PRIx32 " (only %#x is read)",
                                order, XL_BYTEORDER);
    if (mand & ~(XL_FLAG_JSON | XL_FLAG_STREAMV2))
        return xlcp_stream_fail(s, 36, err, "unknown mandatory flags %#" PRIx32, mand);
    if (!(mand & XL_FLAG_STREAMV2))
        return xlcp_stream_fail(s, 36, err, "a legacy (v1) stream: only the v2 stream is read");
    if (opt != 0)
        return xlcp_stream_fail(s, 40, err, "unknown optional flags %#" PRIx32, opt);
    if (optlen > s->lim.max_body)
        return xlcp_stream_fail(s, 44, err,
                                "optional data of %" PRIu32 " bytes (limit %" PRIu32 ")", optlen,
                                s->lim.max_body);
    s->info.xl_mandatory_flags = mand;
    s->state = ST_XL_OPT;
    return want(s, XL_HDR_LEN + optlen, err);
}

static int xl_optional(struct xlcp_stream *s, struct xlcp_err *err)
{
    uint32_t optlen = (uint32_t)(s->need - XL_HDR_LEN), clen = 0;
    const uint8_t *cfg = NULL;
    int rc;

    if (optlen > 0) {
        if (optlen < 4)
            return xlcp_stream_fail(s, s->ustart + XL_HDR_LEN, err,
                                    "optional data of %" PRIu32 " bytes: no room for the config "
                                    "length",
                                    optlen);
        clen = sr_le32(s->buf + XL_HDR_LEN);
        if (clen > optlen - 4)
            return xlcp_stream_fail(s, s->ustart + XL_HDR_LEN, err,
                                    "config of %" PRIu32 " bytes in %" PRIu32
                                    " bytes of optional data",
                                    clen, optlen - 4);
        cfg = s->buf + XL_HDR_LEN + 4;
    }
    if ((s->info.xl_mandatory_flags & XL_FLAG_JSON) && (clen == 0 || cfg[clen - 1] != '\0'))
        return xlcp_stream_fail(s, s->ustart + XL_HDR_LEN, err, "the JSON config is %s",
                                clen ? "not NUL-terminated" : "missing");
    s->info.config_len = clen;
    rc = unit_cb(s, XLCP_SU_XL_HEADER, clen, cfg, err);
    if (rc)
        return rc;
    s->state = ST_LIBXL_HDR;
    return next_unit(s, err);
}

static int libxl_header(struct xlcp_stream *s, struct xlcp_err *err)
{
    const uint8_t *h = s->buf;
    uint32_t version = sr_be32(h + 8), options = sr_be32(h + 12);
    int rc;

    if (sr_be64(h) != LIBXL_IDENT)
        return xlcp_stream_fail(s, s->ustart, err, "bad magic: no \"LibxlFmt\"");
    if (version != 2)
        return xlcp_stream_fail(s, s->ustart + 8, err,
                                "libxl stream version %" PRIu32 " (only 2 is read)", version);
    if (options & 1u)
        return xlcp_stream_fail(s, s->ustart + 12, err, "a big-endian stream");
    if (options & ~3u)
        return xlcp_stream_fail(s, s->ustart + 12, err, "reserved option bits set (%#" PRIx32 ")",
                                options);
    s->info.libxl_options = options;
    rc = unit_cb(s, XLCP_SU_LIBXL_HEADER, 0, NULL, err);
    if (rc)
        return rc;
    s->state = ST_LIBXL_RHDR;
    return next_unit(s, err);
}

static int libxc_header(struct xlcp_stream *s, struct xlcp_err *err)
{
    const uint8_t *h = s->buf, *d = s->buf + 24;
    uint64_t at = s->ustart;
    uint32_t version = sr_be32(h + 12), type = sr_le32(d);
    uint16_t options = sr_be16(h + 16);
    int rc;

    if (sr_be64(h) != LIBXC_MARKER)
        return xlcp_stream_fail(s, at, err, "bad marker: a legacy or foreign stream");
    if (sr_be32(h + 8) != LIBXC_ID)
        return xlcp_stream_fail(s, at + 8, err, "bad id: no \"XENF\"");
    if (version != 2 && version != 3)
        return xlcp_stream_fail(s, at + 12, err,
                                "libxc stream version %" PRIu32 " (2 and 3 are read)", version);
    if (options & 1u)
        return xlcp_stream_fail(s, at + 16, err, "a big-endian stream");
    if ((options & ~1u) || sr_be16(h + 18) || sr_be32(h + 20))
        return xlcp_stream_fail(s, at + 16, err, "reserved image header fields set");
    if (type != XLCP_STREAM_DOM_PV && type != XLCP_STREAM_DOM_HVM)
        return xlcp_stream_fail(s, at + 24, err,
                                "domain type %" PRIu32 " (1 = x86 PV, 2 = x86 "
                                "HVM are read)",
                                type);
    if (sr_le16(d + 4) != 12)
        return xlcp_stream_fail(s, at + 28, err, "page shift %u (only 12 is read)",
                                (unsigned)sr_le16(d + 4));
    if (sr_le16(d + 6))
        return xlcp_stream_fail(s, at + 30, err, "reserved domain header field set");
    s->info.libxc_version = version;
    s->info.domain_type = type;
    s->info.xen_major = sr_le32(d + 8);
    s->info.xen_minor = sr_le32(d + 12);
    rc = unit_cb(s, XLCP_SU_LIBXC_HEADER, 0, NULL, err);
    if (rc)
        return rc;
    s->state = ST_LIBXC_RHDR;
    return next_unit(s, err);
}

/* A record header is in: check what can be checked before its body is buffered. */
static int record_header(struct xlcp_stream *s, int libxc, struct xlcp_err *err)
{
    uint32_t known = libxc ? (uint32_t)NLIBXC : (uint32_t)NLIBXL;
    uint64_t padded;

    s->rtype = sr_le32(s->buf);
    s->rlen = sr_le32(s->buf + 4);
    s->state = libxc ? ST_LIBXC_BODY : ST_LIBXL_BODY;
    if (s->rtype >= known && !(s->rtype & XLCP_STREAM_REC_OPTIONAL))
        return xlcp_stream_fail(s, s->ustart, err, "unknown mandatory record type");
    if (libxc && s->rtype == XLCP_LIBXC_PAGE_DATA &&
        s->rlen > 8ull + (uint64_t)s->lim.max_batch * (8u + XLCP_STREAM_PAGE_SIZE))
        return xlcp_stream_fail(s, s->ustart + 4, err,
                                "longer than %" PRIu32 " pages with their pfns", s->lim.max_batch);
    if (!(libxc && s->rtype == XLCP_LIBXC_PAGE_DATA) && s->rlen > s->lim.max_body)
        return xlcp_stream_fail(s, s->ustart + 4, err, "body longer than the limit (%" PRIu32 ")",
                                s->lim.max_body);
    padded = ((uint64_t)s->rlen + 7u) & ~(uint64_t)7u;
    return want(s, (size_t)(REC_HDR_LEN + padded), err);
}

static int record_body(struct xlcp_stream *s, int libxc, struct xlcp_err *err)
{
    int rc;

    for (size_t i = REC_HDR_LEN + s->rlen; i < s->need; i++)
        if (s->buf[i] != 0)
            return xlcp_stream_fail(s, s->ustart + i, err, "padding byte not zero (%#x)",
                                    (unsigned)s->buf[i]);
    rc = libxc ? xlcp_stream_libxc_record(s, err) : xlcp_stream_libxl_record(s, err);
    if (rc)
        return rc;
    if (libxc)
        s->nlibxc++;
    else
        s->nlibxl++;
    /* The next record of the same layer, unless the record switched layers or ended. */
    if (s->state == ST_LIBXC_BODY)
        s->state = ST_LIBXC_RHDR;
    else if (s->state == ST_LIBXL_BODY)
        s->state = ST_LIBXL_RHDR;
    return next_unit(s, err);
}

/* A unit is complete in s->buf: act on it. */
static int step(struct xlcp_stream *s, struct xlcp_err *err)
{
    switch (s->state) {
    case ST_XL_HDR:
        return xl_header(s, err);
    case ST_XL_OPT:
        return xl_optional(s, err);
    case ST_LIBXL_HDR:
        return libxl_header(s, err);
    case ST_LIBXC_IHDR:
        return libxc_header(s, err);
    case ST_LIBXL_RHDR:
        return record_header(s, 0, err);
    case ST_LIBXC_RHDR:
        return record_header(s, 1, err);
    case ST_LIBXL_BODY:
        return record_body(s, 0, err);
    case ST_LIBXC_BODY:
        return record_body(s, 1, err);
    default:
        return xlcp_err_set(err, XLCP_EINTERNAL, "stream parser: step in state %d", s->state);
    }
}

static int failed(struct xlcp_stream *s, int rc, struct xlcp_err *err)
{
    s->failure = *err;
    s->failure.code = rc;
    s->state = ST_FAILED;
    return rc;
}

int xlcp_stream_feed(struct xlcp_stream *s, const void *data, size_t len, struct xlcp_err *err)
{
    const uint8_t *p = data;
    struct xlcp_err local;

    if (!err)
        err = &local;
    if (s->state == ST_FAILED) {
        *err = s->failure;
        return s->failure.code;
    }
    while (len > 0) {
        size_t take;
        int rc;
        if (s->state == ST_DONE)
            return failed(s, xlcp_stream_fail(s, s->info.bytes, err, "trailing data"), err);
        take = s->need - s->have;
        if (take > len)
            take = len;
        memcpy(s->buf + s->have, p, take);
        s->have += take;
        s->info.bytes += take;
        p += take;
        len -= take;
        /* A unit may be complete with no more input (a zero-length record body). */
        while (s->state != ST_DONE && s->have == s->need) {
            rc = step(s, err);
            if (rc)
                return failed(s, rc, err);
        }
    }
    return 0;
}

int xlcp_stream_finish(struct xlcp_stream *s, struct xlcp_err *err)
{
    char unit[200];
    struct xlcp_err local;

    if (!err)
        err = &local;
    if (s->state == ST_FAILED) {
        *err = s->failure;
        return s->failure.code;
    }
    if (s->state == ST_DONE)
        return 0;
    /* A truncation leaves the parser as it was: more bytes may still come (the unit tests
     * check every truncation of an image in one pass that way). */
    describe(s, unit, sizeof(unit));
    if (s->have == 0)
        return xlcp_err_set(err, XLCP_ECORRUPT,
                            "offset %" PRIu64 ": truncated: the stream ends where the %s should "
                            "start",
                            s->info.bytes, unit);
    return xlcp_err_set(err, XLCP_ECORRUPT,
                        "offset %" PRIu64 ": truncated: the stream ends inside the %s (%zu of its "
                        "%zu bytes)",
                        s->info.bytes, unit, s->have, s->need);
}

int xlcp_stream_parse_fd(int fd, const struct xlcp_stream_limits *limits,
                         const struct xlcp_stream_cbs *cbs, struct xlcp_stream_info *info_out,
                         struct xlcp_err *err)
{
    enum { CHUNK = 1 << 20 };
    struct xlcp_stream *s;
    uint8_t *buf;
    int rc = xlcp_stream_new(limits, cbs, &s, err);

    if (rc)
        return rc;
    buf = malloc(CHUNK);
    if (!buf) {
        xlcp_stream_free(s);
        return xlcp_err_errno(err, ENOMEM, "stream parser: read buffer");
    }
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = xlcp_err_errno(err, errno, "reading the image at offset %" PRIu64, s->info.bytes);
            break;
        }
        if (n == 0) {
            rc = xlcp_stream_finish(s, err);
            break;
        }
        rc = xlcp_stream_feed(s, buf, (size_t)n, err);
        if (rc)
            break;
    }
    if (info_out)
        *info_out = s->info;
    free(buf);
    xlcp_stream_free(s);
    return rc;
}

int xlcp_stream_check_file(const char *path, struct xlcp_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    if (fd < 0)
        return xlcp_err_errno(err, errno, "%s", path);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    rc = xlcp_stream_parse_fd(fd, NULL, NULL, NULL, err);
    if (close(fd) != 0 && rc == 0)
        rc = xlcp_err_errno(err, errno, "closing %s", path);
    if (rc)
        xlcp_err_prefix(err, "%s", path);
    return rc;
}
