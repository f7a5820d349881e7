/*
 * image.c - the memory image's sink: a thread drains the pipe the save stream is written
 * into, digests it and writes it into the image file in aligned blocks, with O_DIRECT
 * where the file system has it (else buffered, with write-back started as it goes).
 * See image.h for why.
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (4u << 20)           /* what the thread writes at once */
#define ALIGN 4096u                /* O_DIRECT: buffer, offset and length */
#define PIPE_BYTES (16u << 20)     /* the writer goes on while a block is written; */
#define PIPE_BYTES_MIN (1u << 20)  /* without CAP_SYS_RESOURCE, pipe-max-size is the limit */
#define WRITEBACK_EVERY (8u << 20) /* buffered writes: start write-back this often */

struct xlcp_image_sink {
    pthread_t thread;
    int file_fd;
    int file_flags; /* as given, restored at the end */
    int rd, wr;     /* the pipe; wr is -1 once closed */
    int direct;     /* writing with O_DIRECT */
    struct xlcp_digest *digest;
    unsigned char *buf;
    atomic_int cancel;
    atomic_int failed;  /* err holds the first error (set before this) */
    uint64_t received;  /* bytes of the stream */
    uint64_t written;   /* bytes in the file */
    uint64_t synced_to; /* buffered: write-back started up to here */
    struct xlcp_err err;
};

static void fail(struct xlcp_image_sink *s, int errnum, const char *what)
{
    if (atomic_load(&s->failed))
        return;
    if (errnum == ENOSPC || errnum == EDQUOT)
        xlcp_err_set(&s->err, XLCP_ENOSPC,
                     "the catalog's file system filled up while the memory image was written "
                     "(%" PRIu64 " bytes written)",
                     s->written);
    else
        xlcp_err_errno(&s->err, errnum, "%s the memory image at byte %" PRIu64, what, s->written);
    atomic_store(&s->failed, 1);
}

static void direct_off(struct xlcp_image_sink *s)
{
    if (s->direct && fcntl(s->file_fd, F_SETFL, s->file_flags & ~O_DIRECT) == 0)
        s->direct = 0;
}

/* Reads up to BLOCK bytes from the pipe, fewer only at its end (*eof). -1: cancelled or
 * the pipe failed. */
static ssize_t fill(struct xlcp_image_sink *s, int *eof)
{
    size_t got = 0;

    while (got < BLOCK) {
        struct pollfd p = {.fd = s->rd, .events = POLLIN};
        ssize_t n;

        if (atomic_load(&s->cancel))
            return -1;
        n = poll(&p, 1, 200);
        if (n == 0 || (n < 0 && errno == EINTR))
            continue;
        if (n < 0) {
            fail(s, errno, "reading");
            return -1;
        }
        n = read(s->rd, s->buf + got, BLOCK - got);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n < 0) {
            fail(s, errno, "reading");
            return -1;
        }
        if (n == 0) {
            *eof = 1;
            break;
        }
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Writes buf[0..len) at the end of the file. Only the last block may be partial: it is
 * written without O_DIRECT. */
static void put(struct xlcp_image_sink *s, size_t len)
{
    const unsigned char *p = s->buf;
    size_t left = len;

    if (len % ALIGN)
        direct_off(s);
    while (left > 0) {
        ssize_t n = pwrite(s->file_fd, p, left, (off_t)s->written);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EINVAL && s->direct) {
            direct_off(s); /* a file system that takes the flag but not the write */
            if (!s->direct)
                continue;
        }
        if (n <= 0) {
            fail(s, n < 0 ? errno : EIO, "writing");
            return;
        }
        if ((size_t)n < left)
            direct_off(s); /* the rest is no longer aligned */
        p += n;
        left -= (size_t)n;
        s->written += (uint64_t)n;
    }
    if (!s->direct && s->written - s->synced_to >= WRITEBACK_EVERY) {
        sync_file_range(s->file_fd, (off_t)s->synced_to, (off_t)(s->written - s->synced_to),
                        SYNC_FILE_RANGE_WRITE);
        s->synced_to = s->written;
    }
}

