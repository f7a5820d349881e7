/*
 * image.c - digests a memory image behind its writer, in a thread. See image.h. The
 * thread reads what the file holds beyond what it has digested, sleeps a little when it
 * has caught up, and starts write-back every few megabytes (sync_file_range), so that
 * the fsync of the commit finds little left to do.
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#define CHUNK (1u << 20)
#define WRITEBACK_EVERY (8u << 20)

struct xlcp_image_follower {
    pthread_t thread;
    int fd;
    EVP_MD_CTX *md;
    unsigned char *buf;
    atomic_int done;    /* the writer has finished: read to the end, then stop */
    atomic_int cancel;  /* stop now */
    uint64_t off;       /* digested up to here */
    uint64_t synced_to; /* write-back started up to here */
    int rc;             /* first error */
    struct xlcp_err err;
};

static void nap(void)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

static void *follow_main(void *arg)
{
    struct xlcp_image_follower *f = arg;

    while (!atomic_load(&f->cancel)) {
        /* read `done` before reading: after it is set, the file is complete */
        int last = atomic_load(&f->done);
        ssize_t n = pread(f->fd, f->buf, CHUNK, (off_t)f->off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            f->rc = xlcp_err_errno(&f->err, errno, "reading back the memory image");
            break;
        }
        if (n == 0) {
            if (last)
                break;
            nap();
            continue;
        }
        if (EVP_DigestUpdate(f->md, f->buf, (size_t)n) != 1) {
            f->rc = xlcp_err_set(&f->err, XLCP_EINTERNAL, "digest update failed");
            break;
        }
        f->off += (uint64_t)n;
        if (f->off - f->synced_to >= WRITEBACK_EVERY) {
            /* start write-back of what is digested; do not wait for it */
            sync_file_range(f->fd, (off_t)f->synced_to, (off_t)(f->off - f->synced_to),
                            SYNC_FILE_RANGE_WRITE);
            f->synced_to = f->off;
        }
    }
    return NULL;
}

static void follower_free(struct xlcp_image_follower *f)
{
    EVP_MD_CTX_free(f->md);
    free(f->buf);
    free(f);
}

int xlcp_image_follow_start(int file_fd, const char *alg, struct xlcp_image_follower **out,
                            struct xlcp_err *err)
{
    const EVP_MD *md_type = xlcp_digest_md(alg);
    struct xlcp_image_follower *f = calloc(1, sizeof(*f));

    *out = NULL;
    if (!f)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    f->buf = malloc(CHUNK);
    f->md = EVP_MD_CTX_new();
    f->fd = file_fd;
    atomic_init(&f->done, 0);
    atomic_init(&f->cancel, 0);
    xlcp_err_clear(&f->err);
    if (!md_type || !f->buf || !f->md || EVP_DigestInit_ex(f->md, md_type, NULL) != 1) {
        follower_free(f);
        return xlcp_err_set(err, XLCP_EINTERNAL, "cannot start digest %s", alg ? alg : "?");
    }
    if (pthread_create(&f->thread, NULL, follow_main, f) != 0) {
        follower_free(f);
        return xlcp_err_set(err, XLCP_EINTERNAL, "cannot start the image digest thread");
    }
    *out = f;
    return 0;
}

int xlcp_image_follow_finish(struct xlcp_image_follower *f, char hex_out[XLCP_DIGEST_HEX + 1],
                             uint64_t *bytes, struct xlcp_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc;

    if (!f)
        return xlcp_err_set(err, XLCP_EINTERNAL, "no image digest under way");
    atomic_store(&f->done, 1);
    pthread_join(f->thread, NULL);
    rc = f->rc;
    if (rc)
        *err = f->err;
    if (rc == 0 && EVP_DigestFinal_ex(f->md, md, &mdlen) != 1)
        rc = xlcp_err_set(err, XLCP_EINTERNAL, "digest final failed");
    if (rc == 0) {
        for (unsigned i = 0; i < mdlen && i * 2 < XLCP_DIGEST_HEX; i++)
            snprintf(hex_out + i * 2, 3, "%02x", md[i]);
        if (bytes)
            *bytes = f->off;
    }
    follower_free(f);
    return rc;
}

void xlcp_image_follow_cancel(struct xlcp_image_follower *f)
{
    if (!f)
        return;
    atomic_store(&f->cancel, 1);
    pthread_join(f->thread, NULL);
    follower_free(f);
}
