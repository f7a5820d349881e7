/* gapprobe.c - guest-side downtime probe for the nested tests (built static on the host by
 * tools/nested/run.sh, shipped in the guest initramfs as /usr/bin/xlcp-gapprobe).
 *
 * Wakes up every 10 ms and reads CLOCK_BOOTTIME (which, unlike CLOCK_MONOTONIC, includes
 * time the guest spent suspended); appends one line per gap between two readings longer
 * than the threshold to a log file (it sleeps rather than spins, to leave the vCPU to the
 * guest's other work and the emulated machine's time to dom0):
 *     <boottime seconds at the end of the gap> <gap in ms>
 * and keeps the largest gap of all (below the threshold too) in <log>.max.
 * Usage: xlcp-gapprobe LOG [THRESHOLD_MS [fifo]]
 * With "fifo" it runs SCHED_FIFO with its memory locked (the guest's busy processes then
 * cannot hide its clock), or exits 3 saying why.
 * Under emulation, gaps of a few hundred ms happen with nothing going on (vCPU
 * descheduled): report the noise floor beside any figure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s LOG [THRESHOLD_MS]\n", argv[0]);
        return 2;
    }
    double threshold = (argc > 2 ? atof(argv[2]) : 100.0) / 1000.0;
    if (argc > 3 && strcmp(argv[3], "fifo") == 0) {
        struct sched_param sp = {.sched_priority = 50};
        if (sched_setscheduler(0, SCHED_FIFO, &sp) != 0 ||
            mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
            fprintf(stderr, "%s: cannot run SCHED_FIFO with locked memory: %s\n", argv[0],
                    strerror(errno));
            return 3;
        }
    }
    char maxpath[4096];
    snprintf(maxpath, sizeof maxpath, "%s.max", argv[1]);
    double max = 0.0;
    double prev = now_s();
    const struct timespec tick = {0, 10 * 1000 * 1000};
    for (;;) {
        nanosleep(&tick, NULL);
        double t = now_s();
        double gap = t - prev;
        prev = t;
        FILE *f;
        /* the largest gap of all, also below the threshold: a noise floor under it */
        if (gap > max) {
            max = gap;
            f = fopen(maxpath, "w");
            if (f) {
                fprintf(f, "%.1f\n", max * 1000.0);
                fclose(f);
            }
        }
        if (gap < threshold)
            continue;
        f = fopen(argv[1], "a");
        if (f) {
            fprintf(f, "%.3f %.1f\n", t, gap * 1000.0);
            fclose(f);
        }
    }
}
