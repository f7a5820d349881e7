/*
 * xlcp-stream.c - a small tool on the memory-image parser (libxl-plugin/src/stream.h):
 *
 *   xlcp-stream summary [--json] FILE|-    records per type, pages, distinct pfns, bytes
 *        (pfns: entries of PAGE_DATA records; pages: those with data; distinct_pfns: every
 *        pfn named; distinct_data_pfns: those sent with data at least once)
 *   xlcp-stream check FILE|-               structure only: exit 0, or 8 with the fault
 *   xlcp-stream list FILE|-                one line per unit: offset, layer, type, body length
 *   xlcp-stream cut [--records N] [--pages M] IN OUT
 *        keeps the headers and every non-page record, the first N PAGE_DATA records (default
 *        4), each cut to its first M pfns (default: all): a small fixture that still parses.
 *   xlcp-stream ps store DIR NAME FILE|-   the page store DIR/pagestore (pagestore.h), for
 *   xlcp-stream ps rebuild DIR NAME OUT|-  trying it on real images: store an image as map
 *   xlcp-stream ps verify DIR              NAME (prints what was received and stored),
 *   xlcp-stream ps release DIR NAME        rebuild it as a standard image, verify every
 *   xlcp-stream ps gc DIR                  page, release a map, collect, list the maps.
 *   xlcp-stream ps list DIR
 *
 * Installed to libexec (not an `xl checkpoint` subcommand). Exit status: 0 fine, 1 usage or
 * I/O error, 8 the image's structure is corrupt (as `xl checkpoint verify`).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagestore.h"
#include "stream.h"

#define EXIT_CORRUPT 8

/* ---- summary ---------------------------------------------------------------------------- */

struct pfnset { /* open addressing; key + 1 stored so that 0 means empty */
    uint64_t *slot;
    size_t cap, n;
};

static int pfnset_add(struct pfnset *h, uint64_t pfn)
{
    size_t i;

    if ((h->n + 1) * 2 > h->cap) {
        size_t ncap = h->cap ? h->cap * 2 : 1024;
        uint64_t *ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return -1;
        for (size_t j = 0; j < h->cap; j++) {
            if (!h->slot[j])
                continue;
            for (i = (size_t)((h->slot[j] * 0x9e3779b97f4a7c15ull) >> 20) & (ncap - 1); ns[i];
                 i = (i + 1) & (ncap - 1))
                ;
            ns[i] = h->slot[j];
        }
        free(h->slot);
        h->slot = ns;
        h->cap = ncap;
    }
    for (i = (size_t)(((pfn + 1) * 0x9e3779b97f4a7c15ull) >> 20) & (h->cap - 1); h->slot[i];
         i = (i + 1) & (h->cap - 1))
        if (h->slot[i] == pfn + 1)
            return 0;
    h->slot[i] = pfn + 1;
    h->n++;
    return 0;
}

struct summary {
    uint64_t libxl_count[8], libxl_bytes[8], libxc_count[20], libxc_bytes[20];
    uint64_t other_count, other_bytes;
    uint64_t pfns, pages, page_bytes, max_pfn;
    struct pfnset set, data; /* every pfn named; those sent with data at least once */
};

static int sum_unit(void *arg, const struct xlcp_stream_unit *u, struct xlcp_err *err)
{
    struct summary *m = arg;
    (void)err;
    if (u->kind == XLCP_SU_LIBXL_RECORD && u->type < 8) {
        m->libxl_count[u->type]++;
        m->libxl_bytes[u->type] += u->raw_len;
    } else if (u->kind == XLCP_SU_LIBXC_RECORD && u->type < 20) {
        m->libxc_count[u->type]++;
        m->libxc_bytes[u->type] += u->raw_len;
    } else if (u->kind == XLCP_SU_LIBXL_RECORD || u->kind == XLCP_SU_LIBXC_RECORD) {
        m->other_count++;
        m->other_bytes += u->raw_len;
    }
    return 0;
}

static int sum_page(void *arg, uint64_t pfn, unsigned int type, const uint8_t *data,
                    struct xlcp_err *err)
{
    struct summary *m = arg;
    (void)type;
    m->pfns++;
    if (data) {
        m->pages++;
        m->page_bytes += XLCP_STREAM_PAGE_SIZE;
        if (pfnset_add(&m->data, pfn) != 0)
            return xlcp_err_errno(err, ENOMEM, "counting distinct pfns");
    }
    if (pfn > m->max_pfn)
        m->max_pfn = pfn;
    if (pfnset_add(&m->set, pfn) != 0)
        return xlcp_err_errno(err, ENOMEM, "counting distinct pfns");
    return 0;
}

static int open_in(const char *path)
{
    int fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fprintf(stderr, "xlcp-stream: %s: %s\n", path, strerror(errno));
    return fd;
}

