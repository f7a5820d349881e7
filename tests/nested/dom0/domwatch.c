/* domwatch.c - dom0-side stop watcher for the benchmarks and tests (built on the host by
 * tools/nested/run.sh against libxenctrl, the same Xen as nested dom0's; shipped on the
 * payload as bin/xlcp-domwatch). A test tool: the product reaches Xen only through its
 * adapter (libxl-plugin/src/hv_xen.c).
 *
 * Polls Xen's view of one domain every INTERVAL_US (default 2000) and reports each
 * interval in which Xen said the domain was stopped: paused (xl pause, libxc) or shut
 * down for suspend (xl save, xl save -c, xl checkpoint create), until it ran again.
 * The same measure for every method: from Xen's first "stopped" reading to its first
 * "runs" reading (resolution: the poll interval plus a hypercall).
 * Prints on stdout, one line per interval, as it ends:
 *     stop <ms> <flags at the start: p = paused, s = shut down (suspend)> <start>
 * where <start> is the instant of the first "stopped" reading, in ms of dom0's
 * CLOCK_MONOTONIC (one clock for every watcher: b30 compares the members' stop instants).
 * On SIGTERM/SIGINT prints "open <ms> <flags> <start>" for an interval still running, then
 * "end <polls>" and exits 0; "gone" and exit 0 when the domain went away (saved,
 * destroyed); exit 1 when Xen cannot be asked at all.
 * Usage: xlcp-domwatch DOMID [INTERVAL_US]
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <xenctrl.h>

static volatile sig_atomic_t stop_asked;

static void on_signal(int sig)
{
    (void)sig;
    stop_asked = 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DOMID [INTERVAL_US]\n", argv[0]);
        return 2;
    }
    uint32_t domid = (uint32_t)strtoul(argv[1], NULL, 10);
    long interval_us = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
    if (interval_us < 100)
        interval_us = 100;
    xc_interface *xch = xc_interface_open(NULL, NULL, 0);
    if (!xch) {
        fprintf(stderr, "%s: cannot open libxenctrl\n", argv[0]);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return 1;
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct timespec tick = {0, interval_us * 1000};
    double since = 0.0;
    char flags[3] = "";
    long polls = 0;
    int stopped = 0;
    while (!stop_asked) {
        xc_dominfo_t info;
        int n = xc_domain_getinfo(xch, domid, 1, &info);
        double t = now_ms();
        polls++;
        if (n != 1 || info.domid != domid || info.dying) {
            if (stopped)
                printf("open %.1f %s %.1f\n", t - since, flags, since);
            printf("gone\n");
            xc_interface_close(xch);
            return 0;
        }
        int down = info.paused || (info.shutdown && info.shutdown_reason == SHUTDOWN_suspend);
        if (down && !stopped) {
            stopped = 1;
            since = t;
            snprintf(flags, sizeof flags, "%s%s", info.paused ? "p" : "", info.shutdown ? "s" : "");
        } else if (!down && stopped) {
            stopped = 0;
            printf("stop %.1f %s %.1f\n", t - since, flags, since);
        }
        nanosleep(&tick, NULL);
    }
    if (stopped)
        printf("open %.1f %s %.1f\n", now_ms() - since, flags, since);
    printf("end %ld\n", polls);
    xc_interface_close(xch);
    return 0;
}