static void *sink_main(void *arg)
{
    struct xlcp_image_sink *s = arg;

    pthread_setname_np(pthread_self(), "xlcp-sink"); /* for top -H */
    int eof = 0;

    while (!eof) {
        ssize_t got = fill(s, &eof);

        if (got < 0)
            break;
        s->received += (uint64_t)got;
        /* after a write error: keep draining, so that the writer ends normally */
        if (got > 0 && !atomic_load(&s->failed)) {
            xlcp_digest_update(s->digest, s->buf, (size_t)got);
            put(s, (size_t)got);
        }
    }
    return NULL;
}

static void sink_free(struct xlcp_image_sink *s)
{
    if (s->wr >= 0)
        close(s->wr);
    close(s->rd);
    direct_off(s);
    xlcp_digest_free(s->digest);
    free(s->buf);
    free(s);
}

int xlcp_image_sink_start(int file_fd, const char *alg, struct xlcp_image_sink **out, int *write_fd,
                          struct xlcp_err *err)
{
    struct xlcp_image_sink *s = calloc(1, sizeof(*s));
    int p[2];

    *out = NULL;
    *write_fd = -1;
    if (!s)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    s->file_fd = file_fd;
    s->file_flags = fcntl(file_fd, F_GETFL);
    if (s->file_flags < 0) {
        int rc = xlcp_err_errno(err, errno, "memory image file");
        free(s);
        return rc;
    }
    if (pipe2(p, O_CLOEXEC) != 0) {
        int rc = xlcp_err_errno(err, errno, "cannot make a pipe for the memory image");
        free(s);
        return rc;
    }
    s->rd = p[0];
    s->wr = p[1];
    if (fcntl(s->wr, F_SETPIPE_SZ, (int)PIPE_BYTES) < 0) /* best effort */
        (void)fcntl(s->wr, F_SETPIPE_SZ, (int)PIPE_BYTES_MIN);
    s->digest = xlcp_digest_new(alg, err);
    s->buf = aligned_alloc(ALIGN, BLOCK);
    if (!s->digest || !s->buf) {
        int rc = s->digest ? xlcp_err_set(err, XLCP_EINTERNAL, "out of memory") : err->code;
        sink_free(s);
        return rc;
    }
    s->direct = fcntl(file_fd, F_SETFL, s->file_flags | O_DIRECT) == 0;
    atomic_init(&s->cancel, 0);
    atomic_init(&s->failed, 0);
    xlcp_err_clear(&s->err);
    if (pthread_create(&s->thread, NULL, sink_main, s) != 0) {
        sink_free(s);
        return xlcp_err_set(err, XLCP_EINTERNAL, "cannot start the memory image thread");
    }
    *write_fd = s->wr;
    *out = s;
    return 0;
}

void xlcp_image_sink_writer_done(struct xlcp_image_sink *s)
{
    if (s && s->wr >= 0) {
        close(s->wr);
        s->wr = -1;
    }
}

int xlcp_image_sink_error(struct xlcp_image_sink *s, struct xlcp_err *err)
{
    if (!atomic_load(&s->failed))
        return 0;
    *err = s->err;
    return err->code;
}

int xlcp_image_sink_finish(struct xlcp_image_sink *s, char hex_out[XLCP_DIGEST_HEX + 1],
                           uint64_t *bytes, struct xlcp_err *err)
{
    int rc;

    xlcp_image_sink_writer_done(s);
    pthread_join(s->thread, NULL);
    rc = xlcp_image_sink_error(s, err);
    if (rc == 0) {
        rc = xlcp_digest_final(s->digest, hex_out, err);
        s->digest = NULL; /* final frees it */
        *bytes = s->received;
    }
    sink_free(s);
    return rc;
}

void xlcp_image_sink_cancel(struct xlcp_image_sink *s)
{
    if (!s)
        return;
    xlcp_image_sink_writer_done(s);
    atomic_store(&s->cancel, 1);
    pthread_join(s->thread, NULL);
    sink_free(s);
}