static int report(const char *path, int rc, const struct xlcp_err *err)
{
    fprintf(stderr, "xlcp-stream: %s: %s\n", path, err->msg);
    return rc == XLCP_ECORRUPT ? EXIT_CORRUPT : 1;
}

static void print_summary(const struct summary *m, const struct xlcp_stream_info *in, int json)
{
    const char *dom = in->domain_type == XLCP_STREAM_DOM_PV ? "pv" : "hvm";
    const char *sep = "";

    if (!json) {
        printf("bytes %" PRIu64 "\ndomain %s\nlibxc_version %" PRIu32 "\nxen %" PRIu32 ".%" PRIu32
               "\nconfig_bytes %" PRIu32 "\n",
               in->bytes, dom, in->libxc_version, in->xen_major, in->xen_minor, in->config_len);
        printf("pfns %" PRIu64 "\npages %" PRIu64 "\npage_bytes %" PRIu64
               "\ndistinct_pfns %zu\ndistinct_data_pfns %zu\nmax_pfn %" PRIu64 "\n",
               m->pfns, m->pages, m->page_bytes, m->set.n, m->data.n, m->max_pfn);
        for (uint32_t t = 0; t < 8; t++)
            if (m->libxl_count[t])
                printf("libxl %s %" PRIu64 " records %" PRIu64 " bytes\n",
                       xlcp_stream_libxl_name(t), m->libxl_count[t], m->libxl_bytes[t]);
        for (uint32_t t = 0; t < 20; t++)
            if (m->libxc_count[t])
                printf("libxc %s %" PRIu64 " records %" PRIu64 " bytes\n",
                       xlcp_stream_libxc_name(t), m->libxc_count[t], m->libxc_bytes[t]);
        if (m->other_count)
            printf("optional %" PRIu64 " records %" PRIu64 " bytes\n", m->other_count,
                   m->other_bytes);
        return;
    }
    printf("{\"bytes\": %" PRIu64 ", \"domain\": \"%s\", \"libxc_version\": %" PRIu32
           ", \"xen\": \"%" PRIu32 ".%" PRIu32 "\", \"config_bytes\": %" PRIu32
           ", \"pfns\": %" PRIu64 ", \"pages\": %" PRIu64 ", \"page_bytes\": %" PRIu64
           ", \"distinct_pfns\": %zu, \"distinct_data_pfns\": %zu, \"max_pfn\": %" PRIu64
           ", \"records\": {",
           in->bytes, dom, in->libxc_version, in->xen_major, in->xen_minor, in->config_len, m->pfns,
           m->pages, m->page_bytes, m->set.n, m->data.n, m->max_pfn);
    for (uint32_t t = 0; t < 8; t++)
        if (m->libxl_count[t]) {
            printf("%s\"libxl.%s\": %" PRIu64, sep, xlcp_stream_libxl_name(t), m->libxl_count[t]);
            sep = ", ";
        }
    for (uint32_t t = 0; t < 20; t++)
        if (m->libxc_count[t]) {
            printf("%s\"libxc.%s\": %" PRIu64, sep, xlcp_stream_libxc_name(t), m->libxc_count[t]);
            sep = ", ";
        }
    printf("%s\"optional\": %" PRIu64 "}}\n", sep, m->other_count);
}

