/* iowprobe.c - guest-side disk write-stall probe for the benchmarks (built static on the
 * host by tools/nested/run.sh, shipped in the guest initramfs as /usr/bin/xlcp-iowprobe).
 *
 * Every 10 ms writes one 4 KiB block with O_DIRECT (no page cache: the write completes
 * only when the back end has it) to DEVICE, at offsets going round the device's first
 * MiB, and times each write with CLOCK_BOOTTIME (time the guest spent stopped counts).
 * Appends one line per write that took longer than the threshold to LOG:
 *     <boottime seconds at the write's end> <its duration in ms>
 * and keeps in LOG.max the longest write of all (below the threshold too) and how many
 * writes completed: "<ms> <count>" (the count with a ".0"). A write that fails ends the
 * probe (exit 4; LOG.err says "<errno> <bytes written>"): no figure is taken from it.
 * Usage: xlcp-iowprobe DEVICE LOG [THRESHOLD_MS [fifo]]
 * With "fifo" it runs SCHED_FIFO with its memory locked (busy processes in the guest then
 * do not delay its clock readings), or exits 3 saying why.
 * The device's first MiB is overwritten: use it only on a scratch disk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define SPAN (1024 * 1024)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* writes "A B" (A with the given decimals, B with one) into PATH, opened with MODE */
static void put(const char *path, const char *mode, int decimals, double a, double b)
{
    FILE *f = fopen(path, mode);
    if (f) {
        fprintf(f, "%.*f %.1f\n", decimals, a, b);
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DEVICE LOG [THRESHOLD_MS [fifo]]\n", argv[0]);
        return 2;
    }
    double threshold = (argc > 3 ? atof(argv[3]) : 100.0) / 1000.0;
    if (argc > 4 && strcmp(argv[4], "fifo") == 0) {
        struct sched_param sp = {.sched_priority = 50};
        if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0 ||
            mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
            fprintf(stderr, "%s: cannot run SCHED_FIFO with locked memory: %s\n", argv[0],
                    strerror(errno));
            return 3;
        }
    }
    char maxpath[4096], errpath[4096];
    snprintf(maxpath, sizeof maxpath, "%s.max", argv[2]);
    snprintf(errpath, sizeof errpath, "%s.err", argv[2]);
    int fd = open(argv[1], O_WRONLY | O_DIRECT);
    if (fd < 0) {
        put(errpath, "w", 0, (double)errno, 0.0); /* "ERRNO 0" */
        return 4;
    }
    void *buf;
    if (posix_memalign(&buf, BLOCK, BLOCK) != 0)
        return 4;
    memset(buf, 0x5a, BLOCK);
    double max = 0.0;
    long count = 0;
    off_t off = 0;
    const struct timespec tick = {0, 10 * 1000 * 1000};
    for (;;) {
        nanosleep(&tick, NULL);
        double t0 = now_s();
        ssize_t n = pwrite(fd, buf, BLOCK, off);
        double t1 = now_s();
        if (n != BLOCK) {
            put(errpath, "w", 0, (double)errno, (double)n); /* "ERRNO BYTES" */
            return 4;
        }
        off = (off + BLOCK) % SPAN;
        count++;
        double d = t1 - t0;
        /* the count is rewritten now and then, the maximum whenever it grows */
        if (d > max || count % 100 == 0) {
            if (d > max)
                max = d;
            put(maxpath, "w", 1, max * 1000.0, (double)count);
        }
        if (d >= threshold)
            put(argv[2], "a", 3, t1, d * 1000.0);
    }
}
