/*
 * test_image.c - the memory image's sink (libxl-plugin/src/image.c): what a writer puts
 * into its pipe arrives whole in the file (aligned blocks and a partial tail), with the
 * digest of exactly those bytes; a file that cannot take the data gives a clear error
 * while the writer still runs to its end (the pipe is drained, never left full); a
 * cancelled sink stops even while a writer still holds the pipe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image.h"

struct writer {
    pthread_t thread;
    int fd;
    size_t len;
    size_t written;
    int failed;
};

static unsigned char byte_at(size_t i)
{
    return (unsigned char)((i * 2654435761u) >> 13);
}

/* Writes len bytes in uneven pieces, as a save stream does (headers, then pages). */
static void *write_main(void *arg)
{
    struct writer *w = arg;
    unsigned char buf[70001];

    while (w->written < w->len) {
        size_t n = 1 + (w->written * 7919u) % sizeof(buf);
        ssize_t k;
        if (n > w->len - w->written)
            n = w->len - w->written;
        for (size_t i = 0; i < n; i++)
            buf[i] = byte_at(w->written + i);
        k = write(w->fd, buf, n);
        if (k <= 0) {
            w->failed = 1;
            break;
        }
        w->written += (size_t)k;
    }
    return NULL;
}

static void start_writer(struct writer *w, int fd, size_t len)
{
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->len = len;
    assert_int_equal(pthread_create(&w->thread, NULL, write_main, w), 0);
}

/* 9 MiB and a ragged tail: two whole blocks, then a partial one. */
static void test_sink_whole(void **state)
{
    const size_t len = (9u << 20) + 12345;
    char path[] = "/var/tmp/xlcp-sink-XXXXXX";
    char hex[XLCP_DIGEST_HEX + 1], want[XLCP_DIGEST_HEX + 1];
    struct xlcp_image_sink *s;
    struct xlcp_err err;
    struct writer w;
    struct stat st;
    uint64_t bytes = 0, n = 0;
    unsigned char *back = malloc(len);
    int fd = mkstemp(path), wfd = -1, flags;

    (void)state;
    assert_true(fd >= 0);
    flags = fcntl(fd, F_GETFL);
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_image_sink_start(fd, XLCP_DIGEST_DEFAULT, &s, &wfd, &err), 0);
    assert_true(wfd >= 0);
    start_writer(&w, wfd, len);
    pthread_join(w.thread, NULL);
    assert_int_equal(w.failed, 0);
    xlcp_image_sink_writer_done(s);
    assert_int_equal(xlcp_image_sink_error(s, &err), 0);
    assert_int_equal(xlcp_image_sink_finish(s, hex, &bytes, &err), 0);
    assert_int_equal(bytes, len);
    assert_int_equal(fcntl(fd, F_GETFL), flags); /* O_DIRECT taken off again */

    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal((size_t)st.st_size, len);
    assert_non_null(back);
    assert_int_equal(pread(fd, back, len, 0), (ssize_t)len);
    for (size_t i = 0; i < len; i++)
        if (back[i] != byte_at(i))
            fail_msg("byte %zu differs", i);
    assert_int_equal(xlcp_digest_fd(fd, XLCP_DIGEST_DEFAULT, want, &n, &err), 0);
    assert_string_equal(hex, want);
    free(back);
    close(fd);
    unlink(path);
}

/* A file system with no room: the writer still gets rid of everything, the sink says
 * the catalog filled up. */
static void test_sink_full(void **state)
{
    const size_t len = 6u << 20;
    char hex[XLCP_DIGEST_HEX + 1];
    struct xlcp_image_sink *s;
    struct xlcp_err err;
    struct writer w;
    uint64_t bytes = 0;
    int fd = open("/dev/full", O_WRONLY | O_CLOEXEC), wfd = -1;

    (void)state;
    if (fd < 0)
        skip();
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_image_sink_start(fd, XLCP_DIGEST_DEFAULT, &s, &wfd, &err), 0);
    start_writer(&w, wfd, len);
    pthread_join(w.thread, NULL);
    assert_int_equal(w.failed, 0);
    assert_int_equal(w.written, len);
    assert_int_equal(xlcp_image_sink_error(s, &err), XLCP_ENOSPC);
    assert_non_null(strstr(err.msg, "filled up"));
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_image_sink_finish(s, hex, &bytes, &err), XLCP_ENOSPC);
    assert_non_null(strstr(err.msg, "memory image"));
    close(fd);
}

/* Cancel while someone still holds the pipe open (the writer never closes it): cancel
 * returns at once (it does not wait for an EOF that never comes), and the sink has let
 * go of the pipe (a write into it now fails with EPIPE: no reader is left) and of the
 * file (nothing more is written into it). */
static void test_sink_cancel(void **state)
{
    char path[] = "/var/tmp/xlcp-sink-XXXXXX";
    struct xlcp_image_sink *s;
    struct xlcp_err err;
    struct timespec t0, t1;
    struct stat st;
    int fd = mkstemp(path), wfd = -1, held;

    (void)state;
    assert_true(fd >= 0);
    assert_true(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_image_sink_start(fd, XLCP_DIGEST_DEFAULT, &s, &wfd, &err), 0);
    held = dup(wfd);
    assert_true(held >= 0);
    assert_int_equal(write(held, "abc", 3), 3);
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
    xlcp_image_sink_cancel(s);
    assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
    /* the thread polls for cancellation: well under a second, not the test's time limit */
    assert_true((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < 1000000000L);
    errno = 0;
    assert_int_equal(write(held, "def", 3), -1);
    assert_int_equal(errno, EPIPE);
    /* a partial block is never written: the file stays empty */
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_true(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
    close(held);
    close(fd);
    unlink(path);
}

static void test_sink_bad_alg(void **state)
{
    struct xlcp_image_sink *s = NULL;
    struct xlcp_err err;
    int wfd = -1;

    (void)state;
    xlcp_err_clear(&err);
    assert_int_equal(xlcp_image_sink_start(1, "md5", &s, &wfd, &err), XLCP_ECORRUPT);
    assert_null(s);
    assert_int_equal(wfd, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_whole),
        cmocka_unit_test(test_sink_full),
        cmocka_unit_test(test_sink_cancel),
        cmocka_unit_test(test_sink_bad_alg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
