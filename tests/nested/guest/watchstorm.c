/* watchstorm.c - guest-side xenstore watch storm for the light-suspend deadlock test
 * (tests/nested/t56-watch-storm.sh; built static on the host by tools/nested/run.sh,
 * shipped in the guest initramfs as /usr/bin/xlcp-watchstorm).
 *
 * Forks NPROC processes; each opens /dev/xen/xenbus and registers and removes a watch in
 * a tight loop (XS_WATCH, XS_UNWATCH: in the kernel, register_xenbus_watch and
 * unregister_xenbus_watch, which hold the watch rwsem that a suspend takes for write).
 * Every 20 round trips each writes its count to DIR/storm.N, so a test can see that
 * watch registrations still progress. Runs until killed.
 * Usage: xlcp-watchstorm NPROC DIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* xen/io/xs_wire.h */
struct xsd_sockmsg {
    uint32_t type, req_id, tx_id, len;
};
enum { XS_WATCH = 4, XS_UNWATCH = 5, XS_WATCH_EVENT = 15, XS_ERROR = 16 };

static int full(int fd, void *buf, size_t n, int rd)
{
    char *p = buf;

    while (n > 0) {
        ssize_t k = rd ? read(fd, p, n) : write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Sends a request and reads messages until its answer (skipping watch events). */
static int request(int fd, uint32_t type, const char *path, const char *token, uint32_t id)
{
    char msg[sizeof(struct xsd_sockmsg) + 256], body[4096];
    struct xsd_sockmsg h = {type, id, 0, 0};
    size_t pl = strlen(path) + 1, tl = strlen(token) + 1;

    h.len = (uint32_t)(pl + tl);
    memcpy(msg, &h, sizeof(h));
    memcpy(msg + sizeof(h), path, pl);
    memcpy(msg + sizeof(h) + pl, token, tl);
    if (full(fd, msg, sizeof(h) + h.len, 0))
        return -1;
    for (;;) {
        struct xsd_sockmsg r;
        if (full(fd, &r, sizeof(r), 1) || r.len > sizeof(body) || full(fd, body, r.len, 1))
            return -1;
        if (r.type == XS_WATCH_EVENT)
            continue;
        return r.type == type ? 0 : 1; /* XS_ERROR counts as answered */
    }
}

static void storm(int k, const char *dir)
{
    char path[64], token[64], out[256], cnt[32];
    unsigned long n = 0, errs = 0;
    int fd = open("/dev/xen/xenbus", O_RDWR);

    if (fd < 0) {
        perror("/dev/xen/xenbus");
        exit(1);
    }
    snprintf(path, sizeof(path), "data/xlcp-storm/%d", k);
    snprintf(out, sizeof(out), "%s/storm.%d", dir, k);
    for (uint32_t id = 1;; id += 2) {
        snprintf(token, sizeof(token), "s%d-%u", k, id);
        int a = request(fd, XS_WATCH, path, token, id);
        int b = request(fd, XS_UNWATCH, path, token, id + 1);
        if (a < 0 || b < 0) {
            fprintf(stderr, "watchstorm %d: xenbus device failed: %s\n", k, strerror(errno));
            exit(1);
        }
        errs += (unsigned long)(a + b);
        if (++n % 20 == 0) {
            int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (o >= 0) {
                int l = snprintf(cnt, sizeof(cnt), "%lu %lu\n", n, errs);
                if (write(o, cnt, (size_t)l) < 0)
                    perror(out);
                close(o);
            }
        }
    }
}

int main(int argc, char **argv)
{
    int nproc;

    if (argc < 3 || (nproc = atoi(argv[1])) < 1 || nproc > 64) {
        fprintf(stderr, "usage: %s NPROC DIR\n", argv[0]);
        return 2;
    }
    for (int k = 0; k < nproc; k++) {
        pid_t p = fork();
        if (p < 0) {
            perror("fork");
            return 1;
        }
        if (p == 0) {
            storm(k, argv[2]);
            return 0;
        }
    }
    while (wait(NULL) > 0)
        ;
    return 0;
}
