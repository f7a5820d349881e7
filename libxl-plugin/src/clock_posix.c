/*
 * clock_posix.c - the real clock port (CLOCK_MONOTONIC, CLOCK_REALTIME, nanosleep), and
 * the names of domain states.
 */
#include "ports.h"

#include <time.h>

static uint64_t mono(void *self)
{
    struct timespec ts;
    (void)self;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t wall(void *self)
{
    struct timespec ts;
    (void)self;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void snooze(void *self, uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    (void)self;
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static const struct xlcp_clock_ops posix_ops = {mono, wall, snooze};

void xlcp_clock_posix(struct xlcp_clock *out)
{
    out->ops = &posix_ops;
    out->self = NULL;
}

const char *xlcp_domstate_name(enum xlcp_domstate s)
{
    switch (s) {
    case XLCP_DOM_RUNNING:
        return "running";
    case XLCP_DOM_PAUSED:
        return "paused";
    case XLCP_DOM_SUSPENDED:
        return "suspended";
    case XLCP_DOM_CRASHED:
        return "crashed";
    case XLCP_DOM_SHUTDOWN:
        return "shut down";
    }
    return "unknown";
}
