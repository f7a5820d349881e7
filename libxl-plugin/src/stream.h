/*
 * stream.h - an incremental, bounded parser of the memory image we write (memory.xl): xl's
 * save-file header and its optional data (the domain config), then the libxl stream v2
 * (docs/specs/libxl-migration-stream.pandoc in Xen) which wraps, after its LIBXC_CONTEXT
 * record, the libxc migration stream v2/v3 (docs/specs/libxc-migration-stream.pandoc).
 *
 * The stream is guest-influenced (page contents, and through the toolstack record sizes and
 * counts), so the parser trusts nothing: it is fed bytes in pieces of any size (from an fd or
 * from buffers), holds at most one record at a time (bounded by xlcp_stream_limits), checks
 * every length, count, pfn, type, reserved field and padding byte, and stops at the first
 * fault with an XLCP_ECORRUPT error naming the offset and the record ("offset 4232: libxc
 * record #7 PAGE_DATA at offset 4200: count 2000 exceeds the batch limit 1024"). Truncation
 * is reported by xlcp_stream_finish(). It never reads a whole file into memory.
 *
 * For each unit parsed (a header, a record) it calls unit(); for each pfn of a PAGE_DATA
 * record it calls page() with the pfn, its XEN_DOMCTL_PFINFO type and the page's 4 KiB
 * (NULL for types that carry no data). Pointers are valid during the call only.
 */
#ifndef XLCP_STREAM_H
#define XLCP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define XLCP_STREAM_PAGE_SIZE 4096u

/* libxl record types */
#define XLCP_LIBXL_END 0x0u
#define XLCP_LIBXL_LIBXC_CONTEXT 0x1u
#define XLCP_LIBXL_EMULATOR_XENSTORE_DATA 0x2u
#define XLCP_LIBXL_EMULATOR_CONTEXT 0x3u
#define XLCP_LIBXL_CHECKPOINT_END 0x4u
#define XLCP_LIBXL_CHECKPOINT_STATE 0x5u
/* libxc record types */
#define XLCP_LIBXC_END 0x00u
#define XLCP_LIBXC_PAGE_DATA 0x01u
#define XLCP_LIBXC_X86_PV_INFO 0x02u
#define XLCP_LIBXC_X86_PV_P2M_FRAMES 0x03u
#define XLCP_LIBXC_X86_PV_VCPU_BASIC 0x04u
#define XLCP_LIBXC_X86_PV_VCPU_EXTENDED 0x05u
#define XLCP_LIBXC_X86_PV_VCPU_XSAVE 0x06u
#define XLCP_LIBXC_SHARED_INFO 0x07u
#define XLCP_LIBXC_X86_TSC_INFO 0x08u
#define XLCP_LIBXC_HVM_CONTEXT 0x09u
#define XLCP_LIBXC_HVM_PARAMS 0x0au
#define XLCP_LIBXC_TOOLSTACK 0x0bu
#define XLCP_LIBXC_X86_PV_VCPU_MSRS 0x0cu
#define XLCP_LIBXC_VERIFY 0x0du
#define XLCP_LIBXC_CHECKPOINT 0x0eu
#define XLCP_LIBXC_CHECKPOINT_DIRTY_PFN_LIST 0x0fu
#define XLCP_LIBXC_STATIC_DATA_END 0x10u
#define XLCP_LIBXC_X86_CPUID_POLICY 0x11u
#define XLCP_LIBXC_X86_MSR_POLICY 0x12u
#define XLCP_STREAM_REC_OPTIONAL 0x80000000u

/* libxc domain types */
#define XLCP_STREAM_DOM_PV 1u
#define XLCP_STREAM_DOM_HVM 2u

/* Page types (XEN_DOMCTL_PFINFO_* >> 28) without page data. */
#define XLCP_PFINFO_BROKEN 0xdu
#define XLCP_PFINFO_XALLOC 0xeu
#define XLCP_PFINFO_XTAB 0xfu

struct xlcp_stream_limits {
    uint32_t max_body;  /* largest record body (and xl optional data) accepted; <= 128 MiB */
    uint32_t max_batch; /* most pfns in one PAGE_DATA record (libxc sends <= 1024) */
    uint64_t max_pfn;   /* largest pfn accepted (HVM; a PV guest's own p2m bound is used too) */
    uint32_t max_vcpus; /* vcpu ids must be below this */
};

enum xlcp_stream_unit_kind {
    XLCP_SU_XL_HEADER,    /* xl's header + optional data; body = the config (JSON) */
    XLCP_SU_LIBXL_HEADER, /* "LibxlFmt" header */
    XLCP_SU_LIBXC_HEADER, /* libxc image header + domain header */
    XLCP_SU_LIBXL_RECORD,
    XLCP_SU_LIBXC_RECORD,
};

struct xlcp_stream_unit {
    enum xlcp_stream_unit_kind kind;
    uint32_t type;   /* record type (records only) */
    uint32_t length; /* body length: record body, or the config's length for XL_HEADER */
    uint32_t index;  /* record number within its layer, from 0 */
    uint64_t offset; /* of the unit's first byte in the stream */
    const uint8_t *body;
    const uint8_t *raw; /* the unit's bytes as in the stream (header, body, padding) */
    size_t raw_len;
};

/* What the headers said. */
struct xlcp_stream_info {
    uint32_t xl_mandatory_flags;
    uint32_t config_len;
    uint32_t libxl_options;
    uint32_t libxc_version; /* 2 or 3 */
    uint32_t domain_type;   /* XLCP_STREAM_DOM_* */
    uint32_t xen_major, xen_minor;
    uint64_t bytes; /* consumed so far */
};

struct xlcp_stream_cbs {
    void *arg;
    /* Each may be NULL. A non-zero return stops the parse with that code (err set by it). */
    int (*unit)(void *arg, const struct xlcp_stream_unit *u, struct xlcp_err *err);
    int (*page)(void *arg, uint64_t pfn, unsigned int type, const uint8_t *data,
                struct xlcp_err *err);
};

struct xlcp_stream;

void xlcp_stream_limits_default(struct xlcp_stream_limits *l);
/* limits NULL: the defaults. cbs may be NULL (check only). */
int xlcp_stream_new(const struct xlcp_stream_limits *limits, const struct xlcp_stream_cbs *cbs,
                    struct xlcp_stream **out, struct xlcp_err *err);
/* Feeds len bytes. After an error every later call returns it again. */
int xlcp_stream_feed(struct xlcp_stream *s, const void *buf, size_t len, struct xlcp_err *err);
/* The input ended: 0 if the stream ended with libxl's END record, else a truncation error
 * (which leaves the parser as it was: more bytes may still be fed). */
int xlcp_stream_finish(struct xlcp_stream *s, struct xlcp_err *err);
const struct xlcp_stream_info *xlcp_stream_get_info(const struct xlcp_stream *s);
void xlcp_stream_free(struct xlcp_stream *s);

/* Parses everything read from fd (to EOF) and finishes. info_out may be NULL. */
int xlcp_stream_parse_fd(int fd, const struct xlcp_stream_limits *limits,
                         const struct xlcp_stream_cbs *cbs, struct xlcp_stream_info *info_out,
                         struct xlcp_err *err);
/* Checks the structure of the image file at path (errors name the path). */
int xlcp_stream_check_file(const char *path, struct xlcp_err *err);

/* "PAGE_DATA", "EMULATOR_CONTEXT", ..., or "unknown" */
const char *xlcp_stream_libxc_name(uint32_t type);
const char *xlcp_stream_libxl_name(uint32_t type);

#endif
