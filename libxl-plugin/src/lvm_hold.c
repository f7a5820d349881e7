/*
 * lvm_hold.c - holds: an origin's writes held back (device-mapper suspend) from a
 * snapshot's capture to its completion (the phases are told in ports.h).
 *
 * Three things are checked here at run time rather than assumed:
 *   - a suspend finishes within its limit (lvm->suspend_limit_ms): it waits for the
 *     writes under way, which never finish on a thin pool out of space or a device that
 *     queues I/O. It runs in a thread; past the limit the capture fails with the cause,
 *     and the thread resumes the device as soon as its suspend completes after all;
 *   - writes are not held longer than lvm->hold_limit_ms from the capture: past it the
 *     completion fails and the writes flow (xlcp_lvm_hold_left);
 *   - the hold is intact when the snapshot is finished: the origin is still suspended and
 *     no write or discard completed on it since the capture (its block-layer counters).
 *     Anything that released the hold meanwhile (a `dmsetup resume`, an LVM command
 *     reloading the origin) shows there, and the checkpoint fails instead of holding a
 *     later instant (xlcp_lvm_hold_check).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "lvm.h"

static atomic_int late_outstanding;

struct late_suspend {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, abandoned, rc;
    struct xlcp_err err;
    dev_t dev;
    const struct xlcp_dm_ops *dm;
};

static void late_free(struct late_suspend *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void *suspend_thread(void *arg)
{
    struct late_suspend *s = arg;
    struct xlcp_err e;
    int rc, abandoned;

    xlcp_err_clear(&e);
    rc = s->dm->suspend(s->dev, &e);
    pthread_mutex_lock(&s->mu);
    s->done = 1;
    s->rc = rc;
    s->err = e;
    abandoned = s->abandoned;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (abandoned) {
        /* nobody waits for this suspend any more: let the writes flow at once (the
         * guardian still lists the device, should we die first) */
        if (rc == 0 && s->dm->resume(s->dev, &e) != 0)
            fprintf(stderr, "xl-checkpoint: late suspend of %u:%u not undone: %s\n", major(s->dev),
                    minor(s->dev), e.msg);
        atomic_fetch_sub(&late_outstanding, 1);
        late_free(s);
    }
    return NULL;
}

int xlcp_lvm_late_suspends(void)
{
    return atomic_load(&late_outstanding);
}

/* The suspend, given limit_ms to finish. */
static int suspend_within(const struct xlcp_dm_ops *dm, dev_t dev, unsigned limit_ms,
                          struct xlcp_err *err)
{
    struct late_suspend *s = calloc(1, sizeof(*s));
    pthread_condattr_t ca;
    pthread_attr_t ta;
    pthread_t th;
    struct timespec until;
    int rc;

    if (!s)
        return xlcp_err_set(err, XLCP_EINTERNAL, "out of memory");
    s->dm = dm;
    s->dev = dev;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &ta, suspend_thread, s);
    pthread_attr_destroy(&ta);
    if (rc != 0) {
        late_free(s);
        return xlcp_err_errno(err, rc, "thread for a device-mapper suspend");
    }
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += limit_ms / 1000;
    until.tv_nsec += (long)(limit_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->done && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
        ;
    if (!s->done) {
        s->abandoned = 1;
        atomic_fetch_add(&late_outstanding, 1);
        pthread_mutex_unlock(&s->mu);
        return xlcp_err_set(err, XLCP_ETIMEDOUT,
                            "device-mapper suspend did not finish within %u ms (writes under way "
                            "do not complete: a thin pool out of space, or a device queueing "
                            "I/O?); it will be undone when it completes",
                            limit_ms);
    }
    pthread_mutex_unlock(&s->mu);
    rc = s->rc;
    if (rc)
        *err = s->err;
    late_free(s);
    return rc;
}

int xlcp_lvm_suspend_bounded(struct lvm *l, dev_t dev, struct xlcp_err *err)
{
    return suspend_within(l->dm, dev, l->suspend_limit_ms, err);
}

int xlcp_lvm_hold(struct lvm *l, struct pending *pd, struct xlcp_err *err)
{
    int rc;

    xlcp_dm_guardian_held(&l->guard, pd->origin);
    rc = suspend_within(l->dm, pd->origin, l->suspend_limit_ms, err);
    if (rc == XLCP_ETIMEDOUT)
        return rc; /* still listed with the guardian: the late suspend is undone either way */
    if (rc == 0) {
        pd->held = 1;
        pd->held_at_ns = xlcp_lvm_mono_ns();
        rc = l->dm->state(pd->origin, &pd->at_capture, err);
        if (rc == 0)
            return 0;
        struct xlcp_err e2;
        xlcp_err_clear(&e2);
        if (l->dm->resume(pd->origin, &e2) != 0)
            return rc; /* the guardian resumes it when we go */
        pd->held = 0;
    }
    xlcp_dm_guardian_released(&l->guard, pd->origin);
    return rc;
}

int xlcp_lvm_hold_left(const struct lvm *l, const struct pending *pd, uint64_t *left_ms,
                       struct xlcp_err *err)
{
    uint64_t held_ms = (xlcp_lvm_mono_ns() - pd->held_at_ns) / 1000000u;

    if (held_ms >= l->hold_limit_ms)
        return xlcp_err_set(err, XLCP_ETIMEDOUT,
                            "writes to %s's origin held for %" PRIu64
                            " ms, over the limit of %u ms: the snapshot is not finished",
                            pd->lv, held_ms, l->hold_limit_ms);
    *left_ms = l->hold_limit_ms - held_ms;
    return 0;
}

int xlcp_lvm_hold_check(struct lvm *l, const struct pending *pd, const char *origin,
                        struct xlcp_err *err)
{
    struct xlcp_dm_state now;
    const struct xlcp_dm_state *was = &pd->at_capture;
    char why[160];
    int rc = l->dm->state(pd->origin, &now, err);

    if (rc)
        return xlcp_err_prefix(err, "checking the hold on %s", origin);
    if (now.suspended && now.writes == was->writes && now.write_sectors == was->write_sectors &&
        now.discards == was->discards)
        return 0;
    if (!now.suspended)
        snprintf(why, sizeof(why), "it is no longer suspended");
    else
        snprintf(why, sizeof(why), "it was resumed and suspended again");
    if (now.writes != was->writes || now.discards != was->discards)
        snprintf(why + strlen(why), sizeof(why) - strlen(why),
                 ", and %" PRIu64 " writes and %" PRIu64 " discards reached it",
                 now.writes - was->writes, now.discards - was->discards);
    return xlcp_err_set(err, XLCP_EDISK,
                        "the hold on %s was released by someone else between capture and "
                        "snapshot (%s; device-mapper events %" PRIu32 " -> %" PRIu32
                        "): the snapshot would be of a later instant",
                        origin, why, was->event_nr, now.event_nr);
}
