/*
 * fuzz_stream.c - libFuzzer target for the memory-image parser (libxl-plugin/src/stream.h).
 * Each input is parsed twice: in one piece, and fed in uneven pieces (sizes from the input's
 * length) to a second parser. Both must reach the same verdict (an incremental parser
 * must not depend on how its input is cut), every error must be XLCP_ECORRUPT with a
 * message naming an offset, and every page and record body handed to the callbacks is read
 * in full (so AddressSanitizer sees any pointer past the buffer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

struct sink {
    uint64_t sum;
    uint64_t pages, units;
};

static int on_unit(void *arg, const struct xlcp_stream_unit *u, struct xlcp_err *err)
{
    struct sink *k = arg;
    (void)err;
    for (size_t i = 0; i < u->raw_len; i++)
        k->sum += u->raw[i];
    if (u->body && u->length && u->kind != XLCP_SU_XL_HEADER)
        k->sum += u->body[u->length - 1];
    k->units++;
    return 0;
}

static int on_page(void *arg, uint64_t pfn, unsigned int type, const uint8_t *data,
                   struct xlcp_err *err)
{
    struct sink *k = arg;
    (void)err;
    k->sum += pfn + type;
    if (data)
        for (size_t i = 0; i < XLCP_STREAM_PAGE_SIZE; i += 64)
            k->sum += data[i] + data[i + 63];
    k->pages++;
    return 0;
}

static int parse(const uint8_t *data, size_t size, size_t piece, struct sink *k,
                 struct xlcp_err *err)
{
    struct xlcp_stream_limits lim;
    struct xlcp_stream_cbs cbs = {k, on_unit, on_page};
    struct xlcp_stream *s;
    size_t off = 0;
    int rc;

    xlcp_stream_limits_default(&lim);
    lim.max_body = 1u << 20; /* keep the fuzzer's allocations small */
    if ((rc = xlcp_stream_new(&lim, &cbs, &s, err)) != 0)
        abort();
    while (rc == 0 && off < size) {
        size_t n = piece ? piece + (off % 7) : size - off;
        if (n > size - off)
            n = size - off;
        rc = xlcp_stream_feed(s, data + off, n, err);
        off += n;
    }
    if (rc == 0)
        rc = xlcp_stream_finish(s, err);
    xlcp_stream_free(s);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sink a = {0, 0, 0}, b = {0, 0, 0};
    struct xlcp_err ea, eb;
    int ra, rb;

    xlcp_err_clear(&ea);
    xlcp_err_clear(&eb);
    ra = parse(data, size, 0, &a, &ea);
    rb = parse(data, size, 1 + size % 61, &b, &eb);
    if (ra != rb || a.pages != b.pages || a.units != b.units || a.sum != b.sum ||
        strcmp(ea.msg, eb.msg) != 0) {
        fprintf(stderr, "verdicts differ: %d '%s' vs %d '%s'\n", ra, ea.msg, rb, eb.msg);
        abort();
    }
    if (ra != 0 && (ra != XLCP_ECORRUPT || strncmp(ea.msg, "offset ", 7) != 0)) {
        fprintf(stderr, "bad error: %d '%s'\n", ra, ea.msg);
        abort();
    }
    return 0;
}
