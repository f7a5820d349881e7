/* dirtier.c - guest-side memory dirtier for the benchmarks (built static on the host by
 * tools/nested/run.sh, shipped in the guest initramfs as /usr/bin/xlcp-dirtier).
 *
 * Keeps a buffer of SIZE MiB and writes one byte in each of its pages at a steady rate of
 * RATE MiB/s (in 10 ms slices), round and round, so that a live memory copy always finds
 * pages dirtied since its last pass. Usage: xlcp-dirtier SIZE_MIB RATE_MIB_PER_S
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PAGE 4096u

int main(int argc, char **argv)
{
    size_t size, pages, per_slice, at = 0;
    unsigned char *buf;
    struct timespec next;
    unsigned char v = 1;

    if (argc < 3) {
        fprintf(stderr, "usage: %s SIZE_MIB RATE_MIB_PER_S\n", argv[0]);
        return 2;
    }
    size = strtoul(argv[1], NULL, 10) << 20;
    pages = size / PAGE;
    per_slice = (strtoul(argv[2], NULL, 10) << 20) / PAGE / 100;
    if (pages == 0 || per_slice == 0) {
        fprintf(stderr, "%s: size and rate must be at least 1\n", argv[0]);
        return 2;
    }
    buf = malloc(size);
    if (!buf) {
        perror("malloc");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (;;) {
        for (size_t i = 0; i < per_slice; i++) {
            buf[at * PAGE] = v;
            if (++at == pages) {
                at = 0;
                v++;
            }
        }
        next.tv_nsec += 10000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
}