static int cmd_summary(int argc, char **argv, int check_only)
{
    struct summary m;
    struct xlcp_stream_cbs cbs = {&m, sum_unit, sum_page};
    struct xlcp_stream_info info;
    struct xlcp_err err;
    int json = argc == 3 && strcmp(argv[1], "--json") == 0;
    const char *path;
    int fd, rc;

    if (argc != 2 + json || (check_only && json))
        return -1;
    path = argv[1 + json];
    memset(&m, 0, sizeof(m));
    if ((fd = open_in(path)) < 0)
        return 1;
    xlcp_err_clear(&err);
    rc = xlcp_stream_parse_fd(fd, NULL, check_only ? NULL : &cbs, &info, &err);
    close(fd);
    free(m.set.slot);
    free(m.data.slot);
    if (rc)
        return report(path, rc, &err);
    if (check_only)
        printf("%s: structure ok (%" PRIu64 " bytes)\n", path, info.bytes);
    else
        print_summary(&m, &info, json);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- list ------------------------------------------------------------------------------ */

static int list_unit(void *arg, const struct xlcp_stream_unit *u, struct xlcp_err *err)
{
    static const char *const kinds[] = {"xl", "libxl", "libxc", "libxl", "libxc"};
    const char *name = u->kind == XLCP_SU_LIBXL_RECORD   ? xlcp_stream_libxl_name(u->type)
                       : u->kind == XLCP_SU_LIBXC_RECORD ? xlcp_stream_libxc_name(u->type)
                                                         : "header";
    (void)arg;
    if (printf("%" PRIu64 " %s %s %" PRIu32 "\n", u->offset, kinds[u->kind], name, u->length) < 0)
        return xlcp_err_errno(err, errno, "writing the list");
    return 0;
}

static int cmd_list(int argc, char **argv)
{
    struct xlcp_stream_cbs cbs = {NULL, list_unit, NULL};
    struct xlcp_err err;
    int fd, rc;

    if (argc != 2)
        return -1;
    if ((fd = open_in(argv[1])) < 0)
        return 1;
    xlcp_err_clear(&err);
    rc = xlcp_stream_parse_fd(fd, NULL, &cbs, NULL, &err);
    close(fd);
    if (fflush(stdout) != 0 && rc == 0)
        rc = xlcp_err_errno(&err, errno, "writing the list");
    return rc ? report(argv[1], rc, &err) : 0;
}

/* ---- cut -------------------------------------------------------------------------------- */

struct cut {
    FILE *out;
    uint64_t records, pages; /* PAGE_DATA records to keep, pfns per record (0: all) */
    uint64_t seen;
};

static int put(struct cut *c, const void *p, size_t n, struct xlcp_err *err)
{
    if (n && fwrite(p, 1, n, c->out) != n)
        return xlcp_err_errno(err, errno, "writing the cut image");
    return 0;
}

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static int cut_unit(void *arg, const struct xlcp_stream_unit *u, struct xlcp_err *err)
{
    struct cut *c = arg;
    uint32_t count, keep, ndata = 0;
    uint8_t hdr[16];
    const uint8_t *pfn, *data;
    int rc;

    if (!(u->kind == XLCP_SU_LIBXC_RECORD && u->type == XLCP_LIBXC_PAGE_DATA))
        return put(c, u->raw, u->raw_len, err);
    if (c->seen++ >= c->records)
        return 0;
    count = (uint32_t)u->body[0] | (uint32_t)u->body[1] << 8 | (uint32_t)u->body[2] << 16 |
            (uint32_t)u->body[3] << 24;
    keep = c->pages && c->pages < count ? (uint32_t)c->pages : count;
    pfn = u->body + 8;
    for (uint32_t i = 0; i < keep; i++)
        ndata += (pfn[8 * i + 7] >> 4) < XLCP_PFINFO_BROKEN;
    le32(hdr, XLCP_LIBXC_PAGE_DATA);
    le32(hdr + 4, 8 + 8 * keep + XLCP_STREAM_PAGE_SIZE * ndata); /* a multiple of 8 */
    le32(hdr + 8, keep);
    le32(hdr + 12, 0);
    data = pfn + 8ull * count;
    if ((rc = put(c, hdr, sizeof(hdr), err)) != 0 || (rc = put(c, pfn, 8ull * keep, err)) != 0)
        return rc;
    return put(c, data, (size_t)XLCP_STREAM_PAGE_SIZE * ndata, err);
}

static int cmd_cut(int argc, char **argv)
{
    struct cut c = {NULL, 4, 0, 0};
    struct xlcp_stream_cbs cbs = {&c, cut_unit, NULL};
    struct xlcp_err err;
    int i, fd, rc;

    for (i = 1; i + 1 < argc && argv[i][0] == '-' && argv[i][1] == '-'; i += 2) {
        char *end;
        unsigned long long v = strtoull(argv[i + 1], &end, 10);
        if (*end || end == argv[i + 1])
            return -1;
        if (strcmp(argv[i], "--records") == 0)
            c.records = v;
        else if (strcmp(argv[i], "--pages") == 0)
            c.pages = v;
        else
            return -1;
    }
    if (argc - i != 2)
        return -1;
    if ((fd = open_in(argv[i])) < 0)
        return 1;
    c.out = strcmp(argv[i + 1], "-") == 0 ? stdout : fopen(argv[i + 1], "we");
    if (!c.out) {
        fprintf(stderr, "xlcp-stream: %s: %s\n", argv[i + 1], strerror(errno));
        close(fd);
        return 1;
    }
    xlcp_err_clear(&err);
    rc = xlcp_stream_parse_fd(fd, NULL, &cbs, NULL, &err);
    close(fd);
    if ((c.out == stdout ? fflush(c.out) : fclose(c.out)) != 0 && rc == 0)
        rc = xlcp_err_errno(&err, errno, "writing %s", argv[i + 1]);
    if (rc)
        return report(argv[i], rc, &err);
    return 0;
}

/* ---- the page store ------------------------------------------------------------------ */

static void print_bad(void *arg, const struct xlcp_ps_bad *b)
{
    (void)arg;
    printf("bad map %s pfn %#" PRIx64 " pack %016" PRIx64 ": %s\n", b->map ? b->map : "-", b->pfn,
           b->pack, b->why);
}

static int ps_run(struct xlcp_pagestore *ps, int argc, char **argv, struct xlcp_err *err)
{
    const char *cmd = argv[1];
    int fd, rc;

    if (strcmp(cmd, "store") == 0 && argc == 5) {
        struct xlcp_ps_stats s;
        if ((fd = open_in(argv[4])) < 0)
            return xlcp_err_set(err, XLCP_EIO, "cannot read %s", argv[4]);
        rc = xlcp_ps_store_fd(ps, argv[3], fd, &s, err);
        close(fd);
        if (rc == 0)
            printf("stream_bytes %" PRIu64 "\npages_received %" PRIu64 "\npfns %" PRIu64
                   "\npfns_data %" PRIu64 "\npages_new %" PRIu64 "\nbytes_stored %" PRIu64
                   "\nmap_bytes %" PRIu64 "\n",
                   s.stream_bytes, s.pages_received, s.pfns, s.pfns_data, s.pages_new,
                   s.bytes_stored, s.map_bytes);
        return rc;
    }
    if (strcmp(cmd, "rebuild") == 0 && argc == 5) {
        fd = strcmp(argv[4], "-") == 0
                 ? dup(1)
                 : open(argv[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
            return xlcp_err_errno(err, errno, "%s", argv[4]);
        rc = xlcp_ps_rebuild(ps, argv[3], fd, NULL, err);
        if (close(fd) != 0 && rc == 0)
            rc = xlcp_err_errno(err, errno, "closing %s", argv[4]);
        return rc;
    }
    if (strcmp(cmd, "verify") == 0 && argc == 3) {
        struct xlcp_ps_verify_stats s;
        rc = xlcp_ps_verify(ps, print_bad, NULL, &s, err);
        printf("packs %" PRIu64 "\npages %" PRIu64 "\nmaps %" PRIu64 "\npfns %" PRIu64
               "\nbad %" PRIu64 "\n",
               s.packs, s.pages, s.maps, s.pfns, s.bad);
        return rc;
    }
    if (strcmp(cmd, "release") == 0 && argc == 4)
        return xlcp_ps_release(ps, argv[3], err);
    if (strcmp(cmd, "gc") == 0 && argc == 3) {
        struct xlcp_ps_gc_stats s;
        if ((rc = xlcp_ps_gc(ps, &s, err)) == 0)
            printf("maps %" PRIu64 "\nlive_pages %" PRIu64 "\npages_copied %" PRIu64
                   "\nbytes_before %" PRIu64 "\nbytes_after %" PRIu64 "\n",
                   s.maps, s.live_pages, s.pages_copied, s.bytes_before, s.bytes_after);
        return rc;
    }
    if (strcmp(cmd, "list") == 0 && argc == 3) {
        char **names;
        size_t n;
        if ((rc = xlcp_ps_list(ps, &names, &n, err)) != 0)
            return rc;
        for (size_t i = 0; i < n; i++) {
            printf("%s\n", names[i]);
            free(names[i]);
        }
        free(names);
        return 0;
    }
    return -1;
}

static int cmd_ps(int argc, char **argv)
{
    struct xlcp_pagestore *ps;
    struct xlcp_err err;
    int rc;

    if (argc < 3)
        return -1;
    xlcp_err_clear(&err);
    if ((rc = xlcp_ps_open(argv[2], NULL, &ps, &err)) != 0)
        return report(argv[2], rc, &err);
    rc = ps_run(ps, argc, argv, &err);
    xlcp_ps_close(ps);
    if (rc > 0)
        return report(argv[2], rc, &err);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = -1;

    if (argc >= 2 && strcmp(argv[1], "summary") == 0)
        rc = cmd_summary(argc - 1, argv + 1, 0);
    else if (argc >= 2 && strcmp(argv[1], "check") == 0)
        rc = cmd_summary(argc - 1, argv + 1, 1);
    else if (argc >= 2 && strcmp(argv[1], "list") == 0)
        rc = cmd_list(argc - 1, argv + 1);
    else if (argc >= 2 && strcmp(argv[1], "cut") == 0)
        rc = cmd_cut(argc - 1, argv + 1);
    else if (argc >= 2 && strcmp(argv[1], "ps") == 0)
        rc = cmd_ps(argc - 1, argv + 1);
    if (rc < 0) {
        fprintf(stderr, "usage: xlcp-stream summary [--json] FILE|-\n"
                        "       xlcp-stream check FILE|-\n"
                        "       xlcp-stream list FILE|-\n"
                        "       xlcp-stream cut [--records N] [--pages M] IN OUT\n"
                        "       xlcp-stream ps store|rebuild DIR NAME FILE|-\n"
                        "       xlcp-stream ps verify|gc|list DIR\n"
                        "       xlcp-stream ps release DIR NAME\n");
        return 1;
    }
    return rc;
}
